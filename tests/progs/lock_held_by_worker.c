/* A worker thread holds a mutex while the main thread forks: the child inherits it locked
 * forever. Expected: lock-held-at-fork (error) naming the worker and hold_in_worker. */
#include "progs.h"

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static struct gate release_gate;

/* static on purpose: its name comes from .symtab, not from the dynamic symbols. */
static void hold_in_worker(void) { pthread_mutex_lock(&shared_lock); }

static void *worker_main(void *arg)
{
    (void)arg;
    print_value("worker_tid", my_tid());
    hold_in_worker();
    pthread_barrier_wait(&held);
    gate_wait(&release_gate);
    pthread_mutex_unlock(&shared_lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_barrier_init(&held, NULL, 2);
    gate_init(&release_gate);
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_barrier_wait(&held);
    print_value("main_tid", my_tid());
    print_value("lock_addr", (long)&shared_lock);
    print_value("child", fork_and_reap());
    gate_open(&release_gate);
    pthread_join(t, NULL);
    return 0;
}
