"""preflight: checks made before anything runs.

The launcher refuses (exit status 2) rather than run a command the library would not be
loaded into, since such a run would end with "no findings" and prove nothing:

- the library is missing or is not a shared object;
- the command is not found, not a regular executable file, or neither an ELF program nor
  a #! script;
- the ELF program has no program interpreter (PT_INTERP): statically linked, static-pie,
  or a shared object run directly: ld.so never runs, so nothing reads LD_PRELOAD;
- the program is set-user-ID or set-group-ID to another user or group than the caller's:
  the kernel then asks ld.so for secure-execution mode, which ignores LD_PRELOAD entries
  that contain a slash;
- the program's ELF class or machine differs from the library's (a 32-bit program and a
  64-bit library): ld.so skips the library with a warning.

#! scripts are followed to their interpreter (also through `/usr/bin/env NAME`), as the
kernel does, up to 4 levels; the script's own set-ID bits are ignored by Linux and are
not checked.
"""

import os
import shutil
import stat
import struct

PT_DYNAMIC = 2
PT_INTERP = 3
ET_DYN = 3
MACHINES = {3: "x86 (32-bit)", 62: "x86-64", 40: "ARM (32-bit)", 183: "AArch64", 243: "RISC-V",
            8: "MIPS", 21: "PowerPC64", 22: "s390"}
MAX_SCRIPT_DEPTH = 4


class Refusal(Exception):
    """A reason not to run the command; str() is the message for the user (no prefix)."""


class ElfInfo:
    """What the checks need from an ELF header: class (1: 32-bit, 2: 64-bit), byte order,
    machine, file type, and whether PT_INTERP / PT_DYNAMIC program headers exist."""

    def __init__(self, elf_class, data, machine, e_type, has_interp, has_dynamic):
        self.elf_class = elf_class
        self.data = data
        self.machine = machine
        self.e_type = e_type
        self.has_interp = has_interp
        self.has_dynamic = has_dynamic

    def describe(self):
        """'64-bit x86-64'-style text for messages."""
        bits = {1: "32-bit", 2: "64-bit"}.get(self.elf_class, "unknown-class")
        return "%s %s" % (bits, MACHINES.get(self.machine, "machine %d" % self.machine))


def read_elf(path):
    """ElfInfo of the file at `path`, or None when it does not start with the ELF magic.
    Raises Refusal when it does but its headers are truncated or inconsistent, and
    OSError when it cannot be read."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return None
        if len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
            raise Refusal("%s: truncated or unknown ELF header" % path)
        elf_class, order = head[4], "<" if head[5] == 1 else ">"
        e_type, machine = struct.unpack(order + "HH", head[16:20])
        if elf_class == 2:
            if len(head) < 64:
                raise Refusal("%s: truncated ELF header" % path)
            (phoff,) = struct.unpack(order + "Q", head[32:40])
            phentsize, phnum = struct.unpack(order + "HH", head[54:58])
        else:
            (phoff,) = struct.unpack(order + "I", head[28:32])
            phentsize, phnum = struct.unpack(order + "HH", head[42:46])
        if phnum and phentsize < 4:
            raise Refusal("%s: inconsistent ELF program header size" % path)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
        if len(table) < phentsize * phnum:
            raise Refusal("%s: truncated ELF program headers" % path)
        types = {struct.unpack(order + "I", table[i * phentsize:i * phentsize + 4])[0] for i in range(phnum)}
    return ElfInfo(elf_class, head[5], machine, e_type, PT_INTERP in types, PT_DYNAMIC in types)


def find_library(script_dir, environ):
    """Absolute path of libforkaudit.so: $FORKAUDIT_LIB when set (no fallback then), else
    ../build/libforkaudit.so next to the script (source tree), else
    ../lib/libforkaudit.so (installed layout: where LD_PRELOAD=libforkaudit.so finds it),
    else ../lib/forkaudit/libforkaudit.so (the 0.2 install layout). Raises Refusal when none is a
    readable ELF shared object, or when its path could not stand in LD_PRELOAD."""
    given = environ.get("FORKAUDIT_LIB")
    if given:
        candidates = [given]
    else:
        candidates = [os.path.join(script_dir, "..", "build", "libforkaudit.so"),
                      os.path.join(script_dir, "..", "lib", "libforkaudit.so"),
                      os.path.join(script_dir, "..", "lib", "forkaudit", "libforkaudit.so")]
    found = next((c for c in candidates if os.path.isfile(c)), None)
    if found is None:
        if given:
            raise Refusal("the library %s (FORKAUDIT_LIB) does not exist" % given)
        raise Refusal("libforkaudit.so not found (looked for %s): run 'make', or set FORKAUDIT_LIB"
                      % " and ".join(os.path.normpath(c) for c in candidates))
    path = os.path.realpath(found)
    try:
        info = read_elf(path)
    except OSError as e:
        raise Refusal("cannot read the library %s: %s" % (path, e.strerror))
    if info is None or info.e_type != ET_DYN:
        raise Refusal("%s is not an ELF shared object" % path)
    if any(c in path for c in ": \t\n"):
        raise Refusal("the library's path %s contains ':' or whitespace, which LD_PRELOAD cannot hold" % path)
    return path


def resolve_command(name, environ):
    """Absolute path of the program `name` as execvp would find it: a name with a slash is
    taken as a path, others are searched in the PATH of `environ`. Raises Refusal when it
    does not exist, is not a regular file, or is not executable."""
    if "/" in name:
        path = name
        if not os.path.exists(path):
            raise Refusal("command not found: %s" % name)
    else:
        path = shutil.which(name, path=environ.get("PATH", os.defpath))
        if path is None:
            raise Refusal("command not found in PATH: %s" % name)
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise Refusal("%s is not a regular file" % path)
    if not os.access(path, os.X_OK):
        raise Refusal("%s is not executable" % path)
    return path


def _setid_refusal(path):
    """Refusal text when `path` would run in secure-execution mode, else None: set-user-ID
    to another owner than our real uid, or set-group-ID to another group than our real gid."""
    st = os.stat(path)
    if st.st_mode & stat.S_ISUID and st.st_uid != os.getuid():
        return "%s is set-user-ID (owner uid %d)" % (path, st.st_uid)
    if st.st_mode & stat.S_ISGID and st.st_gid != os.getgid():
        return "%s is set-group-ID (group gid %d)" % (path, st.st_gid)
    return None


def _shebang(path):
    """(interpreter, optional argument) of a #! script, or None when `path` is not one.
    Reads the first line as the kernel does (at most 256 bytes)."""
    with open(path, "rb") as f:
        head = f.read(256)
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    if not line:
        raise Refusal("%s: empty #! line" % path)
    parts = line.split(None, 1)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def check_program(path, library, environ, depth=0):
    """Raises Refusal when the library would not be preloaded into the program at `path`
    (an absolute path to an executable file); `library` is the library's ElfInfo. Scripts
    are followed to their interpreter. Returns the chain of files checked, outermost
    first (for messages)."""
    info = read_elf(path)
    if info is None:
        shebang = _shebang(path)
        if shebang is None:
            raise Refusal("%s is neither an ELF program nor a #! script" % path)
        if depth >= MAX_SCRIPT_DEPTH:
            raise Refusal("%s: more than %d levels of #! interpreters" % (path, MAX_SCRIPT_DEPTH))
        interp, arg = shebang
        if os.path.basename(interp) == "env" and arg and not arg.startswith("-"):
            # `#!/usr/bin/env NAME`: env execs NAME from PATH; check both.
            check_program(resolve_command(interp, environ), library, environ, depth + 1)
            return [path] + check_program(resolve_command(arg.split()[0], environ), library, environ, depth + 1)
        try:
            interp_path = resolve_command(interp if "/" in interp else "./" + interp, environ)
        except Refusal as e:
            raise Refusal("%s: its interpreter: %s" % (path, e))
        return [path] + check_program(interp_path, library, environ, depth + 1)
    why = _setid_refusal(path)
    if why:
        raise Refusal(why + ": the dynamic loader runs it in secure-execution mode and ignores LD_PRELOAD")
    if not info.has_interp:
        what = "statically linked" if info.e_type != ET_DYN or not info.has_dynamic else \
               "static-pie or a shared object (no program interpreter)"
        raise Refusal("%s is %s: the dynamic loader, which does the preloading, never runs for it" % (path, what))
    if (info.elf_class, info.data, info.machine) != (library.elf_class, library.data, library.machine):
        raise Refusal("%s is a %s program and the library is %s: the loader would skip the library"
                      % (path, info.describe(), library.describe()))
    return [path]
