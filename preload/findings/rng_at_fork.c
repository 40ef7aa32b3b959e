/* rng_at_fork.c: rng-at-fork, one record per random generator seeded or drawn from before
 * the fork: parent and child go on drawing the same numbers. */
#include "findings/finding.h"

static int entries(const struct fa_snapshot *s) { return s->nrng; }

static void keys(const struct fa_snapshot *s, int i, struct fa_finding_keys *k)
{
    k->pc[0] = s->rng[i].state.frames;
    k->n[0] = s->rng[i].state.nframes;
    k->nstacks = 1;
}

static void keep(struct fa_snapshot *s, int to, int from) { s->rng[to] = s->rng[from]; }
static void set_entries(struct fa_snapshot *s, int n) { s->nrng = n; }

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snap_rng *r = &in->s->rng[in->index];
    fa_puts(b, ",\"rng\":{\"family\":\"");
    fa_puts(b, fa_rng_family_name(r->family, &r->state));
    fa_putc(b, '"');
    if (r->state.seeded) {
        fa_record_json_int(b, "seed", (long long)r->state.seed);
        fa_puts(b, ",\"seeded_by\":\"");
        fa_puts(b, r->state.seeded_by);
        fa_puts(b, "\",\"seeded_at\":");
        fa_record_frames_json(b, r->state.frames, r->state.nframes);
    } else {
        fa_puts(b, ",\"seeded_at\":[]");
    }
    fa_record_json_int(b, "draws", (long long)r->state.draws);
    fa_putc(b, '}');
    fa_record_suggestion_json(b, fa_kind_name(in->kind), r->state.frames, r->state.nframes, NULL);
}

static void emit_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    const struct fa_snap_rng *r = &s->rng[in->index];
    fa_puts(b, "the ");
    fa_puts(b, fa_rng_family_name(r->family, &r->state));
    fa_puts(b, "() generator was ");
    if (r->state.seeded) {
        fa_puts(b, "seeded with ");
        fa_put_udec(b, r->state.seed);
    } else {
        fa_puts(b, "never seeded (fixed default seed)");
    }
    fa_puts(b, " and drawn ");
    fa_put_udec(b, r->state.draws);
    fa_puts(b, r->state.draws == 1 ? " time before " : " times before ");
    fa_finding_fork_ref(b, s);
    fa_puts(b, "\n");
    fa_record_text_line(b, s->pid, "  the child continues the parent's sequence: parent and child draw the same numbers\n");
    if (r->state.seeded) {
        fa_record_prefix(b, s->pid);
        fa_puts(b, "  seeded by ");
        fa_puts(b, r->state.seeded_by);
        fa_puts(b, " at:\n");
        fa_record_frames_text(b, s->pid, r->state.frames, r->state.nframes, "    ");
    }
    fa_record_suggestion_text(b, s->pid, "  ", fa_kind_name(in->kind), r->state.frames, r->state.nframes, NULL);
}

const struct fa_finding fa_finding_RNG = {
    .entries = entries,
    .keys = keys,
    .keep = keep,
    .set_entries = set_entries,
    .records = entries,
    .emit_json = emit_json,
    .emit_text = emit_text,
};
