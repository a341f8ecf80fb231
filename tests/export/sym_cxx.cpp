// The C++ half of tests/export/test_symbolize.c: two overloads in a
// namespace, so that the symbolizer's demangled name shows which one holds
// the pc. Each records the return address of its call to sym_probe and the
// line of that call.
#include <cstdint>

extern "C" uintptr_t sym_probe(void);

namespace symtest {

__attribute__((noinline)) uintptr_t where(int *line)
{
    uintptr_t pc = sym_probe(); *line = __LINE__;
    return pc;
}

__attribute__((noinline)) uintptr_t where(long *line)
{
    uintptr_t pc = sym_probe(); *line = (int)__LINE__;
    return pc;
}

} // namespace symtest

extern "C" uintptr_t sym_cxx_where_int(int *line);
extern "C" uintptr_t sym_cxx_where_long(int *line);

extern "C" uintptr_t sym_cxx_where_int(int *line)
{
    return symtest::where(line);
}

extern "C" uintptr_t sym_cxx_where_long(int *line)
{
    long l = 0;
    uintptr_t pc = symtest::where(&l);
    *line = (int)l;
    return pc;
}
