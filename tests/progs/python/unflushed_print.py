"""print() into a pipe, then os.fork(): os.fork() flushes nothing, so the line still in
sys.stdout's buffer is written by the child at its exit and again by the parent at its own.
Also open files bound to module globals, written and not flushed: `log` (text, the file
argv[-1]; a 16-byte chunk size, so that its first line has gone on into its
BufferedWriter and its second is still in the TextIOWrapper) and `blob` (binary, argv[-1]
+ ".bin": a bare BufferedWriter). Modes (argv[1]):
  pending        as above: each of the two lines comes out twice
  flushed        sys.stdout and log flushed before the fork: nothing pending, once each
  child-os-exit  as pending, but the child ends with os._exit(): nothing doubled
Used by tests/integration/test_python_stdio.py."""

import os
import sys

mode = sys.argv[1]
log = open(sys.argv[-1], "w")
log._CHUNK_SIZE = 16
blob = open(sys.argv[-1] + ".bin", "wb")


def fork_child():
    pid = os.fork()  # FORK-LINE
    if pid == 0:
        if mode == "child-os-exit":
            os._exit(0)
        sys.exit(0)  # the interpreter's exit flushes sys.stdout and log
    os.waitpid(pid, 0)


print("printed before the fork")
log.write("logged before the fork\n")
log.write("tail\n")
blob.write(b"blob\n")
if mode == "flushed":
    sys.stdout.flush()
    log.flush()
    blob.flush()
fork_child()
