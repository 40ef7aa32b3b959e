/* rng_at_fork.c: rng-at-fork, one record per random generator seeded or drawn from before
 * the fork: parent and child go on drawing the same numbers. The libc generators come
 * first (s->rng: seed, seeding site, draws), then the Python ones (s->py_rng: the global
 * they are bound to and the next values every process will draw, audit/python_rng.c). */
#include "findings/finding.h"

#include <string.h>

static int entries(const struct fa_snapshot *s) { return s->nrng + s->npy_rng; }

/* Record i's Python generator, NULL for a libc one. */
static const struct fa_snap_py_rng *py_rng(const struct fa_snapshot *s, int i)
{
    return i >= s->nrng && i - s->nrng < s->npy_rng ? &s->py_rng[i - s->nrng] : NULL;
}

/* A Python generator is matched by its name ("rng-at-fork:__main__.rng"), then the fork. */
static void keys(const struct fa_snapshot *s, int i, struct fa_finding_keys *k)
{
    const struct fa_snap_py_rng *p = py_rng(s, i);
    if (p) {
        fa_finding_key_text(k, p->name);
        return;
    }
    k->pc[0] = s->rng[i].state.frames;
    k->n[0] = s->rng[i].state.nframes;
    k->nstacks = 1;
}

/* The entries are numbered across two tables, so the kept ones are gathered when
 * set_entries is called: findings.c calls keep(to, from) for every entry kept after the
 * first one dropped (the first call's `to` is that one), none for those before it. */
static void keep(struct fa_snapshot *s, int to, int from)
{
    if (!s->rng_moves++) s->rng_first_moved_to = to;
    if (from < 64) s->rng_moved |= 1ULL << from;
}

static void set_entries(struct fa_snapshot *s, int n)
{
    int total = s->nrng + s->npy_rng, first = s->rng_moves ? s->rng_first_moved_to : n;
    int libc = 0, python = 0;
    for (int i = 0; i < total && i < 64; i++) {
        if (i >= first && !(s->rng_moved >> i & 1)) continue;
        if (i < s->nrng) s->rng[libc++] = s->rng[i];
        else s->py_rng[python++] = s->py_rng[i - s->nrng];
    }
    s->nrng = libc;
    s->npy_rng = python;
    s->rng_moves = 0;
    s->rng_moved = 0;
}

/* numpy's global generator untouched since import is a note (listed with verbosity=1):
 * whether it matters depends on the children drawing from it. */
static enum fa_level level(const struct fa_snapshot *s, int i)
{
    const struct fa_snap_py_rng *p = py_rng(s, i);
    return p && p->use == FA_PY_RNG_UNTOUCHED ? FA_LEVEL_NOTE : FA_LEVEL_WARNING;
}

/* n / 2**53 (a random() value, n < 2**53) with 17 significant digits, enough to read back
 * the same double: "0.54881350392732475". Its exact binary fraction is expanded a digit
 * at a time (the remainder times 10 stays below 2**57), then rounded. No stdio here. */
static void put_random(struct fa_buf *b, unsigned long long n)
{
    const unsigned long long one = 1ULL << 53;
    if (n == 0 || n >= one) {
        fa_puts(b, n ? "1.0" : "0.0");
        return;
    }
    char digits[80];
    int len = 0, significant = 0;
    unsigned long long r = n;
    while (significant < 17 && len < (int)sizeof digits - 1) {
        r *= 10;
        digits[len] = (char)('0' + (int)(r >> 53));
        r &= one - 1;
        if (significant || digits[len] != '0') significant++;
        len++;
    }
    if (r >= one / 2) /* round half up: a carry stops at a digit below 9 (the value is < 1) */
        for (int i = len - 1; i >= 0 && digits[i]++ == '9'; i--) digits[i] = '0';
    while (len > 1 && digits[len - 1] == '0') len--;
    digits[len] = 0;
    fa_puts(b, "0.");
    fa_puts(b, digits);
}

static const char *py_use_json(const struct fa_snap_py_rng *p)
{
    if (p->use == FA_PY_RNG_USE_UNKNOWN) return "";
    return p->use == FA_PY_RNG_DRAWN ? ",\"drawn\":true" : ",\"drawn\":false";
}

/* "Generator" of "numpy.random._generator.Generator" */
static const char *short_type(const char *type)
{
    const char *dot = strrchr(type, '.');
    return dot ? dot + 1 : type;
}

static void emit_py_json(struct fa_buf *b, const struct fa_finding_in *in, const struct fa_snap_py_rng *p)
{
    fa_puts(b, ",\"rng\":{\"family\":\"");
    fa_puts(b, fa_rng_family_name(p->family, NULL));
    fa_puts(b, "\",\"name\":");
    fa_put_json_str(b, p->name);
    fa_puts(b, ",\"type\":");
    fa_put_json_str(b, p->type);
    if (p->bit_generator[0]) {
        fa_puts(b, ",\"bit_generator\":");
        fa_put_json_str(b, p->bit_generator);
    }
    fa_puts(b, p->global ? ",\"global\":true" : ",\"global\":false");
    if (p->use == FA_PY_RNG_UNTOUCHED) fa_puts(b, ",\"seeded_by\":\"numpy at import (OS entropy)\"");
    else if (p->seeded_by) {
        fa_puts(b, ",\"seeded_by\":");
        fa_put_json_str(b, p->seeded_by);
    }
    if (p->seed_known) {
        fa_puts(b, ",\"seed\":");
        fa_put_udec(b, p->seed);
    }
    fa_puts(b, py_use_json(p));
    if (p->next_unknown) {
        fa_puts(b, ",\"next_unknown\":");
        fa_put_json_str(b, p->next_unknown);
    } else {
        fa_puts(b, ",\"next\":{\"random\":");
        put_random(b, p->next_random);
        fa_puts(b, ",\"raw\":");
        fa_put_udec(b, p->next_raw);
        fa_record_json_int(b, "raw_bits", p->raw_bits);
        fa_putc(b, '}');
    }
    fa_putc(b, '}');
    fa_record_suggestion_json(b, fa_kind_name(in->kind), NULL, 0, p->name);
}

/* "the next draw in the parent and in every child: random() = X (the next 32-bit word N)" */
static void emit_py_text(struct fa_buf *b, const struct fa_finding_in *in, const struct fa_snap_py_rng *p)
{
    const struct fa_snapshot *s = in->s;
    fa_puts(b, p->global ? "numpy's global generator " : "the ");
    if (!p->global) {
        fa_puts(b, fa_rng_family_name(p->family, NULL));
        fa_puts(b, " generator ");
    }
    fa_puts(b, p->name);
    fa_puts(b, p->global ? " (np.random.*: a " : " (a ");
    fa_puts(b, short_type(p->type));
    if (p->bit_generator[0]) {
        fa_puts(b, " on ");
        fa_puts(b, p->bit_generator);
    }
    fa_puts(b, ") ");
    if (p->use == FA_PY_RNG_UNTOUCHED) fa_puts(b, "was seeded by numpy at import and not drawn from before ");
    else if (p->use == FA_PY_RNG_DRAWN) fa_puts(b, "was drawn from before ");
    else {
        fa_puts(b, p->seed_known ? "was seeded with " : "was seeded");
        if (p->seed_known) fa_put_udec(b, p->seed);
        if (p->seeded_by) {
            fa_puts(b, " by ");
            fa_puts(b, p->seeded_by);
        }
        fa_puts(b, p->use == FA_PY_RNG_SEEDED ? " and not drawn from before " : " before ");
    }
    fa_finding_fork_ref(b, s);
    fa_putc(b, '\n');
    fa_record_text_line(b, s->pid,
                        p->use == FA_PY_RNG_UNTOUCHED
                            ? "  every child starts from this state: children that draw from np.random draw the same numbers\n"
                            : "  the child continues the parent's sequence: parent and child draw the same numbers\n");
    fa_record_prefix(b, s->pid);
    if (p->next_unknown) {
        fa_puts(b, "  the next draw is not known: ");
        fa_puts(b, p->next_unknown);
    } else {
        fa_puts(b, "  the next draw, in the parent and in every child: random() = ");
        put_random(b, p->next_random);
        fa_puts(b, p->raw_bits == 32 ? " (next 32-bit word " : " (next 64-bit word ");
        fa_put_udec(b, p->next_raw);
        fa_putc(b, ')');
    }
    fa_putc(b, '\n');
    fa_record_text_line(b, s->pid, "  reseed it in the child (after os.fork(), in a worker initializer), or give each child its own\n");
    fa_record_suggestion_text(b, s->pid, "  ", fa_kind_name(in->kind), NULL, 0, p->name);
}

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snap_py_rng *p = py_rng(in->s, in->index);
    if (p) {
        emit_py_json(b, in, p);
        return;
    }
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
    const struct fa_snap_py_rng *p = py_rng(s, in->index);
    if (p) {
        emit_py_text(b, in, p);
        return;
    }
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

/* The fork note's part: Python generators past the table. */
static int overflowed(const struct fa_snapshot *s) { return s->py_rng_dropped > 0; }

static void note_json(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (s->py_rng_dropped) fa_record_json_int(b, "python_rngs_dropped", (long long)s->py_rng_dropped);
}

static void note_text(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (!s->py_rng_dropped) return;
    fa_puts(b, " (");
    fa_put_udec(b, s->py_rng_dropped);
    fa_puts(b, " more Python random generators not listed: " FA_STR(FA_PY_RNGS) " a fork)");
}

const struct fa_finding fa_finding_RNG = {
    .entries = entries,
    .keys = keys,
    .keep = keep,
    .set_entries = set_entries,
    .records = entries,
    .level = level,
    .emit_json = emit_json,
    .emit_text = emit_text,
    .overflowed = overflowed,
    .note_json = note_json,
    .note_text = note_text,
};
