/* The MEMSCOPE_* configuration: one table, read once at start.
 *
 * Each option's environment variable is "MEMSCOPE_" + its name. Values are read
 * with secure_getenv (a setuid program ignores them). A bad value prints one line
 * on stderr and leaves the default in force. Nothing here allocates. */
#ifndef MS_OPTIONS_H
#define MS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ms_opt {
    MS_OPT_OUTPUT,       /* string: trace directory */
    MS_OPT_NAME,         /* name: trace base name, no '/' nor leading '.' */
    MS_OPT_MODE,         /* enum: full | sampled | off (any case) */
    MS_OPT_BUFFER_SIZE,  /* size: bytes per chunk */
    MS_OPT_MAX_EVENTS,   /* count: events per thread, 0 = no limit */
    MS_OPT_AUTO_EXPORT,  /* list: json,html,bin rendered at exit */
    MS_OPT_TOOL,         /* string: the memscope tool that renders them */
    MS_OPT_CHILDREN,     /* count 0/1: children (and exec'd images) inherit the preload */
    MS_OPT_METRICS_INTERVAL, /* count: ms between METRIC samples of the helper, 0 = none */
    MS_OPT_STACK_DEPTH,  /* count: frames per allocation stack, 0 = no stacks, at most 128 */
    MS_OPT_UNWIND,       /* enum: auto | fp | libunwind (any case), how stacks are walked */
    MS_OPT_SAMPLE_BYTES, /* count: mean bytes between samples in sampled mode */
    MS_OPT_SAMPLE_RATE,  /* fraction: rate sampling (0 < r <= 1), as r * 2^32; 0 = bytes */
    MS_OPT_SAMPLE_SEED,  /* count: the sampler's seed, 0 = from the clock */
    MS_OPT_COUNT
} ms_opt_t;

typedef enum ms_mode {
    MS_MODE_FULL = 0,
    MS_MODE_OFF = 1,
    MS_MODE_SAMPLED = 2,
} ms_mode_t;

typedef enum ms_unwind {
    MS_UNWIND_AUTO = 0,      /* frame pointers; libunwind where the chain breaks early */
    MS_UNWIND_FP = 1,        /* frame pointers only */
    MS_UNWIND_LIBUNWIND = 2, /* libunwind (DWARF CFI) only */
} ms_unwind_t;

/* options.c */
/* Reads every option from the environment. Call once, before any other
 * function here; calling again re-reads (used after fork only). */
void ms_options_load(void);
/* Sets option o from text as if the environment said so (memscope_trace_all).
 * Returns 0, or -1 (nothing changes) for a value the option refuses. */
int ms_option_set(ms_opt_t o, const char *text);
const char *ms_option_str(ms_opt_t o);     /* string and list options */
uint64_t ms_option_u64(ms_opt_t o);        /* size, count and enum options */
const char *ms_option_name(ms_opt_t o);    /* "OUTPUT", ... */
/* The value in force as text, for the PROCESS record; `buf` holds at least 32 bytes. */
const char *ms_option_text(ms_opt_t o, char *buf, size_t len);
/* Parses "123", "64K", "8M", "1G" (binary units). Returns true on error. */
bool ms_parse_size(const char *s, uint64_t *out);

/* Removes every entry naming libmemscope_alloc from LD_PRELOAD, so that
 * children and exec'd images are not traced (MEMSCOPE_CHILDREN=0). */
void ms_options_drop_preload(void);

#endif /* MS_OPTIONS_H */
