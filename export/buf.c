/* Growable output buffers, the report's memory, and atomic file writes. */
#include "buf.h"
#include "pprof.h"

#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int msx_buf_grow(msx_buf *b, size_t n)
{
    if (b->err)
        return b->err;
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->err = -ENOMEM;
            return b->err;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->err = -ENOMEM;
        return b->err;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void msx_buf_printf(msx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        msx_buf_put(b, tmp, (size_t)n);
        return;
    }
    if (msx_buf_grow(b, (size_t)n + 1) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void msx_buf_u64(msx_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    msx_buf_put(b, tmp + i, sizeof tmp - i);
}

void msx_buf_free(msx_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

int msx_str_set(msx_str *s, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        n = UINT32_MAX;
    char *c = malloc(n + 1);
    if (!c)
        return -ENOMEM;
    if (n)
        memcpy(c, p, n);
    c[n] = '\0';
    free(s->p);
    s->p = c;
    s->n = (uint32_t)n;
    return 0;
}

void msx_report_free(msx_report *r)
{
    if (!r)
        return;
    free(r->file.p);
    for (uint32_t i = 0; i < r->nproblems; i++)
        free(r->problems[i].p);
    free(r->exe.p);
    for (uint32_t i = 0; i < r->nargv; i++)
        free(r->argv[i].p);
    free(r->argv);
    for (uint32_t i = 0; i < 2 * r->nconfig; i++)
        free(r->config[i].p);
    free(r->config);
    for (uint32_t i = 0; i < r->nmetrics; i++)
        free(r->metrics[i].name.p);
    for (uint32_t i = 0; i < r->nmpoints; i++)
        free(r->mpoints[i].threads);
    for (uint32_t i = 0; i < r->nthreads; i++)
        free(r->threads[i].name.p);
    free(r->threads);
    for (uint32_t i = 0; i < r->ntasklist; i++)
        free(r->tasklist[i].name.p);
    free(r->tasklist);
    for (uint32_t i = 0; i < r->nvars; i++) {
        free(r->vars[i].name.p);
        free(r->vars[i].type.p);
        free(r->vars[i].file.p);
    }
    free(r->vars);
    for (uint32_t i = 0; i < r->nsnaps; i++)
        free(r->snaps[i].tasks);
    free(r->snaps);
    msx_counters_free(r->counters);
    free(r->hybrid.cells);
    for (uint32_t i = 0; i < r->hybrid.nlanes; i++)
        free(r->hybrid.lanes[i].spans);
    free(r->hybrid.by_thread);
    free(r->hybrid.by_task);
    for (uint32_t i = 0; i < r->nvar_rows; i++) {
        free(r->var_rows[i].name.p);
        free(r->var_rows[i].type.p);
        free(r->var_rows[i].file.p);
        free(r->var_rows[i].scope.p);
    }
    free(r->var_rows);
    for (uint32_t i = 0; i < r->nsites; i++)
        free(r->sites[i].frames);
    free(r->sites);
    for (uint32_t i = 0; i < r->nfunctions; i++)
        free(r->functions[i].sites);
    free(r->functions);
    for (uint32_t i = 0; i < r->nstrings; i++)
        free(r->strings[i].p);
    free(r->strings);
    msx_pprof_report_free(r->pprof);
    free(r);
}

const char *msx_ending_name(uint32_t how)
{
    switch (how) {
    case MSF_END_EXIT: return MSF_HOW_EXIT;
    case MSF_END__EXIT: return MSF_HOW__EXIT;
    case MSF_END_EXEC: return MSF_HOW_EXEC;
    default: return NULL;
    }
}

const char *msx_anomaly_name(msx_anomaly_kind k)
{
    static const char *const names[MSX_ANOM_KINDS] = {
        [MSX_ANOM_UNKNOWN_FREE] = "unknown_free",
        [MSX_ANOM_DOUBLE_FREE] = "double_free",
        [MSX_ANOM_UNKNOWN_REALLOC] = "unknown_realloc",
        [MSX_ANOM_LIVE_ALLOC] = "alloc_of_live_address",
    };
    return (unsigned)k < MSX_ANOM_KINDS ? names[k] : "unknown";
}

/* Writes len bytes to fd. Returns 0 or a negative errno. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int msx_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device or a pipe (/dev/null, /dev/stdout, a FIFO) is written to
         * as it is: renaming a file over it would replace it. */
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return -errno;
        int rc = write_all(fd, data, len);
        if (close(fd) < 0 && rc == 0)
            rc = -errno;
        return rc;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, plen + 16, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    int rc = 0;
    if (fd < 0) {
        rc = -errno;
        free(tmp);
        return rc;
    }
    rc = write_all(fd, data, len);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}
