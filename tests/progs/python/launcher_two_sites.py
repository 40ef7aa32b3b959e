"""Python locks held at different Python sites, for the launcher's summary and SARIF
(tests/integration/test_launcher.py): the findings must stay apart although the
interpreter's C frames of every acquisition are the same.

Fork 1: thread "holder-a" holds `lock` in hold_a() and thread "holder-b" holds `other` in
hold_b(). Fork 2: thread "holder-c" holds the same `lock` in hold_c(), at another line.
So three lock-held-at-fork findings: __main__.lock at HOLD-A, __main__.other at HOLD-B,
__main__.lock at HOLD-C. Each holder blocks in os.read() on its own pipe until the parent
writes to it after the fork; before a fork the main thread waits (kernel state, no sleep)
until every holder is in that read, so its Python line at the fork is the marked one."""

import os
import platform
import threading

READ_SYSCALL = {"x86_64": 0, "aarch64": 63}[platform.machine()]

lock = threading.Lock()
other = threading.Lock()


def wait_until_blocked_in_read(tid, fd):
    """Returns once thread TID is in the read(FD) system call (/proc's syscall file)."""
    expected = "%d %#x " % (READ_SYSCALL, fd)
    while True:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            if f.read().startswith(expected):
                return


class Holder:
    """A named thread that runs `body(release_fd)` once started; `body` takes its lock,
    writes to `holding` and reads one byte from release_fd."""

    def __init__(self, name, body):
        self.holding_r, self.holding_w = os.pipe()
        self.release_r, self.release_w = os.pipe()
        self.thread = threading.Thread(target=body, args=(self,), name=name)

    def start(self):
        self.thread.start()
        os.read(self.holding_r, 1)
        wait_until_blocked_in_read(self.thread.native_id, self.release_r)

    def finish(self):
        os.write(self.release_w, b"r")
        self.thread.join()


def hold_a(h):
    with lock:
        os.write(h.holding_w, b"h")
        os.read(h.release_r, 1)  # HOLD-A


def hold_b(h):
    with other:
        os.write(h.holding_w, b"h")
        os.read(h.release_r, 1)  # HOLD-B


def hold_c(h):
    with lock:
        os.write(h.holding_w, b"h")
        os.read(h.release_r, 1)  # HOLD-C


def fork_and_reap():
    pid = os.fork()  # FORK-LINE
    if pid == 0:
        os._exit(0)
    return pid


def fork_with(*holders):
    for h in holders:
        h.start()
    pid = fork_and_reap()
    for h in holders:
        h.finish()
    os.waitpid(pid, 0)


fork_with(Holder("holder-a", hold_a), Holder("holder-b", hold_b))
fork_with(Holder("holder-c", hold_c))
