/* Test-only generator of synthetic traces (through the fixture writer), for
 * the script tests and for measuring the export speed.
 *
 *   gen_trace OUT [--threads N] [--events N] [--seed S] [--live N]
 *                 [--hostile] [--no-end] [--tasks N] [--vars]
 *
 * Threads allocate, free (often blocks of other threads), and realloc in one
 * global order with increasing time; each thread writes a TIME record every
 * 256 of its events, as the recorder does. Freed addresses are reused the way
 * a thread-caching allocator reuses them: first by the thread that freed them,
 * and by any thread once they were flushed to a shared pool (in batches of 32
 * when a thread holds more than 64). It prints the true totals as JSON
 * on stdout so that a test can compare them with the report. --hostile names
 * threads and arguments with markup, quotes, control characters and invalid
 * UTF-8. --tasks N creates N tasks (a tree: task i's parent is i / 2), and
 * every 97th event its thread enters the next of them (or none), so that
 * tasks hop between threads (--hostile alone: 2 tasks); --vars labels every
 * 13th allocation with one of a few variable names (hostile ones too with
 * --hostile). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* A live block of the generator's model. */
typedef struct gblock {
    uint64_t addr, size;
    uint32_t owner;
} gblock;

/* Per-thread truth. */
typedef struct gthread {
    uint64_t allocations, frees, reallocs, bytes, events;
} gthread;

/* xorshift64* */
static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Takes a free address for thread th: its cache, else the pool, else new. */
static uint64_t take_addr(uint64_t *cache, uint32_t *ncache, uint32_t th, uint64_t *pool, uint64_t *npool,
                          uint64_t *next_addr)
{
    if (ncache[th])
        return cache[th * 65 + --ncache[th]];
    if (*npool)
        return pool[--*npool];
    return *next_addr += 4096;
}

/* Gives a freed address to thread th's cache, flushing 32 to the pool when
 * it holds more than 64. */
static void give_addr(uint64_t *cache, uint32_t *ncache, uint32_t th, uint64_t *pool, uint64_t *npool, uint64_t a)
{
    cache[th * 65 + ncache[th]++] = a;
    if (ncache[th] > 64) {
        for (uint32_t i = 0; i < 32; i++)
            pool[(*npool)++] = cache[th * 65 + i];
        memmove(&cache[th * 65], &cache[th * 65 + 32], (ncache[th] - 32) * sizeof *cache);
        ncache[th] -= 32;
    }
}

static const char *const hostile_names[] = {
    "<script>alert(1)</script>", "quote\"back\\slash", "ctl\x01\x1f\x7f", "bad\xff\xfe utf8",
    "sep\xe2\x80\xa8\xe2\x80\xa9", "&amp;</script><!--", "\xc0\xaf overlong", "\xed\xa0\x80 surrogate",
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_trace OUT [--threads N] [--events N] [--seed S] [--live N] [--hostile] [--no-end] [--tasks N] [--vars]\n");
        return 2;
    }
    uint32_t nthreads = 4;
    uint64_t events = 100000, seed = 1, live_target = 10000;
    int hostile = 0, end = 1, vars = 0;
    uint64_t ntasks = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nthreads = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0) | 1;
        else if (!strcmp(argv[i], "--live") && i + 1 < argc)
            live_target = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--hostile"))
            hostile = 1;
        else if (!strcmp(argv[i], "--no-end"))
            end = 0;
        else if (!strcmp(argv[i], "--tasks") && i + 1 < argc)
            ntasks = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--vars"))
            vars = 1;
        else {
            fprintf(stderr, "gen_trace: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    if (nthreads == 0)
        nthreads = 1;

    msf *t = msf_new(64 * 1024);
    gthread *truth = calloc(nthreads, sizeof *truth);
    gblock *live = malloc((live_target * 2 + 16) * sizeof *live);
    /* per-thread caches of freed addresses (64 + 1 each), and the shared pool */
    uint64_t *cache = malloc((size_t)nthreads * 65 * sizeof *cache);
    uint32_t *ncache = calloc(nthreads, sizeof *ncache);
    uint64_t *pool = malloc((live_target * 2 + 16 + 65 * (uint64_t)nthreads) * sizeof *pool);
    if (!truth || !live || !cache || !ncache || !pool)
        return 1;
    uint64_t nlive = 0, npool = 0, next_addr = 0x7f0000000000ull, time = 1000;

    for (uint32_t k = 1; k <= nthreads; k++) {
        char name[64];
        const char *nm = name;
        size_t len;
        if (hostile) {
            nm = hostile_names[(k - 1) % (sizeof hostile_names / sizeof hostile_names[0])];
            len = strlen(nm);
        } else {
            len = (size_t)snprintf(name, sizeof name, k == 1 ? "main" : "worker-%u", k - 1);
        }
        msf_thread(t, k, 5000 + k, nm, len, time);
    }
    const char *args_plain[] = { "/usr/bin/synthetic", "--events", "many" };
    const char *args_hostile[] = { "/usr/bin/synthetic", "</script><script>alert(2)</script>", "\"q\"", "\xff" };
    const char *cfg[] = { "MEMSCOPE_OUTPUT", "/tmp/out", "MEMSCOPE_NAME", hostile ? "<b>x</b>" : "synthetic" };
    if (hostile)
        msf_process(t, 1, 4242, "/usr/bin/<synthetic>", 4, args_hostile, 2, cfg);
    else
        msf_process(t, 1, 4242, "/usr/bin/synthetic", 3, args_plain, 2, cfg);

    if (hostile && !ntasks) {  /* tasks with hostile names, a child of the first */
        msf_task_create(t, 1, 1, "<script>alert(3)</script>", 0);
        msf_task_create(t, 1, 2, "\"q\"&'\xff", 1);
        ntasks = 2;
    } else {
        for (uint64_t id = 1; id <= ntasks; id++) {
            char name[96];
            if (hostile)
                snprintf(name, sizeof name, "%s %" PRIu64, hostile_names[id % (sizeof hostile_names / sizeof hostile_names[0])], id);
            else
                snprintf(name, sizeof name, "task-%" PRIu64, id);
            msf_task_create(t, 1, id, name, id / 2);
        }
    }
    static const char *const var_plain[] = { "buffer", "node", "table", "scratch" };
    static const char *const var_hostile[] = { "<i>buf</i>", "a&b", "\"quoted\"", "bad\xff" };
    uint64_t allocations = 0, frees = 0, reallocs = 0, bytes = 0;
    for (uint64_t e = 0; e < events; e++) {
        time += 20;
        uint32_t th = (uint32_t)(rng(&seed) % nthreads);
        gthread *g = &truth[th];
        if (ntasks && e % 97 == 0)
            msf_task(t, th + 1, e / 97 % (ntasks + 1));  /* tasks 0, 1, ..., ntasks in turn */
        if (g->events % 256 == 255)
            msf_time(t, th + 1, time);
        g->events++;
        uint64_t r = rng(&seed) % 100;
        int grow = nlive < live_target;
        if (nlive + 1 >= 2 * live_target + 16)
            r = 10;  /* keep the model's arrays bounded: free */
        if (nlive && r < 5) {
            uint64_t i = rng(&seed) % nlive;
            uint64_t size = 8 + rng(&seed) % 2048;
            uint64_t na = take_addr(cache, ncache, th, pool, &npool, &next_addr);
            msf_realloc(t, th + 1, live[i].addr, na, size);
            give_addr(cache, ncache, th, pool, &npool, live[i].addr);
            live[i] = (gblock){ na, size, th };
            g->reallocs++;
            g->bytes += size;
            reallocs++;
            bytes += size;
        } else if (nlive && (r < (grow ? 40u : 55u))) {
            uint64_t i = rng(&seed) % nlive;
            msf_free(t, th + 1, live[i].addr);
            give_addr(cache, ncache, th, pool, &npool, live[i].addr);
            live[i] = live[--nlive];
            g->frees++;
            frees++;
        } else {
            uint64_t size = (uint64_t)1 << (rng(&seed) % 13);
            size += rng(&seed) % size;
            uint64_t a = take_addr(cache, ncache, th, pool, &npool, &next_addr);
            msf_alloc(t, th + 1, a, size);
            if (vars && allocations % 13 == 0)
                msf_var(t, th + 1, a, (hostile ? var_hostile : var_plain)[allocations / 13 % 4], "char *",
                        hostile ? "<src>/gen.c" : "gen.c", 1 + allocations / 13 % 4, 0);
            live[nlive++] = (gblock){ a, size, th };
            g->allocations++;
            g->bytes += size;
            allocations++;
            bytes += size;
        }
    }
    uint64_t leaked = 0;
    for (uint64_t i = 0; i < nlive; i++)
        leaked += live[i].size;
    if (end) {
        time += 20;
        msf_time(t, 1, time);
        msf_end(t, 1, time);
        msf_set_end_time(t, time);
    }
    if (msf_write(t, argv[1]) < 0) {
        perror(argv[1]);
        return 1;
    }
    printf("{\"events\": %" PRIu64 ", \"allocations\": %" PRIu64 ", \"frees\": %" PRIu64 ", \"reallocs\": %" PRIu64
           ", \"bytes_allocated\": %" PRIu64 ", \"leaked_blocks\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
           ", \"threads\": [",
           events, allocations, frees, reallocs, bytes, nlive, leaked);
    for (uint32_t k = 0; k < nthreads; k++)
        printf("%s{\"id\": %u, \"allocations\": %" PRIu64 ", \"frees\": %" PRIu64 ", \"reallocs\": %" PRIu64
               ", \"bytes_allocated\": %" PRIu64 "}",
               k ? ", " : "", k + 1, truth[k].allocations, truth[k].frees, truth[k].reallocs, truth[k].bytes);
    printf("]}\n");
    free(truth);
    free(live);
    free(cache);
    free(ncache);
    free(pool);
    msf_destroy(t);
    return 0;
}
