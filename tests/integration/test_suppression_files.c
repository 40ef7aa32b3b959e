/* Integration tests of the suppressions file itself (issue 12 item 8, issue 14 item 9):
 * what is read and what each problem says. The file is opened with O_NONBLOCK and read
 * only when it is a regular file (a FIFO without a writer, /dev/stdin on a pipe,
 * /dev/zero are refused with one note, and never block or fill the program), at most
 * 1 MiB (one note past it); past 256 rules one note; a line with an unknown kind or bad
 * syntax is named with its file and line number; errors are named as strerror names them.
 * Each case runs lock_held_by_worker (a lock-held-at-fork error, a threads-at-fork
 * warning) and parses its stderr: exactly one note naming the file, and the records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char tmpdir[] = "/tmp/forkaudit-suppfiles.XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in_tmp(const char *name)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Runs the worker program with suppressions=PATH; fails unless it ran to its end with
 * status 0 (nothing blocked) and stderr holds exactly one line naming the file, which
 * contains `said`. */
static void run_with_rules(struct fa_run *r, const char *path, const char *said)
{
    char options[400], head[400];
    snprintf(options, sizeof options, "suppressions=%s", path);
    const char *argv[] = {fa_build_path("tests/progs/lock_held_by_worker"), NULL};
    assert_int_equal(fa_run_audited(r, argv, options, 20), 0);
    assert_false(r->timed_out);
    assert_int_equal(r->status, 0);
    snprintf(head, sizeof head, "forkaudit: suppressions file '%s'", path);
    int lines = 0;
    const char *note = NULL;
    for (const char *p = r->err; (p = strstr(p, head)); p += strlen(head)) {
        lines++;
        note = p;
    }
    if (lines != 1 || !strstr(note, said) || strchr(note, '\n') < strstr(note, said))
        fail_msg("expected one note with \"%s\", got %d:\n%s", said, lines, r->err);
}

static void a_directory_is_said_to_be_one(void **state)
{
    (void)state;
    struct fa_run r;
    run_with_rules(&r, tmpdir, "': is a directory; no suppressions\n");
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 1);
    fa_run_free(&r);
}

static void a_fifo_without_writer_is_refused_not_waited_for(void **state)
{
    (void)state;
    const char *fifo = path_in_tmp("rules.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    struct fa_run r;
    run_with_rules(&r, fifo, "': is a FIFO (a pipe), not a regular file; no suppressions\n");
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 1);
    fa_run_free(&r);
}

static void dev_zero_and_dev_stdin_are_refused(void **state)
{
    (void)state;
    struct fa_run r;
    run_with_rules(&r, "/dev/zero", "': is a character device, not a regular file; no suppressions\n");
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 1);
    fa_run_free(&r);
    /* /dev/stdin on a pipe (the program inherits fd 0 from this process). */
    int p[2], saved = dup(0);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(dup2(p[0], 0), 0);
    run_with_rules(&r, "/dev/stdin", "': is a FIFO (a pipe), not a regular file; no suppressions\n");
    dup2(saved, 0);
    close(saved);
    close(p[0]);
    close(p[1]);
    fa_run_free(&r);
}

static void open_errors_are_named(void **state)
{
    (void)state;
    struct fa_run r;
    run_with_rules(&r, path_in_tmp("missing.supp"),
                   "': cannot be opened: No such file or directory (ENOENT); no suppressions\n");
    assert_null(strstr(r.err, "errno"));
    fa_run_free(&r);
    run_with_rules(&r, "/etc/passwd/rules", "': cannot be opened: Not a directory (ENOTDIR); no suppressions\n");
    fa_run_free(&r);
    if (geteuid() != 0) {
        const char *closed = path_in_tmp("closed.supp");
        write_file(closed, "lock-held-at-fork:x\n", 20);
        assert_int_equal(chmod(closed, 0), 0);
        run_with_rules(&r, closed, "': cannot be opened: Permission denied (EACCES); no suppressions\n");
        fa_run_free(&r);
    }
}

static void a_file_past_1_mib_is_read_to_1_mib(void **state)
{
    (void)state;
    /* The lock's rule first, 2 MiB of comments, then the thread's rule: only the first
     * rule is in the first 1 MiB. */
    size_t len = 2u << 20;
    char *text = malloc(len + 64);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "lock-held-at-fork:hold_in_*\n");
    while (n < len) n += (size_t)sprintf(text + n, "# %060zu\n", n);
    n += (size_t)sprintf(text + n, "threads-at-fork:worker_main\n");
    const char *big = path_in_tmp("big.supp");
    write_file(big, text, n);
    free(text);
    struct fa_run r;
    run_with_rules(&r, big, "': longer than 1 MiB: only the lines in its first 1 MiB are read\n");
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 0);
    assert_int_equal(fa_count_kind(r.records, "threads-at-fork"), 1);
    fa_run_free(&r);
}

static void rules_past_256_are_one_note(void **state)
{
    (void)state;
    static char text[300 * 48];
    size_t n = (size_t)sprintf(text, "lock-held-at-fork:hold_in_*\n");
    for (int i = 1; i < 300; i++) n += (size_t)sprintf(text + n, "rng-at-fork:no_such_function_%d\n", i);
    const char *many = path_in_tmp("many.supp");
    write_file(many, text, n);
    struct fa_run r;
    run_with_rules(&r, many, "' line 257: more than 256 rules: this rule and 43 more after it are ignored\n");
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 0); /* rule 1 applies */
    fa_run_free(&r);
}

static void unknown_kinds_and_bad_lines_name_file_and_line(void **state)
{
    (void)state;
    const char *bad = path_in_tmp("bad.supp");
    const char *text = "# ok\nlock-held-at-fork:hold_in_*\nlock-held:hold_in_*\n";
    write_file(bad, text, strlen(text));
    struct fa_run r;
    run_with_rules(&r, bad, "' line 3: 'lock-held' is not a kind (the kinds: lock-held-at-fork, threads-at-fork, ");
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 0);
    fa_run_free(&r);
    /* (a lock rule: under check-asan every thread's start routine is the sanitizer's) */
    text = "lock-held-at-fork:hold_in_*\n\nfork:anything\n";
    write_file(bad, text, strlen(text));
    run_with_rules(&r, bad, "' line 3: 'fork' is a note, never reported: nothing to suppress; line ignored\n");
    assert_int_equal(fa_count_kind(r.records, "lock-held-at-fork"), 0);
    fa_run_free(&r);
    text = "lock-held-at-fork:hold_in_*\nlock-held-at-fork\n";
    write_file(bad, text, strlen(text));
    run_with_rules(&r, bad, "' line 2: expected kind:pattern (no ':'); line ignored\n");
    fa_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_directory_is_said_to_be_one),
        cmocka_unit_test(a_fifo_without_writer_is_refused_not_waited_for),
        cmocka_unit_test(dev_zero_and_dev_stdin_are_refused),
        cmocka_unit_test(open_errors_are_named),
        cmocka_unit_test(a_file_past_1_mib_is_read_to_1_mib),
        cmocka_unit_test(rules_past_256_are_one_note),
        cmocka_unit_test(unknown_kinds_and_bad_lines_name_file_and_line),
    };
    return cmocka_run_group_tests_name("suppressions files", tests, setup, teardown);
}
