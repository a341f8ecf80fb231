/* Call-stack sites (sites.c): classification of a site's frames, the
 * suppressions (LeakSanitizer's `leak:PATTERN` lines), and what tools need
 * of them. The figures are view_sites.c's; docs/JSON.md states the rules. */
#ifndef MSX_SITES_H
#define MSX_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* Parsed suppressions. */
typedef struct msx_supp msx_supp;

/* Parses a suppressions file's text: `leak:PATTERN` lines, `#` comments and
 * blank lines; any other line is skipped, and described in problems[] (up
 * to maxp messages, *np of them, owned by the caller). Returns 0 and a new
 * set in *out, or -ENOMEM. */
int msx_supp_parse(msx_supp **out, const char *text, size_t len, msx_str *problems, uint32_t maxp, uint32_t *np);
/* Frees a set. Safe on NULL. */
void msx_supp_free(msx_supp *s);
/* Patterns in a set (0 for NULL). */
uint32_t msx_supp_count(const msx_supp *s);
/* LeakSanitizer's match: `*` matches any run of bytes, a leading `^` and a
 * trailing `$` anchor the pattern; otherwise it may match anywhere. An
 * empty string matches nothing. */
bool msx_supp_match(const char *pat, size_t pn, const char *s, size_t sn);
/* Marks the sites matched by S (NULL: none) suppressed (a pattern matching
 * any frame's function, file or module, the module also by its file name),
 * and recomputes the report's leak totals by kind. */
void msx_sites_suppress(msx_report *r, const msx_supp *S);

/* Chooses the site's own frame (the innermost whose module is not the
 * runtime's; if none, the innermost) and decides `runtime`. */
void msx_site_classify(const msx_report *r, msx_site_report *s);
/* Whether a module (its recorded path) is of the C/C++ runtime or memscope's
 * own allocator: libc, the loader, libstdc++, libgcc_s, libm, libpthread,
 * libdl, libmemscope_alloc. */
bool msx_module_is_runtime(const msx_str *module);
bool msx_module_is_memscope(const msx_str *module);

/* Appends the sites as collapsed stacks (folded.c), each with figure
 * `value` (sites whose figure is 0 are left out). Returns 0 or -ENOMEM. */
struct msx_buf;
int msx_render_folded(struct msx_buf *b, const msx_report *r, msx_site_fig value);

#endif /* MSX_SITES_H */
