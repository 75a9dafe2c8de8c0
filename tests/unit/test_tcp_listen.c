/* tests/unit/test_tcp_listen.c: CLOSED and LISTEN (RFC 9293 3.10.7.1, 3.10.7.2). */
#include "tcp_harness.h"

static void
test_syn_to_closed_port_gets_rst(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.1 3.5.2: no ACK -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
    struct h h;
    h_init(&h);
    h_deliver(&h, PEER(.seq = 100, .flags = SYN));
    EXPECT_SENT(&h,
                US(.seq = 0, .ack = 101, .flags = RST | ACK, .sport = US_PORT, .dport = PEER_PORT));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_NO_CONN], 1);
    h_fini(&h);
}

static void
test_data_to_crashed_peer_gets_rst(void)
{
    /* EVIDENCE: RFC 9293 3.5.1 Figure 10 3.10.7.1: data with ACK to a host with no TCB ->
     * <SEQ=SEG.ACK><CTL=RST> */
    struct h h;
    h_init(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 100, .flags = ACK | PSH, .data = "abc"));
    EXPECT_SENT(&h, US(.seq = 100, .flags = RST));
    EXPECT_NOTHING(&h);
    /* A FIN without ACK: SEG.LEN counts the FIN. */
    h_deliver(&h, PEER(.seq = 300, .flags = FIN, .data = "ab"));
    EXPECT_SENT(&h, US(.seq = 0, .ack = 303, .flags = RST | ACK));
    h_fini(&h);
}

static void
test_rst_to_closed_port_ignored(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.1: an incoming RST is discarded */
    struct h h;
    h_init(&h);
    h_deliver(&h, PEER(.seq = 300, .flags = RST));
    h_deliver(&h, PEER(.seq = 300, .ack = 5, .flags = RST | ACK));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_listen_ignores_rst_and_resets_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.2 first, second; 3.5 Figure 11 line 3: ACK in LISTEN ->
     * <SEQ=SEG.ACK><CTL=RST> */
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = RST));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 91, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 91, .flags = RST));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 300, .flags = FIN));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_LISTEN_NO_SYN);
    CHECK_STATE(&h, l, TERN_TCP_LISTEN);
    h_fini(&h);
}

static void
test_passive_handshake(void)
{
    /* EVIDENCE: RFC 9293 3.5 Figure 6 (B side) 3.10.7.2 third MUST-11 MUST-14: SYN ->
     * SYN-RECEIVED, SYN,ACK; ACK -> ESTABLISHED, queued for accept */
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN, .mss = 1000));
    EXPECT_SENT(&h,
                US(.seq = 100, .ack = 301, .flags = SYN | ACK, .mss = 1460, .sport = LISTEN_PORT));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_SYN_RECEIVED);
    CHECK_STR(h.last_rule, "RFC 9293 3.10.7.2: LISTEN, SYN -> SYN-RECEIVED");
    CHECK_STATE(&h, l, TERN_TCP_LISTEN);
    CHECK_EQ(tern_tcp_accept(h.st, l, h.now), TERN_ERR_AGAIN);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK(h.events[l] & TERN_TCP_EV_ACCEPT_READY);
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0 && c != l);
    CHECK_STATE(&h, c, TERN_TCP_ESTABLISHED);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, c, &s);
    CHECK(s.passive);
    CHECK_EQ(s.snd_mss, 1000);
    CHECK_EQ(tern_ip_v4(s.remote_addr), PEER_ADDR);
    CHECK_EQ(s.remote_port, PEER_PORT);
    CHECK(tern_tcp_events(h.st, c) & TERN_TCP_EV_CONNECTED);
    CHECK_EQ(tern_tcp_accept(h.st, l, h.now), TERN_ERR_AGAIN);
    h_fini(&h);
}

static void
test_old_duplicate_syn_figure8(void)
{
    /* EVIDENCE: RFC 9293 3.5 Figure 8 (B side) 3.10.7.4 second MUST-11: RST in SYN-RECEIVED
     * from a passive OPEN -> back to LISTEN, the user is not told */
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    tern_tcp_set_iss(h.st, l, 300);
    h_deliver(&h, PEER(.seq = 90, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 300, .ack = 91, .flags = SYN | ACK));
    h_deliver(&h, PEER(.seq = 91, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), -1);
    CHECK_EQ(h.last_new, TERN_TCP_LISTEN);
    CHECK_STR(h.last_rule, "RFC 9293 3.10.7.4 second: SYN-RECEIVED (passive), RST -> LISTEN");
    CHECK_EQ(h.events[l], 0);
    tern_tcp_set_iss(h.st, l, 400);
    h_deliver(&h, PEER(.seq = 100, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 400, .ack = 101, .flags = SYN | ACK));
    h_deliver(&h, PEER(.seq = 101, .ack = 401, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK(tern_tcp_accept(h.st, l, h.now) > 0);
    h_fini(&h);
}

static void
test_final_ack_lost_once(void)
{
    /* EVIDENCE: RFC 9293 3.10.8 MUST-22: the final ACK is lost; SYN,ACK is retransmitted and
     * the peer's next segment (data) completes the handshake */
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "data"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    char buf[8];
    CHECK_EQ(tern_tcp_recv(h.st, c, buf, sizeof(buf), h.now), 4);
    h_advance(&h, 10 * SEC);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_backlog_full(void)
{
    /* EVIDENCE: RFC 9293 3.10.1 (include/tern/tcp.h): the backlog counts completed connections
     * only; a handshake ACK that finds the accept queue full is dropped and counted, the
     * embryonic record kept, and a retransmission completes it once there is room */
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 1);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    /* A second half-open connection is not held against the backlog. */
    h_deliver(&h, PEER(.seq = 500, .flags = SYN, .sport = PEER_PORT + 1));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 501, .flags = SYN | ACK, .dport = PEER_PORT + 1));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_BACKLOG_FULL], 0);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    h_deliver(&h, PEER(.seq = 501, .ack = 101, .flags = ACK, .sport = PEER_PORT + 1));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_BACKLOG_FULL], 1);
    CHECK(tcp_mini_find(h.st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(PEER_ADDR), PEER_PORT + 1) !=
          NULL);
    /* With the queue full a new SYN is dropped too (as Linux does). */
    h_deliver(&h, PEER(.seq = 700, .flags = SYN, .sport = PEER_PORT + 2));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_BACKLOG_FULL], 2);
    /* Once the first is accepted, room again: our SYN,ACK retransmission
     * draws the peer's ACK again, which completes the second. */
    int c1 = tern_tcp_accept(h.st, l, h.now);
    CHECK(c1 > 0);
    CHECK_EQ(tern_tcp_accept(h.st, l, h.now), TERN_ERR_AGAIN);
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 501, .flags = SYN | ACK, .dport = PEER_PORT + 1));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 501, .ack = 101, .flags = ACK, .sport = PEER_PORT + 1));
    int c2 = tern_tcp_accept(h.st, l, h.now);
    CHECK(c2 > 0 && c2 != c1);
    CHECK_STATE(&h, c2, TERN_TCP_ESTABLISHED);
    CHECK(tcp_mini_find(h.st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(PEER_ADDR), PEER_PORT + 1) ==
          NULL);
    h_fini(&h);
}

static void
test_listener_close_aborts_children(void)
{
    /* EVIDENCE: RFC 9293 3.10.4 3.10.5: CLOSE in LISTEN deletes it; unaccepted children reset */
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    CHECK_EQ(tern_tcp_close(h.st, l, h.now), TERN_OK);
    EXPECT_SENT(&h, US(.seq = 101, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, l, TERN_TCP_CLOSED);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), -1);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 0, .ack = 301, .flags = RST | ACK));
    h_fini(&h);
}

static void
test_two_passive_sockets_figure11(void)
{
    /* EVIDENCE: RFC 9293 3.5 Figure 11 (B side) MUST-11: old duplicate SYN on a fully specified
     * passive OPEN; the RST returns it to LISTEN */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.passive = true,
                                   .local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = 200};
    int b = tern_tcp_open(h.st, &a, h.now);
    h_deliver(&h, PEER(.seq = 100, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 200, .ack = 101, .flags = SYN | ACK));
    CHECK_STATE(&h, b, TERN_TCP_SYN_RECEIVED);
    h_deliver(&h, PEER(.seq = 101, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, b, TERN_TCP_LISTEN);
    CHECK_EQ(h.events[b], 0);
    /* Still listening for that peer. */
    h_deliver(&h, PEER(.seq = 700, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 200, .ack = 701, .flags = SYN | ACK));
    h_fini(&h);
}

static void
test_listen_on_port_with_syn_sent(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.1 MUST-42 MUST-41: LISTEN on a port while a connection from it is
     * in SYN-SENT; a second identical passive OPEN fails without disturbing the first */
    struct h h;
    h_init(&h);
    int c = h_syn_sent(&h);
    struct tern_tcp_open_args a = {.passive = true, .local_port = US_PORT};
    int l = tern_tcp_open(h.st, &a, h.now);
    CHECK(l > 0);
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_EXIST);
    CHECK_STATE(&h, l, TERN_TCP_LISTEN);
    CHECK_STATE(&h, c, TERN_TCP_SYN_SENT);
    h_fini(&h);
}

/* The window announced on the SYN,ACK and after it is the receive buffer's
 * free space, whatever half of the sequence space the peer's ISS is in (a
 * bug announced 65535 with a 16 KiB buffer when IRS+1 was "after" 0). */
static void
test_window_within_buffer_any_irs(void)
{
    /* EVIDENCE: RFC 9293 3.8.6: the window offered is the free receive buffer */
    static const uint32_t irs[] = {300, 0x7fffff00u, 0x90000000u, 0xfffffff0u};
    for (size_t i = 0; i < sizeof(irs) / sizeof(irs[0]); i++) {
        struct h h;
        h_init(&h);
        h_listen(&h, 0);
        h_deliver(&h, PEER(.seq = irs[i], .flags = SYN, .mss = 1000));
        EXPECT_SENT(&h, US(.seq = 100, .ack = irs[i] + 1, .flags = SYN | ACK, .mss = 1460,
                           .sport = LISTEN_PORT, .wnd = 16384));
        h_deliver(&h, PEER(.seq = irs[i] + 1, .ack = 101, .flags = ACK, .data = "abc"));
        h_advance(&h, 1000000000);
        EXPECT_SENT(&h, US(.seq = 101, .ack = irs[i] + 4, .flags = ACK, .sport = LISTEN_PORT,
                           .wnd = 16384 - 3));
        h_fini(&h);
    }
    /* An active open learning its IRS from the SYN,ACK. */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN, .wnd = 16384));
    h_deliver(&h, PEER(.seq = 0xf0000000u, .ack = LOCAL_ISS + 1, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS + 1, .ack = 0xf0000001u, .flags = ACK, .wnd = 16384));
    h_fini(&h);
}

/* A SYN from PEER_ADDR with the given ports, built by hand (PEER() never
 * sends port 0). */
static void
deliver_syn_ports(struct h *h, uint16_t sport, uint16_t dport)
{
    uint8_t pkt[WIRE_IPV4_HDR_LEN + WIRE_TCP_HDR_LEN];
    struct wire_tcp t = {
        .src_port = sport, .dst_port = dport, .seq = 300, .flags = WIRE_TCP_SYN, .window = 8192};
    size_t n = wire_tcp_emit(&t, PEER_ADDR, US_ADDR, pkt + WIRE_IPV4_HDR_LEN, WIRE_TCP_HDR_LEN);
    struct wire_ipv4 ip = {.total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n),
                           .ttl = 64,
                           .proto = WIRE_IPPROTO_TCP,
                           .src = PEER_ADDR,
                           .dst = US_ADDR};
    wire_ipv4_emit(&ip, pkt);
    tern_stack_input(h->st, 0, pkt, WIRE_IPV4_HDR_LEN + n, h->now);
}

static void
test_port_zero_dropped(void)
{
    /* EVIDENCE: issue 11 item 8: a segment from or to port 0 is dropped and counted, not
     * answered (RFC 6335 6: port 0 is reserved) */
    struct h h;
    h_init(&h);
    h_listen(&h, 0);
    deliver_syn_ports(&h, 0, LISTEN_PORT);
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_BAD_PORT);
    deliver_syn_ports(&h, PEER_PORT, 0);
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_BAD_PORT], 2);
    /* The same SYN with real ports is answered. */
    deliver_syn_ports(&h, PEER_PORT, LISTEN_PORT);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .ack = 301, .flags = SYN | ACK));
    h_fini(&h);
}

int
main(void)
{
    RUN(test_syn_to_closed_port_gets_rst);
    RUN(test_window_within_buffer_any_irs);
    RUN(test_data_to_crashed_peer_gets_rst);
    RUN(test_rst_to_closed_port_ignored);
    RUN(test_listen_ignores_rst_and_resets_ack);
    RUN(test_passive_handshake);
    RUN(test_old_duplicate_syn_figure8);
    RUN(test_final_ack_lost_once);
    RUN(test_backlog_full);
    RUN(test_listener_close_aborts_children);
    RUN(test_two_passive_sockets_figure11);
    RUN(test_port_zero_dropped);
    RUN(test_listen_on_port_with_syn_sent);
    return CHECK_DONE();
}
