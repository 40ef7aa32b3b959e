/* The main thread takes and releases L in a loop while another thread keeps sending it
 * SIGUSR1, whose handler takes and releases H: the handler interrupts the lock wrappers
 * between their writes of L's entry and its publication. At the end nothing is held and
 * the main thread forks. Expected: no lock-held-at-fork (argument: trylock, lock or
 * timedlock, how L is taken). */
#include <signal.h>
#include <string.h>

#include "progs.h"

#define SIGNALS 20000

static pthread_mutex_t L = PTHREAD_MUTEX_INITIALIZER, H = PTHREAD_MUTEX_INITIALIZER;
static pthread_t main_thread;
static volatile int stop;
static volatile long handled;

static void handler(int sig)
{
    (void)sig;
    pthread_mutex_lock(&H);
    pthread_mutex_unlock(&H);
    handled++;
}

static void *signaller(void *p)
{
    (void)p;
    while (!stop) pthread_kill(main_thread, SIGUSR1);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "trylock";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    main_thread = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, signaller, NULL);
    struct timespec far = {.tv_sec = 4000000000L};
    while (handled < SIGNALS) {
        if (!strcmp(how, "lock")) pthread_mutex_lock(&L);
        else if (!strcmp(how, "timedlock")) pthread_mutex_timedlock(&L, &far);
        else (void)pthread_mutex_trylock(&L);
        pthread_mutex_unlock(&L);
    }
    stop = 1;
    pthread_join(t, NULL);
    fork_and_reap();
    return 0;
}
