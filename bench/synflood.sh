#!/bin/bash
# bench/synflood.sh: a SYN flood at the highest rate this machine makes,
# against `tern tap serve echo`, while a Linux client connects 50 times to
# the same listener (the benchmark of tests/shell/test_synflood_tap.sh,
# without its pacing).
#
# Usage: sudo bash bench/synflood.sh [tern binary] [SYNs]
#   (default ./build/tern, 200000 SYNs at least)
# Environment: SENDERS (default: the number of CPUs) flood processes.
#
# How it sends: SENDERS processes of tests/shell/synflood.py, each with its
# own seed, each a raw IP socket (IPPROTO_RAW) writing prebuilt SYNs with
# one sendto() each, as fast as it can (no pacing), from the Linux side of
# the TAP device to tern's port 7. Sources are random inside 10.77.0.0/16
# (never tern's 10.77.0.2 or Linux's 10.77.0.1), source ports and sequence
# numbers random. The flood runs until the senders have sent SYNs in all
# and the client is done. The client (tests/shell/synclient.py) starts once
# the first 10% are out, connects 50 times 20 ms apart, and counts a connect
# that takes more than 1 s as a failure.
#
# Prints: the SYN rate the senders reached (SYNs sent / wall time), the rate
# tern's device read, the SYNs the kernel dropped at the device's queue
# (tern not reading fast enough), the connect success ratio, the connect
# latency (median, max), tern's peak RSS (VmHWM) against its tables, and
# tern's drop counters. Everything runs in the namespace tern-bsf-<pid>,
# removed on exit; the addresses exist only inside it.
set -u
TERN=$(readlink -f "${1:-./build/tern}")
SYNS=${2:-200000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SENDERS=${SENDERS:-$(nproc)}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x "$TERN" ] || { echo "no tern binary at $TERN" >&2; exit 1; }

tmp=$(mktemp -d)
NS=tern-bsf-$$
cleanup() {
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" || exit 1
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
inns() { ip netns exec "$NS" "$@"; }

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}
exited() { ! kill -0 "$1" 2>/dev/null; }
kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
tx_dropped() { inns ip -s link show tsf0 | awk '/TX:/ { getline; print $4 }'; }

ip netns exec "$NS" "$TERN" tap --dev tsf0 --addr 10.77.0.2/16 --linux-addr 10.77.0.1/16 \
    --quiet --stats serve echo --port 7 2>"$tmp/tern.log" &
tern_pid=$!
wait_for 30 grep -q 'listening on port 7' "$tmp/tern.log" || {
    cat "$tmp/tern.log" >&2
    exit 1
}
tables=$(sed -n 's/^tern: .* \([0-9]*\) KiB of tables in all$/\1/p' "$tmp/tern.log")
inns python3 "$SRC/tests/shell/synclient.py" --dst 10.77.0.2 --port 7 --n 1 >/dev/null ||
    { echo "tern does not answer before the flood" >&2; exit 1; }
rss0=$(kib "$tern_pid" VmRSS)
drop0=$(tx_dropped)

per=$(((SYNS + SENDERS - 1) / SENDERS))
senders=()
t0=$(date +%s.%N)
for i in $(seq "$SENDERS"); do
    inns python3 "$SRC/tests/shell/synflood.py" --dst 10.77.0.2 --port 7 --net 10.77.0.0/16 \
        --avoid 10.77.0.1 --min "$per" --ready $((per / 10)) --stop "$tmp/stop" \
        --seed $(($$ * 100 + i)) >"$tmp/flood.$i" 2>&1 &
    senders+=($!)
done
for i in $(seq "$SENDERS"); do wait_for 120 grep -q flooding "$tmp/flood.$i"; done
inns python3 "$SRC/tests/shell/synclient.py" --dst 10.77.0.2 --port 7 --n 50 --gap-ms 20 \
    --limit 1.0 --max-fail 50 >"$tmp/client.out" 2>&1
touch "$tmp/stop"
for p in "${senders[@]}"; do wait "$p"; done
t1=$(date +%s.%N)
hwm=$(kib "$tern_pid" VmHWM)
drop1=$(tx_dropped)
kill -TERM "$tern_pid"
wait_for 20 exited "$tern_pid"

sent=$(cat "$tmp"/flood.* | sed -n 's/^sent \([0-9]*\) SYNs.*/\1/p' | paste -sd+ | bc)
secs=$(echo "$t1 - $t0" | bc -l)
rx=$(sed -n 's/.*stats device rx=\([0-9]*\).*/\1/p' "$tmp/tern.log")
echo "senders:          $SENDERS x synflood.py (raw socket, one sendto per SYN)"
printf 'SYNs sent:        %d in %.2f s: %.0f SYN/s\n' "$sent" "$secs" "$(echo "$sent / $secs" | bc -l)"
printf "tern's device:    %d packets read (%.0f/s); the kernel dropped %d at the device queue\n" \
    "${rx:-0}" "$(echo "${rx:-0} / $secs" | bc -l)" $((${drop1:-0} - ${drop0:-0}))
sed -n 's/^connects ok \([0-9]*\) of \([0-9]*\), median \(.*\) ms, max \(.*\) ms/connects:         \1 of \2 within 1 s (success ratio \1\/\2), latency median \3 ms, max \4 ms/p' \
    "$tmp/client.out"
echo "tern peak RSS:    ${hwm:-?} kB (RSS before the flood ${rss0:-?} kB; tables ${tables:-?} KiB)"
grep -E 'stats (drop|clients)' "$tmp/tern.log" | sed 's/^tern tap: stats /tern counter:     /'
grep -q '^connects ok 50 of 50' "$tmp/client.out" || grep 'FAILED' "$tmp/client.out" | head -n 5
