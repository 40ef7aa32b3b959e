/* Many semaphores initialised to 1 and destroyed again (as Python creates and frees Lock
 * objects), then a worker holds a new one while the main thread forks. Each destroyed
 * semaphore leaves a tombstone in the auditor's registry of binary semaphores: they must
 * be reused, or the registry fills and the held one goes unnoticed. Expected: one
 * lock-held-at-fork record for the semaphore at sem_addr. */
#include "progs.h"

#include <semaphore.h>

#define CHURN 10000 /* more than the registry's 8192 slots */

static sem_t churned, held_sem;
static pthread_barrier_t held;
static struct gate release_gate;

static void *worker_main(void *arg)
{
    (void)arg;
    print_value("worker_tid", my_tid());
    sem_wait(&held_sem);
    pthread_barrier_wait(&held);
    gate_wait(&release_gate);
    sem_post(&held_sem);
    return NULL;
}

int main(void)
{
    for (int i = 0; i < CHURN; i++) {
        sem_init(&churned, 0, 1);
        sem_destroy(&churned);
    }
    sem_init(&held_sem, 0, 1);
    pthread_t t;
    pthread_barrier_init(&held, NULL, 2);
    gate_init(&release_gate);
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_barrier_wait(&held);
    print_value("sem_addr", (long)&held_sem);
    print_value("child", fork_and_reap());
    gate_open(&release_gate);
    pthread_join(t, NULL);
    return 0;
}
