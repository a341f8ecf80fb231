/* Unmodified programs under LD_PRELOAD, and a program linked statically with
 * the exact command line of the README: each is recorded and prints exactly
 * what it prints without memscope. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "format.h"
#include "helpers.h"
#include "trace_reader.h"

#ifndef MS_ALLOC_DIR
#error MS_ALLOC_DIR must name the build directory of libmemscope_alloc
#endif

/* Returns "LD_PRELOAD=<the built libmemscope_alloc.so>". In a sanitizer
 * build the library brings the sanitizer's runtime after it (its malloc must
 * come first), which meson.build allows through ASAN_OPTIONS. */
static const char *preload_env(void)
{
    return "LD_PRELOAD=" MS_ALLOC_DIR "/libmemscope_alloc.so";
}

/* True if CI=true (or 1) is set: the machine ran scripts/deps.sh. */
static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (!strcasecmp(ci, "true") || !strcmp(ci, "1"));
}

/* Returns if the program at path can be run. If not, the test fails under CI,
 * where scripts/deps.sh installs sqlite3, python3 and pkg-config, and is
 * skipped elsewhere (skip() and fail() leave the test by longjmp). */
static void need_program(const char *path)
{
    if (access(path, X_OK) == 0)
        return;
    if (in_ci()) {
        fprintf(stderr, "%s is missing: scripts/deps.sh installs it, and under CI=true a "
                        "missing dependency fails the test\n", path);
        fail();
    }
    fprintf(stderr, "%s is missing (scripts/deps.sh installs it): skipped\n", path);
    skip();
}

/* Runs argv plainly and under memscope; checks identical output and a clean,
 * causally consistent trace whose name starts with `prefix`. */
static void same_output_and_trace(char *const argv[], const char *in_path, const char *prefix,
                                  tr_trace_t *t)
{
    run_result_t *plain = malloc(sizeof *plain), *traced = malloc(sizeof *traced);
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    assert_int_equal(th_run(argv, (char *[]){ "LD_PRELOAD=", NULL }, in_path, 60000, plain), 0);
    assert_int_equal(th_run(argv, (char *[]){ (char *)preload_env(), out_env, NULL }, in_path,
                            60000, traced),
                     0);
    assert_int_equal(plain->status, 0);
    assert_int_equal(traced->status, plain->status);
    assert_string_equal(traced->out, plain->out);
    assert_string_equal(traced->err, plain->err);

    char path[4096];
    assert_int_equal(tr_find(dir, prefix, path, sizeof path), 0);
    assert_int_equal(tr_load(path, t), 0);
    assert_int_equal(t->bad, 0);
    assert_int_equal(t->n_process, 1);
    assert_int_equal(t->n_end, 1);
    assert_true(tr_count(t, 0) > 100);
    assert_true(tr_count(t, 1) > 100);
    uint64_t live;
#ifdef MS_SANITIZER_HEAP
    /* blocks made before the runtime was up are not recorded
     * (allocator/sanitizer_backend.c): a few of their frees are unknown */
    assert_true(tr_check_causal(t, &live, NULL, NULL) <= 8);
#else
    assert_int_equal(tr_check_causal(t, &live, NULL, NULL), 0);
#endif
    th_rmtree(dir);
    free(plain);
    free(traced);
}

/* sqlite3 running a script of inserts, an index and deletes prints the same
 * under memscope and leaves a clean trace of over 10000 events. */
static void test_sqlite3(void **state)
{
    (void)state;
    need_program("/usr/bin/sqlite3");
    char script[] = "/tmp/memscope-sql-XXXXXX";
    int fd = mkstemp(script);
    const char *sql =
        "create table t(a integer primary key, b text);\n"
        "with recursive c(x) as (select 1 union all select x+1 from c where x < 20000)\n"
        "  insert into t select x, printf('row %d %s', x, hex(x * 7919)) from c;\n"
        "create index tb on t(b);\n"
        "select count(*), sum(a), max(length(b)) from t;\n"
        "delete from t where a % 3 = 0;\n"
        "select count(*) from t;\n";
    assert_int_equal(write(fd, sql, strlen(sql)), (ssize_t)strlen(sql));
    close(fd);
    tr_trace_t t;
    same_output_and_trace((char *[]){ "/usr/bin/sqlite3", ":memory:", NULL }, script, "sqlite3.",
                          &t);
    assert_true(t.nev > 10000);
    tr_free(&t);
    unlink(script);
}

/* python3 building and dumping a JSON document prints the same under memscope
 * and leaves a clean trace. */
static void test_python3(void **state)
{
    (void)state;
    const char *py = "/usr/bin/python3";
    need_program(py);
    tr_trace_t t;
    same_output_and_trace(
        (char *[]){ (char *)py, "-c",
                    "import json; d={str(i): list(range(i % 50)) for i in range(5000)};"
                    "print(len(json.dumps(d, sort_keys=True)))",
                    NULL },
        NULL, "python3", &t);
    tr_free(&t);
}

/* Marks the blocks cxx_prog allocates with new[] (5777 bytes each). */
static bool tag_5777(uint64_t size) { return size == 5777; }

/* A C++ program using new[] and nothrow new[] prints the same under memscope,
 * and its trace holds exactly those 200 allocations and their frees. */
static void test_cxx_new_delete(void **state)
{
    (void)state;
    tr_trace_t t;
    same_output_and_trace((char *[]){ (char *)th_build_path("cxx_prog"), NULL }, NULL,
                          "cxx_prog.", &t);
    tr_counts_t n;
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, tag_5777, &n), 0);
    assert_int_equal(n.allocs, 200); /* new[] and nothrow new[], 100 each */
    assert_int_equal(n.frees, 200);
    tr_free(&t);
}

/* `cc app.c -L<dir> -l:libmemscope_alloc.a -lpthread -ldl -lm`, as the README
 * says, builds a traced program with no jemalloc on the link line. A checking
 * build's archive is instrumented and must win over the runtime's malloc: the
 * command then gets the build's -fsanitize and the whole archive, as its
 * memscope_alloc.pc says (allocator/meson.build). */
static void test_static_link_command_line(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char exe[512];
    snprintf(exe, sizeof exe, "%s/app", dir);
    run_result_t *r = malloc(sizeof *r);
#ifdef MS_SANITIZER_HEAP
    char *cc_argv[] = { "cc", "-o", exe, MS_SOURCE_DIR "/examples/basic_usage.c", "-I",
                        MS_SOURCE_DIR "/include", "-fsanitize=" MS_SANITIZE, "-L" MS_ALLOC_DIR,
                        "-Wl,--whole-archive", "-l:libmemscope_alloc.a", "-Wl,--no-whole-archive",
                        "-lpthread", "-ldl", "-lm", NULL };
#else
    char *cc_argv[] = { "cc", "-o", exe, MS_SOURCE_DIR "/examples/basic_usage.c", "-I",
                        MS_SOURCE_DIR "/include", "-L" MS_ALLOC_DIR, "-l:libmemscope_alloc.a",
                        "-lpthread", "-ldl", "-lm", NULL };
#endif
    assert_int_equal(th_run(cc_argv, NULL, NULL, 120000, r), 0);
    if (r->status != 0)
        fprintf(stderr, "%s", r->err);
    assert_int_equal(r->status, 0);

    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *argv[] = { exe, NULL };
    assert_int_equal(th_run(argv, (char *[]){ out_env, "LD_PRELOAD=", NULL }, NULL, 60000, r), 0);
    assert_int_equal(r->status, 0);
    char path[4096];
    assert_int_equal(tr_find(dir, "app.", path, sizeof path), 0);
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.bad, 0);
    assert_true(tr_count(&t, 0) > 0);
    uint64_t live;
    assert_int_equal(tr_check_causal(&t, &live, NULL, NULL), 0);
    tr_free(&t);
    free(r);
    th_rmtree(dir);
}

/* main starts with errno 0 under memscope too: its constructor (which creates
 * the trace directory, an EEXIST when it is there) leaves errno alone. */
static void test_errno_zero_at_main(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    run_result_t *r = malloc(sizeof *r);
    char *argv[] = { (char *)th_build_path("errno_prog"), NULL };
    assert_int_equal(th_run(argv, (char *[]){ (char *)preload_env(), out_env, NULL }, NULL, 60000,
                            r),
                     0);
    assert_int_equal(r->status, 0);
    assert_string_equal(r->out, "errno=0\n");
    free(r);
    th_rmtree(dir);
}

/* A nothrow new that fails while a throwing new_handler is installed returns
 * NULL under memscope too, instead of letting the throw terminate the program. */
static void test_cxx_nothrow_new_with_throwing_handler(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    run_result_t *r = malloc(sizeof *r);
    char *argv[] = { (char *)th_build_path("nothrow_prog"), NULL };
    assert_int_equal(th_run(argv, (char *[]){ (char *)preload_env(), out_env, NULL }, NULL, 60000,
                            r),
                     0);
    assert_int_equal(r->status, 0);
    assert_string_equal(r->out, "plain=null aligned=null\n");
    free(r);
    th_rmtree(dir);
}

/* The installed pkg-config file: `--static` gives exactly what the README's
 * static link line needs (in a checking build, with the sanitizer and the
 * whole archive), and no msgpack (memscope uses it header-only). */
static void test_pkg_config_static_flags(void **state)
{
    (void)state;
    need_program("/usr/bin/pkg-config");
    run_result_t *r = malloc(sizeof *r);
    char *argv[] = { "pkg-config", "--static", "--libs", "memscope_alloc", NULL };
    assert_int_equal(th_run(argv, (char *[]){ "PKG_CONFIG_PATH=" MS_PC_DIR, NULL }, NULL, 10000, r), 0);
    assert_int_equal(r->status, 0);
    /* the static archive by name: -lmemscope_alloc would pick the .so */
    assert_non_null(strstr(r->out, "-L"));
#ifdef MS_SANITIZER_HEAP
    assert_non_null(strstr(r->out, " -fsanitize=" MS_SANITIZE " -Wl,--whole-archive -l:libmemscope_alloc.a"
                                   " -Wl,--no-whole-archive -lpthread -ldl -lm"));
#else
    assert_non_null(strstr(r->out, " -l:libmemscope_alloc.a -lpthread -ldl -lm"));
#endif
    assert_null(strstr(r->out, "msgpack"));
    char *argv2[] = { "pkg-config", "--print-requires", "memscope_alloc", NULL };
    assert_int_equal(th_run(argv2, (char *[]){ "PKG_CONFIG_PATH=" MS_PC_DIR, NULL }, NULL, 10000, r), 0);
    assert_string_equal(r->out, "");
    free(r);
}

/* Runs the suite. */
/* memscope's own allocations (the helper thread's TLS, its buffers) never
 * show in the program's report: /bin/true leaves no live block. */
static void test_own_allocations_not_reported(void **state)
{
    (void)state;
    need_program("/bin/true");
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    run_result_t *r = malloc(sizeof *r);
    assert_int_equal(th_run((char *[]){ "/bin/true", NULL },
                            (char *[]){ (char *)preload_env(), out_env, NULL }, NULL, 30000, r), 0);
    assert_int_equal(r->status, 0);
    char path[4096];
    assert_int_equal(tr_find(dir, "true.", path, sizeof path), 0);
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    uint64_t live = 99;
    assert_int_equal(tr_check_causal(&t, &live, NULL, NULL), 0);
    assert_int_equal(live, 0);
    tr_free(&t);
    free(r);
    th_rmtree(dir);
}

/* Runs ending_prog MODE under LD_PRELOAD and loads its trace into t. */
static void run_ending(const char *mode, tr_trace_t *t)
{
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    run_result_t *r = malloc(sizeof *r);
    char *argv[] = { (char *)th_build_path("ending_prog"), (char *)mode, NULL };
    assert_int_equal(th_run(argv, (char *[]){ (char *)preload_env(), out_env, NULL }, NULL, 30000, r),
                     0);
    assert_int_equal(r->status, 0);
    char path[4096];
    assert_int_equal(tr_find(dir, "ending_prog.", path, sizeof path), 0);
    assert_int_equal(tr_load(path, t), 0);
    free(r);
    th_rmtree(dir);
}

/* A program that ends with _exit (no exit handlers run) still gets its END
 * record, which says so. */
static void test_underscore_exit_recorded(void **state)
{
    (void)state;
    tr_trace_t t;
    run_ending("_exit", &t);
    assert_int_equal(t.n_end, 1);
    assert_int_equal(t.end_how, MSF_END__EXIT);
    assert_true(t.end_time > 0);
    tr_free(&t);
}

/* A program that replaces itself with exec: its trace ends saying so. */
static void test_exec_recorded(void **state)
{
    (void)state;
    tr_trace_t t;
    run_ending("exec", &t);
    assert_int_equal(t.n_end, 1);
    assert_int_equal(t.end_how, MSF_END_EXEC);
    tr_free(&t);
}

/* _exit from a signal handler that interrupts malloc (20 times): the program
 * ends at once, never hangs in memscope's end of trace, and the header says
 * how it ended. */
static void test_underscore_exit_in_signal_handler(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        tr_trace_t t;
        run_ending("sigexit", &t); /* a hang is killed after 30 s: status != 0 */
        assert_int_equal(t.end_how, MSF_END__EXIT);
        assert_true(t.end_time > 0);
        tr_free(&t);
    }
}

/* A vfork child that fails an exec and calls _exit shares the parent's
 * memory: it must not end the parent's trace, which goes on and ends by exit. */
static void test_vfork_child_does_not_end_parent(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    /* TSan's vfork interceptor forks instead (the child gets a copy of the
     * memory, and a trace of its own): no child here shares the parent's
     * memory. Counted as skipped here. */
    skip();
#endif
    tr_trace_t t;
    run_ending("vfork", &t);
    assert_int_equal(t.n_end, 1);
    assert_int_equal(t.end_how, MSF_END_EXIT);
    bool later = false;
    for (size_t i = 0; i < t.nev; i++)
        later |= t.ev[i].kind == MSF_K_ALLOC && t.ev[i].size == 77;
    assert_true(later);
    tr_free(&t);
}

/* An exec that fails: the program goes on and ends by exit, which the header
 * says (the failed exec's END stays in the stream). */
static void test_failed_exec_then_exit(void **state)
{
    (void)state;
    tr_trace_t t;
    run_ending("badexec", &t);
    assert_int_equal(t.n_end, 2);
    assert_int_equal(t.end_how, MSF_END_EXIT);
    tr_free(&t);
}

/* Counts the trace files in dir. */
static int count_traces(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".msgpack") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* MEMSCOPE_CHILDREN=0 traces the program only: its children (and what it
 * execs) do not inherit the preload. By default they do. */
static void test_children_option(void **state)
{
    (void)state;
    need_program("/bin/sh");
    for (int children = 0; children < 2; children++) {
        char *dir = th_tmpdir();
        char out_env[512];
        snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
        run_result_t *r = malloc(sizeof *r);
        char *argv[] = { "/bin/sh", "-c", "/bin/true; /bin/true; echo done", NULL };
        assert_int_equal(th_run(argv,
                                (char *[]){ (char *)preload_env(), out_env,
                                            children ? "MEMSCOPE_CHILDREN=1" : "MEMSCOPE_CHILDREN=0",
                                            NULL },
                                NULL, 30000, r),
                         0);
        assert_int_equal(r->status, 0);
        assert_string_equal(r->out, "done\n");
        if (children)
            assert_int_equal(count_traces(dir), 3); /* sh and both trues */
        else
            assert_int_equal(count_traces(dir), 1); /* sh only */
        free(r);
        th_rmtree(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite3),
        cmocka_unit_test(test_python3),
        cmocka_unit_test(test_cxx_new_delete),
        cmocka_unit_test(test_static_link_command_line),
        cmocka_unit_test(test_pkg_config_static_flags),
        cmocka_unit_test(test_errno_zero_at_main),
        cmocka_unit_test(test_cxx_nothrow_new_with_throwing_handler),
        cmocka_unit_test(test_own_allocations_not_reported),
        cmocka_unit_test(test_underscore_exit_recorded),
        cmocka_unit_test(test_exec_recorded),
        cmocka_unit_test(test_failed_exec_then_exit),
        cmocka_unit_test(test_underscore_exit_in_signal_handler),
        cmocka_unit_test(test_vfork_child_does_not_end_parent),
        cmocka_unit_test(test_children_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
