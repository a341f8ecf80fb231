/* One module's file for the symbolizer (symbolize_int.h): found under the
 * sysroot, opened without blocking (only regular files are opened, with
 * O_NONBLOCK), checked against the recorded build-id, its debug file found,
 * and addresses looked up in it through libdwfl and libdw. */
#include "symbolize_int.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A function's code range [lo, hi) in DWARF addresses, and its DIE. */
typedef struct fn_iv {
    Dwarf_Addr lo, hi;
    Dwarf_Die die;
} fn_iv;

/* The functions of one compilation unit, sorted by lo: built on the first pc
 * in the unit, so that a lookup descends only the DIEs of the function that
 * holds the pc, not the whole unit (dwarf_getscopes walks every DIE before
 * the pc's, declarations of every header included: 0.5 ms a pc measured on
 * the memscope tool). */
typedef struct cu_ix {
    Dwarf_Off off;        /* the unit DIE's offset; (Dwarf_Off)-1: empty slot */
    fn_iv *iv;
    size_t n;
} cu_ix;

/* A function symbol of the module's symbol table (.symtab, else .dynsym, as
 * libdwfl picks it), by address. dwfl_module_addrinfo scans the whole table
 * for each address (libc's symbol table: 0.3 ms a pc, measured); this array,
 * sorted once, is searched instead. */
typedef struct sym_ent {
    Dwarf_Addr lo;
    GElf_Xword size;
    Dwarf_Addr sec_end;   /* size 0: the end of its section (it covers no more) */
    const char *name;     /* in libelf's string table */
    int rank;             /* binding: 0 global, 1 weak, 2 local */
} sym_ent;

struct msx_symfile {
    Dwfl *dwfl;
    Dwfl_Module *mod;     /* the one module of dwfl, at bias 0 */
    Dwarf_Addr bias;      /* what libdwfl added to file addresses (0) */
    char *debug_path;     /* the separate debug file chosen, or NULL */
    cu_ix *cus;           /* open addressing on off */
    size_t ncus, capcus;
    sym_ent *syms;        /* sorted by lo, then rank */
    size_t nsyms;
    bool syms_read;
};

/* -- files ------------------------------------------------------------------ */

/* a + b + c in a new string; NULL without memory. */
static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* Opens path for reading if it is a regular file, never blocking (a FIFO or a
 * device is refused before open, and O_NONBLOCK covers a swap between the
 * stat and the open). Returns the descriptor, or -1 with errno: ENOENT (and
 * the like) when missing, EINVAL when it is no regular file. */
static int open_regular(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* Lower-case hex of b[0..n) into out (2n + 1 bytes). */
static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Whether the ELF file at path carries exactly build-id bid[0..n) (n == 0: no
 * build-id note at all). */
static bool file_has_build_id(const char *path, const uint8_t *bid, size_t n)
{
    int fd = open_regular(path);
    if (fd < 0)
        return false;
    bool same = false;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf && elf_kind(elf) == ELF_K_ELF) {
        const void *p = NULL;
        ssize_t len = dwelf_elf_gnu_build_id(elf, &p);
        if (n == 0)
            same = len <= 0;
        else
            same = len == (ssize_t)n && p && memcmp(p, bid, n) == 0;
    }
    elf_end(elf);
    close(fd);
    return same;
}

/* The separate debug file of module `path` (as recorded) whose build-id is
 * bid[0..n) (n 0: none), searched in this order: DIR/.build-id/xx/rest.debug,
 * DIR/PATH.debug and DIR/PATH for opts->debug_dir, then the same under
 * SYSROOT/usr/lib/debug. A candidate must carry the same build-id (or none
 * when the module has none). Returns a malloc'd path, or NULL. */
static char *find_debug_file(const msx_sym_opts *opts, const char *path, const uint8_t *bid, size_t n)
{
    char *sysdebug = join3(opts->sysroot ? opts->sysroot : "", "/usr/lib/debug", "");
    const char *dirs[2] = { opts->debug_dir, sysdebug };
    char idpath[2 * MSX_SYM_BUILD_ID_MAX + 32];
    if (n >= 2) {
        char h[2 * MSX_SYM_BUILD_ID_MAX + 1];
        hex(bid, n, h);
        snprintf(idpath, sizeof idpath, "/.build-id/%.2s/%s.debug", h, h + 2);
    }
    char *found = NULL;
    for (int d = 0; d < 2 && !found; d++) {
        if (!dirs[d] || !dirs[d][0])
            continue;
        char *cand[3] = { n >= 2 ? join3(dirs[d], idpath, "") : NULL, join3(dirs[d], path, ".debug"),
                          join3(dirs[d], path, "") };
        for (int c = 0; c < 3; c++) {
            if (!found && cand[c] && file_has_build_id(cand[c], bid, n))
                found = cand[c];
            else
                free(cand[c]);
        }
    }
    free(sysdebug);
    return found;
}

/* libdwfl's find_debuginfo callback: hands it the debug file chosen at open
 * (the module's userdata), or nothing. libdwfl calls it only when the file
 * has no DWARF (or no symbol table) of its own. */
static int find_debuginfo_cb(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                             const char *file_name, const char *debuglink, GElf_Word crc, char **debuginfo_name)
{
    (void)mod, (void)modname, (void)base, (void)file_name, (void)debuglink, (void)crc;
    const msx_symfile *f = userdata ? *userdata : NULL;
    if (!f || !f->debug_path)
        return -1;
    int fd = open_regular(f->debug_path);
    if (fd >= 0) {
        *debuginfo_name = strdup(f->debug_path);
        if (!*debuginfo_name) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Never asked for: every module is reported with its descriptor. */
static int find_elf_cb(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       char **file_name, Elf **elfp)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
    return -1;
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = find_elf_cb,
    .find_debuginfo = find_debuginfo_cb,
    .section_address = dwfl_offline_section_address,
};

msx_symfile *msx_symfile_open(const msx_sym_opts *opts, const char *path, const uint8_t *bid, size_t bid_len,
                              char *why, size_t why_len)
{
    why[0] = '\0';
    if (path[0] != '/') {
        snprintf(why, why_len, "not found (not an absolute path)");
        return NULL;
    }
    char *full = join3(opts->sysroot ? opts->sysroot : "", path, "");
    if (!full)
        return NULL;
    int fd = open_regular(full);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP)
            snprintf(why, why_len, "not found");
        else if (e == EINVAL)
            snprintf(why, why_len, "not a regular file");
        else if (e != ENOMEM)
            snprintf(why, why_len, "cannot be opened (%s)", strerror(e));
        free(full);
        return NULL;
    }
    elf_version(EV_CURRENT);
    msx_symfile *f = calloc(1, sizeof *f);
    Dwfl *dwfl = f ? dwfl_begin(&callbacks) : NULL;
    if (!dwfl) {
        close(fd);
        free(full);
        free(f);
        return NULL;
    }
    f->dwfl = dwfl;
    dwfl_report_begin(dwfl);
    /* base 0: the module sits at its file addresses (bias 0); on success the
     * descriptor belongs to libdwfl */
    f->mod = dwfl_report_elf(dwfl, path, full, fd, 0, true);
    free(full);
    if (!f->mod) {
        close(fd);
        snprintf(why, why_len, "not an ELF file (%s)", dwfl_errmsg(-1));
        msx_symfile_close(f);
        return NULL;
    }
    dwfl_report_end(dwfl, NULL, NULL);
    const unsigned char *bits = NULL;
    GElf_Addr bid_vaddr;
    int flen = dwfl_module_build_id(f->mod, &bits, &bid_vaddr);
    if (flen < 0 || !bits)
        flen = 0;
    if (bid_len > 0 && (flen != (int)bid_len || memcmp(bits, bid, bid_len) != 0)) {
        char th[2 * MSX_SYM_BUILD_ID_MAX + 1], fh[2 * MSX_SYM_BUILD_ID_MAX + 1];
        hex(bid, bid_len, th);
        if (flen > 0 && flen <= MSX_SYM_BUILD_ID_MAX)
            hex(bits, (size_t)flen, fh);
        else
            snprintf(fh, sizeof fh, "%s", flen > 0 ? "(too long)" : "none");
        snprintf(why, why_len, "build-id mismatch (trace %s, file %s)", th, fh);
        msx_symfile_close(f);
        return NULL;
    }
    f->bias = 0;
    if (!dwfl_module_getelf(f->mod, &f->bias))
        f->bias = 0;
    if (flen <= MSX_SYM_BUILD_ID_MAX)
        f->debug_path = find_debug_file(opts, path, bits, (size_t)flen);
    void **userdata = NULL;
    dwfl_module_info(f->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
    if (userdata)
        *userdata = f;
    return f;
}

void msx_symfile_close(msx_symfile *f)
{
    if (!f)
        return;
    if (f->dwfl)
        dwfl_end(f->dwfl);
    for (size_t i = 0; i < f->capcus; i++)
        free(f->cus[i].iv);
    free(f->cus);
    free(f->syms);
    free(f->debug_path);
    free(f);
}

/* s demangled when it is a mangled C++ name, interned. */
static const char *intern_name(msx_sym *S, const char *s)
{
    if (!s)
        return NULL;
    if (s[0] == '_' && s[1] == 'Z') {
        int status = -1;
        char *d = __cxa_demangle(s, NULL, NULL, &status);
        if (d && status == 0) {
            const char *r = msx_sym_intern(S, d, strlen(d));
            free(d);
            return r;
        }
        free(d);
    }
    return msx_sym_intern(S, s, strlen(s));
}

/* The name of a subprogram or inlined-subroutine DIE: its linkage name (the
 * abstract origin's when it has one), demangled, else its plain name. */
static const char *die_function(msx_sym *S, Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
    if (!n)
        n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
    if (!n)
        n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
    return intern_name(S, n);
}

/* The call site (DW_AT_call_file, DW_AT_call_line) of an inlined-subroutine
 * DIE into *file / *line (NULL / 0 when absent). */
static void call_site(msx_sym *S, Dwarf_Die *die, Dwarf_Files *files, size_t nfiles, const char **file,
                      uint32_t *line)
{
    Dwarf_Attribute a;
    Dwarf_Word idx, ln;
    *file = NULL;
    *line = 0;
    if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &idx) == 0 && idx < nfiles) {
        const char *s = dwarf_filesrc(files, idx, NULL, NULL);
        *file = s ? msx_sym_intern(S, s, strlen(s)) : NULL;
    }
    if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &ln) == 0 && ln <= UINT32_MAX)
        *line = (uint32_t)ln;
}

/* -- symbols ---------------------------------------------------------------- */

static int sym_cmp(const void *a, const void *b)
{
    const sym_ent *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->rank - y->rank;
}

/* Reads the function symbols of f once (none without memory). */
static void syms_read(msx_symfile *f)
{
    f->syms_read = true;
    int n = dwfl_module_getsymtab(f->mod);
    if (n <= 0)
        return;
    f->syms = malloc((size_t)n * sizeof *f->syms);
    if (!f->syms)
        return;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx = 0;
        Elf *elf = NULL;
        Dwarf_Addr bias = 0;
        const char *name = dwfl_module_getsym_info(f->mod, i, &sym, &addr, &shndx, &elf, &bias);
        int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
        if (!name || !name[0] || sym.st_shndx == SHN_UNDEF ||
            (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
            continue;
        Dwarf_Addr sec_end = 0;
        if (sym.st_size == 0) {
            /* as libdwfl: a symbol without size covers the rest of its
             * section at most (not the next section, the PLT after .init) */
            GElf_Shdr sh;
            Elf_Scn *scn = elf ? elf_getscn(elf, shndx) : NULL;
            if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
                continue;
            sec_end = sh.sh_addr + bias + sh.sh_size;
        }
        f->syms[f->nsyms++] = (sym_ent){ addr, sym.st_size, sec_end, name,
                                         bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2 };
    }
    if (f->nsyms)
        qsort(f->syms, f->nsyms, sizeof *f->syms, sym_cmp);
}

/* The name of the function symbol that holds a: the nearest below a whose
 * size covers it (the strongest binding among those at one address), else
 * the nearest below a when it has no size and a is in its section; NULL in a
 * gap. */
static const char *sym_name(msx_symfile *f, Dwarf_Addr a)
{
    if (!f->syms_read)
        syms_read(f);
    size_t lo = 0, hi = f->nsyms;  /* first with lo > a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->syms[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    /* a few symbols back: aliases at one address, labels inside a function */
    for (size_t k = lo, seen = 0; k > 0 && seen < 32; k--, seen++) {
        const sym_ent *e = &f->syms[k - 1];
        if (e->size && a - e->lo < e->size) {
            while (k > 1 && f->syms[k - 2].lo == e->lo && f->syms[k - 2].size)
                e = &f->syms[--k - 1];
            return e->name;
        }
        if (!e->size && k == lo && a < e->sec_end)
            return e->name;
    }
    return NULL;
}

/* -- the functions of a unit ------------------------------------------------ */

/* Adds the subprograms with code among the children of parent (descending
 * into namespaces and types, where C++ compilers may put definitions) to
 * x->iv. Returns false without memory. */
static bool index_children(cu_ix *x, size_t *cap, Dwarf_Die *parent, int depth)
{
    Dwarf_Die child;
    if (depth > 16 || dwarf_child(parent, &child) != 0)
        return true;
    do {
        int tag = dwarf_tag(&child);
        if (tag == DW_TAG_subprogram) {
            Dwarf_Addr base, lo, hi;
            ptrdiff_t off = 0;
            while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0) {
                if (lo >= hi)
                    continue;
                if (x->n == *cap) {
                    size_t c = *cap ? *cap * 2 : 64;
                    fn_iv *t = c < SIZE_MAX / sizeof *t ? realloc(x->iv, c * sizeof *t) : NULL;
                    if (!t)
                        return false;
                    x->iv = t;
                    *cap = c;
                }
                x->iv[x->n++] = (fn_iv){ lo, hi, child };
            }
        } else if (tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
                   tag == DW_TAG_union_type || tag == DW_TAG_module) {
            if (!index_children(x, cap, &child, depth + 1))
                return false;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return true;
}

static int fn_cmp(const void *a, const void *b)
{
    const fn_iv *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static size_t cu_slot(const msx_symfile *f, Dwarf_Off off)
{
    return (size_t)((off * 0x9e3779b97f4a7c15ull) >> 20) & (f->capcus - 1);
}

/* The index of unit cu, built on first use; NULL without memory. */
static const cu_ix *cu_index(msx_symfile *f, Dwarf_Die *cu)
{
    Dwarf_Off off = dwarf_dieoffset(cu);
    if (off == (Dwarf_Off)-1)
        return NULL;
    if ((f->ncus + 1) * 2 > f->capcus) {
        size_t cap = f->capcus ? f->capcus * 2 : 64;
        cu_ix *t = cap < SIZE_MAX / sizeof *t ? malloc(cap * sizeof *t) : NULL;
        if (!t)
            return NULL;
        for (size_t i = 0; i < cap; i++)
            t[i] = (cu_ix){ .off = (Dwarf_Off)-1 };
        cu_ix *old = f->cus;
        size_t oldcap = f->capcus;
        f->cus = t;
        f->capcus = cap;
        for (size_t i = 0; i < oldcap; i++) {
            if (old[i].off == (Dwarf_Off)-1)
                continue;
            size_t j = cu_slot(f, old[i].off);
            while (t[j].off != (Dwarf_Off)-1)
                j = (j + 1) & (cap - 1);
            t[j] = old[i];
        }
        free(old);
    }
    size_t j = cu_slot(f, off);
    for (; f->cus[j].off != (Dwarf_Off)-1; j = (j + 1) & (f->capcus - 1))
        if (f->cus[j].off == off)
            return &f->cus[j];
    cu_ix x = { .off = off };
    size_t cap = 0;
    if (!index_children(&x, &cap, cu, 0)) {
        free(x.iv);
        return NULL;
    }
    if (x.n)
        qsort(x.iv, x.n, sizeof *x.iv, fn_cmp);
    f->cus[j] = x;
    f->ncus++;
    return &f->cus[j];
}

/* The subprogram of x whose range holds a, or NULL. */
static Dwarf_Die *cu_function(const cu_ix *x, Dwarf_Addr a)
{
    size_t lo = 0, hi = x->n;  /* first with lo > a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->iv[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* ranges overlap only in odd DWARF: the nearest few are looked at */
    for (size_t k = lo, seen = 0; k > 0 && seen < 8; k--, seen++)
        if (a < x->iv[k - 1].hi)
            return &x->iv[k - 1].die;
    return NULL;
}

/* The scopes that hold a, innermost first, as dwarf_getscopes gives them,
 * but found by descending from the function fn only: fn's inlined
 * subroutines (through lexical blocks), then fn. Returns the count (at most
 * max). */
static int fn_scopes(Dwarf_Die *fn, Dwarf_Addr a, Dwarf_Die *out, int max)
{
    Dwarf_Die chain[MSX_SYM_MAX_FRAMES];
    int n = 0;
    Dwarf_Die cur = *fn;
    for (int depth = 0; depth < 1024 && n < MSX_SYM_MAX_FRAMES - 1; depth++) {
        Dwarf_Die child;
        bool found = false;
        if (dwarf_child(&cur, &child) == 0) {
            do {
                int tag = dwarf_tag(&child);
                if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
                     tag == DW_TAG_catch_block || tag == DW_TAG_with_stmt) &&
                    dwarf_haspc(&child, a) > 0) {
                    if (tag == DW_TAG_inlined_subroutine)
                        chain[n++] = child;
                    cur = child;
                    found = true;
                    break;
                }
            } while (dwarf_siblingof(&child, &child) == 0);
        }
        if (!found)
            break;
    }
    int k = 0;
    for (int i = n - 1; i >= 0 && k < max - 1; i--)
        out[k++] = chain[i];
    if (k < max)
        out[k++] = *fn;
    return k;
}

/* -- lookups ---------------------------------------------------------------- */

size_t msx_symfile_lookup(msx_symfile *f, msx_sym *S, uint64_t addr, msx_frame *out, size_t max)
{
    if (max == 0)
        return 0;
    Dwarf_Addr a = addr + f->bias;
    /* the function from the symbol table (.symtab, else .dynsym) */
    const char *symname = sym_name(f, a);
    /* file:line of the address itself */
    const char *file = NULL;
    uint32_t line = 0;
    Dwfl_Line *ln = dwfl_module_getsrc(f->mod, a);
    if (ln) {
        int l = 0;
        const char *s = dwfl_lineinfo(ln, NULL, &l, NULL, NULL, NULL);
        file = s ? msx_sym_intern(S, s, strlen(s)) : NULL;
        line = l > 0 ? (uint32_t)l : 0;
    }
    size_t n = 0;
    bool outer_done = false;
    Dwarf_Addr cubias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(f->mod, a, &cubias);
    Dwarf_Die own[MSX_SYM_MAX_FRAMES];
    Dwarf_Die *scopes = NULL, *allocated = NULL;
    int nscopes = 0;
    if (cu) {
        const cu_ix *x = cu_index(f, cu);
        Dwarf_Die *fn = x ? cu_function(x, a - cubias) : NULL;
        if (fn) {
            nscopes = fn_scopes(fn, a - cubias, own, MSX_SYM_MAX_FRAMES);
            scopes = own;
        } else {
            /* no function of the index holds it (a nested function, odd
             * DWARF): the walk of the whole unit */
            nscopes = dwarf_getscopes(cu, a - cubias, &allocated);
            scopes = allocated;
        }
    }
    if (nscopes > 0) {
        Dwarf_Files *files = NULL;
        size_t nfiles = 0;
        if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
            files = NULL;
        /* scopes run innermost first: each inlined subroutine is a frame at
         * the current location, whose call site is the location of the next */
        for (int i = 0; i < nscopes && n < max; i++) {
            int tag = dwarf_tag(&scopes[i]);
            if (tag == DW_TAG_inlined_subroutine) {
                out[n++] = (msx_frame){ .function = die_function(S, &scopes[i]), .file = file, .line = line,
                                        .inlined = true };
                call_site(S, &scopes[i], files, nfiles, &file, &line);
            } else if (tag == DW_TAG_subprogram || tag == DW_TAG_entry_point) {
                const char *fn = symname ? intern_name(S, symname) : die_function(S, &scopes[i]);
                out[n++] = (msx_frame){ .function = fn, .file = file, .line = line, .inlined = false };
                outer_done = true;
                break;
            }
        }
    }
    free(allocated);
    if (!outer_done && n < max)
        out[n++] = (msx_frame){ .function = intern_name(S, symname), .file = file, .line = line, .inlined = false };
    return n;
}
