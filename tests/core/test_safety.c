/* The recorder never damages what it touches: a symlink planted where the
 * trace will be created is not followed. Runs the `workload` program. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* Reads a small file into buf; returns its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* Someone plants a symlink at the exact name the trace will get (the pid is
 * known once the process exists): the recorder creates the file with O_EXCL
 * and O_NOFOLLOW, so the link's target stays as it was, and the trace goes to
 * the next free name. */
static void test_planted_symlink_not_followed(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char target[4096], out_env[4200];
    snprintf(target, sizeof target, "%s/precious", dir);
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep me\n", 8), 8);
    close(fd);

    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(99);
        putenv(out_env);
        char *argv[] = { (char *)th_build_path("workload"), "small", NULL };
        execv(argv[0], argv);
        _exit(98);
    }
    close(go[0]);
    char link[4200];
    snprintf(link, sizeof link, "%s/workload.%d.msgpack", dir, (int)pid);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    char buf[64];
    assert_int_equal(read_small(target, buf, sizeof buf), 8);
    assert_string_equal(buf, "keep me\n");
    struct stat ls;
    assert_int_equal(lstat(link, &ls), 0);
    assert_true(S_ISLNK(ls.st_mode));
    char next[4200];
    snprintf(next, sizeof next, "%s/workload.%d.1.msgpack", dir, (int)pid);
    struct stat ts;
    assert_int_equal(stat(next, &ts), 0);
    assert_true(S_ISREG(ts.st_mode));
    assert_int_equal(ts.st_mode & 0777, 0600);
    th_rmtree(dir);
}

/* A setuid program ignores MEMSCOPE_* (secure_getenv): another user's
 * environment must not choose where a privileged program writes. The test
 * makes a copy of the workload setuid to nobody (so it needs root to chown). */
static void test_setuid_ignores_environment(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "not root: cannot make a setuid copy; skipped\n");
        skip();
    }
    char *dir = th_tmpdir();
    assert_int_equal(chmod(dir, 0755), 0);
    char copy[1024], out[1100], cmd[20000];
    snprintf(copy, sizeof copy, "%s/suid-workload", dir);
    snprintf(out, sizeof out, "%s/chosen", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chown nobody '%s' && chmod 4755 '%s'",
             th_build_path("workload"), copy, copy, copy);
    run_result_t r;
    assert_int_equal(th_run((char *[]){ "sh", "-c", cmd, NULL }, NULL, NULL, 30000, &r), 0);
    assert_int_equal(r.status, 0);
    char env_out[1200];
    snprintf(env_out, sizeof env_out, "MEMSCOPE_OUTPUT=%s", out);
    snprintf(cmd, sizeof cmd, "cd / && exec '%s' small", copy);
    assert_int_equal(th_run((char *[]){ "sh", "-c", cmd, NULL },
                            (char *[]){ env_out, "MEMSCOPE_NAME=chosen", NULL }, NULL, 30000, &r), 0);
    assert_int_equal(r.status, 0);
    /* euid nobody, uid root: AT_SECURE, so MEMSCOPE_OUTPUT and NAME are
     * ignored; the default directory (MemoryAnalysis in /, not writable by
     * nobody) cannot be made, and the program runs on untraced. */
    struct stat st;
    assert_int_not_equal(stat(out, &st), 0);
    assert_non_null(strstr(r.err, "cannot create a trace in 'MemoryAnalysis'"));
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_symlink_not_followed),
        cmocka_unit_test(test_setuid_ignores_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
