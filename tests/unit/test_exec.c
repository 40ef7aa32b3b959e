/* Unit tests of the exec audit's pieces: posix_spawn file actions built with glibc's own
 * functions and read back through glibc's internal layout (a glibc that lays them out
 * differently fails here), and the fds-leaked-at-exec record in JSON and text. */
#include "unit.h"

#include <fcntl.h>
#include <gnu/libc-version.h>
#include <jansson.h>
#include <spawn.h>

#include "audit/execaudit.h"
#include "findings/findings.h"
#include "out/record.h"

static void file_actions_are_read_from_glibc(void **state)
{
    (void)state;
    posix_spawn_file_actions_t a;
    assert_int_equal(posix_spawn_file_actions_init(&a), 0);
    assert_false(fa_spawn_actions_touch(&a, 5)); /* empty */
    assert_false(fa_spawn_actions_touch(NULL, 5));
    assert_int_equal(posix_spawn_file_actions_addclose(&a, 5), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&a, 7, 9), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&a, 11, "/dev/null", O_RDONLY, 0), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&a, 13, 13), 0); /* clears close-on-exec */
    assert_int_equal(posix_spawn_file_actions_addchdir_np(&a, "/"), 0);
    assert_int_equal(posix_spawn_file_actions_addfchdir_np(&a, 6), 0);
    assert_int_equal(posix_spawn_file_actions_addtcsetpgrp_np(&a, 8), 0);
    assert_int_equal(posix_spawn_file_actions_addclosefrom_np(&a, 40), 0);
    const struct { int fd, touched; } expect[] = {
        {5, 1}, {7, 0}, {9, 1}, {11, 1}, {13, 1}, {6, 0}, {8, 0}, {12, 0}, {39, 0}, {40, 1}, {1000, 1},
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (fa_spawn_actions_touch(&a, expect[i].fd) != expect[i].touched)
            fail_msg("fd %d: touched should be %d", expect[i].fd, expect[i].touched);
    assert_int_equal(posix_spawn_file_actions_destroy(&a), 0);
    if (!fa_spawn_actions_readable())
        fail_msg("glibc %s lays file actions out as read here, but fa_spawn_actions_readable refuses it: "
                 "check posix/spawn_int.h of this version and widen the range", gnu_get_libc_version());
}

static struct fa_snapshot snap;
static struct fa_snap_fd fds[2];
static struct fa_options opts = FA_OPTIONS_INITIALIZER;

static __attribute__((noinline)) int opener(int x) { return x * 5 + 2; }

static int setup(void **state)
{
    (void)state;
    memset(&snap, 0, sizeof snap);
    memset(fds, 0, sizeof fds);
    uintptr_t in_opener = (uintptr_t)&opener + 4;
    snap.exec_via = "execve";
    snap.exec_path = "/bin/t\"rue";
    snap.exec_argv0 = "true";
    snap.pid = 200;
    snap.ppid = 199;
    snap.tid = 200;
    snap.stack.n = 1;
    snap.stack.pc[0] = in_opener;
    snap.fds = fds;
    snap.nfds = 2;
    fds[0].fd = 3;
    strcpy(fds[0].target, "/tmp/leak.txt");
    fds[0].type = "file";
    fds[0].flags = O_WRONLY;
    fds[0].offset = 10;
    fds[0].opened_by = "open";
    fds[0].nframes = 1;
    fds[0].frames[0] = in_opener;
    fds[1].fd = 5;
    strcpy(fds[1].target, "pipe:[77]");
    fds[1].type = "pipe";
    fds[1].offset = -1;
    return 0;
}

static void json_record_names_the_exec(void **state)
{
    (void)state;
    struct fa_buf b;
    opts.format = FA_FORMAT_JSON;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render(&b, &snap, FA_KIND_EXEC_FDS, 0, &opts);
    assert_true(b.len > 0 && b.p[b.len - 1] == '\n');
    assert_null(memchr(b.p, '\n', b.len - 1));
    fa_buf_terminate(&b);
    json_error_t err;
    json_t *v = json_loads(b.p, 0, &err);
    if (!v) fail_msg("invalid JSON (%s): %s", err.text, b.p);
    fa_buf_release(&b);
    assert_string_equal(json_string_value(json_object_get(v, "kind")), "fds-leaked-at-exec");
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "warning");
    assert_int_equal(json_integer_value(json_object_get(v, "pid")), 200);
    assert_int_equal(json_integer_value(json_object_get(v, "ppid")), 199);
    assert_null(json_object_get(v, "fork"));
    json_t *exec = json_object_get(v, "exec");
    assert_string_equal(json_string_value(json_object_get(exec, "path")), "/bin/t\"rue");
    assert_string_equal(json_string_value(json_object_get(exec, "argv0")), "true");
    assert_string_equal(json_string_value(json_object_get(exec, "via")), "execve");
    json_t *frame = json_array_get(json_object_get(v, "stack"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "opener");
    json_t *list = json_object_get(v, "fds");
    assert_int_equal(json_array_size(list), 2);
    json_t *f = json_array_get(list, 0);
    assert_int_equal(json_integer_value(json_object_get(f, "fd")), 3);
    assert_string_equal(json_string_value(json_object_get(f, "target")), "/tmp/leak.txt");
    assert_true(json_is_false(json_object_get(f, "cloexec")));
    assert_string_equal(json_string_value(json_object_get(f, "opened_by")), "open");
    json_t *opened_at = json_array_get(json_object_get(f, "opened_at"), 0);
    assert_string_equal(json_string_value(json_object_get(opened_at, "function")), "opener");
    assert_null(json_object_get(json_array_get(list, 1), "opened_by"));
    json_decref(v);

    /* in a forked child: the fork that made it too; argv[0] absent (an empty argv): no argv0 */
    snap.seq = 2;
    snap.child = 200;
    snap.via = "fork";
    snap.exec_argv0 = NULL;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render(&b, &snap, FA_KIND_EXEC_FDS, 0, &opts);
    fa_buf_terminate(&b);
    v = json_loads(b.p, 0, &err);
    fa_buf_release(&b);
    assert_non_null(v);
    assert_null(json_object_get(json_object_get(v, "exec"), "argv0"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "exec"), "via")), "execve");
    json_t *fork = json_object_get(v, "fork");
    assert_int_equal(json_integer_value(json_object_get(fork, "seq")), 2);
    assert_int_equal(json_integer_value(json_object_get(fork, "child_pid")), 200);
    assert_string_equal(json_string_value(json_object_get(fork, "via")), "fork");
    json_decref(v);
}

static void text_record_reads_like_fds_at_fork(void **state)
{
    (void)state;
    struct fa_buf b;
    opts.format = FA_FORMAT_TEXT;
    snap.exec_path = "/bin/true";
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render(&b, &snap, FA_KIND_EXEC_FDS, 0, &opts);
    fa_buf_terminate(&b);
    assert_non_null(
        strstr(b.p, "==200== forkaudit: WARNING: fds-leaked-at-exec: 2 file descriptors pass into /bin/true (execve)\n"));
    assert_non_null(strstr(b.p, "==200==   fd 3 -> /tmp/leak.txt (file, w)\n==200==     opened by open at:\n"));
    assert_non_null(strstr(b.p, "==200==   fd 5 -> pipe:[77] (pipe, r)\n"));
    assert_non_null(strstr(b.p, "==200==   execve called by thread 200 at:\n==200==     #0 0x"));
    assert_null(strstr(b.p, "fork called"));
    assert_null(strstr(b.p, "close-on-exec:")); /* every one lacks it: said once, in the second line */
    assert_null(strstr(b.p, "SUMMARY"));
    for (char *line = b.p; *line; line = strchr(line, '\n') + 1) assert_int_equal(strncmp(line, "==200== ", 8), 0);
    fa_buf_release(&b);

    snap.nfds = 1;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render(&b, &snap, FA_KIND_EXEC_FDS, 0, &opts);
    fa_buf_terminate(&b);
    assert_non_null(strstr(b.p, ": 1 file descriptor passes into /bin/true (execve)\n"));
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_actions_are_read_from_glibc),
        cmocka_unit_test_setup(json_record_names_the_exec, setup),
        cmocka_unit_test_setup(text_record_reads_like_fds_at_fork, setup),
    };
    return cmocka_run_group_tests_name("exec audit", tests, NULL, NULL);
}
