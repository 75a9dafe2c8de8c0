#!/bin/bash
# tests/shell/test_bench.sh: the `tern bench` command line.
#
# Usage: bash test_bench.sh <tern binary> <source dir>
# Runs a short `tern bench --json --quick` and checks that the output is one
# JSON object whose figures are all positive numbers (the memory and
# packet-time keys of issue 10: present and non-negative, -1 meaning "not
# measured"; no heap growth after tern_stack_new), that no transfer carried
# corrupt data, and that every bad option is refused with status 2.
# No timing assertions: the figures depend on the machine.
set -u

TERN=${1:?usage: test_bench.sh <tern binary> <source dir>}
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

check() { # check <description> <command...>
    local what=$1
    shift
    checks=$((checks + 1))
    if ! "$@"; then
        fail "$what"
    fi
}

status() { # status <expected> <command...>: output in $tmp/out, $tmp/err
    local want=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "  exit $got, expected $want: $*" >&2
        return 1
    fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- A quick run: one JSON object, every figure positive ---------------------

check "--json --quick exits 0" status 0 "$TERN" bench --json --quick --bytes 4M --cycles 500
cp "$tmp/out" "$tmp/bench.json"

check_json() {
    if ! command -v python3 >/dev/null; then
        check_json_jq
        return
    fi
    python3 - "$tmp/bench.json" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
want = ["cores", "goodput_mss1460_gbps", "goodput_mss65495_gbps", "linux_loopback_gbps",
        "linux_loopback_mss1460_gbps", "ratio_goodput_mss1460", "ratio_goodput_mss65495",
        "abort_cycles_per_s", "graceful_cycles_per_s", "linux_abort_cycles_per_s",
        "linux_graceful_cycles_per_s", "ratio_abort_cycles", "ratio_graceful_cycles",
        "idle_conn_bytes", "impaired_goodput_mbps", "impaired_link_mbps",
        "goodput_ipv6_mss1440_gbps", "ratio_ipv6_ipv4"]
# Issue 10's keys: bytes per record may be 0 (a table the stack does not
# have yet); -1 says "not measured", which a quick run must not print.
new = ["idle_conn_bytes_1m", "default_stack_bytes", "time_wait_bytes", "syn_cache_bytes",
       "pkt_ns_1", "pkt_ns_10k", "pkt_ns_1m", "pkt_ns_1m_over_1", "idle_conns_zero_window",
       "idle_conns_1m_zero_window", "large_wall_s"]
positive = ["idle_conn_bytes_1m", "default_stack_bytes", "pkt_ns_1", "pkt_ns_10k", "pkt_ns_1m",
            "pkt_ns_1m_over_1", "time_wait_conns", "syn_burst", "syn_burst_synacks"]
# No allocation after tern_stack_new: not with idle connections, not when
# connections enter TIME-WAIT, not for a burst of half-open handshakes.
zero = ["idle_conn_growth_bytes", "time_wait_growth_bytes", "syn_cache_growth_bytes"]
bad = [k for k in want + new + positive + zero if k not in d]
for k, v in d.items():
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        continue
    if k in zero:
        ok = v == 0
    elif k in new and k not in positive:
        ok = v >= 0
    else:
        ok = v > 0
    if not ok:
        bad.append("%s=%r" % (k, v))
if d.get("idle_conn_bytes_1m_estimated") is not False:
    bad.append("idle_conn_bytes_1m_estimated=%r" % d.get("idle_conn_bytes_1m_estimated"))
if d.get("corrupt") is not False:
    bad.append("corrupt=%r" % d.get("corrupt"))
# Issue 10's memory bounds are facts of the code, not of the machine: an
# idle established connection within 512 bytes, a default stack within
# 256 KiB, TIME-WAIT and SYN cache records within 128 bytes each. Issue 14's
# family-neutral connection key (two 16-byte addresses in every TCB and
# record, docs/memory.md) moved the first two to 544 bytes and 264 KiB; its
# IPv6 layer (addresses, reassembly slots, caches: docs/ipv6.md) the second
# to 272 KiB.
limits = {"idle_conn_bytes": 544, "idle_conn_bytes_1m": 544, "default_stack_bytes": 278528,
          "time_wait_bytes": 128, "syn_cache_bytes": 128}
for k, lim in limits.items():
    v = d.get(k)
    if isinstance(v, (int, float)) and v > lim:
        bad.append("%s=%r above %d" % (k, v, lim))
if bad:
    print("missing, not positive or above its bound: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}
# Without python3: the same checks with jq.
check_json_jq() {
    jq -e '(.goodput_mss1460_gbps and .goodput_mss65495_gbps and .linux_loopback_gbps
            and .abort_cycles_per_s and .graceful_cycles_per_s and .idle_conn_bytes
            and .impaired_goodput_mbps and .impaired_link_mbps and .ratio_goodput_mss1460
            and .idle_conn_bytes_1m and .default_stack_bytes and .pkt_ns_1 and .pkt_ns_10k
            and .pkt_ns_1m and .pkt_ns_1m_over_1)
           and ([.time_wait_bytes, .syn_cache_bytes, .idle_conns_zero_window,
                 .idle_conns_1m_zero_window, .large_wall_s] | all(. != null and . >= 0))
           and ([.idle_conn_growth_bytes, .time_wait_growth_bytes, .syn_cache_growth_bytes]
                | all(. == 0))
           and ([to_entries[] | select(.value | type == "number")
                 | select(.key | test("^(time_wait_bytes|syn_cache_bytes|.*growth_bytes|.*zero_window|large_wall_s)$") | not)
                 | .value > 0] | all)
           and .idle_conn_bytes_1m_estimated == false
           and .corrupt == false' "$tmp/bench.json" >/dev/null
}
check "JSON parses; every figure is a positive number; no corrupt data" check_json

# The table form names each figure.
check "text run exits 0" status 0 "$TERN" bench --quick --bytes 1M --cycles 200
for w in "bulk MSS 1460" "bulk MSS 65495" "cycles, abort" "cycles, graceful" \
    "memory per idle connection" "impaired bulk" "cores" "default stack" "TIME-WAIT record" \
    "SYN cache entry" "packet time, 1 connection" "packet time, large"; do
    check "text output names '$w'" grep -q "$w" "$tmp/out"
done
# The impaired line says which loss detection ran: RACK-TLP by default,
# RFC 6675 with --loss rfc6675 (issue 12).
check "impaired line names RACK-TLP by default" grep -q "RACK-TLP loss detection" "$tmp/out"
check "--loss rfc6675 exits 0" status 0 "$TERN" bench --quick --skip-large --bytes 1M --cycles 100 \
    --loss rfc6675
check "--loss rfc6675: the impaired line says so" grep -q "RFC 6675 loss detection" "$tmp/out"

# --skip-large: the *_1m keys are there and say "not measured".
check "--skip-large exits 0" status 0 "$TERN" bench --json --quick --skip-large --bytes 1M --cycles 100
skip_large_json() {
    python3 - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["idle_conn_bytes_1m"] == -1 and d["pkt_ns_1m"] == -1 and d["pkt_ns_1"] > 0 else 1)
PY
}
if command -v python3 >/dev/null; then
    check "--skip-large prints -1 for the *_1m keys" skip_large_json
fi

# More than 16,384 idle connections (one client's ephemeral range) works.
check "--idle-conns 16500 exits 0" status 0 "$TERN" bench --json --quick --skip-large \
    --bytes 1M --cycles 100 --idle-conns 16500
check "--idle-conns 16500 measures" grep -Eq '"idle_conn_bytes": [1-9]' "$tmp/out"

# The callgrind modes.
check "--bulk-only exits 0" status 0 "$TERN" bench --bulk-only 1M
check "--bulk-only reports the bytes" grep -q "^bulk 1048576 bytes" "$tmp/out"
check "--cycles-only exits 0" status 0 "$TERN" bench --cycles-only 100
check "--cycles-only reports no failure" grep -q "100 abort cycles, .* 0 failed" "$tmp/out"

# ---- Help and bad flags -------------------------------------------------------

check "--help exits 0" status 0 "$TERN" bench --help
check "--help names --json" grep -q -- "--json" "$tmp/out"
check "tern --help lists bench" sh -c "'$TERN' --help | grep -q '^  bench '"
for args in "--bogus" "--bytes" "--bytes 0" "--bytes 12X" "--bytes -5" "--cycles abc" \
    "--reps 0" "--reps 99" "--timeout 0" "--timeout x" "--bulk-only 1M --cycles-only 5" \
    "--idle-conns 1000001" "--large-conns 0" "--mid-conns x" "--pkts" "--loss" "--loss reno" \
    "extra"; do
    # shellcheck disable=SC2086
    check "bench $args exits 2" status 2 "$TERN" bench $args
    check "bench $args says why on stderr" test -s "$tmp/err"
done

echo "test_bench: $((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
