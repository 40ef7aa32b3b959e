/* Unit tests of findings/threads_at_fork.c: the threads-at-fork record. */
#include "findings_fixture.h"

static void json_lists_each_thread(void **state)
{
    (void)state;
    json_t *v = render_json(FA_KIND_THREADS, 0);
    assert_string_equal(str_of(v, "kind"), "threads-at-fork");
    assert_string_equal(str_of(v, "severity"), "warning");
    json_t *t = json_array_get(json_object_get(v, "threads"), 0);
    assert_int_equal(int_of(t, "tid"), 102);
    assert_string_equal(str_of(t, "name"), "work\"er");
    assert_string_equal(str_of(t, "start_routine"), "helper_static_function");
    assert_string_equal(str_of(json_array_get(json_object_get(t, "created_at"), 0), "function"), "helper_static_function");
    assert_null(json_object_get(t, "stack_at_fork"));
    assert_null(json_object_get(t, "stack_at_fork_missing")); /* not asked: nothing to say */
    assert_string_equal(str_of(t, "suppression"), "threads-at-fork:helper_static_function");
    assert_null(json_object_get(v, "threads_truncated"));
    json_decref(v);

    threads[0].stack_state = FA_STACK_BLOCKED;
    snap.threads_dropped = 2;
    v = render_json(FA_KIND_THREADS, 0);
    t = json_array_get(json_object_get(v, "threads"), 0);
    assert_string_equal(str_of(t, "stack_at_fork_missing"), "the thread blocks stack_signal");
    assert_int_equal(int_of(v, "threads_dropped"), 2);
    json_decref(v);
}

static void text_names_each_thread(void **state)
{
    (void)state;
    threads[0].stack_state = FA_STACK_OK;
    threads[0].nstack = 1;
    threads[0].stack[0] = in_other();
    struct fa_buf b;
    render_text(&b, FA_KIND_THREADS, 0);
    assert_non_null(strstr(b.p, "==100== forkaudit: WARNING: threads-at-fork: 1 other thread was running at fork #3 "
                                "(child 101, via fork)\n"));
    assert_non_null(strstr(b.p, "==100==   thread 102 \"work\"er\", start routine helper_static_function, created at:\n"));
    assert_non_null(strstr(b.p, "==100==     at the fork it was at:\n==100==       #0 0x"));
    assert_non_null(strstr(b.p, " in other_static_function+0x4 ("));
    assert_non_null(strstr(b.p, "==100==     suppress with: threads-at-fork:helper_static_function\n"));
    assert_prefixed(b.p, "==100== ");
    fa_buf_release(&b);

    threads[0].start_routine = NULL; /* not made through pthread_create */
    snap.nthreads = 1;
    snap.threads_dropped = 1;
    render_text(&b, FA_KIND_THREADS, 0);
    assert_non_null(strstr(b.p, ": 2 other threads were running at"));
    assert_non_null(strstr(b.p, "(creation site unknown: not made through the interposed pthread_create)\n"));
    assert_non_null(strstr(b.p, "==100==   ... and 1 more (max_threads)\n"));
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_lists_each_thread, setup),
        cmocka_unit_test_setup(text_names_each_thread, setup),
    };
    return cmocka_run_group_tests_name("threads-at-fork", tests, NULL, NULL);
}
