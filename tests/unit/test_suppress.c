/* Unit tests of the suppression pattern matcher: '*' wildcards, substring semantics. */
#include "unit.h"

#include "suppress.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(globs_match_anywhere),
                                       cmocka_unit_test(many_wildcards_stay_cheap)};
    return cmocka_run_group_tests_name("suppression patterns", tests, NULL, NULL);
}
