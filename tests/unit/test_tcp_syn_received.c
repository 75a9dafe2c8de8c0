/* tests/unit/test_tcp_syn_received.c: SYN-RECEIVED (RFC 9293 3.10.7.4 in that state). */
#include "tcp_harness.h"

/* The passive tests run twice: on a fully specified passive OPEN (its own
 * TCB goes to SYN-RECEIVED), then on a wildcard listener, whose SYN-RECEIVED
 * connection is an embryonic record of the SYN cache (src/tcp/mini.c) that
 * the same state machine runs. `id` is then the listener. */
static bool g_embryo;

static int
syn_rcvd(struct h *h)
{
    if (!g_embryo) {
        return h_syn_received_passive(h);
    }
    struct tern_tcp_open_args a = {
        .passive = true, .local_port = US_PORT, .set_iss = true, .iss = LOCAL_ISS};
    int id = tern_tcp_open(h->st, &a, h->now);
    CHECK(id > 0);
    h_deliver(h, PEER(.seq = REMOTE_ISS, .flags = SYN));
    EXPECT_SENT(h, US(.seq = LOCAL_ISS, .ack = REMOTE_ISS + 1, .flags = SYN | ACK));
    CHECK(tcp_mini_find(h->st, tern_ip4(US_ADDR), US_PORT, tern_ip4(PEER_ADDR), PEER_PORT) != NULL);
    return id;
}

/* The state of the passive connection: its own, or, for a listener, the
 * embryonic record's or the child's (LISTEN when neither exists). */
static int
pstate(struct h *h, int id)
{
    int s = g_embryo ? h_tuple_state(h, US_PORT) : -1;
    return s >= 0 ? s : h_state(h, id);
}

#define CHECK_PSTATE(h, id, s)                                                                     \
    CHECK_STR(tern_tcp_state_name(pstate((h), (id))), tern_tcp_state_name(s))

static void
test_passive_rst_back_to_listen(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second 3.5.3 MUST-11: passive SYN-RECEIVED, RST -> LISTEN */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_deliver(&h, PEER(.seq = 301, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_PSTATE(&h, id, TERN_TCP_LISTEN);
    CHECK_EQ(h.events[id], 0);
    h_advance(&h, 5 * SEC);
    EXPECT_NOTHING(&h); /* the retransmission queue was flushed */
    h_fini(&h);
}

static void
test_passive_syn_back_to_listen(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fourth MUST-11: passive SYN-RECEIVED, SYN in window -> LISTEN */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_deliver(&h, PEER(.seq = 305, .flags = SYN));
    EXPECT_NOTHING(&h);
    CHECK_PSTATE(&h, id, TERN_TCP_LISTEN);
    h_fini(&h);
}

static void
test_unacceptable_ack_gets_reset(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth 3.5.2: SYN-RECEIVED, bad ACK -> <SEQ=SEG.ACK><CTL=RST> */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 500, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 500, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_PSTATE(&h, id, TERN_TCP_SYN_RECEIVED);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    CHECK_PSTATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK(h.events[id] & (g_embryo ? TERN_TCP_EV_ACCEPT_READY : TERN_TCP_EV_CONNECTED));
    h_fini(&h);
}

static void
test_no_ack_dropped(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth: ACK bit off -> drop */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_deliver(&h, PEER(.seq = 301, .flags = PSH, .data = "x"));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_NO_ACK);
    CHECK_PSTATE(&h, id, TERN_TCP_SYN_RECEIVED);
    h_fini(&h);
}

static void
test_unacceptable_sequence_gets_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first: unacceptable segment -> <SEQ=SND.NXT><ACK=RCV.NXT> */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_deliver(&h, PEER(.seq = 300 + 20000, .ack = 101, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_PSTATE(&h, id, TERN_TCP_SYN_RECEIVED);
    h_fini(&h);
}

static void
test_synack_retransmitted_then_gives_up(void)
{
    /* EVIDENCE: RFC 9293 3.10.8 MUST-19 MUST-22: SYN,ACK retransmitted with backoff */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    h_advance(&h, 2 * SEC - 1);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    h_advance(&h, 400 * SEC);
    if (g_embryo) {
        /* The record is deleted after synack_retries; the listener stays. */
        CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
        CHECK_EQ(tern_stack_stats(h.st)->tcp.syn_cache_expired, 1);
        CHECK_STATE(&h, id, TERN_TCP_LISTEN);
    } else {
        CHECK_STATE(&h, id, TERN_TCP_CLOSED);
        CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    }
    h_fini(&h);
}

static void
test_close_in_syn_received_sends_fin(void)
{
    /* EVIDENCE: RFC 9293 3.10.4: CLOSE in SYN-RECEIVED with nothing to send -> FIN, FIN-WAIT-1 */
    struct h h;
    h_init(&h);
    int id = h_syn_received_passive(&h);
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = FIN | ACK));
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_1);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_2);
    h_fini(&h);
}

static void
test_send_queued_until_established(void)
{
    /* EVIDENCE: RFC 9293 3.10.2: SEND in SYN-RECEIVED is queued until ESTABLISHED */
    struct h h;
    h_init(&h);
    int id = h_syn_received_passive(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "abc", 3, h.now), 3);
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "abc"));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_abort_in_syn_received_sends_rst(void)
{
    /* EVIDENCE: RFC 9293 3.10.5: ABORT in SYN-RECEIVED -> <SEQ=SND.NXT><CTL=RST> */
    struct h h;
    h_init(&h);
    int id = h_syn_received_passive(&h);
    CHECK_EQ(tern_tcp_abort(h.st, id, h.now), TERN_OK);
    EXPECT_SENT(&h, US(.seq = 101, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    h_fini(&h);
}

static void
test_fin_with_ack_in_syn_received(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth, eighth: ACK then FIN -> ESTABLISHED -> CLOSE-WAIT */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK));
    CHECK_PSTATE(&h, id, TERN_TCP_CLOSE_WAIT);
    if (g_embryo) {
        int c = tern_tcp_accept(h.st, id, h.now);
        CHECK(c > 0);
        CHECK(tern_tcp_events(h.st, c) & TERN_TCP_EV_PEER_FIN);
    } else {
        CHECK(h.events[id] & TERN_TCP_EV_PEER_FIN);
    }
    h_fini(&h);
}

static void
test_hard_icmp_in_syn_received(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.2 SHLD-26 MUST-54: protocol unreachable while opening -> CLOSED */
    struct h h;
    h_init(&h);
    int id = syn_rcvd(&h);
    h_deliver_icmp(&h, 3, 2, US_PORT, 100);
    if (g_embryo) {
        CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
        CHECK_EQ(tern_stack_stats(h.st)->tcp.icmp_hard, 1);
        CHECK_STATE(&h, id, TERN_TCP_LISTEN);
    } else {
        CHECK_STATE(&h, id, TERN_TCP_CLOSED);
        CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_UNREACH);
    }
    h_fini(&h);
}

int
main(void)
{
    for (int pass = 0; pass < 2; pass++) {
        g_embryo = pass == 1;
        RUN(test_passive_rst_back_to_listen);
        RUN(test_passive_syn_back_to_listen);
        RUN(test_unacceptable_ack_gets_reset);
        RUN(test_no_ack_dropped);
        RUN(test_unacceptable_sequence_gets_ack);
        RUN(test_synack_retransmitted_then_gives_up);
        RUN(test_fin_with_ack_in_syn_received);
        RUN(test_hard_icmp_in_syn_received);
    }
    g_embryo = false; /* user calls on a SYN-RECEIVED connection need its own TCB */
    RUN(test_close_in_syn_received_sends_fin);
    RUN(test_send_queued_until_established);
    RUN(test_abort_in_syn_received_sends_rst);
    return CHECK_DONE();
}
