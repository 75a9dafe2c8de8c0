#!/bin/bash
# tests/shell/test_bench_preload.sh: bench/preload_apps.sh --quick works: it
# exits 0 with no FAILED line (no wrk socket error or non-2xx answer, every
# redis-benchmark test gave a figure, no server died), prints each run's
# figure and the five result rows in the documented shape
# ("ROW tern X linux Y ratio Z"), the load average before and after, and
# leaves no namespace behind, also when interrupted with SIGINT. A
# functional check only: it asserts no figure or ratio.
#
# Usage: bash test_bench_preload.sh <tern binary> <source dir>
#   (libtern_preload.so is taken from next to the tern binary)
# Needs root (CI runs it as root), ip(8), /dev/net/tun, nginx, wrk,
# redis-server, redis-benchmark, redis-cli, curl. Anything missing is a
# FAILURE, not a skip. The namespaces and addresses are the benchmark's own
# (tern-bpa-<pid>-*, 10.80.0.0/16), created and removed by it.
set -u
TERN=$(readlink -f "${1:?usage: test_bench_preload.sh <tern binary> <source dir>}")
SRC=$(readlink -f "${2:?usage: test_bench_preload.sh <tern binary> <source dir>}")
LIB=$(dirname "$TERN")/libtern_preload.so
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root" >&2; exit 1; }
[ -c /dev/net/tun ] || { echo "FAIL: /dev/net/tun is missing" >&2; exit 1; }
[ -f "$LIB" ] || { echo "FAIL: no $LIB" >&2; exit 1; }
for tool in ip nginx wrk redis-server redis-benchmark redis-cli curl; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed" >&2; exit 1; }
done

no_namespaces_of() { ! ip netns list | grep -q "tern-bpa-$1-"; }

# 1. A whole --quick run.
timeout 500 bash "$SRC/bench/preload_apps.sh" --quick "$LIB" >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait $pid
rc=$?
cat "$tmp/out"
check "--quick exits 0 (status $rc; stderr: $(head -c 300 "$tmp/err"))" [ $rc -eq 0 ]
check "no FAILED line" eval "! grep -q FAILED '$tmp/out'"
rows=(nginx-wrk redis-server-SET redis-server-GET redis-client-SET redis-client-GET)
check "one result line per row, in order" \
    [ "$(grep -v '^#' "$tmp/out" | cut -d' ' -f1 | tr '\n' ' ')" = "${rows[*]} " ]
num='[0-9]+(\.[0-9]+)?'
for r in "${rows[@]}"; do
    check "$r: line shape 'ROW tern X linux Y ratio Z'" \
        grep -Eq "^$r +tern $num linux $num ratio $num\$" "$tmp/out"
    for side in tern linux; do
        check "$r: the $side run's figure is printed" grep -Eq "^# $r $side run 1/1: $num (req|ops)/s" "$tmp/out"
    done
done
check "load average printed before and after" \
    [ "$(grep -Ec '^# load average (before|after): ' "$tmp/out")" -eq 2 ]
check "the run's namespaces are removed" no_namespaces_of $pid

# 2. SIGINT in the middle (during a wrk run): the namespaces go too. (Job
# control on, so that the background script does not start with SIGINT
# ignored.)
set -m
RUNS=3 WRK_SECS=30 bash "$SRC/bench/preload_apps.sh" "$LIB" >"$tmp/out2" 2>&1 &
pid=$!
set +m
wait_wrk() {
    local end=$((SECONDS + 120))
    until ip netns pids "tern-bpa-$pid-a" 2>/dev/null | xargs -r ps -o comm= -p | grep -qx wrk; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
check "the second run reaches wrk" wait_wrk
kill -INT $pid
gone() {
    local end=$((SECONDS + 60))
    while kill -0 $pid 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
check "SIGINT ends the run within 60 s" gone
if kill -0 $pid 2>/dev/null; then # bounded: a run that ignored SIGINT fails, not hangs
    kill -TERM $pid
    wait $pid
fi
check "... and its namespaces are removed" no_namespaces_of $pid

echo "$failures failed"
[ $failures -eq 0 ]
