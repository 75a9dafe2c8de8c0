#!/bin/bash
# tests/shell/test_synflood_tap.sh: a SYN flood must not lock a listener out
# (issue 10, "Done when"). Over a TAP device (Ethernet, ARP), `tern tap
# serve echo` listens on port 7 with its default table sizes. From the
# Linux side of the device, a raw socket sends at least FLOOD_N spoofed SYNs
# to that port (tests/shell/synflood.py: random sources inside the
# namespace's /16, never tern's or Linux's address, random ports and
# sequence numbers; paced at FLOOD_RATE/s). Once FLOOD_READY of them are
# out, and while the flood goes on, a Linux client connects 50 times to the
# same listener (tests/shell/synclient.py, 20 ms apart). Checks:
#   - every one of the 50 connects completes within 1 s (measured each; a
#     lost SYN costs Linux a 1 s retransmission) and its echo comes back;
#   - tern's memory does not grow with the flood: its peak RSS (VmHWM)
#     after the flood exceeds its RSS before the flood by at most
#     GROWTH_KIB (default 6144 KiB). Every table is allocated when tern
#     starts (its start line gives the size). What may still become
#     resident is memory allocated but not yet touched: the driver's
#     2048-slot transmit ring (3 MB at MTU 1500) fills for the first time
#     with the SYN,ACKs and ARP requests, and that is the whole of the
#     growth measured (3028 kB, the same for 20,000 and 60,000 SYNs). A
#     stack that kept anything per spoofed SYN outside its tables, even
#     256 bytes, would add more than 5 MB over 20,000 SYNs. tern answers
#     each SYN with a SYN,ACK that needs ARP for an address nobody has:
#     that pending state is part of what must stay bounded, and it must
#     not push the kernel's own entry out of tern's ARP cache;
#   - the peak RSS stays within tern's tables plus PROCESS_KIB (default
#     32768 KiB: the program, its libraries, the driver's queues, the
#     sanitizers' shadow in the ASan build).
#
# Usage: bash test_synflood_tap.sh <tern binary> <source dir>
# Environment: FLOOD_N (default 20000), FLOOD_RATE (default 10000 SYN/s),
#              FLOOD_READY (default 5000), GROWTH_KIB, PROCESS_KIB (above).
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, python3. Anything
# missing is a FAILURE, not a skip. Everything runs in one network
# namespace, tern-sf-<pid>, deleted by the EXIT trap even on failure; the
# addresses (10.77.0.0/16) exist only inside it. Waits poll for events (a
# log line, a process exit) with generous bounds; no fixed sleeps.
set -u

TERN=${1:?usage: test_synflood_tap.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
SRC=${2:?usage: test_synflood_tap.sh <tern binary> <source dir>}
FLOOD_N=${FLOOD_N:-20000}
FLOOD_RATE=${FLOOD_RATE:-10000}
FLOOD_READY=${FLOOD_READY:-5000}
GROWTH_KIB=${GROWTH_KIB:-6144}
PROCESS_KIB=${PROCESS_KIB:-32768}
TERN_IP=10.77.0.2
LINUX_IP=10.77.0.1
NET=10.77.0.0/16
NS=tern-sf-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1 # check, tmp, cleanup, wait_for, stop...

require_tools ip python3 timeout
require_root "a network namespace, a TAP device, a raw socket"
require_tun
make_ns

for f in synflood.py synclient.py; do
    if [ ! -f "$SRC/tests/shell/$f" ]; then
        echo "FAIL: $SRC/tests/shell/$f is missing" >&2
        exit 1
    fi
done

kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; } # kib <pid> <field>

ip netns exec "$NS" "$TERN" tap --dev tsf0 --addr $TERN_IP/16 --linux-addr $LINUX_IP/16 \
    --quiet --stats serve echo --port 7 >"$tmp/tern.out" 2>"$tmp/tern.log" & # $! is tern's pid
tern_pid=$!
pids+=("$tern_pid")
check "tern tap serve echo comes up" wait_for 30 grep -q 'listening on port 7' "$tmp/tern.log"
grep 'clients at once' "$tmp/tern.log"
tables_kib=$(sed -n 's/^tern: .* \([0-9]*\) KiB of tables in all$/\1/p' "$tmp/tern.log")
inns timeout 30 python3 "$SRC/tests/shell/synclient.py" --dst $TERN_IP --port 7 --n 1 \
    >"$tmp/before.out" 2>&1
check "before the flood: a client connects and is echoed" grep -q '^connects ok 1 of 1' \
    "$tmp/before.out"
rss0=$(kib "$tern_pid" VmRSS)
hwm0=$(kib "$tern_pid" VmHWM)
echo "  tern before the flood: VmRSS ${rss0:-?} kB, VmHWM ${hwm0:-?} kB, tables ${tables_kib:-?} KiB"

inns python3 "$SRC/tests/shell/synflood.py" --dst $TERN_IP --port 7 --net $NET \
    --avoid $LINUX_IP --min "$FLOOD_N" --rate "$FLOOD_RATE" --ready "$FLOOD_READY" \
    --stop "$tmp/stop" --seed $$ >"$tmp/flood.out" 2>"$tmp/flood.err" &
flood_pid=$!
pids+=("$flood_pid")
check "the flood is under way ($FLOOD_READY SYNs out)" wait_for 60 grep -q flooding "$tmp/flood.out"
inns timeout 120 python3 "$SRC/tests/shell/synclient.py" --dst $TERN_IP --port 7 --n 50 \
    --gap-ms 20 --limit 1.0 >"$tmp/client.out" 2>&1
rc=$?
check "the flood went on for the whole of the 50 connects" kill -0 "$flood_pid"
touch "$tmp/stop"
wait_for 120 exited "$flood_pid"
wait "$flood_pid"
frc=$?
grep -v ': connected in' "$tmp/client.out" | sed 's/^/  /'
sed 's/^/  /' "$tmp/flood.out" "$tmp/flood.err"
check "during the flood: 50 of 50 connects within 1 s, each echoed (client exit $rc)" \
    grep -q '^connects ok 50 of 50' "$tmp/client.out"
sent=$(sed -n 's/^sent \([0-9]*\) SYNs.*/\1/p' "$tmp/flood.out")
check "the flood sent ${sent:-no} SYNs, at least $FLOOD_N (exit $frc)" \
    bash -c "[ $frc -eq 0 ] && [ ${sent:-0} -ge $FLOOD_N ]"
inns timeout 30 python3 "$SRC/tests/shell/synclient.py" --dst $TERN_IP --port 7 --n 1 \
    >"$tmp/after.out" 2>&1
check "after the flood: a client connects and is echoed" grep -q '^connects ok 1 of 1' \
    "$tmp/after.out"
hwm1=$(kib "$tern_pid" VmHWM)
echo "  tern after the flood: VmHWM ${hwm1:-?} kB (before: VmRSS ${rss0:-?} kB)"
check "tern's peak RSS grew by $((${hwm1:-0} - ${rss0:-0})) kB over the flood (at most $GROWTH_KIB)" \
    bash -c "[ -n '${hwm1}' ] && [ -n '${rss0}' ] && [ $((${hwm1:-0} - ${rss0:-0})) -le $GROWTH_KIB ]"
check "tern's peak RSS ${hwm1:-?} kB is within its tables (${tables_kib:-?} KiB) + $PROCESS_KIB KiB" \
    bash -c "[ -n '${hwm1}' ] && [ -n '${tables_kib}' ] &&
             [ ${hwm1:-0} -le $((${tables_kib:-0} + PROCESS_KIB)) ]"
ip netns exec "$NS" ip -s link show tsf0 | sed -n '/TX:/,+1p' | sed 's/^/  linux tsf0 /'
stop "$tern_pid"
rc=$?
check "tern exits 0 on SIGTERM (got $rc)" test $rc -eq 0
grep -E 'stats (drop|device|clients)' "$tmp/tern.log" | sed 's/^/  /'

summary
