"""Descriptors the program opens itself, then a multiprocessing.Pool (fork start method)
whose own pipes are opened after them: a listening TCP socket, a file opened for writing
(argv[1], else a temporary file removed at the end) and a pipe. At the pool's forks the program's three are findings, each with its
Python opening site (the OPEN-* markers); the pool's own pipes are not.
Used by tests/integration/test_python_reports.py."""

import multiprocessing
import os
import socket
import sys
import tempfile


def open_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # OPEN-SOCKET
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def square(x):
    return x * x


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    server = open_socket()
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "own_descriptors.%d" % os.getpid())
    out = open(path, "w")  # OPEN-FILE
    r, w = os.pipe()  # OPEN-PIPE
    with multiprocessing.Pool(2) as pool:
        print(sum(pool.map(square, range(10))))
    print(server.fileno(), out.fileno(), r, w)
    if len(sys.argv) < 2:
        os.unlink(path)
