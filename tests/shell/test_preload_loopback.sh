#!/usr/bin/env bash
# tests/shell/test_preload_loopback.sh: under libtern_preload.so, loopback
# stays the kernel's (docs/preload.md): a preloaded program's socket bound
# or connected to 127.0.0.1 or ::1 becomes a kernel socket under the same
# number, with its options, so the program still reaches its local peers
# while its other sockets are on tern. In a namespace this test creates
# and removes; no other address is touched.
#
# Checks: a preloaded curl fetches 8 MiB byte-exact from a Linux server on
# 127.0.0.1 and on ::1; Linux curl fetches from a preloaded Python server
# bound to 127.0.0.1; the same preloaded curl process also reaches a Linux
# server through tern (both kinds of socket in one program); TERN_TRACE
# shows the hand-over. Needs root, ip, curl, python3: missing ones FAIL.
set -u
TERN=$(readlink -f "${1:?usage: test_preload_loopback.sh <tern binary> <source dir>}")
LIB=$(dirname "$TERN")/libtern_preload.so
NS=tern-pl-lo-$$
. "$(dirname "$0")/lib_test.sh" || exit 1
require_root "a namespace and a TUN device"
require_tun
require_tools ip curl python3
[ -f "$LIB" ] || { echo "FAIL: $LIB was not built"; exit 1; }
make_ns
inns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.lo.disable_ipv6=0
mkdir -p "$tmp/www"
head -c 8M /dev/urandom >"$tmp/www/f.bin"
pre() {
    inns env LD_PRELOAD="$LIB" TERN_DEV=tplo0 TERN_ADDR=10.79.40.2/24 \
        TERN_LINUX_ADDR=10.79.40.1/24 TERN_TRACE="$tmp/trace.$1" "${@:2}"
}
answers() { inns curl -gs -o /dev/null "$1"; }

inns python3 -m http.server 8000 --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/lo4.log" 2>&1 &
pids+=($!)
inns python3 -m http.server 8001 --bind ::1 --directory "$tmp/www" >"$tmp/lo6.log" 2>&1 &
pids+=($!)
inns python3 -m http.server 8002 --bind 0.0.0.0 --directory "$tmp/www" >"$tmp/any.log" 2>&1 &
pids+=($!)
check "Linux servers on 127.0.0.1, ::1 and 0.0.0.0 answer" \
    wait_for 20 sh -c "$(declare -f inns answers); NS=$NS; answers http://127.0.0.1:8000/ && answers 'http://[::1]:8001/' && answers http://127.0.0.1:8002/"

# One preloaded curl, three transfers: loopback v4, loopback v6, and
# through tern to the kernel's end of the TUN.
pre curl curl -gsS --fail -m 60 -o "$tmp/a.bin" http://127.0.0.1:8000/f.bin \
    -o "$tmp/b.bin" 'http://[::1]:8001/f.bin' -o "$tmp/c.bin" http://10.79.40.1:8002/f.bin
check "the preloaded curl ran its three transfers" [ $? -eq 0 ]
check "8 MiB from 127.0.0.1, byte-exact" cmp -s "$tmp/www/f.bin" "$tmp/a.bin"
check "8 MiB from ::1, byte-exact" cmp -s "$tmp/www/f.bin" "$tmp/b.bin"
check "8 MiB through tern from 10.79.40.1, byte-exact" cmp -s "$tmp/www/f.bin" "$tmp/c.bin"
check "the trace shows two hand-overs to the kernel" \
    sh -c "test \"\$(grep -c 'to-kernel' '$tmp/trace.curl')\" -eq 2"
check "and the tern transfer's reads on tern" grep -q 'read\|recv' "$tmp/trace.curl"
check "tern carried the third transfer (Linux logged 10.79.40.2)" grep -q '^10.79.40.2 ' "$tmp/any.log"

# A preloaded server bound to 127.0.0.1 is the kernel's: Linux reaches it.
pre srv python3 -m http.server 8100 --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/pre.log" 2>&1 &
pids+=($!)
check "Linux curl reaches the preloaded server on 127.0.0.1" wait_for 20 answers http://127.0.0.1:8100/f.bin
inns curl -sS --fail -m 60 -o "$tmp/d.bin" http://127.0.0.1:8100/f.bin
check "8 MiB from it, byte-exact" cmp -s "$tmp/www/f.bin" "$tmp/d.bin"

summary
