/* libFuzzer target: the trace reader and the analysis (msx_analyze_trace) on
 * any bytes, then the JSON, HTML and archive renderers on whatever report it
 * produced (the pprof profiles too: the analysis gathers their figures), and
 * the archive read back. Checks: a failed analysis names the file in its
 * message; a report renders; the archive of a report reads. */
#include <string.h>

#include "export.h"
#include "fuzz_file.h"
#include "pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    msx_report *r = NULL;
    char err[512];
    msx_analyze_opts opts = { .pprof = true };
    int rc = msx_analyze_trace_opts(path, &opts, NULL, NULL, &r, err, sizeof err);
    if (rc < 0) {
        FUZZ_CHECK(r == NULL);
        FUZZ_CHECK(strstr(err, path) == err);  /* the message starts with the file */
        return 0;
    }
    FUZZ_CHECK(r != NULL);

    msx_buf b = { 0 };
    FUZZ_CHECK(msx_render_json(&b, r, NULL) == 0);
    FUZZ_CHECK(b.len > 2 && b.p[0] == '{' && memchr(b.p, '\0', b.len) == NULL);
    b.len = 0;
    msx_json_limits lim = { .max_threads = 2, .max_str = 8, .max_list = 1 };
    FUZZ_CHECK(msx_render_json(&b, r, &lim) == 0);
    b.len = 0;
    FUZZ_CHECK(msx_render_html(&b, r) == 0);
    for (int peak = 0; peak < 2; peak++) {
        b.len = 0;
        FUZZ_CHECK(msx_render_pprof(&b, r, peak) == 0);
        FUZZ_CHECK(b.len > 2 && (unsigned char)b.p[0] == 0x1f && (unsigned char)b.p[1] == 0x8b);  /* gzip */
    }
    b.len = 0;
    FUZZ_CHECK(msx_render_archive(&b, r) == 0);

    /* The archive of any report must read back. */
    msx_report *a = NULL;
    const char *apath = fuzz_file((const uint8_t *)b.p, b.len);
    rc = msx_read_archive(apath, &a, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "archive of the report does not read: %s\n", err);
    FUZZ_CHECK(rc == 0 && a != NULL);
    msx_report_free(a);
    msx_buf_free(&b);
    msx_report_free(r);
    return 0;
}
