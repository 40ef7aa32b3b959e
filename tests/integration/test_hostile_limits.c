/* Hostile programs against the auditor's own limits (issue 14, items 1, 3, 4, 8 and 9): a
 * file-size limit the log reaches, exitcode=N with a buffered stdout, signal options that
 * name signals the program depends on, suppressions files that block, never end or hold
 * too many rules, concurrent forks while other audits have descriptors open. Each program runs without and with the auditor; the auditor must not
 * kill, hang or silence it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define DEADLINE 60

static const char *prog(void) { return fa_build_path("tests/progs/hostile_limits"); }

static int count_substr(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* The size of the largest log file of a run. */
static long largest_log(const struct fa_run *r)
{
    long largest = -1;
    DIR *d = opendir(r->dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "log.", 4) != 0) continue;
        char path[600];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
        if (stat(path, &st) == 0 && st.st_size > largest) largest = st.st_size;
    }
    closedir(d);
    return largest;
}

/* Item 1: RLIMIT_FSIZE 16 KiB and 40 forks with a finding each. The log stops, whole, at
 * the limit (the harness parses every line), the program lives (it died of SIGXFSZ), and
 * stderr holds one note. */
static void log_reaching_the_file_size_limit(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "fsize", NULL};
    struct fa_run plain, audited;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&audited, argv, NULL, DEADLINE), 0);
    int reported = fa_count_kind(audited.records, "fds-at-fork");
    print_message("audited: exited %d status %d signal %d, %d records of 40 forks, log %ld bytes\nstderr: %s",
                  audited.exited, audited.status, audited.signal, reported, largest_log(&audited), audited.err);
    assert_int_equal(plain.signal, 0);
    assert_int_equal(plain.status, 0);
    assert_int_equal(audited.signal, 0);
    assert_int_equal(audited.exited, 1);
    assert_int_equal(audited.status, 0);
    assert_string_equal(audited.out, plain.out);
    assert_int_equal(fa_out_value(&audited, "forks"), 40);
    assert_true(reported > 0 && reported < 40);
    assert_true(largest_log(&audited) <= 16384);
    assert_int_equal(count_substr(audited.err, "\n"), 1);
    assert_non_null(strstr(audited.err, "forkaudit: the log reached the file-size limit (RLIMIT_FSIZE 16384 bytes)"));
    fa_run_free(&plain);
    fa_run_free(&audited);
}

/* Everything the program writes to the pipe `fd` until it closes it (or the deadline). */
static char *read_pipe(int fd)
{
    size_t cap = 65536, len = 0;
    char *buf = calloc(cap, 1);
    for (time_t end = time(NULL) + DEADLINE; len + 1 < cap && time(NULL) <= end;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) continue;
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    return buf;
}

/* Item 4: exitcode=7 and an error finding (a lock held by a worker at a fork). The
 * program's stdout is a pipe (fully buffered) and an atexit handler prints too: both
 * lines arrive and the status is 7 (before: nothing arrived, the status was 7). */
static void exitcode_keeps_the_programs_output(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "exitcode", NULL};
    static const char expected[] = "buffered line from main\natexit handler ran\n";
    struct fa_run plain, audited;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(plain.status, 0);
    assert_non_null(strstr(plain.out, expected)); /* after worker_tid=N */
    int out = -1;
    pid_t pid = fa_spawn_audited(&audited, argv, "exitcode=7", &out);
    char *text = read_pipe(out);
    fa_finish(&audited, pid, "exitcode=7", DEADLINE);
    print_message("audited: exited %d status %d signal %d, stdout through the pipe: \"%s\"\n", audited.exited,
                  audited.status, audited.signal, text);
    assert_int_equal(fa_count_kind(audited.records, "lock-held-at-fork"), 1);
    assert_int_equal(audited.exited, 1);
    assert_int_equal(audited.status, 7);
    assert_non_null(strstr(text, expected));
    assert_int_equal(strncmp(text, "worker_tid=", 11), 0);
    free(text);
    fa_run_free(&plain);
    fa_run_free(&audited);
}

/* Item 8: dump_signal and stack_signal naming a signal the program depends on (SIGTERM,
 * SIGUSR1, SIGINT: their default action ends it) are refused with one line on stderr; the
 * signal then ends the program as without the auditor (with dump_signal it wrote a state
 * record and went on). A real-time signal is still taken. */
static void signal_options_refuse_the_programs_signals(void **state)
{
    (void)state;
    static const struct {
        const char *option;
        int sig;
    } cases[] = {{"dump_signal=15", 15}, {"dump_signal=10", 10}, {"stack_signal=2", 2}, {"dump_signal=11", 15}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sig[8];
        snprintf(sig, sizeof sig, "%d", cases[i].sig);
        const char *argv[] = {prog(), "raise", sig, NULL};
        struct fa_run plain, audited;
        assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
        assert_int_equal(fa_run_audited(&audited, argv, cases[i].option, DEADLINE), 0);
        print_message("%s, signal %d: plain signal %d, audited exited %d signal %d, %d state records\nstderr: %s",
                      cases[i].option, cases[i].sig, plain.signal, audited.exited, audited.signal,
                      fa_count_kind(audited.records, "state"), audited.err);
        assert_int_equal(plain.signal, cases[i].sig);
        assert_int_equal(audited.signal, cases[i].sig);
        assert_string_equal(audited.out, plain.out);
        assert_int_equal(fa_count_kind(audited.records, "state"), 0);
        assert_int_equal(count_substr(audited.err, "\n"), 1);
        assert_non_null(strstr(audited.err, "expected 0 (off) or a real-time signal"));
        fa_run_free(&plain);
        fa_run_free(&audited);
    }
    /* SIGRTMIN+3, the documented choice, is still installed: no line on stderr */
    const char *argv[] = {prog(), "raise", "15", NULL};
    struct fa_run audited;
    assert_int_equal(fa_run_audited(&audited, argv, "dump_signal=37:stack_signal=61", DEADLINE), 0);
    assert_int_equal(audited.signal, 15);
    assert_string_equal(audited.err, "");
    fa_run_free(&audited);
}

/* The target of every descriptor of every fds-at-fork record, one a line. */
static void fd_targets(json_t *records, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec) {
        if (strcmp(fa_str(rec, "kind") ? fa_str(rec, "kind") : "", "fds-at-fork") != 0) continue;
        size_t k;
        json_t *fd;
        json_array_foreach(json_object_get(rec, "fds"), k, fd) {
            const char *t = fa_str(fd, "target");
            if (len + 200 < cap) len += (size_t)snprintf(out + len, cap - len, "%s\n", t ? t : "?");
        }
    }
}

/* Item 3: 8 threads fork 200 times each at once; every child's first open gets the
 * lowest number free in the parent (before: 255 of 1,600 children got 4-7, another
 * thread's audit had /proc/self/task, /proc/self/fd or a comm file open), and the program
 * has no descriptor of its own past 0-2, so no fds-at-fork record at all (before: 343,
 * naming /proc/PID/task, /proc/PID/fd, comm, maps files and libc.so.6 being symbolized). */
static void concurrent_forks_inherit_no_auditor_descriptor(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "concurrent", "8", "200", NULL};
    struct fa_run plain, audited;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&audited, argv, NULL, DEADLINE), 0);
    static char targets[1 << 16];
    fd_targets(audited.records, targets, sizeof targets);
    print_message("audited: children %ld, with an extra descriptor %ld; %d fds-at-fork records, %d threads-at-fork\n%s",
                  fa_out_value(&audited, "children"), fa_out_value(&audited, "children_extra_fd"),
                  fa_count_kind(audited.records, "fds-at-fork"), fa_count_kind(audited.records, "threads-at-fork"),
                  targets);
    fa_assert_same_behaviour(&plain, &audited);
    assert_int_equal(fa_out_value(&audited, "children"), 1600);
    assert_int_equal(fa_out_value(&audited, "children_extra_fd"), 0);
    assert_true(fa_count_kind(audited.records, "threads-at-fork") > 0); /* the audits did run */
    assert_int_equal(fa_count_kind(audited.records, "fds-at-fork"), 0);
    assert_string_equal(targets, "");
    fa_run_free(&plain);
    fa_run_free(&audited);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_reaching_the_file_size_limit),
        cmocka_unit_test(exitcode_keeps_the_programs_output),
        cmocka_unit_test(signal_options_refuse_the_programs_signals),
        cmocka_unit_test(concurrent_forks_inherit_no_auditor_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
