/* heldlocks.c: bookkeeping of the locks a thread holds (see heldlocks.h). */
#include "heldlocks.h"

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
