/* Writes the synthetic seeds of tests/fuzz/corpus/trace/ (syn-*.msgpack):
 * small traces (4 KiB chunks) that hold every record kind of docs/FORMAT.md,
 * which the real seeds do not (today's writer writes no task, scope, variable
 * or stack records). Not part of the build; made once by hand from the
 * normal build directory:
 *
 *   cc -D_GNU_SOURCE -Iformat -Itests/export tests/fuzz/make_seeds.c \
 *      build/tests/export/libmsx_fixture.a -lmsgpackc -o /tmp/make_seeds
 *   /tmp/make_seeds tests/fuzz/corpus/trace
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "format.h"

/* Writes t to dir/name and frees it; exits on failure. */
static void save(msf *t, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (msf_write(t, path) < 0) {
        perror(path);
        exit(1);
    }
    msf_destroy(t);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    const char *args[] = { "prog", "-x", "\xff<b>" };
    const char *cfg[] = { "MEMSCOPE_MODE", "full", "MEMSCOPE_BUFFER_SIZE", "65536" };

    /* version 2: tasks, scopes, variables, stacks, weights, metrics, two threads */
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    msf_set_time_bound(t, 1000000);
    msf_set_end_how(t, MSF_END_EXIT);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_process(t, 1, 100, "/usr/bin/prog", 3, args, 2, cfg);
    msf_thread(t, 2, 101, "worker\x01", 7, 5);
    msf_task_create(t, 1, 3, "job", 0);
    msf_task(t, 1, 3);
    msf_scope_enter(t, 1, 1, "parse", "a.c", 10);
    const unsigned char stack[] = { 0x92, 0x01, 0x92, 0xcd, 0x10, 0x00, 0xcd, 0x20, 0x00 }; /* [1, [4096, 8192]] */
    msf_raw(t, 1, (MSF_R_STACK << MSF_KIND_BITS) | MSF_K_RECORD, stack, sizeof stack);
    msf_alloc_w(t, 1, 0x1000, 100, 1, 0);
    msf_var(t, 1, 0x1000, "buf", "char[]", "a.c", 11, 100);
    msf_var(t, 1, 0, "n", "int", "a.c", 12, 4);
    msf_realloc_ex(t, 1, 0x1000, 0x1000, 150, 1, 0);
    msf_realloc_ex(t, 1, 0x1000, 0x3000, 300, 1, 4096);
    msf_alloc(t, 2, 0x5000, 5);
    msf_time(t, 2, 20);
    msf_free(t, 2, 0x3000);
    msf_metric(t, 1, "rss", 1 << 20);
    msf_scope_leave(t, 1, 1);
    msf_task(t, 1, 0);
    msf_task_end(t, 1, 3);
    msf_dropped(t, 2, 3);
    msf_thread_exit(t, 2, "worker");
    msf_exit_flag(t, 2);
    msf_free(t, 1, 0x7000);  /* unknown free: an anomaly */
    msf_end_how(t, 1, 50, MSF_END_EXIT);
    msf_set_end_time(t, 50);
    msf_set_dropped(t, 3);
    save(t, dir, "syn-v2-all-records.msgpack");

    /* version 3: a snapshot log (chunk flag bit 2) with two cuts of thread 1 */
    t = msf_new(4096);
    msf_set_version(t, 3);
    msf_thread(t, 1, 300, "main", 4, 0);
    msf_task_create(t, 1, 5, "job", 0);
    msf_task(t, 1, 5);
    msf_alloc(t, 1, 0x1000, 64);
    msf_alloc(t, 1, 0x2000, 32);
    msf_free(t, 1, 0x1000);
    msf_task_end(t, 1, 5);
    msf_thread(t, 2, 301, "", 0, 0);
    msf_thread_flags(t, 2, MSF_CF_SNAPSHOTS);
    /* {id: 1, time: 0, cut: [[1, 0x20]]} and {id: 2, time: 9, cut: [[1, 2^32 * 3 + 1], [7, 9]]} */
    const unsigned char snap1[] = { 0x83, 0xa2, 'i', 'd', 0x01, 0xa4, 't', 'i', 'm', 'e', 0x00,
                                    0xa3, 'c', 'u', 't', 0x91, 0x92, 0x01, 0x20 };
    const unsigned char snap2[] = { 0x83, 0xa2, 'i', 'd', 0x02, 0xa4, 't', 'i', 'm', 'e', 0x09,
                                    0xa3, 'c', 'u', 't', 0x92, 0x92, 0x01, 0xcf, 0, 0, 0, 3, 0, 0, 0, 1,
                                    0x92, 0x07, 0x09 };
    msf_raw(t, 2, msf_head(MSF_R_SNAPSHOT, MSF_K_RECORD), snap1, sizeof snap1);
    msf_raw(t, 2, msf_head(MSF_R_SNAPSHOT, MSF_K_RECORD), snap2, sizeof snap2);
    msf_end(t, 1, 40);
    save(t, dir, "syn-v3-snapshots.msgpack");

    /* version 1, a forked child, several chunks of one thread */
    t = msf_new(4096);
    msf_set_version(t, 1);
    msf_thread(t, 1, 200, "child", 5, 0);
    msf_fork(t, 1, 100);
    for (uint64_t i = 0; i < 700; i++) {
        msf_alloc(t, 1, 0x10000 + 64 * (i % 50), 1 + i % 300);
        if (i % 3 == 0)
            msf_realloc(t, 1, 0x10000 + 64 * (i % 50), 0x90000 + 64 * (i % 50), 7);
        msf_free(t, 1, (i % 3 == 0 ? 0x90000 : 0x10000) + 64 * (i % 50));
        if (i % 40 == 0)
            msf_time(t, 1, i * 1000);
    }
    msf_free(t, 1, 0x1234);  /* a free of an inherited block */
    msf_end(t, 1, 800000);
    msf_set_end_time(t, 800000);
    save(t, dir, "syn-v1-fork-chunks.msgpack");
    return 0;
}
