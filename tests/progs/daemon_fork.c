/* daemon() forks through glibc's internal fork, never the fork symbol; a worker holds a
 * mutex meanwhile. Expected: lock-held-at-fork with fork.via "atfork" and daemon on the
 * stack. The daemon child writes "daemon_child=1" to the file argv[1]. */
#include "progs.h"

#include <fcntl.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    struct holder worker;
    start_holder(&worker, &lock);
    print_value("main_tid", my_tid());
    if (daemon(1, 1) != 0) return 1;
    /* Only the daemon child gets here. */
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dprintf(fd, "daemon_child=1\n");
    close(fd);
    return 0;
}
