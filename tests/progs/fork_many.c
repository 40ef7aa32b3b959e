/* A worker thread holds a mutex while the main thread forks 200 times: 200 reports of the
 * same lock, which the launcher's summary shows as one finding with count 200. The worker
 * holds the lock from before the first fork until after the last (a barrier, then a pipe). */
#include "progs.h"

#define FORKS 200

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static struct gate done;

static void worker_holds_table_lock(void) { pthread_mutex_lock(&table_lock); }

static void *worker_main(void *arg)
{
    (void)arg;
    worker_holds_table_lock();
    pthread_barrier_wait(&held);
    gate_wait(&done);
    pthread_mutex_unlock(&table_lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_barrier_init(&held, NULL, 2);
    gate_init(&done);
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_barrier_wait(&held);
    int forked = 0;
    for (int i = 0; i < FORKS; i++)
        if (fork_and_reap() > 0) forked++;
    print_value("forks", forked);
    gate_open(&done);
    pthread_join(t, NULL);
    return 0;
}
