/* memscope live: follows a trace while its program runs (docs/CLI.md).
 *
 * Every --interval seconds it analyses the whole trace again, as `summary`
 * does (the reader reads with pread and copes with a trace still being
 * written: each chunk's committed length is release-stored by the writer, so
 * only whole records are read); not incrementally, so a refresh costs time
 * in proportion to the whole trace (about 30 ms of CPU per million events
 * measured), and when reading takes long the next refresh waits twice as
 * long as the reading took. A refresh first reads the chunk headers only
 * (msx_trace_probe): when the program's threads committed nothing new, the
 * last report stands and the trace is not analysed again. It shows the live heap, the peak so far, the
 * allocation rate over the last interval, and the top threads, tasks and
 * call-stack sites. It ends when the trace says the process ended (its exit
 * flush), or when the process of the trace's PROCESS record no longer exists
 * (killed): it then shows the last figures and one final line.
 *
 * On a terminal each refresh redraws the screen with plain ANSI escapes
 * (cursor home, clear to the end; the cursor is hidden meanwhile and shown
 * again on every way out, SIGINT included); otherwise each refresh is a block
 * of text followed by a blank line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

enum { EXIT_INTERRUPTED = 130 }; /* 128 + SIGINT: the user stopped it (docs/CLI.md) */

static const char *const usage_live =
    "Usage: memscope live TRACE|DIR [--interval SECONDS] [--wait SECONDS] [--top N]\n"
    "                     [--debug-dir DIR] [--sysroot DIR]\n"
    "\n"
    "Follow TRACE while its program runs: every interval, show the live heap, the\n"
    "peak so far, the allocation rate over the last interval, and the threads,\n"
    "tasks and call stacks (when recorded) holding most live bytes. Ends when the\n"
    "program exits (its trace says so, or its process no longer exists).\n"
    "With a DIR, follows the newest *.msgpack trace in it.\n"
    "\n"
    "  --interval SECONDS  time between refreshes (default 1; 0.05 to 3600)\n"
    "  --wait SECONDS   how long to wait for TRACE (or a trace in DIR) to\n"
    "                   appear (default 10; 0: do not wait)\n"
    "  --top N          rows of each list (default 5; 1 to 100)\n"
    "  --debug-dir DIR  look for debug files there first (by build-id)\n"
    "  --sysroot DIR    find the recorded modules under DIR\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "Exit status: 0 the program ended; 1 the trace did not appear or could not\n"
    "be read; 2 usage error; 130 interrupted (SIGINT, SIGTERM or SIGHUP).\n";

/* -- signals and the terminal --------------------------------------------- */

static volatile sig_atomic_t stop_signal; /* the signal that asked us to stop */
static volatile sig_atomic_t cursor_hidden;

static const char show_cursor[] = "\033[?25h";

/* SIGINT, SIGTERM, SIGHUP: the first asks the loop to stop (it shows the
 * cursor and exits 130); a second one, while an analysis still runs, shows
 * the cursor and leaves at once. Only async-signal-safe calls. */
static void on_stop(int sig)
{
    if (stop_signal) {
        if (cursor_hidden && write(STDOUT_FILENO, show_cursor, sizeof show_cursor - 1) < 0) {
            /* nothing more can be done */
        }
        _exit(EXIT_INTERRUPTED);
    }
    stop_signal = sig;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Shows the cursor again if we hid it. */
static void restore_terminal(void)
{
    if (cursor_hidden) {
        fputs(show_cursor, stdout);
        fflush(stdout);
        cursor_hidden = 0;
    }
}

/* Monotonic time in seconds. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until monotonic time `until` or a stop signal. */
static void sleep_until(double until)
{
    for (;;) {
        double left = until - now_s();
        if (left <= 0 || stop_signal)
            return;
        struct timespec ts = { .tv_sec = (time_t)left, .tv_nsec = (long)((left - (double)(time_t)left) * 1e9) };
        nanosleep(&ts, NULL); /* EINTR on a signal: the loop looks at stop_signal */
    }
}

/* -- finding the trace ---------------------------------------------------- */

/* The newest (by modification time) *.msgpack regular file in dir, malloc'd,
 * or NULL if there is none. */
static char *newest_trace(const char *dir)
{
    size_t n = strlen(dir);
    char *pat = malloc(n + 16);
    if (!pat)
        return NULL;
    snprintf(pat, n + 16, "%s%s*.msgpack", dir, n && dir[n - 1] == '/' ? "" : "/");
    glob_t g;
    char *best = NULL;
    struct timespec best_t = { 0, 0 };
    if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct stat st;
            if (stat(g.gl_pathv[i], &st) < 0 || !S_ISREG(st.st_mode))
                continue;
            if (!best || st.st_mtim.tv_sec > best_t.tv_sec ||
                (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec)) {
                free(best);
                best = strdup(g.gl_pathv[i]);
                best_t = st.st_mtim;
            }
        }
        globfree(&g);
    }
    free(pat);
    return best;
}

/* Waits (until monotonic time `deadline`) for arg to name a trace: a file
 * that exists, or a directory holding a *.msgpack. Returns the trace's path
 * (malloc'd), or NULL after printing why. */
static char *find_trace(const char *arg, double deadline, double wait)
{
    for (;;) {
        struct stat st;
        if (stat(arg, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return mst_input_readable(arg) ? strdup(arg) : NULL;
            char *t = newest_trace(arg);
            if (t)
                return t;
        } else if (errno != ENOENT) {
            mst_errorf("live: %s: %s", arg, strerror(errno));
            return NULL;
        }
        if (now_s() >= deadline || stop_signal) {
            if (!stop_signal) {
                if (stat(arg, &st) == 0)
                    mst_errorf("live: %s: no *.msgpack trace appeared in it within %g s", arg, wait);
                else
                    mst_errorf("live: %s: %s (waited %g s)", arg, strerror(ENOENT), wait);
            }
            return NULL;
        }
        sleep_until(now_s() + 0.05);
    }
}

/* True if the file at path may be a trace whose header is not written yet:
 * empty, zeros where the magic goes, or the start of the magic in a file
 * shorter than the header. Anything else that fails to read is not waited for. */
static bool header_pending(const char *path)
{
    static const char magic[8] = { 'M', 'E', 'M', 'S', 'C', 'O', 'P', 'E' };
    unsigned char h[8];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 ? pread(fd, h, sizeof h, 0) : -1;
    close(fd);
    if (n < 0)
        return false;
    bool zero = true;
    for (ssize_t i = 0; i < n; i++)
        zero = zero && !h[i];
    return zero || (st.st_size < 128 && !memcmp(h, magic, (size_t)n));
}

/* True unless the process is known to be gone: kill(pid, 0) says it does
 * not exist, or /proc says it is a zombie (it ended, not yet reaped). */
static bool process_alive(uint64_t pid)
{
    if (!pid || pid > INT32_MAX)
        return true; /* not known (yet): keep following */
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return false;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name, which may hold anything */
    return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* -- the display ---------------------------------------------------------- */

typedef struct live {
    const char *trace;
    double interval;
    unsigned top;
    bool tty;
    bool have_prev;       /* prev_* hold the previous refresh */
    uint64_t prev_allocations, prev_bytes;
    double prev_t;
    bool have_probe;      /* probe: what the trace held when the last read began */
    msx_probe probe;
    bool unchanged;       /* this refresh found nothing new: the last read stands */
} live;

/* True if two probes saw the same events and records of the program. */
static bool probe_same(const msx_probe *a, const msx_probe *b)
{
    return a->chunks == b->chunks && a->bytes == b->bytes && a->exited == b->exited &&
           a->end_time == b->end_time && a->end_how == b->end_how && a->dropped == b->dropped &&
           a->problems == b->problems;
}

/* qsort_r orderings, most live bytes first, then most allocated, then id. */
static int threads_by_live(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_thread_report *x = &r->threads[*(const uint32_t *)a], *y = &r->threads[*(const uint32_t *)b];
    if (x->live_bytes != y->live_bytes)
        return x->live_bytes > y->live_bytes ? -1 : 1;
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int tasks_by_live(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_task_report *x = &r->tasklist[*(const uint32_t *)a], *y = &r->tasklist[*(const uint32_t *)b];
    if (x->live_bytes != y->live_bytes)
        return x->live_bytes > y->live_bytes ? -1 : 1;
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int sites_by_live(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_site_report *x = &r->sites[*(const uint32_t *)a], *y = &r->sites[*(const uint32_t *)b];
    uint64_t lx = x->f.v[MSX_SF_LIVE_BYTES], ly = y->f.v[MSX_SF_LIVE_BYTES];
    if (lx != ly)
        return lx > ly ? -1 : 1;
    if (x->f.v[MSX_SF_BYTES_ALLOCATED] != y->f.v[MSX_SF_BYTES_ALLOCATED])
        return x->f.v[MSX_SF_BYTES_ALLOCATED] > y->f.v[MSX_SF_BYTES_ALLOCATED] ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Indices 0..n-1 of a list sorted by cmp (malloc'd; NULL if n is 0 or no memory). */
static uint32_t *sorted(uint32_t n, int (*cmp)(const void *, const void *, void *), const msx_report *r)
{
    uint32_t *idx = n ? malloc(n * sizeof *idx) : NULL;
    if (!idx)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof *idx, cmp, (void *)r);
    return idx;
}

/* Prints the threads, tasks and sites that hold most live bytes. */
static void print_lists(FILE *f, const live *L, const msx_report *r)
{
    char a[64], b[64], c[64];
    uint32_t *idx = sorted(r->nthreads, threads_by_live, r);
    if (idx) {
        fprintf(f, "\n  %-6s %-8s %11s %11s %12s  %s\n", "thread", "tid", "live", "allocated", "allocations",
                "name");
        for (uint32_t k = 0; k < r->nthreads && k < L->top; k++) {
            const msx_thread_report *t = &r->threads[idx[k]];
            fprintf(f, "  %-6u %-8llu %11s %11s %12s  ", t->id, (unsigned long long)t->tid,
                    mst_fmt_bytes(a, sizeof a, t->live_bytes), mst_fmt_bytes(b, sizeof b, t->bytes_allocated),
                    mst_fmt_count(c, sizeof c, t->allocations));
            mst_put_safe(f, t->name.p, t->name.n, 48);
            fputs(t->exited ? "  (ended)\n" : "\n", f);
        }
        if (r->nthreads > L->top)
            fprintf(f, "  ... and %u more threads\n", r->nthreads - L->top);
        free(idx);
    }
    idx = sorted(r->ntasklist, tasks_by_live, r);
    if (idx) {
        fprintf(f, "\n  %-8s %11s %11s %12s  %s\n", "task", "live", "allocated", "allocations", "name");
        for (uint32_t k = 0; k < r->ntasklist && k < L->top; k++) {
            const msx_task_report *t = &r->tasklist[idx[k]];
            fprintf(f, "  %-8llu %11s %11s %12s  ", (unsigned long long)t->id,
                    mst_fmt_bytes(a, sizeof a, t->live_bytes), mst_fmt_bytes(b, sizeof b, t->bytes_allocated),
                    mst_fmt_count(c, sizeof c, t->allocations));
            mst_put_safe(f, t->name.p, t->name.n, 48);
            fputs(t->ended ? "  (ended)\n" : "\n", f);
        }
        uint64_t ntasks = r->ntasklist + r->tasks_omitted;
        if (ntasks > L->top)
            fprintf(f, "  ... and %llu more tasks\n", (unsigned long long)(ntasks - L->top));
        free(idx);
    }
    idx = sorted(r->nsites, sites_by_live, r);
    if (idx) {
        fprintf(f, "\n  %11s %11s %12s  %s\n", "live", "allocated", "allocations", "call stack (its own frame)");
        for (uint32_t k = 0; k < r->nsites && k < L->top; k++) {
            const msx_site_report *s = &r->sites[idx[k]];
            fprintf(f, "  %11s %11s %12s  ", mst_fmt_bytes(a, sizeof a, s->f.v[MSX_SF_LIVE_BYTES]),
                    mst_fmt_bytes(b, sizeof b, s->f.v[MSX_SF_BYTES_ALLOCATED]),
                    mst_fmt_count(c, sizeof c, s->f.v[MSX_SF_ALLOCATIONS]));
            mst_put_site_frame(f, r, s);
            fputc('\n', f);
        }
        if (r->nsites > L->top)
            fprintf(f, "  ... and %u more call stacks\n", r->nsites - L->top);
        free(idx);
    } else if (r->nthreads) {
        fputs("\n  no call stacks recorded (yet; MEMSCOPE_STACK_DEPTH=N records them)\n", f);
    }
}

/* Formats nanoseconds as seconds. */
static const char *fmt_s(char *buf, size_t n, uint64_t ns)
{
    snprintf(buf, n, "%.1f s", (double)ns / 1e9);
    return buf;
}

/* Prints one refresh of report r (read at monotonic time t, in cost seconds). */
static void print_frame(FILE *f, live *L, const msx_report *r, double t, double cost)
{
    char a[64], b[64], c[64], d[64];
    fputs("memscope live  ", f);
    if (r->nargv)
        mst_put_safe(f, r->argv[0].p, r->argv[0].n, 80);
    else
        mst_put_safe(f, r->exe.p, r->exe.n, 80);
    if (r->pid)
        fprintf(f, "  pid %llu  ", (unsigned long long)r->pid);
    else
        fputs("(no PROCESS record yet)  ", f);
    mst_put_safe(f, r->file.p, r->file.n, 200);
    fputc('\n', f);
    const char *est = r->sampling ? " (estimated from samples)" : "";
    fprintf(f, "\n  live heap  %s bytes (%s) in %s blocks%s\n", mst_fmt_count(a, sizeof a, r->leaked_bytes),
            mst_fmt_bytes(b, sizeof b, r->leaked_bytes), mst_fmt_count(c, sizeof c, r->leaked_blocks), est);
    fprintf(f, "  peak       %s bytes (%s) at %s\n", mst_fmt_count(a, sizeof a, r->peak_live_bytes),
            mst_fmt_bytes(b, sizeof b, r->peak_live_bytes), fmt_s(c, sizeof c, r->peak_time_ns));
    if (L->have_prev && t > L->prev_t) {
        double dt = t - L->prev_t;
        uint64_t da = r->allocations >= L->prev_allocations ? r->allocations - L->prev_allocations : 0;
        uint64_t db = r->bytes_allocated >= L->prev_bytes ? r->bytes_allocated - L->prev_bytes : 0;
        fprintf(f, "  rate       %s allocations/s, %s/s (over the last %.1f s)\n",
                mst_fmt_count(a, sizeof a, (uint64_t)((double)da / dt + 0.5)),
                mst_fmt_bytes(b, sizeof b, (uint64_t)((double)db / dt + 0.5)), dt);
    } else {
        fputs("  rate       (from the next refresh on)\n", f);
    }
    fprintf(f, "  total      %s allocations, %s frees, %s allocated, %u threads, %s traced\n",
            mst_fmt_count(a, sizeof a, r->allocations), mst_fmt_count(b, sizeof b, r->frees),
            mst_fmt_bytes(c, sizeof c, r->bytes_allocated), r->nthreads, fmt_s(d, sizeof d, r->duration_ns));
    if (r->dropped_events)
        fprintf(f, "  dropped    %s events\n", mst_fmt_count(a, sizeof a, r->dropped_events));
    /* a trace still written always has one problem: no exit flush yet */
    uint64_t damage = r->problems_total - (!r->complete && r->problems_total ? 1 : 0);
    if (damage)
        fprintf(f, "  damaged    %s problems in the trace (memscope summary lists them)\n",
                mst_fmt_count(a, sizeof a, damage));
    print_lists(f, L, r);
    double gap = 2 * cost; /* see follow: reading at most a third of the time */
    if (L->unchanged)
        fprintf(f, "\n  refreshed every %g s; nothing new in the trace (checked in %.0f ms)\n", L->interval,
                cost * 1e3);
    else if (gap > L->interval)
        fprintf(f, "\n  refreshed every %.1f s, not %g s: the trace took %.0f ms to read\n", cost + gap, L->interval,
                cost * 1e3);
    else
        fprintf(f, "\n  refreshed every %g s; read in %.0f ms\n", L->interval, cost * 1e3);
    L->have_prev = true;
    L->prev_allocations = r->allocations;
    L->prev_bytes = r->bytes_allocated;
    L->prev_t = t;
}

/* Writes a frame to stdout: on a terminal over the previous one, each line
 * cut to the width and the frame to the height of the window. */
static void show(const live *L, const char *text, size_t len)
{
    if (!L->tty) {
        fwrite(text, 1, len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        return;
    }
    struct winsize ws = { 0 };
    unsigned cols = 80, rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
        cols = ws.ws_col;
        rows = ws.ws_row;
    }
    fputs("\033[H", stdout); /* home; each line clears its rest, then the rest of the screen */
    const char *p = text, *end = text + len;
    for (unsigned row = 0; p < end && row + 1 < rows; row++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        unsigned w = 0;
        const char *q = p;
        for (; q < e; q++) {
            if (((unsigned char)*q & 0xc0) != 0x80 && ++w > cols - 1)
                break; /* a UTF-8 lead byte (or ASCII) past the width */
        }
        fwrite(p, 1, (size_t)(q - p), stdout);
        fputs("\033[K\n", stdout);
        p = nl ? nl + 1 : end;
    }
    fputs("\033[J", stdout);
    fflush(stdout);
}

/* Analyses the trace once. Returns the report, or NULL after putting the
 * reason in err. */
static msx_report *read_trace(const char *path, char *err, size_t errlen)
{
    msx_report *r = NULL;
    if (msx_analyze_trace_opts(path, mst_analysis_opts(), NULL, NULL, &r, err, errlen) < 0)
        return NULL;
    return r;
}

/* The loop: refreshes until the program ends or a signal stops it. */
static int follow(live *L, double deadline)
{
    char err[1024];
    msx_report *r = NULL;
    int status = EXIT_OK;
    bool ended = false;
    const char *why = NULL;
    for (;;) {
        double t0 = now_s();
        /* read the process state before the trace: if it is gone now, the
         * trace read after it holds all it ever will */
        bool alive = r ? process_alive(r->pid) : true;
        /* the chunk headers first: if the program's threads committed
         * nothing new since the last read began, that read's report stands
         * (memscope's own stream, its metrics every 100 ms, is left out) */
        msx_probe pr;
        bool probed = msx_trace_probe(L->trace, &pr, err, sizeof err) == 0;
        bool same = r && probed && L->have_probe && probe_same(&pr, &L->probe);
        msx_report *n = same ? r : read_trace(L->trace, err, sizeof err);
        double t1 = now_s();
        if (!n) {
            /* a trace just created may not have its header yet: retry until
             * the wait is over, then give up */
            if (!r && t1 < deadline && !stop_signal && header_pending(L->trace)) {
                sleep_until(t1 + 0.05);
                continue;
            }
            if (!stop_signal) {
                restore_terminal();
                mst_errorf("live: %s", err);
                status = EXIT_FAIL;
            }
            break;
        }
        if (n != r) {
            msx_report_free(r);
            r = n;
            L->have_probe = probed;
            L->probe = pr;
        }
        L->unchanged = same;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) {
            restore_terminal();
            mst_errorf("live: out of memory");
            status = EXIT_FAIL;
            break;
        }
        print_frame(f, L, r, t1, t1 - t0);
        fclose(f);
        show(L, text, len);
        free(text);
        if (r->complete || r->end_how) {
            ended = true;
            const char *how = msx_ending_name(r->end_how);
            why = how && !strcmp(how, "_exit") ? "ended by _exit" : how && !strcmp(how, "exec") ? "exec'd another program"
                                                                                          : "exited";
            break;
        }
        if (!alive || !process_alive(r->pid)) {
            if (alive) {
                /* gone while we read: once more, to show all it wrote */
                alive = false;
                continue;
            }
            ended = true;
            why = "no longer exists (killed?); its trace has no exit flush";
            break;
        }
        if (stop_signal)
            break;
        /* each refresh reads the whole trace again: when that takes long
         * (a big trace), wait twice as long as it took, so that live takes
         * at most about a third of a CPU from the program it watches */
        double next = t0 + L->interval;
        if (t1 + 2 * (t1 - t0) > next)
            next = t1 + 2 * (t1 - t0);
        sleep_until(next);
        if (stop_signal)
            break;
    }
    restore_terminal();
    if (ended && r) {
        char a[64], b[64];
        printf("memscope: live: process %llu %s: live heap %s bytes at the end, peak %s bytes\n",
               (unsigned long long)r->pid, why, mst_fmt_count(a, sizeof a, r->leaked_bytes),
               mst_fmt_count(b, sizeof b, r->peak_live_bytes));
    } else if (stop_signal) {
        printf("memscope: live: interrupted\n");
        status = EXIT_INTERRUPTED;
    }
    fflush(stdout);
    msx_report_free(r);
    return status;
}

/* Parses a number of seconds in [lo, hi]. */
static bool parse_seconds(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* memscope live (see usage_live); argv[0] is "live". Returns the exit status. */
int mst_cmd_live(int argc, char **argv)
{
    enum { OPT_VERSION = 256, OPT_INTERVAL, OPT_WAIT, OPT_TOP, OPT_DEBUG_DIR, OPT_SYSROOT };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "wait", required_argument, NULL, OPT_WAIT },
        { "top", required_argument, NULL, OPT_TOP },
        { "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
        { "sysroot", required_argument, NULL, OPT_SYSROOT },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    live L = { .interval = 1, .top = 5 };
    double wait = 10, top;
    const char *debug_dir = NULL, *sysroot = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_live, stdout);
            return EXIT_OK;
        case OPT_VERSION:
            return mst_print_version();
        case OPT_INTERVAL:
            if (!parse_seconds(optarg, 0.05, 3600, &L.interval)) {
                mst_errorf("live: --interval %s: not a number of seconds from 0.05 to 3600", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_WAIT:
            if (!parse_seconds(optarg, 0, 86400, &wait)) {
                mst_errorf("live: --wait %s: not a number of seconds from 0 to 86400", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_TOP:
            if (!parse_seconds(optarg, 1, 100, &top) || top != (double)(unsigned)top) {
                mst_errorf("live: --top %s: not a whole number from 1 to 100", optarg);
                return EXIT_USAGE;
            }
            L.top = (unsigned)top;
            break;
        case OPT_DEBUG_DIR:
            debug_dir = optarg;
            break;
        case OPT_SYSROOT:
            sysroot = optarg;
            break;
        default:
            return mst_option_error("live", c, argv, usage_live);
        }
    }
    if (argc - optind != 1) {
        mst_errorf(argc - optind ? "live: one TRACE only" : "live: no TRACE given");
        fputs(usage_live, stderr);
        return EXIT_USAGE;
    }
    install_handlers();
    double deadline = now_s() + wait;
    char *trace = find_trace(argv[optind], deadline, wait);
    if (!trace) {
        if (!stop_signal)
            return EXIT_FAIL;
        printf("memscope: live: interrupted\n");
        return EXIT_INTERRUPTED;
    }
    if (mst_analysis_set(sysroot, debug_dir, NULL) < 0) {
        free(trace);
        return EXIT_FAIL;
    }
    L.trace = trace;
    L.tty = isatty(STDOUT_FILENO);
    if (L.tty) {
        cursor_hidden = 1;
        fputs("\033[?25l\033[H\033[2J", stdout); /* hide the cursor, clear the screen */
        fflush(stdout);
    }
    int status = follow(&L, deadline);
    mst_analysis_end();
    free(trace);
    return status;
}
