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
python_sites [(label, Python frames)]: the same for a record of a Python process (its
            `python_stack` members), the site it is labelled and located by first (the
            holder's for a lock, the fork's otherwise); a Python record's signature adds
            the own frame (own_python_frame) of that first site, and for a child deadlock
            of the second too, so that Python findings at different lines stay apart

A kind the launcher does not know (a newer library) is a warning with its record's stack
as signature and key site, and its name as description (`get`).
"""

import os
import re

# Descriptor types whose target names the same thing in every run (pipes and sockets
# carry inode numbers instead).
STABLE_FD_TYPES = ("file", "directory", "char-device", "block-device", "fifo")


# --- frames and signatures ------------------------------------------------------------------

def frame_name(frame):
    """A frame as the signatures compare it: function@module (the module's file name, so
    that two programs' `main` stay apart), or module+offset when the frame has no name.
    Addresses change from run to run; names and offsets do not (a frame with neither is
    '?', never its pc)."""
    module = os.path.basename(frame.get("module") or "?")
    if frame.get("function"):
        return "%s@%s" % (frame["function"], module)
    return "%s+%s" % (module, frame.get("offset") or "?")


_ADDRESS = re.compile(r"^(0x)?[0-9a-fA-F]{6,}$")


def is_address(text):
    """True for text that is a bare address ('0x7f65d84d4490'): it changes from run to run
    and names nothing, so it never enters a signature."""
    return isinstance(text, str) and bool(_ADDRESS.match(text))


# Lock wrappers: frames between the program's function and the lock call, which name no
# lock of the program (std::lock_guard, std::unique_lock, std::mutex::lock, libstdc++'s
# __gthread_mutex_lock at -O0; in-house Mutex::lock()/Lock()/acquire() methods).
_WRAPPER_PREFIXES = ("std::", "__gthread", "__gthrw", "__gnu_cxx::", "absl::Mutex::", "boost::")
_WRAPPER_METHODS = re.compile(r"(^|::)(lock|Lock|lock_shared|LockShared|acquire|Acquire|Enter|lock_guard|"
                              r"unique_lock|scoped_lock|MutexLock|ScopedLock|LockGuard)(<.*>)?\(")


def is_lock_wrapper(frame):
    """True when a frame of an acquisition stack is lock-wrapper code, not the program's
    function that takes the lock: the C++ standard library's (std::, __gthread_*), or a
    method named lock/Lock/acquire (an in-house Mutex class's)."""
    fn = frame.get("function") or ""
    return fn.startswith(_WRAPPER_PREFIXES) or bool(_WRAPPER_METHODS.search(fn))


def past_wrappers(frames):
    """An acquisition stack without its leading lock-wrapper frames, when a frame of the
    program's is left (a call-site-only stack that is all wrapper stays as it is)."""
    frames = [f for f in frames or [] if isinstance(f, dict)]
    for i, f in enumerate(frames):
        if not is_lock_wrapper(f):
            return frames[i:]
    return frames


def frames_sig(frames):
    """The signature text of a list of frames: their names joined by ';'."""
    return ";".join(frame_name(f) for f in frames or [] if isinstance(f, dict))


def own_python_frame(frames):
    """The frame a Python stack (innermost first) is labelled and located by: the
    innermost frame of the program's own code (`own` true; a frame without `own`, such as
    child-deadlock's holder_python_site, was picked so by the library), else the
    innermost frame; None without frames."""
    frames = [f for f in frames or [] if isinstance(f, dict)]
    return next((f for f in frames if f.get("own", True)), frames[0] if frames else None)


def python_frame_sig(frame):
    """A Python frame as the signatures compare it: file:line:function."""
    return "%s:%s:%s" % (frame.get("file", "?"), frame.get("line", "?"), frame.get("function", "?"))


def _lock(rec):
    return rec.get("lock") or {}


def _python_lock(rec):
    """'threading.Lock __main__.lock' for a lock the library named in Python, else None."""
    py = _lock(rec).get("python") or {}
    return " ".join(x for x in (py.get("kind"), py.get("name")) if x) or None


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


def _python_stack(rec):
    return rec.get("python_stack") or []


def python_stack_at(label):
    """The python_sites of a kind whose only Python stack is the record's own (the fork's,
    the exec's, the child's), shown under `label`."""
    return lambda rec: [(label, _python_stack(rec))]


def record_suggestion(finding):
    """The rule the record carries, for per_fd kinds the first descriptor's."""
    if finding.fds:
        return finding.fds[0].get("suppression")
    return finding.example.get("suppression")


# --- lock-held-at-fork, child-deadlock, child-stuck -----------------------------------------

def _lock_held_signature(rec):
    """Lock type (and Python name) + the frames where the lock was acquired, past lock
    wrappers (past_wrappers). Never the lock's address: records of one signature held at
    one time in one process are told apart by the launcher (records.collect_findings)."""
    sig = "%s|%s" % (_lock(rec).get("type"), frames_sig(past_wrappers(_lock(rec).get("acquired_at"))))
    return sig + ("|" + _python_lock(rec) if _python_lock(rec) else "")


def _lock_what(rec):
    """'threading.Lock __main__.lock' for a Python lock, else its type (and mutex type)."""
    lock = _lock(rec)
    if _python_lock(rec):
        return _python_lock(rec)
    what = lock.get("type", "lock")
    if lock.get("mutex_type"):
        what += " (%s)" % lock["mutex_type"]
    return what


def _lock_held_describe(finding):
    lock = _lock(finding.example)
    who = "the forking thread" if lock.get("holder_is_forking_thread") else "another thread"
    if _python_lock(finding.example) and lock.get("holder_name") and not lock.get("holder_is_forking_thread"):
        who += ' ("%s")' % lock["holder_name"]
    return "%s held by %s at the fork: the child inherits it locked" % (_lock_what(finding.example), who)


def _lock_held_sites(finding):
    rec = finding.example
    return [("acquired at", past_wrappers(_lock(rec).get("acquired_at"))), ("fork at", _stack(rec))]


def _lock_suggestion(finding):
    """The library's rule, unless it names a lock wrapper (lock-held-at-fork:__gthread_mutex_lock
    would silence every std::mutex) and the acquisition stack reaches the program's
    function past the wrappers: then a rule naming that function."""
    rule = record_suggestion(finding)
    frames = _lock(finding.example).get("acquired_at") or []
    past = past_wrappers(frames)
    named = rule and frames and is_lock_wrapper(frames[0]) and (frames[0].get("function") or "") in rule
    if named and past and not is_lock_wrapper(past[0]) and past[0].get("function"):
        return "%s:%s" % (finding.kind, past[0]["function"])
    return rule


def _lock_held_python_sites(rec):
    """Where the holder was in Python at the fork (it holds the lock there), then the fork
    (left out when the forking thread is the holder: the same stack)."""
    lock = _lock(rec)
    if lock.get("holder_is_forking_thread"):
        return [("held by the forking thread at", _python_stack(rec))]
    holder = 'held by thread "%s" at' % lock["holder_name"] if lock.get("holder_name") else "held by its thread at"
    return [(holder, lock.get("holder_python_stack_at_fork") or []), ("fork at", _python_stack(rec))]


def _child_deadlock_signature(rec):
    """Lock type + where it was acquired + the child's stack."""
    return "%s|%s" % (_lock_held_signature(rec), frames_sig(rec.get("stack")))


def _child_deadlock_describe(finding):
    what = _python_lock(finding.example) or "a %s" % _lock(finding.example).get("type", "lock")
    return "a forked child is about to wait forever for %s held at the fork" % what


def _child_deadlock_sites(finding):
    rec = finding.example
    return [("the child blocks at", _stack(rec)), ("acquired at", past_wrappers(_lock(rec).get("acquired_at")))]


def _child_deadlock_python_sites(rec):
    """Where the parent's thread was in Python when it held the lock at the fork, then the
    child's Python stack at its blocking acquire."""
    site = _lock(rec).get("holder_python_site")
    return [("held at the fork at", [site] if isinstance(site, dict) else []),
            ("the child blocks at", _python_stack(rec))]


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

def _start_routine(t):
    """A thread's start routine as a name, None when the record gives only an address
    (a routine without a symbol: a std::thread's, libstdc++'s local execute_native_thread_routine)."""
    routine = t.get("start_routine")
    return None if not routine or is_address(routine) else routine


_STD_THREAD_CTOR = re.compile(r"^std::(?:jthread|thread)::(?:jthread|thread)<(.+?), .*>\(")


def _thread_callable(t):
    """The callable a std::thread (std::jthread) was made with, from the constructor's
    frame of its creation stack ('main::{lambda()#1}', 'Worker::run'), else None."""
    for frame in t.get("created_at") or []:
        m = _STD_THREAD_CTOR.match((frame or {}).get("function") or "") if isinstance(frame, dict) else None
        if m:
            return m.group(1)
    return None


def _thread_sig(t):
    """A thread's part of a threads-at-fork signature: its start routine (by name: an
    address is left out) and where it was created, else its name (threads not made
    through the interposed pthread_create). A Python thread (all start in the
    interpreter's routine) adds the function it runs: the outermost own frame of its
    Python stack, by file and function (not line: it may be running), else its name."""
    routine = _start_routine(t) or "?"
    py = t.get("python_stack_at_fork")
    if py:
        own = [f for f in py if isinstance(f, dict) and f.get("own")]
        runs = "%s@%s" % (own[-1].get("function"), own[-1].get("file")) if own else "name=%s" % t.get("name", "?")
        return "%s<-%s|py=%s" % (routine, frames_sig(t.get("created_at")), runs)
    if _start_routine(t) or t.get("created_at"):
        return "%s<-%s" % (routine, frames_sig(t.get("created_at")))
    return "name=%s" % t.get("name", "?")


def _thread_label(t):
    """A Python thread's `threading` name (its start routine is the interpreter's), else
    its start routine by name, else a std::thread's callable, else its name (never an
    address)."""
    if t.get("python_stack_at_fork") and t.get("name"):
        return t["name"]
    return _start_routine(t) or _thread_callable(t) or t.get("name") or "?"


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


def _threads_python_sites(rec):
    """The fork's Python stack, then each Python thread's at the fork."""
    return [("fork at", _python_stack(rec))] + [
        ('thread "%s" was at' % _thread_label(t), t.get("python_stack_at_fork") or [])
        for t in rec.get("threads") or []]


def _threads_suggestion(finding):
    """The rules of all its threads joined by ' + '."""
    rules = [t.get("suppression") for t in finding.example.get("threads") or [] if t.get("suppression")]
    return " + ".join(dict.fromkeys(rules)) or None


# --- fds-at-fork, fds-leaked-at-exec (per descriptor) ---------------------------------------

# A descriptor shared by design (a pipe, a listening socket, a read-only file: the record's
# fd has `shared_by_design`) is listed in the records because the launcher runs the library
# at verbosity=1 for its fork notes; without verbosity=1 the library counts it and lists
# nothing, so it is no finding of the launcher's either, unless `-o fds=all` asked for them.
LIST_SHARED_BY_DESIGN = False

def _fd_signature(fd):
    """One descriptor's signature: its type and where it was opened; without an opening
    site, its target when that is stable (a path), else its number."""
    base = fd.get("type") or "?"
    if fd.get("python_opened_at"):  # opened from Python: its Python line, the native site is the interpreter's
        return "%s@py=%s" % (base, python_frame_sig(own_python_frame(fd["python_opened_at"])))
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

# A libc generator (rand, random, drand48) seeded or drawn from before a fork is the
# parent's side only: prefork servers and tools seed at start-up and their children reseed
# (nginx's workers, PostgreSQL's backends) or exec (git, make), and 28 such records of
# nginx, PostgreSQL, git and redis replayed nothing (issue 13). The proof is the child's:
# its first draw from the inherited state writes rng-reused-in-child, which stays a
# finding. So rng-at-fork of a libc family is a note of the launcher's unless asked for
# (-o verbosity=2); a Python generator's record (its next values read at the fork) stays.
LIST_PARENT_RNG = False
LIBC_RNG_FAMILIES = ("rand", "random", "drand48")


def parent_rng_unproven(rec):
    """True for an rng-at-fork record of a libc generator, while LIST_PARENT_RNG is off."""
    if LIST_PARENT_RNG or rec.get("kind") != "rng-at-fork":
        return False
    rng = rec.get("rng") if isinstance(rec.get("rng"), dict) else {}
    return rng.get("family") in LIBC_RNG_FAMILIES and not rng.get("name")

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
                 key_sites=stack_sites, suggestion=record_suggestion, per_fd=False,
                 python_sites=python_stack_at("at"), python_key_sites=1):
        self.name, self.phase, self.level, self.title, self.help = name, phase, level, title, help_text
        self.signature = signature
        self._describe = describe
        self.key_sites = key_sites
        self.suggestion = suggestion
        self.per_fd = per_fd
        self._python_sites = python_sites
        self.python_key_sites = python_key_sites  # how many of its python_sites its signature takes

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

    def python_sites(self, rec):
        """[(label, Python frames)] of a record, the non-empty ones; [] for a record
        without Python frames (a process without Python)."""
        return [(label, frames) for label, frames in self._python_sites(rec) if frames]

    def python_signature(self, rec):
        """The Python part of a record's signature: the own frame of each of its first
        python_key_sites non-empty Python sites ('' without Python frames)."""
        sites = self.python_sites(rec)[:self.python_key_sites]
        return ";".join(python_frame_sig(own_python_frame(frames)) for _, frames in sites)

    def signature_parts(self, rec):
        """[(signature, fds)] for a finding record: one entry, or for per_fd kinds one per
        distinct descriptor signature with the record's descriptors that have it (else None).
        A record with Python frames adds its Python site (python_signature)."""
        py = self.python_signature(rec)
        py = "|py=" + py if py else ""
        if self.per_fd:
            groups = {}
            for fd in rec.get("fds") or []:
                if fd.get("shared_by_design") and not LIST_SHARED_BY_DESIGN:
                    continue  # listed because the launcher runs at verbosity=1: counted, not a finding
                groups.setdefault(_fd_signature(fd), []).append(fd)
            return [("%s|%s%s" % (self.name, sig, py), fds) for sig, fds in groups.items()]
        return [("%s|%s%s" % (self.name, self.signature(rec), py), None)]

    def sarif_rule(self):
        """(default level, short description, full description)."""
        return self.level, self.title, self.help


KINDS = (
    Kind("lock-held-at-fork", "FORK", "error", "A lock was held at a fork",
         "A lock was held when the process forked. Held by another thread, it stays locked forever in the child, "
         "which hangs the first time it takes it; held by the forking thread, the child inherits the duty to unlock "
         "it (a warning).",
         signature=_lock_held_signature, describe=_lock_held_describe, key_sites=_lock_held_sites,
         suggestion=_lock_suggestion, python_sites=_lock_held_python_sites),
    Kind("threads-at-fork", "FORK", "warning", "Other threads were running at a fork",
         "The child of a multithreaded process has only the forking thread: the work the others were doing and the "
         "locks they held are gone.",
         signature=_threads_signature, describe=_threads_describe, key_sites=_threads_sites,
         suggestion=_threads_suggestion, python_sites=_threads_python_sites),
    Kind("fds-at-fork", "FORK", "warning", "A file descriptor is inherited by a forked child",
         "The child shares the descriptor, and for files the offset, with its parent; without close-on-exec it also "
         "passes into exec'd programs.",
         per_fd=True, describe=_fds_describe, key_sites=_fds_sites, python_sites=python_stack_at("fork at")),
    Kind("rng-at-fork", "FORK", "warning", "A random generator was seeded before a fork",
         "Parent and child continue the same sequence and draw the same numbers.",
         signature=_rng_signature, describe=_rng_describe, key_sites=_rng_sites,
         python_sites=python_stack_at("fork at")),
    Kind("stdio-unflushed-at-fork", "FORK", "warning", "A stdio stream held unwritten output at a fork",
         "Output written into a C stdio buffer (printf, fprintf, fwrite) or a Python stream's (print, "
         "sys.stdout.write, a file object's write: os.fork() flushes none of them) and not yet flushed is in the "
         "child's copy of the buffer too: parent and child each write it when they flush the stream, so it comes "
         "out twice. A child that only execs or _exits never flushes, and doubles nothing.",
         signature=_stdio_signature, describe=_stdio_describe, key_sites=_stdio_sites,
         python_sites=python_stack_at("fork at")),
    Kind("fork", "FORK", "note", "A fork and what its audit counted",
         "One note per fork (verbosity=1, or when a table overflowed): the counts of findings and what did not "
         "fit."),
    Kind("fds-leaked-at-exec", "EXEC", "warning", "A file descriptor passes into an exec'd program",
         "A descriptor without close-on-exec stays open in the new program.",
         per_fd=True, describe=_exec_fds_describe, key_sites=_exec_fds_sites,
         python_sites=python_stack_at("exec at")),
    Kind("rng-reused-in-child", "CHILD", "warning", "A child drew from a random generator inherited from its parent",
         "The child drew without reseeding: the parent draws or drew the same number.",
         signature=_rng_signature, describe=_rng_reused_describe, key_sites=_rng_reused_sites,
         python_sites=python_stack_at("drawn at")),
    Kind("child-deadlock", "CHILD", "error", "A forked child is about to block forever on a lock",
         "A forked child is taking a lock that was held at the fork by a thread the child does not have, or by "
         "itself in a way it cannot take again.",
         signature=_child_deadlock_signature, describe=_child_deadlock_describe, key_sites=_child_deadlock_sites,
         python_sites=_child_deadlock_python_sites, python_key_sites=2),
    Kind("child-stuck", "CHILD", "error", "A forked child is stuck in a wait nobody can end",
         "A forked child of a multithreaded process has been blocked in the same untimed futex wait since the fork: "
         "most likely on a lock a thread of its parent held, which the child does not have.",
         describe=_child_stuck_describe, key_sites=_child_stuck_sites,
         python_sites=python_stack_at("the child blocks at")),
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
