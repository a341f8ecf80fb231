/* memscope run: runs a program with libmemscope_alloc.so preloaded, waits
 * for it (ignoring SIGINT/SIGQUIT, passing SIGTERM/SIGHUP on), then writes the
 * reports of every trace the run wrote or changed in the output directory. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pack.h"
#include "tool.h"

#ifndef MSX_LIBDIR
#error MSX_LIBDIR (install libdir) must be defined by the build
#endif
#ifndef MSX_ALLOC_LIB
#error MSX_ALLOC_LIB (file name of the preload library) must be defined by the build
#endif

static const char *const usage_run =
    "Usage: memscope run [-o DIR] [--formats LIST] [--no-children] [--pack] [-q] -- PROGRAM [ARGS...]\n"
    "\n"
    "Run PROGRAM with libmemscope_alloc.so preloaded (LD_PRELOAD, inherited by\n"
    "its children) and traces written to DIR (MEMSCOPE_OUTPUT). When it ends,\n"
    "write the reports of every trace the run produced in DIR:\n"
    "<name>.<pid>.msgpack -> <name>.<pid>.json and <name>.<pid>.html, and list\n"
    "the processes traced on stderr, largest first.\n"
    "\n"
    "  -o, --output DIR directory of traces and reports\n"
    "                   (default: $MEMSCOPE_OUTPUT, else MemoryAnalysis)\n"
    "  --formats LIST   reports to write: a comma list of json, html, bin\n"
    "                   (default: json,html)\n"
    "  --no-children    trace PROGRAM's own process image only: the library is\n"
    "                   preloaded by the dynamic loader (ld.so --preload), not\n"
    "                   through LD_PRELOAD, so nothing PROGRAM executes is traced\n"
    "                   (a forked copy of PROGRAM still is, but is not reported);\n"
    "                   PROGRAM must be a dynamically linked ELF program, not a\n"
    "                   script\n"
    "  --pack           after the reports, pack each trace (memscope pack) into\n"
    "                   <name>.<pid>.mspack and remove the trace once the packed\n"
    "                   file reads back whole with the same events; else keep\n"
    "                   the trace and say why\n"
    "  -q, --quiet      do not list the processes and files written\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "Options end at PROGRAM (or at --). An empty $MEMSCOPE_OUTPUT is unset.\n"
    "A report that would be written over a trace or another report is refused\n"
    "and none is written.\n"
    "\n"
    "The library is looked up in $MEMSCOPE_LIB, then beside this program in the\n"
    "build tree (../allocator/), then in the installed library directory.\n"
    "\n"
    "Exit status: the program's exit status, or 128+N if signal N killed it;\n"
    "125 memscope could not set up the run; 126 PROGRAM cannot be executed;\n"
    "127 PROGRAM was not found.\n";

/* -- finding the library and the traces ----------------------------------- */

/* True if path names an existing regular file. */
static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds libmemscope_alloc.so (see usage_run) into buf. Returns 0 or -1. */
static int find_library(char *buf, size_t n)
{
    const char *env = getenv("MEMSCOPE_LIB");
    if (env && *env) {
        if (!is_file(env)) {
            mst_errorf("MEMSCOPE_LIB=%s: no such file", env);
            return -1;
        }
        if (!realpath(env, buf)) {
            mst_errorf("MEMSCOPE_LIB=%s: %s", env, strerror(errno));
            return -1;
        }
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        mst_errorf("cannot find my own path (/proc/self/exe): %s", strerror(errno));
        return -1;
    }
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    char cand[2][PATH_MAX + 64];
    snprintf(cand[0], sizeof cand[0], "%s/../allocator/%s", exe, MSX_ALLOC_LIB);
    if (MSX_LIBDIR[0] == '/')
        snprintf(cand[1], sizeof cand[1], "%s/%s", MSX_LIBDIR, MSX_ALLOC_LIB);
    else
        snprintf(cand[1], sizeof cand[1], "%s/../%s/%s", exe, MSX_LIBDIR, MSX_ALLOC_LIB);
    for (int i = 0; i < 2; i++)
        if (is_file(cand[i]) && realpath(cand[i], buf) && strlen(buf) < n)
            return 0;
    mst_errorf("cannot find %s (looked in $MEMSCOPE_LIB, %s, %s)", MSX_ALLOC_LIB, cand[0], cand[1]);
    return -1;
}

/* A trace file seen in the output directory. */
typedef struct seen {
    char *name;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} seen;

/* Lists the *.msgpack files of dir. Returns the count or -1; *out is malloc'd. */
static long list_traces(const char *dir, seen **out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long n = 0, cap = 0;
    seen *v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 8 || strcmp(e->d_name + len - 8, ".msgpack"))
            continue;
        char path[PATH_MAX];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path
            || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            seen *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        v[n].name = strdup(e->d_name);
        if (!v[n].name)
            break;
        v[n].ino = st.st_ino;
        v[n].size = st.st_size;
        v[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    *out = v;
    return n;
}

/* True if f is in before[] unchanged. */
static bool unchanged(const seen *f, const seen *before, long nbefore)
{
    for (long i = 0; i < nbefore; i++)
        if (!strcmp(before[i].name, f->name))
            return before[i].ino == f->ino && before[i].size == f->size
                && before[i].mtime.tv_sec == f->mtime.tv_sec && before[i].mtime.tv_nsec == f->mtime.tv_nsec;
    return false;
}

/* Frees a list of seen files. */
static void free_seen(seen *v, long n)
{
    for (long i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Orders seen files by name. */
static int seen_cmp(const void *a, const void *b)
{
    return strcmp(((const seen *)a)->name, ((const seen *)b)->name);
}

/* The program being run, while it runs (0 otherwise): where SIGTERM and
 * SIGHUP are passed on. */
static volatile sig_atomic_t child_pid;

/* Forwards SIGTERM and SIGHUP to the program. */
static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

/* Sets an environment variable, reporting failure. */
static int set_env(const char *name, const char *value)
{
    if (setenv(name, value, 1) < 0) {
        mst_errorf("cannot set %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Checks (files.c) that no report the run is about to write, for the traces
 * in after[] that are not unchanged from before[], is one of the traces in
 * after[] or another report. Returns true if all are safe; false after
 * printing the refusal (then nothing is written). */
static bool outputs_safe(const char *absdir, const seen *after, long nafter, const seen *before, long nbefore,
                         int formats)
{
    size_t nin = 0, nout = 0;
    mst_file_t *in = calloc((size_t)nafter + 1, sizeof *in), *out = calloc(3 * (size_t)nafter + 1, sizeof *out);
    bool ok = in && out;
    for (long k = 0; ok && k < nafter; k++) {
        size_t len = strlen(absdir) + strlen(after[k].name) + 2;
        char *path = malloc(len);
        if (!(ok = path != NULL))
            break;
        snprintf(path, len, "%s/%s", absdir, after[k].name);
        in[nin++] = (mst_file_t){ .path = path, .what = "input" };
        if (!unchanged(&after[k], before, nbefore))
            ok = mst_default_outputs(path, absdir, formats, out, &nout) == 0;
    }
    int rc = ok ? mst_check_outputs("run", in, nin, out, nout) : -1;
    if (!ok)
        mst_errorf("run: out of memory");
    if (out)
        mst_default_outputs_free(out, nout);
    for (size_t k = 0; in && k < nin; k++)
        free((char *)in[k].path);
    free(in);
    free(out);
    return rc == 0;
}

/* -- running the program -------------------------------------------------- */

/* Finds PROGRAM as execvp would: a name holding a slash as it is, else the
 * first executable regular file of that name in $PATH (an empty entry is the
 * current directory; no PATH is "/bin:/usr/bin"). Stores it in buf. Returns 0,
 * or the errno execvp would fail with (ENOENT, EACCES, ENAMETOOLONG). */
static int resolve_program(const char *name, char *buf, size_t n)
{
    if (strchr(name, '/')) {
        if (strlen(name) >= n)
            return ENAMETOOLONG;
        strcpy(buf, name);
        if (access(buf, F_OK) < 0)
            return errno;
        return is_file(buf) && access(buf, X_OK) == 0 ? 0 : EACCES;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    int err = ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        int len = (int)(end - p);
        if (snprintf(buf, n, "%.*s%s%s", len, p, len ? "/" : "", name) < (int)n) {
            if (is_file(buf) && access(buf, X_OK) == 0)
                return 0;
            if (access(buf, F_OK) == 0)
                err = EACCES;
        }
        if (!*end)
            break;
        p = end;
    }
    return err;
}

/* Reads the program interpreter (PT_INTERP, the dynamic loader) of the
 * 64-bit ELF file at path into buf ("" for a statically linked program).
 * Returns 0; or -1 after printing why PROGRAM cannot be preloaded this way
 * (a script, not a 64-bit ELF file, unreadable). */
static int elf_interpreter(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mst_errorf("run: %s: %s", path, strerror(errno));
        return -1;
    }
    Elf64_Ehdr eh;
    ssize_t got = pread(fd, &eh, sizeof eh, 0);
    int rc = -1;
    if (got >= 2 && !memcmp(&eh, "#!", 2)) {
        mst_errorf("run: --no-children: %s is a script: only its interpreter would be traced "
                   "(run the program it starts, or its interpreter, under memscope instead)", path);
    } else if (got != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG)
               || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
        mst_errorf("run: --no-children: %s is not a 64-bit ELF program", path);
    } else {
        rc = 0;
        for (unsigned k = 0; k < eh.e_phnum; k++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + k * sizeof ph)) != (ssize_t)sizeof ph) {
                mst_errorf("run: %s: program headers cut short", path);
                rc = -1;
                break;
            }
            if (ph.p_type != PT_INTERP)
                continue;
            if (ph.p_filesz == 0 || ph.p_filesz > n
                || pread(fd, buf, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz
                || buf[ph.p_filesz - 1] != '\0') {
                mst_errorf("run: %s: unreadable program interpreter", path);
                buf[0] = '\0';
                rc = -1;
            }
            break;
        }
    }
    close(fd);
    return rc;
}

/* Builds the argument vector that starts PROGRAM (resolved to path) with lib
 * preloaded by its dynamic loader interp and argv[0] unchanged:
 * interp --preload lib --argv0 argv[0] path argv[1]... A static program
 * (interp "") is started as it is. Returns a malloc'd vector or NULL. */
static char **loader_argv(const char *interp, const char *lib, const char *path, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    char **v = calloc((size_t)argc + 7, sizeof *v);
    if (!v)
        return NULL;
    int k = 0;
    if (interp[0]) {
        v[k++] = (char *)interp;
        v[k++] = "--preload";
        v[k++] = (char *)lib;
        v[k++] = "--argv0";
        v[k++] = argv[0];
    }
    v[k++] = (char *)path;
    for (int i = 1; i < argc; i++)
        v[k++] = argv[i];
    return v;
}

/* Starts argv[0] (found in PATH) with the environment set up, or, if
 * exec_argv is not NULL, execs exec_argv[0] with exec_argv (the dynamic
 * loader, loader_argv), and waits for it. Stores its pid in *pid_out. Returns
 * its status as run's exit code (see usage_run); *exec_failed tells whether
 * the program could not be started at all. */
static int spawn_and_wait(char **argv, char **exec_argv, pid_t *pid_out, bool *exec_failed)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        mst_errorf("pipe: %s", strerror(errno));
        return EXIT_RUN_SETUP;
    }
    struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward_signal }, old_int, old_quit,
                     old_term, old_hup;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&fwd.sa_mask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        mst_errorf("fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return EXIT_RUN_SETUP;
    }
    if (pid == 0) {
        close(pfd[0]);
        if (exec_argv)
            execv(exec_argv[0], exec_argv);
        else
            execvp(argv[0], argv);
        int e = errno;
        (void)!write(pfd[1], &e, sizeof e);
        _exit(e == ENOENT ? EXIT_RUN_NOTFOUND : EXIT_RUN_NOEXEC);
    }
    child_pid = pid;
    *pid_out = pid;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    close(pfd[1]);
    int e = 0;
    ssize_t got;
    do
        got = read(pfd[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    child_pid = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    *exec_failed = got == (ssize_t)sizeof e;
    if (*exec_failed) {
        mst_errorf("cannot run %s: %s", argv[0], strerror(e));
        return e == ENOENT ? EXIT_RUN_NOTFOUND : EXIT_RUN_NOEXEC;
    }
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* -- the index of the processes traced ------------------------------------ */

/* One trace of the run, as the index lists it. */
typedef struct traced {
    const char *name;      /* trace file name (in the output directory) */
    bool read;             /* the trace could be read */
    uint64_t pid;
    uint64_t events;
    uint64_t peak;         /* peak live bytes */
    bool complete;
    uint64_t problems;
    bool reported;         /* every report was written */
    bool own;              /* PROGRAM's own process (pid), marked '*' */
} traced;

/* Orders the index: most events first, then by name. */
static int traced_cmp(const void *a, const void *b)
{
    const traced *x = a, *y = b;
    if (x->events != y->events)
        return x->events > y->events ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Formats a byte count as "12.3 MiB" into buf. */
static const char *human_bytes(uint64_t v, char *buf, size_t n)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double d = (double)v;
    unsigned u = 0;
    while (d >= 1024 && u < 4) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)v);
    else
        snprintf(buf, n, "%.1f %s", d, unit[u]);
    return buf;
}

/* The program's name in a trace file name "<name>.<pid>[.<n>].msgpack"
 * (MEMSCOPE_NAME or the program's short name): its length in name. */
static size_t program_name_len(const char *name, uint64_t pid)
{
    char tag[32];
    int tl = snprintf(tag, sizeof tag, ".%llu", (unsigned long long)pid);
    size_t best = strlen(name);
    if (best > 8 && !strcmp(name + best - 8, ".msgpack"))
        best -= 8;
    for (const char *p = strstr(name, tag); p; p = strstr(p + 1, tag))
        if (p[tl] == '.')
            best = (size_t)(p - name);
    return best;
}

/* Largest number of processes the index lists; the rest are counted. */
enum { INDEX_MAX = 20 };

/* Prints one line of the index (see print_index); ext is the report's. */
static void print_index_row(const traced *e, const char *ext)
{
    size_t nl = strlen(e->name);
    size_t stem = nl > 8 && !strcmp(e->name + nl - 8, ".msgpack") ? nl - 8 : nl;
    char peak[32], status[40];
    if (!e->read) {
        fprintf(stderr, "  %8s  %-16.*s %12s %11s  %-12s -\n", "?", (int)stem, e->name, "-", "-", "unreadable");
        return;
    }
    if (e->problems)
        snprintf(status, sizeof status, "damaged(%llu)", (unsigned long long)e->problems);
    else
        snprintf(status, sizeof status, "%s", e->complete ? "ok" : "incomplete");
    if (!e->reported)
        strcat(status, ",no-report");
    size_t pl = program_name_len(e->name, e->pid);
    fprintf(stderr, "%c %8llu  %-16.*s %12llu %11s  %-12s %.*s%s\n", e->own ? '*' : ' ',
            (unsigned long long)e->pid, (int)pl, e->name, (unsigned long long)e->events,
            human_bytes(e->peak, peak, sizeof peak), status, (int)stem, e->name, e->reported ? ext : "");
}

/* Prints the index of the traces of the run on stderr, most events first:
 * pid, program, events, peak, status, report (the first format written).
 * INDEX_MAX lines, then the traces of PROGRAM's own process that were not
 * among them (they are what the user ran), then "and N more". */
static void print_index(traced *t, long n, const char *absdir, int formats)
{
    if (n <= 0)
        return;
    qsort(t, (size_t)n, sizeof *t, traced_cmp);
    const char *ext = formats & F_JSON ? ".json" : formats & F_HTML ? ".html" : ".msbin";
    fprintf(stderr, "memscope: %ld trace%s, most events first (* PROGRAM's own process; reports in %s):\n",
            n, n == 1 ? "" : "s", absdir);
    fprintf(stderr, "  %8s  %-16s %12s %11s  %-12s %s\n", "pid", "program", "events", "peak", "status", "report");
    long more = 0;
    for (long k = 0; k < n; k++) {
        if (k < INDEX_MAX || t[k].own)
            print_index_row(&t[k], ext);
        else
            more++;
    }
    if (more)
        fprintf(stderr, "  and %ld more\n", more);
}

/* --pack: packs the trace at path (whose analysis counted `events`), then
 * verifies the packed file (msx_pack_verify: the whole analysis reads it, no
 * chunk damaged, the same events) and only then removes the trace. A packed
 * file that fails the check is removed (it is ours) and the trace kept.
 * MEMSCOPE_TEST_PACK_DAMAGE=1 (for the tests only) flips a byte in the middle
 * of the packed file before the check. */
static void pack_after(const char *path, uint64_t events, bool quiet)
{
    char *out = mst_pack_default_name(path);
    if (!out) {
        mst_errorf("run --pack: out of memory: %s kept", path);
        return;
    }
    msx_pack_stats st;
    int rc = mst_pack(path, out, 0, true, &st);
    if (rc < 0) {
        mst_errorf("run --pack: %s not packed: the trace is kept", path);
    } else if (rc > 0) {
        mst_errorf("run --pack: %s has problems: the trace is kept beside %s", path, out);
    } else {
        const char *hook = getenv("MEMSCOPE_TEST_PACK_DAMAGE");
        if (hook && !strcmp(hook, "1")) {
            int fd = open(out, O_RDWR | O_CLOEXEC);
            uint8_t b;
            off_t at = (off_t)(st.packed_bytes / 2);
            if (fd >= 0 && pread(fd, &b, 1, at) == 1) {
                b ^= 0x10;
                if (pwrite(fd, &b, 1, at) != 1)
                    mst_errorf("run --pack: the test hook could not damage %s", out);
            }
            if (fd >= 0)
                close(fd);
        }
        char err[1024];
        if (st.events != events) {
            mst_errorf("run --pack: %s holds %llu events, the trace's report %llu: the trace is kept", out,
                       (unsigned long long)st.events, (unsigned long long)events);
        } else if (msx_pack_verify(out, events, err, sizeof err) < 0) {
            mst_errorf("run --pack: %s failed its check (%s): it is removed and the trace kept", out, err);
            unlink(out);
        } else if (unlink(path) < 0) {
            mst_errorf("run --pack: cannot remove %s: %s", path, strerror(errno));
        } else if (!quiet) {
            fprintf(stderr, "memscope: packed %s (%.2f bytes/event) and checked it: removed %s\n", out,
                    st.events ? (double)st.packed_bytes / (double)st.events : 0.0, path);
        }
    }
    free(out);
}

/* memscope run (see usage_run); argv[0] is "run". Returns the exit status. */
int mst_cmd_run(int argc, char **argv)
{
    enum { OPT_FORMATS = 256, OPT_VERSION, OPT_NO_CHILDREN, OPT_PACK };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "formats", required_argument, NULL, OPT_FORMATS },
        { "no-children", no_argument, NULL, OPT_NO_CHILDREN },
        { "pack", no_argument, NULL, OPT_PACK },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = getenv("MEMSCOPE_OUTPUT");
    int formats = F_JSON | F_HTML;
    bool quiet = false, no_children = false, pack = false;
    int c;
    opterr = 0;
    optind = 1;
    /* "+": options end at PROGRAM, whose own options are its own */
    while ((c = getopt_long(argc, argv, "+:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 'q': quiet = true; break;
        case OPT_NO_CHILDREN: no_children = true; break;
        case OPT_PACK: pack = true; break;
        case OPT_FORMATS:
            if ((formats = mst_parse_formats(optarg)) < 0)
                return EXIT_USAGE;
            break;
        case 'h':
            fputs(usage_run, stdout);
            return EXIT_OK;
        case OPT_VERSION:
            return mst_print_version();
        default:
            return mst_option_error("run", c, argv, usage_run);
        }
    }
    int i = optind;
    if (i >= argc) {
        mst_errorf("run: no PROGRAM given");
        fputs(usage_run, stderr);
        return EXIT_USAGE;
    }
    /* An empty MEMSCOPE_OUTPUT (or -o "") is unset, as the library reads it. */
    if (!dir || !*dir)
        dir = "MemoryAnalysis";

    char lib[PATH_MAX], absdir[PATH_MAX];
    if (find_library(lib, sizeof lib) < 0)
        return EXIT_RUN_SETUP;
    if (strpbrk(lib, " :")) {
        mst_errorf("%s: LD_PRELOAD cannot hold a path with a space or a colon", lib);
        return EXIT_RUN_SETUP;
    }
    /* --no-children: PROGRAM is found here, as execvp would find it, and
     * started by its own dynamic loader with --preload, so that LD_PRELOAD
     * (which every process it starts would inherit) stays as it was. */
    static char prog_path[PATH_MAX], interp[PATH_MAX];
    char **exec_argv = NULL;
    if (no_children) {
        int e = resolve_program(argv[i], prog_path, sizeof prog_path);
        if (e) {
            mst_errorf("cannot run %s: %s", argv[i], strerror(e));
            return e == ENOENT ? EXIT_RUN_NOTFOUND : EXIT_RUN_NOEXEC;
        }
        if (elf_interpreter(prog_path, interp, sizeof interp) < 0)
            return EXIT_RUN_NOEXEC;
        if (!(exec_argv = loader_argv(interp, lib, prog_path, argv + i))) {
            mst_errorf("out of memory");
            return EXIT_RUN_SETUP;
        }
    }
    int rc = mst_mkdirs(dir);
    if (rc < 0 || !realpath(dir, absdir)) {
        mst_errorf("cannot create %s: %s", dir, strerror(rc < 0 ? -rc : errno));
        free(exec_argv);
        return EXIT_RUN_SETUP;
    }
    seen *before = NULL;
    long nbefore = list_traces(absdir, &before);
    if (nbefore < 0) {
        mst_errorf("cannot list %s: %s", absdir, strerror(errno));
        free(exec_argv);
        return EXIT_RUN_SETUP;
    }

    const char *old = getenv("LD_PRELOAD");
    size_t plen = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
    char *preload = malloc(plen);
    if (!preload) {
        free_seen(before, nbefore);
        free(exec_argv);
        mst_errorf("out of memory");
        return EXIT_RUN_SETUP;
    }
    snprintf(preload, plen, "%s%s%s", lib, old && *old ? " " : "", old ? old : "");
    if ((!no_children && set_env("LD_PRELOAD", preload) < 0) || set_env("MEMSCOPE_OUTPUT", absdir) < 0) {
        free(preload);
        free(exec_argv);
        free_seen(before, nbefore);
        return EXIT_RUN_SETUP;
    }
    free(preload);

    bool exec_failed = false;
    pid_t pid = 0;
    int status = spawn_and_wait(argv + i, exec_argv, &pid, &exec_failed);
    free(exec_argv);
    if (exec_failed) {
        free_seen(before, nbefore);
        return status;
    }

    seen *after = NULL;
    long nafter = list_traces(absdir, &after);
    if (nafter < 0) {
        mst_errorf("cannot list %s: %s", absdir, strerror(errno));
        free_seen(before, nbefore);
        return status;
    }
    if (nafter > 0)
        qsort(after, (size_t)nafter, sizeof *after, seen_cmp);
    if (!outputs_safe(absdir, after, nafter, before, nbefore, formats)) {
        free_seen(before, nbefore);
        free_seen(after, nafter);
        return status;
    }
    /* Problems are printed for the traces of PROGRAM's own process (its
     * image and the images it executed); those of other processes show as
     * their status in the index. */
    traced *idx = calloc((size_t)nafter + 1, sizeof *idx);
    long made = 0, nidx = 0, skipped = 0;
    for (long k = 0; k < nafter; k++) {
        if (unchanged(&after[k], before, nbefore))
            continue;
        made++;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", absdir, after[k].name) >= (int)sizeof path) {
            mst_errorf("%s/%s: path too long", absdir, after[k].name);
            continue;
        }
        bool damaged = false;
        msx_report *r = mst_load_unlisted(path, &damaged);
        if (r && no_children && r->pid != (uint64_t)pid) {
            skipped++;
            msx_report_free(r);
            continue;
        }
        traced *e = idx ? &idx[nidx++] : NULL;
        if (e)
            *e = (traced){ .name = after[k].name };
        if (!r)
            continue;
        if (r->pid == (uint64_t)pid)
            mst_print_problems(r, path);
        if (e) {
            *e = (traced){ .name = after[k].name, .read = true, .pid = r->pid, .events = r->events,
                           .peak = r->peak_live_bytes, .complete = r->complete,
                           .problems = r->problems_total, .own = r->pid == (uint64_t)pid };
        }
        int w = mst_write_defaults(r, path, absdir, formats, true);
        if (e)
            e->reported = w == 0;
        uint64_t events = r->events;
        msx_report_free(r);
        if (pack)
            pack_after(path, events, quiet);
    }
    if (!made)
        mst_errorf("the run wrote no trace in %s (was the program linked statically, or MEMSCOPE_MODE=off?)", absdir);
    if (!quiet && idx)
        print_index(idx, nidx, absdir, formats);
    if (skipped)
        mst_errorf("%ld trace%s of forked copies of %s not reported (--no-children)", skipped,
                   skipped == 1 ? "" : "s", argv[i]);
    free(idx);
    free_seen(before, nbefore);
    free_seen(after, nafter);
    return status;
}
