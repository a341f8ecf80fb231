/* basic_usage: a small program whose memory memscope records.
 *
 * It builds a word-frequency table from a text it generates deterministically,
 * keeps a history of lines, resizes a buffer as it grows, frees most of it, and
 * forgets one block on purpose so that the report has a leak to show. It
 * tracks variables of each kind: its table, its history and the words' texts
 * by the heap block (MEMSCOPE_TRACK, _TYPED), its statistics struct by value
 * (MEMSCOPE_TRACK_SMART), and a summary line that it owns for one scope
 * (MEMSCOPE_TRACK_OWNED, freed at the scope's end); its two phases are
 * scopes (MEMSCOPE_SCOPE). At the end it takes a runtime snapshot
 * (memscope_snapshot_take) and prints what is live. The reports are rendered
 * at exit (memscope_auto_export) into MEMSCOPE_OUTPUT.
 *
 * Build it against the library (the demo does this) and run it:
 *     MEMSCOPE_OUTPUT=MemoryAnalysis ./basic_usage
 * or run any program under memscope with LD_PRELOAD. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memscope.h"

typedef struct word {
    char *text;
    unsigned count;
    struct word *next;
} word_t;

#define BUCKETS 1024

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % BUCKETS;
}

/* Counts one word in the table, allocating an entry the first time. */
static void count_word(word_t **table, const char *w)
{
    unsigned h = hash(w);
    for (word_t *e = table[h]; e; e = e->next) {
        if (strcmp(e->text, w) == 0) {
            e->count++;
            return;
        }
    }
    word_t *e = malloc(sizeof *e);
    e->text = strdup(w);
    MEMSCOPE_TRACK_TYPED(e->text, char *); /* one row in the report for every word's text */
    e->count = 1;
    e->next = table[h];
    table[h] = e;
}

/* What main learns about its text: tracked by value. */
typedef struct stats {
    unsigned distinct, most;
    size_t history_len;
} stats_t;

int main(void)
{
    static const char *const syllables[] = { "ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi" };
    int rc = memscope_auto_export("json,html"); /* the reports, at exit */
    if (rc < 0)
        fprintf(stderr, "basic_usage: memscope_auto_export: %s\n", memscope_strerror(rc));
    word_t **table = calloc(BUCKETS, sizeof *table);
    MEMSCOPE_TRACK_TYPED(table, word_t **);
    char *history = NULL;
    size_t history_len = 0;
    uint32_t x = 12345;

    {
    MEMSCOPE_SCOPE("read text"); /* the blocks of this phase carry the scope */
    for (int line = 0; line < 2000; line++) {
        char buf[256] = "";
        for (int w = 0; w < 8; w++) {
            char word[32] = "";
            int syl = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 3;
            for (int s = 0; s < syl; s++)
                strcat(word, syllables[((x = x * 1103515245u + 12345u) >> 16) % 8]);
            count_word(table, word);
            strcat(buf, word);
            strcat(buf, " ");
        }
        /* The history grows by realloc, as a log buffer would. */
        size_t n = strlen(buf);
        char *grown = realloc(history, history_len + n + 1);
        if (!grown)
            return 1;
        if (!history)
            MEMSCOPE_TRACK(grown); /* the label follows the block through its reallocs */
        history = grown;
        memcpy(history + history_len, buf, n + 1);
        history_len += n;
        /* A temporary per line: allocated and freed at once. */
        char *upper = malloc(n + 1);
        for (size_t i = 0; i <= n; i++)
            upper[i] = (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
        free(upper);
    }
    }

    unsigned distinct = 0, most = 0;
    const char *top = "";
    for (int b = 0; b < BUCKETS; b++) {
        for (word_t *e = table[b]; e; e = e->next) {
            distinct++;
            if (e->count > most) {
                most = e->count;
                top = e->text;
            }
        }
    }
    stats_t st = { distinct, most, history_len };
    MEMSCOPE_TRACK_SMART(st); /* a value: recorded with its size */
    {
        MEMSCOPE_SCOPE("summary");
        MEMSCOPE_TRACK_OWNED(char *, summary, malloc(256)); /* freed at the end of this block */
        if (summary) {
            snprintf(summary, 256, "%u distinct words, \"%s\" seen %u times, history %zu bytes", st.distinct, top,
                     st.most, st.history_len);
            printf("basic_usage: %s\n", summary);
        }
    }

    /* Free everything but one entry's text: a deliberate leak. */
    int leaked = 0;
    for (int b = 0; b < BUCKETS; b++) {
        word_t *e = table[b];
        while (e) {
            word_t *next = e->next;
            if (!leaked && e->count == most)
                leaked = 1; /* forget e->text */
            else
                free(e->text);
            free(e);
            e = next;
        }
    }
    free(table);
    free(history);

    memscope_snapshot_t *snap = memscope_snapshot_take();
    if (snap) /* the leak, and what stdio keeps */
        printf("basic_usage: snapshot %llu: %llu bytes live\n", (unsigned long long)memscope_snapshot_id(snap),
               (unsigned long long)memscope_snapshot_live_bytes(snap));
    memscope_snapshot_release(snap);

    char path[4096];
    if (memscope_trace_path(path, sizeof path) > 0)
        printf("basic_usage: trace written to %s\n", path);
    return 0;
}
