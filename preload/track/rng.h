/* rng.h: state of the libc generators whose sequence a child inherits, and the families
 * of every generator rng-at-fork names. */
#ifndef FA_RNG_H
#define FA_RNG_H

#include "base/fa.h"

/* random() and rand() share one generator in glibc (srand is an alias of srandom). The
 * libc families (below FA_RNG_COUNT) are tracked in fa_rng[] by the wrappers; the Python
 * ones are found in the interpreter at each fork (audit/python_rng.c), never tracked. */
enum fa_rng_family {
    FA_RNG_RANDOM = 0,
    FA_RNG_DRAND48 = 1,
    FA_RNG_COUNT = 2,
    FA_RNG_NUMPY = FA_RNG_COUNT, /* "numpy.random": a RandomState or Generator */
    FA_RNG_PY_RANDOM,            /* "random.Random": an instance the program made */
};

struct fa_rng_state {
    int seeded;
    unsigned long long seed;  /* valid when seeded */
    const char *seeded_by;    /* "srand", "srandom", "initstate", "srand48", "seed48", "lcong48" */
    const char *drawn_by;     /* last drawing function ("rand", "random", "drand48", ...) */
    unsigned long long draws; /* draws since the last seeding */
    size_t state_size;        /* initstate's n (random family), 0 for the default */
    int nframes;
    uintptr_t frames[FA_MAX_FRAMES]; /* seeding site */
    /* in a forked child: */
    int inherited;            /* the sequence came from the parent and was not reseeded */
    int reported;             /* rng-reused-in-child already written */
    unsigned long long draws_at_fork;
};

extern struct fa_rng_state fa_rng[FA_RNG_COUNT];

void fa_rng_seeded(enum fa_rng_family f, const char *fn, unsigned long long seed, const void *call_site);
/* In a forked child: generators seeded or drawn before the fork are inherited. */
void fa_rng_after_fork_child(void);
/* A draw in a child from an inherited sequence is reported by audit/child_rng.h. */
static inline void fa_rng_drawn(enum fa_rng_family f, const char *fn)
{
    __atomic_add_fetch(&fa_rng[f].draws, 1, __ATOMIC_RELAXED);
    fa_rng[f].drawn_by = fn;
}
/* The family name a report uses: "rand", "random", "drand48", "numpy.random" or
 * "random.Random" (`s` is read for the libc families only, may be NULL for the others). */
const char *fa_rng_family_name(enum fa_rng_family f, const struct fa_rng_state *s);

#endif
