/* Integration tests of child-deadlock prediction and of the lock kinds beyond mutexes:
 * tests/progs/child_deadlock runs one scenario per mode; the records are parsed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define ETIMEDOUT_STATUS 110
#define THRD_TIMEDOUT_STATUS 4

/* `mode` may carry a second word, "untimed": the child then waits without a timeout. */
static void run_mode(struct fa_run *r, const char *mode, const char *options)
{
    char first[64];
    snprintf(first, sizeof first, "%s", mode);
    char *second = strchr(first, ' ');
    if (second) *second++ = 0;
    const char *argv[] = {fa_build_path("tests/progs/child_deadlock"), first, second, NULL};
    assert_int_equal(fa_run_audited(r, argv, options, 20), 0);
    assert_false(r->timed_out);
    assert_int_equal(r->status, 0);
}

/* The one child-deadlock record, checked against the scenario. */
static json_t *deadlock_record(struct fa_run *r, const char *type, int holder_gone)
{
    assert_int_equal(fa_count_kind(r->records, "child-deadlock"), 1);
    json_t *rec = fa_find_kind(r->records, "child-deadlock", 0);
    assert_string_equal(fa_str(rec, "severity"), "error");
    assert_int_equal(fa_int(rec, "pid"), fa_out_value(r, "child"));
    assert_int_equal(fa_int(rec, "ppid"), fa_out_value(r, "main_tid"));
    assert_int_equal(fa_int(json_object_get(rec, "fork"), "seq"), 1);
    assert_true(fa_frames_have(json_object_get(rec, "stack"), "child_takes_it"));
    json_t *lock = json_object_get(rec, "lock");
    assert_string_equal(fa_str(lock, "type"), type);
    if (holder_gone) {
        assert_int_equal(fa_int(lock, "holder_tid"), fa_out_value(r, "worker_tid"));
        assert_true(json_is_true(json_object_get(lock, "holder_gone")));
        assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "take_in_worker"));
    } else {
        assert_int_equal(fa_int(lock, "holder_tid"), fa_out_value(r, "main_tid"));
        assert_true(json_is_true(json_object_get(lock, "holder_is_forking_thread")));
        assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "main"));
    }
    return rec;
}

static void mutex_held_by_a_vanished_thread(void **state)
{
    (void)state;
    struct fa_run r;
    run_mode(&r, "mutex-gone", NULL);
    json_t *rec = deadlock_record(&r, "pthread_mutex", 1);
    assert_string_equal(fa_str(rec, "action"), "report");
    /* report: the call went on exactly as asked (here a timed lock that times out) */
    assert_int_equal(fa_out_value(&r, "child_status"), ETIMEDOUT_STATUS);
    /* the parent's own fork record names the same lock */
    json_t *held = fa_find_kind(r.records, "lock-held-at-fork", 0);
    assert_string_equal(fa_str(json_object_get(held, "lock"), "addr"),
                        fa_str(json_object_get(rec, "lock"), "addr"));
    fa_run_free(&r);
}

static void mutex_held_by_the_forking_thread(void **state)
{
    (void)state;
    struct fa_run r;
    run_mode(&r, "mutex-self", NULL);
    deadlock_record(&r, "pthread_mutex", 0);
    assert_int_equal(fa_out_value(&r, "child_status"), ETIMEDOUT_STATUS);
    fa_run_free(&r);
}

static void reinitialised_or_unlocked_first_is_fine(void **state)
{
    (void)state;
    const char *modes[] = {"mutex-reinit", "mutex-unlocked", "rwlock-read"};
    for (int i = 0; i < 3; i++) {
        struct fa_run r;
        run_mode(&r, modes[i], NULL);
        assert_int_equal(fa_count_kind(r.records, "child-deadlock"), 0);
        assert_int_equal(fa_out_value(&r, "child_status"), 0);
        fa_run_free(&r);
    }
}

static void mutex_types(void **state)
{
    (void)state;
    struct fa_run r;
    /* error-checking, held by the forking thread: glibc checks the owner's tid, which is
     * not the child's, so the child's relock blocks (not EDEADLK) and the parent's record
     * is an error (the child cannot unlock it either) */
    run_mode(&r, "errorcheck-self", NULL);
    deadlock_record(&r, "pthread_mutex", 0);
    assert_int_equal(fa_out_value(&r, "child_status"), ETIMEDOUT_STATUS);
    json_t *held_rec = fa_find_kind(r.records, "lock-held-at-fork", 0);
    assert_string_equal(fa_str(held_rec, "severity"), "error");
    assert_string_equal(fa_str(json_object_get(held_rec, "lock"), "mutex_type"), "errorcheck");
    fa_run_free(&r);
    /* robust: its owner vanished at the fork without dying, so nothing marks it dead */
    run_mode(&r, "robust-gone", NULL);
    json_t *rec = deadlock_record(&r, "pthread_mutex", 1);
    assert_true(json_is_true(json_object_get(json_object_get(rec, "lock"), "robust")));
    fa_run_free(&r);
}

static void semaphore_taken_before_the_fork(void **state)
{
    (void)state;
    struct fa_run r;
    run_mode(&r, "sem-self", NULL);
    deadlock_record(&r, "semaphore", 0);
    assert_int_equal(fa_out_value(&r, "child_status"), ETIMEDOUT_STATUS);
    json_t *held = json_object_get(fa_find_kind(r.records, "lock-held-at-fork", 0), "lock");
    assert_string_equal(fa_str(held, "type"), "semaphore");
    fa_run_free(&r);
}

static void rwlock_written_at_fork_blocks_a_reader(void **state)
{
    (void)state;
    struct fa_run r;
    run_mode(&r, "rwlock-write", NULL);
    deadlock_record(&r, "pthread_rwlock", 1);
    json_t *held = json_object_get(fa_find_kind(r.records, "lock-held-at-fork", 0), "lock");
    assert_string_equal(fa_str(held, "type"), "pthread_rwlock");
    assert_string_equal(fa_str(held, "mode"), "write");
    fa_run_free(&r);

    run_mode(&r, "rwlock-read", NULL);
    held = json_object_get(fa_find_kind(r.records, "lock-held-at-fork", 0), "lock");
    assert_string_equal(fa_str(held, "mode"), "read");
    fa_run_free(&r);
}

static void c11_mtx(void **state)
{
    (void)state;
    struct fa_run r;
    run_mode(&r, "mtx-gone", NULL);
    deadlock_record(&r, "mtx", 1);
    assert_int_equal(fa_out_value(&r, "child_status"), THRD_TIMEDOUT_STATUS);
    fa_run_free(&r);
}

static void abort_turns_a_hang_into_a_crash(void **state)
{
    (void)state;
    /* pthread_spin_lock has no timed variant: without abort the child would spin forever */
    struct fa_run r;
    run_mode(&r, "spin-gone", "on_child_deadlock=abort");
    json_t *rec = deadlock_record(&r, "pthread_spinlock", 1);
    assert_string_equal(fa_str(rec, "action"), "abort");
    assert_int_equal(fa_out_value(&r, "child_signal"), 6 /* SIGABRT */);
    fa_run_free(&r);
}

static void exit_n_ends_the_child_with_that_status(void **state)
{
    (void)state;
    struct fa_run r;
    run_mode(&r, "mutex-gone untimed", "on_child_deadlock=exit:42");
    assert_string_equal(fa_str(deadlock_record(&r, "pthread_mutex", 1), "action"), "exit");
    assert_int_equal(fa_out_value(&r, "child_status"), 42);
    fa_run_free(&r);
}

/* A timed wait comes back by itself: reported (as timed), never ended by abort or exit. */
static void timed_waits_are_reported_but_never_ended(void **state)
{
    (void)state;
    static const struct {
        const char *mode, *type;
        int gone;
        long status;
    } cases[] = {
        {"mutex-gone", "pthread_mutex", 1, ETIMEDOUT_STATUS},
        {"sem-self", "semaphore", 0, ETIMEDOUT_STATUS},
        {"rwlock-write", "pthread_rwlock", 1, ETIMEDOUT_STATUS},
        {"mtx-gone", "mtx", 1, THRD_TIMEDOUT_STATUS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fa_run r;
        run_mode(&r, cases[i].mode, "on_child_deadlock=abort");
        json_t *rec = deadlock_record(&r, cases[i].type, cases[i].gone);
        assert_true(json_is_true(json_object_get(rec, "timed")));
        assert_string_equal(fa_str(rec, "action"), "report");
        assert_int_equal(fa_out_value(&r, "child_status"), cases[i].status);
        fa_run_free(&r);
    }
    /* the same wait without a timeout is ended */
    struct fa_run r;
    run_mode(&r, "sem-self untimed", "on_child_deadlock=abort");
    json_t *rec = deadlock_record(&r, "semaphore", 0);
    assert_true(json_is_false(json_object_get(rec, "timed")));
    assert_int_equal(fa_out_value(&r, "child_signal"), 6 /* SIGABRT */);
    fa_run_free(&r);
}

/* Semaphores that are not deadlocks: one the child took itself and another of its threads
 * posts (Python's Event.wait), and one whose record is stale but whose value says free. */
static void semaphores_other_threads_can_post_are_left_alone(void **state)
{
    (void)state;
    const char *modes[] = {"sem-event", "sem-posted"};
    for (size_t i = 0; i < 2; i++) {
        struct fa_run r;
        run_mode(&r, modes[i], "on_child_deadlock=abort");
        assert_int_equal(fa_count_kind(r.records, "child-deadlock"), 0);
        assert_int_equal(fa_out_value(&r, "child_status"), 0);
        fa_run_free(&r);
    }
}

/* glibc refuses (EPERM) the child's unlock of an owner-checked mutex held at the fork
 * (priority-inheritance, recursive, by the forking thread or a vanished one; pthread and
 * C11): it stays held, so the relock is reported, and the parent's record is an error. */
static void refused_unlocks_keep_the_lock_recorded(void **state)
{
    (void)state;
    static const struct {
        const char *mode, *type, *mutex_type;
        int gone, pi;
    } cases[] = {
        {"pi-self", "pthread_mutex", "normal", 0, 1},
        {"recursive-gone", "pthread_mutex", "recursive", 1, 0},
        {"mtx-rec-self", "mtx", "recursive", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fa_run r;
        run_mode(&r, cases[i].mode, NULL);
        assert_true(fa_out_value(&r, "unlock") != 0);
        json_t *lock = json_object_get(deadlock_record(&r, cases[i].type, cases[i].gone), "lock");
        assert_string_equal(fa_str(lock, "mutex_type"), cases[i].mutex_type);
        assert_int_equal(json_is_true(json_object_get(lock, "priority_inheritance")), cases[i].pi);
        json_t *held = fa_find_kind(r.records, "lock-held-at-fork", 0);
        assert_string_equal(fa_str(held, "severity"), "error");
        assert_int_equal(json_is_true(json_object_get(json_object_get(held, "lock"), "priority_inheritance")),
                         cases[i].pi);
        fa_run_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mutex_held_by_a_vanished_thread),
        cmocka_unit_test(mutex_held_by_the_forking_thread),
        cmocka_unit_test(reinitialised_or_unlocked_first_is_fine),
        cmocka_unit_test(mutex_types),
        cmocka_unit_test(semaphore_taken_before_the_fork),
        cmocka_unit_test(rwlock_written_at_fork_blocks_a_reader),
        cmocka_unit_test(c11_mtx),
        cmocka_unit_test(abort_turns_a_hang_into_a_crash),
        cmocka_unit_test(exit_n_ends_the_child_with_that_status),
        cmocka_unit_test(timed_waits_are_reported_but_never_ended),
        cmocka_unit_test(semaphores_other_threads_can_post_are_left_alone),
        cmocka_unit_test(refused_unlocks_keep_the_lock_recorded),
    };
    return cmocka_run_group_tests_name("child deadlocks and lock kinds", tests, NULL, NULL);
}
