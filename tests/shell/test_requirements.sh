#!/bin/bash
# tests/shell/test_requirements.sh: the RFC 9293 requirement labels the
# tests cite (EVIDENCE: tags) all exist in RFC 9293 Appendix B (a typo
# fails), docs/rfc9293-requirements.txt is the current extract of the RFC
# (when ../shared/rfc/rfc9293.txt is there), and the coverage figures are
# printed. The full report is `cmake --build BUILD --target conformance-report`.
#
# Usage: bash test_requirements.sh <tern binary> <source dir>
set -u
SRC=${2:?usage: test_requirements.sh <tern binary> <source dir>}
report="$SRC/tools/conformance_report.sh"

# The checker must catch a typo: a tree citing MUST-999 fails.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/docs" "$tmp/src/tests"
cp "$SRC/docs/rfc9293-requirements.txt" "$tmp/src/docs/"
printf '/* EVIDENCE%s MUST-999 */\n' ':' >"$tmp/src/tests/test_typo.c"  # split: not a tag here
if bash "$report" --src "$tmp/src" --check >"$tmp/out" 2>&1 ||
    ! grep -q 'test_typo cites MUST-999' "$tmp/out"; then
    echo "FAIL: the checker accepted a label RFC 9293 does not define"
    cat "$tmp/out"
    echo "0 passed, 1 failed"
    exit 1
fi

exec bash "$report" --src "$SRC" --check
