// A C++ program for the sites' end-to-end test (test_sites.py): make_node
// leaks 500 nodes of 408 bytes, make_buffer 3 buffers of 1000 bytes. Built
// with -g; the test reads the lines of the two news from the markers.
#include <cstdio>

struct Node {
    int v;
    char pad[396];
    Node *next;
};

__attribute__((noinline)) Node *make_node(int v)
{
    return new Node{v, {}, nullptr}; // NODE_LINE
}

__attribute__((noinline)) char *make_buffer(int n)
{
    return new char[n]; // BUFFER_LINE
}

int main()
{
    unsigned long sum = 0;
    for (int i = 0; i < 500; i++)
        sum += (unsigned long)make_node(i)->v;
    static char *volatile kept; // the leak, on purpose
    for (int i = 0; i < 3; i++) {
        kept = make_buffer(1000);
        sum += (unsigned long)(kept != nullptr);
    }
    std::printf("%lu\n", sum);
    return 0;
}
