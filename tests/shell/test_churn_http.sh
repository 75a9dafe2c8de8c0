#!/bin/bash
# tests/shell/test_churn_http.sh: `tern tun serve http` under connection
# churn and idle clients (issue 10, "Done when"):
#   a. 10,000 sequential curl requests, each on a new TCP connection, all
#      answered with the right body; tern's own count agrees. tern closes
#      first (it sends "Connection: close"), so every connection leaves a
#      TIME-WAIT behind on tern's side: a server that closes first must not
#      refuse clients because of TIME-WAIT.
#   b. 40 idle clients (connected, sending nothing) do not stop the server
#      from answering a 41st request, and each of the 40 is then answered too.
#   c. the sizing options: the start line gives the table sizes, --max-conns
#      sets them (a client beyond them is reset, and counted), --mem bounds
#      them.
#
# Usage: bash test_churn_http.sh <tern binary> <source dir>
# Environment: CHURN_N (default 10000) number of sequential requests.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, curl, python3.
# Anything missing is a FAILURE, not a skip. Everything runs in one network
# namespace, tern-ch-<pid>, deleted by the EXIT trap even on failure; the
# addresses (10.77.30.0/24) exist only inside it. Waits poll for events (a
# log line, a process exit) with generous bounds; no fixed sleeps.
set -u

TERN=${1:?usage: test_churn_http.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
N=${CHURN_N:-10000}
TERN_IP=10.77.30.2
LINUX_IP=10.77.30.1
NS=tern-ch-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1 # check, tmp, cleanup, wait_for, stop...

require_tools ip curl python3 timeout
require_root "a network namespace and a TUN device"
require_tun
make_ns

# tern_bg <log> <args...>: starts tern tun serve ... in the namespace; sets TPID.
tern_bg() {
    local log=$1
    shift
    ip netns exec "$NS" "$TERN" tun --dev tch0 --addr $TERN_IP/24 --linux-addr $LINUX_IP/24 \
        --quiet --stats "$@" >"$log.out" 2>"$log" & # ip execs tern: $! is tern's pid
    TPID=$!
    pids+=("$TPID")
}
tern_ready() { grep -q 'listening on port' "$1"; }

# Ten files with different bodies: request i fetches f$((i % 10)), so the
# concatenated bodies say whether each response was the right one.
mkdir -p "$tmp/www"
for k in 0 1 2 3 4 5 6 7 8 9; do echo "body of file $k from tern" >"$tmp/www/f$k"; done

# ---- a. N sequential requests, each on a new connection --------------------------

tern_bg "$tmp/http.log" serve http --port 8080 --root "$tmp/www"
http_pid=$TPID
check "a. tern serve http comes up" wait_for 30 tern_ready "$tmp/http.log"
grep 'clients at once' "$tmp/http.log"

# One curl process, N URLs from a config file: curl runs them one after the
# other. "Connection: close" (and tern's own) make each one a new TCP
# connection; %{num_connects} proves it per request. After each body curl
# writes "<status> <connects>" on a line of its own. --fail-early: the first
# failed request ends the run (the rest would each wait for a timeout).
python3 - "$N" "$TERN_IP" >"$tmp/urls.cfg" <<'EOF'
import sys
n, ip = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
for i in range(n):
    out.write('url = "http://%s:8080/f%d"\n' % (ip, i % 10))
EOF
start=$SECONDS
inns curl -sS --fail-early --config "$tmp/urls.cfg" -H 'Connection: close' \
    --connect-timeout 5 -m 10 -w '%{http_code} %{num_connects}\n' >"$tmp/curl.out" 2>"$tmp/curl.err"
echo "  curl ran for $((SECONDS - start)) s (exit $?)"

# Check every response: the body of the file asked for, status 200, one new
# connection. Prints the number of good responses and the first bad one.
cat >"$tmp/verify.py" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
lines = open(path, "rb").read().decode("latin-1").split("\n")
good, i, first_bad, pos = 0, 0, None, 0
while i < n:
    want = "body of file %d from tern" % (i % 10)
    if pos + 1 < len(lines) and lines[pos] == want and lines[pos + 1] == "200 1":
        good += 1
        pos += 2
    else:
        if first_bad is None:
            first_bad = "request %d: got %r" % (i, lines[pos:pos + 2])
        # a failed request writes only its "<status> <connects>" line
        pos += 1 if pos < len(lines) and lines[pos] != want else 2
    i += 1
print(good)
if first_bad:
    print(first_bad, file=sys.stderr)
EOF
good=$(python3 "$tmp/verify.py" "$N" "$tmp/curl.out" 2>"$tmp/verify.err")
check "a. $N sequential requests on new connections: $good answered with the right body" \
    test "$good" -eq "$N"
[ -s "$tmp/verify.err" ] && sed 's/^/  first failure: /' "$tmp/verify.err" | head -n 1
check "a. curl saw no errors" test ! -s "$tmp/curl.err"
head -n 3 "$tmp/curl.err" | sed 's/^/  curl: /'
stop "$http_pid"
rc=$?
check "a. tern serve http exits 0 on SIGTERM (got $rc)" test $rc -eq 0
served=$(sed -n 's/.*stats clients served=\([0-9]*\).*/\1/p' "$tmp/http.log")
check "a. tern's side: $N clients served (tern says ${served:-nothing})" test "${served:-0}" -eq "$N"
check "a. tern's side: no SYN dropped for a full table" \
    bash -c "! grep -q 'drop.TCP_TABLE_FULL' '$tmp/http.log'"
grep -E 'drop\.TCP|clients served' "$tmp/http.log" | sed 's/^/  /'

# ---- b. 40 idle clients, then a 41st --------------------------------------------

tern_bg "$tmp/idle.log" serve http --port 8080 --root "$tmp/www"
idle_pid=$TPID
check "b. tern serve http comes up" wait_for 30 tern_ready "$tmp/idle.log"
# 40 connections that send nothing; tern has them once its accept count
# says so (--stats is only at exit, so the client checks instead that each
# is still open after the 41st request). Then curl, then each idle client
# sends its request and must get its body.
cat >"$tmp/idle.py" <<'EOF'
import socket, subprocess, sys, time
ip, n = sys.argv[1], int(sys.argv[2])
idle = []
for i in range(n):
    try:
        idle.append(socket.create_connection((ip, 8080), timeout=5))
    except OSError as e:
        print("idle client %d: %s" % (i, e), flush=True)
print("idle clients connected: %d" % len(idle), flush=True)
t0 = time.monotonic()
r = subprocess.run(["curl", "-sS", "-m", "10", "http://%s:8080/f7" % ip],
                   capture_output=True, text=True)
dt = time.monotonic() - t0
ok41 = r.returncode == 0 and r.stdout == "body of file 7 from tern\n"
print("client %d (curl): %s in %.3f s %s" % (n + 1, "ok" if ok41 else "FAILED", dt,
                                              r.stderr.strip()), flush=True)
answered = 0
for i, s in enumerate(idle):
    try:
        s.sendall(b"GET /f%d HTTP/1.1\r\nHost: tern\r\n\r\n" % (i % 10))
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        want = b"\r\n\r\nbody of file %d from tern\n" % (i % 10)
        if data.startswith(b"HTTP/1.1 200 ") and data.endswith(want):
            answered += 1
        else:
            print("idle client %d: bad answer %r" % (i, data[:80]), flush=True)
    except OSError as e:
        print("idle client %d: %s" % (i, e), flush=True)
    s.close()
print("idle clients answered: %d" % answered, flush=True)
sys.exit(0 if ok41 and answered == n else 1)
EOF
inns timeout 60 python3 "$tmp/idle.py" $TERN_IP 40 >"$tmp/idle.out" 2>&1
rc=$?
sed 's/^/  /' "$tmp/idle.out"
check "b. 40 idle clients connected" grep -q 'idle clients connected: 40' "$tmp/idle.out"
check "b. the 41st client (curl) is answered with the right body" \
    grep -q '^client 41 (curl): ok' "$tmp/idle.out"
check "b. then each of the 40 idle clients is answered too" \
    grep -q 'idle clients answered: 40' "$tmp/idle.out"
check "b. the idle-client script exits 0 (got $rc)" test $rc -eq 0
stop "$idle_pid"
grep -E 'clients served' "$tmp/idle.log" | sed 's/^/  /'

# ---- c. sizing options -------------------------------------------------------------

tern_bg "$tmp/max.log" serve http --port 8080 --root "$tmp/www" --max-conns 3
max_pid=$TPID
check "c. --max-conns 3 comes up" wait_for 30 tern_ready "$tmp/max.log"
check "c. ... and says 3 clients at once, 10 connections" \
    grep -q '^tern: 3 clients at once, 10 connections, [0-9]* KiB buffer pool' "$tmp/max.log"
# Four idle clients: the fourth finds every session taken and is reset.
cat >"$tmp/max.py" <<'EOF'
import socket, sys
ip = sys.argv[1]
s = [socket.create_connection((ip, 8080), timeout=5) for _ in range(3)]
try:  # the reset may come before connect() returns, or after
    s4 = socket.create_connection((ip, 8080), timeout=5)
    got = s4.recv(100)
    print("fourth: closed" if got == b"" else "fourth: data")
except ConnectionResetError:
    print("fourth: reset")
except OSError as e:
    print("fourth: %s" % e)
s[0].sendall(b"GET /f0 HTTP/1.0\r\n\r\n")
print("first: ok" if s[0].recv(4096).startswith(b"HTTP/1.1 200") else "first: bad")
EOF
inns timeout 30 python3 "$tmp/max.py" $TERN_IP >"$tmp/max.out" 2>&1
sed 's/^/  /' "$tmp/max.out"
check "c. with --max-conns 3 a fourth client is reset" grep -qx 'fourth: reset' "$tmp/max.out"
check "c. ... while the first is still served" grep -qx 'first: ok' "$tmp/max.out"
stop "$max_pid"
check "c. tern counts the refused client" grep -q 'stats clients served=[0-9]* refused=1 ' \
    "$tmp/max.log"
# The tables follow --mem: 8 MiB buys fewer clients than the default, and
# the tables tern reports fit in 8 MiB.
tern_bg "$tmp/mem.log" serve http --port 8080 --root "$tmp/www" --mem 8
mem_pid=$TPID
check "c. --mem 8 comes up" wait_for 30 tern_ready "$tmp/mem.log"
stop "$mem_pid"
small=$(sed -n 's/^tern: \([0-9]*\) clients at once.*/\1/p' "$tmp/mem.log")
small_kib=$(sed -n 's/^tern: .* \([0-9]*\) KiB of tables in all$/\1/p' "$tmp/mem.log")
default=$(sed -n 's/^tern: \([0-9]*\) clients at once.*/\1/p' "$tmp/http.log")
check "c. --mem 8: ${small:-?} clients (default: ${default:-?}), ${small_kib:-?} KiB <= 8192" \
    bash -c "[ ${small:-0} -ge 1 ] && [ ${small:-0} -lt ${default:-0} ] && [ ${small_kib:-99999} -le 8192 ]"
"$TERN" tun --dev tch1 --addr 10.77.31.2/24 --mem 0 serve http --port 8080 --root "$tmp/www" \
    2>"$tmp/opt.err"
rc=$?
check "c. --mem 0 is a usage error (exit $rc)" test $rc -eq 2
"$TERN" tun --dev tch1 --addr 10.77.31.2/24 --max-conns 3 get http://10.77.31.1/ -o /dev/null \
    2>"$tmp/opt.err"
rc=$?
check "c. --max-conns on a client mode is a usage error (exit $rc)" test $rc -eq 2

summary
