"""No numpy and no random generator at all: one fork, the child exits at once. Prints
"numpy imported: False". Used by tests/integration/test_python_rng.py."""

import os
import sys

pid = os.fork()  # FORK-LINE
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print("numpy imported:", "numpy" in sys.modules)
