/* rng_replay.c: see rng_replay.h. */
#include "findings/rng_replay.h"

#include <stdlib.h>
#include <string.h>

static int replay_random(const struct fa_rng_state *s, unsigned long long k, long long *out)
{
    char state[256];
    struct random_data rd;
    memset(&rd, 0, sizeof rd);
    size_t n = s->state_size ? s->state_size : 128; /* srandom's default state: TYPE_3 */
    if (n > sizeof state) n = sizeof state;
    if (k >= FA_RNG_REPLAY_MAX || initstate_r(s->seeded ? (unsigned)s->seed : 1, state, n, &rd) != 0) return 0;
    int32_t r = 0;
    for (unsigned long long i = 0; i <= k; i++) random_r(&rd, &r);
    *out = r;
    return 1;
}

static int replay_drand48(const struct fa_rng_state *s, unsigned long long k, const char *fn, long long *out)
{
    struct drand48_data d;
    memset(&d, 0, sizeof d);
    if (k >= FA_RNG_REPLAY_MAX) return 0;
    if (s->seeded && strcmp(s->seeded_by, "srand48") == 0) {
        srand48_r((long)s->seed, &d);
    } else {
        /* seed48's value, or X0 = 0 when never seeded: glibc's state starts zeroed and its
         * first call only sets a and c (drand48-iter.c), whatever srand48's 0x330e suggests */
        unsigned long long x = s->seeded ? s->seed : 0;
        if (s->seeded && strcmp(s->seeded_by, "seed48") != 0) return 0; /* lcong48: other a, c */
        unsigned short v[3] = {(unsigned short)x, (unsigned short)(x >> 16), (unsigned short)(x >> 32)};
        seed48_r(v, &d);
    }
    long skip;
    for (unsigned long long i = 0; i < k; i++) lrand48_r(&d, &skip); /* every call steps the same LCG */
    if (strcmp(fn, "drand48") == 0) {
        double v;
        drand48_r(&d, &v);
        memcpy(out, &v, sizeof v);
    } else if (strcmp(fn, "mrand48") == 0) {
        long v;
        mrand48_r(&d, &v);
        *out = v;
    } else {
        long v;
        lrand48_r(&d, &v);
        *out = v;
    }
    return 1;
}

int fa_rng_replay(enum fa_rng_family f, const struct fa_rng_state *s, unsigned long long k, const char *fn,
                  long long *out)
{
    return f == FA_RNG_RANDOM ? replay_random(s, k, out) : replay_drand48(s, k, fn, out);
}
