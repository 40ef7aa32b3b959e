/* pyframes.c: see pyframes.h. The dump's lines (CPython's Python/traceback.c):
 *   "Thread 0x00007f... (most recent call first):" / "Current thread 0x..." / "Stack (...)"
 *   "  File \"path\", line N in func"   ("???" for an unknown part; "  ..." when cut)
 * and a blank line between threads. */
#include "base/pyframes.h"

#include <string.h>


static const char *line_end(const char *p, const char *end)
{
    const char *q = memchr(p, '\n', (size_t)(end - p));
    return q ? q : end;
}

static int starts(const char *p, const char *e, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)(e - p) >= n && memcmp(p, prefix, n) == 0;
}

static unsigned long hex_at(const char *p, const char *e)
{
    unsigned long v = 0;
    for (; p < e; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
        if (d < 0) break;
        v = v << 4 | (unsigned long)d;
    }
    return v;
}

/* Is this line the header of the section asked for? */
static int header_matches(const char *p, const char *e, unsigned long self)
{
    if (starts(p, e, "Current thread 0x")) return self == 0 || hex_at(p + 17, e) == self;
    if (starts(p, e, "Thread 0x")) return self != 0 && hex_at(p + 9, e) == self;
    if (starts(p, e, "Stack (")) return 1;
    return 0;
}

static int contains(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0) return 1;
    return 0;
}

const char *fa_pyframes_stdlib_part(const struct fa_py_frame *f)
{
    const char *p = f->file, *e = f->file + f->file_len;
    for (; p + 13 < e; p++) {
        if (memcmp(p, "/lib/python3.", 13) != 0) continue;
        const char *q = p + 13;
        while (q < e && *q >= '0' && *q <= '9') q++;
        if (q > p + 13 && q < e && *q == '/') return q + 1;
    }
    return NULL;
}

int fa_pyframes_dump_complete(const char *text, size_t len)
{
    if (!text) return 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *e = line_end(p, end);
        if (e - p == 3 && memcmp(p, "...", 3) == 0) return 0;
        p = e < end ? e + 1 : end;
    }
    return 1;
}

int fa_pyframes_listed(const char *text, size_t len, unsigned long self)
{
    if (!text) return 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *e = line_end(p, end);
        if (header_matches(p, e, self)) return 1;
        p = e < end ? e + 1 : end;
    }
    return 0;
}

int fa_pyframes_own(const struct fa_py_frame *f, const char *stdlib_dir)
{
    if (f->file_len == 0 || f->file[0] == '<') return 0; /* <frozen importlib._bootstrap>, <string> */
    size_t n = stdlib_dir ? strlen(stdlib_dir) : 0;
    if (n && f->file_len >= n && memcmp(f->file, stdlib_dir, n) == 0) return 0;
    if (!n && fa_pyframes_stdlib_part(f)) return 0;
    if (contains(f->file, f->file_len, "/site-packages/") || contains(f->file, f->file_len, "/dist-packages/")) return 0;
    return 1;
}

/* "  File \"path\", line N in func" */
static int parse_frame(const char *p, const char *e, struct fa_py_frame *f)
{
    if (!starts(p, e, "  File ")) return 0;
    p += 7;
    if (p < e && *p == '"') {
        const char *q = p + 1;
        const char *close = NULL;
        /* the path may hold quotes (backslash-escaped only when not ASCII): the last '"' before ", line " */
        for (const char *r = q; r + 8 <= e; r++)
            if (memcmp(r, "\", line ", 8) == 0) close = r;
        if (!close) return 0;
        f->file = q;
        f->file_len = (size_t)(close - q);
        p = close + 1;
    } else {
        f->file = "???";
        f->file_len = 3;
        while (p < e && *p != ',') p++;
    }
    if (!starts(p, e, ", line ")) return 0;
    p += 7;
    f->line = -1;
    if (p < e && *p >= '0' && *p <= '9') {
        f->line = 0;
        while (p < e && *p >= '0' && *p <= '9') f->line = f->line * 10 + (*p++ - '0');
    } else {
        while (p < e && *p != ' ') p++;
    }
    if (!starts(p, e, " in ")) return 0;
    f->function = p + 4;
    f->function_len = (size_t)(e - f->function);
    return 1;
}

int fa_pyframes_parse(const char *text, size_t len, unsigned long self, const char *stdlib_dir,
                      struct fa_py_frame *out, int max)
{
    if (!text) return 0;
    const char *p = text, *end = text + len;
    int in = 0, n = 0;
    while (p < end) {
        const char *e = line_end(p, end);
        if (!in) {
            in = header_matches(p, e, self);
        } else if (e == p || (p[0] != ' ')) {
            break; /* the blank line after the section, or the next header */
        } else if (n < max && parse_frame(p, e, &out[n])) {
            out[n].own = fa_pyframes_own(&out[n], stdlib_dir);
            n++;
        }
        p = e < end ? e + 1 : end;
    }
    return n;
}

int fa_pyframes_depth(const struct fa_py_frame *f, int n, int depth)
{
    if (n <= depth) return n;
    for (int i = 0; i < depth; i++)
        if (f[i].own) return depth;
    for (int i = depth; i < n; i++)
        if (f[i].own) return i + 1;
    return depth;
}

static int rest_starts_with(const struct fa_py_frame *f, const char *rest, const char *prefix)
{
    size_t n = f->file_len - (size_t)(rest - f->file), k = strlen(prefix);
    return n >= k && memcmp(rest, prefix, k) == 0;
}

int fa_pyframes_in_process_machinery(const struct fa_py_frame *f)
{
    const char *rest = fa_pyframes_stdlib_part(f);
    return rest && (rest_starts_with(f, rest, "multiprocessing/") || rest_starts_with(f, rest, "concurrent/futures/"));
}

int fa_pyframes_process_machinery_thread(const struct fa_py_frame *f, int n)
{
    for (int i = 0; i < n; i++) {
        const char *rest = fa_pyframes_stdlib_part(&f[i]);
        if (!rest) return 0;
        size_t len = f[i].file_len - (size_t)(rest - f[i].file);
        if (len == 12 && !memcmp(rest, "threading.py", 12)) continue;
        return rest_starts_with(&f[i], rest, "multiprocessing/") ||
               rest_starts_with(&f[i], rest, "concurrent/futures/process.py");
    }
    return 0;
}

const struct fa_py_frame *fa_pyframes_site(const struct fa_py_frame *f, int n)
{
    for (int i = 0; i < n; i++)
        if (f[i].own) return &f[i];
    return n > 0 ? &f[0] : NULL;
}

