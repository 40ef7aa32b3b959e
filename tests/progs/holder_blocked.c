/* A worker holds a mutex and then blocks (or runs) while the main thread forks; argv[1]
 * says how: sleep (nanosleep 1 s), poll (a pipe nobody writes, 500 ms), semwait
 * (sem_timedwait, 500 ms), busy (a loop until the fork is over), epoll (epoll_wait,
 * 500 ms), write (a blocking write of 256 KiB to a full pipe), epoll_untimed (epoll_wait without a timeout, woken by a write after the fork), undumpable (as sleep, with PR_SET_DUMPABLE 0 and without CAP_SYS_PTRACE: ptrace
 * refused), loader (a first fork while it sleeps plainly, a second while it sleeps inside
 * a dl_iterate_phdr callback: the loader's lock held, which an unwind needs). The main thread forks once the kernel shows the worker inside the call
 * (/proc/self/task/TID/syscall), never after a sleep. The worker prints what its call
 * returned: the same with and without the auditor (a stop must not make it EINTR).
 * Expected: lock-held-at-fork (error) whose holder_stack_at_fork names holder_sleeps,
 * holder_polls, holder_waits or holder_spins. argv[2]: a file for the tids. */
#include "progs.h"

#include <errno.h>
#include <link.h>
#include <signal.h>
#include <linux/capability.h>
#include <poll.h>
#include <semaphore.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static int started[2], never[2];
static const char *mode;
static volatile int spin_until_forked;
static long result, result_errno;

static void ready(void)
{
    long tid = my_tid();
    if (write(started[1], &tid, sizeof tid) != sizeof tid) _exit(3);
}

__attribute__((noinline)) static void holder_sleeps(void)
{
    struct timespec t = {1, 0};
    ready();
    result = nanosleep(&t, NULL);
    result_errno = result ? errno : 0;
}

__attribute__((noinline)) static void holder_polls(void)
{
    struct pollfd p = {never[0], POLLIN, 0};
    ready();
    result = poll(&p, 1, 500);
    result_errno = result < 0 ? errno : 0;
}

__attribute__((noinline)) static void holder_waits(void)
{
    sem_t sem;
    sem_init(&sem, 0, 0);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 500 * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    ready();
    result = sem_timedwait(&sem, &t);
    result_errno = result ? errno : 0;
    sem_destroy(&sem);
}

__attribute__((noinline)) static void holder_spins(void)
{
    ready();
    long n = 0;
    while (!__atomic_load_n(&spin_until_forked, __ATOMIC_ACQUIRE)) n++;
    result = n > 0;
}

__attribute__((noinline)) static void holder_epolls(int timeout_ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, never[0], &ev);
    ready();
    result = epoll_wait(ep, &ev, 1, timeout_ms);
    result_errno = result < 0 ? errno : 0;
    close(ep);
}

/* Sleeps inside dl_iterate_phdr's callback: the loader's lock is held while it sleeps. */
static int sleep_in_callback(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (void)data;
    holder_sleeps();
    return 1;
}

__attribute__((noinline)) static void holder_holds_the_loader(void) { dl_iterate_phdr(sleep_in_callback, NULL); }

/* A pipe filled up, then a blocking write of 256 KiB more: the main thread drains it
 * after the fork. A stop would end the write part-way (a short count). */
static int full[2];
static char chunk[256 * 1024];

__attribute__((noinline)) static void holder_writes(void)
{
    fcntl(full[1], F_SETFL, O_NONBLOCK);
    while (write(full[1], chunk, sizeof chunk) > 0) {
    }
    fcntl(full[1], F_SETFL, 0);
    ready();
    result = write(full[1], chunk, sizeof chunk);
    result_errno = result < 0 ? errno : 0;
    close(full[1]);
}

static void *worker_main(void *arg)
{
    (void)arg;
    print_fact("worker_tid", my_tid());
    pthread_mutex_lock(&table_lock);
    if (!strcmp(mode, "poll")) holder_polls();
    else if (!strcmp(mode, "semwait")) holder_waits();
    else if (!strcmp(mode, "busy")) holder_spins();
    else if (!strcmp(mode, "epoll")) holder_epolls(500);
    else if (!strcmp(mode, "epoll_untimed")) holder_epolls(-1);
    else if (!strcmp(mode, "write")) holder_writes();
    else if (!strcmp(mode, "loader")) {
        holder_sleeps(); /* the first fork, while it sleeps plainly */
        holder_holds_the_loader();
    }
    else holder_sleeps();
    pthread_mutex_unlock(&table_lock);
    return NULL;
}

/* Waits until the kernel shows thread `tid` in system call `nr` (-1: running). */
static void wait_until_in(long tid, int nr)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
    for (;;) { /* raw system calls: the auditor's open() would unwind, and the loader mode holds its lock */
        long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
        long n = fd < 0 ? -1 : syscall(SYS_read, fd, buf, sizeof buf - 1);
        if (fd >= 0) syscall(SYS_close, fd);
        if (n <= 0) _exit(4);
        buf[n] = 0;
        if (nr < 0 ? !strncmp(buf, "running", 7) : atoi(buf) == nr) return;
        sched_yield();
    }
}

static void drop_ptrace(void)
{
    prctl(PR_SET_DUMPABLE, 0);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return;
    d[0].effective &= ~(1u << CAP_SYS_PTRACE);
    d[0].permitted &= ~(1u << CAP_SYS_PTRACE);
    syscall(SYS_capset, &h, d);
}

int main(int argc, char **argv)
{
    mode = argc > 1 ? argv[1] : "sleep";
    fact_file_open(argc > 2 ? argv[2] : NULL);
    if (!strcmp(mode, "undumpable")) drop_ptrace();
    int hold[2]; /* made now: the auditor's pipe2() unwinds, which waits for the loader's lock */
    if (pipe2(started, O_CLOEXEC) || pipe2(never, O_CLOEXEC) || pipe2(hold, O_CLOEXEC) ||
        pipe2(full, O_CLOEXEC))
        return 2;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, NULL); /* the worker inherits the mask */
    char c = 0;
    pthread_t t;
    pthread_create(&t, NULL, worker_main, NULL);
    long tid;
    if (read(started[0], &tid, sizeof tid) != sizeof tid) return 2;
    int nr = !strcmp(mode, "busy") ? -1
             : !strcmp(mode, "poll") ? SYS_poll
             : !strcmp(mode, "semwait") ? SYS_futex
             : !strncmp(mode, "epoll", 5) ? SYS_epoll_wait
             : !strcmp(mode, "write") ? SYS_write
                                      : SYS_clock_nanosleep;
    wait_until_in(tid, nr);
    print_fact("main_tid", my_tid());
    if (!strcmp(mode, "loader")) { /* the second sleep is in the callback */
        fork_and_reap();
        if (read(started[0], &tid, sizeof tid) != sizeof tid) return 2;
        wait_until_in(tid, nr);
    }
    /* The child waits until told: a SIGCHLD pending right after fork() returns, or a child
     * that waitpid(-1) can reap, would be the auditor's (SIGCHLD is blocked in every thread). */
    pid_t child = fork();
    if (child == 0) {
        close(hold[1]);
        if (read(hold[0], &c, 1) < 0) _exit(1);
        _exit(0);
    }
    sigset_t pending;
    sigpending(&pending);
    print_value("sigchld_at_fork", sigismember(&pending, SIGCHLD));
    int st;
    print_value("reapable_at_fork", waitpid(-1, &st, WNOHANG));
    close(hold[1]);
    waitpid(child, &st, 0);
    __atomic_store_n(&spin_until_forked, 1, __ATOMIC_RELEASE);
    if (!strcmp(mode, "epoll_untimed") && write(never[1], "x", 1) != 1) return 2; /* wakes it: 1 event */
    if (!strcmp(mode, "write")) /* drains the pipe until the worker closes it */
        while (read(full[0], chunk, sizeof chunk) > 0) {
        }
    pthread_join(t, NULL);
    print_fact("child", child);
    print_value("result", result);
    print_value("errno", result_errno);
    return 0;
}
