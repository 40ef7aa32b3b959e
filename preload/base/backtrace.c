/* backtrace.c: libunwind-based stack capture (see backtrace.h). */
#define UNW_LOCAL_ONLY
#include "base/backtrace.h"

#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fa.h"
#include "base/ownfd.h"
#include "base/process.h"

/* The auditor's executable code, [self_lo, self_hi): published with self_hi last. */
static uintptr_t self_lo, self_hi;
/* libunwind's, the same way. */
static uintptr_t unwinder_lo, unwinder_hi;

struct code_range {
    uintptr_t inside; /* an address of the object's code */
    uintptr_t lo, hi;
};

/* The object whose executable segments hold r->inside. */
static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct code_range *r = data;
    uintptr_t lo = 0, hi = 0;
    int mine = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        if (r->inside >= a && r->inside < b) mine = 1;
        if (!lo || a < lo) lo = a;
        if (b > hi) hi = b;
    }
    if (!mine) return 0;
    r->lo = lo;
    r->hi = hi;
    return 1;
}

/* Set by our constructor: from then on a range that was not found is not looked for again
 * (dl_iterate_phdr takes the loader's lock; this runs in signal handlers and children). */
static int ranges_final;

static void learn_code_range(uintptr_t inside, uintptr_t *lo, uintptr_t *hi)
{
    if (__atomic_load_n(hi, __ATOMIC_ACQUIRE) || __atomic_load_n(&ranges_final, __ATOMIC_ACQUIRE)) return;
    struct code_range r = {inside, 0, 0};
    dl_iterate_phdr(find_object, &r);
    if (!r.hi) return;
    __atomic_store_n(lo, r.lo, __ATOMIC_RELAXED);
    __atomic_store_n(hi, r.hi, __ATOMIC_RELEASE);
}

/* Learns the ranges once, from whichever comes first: our constructor, or a backtrace
 * taken before it ran (a pthread_create or open in another library's constructor, which
 * runs first when that library is a dependency of the program; libunwind's own pipe2
 * when tcmalloc unwinds first). Concurrent callers find the same ranges. The loader's
 * tables only: no libunwind call, so this is safe inside libunwind's initialisation. */
static void learn_own_code(void)
{
    learn_code_range((uintptr_t)&find_object, &self_lo, &self_hi);
    learn_code_range((uintptr_t)&unw_backtrace, &unwinder_lo, &unwinder_hi);
}

static int pipe_foreign; /* see fa_backtrace_pipe_made */
static int needs_libunwind(struct dl_phdr_info *info, size_t size, void *data);

void fa_backtrace_init(void)
{
    int saved = errno;
    learn_own_code();
    if (dl_iterate_phdr(needs_libunwind, NULL)) __atomic_store_n(&pipe_foreign, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&ranges_final, 1, __ATOMIC_RELEASE);
    errno = saved;
}

/* libunwind is set up by the first unwind, not at start-up: its set-up (a memory-probing
 * pipe moved out of the program's way, mincore, cache flushes: ~35,000 instructions, six
 * system calls and five page faults) would otherwise be paid by every exec'd program,
 * most of which never need a stack. 0: not yet, 1: one thread sets it up, 2: ready. */
static int unwind_ready;

/* 1 when libunwind is set up (here if need be); 0 while another thread sets it up (its
 * cache policy would change under this unwind: this one is skipped). */
static int setup_unwind(void)
{
    int state = __atomic_load_n(&unwind_ready, __ATOMIC_ACQUIRE);
    if (FA_LIKELY(state == 2)) return 1;
    int expect = 0;
    if (state != 0 || !__atomic_compare_exchange_n(&unwind_ready, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return 0;
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    __atomic_store_n(&unwind_ready, 2, __ATOMIC_RELEASE);
    return 1;
}

int fa_is_auditor_pc(uintptr_t pc)
{
    return pc < __atomic_load_n(&self_hi, __ATOMIC_ACQUIRE) && pc >= __atomic_load_n(&self_lo, __ATOMIC_RELAXED);
}

/* A wrapped call made by libunwind itself (its pipe2, open, pthread_mutex_lock), on behalf
 * of another user of it (tcmalloc's heap sampler, a crash handler): libunwind may hold its
 * own non-recursive lock there (tdep_init opens its pipe under it), so unwinding again
 * would deadlock. */
int fa_is_unwinder_pc(uintptr_t pc)
{
    learn_own_code();
    return pc < __atomic_load_n(&unwinder_hi, __ATOMIC_ACQUIRE) &&
           pc >= __atomic_load_n(&unwinder_lo, __ATOMIC_RELAXED);
}

void fa_backtrace_forbid_unwinding(void) { fa_proc.no_unwind = 1; }

/* The program put a file of its own on the number of libunwind's memory-probing pipe: an
 * unwind could read a byte from that file or write one into it, so this process (and its
 * children, which inherit the flag with the descriptor table) never unwinds again. */
static int unwinder_pipe_taken;

void fa_backtrace_pipe_taken(void) { __atomic_store_n(&unwinder_pipe_taken, 1, __ATOMIC_RELEASE); }

/* libunwind's pipe as our pipe2 wrapper saw it made: its numbers and its identity. */
static int probe_fd[2] = {-1, -1};
static dev_t probe_dev;
static ino_t probe_ino;

/* libunwind keeps its pipe in a static pair of its own (mem_validate_pipe, in 1.6.2's
 * x86_64/Ginit.c) and makes a new one whenever reading from it fails: a pair of -1 makes
 * it open one at its next memory validation. So the pipe need not outlive an unwind: the
 * last of our unwinds in progress closes it and stores -1 there (issue 14, item 11: the
 * pipe took 2 of the program's descriptors, under `ulimit -n 6` its second open failed).
 * The pair's address is the one libunwind handed to pipe2. When another user of
 * libunwind is in the process (tcmalloc, the program itself: it could be unwinding on
 * another thread), the pipe is left as libunwind made it. */
static int *volatile unwinder_pair;
#define PIPE_CLOSING (1 << 30)
static int pipe_users; /* our unwinds in progress, | PIPE_CLOSING while one closes it */
static FA_TLS int my_pipe_users;
static FA_TLS int my_closing;

void fa_backtrace_pipe_made(int fds[2], int ours)
{
    if (!ours) {
        __atomic_store_n(&pipe_foreign, 1, __ATOMIC_RELEASE);
        return;
    }
    struct stat st;
    if (syscall(SYS_fstat, fds[0], &st) != 0) return;
    probe_dev = st.st_dev;
    probe_ino = st.st_ino; /* kept after the pipe is closed: fa_backtrace_is_unwinder_pipe */
    probe_fd[0] = fds[0];
    probe_fd[1] = fds[1];
    unwinder_pair = fds;
}

int fa_backtrace_is_unwinder_pipe(dev_t dev, ino_t ino)
{
    return unwinder_pair && probe_ino && dev == probe_dev && ino == probe_ino;
}

/* Another object than ours and libunwind's needs libunwind (DT_NEEDED): it may unwind
 * at any time, and use libunwind's pipe while we would close it. */
static int needs_libunwind(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uintptr_t own = (uintptr_t)&needs_libunwind, unw = (uintptr_t)&unw_backtrace;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        if ((own >= a && own < b) || (unw >= a && unw < b)) return 0;
    }
    if (!dyn || !info->dlpi_name) return 0;
    const char *strtab = NULL;
    for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_STRTAB) {
            uintptr_t p = d->d_un.d_ptr;
            strtab = (const char *)(p < info->dlpi_addr ? p + info->dlpi_addr : p); /* relocated by ld.so, or not (vdso) */
        }
    if (!strtab) return 0;
    for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_NEEDED && strncmp(strtab + d->d_un.d_val, "libunwind", 9) == 0) return 1;
    return 0;
}

/* Before an unwind: 0 when this thread is closing the pipe (a signal handler of ours
 * interrupted it): no unwind then. Waits while another thread closes it (two closes). */
static int pipe_enter(void)
{
    if (my_closing) return 0;
    for (;;) {
        int u = __atomic_load_n(&pipe_users, __ATOMIC_ACQUIRE);
        if (u & PIPE_CLOSING) {
            syscall(SYS_sched_yield);
            continue;
        }
        if (__atomic_compare_exchange_n(&pipe_users, &u, u + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
    }
    my_pipe_users++;
    return 1;
}

/* Closes libunwind's pipe where it still is ours (a number the program put a file of its
 * own on is left alone), and empties libunwind's pair so that it makes a new pipe. */
static void close_unwinder_pipe(int *pair)
{
    for (int i = 0; i < 2; i++) {
        struct stat st;
        int fd = pair[i];
        if (fd >= 0 && syscall(SYS_fstat, fd, &st) == 0 && st.st_dev == probe_dev && st.st_ino == probe_ino)
            syscall(SYS_close, fd);
        pair[i] = -1;
        probe_fd[i] = -1;
    }
}

/* After an unwind: the last one out closes the pipe, if libunwind made one. */
/* Set before the program's first thread starts: from then on the pipe stays (threads
 * whose first unwinds each made one at once made libunwind open two, and the second
 * looked like the program's file on the first's number: unwinding stopped for good). */
static int threads_coming;

void fa_backtrace_threads_coming(void)
{
    __atomic_store_n(&threads_coming, 1, __ATOMIC_RELEASE);
    uintptr_t pc[1];
    fa_backtrace(pc, 1, NULL); /* libunwind makes its pipe now, on this thread alone */
}

static void pipe_leave(void)
{
    my_pipe_users--;
    if (__atomic_sub_fetch(&pipe_users, 1, __ATOMIC_ACQ_REL) != 0) return;
    int *pair = unwinder_pair;
    if (!pair || __atomic_load_n(&pipe_foreign, __ATOMIC_ACQUIRE) || (pair[0] < 0 && pair[1] < 0)) return;
    /* Only while the process has one thread. With others (their signal handlers unwinding
     * at a fork) a pipe made and closed at each unwind was listed by a concurrent fds
     * listing as the program's in 2 of 8 runs of test_hostile_runtime's threads_mixed; it
     * then stays open, as before. */
    if (!__libc_single_threaded || __atomic_load_n(&threads_coming, __ATOMIC_ACQUIRE)) return;
    int zero = 0;
    if (!__atomic_compare_exchange_n(&pipe_users, &zero, PIPE_CLOSING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
    my_closing = 1;
    int slot = fa_ownfd_section_begin(0); /* no fork between the two closes; listings wait */
    close_unwinder_pipe(pair);
    fa_ownfd_section_end(slot);
    my_closing = 0;
    __atomic_store_n(&pipe_users, 0, __ATOMIC_RELEASE);
}

void fa_backtrace_after_fork_child(void)
{
    /* Another thread's unwind had the pipe at the fork: the child has one thread, and
     * this thread's own unwind (a fork from a handler that interrupted it) finds the pair
     * empty and makes a new pipe. */
    int *pair = unwinder_pair;
    if (pipe_users != my_pipe_users) pipe_users = my_pipe_users;
    if (my_closing || !pair || pipe_foreign || (pair[0] < 0 && pair[1] < 0) || my_pipe_users) return;
    close_unwinder_pipe(pair);
}

/* 0 when the program put a file of its own on a number of libunwind's pipe behind our back
 * (close_range, then an open that got that number; a raw dup2): libunwind would read a
 * byte from it and write one into it. Closed numbers are fine: libunwind makes a new pipe. */
static int probe_pipe_intact(void)
{
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (probe_fd[i] < 0 || syscall(SYS_fstat, probe_fd[i], &st) != 0) continue;
        if (st.st_dev != probe_dev || st.st_ino != probe_ino) return 0;
    }
    return 1;
}

static int call_site_only(uintptr_t *pc, int max, const void *call_site)
{
    if (!call_site || max < 1) return 0;
    pc[0] = (uintptr_t)call_site | FA_PC_MORE;
    return 1;
}

/* A return address that can be code: in the canonical user half of the address space and
 * above the first page. What libunwind's frame-pointer guess reads from a junk %rbp often
 * is not. */
static int plausible_pc(uintptr_t p)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return p >= 4096 && p < ((uintptr_t)1 << 47);
#else
    return p >= 4096;
#endif
}

int fa_unwinders;

int fa_backtrace_drop_handler(uintptr_t *pc, int n, uintptr_t restorer)
{
    int k = 0;
    while (k < n && (!restorer || fa_pc(pc[k]) != restorer)) k++;
    if (k >= n) return n;
    memmove(pc, pc + k + 1, (size_t)(n - k - 1) * sizeof pc[0]);
    return n - k - 1;
}

int fa_backtrace(uintptr_t *pc, int max, const void *call_site)
{
    if (fa_proc.no_unwind) return call_site_only(pc, max, call_site);
    return fa_backtrace_unchecked(pc, max, call_site);
}

int fa_backtrace_unchecked(uintptr_t *pc, int max, const void *call_site)
{
    void *raw[FA_MAX_FRAMES + 16];
    int saved = errno;
    if (fa_is_unwinder_pc((uintptr_t)call_site) || /* another library's unwind: see there */
        __atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE)) {
        errno = saved;
        return call_site_only(pc, max, call_site);
    }
    /* libunwind may take locks of its own: the wrappers must not record them. */
    fa_in_auditor++;
    learn_own_code();
    int want = max + 16 > (int)(sizeof raw / sizeof raw[0]) ? (int)(sizeof raw / sizeof raw[0]) : max + 16;
    __atomic_add_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    int n = 0;
    if (pipe_enter()) {
        /* Checked again while no other unwind can close the pipe (its number, freed and
         * taken by the next open in a listing's moment, looked like the program's file). */
        if (!__atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE) && !probe_pipe_intact()) fa_backtrace_pipe_taken();
        if (!__atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE)) n = setup_unwind() ? unw_backtrace(raw, want) : 0;
        pipe_leave();
    }
    __atomic_sub_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    int out = 0, i = 0;
    uintptr_t end = 0; /* why the stack ends early, if it does */
    for (; i < n; i++) {
        uintptr_t p = (uintptr_t)raw[i];
        if (p == 0) break;
        if (!plausible_pc(p)) {
            end = FA_PC_ASTRAY;
            break;
        }
        if (fa_is_auditor_pc(p)) continue;
        if (out == max) {
            end = FA_PC_MORE;
            break;
        }
        pc[out++] = p;
    }
    if (i == n && n == want) end = FA_PC_MORE; /* libunwind stopped at our buffer's end */
    if (out > 0) pc[out - 1] |= end;
    fa_in_auditor--;
    errno = saved;
    return out ? out : call_site_only(pc, max, call_site);
}

int fa_backtrace_from_context(uintptr_t *pc, int max, void *context)
{
    int saved = errno, n = 0, astray = 0;
    if (fa_proc.no_unwind || max < 1 || __atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE)) return 0;
    fa_in_auditor++;
    learn_own_code();
    __atomic_add_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    unw_cursor_t cur;
    int more = 0, entered = pipe_enter(); /* as fa_backtrace_unchecked */
    if (entered && !__atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE) && !probe_pipe_intact()) fa_backtrace_pipe_taken();
    /* A signal frame: the first pc is where the thread stands, not a return address
     * (libunwind looks up the pc itself, not pc - 1). */
    if (entered && !__atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE) && setup_unwind() &&
        unw_init_local2(&cur, (unw_context_t *)context, UNW_INIT_SIGNAL_FRAME) == 0) {
        for (int steps = 0; steps < FA_MAX_FRAMES + 16; steps++) {
            unw_word_t ip = 0;
            if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0) break;
            if (!plausible_pc((uintptr_t)ip)) {
                astray = 1;
                break;
            }
            if (!fa_is_auditor_pc((uintptr_t)ip)) {
                if (n == max) {
                    more = 1;
                    break;
                }
                pc[n++] = (uintptr_t)ip;
            }
            if (unw_step(&cur) <= 0) break;
        }
    }
    if (entered) pipe_leave();
    __atomic_sub_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    if (n > 0) pc[n - 1] |= more ? FA_PC_MORE : astray ? FA_PC_ASTRAY : 0;
    fa_in_auditor--;
    errno = saved;
    return n;
}

int fa_backtrace_with_sp(uintptr_t *pc, uintptr_t *sp, int max)
{
    int saved = errno, n = 0;
    if (fa_proc.no_unwind || max < 1 || __atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE)) return 0;
    fa_in_auditor++;
    learn_own_code();
    __atomic_add_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    /* As fa_backtrace_unchecked: the pipe checked while no other unwind can close it. */
    if (pipe_enter()) {
        if (!__atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE) && !probe_pipe_intact()) fa_backtrace_pipe_taken();
        unw_context_t ctx;
        unw_cursor_t cur;
        if (!__atomic_load_n(&unwinder_pipe_taken, __ATOMIC_ACQUIRE) && setup_unwind() && unw_getcontext(&ctx) == 0 &&
            unw_init_local(&cur, &ctx) == 0) {
            do {
                unw_word_t ip = 0, rsp = 0;
                if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || unw_get_reg(&cur, UNW_REG_SP, &rsp) != 0 ||
                    !plausible_pc((uintptr_t)ip))
                    break;
                pc[n] = (uintptr_t)ip;
                sp[n++] = (uintptr_t)rsp;
            } while (n < max && unw_step(&cur) > 0);
        }
        pipe_leave();
    }
    __atomic_sub_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    fa_in_auditor--;
    errno = saved;
    return n;
}
