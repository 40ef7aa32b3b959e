/* lockhooks.c: the cold paths of lockhooks.h. */
#include "track/lockhooks.h"

#include "base/backtrace.h"
#include "base/options.h"

void fa_lock_acquired_slow(const void *addr, unsigned type, unsigned kind, unsigned flags, void *call_site)
{
    struct fa_thread *self = fa_thread_current();
    if (!self) return;
    uintptr_t frames[FA_MAX_LOCK_FRAMES];
    int n = 1;
    frames[0] = (uintptr_t)call_site | FA_PC_MORE; /* the call site only, unless unwound below */
    /* Frames beyond the call site cost an unwind per lock, so they are opt-in. */
    if (fa_opts.lock_stack_depth > 1) n = fa_backtrace(frames, fa_opts.lock_stack_depth, call_site);
    if (self->in_prepare) {
        /* Taken on purpose by another library's atfork prepare handler: protected. */
        flags |= FA_HELD_BY_PREPARE;
        if (self->nprepare_taken < FA_PREPARE_TAKEN_MAX) self->prepare_taken[self->nprepare_taken++] = addr;
        /* jemalloc's prepare handler takes all its ~75 locks at once. They are protected,
         * not hazards: past half the table they are not kept, so they neither count as an
         * overflow at every later fork nor leave the child handlers (which run before the
         * fork's bookkeeping ends) a full table for the locks they take. */
        if (fa_held_count(&self->held) >= FA_HELD_MAX / 2 && !fa_held_find(&self->held, addr)) {
            self->held.prepare_skipped++; /* their releases are not those of untracked locks */
            return;
        }
    }
    fa_held_acquire(&self->held, addr, type, kind, flags, frames, n);
}

void fa_lock_forget_inherited(const void *addr)
{
    if (!fa_threads_gone) return;
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++) {
        struct fa_thread *t = &fa_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != FA_SLOT_GONE) continue;
        while (fa_held_clear(&t->held, addr)) {
        }
    }
}

void fa_lock_released_elsewhere(const void *addr, int any_thread)
{
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++) {
        struct fa_thread *t = &fa_threads[i];
        int state = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if (t == fa_self || state == FA_SLOT_FREE || (state == FA_SLOT_LIVE && !any_thread)) continue;
        if (fa_held_clear(&t->held, addr)) return;
    }
}

void fa_lock_released_unknown(struct fa_thread *self)
{
    /* The auditor's own locks (libunwind's) were never recorded nor counted. */
    if (fa_in_auditor) return;
    if (self->held.prepare_skipped) self->held.prepare_skipped--;
    else if (self->held.overflow) self->held.overflow--;
}
