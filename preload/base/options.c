/* options.c: parse FORKAUDIT_OPTIONS in the sanitizers' key=value syntax. */
#include "base/options.h"

#include <string.h>

#include "base/fa.h"
#include "base/fmt.h"

enum opt_kind { OPT_INT, OPT_PATH, OPT_FORMAT, OPT_ACTION, OPT_STUCK };

struct opt_desc {
    const char *key;
    enum opt_kind kind;
    size_t offset;
    int min, max;
    const char *meaning;
};

#define OFF(f) offsetof(struct fa_options, f)
static const struct opt_desc opts[] = {
    {"log_path", OPT_PATH, OFF(log_path), 0, 0,
     "stderr, stdout, or a file path; %p becomes the pid, a path without %p gets .<pid> appended"},
    {"format", OPT_FORMAT, OFF(format), 0, 0, "text (for people) or json (one object per line)"},
    {"verbosity", OPT_INT, OFF(verbosity), 0, 2,
     "0 findings only, 1 also a record for every fork, 2 also auditor debugging"},
    {"stack_depth", OPT_INT, OFF(stack_depth), 1, FA_MAX_FRAMES, "frames per stack in a report"},
    {"lock_stack_depth", OPT_INT, OFF(lock_stack_depth), 1, FA_MAX_LOCK_FRAMES,
     "frames captured at each lock acquisition (1 = the call site, free; more costs an unwind per lock)"},
    {"max_threads", OPT_INT, OFF(max_threads), 1, 100000, "threads listed in one threads-at-fork record"},
    {"max_locks", OPT_INT, OFF(max_locks), 1, 100000, "lock-held-at-fork records per fork"},
    {"max_fds", OPT_INT, OFF(max_fds), 1, 1000000, "descriptors listed in one fds-at-fork record"},
    {"stack_signal", OPT_INT, OFF(stack_signal), 0, 64,
     "real-time signal that makes other threads report their stacks at a fork (0: off; unused by the program)"},
    {"dump_signal", OPT_INT, OFF(dump_signal), 0, 64,
     "signal that makes the process write a state record (lineage, locks, threads) for "
     "`forkaudit explain` (0: off; a real-time signal the program does not use, e.g. SIGRTMIN+3)"},
    {"help", OPT_INT, OFF(help), 0, 1, "1 prints this list at start-up"},
    {"suppressions", OPT_PATH, OFF(suppressions), 0, 0,
     "file of kind:pattern lines (# comments, * wildcards) naming findings not to report"},
    {"exitcode", OPT_INT, OFF(exitcode), 0, 255,
     "exit status of a process that reported an error, at its exit (0: the program's own)"},
    {"on_child_deadlock", OPT_ACTION, OFF(on_child_deadlock), 0, 255,
     "report (then block as asked), abort (SIGABRT: a crash with a report, not a hung job) or exit:N"},
    {"child_watchdog", OPT_INT, OFF(child_watchdog), 0, 86400,
     "seconds after which a forked child of a threaded parent still blocked in a futex wait is reported as child-stuck (0: off)"},
    {"on_child_stuck", OPT_STUCK, OFF(on_child_stuck), 0, 0, "report (and keep waiting) or abort (SIGABRT)"},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static const struct fa_options defaults = FA_OPTIONS_INITIALIZER;

int fa_stacks_signal(const struct fa_options *o)
{
    return o->stack_signal ? o->stack_signal : o->child_watchdog ? FA_WATCHDOG_STACKS_SIGNAL : 0;
}
struct fa_options fa_opts = FA_OPTIONS_INITIALIZER;

/* The value of option `d` in `o` as text. */
static void put_value(struct fa_buf *b, const struct fa_options *o, const struct opt_desc *d)
{
    const char *field = (const char *)o + d->offset;
    switch (d->kind) {
    case OPT_INT: fa_put_dec(b, *(const int *)field); break;
    case OPT_PATH: fa_puts(b, field); break;
    case OPT_FORMAT: fa_puts(b, *(const enum fa_format *)field == FA_FORMAT_JSON ? "json" : "text"); break;
    case OPT_ACTION:
        if (o->on_child_deadlock == FA_ACTION_ABORT) fa_puts(b, "abort");
        else if (o->on_child_deadlock == FA_ACTION_EXIT) {
            fa_puts(b, "exit:");
            fa_put_dec(b, o->child_deadlock_exit);
        } else fa_puts(b, "report");
        break;
    case OPT_STUCK: fa_puts(b, o->on_child_stuck == FA_ACTION_ABORT ? "abort" : "report"); break;
    }
}

static int parse_int(const char *s, size_t n, long *out)
{
    long v = 0;
    size_t i = 0;
    int neg = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n) return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        if (v > 100000000L) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* Echoes at most 64 bytes of the user's text with control characters shown as '?': a
 * '\r' or an escape sequence in the environment must not rewrite the terminal line. */
static void put_echo(struct fa_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && i < 64; i++) {
        char c = s[i];
        if ((unsigned char)c < 0x20 || c == 0x7f) c = '?';
        fa_putc(b, c);
    }
}

static void diag_line(fa_diag_fn diag, void *ctx, const char *a, const char *key, size_t keylen,
                      const char *b, const char *val, size_t vallen, const char *c)
{
    char line[512];
    struct fa_buf buf;
    if (!diag) return;
    fa_buf_fixed(&buf, line, sizeof line);
    fa_puts(&buf, "forkaudit: ");
    fa_puts(&buf, a);
    put_echo(&buf, key, keylen);
    fa_puts(&buf, b);
    if (val) put_echo(&buf, val, vallen);
    fa_puts(&buf, c);
    fa_buf_terminate(&buf);
    diag(line, ctx);
}

static int apply(struct fa_options *o, const struct opt_desc *d, const char *val, size_t n,
                 fa_diag_fn diag, void *ctx)
{
    char *field = (char *)o + d->offset;
    switch (d->kind) {
    case OPT_INT: {
        long v;
        if (parse_int(val, n, &v) == 0 && v >= d->min && v <= d->max) {
            *(int *)field = (int)v;
            return 0;
        }
        char expect[160];
        struct fa_buf eb;
        fa_buf_fixed(&eb, expect, sizeof expect);
        fa_puts(&eb, "': expected an integer from ");
        fa_put_dec(&eb, d->min);
        fa_puts(&eb, " to ");
        fa_put_dec(&eb, d->max);
        fa_puts(&eb, "; using the default ");
        put_value(&eb, &defaults, d);
        fa_buf_terminate(&eb);
        diag_line(diag, ctx, "bad value for option '", d->key, strlen(d->key), "': '", val, n, expect);
        return 1;
    }
    case OPT_FORMAT:
        if (n == 4 && memcmp(val, "text", 4) == 0) {
            o->format = FA_FORMAT_TEXT;
            return 0;
        }
        if (n == 4 && memcmp(val, "json", 4) == 0) {
            o->format = FA_FORMAT_JSON;
            return 0;
        }
        diag_line(diag, ctx, "bad value for option '", d->key, strlen(d->key), "': '", val, n,
                  "': expected text or json; using the default text");
        return 1;
    case OPT_ACTION: {
        long code;
        if (n == 6 && memcmp(val, "report", 6) == 0) o->on_child_deadlock = FA_ACTION_REPORT;
        else if (n == 5 && memcmp(val, "abort", 5) == 0) o->on_child_deadlock = FA_ACTION_ABORT;
        else if (n > 5 && memcmp(val, "exit:", 5) == 0 && parse_int(val + 5, n - 5, &code) == 0 && code >= d->min &&
                 code <= d->max) {
            o->on_child_deadlock = FA_ACTION_EXIT;
            o->child_deadlock_exit = (int)code;
        } else {
            diag_line(diag, ctx, "bad value for option '", d->key, strlen(d->key), "': '", val, n,
                      "': expected report, abort or exit:N (N from 0 to 255); using the default report");
            return 1;
        }
        return 0;
    }
    case OPT_STUCK:
        if (n == 6 && memcmp(val, "report", 6) == 0) o->on_child_stuck = FA_ACTION_REPORT;
        else if (n == 5 && memcmp(val, "abort", 5) == 0) o->on_child_stuck = FA_ACTION_ABORT;
        else {
            diag_line(diag, ctx, "bad value for option '", d->key, strlen(d->key), "': '", val, n,
                      "': expected report or abort; using the default report");
            return 1;
        }
        return 0;
    case OPT_PATH: /* log_path and suppressions: char[1024] both */
        if (n == 0 || n >= sizeof o->log_path) {
            diag_line(diag, ctx, "bad value for option '", d->key, strlen(d->key), "': '", val, n,
                      "': empty or longer than 1023 bytes; using the default");
            return 1;
        }
        memcpy(field, val, n);
        field[n] = 0;
        return 0;
    }
    return 1;
}

void fa_options_defaults(struct fa_options *o) { *o = defaults; }

static int is_sep(char c) { return c == ':' || c == ',' || c == ' ' || c == '\t' || c == '\n'; }

int fa_options_parse(struct fa_options *o, const char *spec, fa_diag_fn diag, void *ctx)
{
    int problems = 0;
    if (!spec) return 0;
    const char *p = spec;
    while (*p) {
        while (*p && is_sep(*p)) p++;
        if (!*p) break;
        const char *tok = p;
        while (*p && !is_sep(*p)) p++;
        /* "exit:N" is a value although ':' separates options. */
        if (p - tok >= 5 && memcmp(p - 5, "=exit", 5) == 0 && p[0] == ':' && p[1] >= '0' && p[1] <= '9')
            for (p++; *p >= '0' && *p <= '9'; p++) {
            }
        size_t toklen = (size_t)(p - tok);
        const char *eq = memchr(tok, '=', toklen);
        if (!eq) {
            diag_line(diag, ctx, "option '", tok, toklen, "' has no value (expected key=value); ignored",
                      NULL, 0, "");
            problems++;
            continue;
        }
        size_t keylen = (size_t)(eq - tok);
        const char *val = eq + 1;
        size_t vallen = toklen - keylen - 1;
        const struct opt_desc *d = NULL;
        for (size_t i = 0; i < NOPTS; i++)
            if (strlen(opts[i].key) == keylen && memcmp(opts[i].key, tok, keylen) == 0) d = &opts[i];
        if (!d) {
            diag_line(diag, ctx, "unknown option '", tok, keylen,
                      "' in FORKAUDIT_OPTIONS, ignored (help=1 lists the options)", NULL, 0, "");
            problems++;
            continue;
        }
        problems += apply(o, d, val, vallen, diag, ctx);
    }
    return problems;
}

int fa_options_drop_paths(struct fa_options *o, fa_diag_fn diag, void *ctx)
{
    char line[512];
    struct fa_buf b;
    int dropped = 0;
    fa_buf_fixed(&b, line, sizeof line);
    fa_puts(&b, "forkaudit: secure execution (set-user-ID, set-group-ID or capabilities): ignoring ");
    for (size_t i = 0; i < NOPTS; i++) {
        char *field = (char *)o + opts[i].offset;
        const char *dflt = (const char *)&defaults + opts[i].offset;
        if (opts[i].kind != OPT_PATH || strcmp(field, dflt) == 0) continue;
        if (opts[i].offset == OFF(log_path) && (strcmp(field, "stderr") == 0 || strcmp(field, "stdout") == 0))
            continue; /* names no file */
        memcpy(field, dflt, strlen(dflt) + 1);
        fa_puts(&b, dropped++ ? ", " : "");
        fa_puts(&b, opts[i].key);
    }
    fa_puts(&b, " from FORKAUDIT_OPTIONS (options that name files); the log goes to ");
    fa_puts(&b, o->log_path);
    fa_buf_terminate(&b);
    if (dropped && diag) diag(line, ctx);
    return dropped;
}

size_t fa_options_help(const struct fa_options *o, char *out, size_t cap)
{
    struct fa_buf b;
    fa_buf_fixed(&b, out, cap);
    fa_puts(&b, "forkaudit options (FORKAUDIT_OPTIONS=key=value:key=value...), with the values in effect:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char now[64], dflt[64];
        struct fa_buf nb, db;
        fa_buf_fixed(&nb, now, sizeof now);
        fa_buf_fixed(&db, dflt, sizeof dflt);
        put_value(&nb, o, &opts[i]);
        put_value(&db, &defaults, &opts[i]);
        fa_buf_terminate(&nb);
        fa_buf_terminate(&db);
        size_t start = b.len;
        fa_puts(&b, "  ");
        fa_puts(&b, opts[i].key);
        fa_puts(&b, "=");
        fa_puts(&b, now);
        fa_pad_to(&b, start, 30);
        fa_puts(&b, opts[i].meaning);
        if (strcmp(now, dflt) != 0) {
            fa_puts(&b, " (default ");
            fa_puts(&b, dflt);
            fa_putc(&b, ')');
        }
        fa_putc(&b, '\n');
    }
    fa_buf_terminate(&b);
    return b.len;
}
