/* Forks with a thread and a held lock that a library's constructor made before the
 * auditor's constructor ran (tests/progs/lib/hostile_ctor_lib.c, linked in). argv[1] is
 * unused ("ctor"), argv[2] the file for facts that differ between runs. */
#include "progs.h"

long hostile_ctor_thread_tid(void);
void *hostile_ctor_kept_lock(void);
void *hostile_ctor_brief_lock(void);
void hostile_ctor_release(void);

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    fact_file_open(argv[2]);
    print_fact("main_tid", my_tid());
    print_fact("ctor_thread_tid", hostile_ctor_thread_tid());
    print_fact("kept_lock", (long)hostile_ctor_kept_lock());
    print_fact("brief_lock", (long)hostile_ctor_brief_lock());
    pid_t child = fork();
    if (child == 0) _exit(5);
    int status = 0;
    waitpid(child, &status, 0);
    print_fact("child", child);
    print_value("child_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    hostile_ctor_release();
    /* the lock is free again: a second fork reports neither thread nor lock */
    print_value("second_fork_ok", fork_and_reap() > 0);
    return 0;
}
