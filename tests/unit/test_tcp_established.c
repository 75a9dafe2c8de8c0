/* tests/unit/test_tcp_established.c: ESTABLISHED (RFC 9293 3.10.7.4, RFC 5961). */
#include "tcp_harness.h"

static void
test_receive_text_and_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 seventh 3.10.3 MUST-58: text -> RCV.NXT advanced, one ACK */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "hello"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK, .wnd = 16384 - 5));
    EXPECT_NOTHING(&h);
    CHECK(h.events[id] & TERN_TCP_EV_READABLE);
    char buf[16];
    CHECK_EQ(tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now), 5);
    CHECK_MEM(buf, "hello", 5);
    CHECK_EQ(tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now), TERN_ERR_AGAIN);
    /* A duplicate of the same text: unacceptable (all before RCV.NXT) -> ACK. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "hello"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    EXPECT_NOTHING(&h);
    /* Overlapping old and new: only the new part is taken. */
    h_deliver(&h, PEER(.seq = 304, .ack = 101, .flags = ACK, .data = "loXY"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 308, .flags = ACK));
    CHECK_EQ(tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now), 2);
    CHECK_MEM(buf, "XY", 2);
    h_fini(&h);
}

static void
test_out_of_window_segment_acked(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first 3.5.2 group 3: out-of-window -> <SEQ=SND.NXT><ACK=RCV.NXT>
     */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301 + 40000, .ack = 101, .flags = ACK, .data = "z"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_SEQ_UNACCEPTABLE);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

static void
test_out_of_order_text_held_with_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 MAY-13: text beyond RCV.NXT -> ACK of RCV.NXT
     * EVIDENCE: RFC 9293 3.10.7.4 SHLD-31: the text is held (issue 4) and delivered in order */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 311, .ack = 101, .flags = ACK, .data = "later"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_COUNT); /* held, not dropped */
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    char b[32];
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), TERN_ERR_AGAIN);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "0123456789"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 316, .flags = ACK));
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 15);
    CHECK(memcmp(b, "0123456789later", 15) == 0);
    h_fini(&h);
}

static void
test_rst_out_of_window_ignored(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second (1) RFC 5961 3.2: RST outside the window -> dropped */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301 + 30000, .flags = RST));
    h_deliver(&h, PEER(.seq = 200, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_RST_OUT_OF_WINDOW);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

static void
test_rst_in_window_inexact_challenge_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second (3) RFC 5961 3.2: in window, not RCV.NXT -> challenge ACK
     */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 305, .flags = RST));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_RST_NOT_EXACT);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.challenge_acks, 1);
    h_fini(&h);
}

static void
test_rst_exact_resets(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second (2) 3.5.3 MUST-12: RST at RCV.NXT -> CLOSED, "reset" */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    CHECK(h.events[id] & TERN_TCP_EV_ERROR);
    CHECK_EQ(h.last_err[id], TERN_ERR_RESET);
    char b[4];
    CHECK_EQ(tern_tcp_recv(h.st, id, b, 4, h.now), TERN_ERR_RESET);
    h_fini(&h);
}

static void
test_rst_after_text_text_readable_first(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second: RST -> CLOSED; documented choice (docs/sockets.md): text
     * that arrived in order before the RST is read first, then RECEIVE reports the reset */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "hello"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    /* Text beyond a hole, two pool chunks further: it can never be delivered. */
    h_deliver(&h, PEER(.seq = 301 + 4096, .ack = 101, .flags = ACK, .data = "later"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(tcp_tcb_get(h.st, id)->rcv.n_chunks, 3);
    h_deliver(&h, PEER(.seq = 306, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    CHECK(h.events[id] & TERN_TCP_EV_READABLE);
    CHECK(h.events[id] & TERN_TCP_EV_ERROR);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
    CHECK_EQ(s.recv_queued, 5);
    CHECK_EQ(tcp_tcb_get(h.st, id)->rcv.n_chunks, 1); /* the out-of-order text went back */
    CHECK_EQ(tcp_tcb_get(h.st, id)->n_ooo, 0);
    char b[16];
    CHECK_EQ(tern_tcp_peek(h.st, id, 0, b, sizeof(b)), 5);
    CHECK_EQ(tern_tcp_recv(h.st, id, b, 3, h.now), 3);
    CHECK(memcmp(b, "hel", 3) == 0);
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 2);
    CHECK(memcmp(b, "lo", 2) == 0);
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), TERN_ERR_RESET);
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), TERN_ERR_RESET);
    h_fini(&h);
}

static void
test_syn_in_established_challenge_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fourth RFC 5961 4.2: SYN in a synchronized state -> challenge ACK
     */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 320, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_SYN_SYNCHRONIZED);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

static void
test_half_open_discovery_figure10(void)
{
    /* EVIDENCE: RFC 9293 3.5.1 Figure 10 (B side) 3.10.7.4: the crashed peer's new SYN gets an
     * ACK; its RST at RCV.NXT aborts us */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 400, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_deliver(&h, PEER(.seq = 301, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    h_fini(&h);
}

static void
test_data_to_crashed_peer_reset(void)
{
    /* EVIDENCE: RFC 9293 3.5.1 3.5.3 MUST-12: our data reaches a peer that lost its TCB; its
     * <SEQ=SEG.ACK><CTL=RST> is at RCV.NXT and resets us */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "abc", 3, h.now), 3);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "abc"));
    h_deliver(&h, PEER(.seq = 301, .flags = RST));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    h_advance(&h, 10 * SEC);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_ack_ahead_and_too_old(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth MAY-12 RFC 5961 5.2: SEG.ACK > SND.NXT or below
     * SND.UNA - MAX.SND.WND -> ACK and drop */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 150, .flags = ACK, .data = "no"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_ACK_UNACCEPTABLE);
    /* RFC 5961 7 lets these ACKs be rate-limited (one per connection per
     * conn_reply_window_ns by default, test_tcp_ratelimit.c): the next one
     * comes after the window. */
    h_advance(&h, SEC / 2);
    h_deliver(&h, PEER(.seq = 301, .ack = 101 - 9000, .flags = ACK, .data = "no"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.rcv_nxt, 301);
    /* An old duplicate ACK within MAX.SND.WND is fine: text accepted. */
    h_deliver(&h, PEER(.seq = 301, .ack = 95, .flags = ACK, .data = "ok"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 303, .flags = ACK));
    h_fini(&h);
}

static void
test_window_update_rules(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth MUST-1: SND.WND from segments newer by SND.WL1/SND.WL2 */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    struct tern_tcp_status s;
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 60000));
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.snd_wnd, 60000);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 100));
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.snd_wnd, 100); /* same WL1, WL2 =< SEG.ACK: updated */
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_data_lost_once_retransmitted(void)
{
    /* EVIDENCE: RFC 9293 3.10.8 MUST-19: unacknowledged text resent after the RTO, backoff */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "data", 4, h.now), 4);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "data"));
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "data"));
    h_advance(&h, 2 * SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "data"));
    h_deliver(&h, PEER(.seq = 301, .ack = 105, .flags = ACK));
    h_advance(&h, 60 * SEC);
    EXPECT_NOTHING(&h);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.snd_una, 105);
    CHECK_EQ(s.send_queued, 0);
    h_fini(&h);
}

static void
cfg_short_user_timeout(struct tern_config *c)
{
    c->tcp.user_timeout_ns = 5 * SEC;
}

static void
test_user_timeout(void)
{
    /* EVIDENCE: RFC 9293 3.10.8 3.8.3 MUST-20 MUST-21: unacknowledged data past the user
     * timeout -> CLOSED, "timed out" */
    struct h h;
    h_init_cfg(&h, cfg_short_user_timeout);
    int id = h_established(&h);
    tern_tcp_send(h.st, id, "x", 1, h.now);
    h_advance(&h, 4 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_advance(&h, 2 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    h_fini(&h);
}

static void
test_per_connection_user_timeout(void)
{
    /* EVIDENCE: RFC 9293 3.8.3 MUST-21: the application sets R2 per connection */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = 100,
                                   .user_timeout_ns = 3 * SEC};
    int id = tern_tcp_open(h.st, &a, h.now);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    tern_tcp_send(h.st, id, "x", 1, h.now);
    h_advance(&h, 3 * SEC + 1);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    h_fini(&h);
}

static void
test_challenge_ack_rate_limited(void)
{
    /* EVIDENCE: RFC 5961 7: challenge ACKs limited per connection (default: one per
     * 500 ms); the stack-wide ceiling is tested in test_tcp_ratelimit.c */
    struct h h;
    h_init(&h);
    h_established(&h);
    for (int i = 0; i < 3; i++) {
        h_deliver(&h, PEER(.seq = 310, .flags = SYN));
    }
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_CHALLENGE_CONN_LIMIT], 2);
    h_advance(&h, SEC / 2);
    h_deliver(&h, PEER(.seq = 310, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_fini(&h);
}

static void
test_send_segments_by_mss_and_window(void)
{
    /* EVIDENCE: RFC 9293 3.7.1 MUST-16 3.10.2: segments of at most the effective MSS, within
     * SND.WND */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 4, .wnd = 10));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(tern_tcp_send(h.st, id, "abcdefghijklmn", 14, h.now), 14);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .data = "abcd"));
    EXPECT_SENT(&h, US(.seq = 105, .ack = 301, .flags = ACK, .data = "efgh"));
    /* Issue 4: the 2 bytes left in the window are not sent: less than
     * the MSS, not all the queued text, and less than half the largest
     * window (sender SWS avoidance, 3.8.6.2.1 MUST-38). */
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 109, .flags = ACK, .wnd = 10));
    EXPECT_SENT(&h, US(.seq = 109, .ack = 301, .flags = ACK, .data = "ijkl"));
    /* "mn" is all the rest but ijkl is unacknowledged: Nagle (3.7.4) holds it. */
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 113, .flags = ACK, .wnd = 10));
    EXPECT_SENT(&h, US(.seq = 113, .ack = 301, .flags = ACK | PSH, .data = "mn"));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_zero_window_still_takes_ack_and_rst(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first MUST-66: with RCV.WND zero, the ACK of a text segment
     * is processed (the RST with a zero window: test_tcp_shoulds) */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    char big[16384];
    memset(big, 'a', sizeof(big));
    /* Fill our receive buffer (16 KiB) with segments of 1460. */
    uint32_t seq = 301;
    for (int i = 0; i < 12; i++) {
        char chunk[1461];
        size_t n = i < 11 ? 1460 : 16384 - 11 * 1460;
        memcpy(chunk, big, n);
        chunk[n] = 0;
        h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = chunk));
        seq += (uint32_t)n;
    }
    h.next = h.n_sent;
    struct tern_tcp_status s;
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.rcv_wnd, 0);
    tern_tcp_send(h.st, id, "q", 1, h.now);
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq, .flags = ACK | PSH, .data = "q", .wnd = 0));
    /* Text is refused, but its ACK is taken. */
    h_deliver(&h, PEER(.seq = seq, .ack = 102, .flags = ACK, .data = "more"));
    EXPECT_SENT(&h, US(.seq = 102, .ack = seq, .flags = ACK, .wnd = 0));
    tern_tcp_status(h.st, id, &s);
    CHECK_EQ(s.snd_una, 102);
    /* Reading opens the window: a window update. */
    char buf[8192];
    tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now);
    EXPECT_SENT(&h, US(.seq = 102, .ack = seq, .flags = ACK, .wnd = 8192));
    h_deliver(&h, PEER(.seq = seq, .flags = RST));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_receive_text_and_ack);
    RUN(test_out_of_window_segment_acked);
    RUN(test_out_of_order_text_held_with_ack);
    RUN(test_rst_out_of_window_ignored);
    RUN(test_rst_in_window_inexact_challenge_ack);
    RUN(test_rst_exact_resets);
    RUN(test_rst_after_text_text_readable_first);
    RUN(test_syn_in_established_challenge_ack);
    RUN(test_half_open_discovery_figure10);
    RUN(test_data_to_crashed_peer_reset);
    RUN(test_ack_ahead_and_too_old);
    RUN(test_window_update_rules);
    RUN(test_data_lost_once_retransmitted);
    RUN(test_user_timeout);
    RUN(test_per_connection_user_timeout);
    RUN(test_challenge_ack_rate_limited);
    RUN(test_send_segments_by_mss_and_window);
    RUN(test_zero_window_still_takes_ack_and_rst);
    return CHECK_DONE();
}
