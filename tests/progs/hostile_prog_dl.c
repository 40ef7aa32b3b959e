/* Libraries that come and go. argv[1] is unused ("dl"), argv[2] the file for facts that
 * differ between runs. The libraries are found beside the program.
 *  1. CYCLES times: dlopen hostile_atfork_lib.so (its constructor registers atfork
 *     handlers), fork, dlclose it, fork again. More cycles than the auditor has
 *     trampolines for foreign prepare handlers: each dlclose must free its own.
 *  2. dlopen hostile_threads_lib.so, whose constructor starts two threads (one holds a
 *     lock); fork; stop the threads; fork; dlclose; fork.
 * Every fork's child exits 0 unless something crashed it; stdout counts them. */
#include "progs.h"

#include <dlfcn.h>
#include <string.h>

#define CYCLES 100

static char lib_dir[512];

static void *open_lib(const char *name, int flags)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", lib_dir, name);
    return dlopen(path, flags);
}

/* 1 when the child exited with status 0. */
static int fork_checked(void)
{
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void atfork_library_unloaded(void)
{
    int ok = 0, unloaded = 0, prepare_runs = 0, parent_runs = 0;
    for (int c = 0; c < CYCLES; c++) {
        void *lib = open_lib("hostile_atfork_lib.so", RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            dprintf(1, "dlopen: %s\n", dlerror());
            return;
        }
        int (*prepares)(void) = (int (*)(void))dlsym(lib, "hostile_atfork_prepare_runs");
        int (*parents)(void) = (int (*)(void))dlsym(lib, "hostile_atfork_parent_runs");
        ok += fork_checked();
        prepare_runs += prepares();
        parent_runs += parents();
        dlclose(lib);
        void *again = open_lib("hostile_atfork_lib.so", RTLD_NOW | RTLD_NOLOAD);
        if (again) dlclose(again);
        else unloaded++;
        ok += fork_checked(); /* its handlers are unmapped now */
    }
    print_value("atfork_cycles_unloaded", unloaded);
    print_value("atfork_prepare_runs", prepare_runs);
    print_value("atfork_parent_runs", parent_runs);
    print_value("atfork_forks_ok", ok);
}

static void threads_library(void)
{
    void *lib = open_lib("hostile_threads_lib.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        dprintf(1, "dlopen: %s\n", dlerror());
        return;
    }
    long (*tid)(int) = (long (*)(int))dlsym(lib, "hostile_threads_tid");
    void *(*lock)(void) = (void *(*)(void))dlsym(lib, "hostile_threads_lock");
    void (*stop)(void) = (void (*)(void))dlsym(lib, "hostile_threads_stop");
    print_fact("dl_thread0", tid(0));
    print_fact("dl_thread1", tid(1));
    print_fact("dl_lock", (long)lock());
    int ok = fork_checked(); /* two threads of the library, one holding its lock */
    stop();
    ok += fork_checked(); /* none */
    dlclose(lib);
    ok += fork_checked(); /* the library is gone */
    print_value("threads_forks_ok", ok);
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    fact_file_open(argv[2]);
    print_fact("main_tid", my_tid());
    snprintf(lib_dir, sizeof lib_dir, "%s", argv[0]);
    char *slash = strrchr(lib_dir, '/');
    if (slash) *slash = 0;
    else strcpy(lib_dir, ".");
    atfork_library_unloaded();
    threads_library();
    return 0;
}
