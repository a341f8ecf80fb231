/* The snapshot fold. See fold.h. */
#include "fold.h"

#include "format.h"
#include "unpack.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash64(uint64_t a)
{
    return (a * 0x9e3779b97f4a7c15ull) >> 17;
}

/* Grows table (e, cap, n) of entry type T, hashed by field key, to hold one
 * more entry; false when out of memory. */
#define TABLE_RESERVE(T, e, cap, n, key)                                         \
    ({                                                                           \
        bool ok_ = true;                                                         \
        if (((n) + 1) * 2 > (cap)) {                                             \
            uint64_t nc_ = (cap) ? (cap) * 2 : 1024;                             \
            T *ne_ = calloc(nc_, sizeof(T));                                     \
            if (!ne_) {                                                          \
                ok_ = false;                                                     \
            } else {                                                             \
                for (uint64_t i_ = 0; i_ < (cap); i_++) {                        \
                    if (!(e)[i_].used)                                           \
                        continue;                                                \
                    uint64_t j_ = hash64((e)[i_].key) & (nc_ - 1);               \
                    while (ne_[j_].used)                                         \
                        j_ = (j_ + 1) & (nc_ - 1);                               \
                    ne_[j_] = (e)[i_];                                           \
                }                                                                \
                free(e);                                                         \
                (e) = ne_;                                                       \
                (cap) = nc_;                                                     \
            }                                                                    \
        }                                                                        \
        ok_;                                                                     \
    })

/* Removes entry i0 of table (e, cap, n) by backward shifting: an entry may
 * move back to the hole when its home is not cyclically in (hole, entry]. */
#define TABLE_REMOVE(e, cap, n, i0, key)                                         \
    do {                                                                         \
        uint64_t i_ = (i0), m_ = (cap) - 1;                                      \
        for (uint64_t j_ = (i_ + 1) & m_; (e)[j_].used; j_ = (j_ + 1) & m_) {    \
            uint64_t h_ = hash64((e)[j_].key) & m_;                              \
            if (((j_ - h_) & m_) >= ((j_ - i_) & m_)) {                          \
                (e)[i_] = (e)[j_];                                               \
                i_ = j_;                                                         \
            }                                                                    \
        }                                                                        \
        (e)[i_].used = false;                                                    \
        (n)--;                                                                   \
    } while (0)

/* -- tables ---------------------------------------------------------------- */

static msf_fold_task *task_find(const msf_fold *F, uint64_t id)
{
    if (!F->ntk)
        return NULL;
    for (uint64_t i = hash64(id) & (F->captk - 1); F->tk[i].used; i = (i + 1) & (F->captk - 1))
        if (F->tk[i].id == id)
            return &F->tk[i];
    return NULL;
}

/* The entry of task id, made if new; NULL when out of memory. */
static msf_fold_task *task_get(msf_fold *F, uint64_t id)
{
    msf_fold_task *k = task_find(F, id);
    if (k)
        return k;
    if (!TABLE_RESERVE(msf_fold_task, F->tk, F->captk, F->ntk, id)) {
        F->oom = true;
        return NULL;
    }
    uint64_t i = hash64(id) & (F->captk - 1);
    while (F->tk[i].used)
        i = (i + 1) & (F->captk - 1);
    F->tk[i] = (msf_fold_task){ .id = id, .used = true };
    F->ntk++;
    return &F->tk[i];
}

/* Index of the oldest live block at addr, or UINT64_MAX. */
static uint64_t blk_find(const msf_fold *F, uint64_t addr)
{
    if (!F->nblk)
        return UINT64_MAX;
    for (uint64_t i = hash64(addr) & (F->capblk - 1); F->blk[i].used; i = (i + 1) & (F->capblk - 1))
        if (F->blk[i].addr == addr)
            return i;
    return UINT64_MAX;
}

/* A block of `size` bytes of `task` arrives at addr: unless a free of addr
 * waits (then it is born and gone at once), it lives. */
static void blk_arrive(msf_fold *F, uint64_t addr, uint64_t size, uint64_t task)
{
    if (F->npd) {
        for (uint64_t i = hash64(addr) & (F->cappd - 1); F->pd[i].used; i = (i + 1) & (F->cappd - 1)) {
            if (F->pd[i].addr != addr)
                continue;
            if (--F->pd[i].n == 0)
                TABLE_REMOVE(F->pd, F->cappd, F->npd, i, addr);
            return;
        }
    }
    if (!TABLE_RESERVE(msf_fold_blk, F->blk, F->capblk, F->nblk, addr)) {
        F->oom = true;
        return;
    }
    uint64_t i = hash64(addr) & (F->capblk - 1);
    while (F->blk[i].used)
        i = (i + 1) & (F->capblk - 1);
    F->blk[i] = (msf_fold_blk){ .addr = addr, .size = size, .task = task, .used = true };
    F->nblk++;
    F->live += size;
    if (task) {
        msf_fold_task *k = task_get(F, task);
        if (k)
            k->live += size;
    }
}

/* The oldest live block at addr departs; a departure that meets none waits
 * for the allocation of its address. */
static void blk_depart(msf_fold *F, uint64_t addr)
{
    uint64_t i = blk_find(F, addr);
    if (i != UINT64_MAX) {
        F->live -= F->blk[i].size;
        msf_fold_task *k = F->blk[i].task ? task_find(F, F->blk[i].task) : NULL;
        if (k)
            k->live -= F->blk[i].size;
        TABLE_REMOVE(F->blk, F->capblk, F->nblk, i, addr);
        return;
    }
    if (F->npd) {
        for (i = hash64(addr) & (F->cappd - 1); F->pd[i].used; i = (i + 1) & (F->cappd - 1)) {
            if (F->pd[i].addr == addr) {
                F->pd[i].n++;
                return;
            }
        }
    }
    if (!TABLE_RESERVE(msf_fold_pend, F->pd, F->cappd, F->npd, addr)) {
        F->oom = true;
        return;
    }
    i = hash64(addr) & (F->cappd - 1);
    while (F->pd[i].used)
        i = (i + 1) & (F->cappd - 1);
    F->pd[i] = (msf_fold_pend){ .addr = addr, .n = 1, .used = true };
    F->npd++;
}

/* TASK_CREATE (create) or TASK_END of id. */
static void task_mark(msf_fold *F, uint64_t id, bool create)
{
    msf_fold_task *k = id ? task_get(F, id) : NULL;
    if (!k)
        return;
    bool was = k->created && !k->ended;
    if (create)
        k->created = true;
    else
        k->ended = true;
    bool is = k->created && !k->ended;
    F->active += (uint64_t)is - (uint64_t)was;
}

/* -- records ---------------------------------------------------------------- */

typedef enum { REC_DONE, REC_WAIT, REC_BAD } rec_result;

/* Decodes the record at *pp (before end) of thread T and applies it; an
 * event that does not fit the live blocks is left alone (REC_WAIT) unless
 * `force`. */
static rec_result apply_record(msf_fold *F, msf_fold_thread *T, const uint8_t **pp, const uint8_t *end, bool force)
{
    const uint8_t *p = *pp;
    uint64_t h, size = 0, x;
    int64_t delta = 0;
    if (!ms_up_uint(&p, end, &h))
        return REC_BAD;
    unsigned kind = (unsigned)(h & MSF_KIND_MASK);
    uint64_t arg = h >> MSF_KIND_BITS;
    switch (kind) {
    case MSF_K_ALLOC:
    case MSF_K_ALLOC_EX: {
        if (!ms_up_uint(&p, end, &size) ||
            (kind == MSF_K_ALLOC_EX && !(ms_up_uint(&p, end, &x) && ms_up_uint(&p, end, &x))))
            return REC_BAD;
        uint64_t a = T->addr + msf_zz_dec(arg);
        if (!force && blk_find(F, a) != UINT64_MAX)
            return REC_WAIT;
        T->addr = a;
        blk_arrive(F, a, size, T->task);
        break;
    }
    case MSF_K_FREE: {
        uint64_t a = T->addr + msf_zz_dec(arg);
        if (!force && blk_find(F, a) == UINT64_MAX)
            return REC_WAIT;
        T->addr = a;
        blk_depart(F, a);
        break;
    }
    case MSF_K_REALLOC:
    case MSF_K_REALLOC_EX: {
        if (!ms_up_int(&p, end, &delta) || !ms_up_uint(&p, end, &size) ||
            (kind == MSF_K_REALLOC_EX && !(ms_up_uint(&p, end, &x) && ms_up_uint(&p, end, &x))))
            return REC_BAD;
        uint64_t old = T->addr + msf_zz_dec(arg), nu = old + (uint64_t)delta;
        if (!force && (blk_find(F, old) == UINT64_MAX || (nu != old && blk_find(F, nu) != UINT64_MAX)))
            return REC_WAIT;
        T->addr = nu;
        blk_depart(F, old);            /* the old block goes ... */
        blk_arrive(F, nu, size, T->task); /* ... and the new one, of the task current now, lives */
        break;
    }
    case MSF_K_RECORD: {
        ms_up_obj o;
        long n = ms_up_decode(p, (size_t)(end - p), &o);
        if (n <= 0)
            return REC_BAD;
        p += n;
        if (arg == MSF_R_TIME && o.is_uint)
            T->time = o.u;
        else if (arg == MSF_R_TASK && o.is_uint)
            T->task = o.u;
        else if (arg == MSF_R_TASK_CREATE || arg == MSF_R_TASK_END)
            task_mark(F, o.id, arg == MSF_R_TASK_CREATE);
        break;
    }
    default:
        return REC_BAD;
    }
    *pp = p;
    return REC_DONE;
}

/* -- threads ---------------------------------------------------------------- */

/* Serials are dense from 1 (memscope's own streams too): those below this
 * are indexed, others (the snapshot log's, a damaged trace's) searched. */
#define FOLD_SERIAL_INDEX (1u << 22)

msf_fold_thread *msf_fold_thread_of(msf_fold *F, uint32_t serial)
{
    if (serial < F->capser && F->byserial[serial])
        return &F->th[F->byserial[serial] - 1];
    if (serial >= F->capser || serial >= FOLD_SERIAL_INDEX)
        for (size_t i = 0; i < F->nth; i++)
            if (F->th[i].serial == serial)
                return &F->th[i];
    if (F->nth == F->capth) {
        size_t nc = F->capth ? F->capth * 2 : 64;
        msf_fold_thread *n = realloc(F->th, nc * sizeof *n);
        uint32_t *na = realloc(F->running, nc * sizeof *na);
        if (n)
            F->th = n;
        if (na)
            F->running = na;
        if (!n || !na) {
            F->oom = true;
            return NULL;
        }
        F->capth = nc;
    }
    if (serial < FOLD_SERIAL_INDEX && serial >= F->capser) {
        uint32_t nc = F->capser ? F->capser : 256;
        while (nc <= serial)
            nc *= 2;
        uint32_t *n = realloc(F->byserial, nc * sizeof *n);
        if (!n) {
            F->oom = true;
            return NULL;
        }
        memset(n + F->capser, 0, (nc - F->capser) * sizeof *n);
        F->byserial = n;
        F->capser = nc;
    }
    F->th[F->nth] = (msf_fold_thread){ .serial = serial };
    if (serial < F->capser)
        F->byserial[serial] = (uint32_t)F->nth + 1;
    return &F->th[F->nth++];
}

/* T's chunk being decoded, NULL if it has none in this batch. */
static const msf_fold_chunk *cur_of(const msf_fold_thread *T)
{
    return T->ick < T->nck ? &T->ck[T->ick] : NULL;
}

/* Starts decoding chunk c. */
static void start_chunk(msf_fold_thread *T, const msf_fold_chunk *c)
{
    T->seq = c->seq;
    T->started = true;
    T->off = 0;
    T->addr = 0;
    T->task = c->task;
    T->time = c->time_ns;
}

/* The time of T's next window: the TIME at its position, the window's it is
 * in when something else comes first, its next chunk's at the end of a
 * chunk; UINT64_MAX when its batch is done. */
static uint64_t peek_time(const msf_fold_thread *T)
{
    const msf_fold_chunk *c = cur_of(T);
    if (!c)
        return UINT64_MAX;
    if (T->off >= c->stop)
        return T->ick + 1 < T->nck ? T->ck[T->ick + 1].time_ns : UINT64_MAX;
    const uint8_t *p = c->payload + T->off, *end = c->payload + c->stop;
    uint64_t h, t;
    if (ms_up_uint(&p, end, &h) && h == msf_head(MSF_R_TIME, MSF_K_RECORD) && ms_up_uint(&p, end, &t))
        return t;
    return T->time;
}

/* Decodes T's current window: its TIME record and the records after it, up
 * to the next TIME, the chunk's stop, or an event that does not fit (unless
 * force); at the end of a chunk, moves on to the next. Returns true if it
 * went on at all. */
static bool step(msf_fold *F, msf_fold_thread *T, bool force)
{
    const msf_fold_chunk *c = cur_of(T);
    if (T->off >= c->stop) {
        T->ick++;
        start_chunk(T, &T->ck[T->ick]);
        return true;
    }
    const uint8_t *p = c->payload + T->off, *end = c->payload + c->stop;
    bool first = true, moved = false;
    while (p < end) {
        const uint8_t *q = p;
        uint64_t h;
        if (!first && ms_up_uint(&q, end, &h) && h == msf_head(MSF_R_TIME, MSF_K_RECORD))
            break; /* the next window */
        rec_result rr = apply_record(F, T, &p, end, force);
        if (rr == REC_WAIT) {
            T->blocked = true;
            break;
        }
        if (rr == REC_BAD) {
            F->bad = true;
            p = end; /* the export reports the damage; the rest of the chunk is skipped */
        }
        moved = true;
        force = false; /* only the event that had to go */
        first = false;
    }
    T->off = (uint32_t)(p - c->payload);
    return moved;
}

void msf_fold_run(msf_fold *F)
{
    uint32_t na = 0;
    for (size_t i = 0; i < F->nth; i++) {
        msf_fold_thread *T = &F->th[i];
        if (!T->nck)
            continue;
        F->running[na++] = (uint32_t)i;
        T->ick = 0;
        T->blocked = false;
        /* a batch starts at the chunk the thread is in */
        while (T->ick < T->nck && T->started && T->ck[T->ick].seq < T->seq)
            T->ick++;
        const msf_fold_chunk *c = cur_of(T);
        if (c && (!T->started || c->seq != T->seq)) {
            if (T->started && c->seq != T->seq + 1) {
                T->ick = T->nck; /* a gap: nothing to decode */
                continue;
            }
            start_chunk(T, c);
        }
    }
    for (;;) {
        msf_fold_thread *best = NULL, *waiting = NULL;
        uint64_t bt = UINT64_MAX, wt = UINT64_MAX;
        for (uint32_t i = 0; i < na; i++) {
            msf_fold_thread *T = &F->th[F->running[i]];
            uint64_t t = peek_time(T);
            if (t == UINT64_MAX)
                continue;
            /* ties: the lower serial, whatever the order threads were met in */
            if (T->blocked) {
                if (t < wt || (t == wt && T->serial < waiting->serial)) {
                    wt = t;
                    waiting = T;
                }
            } else if (t < bt || (t == bt && T->serial < best->serial)) {
                bt = t;
                best = T;
            }
        }
        if (best) {
            if (step(F, best, false))
                for (uint32_t i = 0; i < na; i++)
                    F->th[F->running[i]].blocked = false; /* what waited may fit now */
        } else if (waiting) {
            step(F, waiting, true); /* every thread waits: the earliest goes */
            for (uint32_t i = 0; i < na; i++)
                F->th[F->running[i]].blocked = false;
        } else {
            break;
        }
    }
    for (uint32_t i = 0; i < na; i++) {
        msf_fold_thread *T = &F->th[F->running[i]];
        T->ck = NULL;
        T->nck = T->ick = 0;
        T->blocked = false;
    }
}

uint64_t msf_fold_task_live(const msf_fold *F, uint64_t task)
{
    const msf_fold_task *k = task ? task_find(F, task) : NULL;
    return k ? k->live : 0;
}

void msf_fold_free(msf_fold *F)
{
    free(F->th);
    free(F->byserial);
    free(F->running);
    free(F->blk);
    free(F->tk);
    free(F->pd);
    memset(F, 0, sizeof *F);
}
