/* python_io.h: Python's own buffered output at a fork (stdio-unflushed-at-fork). os.fork()
 * flushes nothing: what sys.stdout, sys.stderr or an open file object still holds in its
 * io.TextIOWrapper and io.BufferedWriter is in the child's copy too, and both processes
 * write it (multiprocessing flushes sys.stdout and sys.stderr before it forks). */
#ifndef FA_AUDIT_PYTHON_IO_H
#define FA_AUDIT_PYTHON_IO_H

#include "audit/snapshot.h"
#include "base/python.h"

/* Adds to s->streams (after the C stdio streams) every Python stream with bytes pending:
 * sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__, then io.TextIOWrapper,
 * io.BufferedWriter and io.BufferedRandom objects bound to module globals. Only with the
 * GIL held by the caller (fa_python_can_call) and a CPython whose io layouts are known
 * (3.8 to 3.12); otherwise nothing. Calls no Python code and flushes nothing: the object
 * API is used for dictionary lookups only, the io objects are read in place. */
void fa_python_io_capture(struct fa_snapshot *s, const struct fa_py_api *py);

#endif
