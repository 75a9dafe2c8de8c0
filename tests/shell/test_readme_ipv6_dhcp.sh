#!/usr/bin/env bash
# The README's IPv6 and DHCP walk-through runs verbatim (issue 14, "Done
# when": a two-minute IPv6 and DHCP walk-through that works verbatim): the
# first ```sh block under "## IPv6 and DHCP in two minutes" is extracted and
# run as it is written, from a folder whose build/tern is the binary under
# test, with a `sudo` that runs its arguments (CI is root and may have no
# sudo). It must end with status 0, curl must have fetched tern's page over
# IPv6, ping -6 must have had its replies, tern's DHCP client must have
# printed a lease from dnsmasq and fetched the page by name, and nothing may
# be left behind (processes in the namespace, the namespace). Its waits are
# the README's own, bounded here by a 120 s timeout.
set -u
tern=$(readlink -f "${1:?tern binary}")
src=${2:-$(dirname "$0")/../..}
work=$(mktemp -d)
cleanup() {
    ip netns pids tern-v6 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del tern-v6 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
for tool in ip curl python3 ping dnsmasq; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is not installed"
        exit 1
    fi
done
if ip netns list | grep -qw tern-v6; then
    echo "readme ipv6/dhcp: a namespace tern-v6 exists already (someone's demo?); not touching it"
    exit 1
fi
. "$(dirname "$0")/lib_readme.sh" || exit 1
readme_block "$src/README.md" "IPv6 and DHCP in two minutes" "$work/demo.sh"
if [ "$(grep -c 'build/tern' "$work/demo.sh")" -lt 2 ]; then
    echo "readme ipv6/dhcp: the block was not found in README.md"
    exit 1
fi
rm -f /tmp/got6.html
readme_run "$tern" "$work/demo.sh" "$work/out" "$work/err"
rc=$?
readme_check "the block ends with status 0 (got $rc)" [ "$rc" -eq 0 ]
readme_check "curl -g fetched tern's page over IPv6" grep -q '^hello over IPv6$' "$work/out"
readme_check "ping -6 had its 2 replies from tern" grep -q '2 packets transmitted, 2 received' "$work/out"
readme_check "tern's DHCP client printed a lease from dnsmasq" grep -Eq 'bound.*10\.77\.7\.' "$work/err"
readme_check "tern get fetched the page by name, over the lease" \
    sh -c 'test "$(cat /tmp/got6.html 2>/dev/null)" = "hello over IPv6"'
readme_check "the namespace is gone" sh -c '! ip netns list | grep -qw tern-v6'
rm -f /tmp/got6.html
readme_done
