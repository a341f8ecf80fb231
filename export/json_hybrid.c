/* The "hybrid" member of the JSON report (docs/JSON.md): the thread x task
 * matrix, the task spans of each listed thread, variables by thread and by
 * task. It holds ids only (thread serials, task ids): names are in threads[]
 * and tasks[], so nothing here needs escaping. */
#include "buf.h"
#include "export.h"

/* Appends `"name": [[...], ...]`, one field of every cell, row by row. */
static void matrix(msx_buf *b, const char *name, const msx_hybrid_report *h, size_t field)
{
    uint32_t nr = h->cells ? msx_hybrid_nrows(h) : 0, nc = msx_hybrid_ncols(h);
    msx_buf_printf(b, ",\n    \"%s\": [", name);
    for (uint32_t i = 0; i < nr; i++) {
        msx_buf_puts(b, i ? ",\n      [" : "\n      [");
        for (uint32_t j = 0; j < nc; j++) {
            const msx_hybrid_cell *c = &h->cells[(size_t)i * nc + j];
            if (j)
                msx_buf_puts(b, ", ");
            msx_buf_u64(b, field == 0 ? c->allocations : field == 1 ? c->bytes : c->live_bytes);
        }
        msx_buf_putc(b, ']');
    }
    msx_buf_puts(b, nr ? "\n    ]" : "]");
}

/* Appends `"name": [{...}, ...], "name_omitted": n` for rows of variables. */
static void var_rows(msx_buf *b, const char *name, const char *key, const msx_hybrid_vars *v, uint32_t n,
                     uint64_t omitted)
{
    msx_buf_printf(b, ",\n    \"%s\": [", name);
    for (uint32_t i = 0; i < n; i++) {
        msx_buf_printf(b, "%s{\"%s\": ", i ? ",\n      " : "\n      ", key);
        msx_buf_u64(b, v[i].id);
        msx_buf_puts(b, ", \"variables\": ");
        msx_buf_u64(b, v[i].variables);
        msx_buf_puts(b, ", \"blocks\": ");
        msx_buf_u64(b, v[i].blocks);
        msx_buf_puts(b, ", \"bytes_labelled\": ");
        msx_buf_u64(b, v[i].bytes_labelled);
        msx_buf_puts(b, ", \"live_blocks\": ");
        msx_buf_u64(b, v[i].live_blocks);
        msx_buf_puts(b, ", \"live_bytes\": ");
        msx_buf_u64(b, v[i].live_bytes);
        msx_buf_putc(b, '}');
    }
    msx_buf_puts(b, n ? "\n    ]" : "]");
    msx_buf_printf(b, ",\n    \"%s_omitted\": ", name);
    msx_buf_u64(b, omitted);
}

void msx_json_hybrid(msx_buf *b, const msx_report *r)
{
    const msx_hybrid_report *h = &r->hybrid;
    msx_buf_puts(b, "  \"hybrid\": {\n    \"threads\": [");
    for (uint32_t i = 0; i < h->nrows; i++)
        msx_buf_printf(b, i ? ", %u" : "%u", h->rows[i]);
    msx_buf_puts(b, "],\n    \"threads_other\": ");
    msx_buf_u64(b, h->rows_other);
    msx_buf_puts(b, ",\n    \"tasks\": [");
    for (uint32_t j = 0; j < h->ncols; j++) {
        if (j)
            msx_buf_puts(b, ", ");
        msx_buf_u64(b, h->cols[j]);
    }
    msx_buf_puts(b, "],\n    \"tasks_other\": ");
    msx_buf_u64(b, h->cols_other);
    matrix(b, "allocations", h, 0);
    matrix(b, "bytes", h, 1);
    matrix(b, "live_bytes", h, 2);
    msx_buf_puts(b, ",\n    \"lanes\": [");
    for (uint32_t i = 0; i < h->nlanes; i++) {
        const msx_hybrid_lane *l = &h->lanes[i];
        msx_buf_printf(b, "%s{\"thread\": %u, \"spans\": [", i ? ",\n      " : "\n      ", l->thread);
        for (uint32_t k = 0; k < l->nspans; k++) {
            msx_buf_puts(b, k ? ", {\"task\": " : "{\"task\": ");
            msx_buf_u64(b, l->spans[k].task);
            msx_buf_puts(b, ", \"start_ns\": ");
            msx_buf_u64(b, l->spans[k].start_ns);
            msx_buf_puts(b, ", \"end_ns\": ");
            msx_buf_u64(b, l->spans[k].end_ns);
            msx_buf_putc(b, '}');
        }
        msx_buf_puts(b, "], \"spans_omitted\": ");
        msx_buf_u64(b, l->spans_omitted);
        msx_buf_putc(b, '}');
    }
    msx_buf_puts(b, h->nlanes ? "\n    ],\n    \"lanes_omitted\": " : "],\n    \"lanes_omitted\": ");
    msx_buf_u64(b, h->lanes_omitted);
    msx_buf_puts(b, ",\n    \"lane_spans_omitted\": ");
    msx_buf_u64(b, h->lane_spans_omitted);
    var_rows(b, "variables_by_thread", "thread", h->by_thread, h->nby_thread, h->by_thread_omitted);
    var_rows(b, "variables_by_task", "task", h->by_task, h->nby_task, h->by_task_omitted);
    msx_buf_puts(b, "\n  },\n");
}
