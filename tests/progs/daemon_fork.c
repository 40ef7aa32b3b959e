/* daemon() forks through glibc's internal fork, never the fork symbol; a worker holds a
 * mutex meanwhile. Expected: lock-held-at-fork with fork.via "atfork" and daemon on the
 * stack. The daemon child writes "daemon_child=1" to the file argv[1]. */
#include "progs.h"

#include <fcntl.h>
#include <string.h>

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
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    pthread_t t;
    pthread_barrier_init(&held, NULL, 2);
    gate_init(&finish);
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_barrier_wait(&held);
    print_value("main_tid", my_tid());
    if (daemon(1, 1) != 0) return 1;
    /* Only the daemon child gets here. */
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dprintf(fd, "daemon_child=1\n");
    close(fd);
    return 0;
}
