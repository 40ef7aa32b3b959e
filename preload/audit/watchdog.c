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

#include "base/backtrace.h"
#include "base/fmt.h"
#include "track/heldlocks.h"
#include "base/options.h"
#include "base/process.h"
#include "base/procfs.h"
#include "findings/report.h"
#include "out/symbolize.h"
#include "track/threads.h"
#include "out/suppress.h"
#include "audit/threadstacks.h"

#define WD_THREADS 64
#define WD_COOKIE 0x66617764 /* tells our timer's signals from anyone's */

struct remembered_thread {
    pid_t tid;
    char name[16];
    void *start_routine;
    int stack_state;
    int nstack;
    uintptr_t stack[FA_MAX_FRAMES];
};

/* Written by the forking thread just before the fork; the child reads its own copy. Plain
 * memory (not the MADV_DONTFORK snapshot), so the child has it. Two threads forking at
 * once may mix their entries: forking_tid tells the child whether the copy is its fork's. */
static struct {
    pid_t forking_tid;
    int n;
    unsigned long omitted; /* other threads at the fork past WD_THREADS (or max_threads) */
    struct remembered_thread t[WD_THREADS];
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
    int n = s->nthreads < WD_THREADS ? s->nthreads : WD_THREADS;
    for (int i = 0; i < n; i++) {
        const struct fa_snap_thread *src = &s->threads[i];
        struct remembered_thread *t = &at_fork.t[i];
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
    struct sigaction old, sa;
    if (sigaction(SIGURG, NULL, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) return;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_watchdog_signal;
    /* SA_NODEFER, SIGURG left out of the mask: the guard timer can interrupt a stuck unwind */
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    sigfillset(&sa.sa_mask);
    sigdelset(&sa.sa_mask, SIGURG);
    if (sigaction(SIGURG, &sa, NULL) != 0) return;
    struct sigaction now;
    if (sigaction(SIGURG, NULL, &now) == 0) restorer = (uintptr_t)now.sa_restorer;
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

/* The futex wait the interrupted thread will resume, if it is an untimed private one. An
 * untimed futex wait interrupted by a handler returns ERESTARTSYS (ERESTARTNOINTR for the
 * PI lock ops), so with SA_RESTART the kernel rewinds it before running the handler: the
 * saved program counter is back on the `syscall` instruction and the accumulator holds
 * SYS_futex again. A timed wait (ERESTART_RESTARTBLOCK) returns EINTR with the program
 * counter past the instruction, so it never matches. Only private futexes count: a shared
 * one may be woken by another process. */
struct futex_wait {
    uintptr_t uaddr;
    int op;
};

static int untimed_futex_wait(void *ucontext, struct futex_wait *w)
{
#if defined(__x86_64__)
    const greg_t *g = ((ucontext_t *)ucontext)->uc_mcontext.gregs;
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

/* C library and loader frames: every thread passes through them, they name no culprit. */
static int is_system(const struct fa_frame_info *f)
{
    if (!f->module) return 1;
    const char *base = strrchr(f->module, '/');
    base = base ? base + 1 : f->module;
    return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "ld-linux", 8) == 0 ||
           strncmp(base, "libpthread", 10) == 0 || strncmp(base, "libforkaudit", 12) == 0;
}

/* The rule naming the innermost frame outside the C library (its function, or its
 * library when the function has no symbol). */
static void suggest_rule(struct fa_buf *b, const uintptr_t *pc, int n)
{
    for (int i = 0; i < n; i++) {
        struct fa_frame_info f;
        fa_symbolize(pc[i], i > 0, &f);
        if (is_system(&f)) continue;
        if (f.function) {
            fa_suppress_suggest(b, "child-stuck", pc + i, n - i, NULL);
        } else {
            const char *base = strrchr(f.module, '/');
            fa_suppress_suggest(b, "child-stuck", NULL, 0, base ? base + 1 : f.module);
        }
        return;
    }
    fa_suppress_suggest(b, "child-stuck", pc, n, NULL);
}

static int same_function(const struct fa_frame_info *a, const struct fa_frame_info *b)
{
    return a->function && b->function && a->function_len == b->function_len &&
           memcmp(a->function, b->function, a->function_len) == 0 && a->module && b->module &&
           strcmp(a->module, b->module) == 0;
}

static int is_named(const struct fa_frame_info *f, const char *name)
{
    return f->function && f->function_len == strlen(name) && memcmp(f->function, name, f->function_len) == 0;
}

struct suspect {
    pid_t tid;
    int score; /* 3: holds a tracked lock on the futex; 2: same function; 1: same library */
    char evidence[320];
};

/* The parent's thread most likely to hold what the child waits for. */
static void find_suspect(const uintptr_t *pc, int n, const struct futex_wait *w, struct suspect *best)
{
    best->tid = 0;
    best->score = 0;
    /* A tracked lock whose futex word is the one waited on, held by a thread now gone. */
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++) {
        struct fa_thread *t = &fa_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != FA_SLOT_GONE) continue;
        for (int k = 0; k < fa_held_count(&t->held) && k < FA_HELD_MAX; k++) {
            uintptr_t a = (uintptr_t)t->held.e[k].addr;
            if (!a || w->uaddr < a || w->uaddr >= a + 32) continue;
            struct fa_buf e;
            fa_buf_fixed(&e, best->evidence, sizeof best->evidence);
            fa_puts(&e, "it held the ");
            fa_puts(&e, fa_lock_type_name(t->held.e[k].type));
            fa_puts(&e, " whose futex word the child waits on");
            fa_buf_terminate(&e);
            best->tid = t->tid;
            best->score = 3;
            return;
        }
    }
    if (at_fork.forking_tid != fa_proc.born_tid) return;
    struct fa_frame_info mine[FA_MAX_FRAMES];
    int blocked_in = -1, outermost = -1; /* innermost and outermost frames of the program's own code */
    for (int i = 0; i < n; i++) {
        fa_symbolize(pc[i], i > 0, &mine[i]);
        if (is_system(&mine[i])) continue;
        if (blocked_in < 0) blocked_in = i;
        outermost = i;
    }
    if (blocked_in < 0) return;
    for (int i = 0; i < at_fork.n; i++) {
        const struct remembered_thread *t = &at_fork.t[i];
        for (int f = 0; f < t->nstack; f++) {
            struct fa_frame_info theirs;
            fa_symbolize(t->stack[f], f > 0, &theirs);
            if (is_system(&theirs) || is_named(&theirs, "main")) continue;
            int score = 0;
            for (int j = blocked_in; j < n && !score; j++)
                if (!is_system(&mine[j]) && same_function(&mine[j], &theirs)) score = 2;
            /* the library the child is blocked in, unless it is the program itself */
            if (!score && theirs.module && mine[blocked_in].module &&
                strcmp(theirs.module, mine[blocked_in].module) == 0 &&
                strcmp(mine[blocked_in].module, mine[outermost].module) != 0)
                score = 1;
            if (score <= best->score) continue;
            struct fa_buf e;
            fa_buf_fixed(&e, best->evidence, sizeof best->evidence);
            const char *base = strrchr(theirs.module, '/');
            base = base ? base + 1 : theirs.module;
            if (score == 2) {
                fa_puts(&e, "its stack at the fork was in ");
                fa_putsn(&e, theirs.function, theirs.function_len);
                fa_puts(&e, " (");
                fa_puts(&e, base);
                fa_puts(&e, "), a function on the child's blocked stack");
            } else {
                fa_puts(&e, "its stack at the fork passed through ");
                fa_puts(&e, base);
                if (theirs.function) {
                    fa_puts(&e, " (");
                    fa_putsn(&e, theirs.function, theirs.function_len);
                    fa_putc(&e, ')');
                }
                fa_puts(&e, ", the library the child is blocked in");
            }
            fa_buf_terminate(&e);
            best->tid = t->tid;
            best->score = score;
        }
    }
}

static void render_json(struct fa_buf *b, const uintptr_t *pc, int n, long secs, const struct futex_wait *w,
                        const struct suspect *sus)
{
    fa_render_child_record_json(b, "child-stuck", "error", pc, n);
    fa_puts(b, ",\"stuck_for_s\":");
    fa_put_dec(b, secs);
    fa_puts(b, ",\"wait\":{\"syscall\":\"futex\",\"futex_addr\":\"");
    fa_put_hex(b, w->uaddr);
    fa_puts(b, "\",\"op\":");
    fa_put_dec(b, w->op);
    fa_puts(b, "},\"parent_threads\":[");
    int mine = at_fork.forking_tid == fa_proc.born_tid;
    for (int i = 0; mine && i < at_fork.n; i++) {
        const struct remembered_thread *t = &at_fork.t[i];
        char start[128];
        if (i) fa_putc(b, ',');
        fa_puts(b, "{\"tid\":");
        fa_put_dec(b, t->tid);
        fa_puts(b, ",\"name\":");
        fa_put_json_strn(b, t->name, strnlen(t->name, sizeof t->name));
        if (fa_function_name(t->start_routine, start, sizeof start)) {
            fa_puts(b, ",\"start_routine\":");
            fa_put_json_str(b, start);
        }
        if (t->stack_state == FA_STACK_OK) {
            fa_puts(b, ",\"stack_at_fork\":");
            fa_render_frames_json(b, t->stack, t->nstack);
        }
        fa_putc(b, '}');
    }
    fa_putc(b, ']');
    if (mine && at_fork.omitted) {
        fa_puts(b, ",\"parent_threads_omitted\":");
        fa_put_udec(b, at_fork.omitted);
    }
    /* at most max_locks of them, as at the fork: up to 1,024 threads x 64 locks are kept */
    fa_puts(b, ",\"locks_held_at_fork\":[");
    int first = 1, used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE), listed = 0;
    unsigned long locks_dropped = 0;
    for (int i = 0; i < used; i++) {
        struct fa_thread *t = &fa_threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != FA_SLOT_GONE) continue;
        for (int k = 0; k < fa_held_count(&t->held) && k < FA_HELD_MAX; k++) {
            const struct fa_held *h = &t->held.e[k];
            if (!h->addr || (h->flags & FA_HELD_IN_COND_WAIT)) continue;
            if (listed >= fa_opts.max_locks) {
                locks_dropped++;
                continue;
            }
            listed++;
            if (!first) fa_putc(b, ',');
            first = 0;
            fa_puts(b, "{\"type\":\"");
            fa_puts(b, fa_lock_type_name(h->type));
            fa_puts(b, "\",\"addr\":\"");
            fa_put_hex(b, (uintptr_t)h->addr);
            fa_puts(b, "\",\"holder_tid\":");
            fa_put_dec(b, t->tid);
            fa_puts(b, ",\"acquired_at\":");
            fa_render_held_frames_json(b, h->frames, h->nframes);
            fa_putc(b, '}');
        }
    }
    fa_putc(b, ']');
    if (locks_dropped) {
        fa_puts(b, ",\"locks_held_at_fork_dropped\":");
        fa_put_udec(b, locks_dropped);
    }
    char rule[300];
    struct fa_buf rb;
    fa_buf_fixed(&rb, rule, sizeof rule);
    suggest_rule(&rb, pc, n);
    fa_buf_terminate(&rb);
    fa_puts(b, ",\"suppression\":");
    fa_put_json_str(b, rule);
    if (sus->tid) {
        fa_puts(b, ",\"suspect_tid\":");
        fa_put_dec(b, sus->tid);
        fa_puts(b, ",\"suspect_evidence\":");
        fa_put_json_str(b, sus->evidence);
    }
    fa_puts(b, ",\"action\":\"");
    fa_puts(b, fa_opts.on_child_stuck == FA_ACTION_ABORT ? "abort" : "report");
    fa_puts(b, "\"}\n");
}

static void render_text(struct fa_buf *b, const uintptr_t *pc, int n, long secs, const struct futex_wait *w,
                        const struct suspect *sus)
{
    pid_t pid = fa_getpid();
    fa_render_prefix(b, pid);
    fa_puts(b, "forkaudit: ERROR: child-stuck: this child (forked by thread ");
    fa_put_dec(b, fa_proc.born_tid);
    fa_puts(b, " of process ");
    fa_put_dec(b, syscall(SYS_getppid));
    fa_puts(b, ") is blocked in a futex wait ");
    fa_put_dec(b, secs);
    fa_puts(b, " s after the fork, and it has no other thread that could end the wait\n");
    fa_render_prefix(b, pid);
    fa_puts(b, "  futex ");
    fa_put_hex(b, w->uaddr);
    fa_puts(b, ", a lock no wrapper saw (or one taken by code that bypasses them); blocked at:\n");
    fa_render_frames_text(b, pid, pc, n, "    ");
    if (sus->tid) {
        fa_render_prefix(b, pid);
        fa_puts(b, "  likely culprit: the parent's thread ");
        fa_put_dec(b, sus->tid);
        fa_puts(b, ": ");
        fa_puts(b, sus->evidence);
        fa_putc(b, '\n');
    }
    int mine = at_fork.forking_tid == fa_proc.born_tid;
    for (int i = 0; mine && i < at_fork.n; i++) {
        const struct remembered_thread *t = &at_fork.t[i];
        char start[128];
        fa_render_prefix(b, pid);
        fa_puts(b, "  the parent's thread ");
        fa_put_dec(b, t->tid);
        fa_puts(b, " \"");
        fa_putsn(b, t->name, strnlen(t->name, sizeof t->name));
        fa_putc(b, '"');
        if (fa_function_name(t->start_routine, start, sizeof start)) {
            fa_puts(b, ", start routine ");
            fa_puts(b, start);
        }
        if (t->stack_state == FA_STACK_OK) {
            fa_puts(b, ", at the fork was at:\n");
            fa_render_frames_text(b, pid, t->stack, t->nstack, "    ");
        } else {
            fa_puts(b, " (its stack at the fork is unknown)\n");
        }
    }
    if (mine && at_fork.omitted) {
        fa_render_prefix(b, pid);
        fa_puts(b, "  ... and ");
        fa_put_udec(b, at_fork.omitted);
        fa_puts(b, " more threads of the parent (a child remembers " FA_STR(WD_THREADS) " at most)\n");
    }
    fa_render_prefix(b, pid);
    fa_puts(b, "  suppress with: ");
    suggest_rule(b, pc, n);
    fa_putc(b, '\n');
    fa_render_prefix(b, pid);
    fa_puts(b, fa_opts.on_child_stuck == FA_ACTION_ABORT ? "  on_child_stuck=abort: ending the child now\n"
                                                         : "  on_child_stuck=report: the child keeps waiting\n");
}

/* Writes the child-stuck record (the stack `pc`, `n` frames) and acts on on_child_stuck. */
static void report(const uintptr_t *pc, int n, const struct futex_wait *w)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long secs = now.tv_sec - forked_at.tv_sec;
    if (fa_suppress_frames("child-stuck", pc, n)) return; /* no report, and no abort either */
    struct suspect sus;
    find_suspect(pc, n, w, &sus);
    __atomic_add_fetch(&fa_proc.errors, 1, __ATOMIC_RELAXED);
    struct fa_buf b;
    if (fa_buf_mapped(&b, 1 << 16) == 0) {
        if (fa_opts.format == FA_FORMAT_JSON) render_json(&b, pc, n, secs, w, &sus);
        else render_text(&b, pc, n, secs, w, &sus);
        fa_report_write(&b);
        fa_buf_release(&b);
    }
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
    struct futex_wait w;
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
    if (!untimed_futex_wait(ucontext, &w) || thread_count() != 1) {
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
