/* More binary semaphores (initialised to 1: locks) than the auditor's registry keeps
 * (8,192): 8,300 are initialised, the first and the last are held at a fork. The first
 * is tracked, the last is not; the fork note must say how many were left out. With the
 * argument "idle" none is held: the full registry is then the fork's only news, and its
 * note must still be whole (parent pid, forking stack). */
#include "progs.h"

#include <semaphore.h>
#include <string.h>

#define SEMS 8300

int main(int argc, char **argv)
{
    static sem_t sems[SEMS];
    int hold = !(argc > 1 && strcmp(argv[1], "idle") == 0);
    for (int i = 0; i < SEMS; i++)
        if (sem_init(&sems[i], 0, 1) != 0) return 1;
    if (hold) {
        sem_wait(&sems[0]);
        sem_wait(&sems[SEMS - 1]);
    }
    print_value("semaphores", SEMS);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        static const char msg[] = "child ran\n";
        if (write(1, msg, strlen(msg)) < 0) _exit(1);
        _exit(5);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 1;
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (hold) {
        sem_post(&sems[SEMS - 1]);
        sem_post(&sems[0]);
    }
    for (int i = 0; i < SEMS; i++) sem_destroy(&sems[i]);
    return 0;
}
