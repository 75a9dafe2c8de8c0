#!/bin/bash
# tests/shell/test_interop_dhcp.sh: `tern tap --dhcp` against dnsmasq's DHCP
# server on the kernel side of the TAP device, in a network namespace this
# test creates and removes.
#
# Usage: bash test_interop_dhcp.sh <tern binary> <source dir>
#
#  1. Lease, renewal, release. dnsmasq serves 10.77.70.50-60/24 with a
#     router, two DNS servers, a 120 s lease, T1 5 s and T2 90 s (options
#     58 and 59, so that a renewal comes within seconds). tern prints the
#     lease it bound: an address of the range, the router and both DNS
#     servers, the lease times; dnsmasq's lease file holds that address for
#     tern's MAC; Linux's ping reaches tern at it; the MODE (serve
#     udp-echo) starts once the lease is bound and echoes socat's datagram
#     sent to the leased address; tern renews (a "renewed"
#     line, and dnsmasq logs a second DHCPACK for the address, to a
#     DHCPREQUEST); on SIGTERM tern exits 0 after a RELEASE: dnsmasq logs
#     DHCPRELEASE and the lease file no longer holds the address.
#  2. DECLINE. The kernel side holds 10.77.71.60 as well (it answers ARP for
#     it, as another host would), and dnsmasq offers exactly that address to
#     tern's MAC (dhcp-host; no-ping, so that dnsmasq's own check does not
#     skip it). tern's ARP probe finds it in use: tern prints "declined",
#     dnsmasq logs DHCPDECLINE for it; at least ten seconds later (RFC 2131
#     3.1 step 5) tern asks again and binds an address of the dynamic range
#     10.77.71.70-80 instead.
#  3. Names. dnsmasq also answers DNS on 10.77.75.1 (web.example) and hands
#     out that server in its leases; `tern tap --dhcp get
#     http://web.example:8000/file.bin` (no --dns) binds a lease, looks the
#     name up with the lease's DNS server (dnsmasq logs the query from the
#     leased address), fetches a file from python3 http.server byte-exact,
#     and gives the lease back when done.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, dnsmasq, ping,
# socat, python3, ss, timeout. Anything missing is a FAILURE, not a skip. The TAP device is made
# persistent in the namespace (ip tuntap) so that dnsmasq can bind to it
# before tern attaches; the addresses (10.77.70.0/24, 10.77.71.0/24,
# 10.77.75.0/24) exist
# only inside the namespace, deleted by the EXIT trap even on failure. Waits
# are on events (a log line, a file's content, a process exit) with generous
# bounds, never fixed sleeps.
#
# EVIDENCE: RFC 2131 3.1 (DISCOVER, OFFER, REQUEST, ACK against dnsmasq),
# 4.4.5 (renewal at T1 from option 58), 4.4.6 (RELEASE: dnsmasq frees the
# lease), 3.1 step 5 and RFC 5227 2.1.1 (ARP probe conflict -> DECLINE, ten
# seconds, a new address), RFC 2132 3.5, 3.8 (router and DNS servers).
set -u

TERN=${1:?usage: test_interop_dhcp.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
NS=tern-dhcp-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

require_tools ip dnsmasq ping socat python3 ss timeout grep cmp

# ---- 0. The command line: --dhcp on tap only, instead of --addr -------------------

usage_fails() { # usage_fails <expected text> <tern args...>: exit 2, the text on stderr
    local want=$1
    shift
    "$TERN" "$@" >/dev/null 2>"$tmp/usage.err"
    local rc=$?
    [ "$rc" -eq 2 ] && grep -qF -- "$want" "$tmp/usage.err"
}
check "tun --dhcp is a usage error" usage_fails "--dhcp needs Ethernet" tun --dev x --dhcp
check "tap --dhcp --addr is a usage error" usage_fails "no --addr or --gw with it" \
    tap --dev x --dhcp --addr 10.77.70.2/24
check "tap without --addr or --dhcp is a usage error" \
    usage_fails "--addr A.B.C.D/N (or, on tap, --dhcp) is required" tap --dev x serve echo
check "tap --help names --dhcp" eval "'$TERN' tap --help | grep -q -- '--dhcp'"

require_root "a network namespace and a TAP device"
require_tun
make_ns

ready() { grep -q -- "$2" "$1"; }                       # ready <file> <text>
count_is_at_least() { [ "$(grep -c -- "$2" "$1")" -ge "$3" ]; } # <file> <text> <n>
lacks() { [ -f "$1" ] && ! grep -q -- "$2" "$1"; }      # lacks <file> <text>

# A persistent TAP device with the kernel's address, up; dnsmasq binds to it.
tap_up() { # tap_up <dev> <cidr>...
    local dev=$1
    shift
    inns ip tuntap add dev "$dev" mode tap || return 1
    local a
    for a in "$@"; do inns ip addr add "$a" dev "$dev" || return 1; done
    inns ip link set "$dev" up
}

# dnsmasq in the foreground, logging every exchange to $tmp/<name>.dnsmasq;
# its lease file is $tmp/<name>.leases.
dnsmasq_start() { # dnsmasq_start <name> <config lines...>
    local name=$1
    shift
    {
        echo "bind-interfaces"
        echo "log-dhcp"
        echo "dhcp-authoritative"
        echo "dhcp-leasefile=$tmp/$name.leases"
        printf '%s\n' "$@"
    } >"$tmp/$name.conf"
    : >"$tmp/$name.leases"
    ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file="$tmp/$name.conf" --pid-file="$tmp/$name.pid" \
        --log-facility="$tmp/$name.dnsmasq" --user=root --group=root 2>"$tmp/$name.dnsmasq.err" &
    dnsmasq_pid=$!
    pids+=("$dnsmasq_pid")
    wait_for 30 ready "$tmp/$name.dnsmasq" "DHCP, IP range"
}

# ---- 1. Lease, renewal, release ---------------------------------------------------

check "TAP device tu0 with the kernel at 10.77.70.1/24" tap_up tu0 10.77.70.1/24
check "dnsmasq serves DHCP on tu0" dnsmasq_start one \
    "port=0" \
    "interface=tu0" \
    "dhcp-range=10.77.70.50,10.77.70.60,255.255.255.0,120" \
    "dhcp-option=option:router,10.77.70.1" \
    "dhcp-option=option:dns-server,10.77.70.53,10.77.70.54" \
    "dhcp-option=58,5" \
    "dhcp-option=59,90"

ip netns exec "$NS" "$TERN" tap --dev tu0 --dhcp --stats serve udp-echo >"$tmp/one.out" 2>"$tmp/one.log" &
tpid=$!
pids+=("$tpid")
check "tern binds a lease" wait_for 30 ready "$tmp/one.log" "dhcp bound "
bound=$(grep -m1 "dhcp bound " "$tmp/one.log")
echo "  $bound"
addr=$(sed -n 's/.*dhcp bound \([0-9.]*\)\/.*/\1/p' <<<"$bound")
mac=$(sed -n 's/.*, mac \([0-9a-f:]*\),.*/\1/p' "$tmp/one.log" | head -1)
in_range() { [[ $1 =~ ^10\.77\.70\.([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge 50 ] &&
    [ "${BASH_REMATCH[1]}" -le 60 ]; }
check "the address $addr is in dnsmasq's range, /24" in_range "$addr"
check "the lease is /24 from server 10.77.70.1" ready "$tmp/one.log" "dhcp bound $addr/24 from 10.77.70.1:"
check "router 10.77.70.1 and DNS servers 10.77.70.53, 10.77.70.54 from the lease" \
    ready "$tmp/one.log" "router 10.77.70.1; dns 10.77.70.53, 10.77.70.54;"
check "lease 120 s, renew at 5 s, rebind at 90 s (options 51, 58, 59)" \
    ready "$tmp/one.log" "lease 120 s (renew at 5 s, rebind at 90 s)"
check "dnsmasq's lease file holds $addr for tern's MAC $mac" \
    wait_for 30 ready "$tmp/one.leases" " $mac $addr "
check "dnsmasq logged DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPACK for $addr" \
    eval "ready '$tmp/one.dnsmasq' 'DHCPDISCOVER(tu0)' && ready '$tmp/one.dnsmasq' 'DHCPOFFER(tu0) $addr' &&
          ready '$tmp/one.dnsmasq' 'DHCPREQUEST(tu0) $addr' && ready '$tmp/one.dnsmasq' 'DHCPACK(tu0) $addr'"
check "Linux pings tern at $addr" inns timeout 30 ping -c 3 -W 5 "$addr"
check "serve udp-echo started once bound, on the leased address" \
    ready "$tmp/one.log" "up, $addr/24, mtu 1500; listening on udp port 7"
printf 'leased\n' >"$tmp/echo.in"
# socat -t 60 waits for the answer after its stdin's end; killed once it is in.
ip netns exec "$NS" socat -t 60 - "UDP4:$addr:7" <"$tmp/echo.in" >"$tmp/echo.back" 2>"$tmp/echo.err" &
spid=$!
pids+=("$spid")
wait_for 30 cmp -s "$tmp/echo.in" "$tmp/echo.back"
kill "$spid" 2>/dev/null
check "a UDP datagram to $addr:7 comes back" cmp -s "$tmp/echo.in" "$tmp/echo.back"
check "tern renews at T1 (a 'renewed' line)" wait_for 40 ready "$tmp/one.log" "dhcp renewed $addr/24"
check "dnsmasq ACKed the renewal: a second DHCPACK for $addr" \
    wait_for 30 count_is_at_least "$tmp/one.dnsmasq" "DHCPACK(tu0) $addr " 2
stop "$tpid"
rc=$?
check "tern exits 0 on SIGTERM" test "$rc" -eq 0
check "tern says it released $addr" ready "$tmp/one.log" "dhcp released $addr to 10.77.70.1"
check "dnsmasq logged DHCPRELEASE for $addr" wait_for 30 ready "$tmp/one.dnsmasq" "DHCPRELEASE(tu0) $addr "
check "dnsmasq's lease file no longer holds $addr" wait_for 30 lacks "$tmp/one.leases" " $addr "
check "--stats: the client dropped nothing" \
    eval "! grep -q 'stats dhcp drop\.' '$tmp/one.log'"
check "--stats: one DISCOVER, one RELEASE, at least two ACKs" \
    eval "grep -Eq 'stats dhcp discover=1 .*release=1 .* ack=([2-9]|[1-9][0-9])' '$tmp/one.log'"

# ---- 2. DECLINE when the offered address is in use ---------------------------------

# One DHCP server at a time: the next one needs port 67.
kill "$dnsmasq_pid" 2>/dev/null
wait_for 20 exited "$dnsmasq_pid"
inns ip link del tu0
check "TAP device tu1 with the kernel at 10.77.71.1/24 and at 10.77.71.60 (in use)" \
    tap_up tu1 10.77.71.1/24 10.77.71.60/32
ip netns exec "$NS" "$TERN" tap --dev tu1 --dhcp --stats >"$tmp/two.out" 2>"$tmp/two.log" &
tpid=$!
pids+=("$tpid")
check "tern comes up and names its MAC" wait_for 30 ready "$tmp/two.log" ", mac "
mac=$(sed -n 's/.*, mac \([0-9a-f:]*\),.*/\1/p' "$tmp/two.log" | head -1)
check "dnsmasq offers tern ($mac) the address in use, 10.77.71.60" dnsmasq_start two \
    "port=0" \
    "interface=tu1" \
    "no-ping" \
    "dhcp-range=10.77.71.70,10.77.71.80,255.255.255.0,120" \
    "dhcp-host=$mac,10.77.71.60" \
    "dhcp-option=option:router,10.77.71.1"
check "tern declines 10.77.71.60: it answered the ARP probe" \
    wait_for 40 ready "$tmp/two.log" "dhcp declined 10.77.71.60 from 10.77.71.1"
check "dnsmasq logged DHCPDECLINE for 10.77.71.60" \
    wait_for 30 ready "$tmp/two.dnsmasq" "DHCPDECLINE(tu1) 10.77.71.60 "
check "tern binds another address afterwards" wait_for 60 ready "$tmp/two.log" "dhcp bound "
addr2=$(sed -n 's/.*dhcp bound \([0-9.]*\)\/.*/\1/p' "$tmp/two.log" | head -1)
in_range2() { [[ $1 =~ ^10\.77\.71\.([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge 70 ] &&
    [ "${BASH_REMATCH[1]}" -le 80 ]; }
check "the new address $addr2 is from the dynamic range" in_range2 "$addr2"
# RFC 2131 3.1 step 5: ten seconds between the DECLINE and the next DISCOVER.
declined_at=$(grep -m1 "DHCPDECLINE(tu1)" "$tmp/two.dnsmasq" | awk '{print $3}')
rediscover_at=$(awk -v d="$declined_at" '/DHCPDISCOVER\(tu1\)/ && $3 >= d {t = $3} END {print t}' \
    "$tmp/two.dnsmasq")
secs() { IFS=: read -r h m s <<<"$1"; echo $((10#$h * 3600 + 10#$m * 60 + 10#$s)); }
check "the next DISCOVER came at least 9 s after the DECLINE ($declined_at, $rediscover_at)" \
    test "$(($(secs "$rediscover_at") - $(secs "$declined_at")))" -ge 9
check "Linux pings tern at $addr2" inns timeout 30 ping -c 2 -W 5 "$addr2"
stop "$tpid"
rc=$?
check "tern exits 0 on SIGTERM" test "$rc" -eq 0
check "--stats: one DECLINE sent" ready "$tmp/two.log" "decline=1 "
check "dnsmasq logged DHCPRELEASE for $addr2" wait_for 30 ready "$tmp/two.dnsmasq" "DHCPRELEASE(tu1) $addr2 "

# ---- 3. get by name, with the lease's DNS server --------------------------------------

kill "$dnsmasq_pid" 2>/dev/null
wait_for 20 exited "$dnsmasq_pid"
inns ip link del tu1
tcp_listening() { inns ss -Hltn "sport = :$1" | grep -q .; }
check "TAP device tu2 with the kernel at 10.77.75.1/24" tap_up tu2 10.77.75.1/24
check "dnsmasq serves DHCP and DNS (web.example) on tu2" dnsmasq_start three \
    "interface=tu2" \
    "listen-address=10.77.75.1" \
    "no-resolv" \
    "no-hosts" \
    "log-queries" \
    "address=/web.example/10.77.75.1" \
    "dhcp-range=10.77.75.50,10.77.75.60,255.255.255.0,120" \
    "dhcp-option=option:dns-server,10.77.75.1"
mkdir -p "$tmp/www"
head -c 102400 /dev/urandom >"$tmp/www/file.bin"
ip netns exec "$NS" python3 -m http.server 8000 --bind 10.77.75.1 --directory "$tmp/www" \
    >"$tmp/http.log" 2>&1 &
pids+=("$!")
check "python3 http.server listens on 10.77.75.1:8000" wait_for 30 tcp_listening 8000
inns timeout 120 "$TERN" tap --dev tu2 --dhcp --stats --timeout 30 \
    get http://web.example:8000/file.bin -o "$tmp/got.bin" >"$tmp/three.out" 2>"$tmp/three.log"
rc=$?
check "tern tap --dhcp get http://web.example:8000/file.bin exits 0 (got $rc)" test "$rc" -eq 0
check "the file arrived byte-exact" cmp -s "$tmp/www/file.bin" "$tmp/got.bin"
addr3=$(sed -n 's/.*dhcp bound \([0-9.]*\)\/.*/\1/p' "$tmp/three.log" | head -1)
check "the name was looked up with the lease's DNS server: web.example is 10.77.75.1" \
    ready "$tmp/three.log" "web.example is 10.77.75.1"
check "dnsmasq answered the query from tern's leased address $addr3" \
    ready "$tmp/three.dnsmasq" "query\[A\] web.example from $addr3"
check "the lease was given back once the file was in" \
    wait_for 30 ready "$tmp/three.dnsmasq" "DHCPRELEASE(tu2) $addr3 "

summary
