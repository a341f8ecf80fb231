/* MEMSCOPE_MODE=sampled (tracking/sampler.c, allocator/sampled.c): the trace
 * of sample_prog against what it really allocated. Byte sampling: the sum of
 * the weights of a known set of allocations estimates its bytes within the
 * interval its variance gives; sampled frees are recorded and nothing else;
 * a seed repeats a run; rate sampling weighs each sample 1/r allocations. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"
#include "helpers.h"
#include "trace_reader.h"

static run_result_t run;

static void run_prog(const char *arg, char *const extra[], tr_trace_t *t)
{
    char *dir = th_tmpdir();
    char *argv[] = { (char *)th_build_path("sample_prog"), (char *)arg, NULL };
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *envv[8] = { out_env };
    int k = 1;
    bool mode = false; /* MEMSCOPE_MODE among extra: instead of sampled */
    for (int i = 0; extra[i] && k < 6; i++) {
        envv[k++] = extra[i];
        mode |= strncmp(extra[i], "MEMSCOPE_MODE=", 14) == 0;
    }
    if (!mode)
        envv[k++] = "MEMSCOPE_MODE=sampled";
    envv[k] = NULL;
    assert_int_equal(th_run(argv, envv, NULL, 120000, &run), 0);
    if (run.status != 0)
        fail_msg("sample_prog %s: status %d\n%s", arg, run.status, run.err);
    char path[4096];
    assert_int_equal(tr_find(dir, "sample_prog.", path, sizeof path), 0);
    memset(t, 0, sizeof *t);
    assert_int_equal(tr_load(path, t), 0);
    assert_int_equal(t->bad, 0);
    assert_int_equal(t->header_dropped, 0);
    th_rmtree(dir);
}

/* The samples of allocations of `size` bytes: count, sum of weights, and the
 * variance of that sum (byte sampling: w (w - n) each). */
static void samples_of(const tr_trace_t *t, uint64_t size, uint64_t *count, double *sum, double *var)
{
    *count = 0;
    *sum = *var = 0;
    for (size_t i = 0; i < t->nev; i++) {
        const tr_event_t *e = &t->ev[i];
        if (e->kind == MSF_K_ALLOC_EX && e->size == size) {
            assert_true(e->weight >= size); /* a sample stands for at least itself */
            (*count)++;
            *sum += (double)e->weight;
            *var += (double)e->weight * (double)(e->weight - size);
        }
    }
}

static void test_bytes_estimate(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_BYTES=16384", "MEMSCOPE_SAMPLE_SEED=12345", NULL };
    tr_trace_t t;
    run_prog("known", extra, &t);
    assert_true(t.sampled);
    assert_int_equal(t.sample_bytes, 16384);
    assert_int_equal(t.sample_seed, 12345);
    uint64_t n;
    double sum, var;
    samples_of(&t, 1000, &n, &sum, &var);
    /* 20 MB in 1000-byte blocks, one sample per 16 KiB: about 1200 samples */
    assert_true(n > 900 && n < 1500);
    double truth = 20000.0 * 1000, sd = sqrt(var);
    if (fabs(sum - truth) > 3 * sd)
        fail_msg("estimate %.0f, truth %.0f, sd %.0f", sum, truth, sd);
    /* within 15%, as the issue asks of a function of this size */
    assert_true(fabs(sum - truth) < 0.15 * truth);
    /* plain events are never written in sampled mode: every allocation is a
     * sample, every free a sampled block's */
    assert_int_equal(tr_count(&t, MSF_K_ALLOC), 0);
    assert_int_equal(tr_count(&t, MSF_K_REALLOC), 0);
    uint64_t frees = tr_count(&t, MSF_K_FREE);
    assert_true(frees <= tr_count(&t, MSF_K_ALLOC_EX));
    tr_free(&t);
}

/* Every sampled block is freed, by a recorded FREE of its address (and no
 * FREE names an address that no sample holds). */
static void test_frees_recorded(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_BYTES=16384", "MEMSCOPE_SAMPLE_SEED=7", NULL };
    tr_trace_t t;
    run_prog("known", extra, &t);
    uint64_t lo = UINT64_MAX, hi = 0, live_1000 = 0;
    for (size_t i = 0; i < t.nev; i++) {
        const tr_event_t *e = &t.ev[i];
        if (e->kind == MSF_K_ALLOC_EX) {
            lo = e->addr < lo ? e->addr : lo;
            hi = e->addr > hi ? e->addr : hi;
        }
    }
    /* one reserved range of at most 64 GiB */
    assert_true(hi - lo < (64ull << 30));
    assert_int_equal(tr_live_check(&t, &live_1000, 1000), 0);
    /* at the end, no sampled 1000-byte block is live */
    assert_int_equal(live_1000, 0);
    tr_free(&t);
}

static bool tagged_100000(uint64_t size)
{
    return size == 100000;
}

/* A block sampled on one thread and freed by a thread whose first event
 * that free is: the free is recorded, so no sample stays live. */
static void test_free_on_new_thread(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_BYTES=4096", "MEMSCOPE_SAMPLE_SEED=3", NULL };
    tr_trace_t t;
    run_prog("handoff", extra, &t);
    uint64_t samples = 0, live = 0;
    for (size_t i = 0; i < t.nev; i++)
        if (t.ev[i].kind == MSF_K_ALLOC_EX && t.ev[i].size == 100000)
            samples++;
    /* p = 1 - exp(-100000 / 4096): every one of the 200, but for about 1e-8 */
    assert_true(samples >= 199);
    /* the threads merged in causal order: each sample's free is found */
    tr_counts_t c;
    assert_int_equal(tr_check_causal(&t, &live, tagged_100000, &c), 0);
    assert_int_equal(c.allocs, samples);
    assert_int_equal(c.frees, samples);
    tr_free(&t);
}

/* Mallocs that fail (2^62 bytes) lose no sample: none is counted as dropped
 * (run_prog checks the header), and the thread samples on afterwards. */
static void test_failed_mallocs_drop_nothing(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_BYTES=16384", "MEMSCOPE_SAMPLE_SEED=5", NULL };
    tr_trace_t t;
    run_prog("huge", extra, &t);
    uint64_t n;
    double sum, var;
    samples_of(&t, 1000, &n, &sum, &var);
    assert_true(n > 900 && n < 1500);
    tr_free(&t);
}

/* A thread's key destructor that allocates after memscope's own destructor
 * ran (the thread has ended for memscope), first a malloc of nearly 2^63
 * bytes that fails. Sampled: nothing of it is recorded, as the thread
 * samples no more (the failed malloc had run its count out, and the next
 * one was recorded whole, its free not: a leak that was not there). Full,
 * without the failing malloc (whose run-out count would hide it): its
 * mallocs are recorded late as its frees are (they went unrecorded, and the
 * frees were unknown). */
static void test_allocations_after_thread_end(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip(); /* TSan crashes on a malloc in such a late destructor, without memscope too (SEGV in its runtime) */
#endif
    tr_trace_t t;
    uint64_t live;
    tr_counts_t c;
    run_prog("latedtor", (char *[]){ "MEMSCOPE_SAMPLE_SEED=3", NULL }, &t);
    for (size_t i = 0; i < t.nev; i++)
        if (t.ev[i].size == 2000)
            fail_msg("sampled: an allocation after the thread's end was recorded");
    assert_int_equal(tr_check_causal(&t, &live, NULL, &c), 0);
    tr_free(&t);
    run_prog("latedtor-plain", (char *[]){ "MEMSCOPE_MODE=full", NULL }, &t);
    assert_int_equal(tr_check_causal(&t, &live, NULL, &c), 0);
    uint64_t late = 0;
    for (size_t i = 0; i < t.nev; i++)
        late += t.ev[i].size == 2000;
    assert_int_equal(late, 2); /* rounds 3 and 4 */
    tr_free(&t);
}

/* A fork child that traces every event, of a parent that samples: its own
 * frees are recorded, and so are those of its parent's sampled blocks, and
 * its reallocs of them. */
static void test_full_child_of_sampled_parent(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char *argv[] = { (char *)th_build_path("sample_prog"), "forkfull", NULL };
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *envv[] = { out_env, "MEMSCOPE_MODE=sampled", "MEMSCOPE_SAMPLE_BYTES=4096", NULL };
    assert_int_equal(th_run(argv, envv, NULL, 120000, &run), 0);
    if (run.status != 0)
        fail_msg("sample_prog forkfull: status %d\n%s", run.status, run.err);
    /* the child's trace: the one that is not sampled */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "sample_prog.", 12) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        tr_trace_t t;
        memset(&t, 0, sizeof t);
        assert_int_equal(tr_load(path, &t), 0);
        if (!t.sampled) {
            found++;
            uint64_t allocs = 0, frees = 0, moves = 0;
            for (size_t i = 0; i < t.nev; i++) {
                if (t.ev[i].kind == MSF_K_ALLOC && t.ev[i].size == 777)
                    allocs++;
                if (t.ev[i].kind == MSF_K_FREE)
                    frees++;
                if (t.ev[i].kind == MSF_K_REALLOC && t.ev[i].size == 50000)
                    moves++;
            }
            assert_int_equal(allocs, 1000);
            /* the parent's blocks it moved: recorded as any realloc (they
             * were a free alone, the new block unrecorded) */
            assert_int_equal(moves, 10);
            /* its own 1000, and the parent's sampled blocks it freed */
            assert_true(frees >= 1000 + 99);
        }
        tr_free(&t);
    }
    closedir(d);
    assert_int_equal(found, 1);
    th_rmtree(dir);
}

/* A leak of 1000 blocks of 1000 bytes is estimated from the live samples. */
static void test_leak_estimate(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_BYTES=4096", "MEMSCOPE_SAMPLE_SEED=99", NULL };
    tr_trace_t t;
    run_prog("leak", extra, &t);
    uint64_t live = 0;
    double sum = 0, var = 0;
    assert_int_equal(tr_live_check(&t, &live, 1000), 0);
    for (size_t i = 0; i < t.nev; i++) {
        const tr_event_t *e = &t.ev[i];
        if (e->kind == MSF_K_ALLOC_EX && e->size == 1000 && tr_is_live(&t, i)) {
            sum += (double)e->weight;
            var += (double)e->weight * (double)(e->weight - 1000);
        }
    }
    double truth = 1000.0 * 1000;
    if (fabs(sum - truth) > 3 * sqrt(var) + 1)
        fail_msg("leak estimate %.0f, truth %.0f, sd %.0f", sum, truth, sqrt(var));
    tr_free(&t);
}

/* The same seed, the same samples. */
static void test_seed_repeats(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_BYTES=8192", "MEMSCOPE_SAMPLE_SEED=4242", NULL };
    tr_trace_t a, b;
    run_prog("known", extra, &a);
    run_prog("known", extra, &b);
    uint64_t na, nb;
    double sa, sb, v;
    samples_of(&a, 1000, &na, &sa, &v);
    samples_of(&b, 1000, &nb, &sb, &v);
    assert_int_equal(na, nb);
    assert_true(sa == sb);
    char *other[] = { "MEMSCOPE_SAMPLE_BYTES=8192", "MEMSCOPE_SAMPLE_SEED=4243", NULL };
    tr_free(&b);
    run_prog("known", other, &b);
    samples_of(&b, 1000, &nb, &sb, &v);
    assert_true(sa != sb);
    tr_free(&a);
    tr_free(&b);
}

/* MEMSCOPE_SAMPLE_RATE=0.01: one allocation in 100, each weighing 100. */
static void test_rate(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_RATE=0.01", "MEMSCOPE_SAMPLE_SEED=5", NULL };
    tr_trace_t t;
    run_prog("known", extra, &t);
    assert_true(t.sampled);
    assert_int_equal(t.sample_bytes, 0);
    assert_int_equal(t.sample_rate, ((1ull << 32) + 50) / 100);
    uint64_t n = 0;
    for (size_t i = 0; i < t.nev; i++)
        if (t.ev[i].kind == MSF_K_ALLOC_EX && t.ev[i].size == 1000) {
            assert_int_equal(t.ev[i].weight, 100);
            n++;
        }
    /* 20000 allocations: 200 expected, binomial sd 14 */
    if (n < 200 - 4 * 14 || n > 200 + 4 * 14)
        fail_msg("%llu samples of 20000 at 1%%", (unsigned long long)n);
    tr_free(&t);
}

/* Sampled mode with stacks: every sample carries a stack. */
static void test_with_stacks(void **state)
{
    (void)state;
    char *extra[] = { "MEMSCOPE_SAMPLE_BYTES=65536", "MEMSCOPE_SAMPLE_SEED=1", "MEMSCOPE_STACK_DEPTH=8", NULL };
    tr_trace_t t;
    run_prog("known", extra, &t);
    uint64_t n = 0;
    for (size_t i = 0; i < t.nev; i++)
        if (t.ev[i].kind == MSF_K_ALLOC_EX) {
            assert_int_not_equal(t.ev[i].stack, 0);
            assert_non_null(tr_stack(&t, t.ev[i].thread, t.ev[i].stack));
            n++;
        }
    assert_true(n > 100);
    assert_int_equal(t.bad_stacks, 0);
    tr_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_estimate),
        cmocka_unit_test(test_frees_recorded),
        cmocka_unit_test(test_free_on_new_thread),
        cmocka_unit_test(test_failed_mallocs_drop_nothing),
        cmocka_unit_test(test_full_child_of_sampled_parent),
        cmocka_unit_test(test_allocations_after_thread_end),
        cmocka_unit_test(test_leak_estimate),
        cmocka_unit_test(test_seed_repeats),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_with_stacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
