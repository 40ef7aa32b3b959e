/* make install into a temporary DESTDIR: library, launcher, header (and man pages, and
 * the launcher's modules, when there are some); the installed launcher finds the
 * installed library; make uninstall removes it all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char dest[] = "/tmp/forkaudit-install.XXXXXX";

static int make(const char *target)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "make -s -C '%s' %s PREFIX=/usr/local DESTDIR='%s' >/dev/null", FA_SOURCE_DIR, target, dest);
    return system(cmd);
}

static int exists(const char *rel)
{
    char path[600];
    snprintf(path, sizeof path, "%s/usr/local/%s", dest, rel);
    return access(path, F_OK) == 0;
}

static void installs_runs_and_uninstalls(void **state)
{
    (void)state;
    if (getenv("FORKAUDIT_TEST_PRELOAD")) {
        /* The installed launcher preloads only the library; a sanitizer runtime must come
         * first in LD_PRELOAD, so the sanitized test programs cannot run under it. */
        print_message("SKIPPED: under check-asan (the installed launcher does not preload the sanitizer)\n");
        skip();
    }
    assert_non_null(mkdtemp(dest));
    assert_int_equal(make("install"), 0);
    assert_true(exists("lib/forkaudit/libforkaudit.so"));
    assert_true(exists("bin/forkaudit"));
    assert_true(exists("include/forkaudit.h"));

    /* the installed launcher, away from the source tree, finds the installed library */
    char cmd[1200], out[4096] = "";
    snprintf(cmd, sizeof cmd, "cd / && FORKAUDIT_LIB= '%s/usr/local/bin/forkaudit' --run-dir '%s/run' -- '%s' 2>&1",
             dest, dest, fa_build_path("tests/progs/lock_held_by_worker"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    pclose(p);
    if (!strstr(out, "lock-held-at-fork")) fail_msg("the installed launcher did not audit: %s", out);
    assert_null(strstr(out, "not found"));

    assert_int_equal(make("uninstall"), 0);
    assert_false(exists("lib/forkaudit/libforkaudit.so"));
    assert_false(exists("bin/forkaudit"));
    assert_false(exists("include/forkaudit.h"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dest);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(installs_runs_and_uninstalls)};
    return cmocka_run_group_tests_name("install", tests, NULL, NULL);
}
