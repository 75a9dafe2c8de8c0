#!/bin/bash
# tests/shell/test_serve_count.sh: `tern tun serve ... --count N` exits by
# itself, with status 0, only after its clients have every byte (issue 13,
# item 5). Before the fix the process exited as soon as the N-th session
# ended, with the end of the echo or the file still queued or unacknowledged
# in the stack: with 5 % drop, the client came back short and hung.
#   a. serve echo --count 1 --drop 5: a Linux client (python3) sends SIZE
#      bytes and half-closes; the echo it reads back to the end of stream is
#      byte-exact (sha256), and tern exits 0 by itself.
#   b. serve http --count 1 --drop 5: curl fetches a SIZE-byte file; the
#      body is byte-exact and tern exits 0 by itself.
#   c. progress lines only while bytes move: a client of serve echo sends
#      16 KiB every 100 ms for 2.5 s (lines are due), then holds the
#      connection idle for 3.5 s before it closes. No two progress lines
#      give the same byte count (an idle second printed the count again
#      before: 3 repeated lines here), and at least one line came while
#      the bytes moved. The client's pauses are the stimulus (the time
#      the test is about), not waits for an event.
#
# Usage: bash test_serve_count.sh <tern binary> <source dir>
# Environment: COUNT_KB (default 2048) size of each transfer.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, curl, python3.
# Anything missing is a FAILURE, not a skip. Everything runs in one network
# namespace, tern-sc-<pid>, deleted by the EXIT trap even on failure; the
# addresses (10.77.40.0/24) exist only inside it. Waits are on events (a log
# line, a process exit, the client's end) with generous bounds, never fixed
# sleeps.
set -u

TERN=${1:?usage: test_serve_count.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
KB=${COUNT_KB:-2048}
TERN_IP=10.77.40.2
LINUX_IP=10.77.40.1
NS=tern-sc-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

require_tools ip curl python3 sha256sum timeout
require_root "a network namespace and a TUN device"
require_tun
make_ns

# tern_bg <log> <args...>: starts tern tun in the namespace; sets TPID.
tern_bg() {
    local log=$1
    shift
    ip netns exec "$NS" "$TERN" tun --dev tsc0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 \
        "$@" >"$log.out" 2>"$log" & # ip execs tern: $! is tern's pid
    TPID=$!
    pids+=("$TPID")
}
tern_ready() { grep -q 'listening on port' "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(sha "$1")" = "$(sha "$2")" ]; }

# exits_zero <pid> <what>: tern must end by itself within 60 s of the
# client's end, with status 0 (it is killed, and the check fails, if not).
exits_zero() {
    local pid=$1 what=$2 rc
    if wait_for 60 exited "$pid"; then
        wait "$pid"
        rc=$?
        check "$what: tern exits 0 by itself (got $rc)" test "$rc" -eq 0
    else
        fail "$what: tern still runs 60 s after its client finished"
        stop "$pid"
    fi
}

head -c $((KB * 1024)) /dev/urandom >"$tmp/data.bin"

# Echo client: sends the file while it reads (the echo comes back as it
# goes), half-closes, reads to the end of stream. A 30 s silence ends it.
cat >"$tmp/echo_client.py" <<'EOF'
import socket, sys, threading
host, port, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
data = open(src, "rb").read()
s = socket.create_connection((host, port), timeout=30)
def writer():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=writer, daemon=True)
t.start()
got = 0
with open(dst, "wb") as f:
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            f.write(b)
            got += len(b)
    except OSError as e:
        print("echo client: %s after %d bytes" % (e, got), file=sys.stderr)
print("echo client: %d of %d bytes back" % (got, len(data)), file=sys.stderr)
EOF

# ---- a. serve echo --count 1 under 5 % drop ----------------------------------------

tern_bg "$tmp/echo.log" --drop 5 --seed 13 serve echo --port 7 --count 1
echo_pid=$TPID
check "a. tern serve echo --count 1 comes up" wait_for 30 tern_ready "$tmp/echo.log"
timeout 300 ip netns exec "$NS" python3 "$tmp/echo_client.py" $TERN_IP 7 "$tmp/data.bin" \
    "$tmp/echo.recv" 2>"$tmp/echo_client.err"
cat "$tmp/echo_client.err"
check "a. echo of $KB KiB under 5 % drop: byte-exact" same_file "$tmp/data.bin" "$tmp/echo.recv"
exits_zero "$echo_pid" "a. echo"
grep -E 'bytes in' "$tmp/echo.log" | sed 's/^/  /'

# ---- b. serve http --count 1 under 5 % drop ----------------------------------------

mkdir -p "$tmp/www"
cp "$tmp/data.bin" "$tmp/www/big.bin"
tern_bg "$tmp/http.log" --drop 5 --seed 14 serve http --port 8080 --root "$tmp/www" --count 1
http_pid=$TPID
check "b. tern serve http --count 1 comes up" wait_for 30 tern_ready "$tmp/http.log"
# A stall of 30 s ends curl (the old tern left it waiting for bytes that
# were never going to come).
inns curl -sS -o "$tmp/http.recv" --speed-limit 1 --speed-time 30 -m 300 \
    "http://$TERN_IP:8080/big.bin" 2>"$tmp/curl.err"
echo "  curl exit $?"
check "b. GET of $KB KiB under 5 % drop: byte-exact" same_file "$tmp/data.bin" "$tmp/http.recv"
exits_zero "$http_pid" "b. http"
grep -E 'bytes in' "$tmp/http.log" | sed 's/^/  /'

# ---- c. progress only while bytes move --------------------------------------------

cat >"$tmp/paced_client.py" <<'PY'
import socket, sys, threading, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=30)
got = [0]
def reader():
    while True:
        b = s.recv(65536)
        if not b:
            break
        got[0] += len(b)
t = threading.Thread(target=reader)
t.start()
sent = 0
end = time.monotonic() + 2.5
while time.monotonic() < end:       # moving: 16 KiB every 100 ms
    s.sendall(b"x" * 16384)
    sent += 16384
    time.sleep(0.1)
time.sleep(3.5)                     # idle, connection open
s.shutdown(socket.SHUT_WR)
t.join()
print("paced client: sent %d, got %d back" % (sent, got[0]))
sys.exit(0 if got[0] == sent else 1)
PY
tern_bg "$tmp/paced.log" serve echo --port 7 --count 1
paced_pid=$TPID
check "c. tern serve echo comes up" wait_for 30 tern_ready "$tmp/paced.log"
timeout 120 ip netns exec "$NS" python3 "$tmp/paced_client.py" $TERN_IP 7 >"$tmp/paced.client" 2>&1
rc=$?
sed 's/^/  /' "$tmp/paced.client"
check "c. the paced client got its whole echo (exit $rc)" test $rc -eq 0
exits_zero "$paced_pid" "c. paced echo"
grep -E '^  [0-9]+ bytes in' "$tmp/paced.log" | awk '{print $1}' >"$tmp/progress.counts"
sed 's/^/  progress: /' "$tmp/progress.counts" | tr '\n' ' '
echo
check "c. at least one progress line while the bytes moved" test -s "$tmp/progress.counts"
check "c. no progress line repeats a count (none while idle)" \
    test "$(sort "$tmp/progress.counts" | uniq -d | wc -l)" -eq 0

summary
