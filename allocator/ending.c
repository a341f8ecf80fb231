/* How the process ends, when no exit handler runs: _exit, _Exit and the exec
 * family, interposed so that the trace says how it ended (an END record and
 * the header's end_how, FORMAT.md) instead of looking like a kill.
 *
 * Only in the shared library (LD_PRELOAD): a static program's libc.a defines
 * these symbols in objects that its own exit() and posix_spawn pull in, and a
 * second definition would not link. The real functions are found with
 * dlsym(RTLD_NEXT); the variadic execl* build their argument array on the
 * stack and go through execve / execvp.
 *
 * These may run in a signal handler or in a vfork child: the ending they
 * record is the async-signal-safe one of tracker.c (quick_end), and a vfork
 * child records nothing (it is not the process that opened the trace). */
#include "tracker.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
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

/* The execl* family: the arguments after arg0 are counted first, then copied
 * into an array on the stack (no malloc: these may run in a signal handler
 * or a vfork child), and the v variant runs. */
#define EXECL_ARGS(arg, v, want_env, envp)                                      \
    size_t n_ = 1;                                                              \
    va_list ap_;                                                                \
    va_start(ap_, arg);                                                         \
    for (const char *a_ = arg; a_; a_ = va_arg(ap_, const char *))              \
        n_++;                                                                   \
    va_end(ap_);                                                                \
    char **v = __builtin_alloca(n_ * sizeof *v);                                \
    va_start(ap_, arg);                                                         \
    v[0] = (char *)arg;                                                         \
    for (size_t i_ = 1; i_ < n_; i_++)                                          \
        v[i_] = v[i_ - 1] ? va_arg(ap_, char *) : NULL;                         \
    if (want_env)                                                               \
        envp = va_arg(ap_, char **);                                            \
    va_end(ap_)

MS_EXPORT int execl(const char *path, const char *arg, ...)
{
    char **envp = environ;
    EXECL_ARGS(arg, v, false, envp);
    return execve(path, v, envp);
}

MS_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char **envp = environ;
    EXECL_ARGS(arg, v, false, envp);
    (void)envp;
    return execvp(file, v);
}

MS_EXPORT int execle(const char *path, const char *arg, ...)
{
    char **envp = NULL;
    EXECL_ARGS(arg, v, true, envp);
    return execve(path, v, envp);
}
