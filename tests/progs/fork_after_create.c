/* A thread created just before each fork, which may not have run yet when the fork
 * lists the threads: 40 rounds of pthread_create then fork at once. Expected: every
 * threads-at-fork entry names its start routine (waiting_worker) and creation site
 * (create_and_fork), never "not made through pthread_create". */
#include "progs.h"

static int release_fd[2];

static void *waiting_worker(void *arg)
{
    (void)arg;
    char c;
    if (read(release_fd[0], &c, 1) != 1) return NULL;
    return NULL;
}

__attribute__((noinline)) static void create_and_fork(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, waiting_worker, NULL) != 0) exit(1);
    fork_and_reap();
    if (write(release_fd[1], "x", 1) != 1) exit(1);
    pthread_join(t, NULL);
}

int main(void)
{
    if (pipe(release_fd) != 0) return 1;
    for (int i = 0; i < 40; i++) create_and_fork();
    print_value("rounds", 40);
    return 0;
}
