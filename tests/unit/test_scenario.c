/*
 * tests/unit/test_scenario.c: the scenario parser (good files, and every
 * kind of parse error with its message) and the diagram renderer fed with
 * synthetic simulator and trace events (one-line vs in-flight layout,
 * markers derived from drops and state changes, crossing segments).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tern/scenario.h"
#include "tern/stack.h"

/* ---- parser ---- */

static const char good[] = "# a comment line\n"
                           "title Good scenario   \n"
                           "seed 7\n"
                           "host A 192.0.2.1 msl 1s rto 200ms loss rack\n"
                           "host B 192.0.2.2 loss rfc6675  # trailing comment\n"
                           "link A B delay 5ms\n"
                           "draw A B\n"
                           "style data plain\n"
                           "\n"
                           "B listen 80 iss 300 backlog 4\n"
                           "A open B:80 port 1024 iss 100\n"
                           "hold A 2\n"
                           "drop B\n"
                           "delay A 20ms 3\n"
                           "wait\n"
                           "wait 10ms\n"
                           "release A\n"
                           "release all\n"
                           "inject A:1024 > B:80 <SEQ=90><CTL=SYN>\n"
                           "inject B:80 -> A:1024 <SEQ=300><ACK=100><DATA=10><CTL=ACK>\n"
                           "A send 10\n"
                           "A send \"hello world\"\n"
                           "B iss 400\n"
                           "A close\n"
                           "B abort\n"
                           "draw off\n"
                           "draw on\n"
                           "crash A\n"
                           "restart A\n"
                           "reboot B\n"
                           "expect A state ESTABLISHED\n"
                           "expect A not state CLOSED\n"
                           "expect B event reset\n"
                           "expect B not event refused\n"
                           "expect A sent <SEQ=101><ACK=301><CTL=ACK>\n"
                           "expect A sent <SEQ=101><DATA=1448> times 0\n"
                           "expect A not sent <SEQ=101> times 2\n"
                           "expect A cwnd 14480\n"
                           "expect B not ssthresh 0\n";

static void
test_parse_good(void)
{
    struct tern_scenario *sc = NULL;
    char err[256];
    CHECK_EQ(tern_scenario_parse("good.tern", good, strlen(good), &sc, err, sizeof(err)), TERN_OK);
    CHECK(sc != NULL);
    CHECK_STR(err, "");
    if (sc != NULL) {
        CHECK_STR(tern_scenario_title(sc), "Good scenario");
    }
    tern_scenario_free(sc);
}

/* Parses `text` and checks the error message is exactly `want`. */
static void
bad(const char *text, const char *want)
{
    struct tern_scenario *sc = (struct tern_scenario *)&sc; /* must be reset to NULL */
    char err[512];
    int rc = tern_scenario_parse("bad.tern", text, strlen(text), &sc, err, sizeof(err));
    CHECK_EQ(rc, TERN_ERR_INVAL);
    CHECK(sc == NULL);
    if (strcmp(err, want) != 0) {
        fprintf(stderr, "  text: %s  got:  %s\n  want: %s\n", text, err, want);
        CHECK_STR(err, want);
    }
}

#define HDR "host A 192.0.2.1\nhost B 192.0.2.2\nlink A B\n"

static void
test_parse_errors(void)
{
    bad("host A 10.0.0.1\n",
        "bad.tern:1: expected an address in 192.0.2.0/24 (TEST-NET-1), such as 192.0.2.1, got "
        "'10.0.0.1'");
    bad("host A\n", "bad.tern:1: expected an address in 192.0.2.0/24 (TEST-NET-1), such as "
                    "192.0.2.1, got the end of the line");
    bad("host wait 192.0.2.1\n",
        "bad.tern:1: expected a host name (letters, digits, '-', '_'; not a keyword), got 'wait'");
    bad("host A 192.0.2.1\nhost A 192.0.2.2\n",
        "bad.tern:2: expected a new host name, got 'A' a second time");
    bad("host A 192.0.2.1\nhost B 192.0.2.1\n",
        "bad.tern:2: expected an address no other host has, got '192.0.2.1'");
    bad("host A 192.0.2.1 msl fast\n",
        "bad.tern:1: expected a duration such as 10ms (units ns, us, ms, s), got 'fast'");
    bad("host A 192.0.2.1 colour red\n",
        "bad.tern:1: expected 'msl DURATION', 'rto DURATION' or 'loss rack|rfc6675', got "
        "'colour'");
    bad("host A 192.0.2.1 loss fast\n", "bad.tern:1: expected 'rack' or 'rfc6675', got 'fast'");
    bad("host A 192.0.2.1 loss\n",
        "bad.tern:1: expected 'rack' or 'rfc6675', got the end of the line");
    bad("host A 192.0.2.1\n", "bad.tern:2: expected at least two 'host NAME ADDRESS' lines");
    bad("host A 192.0.2.1\nhost B 192.0.2.2\n", "bad.tern:3: expected a 'link HOST HOST' line");
    bad("host A 192.0.2.1\nhost B 192.0.2.2\nlink A C\n",
        "bad.tern:3: expected the name of a declared host, got 'C'");
    bad(HDR "link A B\n", "bad.tern:4: expected one link only; this scenario already has one");
    bad(HDR "link A B delay 5 ms\n", "bad.tern:4: expected one link only; this scenario already "
                                     "has one");
    bad("host A 192.0.2.1\nhost B 192.0.2.2\nlink A B delay 5\n",
        "bad.tern:3: expected a duration such as 10ms (units ns, us, ms, s), got '5'");
    bad(HDR "frobnicate\n",
        "bad.tern:4: expected a statement (title seed host link draw style wait crash restart "
        "reboot hold drop delay release inject expect, or HOST followed by a call), got "
        "'frobnicate'");
    bad(HDR "A fly\n", "bad.tern:4: expected a call: listen open send close abort iss, got 'fly'");
    bad(HDR "A listen 0\n", "bad.tern:4: expected a port from 1 to 65535, got '0'");
    bad(HDR "A listen 80 iss -1\n", "bad.tern:4: expected an ISS from 0 to 4294967295, got '-1'");
    bad(HDR "A open B\n", "bad.tern:4: expected HOST:PORT with a port from 1 to 65535, got 'B'");
    bad(HDR "A open C:80\n", "bad.tern:4: expected HOST:PORT naming a declared host, got 'C:80'");
    bad(HDR "A open A:80\n", "bad.tern:4: expected another host's HOST:PORT, got 'A:80'");
    bad(HDR "A open B:80 mss 5\n", "bad.tern:4: expected 'iss N' or 'port N', got 'mss'");
    bad(HDR "A send\n",
        "bad.tern:4: expected a byte count or \"quoted text\", got the end of the line");
    bad(HDR "A send \"oops\n", "bad.tern:4: expected a closing '\"'");
    bad(HDR "A close now\n", "bad.tern:4: expected the end of the line, got 'now'");
    bad(HDR "hold A 0\n", "bad.tern:4: expected a segment count from 1 to 1000, got '0'");
    bad(HDR "inject A:1 B:2 <SEQ=1>\n",
        "bad.tern:4: expected '>' between the two HOST:PORT, got 'B:2'");
    bad(HDR "inject A:1 > B:2 <SEQ=x>\n",
        "bad.tern:4: expected a segment such as <SEQ=100><ACK=301><CTL=SYN,ACK> (fields SEQ ACK "
        "CTL DATA WND), got '<SEQ=x>'");
    bad(HDR "inject A:1 > B:2 <SEQ=1><CTL=SYN,BOGUS>\n",
        "bad.tern:4: expected a segment such as <SEQ=100><ACK=301><CTL=SYN,ACK> (fields SEQ ACK "
        "CTL DATA WND), got '<SEQ=1><CTL=SYN,BOGUS>'");
    bad(HDR "inject A:1 > B:2 <SEQ=1><DATA=1401>\n",
        "bad.tern:4: expected a segment to inject with at most <DATA=1400>, got "
        "'<SEQ=1><DATA=1401>'");
    bad(HDR "expect A sent <SEQ=1><DATA=65536>\n",
        "bad.tern:4: expected a segment such as <SEQ=100><ACK=301><CTL=SYN,ACK> (fields SEQ ACK "
        "CTL DATA WND), got '<SEQ=1><DATA=65536>'");
    bad(HDR "inject A:1 > B:2 <CTL=SYN>\n",
        "bad.tern:4: expected a segment with a <SEQ=n> field, got '<CTL=SYN>'");
    bad(HDR "expect A state OPEN\n",
        "bad.tern:4: expected a state name as RFC 9293 spells it (SYN-RECEIVED...), got 'OPEN'");
    bad(HDR "expect A event boom\n",
        "bad.tern:4: expected an event: connected closed peer-fin readable error reset refused "
        "timedout unreach, got 'boom'");
    bad(HDR "expect A\n", "bad.tern:4: expected 'state', 'event', 'sent', 'cwnd' or 'ssthresh', "
                          "got the end of the line");
    bad(HDR "expect A cwnd lots\n", "bad.tern:4: expected a number of bytes, got 'lots'");
    bad(HDR "expect A sent <SEQ=1> times\n",
        "bad.tern:4: expected a count from 0 to 1000000, got the end of the line");
    bad(HDR "expect A sent <SEQ=1> times 2 more\n",
        "bad.tern:4: expected the end of the line, got 'more'");
    bad(HDR "wait 1h\n",
        "bad.tern:4: expected a duration such as 10ms (units ns, us, ms, s), got '1h'");
    bad(HDR "A close\nhost C 192.0.2.3\n", "bad.tern:5: expected 'host' before the first action");
    bad(HDR "A close\ndraw A B\n",
        "bad.tern:5: expected 'on' or 'off' (the drawn hosts are chosen before any action), got "
        "'A'");
    bad(HDR "style data fancy\n",
        "bad.tern:4: expected 'style data count' or 'style data plain', got 'fancy'");
    bad("host A 192.0.2.1\nhost B 192.0.2.2\nA close\n",
        "bad.tern:3: expected a 'link HOST HOST' line before the first action");
    bad("title\n", "bad.tern:1: expected a title text, got the end of the line");
}

/* Bytes that are not text, lines without newline, a huge line: an error
 * or a program, never a crash. */
static void
test_parse_robust(void)
{
    char buf[4096];
    struct tern_scenario *sc = NULL;
    char err[128];
    static const char nul[] = "title a\0b\n";
    CHECK_EQ(tern_scenario_parse("n", nul, sizeof(nul) - 1, &sc, err, sizeof(err)), TERN_ERR_INVAL);
    CHECK_STR(err, "n:1: expected text, got a NUL byte");
    memset(buf, 'x', sizeof(buf));
    CHECK_EQ(tern_scenario_parse("x", buf, sizeof(buf), &sc, err, sizeof(err)), TERN_ERR_INVAL);
    CHECK(sc == NULL);
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (char)(i * 7919 % 251 + 1);
    }
    CHECK_EQ(tern_scenario_parse("y", buf, sizeof(buf), &sc, err, 8), TERN_ERR_INVAL);
    CHECK(strlen(err) < 8);
    /* Every prefix of a good file either parses or fails cleanly. */
    for (size_t n = 0; n <= strlen(good); n++) {
        int rc = tern_scenario_parse("p", good, n, &sc, err, sizeof(err));
        CHECK(rc == TERN_OK || rc == TERN_ERR_INVAL);
        tern_scenario_free(sc);
        sc = NULL;
    }
}

/* ---- renderer ---- */

/* An IPv4 + TCP datagram from 192.0.2.1 <-> 192.0.2.2 (checksums are not
 * looked at by the renderer). */
static size_t
make_pkt(uint8_t *p, int from, uint32_t seq, uint32_t ack, uint8_t flags, size_t text)
{
    size_t total = 40 + text;
    memset(p, 0, total);
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    p[8] = 64;
    p[9] = 6;
    p[12] = 192, p[13] = 0, p[14] = 2, p[15] = (uint8_t)(from == 0 ? 1 : 2);
    p[16] = 192, p[17] = 0, p[18] = 2, p[19] = (uint8_t)(from == 0 ? 2 : 1);
    uint8_t *t = p + 20;
    t[4] = (uint8_t)(seq >> 24), t[5] = (uint8_t)(seq >> 16), t[6] = (uint8_t)(seq >> 8);
    t[7] = (uint8_t)seq;
    t[8] = (uint8_t)(ack >> 24), t[9] = (uint8_t)(ack >> 16), t[10] = (uint8_t)(ack >> 8);
    t[11] = (uint8_t)ack;
    t[12] = 0x50;
    t[13] = flags;
    return total;
}

struct fixture {
    struct tern_diagram *d;
    uint8_t pkt[128];
    int64_t now;
};

static void
sim_event(struct fixture *f, enum tern_sim_event_kind kind, uint64_t id, int from, uint32_t seq,
          uint32_t ack, uint8_t flags, size_t text)
{
    struct tern_sim_event ev = {.kind = kind, .now_ns = f->now, .arrive_ns = -1, .host = -1};
    ev.pkt.id = id;
    ev.pkt.orig_id = id;
    ev.pkt.from_host = from;
    ev.pkt.to_host = 1 - from;
    ev.pkt.data = f->pkt;
    ev.pkt.len = make_pkt(f->pkt, from, seq, ack, flags, text);
    if (kind == TERN_SIM_EV_ARRIVED) {
        tern_diagram_step(f->d);
    }
    tern_diagram_observe(f->d, &ev);
}

static void
state(struct fixture *f, int host, uint32_t conn, int old_state, int new_state, const char *rule)
{
    struct tern_trace_event ev = {.kind = TERN_TRACE_STATE,
                                  .now_ns = f->now,
                                  .layer = "tcp",
                                  .rule = rule,
                                  .drop = TERN_DROP_COUNT,
                                  .conn = conn,
                                  .old_state = old_state,
                                  .new_state = new_state};
    tern_diagram_trace(f->d, host, &ev);
}

static void
tx(struct fixture *f, int host, uint32_t conn, int st, const char *rule)
{
    struct tern_trace_tcp seg = {.state = st};
    struct tern_trace_event ev = {.kind = TERN_TRACE_TX,
                                  .now_ns = f->now,
                                  .layer = "tcp",
                                  .rule = rule,
                                  .drop = TERN_DROP_COUNT,
                                  .conn = conn,
                                  .tcp = &seg};
    tern_diagram_trace(f->d, host, &ev);
}

static void
drop(struct fixture *f, int host, enum tern_drop_reason why)
{
    struct tern_trace_tcp seg = {.state = -1};
    struct tern_trace_event ev = {.kind = TERN_TRACE_DROP,
                                  .now_ns = f->now,
                                  .layer = "tcp",
                                  .rule = "drop rule",
                                  .drop = why,
                                  .tcp = &seg};
    tern_diagram_trace(f->d, host, &ev);
}

/* Renders into a string the caller frees. */
static char *
render(struct fixture *f, bool explain)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (out == NULL) {
        return NULL;
    }
    tern_diagram_render(f->d, explain, out);
    fclose(out);
    return buf;
}

static void
expect_diagram(struct fixture *f, const char *want)
{
    char *got = render(f, false);
    CHECK(got != NULL);
    if (got != NULL && strcmp(got, want) != 0) {
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
        CHECK_STR(got, want);
    }
    free(got);
    tern_diagram_free(f->d);
}

/* A SYN that arrives before anything else happens: one line. */
static void
test_render_same_line(void)
{
    struct fixture f = {.d = tern_diagram_new(0, "A", 1, "B")};
    tern_diagram_user(f.d, 1, 0);
    state(&f, 1, 1, TERN_TCP_CLOSED, TERN_TCP_LISTEN, "listen rule");
    tern_diagram_user_end(f.d);
    tern_diagram_user(f.d, 0, 0);
    state(&f, 0, 1, TERN_TCP_CLOSED, TERN_TCP_SYN_SENT, "open rule");
    tx(&f, 0, 1, TERN_TCP_SYN_SENT, "syn rule");
    sim_event(&f, TERN_SIM_EV_SENT, 1, 0, 100, 0, 0x02, 0);
    tern_diagram_user_end(f.d);
    f.now = 10;
    sim_event(&f, TERN_SIM_EV_ARRIVED, 1, 0, 100, 0, 0x02, 0);
    state(&f, 1, 2, TERN_TCP_LISTEN, TERN_TCP_SYN_RECEIVED, "listen syn rule");
    char *explained = render(&f, true);
    CHECK(explained != NULL && strstr(explained, "         A: open rule\n"
                                                 "         A: syn rule\n"
                                                 "         B: listen syn rule\n") != NULL);
    free(explained);
    expect_diagram(&f, "       TCP Peer A                            TCP Peer B\n"
                       "\n"
                       "   1.  CLOSED                                LISTEN\n"
                       "\n"
                       "   2.  SYN-SENT   --> <SEQ=100><CTL=SYN> --> SYN-RECEIVED\n");
}

/* SYNs crossing as in Figure 7: A's departs, B's departs and arrives
 * first, then A's arrives: departure and arrival drawn apart, with "...". */
static void
test_render_in_flight(void)
{
    struct fixture f = {.d = tern_diagram_new(0, "A", 1, "B")};
    tern_diagram_user(f.d, 0, 0);
    state(&f, 0, 1, TERN_TCP_CLOSED, TERN_TCP_SYN_SENT, NULL);
    tx(&f, 0, 1, TERN_TCP_SYN_SENT, NULL);
    sim_event(&f, TERN_SIM_EV_SENT, 1, 0, 100, 0, 0x02, 0);
    tern_diagram_user_end(f.d);
    f.now = 5;
    tern_diagram_user(f.d, 1, 5);
    state(&f, 1, 1, TERN_TCP_CLOSED, TERN_TCP_SYN_SENT, NULL);
    tx(&f, 1, 1, TERN_TCP_SYN_SENT, NULL);
    sim_event(&f, TERN_SIM_EV_SENT, 2, 1, 300, 0, 0x02, 0);
    tern_diagram_user_end(f.d);
    f.now = 15;
    sim_event(&f, TERN_SIM_EV_ARRIVED, 2, 1, 300, 0, 0x02, 0);
    state(&f, 0, 1, TERN_TCP_SYN_SENT, TERN_TCP_SYN_RECEIVED, NULL);
    f.now = 30;
    sim_event(&f, TERN_SIM_EV_ARRIVED, 1, 0, 100, 0, 0x02, 0);
    state(&f, 1, 1, TERN_TCP_SYN_SENT, TERN_TCP_SYN_RECEIVED, NULL);
    expect_diagram(&f, "       TCP Peer A                              TCP Peer B\n"
                       "\n"
                       "   1.  CLOSED                                  CLOSED\n"
                       "\n"
                       "   2.  SYN-SENT     --> <SEQ=100><CTL=SYN> ...\n"
                       "\n"
                       "   3.  SYN-RECEIVED <-- <SEQ=300><CTL=SYN> <-- SYN-SENT\n"
                       "\n"
                       "   4.               ... <SEQ=100><CTL=SYN> --> SYN-RECEIVED\n");
}

/* Markers come from the trace: a segment to no connection is "(??)"; a
 * RST closing a synchronized connection is "(Abort!!)", followed by a line
 * with both states; a RST sent by no connection shows no state. */
static void
test_render_markers(void)
{
    struct fixture f = {.d = tern_diagram_new(0, "A", 1, "B")};
    tern_diagram_set_drawing(f.d, false);
    state(&f, 1, 1, TERN_TCP_SYN_RECEIVED, TERN_TCP_ESTABLISHED, NULL);
    tern_diagram_set_drawing(f.d, true);
    tern_diagram_crash(f.d, 0, true, "(send 300,receive 100)", 0);
    tern_diagram_user(f.d, 1, 0);
    tx(&f, 1, 1, TERN_TCP_ESTABLISHED, NULL);
    sim_event(&f, TERN_SIM_EV_SENT, 1, 1, 300, 100, 0x10, 10);
    tern_diagram_user_end(f.d);
    f.now = 10;
    sim_event(&f, TERN_SIM_EV_ARRIVED, 1, 1, 300, 100, 0x10, 10);
    drop(&f, 0, TERN_DROP_TCP_NO_CONN);
    tx(&f, 0, 0, -1, NULL);
    sim_event(&f, TERN_SIM_EV_SENT, 2, 0, 100, 0, 0x04, 0);
    f.now = 20;
    sim_event(&f, TERN_SIM_EV_ARRIVED, 2, 0, 100, 0, 0x04, 0);
    state(&f, 1, 1, TERN_TCP_ESTABLISHED, TERN_TCP_CLOSED, NULL);
    expect_diagram(&f, "       TCP Peer A                                              TCP Peer B\n"
                       "\n"
                       "   1.  (REBOOT)                                                (send "
                       "300,receive 100)\n"
                       "\n"
                       "   2.  CLOSED                                                  "
                       "ESTABLISHED\n"
                       "\n"
                       "   3.  (?"
                       "?)       <-- <SEQ=300><ACK=100><CTL=ACK><DATA=10> <-- ESTABLISHED\n"
                       "\n"
                       "   4.             --> <SEQ=100><CTL=RST>                   --> "
                       "(Abort!!)\n"
                       "\n"
                       "   5.  CLOSED                                                  CLOSED\n");
}

/* ---- runs ---- */

/* Parses and runs `text`; returns tern_scenario_run's status (2 for a
 * parse error) and leaves its error messages in errbuf. */
static int
run_text(const char *text, char *errbuf, size_t cap)
{
    struct tern_scenario *sc = NULL;
    char perr[256];
    errbuf[0] = '\0';
    if (tern_scenario_parse("run.tern", text, strlen(text), &sc, perr, sizeof(perr)) != TERN_OK) {
        snprintf(errbuf, cap, "%s", perr);
        return 2;
    }
    FILE *out = tmpfile();
    FILE *err = tmpfile();
    CHECK(out != NULL && err != NULL);
    if (out == NULL || err == NULL) {
        tern_scenario_free(sc);
        return 2;
    }
    struct tern_scenario_opts opts = {0};
    int rc = tern_scenario_run(sc, &opts, out, err);
    rewind(err);
    size_t n = fread(errbuf, 1, cap - 1, err);
    errbuf[n] = '\0';
    fclose(out);
    fclose(err);
    tern_scenario_free(sc);
    return rc;
}

#define RUN_HDR(loss)                                                                              \
    "host A 192.0.2.1 loss " loss "\nhost B 192.0.2.2\nlink A B delay 10ms\n"                      \
    "B listen 80 iss 300\nA open B:80 port 1024 iss 100\nwait\n"

static void
test_run_cwnd_and_times(void)
{
    char err[1024];
    /* After the handshake: IW10 of 1448-byte segments, ssthresh "infinite". */
    CHECK_EQ(run_text(RUN_HDR("rack") "expect A cwnd 14480\nexpect A ssthresh 4294967295\n"
                                      "expect A not cwnd 14479\n",
                      err, sizeof(err)),
             0);
    CHECK_STR(err, "");
    CHECK_EQ(run_text(RUN_HDR("rack") "expect A cwnd 2896\n", err, sizeof(err)), 1);
    CHECK(strstr(err, "run.tern:7: expectation failed: expect A cwnd 2896 (got cwnd 14480)") !=
          NULL);
    CHECK_EQ(run_text(RUN_HDR("rack") "expect A not ssthresh 4294967295\n", err, sizeof(err)), 1);
    /* B's answer to the SYN went once; A's SYN once, not twice. */
    CHECK_EQ(run_text(RUN_HDR("rack") "expect B sent <SEQ=300><CTL=SYN,ACK> times 1\n"
                                      "expect A not sent <SEQ=100><CTL=SYN> times 2\n"
                                      "expect A sent <SEQ=5000> times 0\n",
                      err, sizeof(err)),
             0);
    CHECK_STR(err, "");
    CHECK_EQ(run_text(RUN_HDR("rack") "expect B sent <SEQ=300><CTL=SYN,ACK> times 2\n", err,
                      sizeof(err)),
             1);
    CHECK(strstr(err, "1 of them matching") != NULL);
}

static void
test_run_loss_option(void)
{
    /* Four segments, the last two lost: with RACK-TLP (loss rack) the
     * probe resends the last one 2 SRTT after the ACKs (RFC 8985 7.3),
     * well before the 200 ms RTO; with RFC 6675 (loss rfc6675) nothing is
     * resent by then. The option reaches the stack's configuration. */
    const char *body = "A send 2896\ndrop A 2\nA send 2896\nwait 100ms\n"
                       "expect A sent <SEQ=4445><ACK=301><CTL=ACK> times 2\n";
    char text[512], err[1024];
    snprintf(text, sizeof(text), "%s%s", RUN_HDR("rack"), body);
    CHECK_EQ(run_text(text, err, sizeof(err)), 0);
    CHECK_STR(err, "");
    snprintf(text, sizeof(text), "%s%s", RUN_HDR("rfc6675"), body);
    CHECK_EQ(run_text(text, err, sizeof(err)), 1);
    CHECK(strstr(err, "0 of them matching") == NULL && strstr(err, "1 of them matching") != NULL);
}

int
main(void)
{
    RUN(test_parse_good);
    RUN(test_parse_errors);
    RUN(test_parse_robust);
    RUN(test_render_same_line);
    RUN(test_render_in_flight);
    RUN(test_render_markers);
    RUN(test_run_cwnd_and_times);
    RUN(test_run_loss_option);
    return CHECK_DONE();
}
