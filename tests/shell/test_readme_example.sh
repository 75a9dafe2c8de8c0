#!/bin/bash
# tests/shell/test_readme_example.sh: the socket program shown in README.md
# ("BSD sockets") is compiled from the README text itself and run: an echo
# server on a TUN device in a network namespace this test creates and
# removes (tern-rx-<pid>, addresses 10.77.0.0/24 inside it only), reached by
# nc from the kernel. Keeps the README true.
#
# Usage: bash test_readme_example.sh <tern binary> <source dir>
# Needs root, ip(8), /dev/net/tun, cc, nc (OpenBSD). Anything missing is a
# failure, never a skip.
set -u
TERN=$(readlink -f "${1:?usage: test_readme_example.sh <tern binary> <source dir>}")
SRC=$(readlink -f "${2:?usage: test_readme_example.sh <tern binary> <source dir>}")
BUILD=$(dirname "$TERN")
NS=tern-rx-$$
tmp=$(mktemp -d)
pid=
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*" >&2; failed=$((failed + 1)); }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { bad "needs root (network namespace, TUN device)"; finish; exit 1; }
for t in ip cc nc; do
    command -v $t >/dev/null || { bad "missing tool: $t"; finish; exit 1; }
done

# The C block between the README's readme-example markers.
awk '/<!-- readme-example: begin/ {on=1; next} /<!-- readme-example: end/ {on=0}
     on && /^```c/ {code=1; next} on && /^```/ {code=0} code' "$SRC/README.md" > "$tmp/echo.c"
lines=$(wc -l < "$tmp/echo.c")
if [ "$lines" -ge 10 ]; then ok "README example extracted ($lines lines)"; else bad "README example not found"; fi

# A sanitizer build's library needs the same runtime linked in.
san=()
grep -q '^TERN_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && san=(-fsanitize=address,undefined)
grep -q '^TERN_TSAN:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && san=(-fsanitize=thread)
if cc -std=c11 -Wall -Wextra -Werror "${san[@]}" -I"$SRC/include" "$tmp/echo.c" "$BUILD/libtern.a" \
    -pthread -o "$tmp/echo" 2> "$tmp/cc.log"; then
    ok "README example compiles with -Wall -Wextra -Werror"
else
    bad "README example does not compile: $(head -5 "$tmp/cc.log")"
    finish
    exit 1
fi

ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || { bad "cannot create namespace"; finish; exit 1; }
ip netns exec "$NS" "$tmp/echo" > "$tmp/out" 2>&1 &
pid=$!
# The device appears with the kernel's address once the runtime is up.
up=0
for _ in $(seq 100); do
    if ip netns exec "$NS" ip -4 addr show dev tern0 2>/dev/null | grep -q 10.77.0.1; then
        up=1
        break
    fi
    sleep 0.05
done
[ $up -eq 1 ] && ok "tern0 is up" || bad "tern0 did not come up: $(cat "$tmp/out")"

head -c 300000 /dev/urandom > "$tmp/data"
got=
for _ in 1 2 3; do # the listener may still be starting: retry a refused connection
    if ip netns exec "$NS" timeout 20 nc -N 10.77.0.2 7 < "$tmp/data" > "$tmp/back" 2> "$tmp/nc.log"; then
        got=1
        break
    fi
    sleep 0.2
done
if [ -n "$got" ] && cmp -s "$tmp/data" "$tmp/back"; then
    ok "nc got its 300000 bytes echoed by the README program"
else
    bad "echo mismatch: sent $(stat -c %s "$tmp/data"), got $(stat -c %s "$tmp/back" 2>/dev/null) ($(cat "$tmp/nc.log"))"
fi
finish
