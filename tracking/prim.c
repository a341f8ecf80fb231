/* Linux implementation of the platform contract in prim.h. */
#include "prim.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

uint64_t ms_prim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no system call */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ms_prim_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ms_prim_gettid(void)
{
    return (uint64_t)syscall(SYS_gettid);
}

int ms_prim_mkdirs(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0)
        return 0;
    if (n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int ms_prim_create(const char *path)
{
    /* O_EXCL: never an existing file, nor a symlink planted at the name;
     * O_NOFOLLOW says the same for the last component, explicitly. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return fd >= 0 ? fd : -errno;
}

/* pwrite of all of buf, retrying on EINTR and short writes. Returns 0 or a
 * negative errno (-ENOSPC for a write of nothing). */
static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -ENOSPC;
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    return 0;
}

int ms_prim_reserve(int fd, uint64_t off, size_t len, const void *head, size_t head_len)
{
    /* Writing (rather than fallocate) both reserves the blocks (ext4's delayed
     * allocation reserves at write time, so a full disk shows here as ENOSPC
     * instead of a SIGBUS in the mapping later) and leaves the pages in the
     * page cache, so that mapping them costs no page allocation. */
    static const char zeros[256 << 10]; /* never written: backed by the zero page */
    char first[4096];
    size_t n = len < sizeof first ? len : sizeof first;
    memset(first, 0, n);
    if (head_len)
        memcpy(first, head, head_len < n ? head_len : n);
    int r = write_all(fd, first, n, off);
    for (off += n, len -= n; r == 0 && len > 0;) {
        size_t k = len < sizeof zeros ? len : sizeof zeros;
        r = write_all(fd, zeros, k, off);
        off += k;
        len -= k;
    }
    return r;
}

void *ms_prim_map(int fd, uint64_t off, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
    if (p == MAP_FAILED)
        return NULL;
    /* Take the write faults now, in one call, rather than one per page on the
     * hot path. Older kernels refuse the advice; then the faults come later. */
    (void)madvise(p, len, MADV_POPULATE_WRITE);
    return p;
}

void *ms_prim_map_anon(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void ms_prim_unmap(void *p, size_t len)
{
    if (p)
        munmap(p, len);
}

ssize_t ms_prim_read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t r = read(fd, buf + got, len - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

void ms_prim_stderr(const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0) {
        ssize_t w = write(2, msg, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        msg += w;
        n -= (size_t)w;
    }
}

uint64_t ms_prim_rss_bytes(void)
{
    char buf[128];
    if (ms_prim_read_file("/proc/self/statm", buf, sizeof buf) <= 0)
        return 0;
    /* "size resident shared ..." in pages */
    const char *p = buf;
    while (*p && *p != ' ')
        p++;
    uint64_t pages = 0;
    while (*p == ' ')
        p++;
    while (*p >= '0' && *p <= '9')
        pages = pages * 10 + (uint64_t)(*p++ - '0');
    return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

void ms_prim_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

void ms_fmt_u64(char *buf, uint64_t v)
{
    char tmp[21];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i > 0)
        *buf++ = tmp[--i];
    *buf = '\0';
}

int ms_prim_move_fd_high(int fd)
{
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
    if (high < 0)
        return fd;
    close(fd);
    return high;
}

bool ms_prim_only_thread_left(void)
{
    char buf[1024];
    if (ms_prim_read_file("/proc/self/stat", buf, sizeof buf) <= 0)
        return false;
    /* "pid (comm) state ppid ...": the name may hold anything, so fields are
     * counted from its closing parenthesis; num_threads is field 20. */
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return false;
    p += 2;
    char state = *p;
    for (int field = 3; field < 20; p++) {
        if (*p == '\0')
            return false;
        field += *p == ' ';
    }
    uint64_t n = 0;
    while (*p >= '0' && *p <= '9')
        n = n * 10 + (uint64_t)(*p++ - '0');
    return state == 'Z' && n == 2;
}

uint64_t ms_prim_file_size_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT64_MAX;
    return (uint64_t)rl.rlim_cur;
}

int ms_prim_file_id(int fd, uint64_t *dev, uint64_t *ino)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

/* Parses a hexadecimal number at *p, moving *p past it. */
static uint64_t parse_hex(const char **p)
{
    uint64_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16u;
        if (d == 16)
            return v;
        v = v * 16 + d;
    }
}

/* If a /proc/self/maps line maps the file (major, minor, ino), or names
 * `path` (the device in maps is not st_dev on btrfs subvolumes and overlayfs),
 * stores its range. Returns true if it does.
 * Line: "start-end perms offset maj:min inode path". */
static bool maps_line_matches(const char *l, unsigned major_, unsigned minor_, uint64_t ino,
                              const char *path, uintptr_t *start, uintptr_t *end)
{
    const char *p = l;
    *start = (uintptr_t)parse_hex(&p);
    if (*p++ != '-')
        return false;
    *end = (uintptr_t)parse_hex(&p);
    for (int field = 0; field < 2; field++) { /* perms, offset */
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
    }
    while (*p == ' ')
        p++;
    uint64_t ma = parse_hex(&p);
    if (*p++ != ':')
        return false;
    uint64_t mi = parse_hex(&p);
    while (*p == ' ')
        p++;
    uint64_t in = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        in = in * 10 + (uint64_t)(*p - '0');
    if (*end <= *start)
        return false;
    if (ma == major_ && mi == minor_ && in == ino)
        return true;
    while (*p == ' ')
        p++;
    size_t n = path ? strlen(path) : 0;
    return n && strncmp(p, path, n) == 0 && (p[n] == '\0' || strcmp(p + n, " (deleted)") == 0);
}

int ms_prim_unmap_file(uint64_t dev, uint64_t ino, const char *path)
{
    enum { MAX_RANGES = 256 };
    static uintptr_t ranges[MAX_RANGES][2]; /* a fork child has one thread: no race */
    static char buf[4096], line[512];
    unsigned ma = major((dev_t)dev), mi = minor((dev_t)dev);
    int total = 0;
    for (int round = 0; round < 64; round++) {
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        size_t n = 0, len = 0;
        ssize_t r;
        /* Collect first, unmap after: the file changes as mappings go. */
        while (n < MAX_RANGES && (r = read(fd, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < r && n < MAX_RANGES; i++) {
                if (buf[i] != '\n') {
                    if (len < sizeof line - 1) /* a long path is cut: the fields before it are whole */
                        line[len++] = buf[i];
                    continue;
                }
                line[len] = '\0';
                if (maps_line_matches(line, ma, mi, ino, path, &ranges[n][0], &ranges[n][1]))
                    n++;
                len = 0;
            }
        }
        close(fd);
        for (size_t i = 0; i < n; i++)
            munmap((void *)ranges[i][0], ranges[i][1] - ranges[i][0]);
        total += (int)n;
        if (n < MAX_RANGES)
            return total;
    }
    return total;
}

int ms_prim_list_threads(uint64_t *tids, int max)
{
    static _Alignas(8) char buf[16384];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int n = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (got <= 0)
            break;
        for (long off = 0; off < got;) {
            /* struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            uint64_t tid = 0;
            bool digits = *name != '\0';
            for (const char *p = name; *p; p++) {
                digits &= *p >= '0' && *p <= '9';
                tid = tid * 10 + (uint64_t)(*p - '0');
            }
            if (digits && n < max)
                tids[n++] = tid;
            if (reclen == 0)
                break;
            off += reclen;
        }
    }
    close(fd);
    return n;
}

bool ms_prim_thread_cpu_ns(uint64_t tid, uint64_t *ns)
{
    /* The kernel's per-thread CPU clock id (MAKE_THREAD_CPUCLOCK(tid,
     * CPUCLOCK_SCHED)): ~tid << 3 | per-thread (4) | sched (2). Readable for
     * any thread of the calling process. */
    clockid_t clk = (clockid_t)((~(uint32_t)tid << 3) | 6u);
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0)
        return false;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return true;
}
