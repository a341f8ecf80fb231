/* A program that ends without exit(): `ending_prog _exit` calls _exit(0),
 * `ending_prog exec` replaces itself with /bin/true, `ending_prog badexec`
 * tries to exec a missing file and then returns from main, `ending_prog
 * sigexit` calls _exit(0) from a signal handler while it allocates, and
 * `ending_prog vfork` has a vfork child fail an exec and _exit, then returns
 * from main itself. Run under LD_PRELOAD by test_preload. */
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ends the process from a signal handler, as programs do on SIGTERM. */
static void exit_handler(int sig)
{
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv)
{
    char *volatile keep = malloc(123); /* one block live at the end */
    (void)keep;
    if (argc > 1 && strcmp(argv[1], "_exit") == 0)
        _exit(0);
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        execl("/bin/true", "true", (char *)NULL);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "sigexit") == 0) {
        signal(SIGALRM, exit_handler);
        struct itimerval it = { { 0, 0 }, { 0, 20000 } };
        setitimer(ITIMER_REAL, &it, NULL);
        for (;;) { /* big and small blocks: jemalloc's locks are taken often */
            void *volatile a = malloc(1 << 20), *volatile b = malloc(40000);
            free(a);
            free(b);
        }
    }
    if (argc > 1 && strcmp(argv[1], "vfork") == 0) {
        pid_t pid = vfork();
        if (pid == 0) {
            execl("/nonexistent/program", "x", (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        void *volatile later = malloc(77); /* the parent records on */
        (void)later;
        return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? 0 : 1;
    }
    if (argc > 1 && strcmp(argv[1], "badexec") == 0) {
        execl("/nonexistent/program", "x", (char *)NULL);
        return 0; /* the exec failed: an ordinary exit follows */
    }
    return 2;
}
