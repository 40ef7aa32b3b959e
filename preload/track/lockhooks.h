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

/* Both in one, a cancellation too: FA_COND_WAIT(lock, rc = call) ends the wait when the
 * call returns and when the thread is cancelled in it. glibc retakes the mutex before the
 * cleanup handlers run (a cancelled pthread_cond_wait leaves its thread holding it), so
 * the entry is held again then, or a mutex the cancelled thread kept was never reported.
 * A cleanup buffer of the wrapper's own (pthread_cleanup_push, C style: its frame is the
 * innermost, glibc runs it first; a cleanup attribute with -fexceptions does not run when
 * the program's own handler was pushed in the calling frame, glibc longjmps there first). */
struct fa_cond_wait_guard {
    struct fa_thread *self;
    const void *lock;
};
static inline void fa_cond_wait_guard_end(void *p)
{
    struct fa_cond_wait_guard *g = p;
    fa_cond_wait_end(g->self, g->lock);
}
#define FA_COND_WAIT(lock, call)                                                    \
    do {                                                                            \
        struct fa_cond_wait_guard fa_cond_wait_guard_ = {fa_cond_wait_begin(lock), (lock)}; \
        pthread_cleanup_push(fa_cond_wait_guard_end, &fa_cond_wait_guard_);         \
        call;                                                                       \
        pthread_cleanup_pop(1);                                                     \
    } while (0)

/* The check before a blocking acquisition in a forked child (fa_lock_check) is in
 * audit/childdeadlock.h. */

#endif
