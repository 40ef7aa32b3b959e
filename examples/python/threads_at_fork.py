"""Three worker threads are busy when the program starts a fork()ed multiprocessing
Process. The child gets none of them: whatever they were doing is simply gone there.
forkaudit lists every thread alive at the fork and where it was created."""
import multiprocessing as mp
import threading


def worker(started, stop):
    started.release()
    stop.wait()


def child():
    print("child: threads alive here:", threading.active_count())


def main():
    started = threading.Semaphore(0)
    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(started, stop), name=f"worker-{i}") for i in range(3)]
    for t in threads:
        t.start()
    for _ in threads:
        started.acquire()
    p = mp.get_context("fork").Process(target=child)
    p.start()
    p.join()
    stop.set()
    for t in threads:
        t.join()
    print("parent: threads alive here:", threading.active_count())


if __name__ == "__main__":
    main()
