#!/usr/bin/env bash
# The README's main command (`make demo`): runs the bundled examples under the auditor.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
lib="$top/build/libforkaudit.so"
# audit OPTIONS CMD...: the library's own text reports, live on stderr. The launcher
# (tools/forkaudit) keeps them in a run directory and prints a summary instead: shown last.
audit() { local opts=$1; shift; LD_PRELOAD="$lib" FORKAUDIT_OPTIONS="$opts" "$@"; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "### C: a logger thread holds its mutex while main forks a helper"
audit stack_signal=61 "$top/build/examples/logger_fork" "$out/app.log"

# Debian's interpreter when there is one, else the python3 on PATH: the interpreter itself,
# not a wrapper script (pyenv shims are shell scripts).
py=/usr/bin/python3
[ -x "$py" ] || py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -n "$py" ]; then
    echo
    echo "### Python: parent and a fork()ed multiprocessing.Process write one file"
    audit stack_depth=4 "$py" "$top/examples/python/shared_file.py" "$out"
    echo
    echo "### Python: three worker threads are running when a fork()ed Process starts"
    audit stack_depth=4 "$py" "$top/examples/python/threads_at_fork.py"
    echo
    echo "### Python: a threading.Lock held across the fork; the child would hang on it"
    audit on_child_deadlock=abort:stack_depth=4 "$py" "$top/examples/python/child_deadlock.py"
    if "$py" -c 'import numpy' 2>/dev/null; then
        echo
        echo "### Python: numpy seeded once, then every Pool worker draws the same numbers"
        audit stack_depth=4 "$py" "$top/examples/python/seeded_rng.py"
    fi
else
    echo "(python3 not installed: Python examples skipped)"
fi

echo
echo "### The launcher: the C example again, summarised (tools/forkaudit)"
"$top/tools/forkaudit" --run-dir "$out/run" --fail-on never -- "$top/build/examples/logger_fork" "$out/app2.log"
