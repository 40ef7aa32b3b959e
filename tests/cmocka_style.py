"""cmocka_style: runs Python unittest tests printing what cmocka prints ("[ RUN      ]",
"[  PASSED  ] N test(s).", ...), so that tests/run-tests.sh counts them with the C tests.
Used by tests/integration/test_launcher.py and tests/unit/test_kinds.py."""

import sys
import unittest


class CmockaStyleResult(unittest.TextTestResult):
    """Prints what cmocka prints, so tests/run-tests.sh counts these tests."""

    def startTest(self, test):
        super().startTest(test)
        self.stream.write("[ RUN      ] %s\n" % test.id())
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.stream.write("[       OK ] %s\n" % test.id())

    def _failed(self, test, err):
        self.stream.write("%s\n[  FAILED  ] %s\n" % (self._exc_info_to_string(err, test), test.id()))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._failed(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._failed(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.stream.write("%s\n[  SKIPPED ] %s\n" % (reason, test.id()))

    # unittest's own progress output is replaced by the lines above.
    def printErrors(self):
        pass


def run_module(module_name):
    """Runs every test of the module; returns 1 when one failed, else 0."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_name])
    print("[==========] Running %d test(s)." % suite.countTestCases())
    sys.stdout.flush()
    result = CmockaStyleResult(sys.stdout, descriptions=False, verbosity=0)
    suite.run(result)
    failed = [t.id() for t, _ in result.failures + result.errors]
    skipped = [t.id() for t, _ in result.skipped]
    passed = result.testsRun - len(failed) - len(skipped)
    print("[==========] %d test(s) run." % result.testsRun)
    print("[  PASSED  ] %d test(s)." % passed)
    if skipped:
        print("[  SKIPPED ] %d test(s), listed below:" % len(skipped))
        for name in skipped:
            print("[  SKIPPED ] %s" % name)
    if failed:
        print("[  FAILED  ] %d test(s), listed below:" % len(failed))
        for name in failed:
            print("[  FAILED  ] %s" % name)
    return 1 if failed else 0
