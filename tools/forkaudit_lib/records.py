"""records: what a run directory's JSON logs say, merged.

Every audited process writes its records (one JSON object per line) to <run dir>/log.<pid>.
This module reads them all and derives:

- the process tree: which pid forked which (from the `fork` notes written at verbosity=1:
  pid and fork.child_pid; and from each record's ppid), the executable of each process
  (the module of its `_start` frame) and the programs it exec'd, and the forks it made;
- the distinct findings: records of the same kind whose key frames agree are one finding,
  counted once per fork it occurred at (see signature_parts for what is compared).

Notes (`fork`, `suppressions`, any record whose severity is `note`) are not findings.
"""

import glob
import json
import os

SEVERITY_RANK = {"note": 0, "warning": 1, "error": 2}
NOTE_KINDS = ("fork", "suppressions")
# Descriptor types whose target names the same thing in every run (pipes and sockets
# carry inode numbers instead).
STABLE_FD_TYPES = ("file", "directory", "char-device", "block-device", "fifo")


def load(run_dir):
    """(records, problems): every record of every log.* file in `run_dir`, in file order per
    process (files by pid), and a list of "file:line: why" strings for lines that are not
    JSON objects (say, a process killed in the middle of a write). Missing or unreadable
    files are problems too; nothing raises."""
    records, problems = [], []

    def pid_of(path):
        """Sort key of a log file: its pid, numerically."""
        tail = path.rsplit(".", 1)[-1]
        return (0, int(tail)) if tail.isdigit() else (1, tail)

    for path in sorted(glob.glob(os.path.join(run_dir, "log.*")), key=pid_of):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as e:
            problems.append("%s: %s" % (path, e.strerror))
            continue
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                problems.append("%s:%d: not JSON (%s)" % (path, n, e))
                continue
            if isinstance(rec, dict) and isinstance(rec.get("kind"), str) and isinstance(rec.get("pid"), int):
                records.append(rec)
            else:
                problems.append("%s:%d: not a forkaudit record" % (path, n))
    return records, problems


def is_finding(rec):
    """True for records that report a hazard (severity error or warning), False for notes."""
    return rec.get("kind") not in NOTE_KINDS and rec.get("severity") in ("error", "warning")


def fork_key(rec):
    """Identity of the fork a record belongs to, unique in a run: (pid of the forking
    process, fork seq, child pid). A child's own records (child-deadlock,
    rng-reused-in-child, fds-leaked-at-exec before an exec) name the fork that made them
    (child_pid == their pid). An exec without a fork has no `fork`: ("exec", pid)."""
    fork = rec.get("fork")
    pid = rec.get("pid")
    if not isinstance(fork, dict):
        return ("exec", pid)
    child = fork.get("child_pid")
    parent = rec.get("ppid") if child == pid else pid
    return (parent, fork.get("seq"), child)


# --- process tree ---------------------------------------------------------------------------

class Process:
    """One pid of the run. `parent` is the pid that forked it when known; `exes` the
    executables seen running as this pid, in order; `execs` the programs it exec'd
    (fds-leaked-at-exec records); `forks` the set of forks it made; `label` is set for the
    top command by the launcher."""

    def __init__(self, pid):
        self.pid = pid
        self.ppid = None
        self.parent = None
        self.children = []
        self.exes = []
        self.execs = []
        self.forks = set()
        self.nrecords = 0
        self.label = None
        self.inherited = None

    def name(self):
        """Short text for the tree: the label, else the executables' base names
        ("a -> b" after an exec), else '' (pid only)."""
        if self.label:
            return self.label
        names = [os.path.basename(e) for e in self.exes or ([self.inherited] if self.inherited else [])]
        for e in self.execs:
            if not names or names[-1] != os.path.basename(e):
                names.append(os.path.basename(e))
        return " -> ".join(names)


def _exe_of(rec):
    """The main executable named by a record's stack (the module of `_start`), or None."""
    for frame in rec.get("stack") or []:
        if isinstance(frame, dict) and frame.get("function") == "_start":
            return frame.get("module")
    return None


def build_tree(records, root_pid, root_label=None):
    """(processes, roots): a dict pid -> Process for every pid the records name (reporting
    processes, their forked children) plus `root_pid` (the top command), and the list of
    top-level pids: root_pid first, then any process whose parent is unknown."""
    procs = {}

    def get(pid):
        """The Process of `pid`, made on first use."""
        if pid not in procs:
            procs[pid] = Process(pid)
        return procs[pid]

    root = get(root_pid)
    root.label = root_label
    forked_by = {}
    for rec in records:
        p = get(rec["pid"])
        p.nrecords += 1
        if p.ppid is None and isinstance(rec.get("ppid"), int):
            p.ppid = rec["ppid"]
        exe = _exe_of(rec)
        if exe and (not p.exes or p.exes[-1] != exe):
            p.exes.append(exe)
        exe_call = rec.get("exec") or {}
        if rec.get("kind") == "fds-leaked-at-exec" and not str(exe_call.get("via")).startswith("posix_spawn"):
            path = exe_call.get("path")  # (a posix_spawn record is the caller's: another pid runs it)
            if path and path not in p.execs:
                p.execs.append(path)
        fork = rec.get("fork")
        if not isinstance(fork, dict):
            continue
        child = fork.get("child_pid")
        if child == p.pid:
            if isinstance(rec.get("ppid"), int):
                forked_by.setdefault(p.pid, rec["ppid"])
        else:
            p.forks.add((fork.get("seq"), child))
            if isinstance(child, int):
                get(child)
                forked_by[child] = p.pid
    for pid, p in procs.items():
        parent = forked_by.get(pid, p.ppid)
        if parent in procs and parent != pid and pid != root_pid:
            p.parent = parent
    # Guard against cycles (pid reuse): a process whose ancestors loop back is a root.
    for p in procs.values():
        seen, q = {p.pid}, p
        while q.parent is not None:
            if q.parent in seen:
                p.parent = None
                break
            seen.add(q.parent)
            q = procs[q.parent]
    for p in sorted(procs.values(), key=lambda x: x.pid):
        if p.parent is not None:
            procs[p.parent].children.append(p.pid)
    for p in procs.values():
        q = p
        while p.nrecords and not p.exes and q.parent is not None and p.inherited is None:
            q = procs[q.parent]
            p.inherited = q.exes[-1] if q.exes else None
    roots = [root_pid] + sorted(pid for pid, p in procs.items() if p.parent is None and pid != root_pid)
    return procs, roots


# --- findings -------------------------------------------------------------------------------

def frame_name(frame):
    """A frame as the signatures compare it: function@module (the module's file name, so
    that two programs' `main` stay apart), or module+offset when the frame has no name.
    Addresses change from run to run; names and offsets do not."""
    module = os.path.basename(frame.get("module") or "?")
    if frame.get("function"):
        return "%s@%s" % (frame["function"], module)
    return "%s+%s" % (module, frame.get("offset") or frame.get("pc") or "?")


def frames_sig(frames):
    """The signature text of a list of frames: their names joined by ';'."""
    return ";".join(frame_name(f) for f in frames or [] if isinstance(f, dict))


def _fd_sig(fd):
    """One descriptor's signature: its type and where it was opened; without an opening
    site, its target when that is stable (a path), else its number."""
    base = fd.get("type") or "?"
    if fd.get("opened_at"):
        return "%s@%s" % (base, frames_sig(fd["opened_at"]))
    if base in STABLE_FD_TYPES and fd.get("target"):
        return "%s=%s" % (base, fd["target"])
    return "%s#fd%s" % (base, fd.get("fd"))


def _thread_sig(t):
    """A thread's part of a threads-at-fork signature: its start routine and where it was
    created, else its name (threads not made through the interposed pthread_create)."""
    if t.get("start_routine") or t.get("created_at"):
        return "%s<-%s" % (t.get("start_routine") or "?", frames_sig(t.get("created_at")))
    return "name=%s" % t.get("name", "?")


def signature_parts(rec):
    """[(signature, fds)] for a finding record: one entry, or for the fd kinds one per
    distinct descriptor signature with the record's descriptors that have it (else None).

    lock-held-at-fork  lock type + the frames where the lock was acquired
    child-deadlock     lock type + where it was acquired + the child's stack
    child-stuck        the child's stack (the record's stack, as other kinds)
    threads-at-fork    the set of the threads' start routines with their creation sites
    fds-at-fork, fds-leaked-at-exec   per descriptor: type + opening site
    rng-at-fork, rng-reused-in-child  generator family + seeding site
    other kinds        the record's stack
    """
    kind = rec.get("kind")
    if kind in ("fds-at-fork", "fds-leaked-at-exec"):
        groups = {}
        for fd in rec.get("fds") or []:
            groups.setdefault(_fd_sig(fd), []).append(fd)
        return [("%s|%s" % (kind, sig), fds) for sig, fds in groups.items()]
    lock = rec.get("lock") or {}
    rng = rec.get("rng") or {}
    if kind == "lock-held-at-fork":
        body = "%s|%s" % (lock.get("type"), frames_sig(lock.get("acquired_at")))
    elif kind == "child-deadlock":
        body = "%s|%s|%s" % (lock.get("type"), frames_sig(lock.get("acquired_at")), frames_sig(rec.get("stack")))
    elif kind == "threads-at-fork":
        body = ",".join(sorted({_thread_sig(t) for t in rec.get("threads") or []}))
    elif kind in ("rng-at-fork", "rng-reused-in-child"):
        body = "%s|%s" % (rng.get("family"), frames_sig(rng.get("seeded_at")))
    else:
        body = frames_sig(rec.get("stack"))
    return [("%s|%s" % (kind, body), None)]


class Finding:
    """One distinct finding: `kind`, `severity` (the highest seen), `signature`, `count`
    (the forks it occurred at; for fds-leaked-at-exec, the execs), the reporting `pids`,
    and the first record as `example` (`fds`: for the fd kinds, the example's descriptors
    that have this signature)."""

    def __init__(self, kind, signature, example, fds):
        self.kind = kind
        self.signature = signature
        self.example = example
        self.fds = fds
        self.severity = "note"
        self.occurrences = set()
        self.pids = set()

    @property
    def count(self):
        """The number of forks (execs) where the finding occurred."""
        return len(self.occurrences)

    @property
    def unit(self):
        """What `count` counts: 'exec' or 'fork'."""
        return "exec" if self.kind == "fds-leaked-at-exec" else "fork"

    def add(self, rec, index):
        """Counts record number `index` of the run (an exec is one occurrence per record)."""
        if SEVERITY_RANK.get(rec.get("severity"), 0) > SEVERITY_RANK[self.severity]:
            self.severity = rec["severity"]
        self.occurrences.add(("exec", index) if self.unit == "exec" else fork_key(rec))
        self.pids.add(rec["pid"])


def collect_findings(records):
    """The distinct findings of `records`, errors first, then by count (highest first),
    then by kind and signature (a stable order for tests and diffs)."""
    found = {}
    for index, rec in enumerate(records):
        if not is_finding(rec):
            continue
        for sig, fds in signature_parts(rec):
            if sig not in found:
                found[sig] = Finding(rec["kind"], sig, rec, fds)
            found[sig].add(rec, index)
    return sorted(found.values(),
                  key=lambda f: (-SEVERITY_RANK[f.severity], -f.count, f.kind, f.signature))


def suppressions_used(records):
    """{rule: hits} summed over the `suppressions` notes processes write at exit."""
    used = {}
    for rec in records:
        if rec.get("kind") == "suppressions":
            for s in rec.get("suppressions") or []:
                if isinstance(s, dict) and s.get("rule"):
                    used[s["rule"]] = used.get(s["rule"], 0) + int(s.get("hits") or 0)
    return used


# --- what to show of a finding ----------------------------------------------------------------

def _plural(n, word):
    """'1 thread', '2 threads'."""
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def _fd_list(fds):
    """'fds 3, 4 -> pipe:[123] (pipe, r/w)'-style text for descriptors of one signature."""
    numbers = ", ".join(str(fd.get("fd")) for fd in fds)
    targets = list(dict.fromkeys(fd.get("target") or "?" for fd in fds))
    shown = ", ".join(targets[:3]) + (", ..." if len(targets) > 3 else "")
    access = "/".join(dict.fromkeys(fd.get("access") or "?" for fd in fds))
    return "fd%s %s -> %s (%s, %s)" % ("s" if len(fds) > 1 else "", numbers, shown, fds[0].get("type", "?"), access)


def suggested_rule(finding):
    """The suppression rule the library suggested for the finding (its records carry
    `suppression`), or None: for threads, the rules of all its threads joined by ' + '."""
    if finding.fds:
        return finding.fds[0].get("suppression")
    if finding.kind == "threads-at-fork":
        rules = [t.get("suppression") for t in finding.example.get("threads") or [] if t.get("suppression")]
        return " + ".join(dict.fromkeys(rules)) or None
    return finding.example.get("suppression")


def describe(finding):
    """One line saying what the finding is, from its example record."""
    rec, kind = finding.example, finding.kind
    lock = rec.get("lock") or {}
    rng = rec.get("rng") or {}
    if kind == "lock-held-at-fork":
        what = lock.get("type", "lock")
        if lock.get("mutex_type"):
            what += " (%s)" % lock["mutex_type"]
        who = "the forking thread" if lock.get("holder_is_forking_thread") else "another thread"
        return "%s held by %s at the fork: the child inherits it locked" % (what, who)
    if kind == "child-deadlock":
        return "a forked child is about to wait forever for a %s held at the fork" % lock.get("type", "lock")
    if kind == "child-stuck":
        text = "a forked child is blocked in a futex wait %ss after the fork (a lock no wrapper saw)" % (
            rec.get("stuck_for_s", "?"))
        if rec.get("suspect_tid"):
            text += "; likely culprit: the parent's thread %s (%s)" % (rec["suspect_tid"], rec.get("suspect_evidence", ""))
        return text
    if kind == "threads-at-fork":
        threads = rec.get("threads") or []
        routines = sorted({t.get("start_routine") or t.get("name") or "?" for t in threads})
        return "%s running at the fork (%s): the child has none of them" % (
            _plural(len(threads), "other thread"), ", ".join(routines))
    if kind == "fds-at-fork":
        return "%s inherited by the child" % _fd_list(finding.fds)
    if kind == "fds-leaked-at-exec":
        exe = rec.get("exec") or {}
        return "%s passes into %s (%s) without close-on-exec" % (
            _fd_list(finding.fds), exe.get("path", "?"), exe.get("via", "exec"))
    if kind == "rng-at-fork":
        return "the %s() generator was seeded before the fork: parent and child draw the same numbers" % (
            rng.get("family", "?"))
    if kind == "rng-reused-in-child":
        if rng.get("same"):
            return "a child drew from the %s() generator inherited unreseeded: the same number as its parent" % (
                rng.get("family", "?"))
        return "a child drew from the %s() generator it inherited without reseeding" % rng.get("family", "?")
    return kind


def key_sites(finding):
    """[(label, frames)]: the stacks that say where the finding comes from, the key stack
    first (the one the signature is built from)."""
    rec, kind = finding.example, finding.kind
    lock = rec.get("lock") or {}
    rng = rec.get("rng") or {}
    stack = rec.get("stack") or []
    if kind == "lock-held-at-fork":
        return [("acquired at", lock.get("acquired_at") or []), ("fork at", stack)]
    if kind == "child-deadlock":
        return [("the child blocks at", stack), ("acquired at", lock.get("acquired_at") or [])]
    if kind == "child-stuck":
        suspect = [t for t in rec.get("parent_threads") or [] if t.get("tid") == rec.get("suspect_tid")]
        return [("the child blocks at", stack)] + [
            ("the suspect thread %s was at the fork" % t["tid"], t.get("stack_at_fork") or []) for t in suspect]
    if kind == "threads-at-fork":
        sites = [("thread %s created at" % (t.get("start_routine") or t.get("name") or "?"), t.get("created_at") or [])
                 for t in rec.get("threads") or []]
        return sites + [("fork at", stack)]
    if kind in ("fds-at-fork", "fds-leaked-at-exec"):
        fd = finding.fds[0] if finding.fds else {}
        last = ("exec at", stack) if kind == "fds-leaked-at-exec" else ("fork at", stack)
        return [("fd %s opened at" % fd.get("fd"), fd.get("opened_at") or []), last]
    if kind in ("rng-at-fork", "rng-reused-in-child"):
        return [("seeded at", rng.get("seeded_at") or []),
                ("drawn at" if kind == "rng-reused-in-child" else "fork at", stack)]
    return [("at", stack)]
