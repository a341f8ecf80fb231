/* The public API of issue 8 exercised by a traced program (linked with
 * libmemscope_alloc.a), for test_api.c: variables of each kind, scopes,
 * tracing control, export from inside, and bad arguments to every call. It
 * prints what the calls returned as "key=N" lines; the test reads them and
 * the trace. Sizes are distinct per purpose so that the test can find each
 * block among the program's other allocations.
 *
 * usage: api_prog vars | traceall DIR | stopfork | export | off | badargs */
#include <errno.h>
#include <memscope.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct point {
    int x, y, z;
};

static void *keep[64];
static int nkeep;

/* A block the compiler cannot drop. */
static void *alloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        memset(p, 1, n < 16 ? n : 16);
    return p;
}

/* Variables of each kind inside nested scopes; one deliberate leak. */
static int run_vars(void)
{
    {
        MEMSCOPE_SCOPE("outer");
        char *in_outer = alloc(1001);
        printf("smart_ptr=%d\n", MEMSCOPE_TRACK_SMART(in_outer));
        {
            MEMSCOPE_SCOPE("inner");
            char *in_inner = alloc(1002);
            MEMSCOPE_TRACK(in_inner);
            free(in_inner);
            {
                MEMSCOPE_TRACK_OWNED(char *, owned, alloc(1003));
                owned[1] = 2;
            } /* owned is freed here, still inside "inner" */
        }
        char *after_inner = alloc(1004); /* back in "outer" */
        MEMSCOPE_TRACK(after_inner);
        keep[nkeep++] = after_inner;       /* leaks */
        free(in_outer);
    }
    struct point pt = { 1, 2, 3 };
    printf("smart_value=%d\n", MEMSCOPE_TRACK_SMART(pt));
    char arr[8] = "abc";
    printf("smart_array=%d\n", MEMSCOPE_TRACK_SMART(arr));
    int count = 7;
    printf("smart_int=%d\n", MEMSCOPE_TRACK_SMART(count));
    /* a hostile scope and value name: escaped in every output */
    uint64_t s = memscope_scope_enter("<s&\"q'>", __FILE__, __LINE__);
    char *hostile = alloc(1005);
    printf("hostile=%d\n", memscope_track_var(hostile, "<b&\"q'>", "<t>", __FILE__, __LINE__));
    printf("hostile_value=%d\n", memscope_track_value("<v&\"q'>", NULL, 12, __FILE__, __LINE__));
    free(hostile);
    printf("leave=%d\n", memscope_scope_leave(s));
    return (int)(pt.x + arr[0] + count) == 0;
}

static atomic_int phase;
static void *thread_keep[12]; /* phase_thread's blocks */
static atomic_int churned;    /* its blocks of 4224 */

/* Allocates in each phase the main thread sets: 1 before trace_all, 2
 * between, 3 after stop_tracing. */
static void *phase_thread(void *arg)
{
    (void)arg;
    for (int want = 1; want <= 3; want++) {
        while (atomic_load(&phase) < want)
            ;
        for (int i = 0; i < 4; i++)
            thread_keep[(want - 1) * 4 + i] = alloc(want == 1 ? 4111 : want == 2 ? 4222 : 4333);
        atomic_store(&phase, want + 10);
        while (atomic_load(&phase) == want + 10)
            if (want == 2) { /* busy up to the stop: the clock is published, the fast path open */
                free(alloc(4224));
                atomic_fetch_add(&churned, 1);
            }
    }
    return NULL;
}

/* Before trace_all, between it and stop_tracing, after: main allocates
 * 3 x 1111, 5 x 2222, 7 x 3333; a thread started before 4 x 4111, 4222, 4333,
 * and blocks of 4224 from the end of its 4222s until the stop. */
static int run_traceall(const char *dir)
{
    pthread_t th;
    pthread_create(&th, NULL, phase_thread, NULL);
    printf("stop_before=%d\n", memscope_stop_tracing());
    printf("export_off=%d\n", memscope_export("json"));
    for (int i = 0; i < 3; i++)
        free(alloc(1111));
    atomic_store(&phase, 1);
    while (atomic_load(&phase) != 11)
        ;
    printf("start=%d\n", memscope_trace_all(dir));
    printf("start_again=%d\n", memscope_trace_all(dir));
    for (int i = 0; i < 5; i++)
        free(alloc(2222));
    atomic_store(&phase, 2);
    while (atomic_load(&phase) != 12 || atomic_load(&churned) < 100)
        ;
    int stop = memscope_stop_tracing();
    atomic_store(&phase, 3); /* the thread allocates at once: its next event sees the stop */
    for (int i = 0; i < 7; i++)
        free(alloc(3333));
    while (atomic_load(&phase) != 13)
        ;
    printf("stop=%d\n", stop);
    printf("stop_again=%d\n", memscope_stop_tracing());
    printf("start_after_stop=%d\n", memscope_trace_all(dir));
    atomic_store(&phase, 4);
    pthread_join(th, NULL);
    return 0;
}

/* Under MEMSCOPE_MODE=full: stops tracing, then forks a child that
 * allocates; the child of a stopped process is not traced. */
static int run_stopfork(void)
{
    free(alloc(5555));
    printf("stop=%d\n", memscope_stop_tracing());
    pid_t child = fork();
    if (child == 0) {
        free(alloc(5555));
        exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}

/* Three live blocks of 6666, then the reports of the trace as it stands. */
static int run_export(void)
{
    for (int i = 0; i < 3; i++)
        keep[nkeep++] = alloc(6666);
    printf("export=%d\n", memscope_export("json,html"));
    printf("export_null=%d\n", memscope_export(NULL));
    printf("export_empty=%d\n", memscope_export(""));
    printf("export_commas=%d\n", memscope_export(",,"));
    printf("export_unknown=%d\n", memscope_export("json,xml"));
    printf("auto_bad=%d\n", memscope_auto_export("json,xml"));
    printf("auto_null=%d\n", memscope_auto_export(NULL));
    printf("auto=%d\n", memscope_auto_export("bin")); /* at exit: the archive */
    /* a forked child keeps the setting: its own exit writes its archive */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        free(alloc(77));
        exit(0);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("child=%d child_status=%d\n", (int)c, st);
    return 0;
}

/* MEMSCOPE_MODE=off and no trace_all: the calls that need a trace say so. */
static int run_off(void)
{
    free(alloc(1111));
    printf("export=%d\n", memscope_export("json"));
    printf("stop=%d\n", memscope_stop_tracing());
    char buf[64];
    printf("path=%d\n", memscope_trace_path(buf, sizeof buf));
    printf("scope=%d\n", memscope_scope_enter("s", NULL, 0) > 0);
    return 0;
}

static int checks, failed;

/* Counts a check of a call's result and prints the failing ones. */
static void want(const char *what, long long got, long long expect)
{
    checks++;
    if (got != expect) {
        failed++;
        printf("bad %s: %lld, want %lld\n", what, got, expect);
    }
    const char *t = memscope_strerror((int)got);
    if (!t || !t[0]) {
        failed++;
        printf("bad %s: no strerror text\n", what);
    }
}

/* Bad arguments to every public call: each returns its error, none crashes. */
static int run_badargs(void)
{
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char buf[4];
    want("trace_path NULL", memscope_trace_path(NULL, 0), -ERANGE);
    want("trace_path short", memscope_trace_path(buf, sizeof buf), -ERANGE);
    want("thread_name NULL", memscope_thread_name(NULL), -EINVAL);
    want("thread_name long", memscope_thread_name(big), -ENAMETOOLONG);
    want("task_create bad parent", (long long)memscope_task_create("t", 1u << 30), 0);
    want("task_create NULL name", memscope_task_create(NULL, 0) > 0, 1);
    want("task_enter 0", memscope_task_enter(0), -EINVAL);
    want("task_enter unknown", memscope_task_enter(UINT64_MAX), -EINVAL);
    want("task_leave unbalanced", memscope_task_leave(), -EINVAL);
    want("task_end 0", memscope_task_end(0), -EINVAL);
    want("task_end unknown", memscope_task_end(UINT64_MAX), -EINVAL);
    uint64_t task = memscope_task_create("done", 0);
    want("task_enter", memscope_task_enter(task), 0);
    want("task_end current", memscope_task_end(task), 0);
    want("task_end ended", memscope_task_end(task), -EINVAL);
    want("task_enter ended", memscope_task_enter(task), -EINVAL);
    want("task_leave ended", memscope_task_leave(), 0); /* the enter before its end */
    want("task_leave again", memscope_task_leave(), -EINVAL);
    want("task_create child of ended", memscope_task_create("late child", task) > 0, 1);
    want("track_var NULL addr", memscope_track_var(NULL, "x", NULL, NULL, 0), -EINVAL);
    want("track_var NULL name", memscope_track_var(big, NULL, NULL, NULL, 0), -EINVAL);
    want("track_var long", memscope_track_var(big, big, NULL, NULL, 0), -ENAMETOOLONG);
    want("track_value NULL name", memscope_track_value(NULL, NULL, 4, NULL, 0), -EINVAL);
    want("track_value long type", memscope_track_value("v", big, 4, NULL, 0), -ENAMETOOLONG);
    want("track_value long file", memscope_track_value("v", NULL, 4, big, 0), -ENAMETOOLONG);
    want("track_smart NULL addr", memscope_track_smart(NULL, 8, 1, "p", NULL, NULL, 0), -EINVAL);
    want("track_smart NULL name", memscope_track_smart(buf, 4, 0, NULL, NULL, NULL, 0), -EINVAL);
    char *null_ptr = NULL;
    want("track_smart NULL pointer", MEMSCOPE_TRACK_SMART(null_ptr), -EINVAL);
    want("track_smart pointer size", memscope_track_smart(buf, 4, 1, "p", NULL, NULL, 0), -EINVAL);
    want("scope_enter NULL", (long long)memscope_scope_enter(NULL, NULL, 0), 0);
    want("scope_enter long", (long long)memscope_scope_enter(big, NULL, 0), 0);
    want("scope_leave 0", memscope_scope_leave(0), -EINVAL);
    want("scope_leave unknown", memscope_scope_leave(UINT64_MAX), -EINVAL);
    uint64_t a = memscope_scope_enter("a", NULL, 0), b = memscope_scope_enter("b", NULL, 0);
    want("scope ids", a > 0 && b > a, 1);
    want("scope_leave outer", memscope_scope_leave(a), 0); /* closes b too */
    want("scope_leave closed", memscope_scope_leave(b), -EINVAL);
    want("scope_leave twice", memscope_scope_leave(a), -EINVAL);
    uint64_t ids[40];
    int entered = 0;
    for (int i = 0; i < 40; i++)
        entered += (ids[i] = memscope_scope_enter("deep", NULL, 0)) != 0;
    want("scope depth", entered, 32);
    want("scope_leave deepest", memscope_scope_leave(ids[0]), 0);
    memscope_scope_cleanup(NULL);
    uint64_t zero = 0;
    memscope_scope_cleanup(&zero);
    memscope_owned_free(NULL);
    char *none = NULL;
    memscope_owned_free(&none);
    want("trace_all empty", memscope_trace_all(""), -EINVAL);
    want("trace_all long", memscope_trace_all(big), -ENAMETOOLONG);
    want("trace_all tracing", memscope_trace_all(NULL), -EALREADY);
    want("export NULL", memscope_export(NULL), -EINVAL);
    want("export unknown", memscope_export("pdf"), -EINVAL);
    want("auto_export NULL", memscope_auto_export(NULL), -EINVAL);
    want("auto_export unknown", memscope_auto_export("json,pdf"), -EINVAL);
    want("auto_export none", memscope_auto_export(""), 0);
    want("strerror unknown", memscope_strerror(-123456)[0] != 0, 1);
    printf("checks=%d failed=%d\n", checks, failed);
    return failed != 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "vars") == 0)
        return run_vars();
    if (argc >= 3 && strcmp(argv[1], "traceall") == 0)
        return run_traceall(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return run_export();
    if (argc >= 2 && strcmp(argv[1], "stopfork") == 0)
        return run_stopfork();
    if (argc >= 2 && strcmp(argv[1], "off") == 0)
        return run_off();
    if (argc >= 2 && strcmp(argv[1], "badargs") == 0)
        return run_badargs();
    fprintf(stderr, "usage: api_prog vars | traceall DIR | stopfork | export | off | badargs\n");
    return 2;
}
