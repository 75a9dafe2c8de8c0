#!/usr/bin/env bash
# tests/shell/test_preload_semantics.sh: what real programs rely on, under
# libtern_preload.so, differential with Linux's own sockets.
#
#   test_preload_semantics.sh <tern binary> <source dir>
#
# Runs tests/preload/pl_semantics.c (a plain program, linked against
# nothing of tern) case by case, first on Linux's sockets (its expected
# values are Linux's: a wrong expectation fails there), then under the
# preload with tern on a TUN device; the Linux peer is
# tests/preload/pl_echo_server.py. Cases: passthrough (files, pipes,
# AF_UNIX, eventfd untouched beside tern sockets), fork (the child's call
# on an inherited tern socket: EBADFD and one stderr line; close fine; the
# parent's socket works on), exec (close-on-exec honoured), dup (dup, dup2,
# dup3, F_DUPFD_CLOEXEC: every number works, the connection lives until
# the last closes), threads (a thread started before the first socket; a
# blocking read while another thread writes), select (select, poll, epoll
# with tern and kernel fds mixed), signals (a SIGALRM handler interrupts
# blocked recv/accept/connect/send: EINTR without SA_RESTART, a restart
# with it unless SO_RCVTIMEO/SO_SNDTIMEO; poll/select/epoll_wait EINTR).
# Then the environment checks: a bad TERN_* variable exits 2 with one
# `tern-preload:` line.
#
# Needs root (namespaces, TUN), python3; runs in a namespace it creates
# (tern-pl-sem-PID), addresses 10.83.0.0/24 (TUN) and 10.84.0.0/24 (a
# dummy device that swallows Linux's SYNs) inside it only.
set -u
TERN=${1:?usage: test_preload_semantics.sh <tern binary> <source dir>}
SRC=${2:?usage: test_preload_semantics.sh <tern binary> <source dir>}
TERN=$(readlink -f "$TERN")
. "$SRC/tests/shell/lib_test.sh" || exit 1

LIB=$(dirname "$TERN")/libtern_preload.so
PROG=$(dirname "$TERN")/tests/pl_semantics
ECHO=$SRC/tests/preload/pl_echo_server.py
require_root "network namespaces and TUN devices"
require_tun
require_tools python3 ip
for f in "$LIB" "$PROG"; do
    [ -f "$f" ] || { echo "FAIL: $f is not built" >&2; exit 1; }
done

# In the sanitizer build the library needs the sanitizer runtimes first.
PRE=$LIB
if ldd "$LIB" | grep -q libasan; then
    PRE="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $LIB"
    export ASAN_OPTIONS=detect_leaks=0
fi

NS=tern-pl-sem-$$
make_ns
DEV=tplsem0
inns ip tuntap add mode tun name pldum0
inns ip addr add 10.84.0.1/24 dev pldum0
inns ip link set pldum0 up
PORT=5090
inns python3 "$ECHO" $PORT "$tmp/echo.log" &
pids+=($!)
check "echo server listening" wait_for 30 grep -q listening "$tmp/echo.log"

tern_env=(env "LD_PRELOAD=$PRE" TERN_ADDR=10.83.0.2/24 TERN_LINUX_ADDR=10.83.0.1/24
    TERN_DEV=$DEV TERN_LINGER_MS=1000)

# run_case <case>: on Linux, then under the preload; each must pass all
# its checks (the program's own lines are printed).
run_case() {
    local c=$1 rc
    timeout 120 ip netns exec "$NS" "$PROG" "$c" 127.0.0.1 $PORT 127.0.0.1 10.84.0.77 \
        >"$tmp/$c.linux.out" 2>&1
    rc=$?
    sed 's/^/  linux  /' "$tmp/$c.linux.out"
    check "$c on Linux's sockets: every check passes (exit $rc)" test $rc -eq 0
    timeout 120 ip netns exec "$NS" "${tern_env[@]}" "$PROG" "$c" 10.83.0.1 $PORT 10.83.0.2 \
        10.83.0.77 >"$tmp/$c.tern.out" 2>"$tmp/$c.tern.err"
    rc=$?
    sed 's/^/  tern   /' "$tmp/$c.tern.out"
    check "$c under the preload: every check passes (exit $rc)" test $rc -eq 0
    # Differential: the same checks ran and passed on both (fork's child
    # checks differ by design and live in one line).
    check "$c: the same checks passed on both" \
        diff <(grep '^ok' "$tmp/$c.linux.out" | sed 's/: child:.*//') \
        <(grep '^ok' "$tmp/$c.tern.out" | sed 's/: child:.*//')
}

for c in passthrough fork exec dup threads select mmsg signals; do
    run_case $c
done
check "fork: one clear stderr line from the child's call" \
    test "$(grep -c '^tern-preload: .*forked child' "$tmp/fork.tern.err")" -eq 1
check "stderr of the other cases is empty" \
    bash -c "cat $tmp/{passthrough,exec,dup,threads,select,mmsg,signals}.tern.err | grep -v '^\$' | \
             (! grep .)"

# ---- bad environment: exit 2 and one `tern-preload:` line ----
bad_env() { # bad_env <description> <VAR=value...>: runs pl_semantics under them
    local what=$1 rc
    shift
    ip netns exec "$NS" env -u TERN_ADDR "LD_PRELOAD=$PRE" "$@" "$PROG" passthrough \
        10.83.0.1 $PORT >"$tmp/bad.out" 2>"$tmp/bad.err"
    rc=$?
    check "$what: exit 2 (got $rc)" test $rc -eq 2
    check "$what: one line on stderr, 'tern-preload: ...'" \
        bash -c "[ \$(wc -l <$tmp/bad.err) -eq 1 ] && grep -q '^tern-preload: TERN_' $tmp/bad.err"
    sed 's/^/  /' "$tmp/bad.err"
    check "$what: the program did not run" test ! -s "$tmp/bad.out"
}
bad_env "TERN_ADDR missing"
bad_env "TERN_ADDR malformed" TERN_ADDR=10.83.0.300/24
bad_env "TERN_ADDR without a prefix" TERN_ADDR=10.83.0.2
bad_env "TERN_MODE=foo" TERN_ADDR=10.83.0.2/24 TERN_MODE=foo
bad_env "TERN_MTU=1" TERN_ADDR=10.83.0.2/24 TERN_MTU=1
# Not root, or no /dev/net/tun: the stack cannot come up at the first
# socket(). Not run here: this test runs as root, and taking the TUN
# device away from a root process means another mount namespace; the
# message is bring_up()'s "tern-preload: cannot bring up TUN ...".

summary
