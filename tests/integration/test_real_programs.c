/* The auditor on real programs: redis-server's BGSAVE fork (its background threads are
 * listed; jemalloc's own fork handling causes no lock error) and the bundled Python
 * multiprocessing examples. Each is skipped with a message when the program is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0) return -1;
    int bad = bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0;
    close(s);
    if (bad) return -1;
    return ntohs(a.sin_port);
}

static int redis_cli(int port, const char *command, const char *expect)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %d %s", port, command);
    FILE *p = popen(cmd, "r");
    char line[300] = "";
    if (!p) return -1;
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    pclose(p);
    return expect && !strstr(line, expect) ? -1 : 0;
}

static void redis_bgsave_fork_lists_background_threads(void **state)
{
    (void)state;
    const char *server = fa_which("redis-server");
    if (!server || !fa_which("redis-cli")) {
        print_message("SKIPPED: redis-server or redis-cli not installed (apt-get install redis-server)\n");
        skip();
    }
    int port = free_port();
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    char dir[] = "/tmp/forkaudit-redis.XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {server, "--port", port_s, "--bind", "127.0.0.1", "--save", "", "--daemonize", "no",
                          "--logfile", "", "--dir", dir, "--enable-debug-command", "local", NULL};
    struct fa_run r;
    int out;
    pid_t pid = fa_spawn_audited(&r, argv, "stack_signal=61", &out);
    assert_int_equal(fa_wait_for_line(out, "Ready to accept connections", 20), 0);
    assert_int_equal(redis_cli(port, "debug populate 1000", "OK"), 0);
    /* The reply comes after fork() returned in the server, so the records are written. */
    assert_int_equal(redis_cli(port, "bgsave", "Background saving started"), 0);
    redis_cli(port, "shutdown nosave", NULL);
    fa_finish(&r, pid, NULL, 20);
    close(out);
    assert_false(r.timed_out);

    json_t *rec = fa_find_kind(r.records, "threads-at-fork", 0);
    assert_non_null(rec);
    assert_true(fa_frames_have(json_object_get(rec, "stack"), "rdbSaveBackground"));
    size_t i;
    json_t *t;
    int bio = 0;
    json_array_foreach(json_object_get(rec, "threads"), i, t)
    {
        if (strncmp(fa_str(t, "name"), "bio_", 4) != 0) continue;
        /* A sanitizer preloaded first (check-asan) wraps start routines in its own. */
        if (!getenv("FORKAUDIT_TEST_PRELOAD")) assert_string_equal(fa_str(t, "start_routine"), "bioProcessBackgroundJobs");
        assert_true(json_array_size(json_object_get(t, "created_at")) > 0);
        /* what it was doing at the fork: waiting for jobs */
        assert_true(fa_frames_have(json_object_get(t, "stack_at_fork"), "bioProcessBackgroundJobs"));
        bio++;
    }
    assert_true(bio >= 3);
    /* jemalloc takes its locks in its own prepare handler: never a lock error */
    for (int k = 0; fa_find_kind(r.records, "lock-held-at-fork", k); k++) {
        json_t *lock = fa_find_kind(r.records, "lock-held-at-fork", k);
        assert_string_not_equal(fa_str(lock, "severity"), "error");
        json_array_foreach(json_object_get(json_object_get(lock, "lock"), "acquired_at"), i, t)
        {
            const char *module = fa_str(t, "module");
            assert_true(!module || !strstr(module, "jemalloc"));
        }
    }
    fa_run_free(&r);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static const char *python(void)
{
    /* The real interpreter, not a wrapper script (pyenv shims are shell scripts). */
    static char exe[512];
    if (!fa_which("python3")) return NULL;
    FILE *p = popen("python3 -c 'import sys; print(sys.executable)'", "r");
    if (!p || !fgets(exe, sizeof exe, p)) return NULL;
    pclose(p);
    exe[strcspn(exe, "\n")] = 0;
    return exe;
}

static void python_shared_file_offset_is_reported(void **state)
{
    (void)state;
    const char *py = python();
    if (!py) {
        print_message("SKIPPED: python3 not installed\n");
        skip();
    }
    char dir[] = "/tmp/forkaudit-py.XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {py, FA_SOURCE_DIR "/examples/python/shared_file.py", dir, NULL};
    struct fa_run r;
    fa_run_audited(&r, argv, NULL, 60);
    assert_false(r.timed_out);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "child line"));
    json_t *rec = fa_find_kind(r.records, "fds-at-fork", 0);
    assert_non_null(rec);
    size_t i;
    json_t *f;
    int found = 0;
    json_array_foreach(json_object_get(rec, "fds"), i, f)
    {
        const char *target = fa_str(f, "target");
        if (!strstr(target, "/shared.log")) continue;
        found = 1;
        assert_string_equal(fa_str(f, "type"), "file");
        assert_string_equal(fa_str(f, "access"), "w");
        assert_int_equal(fa_int(f, "offset"), (long long)strlen("parent header\n"));
        assert_true(fa_frames_have(json_object_get(f, "opened_at"), "_io_open") ||
                    json_array_size(json_object_get(f, "opened_at")) > 0);
    }
    assert_true(found);
    fa_run_free(&r);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void python_worker_threads_are_listed(void **state)
{
    (void)state;
    const char *py = python();
    if (!py) {
        print_message("SKIPPED: python3 not installed\n");
        skip();
    }
    const char *argv[] = {py, FA_SOURCE_DIR "/examples/python/threads_at_fork.py", NULL};
    struct fa_run r;
    fa_run_audited(&r, argv, NULL, 60);
    assert_false(r.timed_out);
    assert_int_equal(r.status, 0);
    json_t *rec = fa_find_kind(r.records, "threads-at-fork", 0);
    assert_non_null(rec);
    json_t *threads = json_object_get(rec, "threads");
    assert_int_equal(json_array_size(threads), 3);
    size_t i;
    json_t *t;
    json_array_foreach(threads, i, t)
    {
        assert_true(fa_int(t, "tid") > 0);
        assert_true(fa_frames_have(json_object_get(t, "created_at"), "PyThread_start_new_thread"));
    }
    fa_run_free(&r);
}

static void python_lock_held_across_fork_is_caught_in_the_child(void **state)
{
    (void)state;
    const char *py = python();
    if (!py) {
        print_message("SKIPPED: python3 not installed\n");
        skip();
    }
    /* Without the auditor the child blocks forever (the script kills it after 5 s). */
    const char *argv[] = {py, FA_SOURCE_DIR "/examples/python/child_deadlock.py", NULL};
    struct fa_run r;
    fa_run_audited(&r, argv, "on_child_deadlock=abort", 60);
    assert_false(r.timed_out);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "child exit code: -6")); /* SIGABRT, at once */
    assert_null(strstr(r.out, "still blocked"));
    json_t *rec = fa_find_kind(r.records, "child-deadlock", 0);
    assert_non_null(rec);
    json_t *lock = json_object_get(rec, "lock");
    assert_string_equal(fa_str(lock, "type"), "semaphore");
    assert_true(json_is_true(json_object_get(lock, "holder_is_forking_thread")));
    assert_int_equal(fa_int(lock, "holder_tid"), fa_int(rec, "ppid")); /* Python's main thread */
    assert_string_equal(fa_str(rec, "action"), "abort");
    /* exported, so named even in a stripped interpreter (Debian's python3) */
    assert_true(fa_frames_have(json_object_get(rec, "stack"), "PyThread_acquire_lock_timed"));
    fa_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redis_bgsave_fork_lists_background_threads),
        cmocka_unit_test(python_shared_file_offset_is_reported),
        cmocka_unit_test(python_worker_threads_are_listed),
        cmocka_unit_test(python_lock_held_across_fork_is_caught_in_the_child),
    };
    return cmocka_run_group_tests_name("real programs", tests, NULL, NULL);
}
