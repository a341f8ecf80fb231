/* The content of control records (FORMAT.md "Control records"): the packers
 * that put_record (tracker.c) calls, and the walk of the loader's module list,
 * which a fork must not interrupt. See records.h. */
#include "records.h"

#include "alloc_iface.h"
#include "format.h"
#include "options.h"
#include "prim.h"

#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* The command line buffer of the PROCESS record; only the thread that wins
 * process_pending uses it. Static, since a thread's stack may be small. */
static char cmdline_buf[32768];
/* The program's path, read once (exe_read) by whichever record needs it
 * first: PROCESS and MODULES may be written by two threads at once. */
static char exe_buf[PATH_MAX];
static pthread_once_t exe_once = PTHREAD_ONCE_INIT;

static void exe_read(void)
{
    ssize_t e = readlink("/proc/self/exe", exe_buf, sizeof exe_buf - 1);
    exe_buf[e > 0 ? e : 0] = '\0';
}

/* The program's path ("" if unknown). */
static const char *exe_path(void)
{
    pthread_once(&exe_once, exe_read);
    return exe_buf;
}

static _Atomic uint64_t modules_gen; /* module generation of the last MODULES record */
static _Atomic int walkers;          /* threads between walk_begin and walk_end */
static _Atomic int forking;          /* forks between ms_rec_fork_begin and its end */

/* The calling thread's name: the one given to memscope_thread_name (`full`,
 * which may be longer than the kernel's 15 bytes) while the kernel's name is
 * still its beginning, else the kernel's (the program renamed the thread
 * since). */
static void thread_name(const char *full, char *buf, size_t len)
{
    pthread_getname_np(pthread_self(), buf, len);
    if (full && full[0] && strncmp(full, buf, strlen(buf)) == 0 && buf[0]) {
        strncpy(buf, full, len - 1);
        buf[len - 1] = '\0';
    }
}

void ms_rec_fill_stack(ms_cbuf_t *b, const void *arg)
{
    const ms_rec_stack_t *k = arg;
    ms_pc_array(b, 2);
    ms_pc_uint64(b, k->id);
    ms_pc_array(b, k->n);
    for (uint32_t i = 0; i < k->n; i++)
        ms_pc_uint64(b, (uint64_t)k->pc[i]);
}

void ms_rec_fill_u64(ms_cbuf_t *b, const void *arg)
{
    ms_pc_uint64(b, *(const uint64_t *)arg);
}

void ms_rec_fill_task_create(ms_cbuf_t *b, const void *arg)
{
    const ms_rec_task_t *k = arg;
    ms_pc_map(b, 3);
    ms_pc_cstr(b, MSF_KEY_ID);
    ms_pc_uint64(b, k->id);
    ms_pc_cstr(b, MSF_KEY_NAME);
    ms_pc_cstr(b, k->name);
    ms_pc_cstr(b, MSF_KEY_PARENT);
    ms_pc_uint64(b, k->parent);
}

void ms_rec_fill_task_end(ms_cbuf_t *b, const void *arg)
{
    ms_pc_map(b, 1);
    ms_pc_cstr(b, MSF_KEY_ID);
    ms_pc_uint64(b, *(const uint64_t *)arg);
}

void ms_rec_fill_var(ms_cbuf_t *b, const void *arg)
{
    const ms_rec_var_t *v = arg;
    ms_pc_map(b, 2 + (v->type != NULL) + 2 * (v->file != NULL));
    /* with addr: a block's label; without: a named value of its size */
    ms_pc_cstr(b, v->addr ? MSF_KEY_ADDR : MSF_KEY_SIZE);
    ms_pc_uint64(b, v->addr ? v->addr : v->size);
    ms_pc_cstr(b, MSF_KEY_NAME);
    ms_pc_cstr(b, v->name);
    if (v->type) {
        ms_pc_cstr(b, MSF_KEY_TYPE);
        ms_pc_cstr(b, v->type);
    }
    if (v->file) {
        ms_pc_cstr(b, MSF_KEY_FILE);
        ms_pc_cstr(b, v->file);
        ms_pc_cstr(b, MSF_KEY_LINE);
        ms_pc_uint64(b, v->line);
    }
}

void ms_rec_fill_scope_enter(ms_cbuf_t *b, const void *arg)
{
    const ms_rec_scope_t *k = arg;
    ms_pc_map(b, 2 + 2 * (k->file != NULL));
    ms_pc_cstr(b, MSF_KEY_ID);
    ms_pc_uint64(b, k->id);
    ms_pc_cstr(b, MSF_KEY_NAME);
    ms_pc_cstr(b, k->name);
    if (k->file) {
        ms_pc_cstr(b, MSF_KEY_FILE);
        ms_pc_cstr(b, k->file);
        ms_pc_cstr(b, MSF_KEY_LINE);
        ms_pc_uint64(b, k->line);
    }
}

void ms_rec_fill_scope_leave(ms_cbuf_t *b, const void *arg)
{
    ms_pc_map(b, 1);
    ms_pc_cstr(b, MSF_KEY_ID);
    ms_pc_uint64(b, *(const uint64_t *)arg);
}

void ms_rec_fill_thread(ms_cbuf_t *b, const void *arg)
{
    const ms_rec_thread_t *t = arg;
    char name[64] = "";
    if (t->late)
        strcpy(name, "(exited threads)");
    else
        thread_name(t->name, name, sizeof name);
    ms_pc_map(b, 3);
    ms_pc_cstr(b, MSF_KEY_TID);
    ms_pc_uint64(b, t->tid);
    ms_pc_cstr(b, MSF_KEY_NAME);
    ms_pc_cstr(b, name);
    ms_pc_cstr(b, MSF_KEY_PARENT);
    ms_pc_uint64(b, 0);
}

/* Packs a THREAD_EXIT record with the calling thread's current name. */
void ms_rec_fill_thread_exit(ms_cbuf_t *b, const void *arg)
{
    char name[64] = "";
    thread_name(arg, name, sizeof name);
    ms_pc_map(b, 1);
    ms_pc_cstr(b, MSF_KEY_NAME);
    ms_pc_cstr(b, name);
}

/* Packs the PROCESS record: pid, ppid, exe, argv from /proc, and the options
 * in force. Runs once per process (the caller won process_pending). */
void ms_rec_fill_process(ms_cbuf_t *b, const void *arg)
{
    (void)arg;
    ssize_t n = ms_prim_read_file("/proc/self/cmdline", cmdline_buf, sizeof cmdline_buf);
    const char *exe = exe_path();
    /* Counted as the strings are packed below: a command line longer than the
     * buffer ends in a string cut short, without its NUL. */
    uint32_t argc = 0;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmdline_buf + i) + 1)
        argc++;

    ms_pc_map(b, 5);
    ms_pc_cstr(b, MSF_KEY_PID);
    ms_pc_uint64(b, (uint64_t)getpid());
    ms_pc_cstr(b, MSF_KEY_PPID);
    ms_pc_uint64(b, (uint64_t)getppid());
    ms_pc_cstr(b, MSF_KEY_EXE);
    ms_pc_cstr(b, exe);
    ms_pc_cstr(b, MSF_KEY_ARGV);
    ms_pc_array(b, argc);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmdline_buf + i) + 1)
        ms_pc_cstr(b, cmdline_buf + i);
    ms_pc_cstr(b, MSF_KEY_CONFIG);
    ms_pc_map(b, MS_OPT_COUNT);
    for (int o = 0; o < MS_OPT_COUNT; o++) {
        char key[32] = "MEMSCOPE_", val[32];
        strcat(key, ms_option_name((ms_opt_t)o));
        ms_pc_cstr(b, key);
        ms_pc_cstr(b, ms_option_text((ms_opt_t)o, val, sizeof val));
    }
}

/* Packs a FORK record naming the parent pid in *arg. */
void ms_rec_fill_fork(ms_cbuf_t *b, const void *arg)
{
    ms_pc_map(b, 1);
    ms_pc_cstr(b, MSF_KEY_PARENT_PID);
    ms_pc_uint64(b, *(const uint64_t *)arg);
}

/* Packs the END record: the flush time and how the process ended. */
void ms_rec_fill_end(ms_cbuf_t *b, const void *arg)
{
    const ms_rec_end_t *e = arg;
    ms_pc_map(b, 2);
    ms_pc_cstr(b, MSF_KEY_TIME);
    ms_pc_uint64(b, e->time);
    ms_pc_cstr(b, MSF_KEY_HOW);
    ms_pc_cstr(b, e->how == MSF_END__EXIT ? MSF_HOW__EXIT
                  : e->how == MSF_END_EXEC ? MSF_HOW_EXEC : MSF_HOW_EXIT);
}

/* The state of one walk of fill_modules: where it packs, modules packed. */
typedef struct module_walk {
    ms_cbuf_t *b;
    uint32_t n;
} module_walk_t;

/* The GNU build-id of a loaded module, from its PT_NOTE segments in memory
 * (mapped read-only with the module). Returns its length (0: none). */
static uint32_t build_id(const struct dl_phdr_info *info, const uint8_t **out)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE || ph->p_memsz < sizeof(ElfW(Nhdr)))
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t name = (nh->n_namesz + 3u) & ~3u, desc = (nh->n_descsz + 3u) & ~3u;
            const uint8_t *d = p + sizeof *nh + name;
            if (name > (size_t)(end - p) || desc > (size_t)(end - d))
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(p + sizeof *nh, "GNU", 4) &&
                nh->n_descsz > 0 && nh->n_descsz <= 64) {
                *out = d;
                return nh->n_descsz;
            }
            p = d + desc;
        }
    }
    return 0;
}

/* dl_iterate_phdr callback: packs one module as {path, base, segments,
 * build_id} and counts it. */
static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    module_walk_t *w = arg;
    ms_cbuf_t *b = w->b;
    w->n++;
    const char *path = info->dlpi_name;
    if (!path || !path[0])
        path = exe_path();
    uint32_t nload = 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        nload += info->dlpi_phdr[i].p_type == PT_LOAD;
    const uint8_t *bid = NULL;
    uint32_t bid_len = build_id(info, &bid);
    ms_pc_map(b, bid_len ? 4 : 3);
    ms_pc_cstr(b, MSF_KEY_PATH);
    ms_pc_cstr(b, path);
    ms_pc_cstr(b, MSF_KEY_BASE);
    ms_pc_uint64(b, (uint64_t)info->dlpi_addr);
    ms_pc_cstr(b, MSF_KEY_SEGMENTS);
    ms_pc_array(b, nload);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        ms_pc_array(b, 3);
        ms_pc_uint64(b, ph->p_vaddr);
        ms_pc_uint64(b, ph->p_memsz);
        ms_pc_uint64(b, ((ph->p_flags & PF_X) ? MSF_SEG_X : 0u) |
                            ((ph->p_flags & PF_W) ? MSF_SEG_W : 0u) |
                            ((ph->p_flags & PF_R) ? MSF_SEG_R : 0u));
    }
    if (bid_len) {
        ms_pc_cstr(b, MSF_KEY_BUILD_ID);
        ms_pc_bin(b, bid_len);
        ms_pc_bin_body(b, bid, bid_len);
    }
    return 0;
}

/* dl_iterate_phdr callback: reads glibc's load/unload counters from the first
 * module and stops the walk. */
static int generation_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        return 1;
    *(uint64_t *)arg = (uint64_t)info->dlpi_adds + ((uint64_t)info->dlpi_subs << 32);
    return 1;
}

/* The loader's module generation: changes whenever a module is loaded or
 * unloaded (dlopen, dlclose). */
uint64_t ms_rec_modules_generation(void)
{
    uint64_t g = 0;
    dl_iterate_phdr(generation_cb, &g);
    return g;
}

/* Packs the MODULES record: every loaded module, as module_cb writes it. */
void ms_rec_fill_modules(ms_cbuf_t *b, const void *arg)
{
    (void)arg;
    atomic_store_explicit(&modules_gen, ms_rec_modules_generation(), memory_order_relaxed);
    (void)exe_path(); /* read before the walk (module_cb names the program by it) */
    /* One walk that counts as it packs, and the array's length written after
     * it as an array32 (always 5 bytes): a module loaded or unloaded between
     * two walks cannot make the length disagree with the maps packed. */
    static const uint8_t array32[5] = { 0xdd, 0, 0, 0, 0 };
    uint8_t *head = b->cur;
    ms_pc_put(b, array32, sizeof array32);
    module_walk_t w = { b, 0 };
    dl_iterate_phdr(module_cb, &w);
    if (!b->overflow) {
        head[1] = (uint8_t)(w.n >> 24);
        head[2] = (uint8_t)(w.n >> 16);
        head[3] = (uint8_t)(w.n >> 8);
        head[4] = (uint8_t)w.n;
    }
}

/* Enters a section that walks the loader's module list (dl_iterate_phdr).
 * glibc does not reset the loader's list lock in a fork child, so a fork taken
 * while a walk held it leaves the child hanging at its first walk (a chunk
 * switch, or exit). ms_rec_fork_begin (before a fork) therefore waits for the walks under way and
 * keeps new ones out. Returns false, and enters nothing, while a fork is under
 * way: the caller skips the walk (the next chunk switch tries again). */
bool ms_rec_walk_begin(void)
{
    atomic_fetch_add(&walkers, 1); /* seq_cst: pairs with atfork_prepare */
    if (atomic_load(&forking) == 0)
        return true;
    atomic_fetch_sub(&walkers, 1);
    return false;
}

/* Leaves the section walk_begin entered. */
void ms_rec_walk_end(void)
{
    atomic_fetch_sub(&walkers, 1);
}

bool ms_rec_modules_changed(void)
{
    return ms_rec_modules_generation() != atomic_load_explicit(&modules_gen, memory_order_relaxed);
}

void ms_rec_fork_begin(void)
{
    atomic_fetch_add(&forking, 1); /* seq_cst: pairs with ms_rec_walk_begin */
    while (atomic_load(&walkers) != 0)
        sched_yield();
}

void ms_rec_fork_end(void)
{
    atomic_fetch_sub(&forking, 1);
}

void ms_rec_fork_child(void)
{
    atomic_store(&walkers, 0);
    atomic_store(&forking, 0);
    /* The child's trace needs a module map of its own: the next chunk switch
     * (or the exit flush) writes it. */
    atomic_store_explicit(&modules_gen, 0, memory_order_relaxed);
}
