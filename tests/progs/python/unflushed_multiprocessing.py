"""print() into a pipe, then a multiprocessing Process with the fork start method: its
Popen flushes sys.stdout and sys.stderr before os.fork(), so the line comes out once and
nothing is pending at the fork. Used by tests/integration/test_python_stdio.py."""

import multiprocessing
import sys


def child():
    print("printed by the child")


if __name__ == "__main__":
    print("printed before the Process")
    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join()
    sys.exit(process.exitcode)
