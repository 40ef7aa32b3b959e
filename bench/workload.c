/* workload.c: the timed program of `make bench` (run by compare, with and without a
 * preloaded library).
 *
 * Usage: workload MODE [N]
 *   lockpair [N]  N uncontended pthread_mutex_lock/unlock pairs on one mutex (default 20M)
 *   fork [N]      with a file open for writing and a pipe open: N times fork(), the child
 *                 _exit(0)s, the parent waits for it (default 2000)
 *   forkheap [N]  the fork loop after touching 64 MiB of heap (default 300)
 *
 * Prints one number on stdout: nanoseconds per operation of the inner loop, which alone
 * is timed (CLOCK_MONOTONIC). Exits 2 on bad usage, 1 if a system call fails. */
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
    } modes[] = {{"lockpair", lockpair, 20000000}, {"fork", fork_loop, 2000}, {"forkheap", forkheap, 300}};

    for (size_t i = 0; argc >= 2 && i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(argv[1], modes[i].mode) != 0) continue;
        long n = argc >= 3 ? strtol(argv[2], NULL, 10) : modes[i].default_n;
        if (n <= 0) break;
        printf("%.2f\n", modes[i].run(n));
        return 0;
    }
    fprintf(stderr, "usage: workload lockpair|fork|forkheap [N]\n");
    return 2;
}
