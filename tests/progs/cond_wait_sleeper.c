/* Control: a worker sleeps in pthread_cond_wait (which releases the mutex) while the main
 * thread forks. Expected: no lock-held-at-fork. */
#include "progs.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int waiting, go;

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    waiting = 1;
    while (!go) pthread_cond_wait(&wake, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker_main, NULL);
    /* Once `waiting` is seen under the mutex, the worker is inside pthread_cond_wait. */
    for (;;) {
        pthread_mutex_lock(&lock);
        int w = waiting;
        pthread_mutex_unlock(&lock);
        if (w) break;
        sched_yield();
    }
    print_value("child", fork_and_reap());
    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(t, NULL);
    return 0;
}
