"""The hang forkaudit exists for: the main thread holds a threading.Lock when it starts a
fork()ed multiprocessing.Process, then releases it. The child inherited the lock locked
and its own copy of the lock is never released: the child's `with lock:` blocks forever.

Under forkaudit with FORKAUDIT_OPTIONS=on_child_deadlock=abort the child is stopped with
a child-deadlock report the moment it tries; without the auditor this script gives up on
the child after 5 seconds and kills it."""
import multiprocessing as mp
import threading

lock = threading.Lock()


def child():
    with lock:
        print("child: got the lock")


def main():
    lock.acquire()
    p = mp.get_context("fork").Process(target=child)
    p.start()
    lock.release()
    p.join(timeout=5)
    if p.is_alive():
        print("child still blocked after 5 s: killing it")
        p.kill()
        p.join()
    print("child exit code:", p.exitcode)


if __name__ == "__main__":
    main()
