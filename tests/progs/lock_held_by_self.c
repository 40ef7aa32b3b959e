/* The forking thread itself holds a normal mutex and, twice, a recursive one: both are
 * warnings (only the child's copy of this thread can unlock them). After unlocking all,
 * a second fork reports no lock. */
#include "progs.h"

#include <time.h>

static pthread_mutex_t plain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t recursive_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t timed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    print_value("main_tid", my_tid());
    print_value("plain_addr", (long)&plain_lock);
    print_value("recursive_addr", (long)&recursive_lock);
    pthread_mutex_lock(&plain_lock);
    pthread_mutex_lock(&recursive_lock);
    pthread_mutex_lock(&recursive_lock);
    fork_and_reap(); /* fork #1: both held */
    pthread_mutex_unlock(&recursive_lock);
    fork_and_reap(); /* fork #2: recursive still held once, plain held */
    pthread_mutex_unlock(&recursive_lock);
    pthread_mutex_unlock(&plain_lock);
    fork_and_reap(); /* fork #3: nothing held */

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_timedlock(&timed_lock, &deadline);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_clocklock(&clock_lock, CLOCK_MONOTONIC, &deadline);
    print_value("timed_addr", (long)&timed_lock);
    print_value("clock_addr", (long)&clock_lock);
    fork_and_reap(); /* fork #4: the timed and the clock lock */
    return 0;
}
