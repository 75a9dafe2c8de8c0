#!/usr/bin/env bash
# The README's "Unmodified programs on tern" block runs verbatim (issue 15):
# the first ```sh block under that heading is extracted and run as it is
# written, from a folder whose build/ holds the tern binary and
# libtern_preload.so under test, with a `sudo` that runs its arguments (CI
# is root and may have no sudo). It must end with status 0, both curls
# must have printed the page (the preloaded curl fetching from Linux, and
# Linux's curl fetching from the preloaded Python server), and nothing may
# be left behind (processes in the namespace, the namespace). Its waits
# are the README's own, bounded here by a 120 s timeout.
set -u
tern=$(readlink -f "${1:?tern binary}")
src=${2:-$(dirname "$0")/../..}
lib=$(dirname "$tern")/libtern_preload.so
work=$(mktemp -d)
cleanup() {
    ip netns pids tern-preload 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del tern-preload 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
for tool in ip curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is not installed"
        exit 1
    fi
done
if [ ! -f "$lib" ]; then
    echo "FAIL: $lib was not built"
    exit 1
fi
if ip netns list | awk '{print $1}' | grep -qx tern-preload; then
    echo "readme preload: a namespace tern-preload exists already (someone's demo?); not touching it"
    exit 1
fi
. "$(dirname "$0")/lib_readme.sh" || exit 1
readme_block "$src/README.md" "Unmodified programs on tern" "$work/demo.sh"
if [ "$(grep -c 'libtern_preload.so' "$work/demo.sh")" -lt 2 ]; then
    echo "readme preload: the block was not found in README.md"
    exit 1
fi
mkdir -p "$work/tree/build"
ln -sf "$lib" "$work/tree/build/libtern_preload.so"
readme_run "$tern" "$work/demo.sh" "$work/out" "$work/err"
rc=$?
readme_check "the block ends with status 0 (got $rc)" [ "$rc" -eq 0 ]
readme_check "both curls printed the page (preloaded client, preloaded server)" \
    sh -c "test \"\$(grep -c '^hello through tern\$' '$work/out')\" -eq 2"
ns_gone() { ! ip netns list | awk '{print $1}' | grep -qx tern-preload; }
readme_check "the namespace is gone" ns_gone
readme_done
