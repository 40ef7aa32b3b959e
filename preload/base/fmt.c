/* fmt.c: async-signal-safe string building for records and diagnostics. */
#include "base/fmt.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

void fa_buf_fixed(struct fa_buf *b, char *storage, size_t cap)
{
    b->p = storage;
    b->len = 0;
    b->cap = cap;
    b->mapped = 0;
    b->truncated = 0;
    b->limit = 0;
}

int fa_buf_mapped(struct fa_buf *b, size_t initial)
{
    fa_buf_fixed(b, NULL, 0);
    void *p = mmap(NULL, initial, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    b->p = p;
    b->cap = initial;
    b->mapped = 1;
    return 0;
}

void fa_buf_release(struct fa_buf *b)
{
    if (b->mapped && b->p) munmap(b->p, b->cap);
    fa_buf_fixed(b, NULL, 0);
}

int fa_buf_reserve(struct fa_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return 1;
    if (b->mapped) {
        size_t ncap = b->cap * 2;
        while (ncap < b->len + extra + 1) ncap *= 2;
        if (b->limit && ncap > b->limit) ncap = b->limit;
        void *np = ncap >= b->len + extra + 1 && ncap > b->cap ? mremap(b->p, b->cap, ncap, MREMAP_MAYMOVE) : MAP_FAILED;
        if (np != MAP_FAILED) {
            b->p = np;
            b->cap = ncap;
            return 1;
        }
    }
    b->truncated = 1;
    return 0;
}

void fa_buf_terminate(struct fa_buf *b)
{
    if (b->cap == 0) return;
    b->p[b->len < b->cap ? b->len : b->cap - 1] = 0;
}

void fa_putsn(struct fa_buf *b, const char *s, size_t n)
{
    if (!fa_buf_reserve(b, n)) {
        size_t room = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
        n = n < room ? n : room;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void fa_putc(struct fa_buf *b, char c) { fa_putsn(b, &c, 1); }
void fa_puts(struct fa_buf *b, const char *s) { fa_putsn(b, s, strlen(s)); }

void fa_put_udec(struct fa_buf *b, unsigned long long v)
{
    char tmp[24];
    int i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fa_putsn(b, tmp + i, sizeof tmp - (size_t)i);
}

void fa_put_dec(struct fa_buf *b, long long v)
{
    if (v < 0) {
        fa_putc(b, '-');
        fa_put_udec(b, 0ULL - (unsigned long long)v);
    } else {
        fa_put_udec(b, (unsigned long long)v);
    }
}

void fa_put_hex(struct fa_buf *b, uintptr_t v)
{
    char tmp[2 + 2 * sizeof v];
    int i = sizeof tmp;
    do {
        tmp[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    fa_putsn(b, tmp + i, sizeof tmp - (size_t)i);
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 when it is invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xe0) == 0xc0) { len = 2; min = 0x80; cp = s[0] & 0x1f; }
    else if ((s[0] & 0xf0) == 0xe0) { len = 3; min = 0x800; cp = s[0] & 0x0f; }
    else if ((s[0] & 0xf8) == 0xf0) { len = 4; min = 0x10000; cp = s[0] & 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

void fa_put_json_strn(struct fa_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    fa_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            fa_putc(b, '\\');
            fa_putc(b, (char)c);
            i++;
        } else if (c == '\n') { fa_puts(b, "\\n"); i++; }
        else if (c == '\t') { fa_puts(b, "\\t"); i++; }
        else if (c == '\r') { fa_puts(b, "\\r"); i++; }
        else if (c < 0x20 || c == 0x7f) {
            fa_puts(b, "\\u00");
            fa_putc(b, "0123456789abcdef"[c >> 4]);
            fa_putc(b, "0123456789abcdef"[c & 15]);
            i++;
        } else if (c < 0x80) { /* a run of plain ASCII, copied at once: most of a record */
            size_t j = i + 1;
            while (j < n && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' && u[j] != '\\') j++;
            fa_putsn(b, s + i, j - i);
            i = j;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (l == 0) { /* not UTF-8: keep the byte visible as U+00XX */
                fa_puts(b, "\\u00");
                fa_putc(b, "0123456789abcdef"[c >> 4]);
                fa_putc(b, "0123456789abcdef"[c & 15]);
                i++;
            } else {
                fa_putsn(b, s + i, l);
                i += l;
            }
        }
    }
    fa_putc(b, '"');
}

void fa_put_json_str(struct fa_buf *b, const char *s) { fa_put_json_strn(b, s ? s : "", s ? strlen(s) : 0); }

void fa_pad_to(struct fa_buf *b, size_t line_start, size_t col)
{
    /* A full fixed buffer takes no more spaces: stop, or this never ends. */
    while (b->len - line_start < col && !b->truncated) fa_putc(b, ' ');
}

/* The errnos a file, descriptor or process call of the library's can meet; the text is
 * glibc's strerror's, with the symbolic name. */
static const struct {
    int e;
    const char *text;
} errno_texts[] = {
    {EPERM, "Operation not permitted (EPERM)"},
    {ENOENT, "No such file or directory (ENOENT)"},
    {ESRCH, "No such process (ESRCH)"},
    {EINTR, "Interrupted system call (EINTR)"},
    {EIO, "Input/output error (EIO)"},
    {ENXIO, "No such device or address (ENXIO)"},
    {E2BIG, "Argument list too long (E2BIG)"},
    {ENOEXEC, "Exec format error (ENOEXEC)"},
    {EBADF, "Bad file descriptor (EBADF)"},
    {ECHILD, "No child processes (ECHILD)"},
    {EAGAIN, "Resource temporarily unavailable (EAGAIN)"},
    {ENOMEM, "Cannot allocate memory (ENOMEM)"},
    {EACCES, "Permission denied (EACCES)"},
    {EFAULT, "Bad address (EFAULT)"},
    {EBUSY, "Device or resource busy (EBUSY)"},
    {EEXIST, "File exists (EEXIST)"},
    {EXDEV, "Invalid cross-device link (EXDEV)"},
    {ENODEV, "No such device (ENODEV)"},
    {ENOTDIR, "Not a directory (ENOTDIR)"},
    {EISDIR, "Is a directory (EISDIR)"},
    {EINVAL, "Invalid argument (EINVAL)"},
    {ENFILE, "Too many open files in system (ENFILE)"},
    {EMFILE, "Too many open files (EMFILE)"},
    {ENOTTY, "Inappropriate ioctl for device (ENOTTY)"},
    {ETXTBSY, "Text file busy (ETXTBSY)"},
    {EFBIG, "File too large (EFBIG)"},
    {ENOSPC, "No space left on device (ENOSPC)"},
    {ESPIPE, "Illegal seek (ESPIPE)"},
    {EROFS, "Read-only file system (EROFS)"},
    {EMLINK, "Too many links (EMLINK)"},
    {EPIPE, "Broken pipe (EPIPE)"},
    {ERANGE, "Numerical result out of range (ERANGE)"},
    {EDEADLK, "Resource deadlock avoided (EDEADLK)"},
    {ENAMETOOLONG, "File name too long (ENAMETOOLONG)"},
    {ENOSYS, "Function not implemented (ENOSYS)"},
    {ELOOP, "Too many levels of symbolic links (ELOOP)"},
    {EOVERFLOW, "Value too large for defined data type (EOVERFLOW)"},
    {EDQUOT, "Disk quota exceeded (EDQUOT)"},
    {ETIMEDOUT, "Connection timed out (ETIMEDOUT)"},
    {EOPNOTSUPP, "Operation not supported (EOPNOTSUPP)"},
    {ESTALE, "Stale file handle (ESTALE)"},
};

const char *fa_errno_text(int e)
{
    for (size_t i = 0; i < sizeof errno_texts / sizeof errno_texts[0]; i++)
        if (errno_texts[i].e == e) return errno_texts[i].text;
    return NULL;
}

void fa_put_errno(struct fa_buf *b, int e)
{
    const char *text = fa_errno_text(e);
    if (text) {
        fa_puts(b, text);
    } else {
        fa_puts(b, "error ");
        fa_put_dec(b, e);
    }
}
