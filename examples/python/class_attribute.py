"""The first case of the classic lesson on the fork start method, and not a hazard: a
class attribute changed before the fork is seen by the child, because the child gets a
copy of the parent's memory. Nothing is shared after the fork: the child's change stays
in the child. forkaudit reports nothing here."""
import multiprocessing as mp


class Config:
    mode = "default"


def child(queue):
    queue.put(Config.mode)  # "changed": the child's copy of the parent's memory
    Config.mode = "changed in the child"


def main():
    Config.mode = "changed"
    mp.set_start_method("fork")
    queue = mp.SimpleQueue()
    p = mp.Process(target=child, args=(queue,))
    p.start()
    print("the child saw Config.mode =", queue.get())
    p.join()
    print("the parent still has Config.mode =", Config.mode)


if __name__ == "__main__":
    main()
