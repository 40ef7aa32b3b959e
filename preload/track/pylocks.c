/* pylocks.c: see pylocks.h. One slot per semaphore address (direct-mapped): writing a
 * slot is claimed with a compare-and-swap on its sequence (odd while written), so two
 * semaphores that map to one slot never mix; a reader keeps what it read only when the
 * sequence was even and did not move. A semaphore's own acquisitions never race: its
 * holder writes its slot while holding it. */
#include "track/pylocks.h"

#include <string.h>

#define SLOTS 1024

struct slot {
    unsigned long seq;
    const void *sem;
    struct fa_pylock_taken taken;
};

static struct slot slots[SLOTS];

static struct slot *slot_of(const void *sem)
{
    uintptr_t a = (uintptr_t)sem;
    return &slots[((a >> 5) ^ (a >> 15)) & (SLOTS - 1)];
}

static const void *ptr_at(const void *p, long off) { return *(const void *const *)((const char *)p + off); }

void fa_pylock_record(const void *sem)
{
    const struct fa_py_api *py = fa_python();
    if (!py || !py->frame_layout.tstate_cframe) return;
    const void *ts = py->this_thread_state();
    const void *cframe = ts ? ptr_at(ts, py->frame_layout.tstate_cframe) : NULL;
    const void *frame = cframe ? ptr_at(cframe, py->frame_layout.cframe_frame) : NULL;
    struct fa_pylock_taken t;
    memset(&t, 0, sizeof t);
    for (int i = 0; frame && i < FA_PYLOCK_FRAMES;) {
        int shim = py->frame_layout.frame_owner >= 0 && *((const char *)frame + py->frame_layout.frame_owner) == 3;
        if (!shim) {
            t.code[i] = ptr_at(frame, py->frame_layout.frame_code);
            t.instr[i] = ptr_at(frame, py->frame_layout.frame_instr);
            i++;
        }
        frame = ptr_at(frame, py->frame_layout.frame_previous);
    }
    if (!t.code[0]) return;
    struct slot *s = slot_of(sem);
    unsigned long seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    if ((seq & 1) || !__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return; /* another semaphore of this slot is being written: this site is not kept */
    __atomic_store_n(&s->sem, sem, __ATOMIC_RELAXED);
    for (int i = 0; i < FA_PYLOCK_FRAMES; i++) {
        __atomic_store_n(&s->taken.code[i], t.code[i], __ATOMIC_RELAXED);
        __atomic_store_n(&s->taken.instr[i], t.instr[i], __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

int fa_pylock_taken(const void *sem, struct fa_pylock_taken *out)
{
    struct slot *s = slot_of(sem);
    unsigned long seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    if (seq & 1 || __atomic_load_n(&s->sem, __ATOMIC_RELAXED) != sem) return 0;
    for (int i = 0; i < FA_PYLOCK_FRAMES; i++) {
        out->code[i] = __atomic_load_n(&s->taken.code[i], __ATOMIC_RELAXED);
        out->instr[i] = __atomic_load_n(&s->taken.instr[i], __ATOMIC_RELAXED);
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq;
}
