/* locks.c: the lock families other than pthread mutexes (track/locks.def) — read-write
 * locks, spinlocks, semaphores used as locks, and C11 mtx_t with its cnd_* waits — kept in the same held sets and
 * checked the same way in forked children (lockhooks.h). */
#include "intercept/real.h"

#include <errno.h>

#include "track/lockhooks.h"
#include "track/pylocks.h"
#include "audit/childdeadlock.h"

#define SITE __builtin_return_address(0)

/* ------------------------------------------------------------------ read-write locks */

#define RW_ACQUIRE(call, for_write, timed)                                                 \
    fa_lock_check(rw, FA_LOCK_RWLOCK, 0, ((for_write) ? FA_WAIT_WRITE : 0) | (timed), -1, SITE); \
    int rc = call;                                                                          \
    if (rc == 0) fa_lock_acquired(rw, FA_LOCK_RWLOCK, 0, (for_write) ? 0 : FA_HELD_READ, SITE); \
    return rc;

FA_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw) { RW_ACQUIRE(FA_REAL(pthread_rwlock_rdlock)(rw), 0, 0) }
FA_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw) { RW_ACQUIRE(FA_REAL(pthread_rwlock_wrlock)(rw), 1, 0) }
FA_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *t)
{
    RW_ACQUIRE(FA_REAL(pthread_rwlock_timedrdlock)(rw, t), 0, FA_WAIT_TIMED)
}
FA_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *t)
{
    RW_ACQUIRE(FA_REAL(pthread_rwlock_timedwrlock)(rw, t), 1, FA_WAIT_TIMED)
}
FA_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t c, const struct timespec *t)
{
    RW_ACQUIRE(FA_REAL(pthread_rwlock_clockrdlock)(rw, c, t), 0, FA_WAIT_TIMED)
}
FA_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t c, const struct timespec *t)
{
    RW_ACQUIRE(FA_REAL(pthread_rwlock_clockwrlock)(rw, c, t), 1, FA_WAIT_TIMED)
}

/* try-variants never block: nothing to check first */
FA_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    int rc = FA_REAL(pthread_rwlock_tryrdlock)(rw);
    if (rc == 0) fa_lock_acquired(rw, FA_LOCK_RWLOCK, 0, FA_HELD_READ, SITE);
    return rc;
}

FA_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
    int rc = FA_REAL(pthread_rwlock_trywrlock)(rw);
    if (rc == 0) fa_lock_acquired(rw, FA_LOCK_RWLOCK, 0, 0, SITE);
    return rc;
}

FA_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    fa_lock_released(rw, 0);
    return FA_REAL(pthread_rwlock_unlock)(rw);
}

/* Re-initialising or destroying a lock frees it, whoever held it. */
#define FORGET(lock)                                                        \
    do {                                                                    \
        struct fa_thread *self = fa_self;                                   \
        if (self) fa_held_forget(&self->held, lock);                        \
        fa_lock_forget_inherited(lock);                                     \
    } while (0)

FA_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    FORGET(rw);
    return FA_REAL(pthread_rwlock_init)(rw, attr);
}

FA_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    FORGET(rw);
    return FA_REAL(pthread_rwlock_destroy)(rw);
}

/* ------------------------------------------------------------------------ spinlocks */

FA_EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
    fa_lock_check((const void *)s, FA_LOCK_SPIN, 0, FA_WAIT_WRITE, -1, SITE);
    int rc = FA_REAL(pthread_spin_lock)(s);
    if (rc == 0) fa_lock_acquired((const void *)s, FA_LOCK_SPIN, 0, 0, SITE);
    return rc;
}

FA_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
    int rc = FA_REAL(pthread_spin_trylock)(s);
    if (rc == 0) fa_lock_acquired((const void *)s, FA_LOCK_SPIN, 0, 0, SITE);
    return rc;
}

FA_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
    fa_lock_released((const void *)s, 0);
    return FA_REAL(pthread_spin_unlock)(s);
}

FA_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    FORGET((const void *)s);
    return FA_REAL(pthread_spin_init)(s, pshared);
}

FA_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
    FORGET((const void *)s);
    return FA_REAL(pthread_spin_destroy)(s);
}

/* ----------------------------------------------------------------------- semaphores */

/* Only a semaphore initialised to 1 is a lock (Python 3.11's threading.Lock is one); the
 * others count resources or signal events, and their waits hold nothing. The binary ones
 * are kept in a fixed open-addressing set of addresses (lock-free; when full, further
 * semaphores are not tracked and counted in fa_semaphores_untracked). */
#define BINARY_MAX 8192
#define TOMBSTONE ((const void *)1)
static const void *binary[BINARY_MAX];

static unsigned slot_of(const void *p) { return (unsigned)(((uintptr_t)p >> 4) * 0x9e3779b1u) % BINARY_MAX; }

static int is_binary(const sem_t *s)
{
    for (unsigned i = slot_of(s), k = 0; k < BINARY_MAX; k++, i = (i + 1) % BINARY_MAX) {
        const void *v = __atomic_load_n(&binary[i], __ATOMIC_ACQUIRE);
        if (v == s) return 1;
        if (!v) return 0;
    }
    return 0;
}

static void set_binary(const sem_t *s, int on)
{
    for (;;) {
        /* A destroyed semaphore leaves a tombstone (lookups must probe past it); a new one
         * reuses the first tombstone on its path once it is known absent, or the table
         * would fill with them. */
        const void **free_slot = NULL, *seen = NULL;
        for (unsigned i = slot_of(s), k = 0; k < BINARY_MAX; k++, i = (i + 1) % BINARY_MAX) {
            const void *v = __atomic_load_n(&binary[i], __ATOMIC_ACQUIRE);
            if (v == s) {
                if (!on) __atomic_store_n(&binary[i], TOMBSTONE, __ATOMIC_RELEASE);
                return;
            }
            if ((v == TOMBSTONE || !v) && !free_slot) {
                free_slot = &binary[i];
                seen = v;
            }
            if (!v) break;
        }
        if (!on) return; /* absent */
        if (!free_slot) { /* the table is full: not tracked, counted for the fork note */
            __atomic_add_fetch(&fa_semaphores_untracked, 1, __ATOMIC_RELAXED);
            return;
        }
        if (__atomic_compare_exchange_n(free_slot, &seen, (const void *)s, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
        /* another thread took that slot: look again */
    }
}

FA_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
    FORGET(s);
    set_binary(s, value == 1 && !pshared);
    return FA_REAL(sem_init)(s, pshared, value);
}

FA_EXPORT int sem_destroy(sem_t *s)
{
    FORGET(s);
    set_binary(s, 0);
    return FA_REAL(sem_destroy)(s);
}

/* The value a wait would find (only asked in a forked child, before a blocking wait). */
static int sem_value(sem_t *s)
{
    int v = -1;
    int saved = errno;
    if (sem_getvalue(s, &v) != 0) v = -1;
    errno = saved;
    return v;
}

/* A thread that waits on a semaphore it holds waits for an event, as Python's
 * Condition.wait does on its waiter lock: for the wait its entry counts as not held (a
 * fork meanwhile must not report it), as a condition wait's mutex. Threads holding
 * nothing pay one load. */
static inline struct fa_thread *sem_wait_begin(const sem_t *s)
{
    struct fa_thread *self = fa_self;
    return self && fa_held_count(&self->held) ? fa_cond_wait_begin(s) : NULL;
}

/* `how`: -1 for sem_trywait, which never blocks. */
#define SEM_WAIT(call, how)                                                               \
    int tracked = is_binary(s);                                                           \
    if (tracked && (int)(how) >= 0 && FA_UNLIKELY(fa_proc.forked_child))                   \
        fa_lock_check(s, FA_LOCK_SEM, 0, (unsigned)(how), sem_value(s), SITE);             \
    struct fa_thread *waiter = tracked && (int)(how) >= 0 ? sem_wait_begin(s) : NULL;     \
    int rc = call;                                                                        \
    if (waiter) fa_cond_wait_end(waiter, s);                                              \
    if (rc == 0 && tracked) {                                                             \
        fa_lock_acquired(s, FA_LOCK_SEM, 0, 0, SITE);                                     \
        fa_pylock_acquired(s, SITE);                                                      \
    }                                                                                     \
    return rc;

FA_EXPORT int sem_wait(sem_t *s) { SEM_WAIT(FA_REAL(sem_wait)(s), FA_WAIT_WRITE) }
FA_EXPORT int sem_trywait(sem_t *s) { SEM_WAIT(FA_REAL(sem_trywait)(s), -1) }
FA_EXPORT int sem_timedwait(sem_t *s, const struct timespec *t) { SEM_WAIT(FA_REAL(sem_timedwait)(s, t), FA_WAIT_WRITE | FA_WAIT_TIMED) }
FA_EXPORT int sem_clockwait(sem_t *s, clockid_t c, const struct timespec *t)
{
    SEM_WAIT(FA_REAL(sem_clockwait)(s, c, t), FA_WAIT_WRITE | FA_WAIT_TIMED)
}

FA_EXPORT int sem_post(sem_t *s)
{
    /* Any thread may post: the holder is looked for in every thread's set. */
    if (is_binary(s)) {
        fa_lock_released(s, 1);
        fa_pylock_releasing(s, SITE);
    }
    return FA_REAL(sem_post)(s);
}

/* -------------------------------------------------------------------- C11 mtx_t */

/* glibc's mtx_t is a pthread_mutex_t: its kind bits say recursive or not. */
static unsigned mtx_kind(mtx_t *m) { return (unsigned)((pthread_mutex_t *)(void *)m)->__data.__kind & FA_MUTEX_KIND_MASK; }

FA_EXPORT int mtx_lock(mtx_t *m)
{
    fa_lock_check(m, FA_LOCK_MTX, mtx_kind(m), FA_WAIT_WRITE, -1, SITE);
    int rc = FA_REAL(mtx_lock)(m);
    if (rc == thrd_success) fa_lock_acquired(m, FA_LOCK_MTX, mtx_kind(m), 0, SITE);
    return rc;
}

FA_EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict t)
{
    fa_lock_check(m, FA_LOCK_MTX, mtx_kind(m), FA_WAIT_WRITE | FA_WAIT_TIMED, -1, SITE);
    int rc = FA_REAL(mtx_timedlock)(m, t);
    if (rc == thrd_success) fa_lock_acquired(m, FA_LOCK_MTX, mtx_kind(m), 0, SITE);
    return rc;
}

FA_EXPORT int mtx_trylock(mtx_t *m)
{
    int rc = FA_REAL(mtx_trylock)(m);
    if (rc == thrd_success) fa_lock_acquired(m, FA_LOCK_MTX, mtx_kind(m), 0, SITE);
    return rc;
}

FA_EXPORT int mtx_unlock(mtx_t *m)
{
    /* As pthread_mutex_unlock: glibc refuses to unlock an owner-checked mutex the caller
     * does not own (the forking thread's copy in a child, a thread the child lacks), so
     * that one stays recorded. */
    struct fa_thread *self = fa_self;
    struct fa_held *h = self ? fa_held_find(&self->held, m) : NULL;
    if (!fa_held_owner_checked(FA_LOCK_MTX, mtx_kind(m)) || (h && !(h->flags & FA_HELD_INHERITED)))
        fa_lock_released(m, 0);
    return FA_REAL(mtx_unlock)(m);
}

FA_EXPORT int mtx_init(mtx_t *m, int type)
{
    FORGET(m);
    return FA_REAL(mtx_init)(m, type);
}

FA_EXPORT void mtx_destroy(mtx_t *m)
{
    FORGET(m);
    FA_REAL(mtx_destroy)(m);
}

/* glibc's cnd_wait and cnd_timedwait call its internal condition wait, which releases and
 * retakes the mtx_t where neither pthread_cond_wait's wrapper nor mtx_lock's sees it. */
FA_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
    int rc;
    FA_COND_WAIT(m, rc = FA_REAL(cnd_wait)(c, m));
    return rc;
}

FA_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict t)
{
    int rc;
    FA_COND_WAIT(m, rc = FA_REAL(cnd_timedwait)(c, m, t));
    return rc;
}
