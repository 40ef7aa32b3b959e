/* Unit tests of findings/fork_note.c: the fork note (JSON) / SUMMARY line (text), and the
 * note for a fork that could not be audited. */
#include "findings_fixture.h"

static void json_counts_the_findings(void **state)
{
    (void)state;
    json_t *v = render_json(FA_KIND_FORK, 0);
    assert_string_equal(str_of(v, "kind"), "fork");
    assert_string_equal(str_of(v, "severity"), "note");
    assert_int_equal(int_of(v, "errors"), 1);   /* the other thread's lock */
    assert_int_equal(int_of(v, "warnings"), 4); /* the forking thread's lock, threads, fds, rng */
    assert_int_equal(int_of(v, "threads"), 1);
    assert_int_equal(int_of(v, "locks_held"), 2);
    assert_int_equal(int_of(v, "fds"), 1);
    assert_int_equal(json_array_size(json_object_get(v, "atfork_prepare_handlers")), 0);
    assert_null(json_object_get(v, "locks_dropped"));
    json_decref(v);

    snap.locks_dropped = 5;
    snap.fds_listing_errno = 24;
    snap.nhandlers = 1;
    snap.handler[0] = (void *)&other_static_function;
    snap.handler_dso[0] = (void *)&other_static_function;
    v = render_json(FA_KIND_FORK, 0);
    assert_int_equal(int_of(v, "locks_dropped"), 5);
    assert_int_equal(int_of(v, "locks_held"), 7);
    assert_int_equal(int_of(v, "fds_listing_errno"), 24);
    json_t *h = json_array_get(json_object_get(v, "atfork_prepare_handlers"), 0);
    assert_string_equal(str_of(h, "function"), "other_static_function");
    assert_non_null(strstr(str_of(h, "module"), "test_fork_note"));
    json_decref(v);
}

static void text_summary_line(void **state)
{
    (void)state;
    struct fa_buf b;
    render_text(&b, FA_KIND_FORK, 0);
    assert_string_equal(b.p, "==100== SUMMARY: forkaudit: fork #3 (child 101, via fork) by thread 100: 1 error, 4 warnings\n");
    fa_buf_release(&b);

    snap.nlocks = 0;
    snap.locks_protected = 2;
    snap.threads_untracked = 1;
    snap.fds_listing_errno = 24; /* EMFILE */
    opts.verbosity = 1;
    render_text(&b, FA_KIND_FORK, 0);
    assert_string_equal(b.p, "==100== SUMMARY: forkaudit: fork #3 (child 101, via fork) by thread 100: 0 errors, 3 warnings"
                             " (2 held locks protected by atfork handlers) (1 threads not tracked: thread table full)"
                             " (/proc/self/fd could not be opened: Too many open files (EMFILE): every descriptor in use;"
                             " descriptors were"
                             " found by probing each number); threads 1, locks held 0, fds 1\n");
    fa_buf_release(&b);
}

static void unaudited(void *arg)
{
    (void)arg;
    fa_findings_unaudited(4, "atfork", 12345, &opts);
}

static void a_fork_not_audited_says_so(void **state)
{
    (void)state;
    size_t len;
    opts.format = FA_FORMAT_JSON;
    char *out = capture_log(unaudited, NULL, &len);
    json_t *all = parse_lines(out);
    assert_int_equal(json_array_size(all), 1);
    json_t *v = json_array_get(all, 0);
    assert_string_equal(str_of(v, "kind"), "fork");
    assert_string_equal(str_of(v, "severity"), "note");
    assert_int_equal(int_of(v, "pid"), getpid());
    assert_int_equal(int_of(v, "ppid"), getppid());
    assert_int_equal(int_of(json_object_get(v, "fork"), "seq"), 4);
    assert_string_equal(str_of(json_object_get(v, "fork"), "via"), "atfork");
    assert_null(json_object_get(json_object_get(v, "fork"), "child_pid"));
    assert_int_equal(int_of(v, "snapshot_bytes"), 12345);
    assert_non_null(strstr(str_of(v, "unaudited"), "no memory for the snapshot"));
    json_decref(all);
    free(out);

    opts.format = FA_FORMAT_TEXT;
    out = capture_log(unaudited, NULL, &len);
    char want[256];
    snprintf(want, sizeof want, "==%d== forkaudit: NOTE: fork #4 (via atfork) is not audited: no memory for its snapshot "
                                "(12345 bytes;", (int)getpid());
    assert_int_equal(strncmp(out, want, strlen(want)), 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_counts_the_findings, setup),
        cmocka_unit_test_setup(text_summary_line, setup),
        cmocka_unit_test_setup(a_fork_not_audited_says_so, setup),
    };
    return cmocka_run_group_tests_name("fork note", tests, NULL, NULL);
}
