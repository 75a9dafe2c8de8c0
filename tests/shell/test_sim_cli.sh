#!/bin/bash
# tests/shell/test_sim_cli.sh: the `tern sim` command line: --list, --help,
# --explain, --print, bad flags (exit 2), a scenario file of the user's, a
# parse error (file, line, what was expected; exit 2), a failed expectation
# (exit 1, naming it and its line), and --pcap decoded by tshark without a
# malformed packet. tshark is required: missing, the test fails.
#
# Usage: bash test_sim_cli.sh <tern binary> <source dir>
set -u
TERN=${1:?usage: test_sim_cli.sh <tern binary> <source dir>}
SRC=${2:?usage: test_sim_cli.sh <tern binary> <source dir>}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() { # check <description> <command...>
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "FAIL: $what"
        failed=$((failed + 1))
    fi
}

status() { # status <want> <command...>: runs, output in $tmp/out and $tmp/err
    local want=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -ne "$want" ]; then
        echo "  (exit status $rc, wanted $want; stderr: $(head -c 300 "$tmp/err"))"
        return 1
    fi
}

# --list: every bundled scenario, with its title.
check "--list exits 0" status 0 "$TERN" sim --list
for n in 6 7 8 9 10 11 12 13; do
    check "--list shows rfc9293-fig$n" grep -q "^rfc9293-fig$n .*Figure $n" "$tmp/out"
done
check "--list shows rfc793-fig9" grep -q "^rfc793-fig9 " "$tmp/out"
check "--list names as many scenarios as scenarios/ holds" \
    test "$(wc -l <"$tmp/out")" -eq "$(ls "$SRC"/scenarios/*.tern | wc -l)"

check "--help exits 0" status 0 "$TERN" sim --help
check "--help explains --explain and --pcap" grep -q -- '--pcap FILE' "$tmp/out"
check "tern help sim" status 0 "$TERN" help sim
check "tern --help lists sim" sh -c "'$TERN' --help | grep -q '^  sim '"

# Bad flags and arguments: exit 2 and a clear message.
check "unknown flag exits 2" status 2 "$TERN" sim --bogus
check "unknown flag is named" grep -q "unknown option '--bogus'" "$tmp/err"
check "--pcap without a file exits 2" status 2 "$TERN" sim --pcap
check "unknown scenario exits 2" status 2 "$TERN" sim no-such-scenario
check "unknown scenario is named" grep -q "no-such-scenario" "$tmp/err"
check "two scenarios exit 2" status 2 "$TERN" sim rfc9293-fig6 rfc9293-fig7

# --explain: the rules under the lines, taken from the trace events.
check "--explain exits 0" status 0 "$TERN" sim --explain rfc9293-fig9
check "--explain names the challenge ACK rule" grep -q 'RFC 5961 4.2' "$tmp/out"
check "--explain names the SYN-SENT rule" grep -q 'A: RFC 9293 3.10.7.3' "$tmp/out"
check "--explain keeps the numbered lines" grep -q '^   5\.  SYN-SENT' "$tmp/out"

check "--print shows the source" status 0 "$TERN" sim --print rfc9293-fig11
check "--print shows X and Z" grep -q 'Z = 200' "$tmp/out"

# A user's file, run by path.
cat >"$tmp/mine.tern" <<'SCN'
# A user's scenario: a SYN to a port nobody listens on.
title refused
host C 192.0.2.10
host D 192.0.2.20
link C D delay 1ms
C open D:9 port 5000 iss 7
wait
expect C event refused
expect C state CLOSED
expect D sent <SEQ=0><ACK=8><CTL=RST,ACK>
SCN
check "a user's file runs" status 0 "$TERN" sim "$tmp/mine.tern"
check "a user's file is drawn" grep -qE 'SYN-SENT +--> <SEQ=7><CTL=SYN> +--> \(\?\?\)' "$tmp/out"

# A failed expectation: exit 1, naming it and its line.
sed 's/expect C state CLOSED/expect C state ESTABLISHED/' "$tmp/mine.tern" >"$tmp/bad.tern"
check "a failed expectation exits 1" status 1 "$TERN" sim "$tmp/bad.tern"
check "a failed expectation names file and line" \
    grep -q "bad.tern:9: expectation failed: expect C state ESTABLISHED (got CLOSED)" "$tmp/err"
check "the diagram is still printed" grep -q 'TCP Peer C' "$tmp/out"

# A call the stack refuses: exit 2, the message carries the tool's prefix and
# quotes the statement as written (a byte count too, not '').
cat >"$tmp/refused.tern" <<'SCN'
title refused
host A 192.0.2.1
host B 192.0.2.2
link A B delay 10ms
A send 1000
A send "hi"
SCN
check "a refused call exits 2" status 2 "$TERN" sim "$tmp/refused.tern"
check "a refused numeric send is quoted as written, with the prefix" \
    grep -qx "tern sim: $tmp/refused.tern:5: 'A send 1000' failed: SEND: connection does not exist" "$tmp/err"
check "a refused quoted send is quoted as written" \
    grep -qx "tern sim: $tmp/refused.tern:6: 'A send \"hi\"' failed: SEND: connection does not exist" "$tmp/err"
check "a failed expectation carries the prefix" status 1 "$TERN" sim "$tmp/bad.tern"
check "  (the line)" grep -q "^tern sim: .*bad.tern:9: expectation failed" "$tmp/err"

# --list in the order a reader expects: figure 6 before figure 10.
check "--list runs" status 0 "$TERN" sim --list
check "--list sorts numbers as numbers" \
    awk '$1 == "rfc9293-fig6" { six = NR } $1 == "rfc9293-fig10" { ten = NR }
         END { exit !(six > 0 && ten > six) }' "$tmp/out"

# A parse error: exit 2, file, line, what was expected.
printf 'title x\nhost A 192.0.2.1\nhost B 10.0.0.1\n' >"$tmp/parse.tern"
check "a parse error exits 2" status 2 "$TERN" sim "$tmp/parse.tern"
check "a parse error names file, line and expectation" \
    grep -q "parse.tern:3: expected an address in 192.0.2.0/24" "$tmp/err"

# --pcap: the conversation as a capture that tshark decodes cleanly.
if ! command -v tshark >/dev/null 2>&1; then
    echo "FAIL: tshark is not installed (apt-get install -y tshark)"
    failed=$((failed + 1))
else
    for n in rfc9293-fig6 rfc9293-fig9 rfc9293-fig13; do
        check "$n --pcap exits 0" status 0 "$TERN" sim --pcap "$tmp/$n.pcap" "$n"
        check "$n capture written" test -s "$tmp/$n.pcap"
        tshark -n -r "$tmp/$n.pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
            -T fields -e frame.number -e tcp.flags.str -e _ws.malformed -e _ws.expert.severity \
            >"$tmp/$n.fields" 2>"$tmp/$n.tserr"
        check "$n: tshark reads the capture" test $? -eq 0
        check "$n: every frame is TCP" test "$(tshark -n -r "$tmp/$n.pcap" -Y 'tcp' 2>/dev/null | wc -l)" \
            -eq "$(tshark -n -r "$tmp/$n.pcap" 2>/dev/null | wc -l)"
        check "$n: no malformed packet" \
            test "$(tshark -n -r "$tmp/$n.pcap" -Y '_ws.malformed || tcp.checksum.status == 2 || ip.checksum.status == 2' \
                -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE 2>/dev/null | wc -l)" -eq 0
    done
    # Figure 6 puts 6 segments on the wire: SYN, SYN-ACK, ACK, text, ACK.
    check "rfc9293-fig6 capture holds the 5 segments" \
        test "$(tshark -n -r "$tmp/rfc9293-fig6.pcap" 2>/dev/null | wc -l)" -eq 5
    check "rfc9293-fig6 capture starts with A's SYN" \
        sh -c "tshark -n -r '$tmp/rfc9293-fig6.pcap' -c 1 -T fields -e ip.src -e tcp.flags.syn -e tcp.seq_raw 2>/dev/null | grep -q '^192.0.2.1	1	100$'"
fi

# --explain: every segment line (--> or <--) of the loss-recovery scenarios
# is followed by at least one rule line ("  A: RFC ...") before the next
# numbered line, so no duplicate ACK, delayed ACK, limited-transmit segment
# or retransmission goes unexplained.
# EVIDENCE: RFC 5681 3.2 RFC 3042 2 RFC 6298 5.4 5.5 RFC 9293 3.8.6.3
explained() { # explained <file>: lists the unexplained segment lines, fails if any
    awk '/^ *[0-9]+\. / { if (seg != "" && !rule) { print "  unexplained: " seg; bad = 1 }
                           seg = ($0 ~ /-->|<--/) ? $0 : ""; rule = 0; next }
         /^ +[A-Z]: / { rule = 1 }
         END { if (seg != "" && !rule) { print "  unexplained: " seg; bad = 1 }; exit bad }' "$1"
}
for n in tcp-fast-retransmit tcp-rto tcp-tail-loss-probe tcp-rack-lost-retransmission \
    tcp-dsack-undo; do
    check "$n --explain exits 0" status 0 "$TERN" sim --explain "$n"
    cp "$tmp/out" "$tmp/$n.explain"
    check "$n --explain: a rule under every segment line" explained "$tmp/$n.explain"
done
# The mechanism each loss-recovery scenario shows is named under the line
# where it acts (line numbers of the golden drawings).
under() { # under <file> <line number> <fixed text>: the text is among the line's rules
    awk -v n="$2" '/^ *[0-9]+\. / { on = ($1 == n ".") ; next } on' "$1" | grep -qF -- "$3"
}
# EVIDENCE: RFC 8985 7.2 7.3 6.2 RFC 2883 4 RFC 3708 2
check "tail loss probe: the ACKs arm the PTO (line 11)" \
    under "$tmp/tcp-tail-loss-probe.explain" 11 "A: RFC 8985 7.2: ACK, data still out -> probe"
check "tail loss probe: the PTO expires (line 12)" \
    under "$tmp/tcp-tail-loss-probe.explain" 12 "A: RFC 8985 7.2: probe timeout expired"
check "tail loss probe: the probe is the last segment (line 12)" \
    under "$tmp/tcp-tail-loss-probe.explain" 12 "A: RFC 8985 7.3: loss probe timeout -> retransmit the last"
check "tail loss probe: its SACK lets RACK mark the hole lost (line 13)" \
    under "$tmp/tcp-tail-loss-probe.explain" 13 "A: RFC 8985 6.2: RACK marked a segment lost"
check "lost retransmission: RACK sees it (line 17)" \
    under "$tmp/tcp-rack-lost-retransmission.explain" 17 "the retransmission is lost too"
check "lost retransmission: resent again (line 18)" \
    under "$tmp/tcp-rack-lost-retransmission.explain" 18 "RACK marked the segment lost -> retransmit"
check "dsack-undo: B notes the duplicate (line 18)" \
    under "$tmp/tcp-dsack-undo.explain" 18 "B: RFC 2883 4: text received twice -> D-SACK"
check "dsack-undo: everything acknowledged, the undo state waits (line 20)" \
    under "$tmp/tcp-dsack-undo.explain" 20 "A: RFC 3708 2: all acknowledged, retransmissions not yet D-SACKed"
check "dsack-undo: A recognises the D-SACK after the full ACK (line 21)" \
    under "$tmp/tcp-dsack-undo.explain" 21 "A: RFC 2883 4: first SACK block at or below the ACK"
check "dsack-undo: A undoes (line 21)" \
    under "$tmp/tcp-dsack-undo.explain" 21 "A: RFC 3708 2, RFC 4015 3: every retransmission D-SACKed"
# A retransmission timeout names three rules (timer expired, retransmit,
# back off), not one rule twice: no citation repeats within a line.
check "tcp-rto --explain: no rule cited twice under one line" \
    awk '/^ *[0-9]+\. / { delete seen; next }
         /^ +[A-Z]: / { r = $0; sub(/^ +[A-Z]: /, "", r); c = $1 " " substr(r, 1, index(r, ":"))
                       if (seen[c]++) { print "  twice: " $0; bad = 1 } }
         END { exit bad }' "$tmp/tcp-rto.explain"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
