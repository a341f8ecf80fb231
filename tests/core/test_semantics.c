/* The malloc family's semantics, in a program statically linked with
 * libmemscope_alloc.a: each entry point behaves as glibc's does, and what it
 * does is recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memscope.h"

/* Sizes the compiler cannot see, so that it lets us ask for the impossible. */
static volatile size_t huge_v = SIZE_MAX - 4096, half_v = SIZE_MAX / 2;
#define HUGE_SZ ((size_t)huge_v)
#define HALF_SZ ((size_t)half_v)
#include "format.h"
#include "trace_reader.h"

static void test_malloc_zero_unique(void **state)
{
    (void)state;
    void *a = malloc(0), *b = malloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    free(a);
    free(b);
}

static void test_free_null_keeps_errno(void **state)
{
    (void)state;
    errno = 1234;
    free(NULL);
    assert_int_equal(errno, 1234);
    void *p = malloc(100);
    errno = 4321;
    free(p);
    assert_int_equal(errno, 4321);
}

/* errno survives a free inside which jemalloc's system call fails. A block
 * over jemalloc's oversize threshold (8 MiB) comes from its huge arena, whose
 * pages are purged (madvise) as soon as the block is freed; in a child whose
 * seccomp filter makes every madvise fail with EPERM, free must still leave
 * errno as it was (allocator/jemalloc_sys.c keeps it: the entries do not
 * save it). */
static void test_free_keeps_errno_when_purge_fails(void **state)
{
    (void)state;
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_madvise, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
            _exit(77); /* no seccomp here */
        int bad = 0;
        for (int i = 0; i < 8; i++) {
            char *p = malloc((size_t)16 << 20);
            if (!p)
                _exit(3);
            memset(p, 1, (size_t)16 << 20); /* dirty pages, for the purge */
            errno = 4321;
            free(p);
            bad += errno != 4321;
        }
        /* the filter really bites: a madvise of ours fails */
        errno = 0;
        int r = madvise(NULL, 0, MADV_DONTNEED);
        _exit(bad ? 1 : r == -1 && errno == EPERM ? 0 : 2);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(st), 0);
#else
    skip(); /* the entries save errno themselves there */
#endif
}

static void test_malloc_huge_enomem(void **state)
{
    (void)state;
    errno = 0;
    void *volatile p = malloc(HUGE_SZ);
    assert_null(p);
    assert_int_equal(errno, ENOMEM);
}

static void test_calloc_zeroed_and_overflow(void **state)
{
    (void)state;
    unsigned char *p = calloc(1000, 3);
    assert_non_null(p);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(p[i], 0);
    free(p);
    errno = 0;
    void *volatile q = calloc(HALF_SZ, 3);
    assert_null(q);
    assert_int_equal(errno, ENOMEM);
}

static void test_realloc_null_zero_grow_shrink(void **state)
{
    (void)state;
    char *p = realloc(NULL, 10);
    assert_non_null(p);
    memcpy(p, "abcdefghi", 10);
    p = realloc(p, 100000);
    assert_non_null(p);
    assert_string_equal(p, "abcdefghi");
    p = realloc(p, 5);
    assert_non_null(p);
    assert_memory_equal(p, "abcde", 5);
    errno = 77;
    assert_null(realloc(p, 0)); /* frees, as glibc */
    assert_int_equal(errno, 77);
}

static void test_realloc_failure_keeps_block(void **state)
{
    (void)state;
    char *volatile p = malloc(16);
    strcpy(p, "keep");
    errno = 0;
    void *q = realloc(p, HUGE_SZ);
    assert_null(q);
    assert_int_equal(errno, ENOMEM);
    assert_string_equal(p, "keep");
    free(p);
}

static void test_reallocarray_overflow(void **state)
{
    (void)state;
    errno = 0;
    assert_null(reallocarray(NULL, HALF_SZ, 3));
    assert_int_equal(errno, ENOMEM);
    int *p = reallocarray(NULL, 10, sizeof(int));
    assert_non_null(p);
    free(p);
}

static void test_posix_memalign(void **state)
{
    (void)state;
    void *p = NULL;
    errno = 55;
    assert_int_equal(posix_memalign(&p, 3, 10), EINVAL);
    assert_int_equal(posix_memalign(&p, 4, 10), EINVAL); /* < sizeof(void *) */
    assert_int_equal(errno, 55);
    for (size_t a = 8; a <= 65536; a *= 2) {
        assert_int_equal(posix_memalign(&p, a, 100), 0);
        assert_int_equal((uintptr_t)p % a, 0);
        free(p);
    }
    assert_int_equal(posix_memalign(&p, 64, HUGE_SZ), ENOMEM);
    assert_int_equal(errno, 55);
}

static void test_aligned_alloc(void **state)
{
    (void)state;
    errno = 0;
    assert_null(aligned_alloc(24, 48));
    assert_int_equal(errno, EINVAL);
    void *p = aligned_alloc(4096, 4096);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 4096, 0);
    free(p);
    p = aligned_alloc(16, 8); /* smaller than the alignment */
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    free(p);
}

static void test_memalign_valloc_pvalloc(void **state)
{
    (void)state;
    long ps = sysconf(_SC_PAGESIZE);
    void *p = memalign(48, 10); /* rounded up to 64, as glibc */
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    free(p);
    p = memalign(0, 10);
    assert_non_null(p);
    free(p);
    p = valloc(10);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % (uintptr_t)ps, 0);
    free(p);
    p = pvalloc(1);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % (uintptr_t)ps, 0);
    assert_true(malloc_usable_size(p) >= (size_t)ps);
    free(p);
}

static void test_usable_size(void **state)
{
    (void)state;
    assert_int_equal(malloc_usable_size(NULL), 0);
    void *p = malloc(100);
    assert_true(malloc_usable_size(p) >= 100);
    free(p);
}

/* Shrinking a large block gives its tail back where it stands: no copy, so no
 * moment with both sizes allocated. */
static void test_realloc_shrinks_large_block_in_place(void **state)
{
    (void)state;
#ifdef MS_SANITIZER_HEAP
    /* the sanitizer's heap (allocator/sanitizer_backend.c) never resizes in
     * place; the normal build runs this */
    skip();
#endif
    char *p = malloc(64u << 20);
    assert_non_null(p);
    p[0] = 7;
    p[(16u << 20) - 1] = 9;
    char *q = realloc(p, 16u << 20);
    assert_ptr_equal(q, p);
    assert_int_equal(q[0], 7);
    assert_int_equal(q[(16u << 20) - 1], 9);
    assert_true(malloc_usable_size(q) < (32u << 20));
    free(q);
}

static void test_public_api(void **state)
{
    (void)state;
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", MEMSCOPE_VERSION_MAJOR, MEMSCOPE_VERSION_MINOR,
             MEMSCOPE_VERSION_PATCH);
    assert_string_equal(memscope_version(), v);
    /* a negative errno (and its positive twin) gives the system's text */
    assert_string_equal(memscope_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(memscope_strerror(ERANGE), strerror(ERANGE));
    assert_string_equal(memscope_strerror(0), "success");
    char small[2];
    assert_int_equal(memscope_trace_path(small, sizeof small), -ERANGE);
    assert_int_equal(memscope_trace_path(NULL, 0), -ERANGE);
    char path[4096];
    int n = memscope_trace_path(path, sizeof path);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(path));
    assert_non_null(strstr(path, ".msgpack"));
}

/* Tasks and thread names: blocks carry the task current on their thread,
 * enters nest and leaves go back, and bad arguments are refused. */
static void test_tasks_and_names(void **state)
{
    (void)state;
    uint64_t a = memscope_task_create("job <A>", 0);
    uint64_t b = memscope_task_create(NULL, a);
    assert_true(a > 0 && b > a);
    assert_int_equal(memscope_task_create("orphan", b + 1000), 0); /* unknown parent */
    assert_int_equal(memscope_task_enter(0), -EINVAL);
    assert_int_equal(memscope_task_enter(b + 1000), -EINVAL);
    assert_int_equal(memscope_task_leave(), -EINVAL); /* nothing entered */
    assert_int_equal(memscope_task_end(b + 1000), -EINVAL);
    assert_int_equal(memscope_thread_name(NULL), -EINVAL);
    char longname[80];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(memscope_thread_name(longname), -ENAMETOOLONG);
    assert_int_equal(memscope_thread_name("semantics-main-thread"), 0);

    void *p0 = malloc(5101);
    assert_int_equal(memscope_task_enter(a), 0);
    void *p1 = malloc(5102);
    assert_int_equal(memscope_task_enter(b), 0);
    void *p2 = malloc(5103);
    assert_int_equal(memscope_task_leave(), 0);
    void *p3 = malloc(5104);
    assert_int_equal(memscope_task_leave(), 0);
    void *p4 = malloc(5105);
    assert_int_equal(memscope_task_end(b), 0);
    const size_t sized_len[3] = { 27, 28, 63 };
    uint64_t sized[3];
    for (int i = 0; i < 3; i++) {
        char name[64];
        memset(name, 'p' + i, sized_len[i]);
        name[sized_len[i]] = '\0';
        free(malloc(16)); /* takes the published clock as seen: the in-line path is open */
        sized[i] = memscope_task_create(name, i ? sized[i - 1] : a);
        assert_true(sized[i] > 0);
        assert_int_equal(memscope_task_end(sized[i]), 0);
    }
    assert_int_equal(memscope_task_end(a), 0);
    free(p0); free(p1); free(p2); free(p3); free(p4);

    char path[4096];
    assert_true(memscope_trace_path(path, sizeof path) > 0);
    static tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);
    uint64_t want[5] = { 0, a, b, a, 0 };
    for (int i = 0; i < 5; i++) {
        const tr_event_t *e = NULL;
        for (size_t k = 0; k < t.nev && !e; k++)
            if (t.ev[k].kind == MSF_K_ALLOC && t.ev[k].size == 5101u + (unsigned)i)
                e = &t.ev[k];
        assert_non_null(e);
        assert_int_equal(e->task, want[i]);
    }
    bool seen_a = false, seen_b = false;
    for (int i = 0; i < t.ntasks; i++) {
        if (t.tasks[i].id == a)
            seen_a = !strcmp(t.tasks[i].name, "job <A>") && t.tasks[i].parent == 0;
        if (t.tasks[i].id == b)
            seen_b = !strcmp(t.tasks[i].name, "") && t.tasks[i].parent == a;
    }
    assert_true(seen_a && seen_b);
    assert_true(t.n_task_end >= 5);
    /* names on both sides of the recorder's in-line packing (27 bytes at
     * most, tasks.c) and a long one, each with its parent */
    for (int i = 0; i < 3; i++) {
        bool seen = false;
        for (int k = 0; k < t.ntasks; k++)
            if (t.tasks[k].id == sized[i])
                seen = strlen(t.tasks[k].name) == sized_len[i] && t.tasks[k].name[0] == (char)('p' + i) &&
                       t.tasks[k].name[sized_len[i] - 1] == (char)('p' + i) && t.tasks[k].parent == (i ? sized[i - 1] : a);
        assert_true(seen);
    }
    bool named = false;
    for (int i = 0; i < t.nthreads; i++)
        named |= !strcmp(t.threads[i].name, "semantics-main-thread");
    assert_true(named); /* the full name, not the kernel's 15 bytes */
    tr_free(&t);
}

static bool tag_4242(uint64_t size) { return size == 4242; }

/* The entry points above were recorded: the trace of this very process holds
 * them. Blocks of size 4242 made here are counted exactly. */
static void test_trace_records_entry_points(void **state)
{
    (void)state;
    void *a = malloc(4242);
    void *b = calloc(1, 4242);
    void *c = NULL;
    assert_int_equal(posix_memalign(&c, 256, 4242), 0);
    void *d = aligned_alloc(64, 4242);
    void *e = memalign(128, 4242);
    void *f = realloc(NULL, 4242);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);

    char path[4096];
    assert_true(memscope_trace_path(path, sizeof path) > 0);
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);
    assert_true(t.first_event_ok);
    assert_int_equal(t.n_process, 1);
    assert_true(t.n_modules >= 1);
    assert_true(t.modules_last >= 2); /* the program and libc at least */
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tag_4242, &n), 0);
    assert_int_equal(n.allocs, 6);
    assert_int_equal(n.frees, 6);
    tr_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malloc_zero_unique),
        cmocka_unit_test(test_free_null_keeps_errno),
        cmocka_unit_test(test_free_keeps_errno_when_purge_fails),
        cmocka_unit_test(test_malloc_huge_enomem),
        cmocka_unit_test(test_calloc_zeroed_and_overflow),
        cmocka_unit_test(test_realloc_null_zero_grow_shrink),
        cmocka_unit_test(test_realloc_failure_keeps_block),
        cmocka_unit_test(test_reallocarray_overflow),
        cmocka_unit_test(test_posix_memalign),
        cmocka_unit_test(test_aligned_alloc),
        cmocka_unit_test(test_memalign_valloc_pvalloc),
        cmocka_unit_test(test_usable_size),
        cmocka_unit_test(test_realloc_shrinks_large_block_in_place),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_tasks_and_names),
        cmocka_unit_test(test_trace_records_entry_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
