/* More threads (1,100) than the auditor's thread registry has slots (1,024), all alive at
 * a fork: the ones past the table are not tracked, and the fork note must say how many.
 * With argv[1] "lock", each worker first locks and unlocks a mutex of its own 1,000 times
 * (a thread without a slot must not pay a registry search per call: issue 14, item 7). */
#include "progs.h"

#include <string.h>

#define WORKERS 1100

static pthread_barrier_t all_started;
static struct gate release;
static int lock_loops;
static pthread_mutex_t locks[WORKERS];

static void *worker_main(void *arg)
{
    pthread_mutex_t *m = arg;
    for (int i = 0; i < lock_loops; i++) {
        pthread_mutex_lock(m);
        pthread_mutex_unlock(m);
    }
    pthread_barrier_wait(&all_started);
    gate_wait(&release);
    return NULL;
}

int main(int argc, char **argv)
{
    static pthread_t threads[WORKERS];
    if (argc > 1 && strcmp(argv[1], "lock") == 0) lock_loops = 1000;
    for (int i = 0; i < WORKERS; i++) pthread_mutex_init(&locks[i], NULL);
    pthread_barrier_init(&all_started, NULL, WORKERS + 1);
    gate_init(&release);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < WORKERS; i++)
        if (pthread_create(&threads[i], &attr, worker_main, &locks[i]) != 0) {
            dprintf(1, "pthread_create failed at thread %d\n", i);
            return 1;
        }
    pthread_barrier_wait(&all_started);
    print_value("workers", WORKERS);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        static const char msg[] = "child ran\n";
        if (write(1, msg, strlen(msg)) < 0) _exit(1);
        _exit(6);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 1;
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    static char go[WORKERS];
    if (write(release.fd[1], go, sizeof go) != (ssize_t)sizeof go) return 1;
    for (int i = 0; i < WORKERS; i++) pthread_join(threads[i], NULL);
    print_value("joined", WORKERS);
    return 0;
}
