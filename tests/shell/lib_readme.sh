# tests/shell/lib_readme.sh: runs a ```sh block of README.md as it is
# written (the README's promise that its commands work verbatim). Sourced
# by test_readme_demo.sh and test_readme_ipv6_dhcp.sh.
#
# readme_block <README> <heading> <out>: the first ```sh block under the
#   "## <heading>" section into <out>.
# readme_run <tern> <script> <out> <err>: runs <script> with bash -e from a
#   folder whose build/tern is <tern>, with a `sudo` that runs its
#   arguments (CI is root and may have no sudo), bounded by 120 s; returns
#   its status. Uses (and leaves) the folder $work.

readme_block() {
    awk -v h="## $2" '$0 == h { sec = 1; next }
         sec && /^## / { exit }
         sec && /^```sh$/ { inblock = 1; next }
         inblock && /^```$/ { exit }
         inblock { print }' "$1" >"$3"
}

readme_run() {
    mkdir -p "$work/bin" "$work/tree/build"
    printf '#!/bin/sh\nexec "$@"\n' >"$work/bin/sudo"
    chmod +x "$work/bin/sudo"
    ln -sf "$1" "$work/tree/build/tern"
    (cd "$work/tree" && PATH="$work/bin:$PATH" timeout -k 10 120 bash -e "$2") >"$3" 2>"$4"
}
