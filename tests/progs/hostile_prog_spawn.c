/* A thousand vfork+execs and a thousand posix_spawns, then system() and popen() a few
 * times. argv[1] is unused ("spawn"), argv[2] the file for facts that differ between runs.
 * The program's descriptors are close-on-exec, except:
 *   - a warm-up posix_spawn with a leaking /dev/null and pipe (the auditor's log, if any,
 *     is open after it, so the counts before and after the loops compare like with like);
 *   - the vfork loop runs with those descriptors leaking (a vfork child's exec is never
 *     audited: it shares the parent's memory);
 *   - one posix_spawn in the middle of the loop (LEAKY_AT) leaks them again, with a file
 *     action closing the pipe's write end.
 * stdout counts the children that exited as expected and says whether the number of the
 * program's descriptors is the same after the loops as before. */
#include "progs.h"

#include <dirent.h>
#include <spawn.h>
#include <string.h>

#define LOOPS 1000
#define LEAKY_AT 500

extern char **environ;

static int devnull, pipe_fd[2];

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

static void set_leaking(int leak)
{
    int fds[] = {devnull, pipe_fd[0], pipe_fd[1]};
    for (int i = 0; i < 3; i++) fcntl(fds[i], F_SETFD, leak ? 0 : FD_CLOEXEC);
}

static int reaped_ok(pid_t pid, int rc)
{
    int status = -1;
    if (rc != 0 || waitpid(pid, &status, 0) != pid) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* posix_spawn of /bin/true, or posix_spawnp of "true"; with file actions when asked. */
static int spawn_true(int with_actions, int search, int close_fd)
{
    char *argv[] = {"true", NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (close_fd >= 0) posix_spawn_file_actions_addclose(&actions, close_fd);
    if (with_actions) {
        posix_spawn_file_actions_addopen(&actions, 9, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, 9, 0);
        posix_spawn_file_actions_addclose(&actions, 9);
    }
    pid_t pid = -1;
    int rc = search ? posix_spawnp(&pid, "true", &actions, NULL, argv, environ)
                    : posix_spawn(&pid, "/bin/true", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    return reaped_ok(pid, rc);
}

static int vfork_exec_true(void)
{
    char *argv[] = {"true", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve("/bin/true", argv, environ);
        _exit(127);
    }
    return reaped_ok(pid, pid > 0 ? 0 : -1);
}

static void leaky_spawn(int i)
{
    set_leaking(1);
    int ok = spawn_true(1, 0, pipe_fd[1]);
    set_leaking(0);
    print_fact(i < 0 ? "warmup_ok" : "leaky_ok", ok);
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    fact_file_open(argv[2]);
    print_fact("main", getpid());
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe2(pipe_fd, O_CLOEXEC) != 0) return 1;
    print_fact("devnull", devnull);
    print_fact("pipe_r", pipe_fd[0]);
    print_fact("pipe_w", pipe_fd[1]);
    leaky_spawn(-1);

    int before = count_fds();
    int vforks = 0, spawns = 0;
    set_leaking(1);
    for (int i = 0; i < LOOPS; i++) vforks += vfork_exec_true();
    set_leaking(0);
    for (int i = 0; i < LOOPS; i++) {
        if (i == LEAKY_AT) leaky_spawn(i);
        spawns += spawn_true(i % 2, i % 3 == 0, -1);
    }
    int systems = 0;
    for (int i = 0; i < 3; i++) {
        int status = system("exit 3");
        systems += WIFEXITED(status) && WEXITSTATUS(status) == 3;
    }
    int popens = 0;
    for (int i = 0; i < 3; i++) {
        FILE *f = popen("echo popen-ok", "r");
        char line[64] = "";
        if (!f) continue;
        if (fgets(line, sizeof line, f) && strcmp(line, "popen-ok\n") == 0) popens++;
        if (pclose(f) != 0) popens--;
    }
    int after = count_fds();
    print_value("vfork_exec_ok", vforks);
    print_value("spawn_ok", spawns);
    print_value("system_ok", systems);
    print_value("popen_ok", popens);
    print_value("fd_count_unchanged", before == after);
    print_fact("fds_before", before);
    print_fact("fds_after", after);
    return 0;
}
