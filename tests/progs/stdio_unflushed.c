/* Output left in C stdio buffers at a fork, written twice: once by the child when it
 * exits, once by the parent (stdio-unflushed-at-fork).
 *   stdio_unflushed pending LOG  printf into stdout (a file under the tests: fully
 *                                buffered), fprintf into a pipe and into the file LOG, no
 *                                newline, no fflush; fork; the child exits. Expected: three
 *                                records, stdout 9 bytes, the pipe 13 bytes (opened by pipe
 *                                in open_pipe), LOG 15 bytes (opened by fopen in open_log),
 *                                all "full"; each text arrives twice (pipe_bytes=26).
 *   stdio_unflushed prompt       stdout is a terminal (a pty): printf("name? ") without
 *                                a newline; fork. Expected: one record, stdout 6 bytes
 *                                "line", a char-device /dev/pts/N.
 *   stdio_unflushed clean LOG    the clean control: stdout a terminal, a whole line
 *                                (flushed by its newline); LOG written and fflush'd; fork.
 *                                Expected: no stdio-unflushed-at-fork record.
 *   stdio_unflushed many         10 streams onto /dev/null, one byte pending in each; fork.
 *                                Expected: 8 records (the most a fork lists), the fork
 *                                note's streams_dropped 2.
 *   stdio_unflushed threaded     a worker opens, writes and closes streams without pause
 *                                while main, with "threaded " in stdout, forks 20 times
 *                                (each child _exits). Expected: 20 stdout records of 9
 *                                bytes; glibc's list read safely while it changes.
 *   stdio_unflushed daemon       printf into stdout, then daemon(1, 1): its parent
 *                                _exits, so only the daemon writes the bytes (once).
 *                                Expected: no record (the fork's note: via "atfork"). */
#include <pty.h>
#include <string.h>

#include "progs.h"

static FILE *open_log(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) exit(2);
    return f;
}

/* A pipe whose write end is a stream (and the read end in *read_end). */
static FILE *open_pipe(int *read_end)
{
    int p[2];
    if (pipe(p) != 0) exit(2);
    *read_end = p[0];
    FILE *f = fdopen(p[1], "w");
    if (!f) exit(2);
    return f;
}

/* stdout onto the slave side of a new pty: glibc makes a terminal stream line-buffered. */
static void stdout_to_terminal(void)
{
    int master, slave;
    if (openpty(&master, &slave, NULL, NULL, NULL) != 0) exit(3);
    dup2(slave, 1);
    close(slave);
    /* master stays open (and unread: the few bytes fit the pty's buffer) */
}

static volatile int churning = 1;
static pthread_barrier_t started;

static void *churn_streams(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&started);
    while (churning) {
        FILE *f = fopen("/dev/null", "w");
        if (!f) continue;
        fputc('y', f);
        fclose(f);
    }
    return NULL;
}

static void fork_child_exits(void)
{
    pid_t pid = fork();
    if (pid == 0) exit(0); /* exit, not _exit: flushes what it inherited */
    if (pid > 0) waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "pending") == 0 && argc > 2) {
        FILE *log = open_log(argv[2]);
        int read_end;
        FILE *to_pipe = open_pipe(&read_end);
        printf("to stdout");
        fprintf(to_pipe, "into the pipe");
        fprintf(log, "to the log file");
        fork_child_exits();
        fclose(log);
        fclose(to_pipe);
        char got[64];
        ssize_t n, total = 0;
        while ((n = read(read_end, got, sizeof got)) > 0) total += n;
        printf("\n");
        fflush(stdout);
        print_value("pipe_bytes", (long)total);
        return 0;
    }
    if (strcmp(mode, "prompt") == 0) {
        stdout_to_terminal();
        printf("name? ");
        fork_child_exits();
        return 0;
    }
    if (strcmp(mode, "clean") == 0 && argc > 2) {
        stdout_to_terminal();
        printf("a whole line\n");
        FILE *log = open_log(argv[2]);
        fprintf(log, "flushed");
        fflush(log);
        fork_child_exits();
        fclose(log);
        return 0;
    }
    if (strcmp(mode, "threaded") == 0) {
        pthread_t worker;
        pthread_barrier_init(&started, NULL, 2);
        pthread_create(&worker, NULL, churn_streams, NULL);
        pthread_barrier_wait(&started);
        printf("threaded ");
        for (int i = 0; i < 20; i++) {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            waitpid(pid, NULL, 0);
        }
        churning = 0;
        pthread_join(worker, NULL);
        printf("\n");
        return 0;
    }
    if (strcmp(mode, "daemon") == 0) {
        printf("before daemon ");
        return daemon(1, 1) != 0;
    }
    if (strcmp(mode, "many") == 0) {
        FILE *many[10];
        for (int i = 0; i < 10; i++) {
            many[i] = open_log("/dev/null");
            fputc('x', many[i]);
        }
        fork_child_exits();
        for (int i = 0; i < 10; i++) fclose(many[i]);
        return 0;
    }
    return 1;
}
