/* A file is open across three forks: as opened, after a rename, after an unlink. Each
 * fds-at-fork names it as it is at that fork. argv[1] is a directory. */
#include "progs.h"

#include <fcntl.h>

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char first[512], second[512];
    snprintf(first, sizeof first, "%s/before.log", argv[1]);
    snprintf(second, sizeof second, "%s/after.log", argv[1]);
    int fd = open(first, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    print_value("fd", fd);
    fork_and_reap();
    if (rename(first, second) != 0) return 1;
    fork_and_reap();
    if (unlink(second) != 0) return 1;
    fork_and_reap();
    return 0;
}
