/* heldlocks.h: the set of locks one thread holds. Written only by its owner thread on the
 * lock/unlock hot path; read by a forking thread at fork time (a racy but memory-safe
 * snapshot: entries hold addresses that are never dereferenced). */
#ifndef FA_HELDLOCKS_H
#define FA_HELDLOCKS_H

#include <stdint.h>

#include "fa.h"

enum fa_lock_type { FA_LOCK_NONE = 0, FA_LOCK_MUTEX = 1 };

/* Entry flags. */
#define FA_HELD_IN_COND_WAIT 1u /* released by a condition wait in progress: not held now */
#define FA_HELD_BY_PREPARE 2u   /* taken inside another library's atfork prepare handler */

/* Held entries per thread before overflow is counted instead. */
#define FA_HELD_MAX 64

struct fa_held {
    const void *addr;
    uint32_t depth;     /* recursion depth; 0 never stays in the set */
    uint8_t type;       /* enum fa_lock_type */
    uint8_t kind;       /* for mutexes: PTHREAD_MUTEX_* type, bit 0x10 set when robust */
    uint8_t flags;
    uint8_t nframes;
    uintptr_t frames[FA_MAX_LOCK_FRAMES]; /* acquisition site, innermost first */
};

struct fa_heldset {
    int n;                   /* entries in use; read with an acquire load by other threads */
    unsigned long overflow;  /* acquisitions that did not fit */
    struct fa_held e[FA_HELD_MAX];
};

/* Records one successful acquisition of `addr`. A lock already in the set (recursive
 * mutex) only gains depth; its first acquisition site is kept. */
void fa_held_acquire(struct fa_heldset *h, const void *addr, unsigned type, unsigned kind,
                     unsigned flags, const uintptr_t *frames, int nframes);
/* Records one release; returns 1 when `addr` was in the set. */
int fa_held_release(struct fa_heldset *h, const void *addr);
/* Drops `addr` whatever its depth (the lock was re-initialised or destroyed). */
void fa_held_forget(struct fa_heldset *h, const void *addr);
/* Drops every entry carrying `flag`. */
void fa_held_forget_flagged(struct fa_heldset *h, unsigned flag);
struct fa_held *fa_held_find(struct fa_heldset *h, const void *addr);
/* Condition waits: the mutex is released while the thread sleeps and retaken after. */
void fa_held_cond_wait_begin(struct fa_heldset *h, const void *addr);
void fa_held_cond_wait_end(struct fa_heldset *h, const void *addr);

#endif
