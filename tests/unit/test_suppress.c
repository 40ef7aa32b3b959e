/* Unit tests of suppressions: the pattern matcher ('*' wildcards, substring semantics)
 * and the rule file parser. */
#include "unit.h"

#include "out/suppress.h"

static void globs_match_anywhere(void **state)
{
    (void)state;
    assert_true(fa_glob_substring("hold", "hold_in_worker"));
    assert_true(fa_glob_substring("in_work", "hold_in_worker"));
    assert_true(fa_glob_substring("hold_*_worker", "hold_in_worker"));
    assert_true(fa_glob_substring("*", ""));
    assert_true(fa_glob_substring("libjemalloc*", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"));
    assert_true(fa_glob_substring("pipe:[*]", "pipe:[1234]"));
    assert_true(fa_glob_substring("a**b", "xaYYbx"));
    assert_false(fa_glob_substring("hold_*_thread", "hold_in_worker"));
    assert_false(fa_glob_substring("worker2", "hold_in_worker"));
    assert_false(fa_glob_substring("x", ""));
}

/* Many '*' against a long near-miss: a backtracking matcher would not come back. */
static void many_wildcards_stay_cheap(void **state)
{
    (void)state;
    char text[4001];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = 0;
    assert_false(fa_glob_substring("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
    assert_true(fa_glob_substring("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", text));
    assert_true(fa_glob_substring("aa*aab", "xaaaaabaab"));
    assert_false(fa_glob_substring("aa*aab", "xaabaa"));
}

static void count_line(const char *line, void *ctx)
{
    assert_non_null(strstr(line, "forkaudit: suppressions file 'f' line "));
    ++*(int *)ctx;
}

static void rule_files_parse_line_by_line(void **state)
{
    (void)state;
    char text[] = "# comment\n  lock-held-at-fork:hold_*  \r\n\nno colon\n:no kind\nfd-inherited:\n"
                  "fd-inherited:pipe:[*]";
    const char *kind, *pattern;
    int said = 0;
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(text, "f", count_line, &said), 3);
    assert_int_equal(said, 3);
    assert_true(fa_suppress_rule(0, &kind, &pattern));
    assert_string_equal(kind, "lock-held-at-fork");
    assert_string_equal(pattern, "hold_*");
    assert_true(fa_suppress_rule(1, &kind, &pattern));
    assert_string_equal(kind, "fd-inherited");
    assert_string_equal(pattern, "pipe:[*]");
    assert_false(fa_suppress_rule(2, &kind, &pattern));
    fa_suppress_clear();
    assert_false(fa_suppress_any());
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(globs_match_anywhere),
                                       cmocka_unit_test(many_wildcards_stay_cheap),
                                       cmocka_unit_test(rule_files_parse_line_by_line)};
    return cmocka_run_group_tests_name("suppression patterns", tests, NULL, NULL);
}
