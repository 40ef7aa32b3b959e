/* Hostile programs (issue 6, items 5, 6, 7 and 10): forks from signal handlers and from
 * eight threads at once, libraries whose constructors run before the auditor's, atfork
 * handlers of unloaded libraries, threads of dlopen'ed libraries, and a thousand vforks
 * and posix_spawns. Each program runs twice, without and with the auditor: both runs must
 * end the same way with the same stdout and stderr (fa_assert_same_behaviour), and the
 * audited run's records must be complete and right. Facts that differ between runs
 * (tids, addresses, pids) are written by the programs to a file of their own. */
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

/* Generous: the spawn test starts 2,000 programs, each loading the library (and, under
 * make check-asan, the sanitizer runtime). A hang still fails. */
#define DEADLINE 240

/* One program, run without and then with the auditor. */
struct pair {
    struct fa_run plain, audited;
    struct fa_run facts; /* the audited run's fact file, read with fa_out_value */
    char dir[64];
};

/* Runs `prog mode <factfile>` (and `extra_arg` when not NULL) both ways and checks that the
 * auditor changed nothing the program did. */
static void run_pair(struct pair *p, const char *prog, const char *mode, const char *extra_arg, const char *options)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/forkaudit-hostile.XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    char plain_facts[128], audited_facts[128];
    snprintf(plain_facts, sizeof plain_facts, "%s/facts.plain", p->dir);
    snprintf(audited_facts, sizeof audited_facts, "%s/facts.audited", p->dir);
    const char *argv[] = {fa_build_path(prog), mode, plain_facts, extra_arg, NULL};
    assert_int_equal(fa_run_plain(&p->plain, argv, DEADLINE), 0);
    argv[2] = audited_facts;
    assert_int_equal(fa_run_audited(&p->audited, argv, options, DEADLINE), 0);
    assert_false(p->audited.timed_out);
    fa_assert_same_behaviour(&p->plain, &p->audited);
    assert_true(p->audited.exited);
    assert_int_equal(p->audited.status, 0);
    p->facts.out = fa_read_file(audited_facts);
}

static void free_pair(struct pair *p)
{
    fa_run_free(&p->plain);
    fa_run_free(&p->audited);
    free(p->facts.out);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    assert_int_equal(system(cmd), 0);
}

static long fact(const struct pair *p, const char *key)
{
    long v = fa_out_value(&p->facts, key);
    if (v == -1) fail_msg("fact %s missing", key);
    return v;
}

static void hex(char *out, size_t cap, long value) { snprintf(out, cap, "0x%lx", value); }

/* The records of `kind` written by process `pid` whose fork has sequence number `seq`
 * (0: any). */
static int count_of(json_t *records, const char *kind, long pid, long seq)
{
    int n = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
        if (strcmp(fa_str(rec, "kind"), kind) == 0 && fa_int(rec, "pid") == pid &&
            (seq == 0 || fa_int(json_object_get(rec, "fork"), "seq") == seq))
            n++;
    return n;
}

/* Every fork of `pid` has its one "fork" record (verbosity=1), numbered 1..n without gaps. */
static void every_fork_recorded_once(json_t *records, long pid, int n)
{
    char *seen = calloc((size_t)n + 1, 1);
    json_t *rec;
    int total = 0;
    size_t i;
    json_array_foreach(records, i, rec) {
        if (strcmp(fa_str(rec, "kind"), "fork") != 0 || fa_int(rec, "pid") != pid) continue;
        long long seq = fa_int(json_object_get(rec, "fork"), "seq");
        assert_true(seq >= 1 && seq <= n);
        assert_int_equal(seen[seq], 0);
        seen[seq] = 1;
        total++;
    }
    free(seen);
    assert_int_equal(total, n);
}

/* The last fork: exactly one held lock, final_lock, held by the worker that took it. */
static void final_fork_reports_the_held_lock_once(struct pair *p, long seq)
{
    long pid = fact(p, "main_tid");
    json_t *records = p->audited.records;
    assert_int_equal(count_of(records, "lock-held-at-fork", pid, seq), 1);
    json_t *rec = NULL, *r;
    size_t i;
    json_array_foreach(records, i, r)
        if (strcmp(fa_str(r, "kind"), "lock-held-at-fork") == 0 && fa_int(r, "pid") == pid &&
            fa_int(json_object_get(r, "fork"), "seq") == seq)
            rec = r;
    assert_non_null(rec);
    assert_string_equal(fa_str(rec, "severity"), "error");
    assert_int_equal(fa_int(json_object_get(rec, "fork"), "child_pid"), fact(p, "final_child"));
    json_t *lock = json_object_get(rec, "lock");
    char addr[32];
    hex(addr, sizeof addr, fact(p, "final_lock"));
    assert_string_equal(fa_str(lock, "addr"), addr);
    assert_string_equal(fa_str(lock, "mutex_type"), "normal");
    assert_int_equal(fa_int(lock, "holder_tid"), fact(p, "holder_tid"));
    assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "hold_final_lock"));
}

/* ------------------------------------------------------------------ item 5 */

#define SIGNALS 1000
#define THREAD_FORKS 200

/* A fork from a signal handler that interrupted the main thread inside a lock or unlock
 * wrapper reads that thread's held set half-updated: each lock it reports must still be
 * whole (its own type, depth and acquisition site), reported once, held by the main thread. */
static void forks_from_signal_handlers_inside_lock_wrappers(void **state)
{
    (void)state;
    struct pair p;
    run_pair(&p, "tests/progs/hostile_prog_fork_storms", "signals", NULL, "verbosity=1");
    assert_int_equal(fa_out_value(&p.audited, "handler_forks"), SIGNALS);
    assert_int_equal(fa_out_value(&p.audited, "handler_children_ok"), SIGNALS);
    assert_int_equal(fa_out_value(&p.audited, "final_child_status"), 9);
    long main_tid = fact(&p, "main_tid");
    json_t *records = p.audited.records;
    every_fork_recorded_once(records, main_tid, SIGNALS + 1);
    /* the sender thread was alive at every fork of the storm, the holder at the last */
    assert_int_equal(count_of(records, "threads-at-fork", main_tid, 0), SIGNALS + 1);

    char normal[3][32], recursive[32];
    hex(normal[0], sizeof normal[0], fact(&p, "loop_lock"));
    hex(normal[1], sizeof normal[1], fact(&p, "loop_try"));
    hex(normal[2], sizeof normal[2], fact(&p, "loop_rw"));
    hex(recursive, sizeof recursive, fact(&p, "loop_recursive"));
    json_t *rec, *seen = json_object();
    int storm_locks = 0;
    size_t i;
    json_array_foreach(records, i, rec) {
        if (strcmp(fa_str(rec, "kind"), "lock-held-at-fork") != 0) continue;
        long long seq = fa_int(json_object_get(rec, "fork"), "seq");
        if (seq == SIGNALS + 1) continue; /* the final fork, below */
        storm_locks++;
        json_t *lock = json_object_get(rec, "lock");
        const char *addr = fa_str(lock, "addr");
        assert_true(fa_frames_have(json_object_get(rec, "stack"), "on_signal"));
        assert_int_equal(fa_int(lock, "holder_tid"), main_tid);
        assert_true(json_is_true(json_object_get(lock, "holder_is_forking_thread")));
        assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "lock_loop"));
        /* one record per lock and fork */
        char key[64];
        snprintf(key, sizeof key, "%lld %s", seq, addr);
        assert_null(json_object_get(seen, key));
        json_object_set_new(seen, key, json_true());
        if (strcmp(addr, recursive) == 0) {
            assert_string_equal(fa_str(lock, "mutex_type"), "recursive");
            assert_true(fa_int(lock, "depth") == 1 || fa_int(lock, "depth") == 2);
            assert_string_equal(fa_str(rec, "severity"), "error"); /* the child cannot unlock it */
        } else if (strcmp(addr, normal[2]) == 0) {
            assert_string_equal(fa_str(lock, "type"), "pthread_rwlock");
            assert_string_equal(fa_str(rec, "severity"), "warning");
        } else {
            assert_true(strcmp(addr, normal[0]) == 0 || strcmp(addr, normal[1]) == 0);
            assert_string_equal(fa_str(lock, "type"), "pthread_mutex");
            assert_string_equal(fa_str(lock, "mutex_type"), "normal");
            assert_int_equal(fa_int(lock, "depth"), 1);
            assert_string_equal(fa_str(rec, "severity"), "warning");
        }
    }
    json_decref(seen);
    /* the loop holds a lock most of the time: many forks caught one */
    assert_true(storm_locks > SIGNALS / 10);
    final_fork_reports_the_held_lock_once(&p, SIGNALS + 1);
    free_pair(&p);
}

/* Eight threads fork at once, each holding its own mutex: every lock is reported with its
 * own holder, as a warning at its holder's fork and an error at the others'. */
static void eight_threads_fork_at_once(void **state)
{
    (void)state;
    struct pair p;
    run_pair(&p, "tests/progs/hostile_prog_fork_storms", "threads", NULL, "verbosity=1");
    assert_int_equal(fa_out_value(&p.audited, "thread_forks"), THREAD_FORKS);
    assert_int_equal(fa_out_value(&p.audited, "final_child_status"), 9);
    long main_tid = fact(&p, "main_tid");
    json_t *records = p.audited.records;
    every_fork_recorded_once(records, main_tid, THREAD_FORKS + 1);
    assert_int_equal(count_of(records, "threads-at-fork", main_tid, 0), THREAD_FORKS + 1);
    char lock_addr[8][32];
    long tid[8];
    int own_fork_reports[8] = {0};
    for (int t = 0; t < 8; t++) {
        char key[32];
        snprintf(key, sizeof key, "forker%d_lock", t);
        hex(lock_addr[t], sizeof lock_addr[t], fact(&p, key));
        snprintf(key, sizeof key, "forker%d_tid", t);
        tid[t] = fact(&p, key);
    }
    json_t *rec;
    size_t i;
    json_array_foreach(records, i, rec) {
        if (strcmp(fa_str(rec, "kind"), "lock-held-at-fork") != 0) continue;
        if (fa_int(json_object_get(rec, "fork"), "seq") == THREAD_FORKS + 1) continue;
        json_t *lock = json_object_get(rec, "lock");
        int t = 0;
        while (t < 8 && strcmp(fa_str(lock, "addr"), lock_addr[t]) != 0) t++;
        assert_true(t < 8);
        assert_int_equal(fa_int(lock, "holder_tid"), tid[t]);
        assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "forker_main"));
        int own = fa_int(rec, "tid") == tid[t];
        assert_int_equal(json_is_true(json_object_get(lock, "holder_is_forking_thread")), own);
        assert_string_equal(fa_str(rec, "severity"), own ? "warning" : "error");
        own_fork_reports[t] += own;
    }
    /* each thread held its own lock at each of its own forks */
    for (int t = 0; t < 8; t++) assert_int_equal(own_fork_reports[t], THREAD_FORKS / 8);
    final_fork_reports_the_held_lock_once(&p, THREAD_FORKS + 1);
    free_pair(&p);
}

/* ------------------------------------------------------------------ item 6 */

/* No frame anywhere in `j` (a record, or any part of one) is the auditor's own. */
static void no_auditor_frames(json_t *j)
{
    if (json_is_object(j)) {
        const char *module = fa_str(j, "module");
        if (module && strstr(module, "libforkaudit")) fail_msg("a frame of the auditor: %s", fa_str(j, "function"));
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) no_auditor_frames(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) no_auditor_frames(v);
    }
}

/* A thread's start routine, and the function that called pthread_create, innermost in
 * created_at. A sanitizer preloaded first (check-asan) wraps start routines in its own and
 * puts its pthread_create frame first. */
static void check_start_routine(json_t *thread, const char *start, const char *creator)
{
    json_t *created = json_object_get(thread, "created_at");
    if (getenv("FORKAUDIT_TEST_PRELOAD")) {
        assert_non_null(fa_str(thread, "start_routine"));
        assert_true(fa_frames_have(created, creator));
        return;
    }
    assert_string_equal(fa_str(thread, "start_routine"), start);
    assert_string_equal(fa_str(json_array_get(created, 0), "function"), creator);
}

/* The position of the loader's "calling init: <...name>" line in `err`, or -1. */
static long init_position(const char *err, const char *name)
{
    for (const char *p = err; (p = strstr(p, "calling init: ")) != NULL; p++) {
        const char *end = strchr(p, '\n');
        if (!end) end = p + strlen(p);
        const char *hit = strstr(p, name);
        if (hit && hit < end) return p - err;
    }
    return -1;
}

/* hostile_ctor_lib.so is a DT_NEEDED library of the program, and ld.so runs the
 * initialisers of the program's dependencies before those of LD_PRELOAD objects that do
 * not depend on them (the order is checked here, with LD_DEBUG=libs). So its constructor
 * locks a mutex and starts a thread that keeps a lock before forkaudit's constructor runs:
 * the wrappers meet a process the auditor has not initialised. The fork must still see
 * the thread (with its start routine and creation site) and its lock, and nothing of the
 * mutex released in the constructor. */
static void constructor_before_ours_makes_a_thread_and_holds_a_lock(void **state)
{
    (void)state;
    const char *argv[] = {fa_build_path("tests/progs/hostile_prog_ctor"), "ctor", "/dev/null", NULL};
    struct fa_run order;
    setenv("LD_DEBUG", "libs", 1);
    assert_int_equal(fa_run_audited(&order, argv, NULL, DEADLINE), 0);
    unsetenv("LD_DEBUG");
    long lib = init_position(order.err, "/hostile_ctor_lib.so"), ours = init_position(order.err, "/libforkaudit.so");
    assert_true(lib >= 0 && ours >= 0);
    assert_true(lib < ours);
    fa_run_free(&order);

    struct pair p;
    run_pair(&p, "tests/progs/hostile_prog_ctor", "ctor", NULL, "verbosity=1");
    assert_int_equal(fa_out_value(&p.audited, "child_status"), 5);
    assert_int_equal(fa_out_value(&p.audited, "second_fork_ok"), 1);
    long pid = fact(&p, "main_tid"), thread = fact(&p, "ctor_thread_tid");
    json_t *records = p.audited.records;
    every_fork_recorded_once(records, pid, 2);
    no_auditor_frames(records);

    assert_int_equal(count_of(records, "lock-held-at-fork", pid, 1), 1);
    json_t *rec = fa_find_kind(records, "lock-held-at-fork", 0);
    assert_int_equal(fa_int(json_object_get(rec, "fork"), "child_pid"), fact(&p, "child"));
    assert_string_equal(fa_str(rec, "severity"), "error");
    json_t *lock = json_object_get(rec, "lock");
    char addr[32];
    hex(addr, sizeof addr, fact(&p, "kept_lock"));
    assert_string_equal(fa_str(lock, "addr"), addr);
    assert_int_equal(fa_int(lock, "holder_tid"), thread);
    assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "take_kept_lock"));

    assert_int_equal(count_of(records, "threads-at-fork", pid, 1), 1);
    json_t *threads = json_object_get(fa_find_kind(records, "threads-at-fork", 0), "threads");
    assert_int_equal(json_array_size(threads), 1);
    json_t *t = json_array_get(threads, 0);
    assert_int_equal(fa_int(t, "tid"), thread);
    check_start_routine(t, "ctor_thread_main", "start_thread_holding_lock");
    assert_true(fa_frames_have(json_object_get(t, "created_at"), "hostile_ctor_lib_init"));

    /* after the thread let its lock go and ended: nothing of either at the second fork */
    assert_int_equal(count_of(records, "lock-held-at-fork", pid, 0), 1);
    assert_int_equal(count_of(records, "threads-at-fork", pid, 0), 1);
    free_pair(&p);
}

/* ------------------------------------------------------------------ item 7 */

#define DL_CYCLES 100

/* The record of kind `kind` of fork `seq` of `pid`, or NULL. */
static json_t *record_of(json_t *records, const char *kind, long pid, long seq)
{
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
        if (strcmp(fa_str(rec, "kind"), kind) == 0 && fa_int(rec, "pid") == pid &&
            fa_int(json_object_get(rec, "fork"), "seq") == seq)
            return rec;
    return NULL;
}

/* Every lock-held-at-fork record of `pid`, one per line into `out`: its fork, child and
 * severity and its whole "lock" object (compact JSON, cut at 3,000 characters), what a
 * failure message shows. */
static void list_lock_records(char *out, size_t cap, json_t *records, long pid)
{
    size_t len = 0, i;
    json_t *rec;
    out[0] = 0;
    json_array_foreach(records, i, rec) {
        if (strcmp(fa_str(rec, "kind"), "lock-held-at-fork") != 0 || fa_int(rec, "pid") != pid) continue;
        json_t *fork = json_object_get(rec, "fork");
        char *text = json_dumps(json_object_get(rec, "lock"), JSON_COMPACT);
        const char *severity = fa_str(rec, "severity");
        int n = snprintf(out + len, cap - len, "  fork %lld (child %lld, %s): lock %.3000s\n", fa_int(fork, "seq"),
                         fa_int(fork, "child_pid"), severity ? severity : "?", text ? text : "?");
        free(text);
        if (n < 0 || (size_t)n >= cap - len) return; /* full: the list is cut there */
        len += (size_t)n;
    }
    if (!len) snprintf(out, cap, "  (none)\n");
}

/* Fork `seq` of `pid` found `want` locks held: its fork record's locks_held says so and it
 * has as many lock-held-at-fork records. A failure names the fork, the program's locks and
 * threads (its facts), and lists every lock record of the process. */
static void locks_at_fork(const struct pair *p, json_t *records, long pid, long seq, int want)
{
    long long said = fa_int(record_of(records, "fork", pid, seq), "locks_held");
    int found = count_of(records, "lock-held-at-fork", pid, seq);
    if (said == want && found == want) return;
    static char list[32768];
    list_lock_records(list, sizeof list, records, pid);
    fail_msg("fork %ld of process %ld: %d lock(s) held expected; its fork record says locks_held=%lld and it "
             "has %d lock-held-at-fork record(s). The program's facts: dl_lock=0x%lx held by dl_thread0=%ld, "
             "dl_thread1=%ld (-1: not in the fact file). The lock records of the process:\n%s",
             seq, pid, want, said, found, (unsigned long)fa_out_value(&p->facts, "dl_lock"),
             fa_out_value(&p->facts, "dl_thread0"), fa_out_value(&p->facts, "dl_thread1"), list);
}

/* A library registers atfork handlers and is unloaded, a hundred times (more than the
 * auditor's 64 trampolines for foreign prepare handlers): while it is loaded each fork
 * names its prepare handler, once it is gone no fork calls or names it, and none finds
 * the handlers left unwatched. Then a dlopen'ed library starts threads in its constructor:
 * a fork lists them with their start routine and creation site, and the lock one holds. */
static void atfork_handlers_of_unloaded_libraries_and_threads_of_loaded_ones(void **state)
{
    (void)state;
    struct pair p;
    run_pair(&p, "tests/progs/hostile_prog_dl", "dl", NULL, "verbosity=1");
    assert_int_equal(fa_out_value(&p.audited, "atfork_cycles_unloaded"), DL_CYCLES);
    assert_int_equal(fa_out_value(&p.audited, "atfork_prepare_runs"), DL_CYCLES);
    assert_int_equal(fa_out_value(&p.audited, "atfork_parent_runs"), DL_CYCLES);
    assert_int_equal(fa_out_value(&p.audited, "atfork_forks_ok"), 2 * DL_CYCLES);
    assert_int_equal(fa_out_value(&p.audited, "threads_forks_ok"), 3);
    long pid = fact(&p, "main_tid");
    json_t *records = p.audited.records;
    every_fork_recorded_once(records, pid, 2 * DL_CYCLES + 3);

    for (long seq = 1; seq <= 2L * DL_CYCLES; seq++) {
        json_t *fork = record_of(records, "fork", pid, seq);
        json_t *handlers = json_object_get(fork, "atfork_prepare_handlers");
        assert_null(json_object_get(fork, "atfork_handlers_unwrapped"));
        locks_at_fork(&p, records, pid, seq, 0); /* the handler's lock is protected */
        if (seq % 2 == 0) { /* after dlclose */
            assert_int_equal(json_array_size(handlers), 0);
            continue;
        }
        assert_int_equal(json_array_size(handlers), 1);
        json_t *h = json_array_get(handlers, 0);
        assert_string_equal(fa_str(h, "function"), "hostile_atfork_prepare");
        assert_non_null(strstr(fa_str(h, "module"), "/hostile_atfork_lib.so"));
    }
    /* The library's lock, held by its first thread at the first fork after the dlopen;
     * none after the threads ended, none once the library is gone. */
    long seq = 2 * DL_CYCLES + 1;
    locks_at_fork(&p, records, pid, seq, 1);
    locks_at_fork(&p, records, pid, seq + 1, 0);
    locks_at_fork(&p, records, pid, seq + 2, 0);
    if (count_of(records, "lock-held-at-fork", pid, 0) != 1) { /* one without a fork of 1..203 */
        static char list[32768];
        list_lock_records(list, sizeof list, records, pid);
        fail_msg("process %ld: one lock-held-at-fork record expected in all, at fork %ld; they are:\n%s", pid, seq,
                 list);
    }
    assert_int_equal(count_of(records, "threads-at-fork", pid, 0), 1);

    /* the threads of the dlopen'ed library */
    json_t *threads = json_object_get(record_of(records, "threads-at-fork", pid, seq), "threads");
    assert_int_equal(json_array_size(threads), 2);
    for (int i = 0; i < 2; i++) {
        json_t *t = json_array_get(threads, (size_t)i);
        long tid = fa_int(t, "tid");
        assert_true(tid == fact(&p, "dl_thread0") || tid == fact(&p, "dl_thread1"));
        check_start_routine(t, "dl_worker_main", "start_dl_workers");
        json_t *created = json_object_get(t, "created_at");
        assert_true(fa_frames_have(created, "hostile_threads_lib_init"));
    }
    json_t *lock = json_object_get(record_of(records, "lock-held-at-fork", pid, seq), "lock");
    char addr[32];
    hex(addr, sizeof addr, fact(&p, "dl_lock"));
    assert_string_equal(fa_str(lock, "addr"), addr);
    assert_int_equal(fa_int(lock, "holder_tid"), fact(&p, "dl_thread0"));
    assert_true(fa_frames_have(json_object_get(lock, "acquired_at"), "dl_worker_main"));
    /* stopped, then unloaded: nothing */
    assert_int_equal(fa_int(record_of(records, "fork", pid, seq + 1), "threads"), 0);
    assert_int_equal(fa_int(record_of(records, "fork", pid, seq + 2), "threads"), 0);
    no_auditor_frames(records);
    free_pair(&p);
}

/* ------------------------------------------------------------------ item 10 */

/* The descriptor `fd` in a record's list, or NULL. */
static json_t *fd_entry(json_t *fds, long fd)
{
    size_t i;
    json_t *f;
    json_array_foreach(fds, i, f) if (fa_int(f, "fd") == fd) return f;
    return NULL;
}

/* A thousand vfork+execs (with descriptors leaking: a vfork child's exec is not audited)
 * and a thousand posix_spawn/posix_spawnp, half with file actions, then system() and
 * popen(): every child exits as it should, the program's descriptors are as many after as
 * before, and exactly the two spawns made with leaking descriptors are reported, each
 * with the descriptors that pass (the pipe's write end is closed by a file action). */
static void a_thousand_vforks_and_spawns(void **state)
{
    (void)state;
    struct pair p;
    run_pair(&p, "tests/progs/hostile_prog_spawn", "spawn", NULL, NULL);
    assert_int_equal(fa_out_value(&p.audited, "vfork_exec_ok"), 1000);
    assert_int_equal(fa_out_value(&p.audited, "spawn_ok"), 1000);
    assert_int_equal(fa_out_value(&p.audited, "system_ok"), 3);
    assert_int_equal(fa_out_value(&p.audited, "popen_ok"), 3);
    assert_int_equal(fa_out_value(&p.audited, "fd_count_unchanged"), 1);
    assert_int_equal(fact(&p, "warmup_ok"), 1);
    assert_int_equal(fact(&p, "leaky_ok"), 1);
    assert_int_equal(fact(&p, "fds_before"), fact(&p, "fds_after"));

    json_t *records = p.audited.records;
    long pid = fact(&p, "main");
    assert_int_equal(json_array_size(records), 2); /* nothing from any child either */
    assert_int_equal(count_of(records, "fds-leaked-at-exec", pid, 0), 2);
    for (int i = 0; i < 2; i++) {
        json_t *rec = fa_find_kind(records, "fds-leaked-at-exec", i);
        json_t *exec = json_object_get(rec, "exec");
        assert_string_equal(fa_str(exec, "via"), "posix_spawn");
        assert_string_equal(fa_str(exec, "path"), "/bin/true");
        json_t *stack = json_object_get(rec, "stack");
        assert_true(fa_frames_have(stack, "spawn_true"));
        assert_true(fa_frames_have(stack, "leaky_spawn"));
        json_t *fds = json_object_get(rec, "fds");
        assert_int_equal(json_array_size(fds), 2);
        json_t *null_fd = fd_entry(fds, fact(&p, "devnull")), *read_end = fd_entry(fds, fact(&p, "pipe_r"));
        assert_non_null(null_fd);
        assert_string_equal(fa_str(null_fd, "target"), "/dev/null");
        assert_non_null(read_end);
        assert_non_null(strstr(fa_str(read_end, "target"), "pipe:["));
        assert_string_equal(fa_str(read_end, "opened_by"), "pipe2");
        assert_true(fa_frames_have(json_object_get(read_end, "opened_at"), "main"));
    }
    no_auditor_frames(records);
    free_pair(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forks_from_signal_handlers_inside_lock_wrappers),
        cmocka_unit_test(eight_threads_fork_at_once),
        cmocka_unit_test(constructor_before_ours_makes_a_thread_and_holds_a_lock),
        cmocka_unit_test(atfork_handlers_of_unloaded_libraries_and_threads_of_loaded_ones),
        cmocka_unit_test(a_thousand_vforks_and_spawns),
    };
    return cmocka_run_group_tests_name("hostile programs (integration)", tests, NULL, NULL);
}
