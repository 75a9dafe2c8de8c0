#!/bin/bash
# tools/conformance_report.sh: RFC 9293 conformance report, and a second
# table for the IPv6 family (RFC 8200, 4443, 4861, 4862, 8201 and related).
#
# The second table's labels (RFC-section-letter, e.g. 8200-4.5-a) come from
# docs/ipv6-requirements.txt (written by hand: those RFCs number no rules);
# tests cite them with the same `EVIDENCE:` tags. --check fails on a cited
# label the file does not define, and with --require-all on a label of the
# file that no test cites.
#
# Lists every requirement label RFC 9293 Appendix B defines (MUST-n,
# SHLD-n, MAY-n, REC-n), the tests that cite it with an `EVIDENCE:` tag
# (any line of a file under tests/ or scenarios/ holding "EVIDENCE:" and
# labels), and those tests' last ctest result; writes docs/conformance.md.
#
# A label may instead (or as well) carry a documented choice: a line
#   CHOICE: RFC 9293 LABEL: short reason
# in docs/conformance-choices.md, under a heading "## LABEL" that gives the
# reasoning (the report links to it). Issue 11 accepts a choice in place of
# tests for SHOULD-level labels only; a MUST label (MUST-n) needs tests, and
# only MUST-51..53 (IP options) may carry a choice beside them.
#
# Labels come from ../shared/rfc/rfc9293.txt (relative to the source tree)
# when it is there, else from docs/rfc9293-requirements.txt, the committed
# extract (one label a line: LABEL, level, description, tab-separated).
#
# Usage:
#   conformance_report.sh --src DIR [--build DIR [--ctest CTEST]] [--out FILE]
#       write the report (with --ctest, run the build tree's tests first)
#   conformance_report.sh --src DIR --check [--require-all]      the test: every
#       cited label exists, every choice names a label with a heading of its
#       own and is allowed for it, the committed extract matches the RFC, and
#       the coverage figures are printed; exit 1 on a problem. With
#       --require-all also: every label of level MUST, MUST NOT, SHOULD or
#       SHOULD NOT is covered by tests or a choice (MUST-n labels by tests).
#   conformance_report.sh --src DIR --extract                    print the extract
set -u
src=.
build=
out=
mode=report
ctest=
require_all=0
while [ $# -gt 0 ]; do
    case $1 in
    --src) src=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --ctest) ctest=$2; shift 2 ;;
    --check) mode=check; shift ;;
    --require-all) require_all=1; shift ;;
    --extract) mode=extract; shift ;;
    *) echo "conformance_report.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
rfc="$src/../shared/rfc/rfc9293.txt"
committed="$src/docs/rfc9293-requirements.txt"
v6_file="$src/docs/ipv6-requirements.txt"
choices_file="$src/docs/conformance-choices.md"
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

# The IPv6 table: label <TAB> test for the labels of the form RFC-section-x,
# and the labels the file defines.
v6_label='\b(8200|4443|4861|4862|8201|4291|2464|5722|6724|6946)-[0-9][0-9.]*-[a-z0-9]+\b'
grep -rnoE 'EVIDENCE:.*' "$src/tests" "$src/scenarios" 2>/dev/null |
    while IFS= read -r hit; do
        name=$(basename "${hit%%:*}")
        name=${name%.*}
        grep -oE "$v6_label" <<<"${hit#*EVIDENCE:}" | while read -r l; do
            printf '%s\t%s\n' "$l" "$name"
        done
    done | sort -u >"$tmp/v6_evidence"
: >"$tmp/v6_labels"
[ -f "$v6_file" ] && grep -v '^#' "$v6_file" >"$tmp/v6_labels"
cut -f1 "$tmp/v6_labels" >"$tmp/v6_known"

# label <TAB> short reason, for every CHOICE line of the choices file.
: >"$tmp/choices"
if [ -f "$choices_file" ]; then
    sed -n 's/^CHOICE: *RFC 9293 *\([A-Z]*-[0-9]*\): *\(.*\)$/\1\t\2/p' "$choices_file" |
        sort -t- -k1,1 -k2,2n >"$tmp/choices"
fi

cut -f1 "$tmp/labels" >"$tmp/known"
problems=0
while IFS=$'\t' read -r l t; do
    if ! grep -qx "$l" "$tmp/known"; then
        echo "FAIL: $t cites $l, which RFC 9293 Appendix B does not define"
        problems=$((problems + 1))
    fi
done <"$tmp/evidence"
if [ -f "$choices_file" ] && grep '^CHOICE:' "$choices_file" |
    grep -vE '^CHOICE: *RFC 9293 *[A-Z]+-[0-9]+: *[^ ]'; then
    echo "FAIL: the CHOICE lines above are not 'CHOICE: RFC 9293 LABEL: reason'"
    problems=$((problems + 1))
fi
while IFS=$'\t' read -r l reason; do
    if ! grep -qx "$l" "$tmp/known"; then
        echo "FAIL: docs/conformance-choices.md makes a choice for $l, which RFC 9293 Appendix B does not define"
        problems=$((problems + 1))
    elif [[ $l == MUST-* && $l != MUST-5[123] ]]; then
        echo "FAIL: docs/conformance-choices.md makes a choice for $l: a MUST is met and tested (issue 11: MUST-51..53 only)"
        problems=$((problems + 1))
    fi
    if ! grep -qx "## $l" "$choices_file"; then
        echo "FAIL: docs/conformance-choices.md has no heading '## $l' for its choice"
        problems=$((problems + 1))
    fi
done <"$tmp/choices"
dups=$(cut -f1 "$tmp/choices" | sort | uniq -d | tr '\n' ' ')
if [ -n "$dups" ]; then
    echo "FAIL: docs/conformance-choices.md makes two choices for $dups"
    problems=$((problems + 1))
fi

while IFS=$'\t' read -r l t; do
    if ! grep -qxF "$l" "$tmp/v6_known"; then
        echo "FAIL: $t cites $l, which docs/ipv6-requirements.txt does not define"
        problems=$((problems + 1))
    fi
done <"$tmp/v6_evidence"
cut -f1 "$tmp/v6_evidence" | sort -u | grep -xFf "$tmp/v6_known" >"$tmp/v6_by_tests"
v6_total=$(wc -l <"$tmp/v6_labels")
v6_covered=$(wc -l <"$tmp/v6_by_tests")

total=$(wc -l <"$tmp/labels")
# Labels covered by tests; labels with a choice and no tests.
cut -f1 "$tmp/evidence" | sort -u | grep -xFf "$tmp/known" >"$tmp/by_tests"
cut -f1 "$tmp/choices" | sort -u | grep -xFf "$tmp/known" | grep -vxFf "$tmp/by_tests" >"$tmp/by_choice"
covered=$(wc -l <"$tmp/by_tests")
chosen=$(wc -l <"$tmp/by_choice")
count_level() { awk -F'\t' -v p="$1" 'index($1, p) == 1' "$tmp/labels" | wc -l; }
covered_level() { grep -c "^$1" "$tmp/by_tests"; }
chosen_level() { grep -c "^$1" "$tmp/by_choice"; }

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
    # Every label the RFC requires (MUST, SHOULD and their NOTs) has tests
    # or, SHOULDs only, a documented choice.
    while IFS=$'\t' read -r l level desc; do
        case $level in MAY | "") continue ;; esac
        if grep -qx "$l" "$tmp/by_tests"; then
            continue
        elif [[ $l == MUST-* ]]; then
            missing="$l ($level, tests needed): $desc"
        elif grep -qx "$l" "$tmp/by_choice"; then
            continue
        else
            missing="$l ($level, tests or a choice needed): $desc"
        fi
        if [ "$require_all" = 1 ]; then
            echo "FAIL: $missing"
            problems=$((problems + 1))
        else
            echo "  open: $missing"
        fi
    done <"$tmp/labels"
    while IFS=$'\t' read -r l level desc; do
        grep -qxF "$l" "$tmp/v6_by_tests" && continue
        if [ "$require_all" = 1 ]; then
            echo "FAIL: $l ($level, tests needed): $desc"
            problems=$((problems + 1))
        else
            echo "  open: $l ($level, tests needed): $desc"
        fi
    done <"$tmp/v6_labels"
    echo "IPv6 labels: $v6_covered of $v6_total covered by tests (docs/ipv6-requirements.txt)"
    echo "labels: $total from $source"
    for p in MUST SHLD MAY REC; do
        echo "  $p: $(covered_level "$p-") of $(count_level "$p-") covered by tests, $(chosen_level "$p-") by a documented choice"
    done
    echo "covered: $covered of $total by tests, $chosen more by a documented choice; tests citing labels: $(cut -f2 "$tmp/evidence" | sort -u | wc -l)"
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
result_of() {
    if grep -qx "$1" "$tmp/failed"; then echo failed
    elif grep -qx "$1" "$tmp/ran"; then echo passed
    else echo "not run"; fi
}
# A citing file is a ctest test of its own name, except: a scenario
# (scenarios/NAME.tern) is run by test_sim_golden, and the differential
# suite (tests/sockdiff) by test_sockdiff_kernel, _tern and _tern-tap
# (failed if one failed, passed if all ran).
result() {
    if [ -f "$src/scenarios/$1.tern" ]; then
        echo "$(result_of test_sim_golden) in test_sim_golden"
    elif [ "$1" = sockdiff ]; then
        local r all=passed
        for r in kernel tern tern-tap; do
            case $(result_of "test_sockdiff_$r") in
            failed) all=failed; break ;;
            "not run") all="not run" ;;
            esac
        done
        echo "$all in test_sockdiff_kernel/tern/tern-tap"
    else
        result_of "$1"
    fi
}

{
    echo "# RFC 9293 conformance"
    echo
    echo "Generated by \`tools/conformance_report.sh\` (\`cmake --build BUILD --target"
    echo "conformance-report\`): every requirement label of RFC 9293 Appendix B, the"
    echo "tests that cite it with an \`EVIDENCE:\` tag, and their result in the last"
    echo "ctest run${build:+ of \`$(basename "$build")\`}. Labels from $(basename "$source" | sed 's/.*(//; s/)$//')."
    echo "A label without tests may carry a documented choice instead (SHOULDs"
    echo "only; MUST-51..53 beside their tests): the reasons are in"
    echo "[conformance-choices.md](conformance-choices.md)."
    echo
    echo "| | covered by tests | documented choice | not covered | of |"
    echo "|---|---|---|---|---|"
    for p in MUST SHLD MAY REC; do
        n=$(count_level "$p-")
        a=$(covered_level "$p-")
        b=$(chosen_level "$p-")
        echo "| $p | $a | $b | $((n - a - b)) | $n |"
    done
    echo "| all | $covered | $chosen | $((total - covered - chosen)) | $total |"
    echo
    echo "| Label | Level | Requirement | Tests (result); choice |"
    echo "|---|---|---|---|"
    while IFS=$'\t' read -r l level desc; do
        tests=$(awk -F'\t' -v l="$l" '$1 == l { print $2 }' "$tmp/evidence" |
            while read -r t; do printf '%s (%s), ' "$t" "$(result "$t")"; done)
        tests=${tests%, }
        reason=$(awk -F'\t' -v l="$l" '$1 == l { print $2; exit }' "$tmp/choices")
        if [ -n "$reason" ]; then
            anchor=$(tr 'A-Z' 'a-z' <<<"$l")
            choice="choice: ${reason//|/\\|} ([why](conformance-choices.md#$anchor))"
            tests=${tests:+$tests; }$choice
        fi
        echo "| $l | $level | ${desc//|/\\|} | ${tests:-not covered} |"
    done <"$tmp/labels"
    echo
    echo "## IPv6: RFC 8200, 4443, 4861, 4862, 8201"
    echo
    echo "The host rules of the IPv6 family, labelled by hand in"
    echo "[ipv6-requirements.txt](ipv6-requirements.txt) (RFC-section-letter; those"
    echo "RFCs number no rules), with the tests that cite them: $v6_covered of $v6_total"
    echo "covered by tests."
    echo
    echo "| Label | Level | Rule | Tests (result) |"
    echo "|---|---|---|---|"
    while IFS=$'\t' read -r l level desc; do
        tests=$(awk -F'\t' -v l="$l" '$1 == l { print $2 }' "$tmp/v6_evidence" |
            while read -r t; do printf '%s (%s), ' "$t" "$(result "$t")"; done)
        tests=${tests%, }
        echo "| $l | $level | ${desc//|/\\|} | ${tests:-not covered} |"
    done <"$tmp/v6_labels"
} >"$out"
echo "wrote $out: $covered of $total labels covered by tests, $chosen more by a documented choice"
