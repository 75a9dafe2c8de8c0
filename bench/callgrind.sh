#!/bin/bash
# bench/callgrind.sh: instructions per payload byte and per connection cycle,
# counted by valgrind's callgrind (repeatable on a noisy machine).
#
# Usage: bash bench/callgrind.sh [tern binary]   (default: build/tern)
#
# Runs `tern bench --bulk-only` (one in-memory transfer at MSS 1460, every
# received byte compared with the expected stream) and `tern bench
# --cycles-only` (abort-closed connection cycles), each twice: a small
# baseline and a larger run. The difference of the two instruction counts,
# divided by the difference in bytes (or cycles), is the cost of one more
# byte (or cycle): process start, stack creation and the handshake are in
# both runs and cancel out. The harness's own work (one copy per datagram
# into the in-memory queue, the memcmp check) is included in the first
# figure; its share (mq_transmit and memcmp, inclusive) is printed apart.
#
# Two passes. glibc copies blocks above a threshold (a few KiB) with
# `rep movsb`, and valgrind counts every iteration of a rep-prefixed
# instruction as one instruction: one per byte, where the CPU moves tens of
# bytes per cycle. So the first pass (glibc as it runs by default) charges
# the large copies (SEND into the ring, RECEIVE out of it) one instruction
# per byte; the second sets GLIBC_TUNABLES so that memcpy and memset use
# their vector loops at every size, which is what the CPU's work looks like.
set -eu

TERN=${1:-build/tern}
BULK_SMALL=$((4 * 1024 * 1024))
BULK_LARGE=$((36 * 1024 * 1024))
CYC_SMALL=1000
CYC_LARGE=11000

command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 2; }
[ -x "$TERN" ] || { echo "callgrind.sh: no tern binary at $TERN" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total instructions (Ir) of one run: the "totals:" line of the output file.
instr() { # instr <name> <tern bench args...>
    local name=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$tmp/$name.out" "$TERN" bench "$@" \
        >"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; exit 1; }
    awk '/^(totals|summary):/ { print $2; exit }' "$tmp/$name.out"
}

# Inclusive instructions of functions matching a pattern in one run.
share() { # share <name> <regex>
    callgrind_annotate --inclusive=yes "$tmp/$1.out" 2>/dev/null |
        awk -v re="$2" '$0 ~ re { gsub(",", "", $1); s += $1 } END { print s + 0 }'
}

report() { # report <title>
    local b0 b1 c0 c1 m0 m1
    b0=$(instr bulk0 --bulk-only $BULK_SMALL)
    b1=$(instr bulk1 --bulk-only $BULK_LARGE)
    c0=$(instr cyc0 --cycles-only $CYC_SMALL)
    c1=$(instr cyc1 --cycles-only $CYC_LARGE)
    m0=$(share bulk0 'memcmp|mq_transmit')
    m1=$(share bulk1 'memcmp|mq_transmit')
    echo "$1"
    awk -v b0="$b0" -v b1="$b1" -v c0="$c0" -v c1="$c1" -v m0="$m0" -v m1="$m1" \
        -v bs="$BULK_SMALL" -v bl="$BULK_LARGE" -v cs="$CYC_SMALL" -v cl="$CYC_LARGE" 'BEGIN {
        per_byte = (b1 - b0) / (bl - bs)
        per_cmp = (m1 - m0) / (bl - bs)
        per_cycle = (c1 - c0) / (cl - cs)
        printf "  instructions per payload byte (MSS 1460): %.3f  (%d vs %d bytes: %d vs %d Ir)\n",
            per_byte, bl, bs, b1, b0
        printf "    of which the harness (queue copy, check): %.3f -> the stack itself: %.3f\n",
            per_cmp, per_byte - per_cmp
        printf "  instructions per abort connection cycle:  %.0f  (%d vs %d cycles: %d vs %d Ir)\n",
            per_cycle, cl, cs, c1, c0
    }'
}

report "glibc defaults (rep movsb iterations counted one per byte):"
export GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824:glibc.cpu.x86_rep_stosb_threshold=1073741824
report "vector memcpy/memset at every size (GLIBC_TUNABLES):"
