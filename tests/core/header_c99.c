/* Compiled with -std=c99 -pedantic -Werror: the public header must stand alone,
 * its macros included. */
#include "memscope.h"

#include <stdlib.h>

int header_c99_uses(void);
int header_c99_uses(void)
{
    char buf[8];
    int n = 3;
    MEMSCOPE_SCOPE("c99");
    MEMSCOPE_TRACK_OWNED(char *, owned, malloc(4));
    return memscope_trace_path(buf, sizeof buf) + (int)(memscope_version()[0] - '0') +
           MEMSCOPE_FORMAT_VERSION + MEMSCOPE_TRACK_SMART(buf) + MEMSCOPE_TRACK_SMART(n) +
           MEMSCOPE_TRACK_SMART(owned) + memscope_trace_all(NULL) + memscope_stop_tracing() +
           memscope_export("json");
}
