/* pystack.h: Python stacks (base/pyframes.h) rendered as records show them:
 * JSON "python_stack":[{"file","line","function","own"}], innermost first, and text lines
 * that read like a Python traceback. Async-signal-safe. */
#ifndef FA_PYSTACK_H
#define FA_PYSTACK_H

#include <stddef.h>
#include <sys/types.h>

#include "base/fmt.h"
#include "base/pyframes.h"

/* Where a lock's holder was in Python at the fork, kept for a forked child (which has no
 * snapshot): its innermost frame in the program's own code, and the lock's Python name. */
struct fa_py_site {
    char file[200];
    long line;
    char function[64];
    char kind[24];  /* "threading.Lock", ... or "" */
    char name[96];  /* "__main__.lock" or "" */
    char taken_file[200]; /* where the holder took it (its innermost own frame then), "" when not known */
    long taken_line;
    char taken_function[64];
};
/* ,"KEY":[{"file":..,"line":..,"function":..,"own":..},...] (nothing when n is 0) */
void fa_pystack_json(struct fa_buf *b, const char *key, const struct fa_py_frame *f, int n);
/* "==PID== " INDENT "File \"x.py\", line N, in func" for each frame, innermost first, after
 * a line "==PID== " TITLE (which ends its line). Nothing when n is 0. */
void fa_pystack_text(struct fa_buf *b, pid_t pid, const char *title, const char *indent,
                     const struct fa_py_frame *f, int n);

#endif
