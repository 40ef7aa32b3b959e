/* workload.c: the timed program of `make bench` (run by compare, with and without a
 * preloaded library).
 *
 * Usage: workload MODE [N]
 *   lockpair [N]  N uncontended pthread_mutex_lock/unlock pairs on one mutex (default 20M)
 *   fork [N]      with a file open for writing and a pipe open: N times fork(), the child
 *                 _exit(0)s, the parent waits for it (default 2000)
 *   forkheap [N]  the fork loop after touching 64 MiB of heap (default 300)
 *   mutex-private [N]  4 threads, each N lock/unlock pairs on a mutex of its own
 *                 (uncontended; default 5M)
 *   mutex-shared [N]   4 threads, each N lock/unlock pairs on one mutex they all share
 *                 (contended; default 5M)
 *
 * Prints one number on stdout: nanoseconds per operation of the inner loop, which alone
 * is timed (CLOCK_MONOTONIC; for the threaded modes, from the moment all threads are
 * ready to the last one's end, divided by the pairs of one thread). Exits 2 on bad usage, 1 if a system call fails. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEAP_BYTES (64u << 20)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double lockpair(long n)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    /* The volatile store inside the critical section keeps every iteration real. */
    static volatile long counter;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&m);
        counter++;
        pthread_mutex_unlock(&m);
    }
    return (now_ns() - t0) / (double)n;
}

#define LOCK_THREADS 4

struct lock_thread {
    pthread_mutex_t *mutex;
    long pairs;
    pthread_barrier_t *start;
    /* Each thread's counter and mutex on a cache line of its own: the uncontended case
     * must not be slowed by false sharing. */
    volatile long counter __attribute__((aligned(64)));
    pthread_mutex_t own __attribute__((aligned(64)));
};

static void *lock_thread_main(void *p)
{
    struct lock_thread *t = p;
    pthread_barrier_wait(t->start);
    for (long i = 0; i < t->pairs; i++) {
        pthread_mutex_lock(t->mutex);
        t->counter++;
        pthread_mutex_unlock(t->mutex);
    }
    return NULL;
}

/* LOCK_THREADS threads, each `n` pairs on its own mutex or on one shared mutex. */
static double lock_threads(long n, int shared)
{
    static pthread_mutex_t common = PTHREAD_MUTEX_INITIALIZER;
    static struct lock_thread threads[LOCK_THREADS];
    pthread_t ids[LOCK_THREADS];
    pthread_barrier_t start;
    /* The main thread waits too, so the clock starts when every worker exists. */
    if (pthread_barrier_init(&start, NULL, LOCK_THREADS + 1) != 0) die("pthread_barrier_init");
    for (int i = 0; i < LOCK_THREADS; i++) {
        struct lock_thread *t = &threads[i];
        pthread_mutex_init(&t->own, NULL);
        t->mutex = shared ? &common : &t->own;
        t->pairs = n;
        t->start = &start;
        if (pthread_create(&ids[i], NULL, lock_thread_main, t) != 0) die("pthread_create");
    }
    pthread_barrier_wait(&start);
    double t0 = now_ns();
    for (int i = 0; i < LOCK_THREADS; i++) pthread_join(ids[i], NULL);
    double per_op = (now_ns() - t0) / (double)n;
    pthread_barrier_destroy(&start);
    return per_op;
}

static double mutex_private(long n) { return lock_threads(n, 0); }
static double mutex_shared(long n) { return lock_threads(n, 1); }

static double fork_loop(long n)
{
    /* Two extra descriptors, so the auditor's descriptor scan has something to report. */
    char dir[] = "/tmp/forkaudit-workload.XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp");
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/out", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("open");
    int pipefd[2];
    if (pipe(pipefd) != 0) die("pipe");

    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) _exit(0);
        if (waitpid(pid, NULL, 0) != pid) die("waitpid");
    }
    double per_op = (now_ns() - t0) / (double)n;

    close(pipefd[0]);
    close(pipefd[1]);
    close(fd);
    unlink(path);
    rmdir(dir);
    return per_op;
}

static double forkheap(long n)
{
    /* A bigger address space makes fork copy more page tables: the auditor's fixed cost
     * should then be a small share of the fork. */
    char *heap = malloc(HEAP_BYTES);
    if (!heap) die("malloc");
    memset(heap, 1, HEAP_BYTES);
    /* Let the heap escape: otherwise the compiler drops malloc, memset and free as dead. */
    __asm__ volatile("" : : "r"(heap) : "memory");
    double per_op = fork_loop(n);
    free(heap);
    return per_op;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *mode;
        double (*run)(long);
        long default_n;
    } modes[] = {{"lockpair", lockpair, 20000000}, {"fork", fork_loop, 2000}, {"forkheap", forkheap, 300},
                 {"mutex-private", mutex_private, 5000000}, {"mutex-shared", mutex_shared, 5000000}};

    for (size_t i = 0; argc >= 2 && i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(argv[1], modes[i].mode) != 0) continue;
        long n = argc >= 3 ? strtol(argv[2], NULL, 10) : modes[i].default_n;
        if (n <= 0) break;
        printf("%.2f\n", modes[i].run(n));
        return 0;
    }
    fprintf(stderr, "usage: workload lockpair|fork|forkheap|mutex-private|mutex-shared [N]\n");
    return 2;
}
