/* 400 worker threads each hold 60 mutexes (24,000 held locks) when the main thread forks;
 * the child then blocks for good in a raw private futex wait, which no wrapper sees. With
 * child_watchdog=1:max_locks=100000 the child's child-stuck record lists the parent's
 * threads and every lock they held: far more than the 4 MiB a record may take. The test
 * runs it with on_child_stuck=abort, so the child ends; the parent prints how it ended,
 * then lets the workers go and joins them. */
#include "progs.h"

#include <linux/futex.h>

#define WORKERS 400
#define LOCKS_EACH 60

static pthread_mutex_t locks[WORKERS][LOCKS_EACH];
static pthread_barrier_t all_holding;
static struct gate release;

/* noinline and named: the acquisition site the records show. */
static __attribute__((noinline)) void hold_all(pthread_mutex_t *mine)
{
    for (int i = 0; i < LOCKS_EACH; i++) pthread_mutex_lock(&mine[i]);
}

static void *worker_main(void *arg)
{
    pthread_mutex_t *mine = arg;
    hold_all(mine);
    pthread_barrier_wait(&all_holding);
    gate_wait(&release);
    for (int i = LOCKS_EACH - 1; i >= 0; i--) pthread_mutex_unlock(&mine[i]);
    return NULL;
}

/* Waits on a word nobody will ever wake: the child is stuck. */
static __attribute__((noinline)) void wait_forever(void)
{
    static int word;
    for (;;) syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

int main(void)
{
    static pthread_t threads[WORKERS];
    pthread_barrier_init(&all_holding, NULL, WORKERS + 1);
    gate_init(&release);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024); /* 400 default stacks are 3 GiB of address space */
    for (int i = 0; i < WORKERS; i++) {
        for (int k = 0; k < LOCKS_EACH; k++) pthread_mutex_init(&locks[i][k], NULL);
        if (pthread_create(&threads[i], &attr, worker_main, locks[i]) != 0) {
            dprintf(1, "pthread_create failed at thread %d\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&all_holding);
    print_value("locks_held", WORKERS * LOCKS_EACH);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) wait_forever();
    print_value("child", pid);
    int status = 0;
    waitpid(pid, &status, 0);
    print_value("child_signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    for (int i = 0; i < WORKERS; i++) gate_open(&release); /* one byte each */
    for (int i = 0; i < WORKERS; i++) pthread_join(threads[i], NULL);
    print_value("joined", WORKERS);
    return 0;
}
