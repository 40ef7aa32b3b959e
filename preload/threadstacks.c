/* threadstacks.c: see threadstacks.h.
 *
 * Requests live in a static table (never unmapped): a handler that runs late, after the
 * forking thread stopped waiting, writes into memory that is still there. Each request
 * carries the collection's generation in its state word; a handler takes its request with
 * a compare-and-swap (PENDING -> WORKING) and the collector closes unanswered ones the
 * same way (PENDING -> LATE), so a late handler never writes into a newer request. */
#include "threadstacks.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backtrace.h"
#include "options.h"
#include "process.h"
#include "threads.h"

#define REQ_MAX 1024
enum { PENDING = 1, WORKING = 2, DONE = 3, BUSY = 4, LATE = 5 };
#define STATE(gen, st) ((gen) * 8 + (st))

struct request {
    pid_t tid;
    int state; /* STATE(generation, PENDING...) */
    int n;
    uintptr_t pc[FA_MAX_FRAMES];
};

static struct request requests[REQ_MAX];
static int nrequests, generation, answered;
static int collecting;   /* one collection at a time (forks from several threads) */
static int installed;    /* 1: our handler is installed, -1: the signal is the program's */
static uintptr_t restorer; /* the signal-return trampoline: not a frame of the thread */

static void on_stack_signal(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    int saved = errno;
    /* Only our own requests: sent by this process with tgkill. */
    if (info->si_code != SI_TKILL || info->si_pid != fa_getpid()) goto out;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE), n = __atomic_load_n(&nrequests, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++) {
        struct request *r = &requests[i];
        int expect = STATE(gen, PENDING);
        if (r->tid != tid || !__atomic_compare_exchange_n(&r->state, &expect, STATE(gen, WORKING), 0,
                                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        /* Inside the auditor (perhaps inside libunwind): unwinding again could deadlock. */
        int busy = fa_in_auditor > 0;
        r->n = busy ? 0 : fa_backtrace(r->pc, fa_opts.stack_depth, NULL);
        if (r->n > 0 && r->pc[0] == restorer) { /* start at the interrupted code */
            memmove(r->pc, r->pc + 1, (size_t)(r->n - 1) * sizeof r->pc[0]);
            r->n--;
        }
        __atomic_store_n(&r->state, STATE(gen, busy ? BUSY : DONE), __ATOMIC_RELEASE);
        __atomic_add_fetch(&answered, 1, __ATOMIC_ACQ_REL);
        syscall(SYS_futex, &answered, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        break;
    }
out:
    errno = saved;
}

/* Installs the handler unless the program has a disposition of its own for the signal. */
static int install(int sig)
{
    if (installed) return installed > 0;
    struct sigaction old, sa;
    memset(&sa, 0, sizeof sa);
    if (sig < SIGRTMIN || sig > SIGRTMAX || sigaction(sig, NULL, &old) != 0 ||
        (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) || (old.sa_flags & SA_SIGINFO)) {
        installed = -1;
        return 0;
    }
    sa.sa_sigaction = on_stack_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    installed = sigaction(sig, &sa, NULL) == 0 ? 1 : -1;
    struct sigaction now;
    if (installed > 0 && sigaction(sig, NULL, &now) == 0) restorer = (uintptr_t)now.sa_restorer;
    return installed > 0;
}

void fa_thread_stacks_after_fork_child(void)
{
    if (collecting) collecting = 0; /* another thread of the parent was collecting */
    if (nrequests) nrequests = 0;
}

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000000000L + (now.tv_nsec - t0->tv_nsec);
}

static void mark_all(struct fa_snapshot *s, int state)
{
    for (int i = 0; i < s->nthreads; i++) s->threads[i].stack_state = state;
}

void fa_thread_stacks_collect(struct fa_snapshot *s)
{
    int sig = fa_opts.stack_signal;
    if (sig == 0 || s->nthreads == 0 || fa_proc.no_unwind) return;
    int expect = 0;
    if (!install(sig) ||
        !__atomic_compare_exchange_n(&collecting, &expect, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        mark_all(s, FA_STACK_UNAVAILABLE);
        return;
    }
    int n = s->nthreads < REQ_MAX ? s->nthreads : REQ_MAX;
    int gen = __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL) & 0xfffffff;
    __atomic_store_n(&answered, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < n; i++) {
        requests[i].tid = s->threads[i].tid;
        requests[i].n = 0;
        __atomic_store_n(&requests[i].state, STATE(gen, PENDING), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&nrequests, n, __ATOMIC_RELEASE);
    int sent = 0;
    for (int i = 0; i < n; i++)
        if (syscall(SYS_tgkill, s->pid, requests[i].tid, sig) == 0) sent++;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int got = __atomic_load_n(&answered, __ATOMIC_ACQUIRE);
        long left = FA_STACKS_WAIT_MS * 1000000L - elapsed_ns(&t0);
        if (got >= sent || left <= 0) break;
        struct timespec wait = {left / 1000000000L, left % 1000000000L};
        syscall(SYS_futex, &answered, FUTEX_WAIT_PRIVATE, got, &wait, NULL, 0);
    }
    int stuck = 0;
    for (int i = 0; i < n; i++) {
        struct fa_snap_thread *t = &s->threads[i];
        struct request *r = &requests[i];
        int pending = STATE(gen, PENDING);
        if (__atomic_compare_exchange_n(&r->state, &pending, STATE(gen, LATE), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            t->stack_state = FA_STACK_NO_ANSWER;
            continue;
        }
        int st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
        if (st == STATE(gen, WORKING)) { /* still unwinding: give up on it, keep its entry */
            t->stack_state = FA_STACK_NO_ANSWER;
            stuck = 1;
        } else if (st == STATE(gen, BUSY)) {
            t->stack_state = FA_STACK_BUSY;
        } else {
            t->stack_state = FA_STACK_OK;
            t->nstack = r->n;
            memcpy(t->stack, r->pc, (size_t)r->n * sizeof r->pc[0]);
        }
    }
    __atomic_store_n(&nrequests, 0, __ATOMIC_RELEASE);
    /* A handler still unwinding owns its entry: no new collection may reuse the table. */
    if (!stuck) __atomic_store_n(&collecting, 0, __ATOMIC_RELEASE);
}
