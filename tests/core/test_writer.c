/* The stream writer on its own, without the malloc family: threads record
 * events through tracking/tracker.h on blocks of their own, and the trace is
 * decoded. This suite runs in the sanitizer builds too (ASan+UBSan, TSan),
 * where the malloc family cannot be replaced, so it checks the writer's memory
 * safety and its lock-free paths (chunk helper, epoch, late stream) there. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "helpers.h"
#include "stream.h"
#include "trace_reader.h"
#include "tracker.h"

#define THREADS 4
#define ROUNDS 50000

/* Blocks the writer is told about. They are real memory of this test (the
 * writer stores reuse stamps in freed blocks), never handed to free(). */
#define POOL 4096
static uint64_t pool[THREADS][POOL][2];

typedef struct handoff {
    pthread_mutex_t lock;
    void *slot[256];
    int n;
} handoff_t;

static handoff_t box[THREADS];
static _Atomic uint8_t back[THREADS][POOL]; /* handed-over block freed: owner may reuse */

/* Marks a handed-over block as freed, for its owner to reuse. */
static void give_back(void *p)
{
    size_t off = (size_t)((uint8_t *)p - (uint8_t *)pool) / sizeof pool[0][0];
    atomic_store(&back[off / POOL][off % POOL], 1);
}
static _Atomic uint64_t made, freed;

/* Thread i "allocates" blocks of its pool, hands some to thread i+1, and
 * "frees" what thread i-1 handed it: the same pattern as a real program's,
 * with reuse of addresses across threads. */
static void *writer_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint8_t live[POOL] = { 0 };
    uint64_t x = (uint64_t)id * 7919 + 1;
    for (int r = 0; r < ROUNDS; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % POOL);
        void *p = pool[id][i];
        if (live[i] == 2) {
            if (atomic_exchange(&back[id][i], 0))
                live[i] = 0; /* the other thread freed it: ours again */
            continue;
        }
        if (live[i]) {
            ms_ev_free(p);
            atomic_fetch_add(&freed, 1);
            live[i] = 0;
        } else {
            ms_ev_alloc(p, 16 + (size_t)(x >> 40) % 1000);
            atomic_fetch_add(&made, 1);
            live[i] = 1;
            if ((x >> 20) % 3 == 0) {
                handoff_t *b = &box[(id + 1) % THREADS];
                pthread_mutex_lock(&b->lock);
                if (b->n < 256) {
                    b->slot[b->n++] = p;
                    live[i] = 2; /* handed over: comes back when freed there */
                }
                pthread_mutex_unlock(&b->lock);
            }
        }
        handoff_t *mine = &box[id];
        pthread_mutex_lock(&mine->lock);
        while (mine->n > 0) {
            void *q = mine->slot[--mine->n];
            ms_ev_free(q);
            atomic_fetch_add(&freed, 1);
            give_back(q);
        }
        pthread_mutex_unlock(&mine->lock);
    }
    for (int i = 0; i < POOL; i++)
        if (live[i] == 1) {
            ms_ev_free(pool[id][i]);
            atomic_fetch_add(&freed, 1);
        }
    return NULL;
}

static void test_threads_write_whole_consistent_trace(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    setenv("MEMSCOPE_OUTPUT", dir, 1);
    setenv("MEMSCOPE_BUFFER_SIZE", "64K", 1); /* many chunk switches */
    ms_process_init();
    ms_helper_start();
    for (int i = 0; i < THREADS; i++)
        pthread_mutex_init(&box[i].lock, NULL);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer_thread, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        while (box[i].n > 0) {
            ms_ev_free(box[i].slot[--box[i].n]);
            atomic_fetch_add(&freed, 1);
        }
    ms_process_end(MSF_END_EXIT);

    char path[4096];
    snprintf(path, sizeof path, "%s", ms_stream_path());
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);
    assert_true(t.first_event_ok);
    assert_int_equal(t.header_dropped, 0);
    assert_int_equal(tr_count(&t, 0), atomic_load(&made));
    assert_int_equal(tr_count(&t, 1), atomic_load(&freed));
    uint64_t live = 99;
    assert_int_equal(tr_check_causal(&t, &live, NULL, NULL), 0);
    assert_int_equal(live, 0);
    tr_free(&t);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_write_whole_consistent_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
