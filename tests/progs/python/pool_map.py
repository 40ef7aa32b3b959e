"""A plain multiprocessing.Pool(2).map with the fork start method. The pool's pipes,
queues and sentinels are multiprocessing's own, shared with its workers by design: no
finding. argv[1] (an output path) is not used.
Used by tests/integration/test_python_reports.py."""

import multiprocessing


def square(x):
    return x * x


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    with multiprocessing.Pool(2) as pool:
        print(sum(pool.map(square, range(100))))
