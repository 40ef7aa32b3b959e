/* Integration tests of the held-lock sets under races: a fork reading another thread's
 * set while it changes, a signal handler locking inside the lock wrappers, and the
 * releases that must not count as those of untracked locks. */
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

#define DEADLINE 120

static void run(struct fa_run *r, const char *prog, const char *arg, const char *options)
{
    const char *argv[] = {fa_build_path(prog), arg, NULL};
    assert_int_equal(fa_run_audited(r, argv, options, DEADLINE), 0);
    assert_false(r->timed_out);
    assert_int_equal(r->status, 0);
}

/* The lock-held-at-fork records whose lock is at `addr`. */
static int records_naming(json_t *records, long addr)
{
    int found = 0;
    json_t *rec;
    for (int i = 0; (rec = fa_find_kind(records, "lock-held-at-fork", i)) != NULL; i++) {
        const char *a = fa_str(json_object_get(rec, "lock"), "addr");
        if (a && strtoul(a, NULL, 16) == (unsigned long)addr) found++;
    }
    return found;
}

/* 2000 forks while a worker holding 63 locks keeps releasing its newest and trying a lock
 * that always fails: the failed lock's entry, written where the released one was, is
 * never reported (it was, by about one fork in 200). The worker's long-held locks are
 * suppressed to keep the log small. */
static void a_lock_never_acquired_is_never_reported(void **state)
{
    (void)state;
    char rules[] = "/tmp/fa-held-races-XXXXXX";
    int fd = mkstemp(rules);
    assert_true(fd >= 0);
    const char rule[] = "lock-held-at-fork:take_base_locks\n";
    assert_int_equal(write(fd, rule, sizeof rule - 1), (long)sizeof rule - 1);
    close(fd);
    char options[128];
    snprintf(options, sizeof options, "suppressions=%s", rules);
    struct fa_run r;
    run(&r, "tests/progs/held_unacquired_lock", "2000", options);
    unlink(rules);
    assert_int_equal(fa_out_value(&r, "robust_rc"), 131 /* ENOTRECOVERABLE */);
    assert_int_equal(fa_out_value(&r, "worker_lock_failures_seen"), 1);
    json_t *note = fa_find_kind(r.records, "suppressions", 0);
    assert_non_null(note); /* the worker's locks were seen, and suppressed */
    assert_int_equal(records_naming(r.records, fa_out_value(&r, "robust_addr")), 0);
    fa_run_free(&r);
}

/* Whichever wrapper the handler interrupts, nothing is recorded held once both locks are
 * released. */
static void check_handler_lock_left_nothing(const char *how)
{
    struct fa_run r;
    run(&r, "tests/progs/held_signal_handler_lock", how, NULL);
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 0);
    fa_run_free(&r);
}
static void signal_handler_lock_during_trylock_leaves_nothing_held(void **state)
{
    (void)state;
    check_handler_lock_left_nothing("trylock");
}
static void signal_handler_lock_during_lock_leaves_nothing_held(void **state)
{
    (void)state;
    check_handler_lock_left_nothing("lock");
}
static void signal_handler_lock_during_timedlock_leaves_nothing_held(void **state)
{
    (void)state;
    check_handler_lock_left_nothing("timedlock");
}

/* Both forks say the 6 locks past the set are untracked: the auditor's own unlocks and
 * those of prepare-handler locks the set did not keep do not count them down. */
static void check_untracked_counted_at_both_forks(const char *arg)
{
    struct fa_run r;
    run(&r, "tests/progs/held_overflow_unlocks", arg, "verbosity=1");
    assert_int_equal(fa_count_kind(r.records, "fork"), 2);
    for (int i = 0; i < 2; i++) assert_int_equal(fa_int(fa_find_kind(r.records, "fork", i), "locks_untracked"), 6);
    fa_run_free(&r);
}
static void auditor_unlocks_keep_the_untracked_count(void **state)
{
    (void)state;
    check_untracked_counted_at_both_forks("plain");
}
static void prepare_handler_unlocks_keep_the_untracked_count(void **state)
{
    (void)state;
    check_untracked_counted_at_both_forks("atfork");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_lock_never_acquired_is_never_reported),
        cmocka_unit_test(signal_handler_lock_during_trylock_leaves_nothing_held),
        cmocka_unit_test(signal_handler_lock_during_lock_leaves_nothing_held),
        cmocka_unit_test(signal_handler_lock_during_timedlock_leaves_nothing_held),
        cmocka_unit_test(auditor_unlocks_keep_the_untracked_count),
        cmocka_unit_test(prepare_handler_unlocks_keep_the_untracked_count),
    };
    return cmocka_run_group_tests_name("held-lock races", tests, NULL, NULL);
}
