# tests/shell/lib_readme.sh: runs a ```sh block of README.md as it is
# written (the README's promise that its commands work verbatim). Sourced
# by test_readme_demo.sh and test_readme_ipv6_dhcp.sh.
#
# readme_block <README> <heading> <out>: the first ```sh block under the
#   "## <heading>" section into <out>.
# readme_check <description> <command...>: one check of the run's result.
# readme_done: prints the run's output on a failure, the summary line, and
#   returns the status (0 when every check passed).
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

readme_fail=0
readme_check() {
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; readme_fail=1; fi
}

readme_done() {
    if [ "$readme_fail" -ne 0 ]; then
        echo "--- stdout"; tail -20 "$work/out"; echo "--- stderr"; tail -30 "$work/err"
        echo "0 passed, 1 failed"
        return 1
    fi
    echo "1 passed, 0 failed"
}
