/* The runtime snapshots (FORMAT.md "Snapshots"): for each SNAPSHOT record of
 * the snapshot log, what was live at its cut. The figures are the snapshot
 * fold's (format/fold.h), the code the program ran when it took the
 * snapshot, run here again batch by batch up to the same cuts, in the same
 * order: so they equal what memscope_snapshot_* returned. (Where threads
 * passed an address back and forth in overlapping TIME windows, the fold may
 * pair a free with another block than the merge does: the snapshot figures
 * follow the fold, the rest of the report the merge.)
 *
 * Memory: the fold's tables, the log's records, one payload buffer per
 * thread for the chunk it is in, and the buffers of one batch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "mpk.h"
#include "reader.h"
#include "report.h"

/* One SNAPSHOT record: id, time and cut ([serial, pos] pairs). */
typedef struct snap_rec {
    uint64_t id, time_ns;
    uint64_t (*cut)[2];
    uint32_t ncut;
} snap_rec;

/* A chunk payload read for the fold. */
typedef struct held {
    uint32_t serial, seq;
    uint8_t *buf;
    size_t cap;
} held;

/* The index entry of (serial, seq) in the reader's sorted chunks, or NULL. */
static msx_chunk *find_chunk(const msx_reader *R, uint32_t serial, uint32_t seq)
{
    uint64_t lo = 0, hi = R->nchunks;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const msx_chunk *c = &R->chunks[mid];
        if (c->thread < serial || (c->thread == serial && c->seq < seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < R->nchunks && R->chunks[lo].thread == serial && R->chunks[lo].seq == seq ? &R->chunks[lo] : NULL;
}

static int rec_cmp(const void *a, const void *b)
{
    const snap_rec *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads the SNAPSHOT records of the log into *out (by id). */
static int read_log(msx_reader *R, snap_rec **out, uint32_t *nout, uint64_t *total)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    msx_arena arena = { 0 };
    snap_rec *v = NULL;
    uint32_t n = 0, vcap = 0;
    int rc = 0;
    for (uint64_t k = 0; k < R->nsnapchunks && !rc; k++) {
        msx_chunk *c = &R->snapchunks[k];
        long got = msx_reader_load(R, c, &buf, &cap);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        const uint8_t *p = buf, *end = buf + got;
        while (p < end && !rc) {
            const uint8_t *rec = p;
            msx_rec r;
            const char *bad = "";
            msx_rec_result rr = msx_rec_decode(&p, end, R->version, &r, &bad);
            if (rr == MSX_REC_TIME)
                continue; /* the writer's log has none; a TIME says nothing here */
            msx_obj o;
            long on = rr == MSX_REC_CONTROL ? msx_mpk_decode(&arena, p, (size_t)(end - p), &o) : 0;
            if (on == -ENOMEM) {
                rc = -ENOMEM;
                break;
            }
            if (rr != MSX_REC_CONTROL || on <= 0) {
                msx_reader_problem(R, c->off + MSF_CHUNK_HEADER_SIZE + (uint64_t)(rec - buf),
                                   "snapshot log: undecodable record: the rest of the chunk is skipped");
                break;
            }
            p += on;
            const msx_obj *cut = msx_map_get(&o, MSF_KEY_CUT);
            if (r.arg == MSF_R_SNAPSHOT && cut && cut->type == MSX_ARRAY) {
                (*total)++;
                if (n == vcap) {
                    uint32_t nc = vcap ? vcap * 2 : 16;
                    snap_rec *nv = realloc(v, nc * sizeof *nv);
                    if (!nv) {
                        rc = -ENOMEM;
                        break;
                    }
                    v = nv;
                    vcap = nc;
                }
                snap_rec *s = &v[n];
                *s = (snap_rec){ .id = msx_map_uint(&o, MSF_KEY_ID, 0), .time_ns = msx_map_uint(&o, MSF_KEY_TIME, 0) };
                s->cut = cut->n ? malloc(cut->n * sizeof *s->cut) : NULL;
                if (cut->n && !s->cut) {
                    rc = -ENOMEM;
                    break;
                }
                for (uint32_t i = 0; i < cut->n; i++) {
                    const msx_obj *pair = &cut->v.a[i];
                    if (pair->type == MSX_ARRAY && pair->n == 2 && pair->v.a[0].type == MSX_UINT &&
                        pair->v.a[1].type == MSX_UINT && pair->v.a[0].v.u <= UINT32_MAX) {
                        s->cut[s->ncut][0] = pair->v.a[0].v.u;
                        s->cut[s->ncut][1] = pair->v.a[1].v.u;
                        s->ncut++;
                    }
                }
                n++;
            }
            msx_arena_reset(&arena);
        }
    }
    free(buf);
    msx_arena_free(&arena);
    if (v)
        qsort(v, n, sizeof *v, rec_cmp);
    *out = v;
    *nout = n;
    return rc;
}

/* Orders a snapshot's tasks by id. */
static int task_cmp(const void *a, const void *b)
{
    const msx_snap_task *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Fills s from the fold: totals, and the MSX_MAX_SNAP_TASKS tasks with the
 * most live bytes (ties: the lower id), by id. */
static int fill(msx_snap_report *s, const msf_fold *F)
{
    s->live_bytes = F->live;
    s->active_tasks = F->active;
    for (uint64_t i = 0; i < F->captk; i++) {
        const msf_fold_task *k = &F->tk[i];
        if (!k->used || !k->live)
            continue;
        if (!s->tasks && !(s->tasks = malloc(MSX_MAX_SNAP_TASKS * sizeof *s->tasks)))
            return -ENOMEM;
        if (s->ntasks < MSX_MAX_SNAP_TASKS) {
            s->tasks[s->ntasks++] = (msx_snap_task){ k->id, k->live };
            continue;
        }
        s->tasks_omitted++;
        uint32_t m = 0;
        for (uint32_t j = 1; j < s->ntasks; j++)
            if (s->tasks[j].live_bytes < s->tasks[m].live_bytes ||
                (s->tasks[j].live_bytes == s->tasks[m].live_bytes && s->tasks[j].id > s->tasks[m].id))
                m = j;
        if (k->live > s->tasks[m].live_bytes || (k->live == s->tasks[m].live_bytes && k->id < s->tasks[m].id))
            s->tasks[m] = (msx_snap_task){ k->id, k->live };
    }
    if (s->ntasks)
        qsort(s->tasks, s->ntasks, sizeof *s->tasks, task_cmp);
    return 0;
}

/* The payload of chunk (serial, seq) in hs[0..*nh), read if new; NULL on
 * a fatal error. */
static held *hold(msx_reader *R, held **hs, uint32_t *nh, uint32_t *caph, msx_chunk *c)
{
    for (uint32_t i = 0; i < *nh; i++)
        if ((*hs)[i].serial == c->thread && (*hs)[i].seq == c->seq)
            return &(*hs)[i];
    if (*nh == *caph) {
        uint32_t nc = *caph ? *caph * 2 : 16;
        held *n = realloc(*hs, nc * sizeof *n);
        if (!n)
            return NULL;
        *hs = n;
        *caph = nc;
    }
    held *h = &(*hs)[(*nh)++];
    *h = (held){ .serial = c->thread, .seq = c->seq };
    if (msx_reader_load(R, c, &h->buf, &h->cap) < 0) {
        free(h->buf);
        (*nh)--;
        return NULL;
    }
    return h;
}

int msx_snaps_analyze(msx_reader *R, msx_report *r)
{
    if (!R->nsnapchunks)
        return 0;
    snap_rec *v = NULL;
    uint32_t n = 0;
    uint64_t total = 0;
    int rc = read_log(R, &v, &n, &total);
    msf_fold F = { 0 };
    held *hs = NULL;
    uint32_t nh = 0, caph = 0;
    msf_fold_chunk *batch = NULL;
    size_t capb = 0;
    uint32_t keep = n < MSX_MAX_SNAPS ? n : MSX_MAX_SNAPS;
    bool bad_cut = false;
    if (!rc && keep && !(r->snaps = calloc(keep, sizeof *r->snaps)))
        rc = -ENOMEM;
    for (uint32_t s = 0; s < keep && !rc && !R->err; s++) {
        const snap_rec *x = &v[s];
        /* the batch: each thread of the cut, from the chunk it is in to the
         * cut's, as far as the reader has its chunks (a cut past them, or
         * past a chunk's bytes, is damage: the fold goes as far as it can) */
        size_t used = 0;
        for (uint32_t i = 0; i < x->ncut && !rc; i++) {
            msf_fold_thread *T = msf_fold_thread_of(&F, (uint32_t)x->cut[i][0]);
            if (!T) {
                rc = -ENOMEM;
                break;
            }
            uint64_t cseq = x->cut[i][1] >> 32;
            uint32_t coff = (uint32_t)x->cut[i][1];
            size_t first = used;
            for (uint64_t q = T->seq; q <= cseq; q++) {
                msx_chunk *c = find_chunk(R, T->serial, (uint32_t)q);
                if (!c) {
                    bad_cut = true;
                    break;
                }
                if (used == capb) {
                    size_t nc = capb ? capb * 2 : 64;
                    msf_fold_chunk *nb = realloc(batch, nc * sizeof *nb);
                    if (!nb) {
                        rc = -ENOMEM;
                        break;
                    }
                    batch = nb;
                    capb = nc;
                }
                held *h = hold(R, &hs, &nh, &caph, c);
                if (!h) {
                    rc = R->err ? R->err : -ENOMEM;
                    break;
                }
                if (q == cseq && coff > c->present)
                    bad_cut = true;
                uint32_t stop = q < cseq ? c->present : (coff < c->present ? coff : c->present);
                batch[used++] = (msf_fold_chunk){ .seq = (uint32_t)q, .payload = h->buf, .stop = stop,
                                                  .task = c->task, .time_ns = c->time_ns };
            }
            T->nck = (uint32_t)(used - first);
            T->user = first; /* the batch may still move: pointers are set below */
        }
        if (rc)
            break;
        for (size_t i = 0; i < F.nth; i++)
            if (F.th[i].nck)
                F.th[i].ck = batch + F.th[i].user;
        msf_fold_run(&F);
        if (F.oom) {
            rc = -ENOMEM;
            break;
        }
        msx_snap_report *out = &r->snaps[s];
        out->id = x->id;
        out->time_ns = x->time_ns;
        r->nsnaps = s + 1;
        if ((rc = fill(out, &F)) < 0)
            break;
        /* keep only the payloads of the chunks the threads are in */
        uint32_t w = 0;
        for (uint32_t i = 0; i < nh; i++) {
            msf_fold_thread *T = msf_fold_thread_of(&F, hs[i].serial);
            if (T && T->seq == hs[i].seq)
                hs[w++] = hs[i];
            else
                free(hs[i].buf);
        }
        nh = w;
    }
    if (F.bad)
        msx_reader_problem(R, 0, "runtime snapshots: a record did not decode: the rest of its chunk was left out");
    if (bad_cut)
        msx_reader_problem(R, 0, "runtime snapshots: a cut names chunks or bytes the trace does not hold: "
                                 "the snapshots go as far as the trace does");
    r->snaps_omitted = total - r->nsnaps;
    for (uint32_t i = 0; i < nh; i++)
        free(hs[i].buf);
    free(hs);
    free(batch);
    msf_fold_free(&F);
    for (uint32_t i = 0; i < n; i++)
        free(v[i].cut);
    free(v);
    return rc == -ENOMEM ? rc : 0;
}
