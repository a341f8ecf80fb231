/* Helpers shared by the CMocka suites of the export side: a fixture trace
 * analysed, a report's JSON, the usual two-thread trace. They fail the
 * running test on error. */
#ifndef MSX_SUITE_H
#define MSX_SUITE_H

#include "export.h"
#include "fixture.h"

/* Writes t into the group's directory (msf_dir), destroys the builder, and
 * returns the trace's analysis. */
msx_report *suite_analyze(msf *t);
/* The JSON of a report, NUL-terminated; the caller frees it. */
char *suite_json(const msx_report *r);
/* A new version-2 trace with threads 1 and 2 ("one", "two") started at 0. */
msf *suite_two_threads(void);

#endif /* MSX_SUITE_H */
