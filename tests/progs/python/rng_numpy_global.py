"""numpy's global generator seeded with np.random.seed(1234) and not drawn from, then two
children forked one after the other. Each child reads, without moving the generator,
its next raw 32-bit word (random_raw() between get_state() and set_state()), then draws
np.random.random(), and writes both to a pipe; after both children the parent draws
np.random.random() too. Prints "child RAW VALUE" per child, then "parent VALUE" (values
as repr). Used by tests/integration/test_python_rng.py."""

import os

import numpy as np

np.random.seed(1234)


def fork_worker():
    r, w = os.pipe()
    pid = os.fork()  # FORK-LINE: where the children are made
    if pid == 0:
        os.close(r)
        state = np.random.get_state()
        raw = np.random.mtrand._rand._bit_generator.random_raw()
        np.random.set_state(state)
        os.write(w, ("%d %r" % (raw, np.random.random())).encode())
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
fork_worker()
print("parent %r" % np.random.random())
