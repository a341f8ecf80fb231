/* How the process ends, when no exit handler runs: _exit, _Exit and the exec
 * family, interposed so that the trace says how it ended (an END record and
 * the header's end_how, FORMAT.md) instead of looking like a kill.
 *
 * Only in the shared library (LD_PRELOAD): a static program's libc.a defines
 * these symbols in objects that its own exit() and posix_spawn pull in, and a
 * second definition would not link. The real functions are found with
 * dlsym(RTLD_NEXT); the variadic execl* build their argument array and go
 * through execve / execvp. */
#include "tracker.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS_EXPORT __attribute__((visibility("default")))

extern char **environ;

MS_EXPORT void _exit(int status)
{
    ms_process_end(MSF_END__EXIT);
    for (;;) /* what glibc's _exit does */
        syscall(SYS_exit_group, status);
}

MS_EXPORT void _Exit(int status)
{
    _exit(status);
}

/* Looks the next definition of `name` up, past this library. */
static void *next_fn(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* Marks the ending before an exec, and takes it back if the exec returned
 * (it failed: the process goes on). rc is the exec's result. */
static int exec_returned(int rc)
{
    int saved = errno;
    ms_process_exec_failed();
    errno = saved;
    return rc;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);

MS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    execve_fn real = (execve_fn)next_fn("execve");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    ms_process_end(MSF_END_EXEC);
    return exec_returned(real(path, argv, envp));
}

MS_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

MS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    execve_fn real = (execve_fn)next_fn("execvpe");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    ms_process_end(MSF_END_EXEC);
    return exec_returned(real(file, argv, envp));
}

MS_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

MS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    fexecve_fn real = (fexecve_fn)next_fn("fexecve");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    ms_process_end(MSF_END_EXEC);
    return exec_returned(real(fd, argv, envp));
}

MS_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    execveat_fn real = (execveat_fn)next_fn("execveat");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    ms_process_end(MSF_END_EXEC);
    return exec_returned(real(dirfd, path, argv, envp, flags));
}

/* Collects the arguments of an execl* call after arg0 into a NULL-terminated
 * array (malloc'd; an exec that works never returns to free it). With
 * want_env, the pointer after the NULL is stored in *envp. */
static char **collect_args(const char *arg0, va_list ap, bool want_env, char ***envp)
{
    size_t cap = 16, n = 0;
    char **v = malloc(cap * sizeof *v);
    if (!v)
        return NULL;
    v[n++] = (char *)arg0;
    for (;;) {
        char *a = arg0 ? va_arg(ap, char *) : NULL;
        if (n == cap) {
            char **w = realloc(v, (cap *= 2) * sizeof *v);
            if (!w) {
                free(v);
                return NULL;
            }
            v = w;
        }
        v[n++] = a;
        if (!a)
            break;
    }
    if (want_env)
        *envp = va_arg(ap, char **);
    return v;
}

MS_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    char **v = collect_args(arg, ap, false, NULL);
    va_end(ap);
    if (!v)
        return -1; /* errno: ENOMEM */
    int rc = execve(path, v, environ);
    free(v);
    return rc;
}

MS_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    char **v = collect_args(arg, ap, false, NULL);
    va_end(ap);
    if (!v)
        return -1;
    int rc = execvp(file, v);
    free(v);
    return rc;
}

MS_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    char **envp = NULL;
    char **v = collect_args(arg, ap, true, &envp);
    va_end(ap);
    if (!v)
        return -1;
    int rc = execve(path, v, envp);
    free(v);
    return rc;
}
