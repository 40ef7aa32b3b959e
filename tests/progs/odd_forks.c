/* Forks in odd places; argv[1] picks one:
 *   vfork       vfork + execve("/bin/true") (never wrapped: the child runs none of our code)
 *   _Fork       _Fork (runs no atfork handler); the child then forks normally: that fork
 *               is the child's fork #1
 *   signal      a fork from inside a SIGUSR1 handler, raised while the main thread holds a
 *               mutex (the handler's fork reports it)
 *   threads     eight threads fork at once (released together by a barrier)
 * Prints what the test checks as key=value. */
#include "progs.h"

#include <signal.h>
#include <string.h>

pid_t _Fork(void);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start;

static void on_signal(int sig)
{
    (void)sig;
    fork_and_reap();
}

static void *forker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    fork_and_reap();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if (strcmp(mode, "vfork") == 0) {
        char *const args[] = {"true", NULL}; /* before vfork: the child may only exec or _exit */
        pid_t pid = vfork();
        if (pid == 0) {
            execve("/bin/true", args, NULL);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        print_value("vfork_status", WEXITSTATUS(status));
    } else if (strcmp(mode, "_Fork") == 0) {
        pid_t pid = _Fork();
        if (pid == 0) {
            print_value("grandchild", fork_and_reap());
            _exit(0);
        }
        print_value("child", pid);
        waitpid(pid, NULL, 0);
    } else if (strcmp(mode, "signal") == 0) {
        signal(SIGUSR1, on_signal);
        pthread_mutex_lock(&lock);
        raise(SIGUSR1);
        pthread_mutex_unlock(&lock);
        print_value("lock_addr", (long)&lock);
    } else if (strcmp(mode, "threads") == 0) {
        pthread_t t[8];
        pthread_barrier_init(&start, NULL, 8);
        for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, forker, NULL);
        for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    }
    print_value("done", 1);
    return 0;
}
