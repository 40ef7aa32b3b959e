/* A worker holds a mutex when the main thread forks; the child, which inherited the mutex
 * locked, forks again. Expected: the child's fork reports the mutex as held by the
 * worker of the parent (holder_gone), an error. A second child re-initialises the mutex
 * before forking: nothing to report then. */
#include "progs.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    struct holder worker;
    start_holder(&worker, &lock);
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
    holder_release(&worker);
    return 0;
}
