#!/bin/bash
# tests/shell/test_interop_dns.sh: tern's DNS stub resolver (src/svc/dns.c,
# tern_getaddrinfo) against dnsmasq over a TUN device, in a network
# namespace this test creates and removes.
#
# Usage: bash test_interop_dns.sh <tern binary> <source dir>
# The socket-API side is tests/interop/dns_peer.c, found next to the test
# programs: <directory of the tern binary>/tests/interop_dns_peer, or
# $TERN_DNS_PEER.
#
# The device tdn0 is made with ip(8) beforehand (kernel side 10.77.72.1/24,
# tern 10.77.72.2), so that dnsmasq can listen on 10.77.72.1 before tern
# opens it. dnsmasq (--no-resolv --no-hosts, authoritative for tern.test
# through --local) serves:
#   web.tern.test    A 10.77.72.1, AAAA fd00:77:72::1
#   alias.tern.test  CNAME web.tern.test
#   many.tern.test   40 A records: 40 * 16 bytes do not fit 512, so dnsmasq
#                    answers over UDP with TC=1 and the resolver asks again
#                    over TCP (RFC 1035 4.2.1, RFC 7766)
#   v4only.tern.test A only (AAAA: no data)
#   gone.tern.test   nothing (NXDOMAIN)
#  1. tern_getaddrinfo (dns_peer): web's A and AAAA (AF_UNSPEC, and AF_INET6
#     alone), alias through its CNAME with web as the canonical name, many
#     with its addresses, gone is EAI_NONAME, v4only with AF_INET6 is
#     EAI_NODATA; tern's capture shows exactly one TCP SYN to port 53 (the
#     truncated name only) and dnsmasq's log the queries.
#  2. `tern tun --dns 10.77.72.1 get http://web.tern.test:8000/file` fetches
#     a 200 KiB file from python3 http.server in the namespace byte-exact,
#     after saying which address the name has; `--stats` shows one UDP query
#     and no TCP one.
#  3. `tern tun ... get http://gone.tern.test/` exits 1 with "cannot resolve
#     gone.tern.test: name does not exist (NXDOMAIN)"; a host name without
#     --dns is a usage error (exit 2); `send many.tern.test:9 FILE` resolves
#     over TCP and says so.
#  4. The same get over TAP (tdn1, 10.77.74.0/24, ARP first; dnsmasq also
#     listens on 10.77.74.1; the file comes from 10.77.72.1 through --gw).
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, dnsmasq, python3,
# tshark, ss, timeout. Anything missing is a FAILURE, not a skip. Waits are on
# events (a listening port, a process exit) with generous bounds.
#
# EVIDENCE: RFC 1034 5.3.1 (stub resolver), RFC 1035 4.2.1/4.2.2 (TC, TCP
# framing), RFC 3596 (AAAA), RFC 2308 (NXDOMAIN vs NODATA)
set -u

TERN=${1:?usage: test_interop_dns.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
PEER=${TERN_DNS_PEER:-$(dirname "$TERN")/tests/interop_dns_peer}
NS=tern-dns-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

PATH=$PATH:/usr/sbin:/sbin
require_tools ip dnsmasq python3 tshark ss timeout cmp
require_root "a network namespace and TUN devices"
require_tun
if [ ! -x "$PEER" ]; then
    echo "FAIL: $PEER (tests/interop/dns_peer.c) is not built" >&2
    exit 1
fi
make_ns

L_IP=10.77.72.1
T_IP=10.77.72.2
DEV=tdn0
inns ip tuntap add dev $DEV mode tun
inns ip addr add $L_IP/24 dev $DEV
inns ip link set $DEV up
TAP_L=10.77.74.1
TAP_T=10.77.74.2
inns ip tuntap add dev tdn1 mode tap
inns ip addr add $TAP_L/24 dev tdn1
inns ip link set tdn1 up

udp_listening() { inns ss -Hlun "sport = :$1" | grep -q .; }
tcp_listening() { inns ss -Hltn "sport = :$1" | grep -q .; }

records=()
for i in $(seq 1 40); do
    records+=("--host-record=many.tern.test,10.77.73.$i")
done
inns dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --local=/tern.test/ \
    --listen-address=$L_IP,$TAP_L --bind-interfaces --port=53 --user=root --group=root \
    --pid-file="$tmp/dnsmasq.pid" --log-queries --log-facility=- \
    --host-record=web.tern.test,$L_IP,fd00:77:72::1 --cname=alias.tern.test,web.tern.test \
    --host-record=v4only.tern.test,10.77.72.9 "${records[@]}" >"$tmp/dnsmasq.out" \
    2>"$tmp/dnsmasq.log" &
pids+=("$!")
check "dnsmasq listens on $L_IP:53 (UDP and TCP)" wait_for 30 \
    eval 'udp_listening 53 && tcp_listening 53'

# ---- 1. tern_getaddrinfo --------------------------------------------------------

inns timeout 120 "$PEER" --dev $DEV --addr $T_IP/24 --dns $L_IP --pcap "$tmp/peer.pcap" \
    web.tern.test alias.tern.test many.tern.test gone.tern.test >"$tmp/peer.out" \
    2>"$tmp/peer.err"
check "dns_peer (AF_UNSPEC) exits 0" test $? -eq 0
inns timeout 120 "$PEER" --dev $DEV --addr $T_IP/24 --dns $L_IP -6 web.tern.test v4only.tern.test \
    >"$tmp/peer6.out" 2>"$tmp/peer6.err"
check "dns_peer (AF_INET6) exits 0" test $? -eq 0
cat "$tmp/peer.out" "$tmp/peer6.out"

check "web.tern.test: A and AAAA (AF_UNSPEC)" \
    grep -qx "web.tern.test ok web.tern.test inet $L_IP inet6 fd00:77:72::1" "$tmp/peer.out"
check "web.tern.test: AAAA alone (AF_INET6)" \
    grep -qx "web.tern.test ok web.tern.test inet6 fd00:77:72::1" "$tmp/peer6.out"
check "alias.tern.test: through its CNAME to web.tern.test" \
    grep -qx "alias.tern.test ok web.tern.test inet $L_IP inet6 fd00:77:72::1" "$tmp/peer.out"
many=$(grep '^many.tern.test ok ' "$tmp/peer.out" | grep -o 'inet 10\.77\.73\.[0-9]*' | sort -u |
    wc -l)
check "many.tern.test: the truncated answer's 16 first addresses, over TCP (got $many)" \
    test "$many" -eq 16
check "gone.tern.test: EAI_NONAME (NXDOMAIN)" \
    grep -q "^gone.tern.test error EAI_NONAME " "$tmp/peer.out"
check "v4only.tern.test with AF_INET6: EAI_NODATA (no AAAA)" \
    grep -q "^v4only.tern.test error EAI_NODATA " "$tmp/peer6.out"

# TCP to port 53 only for the truncated name: one SYN, and dnsmasq
# answered many.tern.test twice (UDP with TC, then TCP).
syns=$(tshark -r "$tmp/peer.pcap" -Y 'tcp.dstport == 53 && tcp.flags.syn == 1 && tcp.flags.ack == 0' \
    2>/dev/null | wc -l)
check "tern opened exactly one TCP connection to port 53 (got $syns)" test "$syns" -eq 1
tc_answers=$(tshark -r "$tmp/peer.pcap" -Y 'udp.srcport == 53 && dns.flags.truncated == 1' \
    2>/dev/null | wc -l)
check "dnsmasq's UDP answer for many.tern.test had TC=1 (got $tc_answers)" test "$tc_answers" -ge 1
tcp_answers=$(tshark -r "$tmp/peer.pcap" -Y 'tcp.srcport == 53 && dns.flags.response == 1' \
    2>/dev/null | wc -l)
check "an answer came over TCP (got $tcp_answers)" test "$tcp_answers" -ge 1
n_many=$(grep -c 'query\[A\] many.tern.test' "$tmp/dnsmasq.log")
check "dnsmasq logged the A query of many.tern.test twice: UDP then TCP (got $n_many)" \
    test "$n_many" -eq 2

# ---- 2. tern tun get by name ---------------------------------------------------------

mkdir -p "$tmp/www"
head -c 204800 /dev/urandom >"$tmp/www/file.bin"
inns python3 -m http.server 8000 --bind $L_IP --directory "$tmp/www" >"$tmp/http.log" 2>&1 &
pids+=("$!")
check "python3 http.server listens on $L_IP:8000" wait_for 30 tcp_listening 8000

inns timeout 120 "$TERN" tun --dev $DEV --addr $T_IP/24 --dns $L_IP --stats --timeout 30 \
    get http://web.tern.test:8000/file.bin -o "$tmp/got.bin" >"$tmp/get.out" 2>"$tmp/get.log"
rc=$?
check "tern tun get http://web.tern.test:8000/file.bin exits 0 (got $rc)" test $rc -eq 0
check "the file arrived byte-exact" cmp -s "$tmp/www/file.bin" "$tmp/got.bin"
check "tern said which address the name has" grep -q "web.tern.test is $L_IP" "$tmp/get.log"
check "one UDP query, no TCP one" grep -q 'stats dns udp_sent=1 tcp_sent=0 ' "$tmp/get.log"

# ---- 3. errors, and TCP from the tool ---------------------------------------------------

inns timeout 120 "$TERN" tun --dev $DEV --addr $T_IP/24 --dns $L_IP --timeout 30 \
    get http://gone.tern.test/ -o "$tmp/gone.bin" >"$tmp/gone.out" 2>"$tmp/gone.log"
rc=$?
check "get http://gone.tern.test/ exits 1 (got $rc)" test $rc -eq 1
check "... saying the name does not exist" \
    grep -q 'cannot resolve gone.tern.test: name does not exist (NXDOMAIN)' "$tmp/gone.log"

inns timeout 30 "$TERN" tun --dev $DEV --addr $T_IP/24 get http://web.tern.test/ -o "$tmp/x" \
    >"$tmp/nodns.out" 2>"$tmp/nodns.log"
rc=$?
check "a host name without --dns is a usage error, exit 2 (got $rc)" test $rc -eq 2
check "... that names --dns" grep -q 'give a DNS server with --dns' "$tmp/nodns.log"

# send to many.tern.test: resolved over TCP; no one listens on port 9 at
# 10.77.73.x (not routed: the kernel drops it), so only the lookup is
# checked, and the run is cut short by its --timeout.
head -c 100 /dev/urandom >"$tmp/small.bin"
inns timeout 120 "$TERN" tun --dev $DEV --addr $T_IP/24 --gw $L_IP --dns $L_IP --timeout 3 \
    send many.tern.test:9 "$tmp/small.bin" >"$tmp/send.out" 2>"$tmp/send.log"
check "send many.tern.test:9 resolved it over TCP" \
    grep -Eq 'many.tern.test is 10\.77\.73\.[0-9]+ \(16 addresses, over TCP\)' "$tmp/send.log"

# ---- 4. over TAP -------------------------------------------------------------------------

inns timeout 120 "$TERN" tap --dev tdn1 --addr $TAP_T/24 --gw $TAP_L --dns $TAP_L --timeout 30 \
    get http://web.tern.test:8000/file.bin -o "$tmp/got-tap.bin" >"$tmp/tap.out" 2>"$tmp/tap.log"
rc=$?
check "tern tap get http://web.tern.test:8000/file.bin exits 0 (got $rc)" test $rc -eq 0
check "... byte-exact" cmp -s "$tmp/www/file.bin" "$tmp/got-tap.bin"
check "... after resolving the name" grep -q "web.tern.test is $L_IP" "$tmp/tap.log"

summary
