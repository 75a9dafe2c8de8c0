/* tests/unit/test_tcp_time_wait.c: TIME-WAIT (RFC 9293 3.6, 3.10.7.4, 3.10.8; RFC 1122
 * 4.2.2.13; RFC 6191). */
#include "tcp_harness.h"

/* Every test runs twice: first with the user holding the connection's id
 * (the TCB stays as a husk reporting TIME-WAIT while a compact record runs
 * the protocol, src/tcp/mini.c), then with the id released on entering
 * TIME-WAIT (the record alone). */
static bool g_release;

static void
tw_hold(struct h *h, int id)
{
    if (g_release) {
        CHECK_EQ(tern_tcp_release(h->st, id, h->now), TERN_OK);
        CHECK(tcp_tcb_get(h->st, id) == NULL);
    }
}

/* The state of connection `id` on our port `port`: from STATUS, or, once
 * released, from the record (CLOSED when there is none). */
static int
tw_state(struct h *h, int id, uint16_t port)
{
    if (!g_release) {
        return h_state(h, id);
    }
    int s = h_tuple_state(h, port);
    return s < 0 ? TERN_TCP_CLOSED : s;
}

#define CHECK_TW(h, id, port, s)                                                                   \
    CHECK_STR(tern_tcp_state_name(tw_state((h), (id), (port))), tern_tcp_state_name(s))

static void
test_two_msl_then_closed(void)
{
    /* EVIDENCE: RFC 9293 3.6 MUST-13 3.10.8: TIME-WAIT lasts 2 MSL (MSL 120 s) */
    struct h h;
    h_init(&h);
    int id = h_time_wait(&h);
    tw_hold(&h, id);
    h_advance(&h, 240 * SEC - 1);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_TIME_WAIT);
    h_advance(&h, 1);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_CLOSED);
    if (!g_release) {
        CHECK_EQ(tern_tcp_error(h.st, id), 0);
        CHECK(h.events[id] & TERN_TCP_EV_CLOSED);
    }
    CHECK_STR(h.last_rule, "RFC 9293 3.10.8: TIME-WAIT timeout (2 MSL) -> CLOSED");
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
cfg_short_msl(struct tern_config *c)
{
    c->tcp.msl_ns = 2 * SEC;
}

static void
test_msl_configurable_and_fin_restarts(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth/eighth MUST-13: a retransmitted FIN is acked and
     * restarts the 2 MSL timer */
    struct h h;
    h_init_cfg(&h, cfg_short_msl);
    int id = h_time_wait(&h);
    tw_hold(&h, id);
    h_advance(&h, 3 * SEC);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_advance(&h, 3 * SEC);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_TIME_WAIT);
    h_advance(&h, 1 * SEC);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_CLOSED);
    h_fini(&h);
}

static void
test_rst_in_time_wait_closes(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second: TIME-WAIT, RST at RCV.NXT -> CLOSED (RFC 9293 text
     * chosen over RFC 1337's advice); inexact RST -> challenge ACK */
    struct h h;
    h_init(&h);
    int id = h_time_wait(&h);
    tw_hold(&h, id);
    h_deliver(&h, PEER(.seq = 310, .flags = RST));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    CHECK_TW(&h, id, US_PORT, TERN_TCP_TIME_WAIT);
    h_deliver(&h, PEER(.seq = 302, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_CLOSED);
    CHECK_STR(h.last_rule, "RFC 9293 3.10.7.4 second: TIME-WAIT, RST -> CLOSED");
    h_fini(&h);
}

/* Passive side in TIME-WAIT: a listener's child that closed first. */
static int
tw_passive(struct h *h, int *listener)
{
    *listener = h_listen(h, 0);
    h_deliver(h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    h_deliver(h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    int c = tern_tcp_accept(h->st, *listener, h->now);
    CHECK_EQ(tern_tcp_close(h->st, c, h->now), TERN_OK);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = FIN | ACK));
    h_deliver(h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(h, US(.seq = 102, .ack = 302, .flags = ACK));
    CHECK_STATE(h, c, TERN_TCP_TIME_WAIT);
    tw_hold(h, c);
    return c;
}

static void
test_new_syn_reopens_time_wait(void)
{
    /* EVIDENCE: RFC 9293 3.6 MAY-2 RFC 1122 4.2.2.13 RFC 6191 2: a SYN above the old sequence
     * space reopens; the new ISS is above the old SND.NXT; the old incarnation ends when the new
     * one is established */
    struct h h;
    h_init(&h);
    int l, c = tw_passive(&h, &l);
    tern_tcp_set_iss(h.st, l, 50); /* below the old SND.NXT (102): must be raised */
    h_deliver(&h, PEER(.seq = 1000, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 103, .ack = 1001, .flags = SYN | ACK));
    EXPECT_NOTHING(&h);
    if (!g_release) {
        CHECK_STATE(&h, c, TERN_TCP_TIME_WAIT);
    }
    CHECK_EQ(h.st->tcp->mini_used[0], 1); /* the TIME-WAIT record, parked */
    h_deliver(&h, PEER(.seq = 1001, .ack = 104, .flags = ACK));
    if (!g_release) {
        CHECK_STATE(&h, c, TERN_TCP_CLOSED);
    }
    CHECK_EQ(h.st->tcp->mini_used[0], 0);
    CHECK_STR(h.last_rule, "RFC 9293 3.6 (MAY-2): new incarnation established -> TIME-WAIT ends");
    int c2 = tern_tcp_accept(h.st, l, h.now);
    CHECK(c2 > 0);
    CHECK_STATE(&h, c2, TERN_TCP_ESTABLISHED);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.time_wait_reuse, 1);
    h_fini(&h);
}

static void
test_old_syn_in_time_wait_acked(void)
{
    /* EVIDENCE: RFC 6191 2 RFC 1122 4.2.2.13 RFC 9293 3.10.7.4 first: a SYN not above the old
     * sequence numbers opens nothing, TIME-WAIT kept; it is answered with the ACK of the current
     * state (issue 11 item 4: not silence), whose RST from a peer in SYN-SENT ends TIME-WAIT, and
     * the SYN repeated then opens the connection */
    struct h h;
    h_init(&h);
    int l, c = tw_passive(&h, &l);
    h_deliver(&h, PEER(.seq = 250, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_TIME_WAIT_SYN);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.time_wait_reuse, 0);
    CHECK_TW(&h, c, LISTEN_PORT, TERN_TCP_TIME_WAIT);
    /* The peer's SYN-SENT answers the ACK: <SEQ=SEG.ACK><CTL=RST> (3.10.7.3 first). */
    h_deliver(&h, PEER(.seq = 302, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_TW(&h, c, LISTEN_PORT, TERN_TCP_CLOSED);
    h_deliver(&h, PEER(.seq = 250, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 251, .flags = SYN | ACK));
    h_fini(&h);
}

static void
test_reopen_old_duplicate_returns_to_time_wait(void)
{
    /* EVIDENCE: RFC 9293 3.6 MAY-2 (2) RFC 1122 4.2.2.13: the SYN was an old duplicate (RST) ->
     * the connection returns to TIME-WAIT */
    struct h h;
    h_init(&h);
    int l, c = tw_passive(&h, &l);
    h_deliver(&h, PEER(.seq = 1000, .flags = SYN));
    struct wire_tcp sa = EXPECT_SENT(&h, US(.seq = 103, .ack = 1001, .flags = SYN | ACK));
    (void)sa;
    h_deliver(&h, PEER(.seq = 1001, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_TW(&h, c, LISTEN_PORT, TERN_TCP_TIME_WAIT);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_TIME_WAIT);
    /* Still answers as TIME-WAIT: a retransmitted FIN gets its ACK. */
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    h_advance(&h, 240 * SEC);
    CHECK_TW(&h, c, LISTEN_PORT, TERN_TCP_CLOSED);
    h_fini(&h);
}

static void
test_syn_in_time_wait_without_listener(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fourth RFC 5961 4.2: no listener -> SYN in a synchronized
     * state -> challenge ACK */
    struct h h;
    h_init(&h);
    int id = h_time_wait(&h);
    tw_hold(&h, id);
    h_deliver(&h, PEER(.seq = 5000, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_TIME_WAIT);
    h_fini(&h);
}

static void
test_release_in_time_wait_frees_later(void)
{
    /* EVIDENCE: RFC 9293 3.6 MUST-13: a released connection still lingers 2 MSL */
    struct h h;
    h_init(&h);
    int id = h_time_wait(&h);
    CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
    CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_TIME_WAIT);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    h_advance(&h, 240 * SEC);
    CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .flags = RST));
    h_fini(&h);
}

static void
test_acceptable_text_acked_and_restarts(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth MUST-13: TIME-WAIT, an acceptable segment with text is
     * acknowledged (RCV.NXT unchanged) and restarts the 2 MSL timeout */
    struct h h;
    h_init_cfg(&h, cfg_short_msl);
    int id = h_time_wait(&h);
    tw_hold(&h, id);
    h_advance(&h, 3 * SEC);
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK, .data = "late"));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_advance(&h, 3 * SEC);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_TIME_WAIT);
    h_advance(&h, 1 * SEC);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_CLOSED);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_bare_ack_restarts_silently(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth MUST-13: TIME-WAIT, an acceptable bare ACK restarts the
     * 2 MSL timeout and is not acknowledged (no ACK of an ACK: two TIME-WAITs would loop) */
    struct h h;
    h_init_cfg(&h, cfg_short_msl);
    int id = h_time_wait(&h);
    tw_hold(&h, id);
    h_advance(&h, 3 * SEC);
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_advance(&h, 3 * SEC);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_TIME_WAIT);
    h_advance(&h, 1 * SEC);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_CLOSED);
    h_fini(&h);
}

static void
test_second_fin_does_not_advance_rcv_nxt(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 eighth: TIME-WAIT, a FIN at RCV.NXT (not the peer's FIN, which
     * was at RCV.NXT - 1) does not move RCV.NXT: the ACK names 302, never 303 */
    struct h h;
    h_init(&h);
    int id = h_time_wait(&h);
    tw_hold(&h, id);
    unsigned ev = g_release ? 0 : h.events[id];
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = FIN | ACK, .data = "xy"));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_TW(&h, id, US_PORT, TERN_TCP_TIME_WAIT);
    if (!g_release) {
        struct tern_tcp_status s;
        CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
        CHECK_EQ(s.rcv_nxt, 302);
        CHECK_EQ(h.events[id], ev); /* no second "connection closing" */
    }
    h_fini(&h);
}

int
main(void)
{
    for (int pass = 0; pass < 2; pass++) {
        g_release = pass == 1;
        RUN(test_two_msl_then_closed);
        RUN(test_msl_configurable_and_fin_restarts);
        RUN(test_rst_in_time_wait_closes);
        RUN(test_new_syn_reopens_time_wait);
        RUN(test_old_syn_in_time_wait_acked);
        RUN(test_reopen_old_duplicate_returns_to_time_wait);
        RUN(test_syn_in_time_wait_without_listener);
        RUN(test_release_in_time_wait_frees_later);
        RUN(test_acceptable_text_acked_and_restarts);
        RUN(test_bare_ack_restarts_silently);
        RUN(test_second_fin_does_not_advance_rcv_nxt);
    }
    return CHECK_DONE();
}
