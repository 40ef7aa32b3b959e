#!/usr/bin/env python3
"""Tests of stdio-unflushed-at-fork for Python's own streams (/usr/bin/python3).

Usage: python3 tests/integration/test_python_stdio.py [BUILD_DIR]   (default: build)

Runs tests/progs/python/unflushed_*.py under LD_PRELOAD with format=json and parses the
records. Checks that:
  - a line print()ed into a pipe and not flushed at os.fork() is one record naming
    sys.stdout, with its exact byte count, the pipe, and the Python fork site (file, line,
    function); and that the finding is true: the program's stdout holds the line twice;
  - file objects bound to module globals with output pending are records named
    __main__.log (text: bytes in both its TextIOWrapper and its BufferedWriter, counted
    apart and summed) and __main__.blob (binary, a bare BufferedWriter), with their paths
    and byte counts, and each file holds its text twice;
  - after sys.stdout.flush() and log.flush() there is no record, and each line comes out once;
  - a child that ends with os._exit() doubles nothing (the parent's record still says what
    was pending: it cannot know at the fork);
  - with PYTHONUNBUFFERED=1 sys.stdout holds nothing at the fork: no sys.stdout record;
  - a multiprocessing Process (fork start method), whose Popen flushes sys.stdout before
    os.fork(), gets no record, though its fork was audited.
The environment's PYTHONUNBUFFERED is removed for the runs (it would leave nothing in
sys.stdout). Needs `make` first. Prints cmocka-style lines so that tests/run-tests.sh
counts these tests; nothing sleeps (the parents wait for their children), every run has a
deadline.
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
KIND = "stdio-unflushed-at-fork"
PRINTED = "printed before the fork\n"
LOGGED = "logged before the fork\n"  # gone on into log's BufferedWriter (16-byte chunks)
TAIL = "tail\n"                      # still in log's TextIOWrapper
BLOB = "blob\n"                      # in blob, a bare BufferedWriter


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
    """One audited run: pid (of the program), out (its stdout), file and blob (what it
    wrote into FILE and FILE.bin, "" when it made none), records (every JSON record of every process, in file
    order)."""

    def __init__(self, pid, out, file, blob, records):
        self.pid, self.out, self.file, self.blob, self.records = pid, out, file, blob, records

    def of_parent(self, kind):
        """The records of KIND written by the program's own process."""
        return [r for r in self.records if r["kind"] == kind and r["pid"] == self.pid]

    def streams(self):
        """The program's stdio-unflushed-at-fork records by stream name."""
        return {r["stream"]["name"]: r for r in self.of_parent(KIND)}


def audited_run(name, args, unbuffered=False):
    """Runs tests/progs/python/NAME.py ARGS FILE under the library (format=json,
    verbosity=1) with its stdout on a pipe, fails unless it exits 0 within the deadline,
    and returns its Run."""
    tmp = tempfile.mkdtemp(prefix="forkaudit-python-stdio.")
    try:
        options = "format=json:verbosity=1:log_path=%s" % os.path.join(tmp, "log")
        env = dict(os.environ, LD_PRELOAD=LIBRARY, FORKAUDIT_OPTIONS=options)
        env.pop("PYTHONUNBUFFERED", None)
        if unbuffered:
            env["PYTHONUNBUFFERED"] = "1"
        file = os.path.join(tmp, "program.out")
        p = subprocess.Popen([PYTHON, program(name)] + args + [file], env=env, cwd=tmp,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True)
        try:
            out, err = p.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise AssertionError("%s did not finish in %d s; stderr:\n%s" % (name, DEADLINE, err))
        if p.returncode != 0:
            raise AssertionError("%s exited %d; stderr:\n%s" % (name, p.returncode, err))
        records = []
        for log in sorted(os.listdir(tmp)):
            if log.startswith("log."):
                with open(os.path.join(tmp, log)) as f:
                    records += [json.loads(line) for line in f if line.strip()]
        written = []
        for path in (file, file + ".bin"):
            with open(path) if os.path.exists(path) else open(os.devnull) as f:
                written.append(f.read())
        return Run(p.pid, out, written[0], written[1], records)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def the_fork_site():
    path = program("unflushed_print")
    return {"file": path, "line": marked_line(path, "FORK-LINE"), "function": "fork_child", "own": True}


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class PendingAtOsFork(unittest.TestCase):
    """unflushed_print.py pending: a line in sys.stdout and one in `log` at os.fork()."""

    @classmethod
    def setUpClass(cls):
        cls.audit = audited_run("unflushed_print", ["pending"])
        cls.streams = cls.audit.streams()

    def test_one_record_per_stream_with_output_pending(self):
        self.assertEqual(sorted(self.streams), ["__main__.blob", "__main__.log", "sys.stdout"],
                         json.dumps(self.audit.of_parent(KIND), indent=1))
        self.assertEqual([r for r in self.audit.records if r["kind"] == KIND and r["pid"] != self.audit.pid], [],
                         "the child reported streams")

    def test_sys_stdout_with_its_exact_byte_count(self):
        record = self.streams["sys.stdout"]
        self.assertEqual(record["severity"], "warning")
        st = record["stream"]
        self.assertEqual(st["pending_bytes"], len(PRINTED.encode()))
        self.assertEqual(st["python"]["type"], "io.TextIOWrapper")
        self.assertEqual(st["python"]["text_pending_bytes"] + st["python"]["buffered_pending_bytes"],
                         st["pending_bytes"])
        self.assertEqual((st["fd"], st["type"], st["buffering"]), (1, "pipe", "full"))
        self.assertTrue(st["target"].startswith("pipe:["), st["target"])
        self.assertEqual(record["suppression"], KIND + ":sys.stdout")

    def test_the_python_fork_site(self):
        for name, record in self.streams.items():
            self.assertEqual(record["python_stack"][0], the_fork_site(), name)
            self.assertEqual(record["python_stack"][1]["function"], "<module>", name)

    def test_a_text_file_bound_to_a_module_global_counts_both_layers(self):
        st = self.streams["__main__.log"]["stream"]
        self.assertEqual(st["python"], {"type": "io.TextIOWrapper", "text_pending_bytes": len(TAIL),
                                        "buffered_pending_bytes": len(LOGGED)})
        self.assertEqual(st["pending_bytes"], len(LOGGED) + len(TAIL))
        self.assertEqual(st["type"], "file")
        self.assertTrue(st["target"].endswith("/program.out"), st["target"])
        self.assertEqual(self.streams["__main__.log"]["suppression"], KIND + ":__main__.log")

    def test_a_binary_file_bound_to_a_module_global(self):
        st = self.streams["__main__.blob"]["stream"]
        self.assertEqual(st["python"], {"type": "io.BufferedWriter", "text_pending_bytes": 0,
                                        "buffered_pending_bytes": len(BLOB)})
        self.assertEqual(st["pending_bytes"], len(BLOB))
        self.assertTrue(st["target"].endswith("/program.out.bin"), st["target"])

    def test_the_finding_is_true_the_output_comes_out_twice(self):
        self.assertEqual(self.audit.out, PRINTED * 2)
        self.assertEqual(self.audit.file, (LOGGED + TAIL) * 2)
        self.assertEqual(self.audit.blob, BLOB * 2)


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class NothingPending(unittest.TestCase):
    """No record when nothing is pending at the fork; the fork itself was audited."""

    def assert_audited_fork_without_record(self, audit):
        self.assertEqual([r for r in audit.records if r["kind"] == KIND], [])
        forks = audit.of_parent("fork")
        self.assertEqual(len(forks), 1, "the fork was not audited")
        return forks[0]

    def test_flushed_before_the_fork(self):
        audit = audited_run("unflushed_print", ["flushed"])
        fork = self.assert_audited_fork_without_record(audit)
        self.assertEqual(fork["python_stack"][0], the_fork_site())
        self.assertEqual(audit.out, PRINTED)
        self.assertEqual((audit.file, audit.blob), (LOGGED + TAIL, BLOB))

    def test_unbuffered_sys_stdout_holds_nothing(self):
        audit = audited_run("unflushed_print", ["pending"], unbuffered=True)
        self.assertEqual(sorted(audit.streams()), ["__main__.blob", "__main__.log"])  # open() buffers all the same
        self.assertEqual(audit.out, PRINTED)

    def test_a_multiprocessing_process_flushes_first(self):
        audit = audited_run("unflushed_multiprocessing", [])
        fork = self.assert_audited_fork_without_record(audit)
        top = fork["python_stack"][0]
        self.assertEqual((os.path.basename(top["file"]), top["function"]), ("popen_fork.py", "_launch"))
        self.assertEqual(audit.out, "printed before the Process\nprinted by the child\n")


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class ChildThatOsExits(unittest.TestCase):
    """unflushed_print.py child-os-exit: the child throws its copy away."""

    def test_reported_but_nothing_doubled(self):
        audit = audited_run("unflushed_print", ["child-os-exit"])
        self.assertEqual(sorted(audit.streams()), ["__main__.blob", "__main__.log", "sys.stdout"])
        self.assertEqual(audit.out, PRINTED)
        self.assertEqual((audit.file, audit.blob), (LOGGED + TAIL, BLOB))


if __name__ == "__main__":
    sys.exit(cmocka_style.run_module(__name__))
