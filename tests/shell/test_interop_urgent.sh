#!/bin/bash
# tests/shell/test_interop_urgent.sh: urgent data (RFC 9293 3.8.5) between
# tern and the Linux kernel's TCP over TUN devices, both ways, in network
# namespaces this test creates and removes.
#
# Usage: bash test_interop_urgent.sh <tern binary> <source dir>
# The tern side is tests/interop/urgent_peer.c (tern's socket API), found
# next to the test programs: <directory of the tern binary>/tests/
# interop_urgent_peer, or $TERN_URGENT_PEER. The Linux side is python3.
#
#  1. Linux -> tern: python sends "hello", then "ab!" with MSG_OOB, then
#     "tail". tern must see POLLPRI, read "helloab" and stop at the mark
#     (SIOCATMARK), take "!" with recv(MSG_OOB), then read "tail".
#  2. tern -> Linux: tern sends "hello", "URG!" with MSG_OOB, "tail" on two
#     connections. Linux must take "!" out of band on the first (after
#     "helloURG", then "tail") and keep it inline with SO_OOBINLINE on the
#     second; the capture of tern's side must show URG with the pointer just
#     after "!" (MUST-62) and no URG once the segments pass it.
#
# Needs root (CI runs it as root), ip(8), python3, timeout, /dev/net/tun.
# Anything missing is a FAILURE, not a skip. Namespaces are named
# tern-urg-<pid>-N; addresses come from 10.77.0.0/24 and exist only inside
# them. Waits are on events (a log line, a process exit) with bounds, never
# fixed sleeps.
#
# EVIDENCE: RFC 9293 3.8.5 MUST-30: urgent data exchanged with Linux both ways over TUN
# EVIDENCE: RFC 9293 3.8.5 MUST-62: tern's urgent pointer on the wire names the octet after
# the urgent data (Linux takes the octet before it out of band: the last one sent)
set -u

TERN=${1:?usage: test_interop_urgent.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
PEER=${TERN_URGENT_PEER:-$(dirname "$TERN")/tests/interop_urgent_peer}
TERN_IP=10.77.0.2
LINUX_IP=10.77.0.1
. "$(dirname "$0")/lib_test.sh" || exit 1
require_tools ip python3 timeout
require_root "network namespaces and TUN devices"
require_tun
if [ ! -x "$PEER" ]; then
    echo "FAIL: $PEER (tests/interop/urgent_peer.c) is not built" >&2
    exit 1
fi

ns_seq=0
new_ns() { # sets NS; not in a subshell, so that the EXIT trap knows it
    ns_seq=$((ns_seq + 1))
    NS="tern-urg-$$-$ns_seq"
    make_ns
}
has_line() { grep -qx "$2" "$1"; } # has_line <file> <exact line>

# ---- 1. Linux sends urgent data, tern receives it -----------------------------

cat >"$tmp/client.py" <<'EOF'
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 20
while True:
    s = socket.socket()
    s.settimeout(20)
    try:
        s.connect((host, port))
        break
    except OSError:
        s.close()
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
s.sendall(b"hello")
s.send(b"ab!", socket.MSG_OOB)
s.sendall(b"tail")
s.shutdown(socket.SHUT_WR)
while s.recv(100):
    pass
s.close()
print("client done")
EOF

new_ns
ns1=$NS
ip netns exec "$ns1" "$PEER" --dev urg0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 \
    recv 7001 >"$tmp/recv.out" 2>"$tmp/recv.log" &
rpid=$!
pids+=("$rpid")
check "tern listens (linux -> tern)" wait_for 20 has_line "$tmp/recv.out" ready
timeout 60 ip netns exec "$ns1" python3 "$tmp/client.py" $TERN_IP 7001 >"$tmp/client.log" 2>&1
check "linux client sent hello, ab! (MSG_OOB), tail" test $? -eq 0
check "tern receiver exits" wait_for 30 exited "$rpid"
wait "$rpid"
check "tern receiver succeeded" test $? -eq 0
check "tern: a read stops at the mark: helloab" has_line "$tmp/recv.out" "before_mark helloab"
check "tern: recv(MSG_OOB) gives the last urgent octet !" has_line "$tmp/recv.out" "oob !"
check "tern: the stream after the mark is tail" has_line "$tmp/recv.out" "after_mark tail"

# ---- 2. tern sends urgent data, Linux receives it -----------------------------

cat >"$tmp/server.py" <<'EOF'
import array, fcntl, select, socket, sys
SIOCATMARK = 0x8905
def atmark(c):
    b = array.array("i", [0])
    fcntl.ioctl(c, SIOCATMARK, b, True)
    return b[0]
def read_to_mark(c):
    got = b""
    while not atmark(c):
        b = c.recv(100)
        if not b:
            break
        got += b
    return got
def read_to_eof(c):
    got = b""
    while True:
        b = c.recv(100)
        if not b:
            return got
        got += b
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen(2)
print("listening", flush=True)
for n in (1, 2):
    c, _ = l.accept()
    c.settimeout(20)
    if n == 2:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    p = select.poll()
    p.register(c, select.POLLPRI)
    pri = bool(p.poll(20000))
    before = read_to_mark(c)
    oob = c.recv(1, socket.MSG_OOB) if n == 1 else b""
    after = read_to_eof(c)
    print("conn%d pri=%d before=%s oob=%s after=%s" % (n, pri, before.decode(), oob.decode(),
                                                       after.decode()), flush=True)
    c.close()
EOF

cat >"$tmp/wire.py" <<'EOF'
# Checks tern's segments in the capture: the one carrying "URG!" has URG and
# a pointer to the octet after "!"; every URG segment points there; a
# segment at or past that octet has no URG ("hello", sent before the urgent
# SEND, has none either).
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
link = struct.unpack(end + "I", data[20:24])[0]
off, segs = 24, []
while off + 16 <= len(data):
    incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[14:] if link == 1 else pkt
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        continue
    ihl = (ip[0] & 15) * 4
    if ip[12:16] != bytes([10, 77, 0, 2]):
        continue  # only what tern sent
    tcp = ip[ihl:struct.unpack(">H", ip[2:4])[0]]
    seq = struct.unpack(">I", tcp[4:8])[0]
    flags, up = tcp[13], struct.unpack(">H", tcp[18:20])[0]
    payload = tcp[(tcp[12] >> 4) * 4:]
    segs.append((struct.unpack(">H", tcp[0:2])[0], seq, flags, up, payload))
bad = 0
marks = {}
for sport, seq, flags, up, payload in segs:
    if b"URG!" in payload:
        marks[sport] = (seq + payload.index(b"URG!") + 4) & 0xFFFFFFFF
if len(marks) != 2:
    print("expected two connections carrying URG!, found %d" % len(marks)); sys.exit(1)
urg_segs = 0
for sport, seq, flags, up, payload in segs:
    mark = marks[sport]
    ahead = ((mark - seq) & 0xFFFFFFFF) < 0x80000000 and mark != seq
    if flags & 0x20:
        urg_segs += 1
        if (seq + up) & 0xFFFFFFFF != mark:
            print("URG pointer %d at seq %d, mark %d" % (up, seq, mark)); bad += 1
    elif b"URG!" in payload:
        print("the urgent text at seq %d without URG" % seq); bad += 1
    if flags & 0x20 and not ahead:
        print("URG at seq %d, at or past the mark %d" % (seq, mark)); bad += 1
print("urg segments %d" % urg_segs)
sys.exit(1 if bad or urg_segs < 2 else 0)
EOF

new_ns
ns2=$NS
ip netns exec "$ns2" python3 "$tmp/server.py" 7002 >"$tmp/server.out" 2>"$tmp/server.log" &
spid=$!
pids+=("$spid")
check "linux listens (tern -> linux)" wait_for 20 has_line "$tmp/server.out" listening
timeout 60 ip netns exec "$ns2" "$PEER" --dev urg1 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 \
    --pcap "$tmp/send.pcap" send $LINUX_IP 7002 2 >"$tmp/send.out" 2>"$tmp/send.log"
check "tern sent hello, URG! (MSG_OOB), tail twice" test $? -eq 0
check "linux server exits" wait_for 30 exited "$spid"
check "linux: POLLPRI, a read stops at the mark, ! out of band, tail after" \
    has_line "$tmp/server.out" "conn1 pri=1 before=helloURG oob=! after=tail"
check "linux (SO_OOBINLINE): the read stops at the mark, ! stays in the stream" \
    has_line "$tmp/server.out" "conn2 pri=1 before=helloURG oob= after=!tail"
check "tern's URG pointer names the octet after the urgent data (capture)" \
    python3 "$tmp/wire.py" "$tmp/send.pcap"

summary
