#!/bin/bash
# tests/shell/test_sim_golden.sh: every bundled scenario (scenarios/*.tern)
# is rendered by `tern sim NAME` and compared byte for byte with its golden
# diagram, tests/golden/NAME.txt. Lines of a golden file that start with
# '#' are comments (why tern's diagram differs from the RFC's figure, with
# the RFC section) and are left out of the comparison. A scenario without a
# golden file, a difference, or a failed expectation (exit status not 0) is
# a failure, shown with a diff.
#
# Usage: bash test_sim_golden.sh <tern binary> <source dir>
#
# EVIDENCE: MUST-10 (rfc9293-fig7: simultaneous open)
# EVIDENCE: MUST-11 (rfc9293-fig8, rfc9293-fig11: SYN-RECEIVED from a passive OPEN returns to LISTEN)
# EVIDENCE: MUST-12 (rfc9293-fig9, rfc9293-fig10: the user learns of the abort; rfc9293-fig12: of the close)
# EVIDENCE: MUST-13 (rfc9293-fig12, rfc9293-fig13: TIME-WAIT lasts 2 MSL)
set -u
TERN=${1:?usage: test_sim_golden.sh <tern binary> <source dir>}
SRC=${2:?usage: test_sim_golden.sh <tern binary> <source dir>}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

for f in "$SRC"/scenarios/*.tern; do
    name=$(basename "$f" .tern)
    golden="$SRC/tests/golden/$name.txt"
    if [ ! -f "$golden" ]; then
        echo "FAIL $name: no golden file tests/golden/$name.txt"
        failed=$((failed + 1))
        continue
    fi
    "$TERN" sim "$name" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    grep -v '^#' "$golden" >"$tmp/$name.want"
    if ! cmp -s "$tmp/$name.want" "$tmp/$name.out"; then
        echo "FAIL $name: the diagram differs from tests/golden/$name.txt (- golden, + tern):"
        diff -u "$tmp/$name.want" "$tmp/$name.out" | tail -n +3
        failed=$((failed + 1))
    elif [ $rc -ne 0 ]; then
        echo "FAIL $name: exit status $rc"
        cat "$tmp/$name.err"
        failed=$((failed + 1))
    else
        echo "ok   $name"
        passed=$((passed + 1))
    fi
done

# The default scenario is Figure 6.
"$TERN" sim >"$tmp/default.out" 2>&1
if grep -v '^#' "$SRC/tests/golden/rfc9293-fig6.txt" | cmp -s - "$tmp/default.out"; then
    echo "ok   tern sim (no argument) draws rfc9293-fig6"
    passed=$((passed + 1))
else
    echo "FAIL tern sim (no argument) does not draw rfc9293-fig6"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
