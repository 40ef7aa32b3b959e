/* Integration tests of child_watchdog: children of a threaded parent blocked on locks no
 * wrapper sees (a raw futex of the program's own, GLib's GMutex) are reported as
 * child-stuck with the likely culprit; children that compute, sleep or wait on a pipe
 * are not. */
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

#define STUCK_OPTIONS "child_watchdog=1:on_child_stuck=abort"

static void run(struct fa_run *r, const char *prog, const char *mode, const char *options)
{
    const char *argv[] = {fa_build_path(prog), mode, NULL};
    assert_int_equal(fa_run_audited(r, argv, options, 30), 0);
    assert_false(r->timed_out);
    assert_int_equal(r->status, 0);
}

/* The one child-stuck record, written by the child, naming the worker as suspect. */
static json_t *stuck_record(struct fa_run *r)
{
    assert_int_equal(fa_count_kind(r->records, "child-stuck"), 1);
    json_t *rec = fa_find_kind(r->records, "child-stuck", 0);
    assert_string_equal(fa_str(rec, "severity"), "error");
    assert_int_equal(fa_int(rec, "pid"), fa_out_value(r, "child"));
    assert_true(fa_int(rec, "stuck_for_s") >= 1);
    assert_string_equal(fa_str(json_object_get(rec, "wait"), "syscall"), "futex");
    assert_int_equal(fa_int(rec, "suspect_tid"), fa_out_value(r, "worker_tid"));
    assert_non_null(fa_str(rec, "suspect_evidence"));
    assert_string_equal(fa_str(rec, "action"), "abort");
    /* the parent's threads at the fork, with their stacks */
    json_t *threads = json_object_get(rec, "parent_threads");
    assert_int_equal(json_array_size(threads), 1);
    json_t *w = json_array_get(threads, 0);
    assert_int_equal(fa_int(w, "tid"), fa_out_value(r, "worker_tid"));
    assert_true(json_array_size(json_object_get(w, "stack_at_fork")) > 0);
    /* on_child_stuck=abort: the child ended with SIGABRT instead of hanging */
    assert_int_equal(fa_out_value(r, "child_signal"), 6);
    return rec;
}

static void raw_futex_lock_of_a_vanished_thread(void **state)
{
    (void)state;
    struct fa_run r;
    run(&r, "tests/progs/watchdog_children", "futex", STUCK_OPTIONS);
    json_t *rec = stuck_record(&r);
    json_t *stack = json_object_get(rec, "stack");
    assert_true(fa_frames_have(stack, "raw_lock"));
    assert_true(fa_frames_have(stack, "with_lock"));
    /* the worker's stack at the fork was inside with_lock too: the strongest evidence */
    assert_non_null(strstr(fa_str(rec, "suspect_evidence"), "with_lock"));
    assert_true(fa_frames_have(json_object_get(json_array_get(json_object_get(rec, "parent_threads"), 0),
                                               "stack_at_fork"),
                               "with_lock"));
    fa_run_free(&r);
}

static void glib_gmutex_of_a_vanished_thread(void **state)
{
    (void)state;
    if (access(fa_build_path("tests/progs/glib_mutex_fork"), X_OK) != 0) {
        print_message("SKIPPED: GLib not installed (apt-get install libglib2.0-dev), test program not built\n");
        skip();
    }
    struct fa_run r;
    run(&r, "tests/progs/glib_mutex_fork", NULL, STUCK_OPTIONS);
    json_t *rec = stuck_record(&r);
    /* blocked inside GLib: the frame above the futex system call is libglib's */
    json_t *stack = json_object_get(rec, "stack");
    int in_glib = 0;
    size_t i;
    json_t *f;
    json_array_foreach(stack, i, f) if (strstr(fa_str(f, "module"), "libglib-2.0")) in_glib = 1;
    assert_true(in_glib);
    assert_true(fa_frames_have(stack, "main"));
    assert_non_null(strstr(fa_str(rec, "suspect_evidence"), "libglib-2.0"));
    fa_run_free(&r);
}

/* The record size limit every record keeps (README: "A record never passes 4 MiB"). */
#define RECORD_MAX (4 << 20)

/* 400 threads holding 60 mutexes each at the fork, every lock asked for (max_locks): the
 * child's child-stuck record would list 24,000 locks, some 6 MB. It is cut below 4 MiB
 * instead, stays one valid JSON line, and says how many locks it left out. */
static void huge_child_stuck_record_is_cut_below_the_cap(void **state)
{
    (void)state;
    struct fa_run r;
    run(&r, "tests/progs/stuck_child_many_locks", NULL, STUCK_OPTIONS ":max_locks=100000");
    assert_int_equal(fa_out_value(&r, "joined"), 400);
    long locks = fa_out_value(&r, "locks_held");
    assert_int_equal(locks, 400 * 60);
    assert_int_equal(fa_out_value(&r, "child_signal"), 6); /* on_child_stuck=abort */

    /* the child's log: one line, below the cap (the harness parsed it already) */
    char path[600];
    snprintf(path, sizeof path, "%s/log.%ld", r.dir, fa_out_value(&r, "child"));
    char *log = fa_read_file(path);
    size_t len = strlen(log);
    print_message("child-stuck record: %zu bytes\n", len);
    assert_true(len > 0 && len <= RECORD_MAX);
    assert_true(log[len - 1] == '\n' && memchr(log, '\n', len - 1) == NULL);
    free(log);

    assert_int_equal(fa_count_kind(r.records, "child-stuck"), 1);
    json_t *rec = fa_find_kind(r.records, "child-stuck", 0);
    assert_int_equal(fa_int(rec, "pid"), fa_out_value(&r, "child"));
    assert_true(fa_frames_have(json_object_get(rec, "stack"), "wait_forever"));
    /* the locks: as many listed as fit, the rest counted */
    json_t *held = json_object_get(rec, "locks_held_at_fork");
    long listed = (long)json_array_size(held), truncated = fa_int(rec, "locks_held_at_fork_truncated");
    print_message("%ld locks listed, %ld left out\n", listed, truncated);
    assert_true(listed > 0);
    assert_true(truncated > 0);
    assert_null(json_object_get(rec, "locks_held_at_fork_dropped")); /* max_locks let all in */
    assert_int_equal(listed + truncated, locks);
    assert_true(fa_frames_have(json_object_get(json_array_get(held, 0), "acquired_at"), "hold_all"));
    /* the record's end is whole: suggestion and action after the cut list */
    assert_non_null(fa_str(rec, "suppression"));
    assert_string_equal(fa_str(rec, "action"), "abort");
    /* the parent's threads: the 64 a child remembers, the others counted */
    json_t *threads = json_object_get(rec, "parent_threads");
    assert_true(json_array_size(threads) > 0);
    long omitted = fa_int(rec, "parent_threads_omitted"), cut = fa_int(rec, "parent_threads_truncated");
    assert_int_equal((long)json_array_size(threads) + omitted + (cut > 0 ? cut : 0), 400);
    fa_run_free(&r);
}

/* Not stuck: no record, and the child ends normally. (The children take 3 s: checks at
 * 1 s and 3 s find them busy.) */
static void not_stuck(const char *mode)
{
    struct fa_run r;
    run(&r, "tests/progs/watchdog_children", mode, "child_watchdog=1:on_child_stuck=abort");
    assert_int_equal(fa_count_kind(r.records, "child-stuck"), 0);
    assert_int_equal(fa_out_value(&r, "child_exited"), 1);
    assert_int_equal(fa_out_value(&r, "child_status"), 0);
    /* the parent's audit ran as usual */
    assert_non_null(fa_find_kind(r.records, "threads-at-fork", 0));
    fa_run_free(&r);
}

static void computing_child_is_not_stuck(void **state)
{
    (void)state;
    not_stuck("compute");
}

static void sleeping_child_is_not_stuck(void **state)
{
    (void)state;
    not_stuck("sleep");
}

static void child_reading_a_live_pipe_is_not_stuck(void **state)
{
    (void)state;
    not_stuck("read");
}

static void child_polling_a_live_pipe_is_not_stuck(void **state)
{
    (void)state;
    not_stuck("poll");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_futex_lock_of_a_vanished_thread),
        cmocka_unit_test(glib_gmutex_of_a_vanished_thread),
        cmocka_unit_test(huge_child_stuck_record_is_cut_below_the_cap),
        cmocka_unit_test(computing_child_is_not_stuck),
        cmocka_unit_test(sleeping_child_is_not_stuck),
        cmocka_unit_test(child_reading_a_live_pipe_is_not_stuck),
        cmocka_unit_test(child_polling_a_live_pipe_is_not_stuck),
    };
    return cmocka_run_group_tests_name("watchdog", tests, NULL, NULL);
}
