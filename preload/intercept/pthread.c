/* interpose_pthread.c: pthread mutex, condition-wait and thread-creation wrappers. They
 * forward every call unchanged and keep the per-thread held-lock sets and the thread
 * registry up to date. Hot path: TLS loads, a scan of the (usually empty) held set, a few
 * stores and one compare-and-store, no system call. */
#include "intercept/real.h"

#include <errno.h>

#include "base/backtrace.h"
#include "track/heldlocks.h"
#include "track/lockhooks.h"
#include "audit/childdeadlock.h"
#include "base/options.h"
#include "base/process.h"
#include "out/lockwrapper_names.h"
#include "track/threads.h"
#include "audit/threadstacks.h"


static inline unsigned mutex_kind(const pthread_mutex_t *m) { return (unsigned)m->__data.__kind & FA_MUTEX_KIND_MASK; }

static __attribute__((noinline)) void acquired_slow(pthread_mutex_t *m, void *call_site)
{
    fa_lock_acquired_slow(m, FA_LOCK_MUTEX, mutex_kind(m), 0, call_site);
}

/* fa_lock_acquired, specialised: nothing but the mutex and the call site stays live across
 * the cold calls, so the wrapper saves fewer registers. */
static inline void on_acquired(pthread_mutex_t *m, void *call_site)
{
    struct fa_tls *tls = &fa_tls;
    struct fa_thread *self = tls->self;
    if (FA_UNLIKELY(tls->in_auditor)) return;
    if (FA_UNLIKELY(self == NULL || self->held.slow)) {
        acquired_slow(m, call_site);
        return;
    }
    uintptr_t site = (uintptr_t)call_site;
    fa_held_acquire(&self->held, m, FA_LOCK_MUTEX, mutex_kind(m), 0, &site, 1);
}

/* In a forked child, before a blocking lock: would it wait forever? Out of line, so the
 * hot path pays one compare for it. */
static __attribute__((noinline, cold)) void check_in_child(pthread_mutex_t *m, unsigned how, void *call_site)
{
    fa_child_deadlock_check(m, FA_LOCK_MUTEX, mutex_kind(m), how, -1, call_site);
}
#define CHECK(m, how)                                                                          \
    do {                                                                                       \
        if (FA_UNLIKELY(fa_proc.forked_child)) check_in_child((m), (how), __builtin_return_address(0)); \
    } while (0)

/* EOWNERDEAD: a robust mutex was acquired after its owner died; the caller holds it. */
#define ACQUIRED(rc) ((rc) == 0 || (rc) == EOWNERDEAD)

/* The lock and unlock wrappers run millions of times a second: cache-line aligned, they
 * measured about 0.5 ns a pair faster than wherever the linker happened to put them. */
#define HOT __attribute__((hot, aligned(64)))

/* Writes the entry of `m` into the calling thread's held set, unpublished (see
 * fa_held_prepare): what fa_held_publish expects, or FA_HELD_UNPREPARED when the
 * acquisition is recorded after the lock. */
static inline uint64_t prepare(pthread_mutex_t *m, void *call_site)
{
    struct fa_tls *tls = &fa_tls;
    struct fa_thread *self = tls->self;
    if (FA_UNLIKELY(self == NULL || tls->in_auditor || self->held.slow)) return FA_HELD_UNPREPARED;
    return fa_held_prepare(&self->held, m, FA_LOCK_MUTEX, mutex_kind(m), (uintptr_t)call_site);
}

/* pthread_mutex_lock's cases other than a prepared entry published. */
static __attribute__((noinline)) int locked_general(pthread_mutex_t *m, int rc, uint64_t prepared, void *call_site)
{
    if (ACQUIRED(rc)) on_acquired(m, call_site);
    else if (prepared != FA_HELD_UNPREPARED) fa_held_unprepare(&fa_self->held, prepared);
    return rc;
}

FA_EXPORT HOT int pthread_mutex_lock(pthread_mutex_t *m)
{
    CHECK(m, FA_WAIT_WRITE);
    /* The entry is written before the lock is taken and published after: the program's
     * critical section (what other threads wait for) grows by a few instructions only. */
    uint64_t prepared = prepare(m, __builtin_return_address(0));
    int rc = FA_REAL(pthread_mutex_lock)(m);
    if (FA_LIKELY(rc == 0 && prepared != FA_HELD_UNPREPARED) && FA_LIKELY(fa_held_publish(&fa_self->held, prepared)))
        return rc;
    return locked_general(m, rc, prepared, __builtin_return_address(0));
}

FA_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    int rc = FA_REAL(pthread_mutex_trylock)(m);
    if (ACQUIRED(rc)) on_acquired(m, __builtin_return_address(0));
    return rc;
}

FA_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    CHECK(m, FA_WAIT_WRITE | FA_WAIT_TIMED);
    int rc = FA_REAL(pthread_mutex_timedlock)(m, abstime);
    if (ACQUIRED(rc)) on_acquired(m, __builtin_return_address(0));
    return rc;
}

FA_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
    CHECK(m, FA_WAIT_WRITE | FA_WAIT_TIMED);
    int rc = FA_REAL(pthread_mutex_clocklock)(m, clock, abstime);
    if (ACQUIRED(rc)) on_acquired(m, __builtin_return_address(0));
    return rc;
}

/* pthread_mutex_unlock's cases other than the newest lock released once. */
static __attribute__((noinline)) int unlock_general(struct fa_thread *self, pthread_mutex_t *m)
{
    struct fa_held *h = FA_LIKELY(self != NULL) ? fa_held_find(&self->held, m) : NULL;
    if (FA_LIKELY(h != NULL)) {
        /* In a forked child glibc refuses (EPERM) to unlock an owner-checked mutex the
         * forking thread held: it stays held, and stays recorded. */
        if (FA_UNLIKELY(h->flags & FA_HELD_INHERITED) && fa_held_owner_checked(h->type, h->kind))
            return FA_REAL(pthread_mutex_unlock)(m);
        if (--h->depth == 0) fa_held_remove(&self->held, h);
    } else if (FA_UNLIKELY(fa_threads_gone) && !fa_held_owner_checked(FA_LOCK_MUTEX, mutex_kind(m))) {
        /* inherited from a thread the child lacks (an owner-checked one glibc refuses to
         * unlock: it stays recorded) */
        fa_lock_released_elsewhere(m, 0);
    } else if (self && FA_UNLIKELY(fa_lock_untracked_any(self))) {
        fa_lock_released_unknown(self);
    }
    return FA_REAL(pthread_mutex_unlock)(m);
}

FA_EXPORT HOT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    /* Forget first: a fork in between sees the lock as free, never a freed lock as held. */
    struct fa_thread *self = fa_self;
    if (FA_LIKELY(self != NULL) && FA_LIKELY(fa_held_release_newest(&self->held, m)))
        return FA_REAL(pthread_mutex_unlock)(m);
    return unlock_general(self, m);
}

FA_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    /* Re-initialising a mutex (atfork child handlers do) frees it. */
    struct fa_thread *self = fa_self;
    if (self) fa_held_forget(&self->held, m);
    fa_lock_forget_inherited(m);
    return FA_REAL(pthread_mutex_init)(m, attr);
}

FA_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    struct fa_thread *self = fa_self;
    if (self) fa_held_forget(&self->held, m);
    fa_lock_forget_inherited(m);
    return FA_REAL(pthread_mutex_destroy)(m);
}

/* A condition wait releases the mutex while the thread sleeps and retakes it inside glibc,
 * where the pthread_mutex_lock symbol never sees it: the entry is marked for the duration,
 * and held again at the return or at a cancellation (FA_COND_WAIT, track/lockhooks.h). */
#define COND_WAIT_BODY(call)                                          \
    int rc;                                                           \
    FA_COND_WAIT(m, rc = (call));                                     \
    return rc;

FA_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    COND_WAIT_BODY(FA_REAL(pthread_cond_wait)(c, m))
}

FA_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    COND_WAIT_BODY(FA_REAL(pthread_cond_timedwait)(c, m, t))
}

FA_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock, const struct timespec *t)
{
    COND_WAIT_BODY(FA_REAL(pthread_cond_clockwait)(c, m, clock, t))
}

static void *thread_trampoline(void *p)
{
    struct fa_thread *t = p;
    void *(*start)(void *) = (void *(*)(void *))t->start_routine;
    void *arg = t->start_arg;
    fa_thread_bind(t);
    fa_thread_stacks_warm();
    return start(arg);
}

/* Before the program's second thread (a single-threaded program never pays for it):
 * libunwind's pipe is made for good, and the lock wrappers are looked up once; when the
 * program has some, every thread's acquisitions take the slow path, which places them
 * past the wrappers. */
static void find_lock_wrappers(void)
{
    static int looked;
    if (__atomic_exchange_n(&looked, 1, __ATOMIC_ACQ_REL)) return;
    struct fa_thread *self = fa_thread_current();
    fa_backtrace_threads_coming();
    fa_in_auditor++;
    int found = fa_lockwrappers_find();
    fa_in_auditor--;
    if (found > 0 && self) self->held.slow++;
}

FA_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    find_lock_wrappers();
    struct fa_thread *t = fa_thread_claim();
    if (!t) return FA_REAL(pthread_create)(thread, attr, start, arg);
    t->start_routine = (void *)start;
    t->start_arg = arg;
    t->ncreated = fa_backtrace(t->created_at, fa_opts.stack_depth, __builtin_return_address(0));
    int rc = FA_REAL(pthread_create)(thread, attr, thread_trampoline, t);
    if (rc != 0) fa_thread_release(t);
    return rc;
}
