"""The fourth case of the classic lesson: a generator seeded once in the parent is copied
into every fork()ed worker. Like PyTorch's DataLoader workers before it reseeded numpy,
each worker of this Pool "augments" its sample with np.random and every worker draws the
same numbers: the augmentations are not random across workers at all. forkaudit reports
the generator at the fork (rng-at-fork), with the value every child will draw next.

Without numpy the same happens with a random.Random instance of the program's own; the
global `random` module is reseeded by CPython in every child and is not a hazard."""
import multiprocessing as mp
import os

try:
    import numpy as np

    np.random.seed(42)  # once, at start-up, "for reproducibility"

    def jitter():
        return float(np.random.random())
except ImportError:
    import random

    rng = random.Random(42)

    def jitter():
        return rng.random()


def augment(sample):
    return sample, os.getpid(), round(jitter(), 6)


def main():
    with mp.get_context("fork").Pool(2, maxtasksperchild=1) as pool:
        for sample, pid, noise in pool.map(augment, range(4), chunksize=1):
            print("sample %d (worker %d): noise %.6f" % (sample, pid, noise))


if __name__ == "__main__":
    main()
