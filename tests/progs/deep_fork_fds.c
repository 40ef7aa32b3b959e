/* A fork 62 calls deep with 20,000 descriptors open (as many as the limit allows): the
 * text fds-at-fork record reaches its 4 MiB limit, and the fork stack printed after the
 * list is large too when this program's path is long (the test copies it into a deep
 * directory). The descriptors are on this program's file, named by that long path. Expected: no record over 4 MiB, and the list cut rather than the record
 * dropped. */
#include "progs.h"

#include <sys/resource.h>

#define WANTED 20000
#define SPARE 64 /* stdio, the auditor's log and pipe, the loader */
#define DEPTH 62

static __attribute__((noinline)) int open_many(int n)
{
    for (int i = 0; i < n; i++)
        if (open("/proc/self/exe", O_RDONLY) < 0) return i; /* a long name when our path is */
    return n;
}

/* One frame per level: the fork's stack is DEPTH frames in this program. */
static __attribute__((noinline)) pid_t fork_deep(int depth)
{
    if (depth == 0) return fork_and_reap();
    pid_t pid = fork_deep(depth - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return pid;
}

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 1;
    long room = rl.rlim_cur == RLIM_INFINITY ? WANTED : (long)rl.rlim_cur - SPARE;
    int n = room < WANTED ? (int)room : WANTED;
    if (open_many(n) != n) return 1;
    print_value("forked", fork_deep(DEPTH) > 0);
    return 0;
}
