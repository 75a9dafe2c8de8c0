#!/usr/bin/env bash
# The libraries users link export the public API only (issue 13 item 3):
# every global symbol that libtern.a and libtern.so define starts with
# tern_. The project's own programs link libtern_internal.a, which keeps
# every symbol; the test checks that it has internal globals, so that the
# public check below is known to look at something the build localised.
set -u
bindir=$(dirname "${1:?tern binary}")
fail=0
for lib in libtern.a libtern.so libtern_internal.a; do
    if [ ! -e "$bindir/$lib" ]; then
        echo "symbols: $bindir/$lib missing"
        exit 1
    fi
done
globals() { nm -g --defined-only "$1" 2>/dev/null | awk 'NF >= 3 { print $3 }' | sort -u; }
for lib in libtern.a libtern.so; do
    total=$(globals "$bindir/$lib" | wc -l)
    public=$(globals "$bindir/$lib" | grep -c '^tern_')
    others=$(globals "$bindir/$lib" | grep -v '^tern_')
    if [ -n "$others" ]; then
        echo "symbols: $lib defines globals without the tern_ prefix:"
        echo "$others" | head -20 | sed 's/^/  /'
        fail=1
    fi
    if [ "$public" -lt 100 ]; then
        echo "symbols: $lib exports only $public tern_ symbols (the API has more)"
        fail=1
    fi
    echo "$lib: $total global symbols, $public tern_"
done
internal=$(globals "$bindir/libtern_internal.a" | grep -vc '^tern_')
if [ "$internal" -eq 0 ]; then
    echo "symbols: libtern_internal.a has no internal globals: the check above proves nothing"
    fail=1
fi
echo "libtern_internal.a: $internal internal globals (localised in the public libraries)"
# libtern_preload.so exports libc's socket calls and nothing of tern's: a
# preloaded program that links libtern itself keeps its own copy, and no
# tern_ name of the preload can shadow it (preload/preload.map).
pre=$bindir/libtern_preload.so
if [ ! -e "$pre" ]; then
    echo "symbols: $pre missing"
    fail=1
else
    dyn=$(nm -D --defined-only "$pre" 2>/dev/null | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
    if echo "$dyn" | grep -q '^tern_'; then
        echo "symbols: libtern_preload.so exports tern_ symbols:"
        echo "$dyn" | grep '^tern_' | head -5 | sed 's/^/  /'
        fail=1
    fi
    for name in socket connect accept4 read write close poll epoll_wait sendfile; do
        if ! echo "$dyn" | grep -qx "$name"; then
            echo "symbols: libtern_preload.so does not define $name"
            fail=1
        fi
    done
    echo "libtern_preload.so: $(echo "$dyn" | wc -l) exported names, none tern_"
fi
# The public static library links: a program that uses the API builds
# against it alone.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/m.c" <<'C'
#include <tern/tern.h>
int main(void) { struct tern_config c; tern_config_init(&c); return c.n_netifs == 0 ? 0 : 1; }
C
src=${2:-$(dirname "$0")/../..}
san=()
if nm "$bindir/libtern.a" 2>/dev/null | grep -q ' U __asan_init'; then
    san=(-fsanitize=address,undefined) # the sanitizer build's library
fi
if ! cc -std=c11 "${san[@]}" -I"$src/include" "$work/m.c" "$bindir/libtern.a" -lpthread \
    -o "$work/m" >"$work/log" 2>&1 || ! "$work/m" >>"$work/log" 2>&1; then
    echo "symbols: a program linked with libtern.a alone does not build or run:"
    head -20 "$work/log"
    fail=1
fi
[ "$fail" -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit "$fail"
