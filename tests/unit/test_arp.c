/*
 * tests/unit/test_arp.c: the link layer of an Ethernet interface: Ethernet
 * II in and out (RFC 894) and ARP (RFC 826, RFC 1122 2.3.2, RFC 5227 2.3):
 * requests and replies, the reception algorithm, the cache (update,
 * timeout, capacity), the queue of datagrams waiting for resolution,
 * retries and giving up, announcements at start, frames for other
 * addresses, padding, and a ping between two stacks over simulated
 * Ethernet links.
 *
 * The rig is tests/unit/ip_rig.h's host 10.0.0.1/24, its interface made
 * Ethernet with address 02:00:00:00:00:01. Its peers are 10.0.0.x at
 * 02:00:00:00:00:0x. All times are virtual.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ip_rig.h"
#include "tern/sim.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"

#define SEC 1000000000LL

static const uint8_t MAC_US[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* The hardware address of peer 10.0.0.x. */
static void
peer_mac(uint8_t out[6], uint32_t ip)
{
    const uint8_t m[6] = {0x02, 0, 0, 0, 0, (uint8_t)ip};
    memcpy(out, m, 6);
}

static struct rig R;
static unsigned edit_entries, edit_per_entry, edit_total, edit_announce;

static void
make_ethernet(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->netifs[0].link = TERN_LINK_ETHERNET;
    memcpy(cfg->netifs[0].mac, MAC_US, 6);
    cfg->arp_announcements = edit_announce;
    /* ARP alone: no IPv6 start-up traffic (DAD, router solicitation). */
    cfg->nd_dad_transmits = 0;
    cfg->nd_no_router_solicit = true;
    if (edit_entries) {
        cfg->arp_entries = edit_entries;
    }
    if (edit_per_entry) {
        cfg->arp_queue_per_entry = edit_per_entry;
    }
    if (edit_total) {
        cfg->arp_queue_total = edit_total;
    }
}

/* Opens the rig as an Ethernet host; no announcements unless asked. */
static void
eth_open(unsigned entries, unsigned per_entry, unsigned total, unsigned announce)
{
    edit_entries = entries;
    edit_per_entry = per_entry;
    edit_total = total;
    edit_announce = announce;
    rig_open(&R, 1500, make_ethernet);
}

/* Builds an ARP frame (padded to 60 bytes) from peer `spa` into f. */
static size_t
mk_arp_frame(uint8_t *f, const uint8_t eth_dst[6], uint16_t op, const uint8_t sha[6], uint32_t spa,
             const uint8_t tha[6], uint32_t tpa)
{
    struct wire_arp a = {.op = op, .spa = spa, .tpa = tpa};
    memcpy(a.sha, sha, 6);
    memcpy(a.tha, tha, 6);
    uint8_t p[WIRE_ARP_LEN];
    wire_arp_emit(&a, p);
    struct wire_eth h = {.type = WIRE_ETHERTYPE_ARP, .payload = p, .payload_len = sizeof(p)};
    memcpy(h.dst, eth_dst, 6);
    memcpy(h.src, sha, 6);
    wire_eth_emit(&h, f);
    return wire_eth_emit_len(&h);
}

/* Peer `ip` asks who has `target`. */
static void
peer_request(uint32_t ip, uint32_t target, int64_t now)
{
    uint8_t f[64], mac[6];
    const uint8_t zero[6] = {0};
    peer_mac(mac, ip);
    input(&R, f, mk_arp_frame(f, MAC_BCAST, WIRE_ARP_OP_REQUEST, mac, ip, zero, target), now);
}

/* Peer `ip` answers that it is at `mac`. */
static void
peer_reply_mac(uint32_t ip, const uint8_t mac[6], int64_t now)
{
    uint8_t f[64];
    input(&R, f, mk_arp_frame(f, MAC_US, WIRE_ARP_OP_REPLY, mac, ip, MAC_US, A_LOCAL), now);
}

static void
peer_reply(uint32_t ip, int64_t now)
{
    uint8_t mac[6];
    peer_mac(mac, ip);
    peer_reply_mac(ip, mac, now);
}

/* Frame i of the capture, parsed; checks it is well formed. */
static struct wire_eth
frame(size_t i)
{
    struct wire_eth h;
    memset(&h, 0, sizeof(h));
    CHECK(i < R.cap.n);
    if (i < R.cap.n) {
        CHECK_EQ(wire_eth_parse(R.cap.f[i].b, R.cap.f[i].len, &h), WIRE_OK);
        CHECK(R.cap.f[i].len >= WIRE_ETH_MIN_FRAME);
        CHECK_MEM(h.src, MAC_US, 6);
    }
    return h;
}

static struct wire_arp
arp_of(size_t i)
{
    struct wire_eth h = frame(i);
    struct wire_arp a;
    memset(&a, 0, sizeof(a));
    CHECK_EQ(h.type, WIRE_ETHERTYPE_ARP);
    if (h.type == WIRE_ETHERTYPE_ARP) {
        CHECK_EQ(wire_arp_parse(h.payload, h.payload_len, &a), WIRE_OK);
    }
    return a;
}

/* The echo sequence number of IPv4 frame i (an ICMP echo request). */
static int
echo_seq_of(size_t i)
{
    struct wire_eth h = frame(i);
    CHECK_EQ(h.type, WIRE_ETHERTYPE_IPV4);
    struct wire_ipv4 ip;
    if (wire_ipv4_parse(h.payload, h.payload_len, &ip) != WIRE_OK) {
        CHECK(0);
        return -1;
    }
    struct wire_icmp m;
    if (wire_icmp_parse(ip.payload, ip.payload_len, &m) != WIRE_OK) {
        CHECK(0);
        return -1;
    }
    return m.seq;
}

static int
ping(uint32_t dst, uint16_t seq, int64_t now)
{
    const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    return tern_icmp_echo_send(R.st, dst, 7, seq, data, sizeof(data), now);
}

static uint64_t
drops(enum tern_drop_reason r)
{
    return tern_stack_stats(R.st)->drops[r];
}

/* ---- announcements ------------------------------------------------------ */

/* EVIDENCE: RFC 5227 2.3 (announcement: sender = target = our address, sent
 * ANNOUNCE_NUM times ANNOUNCE_INTERVAL apart) */
static void
test_gratuitous_arp_on_start(void)
{
    eth_open(0, 0, 0, 2);
    CHECK_EQ(R.cap.n, 0);                        /* nothing inside tern_stack_new */
    CHECK_EQ(tern_stack_next_deadline(R.st), 0); /* but due at once */
    tern_stack_poll(R.st, 0);
    CHECK_EQ(R.cap.n, 1);
    struct wire_eth h = frame(0);
    CHECK_MEM(h.dst, MAC_BCAST, 6);
    CHECK_EQ(R.cap.f[0].len, 60); /* 14 + 28, padded */
    struct wire_arp a = arp_of(0);
    const uint8_t zero[6] = {0};
    CHECK_EQ(a.op, WIRE_ARP_OP_REQUEST);
    CHECK_MEM(a.sha, MAC_US, 6);
    CHECK_EQ(a.spa, A_LOCAL);
    CHECK_EQ(a.tpa, A_LOCAL);
    CHECK_MEM(a.tha, zero, 6);
    for (size_t i = 42; i < 60; i++) {
        CHECK_EQ(R.cap.f[0].b[i], 0);
    }
    CHECK_EQ(tern_stack_next_deadline(R.st), 2 * SEC);
    tern_stack_poll(R.st, 2 * SEC - 1);
    CHECK_EQ(R.cap.n, 1);
    tern_stack_poll(R.st, 2 * SEC);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(arp_of(1).tpa, A_LOCAL);
    tern_stack_poll(R.st, 100 * SEC);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(tern_stack_next_deadline(R.st), INT64_MAX);
    CHECK_EQ(tern_stack_stats(R.st)->arp.announces_tx, 2);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "RFC 5227 2.3"), 2);
    rig_close(&R);

    eth_open(0, 0, 0, 0); /* announcements off */
    tern_stack_poll(R.st, 10 * SEC);
    CHECK_EQ(R.cap.n, 0);
    rig_close(&R);
}

/* ---- the reception algorithm -------------------------------------------- */

/* EVIDENCE: RFC 826 Packet Reception (target: add the sender, answer a
 * request with a reply to the requester) */
static void
test_reply_to_request(void)
{
    eth_open(0, 0, 0, 0);
    peer_request(A_PEER, A_LOCAL, 1 * SEC);
    CHECK_EQ(R.cap.n, 1);
    struct wire_eth h = frame(0);
    uint8_t pm[6];
    peer_mac(pm, A_PEER);
    CHECK_MEM(h.dst, pm, 6);
    struct wire_arp a = arp_of(0);
    CHECK_EQ(a.op, WIRE_ARP_OP_REPLY);
    CHECK_MEM(a.sha, MAC_US, 6);
    CHECK_EQ(a.spa, A_LOCAL);
    CHECK_MEM(a.tha, pm, 6);
    CHECK_EQ(a.tpa, A_PEER);
    uint8_t got[6];
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, got), TERN_OK);
    CHECK_MEM(got, pm, 6);
    CHECK_EQ(tern_stack_stats(R.st)->arp.requests_rx, 1);
    CHECK_EQ(tern_stack_stats(R.st)->arp.replies_tx, 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "reply sent"), 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "we are the target, sender added"), 1);

    /* The peer is now reachable without a request: a ping goes straight out. */
    CHECK_EQ(ping(A_PEER, 1, 2 * SEC), TERN_OK);
    CHECK_EQ(R.cap.n, 2);
    CHECK_MEM(frame(1).dst, pm, 6);
    CHECK_EQ(echo_seq_of(1), 1);
    rig_close(&R);
}

/* EVIDENCE: RFC 826 Packet Reception (not the target and not in the table:
 * nothing merged, nothing sent) */
static void
test_request_for_someone_else(void)
{
    eth_open(0, 0, 0, 0);
    peer_request(A_PEER, TERN_IPV4(10, 0, 0, 3), 1 * SEC);
    CHECK_EQ(R.cap.n, 0);
    CHECK_EQ(drops(TERN_DROP_ARP_NOT_FOR_US), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ARP_NOT_FOR_US), 1);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_ERR_NOTCONN);
    rig_close(&R);
}

/* EVIDENCE: RFC 826 Packet Reception (merge flag: an entry already in the
 * table takes the new hardware address whoever the target is) */
static void
test_cache_update_by_merge(void)
{
    eth_open(0, 0, 0, 0);
    peer_request(A_PEER, A_LOCAL, 1 * SEC); /* adds the peer */
    /* The peer announces a new hardware address (RFC 5227 announcement:
     * target = sender, not us). */
    uint8_t f[64], nm[6] = {0x02, 0, 0, 0, 0x77, 0x02};
    const uint8_t zero[6] = {0};
    size_t n = mk_arp_frame(f, MAC_BCAST, WIRE_ARP_OP_REQUEST, nm, A_PEER, zero, A_PEER);
    input(&R, f, n, 2 * SEC);
    CHECK_EQ(R.cap.n, 1); /* only the first reply */
    uint8_t got[6];
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, got), TERN_OK);
    CHECK_MEM(got, nm, 6);
    CHECK_EQ(drops(TERN_DROP_ARP_NOT_FOR_US), 0);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "hardware address updated"), 1);
    /* A reply to someone else also updates it. */
    peer_reply(A_PEER, 3 * SEC);
    uint8_t pm[6];
    peer_mac(pm, A_PEER);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, got), TERN_OK);
    CHECK_MEM(got, pm, 6);
    rig_close(&R);
}

/* EVIDENCE: RFC 5227 2.4 (someone else claims our address) */
static void
test_bad_arp_packets(void)
{
    eth_open(0, 0, 0, 0);
    uint8_t f[64], pm[6];
    const uint8_t zero[6] = {0};
    peer_mac(pm, A_PEER);
    /* Sender claims our address. */
    input(&R, f, mk_arp_frame(f, MAC_BCAST, WIRE_ARP_OP_REQUEST, pm, A_LOCAL, zero, A_LOCAL), 1);
    CHECK_EQ(drops(TERN_DROP_ARP_CONFLICT), 1);
    /* Sender hardware address is a group address. */
    uint8_t grp[6] = {0x03, 0, 0, 0, 0, 2};
    size_t n = mk_arp_frame(f, MAC_BCAST, WIRE_ARP_OP_REQUEST, pm, A_PEER, zero, A_LOCAL);
    memcpy(f + 14 + 8, grp, 6);
    input(&R, f, n, 2);
    CHECK_EQ(drops(TERN_DROP_ARP_BAD_SENDER), 1);
    /* Malformed: each wire error has its own drop reason. */
    n = mk_arp_frame(f, MAC_BCAST, WIRE_ARP_OP_REQUEST, pm, A_PEER, zero, A_LOCAL);
    f[14 + 1] = 6;
    input(&R, f, n, 3);
    CHECK_EQ(drops(TERN_DROP_ARP_HTYPE), 1);
    f[14 + 1] = 1;
    f[14 + 7] = 9;
    input(&R, f, n, 4);
    CHECK_EQ(drops(TERN_DROP_ARP_OP), 1);
    f[14 + 7] = 1;
    f[14 + 4] = 8;
    input(&R, f, n, 5);
    CHECK_EQ(drops(TERN_DROP_ARP_ADDR_LEN), 1);
    f[14 + 4] = 6;
    f[14 + 2] = 0x86;
    input(&R, f, n, 6);
    CHECK_EQ(drops(TERN_DROP_ARP_PTYPE), 1);
    f[14 + 2] = 0x08;
    input(&R, f, 14 + 20, 7);
    CHECK_EQ(drops(TERN_DROP_ARP_TRUNCATED), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ARP_TRUNCATED), 1);
    CHECK_EQ(R.cap.n, 0);
    /* A well-formed one still works. */
    input(&R, f, n, 8);
    CHECK_EQ(R.cap.n, 1);
    rig_close(&R);
}

/* ---- resolution, queue, retries ------------------------------------------ */

/* EVIDENCE: RFC 1122 2.3.2.2 (save datagrams for an unresolved address and
 * send them once it resolves) */
static void
test_queue_while_resolving_then_flush_in_order(void)
{
    eth_open(0, 4, 16, 0);
    CHECK_EQ(ping(A_PEER, 1, 1 * SEC), TERN_OK);
    CHECK_EQ(R.cap.n, 1); /* the request only */
    struct wire_arp a = arp_of(0);
    CHECK_MEM(frame(0).dst, MAC_BCAST, 6);
    CHECK_EQ(a.op, WIRE_ARP_OP_REQUEST);
    CHECK_EQ(a.spa, A_LOCAL);
    CHECK_EQ(a.tpa, A_PEER);
    CHECK_EQ(R.cap.f[0].next_hop, 0);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_ERR_AGAIN);
    CHECK_EQ(ping(A_PEER, 2, 1 * SEC + 10), TERN_OK);
    CHECK_EQ(ping(A_PEER, 3, 1 * SEC + 20), TERN_OK);
    CHECK_EQ(R.cap.n, 1); /* no second request within the second */
    CHECK_EQ(tern_stack_stats(R.st)->arp.queued, 3);
    peer_reply(A_PEER, 1 * SEC + 500000);
    CHECK_EQ(R.cap.n, 4);
    uint8_t pm[6];
    peer_mac(pm, A_PEER);
    for (size_t i = 1; i < 4; i++) {
        CHECK_MEM(frame(i).dst, pm, 6);
        CHECK_EQ(echo_seq_of(i), (int)i);
        CHECK_EQ(R.cap.f[i].next_hop, A_PEER);
    }
    CHECK_EQ(tern_stack_stats(R.st)->arp.queue_flushed, 3);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "queued datagram sent"), 3);
    /* The retry timer is gone: nothing more at the retry times. */
    tern_stack_poll(R.st, 5 * SEC);
    CHECK_EQ(R.cap.n, 4);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 2.3.2.2 (keep at least the latest datagram) */
static void
test_queue_overflow(void)
{
    eth_open(0, 2, 3, 0);
    CHECK_EQ(ping(A_PEER, 1, 1), TERN_OK);
    CHECK_EQ(ping(A_PEER, 2, 2), TERN_OK);
    CHECK_EQ(ping(A_PEER, 3, 3), TERN_OK); /* pushes out seq 1 */
    CHECK_EQ(drops(TERN_DROP_ARP_QUEUE_FULL), 1);
    /* Another address takes the last pool buffer; a third finds none. */
    uint32_t p3 = TERN_IPV4(10, 0, 0, 3), p4 = TERN_IPV4(10, 0, 0, 4);
    CHECK_EQ(ping(p3, 10, 4), TERN_OK);
    CHECK_EQ(ping(p4, 20, 5), TERN_ERR_NOBUFS);
    CHECK_EQ(drops(TERN_DROP_ARP_QUEUE_FULL), 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ARP_QUEUE_FULL), 2);
    /* With the pool empty, p3's own oldest makes room for its latest. */
    CHECK_EQ(ping(p3, 11, 6), TERN_OK);
    CHECK_EQ(drops(TERN_DROP_ARP_QUEUE_FULL), 3);
    size_t before = R.cap.n; /* three requests */
    CHECK_EQ(before, 3);
    peer_reply(A_PEER, 10);
    CHECK_EQ(R.cap.n, before + 2);
    CHECK_EQ(echo_seq_of(before), 2);
    CHECK_EQ(echo_seq_of(before + 1), 3);
    peer_reply(p3, 11);
    CHECK_EQ(R.cap.n, before + 3);
    CHECK_EQ(echo_seq_of(before + 2), 11);
    peer_reply(p4, 12); /* resolves p4, nothing queued */
    CHECK_EQ(R.cap.n, before + 3);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 2.3.2.1 (no flooding: at most one request per second
 * per address; bounded retries, then the address is unreachable) */
static void
test_retries_and_give_up(void)
{
    eth_open(0, 0, 0, 0); /* 3 requests, 1 s apart, failed for 20 s */
    CHECK_EQ(ping(A_PEER, 1, 0), TERN_OK);
    CHECK_EQ(R.cap.n, 1);
    CHECK_EQ(tern_stack_next_deadline(R.st), 1 * SEC);
    tern_stack_poll(R.st, 1 * SEC - 1);
    CHECK_EQ(R.cap.n, 1);
    tern_stack_poll(R.st, 1 * SEC);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(arp_of(1).tpa, A_PEER);
    CHECK_MEM(frame(1).dst, MAC_BCAST, 6);
    tern_stack_poll(R.st, 2 * SEC);
    CHECK_EQ(R.cap.n, 3);
    CHECK_EQ(tern_stack_stats(R.st)->arp.requests_tx, 3);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "request sent again"), 2);
    tern_stack_poll(R.st, 3 * SEC); /* gives up */
    CHECK_EQ(R.cap.n, 3);
    CHECK_EQ(tern_stack_stats(R.st)->arp.failed, 1);
    CHECK_EQ(drops(TERN_DROP_ARP_RESOLVE_FAILED), 1); /* the queued ping */
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TIMER, "address unreachable"), 1);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_ERR_UNREACH);
    /* The caller sees it: sends fail at once, without a request. */
    CHECK_EQ(ping(A_PEER, 2, 4 * SEC), TERN_ERR_UNREACH);
    CHECK_EQ(drops(TERN_DROP_ARP_UNREACH), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ARP_UNREACH), 1);
    CHECK_EQ(R.cap.n, 3);
    /* After the failed period, the next send asks again. */
    tern_stack_poll(R.st, 23 * SEC);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_ERR_NOTCONN);
    CHECK_EQ(ping(A_PEER, 3, 24 * SEC), TERN_OK);
    CHECK_EQ(R.cap.n, 4);
    CHECK_EQ(arp_of(3).op, WIRE_ARP_OP_REQUEST);
    /* A late reply during the failed period would also have revived it. */
    peer_reply(A_PEER, 24 * SEC + 1);
    CHECK_EQ(R.cap.n, 5);
    CHECK_EQ(echo_seq_of(4), 3);
    rig_close(&R);
}

/* ---- cache timeout and capacity ------------------------------------------ */

/* EVIDENCE: RFC 1122 2.3.2.1 (flush out-of-date entries: timeout, unicast
 * poll of an entry in use) */
static void
test_cache_timeout(void)
{
    eth_open(0, 0, 0, 0);
    uint32_t p3 = TERN_IPV4(10, 0, 0, 3);
    peer_request(A_PEER, A_LOCAL, 0); /* unused after this */
    peer_request(p3, A_LOCAL, 0);     /* used below */
    CHECK_EQ(R.cap.n, 2);             /* the two replies */
    CHECK_EQ(ping(p3, 1, 10 * SEC), TERN_OK);
    CHECK_EQ(R.cap.n, 3);
    tern_stack_poll(R.st, 60 * SEC - 1);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_OK);
    tern_stack_poll(R.st, 60 * SEC);
    /* Unused: forgotten silently. In use: polled by unicast. */
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_stack_stats(R.st)->arp.expired, 1);
    CHECK_EQ(R.cap.n, 4);
    uint8_t m3[6];
    peer_mac(m3, p3);
    CHECK_MEM(frame(3).dst, m3, 6);
    CHECK_EQ(arp_of(3).tpa, p3);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "unicast poll"), 1);
    /* Still usable while polled. */
    CHECK_EQ(tern_arp_lookup(R.st, 0, p3, NULL), TERN_OK);
    CHECK_EQ(ping(p3, 2, 60 * SEC + 1), TERN_OK);
    CHECK_EQ(R.cap.n, 5);
    CHECK_EQ(echo_seq_of(4), 2);
    /* The answer makes it reachable for another minute. */
    peer_reply(p3, 60 * SEC + 2);
    tern_stack_poll(R.st, 119 * SEC);
    CHECK_EQ(R.cap.n, 5);
    CHECK_EQ(tern_arp_lookup(R.st, 0, p3, NULL), TERN_OK);
    /* Used again? no: after the next minute it goes silently. */
    tern_stack_poll(R.st, 121 * SEC);
    CHECK_EQ(tern_arp_lookup(R.st, 0, p3, NULL), TERN_ERR_NOTCONN);
    rig_close(&R);

    /* An entry in use whose polls go unanswered is removed. */
    eth_open(0, 0, 0, 0);
    peer_request(A_PEER, A_LOCAL, 0);
    CHECK_EQ(ping(A_PEER, 1, 1), TERN_OK);
    tern_stack_poll(R.st, 60 * SEC);
    tern_stack_poll(R.st, 61 * SEC);
    tern_stack_poll(R.st, 62 * SEC);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_OK);
    CHECK_EQ(R.cap.n, 2 + 3); /* reply, ping, three polls */
    tern_stack_poll(R.st, 63 * SEC);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_ERR_NOTCONN);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TIMER, "no answer to the polls"), 1);
    rig_close(&R);
}

/* The cache holds cfg.arp_entries addresses; a new one evicts the least
 * recently used, never one being resolved. */
static void
test_cache_capacity_eviction(void)
{
    eth_open(2, 0, 0, 0);
    uint32_t p3 = TERN_IPV4(10, 0, 0, 3), p4 = TERN_IPV4(10, 0, 0, 4);
    peer_request(A_PEER, A_LOCAL, 1 * SEC);
    peer_request(p3, A_LOCAL, 2 * SEC);
    CHECK_EQ(ping(A_PEER, 1, 3 * SEC), TERN_OK); /* A_PEER used last */
    peer_request(p4, A_LOCAL, 4 * SEC);
    CHECK_EQ(tern_stack_stats(R.st)->arp.evicted, 1);
    CHECK_EQ(tern_arp_lookup(R.st, 0, p3, NULL), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_OK);
    CHECK_EQ(tern_arp_lookup(R.st, 0, p4, NULL), TERN_OK);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "least recently used entry evicted"), 1);
    rig_close(&R);

    /* Every entry resolving: a third address takes the oldest one's place,
     * whose queued datagram is dropped (counted). */
    eth_open(2, 0, 0, 0);
    CHECK_EQ(ping(A_PEER, 1, 1), TERN_OK);
    CHECK_EQ(ping(p3, 2, 2), TERN_OK);
    CHECK_EQ(ping(p4, 3, 3), TERN_OK);
    CHECK_EQ(drops(TERN_DROP_ARP_CACHE_FULL), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ARP_CACHE_FULL), 1);
    CHECK_EQ(tern_stack_stats(R.st)->arp.evicted, 1);
    CHECK_EQ(R.cap.n, 3); /* three requests */
    CHECK_EQ(arp_of(2).tpa, p4);
    /* A_PEER's answer, addressed to us, is cached (RFC 826) in the place of
     * p3, the oldest resolving entry; its dropped echo is not sent. */
    peer_reply(A_PEER, 4);
    CHECK_EQ(R.cap.n, 3);
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_OK);
    CHECK_EQ(tern_arp_lookup(R.st, 0, p3, NULL), TERN_ERR_NOTCONN);
    CHECK_EQ(drops(TERN_DROP_ARP_CACHE_FULL), 2);
    /* p4's answer sends its queued echo request. */
    peer_reply(p4, 5);
    CHECK_EQ(R.cap.n, 4);
    CHECK_EQ(echo_seq_of(3), 3);
    rig_close(&R);
}

/* A flood of addresses that never resolve (a SYN flood's spoofed sources,
 * each owed a SYN,ACK) does not push a resolved neighbour in use out of
 * the cache: at most half of it resolves at once. */
static void
test_cache_unresolved_flood_keeps_neighbour(void)
{
    eth_open(4, 0, 0, 0);
    peer_request(A_PEER, A_LOCAL, 1 * SEC); /* A_PEER resolved */
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_OK);
    size_t n0 = R.cap.n;
    for (int i = 0; i < 40; i++) {
        int64_t now = 2 * SEC + i * 1000;
        CHECK_EQ(ping(TERN_IPV4(10, 0, 0, 100 + i), (uint16_t)i, now), TERN_OK);
        if (i % 10 == 0) { /* the neighbour keeps being used, less than the flood */
            CHECK_EQ(ping(A_PEER, 1000, now + 1), TERN_OK);
        }
    }
    CHECK_EQ(tern_arp_lookup(R.st, 0, A_PEER, NULL), TERN_OK);
    /* Every echo to A_PEER went out at once (no request for it). */
    size_t to_peer = 0, requests = 0;
    for (size_t i = n0; i < R.cap.n; i++) {
        struct wire_eth h = frame(i);
        uint8_t mac[6];
        peer_mac(mac, A_PEER);
        to_peer += h.type == WIRE_ETHERTYPE_IPV4 && memcmp(h.dst, mac, 6) == 0;
        requests += h.type == WIRE_ETHERTYPE_ARP;
    }
    CHECK_EQ(to_peer, 4);
    CHECK_EQ(requests, 40);
    /* Three free entries, then each new address evicted the oldest
     * resolving one and its datagram. */
    CHECK_EQ(tern_stack_stats(R.st)->arp.evicted, 37);
    CHECK_EQ(drops(TERN_DROP_ARP_CACHE_FULL), 37);
    rig_close(&R);
}

/* ---- Ethernet input and output -------------------------------------------- */

/* An echo request from the peer framed to `dst`, with the peer resolved
 * first so the reply can go out. Returns the frame length. */
static size_t
mk_echo_frame(uint8_t *f, const uint8_t dst[6], uint32_t ip_dst, size_t data_len)
{
    uint8_t icmp[64];
    uint8_t data[32];
    memset(data, 0xab, sizeof(data));
    struct wire_icmp m = {.type = WIRE_ICMP_ECHO_REQUEST,
                          .id = 5,
                          .seq = 9,
                          .payload = data,
                          .payload_len = data_len};
    wire_icmp_emit(&m, icmp);
    uint8_t dg[128];
    size_t n = mk_dgram(dg, A_PEER, ip_dst, 1, 77, false, 0, icmp, 8 + data_len);
    struct wire_eth h = {.type = WIRE_ETHERTYPE_IPV4, .payload = dg, .payload_len = n};
    memcpy(h.dst, dst, 6);
    peer_mac(h.src, A_PEER);
    wire_eth_emit(&h, f);
    return wire_eth_emit_len(&h);
}

/* EVIDENCE: RFC 894 (a host receives frames to its address and broadcasts) */
static void
test_frames_for_other_macs_dropped(void)
{
    eth_open(0, 0, 0, 0);
    peer_request(A_PEER, A_LOCAL, 0);
    CHECK_EQ(R.cap.n, 1);
    uint8_t f[128];
    const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x99};
    const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
    input(&R, f, mk_echo_frame(f, other, A_LOCAL, 8), 1);
    input(&R, f, mk_echo_frame(f, mcast, A_LOCAL, 8), 2);
    CHECK_EQ(drops(TERN_DROP_ETH_NOT_OURS), 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ETH_NOT_OURS), 2);
    CHECK_EQ(R.cap.n, 1);
    /* RFC 1122 3.3.6: a link broadcast carrying a unicast IP destination. */
    input(&R, f, mk_echo_frame(f, MAC_BCAST, A_LOCAL, 8), 3);
    CHECK_EQ(drops(TERN_DROP_ETH_BCAST_UNICAST), 1);
    CHECK_EQ(R.cap.n, 1);
    /* Other EtherTypes, 802.3 frames and runts. */
    size_t n = mk_echo_frame(f, MAC_US, A_LOCAL, 8);
    f[12] = 0x88; /* IEEE local experimental: nobody registered it */
    f[13] = 0xb5;
    input(&R, f, n, 4);
    CHECK_EQ(drops(TERN_DROP_ETH_TYPE), 1);
    f[12] = 0x00;
    f[13] = 0x2e;
    input(&R, f, n, 5);
    CHECK_EQ(drops(TERN_DROP_ETH_NOT_DIX), 1);
    input(&R, f, 13, 6);
    CHECK_EQ(drops(TERN_DROP_ETH_TRUNCATED), 1);
    CHECK_EQ(R.cap.n, 1);
    /* And the same frame to our address is answered. */
    input(&R, f, mk_echo_frame(f, MAC_US, A_LOCAL, 8), 7);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(tern_stack_stats(R.st)->icmp.rx_echo_request, 1);
    rig_close(&R);
}

/* A handler registered for an EtherType, counting what it is given. */
struct type_seen {
    unsigned n;
    int netif;
    size_t len;
};

static void
on_type(struct tern_stack *st, void *ctx, int netif, const uint8_t *pkt, size_t len)
{
    (void)st;
    (void)pkt;
    struct type_seen *s = ctx;
    s->n++;
    s->netif = netif;
    s->len = len;
}

/* Link reaches the layers above it only through its EtherType table: IPv4
 * is registered by the composition root, other types may register, and a
 * frame of a type nobody registered is a counted drop. */
static void
test_ethertype_table(void)
{
    eth_open(0, 0, 0, 0);
    struct type_seen seen = {0};
    /* IPv4 and IPv6 are taken (by tern_stack_new), ARP is link's own. */
    CHECK_EQ(link_register_ethertype(R.st, WIRE_ETHERTYPE_IPV4, on_type, &seen), TERN_ERR_EXIST);
    CHECK_EQ(link_register_ethertype(R.st, WIRE_ETHERTYPE_IPV6, on_type, &seen), TERN_ERR_EXIST);
    CHECK_EQ(link_register_ethertype(R.st, WIRE_ETHERTYPE_ARP, on_type, &seen), TERN_ERR_EXIST);
    CHECK_EQ(link_register_ethertype(R.st, 0x05ff, on_type, &seen), TERN_ERR_INVAL);
    CHECK_EQ(link_register_ethertype(R.st, 0x88b5, NULL, &seen), TERN_ERR_INVAL);
    uint8_t f[128];
    size_t n = mk_echo_frame(f, MAC_US, A_LOCAL, 8);
    f[12] = 0x88;
    f[13] = 0xb5;
    input(&R, f, n, 1);
    CHECK_EQ(drops(TERN_DROP_ETH_TYPE), 1);
    CHECK_EQ(seen.n, 0);
    CHECK_EQ(link_register_ethertype(R.st, 0x88b5, on_type, &seen), TERN_OK);
    CHECK_EQ(link_register_ethertype(R.st, 0x88b5, on_type, &seen), TERN_ERR_EXIST);
    CHECK_EQ(link_register_ethertype(R.st, 0x88b6, on_type, &seen), TERN_ERR_NOBUFS);
    uint64_t rx = tern_stack_stats(R.st)->eth.rx;
    input(&R, f, n, 2);
    CHECK_EQ(seen.n, 1);
    CHECK_EQ(seen.netif, 0);
    CHECK_EQ(seen.len, n - WIRE_ETH_HDR_LEN);
    CHECK_EQ(tern_stack_stats(R.st)->eth.rx, rx + 1);
    CHECK_EQ(drops(TERN_DROP_ETH_TYPE), 1);
    /* IPv4 still reaches ip through the table: the echo is answered. */
    peer_request(A_PEER, A_LOCAL, 3);
    size_t cap = R.cap.n;
    input(&R, f, mk_echo_frame(f, MAC_US, A_LOCAL, 8), 4);
    CHECK_EQ(R.cap.n, cap + 1);
    CHECK_EQ(tern_stack_stats(R.st)->icmp.rx_echo_request, 1);
    rig_close(&R);
}

/* EVIDENCE: RFC 894 (minimum frame size: short data padded, and the
 * receiver ignores the padding) */
static void
test_padding(void)
{
    eth_open(0, 0, 0, 0);
    peer_request(A_PEER, A_LOCAL, 0);
    uint8_t f[128];
    /* A 28-byte datagram arrives in a 60-byte frame: 18 bytes of padding
     * that IP must not take as data. */
    size_t n = mk_echo_frame(f, MAC_US, A_LOCAL, 0);
    CHECK_EQ(n, 60);
    f[59] = 0x55; /* padding need not be zero */
    input(&R, f, n, 1);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(R.cap.f[1].len, 60);
    struct wire_eth h = frame(1);
    struct wire_ipv4 ip;
    CHECK_EQ(wire_ipv4_parse(h.payload, h.payload_len, &ip), WIRE_OK);
    CHECK_EQ(ip.total_len, 28);
    for (size_t i = 14 + 28; i < 60; i++) {
        CHECK_EQ(R.cap.f[1].b[i], 0);
    }
    /* A datagram above the minimum is not padded. */
    input(&R, f, mk_echo_frame(f, MAC_US, A_LOCAL, 32), 2);
    CHECK_EQ(R.cap.n, 3);
    CHECK_EQ(R.cap.f[2].len, 14 + 20 + 8 + 32);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.3.6 (IP broadcast to the link broadcast address, no
 * ARP) */
static void
test_broadcast_output(void)
{
    eth_open(0, 0, 0, 0);
    CHECK_EQ(ping(A_BCAST, 1, 1), TERN_OK);
    CHECK_EQ(R.cap.n, 1);
    CHECK_MEM(frame(0).dst, MAC_BCAST, 6);
    CHECK_EQ(frame(0).type, WIRE_ETHERTYPE_IPV4);
    CHECK_EQ(tern_stack_stats(R.st)->arp.requests_tx, 0);
    rig_close(&R);
}

/* Off-link destinations resolve the gateway, not the destination. */
static void
test_gateway_resolved(void)
{
    eth_open(0, 0, 0, 0);
    CHECK_EQ(ping(A_FAR, 1, 1), TERN_OK);
    CHECK_EQ(arp_of(0).tpa, A_GW);
    peer_reply(A_GW, 2);
    CHECK_EQ(R.cap.n, 2);
    uint8_t gm[6];
    peer_mac(gm, A_GW);
    CHECK_MEM(frame(1).dst, gm, 6);
    rig_close(&R);
}

static void
test_config(void)
{
    struct tern_config cfg;
    struct tern_stack *st;
    struct capture cap;
    memset(&cap, 0, sizeof(cap));
    tern_config_init(&cfg);
    CHECK_EQ(cfg.arp_entries, 64);
    CHECK_EQ(cfg.arp_retry_ns, 1 * SEC);
    CHECK_EQ(cfg.arp_reachable_ns, 60 * SEC);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_LOCAL,
                                               .prefix_len = 24,
                                               .mtu = 1500,
                                               .transmit = cap_transmit,
                                               .transmit_ctx = &cap,
                                               .link = TERN_LINK_ETHERNET};
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL); /* zero MAC */
    cfg.netifs[0].mac[0] = 0x03;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL); /* group MAC */
    memcpy(cfg.netifs[0].mac, MAC_US, 6);
    cfg.arp_retries = 0;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    cfg.arp_retries = 3;
    cfg.arp_queue_per_entry = 0;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    cfg.arp_queue_per_entry = 1;
    cfg.netifs[0].link = (enum tern_link_type)7;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    cfg.netifs[0].link = TERN_LINK_ETHERNET;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_OK);
    uint8_t m[6];
    CHECK_EQ(tern_stack_mac(st, 0, m), TERN_OK);
    CHECK_MEM(m, MAC_US, 6);
    CHECK_EQ(tern_stack_mac(st, 1, m), TERN_ERR_INVAL);
    CHECK_EQ(tern_arp_lookup(st, 1, A_PEER, m), TERN_ERR_INVAL);
    tern_stack_free(st);
    /* A raw-IP interface ignores the ARP settings and has no MAC. */
    cfg.netifs[0].link = TERN_LINK_RAW_IP;
    cfg.arp_entries = 0;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_OK);
    CHECK_EQ(tern_stack_mac(st, 0, m), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_next_deadline(st), INT64_MAX); /* no announcement */
    tern_stack_free(st);
}

/* ---- end to end: ping over simulated Ethernet ------------------------------ */

struct e2e {
    int replies;
    uint16_t last_seq;
};

static void
on_reply(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    (void)now_ns;
    struct e2e *e = ctx;
    e->replies++;
    e->last_seq = r->seq;
}

static void
eth_host(struct tern_config *cfg, uint32_t addr, uint8_t last)
{
    tern_config_init(cfg);
    cfg->seed = last;
    cfg->deterministic = true; /* a test: the same ISNs every run */
    cfg->n_netifs = 1;
    cfg->netifs[0] = (struct tern_netif_config){
        .addr = addr, .prefix_len = 24, .mtu = 1500, .link = TERN_LINK_ETHERNET};
    const uint8_t m[6] = {0x02, 0, 0, 0, 0, last};
    memcpy(cfg->netifs[0].mac, m, 6);
    /* ARP alone: no IPv6 start-up traffic (DAD, router solicitation). */
    cfg->nd_dad_transmits = 0;
    cfg->nd_no_router_solicit = true;
}

/* EVIDENCE: RFC 826 (resolution end to end), RFC 894 */
static void
test_ping_between_two_stacks(void)
{
    struct tern_sim *sim;
    CHECK_EQ(tern_sim_new(1, &sim), TERN_OK);
    struct tern_config cfg;
    int a, b, link;
    eth_host(&cfg, A_LOCAL, 1);
    CHECK_EQ(tern_sim_add_host(sim, "a", &cfg, &a), TERN_OK);
    eth_host(&cfg, A_PEER, 2);
    CHECK_EQ(tern_sim_add_host(sim, "b", &cfg, &b), TERN_OK);
    struct tern_link_params p;
    tern_link_params_init(&p);
    p.delay_ns = 1000000; /* 1 ms each way */
    CHECK_EQ(tern_sim_link(sim, a, 0, b, 0, &p, &p, &link), TERN_OK);
    char path[] = "/tmp/tern_test_arp_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(tern_sim_capture(sim, link, path), TERN_OK);
    struct e2e e = {0};
    struct tern_stack *sa = tern_sim_host_stack(sim, a), *sb = tern_sim_host_stack(sim, b);
    tern_icmp_set_echo_handler(sa, on_reply, &e);
    /* Let the announcements go by (they teach nothing: neither host has
     * the other in its table, and neither is the target). */
    CHECK_EQ(tern_sim_run_until(sim, 5 * SEC), TERN_OK);
    CHECK_EQ(tern_stack_stats(sa)->arp.announces_tx, 2);
    CHECK_EQ(tern_stack_stats(sb)->drops[TERN_DROP_ARP_NOT_FOR_US], 2);
    const uint8_t data[4] = {1, 2, 3, 4};
    CHECK_EQ(tern_icmp_echo_send(sa, A_PEER, 1, 1, data, 4, tern_sim_now(sim)), TERN_OK);
    CHECK_EQ(tern_sim_run_until(sim, 6 * SEC), TERN_OK);
    CHECK_EQ(e.replies, 1);
    CHECK_EQ(e.last_seq, 1);
    /* a asked and queued; b learnt a from the request, so it needed no
     * request of its own for the reply. */
    CHECK_EQ(tern_stack_stats(sa)->arp.requests_tx, 1);
    CHECK_EQ(tern_stack_stats(sa)->arp.queue_flushed, 1);
    CHECK_EQ(tern_stack_stats(sb)->arp.requests_tx, 0);
    CHECK_EQ(tern_stack_stats(sb)->arp.replies_tx, 1);
    uint8_t m[6];
    CHECK_EQ(tern_arp_lookup(sa, 0, A_PEER, m), TERN_OK);
    CHECK_EQ(m[5], 2);
    CHECK_EQ(tern_arp_lookup(sb, 0, A_LOCAL, m), TERN_OK);
    CHECK_EQ(m[5], 1);
    /* A second ping needs no ARP and takes one round trip. */
    CHECK_EQ(tern_icmp_echo_send(sa, A_PEER, 1, 2, data, 4, tern_sim_now(sim)), TERN_OK);
    CHECK_EQ(tern_sim_run_until(sim, 6 * SEC + 2000000), TERN_OK);
    CHECK_EQ(e.replies, 2);
    CHECK_EQ(e.last_seq, 2);
    CHECK_EQ(tern_stack_stats(sa)->arp.requests_tx, 1);
    /* The only drops: b's announcements, for nobody a knows. */
    CHECK_EQ(tern_stats_drops_total(tern_stack_stats(sa)), 2);
    CHECK_EQ(tern_stack_stats(sa)->drops[TERN_DROP_ARP_NOT_FOR_US], 2);
    struct tern_sim_link_stats ls;
    CHECK_EQ(tern_sim_link_stats(sim, link, 0, &ls), TERN_OK);
    CHECK_EQ(ls.sent, 2 + 1 + 2); /* announcements, request, two echo requests */
    tern_sim_free(sim);
    /* The capture is an Ethernet one: link type 1, first record a
     * broadcast ARP announcement padded to 60 bytes. */
    uint8_t pc[24 + 16 + 60];
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (fp != NULL) {
        CHECK_EQ(fread(pc, 1, sizeof(pc), fp), sizeof(pc));
        fclose(fp);
        CHECK_EQ(pc[20] | pc[21] << 8, 1); /* LINKTYPE_ETHERNET, little endian */
        CHECK_EQ(pc[24 + 8] | pc[24 + 9] << 8, 60);
        CHECK_MEM(pc + 40, MAC_BCAST, 6);
        CHECK_EQ(pc[40 + 12], 0x08);
        CHECK_EQ(pc[40 + 13], 0x06);
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
}

int
main(void)
{
    RUN(test_gratuitous_arp_on_start);
    RUN(test_reply_to_request);
    RUN(test_request_for_someone_else);
    RUN(test_cache_update_by_merge);
    RUN(test_bad_arp_packets);
    RUN(test_queue_while_resolving_then_flush_in_order);
    RUN(test_queue_overflow);
    RUN(test_retries_and_give_up);
    RUN(test_cache_timeout);
    RUN(test_cache_capacity_eviction);
    RUN(test_cache_unresolved_flood_keeps_neighbour);
    RUN(test_frames_for_other_macs_dropped);
    RUN(test_padding);
    RUN(test_ethertype_table);
    RUN(test_broadcast_output);
    RUN(test_gateway_resolved);
    RUN(test_config);
    RUN(test_ping_between_two_stacks);
    return CHECK_DONE();
}
