/* See suite.h. */
#include "suite.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "buf.h"

msx_report *suite_analyze(msf *t)
{
    char *path = msf_path(msf_dir, "t.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r = NULL;
    char err[512];
    if (msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err))
        fail_msg("analysis failed: %s", err);
    free(path);
    return r;
}

char *suite_json(const msx_report *r)
{
    msx_buf b = { 0 };
    assert_int_equal(msx_render_json(&b, r, NULL), 0);
    msx_buf_putc(&b, '\0');
    return b.p;
}

msf *suite_two_threads(void)
{
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    msf_thread(t, 1, 101, "one", 3, 0);
    msf_thread(t, 2, 102, "two", 3, 0);
    return t;
}
