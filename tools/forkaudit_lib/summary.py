"""summary: the text the launcher prints on stderr after the command ends.

Made for a terminal or a CI log at 100 columns: the command's outcome, the process tree
(who forked whom, how often), then each distinct finding once with its key frames, and
the launcher's exit status with the reason.
"""

import os
import shlex
import signal
import textwrap

from . import kinds, records

WIDTH = 100
KEY_FRAMES = 3        # frames shown of a finding's key stack
OTHER_FRAMES = 1      # frames shown of its other stacks
MAX_SITES = 3         # stacks shown per finding
MAX_PIDS = 8          # pids listed per finding
COLLAPSE_LEAVES = 4   # more record-less leaf children than this are shown on one line


def plural(n, word):
    """'1 fork', '2 forks', '3 processes'."""
    return "%d %s%s" % (n, word, "" if n == 1 else "es" if word.endswith("s") else "s")


def _clip(text, width):
    """`text` cut to `width` characters, with '...' when cut."""
    return text if len(text) <= width else text[:max(width - 3, 0)] + "..."


def wrap(text, indent, hang=4):
    """`text` as lines of at most WIDTH columns, the first indented by `indent` spaces and
    the others by `indent + hang` (words are never split, so a long path may stick out)."""
    return textwrap.wrap(text, WIDTH, initial_indent=" " * indent, subsequent_indent=" " * (indent + hang),
                         break_long_words=False, break_on_hyphens=False) or [""]


def display_path(path):
    """A source or module path as shown: relative to the current directory when inside it."""
    if not path:
        return "?"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def pid_list(pids):
    """'pid 12' / 'pids 12 13 ... (+40 more)' for a set of pids."""
    pids = sorted(pids)
    shown = " ".join(str(p) for p in pids[:MAX_PIDS])
    more = " ... (+%d more)" % (len(pids) - MAX_PIDS) if len(pids) > MAX_PIDS else ""
    return "%s %s%s" % ("pid" if len(pids) == 1 else "pids", shown, more)


def format_frame(index, frame, symbolizer):
    """'#0 function file:line (module+0xoff)': the record's function name, the source line
    from addr2line when known (inlined functions named as 'f file:line, inlined in g'),
    else function+0xoff."""
    module = "%s+%s" % (os.path.basename(frame.get("module") or "?"), frame.get("offset", "?"))
    name = frame.get("function")
    entries = symbolizer.lines(frame) if symbolizer else []
    if not entries:
        where = "%s+%s" % (name, frame.get("function_offset", "?")) if name else frame.get("pc", "?")
        return "#%d %s (%s)" % (index, where, module)
    parts = []
    for i, (fn, path, line) in enumerate(entries):
        outer = i == len(entries) - 1
        fn = (name or fn or "?") if outer else (fn or "?")
        loc = "%s:%s" % (display_path(path), line if line else "?")
        parts.append("%s %s" % (fn, loc) if not parts else "inlined in %s %s" % (fn, loc))
    return "#%d %s (%s)" % (index, ", ".join(parts), module)


def _tree_lines(run):
    """The process tree as text lines, one process per line; childless children of one
    parent that show the same program (or none: they wrote no record) are one line when
    there are more than COLLAPSE_LEAVES of them."""
    procs, out = run.processes, []

    def label(p):
        """'pid program (N forks)' for one process."""
        forks = " (%s)" % plural(len(p.forks), "fork") if p.forks or p.label else ""
        return "%d %s%s" % (p.pid, p.name(), forks) if p.name() else "%d%s" % (p.pid, forks)

    def rows_of(p):
        """[(kind, value)]: ("proc", pid) per child shown, ("text", line) per collapsed group."""
        groups = {}
        for c in p.children:
            if not procs[c].children and not procs[c].forks:
                groups.setdefault(procs[c].name(), []).append(c)
        collapsed = {pid for pids in groups.values() if len(pids) > COLLAPSE_LEAVES for pid in pids}
        rows = [("proc", c) for c in p.children if c not in collapsed]
        for name, pids in groups.items():
            if len(pids) > COLLAPSE_LEAVES:
                shown = " ".join(str(x) for x in pids[:6]) + (" ... %d" % pids[-1] if len(pids) > 6 else "")
                what = "running %s" % name if name else "without records"
                rows.append(("text", "%d children %s: %s" % (len(pids), what, shown)))
        return rows

    def walk(pid, prefix, child_prefix, depth):
        """Appends the line of `pid` (after `prefix`) and those of its children."""
        out.append(_clip(prefix + label(procs[pid]), WIDTH))
        rows = rows_of(procs[pid])
        if rows and depth >= 50:
            out.append(child_prefix + "`- ... (deeper processes not shown)")
            return
        for i, (what, value) in enumerate(rows):
            last = i == len(rows) - 1
            head = child_prefix + ("`- " if last else "+- ")
            if what == "text":
                out.append(_clip(head + value, WIDTH))
            else:
                walk(value, head, child_prefix + ("   " if last else "|  "), depth + 1)

    for pid in run.roots:
        walk(pid, "  ", "  ", 0)
    return out


def python_place(frame):
    """'app.py:12 in main' for a Python frame (the path as display_path shows it)."""
    return "%s:%s in %s" % (display_path(frame.get("file")), frame.get("line", "?"), frame.get("function", "?"))


def format_python_frame(frame):
    """'File "app.py", line 12, in main', as a Python traceback says it."""
    return 'File "%s", line %s, in %s' % (display_path(frame.get("file")), frame.get("line", "?"),
                                         frame.get("function", "?"))


def _python_site_lines(finding):
    """A Python finding's stacks as traceback lines: of its first site the innermost
    frames down to the own one (at least KEY_FRAMES; frames between left out), of the
    others their own frame only."""
    lines = []
    for i, (label, frames) in enumerate(records.python_sites(finding)[:MAX_SITES]):
        own = kinds.own_python_frame(frames)
        shown = frames[:KEY_FRAMES] if i == 0 else []
        if own not in shown:
            if len(shown) < frames.index(own):
                shown.append(None)
            shown.append(own)
        lines.append("    %s%s:" % (label, " (Python, most recent call first)" if i == 0 else ""))
        for frame in shown:
            lines += wrap(format_python_frame(frame), 6, 4) if frame else ["      ..."]
    return lines


def _finding_lines(n, finding, symbolizer):
    """The lines of one distinct finding: header, description, key frames, suppression.
    A finding of a Python process says its Python site under the description and shows
    Python frames instead of the interpreter's (those are in --json and the run directory)."""
    head = "[%d] %s %s, in %s, %s" % (n, finding.severity.upper(), finding.kind,
                                      plural(finding.count, finding.unit), pid_list(finding.pids))
    lines = [_clip(head, WIDTH)] + wrap(records.describe(finding), 4)
    site = records.python_site(finding)
    if site:
        lines += wrap("at %s" % python_place(site[1]), 4)
        lines += _python_site_lines(finding)
    sites = [] if site else [(label, frames) for label, frames in records.key_sites(finding) if frames][:MAX_SITES]
    for i, (label, frames) in enumerate(sites):
        lines.append("    %s:" % label)
        for j, frame in enumerate(frames[:KEY_FRAMES if i == 0 else OTHER_FRAMES]):
            lines += wrap(format_frame(j, frame, symbolizer), 6, 3)
    rule = records.suggested_rule(finding)
    if rule:  # never wrapped: the line is copied into a suppressions file as it is
        lines.append("    suppress with: " + rule)
    return lines


def render(run):
    """The summary text (ending with a newline). `run` has: command (argv list), status
    (the command's exit status, 128+signal when killed), signal (or None), run_dir,
    processes and roots (records.build_tree), findings (records.collect_findings),
    problems (unreadable lines), suppressions (rule -> hits), symbolizer, exit_status and
    exit_reason (the launcher's own exit status and why)."""
    cmd = shlex.join(run.command)
    outcome = "was killed by signal %d" % run.signal if run.signal else "exited with status %d" % run.status
    nforks = sum(len(p.forks) for p in run.processes.values())
    severities = {}
    for f in run.findings:
        severities[f.severity] = severities.get(f.severity, 0) + 1
    counts = ", ".join(plural(severities[s], s) for s in ("error", "warning", "note") if s in severities)
    out = ["", _clip("forkaudit: `%s` %s" % (cmd, outcome), WIDTH),
           "forkaudit: %s, %s; %s%s" % (plural(len(run.processes), "process"),
                                        plural(nforks, "fork"),
                                        plural(len(run.findings), "distinct finding"),
                                        ": " + counts if counts else ""),
           "forkaudit: records in %s" % run.run_dir]
    outcome = getattr(run, "outcome", None)
    if outcome is not None and outcome.received:
        name = signal.Signals(outcome.received).name if outcome.received in set(signal.Signals) else "?"
        text = "forkaudit: the launcher received signal %d (%s): passed on to the %s of the command's tree" % (
            outcome.received, name, plural(outcome.ended, "process"))
        if outcome.killed:
            text += "; %s still running %s later killed (SIGKILL)" % (plural(outcome.killed, "process"), "3 s")
        out += wrap(text, 0, 4)
    if outcome is not None and outcome.waited:
        out += wrap("forkaudit: %s of the tree outlived the command; waited for" % plural(len(outcome.waited), "process"),
                    0, 4)
    for p in run.problems[:5]:
        out.append(_clip("forkaudit: skipped %s" % p, WIDTH))
    if len(run.problems) > 5:
        out.append("forkaudit: ... and %d more unreadable lines" % (len(run.problems) - 5))
    out += ["", "process tree (pid, program, forks it made):"] + _tree_lines(run)
    if run.findings:
        out += ["", "findings (each once; 'in N forks': the forks where it occurred, or the execs):"]
        for n, finding in enumerate(run.findings, 1):
            out += _finding_lines(n, finding, run.symbolizer)
    if run.suppressions:
        out += [""] + wrap("suppressions used: " + ", ".join("%s (%d)" % kv for kv in sorted(run.suppressions.items())),
                           0)
    out += ["", "forkaudit: exit status %d: %s" % (run.exit_status, run.exit_reason)]
    return "\n".join(out) + "\n"
