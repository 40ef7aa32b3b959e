/* lockhooks.h: what every lock wrapper does around the real call: record an acquisition
 * in the calling thread's held set, forget a release. Shared by intercept/pthread.c and
 * intercept/locks.c. */
#ifndef FA_LOCKHOOKS_H
#define FA_LOCKHOOKS_H

#include "track/heldlocks.h"
#include "base/process.h"
#include "track/threads.h"

/* Cold part of an acquisition: first lock of an unregistered thread, a lock taken by an
 * atfork prepare handler, or acquisition stacks deeper than the call site. */
void fa_lock_acquired_slow(const void *addr, unsigned type, unsigned kind, unsigned flags, void *call_site);

/* Records a successful acquisition of `addr`. */
static inline void fa_lock_acquired(const void *addr, unsigned type, unsigned kind, unsigned flags, void *call_site)
{
    struct fa_tls *tls = &fa_tls;
    struct fa_thread *self = tls->self;
    if (FA_UNLIKELY(tls->in_auditor)) return;
    if (FA_LIKELY(self != NULL && !self->held.slow)) {
        uintptr_t site = (uintptr_t)call_site;
        fa_held_acquire(&self->held, addr, type, kind, flags, &site, 1);
        return;
    }
    fa_lock_acquired_slow(addr, type, kind, flags, call_site);
}

/* Records a release of `addr` by the calling thread; one it does not hold (a lock taken
 * by another thread, or inherited from an ancestor process) is looked for elsewhere when
 * `any_thread` is set (semaphores, which any thread may post). */
void fa_lock_released_elsewhere(const void *addr, int any_thread);
/* The calling thread released a lock it took but its set does not hold: one of those that
 * did not fit (the overflow count goes down), or of those a prepare handler took that were
 * not kept. Cold: call only when either count is non-zero. */
void fa_lock_released_unknown(struct fa_thread *self);
static inline int fa_lock_untracked_any(const struct fa_thread *self)
{
    return self->held.overflow || self->held.prepare_skipped;
}
static inline void fa_lock_released(const void *addr, int any_thread)
{
    struct fa_thread *self = fa_self;
    if (FA_LIKELY(self != NULL) && fa_held_release(&self->held, addr)) return;
    if (FA_UNLIKELY(fa_threads_gone) || any_thread) fa_lock_released_elsewhere(addr, any_thread);
    else if (self && FA_UNLIKELY(fa_lock_untracked_any(self))) fa_lock_released_unknown(self);
}

/* The lock was re-initialised or destroyed: entries inherited from an ancestor's threads
 * are dropped. */
void fa_lock_forget_inherited(const void *addr);

/* A condition wait (a COND_WAIT row of track/locks.def) releases `lock` while the thread
 * sleeps and retakes it inside libc, where no lock or unlock wrapper sees it: its entry is
 * marked for the duration (a fork meanwhile sees it free). Returns what fa_cond_wait_end
 * takes. */
static inline struct fa_thread *fa_cond_wait_begin(const void *lock)
{
    struct fa_thread *self = fa_self;
    if (self) fa_held_cond_wait_begin(&self->held, lock);
    return self;
}
static inline void fa_cond_wait_end(struct fa_thread *self, const void *lock)
{
    if (self) fa_held_cond_wait_end(&self->held, lock);
}

/* The check before a blocking acquisition in a forked child (fa_lock_check) is in
 * audit/childdeadlock.h. */

#endif
