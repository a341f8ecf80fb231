/* The C++ operators new and delete, in every variant, defined in C under their
 * Itanium-ABI mangled names so that the library needs no libstdc++.
 *
 * On failure, the throwing forms call the installed std::new_handler and retry,
 * then throw std::bad_alloc, as the C++ standard asks. Both std:: functions are
 * weak references: they resolve in a C++ program (which has libstdc++ loaded)
 * and are NULL in a C program, which cannot call operator new anyway. Throwing
 * unwinds through this C frame, which is why allocator/ builds with
 * -fexceptions. The nothrow forms must return NULL where the throwing ones
 * throw, which needs a catch: see cxx_nothrow_retry. */
#include "entry.h"
#include "jemalloc_private.h"
#include "tracker.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MS_EXPORT __attribute__((visibility("default")))

typedef void (*new_handler_t)(void);
/* std::get_new_handler() and std::__throw_bad_alloc() */
new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

typedef void *(*nothrow_new_t)(size_t n, const void *nt);
typedef void *(*nothrow_new_al_t)(size_t n, size_t al, const void *nt);

MS_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt);
MS_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt);

/* The C++ runtime's own nothrow operator new (the next definition of `name`
 * after ours), or NULL when there is none. Looked up once. */
static void *runtime_nothrow_new(const char *name, _Atomic(void *) *cache, void *ours)
{
    void *fn = atomic_load_explicit(cache, memory_order_relaxed);
    if (fn == NULL) {
        fn = dlsym(RTLD_NEXT, name);
        if (fn == NULL || fn == ours)
            fn = (void *)-1;
        atomic_store_explicit(cache, fn, memory_order_relaxed);
    }
    return fn == (void *)-1 ? NULL : fn;
}

/* A nothrow form whose allocation failed while a new_handler is installed. The
 * handler may throw std::bad_alloc, which a nothrow form must turn into NULL,
 * and C cannot catch it (it would unwind into a noexcept caller: terminate).
 * So the C++ runtime's nothrow form does it: it calls the throwing form, ours,
 * inside a try block (libstdc++ does so), and returns NULL on the throw.
 * Without such a runtime the handler is not called. */
static void *cxx_nothrow_retry(size_t n, size_t align, const void *nt)
{
    static _Atomic(void *) plain, aligned;
    if (align == 0) {
        nothrow_new_t fn = (nothrow_new_t)runtime_nothrow_new(
            "_ZnwmRKSt9nothrow_t", &plain, (void *)_ZnwmRKSt9nothrow_t);
        return fn ? fn(n, nt) : NULL;
    }
    nothrow_new_al_t fn = (nothrow_new_al_t)runtime_nothrow_new(
        "_ZnwmSt11align_val_tRKSt9nothrow_t", &aligned,
        (void *)_ZnwmSt11align_val_tRKSt9nothrow_t);
    return fn ? fn(n, align, nt) : NULL;
}

/* One allocation for the operators: align 0 means the default alignment; nt is
 * the std::nothrow_t of a nothrow form, NULL for a throwing one. */
static inline __attribute__((always_inline)) void *cxx_alloc(size_t n, size_t align, const void *nt)
{
    for (;;) {
        bool unsampled = ms_entry_unsampled(n);
        void *p = align ? msjem_aligned_alloc(align, n) : msjem_malloc(n);
        if (MS_LIKELY(p != NULL))
            return unsampled ? p : ms_ev_alloc_ex(p, n, align, false);
        new_handler_t h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
        if (nt != NULL)
            return h ? cxx_nothrow_retry(n, align, nt) : NULL;
        if (h == NULL) {
            if (_ZSt17__throw_bad_allocv)
                _ZSt17__throw_bad_allocv();
            __builtin_trap(); /* no C++ runtime yet operator new was called */
        }
        h(); /* may free memory, throw, or abort */
    }
}

static inline __attribute__((always_inline)) void cxx_free(void *p)
{
    ms_entry_free(p);
}

/* The declarations keep -Wmissing-prototypes quiet: these names are the ABI. */
#define NEW(name, args, call) MS_EXPORT void *name args; void *name args { return call; }
#define DELETE(name, args) MS_EXPORT void name args; void name args

NEW(_Znwm, (size_t n), cxx_alloc(n, 0, NULL))
NEW(_Znam, (size_t n), cxx_alloc(n, 0, NULL))
NEW(_ZnwmRKSt9nothrow_t, (size_t n, const void *nt), cxx_alloc(n, 0, nt))
NEW(_ZnamRKSt9nothrow_t, (size_t n, const void *nt), cxx_alloc(n, 0, nt))
NEW(_ZnwmSt11align_val_t, (size_t n, size_t al), cxx_alloc(n, al, NULL))
NEW(_ZnamSt11align_val_t, (size_t n, size_t al), cxx_alloc(n, al, NULL))
NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, (size_t n, size_t al, const void *nt),
    cxx_alloc(n, al, nt))
NEW(_ZnamSt11align_val_tRKSt9nothrow_t, (size_t n, size_t al, const void *nt),
    cxx_alloc(n, al, nt))

DELETE(_ZdlPv, (void *p)) { cxx_free(p); }
DELETE(_ZdaPv, (void *p)) { cxx_free(p); }
DELETE(_ZdlPvm, (void *p, size_t n)) { (void)n; cxx_free(p); }
DELETE(_ZdaPvm, (void *p, size_t n)) { (void)n; cxx_free(p); }
DELETE(_ZdlPvRKSt9nothrow_t, (void *p, const void *nt)) { (void)nt; cxx_free(p); }
DELETE(_ZdaPvRKSt9nothrow_t, (void *p, const void *nt)) { (void)nt; cxx_free(p); }
DELETE(_ZdlPvSt11align_val_t, (void *p, size_t al)) { (void)al; cxx_free(p); }
DELETE(_ZdaPvSt11align_val_t, (void *p, size_t al)) { (void)al; cxx_free(p); }
DELETE(_ZdlPvmSt11align_val_t, (void *p, size_t n, size_t al)) { (void)n; (void)al; cxx_free(p); }
DELETE(_ZdaPvmSt11align_val_t, (void *p, size_t n, size_t al)) { (void)n; (void)al; cxx_free(p); }
DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t al, const void *nt))
{ (void)al; (void)nt; cxx_free(p); }
DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t al, const void *nt))
{ (void)al; (void)nt; cxx_free(p); }
