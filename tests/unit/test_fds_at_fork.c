/* Unit tests of findings/fds.c for fds-at-fork (fds-leaked-at-exec: test_exec.c). */
#include "findings_fixture.h"

static void json_lists_each_descriptor(void **state)
{
    (void)state;
    json_t *v = render_json(FA_KIND_FDS, 0);
    assert_string_equal(str_of(v, "kind"), "fds-at-fork");
    assert_string_equal(str_of(v, "severity"), "warning");
    assert_null(json_object_get(v, "exec"));
    json_t *f = json_array_get(json_object_get(v, "fds"), 0);
    assert_int_equal(int_of(f, "fd"), 7);
    assert_string_equal(str_of(f, "target"), "/tmp/we\"ird\npath");
    assert_string_equal(str_of(f, "type"), "file");
    assert_string_equal(str_of(f, "access"), "w");
    assert_int_equal(int_of(f, "offset"), 42);
    assert_true(json_is_false(json_object_get(f, "cloexec")));
    /* a temporary path without an opening site: no rule would name it alone */
    assert_null(json_object_get(f, "suppression"));
    json_decref(v);
}

/* Pipe ends opened at one place say so once; a pipe is named in a rule by its kind. */
static void text_says_a_pipe_once(void **state)
{
    (void)state;
    snap.nfds = 2;
    for (int i = 0; i < 2; i++) {
        fds[i].fd = 3 + i;
        strcpy(fds[i].target, "pipe:[77]");
        fds[i].type = "pipe";
        fds[i].flags = i;
        fds[i].offset = -1;
        fds[i].cloexec = i;
        fds[i].opened_by = "pipe";
        fds[i].nframes = 1;
        fds[i].frames[0] = in_helper();
    }
    struct fa_buf b;
    render_text(&b, FA_KIND_FDS, 0);
    assert_non_null(strstr(b.p, "==100== forkaudit: WARNING: fds-at-fork: the child inherits 2 file descriptors at fork #3"));
    assert_non_null(strstr(b.p, "==100==   fd 3 -> pipe:[77] (pipe, r, no close-on-exec: also leaks into exec'd programs)\n"
                                "==100==     opened by pipe at:\n"));
    assert_non_null(strstr(b.p, "==100==   fd 4 -> pipe:[77] (pipe, w, close-on-exec)\n"
                                "==100==     opened by pipe at the same place as fd 3\n"));
    assert_non_null(strstr(b.p, "suppress with: fds-at-fork:helper_static_function\n"));
    assert_null(strstr(b.p, "share this open file description"));
    assert_prefixed(b.p, "==100== ");
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_lists_each_descriptor, setup),
        cmocka_unit_test_setup(text_says_a_pipe_once, setup),
    };
    return cmocka_run_group_tests_name("fds-at-fork", tests, NULL, NULL);
}
