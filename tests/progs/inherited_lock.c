/* A worker holds a mutex when the main thread forks; the child, which inherited the mutex
 * locked, forks again. Expected: the child's fork reports the mutex as held by the
 * worker of the parent (holder_gone), an error. A second child re-initialises the mutex
 * before forking: nothing to report then. */
#include "progs.h"

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
    pid_t child = fork();
    if (child == 0) {
        fork_and_reap();
        _exit(0);
    }
    print_value("child", child);
    waitpid(child, NULL, 0);
    pid_t second = fork();
    if (second == 0) {
        pthread_mutex_init(&lock, NULL);
        fork_and_reap();
        _exit(0);
    }
    print_value("second", second);
    waitpid(second, NULL, 0);
    gate_open(&finish);
    pthread_join(t, NULL);
    return 0;
}
