/* The helper thread (helper.c): chunk preparation, the published clock and
 * the platform metrics (metrics.h). */
#ifndef MS_HELPER_H
#define MS_HELPER_H

/* Starts the helper thread when a trace is open and none runs. Call outside
 * malloc (a constructor; fork's child handler): it creates a thread. Its
 * thread-creation allocations are memscope's own, not traced. Idempotent. */
void ms_helper_start(void);

#endif /* MS_HELPER_H */
