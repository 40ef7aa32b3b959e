/* Unit tests of the report writer: a synthetic snapshot rendered as JSON (parsed back and
 * checked field by field) and as text (sanitizer layout, 100 columns). Frames point into
 * this test binary, so symbolization of static functions is checked too. */
#include "unit.h"

#include <jansson.h>

#include <sys/auxv.h>

#include "findings/findings.h"
#include "out/record.h"
#include "out/symbolize.h"

static __attribute__((noinline)) int helper_static_function(int x) { return x * 3 + 1; }

static struct fa_snapshot snap;
static struct fa_snap_thread threads[2];
static struct fa_snap_lock locks[2];
static struct fa_snap_fd fds[1];
static struct fa_options opts = FA_OPTIONS_INITIALIZER;

static int setup(void **state)
{
    (void)state;
    memset(&snap, 0, sizeof snap);
    memset(threads, 0, sizeof threads);
    memset(locks, 0, sizeof locks);
    memset(fds, 0, sizeof fds);
    uintptr_t in_helper = (uintptr_t)&helper_static_function + 4;
    snap.via = "fork";
    snap.seq = 3;
    snap.pid = 100;
    snap.ppid = 1;
    snap.tid = 100;
    snap.child = 101;
    snap.stack.n = 1;
    snap.stack.pc[0] = in_helper;
    snap.threads = threads;
    snap.nthreads = 1;
    threads[0].tid = 102;
    strcpy(threads[0].name, "work\"er");
    threads[0].start_routine = (void *)&helper_static_function;
    threads[0].ncreated = 1;
    threads[0].created_at[0] = in_helper;
    snap.locks = locks;
    snap.nlocks = 2;
    locks[0].held.addr = (void *)0x5000;
    locks[0].held.type = FA_LOCK_MUTEX;
    locks[0].held.kind = 1 | 0x10;
    locks[0].held.depth = 2;
    locks[0].held.nframes = 1;
    locks[0].held.frames[0] = in_helper;
    locks[0].holder = 102;
    locks[1] = locks[0];
    locks[1].held.kind = 0; /* normal: the child could unlock it, so a warning */
    locks[1].holder = 100;
    locks[1].holder_is_forking_thread = 1;
    snap.fds = fds;
    snap.nfds = 1;
    fds[0].fd = 7;
    strcpy(fds[0].target, "/tmp/we\"ird\npath");
    fds[0].type = "file";
    fds[0].flags = 01; /* O_WRONLY */
    fds[0].offset = 42;
    snap.nrng = 1;
    snap.rng[0].family = FA_RNG_RANDOM;
    snap.rng[0].state.seeded = 1;
    snap.rng[0].state.seed = 12345;
    snap.rng[0].state.seeded_by = "srand";
    snap.rng[0].state.draws = 7;
    return 0;
}

static json_t *render_json(enum fa_kind kind, int index)
{
    struct fa_buf b;
    opts.format = FA_FORMAT_JSON;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render(&b, &snap, kind, index, &opts);
    assert_true(b.len > 0 && b.p[b.len - 1] == '\n');
    assert_null(memchr(b.p, '\n', b.len - 1)); /* one line */
    fa_buf_terminate(&b);
    json_error_t err;
    json_t *v = json_loads(b.p, 0, &err);
    if (!v) fail_msg("invalid JSON (%s): %s", err.text, b.p);
    fa_buf_release(&b);
    return v;
}

static void json_lock_record_has_every_field(void **state)
{
    (void)state;
    json_t *v = render_json(FA_KIND_LOCK, 0);
    assert_string_equal(json_string_value(json_object_get(v, "kind")), "lock-held-at-fork");
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "error");
    assert_int_equal(json_integer_value(json_object_get(v, "pid")), 100);
    json_t *fork = json_object_get(v, "fork");
    assert_int_equal(json_integer_value(json_object_get(fork, "seq")), 3);
    assert_int_equal(json_integer_value(json_object_get(fork, "child_pid")), 101);
    json_t *lock = json_object_get(v, "lock");
    assert_string_equal(json_string_value(json_object_get(lock, "addr")), "0x5000");
    assert_string_equal(json_string_value(json_object_get(lock, "mutex_type")), "recursive");
    assert_true(json_is_true(json_object_get(lock, "robust")));
    assert_int_equal(json_integer_value(json_object_get(lock, "depth")), 2);
    assert_int_equal(json_integer_value(json_object_get(lock, "holder_tid")), 102);
    assert_string_equal(json_string_value(json_object_get(lock, "holder_name")), "work\"er");
    json_t *frame = json_array_get(json_object_get(lock, "acquired_at"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "helper_static_function");
    assert_string_equal(json_string_value(json_object_get(frame, "function_offset")), "0x4");
    assert_non_null(strstr(json_string_value(json_object_get(frame, "module")), "test_report"));
    json_decref(v);

    v = render_json(FA_KIND_LOCK, 1);
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "warning");
    assert_true(json_is_true(json_object_get(json_object_get(v, "lock"), "holder_is_forking_thread")));
    json_decref(v);
}

static void json_threads_fds_rng(void **state)
{
    (void)state;
    json_t *v = render_json(FA_KIND_THREADS, 0);
    json_t *t = json_array_get(json_object_get(v, "threads"), 0);
    assert_int_equal(json_integer_value(json_object_get(t, "tid")), 102);
    assert_string_equal(json_string_value(json_object_get(t, "start_routine")), "helper_static_function");
    json_decref(v);

    v = render_json(FA_KIND_FDS, 0);
    json_t *f = json_array_get(json_object_get(v, "fds"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "target")), "/tmp/we\"ird\npath");
    assert_string_equal(json_string_value(json_object_get(f, "access")), "w");
    assert_int_equal(json_integer_value(json_object_get(f, "offset")), 42);
    assert_true(json_is_false(json_object_get(f, "cloexec")));
    json_decref(v);

    v = render_json(FA_KIND_RNG, 0);
    json_t *r = json_object_get(v, "rng");
    assert_string_equal(json_string_value(json_object_get(r, "family")), "rand");
    assert_int_equal(json_integer_value(json_object_get(r, "seed")), 12345);
    assert_int_equal(json_integer_value(json_object_get(r, "draws")), 7);
    json_decref(v);

    v = render_json(FA_KIND_FORK, 0);
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "note");
    assert_int_equal(json_integer_value(json_object_get(v, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "warnings")), 4);
    json_decref(v);
}

static void text_has_sanitizer_layout(void **state)
{
    (void)state;
    struct fa_buf b;
    opts.format = FA_FORMAT_TEXT;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render(&b, &snap, FA_KIND_LOCK, 0, &opts);
    fa_findings_render(&b, &snap, FA_KIND_FORK, 0, &opts);
    fa_buf_terminate(&b);
    assert_non_null(strstr(b.p, "==100== forkaudit: ERROR: lock-held-at-fork: pthread_mutex 0x5000 (recursive, robust) "
                                "is held by thread 102 \"work\"er\" at fork #3 (child 101, via fork)\n"));
    assert_non_null(strstr(b.p, "acquired by thread 102 (depth 2) at:\n"));
    assert_non_null(strstr(b.p, "#0 0x"));
    assert_non_null(strstr(b.p, " in helper_static_function+0x4 ("));
    assert_non_null(strstr(b.p, "==100== SUMMARY: forkaudit: fork #3 (child 101, via fork) by thread 100: 1 error, 4 warnings\n"));
    /* every line is prefixed */
    for (char *line = b.p; *line; line = strchr(line, '\n') + 1) assert_int_equal(strncmp(line, "==100== ", 8), 0);
    fa_buf_release(&b);
}

/* A stack ends whole only in the entry point's own function: a frame in the code just
 * after _start (here __do_global_dtors_aux and friends, or a handler in the reviewer's
 * program) is where the unwinder stopped. */
static void only_the_entry_function_ends_a_stack(void **state)
{
    (void)state;
    uintptr_t entry = (uintptr_t)getauxval(AT_ENTRY), in_start = entry + 8, after_start = entry + 0x80;
    struct fa_frame_info fi;
    fa_symbolize(after_start, 1, &fi);
    assert_false(fi.function && fi.function_len == 6 && strncmp(fi.function, "_start", 6) == 0);
    assert_null(fa_record_stack_truncation(&in_start, 1));
    const char *why = fa_record_stack_truncation(&after_start, 1);
    assert_non_null(why);
    assert_string_equal(why, "unwinder");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_lock_record_has_every_field, setup),
        cmocka_unit_test_setup(json_threads_fds_rng, setup),
        cmocka_unit_test_setup(text_has_sanitizer_layout, setup),
        cmocka_unit_test(only_the_entry_function_ends_a_stack),
    };
    return cmocka_run_group_tests_name("report writer", tests, NULL, NULL);
}
