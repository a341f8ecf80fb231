/* enhanced_30_thread_demo: 100 tasks that hop across 30 threads.
 *
 * A three-stage pipeline processes 100 documents, each one a task (job-<n>,
 * memscope_task_create). The main thread creates each job and its record
 * inside the job's task, then queues it; ten "load" threads write the
 * document's text, ten "index" threads count its distinct words (a table
 * grown by realloc, a copy of every new word), and ten "store" threads write
 * the word counts out and free everything the job allocated on the other
 * threads. Every stage enters the job's task around its work
 * (memscope_task_enter/leave), so each job runs on four threads: main, one
 * load, one index and one store thread (route() gives each thread ten jobs).
 * The report's hybrid view joins them: bytes per thread and task, which task
 * ran where.
 *
 * With -v the program prints, per job, the threads that ran it and the
 * blocks and bytes it asked for (tests/examples compares them with the
 * report). Run it from the build tree:
 *     MEMSCOPE_OUTPUT=MemoryAnalysis MEMSCOPE_AUTO_EXPORT=json,html \
 *         ./build/examples/enhanced_30_thread_demo
 * and open MemoryAnalysis/enhanced_30_thread_demo.html. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memscope.h"

#define JOBS 100
#define PER_STAGE 10 /* threads per stage; three stages */
#define STAGES 3

static const char *const stage_names[STAGES] = { "load", "index", "store" };

/* A distinct word of a document and how often it occurs. */
typedef struct entry {
    char *word;
    unsigned count;
} entry_t;

/* What became of a job, kept (outside the heap) after its blocks are gone. */
typedef struct result {
    uint64_t checksum;           /* of what store wrote */
    uint64_t blocks, bytes;      /* allocations + reallocs asked for, and their sizes */
    char ran_on[STAGES + 1][16]; /* the thread of each step: main, load, index, store */
} result_t;

/* One job: a document on its way through the pipeline. */
typedef struct job {
    struct job *next;        /* queue link */
    unsigned n;
    uint64_t task;           /* job-<n> */
    result_t *res;
    char *text;              /* load */
    size_t text_len;
    entry_t *words;          /* index: open-addressed table */
    size_t words_cap, distinct;
} job_t;

/* A thread's queue. The thread stops once it has taken its share of the jobs. */
typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    job_t *head, *tail;
    unsigned taken;
} queue_t;

static queue_t queues[STAGES * PER_STAGE];
static result_t results[JOBS];

/* The queue of the thread of `stage` that runs job n. Job 10a+b goes to the
 * thread (b + stage * a) % 10 of each stage: every thread gets 10 jobs, and a
 * job meets different companions at each stage. */
static unsigned route(unsigned n, unsigned stage)
{
    return stage * PER_STAGE + (n % 10 + stage * (n / 10)) % PER_STAGE;
}

static void queue_push(queue_t *q, job_t *j)
{
    pthread_mutex_lock(&q->lock);
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

/* The next job, or NULL when the thread has had its JOBS / PER_STAGE. */
static job_t *queue_pop(queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    while (!q->head && q->taken < JOBS / PER_STAGE)
        pthread_cond_wait(&q->ready, &q->lock);
    job_t *j = NULL;
    if (q->head) {
        j = q->head;
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->taken++;
    }
    pthread_mutex_unlock(&q->lock);
    return j;
}

/* malloc and realloc that count what the job asked for. */
static void *job_malloc(job_t *j, size_t n)
{
    void *p = malloc(n);
    if (!p) {
        perror("malloc");
        exit(1);
    }
    j->res->blocks++;
    j->res->bytes += n;
    return p;
}

static void *job_realloc(job_t *j, void *old, size_t n)
{
    void *p = realloc(old, n);
    if (!p) {
        perror("realloc");
        exit(1);
    }
    j->res->blocks++;
    j->res->bytes += n;
    return p;
}

/* load: the document's text, words of syllables from the job's seed. */
static void load(job_t *j)
{
    static const char *const syl[] = { "ba", "de", "fi", "go", "ku", "la", "me", "no", "pi", "su" };
    uint32_t x = 2166136261u ^ (j->n * 16777619u);
    size_t words = 300 + (j->n * 97u) % 1700u;
    size_t cap = words * 7 + 1, len = 0;
    j->text = job_malloc(j, cap);
    MEMSCOPE_TRACK_TYPED(j->text, char *);
    for (size_t w = 0; w < words; w++) {
        x = x * 1103515245u + 12345u;
        unsigned nsyl = 1 + (x >> 16) % 3;
        for (unsigned s = 0; s < nsyl; s++) {
            x = x * 1103515245u + 12345u;
            memcpy(j->text + len, syl[(x >> 16) % 10], 2);
            len += 2;
        }
        j->text[len++] = ' ';
    }
    j->text[len] = '\0';
    j->text_len = len;
}

static size_t word_hash(const char *s, size_t n)
{
    size_t h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + (unsigned char)s[i];
    return h;
}

/* Puts a word in the job's table (which it grows by realloc at 3/4 full). */
static void index_word(job_t *j, const char *w, size_t n)
{
    if ((j->distinct + 1) * 4 > j->words_cap * 3) {
        size_t cap = j->words_cap ? j->words_cap * 2 : 64;
        entry_t *old = j->words;
        size_t old_cap = j->words_cap;
        entry_t *t = job_malloc(j, cap * sizeof *t);
        memset(t, 0, cap * sizeof *t);
        for (size_t i = 0; i < old_cap; i++) {
            if (!old[i].word)
                continue;
            size_t k = word_hash(old[i].word, strlen(old[i].word)) & (cap - 1);
            while (t[k].word)
                k = (k + 1) & (cap - 1);
            t[k] = old[i];
        }
        free(old);
        j->words = t;
        j->words_cap = cap;
    }
    size_t k = word_hash(w, n) & (j->words_cap - 1);
    while (j->words[k].word) {
        if (strlen(j->words[k].word) == n && memcmp(j->words[k].word, w, n) == 0) {
            j->words[k].count++;
            return;
        }
        k = (k + 1) & (j->words_cap - 1);
    }
    char *copy = job_malloc(j, n + 1);
    memcpy(copy, w, n);
    copy[n] = '\0';
    j->words[k].word = copy;
    j->words[k].count = 1;
    j->distinct++;
}

/* index: the distinct words of the text and their counts. */
static void index_text(job_t *j)
{
    const char *s = j->text;
    while (*s) {
        size_t n = strcspn(s, " ");
        if (n)
            index_word(j, s, n);
        s += n + (s[n] == ' ');
    }
}

/* store: writes "word=count;" for every word into an output buffer that
 * grows by realloc, sums it, and frees all the job's blocks, the job's
 * record last. */
static void store(job_t *j)
{
    char *out = NULL;
    size_t len = 0;
    for (size_t i = 0; i < j->words_cap; i++) {
        if (!j->words[i].word)
            continue;
        char item[80];
        int n = snprintf(item, sizeof item, "%s=%u;", j->words[i].word, j->words[i].count);
        if (n < 0 || (size_t)n >= sizeof item)
            continue;
        out = job_realloc(j, out, len + (size_t)n + 1);
        memcpy(out + len, item, (size_t)n + 1);
        len += (size_t)n;
    }
    for (size_t i = 0; i < len; i++)
        j->res->checksum = j->res->checksum * 131 + (unsigned char)out[i];
    free(out);
    for (size_t i = 0; i < j->words_cap; i++)
        free(j->words[i].word);
    free(j->words);
    free(j->text);
    free(j); /* made by main */
}

typedef struct stage_thread {
    pthread_t thread;
    unsigned stage, index;
    char name[16];
    unsigned jobs_done;
} stage_thread_t;

static stage_thread_t threads[STAGES * PER_STAGE];

static void *stage_main(void *arg)
{
    stage_thread_t *st = arg;
    snprintf(st->name, sizeof st->name, "%s-%u", stage_names[st->stage], st->index);
    memscope_thread_name(st->name);
    job_t *j;
    while ((j = queue_pop(&queues[st->stage * PER_STAGE + st->index])) != NULL) {
        uint64_t task = j->task;
        unsigned n = j->n;
        snprintf(j->res->ran_on[st->stage + 1], sizeof j->res->ran_on[0], "%s", st->name);
        memscope_task_enter(task);
        switch (st->stage) {
        case 0: load(j); break;
        case 1: index_text(j); break;
        default: store(j); break; /* frees j */
        }
        memscope_task_leave();
        st->jobs_done++;
        if (st->stage + 1 < STAGES)
            queue_push(&queues[route(n, st->stage + 1)], j);
        else
            memscope_task_end(task);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    memscope_thread_name("main");
    for (unsigned q = 0; q < STAGES * PER_STAGE; q++) {
        pthread_mutex_init(&queues[q].lock, NULL);
        pthread_cond_init(&queues[q].ready, NULL);
    }
    for (unsigned i = 0; i < STAGES * PER_STAGE; i++) {
        threads[i].stage = i / PER_STAGE;
        threads[i].index = i % PER_STAGE;
        if (pthread_create(&threads[i].thread, NULL, stage_main, &threads[i]) != 0) {
            fprintf(stderr, "enhanced_30_thread_demo: pthread_create failed\n");
            return 1;
        }
    }
    /* Each job's record is its first block, made by main inside the task. */
    for (unsigned n = 0; n < JOBS; n++) {
        char name[16];
        snprintf(name, sizeof name, "job-%u", n);
        uint64_t task = memscope_task_create(name, 0);
        memscope_task_enter(task);
        job_t *j = malloc(sizeof *j);
        if (!j) {
            perror("malloc");
            return 1;
        }
        memset(j, 0, sizeof *j);
        memscope_task_leave();
        j->n = n;
        j->task = task;
        j->res = &results[n];
        j->res->blocks = 1;
        j->res->bytes = sizeof *j;
        snprintf(j->res->ran_on[0], sizeof j->res->ran_on[0], "main");
        queue_push(&queues[route(n, 0)], j);
    }
    for (unsigned i = 0; i < STAGES * PER_STAGE; i++)
        pthread_join(threads[i].thread, NULL);

    uint64_t blocks = 0, bytes = 0, checksum = 0;
    for (unsigned n = 0; n < JOBS; n++) {
        const result_t *r = &results[n];
        if (verbose)
            printf("job-%u: threads %s %s %s %s blocks %llu bytes %llu\n", n, r->ran_on[0],
                   r->ran_on[1], r->ran_on[2], r->ran_on[3], (unsigned long long)r->blocks,
                   (unsigned long long)r->bytes);
        blocks += r->blocks;
        bytes += r->bytes;
        checksum ^= r->checksum;
    }
    unsigned fewest = JOBS, most = 0;
    for (unsigned i = 0; i < STAGES * PER_STAGE; i++) {
        fewest = threads[i].jobs_done < fewest ? threads[i].jobs_done : fewest;
        most = threads[i].jobs_done > most ? threads[i].jobs_done : most;
    }
    printf("enhanced_30_thread_demo: %d jobs through %d threads (%u to %u jobs each), "
           "%llu blocks, %llu bytes (checksum %016llx)\n",
           JOBS, STAGES * PER_STAGE, fewest, most, (unsigned long long)blocks,
           (unsigned long long)bytes, (unsigned long long)checksum);

    /* the reports MemoryAnalysis/enhanced_30_thread_demo.json and .html, rendered at exit (when
     * the trace is complete) by the memscope tool */
    int rc = memscope_auto_export("json,html");
    if (rc < 0)
        fprintf(stderr, "enhanced_30_thread_demo: memscope_auto_export: %s\n", memscope_strerror(rc));
    char path[4096];
    if (memscope_trace_path(path, sizeof path) > 0)
        printf("enhanced_30_thread_demo: trace written to %s\n", path);
    return 0;
}
