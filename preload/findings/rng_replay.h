/* rng_replay.h: the value a libc generator gives at a given draw, replayed from its seed
 * with the reentrant functions (caller-owned state: the program's generator is untouched).
 * Pure and async-signal-safe: what rng-reused-in-child shows as the parent's draw. */
#ifndef FA_RNG_REPLAY_H
#define FA_RNG_REPLAY_H

#include "track/rng.h"

/* Replaying further than this to show the parent's value costs too much: no proof then. */
#define FA_RNG_REPLAY_MAX 10000000ULL

/* The value generator `f` in state `s` (its seeding) gave or gives at draw number `k` (0 =
 * the first after seeding) when drawn by `fn` ("rand", "drand48", "lrand48", ...; for
 * drand48 the bits of the double). Returns 1 and sets *out, or 0 when it cannot be
 * replayed (lcong48's own multiplier, k past FA_RNG_REPLAY_MAX). */
int fa_rng_replay(enum fa_rng_family f, const struct fa_rng_state *s, unsigned long long k, const char *fn,
                  long long *out);

#endif
