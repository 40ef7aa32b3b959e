/* rng.c: seeding and draw bookkeeping for the libc generators (see rng.h). */
#include "track/rng.h"

#include <string.h>

#include "base/backtrace.h"
#include "base/options.h"

struct fa_rng_state fa_rng[FA_RNG_COUNT];

void fa_rng_seeded(enum fa_rng_family f, const char *fn, unsigned long long seed, const void *call_site)
{
    struct fa_rng_state *s = &fa_rng[f];
    s->seed = seed;
    s->seeded_by = fn;
    s->draws = 0;
    s->inherited = 0; /* reseeded (in a child: no longer the parent's sequence) */
    s->nframes = fa_backtrace(s->frames, fa_opts.stack_depth, call_site);
    __atomic_store_n(&s->seeded, 1, __ATOMIC_RELEASE);
}

const char *fa_rng_family_name(enum fa_rng_family f, const struct fa_rng_state *s)
{
    if (f == FA_RNG_DRAND48) return "drand48";
    if (f == FA_RNG_NUMPY) return "numpy.random";
    if (f == FA_RNG_PY_RANDOM) return "random.Random";
    const char *by = s->seeded ? s->seeded_by : s->drawn_by;
    return by && strcmp(by, "srand") != 0 && strcmp(by, "rand") != 0 ? "random" : "rand";
}

void fa_rng_after_fork_child(void)
{
    for (int f = 0; f < FA_RNG_COUNT; f++) {
        struct fa_rng_state *s = &fa_rng[f];
        int inherited = s->seeded || s->draws > 0;
        if (s->inherited != inherited) s->inherited = inherited;
        if (inherited) {
            s->reported = 0;
            s->draws_at_fork = s->draws;
        }
    }
}
