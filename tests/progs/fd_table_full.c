/* The program uses every descriptor it may (RLIMIT_NOFILE lowered to 64) and forks: the
 * auditor cannot open /proc/self/fd to list them. A first fork, with the table not full
 * yet, lets the auditor open its log. Expected: the second fork's records still list the
 * inherited descriptors, and its note says the listing was unavailable (EMFILE). */
#include "progs.h"

#include <sys/resource.h>

int main(void)
{
    struct rlimit lim = {64, 64};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1;
    lim.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return 1;
    print_value("first_child", fork_and_reap() > 0);
    int opened = 0;
    while (open("/dev/null", O_RDONLY) >= 0) opened++;
    print_value("table_full", opened > 32);
    print_value("second_child", fork_and_reap() > 0);
    return 0;
}
