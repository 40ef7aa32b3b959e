/* A forked child that forks again: the child writes its own log file, its fork is its
 * fork #1, and its records name the child's pid and parent. The grandchild fork happens
 * while the child holds a mutex it took after the first fork. */
#include "progs.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void child_takes_lock(void) { pthread_mutex_lock(&lock); }

int main(void)
{
    print_value("parent", getpid());
    pid_t child = fork();
    if (child == 0) {
        child_takes_lock();
        fork_and_reap();
        pthread_mutex_unlock(&lock);
        _exit(0);
    }
    print_value("child", child);
    waitpid(child, NULL, 0);
    fork_and_reap(); /* the parent's fork #2: nothing held */
    return 0;
}
