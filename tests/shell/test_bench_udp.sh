#!/bin/bash
# tests/shell/test_bench_udp.sh: bench/bench_udp (UDP datagrams per second,
# two tern stacks in memory against Linux UDP on loopback) runs briefly and
# prints its figures: one line per datagram size with positive rates for
# both and their ratio, every datagram delivered and checked (lost 0,
# corrupt 0, exit 0), the load average before and after, each run's line;
# bad arguments exit 2. No timing assertion: the figures depend on the
# machine.
#
# Usage: bash test_bench_udp.sh <tern binary> <source dir>
# The program is found at <directory of the tern binary>/bench/bench_udp
# (built with the tree), or $TERN_BENCH_UDP. Uses only 127.0.0.1.
set -u

TERN=${1:?usage: test_bench_udp.sh <tern binary> <source dir>}
BENCH=${TERN_BENCH_UDP:-$(dirname "$(readlink -f "$TERN")")/bench/bench_udp}
failures=0
checks=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
check() { # check <description> <command...>
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then echo "ok: $what"; else fail "$what"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$BENCH" ]; then
    echo "FAIL: $BENCH (bench/bench_udp.c) is not built" >&2
    exit 1
fi

"$BENCH" 20000 3 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "bench_udp 20000 3 exits 0 (got $rc)" test $rc -eq 0
cat "$tmp/out"
# udp 64 B: tern 6117910 dgram/s, linux 1154289 dgram/s, ratio 5.30 (CPU time); wall: tern
# 6113373, linux 1153339 dgram/s; lost 0, corrupt 0
figure_line() { # figure_line <size>
    grep -Eq "^udp $1 B: tern [1-9][0-9]* dgram/s, linux [1-9][0-9]* dgram/s, ratio [0-9]+\.[0-9]+ \(CPU time\); wall: tern [1-9][0-9]*, linux [1-9][0-9]* dgram/s; lost 0, corrupt 0$" \
        "$tmp/out"
}
for size in 64 1400; do
    check "$size-byte datagrams: both rates positive, a ratio, nothing lost or corrupt" \
        figure_line $size
    check "$size-byte datagrams: three runs each, alternated" \
        test "$(grep -c "^# $size B run [123]: tern .* linux " "$tmp/out")" -eq 3
done
check "the load average before and after" \
    test "$(grep -c '^load average \(before\|after\): ' "$tmp/out")" -eq 2
check "no drop in tern's stacks or transmit queues" \
    grep -qx 'tern drops: transmit queue 0/0, stack 0/0' "$tmp/out"

for args in "0" "999" "abc" "20000 0" "20000 16" "1000 1 extra"; do
    # shellcheck disable=SC2086
    "$BENCH" $args >"$tmp/bad.out" 2>"$tmp/bad.err"
    rc=$?
    check "bench_udp $args exits 2 (got $rc) with a usage line" \
        bash -c "[ $rc -eq 2 ] && grep -q '^usage: bench_udp' '$tmp/bad.err'"
done

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
