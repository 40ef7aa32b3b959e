/* Unit tests of findings/state.c: the state record of a state dump (dump_signal), from a
 * synthetic snapshot and lineage, JSON parsed back and text lines checked; and the note
 * that says why there is no dump. */
#include "findings_fixture.h"

static struct fa_lineage lineage;

/* The dump of process 100, received by its thread 100 "main": it holds the recursive
 * mutex (inherited at the fork that made it, from the forking thread 55 of process 54);
 * thread 102 holds the normal one; a rwlock held for reading by the parent's gone thread
 * 77 was inherited held. */
static int setup_state(void **state)
{
    setup(state);
    opts.dump_signal = 12;
    snap.seq = 2; /* forks made so far */
    snap.receiver.tid = 100;
    strcpy(snap.receiver.name, "main");
    snap.receiver.stack_state = FA_STACK_OK;
    snap.receiver.nstack = 1;
    snap.receiver.stack[0] = in_other();
    snap.nlocks = 2;
    locks[0].holder = 100;
    locks[0].held.flags = FA_HELD_INHERITED;
    locks[1].holder_is_forking_thread = 0;
    locks[1].held.type = FA_LOCK_RWLOCK;
    locks[1].held.flags = FA_HELD_READ;
    locks[1].holder = 77;
    locks[1].holder_gone = 1;
    lineage = (struct fa_lineage){.forked_child = 1, .born_seq = 5, .born_tid = 55, .born_parent = 54,
                                  .born_via = NULL};
    return 0;
}

static json_t *render_state_json(void)
{
    struct fa_buf b;
    opts.format = FA_FORMAT_JSON;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render_state(&b, &snap, &lineage, &opts);
    json_t *v = parse_record(&b);
    fa_buf_release(&b);
    return v;
}

static void json_state_of_a_forked_child(void **state)
{
    (void)state;
    json_t *v = render_state_json();
    assert_string_equal(str_of(v, "kind"), "state");
    assert_string_equal(str_of(v, "severity"), "note");
    assert_int_equal(int_of(v, "signal"), 12);
    json_t *fork = json_object_get(v, "fork"); /* the fork that made it, as child records say */
    assert_int_equal(int_of(fork, "seq"), 5);
    assert_int_equal(int_of(fork, "child_pid"), 100);
    assert_string_equal(str_of(fork, "via"), "fork");
    json_t *lin = json_object_get(v, "lineage");
    assert_int_equal(int_of(lin, "pid"), 100);
    assert_int_equal(int_of(lin, "forks"), 2);
    assert_true(json_is_true(json_object_get(lin, "forked_child")));
    assert_int_equal(int_of(lin, "parent_pid"), 54);
    assert_int_equal(int_of(lin, "parent_fork_seq"), 5);
    assert_int_equal(int_of(lin, "parent_tid"), 55);

    json_t *held = json_object_get(v, "locks_held"); /* the rwlock's holder is gone: not held now */
    assert_int_equal(json_array_size(held), 1);
    json_t *l = json_array_get(held, 0);
    assert_string_equal(str_of(l, "addr"), "0x5000");
    assert_int_equal(int_of(l, "holder_tid"), 100);
    assert_string_equal(str_of(l, "holder_name"), "main");
    assert_true(json_is_true(json_object_get(l, "holder_is_receiving_thread")));
    assert_true(json_is_true(json_object_get(l, "inherited")));

    json_t *inh = json_object_get(v, "locks_inherited");
    assert_int_equal(json_array_size(inh), 2);
    l = json_array_get(inh, 0); /* held at the fork by the forking thread, now by its copy */
    assert_int_equal(int_of(l, "holder_tid"), 55);
    assert_true(json_is_true(json_object_get(l, "holder_is_forking_thread")));
    assert_int_equal(int_of(l, "now_held_by_tid"), 100);
    l = json_array_get(inh, 1);
    assert_string_equal(str_of(l, "mode"), "read");
    assert_int_equal(int_of(l, "holder_tid"), 77);
    assert_true(json_is_true(json_object_get(l, "holder_gone")));
    assert_null(json_object_get(l, "now_held_by_tid"));

    json_t *ts = json_object_get(v, "threads");
    assert_int_equal(json_array_size(ts), 2);
    json_t *t = json_array_get(ts, 0);
    assert_int_equal(int_of(t, "tid"), 100);
    assert_true(json_is_true(json_object_get(t, "receiving")));
    assert_string_equal(str_of(json_array_get(json_object_get(t, "stack"), 0), "function"), "other_static_function");
    t = json_array_get(ts, 1);
    assert_int_equal(int_of(t, "tid"), 102);
    assert_true(json_is_false(json_object_get(t, "receiving")));
    assert_string_equal(str_of(t, "stack_missing"), "not collected: stack_signal is off");
    json_decref(v);

    lineage.forked_child = 0;
    v = render_state_json();
    assert_null(json_object_get(v, "fork"));
    assert_true(json_is_false(json_object_get(json_object_get(v, "lineage"), "forked_child")));
    assert_null(json_object_get(json_object_get(v, "lineage"), "parent_pid"));
    json_decref(v);
}

static void text_state_of_a_forked_child(void **state)
{
    (void)state;
    struct fa_buf b;
    opts.format = FA_FORMAT_TEXT;
    snap.receiver.stack_state = FA_STACK_BUSY;
    lineage.no_unwind = 1;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render_state(&b, &snap, &lineage, &opts);
    fa_buf_terminate(&b);
    assert_non_null(strstr(b.p, "==100== forkaudit: NOTE: state: process 100 on signal 12 (dump_signal), received by "
                                "thread 100\n"));
    assert_non_null(strstr(b.p, "==100==   lineage: parent 1; forked by thread 55 of process 54 at its fork #5 (via fork); "
                                "forks made so far: 2\n"));
    assert_non_null(strstr(b.p, "==100==   locks held now: 1\n==100==     pthread_mutex 0x5000 (recursive, robust) held by "
                                "thread 100 \"main\" (the receiving thread), inherited held at the fork (depth 2); "
                                "acquired at:\n"));
    assert_non_null(strstr(b.p, "==100==   locks inherited held at the fork: 2\n==100==     pthread_mutex 0x5000 (recursive, "
                                "robust) held at the fork by the forking thread 55, still held by its copy, thread 100"));
    assert_non_null(strstr(b.p, "==100==     pthread_rwlock 0x5000 (read) held at the fork by thread 77 of an ancestor "
                                "process, which this process does not have: nobody will unlock it; acquired at:\n"));
    assert_non_null(strstr(b.p, "==100==   threads: 2\n==100==     thread 100 \"main\" (received the signal)\n"
                                "==100==       (stack not unwound: a forked child of a multithreaded process"));
    assert_non_null(strstr(b.p, "==100==     thread 102 \"work\"er\", start routine helper_static_function, created at:\n"));
    assert_prefixed(b.p, "==100== ");
    fa_buf_release(&b);

    lineage.forked_child = 0;
    snap.nlocks = 0;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render_state(&b, &snap, &lineage, &opts);
    fa_buf_terminate(&b);
    assert_non_null(strstr(b.p, "lineage: parent 1; not a child made by fork under the auditor; forks made so far: 2\n"));
    assert_non_null(strstr(b.p, "==100==   locks held now: 0 (none)\n"));
    fa_buf_release(&b);
}

static void unavailable(void *arg) { fa_findings_state_unavailable(arg, &opts); }

static void no_dump_says_why(void **state)
{
    (void)state;
    size_t len;
    opts.format = FA_FORMAT_JSON;
    char *out = capture_log(unavailable, "busy \"now\"", &len);
    json_t *all = parse_lines(out);
    assert_int_equal(json_array_size(all), 1);
    json_t *v = json_array_get(all, 0);
    assert_string_equal(str_of(v, "kind"), "state");
    assert_string_equal(str_of(v, "severity"), "note");
    assert_int_equal(int_of(v, "pid"), getpid());
    assert_int_equal(int_of(v, "signal"), 12);
    assert_string_equal(str_of(v, "unavailable"), "busy \"now\"");
    assert_int_equal(json_array_size(json_object_get(v, "stack")), 0);
    json_decref(all);
    free(out);

    opts.format = FA_FORMAT_TEXT;
    out = capture_log(unavailable, "busy", &len);
    char want[128];
    snprintf(want, sizeof want, "==%d== forkaudit: NOTE: state: no state dump on signal 12: busy\n", (int)getpid());
    assert_string_equal(out, want);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_state_of_a_forked_child, setup_state),
        cmocka_unit_test_setup(text_state_of_a_forked_child, setup_state),
        cmocka_unit_test_setup(no_dump_says_why, setup_state),
    };
    return cmocka_run_group_tests_name("state record", tests, NULL, NULL);
}
