/* Programs that meet the auditor's own limits (issue 14, items 1, 4, 8 and 9):
 *   fsize     sets RLIMIT_FSIZE to 16 KiB and forks 40 times with a descriptor open (a
 *             finding each): the log reaches the limit, the program must not die of SIGXFSZ
 *   exitcode  forks while a worker holds a lock (an error finding), then prints to a
 *             buffered stdout and from an atexit handler: the output must arrive
 *   signals   raises SIGPIPE, SIGTERM, ... with their handlers of its own and prints what
 *             they saw (a signal option the auditor refused must not take them over)
 *   echo      prints "ok" (start-up with a hostile suppressions file) */
#include "progs.h"

#include <signal.h>
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

static volatile sig_atomic_t seen[65];
static void note_signal(int sig) { seen[sig]++; }

static void signals(void)
{
    static const int sigs[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD, SIGALRM, SIGURG, SIGWINCH};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        signal(sigs[i], note_signal);
        kill(getpid(), sigs[i]);
        printf("signal %d seen %d\n", sigs[i], (int)seen[sigs[i]]);
    }
    fork_and_reap(); /* a fork with its audit under the options given */
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "fsize") == 0) fsize();
    else if (strcmp(mode, "exitcode") == 0) exitcode();
    else if (strcmp(mode, "signals") == 0) signals();
    else if (strcmp(mode, "echo") == 0) printf("ok\n");
    else return 2;
    return 0;
}
