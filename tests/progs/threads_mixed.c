/* Four other threads at fork: two named pthreads, one that blocks every signal, and one
 * made with a raw clone(), not through pthread_create. Expected: threads-at-fork listing
 * all four; the pthreads with start routine and creation site, the raw one without; the
 * named ones with their stack at the fork (with stack_signal set), the one blocking signals
 * without. worker-b has an 8 KiB alternate signal stack (as Rust threads do) bounded by a
 * guard page: the stack handler must not run on it. */
#include "progs.h"

#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

static pthread_barrier_t started;
static struct gate finish;
static int raw_ready[2], raw_finish[2];

static void *deaf_worker(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    print_value("deaf", my_tid());
    pthread_barrier_wait(&started);
    gate_wait(&finish);
    return NULL;
}

/* An 8 KiB alternate signal stack right above an inaccessible page. */
static void small_altstack(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, (size_t)page + 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    mprotect(m, (size_t)page, PROT_NONE);
    stack_t ss = {.ss_sp = m + page, .ss_size = 8192, .ss_flags = 0};
    sigaltstack(&ss, NULL);
}

static void *named_worker(void *name)
{
    if (strcmp(name, "worker-b") == 0) small_altstack();
    pthread_setname_np(pthread_self(), name);
    print_value(name, my_tid());
    pthread_barrier_wait(&started);
    gate_wait(&finish);
    return NULL;
}

/* Runs without glibc thread state: raw system calls only. */
static int raw_thread(void *arg)
{
    (void)arg;
    long tid = syscall(SYS_gettid);
    syscall(SYS_write, raw_ready[1], &tid, sizeof tid);
    char c;
    syscall(SYS_read, raw_finish[0], &c, 1);
    syscall(SYS_exit, 0);
    return 0;
}

int main(void)
{
    pthread_t a, b, c;
    pthread_barrier_init(&started, NULL, 4);
    gate_init(&finish);
    if (pipe(raw_ready) != 0 || pipe(raw_finish) != 0) return 1;
    pthread_create(&a, NULL, named_worker, "worker-a");
    pthread_create(&b, NULL, named_worker, "worker-b");
    pthread_create(&c, NULL, deaf_worker, NULL);
    pthread_barrier_wait(&started);

    size_t size = (size_t)64 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    clone(raw_thread, stack + size, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, NULL);
    long raw_tid;
    if (read(raw_ready[0], &raw_tid, sizeof raw_tid) != sizeof raw_tid) return 1;
    print_value("raw", raw_tid);

    fork_and_reap();
    gate_open(&finish);
    gate_open(&finish);
    gate_open(&finish);
    if (write(raw_finish[1], "x", 1) != 1) return 1;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(c, NULL);
    return 0;
}
