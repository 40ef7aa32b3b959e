#!/usr/bin/env python3
"""Tests of what the library reports in a CPython process (/usr/bin/python3) at os.fork().

Usage: python3 tests/integration/test_python_reports.py [BUILD_DIR]   (default: build)

Runs the programs of tests/progs/python/ under LD_PRELOAD with format=json and parses the
records. Checks that:
  - a threading.Lock held by a named worker at the fork is exactly one lock-held-at-fork
    error naming the lock (__main__.lock), its holder (tid and threading name), the
    holder's Python stack (program file, line, function) and the forking thread's;
  - the lock's Python acquisition site (python_acquired_at: the `with lock:` line, the
    `lock.acquire()` line of examples/python/child_deadlock.py);
  - logging's locks and an idle thread's _tstate_lock, which CPython repairs in the child,
    are not reported, and the fork note counts them in locks_protected_by_atfork;
  - a plain multiprocessing.Pool.map reports nothing: its pipes are counted in the fork
    note's fds_python_runtime, not listed;
  - a socket, a file and a pipe the program opened itself are listed with their Python
    opening site (program file, line, function) and a rule naming that line;
  - examples/python/seeded_rng.py: numpy's seeded global generator is rng-at-fork at every
    fork with the value every worker then drew, a Python stack cut by stack_depth still
    ends at the program's own line, and a Pool's own threads are counted
    (threads_python_runtime), not a threads-at-fork warning;
  - a C program's records have no "python_stack".
Lines are found from the "# WAIT-LINE" / "# FORK-LINE" markers in the programs. Needs
`make tests` first. Prints cmocka-style lines so that tests/run-tests.sh counts these
tests; nothing sleeps (the programs synchronise with pipes), every run has a deadline.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import cmocka_style  # noqa: E402
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
LIBRARY = os.path.join(BUILD, "libforkaudit.so")
PYTHON = "/usr/bin/python3"  # Debian's CPython, the one the library knows (not a shim)
PROGS = os.path.join(ROOT, "tests", "progs", "python")
DEADLINE = 60  # seconds for one program run


def program(name):
    """Absolute path of tests/progs/python/NAME.py."""
    return os.path.join(PROGS, name + ".py")


def marked_line(path, marker):
    """Number (1-based) of the only line of PATH holding the comment '# MARKER'."""
    with open(path) as f:
        lines = [n for n, text in enumerate(f, 1) if "# " + marker in text]
    assert len(lines) == 1, "%s: %d lines marked %s" % (path, len(lines), marker)
    return lines[0]


class Run:
    """One audited run: pid (of the program), out (its stdout), records (every JSON
    record of every process of the run, in file order)."""

    def __init__(self, pid, out, records):
        self.pid, self.out, self.records = pid, out, records

    def of_parent(self, kind):
        """The records of KIND written by the program's own process."""
        return [r for r in self.records if r["kind"] == kind and r["pid"] == self.pid]


def audited_run(argv, extra_options=""):
    """Runs ARGV with the library preloaded (format=json, verbosity=1), fails unless it
    exits 0 within the deadline, and returns its Run."""
    tmp = tempfile.mkdtemp(prefix="forkaudit-python-test.")
    try:
        options = "format=json:verbosity=1:log_path=%s%s" % (os.path.join(tmp, "log"), extra_options)
        env = dict(os.environ, LD_PRELOAD=LIBRARY, FORKAUDIT_OPTIONS=options)
        p = subprocess.Popen(argv + [os.path.join(tmp, "program.out")], env=env, cwd=tmp,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True)
        try:
            out, err = p.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise AssertionError("%s did not finish in %d s; stderr:\n%s" % (argv, DEADLINE, err))
        if p.returncode != 0:
            raise AssertionError("%s exited %d; stderr:\n%s" % (argv, p.returncode, err))
        records = []
        for name in sorted(os.listdir(tmp)):
            if name.startswith("log."):
                with open(os.path.join(tmp, name)) as f:
                    records += [json.loads(line) for line in f if line.strip()]
        return Run(p.pid, out, records)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def python_run(name):
    """audited_run of tests/progs/python/NAME.py under /usr/bin/python3."""
    return audited_run([PYTHON, program(name)])


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class LockHeldByWorker(unittest.TestCase):
    """lock_held_by_worker.py: "stats-updater" holds __main__.lock at the main thread's
    os.fork() in fork_while_held()."""

    @classmethod
    def setUpClass(cls):
        cls.path = program("lock_held_by_worker")
        cls.audit = python_run("lock_held_by_worker")
        cls.holder_tid = int(cls.audit.out.split()[0])
        cls.locks = cls.audit.of_parent("lock-held-at-fork")

    def the_record(self):
        self.assertEqual(len(self.locks), 1, json.dumps(self.locks, indent=1))
        return self.locks[0]

    def test_exactly_one_error_for_the_threading_lock(self):
        record = self.the_record()
        self.assertEqual(record["severity"], "error")
        self.assertEqual(record["tid"], self.audit.pid)
        self.assertEqual(record["lock"]["python"], {"kind": "threading.Lock", "name": "__main__.lock"})
        self.assertEqual(record["suppression"], "lock-held-at-fork:__main__.lock")

    def test_the_holder_is_the_named_worker(self):
        lock = self.the_record()["lock"]
        self.assertEqual(lock["holder_tid"], self.holder_tid)
        self.assertNotEqual(lock["holder_tid"], self.audit.pid)
        self.assertEqual(lock["holder_name"], "stats-updater")
        self.assertFalse(lock["holder_is_forking_thread"])

    def test_the_holder_stack_starts_at_the_wait_in_the_with_block(self):
        frames = self.the_record()["lock"]["holder_python_stack_at_fork"]
        self.assertEqual(frames[0], {"file": self.path, "line": marked_line(self.path, "WAIT-LINE"),
                                     "function": "update_stats", "own": True})
        self.assertEqual([f["function"] for f in frames[1:]], ["run", "_bootstrap_inner", "_bootstrap"])
        self.assertTrue(all(f["file"].endswith("/threading.py") and not f["own"] for f in frames[1:]))

    def test_the_lock_is_placed_where_the_worker_took_it(self):
        frames = self.the_record()["lock"]["python_acquired_at"]
        self.assertEqual(frames[0], {"file": self.path, "line": marked_line(self.path, "TAKE-LINE"),
                                     "function": "update_stats", "own": True})
        self.assertEqual([f["function"] for f in frames[1:]], ["run", "_bootstrap_inner"])

    def test_the_forking_stack_starts_at_os_fork(self):
        frames = self.the_record()["python_stack"]
        self.assertEqual(frames[0], {"file": self.path, "line": marked_line(self.path, "FORK-LINE"),
                                     "function": "fork_while_held", "own": True})
        self.assertEqual(len(frames), 2)
        self.assertEqual((frames[1]["file"], frames[1]["function"]), (self.path, "<module>"))

    def test_every_fork_time_record_has_the_forking_stack(self):
        kinds = {"lock-held-at-fork", "threads-at-fork", "fds-at-fork", "fork"}
        records = [r for r in self.audit.records if r["pid"] == self.audit.pid and r["kind"] in kinds]
        self.assertEqual({r["kind"] for r in records}, kinds)
        for record in records:
            self.assertEqual(record["python_stack"], self.the_record()["python_stack"], record["kind"])


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class LocksCPythonRepairs(unittest.TestCase):
    """Locks CPython reinitialises in the child are not reported, only counted."""

    def assert_no_lock_reported(self, audit):
        self.assertEqual(len(audit.of_parent("fork")), 1)
        self.assertEqual([r for r in audit.records if r["kind"] == "lock-held-at-fork"], [],
                         "a lock CPython repairs was reported")
        self.assertEqual(audit.of_parent("fork")[0]["locks_held"], 0)

    def test_logging_from_two_threads_reports_no_lock(self):
        audit = python_run("logging_only")
        self.assert_no_lock_reported(audit)
        self.assertGreaterEqual(audit.of_parent("fork")[0]["locks_protected_by_atfork"], 1)

    def test_an_idle_threads_state_lock_is_counted_not_reported(self):
        audit = python_run("idle_thread_fork")
        self.assert_no_lock_reported(audit)
        self.assertGreaterEqual(audit.of_parent("fork")[0]["locks_protected_by_atfork"], 1)
        self.assertEqual(len(audit.of_parent("threads-at-fork")), 1, "the idle thread was not seen")


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class MultiprocessingsOwnDescriptors(unittest.TestCase):
    """multiprocessing's pipes and queues are its own; what the program opened is listed,
    with where in Python it was opened."""

    def test_a_plain_pool_map_reports_nothing(self):
        audit = python_run("pool_map")
        notes = audit.of_parent("fork")
        self.assertGreaterEqual(len(notes), 2, "the pool's forks were not audited")
        findings = [r for r in audit.records if r["kind"] != "fork"]
        self.assertEqual(findings, [], json.dumps(findings, indent=1)[:4000])
        for note in notes:
            self.assertGreaterEqual(note["fds_python_runtime"], 6, note)
            self.assertEqual(note["fds"], 0, note)

    def test_the_programs_own_descriptors_carry_their_python_opening_site(self):
        path = program("own_descriptors")
        audit = python_run("own_descriptors")
        server_fd, file_fd, read_fd, write_fd = (int(x) for x in audit.out.split()[1:5])
        records = audit.of_parent("fds-at-fork")
        self.assertGreaterEqual(len(records), 2, "one record per pool worker fork")
        expected = {
            server_fd: ("OPEN-SOCKET", "open_socket", "socket.py", "__init__"),
            file_fd: ("OPEN-FILE", "<module>", None, None),
            read_fd: ("OPEN-PIPE", "<module>", None, None),
            write_fd: ("OPEN-PIPE", "<module>", None, None),
        }
        for record in records:
            fds = {f["fd"]: f for f in record["fds"]}
            self.assertEqual(set(fds), set(expected), "only the program's own descriptors are listed")
            self.assertGreaterEqual(audit.of_parent("fork")[0]["fds_python_runtime"], 6)
            for fd, (marker, function, stdlib_file, stdlib_function) in expected.items():
                frames = fds[fd]["python_opened_at"]
                own = {"file": path, "line": marked_line(path, marker), "function": function, "own": True}
                if stdlib_file:  # socket.socket(): the standard library's frame, then the program's
                    self.assertTrue(frames[0]["file"].endswith("/" + stdlib_file), frames)
                    self.assertEqual((frames[0]["function"], frames[0]["own"]), (stdlib_function, False))
                    self.assertEqual(frames[1], own)
                else:
                    self.assertEqual(frames[0], own)
            self.assertEqual(fds[server_fd]["suppression"],
                             "fds-at-fork:own_descriptors.py:%d" % marked_line(path, "OPEN-SOCKET"))
            self.assertEqual(fds[read_fd]["suppression"],
                             "fds-at-fork:own_descriptors.py:%d" % marked_line(path, "OPEN-PIPE"))
            if fds[file_fd]["target"].startswith("/tmp/"):  # a temporary file: its line, not the interpreter's frame
                self.assertEqual(fds[file_fd]["suppression"],
                                 "fds-at-fork:own_descriptors.py:%d" % marked_line(path, "OPEN-FILE"))

    def test_the_suggested_rule_silences_its_descriptor_only(self):
        path = program("own_descriptors")
        tmp = tempfile.mkdtemp(prefix="forkaudit-python-supp.")
        try:
            rules = os.path.join(tmp, "rules")
            with open(rules, "w") as f:
                f.write("fds-at-fork:own_descriptors.py:%d\n" % marked_line(path, "OPEN-SOCKET"))
            audit = audited_run([PYTHON, path], ":suppressions=" + rules)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        server_fd = int(audit.out.split()[1])
        records = audit.of_parent("fds-at-fork")
        self.assertTrue(records)
        for record in records:
            listed = [f["fd"] for f in record["fds"]]
            self.assertNotIn(server_fd, listed)
            self.assertEqual(len(listed), 3, listed)


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class TheLessonsExamples(unittest.TestCase):
    """examples/python: the classic lesson's cases (class_attribute, shared_file)."""

    def example(self, name):
        return os.path.join(ROOT, "examples", "python", name + ".py")

    def test_a_class_attribute_changed_before_the_fork_is_no_finding(self):
        audit = audited_run([PYTHON, self.example("class_attribute")])
        self.assertIn("the child saw Config.mode = changed", audit.out)
        self.assertTrue(audit.of_parent("fork"), "the fork was not audited")
        findings = [r for r in audit.records if r["kind"] != "fork"]
        self.assertEqual(findings, [], json.dumps(findings, indent=1)[:4000])

    def test_the_held_lock_is_placed_at_its_acquire_and_the_child_deadlock_caught(self):
        path = self.example("child_deadlock")
        audit = audited_run([PYTHON, path], ":on_child_deadlock=abort")
        self.assertIn("child exit code: -6", audit.out)
        records = audit.of_parent("lock-held-at-fork")
        self.assertEqual(len(records), 1, json.dumps(records, indent=1)[:3000])
        lock = records[0]["lock"]
        self.assertEqual(lock["python"], {"kind": "threading.Lock", "name": "__main__.lock"})
        self.assertTrue(lock["holder_is_forking_thread"])
        with open(path) as f:
            line = [n for n, text in enumerate(f, 1) if "lock.acquire()" in text][0]
        self.assertEqual(lock["python_acquired_at"][0], {"file": path, "line": line, "function": "main", "own": True})
        deadlocks = [r for r in audit.records if r["kind"] == "child-deadlock"]
        self.assertEqual(len(deadlocks), 1)
        self.assertEqual(deadlocks[0]["python_stack"][0]["function"], "child")
        self.assertEqual(deadlocks[0]["lock"]["python_acquired_at"], {"file": path, "line": line, "function": "main"})

    def test_the_shared_file_is_reported_where_python_opened_it(self):
        path = self.example("shared_file")
        tmp = tempfile.mkdtemp(prefix="forkaudit-shared-file.")
        try:
            audit = audited_run([PYTHON, path, tmp])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        records = audit.of_parent("fds-at-fork")
        self.assertEqual(len(records), 1)
        fds = records[0]["fds"]
        self.assertEqual(len(fds), 1, fds)
        self.assertTrue(fds[0]["target"].endswith("/shared.log"))
        self.assertEqual(fds[0]["offset"], len("parent header\n"))
        with open(path) as f:
            line = [n for n, text in enumerate(f, 1) if 'open(path, "w")' in text][0]
        self.assertEqual(fds[0]["python_opened_at"][0], {"file": path, "line": line, "function": "main", "own": True})


def has_numpy():
    return subprocess.run([PYTHON, "-c", "import numpy"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


@unittest.skipUnless(os.access(PYTHON, os.X_OK) and has_numpy(), "numpy for " + PYTHON + " is not installed")
class TheLessonsSeededGenerator(unittest.TestCase):
    """examples/python/seeded_rng.py: np.random.seed(42) once, then a fork Pool (2 workers,
    maxtasksperchild=1, so the pool's worker-handler thread forks replacements while the
    pool's other threads run) whose workers each draw np.random.random()."""

    @classmethod
    def setUpClass(cls):
        cls.path = os.path.join(ROOT, "examples", "python", "seeded_rng.py")
        cls.audit = audited_run([PYTHON, cls.path], ":stack_depth=6")
        cls.noise = [line.split()[-1] for line in cls.audit.out.splitlines() if line.startswith("sample ")]
        cls.rngs = cls.audit.of_parent("rng-at-fork")

    def test_every_fork_reports_numpys_global_generator_with_the_next_value(self):
        forks = self.audit.of_parent("fork")
        self.assertGreaterEqual(len(forks), 4)
        self.assertEqual(len(self.rngs), len(forks), json.dumps(self.rngs, indent=1)[:3000])
        for r in self.rngs:
            rng = r["rng"]
            self.assertEqual((rng["family"], rng["name"], rng["seed"]), ("numpy.random", "numpy.random.mtrand._rand", 42))
            self.assertEqual(r["suppression"], "rng-at-fork:numpy.random.mtrand._rand")

    def test_the_reported_next_value_is_what_every_worker_drew(self):
        self.assertEqual(len(self.noise), 4, self.audit.out)
        predicted = {"%.6f" % r["rng"]["next"]["random"] for r in self.rngs}
        self.assertEqual(predicted, set(self.noise))
        self.assertEqual(len(set(self.noise)), 1, "the workers drew different numbers: " + self.audit.out)

    def test_a_cut_python_stack_still_reaches_the_programs_line(self):
        with open(self.path) as f:
            line = [n for n, text in enumerate(f, 1) if ".Pool(2" in text][0]
        first = self.rngs[0]["python_stack"]  # made by the main thread: Pool() starts the workers
        self.assertGreater(len(first), 6, "stack_depth=6 cut before the program's frame")
        self.assertEqual(first[-1], {"file": self.path, "line": line, "function": "main", "own": True})
        self.assertFalse(any(f["own"] for f in first[:-1]), first)

    def test_the_pools_own_threads_are_counted_not_reported(self):
        self.assertEqual(self.audit.of_parent("threads-at-fork"), [])
        counted = [r.get("threads_python_runtime", 0) for r in self.audit.of_parent("fork")]
        self.assertGreaterEqual(max(counted), 2, counted)  # the task and result handlers at least


class ChildStuckInPython(unittest.TestCase):
    """stuck_on_futex.py: the child blocks in a raw futex wait (ctypes); child_watchdog's
    child-stuck names its Python line, and the interpreter's own frames suspect no thread."""

    @classmethod
    def setUpClass(cls):
        cls.audit = audited_run([PYTHON, program("stuck_on_futex")], ":child_watchdog=1:on_child_stuck=abort")
        cls.stuck = [r for r in cls.audit.records if r["kind"] == "child-stuck"]

    def test_the_child_is_stuck_at_the_programs_line(self):
        self.assertIn("child ended by signal 6", self.audit.out)
        self.assertEqual(len(self.stuck), 1, self.audit.out)
        with open(program("stuck_on_futex")) as f:
            line = [n for n, text in enumerate(f, 1) if "STUCK-LINE" in text][0]
        frames = self.stuck[0]["python_stack"]
        self.assertEqual(frames[0], {"file": program("stuck_on_futex"), "line": line, "function": "wait_forever", "own": True})
        self.assertEqual(frames[1]["function"], "main")

    def test_the_interpreters_frames_name_no_culprit(self):
        # The parent's other thread was waiting on an Event: it shares only the evaluation
        # loop with the child's stack, which is no evidence.
        self.assertNotIn("suspect_tid", self.stuck[0])
        self.assertEqual(self.stuck[0]["suppression"], "child-stuck:" + os.path.basename(
            [f for f in self.stuck[0]["stack"] if "libffi" in f.get("module", "")][0]["module"]))


class CProgram(unittest.TestCase):
    """A program without Python: no record has a Python stack."""

    def test_no_python_stack_without_python(self):
        audit = audited_run([os.path.join(BUILD, "tests", "progs", "lock_held_by_worker")])
        self.assertTrue(audit.of_parent("lock-held-at-fork"), "no record to check")
        self.assertTrue(audit.of_parent("fork"), "no fork note to check")
        for record in audit.records:
            self.assertNotIn("python_stack", record, record["kind"])
            self.assertNotIn("holder_python_stack_at_fork", record.get("lock", {}))


if __name__ == "__main__":
    sys.exit(cmocka_style.run_module(__name__))
