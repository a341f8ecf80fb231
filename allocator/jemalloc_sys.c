/* The system calls of the private jemalloc copy, errno kept.
 *
 * privatize-jemalloc.sh renames jemalloc's references to these functions to
 * msjem_sys_*: each calls the real one and puts errno back as it was, so that
 * nothing jemalloc does beneath free() (a purge: madvise; a decay tick:
 * clock_gettime; an unmapped extent: munmap) can change the program's errno,
 * and the entries need not save it. jemalloc reads errno after these calls only
 * to print a message (its own error reports, which then name the program's
 * errno rather than the call's: accepted); an allocation that fails still
 * sets ENOMEM, which jemalloc does itself, after them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The declarations keep -Wmissing-prototypes quiet: the names are what the
 * renamed jemalloc object calls. */
#define KEEP_ERRNO(type, call) \
    int saved_ = errno;        \
    type r_ = call;            \
    errno = saved_;            \
    return r_

void *msjem_sys_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off);
void *msjem_sys_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
    KEEP_ERRNO(void *, mmap(a, n, prot, flags, fd, off));
}

int msjem_sys_munmap(void *a, size_t n);
int msjem_sys_munmap(void *a, size_t n)
{
    KEEP_ERRNO(int, munmap(a, n));
}

int msjem_sys_madvise(void *a, size_t n, int advice);
int msjem_sys_madvise(void *a, size_t n, int advice)
{
    KEEP_ERRNO(int, madvise(a, n, advice));
}

int msjem_sys_mprotect(void *a, size_t n, int prot);
int msjem_sys_mprotect(void *a, size_t n, int prot)
{
    KEEP_ERRNO(int, mprotect(a, n, prot));
}

void *msjem_sys_sbrk(intptr_t inc);
void *msjem_sys_sbrk(intptr_t inc)
{
    KEEP_ERRNO(void *, sbrk(inc));
}

int msjem_sys_clock_gettime(clockid_t c, struct timespec *ts);
int msjem_sys_clock_gettime(clockid_t c, struct timespec *ts)
{
    KEEP_ERRNO(int, clock_gettime(c, ts));
}

int msjem_sys_gettimeofday(struct timeval *tv, void *tz);
int msjem_sys_gettimeofday(struct timeval *tv, void *tz)
{
    KEEP_ERRNO(int, gettimeofday(tv, tz));
}

int msjem_sys_open(const char *path, int flags, ...);
int msjem_sys_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    KEEP_ERRNO(int, open(path, flags, mode));
}

int msjem_sys_creat(const char *path, mode_t mode);
int msjem_sys_creat(const char *path, mode_t mode)
{
    KEEP_ERRNO(int, creat(path, mode));
}

int msjem_sys_close(int fd);
int msjem_sys_close(int fd)
{
    KEEP_ERRNO(int, close(fd));
}

ssize_t msjem_sys_readlink(const char *path, char *buf, size_t n);
ssize_t msjem_sys_readlink(const char *path, char *buf, size_t n)
{
    KEEP_ERRNO(ssize_t, readlink(path, buf, n));
}

long msjem_sys_sysconf(int name);
long msjem_sys_sysconf(int name)
{
    KEEP_ERRNO(long, sysconf(name));
}

int msjem_sys_sched_getcpu(void);
int msjem_sys_sched_getcpu(void)
{
    KEEP_ERRNO(int, sched_getcpu());
}

int msjem_sys_sched_yield(void);
int msjem_sys_sched_yield(void)
{
    KEEP_ERRNO(int, sched_yield());
}

int msjem_sys_sched_getaffinity(pid_t pid, size_t n, cpu_set_t *set);
int msjem_sys_sched_getaffinity(pid_t pid, size_t n, cpu_set_t *set)
{
    KEEP_ERRNO(int, sched_getaffinity(pid, n, set));
}

int msjem_sys_sched_setaffinity(pid_t pid, size_t n, const cpu_set_t *set);
int msjem_sys_sched_setaffinity(pid_t pid, size_t n, const cpu_set_t *set)
{
    KEEP_ERRNO(int, sched_setaffinity(pid, n, set));
}

int msjem_sys_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int msjem_sys_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    KEEP_ERRNO(int, pthread_create(t, a, fn, arg));
}

/* jemalloc calls syscall() for read, write, open and close (its
 * JEMALLOC_USE_SYSCALL build); six arguments cover every system call. */
long msjem_sys_syscall(long nr, ...);
long msjem_sys_syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);
    KEEP_ERRNO(long, syscall(nr, a1, a2, a3, a4, a5, a6));
}
