/* A parent with a worker thread forks one child per mode (argv[1]):
 *   futex    the worker holds a lock of the program's own (a raw futex, invisible to the
 *            wrappers) inside with_lock(); the child calls with_lock() too and blocks
 *            forever: child-stuck, the worker as suspect (same function at the fork);
 *   compute  the child computes for 3 s; sleep: it sleeps 3 s in nanosleep;
 *   read     it blocks in read() on a pipe that the parent writes after 3 s;
 *   poll     the same in poll() (retried on EINTR: the watchdog's signal interrupts it).
 * The last four are not stuck. The parent prints the child's pid and how it ended. */
#include "progs.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <string.h>
#include <time.h>

static int lock_word; /* 0 free, 1 taken */
static struct gate locked, finish;

static void raw_lock(int *w)
{
    while (__atomic_exchange_n(w, 1, __ATOMIC_ACQUIRE) != 0) syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
}

static void raw_unlock(int *w)
{
    __atomic_store_n(w, 0, __ATOMIC_RELEASE);
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Runs `work` with the lock held. noinline: both threads must show it on their stacks. */
__attribute__((noinline)) static void with_lock(void (*work)(void))
{
    raw_lock(&lock_word);
    work();
    raw_unlock(&lock_word);
}

static void hold_until_finish(void)
{
    gate_open(&locked);
    gate_wait(&finish);
}

static void nothing(void) {}

static void *worker(void *arg)
{
    (void)arg;
    print_value("worker_tid", my_tid());
    with_lock(hold_until_finish);
    return NULL;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "futex";
    gate_init(&locked);
    gate_init(&finish);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    gate_wait(&locked);
    struct gate later;
    gate_init(&later);
    pid_t pid = fork();
    if (pid == 0) {
        if (strcmp(mode, "futex") == 0) {
            with_lock(nothing);
        } else if (strcmp(mode, "compute") == 0) {
            volatile unsigned long x = 0;
            for (double end = now_s() + 3; now_s() < end;) x++;
        } else if (strcmp(mode, "sleep") == 0) {
            struct timespec d = {3, 0};
            nanosleep(&d, NULL);
        } else if (strcmp(mode, "poll") == 0) {
            struct pollfd p = {.fd = later.fd[0], .events = POLLIN};
            while (poll(&p, 1, -1) < 0 && errno == EINTR) {}
        } else {
            gate_wait(&later);
        }
        _exit(0);
    }
    print_value("child", pid);
    if (strcmp(mode, "read") == 0 || strcmp(mode, "poll") == 0) {
        struct timespec d = {3, 0}; /* the child's wait is the workload, not synchronisation */
        nanosleep(&d, NULL);
        gate_open(&later);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    print_value("child_exited", WIFEXITED(status));
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    print_value("child_signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    gate_open(&finish);
    pthread_join(t, NULL);
    return 0;
}
