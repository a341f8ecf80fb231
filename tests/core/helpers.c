/* See helpers.h. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *th_tmpdir(void)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 256, "/tmp/memscope-test-XXXXXX");
    if (!mkdtemp(p))
        abort();
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void th_rmtree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Builds environ + overrides into a NULL-terminated array, freed by the caller
 * (the strings are environ's and extra's). */
static char **make_env(char *const extra[])
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **env = calloc(n + m + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int overridden = 0;
        for (size_t j = 0; j < m; j++) {
            size_t kl = strcspn(extra[j], "=");
            if (strncmp(environ[i], extra[j], kl) == 0 && environ[i][kl] == '=')
                overridden = 1;
        }
        if (!overridden)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++) {
        const char *eq = strchr(extra[j], '=');
        if (eq && eq[1] != '\0')
            env[k++] = extra[j];
    }
    env[k] = NULL;
    return env;
}

pid_t th_spawn(char *const argv[], char *const env_extra[])
{
    pid_t pid;
    char **env = make_env(env_extra);
    int e = posix_spawnp(&pid, argv[0], NULL, NULL, argv, env);
    free(env);
    return e != 0 ? -1 : pid;
}

static void slurp(int fd, char *buf, size_t len)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, len - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

int th_run(char *const argv[], char *const env_extra[], const char *in_path, int timeout_ms,
           run_result_t *r)
{
    char outp[] = "/tmp/memscope-out-XXXXXX", errp[] = "/tmp/memscope-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    unlink(outp);
    unlink(errp);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, ofd, 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    pid_t pid;
    char **env = make_env(env_extra);
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        close(ofd);
        close(efd);
        return -1;
    }
    int st = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(2000);
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(ofd, r->out, sizeof r->out);
    slurp(efd, r->err, sizeof r->err);
    return 0;
}

long long th_field(const char *text, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = strstr(text, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

const char *th_build_path(const char *name)
{
    static char buf[4][4096];
    static int next;
    char *out = buf[next++ % 4];
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(out, 4096, "%s/%s", dirname(self), name);
    return out;
}
