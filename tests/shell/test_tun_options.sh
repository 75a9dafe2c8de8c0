#!/bin/bash
# tests/shell/test_tun_options.sh: the TCP options of `tern tun` (issue 12:
# --loss, --cc, --prr, --ecn, --sndbuf, --trace; --stats' TCP counters) are
# documented in --help, and a bad value is a usage error (status 2, a
# message naming the option) before any device is touched, so no root and
# no namespace are needed. bench/lossy_goodput.sh (test_bench_lossy.sh)
# runs them on a real path.
#
# Usage: bash test_tun_options.sh <tern binary> <source dir>
set -u
TERN=${1:?usage: test_tun_options.sh <tern binary> <source dir>}
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$TERN" tun --help >"$tmp/help" 2>&1 || fail "tern tun --help exits 0"
for o in '--loss rack|rfc6675' '--cc newreno|cubic' '--prr ssrb|crb|off' \
    '--ecn on|passive|off' '--sndbuf KIB' '--trace FILE' 'retransmission timer'; do
    if grep -qF -- "$o" "$tmp/help"; then pass "--help explains '$o'"; else fail "--help lacks '$o'"; fi
done

# Each bad value: status 2 and "invalid value '<v>' for <option>".
bad() {
    local opt=$1 val=$2
    "$TERN" tun --dev tx0 --addr 10.99.0.2/24 "$opt" "$val" send 10.99.0.1:9 /dev/null \
        >"$tmp/out" 2>&1
    local rc=$?
    if [ $rc -eq 2 ] && grep -qF -- "invalid value '$val' for $opt" "$tmp/out"; then
        pass "$opt $val: usage error"
    else
        fail "$opt $val: status $rc, said: $(head -c 200 "$tmp/out")"
    fi
}
bad --loss fack
bad --loss ''
bad --cc bbr
bad --prr yes
bad --ecn maybe
bad --sndbuf 0
bad --sndbuf 70000
bad --sndbuf 12k
# A missing value names the option.
"$TERN" tun --dev tx0 --addr 10.99.0.2/24 send 10.99.0.1:9 /dev/null --cc >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -qF -- "option needs a value: --cc" "$tmp/out"; then
    pass "--cc without a value: usage error"
else
    fail "--cc without a value: status $rc, said: $(head -c 200 "$tmp/out")"
fi

if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
