/* suppress.c: see suppress.h. The rules live in a static table (no malloc); the file is
 * read once, with raw system calls. */
#include "out/suppress.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
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
    char msg[1800];
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

/* The file is read whole up to this size; past it, the rest is ignored (said once). */
#define SUPPRESS_FILE_MAX (1 << 20)

static void say_errno(const char *what, int e, const char *path)
{
    char text[200];
    struct fa_buf b;
    fa_buf_fixed(&b, text, sizeof text);
    fa_puts(&b, what);
    fa_put_errno(&b, e);
    fa_puts(&b, "; no suppressions");
    fa_buf_terminate(&b);
    say(text, 0, path, fa_diag_stderr, NULL);
}

/* What a file that is not a regular one is, for the refusal. */
static const char *file_type_text(mode_t mode)
{
    if (S_ISDIR(mode)) return "is a directory";
    if (S_ISFIFO(mode)) return "is a FIFO (a pipe), not a regular file";
    if (S_ISCHR(mode)) return "is a character device, not a regular file";
    if (S_ISBLK(mode)) return "is a block device, not a regular file";
    if (S_ISSOCK(mode)) return "is a socket, not a regular file";
    return "is not a regular file";
}

/* Reads the rules file: opened without blocking (O_NONBLOCK: a FIFO with no writer, a
 * device, must not hold the program up at start-up) and without becoming a controlling
 * terminal; only a regular file is read, at most SUPPRESS_FILE_MAX bytes (the last line
 * cut there is dropped). Each refusal is one line on stderr. */
void fa_suppress_load(const char *path)
{
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0) {
        say_errno("cannot be opened: ", errno, path);
        return;
    }
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0) {
        say_errno("cannot be examined (fstat): ", errno, path);
        syscall(SYS_close, fd);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        char text[120];
        struct fa_buf t;
        fa_buf_fixed(&t, text, sizeof text);
        fa_puts(&t, file_type_text(st.st_mode));
        fa_puts(&t, "; no suppressions");
        fa_buf_terminate(&t);
        say(text, 0, path, fa_diag_stderr, NULL);
        syscall(SYS_close, fd);
        return;
    }
    struct fa_buf b;
    if (fa_buf_mapped(&b, 1 << 16) != 0) {
        say("cannot be read: no memory for it; no suppressions", 0, path, fa_diag_stderr, NULL);
        syscall(SYS_close, fd);
        return;
    }
    int err = 0, cut = 0;
    for (;;) {
        size_t room = SUPPRESS_FILE_MAX - b.len;
        if (room == 0) {
            char probe;
            cut = syscall(SYS_read, fd, &probe, 1) > 0;
            break;
        }
        if (!fa_buf_reserve(&b, room < 65536 ? room : 65536)) {
            err = ENOMEM;
            break;
        }
        size_t want = b.cap - b.len - 1;
        long r = syscall(SYS_read, fd, b.p + b.len, want < room ? want : room);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) err = errno;
        if (r <= 0) break;
        b.len += (size_t)r;
    }
    syscall(SYS_close, fd);
    if (err) {
        say_errno("cannot be read: ", err, path);
        fa_buf_release(&b);
        return;
    }
    b.p[b.len] = 0;
    if (cut) {
        char *last = strrchr(b.p, '\n'); /* the line cut at the limit is not a rule */
        if (last) last[1] = 0;
        else b.p[0] = 0;
        say("longer than 1 MiB: only the lines in its first 1 MiB are read", 0, path, fa_diag_stderr, NULL);
    }
    fa_suppress_parse(b.p, path, fa_diag_stderr, NULL);
    fa_buf_release(&b);
}

/* The kinds a rule may name: the finding kinds of findings/kinds.def (pure data, read
 * at every stage); a note kind is never reported, so a rule for it is a mistake too. */
#define FA_KIND(id, name, phase, level, title, help) {name, level},
static const struct {
    const char *name, *level;
} rule_kinds[] = {
#include "findings/kinds.def"
};
#undef FA_KIND

/* 1 for a finding kind, 0 for a note kind, -1 for a name no kind has. */
static int kind_status(const char *kind, size_t len)
{
    for (size_t i = 0; i < sizeof rule_kinds / sizeof rule_kinds[0]; i++)
        if (strlen(rule_kinds[i].name) == len && memcmp(rule_kinds[i].name, kind, len) == 0)
            return strcmp(rule_kinds[i].level, "note") != 0;
    return -1;
}

static void say_kind(const char *kind, size_t len, int status, int lineno, const char *path, fa_diag_fn diag,
                     void *ctx)
{
    char text[1200];
    struct fa_buf b;
    fa_buf_fixed(&b, text, sizeof text);
    fa_puts(&b, "'");
    fa_putsn(&b, kind, len);
    if (status == 0) {
        fa_puts(&b, "' is a note, never reported: nothing to suppress; line ignored");
    } else {
        fa_puts(&b, "' is not a kind (the kinds:");
        const char *sep = " ";
        for (size_t i = 0; i < sizeof rule_kinds / sizeof rule_kinds[0]; i++)
            if (strcmp(rule_kinds[i].level, "note") != 0) {
                fa_puts(&b, sep);
                fa_puts(&b, rule_kinds[i].name);
                sep = ", ";
            }
        fa_puts(&b, "); line ignored");
    }
    fa_buf_terminate(&b);
    say(text, lineno, path, diag, ctx);
}

int fa_suppress_parse(char *text, const char *path, fa_diag_fn diag, void *ctx)
{
    int lineno = 0, problems = 0, first_extra = 0, extra = 0;
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
            int status = kindlen ? kind_status(line, kindlen) : -1;
            if (!kindlen || !patlen) {
                say(colon ? (kindlen ? "no pattern after the kind (expected kind:pattern); line ignored"
                                     : "no kind before the ':' (expected kind:pattern); line ignored")
                          : "expected kind:pattern (no ':'); line ignored",
                    lineno, path, diag, ctx);
                problems++;
            } else if (status != 1) {
                say_kind(line, kindlen < 64 ? kindlen : 64, status, lineno, path, diag, ctx);
                problems++;
            } else if (patlen >= sizeof rules[0].pattern) {
                say("pattern longer than 223 bytes; line ignored", lineno, path, diag, ctx);
                problems++;
            } else if (nrules == RULES_MAX) {
                if (!extra++) first_extra = lineno;
            } else {
                memcpy(rules[nrules].kind, line, kindlen);
                memcpy(rules[nrules].pattern, colon + 1, patlen + 1);
                nrules++;
            }
        }
        line = eol ? eol + 1 : line + n;
    }
    if (extra) { /* one note for every rule past the table, not one line each */
        char text_[160];
        struct fa_buf b;
        fa_buf_fixed(&b, text_, sizeof text_);
        fa_puts(&b, "more than 256 rules: this rule and ");
        fa_put_dec(&b, extra - 1);
        fa_puts(&b, " more after it are ignored");
        fa_buf_terminate(&b);
        say(text_, first_extra, path, diag, ctx);
        problems++;
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
    fa_putc(&b, '+');
    fa_put_hex(&b, fi->offset); /* "0x1a2b" */
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

/* The frames below main and below a thread's start routine (outer_frame but main). */
static int startup_frame(const char *f, size_t n) { return outer_frame(f, n) && !(n == 4 && !memcmp(f, "main", 4)); }

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
        /* A stripped program's stack is named first by libc's start-up frames below it
         * (git: every stack's innermost name is __libc_start_call_main): its site is its
         * first frame's module and offset, not a frame every stack has. */
        if (fi.function && k > 0 && startup_frame(fi.function, fi.function_len)) break;
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
