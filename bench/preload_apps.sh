#!/bin/bash
# bench/preload_apps.sh: unmodified nginx and redis on tern (through
# libtern_preload.so, tern on a TUN device) beside the same programs on the
# kernel's sockets over a veth pair, in one run on the same machine.
#
# Usage: sudo bash bench/preload_apps.sh [--quick] [libtern_preload.so]
#   (default ./build/libtern_preload.so)
#   --quick  a functional check: one short run of each (RUNS=1, WRK_SECS=1,
#            REDIS_N=5000)
# Environment: RUNS (default 5) runs of each side, alternated tern, Linux,
#   tern, Linux...; WRK_SECS (default 5) length of a wrk run; WRK_CONNS
#   (default 32) and WRK_THREADS (default 1) its connections and threads;
#   FILE_KB (default 16) size of the file wrk asks for; REDIS_N (default
#   100000) requests per redis-benchmark test, REDIS_C (default 50) its
#   clients.
#
# Rows (one line each, medians of RUNS; ratio = tern / linux):
#   nginx-wrk         wrk requests/s against nginx (sendfile on, one process,
#                     no access log): tern = nginx preloaded, wrk on Linux
#                     over TUN; linux = nginx on the kernel in another
#                     namespace, wrk over veth
#   redis-server-SET  redis-benchmark -t set,get ops/s: tern = redis-server
#   redis-server-GET  preloaded, redis-benchmark on Linux over TUN
#   redis-client-SET  tern = redis-benchmark preloaded, redis-server on
#   redis-client-GET  Linux over TUN
#   Each linux figure beside them: both programs on the kernel over veth,
#   measured in runs alternated with the tern runs of the same row.
# printed as
#   ROW tern X linux Y ratio Z
# Lines starting with '#' give each run's figure and the load average
# before and after. The run fails (exit 1, a line "FAILED: ...") when a
# request fails: a wrk socket error or non-2xx answer, a redis-benchmark
# that exits non-zero or prints no figure, or a server that dies.
#
# Everything happens in two namespaces, tern-bpa-<pid>-{a,b}, removed on exit
# (also on Ctrl-C); addresses from 10.80.0.0/16 exist inside them only:
#   a: tern TUN tpa0 10.80.0.2 (nginx), tpa1 10.80.2.2 (redis-server),
#      tpa2 10.80.3.2 (redis-benchmark); Linux's ends .1; veth vpa0 10.80.1.1
#   b: veth vpa1 10.80.1.2 (Linux nginx, Linux redis-server)
# The load generators (wrk, Linux redis-benchmark) run in a, so on both
# sides client and server share the machine's cores the same way.
set -u
QUICK=0
if [ "${1:-}" = --quick ]; then
    QUICK=1
    shift
fi
LIB=$(readlink -f "${1:-./build/libtern_preload.so}")
if [ $QUICK = 1 ]; then
    RUNS=${RUNS:-1} WRK_SECS=${WRK_SECS:-1} REDIS_N=${REDIS_N:-5000}
else
    RUNS=${RUNS:-5} WRK_SECS=${WRK_SECS:-5} REDIS_N=${REDIS_N:-100000}
fi
WRK_CONNS=${WRK_CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
FILE_KB=${FILE_KB:-16}
REDIS_C=${REDIS_C:-50}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -f "$LIB" ] || { echo "no libtern_preload.so at $LIB" >&2; exit 1; }
for tool in ip nginx wrk redis-server redis-benchmark curl cmp ss; do
    command -v $tool >/dev/null || { echo "FAILED: $tool is not installed" >&2; exit 1; }
done
PRELOAD=$LIB
if ldd "$LIB" | grep -q libasan; then # a sanitizer build of the library
    PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $LIB"
fi

tmp=$(mktemp -d)
A=tern-bpa-$$-a
B=tern-bpa-$$-b
bad=0
cleanup() {
    local n p
    for n in $A $B; do
        for p in $(ip netns pids $n 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del $n 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
failed() {
    echo "FAILED: $*"
    bad=1
}
ip netns add $A && ip netns add $B || exit 1
for n in $A $B; do
    ip netns exec $n ip link set lo up
    ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip netns exec $A ip link add vpa0 type veth peer name vpa1 netns $B || exit 1
ip netns exec $A ip addr add 10.80.1.1/24 dev vpa0
ip netns exec $B ip addr add 10.80.1.2/24 dev vpa1
ip netns exec $A ip link set vpa0 up
ip netns exec $B ip link set vpa1 up

wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}
alive() { kill -0 "$1" 2>/dev/null; }
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
# pl <dev> <net>: sets PL to the prefix that runs a command in namespace a on
# tern, TUN <dev>, tern 10.80.<net>.2, Linux 10.80.<net>.1 (ip execs env,
# which execs the command: $! is the program's pid).
pl() {
    PL=(ip netns exec "$A" env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 TERN_DEV="$1"
        "TERN_ADDR=10.80.$2.2/24" "TERN_LINUX_ADDR=10.80.$2.1/24")
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(nproc) CPUs; RUNS=$RUNS; wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECS}s, ${FILE_KB} KiB file;" \
    "redis-benchmark -t set,get -n $REDIS_N -c $REDIS_C"

# ---- nginx ---------------------------------------------------------------------

mkdir -p "$tmp/www"
head -c $((FILE_KB * 1024)) /dev/urandom >"$tmp/www/file"
ngconf() { # ngconf <dir> <listen>
    mkdir -p "$1"
    cat >"$1/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
error_log $1/error.log warn;
pid $1/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    sendfile on;
    keepalive_requests 100000;
    server {
        listen $2;
        root $tmp/www;
    }
}
EOF
}
ngconf "$tmp/ng-tern" 10.80.0.2:8080
ngconf "$tmp/ng-linux" 10.80.1.2:8080
pl tpa0 0
"${PL[@]}" nginx -c "$tmp/ng-tern/nginx.conf" -e "$tmp/ng-tern/error.log" >"$tmp/ng-tern.out" 2>&1 &
ng_tern=$!
ip netns exec $B nginx -c "$tmp/ng-linux/nginx.conf" -e "$tmp/ng-linux/error.log" >"$tmp/ng-linux.out" 2>&1 &
ng_linux=$!
fetch_ok() { # fetch_ok <ip>: the file comes back byte-exact
    ip netns exec $A curl -sf -m 5 -o "$tmp/got" "http://$1:8080/file" && cmp -s "$tmp/got" "$tmp/www/file"
}
wait_for 60 fetch_ok 10.80.0.2 || { failed "preloaded nginx does not serve the file"; cat "$tmp/ng-tern.out"; exit 1; }
wait_for 60 fetch_ok 10.80.1.2 || { failed "Linux nginx does not serve the file"; exit 1; }

wrk_run() { # wrk_run <side> <ip> <run>: prints the run's req/s
    local out="$tmp/wrk-$1-$3"
    # (in the background, and waited for: a Ctrl-C then acts at once)
    ip netns exec $A timeout $((WRK_SECS + 60)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECS}s" \
        "http://$2:8080/file" >"$out" 2>&1 &
    wait $!
    local rc=$? rps
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    echo "# nginx-wrk $1 run $3/$RUNS: ${rps:-none} req/s" \
        "($(awk '/requests in/ { print $1, "requests" }' "$out"))" >&2
    if [ $rc -ne 0 ] || [ -z "$rps" ] || grep -Eq 'Socket errors|Non-2xx' "$out"; then
        failed "nginx-wrk $1 run $3: wrk status $rc: $(grep -E 'Socket errors|Non-2xx' "$out")" >&2
        return
    fi
    echo "$rps" >>"$tmp/nginx-wrk.$1"
}
for i in $(seq 1 "$RUNS"); do
    wrk_run tern 10.80.0.2 "$i"
    wrk_run linux 10.80.1.2 "$i"
done 2>&1
alive $ng_tern || failed "the preloaded nginx died"
alive $ng_linux || failed "the Linux nginx died"
grep -Eq '\[(crit|alert|emerg)\]' "$tmp/ng-tern/error.log" &&
    failed "preloaded nginx's error log: $(grep -E '\[(crit|alert|emerg)\]' "$tmp/ng-tern/error.log" | head -3)"
kill $ng_tern $ng_linux 2>/dev/null
wait $ng_tern $ng_linux

# ---- redis ---------------------------------------------------------------------

# Servers: preloaded on tpa1 (port 6379), Linux in a (6380, for the
# preloaded client over tpa2) and in b (6380, over veth).
rs_args=(--save '' --appendonly no --protected-mode no --daemonize no --loglevel warning)
pl tpa1 2
"${PL[@]}" redis-server --bind 10.80.2.2 --port 6379 "${rs_args[@]}" >"$tmp/rs-tern.log" 2>&1 &
rs_tern=$!
ip netns exec $A redis-server --bind 0.0.0.0 --port 6380 "${rs_args[@]}" >"$tmp/rs-a.log" 2>&1 &
rs_a=$!
ip netns exec $B redis-server --bind 0.0.0.0 --port 6380 "${rs_args[@]}" >"$tmp/rs-b.log" 2>&1 &
rs_b=$!
pinged() { ip netns exec $A redis-cli -h "$1" -p "$2" ping | grep -q PONG; }
wait_for 60 pinged 10.80.2.2 6379 || { failed "the preloaded redis-server does not answer"; cat "$tmp/rs-tern.log"; exit 1; }
wait_for 60 listening $A 6380 || { failed "redis-server in a does not listen"; exit 1; }
wait_for 60 listening $B 6380 || { failed "redis-server in b does not listen"; exit 1; }

# bench_run <row> <side> <run> <command...>: redis-benchmark --csv; records
# SET and GET ops/s of the run in <row>-SET.<side> and <row>-GET.<side>.
bench_run() {
    local row=$1 side=$2 run=$3
    shift 3
    local out="$tmp/$row-$side-$run"
    timeout 300 "$@" -t set,get -n "$REDIS_N" -c "$REDIS_C" --csv >"$out" 2>"$out.err" &
    wait $!
    local rc=$? t v
    for t in SET GET; do
        v=$(awk -F'"' -v t=$t '$2 == t { print $4 }' "$out")
        echo "# $row-$t $side run $run/$RUNS: ${v:-none} ops/s"
        if [ $rc -ne 0 ] || ! [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
            failed "$row-$t $side run $run: redis-benchmark status $rc: $(head -c 300 "$out.err")"
            continue
        fi
        echo "$v" >>"$tmp/$row-$t.$side"
    done
}
for i in $(seq 1 "$RUNS"); do
    bench_run redis-server tern "$i" ip netns exec $A redis-benchmark -h 10.80.2.2 -p 6379
    bench_run redis-server linux "$i" ip netns exec $A redis-benchmark -h 10.80.1.2 -p 6380
done
pl tpa2 3
for i in $(seq 1 "$RUNS"); do
    bench_run redis-client tern "$i" "${PL[@]}" redis-benchmark -h 10.80.3.1 -p 6380
    bench_run redis-client linux "$i" ip netns exec $A redis-benchmark -h 10.80.1.2 -p 6380
done
alive $rs_tern || failed "the preloaded redis-server died"
alive $rs_a || failed "the Linux redis-server in a died"
alive $rs_b || failed "the Linux redis-server in b died"
grep -q 'tern-preload:' "$tmp/rs-tern.log" "$tmp"/redis-client-tern-*.err 2>/dev/null &&
    failed "the library complained: $(grep -h 'tern-preload:' "$tmp/rs-tern.log" "$tmp"/redis-client-tern-*.err | head -3)"
kill $rs_tern $rs_a $rs_b 2>/dev/null
wait $rs_tern $rs_a $rs_b

# ---- the table -----------------------------------------------------------------

echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for row in nginx-wrk redis-server-SET redis-server-GET redis-client-SET redis-client-GET; do
    t=nan l=nan
    [ -s "$tmp/$row.tern" ] && t=$(median <"$tmp/$row.tern")
    [ -s "$tmp/$row.linux" ] && l=$(median <"$tmp/$row.linux")
    awk -v r="$row" -v t="$t" -v l="$l" 'BEGIN {
        if (t == "nan" || l == "nan" || l == 0) printf "%-17s tern %s linux %s ratio nan\n", r, t, l
        else printf "%-17s tern %.1f linux %.1f ratio %.3f\n", r, t, l, t / l }'
done
exit $bad
