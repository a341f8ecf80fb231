/* MEMSCOPE_AUTO_EXPORT: the reports a program asks for at its exit, rendered
 * out of process by the memscope tool (autoexport.c). */
#ifndef MS_AUTOEXPORT_H
#define MS_AUTOEXPORT_H

#include <stdbool.h>

/* Runs `memscope report` on the trace at `trace`, writing <outdir>/<base>.json,
 * .html and .msbin for the formats in the comma list `formats`, and waits for
 * it. Call under the guard: at exit, after recording stopped on every thread,
 * or for memscope_export, on the trace as it stands.
 * The tool is MEMSCOPE_TOOL if set, else the one found beside this library or
 * program (build tree or install prefix), else `memscope` on PATH. Prints one
 * line on stderr if it cannot. Returns 0, -ENOPKG (no tool), -EIO (it
 * failed) or the error of starting it. */
int ms_autoexport(const char *trace, const char *outdir, const char *base, const char *formats);
/* True if `formats` is a comma list of json, html and bin naming at least one
 * (empty items are allowed, as in MEMSCOPE_AUTO_EXPORT). */
bool ms_autoexport_formats_valid(const char *formats);

#endif /* MS_AUTOEXPORT_H */
