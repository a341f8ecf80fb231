/* A traced program whose allocation call stacks are known (test_stacks.c):
 * each allocating function prints the return addresses that the recorded
 * stack must hold. Built twice: with frame pointers (stacks_prog) and
 * without (stacks_prog_nofp).
 *
 *   stacks_prog chain                   top -> middle -> leaf -> malloc(12345)
 *   stacks_prog repeat N                the chain N times (one stack)
 *   stacks_prog two                     two call sites of one function
 *   stacks_prog threads                 the chain on two threads
 *   stacks_prog recurse D               D nested calls, then malloc(777)
 *   stacks_prog signal                  malloc(4321) in a signal handler
 *   stacks_prog calls                   calloc, realloc, posix_memalign, aligned_alloc
 *   stacks_prog getattr                 a thread whose first allocation is the realloc
 *                                       inside pthread_getattr_np (which holds the
 *                                       thread's lock meanwhile) */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* Where each allocation is stored, so that the compiler keeps it; atomic,
 * as two threads store to it (a race TSan reports otherwise). */
static _Atomic(void *) sink;

NOINLINE static void *leaf(size_t n)
{
    void *p = malloc(n);
    printf("leaf ptr=%p fn=%p r1=%p\n", p, (void *)leaf, __builtin_return_address(0));
    atomic_store_explicit(&sink, p, memory_order_relaxed);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame stays */
    return p;
}

NOINLINE static void *middle(size_t n)
{
    void *p = leaf(n);
    printf("middle r2=%p\n", __builtin_return_address(0));
    __asm__ volatile("" ::: "memory");
    return p;
}

NOINLINE static void *top(size_t n)
{
    void *p = middle(n);
    printf("top r3=%p\n", __builtin_return_address(0));
    __asm__ volatile("" ::: "memory");
    return p;
}

NOINLINE static void *recurse(int d)
{
    if (d > 0) {
        void *p = recurse(d - 1);
        __asm__ volatile("" ::: "memory");
        return p;
    }
    void *p = malloc(777);
    printf("recurse ptr=%p\n", p);
    return p;
}

static void on_signal(int sig)
{
    (void)sig;
    void *p = malloc(4321);
    atomic_store_explicit(&sink, p, memory_order_relaxed);
    free(p);
}

static void *thread_main(void *arg)
{
    (void)arg;
    free(top(2222));
    return NULL;
}

static void *getattr_main(void *arg)
{
    (void)arg;
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return (void *)1;
    pthread_attr_destroy(&a);
    free(top(5151));
    return NULL;
}

NOINLINE static void *site_a(void) { void *p = leaf(3333); __asm__ volatile("" ::: "memory"); return p; }
NOINLINE static void *site_b(void) { void *p = leaf(3333); __asm__ volatile("" ::: "memory"); return p; }

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* printf's buffer is allocated before any test allocation */
    const char *what = argc > 1 ? argv[1] : "chain";
    if (strcmp(what, "chain") == 0) {
        free(top(12345));
    } else if (strcmp(what, "repeat") == 0) {
        int n = argc > 2 ? atoi(argv[2]) : 100;
        for (int i = 0; i < n; i++)
            free(top(12345));
    } else if (strcmp(what, "two") == 0) {
        free(site_a());
        free(site_b());
    } else if (strcmp(what, "threads") == 0) {
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, thread_main, NULL);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
    } else if (strcmp(what, "recurse") == 0) {
        free(recurse(argc > 2 ? atoi(argv[2]) : 1000));
    } else if (strcmp(what, "signal") == 0) {
        signal(SIGUSR1, on_signal);
        for (int i = 0; i < 20; i++)
            raise(SIGUSR1);
    } else if (strcmp(what, "getattr") == 0) {
        pthread_t t;
        void *rc = NULL;
        pthread_create(&t, NULL, getattr_main, NULL);
        pthread_join(t, &rc);
        if (rc != NULL)
            return 1;
    } else if (strcmp(what, "calls") == 0) {
        void *p = calloc(3, 1111);
        void *grown = realloc(p, 99999);
        if (!grown) {
            free(p);
            return 1;
        }
        p = grown;
        void *q = NULL;
        if (posix_memalign(&q, 64, 5555) != 0)
            return 1;
        void *r = aligned_alloc(128, 1280);
        printf("calls main=%p\n", (void *)main);
        free(p);
        free(q);
        free(r);
    }
    return 0;
}
