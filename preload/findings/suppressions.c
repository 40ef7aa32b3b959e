/* suppressions.c: the at-exit note of which suppression rules matched and how often
 * (JSON: one record listing them; text: a line per rule), written when any did. */
#include "findings/findings.h"

#include "out/record.h"
#include "out/suppress.h"

static void render(struct fa_buf *b, void *ctx)
{
    const struct fa_options *o = ctx;
    struct fa_record_head h;
    const char *kind, *pattern;
    fa_record_head_now(&h, fa_kind_name(FA_KIND_SUPPRESSIONS), fa_kind_level(FA_KIND_SUPPRESSIONS));
    if (o->format == FA_FORMAT_JSON) {
        fa_record_json_head(b, &h);
        fa_puts(b, ",\"suppressions\":[");
        for (int i = 0, first = 1; fa_suppress_rule(i, &kind, &pattern); i++) {
            unsigned long hits = fa_suppress_hits(i);
            if (!hits) continue;
            char rule[512];
            struct fa_buf rb;
            fa_buf_fixed(&rb, rule, sizeof rule);
            fa_puts(&rb, kind);
            fa_putc(&rb, ':');
            fa_puts(&rb, pattern);
            fa_buf_terminate(&rb);
            fa_puts(b, first ? "{\"rule\":" : ",{\"rule\":");
            first = 0;
            fa_put_json_str(b, rule);
            fa_puts(b, ",\"hits\":");
            fa_put_udec(b, hits);
            fa_putc(b, '}');
        }
        fa_puts(b, "]}\n");
        return;
    }
    for (int i = 0; fa_suppress_rule(i, &kind, &pattern); i++) {
        unsigned long hits = fa_suppress_hits(i);
        if (!hits) continue;
        fa_record_prefix(b, h.pid);
        fa_puts(b, "forkaudit: suppression used ");
        fa_put_udec(b, hits);
        fa_puts(b, hits == 1 ? " time: " : " times: ");
        fa_puts(b, kind);
        fa_putc(b, ':');
        fa_puts(b, pattern);
        fa_putc(b, '\n');
    }
}

void fa_findings_suppressions_used(const struct fa_options *o)
{
    const char *kind, *pattern;
    int used = 0;
    for (int i = 0; fa_suppress_rule(i, &kind, &pattern); i++) used += fa_suppress_hits(i) > 0;
    if (!used) return;
    char out[8192];
    fa_record_write(out, sizeof out, render, (void *)o);
}
