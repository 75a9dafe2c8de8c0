/*
 * tests/unit/test_dns_resolver.c: the stub resolver (include/tern/dns.h,
 * src/svc/dns.c) on a tern stack, in virtual time.
 *
 * Host A (10.0.0.1) runs the resolver. Its transmit callback hands each
 * datagram to the test: UDP queries to port 53 are kept for the test to
 * answer by hand (any source address and port: spoofs included), TCP to
 * 10.0.0.53 goes to host B, a second stack with a listener on port 53 that
 * the test answers from. The servers are 10.0.0.53, .54 and .55.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tern/dns.h"
#include "tern/stack.h"
#include "tern/tcp.h"
#include "wire/checksum.h"
#include "wire/dns.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define ADDR_A  TERN_IPV4(10, 0, 0, 1)
#define S1      TERN_IPV4(10, 0, 0, 53)
#define S2      TERN_IPV4(10, 0, 0, 54)
#define S3      TERN_IPV4(10, 0, 0, 55)
#define SPOOFER TERN_IPV4(10, 0, 0, 66)
#define MS      1000000LL
#define SEC     1000000000LL

struct query {
    uint32_t dst;
    uint16_t sport;
    uint8_t msg[512];
    size_t len;
    int64_t t;
};

struct pkt {
    uint8_t b[2048];
    size_t len;
};

struct net {
    struct tern_stack *a, *b;
    struct tern_dns *d;
    int64_t now;
    struct query q[64];
    size_t nq;
    struct pkt to_b[32], to_a[32];
    size_t n_to_b, n_to_a;
    int listener;
    /* A callback's result. */
    int done_count;
    struct tern_dns_result last;
};

static struct net N;

static int
tx_a(void *ctx, int netif, const uint8_t *p, size_t len, uint32_t next_hop)
{
    (void)netif;
    (void)next_hop;
    struct net *n = ctx;
    struct wire_ipv4 ip;
    if (wire_ipv4_parse(p, len, &ip) != WIRE_OK) {
        return 0;
    }
    if (ip.proto == WIRE_IPPROTO_UDP) {
        struct wire_udp u;
        if (wire_udp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &u) == WIRE_OK &&
            u.dst_port == 53 && n->nq < 64 && u.payload_len <= 512) {
            struct query *q = &n->q[n->nq++];
            q->dst = ip.dst;
            q->sport = u.src_port;
            memcpy(q->msg, u.payload, u.payload_len);
            q->len = u.payload_len;
            q->t = n->now;
        }
        return 0;
    }
    if (ip.proto == WIRE_IPPROTO_TCP && ip.dst == S1 && n->n_to_b < 32) {
        memcpy(n->to_b[n->n_to_b].b, p, len);
        n->to_b[n->n_to_b++].len = len;
    }
    return 0;
}

static int
tx_b(void *ctx, int netif, const uint8_t *p, size_t len, uint32_t next_hop)
{
    (void)netif;
    (void)next_hop;
    struct net *n = ctx;
    if (n->n_to_a < 32) {
        memcpy(n->to_a[n->n_to_a].b, p, len);
        n->to_a[n->n_to_a++].len = len;
    }
    return 0;
}

static uint64_t rand_state;

static uint64_t
test_random(void *ctx)
{
    (void)ctx;
    rand_state = rand_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return rand_state >> 11 ^ rand_state << 29;
}

static void
net_open(unsigned cache_entries)
{
    memset(&N, 0, sizeof(N));
    rand_state = 42;
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = ADDR_A, .prefix_len = 24, .mtu = 1500, .transmit = tx_a, .transmit_ctx = &N};
    CHECK_EQ(tern_stack_new(&cfg, 0, &N.a), TERN_OK);
    cfg.seed = 2;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = S1, .prefix_len = 24, .mtu = 1500, .transmit = tx_b, .transmit_ctx = &N};
    CHECK_EQ(tern_stack_new(&cfg, 0, &N.b), TERN_OK);
    struct tern_tcp_open_args oa = {.passive = true, .local_port = 53};
    N.listener = tern_tcp_open(N.b, &oa, 0);
    CHECK(N.listener > 0);
    struct tern_dns_config dc;
    tern_dns_config_init(&dc);
    dc.servers[0] = S1;
    dc.servers[1] = S2;
    dc.servers[2] = S3;
    dc.n_servers = 3;
    dc.cache_entries = cache_entries;
    dc.random = test_random;
    CHECK_EQ(tern_dns_new(N.a, &dc, &N.d), TERN_OK);
}

static void
net_close(void)
{
    tern_dns_free(N.d, N.now);
    tern_stack_free(N.a);
    tern_stack_free(N.b);
}

/* Moves packets between A and B and polls the resolver until quiet. */
static void
pump(void)
{
    for (int round = 0; round < 100; round++) {
        bool moved = false;
        while (N.n_to_b > 0) {
            struct pkt p = N.to_b[0];
            memmove(N.to_b, N.to_b + 1, --N.n_to_b * sizeof(N.to_b[0]));
            tern_stack_input(N.b, 0, p.b, p.len, N.now);
            moved = true;
        }
        while (N.n_to_a > 0) {
            struct pkt p = N.to_a[0];
            memmove(N.to_a, N.to_a + 1, --N.n_to_a * sizeof(N.to_a[0]));
            tern_stack_input(N.a, 0, p.b, p.len, N.now);
            moved = true;
        }
        if (tern_dns_next_deadline(N.d) <= N.now) {
            tern_dns_poll(N.d, N.now);
            moved = true;
        }
        if (!moved) {
            return;
        }
    }
}

/* Advances virtual time to t, running both stacks' timers and the
 * resolver's on the way. */
static void
advance(int64_t t)
{
    while (N.now < t) {
        int64_t next = t;
        int64_t da = tern_stack_next_deadline(N.a), db = tern_stack_next_deadline(N.b),
                dd = tern_dns_next_deadline(N.d);
        next = da < next ? da : next;
        next = db < next ? db : next;
        next = dd < next ? dd : next;
        N.now = next > N.now ? next : N.now + 1;
        tern_stack_poll(N.a, N.now);
        tern_stack_poll(N.b, N.now);
        pump();
    }
    pump();
}

/* Injects a UDP datagram into A from src:sport to A:dport. */
static void
inject(uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *msg, size_t len)
{
    uint8_t pkt[2048];
    wire_udp_emit_hdr(pkt + WIRE_IPV4_HDR_LEN, src, sport, ADDR_A, dport, len,
                      wire_csum_add(0, msg, len));
    memcpy(pkt + WIRE_IPV4_HDR_LEN + WIRE_UDP_HDR_LEN, msg, len);
    struct wire_ipv4 h = {.ttl = 64,
                          .proto = WIRE_IPPROTO_UDP,
                          .src = src,
                          .dst = ADDR_A,
                          .total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + WIRE_UDP_HDR_LEN + len)};
    wire_ipv4_emit(&h, pkt);
    tern_stack_input(N.a, 0, pkt, WIRE_IPV4_HDR_LEN + WIRE_UDP_HDR_LEN + len, N.now);
    pump();
}

/* ---- building answers ---- */

struct ans {
    uint8_t b[4096];
    size_t len;
    uint16_t an, ns;
};

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

/* The answer's header and question: a copy of the query's question. */
static void
ans_start(struct ans *a, const struct query *q, uint8_t rcode, bool tc)
{
    struct wire_dns_msg m;
    CHECK_EQ(wire_dns_parse(q->msg, q->len, &m), WIRE_OK);
    memcpy(a->b, q->msg, m.rr_off);
    a->len = m.rr_off;
    a->b[2] = (uint8_t)(0x80 | 0x01 | (tc ? 0x02 : 0)); /* QR, RD, TC */
    a->b[3] = (uint8_t)(0x80 | rcode);                  /* RA */
    a->an = a->ns = 0;
}

/* A record whose owner is `name` (wire form; NULL: a pointer to the
 * question's name at offset 12). */
static void
ans_rr(struct ans *a, const uint8_t *name, size_t name_len, uint16_t type, uint32_t ttl,
       const uint8_t *rdata, size_t rdlen, bool authority)
{
    uint8_t *p = a->b + a->len;
    if (name == NULL) {
        p[0] = 0xc0;
        p[1] = 12;
        p += 2;
    } else {
        memcpy(p, name, name_len);
        p += name_len;
    }
    put16(p, type);
    put16(p + 2, WIRE_DNS_CLASS_IN);
    put32(p + 4, ttl);
    put16(p + 8, (uint16_t)rdlen);
    memcpy(p + 10, rdata, rdlen);
    p += 10 + rdlen;
    a->len = (size_t)(p - a->b);
    if (authority) {
        a->ns++;
    } else {
        a->an++;
    }
    put16(a->b + 6, a->an);
    put16(a->b + 8, a->ns);
}

static void
ans_a(struct ans *a, const uint8_t *name, size_t nl, uint32_t ttl, uint32_t addr)
{
    uint8_t r[4];
    put32(r, addr);
    ans_rr(a, name, nl, WIRE_DNS_TYPE_A, ttl, r, 4, false);
}

static void
ans_soa(struct ans *a, uint32_t ttl, uint32_t minimum)
{
    uint8_t r[22] = {0, 0}; /* root MNAME and RNAME, then five numbers */
    put32(r + 18, minimum);
    ans_rr(a, (const uint8_t *)"\4test", 6, WIRE_DNS_TYPE_SOA, ttl, r, sizeof(r), true);
}

static void
reply(const struct query *q, const struct ans *a)
{
    inject(q->dst, 53, q->sport, a->b, a->len);
}

static uint16_t
qid(const struct query *q)
{
    return (uint16_t)(q->msg[0] << 8 | q->msg[1]);
}

static void
on_done(void *ctx, struct tern_dns *d, int q, const struct tern_dns_result *r)
{
    (void)ctx;
    (void)d;
    (void)q;
    N.done_count++;
    N.last = *r;
}

/* ---- the tests ---- */

static void
test_answer_a(void)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    CHECK(q > 0);
    pump();
    CHECK_EQ(N.nq, 1);
    CHECK_EQ(N.q[0].dst, S1);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_PENDING);
    struct ans a;
    ans_start(&a, &N.q[0], 0, false);
    ans_a(&a, NULL, 0, 60, TERN_IPV4(192, 0, 2, 10));
    reply(&N.q[0], &a);
    struct tern_dns_result r;
    CHECK_EQ(tern_dns_result(N.d, q, &r), TERN_DNS_OK);
    CHECK_EQ(r.n, 1);
    CHECK(tern_ip_is4(r.addrs[0]));
    CHECK_EQ(tern_ip_v4(r.addrs[0]), TERN_IPV4(192, 0, 2, 10));
    CHECK_EQ(r.ttl_s, 60);
    CHECK_STR(r.canon, "web.test");
    CHECK(!r.from_cache);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_ERR_NOTCONN); /* taken */
    net_close();
}

/* RFC 5452: each query from its own random port with a random id. */
static void
test_random_ids_and_ports(void)
{
    net_open(0);
    for (int i = 0; i < 4; i++) {
        tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_A, on_done, NULL, N.now);
    }
    pump();
    CHECK_EQ(N.nq, 4);
    int same_port = 0, same_id = 0;
    for (size_t i = 1; i < N.nq; i++) {
        same_port += N.q[i].sport == N.q[0].sport || N.q[i].sport == N.q[i - 1].sport + 1;
        same_id += qid(&N.q[i]) == qid(&N.q[0]) || qid(&N.q[i]) == qid(&N.q[i - 1]) + 1;
        CHECK(N.q[i].sport >= 1024);
    }
    CHECK_EQ(same_port, 0);
    CHECK_EQ(same_id, 0);
    net_close();
}

/* Silence: every server in turn, round twice, the wait doubling. */
static void
test_retries_rotate(void)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    advance(30 * SEC);
    CHECK_EQ(N.nq, 6);
    const uint32_t want_dst[6] = {S1, S2, S3, S1, S2, S3};
    const int64_t want_t[6] = {0, 1 * SEC, 2 * SEC, 3 * SEC, 5 * SEC, 7 * SEC};
    for (size_t i = 0; i < 6 && i < N.nq; i++) {
        CHECK_EQ(N.q[i].dst, want_dst[i]);
        CHECK_EQ(N.q[i].t, want_t[i]);
        if (i > 0) {
            CHECK(qid(&N.q[i]) != qid(&N.q[i - 1])); /* a fresh id per query */
        }
    }
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_TIMEDOUT);
    CHECK_EQ(tern_dns_stats(N.d)->timeouts, 6);
    net_close();
}

/* SERVFAIL from one server: the next is asked at once. */
static void
test_servfail_next_server(void)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    struct ans a;
    ans_start(&a, &N.q[0], WIRE_DNS_RCODE_SERVFAIL, false);
    reply(&N.q[0], &a);
    CHECK_EQ(N.nq, 2);
    CHECK_EQ(N.q[1].dst, S2);
    ans_start(&a, &N.q[1], 0, false);
    ans_a(&a, NULL, 0, 60, TERN_IPV4(192, 0, 2, 11));
    reply(&N.q[1], &a);
    struct tern_dns_result r;
    CHECK_EQ(tern_dns_result(N.d, q, &r), TERN_DNS_OK);
    CHECK_EQ(tern_ip_v4(r.addrs[0]), TERN_IPV4(192, 0, 2, 11));
    CHECK_EQ(tern_dns_stats(N.d)->server_errors, 1);
    net_close();
}

/* Answers from elsewhere, with another id or question, or whose records
 * loop, are dropped and counted; the real one still counts. */
static void
test_spoofs_dropped(void)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    const struct query *qq = &N.q[0];
    const struct tern_dns_stats *st = tern_dns_stats(N.d);
    struct ans a;
    ans_start(&a, qq, 0, false);
    ans_a(&a, NULL, 0, 60, TERN_IPV4(6, 6, 6, 6));
    inject(SPOOFER, 53, qq->sport, a.b, a.len); /* wrong source address */
    CHECK_EQ(st->drop_source, 1);
    inject(S2, 53, qq->sport, a.b, a.len); /* another of our servers, not asked */
    CHECK_EQ(st->drop_source, 2);
    inject(S1, 5353, qq->sport, a.b, a.len); /* wrong source port */
    CHECK_EQ(st->drop_source, 3);
    struct ans w = a;
    w.b[1] ^= 1; /* wrong id */
    reply(qq, &w);
    CHECK_EQ(st->drop_id, 1);
    w = a;
    w.b[13] = 'x'; /* "\3xeb\4test": another question */
    reply(qq, &w);
    CHECK_EQ(st->drop_question, 1);
    w = a;
    w.b[w.len - 16] = 0xc0; /* the record's owner points at itself: a loop */
    w.b[w.len - 15] = (uint8_t)(w.len - 16);
    reply(qq, &w);
    CHECK_EQ(st->drop_malformed, 1);
    /* And a pointer forwards (the walk could come back: refused too). */
    w = a;
    size_t off = w.len - 16;
    w.b[off] = 0xc0;
    w.b[off + 1] = (uint8_t)(off + 2);
    reply(qq, &w);
    CHECK_EQ(st->drop_malformed, 2);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_PENDING);
    CHECK_EQ(N.nq, 1); /* nothing made it move on */
    ans_start(&a, qq, 0, false);
    ans_a(&a, NULL, 0, 60, TERN_IPV4(192, 0, 2, 10));
    reply(qq, &a);
    struct tern_dns_result r;
    CHECK_EQ(tern_dns_result(N.d, q, &r), TERN_DNS_OK);
    CHECK_EQ(tern_ip_v4(r.addrs[0]), TERN_IPV4(192, 0, 2, 10));
    CHECK_EQ(st->answers, 1);
    net_close();
}

/* www.test CNAME web.test, web.test A: followed; a CNAME circle is not. */
static void
test_cname(void)
{
    net_open(8);
    static const uint8_t web[] = "\3web\4test";
    static const uint8_t www[] = "\3www\4test";
    int q = tern_dns_lookup(N.d, "www.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    struct ans a;
    ans_start(&a, &N.q[0], 0, false);
    ans_a(&a, web, sizeof(web), 30, TERN_IPV4(192, 0, 2, 20)); /* data first: order is free */
    ans_a(&a, (const uint8_t *)"\5other\4test", 12, 30, TERN_IPV4(6, 6, 6, 6));
    ans_rr(&a, NULL, 0, WIRE_DNS_TYPE_CNAME, 100, web, sizeof(web), false);
    reply(&N.q[0], &a);
    struct tern_dns_result r;
    CHECK_EQ(tern_dns_result(N.d, q, &r), TERN_DNS_OK);
    CHECK_EQ(r.n, 1);
    CHECK_EQ(tern_ip_v4(r.addrs[0]), TERN_IPV4(192, 0, 2, 20));
    CHECK_STR(r.canon, "web.test");
    CHECK_EQ(r.ttl_s, 30);
    /* A circle: www -> web -> www. The server is no use: the next one. */
    q = tern_dns_lookup(N.d, "www.test", TERN_DNS_WANT_AAAA, NULL, NULL, N.now);
    pump();
    CHECK_EQ(N.nq, 2);
    ans_start(&a, &N.q[1], 0, false);
    ans_rr(&a, NULL, 0, WIRE_DNS_TYPE_CNAME, 100, web, sizeof(web), false);
    ans_rr(&a, web, sizeof(web), WIRE_DNS_TYPE_CNAME, 100, www, sizeof(www), false);
    reply(&N.q[1], &a);
    CHECK_EQ(N.nq, 3);
    CHECK_EQ(N.q[2].dst, S2);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_PENDING);
    net_close();
}

/* c0.test -> c1.test -> ... -> cL.test, then cL's A: at most
 * TERN_DNS_MAX_CNAME links are followed. */
static int
cname_chain(unsigned links)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "c0.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    struct ans a;
    ans_start(&a, &N.q[0], 0, false);
    for (unsigned i = 0; i < links; i++) {
        uint8_t from[] = "\2c0\4test", to[] = "\2c0\4test";
        from[2] = (uint8_t)('0' + i);
        to[2] = (uint8_t)('0' + i + 1);
        ans_rr(&a, from, sizeof(from), WIRE_DNS_TYPE_CNAME, 60, to, sizeof(to), false);
    }
    uint8_t last[] = "\2c0\4test";
    last[2] = (uint8_t)('0' + links);
    ans_a(&a, last, sizeof(last), 60, TERN_IPV4(192, 0, 2, 30));
    reply(&N.q[0], &a);
    int st = tern_dns_result(N.d, q, NULL);
    if (st == TERN_DNS_ERR_PENDING) {
        CHECK_EQ(N.nq, 2); /* refused: the next server was asked */
    }
    net_close();
    return st;
}

static void
test_cname_bound(void)
{
    CHECK_EQ(cname_chain(TERN_DNS_MAX_CNAME), TERN_DNS_OK);
    CHECK_EQ(cname_chain(TERN_DNS_MAX_CNAME + 1), TERN_DNS_ERR_PENDING);
}

/* NXDOMAIN and NODATA are told apart and cached for the SOA's negative
 * TTL, bounded by negative_ttl_max_ns (30 s). */
static void
test_nxdomain_nodata(void)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "nope.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    struct ans a;
    ans_start(&a, &N.q[0], WIRE_DNS_RCODE_NXDOMAIN, false);
    ans_soa(&a, 3600, 600);
    reply(&N.q[0], &a);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_NXDOMAIN);
    q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_AAAA, NULL, NULL, N.now);
    pump();
    ans_start(&a, &N.q[1], 0, false);
    ans_a(&a, NULL, 0, 60, TERN_IPV4(192, 0, 2, 10)); /* an A answering AAAA: not data */
    ans_soa(&a, 5, 600);
    reply(&N.q[1], &a);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_NODATA);
    /* Both cached: no query for 5 s (NODATA: min(5, 600)), 30 s (NXDOMAIN). */
    advance(4 * SEC);
    q = tern_dns_lookup(N.d, "nope.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    struct tern_dns_result r;
    CHECK_EQ(tern_dns_result(N.d, q, &r), TERN_DNS_ERR_NXDOMAIN);
    CHECK(r.from_cache);
    q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_AAAA, NULL, NULL, N.now);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_NODATA);
    CHECK_EQ(N.nq, 2);
    advance(6 * SEC);
    q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_AAAA, NULL, NULL, N.now);
    pump();
    CHECK_EQ(N.nq, 3); /* NODATA expired */
    tern_dns_cancel(N.d, q, N.now);
    advance(29 * SEC);
    q = tern_dns_lookup(N.d, "nope.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_NXDOMAIN);
    advance(31 * SEC);
    q = tern_dns_lookup(N.d, "nope.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    CHECK_EQ(N.nq, 4); /* NXDOMAIN kept 30 s, not the SOA's 600 */
    net_close();
}

/* A positive answer lives for its TTL, then is asked again. */
static void
test_ttl_expiry(void)
{
    net_open(8);
    tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_A, on_done, NULL, N.now);
    pump();
    struct ans a;
    ans_start(&a, &N.q[0], 0, false);
    ans_a(&a, NULL, 0, 5, TERN_IPV4(192, 0, 2, 10));
    reply(&N.q[0], &a);
    CHECK_EQ(N.done_count, 1);
    advance(4 * SEC);
    tern_dns_lookup(N.d, "WEB.test.", TERN_DNS_WANT_A, on_done, NULL, N.now); /* case, dot */
    CHECK_EQ(N.done_count, 2); /* at once, from the cache */
    CHECK(N.last.from_cache);
    CHECK_EQ(N.last.ttl_s, 1); /* what is left of the 5 s */
    CHECK_EQ(tern_ip_v4(N.last.addrs[0]), TERN_IPV4(192, 0, 2, 10));
    CHECK_EQ(N.nq, 1);
    advance(5 * SEC);
    tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_A, on_done, NULL, N.now);
    pump();
    CHECK_EQ(N.done_count, 2);
    CHECK_EQ(N.nq, 2); /* expired: asked again */
    CHECK_EQ(tern_dns_stats(N.d)->cache_hits, 1);
    net_close();
}

/* Two entries: a third answer evicts the one that would expire first. */
static void
test_cache_bound(void)
{
    net_open(2);
    const char *names[3] = {"a.test", "b.test", "c.test"};
    const uint32_t ttl[3] = {100, 50, 200};
    for (int i = 0; i < 3; i++) {
        int q = tern_dns_lookup(N.d, names[i], TERN_DNS_WANT_A, NULL, NULL, N.now);
        pump();
        struct ans a;
        ans_start(&a, &N.q[N.nq - 1], 0, false);
        ans_a(&a, NULL, 0, ttl[i], TERN_IPV4(192, 0, 2, (unsigned)i));
        reply(&N.q[N.nq - 1], &a);
        CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_OK);
    }
    CHECK_EQ(tern_dns_stats(N.d)->cache_evictions, 1);
    size_t sent = N.nq;
    int q = tern_dns_lookup(N.d, "a.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_OK);
    q = tern_dns_lookup(N.d, "c.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_OK);
    CHECK_EQ(N.nq, sent);
    q = tern_dns_lookup(N.d, "b.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    CHECK_EQ(N.nq, sent + 1); /* b (TTL 50) was the one evicted */
    net_close();
}

/* TC=1 over UDP: the same question over TCP to the same server, the
 * answer framed by its 2-byte length (RFC 1035 4.2.2). */
static void
test_truncated_tcp(void)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "many.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
    pump();
    struct ans a;
    ans_start(&a, &N.q[0], 0, true);
    ans_a(&a, NULL, 0, 60, TERN_IPV4(192, 0, 2, 1)); /* a cut answer's part: not used */
    reply(&N.q[0], &a);
    CHECK_EQ(tern_dns_stats(N.d)->truncated, 1);
    CHECK_EQ(tern_dns_stats(N.d)->tcp_sent, 1);
    advance(N.now + 10 * MS);
    int c = tern_tcp_accept(N.b, N.listener, N.now);
    CHECK(c > 0);
    if (c <= 0) {
        net_close();
        return;
    }
    uint8_t in[600];
    int n = tern_tcp_recv(N.b, c, in, sizeof(in), N.now);
    CHECK(n > 2);
    const uint8_t *msg;
    size_t mlen;
    if (n <= 2 || wire_dns_tcp_unframe(in, (size_t)n, &msg, &mlen) != (size_t)n) {
        CHECK(!"a whole framed query");
        net_close();
        return;
    }
    struct query tq = {.dst = S1, .len = mlen};
    memcpy(tq.msg, msg, mlen);
    CHECK_EQ(qid(&tq), qid(&N.q[0])); /* the same query */
    ans_start(&a, &tq, 0, false);
    for (unsigned i = 0; i < 40; i++) {
        ans_a(&a, NULL, 0, 60, TERN_IPV4(192, 0, 2, 100 + i));
    }
    uint8_t pre[2];
    CHECK_EQ(wire_dns_tcp_prefix(pre, a.len), 2);
    /* The prefix alone first: the resolver must wait for the rest. */
    tern_tcp_send(N.b, c, pre, 2, N.now);
    advance(N.now + 10 * MS);
    CHECK_EQ(tern_dns_result(N.d, q, NULL), TERN_DNS_ERR_PENDING);
    tern_tcp_send(N.b, c, a.b, a.len, N.now);
    advance(N.now + 50 * MS);
    struct tern_dns_result r;
    CHECK_EQ(tern_dns_result(N.d, q, &r), TERN_DNS_OK);
    CHECK(r.used_tcp);
    CHECK_EQ(r.n, TERN_DNS_MAX_ADDRS); /* 40 answered, the first 16 kept */
    CHECK_EQ(tern_ip_v4(r.addrs[15]), TERN_IPV4(192, 0, 2, 115));
    CHECK_EQ(N.nq, 1); /* nothing more over UDP */
    tern_tcp_close(N.b, c, N.now);
    tern_tcp_release(N.b, c, N.now);
    net_close();
}

/* A and AAAA together: one result, IPv4 first. */
static void
test_both_families(void)
{
    net_open(8);
    int q = tern_dns_lookup(N.d, "web.test", TERN_DNS_WANT_BOTH, NULL, NULL, N.now);
    pump();
    CHECK_EQ(N.nq, 2);
    for (size_t i = 0; i < 2; i++) {
        struct wire_dns_msg m;
        CHECK_EQ(wire_dns_parse(N.q[i].msg, N.q[i].len, &m), WIRE_OK);
        struct ans a;
        ans_start(&a, &N.q[i], 0, false);
        if (m.question.qtype == WIRE_DNS_TYPE_AAAA) {
            uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
            ans_rr(&a, NULL, 0, WIRE_DNS_TYPE_AAAA, 60, v6, 16, false);
        } else {
            ans_a(&a, NULL, 0, 60, TERN_IPV4(192, 0, 2, 10));
        }
        reply(&N.q[i], &a);
    }
    struct tern_dns_result r;
    CHECK_EQ(tern_dns_result(N.d, q, &r), TERN_DNS_OK);
    CHECK_EQ(r.n, 2);
    CHECK_EQ(r.n4, 1);
    CHECK(tern_ip_is4(r.addrs[0]));
    CHECK(!tern_ip_is4(r.addrs[1]));
    CHECK_EQ(r.addrs[1].b[0], 0x20);
    CHECK_EQ(r.addrs[1].b[15], 0x10);
    net_close();
}

/* 20000 answers with random bytes changed or cut short, from the right
 * server and port: each is used or dropped and counted, never more than
 * once, never a crash (ASan/UBSan builds run this too). */
static void
test_mutated_answers(void)
{
    net_open(0);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static const uint8_t web[] = "\3web\4test";
    const struct tern_dns_stats *st = tern_dns_stats(N.d);
    long injected = 0;
    int q = 0;
    uint64_t tc0 = 0;
    for (int i = 0; i < 20000; i++) {
        /* A new lookup once this one ended, moved to another server, or
         * to TCP (TC=1). */
        if (q == 0 || tern_dns_result(N.d, q, NULL) != TERN_DNS_ERR_PENDING || N.nq != 1 ||
            st->truncated != tc0) {
            tc0 = st->truncated;
            if (q > 0) {
                tern_dns_cancel(N.d, q, N.now);
            }
            tern_dns_result(N.d, q, NULL);
            N.nq = 0;
            q = tern_dns_lookup(N.d, "www.test", TERN_DNS_WANT_A, NULL, NULL, N.now);
            pump();
            CHECK_EQ(N.nq, 1);
            if (N.nq != 1) {
                break;
            }
        }
        struct ans a;
        ans_start(&a, &N.q[0], 0, false);
        ans_rr(&a, NULL, 0, WIRE_DNS_TYPE_CNAME, 60, web, sizeof(web), false);
        ans_a(&a, web, sizeof(web), 60, TERN_IPV4(192, 0, 2, 10));
        ans_soa(&a, 60, 60);
        size_t len = a.len;
        x = x * 6364136223846793005ULL + 1;
        unsigned changes = 1 + (unsigned)(x >> 60) % 4;
        for (unsigned k = 0; k < changes; k++) {
            x = x * 6364136223846793005ULL + 1;
            /* Mostly past the id, so that the checks further on are reached. */
            size_t pos = (x >> 40) % 8 == 0 ? (x >> 20) % len : 2 + (x >> 20) % (len - 2);
            a.b[pos] = (uint8_t)(x >> 33);
        }
        if ((x >> 50) % 8 == 0) {
            len = (x >> 10) % len;
        }
        inject(S1, 53, N.q[0].sport, a.b, len);
        injected++;
    }
    uint64_t seen = st->answers + st->truncated + st->drop_source + st->drop_id +
                    st->drop_question + st->drop_malformed + st->drop_too_long;
    CHECK_EQ(seen, injected);
    CHECK(st->answers > 100);         /* some changes leave a usable answer */
    CHECK(st->drop_malformed > 1000); /* and many do not */
    CHECK(st->drop_question > 100);
    net_close();
}

static void
test_bad_input(void)
{
    net_open(8);
    CHECK_EQ(tern_dns_lookup(N.d, "a..b", TERN_DNS_WANT_A, NULL, NULL, 0), TERN_DNS_ERR_BADNAME);
    CHECK_EQ(tern_dns_lookup(N.d, "", TERN_DNS_WANT_A, NULL, NULL, 0), TERN_DNS_ERR_BADNAME);
    CHECK_EQ(tern_dns_lookup(N.d, "a.test", 0, NULL, NULL, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_dns_set_servers(N.d, NULL, 0), TERN_OK);
    CHECK_EQ(tern_dns_lookup(N.d, "a.test", TERN_DNS_WANT_A, NULL, NULL, 0), TERN_DNS_ERR_NOSERVER);
    uint32_t four[4] = {S1, S2, S3, S1};
    CHECK_EQ(tern_dns_set_servers(N.d, four, 4), TERN_ERR_INVAL);
    CHECK_EQ(tern_dns_set_servers(N.d, four, 1), TERN_OK);
    for (int i = 0; i < 4; i++) {
        CHECK(tern_dns_lookup(N.d, "a.test", TERN_DNS_WANT_A, NULL, NULL, 0) > 0);
    }
    CHECK_EQ(tern_dns_lookup(N.d, "a.test", TERN_DNS_WANT_A, NULL, NULL, 0), TERN_ERR_NOBUFS);
    uint32_t v4;
    CHECK(tern_dns_parse_ipv4("192.0.2.1", &v4) && v4 == TERN_IPV4(192, 0, 2, 1));
    CHECK(!tern_dns_parse_ipv4("192.0.2", &v4));
    CHECK(!tern_dns_parse_ipv4("192.0.2.256", &v4));
    CHECK(!tern_dns_parse_ipv4("192.0.2.1.", &v4));
    CHECK(!tern_dns_parse_ipv4("web.test", &v4));
    net_close();
}

int
main(void)
{
    RUN(test_answer_a);
    RUN(test_random_ids_and_ports);
    RUN(test_retries_rotate);
    RUN(test_servfail_next_server);
    RUN(test_spoofs_dropped);
    RUN(test_cname);
    RUN(test_cname_bound);
    RUN(test_nxdomain_nodata);
    RUN(test_ttl_expiry);
    RUN(test_cache_bound);
    RUN(test_truncated_tcp);
    RUN(test_both_families);
    RUN(test_mutated_answers);
    RUN(test_bad_input);
    return CHECK_DONE();
}
