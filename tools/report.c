/* memscope report: analyses traces or archives and writes their JSON, HTML
 * and archive outputs. Also the loading and writing that summary and run use
 * (mst_load, mst_write_defaults in tool.h), with the progress line shown
 * while a big trace is read. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pprof.h"
#include "tool.h"

static const char *const usage_report =
    "Usage: memscope report TRACE... [--json FILE] [--html FILE] [--bin FILE]\n"
    "                       [--folded FILE [--folded-value WHAT]] [--pprof FILE]\n"
    "                       [--pprof-peak FILE] [--chrome FILE] [-o DIR]\n"
    "                       [--formats LIST] [--suppressions FILE] [--debug-dir DIR]\n"
    "                       [--sysroot DIR] [-q]\n"
    "\n"
    "Analyse each TRACE (a trace file or a .msbin archive) and write its reports.\n"
    "\n"
    "  --json FILE      write the JSON report to FILE (one TRACE only)\n"
    "  --html FILE      write the HTML dashboard to FILE (one TRACE only)\n"
    "  --bin FILE       write the binary archive to FILE (one TRACE only)\n"
    "  --folded FILE    write the call stacks collapsed, one \"a;b;c VALUE\" line\n"
    "                   per site, outermost frame first (one TRACE only)\n"
    "  --chrome FILE    write a Chrome trace-event JSON (live heap, per-thread and\n"
    "                   per-task live bytes, RSS, task spans) for ui.perfetto.dev\n"
    "                   or chrome://tracing (one TRACE only)\n"
    "  --folded-value WHAT  the VALUE: allocated (bytes, the default), live,\n"
    "                   peak (bytes held at the peak) or leaked\n"
    "  --pprof FILE     write a gzipped pprof profile: alloc_objects, alloc_space,\n"
    "                   inuse_objects, inuse_space (live at the end), labelled by\n"
    "                   thread and task (one trace file only, not an archive)\n"
    "  --pprof-peak FILE  write a pprof profile of the blocks live at the peak\n"
    "  --suppressions FILE  leak suppressions (LeakSanitizer's leak:PATTERN\n"
    "                   lines; default: $MEMSCOPE_SUPPRESSIONS)\n"
    "  --debug-dir DIR  look for debug files there first (by build-id)\n"
    "  --sysroot DIR    find the recorded modules under DIR\n"
    "  -o, --output DIR directory of the default outputs (default: beside each TRACE)\n"
    "  --formats LIST   default outputs: a comma list of json, html, bin\n"
    "                   (default: json,html); used when no --json/--html/--bin\n"
    "  -q, --quiet      do not list the files written\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "Options may come before or after the TRACEs; --json=FILE and -oDIR work\n"
    "too, and -- ends the options. Format names are not case-sensitive.\n"
    "No output may be a TRACE or another output (exit status 2, nothing written).\n"
    "\n"
    "Default outputs are <DIR>/<stem>.json, .html and .msbin, where <stem> is the\n"
    "TRACE's file name without .msgpack or .msbin.\n"
    "\n"
    "Exit status: 0 success; 1 a trace could not be read or an output not\n"
    "written; 2 usage error; 3 reports written but a trace was damaged or\n"
    "incomplete (the problems are printed on stderr).\n";

/* -- loading, with a progress line ---------------------------------------- */

/* Monotonic time in seconds. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress line state: shown on a terminal once the work takes over 1 s. */
typedef struct progress {
    const char *what;
    double start;
    double last;
    bool shown;
} progress;

/* msx_progress_fn: redraws the progress line at most every 0.2 s. */
static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    progress *p = ctx;
    double t = now_s();
    if (t - p->start < 1.0 || t - p->last < 0.2 || !isatty(2))
        return;
    p->last = t;
    p->shown = true;
    fprintf(stderr, "\rmemscope: reading %s: %3.0f%%\033[K", p->what, total ? 100.0 * (double)done / (double)total : 100.0);
    fflush(stderr);
}

/* Clears the progress line if it was shown. */
static void progress_end(progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

/* Prints the problems of report r of the trace at path, one line each. */
void mst_print_problems(const msx_report *r, const char *path)
{
    for (uint32_t i = 0; i < r->nproblems; i++)
        mst_errorf("%s", r->problems[i].p);
    if (r->problems_total > r->nproblems)
        mst_errorf("%s: %llu more problems not listed", path,
               (unsigned long long)(r->problems_total - r->nproblems));
}

/* Loads a report from a trace or an archive, printing what goes wrong.
 * Returns NULL if it cannot be read; sets *damaged if it had problems. */
msx_report *mst_load(const char *path, bool *damaged)
{
    msx_report *r = mst_load_unlisted(path, damaged);
    if (r)
        mst_print_problems(r, path);
    return r;
}

/* As mst_load, but the problems of a trace that can be read are not printed. */
msx_report *mst_load_unlisted(const char *path, bool *damaged)
{
    char err[1024];
    msx_report *r = NULL;
    int rc;
    if (!mst_input_readable(path))
        return NULL;
    if (msx_is_archive(path)) {
        rc = msx_read_archive(path, &r, err, sizeof err);
        if (rc == 0)
            mst_analysis_apply(r);
    } else {
        progress p = { .what = path, .start = now_s() };
        rc = msx_analyze_trace_opts(path, mst_analysis_opts(), progress_cb, &p, &r, err, sizeof err);
        progress_end(&p);
    }
    if (rc < 0) {
        mst_errorf("%s", err);
        return NULL;
    }
    if (r->problems_total)
        *damaged = true;
    return r;
}

int mst_write_rendered(const char *path, msx_buf *b, int rc, bool quiet)
{
    if (rc == 0)
        rc = msx_write_file(path, b->p ? b->p : "", b->len, 0666);
    msx_buf_free(b);
    if (rc < 0) {
        mst_errorf("cannot write %s: %s", path, strerror(-rc));
        return -1;
    }
    if (!quiet)
        fprintf(stderr, "memscope: wrote %s\n", path);
    return 0;
}

/* Renders one format of r into path. Returns 0 or prints an error and -1. */
static int write_output(const msx_report *r, int format, const char *path, bool quiet)
{
    msx_buf b = { 0 };
    int rc = format == F_JSON ? msx_render_json(&b, r, NULL)
           : format == F_HTML ? msx_render_html(&b, r)
                              : msx_render_archive(&b, r);
    return mst_write_rendered(path, &b, rc, quiet);
}

/* Renders r's pprof profile (peak: of the peak) into path. Returns 0 or
 * prints an error and -1. */
static int write_pprof(const msx_report *r, const char *path, bool peak, bool quiet)
{
    msx_buf b = { 0 };
    int rc = msx_render_pprof(&b, r, peak);
    if (rc == -ENODATA) {
        msx_buf_free(&b);
        mst_errorf("cannot write %s: the analysis gathered no pprof figures (out of memory?)", path);
        return -1;
    }
    return mst_write_rendered(path, &b, rc, quiet);
}

/* Writes the Chrome trace-event JSON of r into path. Returns 0 or -1. */
static int write_chrome(const msx_report *r, const char *path, bool quiet)
{
    msx_buf b = { 0 };
    return mst_write_rendered(path, &b, msx_render_chrome(&b, r), quiet);
}

/* Returns malloc'd "<dir>/<stem>.<ext>" for a trace path; dir NULL: the
 * trace's own directory. The stem drops a .msgpack, .mspack or .msbin suffix. */
static char *output_path(const char *trace, const char *dir, const char *ext)
{
    const char *slash = strrchr(trace, '/');
    const char *name = slash ? slash + 1 : trace;
    size_t stem = strlen(name);
    if (stem > 8 && (!strcmp(name + stem - 8, ".msgpack") || !strcmp(name + stem - 7, ".mspack")))
        stem -= !strcmp(name + stem - 8, ".msgpack") ? 8 : 7;
    else if (stem > 6 && !strcmp(name + stem - 6, ".msbin"))
        stem -= 6;
    int dlen = dir ? (int)strlen(dir) : slash ? (int)(slash - trace) : 1;
    const char *d = dir ? dir : slash ? trace : ".";
    size_t n = (size_t)dlen + stem + strlen(ext) + 4;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%.*s/%.*s.%s", dlen, d, (int)stem, name, ext);
    return p;
}

/* The default outputs: format bit, file extension, name for messages. */
static const struct {
    int bit;
    const char *ext;
    const char *what;
} default_outs[] = {
    { F_JSON, "json", "json" }, { F_HTML, "html", "html" }, { F_BIN, "msbin", "bin" },
};

/* Writes the default outputs (formats) of one report. Returns 0 or -1. */
int mst_write_defaults(const msx_report *r, const char *trace, const char *dir, int formats, bool quiet)
{
    int rc = 0;
    for (size_t i = 0; i < sizeof default_outs / sizeof default_outs[0]; i++) {
        if (!(formats & default_outs[i].bit))
            continue;
        char *path = output_path(trace, dir, default_outs[i].ext);
        if (!path) {
            mst_errorf("out of memory");
            return -1;
        }
        if (write_output(r, default_outs[i].bit, path, quiet) < 0)
            rc = -1;
        free(path);
    }
    return rc;
}

/* Lists the default outputs of trace for mst_check_outputs (tool.h). */
int mst_default_outputs(const char *trace, const char *dir, int formats, mst_file_t *out, size_t *n)
{
    for (size_t i = 0; i < sizeof default_outs / sizeof default_outs[0]; i++) {
        if (!(formats & default_outs[i].bit))
            continue;
        char *path = output_path(trace, dir, default_outs[i].ext);
        if (!path)
            return -1;
        out[(*n)++] = (mst_file_t){ .path = path, .what = default_outs[i].what };
    }
    return 0;
}

/* Frees the paths of mst_default_outputs. */
void mst_default_outputs_free(mst_file_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)out[i].path);
}

/* Refuses (EXIT_USAGE) a command line whose outputs are inputs or each other
 * (files.c); returns EXIT_OK if all are safe. */
static int check_report_outputs(char **traces, int ntraces, const char *json, const char *html,
                                const char *bin, const char *folded, const char *pprof, const char *pprof_peak,
                                const char *chrome, const char *supp, const char *dir, int formats)
{
    bool named = json || html || bin || folded || pprof || pprof_peak || chrome;
    size_t nout = 0, nin = 0, cap = named ? 7 : 3 * (size_t)ntraces;
    mst_file_t *in = calloc((size_t)ntraces + 1, sizeof *in), *out = calloc(cap, sizeof *out);
    int rc = in && out ? 0 : -1;
    for (int t = 0; t < ntraces && in; t++)
        in[nin++] = (mst_file_t){ .path = traces[t], .what = "input" };
    if (supp && in)
        in[nin++] = (mst_file_t){ .path = supp, .what = "--suppressions" };
    if (rc == 0 && named) {
        const char *paths[] = { json, html, bin, folded, pprof, pprof_peak, chrome };
        const char *whats[] = { "--json", "--html", "--bin", "--folded", "--pprof", "--pprof-peak", "--chrome" };
        for (int k = 0; k < 7; k++)
            if (paths[k])
                out[nout++] = (mst_file_t){ .path = paths[k], .what = whats[k] };
    }
    for (int t = 0; rc == 0 && !named && t < ntraces; t++)
        rc = mst_default_outputs(traces[t], dir, formats, out, &nout);
    if (rc < 0)
        mst_errorf("report: out of memory");
    else
        rc = mst_check_outputs("report", in, nin, out, nout);
    if (!named && out)
        mst_default_outputs_free(out, nout);
    free(in);
    free(out);
    return rc < 0 ? EXIT_USAGE : EXIT_OK;
}

/* -- the command ---------------------------------------------------------- */

/* memscope report (see usage_report); argv[0] is "report". Returns the exit status. */
int mst_cmd_report(int argc, char **argv)
{
    enum { OPT_JSON = 256, OPT_HTML, OPT_BIN, OPT_FORMATS, OPT_VERSION, OPT_FOLDED, OPT_FOLDED_VALUE, OPT_SUPP,
           OPT_DEBUG_DIR, OPT_SYSROOT, OPT_PPROF, OPT_PPROF_PEAK, OPT_CHROME };
    static const struct option longopts[] = {
        { "json", required_argument, NULL, OPT_JSON },
        { "folded", required_argument, NULL, OPT_FOLDED },
        { "folded-value", required_argument, NULL, OPT_FOLDED_VALUE },
        { "pprof", required_argument, NULL, OPT_PPROF },
        { "pprof-peak", required_argument, NULL, OPT_PPROF_PEAK },
        { "chrome", required_argument, NULL, OPT_CHROME },
        { "suppressions", required_argument, NULL, OPT_SUPP },
        { "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
        { "sysroot", required_argument, NULL, OPT_SYSROOT },
        { "html", required_argument, NULL, OPT_HTML },
        { "bin", required_argument, NULL, OPT_BIN },
        { "output", required_argument, NULL, 'o' },
        { "formats", required_argument, NULL, OPT_FORMATS },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    const char *json = NULL, *html = NULL, *bin = NULL, *dir = NULL, *folded = NULL, *supp = NULL;
    const char *debug_dir = NULL, *sysroot = NULL, *pprof = NULL, *pprof_peak = NULL, *chrome = NULL;
    int formats = F_JSON | F_HTML, fvalue = MSX_SF_BYTES_ALLOCATED;
    bool quiet = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: json = optarg; break;
        case OPT_HTML: html = optarg; break;
        case OPT_BIN: bin = optarg; break;
        case OPT_FOLDED: folded = optarg; break;
        case OPT_PPROF: pprof = optarg; break;
        case OPT_PPROF_PEAK: pprof_peak = optarg; break;
        case OPT_CHROME: chrome = optarg; break;
        case OPT_FOLDED_VALUE:
            if ((fvalue = mst_folded_value(optarg)) < 0)
                return EXIT_USAGE;
            break;
        case OPT_SUPP: supp = optarg; break;
        case OPT_DEBUG_DIR: debug_dir = optarg; break;
        case OPT_SYSROOT: sysroot = optarg; break;
        case 'o': dir = optarg; break;
        case 'q': quiet = true; break;
        case OPT_FORMATS:
            if ((formats = mst_parse_formats(optarg)) < 0)
                return EXIT_USAGE;
            break;
        case 'h':
            fputs(usage_report, stdout);
            return EXIT_OK;
        case OPT_VERSION:
            return mst_print_version();
        default:
            return mst_option_error("report", c, argv, usage_report);
        }
    }
    char **traces = argv + optind;
    int ntraces = argc - optind;
    bool named = json || html || bin || folded || pprof || pprof_peak || chrome;
    if (ntraces == 0 || (named && ntraces > 1)) {
        mst_errorf(ntraces ? "report: --json, --html, --bin, --folded, --pprof and --chrome take one TRACE; use -o DIR for several"
                       : "report: no TRACE given");
        fputs(usage_report, stderr);
        return EXIT_USAGE;
    }
    if ((pprof || pprof_peak) && msx_is_archive(traces[0])) {
        mst_errorf("report: %s is an archive: --pprof and --pprof-peak need the trace file itself", traces[0]);
        return EXIT_USAGE;
    }
    supp = mst_suppressions_path(supp);
    if (check_report_outputs(traces, ntraces, json, html, bin, folded, pprof, pprof_peak, chrome, supp, dir,
                             formats) != EXIT_OK)
        return EXIT_USAGE;
    if (mst_analysis_set(sysroot, debug_dir, supp) < 0)
        return EXIT_FAIL;
    if (pprof || pprof_peak)
        mst_analysis_want_pprof();
    mst_analysis_counters(chrome != NULL);
    int rc = dir ? mst_mkdirs(dir) : 0;
    if (rc < 0) {
        mst_errorf("cannot create %s: %s", dir, strerror(-rc));
        mst_analysis_end();
        return EXIT_FAIL;
    }
    int status = EXIT_OK;
    bool damaged = false;
    for (int t = 0; t < ntraces; t++) {
        msx_report *r = mst_load(traces[t], &damaged);
        if (!r) {
            status = EXIT_FAIL;
            continue;
        }
        rc = 0;
        if (named) {
            if (json && write_output(r, F_JSON, json, quiet) < 0)
                rc = -1;
            if (html && write_output(r, F_HTML, html, quiet) < 0)
                rc = -1;
            if (bin && write_output(r, F_BIN, bin, quiet) < 0)
                rc = -1;
            if (folded && mst_write_folded(r, folded, fvalue, quiet) < 0)
                rc = -1;
            if (pprof && write_pprof(r, pprof, false, quiet) < 0)
                rc = -1;
            if (pprof_peak && write_pprof(r, pprof_peak, true, quiet) < 0)
                rc = -1;
            if (chrome && write_chrome(r, chrome, quiet) < 0)
                rc = -1;
        } else {
            rc = mst_write_defaults(r, traces[t], dir, formats, quiet);
        }
        if (rc < 0)
            status = EXIT_FAIL;
        msx_report_free(r);
    }
    mst_analysis_end();
    return status == EXIT_OK && damaged ? EXIT_DAMAGED : status;
}
