#!/usr/bin/env bash
# The layers depend one way (docs/design.md, "Layers"):
#   wire <- core <- link <- ip <- tcp <- root (src/stack) <- api <- drivers <- tools
# tools/layers.py builds the include-and-call graph of the tree and fails on
# an edge against that order, a circle, a driver, tool or socket-API file
# using anything but public headers, or a file of the TCP engine calling
# into src/tcp/api.c. This test runs it, keeps the checks it does not make
# (no OS calls in the sans-I/O core, no test or tool header in the
# library), and proves the tool catches back edges added on purpose to a
# copy of the tree. Needs python3 and universal-ctags (.ci/run installs them).
set -u
src=${2:-$(dirname "$0")/../..}
cd "$src" || exit 1
src=$(pwd)
bad=0
report() { echo "layering: $1"; bad=1; }

# 1. The graph of the tree as it is.
if ! out=$(python3 tools/layers.py --root "$src" 2>&1); then
    echo "$out"
    report "tools/layers.py found violations (above)"
else
    echo "$out" | sed -n '/^circles:/p;/^layers:/p'
fi

# 2. No library source includes a test or tool header.
while IFS= read -r line; do
    report "$line"
done < <(grep -Hn '#include' src/*/*.[ch] drivers/*/*.[ch] 2>/dev/null | grep -E 'check\.h|tools/')

# 3. The core never calls the OS: no clocks, randomness, sockets or file I/O
# under src/, except src/api, the socket API, whose job is to be file
# descriptors and threads (it reaches the stack only through the public
# API), and which also draws the stack's secret (src/api/random.c).
while IFS= read -r line; do
    report "OS call in the sans-I/O core: $line"
done < <(grep -HnE '\b(clock_gettime|gettimeofday|time\(NULL\)|socket\(|socketpair\(|pthread_|fopen\(|printf\(|getrandom\(|getentropy\(|getpid\(|/dev/u?random)' \
         src/*/*.c 2>/dev/null | grep -v '^src/api/')

# 4. src/api uses the stack through its public headers only.
while IFS= read -r line; do
    report "socket API reaching into the core: $line"
done < <(grep -Hn '#include "' src/api/*.[ch] 2>/dev/null | grep -vE '#include "(tern/|api/)')

# 5. The tool fails on a back edge: each case edits a fresh copy of the
# tree and must make tools/layers.py exit 1 naming the edge.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fresh() {
    rm -rf "$tmp/tree"
    mkdir -p "$tmp/tree"
    cp -r src include drivers tools "$tmp/tree/"
}
expect_fail() { # name, pattern the output must hold
    local out rc
    out=$(python3 "$tmp/tree/tools/layers.py" --root "$tmp/tree" --quiet 2>&1)
    rc=$?
    if [ $rc -ne 1 ] || ! grep -qE "$2" <<<"$out"; then
        report "self-test '$1': the tool did not fail as it must (exit $rc):"
        echo "$out" | sed 's/^/    /'
    else
        echo "self-test '$1': caught:"
        grep -E "$2" <<<"$out" | sed 's/^/    /'
    fi
}

fresh # the untouched copy passes, so the failures below come from the edits
python3 "$tmp/tree/tools/layers.py" --root "$tmp/tree" --quiet >/dev/null ||
    report "self-test: the copy of the tree fails before any edit"

fresh # ip includes a tcp header
sed -i '0,/^#include "ip\/ip.h"/s//#include "ip\/ip.h"\n#include "tcp\/tcp.h"/' "$tmp/tree/src/ip/ip.c"
expect_fail 'ip includes tcp/tcp.h' '^violation: src/ip/ip\.c:[0-9]+: ip includes tcp/tcp\.h: tcp is above ip'

fresh # link calls ip directly instead of through its EtherType table
sed -i 's/^\( *\)t->input(st, t->ctx, netif, h.payload, h.payload_len);/&\n\1ipv4_input(st, netif, h.payload, h.payload_len);/' \
    "$tmp/tree/src/link/ethernet.c"
expect_fail 'link calls ipv4_input' '^violation: src/link/ethernet\.c:[0-9]+: link calls ipv4_input \(defined in src/ip/ip\.c\): ip is above link'

fresh # the TCP engine calls a user entry point of api.c
sed -i '0,/^\( *\)tcp_deliver_events(st);/s//&\n\1(void)tern_tcp_error(st, 1);/' "$tmp/tree/src/tcp/timer.c"
expect_fail 'timer.c calls api.c' '^violation: src/tcp/timer\.c:[0-9]+: the TCP engine calls tern_tcp_error \(defined in src/tcp/api\.c\)'

fresh # a driver reaches into the core
sed -i '0,/^#include "tern\//s//#include "core\/core.h"\n&/' "$tmp/tree/drivers/pcap/pcap_writer.c"
expect_fail 'driver includes core/core.h' '^violation: drivers/pcap/pcap_writer\.c:[0-9]+: drivers includes core/core\.h'

fresh # core calls up into tcp: a circle
printf '\nint core_probe(struct tern_stack *st);\nint\ncore_probe(struct tern_stack *st)\n{\n    return tcp_init(st);\n}\n' \
    >>"$tmp/tree/src/core/core.c"
expect_fail 'core calls tcp_init' '^violation: circle between modules: core -> .*tcp'

if [ $bad -ne 0 ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
