/* Shared helpers of the core test suites: temp dirs, running a program with a
 * MEMSCOPE_* environment, reading its output. */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct run_result {
    int status;          /* exit code, or 128 + signal */
    char out[65536];     /* stdout (truncated) */
    char err[65536];     /* stderr (truncated) */
} run_result_t;

/* Makes a fresh temp directory; returns its path (static storage per call). */
char *th_tmpdir(void);
/* Removes a directory tree made by th_tmpdir. */
void th_rmtree(const char *dir);
/* Runs argv with extra environment entries ("K=V", NULL-terminated; "K=" with
 * an empty value unsets K), stdin from `in_path` (or /dev/null), waits at most
 * timeout_ms (then SIGKILL). Returns 0 or -1 if it could not start. */
int th_run(char *const argv[], char *const env_extra[], const char *in_path, int timeout_ms,
           run_result_t *r);
/* Starts argv in the background with env_extra; returns the pid. */
pid_t th_spawn(char *const argv[], char *const env_extra[]);
/* Reads "key=N" from text; returns N or -1. */
long long th_field(const char *text, const char *key);
/* Path of a file next to the test binary (build dir of tests/core). */
const char *th_build_path(const char *name);

#endif
