/* The main thread holds 70 mutexes, 6 more than the 64 its held set keeps, and forks
 * twice. With the argument "atfork", a prepare handler takes 40 more (past half the set:
 * not kept, as jemalloc's) and the parent handler releases them. Neither these releases
 * nor those the auditor makes itself while it audits a fork (libunwind's lock) are
 * releases of untracked locks. Expected: both fork notes say locks_untracked 6. */
#include <string.h>

#include "progs.h"

static pthread_mutex_t held[70], prep[40];

static void prepare(void)
{
    for (int i = 0; i < 40; i++) pthread_mutex_lock(&prep[i]);
}
static void parent(void)
{
    for (int i = 39; i >= 0; i--) pthread_mutex_unlock(&prep[i]);
}
static void child(void)
{
    for (int i = 0; i < 40; i++) pthread_mutex_init(&prep[i], NULL);
}

int main(int argc, char **argv)
{
    for (int i = 0; i < 70; i++) pthread_mutex_init(&held[i], NULL);
    for (int i = 0; i < 40; i++) pthread_mutex_init(&prep[i], NULL);
    if (argc > 1 && !strcmp(argv[1], "atfork")) pthread_atfork(prepare, parent, child);
    for (int i = 0; i < 70; i++) pthread_mutex_lock(&held[i]);
    fork_and_reap();
    fork_and_reap();
    for (int i = 69; i >= 0; i--) pthread_mutex_unlock(&held[i]);
    print_value("forks", 2);
    return 0;
}
