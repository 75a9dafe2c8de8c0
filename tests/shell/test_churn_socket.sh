#!/bin/bash
# tests/shell/test_churn_socket.sh: a server on tern's socket API under
# connection churn (issue 10, "Done when"): the epoll echo server of
# examples/ (tern build, with the table size it asks for, not raised here)
# answers 10,000 sequential connections from a Linux client, each a new TCP
# connection whose echo is checked byte for byte; the server's own log
# agrees on the count.
#
# Usage: bash test_churn_socket.sh <tern binary> <source dir>
# The example binaries are found in <directory of the tern binary>/examples.
# Environment: CHURN_N (default 10000) number of sequential connections.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, python3. Anything
# missing is a FAILURE, not a skip. Everything runs in one network
# namespace, tern-cs-<pid>, deleted by the EXIT trap even on failure; the
# addresses (10.77.32.0/24) exist only inside it. Waits poll for events (a
# log line, a process exit) with generous bounds; no fixed sleeps.
set -u

TERN=${1:?usage: test_churn_socket.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
EX=$(dirname "$TERN")/examples
N=${CHURN_N:-10000}
TERN_IP=10.77.32.2
LINUX_IP=10.77.32.1
NS=tern-cs-$$
ns_made=false
failures=0
checks=0
pids=()

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

for tool in ip python3 timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is not installed" >&2
        exit 1
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: this test needs root (a network namespace and a TUN device)" >&2
    exit 1
fi
if [ ! -c /dev/net/tun ]; then
    echo "FAIL: /dev/net/tun is missing" >&2
    exit 1
fi
if ! ip netns add "$NS"; then
    echo "FAIL: cannot create network namespace $NS" >&2
    exit 1
fi
ns_made=true
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
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
exited() { ! kill -0 "$1" 2>/dev/null; }

if [ ! -x "$EX/echo_server" ]; then
    echo "FAIL: $EX/echo_server is missing (build the tree with -DTERN_EXAMPLES=ON)" >&2
    exit 1
fi

# stop <pid>: SIGTERM, then its exit status (waits at most 20 s).
stop() {
    kill -TERM "$1" 2>/dev/null
    wait_for 20 exited "$1" || kill -9 "$1" 2>/dev/null
    wait "$1"
}

ip netns exec "$NS" "$EX/echo_server" --dev tcs0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 \
    --port 7 >"$tmp/echo.out" 2>"$tmp/echo.log" & # ip execs the server: $! is its pid
echo_pid=$!
pids+=("$echo_pid")
check "echo_server (tern) prints its listening line" \
    wait_for 30 grep -q "listening on $TERN_IP:7" "$tmp/echo.out"

# N connections one after the other: connect, send a message of its own,
# end the sending half (FIN), read the echo to the server's FIN, compare.
# The first failure ends the run (the rest would each wait for a timeout).
cat >"$tmp/churn.py" <<'EOF'
import socket, sys, time
ip, n = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
ok = 0
for i in range(n):
    msg = b"connection %d " % i + bytes((i * 7 + k) & 255 for k in range(200))
    try:
        s = socket.create_connection((ip, 7), timeout=5)
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
        s.close()
    except OSError as e:
        print("connection %d: %s" % (i, e), flush=True)
        break
    if got != msg:
        print("connection %d: echo differs (%d bytes back of %d)" % (i, len(got), len(msg)),
              flush=True)
        break
    ok += 1
print("echoed %d of %d connections in %.1f s" % (ok, n, time.monotonic() - t0), flush=True)
sys.exit(0 if ok == n else 1)
EOF
ip netns exec "$NS" timeout 300 python3 "$tmp/churn.py" $TERN_IP "$N" >"$tmp/churn.out" 2>&1
rc=$?
sed 's/^/  /' "$tmp/churn.out"
check "$N sequential connections each echoed intact (client exit $rc)" \
    grep -q "^echoed $N of $N connections" "$tmp/churn.out"
# The server logs one line per connection closed, with its byte count.
closed() { [ "$(grep -c 'closed after 2[0-9][0-9] bytes' "$tmp/echo.log")" -ge "$N" ]; }
check "the server's side: $N connections closed after their echo" wait_for 30 closed
grep -c 'closed after' "$tmp/echo.log" | sed 's/^/  server log: connections closed: /'
stop "$echo_pid"
rc=$?
check "echo_server stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0

echo "$((checks - failures)) passed, $failures failed"
test "$failures" -eq 0
