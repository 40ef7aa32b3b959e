/* pyframes.h: Python stacks as CPython's faulthandler writes them, read back into frames
 * (innermost first), and which of them are the program's own code. Async-signal-safe;
 * out/pystack.h renders them. */
#ifndef FA_PYFRAMES_H
#define FA_PYFRAMES_H

#include <stddef.h>

#define FA_PY_MAX_FRAMES 100 /* faulthandler's own limit */

struct fa_py_frame {
    const char *file;
    size_t file_len;
    long line;           /* -1 when unknown */
    const char *function;
    size_t function_len;
    int own;             /* the program's own code: not the standard library, not an installed package */
};

/* A thread's section in a dump: `self` its pthread_t (0: the dump's "Current thread", or a
 * one-thread dump's "Stack"). Fills up to `max` frames, innermost first; returns their
 * count, 0 when the thread is not in the dump or has no Python frame. `stdlib_dir` (may
 * be "" or NULL) decides `own`. */
int fa_pyframes_parse(const char *text, size_t len, unsigned long self, const char *stdlib_dir,
                      struct fa_py_frame *out, int max);

/* 1 when the dump lists every thread of the interpreter (faulthandler stops at 100 and
 * writes "..." on a line of its own): then a thread absent from it has no thread state. */
int fa_pyframes_dump_complete(const char *text, size_t len);

/* 1 when the dump has a section for thread `self` (0: the current thread), frames or not. */
int fa_pyframes_listed(const char *text, size_t len, unsigned long self);

/* 1 when the frame's file is the program's own: not under `stdlib_dir` (or, when that is
 * "" or NULL, any .../lib/python3.N/), not in site-/dist-packages, not <frozen ...>. */
int fa_pyframes_own(const struct fa_py_frame *f, const char *stdlib_dir);

/* For a file under ".../lib/python3.N/" (where the standard library lives; used when its
 * directory is not known): the path's rest after that directory, else NULL. */
const char *fa_pyframes_stdlib_part(const struct fa_py_frame *f);

/* How many of n frames a report shows at `depth`: depth, or past it down to the innermost
 * frame of the program's own code, so a stack never stops inside the standard library
 * just above the program's line. */
int fa_pyframes_depth(const struct fa_py_frame *f, int n, int depth);

/* A frame of the runtime's process machinery: the standard library's multiprocessing/ or
 * concurrent/futures/ (what they open and run is shared with their workers by design). */
int fa_pyframes_in_process_machinery(const struct fa_py_frame *f);

/* A thread that is multiprocessing's own (a Pool's task, result and worker handlers, a
 * Queue's feeder, a thread blocked in Pool.map's wait): its innermost frame outside
 * threading.py (its bootstrap, its waits) is in multiprocessing/ or in
 * concurrent/futures/process.py. Not a ThreadPoolExecutor's workers: a child that uses
 * the executor waits for them. */
int fa_pyframes_process_machinery_thread(const struct fa_py_frame *f, int n);

/* The innermost frame of the program's own code, else the innermost one; NULL when n is 0. */
const struct fa_py_frame *fa_pyframes_site(const struct fa_py_frame *f, int n);

#endif
