#!/usr/bin/env bash
# The README's main command (`make demo`): runs the bundled examples under the auditor.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
audit="$top/tools/forkaudit"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "### C: a logger thread holds its mutex while main forks a helper"
"$audit" -- "$top/build/examples/logger_fork" "$out/app.log"

if command -v python3 >/dev/null; then
    # The interpreter itself, not a wrapper script (pyenv shims are shell scripts).
    py=$(python3 -c 'import sys; print(sys.executable)')
    echo
    echo "### Python: parent and a fork()ed multiprocessing.Process write one file"
    "$audit" -o stack_depth=4 -- "$py" "$top/examples/python/shared_file.py" "$out"
    echo
    echo "### Python: three worker threads are running when a fork()ed Process starts"
    "$audit" -o stack_depth=4 -- "$py" "$top/examples/python/threads_at_fork.py"
else
    echo "(python3 not installed: Python examples skipped)"
fi
