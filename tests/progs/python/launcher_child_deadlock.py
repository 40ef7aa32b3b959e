"""The main thread holds `lock` across os.fork(); the child's `with lock:` would block
forever on its copy. Run with on_child_deadlock=abort (the child is stopped with a
child-deadlock record) for tests/integration/test_launcher.py; without the library the
child would hang, so the parent gives up on it after 10 seconds and kills it."""

import os
import signal
import threading

lock = threading.Lock()


def child():
    with lock:  # CHILD-LINE: where the child blocks
        os._exit(0)


def fork_holding():
    with lock:
        pid = os.fork()  # FORK-LINE: the lock is held here
        if pid == 0:
            child()
    signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
    signal.alarm(10)
    _, status = os.waitpid(pid, 0)
    signal.alarm(0)
    print("child status", status)


fork_holding()
