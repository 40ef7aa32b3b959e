/* Control: a worker takes and releases a mutex, then blocks in read() while the main
 * thread forks. Expected: threads-at-fork, and no lock-held-at-fork. */
#include "progs.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t done;
static struct gate finish;

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    pthread_barrier_wait(&done);
    gate_wait(&finish);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_barrier_init(&done, NULL, 2);
    gate_init(&finish);
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_barrier_wait(&done);
    fork_and_reap();
    gate_open(&finish);
    pthread_join(t, NULL);
    return 0;
}
