#!/usr/bin/env bash
# Rule ids (issue 13 item 3, src/core/rule.h): every trace event carries a
# numeric rule id in both builds, the id the host tool tools/rule_ids.py
# computes from the text.
#
#   1. rule_ids.py --check passes on the tree (no two texts share an id,
#      none is 0, none too long or hidden in an expression), lists > 200
#      texts, decodes an id and refuses an unknown one; on a small tree of
#      its own it fails on a collision, on a bare literal in a conditional
#      and on an "RFC ..." literal that reaches no rule macro.
#   2. tests/rules/rule_trace.c, built against the library with texts
#      (rule_trace) and against the same sources built with
#      TERN_NO_RULE_TEXT (rule_trace_norule, tests/CMakeLists.txt):
#      a simulated run prints every event's id and rule. The no-text run
#      prints "rule #0x..." where the other prints the text; decoded by the
#      tool it must equal the full run line for line (so the ids are the
#      same in both builds and equal to the tool's). The same for every
#      bundled scenario's --explain diagram (the scenario driver prints
#      "rule #0x..." without texts).
#   3. The no-text program holds none of the tool's rule texts; the full
#      one holds them (else the check proves nothing).
set -u
TERN=${1:?tern binary}
src=${2:?source directory}
bindir=$(dirname "$TERN")/tests
full=$bindir/rule_trace
norule=$bindir/rule_trace_norule
tool=$src/tools/rule_ids.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}
for p in "$full" "$norule"; do
    [ -x "$p" ] || { echo "FAIL: $p (tests/rules/rule_trace.c) is not built" >&2; exit 1; }
done

# 1. The tool.
if ! python3 "$tool" --check 2>"$work/check"; then
    bad "rule_ids.py --check: $(cat "$work/check")"
fi
python3 "$tool" >"$work/list" 2>/dev/null
n=$(wc -l <"$work/list")
echo "rule_ids: $n rule texts"
[ "$n" -gt 200 ] || bad "only $n rule texts listed"
text="RFC 9293 3.10.7.4 first: sequence number not acceptable"
grep -qxF "$text" <(cut -c13- "$work/list") || bad "'$text' is not listed"
id=$(python3 "$tool" --id "$text")
[ "$(python3 "$tool" "$id")" = "$id  $text" ] || bad "decoding $id: $(python3 "$tool" "$id")"
grep -qxF "$id  $text" "$work/list" || bad "the list does not give $id for '$text'"
unknown=0x00000001
python3 "$tool" "$unknown" >/dev/null && bad "an unknown id decoded"

# A tree of its own: M = 1 (every power 1), so that an id is the sum of the
# bytes and two anagrams collide; then a bare literal; then a stray one.
mini=$work/mini
mkdir -p "$mini/src/core" "$mini/include"
sed -e 's/^#define TERN_RULE_ID_MUL .*/#define TERN_RULE_ID_MUL 0x1u/' \
    -e 's/\* 0x[0-9a-f]\{8\}u/* 0x00000001u/g' "$src/src/core/rule.h" >"$mini/src/core/rule.h"
cat >"$mini/src/x.c" <<'EOF'
#define note(st, rule) (note)(st, TERN_RULE_ARG(rule))
void f(void) { note(st, "RFC 1: ab of a rule"); note(st, "RFC 1: ba of a rule"); }
EOF
python3 "$tool" --root "$mini" --check 2>"$work/mini.err" && bad "a collision passed --check"
grep -q "collides" "$work/mini.err" || bad "no collision reported: $(cat "$work/mini.err")"
cat >"$mini/src/x.c" <<'EOF'
#define note(st, rule) (note)(st, TERN_RULE_ARG(rule))
void f(int c) { note(st, c ? "RFC 1: one rule text" : TERN_RULE("RFC 1: another text")); }
EOF
python3 "$tool" --root "$mini" --check 2>"$work/mini.err" && bad "a bare literal passed --check"
grep -q "x.c:2: a literal inside the rule of note()" "$work/mini.err" ||
    bad "no bare literal reported: $(cat "$work/mini.err")"
cat >"$mini/src/x.c" <<'EOF'
static const char *why(int c) { return c ? "RFC 1: a returned rule" : 0; }
EOF
python3 "$tool" --root "$mini" --check 2>"$work/mini.err" && bad "a stray rule text passed --check"
grep -q "x.c:1: reads like a rule text" "$work/mini.err" ||
    bad "no stray literal reported: $(cat "$work/mini.err")"

# 2. The same run in both builds.
compare() { # NAME ARGS...: runs both programs, decodes the no-text output, compares
    local name=$1
    shift
    "$full" "$@" >"$work/$name.full" 2>"$work/$name.full.err"
    local rc_full=$?
    "$norule" "$@" >"$work/$name.norule" 2>"$work/$name.norule.err"
    local rc_norule=$?
    [ "$rc_full" -eq "$rc_norule" ] || bad "$name: exit $rc_full with texts, $rc_norule without"
    python3 "$tool" --decode "$work/$name.norule" >"$work/$name.decoded"
    if ! cmp -s "$work/$name.full" "$work/$name.decoded"; then
        bad "$name: the run without texts, decoded, differs from the run with them:"
        diff "$work/$name.full" "$work/$name.decoded" | head -10 >&2
    fi
    local ids texts
    ids=$(grep -c 'rule #0x' "$work/$name.norule")
    texts=$(grep -c 'RFC [0-9]' "$work/$name.full")
    [ "$ids" -gt 0 ] || bad "$name: no 'rule #0x' in the run without texts"
    grep -q 'RFC [0-9]' "$work/$name.norule" && bad "$name: a rule text in the run without texts"
    echo "rule_ids: $name: $ids rules by id, $texts lines with RFC texts, the same after decoding"
}
compare events events
[ -s "$work/events.full.err" ] && bad "events: $(cat "$work/events.full.err")"
# Every layer's events are there, with ids.
for layer in eth arp ip icmp tcp; do
    grep -q "^[AB] [a-z]* $layer 0x[0-9a-f]\{8\} | " "$work/events.full" ||
        bad "events: no $layer event"
done
grep -q ' 0x00000000 | RFC' "$work/events.full" && bad "events: a rule text with id 0"
for f in "$src"/scenarios/*.tern; do
    compare "$(basename "$f" .tern)" explain "$f"
done

# 3. No rule text in the program built without them.
python3 "$tool" --texts >"$work/texts"
n_full=$(strings "$full" | grep -cxF -f "$work/texts")
n_norule=$(strings "$norule" | grep -cxF -f "$work/texts")
echo "rule_ids: rule texts in the programs: $n_full with texts, $n_norule without"
[ "$n_full" -gt 200 ] || bad "the program with texts holds only $n_full of them"
[ "$n_norule" -eq 0 ] ||
    bad "$n_norule rule texts left without texts: $(strings "$norule" | grep -xF -f "$work/texts" | head -3)"
exit $fail
