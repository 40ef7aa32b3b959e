/* suppress.h: suppressions, as the sanitizers take them: option suppressions=FILE, one
 * `kind:pattern` per line, `#` comments, `*` wildcards. A finding is suppressed when the
 * pattern matches (anywhere, as a substring) a function name or module path in one of
 * its key stacks (a C++ function by its demangled name or its symbol), or the target of a
 * descriptor for the fd kinds. `kind:^pattern` names one site: the whole name of the
 * innermost named frame (or "module+0xOFFSET" of a stack without names), or a whole text. */
#ifndef FA_SUPPRESS_H
#define FA_SUPPRESS_H

#include <stdint.h>

#include "base/fmt.h"
#include "base/options.h"

/* 1 when rules were loaded (nothing to check otherwise). */
int fa_suppress_any(void);
/* Reads the file (start-up); problems are said on stderr with the line number. */
void fa_suppress_load(const char *path);
/* Adds the rules of `text`, the contents of file `path` (modified in place: lines are
 * cut at their newlines). Each problem is one diagnostic line through `diag` (may be
 * NULL), naming the file and line. Returns the number of problems. */
int fa_suppress_parse(char *text, const char *path, fa_diag_fn diag, void *ctx);
/* Forgets every rule (for tests). */
void fa_suppress_clear(void);
/* Rule `i` (for tests): 1 and its kind and pattern, 0 past the last rule. */
int fa_suppress_rule(int i, const char **kind, const char **pattern);
/* 1 when a rule of `kind` matches a frame of `pc` (counts the hit). */
int fa_suppress_frames(const char *kind, const uintptr_t *pc, int n);
/* 1 when a rule of `kind` matches `text` (a descriptor's target, a routine's name). */
int fa_suppress_text(const char *kind, const char *text);
/* Appends the rule that would silence a finding whose key stack is `pc` and no other:
 * "kind:function" (the innermost named frame; "kind:^main" anchored when it is a frame
 * every stack has), "kind:^module+0xOFFSET" when no frame has a name, or "kind:text" when
 * there is no stack. Returns 0 and appends nothing when no rule would be specific (no
 * stack and a text like "*", "pipe:*" or a temporary path). */
int fa_suppress_suggest(struct fa_buf *b, const char *kind, const uintptr_t *pc, int n, const char *text);
/* 1 for a path under /tmp, /var/tmp or /dev/shm (named differently every run). */
int fa_temporary_path(const char *path);
/* How many findings rule `i` silenced so far (0 past the last rule). */
unsigned long fa_suppress_hits(int i);

/* Pure matcher, exposed for unit tests: `*` matches any run; the pattern may match
 * anywhere in the text. */
int fa_glob_substring(const char *pattern, const char *text);
/* The same, matching the whole text (anchored rules, "kind:^pattern"). */
int fa_glob_whole(const char *pattern, const char *text);

#endif
