#!/bin/bash
# bench/interop_goodput.sh: goodput of tern against the Linux kernel's TCP
# over a TUN device, beside Linux against Linux over a veth pair, measured in
# the same run on the same machine.
#
# Usage: sudo bash bench/interop_goodput.sh [tern binary] [MB]
#   (default ./build/tern, 100 MB per transfer)
#
# Prints three figures (Mbit/s, application bytes / time from connection
# established to the receiver's end of stream) and the ratios:
#   tern -> Linux over TUN   `tern tun send` to a Python receiver
#   Linux -> tern over TUN   `nc -N` to `tern tun recv`
#   Linux -> Linux over veth a Python sender to a Python receiver
# The tern figures are those tern prints in its summary line (connection
# established to FIN exchanged); the Linux figure is measured by the
# receiver the same way (first byte accepted to end of stream).
# Everything happens in namespaces named tern-bench-<pid>-*, removed on exit;
# addresses are from 10.78.0.0/24, inside those namespaces only.
set -u
TERN=$(readlink -f "${1:-./build/tern}")
MB=${2:-100}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x "$TERN" ] || { echo "no tern binary at $TERN" >&2; exit 1; }

tmp=$(mktemp -d)
A=tern-bench-$$-a
B=tern-bench-$$-b
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null
    ip netns del $A 2>/dev/null
    ip netns del $B 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add $A && ip netns add $B || exit 1
for n in $A $B; do ip netns exec $n ip link set lo up; done

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }

head -c $((MB * 1024 * 1024)) /dev/urandom >"$tmp/data"

# Receiver: prints Mbit/s from the first byte to end of stream.
cat >"$tmp/rx.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
t0, n = time.monotonic(), 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    n += len(b)
dt = time.monotonic() - t0
print("%.1f" % (n * 8 / dt / 1e6))
EOF
cat >"$tmp/tx.py" <<'EOF'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
with open(sys.argv[3], "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        c.sendall(b)
c.shutdown(socket.SHUT_WR)
c.recv(1)
EOF

goodput_of() { grep -oE 'goodput [0-9.]+' "$1" | tail -n 1 | cut -d' ' -f2; }

# tern -> Linux over TUN
ip netns exec $A python3 "$tmp/rx.py" 6001 >"$tmp/t2l.rx" &
wait_for 30 listening $A 6001 || exit 1
ip netns exec $A "$TERN" tun --dev tb0 --addr 10.78.0.2/24 --linux-addr 10.78.0.1/24 \
    send 10.78.0.1:6001 "$tmp/data" 2>"$tmp/t2l.log" || { cat "$tmp/t2l.log"; exit 1; }
wait
t2l=$(goodput_of "$tmp/t2l.log")

# Linux -> tern over TUN
ip netns exec $A "$TERN" tun --dev tb0 --addr 10.78.0.2/24 --linux-addr 10.78.0.1/24 \
    recv --port 6002 -o /dev/null 2>"$tmp/l2t.log" &
tpid=$!
wait_for 30 grep -q 'listening on port' "$tmp/l2t.log" || exit 1
ip netns exec $A nc -N 10.78.0.2 6002 <"$tmp/data"
wait $tpid || { cat "$tmp/l2t.log"; exit 1; }
l2t=$(goodput_of "$tmp/l2t.log")

# Linux -> Linux over veth (created inside the namespaces only)
ip netns exec $A ip link add vb0 type veth peer name vb1 netns $B || exit 1
ip netns exec $A ip addr add 10.78.0.1/24 dev vb0
ip netns exec $B ip addr add 10.78.0.2/24 dev vb1
ip netns exec $A ip link set vb0 up
ip netns exec $B ip link set vb1 up
ip netns exec $B python3 "$tmp/rx.py" 6003 >"$tmp/l2l.rx" &
wait_for 30 listening $B 6003 || exit 1
ip netns exec $A python3 "$tmp/tx.py" 10.78.0.2 6003 "$tmp/data"
wait
l2l=$(cat "$tmp/l2l.rx")

printf '%-28s %10s Mbit/s\n' "tern -> Linux over TUN" "$t2l" "Linux -> tern over TUN" "$l2t" \
    "Linux -> Linux over veth" "$l2l"
awk -v a="$t2l" -v b="$l2t" -v c="$l2l" 'BEGIN {
    printf "ratios to veth: tern->Linux %.2f, Linux->tern %.2f (%d MB each)\n", a / c, b / c, '"$MB"' }'
