#!/bin/bash
# tests/shell/test_interop_udp.sh: UDP between tern and the Linux kernel over
# a TUN device (TERN_LINK=tap: a TAP device, with ARP; test_interop_udp_tap.sh
# runs that), in a network namespace this test creates and removes.
#
# Usage: bash test_interop_udp.sh <tern binary> <source dir>
# The tern socket-API side is tests/interop/udp_peer.c, found next to the test
# programs: <directory of the tern binary>/tests/interop_udp_peer, or
# $TERN_UDP_PEER.
#
#  1. `tern tun serve echo,udp-echo` (MTU 1500; TCP echo and UDP echo both on
#     port 7): Linux's `nc -u` (netcat-openbsd) and `socat` each send
#     datagrams of several sizes and get them back byte-exact, among them
#     datagrams that IP must fragment both ways (1473, 4000, 32768 and
#     65507 bytes over MTU 1500); a Python client sends 300 datagrams of
#     0 to 1999 bytes one after the other, each answered from tern's port 7
#     with the same bytes; the TCP echo on port 7 answers meanwhile; a
#     datagram from port 19 (chargen) is not answered (no echo ping-pong). tern's
#     summary and --stats count every datagram echoed; the capture decodes
#     in tshark with every UDP checksum good, no malformed packet, and
#     fragments from both sides.
#  2. A datagram to a UDP port of tern where nothing listens: Linux's
#     connected socket gets ECONNREFUSED (tern's ICMP port unreachable,
#     RFC 1122 4.1.3.1), and tern counts drop.UDP_NO_PORT.
#  3. tern's SOCK_DGRAM sockets (udp_peer) against Linux: to a socat echo
#     (UDP4-RECVFROM,fork PIPE), sendto/recvfrom and connect/send/recv of
#     1 to 65507 bytes, byte-exact and from the echo's address and port;
#     a zero-length datagram through a Python echo; a connected socket sees
#     ECONNREFUSED after a datagram to a closed Linux port (RFC 1122
#     4.1.3.3); socat sends datagrams to a tern socket that echoes them.
#  4. `serve udp-echo:7007 --count 3` exits 0 by itself after the third
#     datagram echoed, its summary says 3 datagrams; usage errors of the
#     list (two UDP services on one port) exit 2.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, nc (OpenBSD), socat,
# python3, tshark, timeout. Anything missing is a FAILURE, not a skip.
# Everything runs in one namespace, tern-udp-<link>-<pid>, deleted by the
# EXIT trap even on failure; the addresses (10.77.60.0/22) exist only inside
# it. Waits are on events (a log line, a file reaching its size, a process
# exit) with generous bounds, never fixed sleeps.
#
# EVIDENCE: RFC 862 (UDP echo against Linux clients), RFC 1122 4.1.3.1 (port
# unreachable: Linux sees ECONNREFUSED), RFC 1122 4.1.3.3 (tern's connected
# socket reports Linux's port unreachable), RFC 791 3.2 (fragmentation and
# reassembly both ways), RFC 768 (checksums verified by tshark)
set -u

TERN=${1:?usage: test_interop_udp.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
PEER=${TERN_UDP_PEER:-$(dirname "$TERN")/tests/interop_udp_peer}
LINK=${TERN_LINK:-tun}
NS=tern-udp-$LINK-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

require_tools ip nc socat python3 tshark timeout cmp
require_root "a network namespace and TUN/TAP devices"
require_tun
if [ ! -x "$PEER" ]; then
    echo "FAIL: $PEER (tests/interop/udp_peer.c) is not built" >&2
    exit 1
fi
make_ns

size_is() { [ -f "$1" ] && [ "$(stat -c %s "$1")" -eq "$2" ]; } # size_is <file> <bytes>
ready() { grep -q "$2" "$1"; }                                  # ready <log> <text>

# ---- 1. Linux clients to `serve echo,udp-echo` -------------------------------------

T_IP=10.77.60.2
L_IP=10.77.60.1
ip netns exec "$NS" "$TERN" "$LINK" --dev tu0 --addr $T_IP/24 --linux-addr $L_IP/24 --mtu 1500 --stats \
    --pcap "$tmp/serve.pcap" serve echo,udp-echo >"$tmp/serve.out" 2>"$tmp/serve.log" &
tpid=$!
pids+=("$tpid")
check "tern comes up: TCP echo and UDP echo on port 7" wait_for 30 ready "$tmp/serve.log" \
    'listening on port 7 (echo), port 7 (udp-echo)'

sent=0
# nc -u sends what one read of stdin gives as one datagram (up to 16 KiB)
# and writes what comes back; it runs until killed once all is back.
for n in 1 64 1472 1473 4000; do
    head -c "$n" /dev/urandom >"$tmp/nc.$n"
    ip netns exec "$NS" nc -u $T_IP 7 <"$tmp/nc.$n" >"$tmp/nc.$n.back" 2>"$tmp/nc.$n.err" &
    c=$!
    pids+=("$c")
    wait_for 30 size_is "$tmp/nc.$n.back" "$n"
    kill "$c" 2>/dev/null
    wait "$c" 2>/dev/null
    check "nc -u: a $n-byte datagram back byte-exact" cmp -s "$tmp/nc.$n" "$tmp/nc.$n.back"
    sent=$((sent + 1))
done

# socat: -b 65536 reads (and so sends) the file as one datagram; -t 60
# keeps it waiting for the answer after its stdin's end (it is killed first).
for n in 1 1400 4000 32768 65507; do
    head -c "$n" /dev/urandom >"$tmp/socat.$n"
    ip netns exec "$NS" socat -b 65536 -t 60 - UDP4:$T_IP:7 <"$tmp/socat.$n" >"$tmp/socat.$n.back" \
        2>"$tmp/socat.$n.err" &
    c=$!
    pids+=("$c")
    wait_for 30 size_is "$tmp/socat.$n.back" "$n"
    kill "$c" 2>/dev/null
    wait "$c" 2>/dev/null
    check "socat: a $n-byte datagram back byte-exact" cmp -s "$tmp/socat.$n" "$tmp/socat.$n.back"
    sent=$((sent + 1))
done

# 300 datagrams from one socket, each waited for: sizes 0..1999, every
# answer from tern's port 7 with the bytes sent.
cat >"$tmp/burst.py" <<'PY'
import os, socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
bad = 0
for i in range(count):
    data = os.urandom((i * 677) % 2000)
    s.sendto(data, (host, port))
    back, peer = s.recvfrom(70000)
    if back != data or peer != (host, port):
        bad += 1
print("burst: %d datagrams, %d wrong" % (count, bad))
PY
inns timeout 120 python3 "$tmp/burst.py" $T_IP 7 300 >"$tmp/burst.out" 2>&1
check "python: 300 datagrams of 0..1999 bytes, each back byte-exact from port 7" \
    grep -qx 'burst: 300 datagrams, 0 wrong' "$tmp/burst.out"
sent=$((sent + 300))

# The TCP echo on the same port number answers meanwhile.
printf 'tcp beside udp\n' >"$tmp/tcp.in"
inns timeout 30 nc -N $T_IP 7 <"$tmp/tcp.in" >"$tmp/tcp.back" 2>"$tmp/tcp.err"
check "TCP echo on port 7 beside the UDP echo" cmp -s "$tmp/tcp.in" "$tmp/tcp.back"

# A datagram from port 19 (chargen, which answers anything) gets no echo:
# the one sent right after it from another port is answered, and by then
# the first has been read (one device, one queue, in order).
cat >"$tmp/loop.py" <<'PY'
import socket, sys
host = sys.argv[1]
chargen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
chargen.bind(("0.0.0.0", 19))
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.settimeout(20)
chargen.sendto(b"from chargen", (host, 7))
other.sendto(b"after it", (host, 7))
print("other answered" if other.recvfrom(100)[0] == b"after it" else "other: wrong answer")
chargen.setblocking(False)
try:
    chargen.recvfrom(100)
    print("port 19 answered")
except BlockingIOError:
    print("port 19 not answered")
PY
inns timeout 60 python3 "$tmp/loop.py" $T_IP >"$tmp/loop.out" 2>&1
check "a datagram from port 19 (chargen) is not echoed; the next one is"     bash -c "grep -qx 'other answered' '$tmp/loop.out' && grep -qx 'port 19 not answered' '$tmp/loop.out'"
sent=$((sent + 1))

# ---- 2. A closed UDP port of tern: Linux sees ECONNREFUSED --------------------------

cat >"$tmp/refused.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"anyone?")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("ECONNREFUSED")
except socket.timeout:
    print("timeout")
PY
inns timeout 60 python3 "$tmp/refused.py" $T_IP 9 >"$tmp/refused.out" 2>&1
check "a datagram to tern's closed UDP port 9: Linux's connected socket gets ECONNREFUSED" \
    grep -qx ECONNREFUSED "$tmp/refused.out"

stop "$tpid"
rc=$?
check "tern serve stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0
check "the summary counts $sent datagrams echoed" \
    grep -q "^tern: .* $sent datagrams echoed$" "$tmp/serve.log"
check "--stats: $sent echoed, none unsent, one not answered (port 19)" \
    grep -q "stats udp .* echoed=$sent unsent=0 from_answering_port=1$" "$tmp/serve.log"
check "--stats: the closed port counted (drop.UDP_NO_PORT)" \
    grep -q 'stats drop.UDP_NO_PORT=[1-9]' "$tmp/serve.log"

# The capture: tshark reassembles the fragments and checks every checksum.
tshark_udp() { # tshark_udp <filter>: the number of frames it matches
    tshark -r "$tmp/serve.pcap" -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE \
        -Y "$1" 2>/dev/null | wc -l
}
bad=$(tshark_udp 'udp.checksum.status == 0 || ip.checksum.status == 0 || _ws.malformed')
check "capture: no bad UDP or IP checksum, nothing malformed (got $bad)" test "$bad" -eq 0
good=$(tshark_udp 'udp.checksum.status == 1')
check "capture: $((2 * sent)) or more UDP datagrams with a verified checksum (got $good)" \
    test "$good" -ge $((2 * sent))
frags=$(tshark_udp "ip.flags.mf == 1 && ip.src == $T_IP")
check "capture: tern fragmented its large echoes (got $frags fragments)" test "$frags" -gt 0
frags=$(tshark_udp "ip.flags.mf == 1 && ip.src == $L_IP")
check "capture: Linux fragmented its large datagrams (got $frags fragments)" test "$frags" -gt 0

# ---- 3. tern's SOCK_DGRAM sockets against Linux -------------------------------------

P_IP=10.77.61.2
PL_IP=10.77.61.1
peer_args=(--dev tu1 --addr $P_IP/24 --linux-addr $PL_IP/24)
[ "$LINK" = tap ] && peer_args+=(--tap)

ip netns exec "$NS" socat -b 65536 UDP4-RECVFROM:9007,fork PIPE 2>"$tmp/socat_echo.err" &
pids+=($!)
cat >"$tmp/echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("bound", flush=True)
while True:
    data, peer = s.recvfrom(70000)
    s.sendto(data, peer)
PY
ip netns exec "$NS" python3 "$tmp/echo.py" 9008 >"$tmp/pyecho.out" 2>&1 &
pids+=($!)
udp_bound() { inns ss -Hlun "sport = :$1" | grep -q .; }
check "Linux's socat echo is bound to UDP 9007" wait_for 30 udp_bound 9007
check "Linux's Python echo is bound to UDP 9008" wait_for 30 udp_bound 9008

sizes=(1 64 1472 1473 4000 32768 65507)
inns timeout 120 "$PEER" "${peer_args[@]}" echo $PL_IP 9007 "${sizes[@]}" \
    >"$tmp/peer_echo.out" 2>"$tmp/peer_echo.err"
rc=$?
check "tern sockets to Linux's socat echo: exit 0 (got $rc)" test $rc -eq 0
for n in "${sizes[@]}"; do
    check "tern sendto/recvfrom: $n bytes back byte-exact from the echo's port" \
        grep -qx "sendto $n ok" "$tmp/peer_echo.out"
    check "tern connect/send/recv: $n bytes back byte-exact" grep -qx "send $n ok" \
        "$tmp/peer_echo.out"
done
inns timeout 120 "$PEER" "${peer_args[@]}" echo $PL_IP 9008 0 100 \
    >"$tmp/peer_echo0.out" 2>"$tmp/peer_echo0.err"
check "tern sockets: a zero-length datagram to Linux and back (Python echo)" \
    grep -qx "send 0 ok" "$tmp/peer_echo0.out"

inns timeout 60 "$PEER" "${peer_args[@]}" refused $PL_IP 9999 \
    >"$tmp/peer_refused.out" 2>"$tmp/peer_refused.err"
check "tern's connected socket: ECONNREFUSED after a datagram to Linux's closed port 9999" \
    grep -qx "refused ok" "$tmp/peer_refused.out"

ip netns exec "$NS" timeout 120 "$PEER" "${peer_args[@]}" serve 9100 3 >"$tmp/peer_serve.out" \
    2>"$tmp/peer_serve.err" &
ppid=$!
pids+=("$ppid")
check "tern socket bound to UDP 9100" wait_for 30 ready "$tmp/peer_serve.out" '^ready$'
for n in 1 1473 20000; do
    head -c "$n" /dev/urandom >"$tmp/ps.$n"
    ip netns exec "$NS" socat -b 65536 -t 60 - UDP4:$P_IP:9100 <"$tmp/ps.$n" >"$tmp/ps.$n.back" \
        2>"$tmp/ps.$n.err" &
    c=$!
    pids+=("$c")
    wait_for 30 size_is "$tmp/ps.$n.back" "$n"
    kill "$c" 2>/dev/null
    wait "$c" 2>/dev/null
    check "socat to a tern socket's echo: $n bytes back byte-exact" \
        cmp -s "$tmp/ps.$n" "$tmp/ps.$n.back"
done
if wait_for 30 exited "$ppid"; then
    wait "$ppid"
    rc=$?
    check "the tern socket echo exits 0 after its 3 datagrams (got $rc)" test $rc -eq 0
else
    fail "the tern socket echo still runs after its 3 datagrams"
fi

# ---- 4. --count for UDP, and usage errors ----------------------------------------------

ip netns exec "$NS" "$TERN" "$LINK" --dev tu2 --addr 10.77.62.2/24 --linux-addr 10.77.62.1/24 --count 3 \
    serve udp-echo:7007 >"$tmp/count.out" 2>"$tmp/count.log" &
cpid=$!
pids+=("$cpid")
check "serve udp-echo:7007 --count 3 comes up" wait_for 30 ready "$tmp/count.log" \
    'listening on udp port 7007'
inns timeout 60 python3 "$tmp/burst.py" 10.77.62.2 7007 3 >"$tmp/count_burst.out" 2>&1
check "three datagrams echoed" grep -qx 'burst: 3 datagrams, 0 wrong' "$tmp/count_burst.out"
if wait_for 30 exited "$cpid"; then
    wait "$cpid"
    rc=$?
    check "--count 3 exits 0 by itself after the third datagram (got $rc)" test $rc -eq 0
else
    fail "--count 3 still runs after three datagrams"
    stop "$cpid"
fi
check "its summary says 3 datagrams echoed" grep -q '^tern: .* 3 datagrams echoed$' \
    "$tmp/count.log"

usage_err() { # usage_err <what the message says> <serve operands...>
    local want=$1
    shift
    inns timeout 20 "$TERN" "$LINK" --dev tu3 --addr 10.77.63.2/24 serve "$@" \
        >"$tmp/usage.out" 2>&1
    local rc=$?
    check "serve $*: exit 2 (got $rc), '$want'" \
        bash -c "[ $rc -eq 2 ] && grep -qF -- \"$want\" '$tmp/usage.out'"
}
usage_err "two services on port 7 (udp)" udp-echo,udp-echo:7
usage_err "two services on port 7 (tcp)" echo,discard:7
usage_err "unknown service (echo, discard, http or udp-echo): udp" echo,udp
usage_err "invalid port '0' for service udp-echo" udp-echo:0

summary
