/*
 * tests/unit/test_dhcp.c: the DHCPv4 client (src/svc/dhcp.c, tern/dhcp.h)
 * against scripted server replies, and what the stack gives it: an
 * interface without an address, tern_stack_set_addr / set_gateway at run
 * time, ARP probes (RFC 5227 2.1.1).
 *
 * The rig: one stack, one Ethernet interface with no address, MAC
 * 02:00:00:00:00:01, its frames captured. The "server" is this file: it
 * reads the client's frames and writes replies as Ethernet frames from
 * 10.0.0.1 (02:00:00:00:00:fe). Only the native API drives the client; all
 * times are virtual (ns from 0).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tern/dhcp.h"
#include "tern/rng.h"
#include "tern/stack.h"
#include "tern/udp.h"
#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/dhcp.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/udp.h"
#include "wire/wire_internal.h"

#define SEC 1000000000LL

#define A_SERVER  TERN_IPV4(10, 0, 0, 1)
#define A_SERVER2 TERN_IPV4(10, 0, 0, 2)
#define A_LEASE   TERN_IPV4(10, 0, 0, 50)
#define A_DNS1    TERN_IPV4(10, 0, 0, 53)
#define A_DNS2    TERN_IPV4(10, 0, 0, 54)
#define BCAST     0xffffffffu

static const uint8_t MAC_US[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_SERVER[6] = {0x02, 0, 0, 0, 0, 0xfe};
static const uint8_t MAC_OTHER[6] = {0x02, 0, 0, 0, 0, 0x77};
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- the rig -------------------------------------------------------------- */

struct frame {
    uint8_t b[1600];
    size_t len;
    int64_t at; /* virtual time it left */
};

struct rig {
    struct tern_stack *st;
    struct tern_dhcp *c;
    int64_t now;
    struct frame f[256];
    size_t n, seen; /* frames captured; frames the server has looked at */
    /* events */
    enum tern_dhcp_event ev[32];
    struct tern_dhcp_lease ev_lease[32];
    int64_t ev_at[32];
    size_t n_ev;
    size_t allocs; /* calls to the counting allocator that allocate */
};

static struct rig R;

static int
cap(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct rig *r = ctx;
    (void)netif;
    (void)next_hop;
    if (r->n == sizeof(r->f) / sizeof(r->f[0]) || len > sizeof(r->f[0].b)) {
        return -1;
    }
    memcpy(r->f[r->n].b, pkt, len);
    r->f[r->n].len = len;
    r->f[r->n].at = r->now;
    r->n++;
    return 0;
}

static void
on_event(void *ctx, struct tern_dhcp *c, enum tern_dhcp_event ev, const struct tern_dhcp_lease *l,
         int64_t now_ns)
{
    struct rig *r = ctx;
    (void)c;
    if (r->n_ev < sizeof(r->ev) / sizeof(r->ev[0])) {
        r->ev[r->n_ev] = ev;
        r->ev_lease[r->n_ev] = *l;
        r->ev_at[r->n_ev] = now_ns;
        r->n_ev++;
    }
}

static void *
counting_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct rig *r = ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    r->allocs++;
    return realloc(ptr, new_size);
}

/* Opens the rig; `edit` may change the client's configuration. */
static void
rig_open(void (*edit)(struct tern_dhcp_config *))
{
    memset(&R, 0, sizeof(R));
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 7;
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = 0, .mtu = 1500, .transmit = cap, .transmit_ctx = &R, .link = TERN_LINK_ETHERNET};
    memcpy(cfg.netifs[0].mac, MAC_US, 6);
    /* DHCP alone on the link: no IPv6 start-up traffic (DAD, router
     * solicitation) among the frames the tests read. */
    cfg.nd_dad_transmits = 0;
    cfg.nd_no_router_solicit = true;
    cfg.alloc = counting_alloc;
    cfg.alloc_ud = &R;
    CHECK_EQ(tern_stack_new(&cfg, 0, &R.st), TERN_OK);
    struct tern_dhcp_config dc;
    tern_dhcp_config_init(&dc);
    dc.fn = on_event;
    dc.ctx = &R;
    dc.alloc = counting_alloc;
    dc.alloc_ud = &R;
    if (edit != NULL) {
        edit(&dc);
    }
    CHECK_EQ(tern_dhcp_new(R.st, &dc, 0, &R.c), TERN_OK);
}

static void
rig_close(void)
{
    tern_dhcp_free(R.c);
    tern_stack_free(R.st);
}

/* Runs the stack and the client until virtual time t. */
static void
run_until(int64_t t)
{
    for (int guard = 0; guard < 100000; guard++) {
        int64_t a = tern_stack_next_deadline(R.st), b = tern_dhcp_next_deadline(R.c);
        int64_t next = a < b ? a : b;
        if (next > t) {
            break;
        }
        if (next > R.now) {
            R.now = next;
        }
        tern_stack_poll(R.st, R.now);
        tern_dhcp_poll(R.c, R.now);
    }
    R.now = t;
    tern_stack_poll(R.st, R.now);
    tern_dhcp_poll(R.c, R.now);
}

/* ---- reading what the client sent ----------------------------------------- */

/* One frame seen by the server. */
struct seen {
    bool is_arp, is_dhcp, is_frag;
    struct wire_arp arp;
    struct wire_dhcp m;
    uint8_t eth_dst[6];
    uint32_t ip_src, ip_dst;
    uint16_t sport, dport;
    int64_t at;
    uint8_t raw[1600]; /* the frame: m's pointers point here */
};

static struct seen S;

/* The next frame the client sent after the last one looked at; false when
 * there is none. Checks each is well formed. */
static bool
next_frame(void)
{
    if (R.seen >= R.n) {
        return false;
    }
    struct frame *f = &R.f[R.seen++];
    memset(&S, 0, sizeof(S));
    memcpy(S.raw, f->b, f->len);
    S.at = f->at;
    struct wire_eth e;
    CHECK_EQ(wire_eth_parse(S.raw, f->len, &e), WIRE_OK);
    memcpy(S.eth_dst, e.dst, 6);
    CHECK_MEM(e.src, MAC_US, 6);
    if (e.type == WIRE_ETHERTYPE_IPV6) {
        return next_frame(); /* the stack's own IPv6 (RS, DAD): not DHCP's */
    }
    if (e.type == WIRE_ETHERTYPE_ARP) {
        S.is_arp = true;
        CHECK_EQ(wire_arp_parse(e.payload, e.payload_len, &S.arp), WIRE_OK);
        return true;
    }
    CHECK_EQ(e.type, WIRE_ETHERTYPE_IPV4);
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(e.payload, e.payload_len, &h), WIRE_OK);
    CHECK_EQ(h.proto, WIRE_IPPROTO_UDP);
    S.ip_src = h.src;
    S.ip_dst = h.dst;
    if (h.mf || h.frag_off != 0) {
        S.is_frag = true;
        return true;
    }
    struct wire_udp u;
    CHECK_EQ(wire_udp_parse(h.payload, h.payload_len, h.src, h.dst, &u), WIRE_OK);
    S.sport = u.src_port;
    S.dport = u.dst_port;
    if (u.dst_port != 67) {
        return true; /* not for a DHCP server */
    }
    CHECK_EQ(u.src_port, 68);
    CHECK_EQ(wire_dhcp_parse(u.payload, u.payload_len, &S.m), WIRE_OK);
    CHECK_EQ(S.m.op, WIRE_DHCP_BOOTREQUEST);
    CHECK_EQ(S.m.htype, 1);
    CHECK_EQ(S.m.hlen, 6);
    CHECK_MEM(S.m.chaddr, MAC_US, 6);
    S.is_dhcp = true;
    return true;
}

/* The next DHCP message the client sent (ARP frames on the way skipped,
 * probes counted into *probes when not NULL); false when none. */
static bool
next_dhcp(unsigned *probes)
{
    while (next_frame()) {
        if (S.is_dhcp) {
            return true;
        }
        if (probes != NULL && S.arp.op == WIRE_ARP_OP_REQUEST && S.arp.spa == 0) {
            (*probes)++;
        }
    }
    return false;
}

/* Skips everything sent so far. */
static void
skip_sent(void)
{
    R.seen = R.n;
}

static bool
param_listed(const struct wire_dhcp *m, uint8_t code)
{
    return memchr(m->opts.param_list, code, m->opts.param_list_len) != NULL;
}

/* ---- writing what the server says ------------------------------------------- */

struct reply {
    uint8_t type; /* 0: no option 53 */
    uint8_t op;   /* 0: BOOTREPLY */
    uint32_t xid;
    uint32_t yiaddr;
    const uint8_t *chaddr;  /* NULL: ours */
    uint32_t server_id;     /* 0: none */
    uint32_t from;          /* IP source; 0: server_id */
    uint32_t to;            /* IP destination; 0: broadcast */
    uint16_t sport;         /* 0: 67 */
    uint32_t lease, t1, t2; /* lease 0: none; t1/t2 0: none */
    uint32_t mask;          /* 0: none */
    uint32_t routers[2];
    uint32_t dns[2];
    uint16_t mtu;
    const char *domain;
    size_t cut; /* nonzero: the DHCP message is cut to this length */
};

static uint8_t *
opt32(uint8_t *p, uint8_t code, uint32_t v)
{
    *p++ = code;
    *p++ = 4;
    wire_put32(p, v);
    return p + 4;
}

/* A reply like our server's, to the client's last message. */
static struct reply
offer_like(uint8_t type)
{
    return (struct reply){.type = type,
                          .xid = S.m.xid,
                          .yiaddr = A_LEASE,
                          .server_id = A_SERVER,
                          .lease = 200,
                          .t1 = 100,
                          .t2 = 175,
                          .mask = 0xffffff00u,
                          .routers = {A_SERVER},
                          .dns = {A_DNS1, A_DNS2},
                          .mtu = 1400,
                          .domain = "test.example"};
}

/* Builds the reply as an Ethernet frame and hands it to the stack. */
static void
send_reply(const struct reply *r)
{
    uint8_t d[600];
    memset(d, 0, sizeof(d));
    d[0] = r->op ? r->op : WIRE_DHCP_BOOTREPLY;
    d[1] = 1;
    d[2] = 6;
    wire_put32(d + 4, r->xid);
    wire_put32(d + 16, r->yiaddr);
    memcpy(d + 28, r->chaddr ? r->chaddr : MAC_US, 6);
    wire_put32(d + 236, WIRE_DHCP_COOKIE);
    uint8_t *p = d + 240;
    if (r->type) {
        *p++ = 53;
        *p++ = 1;
        *p++ = r->type;
    }
    if (r->server_id) {
        p = opt32(p, 54, r->server_id);
    }
    if (r->lease) {
        p = opt32(p, 51, r->lease);
    }
    if (r->t1) {
        p = opt32(p, 58, r->t1);
    }
    if (r->t2) {
        p = opt32(p, 59, r->t2);
    }
    if (r->mask) {
        p = opt32(p, 1, r->mask);
    }
    if (r->routers[0]) {
        p = opt32(p, 3, r->routers[0]);
    }
    if (r->dns[0]) {
        *p++ = 6;
        *p++ = 8;
        wire_put32(p, r->dns[0]);
        wire_put32(p + 4, r->dns[1]);
        p += 8;
    }
    if (r->mtu) {
        *p++ = 26;
        *p++ = 2;
        wire_put16(p, r->mtu);
        p += 2;
    }
    if (r->domain) {
        size_t n = strlen(r->domain);
        *p++ = 15;
        *p++ = (uint8_t)n;
        memcpy(p, r->domain, n);
        p += n;
    }
    *p++ = 255;
    size_t dlen = (size_t)(p - d) < 300 ? 300 : (size_t)(p - d);
    if (r->cut) {
        dlen = r->cut;
    }
    uint32_t src = r->from ? r->from : r->server_id ? r->server_id : A_SERVER;
    uint32_t dst = r->to ? r->to : BCAST;
    uint8_t ip[20 + 8 + sizeof(d)];
    wire_udp_emit_hdr(ip + 20, src, r->sport ? r->sport : 67, dst, 68, dlen,
                      wire_csum_add(0, d, dlen));
    memcpy(ip + 28, d, dlen);
    struct wire_ipv4 h = {.ttl = 64,
                          .proto = WIRE_IPPROTO_UDP,
                          .src = src,
                          .dst = dst,
                          .total_len = (uint16_t)(28 + dlen)};
    wire_ipv4_emit(&h, ip);
    struct wire_eth e = {.type = WIRE_ETHERTYPE_IPV4, .payload = ip, .payload_len = 28 + dlen};
    memcpy(e.dst, dst == BCAST ? MAC_BCAST : MAC_US, 6);
    memcpy(e.src, MAC_SERVER, 6);
    uint8_t frame[1600];
    wire_eth_emit(&e, frame);
    CHECK_EQ(tern_stack_input(R.st, 0, frame, wire_eth_emit_len(&e), R.now), TERN_OK);
    tern_dhcp_poll(R.c, R.now);
}

/* An ARP packet from (sha, spa) to us. */
static void
send_arp(uint16_t op, const uint8_t sha[6], uint32_t spa, uint32_t tpa)
{
    struct wire_arp a = {.op = op, .spa = spa, .tpa = tpa};
    memcpy(a.sha, sha, 6);
    memcpy(a.tha, op == WIRE_ARP_OP_REPLY ? MAC_US : MAC_BCAST, 6);
    uint8_t p[WIRE_ARP_LEN];
    wire_arp_emit(&a, p);
    struct wire_eth e = {.type = WIRE_ETHERTYPE_ARP, .payload = p, .payload_len = sizeof(p)};
    memcpy(e.dst, op == WIRE_ARP_OP_REPLY ? MAC_US : MAC_BCAST, 6);
    memcpy(e.src, sha, 6);
    uint8_t frame[64];
    wire_eth_emit(&e, frame);
    CHECK_EQ(tern_stack_input(R.st, 0, frame, wire_eth_emit_len(&e), R.now), TERN_OK);
    tern_dhcp_poll(R.c, R.now);
}

static uint64_t
drops(enum tern_dhcp_drop d)
{
    return tern_dhcp_stats(R.c)->drops[d];
}

static uint64_t
all_drops(void)
{
    uint64_t n = 0;
    for (int d = 0; d < TERN_DHCP_DROP_COUNT; d++) {
        n += drops((enum tern_dhcp_drop)d);
    }
    return n;
}

/* Start, DISCOVER, OFFER, REQUEST, ACK, probes, BOUND at 2 s: the client
 * holds A_LEASE from time 0 (lease 200 s, T1 100 s, T2 175 s). */
static void
get_lease(void)
{
    CHECK_EQ(tern_dhcp_start(R.c, R.now), TERN_OK);
    run_until(R.now);
    CHECK(next_dhcp(NULL));
    struct reply o = offer_like(WIRE_DHCP_OFFER);
    send_reply(&o);
    CHECK(next_dhcp(NULL));
    struct reply a = offer_like(WIRE_DHCP_ACK);
    send_reply(&a);
    run_until(R.now + 3 * SEC);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_BOUND);
    skip_sent();
}

/* ---- tests ------------------------------------------------------------------ */

/* RFC 2131 3.1 and 4.4.1: DISCOVER, OFFER, REQUEST, ACK, the ARP check,
 * BOUND with the address, prefix and gateway on the interface; T1, a
 * unicast renewal ACKed; stop: RELEASE and the address gone. */
static void
test_full_exchange(void)
{
    rig_open(NULL);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_STOPPED);
    CHECK_EQ(tern_dhcp_next_deadline(R.c), INT64_MAX);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_ERR_STATE);
    CHECK_EQ(tern_dhcp_next_deadline(R.c), 0);
    run_until(0);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_SELECTING);
    /* DISCOVER: from 0.0.0.0:68 to 255.255.255.255:67, Ethernet broadcast,
     * BROADCAST flag (4.1), ciaddr 0, no server id, the parameters asked. */
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DISCOVER);
    CHECK_MEM(S.eth_dst, MAC_BCAST, 6);
    CHECK_EQ(S.ip_src, 0);
    CHECK_EQ(S.ip_dst, BCAST);
    CHECK_EQ(S.m.flags, WIRE_DHCP_FLAG_BROADCAST);
    CHECK_EQ(S.m.ciaddr, 0);
    CHECK(!S.m.opts.has_server_id);
    const uint8_t want[] = {1, 3, 6, 26, 51, 58, 59};
    for (size_t i = 0; i < sizeof(want); i++) {
        CHECK(param_listed(&S.m, want[i]));
    }
    uint32_t xid = S.m.xid;
    CHECK(!next_dhcp(NULL));

    struct reply o = offer_like(WIRE_DHCP_OFFER);
    send_reply(&o);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_REQUESTING);
    /* REQUEST (SELECTING): broadcast, same xid, requested = yiaddr, the
     * server's id, ciaddr 0 (table 5). */
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_REQUEST);
    CHECK_EQ(S.m.xid, xid);
    CHECK_EQ(S.ip_src, 0);
    CHECK_EQ(S.ip_dst, BCAST);
    CHECK_EQ(S.m.flags, WIRE_DHCP_FLAG_BROADCAST);
    CHECK(S.m.opts.has_requested);
    CHECK_EQ(S.m.opts.requested, A_LEASE);
    CHECK_EQ(S.m.opts.server_id, A_SERVER);
    CHECK_EQ(S.m.ciaddr, 0);

    int64_t t_req = R.now;
    R.now += SEC / 2; /* the ACK half a second later */
    struct reply a = offer_like(WIRE_DHCP_ACK);
    send_reply(&a);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_PROBING);
    CHECK_EQ(tern_stack_addr(R.st, 0), 0); /* not before the check */
    run_until(R.now + 5 * SEC);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_BOUND);
    /* Two probes (RFC 5227 2.1.1: sender 0, target the address), then
     * the address announced with itself as sender (2.3). */
    unsigned probes = 0, announces = 0;
    while (next_frame()) {
        CHECK(S.is_arp);
        if (S.arp.spa == 0) {
            probes++;
            CHECK_EQ(S.arp.tpa, A_LEASE);
            CHECK_MEM(S.arp.sha, MAC_US, 6);
        } else {
            announces++;
            CHECK_EQ(S.arp.spa, A_LEASE);
            CHECK_EQ(S.arp.tpa, A_LEASE);
        }
    }
    CHECK_EQ(probes, 2);
    CHECK(announces >= 1);
    CHECK_EQ(tern_stack_addr(R.st, 0), A_LEASE);
    CHECK_EQ(tern_stack_prefix_len(R.st, 0), 24);
    CHECK_EQ(tern_stack_gateway(R.st), A_SERVER);
    CHECK_EQ(tern_stack_mtu(R.st, 0), 1400); /* RFC 2132 5.1 */
    struct tern_dhcp_lease l;
    CHECK_EQ(tern_dhcp_lease(R.c, &l), TERN_OK);
    CHECK_EQ(l.addr, A_LEASE);
    CHECK_EQ(l.prefix_len, 24);
    CHECK_EQ(l.server, A_SERVER);
    CHECK_EQ(l.n_routers, 1);
    CHECK_EQ(l.routers[0], A_SERVER);
    CHECK_EQ(l.n_dns, 2);
    CHECK_EQ(l.dns[0], A_DNS1);
    CHECK_EQ(l.dns[1], A_DNS2);
    CHECK_EQ(l.mtu, 1400);
    CHECK_STR(l.domain, "test.example");
    CHECK_EQ(l.lease_s, 200);
    CHECK_EQ(l.t1_s, 100);
    CHECK_EQ(l.t2_s, 175);
    /* 4.4.1: the lease counts from when the REQUEST was sent. */
    CHECK_EQ(l.start_ns, t_req);
    CHECK_EQ(l.t1_ns, t_req + 100 * SEC);
    CHECK_EQ(l.expiry_ns, t_req + 200 * SEC);
    CHECK_EQ(R.n_ev, 1);
    CHECK_EQ(R.ev[0], TERN_DHCP_EV_BOUND);
    CHECK_EQ(R.ev_lease[0].addr, A_LEASE);
    CHECK_EQ(tern_dhcp_next_deadline(R.c), l.t1_ns);

    /* T1: RENEWING, a REQUEST unicast to the server (ARP asks for it
     * first), ciaddr ours, no server id, no requested address, no
     * BROADCAST flag (4.4.5, table 5). */
    run_until(l.t1_ns - 1);
    CHECK(!next_frame());
    run_until(l.t1_ns);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_RENEWING);
    CHECK(next_frame());
    CHECK(S.is_arp);
    CHECK_EQ(S.arp.tpa, A_SERVER);
    send_arp(WIRE_ARP_OP_REPLY, MAC_SERVER, A_SERVER, A_LEASE);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_REQUEST);
    CHECK_MEM(S.eth_dst, MAC_SERVER, 6);
    CHECK_EQ(S.ip_src, A_LEASE);
    CHECK_EQ(S.ip_dst, A_SERVER);
    CHECK_EQ(S.m.ciaddr, A_LEASE);
    CHECK_EQ(S.m.flags, 0);
    CHECK(!S.m.opts.has_server_id);
    CHECK(!S.m.opts.has_requested);
    CHECK(S.m.xid != xid);
    int64_t t_renew = R.now;
    R.now += SEC;
    struct reply ra = offer_like(WIRE_DHCP_ACK);
    ra.to = A_LEASE;
    ra.yiaddr = A_LEASE;
    send_reply(&ra);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_BOUND);
    CHECK_EQ(R.n_ev, 2);
    CHECK_EQ(R.ev[1], TERN_DHCP_EV_RENEWED);
    CHECK_EQ(tern_dhcp_lease(R.c, &l), TERN_OK);
    CHECK_EQ(l.start_ns, t_renew);
    CHECK_EQ(l.expiry_ns, t_renew + 200 * SEC);
    CHECK_EQ(tern_dhcp_stats(R.c)->renewed, 1);

    /* Stop: RELEASE to the server (4.4.6, table 5), address removed. */
    tern_dhcp_stop(R.c, R.now);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_RELEASE);
    CHECK_EQ(S.ip_dst, A_SERVER);
    CHECK_EQ(S.ip_src, A_LEASE);
    CHECK_EQ(S.m.ciaddr, A_LEASE);
    CHECK_EQ(S.m.opts.server_id, A_SERVER);
    CHECK(!S.m.opts.has_requested);
    CHECK_EQ(S.m.flags, 0);
    CHECK_EQ(S.m.secs, 0);
    CHECK_EQ(tern_stack_addr(R.st, 0), 0);
    CHECK_EQ(tern_stack_gateway(R.st), 0);
    CHECK_EQ(tern_stack_mtu(R.st, 0), 1500);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_STOPPED);
    CHECK_EQ(R.ev[R.n_ev - 1], TERN_DHCP_EV_RELEASED);
    CHECK_EQ(tern_dhcp_lease(R.c, &l), TERN_ERR_AGAIN);
    const struct tern_dhcp_stats *s = tern_dhcp_stats(R.c);
    CHECK_EQ(s->tx_discover, 1);
    CHECK_EQ(s->tx_request, 2);
    CHECK_EQ(s->tx_release, 1);
    CHECK_EQ(s->rx_offer, 1);
    CHECK_EQ(s->rx_ack, 2);
    CHECK_EQ(s->retransmits, 0);
    CHECK_EQ(all_drops(), 0);
    /* The port is free again: the client can start over. */
    CHECK_EQ(tern_dhcp_start(R.c, R.now), TERN_OK);
    rig_close();
}

/* RFC 2131 4.1: retransmissions after 4, 8, 16, 32, 64, 64 s, each +-1 s
 * at random, the same xid, secs counting up; REQUESTING gives up after 4
 * REQUESTs (3.1 step 5) and starts again with a new xid. */
static void
test_retransmission(void)
{
    rig_open(NULL);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    CHECK(next_dhcp(NULL));
    uint32_t xid = S.m.xid;
    int64_t last = S.at;
    const int64_t nominal[] = {4, 8, 16, 32, 64, 64, 64};
    bool all_nominal = true;
    for (size_t i = 0; i < sizeof(nominal) / sizeof(nominal[0]); i++) {
        run_until(last + (nominal[i] + 1) * SEC);
        CHECK(next_dhcp(NULL));
        CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DISCOVER);
        CHECK_EQ(S.m.xid, xid);
        int64_t gap = S.at - last;
        CHECK(gap >= (nominal[i] - 1) * SEC && gap <= (nominal[i] + 1) * SEC);
        all_nominal = all_nominal && gap == nominal[i] * SEC;
        CHECK_EQ(S.m.secs, (uint16_t)(S.at / SEC));
        last = S.at;
        CHECK(!next_dhcp(NULL));
    }
    CHECK(!all_nominal); /* randomised */
    CHECK_EQ(tern_dhcp_stats(R.c)->tx_discover, 8);
    CHECK_EQ(tern_dhcp_stats(R.c)->retransmits, 7);

    /* An OFFER; then silence: REQUEST at 0, 4, 12, 28 s (+-1 each), and
     * 32 s after the last back to INIT: a new DISCOVER with a new xid. */
    struct reply o = offer_like(WIRE_DHCP_OFFER);
    send_reply(&o);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_REQUEST);
    uint16_t secs = S.m.secs;
    CHECK_EQ(secs, (uint16_t)(last / SEC)); /* 3.1 step 3: the DISCOVER's secs */
    last = S.at;
    for (int i = 0; i < 3; i++) {
        run_until(last + (nominal[i] + 1) * SEC);
        CHECK(next_dhcp(NULL));
        CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_REQUEST);
        CHECK_EQ(S.m.xid, xid);
        CHECK_EQ(S.m.secs, secs);
        int64_t gap = S.at - last;
        CHECK(gap >= (nominal[i] - 1) * SEC && gap <= (nominal[i] + 1) * SEC);
        last = S.at;
    }
    CHECK_EQ(R.n_ev, 0);
    run_until(last + 31 * SEC - 1);
    CHECK(!next_dhcp(NULL));
    run_until(last + 33 * SEC);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DISCOVER);
    CHECK(S.m.xid != xid);
    CHECK(S.at - last >= 31 * SEC); /* 4 + 8 + 16 + 32: about 60 s in all */
    CHECK_EQ(R.n_ev, 1);
    CHECK_EQ(R.ev[0], TERN_DHCP_EV_RESTART);
    CHECK_EQ(tern_dhcp_stats(R.c)->restarts, 1);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_SELECTING);
    rig_close();
}

/* RFC 2131 3.1 step 4 / 4.4.5: a NAK sends the client back to INIT (a new
 * DISCOVER at once); when it held a lease, the address goes. */
static void
test_nak(void)
{
    rig_open(NULL);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    CHECK(next_dhcp(NULL));
    struct reply o = offer_like(WIRE_DHCP_OFFER);
    send_reply(&o);
    CHECK(next_dhcp(NULL));
    uint32_t xid = S.m.xid;
    struct reply n = {.type = WIRE_DHCP_NAK, .xid = xid, .server_id = A_SERVER};
    send_reply(&n);
    CHECK_EQ(R.n_ev, 1);
    CHECK_EQ(R.ev[0], TERN_DHCP_EV_NAK);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_SELECTING);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DISCOVER);
    CHECK(S.m.xid != xid);
    CHECK_EQ(tern_dhcp_stats(R.c)->rx_nak, 1);
    rig_close();

    /* NAK to a renewal: the address is removed. */
    rig_open(NULL);
    get_lease();
    CHECK_EQ(tern_stack_addr(R.st, 0), A_LEASE);
    run_until(101 * SEC);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_RENEWING);
    send_arp(WIRE_ARP_OP_REPLY, MAC_SERVER, A_SERVER, A_LEASE);
    CHECK(next_dhcp(NULL));
    struct reply rn = {.type = WIRE_DHCP_NAK, .xid = S.m.xid, .server_id = A_SERVER, .to = A_LEASE};
    send_reply(&rn);
    CHECK_EQ(tern_stack_addr(R.st, 0), 0);
    CHECK_EQ(tern_stack_gateway(R.st), 0);
    CHECK_EQ(R.ev[R.n_ev - 1], TERN_DHCP_EV_NAK);
    CHECK_EQ(R.ev_lease[R.n_ev - 1].addr, A_LEASE);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_SELECTING);
    rig_close();
}

/* RFC 2131 4.4.5 without answers: T1 renews (unicast), retried after
 * max(half the time to T2, 60 s); T2 rebinds (broadcast); at expiry the
 * address goes and the client starts over. A rebinding ACK from another
 * server is taken (any server may answer). */
static void
test_renew_rebind_expire(void)
{
    rig_open(NULL);
    get_lease(); /* T1 100 s, T2 175 s, expiry 200 s, all from 0 */
    run_until(100 * SEC);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_RENEWING);
    send_arp(WIRE_ARP_OP_REPLY, MAC_SERVER, A_SERVER, A_LEASE);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.ip_dst, A_SERVER);
    CHECK_EQ(S.at, 100 * SEC);
    uint32_t xid = S.m.xid;
    /* (175 - 100) / 2 = 37.5 s, below the 60 s floor: at 160 s. */
    run_until(159 * SEC);
    CHECK(!next_dhcp(NULL));
    run_until(160 * SEC);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.at, 160 * SEC);
    CHECK_EQ(S.ip_dst, A_SERVER);
    CHECK_EQ(S.m.xid, xid);
    CHECK_EQ(S.m.ciaddr, A_LEASE);
    /* 60 s more would pass T2: the next try is T2 itself, broadcast. */
    run_until(175 * SEC);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_REBINDING);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.at, 175 * SEC);
    CHECK_EQ(S.ip_dst, BCAST);
    CHECK_EQ(S.ip_src, A_LEASE);
    CHECK_EQ(S.m.ciaddr, A_LEASE);
    CHECK(!S.m.opts.has_server_id);
    CHECK_EQ(S.m.flags, 0);
    CHECK_EQ(tern_stack_addr(R.st, 0), A_LEASE);
    /* Expiry at 200 s: the address goes, INIT, a new DISCOVER. */
    run_until(199 * SEC);
    CHECK_EQ(tern_stack_addr(R.st, 0), A_LEASE);
    run_until(200 * SEC);
    CHECK_EQ(tern_stack_addr(R.st, 0), 0);
    CHECK_EQ(R.ev[R.n_ev - 1], TERN_DHCP_EV_EXPIRED);
    CHECK_EQ(R.ev_at[R.n_ev - 1], 200 * SEC);
    CHECK_EQ(tern_dhcp_stats(R.c)->expired, 1);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DISCOVER);
    CHECK_EQ(S.ip_src, 0);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_SELECTING);
    rig_close();

    /* Rebinding answered by another server: taken, BOUND, its id kept. */
    rig_open(NULL);
    get_lease();
    run_until(175 * SEC);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_REBINDING);
    skip_sent();
    run_until(176 * SEC);
    struct reply a = offer_like(WIRE_DHCP_ACK);
    /* the last REQUEST's xid: read it back from the capture */
    R.seen = 0;
    uint32_t rx = 0;
    while (next_dhcp(NULL)) {
        rx = S.m.xid;
    }
    a.xid = rx;
    a.server_id = A_SERVER2;
    a.to = A_LEASE;
    send_reply(&a);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_BOUND);
    struct tern_dhcp_lease l;
    CHECK_EQ(tern_dhcp_lease(R.c, &l), TERN_OK);
    CHECK_EQ(l.server, A_SERVER2);
    CHECK_EQ(l.start_ns, 175 * SEC);
    CHECK_EQ(R.ev[R.n_ev - 1], TERN_DHCP_EV_RENEWED);
    rig_close();
}

/* Every reply that cannot be used is dropped with its reason and changes
 * nothing; the good one after them is taken. */
static void
test_bad_replies(void)
{
    rig_open(NULL);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    CHECK(next_dhcp(NULL));
    uint32_t xid = S.m.xid;
    static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 0x99};
    struct {
        enum tern_dhcp_drop why;
        struct reply r;
    } cases[12];
    for (size_t i = 0; i < 12; i++) {
        cases[i].r = offer_like(WIRE_DHCP_OFFER);
    }
    cases[0].why = TERN_DHCP_DROP_XID;
    cases[0].r.xid = xid + 1;
    cases[1].why = TERN_DHCP_DROP_CHADDR;
    cases[1].r.chaddr = other_mac;
    cases[2].why = TERN_DHCP_DROP_NO_SERVER_ID;
    cases[2].r.server_id = 0;
    cases[2].r.from = A_SERVER;
    cases[3].why = TERN_DHCP_DROP_TRUNCATED;
    cases[3].r.cut = 200; /* shorter than the fixed part */
    cases[4].why = TERN_DHCP_DROP_TRUNCATED;
    cases[4].r.cut = 250; /* options cut before End */
    cases[5].why = TERN_DHCP_DROP_NO_LEASE;
    cases[5].r.lease = 0;
    cases[6].why = TERN_DHCP_DROP_UNEXPECTED;
    cases[6].r.type = WIRE_DHCP_ACK; /* not an answer to a DISCOVER */
    cases[7].why = TERN_DHCP_DROP_NOT_REPLY;
    cases[7].r.op = WIRE_DHCP_BOOTREQUEST;
    cases[8].why = TERN_DHCP_DROP_SOURCE_PORT;
    cases[8].r.sport = 1067;
    cases[9].why = TERN_DHCP_DROP_BAD_MASK;
    cases[9].r.mask = 0xff00ff00u;
    cases[10].why = TERN_DHCP_DROP_BAD_ADDR;
    cases[10].r.yiaddr = TERN_IPV4(10, 0, 0, 255); /* the subnet's broadcast */
    cases[11].why = TERN_DHCP_DROP_BAD_ADDR;
    cases[11].r.yiaddr = 0;
    for (size_t i = 0; i < 12; i++) {
        uint64_t before = drops(cases[i].why), total = all_drops();
        send_reply(&cases[i].r);
        if (drops(cases[i].why) != before + 1 || all_drops() != total + 1) {
            fprintf(stderr, "case %zu: expected one drop %s\n", i,
                    tern_dhcp_drop_name(cases[i].why));
            CHECK(0);
        }
        CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_SELECTING);
        CHECK(!next_dhcp(NULL)); /* nothing sent in answer */
    }
    CHECK_EQ(tern_dhcp_stats(R.c)->rx, 12);
    CHECK_EQ(tern_dhcp_stats(R.c)->rx_offer, 0);
    CHECK_STR(tern_dhcp_drop_name(TERN_DHCP_DROP_XID), "XID");
    CHECK_STR(tern_dhcp_drop_name(TERN_DHCP_DROP_COUNT), "?");

    /* The good one, then the REQUESTING checks. */
    struct reply o = offer_like(WIRE_DHCP_OFFER);
    send_reply(&o);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_REQUESTING);
    CHECK(next_dhcp(NULL));
    struct reply a = offer_like(WIRE_DHCP_ACK);
    a.server_id = A_SERVER2; /* we asked A_SERVER */
    send_reply(&a);
    CHECK_EQ(drops(TERN_DHCP_DROP_WRONG_SERVER), 1);
    a = offer_like(WIRE_DHCP_ACK);
    a.yiaddr = TERN_IPV4(10, 0, 0, 51); /* not what we asked for */
    send_reply(&a);
    CHECK_EQ(drops(TERN_DHCP_DROP_BAD_ADDR), 3);
    a = offer_like(WIRE_DHCP_OFFER); /* a second offer */
    send_reply(&a);
    CHECK_EQ(drops(TERN_DHCP_DROP_UNEXPECTED), 2);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_REQUESTING);
    a = offer_like(WIRE_DHCP_ACK);
    send_reply(&a);
    run_until(R.now + 3 * SEC);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_BOUND);
    /* BOUND: nothing asked, an ACK is unexpected. */
    send_reply(&a);
    CHECK_EQ(drops(TERN_DHCP_DROP_UNEXPECTED), 3);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_BOUND);
    rig_close();
}

/* RFC 2131 3.1 step 5 / 4.4.1, RFC 5227 2.1.1: the ACKed address answers
 * the probe: DECLINE (broadcast, requested = the address, the server's
 * id, ciaddr 0), the address never configured, a new DISCOVER only after
 * ten seconds. Another host's probe for it counts as a conflict too. */
static void
test_decline(void)
{
    for (int variant = 0; variant < 2; variant++) {
        rig_open(NULL);
        CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
        run_until(0);
        CHECK(next_dhcp(NULL));
        struct reply o = offer_like(WIRE_DHCP_OFFER);
        send_reply(&o);
        CHECK(next_dhcp(NULL));
        uint32_t xid = S.m.xid;
        struct reply a = offer_like(WIRE_DHCP_ACK);
        send_reply(&a);
        CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_PROBING);
        unsigned probes = 0;
        CHECK(!next_dhcp(&probes));
        CHECK_EQ(probes, 1);
        R.now += SEC / 2;
        if (variant == 0) {
            /* The owner answers the probe (a reply to sender 0). */
            send_arp(WIRE_ARP_OP_REPLY, MAC_OTHER, A_LEASE, 0);
        } else {
            /* Another host probes for the same address. */
            send_arp(WIRE_ARP_OP_REQUEST, MAC_OTHER, 0, A_LEASE);
        }
        CHECK_EQ(tern_stack_stats(R.st)->arp.probes_in_use, 1);
        CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_INIT);
        CHECK(next_dhcp(NULL));
        CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DECLINE);
        CHECK_EQ(S.ip_dst, BCAST);
        CHECK_EQ(S.ip_src, 0);
        CHECK_EQ(S.m.opts.requested, A_LEASE);
        CHECK_EQ(S.m.opts.server_id, A_SERVER);
        CHECK_EQ(S.m.ciaddr, 0);
        CHECK_EQ(S.m.xid, xid);
        CHECK_EQ(tern_stack_addr(R.st, 0), 0);
        CHECK_EQ(R.n_ev, 1);
        CHECK_EQ(R.ev[0], TERN_DHCP_EV_DECLINED);
        CHECK_EQ(R.ev_lease[0].addr, A_LEASE);
        CHECK_EQ(tern_dhcp_stats(R.c)->declined, 1);
        int64_t t_decl = R.now;
        run_until(t_decl + 10 * SEC - 1);
        CHECK(!next_dhcp(NULL));
        run_until(t_decl + 10 * SEC);
        CHECK(next_dhcp(NULL));
        CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DISCOVER);
        CHECK_EQ(S.at, t_decl + 10 * SEC);
        rig_close();
    }
}

/* RFC 2131 3.2, 4.4.2: with a known address, INIT-REBOOT: a REQUEST for
 * it (broadcast, no server id, ciaddr 0); the ACK from any server binds. */
static void
with_requested(struct tern_dhcp_config *dc)
{
    dc->requested = A_LEASE;
    dc->probes = 0;
}

static void
test_init_reboot(void)
{
    rig_open(with_requested);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_INIT_REBOOT);
    run_until(0);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_REBOOTING);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_REQUEST);
    CHECK_EQ(S.m.opts.requested, A_LEASE);
    CHECK(!S.m.opts.has_server_id);
    CHECK_EQ(S.m.ciaddr, 0);
    CHECK_EQ(S.ip_dst, BCAST);
    CHECK_EQ(S.m.flags, WIRE_DHCP_FLAG_BROADCAST);
    struct reply a = offer_like(WIRE_DHCP_ACK);
    a.server_id = A_SERVER2;
    send_reply(&a);
    CHECK_EQ(tern_dhcp_state(R.c), TERN_DHCP_BOUND); /* no probes configured */
    CHECK_EQ(tern_stack_addr(R.st, 0), A_LEASE);
    rig_close();

    /* A NAK to it: INIT, DISCOVER. */
    rig_open(with_requested);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    CHECK(next_dhcp(NULL));
    struct reply n = {.type = WIRE_DHCP_NAK, .xid = S.m.xid, .server_id = A_SERVER};
    send_reply(&n);
    CHECK_EQ(R.ev[0], TERN_DHCP_EV_NAK);
    CHECK(next_dhcp(NULL));
    CHECK_EQ(S.m.opts.msg_type, WIRE_DHCP_DISCOVER);
    rig_close();
}

/* Memory: nothing is allocated after tern_dhcp_new, whatever happens. */
static void
test_no_allocation(void)
{
    rig_open(NULL);
    size_t after_new = R.allocs;
    get_lease();
    run_until(250 * SEC); /* renew, rebind, expire, start over */
    tern_dhcp_stop(R.c, R.now);
    CHECK_EQ(R.allocs, after_new);
    rig_close();
}

/* An infinite lease is never renewed nor lost; T1 and T2 past the lease
 * fall back to their defaults. */
static void
test_lease_times(void)
{
    rig_open(NULL);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    CHECK(next_dhcp(NULL));
    struct reply o = offer_like(WIRE_DHCP_OFFER);
    send_reply(&o);
    CHECK(next_dhcp(NULL));
    struct reply a = offer_like(WIRE_DHCP_ACK);
    a.lease = TERN_DHCP_INFINITE;
    send_reply(&a);
    run_until(3 * SEC);
    struct tern_dhcp_lease l;
    CHECK_EQ(tern_dhcp_lease(R.c, &l), TERN_OK);
    CHECK_EQ(l.expiry_ns, INT64_MAX);
    CHECK_EQ(tern_dhcp_next_deadline(R.c), INT64_MAX);
    rig_close();

    rig_open(NULL);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    CHECK(next_dhcp(NULL));
    send_reply(&o);
    CHECK(next_dhcp(NULL));
    a = offer_like(WIRE_DHCP_ACK);
    a.lease = 1000;
    a.t1 = 900;
    a.t2 = 2000;                              /* past the lease: 875 */
    a.mask = 0;                               /* no mask: the class's, /8 for 10/8 */
    a.routers[0] = TERN_IPV4(192, 168, 1, 1); /* not on the subnet: no gateway */
    send_reply(&a);
    run_until(3 * SEC);
    CHECK_EQ(tern_dhcp_lease(R.c, &l), TERN_OK);
    CHECK_EQ(l.t2_s, 875);
    CHECK_EQ(l.t1_s, 500); /* 900 > T2: the default */
    CHECK_EQ(l.prefix_len, 8);
    CHECK_EQ(tern_stack_prefix_len(R.st, 0), 8);
    CHECK_EQ(tern_stack_gateway(R.st), 0);
    CHECK_EQ(tern_stack_mtu(R.st, 0), 1400);
    rig_close();

    /* An MTU above the interface's is not taken. */
    rig_open(NULL);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    CHECK(next_dhcp(NULL));
    send_reply(&o);
    CHECK(next_dhcp(NULL));
    a = offer_like(WIRE_DHCP_ACK);
    a.mtu = 9000;
    send_reply(&a);
    run_until(3 * SEC);
    CHECK_EQ(tern_dhcp_lease(R.c, &l), TERN_OK);
    CHECK_EQ(l.mtu, 9000);
    CHECK_EQ(tern_stack_mtu(R.st, 0), 1500);
    rig_close();
}

/* Every datagram read is either used or dropped with a reason. */
static bool
all_accounted(void)
{
    const struct tern_dhcp_stats *d = tern_dhcp_stats(R.c);
    return d->rx == d->rx_offer + d->rx_ack + d->rx_nak + all_drops();
}

/* Replies with random fields changed, in every state the exchange passes
 * through: no crash (the sanitizer build watches memory), and each one
 * accounted for: used, or a counted drop. */
static void
test_random_replies(void)
{
    rig_open(NULL);
    struct tern_rng rng;
    tern_rng_seed(&rng, 99);
    CHECK_EQ(tern_dhcp_start(R.c, 0), TERN_OK);
    run_until(0);
    uint32_t xid = 0;
    unsigned states_seen = 0;
    for (int i = 0; i < 3000; i++) {
        /* The xid of the client's latest message; ARP for the server
         * answered; the capture emptied. */
        bool arp_asked = false;
        while (next_frame()) {
            if (S.is_dhcp) {
                xid = S.m.xid;
            } else if (S.is_arp && S.arp.op == WIRE_ARP_OP_REQUEST && S.arp.tpa == A_SERVER) {
                arp_asked = true;
            }
        }
        R.seen = R.n = 0;
        if (arp_asked) {
            send_arp(WIRE_ARP_OP_REPLY, MAC_SERVER, A_SERVER, tern_stack_addr(R.st, 0));
            continue;
        }
        enum tern_dhcp_state st = tern_dhcp_state(R.c);
        states_seen |= 1u << st;
        /* Half the time the right reply for the state, else one mangled. */
        struct reply r = offer_like(st == TERN_DHCP_SELECTING ? WIRE_DHCP_OFFER : WIRE_DHCP_ACK);
        r.xid = xid;
        if (st == TERN_DHCP_RENEWING || st == TERN_DHCP_REBINDING || st == TERN_DHCP_BOUND) {
            r.to = A_LEASE;
        }
        if (tern_rng_below(&rng, 2) == 0) {
            switch (tern_rng_below(&rng, 8)) {
            case 0:
                r.xid ^= 1u << tern_rng_below(&rng, 32);
                break;
            case 1:
                r.type = (uint8_t)tern_rng_below(&rng, 10);
                break;
            case 2:
                r.cut = 1 + tern_rng_below(&rng, 330);
                break;
            case 3:
                r.mask = (uint32_t)tern_rng_next(&rng);
                break;
            case 4:
                r.yiaddr = (uint32_t)tern_rng_next(&rng);
                break;
            case 5:
                r.server_id = tern_rng_below(&rng, 2) ? 0 : A_SERVER2;
                break;
            case 6:
                r.lease = (uint32_t)tern_rng_next(&rng);
                r.t1 = (uint32_t)tern_rng_next(&rng);
                r.t2 = (uint32_t)tern_rng_next(&rng);
                break;
            default:
                r.sport = (uint16_t)tern_rng_below(&rng, 200);
                break;
            }
        }
        send_reply(&r);
        if (!all_accounted()) {
            fprintf(stderr, "reply %d not accounted for\n", i);
            CHECK(0);
            break;
        }
        /* Time moves on: probes end, renewals and expiries come. A lease
         * bound runs to its T1, or, when that is far (random times), is
         * given back and asked for again. */
        int64_t next = tern_dhcp_next_deadline(R.c);
        if (tern_dhcp_state(R.c) == TERN_DHCP_BOUND && next - R.now > 1000 * SEC) {
            tern_dhcp_stop(R.c, R.now);
            CHECK_EQ(tern_dhcp_start(R.c, R.now), TERN_OK);
            next = R.now;
        }
        if (tern_dhcp_state(R.c) != TERN_DHCP_BOUND) {
            next = R.now + (int64_t)tern_rng_below(&rng, 3000) * SEC / 100;
        }
        run_until(next);
    }
    const struct tern_dhcp_stats *d = tern_dhcp_stats(R.c);
    CHECK(all_accounted());
    /* Seed 99 gives (measured) 115 leases bound, 826 renewals, 3 expiries,
     * 15 NAKs, about 1100 replies used and 970 dropped. */
    CHECK(d->bound >= 50);
    CHECK(d->renewed >= 100);
    CHECK(d->expired >= 1);
    CHECK(d->naks >= 1);
    CHECK(d->tx_release >= 10);
    CHECK(all_drops() >= 500);
    /* The replies met the client in each of these states. */
    const enum tern_dhcp_state want[] = {TERN_DHCP_SELECTING, TERN_DHCP_REQUESTING,
                                         TERN_DHCP_PROBING,   TERN_DHCP_BOUND,
                                         TERN_DHCP_RENEWING,  TERN_DHCP_REBINDING};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        CHECK(states_seen & (1u << want[k]));
    }
    rig_close();
}

/* ---- what the stack gives the client ----------------------------------------- */

/* An interface without an address: sends to the limited broadcast from
 * 0.0.0.0 and nothing else; routes nothing; answers no ARP. Run-time
 * address and gateway calls with their checks. */
static void
test_stack_support(void)
{
    rig_open(NULL);
    CHECK_EQ(tern_stack_addr(R.st, 0), 0);
    int id = tern_udp_open(R.st, 0);
    CHECK(id > 0);
    CHECK_EQ(tern_udp_setopt(R.st, id, TERN_UDP_OPT_BROADCAST, 1), TERN_OK);
    struct tern_udp_addr to = {.family = TERN_UDP_AF_INET, .port = 9, .v4 = A_SERVER};
    CHECK_EQ(tern_udp_sendto(R.st, id, "x", 1, &to, 0), TERN_ERR_NOROUTE);
    CHECK_EQ(tern_icmp_echo_send(R.st, A_SERVER, 1, 1, NULL, 0, 0), TERN_ERR_NOROUTE);
    CHECK(!next_frame());
    to.v4 = BCAST;
    CHECK_EQ(tern_udp_sendto(R.st, id, "x", 1, &to, 0), 1);
    CHECK(next_frame());
    CHECK(!S.is_arp);
    CHECK_EQ(S.ip_src, 0); /* parsed as far as IPv4 */
    skip_sent();
    /* No ARP answer for 0.0.0.0, no conflict claimed for a probe. */
    send_arp(WIRE_ARP_OP_REQUEST, MAC_OTHER, 0, 0);
    CHECK(!next_frame());
    CHECK_EQ(tern_stack_stats(R.st)->drops[TERN_DROP_ARP_CONFLICT], 0);

    /* set_addr / set_gateway. */
    CHECK_EQ(tern_stack_set_gateway(R.st, A_SERVER, 0), TERN_ERR_INVAL); /* no subnet yet */
    CHECK_EQ(tern_stack_set_addr(R.st, 1, A_LEASE, 24, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_addr(R.st, 0, A_LEASE, 33, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_addr(R.st, 0, TERN_IPV4(224, 0, 0, 1), 24, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_addr(R.st, 0, BCAST, 24, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_addr(R.st, 0, A_LEASE, 24, 0), TERN_OK);
    CHECK_EQ(tern_stack_set_gateway(R.st, TERN_IPV4(10, 0, 1, 1), 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_gateway(R.st, A_SERVER, 0), TERN_OK);
    CHECK_EQ(tern_stack_gateway(R.st), A_SERVER);
    /* The new address answers ARP and is announced. */
    run_until(0);
    unsigned announces = 0;
    while (next_frame()) {
        announces += S.is_arp && S.arp.spa == A_LEASE && S.arp.tpa == A_LEASE;
    }
    CHECK_EQ(announces, 1);
    send_arp(WIRE_ARP_OP_REQUEST, MAC_SERVER, A_SERVER, A_LEASE);
    CHECK(next_frame());
    CHECK(S.is_arp);
    CHECK_EQ(S.arp.op, WIRE_ARP_OP_REPLY);
    CHECK_EQ(S.arp.spa, A_LEASE);
    /* Unicast works from the new address. */
    to.v4 = A_SERVER;
    CHECK_EQ(tern_udp_sendto(R.st, id, "x", 1, &to, 0), 1);
    CHECK(next_frame());
    CHECK_EQ(S.ip_src, A_LEASE);
    /* The MTU: down to 68, up to the configured one, 0 restores it. */
    CHECK_EQ(tern_stack_set_mtu(R.st, 0, 67), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_mtu(R.st, 0, 1501), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_mtu(R.st, 1, 576), TERN_ERR_INVAL);
    CHECK_EQ(tern_stack_set_mtu(R.st, 0, 576), TERN_OK);
    CHECK_EQ(tern_stack_mtu(R.st, 0), 576);
    char big[1000] = {0};
    CHECK_EQ(tern_udp_sendto(R.st, id, big, sizeof(big), &to, 0), (int)sizeof(big));
    unsigned frags = 0;
    while (next_frame()) {
        CHECK(S.is_frag);
        frags++;
    }
    CHECK_EQ(frags, 2); /* 1028 bytes of datagram in two fragments of at most 576 */
    CHECK_EQ(tern_stack_set_mtu(R.st, 0, 0), TERN_OK);
    CHECK_EQ(tern_stack_mtu(R.st, 0), 1500);
    /* Taking the address away takes the gateway with it. */
    CHECK_EQ(tern_stack_set_addr(R.st, 0, 0, 24, 0), TERN_OK);
    CHECK_EQ(tern_stack_prefix_len(R.st, 0), 0);
    CHECK_EQ(tern_stack_gateway(R.st), 0);
    CHECK_EQ(tern_udp_sendto(R.st, id, "x", 1, &to, 0), TERN_ERR_NOROUTE);
    rig_close();

    /* A configuration with address 0 needs prefix 0. */
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.prefix_len = 24, .mtu = 1500, .transmit = cap};
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    cfg.netifs[0].prefix_len = 0;
    cfg.default_gateway = A_SERVER; /* no subnet to hold it */
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    cfg.default_gateway = 0;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_OK);
    /* Not Ethernet: no DHCP client, no probes. */
    struct tern_dhcp_config dc;
    tern_dhcp_config_init(&dc);
    struct tern_dhcp *c = NULL;
    CHECK_EQ(tern_dhcp_new(st, &dc, 0, &c), TERN_ERR_INVAL);
    CHECK(c == NULL);
    CHECK_EQ(tern_arp_probe(st, 0, A_LEASE, 0), TERN_ERR_INVAL);
    tern_stack_free(st);
}

/* Two interfaces, the second without an address: the limited broadcast
 * leaves by the one asking (from 0.0.0.0), not by the first. */
static void
test_broadcast_route(void)
{
    static struct rig raw, eth;
    memset(&raw, 0, sizeof(raw));
    memset(&eth, 0, sizeof(eth));
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 3;
    cfg.deterministic = true;
    cfg.n_netifs = 2;
    cfg.netifs[0] = (struct tern_netif_config){.addr = TERN_IPV4(192, 168, 1, 1),
                                               .prefix_len = 24,
                                               .mtu = 1500,
                                               .transmit = cap,
                                               .transmit_ctx = &raw};
    cfg.netifs[1] = (struct tern_netif_config){
        .mtu = 1500, .transmit = cap, .transmit_ctx = &eth, .link = TERN_LINK_ETHERNET};
    memcpy(cfg.netifs[1].mac, MAC_US, 6);
    cfg.arp_announcements = 0;
    cfg.nd_dad_transmits = 0; /* no IPv6 start-up traffic */
    cfg.nd_no_router_solicit = true;
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_OK);
    int id = tern_udp_open(st, 0);
    CHECK_EQ(tern_udp_setopt(st, id, TERN_UDP_OPT_BROADCAST, 1), TERN_OK);
    struct tern_udp_addr to = {.family = TERN_UDP_AF_INET, .port = 67, .v4 = BCAST};
    CHECK_EQ(tern_udp_sendto(st, id, "x", 1, &to, 0), 1);
    CHECK_EQ(raw.n, 0);
    CHECK_EQ(eth.n, 1);
    struct wire_eth e;
    struct wire_ipv4 h;
    CHECK_EQ(wire_eth_parse(eth.f[0].b, eth.f[0].len, &e), WIRE_OK);
    CHECK_MEM(e.dst, MAC_BCAST, 6);
    CHECK_EQ(wire_ipv4_parse(e.payload, e.payload_len, &h), WIRE_OK);
    CHECK_EQ(h.src, 0);
    /* Once it has an address, the first interface again. */
    CHECK_EQ(tern_stack_set_addr(st, 1, A_LEASE, 24, 0), TERN_OK);
    CHECK_EQ(tern_udp_sendto(st, id, "x", 1, &to, 0), 1);
    CHECK_EQ(raw.n, 1);
    tern_stack_free(st);
}

/* tern_arp_probe / tern_arp_probe_result (RFC 5227 2.1.1). */
static void
test_arp_probe(void)
{
    rig_open(NULL);
    CHECK_EQ(tern_arp_probe_result(R.st, 0, A_LEASE), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_arp_probe(R.st, 0, 0, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_arp_probe(R.st, 0, BCAST, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_arp_probe(R.st, 0, A_LEASE, 0), TERN_OK);
    CHECK(next_frame());
    CHECK(S.is_arp);
    CHECK_EQ(S.arp.op, WIRE_ARP_OP_REQUEST);
    CHECK_EQ(S.arp.spa, 0);
    CHECK_EQ(S.arp.tpa, A_LEASE);
    CHECK_MEM(S.eth_dst, MAC_BCAST, 6);
    CHECK_EQ(tern_stack_stats(R.st)->arp.probes_tx, 1);
    CHECK_EQ(tern_arp_probe_result(R.st, 0, A_LEASE), TERN_OK);
    /* Unrelated traffic is no conflict; our own frame echoed is none. */
    send_arp(WIRE_ARP_OP_REQUEST, MAC_OTHER, A_DNS1, A_SERVER);
    send_arp(WIRE_ARP_OP_REQUEST, MAC_US, 0, A_LEASE);
    CHECK_EQ(tern_arp_probe_result(R.st, 0, A_LEASE), TERN_OK);
    /* A gratuitous request from the owner is. */
    send_arp(WIRE_ARP_OP_REQUEST, MAC_OTHER, A_LEASE, A_LEASE);
    CHECK_EQ(tern_arp_probe_result(R.st, 0, A_LEASE), TERN_ERR_EXIST);
    CHECK_EQ(tern_arp_probe_result(R.st, 0, A_DNS1), TERN_ERR_NOTCONN);
    /* A probe for another address starts afresh; taking the address ends
     * the probe. */
    CHECK_EQ(tern_arp_probe(R.st, 0, A_DNS1, 0), TERN_OK);
    CHECK_EQ(tern_arp_probe_result(R.st, 0, A_DNS1), TERN_OK);
    CHECK_EQ(tern_stack_set_addr(R.st, 0, A_DNS1, 24, 0), TERN_OK);
    CHECK_EQ(tern_arp_probe_result(R.st, 0, A_DNS1), TERN_ERR_NOTCONN);
    rig_close();
}

int
main(void)
{
    RUN(test_full_exchange);
    RUN(test_retransmission);
    RUN(test_nak);
    RUN(test_renew_rebind_expire);
    RUN(test_bad_replies);
    RUN(test_decline);
    RUN(test_init_reboot);
    RUN(test_no_allocation);
    RUN(test_lease_times);
    RUN(test_random_replies);
    RUN(test_stack_support);
    RUN(test_broadcast_route);
    RUN(test_arp_probe);
    return CHECK_DONE();
}
