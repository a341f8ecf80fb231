/* A traced program for the sampled mode (test_sampling.c). It checks itself
 * that the blocks it gets behave (calloc zeroes, realloc keeps the content,
 * alignments hold), whichever of them the sampler moved, and exits 1 if not.
 *
 *   sample_prog known     20000 x malloc(1000), all live, then all freed;
 *                         5000 calloc(1, 300); 3000 realloc chains of
 *                         64 -> 5000 -> 20 bytes; 2000 posix_memalign(4096, 700),
 *                         2000 aligned_alloc(64, 128)
 *   sample_prog leak      as known, but 1000 of the malloc(1000) blocks stay
 *   sample_prog handoff   200 x malloc(100000) on the main thread, each freed
 *                         by a new thread of its own whose first allocator
 *                         call that free is
 *   forkfull              forks a child whose MEMSCOPE_MODE is full: it
 *                         moves 10 sampled blocks of its parent's by
 *                         realloc(50000), frees them and the other 90, and
 *                         makes 1000 x malloc(777) and free of its own
 *   huge                  1000 x malloc(2^62), each failing, then as known
 *   latedtor              a thread whose key destructor, in its third and
 *                         fourth rounds (after memscope's thread end), makes
 *                         a malloc of nearly 2^63 bytes that fails, then
 *                         malloc(2000) and frees it
 *   latedtor-plain        the same without the failing malloc */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 20000

static void *blocks[N];

static void *free_it(void *p)
{
    free(p);
    return NULL;
}

/* Blocks sampled on one thread, each freed as the very first event of a new
 * thread: the free goes back to the sampled range and is recorded. */
static int handoff(void)
{
    for (int i = 0; i < 200; i++) {
        void *p = malloc(100000);
        pthread_t th;
        if (!p || pthread_create(&th, NULL, free_it, p) != 0 || pthread_join(th, NULL) != 0)
            return 1;
    }
    printf("done\n");
    return 0;
}

/* A child that traces every event, of a parent that samples: its frees are
 * recorded, its parent's sampled blocks go back to their range. */
static int forkfull(void)
{
    void *inherited[100];
    for (int i = 0; i < 100; i++)
        if (!(inherited[i] = malloc(100000)))
            return 1;
    setenv("MEMSCOPE_MODE", "full", 1);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        for (int i = 0; i < 10; i++) {
            char *q = realloc(inherited[i], 50000);
            if (!q)
                _exit(1);
            inherited[i] = q;
        }
        for (int i = 0; i < 100; i++)
            free(inherited[i]);
        for (int i = 0; i < 1000; i++) {
            char *p = malloc(777);
            if (!p)
                _exit(1);
            p[0] = 1;
            free(p);
        }
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    printf("done\n");
    return 0;
}

static pthread_key_t late_key;
static __thread int late_round;
static int late_huge;

static void late_dtor(void *v)
{
    if (++late_round >= 3) {
        void *huge = late_huge ? malloc((size_t)INT64_MAX - 1000) : NULL;
        char *p = malloc(2000);
        if (huge != NULL || p == NULL)
            _exit(1);
        p[0] = 1;
        free(p);
    }
    if (late_round < 4)
        (void)pthread_setspecific(late_key, v);
}

static void *late_body(void *a)
{
    free(malloc(10));
    (void)pthread_setspecific(late_key, (void *)1);
    return a;
}

static int latedtor(void)
{
    pthread_t th;
    if (pthread_key_create(&late_key, late_dtor) != 0 || pthread_create(&th, NULL, late_body, NULL) != 0 ||
        pthread_join(th, NULL) != 0)
        return 1;
    printf("done\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "latedtor", 8) == 0) {
        late_huge = strcmp(argv[1], "latedtor") == 0;
        return latedtor();
    }
    if (argc > 1 && strcmp(argv[1], "handoff") == 0)
        return handoff();
    if (argc > 1 && strcmp(argv[1], "forkfull") == 0)
        return forkfull();
    if (argc > 1 && strcmp(argv[1], "huge") == 0) {
        for (int i = 0; i < 1000; i++) {
            void *p = malloc((size_t)1 << 62);
            if (p != NULL) {
                free(p);
                return 1;
            }
        }
    }
    int leak = argc > 1 && strcmp(argv[1], "leak") == 0;
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(1000);
        if (!blocks[i])
            return 1;
        memset(blocks[i], i & 0xff, 1000);
    }
    for (int i = 0; i < N; i++) {
        const unsigned char *b = blocks[i];
        if (b[0] != (i & 0xff) || b[999] != (i & 0xff))
            return 1;
        if (!leak || i >= 1000)
            free(blocks[i]);
    }
    for (int i = 0; i < 5000; i++) {
        unsigned char *p = calloc(1, 300);
        if (!p)
            return 1;
        for (int k = 0; k < 300; k++)
            if (p[k])
                return 1;
        free(p);
    }
    for (int i = 0; i < 3000; i++) {
        char *p = malloc(64);
        if (!p)
            return 1;
        memset(p, 'a' + i % 26, 64);
        char *q = realloc(p, 5000);
        if (!q) {
            free(p);
            return 1;
        }
        p = q;
        if ( p[0] != 'a' + i % 26 || p[63] != 'a' + i % 26)
            return 1;
        memset(p, 'z', 5000);
        q = realloc(p, 20);
        if (!q) {
            free(p);
            return 1;
        }
        p = q;
        if ( p[0] != 'z' || p[19] != 'z')
            return 1;
        free(p);
    }
    for (int i = 0; i < 2000; i++) {
        void *p = NULL, *q;
        if (posix_memalign(&p, 4096, 700) != 0 || ((uintptr_t)p & 4095))
            return 1;
        q = aligned_alloc(64, 128);
        if (!q || ((uintptr_t)q & 63))
            return 1;
        free(p);
        free(q);
    }
    printf("done\n");
    return 0;
}
