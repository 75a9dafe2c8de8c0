#!/bin/bash
# tests/shell/test_preload_redis.sh: unmodified redis on tern through
# libtern_preload.so (issue 15, "Done when": a preloaded redis-server passes
# redis-benchmark run from Linux, and a preloaded redis-cli talks to a Linux
# redis), in a network namespace this test creates:
#   a. a preloaded redis-server (tern on TUN) passes `redis-benchmark -q -n
#      100000` run from Linux: every default test reports a nonzero rate,
#      nothing reports an error, redis-benchmark exits 0;
#   b. Linux redis-cli SETs a value of 1 MiB of random bytes into it and
#      GETs it back byte-exact;
#   c. BGSAVE: redis forks a child that inherits the tern sockets, closes
#      them (closing a parent's tern socket in a child closes only the
#      child's fd: docs/preload.md), writes the RDB file and _exits. The
#      server survives, keeps serving (new connections, the 1 MiB value
#      intact) and prints no tern-preload complaint; SIGTERM then shuts it
#      down with status 0 (the library's exit path);
#   d. a preloaded redis-cli against a Linux redis-server (kernel sockets,
#      bound to 0.0.0.0): SET/GET/INCR, a 1 MiB value byte-exact each way,
#      --pipe with 5000 commands, SUBSCRIBE receiving a PUBLISH from Linux;
#   e. the same over TAP (TERN_MODE=tap, ARP in front of IP): a shorter
#      benchmark against a preloaded redis-server, the 1 MiB round trips,
#      --pipe;
#   f. replication both ways: a preloaded replica of a Linux master, and a
#      Linux replica of a preloaded master (diskless: a forked child writes
#      the RDB into a pipe that the master's main thread sends over tern);
#      the replica gets every key and the 1 MiB value byte-exact, and a
#      later write reaches it;
#   g. a preloaded redis-server with an I/O thread (--io-threads 2
#      --io-threads-do-reads yes: two threads read and write the clients'
#      tern sockets) passes a shorter benchmark, the I/O thread did read and
#      write, and the 1 MiB value comes back byte-exact;
#   h. `redis-server --daemonize yes`: redis forks into the background
#      before its first socket; the daemon (a child of a process that never
#      called into tern) brings up a stack of its own and serves, and
#      SHUTDOWN ends it.
#
# Usage: bash test_preload_redis.sh <tern binary> <source dir>
#   (libtern_preload.so is found next to the tern binary.)
# Environment: REDIS_N (default 100000) requests per test of the benchmark
#              of a.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, redis-server,
# redis-cli, redis-benchmark (Debian: redis-server, redis-tools). Anything
# missing is a FAILURE, not a skip. Everything runs in one network namespace,
# tern-pl-redis-<pid>, deleted by the EXIT trap even on failure; the
# addresses (10.81.0.0/16) exist only inside it, and the ports (7379..7382)
# and directories are the test's own (a system redis service that the
# package started is in another namespace and is never used). Waits poll
# for events (a reply, a listening port, a log line) with generous bounds.
#
# In the sanitizer build (libtern_preload.so linked against libasan) the
# programs, which are not sanitized, get the sanitizer runtimes preloaded in
# front of the library, leak checking off (their own leaks are not tern's),
# and every log is searched for sanitizer reports.
set -u

TERN=${1:?usage: test_preload_redis.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
LIB=$(dirname "$TERN")/libtern_preload.so
N=${REDIS_N:-100000}
NS=tern-pl-redis-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1 # check, tmp, cleanup, wait_for, stop...

require_tools ip redis-server redis-cli redis-benchmark ss timeout cmp head tr
require_root "a network namespace and TUN/TAP devices"
require_tun
if [ ! -f "$LIB" ]; then
    echo "FAIL: $LIB is missing (CMake target tern_preload)" >&2
    exit 1
fi
PRELOAD=$LIB
if ldd "$LIB" | grep -q libasan; then
    require_tools gcc
    PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $LIB"
fi
make_ns

# tern_env <mode> <dev> <net>: sets PL, the command prefix that runs a
# program in the namespace under the preload, tern at <net>.2 on device
# <dev> (TUN or TAP), Linux at <net>.1.
tern_env() {
    PL=(ip netns exec "$NS" env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0
        TERN_MODE="$1" TERN_DEV="$2" TERN_ADDR="$3.2/24" TERN_LINUX_ADDR="$3.1/24")
}
# lcli <host> <port> <args...>: Linux redis-cli in the namespace.
lcli() {
    local h=$1 p=$2
    shift 2
    timeout 60 ip netns exec "$NS" redis-cli -h "$h" -p "$p" "$@"
}
answers() { # answers <expected> <command...>: the command prints exactly that
    local want=$1 got
    shift
    got=$("$@" 2>&1)
    [ "$got" = "$want" ] || {
        echo "  want '$want', got '$got'" >&2
        return 1
    }
}
listening() { ip netns exec "$NS" ss -Hltn "sport = :$1" | grep -q .; }
no_complaint() { # no_complaint <log...>: neither tern-preload nor a sanitizer spoke
    ! grep -E 'tern-preload:|AddressSanitizer|runtime error:|LeakSanitizer' "$@" >&2
}

head -c 1048576 /dev/urandom >"$tmp/value.bin"
# the 1 MiB value as redis-cli prints it (raw, since stdout is not a tty):
# the bytes and a newline
{ cat "$tmp/value.bin" && echo; } >"$tmp/value.nl"

# bench_ok <out>: redis-benchmark -q output: every result line gives a
# nonzero rate, every test in <want> has one, nothing reports an error.
bench_ok() {
    local out=$1 want=$2 t ok=0
    # -q prints progress lines (rps=...) ended by \r and one result per test
    tr '\r' '\n' <"$out" | grep -v 'rps=' | grep -v '^[[:space:]]*$' >"$out.results"
    if grep -qi 'error' "$out"; then
        echo "  the benchmark reported errors:" >&2
        grep -i 'error' "$out" | head -5 >&2
        ok=1
    fi
    if grep -Ev '^[^:]+: [0-9]+(\.[0-9]+)? requests per second' "$out.results" >&2; then
        echo "  (lines above are not results)" >&2
        ok=1
    fi
    if grep -E ': 0(\.0+)? requests per second' "$out.results" >&2; then
        ok=1
    fi
    for t in $want; do
        grep -qE "^$t( \([^)]*\))?: [0-9.]+ requests per second" "$out.results" || {
            echo "  no result for $t" >&2
            ok=1
        }
    done
    return $ok
}
DEFAULT_TESTS="PING_INLINE PING_MBULK SET GET INCR LPUSH RPUSH LPOP RPOP SADD HSET SPOP ZADD
ZPOPMIN LRANGE_100 LRANGE_300 LRANGE_500 LRANGE_600 MSET"

# server_suite <mode> <dev> <net> <port> <benchmark args...>: a-c against a
# preloaded redis-server.
server_suite() {
    local mode=$1 dev=$2 net=$3 port=$4
    shift 4
    local ip=$net.2 log=$tmp/server-$mode.log dir=$tmp/rdb-$mode
    mkdir -p "$dir"
    tern_env "$mode" "$dev" "$net"
    "${PL[@]}" redis-server --port "$port" --save "" --appendonly no \
        --protected-mode no --dir "$dir" >"$log" 2>&1 &
    local spid=$!
    pids+=("$spid")
    check "$mode: a preloaded redis-server answers PING from Linux" \
        wait_for 30 answers PONG lcli "$ip" "$port" ping

    # a. the benchmark: 50 clients (its default) over tern
    local out=$tmp/bench-$mode.out
    timeout 400 ip netns exec "$NS" redis-benchmark -h "$ip" -p "$port" -q "$@" >"$out" 2>&1
    local rc=$?
    check "$mode: redis-benchmark -q $* exits 0 (status $rc)" test $rc -eq 0
    local want=$DEFAULT_TESTS
    if [ "$mode" = tap ]; then want="SET GET LRANGE_100 MSET"; fi
    check "$mode: every benchmark test reports requests per second, none an error" \
        bench_ok "$out" "$want"
    grep 'requests per second' "$out.results" | sed "s/^/  $mode: /"

    # b. 1 MiB of random bytes in and out, byte-exact
    check "$mode: Linux redis-cli SETs 1 MiB of random bytes" \
        answers OK lcli "$ip" "$port" -x set big <"$tmp/value.bin"
    check "$mode: STRLEN is 1048576" answers 1048576 lcli "$ip" "$port" strlen big
    lcli "$ip" "$port" --raw get big >"$tmp/got.bin"
    check "$mode: GET returns the 1 MiB byte-exact" cmp "$tmp/got.bin" "$tmp/value.nl"

    # c. BGSAVE: a forked child holding copies of the tern sockets
    check "$mode: BGSAVE starts" answers "Background saving started" lcli "$ip" "$port" bgsave
    saved() { lcli "$ip" "$port" info persistence | tr -d '\r' |
        grep -qx 'rdb_bgsave_in_progress:0' && grep -q 'Background saving terminated' "$log"; }
    check "$mode: the BGSAVE child finishes" wait_for 60 saved
    check "$mode: the BGSAVE succeeded" grep -q 'Background saving terminated with success' "$log"
    check "$mode: the RDB file was written" test -s "$dir/dump.rdb"
    check "$mode: the server survives its child" kill -0 "$spid"
    check "$mode: and keeps serving new connections: SET" answers OK lcli "$ip" "$port" set after yes
    check "$mode: and GET" answers yes lcli "$ip" "$port" get after
    lcli "$ip" "$port" --raw get big >"$tmp/got.bin"
    check "$mode: the 1 MiB value is intact after BGSAVE" cmp "$tmp/got.bin" "$tmp/value.nl"
    timeout 120 ip netns exec "$NS" redis-benchmark -h "$ip" -p "$port" -q -n 10000 -t set,get \
        >"$out.after" 2>&1
    rc=$?
    check "$mode: a benchmark after BGSAVE passes (status $rc)" \
        eval "[ $rc -eq 0 ] && bench_ok '$out.after' 'SET GET'"
    stop "$spid"
    rc=$?
    check "$mode: redis-server shuts down on SIGTERM with status 0 (status $rc)" test $rc -eq 0
    check "$mode: the server's log has no tern-preload or sanitizer complaint" no_complaint "$log"
}

# client_suite <mode> <dev> <net> <port> <subscribe: yes|no>: d against a
# Linux redis-server, each redis-cli a preloaded program of its own. The
# device exists only while a preloaded program runs, so the checks made
# from Linux go to the server over loopback.
client_suite() {
    local mode=$1 dev=$2 net=$3 port=$4 sub=$5
    local dir=$tmp/linux-$mode log=$tmp/linux-server-$mode.log clog=$tmp/cli-$mode.err
    mkdir -p "$dir"
    ip netns exec "$NS" redis-server --port "$port" --bind 0.0.0.0 --save "" --appendonly no \
        --protected-mode no --dir "$dir" >"$log" 2>&1 &
    local lpid=$!
    pids+=("$lpid")
    check "$mode: the Linux redis-server listens" wait_for 30 listening "$port"
    tern_env "$mode" "$dev" "$net"
    pcli() { timeout 60 "${PL[@]}" redis-cli -h "$net.1" -p "$port" "$@" 2>>"$clog"; }

    check "$mode: preloaded redis-cli SET" answers OK pcli set counter 41
    check "$mode: preloaded redis-cli GET" answers 41 pcli get counter
    check "$mode: preloaded redis-cli INCR" answers 42 pcli incr counter
    check "$mode: preloaded redis-cli SETs 1 MiB of random bytes" \
        answers OK pcli -x set big <"$tmp/value.bin"
    check "$mode: Linux sees the 1 MiB byte-exact" \
        eval "lcli 127.0.0.1 $port --raw get big | cmp - '$tmp/value.nl'"
    pcli --raw get big >"$tmp/got.bin"
    check "$mode: preloaded redis-cli GETs the 1 MiB byte-exact" cmp "$tmp/got.bin" "$tmp/value.nl"

    local k
    for k in $(seq 1 5000); do printf 'SET pipe:%d v%d\r\n' "$k" "$k"; done >"$tmp/pipe.txt"
    pcli --pipe <"$tmp/pipe.txt" >"$tmp/pipe-$mode.out"
    local rc=$?
    check "$mode: preloaded redis-cli --pipe with 5000 commands exits 0 (status $rc)" test $rc -eq 0
    check "$mode: --pipe: 0 errors, 5000 replies" grep -q 'errors: 0, replies: 5000' "$tmp/pipe-$mode.out"
    check "$mode: the Linux server holds the 5000 keys" answers 5002 lcli 127.0.0.1 "$port" dbsize
    check "$mode: the last piped key" answers v5000 lcli 127.0.0.1 "$port" get pipe:5000

    if [ "$sub" = yes ]; then
        "${PL[@]}" redis-cli -h "$net.1" -p "$port" subscribe news \
            >"$tmp/sub-$mode.out" 2>>"$clog" &
        local subpid=$!
        pids+=("$subpid")
        subscribed() { [ "$(lcli 127.0.0.1 "$port" pubsub numsub news | tail -n 1)" = 1 ]; }
        check "$mode: a preloaded redis-cli SUBSCRIBEs" wait_for 30 subscribed
        check "$mode: Linux PUBLISHes to one subscriber" answers 1 lcli 127.0.0.1 "$port" publish news hello-from-linux
        check "$mode: the preloaded subscriber receives the message" \
            wait_for 30 grep -qx hello-from-linux "$tmp/sub-$mode.out"
        stop "$subpid"
    fi
    stop "$lpid"
    check "$mode: the preloaded redis-cli runs printed no tern-preload or sanitizer complaint" \
        no_complaint "$clog"
}

# repl_suite <net> <master port> <replica port> <which is tern's: master|replica>
repl_suite() {
    local net=$1 mport=$2 rport=$3 who=$4 mhost rhost
    local log=$tmp/repl-$who.log mlog=$tmp/repl-master-$who.log rlog=$tmp/repl-replica-$who.log
    mkdir -p "$tmp/repl-$who-m" "$tmp/repl-$who-r"
    local common=(--save "" --appendonly no --protected-mode no --repl-diskless-sync yes
        --repl-diskless-sync-delay 0)
    tern_env tun "tplp${mport: -1}" "$net"
    if [ "$who" = master ]; then
        "${PL[@]}" redis-server --port "$mport" "${common[@]}" --dir "$tmp/repl-$who-m" >"$mlog" 2>&1 &
        mhost=$net.2 rhost=127.0.0.1
    else
        ip netns exec "$NS" redis-server --port "$mport" --bind 0.0.0.0 "${common[@]}" \
            --dir "$tmp/repl-$who-m" >"$mlog" 2>&1 &
        mhost=127.0.0.1 rhost=$net.2
    fi
    local mpid=$!
    pids+=("$mpid")
    check "f ($who): the master answers" wait_for 30 answers PONG lcli "$mhost" "$mport" ping
    local k
    for k in $(seq 1 2000); do printf 'SET repl:%d %d\r\n' "$k" "$k"; done |
        lcli "$mhost" "$mport" --pipe >"$log" 2>&1
    check "f ($who): 2000 keys and 1 MiB into the master" \
        answers OK lcli "$mhost" "$mport" -x set big <"$tmp/value.bin"
    if [ "$who" = master ]; then
        ip netns exec "$NS" redis-server --port "$rport" --replicaof "$net.2" "$mport" \
            "${common[@]}" --dir "$tmp/repl-$who-r" >"$rlog" 2>&1 &
    else
        "${PL[@]}" redis-server --port "$rport" --replicaof "$net.1" "$mport" "${common[@]}" \
            --dir "$tmp/repl-$who-r" >"$rlog" 2>&1 &
    fi
    local rpid=$!
    pids+=("$rpid")
    linked() { lcli "$rhost" "$rport" info replication | tr -d '\r' | grep -qx 'master_link_status:up'; }
    check "f ($who): the replica completes its full sync" wait_for 60 linked
    check "f ($who): the replica holds the 2001 keys" answers 2001 lcli "$rhost" "$rport" dbsize
    lcli "$rhost" "$rport" --raw get big >"$tmp/got.bin"
    check "f ($who): the replica's 1 MiB value is byte-exact" cmp "$tmp/got.bin" "$tmp/value.nl"
    lcli "$mhost" "$mport" set later yes >/dev/null
    check "f ($who): a later write reaches the replica" wait_for 30 answers yes lcli "$rhost" "$rport" get later
    stop "$rpid"
    stop "$mpid"
    if [ "$who" = master ]; then
        check "f ($who): the master synced through a forked child writing to a pipe (diskless)" \
            grep -q 'Starting BGSAVE for SYNC with target: replicas sockets' "$mlog"
    fi
    check "f ($who): no tern-preload or sanitizer complaint" no_complaint "$log" "$mlog" "$rlog"
}

# threads_suite <net> <port>: g.
threads_suite() {
    local net=$1 port=$2 ip=$1.2 log=$tmp/threads-server.log
    mkdir -p "$tmp/threads"
    tern_env tun tplt0 "$net"
    "${PL[@]}" redis-server --port "$port" --save "" --appendonly no --protected-mode no \
        --io-threads 2 --io-threads-do-reads yes --dir "$tmp/threads" >"$log" 2>&1 &
    local spid=$!
    pids+=("$spid")
    check "g: a preloaded redis-server with an I/O thread answers" \
        wait_for 30 answers PONG lcli "$ip" "$port" ping
    local out=$tmp/bench-threads.out
    timeout 400 ip netns exec "$NS" redis-benchmark -h "$ip" -p "$port" -q -n 20000 \
        -t set,get,lrange_100 >"$out" 2>&1
    local rc=$?
    check "g: redis-benchmark exits 0 (status $rc)" test $rc -eq 0
    check "g: every benchmark test reports requests per second, none an error" \
        bench_ok "$out" "SET GET LRANGE_100"
    grep 'requests per second' "$out.results" | sed "s/^/  threads: /"
    lcli "$ip" "$port" info stats | tr -d '\r' >"$tmp/threads-stats.txt"
    check "g: the I/O thread read from tern sockets" \
        grep -Eq '^io_threaded_reads_processed:[1-9]' "$tmp/threads-stats.txt"
    check "g: the I/O thread wrote to tern sockets" \
        grep -Eq '^io_threaded_writes_processed:[1-9]' "$tmp/threads-stats.txt"
    check "g: Linux redis-cli SETs 1 MiB" answers OK lcli "$ip" "$port" -x set big <"$tmp/value.bin"
    lcli "$ip" "$port" --raw get big >"$tmp/got.bin"
    check "g: GET returns the 1 MiB byte-exact" cmp "$tmp/got.bin" "$tmp/value.nl"
    stop "$spid"
    rc=$?
    check "g: redis-server shuts down on SIGTERM with status 0 (status $rc)" test $rc -eq 0
    check "g: no tern-preload or sanitizer complaint" no_complaint "$log"
}

# daemon_suite <net> <port>: h.
daemon_suite() {
    local net=$1 port=$2 ip=$1.2 log=$tmp/daemon-server.log
    mkdir -p "$tmp/daemon"
    tern_env tun tpld0 "$net"
    timeout 60 "${PL[@]}" redis-server --port "$port" --save "" --appendonly no \
        --protected-mode no --daemonize yes --pidfile "$tmp/daemon.pid" --logfile "$log" \
        --dir "$tmp/daemon" 2>"$tmp/daemon-launch.err"
    local rc=$?
    check "h: redis-server --daemonize yes returns 0 (status $rc)" test $rc -eq 0
    check "h: the daemon answers PING over tern" wait_for 30 answers PONG lcli "$ip" "$port" ping
    check "h: the daemon SETs 1 MiB" answers OK lcli "$ip" "$port" -x set big <"$tmp/value.bin"
    lcli "$ip" "$port" --raw get big >"$tmp/got.bin"
    check "h: and GETs it back byte-exact" cmp "$tmp/got.bin" "$tmp/value.nl"
    local dpid
    dpid=$(cat "$tmp/daemon.pid" 2>/dev/null)
    check "h: the daemon wrote its pid file (${dpid:-none})" test -n "$dpid"
    lcli "$ip" "$port" shutdown nosave >/dev/null 2>&1
    check "h: SHUTDOWN ends the daemon" wait_for 30 exited "${dpid:-0}"
    check "h: no tern-preload or sanitizer complaint" no_complaint "$log" "$tmp/daemon-launch.err"
}

server_suite tun tplr0 10.81.0 7379 -n "$N"
client_suite tun tplc0 10.81.1 7380 yes
server_suite tap tplr1 10.81.2 7381 -n 20000 -t set,get,lrange_100,mset
client_suite tap tplc1 10.81.3 7382 no
repl_suite 10.81.4 7383 7384 replica
repl_suite 10.81.5 7385 7386 master
threads_suite 10.81.6 7387
daemon_suite 10.81.7 7388

summary
