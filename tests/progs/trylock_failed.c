/* A worker holds a mutex; the main thread's trylock on it fails (holds nothing); then
 * the main thread forks. Expected: exactly one lock-held-at-fork, held by the worker. */
#include "progs.h"

#include <errno.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static struct gate finish;

static void *worker_main(void *arg)
{
    (void)arg;
    print_value("worker_tid", my_tid());
    pthread_mutex_lock(&lock);
    pthread_barrier_wait(&held);
    gate_wait(&finish);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_barrier_init(&held, NULL, 2);
    gate_init(&finish);
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_barrier_wait(&held);
    print_value("trylock_rc", pthread_mutex_trylock(&lock));
    fork_and_reap();
    gate_open(&finish);
    pthread_join(t, NULL);
    return 0;
}
