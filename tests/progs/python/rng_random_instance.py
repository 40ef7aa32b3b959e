"""A random.Random instance of the program (__main__.rng, seeded and drawn from three
times) and one in a module of the program (rng_helper.shuffler), beside the random
module's own functions (random.seed, random.random) and an alias of its hidden instance
(inst_alias = random._inst, which CPython reseeds in the child). One fork: the child
reads __main__.rng's next 32-bit word (getrandbits(32) between getstate() and
setstate()), draws rng.random() and shuffler.random(), and writes them to a pipe; then
the parent draws the same. Prints "child RAW VALUE HELPER" and "parent VALUE HELPER".
Used by tests/integration/test_python_rng.py."""

import os
import random

import rng_helper

rng = random.Random(2024)
for _ in range(3):
    rng.random()
random.seed(5)
random.random()
inst_alias = random._inst


def fork_worker():
    r, w = os.pipe()
    pid = os.fork()  # FORK-LINE: where the child is made
    if pid == 0:
        os.close(r)
        state = rng.getstate()
        raw = rng.getrandbits(32)
        rng.setstate(state)
        os.write(w, ("%d %r %r" % (raw, rng.random(), rng_helper.shuffler.random())).encode())
        os._exit(0)
    os.close(w)
    line = b""
    while True:
        chunk = os.read(r, 256)
        if not chunk:
            break
        line += chunk
    os.close(r)
    os.waitpid(pid, 0)
    print("child", line.decode())


fork_worker()
print("parent %r %r" % (rng.random(), rng_helper.shuffler.random()))
