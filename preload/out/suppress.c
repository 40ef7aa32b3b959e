/* suppress.c: see suppress.h. The rules live in a static table (no malloc); the file is
 * read once, with raw system calls. */
#include "out/suppress.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/options.h"
#include "base/procfs.h"
#include "out/log.h"
#include "out/symbolize.h"
#include "track/threads.h"

#define RULES_MAX 256

struct rule {
    char kind[32];
    char pattern[224];
    unsigned long hits;
};

static struct rule rules[RULES_MAX];
static int nrules;

int fa_suppress_any(void) { return nrules > 0; }

/* A substring match is a whole match of "*pattern*". Wildcard matching with one
 * backtracking point (the last '*' seen) is exact when '*' is the only wildcard, and
 * costs at most len(pattern) * len(text) steps; a recursive matcher is exponential in
 * the number of '*' ("*a*a*a*a*b" against a long run of 'a'). */
int fa_glob_substring(const char *pattern, const char *text)
{
    const char *p = pattern, *t = text;
    const char *star_p = pattern, *star_t = text; /* the implicit leading '*' */
    for (;;) {
        if (!*p) return 1; /* the implicit trailing '*' takes the rest */
        if (*p == '*') {
            star_p = ++p;
            star_t = t;
        } else if (*t == *p) {
            p++;
            t++;
        } else if (!*t) {
            return 0; /* a later start would run out of text too */
        } else {
            p = star_p;
            t = ++star_t;
        }
    }
}

int fa_glob_whole(const char *pattern, const char *text)
{
    const char *p = pattern, *t = text, *star_p = NULL, *star_t = text;
    for (;;) {
        if (*p == '*') {
            star_p = ++p;
            star_t = t;
        } else if (*p && *p == *t) {
            p++;
            t++;
        } else if (!*p && !*t) {
            return 1;
        } else if (star_p && *star_t) {
            p = star_p;
            t = ++star_t;
        } else {
            return 0;
        }
    }
}

static void say(const char *what, int line, const char *path, fa_diag_fn diag, void *ctx)
{
    char msg[700];
    struct fa_buf b;
    fa_buf_fixed(&b, msg, sizeof msg);
    fa_puts(&b, "forkaudit: suppressions file '");
    fa_puts(&b, path);
    if (line) {
        fa_puts(&b, "' line ");
        fa_put_dec(&b, line);
        fa_puts(&b, ": ");
    } else {
        fa_puts(&b, "': ");
    }
    fa_puts(&b, what);
    fa_buf_terminate(&b);
    if (diag) diag(msg, ctx);
}

void fa_suppress_load(const char *path)
{
    struct fa_buf b;
    if (fa_proc_read(path, &b) != 0) {
        say("cannot be read; no suppressions", 0, path, fa_diag_stderr, NULL);
        return;
    }
    fa_suppress_parse(b.p, path, fa_diag_stderr, NULL);
    fa_buf_release(&b);
}

int fa_suppress_parse(char *text, const char *path, fa_diag_fn diag, void *ctx)
{
    int lineno = 0, problems = 0;
    for (char *line = text; *line;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = 0;
        lineno++;
        while (*line == ' ' || *line == '\t') line++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r')) line[--n] = 0;
        char *colon = strchr(line, ':');
        if (n && line[0] != '#') {
            size_t kindlen = colon ? (size_t)(colon - line) : 0, patlen = colon ? strlen(colon + 1) : 0;
            if (!kindlen || !patlen || kindlen >= sizeof rules[0].kind || patlen >= sizeof rules[0].pattern) {
                say("expected kind:pattern; line ignored", lineno, path, diag, ctx);
                problems++;
            } else if (nrules == RULES_MAX) {
                say("more than 256 rules; the rest are ignored", lineno, path, diag, ctx);
                problems++;
            } else {
                memcpy(rules[nrules].kind, line, kindlen);
                memcpy(rules[nrules].pattern, colon + 1, patlen + 1);
                nrules++;
            }
        }
        line = eol ? eol + 1 : line + n;
    }
    return problems;
}

void fa_suppress_clear(void)
{
    memset(rules, 0, sizeof rules);
    nrules = 0;
}

int fa_suppress_rule(int i, const char **kind, const char **pattern)
{
    if (i < 0 || i >= nrules) return 0;
    *kind = rules[i].kind;
    *pattern = rules[i].pattern;
    return 1;
}

/* A rule "kind:^pattern" names one site: the pattern matches whole, and only the innermost
 * named frame of a key stack (or a text whole). Others match anywhere in any frame. */
static int anchored(const struct rule *r) { return r->pattern[0] == '^'; }

static int rule_matches(const struct rule *r, const char *kind, const char *text)
{
    if (!text || strcmp(r->kind, kind) != 0) return 0;
    return anchored(r) ? fa_glob_whole(r->pattern + 1, text) : fa_glob_substring(r->pattern, text);
}

/* "libfoo.so+0x1a2b": a frame without a function name, by its module and offset. */
static const char *module_site(const struct fa_frame_info *fi, char *out, size_t cap)
{
    if (!fi->module) return NULL;
    const char *base = strrchr(fi->module, '/');
    struct fa_buf b;
    fa_buf_fixed(&b, out, cap);
    fa_puts(&b, base ? base + 1 : fi->module);
    fa_puts(&b, "+0x");
    fa_put_hex(&b, fi->offset);
    fa_buf_terminate(&b);
    return out;
}

int fa_suppress_text(const char *kind, const char *text)
{
    for (int i = 0; i < nrules; i++)
        if (rule_matches(&rules[i], kind, text)) {
            __atomic_add_fetch(&rules[i].hits, 1, __ATOMIC_RELAXED);
            return 1;
        }
    return 0;
}

/* A frame's name, NUL-terminated into `out` (cut to fit). */
static const char *name_copy(const char *p, size_t n, char *out, size_t cap)
{
    if (!p) return NULL;
    if (n > cap - 1) n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return n ? out : NULL;
}

int fa_suppress_frames(const char *kind, const uintptr_t *pc, int n)
{
    if (!nrules) return 0;
    int named_seen = 0;
    for (int k = 0; k < n; k++) {
        struct fa_frame_info fi;
        fa_symbolize(pc[k], 1, &fi);
        /* A C++ frame matches by its demangled name or by its symbol (fi.mangled). */
        char name[1024], mangled[1024], site[300];
        const char *a = name_copy(fi.function, fi.function_len, name, sizeof name);
        const char *z = name_copy(fi.mangled, fi.mangled_len, mangled, sizeof mangled);
        /* the site an anchored rule names: the innermost named frame, else the first
         * frame by module and offset */
        int innermost = a ? !named_seen : k == 0;
        const char *at = a ? NULL : module_site(&fi, site, sizeof site);
        named_seen |= a != NULL;
        for (int i = 0; i < nrules; i++)
            if (anchored(&rules[i]) ? innermost && (rule_matches(&rules[i], kind, a) || rule_matches(&rules[i], kind, z) ||
                                                    rule_matches(&rules[i], kind, at))
                                    : (rule_matches(&rules[i], kind, a) || rule_matches(&rules[i], kind, z) ||
                                       rule_matches(&rules[i], kind, fi.module))) {
                __atomic_add_fetch(&rules[i].hits, 1, __ATOMIC_RELAXED);
                return 1;
            }
    }
    return 0;
}

/* The longest name a suggested rule names whole: a rule's pattern holds 223 bytes. */
#define SUGGEST_NAME_MAX 200

/* Frames every stack of a thread has below its own code: a rule naming one of them
 * anywhere would silence everything, so a suggestion anchors it ("^main"). */
static int outer_frame(const char *f, size_t n)
{
    static const char *const outer[] = {"main", "__libc_start_call_main", "__libc_start_main", "_start", "start_thread",
                                        "clone", "clone3", "__clone", "__clone3", "__libc_start_main_impl"};
    for (size_t i = 0; i < sizeof outer / sizeof outer[0]; i++)
        if (strlen(outer[i]) == n && !memcmp(outer[i], f, n)) return 1;
    return 0;
}

/* A text that names nothing in particular, or changes every run: a wildcard alone, a kind
 * of descriptor ("pipe:*"), a temporary file. */
static int vague_text(const char *t)
{
    return !t || !*t || !strcmp(t, "*") || !strcmp(t, "pipe:*") || !strcmp(t, "socket:*") || fa_temporary_path(t);
}

int fa_temporary_path(const char *t)
{
    return !strncmp(t, "/tmp/", 5) || !strncmp(t, "/var/tmp/", 9) || !strncmp(t, "/dev/shm/", 9);
}

int fa_suppress_suggest(struct fa_buf *b, const char *kind, const uintptr_t *pc, int n, const char *text)
{
    size_t start = b->len;
    fa_puts(b, kind);
    fa_putc(b, ':');
    for (int k = 0; k < n; k++) { /* the innermost frame with a name, else a module's site */
        struct fa_frame_info fi;
        fa_symbolize(pc[k], 1, &fi);
        if (fi.function) {
            /* A demangled C++ name is pasted as it is: the pattern is everything after
             * the first ':' (a name's own "::", spaces and parentheses are plain text),
             * and a '*' in it ("f(char*)") is a wildcard that matches the '*' itself.
             * A name too long for a rule is cut, with a '*' for the rest. */
            if (outer_frame(fi.function, fi.function_len)) fa_putc(b, '^');
            int cut = fi.function_len > SUGGEST_NAME_MAX;
            fa_putsn(b, fi.function, cut ? SUGGEST_NAME_MAX : fi.function_len);
            if (cut) fa_putc(b, '*');
            return 1;
        }
    }
    if (n > 0) { /* a stripped program: its module and offset, the site alone */
        struct fa_frame_info fi;
        char site[300];
        fa_symbolize(pc[0], 1, &fi);
        if (module_site(&fi, site, sizeof site)) {
            fa_putc(b, '^');
            fa_puts(b, site);
            return 1;
        }
    }
    if (vague_text(text)) {
        b->len = start; /* no rule would silence this one alone */
        if (b->cap > start) b->p[start] = 0;
        return 0;
    }
    fa_puts(b, text);
    return 1;
}

unsigned long fa_suppress_hits(int i) { return i >= 0 && i < nrules ? rules[i].hits : 0; }
