/* msx_trace_probe (export.h): what a trace holds so far, from its header and
 * chunk headers only, so that `memscope live` can tell whether the program
 * wrote anything since its last read without analysing the trace again. */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

int msx_trace_probe(const char *path, msx_probe *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    msx_report *r = calloc(1, sizeof *r);
    if (!r) {
        if (errlen)
            snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    msx_reader R;
    int rc = msx_reader_open(&R, path, r, err, errlen);
    if (rc < 0) {
        msx_report_free(r);
        return rc;
    }
    rc = msx_reader_scan(&R);
    if (rc == 0) {
        out->end_time = R.end_time;
        out->end_how = R.end_how;
        out->dropped = r->dropped_header + r->lost_control_records;
        out->problems = r->problems_total;
        for (uint64_t i = 0; i < R.nchunks; i++) {
            const msx_chunk *k = &R.chunks[i];
            if (k->flags & MSF_CF_INTERNAL) {
                out->internal_bytes += k->present;
                continue;
            }
            out->chunks++;
            out->bytes += k->present;
            out->exited += (k->flags & MSF_CF_THREAD_EXITED) != 0;
        }
        for (uint64_t i = 0; i < R.nsnapchunks; i++)
            out->internal_bytes += R.snapchunks[i].present;
    }
    msx_reader_close(&R);
    msx_report_free(r);
    return rc;
}
