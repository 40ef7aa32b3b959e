/* A process with 20,000 open descriptors forks; the child execs /bin/true with all of
 * them (none is close-on-exec), the parent reaps it. The soft RLIMIT_NOFILE is raised to
 * the hard one (as root, the hard one too, if it is below what is needed); when fewer
 * descriptors are possible, the program opens as many as it may (leaving room for the
 * auditor's and the runtime's own) and prints the number.
 * With argument "tight", it forks once first (the child exits at once), then limits its
 * address space to what it uses plus 384 KiB before the fork that execs: a tool that
 * needs memory to report must then make do with what it already has. "tight-first"
 * limits it before that first fork. */
#include "progs.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define WANTED 20000
#define SPARE 64 /* stdio, the auditor's log and pipe, the loader */

/* noinline and named: the opening sites the records show. Two sites taking turns, so
 * that no descriptor's site is the one of the descriptor before it (text reports say
 * "at the same place as fd N" then): the records are as large as they can get. */
static __attribute__((noinline)) int open_even(void) { return open("/dev/null", O_RDONLY); }
static __attribute__((noinline)) int open_odd(void) { return open("/dev/null", O_RDONLY); }

static __attribute__((noinline)) int open_many(int n)
{
    for (int i = 0; i < n; i++)
        if ((i % 2 ? open_odd() : open_even()) < 0) return i;
    return n;
}

/* The address space in use now (VmSize), in bytes; 0 when unknown. */
static long vm_size(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    const char *p = strstr(buf, "VmSize:");
    return p ? atol(p + 7) * 1024 : 0;
}

/* Limits the address space to what is in use now plus 384 KiB; 0 on failure. */
static int limit_address_space(void)
{
    long used = vm_size();
    struct rlimit as = {(rlim_t)used + 384 * 1024, RLIM_INFINITY};
    if (used == 0 || setrlimit(RLIMIT_AS, &as) != 0) return 0;
    print_value("address_space_limited", 1);
    return 1;
}

int main(int argc, char **argv)
{
    int tight = argc > 1 && strcmp(argv[1], "tight") == 0;
    int tight_first = argc > 1 && strcmp(argv[1], "tight-first") == 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < WANTED + SPARE) {
        struct rlimit more = {WANTED + SPARE, WANTED + SPARE};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0) rl = more; /* root may */
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 1;
    long room = rl.rlim_cur == RLIM_INFINITY ? WANTED : (long)rl.rlim_cur - SPARE;
    int n = room < WANTED ? (int)room : WANTED;
    int opened = open_many(n);
    print_value("fds", opened);
    if (opened != n) return 1;

    if (tight || tight_first) {
        if (tight_first && !limit_address_space()) return 1;
        pid_t first = fork();
        if (first == 0) _exit(0);
        if (first < 0 || waitpid(first, NULL, 0) != first) return 1;
        if (tight && !limit_address_space()) return 1;
    }
    pid_t pid = timed_fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        static const char msg[] = "child execs /bin/true\n";
        if (write(1, msg, strlen(msg)) < 0) _exit(1);
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 1;
    /* For measuring only (the tests compare outputs, which must not vary): fork latency. */
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
