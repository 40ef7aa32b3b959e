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

static void keep_line(const char *line, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 4096 - n, "%s\n", line);
}

/* Each problem names its line and says what is wrong: an unknown kind lists the kinds, a
 * note kind says it is never reported; rules past 256 are one note, not one a line. */
static void problems_are_named(void **state)
{
    (void)state;
    static char text[300 * 24 + 64];
    char said[4096] = "";
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "lock-held:x\nstate:y\n");
    for (int i = 0; i < 300; i++) n += (size_t)snprintf(text + n, sizeof text - n, "rng-at-fork:f%d\n", i);
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(text, "f", keep_line, said), 3);
    assert_non_null(strstr(said, "forkaudit: suppressions file 'f' line 1: 'lock-held' is not a kind (the kinds: "
                                 "lock-held-at-fork, threads-at-fork, fds-at-fork"));
    assert_non_null(strstr(said, "forkaudit: suppressions file 'f' line 2: 'state' is a note, never reported: "
                                 "nothing to suppress; line ignored\n"));
    assert_non_null(strstr(said, "forkaudit: suppressions file 'f' line 259: more than 256 rules: this rule and 43 "
                                 "more after it are ignored\n"));
    fa_suppress_clear();
}

static void rule_files_parse_line_by_line(void **state)
{
    (void)state;
    char text[] = "# comment\n  lock-held-at-fork:hold_*  \r\n\nno colon\n:no kind\nfds-at-fork:\n"
                  "fd-inherited:pipe:[*]\nfork:x\nfds-at-fork:pipe:[*]";
    const char *kind, *pattern;
    int said = 0;
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(text, "f", count_line, &said), 5);
    assert_int_equal(said, 5);
    assert_true(fa_suppress_rule(0, &kind, &pattern));
    assert_string_equal(kind, "lock-held-at-fork");
    assert_string_equal(pattern, "hold_*");
    assert_true(fa_suppress_rule(1, &kind, &pattern));
    assert_string_equal(kind, "fds-at-fork");
    assert_string_equal(pattern, "pipe:[*]");
    assert_false(fa_suppress_rule(2, &kind, &pattern));
    fa_suppress_clear();
    assert_false(fa_suppress_any());
}

static void anchored_globs_match_whole(void **state)
{
    (void)state;
    assert_true(fa_glob_whole("main", "main"));
    assert_false(fa_glob_whole("main", "domain"));
    assert_false(fa_glob_whole("main", "main2"));
    assert_true(fa_glob_whole("lib*.so+0x*", "libfoo.so+0x1a2b"));
    assert_true(fa_glob_whole("*", ""));
    assert_true(fa_glob_whole("a*b*c", "aXbYc"));
    assert_false(fa_glob_whole("a*b*c", "aXbYcd"));
}

__attribute__((noinline)) void opener_for_the_test(void) { __asm__ volatile(""); }
int main(void);

/* A rule the library suggests silences its own finding only: "^main" is the stack whose
 * innermost named frame is main, not every stack main is part of. */
static void suggested_rules_name_one_site(void **state)
{
    (void)state;
    uintptr_t in_main[] = {(uintptr_t)&main + 1};
    uintptr_t in_opener[] = {(uintptr_t)&opener_for_the_test + 1, (uintptr_t)&main + 1};
    char out[300];
    struct fa_buf b;
    fa_buf_fixed(&b, out, sizeof out);
    assert_int_equal(fa_suppress_suggest(&b, "fds-at-fork", in_main, 1, NULL), 1);
    fa_buf_terminate(&b);
    assert_string_equal(out, "fds-at-fork:^main");
    fa_buf_fixed(&b, out, sizeof out);
    assert_int_equal(fa_suppress_suggest(&b, "fds-at-fork", in_opener, 2, NULL), 1);
    fa_buf_terminate(&b);
    assert_string_equal(out, "fds-at-fork:opener_for_the_test");
    /* a stripped program's frame (here: no symbol covers the ELF header) under libc's
     * start-up frame: its own module and offset, not __libc_start_main (every stack's) */
#ifndef __SANITIZE_ADDRESS__ /* (the ASan build's header page is not told as the program's: not checked there) */
    extern const char __ehdr_start[];
    extern int __libc_start_main();
    uintptr_t stripped[] = {(uintptr_t)__ehdr_start + 0x10, (uintptr_t)&__libc_start_main + 1};
    fa_buf_fixed(&b, out, sizeof out);
    assert_int_equal(fa_suppress_suggest(&b, "fds-at-fork", stripped, 2, NULL), 1);
    fa_buf_terminate(&b);
    assert_string_equal(out, "fds-at-fork:^test_suppress+0x10");
#endif
    /* no stack and a text that names nothing alone: no rule */
    static const char *const vague[] = {"*", "pipe:*", "socket:*", "/tmp/forkaudit-x.1234/shared.log", "/dev/shm/q", NULL};
    for (int i = 0; vague[i]; i++) {
        fa_buf_fixed(&b, out, sizeof out);
        assert_int_equal(fa_suppress_suggest(&b, "fds-at-fork", NULL, 0, vague[i]), 0);
        fa_buf_terminate(&b);
        assert_string_equal(out, "");
    }
    fa_buf_fixed(&b, out, sizeof out);
    assert_int_equal(fa_suppress_suggest(&b, "fds-at-fork", NULL, 0, "/var/log/app.log"), 1);
    fa_buf_terminate(&b);
    assert_string_equal(out, "fds-at-fork:/var/log/app.log");

    char rules[] = "fds-at-fork:^main\n";
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(rules, "test", NULL, NULL), 0);
    assert_true(fa_suppress_frames("fds-at-fork", in_main, 1));
    assert_false(fa_suppress_frames("fds-at-fork", in_opener, 2));
    char loose[] = "fds-at-fork:main\n"; /* a plain rule still matches any frame */
    fa_suppress_clear();
    assert_int_equal(fa_suppress_parse(loose, "test", NULL, NULL), 0);
    assert_true(fa_suppress_frames("fds-at-fork", in_opener, 2));
    fa_suppress_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(globs_match_anywhere),
                                       cmocka_unit_test(many_wildcards_stay_cheap),
                                       cmocka_unit_test(rule_files_parse_line_by_line),
                                       cmocka_unit_test(anchored_globs_match_whole),
                                       cmocka_unit_test(suggested_rules_name_one_site),
                                       cmocka_unit_test(problems_are_named)};
    return cmocka_run_group_tests_name("suppression patterns", tests, NULL, NULL);
}
