#!/bin/bash
# tests/shell/test_cli_grammar.sh: one command-line grammar for every tern
# subcommand (tools/cli.h; issue 13 item 4). For ping, sim, bench, tun and
# tap: --name=value, --name value and the short forms give the same run;
# short options keep ping(8)'s units (-i and -W in seconds); a bad value,
# an unknown flag, an abbreviated one, a missing value, a value given to a
# flag and an extra operand are each a usage error: exit 2, nothing on
# stdout, one line on stderr "tern CMD: ...; see 'tern CMD --help'" naming
# the flag (as typed) and the accepted form; -h, --help and `tern help CMD`
# print the same help, which lists every option, and exit 0.
#
# tun and tap are checked without a device: every command line here is
# wrong in a way only found once all of it is read (the --gw check comes
# last), so a run that reaches that message has parsed every option and
# operand, and a usage error is reported before any device is opened.
#
# Usage: bash test_cli_grammar.sh <tern binary> <source dir>
set -u
TERN=${1:?usage: test_cli_grammar.sh <tern binary> <source dir>}
. "$(dirname "$0")/lib_test.sh" || exit 1

# tun and tap must stop at the usage error; if one did not, it would run
# on a device: as root (CI), in a network namespace of its own that ends
# with it (unshare), never the host's, and never for long.
guard=(timeout -k 5 20)
if [ "$(id -u)" -eq 0 ]; then
    require_tools unshare timeout
    guard+=(unshare --net)
fi

run() { # run <args...>: tern with args; $rc, $tmp/out, $tmp/err
    case $1 in
    tun | tap) "${guard[@]}" "$TERN" "$@" >"$tmp/out" 2>"$tmp/err" ;;
    *) "$TERN" "$@" >"$tmp/out" 2>"$tmp/err" ;;
    esac
    rc=$?
}

# usage_error <text|text...> <cmd> <args...>: a usage error of tern <cmd>
# whose one line says each text.
usage_error() {
    local texts=$1
    shift
    local who="tern $1"
    case $1 in -* | help) who=tern ;; esac # tern's own options
    run "$@"
    check "tern $*: exit 2 (got $rc)" test "$rc" -eq 2
    check "tern $*: nothing on stdout" test ! -s "$tmp/out"
    check "tern $*: one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
    check "tern $*: the line is '$who: ...; see '$who --help''" \
        grep -qE "^$who: .+; see '$who --help'\$" "$tmp/err"
    local t
    IFS='|' read -r -a ts <<<"$texts"
    for t in "${ts[@]}"; do
        check "tern $*: says \"$t\" (said: $(head -c 200 "$tmp/err"))" grep -qF -- "$t" "$tmp/err"
    done
}

# same <description> <status> <args...> :: <args...>: both runs exit with
# status and print the same stdout (kept in $tmp/first).
same() {
    local what=$1 want=$2
    shift 2
    local a=()
    while [ "$1" != "::" ]; do
        a+=("$1")
        shift
    done
    shift
    run "${a[@]}"
    local rc1=$rc
    cp "$tmp/out" "$tmp/first"
    run "$@"
    check "$what: tern ${a[*]} exits $want (got $rc1)" test "$rc1" -eq "$want"
    check "$what: tern $* exits $want (got $rc)" test "$rc" -eq "$want"
    check "$what: the same output" cmp -s "$tmp/first" "$tmp/out"
}

# help_lists <cmd> <option...>: -h, --help and `tern help CMD` print the
# same help (exit 0, nothing on stderr), naming every option given.
help_lists() {
    local cmd=$1
    shift
    same "$cmd --help and -h" 0 "$cmd" --help :: "$cmd" -h
    check "$cmd --help: nothing on stderr" test ! -s "$tmp/err"
    same "$cmd --help and help $cmd" 0 "$cmd" --help :: help "$cmd"
    check "$cmd --help states the grammar" grep -qF -- "--name value or --name=value" "$tmp/out"
    local o
    for o in "$@" --help; do
        check "$cmd --help documents $o" grep -qE -- "(^|[ ,])$o( |,|\$)" "$tmp/out"
    done
}

# ---- ping ----------------------------------------------------------------------------

same "ping --count=2 and --count 2" 0 ping --count=2 :: ping --count 2
check "ping --count 2 sends 2" grep -q '^2 packets transmitted, 2 received' "$tmp/out"
same "ping -c 2 and --count 2" 0 ping -c 2 :: ping --count 2
same "ping -c2 and --count 2" 0 ping -c2 :: ping --count 2
same "ping -s 100 and --size=100" 0 ping -c 1 -s 100 :: ping -c 1 --size=100
check "ping -s 100 sends 100 data bytes" grep -q '^PING 192.0.2.2 (192.0.2.2) 100(128) bytes' "$tmp/out"
# -i and -W are ping(8)'s, in seconds.
same "ping -i 0.25 and --interval 250" 0 ping -c 2 -i 0.25 :: ping -c 2 --interval=250
check "ping -i 0.25: the second request 250 ms after the first" \
    grep -q '^2 packets transmitted, 2 received, 0% packet loss, time 270ms' "$tmp/out"
same "ping -W 1 and --timeout 1000 (a 1.2 s RTT: no reply in time)" 1 \
    ping -c 1 --delay 600 -W 1 :: ping -c 1 --delay 600 --timeout 1000
same "ping -W 2 and --timeout=2000 (the reply in time)" 0 \
    ping -c 1 --delay 600 -W 2 :: ping -c 1 --delay 600 --timeout=2000
same "ping -c2 -s64 -i0.5 -W3 and the long forms" 0 ping -c2 -s64 -i0.5 -W3 :: \
    ping --count 2 --size 64 --interval 500 --timeout 3000

usage_error "invalid value 'x' for --count|expected an integer from 1 to 100000" ping --count x
usage_error "invalid value 'x' for -c|expected an integer from 1 to 100000" ping -c x
usage_error "invalid value '' for --count" ping --count=
usage_error "invalid value '0' for -i|expected a number from" ping -i 0
usage_error "invalid value '-1' for -W|expected a number from 0 to 3600" ping -W -1
usage_error "invalid value '65508' for -s|expected an integer from 0 to 65507" ping -s 65508
usage_error "invalid value '101' for --loss|expected a number from 0 to 100" ping --loss=101
usage_error "unknown option '--bogus'" ping --bogus
usage_error "unknown option '--bogus'" ping --bogus=3
usage_error "unknown option '-x'" ping -x
usage_error "unknown option '--cou'" ping --cou 3
usage_error "option needs a value: --count N|expected an integer from 1 to 100000" ping --count
usage_error "option needs a value: -c N" ping -c
usage_error "option needs a value: --pcap FILE" ping --pcap
usage_error "option --stats takes no value|--stats=yes" ping --stats=yes
usage_error "not '192.0.2.9'" ping 192.0.2.9
usage_error "unexpected operand 'x'" ping 192.0.2.2 x
usage_error "not 'x'" ping -c 1 -- x
help_lists ping -c --count -i --interval -s --size -W --timeout --seed --loss --reorder --dup \
    --corrupt --delay --jitter --rate --mtu --pcap --stats

# ---- sim -----------------------------------------------------------------------------

same "sim --pcap=F and --pcap F" 0 sim --pcap="$tmp/a.pcap" rfc9293-fig6 :: \
    sim --pcap "$tmp/b.pcap" rfc9293-fig6
check "sim --pcap=F writes the same capture as --pcap F" cmp -s "$tmp/a.pcap" "$tmp/b.pcap"
check "sim --pcap=F wrote a capture" test -s "$tmp/a.pcap"
same "sim --print=NAME and --print NAME" 0 sim --print=rfc9293-fig8 :: sim --print rfc9293-fig8
check "sim --print prints the scenario" grep -q 'Figure 8' "$tmp/out"
same "sim: options after the operand" 0 sim rfc9293-fig9 --explain :: sim --explain rfc9293-fig9
POSIXLY_CORRECT=1 "$TERN" sim rfc9293-fig9 --explain >"$tmp/posix" 2>&1
check "sim: POSIXLY_CORRECT=1 still reads options after the operand" cmp -s "$tmp/posix" "$tmp/out"
same "sim -- NAME" 0 sim -- rfc9293-fig6 :: sim rfc9293-fig6

usage_error "invalid value 'nosuch' for --print|the name of a bundled scenario" sim --print nosuch
usage_error "unknown option '--bogus'" sim --bogus
usage_error "unknown option '--exp'" sim --exp rfc9293-fig6
usage_error "option needs a value: --pcap FILE" sim rfc9293-fig6 --pcap
usage_error "option --explain takes no value" sim --explain=1
usage_error "unexpected operand 'rfc9293-fig7'|one scenario at a time" sim rfc9293-fig6 rfc9293-fig7
usage_error "--list runs no scenario|extra" sim --list extra
usage_error "--explain and --pcap go with" sim --list --explain
help_lists sim --list --print --explain --pcap

# ---- bench ---------------------------------------------------------------------------

run bench --cycles-only=100
check "bench --cycles-only=100 exits 0 (got $rc)" test "$rc" -eq 0
check "bench --cycles-only=100 runs 100 cycles" grep -q '^100 abort cycles' "$tmp/out"
run bench --cycles-only 1K
check "bench --cycles-only 1K exits 0 (got $rc)" test "$rc" -eq 0
check "bench --cycles-only 1K runs 1024 cycles" grep -q '^1024 abort cycles' "$tmp/out"

usage_error "invalid value '99' for --reps|expected an integer from 1 to 15" bench --reps 99
usage_error "invalid value '12X' for --bytes|expected an integer from 1 to 1024G" bench --bytes=12X
usage_error "invalid value 'reno' for --loss|expected one of rack, rfc6675" bench --loss reno
usage_error "unknown option '--bogus'" bench --bogus
usage_error "unknown option '--by'" bench --by 1M
usage_error "option needs a value: --pkts N" bench --pkts
usage_error "option --json takes no value" bench --json=yes
usage_error "unexpected operand 'extra'" bench --quick extra
help_lists bench --bytes --cycles --reps --timeout --impaired-bytes --idle-conns --large-conns \
    --mid-conns --pkts --loss --rack --skip-large --quick --json --bulk-only --cycles-only

# ---- tun and tap (no device is opened: see the top) -------------------------------------

gw_error="--gw is not on the subnet of --addr"
for cmd in tun tap; do
    base=(--dev tcli0 --addr 10.99.0.2/24 --gw 10.1.1.1)
    # Reaching the --gw check means every option and operand was read.
    usage_error "$gw_error" $cmd "${base[@]}" recv --port 5 -o /dev/null
    usage_error "$gw_error" $cmd --dev=tcli0 --addr=10.99.0.2/24 --gw=10.1.1.1 recv --port=5 \
        --output=/dev/null
    usage_error "$gw_error" $cmd "${base[@]}" recv --port 5 -o/dev/null
    usage_error "$gw_error" $cmd "${base[@]}" recv --port 5 --output /dev/null
    usage_error "this mode needs -o FILE" $cmd "${base[@]}" recv --port 5
    usage_error "$gw_error" $cmd "${base[@]}" serve echo,discard:9009,http:8080 --root /
    usage_error "$gw_error" $cmd "${base[@]}" serve http --port 8080 --root=/ --count=3 \
        --mem 8 --max-conns=10
    usage_error "$gw_error" $cmd "${base[@]}" --loss=rack --cc cubic --prr=crb --ecn on \
        --sndbuf=64 --drop 1 --dup=1 --reorder 1 --delay=5 --seed=7 --timeout 2.5 --quiet \
        --stats --mtu=1400 --linux-addr=10.99.0.1/24 --pcap /dev/null --trace=/dev/null \
        send 10.99.0.1:9 /dev/null --sport=4000
    usage_error "$gw_error" $cmd "${base[@]}" get http://10.99.0.1:8000/x -o -

    usage_error "invalid value '10.99.0.300/24' for --addr|expected A.B.C.D/N" \
        $cmd --dev tcli0 --addr 10.99.0.300/24 recv --port 5 -o /dev/null
    usage_error "invalid value '10' for --mtu|expected an integer from 68 to 65535" \
        $cmd --dev tcli0 --addr 10.99.0.2/24 --mtu=10 recv --port 5 -o /dev/null
    usage_error "invalid value 'bbr' for --cc|expected one of newreno, cubic" \
        $cmd --dev tcli0 --addr 10.99.0.2/24 --cc bbr recv --port 5 -o /dev/null
    usage_error "invalid value '' for -o" $cmd --dev tcli0 --addr 10.99.0.2/24 recv --port 5 -o ''
    usage_error "unknown option '--bogus'" $cmd --dev tcli0 --addr 10.99.0.2/24 --bogus recv
    usage_error "unknown option '-x'" $cmd --dev tcli0 --addr 10.99.0.2/24 -x recv
    usage_error "unknown option '--de'" $cmd --de tcli0 --addr 10.99.0.2/24 recv
    usage_error "option needs a value: --port P|expected an integer from 1 to 65535" \
        $cmd --dev tcli0 --addr 10.99.0.2/24 recv --port
    usage_error "option needs a value: -o FILE" $cmd --dev tcli0 --addr 10.99.0.2/24 recv -o
    usage_error "option --quiet takes no value" $cmd --dev tcli0 --addr 10.99.0.2/24 --quiet=1 recv
    usage_error "unexpected operand 'extra'|serve SVC" \
        $cmd --dev tcli0 --addr 10.99.0.2/24 serve echo extra
    usage_error "unexpected operand 'x'|the mode is recv" \
        $cmd --dev tcli0 --addr 10.99.0.2/24 recv x --port 5 -o /dev/null
    usage_error "unexpected operand 'more'|send HOST:PORT FILE" \
        $cmd --dev tcli0 --addr 10.99.0.2/24 send 10.99.0.1:9 /dev/null more
    usage_error "missing operand|send HOST:PORT FILE" $cmd --dev tcli0 --addr 10.99.0.2/24 send
    usage_error "unknown MODE 'fetch'" $cmd --dev tcli0 --addr 10.99.0.2/24 fetch
    help_lists $cmd --dev --addr --gw --linux-addr --mtu --drop --dup --reorder --delay --seed \
        --pcap --trace --port --root -o --output --sport --count --max-conns --mem --timeout \
        --loss --cc --prr --ecn --sndbuf --quiet --stats
done

# ---- tern itself ---------------------------------------------------------------------

usage_error "unexpected operand 'x'" --version x
usage_error "unexpected operand 'x'" help sim x
usage_error "unknown option '-x'" -x

summary
