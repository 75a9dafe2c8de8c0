/* tests/unit/test_tcp_syn_sent.c: OPEN and SYN-SENT (RFC 9293 3.10.1, 3.10.7.3). */
#include "tcp_harness.h"

static void
test_active_open_sends_syn(void)
{
    /* EVIDENCE: RFC 9293 3.10.1 MUST-14 MUST-44 SHLD-5: OPEN sends <SEQ=ISS><CTL=SYN>
     * with an MSS option, from the route's address */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    CHECK_STR(h.last_rule, "RFC 9293 3.10.1: active OPEN -> SYN-SENT");
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
    CHECK_EQ(s.snd_una, LOCAL_ISS);
    CHECK_EQ(s.snd_nxt, LOCAL_ISS + 1);
    CHECK_EQ(tern_ip_v4(s.local_addr), US_ADDR);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_basic_handshake_figure6(void)
{
    /* EVIDENCE: RFC 9293 3.5 Figure 6, 3.10.7.3: SYN,ACK -> ESTABLISHED, ACK; MUST-16 MUST-15 */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK_STR(h.last_rule, "RFC 9293 3.10.7.3: SYN-SENT, our SYN acked -> ESTABLISHED");
    CHECK(h.events[id] & TERN_TCP_EV_CONNECTED);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.snd_mss, 536); /* no MSS option from the peer: 536 (MUST-15) */
    CHECK_EQ(s.irs, 300);
    CHECK_EQ(s.rcv_nxt, 301);
    CHECK_EQ(s.snd_wnd, 8192);
    /* Line 5 of Figure 6: data with the ACK. */
    CHECK_EQ(tern_tcp_send(h.st, id, "hello", 5, h.now), 5);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_syn_to_closed_port_refused(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.3 3.5.2 MUST-12: RST,ACK for our SYN -> CLOSED, "refused" */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 0, .ack = 101, .flags = RST | ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_REFUSED);
    CHECK(h.events[id] & TERN_TCP_EV_CLOSED);
    CHECK(h.events[id] & TERN_TCP_EV_ERROR);
    CHECK_EQ(h.last_err[id], TERN_ERR_REFUSED);
    CHECK_EQ(tern_tcp_send(h.st, id, "x", 1, h.now), TERN_ERR_REFUSED);
    CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
    CHECK_EQ(tern_tcp_status(h.st, id, &(struct tern_tcp_status){0}), TERN_ERR_NOTCONN);
    h_fini(&h);
}

static void
test_rst_without_ack_ignored(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.3 second: RST without an acceptable ACK is dropped */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 0, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_SYN_SENT_RST);
    h_fini(&h);
}

static void
test_bad_ack_gets_reset(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.3 first, 3.5 Figure 8 line 5: unacceptable ACK ->
     * <SEQ=SEG.ACK><CTL=RST> */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 91, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 91, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    /* An ACK of ISS itself (=< ISS) is unacceptable too; with RST: dropped silently. */
    h_deliver(&h, PEER(.seq = 300, .ack = 100, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 100, .flags = RST));
    h_deliver(&h, PEER(.seq = 300, .ack = 5000, .flags = RST | ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    h_fini(&h);
}

static void
test_simultaneous_open_figure7(void)
{
    /* EVIDENCE: RFC 9293 3.5 Figure 7 MUST-10 MUST-11: SYN crosses SYN -> SYN-RECEIVED ->
     * ESTABLISHED */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_RECEIVED);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, id, &s);
    CHECK(!s.passive); /* MUST-11: reached from an active OPEN */
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    /* EVIDENCE: RFC 9293 3.10.7.4 first check: the SYN,ACK is at SEQ 300 < RCV.NXT 301 and
     * one octet long, so it is not acceptable: answer <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>,
     * drop it, ACK field unprocessed (Figure 7 draws ESTABLISHED here; the text rules). */
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_RECEIVED);
    CHECK(!(h.events[id] & TERN_TCP_EV_CONNECTED));
    /* The peer's own ACK of our SYN, sent for the same reason, completes the open. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK(h.events[id] & TERN_TCP_EV_CONNECTED);
    h_fini(&h);
}

static void
test_simultaneous_open_rst_refused(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second MUST-11: SYN-RECEIVED from active OPEN, RST -> CLOSED,
     * "connection refused" */
    struct h h;
    h_init(&h);
    int id = h_syn_received_active(&h);
    h_deliver(&h, PEER(.seq = 301, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_REFUSED);
    h_fini(&h);
}

static void
test_neither_syn_nor_rst_dropped(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.3 fifth: neither SYN nor RST -> drop */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_SYN_SENT_NO_SYN);
    h_fini(&h);
}

static void
test_syn_lost_once(void)
{
    /* EVIDENCE: RFC 9293 3.10.8 MUST-19 MUST-22: the SYN is lost, retransmitted after the
     * initial RTO of 1 s, then after 2 s (backoff) */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_advance(&h, SEC - 1);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1);
    EXPECT_SENT(&h, US(.seq = 100, .flags = SYN, .mss = 1460));
    EXPECT_NOTHING(&h);
    h_advance(&h, 2 * SEC);
    EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_advance(&h, 100 * SEC);
    EXPECT_NOTHING(&h); /* nothing outstanding: no timer */
    h_fini(&h);
}

static void
test_syn_ack_lost_once(void)
{
    /* EVIDENCE: RFC 9293 3.10.8: our SYN's answer is lost; the SYN is retransmitted and the
     * peer's second SYN,ACK opens the connection */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

static void
cfg_three_retries(struct tern_config *c)
{
    c->tcp.syn_retries = 3;
}

static void
test_syn_gives_up(void)
{
    /* EVIDENCE: RFC 9293 3.8.3 MUST-20 MUST-22: SYN retransmissions are bounded; the user
     * learns "timed out" */
    struct h h;
    h_init_cfg(&h, cfg_three_retries);
    int id = h_syn_sent(&h);
    h_advance(&h, 1 * SEC);
    h_advance(&h, 2 * SEC);
    h_advance(&h, 4 * SEC);
    for (int i = 0; i < 3; i++) {
        EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    }
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    h_advance(&h, 8 * SEC);
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    h_fini(&h);
}

static void
test_connect_timeout_default_three_minutes(void)
{
    /* EVIDENCE: RFC 9293 3.8.3 MUST-23: SYN retransmitted for at least 3 minutes */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_advance(&h, 179 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    h_advance(&h, 2 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    h_fini(&h);
}

static void
test_icmp_port_unreachable_aborts_open(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.2 MUST-54 SHLD-26: hard error (port unreachable) in SYN-SENT ->
     * CLOSED, TERN_ERR_UNREACH */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver_icmp(&h, 3, 3, US_PORT, LOCAL_ISS);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_UNREACH);
    h_fini(&h);
}

static void
test_icmp_soft_error_recorded_then_timeout(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.2 MUST-56 SHLD-25 MUST-47: host unreachable does not abort;
     * recorded and reported with the timeout */
    struct h h;
    h_init_cfg(&h, cfg_three_retries);
    int id = h_syn_sent(&h);
    h_deliver_icmp(&h, 3, 1, US_PORT, LOCAL_ISS);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    h_advance(&h, 20 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.error, TERN_ERR_TIMEDOUT);
    CHECK_EQ(s.soft_error, TERN_ERR_UNREACH);
    h_fini(&h);
}

static void
test_icmp_bad_sequence_ignored(void)
{
    /* EVIDENCE: RFC 5927 4.1 RFC 9293 3.9.2.2: quoted SEQ outside SND.UNA..SND.NXT -> ignored;
     * MUST-55 source quench ignored */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver_icmp(&h, 3, 3, US_PORT, LOCAL_ISS + 1000);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    h_deliver_icmp(&h, 4, 0, US_PORT, LOCAL_ISS);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_ICMP_BAD_SEQ], 1);
    h_fini(&h);
}

static void
test_close_and_abort_in_syn_sent(void)
{
    /* EVIDENCE: RFC 9293 3.10.4 3.10.5: CLOSE / ABORT in SYN-SENT delete the TCB, no segment */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    tern_tcp_release(h.st, id, h.now);
    id = h_syn_sent(&h);
    CHECK_EQ(tern_tcp_abort(h.st, id, h.now), TERN_OK);
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    h_advance(&h, 10 * SEC);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_syn_ack_with_data(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.3 fourth: text on a SYN,ACK goes on at the sixth step */
    /* Issue 11 item 5: one ACK covers the SYN and its text (was two). */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .data = "hi"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 303, .flags = ACK));
    EXPECT_NOTHING(&h);
    char buf[8];
    CHECK_EQ(tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now), 2);
    CHECK_MEM(buf, "hi", 2);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_active_open_sends_syn);
    RUN(test_basic_handshake_figure6);
    RUN(test_syn_to_closed_port_refused);
    RUN(test_rst_without_ack_ignored);
    RUN(test_bad_ack_gets_reset);
    RUN(test_simultaneous_open_figure7);
    RUN(test_simultaneous_open_rst_refused);
    RUN(test_neither_syn_nor_rst_dropped);
    RUN(test_syn_lost_once);
    RUN(test_syn_ack_lost_once);
    RUN(test_syn_gives_up);
    RUN(test_connect_timeout_default_three_minutes);
    RUN(test_icmp_port_unreachable_aborts_open);
    RUN(test_icmp_soft_error_recorded_then_timeout);
    RUN(test_icmp_bad_sequence_ignored);
    RUN(test_close_and_abort_in_syn_sent);
    RUN(test_syn_ack_with_data);
    return CHECK_DONE();
}
