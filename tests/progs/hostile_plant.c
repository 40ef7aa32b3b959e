/* Plants something at the exact path this process's log file will have (the last log_path
 * of FORKAUDIT_OPTIONS, %p or ".<pid>" expanded with our pid), then execs argv[2...] in
 * the same process, so the auditor meets it when it opens its log. argv[1]:
 *   symlink:TARGET  a symbolic link to TARGET
 *   foreign         a file holding "not yours\n" that belongs to uid 65534 (needs root)
 *   fifo            a named pipe without reader */
#include "progs.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static int log_path(char *out, size_t cap)
{
    const char *opts = getenv("FORKAUDIT_OPTIONS"), *p, *last = NULL;
    for (p = opts; p && (p = strstr(p, "log_path=")) != NULL; p++) last = p + strlen("log_path=");
    if (!last) return -1;
    size_t n = 0;
    int had_pid = 0;
    for (p = last; *p && *p != ':' && n + 16 < cap; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            n += (size_t)snprintf(out + n, cap - n, "%d", (int)getpid());
            had_pid = 1;
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
    if (!had_pid) snprintf(out + n, cap - n, ".%d", (int)getpid());
    return 0;
}

int main(int argc, char **argv)
{
    char path[1200];
    if (argc < 3 || log_path(path, sizeof path) != 0) return 2;
    if (strncmp(argv[1], "symlink:", 8) == 0) {
        if (symlink(argv[1] + 8, path) != 0) return 3;
    } else if (strcmp(argv[1], "foreign") == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "not yours\n", 10) != 10 || fchown(fd, 65534, 65534) != 0) return 3;
        close(fd);
    } else if (strcmp(argv[1], "fifo") == 0) {
        if (mkfifo(path, 0600) != 0) return 3;
    } else {
        return 2;
    }
    execv(argv[2], argv + 2);
    return 127;
}
