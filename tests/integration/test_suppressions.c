/* Integration tests of suppressions (kind:pattern rules, the rule a report suggests, the
 * at-exit note of rules used) and of exitcode. */
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

static char rules_path[] = "/tmp/forkaudit-supp.XXXXXX";

static void write_rules(const char *text)
{
    int fd = mkstemp(rules_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void run_worker(struct fa_run *r, const char *options)
{
    const char *argv[] = {fa_build_path("tests/progs/lock_held_by_worker"), NULL};
    assert_int_equal(fa_run_audited(r, argv, options, 20), 0);
    assert_false(r->timed_out);
}

static void reports_suggest_the_rule_that_silences_them(void **state)
{
    (void)state;
    struct fa_run r;
    run_worker(&r, NULL);
    json_t *lock = fa_find_kind(r.records, "lock-held-at-fork", 0);
    assert_string_equal(fa_str(lock, "suppression"), "lock-held-at-fork:hold_in_worker");
    json_t *thread = json_array_get(json_object_get(fa_find_kind(r.records, "threads-at-fork", 0), "threads"), 0);
    /* A sanitizer preloaded first (check-asan) wraps start routines in its own. */
    if (!getenv("FORKAUDIT_TEST_PRELOAD"))
        assert_string_equal(fa_str(thread, "suppression"), "threads-at-fork:worker_main");
    fa_run_free(&r);
}

static void matching_rules_silence_findings_and_are_counted(void **state)
{
    (void)state;
    /* A sanitizer preloaded first (check-asan) makes its own function every thread's start routine. */
    const char *thread_rule =
        getenv("FORKAUDIT_TEST_PRELOAD") ? "threads-at-fork:asan_thread_start" : "threads-at-fork:worker_main";
    char rules[400];
    snprintf(rules, sizeof rules,
             "# third-party locks we cannot fix\n"
             "lock-held-at-fork:hold_in_*\n"
             "\n"
             "%s\n"
             "rng-at-fork:no_such_function\n",
             thread_rule);
    write_rules(rules);
    char options[300];
    snprintf(options, sizeof options, "suppressions=%s", rules_path);
    struct fa_run r;
    run_worker(&r, options);
    assert_int_equal(r.status, 0);
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 0);
    assert_int_equal(fa_count_kind(r.records, "threads-at-fork"), 0);
    /* the fds of the program (its pipe) are still reported: no rule names them */
    assert_int_equal(fa_count_kind(r.records, "fds-at-fork"), 1);
    /* at exit: the rules that matched, how often; the unused one is not listed */
    json_t *used = json_object_get(fa_find_kind(r.records, "suppressions", 0), "suppressions");
    assert_int_equal(json_array_size(used), 2);
    assert_string_equal(fa_str(json_array_get(used, 0), "rule"), "lock-held-at-fork:hold_in_*");
    assert_int_equal(fa_int(json_array_get(used, 0), "hits"), 1);
    assert_string_equal(fa_str(json_array_get(used, 1), "rule"), thread_rule);
    fa_run_free(&r);
    unlink(rules_path);
}

static void descriptors_are_matched_by_target(void **state)
{
    (void)state;
    strcpy(rules_path, "/tmp/forkaudit-supp.XXXXXX");
    write_rules("fds-at-fork:pipe:[*]\n");
    char options[300];
    snprintf(options, sizeof options, "suppressions=%s", rules_path);
    struct fa_run r;
    run_worker(&r, options);
    assert_int_equal(fa_count_kind(r.records, "fds-at-fork"), 0); /* its only fds are pipes */
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 1);
    fa_run_free(&r);
    unlink(rules_path);
}

static void bad_rules_are_named_with_their_line(void **state)
{
    (void)state;
    strcpy(rules_path, "/tmp/forkaudit-supp.XXXXXX");
    write_rules("lock-held-at-fork:ok\nno colon here\n");
    char options[300];
    snprintf(options, sizeof options, "suppressions=%s", rules_path);
    struct fa_run r;
    run_worker(&r, options);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "line 2: expected kind:pattern"));
    fa_run_free(&r);
    unlink(rules_path);
}

static void exitcode_is_the_status_of_a_process_that_reported_an_error(void **state)
{
    (void)state;
    struct fa_run r;
    run_worker(&r, "exitcode=7");
    assert_int_equal(r.status, 7);
    fa_run_free(&r);
    /* no error (clean program): the program's own status */
    const char *argv[] = {fa_build_path("tests/progs/clean_single"), NULL};
    assert_int_equal(fa_run_audited(&r, argv, "exitcode=7", 20), 0);
    assert_int_equal(r.status, 0);
    fa_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reports_suggest_the_rule_that_silences_them),
        cmocka_unit_test(matching_rules_silence_findings_and_are_counted),
        cmocka_unit_test(descriptors_are_matched_by_target),
        cmocka_unit_test(bad_rules_are_named_with_their_line),
        cmocka_unit_test(exitcode_is_the_status_of_a_process_that_reported_an_error),
    };
    return cmocka_run_group_tests_name("suppressions and exitcode", tests, NULL, NULL);
}
