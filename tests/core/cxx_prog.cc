// A C++ program for the preload test: new and delete in several forms. It
// prints a checksum so the test can compare its output with and without
// memscope. Allocations of 5777 bytes are the ones the test counts.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

struct alignas(64) Wide { char b[5777 - 5777 % 64 + 64]; };

int main()
{
    unsigned long sum = 0;
    for (int i = 0; i < 100; i++) {
        char *a = new char[5777];                      // operator new[]
        a[0] = (char)i;
        sum += (unsigned char)a[0];
        delete[] a;                                     // operator delete[]
        auto *n = new (std::nothrow) char[5777];        // nothrow new[]
        delete[] n;
        auto p = std::make_unique<std::string>(std::to_string(i));
        sum += p->size();
    }
    std::map<int, std::vector<int>> m;
    for (int i = 0; i < 1000; i++)
        m[i % 37].push_back(i);
    for (auto &kv : m)
        sum += kv.second.size() * (unsigned long)kv.first;
    Wide *w = new Wide;                                 // aligned new
    sum += (unsigned long)(reinterpret_cast<std::uintptr_t>(w) % 64);
    delete w;
    std::printf("sum=%lu\n", sum);
    return 0;
}
