/* Auto-export out of process. See autoexport.h.
 *
 * The traced process links no analysis and no renderer: at exit it runs the
 * memscope tool on its own finished trace, as `memscope report` would be run
 * by hand, and waits for it. Runs under the guard: the allocations here are
 * memscope's own. */
#include "autoexport.h"

#include "options.h"
#include "prim.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Prints the one error line. */
static void say(const char *what, const char *detail)
{
    char line[1400];
    /* a longer detail is cut: the line stays one line */
    snprintf(line, sizeof line, "memscope: auto-export: %s%s%.1024s\n", what, detail ? ": " : "",
             detail ? detail : "");
    ms_prim_stderr(line);
}

/* True if path is an executable regular file. */
static bool runnable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Finds the tool: MEMSCOPE_TOOL, then beside the object that holds this code
 * (the shared library, or the program it is linked into): ../tools/memscope
 * (the build tree), ../bin/memscope and ../../bin/memscope (an install prefix's
 * lib/ and lib/<multiarch>/), then each PATH directory. Returns true if found. */
static bool find_tool(char *out, size_t len)
{
    const char *opt = ms_option_str(MS_OPT_TOOL);
    if (opt[0]) {
        snprintf(out, len, "%s", opt);
        return runnable(out);
    }
    Dl_info info;
    if (dladdr((void *)find_tool, &info) && info.dli_fname && info.dli_fname[0]) {
        char self[PATH_MAX];
        const char *obj = info.dli_fname;
        /* dladdr names the main program as argv[0] would; /proc/self/exe is exact */
        if (!strchr(obj, '/')) {
            ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
            self[n > 0 ? n : 0] = '\0';
            obj = self;
        }
        const char *slash = strrchr(obj, '/');
        static const char *const rel[] = { "../tools/memscope", "../bin/memscope",
                                           "../../bin/memscope" };
        for (size_t i = 0; slash && i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(out, len, "%.*s/%s", (int)(slash - obj), obj, rel[i]);
            if (runnable(out))
                return true;
        }
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *e = strchr(path, ':');
        size_t n = e ? (size_t)(e - path) : strlen(path);
        snprintf(out, len, "%.*s/memscope", (int)n, n ? path : ".");
        if (runnable(out))
            return true;
        path += n + (e != NULL);
    }
    return false;
}

/* The tool's environment: the program's, without LD_PRELOAD (the tool must
 * not trace itself). Returns a NULL-terminated array to free, or NULL. */
static char **tool_environ(void)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            env[k++] = environ[i];
    return env;
}

/* The formats ms_autoexport knows: json, html, bin (report.c's --json,
 * --html, --bin). */
static const struct { const char *name, *opt, *ext; } fmts[] = {
    { "json", "--json", "json" }, { "html", "--html", "html" }, { "bin", "--bin", "msbin" },
};

bool ms_autoexport_formats_valid(const char *formats)
{
    bool any = false;
    while (*formats) {
        size_t n = strcspn(formats, ",");
        bool known = n == 0;
        for (size_t i = 0; i < sizeof fmts / sizeof fmts[0] && !known; i++)
            known = strlen(fmts[i].name) == n && memcmp(formats, fmts[i].name, n) == 0;
        if (!known)
            return false;
        any |= n != 0;
        formats += n + (formats[n] != '\0');
    }
    return any;
}

/* Appends to argv the option and output path of each format in the list. */
static int add_outputs(char **argv, int argc, char paths[3][4096], const char *outdir,
                       const char *base, const char *formats)
{
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(fmts[i].name);
        bool want = false;
        for (const char *s = formats; *s; s += strcspn(s, ",") + (s[strcspn(s, ",")] != '\0'))
            want |= strcspn(s, ",") == n && memcmp(s, fmts[i].name, n) == 0;
        if (!want)
            continue;
        snprintf(paths[i], 4096, "%s/%s.%s", outdir, base, fmts[i].ext);
        argv[argc++] = (char *)fmts[i].opt;
        argv[argc++] = paths[i];
    }
    return argc;
}

int ms_autoexport(const char *trace, const char *outdir, const char *base, const char *formats)
{
    char tool[PATH_MAX + 64];
    if (!find_tool(tool, sizeof tool)) {
        say("the memscope tool was not found (set MEMSCOPE_TOOL, or put memscope on PATH); "
            "no reports written for", trace);
        return -ENOPKG;
    }
    static char paths[3][4096];
    char *argv[16] = { tool, "report", (char *)trace, "--quiet" };
    int argc = add_outputs(argv, 4, paths, outdir, base, formats);
    argv[argc] = NULL;
    if (argc == 4)
        return 0;
    char **env = tool_environ();
    pid_t pid;
    int rc = posix_spawn(&pid, tool, NULL, NULL, argv, env ? env : environ);
    free(env);
    if (rc != 0) {
        say("cannot run", tool);
        return -rc;
    }
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    /* w < 0: the program reaped it (its SIGCHLD handler, or SIG_IGN): the tool
     * ran and said what went wrong, if anything, itself. */
    if (w == pid && !(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3))) {
        say("the memscope tool failed on", trace);
        return -EIO;
    }
    return 0;
}
