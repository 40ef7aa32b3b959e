/* The library exports only the interposed functions and the public API: nm -D lists every
 * defined dynamic symbol, and each must be on this list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static const char *const allowed[] = {
    /* public API (include/forkaudit.h) */
    "forkaudit_version",
    /* pthread */
    "pthread_mutex_lock", "pthread_mutex_trylock", "pthread_mutex_timedlock", "pthread_mutex_clocklock",
    "pthread_mutex_unlock", "pthread_mutex_init", "pthread_mutex_destroy", "pthread_cond_wait",
    "pthread_cond_timedwait", "pthread_cond_clockwait", "pthread_create",
    /* other lock kinds */
    "pthread_rwlock_rdlock", "pthread_rwlock_tryrdlock", "pthread_rwlock_timedrdlock", "pthread_rwlock_clockrdlock",
    "pthread_rwlock_wrlock", "pthread_rwlock_trywrlock", "pthread_rwlock_timedwrlock", "pthread_rwlock_clockwrlock",
    "pthread_rwlock_unlock", "pthread_rwlock_init", "pthread_rwlock_destroy", "pthread_spin_lock",
    "pthread_spin_trylock", "pthread_spin_unlock", "pthread_spin_init", "pthread_spin_destroy", "sem_init",
    "sem_destroy", "sem_wait", "sem_trywait", "sem_timedwait", "sem_clockwait", "sem_post", "mtx_lock",
    "mtx_trylock", "mtx_timedlock", "mtx_unlock",
    /* fork */
    "fork", "__register_atfork", "dlclose",
    /* descriptors */
    "open", "open64", "openat", "openat64", "__open_2", "__open64_2", "__openat_2", "__openat64_2", "creat",
    "creat64", "socket", "socketpair", "pipe", "pipe2", "dup", "dup2", "dup3", "accept", "accept4", "fopen",
    "fopen64", "close",
    /* random numbers */
    "srand", "srandom", "initstate", "rand", "random", "srand48", "seed48", "lcong48", "drand48", "lrand48",
    "mrand48",
    /* exec (vfork stays unwrapped) */
    "execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle", "fexecve", "execveat", "posix_spawn",
    "posix_spawnp",
};

static int is_allowed(const char *name)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(allowed[i], name) == 0) return 1;
    return 0;
}

static void only_interposers_and_api_are_exported(void **state)
{
    (void)state;
    char cmd[600], line[300];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", fa_build_path("libforkaudit.so"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int count = 0, has_fork = 0;
    while (fgets(line, sizeof line, p)) {
        char addr[40], type[4], name[200];
        if (sscanf(line, "%39s %3s %199s", addr, type, name) != 3) continue;
        if (!is_allowed(name)) fail_msg("unexpected export: %s", name);
        /* no symbol under a version node of ours: versioned references must bind to us */
        assert_null(strchr(name, '@'));
        has_fork |= strcmp(name, "fork") == 0;
        count++;
    }
    assert_int_equal(pclose(p), 0);
    assert_true(has_fork);
    assert_int_equal(count, (int)(sizeof allowed / sizeof allowed[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(only_interposers_and_api_are_exported)};
    return cmocka_run_group_tests_name("exported symbols", tests, NULL, NULL);
}
