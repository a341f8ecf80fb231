/* The allocator under memscope in a sanitizer build: the sanitizer's own heap
 * instead of the private jemalloc. The ASan+UBSan and TSan builds run every
 * suite over it (a thread records from its start routine on: see
 * pthread_create below).
 *
 * A sanitizer runtime brings its own malloc; a program that replaces malloc
 * as well (every program linked with memscope) would bypass it, and the
 * sanitizer could check none of its heap. So a checking build
 * (-Db_sanitize=...) links this file in place of jemalloc_private.o: memscope's
 * malloc family still records every event, and hands the memory itself to
 * the runtime's allocator through the __interceptor_* entry points that ASan
 * (and TSan) export (their malloc, free, ... are weak aliases of those, which
 * the definitions below override). The recorder, the program and memscope's
 * tracking code then all run over a checked heap.
 *
 * The runtime calls malloc while it starts, before its shadow memory exists;
 * instrumented code run then would fault. So this file is built without
 * instrumentation, and its malloc family hands everything straight to the
 * runtime until a constructor that runs before the program's own says it is up
 * (libraries the program depends on, the runtime among them, are initialised
 * before it); from then on it calls alloc.c's functions, which the build
 * renames ms_checked_* and instruments. Blocks made before are not recorded,
 * so a later free of one is an unknown free in the trace; the C++ operators
 * (cxx.c) record from the start, as ASan runs no C++ code while it starts.
 *
 * What jemalloc gives and a sanitizer heap does not, this file declines the
 * way jemalloc would on failure: no arenas (mallctl fails, so threads keep
 * the default), no in-place resizing (xallocx returns the current size), no
 * statistics. Never part of a release build (allocator/meson.build). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jemalloc_private.h"

void *__interceptor_malloc(size_t size);
void *__interceptor_calloc(size_t n, size_t size);
void __interceptor_free(void *p);
int __interceptor_posix_memalign(void **out, size_t align, size_t size);
size_t __interceptor_malloc_usable_size(const void *p);

void *msjem_malloc(size_t size)
{
    return __interceptor_malloc(size);
}

void *msjem_calloc(size_t n, size_t size)
{
    return __interceptor_calloc(n, size);
}

void msjem_free(void *p)
{
    __interceptor_free(p);
}

/* jemalloc's aligned_alloc takes any size; C11's, which the sanitizers
 * check, only multiples of the alignment. */
void *msjem_aligned_alloc(size_t align, size_t size)
{
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);  /* posix_memalign's least */
    return __interceptor_posix_memalign(&p, align, size) == 0 ? p : NULL;
}

size_t msjem_malloc_usable_size(const void *p)
{
    return __interceptor_malloc_usable_size(p);
}

/* Never resized in place. (alloc.c's realloc still keeps a block that a
 * smaller size fits, so ASan then checks accesses against the old size.) */
size_t msjem_xallocx(void *p, size_t size, size_t extra, int flags)
{
    (void)size;
    (void)extra;
    (void)flags;
    return __interceptor_malloc_usable_size(p);
}

/* No arenas here (arenas.create and thread.arena fail, so threads keep the
 * default). The statistics are the runtime's two real figures, under
 * jemalloc's names (tracking/metrics.c): the bytes allocated, as "allocated"
 * and "active" (the runtime has no figure for whole pages in use), and the
 * heap's size, as "resident" and "mapped"; nothing is retained. */
size_t __sanitizer_get_current_allocated_bytes(void);
size_t __sanitizer_get_heap_size(void);

int msjem_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
    (void)newp;
    (void)newlen;
    size_t v;
    if (strcmp(name, "epoch") == 0)
        return 0; /* the figures are always current */
    else if (strcmp(name, "stats.allocated") == 0 || strcmp(name, "stats.active") == 0)
        v = __sanitizer_get_current_allocated_bytes();
    else if (strcmp(name, "stats.resident") == 0 || strcmp(name, "stats.mapped") == 0)
        v = __sanitizer_get_heap_size();
    else if (strcmp(name, "stats.retained") == 0)
        v = 0;
    else
        return ENOENT;
    if (oldp == NULL || oldlenp == NULL || *oldlenp != sizeof v)
        return EINVAL;
    memcpy(oldp, &v, sizeof v);
    return 0;
}

/* -- the malloc family ---------------------------------------------------- */

/* The entries sit in a section of their own: a stack starts past them
 * (tracking/stacks.c drops leading frames in it), since here they call the
 * recording ms_checked_* functions rather than inline them. */
#define MS_EXPORT __attribute__((visibility("default"), section("memscope_entry")))

void *ms_checked_malloc(size_t n);
void ms_checked_free(void *p);
void *ms_checked_calloc(size_t n, size_t size);
void *ms_checked_realloc(void *p, size_t n);
void *ms_checked_reallocarray(void *p, size_t n, size_t size);
int ms_checked_posix_memalign(void **out, size_t align, size_t n);
void *ms_checked_aligned_alloc(size_t align, size_t n);
void *ms_checked_memalign(size_t align, size_t n);
void *ms_checked_valloc(size_t n);
void *ms_checked_pvalloc(size_t n);
size_t ms_checked_malloc_usable_size(void *p);

void *__interceptor_realloc(void *p, size_t size);
void *__interceptor_reallocarray(void *p, size_t n, size_t size);
void *__interceptor_aligned_alloc(size_t align, size_t size);
void *__interceptor_memalign(size_t align, size_t size);
void *__interceptor_valloc(size_t size);
void *__interceptor_pvalloc(size_t size);

/* ASan's options for a program linked with memscope: malloc fails
 * with ENOMEM as glibc's does, instead of aborting the program (a test asks
 * for impossible sizes on purpose); no leak report at exit (memscope reports
 * leaks itself, and the test workloads leak on purpose). The environment's
 * ASAN_OPTIONS still applies over these. Programs linked with the archive
 * only: the shared library's version script hides the symbol, so a preloaded
 * one takes its options from ASAN_OPTIONS (tests/core/meson.build). */
MS_EXPORT const char *__asan_default_options(void);
MS_EXPORT const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:detect_leaks=0";
}

/* A thread's sanitizer state is made by the runtime's start routine of the
 * thread (TSan's __tsan_thread_start_func, ASan's asan_thread_start), which
 * calls malloc first (pthread_getattr_np, from the runtime's thread start)
 * and only then the routine the program passed. Under TSan, instrumented
 * code run in that window faults at its first function entry (the thread's
 * shadow stack does not exist yet); under ASan it runs, but the runtime's
 * allocations would be recorded as the program's, on each of its threads. So
 * a thread records only once it runs the program's code: pthread_create below
 * passes a start routine of its own, which sets this flag and calls the
 * program's. Until then the thread's allocations are the runtime's own: they
 * go to the runtime unrecorded (and so do their frees, on the same thread,
 * before the flag is set). The main thread's is set by the constructor: the
 * runtime made its state before any constructor ran. */
static _Thread_local bool program_thread __attribute__((tls_model("initial-exec")));

#define UP() (program_thread && atomic_load_explicit(&runtime_up, memory_order_relaxed))

int __interceptor_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                 void *(*fn)(void *), void *arg);

struct program_start {
    void *(*fn)(void *);
    void *arg;
};

/* Calls fn(arg) as the outermost frame of the thread's frame-pointer chain
 * (%rbp 0, as the C library's thread start leaves it): a walk of the chain
 * (tracking/stacks.c) ends here, and does not follow the runtime's thread
 * start, built without frame pointers, into whatever its %rbp holds. */
void *ms_san_call_outermost(void *(*fn)(void *), void *arg);
#if defined(__x86_64__)
__asm__(".text\n"
        ".p2align 4\n"
        ".type ms_san_call_outermost, @function\n"
        "ms_san_call_outermost:\n"
        ".cfi_startproc\n"
        "  pushq %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "  xorl %ebp, %ebp\n"
        "  movq %rdi, %rax\n"
        "  movq %rsi, %rdi\n"
        "  callq *%rax\n"
        "  popq %rbp\n"
        ".cfi_def_cfa_offset 8\n"
        "  retq\n"
        ".cfi_endproc\n"
        ".size ms_san_call_outermost, .-ms_san_call_outermost\n");
#else
void *ms_san_call_outermost(void *(*fn)(void *), void *arg)
{
    return fn(arg);
}
#endif

/* Runs in the new thread once the runtime has made its state (the runtime calls it as
 * the thread's routine). */
static void *program_start(void *p)
{
    struct program_start s = *(struct program_start *)p;
    __interceptor_free(p);
    program_thread = true;
    return ms_san_call_outermost(s.fn, s.arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* The C library's pthread_create, looked up once. */
static pthread_create_fn libc_pthread_create(void)
{
    static _Atomic(pthread_create_fn) fn;
    pthread_create_fn f = atomic_load_explicit(&fn, memory_order_acquire);
    if (f == NULL) {
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        if (libc != NULL) {
            f = (pthread_create_fn)dlsym(libc, "pthread_create");
            dlclose(libc);
        }
        atomic_store_explicit(&fn, f, memory_order_release);
    }
    return f;
}

/* True if the caller at ra is the sanitizer runtime itself. */
static bool called_by_runtime(const void *ra)
{
    static _Atomic(void *) runtime_base;
    void *base = atomic_load_explicit(&runtime_base, memory_order_relaxed);
    Dl_info info;
    if (base == NULL) {
        if (!dladdr((const void *)(uintptr_t)__interceptor_pthread_create, &info))
            return false;
        base = info.dli_fbase;
        atomic_store_explicit(&runtime_base, base, memory_order_relaxed);
    }
    return dladdr(ra, &info) && info.dli_fbase == base;
}

/* The program's pthread_create (memscope's helper thread too), found before
 * the runtime's as the malloc family is: the program's definition overrides the
 * runtime's weak one. The start record is memscope's, never in the trace.
 *
 * Where the runtime is loaded after the C library (the shared library
 * preloaded into a program not built with the sanitizer, which then loads the runtime
 * as its own dependency), the runtime finds this function as its "real"
 * pthread_create too, and calls it for the thread it has wrapped already, or
 * for its own background thread: those calls go to the C library's. */
__attribute__((visibility("default"))) int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg);
__attribute__((visibility("default"))) int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg)
{
    if (called_by_runtime(__builtin_return_address(0))) {
        pthread_create_fn real = libc_pthread_create();
        return real ? real(t, attr, fn, arg) : EAGAIN;
    }
    struct program_start *s = __interceptor_malloc(sizeof *s);
    if (s == NULL)
        return EAGAIN;
    s->fn = fn;
    s->arg = arg;
    int r = __interceptor_pthread_create(t, attr, program_start, s);
    if (r != 0)
        __interceptor_free(s);
    return r;
}

#ifdef MS_TSAN_HEAP
/* TSan's options for a program linked with memscope, as ASan's above: malloc
 * fails with ENOMEM instead of aborting the program; a fork child may start a
 * thread: memscope's helper thread makes every traced program multithreaded,
 * and the recorder starts the child's own helper (tracking/helper.c), which
 * TSan otherwise answers by ending the child. In sampled mode, no deadlock
 * detector either: the sampled blocks' jemalloc copy (sampled.c) takes every
 * lock of its arenas in its fork handler, more than the detector can hold
 * (64), and TSan would abort the program at its fork. TSAN_OPTIONS still
 * applies over them. (The shared library's version script hides this
 * function: a sampling program it is preloaded into that forks needs
 * TSAN_OPTIONS=detect_deadlocks=0.) */
/* True if MEMSCOPE_MODE is "sampled" (any case). Read from the kernel, by
 * raw system calls and loops of its own: the runtime asks before the C
 * library has set environ (the program's preinit array runs first), and
 * before the runtime's own interceptors of open, read or strcmp can run. */
static bool mode_is_sampled(void)
{
    static char env[65536];
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    long n = syscall(SYS_read, fd, env, sizeof env - 1);
    syscall(SYS_close, fd);
    if (n <= 0)
        return false;
    env[n] = '\0';
    static const char key[] = "MEMSCOPE_MODE=", want[] = "sampled";
    for (long i = 0; i < n;) {
        long k = 0;
        while (key[k] != '\0' && env[i + k] == key[k])
            k++;
        if (key[k] == '\0') {
            const char *v = env + i + k;
            long j = 0;
            while (want[j] != '\0' && (v[j] | 0x20) == want[j])
                j++;
            return want[j] == '\0' && v[j] == '\0';
        }
        while (i < n && env[i] != '\0')
            i++;
        i++;
    }
    return false;
}

MS_EXPORT const char *__tsan_default_options(void);
MS_EXPORT const char *__tsan_default_options(void)
{
    if (mode_is_sampled())
        return "allocator_may_return_null=1:die_after_fork=0:detect_deadlocks=0";
    return "allocator_may_return_null=1:die_after_fork=0";
}
#endif

/* Set once, by the constructor below; a library's constructor may already
 * have started a thread, hence atomic (relaxed: it only picks a path). */
static atomic_bool runtime_up;

/* Priority 100, below any a program may use (101 and up), so that the
 * program's first constructor is recorded already. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wprio-ctor-dtor"
__attribute__((constructor(100))) static void sanitizer_runtime_up(void)
{
    program_thread = true;
    atomic_store_explicit(&runtime_up, true, memory_order_relaxed);
}
#pragma GCC diagnostic pop


MS_EXPORT void *malloc(size_t n)
{
    return UP() ? ms_checked_malloc(n) : __interceptor_malloc(n);
}

MS_EXPORT void free(void *p)
{
    if (UP())
        ms_checked_free(p);
    else
        __interceptor_free(p);
}

MS_EXPORT void *calloc(size_t n, size_t size)
{
    return UP() ? ms_checked_calloc(n, size) : __interceptor_calloc(n, size);
}

MS_EXPORT void *realloc(void *p, size_t n)
{
    return UP() ? ms_checked_realloc(p, n) : __interceptor_realloc(p, n);
}

MS_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    return UP() ? ms_checked_reallocarray(p, n, size) : __interceptor_reallocarray(p, n, size);
}

MS_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    return UP() ? ms_checked_posix_memalign(out, align, n) : __interceptor_posix_memalign(out, align, n);
}

MS_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    return UP() ? ms_checked_aligned_alloc(align, n) : __interceptor_aligned_alloc(align, n);
}

MS_EXPORT void *memalign(size_t align, size_t n)
{
    return UP() ? ms_checked_memalign(align, n) : __interceptor_memalign(align, n);
}

MS_EXPORT void *valloc(size_t n)
{
    return UP() ? ms_checked_valloc(n) : __interceptor_valloc(n);
}

MS_EXPORT void *pvalloc(size_t n)
{
    return UP() ? ms_checked_pvalloc(n) : __interceptor_pvalloc(n);
}

MS_EXPORT size_t malloc_usable_size(void *p)
{
    return UP() ? ms_checked_malloc_usable_size(p) : __interceptor_malloc_usable_size(p);
}

/* The runtimes' strdup and strndup take their memory from the runtime's heap
 * directly, never through malloc, so their blocks would be unrecorded and
 * their frees unknown; the C library's call malloc. Here they do too, with
 * the runtime's checked strlen/strnlen, so that reading past the string is
 * still reported. */
size_t __interceptor_strlen(const char *s);
size_t __interceptor_strnlen(const char *s, size_t max);
char *__interceptor_strdup(const char *s);
char *__interceptor_strndup(const char *s, size_t max);

/* Inlined, so that a stack starts past the entries (their section). */
static inline __attribute__((always_inline)) char *dup_len(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

MS_EXPORT char *strdup(const char *s)
{
    return UP() ? dup_len(s, __interceptor_strlen(s)) : __interceptor_strdup(s);
}

MS_EXPORT char *__strdup(const char *s);
MS_EXPORT char *__strdup(const char *s)
{
    return UP() ? dup_len(s, __interceptor_strlen(s)) : __interceptor_strdup(s);
}

MS_EXPORT char *strndup(const char *s, size_t max)
{
    return UP() ? dup_len(s, __interceptor_strnlen(s, max)) : __interceptor_strndup(s, max);
}

MS_EXPORT char *__strndup(const char *s, size_t max);
MS_EXPORT char *__strndup(const char *s, size_t max)
{
    return UP() ? dup_len(s, __interceptor_strnlen(s, max)) : __interceptor_strndup(s, max);
}
