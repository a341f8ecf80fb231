/* memscope: the command-line tool (docs/CLI.md).
 *
 *   memscope report TRACE... [--json F] [--html F] [--bin F] [-o DIR] [--formats LIST]
 *   memscope summary TRACE
 *   memscope run [-o DIR] [--formats LIST] -- PROGRAM [ARGS...]
 *
 * It only reads traces and archives through export/ and never calls into the
 * allocator; `run` preloads libmemscope_alloc.so into another program. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export.h"

#ifndef MSX_VERSION
#error MSX_VERSION must be defined by the build
#endif
#ifndef MSX_LIBDIR
#error MSX_LIBDIR (install libdir) must be defined by the build
#endif
#ifndef MSX_ALLOC_LIB
#error MSX_ALLOC_LIB (file name of the preload library) must be defined by the build
#endif

/* Exit codes of report and summary (docs/CLI.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,     /* a trace could not be read or an output not written */
    EXIT_USAGE = 2,
    EXIT_DAMAGED = 3,  /* reports written, but a trace was damaged or incomplete */
    EXIT_RUN_SETUP = 125,   /* run: memscope itself failed before the program ran */
    EXIT_RUN_NOEXEC = 126,  /* run: the program cannot be executed */
    EXIT_RUN_NOTFOUND = 127,/* run: the program was not found */
};

/* Output formats, as bits. */
enum { F_JSON = 1, F_HTML = 2, F_BIN = 4 };

static const char *const usage_main =
    "Usage: memscope COMMAND [OPTIONS]\n"
    "\n"
    "Analyse the traces written by libmemscope_alloc.\n"
    "\n"
    "Commands:\n"
    "  report TRACE...      write JSON and HTML reports (and archives) of traces\n"
    "  summary TRACE        print a readable summary of a trace\n"
    "  run -- PROG ARGS...  run a program with memscope preloaded, then report\n"
    "\n"
    "Options:\n"
    "  -h, --help           show this help (also: memscope COMMAND --help)\n"
    "  --version            show the version\n"
    "\n"
    "A TRACE is a trace file (<name>.<pid>.msgpack) or an archive (.msbin).\n"
    "\n"
    "Exit status: 0 success; 1 a trace could not be read or an output not\n"
    "written; 2 usage error; 3 reports written but a trace was damaged or\n"
    "incomplete (the problems are printed). `run` returns the program's status.\n";

static const char *const usage_report =
    "Usage: memscope report TRACE... [--json FILE] [--html FILE] [--bin FILE]\n"
    "                       [-o DIR] [--formats LIST] [-q]\n"
    "\n"
    "Analyse each TRACE (a trace file or a .msbin archive) and write its reports.\n"
    "\n"
    "  --json FILE      write the JSON report to FILE (one TRACE only)\n"
    "  --html FILE      write the HTML dashboard to FILE (one TRACE only)\n"
    "  --bin FILE       write the binary archive to FILE (one TRACE only)\n"
    "  -o, --output DIR directory of the default outputs (default: beside each TRACE)\n"
    "  --formats LIST   default outputs: a comma list of json, html, bin\n"
    "                   (default: json,html); used when no --json/--html/--bin\n"
    "  -q, --quiet      do not list the files written\n"
    "  -h, --help       show this help\n"
    "\n"
    "Default outputs are <DIR>/<stem>.json, .html and .msbin, where <stem> is the\n"
    "TRACE's file name without .msgpack or .msbin.\n"
    "\n"
    "Exit status: 0 success; 1 a trace could not be read or an output not\n"
    "written; 2 usage error; 3 reports written but a trace was damaged or\n"
    "incomplete (the problems are printed on stderr).\n";

static const char *const usage_summary =
    "Usage: memscope summary TRACE\n"
    "\n"
    "Print a readable summary of TRACE (a trace file or a .msbin archive).\n"
    "\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 success; 1 the trace could not be read; 2 usage error;\n"
    "3 summary printed but the trace was damaged or incomplete.\n";

static const char *const usage_run =
    "Usage: memscope run [-o DIR] [--formats LIST] [-q] -- PROGRAM [ARGS...]\n"
    "\n"
    "Run PROGRAM with libmemscope_alloc.so preloaded (LD_PRELOAD, inherited by\n"
    "its children) and traces written to DIR (MEMSCOPE_OUTPUT). When it ends,\n"
    "write the reports of every trace the run produced in DIR:\n"
    "<name>.<pid>.msgpack -> <name>.<pid>.json and <name>.<pid>.html.\n"
    "\n"
    "  -o, --output DIR directory of traces and reports\n"
    "                   (default: $MEMSCOPE_OUTPUT, else MemoryAnalysis)\n"
    "  --formats LIST   reports to write: a comma list of json, html, bin\n"
    "                   (default: json,html)\n"
    "  -q, --quiet      do not list the files written\n"
    "  -h, --help       show this help\n"
    "\n"
    "The library is looked up in $MEMSCOPE_LIB, then beside this program in the\n"
    "build tree (../allocator/), then in the installed library directory.\n"
    "\n"
    "Exit status: the program's exit status, or 128+N if signal N killed it;\n"
    "125 memscope could not set up the run; 126 PROGRAM cannot be executed;\n"
    "127 PROGRAM was not found.\n";

/* -- small utilities ------------------------------------------------------- */

/* Prints "memscope: " and a message on stderr. */
static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

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

/* Formats bytes with a binary unit ("1.50 MiB"). */
static const char *fmt_bytes(char *buf, size_t n, uint64_t v)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (v < 1024) {
        snprintf(buf, n, "%llu B", (unsigned long long)v);
        return buf;
    }
    double d = (double)v / 1024;
    unsigned u = 0;
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    snprintf(buf, n, d >= 100 ? "%.0f %s" : d >= 10 ? "%.1f %s" : "%.2f %s", d, units[u]);
    return buf;
}

/* Formats nanoseconds as a duration. */
static const char *fmt_ns(char *buf, size_t n, uint64_t ns)
{
    if (ns < 1000)
        snprintf(buf, n, "%llu ns", (unsigned long long)ns);
    else if (ns < 1000000)
        snprintf(buf, n, "%.2f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, n, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, n, "%.3f s", (double)ns / 1e9);
    return buf;
}

/* Formats a count with thousands separators. */
static const char *fmt_count(char *buf, size_t n, uint64_t v)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

/* Writes raw trace bytes to a terminal safely: printable ASCII and valid
 * UTF-8 sequences as they are, anything else (controls, C1 controls, bytes of
 * invalid sequences: overlong, surrogate, above U+10FFFF, cut short) as \xNN. */
static void put_safe(FILE *f, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && i < max) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        bool ok = len && i + len <= n && !(c < 0x20 || c == 0x7f);
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[i + k] & 0xc0) == 0x80;
        if (ok && len > 1) {
            /* the second byte's range: no overlong form, surrogate, C1
             * control or code point above U+10FFFF */
            unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : c == 0xc2 ? 0xa0 : 0x80;
            unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
            ok = p[i + 1] >= lo && p[i + 1] <= hi;
        }
        if (!ok) {
            fprintf(f, "\\x%02x", c);
            i++;
            continue;
        }
        fwrite(p + i, 1, len, f);
        i += len;
    }
    if (n > max)
        fputs("...", f);
}

/* Parses a comma list of json, html, bin. Returns the bits, or -1. */
static int parse_formats(const char *s)
{
    int bits = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (!strcmp(w, "json"))
            bits |= F_JSON;
        else if (!strcmp(w, "html"))
            bits |= F_HTML;
        else if (!strcmp(w, "bin"))
            bits |= F_BIN;
        else {
            errorf("unknown format \"%s\" (use json, html, bin)", w);
            free(copy);
            return -1;
        }
    }
    free(copy);
    if (!bits)
        errorf("no format given (use json, html, bin)");
    return bits ? bits : -1;
}

/* Loads a report from a trace or an archive, printing what goes wrong.
 * Returns NULL if it cannot be read; sets *damaged if it had problems. */
static msx_report *load(const char *path, bool *damaged)
{
    char err[1024];
    msx_report *r = NULL;
    int rc;
    if (msx_is_archive(path)) {
        rc = msx_read_archive(path, &r, err, sizeof err);
    } else {
        progress p = { .what = path, .start = now_s() };
        rc = msx_analyze_trace(path, progress_cb, &p, &r, err, sizeof err);
        progress_end(&p);
    }
    if (rc < 0) {
        errorf("%s", err);
        return NULL;
    }
    for (uint32_t i = 0; i < r->nproblems; i++)
        errorf("%s", r->problems[i].p);
    if (r->problems_total > r->nproblems)
        errorf("%s: %llu more problems not listed", path,
               (unsigned long long)(r->problems_total - r->nproblems));
    if (r->problems_total)
        *damaged = true;
    return r;
}

/* Renders one format of r into path. Returns 0 or prints an error and -1. */
static int write_output(const msx_report *r, int format, const char *path, bool quiet)
{
    msx_buf b = { 0 };
    int rc = format == F_JSON ? msx_render_json(&b, r, NULL)
           : format == F_HTML ? msx_render_html(&b, r)
                              : msx_render_archive(&b, r);
    if (rc == 0)
        rc = msx_write_file(path, b.p, b.len, 0666);
    msx_buf_free(&b);
    if (rc < 0) {
        errorf("cannot write %s: %s", path, strerror(-rc));
        return -1;
    }
    if (!quiet)
        fprintf(stderr, "memscope: wrote %s\n", path);
    return 0;
}

/* Returns malloc'd "<dir>/<stem>.<ext>" for a trace path; dir NULL: the
 * trace's own directory. The stem drops a .msgpack or .msbin suffix. */
static char *output_path(const char *trace, const char *dir, const char *ext)
{
    const char *slash = strrchr(trace, '/');
    const char *name = slash ? slash + 1 : trace;
    size_t stem = strlen(name);
    if (stem > 8 && !strcmp(name + stem - 8, ".msgpack"))
        stem -= 8;
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

/* Writes the default outputs (formats) of one report. Returns 0 or -1. */
static int write_defaults(const msx_report *r, const char *trace, const char *dir, int formats, bool quiet)
{
    static const struct { int bit; const char *ext; } outs[] = {
        { F_JSON, "json" }, { F_HTML, "html" }, { F_BIN, "msbin" },
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        if (!(formats & outs[i].bit))
            continue;
        char *path = output_path(trace, dir, outs[i].ext);
        if (!path) {
            errorf("out of memory");
            return -1;
        }
        if (write_output(r, outs[i].bit, path, quiet) < 0)
            rc = -1;
        free(path);
    }
    return rc;
}

/* True if arg is -h or --help. */
static bool is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/* Takes the value of option argv[*i] (in the next argument). */
static const char *opt_value(int argc, char **argv, int *i, const char *usage)
{
    if (*i + 1 >= argc) {
        errorf("%s needs a value", argv[*i]);
        fputs(usage, stderr);
        return NULL;
    }
    return argv[++*i];
}

/* Creates a directory and its parents (mode 0755). Returns 0 or -errno. */
static int mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            int rc = -errno;
            free(p);
            return rc;
        }
        if (!c)
            break;
        *s = c;
    }
    free(p);
    return 0;
}

/* -- report ---------------------------------------------------------------- */

/* memscope report. */
static int cmd_report(int argc, char **argv)
{
    const char *json = NULL, *html = NULL, *bin = NULL, *dir = NULL;
    int formats = F_JSON | F_HTML;
    bool quiet = false;
    char **traces = calloc((size_t)argc, sizeof *traces);
    int ntraces = 0;
    if (!traces) {
        errorf("out of memory");
        return EXIT_FAIL;
    }
    bool only_args = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (only_args || a[0] != '-' || !strcmp(a, "-")) {
            traces[ntraces++] = argv[i];
            continue;
        }
        if (is_help(a)) {
            fputs(usage_report, stdout);
            free(traces);
            return EXIT_OK;
        }
        if (!strcmp(a, "--"))
            only_args = true;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            quiet = true;
        else if (!strcmp(a, "--json"))
            slot = &json;
        else if (!strcmp(a, "--html"))
            slot = &html;
        else if (!strcmp(a, "--bin"))
            slot = &bin;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            slot = &dir;
        else if (!strcmp(a, "--formats")) {
            const char *v = opt_value(argc, argv, &i, usage_report);
            if (!v || (formats = parse_formats(v)) < 0) {
                free(traces);
                return EXIT_USAGE;
            }
        } else {
            errorf("report: unknown option %s", a);
            fputs(usage_report, stderr);
            free(traces);
            return EXIT_USAGE;
        }
        if (slot && !(*slot = opt_value(argc, argv, &i, usage_report))) {
            free(traces);
            return EXIT_USAGE;
        }
    }
    bool named = json || html || bin;
    if (ntraces == 0 || (named && ntraces > 1)) {
        errorf(ntraces ? "report: --json, --html and --bin take one TRACE; use -o DIR for several"
                       : "report: no TRACE given");
        fputs(usage_report, stderr);
        free(traces);
        return EXIT_USAGE;
    }
    int rc = dir ? mkdirs(dir) : 0;
    if (rc < 0) {
        errorf("cannot create %s: %s", dir, strerror(-rc));
        free(traces);
        return EXIT_FAIL;
    }
    int status = EXIT_OK;
    bool damaged = false;
    for (int t = 0; t < ntraces; t++) {
        msx_report *r = load(traces[t], &damaged);
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
        } else {
            rc = write_defaults(r, traces[t], dir, formats, quiet);
        }
        if (rc < 0)
            status = EXIT_FAIL;
        msx_report_free(r);
    }
    free(traces);
    return status == EXIT_OK && damaged ? EXIT_DAMAGED : status;
}

/* -- summary --------------------------------------------------------------- */

/* Orders thread indices by bytes allocated, most first (qsort_r; ctx: report). */
static int by_bytes(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_thread_report *x = &r->threads[*(const uint32_t *)a], *y = &r->threads[*(const uint32_t *)b];
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Prints the readable summary of r. */
static void print_summary(FILE *f, const msx_report *r)
{
    char a[64], b[64], c[64], d[64];
    fputs("memscope summary of ", f);
    put_safe(f, r->file.p, r->file.n, 4096);
    fputs("\n\n  program    ", f);
    for (uint32_t i = 0; i < r->nargv && i < 32; i++) {
        if (i)
            fputc(' ', f);
        put_safe(f, r->argv[i].p, r->argv[i].n, 200);
    }
    if (!r->nargv)
        put_safe(f, r->exe.p, r->exe.n, 4096);
    fprintf(f, "\n  pid        %llu", (unsigned long long)r->pid);
    if (r->forked)
        fprintf(f, " (forked from %llu)", (unsigned long long)r->parent_pid);
    fprintf(f, "\n  status     %s\n", r->complete ? "complete"
                                                 : "incomplete: the process did not reach its exit (killed?)");
    fprintf(f, "  duration   %s\n", fmt_ns(a, sizeof a, r->duration_ns));
    fprintf(f, "  events     %s: %s allocations, %s frees, %s reallocs\n", fmt_count(a, sizeof a, r->events),
            fmt_count(b, sizeof b, r->allocations), fmt_count(c, sizeof c, r->frees),
            fmt_count(d, sizeof d, r->reallocs));
    fprintf(f, "  allocated  %s in total\n", fmt_bytes(a, sizeof a, r->bytes_allocated));
    fprintf(f, "  peak       %s live at %s (%s blocks)\n", fmt_bytes(a, sizeof a, r->peak_live_bytes),
            fmt_ns(b, sizeof b, r->peak_time_ns), fmt_count(c, sizeof c, r->peak_blocks));
    fprintf(f, "  leaked     %s in %s blocks\n", fmt_bytes(a, sizeof a, r->leaked_bytes),
            fmt_count(b, sizeof b, r->leaked_blocks));
    fprintf(f, "  temporary  %s allocations freed before their thread allocated again\n",
            fmt_count(a, sizeof a, r->temporary));
    fprintf(f, "  threads    %u\n", r->nthreads);
    fprintf(f, "  dropped    %s events\n", fmt_count(a, sizeof a, r->dropped_events));
    uint64_t total = 0;
    for (unsigned k = 0; k < MSX_ANOM_KINDS; k++)
        total += r->anomaly_counts[k];
    fprintf(f, "  anomalies  %s", total ? fmt_count(a, sizeof a, total) : "none");
    for (unsigned k = 0; k < MSX_ANOM_KINDS && total; k++)
        if (r->anomaly_counts[k])
            fprintf(f, "%s%llu %s", k ? ", " : " (", (unsigned long long)r->anomaly_counts[k],
                    msx_anomaly_name((msx_anomaly_kind)k));
    fputs(total ? ")\n" : "\n", f);
    if (r->inherited_frees + r->inherited_reallocs)
        fprintf(f, "  inherited  %llu frees and reallocs of blocks from the parent process\n",
                (unsigned long long)(r->inherited_frees + r->inherited_reallocs));

    uint32_t n = r->nthreads;
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (order && n) {
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        qsort_r(order, n, sizeof *order, by_bytes, (void *)r);
        fprintf(f, "\n  %-6s %-8s %12s %12s %11s %11s  %s\n", "thread", "tid", "allocations", "frees", "allocated",
                "peak live", "name");
        for (uint32_t k = 0; k < n && k < 10; k++) {
            const msx_thread_report *t = &r->threads[order[k]];
            fprintf(f, "  %-6u %-8llu %12s %12s %11s %11s  ", t->id, (unsigned long long)t->tid,
                    fmt_count(a, sizeof a, t->allocations), fmt_count(b, sizeof b, t->frees),
                    fmt_bytes(c, sizeof c, t->bytes_allocated), fmt_bytes(d, sizeof d, t->peak_live_bytes));
            put_safe(f, t->name.p, t->name.n, 64);
            fputc('\n', f);
        }
        if (n > 10)
            fprintf(f, "  ... and %u more threads\n", n - 10);
    }
    free(order);
    if (r->nleaks) {
        fputs("\n  largest leaks:\n", f);
        for (uint32_t i = 0; i < r->nleaks && i < 5; i++)
            fprintf(f, "    0x%-14llx %11s  thread %u, allocated at %s\n", (unsigned long long)r->leaks[i].addr,
                    fmt_bytes(a, sizeof a, r->leaks[i].size), r->leaks[i].thread,
                    fmt_ns(b, sizeof b, r->leaks[i].time_ns));
    }
}

/* memscope summary. */
static int cmd_summary(int argc, char **argv)
{
    const char *trace = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_summary, stdout);
            return EXIT_OK;
        }
        if (argv[i][0] == '-' && strcmp(argv[i], "-")) {
            errorf("summary: unknown option %s", argv[i]);
            fputs(usage_summary, stderr);
            return EXIT_USAGE;
        }
        if (trace) {
            errorf("summary: one TRACE only");
            fputs(usage_summary, stderr);
            return EXIT_USAGE;
        }
        trace = argv[i];
    }
    if (!trace) {
        errorf("summary: no TRACE given");
        fputs(usage_summary, stderr);
        return EXIT_USAGE;
    }
    bool damaged = false;
    msx_report *r = load(trace, &damaged);
    if (!r)
        return EXIT_FAIL;
    print_summary(stdout, r);
    msx_report_free(r);
    return damaged ? EXIT_DAMAGED : EXIT_OK;
}

/* -- run ------------------------------------------------------------------- */

/* True if path names an existing regular file. */
static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds libmemscope_alloc.so (see usage_run) into buf. Returns 0 or -1. */
static int find_library(char *buf, size_t n)
{
    const char *env = getenv("MEMSCOPE_LIB");
    if (env && *env) {
        if (!is_file(env)) {
            errorf("MEMSCOPE_LIB=%s: no such file", env);
            return -1;
        }
        if (!realpath(env, buf)) {
            errorf("MEMSCOPE_LIB=%s: %s", env, strerror(errno));
            return -1;
        }
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        errorf("cannot find my own path (/proc/self/exe): %s", strerror(errno));
        return -1;
    }
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    char cand[2][PATH_MAX + 64];
    snprintf(cand[0], sizeof cand[0], "%s/../allocator/%s", exe, MSX_ALLOC_LIB);
    if (MSX_LIBDIR[0] == '/')
        snprintf(cand[1], sizeof cand[1], "%s/%s", MSX_LIBDIR, MSX_ALLOC_LIB);
    else
        snprintf(cand[1], sizeof cand[1], "%s/../%s/%s", exe, MSX_LIBDIR, MSX_ALLOC_LIB);
    for (int i = 0; i < 2; i++)
        if (is_file(cand[i]) && realpath(cand[i], buf) && strlen(buf) < n)
            return 0;
    errorf("cannot find %s (looked in $MEMSCOPE_LIB, %s, %s)", MSX_ALLOC_LIB, cand[0], cand[1]);
    return -1;
}

/* A trace file seen in the output directory. */
typedef struct seen {
    char *name;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} seen;

/* Lists the *.msgpack files of dir. Returns the count or -1; *out is malloc'd. */
static long list_traces(const char *dir, seen **out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long n = 0, cap = 0;
    seen *v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 8 || strcmp(e->d_name + len - 8, ".msgpack"))
            continue;
        char path[PATH_MAX];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path
            || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            seen *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        v[n].name = strdup(e->d_name);
        if (!v[n].name)
            break;
        v[n].ino = st.st_ino;
        v[n].size = st.st_size;
        v[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    *out = v;
    return n;
}

/* True if f is in before[] unchanged. */
static bool unchanged(const seen *f, const seen *before, long nbefore)
{
    for (long i = 0; i < nbefore; i++)
        if (!strcmp(before[i].name, f->name))
            return before[i].ino == f->ino && before[i].size == f->size
                && before[i].mtime.tv_sec == f->mtime.tv_sec && before[i].mtime.tv_nsec == f->mtime.tv_nsec;
    return false;
}

/* Frees a list of seen files. */
static void free_seen(seen *v, long n)
{
    for (long i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Orders seen files by name. */
static int seen_cmp(const void *a, const void *b)
{
    return strcmp(((const seen *)a)->name, ((const seen *)b)->name);
}

static volatile sig_atomic_t child_pid;

/* Forwards SIGTERM and SIGHUP to the program. */
static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

/* Sets an environment variable, reporting failure. */
static int set_env(const char *name, const char *value)
{
    if (setenv(name, value, 1) < 0) {
        errorf("cannot set %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Starts argv[0] with the environment set up and waits for it. Returns its
 * status as run's exit code (see usage_run); *exec_failed tells whether the
 * program could not be started at all. */
static int spawn_and_wait(char **argv, bool *exec_failed)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        errorf("pipe: %s", strerror(errno));
        return EXIT_RUN_SETUP;
    }
    struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward_signal }, old_int, old_quit,
                     old_term, old_hup;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&fwd.sa_mask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        errorf("fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return EXIT_RUN_SETUP;
    }
    if (pid == 0) {
        close(pfd[0]);
        execvp(argv[0], argv);
        int e = errno;
        (void)!write(pfd[1], &e, sizeof e);
        _exit(e == ENOENT ? EXIT_RUN_NOTFOUND : EXIT_RUN_NOEXEC);
    }
    child_pid = pid;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    close(pfd[1]);
    int e = 0;
    ssize_t got;
    do
        got = read(pfd[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    child_pid = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    *exec_failed = got == (ssize_t)sizeof e;
    if (*exec_failed) {
        errorf("cannot run %s: %s", argv[0], strerror(e));
        return e == ENOENT ? EXIT_RUN_NOTFOUND : EXIT_RUN_NOEXEC;
    }
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* memscope run. */
static int cmd_run(int argc, char **argv)
{
    const char *dir = getenv("MEMSCOPE_OUTPUT");
    int formats = F_JSON | F_HTML;
    bool quiet = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (is_help(a)) {
            fputs(usage_run, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(dir = opt_value(argc, argv, &i, usage_run)))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--formats")) {
            const char *v = opt_value(argc, argv, &i, usage_run);
            if (!v || (formats = parse_formats(v)) < 0)
                return EXIT_USAGE;
        } else {
            errorf("run: unknown option %s", a);
            fputs(usage_run, stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        errorf("run: no PROGRAM given");
        fputs(usage_run, stderr);
        return EXIT_USAGE;
    }
    if (!dir || !*dir)
        dir = "MemoryAnalysis";

    char lib[PATH_MAX], absdir[PATH_MAX];
    if (find_library(lib, sizeof lib) < 0)
        return EXIT_RUN_SETUP;
    if (strpbrk(lib, " :")) {
        errorf("%s: LD_PRELOAD cannot hold a path with a space or a colon", lib);
        return EXIT_RUN_SETUP;
    }
    int rc = mkdirs(dir);
    if (rc < 0 || !realpath(dir, absdir)) {
        errorf("cannot create %s: %s", dir, strerror(rc < 0 ? -rc : errno));
        return EXIT_RUN_SETUP;
    }
    seen *before = NULL;
    long nbefore = list_traces(absdir, &before);
    if (nbefore < 0) {
        errorf("cannot list %s: %s", absdir, strerror(errno));
        return EXIT_RUN_SETUP;
    }

    const char *old = getenv("LD_PRELOAD");
    size_t plen = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
    char *preload = malloc(plen);
    if (!preload) {
        free_seen(before, nbefore);
        errorf("out of memory");
        return EXIT_RUN_SETUP;
    }
    snprintf(preload, plen, "%s%s%s", lib, old && *old ? " " : "", old ? old : "");
    if (set_env("LD_PRELOAD", preload) < 0 || set_env("MEMSCOPE_OUTPUT", absdir) < 0) {
        free(preload);
        free_seen(before, nbefore);
        return EXIT_RUN_SETUP;
    }
    free(preload);

    bool exec_failed = false;
    int status = spawn_and_wait(argv + i, &exec_failed);
    if (exec_failed) {
        free_seen(before, nbefore);
        return status;
    }

    seen *after = NULL;
    long nafter = list_traces(absdir, &after);
    if (nafter < 0) {
        errorf("cannot list %s: %s", absdir, strerror(errno));
        free_seen(before, nbefore);
        return status;
    }
    if (nafter > 0)
        qsort(after, (size_t)nafter, sizeof *after, seen_cmp);
    long made = 0;
    for (long k = 0; k < nafter; k++) {
        if (unchanged(&after[k], before, nbefore))
            continue;
        made++;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", absdir, after[k].name) >= (int)sizeof path) {
            errorf("%s/%s: path too long", absdir, after[k].name);
            continue;
        }
        bool damaged = false;
        msx_report *r = load(path, &damaged);
        if (!r)
            continue;
        write_defaults(r, path, absdir, formats, quiet);
        msx_report_free(r);
    }
    if (!made)
        errorf("the run wrote no trace in %s (was the program linked statically, or MEMSCOPE_MODE=off?)", absdir);
    free_seen(before, nbefore);
    free_seen(after, nafter);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        fputs(usage_main, stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("memscope %s\n", MSX_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "summary"))
        return cmd_summary(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    errorf("unknown command %s", cmd);
    fputs(usage_main, stderr);
    return EXIT_USAGE;
}
