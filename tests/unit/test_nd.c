/*
 * tests/unit/test_nd.c: neighbour discovery (RFC 4861) and stateless
 * address autoconfiguration (RFC 4862) on an Ethernet interface
 * (src/ip/nd.c): DAD, router solicitation, address resolution with its
 * queue, NUD, the validity checks, router advertisements, redirects, and
 * the Ethernet multicast filter (RFC 2464 7).
 */
#include "ip/nd.h"
#include "ip6_rig.h"
#include "wire/ethernet.h"

#define SEC 1000000000LL

static struct rig R;
static struct fake_proto F;
static uint8_t frame[4096];
static const uint8_t MAC_US[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_PEER[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0, 0xfe};
static const uint8_t MAC_OTHER[6] = {0x02, 0, 0, 0, 0, 0x77};
static unsigned dad_transmits;
static bool no_rs;

static void
eth_edit(struct tern_config *cfg, struct rig *r)
{
    v6_edit(cfg, r);
    cfg->gateway6 = (struct tern_ip){{0}};
    cfg->netifs[0].link = TERN_LINK_ETHERNET;
    memcpy(cfg->netifs[0].mac, MAC_US, 6);
    cfg->arp_announcements = 0;
    cfg->nd_dad_transmits = dad_transmits;
    cfg->nd_no_router_solicit = no_rs;
}

static void
open_eth(unsigned dad, bool rs_off)
{
    dad_transmits = dad;
    no_rs = rs_off;
    rig_open(&R, 1500, eth_edit);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
}

/* Wraps the IPv6 packet p (n bytes) in an Ethernet frame into frame. */
static size_t
eth_wrap(const uint8_t dst[6], const uint8_t src[6], const uint8_t *p, size_t n)
{
    memmove(frame + 14, p, n);
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = 0x86;
    frame[13] = 0xdd;
    return 14 + n;
}

/* An ND message m from src to dst with hop limit hop, framed from mac_src
 * to mac_dst. */
static size_t
mk_nd(const uint8_t mac_dst[6], const uint8_t mac_src[6], const char *src, const char *dst,
      uint8_t hop, struct wire_nd_emit *m)
{
    uint8_t msg[512], p[600];
    struct wire_ipv6_addr s, d;
    struct tern_ip a = A6(src), b = A6(dst);
    memcpy(s.b, a.b, 16);
    memcpy(d.b, b.b, 16);
    m->lladdr_len = 6;
    size_t len = wire_nd_emit(m, &s, &d, msg, sizeof(msg));
    CHECK(len > 0);
    size_t n = mk6(p, a, b, 58, hop, msg, len);
    return eth_wrap(mac_dst, mac_src, p, n);
}

/* Parses sent frame i as ND. */
static bool
sent_nd(size_t i, struct wire_ipv6 *h, struct wire_nd *nd)
{
    struct wire_icmp6 m;
    if (!sent_icmp6(&R, i, 14, h, &m)) {
        return false;
    }
    return wire_nd_parse(h->payload, h->payload_len, &h->src, &h->dst, h->hop_limit, nd) == WIRE_OK;
}

static struct tern_ip
our_ll(void)
{
    return ip6_stable_addr(R.st, 0, A6("fe80::"), 0);
}

/* EVIDENCE: 4862-5.4-a, 4862-5.4.2-a, 4861-6.3.7-a, 4861-4-a */
static void
test_dad_then_rs(void)
{
    open_eth(1, false);
    struct tern_ip a[4];
    CHECK_EQ(tern_stack_addrs6(R.st, 0, a, 4), 0); /* all tentative */
    tern_stack_poll(R.st, 0);
    CHECK_EQ(R.cap.n, 2); /* one DAD solicitation per address */
    struct wire_ipv6 h;
    struct wire_nd nd;
    for (size_t i = 0; i < 2; i++) {
        CHECK(sent_nd(i, &h, &nd));
        CHECK_EQ(nd.type, WIRE_ND_NEIGHBOR_SOLICIT);
        CHECK(ip_is(&h.src, "::"));
        CHECK_EQ(h.hop_limit, 255);
        CHECK(!nd.has_src_lladdr);
        CHECK(wire_ipv6_addr_is_solicited_node(&h.dst));
        /* RFC 2464 7: 33:33 and the group's last 4 bytes. */
        CHECK_EQ(R.cap.f[i].b[0], 0x33);
        CHECK_EQ(R.cap.f[i].b[1], 0x33);
        CHECK_MEM(R.cap.f[i].b + 2, h.dst.b + 12, 4);
    }
    CHECK(memcmp(nd.target.b, A6(L6).b, 16) == 0 || memcmp(nd.target.b, our_ll().b, 16) == 0);
    /* Packets to a tentative address are dropped. */
    uint8_t p[100];
    uint8_t pl[8] = {0};
    size_t n = mk6(p, A6(P6), A6(L6), PROTO_FAKE, 64, pl, 8);
    input(&R, frame, eth_wrap(MAC_US, MAC_PEER, p, n), 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IPV6_TENTATIVE], 1);
    /* RetransTimer later the addresses are ours; a router solicitation
     * follows, from the link-local address, with our link address. */
    tern_stack_poll(R.st, SEC);
    CHECK_EQ(tern_stack_addrs6(R.st, 0, a, 4), 2);
    CHECK_EQ(R.st->stats.nd.dad_ok, 2);
    CHECK_EQ(R.cap.n, 3);
    CHECK(sent_nd(2, &h, &nd));
    CHECK_EQ(nd.type, WIRE_ND_ROUTER_SOLICIT);
    CHECK(ip_is(&h.dst, "ff02::2"));
    CHECK(memcmp(h.src.b, our_ll().b, 16) == 0);
    CHECK(nd.has_src_lladdr);
    CHECK_MEM(nd.src_lladdr, MAC_US, 6);
    /* RFC 4861 6.3.7: at most 3, 4 s apart. */
    tern_stack_poll(R.st, 5 * SEC);
    tern_stack_poll(R.st, 9 * SEC);
    tern_stack_poll(R.st, 20 * SEC);
    CHECK_EQ(R.st->stats.nd.rs_tx, 3);
    rig_close(&R);
}

/* EVIDENCE: 4862-5.4.4-a, 4862-5.4.3-a, 4862-5.4.5-a */
static void
test_dad_conflict(void)
{
    open_eth(1, true);
    tern_stack_poll(R.st, 0);
    /* Someone answers for our configured address: it is a duplicate. */
    struct wire_nd_emit na = {
        .type = WIRE_ND_NEIGHBOR_ADVERT, .override = true, .tgt_lladdr = MAC_OTHER};
    struct tern_ip t = A6(L6);
    memcpy(na.target.b, t.b, 16);
    input(&R, frame, mk_nd(MAC_US, MAC_OTHER, "fe80::77", "ff02::1", 255, &na), 1);
    /* Someone else probes for our link-local address at once. */
    struct wire_nd_emit ns = {.type = WIRE_ND_NEIGHBOR_SOLICIT};
    memcpy(ns.target.b, our_ll().b, 16);
    struct wire_ipv6_addr tw;
    memcpy(tw.b, our_ll().b, 16);
    struct wire_ipv6_addr sn = wire_ipv6_addr_solicited_node(&tw);
    char snt[64];
    wire_ipv6_addr_to_text(&sn, snt);
    const uint8_t snmac[6] = {0x33, 0x33, sn.b[12], sn.b[13], sn.b[14], sn.b[15]};
    input(&R, frame, mk_nd(snmac, MAC_OTHER, "::", snt, 255, &ns), 2);
    CHECK_EQ(R.st->stats.nd.dad_conflict, 2);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_DAD_CONFLICT], 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ND_DAD_CONFLICT), 2);
    tern_stack_poll(R.st, 2 * SEC);
    struct tern_ip a[4];
    CHECK_EQ(tern_stack_addrs6(R.st, 0, a, 4), 0); /* neither is used */
    CHECK(!ip_is_ours(R.st, A6(L6)));
    CHECK_EQ(R.st->stats.nd.dad_ok, 0);
    rig_close(&R);
}

/* EVIDENCE: 4861-7.2.2-a, 4861-7.2.5-a, 4861-7.2.2-b, 4861-7.3.3-a, 4861-7.1.2-a */
static void
test_resolution(void)
{
    open_eth(0, true);
    uint8_t d[4] = {1, 2, 3, 4};
    struct ip_part part = {d, 4};
    struct ip_tx tx = {.dst = A6(P6), .proto = PROTO_FAKE};
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    CHECK_EQ(R.cap.n, 1); /* one solicitation, two packets queued */
    CHECK_EQ(R.st->stats.nd.queued, 2);
    struct wire_ipv6 h;
    struct wire_nd nd;
    CHECK(sent_nd(0, &h, &nd));
    CHECK_EQ(nd.type, WIRE_ND_NEIGHBOR_SOLICIT);
    CHECK(ip_is(&nd.target, P6));
    CHECK(ip_is(&h.src, L6));
    CHECK(nd.has_src_lladdr);
    CHECK_MEM(nd.src_lladdr, MAC_US, 6);
    /* The solicited answer resolves it; the queue goes out in order. */
    struct wire_nd_emit na = {.type = WIRE_ND_NEIGHBOR_ADVERT,
                              .solicited = true,
                              .override = true,
                              .tgt_lladdr = MAC_PEER};
    memcpy(na.target.b, A6(P6).b, 16);
    input(&R, frame, mk_nd(MAC_US, MAC_PEER, P6, L6, 255, &na), 1);
    CHECK_EQ(R.cap.n, 3);
    CHECK_MEM(R.cap.f[1].b, MAC_PEER, 6);
    CHECK_MEM(R.cap.f[2].b, MAC_PEER, 6);
    const struct nd_entry *e = nd_find(R.st, 0, A6(P6));
    CHECK(e != NULL && e->state == ND_REACHABLE);
    /* 7.1.2: an advertisement to a group with S set is invalid. */
    na.solicited = true;
    input(&R, frame, mk_nd(MAC_US, MAC_PEER, P6, "ff02::1", 255, &na), 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_INVALID], 1);
    /* NUD (7.3.3): ReachableTime later STALE, a send makes it DELAY, 5 s
     * later a unicast probe. */
    tern_stack_poll(R.st, 50 * SEC);
    CHECK(e->state == ND_STALE);
    R.st->now_ns = 50 * SEC;
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    CHECK(e->state == ND_DELAY);
    size_t before = R.cap.n;
    tern_stack_poll(R.st, 56 * SEC);
    CHECK(e->state == ND_PROBE);
    CHECK_EQ(R.cap.n, before + 1);
    CHECK(sent_nd(before, &h, &nd));
    CHECK(ip_is(&h.dst, P6));
    CHECK_MEM(R.cap.f[before].b, MAC_PEER, 6);
    /* No answer to 3 probes: the entry goes. */
    for (int64_t t = 57; t <= 60; t++) {
        tern_stack_poll(R.st, t * SEC);
    }
    CHECK(nd_find(R.st, 0, A6(P6)) == NULL);
    /* An address nobody answers for: 3 solicitations, then the queue is
     * dropped (counted). */
    tx.dst = A6("2001:db8::55");
    tern_stack_poll(R.st, 61 * SEC);
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    tern_stack_poll(R.st, 62 * SEC);
    tern_stack_poll(R.st, 63 * SEC);
    tern_stack_poll(R.st, 64 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_RESOLVE_FAILED], 1);
    CHECK_EQ(R.st->stats.nd.failed, 1);
    rig_close(&R);
}

/* EVIDENCE: 4861-7.2.3-a, 4861-7.2.4-a, 4861-7.1.1-a */
static void
test_solicitation_answered(void)
{
    open_eth(0, true);
    struct wire_nd_emit ns = {.type = WIRE_ND_NEIGHBOR_SOLICIT, .src_lladdr = MAC_PEER};
    memcpy(ns.target.b, A6(L6).b, 16);
    const uint8_t snmac[6] = {0x33, 0x33, 0xff, 0, 0, 1};
    input(&R, frame, mk_nd(snmac, MAC_PEER, P6, "ff02::1:ff00:1", 255, &ns), 1);
    CHECK_EQ(R.cap.n, 1);
    struct wire_ipv6 h;
    struct wire_nd nd;
    CHECK(sent_nd(0, &h, &nd));
    CHECK_EQ(nd.type, WIRE_ND_NEIGHBOR_ADVERT);
    CHECK(nd.solicited);
    CHECK(nd.override);
    CHECK(ip_is(&nd.target, L6));
    CHECK(ip_is(&h.dst, P6));
    CHECK(nd.has_tgt_lladdr);
    CHECK_MEM(nd.tgt_lladdr, MAC_US, 6);
    CHECK_MEM(R.cap.f[0].b, MAC_PEER, 6); /* learned from the option */
    /* Validity (7.1.1): hop limit not 255, multicast target: dropped. */
    input(&R, frame, mk_nd(snmac, MAC_PEER, P6, "ff02::1:ff00:1", 254, &ns), 2);
    memcpy(ns.target.b, A6("ff02::1").b, 16);
    input(&R, frame, mk_nd(snmac, MAC_PEER, P6, "ff02::1:ff00:1", 255, &ns), 3);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_INVALID], 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ND_INVALID), 2);
    /* Not our address. */
    memcpy(ns.target.b, A6("2001:db8::42").b, 16);
    input(&R, frame, mk_nd(snmac, MAC_PEER, P6, "ff02::1:ff00:42", 255, &ns), 4);
    CHECK_EQ(R.cap.n, 1);
    /* DAD by another node for our (assigned) address: answered to all-nodes. */
    struct wire_nd_emit dad = {.type = WIRE_ND_NEIGHBOR_SOLICIT};
    memcpy(dad.target.b, A6(L6).b, 16);
    input(&R, frame, mk_nd(snmac, MAC_OTHER, "::", "ff02::1:ff00:1", 255, &dad), 5);
    CHECK_EQ(R.cap.n, 2);
    CHECK(sent_nd(1, &h, &nd));
    CHECK(ip_is(&h.dst, "ff02::1"));
    CHECK(!nd.solicited);
    rig_close(&R);
}

/* A router advertisement from fe80::fe: lifetime 1800 s, hop limit 33,
 * MTU 1400, prefix 2001:db8:5::/64 on link and autonomous. */
static const char *ra_prefix = "2001:db8:5::";

static size_t
mk_ra(uint32_t valid, uint32_t preferred, uint8_t plen)
{
    struct wire_nd_prefix pfx = {.prefix_len = plen,
                                 .on_link = true,
                                 .autonomous = true,
                                 .valid_lifetime = valid,
                                 .preferred_lifetime = preferred};
    memcpy(pfx.prefix.b, A6(ra_prefix).b, 16);
    struct wire_nd_emit ra = {.type = WIRE_ND_ROUTER_ADVERT,
                              .cur_hop_limit = 33,
                              .router_lifetime = 1800,
                              .src_lladdr = MAC_GW,
                              .has_mtu = true,
                              .mtu = 1400,
                              .prefixes = &pfx,
                              .n_prefixes = 1};
    return mk_nd(MAC_US, MAC_GW, "fe80::fe", "ff02::1", 255, &ra);
}

/* EVIDENCE: 4861-6.3.4-a, 4861-6.3.4-b, 4861-6.1.2-a, 4861-6.2.6-a
 * EVIDENCE: 4862-5.5.3-a, 4862-5.5.3-d, 4862-5.5.3-e, 4862-5.5.4-a */
static void
test_router_advertisement(void)
{
    open_eth(1, true);
    tern_stack_poll(R.st, 0);
    tern_stack_poll(R.st, SEC); /* DAD done */
    const uint8_t all[6] = {0x33, 0x33, 0, 0, 0, 1};
    /* 6.1.2: hop limit 254 is not an advertisement from the link. */
    size_t n = mk_ra(7200, 3600, 64);
    memcpy(frame, all, 6);
    frame[14 + 7] = 254;
    input(&R, frame, n, 2 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_INVALID], 1);
    CHECK_EQ(R.st->stats.nd.ra_rx, 0);
    /* 6.2.6: a host drops router solicitations. */
    struct wire_nd_emit rs = {.type = WIRE_ND_ROUTER_SOLICIT, .src_lladdr = MAC_PEER};
    const uint8_t all_r[6] = {0x33, 0x33, 0, 0, 0, 2};
    input(&R, frame, mk_nd(all_r, MAC_PEER, "fe80::2", "ff02::2", 255, &rs), 2 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ETH_NOT_OURS], 1); /* not in all-routers */
    input(&R, frame, mk_nd(MAC_US, MAC_PEER, "fe80::2", L6, 255, &rs), 2 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_RS_HOST], 1);
    CHECK_EQ(R.st->stats.nd.na_tx + R.st->stats.nd.ns_tx, 2); /* only the DAD probes */
    n = mk_ra(7200, 3600, 64);
    memcpy(frame, all, 6);
    input(&R, frame, n, 2 * SEC);
    CHECK_EQ(R.st->stats.nd.ra_rx, 1);
    CHECK_EQ(R.st->stats.nd.slaac_addrs, 1);
    struct tern_ip slaac = ip6_stable_addr(R.st, 0, A6("2001:db8:5::"), 0);
    CHECK(!ip_is_ours(R.st, slaac)); /* tentative */
    tern_stack_poll(R.st, 2 * SEC);
    tern_stack_poll(R.st, 3 * SEC + 1);
    CHECK(ip_is_ours(R.st, slaac));
    /* The router is the default route; the prefix is on link. */
    struct tern_ip src;
    uint32_t mtu;
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), &src, &mtu), 0);
    CHECK_EQ(mtu, 1400);
    CHECK(tern_ip_eq(src, A6(L6)) || tern_ip_eq(src, slaac));
    CHECK_EQ(ip_route_src(R.st, A6("2001:db8:5::9"), &src, NULL), 0);
    CHECK(tern_ip_eq(src, slaac)); /* rule 8: longest match */
    struct tern_ip nh;
    CHECK_EQ(ip6_route(R.st, A6(FAR6), &nh), 0);
    CHECK(tern_ip_eq(nh, A6("fe80::fe")));
    CHECK_EQ(ip6_route(R.st, A6("2001:db8:5::9"), &nh), 0);
    CHECK(tern_ip_eq(nh, A6("2001:db8:5::9")));
    /* Sent off link: to the router's MAC (learned from the RA), hop 33. */
    uint8_t d[4] = {0};
    struct ip_part part = {d, 4};
    struct ip_tx tx = {.dst = A6(FAR6), .proto = PROTO_FAKE};
    size_t before = R.cap.n;
    CHECK_EQ(ip_output(R.st, &tx, &part, 1), TERN_OK);
    CHECK_EQ(R.cap.n, before + 1);
    CHECK_MEM(R.cap.f[before].b, MAC_GW, 6);
    CHECK_EQ(R.cap.f[before].b[14 + 7], 33);
    /* 5.5.3 (e): a short valid lifetime does not cut a long one below 2 h. */
    input(&R, frame, mk_ra(60, 30, 64), 4 * SEC);
    tern_stack_poll(R.st, 100 * SEC);
    CHECK(ip_is_ours(R.st, slaac));
    /* A prefix of another length forms nothing (5.5.3 (d)); nor do a
     * multicast prefix and ::/64 (no unicast address in them). */
    input(&R, frame, mk_ra(7200, 3600, 48), 101 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_RA_IGNORED], 1);
    ra_prefix = "ff0e::";
    input(&R, frame, mk_ra(7200, 3600, 64), 101 * SEC);
    ra_prefix = "::";
    input(&R, frame, mk_ra(7200, 3600, 64), 101 * SEC);
    ra_prefix = "2001:db8:5::";
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_RA_IGNORED], 3);
    CHECK_EQ(R.st->stats.nd.slaac_addrs, 1);
    /* Router lifetime over: no default route. */
    tern_stack_poll(R.st, 2000 * SEC);
    CHECK_EQ(ip_route_src(R.st, A6(FAR6), NULL, NULL), -1);
    /* Valid lifetime over (2 h): the address goes. */
    tern_stack_poll(R.st, 7300 * SEC);
    CHECK(!ip_is_ours(R.st, slaac));
    rig_close(&R);
}

/* EVIDENCE: 4861-8.1-a, 4861-8.3-a */
static void
test_redirect(void)
{
    open_eth(0, true);
    const uint8_t all[6] = {0x33, 0x33, 0, 0, 0, 1};
    size_t n = mk_ra(7200, 3600, 64);
    memcpy(frame, all, 6);
    input(&R, frame, n, 1);
    struct wire_nd_emit rd = {.type = WIRE_ND_REDIRECT, .tgt_lladdr = MAC_OTHER};
    memcpy(rd.target.b, A6("fe80::77").b, 16);
    memcpy(rd.dest.b, A6(FAR6).b, 16);
    /* From a node that is not our router for FAR6: refused. */
    input(&R, frame, mk_nd(MAC_US, MAC_OTHER, "fe80::99", L6, 255, &rd), 2);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ND_REDIRECT_REFUSED], 1);
    struct tern_ip nh;
    CHECK_EQ(ip6_route(R.st, A6(FAR6), &nh), 0);
    CHECK(tern_ip_eq(nh, A6("fe80::fe")));
    /* From the router: the better first hop is taken. */
    input(&R, frame, mk_nd(MAC_US, MAC_GW, "fe80::fe", L6, 255, &rd), 3);
    CHECK_EQ(R.st->stats.nd.redirect_rx, 1);
    CHECK_EQ(ip6_route(R.st, A6(FAR6), &nh), 0);
    CHECK(tern_ip_eq(nh, A6("fe80::77")));
    const struct nd_entry *e = nd_find(R.st, 0, A6("fe80::77"));
    CHECK(e != NULL && memcmp(e->mac, MAC_OTHER, 6) == 0);
    rig_close(&R);
}

/* EVIDENCE: 2464-7-a */
static void
test_multicast_filter(void)
{
    /* A configuration without a neighbour cache is refused on Ethernet. */
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_LOCAL,
                                               .prefix_len = 24,
                                               .mtu = 1500,
                                               .transmit = cap_transmit,
                                               .transmit_ctx = &R.cap,
                                               .link = TERN_LINK_ETHERNET};
    memcpy(cfg.netifs[0].mac, MAC_US, 6);
    cfg.nd_entries = 0;
    struct tern_stack *st;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);

    open_eth(0, true);
    uint8_t p[200];
    uint8_t d[3] = {1, 2, 3};
    size_t n = mk_icmp6(p, A6(P6), A6("ff02::1"), 64, 128, 0, 1, d, 3);
    const uint8_t all[6] = {0x33, 0x33, 0, 0, 0, 1};
    const uint8_t other[6] = {0x33, 0x33, 0xff, 9, 9, 9};
    input(&R, frame, eth_wrap(other, MAC_PEER, p, n), 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ETH_NOT_OURS], 1);
    CHECK_EQ(R.st->stats.icmp6.rx, 0);
    input(&R, frame, eth_wrap(all, MAC_PEER, p, n), 2);
    CHECK_EQ(R.st->stats.icmp6.rx_echo_request, 1);
    rig_close(&R);
}

int
main(void)
{
    RUN(test_dad_then_rs);
    RUN(test_dad_conflict);
    RUN(test_resolution);
    RUN(test_solicitation_answered);
    RUN(test_router_advertisement);
    RUN(test_redirect);
    RUN(test_multicast_filter);
    return CHECK_DONE();
}
