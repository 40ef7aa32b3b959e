"""symbolize: source file and line of frames, through addr2line.

The records give each frame's module and `offset` (the address inside the ELF file).
Offsets are collected first, then each module is asked once:
`addr2line -a -f -i -C -e MODULE OFF...`. elfutils' eu-addr2line (same options) is used
when installed, else binutils' addr2line: binutils 2.40 (Debian 12) names the wrong file
for DWARF 5 line entries of code from another file than the compilation unit's own (a
function from a header is shown in the .c file, with the header's line number). Frames are return addresses, so offset-1 is
looked up (the call instruction, not the one after it). With -i a frame that is inside
inlined code gives several (function, file, line) entries, innermost first; the last is
the function the address really is in.

Nothing here fails: without addr2line, without the module, or without debug info, a
frame simply has no lines (the summary then shows function+offset).
"""

import os
import re
import shutil
import subprocess

# file:line, file:line:column (elfutils), "(discriminator N)" (binutils)
_LOCATION = re.compile(r"^(.*?):(\d+|\?)(?::\d+)?(?: \(discriminator \d+\))?$")
TOOLS = ("eu-addr2line", "addr2line")


class Symbolizer:
    """Collects (module, offset) pairs with want(), resolves them with run(), answers with
    lines(). `enabled` False (--no-lines) makes it answer nothing."""

    def __init__(self, enabled=True, timeout=60):
        self.tool = next((t for t in TOOLS if shutil.which(t)), None) if enabled else None
        self.enabled = self.tool is not None
        self.timeout = timeout
        self._wanted = {}
        self._lines = {}

    def want(self, frames):
        """Asks for every frame of `frames` (a list of record frames) to be resolved."""
        for f in frames or []:
            if isinstance(f, dict) and f.get("module") and f.get("offset"):
                try:
                    self._wanted.setdefault(f["module"], set()).add(int(f["offset"], 16))
                except ValueError:
                    pass

    def run(self):
        """Runs addr2line once per module that exists; errors and time-outs leave that
        module unresolved."""
        if not self.enabled:
            return
        for module, offsets in self._wanted.items():
            if not os.path.isfile(module):
                continue
            ordered = sorted(offsets)
            args = [self.tool, "-a", "-f", "-i", "-C", "-e", module] + ["0x%x" % max(o - 1, 0) for o in ordered]
            try:
                out = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, timeout=self.timeout,
                                     universal_newlines=True, errors="replace").stdout
            except (OSError, subprocess.SubprocessError):
                continue
            for offset, entries in zip(ordered, _parse(out)):
                self._lines[(module, offset)] = entries

    def lines(self, frame):
        """[(function, file, line)] for a frame, innermost inlined function first; entries
        without a known file are dropped, so [] means no debug information."""
        try:
            key = (frame.get("module"), int(frame.get("offset") or "", 16))
        except ValueError:
            return []
        return self._lines.get(key, [])


def _parse(text):
    """Splits addr2line -a -f -i output into one list per address, in order: each a list
    of (function or None, file, line) with a known file (line may be None)."""
    blocks, current, pending_fn = [], None, None
    for line in text.splitlines():
        if line.startswith("0x") and _is_hex(line):
            current = []
            blocks.append(current)
            pending_fn = None
        elif current is None:
            continue
        elif pending_fn is None:
            pending_fn = line.split(" inlined at ", 1)[0]  # elfutils names the caller too
        else:
            m = _LOCATION.match(line)
            fn = None if pending_fn == "??" else pending_fn
            if m and m.group(1) != "??":
                line_no = int(m.group(2)) if m.group(2).isdigit() else 0
                current.append((fn, m.group(1), line_no or None))
            pending_fn = None
    return blocks


def _is_hex(s):
    """True when `s` is a hexadecimal number (addr2line -a address lines)."""
    try:
        int(s, 16)
        return True
    except ValueError:
        return False
