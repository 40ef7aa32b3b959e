/* pystack.h: Python stacks as CPython's faulthandler writes them (the text that
 * audit/python_capture.c keeps), read back into frames, and rendered as records show them:
 * JSON "python_stack":[{"file","line","function","own"}], innermost first, and text lines
 * that read like a Python traceback. Async-signal-safe. */
#ifndef FA_PYSTACK_H
#define FA_PYSTACK_H

#include <stddef.h>
#include <sys/types.h>

#include "base/fmt.h"

#define FA_PY_MAX_FRAMES 100 /* faulthandler's own limit */

struct fa_py_frame {
    const char *file;
    size_t file_len;
    long line;           /* -1 when unknown */
    const char *function;
    size_t function_len;
    int own;             /* the program's own code: not the standard library, not an installed package */
};

/* Where a lock's holder was in Python at the fork, kept for a forked child (which has no
 * snapshot): its innermost frame in the program's own code, and the lock's Python name. */
struct fa_py_site {
    char file[200];
    long line;
    char function[64];
    char kind[24];  /* "threading.Lock", ... or "" */
    char name[96];  /* "__main__.lock" or "" */
};
/* A thread's section in a dump: `self` its pthread_t (0: the dump's "Current thread", or a
 * one-thread dump's "Stack"). Fills up to `max` frames, innermost first; returns their
 * count, 0 when the thread is not in the dump or has no Python frame. `stdlib_dir` (may
 * be "" or NULL) decides `own`. */
int fa_pystack_frames(const char *text, size_t len, unsigned long self, const char *stdlib_dir,
                      struct fa_py_frame *out, int max);

/* The innermost frame of the program's own code, else the innermost one; NULL when n is 0. */
const struct fa_py_frame *fa_pystack_site(const struct fa_py_frame *f, int n);

/* ,"KEY":[{"file":..,"line":..,"function":..,"own":..},...] (nothing when n is 0) */
void fa_pystack_json(struct fa_buf *b, const char *key, const struct fa_py_frame *f, int n);
/* "==PID== " INDENT "File \"x.py\", line N, in func" for each frame, innermost first, after
 * a line "==PID== " TITLE (which ends its line). Nothing when n is 0. */
void fa_pystack_text(struct fa_buf *b, pid_t pid, const char *title, const char *indent,
                     const struct fa_py_frame *f, int n);

#endif
