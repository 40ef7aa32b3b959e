/* lrand48() never seeded: glibc starts its state at 0. The parent draws once, forks; the
 * child draws without seeding (reported, with the parent's next value replayed) and
 * sends its number through a pipe; the parent then draws its own next number. */
#include "progs.h"

int main(void)
{
    lrand48();
    int p[2];
    if (pipe(p) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) {
        long v = lrand48();
        if (write(p[1], &v, sizeof v) != sizeof v) _exit(1);
        _exit(0);
    }
    long child = -1;
    if (read(p[0], &child, sizeof child) != sizeof child) child = -1;
    waitpid(pid, NULL, 0);
    print_value("child_drew", child);
    print_value("parent_drew", lrand48());
    return 0;
}
