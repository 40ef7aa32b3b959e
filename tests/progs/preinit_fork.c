/* A fork from the program's .preinit_array, which runs before libc's initialiser has set
 * environ (and initialises the library then): FORKAUDIT_OPTIONS must still be read. The
 * child keeps a descriptor the program opened for writing (a finding), and _exits. */
#include "progs.h"

static void fork_early(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)argv;
    (void)envp;
    int fd = open("/dev/null", O_WRONLY);
    (void)fd;
    pid_t child = fork();
    if (child == 0) _exit(0);
    if (child > 0) waitpid(child, NULL, 0);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **, char **) = fork_early;

int main(void)
{
    print_value("main_ran", 1);
    return 0;
}
