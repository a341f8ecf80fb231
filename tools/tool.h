/* Private header of the memscope command (tools/). Internal names start with
 * mst_ ("memscope tool"); each is listed under the file that defines it.
 * The tool reads traces only through export/ (export.h). */
#ifndef MST_TOOL_H
#define MST_TOOL_H

#include <stdbool.h>

#include "export.h"

/* Exit codes (docs/CLI.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,     /* a trace could not be read or an output not written */
    EXIT_USAGE = 2,
    EXIT_DAMAGED = 3,  /* reports written, but a trace was damaged or incomplete */
    EXIT_RUN_SETUP = 125,   /* run: memscope itself failed before the program ran */
    EXIT_RUN_NOEXEC = 126,  /* run: the program cannot be executed */
    EXIT_RUN_NOTFOUND = 127,/* run: the program was not found */
};

/* Output formats, as bits. */
enum { F_JSON = 1, F_HTML = 2, F_BIN = 4 };

/* memscope.c: main and the helpers every command uses */

/* Prints "memscope: " and the message (and a newline) on stderr. */
void mst_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses a comma list of json, html, bin. Returns the F_* bits, or -1 after
 * printing why. */
int mst_parse_formats(const char *s);
/* True if arg is -h or --help. */
bool mst_is_help(const char *arg);
/* Returns the value of option argv[*i] (the next argument) and steps *i over
 * it; NULL, after printing the usage text, if there is none. */
const char *mst_opt_value(int argc, char **argv, int *i, const char *usage);
/* Creates a directory and its parents (mode 0755). Returns 0 or -errno. */
int mst_mkdirs(const char *path);

/* report.c: memscope report, and loading and writing reports */

/* memscope report; argv[0] is "report". Returns the exit status. */
int mst_cmd_report(int argc, char **argv);
/* Loads a report from a trace or an archive, printing what goes wrong (and a
 * progress line on a terminal). Returns NULL if it cannot be read; sets
 * *damaged if it had problems. Free the result with msx_report_free. */
msx_report *mst_load(const char *path, bool *damaged);
/* Writes the default outputs (formats: F_* bits) of report r of trace:
 * <dir>/<stem>.json, .html, .msbin (dir NULL: the trace's directory).
 * Returns 0, or -1 if one could not be written (after printing why). */
int mst_write_defaults(const msx_report *r, const char *trace, const char *dir, int formats, bool quiet);

/* summary.c: memscope summary */

/* memscope summary; argv[0] is "summary". Returns the exit status. */
int mst_cmd_summary(int argc, char **argv);

/* run.c: memscope run */

/* memscope run; argv[0] is "run". Returns the program's status as run's
 * exit status (docs/CLI.md). */
int mst_cmd_run(int argc, char **argv);

#endif
