// A nothrow operator new whose allocation fails while a new_handler that
// throws std::bad_alloc is installed returns a null pointer (the standard's
// nothrow forms catch the throw); the program runs on. Plain and aligned forms.
#include <cstddef>
#include <cstdio>
#include <new>

static void give_up()
{
    throw std::bad_alloc();
}

int main()
{
    std::set_new_handler(give_up);
    volatile std::size_t huge = static_cast<std::size_t>(1) << 62;
    char *p = new (std::nothrow) char[huge];
    char *q = new (std::align_val_t(64), std::nothrow) char[huge];
    std::printf("plain=%s aligned=%s\n", p ? "block" : "null", q ? "block" : "null");
    return 0;
}
