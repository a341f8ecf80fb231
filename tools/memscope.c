/* memscope: the command-line tool (docs/CLI.md). This file holds main, the
 * dispatch to the commands (and `memscope help COMMAND`), and the helpers
 * every command shares: messages, option errors, the --formats list, input
 * checks, directory creation. Options are parsed with getopt_long in each
 * command; output safety is in files.c.
 *
 *   memscope report TRACE... [--json F] [--html F] [--bin F] [-o DIR] [--formats LIST]   report.c
 *   memscope summary TRACE                                                               summary.c
 *   memscope pack TRACE [-o FILE]                                                        pack.c
 *   memscope run [-o DIR] [--formats LIST] -- PROGRAM [ARGS...]                          run.c
 *   memscope diff A B | TRACE --from T --to T [--json F] [--html F] [--fail-if-grown N]  diff.c
 *   memscope live TRACE|DIR [--interval S]                                               live.c
 *
 * It only reads traces and archives through export/ and never calls into the
 * allocator; `run` preloads libmemscope_alloc.so into another program. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
    "  pack TRACE           write a trace as a packed (zstd) trace, .mspack\n"
    "  run -- PROG ARGS...  run a program with memscope preloaded, then report\n"
    "  diff A B             show what grew from trace A to B (or, with --from and\n"
    "                       --to, between two moments of one trace)\n"
    "  live TRACE|DIR       follow a trace while its program runs\n"
    "  help [COMMAND]       show this help, or the help of COMMAND\n"
    "\n"
    "Options:\n"
    "  -h, --help           show this help (also: memscope COMMAND --help)\n"
    "  --version            show the version (also: memscope COMMAND --version)\n"
    "\n"
    "A TRACE is a trace file (<name>.<pid>.msgpack), a packed trace (.mspack)\n"
    "or an archive (.msbin).\n"
    "\n"
    "Exit status: 0 success; 1 a trace could not be read or an output not\n"
    "written; 2 usage error; 3 reports written but a trace was damaged or\n"
    "incomplete (the problems are printed); 4 `diff --fail-if-grown`'s bound was\n"
    "passed. `run` returns the program's status.\n";

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

/* Parses a comma list of json, html, bin, in any case. Returns the bits, or -1. */
int mst_parse_formats(const char *s)
{
    int bits = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (!strcasecmp(w, "json"))
            bits |= F_JSON;
        else if (!strcasecmp(w, "html"))
            bits |= F_HTML;
        else if (!strcasecmp(w, "bin"))
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

/* Prints what getopt_long found wrong (c: ':' or '?') and the usage text. */
int mst_option_error(const char *cmd, int c, char **argv, const char *usage)
{
    /* optind has stepped over the offending argument; a short option in a
     * cluster (-qx) is named by optopt */
    const char *arg = argv[optind - 1];
    if (c == ':')
        mst_errorf("%s: %s needs a value", cmd, arg);
    else if (optopt && strncmp(arg, "--", 2))
        mst_errorf("%s: unknown option -%c", cmd, optopt);
    else
        mst_errorf("%s: unknown option %s", cmd, arg);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

/* Prints the version line. */
int mst_print_version(void)
{
    printf("memscope %s\n", MSX_VERSION);
    return EXIT_OK;
}

/* Checks that an input can be opened, with the errno text if not (tool.h).
 * The reader would say "offset 0: cannot open: ...", which reads as damage. */
bool mst_input_readable(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
        mst_errorf("%s: %s", path, strerror(errno));
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        mst_errorf("%s: %s", path, strerror(EISDIR));
        return false;
    }
    return true;
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

/* The commands, with their usage texts for `memscope help COMMAND`. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    { "report", mst_cmd_report },
    { "summary", mst_cmd_summary },
    { "pack", mst_cmd_pack },
    { "run", mst_cmd_run },
    { "diff", mst_cmd_diff },
    { "live", mst_cmd_live },
};

/* Returns the index of command name in commands[], or -1. */
static int find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name))
            return (int)i;
    return -1;
}

/* Dispatches to the command named by argv[1]. `memscope help COMMAND` is
 * `memscope COMMAND --help`. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || (!strcmp(cmd, "help") && argc == 2)) {
        fputs(usage_main, stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version"))
        return mst_print_version();
    if (!strcmp(cmd, "help")) {
        int k = find_command(argv[2]);
        if (k < 0 || argc > 3) {
            if (k < 0)
                mst_errorf("help: unknown command %s", argv[2]);
            else
                mst_errorf("help: one COMMAND only");
            fputs(usage_main, stderr);
            return EXIT_USAGE;
        }
        char *help_argv[] = { argv[2], "--help", NULL };
        return commands[k].run(2, help_argv);
    }
    int k = find_command(cmd);
    if (k >= 0)
        return commands[k].run(argc - 1, argv + 1);
    mst_errorf("unknown command %s", cmd);
    fputs(usage_main, stderr);
    return EXIT_USAGE;
}
