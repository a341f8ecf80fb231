/* Sampled mode (MEMSCOPE_MODE=sampled): the slow paths of the sampler.
 *
 * Byte sampling (MEMSCOPE_SAMPLE_BYTES = S, the default): each thread counts
 * down a number of bytes drawn from an exponential distribution of mean S, as
 * jemalloc and tcmalloc do; the allocation on which the count runs out is
 * sampled, so that an allocation of n bytes is sampled with probability
 * p = 1 - exp(-n/S) whatever came before it, and its weight is n / p bytes.
 *
 * Rate sampling (MEMSCOPE_SAMPLE_RATE = r): one allocation in k = round(1/r)
 * on average, the count drawn from a geometric distribution: each allocation
 * is sampled with probability exactly 1/k, and its weight is k allocations.
 *
 * A sampled allocation is moved into the sampled range (alloc_iface.h: the
 * program gets the moved block), so that its free is recognised by one
 * compare and recorded; nothing else is recorded. MEMSCOPE_SAMPLE_SEED makes
 * a run repeatable: each thread's generator starts from the seed and the
 * thread's serial. */
#include "process.h"

#include "alloc_iface.h"

#include "options.h"
#include "prim.h"
#include "tracker.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static uint64_t mean_bytes;  /* S (byte sampling), 0 with rate sampling */
static uint64_t rate_k;      /* k (rate sampling), 0 with byte sampling */
static uint64_t seed;

/* splitmix64 */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double next_unit(uint64_t *s)
{
    return (double)((next_u64(s) >> 11) + 1) * 0x1.0p-53;
}

/* The next countdown: bytes (exponential) or allocations (geometric), >= 1. */
static int64_t draw(ms_tls_t *t)
{
    double u = next_unit(&t->rng), x;
    if (rate_k)
        x = rate_k == 1 ? 1.0 : floor(log(u) / log1p(-1.0 / (double)rate_k)) + 1.0;
    else
        x = ceil(-log(u) * (double)mean_bytes);
    if (!(x >= 1.0))
        x = 1.0;
    if (x > 0x1.0p62)
        x = 0x1.0p62;
    return (int64_t)x;
}

/* What a sample of an n-byte allocation stands for: bytes, or allocations. */
static uint64_t weight_of(size_t n)
{
    if (rate_k)
        return rate_k;
    if (n == 0)
        return 0; /* never sampled by bytes (p = 0); not reached */
    double dn = (double)n, p = -expm1(-dn / (double)mean_bytes);
    double w = p > 0 ? dn / p : dn;
    return w < dn ? (uint64_t)n : (uint64_t)llround(w);
}

void ms_sample_configure(bool sampled)
{
    uint64_t rate = ms_option_u64(MS_OPT_SAMPLE_RATE); /* r * 2^32, 0: byte sampling */
    seed = ms_option_u64(MS_OPT_SAMPLE_SEED);
    if (seed == 0)
        seed = ms_prim_now_ns() ^ ((uint64_t)ms_prim_gettid() << 32);
    mean_bytes = rate_k = 0;
    uint32_t flags = 0;
    uint64_t hdr_bytes = 0, hdr_rate = 0;
    if (sampled) {
        flags = MSF_HF_SAMPLED;
        if (rate) {
            rate_k = ((1ull << 32) + rate / 2) / rate; /* round(1 / r) */
            if (rate_k == 0)
                rate_k = 1;
            hdr_rate = ((1ull << 32) + rate_k / 2) / rate_k; /* the rate in force: 1/k */
        } else {
            mean_bytes = ms_option_u64(MS_OPT_SAMPLE_BYTES);
            hdr_bytes = mean_bytes;
        }
    }
    ms_stream_set_recording(flags, hdr_bytes, hdr_rate, sampled ? seed : 0, ms_stack_depth);
    ms_sampled_start(sampled);
}

void ms_sample_thread_init(ms_tls_t *t)
{
    t->rng = seed ^ ((uint64_t)t->serial * 0xd1b54a32d192ed03ull);
    if (rate_k) {
        t->sample_left = 0; /* every allocation leaves the assembly: ms_sample_count */
        t->rate_left = draw(t);
    } else {
        t->sample_left = draw(t);
        t->rate_left = 0;
    }
    t->sampling = true;
    t->limit = NULL; /* every event to the sampled branch of ms_ev */
}

/* An allocation on which the thread's count ran out (ms_sample_count): it
 * is sampled, and the count drawn afresh. */
static void redraw(ms_tls_t *t)
{
    if (rate_k)
        t->rate_left = draw(t);
    else
        t->sample_left = draw(t);
}

uintptr_t ms_sample_take(uintptr_t p, size_t n, size_t align, bool zero, uintptr_t ra)
{
    uintptr_t fp = *(const uintptr_t *)__builtin_frame_address(0);
    ms_tls_t *t = &ms_tls;
    redraw(t);
    uint64_t w = weight_of(n);
    /* memscope's own allocation, or a handler that interrupted the recorder:
     * not the program's, or not recordable; the count starts afresh (the
     * draw is memoryless, so the program's allocations keep their odds) */
    if (t->guard || t->state != MS_T_ACTIVE || w == 0)
        return p;
    int saved = errno;
    void *q = ms_sampled_alloc(n, align, zero);
    if (q == NULL) {
        ms_stream_add_dropped(1); /* the range is used up: the sample is lost, and said */
        errno = saved;
        return p;
    }
    ms_heap_free((void *)p); /* never seen by the program */
    errno = saved;
    ms_ev_record(MSF_K_ALLOC, (uintptr_t)q, 0, n, ra, fp, w);
    return (uintptr_t)q;
}

void *ms_sample_new(size_t n, uintptr_t ra, bool *lost)
{
    uintptr_t fp = *(const uintptr_t *)__builtin_frame_address(0);
    ms_tls_t *t = &ms_tls;
    *lost = false;
    redraw(t);
    uint64_t w = weight_of(n);
    if (t->guard || t->state != MS_T_ACTIVE || w == 0)
        return NULL; /* as ms_sample_take: the count starts afresh */
    int saved = errno;
    void *q = ms_sampled_alloc(n, 0, false);
    errno = saved;
    if (q == NULL) {
        *lost = true;
        return NULL;
    }
    ms_ev_record(MSF_K_ALLOC, (uintptr_t)q, 0, n, ra, fp, w);
    return q;
}

void ms_sample_lost(void)
{
    ms_stream_add_dropped(1);
}

void ms_sample_free(uintptr_t p, uintptr_t ra)
{
    uintptr_t fp = *(const uintptr_t *)__builtin_frame_address(0);
    ms_tls_t *t = &ms_tls;
    if (t->guard == 0)
        ms_ev_record(MSF_K_FREE, p, 0, 0, ra, fp, 0);
    else if (!t->own)
        ms_stream_add_dropped(1); /* a handler that interrupted the recorder */
    int *ep = ms_errno_ptr();
    int saved = *ep;
    ms_sampled_free((void *)p);
    *ep = saved;
}

/* realloc of a sampling thread: see tracker.h. Returns false when neither
 * the old block is sampled nor the new one is to be: the caller's ordinary
 * realloc then runs, unrecorded. */
bool ms_sample_realloc(void *p, size_t n, uintptr_t ra, void **out)
{
    uintptr_t fp = *(const uintptr_t *)__builtin_frame_address(0);
    ms_tls_t *t = &ms_tls;
    bool in = (uintptr_t)p - ms_sample_base < ms_sample_size;
    uint64_t w = 0;
    if (t->sampling && t->guard == 0) {
        if (!ms_sample_count(t, n)) {
            redraw(t);
            w = weight_of(n);
        }
    }
    if (!in && w == 0)
        return false;
    int saved = errno;
    void *q = w ? ms_sampled_alloc(n, 0, false) : NULL;
    if (w && q == NULL) {
        ms_stream_add_dropped(1);
        w = 0;
    }
    if (q == NULL)
        q = ms_heap_malloc(n);
    if (q == NULL) {
        errno = ENOMEM; /* p is untouched */
        *out = NULL;
        return true;
    }
    size_t old = ms_heap_usable(p);
    memcpy(q, p, old < n ? old : n);
    /* the free's record before the real free, the allocation's after it
     * returned (FORMAT.md): both before the old block goes */
    if (in && t->guard == 0) {
        if (ms_sampling_on)
            ms_ev_record(MSF_K_FREE, (uintptr_t)p, 0, 0, ra, fp, 0);
        else /* traces every event (a fork child of a sampling parent): a realloc */
            ms_ev_record(MSF_K_REALLOC, (uintptr_t)p, (uintptr_t)q, n, ra, fp, 0);
    }
    if (w)
        ms_ev_record(MSF_K_ALLOC, (uintptr_t)q, 0, n, ra, fp, w);
    if (in)
        ms_sampled_free(p);
    else
        ms_heap_free(p);
    errno = saved;
    *out = q;
    return true;
}
