/* fmt.h: async-signal-safe string building (no malloc, no stdio). A buffer either has
 * fixed storage (truncates, sets `truncated`) or grows with mmap/mremap. */
#ifndef FA_FMT_H
#define FA_FMT_H

#include <stddef.h>
#include <stdint.h>

struct fa_buf {
    char *p;
    size_t len, cap;
    int mapped;    /* storage came from mmap and may grow */
    int truncated; /* something did not fit */
    size_t limit;  /* mapped storage never grows past this many bytes; 0: no limit */
};

void fa_buf_fixed(struct fa_buf *b, char *storage, size_t cap);
/* Growable buffer backed by mmap; returns -1 (and leaves a 0-capacity buffer that
 * truncates everything) when the mapping fails. */
int fa_buf_mapped(struct fa_buf *b, size_t initial);
void fa_buf_release(struct fa_buf *b);
/* Makes room for `extra` more bytes (and a NUL); returns 0 when it cannot. */
int fa_buf_reserve(struct fa_buf *b, size_t extra);
/* NUL-terminates (within cap) without counting the NUL in len. */
void fa_buf_terminate(struct fa_buf *b);

void fa_putc(struct fa_buf *b, char c);
void fa_puts(struct fa_buf *b, const char *s);
void fa_putsn(struct fa_buf *b, const char *s, size_t n);
void fa_put_dec(struct fa_buf *b, long long v);
void fa_put_udec(struct fa_buf *b, unsigned long long v);
/* "0x" followed by lowercase hex digits, no padding. */
void fa_put_hex(struct fa_buf *b, uintptr_t v);
/* A JSON string literal, quotes included: control characters, quote and backslash escaped,
 * bytes that are not valid UTF-8 written as \u00XX so the output is always valid JSON. */
void fa_put_json_str(struct fa_buf *b, const char *s);
void fa_put_json_strn(struct fa_buf *b, const char *s, size_t n);
/* An errno value as text, as strerror says it ("No such file or directory (ENOENT)"), from
 * a constant table: async-signal-safe, no locale. NULL for a value it does not know. */
const char *fa_errno_text(int e);
/* fa_errno_text(e), or "error N" for a value the table does not know. */
void fa_put_errno(struct fa_buf *b, int e);
/* Pads with spaces until the current line is `col` characters long. */
void fa_pad_to(struct fa_buf *b, size_t line_start, size_t col);

#endif
