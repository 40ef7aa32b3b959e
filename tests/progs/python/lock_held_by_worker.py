"""A worker thread named "stats-updater" holds the module-level `lock` (inside `with lock:`)
while the main thread, after printing the worker's tid, calls os.fork(). The worker blocks
in os.read() on a pipe until the parent writes to it after the fork; the child exits at
once. Before forking, the main thread waits (kernel state, no sleep) until the worker is
blocked in that read: the worker's write to holding_w returns before its Python frame
reaches the read (it may still wait for the GIL), so the pipe alone does not say where
its stack is at the fork. Used by tests/integration/test_python_reports.py."""

import os
import platform
import threading

READ_SYSCALL = {"x86_64": 0, "aarch64": 63}[platform.machine()]

lock = threading.Lock()
holding_r, holding_w = os.pipe()
release_r, release_w = os.pipe()


def update_stats():
    with lock:  # TAKE-LINE: where the worker took the lock
        os.write(holding_w, b"h")
        os.read(release_r, 1)  # WAIT-LINE: the worker's line at the fork


def wait_until_blocked_in_read(tid, fd):
    """Returns once thread TID is in the read(FD) system call (/proc's syscall file)."""
    expected = "%d %#x " % (READ_SYSCALL, fd)
    while True:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            if f.read().startswith(expected):
                return


def fork_while_held():
    pid = os.fork()  # FORK-LINE: the main thread's line at the fork
    if pid == 0:
        os._exit(0)
    os.write(release_w, b"r")
    os.waitpid(pid, 0)


worker = threading.Thread(target=update_stats, name="stats-updater")
worker.start()
os.read(holding_r, 1)
wait_until_blocked_in_read(worker.native_id, release_r)
print(worker.native_id, flush=True)  # the holder's tid, for the test
fork_while_held()
worker.join()
