/* heldlocks.h: the set of locks one thread holds. Written only by its owner thread on the
 * lock/unlock hot path (and by its signal handlers, which may interrupt it anywhere); read
 * by a forking thread at fork time, each entry between two loads of the set's word that
 * must agree (see struct fa_heldset). Entries hold addresses that are never dereferenced. */
#ifndef FA_HELDLOCKS_H
#define FA_HELDLOCKS_H

#include <stdint.h>

#include "base/fa.h"
#include "track/locks.h"

/* Entry flags. */
#define FA_HELD_IN_COND_WAIT 1u /* released by a condition wait in progress: not held now */
#define FA_HELD_BY_PREPARE 2u   /* taken inside another library's atfork prepare handler */
#define FA_HELD_READ 4u         /* a read lock of a read-write lock */
#define FA_HELD_INHERITED 8u    /* in a forked child: held by the forking thread before the fork */

/* Held entries per thread before overflow is counted instead. */
#define FA_HELD_MAX 64

/* Layout matters: depth, type, kind, flags and nframes are written as one 64-bit word
 * (little-endian, in this order) by fa_held_acquire. */
struct fa_held {
    const void *addr;
    uint32_t depth;     /* recursion depth; 0 never stays in the set */
    uint8_t type;       /* enum fa_lock_type */
    uint8_t kind;       /* for families with mutex kind bits: FA_MUTEX_KIND_* */
    uint8_t flags;
    uint8_t nframes;
    uintptr_t frames[FA_MAX_LOCK_FRAMES]; /* acquisition site, innermost first */
};

/* The set's word: the count of entries in use (low bits), a flag, and a generation that
 * every change of the count advances. Other threads read the entries between two loads of
 * the word and keep what they read only when both loads agree: a slot above the count is
 * rewritten (the next lock's entry, before that lock is taken) only after the count went
 * down, which changed the word. The owner changes the word in one store, and publishes
 * with a compare-and-store that fails when a signal handler of its own thread used the set
 * in between (its generation moved on). */
#define FA_HELD_COUNT_MASK 0xffu
#define FA_HELD_MOVING 0x100u /* fa_held_remove is moving an entry: the entries are not stable */
#define FA_HELD_GEN 0x200u    /* one generation */
/* fa_held_prepare's answer when the acquisition is recorded after the lock instead */
#define FA_HELD_UNPREPARED UINT64_MAX

/* Cache-line aligned: the hot path touches `word`, `slow`, the entries in use (a lock
 * already held is looked for) and the next free one. */
struct fa_heldset {
    uint64_t word;           /* count | FA_HELD_MOVING | generation; see above */
    int slow;                /* owner's switch: non-zero sends acquisitions down the slow path
                              * (inside an atfork prepare handler, deep acquisition stacks) */
    unsigned prepare_skipped; /* locks an atfork prepare handler took that the set did not keep
                               * (see fa_lock_acquired_slow), less their releases since */
    unsigned long overflow;  /* acquisitions that did not fit, less the releases of locks not
                              * in the set since (so: held now and untracked, as far as the
                              * owner's own unlocks tell) */
    struct fa_held e[FA_HELD_MAX];
} __attribute__((aligned(64)));

/* Another thread (or a thread of an ancestor process) holds `addr`: its entry is cleared
 * in place (addr NULL), never moved, since the owner may be using its set; returns 1 when
 * one was cleared. Any thread. */
int fa_held_clear(struct fa_heldset *h, const void *addr);
/* Removes entries other threads cleared (addr NULL: a semaphore posted by another
 * thread); returns the new count. Owner only. */
int fa_held_compact(struct fa_heldset *h);
/* fa_held_acquire on a full set: compacts, then appends or counts the overflow. */
void fa_held_acquire_full(struct fa_heldset *h, const void *addr, unsigned type, unsigned kind, unsigned flags,
                          const uintptr_t *frames, int nframes);

/* The hot-path operations are inline: they run on every lock and unlock. */

static inline uint64_t fa_held_word(const struct fa_heldset *h) { return __atomic_load_n(&h->word, __ATOMIC_RELAXED); }
static inline int fa_held_word_count(uint64_t w) { return (int)(w & FA_HELD_COUNT_MASK); }
static inline int fa_held_count(const struct fa_heldset *h) { return fa_held_word_count(fa_held_word(h)); }

/* The word `w` with the count moved by `delta` and the next generation (the flag kept). */
static inline uint64_t fa_held_next(uint64_t w, int delta) { return w + FA_HELD_GEN + (uint64_t)(int64_t)delta; }

/* Stores `desired` into the word when it still holds `expect`; 1 when it did. Only the
 * owner thread writes the word, so the compare and the store need only be one
 * instruction for its own signal handlers: on x86-64 a cmpxchg without the lock prefix
 * (no bus lock in the program's critical section). */
static inline int fa_held_store_if(struct fa_heldset *h, uint64_t expect, uint64_t desired)
{
#if defined(__x86_64__)
    unsigned char ok;
    __asm__ volatile("cmpxchgq %3, %1" : "=@ccz"(ok), "+m"(h->word), "+a"(expect) : "r"(desired) : "memory");
    return ok;
#else
    return __atomic_compare_exchange_n(&h->word, &expect, desired, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
#endif
}

static inline struct fa_held *fa_held_find(struct fa_heldset *h, const void *addr)
{
    /* Newest first: locks are usually released in reverse order. */
    for (int i = fa_held_count(h) - 1; i >= 0; i--)
        if (h->e[i].addr == addr) return &h->e[i];
    return NULL;
}

/* Records one successful acquisition of `addr` whose acquisition site is `frames`.
 * A lock already in the set (recursive mutex) only gains depth; its first acquisition
 * site is kept. */
/* NOLINTNEXTLINE(misc-no-recursion): the set is full only once; see fa_held_acquire_full */
static inline void fa_held_acquire(struct fa_heldset *h, const void *addr, unsigned type, unsigned kind,
                                   unsigned flags, const uintptr_t *frames, int nframes)
{
    if (nframes > FA_MAX_LOCK_FRAMES) nframes = FA_MAX_LOCK_FRAMES;
    if (nframes < 0) nframes = 0;
    /* depth..nframes in one 8-byte store: byte stores here cost as much as the lock. */
    uint64_t meta = 1u | (uint64_t)(uint8_t)type << 32 | (uint64_t)(uint8_t)kind << 40 |
                    (uint64_t)(uint8_t)flags << 48 | (uint64_t)(uint8_t)nframes << 56;
    for (;;) {
        uint64_t w = fa_held_word(h);
        struct fa_held *e = fa_held_find(h, addr);
        if (e) {
            e->depth++;
            return;
        }
        int n = fa_held_word_count(w);
        if (FA_UNLIKELY(n >= FA_HELD_MAX)) {
            fa_held_acquire_full(h, addr, type, kind, flags, frames, nframes);
            return;
        }
        e = &h->e[n];
        __atomic_thread_fence(__ATOMIC_RELEASE); /* the slot is rewritten after the count that freed it */
        e->addr = addr;
        __builtin_memcpy(&e->depth, &meta, sizeof meta);
        for (int i = 0; i < nframes; i++) e->frames[i] = frames[i];
        /* Publish the entry only once it is complete, and only when no signal handler of
         * this thread wrote the slot meanwhile (else: write it again). */
        if (FA_LIKELY(fa_held_store_if(h, w, fa_held_next(w, 1)))) return;
    }
}

/* Acquisition in two steps, so that a lock's critical section grows by one store only:
 * the entry is written into the free slot before the lock is taken (beyond the count, no
 * other thread keeps it), then published once the lock is held. Returns the word it read,
 * which fa_held_publish expects unchanged, or FA_HELD_UNPREPARED when this way does not
 * apply (the lock is in the set already, a recursive mutex; or the set is full):
 * fa_held_acquire then, after the lock is taken. */
static inline uint64_t fa_held_prepare(struct fa_heldset *h, const void *addr, unsigned type, unsigned kind,
                                       uintptr_t site)
{
    uint64_t w = fa_held_word(h);
    int n = fa_held_word_count(w);
    if (FA_UNLIKELY(n >= FA_HELD_MAX)) return FA_HELD_UNPREPARED;
    for (int i = n - 1; i >= 0; i--)
        if (h->e[i].addr == addr) return FA_HELD_UNPREPARED;
    struct fa_held *e = &h->e[n];
    /* depth 1, flags 0, one frame: the layout fa_held_acquire writes */
    uint64_t meta = 1u | (uint64_t)(uint8_t)type << 32 | (uint64_t)(uint8_t)kind << 40 | (uint64_t)1 << 56;
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the slot is rewritten after the count that freed it */
    e->addr = addr;
    __builtin_memcpy(&e->depth, &meta, sizeof meta);
    e->frames[0] = site;
    return w;
}

/* Publishes what fa_held_prepare wrote, now that the lock is held: `prepared` is its
 * answer. Returns 0 when the set changed meanwhile (a signal handler of this thread took
 * or released a lock in between, and may have rewritten the slot): the caller records
 * the acquisition with fa_held_acquire. */
static inline int fa_held_publish(struct fa_heldset *h, uint64_t prepared)
{
    return fa_held_store_if(h, prepared, fa_held_next(prepared, 1));
}

/* The lock fa_held_prepare wrote the entry of was not taken: the generation moves on, so
 * that an interrupted preparation of this thread (its signal handler's lock failed) never
 * publishes the slot this one rewrote. */
static inline void fa_held_unprepare(struct fa_heldset *h, uint64_t prepared)
{
    fa_held_store_if(h, prepared, fa_held_next(prepared, 0));
}

/* The common release, in one store: `addr` is the newest entry, taken once, by this
 * process. Returns 0 when the caller must take the general way (fa_held_release). */
static inline int fa_held_release_newest(struct fa_heldset *h, const void *addr)
{
    uint64_t w = fa_held_word(h);
    int n = fa_held_word_count(w);
    if (n <= 0) return 0;
    const struct fa_held *e = &h->e[n - 1];
    if (e->addr != addr || e->depth != 1 || (e->flags & FA_HELD_INHERITED)) return 0;
    __atomic_store_n(&h->word, fa_held_next(w, -1), __ATOMIC_RELEASE);
    return 1;
}

/* Other threads may clear an entry's addr at any moment (a semaphore posted elsewhere:
 * fa_held_clear, which scans from the top down). So the last entry is copied down into
 * the freed slot before it is taken out of its own: a scan always finds the address in
 * one of the two, and a clear that hit the old slot meanwhile is applied to the copy.
 * The freed slot is emptied before the copy: a fork from a signal handler that interrupted
 * this reads the set of its own thread half-moved, and must never pair one lock's address
 * with another's type, depth and acquisition site (a copy seen twice is merged by the
 * reader, fa_held_seen_before). */
static inline void fa_held_remove(struct fa_heldset *h, struct fa_held *e)
{
    uint64_t w = fa_held_word(h);
    int n = fa_held_word_count(w);
    struct fa_held *last = &h->e[n - 1];
    if (e != last) {
        /* other threads stop trusting what they read until the count is stored */
        __atomic_store_n(&h->word, w | FA_HELD_MOVING, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        __atomic_store_n(&e->addr, NULL, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST); /* emptied before the copy, for a handler */
        const void *addr = __atomic_load_n(&last->addr, __ATOMIC_RELAXED);
        __builtin_memcpy(&e->depth, &last->depth, sizeof *e - __builtin_offsetof(struct fa_held, depth));
        __atomic_store_n(&e->addr, addr, __ATOMIC_RELEASE);
        if (addr && !__atomic_exchange_n(&last->addr, NULL, __ATOMIC_ACQ_REL))
            __atomic_compare_exchange_n(&e->addr, &addr, NULL, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&h->word, fa_held_next(w, -1), __ATOMIC_RELEASE);
}

/* 1 when an entry below e[k] holds the same address: the reader met an entry in the
 * middle of its move down by fa_held_remove (both copies are valid for an instant). */
static inline int fa_held_seen_before(const struct fa_heldset *h, int k, const void *addr)
{
    for (int i = 0; i < k; i++)
        if (__atomic_load_n(&h->e[i].addr, __ATOMIC_RELAXED) == addr) return 1;
    return 0;
}

/* Records one release; returns 1 when `addr` was in the set. */
static inline int fa_held_release(struct fa_heldset *h, const void *addr)
{
    struct fa_held *e = fa_held_find(h, addr);
    if (!e) return 0;
    if (--e->depth == 0) fa_held_remove(h, e);
    return 1;
}

/* Drops `addr` whatever its depth (the lock was re-initialised or destroyed). */
void fa_held_forget(struct fa_heldset *h, const void *addr);
/* Drops every entry carrying `flag`. */
void fa_held_forget_flagged(struct fa_heldset *h, unsigned flag);
/* Condition waits: the mutex is released while the thread sleeps and retaken after. */
void fa_held_cond_wait_begin(struct fa_heldset *h, const void *addr);
void fa_held_cond_wait_end(struct fa_heldset *h, const void *addr);

#endif
