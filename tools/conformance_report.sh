#!/bin/bash
# tools/conformance_report.sh: RFC 9293 conformance report.
#
# Lists every requirement label RFC 9293 Appendix B defines (MUST-n,
# SHLD-n, MAY-n, REC-n), the tests that cite it with an `EVIDENCE:` tag
# (any line of a file under tests/ or scenarios/ holding "EVIDENCE:" and
# labels), and those tests' last ctest result; writes docs/conformance.md.
#
# Labels come from ../shared/rfc/rfc9293.txt (relative to the source tree)
# when it is there, else from docs/rfc9293-requirements.txt, the committed
# extract (one label a line: LABEL, level, description, tab-separated).
#
# Usage:
#   conformance_report.sh --src DIR [--build DIR [--ctest CTEST]] [--out FILE]
#       write the report (with --ctest, run the build tree's tests first)
#   conformance_report.sh --src DIR --check                      the test: every
#       cited label exists, the committed extract matches the RFC, and the
#       coverage figures are printed; exit 1 on a problem.
#   conformance_report.sh --src DIR --extract                    print the extract
set -u
src=.
build=
out=
mode=report
ctest=
while [ $# -gt 0 ]; do
    case $1 in
    --src) src=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --ctest) ctest=$2; shift 2 ;;
    --check) mode=check; shift ;;
    --extract) mode=extract; shift ;;
    *) echo "conformance_report.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
rfc="$src/../shared/rfc/rfc9293.txt"
committed="$src/docs/rfc9293-requirements.txt"
[ -n "$out" ] || out="$src/docs/conformance.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Appendix B's table: rows between '+' rules; column 2 is the label, the
# first column the feature (continued over several lines and page breaks),
# a one-cell row a category heading, '*' rows sub-features.
extract() {
    awk '
    /^Appendix B\.  TCP Requirement Summary/ { on = 1; next }
    /^Appendix C\./ || /^Acknowledgments/ { on = 0 }
    !on { next }
    /^    \+/ { flush(); next }
    /^    \|/ {
        n = split($0, f, "|")
        if (n <= 3) { cat_frag = cat_frag " " trim(f[2]); is_cat = 1; next }
        feat = feat " " trim(f[2])
        id = trim(f[3]); if (id != "") label = id
        lv[1] = "MUST"; lv[2] = "SHOULD"; lv[3] = "MAY"; lv[4] = "SHOULD NOT"; lv[5] = "MUST NOT"
        for (k = 1; k <= 5; k++) if (trim(f[3 + k]) ~ /X/) level = lv[k]
        next
    }
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    function flush() {
        if (is_cat) { category = trim(cat_frag); cat_frag = ""; is_cat = 0 }
        if (label ~ /^(MUST|SHLD|MAY|REC)-[0-9]+$/) {
            d = trim(feat); gsub(/  +/, " ", d); gsub(/- /, "-", d)
            printf "%s\t%s\t%s: %s\n", label, level, category, d
        }
        label = ""; feat = ""; level = ""
    }
    ' "$1" | sort -t- -k1,1 -k2,2n | awk -F'\t' '!seen[$1]++'
}

if [ -f "$rfc" ]; then
    extract "$rfc" >"$tmp/labels"
    source="RFC 9293 Appendix B ($rfc)"
elif [ -f "$committed" ]; then
    grep -v '^#' "$committed" >"$tmp/labels"
    source="docs/rfc9293-requirements.txt"
else
    echo "conformance_report.sh: neither $rfc nor $committed exists" >&2
    exit 1
fi
if [ "$mode" = extract ]; then
    echo "# RFC 9293 Appendix B requirement labels: LABEL, level, feature (tab-separated)."
    echo "# Extracted by tools/conformance_report.sh --extract; do not edit by hand."
    cat "$tmp/labels"
    exit 0
fi

# label <TAB> test, for every EVIDENCE tag.
grep -rnoE 'EVIDENCE:.*' "$src/tests" "$src/scenarios" 2>/dev/null |
    while IFS= read -r hit; do
        file=${hit%%:*}
        name=$(basename "$file")
        name=${name%.*}
        grep -oE '\b(MUST|SHLD|MAY|REC)-[0-9]+\b' <<<"${hit#*EVIDENCE:}" | while read -r l; do
            printf '%s\t%s\n' "$l" "$name"
        done
    done | sort -u >"$tmp/evidence"

cut -f1 "$tmp/labels" >"$tmp/known"
problems=0
while IFS=$'\t' read -r l t; do
    if ! grep -qx "$l" "$tmp/known"; then
        echo "FAIL: $t cites $l, which RFC 9293 Appendix B does not define"
        problems=$((problems + 1))
    fi
done <"$tmp/evidence"

total=$(wc -l <"$tmp/labels")
covered=$(cut -f1 "$tmp/evidence" | sort -u | grep -cxFf "$tmp/known")
count_level() { awk -F'\t' -v p="$1" 'index($1, p) == 1' "$tmp/labels" | wc -l; }
covered_level() { cut -f1 "$tmp/evidence" | sort -u | grep -xFf "$tmp/known" | grep -c "^$1"; }

if [ "$mode" = check ]; then
    if [ -f "$rfc" ] && ! grep -v '^#' "$committed" | cmp -s "$tmp/labels" -; then
        echo "FAIL: docs/rfc9293-requirements.txt is not the extract of $rfc;"
        echo "      regenerate it with tools/conformance_report.sh --src . --extract"
        grep -v '^#' "$committed" | diff - "$tmp/labels" | head -20
        problems=$((problems + 1))
    fi
    if [ "$total" -lt 100 ]; then
        echo "FAIL: only $total labels extracted (RFC 9293 defines about 120)"
        problems=$((problems + 1))
    fi
    echo "labels: $total from $source"
    for p in MUST SHLD MAY REC; do
        echo "  $p: $(covered_level "$p-") of $(count_level "$p-") covered"
    done
    echo "covered: $covered of $total; tests citing labels: $(cut -f2 "$tmp/evidence" | sort -u | wc -l)"
    if [ $problems -ne 0 ]; then
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "1 passed, 0 failed"
    exit 0
fi

# Results of the last ctest run in the build tree.
# ctest writes LastTestsFailed.log only when something fails and never
# removes it, so a stale one must not be read: drop it before our own run,
# and otherwise trust it only if it is not older than LastTest.log.
if [ -n "$ctest" ] && [ -n "$build" ]; then
    rm -f "$build/Testing/Temporary/LastTestsFailed.log"
    "$ctest" --test-dir "$build" -j2 >/dev/null 2>&1 || true
fi
: >"$tmp/ran"
: >"$tmp/failed"
if [ -n "$build" ] && [ -f "$build/Testing/Temporary/LastTest.log" ]; then
    sed -n 's/^[0-9]*\/[0-9]* Test: //p' "$build/Testing/Temporary/LastTest.log" | sort -u >"$tmp/ran"
    if [ -f "$build/Testing/Temporary/LastTestsFailed.log" ] &&
        [ ! "$build/Testing/Temporary/LastTestsFailed.log" -ot "$build/Testing/Temporary/LastTest.log" ]; then
        sed 's/^[0-9]*://' "$build/Testing/Temporary/LastTestsFailed.log" | sort -u >"$tmp/failed"
    fi
fi
result() {
    if grep -qx "$1" "$tmp/failed"; then echo failed
    elif grep -qx "$1" "$tmp/ran"; then echo passed
    else echo "not run"; fi
}

{
    echo "# RFC 9293 conformance"
    echo
    echo "Generated by \`tools/conformance_report.sh\` (\`cmake --build BUILD --target"
    echo "conformance-report\`): every requirement label of RFC 9293 Appendix B, the"
    echo "tests that cite it with an \`EVIDENCE:\` tag, and their result in the last"
    echo "ctest run${build:+ of \`$(basename "$build")\`}. Labels from $(basename "$source" | sed 's/.*(//; s/)$//')."
    echo
    echo "| | covered | of |"
    echo "|---|---|---|"
    for p in MUST SHLD MAY REC; do
        echo "| $p | $(covered_level "$p-") | $(count_level "$p-") |"
    done
    echo "| all | $covered | $total |"
    echo
    echo "| Label | Level | Requirement | Tests (result) |"
    echo "|---|---|---|---|"
    while IFS=$'\t' read -r l level desc; do
        tests=$(awk -F'\t' -v l="$l" '$1 == l { print $2 }' "$tmp/evidence" |
            while read -r t; do printf '%s (%s), ' "$t" "$(result "$t")"; done)
        tests=${tests%, }
        echo "| $l | $level | ${desc//|/\\|} | ${tests:-not covered} |"
    done <"$tmp/labels"
} >"$out"
echo "wrote $out: $covered of $total labels covered"
