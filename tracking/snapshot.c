/* The runtime snapshot (memscope_snapshot_*): live bytes in total and per
 * task, and the active tasks, computed inside the traced program from its own
 * trace (docs/FORMAT.md "Snapshots").
 *
 * State kept between snapshots, under one lock (never taken on the malloc
 * path): the chunks found and not yet decoded to their end, and the fold
 * (format/fold.h: the live blocks, the tasks, each thread's place). A
 * snapshot finds the chunks taken since the last one (their 64-byte headers
 * are read with pread: a chunk being reserved may still be a hole, which a
 * mapping would fault on), maps the ones in use read-only, has the fold
 * decode each thread from where the last snapshot stopped up to the chunks'
 * committed lengths as read now (the cut), and writes a SNAPSHOT record
 * naming that cut into its own log chunk. So a snapshot costs time in
 * proportion to the events since the last one, and the export, running the
 * same fold up to the same cuts, gives the same figures. Everything here runs
 * under the guard: its memory is memscope's own. */
#include "memscope.h"

#include "pack.h"
#include "prim.h"
#include "stream.h"
#include "tracker.h"
#include "fold.h"
#include "process.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS_EXPORT __attribute__((visibility("default")))

/* A chunk found by the scan, not yet decoded to its end. */
typedef struct snap_chunk {
    uint64_t off;            /* file offset of its header */
    uint32_t size, seq, thread;
    const uint8_t *map;      /* the whole chunk, read-only; NULL while magic was 0 */
} snap_chunk;

struct memscope_snapshot {
    uint64_t id, time_ns, live_bytes, active_tasks;
    size_t ntasks;           /* tasks with live bytes, by id */
    uint64_t (*tasks)[2];    /* [id, live bytes] */
};

typedef struct snap_state {
    pthread_mutex_t lock;
    uint64_t pid;            /* the process the state belongs to (a fork child starts over) */
    uint64_t scan_off;       /* file offset of the next chunk header to read */
    snap_chunk *ck;          /* chunks found and not done */
    size_t nck, capck;
    msf_fold fold;           /* the live blocks, tasks and threads' places (format/fold.h) */
    msf_fold_chunk *batch;   /* this snapshot's chunks, by thread */
    size_t capbatch;
    uint64_t next_id;
    bool oom;
    /* the snapshot log */
    ms_chunk_header_t *log;
    uint8_t *log_cur;
    uint32_t log_seq;
} snap_state;

static snap_state S = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Maps chunk c whole once its writer has taken it (magic set); until then
 * it stays unmapped and is looked at again by the next snapshot. */
static void chunk_try_map(snap_chunk *c, int fd)
{
    if (c->map)
        return;
    ms_chunk_header_t h;
    if (pread(fd, &h, sizeof h, (off_t)c->off) != (ssize_t)sizeof h || h.magic != MSF_CHUNK_MAGIC)
        return;
    if (h.thread == MSF_SNAPSHOT_THREAD || (h.flags & MSF_CF_SNAPSHOTS)) {
        c->size = 0; /* the snapshot log: nothing to decode */
        return;
    }
    void *m = mmap(NULL, c->size, PROT_READ, MAP_SHARED, fd, (off_t)c->off);
    if (m == MAP_FAILED)
        return;
    const ms_chunk_header_t *mh = m;
    c->map = m;
    c->seq = mh->seq;
    c->thread = mh->thread;
}

/* Finds the chunks taken since the last snapshot: walks the file from
 * scan_off by the chunks' size fields, as far as the file is written. */
static void scan_chunks(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return;
    for (;;) {
        ms_chunk_header_t h;
        if (S.scan_off + sizeof h > (uint64_t)st.st_size ||
            pread(fd, &h, sizeof h, (off_t)S.scan_off) != (ssize_t)sizeof h)
            return;
        /* a chunk whose reservation has not written its size yet: next time */
        if (h.size < MSF_CHUNK_MIN || h.size % MSF_CHUNK_ALIGN || S.scan_off + h.size > (uint64_t)st.st_size)
            return;
        if (S.nck == S.capck) {
            size_t nc = S.capck ? S.capck * 2 : 64;
            snap_chunk *n = realloc(S.ck, nc * sizeof *n);
            if (!n) {
                S.oom = true;
                return;
            }
            S.ck = n;
            S.capck = nc;
        }
        S.ck[S.nck++] = (snap_chunk){ .off = S.scan_off, .size = h.size };
        S.scan_off += h.size;
    }
}

/* Orders found chunks: mapped ones first, by thread, then seq. */
static int chunk_cmp(const void *a, const void *b)
{
    const snap_chunk *x = a, *y = b;
    if (!x->map != !y->map)
        return x->map ? -1 : 1;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Maps the chunks found, and hands the fold each thread's batch: its
 * chunks from the one it is in on, in seq order, each up to its committed
 * length as read now (the cut). A chunk's length is read after its thread's
 * next chunk was seen, when there is one: it is final then. */
static void batch_chunks(int fd)
{
    for (size_t i = 0; i < S.nck; i++)
        chunk_try_map(&S.ck[i], fd);
    if (S.capbatch < S.nck) {
        msf_fold_chunk *n = realloc(S.batch, S.nck * sizeof *n);
        if (!n) {
            S.oom = true;
            return;
        }
        S.batch = n;
        S.capbatch = S.nck;
    }
    qsort(S.ck, S.nck, sizeof *S.ck, chunk_cmp);
    size_t used = 0;
    for (size_t i = 0; i < S.nck && S.ck[i].map;) {
        msf_fold_thread *T = msf_fold_thread_of(&S.fold, S.ck[i].thread);
        if (!T)
            return;
        size_t first = used;
        uint32_t want = T->seq;
        for (; i < S.nck && S.ck[i].map && S.ck[i].thread == T->serial; i++) {
            const snap_chunk *c = &S.ck[i];
            if (c->seq != want)
                continue; /* before the one it is in (none: those are done), or past a gap */
            const ms_chunk_header_t *h = (const void *)c->map;
            S.batch[used++] = (msf_fold_chunk){ .seq = c->seq, .payload = c->map + MSF_CHUNK_HEADER_SIZE,
                                                .task = h->task, .time_ns = h->time_ns };
            want++;
        }
        T->ck = S.batch + first;
        T->nck = (uint32_t)(used - first);
        /* the lengths, last chunk first: the earlier ones are final once a later one exists */
        for (uint32_t k = T->nck; k-- > 0;) {
            msf_fold_chunk *b = &S.batch[first + k];
            ms_chunk_header_t *h = (ms_chunk_header_t *)(uintptr_t)(b->payload - MSF_CHUNK_HEADER_SIZE);
            uint32_t cap = h->size - MSF_CHUNK_HEADER_SIZE;
            uint32_t committed = atomic_load_explicit(&h->committed, memory_order_acquire);
            b->stop = committed < cap ? committed : cap;
        }
    }
}

/* Unmaps the chunks every thread has left behind, and the last chunk of a
 * thread that exited once it is decoded to its end (its flag is set after its
 * last record: read first, with acquire). */
static void retire_chunks(void)
{
    for (size_t i = 0; i < S.nck; i++) {
        snap_chunk *c = &S.ck[i];
        if (!c->map)
            continue;
        msf_fold_thread *T = msf_fold_thread_of(&S.fold, c->thread);
        if (!T || !T->started)
            continue;
        bool done = c->seq < T->seq;
        if (!done && c->seq == T->seq) {
            ms_chunk_header_t *h = (ms_chunk_header_t *)(uintptr_t)c->map;
            uint32_t flags = atomic_load_explicit((_Atomic uint32_t *)&h->flags, memory_order_acquire);
            done = (flags & MSF_CF_THREAD_EXITED) &&
                   T->off == atomic_load_explicit(&h->committed, memory_order_acquire);
        }
        if (done) {
            munmap((void *)c->map, c->size);
            c->map = NULL;
            c->size = 0; /* done: dropped by tidy_chunks */
        }
    }
}

/* Drops the chunks decoded to their end from the list. */
static void tidy_chunks(void)
{
    size_t w = 0;
    for (size_t i = 0; i < S.nck; i++) {
        if (S.ck[i].size == 0)
            continue;
        S.ck[w++] = S.ck[i];
    }
    S.nck = w;
}

/* -- the snapshot log ------------------------------------------------------ */

/* Writes the SNAPSHOT record of s and the cut into the log chunk (a new one
 * when it does not fit). A record that cannot be written is counted in the
 * header's dropped_records. */
static void log_snapshot(const memscope_snapshot_t *s)
{
    size_t moved = 0;
    for (size_t i = 0; i < S.fold.nth; i++) {
        const msf_fold_thread *T = &S.fold.th[i];
        moved += !(T->started && T->user == msf_pos(T->seq, T->off) + 1);
    }
    size_t need = 64 + moved * 24;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (S.log) {
            ms_cbuf_t b = { S.log_cur, (uint8_t *)S.log + S.log->size, false };
            ms_pc_uint64(&b, msf_head(MSF_R_SNAPSHOT, MSF_K_RECORD));
            ms_pc_map(&b, 3);
            ms_pc_cstr(&b, MSF_KEY_ID);
            ms_pc_uint64(&b, s->id);
            ms_pc_cstr(&b, MSF_KEY_TIME);
            ms_pc_uint64(&b, s->time_ns);
            ms_pc_cstr(&b, MSF_KEY_CUT);
            ms_pc_array(&b, (unsigned)moved);
            for (size_t i = 0; i < S.fold.nth; i++) {
                const msf_fold_thread *T = &S.fold.th[i];
                if (T->started && T->user == msf_pos(T->seq, T->off) + 1)
                    continue; /* not moved since the last cut: the reader keeps it where it is */
                ms_pc_array(&b, 2);
                ms_pc_uint64(&b, T->serial);
                ms_pc_uint64(&b, msf_pos(T->seq, T->off));
            }
            if (!b.overflow) {
                for (size_t i = 0; i < S.fold.nth; i++)
                    S.fold.th[i].user = msf_pos(S.fold.th[i].seq, S.fold.th[i].off) + 1;
                S.log_cur = b.cur;
                uint8_t *pay = (uint8_t *)S.log + MSF_CHUNK_HEADER_SIZE;
                atomic_store_explicit(&S.log->committed, (uint32_t)(S.log_cur - pay), memory_order_release);
                return;
            }
        }
        /* a new log chunk, big enough for this record */
        uint32_t size = MSF_CHUNK_MIN;
        while (size < need + MSF_CHUNK_HEADER_SIZE && size < ms_stream_chunk_size())
            size *= 2;
        if (S.log)
            ms_stream_release_chunk(S.log);
        S.log = ms_stream_take_chunk(size);
        if (!S.log)
            break;
        S.log->thread = MSF_SNAPSHOT_THREAD;
        S.log->seq = S.log_seq++;
        S.log->tid = ms_prim_gettid();
        S.log->time_ns = s->time_ns;
        S.log->flags = MSF_CF_SNAPSHOTS;
        S.log_cur = (uint8_t *)S.log + MSF_CHUNK_HEADER_SIZE;
        atomic_store_explicit(&S.log->magic, MSF_CHUNK_MAGIC, memory_order_release);
    }
    ms_stream_add_dropped_record();
}

/* -- the API ---------------------------------------------------------------- */

/* Forgets everything after a fork: the child's trace is a new file. The
 * parent's mappings were unmapped by ms_stream_forget. */
static void reset_for(uint64_t pid)
{
    /* A fork child abandons what it inherited (another thread may have been
     * changing it at the fork): its mappings are gone, its memory stays. */
    if (!S.pid) {
        free(S.ck);
        free(S.batch);
        msf_fold_free(&S.fold);
    }
    pthread_mutex_t lock = S.lock;
    S = (snap_state){ .lock = lock, .pid = pid, .scan_off = MSF_FILE_HEADER_SIZE };
}

/* Builds the caller's result from the state. */
static memscope_snapshot_t *result(uint64_t time_ns)
{
    memscope_snapshot_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = ++S.next_id;
    s->time_ns = time_ns;
    s->live_bytes = S.fold.live;
    s->active_tasks = S.fold.active;
    size_t n = 0;
    const msf_fold_task *tk = S.fold.tk;
    for (uint64_t i = 0; i < S.fold.captk; i++)
        n += tk[i].used && tk[i].live;
    s->tasks = n ? malloc(n * sizeof *s->tasks) : NULL;
    if (n && !s->tasks) {
        free(s);
        return NULL;
    }
    for (uint64_t i = 0; i < S.fold.captk; i++) {
        if (tk[i].used && tk[i].live) {
            s->tasks[s->ntasks][0] = tk[i].id;
            s->tasks[s->ntasks][1] = tk[i].live;
            s->ntasks++;
        }
    }
    /* by id, for the lookups */
    for (size_t i = 1; i < s->ntasks; i++) {
        uint64_t a = s->tasks[i][0], b = s->tasks[i][1];
        size_t j = i;
        for (; j > 0 && s->tasks[j - 1][0] > a; j--) {
            s->tasks[j][0] = s->tasks[j - 1][0];
            s->tasks[j][1] = s->tasks[j - 1][1];
        }
        s->tasks[j][0] = a;
        s->tasks[j][1] = b;
    }
    return s;
}

static void child_unlock(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    S.lock = fresh; /* a snapshot under way in the parent never ends here */
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, child_unlock);
}

MS_EXPORT memscope_snapshot_t *memscope_snapshot_take(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int saved = errno;
    ms_process_init();
    ms_tls_t *t = ms_guard_enter();
    t->own++; /* the allocations below are memscope's own, not drops */
    pthread_once(&once, register_atfork);
    memscope_snapshot_t *s = NULL;
    int err = 0;
    pthread_mutex_lock(&S.lock);
    uint64_t pid = (uint64_t)getpid();
    if (S.pid != pid)
        reset_for(pid);
    int fd = ms_stream_fd();
    const ms_process_t *proc = ms_process_state();
    if (fd < 0 || !ms_stream_ready() || atomic_load_explicit(&proc->stopped, memory_order_acquire) ||
        atomic_load_explicit(&proc->ended, memory_order_acquire)) {
        /* MEMSCOPE_MODE=off, no trace could be made, the program closed the
         * trace's descriptor, or recording stopped (memscope_stop_tracing,
         * the exit flush) */
        err = ENOENT;
    } else {
        uint64_t now = ms_stream_now();
        scan_chunks(fd);
        batch_chunks(fd);
        if (!S.oom)
            msf_fold_run(&S.fold);
        retire_chunks();
        tidy_chunks();
        if (S.oom || S.fold.oom)
            err = ENOMEM; /* the figures would be short: no snapshot */
        else if (!(s = result(now)))
            err = ENOMEM;
        else
            log_snapshot(s);
    }
    pthread_mutex_unlock(&S.lock);
    t->own--;
    ms_guard_leave(t);
    errno = err ? err : saved;
    return s;
}

MS_EXPORT uint64_t memscope_snapshot_live_bytes(const memscope_snapshot_t *s)
{
    return s ? s->live_bytes : 0;
}

MS_EXPORT uint64_t memscope_snapshot_task_live_bytes(const memscope_snapshot_t *s, uint64_t task)
{
    if (!s)
        return 0;
    size_t lo = 0, hi = s->ntasks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->tasks[mid][0] < task)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->ntasks && s->tasks[lo][0] == task ? s->tasks[lo][1] : 0;
}

MS_EXPORT size_t memscope_snapshot_active_tasks(const memscope_snapshot_t *s)
{
    return s ? (size_t)s->active_tasks : 0;
}

MS_EXPORT uint64_t memscope_snapshot_id(const memscope_snapshot_t *s)
{
    return s ? s->id : 0;
}

MS_EXPORT uint64_t memscope_snapshot_time_ns(const memscope_snapshot_t *s)
{
    return s ? s->time_ns : 0;
}

MS_EXPORT void memscope_snapshot_release(memscope_snapshot_t *s)
{
    if (!s)
        return;
    int saved = errno;
    ms_tls_t *t = ms_guard_enter();
    t->own++;
    free(s->tasks);
    free(s);
    t->own--;
    ms_guard_leave(t);
    errno = saved;
}
