/* options.c: parse FORKAUDIT_OPTIONS in the sanitizers' key=value syntax. */
#include "base/options.h"

#include <signal.h>
#include <string.h>

#include "base/fa.h"
#include "base/fmt.h"

/* How a value is read and written; each options.def type names one. */
enum opt_kind { OPT_INT, OPT_SIGNAL, OPT_OUTPUT, OPT_PATH, OPT_CHOICE, OPT_ARG };
#define OPT_KIND_INT OPT_INT
#define OPT_KIND_SIGNAL OPT_SIGNAL
#define OPT_KIND_OUTPUT OPT_OUTPUT
#define OPT_KIND_PATH OPT_PATH
#define OPT_KIND_FORMAT OPT_CHOICE
#define OPT_KIND_ACTION OPT_CHOICE
#define OPT_KIND_FDS OPT_CHOICE
#define OPT_KIND_ARG OPT_ARG

struct opt_desc {
    const char *key;
    enum opt_kind kind;
    size_t offset, size;
    int min, max;
    const char *values; /* OPT_CHOICE: "a|b|c:N" */
    const char *meaning;
};

#define FIELD_SIZE(f) sizeof(((struct fa_options *)0)->f)
#define OPT_ROW(type, name, dflt, lo, hi, words, help)                                       \
    {#name, OPT_KIND_##type, offsetof(struct fa_options, name), FIELD_SIZE(name), lo, hi, words, help},
static const struct opt_desc opts[] = {FA_OPTIONS(OPT_ROW)};
#define NOPTS (sizeof opts / sizeof opts[0])

/* A choice is stored as an int (its word's position); the enum fields must be that size. */
#define OPT_CHECK_SIZE(type, name, dflt, lo, hi, words, help)                                \
    _Static_assert(OPT_KIND_##type != OPT_CHOICE || FIELD_SIZE(name) == sizeof(int), #name " is not int-sized");
FA_OPTIONS(OPT_CHECK_SIZE)

static const struct fa_options defaults = FA_OPTIONS_INITIALIZER;

int fa_stacks_signal(const struct fa_options *o)
{
    return o->stack_signal ? o->stack_signal : o->child_watchdog ? FA_WATCHDOG_STACKS_SIGNAL : 0;
}
struct fa_options fa_opts = FA_OPTIONS_INITIALIZER;

static int get_int(const struct fa_options *o, const struct opt_desc *d)
{
    int v;
    memcpy(&v, (const char *)o + d->offset, sizeof v);
    return v;
}

static void set_int(struct fa_options *o, const struct opt_desc *d, int v)
{
    memcpy((char *)o + d->offset, &v, sizeof v);
}

/* Word `i` of a choice's "a|b|c:N" list: its start and length, or NULL past the last. */
static const char *choice_word(const char *values, int i, size_t *len)
{
    const char *w = values;
    for (; i > 0 && w; i--) {
        w = strchr(w, '|');
        if (w) w++;
    }
    if (!w) return NULL;
    const char *end = strchr(w, '|');
    *len = end ? (size_t)(end - w) : strlen(w);
    return w;
}

/* A word "exit:N" takes a number: the length of its "exit:" part, else 0. */
static size_t arg_prefix(const char *w, size_t len)
{
    return len >= 2 && w[len - 2] == ':' && w[len - 1] == 'N' ? len - 1 : 0;
}

/* The value of option `d` in `o` as text. */
static void put_value(struct fa_buf *b, const struct fa_options *o, const struct opt_desc *d)
{
    const char *field = (const char *)o + d->offset;
    size_t len = 0;
    const char *w;
    switch (d->kind) {
    case OPT_INT:
    case OPT_SIGNAL:
    case OPT_ARG: fa_put_dec(b, get_int(o, d)); break;
    case OPT_OUTPUT:
    case OPT_PATH: fa_puts(b, field); break;
    case OPT_CHOICE:
        w = choice_word(d->values, get_int(o, d), &len);
        if (!w) w = choice_word(d->values, 0, &len);
        if (arg_prefix(w, len)) {
            fa_putsn(b, w, arg_prefix(w, len));
            fa_put_dec(b, get_int(o, d + 1));
        } else fa_putsn(b, w, len);
        break;
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

/* One diagnostic for a bad value of `d`: what was wrong (`what`), then the default used. */
static int bad_value(fa_diag_fn diag, void *ctx, const struct opt_desc *d, const char *val, size_t n,
                     struct fa_buf *what)
{
    char tail[240];
    struct fa_buf tb;
    fa_buf_terminate(what);
    fa_buf_fixed(&tb, tail, sizeof tail);
    fa_puts(&tb, "': ");
    fa_puts(&tb, what->p);
    fa_puts(&tb, "; using the default");
    if (d->kind != OPT_OUTPUT && d->kind != OPT_PATH) {
        fa_putc(&tb, ' ');
        put_value(&tb, &defaults, d);
    }
    fa_buf_terminate(&tb);
    diag_line(diag, ctx, "bad value for option '", d->key, strlen(d->key), "': '", val, n, tail);
    return 1;
}

/* A choice: one of its words; "exit:N" with N in the range of the ARG row after it. */
static int apply_choice(struct fa_options *o, const struct opt_desc *d, const char *val, size_t n,
                        fa_diag_fn diag, void *ctx)
{
    char what[160];
    struct fa_buf wb;
    size_t len;
    const char *w;
    int count = 0;
    for (int i = 0; (w = choice_word(d->values, i, &len)) != NULL; i++, count++) {
        size_t pre = arg_prefix(w, len);
        long arg;
        if (!pre && n == len && memcmp(val, w, n) == 0) {
            set_int(o, d, i);
            return 0;
        }
        if (pre && n > pre && memcmp(val, w, pre) == 0 && parse_int(val + pre, n - pre, &arg) == 0 &&
            arg >= d[1].min && arg <= d[1].max) {
            set_int(o, d, i);
            set_int(o, d + 1, (int)arg);
            return 0;
        }
    }
    /* "expected report, abort or exit:N (N from 0 to 255)" */
    fa_buf_fixed(&wb, what, sizeof what);
    fa_puts(&wb, "expected ");
    for (int i = 0; (w = choice_word(d->values, i, &len)) != NULL; i++) {
        fa_puts(&wb, i == 0 ? "" : i == count - 1 ? " or " : ", ");
        fa_putsn(&wb, w, len);
        if (arg_prefix(w, len)) {
            fa_puts(&wb, " (N from ");
            fa_put_dec(&wb, d[1].min);
            fa_puts(&wb, " to ");
            fa_put_dec(&wb, d[1].max);
            fa_putc(&wb, ')');
        }
    }
    return bad_value(diag, ctx, d, val, n, &wb);
}

static int apply(struct fa_options *o, const struct opt_desc *d, const char *val, size_t n,
                 fa_diag_fn diag, void *ctx)
{
    char *field = (char *)o + d->offset;
    char what[160];
    struct fa_buf wb;
    long v;
    fa_buf_fixed(&wb, what, sizeof what);
    switch (d->kind) {
    case OPT_INT:
        if (parse_int(val, n, &v) == 0 && v >= d->min && v <= d->max) {
            set_int(o, d, (int)v);
            return 0;
        }
        fa_puts(&wb, "expected an integer from ");
        fa_put_dec(&wb, d->min);
        fa_puts(&wb, " to ");
        fa_put_dec(&wb, d->max);
        return bad_value(diag, ctx, d, val, n, &wb);
    case OPT_SIGNAL:
        /* A real-time signal only: the auditor's handler must never take a signal the
         * program's behaviour depends on (a SIGSEGV handled by us loops on the fault;
         * SIGTERM, SIGINT, SIGPIPE, SIGUSR1 would no longer end it; SIGCHLD, SIGALRM,
         * SIGURG, SIGWINCH interrupt its calls; SIGTSTP, SIGCONT are job control).
         * SIGRTMIN is above the ones glibc keeps for itself. */
        if (parse_int(val, n, &v) == 0 && v >= d->min && v <= d->max && (v == 0 || (v >= SIGRTMIN && v <= SIGRTMAX))) {
            set_int(o, d, (int)v);
            return 0;
        }
        fa_puts(&wb, "expected 0 (off) or a real-time signal, ");
        fa_put_dec(&wb, SIGRTMIN);
        fa_puts(&wb, " (SIGRTMIN) up to ");
        fa_put_dec(&wb, SIGRTMAX);
        fa_puts(&wb, " (SIGRTMAX): the others are the program's");
        return bad_value(diag, ctx, d, val, n, &wb);
    case OPT_CHOICE: return apply_choice(o, d, val, n, diag, ctx);
    case OPT_OUTPUT:
    case OPT_PATH:
        if (n == 0 || n >= d->size) {
            fa_puts(&wb, "empty or longer than ");
            fa_put_udec(&wb, d->size - 1);
            fa_puts(&wb, " bytes");
            return bad_value(diag, ctx, d, val, n, &wb);
        }
        memcpy(field, val, n);
        field[n] = 0;
        return 0;
    case OPT_ARG: break; /* no key of its own: set by its choice */
    }
    return 1;
}

/* "exit:N" is a value although ':' separates options: does the token so far end in
 * "=exit", the start of a choice word that takes a number? */
static int ends_in_arg_word(const char *tok, size_t toklen)
{
    for (size_t i = 0; i < NOPTS; i++) {
        size_t len;
        const char *w;
        if (opts[i].kind != OPT_CHOICE) continue;
        for (int k = 0; (w = choice_word(opts[i].values, k, &len)) != NULL; k++) {
            size_t pre = arg_prefix(w, len); /* "exit:" */
            if (pre && toklen >= pre && tok[toklen - pre] == '=' && memcmp(tok + toklen - pre + 1, w, pre - 1) == 0)
                return 1;
        }
    }
    return 0;
}

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
        if (p[0] == ':' && p[1] >= '0' && p[1] <= '9' && ends_in_arg_word(tok, (size_t)(p - tok)))
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
            if (opts[i].kind != OPT_ARG && strlen(opts[i].key) == keylen && memcmp(opts[i].key, tok, keylen) == 0)
                d = &opts[i];
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
        if ((opts[i].kind != OPT_PATH && opts[i].kind != OPT_OUTPUT) || strcmp(field, dflt) == 0) continue;
        if (opts[i].kind == OPT_OUTPUT && (strcmp(field, "stderr") == 0 || strcmp(field, "stdout") == 0))
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
        if (opts[i].kind == OPT_ARG) continue; /* shown in its choice's value */
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
        if (b.len - start >= 30) fa_putc(&b, ' '); /* a long value: still apart from its meaning */
        else fa_pad_to(&b, start, 30);
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
