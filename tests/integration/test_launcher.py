#!/usr/bin/env python3
"""Tests of the launcher, tools/forkaudit, run as a user runs it.

Usage: python3 tests/integration/test_launcher.py [BUILD_DIR]   (default: build)

Needs `make tests` first (the library and tests/progs). Prints cmocka-style lines
("[ RUN      ]", "[  PASSED  ] N test(s).", ...) so that tests/run-tests.sh counts these
tests with the C ones. Every launcher run has a deadline (its process group is killed);
nothing sleeps: the programs synchronise with barriers and pipes.

Python programs (tests/progs/python/, run with /usr/bin/python3, Debian's CPython) check
that a finding of a Python process is labelled and located by the program's own Python
line (lines read from the programs' "# MARKER" comments), names the Python lock and
thread, and that findings at different Python sites stay apart.

The SARIF file is validated with python3-jsonschema against
tests/integration/sarif-2.1.0-subset.schema.json (a reduced schema written for these
tests, with tighter rules for what the launcher emits) and against the official SARIF
2.1.0 schema (sarif-2.1.0-rtm.5.json of the npm package @microsoft/jest-sarif, which
.ci/run installs into .ci/node); without jsonschema, or the official schema, those tests
are skipped with a message.
"""

import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import cmocka_style  # noqa: E402
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
LAUNCHER = os.path.join(ROOT, "tools", "forkaudit")
LIBRARY = os.path.join(BUILD, "libforkaudit.so")
SUBSET_SCHEMA = os.path.join(ROOT, "tests", "integration", "sarif-2.1.0-subset.schema.json")
DEADLINE = 120  # seconds for one launcher run (200 audited forks take well under one)
# The launcher's default run directories go here (TMPDIR), removed when the tests end.
RUNS_TMPDIR = tempfile.mkdtemp(prefix="forkaudit-launcher-runs.")


PYTHON = "/usr/bin/python3"  # Debian's CPython, the one the library knows (not a shim)


def prog(name):
    """Absolute path of a test program built from tests/progs/NAME.c."""
    return os.path.join(BUILD, "tests", "progs", name)


def python_prog(name):
    """tests/progs/python/NAME.py, relative to the repository (the launcher runs there)."""
    return os.path.join("tests", "progs", "python", name + ".py")


def marked_line(path, marker):
    """Number (1-based) of the only line of PATH (relative to the repository) holding the
    comment '# MARKER'."""
    with open(os.path.join(ROOT, path)) as f:
        lines = [n for n, text in enumerate(f, 1) if "# " + marker in text]
    assert len(lines) == 1, "%s: %d lines marked %s" % (path, len(lines), marker)
    return lines[0]


# The official SARIF 2.1.0 schema (rtm.5), as the npm package @microsoft/jest-sarif ships it:
# .ci/run installs the package into .ci/node (FORKAUDIT_SARIF_SCHEMA names another copy).
OFFICIAL_SCHEMA = os.environ.get("FORKAUDIT_SARIF_SCHEMA") or os.path.join(
    ROOT, ".ci", "node", "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json")


def schema_errors(schema_path, sarif, draft=None):
    """The validation errors of `sarif` against the JSON schema at `schema_path` (the
    validator of the schema's own $schema draft unless `draft` is given)."""
    import jsonschema
    with open(schema_path) as f:
        schema = json.load(f)
    cls = draft or jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=jsonschema.FormatChecker())
    return ["%s at %s" % (e.message, "/".join(map(str, e.path))) for e in validator.iter_errors(sarif)]


def validate_sarif(test, sarif):
    """Fails `test` when the SARIF document does not validate against the subset schema
    (and the official one, when installed); skips it without python3-jsonschema."""
    try:
        import jsonschema
    except ImportError:
        test.skipTest("python3-jsonschema is not installed: SARIF schema validation skipped")
    test.assertEqual(schema_errors(SUBSET_SCHEMA, sarif, jsonschema.Draft7Validator), [])
    if os.path.isfile(OFFICIAL_SCHEMA):
        test.assertEqual(schema_errors(OFFICIAL_SCHEMA, sarif), [])


def validate_sarif_officially(test, sarif):
    """Fails `test` when the SARIF document does not validate against the official SARIF
    2.1.0 schema; skips it, saying why, when the schema or python3-jsonschema is absent."""
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        test.skipTest("python3-jsonschema is not installed: SARIF schema validation skipped")
    if not os.path.isfile(OFFICIAL_SCHEMA):
        test.skipTest("the official SARIF schema %s is not installed (.ci/run installs the npm package "
                      "@microsoft/jest-sarif into .ci/node): skipped" % OFFICIAL_SCHEMA)
    test.assertEqual(schema_errors(OFFICIAL_SCHEMA, sarif), [])


class Run:
    """The outcome of one launcher run: rc, out (stdout), err (stderr)."""

    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err


def launch(args, env_extra=None, cwd=ROOT):
    """Runs tools/forkaudit ARGS in its own process group with only descriptors 0-2 and
    stdin from /dev/null; kills the group and fails at the deadline."""
    env = dict(os.environ, FORKAUDIT_LIB=LIBRARY, TMPDIR=RUNS_TMPDIR)
    env.pop("FORKAUDIT_OPTIONS", None)
    env.update(env_extra or {})
    p = subprocess.Popen([LAUNCHER] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True,
                         universal_newlines=True)
    try:
        out, err = p.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError("the launcher did not finish in %d s; stderr:\n%s" % (DEADLINE, err))
    return Run(p.returncode, out, err)


class ScriptRun(unittest.TestCase):
    """A shell script that runs three audited programs, then exits 5: clean_single (one
    fork, nothing to report), lock_held_by_worker (one fork with a worker's lock held) and
    fork_many (200 forks with the same lock held)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="forkaudit-launcher-test.")
        cls.script = os.path.join(cls.tmp, "three_programs.sh")
        with open(cls.script, "w") as f:
            f.write("#!/bin/sh\n%s\n%s\n%s\nexit 5\n" % (prog("clean_single"), prog("lock_held_by_worker"),
                                                       prog("fork_many")))
        os.chmod(cls.script, 0o755)
        cls.json_path = os.path.join(cls.tmp, "findings.json")
        cls.sarif_path = os.path.join(cls.tmp, "findings.sarif")
        cls.run_dir = os.path.join(cls.tmp, "run")
        # fds=all: fork_many's pipe, shared by design, is a finding (the per-descriptor mechanics)
        cls.main = launch(["--run-dir", cls.run_dir, "--json", cls.json_path, "--sarif", cls.sarif_path,
                           "-o", "fds=all", "--", cls.script])
        with open(cls.json_path) as f:
            cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def process(self, name):
        """The JSON process entry whose program is NAME."""
        found = [p for p in self.doc["processes"] if p["program"] == name]
        self.assertEqual(len(found), 1, "one process %s in %s" % (name, self.doc["processes"]))
        return found[0]

    def lock_findings(self):
        """The lock-held-at-fork findings of the JSON file."""
        return [f for f in self.doc["findings"] if f["kind"] == "lock-held-at-fork"]

    def test_fail_on_error_exits_66_on_an_error(self):
        self.assertEqual(self.main.rc, 66, self.main.err)
        self.assertIn("exit status 66", self.main.err)
        self.assertIn("exited with status 5", self.main.err)

    def test_fail_on_warning_exits_66(self):
        r = launch(["--fail-on", "warning", self.script])
        self.assertEqual(r.rc, 66, r.err)

    def test_fail_on_never_exits_with_the_scripts_status(self):
        r = launch(["--fail-on", "never", "--", self.script])
        self.assertEqual(r.rc, 5, r.err)

    def test_exit_code_option(self):
        r = launch(["--exit-code", "3", self.script])
        self.assertEqual(r.rc, 3, r.err)

    def test_the_command_keeps_its_stdout(self):
        self.assertIn("forks=200", self.main.out)
        self.assertIn("worker_tid=", self.main.out)

    def test_summary_counts_forks_and_dedups_the_lock(self):
        err = self.main.err
        self.assertIn("fork_many (200 forks)", err)
        self.assertIn("clean_single (1 fork)", err)
        self.assertIn("lock_held_by_worker (1 fork)", err)
        self.assertIn("200 children without records", err)
        self.assertIn("ERROR lock-held-at-fork, in 200 forks", err)
        self.assertIn("ERROR lock-held-at-fork, in 1 fork", err)
        self.assertIn("worker_holds_table_lock", err)
        self.assertIn("records in %s" % self.run_dir, err)
        self.assertEqual(err.count("lock-held-at-fork, in"), 2, err)
        for line in err.splitlines():
            self.assertLessEqual(len(line), 100, "summary line over 100 columns: %r" % line)

    def test_json_file(self):
        doc = self.doc
        self.assertEqual(doc["forks"], sum(p["forks"] for p in doc["processes"]))
        self.assertGreaterEqual(doc["forks"], 202)
        many, worker, clean = self.process("fork_many"), self.process("lock_held_by_worker"), \
            self.process("clean_single")
        self.assertEqual((many["forks"], worker["forks"], clean["forks"]), (200, 1, 1))
        self.assertEqual(len(many["children"]), 200)
        root = doc["roots"][0]
        self.assertIn(many["pid"], [p["pid"] for p in doc["processes"] if p["parent"] == root])
        locks = self.lock_findings()
        self.assertEqual(sorted(f["count"] for f in locks), [1, 200])
        big = next(f for f in locks if f["count"] == 200)
        self.assertEqual(big["severity"], "error")
        self.assertEqual(big["pids"], [many["pid"]])
        self.assertIn("worker_holds_table_lock", big["signature"])
        self.assertEqual(big["example"]["kind"], "lock-held-at-fork")
        self.assertEqual(big["example"]["lock"]["acquired_at"][0]["function"], "worker_holds_table_lock")
        self.assertEqual(big["key_frames"][0]["frames"][0]["function"], "worker_holds_table_lock")
        for f in doc["findings"]:
            self.assertNotIn(clean["pid"], f["pids"], "clean_single has nothing to report: %s" % f["signature"])
        kinds = {f["kind"] for f in doc["findings"]}
        self.assertEqual(kinds, {"lock-held-at-fork", "threads-at-fork", "fds-at-fork"})

    def test_run_dir_holds_one_log_per_reporting_process(self):
        logs = sorted(n for n in os.listdir(self.run_dir) if n.startswith("log."))
        pids = {p["pid"] for p in self.doc["processes"] if p["records"]}
        self.assertEqual(logs, sorted("log.%d" % pid for pid in pids))

    def test_sarif_has_one_result_per_distinct_finding(self):
        with open(self.sarif_path) as f:
            sarif = json.load(f)
        self.assertEqual(sarif["version"], "2.1.0")
        run = sarif["runs"][0]
        driver = run["tool"]["driver"]
        self.assertEqual(driver["name"], "forkaudit")
        rule_ids = [r["id"] for r in driver["rules"]]
        for kind in ("lock-held-at-fork", "threads-at-fork", "fds-at-fork", "rng-at-fork", "child-deadlock",
                     "rng-reused-in-child", "fds-leaked-at-exec"):
            self.assertIn(kind, rule_ids)
        results = run["results"]
        self.assertEqual(len(results), len(self.doc["findings"]))
        big = next(r for r in results if r["properties"]["count"] == 200 and r["ruleId"] == "lock-held-at-fork")
        self.assertEqual(big["level"], "error")
        self.assertEqual(rule_ids[big["ruleIndex"]], "lock-held-at-fork")
        self.assertTrue(big["partialFingerprints"])
        loc = big["locations"][0]["physicalLocation"]
        # fork_many is built with -g: with addr2line the location is its source line.
        if shutil.which("eu-addr2line") or shutil.which("addr2line"):
            self.assertEqual(loc["artifactLocation"]["uri"], "tests/progs/fork_many.c")
            self.assertEqual(loc["artifactLocation"]["uriBaseId"], "SRCROOT")
            self.assertGreater(loc["region"]["startLine"], 0)
        else:
            self.assertTrue(loc["artifactLocation"]["uri"].endswith("/fork_many"))

    def test_sarif_validates_against_the_schema(self):
        with open(self.sarif_path) as f:
            validate_sarif(self, json.load(f))

    def test_sarif_validates_against_the_official_schema(self):
        with open(self.sarif_path) as f:
            validate_sarif_officially(self, json.load(f))


class PythonRun:
    """One launcher run of /usr/bin/python3 on a program of tests/progs/python/ from the
    repository, with --json and --sarif: r (the Run), doc (the JSON file), sarif."""

    def __init__(self, name, options=()):
        self.path = python_prog(name)
        with tempfile.TemporaryDirectory(prefix="forkaudit-launcher-py.", dir=RUNS_TMPDIR) as tmp:
            json_path, sarif_path = os.path.join(tmp, "findings.json"), os.path.join(tmp, "findings.sarif")
            self.r = launch(list(options) + ["--json", json_path, "--sarif", sarif_path, "--", PYTHON, self.path])
            with open(json_path) as f:
                self.doc = json.load(f)
            with open(sarif_path) as f:
                self.sarif = json.load(f)

    def line(self, marker):
        return marked_line(self.path, marker)

    def findings(self, kind):
        return [f for f in self.doc["findings"] if f["kind"] == kind]

    def results(self, kind):
        return [r for r in self.sarif["runs"][0]["results"] if r["ruleId"] == kind]

    def summary_of(self, kind):
        """The summary's text of each finding of KIND (its lines joined by newlines)."""
        blocks, current = [], None
        for line in self.r.err.splitlines():
            if line.startswith("["):
                current = [line] if " %s, in " % kind in line else None
                if current:
                    blocks.append(current)
            elif not line.startswith("    "):
                current = None
            elif current is not None:
                current.append(line)
        return ["\n".join(b) for b in blocks]


def physical(result):
    """(uri, uriBaseId, startLine) of a SARIF result's location."""
    loc = result["locations"][0]["physicalLocation"]
    where = loc["artifactLocation"]
    return where["uri"], where.get("uriBaseId"), loc.get("region", {}).get("startLine")


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class PythonLockHeldByWorker(unittest.TestCase):
    """lock_held_by_worker.py: "stats-updater" holds __main__.lock at WAIT-LINE while the main
    thread forks at FORK-LINE."""

    @classmethod
    def setUpClass(cls):
        cls.py = PythonRun("lock_held_by_worker", ["-o", "fds=all"])  # its pipes listed
        cls.wait, cls.fork = cls.py.line("WAIT-LINE"), cls.py.line("FORK-LINE")

    def test_summary_labels_the_lock_by_the_holders_python_line(self):
        blocks = self.py.summary_of("lock-held-at-fork")
        self.assertEqual(len(blocks), 1, self.py.r.err)
        text = " ".join(blocks[0].split())  # the description may wrap
        self.assertIn('threading.Lock __main__.lock held by another thread ("stats-updater") at the fork', text)
        self.assertIn("at %s:%d in update_stats" % (self.py.path, self.wait), text)
        self.assertIn('held by thread "stats-updater" at (Python, most recent call first): '
                      'File "%s", line %d, in update_stats' % (self.py.path, self.wait), text)
        self.assertIn('fork at: File "%s", line %d, in fork_while_held' % (self.py.path, self.fork), text)

    def test_summary_shows_python_names_not_the_interpreters_symbols(self):
        self.assertNotIn("lock_PyThread_acquire_lock", self.py.r.err)
        self.assertNotIn("os_fork", self.py.r.err)
        self.assertNotIn("pythread_wrapper", self.py.r.err)
        threads = self.py.summary_of("threads-at-fork")
        self.assertEqual(len(threads), 1, self.py.r.err)
        self.assertIn("1 other thread running at the fork (stats-updater)", threads[0])
        self.assertIn("at %s:%d in fork_while_held" % (self.py.path, self.fork), threads[0])

    def test_sarif_locates_the_lock_at_the_py_file_and_line(self):
        results = self.py.results("lock-held-at-fork")
        self.assertEqual(len(results), 1)
        self.assertEqual(physical(results[0]), (self.py.path, "SRCROOT", self.wait))
        self.assertEqual(results[0]["locations"][0]["logicalLocations"], [{"name": "update_stats", "kind": "function"}])
        related = {loc["message"]["text"]: loc for loc in results[0]["relatedLocations"]}
        self.assertEqual(physical({"locations": [related["fork at #0 fork_while_held (Python)"]]}),
                         (self.py.path, "SRCROOT", self.fork))
        run = related['held by thread "stats-updater" at #1 run (Python)']["physicalLocation"]
        self.assertTrue(run["artifactLocation"]["uri"].endswith("/threading.py"), run)
        ids = [loc["id"] for loc in results[0]["relatedLocations"]]
        self.assertEqual(ids, list(range(1, len(ids) + 1)))

    def test_sarif_locates_other_findings_at_the_fork_line(self):
        results = self.py.results("threads-at-fork")
        self.assertTrue(results)
        for result in results:
            self.assertEqual(physical(result), (self.py.path, "SRCROOT", self.fork))

    def test_sarif_locates_the_pipes_at_their_os_pipe_lines(self):
        with open(self.py.path) as f:
            pipe_lines = [n for n, text in enumerate(f, 1) if "= os.pipe()" in text]
        results = self.py.results("fds-at-fork")
        self.assertEqual(sorted(physical(r)[2] for r in results), pipe_lines)
        for result in results:
            self.assertEqual(physical(result)[:2], (self.py.path, "SRCROOT"))

    def test_sarif_validates_against_the_schema(self):
        validate_sarif(self, self.py.sarif)

    def test_sarif_validates_against_the_official_schema(self):
        validate_sarif_officially(self, self.py.sarif)

    def test_json_findings_carry_the_python_site(self):
        lock = self.py.findings("lock-held-at-fork")[0]
        self.assertEqual({k: lock["python_site"][k] for k in ("file", "line", "function")},
                         {"file": os.path.join(ROOT, self.py.path), "line": self.wait, "function": "update_stats"})
        self.assertEqual([s["label"] for s in lock["python_sites"]], ['held by thread "stats-updater" at', "fork at"])
        self.assertIn("__main__.lock", lock["signature"])


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class PythonLocksAtTwoSites(unittest.TestCase):
    """launcher_two_sites.py: __main__.lock at HOLD-A and __main__.other at HOLD-B at the first
    fork, __main__.lock again at HOLD-C at the second: the interpreter's C frames of the three
    acquisitions are the same, their Python sites are not."""

    @classmethod
    def setUpClass(cls):
        cls.py = PythonRun("launcher_two_sites")
        cls.expected = {("__main__.lock", cls.py.line("HOLD-A"), "hold_a"),
                        ("__main__.other", cls.py.line("HOLD-B"), "hold_b"),
                        ("__main__.lock", cls.py.line("HOLD-C"), "hold_c")}

    def test_three_lock_findings_one_per_python_site(self):
        found = self.py.findings("lock-held-at-fork")
        sites = {(f["example"]["lock"]["python"]["name"], f["python_site"]["line"], f["python_site"]["function"])
                 for f in found}
        self.assertEqual(sites, self.expected, json.dumps([f["signature"] for f in found], indent=1))
        self.assertEqual([f["count"] for f in found], [1, 1, 1])

    def test_summary_names_each_site(self):
        blocks = [" ".join(b.split()) for b in self.py.summary_of("lock-held-at-fork")]
        self.assertEqual(len(blocks), 3, self.py.r.err)
        for name, line, function in self.expected:
            self.assertEqual(len([b for b in blocks if "threading.Lock %s " % name in b and
                                  "at %s:%d in %s" % (self.py.path, line, function) in b]), 1,
                             "%s at line %d: %s" % (name, line, self.py.r.err))

    def test_sarif_has_a_result_per_python_site(self):
        results = self.py.results("lock-held-at-fork")
        self.assertEqual(sorted(physical(r) for r in results),
                         sorted((self.py.path, "SRCROOT", line) for _, line, _ in self.expected))
        validate_sarif(self, self.py.sarif)

    def test_threads_of_the_two_forks_stay_apart(self):
        described = sorted(" ".join(b.split("\n")[1].split()) for b in self.py.summary_of("threads-at-fork"))
        self.assertEqual(described, ["1 other thread running at the fork (holder-c): the child has none of them",
                                     "2 other threads running at the fork (holder-a, holder-b): the child has none of "
                                     "them"], self.py.r.err)


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class PythonChildDeadlock(unittest.TestCase):
    """launcher_child_deadlock.py: the main thread holds __main__.lock across os.fork() at
    FORK-LINE; the child blocks on it at CHILD-LINE (stopped: on_child_deadlock=abort)."""

    @classmethod
    def setUpClass(cls):
        cls.py = PythonRun("launcher_child_deadlock", ["-o", "on_child_deadlock=abort"])

    def test_summary_gives_the_holders_site_and_the_childs(self):
        blocks = self.py.summary_of("child-deadlock")
        self.assertEqual(len(blocks), 1, self.py.r.err)
        text = " ".join(blocks[0].split())
        path, fork, child = self.py.path, self.py.line("FORK-LINE"), self.py.line("CHILD-LINE")
        self.assertIn("a forked child is about to wait forever for threading.Lock __main__.lock held at the fork", text)
        self.assertIn("at %s:%d in fork_holding" % (path, fork), text)
        self.assertIn('the child blocks at: File "%s", line %d, in child' % (path, child), text)
        self.assertIn("child status 6", self.py.r.out)  # SIGABRT

    def test_sarif_locates_it_at_the_holders_line(self):
        results = self.py.results("child-deadlock")
        self.assertEqual(len(results), 1)
        self.assertEqual(physical(results[0]), (self.py.path, "SRCROOT", self.py.line("FORK-LINE")))
        child = [loc for loc in results[0]["relatedLocations"]
                 if loc["message"]["text"] == "the child blocks at #0 child (Python)"]
        self.assertEqual(len(child), 1, results[0]["relatedLocations"])
        self.assertEqual(child[0]["physicalLocation"]["region"]["startLine"], self.py.line("CHILD-LINE"))
        validate_sarif(self, self.py.sarif)


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class PythonOwnDescriptors(unittest.TestCase):
    """own_descriptors.py: a socket (OPEN-SOCKET), a file (OPEN-FILE) and a pipe (OPEN-PIPE)
    opened by the program, then a multiprocessing.Pool whose own pipes are not findings."""

    @classmethod
    def setUpClass(cls):
        cls.py = PythonRun("own_descriptors", ["-o", "fds=all"])  # the pipe and socket listed

    def test_one_finding_per_python_opening_line(self):
        lines = sorted(f["python_site"]["line"] for f in self.py.findings("fds-at-fork"))
        self.assertEqual(lines, sorted(self.py.line(m) for m in ("OPEN-SOCKET", "OPEN-FILE", "OPEN-PIPE")))

    def test_sarif_locates_each_descriptor_where_python_opened_it(self):
        results = self.py.results("fds-at-fork")
        self.assertEqual(len(results), 3, [r["message"]["text"] for r in results])
        where = sorted(physical(r)[2] for r in results)
        self.assertEqual(where, sorted(self.py.line(m) for m in ("OPEN-SOCKET", "OPEN-FILE", "OPEN-PIPE")))
        socket = [r for r in results if physical(r)[2] == self.py.line("OPEN-SOCKET")][0]
        self.assertEqual(physical(socket)[:2], (self.py.path, "SRCROOT"))
        validate_sarif(self, self.py.sarif)


class CxxTwoLocks(unittest.TestCase):
    """tests/progs/cxx_two_locks.cc at -O0: main holds config_mutex (a warning) and a worker
    holds stats_mutex (an error) at one fork, both taken through std::lock_guard, whose
    call-site-only acquisition stacks are the same wrapper frame (__gthread_mutex_lock):
    two findings, each with its own record's severity and text; SARIF located in the .cc
    file (never gthr-default.h), fingerprints the same in two runs, no address in any
    signature. With lock_stack_depth=8 the acquisition sites are past the wrappers."""

    SOURCE = os.path.join("tests", "progs", "cxx_two_locks.cc")

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="forkaudit-cxx-two-locks.", dir=RUNS_TMPDIR)
        cls.runs = []
        for name, extra in (("a", []), ("b", []), ("deep", ["-o", "lock_stack_depth=8"])):
            paths = [os.path.join(cls.tmp, name + ext) for ext in (".json", ".sarif")]
            r = launch(["--json", paths[0], "--sarif", paths[1]] + extra + [prog("cxx_two_locks")])
            docs = []
            for path in paths:
                with open(path) as f:
                    docs.append(json.load(f))
            cls.runs.append((r, docs[0], docs[1]))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @staticmethod
    def lock_results(sarif):
        """{level: result} of the lock-held-at-fork results."""
        results = [res for res in sarif["runs"][0]["results"] if res["ruleId"] == "lock-held-at-fork"]
        return {res["level"]: res for res in results}, len(results)

    def test_two_findings_one_per_lock(self):
        for r, _, _ in self.runs:
            self.assertEqual(r.rc, 66, r.err)
            self.assertIn("child_status=0", r.out)
            heads = [line for line in r.err.splitlines() if " lock-held-at-fork, " in line]
            self.assertEqual(sorted(h.split()[1] for h in heads), ["ERROR", "WARNING"], r.err)
            blocks = r.err.split("\n[")
            error = next(b for b in blocks if b.split("\n")[0].split()[1:3] == ["ERROR", "lock-held-at-fork,"])
            warning = next(b for b in blocks if b.split("\n")[0].split()[1:3] == ["WARNING", "lock-held-at-fork,"])
            self.assertIn("held by another thread", error)
            self.assertIn("held by the forking thread", warning)

    def test_suppress_with_lines_are_never_wrapped(self):
        for r, doc, _ in self.runs:
            lines = r.err.splitlines()
            rules = [f["suppression"] for f in doc["findings"] if f["suppression"]]
            self.assertTrue(any(len(rule) > 50 for rule in rules), rules)  # app::fork_under_config(app::Config&)
            for rule in rules:
                self.assertIn("    suppress with: " + rule, lines)

    def test_json_severity_is_its_example_records(self):
        for _, doc, _ in self.runs:
            locks = [f for f in doc["findings"] if f["kind"] == "lock-held-at-fork"]
            self.assertEqual(sorted(f["severity"] for f in locks), ["error", "warning"])
            for f in doc["findings"]:
                self.assertEqual(f["severity"], f["example"]["severity"], f["signature"])
            by_sev = {f["severity"]: f for f in locks}
            self.assertFalse(by_sev["error"]["example"]["lock"]["holder_is_forking_thread"])
            self.assertTrue(by_sev["warning"]["example"]["lock"]["holder_is_forking_thread"])

    def test_sarif_located_in_the_programs_source(self):
        for _, _, sarif in self.runs:
            validate_sarif(self, sarif)
            for res in sarif["runs"][0]["results"]:
                phys = res["locations"][0]["physicalLocation"]
                self.assertEqual(phys["artifactLocation"], {"uri": self.SOURCE, "uriBaseId": "SRCROOT"}, res["ruleId"])
        # The library places each lock past the lock wrappers (at the default depth too):
        # each lock's own lock_guard line.
        for run in (self.runs[0], self.runs[2]):
            results, n = self.lock_results(run[2])
            self.assertEqual(n, 2)
            self.assertEqual({lvl: r["locations"][0]["physicalLocation"]["region"]["startLine"] for lvl, r in results.items()},
                             {"error": cxx_line(self.SOURCE, "LOCK stats_mutex"),
                              "warning": cxx_line(self.SOURCE, "LOCK config_mutex")})

    def test_deep_stacks_name_the_programs_functions(self):
        r, doc, _ = self.runs[2]
        rules = sorted(f["suppression"] for f in doc["findings"] if f["kind"] == "lock-held-at-fork")
        self.assertEqual(rules, ["lock-held-at-fork:app::Stats::update(int, int)",
                                 "lock-held-at-fork:app::fork_under_config(app::Config&)"])
        self.assertNotIn("__gthread", r.err)
        # the suggested rule round-trips: it silences that lock, and only it
        rules_path = os.path.join(self.tmp, "stats.supp")
        with open(rules_path, "w") as f:
            f.write(rules[0] + "\n")
        r = launch(["--suppressions", rules_path, "-o", "lock_stack_depth=8", prog("cxx_two_locks")])
        heads = [line.split()[1] for line in r.err.splitlines() if " lock-held-at-fork, " in line]
        self.assertEqual(heads, ["WARNING"], r.err)
        self.assertIn("suppressions used: %s (1)" % rules[0], r.err)

    def test_sarif_validates_against_the_official_schema(self):
        for _, _, sarif in self.runs:
            validate_sarif_officially(self, sarif)

    def test_fingerprints_are_the_same_in_two_runs_and_hold_no_address(self):
        prints = []
        for _, doc, sarif in self.runs[:2]:
            results = sarif["runs"][0]["results"]
            prints.append(sorted((res["ruleId"], res["partialFingerprints"]["forkauditSignature/v1"]) for res in results))
            for res in results:
                self.assertNotRegex(res["properties"]["signature"], r"0x[0-9a-f]{6,}")
            for f in doc["findings"]:
                self.assertNotRegex(f["description"], r"0x[0-9a-f]{6,}")
        self.assertEqual(prints[0], prints[1])
        self.assertEqual(len(prints[0]), len(set(prints[0])))
        threads = [f for f in self.runs[0][1]["findings"] if f["kind"] == "threads-at-fork"]
        self.assertEqual(len(threads), 1)
        self.assertIn("main::{lambda()#1}", threads[0]["description"])


def cxx_line(path, marker):
    """Number of the only line of PATH (relative to the repository) holding '// MARKER'."""
    with open(os.path.join(ROOT, path)) as f:
        lines = [n for n, text in enumerate(f, 1) if "// " + marker in text]
    assert len(lines) == 1, "%s: %d lines marked %s" % (path, len(lines), marker)
    return lines[0]


class ParentSideJudgement(unittest.TestCase):
    """What the launcher counts as findings of its own (issue 13): descriptors shared by
    design, which the library lists only because the launcher runs it at verbosity=1, and
    a libc generator's rng-at-fork, whose proof is the child's rng-reused-in-child."""

    def findings(self, args):
        out = os.path.join(RUNS_TMPDIR, "judgement.%d.json" % os.getpid())
        r = launch(["--fail-on", "never", "--json", out] + args)
        self.assertEqual(r.rc, 0, r.err)
        with open(out) as f:
            return json.load(f)["findings"]

    def test_descriptors_shared_by_design_are_no_findings(self):
        found = self.findings([prog("fds_by_design"), RUNS_TMPDIR])
        self.assertTrue(found and all(f["kind"] == "fds-at-fork" for f in found), found)
        for f in found:  # a pipe, a listening socket, a device: shared on purpose, counted
            self.assertNotRegex(f["description"], r"\((pipe|char-device|epoll|eventfd),", f)
        every = self.findings(["-o", "fds=all", prog("fds_by_design"), RUNS_TMPDIR])
        self.assertGreater(len(every), len(found))
        self.assertTrue(any("(pipe," in f["description"] for f in every), every)

    def test_libc_rng_needs_the_child_proof(self):
        self.assertEqual([f for f in self.findings([prog("rng")]) if f["kind"].startswith("rng")], [])
        child = [f["kind"] for f in self.findings([prog("rng_child")]) if f["kind"].startswith("rng")]
        self.assertIn("rng-reused-in-child", child)
        self.assertNotIn("rng-at-fork", child)
        asked = [f["kind"] for f in self.findings(["-o", "verbosity=2", prog("rng")])]
        self.assertIn("rng-at-fork", asked)


class Outcomes(unittest.TestCase):
    """Exit statuses and options on single programs."""

    def test_clean_program_keeps_its_status(self):
        r = launch(["--fail-on", "warning", prog("clean_single")])
        self.assertEqual(r.rc, 0, r.err)
        self.assertIn("1 fork; 0 distinct findings", r.err)

    def test_killed_command_gives_128_plus_signal(self):
        r = launch(["--fail-on", "never", "/bin/sh", "-c", "kill -TERM $$"])
        self.assertEqual(r.rc, 128 + signal.SIGTERM, r.err)
        self.assertIn("killed by signal %d" % signal.SIGTERM, r.err)

    def test_interrupt_of_the_group_still_gives_a_summary(self):
        # As Ctrl-C does: SIGINT to the whole process group, the launcher included.
        r = launch(["--fail-on", "never", "/bin/sh", "-c", "kill -INT 0"])
        self.assertEqual(r.rc, 128 + signal.SIGINT, r.err)
        self.assertIn("killed by signal %d" % signal.SIGINT, r.err)
        self.assertIn("exit status %d" % (128 + signal.SIGINT), r.err)

    def test_sigterm_to_the_launcher_reaches_the_command(self):
        # The command signals its parent (the launcher), which passes SIGTERM on to it; the
        # sleep only bounds the wait, the deadline ends a run where nothing arrives.
        r = launch(["--fail-on", "never", "/bin/sh", "-c", "kill -TERM $PPID; exec sleep 60"])
        self.assertEqual(r.rc, 128 + signal.SIGTERM, r.err)

    def test_suppressions_file_reaches_the_library(self):
        with tempfile.NamedTemporaryFile("w", suffix=".supp") as rules:
            rules.write("lock-held-at-fork:worker_holds_table_lock\n")
            rules.flush()
            r = launch(["--suppressions", rules.name, prog("fork_many")])
        self.assertNotIn("lock-held-at-fork", r.err.split("suppressions used")[0])
        self.assertIn("suppressions used: lock-held-at-fork:worker_holds_table_lock (200)", r.err)
        self.assertEqual(r.rc, 0, r.err)

    def test_child_watchdog_reports_a_stuck_child(self):
        # The child blocks on a raw futex lock its parent's worker held at the fork.
        with tempfile.TemporaryDirectory(prefix="forkaudit-stuck.", dir=RUNS_TMPDIR) as tmp:
            sarif_path = os.path.join(tmp, "stuck.sarif")
            r = launch(["--child-watchdog", "1", "-o", "on_child_stuck=abort", "--sarif", sarif_path,
                        prog("watchdog_children"), "futex"])
            with open(sarif_path) as f:
                sarif = json.load(f)
        self.assertEqual(r.rc, 66, r.err)
        self.assertIn("ERROR child-stuck, in 1 fork", r.err)
        self.assertIn("likely culprit: the parent's thread", " ".join(r.err.split()))  # wrapped lines
        self.assertIn("child_signal=6", r.out)
        # Its SARIF rule is the library's: an error, described (not the id as text).
        run = sarif["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        result = next(res for res in run["results"] if res["ruleId"] == "child-stuck")
        rule = rules[result["ruleIndex"]]
        self.assertEqual((rule["id"], rule["defaultConfiguration"]["level"], result["level"]),
                         ("child-stuck", "error", "error"))
        self.assertEqual(rule["shortDescription"]["text"], "A forked child is stuck in a wait nobody can end")
        self.assertIn("untimed futex wait", rule["fullDescription"]["text"])

    def test_help_documents_options_and_exit_statuses(self):
        r = launch(["--help"])
        self.assertEqual(r.rc, 0)
        for text in ("--version", "--source-root", "signals:",
                     "--run-dir", "--json", "--sarif", "--exit-code", "--fail-on", "--suppressions", "--child-watchdog", "-o KEY=VALUE",
                     "--no-lines", "exit status:", "FORKAUDIT_LIB"):
            self.assertIn(text, r.out)

    def test_library_options_pass_through(self):
        r = launch(["-o", "on_child_deadlock=exit:3", "-o", "stack_depth=4", prog("clean_single")])
        self.assertEqual(r.rc, 0, r.err)
        self.assertNotIn("bad value", r.err)
        self.assertNotIn("unknown option", r.err)

    def test_launcher_options_cannot_be_overridden(self):
        r = launch(["-o", "log_path=/tmp/x", "true"])
        self.assertEqual(r.rc, 2)
        self.assertIn("the launcher sets log_path", r.err)
        r = launch(["--format", "text", "true"])
        self.assertEqual(r.rc, 2)
        self.assertIn("--format is gone", r.err)


class MachineOutput(unittest.TestCase):
    """--sarif - / --json -: stdout is that one document (the command's own stdout goes to
    stderr); both '-' refused; a failing command never becomes a success."""

    def test_sarif_on_stdout_is_one_document(self):
        r = launch(["--sarif", "-", prog("lock_held_by_worker")])
        sarif = json.loads(r.out)  # the whole stream: nothing of the command's in it
        self.assertEqual(sarif["version"], "2.1.0")
        self.assertIn("lock-held-at-fork", [res["ruleId"] for res in sarif["runs"][0]["results"]])
        self.assertRegex(r.err, r"(?m)^worker_tid=\d+$")  # the command's stdout, moved to stderr
        self.assertEqual(r.rc, 66, r.err)
        validate_sarif(self, sarif)

    def test_json_on_stdout_is_one_document(self):
        r = launch(["--json", "-", "/bin/sh", "-c", "echo from-the-$0; %s" % prog("clean_single"), "command"])
        doc = json.loads(r.out)
        self.assertEqual(doc["exit_status"], 0)
        self.assertIn("from-the-command\n", r.err)
        self.assertNotIn("from-the-command", r.out)

    def test_both_on_stdout_are_refused(self):
        r = launch(["--json", "-", "--sarif", "-", "true"])
        self.assertEqual(r.rc, 2)
        self.assertIn("--json - and --sarif - both write to stdout", r.err)
        self.assertEqual(r.out, "")

    def test_exit_code_0_never_turns_a_failure_into_success(self):
        script = "%s; exit 3" % prog("lock_held_by_worker")
        r = launch(["--exit-code", "0", "--fail-on", "warning", "/bin/sh", "-c", script])
        self.assertEqual(r.rc, 3, r.err)
        self.assertIn("exit status 3: the command's own: it failed", r.err)
        # a command that succeeded: --exit-code 0 is what was asked
        r = launch(["--exit-code", "0", "--fail-on", "warning", prog("lock_held_by_worker")])
        self.assertEqual(r.rc, 0, r.err)
        # a failing command with findings and the default --exit-code: 66
        r = launch(["--fail-on", "warning", "/bin/sh", "-c", script])
        self.assertEqual(r.rc, 66, r.err)


class Version(unittest.TestCase):
    """One version number: the launcher's --version, the library's forkaudit_version(),
    the header, the man pages' .TH lines and the README changelog's top entry."""

    def test_one_version_everywhere(self):
        import re
        with open(os.path.join(ROOT, "include", "forkaudit.h")) as f:
            header = f.read()
        version = re.search(r'#define FORKAUDIT_VERSION "([0-9.]+)"', header).group(1)
        parts = [re.search(r"#define FORKAUDIT_VERSION_%s (\d+)" % k, header).group(1) for k in ("MAJOR", "MINOR", "PATCH")]
        self.assertEqual(".".join(parts), version)
        r = launch(["--version"])
        self.assertEqual(r.rc, 0, r.out + r.err)
        self.assertEqual(r.out.splitlines()[0], "forkaudit %s" % version)
        self.assertEqual(r.out.splitlines()[1], "library: %s (version %s)" % (LIBRARY, version))
        for page in ("forkaudit.1", "forkaudit-options.7"):
            with open(os.path.join(ROOT, "docs", page)) as f:
                th = next(line for line in f if line.startswith(".TH "))
            self.assertIn('"forkaudit %s"' % version, th, page)
        with open(os.path.join(ROOT, "README.md")) as f:
            changelog = f.read().split("\n## Changelog\n", 1)[1]
        top = re.search(r"^- (?:Unreleased \()?([0-9]+\.[0-9]+\.[0-9]+)", changelog, re.M).group(1)
        self.assertEqual(top, version)

    def test_man_pages_hold_no_control_characters(self):
        import re
        for page in ("forkaudit.1", "forkaudit-options.7"):
            with open(os.path.join(ROOT, "docs", page)) as f:
                for n, line in enumerate(f, 1):
                    self.assertIsNone(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), "%s:%d: %r" % (page, n, line))


class Refusals(unittest.TestCase):
    """Commands the library would not be loaded into are refused with status 2, and
    nothing runs (no run directory is made)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="forkaudit-refusal-test.")
        self.run_dir = os.path.join(self.tmp, "run")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def refused(self, args, text, env_extra=None):
        """Runs the launcher and checks it refused with status 2 and `text`, running nothing."""
        r = launch(["--run-dir", self.run_dir] + args, env_extra)
        self.assertEqual(r.rc, 2, r.err)
        self.assertIn("forkaudit: nothing was run: ", r.err)
        self.assertIn(text, r.err)
        self.assertFalse(os.path.exists(self.run_dir), "the run directory was made")
        return r

    def test_static_program(self):
        src = os.path.join(self.tmp, "tiny.c")
        exe = os.path.join(self.tmp, "tiny_static")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("cc")
        built = cc and subprocess.run([cc, "-static", src, "-o", exe], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, timeout=DEADLINE).returncode == 0
        if not built:
            self.skipTest("cc -static failed (is libc6-dev's libc.a installed?): static refusal not tested")
        self.refused([exe], "is statically linked")

    def test_setuid_program(self):
        exe = os.path.join(self.tmp, "setuid_copy")
        if os.getuid() == 0:
            shutil.copy(prog("clean_single"), exe)
            os.chown(exe, 65534, 65534)
            os.chmod(exe, 0o4755)
        else:
            system = [p for p in ("/usr/bin/passwd", "/usr/bin/su", "/bin/su", "/usr/bin/mount")
                      if os.path.exists(p) and os.stat(p).st_mode & stat.S_ISUID and os.stat(p).st_uid != os.getuid()]
            if not system:
                self.skipTest("not root and no set-user-ID program found: setuid refusal not tested")
            exe = system[0]
        self.refused([exe, "--version"], "is set-user-ID")

    def test_suppressions_file_that_is_no_file(self):
        with tempfile.TemporaryDirectory(prefix="forkaudit-supp-dir.", dir=RUNS_TMPDIR) as tmp:
            r = launch(["--suppressions", tmp, "true"])
            self.assertEqual(r.rc, 2)
            self.assertIn("forkaudit: nothing was run: the suppressions file %s is a directory" % tmp, r.err)
            r = launch(["--suppressions", os.path.join(tmp, "none.supp"), "true"])
            self.assertEqual(r.rc, 2)
            self.assertIn("none.supp cannot be opened: No such file or directory", r.err)
            r = launch(["--suppressions", "/dev/zero", "true"])
            self.assertEqual(r.rc, 2)
            self.assertIn("/dev/zero is not a regular file", r.err)

    def test_missing_command(self):
        self.refused(["--", "no-such-command-forkaudit-test"], "command not found in PATH: no-such-command")
        self.refused([os.path.join(self.tmp, "absent")], "command not found: ")

    def test_missing_library(self):
        self.refused([prog("clean_single")], "FORKAUDIT_LIB",
                     {"FORKAUDIT_LIB": os.path.join(self.tmp, "nowhere", "libforkaudit.so")})

    def test_script_whose_interpreter_is_static(self):
        static = os.path.join(self.tmp, "interp_static")
        src = os.path.join(self.tmp, "interp.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        cc = shutil.which("cc")
        if not cc or subprocess.run([cc, "-static", src, "-o", static], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=DEADLINE).returncode != 0:
            self.skipTest("cc -static failed: #! interpreter check not tested")
        script = os.path.join(self.tmp, "script")
        with open(script, "w") as f:
            f.write("#!%s\n" % static)
        os.chmod(script, 0o755)
        self.refused([script], "interp_static is statically linked")


class Explain(unittest.TestCase):
    """forkaudit explain PID on tests/progs/state_dump, which waits for the dump signal with a
    worker holding a mutex; the program ends by itself once it was dumped."""

    SIG = signal.SIGRTMIN + 3

    def start(self, options, preload=True, mode=None, ignored=False):
        """Starts state_dump (with the dump signal ignored, inherited through exec, when
        `ignored`); returns (process, ready pid, values printed so far)."""
        env = dict(os.environ)
        env.pop("FORKAUDIT_OPTIONS", None)
        env.pop("LD_PRELOAD", None)
        if preload:
            env["LD_PRELOAD"] = LIBRARY
        if options is not None:
            env["FORKAUDIT_OPTIONS"] = options
        argv = [prog("state_dump"), str(self.SIG)] + ([mode] if mode else [])
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, start_new_session=True,
                             preexec_fn=(lambda: signal.signal(self.SIG, signal.SIG_IGN)) if ignored else None)
        self.addCleanup(self.stop, p)
        data = b""
        while b"ready pid=" not in data or not data.endswith(b"\n"):
            ready, _, _ = select.select([p.stdout], [], [], DEADLINE)
            self.assertTrue(ready, "state_dump did not get ready: %r" % data)
            chunk = os.read(p.stdout.fileno(), 4096)
            self.assertTrue(chunk, "state_dump ended early: %r" % data)
            data += chunk
        values = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line and " " not in line)
        pid = int(data.decode().split("ready pid=")[1].split()[0])
        return p, pid, values

    def stop(self, p):
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=DEADLINE)

    def finish(self, p):
        """The program ends by itself after its dump; returns its stderr."""
        out, err = p.communicate(timeout=DEADLINE)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn(b"dumped=1", out)
        return err.decode()

    def log_options(self, fmt="json"):
        d = tempfile.mkdtemp(prefix="forkaudit-explain.", dir=RUNS_TMPDIR)
        return "dump_signal=%d:format=%s:log_path=%s" % (self.SIG, fmt, os.path.join(d, "log"))

    def test_prints_locks_and_threads(self):
        p, pid, values = self.start(self.log_options())
        r = launch(["explain", "--no-lines", str(pid)])
        self.assertEqual(r.rc, 0, r.err)
        self.finish(p)
        self.assertIn("process %d: state on SIGRTMIN+3" % pid, r.out)
        self.assertIn("not a child forked under forkaudit", r.out)
        self.assertIn("locks held now: 1", r.out)
        self.assertIn('pthread_mutex 0x', r.out)
        self.assertIn('held by thread %s "state_dump"' % values["worker_tid"], r.out)
        self.assertIn("#0 holder_main+0x", r.out)
        self.assertIn("locks inherited held from the parent: none", r.out)
        self.assertIn('thread %d "state_dump" (received the signal)' % pid, r.out)
        self.assertIn("wait_for_dump+0x", r.out)
        self.assertIn("stack: not collected: stack_signal is off", r.out)

    def test_child_that_inherited_a_held_lock(self):
        p, pid, values = self.start(self.log_options(), mode="child")
        r = launch(["explain", "--no-lines", str(pid)])
        self.assertEqual(r.rc, 0, r.err)
        self.finish(p)
        main_tid = int(values["main_tid"])
        self.assertIn("forked by thread %d of process %d at its fork #1 (via fork)" % (main_tid, main_tid), r.out)
        self.assertIn("locks held now: none", r.out)
        self.assertIn("locks inherited held from the parent: 1", r.out)
        self.assertIn("held at the fork by thread %s of the parent, which this process does not have"
                      % values["worker_tid"], r.out)
        self.assertIn("stack: not unwound: a forked child of a multithreaded process", r.out)

    def test_json_record_as_it_is(self):
        p, pid, values = self.start(self.log_options())
        r = launch(["explain", "--json", str(pid)])
        self.assertEqual(r.rc, 0, r.err)
        self.finish(p)
        rec = json.loads(r.out)
        self.assertEqual(rec["kind"], "state")
        self.assertEqual(rec["pid"], pid)
        self.assertEqual(rec["locks_held"][0]["holder_tid"], int(values["worker_tid"]))

    def test_text_log_file_is_printed_as_written(self):
        p, pid, _ = self.start(self.log_options("text"))
        r = launch(["explain", str(pid)])
        self.assertEqual(r.rc, 0, r.err)
        self.finish(p)
        self.assertIn("==%d== forkaudit: NOTE: state: process %d" % (pid, pid), r.out)
        self.assertIn("locks held now: 1", r.out)

    def test_stderr_log_says_where_the_record_went(self):
        p, pid, _ = self.start("dump_signal=%d" % self.SIG)
        r = launch(["explain", str(pid)])
        self.assertEqual(r.rc, 0, r.err)
        self.assertIn("the state record went to the process's stderr (log_path=stderr", r.out)
        self.assertIn("forkaudit: NOTE: state: process %d" % pid, self.finish(p))

    def test_process_not_under_forkaudit(self):
        p, pid, _ = self.start(None, preload=False)
        r = launch(["explain", str(pid)])
        self.assertEqual(r.rc, 1)
        self.assertIn("process %d does not run under forkaudit" % pid, r.err)
        self.assertIsNone(p.poll())  # not signalled: the signal would have killed it

    def test_process_without_dump_signal(self):
        p, pid, _ = self.start("format=json")
        r = launch(["explain", str(pid)])
        self.assertEqual(r.rc, 1)
        self.assertIn("runs under forkaudit but without dump_signal: start it with FORKAUDIT_OPTIONS=dump_signal=%d"
                      % self.SIG, r.err)
        self.assertIsNone(p.poll())

    def test_signal_the_program_ignores_is_left_alone(self):
        p, pid, _ = self.start(self.log_options(), ignored=True)
        r = launch(["explain", str(pid)])
        self.assertEqual(r.rc, 1)
        self.assertIn("process %d does not catch dump_signal=%d (SIGRTMIN+3)" % (pid, self.SIG), r.err)
        p.kill()
        _, err = p.communicate(timeout=DEADLINE)
        self.assertIn(b"dump_signal=%d is off: the program already handles or ignores it" % self.SIG, err)

    def test_python_frames_of_a_state_record_are_shown(self):
        # The library's state record has no Python members yet: explain's rendering of
        # the ones fork-time records carry (a lock's `python`, a thread's `python_stack`).
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        from forkaudit_lib import explain, symbolize
        rec = {"kind": "state", "pid": 7, "tid": 7, "signal": int(self.SIG), "lineage": {"ppid": 1, "forks": 0},
               "locks_held": [{"type": "semaphore", "addr": "0x10", "holder_tid": 8, "holder_name": "stats-updater",
                               "python": {"kind": "threading.Lock", "name": "__main__.lock"}}],
               "threads": [{"tid": 8, "name": "stats-updater", "stack_missing": "not collected",
                            "python_stack": [{"file": "/srv/app.py", "line": 12, "function": "work",
                                              "own": True}]}]}
        lines = explain.render(rec, symbolize.Symbolizer(enabled=False))
        self.assertIn("    threading.Lock __main__.lock (semaphore 0x10)", lines)
        start = lines.index("      Python (most recent call first):")
        self.assertEqual(lines[start + 1], '        File "/srv/app.py", line 12, in work')

    def test_no_such_process_and_help(self):
        r = launch(["explain", str(2 ** 30)])
        self.assertEqual(r.rc, 2)
        self.assertIn("no process", r.err)
        r = launch(["explain", "--help"])
        self.assertEqual(r.rc, 0)
        for text in ("PID", "--timeout", "--json", "dump_signal", "exit status:"):
            self.assertIn(text, r.out)


def main():
    """Runs every test; returns 1 when one failed (or the build is missing), else 0."""
    if not os.path.isfile(LIBRARY) or not os.path.isfile(prog("fork_many")):
        print("%s or %s missing: run 'make tests' first" % (LIBRARY, prog("fork_many")))
        print("[  FAILED  ] 1 test(s), listed below:")
        shutil.rmtree(RUNS_TMPDIR, ignore_errors=True)
        return 1
    try:
        return cmocka_style.run_module(__name__)
    finally:
        shutil.rmtree(RUNS_TMPDIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
