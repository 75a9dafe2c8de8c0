#!/bin/bash
# tests/shell/test_interop_ping6.sh: ICMPv6 echo between tern and the Linux
# kernel, over a TUN device and over a TAP device (neighbour discovery),
# and IPv6 address autoconfiguration on the TAP from a router advertisement
# of dnsmasq, in network namespaces this test creates and removes.
#
# Usage: bash test_interop_ping6.sh <tern binary> <source dir>
#
#  1. TUN: `tern tun --addr 10.77.70.2/24 --addr fd77:70::2/64 serve echo`;
#     Linux (ip -6 addr fd77:70::1/64 on the device) runs `ping -6 -c 3`
#     to tern: 3 replies. Then `tern tun ... ping fd77:70::1` pings Linux:
#     3 replies, and the capture (raw IP, both families) decodes in tshark
#     as ICMPv6 echo with no warning.
#  2. TAP: the same both ways over Ethernet: Linux resolves tern's address
#     with a neighbour solicitation that tern answers (RFC 4861 7.2.4),
#     tern resolves Linux's (7.2.2); the capture shows the NS/NA exchange
#     and decodes with no warning.
#  3. SLAAC on the TAP (RFC 4862): dnsmasq on the kernel side advertises
#     fd77:72::/64 (--enable-ra, ra-only); tern forms its address from the
#     prefix, checks it with DAD, and Linux pings that address.
#  4. DAD conflict: the kernel already holds an address tern is told to
#     use; the kernel answers tern's DAD probe, tern counts
#     drop.ND_DAD_CONFLICT and never reports that address ready.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, ping, dnsmasq,
# tshark, timeout. Anything missing is a FAILURE, not a skip. The
# addresses (10.77.70.0/23, fd77:70::/32) exist only inside the namespaces,
# deleted by the EXIT trap even on failure. Waits are on events (a log
# line, a process exit) with generous bounds, never fixed sleeps.
#
# EVIDENCE: 4443-4.2-a (echo replies to Linux), 4861-7.2.2-a, 4861-7.2.4-a
# (resolution against Linux), 4862-5.5.3-a (SLAAC from dnsmasq),
# 4862-5.4.5-a (DAD conflict against Linux)
set -u

TERN=${1:?usage: test_interop_ping6.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
NS=tern-ping6-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

require_tools ip ping dnsmasq tshark timeout
require_root "a network namespace and TUN/TAP devices"
require_tun
make_ns

# The namespace's IPv6 is off by default (lib_test.sh): this test needs it.
inns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0

ready() { grep -q "$2" "$1"; } # ready <log> <text>
# A device made before tern opens it, up, with Linux's IPv6 address (no
# DAD: nothing else is on the link), so that Linux answers from tern's
# first packet on. tern attaches to it (tern_tun_open: created if missing).
mkdev() { # mkdev <tun|tap> <dev> <linux v6/len>
    inns ip tuntap add dev "$2" mode "$1" &&
        inns ip link set "$2" up &&
        inns ip -6 addr add "$3" dev "$2" nodad
}

# Linux pings tern and tern pings Linux over one device type.
both_ways() { # both_ways <tun|tap> <dev> <v4 net> <v6 net>
    local link=$1 dev=$2 n4=$3 n6=$4
    check "$link: device $dev with Linux's $n6::1" mkdev "$link" "$dev" "$n6::1/64"
    ip netns exec "$NS" "$TERN" "$link" --dev "$dev" --addr "$n4.2/24" --linux-addr "$n4.1/24" \
        --addr "$n6::2/64" --stats --pcap "$tmp/$link-serve.pcap" serve echo \
        >"$tmp/$link-serve.out" 2>"$tmp/$link-serve.log" &
    local tpid=$!
    pids+=("$tpid")
    check "$link: tern comes up" wait_for 30 ready "$tmp/$link-serve.log" 'listening on port 7'
    # On the TAP tern's address is tentative for a second (DAD).
    check "$link: tern's $n6::2 ready" wait_for 30 ready "$tmp/$link-serve.log" \
        "IPv6 address $n6::2 ready"
    inns ping -6 -c 3 -i 0.2 -W 5 "$n6::2" >"$tmp/$link-ping.out" 2>&1
    check "$link: Linux ping -6: 3 replies from tern" grep -q '3 received' "$tmp/$link-ping.out"
    stop "$tpid"
    # (The kernel's own multicast, MLD reports to ff02::16, is not ours:
    # IPV6_NOT_OURS is expected; nothing else of IPv6 may be dropped.)
    check "$link: tern counted no bad IPv6 packet" bash -c \
        "! grep -E 'drop\.(IPV6|ICMPV6|ND)_' '$tmp/$link-serve.log' | grep -v IPV6_NOT_OURS"

    ip netns exec "$NS" "$TERN" "$link" --dev "$dev" --addr "$n4.2/24" --linux-addr "$n4.1/24" \
        --addr "$n6::2/64" --pcap "$tmp/$link-ping.pcap" --timeout 20 --count 3 \
        ping "$n6::1" >"$tmp/$link-tping.out" 2>"$tmp/$link-tping.log" &
    tpid=$!
    pids+=("$tpid")
    check "$link: tern ping exits" wait_for 60 exited "$tpid"
    wait "$tpid"
    local rc=$?
    check "$link: tern ping exit status 0 (got $rc)" test "$rc" -eq 0
    check "$link: tern ping -6: 3 replies from Linux" grep -q '3 packets transmitted, 3 received' \
        "$tmp/$link-tping.out"
    check "$link: reply lines name Linux's address" grep -q "bytes from $n6::1: icmp_seq=3" \
        "$tmp/$link-tping.out"
    local f
    for f in "$link-serve" "$link-ping"; do
        local n
        n=$(tshark -r "$tmp/$f.pcap" -Y 'icmpv6.type == 129' 2>/dev/null | wc -l)
        check "$link: $f.pcap has 3 ICMPv6 echo replies (got $n)" test "$n" -eq 3
        n=$(tshark -r "$tmp/$f.pcap" -Y '_ws.expert.severity >= 6291456 || _ws.malformed' \
            2>/dev/null | wc -l)
        check "$link: tshark decodes $f.pcap with no warning (got $n)" test "$n" -eq 0
    done
}

# ---- 1, 2. Ping both ways over TUN and TAP --------------------------------------

both_ways tun t6u 10.77.70 fd77:70
both_ways tap t6a 10.77.71 fd77:71
check "tap: tern's neighbour solicitation and Linux's advertisement captured" bash -c \
    "tshark -r '$tmp/tap-ping.pcap' -Y 'icmpv6.type == 135' 2>/dev/null | grep -q . && \
     tshark -r '$tmp/tap-ping.pcap' -Y 'icmpv6.type == 136' 2>/dev/null | grep -q ."

# ---- 3. SLAAC from dnsmasq's router advertisement --------------------------------

check "slaac: device with the router's fd77:72::1" mkdev tap t6s fd77:72::1/64
ip netns exec "$NS" "$TERN" tap --dev t6s --addr 10.77.70.130/25 --linux-addr 10.77.70.129/25 --stats \
    serve echo >"$tmp/slaac.out" 2>"$tmp/slaac.log" &
tpid=$!
pids+=("$tpid")
check "slaac: tern comes up" wait_for 30 ready "$tmp/slaac.log" 'listening on port 7'
ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=t6s --bind-interfaces \
    --enable-ra --dhcp-range=fd77:72::,ra-only --pid-file="$tmp/dnsmasq.pid" \
    >"$tmp/dnsmasq.log" 2>&1 &
pids+=("$!")
# tern answers dnsmasq's advertisement (or its own solicitation's answer).
check "slaac: tern forms an address in fd77:72::/64" wait_for 60 ready "$tmp/slaac.log" \
    'IPv6 address fd77:72::[0-9a-f:]* ready'
addr=$(grep -o 'IPv6 address fd77:72::[0-9a-f:]*' "$tmp/slaac.log" | head -1 | cut -d' ' -f3)
inns ping -6 -c 3 -i 0.2 -W 5 "$addr" >"$tmp/slaac-ping.out" 2>&1
check "slaac: Linux ping -6 to tern's SLAAC address $addr: 3 replies" \
    grep -q '3 received' "$tmp/slaac-ping.out"
stop "$tpid"

# ---- 4. DAD conflict ------------------------------------------------------------

# The kernel holds fd77:73::9 on the TAP; tern is told to use it too.
check "dad: device with Linux's fd77:73::9" mkdev tap t6d fd77:73::9/64
ip netns exec "$NS" "$TERN" tap --dev t6d --addr 10.77.71.130/25 --linux-addr 10.77.71.129/25 \
    --addr fd77:73::2/64 --addr fd77:73::9/64 --stats serve echo >"$tmp/dad.out" \
    2>"$tmp/dad.log" &
tpid=$!
pids+=("$tpid")
check "dad: tern comes up" wait_for 30 ready "$tmp/dad.log" 'listening on port 7'
# The other address passes DAD (after a second): by then the conflict is in.
check "dad: tern's fd77:73::2 passes DAD" wait_for 30 ready "$tmp/dad.log" \
    'IPv6 address fd77:73::2 ready'
stop "$tpid"
check "dad: tern counted the conflict" grep -q 'drop.ND_DAD_CONFLICT=1' "$tmp/dad.log"
check "dad: fd77:73::9 never reported ready" bash -c "! grep -q 'fd77:73::9 ready' '$tmp/dad.log'"

summary
