/* threads.c: the thread registry (see threads.h). Lock-free: slots are claimed with a
 * compare-and-swap so the registry works in any thread, constructor or signal handler. */
#include "track/threads.h"

#include "base/options.h"
#include "track/lockwrappers.h"
#include "base/process.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct fa_thread fa_threads[FA_MAX_THREADS];
int fa_threads_used;
int fa_threads_gone;
unsigned long fa_semaphores_untracked;

static pthread_key_t slot_key;
static int slot_key_ok;

/* Bumped by every slot release. A thread that found the table full remembers the count
 * it saw (no_slot_at: that count + 1) and looks again only once a slot was released: it
 * searched the table twice and sent tgkill(0) to every live slot's thread on every
 * interposed call (1,100 threads locking 1,000 times: 43 s audited, 0.08 s plain). */
static unsigned long slots_released;
static FA_TLS unsigned long no_slot_at;
static int claim_failed; /* the table was full once: threads may be alive without a slot */

static void on_thread_exit(void *p)
{
    struct fa_thread *t = p;
    if (fa_self == t) fa_self = NULL;
    fa_thread_release(t);
}

void fa_threads_init(void)
{
    if (!slot_key_ok && pthread_key_create(&slot_key, on_thread_exit) == 0) slot_key_ok = 1;
}

/* A slot whose thread ended without running its key destructor can be reused. */
static int slot_is_stale(struct fa_thread *t)
{
    pid_t tid = __atomic_load_n(&t->tid, __ATOMIC_RELAXED);
    return tid > 0 && syscall(SYS_tgkill, fa_getpid(), tid, 0) != 0 && errno == ESRCH;
}

static struct fa_thread *claim_slot(int state_from)
{
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < FA_MAX_THREADS; i++) {
        struct fa_thread *t = &fa_threads[i];
        int expect = state_from;
        if (__atomic_load_n(&t->state, __ATOMIC_RELAXED) != expect) continue;
        if (!__atomic_compare_exchange_n(&t->state, &expect, FA_SLOT_LIVE, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED))
            continue;
        /* Reset everything but `state`. */
        t->tid = 0;
        t->start_routine = NULL;
        t->start_arg = NULL;
        t->ncreated = 0;
        t->in_prepare = 0;
        t->nprepare_taken = 0;
        t->held.overflow = 0;
        t->held.prepare_skipped = 0;
        t->stack_low = 0;
        t->held.slow = fa_opts.lock_stack_depth > 1 || fa_lockwrap_any(); /* the slow path unwinds past wrappers */
        __atomic_store_n(&t->held.word, 0, __ATOMIC_RELEASE);
        while (i >= used && !__atomic_compare_exchange_n(&fa_threads_used, &used, i + 1, 0,
                                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        }
        return t;
    }
    return NULL;
}

struct fa_thread *fa_thread_claim(void)
{
    int saved = errno;
    struct fa_thread *t = claim_slot(FA_SLOT_FREE);
    if (!t && (t = claim_slot(FA_SLOT_GONE)) != NULL) __atomic_sub_fetch(&fa_threads_gone, 1, __ATOMIC_RELAXED);
    if (!t) {
        /* Full: reclaim slots of threads that vanished without a destructor. */
        for (int i = 0; i < FA_MAX_THREADS && !t; i++) {
            struct fa_thread *s = &fa_threads[i];
            if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) == FA_SLOT_LIVE && slot_is_stale(s)) {
                __atomic_store_n(&s->state, FA_SLOT_FREE, __ATOMIC_RELEASE);
                t = claim_slot(FA_SLOT_FREE);
            }
        }
    }
    if (!t) __atomic_store_n(&claim_failed, 1, __ATOMIC_RELAXED);
    errno = saved;
    return t;
}

void fa_thread_bind(struct fa_thread *t)
{
    int saved = errno;
    t->self = (unsigned long)pthread_self();
    __atomic_store_n(&t->tid, fa_gettid(), __ATOMIC_RELEASE);
    fa_self = t;
    if (slot_key_ok) pthread_setspecific(slot_key, t);
    errno = saved;
}

struct fa_thread *fa_thread_current(void)
{
    if (fa_self) return fa_self;
    unsigned long released = __atomic_load_n(&slots_released, __ATOMIC_ACQUIRE);
    if (no_slot_at == released + 1) return NULL; /* full when last asked, no slot freed since */
    struct fa_thread *t = fa_thread_claim();
    if (t) fa_thread_bind(t);
    else no_slot_at = released + 1;
    return t;
}

/* The tids of the threads that released their slots last: such a thread is past its
 * TLS destructors, exiting, and may still be listed in /proc/self/task for a moment. */
#define EXITED_RECENTLY 64
static pid_t exited[EXITED_RECENTLY];
static unsigned exited_next;

int fa_thread_exited_recently(pid_t tid)
{
    for (int i = 0; i < EXITED_RECENTLY; i++)
        if (__atomic_load_n(&exited[i], __ATOMIC_ACQUIRE) == tid) return 1;
    return 0;
}

void fa_thread_release(struct fa_thread *t)
{
    pid_t tid = __atomic_load_n(&t->tid, __ATOMIC_RELAXED);
    if (tid > 0)
        __atomic_store_n(&exited[__atomic_fetch_add(&exited_next, 1, __ATOMIC_RELAXED) % EXITED_RECENTLY], tid,
                         __ATOMIC_RELEASE);
    __atomic_store_n(&t->tid, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&t->state, FA_SLOT_FREE, __ATOMIC_RELEASE);
    __atomic_add_fetch(&slots_released, 1, __ATOMIC_RELEASE);
}

unsigned long fa_threads_untracked_now(long threads)
{
    /* Only once a claim failed: otherwise a thread just created (its slot claimed, not yet
     * bound) or ending (its slot released, still listed) would be counted. */
    if (!__atomic_load_n(&claim_failed, __ATOMIC_RELAXED)) return 0;
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    long live = 0;
    for (int i = 0; i < used; i++) live += __atomic_load_n(&fa_threads[i].state, __ATOMIC_ACQUIRE) == FA_SLOT_LIVE;
    return threads > live ? (unsigned long)(threads - live) : 0;
}

void fa_threads_after_fork_child(void)
{
    int used = fa_threads_used, gone = 0;
    for (int i = 0; i < used; i++) {
        struct fa_thread *t = &fa_threads[i];
        if (t == fa_self || t->state == FA_SLOT_FREE) continue;
        if (t->state != FA_SLOT_GONE) t->state = FA_SLOT_GONE;
        gone++;
    }
    if (fa_threads_gone != gone) fa_threads_gone = gone;
    if (fa_self) {
        fa_self->tid = fa_getpid(); /* the one thread of a child has the pid as tid */
        for (int i = 0; i < fa_held_count(&fa_self->held); i++) fa_self->held.e[i].flags |= FA_HELD_INHERITED;
    }
}
