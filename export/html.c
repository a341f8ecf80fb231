/* The HTML dashboard: the template of dashboard.html with the report's JSON
 * embedded in it. The JSON is cut to bounded sizes (threads, strings, lists)
 * so that the page stays small whatever the trace (well under 5 MB). */
#include "buf.h"
#include "dashboard.h"
#include "export.h"

int msx_render_html(msx_buf *b, const msx_report *r)
{
    static const msx_json_limits lim = { .max_threads = 1000, .max_str = 200, .max_list = 64,
                                         .max_sample_threads = 32 };
    msx_buf_put(b, msx_dashboard_head, msx_dashboard_head_len);
    msx_render_json(b, r, &lim);
    msx_buf_put(b, msx_dashboard_tail, msx_dashboard_tail_len);
    return b->err;
}
