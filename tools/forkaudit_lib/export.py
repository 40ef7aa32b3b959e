"""export: the documents of the launcher's --json and --sarif files (dicts; the launcher
writes them).

--json  {"forks", "processes", "findings": [{kind, severity, signature, count, pids,
        description, key_frames, suppression, example}], ...}: the merged, deduplicated
        view of a run, for scripts.
--sarif SARIF 2.1.0 for code-scanning front ends: one rule per kind, one result per
        distinct finding, located at the innermost frame of the program's own code in its
        key stack (runtime modules skipped, frames with a source line preferred); for a
        finding of a Python process, at its Python site (records.python_site: the .py
        file and line), its Python stacks first among the related locations.
"""

import hashlib
import os
import urllib.parse

from . import kinds, records

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "man:forkaudit(1)"
SRCROOT = "SRCROOT"
KEY_FRAMES = 3

# Modules that are not the program's own code, by the start of their file name.
RUNTIME_MODULES = ("libc.so", "libc-", "ld-linux", "ld.so", "ld64.so", "libpthread", "libunwind",
                   "libforkaudit", "linux-vdso")


def is_runtime(frame):
    """True when the frame is in libc, the dynamic loader, libpthread, libunwind or the
    auditor itself."""
    return os.path.basename(frame.get("module") or "").startswith(RUNTIME_MODULES)


def _frame_json(frame, symbolizer):
    """A record frame with the first source location added (file, line) and, when the
    address is in inlined code, `inlined`: [{function, file, line}] innermost first."""
    out = dict(frame)
    entries = symbolizer.lines(frame) if symbolizer else []
    if entries:
        out["file"], out["line"] = entries[0][1], entries[0][2]
        if len(entries) > 1:
            out["inlined"] = [{"function": fn, "file": path, "line": line} for fn, path, line in entries]
    return out


def key_frames_json(finding, symbolizer):
    """[{label, frames}]: the first frames of each key stack, with source lines."""
    return [{"label": label, "frames": [_frame_json(f, symbolizer) for f in frames[:KEY_FRAMES]]}
            for label, frames in records.key_sites(finding) if frames]


def finding_json(f, symbolizer):
    """One finding of the --json document; a finding of a Python process adds
    `python_site` ({label, file, line, function}: what it is labelled and located by) and
    `python_sites` ([{label, frames}]: its Python stacks)."""
    out = {"kind": f.kind, "severity": f.severity, "signature": f.signature, "count": f.count,
           "counts": f.unit + "s", "pids": sorted(f.pids), "description": records.describe(f),
           "key_frames": key_frames_json(f, symbolizer), "suppression": records.suggested_rule(f)}
    site = records.python_site(f)
    if site:
        out["python_site"] = dict(site[1], label=site[0])
        out["python_sites"] = [{"label": label, "frames": frames} for label, frames in records.python_sites(f)]
    out["example"] = f.example
    return out


def json_document(run):
    """The merged view of `run` (see summary.render for its fields) as a dict."""
    processes = []
    for pid in sorted(run.processes):
        p = run.processes[pid]
        processes.append({"pid": pid, "parent": p.parent, "ppid": p.ppid, "program": p.name() or None,
                          "executables": p.exes, "execs": p.execs, "forks": len(p.forks),
                          "children": p.children, "records": p.nrecords})
    doc = {
        "command": run.command,
        "exit_status": run.status,
        "run_dir": run.run_dir,
        "forks": sum(len(p.forks) for p in run.processes.values()),
        "roots": run.roots,
        "processes": processes,
        "findings": [finding_json(f, run.symbolizer) for f in run.findings],
        "suppressions_used": run.suppressions,
        "unreadable": run.problems,
    }
    return doc


# --- SARIF ----------------------------------------------------------------------------------

def _artifact(path, cwd):
    """artifactLocation for a file path: relative to SRCROOT (the source root, `cwd`) when
    inside it, a file: URI when absolute elsewhere, the path as a relative URI otherwise."""
    if os.path.isabs(path):
        rel = os.path.relpath(path, cwd)
        if not rel.startswith(".."):
            return {"uri": urllib.parse.quote(rel), "uriBaseId": SRCROOT}
        return {"uri": "file://" + urllib.parse.quote(path)}
    return {"uri": urllib.parse.quote(os.path.normpath(path))}


def _location(frame, symbolizer, cwd, message=None):
    """SARIF location of a frame: the source file and line when addr2line knew them, else
    the module; the function as logical location."""
    entries = symbolizer.lines(frame) if symbolizer else []
    phys = {}
    if entries:
        _, path, line = entries[0]
        phys["artifactLocation"] = _artifact(path, cwd)
        if line:
            phys["region"] = {"startLine": line}
    else:
        phys["artifactLocation"] = _artifact(frame.get("module") or "unknown", cwd)
    loc = {"physicalLocation": phys}
    if frame.get("function"):
        loc["logicalLocations"] = [{"name": frame["function"], "kind": "function"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def _python_location(frame, cwd, message=None):
    """SARIF location of a Python frame: its .py file and line, its function as logical
    location."""
    phys = {"artifactLocation": _artifact(frame.get("file") or "unknown", cwd)}
    if isinstance(frame.get("line"), int) and frame["line"] > 0:
        phys["region"] = {"startLine": frame["line"]}
    loc = {"physicalLocation": phys}
    if frame.get("function"):
        loc["logicalLocations"] = [{"name": frame["function"], "kind": "function"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def default_source_root(cwd=None):
    """The git top level of the current directory (the nearest directory up holding
    .git), else the current directory."""
    cwd = os.path.abspath(cwd or os.getcwd())
    d = cwd
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return cwd
        d = parent


def in_source_root(path, root):
    """True when a source path addr2line gave is one of the program's own sources: an
    absolute path inside `root`, or a relative one that exists under it (a system header
    /usr/include/... or glibc's sysdeps/... is not)."""
    if not path or not root:
        return False
    if os.path.isabs(path):
        return os.path.normpath(path).startswith(root.rstrip("/") + "/")
    return not os.path.normpath(path).startswith("..") and os.path.isfile(os.path.join(root, path))


def primary_frame(finding, symbolizer, root=None):
    """The frame a result points at: in the key stacks in order, the innermost frame whose
    source line is in the program's own sources (in_source_root: not a system header such
    as gthr-default.h); else the innermost frame of the program's own code that has a
    source line; else the innermost own frame of the first stack that has one; else the
    first frame at all (None without frames)."""
    stacks = [frames for _, frames in records.key_sites(finding) if frames]
    own = [[f for f in frames if not is_runtime(f)] for frames in stacks]
    if symbolizer and root:
        for frames in own:
            for f in frames:
                if any(in_source_root(path, root) for _, path, _ in symbolizer.lines(f)[:1]):
                    return f
    for frames in own:
        for f in frames:
            if symbolizer and symbolizer.lines(f):
                return f
    for frames in own:
        if frames:
            return frames[0]
    return stacks[0][0] if stacks else None


def _fingerprint(signature):
    """A stable hash of a signature, for partialFingerprints."""
    return hashlib.sha256(signature.encode("utf-8")).hexdigest()


def sarif_document(run, cwd=None):
    """The SARIF 2.1.0 log (a dict) for `run`; paths are relative to SRCROOT, the source
    root (run.source_root: --source-root, default_source_root() without it)."""
    workdir = os.getcwd()
    cwd = cwd or getattr(run, "source_root", None) or default_source_root()
    # One rule per kind that can be a finding (kinds.def's order), then any kind a newer
    # library wrote that the launcher does not know.
    known = [k.name for k in kinds.finding_kinds()]
    rule_ids = known + sorted({f.kind for f in run.findings} - set(known))
    rules = []
    for kind in rule_ids:
        level, short, full = kinds.get(kind).sarif_rule()
        rules.append({"id": kind, "name": "".join(w.capitalize() for w in kind.split("-")),
                      "shortDescription": {"text": short}, "fullDescription": {"text": full},
                      "defaultConfiguration": {"level": level}, "helpUri": INFORMATION_URI})
    results = []
    for f in run.findings:
        py_site = records.python_site(f)
        primary = py_site[1] if py_site else primary_frame(f, run.symbolizer, cwd)
        related = []
        for label, frames in records.python_sites(f):  # the whole Python stacks: a few frames
            for i, frame in enumerate(frames):
                if frame is not primary:
                    text = "%s #%d %s (Python)" % (label, i, frame.get("function", "?"))
                    related.append(_python_location(frame, cwd, text))
        for label, frames in records.key_sites(f):
            for i, frame in enumerate(frames[:KEY_FRAMES]):
                if frame is not primary:
                    text = "%s #%d %s" % (label, i, frame.get("function") or frame.get("pc", "?"))
                    related.append(_location(frame, run.symbolizer, cwd, text))
        for rid, loc in enumerate(related, 1):
            loc["id"] = rid
        result = {
            "ruleId": f.kind,
            "ruleIndex": rule_ids.index(f.kind),
            "level": {"error": "error", "warning": "warning"}.get(f.severity, "note"),
            "message": {"text": "%s (in %d %s%s; pid%s %s)" % (
                records.describe(f), f.count, f.unit, "" if f.count == 1 else "s", "" if len(f.pids) == 1 else "s",
                " ".join(str(p) for p in sorted(f.pids)[:20]) + (" ..." if len(f.pids) > 20 else ""))},
            "partialFingerprints": {"forkauditSignature/v1": _fingerprint(f.signature)},
            "properties": {"signature": f.signature, "count": f.count, "counts": f.unit + "s",
                           "pids": sorted(f.pids)},
        }
        if py_site:
            result["locations"] = [_python_location(primary, cwd)]
        elif primary is not None:
            result["locations"] = [_location(primary, run.symbolizer, cwd)]
        if related:
            result["relatedLocations"] = related
        rule = records.suggested_rule(f)
        if rule:
            result["properties"]["suppression"] = rule
        results.append(result)
    sarif_run = {
        "tool": {"driver": {"name": "forkaudit", "informationUri": INFORMATION_URI, "rules": rules}},
        "invocations": [{"executionSuccessful": True, "commandLine": " ".join(run.command),
                         "workingDirectory": {"uri": "file://" + urllib.parse.quote(workdir.rstrip("/") + "/")}}],
        "originalUriBaseIds": {SRCROOT: {"uri": "file://" + urllib.parse.quote(cwd.rstrip("/") + "/")}},
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [sarif_run]}
