"""records: what a run directory's JSON logs say, merged.

Every audited process writes its records (one JSON object per line) to <run dir>/log.<pid>.
This module reads them all and derives:

- the process tree: which pid forked which (from the `fork` notes written at verbosity=1:
  pid and fork.child_pid; and from each record's ppid), the executable of each process
  (the module of its `_start` frame) and the programs it exec'd, and the forks it made;
- the distinct findings: records of the same kind whose key frames agree are one finding,
  counted once per fork it occurred at (what each kind compares: kinds.py).

Notes (records of a note kind: `fork`, `state`, `suppressions`; any record whose severity is
`note`) are not findings.
"""

import glob
import json
import os

from . import kinds

SEVERITY_RANK = {"note": 0, "warning": 1, "error": 2}


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
    """True for records that report a hazard (severity error or warning), False for notes
    (and for every record of a note kind: fork, state, suppressions), and for a libc
    generator's rng-at-fork: the parent's side proves nothing, its child's
    rng-reused-in-child does (kinds.parent_rng_unproven)."""
    if kinds.get(rec.get("kind")).is_note or rec.get("severity") not in ("error", "warning"):
        return False
    return not kinds.parent_rng_unproven(rec)


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
        exe_call = rec.get("exec") or {}  # exec-time records (fds-leaked-at-exec) name the program
        if kinds.get(rec.get("kind")).phase == "EXEC" and not str(exe_call.get("via")).startswith(("posix_spawn", "popen", "system")):
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

def signature_parts(rec):
    """[(signature, fds)] for a finding record: one entry, or for the per-descriptor kinds
    (fds-at-fork, fds-leaked-at-exec) one per distinct descriptor signature with the
    record's descriptors that have it (else None). What each kind compares: kinds.py."""
    return kinds.get(rec.get("kind")).signature_parts(rec)


class Finding:
    """One distinct finding: `kind`, `severity` (the highest seen), `signature`, `count`
    (the forks it occurred at; for fds-leaked-at-exec, the execs), the reporting `pids`,
    and as `example` the first record of that highest severity, whose text the finding
    shows (`fds`: for the fd kinds, the example's descriptors that have this signature)."""

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
        return kinds.get(self.kind).unit

    def add(self, rec, index, fds=None):
        """Counts record number `index` of the run (an exec is one occurrence per record);
        a record more severe than those before becomes the example."""
        if SEVERITY_RANK.get(rec.get("severity"), 0) > SEVERITY_RANK[self.severity]:
            self.severity = rec["severity"]
            self.example, self.fds = rec, fds
        self.occurrences.add(("exec", index) if self.unit == "exec" else fork_key(rec))
        self.pids.add(rec["pid"])


def _lock_addr(rec):
    """The address of a lock-held-at-fork record's lock as a number, else None."""
    addr = (rec.get("lock") or {}).get("addr") if rec.get("kind") == "lock-held-at-fork" else None
    try:
        return int(addr, 16) if isinstance(addr, str) else None
    except ValueError:
        return None


def lock_ordinals(records, sigs):
    """{record index: n} for lock-held-at-fork records whose signature (sigs[index]) one
    process held at more than one address: locks with the same acquisition site and type
    (every std::mutex at -O0 with a call-site-only stack, every CPython lock without a
    Python name) are different locks, numbered 2, 3, ... in the order of their addresses
    among that process's locks of that signature (the lowest keeps the plain signature).
    The address tells them apart; the signature, and the SARIF fingerprint, gets only the
    number, which is the same in every run."""
    addrs = {}
    for index, sig in sigs.items():
        addr = _lock_addr(records[index])
        if addr is not None:
            addrs.setdefault((records[index]["pid"], sig), set()).add(addr)
    ordinals = {}
    for index, sig in sigs.items():
        addr = _lock_addr(records[index])
        group = sorted(addrs.get((records[index]["pid"], sig), ()))
        if addr is not None and len(group) > 1 and group.index(addr) > 0:
            ordinals[index] = group.index(addr) + 1
    return ordinals


def collect_findings(records):
    """The distinct findings of `records`, errors first, then by count (highest first),
    then by kind and signature (a stable order for tests and diffs). Locks of one
    signature held at different addresses in one process stay apart (lock_ordinals)."""
    parts = {index: signature_parts(rec) for index, rec in enumerate(records) if is_finding(rec)}
    ordinals = lock_ordinals(records, {i: p[0][0] for i, p in parts.items() if records[i]["kind"] == "lock-held-at-fork"})
    found = {}
    for index, rec_parts in parts.items():
        rec = records[index]
        for sig, fds in rec_parts:
            if index in ordinals:
                sig += "|lock#%d" % ordinals[index]
            if sig not in found:
                found[sig] = Finding(rec["kind"], sig, rec, fds)
            found[sig].add(rec, index, fds)
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


# --- what to show of a finding (each kind's own text and stacks: kinds.py) ------------------

def suggested_rule(finding):
    """The suppression rule the library suggested for the finding (its records carry
    `suppression`), or None: for threads, the rules of all its threads joined by ' + '."""
    return kinds.get(finding.kind).suggestion(finding)


def describe(finding):
    """One line saying what the finding is, from its example record."""
    return kinds.get(finding.kind).describe(finding)


def key_sites(finding):
    """[(label, frames)]: the stacks that say where the finding comes from, the key stack
    first (the one the signature is built from)."""
    return kinds.get(finding.kind).key_sites(finding)


def python_sites(finding):
    """[(label, Python frames)]: the Python stacks of the finding's example record, the one
    it is labelled and located by first; [] when its process ran no Python."""
    kind = kinds.get(finding.kind)
    sites = kind.python_sites(finding.example)
    fd = finding.fds[0] if kind.per_fd and finding.fds else {}
    if fd.get("python_opened_at"):  # a descriptor opened from Python: located where it was opened
        sites = [("fd %s opened at" % fd.get("fd"), fd["python_opened_at"])] + sites
    return sites


def python_site(finding):
    """(label, frame): the frame a finding of a Python process is labelled, grouped and
    located by, the innermost frame of the program's own code of its first Python site
    (the holder's for a lock, the fork's otherwise: kinds.py); None without Python frames."""
    sites = python_sites(finding)
    return (sites[0][0], kinds.own_python_frame(sites[0][1])) if sites else None
