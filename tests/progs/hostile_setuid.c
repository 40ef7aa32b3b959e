/* Run as a set-user-ID copy (AT_SECURE): forks once with a descriptor that is not
 * close-on-exec open, so the fork has a finding. Prints whether the process runs in secure
 * mode, which the test checks before it trusts anything else. */
#include "progs.h"

#include <fcntl.h>
#include <sys/auxv.h>

int main(void)
{
    print_value("secure", (long)getauxval(AT_SECURE));
    int kept = open("/dev/null", O_RDONLY);
    if (kept < 0) return 1;
    fork_and_reap();
    print_value("done", 1);
    return 0;
}
