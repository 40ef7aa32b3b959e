/* A typical fork hazard: a background thread writes log lines under a mutex while the
 * main thread forks to run a helper command. At that instant the logger holds the lock,
 * so the child starts with the log mutex locked forever; the log file descriptor (opened
 * without O_CLOEXEC) also leaks into the helper, and the PRNG seeded at start-up is
 * replayed by the child. The child here only execs /bin/true, so it does not hang. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd;
static int logger_busy[2], main_done[2];

static void log_line(const char *text)
{
    pthread_mutex_lock(&log_lock);
    if (write(log_fd, text, strlen(text)) < 0) perror("write");
    /* Still holding the lock: tell main we are mid-write and wait until it has forked
     * (a real logger is simply slow here; the pipes make the demo deterministic). */
    char c = 'x';
    if (write(logger_busy[1], &c, 1) != 1 || read(main_done[0], &c, 1) != 1) abort();
    pthread_mutex_unlock(&log_lock);
}

static void *logger_thread(void *arg)
{
    (void)arg;
    log_line("logger: flushing queued lines\n");
    return NULL;
}

static pid_t run_helper(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/forkaudit-demo.log";
    srand((unsigned)time(NULL));
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log_fd < 0 || pipe(logger_busy) != 0 || pipe(main_done) != 0) return 1;

    pthread_t logger;
    pthread_create(&logger, NULL, logger_thread, NULL);
    char c;
    if (read(logger_busy[0], &c, 1) != 1) return 1;

    pid_t helper = run_helper();
    if (write(main_done[1], "x", 1) != 1) return 1;
    pthread_join(logger, NULL);
    int status;
    waitpid(helper, &status, 0);
    printf("helper exited with %d\n", WEXITSTATUS(status));
    return 0;
}
