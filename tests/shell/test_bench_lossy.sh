#!/bin/bash
# tests/shell/test_bench_lossy.sh: bench/lossy_goodput.sh --quick works: it
# prints one line per impairment row in the documented shape, every transfer
# (tern's and Linux's) arrives byte-exact and complete, the relay really
# impaired the path (frames lost or reordered), and the namespaces are gone
# afterwards, also when the run is interrupted with SIGINT; each run is
# followed by its sender's counters (tern tun --stats, nstat for Linux);
# ROWS picks rows and TERN_ARGS reaches tern's sender. A functional check
# only: it asserts no goodput or ratio.
#
# Usage: bash test_bench_lossy.sh <tern binary> <source dir>
# Needs root (CI runs it as root), ip(8), /dev/net/tun, python3, and
# bench/impair_relay built next to the tern binary. Anything missing is a
# FAILURE, not a skip. The namespaces and addresses are the benchmark's own
# (tern-lossy-<pid>-*, 10.79.0.0/16), created and removed by it.
set -u
TERN=$(readlink -f "${1:?usage: test_bench_lossy.sh <tern binary> <source dir>}")
SRC=$(readlink -f "${2:?usage: test_bench_lossy.sh <tern binary> <source dir>}")
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
[ -x "$(dirname "$TERN")/bench/impair_relay" ] || { echo "FAIL: no bench/impair_relay next to $TERN" >&2; exit 1; }

no_namespaces_of() { ! ip netns list | grep -q "tern-lossy-$1-"; }

# 1. A whole --quick run.
bash "$SRC/bench/lossy_goodput.sh" --quick "$TERN" >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait $pid
rc=$?
cat "$tmp/out"
check "--quick exits 0 (status $rc; stderr: $(head -c 300 "$tmp/err"))" [ $rc -eq 0 ]
rows=(loss-1pct loss-5pct loss-10pct reorder-20pct-2ms rtt-25ms-loss-1pct)
check "one result line per row, in order" \
    [ "$(grep -v '^#' "$tmp/out" | cut -d' ' -f1 | tr '\n' ' ')" = "${rows[*]} " ]
num='[0-9]+(\.[0-9]+)?'
for r in "${rows[@]}"; do
    check "$r: line shape 'ROW tern X Mbit/s linux Y Mbit/s ratio Z'" \
        grep -Eq "^$r tern $num Mbit/s linux $num Mbit/s ratio $num\$" "$tmp/out"
    for who in tern linux; do
        check "$r: $who transfer complete and byte-exact" \
            grep -Eq "^# $r $who run 1/1: 524288 bytes, byte-exact yes, $num Mbit/s, done\$" "$tmp/out"
    done
done
num_fields='tx=[0-9]+ rx=[0-9]+ retransmits=[0-9]+ rto_expiries=[0-9]+ tlp_timeouts=[0-9]+ recoveries=[0-9]+'
check "each tern run is followed by its TCP counters (tern tun --stats)" \
    [ "$(grep -Ec "^#   tern tcp: $num_fields " "$tmp/out")" -eq ${#rows[@]} ]
check "each Linux run is followed by the kernel's counters (nstat)" \
    [ "$(grep -Ec '^#   linux: OutSegs=[1-9][0-9]* RetransSegs=[0-9]+ ' "$tmp/out")" -eq ${#rows[@]} ]
check "the loss rows made tern resend something" \
    [ "$(grep -E "^#   tern tcp: " "$tmp/out" | grep -Ec 'retransmits=[1-9]')" -ge 1 ]
lost_in() { grep "^# $1 relay:" "$tmp/out" | grep -Eq "[1-9][0-9]* $2"; }
for r in loss-1pct loss-5pct loss-10pct rtt-25ms-loss-1pct; do
    check "$r: the relay dropped frames" lost_in $r lost
done
check "reorder-20pct-2ms: the relay reordered frames" lost_in reorder-20pct-2ms reordered
check "load average printed before and after" \
    [ "$(grep -Ec '^# load average (before|after): ' "$tmp/out")" -eq 2 ]
check "the run's namespaces are removed" no_namespaces_of $pid

# 2. ROWS picks rows (the loss-free reference row, then 5 % loss) and
# TERN_ARGS reaches tern's sender: its trace file (the last run's, at 5 %
# loss) shows the loss detection asked for at work, and not the other.
ROWS="clean loss-5pct" TERN_ARGS="--loss rfc6675 --cc cubic --trace $tmp/trace" \
    bash "$SRC/bench/lossy_goodput.sh" --quick "$TERN" >"$tmp/out3" 2>&1
rc=$?
cat "$tmp/out3"
check "ROWS='clean loss-5pct' exits 0 (status $rc)" [ $rc -eq 0 ]
check "ROWS='clean loss-5pct': those rows alone" \
    [ "$(grep -v '^#' "$tmp/out3" | cut -d' ' -f1 | tr '\n' ' ')" = "clean loss-5pct " ]
check "clean: both transfers byte-exact" \
    [ "$(grep -Ec '^# clean (tern|linux) run 1/1: 524288 bytes, byte-exact yes, ' "$tmp/out3")" -eq 2 ]
check "TERN_ARGS reached tern: its --trace file holds the segments it sent" \
    grep -q ' tx tcp 1 > seq [0-9]* ack [0-9]* len 1448 ' "$tmp/trace"
check "--loss rfc6675 reached the stack: RFC 6675 recoveries, no RACK marks in the trace" \
    sh -c "grep -q 'RFC 6675' '$tmp/trace' && ! grep -q 'RFC 8985 6' '$tmp/trace'"
check "ROWS rejects an unknown row" sh -c "! ROWS=nosuch bash '$SRC/bench/lossy_goodput.sh' --quick '$TERN' >/dev/null 2>&1"

# 3. SIGINT in the middle of a run still cleans up. (Job control on, so the
# background script does not start with SIGINT ignored; a seed of our own
# names its relay.)
seed=$((100000 + $$))
set -m
SEED=$seed bash "$SRC/bench/lossy_goodput.sh" --quick "$TERN" >"$tmp/out2" 2>&1 &
pid=$!
set +m
end=$((SECONDS + 60))
until ip netns list | grep -q "tern-lossy-$pid-r" || [ $SECONDS -ge $end ]; do sleep 0.05; done
until grep -q '^# loss-1pct tern run' "$tmp/out2" || [ $SECONDS -ge $end ]; do sleep 0.05; done
kill -INT $pid
# Bounded: a script that ignored SIGINT must fail this test, not hang it.
end=$((SECONDS + 60))
while kill -0 $pid 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
    check "SIGINT ends the run within 60 s" false
    kill -KILL $pid 2>/dev/null
fi
wait $pid
rc=$?
check "SIGINT ends the run (status $rc)" [ $rc -ne 0 ]
check "SIGINT: the namespaces are removed" no_namespaces_of $pid
check "SIGINT: no relay left running" sh -c "! pgrep -f 'impair_relay --a tapS --b tapR --seed $seed( |\$)' >/dev/null"

if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
