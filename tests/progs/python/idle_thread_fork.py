"""A plain os.fork() while another Python thread is alive and idle (blocked in os.read()
on a pipe the parent writes to after the fork). Its _tstate_lock is held, but CPython
repairs it in the child. Used by tests/integration/test_python_reports.py."""

import os
import threading

started_r, started_w = os.pipe()
release_r, release_w = os.pipe()


def idle():
    os.write(started_w, b"s")
    os.read(release_r, 1)


thread = threading.Thread(target=idle, name="idle-thread")
thread.start()
os.read(started_r, 1)
pid = os.fork()
if pid == 0:
    os._exit(0)
os.write(release_w, b"r")
os.waitpid(pid, 0)
thread.join()
