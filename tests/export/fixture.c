/* Test-only trace writer (see fixture.h). */
#include "fixture.h"

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>

#include "format.h"

enum { HDR = MSF_FILE_HEADER_SIZE, CHDR = MSF_CHUNK_HEADER_SIZE };

/* One chunk being filled. */
typedef struct fchunk {
    uint8_t *buf;          /* chunk_size bytes: header + payload */
    uint32_t used;         /* payload bytes */
    uint64_t slot;
} fchunk;

/* A thread's writing state. */
typedef struct fthread {
    bool started;
    uint64_t tid;
    uint64_t addr;         /* delta base in the current chunk */
    uint64_t time;
    uint64_t task;
    uint64_t events;
    uint32_t nchunks;
    fchunk *chunks;
    uint32_t chunk_flags;  /* MSF_CF_* of every chunk (msf_thread_flags) */
} fthread;

struct msf {
    uint32_t chunk_size;
    uint32_t version;
    uint64_t pid, end_time, dropped;
    uint64_t time_bound;   /* header field of version 2 */
    uint32_t end_how;      /* header field of version 2 */
    uint64_t lost_records; /* header dropped_records, version 2 */
    uint32_t stack_depth;  /* header field of version 2 */
    uint32_t flags;        /* header flags (MSF_HF_*) */
    uint64_t sample_bytes, sample_rate, sample_seed;
    uint64_t next_slot;
    uint64_t events;
    uint32_t nthreads;
    fthread *threads;      /* index serial - 1 */
    msgpack_sbuffer sb;    /* scratch for one record */
    msgpack_packer pk;
};

/* Aborts the test program on allocation failure (fixtures have no recovery). */
static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n, s);
    if (!p)
        abort();
    return p;
}

msf *msf_new(uint32_t chunk_size)
{
    msf *t = xcalloc(1, sizeof *t);
    t->chunk_size = chunk_size;
    t->version = 1;  /* the tests of version 2 ask for it */
    t->pid = 4242;
    msgpack_sbuffer_init(&t->sb);
    msgpack_packer_init(&t->pk, &t->sb, msgpack_sbuffer_write);
    return t;
}

void msf_destroy(msf *t)
{
    for (uint32_t i = 0; i < t->nthreads; i++) {
        for (uint32_t c = 0; c < t->threads[i].nchunks; c++)
            free(t->threads[i].chunks[c].buf);
        free(t->threads[i].chunks);
    }
    free(t->threads);
    msgpack_sbuffer_destroy(&t->sb);
    free(t);
}

void msf_set_pid(msf *t, uint64_t pid) { t->pid = pid; }
void msf_set_end_time(msf *t, uint64_t end_time_ns) { t->end_time = end_time_ns; }
void msf_set_dropped(msf *t, uint64_t dropped) { t->dropped = dropped; }
void msf_set_version(msf *t, uint32_t version) { t->version = version; }
void msf_set_time_bound(msf *t, uint64_t bound_ns) { t->time_bound = bound_ns; }
void msf_set_end_how(msf *t, uint32_t how) { t->end_how = how; }
void msf_set_lost_records(msf *t, uint64_t n) { t->lost_records = n; }
void msf_set_stack_depth(msf *t, uint32_t depth) { t->stack_depth = depth; }
void msf_set_sampling(msf *t, uint64_t sample_bytes, uint64_t sample_rate, uint64_t seed)
{
    t->flags |= MSF_HF_SAMPLED;
    t->sample_bytes = sample_bytes;
    t->sample_rate = sample_rate;
    t->sample_seed = seed;
}
uint64_t msf_events(const msf *t) { return t->events; }

/* Returns thread `serial`, growing the table. */
static fthread *th(msf *t, uint32_t serial)
{
    if (serial > t->nthreads) {
        t->threads = realloc(t->threads, serial * sizeof *t->threads);
        if (!t->threads)
            abort();
        memset(t->threads + t->nthreads, 0, (serial - t->nthreads) * sizeof *t->threads);
        t->nthreads = serial;
    }
    return &t->threads[serial - 1];
}

/* Stores little-endian integers. */
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

/* Appends the scratch buffer to the thread's current chunk (which must fit). */
static void append(msf *t, fthread *f)
{
    fchunk *c = &f->chunks[f->nchunks - 1];
    memcpy(c->buf + CHDR + c->used, t->sb.data, t->sb.size);
    c->used += (uint32_t)t->sb.size;
    put32(c->buf + MSF_C_COMMITTED, c->used);
}

/* Starts a new chunk for thread serial, beginning with a TIME record. */
static void new_chunk(msf *t, uint32_t serial)
{
    fthread *f = th(t, serial);
    f->chunks = realloc(f->chunks, (f->nchunks + 1) * sizeof *f->chunks);
    if (!f->chunks)
        abort();
    fchunk *c = &f->chunks[f->nchunks];
    c->buf = xcalloc(1, t->chunk_size);
    c->used = 0;
    c->slot = t->next_slot++;
    put32(c->buf + MSF_C_MAGIC, MSF_CHUNK_MAGIC);
    put32(c->buf + MSF_C_SIZE, t->chunk_size); /* every fixture chunk has the largest size */
    put32(c->buf + MSF_C_THREAD, serial);
    put32(c->buf + MSF_C_SEQ, f->nchunks);
    put64(c->buf + MSF_C_TID, f->tid);
    put64(c->buf + MSF_C_TIME, f->time);
    put64(c->buf + MSF_C_FIRST_EVENT, f->events);
    put64(c->buf + MSF_C_TASK, f->task);
    put32(c->buf + MSF_C_FLAGS, f->chunk_flags);
    f->nchunks++;
    f->addr = 0;
    msgpack_sbuffer_clear(&t->sb);
    msgpack_pack_uint64(&t->pk, msf_head(MSF_R_TIME, MSF_K_RECORD));
    msgpack_pack_uint64(&t->pk, f->time);
    append(t, f);
}

/* Makes sure the scratch record fits the current chunk; if not, starts a
 * new chunk and returns true (the caller repacks: the delta base changed). */
static bool need_new_chunk(msf *t, uint32_t serial)
{
    fthread *f = th(t, serial);
    if (f->nchunks && CHDR + f->chunks[f->nchunks - 1].used + t->sb.size <= t->chunk_size)
        return false;
    new_chunk(t, serial);
    return true;
}

/* Packs an event head for `kind` at address a relative to the delta base. */
static void pack_head(msf *t, fthread *f, unsigned kind, uint64_t a)
{
    msgpack_sbuffer_clear(&t->sb);
    msgpack_pack_uint64(&t->pk, msf_head(msf_zz_enc(a - f->addr), kind));
}

/* Emits one event record; `fields` are packed after the head. */
static void event(msf *t, uint32_t serial, unsigned kind, uint64_t a, int nf, const uint64_t *fields, bool first_signed)
{
    fthread *f = th(t, serial);
    for (int pass = 0; pass < 2; pass++) {
        pack_head(t, f, kind, a);
        for (int i = 0; i < nf; i++) {
            if (i == 0 && first_signed)
                msgpack_pack_int64(&t->pk, (int64_t)fields[0]);
            else
                msgpack_pack_uint64(&t->pk, fields[i]);
        }
        if (!need_new_chunk(t, serial))
            break;
    }
    append(t, f);
    f->addr = a;
    f->events++;
    t->events++;
}

/* Emits a control record whose object is in the scratch buffer after the head
 * (pack_obj packs it). */
static void control(msf *t, uint32_t serial, uint64_t type, void (*pack_obj)(msf *, const void *), const void *arg)
{
    fthread *f = th(t, serial);
    for (int pass = 0; pass < 2; pass++) {
        msgpack_sbuffer_clear(&t->sb);
        msgpack_pack_uint64(&t->pk, msf_head(type, MSF_K_RECORD));
        pack_obj(t, arg);
        if (!need_new_chunk(t, serial))
            break;
    }
    append(t, f);
}

/* Packs a C string (key or value). */
static void pack_cstr(msf *t, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(&t->pk, n);
    msgpack_pack_str_body(&t->pk, s, n);
}

/* Object packers for control(). */
typedef struct thread_obj { uint64_t tid; const char *name; size_t len; } thread_obj;

static void pk_thread(msf *t, const void *a)
{
    const thread_obj *o = a;
    msgpack_pack_map(&t->pk, o->name ? 3 : 2);
    pack_cstr(t, MSF_KEY_TID);
    msgpack_pack_uint64(&t->pk, o->tid);
    if (o->name) {
        pack_cstr(t, MSF_KEY_NAME);
        msgpack_pack_str(&t->pk, o->len);
        msgpack_pack_str_body(&t->pk, o->name, o->len);
    }
    pack_cstr(t, MSF_KEY_PARENT);
    msgpack_pack_uint64(&t->pk, 0);
}

static void pk_uint(msf *t, const void *a)
{
    msgpack_pack_uint64(&t->pk, *(const uint64_t *)a);
}

static void pk_name_map(msf *t, const void *a)
{
    msgpack_pack_map(&t->pk, 1);
    pack_cstr(t, MSF_KEY_NAME);
    pack_cstr(t, a);
}

typedef struct kv_obj { const char *key; uint64_t v; } kv_obj;

static void pk_kv(msf *t, const void *a)
{
    const kv_obj *o = a;
    msgpack_pack_map(&t->pk, 1);
    pack_cstr(t, o->key);
    msgpack_pack_uint64(&t->pk, o->v);
}

typedef struct process_obj {
    uint64_t pid;
    const char *exe;
    int argc;
    const char *const *argv;
    int nconfig;
    const char *const *config;
} process_obj;

static void pk_process(msf *t, const void *a)
{
    const process_obj *o = a;
    msgpack_pack_map(&t->pk, 5);
    pack_cstr(t, MSF_KEY_PID);
    msgpack_pack_uint64(&t->pk, o->pid);
    pack_cstr(t, MSF_KEY_PPID);
    msgpack_pack_uint64(&t->pk, 1);
    pack_cstr(t, MSF_KEY_EXE);
    pack_cstr(t, o->exe);
    pack_cstr(t, MSF_KEY_ARGV);
    msgpack_pack_array(&t->pk, (size_t)o->argc);
    for (int i = 0; i < o->argc; i++)
        pack_cstr(t, o->argv[i]);
    pack_cstr(t, MSF_KEY_CONFIG);
    msgpack_pack_map(&t->pk, (size_t)o->nconfig);
    for (int i = 0; i < 2 * o->nconfig; i++)
        pack_cstr(t, o->config[i]);
}

typedef struct raw_obj { const void *bytes; size_t len; } raw_obj;

static void pk_raw(msf *t, const void *a)
{
    const raw_obj *o = a;
    msgpack_sbuffer_write(&t->sb, o->bytes, o->len);
}

void msf_thread(msf *t, uint32_t serial, uint64_t tid, const char *name, size_t name_len, uint64_t time)
{
    fthread *f = th(t, serial);
    f->started = true;
    f->tid = tid;
    f->time = time;
    thread_obj o = { tid, name, name_len };
    control(t, serial, MSF_R_THREAD, pk_thread, &o);
}

void msf_time(msf *t, uint32_t serial, uint64_t time)
{
    th(t, serial)->time = time;
    control(t, serial, MSF_R_TIME, pk_uint, &time);
}

void msf_alloc(msf *t, uint32_t serial, uint64_t addr, uint64_t size)
{
    event(t, serial, MSF_K_ALLOC, addr, 1, &size, false);
}

void msf_alloc_ex(msf *t, uint32_t serial, uint64_t addr, uint64_t size, uint64_t stack)
{
    msf_alloc_w(t, serial, addr, size, stack, 0);
}

void msf_alloc_w(msf *t, uint32_t serial, uint64_t addr, uint64_t size, uint64_t stack, uint64_t weight)
{
    uint64_t f[3] = { size, stack, weight };
    event(t, serial, MSF_K_ALLOC_EX, addr, 3, f, false);
}

void msf_free(msf *t, uint32_t serial, uint64_t addr)
{
    event(t, serial, MSF_K_FREE, addr, 0, NULL, false);
}

/* Emits REALLOC (ex false) or REALLOC_EX with its stack and weight. */
static void realloc_rec(msf *t, uint32_t serial, uint64_t old_addr, uint64_t new_addr, uint64_t size, bool ex,
                        uint64_t stack, uint64_t weight)
{
    /* the head carries old; the delta is new - old; addr becomes new */
    fthread *f = th(t, serial);
    for (int pass = 0; pass < 2; pass++) {
        pack_head(t, f, ex ? MSF_K_REALLOC_EX : MSF_K_REALLOC, old_addr);
        msgpack_pack_int64(&t->pk, (int64_t)(new_addr - old_addr));
        msgpack_pack_uint64(&t->pk, size);
        if (ex) {
            msgpack_pack_uint64(&t->pk, stack);
            msgpack_pack_uint64(&t->pk, weight);
        }
        if (!need_new_chunk(t, serial))
            break;
    }
    append(t, f);
    f->addr = new_addr;
    f->events++;
    t->events++;
}

void msf_realloc(msf *t, uint32_t serial, uint64_t old_addr, uint64_t new_addr, uint64_t size)
{
    realloc_rec(t, serial, old_addr, new_addr, size, false, 0, 0);
}

void msf_realloc_ex(msf *t, uint32_t serial, uint64_t old_addr, uint64_t new_addr, uint64_t size, uint64_t stack,
                    uint64_t weight)
{
    realloc_rec(t, serial, old_addr, new_addr, size, true, stack, weight);
}

void msf_thread_exit(msf *t, uint32_t serial, const char *name)
{
    control(t, serial, MSF_R_THREAD_EXIT, pk_name_map, name);
}

void msf_process(msf *t, uint32_t serial, uint64_t pid, const char *exe, int argc, const char *const *argv,
                 int nconfig, const char *const *config)
{
    process_obj o = { pid, exe, argc, argv, nconfig, config };
    control(t, serial, MSF_R_PROCESS, pk_process, &o);
}

void msf_dropped(msf *t, uint32_t serial, uint64_t n)
{
    control(t, serial, MSF_R_DROPPED, pk_uint, &n);
}

void msf_task(msf *t, uint32_t serial, uint64_t task)
{
    th(t, serial)->task = task;
    control(t, serial, MSF_R_TASK, pk_uint, &task);
}

void msf_fork(msf *t, uint32_t serial, uint64_t parent_pid)
{
    kv_obj o = { MSF_KEY_PARENT_PID, parent_pid };
    control(t, serial, MSF_R_FORK, pk_kv, &o);
}

void msf_end(msf *t, uint32_t serial, uint64_t time)
{
    kv_obj o = { MSF_KEY_TIME, time };
    control(t, serial, MSF_R_END, pk_kv, &o);
}

void msf_metric(msf *t, uint32_t serial, const char *name, uint64_t value)
{
    kv_obj o = { name, value };
    control(t, serial, MSF_R_METRIC, pk_kv, &o);
}

/* Packs a map of string keys to uints and strings: n pairs, each a key and
 * either a string (s non-NULL) or a uint. */
typedef struct kvs_pair { const char *key; const char *s; uint64_t u; } kvs_pair;
typedef struct kvs_obj { int n; const kvs_pair *p; } kvs_obj;

static void pk_kvs(msf *t, const void *a)
{
    const kvs_obj *o = a;
    msgpack_pack_map(&t->pk, (size_t)o->n);
    for (int i = 0; i < o->n; i++) {
        pack_cstr(t, o->p[i].key);
        if (o->p[i].s)
            pack_cstr(t, o->p[i].s);
        else
            msgpack_pack_uint64(&t->pk, o->p[i].u);
    }
}

void msf_end_how(msf *t, uint32_t serial, uint64_t time, uint32_t how)
{
    kvs_pair p[] = { { MSF_KEY_TIME, NULL, time }, { MSF_KEY_HOW, NULL, how } };
    kvs_obj o = { 2, p };
    control(t, serial, MSF_R_END, pk_kvs, &o);
}

void msf_task_create(msf *t, uint32_t serial, uint64_t id, const char *name, uint64_t parent)
{
    kvs_pair p[] = { { MSF_KEY_ID, NULL, id }, { MSF_KEY_NAME, name, 0 }, { MSF_KEY_PARENT, NULL, parent } };
    kvs_obj o = { 3, p };
    control(t, serial, MSF_R_TASK_CREATE, pk_kvs, &o);
}

void msf_task_end(msf *t, uint32_t serial, uint64_t id)
{
    kvs_pair p[] = { { MSF_KEY_ID, NULL, id } };
    kvs_obj o = { 1, p };
    control(t, serial, MSF_R_TASK_END, pk_kvs, &o);
}

void msf_var(msf *t, uint32_t serial, uint64_t addr, const char *name, const char *type, const char *file,
             uint64_t line, uint64_t size)
{
    kvs_pair p[] = {
        { MSF_KEY_ADDR, NULL, addr }, { MSF_KEY_NAME, name, 0 }, { MSF_KEY_TYPE, type, 0 },
        { MSF_KEY_FILE, file, 0 },    { MSF_KEY_LINE, NULL, line }, { MSF_KEY_SIZE, NULL, size },
    };
    kvs_obj o = { 6, p };
    control(t, serial, MSF_R_VAR, pk_kvs, &o);
}

void msf_scope_enter(msf *t, uint32_t serial, uint64_t id, const char *name, const char *file, uint64_t line)
{
    kvs_pair p[] = { { MSF_KEY_ID, NULL, id }, { MSF_KEY_NAME, name, 0 }, { MSF_KEY_FILE, file, 0 },
                     { MSF_KEY_LINE, NULL, line } };
    kvs_obj o = { 4, p };
    control(t, serial, MSF_R_SCOPE_ENTER, pk_kvs, &o);
}

void msf_scope_leave(msf *t, uint32_t serial, uint64_t id)
{
    kvs_pair p[] = { { MSF_KEY_ID, NULL, id } };
    kvs_obj o = { 1, p };
    control(t, serial, MSF_R_SCOPE_LEAVE, pk_kvs, &o);
}

void msf_raw(msf *t, uint32_t serial, uint64_t head, const void *bytes, size_t len)
{
    fthread *f = th(t, serial);
    for (int pass = 0; pass < 2; pass++) {
        msgpack_sbuffer_clear(&t->sb);
        msgpack_pack_uint64(&t->pk, head);
        raw_obj o = { bytes, len };
        pk_raw(t, &o);
        if (!need_new_chunk(t, serial))
            break;
    }
    append(t, f);
}

void msf_exit_flag(msf *t, uint32_t serial)
{
    fthread *f = th(t, serial);
    if (f->nchunks)
        put32(f->chunks[f->nchunks - 1].buf + MSF_C_FLAGS, MSF_CF_THREAD_EXITED);
}

uint64_t msf_chunk_offset(const msf *t, uint32_t serial, uint32_t seq)
{
    return HDR + t->threads[serial - 1].chunks[seq].slot * t->chunk_size;
}

int msf_write(const msf *t, const char *path)
{
    uint64_t size = HDR + t->next_slot * t->chunk_size;
    uint8_t *file = xcalloc(1, size);
    memcpy(file + MSF_H_MAGIC, MSF_MAGIC, MSF_MAGIC_LEN);
    put32(file + MSF_H_VERSION, t->version);
    put32(file + MSF_H_HEADER_SIZE, HDR);
    put32(file + MSF_H_CHUNK_SIZE, t->chunk_size);
    put64(file + MSF_H_PID, t->pid);
    put64(file + MSF_H_START_REALTIME, 1700000000000000000ull);
    put64(file + MSF_H_START_MONOTONIC, 1000);
    put64(file + MSF_H_SPACE_TAKEN, t->next_slot * (uint64_t)t->chunk_size);
    put64(file + MSF_H_DROPPED_EVENTS, t->dropped);
    put64(file + MSF_H_END_TIME, t->end_time);
    /* written whatever the version: tests check that a version-1 reader
     * ignores bytes 80..127 */
    put64(file + MSF_H_TIME_BOUND, t->time_bound);
    put32(file + MSF_H_END_HOW, t->end_how);
    put64(file + MSF_H_DROPPED_RECORDS, t->lost_records);
    put32(file + MSF_H_STACK_DEPTH, t->stack_depth);
    put32(file + MSF_H_FLAGS, t->flags);
    put64(file + MSF_H_SAMPLE_BYTES, t->sample_bytes);
    put64(file + MSF_H_SAMPLE_RATE, t->sample_rate);
    put64(file + MSF_H_SAMPLE_SEED, t->sample_seed);
    for (uint32_t i = 0; i < t->nthreads; i++)
        for (uint32_t c = 0; c < t->threads[i].nchunks; c++) {
            const fchunk *k = &t->threads[i].chunks[c];
            memcpy(file + HDR + k->slot * t->chunk_size, k->buf, t->chunk_size);
        }
    int rc = msf_write_bytes(path, file, size);
    free(file);
    return rc;
}

char *msf_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *d = malloc(4096);
    if (!d)
        abort();
    snprintf(d, 4096, "%s/msx-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(d))
        abort();
    return d;
}

char *msf_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        abort();
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int msf_truncate(const char *path, uint64_t size)
{
    return truncate(path, (off_t)size);
}

int msf_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) == 0 && n == len ? 0 : -1;
}

char *msf_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    p[n] = '\0';
    if (len)
        *len = (size_t)n;
    return p;
}

void msf_rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = msf_path(dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            msf_rm_rf(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

char *msf_dir;

int msf_group_setup(void **state)
{
    (void)state;
    msf_dir = msf_tmpdir();
    return msf_dir ? 0 : -1;
}

int msf_group_teardown(void **state)
{
    (void)state;
    msf_rm_rf(msf_dir);
    free(msf_dir);
    msf_dir = NULL;
    return 0;
}

void msf_thread_flags(msf *t, uint32_t serial, uint32_t flags)
{
    fthread *f = th(t, serial);
    f->chunk_flags |= flags;
    for (uint32_t c = 0; c < f->nchunks; c++) {
        uint32_t v;
        memcpy(&v, f->chunks[c].buf + MSF_C_FLAGS, 4);
        put32(f->chunks[c].buf + MSF_C_FLAGS, le32toh(v) | flags);
    }
}

/* A METRIC record's content for pk_metrics. */
typedef struct metrics_obj {
    int n;
    const char *const *keys;
    const uint64_t *vals;
    int nthreads;              /* < 0: no "threads" */
    const uint64_t *tids, *cpus;
} metrics_obj;

static void pk_metrics(msf *t, const void *a)
{
    const metrics_obj *o = a;
    msgpack_pack_map(&t->pk, (size_t)o->n + (o->nthreads >= 0));
    for (int i = 0; i < o->n; i++) {
        pack_cstr(t, o->keys[i]);
        msgpack_pack_uint64(&t->pk, o->vals[i]);
    }
    if (o->nthreads < 0)
        return;
    pack_cstr(t, MSF_KEY_THREADS);
    msgpack_pack_array(&t->pk, (size_t)o->nthreads);
    for (int i = 0; i < o->nthreads; i++) {
        msgpack_pack_array(&t->pk, 2);
        msgpack_pack_uint64(&t->pk, o->tids[i]);
        msgpack_pack_uint64(&t->pk, o->cpus[i]);
    }
}

void msf_metrics(msf *t, uint32_t serial, int n, const char *const *keys, const uint64_t *vals,
                 int nthreads, const uint64_t *tids, const uint64_t *cpus)
{
    metrics_obj o = { n, keys, vals, nthreads, tids, cpus };
    control(t, serial, MSF_R_METRIC, pk_metrics, &o);
}

/* STACK and MODULES records. */
typedef struct stack_obj { uint64_t id; const uint64_t *pcs; size_t n; } stack_obj;

static void pk_stack(msf *t, const void *a)
{
    const stack_obj *o = a;
    msgpack_pack_array(&t->pk, 2);
    msgpack_pack_uint64(&t->pk, o->id);
    msgpack_pack_array(&t->pk, o->n);
    for (size_t i = 0; i < o->n; i++)
        msgpack_pack_uint64(&t->pk, o->pcs[i]);
}

void msf_stack(msf *t, uint32_t serial, uint64_t id, const uint64_t *pcs, size_t n)
{
    stack_obj o = { id, pcs, n };
    control(t, serial, MSF_R_STACK, pk_stack, &o);
}

typedef struct modules_obj { int n; const char *const *paths; const uint64_t *bases, *sizes; } modules_obj;

static void pk_modules(msf *t, const void *a)
{
    const modules_obj *o = a;
    msgpack_pack_array(&t->pk, (size_t)o->n);
    for (int i = 0; i < o->n; i++) {
        msgpack_pack_map(&t->pk, 3);
        pack_cstr(t, MSF_KEY_PATH);
        pack_cstr(t, o->paths[i]);
        pack_cstr(t, MSF_KEY_BASE);
        msgpack_pack_uint64(&t->pk, o->bases[i]);
        pack_cstr(t, MSF_KEY_SEGMENTS);
        msgpack_pack_array(&t->pk, 1);
        msgpack_pack_array(&t->pk, 3);
        msgpack_pack_uint64(&t->pk, 0);
        msgpack_pack_uint64(&t->pk, o->sizes[i]);
        msgpack_pack_uint64(&t->pk, MSF_SEG_R | MSF_SEG_X);
    }
}

void msf_modules(msf *t, uint32_t serial, int n, const char *const *paths, const uint64_t *bases,
                 const uint64_t *sizes)
{
    modules_obj o = { n, paths, bases, sizes };
    control(t, serial, MSF_R_MODULES, pk_modules, &o);
}
