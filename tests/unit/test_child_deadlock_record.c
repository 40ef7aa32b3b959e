/* Unit tests of the child-deadlock record: synthetic events (a lock held at the fork by a
 * thread the child lacks, by the forking thread, taken again after the fork, a timed
 * wait) rendered as JSON (parsed back) and as text. */
#include "unit.h"
#include "record_line.h"

#include <jansson.h>

#include "findings/child_deadlock.h"

static __attribute__((noinline)) int acquiring_site(int x) { return x * 5 + 2; }
static __attribute__((noinline)) int taking_site(int x) { return x * 7 + 3; }

static uintptr_t take_pc[1];
static struct fa_child_deadlock event;
static struct fa_options opts = FA_OPTIONS_INITIALIZER;

static int setup(void **state)
{
    (void)state;
    memset(&event, 0, sizeof event);
    event.origin = (struct fa_child_origin){.pid = 300, .ppid = 100, .tid = 300, .born_tid = 101, .seq = 4, .via = "atfork"};
    event.lock.addr = (void *)0x7000;
    event.lock.type = FA_LOCK_MUTEX;
    event.lock.kind = 2; /* errorcheck */
    event.lock.depth = 1;
    event.lock.nframes = 1;
    event.lock.frames[0] = (uintptr_t)&acquiring_site + 4;
    event.holder = 102;
    take_pc[0] = (uintptr_t)&taking_site + 4;
    event.pc = take_pc;
    event.n = 1;
    opts = (struct fa_options)FA_OPTIONS_INITIALIZER;
    return 0;
}

static char *render(enum fa_format format)
{
    opts.format = format;
    struct fa_buf b;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_child_deadlock_render(&b, &event, &opts);
    assert_false(b.truncated);
    char *text = strndup(b.p, b.len);
    fa_buf_release(&b);
    return text;
}

static json_t *render_json(void)
{
    char *line = render(FA_FORMAT_JSON);
    json_t *v = fa_test_record_line(line);
    free(line);
    return v;
}

static void json_lock_of_a_vanished_thread(void **state)
{
    (void)state;
    json_t *v = render_json();
    assert_string_equal(json_string_value(json_object_get(v, "kind")), "child-deadlock");
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "error");
    assert_int_equal(json_integer_value(json_object_get(v, "pid")), 300);
    assert_int_equal(json_integer_value(json_object_get(v, "ppid")), 100);
    json_t *fork = json_object_get(v, "fork");
    assert_int_equal(json_integer_value(json_object_get(fork, "seq")), 4);
    assert_int_equal(json_integer_value(json_object_get(fork, "child_pid")), 300);
    assert_string_equal(json_string_value(json_object_get(fork, "via")), "atfork");
    json_t *frame = json_array_get(json_object_get(v, "stack"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "taking_site");
    json_t *lock = json_object_get(v, "lock");
    assert_string_equal(json_string_value(json_object_get(lock, "type")), "pthread_mutex");
    assert_string_equal(json_string_value(json_object_get(lock, "addr")), "0x7000");
    assert_string_equal(json_string_value(json_object_get(lock, "mutex_type")), "errorcheck");
    assert_int_equal(json_integer_value(json_object_get(lock, "holder_tid")), 102);
    assert_true(json_is_false(json_object_get(lock, "holder_is_forking_thread")));
    assert_true(json_is_true(json_object_get(lock, "holder_gone")));
    frame = json_array_get(json_object_get(lock, "acquired_at"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "acquiring_site");
    assert_string_equal(json_string_value(json_object_get(v, "suppression")), "child-deadlock:acquiring_site");
    assert_true(json_is_false(json_object_get(v, "timed")));
    assert_string_equal(json_string_value(json_object_get(v, "action")), "report");
    json_decref(v);
}

static void json_action_follows_the_option_unless_timed(void **state)
{
    (void)state;
    opts.on_child_deadlock = FA_ACTION_ABORT;
    json_t *v = render_json();
    assert_string_equal(json_string_value(json_object_get(v, "action")), "abort");
    json_decref(v);
    opts.on_child_deadlock = FA_ACTION_EXIT;
    v = render_json();
    assert_string_equal(json_string_value(json_object_get(v, "action")), "exit");
    json_decref(v);
    event.timed = 1; /* it comes back by itself: only reported */
    v = render_json();
    assert_true(json_is_true(json_object_get(v, "timed")));
    assert_string_equal(json_string_value(json_object_get(v, "action")), "report");
    json_decref(v);
}

static void json_own_lock(void **state)
{
    (void)state;
    event.own = 1;
    event.lock.flags = FA_HELD_INHERITED;
    event.holder = 101;
    json_t *v = render_json();
    json_t *lock = json_object_get(v, "lock");
    assert_true(json_is_true(json_object_get(lock, "holder_is_forking_thread")));
    assert_null(json_object_get(lock, "holder_gone"));
    json_decref(v);
}

static void text_says_who_held_it_and_what_happens(void **state)
{
    (void)state;
    char *text = render(FA_FORMAT_TEXT);
    assert_non_null(strstr(text, "==300== forkaudit: ERROR: child-deadlock: this child (forked by thread 101 of "
                                 "process 100) is about to wait forever for pthread_mutex 0x7000\n"));
    assert_non_null(strstr(text, "==300==   it was held at the fork by thread 102, which this child does not have: "
                                 "nobody will ever release it\n"));
    assert_non_null(strstr(text, "==300==   acquired by thread 102 at:\n==300==     #0 0x"));
    assert_non_null(strstr(text, " in acquiring_site+0x4 ("));
    /* one frame is the call site (lock_stack_depth=1), said as in lock-held-at-fork: not
     * an unwinder that stopped, which is what the JSON's truncated_by says too */
    char *acquired = strstr(text, "acquired by thread"), *taking = strstr(text, "is taking it at:");
    assert_true(acquired && taking && acquired < taking);
    char *stop = strstr(acquired, "unwind information");
    assert_true(stop == NULL || stop > taking);
    assert_non_null(strstr(text, "==300==     (the call site only: lock_stack_depth=8 records deeper acquisition stacks)\n"));
    assert_non_null(strstr(text, "==300==   this child's thread 300 is taking it at:\n==300==     #0 0x"));
    assert_non_null(strstr(text, " in taking_site+0x4 ("));
    assert_non_null(strstr(text, "==300==   suppress with: child-deadlock:acquiring_site\n"));
    assert_non_null(strstr(text, "==300==   on_child_deadlock=report: the call proceeds (and blocks); "
                                 "on_child_deadlock=abort makes it a crash\n"));
    for (char *line = text; *line; line = strchr(line, '\n') + 1) assert_int_equal(strncmp(line, "==300== ", 8), 0);
    free(text);

    event.own = 1;
    event.lock.flags = FA_HELD_INHERITED;
    event.holder = 101;
    opts.on_child_deadlock = FA_ACTION_ABORT;
    text = render(FA_FORMAT_TEXT);
    assert_non_null(strstr(text, "==300==   it was held at the fork by the forking thread 101, whose copy (this "
                                 "thread) still holds it and cannot take it again\n"));
    assert_non_null(strstr(text, "==300==   on_child_deadlock: ending the child now\n"));
    free(text);

    event.lock.flags = 0; /* taken after the fork by this thread */
    event.timed = 1;
    text = render(FA_FORMAT_TEXT);
    assert_non_null(strstr(text, ") is about to wait, until its timeout, for pthread_mutex 0x7000\n"));
    assert_non_null(strstr(text, "==300==   this thread took it after the fork and cannot take it again\n"));
    assert_non_null(strstr(text, "==300==   a timed wait: the call proceeds and gives up at its timeout; "
                                 "on_child_deadlock does not end the child\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_lock_of_a_vanished_thread, setup),
        cmocka_unit_test_setup(json_action_follows_the_option_unless_timed, setup),
        cmocka_unit_test_setup(json_own_lock, setup),
        cmocka_unit_test_setup(text_says_who_held_it_and_what_happens, setup),
    };
    return cmocka_run_group_tests_name("child-deadlock record", tests, NULL, NULL);
}
