/* Unit tests of findings/findings.c, the findings stage: the kind registry as C, the order
 * of a fork's records, suppression, severity and the error count (exitcode=). */
#include "findings_fixture.h"

#include "base/process.h"
#include "out/suppress.h"

/* Every kinds.def row has a unique name and one of the three levels. */
static void the_registry_is_whole(void **state)
{
    (void)state;
    for (int k = 0; k < FA_KIND_COUNT; k++) {
        const char *level = fa_kind_level_name((enum fa_kind)k);
        assert_true(strcmp(level, "error") == 0 || strcmp(level, "warning") == 0 || strcmp(level, "note") == 0);
        assert_string_equal(fa_level_name(fa_kind_level((enum fa_kind)k)), level);
        for (int j = 0; j < k; j++) assert_string_not_equal(fa_kind_name((enum fa_kind)k), fa_kind_name((enum fa_kind)j));
    }
    assert_string_equal(fa_kind_name(FA_KIND_LOCK), "lock-held-at-fork");
    assert_int_equal(fa_kind_level(FA_KIND_LOCK), FA_LEVEL_ERROR);
    assert_int_equal(fa_kind_phase(FA_KIND_EXEC_FDS), FA_PHASE_EXEC);
    assert_int_equal(fa_kind_phase(FA_KIND_CHILD_STUCK), FA_PHASE_CHILD);
}

static void fork_records(void *arg)
{
    (void)arg;
    fa_findings_fork(&snap, &opts);
}

/* The records of a fork in kinds.def order, one per lock and generator, the note last;
 * each error counted once. */
static void a_fork_writes_its_kinds_in_order(void **state)
{
    (void)state;
    size_t len;
    opts.format = FA_FORMAT_JSON;
    opts.verbosity = 1;
    unsigned long errors = fa_proc.errors;
    char *out = capture_log(fork_records, NULL, &len);
    json_t *all = parse_lines(out);
    static const char *const want[] = {"lock-held-at-fork", "lock-held-at-fork", "threads-at-fork", "fds-at-fork",
                                       "rng-at-fork", "fork"};
    assert_int_equal(json_array_size(all), 6);
    for (size_t i = 0; i < 6; i++) assert_string_equal(str_of(json_array_get(all, i), "kind"), want[i]);
    assert_string_equal(str_of(json_array_get(all, 0), "severity"), "error");
    assert_string_equal(str_of(json_array_get(all, 1), "severity"), "warning");
    assert_int_equal(int_of(json_array_get(all, 5), "errors"), 1);
    assert_int_equal(fa_proc.errors, errors + 1);
    json_decref(all);
    free(out);

    /* JSON without verbosity: no note; a fork without findings writes nothing */
    setup(NULL);
    opts.format = FA_FORMAT_JSON;
    out = capture_log(fork_records, NULL, &len);
    all = parse_lines(out);
    assert_int_equal(json_array_size(all), 5);
    json_decref(all);
    free(out);
    snap.nlocks = snap.nthreads = snap.nfds = snap.nrng = 0;
    assert_false(fa_findings_fork_may_write(&snap, &opts));
    out = capture_log(fork_records, NULL, &len);
    assert_int_equal(len, 0);
    free(out);
    snap.threads_untracked = 1; /* ...unless a table overflowed */
    assert_true(fa_findings_fork_may_write(&snap, &opts));
    out = capture_log(fork_records, NULL, &len);
    all = parse_lines(out);
    assert_int_equal(json_array_size(all), 1);
    assert_int_equal(int_of(json_array_get(all, 0), "threads_untracked"), 1);
    json_decref(all);
    free(out);
}

/* Text: the fork's stack once, in the first record; the SUMMARY line last. */
static void text_shows_the_fork_stack_once(void **state)
{
    (void)state;
    size_t len;
    opts.format = FA_FORMAT_TEXT;
    strcpy(fds[0].target, "/tmp/plain"); /* (a newline in a path would start a line of its own) */
    char *out = capture_log(fork_records, NULL, &len);
    const char *first = strstr(out, "fork called by thread 100 at:\n");
    assert_non_null(first);
    assert_null(strstr(first + 1, "fork called by thread"));
    assert_true(first < strstr(out, "WARNING: lock-held-at-fork"));
    const char *summary = strstr(out, "==100== SUMMARY: forkaudit: fork #3 (child 101, via fork) by thread 100: 1 error, "
                                      "4 warnings\n");
    assert_non_null(summary);
    assert_int_equal(strchr(summary, '\n')[1], 0); /* the last line */
    assert_prefixed(out, "==100== ");
    free(out);
}

/* A rule drops what it names (a lock by its acquisition stack, a descriptor by its target,
 * a thread by its start routine), counts it, and the counts follow. */
static void suppressions_drop_what_they_name(void **state)
{
    (void)state;
    char rules[] = "lock-held-at-fork:helper_static_function\nthreads-at-fork:helper_static_function\n"
                   "fds-at-fork:/tmp/we*\nrng-at-fork:nothing_like_this\n";
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(rules, "rules", NULL, NULL), 0);
    size_t len;
    opts.format = FA_FORMAT_JSON;
    opts.verbosity = 1;
    unsigned long errors = fa_proc.errors;
    char *out = capture_log(fork_records, NULL, &len);
    json_t *all = parse_lines(out);
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(str_of(json_array_get(all, 0), "kind"), "rng-at-fork");
    json_t *note = json_array_get(all, 1);
    assert_int_equal(int_of(note, "errors"), 0);
    assert_int_equal(int_of(note, "warnings"), 1);
    assert_int_equal(snap.suppressed, 4);
    assert_int_equal(fa_proc.errors, errors);
    json_decref(all);
    free(out);

    /* the fork's own stack is a key stack of every finding of the fork */
    setup(NULL);
    char by_fork[] = "rng-at-fork:helper_static_function\n";
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(by_fork, "rules", NULL, NULL), 0);
    opts.format = FA_FORMAT_JSON;
    out = capture_log(fork_records, NULL, &len);
    assert_null(strstr(out, "rng-at-fork"));
    assert_non_null(strstr(out, "lock-held-at-fork"));
    free(out);
    fa_suppress_clear();
}

static void suppressions_note(void *arg)
{
    (void)arg;
    fa_findings_suppressions_used(&opts);
}

/* At exit, the rules that matched and how often: nothing when none did. */
static void the_suppressions_note_lists_the_rules_used(void **state)
{
    (void)state;
    char rules[] = "rng-at-fork:helper_static_function\nfds-at-fork:/nowhere\n";
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(rules, "rules", NULL, NULL), 0);
    size_t len;
    opts.format = FA_FORMAT_JSON;
    char *out = capture_log(suppressions_note, NULL, &len);
    assert_int_equal(len, 0);
    free(out);
    uintptr_t pc = in_helper();
    assert_true(fa_suppress_frames("rng-at-fork", &pc, 1));
    assert_true(fa_suppress_frames("rng-at-fork", &pc, 1));
    out = capture_log(suppressions_note, NULL, &len);
    json_t *all = parse_lines(out);
    assert_int_equal(json_array_size(all), 1);
    json_t *v = json_array_get(all, 0);
    assert_string_equal(str_of(v, "kind"), "suppressions");
    assert_string_equal(str_of(v, "severity"), "note");
    assert_int_equal(int_of(v, "pid"), getpid());
    json_t *list = json_object_get(v, "suppressions");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(str_of(json_array_get(list, 0), "rule"), "rng-at-fork:helper_static_function");
    assert_int_equal(int_of(json_array_get(list, 0), "hits"), 2);
    json_decref(all);
    free(out);
    opts.format = FA_FORMAT_TEXT;
    out = capture_log(suppressions_note, NULL, &len);
    char want[128];
    snprintf(want, sizeof want, "==%d== forkaudit: suppression used 2 times: rng-at-fork:helper_static_function\n",
             (int)getpid());
    assert_string_equal(out, want);
    free(out);
    fa_suppress_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_registry_is_whole),
        cmocka_unit_test_setup(a_fork_writes_its_kinds_in_order, setup),
        cmocka_unit_test_setup(text_shows_the_fork_stack_once, setup),
        cmocka_unit_test_setup(suppressions_drop_what_they_name, setup),
        cmocka_unit_test_setup(the_suppressions_note_lists_the_rules_used, setup),
    };
    return cmocka_run_group_tests_name("findings stage", tests, NULL, NULL);
}
