/* interpose_rng.c: seeding and drawing of the libc generators. glibc's srand is an alias
 * of srandom and rand() reaches random() through an internal alias, so every member of a
 * family is wrapped on its own and nothing is counted twice. */
#include "intercept/real.h"

#include "audit/child_rng.h"
#include "track/rng.h"

FA_EXPORT void srand(unsigned seed)
{
    FA_REAL(srand)(seed);
    fa_rng_seeded(FA_RNG_RANDOM, "srand", seed, __builtin_return_address(0));
}

FA_EXPORT void srandom(unsigned seed)
{
    FA_REAL(srandom)(seed);
    fa_rng_seeded(FA_RNG_RANDOM, "srandom", seed, __builtin_return_address(0));
}

FA_EXPORT char *initstate(unsigned seed, char *state, size_t n)
{
    char *old = FA_REAL(initstate)(seed, state, n);
    fa_rng_seeded(FA_RNG_RANDOM, "initstate", seed, __builtin_return_address(0));
    fa_rng[FA_RNG_RANDOM].state_size = n;
    return old;
}

/* Draws: counted; in a forked child, the first draw of an inherited sequence is reported. */
#define DRAW(family, name, type, call, bits)                                                     \
    fa_rng_drawn(family, name);                                                                \
    type v = call;                                                                             \
    if (FA_UNLIKELY(fa_rng[family].inherited)) fa_child_rng_reused(family, name, bits, __builtin_return_address(0)); \
    return v;

static long long double_bits(double d)
{
    long long b;
    __builtin_memcpy(&b, &d, sizeof b);
    return b;
}

FA_EXPORT int rand(void) { DRAW(FA_RNG_RANDOM, "rand", int, FA_REAL(rand)(), v) }
FA_EXPORT long random(void) { DRAW(FA_RNG_RANDOM, "random", long, FA_REAL(random)(), v) }

static unsigned long long seed48_value(const unsigned short x[3])
{
    return (unsigned long long)x[0] | (unsigned long long)x[1] << 16 | (unsigned long long)x[2] << 32;
}

FA_EXPORT void srand48(long seed)
{
    FA_REAL(srand48)(seed);
    fa_rng_seeded(FA_RNG_DRAND48, "srand48", (unsigned long long)seed, __builtin_return_address(0));
}

FA_EXPORT unsigned short *seed48(unsigned short seed[3])
{
    unsigned long long v = seed48_value(seed);
    unsigned short *old = FA_REAL(seed48)(seed);
    fa_rng_seeded(FA_RNG_DRAND48, "seed48", v, __builtin_return_address(0));
    return old;
}

FA_EXPORT void lcong48(unsigned short param[7])
{
    FA_REAL(lcong48)(param);
    fa_rng_seeded(FA_RNG_DRAND48, "lcong48", seed48_value(param), __builtin_return_address(0));
}

FA_EXPORT double drand48(void) { DRAW(FA_RNG_DRAND48, "drand48", double, FA_REAL(drand48)(), double_bits(v)) }
FA_EXPORT long lrand48(void) { DRAW(FA_RNG_DRAND48, "lrand48", long, FA_REAL(lrand48)(), v) }
FA_EXPORT long mrand48(void) { DRAW(FA_RNG_DRAND48, "mrand48", long, FA_REAL(mrand48)(), v) }
