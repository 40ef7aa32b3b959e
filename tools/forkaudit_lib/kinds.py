"""kinds: what the launcher knows of each kind of record, one entry per kind.

KINDS lists every kind the library writes, in the order of preload/findings/kinds.def (the
one list of record kinds): its name, phase, default level, title and help, copied from
there (the installed launcher has no C sources to read) and checked against it by
tests/unit/test_kinds.py, which prints the entry to paste when they disagree. Each entry
also says how the launcher treats the kind's records:

signature   the text that makes two records of the kind one finding (frames by name,
            never by address, so it is the same in every run); for `per_fd` kinds, of one
            descriptor: such a record is one finding per distinct descriptor signature
describe    one line saying what a finding is, from its example record
key_sites   [(label, frames)]: the stacks that say where it comes from, the one the
            signature is built from first
suggestion  the suppression rule the library suggested for it

A kind the launcher does not know (a newer library) is a warning with its record's stack
as signature and key site, and its name as description (`get`).
"""

import os

# Descriptor types whose target names the same thing in every run (pipes and sockets
# carry inode numbers instead).
STABLE_FD_TYPES = ("file", "directory", "char-device", "block-device", "fifo")


# --- frames and signatures ------------------------------------------------------------------

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


def _lock(rec):
    return rec.get("lock") or {}


def _rng(rec):
    return rec.get("rng") or {}


def _stack(rec):
    return rec.get("stack") or []


def _plural(n, word):
    """'1 thread', '2 threads'."""
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


# --- the default treatment (kinds without an entry of their own, unknown kinds) --------------

def stack_signature(rec):
    """The record's stack."""
    return frames_sig(rec.get("stack"))


def stack_sites(finding):
    return [("at", _stack(finding.example))]


def record_suggestion(finding):
    """The rule the record carries, for per_fd kinds the first descriptor's."""
    if finding.fds:
        return finding.fds[0].get("suppression")
    return finding.example.get("suppression")


# --- lock-held-at-fork, child-deadlock, child-stuck -----------------------------------------

def _lock_held_signature(rec):
    """Lock type + the frames where the lock was acquired."""
    return "%s|%s" % (_lock(rec).get("type"), frames_sig(_lock(rec).get("acquired_at")))


def _lock_held_describe(finding):
    lock = _lock(finding.example)
    what = lock.get("type", "lock")
    if lock.get("mutex_type"):
        what += " (%s)" % lock["mutex_type"]
    who = "the forking thread" if lock.get("holder_is_forking_thread") else "another thread"
    return "%s held by %s at the fork: the child inherits it locked" % (what, who)


def _lock_held_sites(finding):
    rec = finding.example
    return [("acquired at", _lock(rec).get("acquired_at") or []), ("fork at", _stack(rec))]


def _child_deadlock_signature(rec):
    """Lock type + where it was acquired + the child's stack."""
    return "%s|%s" % (_lock_held_signature(rec), frames_sig(rec.get("stack")))


def _child_deadlock_describe(finding):
    return "a forked child is about to wait forever for a %s held at the fork" % (
        _lock(finding.example).get("type", "lock"))


def _child_deadlock_sites(finding):
    rec = finding.example
    return [("the child blocks at", _stack(rec)), ("acquired at", _lock(rec).get("acquired_at") or [])]


def _child_stuck_describe(finding):
    rec = finding.example
    text = "a forked child is blocked in a futex wait %ss after the fork (a lock no wrapper saw)" % (
        rec.get("stuck_for_s", "?"))
    if rec.get("suspect_tid"):
        text += "; likely culprit: the parent's thread %s (%s)" % (rec["suspect_tid"], rec.get("suspect_evidence", ""))
    return text


def _child_stuck_sites(finding):
    rec = finding.example
    suspect = [t for t in rec.get("parent_threads") or [] if t.get("tid") == rec.get("suspect_tid")]
    return [("the child blocks at", _stack(rec))] + [
        ("the suspect thread %s was at the fork" % t["tid"], t.get("stack_at_fork") or []) for t in suspect]


# --- threads-at-fork ------------------------------------------------------------------------

def _thread_sig(t):
    """A thread's part of a threads-at-fork signature: its start routine and where it was
    created, else its name (threads not made through the interposed pthread_create)."""
    if t.get("start_routine") or t.get("created_at"):
        return "%s<-%s" % (t.get("start_routine") or "?", frames_sig(t.get("created_at")))
    return "name=%s" % t.get("name", "?")


def _thread_label(t):
    return t.get("start_routine") or t.get("name") or "?"


def _threads_signature(rec):
    """The set of the threads' start routines with their creation sites."""
    return ",".join(sorted({_thread_sig(t) for t in rec.get("threads") or []}))


def _threads_describe(finding):
    threads = finding.example.get("threads") or []
    routines = sorted({_thread_label(t) for t in threads})
    return "%s running at the fork (%s): the child has none of them" % (
        _plural(len(threads), "other thread"), ", ".join(routines))


def _threads_sites(finding):
    rec = finding.example
    sites = [("thread %s created at" % _thread_label(t), t.get("created_at") or []) for t in rec.get("threads") or []]
    return sites + [("fork at", _stack(rec))]


def _threads_suggestion(finding):
    """The rules of all its threads joined by ' + '."""
    rules = [t.get("suppression") for t in finding.example.get("threads") or [] if t.get("suppression")]
    return " + ".join(dict.fromkeys(rules)) or None


# --- fds-at-fork, fds-leaked-at-exec (per descriptor) ---------------------------------------

def _fd_signature(fd):
    """One descriptor's signature: its type and where it was opened; without an opening
    site, its target when that is stable (a path), else its number."""
    base = fd.get("type") or "?"
    if fd.get("opened_at"):
        return "%s@%s" % (base, frames_sig(fd["opened_at"]))
    if base in STABLE_FD_TYPES and fd.get("target"):
        return "%s=%s" % (base, fd["target"])
    return "%s#fd%s" % (base, fd.get("fd"))


def _fd_list(fds):
    """'fds 3, 4 -> pipe:[123] (pipe, r/w)'-style text for descriptors of one signature."""
    numbers = ", ".join(str(fd.get("fd")) for fd in fds)
    targets = list(dict.fromkeys(fd.get("target") or "?" for fd in fds))
    shown = ", ".join(targets[:3]) + (", ..." if len(targets) > 3 else "")
    access = "/".join(dict.fromkeys(fd.get("access") or "?" for fd in fds))
    return "fd%s %s -> %s (%s, %s)" % ("s" if len(fds) > 1 else "", numbers, shown, fds[0].get("type", "?"), access)


def _fd_opened_site(finding):
    fd = finding.fds[0] if finding.fds else {}
    return ("fd %s opened at" % fd.get("fd"), fd.get("opened_at") or [])


def _fds_describe(finding):
    return "%s inherited by the child" % _fd_list(finding.fds)


def _fds_sites(finding):
    return [_fd_opened_site(finding), ("fork at", _stack(finding.example))]


def _exec_fds_describe(finding):
    exe = finding.example.get("exec") or {}
    return "%s passes into %s (%s) without close-on-exec" % (
        _fd_list(finding.fds), exe.get("path", "?"), exe.get("via", "exec"))


def _exec_fds_sites(finding):
    return [_fd_opened_site(finding), ("exec at", _stack(finding.example))]


# --- rng-at-fork, rng-reused-in-child -------------------------------------------------------

def _rng_signature(rec):
    """Generator family + seeding site."""
    return "%s|%s" % (_rng(rec).get("family"), frames_sig(_rng(rec).get("seeded_at")))


def _rng_describe(finding):
    return "the %s() generator was seeded before the fork: parent and child draw the same numbers" % (
        _rng(finding.example).get("family", "?"))


def _rng_sites(finding):
    rec = finding.example
    return [("seeded at", _rng(rec).get("seeded_at") or []), ("fork at", _stack(rec))]


def _rng_reused_describe(finding):
    rng = _rng(finding.example)
    if rng.get("same"):
        return "a child drew from the %s() generator inherited unreseeded: the same number as its parent" % (
            rng.get("family", "?"))
    return "a child drew from the %s() generator it inherited without reseeding" % rng.get("family", "?")


def _rng_reused_sites(finding):
    rec = finding.example
    return [("seeded at", _rng(rec).get("seeded_at") or []), ("drawn at", _stack(rec))]


# --- stdio-unflushed-at-fork ----------------------------------------------------------------

def _stream(rec):
    return rec.get("stream") or {}


def _stream_key(st):
    """What names a stream in every run: stdout/stderr/stdin, a file's path, else where it
    was opened (pipes and sockets carry inode numbers), else its descriptor type."""
    if st.get("name"):
        return st["name"]
    if st.get("type") in STABLE_FD_TYPES and st.get("target"):
        return st["target"]
    if st.get("opened_at"):
        return "%s@%s" % (st.get("type") or "?", frames_sig(st["opened_at"]))
    return st.get("type") or "?"


def _stdio_signature(rec):
    """The stream + the fork's stack: the flush belongs before that fork."""
    return "%s|%s" % (_stream_key(_stream(rec)), frames_sig(rec.get("stack")))


_BUFFERING = {"full": "fully buffered", "line": "line-buffered", "unbuffered": "unbuffered"}


def _stdio_describe(finding):
    st = _stream(finding.example)
    if st.get("name") or (st.get("target") or "").startswith("/"):
        who = st.get("name") or st["target"]
    else:
        who = "a stream on %s" % (st.get("target") or "fd %s" % st.get("fd"))
    if "pending_wide_chars" in st:
        pending = _plural(st["pending_wide_chars"], "wide character")
    else:
        pending = _plural(st.get("pending_bytes", 0), "byte")
    return "%s (%s) held %s not yet written at the fork: parent and child both write them" % (
        who, _BUFFERING.get(st.get("buffering"), "?"), pending)


def _stdio_sites(finding):
    rec = finding.example
    sites = [("fork at", _stack(rec))]
    if _stream(rec).get("opened_at"):
        sites.append(("stream opened at", _stream(rec)["opened_at"]))
    return sites


# --- the table ------------------------------------------------------------------------------

class Kind:
    """One kind of record: `name`, `phase` (FORK, EXEC, CHILD, DUMP, EXIT; None for a kind
    the launcher does not know), `level` (the default severity), `title` and `help` (the
    SARIF rule's short and full description), and how its findings are treated (see the
    module's text)."""

    def __init__(self, name, phase, level, title, help_text, signature=stack_signature, describe=None,
                 key_sites=stack_sites, suggestion=record_suggestion, per_fd=False):
        self.name, self.phase, self.level, self.title, self.help = name, phase, level, title, help_text
        self.signature = signature
        self._describe = describe
        self.key_sites = key_sites
        self.suggestion = suggestion
        self.per_fd = per_fd

    @property
    def is_note(self):
        """Records of a note kind are never findings."""
        return self.level == "note"

    @property
    def unit(self):
        """What a finding's count counts: the execs for exec-time kinds, else the forks."""
        return "exec" if self.phase == "EXEC" else "fork"

    def describe(self, finding):
        """One line about the finding; without a describe of its own, the kind's title
        (the name, for a kind the launcher does not know)."""
        return self._describe(finding) if self._describe else self.title

    def signature_parts(self, rec):
        """[(signature, fds)] for a finding record: one entry, or for per_fd kinds one per
        distinct descriptor signature with the record's descriptors that have it (else None)."""
        if self.per_fd:
            groups = {}
            for fd in rec.get("fds") or []:
                groups.setdefault(_fd_signature(fd), []).append(fd)
            return [("%s|%s" % (self.name, sig), fds) for sig, fds in groups.items()]
        return [("%s|%s" % (self.name, self.signature(rec)), None)]

    def sarif_rule(self):
        """(default level, short description, full description)."""
        return self.level, self.title, self.help


KINDS = (
    Kind("lock-held-at-fork", "FORK", "error", "A lock was held at a fork",
         "A lock was held when the process forked. Held by another thread, it stays locked forever in the child, "
         "which hangs the first time it takes it; held by the forking thread, the child inherits the duty to unlock "
         "it (a warning).",
         signature=_lock_held_signature, describe=_lock_held_describe, key_sites=_lock_held_sites),
    Kind("threads-at-fork", "FORK", "warning", "Other threads were running at a fork",
         "The child of a multithreaded process has only the forking thread: the work the others were doing and the "
         "locks they held are gone.",
         signature=_threads_signature, describe=_threads_describe, key_sites=_threads_sites,
         suggestion=_threads_suggestion),
    Kind("fds-at-fork", "FORK", "warning", "A file descriptor is inherited by a forked child",
         "The child shares the descriptor, and for files the offset, with its parent; without close-on-exec it also "
         "passes into exec'd programs.",
         per_fd=True, describe=_fds_describe, key_sites=_fds_sites),
    Kind("rng-at-fork", "FORK", "warning", "A random generator was seeded before a fork",
         "Parent and child continue the same sequence and draw the same numbers.",
         signature=_rng_signature, describe=_rng_describe, key_sites=_rng_sites),
    Kind("stdio-unflushed-at-fork", "FORK", "warning", "A stdio stream held unwritten output at a fork",
         "Output written into a C stdio buffer (printf, fprintf, fwrite) or a Python stream's (print, "
         "sys.stdout.write, a file object's write: os.fork() flushes none of them) and not yet flushed is in the "
         "child's copy of the buffer too: parent and child each write it when they flush the stream, so it comes "
         "out twice. A child that only execs or _exits never flushes, and doubles nothing.",
         signature=_stdio_signature, describe=_stdio_describe, key_sites=_stdio_sites),
    Kind("fork", "FORK", "note", "A fork and what its audit counted",
         "One note per fork (verbosity=1, or when a table overflowed): the counts of findings and what did not "
         "fit."),
    Kind("fds-leaked-at-exec", "EXEC", "warning", "A file descriptor passes into an exec'd program",
         "A descriptor without close-on-exec stays open in the new program.",
         per_fd=True, describe=_exec_fds_describe, key_sites=_exec_fds_sites),
    Kind("rng-reused-in-child", "CHILD", "warning", "A child drew from a random generator inherited from its parent",
         "The child drew without reseeding: the parent draws or drew the same number.",
         signature=_rng_signature, describe=_rng_reused_describe, key_sites=_rng_reused_sites),
    Kind("child-deadlock", "CHILD", "error", "A forked child is about to block forever on a lock",
         "A forked child is taking a lock that was held at the fork by a thread the child does not have, or by "
         "itself in a way it cannot take again.",
         signature=_child_deadlock_signature, describe=_child_deadlock_describe, key_sites=_child_deadlock_sites),
    Kind("child-stuck", "CHILD", "error", "A forked child is stuck in a wait nobody can end",
         "A forked child of a multithreaded process has been blocked in the same untimed futex wait since the fork: "
         "most likely on a lock a thread of its parent held, which the child does not have.",
         describe=_child_stuck_describe, key_sites=_child_stuck_sites),
    Kind("state", "DUMP", "note", "What a running process holds",
         "Written on demand (dump_signal, forkaudit explain PID): the locks each thread holds, the locks inherited "
         "at the fork that made the process, and its threads."),
    Kind("suppressions", "EXIT", "note", "Which suppression rules matched",
         "At exit, when rules matched: each rule and how often it silenced a finding."),
)
BY_NAME = {k.name: k for k in KINDS}


def get(name):
    """The Kind of `name`; for a kind the launcher does not know, a warning treated by
    default (its name as title and help)."""
    known = BY_NAME.get(name)
    if known is not None:
        return known
    return Kind(name, None, "warning", name, name)


def finding_kinds():
    """The kinds whose records can be findings (not notes), in kinds.def order."""
    return [k for k in KINDS if not k.is_note]
