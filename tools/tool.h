/* Private header of the memscope command (tools/). Internal names start with
 * mst_ ("memscope tool"); each is listed under the file that defines it.
 * The tool reads traces only through export/ (export.h). */
#ifndef MST_TOOL_H
#define MST_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

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

/* A file a command reads or writes, for mst_check_outputs. The caller sets
 * path and what; the rest is filled in by the check. */
typedef struct mst_file {
    const char *path;
    const char *what;   /* how the command line named it: "--json", "json", "input" */
    bool exists;
    bool device;        /* an existing character device (/dev/null): never refused */
    dev_t dev;
    ino_t ino;
    char *name;         /* resolved absolute name (malloc'd), NULL for "" */
} mst_file_t;

/* memscope.c: main and the helpers every command uses */

/* Prints "memscope: " and the message (and a newline) on stderr. */
void mst_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* report.c: writes what a renderer put in *b (its result rc) to path, frees
 * *b, and says "wrote" unless quiet. Returns 0, or prints an error and -1. */
struct msx_buf;
int mst_write_rendered(const char *path, struct msx_buf *b, int rc, bool quiet);
/* Parses a comma list of json, html, bin (in any case). Returns the F_* bits,
 * or -1 after printing why. */
int mst_parse_formats(const char *s);
/* Creates a directory and its parents (mode 0755). Returns 0 or -errno. */
int mst_mkdirs(const char *path);

/* Takes the result of getopt_long that is not an option of the command
 * (':' a missing value, '?' an unknown option), prints what is wrong and the
 * usage text of cmd on stderr. Returns EXIT_USAGE. */
int mst_option_error(const char *cmd, int c, char **argv, const char *usage);
/* Prints "memscope VERSION" on stdout. Returns EXIT_OK. */
int mst_print_version(void);
/* Checks that path can be opened for reading; if not, prints
 * "memscope: PATH: <errno text>" (a directory is EISDIR). Returns true if
 * it can. */
bool mst_input_readable(const char *path);

/* files.c: output safety */

/* Refuses outputs that are inputs or other outputs (see files.c): prints one
 * "CMD: refusing to write ..." line for the first such output and returns -1;
 * returns 0 if every output is safe. Call before anything is written. */
int mst_check_outputs(const char *cmd, mst_file_t *in, size_t nin, mst_file_t *out, size_t nout);
/* Frees what mst_check_outputs filled into f[0..n). */
void mst_files_free(mst_file_t *f, size_t n);

/* report.c: memscope report, and loading and writing reports */

/* memscope report; argv[0] is "report". Returns the exit status. */
int mst_cmd_report(int argc, char **argv);
/* Loads a report from a trace or an archive, printing what goes wrong (and a
 * progress line on a terminal). Returns NULL if it cannot be read; sets
 * *damaged if it had problems. Free the result with msx_report_free. */
msx_report *mst_load(const char *path, bool *damaged);
/* As mst_load, but the problems of a trace that can be read are not printed
 * (mst_print_problems prints them). */
msx_report *mst_load_unlisted(const char *path, bool *damaged);
/* Prints the problems of report r of the trace at path, one line each. */
void mst_print_problems(const msx_report *r, const char *path);
/* Writes the default outputs (formats: F_* bits) of report r of trace:
 * <dir>/<stem>.json, .html, .msbin (dir NULL: the trace's directory).
 * Returns 0, or -1 if one could not be written (after printing why). */
int mst_write_defaults(const msx_report *r, const char *trace, const char *dir, int formats, bool quiet);
/* Appends to out[*n] the default outputs of trace (as mst_write_defaults
 * would write them) for mst_check_outputs; out has room for 3 more. The
 * paths are malloc'd (free them with mst_default_outputs_free). Returns 0,
 * or -1 if there is no memory. */
int mst_default_outputs(const char *trace, const char *dir, int formats, mst_file_t *out, size_t *n);
/* Frees the paths mst_default_outputs put in out[0..n). */
void mst_default_outputs_free(mst_file_t *out, size_t n);

/* pack.c: memscope pack */

/* memscope pack; argv[0] is "pack". Returns the exit status. */
int mst_cmd_pack(int argc, char **argv);
/* TRACE's default packed name: without .msgpack, with .mspack (malloc'd). */
char *mst_pack_default_name(const char *trace);
/* Packs trace into out, a file that must not exist (removed again if the
 * packing fails). Returns 0, 1 if packed but the trace had problems, or -1
 * after printing why it was not packed. */
struct msx_pack_stats;
int mst_pack(const char *trace, const char *out, int level, bool quiet, struct msx_pack_stats *st);

/* summary.c: memscope summary */

/* memscope summary; argv[0] is "summary". Returns the exit status. */
int mst_cmd_summary(int argc, char **argv);
/* Its formatting, shared with live.c: bytes with a binary unit ("1.50 MiB"),
 * a count with thousands separators, a string from the trace made safe for a
 * terminal (at most max bytes, then "..."), a site's own frame. */
const char *mst_fmt_bytes(char *buf, size_t n, uint64_t v);
const char *mst_fmt_count(char *buf, size_t n, uint64_t v);
void mst_put_safe(FILE *f, const char *s, size_t n, size_t max);
void mst_put_site_frame(FILE *f, const msx_report *r, const msx_site_report *s);

/* live.c: memscope live */

/* memscope live; argv[0] is "live". Returns the exit status. */
int mst_cmd_live(int argc, char **argv);

/* diff.c: memscope diff */

/* memscope diff; argv[0] is "diff". Returns the exit status (4: grown). */
int mst_cmd_diff(int argc, char **argv);

/* run.c: memscope run */

/* memscope run; argv[0] is "run". Returns the program's status as run's
 * exit status (docs/CLI.md). */
int mst_cmd_run(int argc, char **argv);

/* sites.c: the analysis options of report and summary, the folded output */

/* The suppressions file to use: given, else MEMSCOPE_SUPPRESSIONS, else NULL. */
const char *mst_suppressions_path(const char *given);
/* Sets what mst_load analyses with (any may be NULL) and reads the
 * suppressions file. Returns 0, or -1 after printing why. */
int mst_analysis_set(const char *sysroot, const char *debug_dir, const char *suppressions);
/* Asks the analysis for the counter series of --chrome (after mst_analysis_set). */
void mst_analysis_counters(bool on);
/* The options set (for msx_analyze_trace_opts). */
const msx_analyze_opts *mst_analysis_opts(void);
/* Asks the analysis for the figures of pprof profiles (after mst_analysis_set). */
void mst_analysis_want_pprof(void);
/* Applies the suppressions to a report read from an archive. */
void mst_analysis_apply(msx_report *r);
/* Asks the next analyses for cuts (NULL: none). */
struct msx_cuts;
void mst_analysis_cuts(struct msx_cuts *cuts);
/* Frees what mst_analysis_set read. */
void mst_analysis_end(void);
/* The site figure of a --folded-value name, or -1 after printing why. */
int mst_folded_value(const char *s);
/* Writes the collapsed stacks of r (figure `value`) to path. Returns 0 or -1
 * after printing why. */
int mst_write_folded(const msx_report *r, const char *path, int value, bool quiet);

#endif
