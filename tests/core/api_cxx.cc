// MEMSCOPE_TRACK_SMART, MEMSCOPE_TRACK_OWNED and MEMSCOPE_SCOPE from C++
// (the header's template for SMART), traced like api_prog; for test_api.c.
#include <memscope.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

struct pair_t {
    long a, b;
};

int main()
{
    int rc = 0;
    {
        MEMSCOPE_SCOPE("cxx");
        char *p = static_cast<char *>(std::malloc(2001));
        std::memset(p, 1, 2001);
        std::printf("smart_ptr=%d\n", MEMSCOPE_TRACK_SMART(p));
        pair_t v = { 1, 2 };
        std::printf("smart_value=%d\n", MEMSCOPE_TRACK_SMART(v));
        char arr[8] = "abc";
        std::printf("smart_array=%d\n", MEMSCOPE_TRACK_SMART(arr));
        {
            MEMSCOPE_TRACK_OWNED(char *, owned, static_cast<char *>(std::malloc(2002)));
            owned[0] = 1;
        }
        std::free(p);
        rc = static_cast<int>(v.a + v.b + arr[0]) == 0;
    }
    return rc;
}
