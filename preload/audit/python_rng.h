/* python_rng.h: the Python random generators a fork child inherits and nothing reseeds
 * (rng-at-fork): numpy's global generator (numpy.random.mtrand._rand, behind
 * np.random.seed/rand/...), and numpy RandomState and Generator objects and random.Random
 * instances bound to module globals of the program's own code. Never the random module's
 * hidden instance (random._inst): CPython reseeds it in every child (os.register_at_fork). */
#ifndef FA_PYTHON_RNG_H
#define FA_PYTHON_RNG_H

#include "audit/snapshot.h"
#include "base/python.h"

/* In the parent just before the real fork, in a thread that holds the GIL (os.fork()):
 * fills s->py_rng. Each generator's state is read (MT19937: numpy's bit generator through
 * its "BitGenerator" capsule, CPython's _random.Random object by its layout; numpy's
 * PCG64) and its next raw output and next random() are computed here, without drawing
 * from it. Does nothing unless fa_python_can_call(py); a missing numpy or an unknown
 * layout gives no entry, or an entry whose next draw is unknown. The program's pending
 * exception is kept as it was. */
void fa_python_rng_capture(struct fa_snapshot *s, const struct fa_py_api *py);

#endif
