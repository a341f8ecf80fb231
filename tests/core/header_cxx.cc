// Compiled with -std=c++11 -pedantic -Werror: the public header in C++, its
// macros included (MEMSCOPE_TRACK_SMART is a template there).
#include "memscope.h"

#include <cstdlib>

int header_cxx_uses();
int header_cxx_uses()
{
    char buf[8] = { 0 };
    int n = 3;
    MEMSCOPE_SCOPE("c++11");
    MEMSCOPE_TRACK_OWNED(char *, owned, static_cast<char *>(std::malloc(4)));
    return MEMSCOPE_TRACK_SMART(buf) + MEMSCOPE_TRACK_SMART(n) + MEMSCOPE_TRACK_SMART(owned) +
           MEMSCOPE_TRACK(owned) + memscope_export("json");
}
