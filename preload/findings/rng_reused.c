/* rng_reused.c: see rng_reused.h. */
#include "findings/rng_reused.h"

#include <string.h>

#include "out/record.h"
#include "out/suppress.h"

#define KIND fa_kind_name(FA_KIND_RNG_REUSED)

/* The key stack of the rule that silences it: the seeding site when known (matched there
 * as well as at the draw), else the draw. */
static const uintptr_t *rule_stack(const struct fa_rng_reuse *e, int *n)
{
    const struct fa_rng_state *s = e->state;
    *n = s->seeded && s->nframes > 0 ? s->nframes : e->n;
    return s->seeded && s->nframes > 0 ? s->frames : e->pc;
}

/* A drand48 value in [0, 1) as decimal, from its bits (no stdio here). */
static void put_drawn(struct fa_buf *b, const struct fa_rng_reuse *e, long long bits)
{
    if (e->family != FA_RNG_DRAND48 || strcmp(e->drawn_by, "drand48") != 0) {
        fa_put_dec(b, bits);
        return;
    }
    double d;
    memcpy(&d, &bits, sizeof d);
    char digits[18];
    unsigned long long frac = (unsigned long long)(d * 1e17);
    for (int i = 16; i >= 0; i--, frac /= 10) digits[i] = (char)('0' + frac % 10);
    digits[17] = 0;
    fa_puts(b, "0.");
    fa_puts(b, digits);
}

static void render_json(struct fa_buf *b, const struct fa_rng_reuse *e)
{
    const struct fa_rng_state *s = e->state;
    fa_child_record_head_json(b, FA_KIND_RNG_REUSED, &e->origin, e->pc, e->n);
    fa_puts(b, ",\"rng\":{\"family\":\"");
    fa_puts(b, fa_rng_family_name(e->family, s));
    fa_puts(b, "\",\"drawn_by\":\"");
    fa_puts(b, e->drawn_by);
    fa_putc(b, '"');
    if (s->seeded) {
        fa_puts(b, ",\"seed\":");
        fa_put_udec(b, s->seed);
        fa_puts(b, ",\"seeded_by\":\"");
        fa_puts(b, s->seeded_by);
        fa_puts(b, "\",\"seeded_at\":");
        fa_record_frames_json(b, s->frames, s->nframes);
    }
    fa_puts(b, ",\"draws_at_fork\":");
    fa_put_udec(b, s->draws_at_fork);
    fa_puts(b, ",\"value\":");
    put_drawn(b, e, e->value);
    if (e->parent_known) {
        fa_puts(b, ",\"parent_value\":");
        put_drawn(b, e, e->parent_value);
        fa_puts(b, e->parent_value == e->value ? ",\"same\":true" : ",\"same\":false");
    }
    fa_putc(b, '}');
    int n;
    const uintptr_t *key = rule_stack(e, &n);
    fa_record_suggestion_json(b, KIND, key, n, NULL);
    fa_puts(b, "}\n");
}

static void render_text(struct fa_buf *b, const struct fa_rng_reuse *e)
{
    const struct fa_rng_state *s = e->state;
    pid_t pid = e->origin.pid;
    fa_record_text_title(b, pid, fa_kind_level(FA_KIND_RNG_REUSED), KIND);
    fa_puts(b, "this child drew ");
    put_drawn(b, e, e->value);
    fa_puts(b, " from ");
    fa_puts(b, e->drawn_by);
    fa_puts(b, "(), draw #");
    fa_put_udec(b, s->draws_at_fork + 1);
    fa_puts(b, " of the ");
    fa_puts(b, fa_rng_family_name(e->family, s));
    fa_puts(b, "() sequence it inherited without reseeding\n");
    fa_record_prefix(b, pid);
    if (e->parent_known && e->parent_value == e->value) {
        fa_puts(b, "  the parent drew (or will draw) the same number at that position: ");
        put_drawn(b, e, e->parent_value);
        fa_putc(b, '\n');
    } else {
        fa_puts(b, "  parent and child continue one sequence from the same state\n");
    }
    if (s->seeded) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  seeded with ");
        fa_put_udec(b, s->seed);
        fa_puts(b, " by ");
        fa_puts(b, s->seeded_by);
        fa_puts(b, " at:\n");
        fa_record_frames_text(b, pid, s->frames, s->nframes, "    ");
    }
    fa_record_prefix(b, pid);
    fa_puts(b, "  drawn in the child at:\n");
    fa_record_frames_text(b, pid, e->pc, e->n, "    ");
    int n;
    const uintptr_t *key = rule_stack(e, &n);
    fa_record_suggestion_text(b, pid, "  ", KIND, key, n, NULL);
    fa_record_prefix(b, pid);
    fa_putc(b, '\n');
}

void fa_rng_reused_render(struct fa_buf *b, const struct fa_rng_reuse *e, const struct fa_options *o)
{
    if (o->format == FA_FORMAT_JSON) render_json(b, e);
    else render_text(b, e);
}

struct render_ctx {
    const struct fa_rng_reuse *e;
    const struct fa_options *o;
};

static void render_record(struct fa_buf *b, void *ctx)
{
    const struct render_ctx *c = ctx;
    fa_rng_reused_render(b, c->e, c->o);
}

int fa_rng_reused_report(const struct fa_rng_reuse *e, const struct fa_options *o)
{
    if (fa_suppress_frames(KIND, e->state->frames, e->state->nframes) || fa_suppress_frames(KIND, e->pc, e->n))
        return 0;
    struct render_ctx c = {e, o};
    fa_record_write(NULL, 0, render_record, &c);
    return 1;
}
