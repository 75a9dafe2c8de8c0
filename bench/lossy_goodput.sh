#!/bin/bash
# bench/lossy_goodput.sh: goodput of tern as a sender against Linux as a
# sender, both to a Linux receiver over the SAME impaired path, in one run.
#
# Usage: sudo bash bench/lossy_goodput.sh [--quick] [TERN] [MiB]
#   TERN   tern binary (default ./build/tern); the relay is taken from
#          $IMPAIR_RELAY, else from bench/impair_relay next to TERN
#   MiB    size of each transfer (default 16)
#   --quick  512 KiB per transfer, one run per sender (a functional check)
# Environment: RUNS (default 5, --quick 1) runs per sender and row;
#   CAP (default 300) seconds a transfer may take: a transfer still running
#   then is stopped and its figure is the bytes delivered over CAP (the row
#   says how many runs were capped); SEED (default 1) of the relay;
#   LINUX_CC (default cubic, the kernel's own default) congestion control of
#   the Linux sender, set on its socket (TCP_CONGESTION; this host's default is
#   bbr, which does not read loss as congestion: no fair reference for a
#   loss-based sender like tern's).
#   TERN_ARGS: more `tern tun` options for tern's sender (split on blanks),
#   e.g. '--loss rack --cc cubic' (see `tern tun --help`).
#   ROWS: the rows to run, by name, blank-separated (default: the five
#   impaired rows below); two loss-free reference rows exist besides:
#   clean (no impairment: raw speed of both senders over the relay) and
#   rtt-25ms (25 ms RTT, no loss).
#
# After each run a comment line gives the sender's loss-recovery counters:
# tern's from `tern tun --stats` (segments resent, retransmission-timer and
# loss-probe expiries, recoveries, D-SACKs, undos; its connection's SRTT,
# RTO, cwnd, ssthresh as last seen; the TUN driver's queue drops), Linux's
# from nstat in the sender's namespace (TcpRetransSegs, TCPTimeouts,
# TCPLossProbes, ...), so a gap can be traced to its cause.
#
# The path (addresses from 10.79.0.0/16, inside namespaces this script
# creates, named tern-lossy-<pid>-{s,r}, removed on exit even on Ctrl-C):
#
#   namespace S                                          namespace R
#   tern --TUN tb0-- kernel (10.79.1.1, forwards) --tapS ==relay== tapR-- Linux
#   (10.79.1.2)      Linux sender (10.79.2.1)                  (10.79.2.2)
#
# The relay (bench/impair_relay.c) copies Ethernet frames between tapS and
# tapR with seeded loss, delay and reordering, the same in both directions
# (data and ACKs) and the same for both senders: tern's segments are routed
# by S's kernel onto tapS, Linux's leave from S itself onto tapS. Loss comes
# from the relay rather than nftables (nft is not installed everywhere; this
# kernel has no netem either). Each figure is application bytes over the time
# from the receiver's accept to its end of stream, measured by the same
# receiver (Python, in R) for both senders; the receiver also hashes what it
# got, and each run says whether it was byte-exact. Runs alternate tern,
# Linux, tern, ...; a row prints medians:
#   ROW-NAME tern X Mbit/s linux Y Mbit/s ratio Z
set -u
QUICK=0
if [ "${1:-}" = --quick ]; then
    QUICK=1
    shift
fi
TERN=$(readlink -f "${1:-./build/tern}")
MIB=${2:-16}
RELAY=${IMPAIR_RELAY:-$(dirname "$TERN")/bench/impair_relay}
if [ $QUICK = 1 ]; then
    KIB=512
    RUNS=${RUNS:-1}
else
    KIB=$((MIB * 1024))
    RUNS=${RUNS:-5}
fi
# --quick is a functional check: a transfer that stalls is cut after a
# minute (the row then says "capped") rather than holding a test for five.
if [ $QUICK = 1 ]; then CAP=${CAP:-60}; else CAP=${CAP:-300}; fi
SEED=${SEED:-1}
LINUX_CC=${LINUX_CC:-cubic}
TERN_ARGS=${TERN_ARGS:-}
ROWS=${ROWS:-loss-1pct loss-5pct loss-10pct reorder-20pct-2ms rtt-25ms-loss-1pct}
for r in $ROWS; do
    case $r in
    clean | loss-1pct | loss-5pct | loss-10pct | reorder-20pct-2ms | rtt-25ms | rtt-25ms-loss-1pct) ;;
    *) echo "unknown row '$r' in ROWS" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x "$TERN" ] || { echo "no tern binary at $TERN" >&2; exit 1; }
[ -x "$RELAY" ] || { echo "no impair_relay at $RELAY (set IMPAIR_RELAY)" >&2; exit 1; }

tmp=$(mktemp -d)
S=tern-lossy-$$-s
R=tern-lossy-$$-r
relay_pid=
cleanup() {
    trap - EXIT INT TERM
    # Bounded: a sender that does not end on SIGTERM (a sanitizer build can
    # hang in its exit-time leak check) is killed after 10 s.
    local pids
    pids=$(jobs -p)
    if [ -n "$pids" ]; then
        kill $pids 2>/dev/null
        local end=$((SECONDS + 10))
        while [ $SECONDS -lt $end ]; do
            local alive=0 p
            for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
            [ $alive = 1 ] || break
            sleep 0.1
        done
        for p in $pids; do
            pkill -KILL -P "$p" 2>/dev/null
            kill -KILL "$p" 2>/dev/null
        done
    fi
    wait 2>/dev/null
    ip netns del $S 2>/dev/null
    ip netns del $R 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }

ip netns add $S && ip netns add $R || exit 1
for n in $S $R; do
    ip -n $n link set lo up
    ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip netns exec $S sysctl -qw net.ipv4.ip_forward=1

head -c $((KIB * 1024)) /dev/urandom >"$tmp/data"
want=$(sha256sum "$tmp/data" | cut -d' ' -f1)

# Receiver: one connection; prints bytes, sha256 and Mbit/s from accept to
# end of stream (or to the deadline: then the line ends in "capped").
cat >"$tmp/rx.py" <<'EOF'
import hashlib, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
s.settimeout(float(sys.argv[2]) + 30)  # a sender that never connects
c, _ = s.accept()
t0, n, h = time.monotonic(), 0, hashlib.sha256()
end = t0 + float(sys.argv[2])
capped = False
while True:
    left = end - time.monotonic()
    if left <= 0:
        capped = True
        break
    c.settimeout(left)
    try:
        b = c.recv(1 << 20)
    except socket.timeout:
        capped = True
        break
    if not b:
        break
    n += len(b)
    h.update(b)
dt = time.monotonic() - t0
print(n, h.hexdigest(), "%.3f" % (n * 8 / dt / 1e6), "capped" if capped else "done")
EOF
cat >"$tmp/tx.py" <<'EOF'
import socket, sys
c = socket.socket()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[4].encode())
c.connect((sys.argv[1], int(sys.argv[2])))
with open(sys.argv[3], "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        c.sendall(b)
c.shutdown(socket.SHUT_WR)
c.recv(1)
EOF

start_path() { # start_path <relay options...>: relay up, addresses, routes
    rm -f "$tmp/relay.out" "$tmp/relay.err"
    ip netns exec $S "$RELAY" --a tapS --b tapR --seed "$SEED" "$@" \
        >"$tmp/relay.out" 2>"$tmp/relay.err" &
    relay_pid=$!
    wait_for 30 grep -q ready "$tmp/relay.out" || { cat "$tmp/relay.err" >&2; return 1; }
    ip -n $S link set tapR netns $R || return 1
    ip -n $S addr add 10.79.2.1/24 dev tapS
    ip -n $R addr add 10.79.2.2/24 dev tapR
    ip -n $S link set tapS up
    ip -n $R link set tapR up
    ip -n $R route add 10.79.1.0/24 via 10.79.2.1
}
stop_path() { # the relay ends on SIGTERM with status 0 and its counters
    kill "$relay_pid" 2>/dev/null
    wait "$relay_pid" 2>/dev/null || { echo "relay failed:" >&2; cat "$tmp/relay.err" >&2; return 1; }
    relay_pid=
}

port=7000
one_run() { # one_run <tern|linux> <row> <i>: appends "rate exact capped" to $tmp/<row>.<who>
    local who=$1 row=$2 i=$3
    port=$((port + 1))
    ip netns exec $R python3 "$tmp/rx.py" $port "$CAP" >"$tmp/rx.out" &
    local rx=$!
    wait_for 30 listening $R $port || { echo "receiver did not start" >&2; return 1; }
    if [ "$who" = tern ]; then
        ip netns exec $S timeout -k 10 $((CAP + 30)) "$TERN" tun --dev tb0 --addr 10.79.1.2/24 \
            --linux-addr 10.79.1.1/24 --gw 10.79.1.1 --timeout "$CAP" --quiet --stats $TERN_ARGS \
            send 10.79.2.2:$port "$tmp/data" 2>"$tmp/tx.err" &
    else
        NSTAT_HISTORY=$tmp/nstat ip netns exec $S nstat -n
        ip netns exec $S timeout -k 10 $((CAP + 30)) python3 "$tmp/tx.py" 10.79.2.2 $port \
            "$tmp/data" "$LINUX_CC" 2>"$tmp/tx.err" &
    fi
    local tx=$!
    wait $rx
    kill $tx 2>/dev/null
    wait $tx 2>/dev/null
    local bytes sum rate how exact=no
    read -r bytes sum rate how <"$tmp/rx.out" || { echo "no receiver result" >&2; return 1; }
    [ "$bytes" -eq $((KIB * 1024)) ] && [ "$sum" = "$want" ] && exact=yes
    echo "# $row $who run $i/$RUNS: $bytes bytes, byte-exact $exact, $rate Mbit/s, $how"
    if [ "$who" = tern ]; then
        sed -n 's/^tern tun: stats \(tcp\|conn\) /#   tern \1: /p; s/^tern tun: stats device \(.*\) impair.*/#   tern device: \1/p' "$tmp/tx.err"
    else
        echo "#   linux: $(NSTAT_HISTORY=$tmp/nstat ip netns exec $S nstat -z TcpOutSegs TcpRetransSegs \
            TcpExtTCPTimeouts TcpExtTCPLossProbes TcpExtTCPSackRecovery TcpExtTCPDSACKRecv \
            TcpExtTCPSpuriousRTOs TcpExtTCPLostRetransmit TcpExtTCPSackRecoveryFail 2>/dev/null |
            awk '!/^#/ { sub(/^Tcp(Ext)?/, "", $1); printf "%s=%s ", $1, $2 }')"
    fi
    echo "$rate $exact $how" >>"$tmp/$row.$who"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

row() { # row <name> <relay options...>
    local name=$1
    shift
    start_path "$@" || { echo "could not build the path" >&2; exit 1; }
    for i in $(seq 1 "$RUNS"); do
        one_run tern "$name" "$i" || exit 1
        one_run linux "$name" "$i" || exit 1
    done
    stop_path || exit 1
    echo "# $name relay: $(tr '\n' ' ' <"$tmp/relay.err")"
    local t l note=""
    t=$(cut -d' ' -f1 "$tmp/$name.tern" | median)
    l=$(cut -d' ' -f1 "$tmp/$name.linux" | median)
    local tc lc
    tc=$(grep -c capped "$tmp/$name.tern")
    lc=$(grep -c capped "$tmp/$name.linux")
    [ "$tc$lc" != 00 ] && note="  (capped at ${CAP}s: tern $tc, linux $lc of $RUNS)"
    awk -v n="$name" -v t="$t" -v l="$l" -v note="$note" 'BEGIN {
        printf "%s tern %s Mbit/s linux %s Mbit/s ratio %.3f%s\n", n, t, l, (l > 0 ? t / l : 0), note }'
}

echo "# lossy_goodput: $KIB KiB per transfer, $RUNS runs per sender, cap ${CAP}s, seed $SEED, Linux sender's congestion control $LINUX_CC, tern options '$TERN_ARGS', rows: $ROWS"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $ROWS; do
    case $r in
    clean) row clean ;;
    loss-1pct) row loss-1pct --loss 1 ;;
    loss-5pct) row loss-5pct --loss 5 ;;
    loss-10pct) row loss-10pct --loss 10 ;;
    reorder-20pct-2ms) row reorder-20pct-2ms --reorder 20 --hold 2 ;;
    rtt-25ms) row rtt-25ms --delay 12.5 ;;
    rtt-25ms-loss-1pct) row rtt-25ms-loss-1pct --delay 12.5 --loss 1 ;;
    esac
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
