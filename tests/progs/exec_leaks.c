/* Descriptors that pass into exec'd programs. argv[1] is a directory to create files in,
 * argv[2] the scenario:
 *   execve, execl  a file opened without O_CLOEXEC, one with it, a pipe without it; a
 *                  forked child execs /bin/true: its record lists the file and the pipe
 *   spawn          the same descriptors; posix_spawn closing the pipe's write end in a
 *                  file action, then posix_spawnp("true") without file actions
 *   clean          close-on-exec descriptors only; a forked child execvp("true")
 *   missing        the leaking descriptors; execve and execvp of programs that do not
 *                  exist: results and errno, and the kernel's own answer (raw syscall)
 *   vfork          the leaking descriptors; a vfork child execs /bin/true, then a fork
 * Prints the facts the test checks as key=N lines. */
#include "progs.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>

extern char **environ;

static int open_leaky_file(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/leak.txt", dir);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
}

static int open_cloexec_file(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/closed.txt", dir);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static void make_leaky_pipe(int p[2])
{
    if (pipe(p) != 0) abort();
}

static void exec_in_child(const char *how)
{
    char *argv[] = {"true", NULL};
    if (strcmp(how, "execl") == 0) execl("/bin/true", "true", (char *)NULL);
    else if (strcmp(how, "clean") == 0) execvp("true", argv);
    else execve("/bin/true", argv, environ);
}

static void fork_exec_and_reap(const char *how)
{
    pid_t pid = fork();
    if (pid == 0) {
        exec_in_child(how);
        _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    print_value("child", pid);
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

static void spawn(int close_fd)
{
    char *argv[] = {"true", NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addclose(&actions, close_fd);
    pid_t pid;
    int status = -1;
    print_value("spawn_rc", posix_spawn(&pid, "/bin/true", &actions, NULL, argv, environ));
    waitpid(pid, &status, 0);
    print_value("spawn_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
    posix_spawn_file_actions_destroy(&actions);
    print_value("spawnp_rc", posix_spawnp(&pid, "true", NULL, NULL, argv, environ));
    waitpid(pid, &status, 0);
    print_value("spawnp_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

static void exec_missing(void)
{
    char *argv[] = {"missing", NULL};
    const char *path = "/nonexistent/forkaudit-missing";
    errno = 4242;
    print_value("execve_rc", execve(path, argv, environ));
    print_value("execve_errno", errno);
    errno = 4242;
    print_value("raw_rc", syscall(SYS_execve, path, argv, environ));
    print_value("raw_errno", errno);
    errno = 4242;
    print_value("execvp_rc", execvp("forkaudit-no-such-program", argv));
    print_value("execvp_errno", errno);
}

static void vfork_exec(void)
{
    // cppcheck-suppress variableScope ; built before vfork: the child may only exec or _exit
    char *argv[] = {"true", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve("/bin/true", argv, environ);
        _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
    print_value("fork_child", fork_and_reap());
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    const char *how = argv[2];
    print_value("main", getpid());
    int closed = open_cloexec_file(argv[1]);
    print_value("cloexec_fd", closed);
    if (strcmp(how, "clean") == 0) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) return 1;
        fork_exec_and_reap(how);
        return 0;
    }
    int leak = open_leaky_file(argv[1]);
    int p[2];
    make_leaky_pipe(p);
    print_value("leak_fd", leak);
    print_value("pipe_r", p[0]);
    print_value("pipe_w", p[1]);
    if (strcmp(how, "spawn") == 0) spawn(p[1]);
    else if (strcmp(how, "missing") == 0) exec_missing();
    else if (strcmp(how, "vfork") == 0) vfork_exec();
    else fork_exec_and_reap(how);
    return 0;
}
