#!/usr/bin/env python3
"""layers.py: the `layers` rule of `make lint`: every #include of preload/ goes down the
stages or stays in its own, and no include loop joins two files.

Stages, lowest first; a file may include files of its own stage and of those below:

  base      fa.h, process, options, fmt, procfs, signals, backtrace: needs nothing above
  track     what the wrappers keep between forks: held locks, threads, fds, rng, atfork
  snapshot  audit/snapshot.{h,c}: the snapshot struct and its memory, the data that the
            audit moments produce and the findings read (so it sits below both)
  out       how a record is written: log, symbolize, suppress (and the record layer)
  findings  judge and render one kind each (they read snapshots, they write through out/)
  audit     the moments the auditor looks: fork, exec, state dump, child checks,
            the fork protocol (lifecycle.c); they hand what they saw to findings/
  intercept the wrappers, real-function resolution and start-up: above all

Calls go the same way as includes, down: intercept -> audit -> findings -> out, all of
them on track and base. A loop is looked for between files taken as modules (x.c and x.h
are one: a header declares what its .c defines), so "a.c includes b.h, b.c includes a.h"
is a loop; a .def table is a module of its own).

Usage: layers.py [PRELOAD_DIR]   (exit 1 on a violation, printed one a line)
"""
import os
import re
import sys

STAGES = ["base", "track", "snapshot", "out", "findings", "audit", "intercept"]
# Files whose stage is not their folder's.
STAGE_OF_FILE = {
    "audit/snapshot.h": "snapshot",
    "audit/snapshot.c": "snapshot",
    # The table of record kinds is pure data (no include): out/suppress.c checks a
    # rule's kind against it.
    "findings/kinds.def": "base",
}

# Violations left to remove, each with the helper whose work removes it (issue 10). The
# lead empties this list as their work lands: an entry that no longer occurs fails too.
# An allowed include is also left out of the loop search; any other loop fails.
ALLOWED = {
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def stage_of(path):
    if path in STAGE_OF_FILE:
        return STAGE_OF_FILE[path]
    folder = path.split("/", 1)[0]
    return folder if folder in STAGES else None


def read_includes(root):
    """{file: [included file, ...]} for every .c/.h/.def under root, paths relative to root."""
    graph = {}
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith((".c", ".h", ".def")):
                continue
            path = os.path.relpath(os.path.join(folder, name), root)
            with open(os.path.join(root, path), encoding="utf-8") as f:
                text = f.read()
            targets = []
            for inc in INCLUDE.findall(text):
                beside = os.path.normpath(os.path.join(os.path.dirname(path), inc))
                if os.path.exists(os.path.join(root, inc)):
                    targets.append(inc)
                elif os.path.exists(os.path.join(root, beside)) and not beside.startswith(".."):
                    targets.append(beside)
                # else: outside preload/ (include/forkaudit.h) or a system header
            graph[path] = targets
    return graph


def module(path):
    # A .def table is data of its own, not the declarations of the .c beside it.
    return path if path.endswith(".def") else os.path.splitext(path)[0]


def loops(graph, skip):
    """Strongly connected components of more than one module (Tarjan), without the
    includes in `skip`."""
    edges = {}
    for src, targets in graph.items():
        edges.setdefault(module(src), set())
        for t in targets:
            if module(t) != module(src) and (src, t) not in skip:
                edges[module(src)].add(module(t))
            edges.setdefault(module(t), set())
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "preload"
    graph = read_includes(root)
    problems, seen_allowed = [], set()
    for src in sorted(graph):
        s = stage_of(src)
        if s is None:
            problems.append(f"{root}/{src}: not in a stage folder ({', '.join(STAGES)})")
            continue
        for t in graph[src]:
            ts = stage_of(t)
            if ts is None or STAGES.index(ts) <= STAGES.index(s):
                continue
            if (src, t) in ALLOWED:
                seen_allowed.add((src, t))
                continue
            problems.append(f"{root}/{src}: includes {t}, a stage up ({s} < {ts}): "
                            f"stages are {' < '.join(STAGES)}")
    for loop in loops(graph, set(ALLOWED)):
        problems.append(f"{root}: include loop between {' <-> '.join(loop)}")
    for entry in sorted(set(ALLOWED) - seen_allowed):
        problems.append(f"tests/lint/layers.py: allowed {entry[0]} -> {entry[1]} no longer occurs: "
                        "remove it from ALLOWED")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"layers: {len(graph)} files, every include goes down ({' < '.join(STAGES)}), no loop"
          f" ({len(ALLOWED)} includes up still allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
