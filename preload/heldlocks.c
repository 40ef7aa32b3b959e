/* heldlocks.c: bookkeeping of the locks a thread holds (see heldlocks.h). */
#include "heldlocks.h"

#include <string.h>

static int count(const struct fa_heldset *h) { return __atomic_load_n(&h->n, __ATOMIC_RELAXED); }

struct fa_held *fa_held_find(struct fa_heldset *h, const void *addr)
{
    /* Newest first: locks are usually released in reverse order. */
    for (int i = count(h) - 1; i >= 0; i--)
        if (h->e[i].addr == addr) return &h->e[i];
    return NULL;
}

void fa_held_acquire(struct fa_heldset *h, const void *addr, unsigned type, unsigned kind,
                     unsigned flags, const uintptr_t *frames, int nframes)
{
    struct fa_held *e = fa_held_find(h, addr);
    if (e) {
        e->depth++;
        return;
    }
    int n = count(h);
    if (n >= FA_HELD_MAX) {
        h->overflow++;
        return;
    }
    e = &h->e[n];
    e->addr = addr;
    e->depth = 1;
    e->type = (uint8_t)type;
    e->kind = (uint8_t)kind;
    e->flags = (uint8_t)flags;
    if (nframes > FA_MAX_LOCK_FRAMES) nframes = FA_MAX_LOCK_FRAMES;
    if (nframes < 0) nframes = 0;
    e->nframes = (uint8_t)nframes;
    for (int i = 0; i < nframes; i++) e->frames[i] = frames[i];
    /* Publish the entry only once it is complete. */
    __atomic_store_n(&h->n, n + 1, __ATOMIC_RELEASE);
}

static void remove_at(struct fa_heldset *h, struct fa_held *e)
{
    int n = count(h);
    struct fa_held *last = &h->e[n - 1];
    if (e != last) *e = *last;
    __atomic_store_n(&h->n, n - 1, __ATOMIC_RELEASE);
}

int fa_held_release(struct fa_heldset *h, const void *addr)
{
    struct fa_held *e = fa_held_find(h, addr);
    if (!e) return 0;
    if (--e->depth == 0) remove_at(h, e);
    return 1;
}

void fa_held_forget(struct fa_heldset *h, const void *addr)
{
    struct fa_held *e;
    while ((e = fa_held_find(h, addr)) != NULL) remove_at(h, e);
}

void fa_held_forget_flagged(struct fa_heldset *h, unsigned flag)
{
    for (int i = count(h) - 1; i >= 0; i--)
        if (h->e[i].flags & flag) remove_at(h, &h->e[i]);
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
