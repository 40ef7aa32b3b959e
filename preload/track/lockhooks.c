/* lockhooks.c: the cold paths of lockhooks.h. */
#include "track/lockhooks.h"

#include "base/backtrace.h"
#include "base/options.h"
#include "track/lockwrappers.h"

/* The acquisition stack from the first frame outside the lock wrappers, lock_stack_depth
 * frames; the call site alone when the unwind ends inside them (or is not allowed: in a
 * forked child of a threaded parent). Unwinds once per call site and wrapper frame,
 * learning the frames' sizes (track/lockwrappers.h); then, for the call site alone (the
 * default depth), walks them with a few loads: an -O0 std::mutex lock pair costs no unwind. */
static int unwind_past_wrappers(uintptr_t *frames, void *call_site, uintptr_t here)
{
    uintptr_t pc[24], sp[24];
    int n = fa_backtrace_with_sp(pc, sp, 24), a = 0;
    while (a < n && pc[a] != (uintptr_t)call_site) a++;
    if (a >= n) {
        frames[0] = (uintptr_t)call_site | FA_PC_MORE;
        return 1;
    }
    if (sp[a] > here) fa_lockwrap_learn_anchor(pc[a], sp[a] - here);
    int k = a;
    for (; k < n && fa_lockwrap_has(pc[k]); k++)
        if (k + 1 < n && sp[k + 1] > sp[k]) fa_lockwrap_learn_size(pc[k], sp[k + 1] - sp[k]);
    if (k >= n) {
        frames[0] = (uintptr_t)call_site | FA_PC_MORE;
        return 1;
    }
    int depth = n - k < fa_opts.lock_stack_depth ? n - k : fa_opts.lock_stack_depth;
    for (int i = 0; i < depth; i++) frames[i] = pc[k + i];
    if (k + depth < n) frames[depth - 1] |= FA_PC_MORE;
    return depth;
}

/* The walk reads return addresses in the program's frames above this one (sizes an unwind
 * measured): plain loads of the thread's own stack, not the program's objects. */
__attribute__((noinline, no_sanitize_address)) static int past_wrappers(uintptr_t *frames, void *call_site)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t ra = (uintptr_t)call_site, distance, size;
    if (fa_opts.lock_stack_depth == 1 && fa_lockwrap_anchor(ra, &distance) &&
        *(const uintptr_t *)(here + distance - sizeof(uintptr_t)) == ra) {
        uintptr_t sp = here + distance;
        for (int steps = 0; steps < FA_MAX_LOCK_FRAMES; steps++) {
            if (!fa_lockwrap_has(ra)) {
                frames[0] = ra | FA_PC_MORE;
                return 1;
            }
            if (!fa_lockwrap_size(ra, &size) || sp + size - here > 65536) break;
            sp += size;
            ra = *(const uintptr_t *)(sp - sizeof(uintptr_t));
        }
    }
    return unwind_past_wrappers(frames, call_site, here);
}

void fa_lock_acquired_slow(const void *addr, unsigned type, unsigned kind, unsigned flags, void *call_site)
{
    struct fa_thread *self = fa_thread_current();
    if (!self) return;
    uintptr_t frames[FA_MAX_LOCK_FRAMES];
    int n = 1;
    frames[0] = (uintptr_t)call_site | FA_PC_MORE; /* the call site only, unless unwound below */
    /* Frames beyond the call site cost an unwind per lock, so they are opt-in; but past a
     * lock wrapper (std::mutex::lock, Mutex::lock()) the call site names the wrapper, and
     * the site is the first frame outside it: unwound, the wrappers' frames dropped. */
    if (FA_UNLIKELY(fa_lockwrap_has((uintptr_t)call_site))) n = past_wrappers(frames, call_site);
    else if (fa_opts.lock_stack_depth > 1) n = fa_backtrace(frames, fa_opts.lock_stack_depth, call_site);
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
