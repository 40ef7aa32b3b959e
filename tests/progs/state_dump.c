/* Waits for a state dump (dump_signal) while a worker holds a mutex. The signal is blocked
 * in every thread but while main waits in sigsuspend, so the handler runs there and
 * sigsuspend returns after it: no race between "ready" and the signal.
 *   state_dump SIG           prints "ready pid=N" and waits for SIG
 *   state_dump SIG child     forks first (the worker holds the mutex): the child prints
 *                            "ready pid=N" and waits for SIG, the parent waits for it
 * Prints "worker_tid=N", "main_tid=N", "child=N" for the test. */
#include <signal.h>
#include <string.h>

#include "progs.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void wait_for_dump(int sig, const sigset_t *old)
{
    sigset_t wait_mask = *old;
    sigdelset(&wait_mask, sig);
    dprintf(1, "ready pid=%d\n", (int)getpid());
    sigsuspend(&wait_mask); /* returns once the handler ran */
    print_value("dumped", 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    int sig = atoi(argv[1]);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, sig);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* the worker inherits it */
    print_value("main_tid", my_tid());
    struct holder worker;
    start_holder(&worker, &lock);
    if (argc > 2 && strcmp(argv[2], "child") == 0) {
        pid_t child = fork();
        if (child == 0) {
            wait_for_dump(sig, &old);
            _exit(0);
        }
        print_value("child", child);
        waitpid(child, NULL, 0);
    } else {
        wait_for_dump(sig, &old);
    }
    holder_release(&worker);
    return 0;
}
