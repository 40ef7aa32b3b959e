/* More atfork prepare handlers (70) than the auditor has trampolines for (64): each takes
 * its own mutex, released again by the parent and child handlers, as libraries do to fork
 * safely. The fork must work as without the auditor; the fork note must count the
 * handlers it could not watch. */
#include "progs.h"

#include <string.h>

#define HANDLERS 70

static pthread_mutex_t locks[HANDLERS];
static int prepared;

/* One prepare/parent/child triple per lock: a handler is told its lock only by its address. */
#define TRIPLE(i)                                                                  \
    static void prepare_##i(void) { pthread_mutex_lock(&locks[i]); prepared++; }   \
    static void parent_##i(void) { pthread_mutex_unlock(&locks[i]); }              \
    static void child_##i(void) { pthread_mutex_unlock(&locks[i]); }
#define TRIPLE10(t) TRIPLE(t##0) TRIPLE(t##1) TRIPLE(t##2) TRIPLE(t##3) TRIPLE(t##4) \
                    TRIPLE(t##5) TRIPLE(t##6) TRIPLE(t##7) TRIPLE(t##8) TRIPLE(t##9)
TRIPLE(0) TRIPLE(1) TRIPLE(2) TRIPLE(3) TRIPLE(4) TRIPLE(5) TRIPLE(6) TRIPLE(7) TRIPLE(8) TRIPLE(9)
TRIPLE10(1) TRIPLE10(2) TRIPLE10(3) TRIPLE10(4) TRIPLE10(5) TRIPLE10(6)

#define REG(i) pthread_atfork(prepare_##i, parent_##i, child_##i)
#define REG10(t) REG(t##0), REG(t##1), REG(t##2), REG(t##3), REG(t##4), REG(t##5), REG(t##6), REG(t##7), REG(t##8), REG(t##9)

int main(void)
{
    for (int i = 0; i < HANDLERS; i++) pthread_mutex_init(&locks[i], NULL);
    int rc[] = {REG(0), REG(1), REG(2), REG(3), REG(4), REG(5), REG(6), REG(7), REG(8), REG(9),
                REG10(1), REG10(2), REG10(3), REG10(4), REG10(5), REG10(6)};
    for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++)
        if (rc[i] != 0) return 1;
    print_value("handlers", (long)(sizeof rc / sizeof rc[0]));
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        /* every lock was released by its child handler: taking them all works */
        for (int i = 0; i < HANDLERS; i++) pthread_mutex_lock(&locks[i]);
        static const char msg[] = "child took every lock\n";
        if (write(1, msg, strlen(msg)) < 0) _exit(1);
        _exit(prepared == HANDLERS ? 4 : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 1;
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    print_value("prepared", prepared);
    return 0;
}
