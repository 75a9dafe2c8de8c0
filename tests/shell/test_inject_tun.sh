#!/bin/bash
# tests/shell/test_inject_tun.sh: blind data injection against tern over a
# TUN device, during a transfer from Linux (issue 11 item 0; the simulated
# twin is test_sim_text_injection_on_bulk_transfer in test_tcp_ratelimit.c).
#
# Usage: bash test_inject_tun.sh <tern binary> <source dir>
#
# In a network namespace this test creates: tern (`tern tun recv`, 10.77.0.2)
# receives a 12 MiB file from a Linux socket (10.77.0.1, port 40200). The
# Linux sender stops three times, each time once all it sent is
# acknowledged (SIOCOUTQ is 0), and waits for an attacker. The attacker is
# a Python program with a raw socket in the same namespace: it knows the
# 4-tuple and, worst case, reads the sequence numbers off the device
# (AF_PACKET), so its segments land just beyond tern's RCV.NXT, inside the
# window, where out-of-order text would be held; it copies Linux's latest
# timestamp option, so PAWS does not hide what comes after. One round per
# kind of segment, 100 bytes of text each:
#   1. no ACK bit, at RCV.NXT + k * 1448 (where the next real segments go);
#   2. ACK bit, SEG.ACK = SND.UNA + 2^30: outside RFC 5961 5.2's range;
#   3. in-window guesses at rate: SEG.SEQ anywhere in the window tern last
#      announced, SEG.ACK a random guess, as fast as the attacker can send.
#      The guesses come from the half of the ACK space away from tern's
#      SND.UNA: a blind guess lands in 5.2's acceptable range with
#      probability MAX.SND.WND / 2^32, and the test must not fail by luck.
# Then the sender goes on. RFC 9293 3.10.7.4 fifth (ACK bit off: drop) and
# RFC 5961 5.2 (ACK outside the range: drop) come before the seventh step
# that holds text beyond RCV.NXT: a TCP that held it first would splice the
# attacker's bytes into the stream when the real ones arrive.
# Checks: the file tern wrote equals the one Linux sent (sha256), tern
# exits 0, and tern's drop counters (--stats) hold the guesses: every
# segment of round 1 as TCP_NO_ACK, rounds 2 and 3 as TCP_ACK_UNACCEPTABLE
# (less only what the kernel's own counters say it dropped on the way).
#
# EVIDENCE: RFC 9293 3.10.7.4 fifth, RFC 5961 5.2: blind text without ACK or with an unacceptable ACK never reaches the stream (against Linux over TUN)
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, python3, ss,
# sha256sum. Missing is a failure, not a skip. Addresses exist only inside
# the namespace tern-inj-<pid>, deleted on exit. Waits are on events (a log
# line, a listening port, a process exit) with generous bounds.
set -u
. "$(dirname "$0")/lib_test.sh" || exit 1

TERN=${1:?usage: test_inject_tun.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
NS=tern-inj-$$
TERN_IP=10.77.0.2
LINUX_IP=10.77.0.1
MIB=${INJECT_MIB:-12}

require_tools ip python3 ss sha256sum timeout
require_root "network namespaces, TUN devices, raw sockets"
require_tun
make_ns

# The Linux sender: connects from port 40200, sends the file in 4 parts;
# after parts 1-3 it waits until everything is acknowledged, logs
# "pause k", and waits for the attacker's "done k".
cat >"$tmp/sender.py" <<'EOF'
import fcntl, os, socket, struct, sys, termios, time
dst, port, sport, path, log, ctl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
def say(m):
    with open(log, "a") as f:
        f.write(m + "\n")
def wait_until(cond, what, limit=120):
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            say("timeout waiting for " + what)
            sys.exit(1)
        time.sleep(0.01)
data = open(path, "rb").read()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", sport))
s.connect((dst, port))
say("connected")
def outq():  # bytes not yet acknowledged (SIOCOUTQ)
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
def done(k):
    try:
        c = open(ctl).read()
    except OSError:
        return False
    if "abort" in c:
        say("the attacker gave up")
        sys.exit(1)
    return ("done %d\n" % k) in c
part = len(data) // 4
for k in range(4):
    s.sendall(data[k * part:(k + 1) * part if k < 3 else len(data)])
    if k < 3:
        wait_until(lambda: outq() == 0, "all acknowledged")
        say("pause %d" % (k + 1))
        wait_until(lambda: done(k + 1), "attacker round %d" % (k + 1))
s.shutdown(socket.SHUT_WR)
s.recv(1)  # tern sends nothing: this returns at its FIN
s.close()
say("sent %d" % len(data))
EOF

# The attacker (see the top). Logs "round k mode N segments in T s" and
# writes "done k" to the control file.
cat >"$tmp/attack.py" <<'EOF'
import random, socket, struct, sys, time
dev, src, dst, sport, dport, log, ctl, slog = sys.argv[1:9]
sport, dport = int(sport), int(dport)
rng = random.Random(0x1A77AC)
sip, dip = socket.inet_aton(src), socket.inet_aton(dst)
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
sniff.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: lose nothing
sniff.bind((dev, 0x0003))  # Python puts it in network order
sniff.setblocking(False)
def sniff_lost():  # PACKET_STATISTICS: struct tpacket_stats {packets, drops}
    return struct.unpack("II", sniff.getsockopt(263, 6, 8))[1]
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
st = {}  # what the wire showed: tern's RCV.NXT and SND.UNA, Linux's TSopt
def say(m):
    with open(log, "a") as f:
        f.write(m + "\n")
def give_up(m):  # tells the sender too, so nobody waits for nothing
    say(m)
    with open(ctl, "a") as f:
        f.write("abort\n")
    sys.exit(1)
def drain():
    while True:
        try:
            p = sniff.recv(65535)
        except BlockingIOError:
            return
        if len(p) < 40 or p[0] >> 4 != 4 or p[9] != 6:
            continue
        hl = (p[0] & 15) * 4
        t = p[hl:]
        sp, dp, seq, ack = struct.unpack("!HHII", t[:12])
        doff = (t[12] >> 4) * 4
        if p[12:16] == sip and (sp, dp) == (sport, dport):   # Linux -> tern
            st["tern_una"] = ack
            o = 20
            while o < doff:
                if t[o] == 0:
                    break
                if t[o] == 1:
                    o += 1
                    continue
                if t[o] == 8 and t[o + 1] == 10:
                    st["ts"] = t[o + 2:o + 10]
                o += max(t[o + 1], 2)
        elif p[12:16] == dip and (sp, dp) == (dport, sport):  # tern -> Linux
            st["rcv_nxt"] = ack
            st["wnd"] = struct.unpack("!H", t[14:16])[0]
            o = 20
            while t[13] & 0x02 and o < doff:  # its SYN: the window scale (RFC 7323 2)
                if t[o] == 0:
                    break
                if t[o] == 1:
                    o += 1
                    continue
                if t[o] == 3 and t[o + 1] == 3:
                    st["wscale"] = t[o + 2]
                o += max(t[o + 1], 2)
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
evil = b"EVIL" * 25
def segment(seq, ack, flags, ipid):
    opts = b"\x01\x01\x08\x0a" + st["ts"] if "ts" in st else b""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      (5 + len(opts) // 4) << 4, flags, 65535, 0, 0) + opts
    tcp = hdr + evil
    c = csum(sip + dip + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ipid, 0, 64, 6, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp
def wait_log(line, limit=120):
    end = time.monotonic() + limit
    while True:
        drain()
        try:
            if line in open(slog).read():
                return True
        except OSError:
            pass
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
PSH, ACK = 0x08, 0x10
say("sniffing")
rounds = [(1, "no-ack", 5000), (2, "bad-ack", 5000), (3, "guess", 20000)]
for k, mode, n in rounds:
    if not wait_log("pause %d\n" % k):
        give_up("timeout waiting for pause %d" % k)
    drain()
    if "rcv_nxt" not in st or "tern_una" not in st:
        give_up("nothing sniffed")
    if sniff_lost():
        give_up("the sniffer lost packets: its view of the sequence numbers may be old")
    rcv_nxt, una = st["rcv_nxt"], st["tern_una"]
    wnd = st["wnd"] << st.get("wscale", 0)  # tern's receive window, as last announced
    if wnd < 8 * 1448 + len(evil):
        give_up("tern's window (%d) is too small for the rounds" % wnd)
    t0 = time.monotonic()
    for i in range(n):
        if mode == "no-ack":
            p = segment(rcv_nxt + 1448 * (1 + i % 8), 0, PSH, i)
        elif mode == "bad-ack":
            p = segment(rcv_nxt + 1448 * (1 + i % 8), una + 0x40000000, ACK | PSH, i)
        else:
            p = segment(rcv_nxt + rng.randrange(wnd - len(evil)),
                        una + 0x80000000 + rng.randrange(-0x40000000, 0x40000000), ACK | PSH, i)
        raw.sendto(p, (dst, 0))
    dt = time.monotonic() - t0
    say("round %d %s %d segments in %.3f s (%.0f/s) rcv_nxt %u window %d" %
        (k, mode, n, dt, n / dt, rcv_nxt, wnd))
    with open(ctl, "a") as f:
        f.write("done %d\n" % k)
say("finished")
EOF

head -c $((MIB * 1024 * 1024)) /dev/urandom >"$tmp/data"
inns "$TERN" tun --dev tern0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 --stats --timeout 120 \
    recv --port 5001 -o "$tmp/recv.bin" >"$tmp/tern.out" 2>"$tmp/tern.log" &
tern_pid=$!
pids+=("$tern_pid")
check "tern recv comes up" wait_for 30 grep -q 'listening on port' "$tmp/tern.log"
# Room for the attacker's bursts in the device's queue toward tern.
inns ip link set tern0 txqueuelen 20000
tx_drop0=$(inns cat /sys/class/net/tern0/statistics/tx_dropped)

inns python3 "$tmp/attack.py" tern0 $LINUX_IP $TERN_IP 40200 5001 "$tmp/attack.log" "$tmp/ctl" \
    "$tmp/sender.log" &
attack_pid=$!
pids+=("$attack_pid")
check "the attacker reads the device" wait_for 30 grep -q sniffing "$tmp/attack.log"
inns python3 "$tmp/sender.py" $TERN_IP 5001 40200 "$tmp/data" "$tmp/sender.log" "$tmp/ctl" &
sender_pid=$!
pids+=("$sender_pid")

check "the Linux sender connects" wait_for 30 grep -q connected "$tmp/sender.log"
attack_over() { grep -q finished "$tmp/attack.log" || exited "$attack_pid"; }
sender_over() { grep -q "^sent " "$tmp/sender.log" || exited "$sender_pid"; }
wait_for 300 attack_over
check "three attack rounds, each while the transfer is paused mid-stream" \
    grep -q finished "$tmp/attack.log"
wait_for 120 sender_over
check "the Linux sender finishes" grep -q "^sent " "$tmp/sender.log"
check "tern recv exits after the peer's FIN" wait_for 150 exited "$tern_pid"
wait "$tern_pid"
rc=$?
check "tern recv exit status 0 (got $rc)" test $rc -eq 0
sed 's/^/  attacker: /' "$tmp/attack.log"
check "tern received exactly the bytes Linux sent (sha256)" \
    test "$(sha256sum <"$tmp/recv.bin")" = "$(sha256sum <"$tmp/data")"
if ! cmp -s "$tmp/recv.bin" "$tmp/data"; then
    echo "  first difference: $(cmp "$tmp/recv.bin" "$tmp/data" 2>&1 | head -n 1)" >&2
    echo "  attacker's bytes in the file: $(grep -c EVIL "$tmp/recv.bin")" >&2
fi

sent() { awk -v k="$1" '$1 == "round" && $2 == k { print $4 }' "$tmp/attack.log"; }
counter() { # counter <drop reason>: tern's count at exit, 0 if not printed
    local v
    v=$(sed -n "s/.*stats drop\.$1=\([0-9]*\).*/\1/p" "$tmp/tern.log")
    echo "${v:-0}"
}
n1=$(sent 1)
n2=$(sent 2)
n3=$(sent 3)
kdrop=$(($(inns cat /sys/class/net/tern0/statistics/tx_dropped 2>/dev/null || echo "$tx_drop0") - tx_drop0))
no_ack=$(counter TCP_NO_ACK)
bad_ack=$(counter TCP_ACK_UNACCEPTABLE)
grep 'stats' "$tmp/tern.log" | sed 's/^/  /'
echo "  injected: ${n1:-0} without ACK, ${n2:-0} with an ACK outside 5.2, ${n3:-0} guesses;" \
    "the kernel dropped $kdrop on the way to tern"
check "round 1: tern counted every segment without ACK as TCP_NO_ACK ($no_ack of ${n1:-0})" \
    test "${n1:-0}" -gt 0 -a "$no_ack" -ge $((${n1:-0} - kdrop))
check "rounds 2, 3: tern counted every bad ACK as TCP_ACK_UNACCEPTABLE ($bad_ack of $((${n2:-0} + ${n3:-0})))" \
    test "${n2:-0}" -gt 0 -a "${n3:-0}" -gt 0 -a "$bad_ack" -ge $((${n2:-0} + ${n3:-0} - kdrop))

summary
