/* Integration tests of fds-leaked-at-exec: tests/progs/exec_leaks runs under
 * libforkaudit.so in several scenarios; the records of every process are checked. */
#include <errno.h>
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
#define KIND "fds-leaked-at-exec"

struct scenario {
    struct fa_run r;
    char dir[64]; /* where the program creates its files */
};

static void run_scenario(struct scenario *s, const char *how, const char *options)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/forkaudit-exec.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    const char *argv[] = {fa_build_path("tests/progs/exec_leaks"), s->dir, how, NULL};
    assert_int_equal(fa_run_audited(&s->r, argv, options, DEADLINE), 0);
    assert_false(s->r.timed_out);
    assert_int_equal(s->r.status, 0);
}

static void free_scenario(struct scenario *s)
{
    fa_run_free(&s->r);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

static json_t *fd_entry(json_t *fds, long fd)
{
    size_t i;
    json_t *f;
    json_array_foreach(fds, i, f) if (fa_int(f, "fd") == fd) return f;
    return NULL;
}

/* The leaking file and the pipe's read end, as the program opened them. */
static void check_file_and_pipe_read_end(struct scenario *s, json_t *fds)
{
    char path[128];
    snprintf(path, sizeof path, "%s/leak.txt", s->dir);
    json_t *f = fd_entry(fds, fa_out_value(&s->r, "leak_fd"));
    assert_non_null(f);
    assert_string_equal(fa_str(f, "target"), path);
    assert_string_equal(fa_str(f, "type"), "file");
    assert_string_equal(fa_str(f, "access"), "w");
    assert_true(json_is_false(json_object_get(f, "cloexec")));
    assert_string_equal(fa_str(f, "opened_by"), "open");
    assert_true(fa_frames_have(json_object_get(f, "opened_at"), "open_leaky_file"));
    f = fd_entry(fds, fa_out_value(&s->r, "pipe_r"));
    assert_non_null(f);
    assert_non_null(strstr(fa_str(f, "target"), "pipe:["));
    assert_string_equal(fa_str(f, "access"), "r");
    assert_string_equal(fa_str(f, "opened_by"), "pipe");
    assert_true(fa_frames_have(json_object_get(f, "opened_at"), "make_leaky_pipe"));
    assert_null(fd_entry(fds, fa_out_value(&s->r, "cloexec_fd")));
}

static void exec_in_a_forked_child_lists_exactly_the_leaking_fds(void **state)
{
    (void)state;
    const char *ways[] = {"execve", "execl"};
    for (int w = 0; w < 2; w++) {
        struct scenario s;
        run_scenario(&s, ways[w], NULL);
        long child = fa_out_value(&s.r, "child");
        assert_int_equal(fa_out_value(&s.r, "child_status"), 0); /* /bin/true ran */
        assert_int_equal(fa_count_kind(s.r.records, KIND), 1);
        json_t *rec = fa_find_kind(s.r.records, KIND, 0);
        assert_string_equal(fa_str(rec, "severity"), "warning");
        assert_int_equal(fa_int(rec, "pid"), child);
        assert_int_equal(fa_int(rec, "tid"), child);
        assert_int_equal(fa_int(rec, "ppid"), fa_out_value(&s.r, "main"));
        json_t *exec = json_object_get(rec, "exec");
        assert_string_equal(fa_str(exec, "path"), "/bin/true");
        assert_string_equal(fa_str(exec, "argv0"), "true");
        assert_string_equal(fa_str(exec, "via"), ways[w]);
        json_t *fork = json_object_get(rec, "fork"); /* the fork that made the child */
        assert_int_equal(fa_int(fork, "seq"), 1);
        assert_int_equal(fa_int(fork, "child_pid"), child);
        assert_string_equal(fa_str(fork, "via"), "fork");
        /* the child of a single-threaded parent unwinds whole stacks */
        json_t *stack = json_object_get(rec, "stack");
        assert_true(fa_frames_have(stack, "exec_in_child"));
        assert_true(fa_frames_have(stack, "main"));
        assert_false(fa_frames_have(stack, ways[w]));
        json_t *fds = json_object_get(rec, "fds");
        assert_int_equal(json_array_size(fds), 3);
        check_file_and_pipe_read_end(&s, fds);
        json_t *w_end = fd_entry(fds, fa_out_value(&s.r, "pipe_w"));
        assert_non_null(w_end);
        assert_string_equal(fa_str(w_end, "access"), "w");
        assert_true(fa_frames_have(json_object_get(w_end, "opened_at"), "make_leaky_pipe"));
        /* in the child's own log */
        char path[400];
        snprintf(path, sizeof path, "%s/log.%ld", s.r.dir, child);
        assert_int_equal(access(path, F_OK), 0);
        free_scenario(&s);
    }
}

static void posix_spawn_file_actions_are_taken_into_account(void **state)
{
    (void)state;
    struct scenario s;
    run_scenario(&s, "spawn", NULL);
    assert_int_equal(fa_out_value(&s.r, "spawn_rc"), 0);
    assert_int_equal(fa_out_value(&s.r, "spawn_status"), 0);
    assert_int_equal(fa_out_value(&s.r, "spawnp_rc"), 0);
    assert_int_equal(fa_out_value(&s.r, "spawnp_status"), 0);
    assert_int_equal(fa_count_kind(s.r.records, KIND), 2);
    for (int i = 0; i < 2; i++) {
        json_t *rec = fa_find_kind(s.r.records, KIND, i);
        json_t *exec = json_object_get(rec, "exec"), *fds = json_object_get(rec, "fds");
        assert_int_equal(fa_int(rec, "pid"), fa_out_value(&s.r, "main")); /* the caller reports */
        assert_null(json_object_get(rec, "fork")); /* no fork made this process */
        assert_string_equal(fa_str(exec, "argv0"), "true");
        assert_true(fa_frames_have(json_object_get(rec, "stack"), "spawn"));
        check_file_and_pipe_read_end(&s, fds);
        if (strcmp(fa_str(exec, "via"), "posix_spawn") == 0) {
            /* the write end is closed by a file action: it does not pass */
            assert_string_equal(fa_str(exec, "path"), "/bin/true");
            assert_int_equal(json_array_size(fds), 2);
            assert_null(fd_entry(fds, fa_out_value(&s.r, "pipe_w")));
        } else {
            /* found in PATH */
            assert_string_equal(fa_str(exec, "via"), "posix_spawnp");
            const char *path = fa_str(exec, "path");
            assert_true(path[0] == '/' && strlen(path) > 5 && strcmp(path + strlen(path) - 5, "/true") == 0);
            assert_int_equal(json_array_size(fds), 3);
            assert_non_null(fd_entry(fds, fa_out_value(&s.r, "pipe_w")));
        }
    }
    free_scenario(&s);
}

static void exec_without_leaking_fds_reports_nothing(void **state)
{
    (void)state;
    struct scenario s;
    run_scenario(&s, "clean", NULL);
    assert_int_equal(fa_out_value(&s.r, "child_status"), 0); /* execvp found and ran true */
    assert_int_equal(fa_count_kind(s.r.records, KIND), 0);
    /* the fork itself was audited: the close-on-exec descriptors were there */
    json_t *rec = fa_find_kind(s.r.records, "fds-at-fork", 0);
    assert_non_null(rec);
    assert_non_null(fd_entry(json_object_get(rec, "fds"), fa_out_value(&s.r, "cloexec_fd")));
    free_scenario(&s);
}

static void failing_exec_returns_as_without_the_auditor(void **state)
{
    (void)state;
    struct scenario s;
    run_scenario(&s, "missing", NULL);
    assert_int_equal(fa_out_value(&s.r, "raw_rc"), -1);
    assert_int_equal(fa_out_value(&s.r, "raw_errno"), ENOENT);
    assert_int_equal(fa_out_value(&s.r, "execve_rc"), fa_out_value(&s.r, "raw_rc"));
    assert_int_equal(fa_out_value(&s.r, "execve_errno"), fa_out_value(&s.r, "raw_errno"));
    assert_int_equal(fa_out_value(&s.r, "execvp_rc"), -1);
    assert_int_equal(fa_out_value(&s.r, "execvp_errno"), ENOENT);
    /* nothing passed anywhere: no record, though descriptors leak */
    assert_int_equal(fa_count_kind(s.r.records, KIND), 0);
    free_scenario(&s);
}

static void exec_in_a_vfork_child_leaves_the_parent_alone(void **state)
{
    (void)state;
    struct scenario s;
    run_scenario(&s, "vfork", NULL);
    assert_int_equal(fa_out_value(&s.r, "child_status"), 0);
    /* not audited: the vfork child shares the parent's memory */
    assert_int_equal(fa_count_kind(s.r.records, KIND), 0);
    /* and the parent's auditor goes on: its fork is audited as fork #1 */
    json_t *rec = fa_find_kind(s.r.records, "fds-at-fork", 0);
    assert_non_null(rec);
    assert_int_equal(fa_int(rec, "pid"), fa_out_value(&s.r, "main"));
    assert_int_equal(fa_int(json_object_get(rec, "fork"), "seq"), 1);
    assert_int_equal(fa_int(json_object_get(rec, "fork"), "child_pid"), fa_out_value(&s.r, "fork_child"));
    assert_true(fa_frames_have(json_object_get(rec, "stack"), "vfork_exec"));
    free_scenario(&s);
}

static void text_record_names_program_and_stack(void **state)
{
    (void)state;
    struct scenario s;
    run_scenario(&s, "execve", "format=text");
    char path[400], line[600];
    snprintf(path, sizeof path, "%s/log.%ld", s.r.dir, fa_out_value(&s.r, "child"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int header = 0, fd_line = 0, stack = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "forkaudit: WARNING: fds-leaked-at-exec: 3 file descriptors pass into /bin/true (execve)\n"))
            header++;
        if (strstr(line, "/leak.txt (file, w)\n")) fd_line++;
        if (strstr(line, "  execve called by thread ")) stack++;
    }
    fclose(f);
    assert_int_equal(header, 1);
    assert_int_equal(fd_line, 1);
    assert_int_equal(stack, 1);
    free_scenario(&s);
}

/* popen() and system() start /bin/sh through glibc's internal posix_spawn: audited at
 * the program's call (nothing was reported before), and the shells, which inherited the
 * descriptor at exec, report nothing of theirs. */
static void popen_and_system_are_audited_at_the_programs_call(void **state)
{
    (void)state;
    char dir[] = "/tmp/forkaudit-popen.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct fa_run r;
    const char *argv[] = {fa_build_path("tests/progs/popen_system"), dir, NULL};
    assert_int_equal(fa_run_audited(&r, argv, NULL, DEADLINE), 0);
    assert_false(r.timed_out);
    assert_int_equal(r.status, 0);
    assert_int_equal(fa_out_value(&r, "popen_status"), 0);
    assert_int_equal(fa_out_value(&r, "system_status"), 0);
    assert_int_equal(fa_count_kind(r.records, KIND), 2);
    static const char *const via[] = {"popen", "system"}, *const caller[] = {"run_popen", "run_system"};
    char path[128];
    snprintf(path, sizeof path, "%s/config.txt", dir);
    for (int i = 0; i < 2; i++) {
        json_t *rec = fa_find_kind(r.records, KIND, i);
        json_t *exec = json_object_get(rec, "exec");
        assert_string_equal(fa_str(exec, "via"), via[i]);
        assert_string_equal(fa_str(exec, "path"), "/bin/sh");
        assert_true(fa_frames_have(json_object_get(rec, "stack"), caller[i]));
        json_t *fds = json_object_get(rec, "fds");
        assert_int_equal(json_array_size(fds), 1); /* the close-on-exec pipe is not listed */
        json_t *f = json_array_get(fds, 0);
        assert_int_equal(fa_int(f, "fd"), fa_out_value(&r, "config_fd"));
        assert_string_equal(fa_str(f, "target"), path);
        assert_true(fa_frames_have(json_object_get(f, "opened_at"), "open_config"));
    }
    fa_run_free(&r);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exec_in_a_forked_child_lists_exactly_the_leaking_fds),
        cmocka_unit_test(posix_spawn_file_actions_are_taken_into_account),
        cmocka_unit_test(exec_without_leaking_fds_reports_nothing),
        cmocka_unit_test(failing_exec_returns_as_without_the_auditor),
        cmocka_unit_test(exec_in_a_vfork_child_leaves_the_parent_alone),
        cmocka_unit_test(text_record_names_program_and_stack),
        cmocka_unit_test(popen_and_system_are_audited_at_the_programs_call),
    };
    return cmocka_run_group_tests_name("exec audit (integration)", tests, NULL, NULL);
}
