/* Integration tests of the state dump (option dump_signal): tests/progs/state_dump waits
 * for the signal with a worker holding a mutex; the test sends it when the program says
 * it is ready, then parses the state record back. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

struct dumped {
    struct fa_run r;
    char out[8192]; /* the program's stdout */
    int sig;
    long ready_pid;
};

/* Appends what fd delivers to d->out until `text` is in it (text NULL: until EOF). */
static int read_until(int fd, struct dumped *d, const char *text, int deadline_s)
{
    size_t len = strlen(d->out);
    time_t end = time(NULL) + deadline_s;
    while (time(NULL) <= end) {
        if (text && strstr(d->out, text)) return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) continue;
        if (len + 1 >= sizeof d->out) return -1;
        ssize_t n = read(fd, d->out + len, sizeof d->out - len - 1);
        if (n <= 0) return text ? -1 : 0;
        len += (size_t)n;
        d->out[len] = 0;
    }
    print_message("timed out; the program wrote:\n%s\n", d->out);
    return -1;
}

static long out_value(const struct dumped *d, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    for (const char *p = d->out; (p = strstr(p, pat)); p++)
        if (p == d->out || p[-1] == '\n' || p[-1] == ' ') return atol(p + strlen(pat));
    return -1;
}

/* Runs state_dump (with `mode`, may be NULL), sends SIGRTMIN+3 to the process that says it
 * is ready, waits for the program to end. */
static void run_dump(struct dumped *d, const char *mode, const char *more_options)
{
    memset(d, 0, sizeof *d);
    d->sig = SIGRTMIN + 3;
    char sig[16], options[128];
    snprintf(sig, sizeof sig, "%d", d->sig);
    snprintf(options, sizeof options, "dump_signal=%d%s%s", d->sig, more_options ? ":" : "",
             more_options ? more_options : "");
    const char *argv[] = {fa_build_path("tests/progs/state_dump"), sig, mode, NULL};
    int out;
    pid_t pid = fa_spawn_audited(&d->r, argv, options, &out);
    assert_int_equal(read_until(out, d, "ready pid=", 20), 0);
    assert_int_equal(read_until(out, d, "\n", 20), 0); /* the whole line */
    const char *ready = strstr(d->out, "ready pid=");
    assert_non_null(strchr(ready, '\n'));
    d->ready_pid = atol(ready + strlen("ready pid="));
    assert_true(d->ready_pid > 0);
    assert_int_equal(kill((pid_t)d->ready_pid, d->sig), 0);
    assert_int_equal(read_until(out, d, NULL, 20), 0);
    close(out);
    fa_finish(&d->r, pid, options, 20);
    assert_false(d->r.timed_out);
    assert_int_equal(d->r.status, 0);
    assert_int_equal(out_value(d, "dumped"), 1);
}

static json_t *state_record(struct dumped *d)
{
    assert_int_equal(fa_count_kind(d->r.records, "state"), 1);
    json_t *rec = fa_find_kind(d->r.records, "state", 0);
    assert_string_equal(fa_str(rec, "severity"), "note");
    assert_int_equal(fa_int(rec, "pid"), d->ready_pid);
    assert_int_equal(fa_int(rec, "signal"), d->sig);
    assert_null(json_object_get(rec, "unavailable"));
    return rec;
}

static json_t *thread_entry(json_t *threads, long tid)
{
    size_t i;
    json_t *t;
    json_array_foreach(threads, i, t) if (fa_int(t, "tid") == tid) return t;
    return NULL;
}

static void held_lock_and_threads(void **state)
{
    (void)state;
    struct dumped d;
    run_dump(&d, NULL, NULL);
    json_t *rec = state_record(&d);
    long main_tid = out_value(&d, "main_tid"), worker = out_value(&d, "worker_tid");
    assert_int_equal(d.ready_pid, main_tid);
    assert_int_equal(fa_int(rec, "tid"), main_tid); /* the worker blocks the signal */
    assert_null(json_object_get(rec, "fork"));       /* not made by a fork */

    json_t *lin = json_object_get(rec, "lineage");
    assert_int_equal(fa_int(lin, "pid"), main_tid);
    assert_true(fa_int(lin, "ppid") > 0);
    assert_int_equal(fa_int(lin, "forks"), 0);
    assert_true(json_is_false(json_object_get(lin, "forked_child")));

    json_t *held = json_object_get(rec, "locks_held");
    assert_int_equal(json_array_size(held), 1);
    json_t *lock = json_array_get(held, 0);
    assert_string_equal(fa_str(lock, "type"), "pthread_mutex");
    assert_int_equal(fa_int(lock, "holder_tid"), worker);
    assert_true(json_is_false(json_object_get(lock, "holder_is_receiving_thread")));
    assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "holder_main"));
    assert_int_equal(json_array_size(json_object_get(rec, "locks_inherited")), 0);

    json_t *threads = json_object_get(rec, "threads");
    assert_int_equal(json_array_size(threads), 2);
    json_t *me = thread_entry(threads, main_tid), *w = thread_entry(threads, worker);
    assert_non_null(me);
    assert_non_null(w);
    assert_true(json_is_true(json_object_get(me, "receiving")));
    assert_true(fa_frames_have(json_object_get(me, "stack"), "wait_for_dump"));
    assert_true(fa_frames_have(json_object_get(rec, "stack"), "wait_for_dump"));
    assert_true(json_is_false(json_object_get(w, "receiving")));
    assert_string_equal(fa_str(w, "name"), "state_dump");
    if (!getenv("FORKAUDIT_TEST_PRELOAD")) assert_string_equal(fa_str(w, "start_routine"), "holder_main");
    assert_non_null(strstr(fa_str(w, "stack_missing"), "stack_signal is off"));
    fa_run_free(&d.r);
}

static void other_stacks_with_stack_signal(void **state)
{
    (void)state;
    struct dumped d;
    run_dump(&d, NULL, "stack_signal=61");
    json_t *rec = state_record(&d);
    json_t *w = thread_entry(json_object_get(rec, "threads"), out_value(&d, "worker_tid"));
    assert_non_null(w);
    /* the worker waits in gate_wait, called from holder_main */
    assert_true(fa_frames_have(json_object_get(w, "stack"), "holder_main"));
    fa_run_free(&d.r);
}

static void child_inherited_the_lock(void **state)
{
    (void)state;
    struct dumped d;
    run_dump(&d, "child", NULL);
    json_t *rec = state_record(&d);
    long main_tid = out_value(&d, "main_tid"), worker = out_value(&d, "worker_tid");
    assert_int_equal(d.ready_pid, out_value(&d, "child"));
    assert_int_equal(fa_int(json_object_get(rec, "fork"), "seq"), 1);
    json_t *lin = json_object_get(rec, "lineage");
    assert_true(json_is_true(json_object_get(lin, "forked_child")));
    assert_int_equal(fa_int(lin, "ppid"), main_tid);
    assert_int_equal(fa_int(lin, "parent_pid"), main_tid);
    assert_int_equal(fa_int(lin, "parent_fork_seq"), 1);
    assert_int_equal(fa_int(lin, "parent_tid"), main_tid);
    assert_string_equal(fa_str(lin, "via"), "fork");

    assert_int_equal(json_array_size(json_object_get(rec, "locks_held")), 0);
    json_t *inh = json_object_get(rec, "locks_inherited");
    assert_int_equal(json_array_size(inh), 1);
    json_t *lock = json_array_get(inh, 0);
    assert_string_equal(fa_str(lock, "type"), "pthread_mutex");
    assert_int_equal(fa_int(lock, "holder_tid"), worker);
    assert_true(json_is_true(json_object_get(lock, "holder_gone")));
    assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "holder_main"));
    /* the parent's fork reported the same lock */
    json_t *at_fork = fa_find_kind(d.r.records, "lock-held-at-fork", 0);
    assert_string_equal(fa_str(json_object_get(at_fork, "lock"), "addr"), fa_str(lock, "addr"));

    json_t *threads = json_object_get(rec, "threads");
    assert_int_equal(json_array_size(threads), 1);
    assert_true(json_is_true(json_object_get(json_array_get(threads, 0), "receiving")));
    fa_run_free(&d.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(held_lock_and_threads),
        cmocka_unit_test(other_stacks_with_stack_signal),
        cmocka_unit_test(child_inherited_the_lock),
    };
    return cmocka_run_group_tests_name("state dump on demand", tests, NULL, NULL);
}
