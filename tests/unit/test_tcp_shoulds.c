/*
 * tests/unit/test_tcp_shoulds.c: the SHOULD-, MAY- and REC-level labels of
 * RFC 9293 Appendix B that tern implements and no other file tested, and
 * two MUSTs checked on the wire (MUST-66: RST and ACK with our receive
 * window at zero; MUST-69: emitted option lists that need padding). The
 * labels tern does not implement carry a documented choice instead
 * (docs/conformance-choices.md).
 */
#include "check.h"
#include "tcp_harness.h"

/* The next segment we sent, parsed (the harness's reader, without checks). */
static struct wire_tcp
next_sent(struct h *h)
{
    struct wire_tcp t;
    memset(&t, 0, sizeof(t));
    h_next_sent(h, &t, __LINE__);
    return t;
}

/* Fills our 16 KiB receive buffer (the harness's) with the peer's text,
 * nothing read: RCV.WND is zero afterwards. Returns RCV.NXT. */
static uint32_t
fill_receive_buffer(struct h *h, int id)
{
    static char chunk[1461];
    memset(chunk, 'f', 1460);
    uint32_t seq = 301;
    for (uint32_t left = 16384; left > 0;) {
        uint32_t n = left < 1460 ? left : 1460;
        chunk[n] = 0;
        h_deliver(h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = chunk));
        chunk[n] = 'f';
        seq += n;
        left -= n;
    }
    struct tern_tcp_status s = h_status(h, id);
    CHECK_EQ(s.rcv_wnd, 0);
    CHECK_EQ(s.rcv_nxt, seq);
    CHECK_EQ(s.recv_queued, 16384);
    h->next = h->n_sent;
    return seq;
}

/* ---- MUST-66 ---- */

static void
test_zero_window_rst_and_ack_processed(void)
{
    /* EVIDENCE: RFC 9293 3.8.6 3.10.7.4 MUST-66: with RCV.WND zero, an ACK at RCV.NXT advances
     * SND.UNA and SND.WND, and a RST at RCV.NXT resets the connection */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    uint32_t nxt = fill_receive_buffer(&h, id);
    CHECK_EQ(tern_tcp_send(h.st, id, "abc", 3, h.now), 3);
    EXPECT_SENT(&h, US(.seq = 101, .ack = nxt, .flags = ACK | PSH, .data = "abc", .wnd = 0));
    /* A bare ACK: SND.UNA moves, the window update is taken. */
    h_deliver(&h, PEER(.seq = nxt, .ack = 104, .flags = ACK, .wnd = 5000));
    struct tern_tcp_status s = h_status(&h, id);
    CHECK_EQ(s.snd_una, 104);
    CHECK_EQ(s.snd_wnd, 5000);
    CHECK_EQ(s.rcv_wnd, 0);
    EXPECT_NOTHING(&h);
    /* A RST off RCV.NXT lies outside a zero window: silently dropped
     * (RFC 5961 3.2). */
    h_deliver(&h, PEER(.seq = nxt + 1, .flags = RST));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    EXPECT_NOTHING(&h);
    /* A RST at RCV.NXT, the window still zero: the connection is reset. */
    CHECK_EQ(h_status(&h, id).rcv_wnd, 0);
    h_deliver(&h, PEER(.seq = nxt, .flags = RST));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    CHECK(h.events[id] & TERN_TCP_EV_ERROR);
    EXPECT_NOTHING(&h);
    h_fini(&h);

    /* The same with RST,ACK carrying text (as some stacks send). */
    h_init(&h);
    id = h_established(&h);
    nxt = fill_receive_buffer(&h, id);
    h_deliver(&h, PEER(.seq = nxt, .ack = 101, .flags = RST | ACK, .data = "bye"));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    h_fini(&h);
}

/* ---- MUST-69 ---- */

/* Walks a TCP option area as a receiver would. Returns the bytes the
 * options proper take (kind, length and value; NOP and EOL not counted),
 * or -1 if a byte is neither part of a well-formed option, a NOP before
 * the End of Option List, nor a zero after it (RFC 9293 3.1, MUST-69). */
static int
walk_options(const uint8_t *p, size_t len, unsigned *kinds)
{
    int raw = 0;
    bool eol = false;
    *kinds = 0;
    for (size_t i = 0; i < len;) {
        if (eol) {
            if (p[i] != 0) {
                return -1;
            }
            i++;
        } else if (p[i] == WIRE_TCPOPT_EOL) {
            eol = true;
            i++;
        } else if (p[i] == WIRE_TCPOPT_NOP) {
            i++;
        } else {
            if (i + 1 >= len || p[i + 1] < 2 || i + p[i + 1] > len) {
                return -1;
            }
            *kinds |= 1u << (p[i] & 31);
            raw += p[i + 1];
            i += p[i + 1];
        }
    }
    return raw;
}

/* The options of the next datagram we sent: data offset and walk. */
static int
sent_options(struct h *h, unsigned *kinds, size_t *area)
{
    CHECK(h->next < h->n_sent);
    if (h->next >= h->n_sent) {
        return -1;
    }
    const uint8_t *tcp = h->sent[h->next].buf + WIRE_IPV4_HDR_LEN;
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    CHECK(doff >= 20 && WIRE_IPV4_HDR_LEN + doff <= h->sent[h->next].len);
    *area = doff - 20;
    h->next++;
    return walk_options(tcp + 20, *area, kinds);
}

static void
no_timestamps(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
}

static void
test_emitted_options_padded(void)
{
    /* EVIDENCE: RFC 9293 3.1 MUST-69: option lists whose lengths do not fill a 32-bit word (SYN:
     * MSS + SACK-permitted + window scale = 9 bytes; ACK with one SACK block = 10) end on a 32-bit
     * boundary, the gap filled with NOPs and zeros only, the data offset matching */
    struct h h;
    h_init_cfg(&h, no_timestamps);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    unsigned kinds;
    size_t area;
    int raw = sent_options(&h, &kinds, &area);
    CHECK_EQ(raw, 9); /* MSS 4, SACK-permitted 2, window scale 3 */
    CHECK_EQ(kinds, (1u << WIRE_TCPOPT_MSS) | (1u << WIRE_TCPOPT_SACK_PERMITTED) |
                        (1u << WIRE_TCPOPT_WSCALE));
    CHECK_EQ(area, 12);
    struct topts o = {.sackp = true};
    h_deliver_opts(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460), &o);
    CHECK(h_status(&h, id).sack_ok);
    h.next = h.n_sent;
    /* Text beyond a hole: the ACK carries one SACK block (2 + 8 bytes). */
    h_deliver(&h, PEER(.seq = 311, .ack = 101, .flags = ACK, .data = "later"));
    raw = sent_options(&h, &kinds, &area);
    CHECK_EQ(raw, 10);
    CHECK_EQ(kinds, 1u << WIRE_TCPOPT_SACK);
    CHECK_EQ(area, 12);
    h_fini(&h);

    /* Every combination the emitter knows, into a buffer full of 0xaa:
     * no byte of the option area is left unwritten or not an option. */
    unsigned needing_padding = 0;
    for (unsigned m = 0; m < 16 * 5; m++) {
        struct wire_tcp t = {.src_port = 1, .dst_port = 2, .flags = ACK};
        t.opts.has_mss = m & 1;
        t.opts.mss = 1460;
        t.opts.sack_permitted = (m >> 1) & 1;
        t.opts.has_ts = (m >> 2) & 1;
        t.opts.ts_val = 0x01020304;
        t.opts.ts_ecr = 0x05060708;
        t.opts.has_wscale = (m >> 3) & 1;
        t.opts.wscale = 7;
        t.opts.sack_count = (uint8_t)(m >> 4);
        for (unsigned i = 0; i < 4; i++) {
            t.opts.sack[i].left = 1000 * i + 1;
            t.opts.sack[i].right = 1000 * i + 500;
        }
        uint8_t buf[128];
        memset(buf, 0xaa, sizeof(buf));
        size_t n = wire_tcp_emit(&t, US_ADDR, PEER_ADDR, buf, sizeof(buf));
        CHECK(n >= 20);
        size_t doff = (size_t)(buf[12] >> 4) * 4;
        CHECK_EQ(doff, n); /* no payload: the header is all of it */
        CHECK_EQ(doff % 4, 0);
        CHECK_EQ(doff - 20, wire_tcp_options_len(&t.opts));
        raw = walk_options(buf + 20, doff - 20, &kinds);
        CHECK(raw >= 0);
        needing_padding += raw >= 0 && raw % 4 != 0;
        CHECK_EQ(!!(kinds & (1u << WIRE_TCPOPT_MSS)), t.opts.has_mss);
        CHECK_EQ(!!(kinds & (1u << WIRE_TCPOPT_WSCALE)), t.opts.has_wscale);
        CHECK_EQ(!!(kinds & (1u << WIRE_TCPOPT_TIMESTAMP)), t.opts.has_ts);
        CHECK_EQ(!!(kinds & (1u << WIRE_TCPOPT_SACK_PERMITTED)), t.opts.sack_permitted);
    }
    CHECK(needing_padding >= 10); /* the loop did meet lists that need padding */
}

/* ---- SHLD-2 ---- */

static void
test_rst_with_text_resets(void)
{
    /* EVIDENCE: RFC 9293 3.5.3 SHLD-2: a RST carrying text (diagnostics) is accepted and resets
     * the connection; its text is not delivered */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "ok"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 303, .flags = ACK));
    h_deliver(&h, PEER(.seq = 303, .flags = RST, .data = "reset: no such service"));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    EXPECT_NOTHING(&h);
    /* What came before the RST is what there is to read; not the RST's text. */
    char buf[64];
    int n = tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now);
    CHECK(n == 2 || n == TERN_ERR_RESET);
    if (n == 2) {
        CHECK(memcmp(buf, "ok", 2) == 0);
        CHECK_EQ(tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now), TERN_ERR_RESET);
    }
    h_fini(&h);
}

/* ---- SHLD-12, MAY-5 ---- */

static void
test_keepalive_without_text(void)
{
    /* EVIDENCE: RFC 9293 3.8.4 MAY-5 SHLD-12: keep-alives are implemented, and a probe carries
     * no text (<SEQ=SND.NXT-1>, length 0) */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_set_keepalive(h.st, id, true, h.now), TERN_OK);
    h_advance(&h, 7200 * SEC);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    CHECK_EQ(t.payload_len, 0);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_advance(&h, 7200 * SEC);
    t = EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    CHECK_EQ(t.payload_len, 0);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

/* ---- SHLD-15, SHLD-16, SHLD-17, MAY-7 ---- */

static void
test_peer_shrinks_window(void)
{
    /* EVIDENCE: RFC 9293 3.8.6 SHLD-15: no new text while the peer's window has shrunk below
     * what is in flight
     * EVIDENCE: RFC 9293 3.8.6 SHLD-16 MAY-7: the unacknowledged text from SND.UNA is
     * retransmitted on timeout, a full segment reaching past SND.UNA+SND.WND */
    struct h h;
    h_init(&h);
    int id = h_established(&h); /* peer window 8192, MSS 1460 */
    CHECK_EQ(tern_tcp_set_nodelay(h.st, id, true, h.now), TERN_OK);
    static char text[4000];
    memset(text, 's', sizeof(text));
    CHECK_EQ(tern_tcp_send(h.st, id, text, 2920, h.now), 2920);
    struct wire_tcp t = next_sent(&h);
    CHECK_EQ(t.seq, 101);
    t = next_sent(&h);
    CHECK_EQ(t.seq, 1561);
    EXPECT_NOTHING(&h);
    /* The first segment is acknowledged with a window of 100: the right
     * edge moves back from 101 + 8192 to 1661, below SND.NXT 3021. */
    h_deliver(&h, PEER(.seq = 301, .ack = 1561, .flags = ACK, .wnd = 100));
    CHECK_EQ(tern_tcp_send(h.st, id, text, 1000, h.now), 1000);
    EXPECT_NOTHING(&h); /* SHLD-15 */
    /* The retransmission timer (RTO 1 s) resends from SND.UNA. */
    h_advance(&h, 1 * SEC);
    t = next_sent(&h);
    CHECK_EQ(t.seq, 1561);         /* SHLD-16 */
    CHECK_EQ(t.payload_len, 1460); /* MAY-7: past SND.UNA + SND.WND = 1661 */
    EXPECT_NOTHING(&h);            /* no new text either */
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    /* The window opens: everything acknowledged, the 1000 queued go. */
    h_deliver(&h, PEER(.seq = 301, .ack = 3021, .flags = ACK, .wnd = 8192));
    t = next_sent(&h);
    CHECK_EQ(t.seq, 3021);
    CHECK_EQ(t.payload_len, 1000);
    h_fini(&h);
}

static void
test_no_timeout_for_text_beyond_edge(void)
{
    /* EVIDENCE: RFC 9293 3.8.6 SHLD-17: text beyond a window shrunk to zero goes
     * unacknowledged for 20 minutes (the user timeout is 5) while the peer answers: the
     * connection is not timed out */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_set_nodelay(h.st, id, true, h.now), TERN_OK);
    static char text[2920];
    memset(text, 'e', sizeof(text));
    CHECK_EQ(tern_tcp_send(h.st, id, text, sizeof(text), h.now), 2920);
    h.next = h.n_sent;
    /* The first segment acknowledged, the window shrunk to zero: the
     * second (1561..3020) lies wholly beyond the right edge. */
    h_deliver(&h, PEER(.seq = 301, .ack = 1561, .flags = ACK, .wnd = 0));
    unsigned answered = 0;
    for (int64_t t = 0; t < 1200 * SEC; t += 10 * SEC) {
        h_advance(&h, 10 * SEC);
        if (h.n_sent > h.next) { /* a retransmission or probe: answered */
            h.next = h.n_sent;
            h_deliver(&h, PEER(.seq = 301, .ack = 1561, .flags = ACK, .wnd = 0));
            answered++;
        }
    }
    CHECK(answered >= 15);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK_EQ(h_status(&h, id).snd_una, 1561);
    h_deliver(&h, PEER(.seq = 301, .ack = 3021, .flags = ACK, .wnd = 8192));
    CHECK_EQ(h_status(&h, id).snd_una, 3021);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

/* ---- SHLD-28 ---- */

static void
test_full_segments_from_small_writes(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.2 SHLD-28: small writes queued behind unacknowledged text go out
     * as maximum-sized segments, only the last one short */
    struct h h;
    h_init(&h);
    int id = h_established(&h); /* peer MSS 1460, window 8192 */
    CHECK_EQ(tern_tcp_send(h.st, id, "first", 5, h.now), 5);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "first"));
    static char piece[101];
    memset(piece, 'w', 100);
    for (int i = 0; i < 40; i++) { /* 4000 bytes in writes of 100 */
        CHECK_EQ(tern_tcp_send(h.st, id, piece, 100, h.now), 100);
    }
    /* Nagle holds the short rest while "first" is unacknowledged, but
     * full segments go at once; the ACK lets the rest out. */
    uint32_t seq = 106, total = 0;
    unsigned segs = 0;
    for (int round = 0; round < 4 && total < 4000; round++) {
        h_deliver(&h, PEER(.seq = 301, .ack = seq, .flags = ACK, .wnd = 8192));
        while (h.next < h.n_sent) {
            struct wire_tcp t = next_sent(&h);
            CHECK_EQ(t.seq, seq);
            seq += (uint32_t)t.payload_len;
            total += (uint32_t)t.payload_len;
            segs++;
            if (total < 4000) {
                CHECK_EQ(t.payload_len, 1460);
            }
        }
    }
    CHECK_EQ(total, 4000);
    CHECK_EQ(segs, 3); /* 1460 + 1460 + 1080 */
    h_fini(&h);
}

/* ---- MAY-3 ---- */

static void
mtu_576(struct tern_config *c)
{
    c->netifs[0].mtu = 576;
}

static void
test_mss_option_always_sent(void)
{
    /* EVIDENCE: RFC 9293 3.7.1 MAY-3: the MSS option is sent even when it equals the default
     * 536 (MTU 576) */
    struct h h;
    h_init_cfg(&h, mtu_576);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    CHECK(t.opts.has_mss);
    CHECK_EQ(t.opts.mss, 536);
    h_fini(&h);
}

/* ---- MAY-8 ---- */

static void
test_receive_window_closed_indefinitely(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.1 MAY-8: our window stays closed for an hour while the user
     * reads nothing, every probe answered with a zero window; reading opens it */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    uint32_t nxt = fill_receive_buffer(&h, id);
    for (int i = 0; i < 60; i++) {
        h_advance(&h, 60 * SEC);
        h.n_sent = h.next = 0; /* the harness records 64 datagrams */
        h_deliver(&h, PEER(.seq = nxt, .ack = 101, .flags = ACK, .data = "p"));
        EXPECT_SENT(&h, US(.seq = 101, .ack = nxt, .flags = ACK, .wnd = 0));
        EXPECT_NOTHING(&h);
    }
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    char buf[16384];
    CHECK_EQ(tern_tcp_recv(h.st, id, buf, sizeof(buf), h.now), 16384);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = nxt, .flags = ACK));
    CHECK(t.window > 0);
    h_fini(&h);
}

/* ---- SHLD-14 ---- */

static void
rcvbuf_256k(struct tern_config *c)
{
    c->tcp.rcvbuf = 256 * 1024; /* window shift 3 */
}

/* The right edge (SEG.ACK + SEG.WND << shift) of each ACK we send while
 * the peer's text fills the buffer, the user reading now and then: it
 * never moves left. */
static void
check_edges(struct h *h, uint8_t shift, uint32_t *edge, unsigned *acks)
{
    while (h->next < h->n_sent) {
        struct wire_tcp t;
        if (!h_next_sent(h, &t, __LINE__)) {
            return;
        }
        uint32_t e = t.ack + ((uint32_t)t.window << shift);
        if ((int32_t)(e - *edge) < 0) {
            fprintf(stderr, "window shrank: ACK %u window %u: edge %u after %u\n", t.ack,
                    (unsigned)t.window << shift, e, *edge);
            check_st.failures++;
        }
        *edge = e;
        (*acks)++;
    }
    h->n_sent = h->next = 0;
}

static void
test_window_never_shrinks(void)
{
    /* EVIDENCE: RFC 9293 3.8.6 SHLD-14: the right edge we announce never moves left, also with a
     * window shift (RFC 7323 2.4) and text arriving in pieces that are not multiples of its unit
     */
    struct h h;
    h_init_cfg(&h, rcvbuf_256k);
    int id = h_syn_sent(&h);
    struct topts o = {.ws = true, .wscale = 0};
    h_deliver_opts(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460), &o);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    struct tern_tcp_status s = h_status(&h, id);
    CHECK_EQ(s.rcv_wscale, 3);
    uint32_t edge = t.ack + ((uint32_t)t.window << 3);
    h.n_sent = h.next = 0;
    static char text[1001];
    memset(text, 'r', 1000);
    uint32_t seq = 301;
    unsigned acks = 0;
    char sink[4096];
    for (int i = 0; i < 400; i++) {
        uint32_t n = 999 - (uint32_t)(i % 7); /* 993..999 bytes */
        if ((int32_t)(seq + n - edge) > 0) {
            n = edge - seq; /* as much as the window holds */
        }
        if (n > 0) {
            text[n] = 0;
            h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = text));
            text[n] = 'r';
            seq += n;
        }
        if (i % 50 == 49) { /* the user reads a little */
            tern_tcp_recv(h.st, id, sink, 1000 + (size_t)i % 13, h.now);
        }
        check_edges(&h, 3, &edge, &acks);
        CHECK_EQ(h_status(&h, id).rcv_nxt, seq);
    }
    CHECK(acks >= 70);                               /* one per segment taken */
    CHECK(h_status(&h, id).recv_queued > 60 * 1024); /* the window did close */
    CHECK(h.st->stats.tcp.rcv_reserve_fail == 0);    /* the rounding is backed */
    CHECK(h.st->stats.drops[TERN_DROP_TCP_RCV_BUF_FULL] == 0);
    h_fini(&h);
}

/* ---- SHLD-9, SHLD-10, SHLD-11, SHLD-20 ---- */

static unsigned
count_sent(struct h *h)
{
    unsigned n = h->n_sent - h->next;
    h->next = h->n_sent;
    return n;
}

static void
test_delivery_problem_reported_at_r1(void)
{
    /* EVIDENCE: RFC 9293 3.8.3 SHLD-9 SHLD-10: after R1 = 3 retransmissions of a segment (not
     * 2) the user is told (TERN_TCP_EV_DELIVERY_PROBLEM), the connection lives on until R2, and
     * an ACK of new data clears the report
     * EVIDENCE: RFC 9293 3.8.3 SHLD-11: R2 (the user timeout) is 300 s by default, at least 100
     * EVIDENCE: RFC 9293 3.9.1.8 SHLD-20: the application can turn these reports off */
    struct tern_config cfg;
    tern_config_init(&cfg);
    CHECK(cfg.tcp.user_timeout_ns >= 100 * SEC);
    CHECK_EQ(cfg.tcp.user_timeout_ns, 300 * SEC);

    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "lost", 4, h.now), 4);
    CHECK_EQ(count_sent(&h), 1);
    /* RTO 1 s, doubling: retransmissions at 1, 3 and 7 s. */
    h_advance(&h, 3 * SEC + SEC / 2);
    CHECK_EQ(count_sent(&h), 2);
    CHECK(!(h.events[id] & TERN_TCP_EV_DELIVERY_PROBLEM));
    CHECK(!(tern_tcp_events(h.st, id) & TERN_TCP_EV_DELIVERY_PROBLEM));
    h_advance(&h, 4 * SEC);
    CHECK_EQ(count_sent(&h), 1);
    CHECK(h.events[id] & TERN_TCP_EV_DELIVERY_PROBLEM);
    CHECK(tern_tcp_events(h.st, id) & TERN_TCP_EV_DELIVERY_PROBLEM);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK_EQ(tern_tcp_error(h.st, id), 0);
    /* The peer answers at last: the report is over. */
    h_deliver(&h, PEER(.seq = 301, .ack = 105, .flags = ACK));
    CHECK(!(tern_tcp_events(h.st, id) & TERN_TCP_EV_DELIVERY_PROBLEM));
    /* A second episode (the RTO still backed off, RFC 6298 5.7: 8 s,
     * retransmissions at 8, 24 and 56 s) reports again; R2 (300 s) then
     * closes. */
    h.events[id] = 0;
    CHECK_EQ(tern_tcp_send(h.st, id, "gone", 4, h.now), 4);
    h_advance(&h, 50 * SEC);
    CHECK(!(h.events[id] & TERN_TCP_EV_DELIVERY_PROBLEM));
    h_advance(&h, 10 * SEC);
    CHECK(h.events[id] & TERN_TCP_EV_DELIVERY_PROBLEM);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_advance(&h, 300 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    h_fini(&h);

    /* Reports off: neither the callback nor the event bits show it. */
    h_init(&h);
    id = h_established(&h);
    CHECK_EQ(tern_tcp_set_reports(h.st, id, false), TERN_OK);
    CHECK_EQ(tern_tcp_set_reports(h.st, 999, false), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_tcp_send(h.st, id, "lost", 4, h.now), 4);
    h_advance(&h, 8 * SEC);
    CHECK_EQ(count_sent(&h), 4);
    CHECK(!(h.events[id] & TERN_TCP_EV_DELIVERY_PROBLEM));
    CHECK(!(tern_tcp_events(h.st, id) & TERN_TCP_EV_DELIVERY_PROBLEM));
    CHECK_EQ(tern_tcp_set_reports(h.st, id, true), TERN_OK);
    CHECK(tern_tcp_events(h.st, id) & TERN_TCP_EV_DELIVERY_PROBLEM);
    h_fini(&h);
}

/* ---- REC-1 ---- */

static void
test_window_is_32_bits(void)
{
    /* EVIDENCE: RFC 9293 3.1 REC-1 MUST-1: windows are kept in 32 bits: a scaled window of
     * 65535 << 7 (8 MiB) is the send window, and text beyond 65535 bytes goes out in it */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    struct topts o = {.ws = true, .wscale = 7};
    h_deliver_opts(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535),
                   &o);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 65535));
    struct tern_tcp_status s = h_status(&h, id);
    CHECK_EQ(s.snd_wscale, 7);
    CHECK_EQ(s.snd_wnd, 65535u << 7);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_zero_window_rst_and_ack_processed);
    RUN(test_emitted_options_padded);
    RUN(test_rst_with_text_resets);
    RUN(test_keepalive_without_text);
    RUN(test_peer_shrinks_window);
    RUN(test_no_timeout_for_text_beyond_edge);
    RUN(test_full_segments_from_small_writes);
    RUN(test_mss_option_always_sent);
    RUN(test_receive_window_closed_indefinitely);
    RUN(test_window_is_32_bits);
    RUN(test_window_never_shrinks);
    RUN(test_delivery_problem_reported_at_r1);
    return CHECK_DONE();
}
