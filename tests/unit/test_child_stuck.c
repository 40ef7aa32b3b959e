/* Unit tests of child-stuck: the futex-wait decoding of an interrupted thread's registers,
 * the suspect scoring, and the record rendered from a synthetic event as JSON (parsed
 * back) and text, whole and cut below a size limit. */
#include "unit.h"
#include "record_line.h"

#include <jansson.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "audit/watchdog.h"
#include "findings/child_stuck.h"
#include "out/log.h"
#include "out/record.h"

static __attribute__((noinline)) int blocked_here(int x) { return x * 5 + 2; }
static __attribute__((noinline)) int outer_caller(int x) { return x * 7 + 3; }
static __attribute__((noinline)) int somewhere_else(int x) { return x * 11 + 1; }

#define PC(fn) ((uintptr_t)&(fn) + 4)

/* ---------------------------------------------------------------- futex-wait decoding */

static const unsigned char syscall_insn[2] = {0x0f, 0x05};
static int word;

static ucontext_t waiting_in(long op, long timeout)
{
    ucontext_t uc;
    memset(&uc, 0, sizeof uc);
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)syscall_insn;
    uc.uc_mcontext.gregs[REG_RAX] = SYS_futex;
    uc.uc_mcontext.gregs[REG_RDI] = (greg_t)(uintptr_t)&word;
    uc.uc_mcontext.gregs[REG_RSI] = op;
    uc.uc_mcontext.gregs[REG_R10] = timeout;
    return uc;
}

static void untimed_private_waits_are_recognised(void **state)
{
    (void)state;
    const long ops[] = {FUTEX_WAIT_PRIVATE, FUTEX_WAIT_BITSET_PRIVATE, FUTEX_LOCK_PI_PRIVATE,
                        FUTEX_WAIT_REQUEUE_PI_PRIVATE, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        ucontext_t uc = waiting_in(ops[i], 0);
        struct fa_futex_wait w = {0, 0};
        assert_int_equal(fa_untimed_futex_wait(&uc, &w), 1);
        assert_int_equal(w.uaddr, (uintptr_t)&word);
        assert_int_equal(w.op, ops[i]);
    }
}

static void other_waits_and_calls_are_not(void **state)
{
    (void)state;
    struct fa_futex_wait w = {0, 0};
    ucontext_t uc = waiting_in(FUTEX_WAIT_PRIVATE, 0x1234); /* a timeout: it ends by itself */
    assert_int_equal(fa_untimed_futex_wait(&uc, &w), 0);
    uc = waiting_in(FUTEX_WAIT, 0); /* shared: another process may wake it */
    assert_int_equal(fa_untimed_futex_wait(&uc, &w), 0);
    uc = waiting_in(FUTEX_WAKE_PRIVATE, 0);
    assert_int_equal(fa_untimed_futex_wait(&uc, &w), 0);
    uc = waiting_in(FUTEX_WAIT_PRIVATE, 0);
    uc.uc_mcontext.gregs[REG_RAX] = SYS_read; /* another system call */
    assert_int_equal(fa_untimed_futex_wait(&uc, &w), 0);
    uc = waiting_in(FUTEX_WAIT_PRIVATE, 0);
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)(syscall_insn + 1); /* past the instruction: EINTR */
    assert_int_equal(fa_untimed_futex_wait(&uc, &w), 0);
    uc.uc_mcontext.gregs[REG_RIP] = 0;
    assert_int_equal(fa_untimed_futex_wait(&uc, &w), 0);
    assert_int_equal(w.uaddr, 0);
}

/* ---------------------------------------------------------------- events */

static struct fa_thread registry[3];
static struct fa_remembered_thread remembered[2];
static uintptr_t child_pc[3];
static struct fa_child_stuck event;
static struct fa_options opts = FA_OPTIONS_INITIALIZER;

static void hold(struct fa_thread *t, const void *addr, unsigned type)
{
    int n = fa_held_count(&t->held);
    struct fa_held *h = &t->held.e[n];
    memset(h, 0, sizeof *h);
    h->addr = addr;
    h->type = (uint8_t)type;
    h->depth = 1;
    h->nframes = 1;
    h->frames[0] = PC(somewhere_else);
    t->held.word = (uint64_t)n + 1;
}

static int setup(void **state)
{
    (void)state;
    memset(registry, 0, sizeof registry);
    memset(remembered, 0, sizeof remembered);
    registry[0].state = FA_SLOT_LIVE; /* the child's own thread */
    registry[0].tid = 400;
    registry[1].state = FA_SLOT_GONE; /* the parent's worker, with two locks */
    registry[1].tid = 402;
    hold(&registry[1], (void *)0x9000, FA_LOCK_MUTEX);
    hold(&registry[1], (void *)0x9100, FA_LOCK_RWLOCK);
    registry[2].state = FA_SLOT_GONE; /* another one, holding nothing */
    registry[2].tid = 403;
    remembered[0].tid = 402;
    strcpy(remembered[0].name, "wor\"ker");
    remembered[0].start_routine = (void *)&outer_caller;
    remembered[0].stack_state = FA_STACK_OK;
    remembered[0].nstack = 1;
    remembered[0].stack[0] = PC(somewhere_else);
    remembered[1].tid = 403;
    strcpy(remembered[1].name, "idle");
    remembered[1].stack_state = FA_STACK_NO_ANSWER;
    child_pc[0] = PC(blocked_here);
    child_pc[1] = PC(outer_caller);
    memset(&event, 0, sizeof event);
    event.origin = (struct fa_child_origin){.pid = 400, .ppid = 100, .tid = 400, .born_tid = 101, .seq = 1, .via = "fork"};
    event.stuck_for_s = 2;
    event.wait = (struct fa_futex_wait){0x5000, FUTEX_WAIT_PRIVATE};
    event.pc = child_pc;
    event.n = 2;
    event.parent_threads = remembered;
    event.nparent_threads = 2;
    event.threads = registry;
    event.nthreads = 3;
    opts = (struct fa_options)FA_OPTIONS_INITIALIZER;
    return 0;
}

/* ---------------------------------------------------------------- suspect */

static void the_holder_of_the_futex_word_is_the_suspect(void **state)
{
    (void)state;
    event.wait.uaddr = 0x9100 + 8; /* inside the rwlock */
    struct fa_child_suspect sus;
    fa_child_stuck_suspect(&event, &sus);
    assert_int_equal(sus.tid, 402);
    assert_int_equal(sus.score, 3);
    assert_string_equal(sus.evidence, "it held the pthread_rwlock whose futex word the child waits on");
    event.wait.uaddr = 0x9100 + 32; /* past it */
    fa_child_stuck_suspect(&event, &sus);
    assert_int_not_equal(sus.score, 3);
}

static void a_thread_in_a_function_of_the_blocked_stack_is_the_suspect(void **state)
{
    (void)state;
    remembered[1].stack_state = FA_STACK_OK;
    remembered[1].nstack = 2;
    remembered[1].stack[0] = PC(blocked_here);
    remembered[1].stack[1] = PC(outer_caller);
    struct fa_child_suspect sus;
    fa_child_stuck_suspect(&event, &sus);
    assert_int_equal(sus.tid, 403);
    assert_int_equal(sus.score, 2);
    assert_non_null(strstr(sus.evidence, "its stack at the fork was in blocked_here (test_child_stuck), a function on "
                                         "the child's blocked stack"));
}

static void a_thread_in_the_library_the_child_is_blocked_in_is_the_suspect(void **state)
{
    (void)state;
    /* blocked in libjansson, called from the program; the worker was in another jansson
     * function at the fork */
    child_pc[0] = (uintptr_t)&json_loads + 4;
    remembered[0].stack[0] = (uintptr_t)&json_dumps + 4;
    struct fa_child_suspect sus;
    fa_child_stuck_suspect(&event, &sus);
    assert_int_equal(sus.tid, 402);
    assert_int_equal(sus.score, 1);
    assert_non_null(strstr(sus.evidence, "its stack at the fork passed through libjansson"));
    assert_non_null(strstr(sus.evidence, "(json_dumps), the library the child is blocked in"));
}

static void no_evidence_no_suspect(void **state)
{
    (void)state;
    struct fa_child_suspect sus;
    fa_child_stuck_suspect(&event, &sus); /* the worker was somewhere else, in the program */
    assert_int_equal(sus.tid, 0);
    assert_int_equal(sus.score, 0);
    event.nparent_threads = 0; /* the remembered threads are another fork's */
    remembered[0].stack[0] = PC(blocked_here);
    fa_child_stuck_suspect(&event, &sus);
    assert_int_equal(sus.tid, 0);
}

/* ---------------------------------------------------------------- rendering */

static const struct fa_child_suspect suspect = {402, 3, "it held the pthread_mutex whose futex word the child waits on"};
static const struct fa_child_suspect nobody = {0, 0, ""};

static char *render(enum fa_format format, const struct fa_child_suspect *sus)
{
    opts.format = format;
    struct fa_buf b;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_child_stuck_render(&b, &event, sus, &opts);
    assert_false(b.truncated);
    char *text = strndup(b.p, b.len);
    fa_buf_release(&b);
    return text;
}


static json_t *render_json(const struct fa_child_suspect *sus)
{
    char *line = render(FA_FORMAT_JSON, sus);
    json_t *v = fa_test_record_line(line);
    free(line);
    return v;
}

static void json_record_has_every_field(void **state)
{
    (void)state;
    json_t *v = render_json(&suspect);
    assert_string_equal(json_string_value(json_object_get(v, "kind")), "child-stuck");
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "error");
    assert_int_equal(json_integer_value(json_object_get(v, "pid")), 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "fork"), "seq")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "stuck_for_s")), 2);
    json_t *wait = json_object_get(v, "wait");
    assert_string_equal(json_string_value(json_object_get(wait, "syscall")), "futex");
    assert_string_equal(json_string_value(json_object_get(wait, "futex_addr")), "0x5000");
    assert_int_equal(json_integer_value(json_object_get(wait, "op")), FUTEX_WAIT_PRIVATE);
    json_t *frame = json_array_get(json_object_get(v, "stack"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "blocked_here");

    json_t *threads = json_object_get(v, "parent_threads");
    assert_int_equal(json_array_size(threads), 2);
    json_t *t = json_array_get(threads, 0);
    assert_int_equal(json_integer_value(json_object_get(t, "tid")), 402);
    assert_string_equal(json_string_value(json_object_get(t, "name")), "wor\"ker");
    assert_string_equal(json_string_value(json_object_get(t, "start_routine")), "outer_caller");
    frame = json_array_get(json_object_get(t, "stack_at_fork"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "somewhere_else");
    t = json_array_get(threads, 1);
    assert_null(json_object_get(t, "stack_at_fork")); /* not known */
    assert_null(json_object_get(t, "start_routine"));

    json_t *locks = json_object_get(v, "locks_held_at_fork");
    assert_int_equal(json_array_size(locks), 2);
    json_t *l = json_array_get(locks, 1);
    assert_string_equal(json_string_value(json_object_get(l, "type")), "pthread_rwlock");
    assert_string_equal(json_string_value(json_object_get(l, "addr")), "0x9100");
    assert_int_equal(json_integer_value(json_object_get(l, "holder_tid")), 402);
    frame = json_array_get(json_object_get(l, "acquired_at"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "somewhere_else");

    /* the rule names the innermost frame outside the C library */
    assert_string_equal(json_string_value(json_object_get(v, "suppression")), "child-stuck:blocked_here");
    assert_int_equal(json_integer_value(json_object_get(v, "suspect_tid")), 402);
    assert_string_equal(json_string_value(json_object_get(v, "suspect_evidence")), suspect.evidence);
    assert_string_equal(json_string_value(json_object_get(v, "action")), "report");
    /* nothing left out */
    assert_null(json_object_get(v, "parent_threads_omitted"));
    assert_null(json_object_get(v, "parent_threads_truncated"));
    assert_null(json_object_get(v, "locks_held_at_fork_dropped"));
    assert_null(json_object_get(v, "locks_held_at_fork_truncated"));
    json_decref(v);
}

static void json_counts_what_the_limits_left_out(void **state)
{
    (void)state;
    opts.max_locks = 1;
    opts.on_child_stuck = FA_ACTION_ABORT;
    event.parent_threads_omitted = 7;
    json_t *v = render_json(&nobody);
    assert_int_equal(json_array_size(json_object_get(v, "locks_held_at_fork")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "locks_held_at_fork_dropped")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "parent_threads_omitted")), 7);
    assert_null(json_object_get(v, "suspect_tid"));
    assert_string_equal(json_string_value(json_object_get(v, "action")), "abort");
    json_decref(v);
}

static void text_record_has_sanitizer_layout(void **state)
{
    (void)state;
    event.parent_threads_omitted = 7;
    char *text = render(FA_FORMAT_TEXT, &suspect);
    assert_non_null(strstr(text, "==400== forkaudit: ERROR: child-stuck: this child (forked by thread 101 of process "
                                 "100) is blocked in a futex wait 2 s after the fork, and it has no other thread that "
                                 "could end the wait\n"));
    assert_non_null(strstr(text, "==400==   futex 0x5000, a lock no wrapper saw (or one taken by code that bypasses "
                                 "them); blocked at:\n==400==     #0 0x"));
    assert_non_null(strstr(text, " in blocked_here+0x4 ("));
    assert_non_null(strstr(text, "==400==   likely culprit: the parent's thread 402: it held the pthread_mutex whose "
                                 "futex word the child waits on\n"));
    assert_non_null(strstr(text, "==400==   the parent's thread 402 \"wor\"ker\", start routine outer_caller, at the "
                                 "fork was at:\n==400==     #0 0x"));
    assert_non_null(strstr(text, "==400==   the parent's thread 403 \"idle\" (its stack at the fork is unknown)\n"));
    assert_non_null(strstr(text, "==400==   ... and 7 more threads of the parent (a child remembers 64 at most)\n"));
    assert_non_null(strstr(text, "==400==   suppress with: child-stuck:blocked_here\n"));
    assert_non_null(strstr(text, "==400==   on_child_stuck=report: the child keeps waiting\n"));
    assert_null(strstr(text, "more not shown"));
    for (char *line = text; *line; line = strchr(line, '\n') + 1) assert_int_equal(strncmp(line, "==400== ", 8), 0);
    free(text);
}

/* ---------------------------------------------------------------- the size limit */

/* 64 remembered threads with 64-frame stacks and 192 held locks: some 600 KB rendered. */
static struct fa_thread many[4];
static struct fa_remembered_thread many_remembered[FA_WATCHDOG_THREADS];

static void make_it_large(void)
{
    memset(many, 0, sizeof many);
    for (int i = 0; i < 4; i++) {
        many[i].state = i ? FA_SLOT_GONE : FA_SLOT_LIVE;
        many[i].tid = 500 + i;
        for (int k = 0; i && k < FA_HELD_MAX; k++) hold(&many[i], (void *)(uintptr_t)(0x10000 + 0x100 * (i * 64 + k)), FA_LOCK_MUTEX);
    }
    for (int i = 0; i < FA_WATCHDOG_THREADS; i++) {
        struct fa_remembered_thread *t = &many_remembered[i];
        memset(t, 0, sizeof *t);
        t->tid = 600 + i;
        t->stack_state = FA_STACK_OK;
        t->nstack = FA_MAX_FRAMES;
        for (int f = 0; f < FA_MAX_FRAMES; f++) t->stack[f] = PC(somewhere_else);
    }
    event.threads = many;
    event.nthreads = 4;
    opts.max_locks = 100000; /* every lock asked for */
    event.parent_threads = many_remembered;
    event.nparent_threads = FA_WATCHDOG_THREADS;
}

struct ctx {
    const struct fa_child_stuck *e;
    const struct fa_options *o;
};

static void render_cb(struct fa_buf *b, void *c)
{
    const struct ctx *x = c;
    fa_child_stuck_render(b, x->e, &suspect, x->o);
}

/* Renders the record as fa_record_write does, with a limit of `cap` bytes. */
static char *render_capped(enum fa_format format, size_t cap)
{
    opts.format = format;
    struct ctx c = {&event, &opts};
    struct fa_buf b;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    assert_int_equal(fa_record_render_capped(&b, cap, render_cb, &c), 0);
    assert_true(b.len <= cap);
    char *text = strndup(b.p, b.len);
    fa_buf_release(&b);
    return text;
}

static void a_record_past_the_limit_cuts_its_lists_and_counts(void **state)
{
    (void)state;
    make_it_large();
    /* whole without a limit */
    char *line = render_capped(FA_FORMAT_JSON, FA_RECORD_MAX);
    json_t *v = fa_test_record_line(line);
    size_t whole = strlen(line);
    print_message("whole record: %zu bytes\n", whole);
    assert_int_equal(json_array_size(json_object_get(v, "parent_threads")), FA_WATCHDOG_THREADS);
    assert_int_equal(json_array_size(json_object_get(v, "locks_held_at_fork")), 3 * FA_HELD_MAX);
    json_decref(v);
    free(line);

    /* a quarter of that: the parent's threads cut, the locks cut (all of them) */
    size_t cap = whole / 4;
    line = render_capped(FA_FORMAT_JSON, cap);
    v = fa_test_record_line(line);
    long listed = (long)json_array_size(json_object_get(v, "parent_threads"));
    assert_true(listed > 0 && listed < FA_WATCHDOG_THREADS);
    assert_int_equal(listed + json_integer_value(json_object_get(v, "parent_threads_truncated")), FA_WATCHDOG_THREADS);
    long locks = (long)json_array_size(json_object_get(v, "locks_held_at_fork"));
    assert_int_equal(locks + json_integer_value(json_object_get(v, "locks_held_at_fork_truncated")), 3 * FA_HELD_MAX);
    /* what follows the lists is whole */
    assert_string_equal(json_string_value(json_object_get(v, "action")), "report");
    assert_non_null(json_object_get(v, "suppression"));
    json_decref(v);
    free(line);

    /* past the threads, within the locks: only locks cut */
    event.nparent_threads = 1;
    line = render_capped(FA_FORMAT_JSON, 48 << 10);
    v = fa_test_record_line(line);
    assert_int_equal(json_array_size(json_object_get(v, "parent_threads")), 1);
    assert_null(json_object_get(v, "parent_threads_truncated"));
    locks = (long)json_array_size(json_object_get(v, "locks_held_at_fork"));
    long truncated = json_integer_value(json_object_get(v, "locks_held_at_fork_truncated"));
    assert_true(locks > 0 && truncated > 0);
    assert_int_equal(locks + truncated, 3 * FA_HELD_MAX);
    json_decref(v);
    free(line);
}

static void a_text_record_past_the_limit_says_how_many_more(void **state)
{
    (void)state;
    make_it_large();
    char *text = render_capped(FA_FORMAT_TEXT, 64 << 10);
    const char *more = strstr(text, "==400==   ... and ");
    assert_non_null(more);
    assert_non_null(strstr(more, " more not shown: the record reached its size limit\n"));
    assert_non_null(strstr(text, "==400==   on_child_stuck=report: the child keeps waiting\n"));
    for (char *line = text; *line; line = strchr(line, '\n') + 1) assert_int_equal(strncmp(line, "==400== ", 8), 0);
    free(text);
}

/* A record of every lock 1,024 vanished threads held (64 each: some 16 MB rendered),
 * written the way the watchdog writes it (here to stderr, a file): below 4 MiB, one valid
 * line, its lock list cut with a count, its end whole. */
static struct fa_thread huge[1 + 1024];

static char *report_to_a_file(void)
{
    char path[] = "/tmp/test_child_stuck.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fa_log_take_stdio(); /* the log writes only to the stderr it was given */
    int reported = fa_child_stuck_report(&event, &opts);
    dup2(saved, 2);
    fa_log_take_stdio();
    close(saved);
    assert_int_equal(reported, 1);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

static void a_record_past_4_mib_is_written_cut_below_it(void **state)
{
    (void)state;
    make_it_large();
    memset(huge, 0, sizeof huge);
    huge[0].state = FA_SLOT_LIVE;
    for (int i = 1; i <= 1024; i++) {
        huge[i].state = FA_SLOT_GONE;
        huge[i].tid = 1000 + i;
        for (int k = 0; k < FA_HELD_MAX; k++) hold(&huge[i], (void *)(uintptr_t)(0x100000 + 0x40 * (i * 64 + k)), FA_LOCK_MUTEX);
    }
    event.threads = huge;
    event.nthreads = 1 + 1024;
    opts.format = FA_FORMAT_JSON;
    char *line = report_to_a_file();
    size_t len = strlen(line);
    print_message("child-stuck record of 65,536 locks: %zu bytes\n", len);
    assert_true(len <= (size_t)4 << 20);
    json_t *v = fa_test_record_line(line);
    assert_int_equal(json_array_size(json_object_get(v, "parent_threads")), FA_WATCHDOG_THREADS);
    assert_null(json_object_get(v, "parent_threads_truncated"));
    long listed = (long)json_array_size(json_object_get(v, "locks_held_at_fork"));
    long truncated = json_integer_value(json_object_get(v, "locks_held_at_fork_truncated"));
    assert_true(listed > 0 && truncated > 0);
    assert_int_equal(listed + truncated, 1024 * FA_HELD_MAX);
    assert_string_equal(json_string_value(json_object_get(v, "suppression")), "child-stuck:blocked_here");
    assert_null(json_object_get(v, "suspect_tid")); /* nothing points at one of them */
    assert_string_equal(json_string_value(json_object_get(v, "action")), "report");
    json_decref(v);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untimed_private_waits_are_recognised),
        cmocka_unit_test(other_waits_and_calls_are_not),
        cmocka_unit_test_setup(the_holder_of_the_futex_word_is_the_suspect, setup),
        cmocka_unit_test_setup(a_thread_in_a_function_of_the_blocked_stack_is_the_suspect, setup),
        cmocka_unit_test_setup(a_thread_in_the_library_the_child_is_blocked_in_is_the_suspect, setup),
        cmocka_unit_test_setup(no_evidence_no_suspect, setup),
        cmocka_unit_test_setup(json_record_has_every_field, setup),
        cmocka_unit_test_setup(json_counts_what_the_limits_left_out, setup),
        cmocka_unit_test_setup(text_record_has_sanitizer_layout, setup),
        cmocka_unit_test_setup(a_record_past_the_limit_cuts_its_lists_and_counts, setup),
        cmocka_unit_test_setup(a_text_record_past_the_limit_says_how_many_more, setup),
        cmocka_unit_test_setup(a_record_past_4_mib_is_written_cut_below_it, setup),
    };
    return cmocka_run_group_tests_name("child-stuck", tests, NULL, NULL);
}
