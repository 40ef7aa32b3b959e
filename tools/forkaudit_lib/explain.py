"""explain: `forkaudit explain PID` asks a running process for its state record (the
library's option dump_signal) and prints it readably.

Steps: the process must have libforkaudit.so mapped (/proc/PID/maps); its
FORKAUDIT_OPTIONS (/proc/PID/environ) give dump_signal, format and log_path; the signal
must be caught (/proc/PID/status, SigCgt: an uncaught real-time signal would kill it).
Then the signal is sent and the log file is read from its size before the signal until
a new `state` record of PID arrives, for at most --timeout seconds.
"""

import argparse
import json
import os
import re
import signal
import sys
import time

from . import summary, symbolize

OPTION_SEPARATORS = re.compile(r"[:,\s]+")
SIGRTMIN = getattr(signal, "SIGRTMIN", 34)
RETRIES = 3  # sends when the process answers that it is busy (a fork audit in progress)

DESCRIPTION = """\
Ask process PID, which runs with libforkaudit.so preloaded and the library option
dump_signal=N, to write its `state` record (its fork lineage, the locks held now and by
which thread, the locks it inherited held from its parent, its threads and stacks), and
print that record readably."""

EPILOG = """\
how the record is found:
  The process must run under forkaudit: libforkaudit.so mapped (/proc/PID/maps). Its
  FORKAUDIT_OPTIONS (/proc/PID/environ, as it started) give dump_signal, format and log_path.
  With log_path a file (the pid appended, or %%p expanded; relative paths from the process's
  current directory) the new record is read from that file: format=json is printed
  readably (or as it is with --json), format=text as written. With log_path=stderr or stdout
  the record goes there; explain says where (and reads it when that is a regular file).

  Start a program for explain like this (SIGRTMIN+3 = %d on Linux with glibc):
    FORKAUDIT_OPTIONS=dump_signal=%d:format=json:log_path=/tmp/fa.log \\
    LD_PRELOAD=/path/to/libforkaudit.so  program ...
  or through the launcher: forkaudit -o dump_signal=%d -- program ...

exit status:
  0  the record was printed (or sent to stderr/stdout, as said)
  1  the process does not run under forkaudit, has no dump_signal, does not catch the
     signal, or wrote no state record within --timeout seconds
  2  usage error, no such process, or not allowed to inspect or signal it
""" % ((SIGRTMIN + 3,) * 3)


class Failure(Exception):
    """A reason to stop, with the exit status."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def parse_args(argv):
    p = argparse.ArgumentParser(prog="forkaudit explain", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pid", metavar="PID", type=int, help="the process to ask")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=5.0,
                   help="how long to wait for the record (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the JSON record as it is (format=json logs)")
    p.add_argument("--no-lines", action="store_true", help="do not run addr2line: frames as function+offset")
    args = p.parse_args(argv)
    if args.pid <= 0:
        p.error("PID must be a positive process id")
    if not 0 < args.timeout <= 600:
        p.error("--timeout must be from 0 to 600 seconds")
    return args


def _read_proc(pid, name, binary=False):
    path = "/proc/%d/%s" % (pid, name)
    try:
        with open(path, "rb" if binary else "r", errors=None if binary else "replace") as f:
            return f.read()
    except FileNotFoundError:
        raise Failure("no process %d" % pid, 2)
    except PermissionError:
        raise Failure("not allowed to read %s (another user's process?)" % path, 2)
    except ProcessLookupError:
        raise Failure("no process %d" % pid, 2)


def runs_under_forkaudit(pid):
    """1 when libforkaudit.so is mapped in the process."""
    for line in _read_proc(pid, "maps").splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and os.path.basename(parts[5]).startswith("libforkaudit"):
            return True
    return False


def library_options(pid):
    """FORKAUDIT_OPTIONS of the process as a dict (later keys win, as in the library)."""
    env = _read_proc(pid, "environ", binary=True).split(b"\0")
    spec = ""
    for entry in env:
        if entry.startswith(b"FORKAUDIT_OPTIONS="):
            spec = entry[len(b"FORKAUDIT_OPTIONS="):].decode("utf-8", "replace")
    opts = {}
    for token in OPTION_SEPARATORS.split(spec):
        key, eq, value = token.partition("=")
        if eq:
            opts[key] = value
    return opts


def signal_caught(pid, sig):
    """Whether the process catches `sig` (SigCgt of /proc/PID/status)."""
    for line in _read_proc(pid, "status").splitlines():
        if line.startswith("SigCgt:"):
            return bool((int(line.split()[1], 16) >> (sig - 1)) & 1)
    return False


def signal_name(sig):
    if SIGRTMIN <= sig <= getattr(signal, "SIGRTMAX", 64):
        return "SIGRTMIN+%d" % (sig - SIGRTMIN)
    try:
        return signal.Signals(sig).name
    except ValueError:
        return "signal %d" % sig


def log_destination(pid, opts):
    """(path of the log file or None, description) for the process."""
    log_path = opts.get("log_path", "stderr")
    if log_path in ("stderr", "stdout"):
        fd = 2 if log_path == "stderr" else 1
        try:
            target = os.readlink("/proc/%d/fd/%d" % (pid, fd))
        except OSError:
            target = None
        where = "the process's %s (log_path=%s%s)" % (log_path, log_path, ", " + target if target else "")
        return (target if target and os.path.isfile(target) else None), where
    path = log_path.replace("%p", str(pid)) if "%p" in log_path else "%s.%d" % (log_path, pid)
    if not os.path.isabs(path):
        try:
            path = os.path.join(os.readlink("/proc/%d/cwd" % pid), path)
        except OSError:
            pass
    return path, path


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_from(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def find_json_state(text, pid):
    """The first complete state record of `pid` in the JSON lines `text`, or None."""
    for line in text.split("\n")[:-1]:  # complete lines only
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("kind") == "state" and rec.get("pid") == pid:
            return rec
    return None


def find_text_state(text, pid):
    """The lines of the first text state record of `pid` in `text`, or None."""
    prefix = "==%d== " % pid
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(prefix + "forkaudit: NOTE: state:"):
            out = [line]
            for rest in lines[i + 1:]:
                if not rest.startswith(prefix) or rest == prefix.rstrip() or rest == prefix:
                    break
                out.append(rest)
            return out
    return None


def _frames(lines, frames, indent, sym):
    if not frames:
        lines.append(indent + "(no stack)")
    for i, f in enumerate(frames or []):
        lines.append(indent + summary.format_frame(i, f, sym))


def _python_frames(lines, frames, indent):
    """A Python stack (a thread's `python_stack`, when the record has one) as traceback lines."""
    if frames:
        lines.append(indent + "Python (most recent call first):")
    for f in frames or []:
        lines.append(indent + "  " + summary.format_python_frame(f))


def _lock_line(lock):
    py = lock.get("python") or {}
    text = "%s %s" % (lock.get("type", "?"), lock.get("addr", "?"))
    if py.get("kind"):  # a Python lock: 'threading.Lock __main__.lock (semaphore 0x...)'
        text = "%s (%s)" % (" ".join(x for x in (py["kind"], py.get("name")) if x), text)
    details = [d for d in (lock.get("mutex_type"), "robust" if lock.get("robust") else None, lock.get("mode")) if d]
    if details:
        text += " (%s)" % ", ".join(details)
    return text


def render(rec, sym):
    """The state record `rec` as readable lines."""
    lines = []
    pid = rec.get("pid")
    if rec.get("unavailable"):
        return ["process %s: no state dump: %s" % (pid, rec["unavailable"])]
    lin = rec.get("lineage", {})
    sig = rec.get("signal")
    lines.append("process %s: state on %s (signal %s), received by thread %s"
                 % (pid, signal_name(sig) if isinstance(sig, int) else "?", sig, rec.get("tid")))
    if lin.get("forked_child"):
        lines.append("  lineage: parent %s; forked by thread %s of process %s at its fork #%s (via %s);\n"
                     "           forks made since: %s" % (lin.get("ppid"), lin.get("parent_tid", "?"), lin.get("parent_pid", "?"),
                                              lin.get("parent_fork_seq"), lin.get("via"), lin.get("forks")))
    else:
        lines.append("  lineage: parent %s; not a child forked under forkaudit; forks made so far: %s"
                     % (lin.get("ppid"), lin.get("forks")))
    held = rec.get("locks_held", [])
    lines.append("  locks held now: %s" % (len(held) if held else "none"))
    for lock in held:
        who = "thread %s" % lock.get("holder_tid")
        if lock.get("holder_name"):
            who += ' "%s"' % lock["holder_name"]
        if lock.get("holder_is_receiving_thread"):
            who += " (the receiving thread)"
        if lock.get("inherited"):
            who += ", inherited held at the fork"
        lines.append("    %s" % _lock_line(lock))
        lines.append("      held by %s; acquired at:" % who)
        _frames(lines, lock.get("acquired_at"), "        ", sym)
    inherited = rec.get("locks_inherited", [])
    lines.append("  locks inherited held from the parent: %s" % (len(inherited) if inherited else "none"))
    for lock in inherited:
        if lock.get("holder_gone"):
            who = ("held at the fork by thread %s of the parent, which this process does not have:\n"
                   "      nobody will unlock it" % lock.get("holder_tid"))
        else:
            who = ("held at the fork by the forking thread %s; its copy here, thread %s, still holds it"
                   % (lock.get("holder_tid"), lock.get("now_held_by_tid", "?")))
        lines.append("    %s" % _lock_line(lock))
        lines.append("      %s" % who)
        lines.append("      acquired at:")
        _frames(lines, lock.get("acquired_at"), "        ", sym)
    for key in ("locks_dropped", "locks_overflow"):
        if rec.get(key):
            lines.append("    ... and %s more not listed (%s)" % (rec[key], key))
    threads = rec.get("threads", [])
    lines.append("  threads: %d" % (len(threads) + rec.get("threads_dropped", 0)))
    for t in threads:
        head = '    thread %s "%s"' % (t.get("tid"), t.get("name", ""))
        if t.get("receiving"):
            head += " (received the signal)"
        if t.get("start_routine"):
            head += ", start routine %s" % t["start_routine"]
        lines.append(head)
        if t.get("created_at"):
            lines.append("      created at:")
            _frames(lines, t["created_at"], "        ", sym)
        if "stack" in t:
            lines.append("      now at:")
            _frames(lines, t["stack"], "        ", sym)
        else:
            lines.append("      stack: %s" % t.get("stack_missing", "unknown"))
        _python_frames(lines, t.get("python_stack"), "      ")
    if rec.get("threads_dropped"):
        lines.append("    ... and %d more (max_threads)" % rec["threads_dropped"])
    return lines


def _want_frames(rec, sym):
    for lock in rec.get("locks_held", []) + rec.get("locks_inherited", []):
        sym.want(lock.get("acquired_at"))
    for t in rec.get("threads", []):
        sym.want(t.get("created_at"))
        sym.want(t.get("stack"))


def explain(args, out):
    pid = args.pid
    if not os.path.exists("/proc/%d" % pid):
        raise Failure("no process %d" % pid, 2)
    if not runs_under_forkaudit(pid):
        raise Failure("process %d does not run under forkaudit (libforkaudit.so is not loaded in it)" % pid)
    opts = library_options(pid)
    try:
        sig = int(opts.get("dump_signal", "0"))
    except ValueError:
        sig = 0
    example = "FORKAUDIT_OPTIONS=dump_signal=%d (%s)" % (SIGRTMIN + 3, signal_name(SIGRTMIN + 3))
    if sig <= 0:
        raise Failure("process %d runs under forkaudit but without dump_signal: start it with %s"
                      % (pid, example))
    if not signal_caught(pid, sig):
        raise Failure("process %d does not catch dump_signal=%d (%s): the library did not install its "
                      "handler (see the process's stderr: the program handles or ignores that signal, or it "
                      "is also stack_signal); not sending it, it could kill the process"
                      % (pid, sig, signal_name(sig)))
    fmt = opts.get("format", "text")
    path, where = log_destination(pid, opts)
    for attempt in range(RETRIES):
        offset = _size(path) if path else 0
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            raise Failure("process %d ended" % pid, 2)
        except PermissionError:
            raise Failure("not allowed to send signal %d to process %d" % (sig, pid), 2)
        if not path:
            out.write("sent %s (signal %d) to process %d: the state record went to %s\n"
                      % (signal_name(sig), sig, pid, where))
            return 0
        deadline = time.monotonic() + args.timeout
        found = None
        while found is None and time.monotonic() < deadline:
            text = _read_from(path, offset)
            found = find_json_state(text, pid) if fmt == "json" else find_text_state(text, pid)
            if found is None:
                time.sleep(0.05)
        if found is None:
            raise Failure("no state record from process %d in %s within %g s (the program may have taken "
                          "signal %d for itself)" % (pid, where, args.timeout, sig))
        if fmt != "json":
            busy = "no state dump on signal" in found[0]
            if busy and attempt + 1 < RETRIES:
                continue  # busy: a fork audit or another dump; ask again
            out.write("\n".join(found) + "\n")
            return 1 if busy else 0
        if found.get("unavailable") and attempt + 1 < RETRIES:
            continue  # busy: a fork audit or another dump; ask again
        if args.json:
            out.write(json.dumps(found) + "\n")
            return 0 if not found.get("unavailable") else 1
        sym = symbolize.Symbolizer(enabled=not args.no_lines)
        _want_frames(found, sym)
        sym.run()
        out.write("\n".join(render(found, sym)) + "\n")
        return 0 if not found.get("unavailable") else 1
    return 1


def main(argv, out=sys.stdout):
    """`forkaudit explain ...`; returns the exit status."""
    args = parse_args(argv)
    try:
        return explain(args, out)
    except Failure as e:
        sys.stderr.write("forkaudit explain: %s\n" % e)
        return e.status
