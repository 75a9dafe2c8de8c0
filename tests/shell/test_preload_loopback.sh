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
failures=0
checks=0
tmp=$(mktemp -d)
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() {
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then echo "ok: $what"; else fail "$what"; fi
}
cleanup() {
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for tool in ip curl python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
[ -f "$LIB" ] || { echo "FAIL: $LIB was not built"; exit 1; }
ip netns add "$NS" || { echo "FAIL: cannot create namespace $NS (root?)"; exit 1; }
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null
mkdir -p "$tmp/www"
head -c 8M /dev/urandom >"$tmp/www/f.bin"
nsx() { ip netns exec "$NS" "$@"; }
pre() {
    nsx env LD_PRELOAD="$LIB" TERN_DEV=tplo0 TERN_ADDR=10.79.40.2/24 \
        TERN_LINUX_ADDR=10.79.40.1/24 TERN_TRACE="$tmp/trace.$1" "${@:2}"
}
# Wait (at most 20 s) until a URL answers from Linux.
wait_url() {
    for _ in $(seq 200); do
        nsx curl -gs -o /dev/null "$1" && return 0
        sleep 0.1
    done
    return 1
}

nsx python3 -m http.server 8000 --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/lo4.log" 2>&1 &
nsx python3 -m http.server 8001 --bind ::1 --directory "$tmp/www" >"$tmp/lo6.log" 2>&1 &
nsx python3 -m http.server 8002 --bind 0.0.0.0 --directory "$tmp/www" >"$tmp/any.log" 2>&1 &
check "Linux servers on 127.0.0.1, ::1 and 0.0.0.0 answer" \
    sh -c "$(declare -f nsx wait_url); NS=$NS; wait_url http://127.0.0.1:8000/ && wait_url 'http://[::1]:8001/' && wait_url http://127.0.0.1:8002/"

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
check "Linux curl reaches the preloaded server on 127.0.0.1" wait_url http://127.0.0.1:8100/f.bin
nsx curl -sS --fail -m 60 -o "$tmp/d.bin" http://127.0.0.1:8100/f.bin
check "8 MiB from it, byte-exact" cmp -s "$tmp/www/f.bin" "$tmp/d.bin"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
