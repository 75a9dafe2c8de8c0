#!/usr/bin/env bash
# `cmake --install` gives a usable package: a consumer project finds tern
# with find_package(tern) and links tern::tern, and another with pkg-config;
# both programs create a stack and run.
set -euo pipefail
src=${2:?source dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S "$src" -B "$work/build" -DTERN_TESTS=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/build" -j2 >/dev/null
cmake --install "$work/build" >/dev/null

mkdir -p "$work/app"
cat > "$work/app/main.c" <<'C'
#include <stdio.h>
#include <tern/tern.h>
static int tx(void *c, int n, const uint8_t *p, size_t l, uint32_t h)
{ (void)c; (void)n; (void)p; (void)l; (void)h; return 0; }
int main(void)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    if (tern_random_seed(&cfg.seed) != TERN_OK) { printf("no secret\n"); return 1; }
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){ TERN_IPV4(192, 0, 2, 1), 24, 1500, tx, NULL };
    struct tern_stack *st;
    int rc = tern_stack_new(&cfg, 0, &st);
    if (rc != TERN_OK) { printf("error: %s\n", tern_strerror(rc)); return 1; }
    printf("stack up, next deadline %lld\n", (long long)tern_stack_next_deadline(st));
    tern_stack_free(st);
    return 0;
}
C
cat > "$work/app/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(tern REQUIRED)
add_executable(app main.c)
target_link_libraries(app tern::tern)
C
cmake -S "$work/app" -B "$work/app/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/app/build" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib" "$work/app/build/app" | grep -q "stack up"

libdir=$(dirname "$(find "$work/prefix" -name tern.pc | head -n1)")
PKG_CONFIG_PATH="$libdir" cc -std=c11 "$work/app/main.c" -o "$work/app/app-pc" \
    $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs tern)
LD_LIBRARY_PATH="$work/prefix/lib" "$work/app/app-pc" | grep -q "stack up"
test -x "$work/prefix/bin/tern"

# `make install PREFIX=...` installs elsewhere than configured, and a
# program built with pkg-config from there starts with no LD_LIBRARY_PATH
# (the .pc file finds its prefix and gives a run path).
make -s -C "$src" install BUILD="$work/build" PREFIX="$work/prefix2" >/dev/null
test -x "$work/prefix2/bin/tern"
libdir2=$(dirname "$(find "$work/prefix2" -name tern.pc | head -n1)")
PKG_CONFIG_PATH="$libdir2" cc -std=c11 "$work/app/main.c" -o "$work/app/app-pc2" \
    $(PKG_CONFIG_PATH="$libdir2" pkg-config --cflags --libs tern)
# (Outputs are captured before grep: `ldd | grep -q` under pipefail fails
# when grep's early exit hands ldd a SIGPIPE.)
out=$(env -u LD_LIBRARY_PATH "$work/app/app-pc2")
grep -q "stack up" <<<"$out"
libs=$(ldd "$work/app/app-pc2")
grep -q "$work/prefix2/.*libtern.so.0" <<<"$libs"
echo "1 passed, 0 failed"
