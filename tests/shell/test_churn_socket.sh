#!/bin/bash
# tests/shell/test_churn_socket.sh: servers on tern's socket API under
# connection churn (issue 10, "Done when"), over tern's TUN runtime:
#   a. the epoll echo server of examples/ (tern build, with the table size it
#      asks for, not raised here) answers 10,000 sequential connections from
#      a Linux client, each a new TCP connection whose echo is checked byte
#      for byte; the server's own log agrees on the count. The client closes
#      first here, so TIME-WAIT is Linux's: tern's counters show N passive
#      closes, no active one, and no TIME-WAIT record.
#   b. the HTTP server of examples/ (tern build, tern's default table size)
#      answers 10,000 sequential curl requests, each on a new connection,
#      each body checked. The server shuts down its side right after the
#      response (Connection: close); curl closes as soon as it has read it,
#      so the two FINs race. tern's counters say, for each connection, who
#      closed first, and every connection tern closed first is in a
#      TIME-WAIT record (all but the last time_wait_max recycled): exact
#      counts, not a share. No SYN dropped for a full table, no reset.
#
# Usage: bash test_churn_socket.sh <tern binary> <source dir>
# The example binaries are found in <directory of the tern binary>/examples.
# Environment: CHURN_N (default 10000) number of sequential connections.
#
# Needs root (CI runs it as root), ip(8), ss(8), /dev/net/tun, python3, curl. Anything
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
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1 # check, tmp, cleanup, wait_for, stop...

require_tools ip ss python3 curl timeout
require_root "a network namespace and a TUN device"
require_tun
make_ns

for prog in echo_server http_server; do
    if [ ! -x "$EX/$prog" ]; then
        echo "FAIL: $EX/$prog is missing (build the tree with -DTERN_EXAMPLES=ON)" >&2
        exit 1
    fi
done

# ---- a. the echo server: the client closes first ---------------------------------

ip netns exec "$NS" "$EX/echo_server" --dev tcs0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 \
    --port 7 >"$tmp/echo.out" 2>"$tmp/echo.log" & # ip execs the server: $! is its pid
echo_pid=$!
pids+=("$echo_pid")
check "a. echo_server (tern) prints its listening line" \
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
check "a. $N sequential connections each echoed intact (client exit $rc)" \
    grep -q "^echoed $N of $N connections" "$tmp/churn.out"
# The server logs one line per connection closed, with its byte count.
closed() { [ "$(grep -c 'closed after 2[0-9][0-9] bytes' "$tmp/echo.log")" -ge "$N" ]; }
check "a. the server's side: $N connections closed after their echo" wait_for 30 closed
grep -c 'closed after' "$tmp/echo.log" | sed 's/^/  server log: connections closed: /'
stop "$echo_pid"
rc=$?
check "a. echo_server stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0
# At exit the tern build prints the stack's TCP counters (example_net.h).
grep 'tern tcp' "$tmp/echo.log" | sed 's/^/  /'
# tcpstat <log> <name>: a counter of that line.
tcpstat() { sed -n "/ tern tcp /s/.* $2=\([0-9]*\).*/\1/p" "$1"; }
recycled=$(tcpstat "$tmp/echo.log" time_wait_recycled)
check "a. the client closed first: tern recycled no TIME-WAIT record (got ${recycled:-nothing})" \
    test "${recycled:-x}" = 0
# The server closes only after reading the client's FIN: every close is
# passive on tern's side, none active, no record held.
closes="$(tcpstat "$tmp/echo.log" passive_closes) $(tcpstat "$tmp/echo.log" active_closes)"
closes="$closes $(tcpstat "$tmp/echo.log" time_wait_records)"
check "a. tern's side: $N passive closes, 0 active, 0 TIME-WAIT records (got $closes)" \
    test "$closes" = "$N 0 0"

# ---- b. the HTTP server: the server closes first ------------------------------------

# Ten files with different bodies: request i fetches f$((i % 10)), so the
# concatenated bodies say whether each response was the right one.
mkdir -p "$tmp/www"
for k in 0 1 2 3 4 5 6 7 8 9; do echo "body of file $k from tern" >"$tmp/www/f$k"; done
# The same device as a. (the echo server's is gone with it), tern's defaults.
ip netns exec "$NS" "$EX/http_server" --dev tcs0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 \
    --port 8080 --root "$tmp/www" --quiet >"$tmp/http.out" 2>"$tmp/http.log" &
http_pid=$!
pids+=("$http_pid")
check "b. http_server (tern) prints its listening line" \
    wait_for 30 grep -q "listening on $TERN_IP:8080" "$tmp/http.out"

# One curl process, N URLs from a config file: curl runs them one after the
# other. "Connection: close" (and the server's own) make each one a new TCP
# connection; %{num_connects} proves it per request. After each body curl
# writes "<status> <connects>" on a line of its own. --fail-early: the first
# failed request ends the run (the rest would each wait for a timeout).
python3 - "$N" "$TERN_IP" >"$tmp/urls.cfg" <<'EOF2'
import sys
n, ip = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    sys.stdout.write('url = "http://%s:8080/f%d"\n' % (ip, i % 10))
EOF2
start=$SECONDS
inns curl -sS --fail-early --config "$tmp/urls.cfg" -H 'Connection: close' \
    --connect-timeout 5 -m 10 -w '%{http_code} %{num_connects}\n' >"$tmp/curl.out" 2>"$tmp/curl.err"
echo "  curl ran for $((SECONDS - start)) s (exit $?)"

# Every response: the body of the file asked for, status 200, one new
# connection. Prints the number of good responses and the first bad one.
cat >"$tmp/verify.py" <<'EOF2'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
lines = open(path, "rb").read().decode("latin-1").split("\n")
good, pos, first_bad = 0, 0, None
for i in range(n):
    want = "body of file %d from tern" % (i % 10)
    if pos + 1 < len(lines) and lines[pos] == want and lines[pos + 1] == "200 1":
        good += 1
        pos += 2
    else:
        if first_bad is None:
            first_bad = "request %d: got %r" % (i, lines[pos:pos + 2])
        # a failed request writes only its "<status> <connects>" line
        pos += 1 if pos < len(lines) and lines[pos] != want else 2
print(good)
if first_bad:
    print(first_bad, file=sys.stderr)
EOF2
good=$(python3 "$tmp/verify.py" "$N" "$tmp/curl.out" 2>"$tmp/verify.err")
check "b. $N sequential requests on new connections: $good answered with the right body" \
    test "$good" -eq "$N"
[ -s "$tmp/verify.err" ] && sed 's/^/  first failure: /' "$tmp/verify.err" | head -n 1
check "b. curl saw no errors" test ! -s "$tmp/curl.err"
head -n 3 "$tmp/curl.err" | sed 's/^/  curl: /'
# Before the counters are read, every connection must be over on tern's
# side too. Linux's sockets for port 8080 all in TIME-WAIT or gone means
# Linux has taken and acknowledged each FIN of tern's and sent its own;
# an ICMP echo that tern answers after that went through the device
# behind all of those segments, so tern has processed them: every
# connection is in TIME-WAIT or CLOSED there. (Without this, the last
# connection could still be in CLOSING when the counters are read.)
linux_over() {
    local left
    left=$(inns ss -Htn state connected exclude time-wait '( dport = :8080 )') && [ -z "$left" ]
}
check "b. Linux's side of every connection is over (TIME-WAIT or gone)" wait_for 30 linux_over
cat >"$tmp/echo_ping.py" <<'EOF2'
import os, select, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF
ident = os.getpid() & 0xFFFF
body = struct.pack("!HH", ident, 1) + b"churn barrier!"
msg = struct.pack("!BBH", 8, 0, csum(struct.pack("!BBH", 8, 0, 0) + body)) + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(msg, (sys.argv[1], 0))
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    if not select.select([s], [], [], end - time.monotonic())[0]:
        break
    pkt, _ = s.recvfrom(2048)
    icmp = pkt[(pkt[0] & 15) * 4:]
    if icmp[0] == 0 and icmp[4:] == body:
        sys.exit(0)
sys.exit(1)
EOF2
check "b. tern answers an ICMP echo sent after that (it has read every segment before it)" \
    inns python3 "$tmp/echo_ping.py" $TERN_IP 30
# Linux's TIME-WAIT entries for port 8080: a connection that the two sides
# closed at the same moment ends in TIME-WAIT on both (RFC 9293 3.6,
# simultaneous close); one that curl closed first, on Linux's side only.
# Printed, not checked: tern's counts are checked below.
linux_tw=$(inns ss -Htn state time-wait '( sport = :8080 or dport = :8080 )' | wc -l)
echo "  Linux holds $linux_tw TIME-WAIT entries for port 8080"
stop "$http_pid"
rc=$?
check "b. http_server stops on SIGTERM with exit 0 (got $rc)" test $rc -eq 0
grep -E 'stats|tern tcp' "$tmp/http.log" | sed 's/^/  /'
# httpstat <name>: a counter of the server's own stats line.
httpstat() { sed -n "/ stats /s/.* $1=\([0-9]*\).*/\1/p" "$tmp/http.log"; }
check "b. the server's side: $N connections, $N requests, $N answered 200, no timeout or error" \
    test "$(httpstat connections) $(httpstat requests) $(httpstat 200)" = "$N $N $N" -a \
    "$(httpstat timeouts) $(httpstat errors)" = "0 0"
# Who closed first. The server shuts down as soon as its write returns, but
# the response is on the wire by then and the FIN is a segment of its own;
# curl, woken by the response, reads it and closes at once. When curl's FIN
# reaches tern before the server's shutdown, tern goes to CLOSE-WAIT (a
# passive close, no TIME-WAIT on tern's side); otherwise to FIN-WAIT-1 (an
# active close, also when the FINs cross: CLOSING). How often curl wins
# depends on scheduling only. Measured on a 2-core machine, in 10,000: 16
# to 190 when quiet; 260 to 2,700 with both cores busy (two spinning
# shells, or the rest of the suite under ctest -j2); up to 2,900 under
# ASan. The tree before the quick-ACK phase, input batches and TIME-WAIT
# changes (02e0080) lost it as often under the same load (270 to 1,930).
# So the checks are exact counts, whatever the share (a share of 90 %
# failed with 8,904): each connection closed once, one way or the other;
# each active close in a TIME-WAIT record, recycled (the table was full),
# reused (a SYN reopened it: RFC 6191) or still held. No record expires
# here (2 MSL is 240 s) and no reset ends one (none was sent or taken).
active=$(tcpstat "$tmp/http.log" active_closes)
passive=$(tcpstat "$tmp/http.log" passive_closes)
check "b. tern's side: each connection closed once: ${active:-?} by tern first + ${passive:-?} by curl first = $N" \
    test "$((${active:-0} + ${passive:-0}))" -eq "$N" -a -n "$active" -a -n "$passive"
resets="$(tcpstat "$tmp/http.log" resets_rx) $(tcpstat "$tmp/http.log" rst_tx)"
check "b. no connection reset (resets_rx rst_tx: $resets)" test "$resets" = "0 0"
tw_max=$(tcpstat "$tmp/http.log" time_wait_max)
held=$(tcpstat "$tmp/http.log" time_wait_records)
recycled=$(tcpstat "$tmp/http.log" time_wait_recycled)
reused=$(tcpstat "$tmp/http.log" time_wait_reuse)
records=$((${recycled:-0} + ${reused:-0} + ${held:-0}))
check "b. each of the ${active:-?} connections tern closed first went into a TIME-WAIT record: $records (${recycled:-?} recycled + ${reused:-?} reused + ${held:-?} held, at most ${tw_max:-?})" \
    test "$records" -eq "${active:-x}" -a "${held:-x}" -le "${tw_max:-0}" -a "${recycled:-0}" -gt 0
check "b. tern dropped no SYN for a full table" \
    test "$(tcpstat "$tmp/http.log" drop.TCP_TABLE_FULL)" = 0

summary
