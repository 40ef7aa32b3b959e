/* A fork storm: argv[1] fork/_exit/wait cycles after a warm-up, with a descriptor that is
 * not close-on-exec open all along, so every fork has an fds-at-fork finding. The parent's
 * descriptor count and memory are measured after the warm-up and at the end and written to
 * the file argv[2] (they differ with and without the auditor, so not on stdout, which must
 * not); stdout gets only what is the same in both runs. */
#include "progs.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>

#define WARM_UP 50

static long count_fds(void)
{
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* A "Key:   N kB" line of /proc/self/status, in kB. */
static long status_kb(const char *key)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    const char *p = strstr(buf, key);
    return p ? strtol(p + strlen(key) + 1, NULL, 10) : -1;
}

static void cycles(long n)
{
    for (long i = 0; i < n; i++)
        if (fork_and_reap() < 0) exit(3);
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    long n = strtol(argv[1], NULL, 10);
    int kept = open("/dev/null", O_RDONLY); /* inherited by every child: the finding */
    if (kept < 0) return 1;
    cycles(WARM_UP);
    long fds0 = count_fds(), size0 = status_kb("VmSize:"), rss0 = status_kb("VmRSS:");
    cycles(n);
    long fds1 = count_fds(), size1 = status_kb("VmSize:"), rss1 = status_kb("VmRSS:");
    FILE *f = fopen(argv[2], "w");
    if (!f) return 1;
    fprintf(f, "fds_before=%ld\nfds_after=%ld\nvmsize_before=%ld\nvmsize_after=%ld\nvmrss_before=%ld\nvmrss_after=%ld\n",
            fds0, fds1, size0, size1, rss0, rss1);
    fclose(f);
    print_value("forks", WARM_UP + n);
    return 0;
}
