/*
 * tests/unit/test_ipv4.c: IPv4 input checks, delivery, routing and output
 * with fragmentation (src/ip/ip.c).
 *
 * RFCs: 791 3.1-3.2, 1122 3.2.1 and 3.3.1, 3.3.6.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ip/ip.h"
#include "ip_rig.h"
#include "stack/root.h"
#include "tern/stack.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

static struct rig R, R2;
static struct fake_proto F, F2;
static uint8_t pkt[70000];
static uint8_t big[70000];

static void
fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
    }
}

/* EVIDENCE: RFC 791 3.1, RFC 1122 3.2.1.1-3.2.1.2: malformed headers are
 * dropped, each under its own reason, traced with the reason's rule. */
static void
test_input_malformed(void)
{
    rig_open(&R, 1500, NULL);
    uint8_t pl[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n;

    input(&R, pkt, 10, 1); /* shorter than 20 */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_TRUNCATED], 1);

    n = mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 8);
    pkt[0] = 0x65; /* version 6 */
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_VERSION], 1);

    n = mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 8);
    pkt[0] = 0x44; /* IHL 4 */
    fix_ip_csum(pkt);
    input(&R, pkt, n, 1);
    n = mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 8);
    pkt[0] = 0x4f; /* IHL 15: 60 bytes, frame has 28 */
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_HLEN], 2);

    n = mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 8);
    pkt[2] = 0;
    pkt[3] = 19; /* total length below the header */
    fix_ip_csum(pkt);
    input(&R, pkt, n, 1);
    n = mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 8);
    input(&R, pkt, n - 1, 1); /* total length beyond the frame */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_TOTLEN], 2);

    n = mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 8);
    pkt[8] ^= 1; /* TTL changed, checksum not */
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_CHECKSUM], 1);

    /* IHL 6 with an option whose length runs past the header. */
    n = mk_dgram(pkt + 4, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 8);
    memmove(pkt, pkt + 4, 20);
    pkt[20] = 7; /* record route */
    pkt[21] = 11;
    pkt[22] = 4;
    pkt[23] = 0;
    pkt[0] = 0x46;
    pkt[3] = (uint8_t)(n + 4);
    fix_ip_csum(pkt);
    input(&R, pkt, n + 4, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_OPTION], 1);

    CHECK_EQ(R.st->stats.ip.rx, 8);
    CHECK_EQ(R.st->stats.ip.rx_delivered, 0);
    CHECK_EQ(tern_stats_drops_total(&R.st->stats), 8);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_TRUNCATED), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_VERSION), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_HLEN), 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_TOTLEN), 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_CHECKSUM), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_OPTION), 1);
    CHECK_EQ(R.cap.n, 0);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.2.1.3: a host MUST silently discard a datagram whose
 * source is a broadcast, multicast, class E or (outside a loopback
 * interface) 127/8 address; {0,0} only as a source to a broadcast. */
static void
test_input_bad_source(void)
{
    rig_open(&R, 1500, NULL);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
    static const uint32_t bad[] = {
        TERN_IPV4(255, 255, 255, 255),
        TERN_IPV4(224, 0, 0, 1),
        TERN_IPV4(239, 1, 2, 3),
        TERN_IPV4(240, 0, 0, 1),
        A_BCAST,
        TERN_IPV4(10, 0, 0, 0),
        TERN_IPV4(127, 0, 0, 1),
        0,
    };
    uint8_t pl[4] = {9, 9, 9, 9};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = mk_dgram(pkt, bad[i], A_LOCAL, PROTO_FAKE, 1, false, 0, pl, 4);
        input(&R, pkt, n, 1);
    }
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_BAD_SRC], 8);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_BAD_SRC), 8);
    CHECK_EQ(F.n_rx, 0);
    /* A host learning its address (BOOTP/DHCP) broadcasts from 0.0.0.0. */
    size_t n = mk_dgram(pkt, 0, TERN_IPV4(255, 255, 255, 255), PROTO_FAKE, 1, false, 0, pl, 4);
    input(&R, pkt, n, 1);
    CHECK_EQ(F.n_rx, 1);
    rig_close(&R);
}

static void
two_netifs(struct tern_config *cfg, struct rig *r)
{
    cfg->n_netifs = 2;
    cfg->netifs[1] = (struct tern_netif_config){.addr = TERN_IPV4(192, 168, 1, 1),
                                                .prefix_len = 16,
                                                .mtu = 1500,
                                                .transmit = cap_transmit,
                                                .transmit_ctx = &r->cap};
}

/* EVIDENCE: RFC 1122 3.2.1.3, 3.3.4.3: not for one of our addresses nor a
 * broadcast valid on the arrival interface: discarded (we do not forward).
 * A loopback interface (its address in 127/8) accepts 127/8 sources. */
static void
test_input_not_ours(void)
{
    rig_open(&R, 1500, two_netifs);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
    uint8_t pl[4] = {1, 2, 3, 4};
    static const uint32_t not_ours[] = {
        TERN_IPV4(10, 0, 0, 9),        /* a neighbour */
        A_FAR,                         /* far away */
        TERN_IPV4(224, 0, 0, 1),       /* a group we did not join */
        TERN_IPV4(192, 168, 255, 255), /* netif 1's broadcast, arriving on netif 0 */
        TERN_IPV4(10, 0, 1, 255),      /* another subnet's broadcast */
    };
    for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++) {
        size_t n = mk_dgram(pkt, A_PEER, not_ours[i], PROTO_FAKE, 1, false, 0, pl, 4);
        input(&R, pkt, n, 1);
    }
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_NOT_OURS], 5);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_NOT_OURS), 5);
    CHECK_EQ(F.n_rx, 0);
    /* Weak host model (3.3.4.2): netif 1's address arriving on netif 0. */
    size_t n = mk_dgram(pkt, A_PEER, TERN_IPV4(192, 168, 1, 1), PROTO_FAKE, 1, false, 0, pl, 4);
    input(&R, pkt, n, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.netif, 0);
    /* An interface the stack does not have. */
    CHECK_EQ(tern_stack_input(R.st, 2, pkt, n, 1), TERN_ERR_INVAL);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_NO_NETIF], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_NO_NETIF), 1);
    rig_close(&R);
}

static void
loopback_netif(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->netifs[0].addr = TERN_IPV4(127, 0, 0, 1);
    cfg->netifs[0].prefix_len = 8;
    cfg->default_gateway = 0;
}

static void
test_input_loopback_netif(void)
{
    rig_open(&R, 1500, loopback_netif);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, NULL, &F), TERN_OK);
    uint8_t pl[4] = {1, 2, 3, 4};
    size_t n = mk_dgram(pkt, TERN_IPV4(127, 0, 0, 1), TERN_IPV4(127, 0, 0, 1), PROTO_FAKE, 1, false,
                        0, pl, 4);
    input(&R, pkt, n, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_BAD_SRC], 0);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.2.1.3, 3.4: a datagram for us reaches the registered
 * transport with its addresses, TTL, TOS and interface; link padding after
 * the total length is not part of it. */
static void
test_deliver_to_protocol(void)
{
    rig_open(&R, 1500, NULL);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
    uint8_t pl[30];
    fill_pattern(pl, sizeof(pl), 3);
    size_t n = mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 77, false, 0, pl, sizeof(pl));
    pkt[1] = 0x28; /* TOS */
    pkt[8] = 17;   /* TTL */
    fix_ip_csum(pkt);
    memset(pkt + n, 0xee, 6); /* Ethernet-style padding */
    input(&R, pkt, n + 6, 5);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(tern_ip_v4(F.rx.src), A_PEER);
    CHECK_EQ(tern_ip_v4(F.rx.dst), A_LOCAL);
    CHECK_EQ(F.rx.proto, PROTO_FAKE);
    CHECK_EQ(F.rx.ttl, 17);
    CHECK_EQ(F.rx.tos, 0x28);
    CHECK_EQ(F.rx.netif, 0);
    CHECK_EQ(F.rx.len, sizeof(pl));
    CHECK_MEM(F.payload, pl, sizeof(pl));
    CHECK_EQ(F.rx.datagram_len, n);
    CHECK_MEM(F.datagram, pkt, n);
    CHECK_EQ(R.st->stats.ip.rx, 1);
    CHECK_EQ(R.st->stats.ip.rx_delivered, 1);
    CHECK_EQ(tern_stats_drops_total(&R.st->stats), 0);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_RX, "RFC 1122 3.2.1.3"), 1);
    rig_close(&R);
}

/* A datagram to PROTO_FAKE whose header carries `olen` bytes of options
 * (a multiple of 4). */
static size_t
mk_dgram_opts(uint8_t *buf, const uint8_t *opt, size_t olen, bool mf, const uint8_t *pl, size_t len)
{
    size_t n = mk_dgram(buf, A_PEER, A_LOCAL, PROTO_FAKE, 9, mf, 0, pl, len);
    memmove(buf + 20 + olen, buf + 20, len);
    memcpy(buf + 20, opt, olen);
    buf[0] = (uint8_t)(0x40 | (20 + olen) / 4);
    buf[2] = (uint8_t)((n + olen) >> 8);
    buf[3] = (uint8_t)(n + olen);
    fix_ip_csum(buf);
    return n + olen;
}

/* EVIDENCE: RFC 9293 3.9.2.1 MUST-51: documented choice (docs/ip-options.md): source routing
 * is not offered; OPEN takes no source route and tern never sends one
 * EVIDENCE: RFC 9293 3.9.2.1 MUST-52: documented choice: a received source route is never used,
 * the datagram carrying it is dropped (RFC 7126 4.3.5, 4.4.5), counted as IP_SOURCE_ROUTE
 * EVIDENCE: RFC 9293 3.9.2.1 MUST-53 SHLD-24: documented choice: no return route is saved or
 * replaced: LSRR and SSRR datagrams, fragments included, never reach TCP
 * EVIDENCE: RFC 9293 3.9.2 MUST-50: Record Route and Timestamp, not supported, are ignored
 * and the datagram delivered (their MAY labels are documented choices) */
static void
test_input_source_route_dropped(void)
{
    rig_open(&R, 1500, NULL);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
    uint8_t pl[16];
    fill_pattern(pl, sizeof(pl), 5);
    /* NOP, then LSRR with one address still to visit (RFC 791 3.1). */
    static const uint8_t lsrr[8] = {1, 131, 7, 4, 192, 0, 2, 7};
    input(&R, pkt, mk_dgram_opts(pkt, lsrr, sizeof(lsrr), false, pl, sizeof(pl)), 1);
    /* SSRR, route completed (pointer past the end), then EOL. */
    static const uint8_t ssrr[8] = {137, 7, 8, 192, 0, 2, 7, 0};
    input(&R, pkt, mk_dgram_opts(pkt, ssrr, sizeof(ssrr), false, pl, sizeof(pl)), 2);
    /* A first fragment with LSRR: dropped before reassembly holds it. */
    input(&R, pkt, mk_dgram_opts(pkt, lsrr, sizeof(lsrr), true, pl, sizeof(pl)), 3);
    CHECK_EQ(F.n_rx, 0);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_SOURCE_ROUTE], 3);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_SOURCE_ROUTE), 3);
    CHECK_EQ(R.st->stats.ip.rx_fragments, 0);
    CHECK_EQ(R.cap.n, 0); /* silently: no ICMP error */
    CHECK_STR(tern_drop_name(TERN_DROP_IP_SOURCE_ROUTE), "IP_SOURCE_ROUTE");
    /* Record Route and Timestamp are ignored (MUST-50): delivered. */
    static const uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
    input(&R, pkt, mk_dgram_opts(pkt, rr, sizeof(rr), false, pl, sizeof(pl)), 4);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, sizeof(pl));
    CHECK_MEM(F.payload, pl, sizeof(pl));
    static const uint8_t ts[8] = {68, 8, 5, 0, 0, 0, 0, 0};
    input(&R, pkt, mk_dgram_opts(pkt, ts, sizeof(ts), false, pl, sizeof(pl)), 5);
    CHECK_EQ(F.n_rx, 2);
    /* An option whose data holds the byte 131 is not a source route. */
    static const uint8_t unk[4] = {30, 4, 131, 137};
    input(&R, pkt, mk_dgram_opts(pkt, unk, sizeof(unk), false, pl, sizeof(pl)), 6);
    CHECK_EQ(F.n_rx, 3);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_SOURCE_ROUTE], 3);
    CHECK_EQ(tern_stats_drops_total(&R.st->stats), 3);
    rig_close(&R);
}

/* Registration: one handler per protocol, ICMP is the IP layer's own, a
 * fixed number of slots (other modules, TCP and UDP, hold some already). */
static void
test_register_proto(void)
{
    rig_open(&R, 1500, NULL);
    CHECK_EQ(ip_register_proto(R.st, 17, fake_input, NULL, &F), TERN_ERR_EXIST); /* UDP's */
    CHECK_EQ(ip_register_proto(R.st, 132, fake_input, NULL, &F), TERN_OK);
    CHECK_EQ(ip_register_proto(R.st, 132, fake_input, NULL, &F), TERN_ERR_EXIST);
    CHECK_EQ(ip_register_proto(R.st, 1, fake_input, NULL, &F), TERN_ERR_EXIST);
    CHECK_EQ(ip_register_proto(R.st, 18, NULL, NULL, &F), TERN_ERR_INVAL);
    int ok = 1;
    for (int p = 200; p < 210; p++) {
        int rc = ip_register_proto(R.st, (uint8_t)p, fake_input, NULL, &F);
        if (rc != TERN_OK) {
            CHECK_EQ(rc, TERN_ERR_NOBUFS);
            break;
        }
        ok++;
    }
    CHECK(ok <= IP_MAX_PROTOS);
    CHECK_EQ(ip_register_proto(R.st, 210, fake_input, NULL, &F), TERN_ERR_NOBUFS);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.3.6: a host MUST recognise the broadcast forms in
 * the destination: limited, subnet-directed (all ones), and SHOULD accept
 * the all-zeros forms of old 4.2BSD hosts. */
static void
test_broadcast_accepted(void)
{
    rig_open(&R, 1500, NULL);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
    static const uint32_t dsts[] = {TERN_IPV4(255, 255, 255, 255), A_BCAST, TERN_IPV4(10, 0, 0, 0),
                                    0};
    uint8_t pl[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < 4; i++) {
        size_t n = mk_dgram(pkt, A_PEER, dsts[i], PROTO_FAKE, 1, false, 0, pl, 4);
        input(&R, pkt, n, 1);
        CHECK_EQ(F.n_rx, (int)i + 1);
        CHECK_EQ(tern_ip_v4(F.rx.dst), dsts[i]);
    }
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_RX, "RFC 1122 3.3.6"), 4);
    CHECK(ip_addr_is_broadcast(R.st, 0, A_BCAST));
    CHECK(!ip_addr_is_broadcast(R.st, 0, A_PEER));
    CHECK(ip_addr_is_ours(R.st, A_LOCAL));
    CHECK(!ip_addr_is_ours(R.st, A_PEER));
    rig_close(&R);
}

static void
routing_netifs(struct tern_config *cfg, struct rig *r)
{
    cfg->n_netifs = 2;
    cfg->netifs[0].prefix_len = 16; /* 10.0/16 on netif 0 */
    cfg->netifs[1] = (struct tern_netif_config){.addr = TERN_IPV4(10, 0, 5, 1),
                                                .prefix_len = 24,
                                                .mtu = 1500,
                                                .transmit = cap_transmit,
                                                .transmit_ctx = &r->cap};
}

static void
no_gateway(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->default_gateway = 0;
}

/* EVIDENCE: RFC 1122 3.3.1.1: a connected destination is reached directly
 * (longest prefix), anything else through the gateway; none -> no route. */
static void
test_routing(void)
{
    rig_open(&R, 1500, routing_netifs);
    uint32_t nh = 0;
    CHECK_EQ(ip_route(R.st, TERN_IPV4(10, 0, 5, 9), &nh), 1);
    CHECK_EQ(nh, TERN_IPV4(10, 0, 5, 9));
    CHECK_EQ(ip_route(R.st, TERN_IPV4(10, 0, 9, 9), &nh), 0);
    CHECK_EQ(nh, TERN_IPV4(10, 0, 9, 9));
    CHECK_EQ(ip_route(R.st, A_FAR, &nh), 0);
    CHECK_EQ(nh, A_GW);
    CHECK_EQ(ip_route(R.st, TERN_IPV4(255, 255, 255, 255), &nh), 0);

    /* The transmit callback gets the interface and the next hop. */
    uint8_t d[10] = {0};
    struct ip_part part = {d, sizeof(d)};
    struct ip_send s = {.dst = TERN_IPV4(10, 0, 5, 9), .proto = PROTO_FAKE};
    CHECK_EQ(ipv4_output(R.st, &s, &part, 1), TERN_OK);
    s.dst = A_FAR;
    CHECK_EQ(ipv4_output(R.st, &s, &part, 1), TERN_OK);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(R.cap.f[0].netif, 1);
    CHECK_EQ(R.cap.f[0].next_hop, TERN_IPV4(10, 0, 5, 9));
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(R.cap.f[0].b, R.cap.f[0].len, &h), WIRE_OK);
    CHECK_EQ(h.src, TERN_IPV4(10, 0, 5, 1)); /* the outgoing interface's address */
    CHECK_EQ(R.cap.f[1].netif, 0);
    CHECK_EQ(R.cap.f[1].next_hop, A_GW);
    CHECK_EQ(wire_ipv4_parse(R.cap.f[1].b, R.cap.f[1].len, &h), WIRE_OK);
    CHECK_EQ(h.src, A_LOCAL);
    CHECK_EQ(h.dst, A_FAR);
    rig_close(&R);

    rig_open(&R, 1500, no_gateway);
    CHECK_EQ(ip_route(R.st, A_FAR, &nh), -1);
    s.dst = A_FAR;
    CHECK_EQ(ipv4_output(R.st, &s, &part, 1), TERN_ERR_NOROUTE);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_NO_ROUTE], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_NO_ROUTE), 1);
    CHECK_EQ(R.cap.n, 0);
    CHECK_EQ(R.st->stats.ip.tx, 0);
    rig_close(&R);
}

/* EVIDENCE: RFC 791 3.1: the header we emit; RFC 1122 3.2.1.7: default TTL
 * from the configuration; payload gathered from the parts in order. */
static void
test_output_header(void)
{
    rig_open(&R, 1500, NULL);
    uint8_t a[3] = {1, 2, 3}, b[5] = {4, 5, 6, 7, 8};
    struct ip_part parts[3] = {{a, 3}, {NULL, 0}, {b, 5}};
    uint16_t id0 = R.st->ip->next_id;
    struct ip_send s = {.dst = A_PEER, .proto = PROTO_FAKE, .tos = 0x10, .df = true};
    CHECK_EQ(ipv4_output(R.st, &s, parts, 3), TERN_OK);
    s.ttl = 9;
    s.df = false;
    s.src = TERN_IPV4(10, 0, 0, 77);
    CHECK_EQ(ipv4_output(R.st, &s, parts, 1), TERN_OK);
    CHECK_EQ(R.cap.n, 2);
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(R.cap.f[0].b, R.cap.f[0].len, &h), WIRE_OK);
    CHECK_EQ(R.cap.f[0].len, 28);
    CHECK_EQ(R.cap.f[0].b[0], 0x45);
    CHECK_EQ(h.tos, 0x10);
    CHECK_EQ(h.total_len, 28);
    CHECK_EQ(h.id, id0);
    CHECK(h.df);
    CHECK(!h.mf);
    CHECK_EQ(h.frag_off, 0);
    CHECK_EQ(h.ttl, 64);
    CHECK_EQ(h.proto, PROTO_FAKE);
    CHECK_EQ(h.src, A_LOCAL);
    CHECK_EQ(h.dst, A_PEER);
    CHECK_MEM(h.payload, "\1\2\3\4\5\6\7\10", 8);
    CHECK_EQ(wire_ipv4_parse(R.cap.f[1].b, R.cap.f[1].len, &h), WIRE_OK);
    CHECK_EQ(h.id, (uint16_t)(id0 + 1));
    CHECK_EQ(h.ttl, 9);
    CHECK(!h.df);
    CHECK_EQ(h.src, TERN_IPV4(10, 0, 0, 77));
    CHECK_EQ(h.payload_len, 3);
    CHECK_EQ(R.st->stats.ip.tx, 2);
    CHECK_EQ(R.st->stats.ip.tx_fragmented, 0);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "RFC 791"), 2);
    rig_close(&R);
}

static void
seeded(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->seed = 7;
}

/* EVIDENCE: RFC 791 3.2 (Identification), RFC 6864: the counter starts
 * from the stack's seeded rng: same seed, same ids; another seed, others. */
static void
test_id_from_seed(void)
{
    rig_open(&R, 1500, NULL);
    rig_open(&R2, 1500, NULL);
    CHECK_EQ(R.st->ip->next_id, R2.st->ip->next_id);
    rig_close(&R2);
    rig_open(&R2, 1500, seeded);
    CHECK(R.st->ip->next_id != R2.st->ip->next_id);
    rig_close(&R2);
    rig_close(&R);
}

/* Checks the fragments of one datagram of `len` payload bytes (the pattern
 * of fill_pattern) sent over `mtu`, and returns how many there were. */
static size_t
check_fragments(const struct capture *c, size_t len, size_t mtu)
{
    size_t chunk = (mtu - 20) / 8 * 8;
    size_t want = (len + chunk - 1) / chunk;
    CHECK_EQ(c->n, want);
    uint16_t id = 0;
    for (size_t i = 0; i < c->n && i < want; i++) {
        struct wire_ipv4 h;
        /* each fragment is a complete datagram with its own checksum */
        CHECK_EQ(wire_ipv4_parse(c->f[i].b, c->f[i].len, &h), WIRE_OK);
        CHECK(c->f[i].len <= mtu);
        if (i == 0) {
            id = h.id;
        }
        CHECK_EQ(h.id, id);
        CHECK_EQ(h.frag_off, i * chunk);
        CHECK_EQ(h.mf, i + 1 < want);
        size_t n = i + 1 < want ? chunk : len - i * chunk;
        CHECK_EQ(h.payload_len, n);
        CHECK_EQ(h.total_len, 20 + n);
        CHECK_MEM(h.payload, big + i * chunk, n);
    }
    return want;
}

static void
peer_addr(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->netifs[0].addr = A_PEER;
}

/* EVIDENCE: RFC 791 3.2: a 4000-byte datagram over MTU 1500 and 576:
 * fragments on 8-byte boundaries, MF on all but the last, offsets in
 * order, each with its own header checksum; reassembled by another stack
 * (RFC 1122 3.3.2) into the same bytes. */
static void
test_fragment_4000(void)
{
    static const uint16_t mtus[2] = {1500, 576};
    for (size_t m = 0; m < 2; m++) {
        size_t len = 4000 - 20;
        fill_pattern(big, len, (unsigned)m);
        rig_open(&R, mtus[m], NULL);
        struct ip_part part = {big, len};
        struct ip_send s = {.dst = A_PEER, .proto = PROTO_FAKE};
        CHECK_EQ(ipv4_output(R.st, &s, &part, 1), TERN_OK);
        size_t nfrag = check_fragments(&R.cap, len, mtus[m]);
        CHECK_EQ(nfrag, m == 0 ? 3 : 8);
        CHECK_EQ(R.st->stats.ip.tx, nfrag);
        CHECK_EQ(R.st->stats.ip.tx_fragmented, 1);
        CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "RFC 791 3.2: fragment"), (int)nfrag);

        rig_open(&R2, 1500, peer_addr);
        memset(&F2, 0, sizeof(F2));
        CHECK_EQ(ip_register_proto(R2.st, PROTO_FAKE, fake_input, NULL, &F2), TERN_OK);
        for (size_t i = 0; i < R.cap.n; i++) {
            CHECK_EQ(tern_stack_input(R2.st, 0, R.cap.f[i].b, R.cap.f[i].len, 10), TERN_OK);
            CHECK_EQ(F2.n_rx, i + 1 == R.cap.n ? 1 : 0);
        }
        CHECK_EQ(F2.rx.len, len);
        CHECK_MEM(F2.payload, big, len);
        CHECK_EQ(F2.rx.datagram_len, 4000);
        CHECK_EQ(R2.st->stats.ip.rx_fragments, nfrag);
        CHECK_EQ(R2.st->stats.ip.reassembled, 1);
        CHECK_EQ(R2.st->stats.ip.rx_delivered, 1);
        rig_close(&R2);
        rig_close(&R);
    }
}

/* EVIDENCE: RFC 791 2.3, 3.1 (Don't Fragment): too big with DF set is an
 * error to the caller and a counted drop; past 65535 bytes likewise. */
static void
test_output_too_big(void)
{
    rig_open(&R, 1500, NULL);
    struct ip_part part = {big, 1481};
    struct ip_send s = {.dst = A_PEER, .proto = PROTO_FAKE, .df = true};
    CHECK_EQ(ipv4_output(R.st, &s, &part, 1), TERN_ERR_MSGSIZE);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_DF_TOO_BIG], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_DF_TOO_BIG), 1);
    CHECK_EQ(R.cap.n, 0);
    part.len = 1480; /* exactly the MTU */
    CHECK_EQ(ipv4_output(R.st, &s, &part, 1), TERN_OK);
    CHECK_EQ(R.cap.n, 1);
    CHECK_EQ(R.cap.f[0].len, 1500);

    s.df = false;
    struct ip_part two[2] = {{big, 65000}, {big, 516}};
    CHECK_EQ(ipv4_output(R.st, &s, two, 2), TERN_ERR_MSGSIZE);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_TOO_LONG], 1);
    CHECK_EQ(R.cap.n, 1);
    two[1].len = 515; /* 65535 in all: 45 fragments */
    CHECK_EQ(ipv4_output(R.st, &s, two, 2), TERN_OK);
    CHECK_EQ(R.cap.n, 1 + 45);
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(R.cap.f[45].b, R.cap.f[45].len, &h), WIRE_OK);
    CHECK_EQ(h.frag_off + h.payload_len, 65515);
    CHECK(!h.mf);
    rig_close(&R);
}

/* A refusing driver: counted drop, TERN_ERR_TXFAIL, no further fragment. */
static void
test_output_tx_fail(void)
{
    rig_open(&R, 576, NULL);
    R.cap.fail = true;
    struct ip_part part = {big, 2000};
    struct ip_send s = {.dst = A_PEER, .proto = PROTO_FAKE};
    CHECK_EQ(ipv4_output(R.st, &s, &part, 1), TERN_ERR_TXFAIL);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_TX_FAILED], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_TX_FAILED), 1);
    CHECK_EQ(R.st->stats.ip.tx, 0);
    CHECK_EQ(R.st->stats.ip.tx_fragmented, 0);
    rig_close(&R);
}

static unsigned allocs_left;

static void *
failing_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (allocs_left == 0) {
        return NULL;
    }
    allocs_left--;
    return malloc(new_size);
}

/* ip_init fails cleanly at every allocation (ASan checks for leaks). */
static void
test_init_nomem(void)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_LOCAL,
                                               .prefix_len = 24,
                                               .mtu = 1500,
                                               .transmit = cap_transmit,
                                               .transmit_ctx = &R.cap};
    cfg.reass_slots = 3;
    cfg.alloc = failing_alloc;
    int ok_at = -1;
    for (unsigned k = 0; k < 64 && ok_at < 0; k++) {
        allocs_left = k;
        struct tern_stack *st = NULL;
        int rc = tern_stack_new(&cfg, 0, &st);
        if (rc == TERN_OK) {
            ok_at = (int)k;
            tern_stack_free(st);
        } else {
            CHECK_EQ(rc, TERN_ERR_NOMEM);
            CHECK(st == NULL);
        }
    }
    /* at least: stack, tx buffer, slot array, 3 slot buffers */
    CHECK(ok_at >= 1 + 1 + 1 + 3);
}

int
main(void)
{
    RUN(test_input_malformed);
    RUN(test_input_bad_source);
    RUN(test_input_not_ours);
    RUN(test_input_loopback_netif);
    RUN(test_deliver_to_protocol);
    RUN(test_input_source_route_dropped);
    RUN(test_register_proto);
    RUN(test_broadcast_accepted);
    RUN(test_routing);
    RUN(test_output_header);
    RUN(test_id_from_seed);
    RUN(test_fragment_4000);
    RUN(test_output_too_big);
    RUN(test_output_tx_fail);
    RUN(test_init_nomem);
    return CHECK_DONE();
}
