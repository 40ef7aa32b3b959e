/* 500 threads alive and 1,000 mutexes held at a fork: 450 workers hold 2 mutexes each,
 * one worker ("hoarder") holds 100, more than its per-thread table of held locks keeps
 * (64), and 48 hold none. The main thread forks while all of them wait; the child
 * reports and exits, the parent reaps it. Then the hoarder releases its 100 locks and the
 * main thread forks again (nothing of the hoarder's is held any more), then lets the
 * workers go and joins them.
 * stdout carries only what is the same in every run (no pids), so a run with the auditor
 * can be compared with one without. */
#include "progs.h"

#include <string.h>
#include <time.h>

#define THREADS 500 /* alive at the fork, main thread included */
#define PAIR_HOLDERS 450
#define HOARDED 100
#define LOCKS (PAIR_HOLDERS * 2 + HOARDED)

static pthread_mutex_t locks[LOCKS];
static pthread_barrier_t all_holding;
static struct gate release, hoarder_release, hoarder_done;

struct worker {
    pthread_t thread;
    int first, count; /* the slice of locks[] it holds */
};

/* noinline and named: the acquisition site the records show. */
static __attribute__((noinline)) void hold_slice(const struct worker *w)
{
    for (int i = 0; i < w->count; i++) pthread_mutex_lock(&locks[w->first + i]);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (w->count == HOARDED) pthread_setname_np(pthread_self(), "hoarder");
    hold_slice(w);
    pthread_barrier_wait(&all_holding);
    if (w->count == HOARDED) {
        gate_wait(&hoarder_release);
        for (int i = w->count - 1; i >= 0; i--) pthread_mutex_unlock(&locks[w->first + i]);
        w->count = 0;
        gate_open(&hoarder_done);
    }
    gate_wait(&release);
    for (int i = w->count - 1; i >= 0; i--) pthread_mutex_unlock(&locks[w->first + i]);
    return NULL;
}

int main(void)
{
    static struct worker workers[THREADS - 1];
    for (int i = 0; i < LOCKS; i++) pthread_mutex_init(&locks[i], NULL);
    pthread_barrier_init(&all_holding, NULL, THREADS);
    gate_init(&release);
    gate_init(&hoarder_release);
    gate_init(&hoarder_done);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024); /* 500 default stacks are 4 GiB of address space */
    int next = 0;
    for (int i = 0; i < THREADS - 1; i++) {
        struct worker *w = &workers[i];
        w->first = next;
        w->count = i < PAIR_HOLDERS ? 2 : i == PAIR_HOLDERS ? HOARDED : 0;
        next += w->count;
        if (pthread_create(&w->thread, &attr, worker_main, w) != 0) {
            dprintf(1, "pthread_create failed at thread %d\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&all_holding);
    print_value("threads", THREADS);
    print_value("locks_held", next);

    pid_t pid = timed_fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        /* The child touches none of the inherited locks: it must simply run and exit. */
        static const char msg[] = "child ran\n";
        if (write(1, msg, strlen(msg)) < 0) _exit(1);
        _exit(7);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 1;
    /* For measuring only (the tests compare outputs, which must not vary): fork latency. */
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));

    /* Second fork: the hoarder has released everything, tracked or not. */
    gate_open(&hoarder_release);
    gate_wait(&hoarder_done);
    pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) _exit(8);
    if (waitpid(pid, &status, 0) != pid) return 1;
    print_value("second_child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));

    static char go[THREADS - 1];
    if (write(release.fd[1], go, sizeof go) != (ssize_t)sizeof go) return 1;
    for (int i = 0; i < THREADS - 1; i++) pthread_join(workers[i].thread, NULL);
    print_value("joined", THREADS - 1);
    return 0;
}
