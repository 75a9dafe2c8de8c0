/*
 * tests/unit/test_icmp.c: ICMP for a host (src/ip/icmp.c): echo server and
 * client, errors received and handed to the transport, errors sent.
 *
 * RFCs: 792, 1122 3.2.2 (3.2.2.1-3.2.2.6), 1191 4, 1812 4.3.2.3.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
static struct fake_proto F;
static uint8_t pkt[70000];
static uint8_t msg[70000];
static uint8_t big[70000];

/*
 * A real exchange, captured from the Linux kernel's loopback with a raw
 * socket: echo request id 0x1234 seq 1, 26 bytes "tern echo 0123456789abcdef".
 *   127.0.0.1 > 127.0.0.1: ICMP echo request, id 4660, seq 1, length 34
 *     (IP id 0x3307, DF, ttl 64)
 *   127.0.0.1 > 127.0.0.1: ICMP echo reply, id 4660, seq 1, length 34
 *     (IP id 0x3308, no DF, ttl 64)
 */
static const uint8_t linux_echo_request[] = {
    0x45, 0x00, 0x00, 0x36, 0x33, 0x07, 0x40, 0x00, 0x40, 0x01, 0x09, 0xbe, 0x7f, 0x00,
    0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0xdc, 0xd1, 0x12, 0x34, 0x00, 0x01,
    0x74, 0x65, 0x72, 0x6e, 0x20, 0x65, 0x63, 0x68, 0x6f, 0x20, 0x30, 0x31, 0x32, 0x33,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
};
static const uint8_t linux_echo_reply[] = {
    0x45, 0x00, 0x00, 0x36, 0x33, 0x08, 0x00, 0x00, 0x40, 0x01, 0x49, 0xbd, 0x7f, 0x00,
    0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00, 0xe4, 0xd1, 0x12, 0x34, 0x00, 0x01,
    0x74, 0x65, 0x72, 0x6e, 0x20, 0x65, 0x63, 0x68, 0x6f, 0x20, 0x30, 0x31, 0x32, 0x33,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
};

static void
loopback_netif(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->netifs[0].addr = TERN_IPV4(127, 0, 0, 1);
    cfg->netifs[0].prefix_len = 8;
    cfg->default_gateway = 0;
}

/* Builds an ICMP message (checksummed by wire_icmp_emit) in a datagram
 * from `src` to `dst`; returns the datagram length. */
static size_t
mk_icmp(uint8_t *buf, uint32_t src, uint32_t dst, const struct wire_icmp *m)
{
    size_t n = wire_icmp_emit_len(m);
    wire_icmp_emit(m, msg);
    return mk_dgram(buf, src, dst, WIRE_IPPROTO_ICMP, 0x4242, false, 0, msg, n);
}

/* EVIDENCE: RFC 1122 3.2.2.6 (MUST echo server; reply from the specific
 * destination with all the data), RFC 792 (same id, seq): our reply is
 * byte for byte the Linux kernel's, once our IP id is set to its. */
static void
test_echo_reply_matches_linux(void)
{
    rig_open(&R, 1500, loopback_netif);
    R.st->ip->next_id = 0x3308;
    input(&R, linux_echo_request, sizeof(linux_echo_request), 1);
    CHECK_EQ(R.cap.n, 1);
    CHECK_EQ(R.cap.f[0].len, sizeof(linux_echo_reply));
    CHECK_MEM(R.cap.f[0].b, linux_echo_reply, sizeof(linux_echo_reply));
    CHECK_EQ(R.cap.f[0].next_hop, TERN_IPV4(127, 0, 0, 1));
    CHECK_EQ(R.st->stats.icmp.rx, 1);
    CHECK_EQ(R.st->stats.icmp.rx_echo_request, 1);
    CHECK_EQ(R.st->stats.icmp.tx, 1);
    CHECK_EQ(R.st->stats.ip.rx_delivered, 1);
    CHECK_EQ(R.st->stats.ip.tx, 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_RX, "RFC 792: echo request"), 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "RFC 1122 3.2.2.6: echo reply"), 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TX, "RFC 791"), 1);
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

/* EVIDENCE: RFC 1122 3.2.2.6: the reply's source is the address the request
 * was sent to (here our second interface's, arriving on the first). */
static void
test_echo_reply_source(void)
{
    rig_open(&R, 1500, two_netifs);
    struct wire_icmp m = {.type = WIRE_ICMP_ECHO_REQUEST, .id = 5, .seq = 6};
    size_t n = mk_icmp(pkt, A_PEER, TERN_IPV4(192, 168, 1, 1), &m);
    pkt[1] = 0x10; /* TOS, kept in the reply */
    fix_ip_csum(pkt);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.cap.n, 1);
    struct wire_ipv4 h;
    struct wire_icmp r;
    CHECK_EQ(wire_ipv4_parse(R.cap.f[0].b, R.cap.f[0].len, &h), WIRE_OK);
    CHECK_EQ(R.cap.f[0].netif, 0);
    CHECK_EQ(h.src, TERN_IPV4(192, 168, 1, 1));
    CHECK_EQ(h.dst, A_PEER);
    CHECK_EQ(h.tos, 0x10);
    CHECK_EQ(wire_icmp_parse(h.payload, h.payload_len, &r), WIRE_OK);
    CHECK_EQ(r.type, WIRE_ICMP_ECHO_REPLY);
    CHECK_EQ(r.id, 5);
    CHECK_EQ(r.seq, 6);
    CHECK_EQ(r.payload_len, 0);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.2.2.6: echo request to a broadcast MAY be silently
 * discarded; we discard it, counted. */
static void
test_echo_broadcast_ignored(void)
{
    rig_open(&R, 1500, NULL);
    struct wire_icmp m = {.type = WIRE_ICMP_ECHO_REQUEST, .id = 1, .seq = 1};
    size_t n = mk_icmp(pkt, A_PEER, A_BCAST, &m);
    input(&R, pkt, n, 1);
    n = mk_icmp(pkt, A_PEER, TERN_IPV4(255, 255, 255, 255), &m);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.cap.n, 0);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_BCAST_ECHO], 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_BCAST_ECHO), 2);
    CHECK_EQ(R.st->stats.icmp.rx_echo_request, 2);
    rig_close(&R);
}

/* EVIDENCE: RFC 792 (checksum), RFC 1122 3.2.2 (unknown types MUST be
 * silently discarded; errors quote a header and 8 bytes): each malformed
 * or unwanted message is a drop under its own reason. */
static void
test_icmp_drops(void)
{
    rig_open(&R, 1500, NULL);
    uint8_t four[4] = {8, 0, 0, 0};
    size_t n = mk_dgram(pkt, A_PEER, A_LOCAL, WIRE_IPPROTO_ICMP, 1, false, 0, four, 4);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_TRUNCATED], 1);

    struct wire_icmp m = {.type = WIRE_ICMP_ECHO_REQUEST, .id = 1, .seq = 1};
    n = mk_icmp(pkt, A_PEER, A_LOCAL, &m);
    pkt[20 + 5] ^= 0x40; /* id changed, checksum not */
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_CHECKSUM], 1);

    uint8_t q[10] = {0x45};
    m = (struct wire_icmp){
        .type = WIRE_ICMP_DEST_UNREACH, .code = 3, .payload = q, .payload_len = 10};
    n = mk_icmp(pkt, A_PEER, A_LOCAL, &m);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_ERR_PAYLOAD], 1);

    m = (struct wire_icmp){.type = 42};
    n = mk_icmp(pkt, A_PEER, A_LOCAL, &m);
    input(&R, pkt, n, 1);
    m.type = 13; /* timestamp: not implemented (RFC 1122 3.2.2.8: MAY) */
    n = mk_icmp(pkt, A_PEER, A_LOCAL, &m);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_UNKNOWN_TYPE], 2);

    uint8_t quote[28];
    n = mk_dgram(quote, A_LOCAL, A_FAR, 6, 1, false, 0, (const uint8_t *)"12345678", 8);
    m = (struct wire_icmp){.type = WIRE_ICMP_REDIRECT,
                           .code = 1,
                           .gateway = A_PEER,
                           .payload = quote,
                           .payload_len = n};
    n = mk_icmp(pkt, A_GW, A_LOCAL, &m);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_REDIRECT], 1);

    m = (struct wire_icmp){.type = WIRE_ICMP_ECHO_REPLY, .id = 1, .seq = 2};
    n = mk_icmp(pkt, A_PEER, A_LOCAL, &m);
    input(&R, pkt, n, 1); /* no echo handler installed */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_ECHO_NO_HANDLER], 1);

    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_TRUNCATED), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_CHECKSUM), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_ERR_PAYLOAD), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_UNKNOWN_TYPE), 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_REDIRECT), 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_ECHO_NO_HANDLER), 1);
    CHECK_EQ(R.st->stats.icmp.rx, 7);
    CHECK_EQ(tern_stats_drops_total(&R.st->stats), 7);
    CHECK_EQ(R.cap.n, 0);
    rig_close(&R);
}

struct echo_log {
    int n;
    struct tern_echo_reply r;
    uint8_t data[70000];
    int64_t now;
};

static struct echo_log E;

static void
on_echo(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    struct echo_log *e = ctx;
    e->n++;
    e->r = *r;
    memcpy(e->data, r->data, r->len);
    e->now = now_ns;
}

/* EVIDENCE: RFC 1122 3.2.2.6 (SHOULD: an interface to send echo requests
 * and get the replies): the request we send, and the reply handed up. */
static void
test_echo_client(void)
{
    rig_open(&R, 1500, NULL);
    memset(&E, 0, sizeof(E));
    tern_icmp_set_echo_handler(R.st, on_echo, &E);
    const uint8_t d[5] = {'h', 'e', 'l', 'l', 'o'};
    CHECK_EQ(tern_icmp_echo_send(R.st, A_FAR, 0x77, 3, d, 5, 100), TERN_OK);
    CHECK_EQ(R.cap.n, 1);
    CHECK_EQ(R.cap.f[0].next_hop, A_GW);
    struct wire_ipv4 h;
    struct wire_icmp m;
    CHECK_EQ(wire_ipv4_parse(R.cap.f[0].b, R.cap.f[0].len, &h), WIRE_OK);
    CHECK_EQ(h.proto, WIRE_IPPROTO_ICMP);
    CHECK_EQ(h.dst, A_FAR);
    CHECK_EQ(wire_icmp_parse(h.payload, h.payload_len, &m), WIRE_OK); /* checksum verifies */
    CHECK_EQ(m.type, WIRE_ICMP_ECHO_REQUEST);
    CHECK_EQ(m.code, 0);
    CHECK_EQ(m.id, 0x77);
    CHECK_EQ(m.seq, 3);
    CHECK_EQ(m.payload_len, 5);
    CHECK_MEM(m.payload, d, 5);
    CHECK_EQ(R.st->stats.icmp.tx, 1);

    struct wire_icmp rep = {
        .type = WIRE_ICMP_ECHO_REPLY, .id = 0x77, .seq = 3, .payload = d, .payload_len = 5};
    size_t n = mk_icmp(pkt, A_FAR, A_LOCAL, &rep);
    pkt[8] = 50; /* TTL */
    fix_ip_csum(pkt);
    input(&R, pkt, n, 250);
    CHECK_EQ(E.n, 1);
    CHECK_EQ(E.r.from, A_FAR);
    CHECK_EQ(E.r.id, 0x77);
    CHECK_EQ(E.r.seq, 3);
    CHECK_EQ(E.r.ttl, 50);
    CHECK_EQ(E.r.len, 5);
    CHECK_MEM(E.data, d, 5);
    CHECK_EQ(E.now, 250);
    CHECK_EQ(R.st->stats.icmp.rx_echo_reply, 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_RX, "echo reply passed to the user"), 1);

    CHECK_EQ(tern_icmp_echo_send(NULL, A_FAR, 1, 1, d, 5, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_icmp_echo_send(R.st, A_FAR, 1, 1, NULL, 5, 0), TERN_ERR_INVAL);
    CHECK_EQ(tern_icmp_echo_send(R.st, A_FAR, 1, 1, big, 65508, 0), TERN_ERR_MSGSIZE);
    rig_close(&R);

    rig_open(&R, 1500, loopback_netif); /* no gateway */
    CHECK_EQ(tern_icmp_echo_send(R.st, A_FAR, 1, 1, d, 5, 0), TERN_ERR_NOROUTE);
    rig_close(&R);
}

static void
peer_addr(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->netifs[0].addr = A_PEER;
}

/* EVIDENCE: RFC 1122 3.2.2.6: all the data comes back, even when the
 * request needed reassembly and the reply fragmentation (RFC 791 3.2). */
static void
test_big_ping_between_stacks(void)
{
    rig_open(&R, 1500, NULL);
    rig_open(&R2, 1500, peer_addr);
    memset(&E, 0, sizeof(E));
    tern_icmp_set_echo_handler(R.st, on_echo, &E);
    for (size_t i = 0; i < 4000; i++) {
        big[i] = (uint8_t)(i ^ (i >> 7));
    }
    CHECK_EQ(tern_icmp_echo_send(R.st, A_PEER, 9, 1, big, 4000, 1), TERN_OK);
    CHECK_EQ(R.cap.n, 3);
    for (size_t i = 0; i < R.cap.n; i++) {
        CHECK_EQ(tern_stack_input(R2.st, 0, R.cap.f[i].b, R.cap.f[i].len, 2), TERN_OK);
    }
    CHECK_EQ(R2.st->stats.ip.reassembled, 1);
    CHECK_EQ(R2.cap.n, 3);
    CHECK_EQ(R2.st->stats.ip.tx_fragmented, 1);
    for (size_t i = R2.cap.n; i-- > 0;) { /* reverse order, for good measure */
        CHECK_EQ(tern_stack_input(R.st, 0, R2.cap.f[i].b, R2.cap.f[i].len, 3), TERN_OK);
    }
    CHECK_EQ(E.n, 1);
    CHECK_EQ(E.r.from, A_PEER);
    CHECK_EQ(E.r.len, 4000);
    CHECK_MEM(E.data, big, 4000);
    rig_close(&R2);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.2.2.1 (SHOULD send protocol unreachable), 3.2.2
 * (quote the header and at least 8 bytes, unchanged; TOS 0): and RFC 1812
 * 4.3.2.3: we quote up to 576 bytes in all. */
static void
test_protocol_unreachable(void)
{
    rig_open(&R, 1500, NULL);
    uint8_t pl[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    size_t n = mk_dgram(pkt, A_PEER, A_LOCAL, 99, 0x1111, false, 0, pl, sizeof(pl));
    pkt[1] = 0xb8; /* TOS of the offending datagram: not copied */
    fix_ip_csum(pkt);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_PROTO_UNREACH], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_IP_PROTO_UNREACH), 1);
    CHECK_EQ(R.cap.n, 1);
    CHECK_EQ(R.st->stats.icmp.tx_error, 1);
    CHECK_EQ(R.st->stats.icmp.tx, 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "RFC 1122 3.2.2: ICMP error sent"), 1);
    struct wire_ipv4 h;
    struct wire_icmp m;
    CHECK_EQ(wire_ipv4_parse(R.cap.f[0].b, R.cap.f[0].len, &h), WIRE_OK);
    CHECK_EQ(h.src, A_LOCAL);
    CHECK_EQ(h.dst, A_PEER);
    CHECK_EQ(h.tos, 0);
    CHECK_EQ(h.proto, WIRE_IPPROTO_ICMP);
    CHECK_EQ(wire_icmp_parse(h.payload, h.payload_len, &m), WIRE_OK);
    CHECK_EQ(m.type, WIRE_ICMP_DEST_UNREACH);
    CHECK_EQ(m.code, WIRE_ICMP_UNREACH_PROTO);
    CHECK_EQ(m.rest, 0);
    CHECK_EQ(m.payload_len, n); /* the whole small datagram */
    CHECK_MEM(m.payload, pkt, n);

    /* a large one: quoted up to 576 bytes in all */
    for (size_t i = 0; i < 1000; i++) {
        big[i] = (uint8_t)i;
    }
    n = mk_dgram(pkt, A_PEER, A_LOCAL, 99, 0x1112, false, 0, big, 1000);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.cap.n, 2);
    CHECK_EQ(R.cap.f[1].len, 576);
    CHECK_EQ(wire_ipv4_parse(R.cap.f[1].b, R.cap.f[1].len, &h), WIRE_OK);
    CHECK_EQ(wire_icmp_parse(h.payload, h.payload_len, &m), WIRE_OK);
    CHECK_EQ(m.payload_len, 576 - 28);
    CHECK_MEM(m.payload, pkt, 576 - 28);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.2.2: an ICMP error MUST NOT be sent about an ICMP
 * error, a datagram to a broadcast or multicast address, a non-initial
 * fragment, or a source that is not a single host. */
static void
test_no_error_when_forbidden(void)
{
    rig_open(&R, 1500, NULL);
    uint8_t pl[8] = {0};
    /* protocol unreachable to a broadcast: drop counted, nothing sent */
    size_t n = mk_dgram(pkt, A_PEER, A_BCAST, 99, 1, false, 0, pl, 8);
    input(&R, pkt, n, 1);
    n = mk_dgram(pkt, A_PEER, TERN_IPV4(255, 255, 255, 255), 99, 1, false, 0, pl, 8);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_IP_PROTO_UNREACH], 2);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "broadcast or multicast"), 2);

    /* about an ICMP error */
    uint8_t quote[28];
    size_t qn = mk_dgram(quote, A_LOCAL, A_PEER, 6, 1, false, 0, pl, 8);
    struct wire_icmp m = {
        .type = WIRE_ICMP_DEST_UNREACH, .code = 3, .payload = quote, .payload_len = qn};
    n = mk_icmp(pkt, A_PEER, A_LOCAL, &m);
    icmp_send_error(R.st, WIRE_ICMP_PARAM_PROBLEM, 0, 0, pkt, n);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "about an ICMP error"), 1);

    /* about a non-initial fragment */
    n = mk_dgram(pkt, A_PEER, A_LOCAL, 99, 1, false, 8, pl, 8);
    icmp_send_error(R.st, WIRE_ICMP_DEST_UNREACH, 2, 0, pkt, n);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "non-initial fragment"), 1);

    /* to sources that are not a single host */
    static const uint32_t srcs[] = {0, TERN_IPV4(127, 0, 0, 9), TERN_IPV4(224, 1, 1, 1),
                                    TERN_IPV4(240, 0, 0, 1), A_BCAST};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        n = mk_dgram(pkt, srcs[i], A_LOCAL, 99, 1, false, 0, pl, 8);
        icmp_send_error(R.st, WIRE_ICMP_DEST_UNREACH, 2, 0, pkt, n);
    }
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "not a single host"), 5);
    CHECK_EQ(R.cap.n, 0);
    CHECK_EQ(R.st->stats.icmp.tx_error, 0);

    /* an echo request is a query, not an error: an error about it is fine */
    m = (struct wire_icmp){.type = WIRE_ICMP_ECHO_REQUEST};
    n = mk_icmp(pkt, A_PEER, A_LOCAL, &m);
    icmp_send_error(R.st, WIRE_ICMP_PARAM_PROBLEM, 0, 0, pkt, n);
    CHECK_EQ(R.cap.n, 1);
    rig_close(&R);
}

/* An ICMP error about a datagram of PROTO_OTHER from us to A_FAR. */
#define PROTO_OTHER 254 /* RFC 3692 experimental */
static size_t
mk_error(uint8_t *buf, uint8_t type, uint8_t code, uint16_t mtu, size_t quoted_data)
{
    uint8_t orig[128];
    for (size_t i = 0; i < sizeof(orig); i++) {
        big[i] = (uint8_t)(0xa0 + i);
    }
    mk_dgram(orig, A_LOCAL, A_FAR, PROTO_OTHER, 0x5555, false, 0, big, 100);
    struct wire_icmp m = {.type = type,
                          .code = code,
                          .next_hop_mtu = mtu,
                          .payload = orig,
                          .payload_len = 20 + quoted_data};
    return mk_icmp(buf, A_GW, A_LOCAL, &m);
}

static struct fake_proto G; /* a transport such as TCP */

/* EVIDENCE: RFC 1122 3.2.2 (the quoted protocol picks the transport),
 * 3.2.2.1, 3.2.2.3, 3.2.2.4, 3.2.2.5 (each MUST reach the transport),
 * RFC 1191 4 (next-hop MTU). */
static void
test_error_to_transport(void)
{
    rig_open(&R, 1500, NULL);
    memset(&G, 0, sizeof(G));
    CHECK_EQ(ip_register_proto(R.st, PROTO_OTHER, fake_input, fake_err, &G), TERN_OK);
    size_t n = mk_error(pkt, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_UNREACH_FRAG_NEEDED, 1280, 8);
    input(&R, pkt, n, 1);
    CHECK_EQ(G.n_err, 1);
    CHECK_EQ(G.err.type, WIRE_ICMP_DEST_UNREACH);
    CHECK_EQ(G.err.code, WIRE_ICMP_UNREACH_FRAG_NEEDED);
    CHECK_EQ(G.err.next_hop_mtu, 1280);
    CHECK_EQ(tern_ip_v4(G.err.from), A_GW);
    CHECK_EQ(tern_ip_v4(G.err.orig_src), A_LOCAL);
    CHECK_EQ(tern_ip_v4(G.err.orig_dst), A_FAR);
    CHECK_EQ(G.err.orig_proto, PROTO_OTHER);
    CHECK_EQ(G.err.orig_payload_len, 8);
    CHECK_MEM(G.orig_payload, big, 8);
    CHECK_EQ(R.st->stats.icmp.rx_error, 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "RFC 1122 3.2.2.1"), 1);

    static const uint8_t types[] = {WIRE_ICMP_SOURCE_QUENCH, WIRE_ICMP_TIME_EXCEEDED,
                                    WIRE_ICMP_PARAM_PROBLEM};
    static const char *const rules[] = {"RFC 1122 3.2.2.3", "RFC 1122 3.2.2.4", "RFC 1122 3.2.2.5"};
    for (size_t i = 0; i < 3; i++) {
        n = mk_error(pkt, types[i], 0, 0, 100); /* the whole datagram quoted */
        input(&R, pkt, n, 1);
        CHECK_EQ(G.n_err, (int)i + 2);
        CHECK_EQ(G.err.type, types[i]);
        CHECK_EQ(G.err.next_hop_mtu, 0);
        CHECK_EQ(G.err.orig_payload_len, 100);
        CHECK_MEM(G.orig_payload, big, 100);
        CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, rules[i]), 1);
    }
    CHECK_EQ(R.st->stats.icmp.rx_error, 4);

    /* fewer than 8 bytes after the quoted header */
    n = mk_error(pkt, WIRE_ICMP_DEST_UNREACH, 3, 0, 7);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_ERR_PAYLOAD], 1);
    /* the quote is of a non-initial fragment: no transport header in it */
    uint8_t orig[40];
    mk_dgram(orig, A_LOCAL, A_FAR, PROTO_OTHER, 1, false, 64, big, 20);
    struct wire_icmp m = {
        .type = WIRE_ICMP_DEST_UNREACH, .code = 3, .payload = orig, .payload_len = 40};
    n = mk_icmp(pkt, A_GW, A_LOCAL, &m);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_ERR_PAYLOAD], 2);
    CHECK_EQ(G.n_err, 4);
    rig_close(&R);
}

static void
test_error_without_handler(void)
{
    rig_open(&R, 1500, NULL);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, NULL, &F), TERN_OK);
    uint8_t orig[40];
    mk_dgram(orig, A_LOCAL, A_FAR, PROTO_FAKE, 1, false, 0, big, 20);
    struct wire_icmp m = {
        .type = WIRE_ICMP_DEST_UNREACH, .code = 3, .payload = orig, .payload_len = 40};
    size_t n = mk_icmp(pkt, A_GW, A_LOCAL, &m);
    input(&R, pkt, n, 1); /* registered without an err fn */
    orig[9] = 77;         /* a protocol nobody registered */
    fix_ip_csum(orig);
    n = mk_icmp(pkt, A_GW, A_LOCAL, &m);
    input(&R, pkt, n, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_ICMP_NO_HANDLER], 2);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_ICMP_NO_HANDLER), 2);
    CHECK_EQ(R.st->stats.icmp.rx_error, 0);
    CHECK_EQ(F.n_rx, 0);
    rig_close(&R);
}

int
main(void)
{
    RUN(test_echo_reply_matches_linux);
    RUN(test_echo_reply_source);
    RUN(test_echo_broadcast_ignored);
    RUN(test_icmp_drops);
    RUN(test_echo_client);
    RUN(test_big_ping_between_stacks);
    RUN(test_protocol_unreachable);
    RUN(test_no_error_when_forbidden);
    RUN(test_error_to_transport);
    RUN(test_error_without_handler);
    return CHECK_DONE();
}
