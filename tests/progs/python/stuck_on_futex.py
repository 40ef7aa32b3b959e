"""A Python child blocked for good where no lock wrapper sees it: a raw private futex wait
made through ctypes (as a C extension's own lock would be), in a child of a parent that
had another thread. Under child_watchdog the child-stuck record carries its Python stack."""
import ctypes
import os
import sys
import threading

SYS_futex, FUTEX_WAIT_PRIVATE = 202, 128
libc = ctypes.CDLL(None, use_errno=True)
word = ctypes.c_int(0)


def wait_forever():
    libc.syscall(SYS_futex, ctypes.byref(word), FUTEX_WAIT_PRIVATE, 0, None)  # STUCK-LINE


def main():
    ready, stop = threading.Event(), threading.Event()

    def worker():
        ready.set()
        stop.wait()

    t = threading.Thread(target=worker, name="stats-updater")
    t.start()
    ready.wait()
    pid = os.fork()
    if pid == 0:
        wait_forever()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    stop.set()
    t.join()
    print("child ended by signal", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
