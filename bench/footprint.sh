#!/usr/bin/env bash
# bench/footprint.sh: the flash and RAM a minimal TCP server on tern takes
# on a Cortex-M4, with the RFC rule texts of trace events and without them
# (TERN_NO_RULE_TEXT, CMake -DTERN_RULE_TEXT=OFF: the events keep their
# numeric rule ids, folded to constants at compile time; src/core/rule.h).
#
#   bash bench/footprint.sh [--keep DIR]
#
# Compiles the core (src/wire, src/core, src/link, src/ip, src/tcp and the
# composition root src/stack; not src/api, not the drivers) and bench/footprint_server.c (an echo server on
# the native API) with clang --target=thumbv7em-none-eabi -mcpu=cortex-m4
# -mthumb -Os -ffunction-sections -fdata-sections against newlib's headers,
# links with ld.lld --gc-sections (entry main) against newlib's libc.a and
# libnosys.a for v7e-m (and libgcc.a if gcc-arm-none-eabi is there), and
# prints llvm-size's sections, one line per build:
#
#   rule-texts=on  text=... rodata=... data=... bss=... flash=...
#   rule-texts=off text=... rodata=... data=... bss=... flash=...
#   lwip-reference flash=24-26 KB (...)
#
# flash = text + rodata + data (the initial values live in flash too) +
# .ARM.exidx if any. Needs clang, lld, llvm (llvm-size) and
# libnewlib-arm-none-eabi (Debian packages). Exit status 0, or 1 when a
# tool or a build fails.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
    --keep) keep=${2:?--keep needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "footprint.sh: unexpected argument '$1' (usage: footprint.sh [--keep DIR])" >&2; exit 2 ;;
    esac
done

CC=${CC_CORTEX:-clang}
LD=${LD_CORTEX:-ld.lld}
SIZE=${SIZE_CORTEX:-llvm-size}
newlib=/usr/lib/arm-none-eabi
multilib=$newlib/newlib/thumb/v7e-m/nofp
for t in "$CC" "$LD" "$SIZE"; do
    command -v "$t" >/dev/null || { echo "footprint.sh: $t not found" >&2; exit 1; }
done
[ -f "$newlib/include/string.h" ] && [ -f "$multilib/libc.a" ] || {
    echo "footprint.sh: newlib not found in $newlib (apt-get install libnewlib-arm-none-eabi)" >&2
    exit 1
}
libgcc=$(ls /usr/lib/gcc/arm-none-eabi/*/thumb/v7e-m/nofp/libgcc.a 2>/dev/null | head -n 1 || true)

if [ -n "$keep" ]; then
    work=$keep
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

CFLAGS=(--target=thumbv7em-none-eabi -mcpu=cortex-m4 -mthumb -Os -ffunction-sections
        -fdata-sections -std=c11 -Wall -Wextra -Werror -isystem "$newlib/include"
        -DNDEBUG -I"$here/include" -I"$here/src" -DTERN_VERSION="\"footprint\"")
sources=("$here"/src/wire/*.c "$here"/src/core/*.c "$here"/src/link/*.c "$here"/src/ip/*.c
         "$here"/src/tcp/*.c "$here"/src/stack/*.c "$here/bench/footprint_server.c")

# build NAME [EXTRA CFLAGS...]: compiles and links $work/NAME.elf.
build() {
    local name=$1
    shift
    local dir=$work/$name
    mkdir -p "$dir"
    local objs=()
    for src in "${sources[@]}"; do
        local rel=${src#"$here"/}
        local obj=$dir/${rel//\//_}
        obj=${obj%.c}.o
        "$CC" "${CFLAGS[@]}" "$@" -c "$src" -o "$obj"
        objs+=("$obj")
    done
    local libs=("$multilib/libc.a" "$multilib/libnosys.a")
    [ -n "$libgcc" ] && libs+=("$libgcc")
    # Symbols nothing provides stay unresolved rather than fail the link,
    # then fail the script: a missing tern_ symbol means a source directory
    # is missing above, and the figure would be too small.
    "$LD" --gc-sections -e main --unresolved-symbols=ignore-all -o "$work/$name.elf" \
        -Map "$work/$name.map" "${objs[@]}" --start-group "${libs[@]}" --end-group
    local undef
    undef=$(llvm-nm -u "$work/$name.elf" 2>/dev/null | awk '{print $2}' | tr '\n' ' ' || true)
    if [ -n "$undef" ]; then
        echo "footprint.sh: $name: unresolved: $undef" >&2
        exit 1
    fi
}

# report LABEL NAME: one line of section sizes of $work/NAME.elf, and the
# flash split between the C library's archive members (from the map) and
# the rest (tern, the server, merged strings).
report() {
    local lib
    lib=$(awk '
        function hex(h,   i, v) {
            v = 0
            for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
            return v
        }
        NF == 5 && $5 ~ /:\(\./ && $5 !~ /:\(\.(bss|ARM\.attributes|comment|debug)/ {
            if ($5 ~ /\.a\(/) { lib += hex($3) }
        }
        END { print lib + 0 }' "$work/$2.map")
    "$SIZE" -A -d "$work/$2.elf" | awk -v label="$1" -v parts="$lib" '
        $1 == ".text" { text += $2 }
        $1 == ".rodata" || $1 ~ /^\.rodata\./ { rodata += $2 }
        $1 == ".ARM.exidx" || $1 == ".ARM.extab" { exidx += $2 }
        $1 == ".data" { data += $2 }
        $1 == ".bss" { bss += $2 }
        END {
            flash = text + rodata + data + exidx
            printf "%-15s text=%d rodata=%d data=%d bss=%d flash=%d (%.1f KB; libc+libgcc %d, tern %d)\n",
                   label, text, rodata, data, bss, flash, flash / 1024, parts, flash - parts
        }'
}

build on
build off -DTERN_NO_RULE_TEXT
report rule-texts=on on
report rule-texts=off off
echo "lwip-reference  flash=24-26 KB (lwIP, minimal TCP server, Cortex-M4 -Os: the figure quoted in issue 13)"
