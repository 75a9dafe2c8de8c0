/*
 * tests/unit/test_tcp_musts.c: RFC 9293 Appendix B requirements on options,
 * IP options, TTL and PUSH that other files did not cover, each checked on
 * segments built byte by byte (options and IP options the harness cannot
 * express).
 */
#include "check.h"
#include "tcp_harness.h"
#include "wire/checksum.h"

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Delivers a peer segment with raw TCP options `opt` and raw IP options
 * `ipopt` (each a multiple of 4 bytes long), checksums computed here. */
static void
deliver_raw(struct h *h, struct tseg s, const uint8_t *opt, size_t olen, const uint8_t *ipopt,
            size_t iolen)
{
    uint8_t buf[1600];
    memset(buf, 0, sizeof(buf));
    size_t ihl = 20 + iolen, thl = 20 + olen;
    size_t text = s.data != NULL ? strlen(s.data) : 0;
    uint8_t *tcp = buf + ihl;
    put16(tcp, s.sport ? s.sport : PEER_PORT);
    put16(tcp + 2, s.dport ? s.dport : h->our_port);
    put32(tcp + 4, s.seq);
    put32(tcp + 8, s.ack);
    tcp[12] = (uint8_t)((thl / 4) << 4);
    tcp[13] = s.flags;
    put16(tcp + 14, s.wnd);
    put16(tcp + 18, s.up);
    if (olen > 0) {
        memcpy(tcp + 20, opt, olen);
    }
    if (text > 0) {
        memcpy(tcp + thl, s.data, text);
    }
    size_t tlen = thl + text;
    uint32_t sum = wire_csum_pseudo_v4(PEER_ADDR, US_ADDR, WIRE_IPPROTO_TCP, (uint16_t)tlen);
    put16(tcp + 16, wire_csum_fold(wire_csum_add(sum, tcp, tlen)));
    buf[0] = (uint8_t)(0x40 | (ihl / 4));
    put16(buf + 2, (uint16_t)(ihl + tlen));
    put16(buf + 4, 7);
    buf[8] = 64;
    buf[9] = WIRE_IPPROTO_TCP;
    put32(buf + 12, PEER_ADDR);
    put32(buf + 16, US_ADDR);
    if (iolen > 0) {
        memcpy(buf + 20, ipopt, iolen);
    }
    put16(buf + 10, wire_csum(buf, ihl));
    tern_stack_input(h->st, 0, buf, ihl + tlen, h->now);
}

/* EVIDENCE: RFC 9293 3.1 MUST-4: EOL, NOP and MSS understood in a SYN
 * EVIDENCE: RFC 9293 3.1 MUST-5: an option in a segment that is not a SYN is accepted */
static void
test_mandatory_options_any_segment(void)
{
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    /* NOP, NOP, MSS 1000, EOL and padding. */
    static const uint8_t syn_opts[8] = {1, 1, 2, 4, 0x03, 0xe8, 0, 0};
    deliver_raw(&h, PEER(.seq = 300, .flags = SYN), syn_opts, sizeof(syn_opts), NULL, 0);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = LISTEN_PORT));
    deliver_raw(&h, PEER(.seq = 301, .ack = 101, .flags = ACK), NULL, 0, NULL, 0);
    /* Text in a segment carrying NOPs, an MSS option (meaningless outside a
     * SYN, RFC 9293 3.7.1: ignored) and an unknown option (kind 254). */
    static const uint8_t data_opts[12] = {1, 1, 2, 4, 0x02, 0x00, 254, 4, 0xab, 0xcd, 1, 0};
    deliver_raw(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "hello"), data_opts,
                sizeof(data_opts), NULL, 0);
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK, .sport = LISTEN_PORT));
    /* The MSS of the SYN (1000) holds: the later MSS option changed nothing. */
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    struct tern_tcp_status st;
    CHECK_EQ(tern_tcp_status(h.st, c, &st), TERN_OK);
    CHECK_EQ(st.snd_mss, 1000);
    char buf[8];
    CHECK_EQ(tern_tcp_recv(h.st, c, buf, sizeof(buf), h.now), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    h_fini(&h);
}

/* EVIDENCE: RFC 9293 3.9.2 MUST-50: IP options TCP does not understand are ignored */
static void
test_ip_options_ignored(void)
{
    struct h h;
    h_init(&h);
    h_listen(&h, 0);
    /* Record route with room for one address (RFC 791 3.1), then EOL. */
    static const uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
    deliver_raw(&h, PEER(.seq = 300, .flags = SYN), NULL, 0, rr, sizeof(rr));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = LISTEN_PORT));
    /* A timestamp option of an unknown flavour, on an ACK with text. */
    static const uint8_t ts[4] = {68, 4, 5, 0x03};
    deliver_raw(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "ip"), NULL, 0, ts,
                sizeof(ts));
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_ESTABLISHED);
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 303, .flags = ACK, .sport = LISTEN_PORT));
    h_fini(&h);
}

/* EVIDENCE: RFC 9293 3.9.2.1 MUST-52 MUST-53: documented choice (docs/ip-options.md): a SYN
 * carrying a source route is dropped before TCP sees it, so no return route is ever used */
static void
test_source_routed_syn_dropped(void)
{
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    /* A completed LSRR (RFC 791 3.1: pointer past the route), then EOL. */
    static const uint8_t lsrr[8] = {131, 7, 8, 192, 0, 2, 7, 0};
    deliver_raw(&h, PEER(.seq = 300, .flags = SYN), NULL, 0, lsrr, sizeof(lsrr));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_IP_SOURCE_ROUTE], 1);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.rx, 0);
    CHECK_STATE(&h, l, TERN_TCP_LISTEN);
    /* The same SYN without the option is answered. */
    deliver_raw(&h, PEER(.seq = 300, .flags = SYN), NULL, 0, NULL, 0);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = LISTEN_PORT));
    /* SSRR on an ACK of the handshake: dropped too, the connection waits. */
    static const uint8_t ssrr[8] = {1, 137, 7, 4, 192, 0, 2, 7};
    deliver_raw(&h, PEER(.seq = 301, .ack = 101, .flags = ACK), NULL, 0, ssrr, sizeof(ssrr));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_SYN_RECEIVED);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_IP_SOURCE_ROUTE], 2);
    h_fini(&h);
}

static void
ttl_17(struct tern_config *c)
{
    c->ttl = 17;
}

/* EVIDENCE: RFC 9293 3.9.2 MUST-49: the TTL of what TCP sends is configurable */
static void
test_configurable_ttl(void)
{
    struct h h;
    h_init_cfg(&h, ttl_17);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    CHECK_EQ(h.n_sent, 1);
    CHECK_EQ(h.sent[0].buf[8], 17); /* IPv4 TTL byte */
    h_fini(&h);
    h_init(&h);
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    CHECK_EQ(h.sent[0].buf[8], 64); /* the default (RFC 1122 3.2.1.7) */
    h_fini(&h);
}

/* EVIDENCE: RFC 9293 3.9.1.2 MUST-61: without a PUSH call, the last segment of what the user
 * sent carries PSH */
static void
test_psh_on_last_segment(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_set_nodelay(h.st, id, true, h.now), TERN_OK);
    /* 2100 bytes with the peer's MSS 1460 and window 8192: two segments. */
    static char text[2101];
    memset(text, 'p', 2100);
    CHECK_EQ(tern_tcp_send(h.st, id, text, 2100, h.now), 2100);
    CHECK_EQ(h.n_sent - h.next, 2);
    struct wire_tcp t1, t2;
    CHECK_EQ(
        wire_tcp_parse(h.sent[h.next].buf + 20, h.sent[h.next].len - 20, US_ADDR, PEER_ADDR, &t1),
        WIRE_OK);
    CHECK_EQ(wire_tcp_parse(h.sent[h.next + 1].buf + 20, h.sent[h.next + 1].len - 20, US_ADDR,
                            PEER_ADDR, &t2),
             WIRE_OK);
    CHECK_EQ(t1.payload_len + t2.payload_len, 2100);
    CHECK(!(t1.flags & PSH));
    CHECK(t2.flags & PSH);
    h_fini(&h);
}

/* The peer takes back part of its window: nothing new goes past the
 * shrunken right edge, the connection lives on, and when the window opens
 * again the queued text goes. */
/* EVIDENCE: RFC 9293 3.8.6 MUST-34: robust against a shrinking window */
static void
test_shrinking_window(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h); /* peer window 8192, SND.NXT 101 */
    CHECK_EQ(tern_tcp_set_nodelay(h.st, id, true, h.now), TERN_OK);
    static char text[3000];
    memset(text, 's', sizeof(text));
    CHECK_EQ(tern_tcp_send(h.st, id, text, 2920, h.now), 2920); /* two full segments */
    CHECK_EQ(h.n_sent - h.next, 2);                             /* 101..1560 and 1561..3020 */
    h.next = h.n_sent;
    /* The first is acknowledged with a window of 100: the right edge moves
     * from 101 + 8192 back to 1561 + 100, below SND.NXT (3021). */
    h_deliver(&h, PEER(.seq = 301, .ack = 1561, .flags = ACK, .wnd = 100));
    CHECK_EQ(tern_tcp_send(h.st, id, text, 1000, h.now), 1000);
    CHECK_EQ(h.n_sent, h.next); /* no new text past the edge */
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    /* The window opens again with everything acknowledged: the rest goes. */
    h_deliver(&h, PEER(.seq = 301, .ack = 3021, .flags = ACK, .wnd = 8192));
    CHECK(h.n_sent > h.next);
    struct wire_tcp t;
    CHECK_EQ(
        wire_tcp_parse(h.sent[h.next].buf + 20, h.sent[h.next].len - 20, US_ADDR, PEER_ADDR, &t),
        WIRE_OK);
    CHECK_EQ(t.seq, 3021);
    CHECK_EQ(t.payload_len, 1000);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

/* EVIDENCE: RFC 9293 3.9.1.9 MUST-48: the application sets the Differentiated Services field
 * EVIDENCE: RFC 9293 3.9.1.9 SHLD-21 SHLD-22: changed during the connection, passed to IP as
 * is */
static void
test_diffserv_field(void)
{
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS,
                                   .tos = 0xb8}; /* DSCP EF */
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    CHECK_EQ(h.sent[h.next].buf[1], 0xb8); /* IPv4 TOS byte of the SYN */
    h.next = h.n_sent;
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK, .mss = 1460));
    CHECK_EQ(h.n_sent - h.next, 1);
    CHECK_EQ(h.sent[h.next].buf[1], 0xb8);
    h.next = h.n_sent;
    CHECK_EQ(tern_tcp_set_tos(h.st, id, 0x28), TERN_OK);
    CHECK_EQ(tern_tcp_send(h.st, id, "x", 1, h.now), 1);
    CHECK_EQ(h.n_sent - h.next, 1);
    CHECK_EQ(h.sent[h.next].buf[1], 0x28);
    CHECK_EQ(tern_tcp_set_tos(h.st, 999, 0), TERN_ERR_NOTCONN);
    h_fini(&h);
    /* A listener's value reaches the SYN,ACK of the connections it makes. */
    h_init(&h);
    struct tern_tcp_open_args l = {.passive = true, .local_port = LISTEN_PORT, .tos = 0x48};
    CHECK(tern_tcp_open(h.st, &l, h.now) > 0);
    h.our_port = LISTEN_PORT;
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    CHECK_EQ(h.n_sent - h.next, 1);
    CHECK_EQ(h.sent[h.next].buf[1], 0x48);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_mandatory_options_any_segment);
    RUN(test_ip_options_ignored);
    RUN(test_source_routed_syn_dropped);
    RUN(test_configurable_ttl);
    RUN(test_psh_on_last_segment);
    RUN(test_shrinking_window);
    RUN(test_diffserv_field);
    return CHECK_DONE();
}
