/* make install into a temporary DESTDIR: the library in lib/ (where the dynamic linker
 * looks: LD_PRELOAD=libforkaudit.so after ldconfig), launcher and its modules, header,
 * man pages; the installed launcher finds the installed library; a bare
 * LD_PRELOAD=libforkaudit.so finds it through a loader path; make uninstall removes
 * every file it installed. */
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
    assert_true(exists("lib/libforkaudit.so")); /* a directory of the dynamic linker's */
    assert_true(exists("lib/forkaudit/forkaudit_lib/records.py"));
    assert_true(exists("share/man/man1/forkaudit.1"));
    assert_true(exists("share/man/man7/forkaudit-options.7"));
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

    /* LD_PRELOAD=libforkaudit.so, the bare name users type, finds it in that lib/ (here
     * through LD_LIBRARY_PATH: the staging directory is not in ld.so.cache) */
    snprintf(cmd, sizeof cmd, "cd / && LD_LIBRARY_PATH='%s/usr/local/lib' LD_PRELOAD=libforkaudit.so '%s' 2>&1 >/dev/null",
             dest, fa_build_path("tests/progs/lock_held_by_worker"));
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    pclose(p);
    if (!strstr(out, "lock-held-at-fork")) fail_msg("LD_PRELOAD=libforkaudit.so did not audit: %s", out);

    assert_int_equal(make("uninstall"), 0);
    assert_false(exists("lib/libforkaudit.so"));
    assert_false(exists("lib/forkaudit"));
    assert_false(exists("share/man/man1/forkaudit.1"));
    assert_false(exists("share/man/man7/forkaudit-options.7"));
    assert_false(exists("bin/forkaudit"));
    assert_false(exists("include/forkaudit.h"));
    /* nothing else was left behind: only empty directories remain */
    snprintf(cmd, sizeof cmd, "test -z \"$(find '%s/usr' -type f)\"", dest);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dest);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(installs_runs_and_uninstalls)};
    return cmocka_run_group_tests_name("install", tests, NULL, NULL);
}
