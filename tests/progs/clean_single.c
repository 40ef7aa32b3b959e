/* Control: one thread, no descriptor beyond 0-2, no lock, no RNG: nothing to report. */
#include "progs.h"

int main(void)
{
    print_value("child", fork_and_reap());
    return 0;
}
