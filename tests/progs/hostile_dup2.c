/* A program that puts a file of its own on the auditor's log descriptor, then forks.
 * argv[1] says how, argv[2] is the directory of its file:
 *   scan      dup2() onto every descriptor whose /proc/self/fd link names a file "log.*"
 *   scan-raw  the same with the raw dup3 system call, which no interposer sees
 *   all       dup2() onto every open descriptor from 3 up
 *   numbers   dup2() onto every number from 3 to 100, open or not, and says how many
 *             calls failed (none without the auditor: it must be none with it)
 *   lowlimit  with `ulimit -n 16` set first, opens three files and says their numbers
 * Its file must hold only its own lines; every fork must still reach the log. Nothing
 * about the descriptors it found is printed: without the auditor there are none. */
#include "progs.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>

static void put(int fd, const char *text)
{
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) exit(4);
}

/* Puts `data` on each open descriptor >= 3 (other than itself) that `want` selects. */
static void cover(int data, int raw, int only_logs)
{
    int fds[256], n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) exit(5);
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 256;) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd < 3 || fd == data || fd == dirfd(d)) continue;
        char link[64], target[512];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len < 0) continue;
        target[len] = 0;
        const char *base = strrchr(target, '/');
        if (only_logs && !(base && strncmp(base + 1, "log.", 4) == 0)) continue;
        fds[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        if (raw) syscall(SYS_dup3, data, fds[i], 0);
        else dup2(data, fds[i]); /* the result is ignored, as sloppy code does */
    }
}

/* dup2 onto every number from 3 to 100: the auditor's numbers are given up, not refused. */
static void cover_numbers(int data)
{
    int failures = 0;
    for (int fd = 3; fd <= 100; fd++)
        if (fd != data && dup2(data, fd) != fd) failures++;
    print_value("dup2_failures", failures);
}

/* Under a descriptor limit below the auditor's usual 48, its descriptors go to the top of
 * the range: the program's opens get 3, 4, 5 as without it. */
static int low_limit(const char *dir)
{
    struct rlimit lim = {16, 16};
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return 1;
    char path[512];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/file%d", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char key[16];
        snprintf(key, sizeof key, "fd%d", i);
        print_value(key, fd);
        if (i == 0) fork_and_reap(); /* the auditor opens its log here */
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    if (strcmp(argv[1], "lowlimit") == 0) return low_limit(argv[2]);
    char path[512];
    snprintf(path, sizeof path, "%s/data.txt", argv[2]);
    int data = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (data < 0) return 1;
    put(data, "opened\n");
    fork_and_reap(); /* the auditor opens its log here */
    if (strcmp(argv[1], "scan") == 0) cover(data, 0, 1);
    else if (strcmp(argv[1], "scan-raw") == 0) cover(data, 1, 1);
    else if (strcmp(argv[1], "all") == 0) cover(data, 0, 0);
    else if (strcmp(argv[1], "numbers") == 0) cover_numbers(data);
    else return 2;
    put(data, "covered\n");
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            put(data, "child\n");
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        put(data, "parent\n");
    }
    print_value("done", 1);
    return 0;
}
