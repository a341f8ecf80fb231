/* Auto-export: the reports the allocator renders in the traced process at
 * exit (MEMSCOPE_AUTO_EXPORT). Silent but for one line on stderr on error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"

/* The formats of the comma list, as bits. */
enum { F_JSON = 1, F_HTML = 2, F_BIN = 4 };

/* Parses a comma list of json, html, bin (spaces around names allowed).
 * Returns the bits, or -EINVAL with *badp and *badn naming the unknown entry. */
static int parse_formats(const char *s, const char **badp, size_t *badn)
{
    int bits = 0;
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *w = s;
        while (*s && *s != ',')
            s++;
        size_t n = (size_t)(s - w);
        while (n && w[n - 1] == ' ')
            n--;
        if (!n)
            continue;
        if (n == 4 && !memcmp(w, "json", 4))
            bits |= F_JSON;
        else if (n == 4 && !memcmp(w, "html", 4))
            bits |= F_HTML;
        else if (n == 3 && !memcmp(w, "bin", 3))
            bits |= F_BIN;
        else {
            *badp = w;
            *badn = n;
            return -EINVAL;
        }
    }
    return bits;
}

/* Prints the one error line. */
static void say(const char *msg)
{
    char line[1200];
    int n = snprintf(line, sizeof line, "memscope: auto-export: %s\n", msg);
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int msx_auto_export(const char *trace_path, const char *outdir, const char *base, const char *formats)
{
    char err[1024];
    const char *bad = NULL;
    size_t badn = 0;
    int bits = parse_formats(formats ? formats : "", &bad, &badn);
    if (bits < 0) {
        snprintf(err, sizeof err, "unknown format \"%.*s\" in MEMSCOPE_AUTO_EXPORT (use json, html, bin)",
                 (int)(badn > 64 ? 64 : badn), bad);
        say(err);
        return bits;
    }
    if (!bits)
        return 0;
    msx_report *r;
    int rc = msx_analyze_trace(trace_path, NULL, NULL, &r, err, sizeof err);
    if (rc < 0) {
        say(err);
        return rc;
    }
    static const struct { int bit; const char *ext; } outs[] = {
        { F_JSON, "json" }, { F_HTML, "html" }, { F_BIN, "msbin" },
    };
    int first = 0;
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        if (!(bits & outs[i].bit))
            continue;
        msx_buf b = { 0 };
        rc = outs[i].bit == F_JSON ? msx_render_json(&b, r, NULL)
           : outs[i].bit == F_HTML ? msx_render_html(&b, r)
                                   : msx_render_archive(&b, r);
        char path[4096];
        if (rc == 0 && snprintf(path, sizeof path, "%s/%s.%s", outdir, base, outs[i].ext) >= (int)sizeof path)
            rc = -ENAMETOOLONG;
        if (rc == 0)
            rc = msx_write_file(path, b.p, b.len, 0600);
        msx_buf_free(&b);
        if (rc < 0 && !first) {
            first = rc;
            snprintf(err, sizeof err, "cannot write %s/%s.%s: %s", outdir, base, outs[i].ext, strerror(-rc));
            say(err);
        }
    }
    msx_report_free(r);
    return first;
}
