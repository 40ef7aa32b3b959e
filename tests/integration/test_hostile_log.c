/* Hostile programs against the auditor's log (issue 6, items 1, 2, 3 and 11): a daemon
 * that closes every descriptor, a program that puts its own file on the log's descriptor,
 * a fork storm, and log files planted by someone else or named by the caller of a
 * set-user-ID program. Each test compares what the program did (output, files, exit) with
 * an unaudited run and checks that every record still reached the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define DEADLINE 30
#define STORM_DEADLINE 300 /* a hang fails the test; 10,000 audited forks take seconds */

/* A fresh directory for a program's own files (or logs), mode 0755 so a set-user-ID
 * program can reach it. Returns a static buffer of four in rotation. */
static const char *new_dir(void)
{
    static char dirs[4][64];
    static int next;
    char *d = dirs[next++ % 4];
    snprintf(d, 64, "/tmp/forkaudit-hostile.XXXXXX");
    assert_non_null(mkdtemp(d));
    assert_int_equal(chmod(d, 0755), 0);
    return d;
}

static void remove_dir(const char *dir)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The whole file (NUL-terminated, its length in *len), or NULL when it does not exist. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (cap - n < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) break;
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* Fails unless `name` has the same bytes in both directories (and exists). */
static void assert_same_file(const char *plain_dir, const char *audited_dir, const char *name)
{
    size_t n1 = 0, n2 = 0;
    char *a = slurp(plain_dir, name, &n1), *b = slurp(audited_dir, name, &n2);
    assert_non_null(a);
    assert_non_null(b);
    if (n1 != n2 || memcmp(a, b, n1) != 0)
        fail_msg("%s differs:\n--- plain\n%s\n--- audited\n%s", name, a, b);
    free(a);
    free(b);
}

/* The JSON records among lines of text (stderr, when the log goes there). */
static json_t *records_in_text(const char *text)
{
    json_t *all = json_array();
    char *copy = strdup(text);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] != '{') continue;
        json_t *rec = json_loads(line, 0, NULL);
        if (!rec) fail_msg("record on stderr is not valid JSON: %.200s", line);
        json_array_append_new(all, rec);
    }
    free(copy);
    return all;
}

static int count_substr(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* Checks the fds-at-fork records: exactly `forks` of them, all from one process, with
 * the fork numbers 1..forks once each, none listing a log file of the auditor. Returns
 * the reporting pid. */
static long assert_every_fork_reported(json_t *records, int forks)
{
    assert_int_equal(fa_count_kind(records, "fds-at-fork"), forks);
    char *seen = calloc((size_t)forks + 1, 1);
    long pid = -1;
    for (int i = 0; i < forks; i++) {
        json_t *rec = fa_find_kind(records, "fds-at-fork", i);
        if (pid < 0) pid = fa_int(rec, "pid");
        assert_int_equal(fa_int(rec, "pid"), pid);
        long long seq = fa_int(json_object_get(rec, "fork"), "seq");
        if (seq < 1 || seq > forks || seen[seq]) fail_msg("fork seq %lld missing or repeated", seq);
        seen[seq] = 1;
        size_t k;
        json_t *fd;
        json_array_foreach(json_object_get(rec, "fds"), k, fd)
        {
            const char *target = fa_str(fd, "target");
            if (target && (strstr(target, "/log.") || strstr(target, "forkaudit-test.")))
                fail_msg("fds-at-fork lists the auditor's log: fd %lld -> %s", fa_int(fd, "fd"), target);
        }
    }
    free(seen);
    return pid;
}

/* The fds-at-fork record of fork number `seq`, or NULL. */
static json_t *fork_record(json_t *records, long long seq)
{
    json_t *rec;
    for (int i = 0; (rec = fa_find_kind(records, "fds-at-fork", i)) != NULL; i++)
        if (fa_int(json_object_get(rec, "fork"), "seq") == seq) return rec;
    return NULL;
}

/* Descriptors of a record whose target is `path`. */
static int fds_naming(json_t *rec, const char *path)
{
    int n = 0;
    size_t k;
    json_t *fd;
    json_array_foreach(json_object_get(rec, "fds"), k, fd)
    {
        const char *target = fa_str(fd, "target");
        if (target && strcmp(target, path) == 0) n++;
    }
    return n;
}

static const char daemon_data[] = "daemon started\nchild 1 ran\nparent after fork 1\nchild 2 ran\nparent after fork 2\n";

/* Item 1: the daemon closes every descriptor from 3 up in each way a daemon does it. The
 * interposed close() is refused for the log (as without the auditor, where the number is
 * not open: EBADF); the others close the log behind our back and it is reopened. */
static void daemon_closing_every_descriptor(void **state)
{
    (void)state;
    const char *modes[] = {"loop", "raw", "close_range", "closefrom"};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        const char *plain_dir = new_dir(), *audited_dir = new_dir();
        const char *plain_argv[] = {fa_build_path("tests/progs/hostile_daemon"), modes[m], plain_dir, NULL};
        const char *audited_argv[] = {plain_argv[0], modes[m], audited_dir, NULL};
        struct fa_run plain, audited;
        assert_int_equal(fa_run_plain(&plain, plain_argv, DEADLINE), 0);
        assert_int_equal(fa_run_audited(&audited, audited_argv, NULL, DEADLINE), 0);
        print_message("%s: exit %d, stdout %s", modes[m], audited.status, audited.out);
        fa_assert_same_behaviour(&plain, &audited);
        assert_int_equal(audited.status, 0);
        assert_int_equal(fa_out_value(&audited, "data_fd"), 3); /* the numbers it gets alone */
        assert_int_equal(fa_out_value(&audited, "state_fd"), 4);
        assert_same_file(plain_dir, audited_dir, "data.txt");
        assert_same_file(plain_dir, audited_dir, "state.bin");
        char *data = slurp(audited_dir, "data.txt", NULL);
        assert_string_equal(data, daemon_data);
        free(data);

        /* three forks, three findings; the later two name the daemon's new files */
        assert_every_fork_reported(audited.records, 3);
        char data_path[300], state_path[300];
        snprintf(data_path, sizeof data_path, "%s/data.txt", audited_dir);
        snprintf(state_path, sizeof state_path, "%s/state.bin", audited_dir);
        for (int seq = 2; seq <= 3; seq++) {
            json_t *rec = fork_record(audited.records, seq);
            assert_non_null(rec);
            assert_int_equal(fds_naming(rec, data_path), 1);
            assert_int_equal(fds_naming(rec, state_path), 1);
        }
        assert_string_equal(audited.err, ""); /* the log was reopened, nothing on stderr */
        fa_run_free(&plain);
        fa_run_free(&audited);
        remove_dir(plain_dir);
        remove_dir(audited_dir);
    }
}

/* Item 1 with a relative log_path: after the daemon's chdir("/") and close_range the log is
 * reopened where it was, not as /log.<pid>. */
static void daemon_moving_to_root_keeps_a_relative_log_in_place(void **state)
{
    (void)state;
    const char *files = new_dir(), *logs = new_dir();
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    const char *argv[] = {fa_build_path("tests/progs/hostile_daemon"), "close_range", files, NULL};
    struct fa_run r;
    assert_int_equal(chdir(logs), 0); /* the program starts there */
    fa_run_audited(&r, argv, "log_path=log.%p", DEADLINE);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(r.status, 0);
    DIR *d = opendir(logs);
    assert_non_null(d);
    int files_seen = 0;
    char name[300] = "";
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, "log.", 4) == 0) {
            files_seen++;
            snprintf(name, sizeof name, "%s", e->d_name);
        }
    closedir(d);
    assert_int_equal(files_seen, 1);
    char *text = slurp(logs, name, NULL);
    json_t *records = records_in_text(text);
    long pid = assert_every_fork_reported(records, 3);
    char stray[64];
    snprintf(stray, sizeof stray, "/log.%ld", pid);
    struct stat st;
    if (lstat(stray, &st) == 0) {
        unlink(stray);
        fail_msg("the reopened log went to %s", stray);
    }
    json_decref(records);
    free(text);
    fa_run_free(&r);
    remove_dir(files);
    remove_dir(logs);
}

/* Item 2: a file of the program's own put on the log's descriptor, by an interposed dup2
 * (it succeeds, as without the auditor; the log is reopened at another number), by the raw
 * dup3 system call (the log is replaced behind our back: reopened), and onto every open
 * descriptor. */
static void program_file_on_the_log_descriptor(void **state)
{
    (void)state;
    const char *modes[] = {"scan", "scan-raw", "all"};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        const char *plain_dir = new_dir(), *audited_dir = new_dir();
        const char *plain_argv[] = {fa_build_path("tests/progs/hostile_dup2"), modes[m], plain_dir, NULL};
        const char *audited_argv[] = {plain_argv[0], modes[m], audited_dir, NULL};
        struct fa_run plain, audited;
        assert_int_equal(fa_run_plain(&plain, plain_argv, DEADLINE), 0);
        assert_int_equal(fa_run_audited(&audited, audited_argv, NULL, DEADLINE), 0);
        print_message("%s: exit %d, stdout %s", modes[m], audited.status, audited.out);
        fa_assert_same_behaviour(&plain, &audited);
        assert_int_equal(audited.status, 0);
        assert_same_file(plain_dir, audited_dir, "data.txt");
        char *data = slurp(audited_dir, "data.txt", NULL);
        assert_string_equal(data, "opened\ncovered\nchild\nparent\nchild\nparent\n");
        free(data);
        assert_every_fork_reported(audited.records, 3);
        char data_path[300];
        snprintf(data_path, sizeof data_path, "%s/data.txt", audited_dir);
        /* After the dup2 (as without the auditor, it succeeds) or the raw dup3 the old log
         * number is the program's file, and listed as such at the very next fork. ("all"
         * covered libunwind's two pipe ends too while they stayed open between unwinds:
         * 4; they exist only during an unwind now, issue 14 item 11.) */
        json_t *second = fork_record(audited.records, 2);
        assert_non_null(second);
        assert_int_equal(fds_naming(second, data_path), 2);
        fa_run_free(&plain);
        fa_run_free(&audited);
        remove_dir(plain_dir);
        remove_dir(audited_dir);
    }
}

/* Runs hostile_dup2 in `mode` without and with the auditor, each with a directory of its
 * own, and checks that the auditor changed nothing the program did. */
struct dup2_runs {
    const char *plain_dir, *audited_dir;
    struct fa_run plain, audited;
};

static void run_dup2_both_ways(struct dup2_runs *r, const char *mode)
{
    r->plain_dir = new_dir();
    r->audited_dir = new_dir();
    const char *plain_argv[] = {fa_build_path("tests/progs/hostile_dup2"), mode, r->plain_dir, NULL};
    const char *audited_argv[] = {plain_argv[0], mode, r->audited_dir, NULL};
    assert_int_equal(fa_run_plain(&r->plain, plain_argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&r->audited, audited_argv, NULL, DEADLINE), 0);
    fa_assert_same_behaviour(&r->plain, &r->audited);
}

static void free_dup2_runs(struct dup2_runs *r)
{
    fa_run_free(&r->plain);
    fa_run_free(&r->audited);
    remove_dir(r->plain_dir);
    remove_dir(r->audited_dir);
}

/* dup2 onto every number from 3 to 100 succeeds as it does without the auditor: its own
 * descriptors are given up (the log reopens at another number, stacks become call sites),
 * and every fork still reaches the log. */
static void dup2_onto_any_number_succeeds_as_without_the_auditor(void **state)
{
    (void)state;
    struct dup2_runs r;
    run_dup2_both_ways(&r, "numbers");
    assert_int_equal(fa_out_value(&r.audited, "dup2_failures"), 0);
    assert_same_file(r.plain_dir, r.audited_dir, "data.txt");
    assert_every_fork_reported(r.audited.records, 3);
    free_dup2_runs(&r);
}

/* Under `ulimit -n 16` the auditor's descriptors go to the top of the range: the program's
 * opens get 3, 4, 5 as without it, and the fork between them is reported. */
static void a_low_descriptor_limit_keeps_the_programs_numbers(void **state)
{
    (void)state;
    struct dup2_runs r;
    run_dup2_both_ways(&r, "lowlimit");
    assert_int_equal(fa_out_value(&r.audited, "fd0"), 3);
    assert_int_equal(fa_out_value(&r.audited, "fd1"), 4);
    assert_int_equal(fa_out_value(&r.audited, "fd2"), 5);
    assert_int_equal(fa_count_kind(r.audited.records, "fds-at-fork"), 1);
    free_dup2_runs(&r);
}

/* A daemon closes everything (close_range, unseen by any wrapper) and its next opens get
 * the numbers of libunwind's memory-probing pipe: libunwind reads one byte from that pipe
 * and writes one into it when it validates memory. The auditor notices before its next
 * unwind and stops unwinding: no file of the program is read or written, and both forks
 * are still reported. */
static void program_files_on_the_unwinders_numbers_are_never_touched(void **state)
{
    (void)state;
    struct dup2_runs r;
    run_dup2_both_ways(&r, "refill");
    assert_int_equal(fa_out_value(&r.audited, "files_touched"), 0);
    assert_int_equal(fa_count_kind(r.audited.records, "fds-at-fork"), 2);
    free_dup2_runs(&r);
}

/* "key=N" from a file of such lines, or -1. */
static long file_value(const char *text, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s=", key);
    const char *p = strstr(text, pattern);
    return p ? strtol(p + strlen(pattern), NULL, 10) : -1;
}

/* Item 3: 10,000 fork/_exit/wait cycles (after 50 to warm up) with a descriptor every
 * child inherits. Slack, because the kernel may still fault in a page or two of ours
 * late (a deeper stack, a page of the descriptor table touched once): VmSize may not
 * grow at all (no mapping leaks), VmRSS by at most 64 kB, where a leak of one page per
 * fork would be 40 MB. */
#define STORM_FORKS 10000
#define WARM_UP 50
#define RSS_SLACK_KB 64

static void fork_storm_leaks_nothing_and_logs_every_fork(void **state)
{
    (void)state;
    const char *dir = new_dir();
    char plain_stats[300], audited_stats[300], forks[16];
    snprintf(plain_stats, sizeof plain_stats, "%s/plain", dir);
    snprintf(audited_stats, sizeof audited_stats, "%s/audited", dir);
    snprintf(forks, sizeof forks, "%d", STORM_FORKS);
    const char *plain_argv[] = {fa_build_path("tests/progs/hostile_fork_storm"), forks, plain_stats, NULL};
    const char *audited_argv[] = {plain_argv[0], forks, audited_stats, NULL};
    struct fa_run plain, audited;
    assert_int_equal(fa_run_plain(&plain, plain_argv, STORM_DEADLINE), 0);
    assert_int_equal(fa_run_audited(&audited, audited_argv, NULL, STORM_DEADLINE), 0);
    fa_assert_same_behaviour(&plain, &audited);
    assert_int_equal(fa_out_value(&audited, "forks"), STORM_FORKS + WARM_UP);

    char *stats = slurp(dir, "audited", NULL);
    assert_non_null(stats);
    print_message("audited parent:\n%s", stats);
    long fds0 = file_value(stats, "fds_before"), fds1 = file_value(stats, "fds_after");
    long size0 = file_value(stats, "vmsize_before"), size1 = file_value(stats, "vmsize_after");
    long rss0 = file_value(stats, "vmrss_before"), rss1 = file_value(stats, "vmrss_after");
    assert_true(fds0 > 0 && size0 > 0 && rss0 > 0);
    assert_int_equal(fds1, fds0);
    assert_int_equal(size1, size0);
    if (rss1 - rss0 > RSS_SLACK_KB) fail_msg("VmRSS grew by %ld kB over %d forks", rss1 - rss0, STORM_FORKS);
    free(stats);

    assert_every_fork_reported(audited.records, STORM_FORKS + WARM_UP);
    fa_run_free(&plain);
    fa_run_free(&audited);
    remove_dir(dir);
}

/* The log_path contract still holds: a path without %p gets ".<pid>", %p anywhere is the
 * pid; the file is created 0600 even under umask 0. */
static void log_files_are_named_by_pid_and_private(void **state)
{
    (void)state;
    const char *logs = new_dir();
    const char *argv[] = {fa_build_path("tests/progs/hostile_setuid"), NULL};
    const char *templates[] = {"plain", "x-%p.log"};
    mode_t old = umask(0);
    for (int i = 0; i < 2; i++) {
        char opts[400];
        snprintf(opts, sizeof opts, "log_path=%s/%s", logs, templates[i]);
        struct fa_run r;
        fa_run_audited(&r, argv, opts, DEADLINE);
        assert_int_equal(r.status, 0);
        char name[64];
        json_t *rec = NULL;
        /* the one fork's record is in the file named for the pid it reports */
        DIR *d = opendir(logs);
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.') continue;
            char *text = slurp(logs, e->d_name, NULL);
            json_t *records = records_in_text(text);
            json_t *found = fa_find_kind(records, "fds-at-fork", 0);
            if (found) {
                snprintf(name, sizeof name, i == 0 ? "plain.%lld" : "x-%lld.log", fa_int(found, "pid"));
                assert_string_equal(e->d_name, name);
                struct stat st;
                char path[400];
                snprintf(path, sizeof path, "%s/%s", logs, e->d_name);
                assert_int_equal(stat(path, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0600);
                rec = found;
                unlink(path);
            }
            json_decref(records);
            free(text);
        }
        closedir(d);
        assert_non_null(rec);
        fa_run_free(&r);
    }
    umask(old);
    remove_dir(logs);
}

/* Runs hostile_setuid through hostile_plant, which plants `what` at the log path first;
 * the records must come on stderr with one line saying `why`, and the program's output
 * and exit must be those of a plain run. */
static void run_with_planted_log(const char *what, const char *why, const char *logs)
{
    const char *prog = fa_build_path("tests/progs/hostile_setuid");
    const char *plain_argv[] = {prog, NULL};
    const char *argv[] = {fa_build_path("tests/progs/hostile_plant"), what, prog, NULL};
    char opts[400];
    snprintf(opts, sizeof opts, "log_path=%s/log.%%p", logs);
    struct fa_run plain, r;
    assert_int_equal(fa_run_plain(&plain, plain_argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&r, argv, opts, DEADLINE), 0);
    print_message("%s: stderr:\n%.300s\n", what, r.err);
    assert_false(r.timed_out);
    assert_int_equal(r.status, plain.status);
    assert_string_equal(r.out, plain.out);
    assert_int_equal(count_substr(r.err, why), 1);
    assert_int_equal(count_substr(r.err, "writing to stderr instead"), 1);
    json_t *records = records_in_text(r.err);
    assert_every_fork_reported(records, 1);
    json_decref(records);
    fa_run_free(&plain);
    fa_run_free(&r);
}

/* Item 11: a symbolic link planted at the log path is not followed; its target keeps its
 * bytes. */
static void planted_symlink_is_not_followed(void **state)
{
    (void)state;
    const char *logs = new_dir();
    char target[300], what[320];
    snprintf(target, sizeof target, "%s/target", logs);
    FILE *f = fopen(target, "w");
    fputs("precious\n", f);
    fclose(f);
    snprintf(what, sizeof what, "symlink:%s", target);
    run_with_planted_log(what, "': it is a symbolic link (not followed)", logs);
    char *text = slurp(logs, "target", NULL);
    assert_string_equal(text, "precious\n");
    free(text);
    remove_dir(logs);
}

/* Item 11: a file of another owner at the log path is not appended to (root can chown). */
static void planted_file_of_another_owner_is_not_appended_to(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("skipped: planting a file of another owner needs root\n");
        skip();
    }
    const char *logs = new_dir();
    run_with_planted_log("foreign", "': it exists and belongs to another user, uid 65534", logs);
    DIR *d = opendir(logs);
    int checked = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "log.", 4) != 0) continue;
        char *text = slurp(logs, e->d_name, NULL);
        assert_string_equal(text, "not yours\n");
        free(text);
        checked++;
    }
    closedir(d);
    assert_int_equal(checked, 1);
    remove_dir(logs);
}

/* A FIFO planted at the log path: opening it for writing would block forever. */
static void planted_fifo_does_not_block(void **state)
{
    (void)state;
    const char *logs = new_dir();
    run_with_planted_log("fifo", "': open failed: No such device or address (ENXIO)", logs); /* ENXIO: no reader */
    remove_dir(logs);
}

/* Item 11 for real: a set-user-ID copy of a program (owner 65534, so euid != ruid and the
 * kernel sets AT_SECURE) with the library preloaded the only way glibc allows in secure
 * mode: a set-user-ID copy in a standard directory, named without a slash. */
static char secure_lib[128], secure_dir[64];

static int remove_secure_copies(void **state)
{
    (void)state;
    if (secure_lib[0]) unlink(secure_lib);
    if (secure_dir[0]) remove_dir(secure_dir);
    secure_lib[0] = secure_dir[0] = 0;
    return 0;
}

static void setuid_program_ignores_file_options(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("skipped: installing a set-user-ID copy of the library needs root\n");
        skip();
    }
    if (getenv("FORKAUDIT_TEST_PRELOAD")) {
        /* the sanitizer runtime would have to be a set-user-ID object in /usr/lib too */
        print_message("skipped: not with a preloaded sanitizer runtime (make check-asan)\n");
        skip();
    }
    snprintf(secure_lib, sizeof secure_lib, "/usr/lib/x86_64-linux-gnu/libforkaudit-test-%d.so", (int)getpid());
    snprintf(secure_dir, sizeof secure_dir, "%s", new_dir());
    char cmd[1024], prog[128], logs[128];
    snprintf(prog, sizeof prog, "%s/prog", secure_dir);
    snprintf(logs, sizeof logs, "%s/logs", secure_dir);
    snprintf(cmd, sizeof cmd,
             "cp '%s' '%s' && chmod 04755 '%s' && cp '%s' '%s' && chown 65534:65534 '%s' && chmod 04755 '%s' && "
             "mkdir '%s' && chmod 0777 '%s'",
             fa_build_path("libforkaudit.so"), secure_lib, secure_lib, fa_build_path("tests/progs/hostile_setuid"), prog,
             prog, prog, logs, logs);
    assert_int_equal(system(cmd), 0);

    const char *argv[] = {prog, NULL};
    const char *lib_name = strrchr(secure_lib, '/') + 1; /* contains "forkaudit": options set */
    char opts[400];
    snprintf(opts, sizeof opts, "log_path=%s/log.%%p:suppressions=%s/rules", logs, logs);
    struct fa_run plain, r;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_preloaded(&r, argv, lib_name, opts, DEADLINE), 0);
    print_message("stdout:\n%sstderr:\n%.400s\n", r.out, r.err);
    if (fa_out_value(&r, "secure") != 1) fail_msg("the set-user-ID copy did not run in secure mode");
    assert_int_equal(r.status, plain.status);
    assert_string_equal(r.out, plain.out);
    assert_int_equal(count_substr(r.err, "forkaudit: secure execution"), 1);
    assert_int_equal(count_substr(r.err, "ignoring log_path, suppressions from FORKAUDIT_OPTIONS"), 1);
    json_t *records = records_in_text(r.err);
    assert_every_fork_reported(records, 1);
    json_decref(records);
    DIR *d = opendir(logs);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') fail_msg("a file was created in the log directory: %s", e->d_name);
    closedir(d);
    fa_run_free(&plain);
    fa_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(daemon_closing_every_descriptor),
        cmocka_unit_test(daemon_moving_to_root_keeps_a_relative_log_in_place),
        cmocka_unit_test(program_file_on_the_log_descriptor),
        cmocka_unit_test(dup2_onto_any_number_succeeds_as_without_the_auditor),
        cmocka_unit_test(a_low_descriptor_limit_keeps_the_programs_numbers),
        cmocka_unit_test(program_files_on_the_unwinders_numbers_are_never_touched),
        cmocka_unit_test(fork_storm_leaks_nothing_and_logs_every_fork),
        cmocka_unit_test(log_files_are_named_by_pid_and_private),
        cmocka_unit_test(planted_symlink_is_not_followed),
        cmocka_unit_test(planted_file_of_another_owner_is_not_appended_to),
        cmocka_unit_test(planted_fifo_does_not_block),
        cmocka_unit_test_teardown(setuid_program_ignores_file_options, remove_secure_copies),
    };
    return cmocka_run_group_tests_name("hostile_log", tests, NULL, NULL);
}
