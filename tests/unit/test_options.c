/* Unit tests of the FORKAUDIT_OPTIONS parser: good input, bad input, odd separators. */
#include "unit.h"

#include "base/options.h"

struct diags {
    int n;
    char last[512];
};

static void collect(const char *line, void *ctx)
{
    struct diags *d = ctx;
    d->n++;
    snprintf(d->last, sizeof d->last, "%s", line);
}

static void defaults_match_the_contract(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    assert_string_equal(o.log_path, "stderr");
    assert_int_equal(o.format, FA_FORMAT_TEXT);
    assert_int_equal(o.verbosity, 0);
    assert_int_equal(o.stack_depth, 16);
    assert_int_equal(o.lock_stack_depth, 1);
}

static void dump_signal_is_off_by_default_and_bounded(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    assert_int_equal(o.dump_signal, 0);
    assert_int_equal(fa_options_parse(&o, "dump_signal=37", collect, &d), 0);
    assert_int_equal(o.dump_signal, 37);
    assert_int_equal(fa_options_parse(&o, "dump_signal=65", collect, &d), 1);
    assert_int_equal(o.dump_signal, 37); /* a bad value leaves what was set */
    assert_non_null(strstr(d.last, "'dump_signal'"));
}

static void every_separator_is_accepted(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    int problems = fa_options_parse(&o, "format=json:verbosity=1, stack_depth=8\tlog_path=/tmp/x.%p,max_fds=10",
                                    collect, &d);
    assert_int_equal(problems, 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(o.format, FA_FORMAT_JSON);
    assert_int_equal(o.verbosity, 1);
    assert_int_equal(o.stack_depth, 8);
    assert_int_equal(o.max_fds, 10);
    assert_string_equal(o.log_path, "/tmp/x.%p");
}

static void bad_values_keep_the_default_and_name_the_key(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    assert_int_equal(fa_options_parse(&o, "verbosity=abc", collect, &d), 1);
    assert_int_equal(o.verbosity, 0);
    assert_non_null(strstr(d.last, "'verbosity'"));
    assert_non_null(strstr(d.last, "using the default 0"));

    assert_int_equal(fa_options_parse(&o, "stack_depth=1000", collect, &d), 1);
    assert_int_equal(o.stack_depth, 16);
    assert_int_equal(fa_options_parse(&o, "stack_depth=-3", collect, &d), 1);
    assert_int_equal(fa_options_parse(&o, "stack_depth=", collect, &d), 1);
    assert_int_equal(fa_options_parse(&o, "stack_depth=99999999999999999999", collect, &d), 1);
    assert_int_equal(o.stack_depth, 16);

    assert_int_equal(fa_options_parse(&o, "format=xml", collect, &d), 1);
    assert_int_equal(o.format, FA_FORMAT_TEXT);
    assert_non_null(strstr(d.last, "'format'"));
}

static void unknown_keys_and_garbage_are_reported_once_each(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    assert_int_equal(fa_options_parse(&o, "nonsense=1:novalue::=5:verbosity=2", collect, &d), 3);
    assert_int_equal(d.n, 3);
    assert_int_equal(o.verbosity, 2);
    /* NULL and empty specs are fine */
    assert_int_equal(fa_options_parse(&o, NULL, collect, &d), 0);
    assert_int_equal(fa_options_parse(&o, "", collect, &d), 0);
    assert_int_equal(fa_options_parse(&o, ":::,,  ", NULL, NULL), 0);
}

static void child_deadlock_actions(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    assert_int_equal(o.on_child_deadlock, FA_ACTION_REPORT);
    assert_int_equal(fa_options_parse(&o, "on_child_deadlock=abort", collect, &d), 0);
    assert_int_equal(o.on_child_deadlock, FA_ACTION_ABORT);
    /* exit:N keeps its colon, and the options after it still parse */
    assert_int_equal(fa_options_parse(&o, "on_child_deadlock=exit:42:verbosity=1", collect, &d), 0);
    assert_int_equal(o.on_child_deadlock, FA_ACTION_EXIT);
    assert_int_equal(o.child_deadlock_exit, 42);
    assert_int_equal(o.verbosity, 1);
    assert_int_equal(fa_options_parse(&o, "on_child_deadlock=exit:300", collect, &d), 1);
    assert_int_equal(fa_options_parse(&o, "on_child_deadlock=hang", collect, &d), 1);
    assert_non_null(strstr(d.last, "'on_child_deadlock'"));
    assert_int_equal(o.on_child_deadlock, FA_ACTION_EXIT); /* unchanged by the bad values */
}

static void long_keys_and_paths_are_bounded(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    char spec[3000];
    memset(spec, 'k', 2000);
    strcpy(spec + 2000, "=1");
    assert_int_equal(fa_options_parse(&o, spec, collect, &d), 1);
    assert_true(strlen(d.last) < 200);
    strcpy(spec, "log_path=");
    memset(spec + 9, 'p', 1500);
    spec[1509] = 0;
    assert_int_equal(fa_options_parse(&o, spec, collect, &d), 1);
    assert_string_equal(o.log_path, "stderr");
}

static void help_lists_every_option_with_its_default(void **state)
{
    (void)state;
    char text[4096];
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    fa_options_help(&o, text, sizeof text);
    const char *expect[] = {"log_path=stderr", "format=text", "verbosity=0", "stack_depth=16",
                            "lock_stack_depth=1", "max_threads=256", "max_locks=64", "max_fds=256", "help=0"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) assert_non_null(strstr(text, expect[i]));
    assert_null(strstr(text, "(default"));
    /* values in effect, with the default beside a changed one */
    fa_options_parse(&o, "format=json:stack_depth=3", NULL, NULL);
    fa_options_help(&o, text, sizeof text);
    assert_non_null(strstr(text, "format=json"));
    assert_non_null(strstr(text, "(default text)"));
    assert_non_null(strstr(text, "stack_depth=3"));
    assert_non_null(strstr(text, "(default 16)"));
    /* a value that fills the column is still followed by a space (issue 14, minor: it was
     * glued to its meaning, "log_path=/tmp/a-rather-long-log-directory/log.%pstderr, ...") */
    fa_options_parse(&o, "log_path=/tmp/a-rather-long-log-directory/log.%p", NULL, NULL);
    fa_options_help(&o, text, sizeof text);
    assert_non_null(strstr(text, "log_path=/tmp/a-rather-long-log-directory/log.%p stderr, stdout, or a file path"));
}

/* AT_SECURE: a file named by the caller of a set-user-ID program is neither written
 * (log_path) nor read (suppressions); every other option stays. */
static void secure_execution_drops_options_that_name_files(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    assert_int_equal(fa_options_parse(&o, "log_path=/etc/evil.%p:suppressions=/root/secret:format=json:verbosity=1",
                                      collect, &d), 0);
    assert_int_equal(fa_options_drop_paths(&o, collect, &d), 2);
    assert_string_equal(o.log_path, "stderr");
    assert_string_equal(o.suppressions, "");
    assert_int_equal(o.format, FA_FORMAT_JSON);
    assert_int_equal(o.verbosity, 1);
    assert_int_equal(d.n, 1); /* said once, naming the keys, not the values */
    assert_non_null(strstr(d.last, "secure execution"));
    assert_non_null(strstr(d.last, "ignoring log_path, suppressions from FORKAUDIT_OPTIONS"));
    assert_non_null(strstr(d.last, "the log goes to stderr"));
    assert_null(strstr(d.last, "/etc/evil"));
}

static void secure_execution_keeps_stderr_stdout_and_says_nothing_when_nothing_dropped(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    assert_int_equal(fa_options_drop_paths(&o, collect, &d), 0);
    assert_int_equal(fa_options_parse(&o, "log_path=stdout", collect, &d), 0);
    assert_int_equal(fa_options_drop_paths(&o, collect, &d), 0);
    assert_string_equal(o.log_path, "stdout");
    assert_int_equal(d.n, 0);
}

/* Found by fuzzing: the diagnostic echoed a '\r' or an escape sequence as it came. */
static void diagnostics_show_control_characters_as_question_marks(void **state)
{
    (void)state;
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    struct diags d = {0};
    assert_int_equal(fa_options_parse(&o, "verb\rosity=\x1b[2J", collect, &d), 1);
    assert_string_equal(d.last, "forkaudit: unknown option 'verb?osity' in FORKAUDIT_OPTIONS, ignored "
                                "(help=1 lists the options)");
    assert_int_equal(fa_options_parse(&o, "verbosity=1\x7f", collect, &d), 1);
    assert_non_null(strstr(d.last, "'1?'"));
}

/* options.def's rules that the compiler cannot check: a choice has words, a word "w:N" has
 * its ARG row just below, an ARG row follows such a choice, every default is in range. */
struct row {
    const char *type, *key;
    size_t offset;
    int min, max;
    const char *values;
};
#define ROW(type, name, dflt, lo, hi, words, help) {#type, #name, offsetof(struct fa_options, name), lo, hi, words},
static const struct row rows[] = {FA_OPTIONS(ROW)};

static void registry_rows_follow_the_rules(void **state)
{
    (void)state;
    const struct fa_options d = FA_OPTIONS_INITIALIZER;
    size_t n = sizeof rows / sizeof rows[0];
    char help[4096];
    fa_options_help(&d, help, sizeof help);
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        int choice = strcmp(r->type, "FORMAT") == 0 || strcmp(r->type, "ACTION") == 0 || strcmp(r->type, "FDS") == 0;
        int takes_arg = choice && r->values && strstr(r->values, ":N") != NULL;
        int is_arg = strcmp(r->type, "ARG") == 0;
        assert_true(!choice || (r->values && r->values[0]));
        assert_true(choice || r->values == NULL);
        assert_true(!takes_arg || (i + 1 < n && strcmp(rows[i + 1].type, "ARG") == 0));
        assert_true(!is_arg || (i > 0 && rows[i - 1].values && strstr(rows[i - 1].values, ":N")));
        assert_true(r->min <= r->max);
        if (strcmp(r->type, "INT") == 0 || is_arg) {
            int v;
            memcpy(&v, (const char *)&d + r->offset, sizeof v);
            assert_in_range(v, r->min, r->max);
        }
        /* every key but an ARG's is listed by help=1 */
        char pat[80];
        snprintf(pat, sizeof pat, "\n  %s=", r->key);
        assert_true(is_arg ? strstr(help, pat) == NULL : strstr(help, pat) != NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_the_contract),
        cmocka_unit_test(every_separator_is_accepted),
        cmocka_unit_test(dump_signal_is_off_by_default_and_bounded),
        cmocka_unit_test(bad_values_keep_the_default_and_name_the_key),
        cmocka_unit_test(unknown_keys_and_garbage_are_reported_once_each),
        cmocka_unit_test(child_deadlock_actions),
        cmocka_unit_test(long_keys_and_paths_are_bounded),
        cmocka_unit_test(help_lists_every_option_with_its_default),
        cmocka_unit_test(secure_execution_drops_options_that_name_files),
        cmocka_unit_test(secure_execution_keeps_stderr_stdout_and_says_nothing_when_nothing_dropped),
        cmocka_unit_test(diagnostics_show_control_characters_as_question_marks),
        cmocka_unit_test(registry_rows_follow_the_rules),
    };
    return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
