# tests/shell/lib_test.sh: scaffolding shared by the shell tests that run in
# network namespaces of their own (test_churn_http.sh, test_churn_socket.sh,
# test_synflood_tap.sh, test_interop_urgent.sh). Not a test itself: tests/CMakeLists.txt registers
# only test_*.sh. A script sources it near its top, after `set -u`:
#     . "$(dirname "$0")/lib_test.sh" || exit 1
#
# Sourcing it sets failures=0, checks=0, pids=() and ns_list=(), makes the
# temporary directory $tmp, and installs the traps: on EXIT, cleanup(); on
# SIGINT/SIGTERM, exit 1 (which runs cleanup() too).
#
# The script sets NS (the namespace's name, unique per run: e.g. name-$$)
# before it calls make_ns (a script may make several, one after another:
# make_ns records each in ns_list), and appends to pids every background
# process it starts. cleanup() kills (-9) and reaps each of pids, then, in
# each namespace make_ns made, every process still there, and deletes it; if
# a check failed or the script exits non-zero, it prints the last 20 lines of
# each $tmp/*.log, $tmp/*.err and $tmp/*.out to stderr; it removes $tmp.
#
# Functions:
#   check <description> <command...>  runs the command: "ok: [Ns] ..." on
#                         stdout, or "FAIL: [Ns] ..." on stderr and a failure
#   pass / fail <text>    print those lines (fail counts a failure)
#   require_tools <tool...>  exits 1 unless each tool is on PATH
#   require_root <what it needs root for>  exits 1 unless run as root
#   require_tun           exits 1 unless /dev/net/tun exists
#   make_ns               creates $NS (or exits 1), sets lo up, IPv6 off
#   inns <command...>     runs the command in $NS
#   wait_for <seconds> <command...>  polls the command every 50 ms; 1 if the
#                         bound passes first
#   exited <pid>          true once the process is gone
#   stop <pid>            SIGTERM, at most 20 s, then -9; its exit status
#   summary               prints "N passed, N failed"; its status is 0 only
#                         if no check failed (the script's last command)

ns_list=()
failures=0
checks=0
pids=()

fail() {
    echo "FAIL: [${SECONDS}s] $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: [${SECONDS}s] $*"; }

check() { # check <description> <command...>
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then pass "$what"; else fail "$what"; fi
}

tmp=$(mktemp -d)
cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    local n
    for n in "${ns_list[@]}"; do
        # Whatever still runs in our own namespaces was started by this test.
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    if [ "$failures" -ne 0 ] || [ "$rc" -ne 0 ]; then
        for f in "$tmp"/*.log "$tmp"/*.err "$tmp"/*.out; do
            [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; } >&2
        done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # run the EXIT trap on a kill too

require_tools() {
    local tool
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "FAIL: $tool is not installed" >&2
            exit 1
        fi
    done
}
require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "FAIL: this test needs root ($1)" >&2
        exit 1
    fi
}
require_tun() {
    if [ ! -c /dev/net/tun ]; then
        echo "FAIL: /dev/net/tun is missing" >&2
        exit 1
    fi
}
make_ns() {
    if ! ip netns add "$NS"; then
        echo "FAIL: cannot create network namespace $NS" >&2
        exit 1
    fi
    ns_list+=("$NS")
    ip netns exec "$NS" ip link set lo up
    ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
inns() { ip netns exec "$NS" "$@"; }

# wait_for <seconds> <command...>: polls the command every 50 ms.
wait_for() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    while ! "$@" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
    return 0
}
exited() { ! kill -0 "$1" 2>/dev/null; }

# stop <pid>: SIGTERM, then its exit status (waits at most 20 s).
stop() {
    kill -TERM "$1" 2>/dev/null
    wait_for 20 exited "$1" || kill -9 "$1" 2>/dev/null
    wait "$1"
}

summary() {
    echo "$((checks - failures)) passed, $failures failed"
    test "$failures" -eq 0
}
