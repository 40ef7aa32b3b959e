/* The core archive alone: every folder of preload/ but intercept/, linked whole
 * (--whole-archive, see the Makefile) into this program, without the interposers. It links
 * only while no core object needs an interposer's symbol: the fork protocol and the
 * child's resets live in the core (audit/lifecycle.c). Then the protocol is driven from
 * here as the preload drives it: a child made without our handlers resets itself, and
 * the handlers, registered with glibc's own __register_atfork, audit a fork. */
#include "unit.h"

#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/lifecycle.h"
#include "base/options.h"
#include "base/process.h"
#include "out/log.h"
#include "track/threads.h"

int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso);

/* Runs `child` in a forked child and returns its exit status (0: every check held). */
static int in_child(int (*child)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static pid_t parent_pid;

/* Each failed check exits with its own code, so the parent's message names it. */
static int reset_without_handlers(void)
{
    if (fa_getpid() != parent_pid) return 10; /* not reset yet: the parent's pid is cached */
    fa_fork_reset_if_new_process();
    if (fa_getpid() != getpid()) return 11;
    if (!fa_proc.forked_child) return 12;
    if (fa_proc.errors != 0) return 13;         /* exitcode counts the child's own findings */
    if (fa_proc.born_parent != parent_pid) return 14;
    if (fa_proc.born_seq != 5 || fa_proc.fork_seq != 0) return 15;
    if (!fa_proc.born_via || strcmp(fa_proc.born_via, "atfork") != 0) return 16;
    return 0;
}

static void a_child_made_without_handlers_resets_itself(void **state)
{
    (void)state;
    fa_pid_refresh();
    parent_pid = getpid();
    assert_int_equal(fa_getpid(), parent_pid);
    fa_proc.errors = 2;
    fa_proc.fork_seq = 5;
    assert_int_equal(in_child(reset_without_handlers), 0);
    fa_fork_reset_if_new_process(); /* the parent's pid did not change: no reset */
    assert_int_equal(fa_proc.forked_child, 0);
    assert_int_equal(fa_proc.errors, 2);
    fa_proc.errors = 0;
    fa_proc.fork_seq = 0;
}

static int reset_by_the_child_handler(void)
{
    if (fa_getpid() != getpid()) return 20;
    if (!fa_proc.forked_child || fa_proc.born_parent != parent_pid) return 21;
    if (fa_proc.born_seq != 1) return 22;
    if (fa_proc.fork_seq != 0) return 25;
    if (!fa_proc.born_via || strcmp(fa_proc.born_via, "atfork") != 0) return 23;
    if (!fa_self || fa_self->tid != getpid()) return 24; /* the thread table was reset too */
    return 0;
}

/* The fork note of the parent's log (verbosity=1 writes one for every fork). */
static void parent_wrote_the_fork_note(const char *path)
{
    json_error_t err;
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("no log %s: the parent handler wrote no record", path);
    char line[65536];
    int notes = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *r = json_loads(line, 0, &err);
        if (!r) fail_msg("not JSON: %s", line);
        if (strcmp(json_string_value(json_object_get(r, "kind")), "fork") == 0) {
            json_t *fork = json_object_get(r, "fork");
            assert_string_equal(json_string_value(json_object_get(fork, "via")), "atfork");
            assert_int_equal(json_integer_value(json_object_get(fork, "seq")), 1);
            assert_int_equal(json_integer_value(json_object_get(r, "pid")), parent_pid);
            notes++;
        }
        json_decref(r);
    }
    fclose(f);
    assert_int_equal(notes, 1);
}

static void the_core_audits_a_fork_through_its_atfork_handlers(void **state)
{
    (void)state;
    char dir[] = "/tmp/fa-core-alone-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char spec[200], log[120];
    snprintf(spec, sizeof spec, "format=json:verbosity=1:log_path=%s/log.%%p", dir);
    assert_int_equal(fa_options_parse(&fa_opts, spec, NULL, NULL), 0);
    fa_log_init(&fa_opts);
    fa_threads_init();
    assert_non_null(fa_thread_current());
    fa_pid_refresh();
    parent_pid = getpid();
    fa_fork_register_handlers(__register_atfork);
    assert_int_equal(in_child(reset_by_the_child_handler), 0);
    assert_int_equal(fa_proc.fork_seq, 1); /* the parent counted it */
    assert_int_equal(fa_proc.forked_child, 0);
    snprintf(log, sizeof log, "%s/log.%d", dir, (int)parent_pid);
    parent_wrote_the_fork_note(log);
    assert_int_equal(unlink(log), 0);
    assert_int_equal(rmdir(dir), 0); /* the child wrote no log */
}

int main(void)
{
    /* In this order: the first test's fork must run no handlers of ours. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_child_made_without_handlers_resets_itself),
        cmocka_unit_test(the_core_audits_a_fork_through_its_atfork_handlers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
