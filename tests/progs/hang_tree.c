/* hang_tree.c: a process tree that never ends by itself, for the launcher's signal tests.
 * A worker holds a mutex while main forks; the child takes the mutex it inherited locked
 * (it waits forever: its copy has no holder). The parent prints "child_pid=N" (the
 * fork's records are written before fork() returns) and then, by argv[1]:
 *   wait   waits for the child (forever)
 *   exit   exits 0 at once, leaving the hung child behind (an orphan)
 * Nothing sleeps; the worker's hold is synchronised by a barrier. */
#include "progs.h"

#include <string.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static struct gate done;

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&table_lock);
    pthread_barrier_wait(&held);
    gate_wait(&done);
    pthread_mutex_unlock(&table_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "wait";
    pthread_t t;
    gate_init(&done);
    pthread_barrier_init(&held, NULL, 2);
    pthread_create(&t, NULL, holder, NULL);
    pthread_barrier_wait(&held);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&table_lock); /* forever: the holder is not in this process */
        _exit(0);
    }
    print_value("child_pid", pid);
    if (strcmp(mode, "exit") == 0) _exit(0);
    int status = 0;
    waitpid(pid, &status, 0);
    gate_open(&done);
    pthread_join(t, NULL);
    return 0;
}
