/*
 * tests/unit/test_ipv6.c: the IPv6 layer (src/ip/ipv6.c, ip6_reass.c) on a
 * raw-IP interface: addresses, input checks, extension headers and their
 * parameter problems, delivery to a transport, output, source
 * fragmentation, reassembly, the path MTU cache.
 */
#include "ip/nd.h"
#include "ip6_rig.h"

static struct rig R;
static struct fake_proto F;
static uint8_t pkt[70000];

static void
open6(void)
{
    rig_open(&R, 1500, v6_edit);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
}

/* EVIDENCE: 4862-5.3-a, 4291-2.5.6-a */
static void
test_addresses(void)
{
    open6();
    struct tern_ip a[8];
    CHECK_EQ(tern_stack_addrs6(R.st, 0, a, 8), 2);
    /* RFC 4862 5.3: a link-local address fe80::/64 first. */
    CHECK_EQ(a[0].b[0], 0xfe);
    CHECK_EQ(a[0].b[1], 0x80);
    for (int i = 2; i < 8; i++) {
        CHECK_EQ(a[0].b[i], 0);
    }
    CHECK(tern_ip_eq(a[1], A6(L6)));
    CHECK(ip_is_ours(R.st, A6(L6)));
    CHECK(ip_is_ours(R.st, a[0]));
    CHECK(!ip_is_ours(R.st, A6(P6)));
    /* RFC 7217: the identifier is stable for a given secret... */
    struct tern_ip ll = a[0];
    rig_close(&R);
    open6();
    CHECK_EQ(tern_stack_addrs6(R.st, 0, a, 8), 2);
    CHECK(tern_ip_eq(a[0], ll));
    rig_close(&R);
    /* ... and another secret gives another one. */
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 43;
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_LOCAL,
                                               .prefix_len = 24,
                                               .mtu = 1500,
                                               .transmit = cap_transmit,
                                               .transmit_ctx = &R.cap};
    struct tern_stack *st;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_OK);
    CHECK_EQ(tern_stack_addrs6(st, 0, a, 8), 1);
    CHECK(!tern_ip_eq(a[0], ll));
    tern_stack_free(st);
    /* Bad configured addresses are refused. */
    const char *bad[] = {"::", "::1", "ff02::1", "fe80::1", "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.netifs[0].addr6[0] = (struct tern_netif_addr6){A6(bad[i]), 64};
        cfg.netifs[0].n_addr6 = 1;
        CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    }
    cfg.netifs[0].addr6[0] = (struct tern_netif_addr6){A6(L6), 0};
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
}

/* EVIDENCE: 4443-4.2-a, 4443-4.2-b, 4443-2.3-a, 4443-2.4-b, 8200-8.1-a */
static void
test_echo(void)
{
    open6();
    uint8_t data[5] = {1, 2, 3, 4, 5};
    size_t n = mk_icmp6(pkt, A6(P6), A6(L6), 64, 128, 0, 0x12340007, data, 5);
    input(&R, pkt, n, 1);
    struct wire_ipv6 h;
    struct wire_icmp6 m;
    CHECK_EQ(R.cap.n, 1);
    CHECK(sent_icmp6(&R, 0, 0, &h, &m));
    CHECK_EQ(m.type, 129);
    CHECK_EQ(m.id, 0x1234);
    CHECK_EQ(m.seq, 7);
    CHECK_EQ(m.payload_len, 5);
    CHECK_MEM(m.payload, data, 5);
    CHECK(ip_is(&h.src, L6));
    CHECK(ip_is(&h.dst, P6));
    /* RFC 8200 3 and tern_config.ttl: hop limit 64 by default. */
    CHECK_EQ(h.hop_limit, 64);
    CHECK_EQ(R.st->stats.icmp6.rx_echo_request, 1);
    /* To all-nodes: answered from our unicast address. */
    n = mk_icmp6(pkt, A6(P6), A6("ff02::1"), 64, 128, 0, 0x12340008, data, 5);
    input(&R, pkt, n, 2);
    CHECK_EQ(R.cap.n, 2);
    CHECK(sent_icmp6(&R, 1, 0, &h, &m));
    CHECK(ip_is(&h.src, L6));
    CHECK_EQ(m.seq, 8);
    /* A bad checksum is a counted drop and gets no answer. */
    n = mk_icmp6(pkt, A6(P6), A6(L6), 64, 128, 0, 0x12340009, data, 5);
    pkt[n - 1] ^= 1;
    input(&R, pkt, n, 3);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMPV6_CHECKSUM], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMPV6_CHECKSUM), 1);
    /* Unknown informational type: dropped (RFC 4443 2.4 (b)). */
    n = mk_icmp6(pkt, A6(P6), A6(L6), 64, 200, 0, 0, data, 5);
    input(&R, pkt, n, 4);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMPV6_UNKNOWN_TYPE], 1);
    CHECK_EQ(R.cap.n, 2);
    rig_close(&R);
}

static struct {
    int n;
    struct tern_echo_reply r;
} E;

static void
on_echo(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    (void)ctx;
    (void)now_ns;
    E.n++;
    E.r = *r;
}

static void
test_echo_client(void)
{
    open6();
    memset(&E, 0, sizeof(E));
    const uint8_t d[3] = {9, 8, 7};
    CHECK_EQ(tern_icmp_echo_send_ip(R.st, A6(P6), 5, 6, d, 3, 1), TERN_OK);
    struct wire_ipv6 h;
    struct wire_icmp6 m;
    CHECK(sent_icmp6(&R, 0, 0, &h, &m));
    CHECK_EQ(m.type, 128);
    CHECK(ip_is(&h.src, L6));
    /* The reply reaches the handler, either family's field set. */
    size_t n = mk_icmp6(pkt, A6(P6), A6(L6), 63, 129, 0, 5u << 16 | 6, d, 3);
    input(&R, pkt, n, 2);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMPV6_ECHO_NO_HANDLER], 1);
    tern_icmp_set_echo_handler(R.st, on_echo, NULL);
    input(&R, pkt, n, 3);
    CHECK_EQ(E.n, 1);
    CHECK(E.r.v6);
    CHECK(tern_ip_eq(E.r.addr, A6(P6)));
    CHECK_EQ(E.r.from, 0);
    CHECK_EQ(E.r.ttl, 63);
    CHECK_EQ(E.r.seq, 6);
    CHECK_EQ(E.r.len, 3);
    /* An IPv4(-mapped) destination goes out as ICMP. */
    CHECK_EQ(tern_icmp_echo_send_ip(R.st, tern_ip4(A_PEER), 5, 7, d, 3, 4), TERN_OK);
    CHECK_EQ(R.cap.f[R.cap.n - 1].b[0] >> 4, 4);
    /* No address to reach an off-link one without a router: refused. */
    rig_close(&R);
}

/* EVIDENCE: 8200-3-a, 4291-2.7-a */
static void
test_input_checks(void)
{
    open6();
    uint8_t pl[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n = mk6(pkt, A6(P6), A6("2001:db8::99"), PROTO_FAKE, 64, pl, 8);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_NOT_OURS], 1);
    n = mk6(pkt, A6("ff02::1"), A6(L6), PROTO_FAKE, 64, pl, 8);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_BAD_SRC], 1);
    n = mk6(pkt, A6(P6), A6(L6), PROTO_FAKE, 64, pl, 8);
    input(&R, pkt, n - 1, 1); /* payload length past the frame */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_PAYLOAD_LEN], 1);
    input(&R, pkt, 30, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_TRUNCATED], 1);
    n = mk6(pkt, A6(P6), A6("::1"), PROTO_FAKE, 64, pl, 8);
    input(&R, pkt, n, 1); /* RFC 4291 2.5.3: ::1 never comes from a link */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_NOT_OURS], 2);
    n = mk6(pkt, A6(P6), A6("ff02::99"), PROTO_FAKE, 64, pl, 8);
    input(&R, pkt, n, 1); /* a group we are not in */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_NOT_OURS], 3);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IPV6_NOT_OURS), 3);
    CHECK_EQ(F.n_rx, 0);
    CHECK_EQ(R.cap.n, 0);
    /* Padding past the payload length is not ours: trimmed. */
    n = mk6(pkt, A6(P6), A6(L6), PROTO_FAKE, 17, pl, 8);
    input(&R, pkt, n + 4, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK(F.rx.v6);
    CHECK_EQ(F.rx.len, 8);
    CHECK_EQ(F.rx.ttl, 17);
    CHECK_EQ(F.rx.proto, PROTO_FAKE);
    CHECK(tern_ip_eq(F.rx.src, A6(P6)));
    CHECK(tern_ip_eq(F.rx.dst, A6(L6)));
    CHECK_MEM(F.payload, pl, 8);
    CHECK_EQ(F.rx.datagram_len, 48);
    rig_close(&R);
}

/* Expects frame i to be a parameter problem with code and pointer. */
static void
check_pp(size_t i, uint8_t code, uint32_t ptr)
{
    struct wire_ipv6 h;
    struct wire_icmp6 m;
    CHECK(sent_icmp6(&R, i, 0, &h, &m));
    CHECK_EQ(m.type, 4);
    CHECK_EQ(m.code, code);
    CHECK_EQ(m.pointer, ptr);
    CHECK(ip_is(&h.dst, P6));
}

/* EVIDENCE: 8200-4-a, 8200-4-b, 4443-3.4-a */
static void
test_unknown_next_header(void)
{
    open6();
    uint8_t pl[8] = {0};
    size_t n = mk6(pkt, A6(P6), A6(L6), 143, 64, pl, 8);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_NEXT_HEADER], 1);
    CHECK_EQ(R.cap.n, 1);
    check_pp(0, 1, 6); /* code 1, pointing at the Next Header field */
    /* Behind a destination options header, the pointer is that header's
     * Next Header field (offset 40). */
    uint8_t ext[16] = {143, 0, 1, 4, 0, 0, 0, 0, 0};
    n = mk6(pkt, A6(P6), A6(L6), 60, 64, ext, 16);
    input(&R, pkt, n, 2);
    check_pp(1, 1, 40);
    /* RFC 8200 4.1: a Hop-by-Hop header after another header is an
     * unrecognised Next Header (code 1, at the field naming it). */
    uint8_t hbh2[16] = {0, 0, 1, 4, 0, 0, 0, 0, PROTO_FAKE, 0, 1, 4, 0, 0, 0, 0};
    n = mk6(pkt, A6(P6), A6(L6), 60, 64, hbh2, 16);
    input(&R, pkt, n, 2);
    CHECK_EQ(R.cap.n, 3);
    check_pp(2, 1, 40);
    /* Next header 59: nothing follows, silently dropped. */
    n = mk6(pkt, A6(P6), A6(L6), 59, 64, pl, 8);
    input(&R, pkt, n, 3);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_NO_NEXT_HEADER], 1);
    CHECK_EQ(R.cap.n, 3);
    rig_close(&R);
}

/* A destination options header whose one option has type `t`, then 8
 * bytes of upper layer NH 253. */
static size_t
mk_dstopt(uint8_t *buf, const char *dst, uint8_t t)
{
    uint8_t ext[16] = {PROTO_FAKE, 0, t, 4, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    return mk6(buf, A6(P6), A6(dst), 60, 64, ext, 16);
}

/* EVIDENCE: 8200-4.2-a, 8200-4.2-b, 8200-4.2-c, 8200-4.2-d, 4443-2.4-e3 */
static void
test_option_actions(void)
{
    open6();
    input(&R, pkt, mk_dstopt(pkt, L6, 0x1e), 1); /* 00: skipped */
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, 8);
    input(&R, pkt, mk_dstopt(pkt, L6, 0x5e), 2); /* 01: silent */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_OPTION], 1);
    CHECK_EQ(R.cap.n, 0);
    input(&R, pkt, mk_dstopt(pkt, L6, 0x9e), 3); /* 10: problem, code 2 */
    CHECK_EQ(R.cap.n, 1);
    check_pp(0, 2, 42);
    input(&R, pkt, mk_dstopt(pkt, L6, 0xde), 4); /* 11: problem to unicast */
    CHECK_EQ(R.cap.n, 2);
    check_pp(1, 2, 42);
    input(&R, pkt, mk_dstopt(pkt, "ff02::1", 0xde), 5); /* 11 to a group: none */
    CHECK_EQ(R.cap.n, 2);
    input(&R, pkt, mk_dstopt(pkt, "ff02::1", 0x9e), 6); /* 10 to a group: sent */
    CHECK_EQ(R.cap.n, 3);
    check_pp(2, 2, 42);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_OPTION], 5);
    CHECK_EQ(F.n_rx, 1);
    rig_close(&R);
}

/* EVIDENCE: 8200-4.4-a */
static void
test_routing_header(void)
{
    open6();
    /* Type 0 with segments left 1 (RFC 5095): problem pointing at the type. */
    uint8_t rh[24] = {PROTO_FAKE, 2, 0, 1};
    size_t n = mk6(pkt, A6(P6), A6(L6), 43, 64, rh, 24);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_ROUTING], 1);
    CHECK_EQ(R.cap.n, 1);
    check_pp(0, 0, 42);
    CHECK_EQ(F.n_rx, 0);
    /* Segments left 0: ignored, the packet goes on. */
    uint8_t rh0[32] = {PROTO_FAKE, 2, 0, 0};
    n = mk6(pkt, A6(P6), A6(L6), 43, 64, rh0, 32);
    input(&R, pkt, n, 2);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, 8);
    rig_close(&R);
}

/* EVIDENCE: 4443-2.4-e1, 4443-2.4-e6, 4443-2.4-f */
static void
test_error_rules(void)
{
    open6();
    /* An ICMPv6 error behind an option that asks for a problem: no error
     * about an error. */
    uint8_t body[80] = {58, 0, 0x9e, 4, 0, 0, 0, 0};
    uint8_t inner[48];
    size_t in = mk6(inner, A6(L6), A6(P6), PROTO_FAKE, 64, body, 8);
    size_t m = mk_icmp6_msg(body + 8, A6(P6), A6(L6), 1, 4, 0, inner, in);
    size_t n = mk6(pkt, A6(P6), A6(L6), 60, 64, body, 8 + m);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_OPTION], 1);
    CHECK_EQ(R.cap.n, 0);
    CHECK(trace_count(&R.log, TERN_TRACE_EVENT, "4443 2.4 (e.1") == 1);
    /* Unspecified source: nobody to tell. */
    uint8_t pl[8] = {0};
    n = mk6(pkt, A6("::"), A6(L6), 143, 64, pl, 8);
    input(&R, pkt, n, 2);
    CHECK_EQ(R.cap.n, 0);
    rig_close(&R);

    /* RFC 4443 2.4 (f): the budget of tern_config.icmp_error_burst. */
    rig_open(&R, 1500, v6_edit);
    R.st->cfg.icmp_error_burst = 2;
    R.st->cfg.icmp_error_rate = 1;
    R.st->ip->icmp_tokens = 2;
    for (int i = 0; i < 3; i++) {
        n = mk6(pkt, A6(P6), A6(L6), 143, 64, pl, 8);
        input(&R, pkt, n, 10);
    }
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMPV6_RATE_LIMIT], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMPV6_RATE_LIMIT), 1);
    rig_close(&R);
}

/* EVIDENCE: 4443-2.4-a, 4443-2.4-d, 4443-3.1-a */
static void
test_errors_to_transport(void)
{
    open6();
    uint8_t tp[8] = {0x12, 0x34, 0x56, 0x78, 1, 2, 3, 4};
    uint8_t orig[48];
    size_t on = mk6(orig, A6(L6), A6(FAR6), PROTO_FAKE, 64, tp, 8);
    size_t n = mk_icmp6(pkt, A6(GW6), A6(L6), 64, 1, 4, 0, orig, on);
    input(&R, pkt, n, 1);
    CHECK_EQ(F.n_err, 1);
    CHECK(F.err.v6);
    CHECK_EQ(F.err.type, 1);
    CHECK_EQ(F.err.code, 4);
    CHECK(tern_ip_eq(F.err.orig_src, A6(L6)));
    CHECK(tern_ip_eq(F.err.orig_dst, A6(FAR6)));
    CHECK(tern_ip_eq(F.err.from, A6(GW6)));
    CHECK_EQ(F.err.orig_proto, PROTO_FAKE);
    CHECK_EQ(F.err.orig_payload_len, 8);
    CHECK_MEM(F.orig_payload, tp, 8);
    /* An unknown error type reaches the transport too (2.4 (a)). */
    n = mk_icmp6(pkt, A6(GW6), A6(L6), 64, 99, 0, 0, orig, on);
    input(&R, pkt, n, 2);
    CHECK_EQ(F.n_err, 2);
    CHECK_EQ(F.err.type, 99);
    /* A quote of a packet that was not ours is refused. */
    on = mk6(orig, A6(P6), A6(FAR6), PROTO_FAKE, 64, tp, 8);
    n = mk_icmp6(pkt, A6(GW6), A6(L6), 64, 1, 4, 0, orig, on);
    input(&R, pkt, n, 3);
    CHECK_EQ(F.n_err, 2);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMPV6_ERR_PAYLOAD], 1);
    /* Port unreachable for a datagram nobody takes: type 1 code 4. */
    on = mk6(orig, A6(P6), A6(L6), PROTO_FAKE, 64, tp, 8);
    input(&R, orig, on, 4);
    ip_send_port_unreach(R.st, &F.rx);
    struct wire_ipv6 h;
    struct wire_icmp6 m;
    CHECK(sent_icmp6(&R, R.cap.n - 1, 0, &h, &m));
    CHECK_EQ(m.type, 1);
    CHECK_EQ(m.code, 4);
    CHECK_EQ(m.payload_len, 48);
    CHECK_MEM(m.payload, orig, 48);
    rig_close(&R);
}

/* EVIDENCE: 8201-4-a, 8201-4-b, 8201-4-c, 4443-3.2-a */
static void
test_packet_too_big(void)
{
    open6();
    struct tern_ip src;
    uint32_t mtu = 0;
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), &src, &mtu), 0);
    CHECK(tern_ip_eq(src, A6(L6)));
    CHECK_EQ(mtu, 1500);
    uint8_t tp[8] = {0};
    uint8_t orig[48];
    size_t on = mk6(orig, A6(L6), A6(FAR6), PROTO_FAKE, 64, tp, 8);
    size_t n = mk_icmp6(pkt, A6(GW6), A6(L6), 64, 2, 0, 1400, orig, on);
    input(&R, pkt, n, 1);
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), NULL, &mtu), 0);
    CHECK_EQ(mtu, 1400);
    CHECK_EQ(F.n_err, 1);
    CHECK_EQ(F.err.next_hop_mtu, 1400);
    /* Never raised by a packet too big... */
    n = mk_icmp6(pkt, A6(GW6), A6(L6), 64, 2, 0, 1450, orig, on);
    input(&R, pkt, n, 2);
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), NULL, &mtu), 0);
    CHECK_EQ(mtu, 1400);
    /* ... never below 1280. */
    n = mk_icmp6(pkt, A6(GW6), A6(L6), 64, 2, 0, 600, orig, on);
    input(&R, pkt, n, 3);
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), NULL, &mtu), 0);
    CHECK_EQ(mtu, 1280);
    /* Another destination keeps the link MTU. */
    CHECK_EQ(ip_route_src(R.st, A6("2001:db8:2::1"), NULL, &mtu), 0);
    CHECK_EQ(mtu, 1500);
    /* RFC 8201 4: after 10 minutes the link MTU is tried again. */
    tern_stack_poll(R.st, 11LL * 60 * 1000000000LL);
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), NULL, &mtu), 0);
    CHECK_EQ(mtu, 1500);
    rig_close(&R);
}

/* EVIDENCE: 8200-4.5-a, 8200-5-a, 8200-5-b */
static void
test_fragment_out_and_back(void)
{
    open6();
    static uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7);
    }
    struct ip_part part = {data, sizeof(data)};
    struct ip_tx tx = {.dst = A6(P6), .proto = PROTO_FAKE};
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    CHECK_EQ(R.cap.n, 3);
    CHECK_EQ(R.st->stats.ip6.tx_fragmented, 1);
    uint32_t id = 0;
    size_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        struct wire_ipv6 h;
        struct wire_ipv6_chain c;
        CHECK(R.cap.f[i].len <= 1500);
        CHECK_EQ(wire_ipv6_parse(R.cap.f[i].b, R.cap.f[i].len, &h), WIRE_OK);
        CHECK_EQ(h.next_header, 44);
        CHECK_EQ(wire_ipv6_walk(R.cap.f[i].b, &h, &c), WIRE_OK);
        CHECK(c.has_frag);
        CHECK_EQ(c.proto, PROTO_FAKE);
        CHECK_EQ(c.frag_off, total);
        CHECK_EQ(c.frag_more, i < 2);
        CHECK_EQ(c.frag_off % 8, 0);
        if (i == 0) {
            id = c.frag_id;
        }
        CHECK_EQ(c.frag_id, id);
        CHECK_MEM(c.payload, data + total, c.payload_len);
        total += c.payload_len;
    }
    CHECK_EQ(total, sizeof(data));
    /* Fed back as if the peer had sent them (addresses swapped), in
     * reverse order: one packet is delivered, byte-exact. */
    for (size_t i = 3; i-- > 0;) {
        uint8_t *f = R.cap.f[i].b;
        uint8_t tmp[16];
        memcpy(tmp, f + 8, 16);
        memcpy(f + 8, f + 24, 16);
        memcpy(f + 24, tmp, 16);
        input(&R, f, R.cap.f[i].len, 1);
    }
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, sizeof(data));
    CHECK_MEM(F.payload, data, sizeof(data));
    CHECK_EQ(R.st->stats.ip6.reassembled, 1);
    CHECK_EQ(R.st->stats.ip6.rx_fragments, 3);
    rig_close(&R);
}

/* A fragment from P6 to us: id, offset, M flag, data. */
static size_t
mk_frag(uint8_t *buf, uint32_t id, uint16_t off, bool more, const uint8_t *d, size_t n)
{
    uint8_t b[2048];
    wire_ipv6_frag_emit(b, PROTO_FAKE, off, more, id);
    memcpy(b + 8, d, n);
    return mk6(buf, A6(P6), A6(L6), 44, 64, b, 8 + n);
}

/* EVIDENCE: 8200-4.5-b, 8200-4.5-c, 8200-4.5-d, 8200-4.5-e, 5722-3-a, 6946-4-a */
static void
test_reassembly_rules(void)
{
    open6();
    uint8_t d[64];
    for (int i = 0; i < 64; i++) {
        d[i] = (uint8_t)i;
    }
    /* RFC 6946: an atomic fragment is the whole packet. */
    size_t n = mk_frag(pkt, 1, 0, false, d, 16);
    input(&R, pkt, n, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, 16);
    /* An exact duplicate is dropped alone; the packet still completes. */
    input(&R, pkt, mk_frag(pkt, 2, 0, true, d, 16), 2);
    input(&R, pkt, mk_frag(pkt, 2, 0, true, d, 16), 2);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_DUPLICATE], 1);
    input(&R, pkt, mk_frag(pkt, 2, 16, false, d + 16, 8), 2);
    CHECK_EQ(F.n_rx, 2);
    CHECK_EQ(F.rx.len, 24);
    CHECK_MEM(F.payload, d, 24);
    /* RFC 5722: an overlap discards the packet, and what comes later. */
    input(&R, pkt, mk_frag(pkt, 3, 0, true, d, 16), 3);
    input(&R, pkt, mk_frag(pkt, 3, 8, true, d + 8, 16), 3);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS6_OVERLAP], 1);
    input(&R, pkt, mk_frag(pkt, 3, 16, false, d + 16, 8), 3);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS6_OVERLAP], 2);
    CHECK_EQ(F.n_rx, 2);
    /* A non-last fragment not a multiple of 8: problem code 0 at the
     * payload length (RFC 8200 4.5). */
    size_t before = R.cap.n;
    input(&R, pkt, mk_frag(pkt, 4, 0, true, d, 12), 4);
    CHECK_EQ(R.cap.n, before + 1);
    check_pp(before, 0, 4);
    /* Offset and length past 65535: problem code 0 at the fragment
     * offset (byte 42). */
    before = R.cap.n;
    input(&R, pkt, mk_frag(pkt, 7, 65528, true, d, 16), 4);
    CHECK_EQ(R.cap.n, before + 1);
    check_pp(before, 0, 42);
    /* A first fragment that stops inside the header chain (a destination
     * options header runs on into the next fragment): code 3. */
    uint8_t b[64] = {0};
    wire_ipv6_frag_emit(b, 60, 0, true, 8);
    b[8] = PROTO_FAKE;
    b[9] = 2; /* 24 bytes of options, 8 here */
    n = mk6(pkt, A6(P6), A6(L6), 44, 64, b, 16);
    before = R.cap.n;
    input(&R, pkt, n, 4);
    CHECK_EQ(R.cap.n, before + 1);
    check_pp(before, 3, 0);
    /* RFC 8200 4.5: 60 s without the rest: time exceeded code 1, quoting
     * the first fragment; none when the first never came. */
    input(&R, pkt, mk_frag(pkt, 5, 0, true, d, 16), 10);
    input(&R, pkt, mk_frag(pkt, 6, 8, true, d, 16), 10);
    before = R.cap.n;
    tern_stack_poll(R.st, 10 + 61LL * 1000000000LL);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS6_TIMEOUT], 3); /* 3, 5, 6 */
    CHECK_EQ(R.cap.n, before + 1);
    struct wire_ipv6 h;
    struct wire_icmp6 m;
    CHECK(sent_icmp6(&R, before, 0, &h, &m));
    CHECK_EQ(m.type, 3);
    CHECK_EQ(m.code, 1);
    CHECK_EQ(m.payload[6], 44); /* the first fragment, fragment header and all */
    CHECK_EQ(m.payload_len, 40 + 8 + 16);
    CHECK_EQ(F.n_rx, 2);
    rig_close(&R);
}

/* Datagrams to our own addresses loop back (and ::1). */
static void
test_loopback(void)
{
    open6();
    uint8_t d[4] = {1, 2, 3, 4};
    struct ip_part part = {d, 4};
    struct ip_tx tx = {.dst = A6(L6), .proto = PROTO_FAKE};
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    tx.dst = A6("::1");
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    CHECK_EQ(F.n_rx, 0);
    tern_stack_poll(R.st, 1);
    CHECK_EQ(F.n_rx, 2);
    CHECK(tern_ip_eq(F.rx.src, A6("::1")));
    CHECK_EQ(R.cap.n, 0);
    rig_close(&R);
}

/* EVIDENCE: 6724-5-a */
static void
test_routing_and_source(void)
{
    open6();
    struct tern_ip src, ll[2];
    CHECK_EQ(tern_stack_addrs6(R.st, 0, ll, 2), 2);
    /* Link-local destination: link-local source (rule 2). */
    CHECK_EQ(ip_route_src(R.st, A6("fe80::9"), &src, NULL), 0);
    CHECK(tern_ip_eq(src, ll[0]));
    /* Global: the global one. */
    CHECK_EQ(ip_route_src(R.st, A6(P6), &src, NULL), 0);
    CHECK(tern_ip_eq(src, A6(L6)));
    rig_close(&R);
    /* Without a router an off-link destination has no route. */
    rig_open(&R, 1500, NULL);
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), &src, NULL), -1);
    uint8_t d[1] = {0};
    struct ip_part part = {d, 1};
    struct ip_tx tx = {.dst = A6(FAR6), .proto = PROTO_FAKE};
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_ERR_NOROUTE);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_NO_ROUTE], 1);
    rig_close(&R);
    /* An interface below 1280 bytes runs no IPv6 (RFC 8200 5). */
    rig_open(&R, 1000, v6_edit);
    CHECK_EQ(tern_stack_addrs6(R.st, 0, ll, 2), 0);
    rig_close(&R);
}

/* Two stacks on one raw-IP link, each side's frames handed to the other. */
struct wire2 {
    struct tern_stack *st[2];
    struct capture cap[2];
};

static void
pump(struct wire2 *w, int64_t now)
{
    for (int round = 0; round < 64; round++) {
        size_t moved = 0;
        for (int i = 0; i < 2; i++) {
            struct capture c = w->cap[i];
            w->cap[i].n = 0;
            for (size_t k = 0; k < c.n; k++) {
                CHECK_EQ(tern_stack_input(w->st[1 - i], 0, c.f[k].b, c.f[k].len, now), TERN_OK);
            }
            moved += c.n;
            tern_stack_poll(w->st[i], now);
        }
        if (moved == 0) {
            return;
        }
    }
}

/* The transports over this layer: a TCP connection between two stacks
 * over IPv6 only, data both ways, the path MTU (1280) respected. */
static void
test_tcp_over_ipv6(void)
{
    static struct wire2 w;
    memset(&w, 0, sizeof(w));
    const char *a6[2] = {L6, P6};
    for (int i = 0; i < 2; i++) {
        struct tern_config cfg;
        tern_config_init(&cfg);
        cfg.seed = 7 + (uint64_t)i;
        cfg.deterministic = true;
        cfg.n_netifs = 1;
        cfg.netifs[0] = (struct tern_netif_config){.addr = TERN_IPV4(10, 0, 0, 1 + (unsigned)i),
                                                   .prefix_len = 24,
                                                   .mtu = 1280,
                                                   .transmit = cap_transmit,
                                                   .transmit_ctx = &w.cap[i]};
        cfg.netifs[0].addr6[0] = (struct tern_netif_addr6){A6(a6[i]), 64};
        cfg.netifs[0].n_addr6 = 1;
        CHECK_EQ(tern_stack_new(&cfg, 0, &w.st[i]), TERN_OK);
    }
    struct tern_tcp_open_args la = {.passive = true, .local_port = 80};
    int lis = tern_tcp_open(w.st[1], &la, 0);
    CHECK(lis > 0);
    struct tern_tcp_open_args ca = {.remote_addr = A6(P6), .remote_port = 80};
    int c = tern_tcp_open(w.st[0], &ca, 0);
    CHECK(c > 0);
    pump(&w, 1);
    int s = tern_tcp_accept(w.st[1], lis, 2);
    CHECK(s > 0);
    static uint8_t big[20000], got[20000];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 13);
    }
    size_t sent = 0, recvd = 0;
    for (int64_t t = 3; t < 200 && recvd < sizeof(big); t++) {
        if (sent < sizeof(big)) {
            int n = tern_tcp_send(w.st[0], c, big + sent, sizeof(big) - sent, t);
            sent += n > 0 ? (size_t)n : 0;
        }
        for (size_t k = 0; k < w.cap[0].n; k++) {
            CHECK(w.cap[0].f[k].len <= 1280);
            CHECK_EQ(w.cap[0].f[k].b[0] >> 4, 6);
        }
        pump(&w, t * 1000000);
        int n = tern_tcp_recv(w.st[1], s, got + recvd, sizeof(got) - recvd, t * 1000000);
        recvd += n > 0 ? (size_t)n : 0;
    }
    CHECK_EQ(recvd, sizeof(big));
    CHECK_MEM(got, big, sizeof(big));
    CHECK_EQ(tern_tcp_send(w.st[1], s, "ok", 2, 300000000), 2);
    pump(&w, 300000000);
    uint8_t b[4];
    CHECK_EQ(tern_tcp_recv(w.st[0], c, b, sizeof(b), 300000000), 2);
    CHECK(w.st[0]->stats.ip6.tx > 10);
    CHECK_EQ(w.st[0]->stats.ip.tx, 0);
    tern_stack_free(w.st[0]);
    tern_stack_free(w.st[1]);
}

int
main(void)
{
    RUN(test_addresses);
    RUN(test_echo);
    RUN(test_echo_client);
    RUN(test_input_checks);
    RUN(test_unknown_next_header);
    RUN(test_option_actions);
    RUN(test_routing_header);
    RUN(test_error_rules);
    RUN(test_errors_to_transport);
    RUN(test_packet_too_big);
    RUN(test_fragment_out_and_back);
    RUN(test_reassembly_rules);
    RUN(test_loopback);
    RUN(test_routing_and_source);
    RUN(test_tcp_over_ipv6);
    return CHECK_DONE();
}
