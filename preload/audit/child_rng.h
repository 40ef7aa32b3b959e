/* child_rng.h: in a forked child, a draw from a libc generator whose sequence it inherited
 * (seeded or drawn before the fork, not reseeded since): the first such draw of each
 * generator is reported as rng-reused-in-child, with the number the parent drew or will
 * draw at the same position. */
#ifndef FA_CHILD_RNG_H
#define FA_CHILD_RNG_H

#include "track/rng.h"

/* Called by the draw wrappers when fa_rng[f].inherited. `value` is the drawn number; for
 * drand48 the bits of the double. */
void fa_child_rng_reused(enum fa_rng_family f, const char *fn, long long value, const void *call_site);

#endif
