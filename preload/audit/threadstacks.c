/* threadstacks.c: see threadstacks.h.
 *
 * Requests live in a static table (never unmapped): a handler that runs late, after the
 * forking thread stopped waiting, writes into memory that is still there. Each request
 * carries the collection's generation in its state word; a handler takes its request with
 * a compare-and-swap (PENDING -> WORKING) and the collector closes unanswered ones the
 * same way (PENDING -> LATE), so a late handler never writes into a newer request.
 *
 * The handler interrupts arbitrary code, perhaps inside malloc. It unwinds only on a thread
 * whose libunwind state was set up beforehand (fa_thread_stacks_warm: libunwind's first
 * unwind on a thread may call calloc) and only on the thread's own stack (an alternate
 * signal stack may be 8 KiB; an unwind needs about 12 KiB). */
#include "audit/threadstacks.h"

#include <errno.h>
#include <pthread.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/backtrace.h"
#include "base/fa.h"
#include "base/options.h"
#include "base/process.h"
#include "base/procfs.h"
#include "base/signals.h"
#include "track/threads.h"

#define REQ_MAX 1024
enum { PENDING = 1, WORKING = 2, DONE = 3, BUSY = 4, LATE = 5, TIGHT = 6 };
#define STATE(gen, st) ((gen) * 8 + (st))

struct request {
    pid_t tid;
    int state; /* STATE(generation, PENDING...) */
    int n;
    uintptr_t pc[FA_MAX_FRAMES];
};

static struct request requests[REQ_MAX];
#define GEN_MASK 0xfffffff
static int nrequests, generation, answered;
/* One collection at a time (forks from several threads). CLOSED_STUCK: the collector gave
 * up on a handler still unwinding; the last handler out reopens the table. */
enum { IDLE = 0, COLLECTING = 1, CLOSED_STUCK = 2 };
static int collecting;
static int handlers_inside;
static FA_TLS int unwind_warm; /* this thread's libunwind state exists */
static FA_TLS uintptr_t stack_low; /* the lowest address of this thread's stack; 0: unknown */
/* Stack the handler needs below its own frame to unwind: measured 6 KiB (libunwind's
 * cursor and DWARF state), doubled. */
#define UNWIND_STACK_NEED ((uintptr_t)12 * 1024)
/* The kernel's signal frame: 3.3 KiB measured with AVX-512 state, rounded up. */
#define SIGNAL_FRAME_NEED ((uintptr_t)4 * 1024)
static int installed;    /* 1: our handler is installed, -1: the signal is the program's */
static uintptr_t restorer; /* the signal-return trampoline: not a frame of the thread */

static void on_stack_signal(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    int saved = errno;
    /* Only our own requests: sent by this process with tgkill. */
    if (info->si_code != SI_TKILL || info->si_pid != fa_getpid()) goto out;
    __atomic_add_fetch(&handlers_inside, 1, __ATOMIC_ACQ_REL);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE) & GEN_MASK, n = __atomic_load_n(&nrequests, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++) {
        struct request *r = &requests[i];
        int expect = STATE(gen, PENDING);
        if (r->tid != tid || !__atomic_compare_exchange_n(&r->state, &expect, STATE(gen, WORKING), 0,
                                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        /* Inside the auditor (perhaps inside libunwind): unwinding again could deadlock. */
        stack_t alt;
        int busy = fa_in_auditor > 0 || !unwind_warm ||
                   (sigaltstack(NULL, &alt) == 0 && (alt.ss_flags & SS_ONSTACK));
        /* A thread near the end of a small stack: unwinding there would overflow it. */
        uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
        int tight = !busy && stack_low && sp - stack_low < UNWIND_STACK_NEED;
        r->n = busy || tight ? 0 : fa_backtrace_drop_handler(r->pc, fa_backtrace(r->pc, fa_opts.stack_depth, NULL), restorer);
        __atomic_store_n(&r->state, STATE(gen, busy ? BUSY : tight ? TIGHT : DONE), __ATOMIC_RELEASE);
        __atomic_add_fetch(&answered, 1, __ATOMIC_ACQ_REL);
        syscall(SYS_futex, &answered, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        break;
    }
    if (__atomic_sub_fetch(&handlers_inside, 1, __ATOMIC_ACQ_REL) == 0) {
        int stuck = CLOSED_STUCK;
        __atomic_compare_exchange_n(&collecting, &stuck, IDLE, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    }
out:
    errno = saved;
}

void fa_thread_stacks_warm(void)
{
    if ((fa_stacks_signal(&fa_opts) == 0 && fa_opts.dump_signal == 0) || fa_proc.no_unwind || unwind_warm) return;
    uintptr_t pc[2];
    if (fa_backtrace(pc, 2, NULL) <= 0) return; /* not unwound (libunwind being set up): not warm */
    /* The stack's bounds, for the handler's room check (the main thread's stack grows
     * on demand up to its limit: left unchecked). */
    pthread_attr_t attr;
    void *addr = NULL; /* set by pthread_attr_getstack; cppcheck's posix.cfg thinks it is read */
    size_t size = 0;
    if (fa_gettid() != fa_getpid() && pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) stack_low = (uintptr_t)addr;
        pthread_attr_destroy(&attr);
    }
    /* Published for the forking thread's look at where a blocked thread's stack pointer is
     * (one /proc read per thread per fork) only when the stack is small: a thread blocked
     * within 16 KiB of the end of a stack over 1 MiB is not worth that read at every fork;
     * its handler still checks its room itself. */
    if (fa_self && size <= ((size_t)1 << 20)) __atomic_store_n(&fa_self->stack_low, stack_low, __ATOMIC_RELEASE);
    unwind_warm = 1;
}

int fa_thread_stacks_may_unwind_here(void)
{
    stack_t alt;
    return unwind_warm && !fa_proc.no_unwind && fa_in_auditor == 0 &&
           !(sigaltstack(NULL, &alt) == 0 && (alt.ss_flags & SS_ONSTACK));
}

/* Installs the handler unless the program has a disposition of its own for the signal
 * (SIG_IGN included: exec'd children inherit it). Once installed, checks at every
 * collection that the handler is still ours: the program may have taken the signal. */
static int install(int sig)
{
    struct sigaction old;
    if (installed > 0) {
        if (sigaction(sig, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_stack_signal)
            return 1;
        installed = -1;
    }
    if (installed) return 0;
    /* not SA_ONSTACK: see the top of this file */
    if (sig < SIGRTMIN || sig > SIGRTMAX ||
        fa_signal_install_over_default(sig, on_stack_signal, SA_RESTART, 0, &restorer) != FA_SIGNAL_INSTALLED) {
        installed = -1;
        return 0;
    }
    installed = 1;
    return 1;
}

void fa_thread_stacks_after_fork_child(void)
{
    if (collecting) collecting = IDLE; /* another thread of the parent was collecting */
    if (nrequests) nrequests = 0;
    if (handlers_inside) handlers_inside = 0;
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

/* "/proc/PID/task/TID/<file>" into path[64]; 0 when it did not fit. */
static int task_file(char path[64], pid_t pid, pid_t tid, const char *file)
{
    struct fa_buf b;
    fa_buf_fixed(&b, path, 64);
    fa_puts(&b, "/proc/");
    fa_put_dec(&b, pid);
    fa_puts(&b, "/task/");
    fa_put_dec(&b, tid);
    fa_putc(&b, '/');
    fa_puts(&b, file);
    fa_buf_terminate(&b);
    return !b.truncated;
}

/* 1 if thread `tid` blocks signal `sig` (SigBlk in /proc/PID/task/TID/status, proc(5)):
 * a signal sent to it would stay queued, and count against the user's RLIMIT_SIGPENDING. */
static int blocks_signal(pid_t pid, pid_t tid, int sig)
{
    char path[64];
    if (!task_file(path, pid, tid, "status")) return 0;
    struct fa_buf st;
    if (fa_proc_read(path, &st) != 0) return 0;
    int blocked = 0;
    const char *p = strstr(st.p, "\nSigBlk:");
    if (p) {
        p += 8;
        while (*p == ' ' || *p == '\t') p++;
        const char *end = p;
        while ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f')) end++;
        /* the mask is hexadecimal, most significant digit first; bit sig-1 */
        int digit = (sig - 1) / 4;
        const char *d = end - 1 - digit;
        if (d >= p) {
            unsigned v = (unsigned)(*d <= '9' ? *d - '0' : *d - 'a' + 10);
            blocked = (int)((v >> ((sig - 1) % 4)) & 1);
        }
    }
    fa_buf_release(&st);
    return blocked;
}

/* 1 if thread `tid`, blocked in a system call, has so little stack left below its stack
 * pointer (the "syscall" file of /proc/PID/task/TID, proc(5)) that the kernel's signal
 * frame (about 3.3 KiB with AVX-512 state) and the handler's unwind would overflow it. A
 * running thread's stack pointer is unknown: the handler checks again itself. */
static int too_tight_to_signal(pid_t pid, pid_t tid)
{
    uintptr_t low = 0;
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used && !low; i++)
        if (__atomic_load_n(&fa_threads[i].state, __ATOMIC_ACQUIRE) == FA_SLOT_LIVE && fa_threads[i].tid == tid)
            low = __atomic_load_n(&fa_threads[i].stack_low, __ATOMIC_ACQUIRE);
    if (!low) return 0;
    char path[64];
    if (!task_file(path, pid, tid, "syscall")) return 0;
    struct fa_buf st;
    if (fa_proc_read(path, &st) != 0) return 0;
    /* "NR arg1 ... arg6 SP PC" in a system call, "-1 SP PC" blocked elsewhere, "running" */
    const char *field[9];
    int nfields = 0;
    for (const char *p = st.p; *p && nfields < 9; p++)
        if (*p != ' ' && *p != '\n' && (p == st.p || p[-1] == ' ')) field[nfields++] = p;
    const char *sp_text = nfields == 9 ? field[7] : nfields == 3 ? field[1] : NULL;
    uintptr_t sp = 0;
    if (sp_text && sp_text[0] == '0' && sp_text[1] == 'x')
        for (const char *p = sp_text + 2; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
            sp = sp * 16 + (uintptr_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
    fa_buf_release(&st);
    return sp > low && sp - low < UNWIND_STACK_NEED + SIGNAL_FRAME_NEED;
}

void fa_thread_stacks_collect(struct fa_snapshot *s)
{
    int sig = fa_stacks_signal(&fa_opts);
    if (sig == 0 || s->nthreads == 0 || fa_proc.no_unwind) return;
    int expect = IDLE;
    if (!install(sig) ||
        !__atomic_compare_exchange_n(&collecting, &expect, COLLECTING, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        mark_all(s, FA_STACK_UNAVAILABLE);
        return;
    }
    int n = s->nthreads < REQ_MAX ? s->nthreads : REQ_MAX;
    for (int i = n; i < s->nthreads; i++) s->threads[i].stack_state = FA_STACK_TOO_MANY; /* max_threads > REQ_MAX */
    int gen = __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL) & GEN_MASK;
    __atomic_store_n(&answered, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < n; i++) {
        requests[i].tid = s->threads[i].tid;
        requests[i].n = 0;
        __atomic_store_n(&requests[i].state, STATE(gen, PENDING), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&nrequests, n, __ATOMIC_RELEASE);
    int sent = 0;
    for (int i = 0; i < n; i++) {
        if (blocks_signal(s->pid, requests[i].tid, sig)) {
            int pending = STATE(gen, PENDING);
            if (__atomic_compare_exchange_n(&requests[i].state, &pending, STATE(gen, LATE), 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                s->threads[i].stack_state = FA_STACK_BLOCKED;
            continue;
        }
        if (too_tight_to_signal(s->pid, requests[i].tid)) {
            int pending = STATE(gen, PENDING);
            if (__atomic_compare_exchange_n(&requests[i].state, &pending, STATE(gen, LATE), 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                s->threads[i].stack_state = FA_STACK_TIGHT;
            continue;
        }
        if (syscall(SYS_tgkill, s->pid, requests[i].tid, sig) == 0) sent++;
    }
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
        if (st == STATE(gen, LATE)) continue; /* blocks the signal: never asked */
        if (st == STATE(gen, WORKING)) { /* still unwinding: give up on it, keep its entry */
            t->stack_state = FA_STACK_NO_ANSWER;
            stuck = 1;
        } else if (st == STATE(gen, BUSY)) {
            t->stack_state = FA_STACK_BUSY;
        } else if (st == STATE(gen, TIGHT)) {
            t->stack_state = FA_STACK_TIGHT;
        } else {
            t->stack_state = FA_STACK_OK;
            t->nstack = r->n;
            memcpy(t->stack, r->pc, (size_t)r->n * sizeof r->pc[0]);
        }
    }
    __atomic_store_n(&nrequests, 0, __ATOMIC_RELEASE);
    /* A handler still unwinding owns its entry: no new collection may reuse the table until
     * the last handler leaves (it reopens a CLOSED_STUCK table). */
    if (!stuck) {
        __atomic_store_n(&collecting, IDLE, __ATOMIC_RELEASE);
    } else {
        __atomic_store_n(&collecting, CLOSED_STUCK, __ATOMIC_RELEASE);
        int closed = CLOSED_STUCK;
        if (__atomic_load_n(&handlers_inside, __ATOMIC_ACQUIRE) == 0)
            __atomic_compare_exchange_n(&collecting, &closed, IDLE, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    }
}
