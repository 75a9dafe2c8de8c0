#!/bin/bash
# bench/compare.sh: `tern bench --json` of another git ref against this
# tree's, run alternately on the same machine, for the figures that must not
# fall (issue 10: bulk goodput and abort/graceful cycles within 10 % of the
# main it started from, measured in the same run).
#
# Usage: bash bench/compare.sh [OLD_REF] [-- BENCH_ARGS...]
#   OLD_REF     default a5c82e8 (main when issue 10's work began)
#   BENCH_ARGS  passed to both binaries (default: none, i.e. the full
#               512 MiB x 3 bulk runs and 20,000 x 3 cycles)
# Environment:
#   PAIRS=N     old/new pairs, at least 3 (default 3)
#   NEW_TERN=F  the new binary (default build/tern of this tree, built if
#               missing or older than the sources)
#
# Builds OLD_REF (RelWithDebInfo, the tern binary only) in a temporary git
# worktree that is removed on exit, then runs old, new, old, new... and
# prints for each key the median of each side, new/old, whether new is
# within 10 % of old or above it (new/old >= 0.90), and every run's value;
# the Linux loopback figures measured in the same runs are printed as the
# control (they show the machine's noise). The
# load average (/proc/loadavg) is printed before and after. The new binary
# gets --skip-large when it knows it (the million-connection figures take
# memory and time and are measured after the compared ones); an old binary
# that lacks a key prints "-" for it. Exit status: 0 when every compared key
# is within 10 %, 1 when one is not, 2 when a build or a run failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD_REF=a5c82e8
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    OLD_REF=$1
    shift
fi
[ "${1:-}" = "--" ] && shift
ARGS=("$@")
PAIRS=${PAIRS:-3}
if ! [ "$PAIRS" -ge 3 ] 2>/dev/null; then
    echo "compare.sh: PAIRS must be a number >= 3" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "compare.sh: needs python3" >&2; exit 2; }

tmp=$(mktemp -d)
wt="$tmp/old"
cleanup() {
    if [ -d "$wt" ]; then
        git -C "$ROOT" worktree remove --force "$wt" >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

old_sha=$(git -C "$ROOT" rev-parse --verify -q "$OLD_REF^{commit}") || {
    echo "compare.sh: unknown ref '$OLD_REF'" >&2
    exit 2
}

echo "== building $OLD_REF ($old_sha) in a temporary worktree"
git -C "$ROOT" worktree add --detach "$wt" "$old_sha" >/dev/null 2>&1 || {
    echo "compare.sh: git worktree add failed" >&2
    exit 2
}
if ! { cmake -S "$wt" -B "$wt/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_TESTS=OFF \
    -DTERN_EXAMPLES=OFF >"$tmp/old-build.log" 2>&1 &&
    cmake --build "$wt/build" -j2 --target tern_cli >>"$tmp/old-build.log" 2>&1; }; then
    tail -20 "$tmp/old-build.log" >&2
    echo "compare.sh: building $OLD_REF failed" >&2
    exit 2
fi
OLD="$tmp/tern-old"
cp "$wt/build/tern" "$OLD"

NEW=${NEW_TERN:-$ROOT/build/tern}
if [ -z "${NEW_TERN:-}" ]; then
    echo "== building this tree ($ROOT/build)"
    if ! { cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >"$tmp/new-build.log" 2>&1 &&
        cmake --build "$ROOT/build" -j2 --target tern_cli >>"$tmp/new-build.log" 2>&1; }; then
        tail -20 "$tmp/new-build.log" >&2
        echo "compare.sh: building this tree failed" >&2
        exit 2
    fi
fi
[ -x "$NEW" ] || { echo "compare.sh: no binary at $NEW" >&2; exit 2; }

NEW_ARGS=("${ARGS[@]}")
if "$NEW" bench --help | grep -q -- --skip-large; then
    NEW_ARGS+=(--skip-large)
fi

load_before=$(cat /proc/loadavg)
echo "== $PAIRS pairs, old then new; bench args: ${ARGS[*]:-(none)}"
for i in $(seq 1 "$PAIRS"); do
    for side in old new; do
        if [ $side = old ]; then
            bin=$OLD
            args=("${ARGS[@]}")
        else
            bin=$NEW
            args=("${NEW_ARGS[@]}")
        fi
        out="$tmp/$side.$i.json"
        t0=$SECONDS
        if ! "$bin" bench --json "${args[@]}" >"$out" 2>"$tmp/$side.$i.err"; then
            echo "compare.sh: $side run $i failed:" >&2
            cat "$tmp/$side.$i.err" >&2
            exit 2
        fi
        echo "   $side run $i: $((SECONDS - t0)) s"
    done
done
load_after=$(cat /proc/loadavg)

python3 - "$tmp" "$PAIRS" "$OLD_REF" "$load_before" "$load_after" <<'PY'
import json, os, statistics, sys

tmp, pairs, ref, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
runs = {s: [json.load(open(os.path.join(tmp, "%s.%d.json" % (s, i + 1)))) for i in range(pairs)]
        for s in ("old", "new")}
compared = ["goodput_mss1460_gbps", "goodput_mss65495_gbps", "abort_cycles_per_s",
            "graceful_cycles_per_s"]
control = ["linux_loopback_gbps", "linux_loopback_mss1460_gbps", "linux_abort_cycles_per_s",
           "linux_graceful_cycles_per_s"]

def med(side, key):
    v = [r[key] for r in runs[side] if isinstance(r.get(key), (int, float))]
    return statistics.median(v) if len(v) == pairs else None

def fmt(x):
    return "-" if x is None else "%.0f" % x if abs(x) >= 1000 else "%.3f" % x

print("\nmedians of %d runs each; old = %s, new = this tree" % (pairs, ref))
print("  %-30s %12s %12s %9s" % ("key", "old", "new", "new/old"))
worst = True
for group, keys in (("compared", compared), ("control (Linux, same runs)", control)):
    print("  %s:" % group)
    for k in keys:
        o, n = med("old", k), med("new", k)
        r = n / o if o and n is not None else None
        verdict = ""
        if group == "compared":
            ok = r is not None and r >= 0.90
            worst = worst and ok
            verdict = "  ok (>= 0.90)" if ok else "  BELOW 0.90" if r is not None else "  missing"
        print("  %-30s %12s %12s %9s%s" % (k, fmt(o), fmt(n), fmt(r), verdict))
        for side in ("old", "new"):
            v = [fmt(x.get(k)) if isinstance(x.get(k), (int, float)) else "-" for x in runs[side]]
            print("  %-30s   %s runs: %s" % ("", side, " ".join(v)))
print("\nload average before: %s" % before)
print("load average after:  %s" % after)
cores = os.cpu_count() or 1
if max(float(before.split()[0]), float(after.split()[0])) > cores:
    print("the load average exceeded the %d cores: other work ran beside the benchmark, and the "
          "Linux control shows how much noise it made; run again on a quiet machine" % cores)
sys.exit(0 if worst else 1)
PY
