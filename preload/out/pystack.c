/* pystack.c: see pystack.h. */
#include "out/pystack.h"

#include "out/record.h"

void fa_pystack_json(struct fa_buf *b, const char *key, const struct fa_py_frame *f, int n)
{
    if (n <= 0) return;
    fa_puts(b, ",\"");
    fa_puts(b, key);
    fa_puts(b, "\":[");
    for (int i = 0; i < n; i++) {
        size_t mark = b->len;
        if (i) fa_putc(b, ',');
        fa_puts(b, "{\"file\":");
        fa_put_json_strn(b, f[i].file, f[i].file_len);
        fa_puts(b, ",\"line\":");
        fa_put_dec(b, f[i].line);
        fa_puts(b, ",\"function\":");
        fa_put_json_strn(b, f[i].function, f[i].function_len);
        fa_puts(b, f[i].own ? ",\"own\":true}" : ",\"own\":false}");
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_putc(b, ']');
}

void fa_pystack_text(struct fa_buf *b, pid_t pid, const char *title, const char *indent,
                     const struct fa_py_frame *f, int n)
{
    if (n <= 0) return;
    if (title) fa_record_text_line(b, pid, title);
    for (int i = 0; i < n; i++) {
        size_t mark = b->len;
        fa_record_prefix(b, pid);
        fa_puts(b, indent);
        fa_puts(b, "File \"");
        fa_putsn(b, f[i].file, f[i].file_len);
        fa_puts(b, "\", line ");
        fa_put_dec(b, f[i].line);
        fa_puts(b, ", in ");
        fa_putsn(b, f[i].function, f[i].function_len);
        fa_putc(b, '\n');
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
}
