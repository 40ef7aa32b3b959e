#!/usr/bin/env python3
"""The launcher killed, as CI kills it (issue 15, item 1): SIGTERM, SIGINT or SIGHUP, sent
to the launcher alone or to its whole process group, while the command runs or after it
ended (leaving a hung child behind), and `timeout --preserve-status` itself. In every case
the launcher must end the whole audited tree, print the summary with the run directory,
write --json, and exit with 128+S; no audited process may be left.

Usage: python3 tests/integration/test_launcher_signals.py [BUILD_DIR]

The audited program is tests/progs/hang_tree (a child blocked forever on a mutex it
inherited locked; the parent waits for it, or exits at once). The test waits for its
"child_pid=N" line on a pipe before signalling (no sleeps; the timeout case only gives
timeout(1) its one second). Each case runs REPEAT times (FORKAUDIT_SIGNAL_REPEAT, default
20), four runs at a time: the race this guards against (the launcher's SIGTERM handler
signalling a child already reaped: "cannot run ./app: No such process", exit 127, no
summary) showed in about half of the runs.
"""

import concurrent.futures
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import cmocka_style  # noqa: E402
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
LAUNCHER = os.path.join(ROOT, "tools", "forkaudit")
LIBRARY = os.path.join(BUILD, "libforkaudit.so")
HANG = os.path.join(BUILD, "tests", "progs", "hang_tree")
REPEAT = int(os.environ.get("FORKAUDIT_SIGNAL_REPEAT", "20"))
DEADLINE = 60
TMP = tempfile.mkdtemp(prefix="forkaudit-signal-tests.")


def alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_child_pid(stream, deadline):
    """The N of the 'child_pid=N' line on `stream` (the launcher's stdout), or None."""
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            return None
        chunk = os.read(stream.fileno(), 256)
        if not chunk:
            return None
        data += chunk
    line = data.split(b"\n", 1)[0].decode()
    return int(line.split("=", 1)[1]) if line.startswith("child_pid=") else None


def one_run(n, signame, target, mode):
    """Runs the launcher on hang_tree MODE, signals it once the child exists, and returns
    a dict: rc, err, doc (the --json document or None), leftovers (audited pids still
    alive after the launcher ended), reason (why the run is bad, or '')."""
    signum = getattr(signal, "SIG" + signame)
    json_path = os.path.join(TMP, "%s-%s-%s-%d.json" % (signame, target, mode, n))
    env = dict(os.environ, FORKAUDIT_LIB=LIBRARY, TMPDIR=TMP)
    env.pop("FORKAUDIT_OPTIONS", None)
    argv = [LAUNCHER, "--no-lines", "--fail-on", "never", "--json", json_path, HANG, mode]
    if target == "timeout":
        argv = ["timeout", "--preserve-status", "1"] + argv
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + DEADLINE
    child = read_child_pid(p.stdout, deadline)
    if target == "alone":
        p.send_signal(signum)
    elif target == "group":
        os.killpg(p.pid, signum)
    try:
        _, err = p.communicate(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate()
        return {"reason": "the launcher did not end", "rc": None, "err": err.decode(), "leftovers": []}
    err = err.decode(errors="replace")
    doc = None
    try:
        with open(json_path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        pass
    pids = [child] if child else []
    if doc:
        pids += [proc["pid"] for proc in doc["processes"]]
    leftovers = [pid for pid in set(pids) if alive(pid)]
    for pid in leftovers:  # not left for the next test
        os.kill(pid, signal.SIGKILL)
    reason = ""
    if child is None:
        reason = "no child_pid line"
    elif p.returncode != 128 + signum:
        reason = "exit status %s, not %d" % (p.returncode, 128 + signum)
    elif "forkaudit: records in " not in err or "process tree (pid, program" not in err:
        reason = "no summary"
    elif doc is None:
        reason = "no --json document"
    elif not any(f["kind"] == "lock-held-at-fork" for f in doc["findings"]):
        reason = "the fork's lock-held-at-fork finding is missing"
    elif leftovers:
        reason = "audited processes left running: %s" % leftovers
    return {"reason": reason, "rc": p.returncode, "err": err, "leftovers": leftovers}


class Signals(unittest.TestCase):
    """Each case REPEAT times; the failures are listed with the first one's stderr."""

    def check(self, signame, target, mode="wait"):
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            runs = list(pool.map(lambda n: one_run(n, signame, target, mode), range(REPEAT)))
        bad = [r for r in runs if r["reason"]]
        print("SIG%s to %s (hang_tree %s): %d of %d runs gave the summary, the JSON file and status %d, "
              "nothing left" % (signame, target, mode, REPEAT - len(bad), REPEAT, 128 + getattr(signal, "SIG" + signame)))
        if bad:
            self.fail("%d of %d runs: %s\nfirst one's stderr:\n%s" % (
                len(bad), REPEAT, sorted({r["reason"] for r in bad}), bad[0]["err"][-3000:]))

    def test_sigterm_to_the_launcher(self):
        self.check("TERM", "alone")

    def test_sigterm_to_the_group(self):
        self.check("TERM", "group")

    def test_sigint_to_the_launcher(self):
        self.check("INT", "alone")

    def test_sigint_to_the_group(self):
        self.check("INT", "group")

    def test_sighup_to_the_launcher(self):
        self.check("HUP", "alone")

    def test_sighup_to_the_group(self):
        self.check("HUP", "group")

    def test_sigterm_after_the_command_ended(self):
        # hang_tree exit: the command exits 0 at once; its hung child is what is left.
        self.check("TERM", "alone", "exit")

    def test_sigterm_to_the_group_after_the_command_ended(self):
        self.check("TERM", "group", "exit")

    def test_timeout_preserve_status(self):
        if not shutil.which("timeout"):
            self.skipTest("timeout(1) is not installed")
        self.check("TERM", "timeout")


def main():
    """Runs every test; 1 when one failed or the build is missing."""
    if not os.path.isfile(LIBRARY) or not os.path.isfile(HANG):
        print("%s or %s missing: run 'make tests' first" % (LIBRARY, HANG))
        print("[  FAILED  ] 1 test(s), listed below:")
        return 1
    try:
        return cmocka_style.run_module(__name__)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
