/* The published clock: the trigger that bounds the error of event times
 * (FORMAT.md "Time").
 *
 * One writer, the helper thread (helper.c), stores the time (ns since the
 * trace started) every MS_CLOCK_PERIOD_NS while threads record. Every event
 * loads it (relaxed: one read, almost always from cache) and compares it with
 * the value its thread saw last; when it moved, the thread writes a TIME
 * record with its own clock reading before the event. A thread also writes one
 * every MS_TICK_EVENTS events and at each chunk start. So every TIME is a
 * reading taken before the events it covers and the next TIME one taken after
 * them, and an event is at most one period (plus the helper's lateness) later
 * than its TIME.
 *
 * Bit 0 of the value says whether the helper publishes (0) or has stopped
 * because no thread used a value for MS_CLOCK_IDLE_PERIODS periods, or there
 * is no helper (1). A thread that meets a stopped clock wakes the helper.
 * A sampling thread (MEMSCOPE_MODE=sampled) records so rarely that it
 * ignores the published value and reads the clock itself instead (tracker.c,
 * sampled_time), so that sampling never keeps the helper publishing.
 * Threads never write the clock; they write the demand word at most once per
 * period (the first one to use a value). Each word has a cache line of its
 * own. The only other writer is the exit export, once, to send every thread
 * through the slow path (tracker.c). */
#ifndef MS_CLOCK_H
#define MS_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

/* The helper's publishing period, and the error bound it gives: an event's
 * TIME is never later than the event and at most this much earlier, as long
 * as the helper is not kept off a CPU for longer than one period. */
#define MS_CLOCK_PERIOD_NS 500000u
#define MS_CLOCK_BOUND_NS 1000000u
/* Periods without demand after which the helper stops publishing. */
#define MS_CLOCK_IDLE_PERIODS 40u

typedef struct ms_clock {
    _Alignas(64) _Atomic uint64_t now;   /* ns since start | bit 0 (see above) */
    _Alignas(64) _Atomic uint32_t demand; /* set by a thread that used a published value */
    char pad[60];
} ms_clock_t;

extern ms_clock_t ms_clock __attribute__((visibility("hidden")));

/* Raises the clock to v if it is lower (v's bit 0 as above). Returns the value
 * after the call. For the helper and the exit export only. */
static inline uint64_t ms_clock_raise(uint64_t v)
{
    uint64_t e = atomic_load_explicit(&ms_clock.now, memory_order_relaxed);
    while (e < v && !atomic_compare_exchange_weak_explicit(&ms_clock.now, &e, v,
                                                           memory_order_relaxed,
                                                           memory_order_relaxed))
        ;
    return e > v ? e : v;
}

/* Tells the helper that a published value was used (keeps it publishing).
 * Writes the shared word only when it is clear: once per period at most. */
static inline void ms_clock_note_demand(void)
{
    if (!atomic_load_explicit(&ms_clock.demand, memory_order_relaxed))
        atomic_store_explicit(&ms_clock.demand, 1, memory_order_relaxed);
}

/* clock.c */
/* Back to "nobody publishes" at time 0: a fork child's new time base. */
void ms_clock_reset(void);

#endif /* MS_CLOCK_H */
