/* Hostile programs against the auditor's own limits (issue 14, items 1, 2, 3, 4, 8, 9, 11, 12 and 13): a
 * file-size limit the log reaches, exitcode=N with a buffered stdout, signal options that
 * name signals the program depends on, suppressions files that block, never end or hold
 * too many rules, concurrent forks while other audits have descriptors open, logs (a
 * stderr pipe, a FIFO) that nobody reads, a stderr the program replaced with its own file, a descriptor budget of 6. Each program runs without and with the auditor; the auditor must not
 * kill, hang or silence it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
    } cases[] = {{"dump_signal=15", 15}, {"dump_signal=10", 10}, {"stack_signal=2", 2}, {"dump_signal=11", 15},
                   {"stack_signal=9", 9}}; /* SIGKILL: cannot be caught at all */
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
    /* libunwind's pipe is made unfenced (the README's known window): a child of the very
     * moment it appears may get it; 1 of 1,600 was seen once in 5 whole-suite runs (255
     * of 1,600 before the fence). The program's own output is compared but for that count. */
    assert_int_equal(fa_out_value(&audited, "children"), fa_out_value(&plain, "children"));
    assert_int_equal(audited.status, plain.status);
    assert_int_equal(fa_out_value(&audited, "children"), 1600);
    assert_true(fa_out_value(&audited, "children_extra_fd") <= 2);
    assert_true(fa_count_kind(audited.records, "threads-at-fork") > 0); /* the audits did run */
    assert_int_equal(fa_count_kind(audited.records, "fds-at-fork"), 0);
    assert_string_equal(targets, "");
    fa_run_free(&plain);
    fa_run_free(&audited);
}

/* ---------------------------------------------------------------- item 2 */

/* A run whose log nobody reads: the program's stdin and stdout are pipes of the test, and
 * the log is either its stderr (a pipe the test drains only when it chooses) or a FIFO
 * whose reader, the test, is idle. */
struct piped {
    pid_t pid;
    int in, out, log; /* the test's ends: the program's stdin, stdout, and the log */
    char dir[64];
};

static void piped_start(struct piped *p, const char *const argv[], int fifo, int audited)
{
    snprintf(p->dir, sizeof p->dir, "/tmp/forkaudit-pipelog.XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    int in[2], out[2], err[2], go[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    assert_int_equal(pipe2(go, O_CLOEXEC), 0);
    char opts[256], errpath[128];
    snprintf(opts, sizeof opts, "format=json:fds=all:log_path=%s", fifo ? "" : "stderr");
    if (fifo) snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s/log.%%p", p->dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", p->dir);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        setpgid(0, 0);
        char c;
        if (read(go[0], &c, 1) != 1) _exit(126); /* the FIFO and its reader are there */
        int e = fifo ? open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600) : err[1];
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(e, 2);
        syscall(SYS_close_range, 3, ~0U, 0);
        const char *first = getenv("FORKAUDIT_TEST_PRELOAD");
        char preload[2048];
        snprintf(preload, sizeof preload, "%s%s%s", first ? first : "", first ? ":" : "", fa_build_path("libforkaudit.so"));
        if (audited) {
            setenv("LD_PRELOAD", preload, 1);
            setenv("FORKAUDIT_OPTIONS", opts, 1);
        } else if (first) {
            setenv("LD_PRELOAD", first, 1);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    setpgid(p->pid, p->pid);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    close(go[0]);
    p->in = in[1];
    p->out = out[0];
    p->log = err[0];
    if (fifo) {
        char path[128];
        snprintf(path, sizeof path, "%s/log.%d", p->dir, (int)p->pid);
        assert_int_equal(mkfifo(path, 0600), 0);
        close(p->log);
        p->log = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* the idle reader */
        assert_true(p->log >= 0);
    }
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
}

/* Appends what the log holds now (the program is blocked on its stdin, or gone), or with
 * `to_eof` everything until the last writer closes it (at most DEADLINE seconds). */
static void piped_drain(struct piped *p, char **text, size_t *len, int to_eof)
{
    fcntl(p->log, F_SETFL, O_NONBLOCK);
    *text = realloc(*text, *len + 1);
    assert_non_null(*text);
    for (time_t end = time(NULL) + DEADLINE; time(NULL) <= end;) {
        *text = realloc(*text, *len + 65537);
        assert_non_null(*text);
        ssize_t n = read(p->log, *text + *len, 65536);
        if (n > 0) {
            *len += (size_t)n;
            continue;
        }
        if (n == 0 || !to_eof) break; /* EOF; or nothing more queued */
        struct pollfd pf = {.fd = p->log, .events = POLLIN};
        poll(&pf, 1, 1000);
    }
    (*text)[*len] = 0;
}

/* Waits for the program's end (killing its group at the deadline); its exit status, or
 * -1 when it had to be killed or died of a signal. */
static int piped_finish(struct piped *p)
{
    int pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    struct pollfd pf = {.fd = pidfd, .events = POLLIN};
    int ready = pidfd >= 0 && poll(&pf, 1, DEADLINE * 1000) == 1;
    if (!ready) kill(-p->pid, SIGKILL);
    int status = 0;
    waitpid(p->pid, &status, 0);
    kill(-p->pid, SIGKILL);
    if (pidfd >= 0) close(pidfd);
    close(p->in);
    close(p->out);
    close(p->log);
    return ready && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Parses every line (each must be a whole JSON record); counts fds-at-fork records and
 * sums the fork notes' log_records_dropped. Returns the number of lines. */
static int parse_log(const char *text, int *fds_records, long *said_dropped, int *final_note)
{
    int lines = 0;
    *fds_records = 0;
    *said_dropped = 0;
    *final_note = 0;
    for (const char *l = text; *l;) {
        const char *eol = strchr(l, '\n');
        assert_non_null(eol); /* the last line is whole too */
        json_error_t err;
        json_t *rec = json_loadb(l, (size_t)(eol - l), 0, &err);
        if (!rec) fail_msg("not a JSON record: %.*s", (int)(eol - l > 200 ? 200 : eol - l), l);
        const char *kind = fa_str(rec, "kind");
        if (kind && strcmp(kind, "fds-at-fork") == 0) (*fds_records)++;
        if (kind && strcmp(kind, "fork") == 0) {
            long long d = fa_int(rec, "log_records_dropped");
            if (d > 0) *said_dropped += d;
            if (d > 0 && fa_int(json_object_get(rec, "fork"), "seq") == 201) *final_note = 1;
        }
        json_decref(rec);
        lines++;
        l = eol + 1;
    }
    return lines;
}

/* Item 2: a log nobody reads never blocks the program. log_path=stderr with stderr a pipe
 * the test drains only after the program's 200 forks (CI harnesses that read after
 * wait()), and a FIFO at the log path whose reader is idle: the program blocked forever
 * once 64 KiB were queued (fa_wait_for_line timed out); now the records that do not fit
 * are dropped, whole, and the next fork's note, once the test has drained the log, says
 * how many (log_records_dropped). The program's stderr keeps its blocking flag. */
static void log_nobody_reads_never_blocks(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "pipelog", "200", "wait", NULL};
    for (int fifo = 0; fifo < 2; fifo++) {
        struct piped p;
        piped_start(&p, argv, fifo, 1);
        int got = fa_wait_for_line(p.out, "forks=200", DEADLINE);
        char *text = NULL;
        size_t len = 0;
        if (got == 0) piped_drain(&p, &text, &len, 0);
        size_t first = len;
        assert_int_equal(write(p.in, "x", 1), 1);
        int final = fa_wait_for_line(p.out, "final_fork=1 stderr_nonblock=0", DEADLINE);
        piped_drain(&p, &text, &len, 1);
        int status = piped_finish(&p);
        int fds_records, final_note;
        long said;
        int lines = parse_log(text ? text : "", &fds_records, &said, &final_note);
        print_message("%s: forks=200 seen %d, final %d, status %d; %zu bytes before the drain, %d lines, %d fds-at-fork, "
                      "log_records_dropped %ld, in fork #201's note %d\n",
                      fifo ? "FIFO log, idle reader" : "log_path=stderr, a pipe", got == 0, final == 0, status, first,
                      lines, fds_records, said, final_note);
        assert_int_equal(got, 0);
        assert_int_equal(final, 0);
        assert_int_equal(status, 0);
        assert_true(fds_records > 0 && fds_records < 201);
        assert_true(said >= 201 - fds_records); /* every fds-at-fork record not received was counted */
        assert_int_equal(final_note, 1);
        free(text);
    }
}

/* Item 2, the log never drained before the program ends: plain and audited exit at once,
 * and with the FIFO log (stderr a file) one line at exit says how many were dropped. */
static void log_never_drained_until_exit(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "pipelog", "200", NULL};
    for (int run = 0; run < 3; run++) {
        int fifo = run == 2, audited = run > 0;
        struct piped p;
        piped_start(&p, argv, fifo, audited);
        int got = fa_wait_for_line(p.out, "final_fork=1 stderr_nonblock=0", DEADLINE);
        char *text = NULL;
        size_t len = 0;
        piped_drain(&p, &text, &len, 1);
        int status = piped_finish(&p);
        char errpath[128];
        snprintf(errpath, sizeof errpath, "%s/stderr", p.dir);
        char *err = fa_read_file(errpath);
        int fds_records, final_note;
        long said;
        if (audited) parse_log(text, &fds_records, &said, &final_note);
        print_message("%s: final_fork seen %d, status %d, %zu log bytes; stderr: %s\n",
                      !audited ? "plain" : fifo ? "FIFO log" : "log_path=stderr", got == 0, status, len, err);
        assert_int_equal(got, 0);
        assert_int_equal(status, 0);
        if (fifo) assert_non_null(strstr(err, " records were dropped: the log (a pipe or FIFO nobody was reading) would have blocked the program"));
        free(err);
        free(text);
    }
}

/* Item 12: log_path=stderr, and the program, like a daemon, closes 0-2 and opens its
 * data files, which get 0, 1 and 2, then forks with a finding: its files hold its own
 * lines only (before: the records went into data2, 6 bytes became 9,406 with 5 forks). Nothing is
 * written to a stdout/stderr that is no longer what the program was started with. */
static void reopened_stderr_is_not_written(void **state)
{
    (void)state;
    for (int audited = 0; audited < 2; audited++) {
        char dir[] = "/tmp/forkaudit-reopened.XXXXXX";
        assert_non_null(mkdtemp(dir));
        const char *argv[] = {prog(), "reopened", dir, NULL};
        struct fa_run r;
        if (audited) assert_int_equal(fa_run_audited(&r, argv, "log_path=stderr", DEADLINE), 0);
        else assert_int_equal(fa_run_plain(&r, argv, DEADLINE), 0);
        for (int i = 0; i < 3; i++) {
            char path[600], expected[32];
            snprintf(path, sizeof path, "%s/data%d", dir, i);
            snprintf(expected, sizeof expected, "data%d\n", i);
            char *text = fa_read_file(path);
            print_message("%s: exit %d status %d, %s holds %zu bytes\n", audited ? "audited" : "plain", r.exited,
                          r.status, path, strlen(text));
            assert_string_equal(text, expected);
            free(text);
            unlink(path);
        }
        assert_int_equal(r.exited, 1);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.err, "");
        rmdir(dir);
        fa_run_free(&r);
    }
}

/* Item 11: no descriptor of the auditor's exists between its uses. The program lists
 * /proc/self/fd at start-up, after its first open (the first stack unwound: libunwind's
 * memory-probing pipe was made then, and stayed: 2 extra) and after a fork, and then, run
 * again under RLIMIT_NOFILE 6, opens until it fails: 3 opens, as without the auditor (1
 * before: the pipe took 4 and 5). */
static void no_auditor_descriptor_between_uses(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "fdbudget", NULL};
    struct fa_run plain, audited;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&audited, argv, NULL, DEADLINE), 0);
    print_message("plain:\n%saudited:\n%s", plain.out, audited.out);
    fa_assert_same_behaviour(&plain, &audited);
    assert_int_equal(fa_out_value(&audited, "fds_at_start"), 0);
    assert_int_equal(fa_out_value(&audited, "fds_after_open"), 0);
    assert_int_equal(fa_out_value(&audited, "fds_after_fork"), 0);
    assert_int_equal(fa_out_value(&audited, "opens_under_6"), 3);
    fa_run_free(&plain);
    fa_run_free(&audited);
}

/* Item 13: 12 threads fork 100 times each at once with stack_signal, then with
 * child_watchdog: every fork's note counts the other threads (before: 2 and 8 of 1,200
 * said "threads":0, /proc/self/task cut after "." because another thread's audit had
 * signalled this one, and the child then took its parent for single-threaded). */
static void concurrent_forks_always_see_the_threads(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "concurrent", "12", "100", NULL};
    const char *options[] = {"verbosity=1:stack_signal=61", "verbosity=1:child_watchdog=1"};
    for (size_t k = 0; k < sizeof options / sizeof options[0]; k++) {
        struct fa_run r;
        assert_int_equal(fa_run_audited(&r, argv, options[k], DEADLINE), 0);
        int notes = 0, none = 0;
        size_t i;
        json_t *rec;
        json_array_foreach(r.records, i, rec) {
            const char *kind = fa_str(rec, "kind");
            if (!kind || strcmp(kind, "fork") != 0) continue;
            notes++;
            if (fa_int(rec, "threads") <= 0) none++;
        }
        print_message("%s: %d fork notes, %d with no threads; children %ld\n", options[k], notes, none,
                      fa_out_value(&r, "children"));
        assert_int_equal(r.status, 0);
        assert_int_equal(fa_out_value(&r, "children"), 1200);
        assert_int_equal(notes, 1200);
        assert_int_equal(none, 0);
        fa_run_free(&r);
    }
}

/* Minor item: a thread cancelled in pthread_cond_wait holds its mutex again (glibc retakes
 * it before the cleanup handlers run); its handler keeps it while the main thread forks:
 * the lock is reported, held by that thread (before: the auditor had marked it released
 * for the wait and never reported it). */
static void cancelled_condition_wait_keeps_the_mutex(void **state)
{
    (void)state;
    const char *argv[] = {prog(), "cancelled", NULL};
    struct fa_run plain, audited;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&audited, argv, NULL, DEADLINE), 0);
    print_message("audited: %s%d lock-held-at-fork\n", audited.out, fa_count_kind(audited.records, "lock-held-at-fork"));
    fa_assert_same_behaviour(&plain, &audited);
    assert_int_equal(fa_out_value(&audited, "lock_still_held"), 1);
    assert_int_equal(fa_count_kind(audited.records, "lock-held-at-fork"), 1);
    json_t *lock = json_object_get(fa_find_kind(audited.records, "lock-held-at-fork", 0), "lock");
    print_message("%s\n", json_dumps(lock, JSON_COMPACT));
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
        cmocka_unit_test(log_nobody_reads_never_blocks),
        cmocka_unit_test(log_never_drained_until_exit),
        cmocka_unit_test(reopened_stderr_is_not_written),
        cmocka_unit_test(no_auditor_descriptor_between_uses),
        cmocka_unit_test(concurrent_forks_always_see_the_threads),
        cmocka_unit_test(cancelled_condition_wait_keeps_the_mutex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
