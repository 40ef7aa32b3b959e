/* pylocks.h: where Python took its locks. A binary semaphore taken from the interpreter's
 * own code (PyThread_acquire_lock_timed) is a Python lock's (threading.Lock, RLock and what is built on
 * them, 3.8-3.12); at each such acquisition the taking thread's innermost Python frames
 * (code object and instruction pointer: plain loads through the thread state, no GIL, no
 * call into the interpreter) are kept in a table by semaphore. At a fork, with the GIL,
 * audit/python_capture.c turns those of the locks still held into file, line, function.
 * Only for the releases whose frame layout is known (base/python.h): 3.11 and 3.12. */
#ifndef FA_PYLOCKS_H
#define FA_PYLOCKS_H

#include <stdint.h>

#include "base/fa.h"
#include "base/python.h"

#define FA_PYLOCK_FRAMES 3 /* innermost first: Condition.__enter__'s own frame, then the caller's */

struct fa_pylock_taken {
    const void *code[FA_PYLOCK_FRAMES];  /* PyCodeObject *, NULL past the last frame */
    const void *instr[FA_PYLOCK_FRAMES]; /* the frame's prev_instr then */
};

void fa_pylock_record(const void *sem);

/* After a successful acquisition of the binary semaphore `sem` from `call_site`. */
static inline void fa_pylock_acquired(const void *sem, const void *call_site)
{
    if (FA_LIKELY((uintptr_t)call_site - fa_python_lock_code >= fa_python_lock_code_size)) return;
    fa_pylock_record(sem);
}

void fa_pylock_forget(const void *sem);

/* Before the release of the binary semaphore `sem` from `call_site`: its slot is freed. */
static inline void fa_pylock_releasing(const void *sem, const void *call_site)
{
    if (FA_LIKELY((uintptr_t)call_site - fa_python_lock_code >= fa_python_lock_code_size)) return;
    fa_pylock_forget(sem);
}

/* What the last acquisition of the held `sem` left, read consistently: 1, or 0 when none is
 * kept (four other held ones took its set, or it was being written). Async-signal-safe. */
int fa_pylock_taken(const void *sem, struct fa_pylock_taken *out);

#endif
