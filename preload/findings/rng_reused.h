/* rng_reused.h: the rng-reused-in-child finding: a forked child's first draw from a libc
 * generator it inherited without reseeding. The detector (audit/child_rng.c) fills the
 * event; this file judges it (suppressions) and renders it. */
#ifndef FA_RNG_REUSED_H
#define FA_RNG_REUSED_H

#include "base/fmt.h"
#include "base/options.h"
#include "findings/child_record.h"
#include "track/rng.h"

struct fa_rng_reuse {
    struct fa_child_origin origin;
    enum fa_rng_family family;
    const struct fa_rng_state *state; /* its seeding (seed, seeded_by, frames) and draws_at_fork */
    const char *drawn_by;             /* "rand", "random", "drand48", "lrand48", "mrand48" */
    long long value;                  /* what the child drew (drand48: the double's bits) */
    int parent_known;                 /* parent_value was replayed from the seed */
    long long parent_value;           /* the parent's draw at the same position */
    const uintptr_t *pc;              /* the child's draw */
    int n;
};

/* Appends the record (JSON or text, per o->format), newline-terminated. */
void fa_rng_reused_render(struct fa_buf *b, const struct fa_rng_reuse *e, const struct fa_options *o);
/* Writes the record unless a suppression matches the seeding site or the draw; returns 1
 * when it was reported. */
int fa_rng_reused_report(const struct fa_rng_reuse *e, const struct fa_options *o);

#endif
