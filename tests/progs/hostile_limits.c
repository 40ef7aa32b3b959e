/* Programs that meet the auditor's own limits (issue 14, items 1, 4, 8 and 9):
 *   fsize     sets RLIMIT_FSIZE to 16 KiB and forks 40 times with a descriptor open (a
 *             finding each): the log reaches the limit, the program must not die of SIGXFSZ
 *   exitcode  forks while a worker holds a lock (an error finding), then prints to a
 *             buffered stdout and from an atexit handler: the output must arrive
 *   raise N   sends itself signal N with its default disposition: the program must end
 *             as without the auditor (dump_signal=N must not take the signal over)
 *   echo      prints "ok" (start-up with a hostile suppressions file)
 *   concurrent T M
 *             T threads, released together by a barrier, fork M times each; every child
 *             opens /dev/null and exits with its number minus the lowest free number
 *             the parent had (0 unless it inherited a descriptor the program never
 *             opened: the auditor's); prints children and children_extra_fd (item 3)
 *   pipelog F [wait]
 *             forks F times with a descriptor open (a finding each), prints forks=F;
 *             with "wait", reads a byte from stdin (the test drains the log meanwhile);
 *             then forks once more and prints final_fork=1 and whether its stderr is
 *             non-blocking (item 2: a log nobody reads)
 *   reopened DIR
 *             a daemon's start: closes 0-2, opens DIR/data0..2 (they get 0, 1, 2) and
 *             writes a line to each, then forks 5 times with a descriptor open (a finding
 *             each); the files must hold the program's lines only (item 12)
 *   fdbudget  lists /proc/self/fd at start-up, after an open and a close, and after a
 *             fork (prints the descriptors past 0-2 each time: none are the program's),
 *             then runs itself as "opens6" under RLIMIT_NOFILE 6 (as `ulimit -n 6`)
 *   opens6    opens /dev/null until it fails and prints how many opens succeeded (3
 *             without the auditor) (item 11)
 *   cancelled a thread waits in pthread_cond_wait and is cancelled there: glibc retakes
 *             the mutex before the thread's cleanup handler runs, which does not unlock
 *             it and waits; the main thread forks meanwhile (the mutex is held by another
 *             thread: an error), then lets the thread end and prints whether the mutex is
 *             still locked (minor item: a cancelled condition wait) */
#include "progs.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void fsize(void)
{
    struct rlimit rl = {16384, 16384};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) exit(3);
    int fd = open("/dev/null", O_RDONLY); /* inherited by every child: fds-at-fork */
    int forks = 0;
    for (int i = 0; i < 40; i++)
        if (fork_and_reap() > 0) forks++;
    close(fd);
    print_value("forks", forks);
}

static void at_exit_print(void) { printf("atexit handler ran\n"); }

static void exitcode(void)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct holder h;
    start_holder(&h, &lock);
    fork_and_reap();
    holder_release(&h);
    atexit(at_exit_print);
    printf("buffered line from main\n"); /* a pipe: fully buffered, written at exit */
}

/* Sends itself `sig` with its default disposition (SIGTERM, SIGUSR1 end the program),
 * after a fork audited under the options given. */
static void raise_default(int sig)
{
    fork_and_reap();
    printf("sending %d\n", sig);
    fflush(stdout);
    kill(getpid(), sig);
    printf("still running after signal %d\n", sig);
}

static int lowest_free_fd;
static int concurrent_forks;
static pthread_barrier_t concurrent_start;
static long children_ok, children_extra;

static void *concurrent_forker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&concurrent_start);
    for (int i = 0; i < concurrent_forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", O_RDONLY);
            _exit(fd < 0 ? 100 : fd - lowest_free_fd);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid) continue;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) __atomic_add_fetch(&children_ok, 1, __ATOMIC_RELAXED);
        else __atomic_add_fetch(&children_extra, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void concurrent(int threads, int forks)
{
    pthread_t t[64];
    if (threads > 64) threads = 64;
    lowest_free_fd = open("/dev/null", O_RDONLY);
    close(lowest_free_fd);
    concurrent_forks = forks;
    pthread_barrier_init(&concurrent_start, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, concurrent_forker, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    print_value("children", children_ok + children_extra);
    print_value("children_extra_fd", children_extra);
}

static void pipelog(int forks, int wait)
{
    int fd = open("/dev/null", O_RDONLY); /* inherited by every child: fds-at-fork */
    int done = 0;
    for (int i = 0; i < forks; i++)
        if (fork_and_reap() > 0) done++;
    print_value("forks", done);
    char c;
    if (wait && read(0, &c, 1) != 1) exit(4);
    int final = fork_and_reap() > 0;
    long flags = fcntl(2, F_GETFL);
    dprintf(1, "final_fork=%d stderr_nonblock=%d\n", final, flags >= 0 && (flags & O_NONBLOCK) ? 1 : 0);
    close(fd);
}

#include <dirent.h>

/* The descriptors past 0-2 open now, but the listing's own. */
static int others_open(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.' && atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d)) n++;
    closedir(d);
    return n;
}

static void fdbudget(const char *self)
{
    print_value("fds_at_start", others_open());
    close(open("/dev/null", O_RDONLY)); /* an opening site: the first stack unwound */
    print_value("fds_after_open", others_open());
    fork_and_reap();
    print_value("fds_after_fork", others_open());
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {6, 6};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(3);
        execl(self, self, "opens6", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancel_cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t cancel_waiting;

static struct gate cancel_in_cleanup, cancel_may_end;

static void cancelled_cleanup(void *arg)
{
    (void)arg;
    gate_open(&cancel_in_cleanup); /* holding cancel_lock, retaken by glibc */
    gate_wait(&cancel_may_end);
}

static void *cancelled_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cancel_lock);
    pthread_barrier_wait(&cancel_waiting);
    pthread_cleanup_push(cancelled_cleanup, NULL);
    for (;;) pthread_cond_wait(&cancel_cond, &cancel_lock); /* cancelled here */
    pthread_cleanup_pop(0);
    return NULL;
}

static void cancelled(void)
{
    pthread_t t;
    pthread_barrier_init(&cancel_waiting, NULL, 2);
    gate_init(&cancel_in_cleanup);
    gate_init(&cancel_may_end);
    pthread_create(&t, NULL, cancelled_waiter, NULL);
    pthread_barrier_wait(&cancel_waiting);
    pthread_mutex_lock(&cancel_lock); /* the waiter is inside pthread_cond_wait */
    pthread_mutex_unlock(&cancel_lock);
    pthread_cancel(t);
    gate_wait(&cancel_in_cleanup);
    fork_and_reap();
    gate_open(&cancel_may_end);
    pthread_join(t, NULL);
    int busy = pthread_mutex_trylock(&cancel_lock) != 0;
    print_value("lock_still_held", busy);
}

static void opens6(void)
{
    int opens = 0;
    while (open("/dev/null", O_RDONLY) >= 0) opens++;
    print_value("opens_under_6", opens);
}

static void reopened(const char *dir)
{
    close(0);
    close(1);
    close(2);
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/data%d", dir, i);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
        if (fd != i) exit(5);
        dprintf(fd, "data%d\n", i);
    }
    int extra = open("/dev/null", O_RDONLY); /* inherited by every child: fds-at-fork */
    for (int i = 0; i < 5; i++) fork_and_reap();
    close(extra);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "fsize") == 0) fsize();
    else if (strcmp(mode, "exitcode") == 0) exitcode();
    else if (strcmp(mode, "raise") == 0 && argc > 2) raise_default(atoi(argv[2]));
    else if (strcmp(mode, "echo") == 0) printf("ok\n");
    else if (strcmp(mode, "reopened") == 0 && argc > 2) reopened(argv[2]);
    else if (strcmp(mode, "fdbudget") == 0) fdbudget(argv[0]);
    else if (strcmp(mode, "opens6") == 0) opens6();
    else if (strcmp(mode, "cancelled") == 0) cancelled();
    else if (strcmp(mode, "pipelog") == 0 && argc > 2) pipelog(atoi(argv[2]), argc > 3 && strcmp(argv[3], "wait") == 0);
    else if (strcmp(mode, "concurrent") == 0 && argc > 3) concurrent(atoi(argv[2]), atoi(argv[3]));
    else return 2;
    return 0;
}
