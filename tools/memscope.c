/* memscope: the command-line tool (docs/CLI.md). This file holds main, the
 * dispatch to the commands, and the helpers every command shares: messages,
 * the --formats list, directory creation.
 *
 *   memscope report TRACE... [--json F] [--html F] [--bin F] [-o DIR] [--formats LIST]   report.c
 *   memscope summary TRACE                                                               summary.c
 *   memscope run [-o DIR] [--formats LIST] -- PROGRAM [ARGS...]                          run.c
 *
 * It only reads traces and archives through export/ and never calls into the
 * allocator; `run` preloads libmemscope_alloc.so into another program. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

#ifndef MSX_VERSION
#error MSX_VERSION must be defined by the build
#endif

static const char *const usage_main =
    "Usage: memscope COMMAND [OPTIONS]\n"
    "\n"
    "Analyse the traces written by libmemscope_alloc.\n"
    "\n"
    "Commands:\n"
    "  report TRACE...      write JSON and HTML reports (and archives) of traces\n"
    "  summary TRACE        print a readable summary of a trace\n"
    "  run -- PROG ARGS...  run a program with memscope preloaded, then report\n"
    "\n"
    "Options:\n"
    "  -h, --help           show this help (also: memscope COMMAND --help)\n"
    "  --version            show the version\n"
    "\n"
    "A TRACE is a trace file (<name>.<pid>.msgpack) or an archive (.msbin).\n"
    "\n"
    "Exit status: 0 success; 1 a trace could not be read or an output not\n"
    "written; 2 usage error; 3 reports written but a trace was damaged or\n"
    "incomplete (the problems are printed). `run` returns the program's status.\n";

/* -- helpers shared by the commands (tool.h) ------------------------------ */

/* Prints "memscope: " and a message on stderr. */
void mst_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Parses a comma list of json, html, bin. Returns the bits, or -1. */
int mst_parse_formats(const char *s)
{
    int bits = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (!strcmp(w, "json"))
            bits |= F_JSON;
        else if (!strcmp(w, "html"))
            bits |= F_HTML;
        else if (!strcmp(w, "bin"))
            bits |= F_BIN;
        else {
            mst_errorf("unknown format \"%s\" (use json, html, bin)", w);
            free(copy);
            return -1;
        }
    }
    free(copy);
    if (!bits)
        mst_errorf("no format given (use json, html, bin)");
    return bits ? bits : -1;
}

/* True if arg is -h or --help. */
bool mst_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/* Takes the value of option argv[*i] (in the next argument). */
const char *mst_opt_value(int argc, char **argv, int *i, const char *usage)
{
    if (*i + 1 >= argc) {
        mst_errorf("%s needs a value", argv[*i]);
        fputs(usage, stderr);
        return NULL;
    }
    return argv[++*i];
}

/* Creates a directory and its parents (mode 0755). Returns 0 or -errno. */
int mst_mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            int rc = -errno;
            free(p);
            return rc;
        }
        if (!c)
            break;
        *s = c;
    }
    free(p);
    return 0;
}

/* -- main ----------------------------------------------------------------- */

/* Dispatches to the command named by argv[1]. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (mst_is_help(cmd)) {
        fputs(usage_main, stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("memscope %s\n", MSX_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "report"))
        return mst_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "summary"))
        return mst_cmd_summary(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return mst_cmd_run(argc - 1, argv + 1);
    mst_errorf("unknown command %s", cmd);
    fputs(usage_main, stderr);
    return EXIT_USAGE;
}
