/* The README's options table and docs/forkaudit-options.7 against the registry
 * (preload/base/options.def): the same keys in the same order, the same defaults (as
 * help=1 prints them), the range of every bounded number, and for a choice the same
 * words. Each check runs on the real documents, and on a copy with one drift put
 * in, which it must catch. */
#include "unit.h"

#include "base/fa.h"
#include "base/options.h"

#ifndef FA_SOURCE_DIR
#define FA_SOURCE_DIR "."
#endif

enum { T_INT, T_ARG, T_OTHER };

struct reg_option {
    const char *key;
    int type;
    int min, max;
    const char *values; /* a choice's words, else NULL */
    char dflt[64];      /* as help=1 prints it */
};

#define REG_TYPE_INT T_INT
#define REG_TYPE_SIGNAL T_INT
#define REG_TYPE_ARG T_ARG
#define REG_TYPE_OUTPUT T_OTHER
#define REG_TYPE_PATH T_OTHER
#define REG_TYPE_FORMAT T_OTHER
#define REG_TYPE_ACTION T_OTHER
#define REG_TYPE_FDS T_OTHER
#define REG_ROW(type, name, dflt, lo, hi, words, help) {#name, REG_TYPE_##type, lo, hi, words, ""},
static struct reg_option reg[] = {FA_OPTIONS(REG_ROW)};
#define NREG (sizeof reg / sizeof reg[0])

/* What one document says about one option. */
struct doc_option {
    char key[64];
    char dflt[128];
    char words[128]; /* the man page's "report|abort|exit:N" */
    char text[8192]; /* what it says about the option, markup removed */
};

#define MAX_DOC 64

static char *read_source(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", FA_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* The defaults as help=1 shows them: "  key=value   meaning" lines. */
static void read_registry_defaults(void)
{
    static char help[8192];
    const struct fa_options d = FA_OPTIONS_INITIALIZER;
    fa_options_help(&d, help, sizeof help);
    for (size_t i = 0; i < NREG; i++) {
        char pat[80];
        snprintf(pat, sizeof pat, "\n  %s=", reg[i].key);
        const char *at = strstr(help, pat);
        if (reg[i].type == T_ARG) continue; /* shown inside its choice ("exit:N") */
        assert_non_null(at);
        at += strlen(pat);
        size_t n = strcspn(at, " \n");
        assert_true(n < sizeof reg[i].dflt);
        memcpy(reg[i].dflt, at, n);
        reg[i].dflt[n] = 0;
    }
}

/* s[0..n) without the spaces around it, and without the backticks around it when `code`. */
static void copy_trimmed(char *out, size_t cap, const char *s, size_t n, int code)
{
    while (n > 0 && (*s == ' ' || (code && *s == '`'))) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || (code && s[n - 1] == '`'))) n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = 0;
}

/* A default as the documents write it, as help=1 would: "`0` (off)" and "0 (off)" are 0,
 * "(none)" and "none" are the empty path. */
static void normalize_default(char *d)
{
    char *off = strstr(d, " (off)");
    if (off) *off = 0;
    size_t n = strlen(d);
    if (n > 0 && d[n - 1] == '`') d[--n] = 0;
    if (d[0] == '`') memmove(d, d + 1, n);
    if (strcmp(d, "(none)") == 0 || strcmp(d, "none") == 0) d[0] = 0;
}

/* The rows of the README's "### Options (`FORKAUDIT_OPTIONS`)" table. */
static int parse_readme(const char *readme, struct doc_option *out)
{
    const char *p = strstr(readme, "### Options (`FORKAUDIT_OPTIONS`)");
    int n = 0;
    if (!p) return 0;
    p = strstr(p, "\n| key | default | meaning |");
    if (!p) return 0;
    p = strchr(p + 1, '\n') + 1; /* the header */
    p = strchr(p, '\n') + 1;     /* "| --- | ..." */
    while (*p == '|' && n < MAX_DOC) {
        const char *end = strchr(p, '\n');
        if (!end) end = p + strlen(p);
        const char *c1 = strstr(p + 1, " | ");
        const char *c2 = c1 ? strstr(c1 + 3, " | ") : NULL;
        if (c2 && c2 < end) {
            struct doc_option *o = &out[n++];
            memset(o, 0, sizeof *o);
            copy_trimmed(o->key, sizeof o->key, p + 1, (size_t)(c1 - p - 1), 1);
            copy_trimmed(o->dflt, sizeof o->dflt, c1 + 3, (size_t)(c2 - c1 - 3), 0);
            normalize_default(o->dflt);
            size_t tlen = (size_t)(end - c2 - 3);
            if (tlen >= 2 && c2[3 + tlen - 1] == '|') tlen--; /* the row's closing "|" */
            copy_trimmed(o->text, sizeof o->text, c2 + 3, tlen, 0);
        }
        p = *end ? end + 1 : end;
    }
    return n;
}

/* One line of roff, its macro and font changes taken out: ".BR stderr ." is "stderr.". */
static void append_deroffed(char *out, size_t cap, const char *line, size_t n)
{
    size_t len = strlen(out);
    int alternating = 0; /* .BR, .BI, .RB, .IR...: arguments joined without spaces */
    if (n > 0 && line[0] == '.') {
        size_t m = 1;
        while (m < n && line[m] != ' ') m++;
        alternating = m == 3;
        line += m;
        n -= m;
    }
    if (len > 0 && len + 1 < cap) out[len++] = ' ';
    for (size_t i = 0; i < n && len + 1 < cap; i++) {
        if (line[i] == '\\' && i + 2 < n && line[i + 1] == 'f') { /* \fI, \fR, \fB */
            i += 2;
            continue;
        }
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '-') continue; /* \- is - */
        if (line[i] == '"' || (alternating && line[i] == ' ')) continue;
        out[len++] = line[i];
    }
    while (len > 0 && out[len - 1] == ' ') len--;
    out[len] = 0;
}

/* The ".TP" entries of the man page's ".SH OPTIONS" section. */
static int parse_man(const char *man, struct doc_option *out)
{
    const char *p = strstr(man, "\n.SH OPTIONS\n");
    int n = 0;
    struct doc_option *o = NULL;
    int header = 0;
    if (!p) return 0;
    p = strchr(p + 1, '\n') + 1;
    while (*p && strncmp(p, ".SH ", 4) != 0) {
        const char *end = strchr(p, '\n');
        if (!end) end = p + strlen(p);
        size_t len = (size_t)(end - p);
        if (len == 3 && strncmp(p, ".TP", 3) == 0) {
            o = n < MAX_DOC ? &out[n++] : NULL;
            if (o) memset(o, 0, sizeof *o);
            header = 1;
        } else if (o && header) { /* ".BR format= text | json": the key and its words */
            char h[256] = "";
            append_deroffed(h, sizeof h, p, len);
            char *eq = strchr(h, '=');
            header = 0;
            if (eq) {
                copy_trimmed(o->key, sizeof o->key, h, (size_t)(eq - h), 0);
                size_t w = 0;
                for (const char *c = eq + 1; *c && w + 1 < sizeof o->words; c++)
                    if (*c != ' ') o->words[w++] = *c;
                o->words[w] = 0;
            }
        } else if (o) append_deroffed(o->text, sizeof o->text, p, len);
        p = *end ? end + 1 : end;
    }
    /* "Default: 16. Frames..." / "Default: 0 (off); 0 to 64. A..." / "Default: 256; 1 to..." */
    for (int i = 0; i < n; i++) {
        const char *d = strstr(out[i].text, "Default:");
        if (!d) continue;
        d += 8;
        while (*d == ' ') d++;
        size_t k = 0;
        while (d[k] && d[k] != ';' && !(d[k] == '.' && (d[k + 1] == ' ' || d[k + 1] == 0)) &&
               strncmp(d + k, " (", 2) != 0)
            k++;
        copy_trimmed(out[i].dflt, sizeof out[i].dflt, d, k, 0);
        normalize_default(out[i].dflt);
    }
    /* "exit: n" is how the man page writes exit:N */
    for (int i = 0; i < n; i++) {
        char *x = strstr(out[i].words, ":n");
        if (x && (x[2] == 0 || x[2] == '|')) x[1] = 'N';
    }
    return n;
}

static int quiet; /* the drift tests expect complaints: don't print them */

static int complain(const char *doc, const char *key, const char *what, const char *says, const char *should)
{
    if (!quiet) print_error("%s: option %s: %s: it says '%s', options.def '%s'\n", doc, key, what, says, should);
    return 1;
}

/* The range an option's number has: its own (INT), its exit:N's (a choice before an ARG). */
static const struct reg_option *range_of(size_t i)
{
    if (reg[i].type == T_INT) return &reg[i];
    if (i + 1 < NREG && reg[i + 1].type == T_ARG) return &reg[i + 1];
    return NULL;
}

/* Every "A to B" or "A–B" (digits) in `text` must be the option's range; `*stated`
 * counts them. */
static int check_ranges(const char *doc, size_t i, const char *text, int *stated)
{
    int problems = 0;
    *stated = 0;
    const struct reg_option *r = range_of(i);
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || (p > text && p[-1] >= '0' && p[-1] <= '9')) continue;
        char *after;
        long lo = strtol(p, &after, 10), hi;
        size_t sep = strncmp(after, " to ", 4) == 0 ? 4 : strncmp(after, "\xe2\x80\x93", 3) == 0 ? 3 : 0;
        if (!sep || after[sep] < '0' || after[sep] > '9') continue;
        hi = strtol(after + sep, &after, 10);
        ++*stated;
        char says[64], should[64];
        snprintf(says, sizeof says, "%ld to %ld", lo, hi);
        if (r) snprintf(should, sizeof should, "%d to %d", r->min, r->max);
        else snprintf(should, sizeof should, "no range");
        if (strcmp(says, should) != 0) problems += complain(doc, reg[i].key, "range", says, should);
        p = after - 1;
    }
    return problems;
}

/* The README's table, or the man page (`man` set), against the registry: problems found. */
static int check_doc(const char *doc, const struct doc_option *d, int n, int man)
{
    int problems = 0;
    size_t keys = 0;
    for (size_t i = 0; i < NREG; i++) {
        if (reg[i].type == T_ARG) continue;
        if (keys >= (size_t)n) {
            problems += complain(doc, reg[i].key, "missing", "", reg[i].key);
            continue;
        }
        const struct doc_option *o = &d[keys++];
        if (strcmp(o->key, reg[i].key) != 0) {
            problems += complain(doc, reg[i].key, "key (in this place)", o->key, reg[i].key);
            continue;
        }
        if (strcmp(o->dflt, reg[i].dflt) != 0) problems += complain(doc, reg[i].key, "default", o->dflt, reg[i].dflt);
        int stated;
        problems += check_ranges(doc, i, o->text, &stated);
        /* Both give every number's limits (but where the text names each value, as
         * verbosity's 0, 1, 2 and help's 0, 1). */
        const struct reg_option *r = range_of(i);
        if (!stated && r && r->max > 2) {
            char should[64];
            snprintf(should, sizeof should, "%d to %d", r->min, r->max);
            problems += complain(doc, reg[i].key, "range not stated", "", should);
        }
        if (reg[i].values && man && strcmp(o->words, reg[i].values) != 0)
            problems += complain(doc, reg[i].key, "values", o->words, reg[i].values);
        if (reg[i].values && !man) { /* each word in backticks: `report`, `exit:N` */
            const char *w = reg[i].values;
            while (*w) {
                size_t len = strcspn(w, "|");
                char quoted[64];
                snprintf(quoted, sizeof quoted, "`%.*s`", (int)len, w);
                if (!strstr(o->text, quoted)) problems += complain(doc, reg[i].key, "values", "", quoted);
                w += len + (w[len] == '|');
            }
        }
    }
    for (; keys < (size_t)n; keys++) problems += complain(doc, d[keys].key, "not an option", d[keys].key, "");
    return problems;
}

static struct doc_option docs[MAX_DOC];

static int check_readme_text(const char *readme)
{
    int n = parse_readme(readme, docs);
    if (n == 0) print_error("README.md: no options table under '### Options (`FORKAUDIT_OPTIONS`)'\n");
    return check_doc("README.md", docs, n, 0) + (n == 0);
}

static int check_man_text(const char *man)
{
    int n = parse_man(man, docs);
    if (n == 0) print_error("docs/forkaudit-options.7: no .TP entries under .SH OPTIONS\n");
    return check_doc("docs/forkaudit-options.7", docs, n, 1) + (n == 0);
}

/* `text` with the first `from` replaced by `to` (the drift the check must catch). */
static char *drifted(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t head = (size_t)(at - text), flen = strlen(from);
    size_t size = strlen(text) - flen + strlen(to) + 1;
    char *s = malloc(size);
    assert_non_null(s);
    snprintf(s, size, "%.*s%s%s", (int)head, text, to, at + flen);
    return s;
}

static int setup(void **state)
{
    (void)state;
    read_registry_defaults();
    return 0;
}

static void readme_table_matches_the_registry(void **state)
{
    (void)state;
    char *readme = read_source("README.md");
    assert_int_equal(check_readme_text(readme), 0);
    free(readme);
}

static void man_page_matches_the_registry(void **state)
{
    (void)state;
    char *man = read_source("docs/forkaudit-options.7");
    assert_int_equal(check_man_text(man), 0);
    free(man);
}

/* The checks can fail: a changed default, a changed range, a lost row, a lost word. */
static void drift_in_the_readme_is_caught(void **state)
{
    (void)state;
    char *readme = read_source("README.md");
    const char *cases[][2] = {
        {"| `stack_depth` | `16` |", "| `stack_depth` | `17` |"},
        {"(1–64)", "(1–63)"},
        {"| `max_fds` |", "| `max_fd` |"},
        {"| `suppressions` | (none) |", "| `suppressions` | `x` |"},
        {"`abort` (SIGABRT)", "abort (SIGABRT)"},
        {"record (1–100000);", "record;"},
    };
    quiet = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = drifted(readme, cases[i][0], cases[i][1]);
        assert_true(check_readme_text(bad) > 0);
        free(bad);
    }
    quiet = 0;
    free(readme);
}

static void drift_in_the_man_page_is_caught(void **state)
{
    (void)state;
    char *man = read_source("docs/forkaudit-options.7");
    const char *cases[][2] = {
        {"Default: 16.", "Default: 17."},
        {"1 to 64", "1 to 65"},
        {".BI max_locks= n", ".BI max_lock= n"},
        {".BR on_child_stuck= report | abort", ".BR on_child_stuck= report | abort | exit: \\fIn\\fR"},
        {"Default:\n.BR stderr .", "Default:\n.BR stdout ."},
        {"Default: 256; 1 to 100000.", "Default: 256."},
    };
    quiet = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = drifted(man, cases[i][0], cases[i][1]);
        assert_true(check_man_text(bad) > 0);
        free(bad);
    }
    quiet = 0;
    free(man);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readme_table_matches_the_registry),
        cmocka_unit_test(man_page_matches_the_registry),
        cmocka_unit_test(drift_in_the_readme_is_caught),
        cmocka_unit_test(drift_in_the_man_page_is_caught),
    };
    return cmocka_run_group_tests_name("options_docs", tests, setup, NULL);
}
