/* tests/unit/test_tcp_addressing.c: addresses, ICMP source quench, the MSS
 * option, checksums and option padding (RFC 9293 3.1, 3.2, 3.7.1, 3.9.1.1,
 * 3.9.2.2, 3.9.2.3). */
#include "tcp_harness.h"

#define IF2_ADDR   TERN_IPV4(192, 168, 1, 1) /* our second interface */
#define IF2_PEER   TERN_IPV4(192, 168, 1, 2)
#define SUBNET_BC  TERN_IPV4(10, 0, 0, 255)
#define LIMITED_BC TERN_IPV4(255, 255, 255, 255)
#define MCAST_1    TERN_IPV4(224, 0, 0, 1)
#define MCAST_2    TERN_IPV4(239, 1, 2, 3)
#define CLASS_E    TERN_IPV4(240, 0, 0, 1)

/* The IP header of the i-th datagram we sent. */
static struct wire_ipv4
sent_ip(struct h *h, unsigned i)
{
    struct wire_ipv4 ip;
    memset(&ip, 0, sizeof(ip));
    CHECK(i < h->n_sent);
    if (i < h->n_sent) {
        CHECK_EQ(wire_ipv4_parse(h->sent[i].buf, h->sent[i].len, &ip), WIRE_OK);
    }
    return ip;
}

static void
tweak_two_netifs(struct tern_config *cfg)
{
    cfg->n_netifs = 2;
    cfg->netifs[1] = (struct tern_netif_config){.addr = IF2_ADDR,
                                                .prefix_len = 24,
                                                .mtu = 1500,
                                                .transmit = h_transmit,
                                                .transmit_ctx = cfg->netifs[0].transmit_ctx};
}

static void
tweak_two_netifs_576(struct tern_config *cfg)
{
    tweak_two_netifs(cfg);
    cfg->netifs[1].mtu = 576;
}

static void
tweak_mtu_576(struct tern_config *cfg)
{
    cfg->netifs[0].mtu = 576;
}

static void
tweak_mtu_1280(struct tern_config *cfg)
{
    cfg->netifs[0].mtu = 1280;
}

/* ---- MUST-57: SYN to a broadcast or multicast address ---- */

static void
test_syn_to_bcast_mcast_discarded_with_listener(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.3 MUST-57: A TCP implementation MUST silently discard an incoming
     * SYN segment that is addressed to a broadcast or multicast address */
    static const uint32_t dsts[] = {SUBNET_BC, LIMITED_BC, MCAST_1, MCAST_2};
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    for (unsigned i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
        h_deliver_addr(&h, 0, PEER_ADDR, dsts[i], PEER(.seq = 300, .flags = SYN));
        EXPECT_NOTHING(&h);
        CHECK(tcp_hash_find(h.st, tern_ip4(dsts[i]), LISTEN_PORT, tern_ip4(PEER_ADDR), PEER_PORT) ==
              NULL);
        CHECK_STATE(&h, l, TERN_TCP_LISTEN);
        CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), -1);
    }
    CHECK_EQ(h.events[l], 0);
    CHECK_EQ(tern_tcp_accept(h.st, l, h.now), TERN_ERR_AGAIN);
    /* Nothing either later (no SYN-ACK retransmission from a hidden TCB). */
    h_advance(&h, 10 * SEC);
    EXPECT_NOTHING(&h);
    /* The listener still answers a unicast SYN. */
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = LISTEN_PORT));
    h_fini(&h);
}

static void
test_syn_to_bcast_mcast_no_rst_without_listener(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.3 MUST-57: a SYN addressed to a broadcast or multicast address is
     * silently discarded: no RST even though no connection exists */
    static const uint32_t dsts[] = {SUBNET_BC, LIMITED_BC, MCAST_1, MCAST_2};
    struct h h;
    h_init(&h);
    for (unsigned i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
        h_deliver_addr(&h, 0, PEER_ADDR, dsts[i], PEER(.seq = 300, .flags = SYN));
        EXPECT_NOTHING(&h);
    }
    h_fini(&h);
}

static void
test_syn_to_bcast_fully_specified_passive(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.3 MUST-57: a fully specified passive OPEN with no local address
     * does not take a SYN addressed to a broadcast address */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.passive = true,
                                   .local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    h_deliver_addr(&h, 0, PEER_ADDR, SUBNET_BC, PEER(.seq = 300, .flags = SYN));
    h_deliver_addr(&h, 0, PEER_ADDR, LIMITED_BC, PEER(.seq = 300, .flags = SYN));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_LISTEN);
    h_fini(&h);
}

/* ---- MUST-63: SYN from an invalid source address ---- */

static void
test_syn_from_invalid_source_ignored(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.3 MUST-63: An incoming SYN with an invalid source address MUST be
     * ignored either by TCP or by the IP layer (broadcast, multicast, class E, 0.0.0.0) */
    static const uint32_t srcs[] = {LIMITED_BC, SUBNET_BC, MCAST_1, MCAST_2, CLASS_E, 0};
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    for (unsigned i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        h_deliver_addr(&h, 0, srcs[i], US_ADDR, PEER(.seq = 300, .flags = SYN));
        EXPECT_NOTHING(&h);
        CHECK(tcp_hash_find(h.st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(srcs[i]), PEER_PORT) ==
              NULL);
        CHECK_STATE(&h, l, TERN_TCP_LISTEN);
    }
    CHECK_EQ(h.events[l], 0);
    h_advance(&h, 10 * SEC);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_syn_from_invalid_source_no_rst(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.3 MUST-63: a SYN from a broadcast or multicast source to a closed
     * port is ignored, not answered with a RST */
    static const uint32_t srcs[] = {LIMITED_BC, SUBNET_BC, MCAST_1, CLASS_E};
    struct h h;
    h_init(&h);
    for (unsigned i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        h_deliver_addr(&h, 0, srcs[i], US_ADDR, PEER(.seq = 300, .flags = SYN));
        EXPECT_NOTHING(&h);
    }
    h_fini(&h);
}

/* ---- MUST-45 (with MUST-44): the local address of a connection ---- */

static void
test_active_open_uses_outgoing_interface_address(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.1 MUST-45: an active OPEN without a local address takes the
     * outgoing interface's address (MUST-44), and every later segment uses the same local
     * address */
    struct h h;
    h_init_cfg(&h, tweak_two_netifs);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(IF2_PEER),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    EXPECT_SENT(&h, US(.seq = 100, .flags = SYN, .sport = US_PORT, .dport = PEER_PORT));
    struct wire_ipv4 ip = sent_ip(&h, h.next - 1);
    CHECK_EQ(ip.src, IF2_ADDR);
    CHECK_EQ(ip.dst, IF2_PEER);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
    CHECK_EQ(tern_ip_v4(s.local_addr), IF2_ADDR);
    CHECK_EQ(tern_ip_v4(s.remote_addr), IF2_PEER);
    /* The SYN,ACK to that address completes the handshake. */
    h_deliver_addr(&h, 1, IF2_PEER, IF2_ADDR,
                   PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(sent_ip(&h, h.next - 1).src, IF2_ADDR);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK_EQ(tern_tcp_send(h.st, id, "abc", 3, h.now), 3);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "abc"));
    CHECK_EQ(sent_ip(&h, h.next - 1).src, IF2_ADDR);
    CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
    CHECK_EQ(tern_ip_v4(s.local_addr), IF2_ADDR);
    h_fini(&h);
}

static void
test_active_open_first_interface(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.1 MUST-45: on the other interface the local address is that
     * interface's (STATUS and the SYN's IP source) */
    struct h h;
    h_init_cfg(&h, tweak_two_netifs);
    int id = h_syn_sent(&h);
    CHECK_EQ(sent_ip(&h, h.next - 1).src, US_ADDR);
    CHECK_EQ(sent_ip(&h, h.next - 1).dst, PEER_ADDR);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
    CHECK_EQ(tern_ip_v4(s.local_addr), US_ADDR);
    /* The retransmitted SYN keeps it. */
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    CHECK_EQ(sent_ip(&h, h.next - 1).src, US_ADDR);
    h_fini(&h);
}

static void
test_wildcard_listener_answers_from_syn_destination(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.1 MUST-45: a passive OPEN with no local address answers from the
     * address the SYN was sent to, and the connection keeps that local address */
    struct h h;
    h_init_cfg(&h, tweak_two_netifs);
    int l = h_listen(&h, 0);
    /* A SYN to the second interface's address. */
    h_deliver_addr(&h, 1, IF2_PEER, IF2_ADDR, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = LISTEN_PORT));
    struct wire_ipv4 ip = sent_ip(&h, h.next - 1);
    CHECK_EQ(ip.src, IF2_ADDR);
    CHECK_EQ(ip.dst, IF2_PEER);
    /* A SYN to the first, from another peer. */
    h_deliver_addr(&h, 0, PEER_ADDR, US_ADDR, PEER(.seq = 500, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 501, .flags = SYN | ACK, .sport = LISTEN_PORT));
    ip = sent_ip(&h, h.next - 1);
    CHECK_EQ(ip.src, US_ADDR);
    CHECK_EQ(ip.dst, PEER_ADDR);
    /* Weak host model: a SYN to the second address arriving on the first interface is
     * still answered from the address it was sent to. */
    h_deliver_addr(&h, 0, PEER_ADDR, IF2_ADDR, PEER(.seq = 700, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 701, .flags = SYN | ACK, .sport = LISTEN_PORT));
    CHECK_EQ(sent_ip(&h, h.next - 1).src, IF2_ADDR);
    EXPECT_NOTHING(&h);
    /* Complete the first handshake; the accepted connection reports that address. */
    h_deliver_addr(&h, 1, IF2_PEER, IF2_ADDR, PEER(.seq = 301, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, c, &s), TERN_OK);
    CHECK_EQ(tern_ip_v4(s.local_addr), IF2_ADDR);
    CHECK_EQ(tern_ip_v4(s.remote_addr), IF2_PEER);
    CHECK_EQ(tern_tcp_send(h.st, c, "xy", 2, h.now), 2);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "xy"));
    CHECK_EQ(sent_ip(&h, h.next - 1).src, IF2_ADDR);
    /* The listener itself stays a wildcard. */
    CHECK_EQ(tern_tcp_status(h.st, l, &s), TERN_OK);
    CHECK_EQ(tern_ip_v4(s.local_addr), 0);
    h_fini(&h);
}

/* ---- MUST-55: ICMP source quench ---- */

static void
test_source_quench_established_discarded(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.2 MUST-55: TCP implementations MUST silently discard any received
     * ICMP Source Quench messages (no state change, no error, nothing sent) */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "abc", 3, h.now), 3);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "abc"));
    struct tern_tcp_status before, after;
    CHECK_EQ(tern_tcp_status(h.st, id, &before), TERN_OK);
    unsigned ev = h.events[id];
    unsigned nstate = h.n_state_events;
    h_deliver_icmp(&h, 4, 0, US_PORT, 101);
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    CHECK_EQ(tern_tcp_status(h.st, id, &after), TERN_OK);
    CHECK_EQ(after.error, 0);
    CHECK_EQ(after.soft_error, 0);
    CHECK_EQ(after.snd_una, before.snd_una);
    CHECK_EQ(after.snd_nxt, before.snd_nxt);
    CHECK_EQ(after.snd_wnd, before.snd_wnd);
    CHECK_EQ(after.snd_mss, before.snd_mss);
    CHECK_EQ(after.send_queued, before.send_queued);
    CHECK_EQ(after.retransmits, before.retransmits);
    CHECK_EQ(tern_tcp_error(h.st, id), 0);
    CHECK_EQ(h.events[id], ev);
    CHECK(!(tern_tcp_events(h.st, id) & TERN_TCP_EV_ERROR));
    CHECK_EQ(h.n_state_events, nstate);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_ICMP_IGNORED], 1);
    /* The connection carries on: the peer's ACK is taken. */
    h_deliver(&h, PEER(.seq = 301, .ack = 104, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_tcp_status(h.st, id, &after), TERN_OK);
    CHECK_EQ(after.snd_una, 104);
    h_fini(&h);
}

static void
test_source_quench_while_opening_discarded(void)
{
    /* EVIDENCE: RFC 9293 3.9.2.2 MUST-55: a source quench about the SYN does not abort or mark
     * the opening connection */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver_icmp(&h, 4, 0, US_PORT, 100);
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_SYN_SENT);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
    CHECK_EQ(s.error, 0);
    CHECK_EQ(s.soft_error, 0);
    CHECK_EQ(h.events[id], 0);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

/* ---- MUST-65: the MSS option only on SYNs ---- */

static void
test_mss_only_in_syn_active(void)
{
    /* EVIDENCE: RFC 9293 3.2 MUST-65: the MSS option may be sent in segments with the SYN
     * control bit set and MUST NOT be sent in other segments (active side) */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    CHECK(t.opts.has_mss);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460));
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(!t.opts.has_mss);
    CHECK_EQ(tern_tcp_send(h.st, id, "hello", 5, h.now), 5);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    CHECK(!t.opts.has_mss);
    /* The retransmission of data. */
    h_advance(&h, SEC);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    CHECK(!t.opts.has_mss);
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK | PSH, .data = "ok"));
    t = EXPECT_SENT(&h, US(.seq = 106, .ack = 303, .flags = ACK));
    CHECK(!t.opts.has_mss);
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    t = EXPECT_SENT(&h, US(.seq = 106, .ack = 303, .flags = FIN | ACK));
    CHECK(!t.opts.has_mss);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_mss_only_in_syn_passive_and_rst(void)
{
    /* EVIDENCE: RFC 9293 3.2 MUST-65: the SYN,ACK carries the MSS option; the RST and the ACK
     * segments do not */
    struct h h;
    h_init(&h);
    int l = h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    CHECK(t.opts.has_mss);
    /* The retransmitted SYN,ACK too. */
    h_advance(&h, SEC);
    t = EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    CHECK(t.opts.has_mss);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    /* An out-of-window segment draws an ACK. */
    h_deliver(&h, PEER(.seq = 900000, .ack = 101, .flags = ACK, .data = "x"));
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(!t.opts.has_mss);
    /* RSTs: to a closed port, and an ABORT. */
    h_deliver(&h, PEER(.seq = 300, .flags = SYN, .dport = 9999));
    t = EXPECT_SENT(&h, US(.seq = 0, .ack = 301, .flags = RST | ACK));
    CHECK(!t.opts.has_mss);
    CHECK_EQ(tern_tcp_abort(h.st, c, h.now), TERN_OK);
    t = EXPECT_SENT(&h, US(.seq = 101, .flags = RST));
    CHECK(!t.opts.has_mss);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

/* ---- MUST-67: the MSS value from the interface MTU ---- */

static void
check_announced_mss(void (*tweak)(struct tern_config *), uint16_t want)
{
    struct h h;
    h_init_cfg(&h, tweak);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    CHECK(t.opts.has_mss);
    CHECK_EQ(t.opts.mss, want);
    /* The listener's SYN,ACK announces the same. */
    h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    t = EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = LISTEN_PORT));
    CHECK(t.opts.has_mss);
    CHECK_EQ(t.opts.mss, want);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_mss_from_mtu_1500(void)
{
    /* EVIDENCE: RFC 9293 3.7.1 MUST-67: the MSS sent is at most MMS_R - 20; with MTU 1500 and no
     * IP or TCP options it is 1500 - 40 = 1460 */
    check_announced_mss(NULL, 1460);
}

static void
test_mss_from_mtu_576(void)
{
    /* EVIDENCE: RFC 9293 3.7.1 MUST-67: with MTU 576 the MSS announced is 576 - 40 = 536 */
    check_announced_mss(tweak_mtu_576, 536);
}

static void
test_mss_from_mtu_1280(void)
{
    /* EVIDENCE: RFC 9293 3.7.1 MUST-67: with MTU 1280 the MSS announced is 1280 - 40 = 1240 */
    check_announced_mss(tweak_mtu_1280, 1240);
}

static void
test_mss_from_outgoing_interface(void)
{
    /* EVIDENCE: RFC 9293 3.7.1 MUST-67: the MSS is that of the interface the connection uses
     * (576 on the second interface, 1500 on the first) */
    struct h h;
    h_init_cfg(&h, tweak_two_netifs_576);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(IF2_PEER),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    CHECK_EQ(t.opts.mss, 536);
    a.remote_addr = tern_ip4(PEER_ADDR);
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    t = EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    CHECK_EQ(t.opts.mss, 1460);
    h_fini(&h);
}

/* The MSS a user asks for (OPEN's mss) on a 1500-byte link: announced as
 * min(request, 1460) by an active OPEN, a listener (SYN cache) and a fully
 * specified passive OPEN alike; the send MSS is capped by it too. */
static void
check_user_mss(uint16_t request, uint16_t want)
{
    struct h h;
    h_init(&h);
    /* Active. */
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS,
                                   .mss = request};
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    CHECK(t.opts.has_mss);
    CHECK_EQ(t.opts.mss, want);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
    CHECK_EQ(s.snd_mss, want); /* the request caps what we send (Linux's TCP_MAXSEG) */
    /* A listener: its SYN,ACK, then the child it accepts. */
    struct tern_tcp_open_args l = {.passive = true,
                                   .local_port = LISTEN_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS,
                                   .mss = request};
    int lid = tern_tcp_open(h.st, &l, h.now);
    CHECK(lid > 0);
    h.our_port = LISTEN_PORT;
    h_deliver(&h, PEER(.seq = 300, .flags = SYN, .mss = 1460));
    t = EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = LISTEN_PORT));
    CHECK(t.opts.has_mss);
    CHECK_EQ(t.opts.mss, want);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    int c = tern_tcp_accept(h.st, lid, h.now);
    CHECK(c > 0);
    CHECK_EQ(tern_tcp_status(h.st, c, &s), TERN_OK);
    CHECK_EQ(s.snd_mss, want);
    /* A fully specified passive OPEN (a connection of its own, no SYN cache). */
    struct tern_tcp_open_args f = {.passive = true,
                                   .local_port = US_PORT + 1,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS,
                                   .mss = request};
    int fid = tern_tcp_open(h.st, &f, h.now);
    CHECK(fid > 0);
    h.our_port = US_PORT + 1;
    h_deliver(&h, PEER(.seq = 300, .flags = SYN, .mss = 1460));
    t = EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .sport = US_PORT + 1));
    CHECK(t.opts.has_mss);
    CHECK_EQ(t.opts.mss, want);
    CHECK_EQ(tern_tcp_status(h.st, fid, &s), TERN_OK);
    CHECK_EQ(s.snd_mss, want);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_mss_user_request_both_opens(void)
{
    /* EVIDENCE: RFC 9293 3.7.1 MUST-67: a requested MSS of 9000 on a 1500-byte link announces
     * 1460 on active and passive opens alike; a request of 1000 announces 1000 on both */
    check_user_mss(9000, 1460);
    check_user_mss(1000, 1000);
    check_user_mss(1460, 1460);
}

/* ---- MUST-2 / MUST-69: checksums and option padding ---- */

/* Independent one's complement sum over the pseudo-header and segment. */
static uint16_t
fold_sum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
    uint32_t sum = 0;
    sum += src >> 16;
    sum += src & 0xffff;
    sum += dst >> 16;
    sum += dst & 0xffff;
    sum += WIRE_IPPROTO_TCP;
    sum += (uint32_t)len;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)seg[i] << 8 | seg[i + 1];
    }
    if (len & 1) {
        sum += (uint32_t)seg[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)sum;
}

/* Checks every datagram sent so far: a TCP segment that wire_tcp_parse
 * accepts (it verifies the checksum), whose checksum also verifies by hand,
 * and whose header bytes after an End of Option List are zero. */
static void
check_all_sent(struct h *h, unsigned *n_with_opts)
{
    for (unsigned i = 0; i < h->n_sent; i++) {
        struct wire_ipv4 ip;
        struct wire_tcp t;
        CHECK_EQ(wire_ipv4_parse(h->sent[i].buf, h->sent[i].len, &ip), WIRE_OK);
        CHECK_EQ(ip.proto, WIRE_IPPROTO_TCP);
        CHECK_EQ(wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &t), WIRE_OK);
        CHECK_EQ(fold_sum(ip.src, ip.dst, ip.payload, ip.payload_len), 0xffff);
        const uint8_t *hdr = ip.payload;
        size_t hlen = (size_t)(hdr[12] >> 4) * 4;
        CHECK(hlen >= 20 && hlen <= ip.payload_len);
        CHECK_EQ(hdr[12] & 0x0f, 0); /* reserved bits */
        if (hlen > 20) {
            (*n_with_opts)++;
        }
        size_t k = 20;
        while (k < hlen) {
            uint8_t kind = hdr[k];
            if (kind == 0) {
                for (size_t z = k; z < hlen; z++) {
                    CHECK_EQ(hdr[z], 0);
                }
                break;
            }
            if (kind == 1) {
                k++;
                continue;
            }
            CHECK(k + 1 < hlen);
            if (k + 1 >= hlen) {
                break;
            }
            uint8_t olen = hdr[k + 1];
            CHECK(olen >= 2 && k + olen <= hlen);
            if (olen < 2) {
                break;
            }
            k += olen;
        }
        CHECK(k <= hlen);
    }
}

/* A whole conversation (SYN, SYN,ACK, ACK, odd-length data,
 * retransmissions, FIN, RST) whose every segment check_all_sent checks. */
static void
conversation_all_checked(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "abc", 3, h.now), 3); /* odd length */
    h_advance(&h, SEC);                                    /* a retransmission */
    h_deliver(&h, PEER(.seq = 301, .ack = 104, .flags = ACK | PSH, .data = "hello"));
    CHECK_EQ(tern_tcp_send(h.st, id, "abcd", 4, h.now), 4);
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    h_deliver(&h, PEER(.seq = 306, .ack = 109, .flags = FIN | ACK));
    /* A listener: SYN,ACK with the peer's MSS and its retransmission. */
    int l = h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 1000, .flags = SYN, .mss = 1000, .sport = PEER_PORT + 1));
    h_advance(&h, SEC);
    h_deliver(&h, PEER(.seq = 1001, .ack = 101, .flags = ACK, .sport = PEER_PORT + 1));
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    CHECK_EQ(tern_tcp_send(h.st, c, "z", 1, h.now), 1);
    CHECK_EQ(tern_tcp_abort(h.st, c, h.now), TERN_OK);
    /* RSTs without a connection. */
    h_deliver(&h, PEER(.seq = 5, .flags = SYN, .dport = 9999));
    h_deliver(&h, PEER(.seq = 5, .ack = 77, .flags = ACK, .dport = 9999, .data = "q"));
    CHECK(h.n_sent >= 12);
    unsigned with_opts = 0;
    check_all_sent(&h, &with_opts);
    CHECK(with_opts >= 3); /* SYN, SYN,ACK, its retransmission */
    h_fini(&h);

    /* Another MTU, so the MSS option value differs; the SYN and its retransmissions. */
    h_init_cfg(&h, tweak_mtu_576);
    struct tern_tcp_open_args a = {
        .local_port = US_PORT, .remote_addr = tern_ip4(PEER_ADDR), .remote_port = PEER_PORT};
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    h_advance(&h, 3 * SEC);
    CHECK(h.n_sent >= 2);
    with_opts = 0;
    check_all_sent(&h, &with_opts);
    CHECK_EQ(with_opts, h.n_sent);
    h_fini(&h);
}

static void
test_every_segment_checksummed(void)
{
    /* EVIDENCE: RFC 9293 3.1 MUST-2: The TCP checksum is never optional. The sender MUST
     * generate it; every segment of a whole conversation verifies */
    conversation_all_checked();
}

static void
test_option_padding_zero(void)
{
    /* EVIDENCE: RFC 9293 3.1 MUST-69: The content of the header beyond the End of Option List
     * Option MUST be header padding of zeros; every segment of a whole conversation */
    conversation_all_checked();
}

int
main(void)
{
    RUN(test_syn_to_bcast_mcast_discarded_with_listener);
    RUN(test_syn_to_bcast_mcast_no_rst_without_listener);
    RUN(test_syn_to_bcast_fully_specified_passive);
    RUN(test_syn_from_invalid_source_ignored);
    RUN(test_syn_from_invalid_source_no_rst);
    RUN(test_active_open_uses_outgoing_interface_address);
    RUN(test_active_open_first_interface);
    RUN(test_wildcard_listener_answers_from_syn_destination);
    RUN(test_source_quench_established_discarded);
    RUN(test_source_quench_while_opening_discarded);
    RUN(test_mss_only_in_syn_active);
    RUN(test_mss_only_in_syn_passive_and_rst);
    RUN(test_mss_from_mtu_1500);
    RUN(test_mss_from_mtu_576);
    RUN(test_mss_from_mtu_1280);
    RUN(test_mss_from_outgoing_interface);
    RUN(test_mss_user_request_both_opens);
    RUN(test_every_segment_checksummed);
    RUN(test_option_padding_zero);
    return CHECK_DONE();
}
