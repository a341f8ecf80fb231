/* The symbolizer (export/symbolize.h) on this very test program: its real
 * module map (dl_iterate_phdr, with the build-id notes read from memory),
 * packed as a MODULES record with msgpack-c, and real return addresses taken
 * in functions whose names and lines are known here (a static inline forced
 * into its caller, and two C++ overloads in sym_cxx.cpp). Then copies of the
 * program under a sysroot: stripped, with its debug information in a debug
 * directory, with a wrong build-id, missing; and hostile module records. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <gelf.h>
#include <msgpack.h>

#include "fixture.h"
#include "format.h"
#include "mpk.h"
#include "symbolize.h"
#include "sym_map.h"

/* -- the functions whose pcs are resolved ----------------------------------- */

uintptr_t sym_probe(void);
uintptr_t sym_outer(int *inner_line, int *outer_line);
uintptr_t sym_cxx_where_int(int *line);
uintptr_t sym_cxx_where_long(int *line);

volatile uintptr_t sym_sink;

/* The return address of its call: a pc inside the caller, at the call. */
__attribute__((noinline)) uintptr_t sym_probe(void)
{
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    sym_sink = pc;
    return pc;
}

static inline __attribute__((always_inline)) uintptr_t sym_inner(int *line)
{
    uintptr_t pc = sym_probe(); *line = __LINE__;
    return pc;
}

/* sym_inner's call of sym_probe is inlined here. */
__attribute__((noinline)) uintptr_t sym_outer(int *inner_line, int *outer_line)
{
    uintptr_t pc = sym_inner(inner_line); *outer_line = __LINE__;
    sym_sink = pc;
    return pc;
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

static void run(const char *fmt, ...)
{
    char cmd[3 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

/* A sysroot under the group's directory holding a copy of this program made
 * by `objcopy ARGS` at its own path; returns the sysroot (caller frees). */
static char *sysroot_copy(const char *name, const char *args)
{
    char *root = msf_path(msf_dir, name);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s%s", root, sym_exe);
    *strrchr(dir, '/') = '\0';
    run("mkdir -p '%s' && objcopy %s '%s' '%s%s'", dir, args, sym_exe, root, sym_exe);
    return root;
}

static size_t nproblems(const msx_sym *S)
{
    size_t n;
    msx_sym_problems(S, &n);
    return n;
}

/* -- tests ------------------------------------------------------------------ */

static void test_inlined_chain(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    int inner_line = 0, outer_line = 0;
    uintptr_t pc = sym_outer(&inner_line, &outer_line);
    msx_sym *S = msx_sym_new(NULL);
    assert_int_equal(give(S, &mp), 1);
    msx_frame f[8];
    size_t n = msx_sym_resolve(S, 0, pc, f, 8);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].function, "sym_inner");
    assert_true(f[0].inlined);
    assert_string_equal(base_name(f[0].file), "test_symbolize.c");
    assert_int_equal(f[0].line, inner_line);
    assert_string_equal(f[1].function, "sym_outer");
    assert_false(f[1].inlined);
    assert_string_equal(base_name(f[1].file), "test_symbolize.c");
    assert_int_equal(f[1].line, outer_line);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f[i].pc, pc);
        assert_string_equal(f[i].module, sym_exe);
        assert_int_equal(f[i].offset, pc - 1 - self->base);
    }
    /* max 1: the innermost frame only */
    assert_int_equal(msx_sym_resolve(S, 0, pc, f, 1), 1);
    assert_string_equal(f[0].function, "sym_inner");
    assert_int_equal(nproblems(S), 0);
    msx_sym_free(S);
}

static void test_cxx_demangled(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    int li = 0, ll = 0;
    uintptr_t pi = sym_cxx_where_int(&li), pl = sym_cxx_where_long(&ll);
    msx_sym *S = msx_sym_new(NULL);
    give(S, &mp);
    msx_frame f[8];
    assert_int_equal(msx_sym_resolve(S, 0, pi, f, 8), 1);
    assert_string_equal(f[0].function, "symtest::where(int*)");
    assert_string_equal(base_name(f[0].file), "sym_cxx.cpp");
    assert_int_equal(f[0].line, li);
    assert_false(f[0].inlined);
    assert_int_equal(msx_sym_resolve(S, 0, pl, f, 8), 1);
    assert_string_equal(f[0].function, "symtest::where(long*)");
    assert_int_equal(f[0].line, ll);
    msx_sym_free(S);
}

/* A pc in libc resolves through the same map (another module, another file). */
static void test_shared_library(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    msx_sym *S = msx_sym_new(NULL);
    give(S, &mp);
    uintptr_t pc = (uintptr_t)&getpid + 1;
    msx_frame f[8];
    size_t n = msx_sym_resolve(S, 0, pc, f, 8);
    assert_true(n >= 1);
    assert_non_null(f[n - 1].module);
    assert_non_null(strstr(base_name(f[n - 1].module), "libc"));
    assert_non_null(f[n - 1].function);
    assert_non_null(strstr(f[n - 1].function, "getpid"));
    msx_sym_free(S);
}

static void test_cache_and_generations(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    int a = 0, b = 0;
    uintptr_t pc = sym_outer(&a, &b);
    msx_sym *S = msx_sym_new(NULL);
    assert_int_equal(give(S, &mp), 1);
    assert_int_equal(give(S, &mp), 2);
    map empty = { .n = 0 };
    assert_int_equal(give(S, &empty), 3);
    msx_sym_stats st;
    msx_sym_stats_get(S, &st);
    assert_int_equal(st.generations, 3);
    assert_int_equal(st.modules, mp.n);     /* the same modules twice: each once */
    msx_frame f[8], g[8];
    /* the newest generation has no module: no module holds pc */
    assert_int_equal(msx_sym_resolve(S, 0, pc, f, 8), 1);
    assert_null(f[0].module);
    assert_null(f[0].function);
    assert_int_equal(f[0].pc, pc);
    assert_int_equal(msx_sym_resolve(S, 4, pc, f, 8), 1);
    assert_null(f[0].module);
    /* generations 1 and 2 share the module, its file and the cache */
    size_t n1 = msx_sym_resolve(S, 1, pc, f, 8);
    size_t n2 = msx_sym_resolve(S, 2, pc, g, 8);
    assert_int_equal(n1, 2);
    assert_int_equal(n2, n1);
    assert_memory_equal(f, g, n1 * sizeof f[0]);
    assert_string_equal(f[1].function, "sym_outer");
    msx_sym_stats_get(S, &st);
    assert_int_equal(st.files_tried, 1);
    assert_int_equal(st.files_used, 1);
    assert_int_equal(st.lookups, 1);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.cache_entries, 1);
    /* pc 0 and a pc far from every module */
    assert_int_equal(msx_sym_resolve(S, 1, 0, f, 8), 1);
    assert_null(f[0].module);
    assert_int_equal(msx_sym_resolve(S, 1, 8, f, 8), 1);
    assert_null(f[0].module);
    assert_int_equal(msx_sym_resolve(S, 1, pc, f, 0), 0);
    msx_sym_free(S);
}

/* _init has no size in the symbol table: it names the rest of .init, not
 * the code section after it (the PLT). */
static void test_sizeless_symbol(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    elf_version(EV_CURRENT);
    int fd = open(sym_exe, O_RDONLY);
    assert_true(fd >= 0);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    assert_non_null(e);
    size_t shstr;
    assert_int_equal(elf_getshdrstrndx(e, &shstr), 0);
    uint64_t init_lo = 0, init_end = 0, next = UINT64_MAX;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if (strcmp(elf_strptr(e, shstr, sh.sh_name), ".init") == 0)
            init_lo = sh.sh_addr, init_end = sh.sh_addr + sh.sh_size;
    }
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_addr >= init_end && sh.sh_addr < next && sh.sh_size > 8)
            next = sh.sh_addr;
    }
    elf_end(e);
    close(fd);
    assert_true(init_end > 0 && next != UINT64_MAX);
    msx_sym *S = msx_sym_new(NULL);
    give(S, &mp);
    msx_frame f[4];
    /* inside .init: _init */
    assert_int_equal(msx_sym_resolve(S, 0, self->base + init_lo + 2, f, 4), 1);
    assert_string_equal(f[0].function, "_init");
    /* in the next code section, where no symbol starts before: nothing */
    assert_int_equal(msx_sym_resolve(S, 0, self->base + next + 5, f, 4), 1);
    assert_int_equal(f[0].offset, next + 4);
    assert_null(f[0].function);
    msx_sym_free(S);
}

/* objcopy --strip-all: module + offset, no function (this program exports
 * none in .dynsym), no problem; --strip-debug: the function from .symtab. */
static void test_stripped(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    int a = 0, b = 0;
    uintptr_t pc = sym_outer(&a, &b);
    char *root = sysroot_copy("strip-all", "--strip-all");
    msx_sym *S = msx_sym_new(&(msx_sym_opts){ .sysroot = root });
    give(S, &mp);
    msx_frame f[8];
    assert_int_equal(msx_sym_resolve(S, 0, pc, f, 8), 1);
    assert_string_equal(f[0].module, sym_exe);
    assert_int_equal(f[0].offset, pc - 1 - self->base);
    assert_null(f[0].function);
    assert_null(f[0].file);
    assert_int_equal(f[0].line, 0);
    assert_int_equal(nproblems(S), 0);
    msx_sym_stats st;
    msx_sym_stats_get(S, &st);
    assert_int_equal(st.files_used, 1);
    msx_sym_free(S);
    free(root);

    root = sysroot_copy("strip-debug", "--strip-debug");
    S = msx_sym_new(&(msx_sym_opts){ .sysroot = root });
    give(S, &mp);
    assert_int_equal(msx_sym_resolve(S, 0, pc, f, 8), 1);
    assert_string_equal(f[0].function, "sym_outer");
    assert_null(f[0].file);
    assert_int_equal(f[0].offset, pc - 1 - self->base);
    msx_sym_free(S);
    free(root);
}

/* A stripped copy whose debug information is in --debug-dir: by build-id
 * (DIR/.build-id/xx/rest.debug), then by path (DIR/PATH.debug). */
static void test_debug_dir(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    assert_true(self->bidlen >= 2);
    int inner = 0, outer = 0;
    uintptr_t pc = sym_outer(&inner, &outer);
    char *root = sysroot_copy("dbg-root", "--strip-all");
    char hex[130];
    for (int i = 0; i < self->bidlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", self->bid[i]);
    for (int by_path = 0; by_path < 2; by_path++) {
        char *dir = msf_path(msf_dir, by_path ? "dbg-path" : "dbg-id");
        char dst[3 * PATH_MAX];
        if (by_path)
            snprintf(dst, sizeof dst, "%s%s.debug", dir, sym_exe);
        else
            snprintf(dst, sizeof dst, "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
        run("mkdir -p \"$(dirname '%s')\" && objcopy --only-keep-debug '%s' '%s'", dst, sym_exe, dst);
        msx_sym *S = msx_sym_new(&(msx_sym_opts){ .sysroot = root, .debug_dir = dir });
        give(S, &mp);
        msx_frame f[8];
        assert_int_equal(msx_sym_resolve(S, 0, pc, f, 8), 2);
        assert_string_equal(f[0].function, "sym_inner");
        assert_true(f[0].inlined);
        assert_int_equal(f[0].line, inner);
        assert_string_equal(f[1].function, "sym_outer");
        assert_int_equal(f[1].line, outer);
        assert_string_equal(base_name(f[1].file), "test_symbolize.c");
        assert_int_equal(nproblems(S), 0);
        msx_sym_free(S);
        free(dir);
    }
    free(root);
}

/* A debug file of another build in --debug-dir is not taken. */
static void test_debug_dir_wrong_build(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    int a = 0, b = 0;
    uintptr_t pc = sym_outer(&a, &b);
    char *root = sysroot_copy("dbg-root2", "--strip-all");
    char *dir = msf_path(msf_dir, "dbg-other");
    char dst[3 * PATH_MAX];
    snprintf(dst, sizeof dst, "%s%s.debug", dir, sym_exe);
    /* the same DWARF, another build-id */
    run("mkdir -p \"$(dirname '%s')\" && objcopy --only-keep-debug --remove-section=.note.gnu.build-id '%s' '%s'",
        dst, sym_exe, dst);
    msx_sym *S = msx_sym_new(&(msx_sym_opts){ .sysroot = root, .debug_dir = dir });
    give(S, &mp);
    msx_frame f[8];
    assert_int_equal(msx_sym_resolve(S, 0, pc, f, 8), 1);
    assert_null(f[0].function);
    assert_null(f[0].file);
    msx_sym_free(S);
    free(dir);
    free(root);
}

static void test_build_id_mismatch(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    assert_true(self->bidlen > 0);
    char file_hex[130], trace_hex[130];
    for (int i = 0; i < self->bidlen; i++)
        snprintf(file_hex + 2 * i, 3, "%02x", self->bid[i]);
    self->bid[0] ^= 0x5a;
    for (int i = 0; i < self->bidlen; i++)
        snprintf(trace_hex + 2 * i, 3, "%02x", self->bid[i]);
    int a = 0, b = 0;
    uintptr_t pc = sym_outer(&a, &b);
    msx_sym *S = msx_sym_new(NULL);
    give(S, &mp);
    msx_frame f[8];
    for (int k = 0; k < 3; k++) {
        assert_int_equal(msx_sym_resolve(S, 0, pc + (uintptr_t)k, f, 8), 1);
        assert_string_equal(f[0].module, sym_exe);
        assert_int_equal(f[0].offset, pc + (uintptr_t)k - 1 - self->base);
        assert_null(f[0].function);
        assert_null(f[0].file);
    }
    size_t n;
    const char *const *p = msx_sym_problems(S, &n);
    assert_int_equal(n, 1);
    char want[PATH_MAX + 300];
    snprintf(want, sizeof want, "%s: build-id mismatch (trace %s, file %s)", sym_exe, trace_hex, file_hex);
    assert_string_equal(p[0], want);
    msx_sym_free(S);
}

static void test_missing(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    int a = 0, b = 0;
    uintptr_t pc = sym_outer(&a, &b);
    char *root = msf_path(msf_dir, "empty-root");
    mkdir(root, 0700);
    msx_sym *S = msx_sym_new(&(msx_sym_opts){ .sysroot = root });
    give(S, &mp);
    msx_frame f[8];
    assert_int_equal(msx_sym_resolve(S, 0, pc, f, 8), 1);
    assert_string_equal(f[0].module, sym_exe);
    assert_null(f[0].function);
    assert_int_equal(msx_sym_resolve(S, 0, pc + 1, f, 8), 1);
    size_t n;
    const char *const *p = msx_sym_problems(S, &n);
    assert_int_equal(n, 1);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s: not found", sym_exe);
    assert_string_equal(p[0], want);
    msx_sym_free(S);
    free(root);
}

/* -- hostile records ---------------------------------------------------------- */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_symbolize: blocked\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

/* One module at base `base`, one segment [vaddr, memsz]. */
static void add(map *mp, const char *path, uint64_t base, uint64_t vaddr, uint64_t memsz)
{
    mod *m = &mp->m[mp->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    m->base = base;
    m->seg[0][0] = vaddr;
    m->seg[0][1] = memsz;
    m->seg[0][2] = MSF_SEG_X | MSF_SEG_R;
    m->nseg = 1;
}

static void test_hostile_files(void **state)
{
    (void)state;
    map mp;
    mod *self;
    real_map(&mp, &self);
    signal(SIGALRM, on_alarm);
    alarm(60);
    char *fifo = msf_path(msf_dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *text = msf_path(msf_dir, "text.so");
    assert_int_equal(msf_write_bytes(text, "<b>not ELF</b>\n", 15), 0);
    size_t len = 0;
    char *img = msf_read_file(sym_exe, &len);
    assert_non_null(img);
    const size_t cuts[] = { 0, 4, 63, 64, 200, 4096, len / 3, len / 2, len - 1 };
    enum { NCUT = sizeof cuts / sizeof cuts[0] };
    map h = { .n = 0 };
    add(&h, "/nonexistent/<script>alert(1)</script>\"&'.so", 0x10000, 0, 0x1000);
    add(&h, "/", 0x20000, 0, 0x1000);
    add(&h, fifo, 0x30000, 0, 0x1000);
    add(&h, text, 0x40000, 0, 0x1000);
    add(&h, "/dev/zero", 0x50000, 0, 0x1000);
    add(&h, "linux-vdso.so.1", 0x60000, 0, 0x1000);
    add(&h, "", 0x70000, 0, 0x1000);
    for (size_t i = 0; i < NCUT; i++) {
        char name[32];
        snprintf(name, sizeof name, "cut%zu", i);
        char *p = msf_path(msf_dir, name);
        assert_int_equal(msf_write_bytes(p, img, cuts[i]), 0);
        /* the real segments of the program, as if the cut file were it */
        mod *m = &h.m[h.n++];
        *m = *self;
        snprintf(m->path, sizeof m->path, "%s", p);
        m->base = 0x1000000000ull * (i + 1);
        m->bidlen = 0;
        free(p);
    }
    msx_sym *S = msx_sym_new(NULL);
    give(S, &h);
    msx_frame f[8];
    for (int i = 0; i < 7; i++) {
        uint64_t pc = 0x10000 * (uint64_t)(i + 1) + 0x10;
        assert_int_equal(msx_sym_resolve(S, 0, pc, f, 8), 1);
        assert_string_equal(f[0].module, h.m[i].path);
        assert_int_equal(f[0].offset, 0xf);
        assert_null(f[0].function);
    }
    int a = 0, b = 0;
    uintptr_t pc = sym_outer(&a, &b);
    for (size_t i = 0; i < NCUT; i++) {
        uint64_t p = pc - self->base + 0x1000000000ull * (i + 1);
        size_t n = msx_sym_resolve(S, 0, p, f, 8);
        assert_true(n >= 1);
        assert_string_equal(f[0].module, h.m[7 + i].path);
        assert_int_equal(f[0].offset, pc - 1 - self->base);
    }
    size_t n;
    const char *const *p = msx_sym_problems(S, &n);
    assert_true(n >= 7);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: not found", h.m[0].path);
    assert_string_equal(p[0], want);
    snprintf(want, sizeof want, "/: not a regular file");
    assert_string_equal(p[1], want);
    snprintf(want, sizeof want, "%s: not a regular file", fifo);
    assert_string_equal(p[2], want);
    assert_non_null(strstr(p[3], ": not an ELF file"));
    snprintf(want, sizeof want, "/dev/zero: not a regular file");
    assert_string_equal(p[4], want);
    assert_string_equal(p[5], "linux-vdso.so.1: not found (not an absolute path)");
    assert_string_equal(p[6], ": not found (not an absolute path)");
    alarm(0);
    msx_sym_free(S);
    free(img);
    free(text);
    free(fifo);
}

/* Packs raw MODULES records with msgpack-c, as a hostile writer could. */
static uint32_t give_raw(msx_sym *S, void (*fill)(msgpack_packer *))
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    fill(&pk);
    msx_arena arena = { 0 };
    msx_obj o;
    assert_true(msx_mpk_decode(&arena, (const uint8_t *)sb.data, sb.size, &o) > 0);
    uint32_t g = msx_sym_modules(S, &o);
    msx_arena_free(&arena);
    msgpack_sbuffer_destroy(&sb);
    return g;
}

static void entry(msgpack_packer *pk, const char *path, uint64_t base, int nseg, const uint64_t (*seg)[2])
{
    msgpack_pack_map(pk, 3);
    pack_str(pk, MSF_KEY_PATH);
    pack_str(pk, path);
    pack_str(pk, MSF_KEY_BASE);
    msgpack_pack_uint64(pk, base);
    pack_str(pk, MSF_KEY_SEGMENTS);
    msgpack_pack_array(pk, (uint32_t)nseg);
    for (int k = 0; k < nseg; k++) {
        msgpack_pack_array(pk, 3);
        msgpack_pack_uint64(pk, seg[k][0]);
        msgpack_pack_uint64(pk, seg[k][1]);
        msgpack_pack_uint64(pk, 5);
    }
}

static void fill_hostile(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 12);
    msgpack_pack_uint64(pk, 7);                       /* 0: not a map */
    msgpack_pack_map(pk, 0);                          /* 1: no path */
    msgpack_pack_map(pk, 2);                          /* 2: path not a string */
    pack_str(pk, MSF_KEY_PATH);
    msgpack_pack_uint64(pk, 1);
    pack_str(pk, MSF_KEY_BASE);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_map(pk, 3);                          /* 3: segments a map */
    pack_str(pk, MSF_KEY_PATH);
    pack_str(pk, "/x");
    pack_str(pk, MSF_KEY_BASE);
    msgpack_pack_uint64(pk, 0);
    pack_str(pk, MSF_KEY_SEGMENTS);
    msgpack_pack_map(pk, 0);
    msgpack_pack_map(pk, 3);                          /* 4: a segment of strings */
    pack_str(pk, MSF_KEY_PATH);
    pack_str(pk, "/x");
    pack_str(pk, MSF_KEY_BASE);
    msgpack_pack_uint64(pk, 0);
    pack_str(pk, MSF_KEY_SEGMENTS);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    pack_str(pk, "a");
    pack_str(pk, "b");
    msgpack_pack_map(pk, 4);                          /* 5: a build-id of 65 bytes */
    pack_str(pk, MSF_KEY_PATH);
    pack_str(pk, "/x");
    pack_str(pk, MSF_KEY_BASE);
    msgpack_pack_uint64(pk, 0);
    pack_str(pk, MSF_KEY_SEGMENTS);
    msgpack_pack_array(pk, 0);
    pack_str(pk, MSF_KEY_BUILD_ID);
    static const uint8_t big[65];
    msgpack_pack_bin(pk, sizeof big);
    msgpack_pack_bin_body(pk, big, sizeof big);
    msgpack_pack_map(pk, 1);                          /* 6: a path with a NUL */
    pack_str(pk, MSF_KEY_PATH);
    msgpack_pack_str(pk, 4);
    msgpack_pack_str_body(pk, "/a\0b", 4);
    /* 7: a base that overflows with its segment; 8: a segment to the end of
     * the address space; 9: a module wrapping around zero; 10: empty
     * segments; 11: a vaddr of 2^64 - 1 */
    entry(pk, "/ov1", UINT64_MAX - 0xfff, 1, (const uint64_t[][2]){ { 0x2000, 0x1000 } });
    entry(pk, "/ov2", 0x7000000000000000ull, 1, (const uint64_t[][2]){ { 0, UINT64_MAX } });
    entry(pk, "/ov3", UINT64_MAX, 1, (const uint64_t[][2]){ { 0, 0x100 } });
    entry(pk, "/ov4", 0x5000, 2, (const uint64_t[][2]){ { 0, 0 }, { 0, 0 } });
    entry(pk, "/ov5", 0, 1, (const uint64_t[][2]){ { UINT64_MAX, 1 } });
}

static void fill_many_malformed(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 100);
    for (int i = 0; i < 100; i++)
        msgpack_pack_nil(pk);
}

static void test_hostile_records(void **state)
{
    (void)state;
    msx_sym *S = msx_sym_new(NULL);
    /* not an array: nothing changes */
    msx_obj o = { .type = MSX_MAP, .n = 0 };
    assert_int_equal(msx_sym_modules(S, &o), 0);
    assert_int_equal(msx_sym_modules(S, NULL), 0);
    assert_int_equal(give_raw(S, fill_hostile), 1);
    size_t n;
    const char *const *p = msx_sym_problems(S, &n);
    assert_int_equal(n, 7);
    assert_string_equal(p[0], "MODULES record 1, entry 0: not a map (skipped)");
    assert_string_equal(p[1], "MODULES record 1, entry 1: no path (skipped)");
    assert_string_equal(p[2], "MODULES record 1, entry 2: no path (skipped)");
    assert_string_equal(p[3], "MODULES record 1, entry 3: no segments (skipped)");
    assert_string_equal(p[4], "MODULES record 1, entry 4: malformed segment (skipped)");
    assert_string_equal(p[5], "MODULES record 1, entry 5: malformed build_id (skipped)");
    assert_string_equal(p[6], "MODULES record 1, entry 6: path holds a NUL byte (skipped)");
    msx_sym_stats st;
    msx_sym_stats_get(S, &st);
    assert_int_equal(st.modules, 5);
    msx_frame f[4];
    /* /ov1: base + 0x2000 wraps to 0x1000 */
    assert_int_equal(msx_sym_resolve(S, 0, 0x1001, f, 4), 1);
    assert_string_equal(f[0].module, "/ov1");
    assert_int_equal(f[0].offset, 0x2000);
    /* /ov2 covers everything above its base */
    assert_int_equal(msx_sym_resolve(S, 0, UINT64_MAX, f, 4), 1);
    assert_string_equal(f[0].module, "/ov2");
    /* /ov3 would wrap past the end of the space: it stops there and holds
     * nothing at 0x10 */
    assert_int_equal(msx_sym_resolve(S, 0, 0x11, f, 4), 1);
    assert_null(f[0].module);
    assert_int_equal(msx_sym_resolve(S, 0, 0x5001, f, 4), 1);
    assert_null(f[0].module);
    p = msx_sym_problems(S, &n);
    assert_int_equal(n, 9);
    assert_string_equal(p[7], "/ov1: not found");
    assert_string_equal(p[8], "/ov2: not found");
    /* messages about malformed entries stop at 32 and one more */
    assert_int_equal(give_raw(S, fill_many_malformed), 2);
    msx_sym_problems(S, &n);
    assert_int_equal(n, 9 + 25 + 1);
    msx_sym_problems(S, &n);
    msx_sym_free(S);
    msx_sym_free(NULL);
    assert_int_equal(msx_sym_resolve(NULL, 0, 1, f, 4), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inlined_chain),
        cmocka_unit_test(test_cxx_demangled),
        cmocka_unit_test(test_shared_library),
        cmocka_unit_test(test_cache_and_generations),
        cmocka_unit_test(test_sizeless_symbol),
        cmocka_unit_test(test_stripped),
        cmocka_unit_test(test_debug_dir),
        cmocka_unit_test(test_debug_dir_wrong_build),
        cmocka_unit_test(test_build_id_mismatch),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_hostile_records),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
