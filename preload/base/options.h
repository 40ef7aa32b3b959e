/* options.h: FORKAUDIT_OPTIONS, parsed without malloc so it can run in any constructor. */
#ifndef FA_OPTIONS_H
#define FA_OPTIONS_H

#include <stddef.h>

#include "base/fa.h" /* FA_MAX_FRAMES, FA_MAX_LOCK_FRAMES: ranges in options.def */

enum fa_format { FA_FORMAT_TEXT, FA_FORMAT_JSON };
/* on_child_deadlock, on_child_stuck: what a forked child does about a finding. */
enum fa_action { FA_ACTION_REPORT = 0, FA_ACTION_ABORT = 1, FA_ACTION_EXIT = 2 };
/* fds: which descriptors fds-at-fork and fds-leaked-at-exec list. */
enum fa_fds { FA_FDS_OWN = 0, FA_FDS_ALL = 1 };

#define FA_OPTION_PATH_MAX 1024

#include "base/options.def"

/* The field each option type is kept in (the types are described in options.def). */
#define FA_OPTION_FIELD_INT(name) int name
#define FA_OPTION_FIELD_SIGNAL(name) int name
#define FA_OPTION_FIELD_OUTPUT(name) char name[FA_OPTION_PATH_MAX]
#define FA_OPTION_FIELD_PATH(name) char name[FA_OPTION_PATH_MAX]
#define FA_OPTION_FIELD_FORMAT(name) enum fa_format name
#define FA_OPTION_FIELD_ACTION(name) enum fa_action name
#define FA_OPTION_FIELD_FDS(name) enum fa_fds name
#define FA_OPTION_FIELD_ARG(name) int name

struct fa_options {
#define FA_OPTION_DECLARE(type, name, dflt, min, max, values, help) FA_OPTION_FIELD_##type(name);
    FA_OPTIONS(FA_OPTION_DECLARE)
#undef FA_OPTION_DECLARE
};

/* Receives one complete diagnostic line (no trailing newline). */
typedef void (*fa_diag_fn)(const char *line, void *ctx);

/* The defaults, usable as a static initializer so wrappers that run before our
 * constructor (from another library's constructor) see sane values. */
#define FA_OPTION_DEFAULT(type, name, dflt, min, max, values, help) .name = dflt,
#define FA_OPTIONS_INITIALIZER {FA_OPTIONS(FA_OPTION_DEFAULT)}

/* The signal the other threads' stacks are collected with at a fork: stack_signal, or
 * FA_WATCHDOG_STACKS_SIGNAL when only child_watchdog asks for them (to name a suspect). */
#define FA_WATCHDOG_STACKS_SIGNAL 61
int fa_stacks_signal(const struct fa_options *o);

/* The options in force in this process. */
extern struct fa_options fa_opts;

/* Parses `spec` ("key=value" pairs separated by ':', ',' or whitespace) into `o`.
 * Unknown keys and bad values keep the default and produce one diagnostic line each
 * through `diag` (which may be NULL). Returns the number of problems found; never fails
 * otherwise. `spec` may be NULL. */
int fa_options_parse(struct fa_options *o, const char *spec, fa_diag_fn diag, void *ctx);

/* Secure execution (AT_SECURE: set-user-ID, set-group-ID, file capabilities): options that
 * name a file (log_path other than stderr/stdout, suppressions) come from someone who may
 * not own the privileges, so they go back to their defaults, as secure_getenv() would
 * have them. One diagnostic line through `diag` names the options ignored. Returns how
 * many were. */
int fa_options_drop_paths(struct fa_options *o, fa_diag_fn diag, void *ctx);

/* Writes the option list into buf (NUL-terminated, truncated to cap): each option with
 * the value in effect in `o`, its default when that differs, and its meaning. Returns
 * the length written. */
size_t fa_options_help(const struct fa_options *o, char *buf, size_t cap);

#endif
