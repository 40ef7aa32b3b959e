/* libFuzzer target for the suppression rule parser (fa_suppress_parse) and the pattern
 * matcher (fa_glob_substring). Invariants checked on every input:
 * - each diagnostic is one line naming the file and a line number, one per problem;
 * - at most 256 rules; every rule has a non-empty kind without ':' or leading blanks,
 *   shorter than 32 bytes, and a non-empty pattern shorter than 224 bytes without a
 *   newline or trailing blanks; rules + problems never exceed the lines of the input;
 * - a pattern always matches itself, and the matcher agrees with a plain dynamic-
 *   programming reference on pairs of the first rules' patterns. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/suppress.h"

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_suppressions: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#define PATH "fuzz.supp"

static void check_diag(const char *line, void *ctx)
{
    ++*(int *)ctx;
    static const char head[] = "forkaudit: suppressions file '" PATH "' line ";
    CHECK(strncmp(line, head, sizeof head - 1) == 0);
    CHECK(line[sizeof head - 1] >= '1' && line[sizeof head - 1] <= '9');
    CHECK(strchr(line, '\n') == NULL);
}

/* Reference: does "*pattern*" match all of text? dp[j]: pattern prefix matches text
 * prefix of length j. */
static int reference_match(const char *pattern, const char *text)
{
    size_t n = strlen(text);
    char *dp = calloc(n + 1, 1), *next = calloc(n + 1, 1);
    for (size_t j = 0; j <= n; j++) dp[j] = 1; /* the leading '*' */
    for (const char *p = pattern; *p; p++) {
        if (*p == '*') {
            next[0] = dp[0];
            for (size_t j = 1; j <= n; j++) next[j] = (char)(next[j - 1] || dp[j]);
        } else {
            next[0] = 0;
            for (size_t j = 1; j <= n; j++) next[j] = (char)(dp[j - 1] && text[j - 1] == *p);
        }
        char *t = dp;
        dp = next;
        next = t;
    }
    int any = 0; /* the trailing '*' */
    for (size_t j = 0; j <= n; j++) any |= dp[j];
    free(dp);
    free(next);
    return any;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    size_t lines = 1;
    for (const char *c = text; *c; c++) lines += *c == '\n';

    int said = 0;
    fa_suppress_clear();
    int problems = fa_suppress_parse(text, PATH, check_diag, &said);
    CHECK(problems == said);

    int nrules = 0;
    const char *kind, *pattern;
    for (; fa_suppress_rule(nrules, &kind, &pattern); nrules++) {
        size_t kl = strlen(kind), pl = strlen(pattern);
        CHECK(kl > 0 && kl < 32 && !strchr(kind, ':') && kind[0] != ' ' && kind[0] != '\t' && kind[0] != '#');
        CHECK(pl > 0 && pl < 224 && !strchr(pattern, '\n'));
        CHECK(pattern[pl - 1] != ' ' && pattern[pl - 1] != '\t' && pattern[pl - 1] != '\r');
        CHECK(fa_glob_substring(pattern, pattern));
    }
    CHECK(nrules <= 256);
    CHECK((size_t)nrules + (size_t)problems <= lines);
    CHECK(fa_suppress_any() == (nrules > 0));

    const char *a, *b;
    for (int i = 0; i < nrules && i < 4; i++)
        for (int j = 0; j < nrules && j < 4; j++) {
            fa_suppress_rule(i, &kind, &a);
            fa_suppress_rule(j, &kind, &b);
            CHECK(fa_glob_substring(a, b) == reference_match(a, b));
        }
    free(text);
    return 0;
}
