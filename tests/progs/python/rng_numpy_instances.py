"""numpy generators of the program: gen = np.random.default_rng(42) (a Generator on PCG64,
drawn from once) and legacy = np.random.RandomState(7) (seeded, not drawn from); numpy's
global generator is left as numpy seeded it at import (the DataLoader case: the
children are the first to draw from it). One fork: the child draws gen.random(),
legacy.random_sample() and np.random.random() and writes them to a pipe. Prints
"child GEN LEGACY GLOBAL". Used by tests/integration/test_python_rng.py."""

import os

import numpy as np

gen = np.random.default_rng(42)
gen.random()
legacy = np.random.RandomState(7)

r, w = os.pipe()
pid = os.fork()  # FORK-LINE
if pid == 0:
    os.close(r)
    os.write(w, ("%r %r %r" % (gen.random(), legacy.random_sample(), np.random.random())).encode())
    os._exit(0)
os.close(w)
line = b""
while True:
    chunk = os.read(r, 256)
    if not chunk:
        break
    line += chunk
os.waitpid(pid, 0)
print("child", line.decode())
