/* childdeadlock.c: in a forked child (before exec), a blocking acquisition of a lock that
 * can never be released is reported before the child blocks: a lock held at the fork by
 * a thread the child does not have, or one the child's own thread already holds and
 * cannot take again. Then on_child_deadlock decides: report (and block, as the program
 * asked), abort, or exit:N. A timed wait is only reported: it gives up by itself, and a
 * program that asks for a timeout is ready for one. */
#include "audit/childdeadlock.h"
#include "audit/python_capture.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/backtrace.h"
#include "base/options.h"
#include "base/process.h"
#include "findings/child_deadlock.h"
#include "track/lockhooks.h"

#define REPORTED_MAX 64
static char py_stack[16384]; /* the blocking thread's Python stack (static: a child's stack may be small) */
static int py_stack_busy;
static const void *reported[REPORTED_MAX]; /* report once per lock (on_child_deadlock=report) */
static int nreported;

/* Whether the caller, holding `h`, blocks forever taking it again (the rule of its family
 * in track/locks.def). */
static int self_deadlock(const struct fa_held *h, unsigned kind, int for_write, int value)
{
    return fa_lock_relock_blocks(h->type, (h->flags & FA_HELD_INHERITED) != 0, kind, (h->flags & FA_HELD_READ) != 0,
                                 for_write, value);
}

/* Whether a thread other than the caller runs in this child (created after the fork;
 * the registry knows every thread pthread_create started). */
static int other_threads(void)
{
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++)
        if (&fa_threads[i] != fa_self && __atomic_load_n(&fa_threads[i].state, __ATOMIC_ACQUIRE) == FA_SLOT_LIVE)
            return 1;
    return 0;
}

/* The entry of `addr` held by a thread of an ancestor process, which this child lacks. */
static int inherited(const void *addr, int for_write, struct fa_held *out, pid_t *holder)
{
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++) {
        struct fa_thread *t = &fa_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != FA_SLOT_GONE) continue;
        int n = fa_held_word_count(__atomic_load_n(&t->held.word, __ATOMIC_ACQUIRE));
        for (int k = 0; k < n && k < FA_HELD_MAX; k++) {
            struct fa_held h = t->held.e[k];
            if (h.addr != addr || (h.flags & FA_HELD_IN_COND_WAIT)) continue;
            if ((h.flags & FA_HELD_READ) && !for_write) continue; /* readers share */
            *out = h;
            *holder = t->tid;
            return 1;
        }
    }
    return 0;
}

void fa_child_deadlock_check(const void *addr, unsigned type, unsigned kind, unsigned how, int value,
                             void *call_site)
{
    if (fa_in_auditor) return;
    int for_write = (how & FA_WAIT_WRITE) != 0, timed = (how & FA_WAIT_TIMED) != 0;
    /* A semaphore blocks only at value 0, and any thread may post it: it can stay at 0
     * for good only while this child has no other thread. */
    if (type == FA_LOCK_SEM && (value != 0 || other_threads())) return;
    struct fa_thread *self = fa_self;
    struct fa_held h, *mine = self ? fa_held_find(&self->held, addr) : NULL;
    pid_t holder;
    int own = 0;
    if (mine && !(mine->flags & FA_HELD_IN_COND_WAIT)) {
        /* A semaphore the child took itself is how it waits for an event (Python's
         * Condition.wait takes its waiter lock twice): only inherited ones are checked. */
        if (type == FA_LOCK_SEM && !(mine->flags & FA_HELD_INHERITED)) return;
        if (!self_deadlock(mine, kind, for_write, value)) return;
        h = *mine;
        holder = (mine->flags & FA_HELD_INHERITED) ? fa_proc.born_tid : self->tid;
        own = 1;
    } else if (!inherited(addr, for_write, &h, &holder)) {
        return;
    }
    /* Reported once per lock when the child goes on (report, or a timed wait). */
    if (fa_opts.on_child_deadlock == FA_ACTION_REPORT || timed) {
        for (int i = 0; i < nreported; i++)
            if (reported[i] == addr) return;
        if (nreported < REPORTED_MAX) reported[nreported++] = addr;
    }
    int saved = errno;
    fa_in_auditor++;
    uintptr_t pc[FA_MAX_FRAMES];
    struct fa_child_deadlock e = {.lock = h, .holder = holder, .own = own, .timed = timed, .pc = pc};
    fa_child_origin_now(&e.origin);
    e.n = fa_backtrace(pc, fa_opts.stack_depth, call_site);
    /* Another thread of the child reporting at the same time goes without a Python stack. */
    int py_mine = !__atomic_exchange_n(&py_stack_busy, 1, __ATOMIC_ACQUIRE);
    e.py_text = py_stack;
    e.py_len = py_mine ? fa_python_dump_this_thread(py_stack, sizeof py_stack) : 0;
    e.has_py_site = fa_python_site_of_lock(addr, &e.py_site);
    int suppressed = !fa_child_deadlock_report(&e, &fa_opts);
    if (py_mine) __atomic_store_n(&py_stack_busy, 0, __ATOMIC_RELEASE);
    fa_in_auditor--;
    errno = saved;
    if (suppressed) return; /* no report, and no abort or exit either */
    if (timed) return;      /* it comes back by itself: ending the child would change the program */
    if (fa_opts.on_child_deadlock == FA_ACTION_ABORT) abort();
    if (fa_opts.on_child_deadlock == FA_ACTION_EXIT) _exit(fa_opts.child_deadlock_exit);
}
