// A C++ program with two leaking functions (test_sites_e2e.c), run under
// `memscope run` with MEMSCOPE_STACK_DEPTH=16: make_node leaks 500 nodes,
// make_table 200 vectors (the object and its buffer), and 1000 more nodes
// are freed. It prints the sizes the test needs.
#include <cstdio>
#include <vector>

struct Node {
    int v;
    Node *next;
    char pad[392];
};

__attribute__((noinline)) Node *make_node(int v)
{
    Node *n = new Node; // LEAK-NODE
    n->v = v;
    n->next = nullptr;
    return n;
}

__attribute__((noinline)) std::vector<int> *make_table(int n)
{
    return new std::vector<int>(n); // LEAK-TABLE
}

int main()
{
    static Node *volatile sink;
    static std::vector<int> *volatile tsink;
    (void)sink;
    (void)tsink;
    for (int i = 0; i < 500; i++)
        sink = make_node(i);
    for (int i = 0; i < 200; i++)
        tsink = make_table(250);
    for (int i = 0; i < 1000; i++)
        delete make_node(i);
    std::printf("node=%zu vector=%zu last=%p %p\n", sizeof(Node), sizeof(std::vector<int>), (void *)sink,
                (void *)tsink);
    return 0;
}
