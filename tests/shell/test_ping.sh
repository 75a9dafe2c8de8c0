#!/bin/bash
# tests/shell/test_ping.sh: the `tern ping` command line.
#
# Usage: bash test_ping.sh <tern binary> <source dir>
# Checks that a run is reproducible from its seed, that the summary agrees
# with the reply lines printed, and that every bad option is refused with
# status 2 and a one-line message on stderr.
set -u

TERN=${1:?usage: test_ping.sh <tern binary> <source dir>}
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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- Reproducibility -------------------------------------------------------

args=(--count 20 --loss 20 --reorder 20)
"$TERN" ping "${args[@]}" --seed 1 >"$tmp/s1a.out" 2>"$tmp/s1a.err"
rc1=$?
"$TERN" ping "${args[@]}" --seed 1 >"$tmp/s1b.out" 2>"$tmp/s1b.err"
"$TERN" ping "${args[@]}" --seed 2 >"$tmp/s2.out" 2>"$tmp/s2.err"
check "seed 1 run exits 0 (some replies)" test "$rc1" -eq 0
check "same seed gives byte-identical output" cmp -s "$tmp/s1a.out" "$tmp/s1b.out"
check "another seed gives another output" bash -c "! cmp -s '$tmp/s1a.out' '$tmp/s2.out'"
check "nothing on stderr" test ! -s "$tmp/s1a.err"
check "header line" grep -qx 'PING 192.0.2.2 (192.0.2.2) 56(84) bytes of data.' "$tmp/s1a.out"

# The summary must agree with the reply lines: received = distinct replies,
# duplicates = (DUP!) lines, loss = (transmitted - received) / transmitted,
# rtt min/max = the extreme times printed.
consistent() { # consistent <output file> <expected transmitted>
    awk -v want_tx="$2" '
        /^[0-9]+ bytes from (192\.0\.2\.2|2001:db8::2): icmp_seq=[0-9]+ ttl=64/ {
            seq = $5; sub(/icmp_seq=/, "", seq); seq += 0
            if (seq < 1 || seq > want_tx + 0) { print "bad seq " seq; bad = 1 }
            if ($0 ~ /\(DUP!\)$/) { dups++ } else {
                if (seen[seq]++) { print "seq " seq " twice without (DUP!)"; bad = 1 }
                rx++
            }
            t = $7; sub(/time=/, "", t); t += 0
            if (n == 0 || t < tmin) tmin = t
            if (n == 0 || t > tmax) tmax = t
            n++
            next
        }
        /packets transmitted/ {
            summary = $0
            tx = $1; srx = $4
            sdups = 0
            if (match($0, /\+[0-9]+ duplicates/)) sdups = substr($0, RSTART + 1, RLENGTH - 12) + 0
            match($0, /[0-9.e+-]+% packet loss/); sloss = substr($0, RSTART, RLENGTH - 13)
            next
        }
        /^rtt min\/avg\/max\/mdev = / {
            split($4, r, "/"); rmin = r[1]; rmax = r[3]; have_rtt = 1
        }
        END {
            if (summary == "") { print "no summary line"; exit 1 }
            if (tx + 0 != want_tx + 0) { print "transmitted " tx " != " want_tx; bad = 1 }
            if (srx != rx + 0) { print "received " srx " but " rx + 0 " reply lines"; bad = 1 }
            if (sdups != dups + 0) { print "duplicates " sdups " but " dups + 0 " DUP lines"; bad = 1 }
            want_loss = sprintf("%g", (tx - rx) * 100.0 / tx)
            if (sloss != want_loss) { print "loss " sloss "% but expected " want_loss "%"; bad = 1 }
            if (n > 0) {
                if (!have_rtt) { print "replies but no rtt line"; bad = 1 }
                # Reply lines round to 1 ms at most (times of 100 ms and more).
                if (rmin - tmin > 0.5 || tmin - rmin > 0.5) { print "rtt min " rmin " vs " tmin; bad = 1 }
                if (rmax - tmax > 0.5 || tmax - rmax > 0.5) { print "rtt max " rmax " vs " tmax; bad = 1 }
            } else if (have_rtt) { print "rtt line without replies"; bad = 1 }
            exit bad
        }' "$1"
}
check "summary consistent with replies (seed 1)" consistent "$tmp/s1a.out" 20
check "summary consistent with replies (seed 2)" consistent "$tmp/s2.out" 20
check "seed 1 under 20% loss lost something" bash -c "! grep -q ' 0% packet loss' '$tmp/s1a.out'"

"$TERN" ping --count 30 --dup 30 --loss 10 --seed 4 >"$tmp/dup.out" 2>&1
check "duplicates run is consistent" consistent "$tmp/dup.out" 30
check "duplicates are marked (DUP!)" grep -q '(DUP!)$' "$tmp/dup.out"
check "duplicates are counted" grep -q '+[0-9]* duplicates' "$tmp/dup.out"

# Fragmentation: a payload larger than the MTU goes out in fragments and
# comes back whole.
"$TERN" ping --count 3 --size 3000 --mtu 1500 >"$tmp/frag.out" 2>&1
rc=$?
check "fragmented ping exits 0" test "$rc" -eq 0
check "fragmented ping header" grep -qx 'PING 192.0.2.2 (192.0.2.2) 3000(3028) bytes of data.' "$tmp/frag.out"
check "fragmented replies are whole" test "$(grep -c '^3008 bytes from 192.0.2.2' "$tmp/frag.out")" -eq 3
check "fragmented run is consistent" consistent "$tmp/frag.out" 3

# IPv6 (-6, or the operand 2001:db8::2): ICMPv6 echo (RFC 4443 4.1, 4.2),
# fragmented by the source past the MTU (RFC 8200 4.5) and reassembled;
# the capture decodes in tshark as ICMPv6.
"$TERN" ping -6 --count 3 >"$tmp/v6.out" 2>&1
rc=$?
check "ping -6 exits 0" test "$rc" -eq 0
check "ping -6 header" grep -qx 'PING 2001:db8::2(2001:db8::2) 56 data bytes' "$tmp/v6.out"
check "ping -6 replies" test "$(grep -c '^64 bytes from 2001:db8::2: icmp_seq=[123] ttl=64' "$tmp/v6.out")" -eq 3
check "ping -6 run is consistent" consistent "$tmp/v6.out" 3
"$TERN" ping 2001:db8::2 --count 2 --size 3000 --pcap "$tmp/v6.pcap" >"$tmp/v6f.out" 2>&1
rc=$?
check "fragmented ping to 2001:db8::2 exits 0" test "$rc" -eq 0
check "fragmented IPv6 replies are whole" test "$(grep -c '^3008 bytes from 2001:db8::2' "$tmp/v6f.out")" -eq 2
if command -v tshark >/dev/null; then
    n=$(tshark -r "$tmp/v6.pcap" -Y 'icmpv6.type == 129' 2>/dev/null | wc -l)
    check "the IPv6 capture decodes: 2 reassembled echo replies (got $n)" test "$n" -eq 2
    n=$(tshark -r "$tmp/v6.pcap" -Y '_ws.expert.severity >= 6291456 || _ws.malformed' 2>/dev/null | wc -l)
    check "the IPv6 capture has no warning (got $n)" test "$n" -eq 0
fi

# Exact virtual times: 10 ms each way.
"$TERN" ping --count 2 >"$tmp/plain.out" 2>&1
check "plain run output" diff -u - "$tmp/plain.out" <<'OUT'
PING 192.0.2.2 (192.0.2.2) 56(84) bytes of data.
64 bytes from 192.0.2.2: icmp_seq=1 ttl=64 time=20.0 ms
64 bytes from 192.0.2.2: icmp_seq=2 ttl=64 time=20.0 ms

--- 192.0.2.2 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1020ms
rtt min/avg/max/mdev = 20.000/20.000/20.000/0.000 ms
OUT

# No reply at all: exit 1, like ping.
"$TERN" ping --count 3 --loss 100 >"$tmp/none.out" 2>&1
rc=$?
check "no reply exits 1" test "$rc" -eq 1
check "no reply reports 100% loss" grep -q '3 packets transmitted, 0 received, 100% packet loss' "$tmp/none.out"
check "no reply run is consistent" consistent "$tmp/none.out" 3

# ---- Help and version ------------------------------------------------------

"$TERN" ping --help >"$tmp/help.out" 2>&1
rc=$?
check "ping --help exits 0" test "$rc" -eq 0
for flag in count interval size seed loss reorder dup corrupt delay jitter rate mtu pcap stats timeout; do
    check "--help documents --$flag" grep -q -- "--$flag" "$tmp/help.out"
done
check "--help gives defaults" grep -q 'default 5' "$tmp/help.out"
"$TERN" --help >"$tmp/thelp.out" 2>&1
rc=$?
check "tern --help exits 0" test "$rc" -eq 0
check "tern --help lists ping" grep -q '^  ping' "$tmp/thelp.out"
"$TERN" --version >"$tmp/version.out" 2>&1
rc=$?
check "tern --version exits 0" test "$rc" -eq 0
check "tern --version prints a version" grep -qE '^tern [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/version.out"

# ---- Bad options -----------------------------------------------------------

# Each case: the arguments, then a word the one-line error must contain.
bad_cases=(
    "--count abc|--count"
    "--count -3|--count"
    "--count 0|--count"
    "--count 1.5|--count"
    "--count 99999999999999999999999|--count"
    "--count|--count"
    "--count=|--count"
    "--interval -1|--interval"
    "--interval 0|--interval"
    "--size -1|--size"
    "--size 65508|--size"
    "--size 12x|--size"
    "--seed -1|--seed"
    "--seed abc|--seed"
    "--seed 18446744073709551616|--seed"
    "--loss 101|--loss"
    "--loss -1|--loss"
    "--loss ten|--loss"
    "--loss nan|--loss"
    "--reorder 100.5|--reorder"
    "--dup 200|--dup"
    "--corrupt -0.1|--corrupt"
    "--delay -5|--delay"
    "--delay inf|--delay"
    "--jitter x|--jitter"
    "--rate -1|--rate"
    "--rate 1.5|--rate"
    "--mtu 67|--mtu"
    "--mtu 65536|--mtu"
    "--timeout -1|--timeout"
    "--pcap|--pcap"
    "--stats=yes|--stats"
    "--bogus|--bogus"
    "-x|-x"
    "192.0.2.9|192.0.2.9"
    "-6 192.0.2.2|192.0.2.2"
    "192.0.2.2 x|x"
)
for case in "${bad_cases[@]}"; do
    argstr=${case%%|*}
    word=${case##*|}
    read -r -a argv <<<"$argstr"
    "$TERN" ping "${argv[@]}" >"$tmp/bad.out" 2>"$tmp/bad.err"
    rc=$?
    check "'$argstr' exits 2 (got $rc)" test "$rc" -eq 2
    check "'$argstr' prints nothing on stdout" test ! -s "$tmp/bad.out"
    check "'$argstr' gives one line on stderr" test "$(wc -l <"$tmp/bad.err")" -eq 1
    check "'$argstr' error names '$word'" grep -qF -- "$word" "$tmp/bad.err"
    check "'$argstr' error points to --help" grep -qF -- "--help" "$tmp/bad.err"
done
"$TERN" nosuchcommand >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
check "unknown command exits 2" test "$rc" -eq 2
check "unknown command is named" grep -q nosuchcommand "$tmp/bad.err"
"$TERN" >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
check "no command exits 2" test "$rc" -eq 2

echo "$((checks - failures)) passed, $failures failed"
test "$failures" -eq 0
