/* memscope summary: prints a readable summary of one trace or archive, with
 * every string from the trace made safe for a terminal. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const char *const usage_summary =
    "Usage: memscope summary TRACE [--suppressions FILE] [--debug-dir DIR]\n"
    "                        [--sysroot DIR]\n"
    "\n"
    "Print a readable summary of TRACE (a trace file or a .msbin archive): its\n"
    "figures, threads, tasks, variables, the call stacks that allocated most\n"
    "and those that leaked.\n"
    "\n"
    "  --suppressions FILE  leak suppressions (LeakSanitizer's leak:PATTERN\n"
    "               lines; default: $MEMSCOPE_SUPPRESSIONS)\n"
    "  --debug-dir DIR  look for debug files there first (by build-id)\n"
    "  --sysroot DIR    find the recorded modules under DIR\n"
    "  -h, --help   show this help\n"
    "  --version    show the version\n"
    "\n"
    "Exit status: 0 success; 1 the trace could not be read; 2 usage error;\n"
    "3 summary printed but the trace was damaged or incomplete.\n";

/* -- formatting ----------------------------------------------------------- */

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

/* -- the summary ---------------------------------------------------------- */

/* Orders thread indices by bytes allocated, most first (qsort_r; ctx: report). */
static int by_bytes(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_thread_report *x = &r->threads[*(const uint32_t *)a], *y = &r->threads[*(const uint32_t *)b];
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Prints a site's own frame: function (or module+offset, or pc) and
 * file:line (the file's name only). */
static void put_site_frame(FILE *f, const msx_report *r, const msx_site_report *s)
{
    if (!s->nframes) {
        fputs("(empty stack)", f);
        return;
    }
    const msx_site_frame *fr = &s->frames[s->frame];
    const msx_str *fn = msx_report_string(r, fr->function), *file = msx_report_string(r, fr->file),
                  *mod = msx_report_string(r, fr->module);
    if (fn) {
        put_safe(f, fn->p, fn->n, 200);
    } else if (mod) {
        const char *b = strrchr(mod->p, '/');
        b = b ? b + 1 : mod->p;
        put_safe(f, b, (size_t)(mod->p + mod->n - b), 200);
        fprintf(f, "+0x%llx", (unsigned long long)fr->offset);
    } else {
        fprintf(f, "0x%llx", (unsigned long long)fr->pc);
    }
    if (file) {
        const char *b = strrchr(file->p, '/');
        b = b ? b + 1 : file->p;
        fputs("  ", f);
        put_safe(f, b, (size_t)(file->p + file->n - b), 200);
        if (fr->line)
            fprintf(f, ":%u", fr->line);
    }
    if (s->runtime)
        fputs("  [runtime]", f);
    else if (s->suppressed)
        fputs("  [suppressed]", f);
}

/* Orders site indices by leaked bytes, most first (qsort_r; ctx: report). */
static int by_leaked(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_site_report *x = &r->sites[*(const uint32_t *)a], *y = &r->sites[*(const uint32_t *)b];
    if (x->f.v[MSX_SF_LEAKED_BYTES] != y->f.v[MSX_SF_LEAKED_BYTES])
        return x->f.v[MSX_SF_LEAKED_BYTES] > y->f.v[MSX_SF_LEAKED_BYTES] ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Prints the sites that allocated most, and those that leaked (the
 * program's first, then the runtime's and the suppressed ones). */
static void print_sites(FILE *f, const msx_report *r)
{
    char a[64], b[64];
    if (!r->nsites)
        return;
    fputs("\n  allocated most (by call stack):\n", f);
    for (uint32_t i = 0; i < r->nsites && i < 10; i++) {
        const msx_site_report *s = &r->sites[i];
        fprintf(f, "    %11s in %s allocations  ", fmt_bytes(a, sizeof a, s->f.v[MSX_SF_BYTES_ALLOCATED]),
                fmt_count(b, sizeof b, s->f.v[MSX_SF_ALLOCATIONS]));
        put_site_frame(f, r, s);
        fputc('\n', f);
    }
    if (r->nsites > 10)
        fprintf(f, "    ... and %u more call stacks\n", r->nsites - 10);
    uint32_t *idx = malloc(r->nsites * sizeof *idx), n = 0;
    if (!idx)
        return;
    for (uint32_t i = 0; i < r->nsites; i++)
        if (r->sites[i].f.v[MSX_SF_LEAKED_BLOCKS])
            idx[n++] = i;
    qsort_r(idx, n, sizeof *idx, by_leaked, (void *)r);
    if (n) {
        fprintf(f, "\n  leaks by call stack: %s in %s blocks of the program", fmt_bytes(a, sizeof a, r->leaked_program_bytes),
                fmt_count(b, sizeof b, r->leaked_program_blocks));
        fprintf(f, ", %s of the runtime", fmt_bytes(a, sizeof a, r->leaked_runtime_bytes));
        fprintf(f, ", %s suppressed\n", fmt_bytes(a, sizeof a, r->leaked_suppressed_bytes));
    }
    uint32_t shown = 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < n && shown < 20; k++) {
            const msx_site_report *s = &r->sites[idx[k]];
            if ((s->runtime || s->suppressed) != (pass == 1))
                continue;
            fprintf(f, "    %s leaked in %s blocks  ", fmt_bytes(a, sizeof a, s->f.v[MSX_SF_LEAKED_BYTES]),
                    fmt_count(b, sizeof b, s->f.v[MSX_SF_LEAKED_BLOCKS]));
            put_site_frame(f, r, s);
            fputc('\n', f);
            shown++;
        }
    if (n > shown)
        fprintf(f, "    ... and %u more leaking call stacks\n", n - shown);
    free(idx);
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
    const char *ending = msx_ending_name(r->end_how);
    if (r->complete)
        fprintf(f, "\n  status     complete: the process ended by %s\n",
                !ending ? "exit" : !strcmp(ending, "_exit") ? "_exit (no exit handlers ran)"
                : !strcmp(ending, "exec") ? "exec (its image was replaced; the new one has a trace of its own)"
                : "exit");
    else
        fprintf(f, "\n  status     incomplete: the process did not reach its exit (killed?)\n");
    fprintf(f, "  duration   %s\n", fmt_ns(a, sizeof a, r->duration_ns));
    if (r->sampling) {
        /* the figures below are estimates: say so, with their intervals */
        if (r->sampling == 1)
            fprintf(f, "  sampled    by bytes: one sample per %s allocated on average (seed %llu);\n"
                       "             allocations, bytes, peak and leaks are estimates, 95%% intervals in [ ]\n",
                    fmt_bytes(a, sizeof a, r->sample_bytes), (unsigned long long)r->sample_seed);
        else
            fprintf(f, "  sampled    by rate: one allocation in %.0f (seed %llu);\n"
                       "             allocations, bytes, peak and leaks are estimates, 95%% intervals in [ ]\n",
                    r->sample_rate ? 4294967296.0 / (double)r->sample_rate : 0.0,
                    (unsigned long long)r->sample_seed);
        fprintf(f, "  events     %s samples recorded: %s allocations estimated [%.0f-%.0f], %s frees of samples\n",
                fmt_count(a, sizeof a, r->events), fmt_count(b, sizeof b, r->allocations),
                r->est.lo[MSX_EST_ALLOCATIONS], r->est.hi[MSX_EST_ALLOCATIONS], fmt_count(c, sizeof c, r->frees));
        fprintf(f, "  allocated  %s in total [%s-", fmt_bytes(a, sizeof a, r->bytes_allocated),
                fmt_bytes(b, sizeof b, (uint64_t)r->est.lo[MSX_EST_BYTES_ALLOCATED]));
        fprintf(f, "%s]\n", fmt_bytes(c, sizeof c, (uint64_t)r->est.hi[MSX_EST_BYTES_ALLOCATED]));
        fprintf(f, "  peak       %s live at %s [%s-", fmt_bytes(a, sizeof a, r->peak_live_bytes),
                fmt_ns(b, sizeof b, r->peak_time_ns), fmt_bytes(c, sizeof c, (uint64_t)r->est.lo[MSX_EST_PEAK_LIVE_BYTES]));
        fprintf(f, "%s]\n", fmt_bytes(a, sizeof a, (uint64_t)r->est.hi[MSX_EST_PEAK_LIVE_BYTES]));
        fprintf(f, "  leaked     %s in %s blocks [%s-", fmt_bytes(a, sizeof a, r->leaked_bytes),
                fmt_count(b, sizeof b, r->leaked_blocks), fmt_bytes(c, sizeof c, (uint64_t)r->est.lo[MSX_EST_LIVE_BYTES]));
        fprintf(f, "%s]\n", fmt_bytes(a, sizeof a, (uint64_t)r->est.hi[MSX_EST_LIVE_BYTES]));
    } else {
        fprintf(f, "  events     %s: %s allocations, %s frees, %s reallocs\n", fmt_count(a, sizeof a, r->events),
                fmt_count(b, sizeof b, r->allocations), fmt_count(c, sizeof c, r->frees),
                fmt_count(d, sizeof d, r->reallocs));
        fprintf(f, "  allocated  %s in total\n", fmt_bytes(a, sizeof a, r->bytes_allocated));
        fprintf(f, "  peak       %s live at %s (%s blocks)\n", fmt_bytes(a, sizeof a, r->peak_live_bytes),
                fmt_ns(b, sizeof b, r->peak_time_ns), fmt_count(c, sizeof c, r->peak_blocks));
        fprintf(f, "  leaked     %s in %s blocks\n", fmt_bytes(a, sizeof a, r->leaked_bytes),
                fmt_count(b, sizeof b, r->leaked_blocks));
    }
    fprintf(f, "  temporary  %s allocations freed before their thread allocated again\n",
            fmt_count(a, sizeof a, r->temporary));
    fprintf(f, "  threads    %u\n", r->nthreads);
    fprintf(f, "  dropped    %s events\n", fmt_count(a, sizeof a, r->dropped_events));
    if (r->lost_control_records)
        fprintf(f, "  lost       %s control records (thread, process or module information)\n",
                fmt_count(a, sizeof a, r->lost_control_records));
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
    if (r->ntasklist) {
        fprintf(f, "\n  %-8s %12s %11s %11s %11s  %s\n", "task", "allocations", "allocated", "peak live",
                "live", "name");
        for (uint32_t i = 0; i < r->ntasklist && i < 10; i++) {
            const msx_task_report *t = &r->tasklist[i];
            fprintf(f, "  %-8llu %12s %11s %11s %11s  ", (unsigned long long)t->id,
                    fmt_count(a, sizeof a, t->allocations), fmt_bytes(b, sizeof b, t->bytes_allocated),
                    fmt_bytes(c, sizeof c, t->peak_live_bytes), fmt_bytes(d, sizeof d, t->live_bytes));
            put_safe(f, t->name.p, t->name.n, 64);
            fputc('\n', f);
        }
        if (r->ntasklist + r->tasks_omitted > 10)
            fprintf(f, "  ... and %llu more tasks\n", (unsigned long long)(r->ntasklist + r->tasks_omitted - 10));
    }
    if (r->nvars) {
        fprintf(f, "\n  %-24s %8s %11s %11s %8s  %s\n", "variable", "blocks", "peak live", "live", "frees",
                "type, where");
        for (uint32_t i = 0; i < r->nvars && i < 10; i++) {
            const msx_var_report *x = &r->vars[i];
            fputs("  ", f);
            put_safe(f, x->name.p, x->name.n, 24);
            fprintf(f, "%*s %8s %11s %11s %8llu  ", x->name.n < 24 ? (int)(24 - x->name.n) : 0, "",
                    fmt_count(a, sizeof a, x->blocks), fmt_bytes(b, sizeof b, x->peak_live_bytes),
                    fmt_bytes(c, sizeof c, x->live_bytes), (unsigned long long)x->frees);
            put_safe(f, x->type.p, x->type.n, 64);
            if (x->file.n) {
                fputs(x->type.n ? ", " : "", f);
                put_safe(f, x->file.p, x->file.n, 256);
                fprintf(f, ":%llu", (unsigned long long)x->line);
            }
            fputc('\n', f);
        }
        if (r->nvars + r->vars_omitted > 10)
            fprintf(f, "  ... and %llu more variables\n", (unsigned long long)(r->nvars + r->vars_omitted - 10));
    }
    if (r->nleaks) {
        fputs("\n  largest leaks:\n", f);
        for (uint32_t i = 0; i < r->nleaks && i < 5; i++)
            fprintf(f, "    0x%-14llx %11s  thread %u, allocated at %s\n", (unsigned long long)r->leaks[i].addr,
                    fmt_bytes(a, sizeof a, r->leaks[i].size), r->leaks[i].thread,
                    fmt_ns(b, sizeof b, r->leaks[i].time_ns));
    }
    print_sites(f, r);
}

/* memscope summary (see usage_summary); argv[0] is "summary". Returns the exit status. */
int mst_cmd_summary(int argc, char **argv)
{
    enum { OPT_VERSION = 256, OPT_SUPP, OPT_DEBUG_DIR, OPT_SYSROOT };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "suppressions", required_argument, NULL, OPT_SUPP },
        { "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
        { "sysroot", required_argument, NULL, OPT_SYSROOT },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    const char *supp = NULL, *debug_dir = NULL, *sysroot = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == OPT_SUPP || c == OPT_DEBUG_DIR || c == OPT_SYSROOT) {
            *(c == OPT_SUPP ? &supp : c == OPT_DEBUG_DIR ? &debug_dir : &sysroot) = optarg;
            continue;
        }
        if (c == 'h') {
            fputs(usage_summary, stdout);
            return EXIT_OK;
        }
        if (c == OPT_VERSION)
            return mst_print_version();
        return mst_option_error("summary", c, argv, usage_summary);
    }
    if (argc - optind > 1) {
        mst_errorf("summary: one TRACE only");
        fputs(usage_summary, stderr);
        return EXIT_USAGE;
    }
    const char *trace = optind < argc ? argv[optind] : NULL;
    if (!trace) {
        mst_errorf("summary: no TRACE given");
        fputs(usage_summary, stderr);
        return EXIT_USAGE;
    }
    if (mst_analysis_set(sysroot, debug_dir, mst_suppressions_path(supp)) < 0)
        return EXIT_FAIL;
    bool damaged = false;
    msx_report *r = mst_load(trace, &damaged);
    mst_analysis_end();
    if (!r)
        return EXIT_FAIL;
    print_summary(stdout, r);
    msx_report_free(r);
    return damaged ? EXIT_DAMAGED : EXIT_OK;
}

/* -- the formatting above, for live.c (tool.h) ----------------------------- */

const char *mst_fmt_bytes(char *buf, size_t n, uint64_t v) { return fmt_bytes(buf, n, v); }
const char *mst_fmt_count(char *buf, size_t n, uint64_t v) { return fmt_count(buf, n, v); }
void mst_put_safe(FILE *f, const char *s, size_t n, size_t max) { put_safe(f, s, n, max); }
void mst_put_site_frame(FILE *f, const msx_report *r, const msx_site_report *s) { put_site_frame(f, r, s); }
