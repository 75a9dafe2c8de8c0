#!/bin/bash
# tests/shell/test_serve_multi.sh: one `tern tun` serves echo, discard and
# HTTP at once (issue 13, item 5): `serve echo,discard:9009,http:8080`
# listens on echo's standard port 7 and on the two ports given, and three
# Linux clients use the three services at the same time:
#   - echo (python3): SIZE bytes sent while the echo is read back, then a
#     half-close; the echo is byte-exact (sha256);
#   - discard (python3): SIZE bytes sent, then a half-close; the server
#     reads them all and closes: the client reads a clean end of stream,
#     nothing else (unread data would have reset it);
#   - http (curl): a SIZE-byte file, byte-exact.
# With --count 3 tern exits 0 by itself once the three are done, and its
# --stats count three clients served. The list's usage errors (a port
# twice, --port with several services, an unknown service, http without
# --root, a bad port) exit 2 with a message naming the problem.
#
# Usage: bash test_serve_multi.sh <tern binary> <source dir>
# Environment: MULTI_KB (default 1024) size of each transfer.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, curl, python3.
# Anything missing is a FAILURE, not a skip. Everything runs in one network
# namespace, tern-sm-<pid>, deleted by the EXIT trap even on failure; the
# addresses (10.77.42.0/24) exist only inside it. Waits are on events (a log
# line, the clients' and tern's exits) with generous bounds, never fixed
# sleeps.
set -u

TERN=${1:?usage: test_serve_multi.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
KB=${MULTI_KB:-1024}
TERN_IP=10.77.42.2
LINUX_IP=10.77.42.1
NS=tern-sm-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

require_tools ip curl python3 sha256sum timeout
require_root "a network namespace and a TUN device"
require_tun
make_ns

sha() { sha256sum "$1" | cut -d' ' -f1; }
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(sha "$1")" = "$(sha "$2")" ]; }
tern_args=(tun --dev tsm0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24)

# ---- Usage errors of the list (in the namespace: a device they wrongly
# opened would be its own) ------------------------------------------------------------
usage_err() { # usage_err <what the message says> <serve operands...>
    local want=$1
    shift
    inns timeout 20 "$TERN" "${tern_args[@]}" serve "$@" >"$tmp/usage.out" 2>&1
    local rc=$?
    check "serve $*: exit 2 (got $rc), '$want'" \
        bash -c "[ $rc -eq 2 ] && grep -qF -- \"$want\" '$tmp/usage.out'"
}
mkdir -p "$tmp/www"
usage_err "two services on port 7" echo,discard:7
usage_err "--port goes with one service" echo,discard --port 5000
usage_err "unknown service (echo, discard, http or udp-echo): ftp" echo,ftp
usage_err "serve http needs --root DIR" echo,http:8080
usage_err "invalid port '70000' for service echo" echo:70000
usage_err "serve what?" echo,,http --root "$tmp/www"

# ---- Three services in one process, three clients at once --------------------------

head -c $((KB * 1024)) /dev/urandom >"$tmp/data.bin"
cp "$tmp/data.bin" "$tmp/www/big.bin"

# client.py echo|discard HOST PORT SRC DST: sends SRC while it reads (into
# DST), half-closes, reads to the end of stream. A 30 s silence ends it.
cat >"$tmp/client.py" <<'PY'
import socket, sys, threading
mode, host, port, src, dst = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
data = open(src, "rb").read()
s = socket.create_connection((host, port), timeout=30)
def writer():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=writer, daemon=True).start()
got, how = 0, "eof"
with open(dst, "wb") as f:
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            f.write(b)
            got += len(b)
    except OSError as e:
        how = str(e)
print("%s client: %d bytes back, %s" % (mode, got, how))
PY

ip netns exec "$NS" "$TERN" "${tern_args[@]}" --stats --count 3 \
    serve echo,discard:9009,http:8080 --root "$tmp/www" >"$tmp/tern.out" 2>"$tmp/tern.log" &
tpid=$!
pids+=("$tpid")
check "tern comes up listening on all three" wait_for 30 grep -q \
    'listening on port 7 (echo), port 9009 (discard), port 8080 (http)' "$tmp/tern.log"

inns timeout 300 python3 "$tmp/client.py" echo $TERN_IP 7 "$tmp/data.bin" "$tmp/echo.recv" \
    >"$tmp/echo.client" 2>&1 &
echo_c=$!
inns timeout 300 python3 "$tmp/client.py" discard $TERN_IP 9009 "$tmp/data.bin" \
    "$tmp/discard.recv" >"$tmp/discard.client" 2>&1 &
discard_c=$!
inns curl -sS -o "$tmp/http.recv" --speed-limit 1 --speed-time 30 -m 300 \
    "http://$TERN_IP:8080/big.bin" 2>"$tmp/curl.err" &
curl_c=$!
pids+=("$echo_c" "$discard_c" "$curl_c")
wait "$echo_c"
wait "$discard_c"
wait "$curl_c"
rc=$?
check "curl exited 0 (got $rc)" test $rc -eq 0
cat "$tmp/echo.client" "$tmp/discard.client" | sed 's/^/  /'

check "echo (port 7): $KB KiB back byte-exact" same_file "$tmp/data.bin" "$tmp/echo.recv"
check "discard (port 9009): clean end of stream, nothing back" \
    grep -q '^discard client: 0 bytes back, eof$' "$tmp/discard.client"
check "http (port 8080): $KB KiB byte-exact" same_file "$tmp/data.bin" "$tmp/http.recv"

if wait_for 60 exited "$tpid"; then
    wait "$tpid"
    rc=$?
    check "tern --count 3 exits 0 by itself (got $rc)" test $rc -eq 0
else
    fail "tern still runs 60 s after its three clients finished"
    stop "$tpid"
fi
check "tern served 3 clients" grep -q 'stats clients served=3 ' "$tmp/tern.log"
summary
