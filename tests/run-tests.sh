#!/usr/bin/env bash
# Runs every test command given as an argument (a binary, or a quoted command line such
# as "valgrind ... build/tests/test_x"; cmocka prints its own summaries), then prints one
# closing line "N passed, N failed" counting the individual tests.
set -u
passed=0
failed=0
skipped=0
failed_bins=()
for t in "$@"; do
    out=$(bash -c "$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | grep -o '\[  PASSED  \] [0-9]*' | grep -o '[0-9]*$' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | grep -o '\[  FAILED  \] [0-9]* test' | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}')
    k=$(printf '%s\n' "$out" | grep -o '\[  SKIPPED \] [0-9]* test' | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}')
    passed=$((passed + p))
    skipped=$((skipped + k))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1)) # crashed before cmocka could count
    fi
    [ "$rc" -ne 0 ] && failed_bins+=("$t")
done
echo
[ ${#failed_bins[@]} -gt 0 ] && echo "failing test programs: ${failed_bins[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
