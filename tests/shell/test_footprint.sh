#!/usr/bin/env bash
# bench/footprint.sh (issue 13 item 3): the Cortex-M4 figure of a minimal
# TCP server, with and without rule texts. Checks the output's shape (one
# line per build with text/rodata/data/bss/flash, the lwIP reference), that
# the build without rule texts is smaller, and that its core objects hold
# no "RFC ..." string, nor any text tools/rule_ids.py lists, while the
# default build's do. No absolute size is asserted: the figure is a
# measurement, not a target. Needs clang, lld, llvm and
# libnewlib-arm-none-eabi (.ci/run installs them).
set -u
src=${2:?source directory}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() {
    echo "FAIL: $*" >&2
    fail=1
}

if ! bash "$src/bench/footprint.sh" --keep "$work/fp" >"$work/out" 2>"$work/err"; then
    echo "FAIL: bench/footprint.sh exited non-zero" >&2
    cat "$work/out" "$work/err" >&2
    exit 1
fi
cat "$work/out"
line='text=[0-9]+ rodata=[0-9]+ data=[0-9]+ bss=[0-9]+ flash=[0-9]+ \([0-9.]+ KB; libc\+libgcc [0-9]+, tern [0-9]+\)$'
[ "$(wc -l <"$work/out")" -eq 3 ] || bad "expected 3 lines, got $(wc -l <"$work/out")"
grep -Eq "^rule-texts=on +$line" "$work/out" || bad "no well-formed rule-texts=on line"
grep -Eq "^rule-texts=off +$line" "$work/out" || bad "no well-formed rule-texts=off line"
grep -Eq '^lwip-reference +flash=24-26 KB' "$work/out" || bad "no lwIP reference line"

field() { sed -n "s/^rule-texts=$1 .* $2=\([0-9]*\).*/\1/p" "$work/out"; }
on=$(field on flash)
off=$(field off flash)
if [ -n "$on" ] && [ -n "$off" ]; then
    [ "$off" -lt "$on" ] || bad "without rule texts flash=$off is not smaller than with them ($on)"
    [ "$(field off rodata)" -lt "$(field on rodata)" ] || bad "rodata did not shrink"
    echo "footprint: without rule texts $((on - off)) bytes smaller"
fi

# The core's objects: no rule text left with the option; some without it
# (else the count above proves nothing).
count() { cat "$work/fp/$1"/src_*.o | strings | grep -c 'RFC [0-9]'; }
n_on=$(count on)
n_off=$(count off)
echo "footprint: strings with \"RFC <n>\" in the core objects: $n_on with rule texts, $n_off without"
[ "$n_on" -gt 100 ] || bad "the default build's objects hold only $n_on rule texts"
[ "$n_off" -eq 0 ] || bad "$n_off rule texts left without them: $(cat "$work/fp/off"/src_*.o | strings | grep 'RFC [0-9]' | head -3)"
# Every rule text tools/rule_ids.py knows, not only those that start with
# "RFC": none in the objects built without texts (their ids are folded to
# constants by clang -Os).
python3 "$src/tools/rule_ids.py" --texts >"$work/texts" || bad "rule_ids.py --texts failed"
all_on=$(cat "$work/fp/on"/src_*.o | strings | grep -cxF -f "$work/texts")
all_off=$(cat "$work/fp/off"/src_*.o | strings | grep -cxF -f "$work/texts")
echo "footprint: rule texts of tools/rule_ids.py in the core objects: $all_on with, $all_off without"
[ "$all_on" -gt 200 ] || bad "the default build's objects hold only $all_on of rule_ids.py's texts"
[ "$all_off" -eq 0 ] || bad "$all_off rule texts left without them: $(cat "$work/fp/off"/src_*.o | strings | grep -xF -f "$work/texts" | head -3)"
exit $fail
