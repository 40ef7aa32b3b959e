/* A worker holds 63 mutexes and loops: lock A, unlock A, then a pthread_mutex_lock that
 * always fails (a robust mutex left not recoverable). The main thread forks many times.
 * The failed lock's entry is written into the slot A just left before the lock is tried:
 * a fork that reads the worker's set meanwhile must not take it for a held lock.
 * Expected: no lock-held-at-fork names the robust mutex (robust_addr). */
#include <errno.h>
#include <stdint.h>

#include "progs.h"

static pthread_mutex_t robust, A;
static pthread_mutex_t base[63];
static volatile int stop;
static pthread_barrier_t ready;

static void *owner_dies(void *p)
{
    (void)p;
    pthread_mutex_lock(&robust);
    return NULL;
}

/* The worker's long-held locks: their acquisition site names this function. */
static __attribute__((noinline)) void take_base_locks(void)
{
    for (int i = 0; i < 63; i++) pthread_mutex_lock(&base[i]);
}

static void *worker(void *p)
{
    (void)p;
    take_base_locks();
    pthread_barrier_wait(&ready);
    long failed = 0;
    while (!stop) {
        pthread_mutex_lock(&A);
        pthread_mutex_unlock(&A);
        if (pthread_mutex_lock(&robust) == ENOTRECOVERABLE) failed++;
    }
    for (int i = 62; i >= 0; i--) pthread_mutex_unlock(&base[i]);
    return (void *)failed;
}

int main(int argc, char **argv)
{
    int forks = argc > 1 ? atoi(argv[1]) : 2000;
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &at);
    for (int i = 0; i < 63; i++) pthread_mutex_init(&base[i], NULL);
    pthread_mutex_init(&A, NULL);
    pthread_t t;
    pthread_create(&t, NULL, owner_dies, NULL);
    pthread_join(t, NULL);
    /* EOWNERDEAD, unlocked without pthread_mutex_consistent: not recoverable from now on */
    if (pthread_mutex_lock(&robust) == EOWNERDEAD) pthread_mutex_unlock(&robust);
    print_value("robust_rc", pthread_mutex_lock(&robust));
    print_value("robust_addr", (long)(uintptr_t)&robust);
    pthread_barrier_init(&ready, NULL, 2);
    pthread_create(&t, NULL, worker, NULL);
    pthread_barrier_wait(&ready);
    for (int i = 0; i < forks; i++) fork_and_reap();
    stop = 1;
    void *failed;
    pthread_join(t, &failed);
    print_value("worker_lock_failures_seen", failed != NULL);
    return 0;
}
