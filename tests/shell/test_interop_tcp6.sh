#!/bin/bash
# tests/shell/test_interop_tcp6.sh: TCP and UDP over IPv6 between tern and
# the Linux kernel, over a TUN device and over a TAP device (neighbour
# discovery), in a network namespace this test creates and removes.
#
# Usage: bash test_interop_tcp6.sh <tern binary> <source dir>
# Environment: BULK_KB (default 4096) size of the transfers under --drop 5.
#
# For each link (tun, tap), tern at n6::2 and Linux at n6::1 (nodad):
#  1. curl -6 fetches a 1 MiB file from `tern ... serve http` byte-exact.
#  2. `tern ... get http://[n6::1]:PORT/FILE` from a Linux HTTP server
#     (python3 http.server bound to n6::1) byte-exact.
#  3. Bulk under `--drop 5` (5 % of packets lost each way), both
#     directions: `tern send [n6::1]:P FILE` to a Linux AF_INET6 sink, and
#     a Linux AF_INET6 client (socat) sending to `tern recv`; both
#     byte-exact, and tern retransmitted (the loss happened).
#  4. UDP echo over IPv6: `tern ... serve udp-echo` answers nc -6 -u and
#     socat UDP6 byte-exact.
# The captures hold IPv6 TCP with no malformed packet and no bad checksum.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, curl, python3,
# socat, nc, tshark, sha256sum, timeout. Anything missing is a FAILURE, not
# a skip. The addresses (10.77.80.0/23, fd77:80::/32) exist only inside the
# namespace, deleted by the EXIT trap even on failure. Waits are on events
# (a log line, a listening port, a process exit) with generous bounds,
# never fixed sleeps.
#
# EVIDENCE: RFC 9293 3.10.7 (every TCP path over IPv6 against Linux: the
# pseudo-header of RFC 8200 8.1 verified by Linux and tshark both ways),
# RFC 8200 8.1 (UDP checksum over IPv6)
set -u

TERN=${1:?usage: test_interop_tcp6.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
BULK_KB=${BULK_KB:-4096}
NS=tern-tcp6-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

require_tools ip curl python3 socat nc tshark sha256sum timeout ss
require_root "a network namespace and TUN/TAP devices"
require_tun
make_ns

# The namespace's IPv6 is off by default (lib_test.sh): this test needs it.
inns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0

ready() { grep -q "$2" "$1"; } # ready <log> <text>
sha() { sha256sum "$1" | cut -d' ' -f1; }
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(sha "$1")" = "$(sha "$2")" ]; }
listening6() { inns ss -Hltn "sport = :$1" | grep -q .; } # a Linux TCP listener
mkdev() { # mkdev <tun|tap> <dev> <linux v6/len>
    inns ip tuntap add dev "$2" mode "$1" &&
        inns ip link set "$2" up &&
        inns ip -6 addr add "$3" dev "$2" nodad
}
# no_bad_packets <pcap> <out>: no malformed packet and no bad TCP checksum in
# the capture (what tshark found, if anything, goes to <out>, shown on a
# failure). Not "no expert warning": a device queue that overflows under
# load loses segments for real, and tshark warns of the gap.
no_bad_packets() {
    # (A TCP header quoted in an ICMPv6 error is cut short: its checksum
    # cannot verify, so those are left out of the checksum test.)
    tshark -r "$1" -o tcp.check_checksum:TRUE \
        -Y '_ws.malformed || (tcp.checksum.status == 0 && !icmpv6)' >"$2" 2>/dev/null
    [ ! -s "$2" ] && return 0
    echo "bad packets in $1:" >&2
    head -n 20 "$2" >&2
    return 1
}

mkdir -p "$tmp/www"
head -c 1048576 /dev/urandom >"$tmp/www/one.bin"
head -c $((BULK_KB * 1024)) /dev/urandom >"$tmp/bulk.bin"
printf 'tern over IPv6, datagram %s\n' "$$" >"$tmp/dgram.txt"

# A Linux AF_INET6 sink: accepts one connection on [addr]:port, writes it to a file.
cat >"$tmp/sink6.py" <<'EOF'
import socket, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
c, _ = s.accept()
with open(out + ".part", "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
c.close()
import os
os.rename(out + ".part", out)
EOF

# tern on the device: tern_on <link> <dev> <n4> <n6> <log> <args...>; sets TPID.
tern_on() {
    local link=$1 dev=$2 n4=$3 n6=$4 log=$5
    shift 5
    ip netns exec "$NS" "$TERN" "$link" --dev "$dev" --addr "$n4.2/24" --linux-addr "$n4.1/24" \
        --addr "$n6::2/64" --stats "$@" >"$log.out" 2>"$log" &
    TPID=$!
    pids+=("$TPID")
}

run_link() { # run_link <tun|tap> <dev> <v4 net> <v6 net>
    local link=$1 dev=$2 n4=$3 n6=$4 rc

    check "$link: device $dev with Linux's $n6::1" mkdev "$link" "$dev" "$n6::1/64"

    # 1. curl -6 from tern's HTTP server.
    tern_on "$link" "$dev" "$n4" "$n6" "$tmp/$link-http.log" --pcap "$tmp/$link-http.pcap" \
        serve http --port 8080 --root "$tmp/www"
    check "$link: serve http comes up" wait_for 30 ready "$tmp/$link-http.log" 'listening on port'
    check "$link: tern's $n6::2 ready" wait_for 30 ready "$tmp/$link-http.log" \
        "IPv6 address $n6::2 ready"
    inns timeout 60 curl -6 -g -sS -o "$tmp/$link-curl.bin" "http://[$n6::2]:8080/one.bin" \
        2>"$tmp/$link-curl.err"
    check "$link: curl -6 http://[$n6::2]:8080/one.bin byte-exact" \
        same_file "$tmp/www/one.bin" "$tmp/$link-curl.bin"
    stop "$TPID"
    check "$link: the HTTP capture has no malformed packet or bad checksum" \
        no_bad_packets "$tmp/$link-http.pcap" "$tmp/$link-http-bad.out"
    check "$link: the HTTP capture is IPv6 TCP" bash -c \
        "tshark -r '$tmp/$link-http.pcap' -Y 'ipv6 && tcp.port == 8080' 2>/dev/null | grep -q ."

    # 2. tern get from a Linux HTTP server on n6::1.
    inns python3 -m http.server --bind "$n6::1" --directory "$tmp/www" 8081 \
        >"$tmp/$link-pyhttp.log" 2>&1 &
    pids+=("$!")
    check "$link: Linux HTTP server listening" wait_for 30 listening6 8081
    tern_on "$link" "$dev" "$n4" "$n6" "$tmp/$link-get.log" --timeout 60 \
        get "http://[$n6::1]:8081/one.bin" -o "$tmp/$link-get.bin"
    check "$link: tern get exits" wait_for 120 exited "$TPID"
    wait "$TPID"
    rc=$?
    check "$link: tern get exit status 0 (got $rc)" test "$rc" -eq 0
    check "$link: tern get http://[$n6::1]:8081/one.bin byte-exact" \
        same_file "$tmp/www/one.bin" "$tmp/$link-get.bin"

    # 3a. Bulk tern -> Linux under --drop 5.
    rm -f "$tmp/$link-sink.bin"
    inns python3 "$tmp/sink6.py" "$n6::1" 5601 "$tmp/$link-sink.bin" >"$tmp/$link-sink.log" 2>&1 &
    local spid=$!
    pids+=("$spid")
    check "$link: Linux sink listening" wait_for 30 listening6 5601
    tern_on "$link" "$dev" "$n4" "$n6" "$tmp/$link-send.log" --drop 5 --timeout 120 \
        --pcap "$tmp/$link-send.pcap" send "[$n6::1]:5601" "$tmp/bulk.bin"
    check "$link: tern send exits" wait_for 300 exited "$TPID"
    wait "$TPID"
    rc=$?
    check "$link: tern send exit status 0 (got $rc)" test "$rc" -eq 0
    check "$link: Linux sink done" wait_for 60 exited "$spid"
    check "$link: ${BULK_KB} KiB tern -> Linux over IPv6 under --drop 5 byte-exact" \
        same_file "$tmp/bulk.bin" "$tmp/$link-sink.bin"
    check "$link: the drops happened both ways" \
        grep -Eq 'impair_dropped=[1-9][0-9]*/[1-9]' "$tmp/$link-send.log"
    check "$link: the bulk capture has no malformed packet or bad checksum" \
        no_bad_packets "$tmp/$link-send.pcap" "$tmp/$link-send-bad.out"

    # 3b. Bulk Linux -> tern under --drop 5.
    tern_on "$link" "$dev" "$n4" "$n6" "$tmp/$link-recv.log" --drop 5 --timeout 120 \
        recv --port 5602 -o "$tmp/$link-recv.bin"
    check "$link: tern recv comes up" wait_for 30 ready "$tmp/$link-recv.log" 'listening on port'
    check "$link: tern's $n6::2 ready for recv" wait_for 30 ready "$tmp/$link-recv.log" \
        "IPv6 address $n6::2 ready"
    inns timeout 300 socat -u "OPEN:$tmp/bulk.bin" "TCP6:[$n6::2]:5602" 2>"$tmp/$link-socat.err"
    rc=$?
    check "$link: socat TCP6 sender exit status 0 (got $rc)" test "$rc" -eq 0
    check "$link: tern recv exits" wait_for 120 exited "$TPID"
    check "$link: the drops happened both ways (recv)" \
        grep -Eq 'impair_dropped=[1-9][0-9]*/[1-9]' "$tmp/$link-recv.log"
    check "$link: ${BULK_KB} KiB Linux -> tern over IPv6 under --drop 5 byte-exact" \
        same_file "$tmp/bulk.bin" "$tmp/$link-recv.bin"

    # 4. UDP echo over IPv6: nc -6 -u and socat UDP6.
    tern_on "$link" "$dev" "$n4" "$n6" "$tmp/$link-udp.log" serve udp-echo --port 5603
    check "$link: serve udp-echo comes up" wait_for 30 ready "$tmp/$link-udp.log" 'port 5603'
    check "$link: tern's $n6::2 ready for UDP" wait_for 30 ready "$tmp/$link-udp.log" \
        "IPv6 address $n6::2 ready"
    inns timeout 10 socat -T 5 - "UDP6:[$n6::2]:5603" <"$tmp/dgram.txt" >"$tmp/$link-socat-udp.out" \
        2>"$tmp/$link-socat-udp.err"
    check "$link: socat UDP6 echo byte-exact" same_file "$tmp/dgram.txt" "$tmp/$link-socat-udp.out"
    inns timeout 10 nc -6 -u -w 3 "$n6::2" 5603 <"$tmp/dgram.txt" >"$tmp/$link-nc-udp.out" \
        2>"$tmp/$link-nc-udp.err"
    check "$link: nc -6 -u echo byte-exact" same_file "$tmp/dgram.txt" "$tmp/$link-nc-udp.out"
    stop "$TPID"
}

for l in ${TCP6_LINKS:-tun tap}; do
    case $l in
    tun) run_link tun t6t 10.77.80 fd77:80 ;;
    tap) run_link tap t6p 10.77.81 fd77:81 ;;
    esac
done

summary
