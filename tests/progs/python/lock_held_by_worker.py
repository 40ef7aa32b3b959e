"""A worker thread named "stats-updater" holds the module-level `lock` (inside `with lock:`)
while the main thread, after printing the worker's tid, calls os.fork(). The worker blocks
in os.read() on a pipe until the parent writes to it after the fork; the child exits at
once. Used by tests/integration/test_python_reports.py."""

import os
import threading

lock = threading.Lock()
holding_r, holding_w = os.pipe()
release_r, release_w = os.pipe()


def update_stats():
    with lock:
        os.write(holding_w, b"h")
        os.read(release_r, 1)  # WAIT-LINE: the worker's line at the fork


def fork_while_held():
    pid = os.fork()  # FORK-LINE: the main thread's line at the fork
    if pid == 0:
        os._exit(0)
    os.write(release_w, b"r")
    os.waitpid(pid, 0)


worker = threading.Thread(target=update_stats, name="stats-updater")
worker.start()
os.read(holding_r, 1)
print(worker.native_id, flush=True)  # the holder's tid, for the test
fork_while_held()
worker.join()
