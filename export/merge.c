/* The causal merge (see merge.h): cursors, blocking, the pending rule, and
 * the emission of op, block and control events to the views. */
#include "merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* -- emitting ------------------------------------------------------------- */

/* Hands a block event to the tap (tests) and the views. */
static inline void emit(msx_merge *M, const msx_block_ev *e)
{
    if (__builtin_expect(M->tap != NULL, 0))
        M->tap(M->tap_ctx, e);
    msx_views_block(M->V, e);
}

/* Hands a control event to the views. Returns false (with a fatal error) if
 * a view ran out of memory. */
static bool emit_control(msx_merge *M, const msx_ctl_ev *e, uint64_t off)
{
    if (msx_views_control(M->V, e) < 0) {
        msx_reader_fail(M->R, -ENOMEM, off, "out of memory");
        return false;
    }
    return true;
}

/* The block in slot s as views see it. */
static inline msx_blk blk_of(const msx_merge *M, const msx_slot *s)
{
    uint32_t t = msx_slot_thread(s);
    return (msx_blk){
        .addr = s->addr, .size = s->size, .birth = s->born, .idx = msx_slot_idx(s),
        .thread = t, .serial = M->ts[t].serial, .keys = msx_livemap_keys(&M->map, s),
    };
}

/* Reports an anomaly of thread T's event number `event` at `time`. */
static void note_anomaly(msx_merge *M, const msx_cursor *T, msx_anomaly_kind kind, uint64_t addr, uint64_t time,
                         uint64_t event)
{
    msx_anomaly a = { .kind = kind, .thread = T->serial, .time_ns = time, .addr = addr, .event = event };
    msx_ctl_ev e = { .kind = MSX_CTL_ANOMALY, .actor = T->index, .time = time, .anomaly = &a };
    emit_control(M, &e, 0);
}

/* -- block state ---------------------------------------------------------- */

/* Removes the block in slot s from the live set: freed (flags 0) or the old
 * block of a moving realloc (MSX_BEVF_REALLOC), by thread T now. */
static inline void unlive(msx_merge *M, msx_cursor *T, msx_slot *s, uint32_t flags)
{
    msx_block_ev e;  /* filled field by field: prev is not zeroed for nothing */
    e.kind = MSX_BEV_FREED;
    e.flags = flags;
    e.actor = T->index;
    e.time = T->now;
    e.blk = blk_of(M, s);
    M->live_bytes -= s->size;
    msx_livemap_set_freed(&M->map, s);
    e.live = M->live_bytes;
    emit(M, &e);
}

/* Stores the keys of slot s; on failure records a fatal error, which stops
 * the decode loop after the current record. */
static inline void set_keys(msx_merge *M, msx_slot *s, const msx_keys *keys)
{
    if (__builtin_expect(msx_livemap_set_keys(&M->map, s, keys) < 0, 0))
        msx_reader_fail(M->R, -ENOMEM, 0, "out of memory for block keys");
}

/* Makes slot s a live block of `size` bytes made by O now (born: when the
 * block started, which a realloc carries over). */
static inline void make_live(msx_merge *M, msx_cursor *O, msx_slot *s, uint64_t size, uint64_t born,
                             const msx_keys *keys)
{
    msx_livemap_set_live(&M->map, s, size, born, msx_slot_meta(M->idx, O->index));
    set_keys(M, s, keys);
    M->live_bytes += size;
    msx_block_ev e;
    e.kind = MSX_BEV_BORN;
    e.flags = 0;
    e.actor = O->index;
    e.time = O->now;
    e.live = M->live_bytes;
    e.blk = blk_of(M, s);
    emit(M, &e);
}

/* Resizes the live block in slot s in place (a REALLOC by T whose address
 * stays): it becomes T's block of `size` bytes with T's keys. */
static inline void resize(msx_merge *M, msx_cursor *T, msx_slot *s, uint64_t size, const msx_keys *keys)
{
    msx_block_ev e = { .kind = MSX_BEV_RESIZED, .actor = T->index, .time = T->now };
    e.prev = blk_of(M, s);
    M->live_bytes -= s->size;
    msx_livemap_set_freed(&M->map, s);
    msx_livemap_set_live(&M->map, s, size, e.prev.birth, msx_slot_meta(M->idx, T->index));
    set_keys(M, s, keys);
    M->live_bytes += size;
    e.live = M->live_bytes;
    e.blk = blk_of(M, s);
    emit(M, &e);
}

/* -- events that wait for their partner (pending.h) ---------------------- */

/* The pending entry of addr, made if new; NULL (and a fatal error) when out
 * of memory. */
static msx_pend *pend_get(msx_merge *M, uint64_t addr)
{
    msx_pend *e = msx_pending_get(&M->pend, addr);
    if (!e)
        msx_reader_fail(M->R, -ENOMEM, 0, "out of memory");
    return e;
}

/* Gives slot s (just freed) to the allocation waiting for its address in e,
 * if one waits. */
static inline void hand_over(msx_merge *M, msx_pend *e, msx_slot *s)
{
    if (!e || !e->allocs)
        return;
    e->allocs--;
    make_live(M, &M->ts[e->alloc_thread], s, e->size, e->born, &e->keys);
    msx_pending_tidy(&M->pend, e);
}

/* Ends the live block in slot s, freed by T now. An allocation waiting for
 * the address takes it. */
static inline void settle_free(msx_merge *M, msx_cursor *T, msx_slot *s)
{
    uint64_t addr = s->addr;
    unlive(M, T, s, 0);
    hand_over(M, msx_pending_find(&M->pend, addr), s);
}

/* An allocation by T (ALLOC, ALLOC_EX, or a REALLOC's new block) of slot s:
 * the block lives now, unless a departure of that address waits (same TIME on
 * another thread): then it is born and gone at once; or the address is live:
 * then it waits for that block's free. Returns false on a fatal error. */
static inline bool arrive(msx_merge *M, msx_cursor *T, msx_slot *s, uint64_t addr, uint64_t size, uint64_t born,
                          const msx_keys *keys)
{
    msx_pend *e = msx_pending_find(&M->pend, addr);
    if (__builtin_expect(e && e->frees, 0)) {
        make_live(M, T, s, size, born, keys);
        e->frees--;
        settle_free(M, &M->ts[e->free_thread], s);
        msx_pending_tidy(&M->pend, e);
        return true;
    }
    if (msx_slot_state(s) == MSX_SLOT_LIVE) {
        /* the live block's free is still to come on another thread */
        if (!(e = pend_get(M, addr)))
            return false;
        e->allocs++;
        e->alloc_thread = T->index;
        e->size = size;
        e->born = born;
        e->alloc_event = T->evno - 1;
        e->keys = *keys;
        return true;
    }
    make_live(M, T, s, size, born, keys);
    return true;
}

/* Records a departure of addr by T that met no live block: it waits for the
 * allocation it belongs to. kind: the anomaly it is if none comes. Returns
 * false on a fatal error. */
static bool depart_early(msx_merge *M, msx_cursor *T, uint64_t addr, msx_anomaly_kind kind)
{
    msx_pend *e = pend_get(M, addr);
    if (!e)
        return false;
    e->frees++;
    e->free_thread = T->index;
    e->free_kind = (uint8_t)kind;
    e->free_time = T->now;
    e->free_event = T->evno - 1;
    return true;
}

/* -- taking events -------------------------------------------------------- */

/* Takes T's next event (decoded as rec: its stack and weight): gives it the
 * next merged index and its time (T->now), moves T's window on, and hands the
 * op event to the views. Returns false
 * (with a fatal error) if the index no longer fits the map's slots. */
static inline bool take_event(msx_merge *M, msx_cursor *T, unsigned kind, uint64_t addr, uint64_t size,
                              const msx_rec *rec)
{
    if (++M->idx >> MSX_IDX_BITS) {
        msx_reader_fail(M->R, -EFBIG, 0, "more than 2^%d events: more than this reader handles", MSX_IDX_BITS);
        return false;
    }
    T->evno++;
    T->force = false;
    T->now = msx_window_take(&T->win);
    msx_op_ev op = { .kind = kind, .actor = T->index, .addr = addr, .size = size, .time = T->now,
                     .stack = rec->stack, .weight = rec->weight };
    msx_views_op(M->V, &op);
    return true;
}

/* Blocks T on its current record until addr is live (want_live) or not. */
static void block(msx_merge *M, msx_cursor *T, uint64_t addr, bool want_live)
{
    T->st = MSX_TS_BLOCKED;
    T->wait_addr = addr;
    T->wait_live = want_live;
    M->nblocked++;
}

/* -- control records ------------------------------------------------------ */

/* File offset of a pointer into T's payload buffer. */
static uint64_t off_of(const msx_cursor *T, const uint8_t *p)
{
    return T->cur->off + MSF_CHUNK_HEADER_SIZE + (uint64_t)(p - T->buf);
}

/* Applies VAR record o: the live block at its address gets the label's id
 * as keys.var (LABELED). A VAR of an address that holds no live block is
 * ignored. Returns false on a fatal error. */
static bool apply_var(msx_merge *M, msx_cursor *T, const msx_obj *o, uint64_t off)
{
    const msx_obj *a = msx_map_get(o, MSF_KEY_ADDR);
    msx_slot *s = a && a->type == MSX_UINT ? msx_livemap_find(&M->map, a->v.u) : NULL;
    if (!s || msx_slot_state(s) != MSX_SLOT_LIVE)
        return true;
    uint64_t id = msx_labels_intern(&M->labels, o);
    if (!id) {
        msx_reader_fail(M->R, -ENOMEM, off, "out of memory for variable labels");
        return false;
    }
    msx_block_ev e = { .kind = MSX_BEV_LABELED, .actor = T->index, .time = T->now, .live = M->live_bytes };
    e.prev = blk_of(M, s);
    msx_keys keys = e.prev.keys;
    keys.var = id;
    set_keys(M, s, &keys);
    e.blk = blk_of(M, s);
    emit(M, &e);
    return !M->R->err;
}

/* Applies a control record other than TIME, decoded into o: what the merge
 * needs itself (TASK, FORK, VAR, SCOPE_ENTER, SCOPE_LEAVE), then the views
 * (TASK_CREATE and TASK_END are only checked). Returns false on a fatal error.
 * A known type holding the wrong type of object is reported and ignored. */
static bool apply_record(msx_merge *M, msx_cursor *T, uint64_t type, const msx_obj *o, uint64_t off)
{
    bool ok = true;
    switch (type) {
    case MSF_R_TASK:
        ok = o->type == MSX_UINT;
        if (ok)
            T->task = o->v.u;
        break;
    case MSF_R_DROPPED:
        ok = o->type == MSX_UINT;
        break;
    case MSF_R_METRIC:
        ok = o->type == MSX_MAP;
        break;
    case MSF_R_FORK:
        M->forked = true;
        break;
    case MSF_R_TASK_CREATE:
    case MSF_R_TASK_END: {  /* view_tasks.c counts on a non-zero uint id */
        const msx_obj *id = msx_map_get(o, MSF_KEY_ID);
        ok = id && id->type == MSX_UINT && id->v.u != 0;
        break;
    }
    case MSF_R_VAR:
        ok = o->type == MSX_MAP;
        if (ok && !apply_var(M, T, o, off))
            return false;
        break;
    case MSF_R_SCOPE_ENTER:
    case MSF_R_SCOPE_LEAVE: {
        const msx_obj *id = msx_map_get(o, MSF_KEY_ID);
        ok = id && id->type == MSX_UINT && id->v.u != 0;
        if (!ok)
            break;
        if (type == MSF_R_SCOPE_LEAVE)
            msx_scopes_leave(&T->scopes, id->v.u);
        else if (!msx_scopes_enter(&T->scopes, id->v.u)) {
            msx_reader_fail(M->R, -ENOMEM, off, "out of memory for scopes");
            return false;
        }
        break;
    }
    default:
        break;
    }
    if (!ok) {
        msx_reader_problem(M->R, off, "thread %u: control record %llu holds the wrong type of object: ignored",
                           T->serial, (unsigned long long)type);
        return true;
    }
    /* its time: not before the thread's last event nor its TIME in force
     * (a record before the thread's first event would otherwise get 0) */
    msx_ctl_ev e = { .kind = MSX_CTL_RECORD, .actor = T->index, .time = T->now > T->win.t0 ? T->now : T->win.t0,
                     .type = type, .obj = o, .task = T->task, .scope = msx_scopes_top(&T->scopes) };
    return emit_control(M, &e, off);
}

/* -- the run loop --------------------------------------------------------- */

/* Stops decoding T's chunk after damage at rec: reported, rest skipped. A
 * chunk cut short is counted damaged once, where the cut was found. */
static void damage(msx_merge *M, msx_cursor *T, const uint8_t *rec, const char *what)
{
    if (!T->cur->cut)
        M->R->r->damaged_chunks++;
    msx_reader_problem(M->R, off_of(T, rec),
                       "chunk %llu (thread %u, seq %u): %s; the rest of the chunk (%llu bytes) is skipped",
                       (unsigned long long)T->cur->slot, T->serial, T->cur->seq, what,
                       (unsigned long long)(T->end - rec));
    T->p = T->end;
}

/* The time of T's next chunk, UINT64_MAX if it has none. */
static uint64_t next_chunk_time(const msx_merge *M, const msx_cursor *T)
{
    return T->ck < T->ck_end ? M->R->chunks[T->ck].time_ns : UINT64_MAX;
}

/* The keys a block made by T's event r gets: T's task and scope now, the
 * event's stack and weight. */
static inline msx_keys event_keys(const msx_cursor *T, const msx_rec *r)
{
    return (msx_keys){ .task = T->task, .stack = r->stack, .weight = r->weight,
                       .scope = msx_scopes_top(&T->scopes) };
}

/* Result of decode_chunk. */
typedef enum { RUN_CHUNK_END, RUN_STOP } run_result;

/* Decodes T's current chunk until it ends (RUN_CHUNK_END), or T must yield
 * (RUN_STOP): its time passed `limit`, it blocked, or a fatal error happened. */
static run_result decode_chunk(msx_merge *M, msx_cursor *T, uint64_t limit)
{
    const uint8_t *p = T->p;
    const uint8_t *const end = T->end;
    const uint32_t version = M->R->version;
    uint64_t addr = T->addr;

#define SAVE() (T->p = p, T->addr = addr)
    while (p < end && !M->R->err) {
        const uint8_t *rec = p;
        const char *bad = "";
        if (T->win.next > limit) {
            /* another thread's next event comes first: yield before an event
             * without decoding it; a reserved kind, another head form or a
             * control record goes on to the decoder, as before */
            int k = msx_rec_peek_kind(p, end);
            if (k == MSF_K_ALLOC || k == MSF_K_FREE || k == MSF_K_REALLOC || k == MSF_K_ALLOC_EX ||
                (k == MSF_K_REALLOC_EX && version >= 2)) {
                SAVE();
                return RUN_STOP;
            }
        }
        msx_rec r;
        msx_rec_result rr = msx_rec_decode(&p, end, version, &r, &bad);
        if (rr == MSX_REC_BAD)
            goto bad;
        if (rr == MSX_REC_EVENT && T->win.next > limit)
            goto yield;  /* another thread's next event comes first */
        switch (rr == MSX_REC_EVENT ? r.kind : MSF_K_RECORD) {
        case MSF_K_ALLOC:
        case MSF_K_ALLOC_EX: {
            uint64_t a = addr + msf_zz_dec(r.arg);
            msx_slot *s = msx_livemap_slot(&M->map, a);
            if (!s)
                goto oom;
            if (msx_slot_state(s) == MSX_SLOT_LIVE && !T->force) {
                block(M, T, a, false);
                goto yield;
            }
            if (!take_event(M, T, MSF_K_ALLOC, a, r.size, &r))
                return RUN_STOP;
            addr = a;
            msx_keys keys = event_keys(T, &r);
            if (!arrive(M, T, s, a, r.size, T->now, &keys))
                return RUN_STOP;
            break;
        }
        case MSF_K_FREE: {
            uint64_t a = addr + msf_zz_dec(r.arg);
            msx_slot *s = msx_livemap_find(&M->map, a);
            bool live = s && msx_slot_state(s) == MSX_SLOT_LIVE;
            if (!live && !T->force) {
                block(M, T, a, true);
                goto yield;
            }
            if (!take_event(M, T, MSF_K_FREE, a, 0, &r))
                return RUN_STOP;
            addr = a;
            if (live)
                settle_free(M, T, s);
            else if (M->forked)
                M->inherited_frees++;
            else if (!depart_early(M, T, a, s ? MSX_ANOM_DOUBLE_FREE : MSX_ANOM_UNKNOWN_FREE))
                return RUN_STOP;
            break;
        }
        case MSF_K_REALLOC:
        case MSF_K_REALLOC_EX: {
            uint64_t old = addr + msf_zz_dec(r.arg), nu = old + (uint64_t)r.delta;
            msx_slot *so = msx_livemap_find(&M->map, old);
            bool old_live = so && msx_slot_state(so) == MSX_SLOT_LIVE;
            if (!T->force) {
                bool wait_old = !old_live;
                const msx_slot *sn = wait_old || nu == old ? NULL : msx_livemap_find(&M->map, nu);
                if (wait_old || (sn && msx_slot_state(sn) == MSX_SLOT_LIVE)) {
                    block(M, T, wait_old ? old : nu, wait_old);
                    goto yield;
                }
            }
            if (!take_event(M, T, MSF_K_REALLOC, old, r.size, &r))
                return RUN_STOP;
            msx_keys keys = event_keys(T, &r);
            uint64_t born = T->now;
            addr = nu;
            if (old_live) {
                born = so->born;
                keys.var = msx_livemap_keys(&M->map, so).var;  /* the variable moves with its block */
                msx_pend *e = msx_pending_find(&M->pend, old);
                if (nu == old && !(e && e->frees)) {
                    /* in place; the slot call keeps the map's rebuilds where
                     * a free and a new allocation of the address had them */
                    if (!(so = msx_livemap_slot(&M->map, nu)))
                        goto oom;
                    resize(M, T, so, r.size, &keys);
                    break;
                }
                unlive(M, T, so, MSX_BEVF_REALLOC);
                if (nu != old)  /* a block waited for old */
                    hand_over(M, e, so);
            } else if (M->forked) {
                M->inherited_reallocs++;
            } else if (!depart_early(M, T, old, MSX_ANOM_UNKNOWN_REALLOC)) {
                return RUN_STOP;
            }
            msx_slot *sn = msx_livemap_slot(&M->map, nu);
            if (!sn)
                goto oom;
            if (!arrive(M, T, sn, nu, r.size, born, &keys))
                return RUN_STOP;
            break;
        }
        default:
            if (rr == MSX_REC_TIME) {
                uint64_t t = r.time;
                if (t < T->win.t0) {
                    msx_reader_problem(M->R, off_of(T, rec),
                                       "thread %u: TIME goes backwards (%llu after %llu): kept at %llu", T->serial,
                                       (unsigned long long)t, (unsigned long long)T->win.t0,
                                       (unsigned long long)T->win.t0);
                    t = T->win.t0;
                }
                msx_window_start(M->R, &M->arena, &T->win, t, p, end, next_chunk_time(M, T));
                if (T->win.next > limit) {
                    SAVE();
                    return RUN_STOP;
                }
                break;
            }
            msx_obj o;
            long n = msx_mpk_decode(&M->arena, p, (size_t)(end - p), &o);
            if (n == -ENOMEM)
                goto oom;
            bad = n == 0 ? "control record cut short (or its item counts are corrupt)"
                         : "control record is not valid MessagePack";
            if (n <= 0) {
                msx_arena_reset(&M->arena);
                goto bad;
            }
            p += n;
            bool ok = apply_record(M, T, r.arg, &o, off_of(T, rec));
            msx_arena_reset(&M->arena);
            if (!ok)
                return RUN_STOP;
            break;
        }
        continue;
yield:
        p = rec;
        SAVE();
        return RUN_STOP;
bad:
        SAVE();
        damage(M, T, rec, bad);
        return RUN_CHUNK_END;
oom:
        SAVE();
        msx_reader_fail(M->R, -ENOMEM, off_of(T, rec), "out of memory");
        return RUN_STOP;
    }
#undef SAVE
    T->p = p;
    T->addr = addr;
    return RUN_CHUNK_END;
}

/* Counts a decoded chunk's bytes as done and reports progress. */
static void finish_chunk(msx_merge *M, const msx_chunk *c)
{
    M->work_done += MSF_CHUNK_HEADER_SIZE + (uint64_t)c->present;
    if (M->progress)
        M->progress(M->progress_ctx, M->work_done, M->R->work_total);
}

/* Opens T's next chunk: reads its payload (into T's buffer, or one from the
 * pool), starts its first window, hands it to the views. Returns false if T
 * has no chunk left or on a fatal error. */
static bool open_chunk(msx_merge *M, msx_cursor *T)
{
    if (T->ck == T->ck_end)
        return false;
    msx_chunk *c = &M->R->chunks[T->ck++];
    if (!T->buf && M->npool) {
        M->npool--;
        T->buf = M->pool[M->npool].buf;
        T->cap = M->pool[M->npool].cap;
    }
    long got = msx_reader_load(M->R, c, &T->buf, &T->cap);
    if (got < 0)
        return false;
    T->cur = c;
    T->p = T->buf;
    T->end = T->buf + got;
    T->addr = 0;
    T->task = c->task;
    msx_window_start(M->R, &M->arena, &T->win, c->time_ns > T->win.t0 ? c->time_ns : T->win.t0, T->p, T->end,
                     next_chunk_time(M, T));
    msx_ctl_ev e = { .kind = MSX_CTL_CHUNK, .actor = T->index, .time = T->win.t0, .chunk = c };
    if (!emit_control(M, &e, c->off))
        return false;
    if (c->first_event > T->evno) {
        uint64_t lost = c->first_event - T->evno;
        M->lost_events += lost;
        msx_reader_problem(M->R, c->off,
                           "thread %u: %llu events before seq %u are missing (a chunk was lost or cut short)",
                           T->serial, (unsigned long long)lost, c->seq);
    } else if (c->first_event < T->evno) {
        msx_reader_problem(M->R, c->off, "thread %u: seq %u says %llu events came before it, %llu were read",
                           T->serial, c->seq, (unsigned long long)c->first_event, (unsigned long long)T->evno);
    }
    T->evno = c->first_event;
    return true;
}

/* Marks T done: its buffer goes to the pool, the views learn its last time. */
static void thread_done(msx_merge *M, msx_cursor *T)
{
    T->st = MSX_TS_DONE;
    M->ndone++;
    T->cur = NULL;
    if (T->buf) {
        M->pool[M->npool++] = (msx_pooled){ T->buf, T->cap };
        T->buf = NULL;
    }
    msx_ctl_ev e = { .kind = MSX_CTL_THREAD_DONE, .actor = T->index,
                     .time = T->now > T->win.t0 ? T->now : T->win.t0 };
    emit_control(M, &e, 0);
}

/* Runs T until its time passes limit, it blocks, or it ends. */
static void run_thread(msx_merge *M, msx_cursor *T, uint64_t limit)
{
    for (;;) {
        if (T->cur && T->p < T->end) {
            if (decode_chunk(M, T, limit) == RUN_STOP || M->R->err)
                return;
            if (T->p < T->end)
                continue;
        }
        if (T->cur)
            finish_chunk(M, T->cur);
        if (!open_chunk(M, T)) {
            if (!M->R->err)
                thread_done(M, T);
            return;
        }
        if (T->win.next > limit)
            return;
    }
}

/* True if what T waits for has happened. */
static bool resolved(const msx_merge *M, const msx_cursor *T)
{
    const msx_slot *s = msx_livemap_find(&M->map, T->wait_addr);
    bool live = s && msx_slot_state(s) == MSX_SLOT_LIVE;
    return live == T->wait_live;
}

/* Unblocks T; force: its event is taken even if still invalid. */
static void unblock(msx_merge *M, msx_cursor *T, bool force)
{
    T->st = MSX_TS_RUN;
    T->force = force;
    M->nblocked--;
}

/* Unblocks the blocked threads whose wait is over: what they wait for has
 * happened, or every other unfinished thread is past the end of their
 * window. Returns false if no thread is left unfinished. */
static bool settle_blocked(msx_merge *M)
{
    /* the two lowest window starts (TIME in force) of unfinished threads:
     * every event a thread has left happened at or after its t0 */
    uint64_t m1 = UINT64_MAX, m2 = UINT64_MAX;
    msx_cursor *m1t = NULL;
    for (uint32_t i = 0; i < M->nts; i++) {
        msx_cursor *T = &M->ts[i];
        if (T->st == MSX_TS_DONE)
            continue;
        if (!m1t || T->win.t0 < m1) {
            m2 = m1;
            m1 = T->win.t0;
            m1t = T;
        } else if (T->win.t0 < m2) {
            m2 = T->win.t0;
        }
    }
    if (!m1t)
        return false;
    for (uint32_t i = 0; i < M->nts; i++) {
        msx_cursor *T = &M->ts[i];
        if (T->st != MSX_TS_BLOCKED)
            continue;
        if (resolved(M, T)) {
            unblock(M, T, false);
            continue;
        }
        /* forcing uses the window's real end, not the spread's */
        uint64_t others = T == m1t ? m2 : m1;
        if (others == UINT64_MAX || others > T->win.end)
            unblock(M, T, true);
    }
    return true;
}

int msx_merge_run(msx_merge *M)
{
    while (!M->R->err) {
        if (M->nblocked ? !settle_blocked(M) : M->ndone == M->nts)
            return 0;
        msx_cursor *Rn = NULL;
        uint64_t limit = UINT64_MAX;
        for (uint32_t i = 0; i < M->nts; i++) {
            msx_cursor *T = &M->ts[i];
            if (T->st != MSX_TS_RUN)
                continue;
            if (!Rn || T->win.next < Rn->win.next) {
                if (Rn && Rn->win.next < limit)
                    limit = Rn->win.next;
                Rn = T;
            } else if (T->win.next < limit) {
                limit = T->win.next;
            }
        }
        if (!Rn) {
            /* every unfinished thread is blocked: force the earliest on */
            msx_cursor *B = NULL;
            for (uint32_t i = 0; i < M->nts; i++) {
                msx_cursor *T = &M->ts[i];
                if (T->st == MSX_TS_BLOCKED && (!B || T->win.next < B->win.next))
                    B = T;
            }
            if (!B)  /* cannot be: some thread is unfinished, none runs */
                return msx_reader_fail(M->R, -EINVAL, 0, "merge: a thread is neither done, running nor blocked");
            M->forced_merges++;
            unblock(M, B, true);
            continue;
        }
        run_thread(M, Rn, limit);
    }
    return M->R->err;
}

/* -- setup and finishing -------------------------------------------------- */

int msx_merge_init(msx_merge *M, msx_reader *R, msx_views *V)
{
    *M = (msx_merge){ .R = R, .V = V };
    if (msx_livemap_init(&M->map) < 0)
        return msx_reader_fail(R, -ENOMEM, 0, "out of memory");
    uint32_t nts = R->nthreads;
    M->ts = calloc(nts ? nts : 1, sizeof *M->ts);
    M->pool = calloc(nts ? nts : 1, sizeof *M->pool);
    if (!M->ts || !M->pool)
        return msx_reader_fail(R, -ENOMEM, 0, "out of memory for %u threads", nts);
    M->nts = nts;
    uint32_t t = 0;
    for (uint64_t i = 0; i < R->nchunks; i++) {
        if (i && R->chunks[i].thread == R->chunks[i - 1].thread) {
            M->ts[t - 1].ck_end++;
            continue;
        }
        msx_cursor *T = &M->ts[t];
        T->index = t;
        T->serial = R->chunks[i].thread;
        T->ck = (uint32_t)i;
        T->ck_end = (uint32_t)i + 1;
        T->win.t0 = T->win.next = R->chunks[i].time_ns;
        T->st = MSX_TS_RUN;
        t++;
    }
    return 0;
}

/* Orders waiting events by time, then by their thread's event number. */
static int pend_cmp(const void *x, const void *y)
{
    const msx_pend *a = x, *b = y;
    uint64_t ta = a->frees ? a->free_time : a->born, tb = b->frees ? b->free_time : b->born;
    uint64_t ea = a->frees ? a->free_event : a->alloc_event;
    uint64_t eb = b->frees ? b->free_event : b->alloc_event;
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return ea < eb ? -1 : ea > eb;
}

int msx_merge_finish(msx_merge *M)
{
    /* What still waits found no partner: a free of an address never
     * allocated (or a block freed twice), an allocation of a live address. */
    msx_pend *left = M->pend.n ? malloc(M->pend.n * sizeof *left) : NULL;
    uint64_t nleft = 0;
    for (uint64_t i = 0; left && i < M->pend.cap; i++)
        if (M->pend.e[i].used)
            left[nleft++] = M->pend.e[i];
    if (left)
        qsort(left, nleft, sizeof *left, pend_cmp); /* listed in the order they happened */
    for (uint64_t i = 0; i < nleft; i++) {
        const msx_pend *e = &left[i];
        for (uint32_t k = 0; k < e->frees; k++)
            note_anomaly(M, &M->ts[e->free_thread], (msx_anomaly_kind)e->free_kind, e->addr, e->free_time,
                         e->free_event);
        for (uint32_t k = 0; k < e->allocs; k++)
            note_anomaly(M, &M->ts[e->alloc_thread], MSX_ANOM_LIVE_ALLOC, e->addr, e->born, e->alloc_event);
    }
    free(left);
    if (M->pend.n && !left)
        return msx_reader_fail(M->R, -ENOMEM, 0, "out of memory");
    for (uint64_t i = 0; i < M->map.cap; i++) {
        const msx_slot *s = &M->map.slots[i];
        if (msx_slot_state(s) != MSX_SLOT_LIVE)
            continue;
        msx_block_ev e = { .kind = MSX_BEV_SURVIVED, .actor = msx_slot_thread(s), .live = M->live_bytes };
        e.blk = blk_of(M, s);
        e.time = M->ts[e.actor].now;
        emit(M, &e);
    }
    return M->R->err;
}

void msx_merge_free(msx_merge *M)
{
    for (uint32_t i = 0; i < M->nts; i++) {
        free(M->ts[i].buf);
        msx_scopes_free(&M->ts[i].scopes);
    }
    for (uint32_t i = 0; i < M->npool; i++)
        free(M->pool[i].buf);
    msx_labels_free(&M->labels);
    free(M->pool);
    free(M->ts);
    msx_pending_free(&M->pend);
    msx_livemap_free(&M->map);
    msx_arena_free(&M->arena);
    *M = (msx_merge){ 0 };
}

const msx_var_label *msx_merge_var(const msx_merge *M, uint64_t id)
{
    return msx_labels_get(&M->labels, id);
}
