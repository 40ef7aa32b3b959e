/* The parent seeds rand() and srand48(), draws from rand(), then forks: the child
 * replays the parent's sequence. Expected: rng-at-fork for family rand (seed 12345,
 * 3 draws, seeded in seed_generators) and drand48 (seed 777, 0 draws). Then, for fork #2,
 * initstate() + random() and seed48() + lrand48()/mrand48(). */
#include "progs.h"

static void seed_generators(void)
{
    srand(12345);
    srand48(777);
}

int main(void)
{
    seed_generators();
    for (int i = 0; i < 3; i++) rand();
    fork_and_reap();

    static char state[64];
    initstate(99, state, sizeof state);
    random();
    unsigned short seed[3] = {1, 2, 3};
    seed48(seed);
    lrand48();
    mrand48();
    fork_and_reap();
    return 0;
}
