/* A daemon-style program: it closes every descriptor from 3 up, opens its own file, and
 * forks. The auditor must never write into the program's file, its own descriptors must
 * survive (close() of them fails with EBADF, as under valgrind), and a stderr that is a
 * pipe without reader must not kill the program with SIGPIPE. argv[1] is a directory. */
#include "progs.h"

#include <fcntl.h>
#include <string.h>

static const char data[] = "program data\n";

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    for (int fd = 3; fd < 65536; fd++) close(fd);
    char path[512];
    snprintf(path, sizeof path, "%s/data.txt", argv[1]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    print_value("data_fd", fd);
    if (write(fd, data, strlen(data)) != (ssize_t)strlen(data)) return 1;
    fork_and_reap();
    if (write(fd, data, strlen(data)) != (ssize_t)strlen(data)) return 1;
    close(fd);

    /* stderr becomes a pipe whose reader is gone; text reports to stderr hit EPIPE */
    int p[2];
    if (pipe(p) != 0) return 1;
    close(p[0]);
    dup2(p[1], 2);
    fork_and_reap();
    print_value("alive", 1);
    return 0;
}
