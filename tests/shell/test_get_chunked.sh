#!/bin/bash
# tests/shell/test_get_chunked.sh: `tern tun get` against a Linux HTTP/1.1
# server that sends its bodies chunked (RFC 9112 7.1; issue 13, item 5).
# Before, get wrote the chunk framing into the output file, exited 0, and
# its summary counted the request's bytes.
#   a. a SIZE-byte body in chunks of many sizes (some with chunk extensions,
#      a trailer field after the last chunk): the file is byte-exact
#      (sha256), exit 0, and the summary gives the body's byte count.
#   b. an empty chunked body (only the last chunk): an empty file, exit 0.
#   c. bad chunk sizes ('zz', '1g'): exit 1, a message that says so.
#   d. the connection closes before the last chunk: exit 1, "truncated".
#   e. a Transfer-Encoding other than chunked: exit 1, "unsupported".
#
# Usage: bash test_get_chunked.sh <tern binary> <source dir>
# Environment: CHUNKED_KB (default 2048) size of the body of case a.
#
# Needs root (CI runs it as root), ip(8), /dev/net/tun, python3. Anything
# missing is a FAILURE, not a skip. Everything runs in one network
# namespace, tern-gc-<pid>, deleted by the EXIT trap even on failure; the
# addresses (10.77.41.0/24) exist only inside it. Waits are on events with
# generous bounds (the server's ready file, tern's exit under timeout).
set -u

TERN=${1:?usage: test_get_chunked.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
KB=${CHUNKED_KB:-2048}
TERN_IP=10.77.41.2
LINUX_IP=10.77.41.1
NS=tern-gc-$$
# shellcheck source=tests/shell/lib_test.sh
. "$(dirname "$0")/lib_test.sh" || exit 1

require_tools ip python3 sha256sum timeout
require_root "a network namespace and a TUN device"
require_tun
make_ns

sha() { sha256sum "$1" | cut -d' ' -f1; }
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(sha "$1")" = "$(sha "$2")" ]; }

head -c $((KB * 1024)) /dev/urandom >"$tmp/data.bin"

# The server: http.server with HTTP/1.1 and a handler that writes each
# body chunked by hand. It binds once tern's device (and so LINUX_IP)
# exists, and touches READY when it listens.
cat >"$tmp/server.py" <<'EOF'
import http.server, random, socket, sys, time
ip, port, data_path, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
data = open(data_path, "rb").read()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def head(self, te="chunked"):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", te)
        self.send_header("Connection", "close")
        self.end_headers()
    def chunk(self, b, ext=""):
        self.wfile.write(b"%x%s\r\n" % (len(b), ext.encode()) + b + b"\r\n")
    def do_GET(self):
        if self.path == "/big":
            self.head()
            rng = random.Random(7)
            off = 0
            while off < len(data):
                n = rng.choice([1, 2, 15, 16, 255, 1000, 4096, 16383, 65536, 70001])
                piece = data[off:off + n]
                self.chunk(piece, ";name=\"v\"" if rng.random() < 0.2 else "")
                off += len(piece)
            self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        elif self.path == "/empty":
            self.head()
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/badsize":
            self.head()
            self.chunk(b"hello")
            self.wfile.write(b"zz\r\nhello\r\n0\r\n\r\n")
        elif self.path == "/badsize2":
            self.head()
            self.chunk(b"hello")
            self.wfile.write(b"1g\r\nh\r\n0\r\n\r\n")
        elif self.path == "/truncated":
            self.head()
            self.chunk(data[:10000])
            self.chunk(data[10000:20000])
        elif self.path == "/gzip":
            self.head("gzip")
            self.wfile.write(b"not really gzip")
        else:
            self.send_error(404)
        self.wfile.flush()
        self.close_connection = True

deadline = time.time() + 60
while True:
    try:
        srv = http.server.ThreadingHTTPServer((ip, port), H)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.05)
open(ready, "w").close()
srv.serve_forever()
EOF

# tern_get <name> <path>: tern tun get http://LINUX_IP:8000<path> -o
# $tmp/<name>.body; its log in $tmp/<name>.log; returns its status. The
# device is the persistent one made below (tern attaches to it).
tern_get() {
    timeout 120 ip netns exec "$NS" "$TERN" tun --dev tgc0 --addr $TERN_IP/24 --timeout 30 \
        get "http://$LINUX_IP:8000$2" \
        -o "$tmp/$1.body" >"$tmp/$1.out" 2>"$tmp/$1.log"
}

# The server needs LINUX_IP, which exists only while a tern holds the
# device: a persistent device with the address keeps it between runs.
inns ip tuntap add dev tgc0 mode tun
inns ip addr add $LINUX_IP/24 dev tgc0
inns ip link set tgc0 up
inns python3 "$tmp/server.py" 0.0.0.0 8000 "$tmp/data.bin" "$tmp/ready" 2>"$tmp/server.err" &
pids+=("$!")
check "the chunking server listens" wait_for 30 test -e "$tmp/ready"

# ---- a. a chunked body of SIZE bytes ---------------------------------------------
tern_get big /big
rc=$?
check "a. get of a $KB KiB chunked body: exit 0 (got $rc)" test $rc -eq 0
check "a. the body is byte-exact (chunk framing decoded)" same_file "$tmp/data.bin" "$tmp/big.body"
check "a. the summary counts the body's $((KB * 1024)) bytes" \
    grep -q "^tern: $((KB * 1024)) bytes in" "$tmp/big.log"
grep 'bytes in' "$tmp/big.log" | sed 's/^/  /'

# ---- b. an empty chunked body -----------------------------------------------------
tern_get empty /empty
rc=$?
check "b. empty chunked body: exit 0 (got $rc)" test $rc -eq 0
check "b. ... and an empty file" test -f "$tmp/empty.body" -a ! -s "$tmp/empty.body"

# ---- c. a bad chunk size ------------------------------------------------------------
tern_get bad /badsize
rc=$?
check "c. bad chunk size: exit 1 (got $rc)" test $rc -eq 1
check "c. ... with a message naming it" grep -q "bad chunk size 'zz'" "$tmp/bad.log"
sed 's/^/  /' "$tmp/bad.log" | grep -v 'up,'

tern_get bad2 /badsize2
rc=$?
check "c. chunk size '1g' (hex, then not an extension): exit 1 (got $rc)" test $rc -eq 1
check "c. ... with a message naming it" grep -q "bad chunk size '1g'" "$tmp/bad2.log"

# ---- d. no last chunk -----------------------------------------------------------------
tern_get trunc /truncated
rc=$?
check "d. closed before the last chunk: exit 1 (got $rc)" test $rc -eq 1
check "d. ... 'response truncated'" grep -q "response truncated" "$tmp/trunc.log"

# ---- e. a coding we do not decode -------------------------------------------------
tern_get gzip /gzip
rc=$?
check "e. Transfer-Encoding: gzip: exit 1 (got $rc)" test $rc -eq 1
check "e. ... 'unsupported Transfer-Encoding'" grep -q "unsupported Transfer-Encoding 'gzip'" \
    "$tmp/gzip.log"

summary
