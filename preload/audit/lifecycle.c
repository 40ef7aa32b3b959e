/* lifecycle.c: the fork protocol (see lifecycle.h).
 *  - fork(): the snapshot is taken in the wrapper, before any atfork prepare handler
 *    runs, so it sees the program as it really is (via "fork").
 *  - forks that bypass the fork symbol (daemon(), forkpty()) still run atfork handlers:
 *    ours take the snapshot then (via "atfork").
 * Nothing here allocates; the child only resets state with plain stores and close(2). */
#include "audit/lifecycle.h"

#include <sys/single_threaded.h>

#include "audit/audit.h"
#include "audit/threadstacks.h"
#include "audit/watchdog.h"
#include "base/backtrace.h"
#include "base/ownfd.h"
#include "base/process.h"
#include "out/log.h"
#include "out/symbolize.h"
#include "track/rng.h"
#include "track/threads.h"

extern void *__dso_handle;

static FA_TLS int in_fork_wrapper;
static FA_TLS struct fa_snapshot *atfork_snapshot;
/* Set by the forking thread just before the fork, read by its copy in the child: the
 * parent had other threads, whose locks (libunwind's among them) the child may inherit. */
static FA_TLS int forking_with_threads;

/* The held-lock bookkeeping of prepare handlers ends with the fork that ran them. */
static void end_of_fork(struct fa_thread *self)
{
    if (!self || !(self->nprepare_taken || self->prepare_ran)) return; /* no store when nothing to undo */
    fa_held_forget_flagged(&self->held, FA_HELD_BY_PREPARE);
    self->nprepare_taken = 0;
    self->prepare_ran = 0;
    self->held.prepare_skipped = 0; /* a child's handlers re-initialise them instead */
}

/* The child's resets, the one list of them: the process has one thread and a new pid.
 * Whoever adds per-process state (in fa_proc or a module's own) adds its reset here, in
 * a function of its module, async-signal-safe (plain stores, close(2); a store only when
 * the value changes: each page written is a copy-on-write fault of the child). */
static void reset_in_child(pid_t parent)
{
    /* Who made this child, for its own reports (child-deadlock). */
    fa_proc.forked_child = 1;
    if (fa_proc.errors) fa_proc.errors = 0; /* exitcode: the child's own findings count */
    fa_proc.born_seq = fa_proc.fork_seq;
    fa_proc.born_tid = fa_self ? fa_self->tid : 0;
    fa_proc.born_via = in_fork_wrapper ? "fork" : "atfork";
    fa_proc.born_parent = parent;
    if (forking_with_threads) fa_backtrace_forbid_unwinding();
    fa_backtrace_after_fork_child(); /* libunwind's pipe, if another thread's unwind had it */
    fa_watchdog_arm_in_child(forking_with_threads);
    fa_pid_refresh(); /* the pid before the modules: the thread table uses it */
    fa_ownfd_after_fork_child(); /* other threads' audits had these open at the fork */
    fa_rng_after_fork_child();
    fa_thread_stacks_after_fork_child();
    fa_threads_after_fork_child();
    fa_log_after_fork_child();
    fa_symbolize_after_fork_child();
    fa_audit_after_fork_child();
}

void fa_fork_reset_if_new_process(void)
{
    pid_t parent = fa_proc.pid; /* cached before the refresh: the pid of the process we were copied from */
    if (fa_pid_refresh()) reset_in_child(parent);
}

/* Whether the child of this fork lacks threads of its parent (it must not unwind until it
 * execs): from the snapshot, or, when the fork went unaudited (no memory for a snapshot),
 * from glibc's own flag and our thread registry. */
static int forks_with_threads(const struct fa_snapshot *s)
{
    if (s) return s->nthreads > 0;
    return !__libc_single_threaded || fa_threads_used > 1;
}

struct fa_snapshot *fa_fork_wrapper_before(const void *call_site)
{
    fa_fork_reset_if_new_process(); /* we run in a child made without handlers */
    fa_in_auditor++;
    struct fa_snapshot *s = fa_audit_begin("fork", call_site);
    fa_in_auditor--;
    forking_with_threads = forks_with_threads(s);
    in_fork_wrapper = 1;
    fa_ownfd_fork_begin(); /* last: no other thread's audit opens a descriptor until the fork returns */
    return s;
}

void fa_fork_wrapper_after(struct fa_thread *self, struct fa_snapshot *s, pid_t pid)
{
    in_fork_wrapper = 0;
    if (pid != 0) fa_ownfd_fork_end();
    if (pid == 0) {
        end_of_fork(self); /* reset_in_child (our child handler) dropped the snapshot */
    } else if (pid < 0) {
        fa_audit_cancel(s); /* no child: nothing was inherited */
    } else {
        if (s) {
            fa_in_auditor++;
            fa_audit_finish(s, pid);
            fa_in_auditor--;
        }
        end_of_fork(self);
    }
}

static void on_prepare(void)
{
    if (in_fork_wrapper) return;
    struct fa_thread *self = fa_thread_current();
    if (!self || fa_in_auditor) return;
    fa_fork_reset_if_new_process(); /* a child made without handlers */
    fa_in_auditor++;
    atfork_snapshot = fa_audit_begin("atfork", NULL);
    fa_in_auditor--;
    forking_with_threads = forks_with_threads(atfork_snapshot);
    fa_ownfd_fork_begin();
}

static void on_parent(void)
{
    if (in_fork_wrapper) return;
    fa_ownfd_fork_end();
    struct fa_thread *self = fa_self;
    struct fa_snapshot *s = atfork_snapshot;
    atfork_snapshot = NULL;
    if (s && self) {
        fa_in_auditor++;
        fa_audit_finish(s, 0);
        fa_in_auditor--;
    }
    end_of_fork(self);
}

static void on_child(void)
{
    reset_in_child(fa_proc.pid); /* still the parent's: reset_in_child refreshes it */
    if (in_fork_wrapper) return;
    atfork_snapshot = NULL; /* its memory is not in the child */
    end_of_fork(fa_self);
}

void fa_fork_register_handlers(int (*register_atfork)(void (*prepare)(void), void (*parent)(void),
                                                      void (*child)(void), void *dso))
{
    register_atfork(on_prepare, on_parent, on_child, &__dso_handle);
}
