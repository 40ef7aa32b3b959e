/* holderstacks.c: see holderstacks.h.
 *
 * The protocol, all in static memory the helper shares (CLONE_VM):
 *   1. the forking thread classifies each holder from /proc (traced already, stopped, in a
 *      timed call that a stop would end with EINTR: those are left alone), clones the
 *      helper on a static stack and, under Yama ptrace_scope 1, names it with
 *      PR_SET_PTRACER; then `go`.
 *   2. the helper (raw system calls only: it shares the forking thread's TLS) blocks every
 *      signal, dies with the forking thread (PR_SET_PDEATHSIG), seizes and interrupts each
 *      holder, waits for its stop, reads its registers (PTRACE_GETREGSET) and, when the stop
 *      found a system call that had just failed with EINTR (a call that a stop ends, epoll_wait,
 *      entered between the look at /proc and the stop), makes the kernel restart it
 *      (-ERESTARTNOHAND: restarted unless a handler runs, as if the stop had not happened);
 *      then `ready`.
 *   3. the forking thread makes sure the stopped threads hold none of the locks an unwind
 *      takes (no thread inside libunwind; the loader's lock, which libunwind takes in
 *      dl_iterate_phdr, free), claims the stopped threads (`claim` 0 -> UNWINDING) and
 *      unwinds each from its registers; then `release`.
 *   4. the helper detaches (giving back a signal that arrived meanwhile) and exits; the
 *      forking thread reaps it (__WALL: it has no exit signal).
 * When the loader's lock is held by a stopped thread the probe in 3 blocks: the helper,
 * not claimed within a second, abandons (`claim` 0 -> ABANDONED) and detaches, the probe
 * returns, and the stacks are reported as not unwound. When the helper dies, the kernel
 * detaches its tracees: no thread stays stopped. */
#include "audit/holderstacks.h"

#include <errno.h>
#include <link.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/backtrace.h"
#include "base/fa.h"
#include "base/options.h"
#include "base/process.h"
#include "base/procfs.h"

#if defined(__x86_64__)
#include <elf.h>
#include <sys/user.h>

#define HOLDERS_MAX 64
#define HELPER_STACK (64 * 1024)
#define READY_WAIT_MS 500  /* the helper's stops: tens of microseconds each */
#define CLAIM_WAIT_MS 1000 /* the helper's wait for the claim: the loader-lock probe */
#define RELEASE_WAIT_MS 5000

enum { R_NONE = 0, R_STOPPED = 1, R_FAILED = 2, R_GONE = 3 };
enum { CLAIM_NONE = 0, CLAIM_UNWINDING = 1, CLAIM_ABANDONED = 2 };

struct holder_req {
    pid_t tid;
    int result; /* R_* */
    int err;    /* R_FAILED: PTRACE_SEIZE's errno */
    int sig;    /* a signal whose delivery the stop caught: given back at detach */
    int fixed;  /* an EINTR made into a restart */
    struct user_regs_struct regs;
};

static struct {
    pid_t parent;
    int go, ready, claim, release, done;
    int n;
    struct holder_req r[HOLDERS_MAX];
} hs;
static char helper_stack[HELPER_STACK] __attribute__((aligned(64)));
static int busy; /* one collection at a time */

/* ---------------------------------------------------------------- the helper
 * No libc: errno and every other TLS object are the forking thread's. */

#define HELPER_FN __attribute__((no_sanitize("address", "undefined"), noinline))

static inline __attribute__((always_inline)) long hsys(long nr, long a, long b, long c, long d, long e)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
    return ret;
}

static inline __attribute__((always_inline)) void hwait(int *word, int value, long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    hsys(SYS_futex, (long)word, FUTEX_WAIT, value, (long)&t, 0);
}

static inline __attribute__((always_inline)) void hwake(int *word)
{
    hsys(SYS_futex, (long)word, FUTEX_WAKE, 1, 0, 0);
}

HELPER_FN static int helper_main(void *arg)
{
    (void)arg;
    unsigned long all = ~0UL;
    hsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, sizeof all, 0);
    hsys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (hsys(SYS_getppid, 0, 0, 0, 0, 0) != hs.parent) return 0; /* the forking thread is gone */
    for (int i = 0; i < 10 && !__atomic_load_n(&hs.go, __ATOMIC_ACQUIRE); i++) hwait(&hs.go, 0, 100);
    int n = __atomic_load_n(&hs.go, __ATOMIC_ACQUIRE) ? hs.n : 0;
    for (int i = 0; i < n; i++) {
        struct holder_req *r = &hs.r[i];
        long rc = hsys(SYS_ptrace, PTRACE_SEIZE, r->tid, 0, 0, 0);
        if (rc < 0) {
            r->result = rc == -ESRCH ? R_GONE : R_FAILED;
            r->err = (int)-rc;
            continue;
        }
        hsys(SYS_ptrace, PTRACE_INTERRUPT, r->tid, 0, 0, 0);
    }
    for (int i = 0; i < n; i++) {
        struct holder_req *r = &hs.r[i];
        if (r->result != R_NONE) continue;
        int status = 0;
        long w;
        do w = hsys(SYS_wait4, r->tid, (long)&status, __WALL, 0, 0);
        while (w == -EINTR);
        if (w != r->tid || !WIFSTOPPED(status)) {
            r->result = R_GONE;
            continue;
        }
        /* A signal-delivery stop (the interrupt is still pending; detaching clears it):
         * the signal is given back at detach. A PTRACE_EVENT_STOP is ours, or a group stop. */
        if ((status >> 16) == 0) r->sig = WSTOPSIG(status);
        struct iovec io = {&r->regs, sizeof r->regs};
        if (hsys(SYS_ptrace, PTRACE_GETREGSET, r->tid, NT_PRSTATUS, (long)&io, 0) < 0) {
            r->result = R_GONE; /* stays seized: detached below */
            r->err = -1;
            continue;
        }
        if ((long)r->regs.orig_rax >= 0 && (long)r->regs.rax == -EINTR) {
            r->regs.rax = (unsigned long)-514; /* ERESTARTNOHAND */
            hsys(SYS_ptrace, PTRACE_SETREGSET, r->tid, NT_PRSTATUS, (long)&io, 0);
            r->fixed = 1;
        }
        r->result = R_STOPPED;
    }
    __atomic_store_n(&hs.ready, 1, __ATOMIC_RELEASE);
    hwake(&hs.ready);
    for (int i = 0; i < CLAIM_WAIT_MS / 100 && __atomic_load_n(&hs.claim, __ATOMIC_ACQUIRE) == CLAIM_NONE; i++)
        hwait(&hs.claim, CLAIM_NONE, 100);
    int none = CLAIM_NONE;
    if (!__atomic_compare_exchange_n(&hs.claim, &none, CLAIM_ABANDONED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        for (int i = 0; i < RELEASE_WAIT_MS / 100 && !__atomic_load_n(&hs.release, __ATOMIC_ACQUIRE); i++)
            hwait(&hs.release, 0, 100);
    for (int i = 0; i < n; i++) {
        struct holder_req *r = &hs.r[i];
        if (r->result == R_STOPPED || (r->result == R_GONE && r->err == -1))
            hsys(SYS_ptrace, PTRACE_DETACH, r->tid, 0, r->sig, 0);
    }
    __atomic_store_n(&hs.done, 1, __ATOMIC_RELEASE);
    hwake(&hs.done);
    return 0;
}

/* ---------------------------------------------------------------- the forking thread */

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Waits until *word is non-zero, `ms` at most; returns it. */
static int wait_word(int *word, long ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        long left = ms - elapsed_ms(&t0);
        if (v || left <= 0) return v;
        struct timespec t = {left / 1000, (left % 1000) * 1000000L};
        syscall(SYS_futex, word, FUTEX_WAIT, 0, &t, NULL, 0);
    }
}

static void task_path(char path[64], pid_t tid, const char *file)
{
    struct fa_buf b;
    fa_buf_fixed(&b, path, 64);
    fa_puts(&b, "/proc/self/task/");
    fa_put_dec(&b, tid);
    fa_putc(&b, '/');
    fa_puts(&b, file);
    fa_buf_terminate(&b);
}

static unsigned long parse_hex(const char *p)
{
    unsigned long v = 0;
    if (p[0] == '0' && p[1] == 'x') p += 2;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') v = v * 16 + (unsigned long)(*p - '0');
        else if (*p >= 'a' && *p <= 'f') v = v * 16 + (unsigned long)(*p - 'a' + 10);
        else return v;
    }
}

/* 1 when the thread is traced (TracerPid) or stopped (State T or t): left alone. */
static int status_says(pid_t tid, int *traced, int *stopped)
{
    char path[64];
    task_path(path, tid, "status");
    struct fa_buf st;
    *traced = *stopped = 0;
    if (fa_proc_read(path, &st) != 0) return 0;
    const char *p = strstr(st.p, "\nState:");
    if (p) {
        p += 7;
        while (*p == ' ' || *p == '\t') p++;
        *stopped = *p == 'T' || *p == 't';
    }
    p = strstr(st.p, "\nTracerPid:");
    if (p) {
        p += 11;
        while (*p == ' ' || *p == '\t') p++;
        *traced = *p >= '1' && *p <= '9';
    }
    fa_buf_release(&st);
    return 1;
}

/* A system call that a ptrace stop would end early: one that it ends with EINTR
 * (signal(7): epoll_wait, semtimedop, sigtimedwait, io_getevents) and that has a timeout
 * (restarted, it would wait its whole timeout again), or a transfer that it ends part-way.
 * Such a thread is not stopped; its pc is the kernel's (the syscall file). Returns the
 * call's number, or -1 when the thread may be stopped. */
static long early_ending_call(pid_t tid, uintptr_t *pc)
{
    char path[64];
    task_path(path, tid, "syscall");
    struct fa_buf st;
    if (fa_proc_read(path, &st) != 0) return -1;
    /* "NR arg1 ... arg6 SP PC" in a system call, "-1 SP PC" blocked elsewhere, "running" */
    const char *field[9];
    int nf = 0;
    for (const char *p = st.p; *p && nf < 9; p++)
        if (*p != ' ' && *p != '\n' && (p == st.p || p[-1] == ' ')) field[nf++] = p;
    long nr = -1, timed = 0;
    if (nf == 9 && field[0][0] >= '0' && field[0][0] <= '9') {
        nr = 0;
        for (const char *p = field[0]; *p >= '0' && *p <= '9'; p++) nr = nr * 10 + (*p - '0');
        unsigned long a[6];
        for (int i = 0; i < 6; i++) a[i] = parse_hex(field[1 + i]);
        /* the timeout argument: an int in ms (-1: none) or a pointer (NULL: none) */
        if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait) timed = (int)a[3] != -1;
#ifdef SYS_epoll_pwait2
        else if (nr == SYS_semtimedop || nr == SYS_epoll_pwait2) timed = a[3] != 0;
#else
        else if (nr == SYS_semtimedop) timed = a[3] != 0;
#endif
        else if (nr == SYS_rt_sigtimedwait) timed = a[2] != 0;
#ifdef SYS_io_pgetevents
        else if (nr == SYS_io_getevents || nr == SYS_io_pgetevents) timed = a[4] != 0;
#else
        else if (nr == SYS_io_getevents) timed = a[4] != 0;
#endif
        /* Transfers that a pending signal or stop ends part-way with the count done so far
         * (a write to a full pipe or socket, a recv with MSG_WAITALL, splice): left running. */
        else if (nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 || nr == SYS_pwritev ||
                 nr == SYS_sendto || nr == SYS_sendmsg || nr == SYS_sendmmsg || nr == SYS_recvmmsg ||
                 nr == SYS_splice || nr == SYS_tee || nr == SYS_vmsplice || nr == SYS_sendfile ||
                 nr == SYS_copy_file_range)
            timed = 1;
        else if (nr == SYS_recvfrom) timed = (a[3] & MSG_WAITALL) != 0;
        else if (nr == SYS_recvmsg) timed = (a[2] & MSG_WAITALL) != 0;
        *pc = (uintptr_t)parse_hex(field[8]);
    }
    fa_buf_release(&st);
    return timed ? nr : -1;
}

/* Yama's ptrace_scope 1 lets a process trace only its descendants, unless the tracee
 * names its tracer with PR_SET_PTRACER. Read once. */
static int yama_scope(void)
{
    static int scope = -2;
    if (scope != -2) return scope;
    struct fa_buf st;
    scope = -1;
    if (fa_proc_read("/proc/sys/kernel/yama/ptrace_scope", &st) == 0) {
        scope = st.p[0] >= '0' && st.p[0] <= '9' ? st.p[0] - '0' : -1;
        fa_buf_release(&st);
    }
    return scope;
}

static int stop_at_first(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (void)data;
    return 1;
}

static void to_context(const struct user_regs_struct *r, ucontext_t *uc)
{
    memset(uc, 0, sizeof *uc);
    greg_t *g = uc->uc_mcontext.gregs;
    g[REG_R8] = (greg_t)r->r8;
    g[REG_R9] = (greg_t)r->r9;
    g[REG_R10] = (greg_t)r->r10;
    g[REG_R11] = (greg_t)r->r11;
    g[REG_R12] = (greg_t)r->r12;
    g[REG_R13] = (greg_t)r->r13;
    g[REG_R14] = (greg_t)r->r14;
    g[REG_R15] = (greg_t)r->r15;
    g[REG_RDI] = (greg_t)r->rdi;
    g[REG_RSI] = (greg_t)r->rsi;
    g[REG_RBP] = (greg_t)r->rbp;
    g[REG_RBX] = (greg_t)r->rbx;
    g[REG_RDX] = (greg_t)r->rdx;
    g[REG_RAX] = (greg_t)r->rax;
    g[REG_RCX] = (greg_t)r->rcx;
    g[REG_RSP] = (greg_t)r->rsp;
    g[REG_RIP] = (greg_t)r->rip;
    g[REG_EFL] = (greg_t)r->eflags;
}

/* Waits for the helper to detach and exit (it was released or killed), then reaps it. */
static void reap(pid_t pid, int killed)
{
    if (!killed && !wait_word(&hs.done, RELEASE_WAIT_MS + CLAIM_WAIT_MS + 1000)) syscall(SYS_kill, pid, SIGKILL);
    int status;
    while (syscall(SYS_wait4, pid, &status, __WALL, NULL) < 0 && errno == EINTR) {
    }
}

/* The entries of s->threads to stop: holders of a lock of s->locks, not the forking thread,
 * not asked yet. Returns their count; idx[] their indexes in s->threads. */
static int holders(struct fa_snapshot *s, int *idx)
{
    int n = 0;
    for (int i = 0; i < s->nlocks && n < HOLDERS_MAX; i++) {
        const struct fa_snap_lock *l = &s->locks[i];
        if (l->holder_is_forking_thread || l->holder_gone) continue;
        for (int t = 0; t < s->nthreads; t++) {
            if (s->threads[t].tid != l->holder) continue;
            int seen = 0;
            for (int k = 0; k < n; k++) seen |= idx[k] == t;
            if (!seen && s->threads[t].stack_state == FA_STACK_NONE) idx[n++] = t;
            break;
        }
    }
    return n;
}

void fa_holder_stacks_collect(struct fa_snapshot *s)
{
    if (fa_proc.no_unwind || s->nlocks == 0 || s->nthreads == 0) return;
    int idx[HOLDERS_MAX] = {0};
    int n = holders(s, idx);
    if (n == 0) return;
    int expect = 0, saved;
    pid_t pid;
    if (!__atomic_compare_exchange_n(&busy, &expect, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        for (int k = 0; k < n; k++) s->threads[idx[k]].stack_state = FA_STACK_UNAVAILABLE;
        return;
    }
    /* libunwind's first unwind on a thread allocates: done now, while no thread is stopped
     * (a stopped one may hold malloc's lock). */
    static FA_TLS int warm;
    if (!warm) {
        uintptr_t pc[2];
        warm = fa_backtrace(pc, 2, NULL) > 0;
    }
    memset(&hs, 0, sizeof hs);
    int slot[HOLDERS_MAX] = {0}; /* hs.r index -> s->threads index */
    for (int k = 0; k < n; k++) {
        struct fa_snap_thread *t = &s->threads[idx[k]];
        int traced, stopped;
        uintptr_t pc = 0;
        long nr;
        status_says(t->tid, &traced, &stopped);
        if (traced) t->stack_state = FA_STACK_TRACED;
        else if (stopped) t->stack_state = FA_STACK_STOPPED;
        else if ((nr = early_ending_call(t->tid, &pc)) >= 0) {
            t->stack_state = FA_STACK_OK;
            t->nstack = pc ? 1 : 0;
            t->stack[0] = pc | FA_PC_MORE;
            t->stack_note = FA_NOTE_KERNEL_PC;
            t->stack_syscall = (int)nr;
        } else {
            slot[hs.n] = idx[k];
            hs.r[hs.n++].tid = t->tid;
        }
    }
    if (hs.n == 0) goto out;
    hs.parent = s->pid;
    saved = errno;
    pid = clone(helper_main, helper_stack + sizeof helper_stack, CLONE_VM | CLONE_UNTRACED, NULL);
    errno = saved;
    if (pid < 0) {
        for (int k = 0; k < hs.n; k++) s->threads[slot[k]].stack_state = FA_STACK_NO_HELPER;
        goto out;
    }
    int named = yama_scope() == 1 && prctl(PR_SET_PTRACER, (unsigned long)pid, 0, 0, 0) == 0;
    __atomic_store_n(&hs.go, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &hs.go, FUTEX_WAKE, 1, NULL, NULL, 0);
    int ready = wait_word(&hs.ready, READY_WAIT_MS);
    int claimed = 0, in_unwinder = __atomic_load_n(&fa_unwinders, __ATOMIC_ACQUIRE) != 0;
    /* a thread stopped inside libunwind (another library's unwind, not counted above) */
    for (int k = 0; ready && k < hs.n; k++)
        in_unwinder |= hs.r[k].result == R_STOPPED && fa_is_unwinder_pc((uintptr_t)hs.r[k].regs.rip);
    if (ready && !in_unwinder) {
        dl_iterate_phdr(stop_at_first, NULL); /* blocks while a stopped thread holds the loader's lock */
        int none = CLAIM_NONE;
        claimed = __atomic_compare_exchange_n(&hs.claim, &none, CLAIM_UNWINDING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    } else if (ready) { /* a thread inside libunwind (perhaps a stopped one): not unwound */
        int none = CLAIM_NONE;
        __atomic_compare_exchange_n(&hs.claim, &none, CLAIM_ABANDONED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    syscall(SYS_futex, &hs.claim, FUTEX_WAKE, 1, NULL, NULL, 0);
    for (int k = 0; k < hs.n; k++) {
        struct fa_snap_thread *t = &s->threads[slot[k]];
        const struct holder_req *r = &hs.r[k];
        if (!ready) t->stack_state = FA_STACK_NO_HELPER;
        else if (r->result == R_FAILED) t->stack_state = FA_STACK_PTRACE_REFUSED;
        else if (r->result != R_STOPPED) t->stack_state = FA_STACK_GONE;
        else if (!claimed) t->stack_state = FA_STACK_UNSAFE;
        else {
            ucontext_t uc;
            to_context(&r->regs, &uc);
            t->nstack = fa_backtrace_from_context(t->stack, fa_opts.stack_depth, &uc);
            if (t->nstack == 0) {
                t->stack[0] = (uintptr_t)r->regs.rip | FA_PC_MORE;
                t->nstack = 1;
            }
            t->stack_state = FA_STACK_OK;
        }
    }
    __atomic_store_n(&hs.release, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &hs.release, FUTEX_WAKE, 1, NULL, NULL, 0);
    if (!ready) syscall(SYS_kill, pid, SIGKILL); /* its tracees are detached when it dies */
    reap(pid, !ready);
    if (named) prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    errno = saved;
out:
    __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}

#else /* not x86-64: no register layout here */
void fa_holder_stacks_collect(struct fa_snapshot *s) { (void)s; }
#endif
