"""Only logging: a StreamHandler to the file argv[1], a record logged from a thread and
from the main thread, then os.fork() (the child logs once more and exits). The thread
stays alive across the fork, blocked in os.read() on a pipe. CPython repairs logging's
locks in the child, so nothing here is a lock held at the fork.
Used by tests/integration/test_python_reports.py."""

import logging
import os
import sys
import threading

handler = logging.StreamHandler(open(sys.argv[1], "w"))
logging.basicConfig(level=logging.INFO, handlers=[handler])
log = logging.getLogger("worker")
logged_r, logged_w = os.pipe()
release_r, release_w = os.pipe()


def work():
    log.info("from the worker thread")
    os.write(logged_w, b"l")
    os.read(release_r, 1)


thread = threading.Thread(target=work, name="logger-thread")
thread.start()
os.read(logged_r, 1)
log.info("from the main thread, before the fork")
pid = os.fork()
if pid == 0:
    log.info("from the child")
    handler.flush()
    os._exit(0)
os.write(release_w, b"r")
os.waitpid(pid, 0)
thread.join()
