/* Output safety: no output of a command may be one of its inputs or another
 * of its outputs. `memscope report T --json T` would otherwise rename the
 * JSON over the trace, and `--json F --html F` would write one over the other.
 *
 * Two paths name the same file if both exist and have the same st_dev and
 * st_ino (hard links, symbolic links, `dir/../name`), or if their resolved
 * names are equal: realpath of the longest existing ancestor followed by the
 * rest of the path, so that files not yet created compare too. An output that
 * exists as a character device (/dev/null, a terminal) is not a file and is
 * never refused. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

/* Returns the resolved absolute name of path (see the top of this file),
 * malloc'd, or NULL if it cannot be built (no memory, a path too long). The
 * last component is kept as it is (not followed), unless it is "." or "..". */
static char *resolve_name(const char *path)
{
    char buf[PATH_MAX], cwd[PATH_MAX];
    int n;
    if (path[0] == '/')
        n = snprintf(buf, sizeof buf, "%s", path);
    else if (getcwd(cwd, sizeof cwd))
        n = snprintf(buf, sizeof buf, "%s/%s", cwd, path);
    else
        return NULL;
    if (n < 0 || (size_t)n >= sizeof buf)
        return NULL;
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    if (n == 1)
        return strdup("/");
    char *slash = strrchr(buf, '/');
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", slash + 1);
    if (slash == buf)
        slash[1] = '\0';
    else
        *slash = '\0';
    char real[PATH_MAX];
    char *parent = realpath(buf, real) ? strdup(real) : resolve_name(buf);
    if (!parent || !strcmp(base, "."))
        return parent;
    if (!strcmp(base, "..")) {
        char *s = strrchr(parent, '/');
        if (s == parent)
            s[1] = '\0';
        else if (s)
            *s = '\0';
        return parent;
    }
    size_t len = strlen(parent) + strlen(base) + 2;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", base);
    free(parent);
    return out;
}

/* Fills in f's identity: whether it exists, its device and inode, and its
 * resolved name. Returns false if there is no memory. */
static bool identify(mst_file_t *f)
{
    struct stat st;
    f->exists = stat(f->path, &st) == 0;
    f->device = f->exists && S_ISCHR(st.st_mode);
    f->dev = f->exists ? st.st_dev : 0;
    f->ino = f->exists ? st.st_ino : 0;
    f->name = f->path[0] ? resolve_name(f->path) : NULL;
    return !f->path[0] || f->name;
}

/* True if a and b (identified) are the same file. */
static bool same_file(const mst_file_t *a, const mst_file_t *b)
{
    if (a->exists && b->exists && a->dev == b->dev && a->ino == b->ino)
        return true;
    return a->name && b->name && !strcmp(a->name, b->name);
}

/* Refuses outputs that are inputs or other outputs (tool.h). */
int mst_check_outputs(const char *cmd, mst_file_t *in, size_t nin, mst_file_t *out, size_t nout)
{
    for (size_t i = 0; i < nin; i++)
        if (!identify(&in[i]))
            goto nomem;
    for (size_t i = 0; i < nout; i++)
        if (!identify(&out[i]))
            goto nomem;
    int rc = 0;
    for (size_t i = 0; i < nout && rc == 0; i++) {
        if (out[i].device)
            continue;
        for (size_t j = 0; j < nin && rc == 0; j++)
            if (same_file(&out[i], &in[j])) {
                mst_errorf("%s: refusing to write %s (%s): it is the input %s", cmd, out[i].path, out[i].what,
                           in[j].path);
                rc = -1;
            }
        for (size_t j = 0; j < i && rc == 0; j++)
            if (same_file(&out[i], &out[j])) {
                mst_errorf("%s: refusing to write %s (%s): it is also the %s output %s", cmd, out[i].path,
                           out[i].what, out[j].what, out[j].path);
                rc = -1;
            }
    }
    mst_files_free(in, nin);
    mst_files_free(out, nout);
    return rc;
nomem:
    mst_errorf("%s: out of memory", cmd);
    mst_files_free(in, nin);
    mst_files_free(out, nout);
    return -1;
}

/* Frees the resolved names of f[0..n). */
void mst_files_free(mst_file_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].name);
        f[i].name = NULL;
    }
}
