/* comprehensive_async_showcase: a libuv event loop whose requests are tasks.
 *
 * A small in-process "server" runs on libuv's default loop:
 *   - an accept timer takes two requests per tick (each one a task,
 *     request-<n>, child of the task "server"): it allocates the request and
 *     its text on the loop thread, then queues its work with uv_queue_work;
 *   - the work runs on a libuv pool thread as the task work-<n> (a child of
 *     the request): it parses the request's headers into allocated strings,
 *     frees them, and builds the response body, growing it by realloc;
 *   - the after-work callback runs on the loop thread as the task
 *     respond-<n> (a child of the request too): it formats the response head,
 *     "sends" head and body (sums their bytes), appends a line to the access
 *     log, and frees the request and the response: the body is freed on
 *     another thread than the one that made it, and still counts in work-<n>;
 *   - a housekeeping timer, as the task housekeeping-<k>, rotates the access
 *     log (labelled access_log, MEMSCOPE_TRACK) every 5 ms: counts its lines
 *     and frees it.
 * When every request is answered the timers are closed, the loop ends and
 * every task has been ended. Pool threads are named uv-pool-<i>
 * (memscope_thread_name) by the first work they run.
 *
 * Run it from the build tree:
 *     MEMSCOPE_OUTPUT=MemoryAnalysis MEMSCOPE_AUTO_EXPORT=json,html \
 *         ./build/examples/comprehensive_async_showcase
 * and open MemoryAnalysis/comprehensive_async_showcase.html. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "memscope.h"

#define REQUESTS 48        /* requests served */
#define PER_TICK 2         /* requests accepted per accept tick */
#define ACCEPT_MS 1        /* accept timer period */
#define HOUSEKEEPING_MS 5  /* housekeeping timer period */
#define MAX_HEADERS 16

/* One request, from its acceptance to its response. */
typedef struct request {
    uv_work_t work;     /* libuv's handle of the work; work.data is this */
    unsigned n;         /* request number, 0.. */
    uint64_t task;      /* request-<n> */
    uint64_t work_task; /* work-<n> */
    char *text;         /* the request as received */
    char *body;         /* the response body, built by the work */
    size_t body_len;
    unsigned headers;   /* headers the work parsed */
    int status;         /* HTTP status the work chose */
} request_t;

static uv_loop_t *loop;
static uv_timer_t accept_timer, housekeeping_timer;
static uint64_t server_task;
static unsigned accepted, answered, housekeeping_ticks;
static uint64_t head_bytes, body_bytes, checksum; /* what was "sent" */
static char *access_log;  /* lines since the last rotation */
static size_t access_log_len;
static uint64_t log_lines_rotated;
static atomic_uint pool_threads_named;
static _Thread_local int pool_thread_named;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        perror("malloc");
        exit(1);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        perror("realloc");
        exit(1);
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Appends printf-style text to a growing buffer. */
static void appendf(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char **buf, size_t *len, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t add = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    *buf = xrealloc(*buf, *len + add + 1);
    memcpy(*buf + *len, line, add + 1);
    *len += add;
}

/* Pool thread: parses the request, builds the response body. */
static void work_cb(uv_work_t *w)
{
    request_t *r = w->data;
    if (!pool_thread_named) {
        char name[32];
        snprintf(name, sizeof name, "uv-pool-%u", atomic_fetch_add(&pool_threads_named, 1));
        memscope_thread_name(name);
        pool_thread_named = 1;
    }
    memscope_task_enter(r->work_task);

    /* Headers: one allocated name and value each, freed once used. */
    char *names[MAX_HEADERS], *values[MAX_HEADERS];
    unsigned nh = 0;
    const char *line = strstr(r->text, "\r\n");
    while (line && nh < MAX_HEADERS) {
        line += 2;
        const char *end = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', end ? (size_t)(end - line) : 0);
        if (!end || !colon)
            break;
        names[nh] = xstrndup(line, (size_t)(colon - line));
        values[nh] = xstrndup(colon + 2, (size_t)(end - colon - 2));
        nh++;
        line = end;
    }
    unsigned items = 10;
    for (unsigned i = 0; i < nh; i++)
        if (strcmp(names[i], "X-Items") == 0)
            items = (unsigned)strtoul(values[i], NULL, 10);
    for (unsigned i = 0; i < nh; i++) {
        free(names[i]);
        free(values[i]);
    }
    r->headers = nh;

    /* The body: a JSON list of the items asked for, grown as written. */
    char *path = xstrndup(r->text + 4, strcspn(r->text + 4, " "));
    r->status = strncmp(path, "/items", 6) == 0 ? 200 : 404;
    appendf(&r->body, &r->body_len, "{\"path\":\"%s\",\"items\":[", path);
    free(path);
    for (unsigned i = 0; r->status == 200 && i < items; i++)
        appendf(&r->body, &r->body_len, "%s{\"id\":%u,\"name\":\"item-%u-%u\",\"stock\":%u}",
                i ? "," : "", i, r->n, i, (r->n * 131u + i * 17u) % 1000u);
    appendf(&r->body, &r->body_len, "]}");

    memscope_task_leave();
    memscope_task_end(r->work_task);
}

/* Loop thread: sends the response and frees the request. */
static void after_work_cb(uv_work_t *w, int status)
{
    request_t *r = w->data;
    char name[32];
    snprintf(name, sizeof name, "respond-%u", r->n);
    uint64_t respond = memscope_task_create(name, r->task);
    memscope_task_enter(respond);

    char *head = NULL;
    size_t head_len = 0;
    appendf(&head, &head_len,
            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
            status ? 500 : r->status, r->status == 200 ? "OK" : "Not Found", r->body_len);
    head_bytes += head_len;
    body_bytes += r->body_len;
    for (size_t i = 0; i < r->body_len; i++)
        checksum = checksum * 31 + (unsigned char)r->body[i];
    bool fresh = access_log == NULL;
    appendf(&access_log, &access_log_len, "request %u: %d, %u headers, %zu bytes\n", r->n,
            r->status, r->headers, r->body_len);
    if (fresh)
        MEMSCOPE_TRACK(access_log); /* the label follows the log through its reallocs */
    free(head);
    free(r->body); /* made by work-<n> on a pool thread */
    free(r->text);
    uint64_t request_task = r->task;
    free(r);

    memscope_task_leave();
    memscope_task_end(respond);
    memscope_task_end(request_task);
    answered++;
    if (answered == REQUESTS) {
        uv_close((uv_handle_t *)&accept_timer, NULL);
        uv_close((uv_handle_t *)&housekeeping_timer, NULL);
    }
}

/* Accept timer: takes the next requests and queues their work. */
static void accept_cb(uv_timer_t *t)
{
    static const char *const paths[] = { "/items", "/items/recent", "/items/top", "/missing" };
    static const char *const agents[] = { "curl/7.88", "python-requests/2.28", "Mozilla/5.0" };
    for (int k = 0; k < PER_TICK && accepted < REQUESTS; k++) {
        unsigned n = accepted++;
        char name[32];
        snprintf(name, sizeof name, "request-%u", n);
        uint64_t task = memscope_task_create(name, server_task);
        memscope_task_enter(task);
        request_t *r = xmalloc(sizeof *r);
        memset(r, 0, sizeof *r);
        r->n = n;
        r->task = task;
        r->work.data = r;
        char text[512];
        int len = snprintf(text, sizeof text,
                           "GET %s HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: %s\r\n"
                           "Accept: application/json\r\nX-Request-Id: %u\r\nX-Items: %u\r\n\r\n",
                           paths[n % 4], agents[n % 3], n, 20 + (n * 37u) % 200u);
        r->text = xstrndup(text, (size_t)len);
        snprintf(name, sizeof name, "work-%u", n);
        r->work_task = memscope_task_create(name, task);
        memscope_task_leave();
        int rc = uv_queue_work(loop, &r->work, work_cb, after_work_cb);
        if (rc != 0) {
            fprintf(stderr, "comprehensive_async_showcase: uv_queue_work: %s\n", uv_strerror(rc));
            exit(1);
        }
    }
    if (accepted == REQUESTS)
        uv_timer_stop(t);
}

/* Housekeeping timer: rotates the access log. */
static void housekeeping_cb(uv_timer_t *t)
{
    (void)t;
    char name[32];
    snprintf(name, sizeof name, "housekeeping-%u", housekeeping_ticks++);
    uint64_t task = memscope_task_create(name, server_task);
    memscope_task_enter(task);
    for (size_t i = 0; i < access_log_len; i++)
        log_lines_rotated += access_log[i] == '\n';
    free(access_log);
    access_log = NULL;
    access_log_len = 0;
    memscope_task_leave();
    memscope_task_end(task);
}

int main(void)
{
    memscope_thread_name("uv-loop");
    loop = uv_default_loop();
    server_task = memscope_task_create("server", 0);
    uv_timer_init(loop, &accept_timer);
    uv_timer_init(loop, &housekeeping_timer);
    uv_timer_start(&accept_timer, accept_cb, 0, ACCEPT_MS);
    uv_timer_start(&housekeeping_timer, housekeeping_cb, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    uv_run(loop, UV_RUN_DEFAULT);

    /* The last lines of the log, after the timers stopped. */
    memscope_task_enter(server_task);
    for (size_t i = 0; i < access_log_len; i++)
        log_lines_rotated += access_log[i] == '\n';
    free(access_log);
    access_log = NULL;
    memscope_task_leave();
    memscope_task_end(server_task);
    int rc = uv_loop_close(loop);
    if (rc != 0)
        fprintf(stderr, "comprehensive_async_showcase: uv_loop_close: %s\n", uv_strerror(rc));

    printf("comprehensive_async_showcase: %u requests answered by %u pool threads, "
           "%llu head bytes, %llu body bytes (checksum %016llx), %llu log lines, "
           "%u housekeeping runs\n",
           answered, atomic_load(&pool_threads_named), (unsigned long long)head_bytes,
           (unsigned long long)body_bytes, (unsigned long long)checksum,
           (unsigned long long)log_lines_rotated, housekeeping_ticks);

    /* the reports MemoryAnalysis/comprehensive_async_showcase.json and .html, rendered at exit (when
     * the trace is complete) by the memscope tool */
    rc = memscope_auto_export("json,html");
    if (rc < 0)
        fprintf(stderr, "comprehensive_async_showcase: memscope_auto_export: %s\n", memscope_strerror(rc));
    char path[4096];
    if (memscope_trace_path(path, sizeof path) > 0)
        printf("comprehensive_async_showcase: trace written to %s\n", path);
    return answered != REQUESTS;
}
