/* The public API of include/memscope.h. */
#include "memscope.h"

#include "autoexport.h"
#include "stream.h"
#include "tracker.h"

#include <errno.h>
#include <stdlib.h>
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

/* -ENAMETOOLONG for a name or type of 256 bytes or more or a file of 1024 or
 * more, else 0. */
static int check_lengths(const char *name, const char *type, const char *file)
{
    if (strlen(name) >= 256 || (type && strlen(type) >= 256) || (file && strlen(file) >= 1024))
        return -ENAMETOOLONG;
    return 0;
}

MS_EXPORT int memscope_track_var(const void *addr, const char *name, const char *type, const char *file,
                                 int line)
{
    if (addr == NULL || name == NULL)
        return -EINVAL;
    if (check_lengths(name, type, file) < 0)
        return -ENAMETOOLONG;
    ms_track_var((uint64_t)(uintptr_t)addr, name, type, file, line > 0 ? (uint64_t)line : 0);
    return 0;
}

MS_EXPORT int memscope_track_value(const char *name, const char *type, size_t size, const char *file, int line)
{
    if (name == NULL)
        return -EINVAL;
    int r = check_lengths(name, type, file);
    if (r == 0)
        ms_track_value(size, name, type, file, line > 0 ? (uint64_t)line : 0);
    return r;
}

MS_EXPORT int memscope_track_smart(const void *addr, size_t size, int is_pointer, const char *name,
                                   const char *type, const char *file, int line)
{
    if (addr == NULL || name == NULL)
        return -EINVAL;
    if (!is_pointer)
        return memscope_track_value(name, type, size, file, line);
    if (size != sizeof(void *))
        return -EINVAL;
    const void *block;
    memcpy(&block, addr, sizeof block);
    return memscope_track_var(block, name, type, file, line);
}

MS_EXPORT void memscope_owned_free(void *var_addr)
{
    if (var_addr == NULL)
        return;
    void *block;
    memcpy(&block, var_addr, sizeof block);
    free(block); /* the program's free: recorded, the variable's end */
}

MS_EXPORT uint64_t memscope_scope_enter(const char *name, const char *file, int line)
{
    if (name == NULL || check_lengths(name, NULL, file) < 0)
        return 0;
    return ms_scope_enter(name, file, line > 0 ? (uint64_t)line : 0);
}

MS_EXPORT int memscope_scope_leave(uint64_t id)
{
    return ms_scope_leave(id) ? 0 : -EINVAL;
}

MS_EXPORT void memscope_scope_cleanup(uint64_t *id)
{
    if (id && *id)
        (void)ms_scope_leave(*id);
}

MS_EXPORT int memscope_trace_all(const char *dir)
{
    if (dir && dir[0] == '\0')
        return -EINVAL;
    if (dir && strlen(dir) >= 1024)
        return -ENAMETOOLONG;
    return ms_trace_start(dir);
}

MS_EXPORT int memscope_stop_tracing(void)
{
    return ms_trace_stop();
}

MS_EXPORT int memscope_export(const char *formats)
{
    if (formats == NULL || !ms_autoexport_formats_valid(formats))
        return -EINVAL;
    return ms_export_now(formats);
}

MS_EXPORT int memscope_auto_export(const char *formats)
{
    if (formats == NULL || (formats[0] && !ms_autoexport_formats_valid(formats)))
        return -EINVAL;
    return ms_auto_export_set(formats);
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
