/* Compiled with -std=c99 -pedantic -Werror: the public header must stand alone. */
#include "memscope.h"

int header_c99_uses(void);
int header_c99_uses(void)
{
    char buf[8];
    return memscope_trace_path(buf, sizeof buf) + (int)(memscope_version()[0] - '0') +
           MEMSCOPE_FORMAT_VERSION;
}
