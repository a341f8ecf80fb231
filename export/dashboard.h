/* The HTML dashboard template (dashboard.html), split at its data marker and
 * compiled in by embed.py: the report JSON goes between head and tail. */
#ifndef MSX_DASHBOARD_H
#define MSX_DASHBOARD_H

#include <stddef.h>

extern const char msx_dashboard_head[];
extern const size_t msx_dashboard_head_len;
extern const char msx_dashboard_tail[];
extern const size_t msx_dashboard_tail_len;

#endif /* MSX_DASHBOARD_H */
