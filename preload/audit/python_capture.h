/* python_capture.h: what a fork in a CPython process adds to its snapshot — every Python
 * thread's stack (faulthandler's writer), their threading names, which held locks are
 * Python locks and which of them CPython itself repairs in the child — and what a forked
 * child keeps of it for its own records (child-deadlock). */
#ifndef FA_PYTHON_CAPTURE_H
#define FA_PYTHON_CAPTURE_H

#include <stddef.h>

#include "audit/snapshot.h"
#include "out/pystack.h"

/* In the parent, just before the real fork, after the locks and threads were captured.
 * Does nothing unless the process runs CPython, the fork was called from the interpreter's
 * own code (`call_site`: os.fork(), not a C signal handler) and the forking thread holds
 * the GIL, as os.fork() does (then s->py_fork is set). When a semaphore is held it
 * captures at once (see _after): locks CPython re-initialises in the child (every
 * thread's threading state lock, the import lock taken by os.fork(), logging's locks,
 * ...) leave s->locks and are counted in locks_protected, and the child keeps where the
 * holders of the others were (fa_python_site_of_lock). */
void fa_python_capture_before(struct fa_snapshot *s, const void *call_site);

/* In the parent after the real fork, when a record will be written (os.fork() still holds
 * the GIL): every Python thread's stack and threading name into s->py, unless done before. */
void fa_python_capture_after(struct fa_snapshot *s);

/* In a forked child: the Python site where the holder of `lock` was at the fork ("file",
 * line, "function" of its innermost frame in the program's own code), from what the
 * parent captured; 0 when nothing is known. Async-signal-safe. */
int fa_python_site_of_lock(const void *lock, struct fa_py_site *out);

/* The calling thread's Python stack now, as faulthandler writes it, into buf (at most
 * cap bytes); its length, 0 when the thread runs no Python. Async-signal-safe: for a
 * child blocking on a lock (child-deadlock). */
size_t fa_python_dump_this_thread(char *buf, size_t cap);

#endif
