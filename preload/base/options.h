/* options.h: FORKAUDIT_OPTIONS, parsed without malloc so it can run in any constructor. */
#ifndef FA_OPTIONS_H
#define FA_OPTIONS_H

#include <stddef.h>

enum fa_format { FA_FORMAT_TEXT, FA_FORMAT_JSON };

struct fa_options {
    char log_path[1024];   /* "stderr", "stdout" or a path template (%p = pid) */
    enum fa_format format;
    int verbosity;         /* 0 findings, 1 + a record per fork, 2 + auditor debugging */
    int stack_depth;       /* frames per stack in a record, 1..FA_MAX_FRAMES */
    int lock_stack_depth;  /* frames kept per lock acquisition, 1..FA_MAX_LOCK_FRAMES */
    int max_threads;       /* entries in one threads-at-fork record */
    int max_locks;         /* lock-held-at-fork records per fork */
    int max_fds;           /* entries in one fds-at-fork record */
    int stack_signal;      /* signal used to unwind other threads at a fork; 0: do not */
    int dump_signal;       /* signal that makes the process write a state record; 0: off */
    int help;              /* print the option list at start-up */
    int on_child_deadlock; /* enum fa_action: what a child about to block forever does */
    char suppressions[1024]; /* file of kind:pattern rules, "" for none */
    int exitcode;          /* exit status of a process that reported an error; 0: unchanged */
    int child_deadlock_exit; /* exit status for FA_ACTION_EXIT */
    int child_watchdog;    /* seconds after which a blocked child of a threaded parent is checked; 0: off */
    int on_child_stuck;    /* FA_ACTION_REPORT or FA_ACTION_ABORT: what a child-stuck child does */
};

enum fa_action { FA_ACTION_REPORT = 0, FA_ACTION_ABORT = 1, FA_ACTION_EXIT = 2 };

/* Receives one complete diagnostic line (no trailing newline). */
typedef void (*fa_diag_fn)(const char *line, void *ctx);

/* The defaults, usable as a static initializer so wrappers that run before our
 * constructor (from another library's constructor) see sane values. */
#define FA_OPTIONS_INITIALIZER                                                              \
    {                                                                                       \
        .log_path = "stderr", .format = FA_FORMAT_TEXT, .verbosity = 0, .stack_depth = 16,  \
        .lock_stack_depth = 1, .max_threads = 256, .max_locks = 64, .max_fds = 256, .stack_signal = 0, .dump_signal = 0, \
        .help = 0, .on_child_deadlock = FA_ACTION_REPORT, .child_deadlock_exit = 0, .child_watchdog = 0,             \
        .on_child_stuck = FA_ACTION_REPORT                                                  \
    }

/* The signal the other threads' stacks are collected with at a fork: stack_signal, or
 * FA_WATCHDOG_STACKS_SIGNAL when only child_watchdog asks for them (to name a suspect). */
#define FA_WATCHDOG_STACKS_SIGNAL 61
int fa_stacks_signal(const struct fa_options *o);

/* The options in force in this process. */
extern struct fa_options fa_opts;

void fa_options_defaults(struct fa_options *o);

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
