#!/usr/bin/env python3
"""workloads.py: the real-program half of `make bench` (bench/compare.c is the other).

Runs each workload plain and audited (and, where the start-up cost of every exec'd child
matters, with an empty preloaded library and with an empty library linked against
libunwind), in interleaved rounds, and prints the medians, the overhead ratios against
the targets of issue 6 and the peak memory of each run. A report, not a test: it exits 0
when a target is missed, 1 only when a workload fails to run.

Usage: workloads.py BUILD_DIR
  BUILD_DIR holds libforkaudit.so and bench/{workload,empty.so,empty-unwind.so}.
Env: BENCH_ROUNDS (default 5) rounds; BENCH_ONLY=name,... runs only those workloads
  (mutex-private, mutex-shared, shell, python, redis).

Peak memory is the "Maximum resident set size" of /usr/bin/time (Debian package time):
the largest resident size of the program or of any descendant it waited for. time runs
the program through env, which sets the preload, so that neither time nor this script is
audited (and the script's own size is not counted: the kernel keeps a peak across exec).
For bash and Python the CPU time of the whole tree (user + system, from time) is shown
beside the wall-clock time: on a machine that other work loads it varies less. Both
include time and env themselves, alike in every configuration.
"""
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "5") or 5))
MEMORY_TARGET_KIB = 4 * 1024

SHELL_SCRIPT = "for i in $(seq 1000); do /bin/true; done"
# chunksize=1: 5,000 tasks, each its own round trip through the pool's pipes and locks.
PYTHON_SCRIPT = """
import multiprocessing as mp
def square(x):
    return x * x
if __name__ == "__main__":
    with mp.get_context("fork").Pool(4) as pool:
        assert sum(pool.map(square, range(5000), chunksize=1)) == sum(x * x for x in range(5000))
"""
REDIS_KEYS = 100000


class Config:
    """One way to run a program: which library is preloaded, and whether it audits."""

    def __init__(self, name, preload=None, audited=False):
        self.name, self.preload, self.audited = name, preload, audited

    def command(self, argv, log_dir):
        """argv run in this configuration, under /usr/bin/time when it is installed."""
        settings = ["LD_PRELOAD=" + (self.preload or "")]
        if self.audited:
            settings.append("FORKAUDIT_OPTIONS=format=json:log_path=%s/log.%%p" % log_dir)
        # time prints on stderr: with -o its file would stay open in the program, and the
        # auditor would rightly report it at every fork and exec.
        timed = [TIME, "-f", "%M %U %S"] if TIME else []
        return timed + ["/usr/bin/env", "-u", "FORKAUDIT_OPTIONS"] + settings + argv


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


class Failure(Exception):
    pass


class Run:
    """One run of a program in one configuration: the command, and its peak RSS and CPU
    time from the last line time prints on stderr."""

    def __init__(self, config, log_dir, argv):
        self.argv = config.command(argv, log_dir)
        self.name = argv[0]

    @staticmethod
    def usage(stderr):
        """(peak RSS in KiB, user + system CPU seconds of the whole tree); zeros without
        /usr/bin/time."""
        lines = stderr.decode(errors="replace").strip().splitlines()
        fields = lines[-1].split() if TIME and lines else []
        try:
            return int(fields[0]), float(fields[1]) + float(fields[2])
        except (IndexError, ValueError):
            return 0, 0.0

    def check(self, status, stderr):
        if status != 0:
            raise Failure("%s exited with %s: %s" % (self.name, status, stderr.decode(errors="replace")[-300:]))


def run(config, log_dir, argv):
    """Runs argv to its end in `config`; returns (seconds, peak RSS in KiB, CPU seconds,
    stdout)."""
    r = Run(config, log_dir, argv)
    start = time.perf_counter()
    proc = subprocess.run(r.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    r.check(proc.returncode, proc.stderr)
    rss, cpu = r.usage(proc.stderr)
    return seconds, rss, cpu, proc.stdout.decode(errors="replace")


# --- the workloads: each returns {metric: value} and the peak RSS of one run ---------------

def mutex_workload(mode):
    def measure(build, config, log_dir):
        _, rss, _, out = run(config, log_dir, [os.path.join(build, "bench", "workload"), mode])
        return {"ns/pair": float(out)}, rss
    return measure


def shell_workload(build, config, log_dir):
    seconds, rss, cpu, _ = run(config, log_dir, [shutil.which("bash"), "-c", SHELL_SCRIPT])
    return {"ms": seconds * 1e3, "cpu ms": cpu * 1e3}, rss


def python_workload(build, config, log_dir):
    seconds, rss, cpu, _ = run(config, log_dir, [sys.executable, "-c", PYTHON_SCRIPT])
    return {"ms": seconds * 1e3, "cpu ms": cpu * 1e3}, rss


class Redis:
    """A minimal RESP client: enough for the commands below."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        msg = "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)
        self.sock.sendall(msg.encode())
        line = self.file.readline().decode().rstrip("\r\n")
        if line.startswith("-"):
            raise Failure("redis: %s -> %s" % (" ".join(args), line))
        if line.startswith("$"):
            n = int(line[1:])
            return None if n < 0 else self.file.read(n + 2)[:-2].decode()
        return line[1:]

    def close(self):
        self.file.close()
        self.sock.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_workload(build, config, log_dir):
    with tempfile.TemporaryDirectory(prefix="forkaudit-bench-redis.") as work:
        port = free_port()
        r = Run(config, log_dir, [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", work,
                                  "--enable-debug-command", "local", "--logfile", ""])
        # A session of its own: on failure, time, env and the server are killed together.
        server = subprocess.Popen(r.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            client = connect_redis(port, server)
            out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-n", "100000",
                                  "-t", "set,get"], capture_output=True, text=True, check=True).stdout
            rates = dict(re.findall(r"(SET|GET): ([0-9.]+) requests per second", out))
            if set(rates) != {"SET", "GET"}:
                raise Failure("redis-benchmark printed no rates: %r" % out[-200:])
            client.call("FLUSHALL")
            client.call("DEBUG", "POPULATE", str(REDIS_KEYS))
            # The child writes a temporary file and renames it to dump.rdb when it is done:
            # the rename is the end of the save, whenever the server's cron notices it.
            dump = os.path.join(work, "dump.rdb")
            start = time.perf_counter()
            client.call("BGSAVE")
            while not os.path.exists(dump):
                time.sleep(0.0005)
            bgsave_ms = (time.perf_counter() - start) * 1e3
            while "rdb_bgsave_in_progress:0" not in client.call("INFO", "persistence"):
                time.sleep(0.001)
            try:
                client.call("SHUTDOWN", "NOSAVE")
            except (OSError, Failure):
                pass
            client.close()
        except BaseException:
            os.killpg(server.pid, 9)
            server.communicate()
            raise
        stderr = server.communicate()[1]
        r.check(server.returncode, stderr)
    return ({"SET req/s": float(rates["SET"]), "GET req/s": float(rates["GET"]), "BGSAVE ms": bgsave_ms},
            r.usage(stderr)[0])


def connect_redis(port, server):
    for _ in range(500):
        if server.poll() is not None:
            raise Failure("redis-server exited at start")
        try:
            client = Redis(port)
            client.call("PING")
            return client
        except (OSError, Failure):
            time.sleep(0.01)
    raise Failure("redis-server did not answer on port %d" % port)


# --- the table ---------------------------------------------------------------------------

class Workload:
    def __init__(self, name, measure, configs, targets, needs=()):
        self.name, self.measure, self.configs, self.needs = name, measure, configs, needs
        # targets: {metric: (base config, limit)}: audited/base must stay at most limit.
        self.targets = targets


def slowdown(metric, audited, base):
    """How much slower the audited run is: a time ratio, or the inverse of a rate ratio."""
    return base / audited if metric.endswith("/s") else audited / base


def report(workload, samples, rss, records):
    names = [c.name for c in workload.configs]
    for metric in samples[names[0]][0]:
        med = {n: statistics.median(s[metric] for s in samples[n]) for n in names}
        cells = " ".join("%10.1f" % med[n] if n in med else "%10s" % "-" for n in ALL_CONFIGS)
        vs_empty = "%.3f" % slowdown(metric, med["audited"], med["empty"]) if "empty" in med else "-"
        target = ""
        if metric in workload.targets:
            base, limit = workload.targets[metric]
            ratio = slowdown(metric, med["audited"], med[base])
            target = "<=%.2f %-6s %s" % (limit, base, "ok" if ratio <= limit else "MISSED")
        print("%-26s %s %7.3f %7s  %s" % ("%s (%s)" % (workload.name, metric), cells,
                                          slowdown(metric, med["audited"], med["plain"]), vs_empty, target))
        if "unwind" in med:
            print("%-26s unwind/plain %.3f, empty/plain %.3f" % ("", slowdown(metric, med["unwind"], med["plain"]),
                                                                 slowdown(metric, med["empty"], med["plain"])))
        sys.stdout.flush()
    med_rss = {n: statistics.median(rss[n]) for n in names}
    MEMORY.append((workload.name, med_rss, records))


ALL_CONFIGS = ["plain", "empty", "unwind", "audited"]
MEMORY = []


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: workloads.py BUILD_DIR")
    build = os.path.abspath(sys.argv[1])
    lib = os.path.join(build, "libforkaudit.so")
    plain, audited = Config("plain"), Config("audited", lib, audited=True)
    empty = Config("empty", os.path.join(build, "bench", "empty.so"))
    unwind = Config("unwind", os.path.join(build, "bench", "empty-unwind.so"))
    workloads = [
        Workload("mutex-private", mutex_workload("mutex-private"), [plain, audited], {"ns/pair": ("plain", 1.3)}),
        Workload("mutex-shared", mutex_workload("mutex-shared"), [plain, audited], {"ns/pair": ("plain", 1.1)}),
        Workload("shell", shell_workload, [plain, empty, unwind, audited], {"ms": ("empty", 1.05)}, ["bash", "seq"]),
        Workload("python", python_workload, [plain, audited], {"ms": ("plain", 1.05)}),
        Workload("redis", redis_workload, [plain, audited],
                 {"SET req/s": ("plain", 1.05), "GET req/s": ("plain", 1.05), "BGSAVE ms": ("plain", 1.05)},
                 ["redis-server", "redis-benchmark"]),
    ]
    only = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
    print("real workloads: median of %d interleaved rounds; audited/plain and audited/empty are slowdowns "
          "(time ratios; rates inverted)" % ROUNDS)
    print("%-26s %s %7s %7s  target" % ("workload (metric)", " ".join("%10s" % c for c in ALL_CONFIGS),
                                        "aud/pln", "aud/emp"), flush=True)
    log_dir = tempfile.mkdtemp(prefix="forkaudit-bench-logs.")
    started = time.perf_counter()
    try:
        for w in workloads:
            if only and w.name not in only:
                continue
            missing = [p for p in w.needs if not shutil.which(p)]
            if missing:
                print("%-26s skipped: %s not found" % (w.name, ", ".join(missing)), flush=True)
                continue
            samples = {c.name: [] for c in w.configs}
            rss = {c.name: [] for c in w.configs}
            for _ in range(ROUNDS):
                for c in w.configs:
                    values, peak = w.measure(build, c, log_dir)
                    samples[c.name].append(values)
                    rss[c.name].append(peak)
            report(w, samples, rss, count_records(log_dir) / ROUNDS)
    except Failure as e:
        print("workloads: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)

    if not TIME:
        print("peak memory: not measured, /usr/bin/time is not installed (Debian package time)")
        return 0
    print("\npeak memory (/usr/bin/time's maximum resident set size, MiB; median):  audited-plain target +%d MiB"
          % (MEMORY_TARGET_KIB // 1024))
    print("%-14s %s %9s  result   records/audited run" % ("workload", " ".join("%8s" % c for c in ALL_CONFIGS),
                                                           "aud-pln"))
    for name, med, records in MEMORY:
        cells = " ".join("%8.1f" % (med[c] / 1024) if c in med else "%8s" % "-" for c in ALL_CONFIGS)
        delta = med["audited"] - med["plain"]
        print("%-14s %s %+9.2f  %-7s  %.0f" % (name, cells, delta / 1024,
                                              "ok" if delta <= MEMORY_TARGET_KIB else "MISSED", records))
    print("(workloads took %.0f s)" % (time.perf_counter() - started))
    return 0


def count_records(log_dir):
    """Lines the audited runs logged since the last call (the logs are then removed)."""
    lines = 0
    for name in os.listdir(log_dir):
        path = os.path.join(log_dir, name)
        with open(path, "rb") as f:
            lines += f.read().count(b"\n")
        os.unlink(path)
    return lines


if __name__ == "__main__":
    sys.exit(main())
