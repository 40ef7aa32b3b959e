/* pylocks.c: see pylocks.h. A set-associative table by semaphore address: 256 sets of 4
 * slots. A slot holds a semaphore while Python holds it; its release from the interpreter
 * frees the slot, so the thousands of short-lived locks a program takes (every import takes
 * a module lock) never push out the few held at a fork. Writing a slot is claimed with a
 * compare-and-swap on its sequence (odd while written), so two semaphores never mix in
 * one; a reader keeps what it read only when the sequence was even and did not move. A
 * semaphore's own acquisitions never race: its holder writes its slot while holding it. */
#include "track/pylocks.h"

#include <string.h>

#define SETS 256
#define WAYS 4

struct slot {
    unsigned long seq;
    const void *sem; /* NULL: free */
    struct fa_pylock_taken taken;
};

static struct slot slots[SETS][WAYS];

static struct slot *set_of(const void *sem)
{
    uintptr_t a = (uintptr_t)sem;
    return slots[((a >> 5) ^ (a >> 13) ^ (a >> 21)) & (SETS - 1)];
}

/* Claims a slot of sem's set for writing: the one holding `sem`, else (when `take`) a free
 * one, else (when `take`) the set's first. Returns it with its sequence made odd (*seq:
 * the even value before), or NULL: none, or another writer has it. */
static struct slot *claim(const void *sem, int take, unsigned long *seq)
{
    struct slot *set = set_of(sem);
    for (int attempt = 0; attempt < 2; attempt++) {
        struct slot *s = NULL;
        for (int w = 0; w < WAYS && !s; w++)
            if (__atomic_load_n(&set[w].sem, __ATOMIC_RELAXED) == sem) s = &set[w];
        for (int w = 0; w < WAYS && !s && take; w++)
            if (!__atomic_load_n(&set[w].sem, __ATOMIC_RELAXED)) s = &set[w];
        if (!s && take) s = &set[0]; /* four held Python locks in one set: the oldest goes */
        if (!s) return NULL;
        unsigned long v = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
        if ((v & 1) || !__atomic_compare_exchange_n(&s->seq, &v, v + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return NULL; /* another semaphore of this set is being written */
        const void *now = __atomic_load_n(&s->sem, __ATOMIC_RELAXED);
        if (now == sem || (take && (!now || s == &set[0]))) {
            *seq = v;
            return s;
        }
        __atomic_store_n(&s->seq, v + 2, __ATOMIC_RELEASE); /* taken by another meanwhile */
    }
    return NULL;
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
    unsigned long seq;
    struct slot *s = claim(sem, 1, &seq);
    if (!s) return; /* this site is not kept */
    __atomic_store_n(&s->sem, sem, __ATOMIC_RELAXED);
    for (int i = 0; i < FA_PYLOCK_FRAMES; i++) {
        __atomic_store_n(&s->taken.code[i], t.code[i], __ATOMIC_RELAXED);
        __atomic_store_n(&s->taken.instr[i], t.instr[i], __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

void fa_pylock_forget(const void *sem)
{
    unsigned long seq;
    struct slot *s = claim(sem, 0, &seq);
    if (!s) return;
    __atomic_store_n(&s->sem, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

int fa_pylock_taken(const void *sem, struct fa_pylock_taken *out)
{
    struct slot *set = set_of(sem);
    for (int w = 0; w < WAYS; w++) {
        struct slot *s = &set[w];
        unsigned long seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (seq & 1 || __atomic_load_n(&s->sem, __ATOMIC_RELAXED) != sem) continue;
        for (int i = 0; i < FA_PYLOCK_FRAMES; i++) {
            out->code[i] = __atomic_load_n(&s->taken.code[i], __ATOMIC_RELAXED);
            out->instr[i] = __atomic_load_n(&s->taken.instr[i], __ATOMIC_RELAXED);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        return __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq;
    }
    return 0;
}
