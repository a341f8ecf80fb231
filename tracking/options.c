/* The option table and its parser. See options.h. */
#include "options.h"

#include "prim.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum opt_type {
    OPT_STRING, /* any text */
    OPT_NAME,   /* a file name: no '/', not starting with '.' */
    OPT_SIZE,   /* bytes, K/M/G accepted, rounded up to whole pages */
    OPT_COUNT,  /* a number, K/M/G accepted */
    OPT_MODE,   /* full | sampled | off, any case */
    OPT_UNWIND, /* auto | fp | libunwind, any case */
    OPT_FRACTION, /* a decimal fraction 0 < x <= 1, kept as x * 2^32 */
    OPT_LIST,   /* comma list of json, html, bin */
} opt_type_t;

typedef struct opt_desc {
    const char *name;     /* MEMSCOPE_<name> */
    opt_type_t type;
    const char *def;      /* default, as the user would write it */
    uint64_t min, max;    /* bounds of numeric options */
} opt_desc_t;

/* The one table. README.md documents each entry; keep them in step. */
static const opt_desc_t opt_table[MS_OPT_COUNT] = {
    [MS_OPT_OUTPUT]      = { "OUTPUT",      OPT_STRING, "MemoryAnalysis", 0, 0 },
    [MS_OPT_NAME]        = { "NAME",        OPT_NAME,   "",               0, 0 },
    [MS_OPT_MODE]        = { "MODE",        OPT_MODE,   "full",           0, 0 },
    [MS_OPT_BUFFER_SIZE] = { "BUFFER_SIZE", OPT_SIZE,   "256K",             64u << 10, 1u << 30 },
    [MS_OPT_MAX_EVENTS]  = { "MAX_EVENTS",  OPT_COUNT,  "0",              0, UINT64_MAX },
    [MS_OPT_AUTO_EXPORT] = { "AUTO_EXPORT", OPT_LIST,   "",               0, 0 },
    [MS_OPT_TOOL]        = { "TOOL",        OPT_STRING, "",               0, 0 },
    [MS_OPT_CHILDREN]    = { "CHILDREN",    OPT_COUNT,  "1",              0, 1 },
    [MS_OPT_METRICS_INTERVAL] = { "METRICS_INTERVAL", OPT_COUNT, "100",  0, 3600000 },
    [MS_OPT_STACK_DEPTH] = { "STACK_DEPTH", OPT_COUNT,  "0",              0, 128 },
    [MS_OPT_UNWIND]      = { "UNWIND",      OPT_UNWIND, "auto",           0, 0 },
    [MS_OPT_SAMPLE_BYTES] = { "SAMPLE_BYTES", OPT_COUNT, "512K",          1, 1ull << 40 },
    [MS_OPT_SAMPLE_RATE] = { "SAMPLE_RATE", OPT_FRACTION, "",             0, 0 },
    [MS_OPT_SAMPLE_SEED] = { "SAMPLE_SEED", OPT_COUNT,  "0",              0, UINT64_MAX },
};

#define OPT_STR_MAX 1024

typedef struct opt_value {
    char str[OPT_STR_MAX];
    uint64_t u64;
} opt_value_t;

static opt_value_t opt_values[MS_OPT_COUNT];

bool ms_parse_size(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return true;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        /* v * 10 + d <= UINT64_MAX; (UINT64_MAX - 9) / 10 refused
         * 18446744073709551610 to ...615, the largest counts */
        if (v > (UINT64_MAX - d) / 10)
            return true;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (*s) {
    case '\0': break;
    case 'k': case 'K': shift = 10; s++; break;
    case 'm': case 'M': shift = 20; s++; break;
    case 'g': case 'G': shift = 30; s++; break;
    default: return true;
    }
    if (*s == 'i' || *s == 'I') /* accept KiB / MiB spelled out */
        s++;
    if (*s == 'b' || *s == 'B')
        s++;
    if (*s != '\0')
        return true;
    if (shift && v > (UINT64_MAX >> shift))
        return true;
    *out = v << shift;
    return false;
}

/* Checks a list option: comma-separated words from `allowed`. True on error. */
static bool list_invalid(const char *s)
{
    static const char *const allowed[] = { "json", "html", "bin" };
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        bool ok = n == 0;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            if (strlen(allowed[i]) == n && memcmp(allowed[i], s, n) == 0)
                ok = true;
        if (!ok)
            return true;
        s += n + (e != NULL);
    }
    return false;
}

/* Parses text for option o into v. Returns true on error. */
/* Parses a decimal fraction 0 < x <= 1 ("0.01", ".5", "1", "1.0") into
 * x * 2^32, rounded, at least 1. "" is 0 (not set). Returns true on error.
 * No strtod: it may allocate, and this runs before malloc is ready. */
static bool parse_fraction(const char *s, uint64_t *out)
{
    if (*s == '\0') {
        *out = 0;
        return false;
    }
    uint64_t ip = 0, num = 0, den = 1;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((ip = ip * 10 + (uint64_t)(*p - '0')) > 1)
            return true;
    bool digits = p != s;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            digits = true;
            if (den < 1000000000000ull) { /* 12 decimals are plenty */
                num = num * 10 + (uint64_t)(*p - '0');
                den *= 10;
            }
        }
    }
    if (*p != '\0' || !digits || (ip == 1 && num != 0))
        return true;
    if (ip == 1) {
        *out = 1ull << 32;
        return false;
    }
    /* num / den * 2^32 without overflow: den <= 10^12 < 2^40, num < den */
    unsigned __int128 x = ((unsigned __int128)num << 32) + den / 2;
    uint64_t v = (uint64_t)(x / den);
    if (v == 0)
        return true; /* 0, or too small to sample anything */
    *out = v;
    return false;
}

static bool opt_parse(ms_opt_t o, const char *text, opt_value_t *v)
{
    const opt_desc_t *d = &opt_table[o];
    switch (d->type) {
    case OPT_STRING:
    case OPT_NAME:
    case OPT_LIST:
        if (strlen(text) >= OPT_STR_MAX)
            return true;
        if (d->type == OPT_LIST && list_invalid(text))
            return true;
        /* A name becomes part of a path in the output directory: it must not
         * lead out of it (../x, a/b) nor hide the file (.x). */
        if (d->type == OPT_NAME && (text[0] == '.' || strchr(text, '/')))
            return true;
        strcpy(v->str, text);
        return false;
    case OPT_MODE:
        if (strcasecmp(text, "full") == 0)
            v->u64 = MS_MODE_FULL;
        else if (strcasecmp(text, "off") == 0)
            v->u64 = MS_MODE_OFF;
        else if (strcasecmp(text, "sampled") == 0)
            v->u64 = MS_MODE_SAMPLED;
        else
            return true;
        strcpy(v->str, text);
        return false;
    case OPT_UNWIND:
        if (strcasecmp(text, "auto") == 0)
            v->u64 = MS_UNWIND_AUTO;
        else if (strcasecmp(text, "fp") == 0)
            v->u64 = MS_UNWIND_FP;
        else if (strcasecmp(text, "libunwind") == 0)
            v->u64 = MS_UNWIND_LIBUNWIND;
        else
            return true;
        strcpy(v->str, text);
        return false;
    case OPT_FRACTION:
        if (strlen(text) >= OPT_STR_MAX || parse_fraction(text, &v->u64))
            return true;
        strcpy(v->str, text);
        return false;
    case OPT_SIZE:
    case OPT_COUNT: {
        uint64_t x;
        if (ms_parse_size(text, &x))
            return true;
        if (x < d->min || x > d->max)
            return true;
        if (d->type == OPT_SIZE)
            x = (x + 4095) & ~(uint64_t)4095; /* whole pages */
        v->u64 = x;
        return false;
    }
    }
    return true;
}

void ms_options_load(void)
{
    for (int i = 0; i < MS_OPT_COUNT; i++) {
        const opt_desc_t *d = &opt_table[i];
        opt_value_t *v = &opt_values[i];
        memset(v, 0, sizeof *v);
        (void)opt_parse((ms_opt_t)i, d->def, v); /* defaults always parse */

        char var[64] = "MEMSCOPE_";
        strcat(var, d->name);
        const char *text = secure_getenv(var);
        if (!text || !text[0]) /* set but empty: as if unset */
            continue;
        opt_value_t nv;
        memset(&nv, 0, sizeof nv);
        if (opt_parse((ms_opt_t)i, text, &nv)) {
            char msg[256];
            size_t n = strlen(text);
            /* One line, with the value cut short so a huge one cannot flood. */
            strcpy(msg, "memscope: ignoring invalid ");
            strcat(msg, var);
            strcat(msg, "='");
            strncat(msg, text, n > 64 ? 64 : n);
            strcat(msg, n > 64 ? "...'" : "'");
            strcat(msg, ", using the default '");
            strcat(msg, d->def);
            strcat(msg, "'\n");
            ms_prim_stderr(msg);
            continue;
        }
        *v = nv;
    }
}

int ms_option_set(ms_opt_t o, const char *text)
{
    opt_value_t nv;
    memset(&nv, 0, sizeof nv);
    if (opt_parse(o, text, &nv))
        return -1;
    opt_values[o] = nv;
    return 0;
}

const char *ms_option_str(ms_opt_t o)
{
    return opt_values[o].str;
}

uint64_t ms_option_u64(ms_opt_t o)
{
    return opt_values[o].u64;
}

const char *ms_option_name(ms_opt_t o)
{
    return opt_table[o].name;
}

const char *ms_option_text(ms_opt_t o, char *buf, size_t len)
{
    switch (opt_table[o].type) {
    case OPT_SIZE:
    case OPT_COUNT:
        if (len < 21)
            return "";
        ms_fmt_u64(buf, opt_values[o].u64);
        return buf;
    default:
        return opt_values[o].str;
    }
}

/* Removes every entry naming libmemscope_alloc from LD_PRELOAD (entries are
 * separated by ':' or spaces), so that children and exec'd images of this
 * process are not traced. */
void ms_options_drop_preload(void)
{
    const char *v = getenv("LD_PRELOAD");
    if (!v)
        return;
    char out[4096];
    size_t o = 0;
    while (*v) {
        size_t n = strcspn(v, ": ");
        bool self = false;
        for (size_t i = 0; i + 17 <= n && !self; i++)
            self = memcmp(v + i, "libmemscope_alloc", 17) == 0;
        if (n && !self && o + n + 1 >= sizeof out)
            return; /* the rest would not fit: leave LD_PRELOAD as it is */
        if (n && !self) {
            if (o)
                out[o++] = ':';
            memcpy(out + o, v, n);
            o += n;
        }
        v += n;
        v += *v != '\0';
    }
    out[o] = '\0';
    if (o)
        setenv("LD_PRELOAD", out, 1);
    else
        unsetenv("LD_PRELOAD");
}
