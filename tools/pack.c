/* memscope pack: writes a trace as a packed file (docs/PACK.md), which every
 * command reads as it reads the trace. Also the packing `memscope run --pack`
 * does (mst_pack). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pack.h"
#include "tool.h"

static const char *const usage_pack =
    "Usage: memscope pack TRACE [-o FILE] [--level N] [-q]\n"
    "\n"
    "Write TRACE (a trace file) as a packed trace: each chunk compressed with\n"
    "zstd on its own, which `memscope report` and `summary` read as they read\n"
    "the trace. Every chunk is decoded back and compared before it is written.\n"
    "\n"
    "  -o, --output FILE  the packed file (default: TRACE without .msgpack,\n"
    "                     with .mspack); it must not exist\n"
    "  --level N          zstd level, 1 to 19 (default 1: the smallest on churn traces, and the fastest)\n"
    "  -q, --quiet        do not say what was written\n"
    "  -h, --help         show this help\n"
    "  --version          show the version\n"
    "\n"
    "pack never writes over a file: not over TRACE, not over a file that exists.\n"
    "Exit status: 0 packed; 1 not packed (nothing is left behind); 2 usage\n"
    "error; 3 packed, but TRACE was damaged (the problems are printed; the\n"
    "packed file holds what was readable).\n";

char *mst_pack_default_name(const char *trace)
{
    size_t n = strlen(trace);
    if (n > 8 && !strcmp(trace + n - 8, ".msgpack"))
        n -= 8;
    char *out = malloc(n + 8);
    if (out)
        snprintf(out, n + 8, "%.*s.mspack", (int)n, trace);
    return out;
}

int mst_pack(const char *trace, const char *out, int level, bool quiet, msx_pack_stats *st)
{
    mst_file_t in[1] = { { .path = trace, .what = "input" } };
    mst_file_t outs[1] = { { .path = out, .what = "output" } };
    if (mst_check_outputs("pack", in, 1, outs, 1) < 0)
        return -1;
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            mst_errorf("pack: refusing to write %s: it exists (pack writes only a new file)", out);
        else
            mst_errorf("pack: %s: %s", out, strerror(errno));
        return -1;
    }
    char err[1024];
    int rc = msx_pack_file(trace, fd, out, level, st, err, sizeof err);
    if (close(fd) < 0 && rc == 0) {
        snprintf(err, sizeof err, "%s: %s", out, strerror(errno));
        rc = -EIO;
    }
    if (rc < 0) {
        mst_errorf("pack: %s", err);
        unlink(out);  /* ours: created above */
        return -1;
    }
    if (!quiet) {
        double ev = st->events ? (double)st->events : 1;
        printf("wrote %s: %llu events, %llu bytes of trace -> %llu bytes (%.2f -> %.2f bytes/event), %.0f ms\n", out,
               (unsigned long long)st->events, (unsigned long long)st->raw_bytes,
               (unsigned long long)st->packed_bytes, (double)st->raw_bytes / ev, (double)st->packed_bytes / ev,
               (double)st->ns / 1e6);
    }
    if (st->problems)
        mst_errorf("pack: %s had %llu problems: the packed file holds what was readable (memscope summary %s "
                   "lists them)", trace, (unsigned long long)st->problems, trace);
    return st->problems ? 1 : 0;
}

/* memscope pack (see usage_pack); argv[0] is "pack". Returns the exit status. */
int mst_cmd_pack(int argc, char **argv)
{
    enum { OPT_VERSION = 256, OPT_LEVEL };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "output", required_argument, NULL, 'o' },
        { "level", required_argument, NULL, OPT_LEVEL },
        { "quiet", no_argument, NULL, 'q' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    const char *out = NULL;
    int level = 0, c;
    bool quiet = false;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":ho:q", longopts, NULL)) != -1) {
        if (c == 'o') {
            out = optarg;
        } else if (c == 'q') {
            quiet = true;
        } else if (c == OPT_LEVEL) {
            char *e;
            long v = strtol(optarg, &e, 10);
            if (*e || e == optarg || v < 1 || v > 19) {
                mst_errorf("pack: --level must be 1 to 19, not \"%s\"", optarg);
                return EXIT_USAGE;
            }
            level = (int)v;
        } else if (c == 'h') {
            fputs(usage_pack, stdout);
            return EXIT_OK;
        } else if (c == OPT_VERSION) {
            return mst_print_version();
        } else {
            return mst_option_error("pack", c, argv, usage_pack);
        }
    }
    if (argc - optind != 1) {
        mst_errorf(argc - optind ? "pack: one TRACE only" : "pack: no TRACE given");
        fputs(usage_pack, stderr);
        return EXIT_USAGE;
    }
    const char *trace = argv[optind];
    if (!mst_input_readable(trace))
        return EXIT_FAIL;
    char *name = out ? NULL : mst_pack_default_name(trace);
    if (!out && !name) {
        mst_errorf("pack: out of memory");
        return EXIT_FAIL;
    }
    msx_pack_stats st;
    int rc = mst_pack(trace, out ? out : name, level, quiet, &st);
    free(name);
    return rc < 0 ? EXIT_FAIL : rc ? EXIT_DAMAGED : EXIT_OK;
}
