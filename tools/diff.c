/* memscope diff: what grew between two traces (or archives), or between two
 * moments of one trace (docs/CLI.md). The figures and their matching are
 * export/diff.c's; this file reads the command line and the inputs, checks
 * the outputs, prints the text, writes the JSON and HTML, and gates. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "tool.h"

enum { EXIT_GROWN = 4 }; /* --fail-if-grown: the live bytes grew more than the bound */

static const char *const usage_diff =
    "Usage: memscope diff A B [OPTIONS]\n"
    "       memscope diff TRACE [--from TIME] [--to TIME] [OPTIONS]\n"
    "\n"
    "Show what grew from A to B (traces or .msbin archives), or in one TRACE from\n"
    "one moment to another: by call-stack site, thread and task, the bytes and\n"
    "allocations made, live bytes (at the end, or at the moment), peak, leaked\n"
    "bytes, with delta and ratio, most grown live bytes first. The text goes to\n"
    "stdout.\n"
    "\n"
    "  --from TIME      the first moment (default: the trace's start)\n"
    "  --to TIME        the second moment (default: the trace's end)\n"
    "                   TIME: a number from the trace's start with unit s, ms,\n"
    "                   us or ns (no unit: ms), e.g. 1.5s, 250ms\n"
    "  --json FILE      write the diff as JSON to FILE\n"
    "  --html FILE      write the diff as a self-contained HTML page to FILE\n"
    "  --top N          rows per section in the text (default 20; 0: all)\n"
    "  --fail-if-grown BYTES  exit with status 4 if the total live bytes (at\n"
    "                   the end, or at the moment) grew by more than BYTES\n"
    "  --suppressions FILE, --debug-dir DIR, --sysroot DIR  as for report\n"
    "  -q, --quiet      do not list the files written\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "Sites match by their symbolized frames (function, file, line), threads by\n"
    "name (then serial), tasks by name (then id). A sampled trace's figures are\n"
    "estimates (the output says so, with 95% intervals).\n"
    "\n"
    "Exit status: 0 success; 1 a trace could not be read or an output not\n"
    "written; 2 usage error; 3 a trace was damaged or incomplete (the problems\n"
    "are printed on stderr); 4 --fail-if-grown's bound was passed (over 3).\n";

/* Parses TIME (usage) into ns. Returns false if it is not one. */
static bool parse_time(const char *s, uint64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v >= 0) || !isfinite(v))
        return false;
    double mul = !*end || !strcmp(end, "ms") ? 1e6 : !strcmp(end, "s") ? 1e9 : !strcmp(end, "us") ? 1e3
               : !strcmp(end, "ns") ? 1 : -1;
    if (mul < 0 || v * mul >= 1.8e19)
        return false;
    *ns = (uint64_t)(v * mul + 0.5);
    return true;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return false;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno)
        return false;
    *v = x;
    return true;
}

/* Refuses outputs that are inputs or each other. Returns 0 or -1. */
static int check_outputs(char **in_paths, int nin, const char *supp, const char *json, const char *html)
{
    mst_file_t in[3], out[2];
    size_t ni = 0, no = 0;
    for (int i = 0; i < nin; i++)
        in[ni++] = (mst_file_t){ .path = in_paths[i], .what = "input" };
    if (supp)
        in[ni++] = (mst_file_t){ .path = supp, .what = "--suppressions" };
    if (json)
        out[no++] = (mst_file_t){ .path = json, .what = "--json" };
    if (html)
        out[no++] = (mst_file_t){ .path = html, .what = "--html" };
    return mst_check_outputs("diff", in, ni, out, no);
}

/* The sides of one trace at two moments. Returns 0, or -1 after printing why. */
static int load_moments(const char *path, uint64_t from, uint64_t to, bool has_to, msx_diff_side *a,
                        msx_diff_side *b, bool *damaged)
{
    if (msx_is_archive(path) == 1) {
        mst_errorf("diff: %s: an archive holds no events: --from and --to need a trace", path);
        return -1;
    }
    msx_cut c[2] = { { .time_ns = from }, { .time_ns = has_to ? to : UINT64_MAX - 1 } };
    msx_cuts cuts = { .c = c, .n = 2 };
    mst_analysis_cuts(&cuts);
    msx_report *r = mst_load(path, damaged);
    mst_analysis_cuts(NULL);
    int rc = -1;
    if (r) {
        if (!has_to)
            c[1].time_ns = r->duration_ns;
        if (msx_diff_side_cut(a, r, &c[0], path) < 0 || msx_diff_side_cut(b, r, &c[1], path) < 0)
            mst_errorf("diff: out of memory");
        else
            rc = 0;
    }
    msx_report_free(r);
    msx_cuts_clear(&cuts);
    return rc;
}

/* The side of one trace or archive at its end. Returns 0 or -1. */
static int load_end(const char *path, msx_diff_side *s, bool *damaged)
{
    msx_report *r = mst_load(path, damaged);
    if (!r)
        return -1;
    int rc = msx_diff_side_report(s, r, path);
    if (rc < 0)
        mst_errorf("diff: out of memory");
    msx_report_free(r);
    return rc < 0 ? -1 : 0;
}

int mst_cmd_diff(int argc, char **argv)
{
    static const struct option longs[] = {
        { "from", required_argument, NULL, 'F' }, { "to", required_argument, NULL, 'T' },
        { "json", required_argument, NULL, 'j' }, { "html", required_argument, NULL, 'H' },
        { "top", required_argument, NULL, 'n' }, { "fail-if-grown", required_argument, NULL, 'g' },
        { "suppressions", required_argument, NULL, 'S' }, { "debug-dir", required_argument, NULL, 'D' },
        { "sysroot", required_argument, NULL, 'R' }, { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
    };
    const char *json = NULL, *html = NULL, *supp = NULL, *debug_dir = NULL, *sysroot = NULL;
    uint64_t from = 0, to = 0, top = 20, bound = 0;
    bool has_from = false, has_to = false, has_bound = false, quiet = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", longs, NULL)) != -1) {
        switch (c) {
        case 'F':
        case 'T':
            if (!parse_time(optarg, c == 'F' ? &from : &to)) {
                mst_errorf("diff: %s: not a time (a number with unit s, ms, us or ns)", optarg);
                return EXIT_USAGE;
            }
            *(c == 'F' ? &has_from : &has_to) = true;
            break;
        case 'j': json = optarg; break;
        case 'H': html = optarg; break;
        case 'n':
        case 'g':
            if (!parse_u64(optarg, c == 'n' ? &top : &bound) || (c == 'n' && top > UINT32_MAX)) {
                mst_errorf("diff: %s: not a number for %s", optarg, c == 'n' ? "--top" : "--fail-if-grown");
                return EXIT_USAGE;
            }
            has_bound |= c == 'g';
            break;
        case 'S': supp = optarg; break;
        case 'D': debug_dir = optarg; break;
        case 'R': sysroot = optarg; break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage_diff, stdout); return EXIT_OK;
        case 'V': return mst_print_version();
        default: return mst_option_error("diff", c, argv, usage_diff);
        }
    }
    int nin = argc - optind;
    char **in = argv + optind;
    bool moments = has_from || has_to;
    if (nin < 1 || nin > 2 || (moments && nin != 1) || (!moments && nin != 2)) {
        mst_errorf(moments ? "diff: --from and --to take one TRACE" : "diff: two inputs A B (or one TRACE with --from/--to)");
        fputs(usage_diff, stderr);
        return EXIT_USAGE;
    }
    if (moments && has_to && from > to) {
        mst_errorf("diff: --from is after --to");
        return EXIT_USAGE;
    }
    supp = mst_suppressions_path(supp);
    if (check_outputs(in, nin, supp, json, html) < 0)
        return EXIT_USAGE;
    if (mst_analysis_set(sysroot, debug_dir, supp) < 0)
        return EXIT_FAIL;

    msx_diff_side a = { 0 }, b = { 0 };
    msx_diff d = { 0 };
    bool damaged = false;
    int status = EXIT_FAIL;
    if (moments ? load_moments(in[0], from, to, has_to, &a, &b, &damaged) < 0
                : load_end(in[0], &a, &damaged) < 0 || load_end(in[1], &b, &damaged) < 0)
        goto out;
    if (msx_diff_compute(&d, &a, &b) < 0) {
        mst_errorf("diff: out of memory");
        goto out;
    }
    msx_buf t = { 0 };
    if (msx_diff_render_text(&t, &d, (uint32_t)top) < 0) {
        msx_buf_free(&t);
        mst_errorf("diff: out of memory");
        goto out;
    }
    fwrite(t.p, 1, t.len, stdout);
    fflush(stdout);
    msx_buf_free(&t);
    int wrc = 0;
    if (json) {
        msx_buf j = { 0 };
        wrc |= mst_write_rendered(json, &j, msx_diff_render_json(&j, &d), quiet);
    }
    if (html) {
        msx_buf h = { 0 };
        wrc |= mst_write_rendered(html, &h, msx_diff_render_html(&h, &d), quiet);
    }
    if (wrc < 0)
        goto out;
    status = damaged ? EXIT_DAMAGED : EXIT_OK;
    int64_t grown = msx_diff_live_growth(&d);
    if (has_bound && grown > 0 && (uint64_t)grown > bound) {
        mst_errorf("diff: the live bytes grew by %" PRId64 ", more than %" PRIu64 " (--fail-if-grown)", grown, bound);
        status = EXIT_GROWN;
    }
out:
    msx_diff_free(&d);
    msx_diff_side_free(&a);
    msx_diff_side_free(&b);
    mst_analysis_end();
    return status;
}
