#!/usr/bin/env bash
# tests/shell/test_preload_tools.sh: nc, socat and a Python asyncio program
# on tern with libtern_preload.so, against Linux's own on the other side.
#
#   test_preload_tools.sh <tern binary> <source dir>
#
# In a namespace of its own (tern-pl-tools-PID), tern on TUN device
# tpltool0 (10.85.0.2; Linux 10.85.0.1 on the device). One preloaded
# program at a time (each brings the device up and takes it down as it
# exits). Byte-exact wherever bytes move:
#  - nc (netcat-openbsd): a preloaded `nc -N -l` fed by Linux `nc -N`, and
#    a preloaded `nc -N` client to a Linux `nc -N -l`: 4 MiB each way at
#    once in one connection, each side ending on the other's half-close
#    (-N: shutdown after its input ended); UDP (-u): one datagram each way,
#    preloaded server and preloaded client.
#  - socat: preloaded echo servers without fork (`TCP-LISTEN,reuseaddr
#    PIPE` and `SYSTEM:cat`; 4 MiB from a Linux asyncio client), a
#    preloaded client against a Linux echo (`- TCP:...`, 256 KiB), UDP
#    both ways. The fork server (`...,fork EXEC:cat`):
#    the forked child cannot use the parent's tern socket by design
#    (preload.c: EBADFD and one stderr line); checked here: the line is
#    printed, the Linux client is not left hanging, the parent goes on.
#  - Python asyncio (tests/preload/asyncio_echo.py: epoll over its own
#    AF_UNIX self-pipe plus tern sockets): a preloaded server with 8
#    concurrent Linux clients, 1 MiB each; a preloaded client (8
#    connections) against a Linux asyncio server.
# Needs root, nc (netcat-openbsd), socat, python3.
set -u
TERN=${1:?usage: test_preload_tools.sh <tern binary> <source dir>}
SRC=${2:?usage: test_preload_tools.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
. "$SRC/tests/shell/lib_test.sh" || exit 1

LIB=$(dirname "$TERN")/libtern_preload.so
AECHO=$SRC/tests/preload/asyncio_echo.py
require_root "network namespaces and TUN devices"
require_tun
require_tools nc socat python3 ip ss sha256sum
[ -f "$LIB" ] || { echo "FAIL: $LIB is not built" >&2; exit 1; }
if ! nc -h 2>&1 | grep -qi openbsd; then
    echo "FAIL: nc is not netcat-openbsd" >&2
    exit 1
fi
# The interpreter itself (not a wrapper script that would run first).
PY=$(python3 -c 'import sys; print(sys.executable)')

PRE=$LIB
if ldd "$LIB" | grep -q libasan; then
    PRE="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $LIB"
    export ASAN_OPTIONS=detect_leaks=0
fi

NS=tern-pl-tools-$$
make_ns
T=10.85.0.2
L=10.85.0.1
pl=(ip netns exec "$NS" env "LD_PRELOAD=$PRE" TERN_ADDR=$T/24 TERN_LINUX_ADDR=$L/24
    TERN_DEV=tpltool0 TERN_LINGER_MS=5000)

same_file() { cmp -s "$1" "$2"; }
listening() { ip netns exec "$NS" ss -Hltn "sport = :$1" | grep -q .; }
listening_udp() { ip netns exec "$NS" ss -Hlun "sport = :$1" | grep -q .; }
contains() { grep -q "$2" "$1"; }
# device_gone: the last preloaded program took its device with it.
device_gone() { ! ip netns exec "$NS" ip link show tpltool0 >/dev/null 2>&1; }
# finish <pid> <what>: the program exits by itself (60 s at most); its status.
finish() {
    if ! wait_for 60 exited "$1"; then
        fail "$2: did not exit"
        kill -9 "$1" 2>/dev/null
    fi
    wait "$1"
}

head -c $((4 << 20)) /dev/urandom >"$tmp/a.bin"
head -c $((4 << 20)) /dev/urandom >"$tmp/b.bin"

# ---- nc: 4 MiB each way, each role ----
# One direction per connection: the sender (-N) shuts its side down after
# its input, the receiver (-d: no input) ends at that end of stream and
# closes, which ends the sender. (nc quits once the network's end of stream
# is written out, so a connection carrying both directions at once would
# lose the tail of the slower one: that is nc, on Linux as on tern.)
nc_case() { # nc_case <port> <listener: tern|linux> <sender: tern|linux>
    local port=$1 lis=$2 snd=$3 p rc sin=/dev/null sout=/dev/null cin=/dev/null
    local cout=/dev/null name=nc-$2-$3 to=$L
    local -a srv=(nc) cli=(nc) srun=(ip netns exec "$NS") crun=(ip netns exec "$NS")
    [ "$lis" = tern ] && to=$T
    if [ "$lis" = "$snd" ]; then
        srv+=(-N) cli+=(-d) sin=$tmp/a.bin cout=$tmp/$name.recv
    else
        srv+=(-d) cli+=(-N) cin=$tmp/a.bin sout=$tmp/$name.recv
    fi
    if [ "$lis" = tern ]; then
        srun=("${pl[@]}" TERN_TRACE="$tmp/$name.trace")
    else
        crun=("${pl[@]}")
    fi
    "${srun[@]}" "${srv[@]}" -l $port <"$sin" >"$sout" 2>"$tmp/$name.err" &
    p=$!
    pids+=("$p")
    if [ "$lis" = tern ]; then
        check "$name: preloaded nc -l listening" wait_for 30 contains "$tmp/$name.trace" 'listen('
    else
        check "$name: Linux nc -l listening" wait_for 30 listening $port
    fi
    timeout 120 "${crun[@]}" "${cli[@]}" $to $port <"$cin" >"$cout" 2>"$tmp/$name.cerr"
    rc=$?
    check "$name: the client ($( [ "$lis" = tern ] && echo Linux || echo preloaded)) exits 0 (got $rc)" \
        test $rc -eq 0
    finish "$p" "$name: nc -l"
    rc=$?
    check "$name: the listener exits 0 at the end of stream (got $rc)" test $rc -eq 0
    check "nc: 4 MiB from $snd, $lis listening, byte-exact" same_file "$tmp/$name.recv" "$tmp/a.bin"
    wait_for 30 device_gone
}
nc_case 5001 tern tern
nc_case 5002 tern linux
nc_case 5003 linux tern
nc_case 5004 linux linux

# ---- nc -u: one datagram each way ----
echo "request-from-linux" >"$tmp/req"
echo "reply-from-tern" >"$tmp/rep"
"${pl[@]}" TERN_TRACE="$tmp/nu1.trace" nc -u -l 5005 <"$tmp/rep" >"$tmp/nu1.got" \
    2>"$tmp/nu1.err" &
p=$!
pids+=("$p")
check "nc -u -l under the preload: bound" wait_for 30 contains "$tmp/nu1.trace" 'bind('
ip netns exec "$NS" nc -u $T 5005 <"$tmp/req" >"$tmp/nu1.back" &
lp=$!
pids+=("$lp")
check "nc -u: Linux's datagram reached the preloaded server" \
    wait_for 30 contains "$tmp/nu1.got" request-from-linux
check "nc -u: the preloaded server's datagram reached Linux" \
    wait_for 30 contains "$tmp/nu1.back" reply-from-tern
kill "$lp" "$p" 2>/dev/null
wait "$lp" "$p" 2>/dev/null
wait_for 30 device_gone

echo "request-from-tern" >"$tmp/req2"
echo "reply-from-linux" >"$tmp/rep2"
ip netns exec "$NS" nc -u -l 5006 <"$tmp/rep2" >"$tmp/nu2.got" &
lp=$!
pids+=("$lp")
check "Linux nc -u -l bound" wait_for 30 listening_udp 5006
"${pl[@]}" nc -u $L 5006 <"$tmp/req2" >"$tmp/nu2.back" 2>"$tmp/nu2.err" &
p=$!
pids+=("$p")
check "nc -u: the preloaded client's datagram reached Linux" \
    wait_for 30 contains "$tmp/nu2.got" request-from-tern
check "nc -u: Linux's reply reached the preloaded client" \
    wait_for 30 contains "$tmp/nu2.back" reply-from-linux
kill "$lp" "$p" 2>/dev/null
wait "$lp" "$p" 2>/dev/null
wait_for 30 device_gone

# ---- socat: preloaded echo servers without fork ----
socat_server() { # socat_server <name> <port> <address 2>: preloaded, one connection
    local name=$1 port=$2 addr=$3 p rc
    # -b 4096: socat writes a pipe with blocking writes of a block once
    # poll says it has room, which for a pipe means one page: a larger
    # block can block socat for good on its own PIPE (an echo that
    # deadlocks itself, on Linux as on tern).
    "${pl[@]}" TERN_TRACE="$tmp/$name.trace" TERN_PCAP="$tmp/$name.pcap" \
        socat -b 4096 TCP-LISTEN:$port,reuseaddr "$addr" 2>"$tmp/$name.err" &
    p=$!
    pids+=("$p")
    check "socat $addr under the preload: listening" \
        wait_for 30 contains "$tmp/$name.trace" 'listen('
    # The Linux client reads while it writes (asyncio): a client that
    # blocks in a write while the echo comes back can deadlock any echo.
    timeout 120 ip netns exec "$NS" "$PY" "$AECHO" clients $T $port 1 $((4 << 20)) \
        >"$tmp/$name.out" 2>&1
    rc=$?
    check "socat $addr: 4 MiB echoed byte-exact to a Linux client (rc $rc)" \
        bash -c "[ $rc -eq 0 ] && grep -qx 'ok 1 4194304' $tmp/$name.out"
    [ $rc -ne 0 ] && tshark -n -r "$tmp/$name.pcap" 2>/dev/null | tail -n 12 | sed 's/^/  /'
    finish "$p" "preloaded socat $addr"
    rc=$?
    check "preloaded socat $addr exits 0 after its one connection (got $rc)" test $rc -eq 0
    wait_for 30 device_gone
}
socat_server so1 5010 PIPE
socat_server so2 5011 SYSTEM:cat

# ---- socat fork server: the child cannot use the parent's socket ----
echo "to-a-forked-child" >"$tmp/small"
"${pl[@]}" TERN_TRACE="$tmp/sof.trace" socat TCP-LISTEN:5012,reuseaddr,fork EXEC:cat \
    2>"$tmp/sof.err" &
p=$!
pids+=("$p")
check "socat fork server under the preload: listening" \
    wait_for 30 contains "$tmp/sof.trace" 'listen('
start=$SECONDS
timeout 60 ip netns exec "$NS" socat -t 30 - TCP:$T:5012 <"$tmp/small" >"$tmp/sof.out" \
    2>"$tmp/sof.client.err"
rc=$?
check "fork server: the Linux client is not left hanging (rc $rc, $((SECONDS - start)) s)" \
    test $rc -ne 124
check "fork server: no echo from the forked child" test ! -s "$tmp/sof.out"
# (the parent closes its copy at once: the child's line may come after
# the client ended)
check "fork server: a clear 'tern-preload: ... forked child' line" \
    wait_for 30 contains "$tmp/sof.err" '^tern-preload: .*forked child'
check "fork server: one such line" \
    test "$(grep -c '^tern-preload: .*forked child' "$tmp/sof.err")" -eq 1
check "fork server: the parent still runs" kill -0 "$p"
kill "$p" 2>/dev/null
wait "$p" 2>/dev/null
wait_for 30 device_gone

# ---- socat: preloaded client, Linux echo (cat behind a socket pair) ----
ip netns exec "$NS" socat TCP-LISTEN:5013,reuseaddr,fork EXEC:cat &
lp=$!
pids+=("$lp")
check "Linux socat echo listening" wait_for 30 listening 5013
# socat as the client writes and reads in one thread with blocking writes:
# 256 KiB, less than the buffers on the way hold, so that it never waits
# in a write for its own unread echo.
head -c $((256 << 10)) "$tmp/b.bin" >"$tmp/b256.bin"
timeout 120 "${pl[@]}" TERN_PCAP="$tmp/so3.pcap" socat -t 30 - TCP:$L:5013 <"$tmp/b256.bin" \
    >"$tmp/so3.recv" 2>"$tmp/so3.err"
rc=$?
check "preloaded socat client exits 0 (got $rc)" test $rc -eq 0
check "socat: 256 KiB through a Linux echo, byte-exact" same_file "$tmp/so3.recv" "$tmp/b256.bin" ||
    tshark -n -r "$tmp/so3.pcap" 2>/dev/null | tail -n 12 | sed 's/^/  /'
kill "$lp" 2>/dev/null
wait "$lp" 2>/dev/null
wait_for 30 device_gone

# ---- socat UDP, both ways ----
echo "datagram-to-tern" >"$tmp/d1"
"${pl[@]}" TERN_TRACE="$tmp/su1.trace" socat UDP-LISTEN:5014,reuseaddr PIPE 2>"$tmp/su1.err" &
p=$!
pids+=("$p")
check "socat UDP-LISTEN under the preload: bound" wait_for 30 contains "$tmp/su1.trace" 'bind('
ip netns exec "$NS" socat -t 30 - UDP:$T:5014 <"$tmp/d1" >"$tmp/su1.out" &
lp=$!
pids+=("$lp")
check "socat UDP: Linux's datagram echoed by the preloaded socat" \
    wait_for 30 contains "$tmp/su1.out" datagram-to-tern
check "socat UDP: byte-exact" same_file "$tmp/su1.out" "$tmp/d1"
kill "$lp" "$p" 2>/dev/null
wait "$lp" "$p" 2>/dev/null
wait_for 30 device_gone

echo "datagram-from-tern" >"$tmp/d2"
ip netns exec "$NS" socat UDP-LISTEN:5015,reuseaddr PIPE &
lp=$!
pids+=("$lp")
check "Linux socat UDP-LISTEN bound" wait_for 30 listening_udp 5015
"${pl[@]}" socat -t 30 - UDP:$L:5015 <"$tmp/d2" >"$tmp/su2.out" 2>"$tmp/su2.err" &
p=$!
pids+=("$p")
check "socat UDP: the preloaded client's datagram echoed by Linux" \
    wait_for 30 contains "$tmp/su2.out" datagram-from-tern
check "socat UDP (preloaded client): byte-exact" same_file "$tmp/su2.out" "$tmp/d2"
kill "$lp" "$p" 2>/dev/null
wait "$lp" "$p" 2>/dev/null
wait_for 30 device_gone

# ---- Python asyncio ----
"${pl[@]}" "$PY" "$AECHO" server 5020 "$tmp/as1.ready" >"$tmp/as1.log" 2>&1 &
p=$!
pids+=("$p")
check "asyncio server under the preload: listening" wait_for 30 test -s "$tmp/as1.ready"
timeout 180 ip netns exec "$NS" "$PY" "$AECHO" clients $T 5020 8 $((1 << 20)) >"$tmp/as1.out" 2>&1
rc=$?
sed 's/^/  /' "$tmp/as1.out"
check "asyncio: 8 concurrent Linux clients, 1 MiB each, byte-exact (rc $rc)" \
    bash -c "[ $rc -eq 0 ] && grep -qx 'ok 8 1048576' $tmp/as1.out"
check "asyncio server still runs" kill -0 "$p"
kill "$p" 2>/dev/null
wait "$p" 2>/dev/null
wait_for 30 device_gone

ip netns exec "$NS" "$PY" "$AECHO" server 5021 "$tmp/as2.ready" >"$tmp/as2.log" 2>&1 &
lp=$!
pids+=("$lp")
check "Linux asyncio server listening" wait_for 30 test -s "$tmp/as2.ready"
timeout 180 "${pl[@]}" "$PY" "$AECHO" clients $L 5021 8 $((1 << 20)) >"$tmp/as2.out" 2>&1
rc=$?
sed 's/^/  /' "$tmp/as2.out"
check "asyncio client under the preload: 8 connections, 1 MiB each, byte-exact (rc $rc)" \
    bash -c "[ $rc -eq 0 ] && grep -qx 'ok 8 1048576' $tmp/as2.out"
kill "$lp" 2>/dev/null
wait "$lp" 2>/dev/null

summary
