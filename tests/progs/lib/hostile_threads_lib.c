/* A library whose constructor starts two threads, loaded with dlopen by hostile_prog_dl:
 * a fork while they live must list them with their start routine (a function of this
 * library) and where the constructor created them. The first also holds a lock. They
 * end when the program calls hostile_threads_stop(), before it unloads the library. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 2

static pthread_mutex_t dl_thread_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t started;
static pthread_t thread[THREADS];
static long thread_tid[THREADS];
static int stop_pipe[2];

static void *dl_worker_main(void *arg)
{
    long i = (long)arg;
    thread_tid[i] = syscall(SYS_gettid);
    if (i == 0) pthread_mutex_lock(&dl_thread_lock);
    pthread_barrier_wait(&started);
    char c;
    if (read(stop_pipe[0], &c, 1) != 1) abort();
    if (i == 0) pthread_mutex_unlock(&dl_thread_lock);
    return NULL;
}

static void start_dl_workers(void)
{
    if (pipe(stop_pipe) != 0) abort();
    pthread_barrier_init(&started, NULL, THREADS + 1);
    for (long i = 0; i < THREADS; i++) pthread_create(&thread[i], NULL, dl_worker_main, (void *)i);
    pthread_barrier_wait(&started);
}

__attribute__((constructor)) static void hostile_threads_lib_init(void) { start_dl_workers(); }

long hostile_threads_tid(int i) { return thread_tid[i]; }
void *hostile_threads_lock(void) { return &dl_thread_lock; }

void hostile_threads_stop(void)
{
    if (write(stop_pipe[1], "xx", THREADS) != THREADS) abort();
    for (int i = 0; i < THREADS; i++) pthread_join(thread[i], NULL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
}
