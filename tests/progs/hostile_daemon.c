/* A daemon-style program: after a first fork (which makes the auditor open its log), it
 * closes every descriptor from 3 up in the way argv[1] names, moves to "/", opens its own
 * files in the directory argv[2] (not close-on-exec: each fork has a finding) and forks
 * twice; each child appends a line to the program's file. The auditor must never write
 * into those files and must still log every fork.
 *   loop        close() from 3 to RLIMIT_NOFILE (the interposed close)
 *   raw         syscall(SYS_close) from 3 to RLIMIT_NOFILE (unseen by any interposer)
 *   close_range close_range(3, ~0U, 0)
 *   closefrom   closefrom(3) */
#include "progs.h"

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>

static void put(int fd, const char *text)
{
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) exit(4);
}

static int close_all(const char *how)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (strcmp(how, "loop") == 0) {
        for (rlim_t fd = 3; fd < rl.rlim_cur; fd++) close((int)fd);
    } else if (strcmp(how, "raw") == 0) {
        for (rlim_t fd = 3; fd < rl.rlim_cur; fd++) syscall(SYS_close, (int)fd);
    } else if (strcmp(how, "close_range") == 0) {
        if (close_range(3, ~0U, 0) != 0) return -1;
    } else if (strcmp(how, "closefrom") == 0) {
        closefrom(3);
    } else {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    char data_path[512], state_path[512];
    snprintf(data_path, sizeof data_path, "%s/data.txt", argv[2]);
    snprintf(state_path, sizeof state_path, "%s/state.bin", argv[2]);
    int early = open("/dev/null", O_RDONLY); /* the first fork's finding */
    fork_and_reap();
    if (close_all(argv[1]) != 0) return 3;
    if (chdir("/") != 0) return 3;
    (void)early;

    int data = open(data_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    int state = open(state_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    print_value("data_fd", data);
    print_value("state_fd", state);
    put(data, "daemon started\n");
    put(state, "state 0\n");
    for (int i = 1; i <= 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            put(data, i == 1 ? "child 1 ran\n" : "child 2 ran\n");
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        put(data, i == 1 ? "parent after fork 1\n" : "parent after fork 2\n");
    }
    put(state, "state 1\n");
    print_value("done", 1);
    return 0;
}
