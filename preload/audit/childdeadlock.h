/* childdeadlock.h: in a forked child, the check before a blocking acquisition: a lock held
 * at the fork by a thread the child does not have, or by the caller in a way it cannot
 * take again, is reported (child-deadlock) before the child blocks. Called by the lock
 * wrappers (intercept/). */
#ifndef FA_CHILDDEADLOCK_H
#define FA_CHILDDEADLOCK_H

#include "base/fa.h"
#include "base/process.h"

/* How a blocking acquisition waits (fa_lock_check's `how`). */
#define FA_WAIT_WRITE 1u /* exclusively (a read-write lock's write lock; every other lock) */
#define FA_WAIT_TIMED 2u /* until a timeout: the call comes back by itself */

/* In a forked child, before a blocking acquisition: reports (and acts on the option
 * on_child_deadlock) when the lock is held by a thread the child does not have, or by the
 * caller in a way it cannot take again. `value` is the semaphore's value or -1. */
void fa_child_deadlock_check(const void *addr, unsigned type, unsigned kind, unsigned how, int value,
                             void *call_site);
static inline void fa_lock_check(const void *addr, unsigned type, unsigned kind, unsigned how, int value,
                                 void *call_site)
{
    /* A plain global, not TLS: one compare on the hot path, and every thread of a child sees it. */
    if (FA_UNLIKELY(fa_proc.forked_child)) fa_child_deadlock_check(addr, type, kind, how, value, call_site);
}

#endif
