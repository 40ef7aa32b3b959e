/* Unit tests of findings/lock_held.c: lock-held-at-fork records from a synthetic
 * snapshot, JSON parsed back field by field, text lines checked. */
#include "findings_fixture.h"

static void json_lock_record_has_every_field(void **state)
{
    (void)state;
    json_t *v = render_json(FA_KIND_LOCK, 0);
    assert_string_equal(str_of(v, "kind"), "lock-held-at-fork");
    assert_string_equal(str_of(v, "severity"), "error");
    assert_int_equal(int_of(v, "pid"), 100);
    json_t *fork = json_object_get(v, "fork");
    assert_int_equal(int_of(fork, "seq"), 3);
    assert_int_equal(int_of(fork, "child_pid"), 101);
    json_t *lock = json_object_get(v, "lock");
    assert_string_equal(str_of(lock, "addr"), "0x5000");
    assert_string_equal(str_of(lock, "mutex_type"), "recursive");
    assert_true(json_is_true(json_object_get(lock, "robust")));
    assert_true(json_is_false(json_object_get(lock, "priority_inheritance")));
    assert_int_equal(int_of(lock, "depth"), 2);
    assert_int_equal(int_of(lock, "holder_tid"), 102);
    assert_string_equal(str_of(lock, "holder_name"), "work\"er");
    json_t *frame = json_array_get(json_object_get(lock, "acquired_at"), 0);
    assert_string_equal(str_of(frame, "function"), "helper_static_function");
    assert_string_equal(str_of(frame, "function_offset"), "0x4");
    assert_non_null(strstr(str_of(frame, "module"), "test_lock_held"));
    assert_string_equal(str_of(v, "suppression"), "lock-held-at-fork:helper_static_function");
    json_decref(v);

    v = render_json(FA_KIND_LOCK, 1);
    assert_string_equal(str_of(v, "severity"), "warning");
    assert_true(json_is_true(json_object_get(json_object_get(v, "lock"), "holder_is_forking_thread")));
    assert_null(json_object_get(json_object_get(v, "lock"), "holder_name"));
    json_decref(v);
}

/* The holder's stack at the fork goes inside "lock", after its acquisition stack. */
static void json_lock_has_the_holders_stack(void **state)
{
    (void)state;
    threads[0].stack_state = FA_STACK_OK;
    threads[0].nstack = 1;
    threads[0].stack[0] = in_other();
    json_t *v = render_json(FA_KIND_LOCK, 0);
    json_t *stack = json_object_get(json_object_get(v, "lock"), "holder_stack_at_fork");
    assert_string_equal(str_of(json_array_get(stack, 0), "function"), "other_static_function");
    json_decref(v);

    threads[0].stack_state = FA_STACK_NO_ANSWER;
    v = render_json(FA_KIND_LOCK, 0);
    assert_non_null(strstr(str_of(json_object_get(v, "lock"), "holder_stack_at_fork_missing"), "no answer"));
    json_decref(v);
}

static void text_has_sanitizer_layout(void **state)
{
    (void)state;
    struct fa_buf b;
    render_text(&b, FA_KIND_LOCK, 0);
    assert_non_null(strstr(b.p, "==100== forkaudit: ERROR: lock-held-at-fork: pthread_mutex 0x5000 (recursive, robust) "
                                "is held by thread 102 \"work\"er\" at fork #3 (child 101, via fork)\n"));
    assert_non_null(strstr(b.p, "==100==   the child inherits it locked and has no thread that will ever unlock it\n"));
    assert_non_null(strstr(b.p, "acquired by thread 102 (depth 2) at:\n"));
    assert_non_null(strstr(b.p, "#0 0x"));
    assert_non_null(strstr(b.p, " in helper_static_function+0x4 ("));
    assert_non_null(strstr(b.p, "==100==   suppress with: lock-held-at-fork:helper_static_function\n"));
    assert_non_null(strstr(b.p, "==100==   fork called by thread 100 at:\n")); /* the first record of the fork */
    assert_prefixed(b.p, "==100== ");
    fa_buf_release(&b);

    snap.fork_stack_shown = 1; /* later records of the fork leave it out */
    render_text(&b, FA_KIND_LOCK, 1);
    assert_non_null(strstr(b.p, "forkaudit: WARNING: lock-held-at-fork: pthread_mutex 0x5000 (normal) is held by the "
                                "forking thread 100 at fork #3"));
    assert_non_null(strstr(b.p, "only the child's own unlock can free it"));
    assert_null(strstr(b.p, "fork called by"));
    fa_buf_release(&b);
}

/* A C11 mtx_t is described alike in text and JSON (kind, robust, priority inheritance),
 * as a pthread mutex is: one function decides. */
static void mtx_and_pi_mutexes_read_alike_in_text_and_json(void **state)
{
    (void)state;
    locks[0].held.type = FA_LOCK_MTX;
    locks[0].held.kind = 0;
    struct fa_buf b;
    render_text(&b, FA_KIND_LOCK, 0);
    assert_non_null(strstr(b.p, "lock-held-at-fork: mtx 0x5000 (normal) is held by thread 102"));
    fa_buf_release(&b);
    json_t *v = render_json(FA_KIND_LOCK, 0);
    assert_string_equal(str_of(json_object_get(v, "lock"), "type"), "mtx");
    assert_string_equal(str_of(json_object_get(v, "lock"), "mutex_type"), "normal");
    json_decref(v);

    locks[0].held.type = FA_LOCK_MUTEX;
    locks[0].held.kind = FA_MUTEX_KIND_ERRORCHECK | FA_MUTEX_KIND_PI;
    render_text(&b, FA_KIND_LOCK, 0);
    assert_non_null(strstr(b.p, "pthread_mutex 0x5000 (errorcheck, priority-inheritance) is held"));
    fa_buf_release(&b);
    v = render_json(FA_KIND_LOCK, 0);
    assert_true(json_is_true(json_object_get(json_object_get(v, "lock"), "priority_inheritance")));
    json_decref(v);

    locks[0].held.type = FA_LOCK_SPIN; /* no mutex kind */
    render_text(&b, FA_KIND_LOCK, 0);
    assert_non_null(strstr(b.p, "pthread_spinlock 0x5000 is held"));
    fa_buf_release(&b);
    v = render_json(FA_KIND_LOCK, 0);
    assert_null(json_object_get(json_object_get(v, "lock"), "mutex_type"));
    json_decref(v);
}

/* The severity: the forking thread's lock is an error when glibc checks its owner. */
static void owner_checked_lock_of_the_forking_thread_is_an_error(void **state)
{
    (void)state;
    locks[1].held.kind = FA_MUTEX_KIND_ERRORCHECK;
    json_t *v = render_json(FA_KIND_LOCK, 1);
    assert_string_equal(str_of(v, "severity"), "error");
    json_decref(v);
    struct fa_buf b;
    render_text(&b, FA_KIND_LOCK, 1);
    assert_non_null(strstr(b.p, "ERROR: lock-held-at-fork"));
    assert_non_null(strstr(b.p, "cannot even unlock it"));
    fa_buf_release(&b);

    locks[0].holder_gone = 1;
    render_text(&b, FA_KIND_LOCK, 0);
    assert_non_null(strstr(b.p, "is held by thread 102 of an ancestor process, which this process does not have"));
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_lock_record_has_every_field, setup),
        cmocka_unit_test_setup(json_lock_has_the_holders_stack, setup),
        cmocka_unit_test_setup(text_has_sanitizer_layout, setup),
        cmocka_unit_test_setup(mtx_and_pi_mutexes_read_alike_in_text_and_json, setup),
        cmocka_unit_test_setup(owner_checked_lock_of_the_forking_thread_is_an_error, setup),
    };
    return cmocka_run_group_tests_name("lock-held-at-fork", tests, NULL, NULL);
}
