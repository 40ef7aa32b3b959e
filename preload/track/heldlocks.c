/* heldlocks.c: bookkeeping of the locks a thread holds (see heldlocks.h). */
#include "track/heldlocks.h"

int fa_held_clear(struct fa_heldset *h, const void *addr)
{
    int n = fa_held_word_count(__atomic_load_n(&h->word, __ATOMIC_ACQUIRE));
    for (int k = n - 1; k >= 0 && k < FA_HELD_MAX; k--) {
        const void *expect = addr;
        /* Acquire on failure too: a slot emptied by the owner's fa_held_remove makes its
         * copy further down visible. */
        if (__atomic_compare_exchange_n(&h->e[k].addr, &expect, NULL, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return 1;
    }
    return 0;
}

int fa_held_compact(struct fa_heldset *h)
{
    /* `while`: the entry moved into slot i may have been cleared too. */
    for (int i = fa_held_count(h) - 1; i >= 0; i--)
        while (i < fa_held_count(h) && !__atomic_load_n(&h->e[i].addr, __ATOMIC_ACQUIRE)) fa_held_remove(h, &h->e[i]);
    return fa_held_count(h);
}

/* NOLINTNEXTLINE(misc-no-recursion): calls fa_held_acquire only after compacting made room */
void fa_held_acquire_full(struct fa_heldset *h, const void *addr, unsigned type, unsigned kind, unsigned flags,
                          const uintptr_t *frames, int nframes)
{
    if (fa_held_compact(h) >= FA_HELD_MAX) h->overflow++;
    else fa_held_acquire(h, addr, type, kind, flags, frames, nframes);
}

void fa_held_forget(struct fa_heldset *h, const void *addr)
{
    struct fa_held *e;
    while ((e = fa_held_find(h, addr)) != NULL) fa_held_remove(h, e);
}

void fa_held_forget_flagged(struct fa_heldset *h, unsigned flag)
{
    for (int i = fa_held_count(h) - 1; i >= 0; i--)
        if (h->e[i].flags & flag) fa_held_remove(h, &h->e[i]);
}

void fa_held_cond_wait_begin(struct fa_heldset *h, const void *addr)
{
    struct fa_held *e = fa_held_find(h, addr);
    if (e) e->flags |= FA_HELD_IN_COND_WAIT;
}

void fa_held_cond_wait_end(struct fa_heldset *h, const void *addr)
{
    struct fa_held *e = fa_held_find(h, addr);
    if (e) e->flags &= (uint8_t)~FA_HELD_IN_COND_WAIT;
}
