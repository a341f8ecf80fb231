/* Platform metrics: what one METRIC record holds (FORMAT.md), measured, never
 * estimated. See metrics.h.
 *
 * Sources, each read whole by one system call or a few:
 *   rss             /proc/self/statm, resident pages times the page size
 *   minflt, majflt  /proc/self/stat fields 10 and 12: the whole process's
 *                   faults since start, ended threads included
 *   read_bytes,     /proc/self/io rchar and wchar (absent when the kernel
 *   write_bytes     has no I/O accounting or the file cannot be read)
 *   allocated ...   jemalloc's stats.* after an epoch refresh (alloc_iface.h)
 *   threads         /proc/self/task lists the threads; each one's CPU time is
 *                   its kernel CPU clock (clock_gettime on the clock id that
 *                   pthread_getcpuclockid builds from the tid): exact to the
 *                   nanosecond, one system call per thread, where
 *                   /proc/self/task/<tid>/stat would cost an open, a read and
 *                   a close per thread and count in clock ticks (10 ms)
 * A thread that ends between the listing and its clock read is left out. */
#include "metrics.h"

#include "alloc_iface.h"
#include "format.h"
#include "options.h"
#include "prim.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static ms_metric_sample_t sample;           /* owned by whoever holds `busy` */
static atomic_flag busy = ATOMIC_FLAG_INIT;

uint64_t ms_metrics_interval_ns(void)
{
    return ms_option_u64(MS_OPT_METRICS_INTERVAL) * 1000000u;
}

/* Parses the decimal number at *p, moving *p past it. False if none. */
static bool parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    *p = s;
    *out = v;
    return true;
}

/* Sets value k of s. */
static void put(ms_metric_sample_t *s, ms_metric_key_t k, uint64_t v)
{
    s->v[k] = v;
    s->have |= 1u << k;
}

/* rss from /proc/self/statm: "size resident shared ..." in pages. */
static void read_statm(ms_metric_sample_t *s)
{
    char buf[128];
    if (ms_prim_read_file("/proc/self/statm", buf, sizeof buf) <= 0)
        return;
    const char *p = strchr(buf, ' ');
    uint64_t pages;
    long page = sysconf(_SC_PAGESIZE);
    if (p && page > 0 && (p++, parse_u64(&p, &pages)))
        put(s, MS_MET_RSS, pages * (uint64_t)page);
}

/* minflt and majflt from /proc/self/stat. The name (field 2) may hold
 * anything, so fields are counted from its closing parenthesis. */
static void read_stat(ms_metric_sample_t *s)
{
    char buf[1024];
    if (ms_prim_read_file("/proc/self/stat", buf, sizeof buf) <= 0)
        return;
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return;
    p += 2; /* field 3 */
    uint64_t minflt = 0, majflt = 0;
    for (int field = 3; field <= 12; field++) {
        if (field == 10 && !parse_u64(&p, &minflt))
            return;
        if (field == 12 && !parse_u64(&p, &majflt))
            return;
        while (*p && *p != ' ')
            p++;
        if (*p++ != ' ')
            return;
    }
    put(s, MS_MET_MINFLT, minflt);
    put(s, MS_MET_MAJFLT, majflt);
}

/* rchar and wchar from /proc/self/io ("rchar: N\nwchar: N\n..."). */
static void read_io(ms_metric_sample_t *s)
{
    char buf[512];
    if (ms_prim_read_file("/proc/self/io", buf, sizeof buf) <= 0)
        return;
    static const struct { const char *key; ms_metric_key_t k; } keys[] = {
        { "rchar: ", MS_MET_READ }, { "wchar: ", MS_MET_WRITE },
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *p = strstr(buf, keys[i].key);
        uint64_t v;
        if (p && (p == buf || p[-1] == '\n') && (p += strlen(keys[i].key), parse_u64(&p, &v)))
            put(s, keys[i].k, v);
    }
}

/* Every thread's CPU time. */
static void read_threads(ms_metric_sample_t *s)
{
    int n = ms_prim_list_threads(s->tid, MS_METRIC_THREADS);
    if (n < 0)
        return;
    uint32_t kept = 0;
    for (int i = 0; i < n; i++) {
        uint64_t ns;
        if (!ms_prim_thread_cpu_ns(s->tid[i], &ns))
            continue; /* ended since the listing */
        s->tid[kept] = s->tid[i];
        s->cpu_ns[kept++] = ns;
    }
    s->nthreads = kept;
    s->have_threads = true;
}

const ms_metric_sample_t *ms_metrics_take(void)
{
    if (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire))
        return NULL;
    ms_metric_sample_t *s = &sample;
    s->have = 0;
    s->have_threads = false;
    s->nthreads = 0;
    read_statm(s);
    read_stat(s);
    read_io(s);
    ms_alloc_stats_t js;
    if (!ms_alloc_stats(&js)) {
        put(s, MS_MET_ALLOCATED, js.allocated);
        put(s, MS_MET_ACTIVE, js.active);
        put(s, MS_MET_RESIDENT, js.resident);
        put(s, MS_MET_RETAINED, js.retained);
        put(s, MS_MET_MAPPED, js.mapped);
    }
    read_threads(s);
    return s;
}

void ms_metrics_release(void)
{
    atomic_flag_clear_explicit(&busy, memory_order_release);
}

void ms_metrics_fork_child(void)
{
    atomic_flag_clear_explicit(&busy, memory_order_relaxed);
}

void ms_rec_fill_metric(ms_cbuf_t *b, const void *arg)
{
    static const char *const names[MS_MET_COUNT] = {
        [MS_MET_RSS] = MSF_M_RSS,           [MS_MET_MINFLT] = MSF_M_MINFLT,
        [MS_MET_MAJFLT] = MSF_M_MAJFLT,     [MS_MET_READ] = MSF_M_READ_BYTES,
        [MS_MET_WRITE] = MSF_M_WRITE_BYTES, [MS_MET_ALLOCATED] = MSF_M_ALLOCATED,
        [MS_MET_ACTIVE] = MSF_M_ACTIVE,     [MS_MET_RESIDENT] = MSF_M_RESIDENT,
        [MS_MET_RETAINED] = MSF_M_RETAINED, [MS_MET_MAPPED] = MSF_M_MAPPED,
    };
    const ms_metric_sample_t *s = arg;
    ms_pc_map(b, (uint32_t)__builtin_popcount(s->have) + s->have_threads);
    for (int k = 0; k < MS_MET_COUNT; k++) {
        if (!(s->have & (1u << k)))
            continue;
        ms_pc_cstr(b, names[k]);
        ms_pc_uint64(b, s->v[k]);
    }
    if (s->have_threads) {
        ms_pc_cstr(b, MSF_KEY_THREADS);
        ms_pc_array(b, s->nthreads);
        for (uint32_t i = 0; i < s->nthreads; i++) {
            ms_pc_array(b, 2);
            ms_pc_uint64(b, s->tid[i]);
            ms_pc_uint64(b, s->cpu_ns[i]);
        }
    }
}
