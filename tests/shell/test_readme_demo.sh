#!/usr/bin/env bash
# The README's TUN demo runs verbatim (issue 13 item 5): the first ```sh
# block under "## Running tern on a TUN device" is extracted and run as it
# is written, from a folder whose build/tern is the binary under test, with
# a `sudo` that runs its arguments (CI is root and may have no sudo). It
# must end with status 0, every server must have answered, and nothing of
# it may be left behind (processes in the namespace, the namespace). Its
# waits are the README's own (`until ... ; do sleep 0.1; done`), bounded
# here by a 120 s timeout.
set -u
tern=$(readlink -f "${1:?tern binary}")
src=${2:-$(dirname "$0")/../..}
work=$(mktemp -d)
cleanup() {
    ip netns pids tern-demo 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del tern-demo 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
if ip netns list | grep -qw tern-demo; then
    echo "readme demo: a namespace tern-demo exists already (someone's demo?); not touching it"
    exit 1
fi
. "$(dirname "$0")/lib_readme.sh" || exit 1
readme_block "$src/README.md" "Running tern on a TUN device" "$work/demo.sh"
if [ "$(grep -c 'tern tun' "$work/demo.sh")" -lt 3 ]; then
    echo "readme demo: the block was not found in README.md"
    exit 1
fi
rm -f /tmp/got.html
readme_run "$tern" "$work/demo.sh" "$work/out" "$work/err"
rc=$?
readme_check "the block ends with status 0 (got $rc)" [ "$rc" -eq 0 ]
readme_check "curl got the page from tern's HTTP server" grep -q '^hello from tern$' "$work/out"
readme_check "curl -I got tern's headers" grep -q '^HTTP/1.1 200' "$work/out"
readme_check "nc got its line back from tern's echo server" grep -qx 'hi' "$work/out"
readme_check "tern's get fetched the Linux server's page" \
    sh -c 'test "$(cat /tmp/got.html 2>/dev/null)" = "hello from tern"'
readme_check "the namespace is gone" sh -c '! ip netns list | grep -qw tern-demo'
rm -f /tmp/got.html
readme_done
