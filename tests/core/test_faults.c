/* Faults around the traced program: it goes on unharmed, and its trace keeps
 * what was recorded and says what was not. Runs the `workload` program. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "helpers.h"
#include "trace_reader.h"

static bool tagged(uint64_t size) { return size % 1000 == 777 && size < 10000; }

/* Runs `workload ARGS` under `prlimit LIMIT` (NULL: no limit) with the trace
 * in dir. */
static void run_limited(const char *limit, char *const args[], const char *dir, run_result_t *r)
{
    char *argv[16];
    int n = 0;
    if (limit) {
        argv[n++] = "prlimit";
        argv[n++] = (char *)limit;
        argv[n++] = "--";
    }
    argv[n++] = (char *)th_build_path("workload");
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    assert_int_equal(th_run(argv, (char *[]){ out_env, NULL }, NULL, 120000, r), 0);
}

/* Loads the workload's trace in dir into t: whole, nothing dropped. */
static void load_whole(const char *dir, tr_trace_t *t)
{
    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    assert_int_equal(tr_load(path, t), 0);
    assert_int_equal(t->bad, 0);
    assert_int_equal(t->header_dropped, 0);
}

/* SIGKILL at 50 moments of a two-thread run, from its start to past its end:
 * every trace decodes whole (a committed event is never half written), the
 * analysis marks a killed one incomplete, and reads every event it holds. */
static void test_sigkill_at_random_moments(void **state)
{
    (void)state;
    unsigned seed = 12345;
    int killed = 0;
    for (int round = 0; round < 50; round++) {
        char *dir = th_tmpdir();
        char out_env[512];
        snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
        char *argv[] = { (char *)th_build_path("workload"), "stress", "2", "400000", NULL };
        pid_t pid = th_spawn(argv, (char *[]){ out_env, NULL });
        assert_true(pid > 0);
        char path[4096];
        long range = 5000000; /* one round in five: its first 5 ms, start-up included */
        if (round % 5) {
            /* the others from the trace's creation to past the run's end
             * (about 0.1 s here): a loaded machine may take longer than
             * that to start the program at all */
            for (int w = 0; w < 2000 && tr_find(dir, "workload.", path, sizeof path) != 0; w++)
                usleep(1000);
            range = 150000000;
        }
        struct timespec d = { 0, (long)(rand_r(&seed) % (unsigned long)range) };
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (tr_find(dir, "workload.", path, sizeof path) != 0) { /* killed before its first malloc */
            th_rmtree(dir);
            continue;
        }
        tr_trace_t t;
        msx_report *rep = NULL;
        char err[512];
        if (tr_load(path, &t) != 0) {
            /* killed between creating the file and writing its header: the
             * reader says what the file is, and nothing crashes */
            assert_true(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err) < 0);
            assert_non_null(strstr(err, path));
            th_rmtree(dir);
            killed++;
            continue;
        }
        assert_int_equal(t.bad, 0);
        assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
        if (WIFSIGNALED(st)) {
            killed++;
            /* killed before its exit flush: no END, and the report says so;
             * a kill that lands after the END was written (the process was
             * exiting) leaves a complete trace, and the report says that */
            assert_true(t.n_end <= 1);
            assert_int_equal(rep->complete, t.n_end == 1);
        }
        assert_int_equal(rep->events, t.nev);
        msx_report_free(rep);
        tr_free(&t);
        th_rmtree(dir);
    }
    assert_true(killed >= 25); /* most moments fall inside the run */
}

/* RLIMIT_FSIZE of 1 MiB: a write past it would raise SIGXFSZ and kill the
 * program; the recorder stops short of it and counts the rest as dropped. */
static void test_file_size_limit(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_limited("--fsize=1048576", (char *[]){ "stress", "2", "200000", NULL }, dir, &r);
    assert_int_equal(r.status, 0);
    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size <= 1048576);
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);
    assert_true(t.header_dropped > 0);
    tr_free(&t);
    th_rmtree(dir);
}

/* The program uses up every file descriptor, then allocates enough to switch
 * chunks many times: the recorder needs no new descriptor, and the trace is
 * whole. */
static void test_out_of_descriptors(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_limited("--nofile=64", (char *[]){ "fdexhaust", NULL }, dir, &r);
    assert_int_equal(r.status, 0);
    assert_true(th_field(r.out, "exhausted") > 0);
    tr_trace_t t;
    load_whole(dir, &t);
    assert_int_equal(t.n_end, 1);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    assert_int_equal(n.allocs, (uint64_t)th_field(r.out, "allocs") + 50);
    tr_free(&t);
    th_rmtree(dir);
}

/* Runs `workload threads TOTAL ALIVE` and checks exact counts. */
static void check_threads(const char *total, const char *alive)
{
    char *dir = th_tmpdir();
    run_result_t r;
    run_limited(NULL, (char *[]){ "threads", (char *)total, (char *)alive, NULL }, dir, &r);
    assert_int_equal(r.status, 0);
    tr_trace_t t;
    load_whole(dir, &t);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tagged, &n), 0);
    uint64_t want = (uint64_t)atoi(total) * 20 + 100; /* + constructor, destructor */
    assert_int_equal(n.allocs, want);
    /* Which block a free ends is the merge's pairing, exact up to the overlap
     * of threads' TIME windows (as in test_process's stress test): within
     * 0.1%, and at most 4 of these. */
    uint64_t slack = want / 1000 + 1;
    if (n.frees + slack < want || n.frees > want + slack)
        fail_msg("%llu frees of tagged blocks, %llu made", (unsigned long long)n.frees,
                 (unsigned long long)want);
    assert_true(tr_count(&t, 1) >= want); /* every free is in the trace */
    int exited = 0;
    for (int i = 0; i < t.nthreads; i++)
        exited += t.threads[i].exited;
    assert_true(exited >= (atoi(total) < TR_MAX_THREADS ? atoi(total) : TR_MAX_THREADS - 1));
    tr_free(&t);
    th_rmtree(dir);
}

/* 3,000 threads created and destroyed, 50 at a time. */
static void test_thousands_of_threads(void **state)
{
    (void)state;
    check_threads("3000", "50");
}

/* 200 threads alive at once. */
static void test_200_threads_alive(void **state)
{
    (void)state;
    check_threads("200", "200");
}

/* A signal handler that allocates (between the program's own heap calls,
 * and inside the task calls around them): its blocks are recorded like any
 * other, or counted as dropped while it interrupted a record; the task
 * records stay whole. */
static void test_signal_handlers_allocate(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_limited(NULL, (char *[]){ "signals", "100000", NULL }, dir, &r);
    assert_int_equal(r.status, 0);
    long long handled = th_field(r.out, "handled");
    assert_true(handled > 0);
    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);
    uint64_t in_handler = 0;
    for (size_t i = 0; i < t.nev; i++)
        in_handler += t.ev[i].kind == 0 && t.ev[i].size == 555;
    assert_int_equal(in_handler + t.header_dropped / 2, (uint64_t)handled);
    assert_int_equal(t.n_task_end, 100000);
    /* the loop's blocks, each in a task of its own (the workload's 100 in its
     * constructor and destructor are in none) */
    uint64_t jobs = 0, untasked = 0, last = 0;
    bool rising = true;
    for (size_t i = 0; i < t.nev; i++) {
        if (t.ev[i].kind != 0 || !tagged(t.ev[i].size))
            continue;
        if (t.ev[i].task == 0) {
            untasked++;
            continue;
        }
        jobs++;
        rising &= t.ev[i].task > last;
        last = t.ev[i].task;
    }
    assert_int_equal(jobs, 100000);
    assert_int_equal(untasked, 100);
    assert_true(rising);
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, NULL, NULL), 0);
    tr_free(&t);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_at_random_moments),
        cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_out_of_descriptors),
        cmocka_unit_test(test_thousands_of_threads),
        cmocka_unit_test(test_200_threads_alive),
        cmocka_unit_test(test_signal_handlers_allocate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
