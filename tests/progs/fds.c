/* Descriptors a child inherits: a file opened for writing with open() (no close-on-exec,
 * shared offset), a file opened with fopen(), a TCP socket, a close-on-exec pipe, and a
 * dup(). Expected: fds-at-fork listing each with target, type, access, cloexec and where
 * it was opened (open_log_file for the first). argv[1] is a directory to create files in. */
#include "progs.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

static int open_log_file(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/shared.log", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (write(fd, "0123456789", 10) != 10) abort();
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char path[512];
    snprintf(path, sizeof path, "%s/read.txt", argv[1]);
    FILE *f = fopen(path, "w");
    fclose(f);
    f = fopen(path, "r");

    int log_fd = open_log_file(argv[1]);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return 1;
    int copy = dup(log_fd);

    print_value("log_fd", log_fd);
    print_value("stream_fd", fileno(f));
    print_value("sock_fd", sock);
    print_value("pipe_r", p[0]);
    print_value("pipe_w", p[1]);
    print_value("dup_fd", copy);
    fork_and_reap();
    return 0;
}
