/* The snapshot fold: live bytes in total and per task, and active tasks, of
 * a trace's streams up to a cut (docs/FORMAT.md "Snapshots"), defined once.
 *
 * The traced program runs it over its own mapping of the trace when it takes
 * a snapshot (tracking/snapshot.c); the export runs it again over the file,
 * batch by batch up to the cuts the SNAPSHOT records name
 * (export/view_snaps.c). The same code, the same batches, the same result:
 * so a snapshot's figures in the program equal the report's for it.
 *
 * A batch is, per thread, the chunks from the one it is in to the cut's, each
 * decoded up to its stop. Within a batch, windows (a TIME record and the
 * records up to the next) go in time order across threads (ties: the lower
 * serial). An event that does not fit the live blocks (a free of an address
 * that holds none, an allocation of a live address) waits while another
 * thread can go on; when none can, the earliest is taken anyway: a free that
 * met no block then waits for the next allocation of its address (born and
 * gone at once), an allocation of a live address is a second block there
 * (the oldest goes first). A block belongs to the task current on its
 * thread when it was allocated (a realloc's new block: when reallocated).
 *
 * The tables are open addressing, a power of two at most half full, grown
 * by doubling with malloc (the program runs the fold under memscope's guard). */
#ifndef MSF_FOLD_H
#define MSF_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One chunk of a batch. */
typedef struct msf_fold_chunk {
    uint32_t seq;
    const uint8_t *payload;
    uint32_t stop;             /* payload bytes to decode: committed, or the cut's */
    uint64_t task, time_ns;    /* from its header */
} msf_fold_chunk;

/* A thread's place in its stream. */
typedef struct msf_fold_thread {
    uint32_t serial;
    uint32_t seq, off;         /* chunk and payload bytes decoded: the cut is msf_pos(seq, off) */
    bool started;              /* decoding chunk seq (addr, task, time are its) */
    uint64_t addr, task, time;
    /* this batch (set by the caller before msf_fold_run) */
    const msf_fold_chunk *ck;  /* chunks in seq order, the first of seq `seq` */
    uint32_t nck, ick;         /* count, and the one being decoded */
    bool blocked;              /* its next event does not fit */
    uint64_t user;             /* the caller's (the program: the position last logged) */
} msf_fold_thread;

typedef struct msf_fold_blk {
    uint64_t addr, size, task;
    bool used;
} msf_fold_blk;

typedef struct msf_fold_task {
    uint64_t id, live;
    bool used, created, ended;
} msf_fold_task;

typedef struct msf_fold_pend {
    uint64_t addr, n;
    bool used;
} msf_fold_pend;

typedef struct msf_fold {
    msf_fold_thread *th;
    size_t nth, capth;
    uint32_t *byserial;        /* serial -> index + 1, for serials below capser */
    uint32_t capser;
    uint32_t *running;         /* msf_fold_run: the threads with a batch */
    msf_fold_blk *blk;
    uint64_t capblk, nblk;
    msf_fold_task *tk;
    uint64_t captk, ntk;
    msf_fold_pend *pd;
    uint64_t cappd, npd;
    uint64_t live;             /* bytes of the live blocks */
    uint64_t active;           /* tasks created and not ended */
    bool oom;                  /* a table could not grow: the figures are short */
    bool bad;                  /* a record did not decode: the rest of its chunk was skipped */
} msf_fold;

/* The thread of serial, made if new (NULL when out of memory). Pointers stay
 * valid until the next call that makes one. */
msf_fold_thread *msf_fold_thread_of(msf_fold *F, uint32_t serial);
/* Decodes every thread's batch (th[i].ck), then clears the batches. */
void msf_fold_run(msf_fold *F);
/* Live bytes of the blocks of task (0: none). */
uint64_t msf_fold_task_live(const msf_fold *F, uint64_t task);
void msf_fold_free(msf_fold *F);

#endif /* MSF_FOLD_H */
