"""Only the random module's own functions (random.seed, random.random, random.shuffle,
randint imported by name), then one fork: CPython reseeds the module's hidden instance
in the child (os.register_at_fork), so nothing is inherited. The child writes its
random.random() to a pipe; the parent prints "child VALUE" and "parent VALUE".
Used by tests/integration/test_python_rng.py."""

import os
import random
from random import randint

random.seed(5)
random.random()
deck = list(range(10))
random.shuffle(deck)
randint(1, 6)

r, w = os.pipe()
pid = os.fork()  # FORK-LINE
if pid == 0:
    os.close(r)
    os.write(w, repr(random.random()).encode())
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
print("parent %r" % random.random())
