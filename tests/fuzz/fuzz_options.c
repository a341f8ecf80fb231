/* libFuzzer target: the option parser (tracking/options.c). The input is
 * lines: the first is given to ms_parse_size, the next ones become the
 * values of MEMSCOPE_<name> for the options in table order (a missing line
 * unsets the variable), then ms_options_load reads them. Checks: the size
 * parser agrees with a plain reading of docs (digits, then K/M/G, optionally
 * "i" and "B"); every option in force is within its documented bounds, and a
 * valid value is taken as given. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The documented size syntax, read independently of ms_parse_size. Returns
 * true if s is a valid size, with its value in *out. */
static bool ref_size(const char *s, uint64_t *out)
{
    const char *p = s;
    unsigned __int128 v = 0;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p++ - '0');
        if (v > UINT64_MAX)
            return false;
    }
    unsigned shift = 0;
    const char *units = "kKmMgG";
    if (*p && strchr(units, *p)) {
        shift = 10 * (unsigned)(1 + (strchr(units, *p) - units) / 2);
        p++;
        if (*p == 'i' || *p == 'I')
            p++;
        if (*p == 'b' || *p == 'B')
            p++;
    }
    if (*p)
        return false;
    v <<= shift;
    if (v > UINT64_MAX)
        return false;
    *out = (uint64_t)v;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';

    /* Split into lines; a NUL ends the input (environment values cannot hold one). */
    char *line[1 + MS_OPT_COUNT] = { 0 };
    int nlines = 0;
    for (char *p = text; nlines < 1 + MS_OPT_COUNT;) {
        line[nlines++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }

    uint64_t got = 0, want = 0;
    bool bad = ms_parse_size(line[0], &got);
    bool ok = ref_size(line[0], &want);
    FUZZ_CHECK(bad == !ok);
    FUZZ_CHECK(bad || got == want);

    /* putenv of buffers of our own: setenv would keep every value it ever
     * replaced (glibc does), and a long run would grow without bound. */
    static char env[MS_OPT_COUNT][64 + 8192 + 1];
    for (int i = 0; i < MS_OPT_COUNT; i++) {
        char var[64] = "MEMSCOPE_";
        strcat(var, ms_option_name((ms_opt_t)i));
        if (line[1 + i]) {
            snprintf(env[i], sizeof env[i], "%s=%s", var, line[1 + i]);
            FUZZ_CHECK(putenv(env[i]) == 0);
        } else {
            unsetenv(var);
        }
    }
    /* options.c warns on stderr about each bad value: at 100000 runs a second
     * that would flood the log, so its stderr goes to /dev/null while it
     * reads (and the checks below still print). */
    static int quiet = -1, saved = -1;
    if (quiet < 0) {
        quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
        FUZZ_CHECK(quiet >= 0 && saved >= 0);
    }
    FUZZ_CHECK(dup2(quiet, 2) == 2);
    ms_options_load();
    FUZZ_CHECK(dup2(saved, 2) == 2);

    uint64_t buf = ms_option_u64(MS_OPT_BUFFER_SIZE);
    FUZZ_CHECK(buf >= (64u << 10) && buf <= (1u << 30) && buf % 4096 == 0);
    const char *bs = line[1 + MS_OPT_BUFFER_SIZE];
    uint64_t x;
    if (bs && ref_size(bs, &x) && x >= (64u << 10) && x <= (1u << 30))
        FUZZ_CHECK(buf == ((x + 4095) & ~(uint64_t)4095));
    FUZZ_CHECK(ms_option_u64(MS_OPT_CHILDREN) <= 1);
    FUZZ_CHECK(ms_option_u64(MS_OPT_MODE) <= MS_MODE_SAMPLED);
    FUZZ_CHECK(ms_option_u64(MS_OPT_UNWIND) <= MS_UNWIND_LIBUNWIND);
    FUZZ_CHECK(ms_option_u64(MS_OPT_STACK_DEPTH) <= 128);
    /* a rate is 0 (unset) or a fraction in (0, 1] of 2^32 */
    FUZZ_CHECK(ms_option_u64(MS_OPT_SAMPLE_RATE) <= (1ull << 32));
    const char *me = line[1 + MS_OPT_MAX_EVENTS];
    if (me && ref_size(me, &x))
        FUZZ_CHECK(ms_option_u64(MS_OPT_MAX_EVENTS) == x);
    const char *name = ms_option_str(MS_OPT_NAME);
    FUZZ_CHECK(name[0] != '.' && strchr(name, '/') == NULL);
    for (int i = 0; i < MS_OPT_COUNT; i++) {
        char tb[32];
        const char *t = ms_option_text((ms_opt_t)i, tb, sizeof tb);
        FUZZ_CHECK(t != NULL && strlen(t) < 1024);
        const char *v = line[1 + i];
        /* A string option holds the value given, or the default when refused. */
        if (i == MS_OPT_OUTPUT || i == MS_OPT_TOOL)
            FUZZ_CHECK(v && v[0] && strlen(v) < 1024 ? strcmp(ms_option_str((ms_opt_t)i), v) == 0 : true);
    }
    free(text);
    return 0;
}
