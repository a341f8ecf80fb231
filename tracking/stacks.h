/* Call stacks of recorded allocations (MEMSCOPE_STACK_DEPTH, FORMAT.md STACK).
 *
 * The malloc family hands its own return address (the call site in the
 * program) to the slow path, which calls ms_stack_capture: frame 0 is that
 * address, so memscope's own frames are never in a stack. The frames above
 * come from the frame-pointer chain, each frame checked against the thread's
 * stack bounds (a frame that cannot be trusted ends the stack), or from
 * libunwind's DWARF unwinder (unw_backtrace, per-thread cache), by
 * MEMSCOPE_UNWIND: `fp`, `libunwind`, or `auto`, frame pointers with
 * libunwind where the chain breaks before it reaches the C library's frames
 * (code built without frame pointers).
 *
 * Each thread keeps a table of the stacks it defined: the hot part is a hash
 * of the program counters and one probe; a stack seen for the first time gets
 * the next per-thread id and the caller writes its STACK record. The table
 * lives in its own mapping (never malloc); when it fills it starts over, and
 * stacks seen again get new ids (defined again). Everything here runs under
 * the recursion guard, in the slow path. */
#ifndef MS_STACKS_H
#define MS_STACKS_H

#include <stdbool.h>
#include <stdint.h>

#define MS_STACK_MAX 128u
/* memscope's own frames a walk may see first where the entries call the
 * recording code (a sanitizer build): collected, then dropped (stacks.c). */
#define MS_STACK_ENTRY_FRAMES 4u

/* Frames per stack in force (MEMSCOPE_STACK_DEPTH), 0 = no stacks. Set at
 * process start (ms_stacks_configure), read-only afterwards. */
extern uint32_t ms_stack_depth __attribute__((visibility("hidden")));

typedef struct ms_stk ms_stk_t;

/* One captured stack. */
typedef struct ms_stack {
    uintptr_t pc[MS_STACK_MAX + MS_STACK_ENTRY_FRAMES];
    uint32_t n;
    uint64_t hash;
} ms_stack_t;

/* Reads MEMSCOPE_STACK_DEPTH and MEMSCOPE_UNWIND (options loaded). */
void ms_stacks_configure(void);
/* Loads libunwind (dlopen) and learns where the C library's code is (auto
 * mode's end of a chain). Outside malloc: from the library's constructor;
 * until it ran, stacks follow frame pointers only. */
void ms_stacks_learn_runtime(void);
/* Captures the stack of an event whose malloc-family entry returns to ra,
 * from frame pointer fp (the entry's caller's frame, as the entry left it). */
void ms_stack_capture(ms_stk_t **stk, uintptr_t ra, uintptr_t fp, ms_stack_t *s);
/* The common case, on a thread whose table exists: frame 0 and the
 * frame-pointer chain, when that is the whole stack, and its id when the
 * thread has defined it (the last stack found is checked first). Returns 0
 * when the full capture (ms_stack_capture) must run. */
uint64_t ms_stack_quick(ms_stk_t *t, uintptr_t ra, uintptr_t fp, ms_stack_t *s);
/* The id of s on this thread, or 0 if it has none yet. */
uint64_t ms_stack_find(ms_stk_t **stk, const ms_stack_t *s);
/* Gives s the next id (after its STACK record was written). Returns it, or 0
 * when no table could be had (the event then goes without a stack). */
uint64_t ms_stack_add(ms_stk_t **stk, const ms_stack_t *s);
/* The id ms_stack_add will give next (for the STACK record written before). */
uint64_t ms_stack_next_id(ms_stk_t **stk);
/* Frees the thread's table (thread exit; a fork child's parent state). */
void ms_stack_release(ms_stk_t **stk);

#endif /* MS_STACKS_H */
