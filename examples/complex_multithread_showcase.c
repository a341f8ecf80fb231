/* complex_multithread_showcase: 30 named threads that allocate, churn small
 * blocks and hand some of them to each other to free.
 *
 * Each worker names itself (memscope_thread_name), allocates a 1 MiB working
 * buffer and fills it, then churns small blocks through a ring of 64 slots:
 * every new block takes the place of the oldest one, which is freed on the
 * spot, except every eighth, which is handed to the next worker's inbox. A
 * worker drains its inbox as it goes, checks each received block's contents
 * and frees it there: the report's cross-thread frees are those. Once every
 * worker has churned (a barrier), each drains what is left in its inbox and
 * frees its ring and its buffer: no block a worker allocated is left at exit.
 *
 * The program prints what it did per thread; the report must say the same
 * (tests/examples checks it). Run it from the build tree:
 *     MEMSCOPE_OUTPUT=MemoryAnalysis MEMSCOPE_AUTO_EXPORT=json,html \
 *         ./build/examples/complex_multithread_showcase
 * and open MemoryAnalysis/complex_multithread_showcase.html. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memscope.h"

#define WORKERS 30
#define BIG_BYTES (1u << 20) /* each worker's working buffer */
#define RING 64              /* small blocks a worker keeps live */
#define CHURN 4000           /* small blocks a worker allocates */
#define HAND_OFF_EVERY 8     /* one block in 8 is freed by the next worker */

/* A small block. The first bytes link it into an inbox; the payload is a
 * pattern of its sender and sequence number that the receiver checks. */
typedef struct block {
    struct block *next; /* inbox link */
    uint32_t sender;    /* worker index */
    uint32_t seq;       /* the sender's sequence number */
    uint32_t len;       /* payload bytes */
    unsigned char payload[];
} block_t;

/* One worker's inbox: blocks other workers handed to it. */
typedef struct inbox {
    pthread_mutex_t lock;
    block_t *head;
} inbox_t;

/* What one worker did, counted by the worker itself. */
typedef struct worker {
    pthread_t thread;
    unsigned index;
    char name[32];
    uint64_t allocations;  /* malloc calls */
    uint64_t bytes;        /* bytes requested */
    uint64_t handed_off;   /* blocks given to the next worker */
    uint64_t received;     /* blocks of other workers freed here */
    uint64_t bad_payloads; /* received blocks whose contents were wrong */
    uint64_t checksum;     /* of the big buffer, so the work is not optimised away */
} worker_t;

static worker_t workers[WORKERS];
static inbox_t inboxes[WORKERS];
static pthread_barrier_t churned;

static unsigned char pattern(uint32_t sender, uint32_t seq, uint32_t i)
{
    return (unsigned char)(sender * 31u + seq * 7u + i);
}

/* Allocates a block of `len` payload bytes and fills it. */
static block_t *block_new(worker_t *w, uint32_t seq, uint32_t len)
{
    block_t *b = malloc(sizeof *b + len);
    if (!b) {
        perror("malloc");
        exit(1);
    }
    w->allocations++;
    w->bytes += sizeof *b + len;
    b->next = NULL;
    b->sender = w->index;
    b->seq = seq;
    b->len = len;
    for (uint32_t i = 0; i < len; i++)
        b->payload[i] = pattern(w->index, seq, i);
    return b;
}

/* Gives a block to worker `to`. */
static void hand_off(worker_t *w, unsigned to, block_t *b)
{
    pthread_mutex_lock(&inboxes[to].lock);
    b->next = inboxes[to].head;
    inboxes[to].head = b;
    pthread_mutex_unlock(&inboxes[to].lock);
    w->handed_off++;
}

/* Checks and frees every block in the worker's inbox. */
static void drain(worker_t *w)
{
    pthread_mutex_lock(&inboxes[w->index].lock);
    block_t *b = inboxes[w->index].head;
    inboxes[w->index].head = NULL;
    pthread_mutex_unlock(&inboxes[w->index].lock);
    while (b) {
        block_t *next = b->next;
        for (uint32_t i = 0; i < b->len; i++) {
            if (b->payload[i] != pattern(b->sender, b->seq, i)) {
                w->bad_payloads++;
                break;
            }
        }
        free(b);
        w->received++;
        b = next;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    snprintf(w->name, sizeof w->name, "worker-%02u", w->index);
    memscope_thread_name(w->name);

    /* The working buffer: filled and summed, kept until the end. */
    unsigned char *big = malloc(BIG_BYTES);
    if (!big) {
        perror("malloc");
        exit(1);
    }
    w->allocations++;
    w->bytes += BIG_BYTES;
    for (uint32_t i = 0; i < BIG_BYTES; i++)
        big[i] = (unsigned char)(i * 2654435761u >> 24);

    block_t *ring[RING] = { 0 };
    uint32_t x = 0x9e3779b9u ^ w->index; /* this worker's sizes, the same every run */
    for (uint32_t seq = 0; seq < CHURN; seq++) {
        x = x * 1103515245u + 12345u;
        uint32_t len = 16 + (x >> 16) % 497; /* 16 to 512 payload bytes */
        block_t *old = ring[seq % RING];
        ring[seq % RING] = block_new(w, seq, len);
        if (old) {
            if (old->seq % HAND_OFF_EVERY == 0)
                hand_off(w, (w->index + 1) % WORKERS, old);
            else
                free(old);
        }
        w->checksum += big[(seq * 4099u) % BIG_BYTES];
        if (seq % 128 == 0)
            drain(w);
    }

    /* Every worker has handed off all it will: what is left in the inbox
     * is final. */
    pthread_barrier_wait(&churned);
    drain(w);
    for (int i = 0; i < RING; i++)
        free(ring[i]);
    for (uint32_t i = 0; i < BIG_BYTES; i += 64)
        w->checksum += big[i];
    free(big);
    return NULL;
}

int main(void)
{
    memscope_thread_name("main");
    if (pthread_barrier_init(&churned, NULL, WORKERS) != 0) {
        fprintf(stderr, "complex_multithread_showcase: pthread_barrier_init failed\n");
        return 1;
    }
    for (unsigned i = 0; i < WORKERS; i++) {
        pthread_mutex_init(&inboxes[i].lock, NULL);
        workers[i].index = i;
    }
    for (unsigned i = 0; i < WORKERS; i++) {
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "complex_multithread_showcase: pthread_create failed\n");
            return 1;
        }
    }
    uint64_t allocations = 0, bytes = 0, handed = 0, received = 0, bad = 0;
    for (unsigned i = 0; i < WORKERS; i++) {
        worker_t *w = &workers[i];
        pthread_join(w->thread, NULL);
        printf("thread %s: allocations %llu bytes %llu handed_off %llu freed_from_others %llu\n",
               w->name, (unsigned long long)w->allocations, (unsigned long long)w->bytes,
               (unsigned long long)w->handed_off, (unsigned long long)w->received);
        allocations += w->allocations;
        bytes += w->bytes;
        handed += w->handed_off;
        received += w->received;
        bad += w->bad_payloads;
    }
    for (unsigned i = 0; i < WORKERS; i++)
        pthread_mutex_destroy(&inboxes[i].lock);
    pthread_barrier_destroy(&churned);
    printf("complex_multithread_showcase: %d threads, %llu allocations, %llu bytes, "
           "%llu blocks handed off, %llu freed by another thread, %llu corrupted\n",
           WORKERS, (unsigned long long)allocations, (unsigned long long)bytes,
           (unsigned long long)handed, (unsigned long long)received, (unsigned long long)bad);

    /* the reports MemoryAnalysis/complex_multithread_showcase.json and .html, rendered at exit (when
     * the trace is complete) by the memscope tool */
    int rc = memscope_auto_export("json,html");
    if (rc < 0)
        fprintf(stderr, "complex_multithread_showcase: memscope_auto_export: %s\n", memscope_strerror(rc));
    char path[4096];
    if (memscope_trace_path(path, sizeof path) > 0)
        printf("complex_multithread_showcase: trace written to %s\n", path);
    return bad != 0 || handed != received;
}
