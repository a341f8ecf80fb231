/* libFuzzer target: the archive reader (msx_read_archive) on any bytes, then
 * the JSON renderer on what it read, and the archive written again and read
 * back. Checks: a refused archive names the file; a report renders; an
 * archive rendered from an archive reads and renders the same bytes again. */
#include <string.h>

#include "export.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    msx_report *r = NULL;
    char err[512];
    int rc = msx_read_archive(path, &r, err, sizeof err);
    if (rc < 0) {
        FUZZ_CHECK(r == NULL);
        FUZZ_CHECK(strstr(err, path) == err);
        return 0;
    }
    FUZZ_CHECK(r != NULL);

    msx_buf b = { 0 };
    FUZZ_CHECK(msx_render_json(&b, r, NULL) == 0);
    FUZZ_CHECK(b.len > 2 && b.p[0] == '{' && memchr(b.p, '\0', b.len) == NULL);

    /* Written again, the archive reads back to a report that writes the
     * same archive. */
    msx_buf a1 = { 0 }, a2 = { 0 };
    FUZZ_CHECK(msx_render_archive(&a1, r) == 0);
    msx_report *r2 = NULL;
    rc = msx_read_archive(fuzz_file((const uint8_t *)a1.p, a1.len), &r2, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "rewritten archive does not read: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(msx_render_archive(&a2, r2) == 0);
    FUZZ_CHECK(a1.len == a2.len && memcmp(a1.p, a2.p, a1.len) == 0);
    msx_report_free(r2);
    msx_buf_free(&a1);
    msx_buf_free(&a2);
    msx_buf_free(&b);
    msx_report_free(r);
    return 0;
}
