/* The public API of include/memscope.h. */
#include "memscope.h"

#include "stream.h"
#include "tracker.h"

#include <errno.h>
#include <string.h>

#define MS_EXPORT __attribute__((visibility("default")))

#define MS_STR2(x) #x
#define MS_STR(x) MS_STR2(x)

MS_EXPORT const char *memscope_version(void)
{
    return MS_STR(MEMSCOPE_VERSION_MAJOR) "." MS_STR(MEMSCOPE_VERSION_MINOR) "." MS_STR(
        MEMSCOPE_VERSION_PATCH);
}

MS_EXPORT const char *memscope_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err > 0)
        err = -err;
    /* strerror() of glibc returns static text for every errno it knows. */
    return strerror(-err);
}

MS_EXPORT int memscope_thread_name(const char *name)
{
    if (name == NULL)
        return -EINVAL;
    if (strlen(name) >= 64)
        return -ENAMETOOLONG;
    ms_thread_set_name(name);
    return 0;
}

MS_EXPORT int memscope_track_var(const void *addr, const char *name, const char *type, const char *file,
                                 int line)
{
    if (addr == NULL || name == NULL)
        return -EINVAL;
    if (strlen(name) >= 256 || (type && strlen(type) >= 256) || (file && strlen(file) >= 1024))
        return -ENAMETOOLONG;
    ms_track_var((uint64_t)(uintptr_t)addr, name, type, file, line > 0 ? (uint64_t)line : 0);
    return 0;
}

MS_EXPORT uint64_t memscope_task_create(const char *name, uint64_t parent)
{
    return ms_task_create(name, parent);
}

MS_EXPORT int memscope_task_enter(uint64_t task)
{
    return ms_task_enter(task) ? 0 : -EINVAL;
}

MS_EXPORT int memscope_task_leave(void)
{
    return ms_task_leave() ? 0 : -EINVAL;
}

MS_EXPORT int memscope_task_end(uint64_t task)
{
    return ms_task_end(task) ? 0 : -EINVAL;
}

MS_EXPORT int memscope_trace_path(char *buf, size_t len)
{
    ms_process_init();
    const char *p = ms_stream_path();
    size_t n = strlen(p);
    if (n == 0)
        return -ENOENT;
    if (buf == NULL || n >= len)
        return -ERANGE;
    memcpy(buf, p, n + 1);
    return (int)n;
}
