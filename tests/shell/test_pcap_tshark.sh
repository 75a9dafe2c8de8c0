#!/bin/bash
# tests/shell/test_pcap_tshark.sh: the simulator's pcap captures, decoded by
# an independent dissector (tshark, from Wireshark).
#
# Usage: bash test_pcap_tshark.sh <tern binary> <source dir>
#
# 1. A clean run with reordering and fragmentation (--size 3000 over MTU
#    1500) must decode completely: every frame IPv4, no malformed packet, no
#    bad checksum, with IPv4 header checksums (pref ip.check_checksum) and
#    ICMP checksums verified. tshark 4.0 has no preference for ICMP: it always
#    verifies the ICMP checksum over the reassembled message
#    (icmp.checksum.status), so only the IPv4 preference is needed.
# 2. A run with every packet corrupted must be caught twice: tshark flags a
#    bad checksum, and tern's receiving stack counts checksum drops. This
#    proves the checks above can fail.
#
# tshark is required: a missing tshark is a failure, not a skip (CI installs
# it with `apt-get install tshark`).
set -u

TERN=${1:?usage: test_pcap_tshark.sh <tern binary> <source dir>}
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

check() { # check <description> <command...>
    local what=$1
    shift
    checks=$((checks + 1))
    if ! "$@"; then
        fail "$what"
    fi
}

if ! command -v tshark >/dev/null 2>&1; then
    echo "FAIL: tshark is not installed (DEBIAN_FRONTEND=noninteractive apt-get install -y tshark)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# tshark with checksum validation on; its stderr (the "running as root"
# notice) is kept apart.
ts() { # ts <file> [tshark args...]
    local f=$1
    shift
    tshark -n -r "$f" -o ip.check_checksum:TRUE "$@" 2>>"$tmp/tshark.err"
}

count() { # count <file> <display filter>
    ts "$1" -Y "$2" | wc -l
}

eq() { # eq <description> <got> <want>
    checks=$((checks + 1))
    if [ "$2" != "$3" ]; then
        fail "$1: got $2, want $3"
    fi
}

# ---- 1. A clean capture: reordering and fragments ----------------------------

n=10
"$TERN" ping --count $n --size 3000 --mtu 1500 --reorder 20 --seed 1 --pcap "$tmp/clean.pcap" \
    >"$tmp/clean.out" 2>"$tmp/clean.err"
rc=$?
check "clean ping exits 0" test "$rc" -eq 0
check "clean ping: every reply back" grep -q "$n packets transmitted, $n received, 0% packet loss" \
    "$tmp/clean.out"
check "clean ping: some reply was reordered (late)" grep -qE 'time=[0-9]{4,} ms' "$tmp/clean.out"
check "capture file written" test -s "$tmp/clean.pcap"

# 3008 bytes of ICMP (the reassembled IPv4 payload) over a 1500-byte MTU:
# fragments of 1480, 1480 and 48 bytes; n requests and n replies.
frames=$((n * 2 * 3))
eq "frames in capture" "$(ts "$tmp/clean.pcap" | wc -l)" "$frames"
eq "frames decoded as IPv4" "$(count "$tmp/clean.pcap" ip)" "$frames"
eq "malformed frames" "$(count "$tmp/clean.pcap" _ws.malformed)" 0
# 6291456 is PI_WARN: no expert warning or error anywhere.
eq "frames with an expert error or warning" \
    "$(count "$tmp/clean.pcap" '_ws.expert.severity >= 6291456')" 0
eq "bad checksums" "$(count "$tmp/clean.pcap" \
    'ip.checksum.status == 0 || icmp.checksum.status == 0 || _ws.expert.message contains "Bad checksum"')" 0
eq "IPv4 header checksums verified good" "$(count "$tmp/clean.pcap" 'ip.checksum.status == 1')" "$frames"
eq "ICMP checksums verified good" "$(count "$tmp/clean.pcap" 'icmp.checksum.status == 1')" $((n * 2))
eq "echo requests" "$(count "$tmp/clean.pcap" 'icmp.type == 8')" "$n"
eq "echo replies" "$(count "$tmp/clean.pcap" 'icmp.type == 0')" "$n"
eq "fragments (all frames)" "$(count "$tmp/clean.pcap" 'ip.flags.mf == 1 || ip.frag_offset > 0')" "$frames"
eq "first and middle fragments (MF set)" "$(count "$tmp/clean.pcap" 'ip.flags.mf == 1')" $((n * 2 * 2))
eq "datagrams reassembled by tshark" "$(count "$tmp/clean.pcap" 'ip.reassembled.length == 3008')" \
    $((n * 2))
eq "requests from 192.0.2.1 to 192.0.2.2" \
    "$(count "$tmp/clean.pcap" 'icmp.type == 8 && ip.src == 192.0.2.1 && ip.dst == 192.0.2.2')" "$n"
eq "replies answer a request" "$(count "$tmp/clean.pcap" 'icmp.type == 0 && icmp.resp_to')" "$n"

# Timestamps are virtual: the first request leaves at 0 s, the n-th at n-1 s.
first=$(ts "$tmp/clean.pcap" -T fields -e frame.time_epoch -c 1)
eq "first timestamp" "$first" "0.000000000"
last_req=$(ts "$tmp/clean.pcap" -Y 'icmp.type == 8' -T fields -e frame.time_epoch | tail -n 1)
eq "last request timestamp" "$last_req" "$((n - 1)).000000000"

# The same run gives the same capture, byte for byte.
"$TERN" ping --count $n --size 3000 --mtu 1500 --reorder 20 --seed 1 --pcap "$tmp/again.pcap" \
    >/dev/null 2>&1
check "same seed, identical capture" cmp -s "$tmp/clean.pcap" "$tmp/again.pcap"

# ---- 2. Corruption is caught --------------------------------------------------

"$TERN" ping --count 10 --corrupt 100 --seed 1 --stats --pcap "$tmp/bad.pcap" \
    >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
check "all-corrupt ping exits 1 (no reply)" test "$rc" -eq 1
eq "corrupted frames captured" "$(ts "$tmp/bad.pcap" | wc -l)" 10
flagged=$(count "$tmp/bad.pcap" \
    'ip.checksum.status == 0 || icmp.checksum.status == 0 || _ws.expert.message contains "Bad checksum"')
check "tshark flags bad checksums in the corrupted capture (got $flagged)" test "$flagged" -ge 1
# tern's receiver counts its checksum drops (--stats: "b: drops=... drop.X=N").
csum_drops=$(grep '^b: drops=' "$tmp/bad.out" | grep -oE 'drop\.(IP|ICMP)_CHECKSUM=[0-9]+' |
    awk -F= '{ s += $2 } END { print s + 0 }')
check "tern counts checksum drops (got $csum_drops)" test "$csum_drops" -ge 1
all_drops=$(grep -oE '^b: drops=[0-9]+' "$tmp/bad.out" | cut -d= -f2)
eq "every corrupted packet dropped by tern" "$all_drops" 10

echo "$((checks - failures)) passed, $failures failed"
test "$failures" -eq 0
