/* Forks where the auditor's own bookkeeping is busy. argv[1] picks the storm, argv[2] is
 * the file for facts that differ between runs (tids, addresses):
 *   signals  the main thread locks and unlocks mutexes (normal, recursive, trylock) and a
 *            read-write lock in a loop, out of order; another thread sends it SIGNALS
 *            signals with pthread_kill, one at a time; each handler forks (the child
 *            _exits) and reaps, so most forks interrupt a lock or unlock wrapper.
 *   threads  eight threads, released together by a barrier, fork at once, ROUNDS times;
 *            each holds its own mutex while it forks.
 * Then, in both: a worker holds final_lock and the main thread forks once more. Its
 * record must name final_lock exactly once, held by the worker: bookkeeping that a storm
 * corrupted would show a lock too many or a wrong holder. stdout is the same with and
 * without the auditor. */
#include "progs.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#define SIGNALS 1000
#define FORKERS 8
#define ROUNDS 25

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t loop_recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t loop_try = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t loop_rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t final_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------ signals */

static int ack[2];
static volatile sig_atomic_t handler_forks, handler_children_ok;
static int storm_over;

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid) {
        handler_forks++;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 7) handler_children_ok++;
    }
    if (write(ack[1], "x", 1) != 1) abort();
    errno = saved;
}

static void *signal_sender(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    for (int i = 0; i < SIGNALS; i++) {
        char c;
        pthread_kill(target, SIGUSR1);
        if (read(ack[0], &c, 1) != 1) abort(); /* the handler has forked and reaped */
    }
    __atomic_store_n(&storm_over, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Lock and unlock out of order, so the held set's removal moves entries around. */
static void lock_loop(void)
{
    while (!__atomic_load_n(&storm_over, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&loop_lock);
        pthread_mutex_lock(&loop_recursive);
        pthread_mutex_lock(&loop_recursive);
        if (pthread_mutex_trylock(&loop_try) != 0) abort();
        pthread_rwlock_wrlock(&loop_rw);
        pthread_mutex_unlock(&loop_lock);
        pthread_mutex_unlock(&loop_recursive);
        pthread_rwlock_unlock(&loop_rw);
        pthread_mutex_unlock(&loop_try);
        pthread_mutex_unlock(&loop_recursive);
    }
}

static void signal_storm(void)
{
    if (pipe(ack) != 0) abort();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t self = pthread_self(), sender;
    pthread_create(&sender, NULL, signal_sender, &self);
    lock_loop();
    pthread_join(sender, NULL);
    print_value("handler_forks", handler_forks);
    print_value("handler_children_ok", handler_children_ok);
    print_fact("loop_lock", (long)&loop_lock);
    print_fact("loop_recursive", (long)&loop_recursive);
    print_fact("loop_try", (long)&loop_try);
    print_fact("loop_rw", (long)&loop_rw);
}

/* ------------------------------------------------------------------ threads */

static pthread_barrier_t all_ready;
static pthread_mutex_t own_lock[FORKERS];
static int forks_ok[FORKERS];

static void *forker_main(void *arg)
{
    int i = (int)(long)arg;
    char key[32];
    snprintf(key, sizeof key, "forker%d_tid", i);
    print_fact(key, my_tid());
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&all_ready);
        pthread_mutex_lock(&own_lock[i]);
        if (fork_and_reap() > 0) forks_ok[i]++;
        pthread_mutex_unlock(&own_lock[i]);
    }
    return NULL;
}

static void thread_storm(void)
{
    pthread_t t[FORKERS];
    pthread_barrier_init(&all_ready, NULL, FORKERS);
    for (long i = 0; i < FORKERS; i++) {
        char key[32];
        pthread_mutex_init(&own_lock[i], NULL);
        snprintf(key, sizeof key, "forker%ld_lock", i);
        print_fact(key, (long)&own_lock[i]);
        pthread_create(&t[i], NULL, forker_main, (void *)i);
    }
    int total = 0;
    for (int i = 0; i < FORKERS; i++) {
        pthread_join(t[i], NULL);
        total += forks_ok[i];
    }
    print_value("thread_forks", total);
}

/* ------------------------------------------------------------------ the final fork */

static pthread_barrier_t final_held;
static struct gate final_done;

static void hold_final_lock(void) { pthread_mutex_lock(&final_lock); }

static void *final_holder_main(void *arg)
{
    (void)arg;
    print_fact("holder_tid", my_tid());
    hold_final_lock();
    pthread_barrier_wait(&final_held);
    gate_wait(&final_done);
    pthread_mutex_unlock(&final_lock);
    return NULL;
}

static void final_fork(void)
{
    pthread_t holder;
    pthread_barrier_init(&final_held, NULL, 2);
    gate_init(&final_done);
    pthread_create(&holder, NULL, final_holder_main, NULL);
    pthread_barrier_wait(&final_held);
    pid_t child = fork();
    if (child == 0) _exit(9);
    int status = 0;
    waitpid(child, &status, 0);
    print_value("final_child_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    gate_open(&final_done);
    pthread_join(holder, NULL);
    print_fact("final_child", child);
    print_fact("final_lock", (long)&final_lock);
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    fact_file_open(argv[2]);
    print_fact("main_tid", my_tid());
    if (strcmp(argv[1], "signals") == 0) signal_storm();
    else if (strcmp(argv[1], "threads") == 0) thread_storm();
    else return 2;
    final_fork();
    return 0;
}
