/*
 * tests/unit/test_tcp_ecn.c: Explicit Congestion Notification (RFC 3168
 * 6.1, issue 12 item 5), segment by segment with the TCP harness: the
 * negotiation on the SYN and SYN,ACK (both opens, a peer without ECN, the
 * config's three settings), ECT(0) on new data only, the receiver's ECE
 * until CWR, the sender's one reduction per window and its CWR.
 */
#include "tcp_harness.h"

enum { ECE = WIRE_TCP_ECE, CWR = WIRE_TCP_CWR };

#define ECT0 2u
#define CE   3u

static void
cfg_on(struct tern_config *c)
{
    c->tcp.ecn = TERN_TCP_ECN_ON;
    c->tcp.sndbuf = 64 * 1024;
}

static void
cfg_off(struct tern_config *c)
{
    c->tcp.ecn = TERN_TCP_ECN_OFF;
}

/* Delivers a peer segment whose IP header carries ECN field `ecn`. */
static void
deliver_ecn(struct h *h, struct tseg s, uint8_t ecn)
{
    uint8_t buf[1600];
    size_t text = s.data != NULL ? strlen(s.data) : 0;
    struct wire_tcp t = {
        .src_port = s.sport ? s.sport : PEER_PORT,
        .dst_port = s.dport ? s.dport : h->our_port,
        .seq = s.seq,
        .ack = s.ack,
        .flags = s.flags,
        .window = s.wnd,
        .payload = (const uint8_t *)s.data,
        .payload_len = text,
    };
    if (s.mss != 0) {
        t.opts.has_mss = true;
        t.opts.mss = s.mss;
    }
    size_t n = wire_tcp_emit(&t, PEER_ADDR, US_ADDR, buf + WIRE_IPV4_HDR_LEN,
                             sizeof(buf) - WIRE_IPV4_HDR_LEN);
    struct wire_ipv4 ip = {.total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n),
                           .tos = ecn,
                           .id = 1,
                           .ttl = 64,
                           .proto = WIRE_IPPROTO_TCP,
                           .src = PEER_ADDR,
                           .dst = US_ADDR};
    wire_ipv4_emit(&ip, buf);
    tern_stack_input(h->st, 0, buf, WIRE_IPV4_HDR_LEN + n, h->now);
}

/* The ECN field of the next datagram we sent (not consumed). */
static unsigned
next_ecn(const struct h *h)
{
    if (h->next >= h->n_sent) {
        return 0xff;
    }
    return h->sent[h->next].buf[1] & 3u;
}

/* ESTABLISHED with ECN by an active OPEN (cfg_on): SND.NXT 101, RCV.NXT 301. */
static int
established_ecn(struct h *h, uint16_t wnd)
{
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h->st, &a, h->now);
    CHECK(id > 0);
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.1: an ECN-setup SYN carries ECE and CWR, and is not
     * ECT */
    CHECK_EQ(next_ecn(h), 0);
    EXPECT_SENT(h, US(.seq = LOCAL_ISS, .flags = SYN | ECE | CWR, .mss = 1460));
    h_deliver(h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK | ECE,
                      .mss = 1460, .wnd = wnd));
    CHECK_EQ(next_ecn(h), 0);
    EXPECT_SENT(h, US(.seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1, .flags = ACK));
    CHECK(tcp_tcb_get(h->st, id)->ecn_ok);
    return id;
}

static void
test_active_open_agreed(void)
{
    struct h h;
    h_init_cfg(&h, cfg_on);
    int id = established_ecn(&h, 8192);
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.2: data of an ECN connection is sent ECT(0) */
    CHECK_EQ(tern_tcp_send(h.st, id, "hello", 5, h.now), 5);
    CHECK_EQ(next_ecn(&h), ECT0);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.4: a pure ACK is Not-ECT */
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK | PSH, .data = "abc"));
    CHECK_EQ(next_ecn(&h), 0);
    EXPECT_SENT(&h, US(.seq = 106, .ack = 304, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_active_open_peer_without_ecn(void)
{
    struct h h;
    h_init_cfg(&h, cfg_on);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h.st, &a, h.now);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN | ECE | CWR, .mss = 1460));
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.1: a SYN,ACK without ECE means the connection goes on
     * without ECN */
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK, .mss = 1460));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(!tcp_tcb_get(h.st, id)->ecn_ok);
    CHECK_EQ(tern_tcp_send(h.st, id, "hello", 5, h.now), 5);
    CHECK_EQ(next_ecn(&h), 0);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    /* A CE mark on such a connection is not echoed. */
    deliver_ecn(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .data = "abc"), CE);
    EXPECT_SENT(&h, US(.seq = 106, .ack = 304, .flags = ACK));
    h_fini(&h);

    /* RFC 3168 6.1.1: a SYN,ACK with both ECE and CWR is no ECN-setup SYN,ACK. */
    h_init_cfg(&h, cfg_on);
    id = tern_tcp_open(h.st, &a, h.now);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN | ECE | CWR, .mss = 1460));
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK | ECE | CWR));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(!tcp_tcb_get(h.st, id)->ecn_ok);
    h_fini(&h);
}

static void
test_default_does_not_ask(void)
{
    /* EVIDENCE: RFC 9293 SHLD-8, issue 12 item 5: by default (passive) tern's SYN does not ask for
     * ECN */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h); /* checks SYN alone */
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK | ECE));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(!tcp_tcb_get(h.st, id)->ecn_ok); /* an unasked ECE agrees to nothing */
    h_fini(&h);
}

static void
test_syn_retransmission_falls_back(void)
{
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.1.1: an ECN-setup SYN that timed out is sent again
     * without ECN */
    struct h h;
    h_init_cfg(&h, cfg_on);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h.st, &a, h.now);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN | ECE | CWR, .mss = 1460));
    h_advance(&h, 1100000000LL);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN, .mss = 1460));
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK | ECE));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(!tcp_tcb_get(h.st, id)->ecn_ok);
    h_fini(&h);
}

/* A wildcard listener (the SYN cache) answers `syn_flags`; returns the
 * SYN,ACK's flags. */
static uint8_t
listener_answer(void (*tweak)(struct tern_config *), uint8_t syn_flags, bool fully_specified)
{
    struct h h;
    h_init_cfg(&h, tweak);
    if (fully_specified) {
        struct tern_tcp_open_args a = {.passive = true,
                                       .local_port = US_PORT,
                                       .remote_addr = tern_ip4(PEER_ADDR),
                                       .remote_port = PEER_PORT,
                                       .set_iss = true,
                                       .iss = LOCAL_ISS};
        CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    } else {
        h_listen(&h, 4);
    }
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .flags = syn_flags, .mss = 1460));
    CHECK_EQ(next_ecn(&h), 0); /* RFC 3168 6.1.1: a SYN,ACK is never ECT */
    struct wire_tcp t;
    uint8_t f = h_next_sent(&h, &t, __LINE__) ? t.flags : 0;
    CHECK_EQ(t.seq, LOCAL_ISS);
    h_fini(&h);
    return f;
}

static void
test_passive_open(void)
{
    for (int fs = 0; fs < 2; fs++) {
        /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.1: an ECN-setup SYN is answered by a SYN,ACK with
         * ECE and without CWR */
        CHECK_EQ(listener_answer(NULL, SYN | ECE | CWR, fs), SYN | ACK | ECE);
        CHECK_EQ(listener_answer(cfg_on, SYN | ECE | CWR, fs), SYN | ACK | ECE);
        /* A SYN without ECN, or with ECE alone, is no ECN-setup SYN. */
        CHECK_EQ(listener_answer(NULL, SYN, fs), SYN | ACK);
        CHECK_EQ(listener_answer(NULL, SYN | ECE, fs), SYN | ACK);
        /* OFF agrees to nothing. */
        CHECK_EQ(listener_answer(cfg_off, SYN | ECE | CWR, fs), SYN | ACK);
    }
}

static void
test_passive_child_uses_ecn(void)
{
    /* The SYN cache's record keeps the agreement for the child TCB. */
    struct h h;
    h_init(&h);
    h_listen(&h, 4);
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .flags = SYN | ECE | CWR, .mss = 1460));
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .ack = REMOTE_ISS + 1, .flags = SYN | ACK | ECE));
    h_deliver(&h, PEER(.seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1, .flags = ACK));
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_ESTABLISHED);
    deliver_ecn(&h, PEER(.seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1, .flags = ACK, .data = "x"),
                CE);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 2, .flags = ACK | ECE));
    h_fini(&h);
}

static void
test_ece_until_cwr(void)
{
    struct h h;
    h_init_cfg(&h, cfg_on);
    int id = established_ecn(&h, 8192);
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.3: after a CE mark every ACK carries ECE until a CWR
     * arrives */
    deliver_ecn(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "a"), CE);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK | ECE));
    deliver_ecn(&h, PEER(.seq = 302, .ack = 101, .flags = ACK, .data = "b"), ECT0);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 303, .flags = ACK | ECE));
    /* CWR ends the echo. */
    deliver_ecn(&h, PEER(.seq = 303, .ack = 101, .flags = ACK | CWR, .data = "c"), ECT0);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 304, .flags = ACK));
    deliver_ecn(&h, PEER(.seq = 304, .ack = 101, .flags = ACK, .data = "d"), ECT0);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
    /* CWR and CE on one segment: the echo starts again. */
    deliver_ecn(&h, PEER(.seq = 305, .ack = 101, .flags = ACK | CWR, .data = "e"), CE);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK | ECE));
    CHECK_EQ(tern_stack_stats(h.st)->tcp.ecn_ce_rcvd, 2);
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.5: the ECN field and CWR of a segment outside the
     * window are ignored
     */
    deliver_ecn(&h, PEER(.seq = 290, .ack = 101, .flags = ACK | CWR, .data = "f"), CE);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK | ECE));
    CHECK_EQ(tern_stack_stats(h.st)->tcp.ecn_ce_rcvd, 2);
    CHECK(tcp_tcb_get(h.st, id)->ecn_ece);
    h_fini(&h);
}

/* Reads the data segments we sent: count, and how many carried CWR. */
static unsigned
drain_data(struct h *h, unsigned *cwr, unsigned *not_ect)
{
    unsigned n = 0;
    while (h->next < h->n_sent) {
        unsigned ecn = next_ecn(h);
        struct wire_tcp t;
        if (!h_next_sent(h, &t, __LINE__)) {
            break;
        }
        if (t.payload_len > 0) {
            n++;
            *cwr += (t.flags & CWR) != 0;
            *not_ect += ecn != ECT0;
        }
    }
    return n;
}

static void
test_reduction_once_per_window(void)
{
    static char big[40000];
    memset(big, 'x', sizeof(big));
    struct h h;
    h_init_cfg(&h, cfg_on);
    int id = established_ecn(&h, 65535);
    struct tcp_tcb *tcb = tcp_tcb_get(h.st, id);
    CHECK_EQ(tern_tcp_send(h.st, id, big, sizeof(big), h.now), (int)sizeof(big));
    unsigned cwr = 0, not_ect = 0;
    unsigned segs = drain_data(&h, &cwr, &not_ect);
    CHECK_EQ(segs, 10); /* IW10 */
    CHECK_EQ(cwr, 0);
    CHECK_EQ(not_ect, 0);
    uint32_t cwnd0 = tcb->sx->cc.cwnd;
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.2: ECE halves cwnd as a loss would, with nothing
     * resent */
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460, .flags = ACK | ECE, .wnd = 65535));
    uint32_t flight = 9 * 1460;
    CHECK_EQ(tcb->sx->cc.ssthresh, flight / 2);
    CHECK_EQ(tcb->sx->cc.cwnd, flight / 2);
    CHECK(tcb->sx->cc.cwnd < cwnd0);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.ecn_reductions, 1);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.retransmits, 0);
    EXPECT_NOTHING(&h); /* flight is above the new cwnd */
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.2: at most one reduction per window of data */
    uint32_t ack = 101 + 1460;
    for (int i = 0; i < 6; i++) {
        ack += 1460;
        h_deliver(&h, PEER(.seq = 301, .ack = ack, .flags = ACK | ECE, .wnd = 65535));
    }
    CHECK_EQ(tern_stack_stats(h.st)->tcp.ecn_reductions, 1);
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.2: CWR on the first new data segment after the
     * reduction only */
    segs = drain_data(&h, &cwr, &not_ect);
    CHECK(segs >= 2);
    CHECK_EQ(cwr, 1);
    CHECK_EQ(not_ect, 0);
    CHECK(!tcb->ecn_cwr);
    /* An ACK beyond the window that was reduced, with ECE: congestion anew. */
    ack = 101 + 10 * 1460 + 1460;
    h_deliver(&h, PEER(.seq = 301, .ack = ack, .flags = ACK | ECE, .wnd = 65535));
    CHECK_EQ(tern_stack_stats(h.st)->tcp.ecn_reductions, 2);
    h_fini(&h);
}

static void
test_no_ect_on_retransmission_or_probe(void)
{
    struct h h;
    h_init_cfg(&h, cfg_on);
    int id = established_ecn(&h, 8192);
    CHECK_EQ(tern_tcp_send(h.st, id, "hello", 5, h.now), 5);
    CHECK_EQ(next_ecn(&h), ECT0);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.5: a retransmitted data segment is Not-ECT */
    h_advance(&h, 1100000000LL);
    CHECK_EQ(next_ecn(&h), 0);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    /* The peer takes it and closes its window. */
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .wnd = 0));
    EXPECT_NOTHING(&h);
    CHECK(tcp_tcb_get(h.st, id)->ecn_cwr); /* the timeout reduced cwnd: CWR owed */
    CHECK_EQ(tern_tcp_send(h.st, id, "world", 5, h.now), 5);
    EXPECT_NOTHING(&h);
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.6: a window probe carries neither ECT nor CWR */
    h_advance(&h, 3 * SEC);
    CHECK_EQ(next_ecn(&h), 0);
    EXPECT_SENT(&h, US(.seq = 106, .ack = 301, .flags = ACK, .data = "w"));
    CHECK(tcp_tcb_get(h.st, id)->ecn_cwr);
    /* The window opens: the new data takes ECT(0) and the CWR. */
    h_deliver(&h, PEER(.seq = 301, .ack = 107, .flags = ACK, .wnd = 8192));
    CHECK_EQ(next_ecn(&h), ECT0);
    EXPECT_SENT(&h, US(.seq = 107, .ack = 301, .flags = ACK | PSH | CWR, .data = "orld"));
    h_fini(&h);
}

int
main(void)
{
    RUN(test_active_open_agreed);
    RUN(test_active_open_peer_without_ecn);
    RUN(test_default_does_not_ask);
    RUN(test_syn_retransmission_falls_back);
    RUN(test_passive_open);
    RUN(test_passive_child_uses_ecn);
    RUN(test_ece_until_cwr);
    RUN(test_reduction_once_per_window);
    RUN(test_no_ect_on_retransmission_or_probe);
    return CHECK_DONE();
}
