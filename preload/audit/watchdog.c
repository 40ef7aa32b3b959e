/* watchdog.c: see watchdog.h. Everything from the timer's signal on runs in a signal
 * handler: system calls, mmap'd buffers and the symbolizer only. */
#include "audit/watchdog.h"

#include <errno.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "audit/python_capture.h"
#include "audit/threadstacks.h"
#include "base/backtrace.h"
#include "base/fmt.h"
#include "base/options.h"
#include "base/process.h"
#include "base/procfs.h"
#include "base/signals.h"
#include "findings/child_stuck.h"
#include "track/threads.h"

#define WD_COOKIE 0x66617764 /* tells our timer's signals from anyone's */

/* Written by the forking thread just before the fork; the child reads its own copy. Plain
 * memory (not the MADV_DONTFORK snapshot), so the child has it. Two threads forking at
 * once may mix their entries: forking_tid tells the child whether the copy is its fork's. */
static struct {
    pid_t forking_tid;
    int n;
    unsigned long omitted; /* other threads at the fork past FA_WATCHDOG_THREADS (or max_threads) */
    struct fa_remembered_thread t[FA_WATCHDOG_THREADS];
} at_fork;

static int timer_id = -1;
static long next_check_s; /* seconds until the next look: doubles after each idle one */
#define MAX_CHECK_S 3600
#define UNWIND_GUARD_S 2  /* an unwind that takes longer is stuck itself (a lock held at the fork) */
static int at_fork_owner;  /* the thread filling at_fork; 0 when free */
static uintptr_t restorer; /* the signal-return trampoline: not a frame of the child */

/* What the first look saw; a second look one period later must see the same wait. */
static struct {
    uintptr_t uaddr;
    int op;
    int seen;
} candidate;

/* Set while the handler unwinds: a nested signal (SA_NODEFER) then means the unwind blocked
 * on a lock held at the fork (libunwind's, the loader's): report with the pc alone. */
static int unwinding;
static uintptr_t interrupted_pc;
static int reported;
static int unwinders_at_fork; /* other threads inside libunwind at the fork: its locks may be held */
static struct timespec forked_at;

void fa_watchdog_remember(const struct fa_snapshot *s)
{
    if (!fa_opts.child_watchdog) return;
    int expect = 0; /* two threads forking at once: the first keeps at_fork until its fork is done */
    if (!__atomic_compare_exchange_n(&at_fork_owner, &expect, s->tid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    int n = s->nthreads < FA_WATCHDOG_THREADS ? s->nthreads : FA_WATCHDOG_THREADS;
    for (int i = 0; i < n; i++) {
        const struct fa_snap_thread *src = &s->threads[i];
        struct fa_remembered_thread *t = &at_fork.t[i];
        t->tid = src->tid;
        memcpy(t->name, src->name, sizeof t->name);
        t->start_routine = src->start_routine;
        t->stack_state = src->stack_state;
        t->nstack = src->stack_state == FA_STACK_OK ? src->nstack : 0;
        memcpy(t->stack, src->stack, (size_t)t->nstack * sizeof t->stack[0]);
    }
    at_fork.n = n;
    at_fork.omitted = (unsigned long)(s->nthreads - n) + s->threads_dropped;
    at_fork.forking_tid = s->tid;
}

void fa_watchdog_forget(pid_t forking_tid)
{
    int owner = forking_tid;
    if (__atomic_load_n(&at_fork_owner, __ATOMIC_RELAXED) == forking_tid)
        __atomic_compare_exchange_n(&at_fork_owner, &owner, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static void on_watchdog_signal(int sig, siginfo_t *info, void *uc);

void fa_watchdog_arm_in_child(int parent_had_threads)
{
    /* Stores only when needed: each written page is a copy-on-write fault in every child. */
    if (timer_id != -1) timer_id = -1; /* a parent's timer: not inherited by fork */
    if (at_fork_owner) at_fork_owner = 0;
    if (!fa_opts.child_watchdog || !parent_had_threads) return;
    /* SIGURG: its default action is to ignore it, so a child that resets its signals to
     * SIG_DFL (daemons, launchers) is not killed by a late timer. Used only while the
     * child has no handler of its own for it. */
    /* SA_NODEFER, SIGURG left out of the mask: the guard timer can interrupt a stuck unwind */
    if (fa_signal_install_over_default(SIGURG, on_watchdog_signal, SA_RESTART | SA_NODEFER, SIGURG, &restorer) !=
        FA_SIGNAL_INSTALLED)
        return;
    reported = 0;
    unwinding = 0;
    candidate.seen = 0;
    unwinders_at_fork = __atomic_load_n(&fa_unwinders, __ATOMIC_ACQUIRE); /* frozen by the fork */
    clock_gettime(CLOCK_MONOTONIC, &forked_at);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGURG;
    ev.sigev_value.sival_int = WD_COOKIE;
    ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    int id;
    if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id) != 0) return;
    next_check_s = fa_opts.child_watchdog;
    struct itimerspec first = {{0, 0}, {next_check_s, 0}};
    if (syscall(SYS_timer_settime, id, 0, &first, NULL) != 0) {
        syscall(SYS_timer_delete, id);
        return;
    }
    timer_id = id;
}

static void arm_in(long seconds)
{
    struct itimerspec t = {{0, 0}, {seconds, 0}};
    syscall(SYS_timer_settime, timer_id, 0, &t, NULL);
}

/* An untimed futex wait interrupted by a handler returns ERESTARTSYS (ERESTARTNOINTR for
 * the PI lock ops), so with SA_RESTART the kernel rewinds it before running the handler:
 * the saved program counter is back on the `syscall` instruction and the accumulator
 * holds SYS_futex again. A timed wait (ERESTART_RESTARTBLOCK) returns EINTR with the
 * program counter past the instruction, so it never matches. Only private futexes count:
 * a shared one may be woken by another process. */
int fa_untimed_futex_wait(const void *ucontext, struct fa_futex_wait *w)
{
#if defined(__x86_64__)
    const greg_t *g = ((const ucontext_t *)ucontext)->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)g[REG_RIP];
    if (!ip || ip[0] != 0x0f || ip[1] != 0x05) return 0;
    if (g[REG_RAX] != SYS_futex || g[REG_R10] != 0) return 0; /* r10: the timeout */
    if (!((int)g[REG_RSI] & FUTEX_PRIVATE_FLAG)) return 0;
    int cmd = (int)g[REG_RSI] & FUTEX_CMD_MASK;
    if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI && cmd != FUTEX_LOCK_PI2 &&
        cmd != FUTEX_WAIT_REQUEUE_PI)
        return 0;
    w->uaddr = (uintptr_t)g[REG_RDI];
    w->op = (int)g[REG_RSI];
    return 1;
#else
    (void)ucontext;
    (void)w;
    return 0; /* the register layout of other architectures is not read yet */
#endif
}

/* Threads of this process now ("Threads:" of /proc/self/status), 0 when unknown. */
static int thread_count(void)
{
    struct fa_buf st;
    if (fa_proc_read("/proc/self/status", &st) != 0) return 0;
    int n = 0;
    const char *p = strstr(st.p, "\nThreads:");
    if (p)
        for (p += 9; *p == ' ' || *p == '\t'; p++) {}
    while (p && *p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
    fa_buf_release(&st);
    return n;
}

/* Writes the child-stuck record (the stack `pc`, `n` frames) and acts on on_child_stuck. */
static void report(const uintptr_t *pc, int n, const struct fa_futex_wait *w)
{
    /* In the blocked thread's own handler: its Python frames, as faulthandler reads them
     * from a signal handler (a child reports once: one buffer). */
    static char py_stack[16384];
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int mine = at_fork.forking_tid == fa_proc.born_tid; /* the remembered threads are this fork's */
    struct fa_child_stuck e = {
        .stuck_for_s = now.tv_sec - forked_at.tv_sec,
        .wait = *w,
        .pc = pc,
        .n = n,
        .py_text = py_stack,
        .py_len = fa_python_dump_this_thread(py_stack, sizeof py_stack),
        .parent_threads = at_fork.t,
        .nparent_threads = mine ? at_fork.n : 0,
        .parent_threads_omitted = mine ? at_fork.omitted : 0,
        .threads = fa_threads,
        .nthreads = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE),
    };
    fa_child_origin_now(&e.origin);
    if (!fa_child_stuck_report(&e, &fa_opts)) return; /* suppressed: no report, and no abort either */
    if (fa_opts.on_child_stuck == FA_ACTION_ABORT) abort();
}

static int stop_at_first(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (void)data;
    return 1;
}

/* The child's stack below the handler, unwound with libunwind (its state is whole unless
 * a thread of the parent was inside it at the fork); 0 frames when it cannot be. */
static int unwind_interrupted(uintptr_t *pc)
{
    if (unwinders_at_fork != 0 || fa_in_auditor != 1) return 0;
    unwinding = 1;
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &urg, NULL, sizeof(long)); /* the guard must get through */
    arm_in(UNWIND_GUARD_S);
    /* libunwind blocks every signal while it holds a lock, the guard included: probe the
     * loader's lock (which libunwind takes in dl_iterate_phdr) before, with the guard live. */
    dl_iterate_phdr(stop_at_first, NULL);
    int n = fa_backtrace_unchecked(pc, fa_opts.stack_depth, NULL);
    unwinding = 0;
    return fa_backtrace_drop_handler(pc, n, restorer);
}

static void on_watchdog_signal(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig;
    if (info->si_code != SI_TIMER || info->si_value.sival_int != WD_COOKIE || reported || timer_id < 0) return;
    int saved = errno;
    struct fa_futex_wait w;
    if (unwinding) { /* the guard fired: the unwind below us is blocked for good */
        reported = 1;
        w.uaddr = candidate.uaddr;
        w.op = candidate.op;
        report(&interrupted_pc, 1, &w);
        errno = saved;
        return;
    }
    /* Computing, sleeping, on I/O, or another thread of the child could still wake it:
     * look again later, less and less often. */
    if (!fa_untimed_futex_wait(ucontext, &w) || thread_count() != 1) {
        candidate.seen = 0;
        next_check_s = next_check_s * 2 < MAX_CHECK_S ? next_check_s * 2 : MAX_CHECK_S;
        arm_in(next_check_s);
        errno = saved;
        return;
    }
    /* The same wait at two looks one period apart (a signal handler of the child's own
     * could have ended a wait seen once). */
    if (!candidate.seen || candidate.uaddr != w.uaddr || candidate.op != w.op) {
        candidate.uaddr = w.uaddr;
        candidate.op = w.op;
        candidate.seen = 1;
        arm_in(fa_opts.child_watchdog);
        errno = saved;
        return;
    }
#if defined(__x86_64__)
    interrupted_pc = (uintptr_t)((ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RIP];
#endif
    fa_in_auditor++;
    uintptr_t pc[FA_MAX_FRAMES];
    int n = unwind_interrupted(pc);
    if (n == 0) pc[n++] = interrupted_pc;
    syscall(SYS_timer_delete, timer_id);
    timer_id = -1;
    if (!reported) { /* a slow unwind may have been reported by the guard already */
        reported = 1;
        report(pc, n, &w);
    }
    fa_in_auditor--;
    errno = saved;
}
