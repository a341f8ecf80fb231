/* The trace file. See stream.h and docs/FORMAT.md. */
#include "stream.h"

#include "options.h"
#include "prim.h"

#include <errno.h>
#include <sched.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char *program_invocation_short_name; /* glibc */

typedef struct ms_stream {
    int fd;                    /* the trace file, -1 when closed */
    uint64_t dev, ino;         /* identity of the file behind fd */
    ms_file_header_t *hdr;     /* mapping of the header page */
    uint32_t chunk_size;       /* largest chunk in bytes */
    char path[4096];
    char abspath[4096];        /* the same, absolute (from /proc/self/fd), "" if unknown */
} ms_stream_t;

static ms_stream_t stream = { .fd = -1 };

/* Builds the trace path for attempt n (0: <name>.<pid>.msgpack, then
 * <name>.<pid>.<n>.msgpack when an earlier image of this pid left a file). */
static int stream_path(char *buf, size_t len, unsigned n)
{
    const char *dir = ms_option_str(MS_OPT_OUTPUT);
    const char *name = ms_option_str(MS_OPT_NAME);
    if (!name[0])
        name = program_invocation_short_name && program_invocation_short_name[0]
                   ? program_invocation_short_name : "memscope";
    char pid[24], num[24];
    ms_fmt_u64(pid, (uint64_t)getpid());
    ms_fmt_u64(num, n);
    if (strlen(dir) + strlen(name) + strlen(pid) + strlen(num) + 16 > len)
        return -ENAMETOOLONG;
    /* No snprintf: this runs inside malloc, where stdio is off limits. */
    strcpy(buf, dir);
    strcat(buf, "/");
    strcat(buf, name);
    strcat(buf, ".");
    strcat(buf, pid);
    if (n) {
        strcat(buf, ".");
        strcat(buf, num);
    }
    strcat(buf, ".msgpack");
    return 0;
}

int ms_stream_open(void)
{
    int r = ms_prim_mkdirs(ms_option_str(MS_OPT_OUTPUT));
    if (r < 0)
        return r;
    int fd = -EEXIST;
    for (unsigned n = 0; fd == -EEXIST && n < 100; n++) {
        if ((r = stream_path(stream.path, sizeof stream.path, n)) < 0)
            return r;
        fd = ms_prim_create(stream.path);
    }
    if (fd < 0) {
        stream.path[0] = '\0';
        return fd;
    }
    if (ms_prim_file_size_limit() < MSF_FILE_HEADER_SIZE) {
        r = -EFBIG; /* RLIMIT_FSIZE: not even the header fits */
        goto fail;
    }
    if ((r = ms_prim_reserve(fd, 0, MSF_FILE_HEADER_SIZE, NULL, 0)) < 0)
        goto fail;
    ms_file_header_t *h = ms_prim_map(fd, 0, MSF_FILE_HEADER_SIZE);
    if (!h) {
        r = -ENOMEM;
        goto fail;
    }
    /* Keep the trace far from the small descriptors a program manages (a
     * daemon closing 0..N, a dup2 onto a fixed number). */
    fd = ms_prim_move_fd_high(fd);
    stream.fd = fd;
    if (ms_prim_file_id(fd, &stream.dev, &stream.ino) < 0) {
        r = -EBADF;
        goto fail;
    }
    stream.hdr = h;
    stream.chunk_size = (uint32_t)ms_option_u64(MS_OPT_BUFFER_SIZE);
    char fdlink[40] = "/proc/self/fd/";
    ms_fmt_u64(fdlink + strlen(fdlink), (uint64_t)fd);
    ssize_t an = readlink(fdlink, stream.abspath, sizeof stream.abspath - 1);
    stream.abspath[an > 0 ? an : 0] = '\0';

    h->version = MSF_VERSION;
    h->header_size = MSF_FILE_HEADER_SIZE;
    h->chunk_size = stream.chunk_size;
    h->pid = (uint64_t)getpid();
    h->start_realtime_ns = ms_prim_realtime_ns();
    h->start_monotonic_ns = ms_prim_now_ns();
    atomic_thread_fence(memory_order_release);
    memcpy(h->magic, MSF_MAGIC, MSF_MAGIC_LEN);
    return 0;
fail:
    ms_prim_close(fd);
    unlink(stream.path);
    stream.path[0] = '\0';
    stream.fd = -1;
    return r;
}

bool ms_stream_ready(void)
{
    return stream.hdr != NULL;
}

/* Chunks being taken (between the addition to space_taken and the end of
 * their reservation), in the process and on this thread: ms_stream_settle. */
static _Atomic uint32_t taking;
static _Atomic bool stream_final; /* ms_stream_final */
static _Thread_local uint32_t taking_here __attribute__((tls_model("initial-exec")));

static ms_chunk_header_t *take_chunk_locked(uint32_t size);

/* Takes, reserves and maps a chunk of `size` bytes in the calling thread. */
static ms_chunk_header_t *take_chunk_sync(uint32_t size)
{
    taking_here++;
    atomic_fetch_add_explicit(&taking, 1, memory_order_seq_cst);
    /* No slot once the image is about to go (ms_stream_final: _exit, exec):
     * ms_stream_settle, which runs then, waits only for the takes it sees,
     * and a slot taken after it returned would be left unreserved (zeros: a
     * damaged trace). Both sides are seq_cst (the store of `final` and the
     * load of `taking` there; the add and this load here), so that either
     * the settle waits for this take or this take sees `final`. */
    ms_chunk_header_t *c = NULL;
    if (!atomic_load_explicit(&stream_final, memory_order_seq_cst))
        c = take_chunk_locked(size);
    atomic_fetch_sub_explicit(&taking, 1, memory_order_seq_cst);
    taking_here--;
    return c;
}

void ms_stream_final(bool on)
{
    atomic_store_explicit(&stream_final, on, memory_order_seq_cst);
}

void ms_stream_settle(void)
{
    /* not on a thread that interrupted its own take (a signal handler that
     * calls _exit): it would wait for itself */
    if (taking_here)
        return;
    /* a reservation writes at most one chunk: milliseconds; at most 50 ms */
    uint64_t until = ms_prim_now_ns() + 50000000u;
    while (atomic_load_explicit(&taking, memory_order_seq_cst) && ms_prim_now_ns() < until)
        sched_yield();
}

static ms_chunk_header_t *take_chunk_locked(uint32_t size)
{
    ms_file_header_t *h = stream.hdr;
    if (!h)
        return NULL;
    /* The program may have closed our descriptor and reused its number for a
     * file of its own: never write into anything but the trace. */
    uint64_t dev, ino;
    if (ms_prim_file_id(stream.fd, &dev, &ino) < 0 || dev != stream.dev || ino != stream.ino)
        return NULL;
    uint64_t off = MSF_FILE_HEADER_SIZE +
                   atomic_fetch_add_explicit(&h->space_taken, size, memory_order_relaxed);
    /* A write past the program's RLIMIT_FSIZE would raise SIGXFSZ, which
     * kills it by default: the trace stops short of the limit instead (read
     * at every chunk: the program may change it). */
    if (off + size > ms_prim_file_size_limit())
        return NULL;
    /* The reservation writes the chunk's size into its header, so that a
     * reader can walk from chunk to chunk even over chunks never used. */
    ms_chunk_header_t first = { .size = size };
    if (ms_prim_reserve(stream.fd, off, size, &first, sizeof first) < 0)
        return NULL;
    return ms_prim_map(stream.fd, off, size);
}

/* ---- the chunk preparer ---------------------------------------------------
 *
 * A fresh page costs 2-4 us to fault in on this kind of machine (zeroing plus
 * the hypervisor backing it), which is more than the allocations that fill it.
 * A helper thread therefore maps and pre-faults chunks ahead of the writers and
 * unmaps the ones they give back, so writers take and give up chunks without a
 * system call other than one futex wake. When the helper falls behind, a writer
 * prepares its chunk itself. The helper thread itself is in helper.c.
 *
 * ready[]   slots the helper fills with prepared chunks; writers exchange them
 *           out. A chunk handed out is owned by exactly one writer.
 * retired[] slots writers fill with chunks they are done with; the helper
 *           exchanges them out and unmaps them.
 * wake      futex word: writers bump it after taking or retiring. */
#define PREP_READY 8
#define PREP_RETIRED 16

typedef struct ms_prep {
    _Atomic uint32_t want;     /* ready slots the helper keeps filled: grows
                                * by one per chunk taken, up to PREP_READY, so a
                                * small program's trace stays small */
    _Atomic(ms_chunk_header_t *) ready[PREP_READY];
    _Atomic(ms_chunk_header_t *) retired[PREP_RETIRED];
    _Atomic uint32_t wake;
    _Atomic bool running;      /* the helper exists in this process */
    _Atomic bool sleeping;     /* the helper waits on `wake` */
} ms_prep_t;

static ms_prep_t prep;

void ms_stream_wake_helper(void)
{
    if (!atomic_load_explicit(&prep.running, memory_order_relaxed))
        return;
    /* seq_cst, as the waiter's store of sleeping and load of wake: else the
     * waiter may miss this bump and sleep a second with the clock stopped */
    atomic_fetch_add_explicit(&prep.wake, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&prep.sleeping, memory_order_seq_cst))
        syscall(SYS_futex, &prep.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

bool ms_stream_prep_round(void)
{
    for (int i = 0; i < PREP_RETIRED; i++) {
        ms_chunk_header_t *c = atomic_exchange_explicit(&prep.retired[i], NULL,
                                                        memory_order_acquire);
        if (c)
            ms_prim_unmap(c, c->size);
    }
    /* after the exit flush, no chunk ahead of need: the process may end
     * while one is being taken (a slot taken and never reserved) */
    if (stream.hdr && atomic_load_explicit(&stream.hdr->end_time_ns, memory_order_acquire))
        return false;
    uint32_t want = atomic_load_explicit(&prep.want, memory_order_relaxed);
    for (uint32_t i = 0; i < want && i < PREP_READY; i++) {
        if (atomic_load_explicit(&prep.ready[i], memory_order_relaxed))
            continue;
        ms_chunk_header_t *c = take_chunk_sync(stream.chunk_size);
        if (!c)
            return false;
        atomic_store_explicit(&prep.ready[i], c, memory_order_release);
        return true; /* one at a time: the helper publishes the clock in between */
    }
    return false;
}

uint32_t ms_stream_prep_seq(void)
{
    return atomic_load_explicit(&prep.wake, memory_order_acquire);
}

bool ms_stream_prep_wait(uint32_t seen, uint64_t timeout_ns)
{
    bool timed_out = false;
    atomic_store_explicit(&prep.sleeping, true, memory_order_seq_cst);
    if (atomic_load_explicit(&prep.wake, memory_order_seq_cst) == seen) {
        struct timespec ts = { (time_t)(timeout_ns / 1000000000u),
                               (long)(timeout_ns % 1000000000u) };
        int saved = errno;
        timed_out = syscall(SYS_futex, &prep.wake, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0) != 0 &&
                    errno == ETIMEDOUT;
        errno = saved;
    }
    atomic_store_explicit(&prep.sleeping, false, memory_order_relaxed);
    return timed_out;
}

void ms_stream_set_helper(bool running)
{
    atomic_store(&prep.running, running);
}

bool ms_stream_helper_running(void)
{
    return atomic_load_explicit(&prep.running, memory_order_relaxed);
}

void ms_stream_set_recording(uint32_t flags, uint64_t sample_bytes, uint64_t sample_rate, uint64_t seed,
                             uint32_t stack_depth)
{
    if (!stream.hdr)
        return;
    stream.hdr->flags = flags;
    stream.hdr->sample_bytes = sample_bytes;
    stream.hdr->sample_rate = sample_rate;
    stream.hdr->sample_seed = seed;
    stream.hdr->stack_depth = stack_depth;
}

void ms_stream_set_time_bound(uint64_t ns)
{
    if (stream.hdr)
        stream.hdr->time_bound_ns = ns;
}

void ms_stream_add_dropped_record(void)
{
    if (stream.hdr)
        atomic_fetch_add_explicit(&stream.hdr->dropped_records, 1, memory_order_relaxed);
}

void ms_stream_set_end_how(uint32_t how)
{
    if (stream.hdr)
        atomic_store_explicit(&stream.hdr->end_how, how, memory_order_release);
}

ms_chunk_header_t *ms_stream_take_chunk(uint32_t size)
{
    /* The helper prepares only chunks of the largest size. */
    if (size == stream.chunk_size && atomic_load_explicit(&prep.running, memory_order_relaxed)) {
        if (atomic_load_explicit(&prep.want, memory_order_relaxed) < PREP_READY)
            atomic_fetch_add_explicit(&prep.want, 1, memory_order_relaxed);
        for (int i = 0; i < PREP_READY; i++) {
            ms_chunk_header_t *c = atomic_exchange_explicit(&prep.ready[i], NULL,
                                                            memory_order_acquire);
            if (c) {
                ms_stream_wake_helper();
                return c;
            }
        }
        ms_stream_wake_helper();
    }
    return take_chunk_sync(size);
}

void ms_stream_release_chunk(ms_chunk_header_t *c)
{
    if (atomic_load_explicit(&prep.running, memory_order_relaxed)) {
        for (int i = 0; i < PREP_RETIRED; i++) {
            ms_chunk_header_t *empty = NULL;
            if (atomic_compare_exchange_strong_explicit(&prep.retired[i], &empty, c,
                                                        memory_order_release,
                                                        memory_order_relaxed)) {
                ms_stream_wake_helper();
                return;
            }
        }
    }
    ms_prim_unmap(c, c->size);
}

uint32_t ms_stream_chunk_size(void)
{
    return stream.chunk_size;
}

uint64_t ms_stream_start_ns(void)
{
    return stream.hdr ? stream.hdr->start_monotonic_ns : 0;
}

uint64_t ms_stream_now(void)
{
    uint64_t now = ms_prim_now_ns(), start = ms_stream_start_ns();
    return now > start ? now - start : 0;
}

void ms_stream_add_dropped(uint64_t n)
{
    if (stream.hdr && n)
        atomic_fetch_add_explicit(&stream.hdr->dropped_events, n, memory_order_relaxed);
}

void ms_stream_set_end(uint64_t time_ns)
{
    if (stream.hdr)
        atomic_store_explicit(&stream.hdr->end_time_ns, time_ns, memory_order_release);
}

int ms_stream_fd(void)
{
    /* the program may have closed our descriptor and put a file of its own
     * on its number (take_chunk_sync checks the same) */
    uint64_t dev, ino;
    if (!stream.hdr || ms_prim_file_id(stream.fd, &dev, &ino) < 0 || dev != stream.dev || ino != stream.ino)
        return -1;
    return stream.fd;
}

const char *ms_stream_path(void)
{
    return stream.hdr ? stream.path : "";
}

void ms_stream_forget(void)
{
    atomic_store(&taking, 0); /* a parent thread's take under way is none of the child's */
    /* The helper did not survive the fork; its slots map the parent's file. */
    for (int i = 0; i < PREP_READY; i++) {
        ms_chunk_header_t *c = atomic_exchange(&prep.ready[i], NULL);
        if (c)
            ms_prim_unmap(c, c->size);
    }
    for (int i = 0; i < PREP_RETIRED; i++) {
        ms_chunk_header_t *c = atomic_exchange(&prep.retired[i], NULL);
        if (c)
            ms_prim_unmap(c, c->size);
    }
    atomic_store(&prep.running, false);
    atomic_store(&prep.sleeping, false);
    atomic_store(&prep.want, 0);
    ms_prim_unmap(stream.hdr, MSF_FILE_HEADER_SIZE);
    /* The chunks the parent's other threads (and its late stream) had mapped
     * are mapped here too, and nothing here knows them: find them by the
     * file's identity. */
    ms_prim_unmap_file(stream.dev, stream.ino, stream.abspath);
    /* The program may have closed our descriptor and put a file of its own on
     * its number (take_chunk_sync checks the same): close only the trace. */
    uint64_t dev, ino;
    if (ms_prim_file_id(stream.fd, &dev, &ino) == 0 && dev == stream.dev && ino == stream.ino)
        ms_prim_close(stream.fd);
    stream.hdr = NULL;
    stream.fd = -1;
    stream.path[0] = '\0';
}
