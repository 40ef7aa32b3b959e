/* The library exports only the interposed functions and the public API: nm -D lists every
 * defined dynamic symbol, and each must be on the list made from the library's own tables
 * (track/locks.def, intercept/real.h), and every one of those must be exported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "intercept/real.h"

/* The interposers: every function of a lock family (track/locks.def), every other
 * function intercept/real.h resolves, and the execl* wrappers, which forward to execve's
 * real function (they take variable arguments). */
static const char *const lock_functions[] = {
#define FA_LOCK_FN(ID, role, mode, fn, ver) #fn,
#include "track/locks.def"
};
static const char *const allowed[] = {
    /* public API (include/forkaudit.h) */
    "forkaudit_version",
#define FA_LOCK_FN(ID, role, mode, fn, ver) #fn,
#include "track/locks.def"
#define X(fn, ver) #fn,
    FA_REAL_OTHER_FUNCTIONS(X)
#undef X
    "execl", "execlp", "execle",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int listed(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0) return 1;
    return 0;
}

/* Whether `name` looks like a lock family's function: it starts as one of locks.def's
 * does up to its last '_' ("pthread_mutex_", "sem_", "cnd_", ...). */
static int has_lock_prefix(const char *name)
{
    for (size_t i = 0; i < COUNT(lock_functions); i++) {
        const char *last = strrchr(lock_functions[i], '_');
        size_t n = (size_t)(last - lock_functions[i]) + 1;
        if (strncmp(name, lock_functions[i], n) == 0) return 1;
    }
    return 0;
}

static void only_interposers_and_api_are_exported(void **state)
{
    (void)state;
    char cmd[600], line[300];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", fa_build_path("libforkaudit.so"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char exported[512][200];
    const char *names[512];
    int count = 0, has_fork = 0;
    while (fgets(line, sizeof line, p) && count < 512) {
        char addr[40], type[4], name[200];
        if (sscanf(line, "%39s %3s %199s", addr, type, name) != 3) continue;
        if (!listed(allowed, COUNT(allowed), name)) fail_msg("unexpected export: %s", name);
        /* a lock function interposed outside its family's table escapes the lock matrix */
        if (has_lock_prefix(name) && !listed(lock_functions, COUNT(lock_functions), name))
            fail_msg("%s is exported but not in track/locks.def", name);
        /* no symbol under a version node of ours: versioned references must bind to us */
        assert_null(strchr(name, '@'));
        has_fork |= strcmp(name, "fork") == 0;
        snprintf(exported[count], sizeof exported[count], "%s", name);
        names[count] = exported[count];
        count++;
    }
    assert_int_equal(pclose(p), 0);
    assert_true(has_fork);
    /* and the other way: the tables name no function that is not interposed */
    for (size_t i = 0; i < COUNT(allowed); i++)
        if (!listed(names, (size_t)count, allowed[i]))
            fail_msg("%s is in track/locks.def or intercept/real.h but not exported", allowed[i]);
    assert_int_equal(count, (int)COUNT(allowed));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(only_interposers_and_api_are_exported)};
    return cmocka_run_group_tests_name("exported symbols", tests, NULL, NULL);
}
