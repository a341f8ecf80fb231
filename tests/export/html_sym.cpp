// Functions of test_html.c's own module with hostile names, for the
// dashboard's escaping of symbols: a template over a type named `script`
// demangles to "hostile<script>", and the #line below gives the frames a
// file name with quotes and a closing script tag. Each returns a pc inside
// itself (the return address of a call it makes).
#include <stdint.h>

extern "C" __attribute__((noipa)) uint64_t html_sym_here(void)
{
    uint64_t pc = (uint64_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return pc;
}

struct script {};

#line 1 "</script><script>alert(\"x\")</script>.cpp"
template <class T> __attribute__((noipa)) uint64_t hostile(void)
{
    uint64_t pc = html_sym_here();
    __asm__ volatile("" ::: "memory");
    return pc;
}

extern "C" uint64_t html_sym_hostile(void)
{
    return hostile<script>();
}
