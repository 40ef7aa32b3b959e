/* More threads (1,100) than the auditor's thread registry has slots (1,024), all alive at
 * a fork: the ones past the table are not tracked, and the fork note must say how many. */
#include "progs.h"

#include <string.h>

#define WORKERS 1100

static pthread_barrier_t all_started;
static struct gate release;

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&all_started);
    gate_wait(&release);
    return NULL;
}

int main(void)
{
    static pthread_t threads[WORKERS];
    pthread_barrier_init(&all_started, NULL, WORKERS + 1);
    gate_init(&release);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < WORKERS; i++)
        if (pthread_create(&threads[i], &attr, worker_main, NULL) != 0) {
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
