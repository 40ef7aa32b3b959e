/* compare.c: `make bench` driver. Runs each workload scenario plain, with an empty
 * preloaded library and with the auditor preloaded, and prints the median times and the
 * overhead ratios against the targets. A report, not a test: it exits 0 when a target is
 * missed, and 1 only when a workload cannot be run.
 *
 * Usage: compare LIBFORKAUDIT EMPTY_SO WORKLOAD [EMPTY_UNWIND_SO]
 *   EMPTY_UNWIND_SO, if given, is an empty library linked against libunwind (as the
 *   auditor is): a fourth configuration that shows what loading libunwind costs alone.
 * Env: BENCH_ROUNDS (default 7) rounds; the configurations are interleaved within each
 *   round so that drift in machine speed hits all of them alike. */
#include <dirent.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROUNDS 101

struct config {
    const char *name;
    const char *preload; /* absolute path, or NULL for none */
    int audited;         /* set FORKAUDIT_OPTIONS */
};

static const struct scenario {
    const char *mode;
    double target; /* audited/plain must be at most this */
} scenarios[] = {{"lockpair", 1.5}, {"fork", 1.5}, {"forkheap", 1.05}};

static char log_dir[] = "/tmp/forkaudit-bench.XXXXXX";
static char options[sizeof log_dir + 64];

static void remove_log_dir(void)
{
    DIR *d = opendir(log_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", log_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(log_dir);
}

static void fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "compare: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    remove_log_dir();
    exit(1);
}

/* Runs `workload mode` in configuration c; returns the ns/op it prints. */
static double run(const char *workload, const char *mode, const struct config *c)
{
    int out[2];
    if (pipe(out) != 0) fail("%s failed", "pipe");
    pid_t pid = fork();
    if (pid < 0) fail("%s failed", "fork");
    if (pid == 0) {
        /* Set up the environment in the child itself: the parent's stays untouched. */
        unsetenv("LD_PRELOAD");
        unsetenv("FORKAUDIT_OPTIONS");
        if (c->preload) setenv("LD_PRELOAD", c->preload, 1);
        if (c->audited) setenv("FORKAUDIT_OPTIONS", options, 1);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(workload, workload, mode, (char *)NULL);
        perror("compare: exec");
        _exit(127);
    }
    close(out[1]);
    char buf[128];
    size_t len = 0;
    ssize_t r;
    while ((r = read(out[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)r;
    buf[len] = 0;
    close(out[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("workload %s failed", mode);
    char *end;
    double ns = strtod(buf, &end);
    if (end == buf || ns <= 0) fail("workload printed no time: '%s'", buf);
    return ns;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_machine(void)
{
    cpu_set_t set;
    int ncpu = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    char model[256] = "unknown CPU", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        snprintf(model, sizeof model, "%s", colon + 2);
        model[strcspn(model, "\n")] = 0;
        break;
    }
    if (f) fclose(f);
    struct utsname u;
    int have_uname = uname(&u) == 0;
    printf("machine: nproc %d, %s, kernel %s %s\n", ncpu, model, have_uname ? u.release : "?",
           have_uname ? u.machine : "?");
}

static char *absolute(const char *path)
{
    char *p = realpath(path, NULL);
    if (!p) fail("cannot find %s", path);
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: compare LIBFORKAUDIT EMPTY_SO WORKLOAD [EMPTY_UNWIND_SO]\n");
        return 2;
    }
    int rounds = 7;
    const char *env = getenv("BENCH_ROUNDS");
    if (env && atoi(env) > 0) rounds = atoi(env) < MAX_ROUNDS ? atoi(env) : MAX_ROUNDS;

    if (!mkdtemp(log_dir)) fail("mkdtemp %s failed", log_dir);
    snprintf(options, sizeof options, "format=json:log_path=%s/log.%%p", log_dir);
    /* The loader needs absolute paths: the workload may chdir, and "build/x.so" would be
     * looked up relative to wherever that is. */
    struct config configs[] = {
        {"plain", NULL, 0},
        {"empty", absolute(argv[2]), 0},
        {"unwind", argc == 5 ? absolute(argv[4]) : NULL, 0},
        {"audited", absolute(argv[1]), 1},
    };
    const char *workload = absolute(argv[3]);
    int with_unwind = argc == 5;
    enum { PLAIN, EMPTY, UNWIND, AUDITED, NCONFIGS };

    print_machine();
    printf("median of %d interleaved rounds, ns per operation\n", rounds);
    printf("%-9s %10s %10s", "scenario", "plain", "empty");
    if (with_unwind) printf(" %10s", "unwind");
    printf(" %10s %11s", "audited", "empty/plain");
    if (with_unwind) printf(" %12s", "unwind/plain");
    printf(" %13s %7s %s\n", "audited/plain", "target", "result");
    fflush(stdout);

    for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
        static double v[NCONFIGS][MAX_ROUNDS];
        for (int r = 0; r < rounds; r++)
            for (int c = 0; c < NCONFIGS; c++)
                if (c != UNWIND || with_unwind) v[c][r] = run(workload, scenarios[s].mode, &configs[c]);
        double med[NCONFIGS];
        for (int c = 0; c < NCONFIGS; c++) med[c] = median(v[c], rounds);
        double ratio = med[AUDITED] / med[PLAIN];

        printf("%-9s %10.1f %10.1f", scenarios[s].mode, med[PLAIN], med[EMPTY]);
        if (with_unwind) printf(" %10.1f", med[UNWIND]);
        printf(" %10.1f %11.3f", med[AUDITED], med[EMPTY] / med[PLAIN]);
        if (with_unwind) printf(" %12.3f", med[UNWIND] / med[PLAIN]);
        printf(" %13.3f  <=%.2f %s\n", ratio, scenarios[s].target, ratio <= scenarios[s].target ? "ok" : "MISSED");
        fflush(stdout);
    }
    remove_log_dir();
    return 0;
}
