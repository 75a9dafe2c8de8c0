#!/bin/bash
# tests/shell/test_examples.sh: the programs of examples/ (an epoll echo
# server, an HTTP client and an HTTP server on tern's socket API) on TUN devices, against
# the Linux kernel, against `tern tun`, and built on kernel sockets.
#
# Usage: bash test_examples.sh <tern binary> <source dir>
# The example binaries are found in <directory of the tern binary>/examples
# (built with the tree unless -DTERN_EXAMPLES=OFF).
#
# Needs root, ip(8), ss(8), nc (OpenBSD), python3, sha256sum, timeout,
# /dev/net/tun. Anything missing is a FAILURE, not a skip. Everything runs in
# one network namespace, tern-ex-<pid>, deleted by the EXIT trap even on
# failure, with addresses from 10.77.20.0/22 that exist only inside it:
#   tex0 10.77.20.0/24  example echo_server (tern), kernel side .1
#   tex1 10.77.21.0/24  example http_client (tern); python3 http.server on .1
#   tex2 10.77.22.0/24  `tern tun serve http`, kernel side .1
#   tex3 10.77.23.0/24  `tern tun send` to the echo server
#   tex4 10.77.24.0/24  example http_server (tern), kernel side .1
# Traffic between two tern stacks crosses the namespace's kernel, which
# forwards between the devices (ip_forward set inside the namespace only).
# Waits poll for events (a log line, a listening port, an exit) with bounds;
# no fixed sleeps.
set -u

TERN=${1:?usage: test_examples.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
EX=$(dirname "$TERN")/examples
failures=0
checks=0
pids=()
NS=tern-ex-$$
ns_made=false

fail() {
    echo "FAIL: [${SECONDS}s] $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: [${SECONDS}s] $*"; }

check() { # check <description> <command...>
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then pass "$what"; else fail "$what"; fi
}

tmp=$(mktemp -d)
cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    if $ns_made; then
        # Whatever still runs in our namespace was started by this test.
        for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$NS" 2>/dev/null
    fi
    if [ "$failures" -ne 0 ] || [ "$rc" -ne 0 ]; then
        for f in "$tmp"/*.log "$tmp"/*.err; do
            [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; } >&2
        done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # run the EXIT trap on a kill too

# ---- Prerequisites: missing is a failure -------------------------------------

for tool in ip ss nc curl python3 sha256sum timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is not installed" >&2
        exit 1
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: the examples test needs root (a network namespace and TUN devices)" >&2
    exit 1
fi
if [ ! -c /dev/net/tun ]; then
    echo "FAIL: /dev/net/tun is missing" >&2
    exit 1
fi
for b in echo_server echo_server_kernel http_client http_client_kernel http_server \
    http_server_kernel; do
    if [ ! -x "$EX/$b" ]; then
        echo "FAIL: $EX/$b is missing (build the tree with -DTERN_EXAMPLES=ON)" >&2
        exit 1
    fi
done
if ! ip netns add "$NS"; then
    echo "FAIL: cannot create network namespace $NS" >&2
    exit 1
fi
ns_made=true
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
# The kernel routes between the TUN devices of this namespace only.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1

inns() { ip netns exec "$NS" "$@"; }

# wait_for <seconds> <command...>: polls the command every 50 ms.
wait_for() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    while ! "$@" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
    return 0
}

listening() { inns ss -Hltn "sport = :$1" | grep -q .; } # listening <port>
sha() { sha256sum "$1" | cut -d' ' -f1; }
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(sha "$1")" = "$(sha "$2")" ]; }
exited() { ! kill -0 "$1" 2>/dev/null; }

# bg <log> <command...>: starts a command in the namespace; sets BG_PID.
bg() {
    local log=$1
    shift
    ip netns exec "$NS" "$@" >"$log.out" 2>"$log" & # ip execs the command: $! is its pid
    BG_PID=$!
    pids+=("$BG_PID")
}

# stop <pid>: SIGTERM, then the exit status (waits at most 10 s).
stop() {
    kill -TERM "$1" 2>/dev/null
    wait_for 10 exited "$1" || kill -9 "$1" 2>/dev/null
    wait "$1"
}

head -c $((1024 * 1024)) /dev/urandom >"$tmp/echo.in"
mkdir -p "$tmp/www"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$tmp/www/big"
echo "hello from the examples test" >"$tmp/www/index.html"

# ---- a. echo_server (tern) on tex0, reached from the kernel with nc ---------------

bg "$tmp/echo.log" "$EX/echo_server" --dev tex0 --addr 10.77.20.2/24 \
    --linux-addr 10.77.20.1/24 --port 7
echo_pid=$BG_PID
check "a. echo_server prints its listening line" wait_for 20 grep -q 'listening on 10.77.20.2:7' \
    "$tmp/echo.log.out"
inns timeout 30 nc -N 10.77.20.2 7 <"$tmp/echo.in" >"$tmp/echo.back"
check "a. nc from the kernel: exit 0 (got $?)" test $? -eq 0
check "a. 1 MiB echoed byte for byte (sha256)" same_file "$tmp/echo.in" "$tmp/echo.back"
check "a. echo_server logs the connection closed after 1048576 bytes" \
    wait_for 10 grep -q 'closed after 1048576 bytes' "$tmp/echo.log"
# Several clients at once: the epoll loop serves them together.
multi=()
for i in 1 2 3 4; do
    head -c $((100000 * i)) "$tmp/echo.in" >"$tmp/multi.$i"
    inns timeout 30 nc -N 10.77.20.2 7 <"$tmp/multi.$i" >"$tmp/multi.$i.back" &
    multi[i]=$!
    pids+=($!)
done
for i in 1 2 3 4; do
    wait "${multi[i]}"
    check "a. concurrent client $i: $((100000 * i)) bytes echoed intact" \
        same_file "$tmp/multi.$i" "$tmp/multi.$i.back"
done

# ---- b. http_client (tern) on tex1 against python3 http.server ---------------------
#
# tex1 is made beforehand with ip(8), kernel address 10.77.21.1, so that the
# server can bind to that address before the client opens the device: the
# client attaches to the existing device and is given no --linux-addr.

inns ip tuntap add dev tex1 mode tun
inns ip addr add 10.77.21.1/24 dev tex1
inns ip link set tex1 up
bg "$tmp/python.log" python3 -m http.server 8000 --bind 10.77.21.1 --directory "$tmp/www"
check "b. python3 http.server listens on 10.77.21.1:8000" wait_for 20 listening 8000
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 -o "$tmp/big.b" \
    http://10.77.21.1:8000/big 2>"$tmp/client_b.err"
rc=$?
check "b. http_client exits 0 (got $rc)" test $rc -eq 0
check "b. status line on stderr" grep -q '^HTTP/1.[01] 200' "$tmp/client_b.err"
check "b. 2 MiB body intact (sha256)" same_file "$tmp/www/big" "$tmp/big.b"
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 \
    http://10.77.21.1:8000/missing >"$tmp/missing.out" 2>"$tmp/client_404.err"
rc=$?
check "b. a 404 exits 1 (got $rc), saying the status" \
    bash -c "[ $rc -eq 1 ] && grep -q 'HTTP status 404' '$tmp/client_404.err'"

# A server that ends the body by closing (no Content-Length), then one that
# promises more than it sends, then one that never answers: the client must
# take the first whole, call the second truncated and give up on the third
# after --timeout (SO_RCVTIMEO).
cat >"$tmp/raw_http.py" <<'EOF'
import socket, sys
port, body_file = int(sys.argv[1]), sys.argv[2]
body = open(body_file, "rb").read()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.21.1", port))
s.listen(4)
for head in (b"HTTP/1.0 200 OK\r\nServer: raw\r\n\r\n",
             b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(body) + 1000), None):
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        b = c.recv(4096)
        if not b:
            break
        req += b
    if head is None:
        while c.recv(4096):  # silent until the client gives up
            pass
    else:
        c.sendall(head + body)
    c.close()
EOF
head -c 300000 "$tmp/www/big" >"$tmp/raw.body"
bg "$tmp/raw.log" python3 "$tmp/raw_http.py" 8001 "$tmp/raw.body"
check "b. raw HTTP server listens on 10.77.21.1:8001" wait_for 20 listening 8001
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 -o "$tmp/raw.out" \
    http://10.77.21.1:8001/ 2>"$tmp/client_raw.err"
rc=$?
check "b. no Content-Length: body ends at the close, exit 0 (got $rc)" test $rc -eq 0
check "b. ... all 300000 bytes intact" same_file "$tmp/raw.body" "$tmp/raw.out"
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 -o "$tmp/raw2.out" \
    http://10.77.21.1:8001/ 2>"$tmp/client_trunc.err"
rc=$?
check "b. Content-Length beyond the close: exit 1 (got $rc), body truncated" \
    bash -c "[ $rc -eq 1 ] && grep -q 'truncated: 300000 of 301000' '$tmp/client_trunc.err'"
start=$SECONDS
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 --timeout 1 \
    http://10.77.21.1:8001/ >/dev/null 2>"$tmp/client_silent.err"
rc=$?
check "b. a server that never answers: exit 1 (got $rc) after --timeout 1, in $((SECONDS - start)) s" \
    bash -c "[ $rc -eq 1 ] && [ $((SECONDS - start)) -le 10 ] &&
             grep -q 'reading the response: timed out' '$tmp/client_silent.err'"
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 \
    http://10.77.21.1:8009/ >/dev/null 2>"$tmp/client_refused.err"
rc=$?
check "b. a closed port: exit 1 (got $rc), connection refused" \
    bash -c "[ $rc -eq 1 ] && grep -q 'Connection refused' '$tmp/client_refused.err'"

# ---- c. against tern tun: tern -> kernel (forwarding) -> tern ----------------------

bg "$tmp/serve.log" "$TERN" tun --dev tex2 --addr 10.77.22.2/24 --linux-addr 10.77.22.1/24 \
    --gw 10.77.22.1 serve http --port 8080 --root "$tmp/www"
serve_pid=$BG_PID
check "c. tern tun serve http is listening" wait_for 20 grep -q 'listening on port 8080' \
    "$tmp/serve.log"
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 --gw 10.77.21.1 \
    -o "$tmp/big.c" http://10.77.22.2:8080/big 2>"$tmp/client_c.err"
rc=$?
check "c. http_client (tern) from tern tun serve http: exit 0 (got $rc)" test $rc -eq 0
check "c. 2 MiB body intact across two tern stacks (sha256)" same_file "$tmp/www/big" \
    "$tmp/big.c"
inns timeout 60 "$TERN" tun --dev tex3 --addr 10.77.23.2/24 --linux-addr 10.77.23.1/24 \
    --gw 10.77.23.1 --quiet send 10.77.20.2:7 "$tmp/echo.in" 2>"$tmp/send.err"
rc=$?
check "c. tern tun send to the example echo server: exit 0 (got $rc)" test $rc -eq 0
check "c. the echo server echoed all 1048576 bytes to tern tun send" \
    wait_for 10 grep -q '^echo_server: 10.77.23.2:[0-9]* closed after 1048576 bytes' "$tmp/echo.log"

# ---- d. the same sources on kernel sockets -------------------------------------

bg "$tmp/kecho.log" "$EX/echo_server_kernel" --addr 127.0.0.1 --port 7007
kecho_pid=$BG_PID
check "d. echo_server_kernel prints its listening line" \
    wait_for 20 grep -q 'listening on 127.0.0.1:7007' "$tmp/kecho.log.out"
inns timeout 30 nc -N 127.0.0.1 7007 <"$tmp/echo.in" >"$tmp/kecho.back"
check "d. nc to echo_server_kernel: exit 0 (got $?)" test $? -eq 0
check "d. 1 MiB echoed byte for byte by echo_server_kernel" same_file "$tmp/echo.in" \
    "$tmp/kecho.back"
inns timeout 60 "$EX/http_client_kernel" -o "$tmp/big.d" http://10.77.21.1:8000/big \
    2>"$tmp/kclient.err"
rc=$?
check "d. http_client_kernel from python3 http.server: exit 0 (got $rc)" test $rc -eq 0
check "d. 2 MiB body intact (sha256)" same_file "$tmp/www/big" "$tmp/big.d"
inns timeout 60 "$EX/http_client_kernel" -o "$tmp/big.d2" http://10.77.22.2:8080/big \
    2>"$tmp/kclient2.err"
rc=$?
check "d. http_client_kernel from tern tun serve http: exit 0 (got $rc)" test $rc -eq 0
check "d. 2 MiB body intact (sha256)" same_file "$tmp/www/big" "$tmp/big.d2"

# ---- e. http_server (tern) on tex4, and on kernel sockets ---------------------------

bg "$tmp/hs.log" "$EX/http_server" --dev tex4 --addr 10.77.24.2/24 --linux-addr 10.77.24.1/24 \
    --port 8080 --root "$tmp/www"
hs_pid=$BG_PID
check "e. http_server prints its listening line" \
    wait_for 20 grep -q 'listening on 10.77.24.2:8080' "$tmp/hs.log.out"
U=http://10.77.24.2:8080
# fetch <name> <curl args...>: headers to $tmp/<name>.h, body to
# $tmp/<name>.b; prints the status code. Transport errors go to curl.err.
fetch() {
    local name=$1
    shift
    inns curl -sS -m 30 -D "$tmp/$name.h" -o "$tmp/$name.b" -w '%{http_code}' "$@" \
        2>>"$tmp/curl.err"
}
# has <name> <header line>: the response <name> has that header line.
has() { tr -d '\r' <"$tmp/$1.h" | grep -qix "$2"; }
code=$(fetch big "$U/big")
check "e. curl GET /big: 200 (got $code)" test "$code" = 200
check "e. ... 2 MiB intact (sha256)" same_file "$tmp/www/big" "$tmp/big.b"
check "e. ... Content-Length: 2097152" has big 'Content-Length: 2097152'
check "e. ... Connection: close" has big 'Connection: close'
code=$(fetch index "$U/")
check "e. GET / is /index.html: 200 (got $code), its body" \
    bash -c "[ '$code' = 200 ] && cmp -s '$tmp/index.b' '$tmp/www/index.html'"
code=$(fetch head -I "$U/big")
# (with -I curl writes the head to -o too: anything more would be a body)
check "e. HEAD /big: 200 (got $code), no body" \
    bash -c "[ '$code' = 200 ] && cmp -s '$tmp/head.h' '$tmp/head.b'"
check "e. ... Content-Length: 2097152" has head 'Content-Length: 2097152'
code=$(fetch missing "$U/missing")
check "e. GET /missing: 404 (got $code)" test "$code" = 404
code=$(fetch post -X POST -d x "$U/big")
check "e. POST: 405 (got $code)" test "$code" = 405
check "e. ... Allow: GET, HEAD" has post 'Allow: GET, HEAD'
code=$(fetch dotdot --path-as-is "$U/../etc/passwd")
check "e. GET /../etc/passwd: 400 (got $code)" test "$code" = 400
# status <request>: the status line the server answers to a raw request.
status() { printf "$1" | inns timeout 10 nc -N 10.77.24.2 8080 | head -n 1 | tr -d '\r'; }
got=$(status 'GARBAGE\r\n\r\n')
check "e. a malformed request line: 400 (got '$got')" test "$got" = "HTTP/1.1 400 Bad Request"
got=$(status 'GET / HTTP/1.1\r\n\r\n')
check "e. HTTP/1.1 without Host: 400 (got '$got')" test "$got" = "HTTP/1.1 400 Bad Request"
got=$(status 'GET / HTTP/1.0\r\n\r\n')
check "e. HTTP/1.0 without Host: 200 (got '$got')" test "$got" = "HTTP/1.1 200 OK"
# Clients at once: the epoll loop serves them together.
multi=()
for i in 1 2 3 4; do
    inns curl -sS -m 30 -o "$tmp/hmulti.$i" "$U/big" 2>>"$tmp/curl.err" &
    multi[i]=$!
    pids+=($!)
done
for i in 1 2 3 4; do
    wait "${multi[i]}"
    check "e. concurrent curl $i: 2 MiB intact" same_file "$tmp/www/big" "$tmp/hmulti.$i"
done
check "e. curl saw no transport error" test ! -s "$tmp/curl.err"
# tern to tern: the example client on tex1, the kernel forwarding.
inns timeout 60 "$EX/http_client" --dev tex1 --addr 10.77.21.2/24 --gw 10.77.21.1 \
    -o "$tmp/big.f" $U/big 2>"$tmp/client_f.err"
rc=$?
check "e. http_client (tern) from http_server (tern): exit 0 (got $rc)" test $rc -eq 0
check "e. ... 2 MiB intact" same_file "$tmp/www/big" "$tmp/big.f"
stop "$hs_pid"
rc=$?
check "e. http_server stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0
# 6 curl requests, 3 raw ones, 4 at once, 1 http_client: 14 requests.
check "e. ... and prints its counters: 14 requests, 9 x 200, 3 x 400, 1 x 404, 1 x 405" \
    grep -q 'stats connections=14 requests=14 200=9 400=3 404=1 405=1 timeouts=0 errors=0' \
    "$tmp/hs.log"
check "e. ... and tern's own" grep -q 'tern tcp passive_opens=14 ' "$tmp/hs.log"

bg "$tmp/khs.log" "$EX/http_server_kernel" --addr 127.0.0.1 --port 8088 --root "$tmp/www" \
    --timeout 1
khs_pid=$BG_PID
check "e. http_server_kernel prints its listening line" \
    wait_for 20 grep -q 'listening on 127.0.0.1:8088' "$tmp/khs.log.out"
inns timeout 60 "$EX/http_client_kernel" -o "$tmp/big.fk" http://127.0.0.1:8088/big \
    2>"$tmp/kclient_f.err"
rc=$?
check "e. http_client_kernel from http_server_kernel: exit 0 (got $rc)" test $rc -eq 0
check "e. ... 2 MiB intact" same_file "$tmp/www/big" "$tmp/big.fk"
# An idle client is closed after --timeout (1 s): nothing sent, then EOF.
cat >"$tmp/idle.py" <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 8088), timeout=10)
t0 = time.monotonic()
got = s.recv(100)
dt = time.monotonic() - t0
print("closed after %.1f s, %d bytes" % (dt, len(got)))
exit(0 if got == b"" and 0.5 <= dt <= 5 else 1)
PY
got=$(inns timeout 20 python3 "$tmp/idle.py" 2>&1)
rc=$?
check "e. an idle client is closed after --timeout 1 ($got)" test $rc -eq 0
stop "$khs_pid"
rc=$?
check "e. http_server_kernel stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0
check "e. ... counting the idle client's timeout" grep -q ' timeouts=1 ' "$tmp/khs.log"

# ---- f. clear errors and clean stops -------------------------------------------

"$EX/echo_server" --help | grep -q '^usage: echo_server'
check "f. echo_server --help prints its usage" test $? -eq 0
"$EX/http_client_kernel" --help | grep -q '^usage: http_client'
check "f. http_client_kernel --help prints its usage" test $? -eq 0
"$EX/http_server" --help | grep -q '^usage: http_server'
check "f. http_server --help prints its usage" test $? -eq 0
"$EX/http_server_kernel" --root "$tmp/www" 2>"$tmp/usage.err"
rc=$?
check "f. http_server_kernel without --port: exit 2 (got $rc), one line" \
    bash -c "[ $rc -eq 2 ] && [ \$(wc -l <'$tmp/usage.err') -eq 1 ]"
"$EX/http_server_kernel" --port 8089 --root "$tmp/none" 2>"$tmp/nodir.err"
rc=$?
check "f. http_server_kernel with a missing --root: exit 1 (got $rc), saying why" \
    bash -c "[ $rc -eq 1 ] && grep -q 'No such file' '$tmp/nodir.err'"
"$EX/http_server_kernel" --dev tex9 --port 8089 2>/dev/null
rc=$?
check "f. http_server_kernel refuses --dev: exit 2 (got $rc)" test $rc -eq 2
"$EX/echo_server" --dev tex9 --addr 10.77.29.2/24 2>"$tmp/usage.err"
rc=$?
check "f. echo_server without --port: exit 2 (got $rc), one line" \
    bash -c "[ $rc -eq 2 ] && [ \$(wc -l <'$tmp/usage.err') -eq 1 ]"
"$EX/http_client" --dev tex9 --addr 10.77.29.2/24 ftp://10.77.29.1/x 2>/dev/null
rc=$?
check "f. http_client with a bad URL: exit 2 (got $rc)" test $rc -eq 2
"$EX/echo_server_kernel" --dev tex9 --port 7 2>/dev/null
rc=$?
check "f. echo_server_kernel refuses --dev: exit 2 (got $rc)" test $rc -eq 2
if command -v setpriv >/dev/null 2>&1; then
    inns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
        "$EX/echo_server" --dev tex9 --addr 10.77.29.2/24 --port 7 2>"$tmp/noroot.err"
    rc=$?
    check "f. echo_server not root: exit 1 (got $rc), saying why" \
        bash -c "[ $rc -eq 1 ] && grep -q 'root' '$tmp/noroot.err'"
fi
stop "$echo_pid"
rc=$?
check "f. echo_server stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0
check "f. ... saying so" grep -q 'stopping' "$tmp/echo.log"
stop "$kecho_pid"
rc=$?
check "f. echo_server_kernel stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0
stop "$serve_pid"

echo "$((checks - failures)) passed, $failures failed"
test "$failures" -eq 0
