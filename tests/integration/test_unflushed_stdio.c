/* Integration tests of stdio-unflushed-at-fork: output left in C stdio buffers at a fork
 * (tests/progs/stdio_unflushed) is reported per stream, with its pending bytes, its
 * buffering and where it goes; flushed output and whole lines on a terminal are not. */
#include <dirent.h>
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
#define KIND "stdio-unflushed-at-fork"

static void run(struct fa_run *r, const char *mode, const char *log, const char *options)
{
    const char *argv[] = {fa_build_path("tests/progs/stdio_unflushed"), mode, log, NULL};
    assert_int_equal(fa_run_audited(r, argv, options, DEADLINE), 0);
    assert_false(r->timed_out);
    assert_int_equal(r->status, 0);
}

/* A file name of this test's own under /tmp. */
static void log_path(char *path, size_t cap, const char *what)
{
    snprintf(path, cap, "/tmp/fa_stdio_%s_%ld.log", what, (long)getpid());
}

/* The record whose stream is on descriptor fd, or NULL. */
static json_t *record_on_fd(json_t *records, int fd)
{
    for (int i = 0;; i++) {
        json_t *rec = fa_find_kind(records, KIND, i);
        if (!rec || fa_int(json_object_get(rec, "stream"), "fd") == fd) return rec;
    }
}

/* The record whose stream's target begins with `prefix`, or NULL. */
static json_t *record_to(json_t *records, const char *prefix)
{
    for (int i = 0;; i++) {
        json_t *rec = fa_find_kind(records, KIND, i);
        const char *target = rec ? fa_str(json_object_get(rec, "stream"), "target") : NULL;
        if (!rec || (target && strncmp(target, prefix, strlen(prefix)) == 0)) return rec;
    }
}

static void pending_output_on_a_pipe_and_a_file_is_reported_per_stream(void **state)
{
    (void)state;
    char log[128];
    log_path(log, sizeof log, "pending");
    struct fa_run r;
    run(&r, "pending", log, NULL);
    assert_int_equal(fa_count_kind(r.records, KIND), 3);

    json_t *out = record_on_fd(r.records, 1);
    assert_non_null(out);
    assert_string_equal(fa_str(out, "severity"), "warning");
    assert_int_equal(fa_int(json_object_get(out, "fork"), "seq"), 1);
    assert_true(fa_frames_have(json_object_get(out, "stack"), "fork_child_exits"));
    json_t *st = json_object_get(out, "stream");
    assert_string_equal(fa_str(st, "name"), "stdout");
    assert_int_equal(fa_int(st, "pending_bytes"), 9); /* "to stdout" */
    assert_string_equal(fa_str(st, "buffering"), "full");
    assert_string_equal(fa_str(out, "suppression"), KIND ":stdout");

    json_t *to_pipe = record_to(r.records, "pipe:[");
    assert_non_null(to_pipe);
    st = json_object_get(to_pipe, "stream");
    assert_true(json_is_null(json_object_get(st, "name")));
    assert_string_equal(fa_str(st, "type"), "pipe");
    assert_int_equal(fa_int(st, "pending_bytes"), 13); /* "into the pipe" */
    assert_string_equal(fa_str(st, "buffering"), "full");
    assert_string_equal(fa_str(st, "opened_by"), "pipe");
    assert_true(fa_frames_have(json_object_get(st, "opened_at"), "open_pipe"));
    /* a pipe's number changes every run: its rule names where it was opened */
    assert_non_null(strstr(fa_str(to_pipe, "suppression"), "open_pipe"));

    json_t *file = record_to(r.records, log);
    assert_non_null(file);
    st = json_object_get(file, "stream");
    assert_true(json_is_null(json_object_get(st, "name")));
    assert_string_equal(fa_str(st, "target"), log);
    assert_string_equal(fa_str(st, "type"), "file");
    assert_int_equal(fa_int(st, "pending_bytes"), 15); /* "to the log file" */
    assert_string_equal(fa_str(st, "buffering"), "full");
    assert_string_equal(fa_str(st, "opened_by"), "fopen");
    assert_true(fa_frames_have(json_object_get(st, "opened_at"), "open_log"));
    /* a temporary file's path is another one every run: its rule names where it was opened */
    assert_string_equal(fa_str(file, "suppression"), KIND ":open_log");

    /* What the records warn of happened: the child's exit wrote the bytes as well. */
    assert_string_equal(r.out, "to stdoutto stdout\npipe_bytes=26\n");
    char *text = fa_read_file(log);
    assert_string_equal(text, "to the log fileto the log file");
    free(text);
    unlink(log);
    fa_run_free(&r);
}

static void an_unfinished_line_on_a_terminal_is_reported_line_buffered(void **state)
{
    (void)state;
    struct fa_run r;
    run(&r, "prompt", NULL, NULL);
    assert_int_equal(fa_count_kind(r.records, KIND), 1);
    json_t *st = json_object_get(record_on_fd(r.records, 1), "stream");
    assert_string_equal(fa_str(st, "name"), "stdout");
    assert_int_equal(fa_int(st, "pending_bytes"), 6); /* "name? " */
    assert_string_equal(fa_str(st, "buffering"), "line");
    assert_string_equal(fa_str(st, "type"), "char-device");
    assert_memory_equal(fa_str(st, "target"), "/dev/pts/", 9);
    fa_run_free(&r);
}

static void whole_lines_on_a_terminal_and_flushed_files_are_clean(void **state)
{
    (void)state;
    char log[128];
    log_path(log, sizeof log, "clean");
    struct fa_run r;
    run(&r, "clean", log, "verbosity=1");
    assert_int_equal(fa_count_kind(r.records, KIND), 0);
    assert_int_equal(fa_count_kind(r.records, "fork"), 1); /* the fork was audited */
    unlink(log);
    fa_run_free(&r);
}

static void streams_past_the_table_are_counted_in_the_fork_note(void **state)
{
    (void)state;
    struct fa_run r;
    run(&r, "many", NULL, NULL);
    assert_int_equal(fa_count_kind(r.records, KIND), 8);
    json_t *note = fa_find_kind(r.records, "fork", 0); /* written to say what did not fit */
    assert_non_null(note);
    assert_int_equal(fa_int(note, "streams_dropped"), 2);
    assert_int_equal(fa_int(note, "warnings"), 8 + 1); /* and fds-at-fork for the ten */
    assert_null(json_object_get(note, "streams_unchecked"));
    fa_run_free(&r);
}

static void a_list_another_thread_changes_is_read_at_every_fork(void **state)
{
    (void)state;
    struct fa_run r;
    run(&r, "threaded", NULL, NULL);
    assert_string_equal(r.out, "threaded \n"); /* the children _exit: nothing doubled */
    int stdout_records = 0;
    for (int i = 0;; i++) {
        json_t *rec = fa_find_kind(r.records, KIND, i);
        if (!rec) break;
        json_t *st = json_object_get(rec, "stream");
        if (fa_int(st, "fd") != 1) continue; /* a churned stream caught with its byte */
        stdout_records++;
        assert_int_equal(fa_int(st, "pending_bytes"), 9);
    }
    assert_int_equal(stdout_records, 20);
    assert_int_equal(fa_count_kind(r.records, "threads-at-fork"), 20);
    fa_run_free(&r);
}

static void a_daemon_whose_parent_exits_at_once_is_not_reported(void **state)
{
    (void)state;
    struct fa_run r;
    run(&r, "daemon", NULL, "verbosity=1"); /* the parent's records: written before it _exits */
    json_t *note = fa_find_kind(r.records, "fork", 0); /* its fork was audited */
    assert_non_null(note);
    assert_string_equal(fa_str(json_object_get(note, "fork"), "via"), "atfork");
    assert_int_equal(fa_count_kind(r.records, KIND), 0);
    fa_run_free(&r);
}

/* The text of the run's log files (format=text), concatenated; free() it. */
static char *read_logs(const struct fa_run *r)
{
    char *all = calloc(1, 1);
    DIR *d = opendir(r->dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "log.", 4) != 0) continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
        char *text = fa_read_file(path);
        char *both = malloc(strlen(all) + strlen(text) + 1);
        assert_non_null(both);
        strcpy(both, all);
        strcat(both, text);
        free(all);
        free(text);
        all = both;
    }
    closedir(d);
    return all;
}

static void text_names_the_stream_its_bytes_and_what_the_child_does(void **state)
{
    (void)state;
    char log[128];
    log_path(log, sizeof log, "text");
    struct fa_run r;
    run(&r, "pending", log, "format=text");
    char *text = read_logs(&r);
    assert_non_null(strstr(text, "WARNING: " KIND ": stdout holds 9 bytes of output not yet written at fork #1"));
    char line[256];
    snprintf(line, sizeof line, "WARNING: " KIND ": %s holds 15 bytes of output not yet written at fork #1", log);
    assert_non_null(strstr(text, line));
    assert_non_null(strstr(text, "  stdout on fd 1 -> "));
    assert_non_null(strstr(text, ": the stream on fd "));
    assert_non_null(strstr(text, " -> pipe:["));
    assert_non_null(strstr(text, "suppress with: " KIND ":open_pipe"));
    assert_non_null(strstr(text, "(pipe, fully buffered"));
    assert_non_null(strstr(text, "a child that only execs or _exits never flushes them"));
    assert_non_null(strstr(text, "==   opened by fopen at:\n"));
    assert_non_null(strstr(text, " in open_log+"));
    assert_non_null(strstr(text, "suppress with: " KIND ":stdout"));
    assert_non_null(strstr(text, "SUMMARY: forkaudit: fork #1"));
    assert_non_null(strstr(text, "0 errors, 4 warnings"));
    free(text);
    unlink(log);
    fa_run_free(&r);
}

static void a_suppressed_stream_is_not_reported(void **state)
{
    (void)state;
    char log[128];
    log_path(log, sizeof log, "suppressed");
    char rules[128], options[160];
    log_path(rules, sizeof rules, "rules");
    FILE *f = fopen(rules, "w");
    assert_non_null(f);
    fputs(KIND ":open_log\n", f); /* a function of the stream's opening stack */
    fclose(f);
    snprintf(options, sizeof options, "suppressions=%s", rules);
    struct fa_run r;
    run(&r, "pending", log, options);
    assert_int_equal(fa_count_kind(r.records, KIND), 2); /* stdout and the pipe */
    assert_null(record_to(r.records, log));
    unlink(rules);
    unlink(log);
    fa_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_output_on_a_pipe_and_a_file_is_reported_per_stream),
        cmocka_unit_test(an_unfinished_line_on_a_terminal_is_reported_line_buffered),
        cmocka_unit_test(whole_lines_on_a_terminal_and_flushed_files_are_clean),
        cmocka_unit_test(streams_past_the_table_are_counted_in_the_fork_note),
        cmocka_unit_test(a_list_another_thread_changes_is_read_at_every_fork),
        cmocka_unit_test(a_daemon_whose_parent_exits_at_once_is_not_reported),
        cmocka_unit_test(text_names_the_stream_its_bytes_and_what_the_child_does),
        cmocka_unit_test(a_suppressed_stream_is_not_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
