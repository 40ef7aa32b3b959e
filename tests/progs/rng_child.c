/* Children draw from generators they inherited. Child 1 draws rand() without reseeding
 * (reported: it repeats the parent's next number), child 2 reseeds with srand(getpid())
 * first (not reported), child 3 draws drand48() after the parent's srand48 + 2 lrand48.
 * Each child writes its number into a pipe; the parent then draws its own next numbers. */
#include "progs.h"

static void child_draws(int fd, int reseed, int use48)
{
    if (reseed) srand((unsigned)getpid());
    long v = use48 ? (long)(drand48() * 1e9) : rand();
    if (write(fd, &v, sizeof v) != sizeof v) _exit(1);
    _exit(0);
}

static long run_child(int reseed, int use48)
{
    int p[2];
    if (pipe(p) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) child_draws(p[1], reseed, use48);
    long v = -1;
    if (read(p[0], &v, sizeof v) != sizeof v) v = -1;
    waitpid(pid, NULL, 0);
    close(p[0]);
    close(p[1]);
    print_value(reseed ? "reseeded_child" : use48 ? "drand48_child" : "rand_child", pid);
    return v;
}

int main(void)
{
    srand(12345);
    for (int i = 0; i < 3; i++) rand();
    print_value("child_drew", run_child(0, 0));
    run_child(1, 0);
    print_value("parent_drew", rand());

    srand48(777);
    lrand48();
    lrand48();
    print_value("child_drew48", run_child(0, 1));
    print_value("parent_drew48", (long)(drand48() * 1e9));
    return 0;
}
