#!/usr/bin/env python3
"""Tests of rng-at-fork for Python generators (/usr/bin/python3 at os.fork()).

Usage: python3 tests/integration/test_python_rng.py [BUILD_DIR]   (default: build)

Runs the programs tests/progs/python/rng_*.py under LD_PRELOAD with format=json and
parses the records. Checks that:
  - numpy's global generator seeded with np.random.seed(1234) is one rng-at-fork warning
    per fork (family numpy.random, name numpy.random.mtrand._rand, the seed, not drawn),
    with the Python fork site (file, line, function), and that its predicted next raw
    word and next random() are what each child and the parent then draw;
  - a random.Random instance of __main__ and one of a module of the program are reported
    by name with the values their children draw; the random module's hidden instance
    (random._inst, reseeded by CPython in the child), even bound to a global of the
    program, and the random module's functions are never reported;
  - numpy RandomState and Generator (PCG64) objects bound to globals are reported with
    the values the child draws; numpy's global generator untouched since import is a
    note at verbosity=1, and not written at verbosity=0;
  - a program without numpy or any generator gets no rng-at-fork record and runs as usual.
The child's draws come back through pipes (no sleeps); every run has a deadline. Needs
`make tests` first. Prints cmocka-style lines (tests/run-tests.sh counts them).
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_python_reports import PYTHON, audited_run, cmocka_style, marked_line, program  # noqa: E402

KIND = "rng-at-fork"


def numpy_installed():
    """Whether /usr/bin/python3 can import numpy (Debian's python3-numpy)."""
    return os.access(PYTHON, os.X_OK) and os.system("%s -c 'import numpy' 2>/dev/null" % PYTHON) == 0


def python_run(name, options=""):
    """audited_run of tests/progs/python/NAME.py under /usr/bin/python3 (format=json,
    verbosity=1 unless OPTIONS, appended to them, says otherwise)."""
    return audited_run([PYTHON, program(name)], options)


def output_lines(audit, tag):
    """The words after TAG of each line of the program's output that starts with it."""
    return [line.split()[1:] for line in audit.out.splitlines() if line.split()[:1] == [tag]]


def by_name(records):
    """{rng name: record} of rng-at-fork records, failing on a name seen twice."""
    named = {}
    for r in records:
        name = r["rng"]["name"]
        assert name not in named, "%s reported twice: %s" % (name, json.dumps(records, indent=1))
        named[name] = r
    return named


@unittest.skipUnless(numpy_installed(), "numpy is not installed for " + PYTHON)
class NumpyGlobalSeeded(unittest.TestCase):
    """rng_numpy_global.py: np.random.seed(1234), then two forks in fork_worker()."""

    @classmethod
    def setUpClass(cls):
        cls.path = program("rng_numpy_global")
        cls.audit = python_run("rng_numpy_global")
        cls.records = cls.audit.of_parent(KIND)
        cls.children = output_lines(cls.audit, "child")
        cls.parent = output_lines(cls.audit, "parent")

    def test_one_warning_per_fork_naming_the_global_generator(self):
        self.assertEqual(len(self.records), 2, json.dumps(self.records, indent=1))
        self.assertEqual([r["fork"]["seq"] for r in self.records], [1, 2])
        for record in self.records:
            self.assertEqual(record["severity"], "warning")
            rng = record["rng"]
            self.assertEqual(rng["family"], "numpy.random")
            self.assertEqual(rng["name"], "numpy.random.mtrand._rand")
            self.assertTrue(rng["global"])
            self.assertEqual((rng["type"], rng["bit_generator"]), ("numpy.random.mtrand.RandomState", "MT19937"))
            self.assertEqual((rng["seed"], rng["seeded_by"], rng["drawn"]), (1234, "numpy.random.seed", False))
            self.assertEqual(record["suppression"], "rng-at-fork:numpy.random.mtrand._rand")

    def test_the_python_fork_site(self):
        for record in self.records:
            self.assertEqual(record["python_stack"][0], {"file": self.path, "line": marked_line(self.path, "FORK-LINE"),
                                                         "function": "fork_worker", "own": True})

    def test_the_predicted_draws_are_every_childs_and_the_parents(self):
        self.assertEqual(len(self.children), 2, self.audit.out)
        for record, (raw, value) in zip(self.records, self.children):
            nxt = record["rng"]["next"]
            self.assertEqual(nxt["raw_bits"], 32)
            self.assertEqual(nxt["raw"], int(raw))
            self.assertEqual(nxt["random"], float(value))
        self.assertEqual(float(self.parent[0][0]), self.records[0]["rng"]["next"]["random"])


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class RandomInstances(unittest.TestCase):
    """rng_random_instance.py: __main__.rng and rng_helper.shuffler, beside the random
    module's functions and inst_alias = random._inst."""

    @classmethod
    def setUpClass(cls):
        cls.path = program("rng_random_instance")
        cls.audit = python_run("rng_random_instance")
        cls.named = by_name(cls.audit.of_parent(KIND))
        cls.child = output_lines(cls.audit, "child")
        cls.parent = output_lines(cls.audit, "parent")

    def test_exactly_the_programs_instances(self):
        self.assertEqual(sorted(self.named), ["__main__.rng", "rng_helper.shuffler"])
        for record in self.named.values():
            self.assertEqual(record["severity"], "warning")
            self.assertEqual(record["rng"]["family"], "random.Random")
            self.assertFalse(record["rng"]["global"])
        self.assertTrue(self.named["__main__.rng"]["rng"]["drawn"])
        self.assertFalse(self.named["rng_helper.shuffler"]["rng"]["drawn"])
        self.assertEqual(self.named["__main__.rng"]["suppression"], "rng-at-fork:__main__.rng")

    def test_the_python_fork_site(self):
        frames = self.named["__main__.rng"]["python_stack"]
        self.assertEqual(frames[0], {"file": self.path, "line": marked_line(self.path, "FORK-LINE"),
                                     "function": "fork_worker", "own": True})

    def test_the_predicted_draws_are_the_childs_and_the_parents(self):
        raw, value, helper = self.child[0]
        main = self.named["__main__.rng"]["rng"]["next"]
        self.assertEqual((main["raw"], main["raw_bits"]), (int(raw), 32))
        self.assertEqual(main["random"], float(value))
        self.assertEqual(self.named["rng_helper.shuffler"]["rng"]["next"]["random"], float(helper))
        self.assertEqual(self.parent[0], [value, helper])


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class RandomModuleOnly(unittest.TestCase):
    """rng_random_module_only.py: the random module's functions only."""

    def test_no_rng_record(self):
        audit = python_run("rng_random_module_only")
        self.assertEqual(len(audit.of_parent("fork")), 1, "the fork was not audited")
        self.assertEqual([r for r in audit.records if r["kind"] == KIND], [])
        # CPython did reseed the child: what the test relies on is true
        self.assertNotEqual(output_lines(audit, "child"), output_lines(audit, "parent"))


@unittest.skipUnless(os.access(PYTHON, os.X_OK), PYTHON + " is not installed")
class WithoutNumpy(unittest.TestCase):
    """rng_without_numpy.py: no numpy, no generator."""

    def test_nothing_reported_and_the_program_runs(self):
        audit = python_run("rng_without_numpy")
        self.assertEqual(audit.out.strip(), "numpy imported: False")
        forks = audit.of_parent("fork")
        self.assertEqual(len(forks), 1, "the fork was not audited")
        self.assertIn("python_stack", forks[0], "not captured as a Python fork")
        self.assertEqual([r for r in audit.records if r["kind"] == KIND], [])


@unittest.skipUnless(numpy_installed(), "numpy is not installed for " + PYTHON)
class NumpyInstances(unittest.TestCase):
    """rng_numpy_instances.py: __main__.gen (Generator on PCG64), __main__.legacy
    (RandomState(7)), numpy's global generator untouched since import."""

    @classmethod
    def setUpClass(cls):
        cls.audit = python_run("rng_numpy_instances")
        cls.named = by_name(cls.audit.of_parent(KIND))
        cls.child = output_lines(cls.audit, "child")[0]

    def test_the_generator_on_pcg64(self):
        rng = self.named["__main__.gen"]["rng"]
        self.assertEqual(self.named["__main__.gen"]["severity"], "warning")
        self.assertEqual((rng["family"], rng["type"], rng["bit_generator"]),
                         ("numpy.random", "numpy.random._generator.Generator", "PCG64"))
        self.assertEqual((rng["seed"], rng["seeded_by"]), (42, "SeedSequence"))
        self.assertNotIn("drawn", rng, "PCG64's state does not say whether it was drawn from")
        self.assertEqual(rng["next"]["raw_bits"], 64)
        self.assertEqual(rng["next"]["random"], float(self.child[0]))

    def test_the_random_state(self):
        rng = self.named["__main__.legacy"]["rng"]
        self.assertEqual((rng["type"], rng["seed"], rng["drawn"]), ("numpy.random.mtrand.RandomState", 7, False))
        self.assertEqual(rng["next"]["random"], float(self.child[1]))

    def test_the_untouched_global_generator_is_a_note(self):
        record = self.named["numpy.random.mtrand._rand"]
        self.assertEqual(record["severity"], "note")
        self.assertEqual(record["rng"]["seeded_by"], "numpy at import (OS entropy)")
        self.assertNotIn("seed", record["rng"])
        self.assertEqual(record["rng"]["next"]["random"], float(self.child[2]))
        warnings = [r for r in self.audit.records if r["pid"] == self.audit.pid and r["severity"] == "warning"]
        self.assertEqual(self.audit.of_parent("fork")[0]["warnings"], len(warnings), "the note counted as a warning")

    def test_at_verbosity_0_the_note_is_not_written(self):
        audit = python_run("rng_numpy_instances", ":verbosity=0")
        self.assertEqual(sorted(by_name(audit.of_parent(KIND))), ["__main__.gen", "__main__.legacy"])


if __name__ == "__main__":
    sys.exit(cmocka_style.run_module(__name__))
