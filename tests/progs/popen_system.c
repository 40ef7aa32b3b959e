/* Descriptors leaking through popen() and system(): a file opened without close-on-exec
 * (in open_config) and a close-on-exec pipe, then popen("exit 0") in run_popen and
 * system("exit 0") in run_system. Expected: one fds-leaked-at-exec each, by this process,
 * via popen / system, exec path /bin/sh, listing the file with its opening site, the
 * stack naming the caller; none from the shells. argv[1]: a directory for the file. */
#include "progs.h"

static int open_config(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config.txt", dir);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
}

__attribute__((noinline)) static int run_popen(void)
{
    FILE *f = popen("exit 0", "r");
    return f ? pclose(f) : -1;
}

__attribute__((noinline)) static int run_system(void) { return system("exit 0"); }

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    int fd = open_config(argv[1]);
    int p[2];
    if (fd < 0 || pipe2(p, O_CLOEXEC) != 0) return 1;
    print_value("config_fd", fd);
    print_value("popen_status", run_popen());
    print_value("system_status", run_system());
    return 0;
}
