#!/bin/bash
# tests/shell/test_preload_http.sh: unmodified curl and nginx on tern through
# libtern_preload.so (issue 15), against Linux's curl, nginx and Python HTTP
# servers, byte-exact, once with tern on a TUN device and once on a TAP
# device (TERN_MODE=tap). In each pass:
#   a. preloaded curl fetches a 64 MiB file from a Linux `python3 -m
#      http.server` and from a Linux nginx (kernel sockets);
#   b. Linux curl fetches the 64 MiB file from a preloaded nginx (sendfile
#      on, master_process off), then 101 requests (100 of a 256 KiB file,
#      the 64 MiB one in the middle) on one kept-alive connection, then the
#      same 101 with "Connection: close", one connection each: every
#      response 200 and byte-exact, the connection counts checked by curl
#      (%{num_connects}) and by nginx's access log ($connection);
#   c. the same nginx with sendfile off (the file goes out by writev: the
#      preload's trace shows writev and no sendfile);
#   d. preloaded curl uploads (-T) 16 MiB to a Linux HTTP PUT sink.
#
# Usage: bash test_preload_http.sh <tern binary> <source dir>
#   (the library is found next to the tern binary: libtern_preload.so)
# Environment: BIG_MB (default 64) size of the big file.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, curl, nginx,
# python3, cmp. Anything missing is a FAILURE, not a skip. Everything runs in
# one network namespace, tern-pl-http-<pid>, deleted by the EXIT trap even on
# failure; its addresses (10.79.15.0/24) exist only inside it. The Linux
# servers bind 0.0.0.0 (the device comes and goes with each preloaded
# program). Waits poll for events with generous bounds; no fixed sleeps.
#
# In a sanitizer build (libtern_preload.so linked against libasan) the
# programs, which are not built with the sanitizers, get libasan and
# libubsan preloaded first, and leak checking off (their leaks are not ours).
set -u

TERN=${1:?usage: test_preload_http.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
LIB=$(dirname "$TERN")/libtern_preload.so
BIG_MB=${BIG_MB:-64}
TERN_IP=10.79.15.2
LINUX_IP=10.79.15.1
NS=tern-pl-http-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1 # check, tmp, cleanup, wait_for, stop...

require_tools ip curl nginx python3 cmp ss timeout
require_root "a network namespace and a TUN device"
require_tun
if [ ! -f "$LIB" ]; then
    echo "FAIL: no $LIB (build the tern_preload target)" >&2
    exit 1
fi
PRELOAD=$LIB
CLIENT=curl
if ldd "$LIB" | grep -q libasan; then
    PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $LIB"
    echo "  sanitizer build: LD_PRELOAD=$PRELOAD"
    # curl (and wget) cannot start with libasan preloaded: p11-kit's
    # constructor (pulled in by GnuTLS) calls newlocale(), whose first
    # malloc() initializes ASan under glibc's locale lock, and ASan's
    # initialization takes that lock again (llvm-project issue 49223). The
    # preloaded client is then a Python one (the same requests, byte-exact).
    CLIENT=python
fi
make_ns

# "${PL[@]}" [VAR=value...] <command...>: runs the command in the namespace
# on tern (ip execs env, which execs the command: $! is the program's pid).
pl_mode() { # pl_mode <tun|tap>: sets PL
    PL=(ip netns exec "$NS" env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 TERN_MODE="$1"
        TERN_DEV=tplh0 "TERN_ADDR=$TERN_IP/24" "TERN_LINUX_ADDR=$LINUX_IP/24")
}
listening() { inns ss -Hltn "sport = :$1" | grep -q .; }
# No line from the library (its errors start with "tern-preload:").
quiet_lib() { ! grep -q 'tern-preload:' "$1"; }

# ---- files and the Linux servers --------------------------------------------

mkdir -p "$tmp/www" "$tmp/up"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom >"$tmp/www/big"
head -c $((256 * 1024)) /dev/urandom >"$tmp/www/small"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$tmp/upload"

# ngconf <dir> <listen> <sendfile on|off>: an nginx of its own in <dir>
# (config, logs, temp paths), one process, in the foreground. The access log
# gives each request's connection serial number and its rank on it.
ngconf() {
    mkdir -p "$1"
    cat >"$1/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
error_log $1/error.log info;
pid $1/nginx.pid;
events { worker_connections 256; }
http {
    log_format conn '\$connection \$connection_requests \$status \$body_bytes_sent \$remote_addr \$request_uri';
    access_log $1/access.log conn;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    sendfile $3;
    keepalive_requests 1000;
    keepalive_timeout 60s;
    server {
        listen $2;
        root $tmp/www;
    }
}
EOF
}

# The PUT sink: writes the body of PUT /NAME to up/NAME, answers 201 when all
# Content-Length bytes came (HTTP/1.1, so curl's "Expect: 100-continue" is
# answered at once).
cat >"$tmp/sink.py" <<'EOF'
import http.server, os, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_PUT(self):
        left = int(self.headers["Content-Length"])
        with open(os.path.join(out, os.path.basename(self.path)), "wb") as f:
            while left > 0:
                b = self.rfile.read(min(left, 1 << 20))
                if not b:
                    break
                f.write(b)
                left -= len(b)
        self.send_response(201 if left == 0 else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()
http.server.ThreadingHTTPServer(("0.0.0.0", port), H).serve_forever()
EOF

ip netns exec "$NS" python3 -m http.server --bind 0.0.0.0 --directory "$tmp/www" 8000 >"$tmp/pyhttp.log" 2>&1 &
pids+=($!)
ngconf "$tmp/ng-linux" 8001 on
ip netns exec "$NS" nginx -c "$tmp/ng-linux/nginx.conf" -e "$tmp/ng-linux/error.log" >"$tmp/ng-linux.out" 2>&1 &
pids+=($!)
ip netns exec "$NS" python3 "$tmp/sink.py" 8002 "$tmp/up" >"$tmp/sink.log" 2>&1 &
pids+=($!)
check "the Linux servers listen (python http.server 8000, nginx 8001, PUT sink 8002)" \
    wait_for 60 eval 'listening 8000 && listening 8001 && listening 8002'

# The sanitizer build's preloaded client (see CLIENT above):
#   client.py get URL OUT   writes the body to OUT; exit 0 on a 200
#   client.py put URL FILE  PUTs the file; prints the status
cat >"$tmp/client.py" <<'EOF'
import shutil, sys, urllib.request
op, url, path = sys.argv[1:4]
if op == "get":
    with urllib.request.urlopen(url, timeout=100) as r, open(path, "wb") as f:
        shutil.copyfileobj(r, f, 1 << 20)
        sys.exit(0 if r.status == 200 else 1)
with open(path, "rb") as f:
    size = f.seek(0, 2)
    f.seek(0)
    req = urllib.request.Request(url, data=f, method="PUT",
                                 headers={"Content-Length": str(size)})
    with urllib.request.urlopen(req, timeout=100) as r:
        print(r.status, end="")
EOF

# pl_get <url> <out> <err> / pl_put <url> <file> <err>: the preloaded client.
pl_get() {
    if [ "$CLIENT" = curl ]; then
        timeout 120 "${PL[@]}" curl -sS --fail -m 100 -o "$2" "$1" 2>"$3"
    else
        timeout 120 "${PL[@]}" python3 "$tmp/client.py" get "$1" "$2" 2>"$3"
    fi
}
pl_put() {
    if [ "$CLIENT" = curl ]; then
        timeout 120 "${PL[@]}" curl -sS --fail -m 100 -T "$2" -o /dev/null -w '%{http_code}' "$1" 2>"$3"
    else
        timeout 120 "${PL[@]}" python3 "$tmp/client.py" put "$1" "$2" 2>"$3"
    fi
}

# ---- one pass over a TUN or TAP device ----------------------------------------

# fetch_check <out prefix> <extra curl args...>: Linux curl, 101 requests to
# the preloaded nginx (small x50, big, small x50); curl writes
# "<status> <connects>" per request into <prefix>.w. Sets FETCH_RC.
fetch() {
    local pre=$1
    shift
    local i
    : >"$pre.cfg"
    for i in $(seq 1 101); do
        local f=small
        [ "$i" -eq 51 ] && f=big
        printf 'url = "http://%s:8080/%s"\noutput = "%s.%d"\n' $TERN_IP $f "$pre" "$i" >>"$pre.cfg"
    done
    timeout 300 ip netns exec "$NS" curl -sS --fail --fail-early --connect-timeout 10 -m 120 \
        --config "$pre.cfg" -w '%{http_code} %{num_connects}\n' "$@" >"$pre.w" 2>"$pre.err"
    FETCH_RC=$?
}
# bodies_ok <prefix>: each of the 101 outputs is its file, byte for byte.
bodies_ok() {
    local i f bad=0
    for i in $(seq 1 101); do
        f=small
        [ "$i" -eq 51 ] && f=big
        cmp -s "$tmp/www/$f" "$1.$i" || { echo "  response $i differs from $f" >&2; bad=1; }
    done
    rm -f "$1".[0-9]*
    return $bad
}
# connects_are <prefix> <total>: 101 answers of 200 whose new connections add up.
connects_are() {
    awk -v want="$2" '$1 == 200 { ok++ } { c += $2 }
        END { if (ok != 101 || c != want) { printf "  %d x 200, %d connects\n", ok, c > "/dev/stderr"; exit 1 } }' "$1.w"
}
# log_conns <access log> <first line> <n conns>: the 101 lines from <first
# line> on are status 200 to Linux's address and come from <n conns>
# distinct connections.
log_conns() {
    tail -n +"$2" "$1" | awk -v want="$3" -v peer=$LINUX_IP '{ n++; if ($3 == 200 && $5 == peer) ok++; seen[$1] = 1 }
        END { k = 0; for (c in seen) k++
              if (n != 101 || ok != 101 || k != want) { printf "  log: %d lines, %d x 200, %d connections\n", n, ok, k > "/dev/stderr"; exit 1 } }'
}
loglines() { wc -l <"$1" | tr -d ' '; }
nginx_clean() { ! grep -Eq '\[(error|crit|alert|emerg)\]' "$1"; }
nginx_up() { # nginx_up <pid>: answers (or has died: the caller checks)
    exited "$1" || inns curl -s -o /dev/null -m 2 http://$TERN_IP:8080/small
}

run_pass() {
    local mode=$1 d="$tmp/$1"
    mkdir -p "$d"
    echo "== tern on $mode"
    pl_mode "$mode"

    # a. preloaded curl from Linux servers
    local start=$SECONDS
    pl_get http://$LINUX_IP:8000/big "$d/py.big" "$d/curl-py.err"
    check "$mode a. preloaded $CLIENT: ${BIG_MB} MiB from python http.server, exit 0 ($((SECONDS - start)) s)" \
        test $? -eq 0
    check "$mode a. ... byte-exact" cmp "$tmp/www/big" "$d/py.big"
    check "$mode a. ... no tern-preload line" quiet_lib "$d/curl-py.err"
    check "$mode a. ... python served it to tern's address" \
        grep -q "^$TERN_IP .*GET /big HTTP/1.1\" 200" "$tmp/pyhttp.log"
    : >"$tmp/pyhttp.log"
    rm -f "$d/py.big"
    start=$SECONDS
    pl_get http://$LINUX_IP:8001/big "$d/ng.big" "$d/curl-ng.err"
    check "$mode a. preloaded $CLIENT: ${BIG_MB} MiB from Linux nginx, exit 0 ($((SECONDS - start)) s)" \
        test $? -eq 0
    check "$mode a. ... byte-exact" cmp "$tmp/www/big" "$d/ng.big"
    check "$mode a. ... no tern-preload line" quiet_lib "$d/curl-ng.err"
    check "$mode a. ... nginx served it to tern's address" \
        grep -q " 200 $((BIG_MB * 1024 * 1024)) $TERN_IP /big\$" "$tmp/ng-linux/access.log"
    : >"$tmp/ng-linux/access.log"
    rm -f "$d/ng.big"

    # b. Linux curl from preloaded nginx, sendfile on
    ngconf "$d/ng-on" "$TERN_IP:8080" on
    "${PL[@]}" TERN_TRACE="$d/ng-on.trace" nginx -c "$d/ng-on/nginx.conf" -e "$d/ng-on/error.log" \
        >"$d/ng-on.out" 2>"$d/ng-on.err" &
    local ng=$!
    pids+=("$ng")
    check "$mode b. preloaded nginx (sendfile on) answers" wait_for 60 nginx_up "$ng"
    check "$mode b. ... and runs" kill -0 "$ng"
    start=$SECONDS
    inns curl -sS --fail -m 100 -o "$d/one.big" http://$TERN_IP:8080/big 2>"$d/one.err"
    check "$mode b. Linux curl: ${BIG_MB} MiB from preloaded nginx, exit 0 ($((SECONDS - start)) s)" \
        test $? -eq 0
    check "$mode b. ... byte-exact" cmp "$tmp/www/big" "$d/one.big"
    check "$mode b. ... nginx served it to Linux's address" \
        grep -q " 200 $((BIG_MB * 1024 * 1024)) $LINUX_IP /big\$" "$d/ng-on/access.log"
    rm -f "$d/one.big"

    local first=$(($(loglines "$d/ng-on/access.log") + 1))
    start=$SECONDS
    fetch "$d/ka"
    check "$mode b. keep-alive: 101 requests, curl exit 0 ($((SECONDS - start)) s)" test "$FETCH_RC" -eq 0
    check "$mode b. ... every body byte-exact" bodies_ok "$d/ka"
    check "$mode b. ... 101 x 200 over 1 connection (curl)" connects_are "$d/ka" 1
    check "$mode b. ... 101 x 200 over 1 connection (nginx's log)" log_conns "$d/ng-on/access.log" "$first" 1

    first=$(($(loglines "$d/ng-on/access.log") + 1))
    start=$SECONDS
    fetch "$d/close" -H 'Connection: close'
    check "$mode b. Connection: close: 101 requests, curl exit 0 ($((SECONDS - start)) s)" \
        test "$FETCH_RC" -eq 0
    check "$mode b. ... every body byte-exact" bodies_ok "$d/close"
    check "$mode b. ... 101 x 200 over 101 connections (curl)" connects_are "$d/close" 101
    check "$mode b. ... 101 x 200 over 101 connections (nginx's log)" log_conns "$d/ng-on/access.log" "$first" 101

    check "$mode b. nginx exits on SIGTERM with status 0" stop "$ng"
    check "$mode b. ... nothing in its error log above info" nginx_clean "$d/ng-on/error.log"
    check "$mode b. ... no tern-preload line" quiet_lib "$d/ng-on.err"
    check "$mode b. ... the file went out by sendfile (trace)" grep -q ' sendfile([0-9]*) = [1-9]' "$d/ng-on.trace"

    # c. sendfile off: nginx reads the file and writes it with writev
    ngconf "$d/ng-off" "$TERN_IP:8080" off
    "${PL[@]}" TERN_TRACE="$d/ng-off.trace" nginx -c "$d/ng-off/nginx.conf" \
        -e "$d/ng-off/error.log" >"$d/ng-off.out" 2>"$d/ng-off.err" &
    ng=$!
    pids+=("$ng")
    check "$mode c. preloaded nginx (sendfile off) answers" wait_for 60 nginx_up "$ng"
    start=$SECONDS
    inns curl -sS --fail -m 100 -o "$d/off.big" http://$TERN_IP:8080/big 2>"$d/off.err"
    check "$mode c. Linux curl: ${BIG_MB} MiB from nginx without sendfile, exit 0 ($((SECONDS - start)) s)" \
        test $? -eq 0
    check "$mode c. ... byte-exact" cmp "$tmp/www/big" "$d/off.big"
    rm -f "$d/off.big"
    check "$mode c. nginx exits on SIGTERM with status 0" stop "$ng"
    check "$mode c. ... nothing in its error log above info" nginx_clean "$d/ng-off/error.log"
    check "$mode c. ... the file went out by writev, not sendfile (trace)" \
        eval "grep -q ' writev([0-9]*) = [1-9]' '$d/ng-off.trace' && ! grep -q ' sendfile(' '$d/ng-off.trace'"

    # d. preloaded curl uploads to Linux
    start=$SECONDS
    local code
    code=$(pl_put http://$LINUX_IP:8002/up-"$mode" "$tmp/upload" "$d/put.err")
    check "$mode d. preloaded $CLIENT PUT: 16 MiB to a Linux PUT sink, 201 ($((SECONDS - start)) s)" \
        test "$code" = 201
    check "$mode d. ... byte-exact" cmp "$tmp/upload" "$tmp/up/up-$mode"
    check "$mode d. ... no tern-preload line" quiet_lib "$d/put.err"
    check "$mode d. ... the sink got it from tern's address" \
        grep -q "^$TERN_IP .*PUT /up-$mode HTTP/1.1\" 201" "$tmp/sink.log"
    rm -f "$tmp/up/up-$mode"
}

run_pass tun
run_pass tap
summary
