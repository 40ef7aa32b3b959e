/* progs.h: helpers shared by the small programs the integration tests audit. Each program
 * shows one hazard (or one clean control), prints the facts the test checks as "key=N"
 * lines on stdout, and synchronises its threads with barriers and pipes only. */
#ifndef PROGS_H
#define PROGS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline void print_value(const char *key, long value) { dprintf(1, "%s=%ld\n", key, value); }
static inline long my_tid(void) { return syscall(SYS_gettid); }

/* Facts that differ from run to run (tids, addresses, pids) go to a file of their own
 * (fact_file_open), so that stdout stays comparable with an unaudited run. */
static inline int *fact_fd(void)
{
    static int fd = -1;
    return &fd;
}
static inline void fact_file_open(const char *path)
{
    if (path) *fact_fd() = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}
static inline void print_fact(const char *key, long value)
{
    if (*fact_fd() >= 0) dprintf(*fact_fd(), "%s=%ld\n", key, value);
}

/* fork; the child exits at once; the parent waits. Returns the child's pid. */
/* fork(), and in the parent the microseconds the call took, printed on stderr as
 * "fork_us=N" when SCALE_TIMING is set (for people measuring; no test asserts on it). */
static inline pid_t timed_fork(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid > 0 && getenv("SCALE_TIMING")) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        dprintf(2, "fork_us=%ld\n", (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000);
    }
    return pid;
}

static inline pid_t fork_and_reap(void)
{
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    return pid;
}

/* A one-shot "go" signal across threads. */
struct gate { int fd[2]; };
static inline void gate_init(struct gate *g) { if (pipe(g->fd) != 0) abort(); }
static inline void gate_open(struct gate *g) { if (write(g->fd[1], "x", 1) != 1) abort(); }
static inline void gate_wait(struct gate *g) { char c; if (read(g->fd[0], &c, 1) != 1) abort(); }

/* A worker thread that takes `lock`, prints "worker_tid=N", and holds the lock until
 * holder_release(): start_holder returns once the lock is held. */
struct holder {
    pthread_t thread;
    pthread_mutex_t *lock;
    pthread_barrier_t held;
    struct gate finish;
};

static inline void *holder_main(void *arg)
{
    struct holder *h = arg;
    print_value("worker_tid", my_tid());
    pthread_mutex_lock(h->lock);
    pthread_barrier_wait(&h->held);
    gate_wait(&h->finish);
    pthread_mutex_unlock(h->lock);
    return NULL;
}

static inline void start_holder(struct holder *h, pthread_mutex_t *lock)
{
    h->lock = lock;
    pthread_barrier_init(&h->held, NULL, 2);
    gate_init(&h->finish);
    pthread_create(&h->thread, NULL, holder_main, h);
    pthread_barrier_wait(&h->held);
}

static inline void holder_release(struct holder *h)
{
    gate_open(&h->finish);
    pthread_join(h->thread, NULL);
}

#endif
