/* Descriptors inherited at exec against the program's own. Run with argv[1] a directory:
 * the first image opens a pipe and a file without close-on-exec (a shell's or CI runner's
 * leak, as the next image sees it) and execs itself with "again"; the second image opens a
 * pipe of its own, dup()s the inherited file, and forks. Expected in the second image:
 * fds-at-fork lists its own pipe and the dup only, fds_inherited 3 (fds=all: all five). */
#include "progs.h"

#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (argc == 2) {
        char path[512];
        snprintf(path, sizeof path, "%s/inherited.txt", argv[1]);
        int leaked[2];
        if (pipe(leaked) != 0 || open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) < 0) return 1;
        execl("/proc/self/exe", argv[0], argv[1], "again", (char *)NULL);
        return 1;
    }
    int own[2];
    if (pipe(own) != 0) return 1;
    int copy = dup(5); /* the inherited file: 3 and 4 are the inherited pipe */
    print_value("own_r", own[0]);
    print_value("own_w", own[1]);
    print_value("dup_fd", copy);
    fork_and_reap();
    return 0;
}
