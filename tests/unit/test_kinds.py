#!/usr/bin/env python3
"""The kind registry and the places that must agree with it.

Usage: python3 tests/unit/test_kinds.py   (no build needed; `make check` runs it)

preload/findings/kinds.def is the one list of record kinds. These tests fail when any of
these disagrees with it (a kind added, removed or renamed in one place only, or another
default severity):
- tools/forkaudit_lib/kinds.py, the launcher's table (name, phase, level, title, help, in
  kinds.def's order): the failure prints the entry to start from;
- README.md, the "### Report kinds" table (names, and the first severity of each row);
- docs/forkaudit.1, the KINDS section (names and severities).
They also check what the launcher derives from the table: one SARIF rule per kind that
can be a finding, with kinds.def's level and text, and how unknown kinds are treated.
Prints cmocka-style lines (tests/cmocka_style.py) that tests/run-tests.sh counts.
"""

import os
import re
import sys
import types
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import cmocka_style  # noqa: E402
from forkaudit_lib import export, kinds, records  # noqa: E402

KINDS_DEF = os.path.join(ROOT, "preload", "findings", "kinds.def")
README = os.path.join(ROOT, "README.md")
MAN_PAGE = os.path.join(ROOT, "docs", "forkaudit.1")
COLUMNS = ("id", "name", "phase", "level", "title", "help")  # kinds.def's first columns
LEVELS = ("error", "warning", "note")
PHASES = ("FORK", "EXEC", "CHILD", "DUMP", "EXIT")


# --- reading the four places ----------------------------------------------------------------

def _c_arguments(text):
    """The top-level arguments of a macro call's argument text: C string literals
    (adjacent ones joined, simple escapes undone) as str, anything else stripped."""
    args, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == '"':
            value = ""
            while i < n and text[i] == '"':
                m = re.compile(r'"((?:[^"\\]|\\.)*)"').match(text, i)
                if not m:
                    raise ValueError("unterminated string in %r" % text)
                value += re.sub(r"\\(.)", r"\1", m.group(1))
                i = m.end()
                while i < n and text[i].isspace():
                    i += 1
            args.append(value)
        else:
            start, depth = i, 0
            while i < n and (text[i] != "," or depth):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            args.append(text[start:i].strip())
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] != ",":
            raise ValueError("expected ',' at %r" % text[i:])
        i += 1
    return args


def parse_kinds_def(text):
    """[{id, name, phase, level, title, help}] from kinds.def's FA_KIND(...) lines, in
    order; columns past the first six (added later) are ignored."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*FA_KIND\((.*)\)\s*$", line)
        if m:
            args = _c_arguments(m.group(1))
            if len(args) < len(COLUMNS):
                raise ValueError("kinds.def: fewer than %d columns: %s" % (len(COLUMNS), line))
            rows.append(dict(zip(COLUMNS, args)))
    return rows


def readme_kinds(text):
    """[(kind, severity)] of the README's "### Report kinds" table: the backquoted name of
    the first column, the first backquoted word of the second (the default severity)."""
    m = re.search(r"^### Report kinds\n(.*?)(?=^#|\Z)", text, re.M | re.S)
    if not m:
        raise ValueError("README.md has no '### Report kinds' section")
    section = m.group(1)
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and re.fullmatch(r"`[a-z0-9-]+`", cells[1]):
            severity = re.search(r"`([a-z]+)`", cells[2])
            rows.append((cells[1].strip("`"), severity.group(1) if severity else cells[2]))
    return rows


def man_kinds(text):
    """[(kind, severity)] of forkaudit(1)'s KINDS section: each `.TP` item's tag line,
    `.BR name " (severity)"`."""
    m = re.search(r"^\.SH KINDS\n(.*?)(?=^\.SH |\Z)", text, re.M | re.S)
    if not m:
        raise ValueError("docs/forkaudit.1 has no KINDS section (.SH KINDS)")
    section = m.group(1)
    rows, lines = [], section.splitlines()
    for tp, tag in zip(lines, lines[1:]):
        if tp.strip() == ".TP":
            m = re.match(r'\.BR?\s+(\S+)\s+"\s*\((\w+)', tag)
            rows.append((m.group(1).replace("\\-", "-"), m.group(2)) if m else (tag, "?"))
    return rows


def py_entry(row):
    """The start of the kinds.py entry for a kinds.def row, to paste and complete."""
    return "Kind(%r, %r, %r, %r,\n     %r)," % (row["name"], row["phase"], row["level"], row["title"], row["help"])


# --- the comparisons ------------------------------------------------------------------------

def registry_problems(rows, table):
    """What differs between kinds.def's rows and kinds.py's table (order included)."""
    problems = []
    by_name = {k.name: k for k in table}
    for row in rows:
        k = by_name.get(row["name"])
        if k is None:
            problems.append("kinds.py has no entry for %s; add:\n%s" % (row["name"], py_entry(row)))
            continue
        for field in ("phase", "level", "title", "help"):
            if getattr(k, field) != row[field]:
                problems.append("kinds.py %s: %s is %r, kinds.def says %r" % (row["name"], field, getattr(k, field),
                                                                              row[field]))
    names = [row["name"] for row in rows]
    for k in table:
        if k.name not in names:
            problems.append("kinds.py has %s, which kinds.def does not list" % k.name)
    common = [k.name for k in table if k.name in names]
    if common != [n for n in names if n in by_name]:
        problems.append("kinds.py lists the kinds in another order than kinds.def: %s" % common)
    return problems


def doc_problems(where, rows, documented):
    """What differs between kinds.def's rows and a document's [(kind, severity)]."""
    problems = []
    levels = dict((row["name"], row["level"]) for row in rows)
    seen = [name for name, _ in documented]
    for name in sorted({n for n in seen if seen.count(n) > 1}):
        problems.append("%s lists %s more than once" % (where, name))
    for name, level in documented:
        if name not in levels:
            problems.append("%s lists %s, which kinds.def does not" % (where, name))
        elif level != levels[name]:
            problems.append("%s gives %s the severity %s, kinds.def %s" % (where, name, level, levels[name]))
    for name in levels:
        if name not in seen:
            problems.append("%s does not list %s (%s)" % (where, name, levels[name]))
    return problems


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class Registry(unittest.TestCase):
    """kinds.def == kinds.py == README table == forkaudit(1)."""

    @classmethod
    def setUpClass(cls):
        cls.rows = parse_kinds_def(read(KINDS_DEF))
        cls.readme = readme_kinds(read(README))
        cls.man = man_kinds(read(MAN_PAGE))

    def test_kinds_def_rows_are_well_formed(self):
        self.assertGreaterEqual(len(self.rows), 11)
        names = [r["name"] for r in self.rows]
        self.assertEqual(len(names), len(set(names)), names)
        for r in self.rows:
            self.assertRegex(r["name"], r"^[a-z0-9]+(-[a-z0-9]+)*$")
            self.assertIn(r["level"], LEVELS, r)
            self.assertIn(r["phase"], PHASES, r)
            self.assertTrue(r["title"] and r["help"], r)

    def test_kinds_py_matches_kinds_def(self):
        problems = registry_problems(self.rows, kinds.KINDS)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_readme_table_matches_kinds_def(self):
        problems = doc_problems("README.md's \"Report kinds\" table", self.rows, self.readme)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_man_page_matches_kinds_def(self):
        problems = doc_problems("docs/forkaudit.1 KINDS", self.rows, self.man)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


class DriftIsCaught(unittest.TestCase):
    """The comparisons above fail when a kind is added in one place only."""

    NEW = {"id": "NEW", "name": "new-kind", "phase": "FORK", "level": "warning", "title": "T", "help": "H"}

    def setUp(self):
        # Places that agree (kinds.py's own table as kinds.def), then one of them changed.
        self.rows = [{"id": "", "name": k.name, "phase": k.phase, "level": k.level, "title": k.title, "help": k.help}
                     for k in kinds.KINDS]
        self.documented = [(r["name"], r["level"]) for r in self.rows]
        self.assertEqual(registry_problems(self.rows, kinds.KINDS), [])
        self.assertEqual(doc_problems("doc", self.rows, self.documented), [])

    def test_a_row_added_to_kinds_def_only(self):
        rows = self.rows + [self.NEW]
        self.assertTrue(any("no entry for new-kind" in p for p in registry_problems(rows, kinds.KINDS)))
        self.assertEqual(doc_problems("doc", rows, self.documented), ["doc does not list new-kind (warning)"])

    def test_an_entry_added_to_kinds_py_only(self):
        table = kinds.KINDS + (kinds.Kind("new-kind", "FORK", "warning", "T", "H"),)
        self.assertEqual(registry_problems(self.rows, table), ["kinds.py has new-kind, which kinds.def does not list"])

    def test_a_row_added_to_a_document_only_or_twice(self):
        self.assertEqual(doc_problems("doc", self.rows, self.documented + [("new-kind", "warning")]),
                         ["doc lists new-kind, which kinds.def does not"])
        first = self.documented[0]
        self.assertEqual(doc_problems("doc", self.rows, self.documented + [first]),
                         ["doc lists %s more than once" % first[0]])

    def test_another_severity_or_text(self):
        rows = [dict(r) for r in self.rows]
        rows[0]["level"] = "note"
        rows[1]["title"] = "another title"
        problems = registry_problems(rows, kinds.KINDS)
        self.assertEqual(len(problems), 2, problems)
        self.assertEqual(len(doc_problems("doc", rows, self.documented)), 1)

    def test_added_trailing_columns_and_escapes_are_read(self):
        text = 'FA_KIND(X, "x-kind", CHILD, "error", "A \\"quoted\\", title", "help, " "joined", FA_FN(a, b), 3)\n'
        self.assertEqual(parse_kinds_def(text), [{"id": "X", "name": "x-kind", "phase": "CHILD", "level": "error",
                                                 "title": 'A "quoted", title', "help": "help, joined"}])

    def test_documents_are_read(self):
        readme = "### Report kinds\n\n| kind | severity | x |\n| --- | --- | --- |\n" \
                 "| `a-b` | `error` when this; `warning` else | y |\n| `c` | `note` | z |\n\n## Next\n| `d` | `x` | |\n"
        self.assertEqual(readme_kinds(readme), [("a-b", "error"), ("c", "note")])
        man = '.SH KINDS\ntext\n.TP\n.BR a\\-b " (error)"\nwhat\n.TP\n.BR c " (note)"\n.SH NEXT\n.TP\n.B d\n'
        self.assertEqual(man_kinds(man), [("a-b", "error"), ("c", "note")])


# --- what the launcher derives from the table -------------------------------------------------

def _finding(rec, fds=None):
    return records.Finding(rec["kind"], "sig", rec, fds)


class LauncherUse(unittest.TestCase):
    """SARIF rules, notes and units come from the table."""

    def test_one_sarif_rule_per_finding_kind_with_kinds_def_text(self):
        rows = [r for r in parse_kinds_def(read(KINDS_DEF)) if r["level"] != "note"]
        run = types.SimpleNamespace(findings=[], symbolizer=None, command=["true"])
        rules = export.sarif_document(run, cwd="/")["runs"][0]["tool"]["driver"]["rules"]
        self.assertEqual([(r["id"], r["defaultConfiguration"]["level"], r["shortDescription"]["text"],
                           r["fullDescription"]["text"]) for r in rules],
                         [(r["name"], r["level"], r["title"], r["help"]) for r in rows])

    def test_notes_are_never_findings(self):
        for k in kinds.KINDS:
            rec = {"kind": k.name, "severity": "warning", "pid": 1}
            self.assertEqual(records.is_finding(rec), k.level != "note", k.name)

    def test_exec_kinds_count_execs(self):
        self.assertEqual({k.name: k.unit for k in kinds.KINDS if k.unit != "fork"}, {"fds-leaked-at-exec": "exec"})

    def test_descriptor_kinds_are_one_finding_per_descriptor_signature(self):
        opened = [{"function": "open_log", "module": "/bin/prog"}]
        rec = {"kind": "fds-at-fork", "severity": "warning", "pid": 1,
               "fds": [{"fd": 3, "type": "file", "opened_at": opened}, {"fd": 4, "type": "pipe", "target": "pipe:[9]"},
                       {"fd": 5, "type": "file", "opened_at": opened}]}
        parts = records.signature_parts(rec)
        self.assertEqual([(sig, [fd["fd"] for fd in fds]) for sig, fds in parts],
                         [("fds-at-fork|file@open_log@prog", [3, 5]), ("fds-at-fork|pipe#fd4", [4])])

    def test_child_stuck_finding(self):
        stack = [{"function": "with_lock", "module": "/bin/prog"}]
        rec = {"kind": "child-stuck", "severity": "error", "pid": 2, "stack": stack, "stuck_for_s": 1,
               "suspect_tid": 7, "suspect_evidence": "same function",
               "parent_threads": [{"tid": 7, "stack_at_fork": stack}, {"tid": 8, "stack_at_fork": []}]}
        self.assertEqual(records.signature_parts(rec), [("child-stuck|with_lock@prog", None)])
        f = _finding(rec)
        self.assertIn("likely culprit: the parent's thread 7 (same function)", records.describe(f))
        self.assertEqual([label for label, _ in records.key_sites(f)],
                         ["the child blocks at", "the suspect thread 7 was at the fork"])

    def test_a_kind_the_launcher_does_not_know(self):
        stack = [{"function": "f", "module": "/lib/x.so"}]
        rec = {"kind": "future-kind", "severity": "warning", "pid": 1, "stack": stack, "suppression": "future-kind:f"}
        self.assertTrue(records.is_finding(rec))
        self.assertEqual(records.signature_parts(rec), [("future-kind|f@x.so", None)])
        f = _finding(rec)
        self.assertEqual((records.describe(f), records.key_sites(f), records.suggested_rule(f), f.unit),
                         ("future-kind", [("at", stack)], "future-kind:f", "fork"))
        self.assertEqual(kinds.get("future-kind").sarif_rule(), ("warning", "future-kind", "future-kind"))


if __name__ == "__main__":
    sys.exit(cmocka_style.run_module(__name__))
