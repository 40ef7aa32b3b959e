/* Integration tests: the stack of a thread holding a lock at the fork, by default (no
 * stack_signal), taken by a ptrace stop that the program cannot see. tests/progs/holder_blocked
 * holds a mutex in a worker that then sleeps, polls, waits on a semaphore, spins or waits
 * in epoll_wait while the main thread forks; each run is compared with an unaudited one
 * (the call's result, no SIGCHLD, nothing reapable). */
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

#define DEADLINE 20

/* "key=N" from the fact file of the run, -1 when absent. */
static long fact(const char *facts, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = strstr(facts, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

/* Runs holder_blocked `mode` plain and audited (`options` added), checks that both behaved
 * the same and that the audited one says what the worker's call returned (`result`,
 * `err`); returns the lock-held-at-fork record's lock object (owned by r). */
static json_t *run_mode(struct fa_run *r, const char *mode, const char *options, long result, long err)
{
    char facts[] = "/tmp/fa_holder_XXXXXX";
    int fd = mkstemp(facts);
    assert_true(fd >= 0);
    close(fd);
    const char *argv[] = {fa_build_path("tests/progs/holder_blocked"), mode, facts, NULL};
    struct fa_run plain;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(r, argv, options, DEADLINE), 0);
    assert_false(r->timed_out);
    assert_int_equal(r->status, 0);
    fa_assert_same_behaviour(&plain, r);
    fa_run_free(&plain);
    assert_int_equal(fa_out_value(r, "result"), result);
    assert_int_equal(fa_out_value(r, "errno"), err);
    assert_int_equal(fa_out_value(r, "sigchld_at_fork"), 0);
    assert_int_equal(fa_out_value(r, "reapable_at_fork"), 0);
    char *text = fa_read_file(facts);
    long worker = fact(text, "worker_tid"), main_tid = fact(text, "main_tid");
    free(text);
    unlink(facts);
    assert_int_equal(fa_count_kind(r->records, "lock-held-at-fork"), 1);
    json_t *rec = fa_find_kind(r->records, "lock-held-at-fork", 0);
    assert_string_equal(fa_str(rec, "severity"), "error");
    assert_int_equal(fa_int(rec, "tid"), main_tid);
    json_t *lock = json_object_get(rec, "lock");
    assert_int_equal(fa_int(lock, "holder_tid"), worker);
    return lock;
}

static void check_stopped_stack(const char *mode, long result, long err, const char *function, const char *inner)
{
    struct fa_run r;
    json_t *lock = run_mode(&r, mode, NULL, result, err);
    json_t *stack = json_object_get(lock, "holder_stack_at_fork");
    assert_non_null(stack);
    assert_true(fa_frames_have(stack, function));
    assert_true(fa_frames_have(stack, "worker_main"));
    if (inner) assert_true(fa_frames_have(stack, inner));
    assert_null(json_object_get(lock, "holder_stack_at_fork_missing"));
    assert_null(json_object_get(lock, "holder_stack_at_fork_note"));
    fa_run_free(&r);
}

/* nanosleep(1 s) returns 0 (not -1/EINTR): a ptrace stop restarts it with its time left. */
static void holder_in_nanosleep_is_named_and_sleeps_on(void **state)
{
    (void)state;
    check_stopped_stack("sleep", 0, 0, "holder_sleeps", "clock_nanosleep");
}

/* poll(500 ms) on a pipe nobody writes times out: 0, as unaudited. */
static void holder_in_poll_is_named_and_times_out(void **state)
{
    (void)state;
    check_stopped_stack("poll", 0, 0, "holder_polls", NULL);
}

/* sem_timedwait(500 ms) fails with ETIMEDOUT (110), as unaudited, not EINTR. */
static void holder_in_sem_timedwait_is_named_and_times_out(void **state)
{
    (void)state;
    check_stopped_stack("semwait", -1, 110, "holder_waits", NULL);
}

/* A running thread is stopped where it runs. */
static void running_holder_is_named(void **state)
{
    (void)state;
    check_stopped_stack("busy", 1, 0, "holder_spins", NULL);
}

/* A timed epoll_wait would end early with EINTR under a stop (signal(7)): the holder is
 * left running and shown by the kernel's pc, the call named. */
static void holder_in_timed_epoll_wait_is_left_running(void **state)
{
    (void)state;
    struct fa_run r;
    json_t *lock = run_mode(&r, "epoll", NULL, 0, 0);
    json_t *stack = json_object_get(lock, "holder_stack_at_fork");
    assert_int_equal(json_array_size(stack), 1);
    assert_true(fa_frames_have(stack, "epoll_wait"));
    assert_non_null(strstr(fa_str(lock, "holder_stack_at_fork_note"), "EINTR"));
    assert_int_equal(fa_int(lock, "holder_stack_at_fork_syscall"), 232); /* SYS_epoll_wait */
    fa_run_free(&r);
}

/* A blocking write to a full pipe: a stop would end it part-way (a short count); left
 * running, the kernel's pc shown; the write is whole. */
static void holder_in_a_blocking_write_is_left_running(void **state)
{
    (void)state;
    struct fa_run r;
    json_t *lock = run_mode(&r, "write", NULL, 256 * 1024, 0);
    json_t *stack = json_object_get(lock, "holder_stack_at_fork");
    assert_int_equal(json_array_size(stack), 1);
    assert_non_null(strstr(fa_str(lock, "holder_stack_at_fork_note"), "short write"));
    assert_int_equal(fa_int(lock, "holder_stack_at_fork_syscall"), 1); /* SYS_write */
    fa_run_free(&r);
}

/* An untimed epoll_wait is stopped: the stop makes it fail with EINTR, which the helper
 * turns into a restart (-ERESTARTNOHAND); it returns the event written after the fork. */
static void holder_in_untimed_epoll_wait_is_named_and_restarted(void **state)
{
    (void)state;
    check_stopped_stack("epoll_untimed", 1, 0, "holder_epolls", "epoll_wait");
}

/* The holder sleeps holding the loader's lock (inside a dl_iterate_phdr callback), which
 * libunwind takes: the forking thread's probe of that lock blocks, the helper gives up
 * after a second and lets the thread go; the record says so, nothing hangs. */
static void holder_holding_the_loader_lock_is_not_unwound(void **state)
{
    (void)state;
    struct fa_run r;
    char facts[] = "/tmp/fa_holder_XXXXXX";
    int fd = mkstemp(facts);
    assert_true(fd >= 0);
    close(fd);
    const char *argv[] = {fa_build_path("tests/progs/holder_blocked"), "loader", facts, NULL};
    struct fa_run plain;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&r, argv, NULL, DEADLINE), 0);
    unlink(facts);
    assert_false(r.timed_out);
    fa_assert_same_behaviour(&plain, &r);
    fa_run_free(&plain);
    assert_int_equal(fa_out_value(&r, "result"), 0);
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 2);
    /* the first fork (a plain sleep; it also set up the forking thread's unwinder) */
    json_t *lock = json_object_get(fa_find_kind(r.records, "lock-held-at-fork", 0), "lock");
    assert_true(fa_frames_have(json_object_get(lock, "holder_stack_at_fork"), "holder_sleeps"));
    lock = json_object_get(fa_find_kind(r.records, "lock-held-at-fork", 1), "lock");
    assert_null(json_object_get(lock, "holder_stack_at_fork"));
    assert_non_null(strstr(fa_str(lock, "holder_stack_at_fork_missing"), "loader's lock"));
    fa_run_free(&r);
}

/* An undumpable process without CAP_SYS_PTRACE: the helper's PTRACE_SEIZE is refused;
 * the record says why, nothing hangs, the sleep is whole. */
static void refused_ptrace_is_a_reason(void **state)
{
    (void)state;
    struct fa_run r;
    json_t *lock = run_mode(&r, "undumpable", NULL, 0, 0);
    assert_null(json_object_get(lock, "holder_stack_at_fork"));
    assert_non_null(strstr(fa_str(lock, "holder_stack_at_fork_missing"), "ptrace refused"));
    fa_run_free(&r);
}

/* stack_signal stays the opt-in for every thread: the holder answers its signal (the
 * sleep is then interrupted, as documented). */
static void stack_signal_still_asks_by_signal(void **state)
{
    (void)state;
    char facts[] = "/tmp/fa_holder_XXXXXX";
    int fd = mkstemp(facts);
    assert_true(fd >= 0);
    close(fd);
    const char *argv[] = {fa_build_path("tests/progs/holder_blocked"), "busy", facts, NULL};
    struct fa_run r;
    assert_int_equal(fa_run_audited(&r, argv, "stack_signal=61", DEADLINE), 0);
    unlink(facts);
    json_t *lock = json_object_get(fa_find_kind(r.records, "lock-held-at-fork", 0), "lock");
    assert_true(fa_frames_have(json_object_get(lock, "holder_stack_at_fork"), "holder_spins"));
    fa_run_free(&r);
}

/* Under strace the threads are traced already: a reason, no second tracer. */
static void traced_process_is_a_reason(void **state)
{
    (void)state;
    const char *strace = fa_which("strace");
    if (!strace) skip();
    char facts[] = "/tmp/fa_holder_XXXXXX";
    int fd = mkstemp(facts);
    assert_true(fd >= 0);
    close(fd);
    const char *argv[] = {strace, "-f", "-qq", "-o", "/dev/null", fa_build_path("tests/progs/holder_blocked"), "sleep",
                          facts, NULL};
    struct fa_run r;
    assert_int_equal(fa_run_audited(&r, argv, NULL, DEADLINE), 0);
    unlink(facts);
    assert_false(r.timed_out);
    assert_int_equal(r.status, 0);
    assert_int_equal(fa_out_value(&r, "result"), 0);
    json_t *lock = json_object_get(fa_find_kind(r.records, "lock-held-at-fork", 0), "lock");
    assert_non_null(lock);
    assert_non_null(strstr(fa_str(lock, "holder_stack_at_fork_missing"), "traced already"));
    fa_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(holder_in_nanosleep_is_named_and_sleeps_on),
        cmocka_unit_test(holder_in_poll_is_named_and_times_out),
        cmocka_unit_test(holder_in_sem_timedwait_is_named_and_times_out),
        cmocka_unit_test(running_holder_is_named),
        cmocka_unit_test(holder_in_timed_epoll_wait_is_left_running),
        cmocka_unit_test(holder_in_untimed_epoll_wait_is_named_and_restarted),
        cmocka_unit_test(holder_in_a_blocking_write_is_left_running),
        cmocka_unit_test(holder_holding_the_loader_lock_is_not_unwound),
        cmocka_unit_test(refused_ptrace_is_a_reason),
        cmocka_unit_test(stack_signal_still_asks_by_signal),
        cmocka_unit_test(traced_process_is_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
