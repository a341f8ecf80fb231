/* Whole-process behaviour of the recorder, on the `workload` program: threads,
 * cross-thread frees, thread exit, fork, SIGKILL, and the MEMSCOPE_* options. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export.h"
#include "helpers.h"
#include "trace_reader.h"

static bool tagged(uint64_t size) { return size % 1000 == 777 && size < 10000; }

/* Runs the workload with args into a fresh dir; loads its trace into t. */
static void run_workload(char *const args[], char *const env[], const char *dir,
                         run_result_t *r, tr_trace_t *t)
{
    char *argv[8] = { (char *)th_build_path("workload") };
    for (int i = 0; args[i]; i++)
        argv[i + 1] = args[i];
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *envv[16] = { out_env };
    for (int i = 0; env && env[i]; i++)
        envv[i + 1] = env[i];
    assert_int_equal(th_run(argv, envv, NULL, 60000, r), 0);
    if (t) {
        char path[4096];
        assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
        assert_int_equal(tr_load(path, t), 0);
    }
}

static void test_stress_counts_exact(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "stress", "4", "20000", NULL }, NULL, dir, &r, &t);
    assert_int_equal(r.status, 0);
    long long allocs = th_field(r.out, "allocs"), frees = th_field(r.out, "frees");
    long long reallocs = th_field(r.out, "reallocs");
    assert_true(allocs >= 80000);

    assert_int_equal(t.bad, 0);
    assert_true(t.first_event_ok);
    assert_int_equal(t.header_dropped, 0);
    tr_counts_t n;
    uint64_t live;
    /* Every free meets a live block in the causal merge of all threads. */
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    /* The printed counts include the constructor's 50; the destructor's 50
     * come after the printing. Allocations count exactly. Which incarnation
     * of an address a free on another thread ends is exact up to the overlap
     * of the two threads' TIME windows (FORMAT.md "Merging threads"): blocks
     * handed between threads within a few microseconds can be paired with
     * the block before or after at their address, so the frees and reallocs
     * that end a tagged block are counted within 0.1%. */
    assert_int_equal(n.allocs, (uint64_t)allocs + 50);
    uint64_t want_frees = (uint64_t)frees + 50;
    assert_true(n.frees <= want_frees + want_frees / 1000 && n.frees + want_frees / 1000 >= want_frees);
    assert_true(n.reallocs_from <= (uint64_t)reallocs + (uint64_t)reallocs / 1000 + 1 &&
                n.reallocs_from + (uint64_t)reallocs / 1000 + 1 >= (uint64_t)reallocs);
    /* The raw event counts are exact: every free and realloc the program made
     * is in the trace (with the pthread and stdio ones). */
    assert_true(tr_count(&t, 1) >= want_frees);
    assert_true(tr_count(&t, 2) >= (uint64_t)reallocs);
    assert_true(t.nthreads >= 5); /* main + 4 */
    assert_int_equal(t.n_end, 1);
    assert_true(t.end_time > 0);

    /* The export side's analysis of the same racy trace: the same counts as
     * this decoder, and no anomaly (the program has none). */
    char path[4096], err[512];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    msx_report *rep = NULL;
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
    assert_int_equal(rep->allocations, tr_count(&t, 0));
    assert_int_equal(rep->frees, tr_count(&t, 1));
    assert_int_equal(rep->reallocs, tr_count(&t, 2));
    for (int k = 0; k < MSX_ANOM_KINDS; k++)
        assert_int_equal(rep->anomaly_counts[k], 0);
    assert_int_equal(rep->leaked_blocks, live);
    msx_report_free(rep);
    tr_free(&t);
    th_rmtree(dir);
}

/* One thread writing far more chunks than it takes to reach the largest size
 * (4 KiB doubling up to 64 KiB here): nothing is dropped, every event is there. */
static void test_long_run_many_chunks(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "stress", "1", "400000", NULL },
                 (char *[]){ "MEMSCOPE_BUFFER_SIZE=64K", NULL }, dir, &r, &t);
    assert_int_equal(r.status, 0);
    assert_int_equal(t.bad, 0);
    assert_true(t.first_event_ok);
    assert_int_equal(t.gaps, 0);
    assert_int_equal(t.header_dropped, 0);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    assert_int_equal(n.allocs, (uint64_t)th_field(r.out, "allocs") + 50);
    assert_true(t.nev > 800000); /* about 5 MB of trace: 80 chunks of 64 KiB */
    tr_free(&t);
    th_rmtree(dir);
}

static void test_thread_exit_and_names(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "names", NULL }, NULL, dir, &r, &t);
    assert_int_equal(r.status, 0);
    int exited = 0;
    bool seen[4] = { false };
    for (int i = 0; i < t.nthreads; i++) {
        const tr_thread_t *th = &t.threads[i];
        if (!th->exited)
            continue;
        exited++;
        int k;
        if (sscanf(th->name, "worker-%d", &k) == 1 && k >= 0 && k < 4)
            seen[k] = true;
    }
    assert_true(exited >= 4);
    for (int k = 0; k < 4; k++)
        assert_true(seen[k]);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    assert_int_equal(n.allocs, 400 + 100); /* + constructor and destructor */
    assert_int_equal(n.frees, 400 + 100);
    tr_free(&t);
    th_rmtree(dir);
}

static void test_fork_child_writes_own_trace(void **state)
{
    (void)state;
#if defined(MS_SANITIZER_HEAP) && !defined(__SANITIZE_THREAD__)
    /* ASan's allocator (GCC 12) deadlocks in a child forked while other
     * threads allocate: a limit of the checking build, not of memscope
     * (TSan's takes its locks around a fork: the case runs there) */
    skip();
#endif
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "fork", NULL }, NULL, dir, &r, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "child_status"), 0);
    long long child = th_field(r.out, "child"), parent = th_field(r.out, "parent");
    assert_true(child > 0 && parent > 0);
    /* the child unmapped every chunk of the parent's trace, not only its own */
    assert_int_equal(th_field(r.out, "parent_maps"), 0);

    char path[4096];
    snprintf(path, sizeof path, "%s/workload.%lld.msgpack", dir, child);
    tr_trace_t c;
    assert_int_equal(tr_load(path, &c), 0);
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.n_fork, 1);
    assert_int_equal(c.fork_parent, (uint64_t)parent);
    assert_int_equal(c.pid, (uint64_t)child);
    /* The child's own 1000 allocations and frees, and nothing of the parent's
     * threads. Blocks inherited from the parent are not in the child's trace. */
    assert_int_equal(c.nthreads, 1);
    uint64_t allocs = 0, frees = 0;
    for (size_t i = 0; i < c.nev; i++) {
        if (c.ev[i].kind == 0 && tagged(c.ev[i].size))
            allocs++;
    }
    frees = tr_count(&c, 1);
    assert_int_equal(allocs, 1000);
    assert_true(frees >= 1000);
    tr_free(&c);

    snprintf(path, sizeof path, "%s/workload.%lld.msgpack", dir, parent);
    tr_trace_t p;
    assert_int_equal(tr_load(path, &p), 0);
    assert_int_equal(p.bad, 0);
    assert_int_equal(p.n_fork, 0);
    uint64_t live;
    assert_int_equal(tr_check_causal(&p, &live, NULL, NULL), 0);
    tr_free(&p);
    th_rmtree(dir);
}

static void test_sigkill_leaves_whole_events(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *argv[] = { (char *)th_build_path("workload"), "loop", NULL };
    pid_t pid = th_spawn(argv, (char *[]){ out_env, "MEMSCOPE_BUFFER_SIZE=64K", NULL });
    assert_true(pid > 0);
    usleep(300000);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));

    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);          /* only whole records */
    assert_true(t.first_event_ok);
    assert_int_equal(t.header_dropped, 0);
    assert_true(t.nev > 10000);
    assert_int_equal(t.n_end, 0);        /* it never reached exit */
    assert_int_equal(t.end_time, 0);
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, NULL, NULL), 0);
    tr_free(&t);
    th_rmtree(dir);
}

static void test_mode_off_writes_nothing(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "small", NULL }, (char *[]){ "MEMSCOPE_MODE=off", NULL }, dir, &r,
                 NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "allocs"), 1001 + 50);
    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), -1);
    th_rmtree(dir);
}

static void test_max_events_counts_drops(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "small", NULL }, (char *[]){ "MEMSCOPE_MAX_EVENTS=100", NULL }, dir,
                 &r, &t);
    assert_int_equal(r.status, 0);
#ifndef MS_SANITIZER_HEAP
    /* (the sanitizer runtime allocates in the helper thread before its start
     * routine runs, where memscope cannot tell it from the program) */
    assert_int_equal(t.nthreads, 1);
#endif
    assert_int_equal(t.threads[0].events, 100);
    /* The program made more than 2001 events; all beyond 100 were counted. */
    assert_true(t.header_dropped >= 2001 - 100);
    assert_true(t.threads[0].dropped >= 2001 - 100);
    assert_true(t.threads[0].dropped <= t.header_dropped);
    tr_free(&t);
    th_rmtree(dir);
}

static void test_bad_directory_runs_on(void **state)
{
    (void)state;
    run_result_t r;
    char *argv[] = { (char *)th_build_path("workload"), "small", NULL };
    assert_int_equal(th_run(argv, (char *[]){ "MEMSCOPE_OUTPUT=/proc/memscope/nope", NULL }, NULL,
                            30000, &r),
                     0);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "allocs"), 1001 + 50);
    assert_non_null(strstr(r.err, "memscope: cannot create a trace in '/proc/memscope/nope'"));
}

/* A disk that fills up mid-run: the program runs on unharmed, the trace keeps
 * what fit, and counts the rest as dropped. The disk is a 2 MiB tmpfs, which
 * needs the right to mount (root in CI); without it the test is skipped. */
static void test_full_disk_runs_on(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    char *mount_argv[] = { "mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", dir, NULL };
    if (th_run(mount_argv, NULL, NULL, 10000, &r) != 0 || r.status != 0) {
        th_rmtree(dir);
        skip();
    }
    tr_trace_t t;
    run_workload((char *[]){ "stress", "2", "200000", NULL },
                 (char *[]){ "MEMSCOPE_BUFFER_SIZE=256K", NULL }, dir, &r, &t);
    assert_int_equal(r.status, 0);
    assert_true(th_field(r.out, "allocs") >= 400000);
    assert_int_equal(t.bad, 0);
    assert_true(t.first_event_ok);
    assert_true(t.nev > 0);
    assert_true(t.header_dropped > 0);
    /* What was recorded plus what was dropped is at least what the program did
     * (the program's own count leaves out pthread's and stdio's allocations). */
    assert_true(t.nev + t.header_dropped >=
                (uint64_t)(th_field(r.out, "allocs") + th_field(r.out, "frees") +
                           th_field(r.out, "reallocs")));
    tr_free(&t);
    char *umount_argv[] = { "umount", dir, NULL };
    th_run(umount_argv, NULL, NULL, 10000, &r);
    th_rmtree(dir);
}

/* A program that closes our descriptor and puts a file of its own on the same
 * number: the recorder stops (and counts drops) rather than write into it. */
static void test_closed_descriptor_is_not_reused(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char file[512];
    snprintf(file, sizeof file, "%s/users-file", dir);
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "closefds", file, NULL }, (char *[]){ "MEMSCOPE_BUFFER_SIZE=64K", NULL },
                 dir, &r, &t);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "size"), 5);
    assert_int_equal(t.bad, 0);
    assert_true(t.header_dropped > 0);
    tr_free(&t);
    th_rmtree(dir);
}

/* Each thread has an arena of its own; an exited thread's arena goes to the
 * next new thread. In MEMSCOPE_MODE=off too: the allocator is the same. */
static void test_arena_per_thread_reused(void **state)
{
    (void)state;
#ifdef MS_SANITIZER_HEAP
    /* arenas are jemalloc's; the sanitizer's heap has none */
    skip();
#endif
    const char *modes[] = { "MEMSCOPE_MODE=full", "MEMSCOPE_MODE=off" };
    for (int m = 0; m < 2; m++) {
        char *dir = th_tmpdir();
        run_result_t r;
        run_workload((char *[]){ "arenas", NULL }, (char *[]){ (char *)modes[m], NULL }, dir, &r,
                     NULL);
        assert_int_equal(r.status, 0);
        long long main_arena = th_field(r.out, "main_arena");
        long long first = th_field(r.out, "first"), second = th_field(r.out, "second");
        assert_true(main_arena > 0); /* not jemalloc's arena 0 */
        assert_true(first > 0);
        assert_true(first != main_arena);
        assert_int_equal(second, first);
        th_rmtree(dir);
    }
}

static void test_invalid_options_warn_once(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "small", NULL },
                 (char *[]){ "MEMSCOPE_BUFFER_SIZE=lots", "MEMSCOPE_MODE=loud",
                             "MEMSCOPE_MAX_EVENTS=-3", NULL },
                 dir, &r, &t);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "MEMSCOPE_BUFFER_SIZE='lots'"));
    assert_non_null(strstr(r.err, "MEMSCOPE_MODE='loud'"));
    assert_non_null(strstr(r.err, "MEMSCOPE_MAX_EVENTS='-3'"));
    int lines = 0;
    for (const char *p = r.err; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_int_equal(t.chunk_size, 256u << 10); /* the default */
    assert_int_equal(t.header_dropped, 0);
    tr_free(&t);
    th_rmtree(dir);
}

static void test_buffer_size_accepts_units(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "small", NULL }, (char *[]){ "MEMSCOPE_BUFFER_SIZE=128K", NULL }, dir,
                 &r, &t);
    assert_int_equal(r.status, 0);
    assert_int_equal(t.chunk_size, 128u << 10);
    assert_string_equal(r.err, "");
    tr_free(&t);
    th_rmtree(dir);
}

/* Before main (a constructor), in main, in an atexit handler, and in a
 * destructor: 4 x 50 allocations and frees, all recorded. */
static void test_before_main_and_after_exit(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "lifecycle", NULL }, NULL, dir, &r, &t);
    assert_int_equal(r.status, 0);
    assert_int_equal(t.bad, 0);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    assert_int_equal(n.allocs, 200);
    assert_int_equal(n.frees, 200);
    tr_free(&t);
    th_rmtree(dir);
}

/* MEMSCOPE_TRACK labels reach the report through the real writer: the
 * variable's type, file and line, its realloc and free; refusals record
 * nothing. */
static void test_tracked_variables(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "vars", NULL }, NULL, dir, &r, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "track"), 0);
    assert_int_equal(th_field(r.out, "null_einval"), 1);
    assert_int_equal(th_field(r.out, "long_refused"), 1);
    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    msx_report *rep = NULL;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
    assert_int_equal(rep->nvars, 2);
    const msx_var_report *buf = NULL, *keep = NULL;
    for (uint32_t i = 0; i < rep->nvars; i++) {
        if (!strcmp(rep->vars[i].name.p, "buf"))
            buf = &rep->vars[i];
        if (!strcmp(rep->vars[i].name.p, "keep"))
            keep = &rep->vars[i];
    }
    assert_non_null(buf);
    assert_non_null(keep);
    assert_string_equal(buf->type.p, "char *");
    assert_non_null(strstr(buf->file.p, "workload.c"));
    assert_true(buf->line > 0);
    assert_int_equal(buf->blocks, 1);
    assert_int_equal(buf->bytes_labelled, 100);
    assert_int_equal(buf->reallocs, 1);
    assert_int_equal(buf->frees, 1);
    assert_int_equal(buf->peak_live_bytes, 50000);
    assert_int_equal(buf->live_bytes, 0);
    assert_string_equal(keep->type.p, "");
    assert_int_equal(keep->live_blocks, 1);
    assert_int_equal(keep->live_bytes, 64);
    msx_report_free(rep);
    /* memscope summary lists them, highest peak first */
    run_result_t s;
    assert_int_equal(th_run((char *[]){ MS_TOOL, "summary", path, NULL }, NULL, NULL, 60000, &s), 0);
    assert_int_equal(s.status, 0);
    const char *v = strstr(s.out, "\n  variable ");
    assert_non_null(v);
    const char *b = strstr(v, "\n  buf "), *k = strstr(v, "\n  keep ");
    assert_true(b && k && b < k);
    assert_non_null(strstr(b, "48.8 KiB"));  /* its peak: 50,000 bytes */
    assert_non_null(strstr(b, "char *, "));
    assert_non_null(strstr(b, "workload.c:"));
    th_rmtree(dir);
}

static void test_dlopen_rewrites_module_map(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "dlopen", NULL }, (char *[]){ "MEMSCOPE_BUFFER_SIZE=64K", NULL }, dir,
                 &r, &t);
    assert_int_equal(r.status, 0);
    assert_int_equal(t.bad, 0);
    assert_true(t.n_modules >= 2); /* at start, and after libz came */
    /* libz was loaded after the first map and unloaded before the exit flush:
     * only a chunk switch's map in between can name it. */
    bool libz = false;
    for (int i = 0; i < t.nmodule_paths; i++)
        libz |= strstr(t.module_paths[i], "libz.so") != NULL;
    assert_true(libz);
    tr_free(&t);
    th_rmtree(dir);
}

static void test_name_option(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "small", NULL }, (char *[]){ "MEMSCOPE_NAME=custom", NULL }, dir, &r,
                 NULL);
    char path[4096];
    assert_int_equal(tr_find(dir, "custom.", path, sizeof path), 0);
    th_rmtree(dir);
}

/* A name that would leave the output directory (or hide the file) is refused
 * with one line on stderr, and the default name is used, inside the directory. */
static void test_name_option_refuses_paths(void **state)
{
    (void)state;
    static const char *const bad[] = { "MEMSCOPE_NAME=../escaped", "MEMSCOPE_NAME=a/b",
                                       "MEMSCOPE_NAME=.hidden" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *dir = th_tmpdir();
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/out", dir);
        run_result_t r;
        run_workload((char *[]){ "small", NULL }, (char *[]){ (char *)bad[i], NULL }, sub, &r,
                     NULL);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.err, "memscope: ignoring invalid MEMSCOPE_NAME="));
        assert_null(strchr(strchr(r.err, '\n') + 1, '\n')); /* one line */
        char path[4096];
        assert_int_equal(tr_find(sub, "workload.", path, sizeof path), 0);
        assert_int_not_equal(tr_find(dir, "escaped.", path, sizeof path), 0);
        th_rmtree(dir);
    }
}

/* MEMSCOPE_OUTPUT set but empty is as if unset: the default directory,
 * MemoryAnalysis in the working directory, not the root. */
static void test_empty_output_is_default(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && MEMSCOPE_OUTPUT= exec '%s' small", dir,
             th_build_path("workload"));
    run_result_t r;
    assert_int_equal(th_run((char *[]){ "sh", "-c", cmd, NULL }, NULL, NULL, 60000, &r), 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    char sub[4096], path[4096];
    snprintf(sub, sizeof sub, "%s/MemoryAnalysis", dir);
    assert_int_equal(tr_find(sub, "workload.", path, sizeof path), 0);
    th_rmtree(dir);
}

/* The main thread ends with pthread_exit and the worker returns later: the
 * process ends with status 0, as without memscope (the chunk helper must not
 * keep it alive). */
static void test_main_pthread_exit_ends_process(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    /* Under TSan no such process ends, with memscope or without: TSan's
     * background thread is one more thread, so neither glibc's last thread
     * nor memscope's helper (which waits to be the only thread left) runs
     * exit, and the process lives on (seen with a five-line program built
     * with -fsanitize=thread alone). Counted as skipped here. */
    skip();
#endif
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *argv[] = { (char *)th_build_path("workload"), "mainexit", NULL };
    run_result_t r;
    assert_int_equal(th_run(argv, (char *[]){ out_env, NULL }, NULL, 10000, &r), 0);
    assert_int_equal(r.status, 0);
    th_rmtree(dir);
}

/* The same program's trace reaches the exit flush, although the thread that
 * runs exit() had already passed its own thread exit. */
static void test_main_pthread_exit_writes_end(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip(); /* as test_main_pthread_exit_ends_process */
#endif
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *argv[] = { (char *)th_build_path("workload"), "mainexit", NULL };
    run_result_t r;
    assert_int_equal(th_run(argv, (char *[]){ out_env, NULL }, NULL, 10000, &r), 0);
    char path[4096];
    tr_trace_t t;
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);
    assert_int_equal(t.n_end, 1);
    assert_true(t.end_time > 0);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    assert_int_equal(n.allocs, 50 + 100 + 50); /* constructor, worker, destructor */
    tr_free(&t);
    th_rmtree(dir);
}

/* A fork child of a program that put a file of its own where memscope's
 * descriptor was: the child keeps the program's file, and its trace goes
 * elsewhere. */
static void test_fork_child_keeps_program_descriptor(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char file[512];
    snprintf(file, sizeof file, "%s/users-file", dir);
    run_result_t r;
    run_workload((char *[]){ "forkfds", file, NULL }, NULL, dir, &r, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "child_status"), 0);
    assert_int_equal(th_field(r.out, "size"), 11);
    th_rmtree(dir);
}

/* fork() leaves errno alone in the child, as glibc's does. */
static void test_fork_child_keeps_errno(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "forkerrno", NULL }, NULL, dir, &r, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "child_errno"), 0);
    th_rmtree(dir);
}

/* A fork child's trace describes its modules too (a MODULES record), even
 * though no module was loaded in the child. */
static void test_fork_child_has_module_map(void **state)
{
    (void)state;
#if defined(MS_SANITIZER_HEAP) && !defined(__SANITIZE_THREAD__)
    /* as test_fork_child_writes_own_trace */
    skip();
#endif
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "fork", NULL }, NULL, dir, &r, NULL);
    assert_int_equal(r.status, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/workload.%lld.msgpack", dir, th_field(r.out, "child"));
    tr_trace_t c;
    assert_int_equal(tr_load(path, &c), 0);
    assert_int_equal(c.bad, 0);
    assert_true(c.n_modules >= 1);
    assert_true(c.modules_last >= 2); /* the program and libc at least */
    tr_free(&c);
    th_rmtree(dir);
}

/* A command line longer than the recorder's buffer for it: the PROCESS record
 * stays well-formed and nothing after it is lost. */
static void test_long_command_line(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char *arg = malloc(40001);
    memset(arg, 'x', 40000);
    arg[40000] = '\0';
    run_result_t r;
    tr_trace_t t;
    run_workload((char *[]){ "small", arg, NULL }, NULL, dir, &r, &t);
    assert_int_equal(r.status, 0);
    assert_int_equal(t.bad, 0);
    assert_int_equal(t.n_process, 1);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    assert_int_equal(n.allocs, 1001 + 100);
    free(arg);
    tr_free(&t);
    th_rmtree(dir);
}

/* MEMSCOPE_AUTO_EXPORT: at exit the program has the memscope tool write the
 * reports it asked for, next to the trace. */
static void test_auto_export_runs_tool(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "small", NULL },
                 (char *[]){ "MEMSCOPE_AUTO_EXPORT=json,html", "MEMSCOPE_TOOL=" MS_TOOL, NULL }, dir,
                 &r, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    char path[4096];
    snprintf(path, sizeof path, "%s/workload.json", dir);
    static char json[1 << 16];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(json, 1, sizeof json - 1, f);
    fclose(f);
    json[n] = '\0';
    /* the tool analysed a finished trace: complete, with the one tagged leak */
    assert_non_null(strstr(json, "\"complete\": true"));
    assert_non_null(strstr(json, "777, \"thread\": 1"));
    snprintf(path, sizeof path, "%s/workload.html", dir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/workload.msbin", dir);
    assert_int_not_equal(access(path, F_OK), 0); /* not asked for */
    th_rmtree(dir);
}

/* Without the tool, one line says so; the program's status is unchanged. */
static void test_auto_export_without_tool(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_workload((char *[]){ "small", NULL },
                 (char *[]){ "MEMSCOPE_AUTO_EXPORT=json", "MEMSCOPE_TOOL=/nonexistent/memscope", NULL },
                 dir, &r, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "auto-export: the memscope tool was not found"));
    char path[4096];
    snprintf(path, sizeof path, "%s/workload.json", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    th_rmtree(dir);
}

/* A program linked with the library carries no analysis nor renderer. */
static void test_traced_program_links_no_renderer(void **state)
{
    (void)state;
    run_result_t r;
    char *argv[] = { "nm", (char *)th_build_path("workload"), NULL };
    assert_int_equal(th_run(argv, NULL, NULL, 30000, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "ms_ev_slow")); /* nm read the symbols */
    assert_null(strstr(r.out, "msx_"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_counts_exact),
        cmocka_unit_test(test_long_run_many_chunks),
        cmocka_unit_test(test_thread_exit_and_names),
        cmocka_unit_test(test_fork_child_writes_own_trace),
        cmocka_unit_test(test_sigkill_leaves_whole_events),
        cmocka_unit_test(test_mode_off_writes_nothing),
        cmocka_unit_test(test_max_events_counts_drops),
        cmocka_unit_test(test_bad_directory_runs_on),
        cmocka_unit_test(test_full_disk_runs_on),
        cmocka_unit_test(test_closed_descriptor_is_not_reused),
        cmocka_unit_test(test_arena_per_thread_reused),
        cmocka_unit_test(test_invalid_options_warn_once),
        cmocka_unit_test(test_buffer_size_accepts_units),
        cmocka_unit_test(test_before_main_and_after_exit),
        cmocka_unit_test(test_tracked_variables),
        cmocka_unit_test(test_dlopen_rewrites_module_map),
        cmocka_unit_test(test_name_option),
        cmocka_unit_test(test_name_option_refuses_paths),
        cmocka_unit_test(test_empty_output_is_default),
        cmocka_unit_test(test_main_pthread_exit_ends_process),
        cmocka_unit_test(test_main_pthread_exit_writes_end),
        cmocka_unit_test(test_fork_child_keeps_program_descriptor),
        cmocka_unit_test(test_fork_child_keeps_errno),
        cmocka_unit_test(test_fork_child_has_module_map),
        cmocka_unit_test(test_long_command_line),
        cmocka_unit_test(test_auto_export_runs_tool),
        cmocka_unit_test(test_auto_export_without_tool),
        cmocka_unit_test(test_traced_program_links_no_renderer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
