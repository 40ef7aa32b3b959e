/* lockwrappers.c: see lockwrappers.h. */
#include "track/lockwrappers.h"

#include "base/backtrace.h"

static struct range {
    uintptr_t lo, hi;
} ranges[FA_LOCKWRAP_MAX];
static int nranges, published;

void fa_lockwrap_add(uintptr_t lo, uintptr_t hi)
{
    if (__atomic_load_n(&published, __ATOMIC_ACQUIRE) || nranges >= FA_LOCKWRAP_MAX || hi <= lo) return;
    ranges[nranges].lo = lo;
    ranges[nranges].hi = hi;
    nranges++;
}

int fa_lockwrap_publish(void)
{
    for (int i = 1; i < nranges; i++) { /* insertion sort: a few dozen ranges */
        struct range r = ranges[i];
        int k = i;
        for (; k > 0 && ranges[k - 1].lo > r.lo; k--) ranges[k] = ranges[k - 1];
        ranges[k] = r;
    }
    __atomic_store_n(&published, nranges > 0 ? 1 : -1, __ATOMIC_RELEASE);
    return nranges;
}

int fa_lockwrap_any(void) { return __atomic_load_n(&published, __ATOMIC_ACQUIRE) == 1; }

int fa_lockwrap_has(uintptr_t pc)
{
    if (!fa_lockwrap_any()) return 0;
    pc = fa_pc(pc) - 1; /* a return address: the call is before it */
    int lo = 0, hi = nranges;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (pc < ranges[mid].lo) hi = mid;
        else if (pc >= ranges[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* pc << 16 | size in one word: a reader never sees a key without its value. */
#define LEARNED 1024
#define PROBES 8
static uint64_t sizes[LEARNED], anchors[LEARNED];

static int find(const uint64_t *table, uintptr_t pc, uintptr_t *value)
{
    pc = fa_pc(pc);
    for (unsigned i = 0; i < PROBES; i++) {
        uint64_t e = __atomic_load_n(&table[(pc + i) % LEARNED], __ATOMIC_ACQUIRE);
        if (!e) return 0;
        if (e >> 16 == pc) {
            *value = (uintptr_t)(e & 0xffff);
            return 1;
        }
    }
    return 0;
}

static void learn(uint64_t *table, uintptr_t pc, uintptr_t value)
{
    pc = fa_pc(pc);
    if (value == 0 || value > 0xffff || pc >> 47) return;
    uint64_t e = (uint64_t)pc << 16 | value;
    for (unsigned i = 0; i < PROBES; i++) {
        uint64_t expect = 0;
        uint64_t *slot = &table[(pc + i) % LEARNED];
        if (__atomic_compare_exchange_n(slot, &expect, e, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || expect >> 16 == pc)
            return;
    }
}

int fa_lockwrap_size(uintptr_t pc, uintptr_t *size) { return find(sizes, pc, size); }
void fa_lockwrap_learn_size(uintptr_t pc, uintptr_t size) { learn(sizes, pc, size); }
int fa_lockwrap_anchor(uintptr_t pc, uintptr_t *distance) { return find(anchors, pc, distance); }
void fa_lockwrap_learn_anchor(uintptr_t pc, uintptr_t distance) { learn(anchors, pc, distance); }
