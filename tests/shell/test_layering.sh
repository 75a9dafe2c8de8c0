#!/usr/bin/env bash
# The layers depend one way (STYLE.md recommendation 1, docs/design.md layout):
#   src/wire    includes only libc and other src/wire headers;
#   src/core, src/ip, src/tcp never include drivers/ or tools/;
#   no library source includes a tools/ or tests/ header.
# Fails listing every offending #include line.
set -u
src=${2:-$(dirname "$0")/../..}
cd "$src" || exit 1
bad=0
report() { echo "layering: $1"; bad=1; }

while IFS= read -r line; do
    report "$line"
done < <(grep -Hn '#include "' src/wire/*.[ch] 2>/dev/null | grep -v '#include "wire/')

while IFS= read -r line; do
    report "$line"
done < <(grep -Hn '#include "' src/core/*.[ch] src/ip/*.[ch] src/tcp/*.[ch] 2>/dev/null |
         grep -E '#include "(sim|pcap|drivers|tools|tun|tap)')

while IFS= read -r line; do
    report "$line"
done < <(grep -Hn '#include' src/*/*.[ch] drivers/*/*.[ch] 2>/dev/null | grep -E 'check\.h|tools/')

# The core never calls the OS: no clocks, randomness, sockets or file I/O
# under src/, except src/api, the socket API, whose job is to be file
# descriptors and threads (it reaches the stack only through the public TCP
# API), and which also draws the stack's secret (src/api/random.c).
while IFS= read -r line; do
    report "OS call in the sans-I/O core: $line"
done < <(grep -HnE '\b(clock_gettime|gettimeofday|time\(NULL\)|socket\(|socketpair\(|pthread_|fopen\(|printf\(|getrandom\(|getentropy\(|getpid\(|/dev/u?random)' \
         src/*/*.c 2>/dev/null | grep -v '^src/api/')

# src/api uses the stack through its public headers only.
while IFS= read -r line; do
    report "socket API reaching into the core: $line"
done < <(grep -Hn '#include "' src/api/*.[ch] 2>/dev/null | grep -vE '#include "(tern/|api/)')

# A case that must fail proves the checker works.
probe=$(printf '#include "ip/ip.h"\n' | grep -v '#include "wire/')
[ -n "$probe" ] || { echo "layering: self-check failed"; exit 1; }

if [ $bad -ne 0 ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
