#!/usr/bin/env bash
# tests/shell/test_preload_dns.sh: with TERN_DNS set, a preloaded program's
# getaddrinfo is tern's resolver over tern's stack (docs/preload.md): an
# unmodified curl (whose resolver runs getaddrinfo on a thread of its own)
# fetches a page by a name that only dnsmasq, on the Linux side of the TUN,
# knows; dnsmasq logs the query from tern's address; an unknown name fails
# as curl reports a name that does not resolve (exit 6). In a namespace
# this test creates and removes. Needs root, ip, curl, python3, dnsmasq:
# missing ones FAIL.
set -u
TERN=$(readlink -f "${1:?usage: test_preload_dns.sh <tern binary> <source dir>}")
LIB=$(dirname "$TERN")/libtern_preload.so
NS=tern-pl-dns-$$
DEV=tpldns0
. "$(dirname "$0")/lib_test.sh" || exit 1
require_root "a namespace and a TUN device"
require_tun
require_tools ip curl python3 dnsmasq
[ -f "$LIB" ] || { echo "FAIL: $LIB was not built"; exit 1; }
make_ns
# The device exists before the program (dnsmasq binds to its address);
# the preloaded program attaches to it.
ip -n "$NS" tuntap add dev "$DEV" mode tun
ip -n "$NS" addr add 10.79.41.1/24 dev "$DEV"
ip -n "$NS" link set "$DEV" up
mkdir -p "$tmp/www"
head -c 2M /dev/urandom >"$tmp/www/f.bin"
inns dnsmasq --conf-file=/dev/null --no-daemon --interface="$DEV" --bind-interfaces --no-resolv \
    --host-record=web.tern.test,10.79.41.1 --log-queries >"$tmp/dnsmasq.log" 2>&1 &
pids+=($!)
inns python3 -m http.server 8000 --bind 0.0.0.0 --directory "$tmp/www" >"$tmp/http.log" 2>&1 &
pids+=($!)
servers_up() { inns curl -s -o /dev/null http://10.79.41.1:8000/ && grep -q 'started' "$tmp/dnsmasq.log"; }
check "dnsmasq and the web server are up" wait_for 20 servers_up
pre() { inns env LD_PRELOAD="$LIB" TERN_DEV="$DEV" TERN_ADDR=10.79.41.2/24 TERN_DNS=10.79.41.1 "$@"; }
pre curl -sS --fail -m 30 -o "$tmp/got.bin" http://web.tern.test:8000/f.bin
check "the preloaded curl fetched http://web.tern.test:8000/f.bin" [ $? -eq 0 ]
check "2 MiB byte-exact" cmp -s "$tmp/www/f.bin" "$tmp/got.bin"
check "dnsmasq answered tern's query" grep -q 'query\[A\] web.tern.test from 10.79.41.2' "$tmp/dnsmasq.log"
pre curl -s -m 30 -o /dev/null http://nowhere.tern.test:8000/
rc=$?
check "an unknown name: curl cannot resolve it (exit 6, got $rc)" [ "$rc" -eq 6 ]
# localhost is the loopback's, not the DNS server's (RFC 6761 6.3): libc
# answers it, and the connection stays on the kernel's loopback.
pre curl -sS --fail -m 30 -o "$tmp/lo.bin" http://localhost:8000/f.bin
check "the preloaded curl fetched http://localhost:8000/ (the kernel's loopback)" [ $? -eq 0 ]
check "2 MiB byte-exact" cmp -s "$tmp/www/f.bin" "$tmp/lo.bin"
check "no query for localhost reached dnsmasq" sh -c "! grep -q 'localhost' '$tmp/dnsmasq.log'"
summary
