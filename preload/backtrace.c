/* backtrace.c: libunwind-based stack capture (see backtrace.h). */
#define UNW_LOCAL_ONLY
#include "backtrace.h"

#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>

#include "fa.h"
#include "process.h"
#include "threads.h"

static uintptr_t self_lo, self_hi;

static int find_self(struct dl_phdr_info *info, size_t size, void *base)
{
    (void)size;
    if ((void *)info->dlpi_addr != base) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!self_lo || lo < self_lo) self_lo = lo;
        if (hi > self_hi) self_hi = hi;
    }
    return 1;
}

void fa_backtrace_init(void)
{
    if (self_hi) return;
    int saved = errno;
    Dl_info info;
    if (dladdr((void *)&fa_backtrace_init, &info) && info.dli_fbase)
        dl_iterate_phdr(find_self, info.dli_fbase);
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

int fa_is_auditor_pc(uintptr_t pc) { return pc >= self_lo && pc < self_hi; }

void fa_backtrace_forbid_unwinding(void) { fa_proc.no_unwind = 1; }

static int call_site_only(uintptr_t *pc, int max, const void *call_site)
{
    if (!call_site || max < 1) return 0;
    pc[0] = (uintptr_t)call_site;
    return 1;
}

int fa_unwinders;

int fa_backtrace_drop_handler(uintptr_t *pc, int n, uintptr_t restorer)
{
    int k = 0;
    while (k < n && (!restorer || pc[k] != restorer)) k++;
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
    /* libunwind may take locks of its own: the wrappers must not record them. */
    fa_in_auditor++;
    int want = max + 16 > (int)(sizeof raw / sizeof raw[0]) ? (int)(sizeof raw / sizeof raw[0]) : max + 16;
    __atomic_add_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    int n = setup_unwind() ? unw_backtrace(raw, want) : 0;
    __atomic_sub_fetch(&fa_unwinders, 1, __ATOMIC_ACQ_REL);
    int out = 0;
    for (int i = 0; i < n && out < max; i++) {
        uintptr_t p = (uintptr_t)raw[i];
        if (p == 0) break;
        if (fa_is_auditor_pc(p)) continue;
        pc[out++] = p;
    }
    fa_in_auditor--;
    errno = saved;
    return out ? out : call_site_only(pc, max, call_site);
}
