/* The published clock. See clock.h. */
#include "clock.h"

ms_clock_t ms_clock = { .now = 1 };

void ms_clock_reset(void)
{
    atomic_store_explicit(&ms_clock.now, 1, memory_order_relaxed);
    atomic_store_explicit(&ms_clock.demand, 0, memory_order_relaxed);
}
