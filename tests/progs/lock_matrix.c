/* lock_matrix FAMILY SCENARIO FUNCTION: one lock family of preload/track/locks.def (its
 * report name) through one scenario, using one of its functions:
 *   worker    a worker takes the lock with FUNCTION and holds it at the fork; the child
 *             takes it with the family's blocking exclusive lock (run with
 *             on_child_deadlock=exit:N: the auditor ends the child before it hangs)
 *   self      the forking thread takes it with FUNCTION and holds it at the fork; the
 *             child exits at once
 *   self-recursive  the same with a recursive mutex (families with mutex kind bits),
 *             which glibc owner-checks: the child takes it with the blocking lock
 *   condwait  a worker waits in FUNCTION (a condition wait, which released the lock) at the
 *             fork; the child takes the lock and releases it
 *   try       a worker holds the lock; the forking thread's FUNCTION (a try) fails; fork
 *   timeout   the same with FUNCTION a timed or clock lock given a time already past
 *   forget    the forking thread takes the lock and forks; FUNCTION (an init or a destroy)
 *             then frees it, and it forks again
 * Prints main_tid, worker_tid, lock (its address), attempt (1: the try or timed lock
 * failed as it must) and child_status. Exits 0; 2 on a usage error; 77 when it has no case
 * for FAMILY or FUNCTION (tests/integration/test_lock_families.c then fails: every
 * locks.def row must be exercised here). Threads meet at barriers, never sleep. */
#include "progs.h"

#include <errno.h>
#include <semaphore.h>
#include <stdint.h>
#include <string.h>
#include <threads.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t sp;
static sem_t se;
static mtx_t mx;
static cnd_t cc;

static const char *family, *scenario, *function;
static int go; /* the condition the waiters wait for, under the lock */

#define UNKNOWN 77
#define IS(a, b) (strcmp((a), (b)) == 0)

/* An absolute time on `clock`: already past, or an hour away. */
static struct timespec deadline(clockid_t clock, int past)
{
    struct timespec t = {0, 0};
    if (!past) {
        clock_gettime(clock, &t);
        t.tv_sec += 3600;
    }
    return t;
}

/* Calls `fn` on the family's lock: 0 when it took the lock, 1 when it failed as a busy
 * try or a timeout does, UNKNOWN for a function this program has no case for. */
static __attribute__((noinline)) int take_lock(const char *fn, int past)
{
    struct timespec rt = deadline(CLOCK_REALTIME, past), mono = deadline(CLOCK_MONOTONIC, past);
    int rc;
    if (IS(fn, "pthread_mutex_lock")) rc = pthread_mutex_lock(&mu);
    else if (IS(fn, "pthread_mutex_trylock")) rc = pthread_mutex_trylock(&mu);
    else if (IS(fn, "pthread_mutex_timedlock")) rc = pthread_mutex_timedlock(&mu, &rt);
    else if (IS(fn, "pthread_mutex_clocklock")) rc = pthread_mutex_clocklock(&mu, CLOCK_MONOTONIC, &mono);
    else if (IS(fn, "pthread_rwlock_rdlock")) rc = pthread_rwlock_rdlock(&rw);
    else if (IS(fn, "pthread_rwlock_tryrdlock")) rc = pthread_rwlock_tryrdlock(&rw);
    else if (IS(fn, "pthread_rwlock_timedrdlock")) rc = pthread_rwlock_timedrdlock(&rw, &rt);
    else if (IS(fn, "pthread_rwlock_clockrdlock")) rc = pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &mono);
    else if (IS(fn, "pthread_rwlock_wrlock")) rc = pthread_rwlock_wrlock(&rw);
    else if (IS(fn, "pthread_rwlock_trywrlock")) rc = pthread_rwlock_trywrlock(&rw);
    else if (IS(fn, "pthread_rwlock_timedwrlock")) rc = pthread_rwlock_timedwrlock(&rw, &rt);
    else if (IS(fn, "pthread_rwlock_clockwrlock")) rc = pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &mono);
    else if (IS(fn, "pthread_spin_lock")) rc = pthread_spin_lock(&sp);
    else if (IS(fn, "pthread_spin_trylock")) rc = pthread_spin_trylock(&sp);
    else if (IS(fn, "sem_wait")) rc = sem_wait(&se) == 0 ? 0 : errno;
    else if (IS(fn, "sem_trywait")) rc = sem_trywait(&se) == 0 ? 0 : errno;
    else if (IS(fn, "sem_timedwait")) rc = sem_timedwait(&se, &rt) == 0 ? 0 : errno;
    else if (IS(fn, "sem_clockwait")) rc = sem_clockwait(&se, CLOCK_MONOTONIC, &mono) == 0 ? 0 : errno;
    else if (IS(fn, "mtx_lock")) rc = mtx_lock(&mx) == thrd_success ? 0 : EBUSY;
    else if (IS(fn, "mtx_trylock")) rc = mtx_trylock(&mx) == thrd_busy ? EBUSY : 0;
    else if (IS(fn, "mtx_timedlock")) rc = mtx_timedlock(&mx, &rt) == thrd_timedout ? ETIMEDOUT : 0;
    else return UNKNOWN;
    if (rc == 0) return 0;
    if (rc == EBUSY || rc == EAGAIN || rc == ETIMEDOUT) return 1;
    dprintf(2, "lock_matrix: %s failed: %s\n", fn, strerror(rc));
    exit(3);
}

/* The family: its lock, its blocking exclusive lock function, its unlock. */
static const void *lock_addr(void)
{
    if (IS(family, "pthread_mutex")) return &mu;
    if (IS(family, "pthread_rwlock")) return &rw;
    if (IS(family, "pthread_spinlock")) return (const void *)(uintptr_t)&sp; /* volatile int */
    if (IS(family, "semaphore")) return &se;
    if (IS(family, "mtx")) return &mx;
    return NULL;
}

static const char *blocking_lock(void)
{
    if (IS(family, "pthread_mutex")) return "pthread_mutex_lock";
    if (IS(family, "pthread_rwlock")) return "pthread_rwlock_wrlock";
    if (IS(family, "pthread_spinlock")) return "pthread_spin_lock";
    if (IS(family, "semaphore")) return "sem_wait";
    return "mtx_lock";
}

static void release(void)
{
    if (IS(family, "pthread_mutex")) pthread_mutex_unlock(&mu);
    else if (IS(family, "pthread_rwlock")) pthread_rwlock_unlock(&rw);
    else if (IS(family, "pthread_spinlock")) pthread_spin_unlock(&sp);
    else if (IS(family, "semaphore")) sem_post(&se);
    else mtx_unlock(&mx);
}

/* Waits in condition-wait function `fn`, which releases the lock while it waits, until
 * `go`; 0, or UNKNOWN. */
static int wait_for_go(const char *fn)
{
    struct timespec rt = deadline(CLOCK_REALTIME, 0), mono = deadline(CLOCK_MONOTONIC, 0);
    if (IS(fn, "pthread_cond_wait"))
        while (!go) pthread_cond_wait(&cv, &mu);
    else if (IS(fn, "pthread_cond_timedwait"))
        while (!go) pthread_cond_timedwait(&cv, &mu, &rt);
    else if (IS(fn, "pthread_cond_clockwait"))
        while (!go) pthread_cond_clockwait(&cv, &mu, CLOCK_MONOTONIC, &mono);
    else if (IS(fn, "cnd_wait"))
        while (!go) cnd_wait(&cc, &mx);
    else if (IS(fn, "cnd_timedwait"))
        while (!go) cnd_timedwait(&cc, &mx, &rt);
    else
        return UNKNOWN;
    return 0;
}

/* Re-initialises or destroys the family's lock with `fn`, which frees it whoever holds it
 * (glibc refuses to destroy a locked pthread mutex, EBUSY, but the program is done with
 * it); 0, or UNKNOWN. */
static int forget_lock(const char *fn)
{
    if (IS(fn, "pthread_mutex_init")) pthread_mutex_init(&mu, NULL);
    else if (IS(fn, "pthread_mutex_destroy")) pthread_mutex_destroy(&mu);
    else if (IS(fn, "pthread_rwlock_init")) pthread_rwlock_init(&rw, NULL);
    else if (IS(fn, "pthread_rwlock_destroy")) pthread_rwlock_destroy(&rw);
    else if (IS(fn, "pthread_spin_init")) pthread_spin_init(&sp, PTHREAD_PROCESS_PRIVATE);
    else if (IS(fn, "pthread_spin_destroy")) pthread_spin_destroy(&sp);
    else if (IS(fn, "sem_init")) sem_init(&se, 0, 1);
    else if (IS(fn, "sem_destroy")) sem_destroy(&se);
    else if (IS(fn, "mtx_init")) mtx_init(&mx, mtx_timed);
    else if (IS(fn, "mtx_destroy")) mtx_destroy(&mx);
    else return UNKNOWN;
    return 0;
}

static pthread_barrier_t held;
static struct gate finish;

static void *worker_main(void *arg)
{
    (void)arg;
    print_value("worker_tid", my_tid());
    int waits = IS(scenario, "condwait");
    int r = take_lock(waits || !IS(scenario, "worker") ? blocking_lock() : function, 0);
    if (r != 0) exit(r == UNKNOWN ? UNKNOWN : 3);
    pthread_barrier_wait(&held);
    if (waits) {
        if (wait_for_go(function) == UNKNOWN) exit(UNKNOWN);
    } else {
        gate_wait(&finish);
    }
    release();
    return NULL;
}

/* The child: exits at once, or takes the lock (and releases it, when it can). */
static __attribute__((noreturn)) void child(void)
{
    if (IS(scenario, "worker") || IS(scenario, "condwait") || IS(scenario, "self-recursive")) {
        take_lock(blocking_lock(), 0);
        release();
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        dprintf(2, "usage: lock_matrix FAMILY worker|self|self-recursive|condwait|try|timeout|forget FUNCTION\n");
        return 2;
    }
    family = argv[1], scenario = argv[2], function = argv[3];
    if (!lock_addr()) return UNKNOWN;
    pthread_spin_init(&sp, PTHREAD_PROCESS_PRIVATE);
    sem_init(&se, 0, 1);
    int recursive = IS(scenario, "self-recursive");
    mtx_init(&mx, recursive ? mtx_timed | mtx_recursive : mtx_timed);
    cnd_init(&cc);
    if (recursive) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
        pthread_mutex_init(&mu, &a);
        pthread_mutexattr_destroy(&a);
    }
    print_value("main_tid", my_tid());
    print_value("lock", (long)(uintptr_t)lock_addr());

    int self = IS(scenario, "self") || recursive, waits = IS(scenario, "condwait"), forget = IS(scenario, "forget");
    pthread_t worker;
    if (forget) {
        take_lock(blocking_lock(), 0);
        fork_and_reap(); /* fork #1: held by the forking thread */
        if (forget_lock(function) == UNKNOWN) return UNKNOWN;
    } else if (self) {
        if (take_lock(function, 0) == UNKNOWN) return UNKNOWN;
    } else {
        pthread_barrier_init(&held, NULL, 2);
        gate_init(&finish);
        pthread_create(&worker, NULL, worker_main, NULL);
        pthread_barrier_wait(&held);
    }
    if (waits) {
        /* Taken only once the worker waits (its wait released the lock), then freed. */
        take_lock(blocking_lock(), 0);
        release();
    } else if (IS(scenario, "try") || IS(scenario, "timeout")) {
        int r = take_lock(function, 1);
        if (r == UNKNOWN) return UNKNOWN;
        print_value("attempt", r);
    }

    pid_t pid = fork();
    if (pid == 0) child();
    int status = 0;
    waitpid(pid, &status, 0);
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));

    if (forget) {
        /* nothing to release: the lock was re-initialised or destroyed */
    } else if (self) {
        release();
    } else if (waits) {
        take_lock(blocking_lock(), 0);
        go = 1;
        if (IS(family, "mtx")) cnd_broadcast(&cc);
        else pthread_cond_broadcast(&cv);
        release();
        pthread_join(worker, NULL);
    } else {
        gate_open(&finish);
        pthread_join(worker, NULL);
    }
    return 0;
}
