/* Control: the only lock held at fork is one that a library's atfork prepare handler
 * takes on purpose (atfork_lib.so). Fork #1 while the program itself holds it, fork #2
 * while nobody does, fork #3 through daemon() (the atfork path). Expected: no
 * lock-held-at-fork at all; the fork notes count the protected lock. */
#include "progs.h"

void *atfork_lib_lock_addr(void);
void atfork_lib_enter(void);
void atfork_lib_leave(void);

int main(void)
{
    print_value("lib_lock", (long)atfork_lib_lock_addr());
    atfork_lib_enter();
    fork_and_reap();
    atfork_lib_leave();
    fork_and_reap();
    if (daemon(1, 1) != 0) return 1;
    return 0;
}
