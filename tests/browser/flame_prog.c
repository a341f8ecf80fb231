/* The program of the browser test's real dashboards (check_dashboards.js):
 * call trees of known shape for the sites table, the leak drill-down and the
 * flame graphs. Built with -g and frame pointers; recorded under `memscope
 * run` with MEMSCOPE_STACK_DEPTH=16, and once sampled.
 *   parse_input: 2,000 temporaries of 64..1,023 bytes, then 2 read_line
 *   build_tree:  a tree of 255 nodes of 4 KiB, each from new_node through an
 *                inlined helper (alloc_node); the root and its left subtree
 *                (128 nodes) leak
 *   make_cache:  40 blocks of 50,000 bytes, live at the peak, freed
 *   grow_index:  realloc from 1 KiB to 1 MiB, freed
 *   read_line:   4 KiB buffers, called by parse_input (2, leaked) and by main
 *                (3, one freed): one function, several sites */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *kid[2];
    char pad[4080];
};

static void *volatile sink;

__attribute__((always_inline)) static inline struct node *alloc_node(void)
{
    return malloc(sizeof(struct node));
}

__attribute__((noinline)) static struct node *new_node(void)
{
    struct node *n = alloc_node();
    memset(n, 0, sizeof *n);
    return n;
}

__attribute__((noinline)) static struct node *build_tree(int depth)
{
    struct node *n = new_node();
    if (depth > 1) {
        n->kid[0] = build_tree(depth - 1);
        n->kid[1] = build_tree(depth - 1);
    }
    return n;
}

/* Frees the tree n. */
__attribute__((noinline)) static void drop(struct node *n)
{
    if (!n)
        return;
    drop(n->kid[0]);
    drop(n->kid[1]);
    free(n);
}

__attribute__((noinline)) static char *read_line(void)
{
    char *b = malloc(4096);
    memset(b, 'x', 16);
    return b;
}

__attribute__((noinline)) static void parse_input(void)
{
    for (int i = 0; i < 2000; i++) {
        char *t = malloc(64 + (size_t)(i * 37) % 960);
        t[0] = (char)i;
        sink = t;
        free(t);
    }
    for (int i = 0; i < 2; i++)
        sink = read_line(); /* both leak */
}

__attribute__((noinline)) static void **make_cache(void)
{
    void **c = malloc(40 * sizeof *c);
    for (int i = 0; i < 40; i++) {
        c[i] = malloc(50000);
        memset(c[i], 1, 64);
    }
    return c;
}

__attribute__((noinline)) static void grow_index(void)
{
    char *p = NULL;
    for (size_t n = 1024; n <= (1u << 20); n *= 2) {
        char *q = realloc(p, n);
        if (!q)
            break;
        p = q;
        p[n - 1] = 1;
    }
    free(p);
}

int main(void)
{
    parse_input();
    struct node *root = build_tree(8);
    void **cache = make_cache();
    grow_index();
    for (int i = 0; i < 40; i++)
        free(cache[i]);
    free(cache);
    drop(root->kid[1]); /* 127 nodes freed, the root and its left subtree (128) leak */
    root->kid[1] = NULL;
    char *l[3];
    for (int i = 0; i < 3; i++)
        l[i] = read_line();
    free(l[0]);
    printf("%p %p\n", (void *)root, (void *)l[1]);
    return 0;
}
