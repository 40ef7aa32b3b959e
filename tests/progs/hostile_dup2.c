/* A program that puts a file of its own on the auditor's log descriptor, then forks.
 * argv[1] says how, argv[2] is the directory of its file:
 *   scan      dup2() onto every descriptor whose /proc/self/fd link names a file "log.*"
 *   scan-raw  the same with the raw dup3 system call, which no interposer sees
 *   all       dup2() onto every open descriptor from 3 up
 *   numbers   dup2() onto every number from 3 to 100, open or not, and says how many
 *             calls failed (none without the auditor: it must be none with it)
 *   lowlimit  with `ulimit -n 16` set first, opens three files and says their numbers
 *   refill    closes every descriptor from 3 up (close_range), opens 60 files of ten bytes
 *             each (so its files get the numbers of libunwind's pipe), forks, opens one
 *             more, and says how many of its files were read or written by anyone else
 * Its file must hold only its own lines; every fork must still reach the log. Nothing
 * about the descriptors it found is printed: without the auditor there are none. */
#include "progs.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

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

/* An open from code never unwound before: libunwind validates the memory of new frames
 * through its pipe. */
static __attribute__((noinline)) int open_late(const char *dir, int depth)
{
    if (depth > 0) return open_late(dir, depth - 1) + 0 * depth;
    char path[512];
    snprintf(path, sizeof path, "%s/late", dir);
    return open(path, O_WRONLY | O_CREAT, 0600);
}

/* Files on the numbers of the auditor's descriptors, put there behind its back: nobody but
 * the program may move their offsets or change their sizes. */
static int refill(const char *dir)
{
    enum { FILES = 60 };
    int fds[FILES];
    char path[512];
    snprintf(path, sizeof path, "%s/early", dir);
    if (open(path, O_WRONLY | O_CREAT, 0600) < 0) return 1; /* its opening site is unwound: */
    fork_and_reap(); /* libunwind's pipe exists from now on, and the fork reports the file */
    syscall(SYS_close_range, 3, ~0U, 0);
    for (int i = 0; i < FILES; i++) {
        snprintf(path, sizeof path, "%s/refill%d", dir, i);
        fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fds[i] < 0 || write(fds[i], "0123456789", 10) != 10 || lseek(fds[i], 0, SEEK_SET) != 0) return 1;
    }
    fork_and_reap(); /* descriptors to report: the auditor unwinds the fork's stack */
    if (open_late(dir, 3) < 0) return 1; /* and the opening site's */
    int touched = 0;
    for (int i = 0; i < FILES; i++) {
        struct stat st;
        if (lseek(fds[i], 0, SEEK_CUR) != 0 || fstat(fds[i], &st) != 0 || st.st_size != 10) touched++;
    }
    print_value("files_touched", touched);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    if (strcmp(argv[1], "lowlimit") == 0) return low_limit(argv[2]);
    if (strcmp(argv[1], "refill") == 0) return refill(argv[2]);
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
