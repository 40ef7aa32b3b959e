"""A parent opens a file for writing and lets a fork()ed multiprocessing.Process write to
it too. Both write through one open file description: they share the file offset, so the
parent's and the child's writes land wherever the other left it, and buffered data can be
written twice. forkaudit reports the descriptor, its path and the shared offset."""
import multiprocessing as mp
import os
import sys
import tempfile


def child_writes(f):
    f.write("child line\n")
    f.flush()


def main():
    path = os.path.join(sys.argv[1] if len(sys.argv) > 1 else tempfile.gettempdir(), "shared.log")
    with open(path, "w") as f:
        f.write("parent header\n")
        f.flush()
        ctx = mp.get_context("fork")
        p = ctx.Process(target=child_writes, args=(f,))
        p.start()
        p.join()
        f.write("parent footer\n")
    print(open(path).read(), end="")


if __name__ == "__main__":
    main()
