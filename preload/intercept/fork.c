/* interpose_fork.c: every fork is audited.
 *  - fork(): the snapshot is taken in our wrapper, before any atfork prepare handler
 *    runs, so it sees the program as it really is (via "fork").
 *  - forks that bypass the fork symbol (daemon(), forkpty()) still run atfork handlers:
 *    ours take the snapshot then (via "atfork").
 *  - __register_atfork is interposed so other libraries' prepare handlers run through a
 *    trampoline that marks the locks they take: those are protected, not hazards.
 * Nothing here allocates; the child only resets state with plain stores and close(2). */
#include "intercept/real.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>

#include "track/atfork.h"
#include "audit/audit.h"
#include "base/backtrace.h"
#include "intercept/init.h"
#include "base/process.h"
#include "track/rng.h"
#include "audit/threadstacks.h"
#include "audit/watchdog.h"
#include "out/log.h"
#include "out/symbolize.h"
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

/* Child side, async-signal-safe: the process has one thread and a new pid. */
static void reset_in_child(void)
{
    /* Who made this child, for its own reports (child-deadlock). */
    fa_proc.forked_child = 1;
    if (fa_proc.errors) fa_proc.errors = 0; /* exitcode: the child's own findings count */
    fa_proc.born_seq = fa_proc.fork_seq;
    fa_proc.born_tid = fa_self ? fa_self->tid : 0;
    fa_proc.born_via = in_fork_wrapper ? "fork" : "atfork";
    fa_proc.born_parent = fa_proc.pid; /* still the parent's: refreshed just below */
    if (forking_with_threads) fa_backtrace_forbid_unwinding();
    fa_watchdog_arm_in_child(forking_with_threads);
    fa_init_after_fork_child(); /* the pid first: the thread table uses it */
    fa_rng_after_fork_child();
    fa_thread_stacks_after_fork_child();
    fa_threads_after_fork_child();
    fa_log_after_fork_child();
    fa_symbolize_after_fork_child();
    fa_audit_after_fork_child();
}

void fa_fork_reset_if_new_process(void)
{
    if (fa_init_pid_changed()) reset_in_child();
}

/* Whether the child of this fork lacks threads of its parent (it must not unwind until it
 * execs): from the snapshot, or, when the fork went unaudited (no memory for a snapshot),
 * from glibc's own flag and our thread registry. */
static int forks_with_threads(const struct fa_snapshot *s)
{
    if (s) return s->nthreads > 0;
    return !__libc_single_threaded || fa_threads_used > 1;
}

FA_EXPORT pid_t fork(void)
{
    fa_init();
    struct fa_thread *self = fa_thread_current();
    if (!self || fa_in_auditor) return FA_REAL(fork)();
    if (fa_init_pid_changed()) reset_in_child(); /* we run in a child made without handlers */

    fa_in_auditor++;
    struct fa_snapshot *s = fa_audit_begin("fork", __builtin_return_address(0));
    fa_in_auditor--;
    forking_with_threads = forks_with_threads(s);
    in_fork_wrapper = 1;
    pid_t pid = FA_REAL(fork)();
    int saved = errno;
    in_fork_wrapper = 0;

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
    errno = saved;
    return pid;
}

static void on_prepare(void)
{
    if (in_fork_wrapper) return;
    struct fa_thread *self = fa_thread_current();
    if (!self || fa_in_auditor) return;
    if (fa_init_pid_changed()) reset_in_child(); /* a child made without handlers */
    fa_in_auditor++;
    atfork_snapshot = fa_audit_begin("atfork", NULL);
    fa_in_auditor--;
    forking_with_threads = forks_with_threads(atfork_snapshot);
}

static void on_parent(void)
{
    if (in_fork_wrapper) return;
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
    reset_in_child();
    if (in_fork_wrapper) return;
    atfork_snapshot = NULL; /* its memory is not in the child */
    end_of_fork(fa_self);
}

void fa_fork_register_handlers(void)
{
    FA_REAL(__register_atfork)(on_prepare, on_parent, on_child, &__dso_handle);
}

/* ------------------------------------------------ other libraries' prepare handlers */

#define TRAMPOLINES FA_TRAMPOLINES
#define foreign_prepare fa_foreign_prepare
#define foreign_dso fa_foreign_dso
#define foreign_claimed fa_foreign_claimed


static void run_prepare(int k)
{
    void (*prepare)(void) = __atomic_load_n(&foreign_prepare[k], __ATOMIC_ACQUIRE);
    struct fa_thread *self = fa_thread_current();
    if (!prepare) return;
    if (self) {
        self->in_prepare++;
        self->held.slow++;
        self->prepare_ran |= 1ULL << k; /* named in this fork's report */
    }
    prepare();
    if (self) {
        self->in_prepare--;
        self->held.slow--;
    }
}

#define T1(k, j) static void trampoline_##k##_##j(void) { run_prepare((k) * 8 + (j)); }
#define T8(k) T1(k, 0) T1(k, 1) T1(k, 2) T1(k, 3) T1(k, 4) T1(k, 5) T1(k, 6) T1(k, 7)
T8(0) T8(1) T8(2) T8(3) T8(4) T8(5) T8(6) T8(7)
#define R8(k) trampoline_##k##_0, trampoline_##k##_1, trampoline_##k##_2, trampoline_##k##_3, \
              trampoline_##k##_4, trampoline_##k##_5, trampoline_##k##_6, trampoline_##k##_7
static void (*const trampolines[TRAMPOLINES])(void) = {R8(0), R8(1), R8(2), R8(3), R8(4), R8(5), R8(6), R8(7)};

/* pthread_atfork() is linked statically into every caller (libc_nonshared.a) and calls
 * this exported function, which is therefore where registrations can be seen. */
FA_EXPORT int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso)
{
    if (prepare && dso != &__dso_handle) {
        int k = 0;
        for (; k < TRAMPOLINES; k++) {
            int expect = 0;
            if (__atomic_compare_exchange_n(&foreign_claimed[k], &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                break;
        }
        if (k < TRAMPOLINES) {
            foreign_dso[k] = dso; /* before the handler is visible: dlclose reads them in that order */
            __atomic_store_n(&foreign_prepare[k], prepare, __ATOMIC_RELEASE);
            prepare = trampolines[k];
        } else {
            __atomic_add_fetch(&fa_prepare_unwrapped, 1, __ATOMIC_RELAXED);
        }
    }
    return FA_REAL(__register_atfork)(prepare, parent, child, dso);
}

/* After a dlclose: trampolines of objects that are gone are free again (glibc dropped
 * their handlers when it unloaded them), and symbol names of the unloaded code are stale. */
FA_EXPORT int dlclose(void *handle)
{
    int rc = FA_REAL(dlclose)(handle);
    int saved = errno;
    fa_symbolize_invalidate();
    for (int k = 0; k < TRAMPOLINES; k++) {
        Dl_info info;
        void (*prepare)(void) = __atomic_load_n(&foreign_prepare[k], __ATOMIC_ACQUIRE);
        if (!prepare || !foreign_dso[k] || dladdr(foreign_dso[k], &info)) continue;
        /* Only the entry just read: a concurrent dlclose may have freed it already. */
        if (__atomic_compare_exchange_n(&foreign_prepare[k], &prepare, NULL, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            foreign_dso[k] = NULL;
            __atomic_store_n(&foreign_claimed[k], 0, __ATOMIC_RELEASE);
        }
    }
    errno = saved;
    return rc;
}
