/*
 * src/ip/icmpv6.c: ICMPv6 for a host (RFC 4443): the echo server and
 * client, errors we receive (handed to the transport that sent the packet,
 * packet too big to the path MTU cache first) and errors we send, and the
 * hand-off of neighbour discovery messages to nd.c.
 *
 * Read first: RFC 4443 2 (rules for every message, 2.4 above all), 3
 * (errors), 4 (echo); RFC 8201 4 (packet too big).
 */
#include <string.h>

#include "core/core.h"
#include "ip/ip_internal.h"
#include "ip/nd.h"
#include "wire/checksum.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

static const char L_ICMP6[] = "icmpv6";

/* RFC 4443 2.4 (c): an error carries as much of the packet as fits in the
 * minimum MTU. */
#define ICMP6_ERR_MAX_QUOTE (WIRE_IPV6_MIN_MTU - WIRE_IPV6_HDR_LEN - WIRE_ICMP6_HDR_LEN)

static bool
is_multi(struct tern_ip a)
{
    return a.b[0] == 0xff;
}

static bool
is_link_local(struct tern_ip a)
{
    return a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80;
}

int
icmpv6_send(struct tern_stack *st, const struct ip6_out *o, uint8_t type, uint8_t code,
            uint32_t rest, const uint8_t *data, size_t len)
{
    uint8_t hdr[WIRE_ICMP6_HDR_LEN] = {type,
                                       code,
                                       0,
                                       0,
                                       (uint8_t)(rest >> 24),
                                       (uint8_t)(rest >> 16),
                                       (uint8_t)(rest >> 8),
                                       (uint8_t)rest};
    /* RFC 4443 2.3: the checksum covers the pseudo-header and the whole
     * message. */
    uint32_t sum = wire_csum_pseudo_v6(o->src.b, o->dst.b, WIRE_IPV6_NH_ICMPV6,
                                       (uint32_t)(WIRE_ICMP6_HDR_LEN + len));
    sum = wire_csum_add(sum, hdr, sizeof(hdr));
    sum = wire_csum_add(sum, data, len);
    uint16_t c = wire_csum_fold(sum);
    hdr[2] = (uint8_t)(c >> 8);
    hdr[3] = (uint8_t)c;
    struct ip6_out out = *o;
    out.proto = WIRE_IPV6_NH_ICMPV6;
    struct ip_part parts[2] = {{hdr, sizeof(hdr)}, {data, len}};
    int rc = ip6_send(st, &out, parts, 2);
    if (rc == TERN_OK) {
        st->stats.icmp6.tx++;
    }
    return rc;
}

/* Where an answer to `to` goes: a link-local (or any unroutable) peer is
 * answered on the interface it spoke on. False without a source. */
static bool
answer_route(struct tern_stack *st, int netif, struct tern_ip to, struct tern_ip local,
             struct ip6_out *o)
{
    *o = (struct ip6_out){.dst = to, .next_hop = to, .netif = netif};
    if (!is_link_local(to)) {
        struct tern_ip nh;
        int n = ip6_route(st, to, &nh);
        if (n >= 0) {
            o->netif = n;
            o->next_hop = nh;
        }
    }
    /* RFC 4443 2.2: from the address the packet was sent to when it is a
     * unicast address of ours, else one chosen as for any packet. */
    o->src = !tern_ip_is_unspec6(local) && !is_multi(local) && ipv6_is_ours(st, local)
                 ? local
                 : ip6_select_src(st, o->netif, to);
    return !tern_ip_is_unspec6(o->src);
}

/* Follows the extension headers of a packet (or of the quote of one, q
 * bytes) leniently, without checking options: the offset of the
 * upper-layer header and its Next Header in *proto, or 0 when a non-first
 * fragment or a short quote hides it. */
static size_t
upper_layer(const uint8_t *q, size_t qlen, uint8_t *proto)
{
    uint8_t nh = q[6];
    size_t off = WIRE_IPV6_HDR_LEN;
    for (unsigned i = 0; i < WIRE_IPV6_MAX_EXT_HDRS; i++) {
        if (nh == WIRE_IPV6_NH_HOP || nh == WIRE_IPV6_NH_ROUTING || nh == WIRE_IPV6_NH_DSTOPTS) {
            if (off + 8 > qlen) {
                return 0;
            }
            nh = q[off];
            off += ((size_t)q[off + 1] + 1) * 8;
        } else if (nh == WIRE_IPV6_NH_FRAGMENT) {
            /* Only a first fragment holds the upper-layer header. */
            if (off + 8 > qlen || (((unsigned)q[off + 2] << 8 | q[off + 3]) & 0xfff8) != 0) {
                return 0;
            }
            nh = q[off];
            off += 8;
        } else {
            break;
        }
    }
    *proto = nh;
    return off <= qlen ? off : 0;
}

/* ---- errors we send ---------------------------------------------------- */

/* RFC 4443 2.4 (e): the packets no error may be sent about, or NULL. */
static const char *
error_forbidden(const struct wire_ipv6 *h, const uint8_t *pkt, bool multi_ok)
{
    uint8_t proto = 0;
    size_t off = upper_layer(pkt, WIRE_IPV6_HDR_LEN + (size_t)h->payload_len, &proto);
    size_t end = WIRE_IPV6_HDR_LEN + (size_t)h->payload_len;
    if (off != 0 && proto == WIRE_IPV6_NH_ICMPV6 && off < end &&
        (wire_icmp6_is_error(pkt[off]) || pkt[off] == WIRE_ND_REDIRECT)) {
        return TERN_RULE("RFC 4443 2.4 (e.1, e.2): no ICMPv6 error about an error or a redirect");
    }
    struct tern_ip src, dst;
    memcpy(src.b, h->src.b, 16);
    memcpy(dst.b, h->dst.b, 16);
    if (is_multi(dst) && !multi_ok) {
        return TERN_RULE("RFC 4443 2.4 (e.3): no ICMPv6 error about a multicast packet");
    }
    if (tern_ip_is_unspec6(src) || is_multi(src)) {
        return TERN_RULE("RFC 4443 2.4 (e.6): no ICMPv6 error to a source that is not one node");
    }
    return NULL;
}

void
icmpv6_send_error(struct tern_stack *st, int netif, uint8_t type, uint8_t code, uint32_t param,
                  const uint8_t *orig, size_t orig_len, bool multi_ok)
{
    struct wire_ipv6 h;
    if (wire_ipv6_parse(orig, orig_len, &h) != WIRE_OK) {
        return;
    }
    size_t dlen = WIRE_IPV6_HDR_LEN + (size_t)h.payload_len;
    const char *forbidden = error_forbidden(&h, orig, multi_ok);
    if (forbidden != NULL) {
        stack_trace(st, TERN_TRACE_EVENT, L_ICMP6, forbidden, orig, dlen);
        return;
    }
    /* RFC 4443 2.4 (f): errors are rate-limited; the bucket is the one
     * ICMP errors of IPv4 use. */
    if (!icmp_error_budget(st)) {
        stack_drop(st, TERN_DROP_ICMPV6_RATE_LIMIT, orig, dlen);
        return;
    }
    struct tern_ip to, local;
    memcpy(to.b, h.src.b, 16);
    memcpy(local.b, h.dst.b, 16);
    struct ip6_out o;
    if (!answer_route(st, netif, to, local, &o)) {
        return;
    }
    size_t quote = dlen < ICMP6_ERR_MAX_QUOTE ? dlen : ICMP6_ERR_MAX_QUOTE;
    stack_trace(st, TERN_TRACE_EVENT, L_ICMP6,
                "RFC 4443 2.4 (c): ICMPv6 error sent, quoting the packet", orig, dlen);
    if (icmpv6_send(st, &o, type, code, param, orig, quote) == TERN_OK) {
        st->stats.icmp6.tx_error++;
    }
}

/* ---- errors we receive ------------------------------------------------- */

static const char *
error_rule(uint8_t type)
{
    switch (type) {
    case WIRE_ICMP6_DEST_UNREACH:
        return TERN_RULE("RFC 4443 3.1: destination unreachable passed to the transport");
    case WIRE_ICMP6_PACKET_TOO_BIG:
        return TERN_RULE("RFC 4443 3.2: packet too big passed to the transport");
    case WIRE_ICMP6_TIME_EXCEEDED:
        return TERN_RULE("RFC 4443 3.3: time exceeded passed to the transport");
    case WIRE_ICMP6_PARAM_PROBLEM:
        return TERN_RULE("RFC 4443 3.4: parameter problem passed to the transport");
    default:
        return TERN_RULE("RFC 4443 2.4 (a): unknown error passed to the transport");
    }
}

/* RFC 4443 2.4 (b): the upper-layer protocol of the quoted packet gets the
 * error; the quote is walked through its extension headers to find it. */
static void
error_input(struct tern_stack *st, const struct ip_rx *rx, const struct wire_icmp6 *m)
{
    const uint8_t *q = m->payload;
    size_t qlen = m->payload_len; /* >= 40, checked by wire_icmp6_parse */
    size_t end = WIRE_IPV6_HDR_LEN + ((size_t)q[4] << 8 | q[5]);
    if ((q[0] >> 4) != 6) {
        stack_drop(st, TERN_DROP_ICMPV6_ERR_PAYLOAD, rx->datagram, rx->datagram_len);
        return;
    }
    if (end < qlen) {
        qlen = end;
    }
    uint8_t nh = 0;
    size_t off = upper_layer(q, qlen, &nh);
    if (off == 0) {
        off = qlen + 1; /* refused below */
    }
    struct tern_ip osrc, odst;
    memcpy(osrc.b, q + 8, 16);
    memcpy(odst.b, q + 24, 16);
    /* The quote must name a packet of ours and hold 8 bytes of its
     * transport header (the ports). */
    if (off + 8 > qlen || !ipv6_is_ours(st, osrc)) {
        stack_drop(st, TERN_DROP_ICMPV6_ERR_PAYLOAD, rx->datagram, rx->datagram_len);
        return;
    }
    if (m->type == WIRE_ICMP6_PACKET_TOO_BIG && ip6_pmtu_update(st, odst, m->mtu)) {
        /* RFC 8201 4: the path MTU drops to the reported MTU (>= 1280). */
        st->stats.icmp6.rx_ptb++;
        stack_trace(st, TERN_TRACE_EVENT, L_ICMP6,
                    "RFC 8201 4: packet too big lowered the path MTU", rx->datagram,
                    rx->datagram_len);
    }
    const struct ip_proto *p = ip_find_proto(st, nh);
    if (p == NULL || p->err == NULL) {
        stack_drop(st, TERN_DROP_ICMPV6_NO_HANDLER, rx->datagram, rx->datagram_len);
        return;
    }
    struct ip_icmp_err e = {
        .v6 = true,
        .type = m->type,
        .code = m->code,
        .next_hop_mtu = m->type == WIRE_ICMP6_PACKET_TOO_BIG ? m->mtu : 0,
        .from = rx->src,
        .orig_src = osrc,
        .orig_dst = odst,
        .orig_proto = nh,
        .orig_payload = q + off,
        .orig_payload_len = qlen - off,
    };
    st->stats.icmp6.rx_error++;
    stack_trace(st, TERN_TRACE_EVENT, L_ICMP6, error_rule(m->type), rx->datagram, rx->datagram_len);
    p->err(st, p->ctx, &e);
}

/* ---- echo -------------------------------------------------------------- */

static void
echo_request(struct tern_stack *st, const struct ip_rx *rx, const struct wire_icmp6 *m)
{
    st->stats.icmp6.rx_echo_request++;
    stack_trace(st, TERN_TRACE_RX, L_ICMP6, "RFC 4443 4.1: echo request", rx->datagram,
                rx->datagram_len);
    /* RFC 4443 4.2: the reply carries the request's identifier, sequence
     * and data, from the address the request went to; a request to a
     * group is answered from a unicast address of the interface. */
    struct ip6_out o;
    if (tern_ip_is_unspec6(rx->src) || !answer_route(st, rx->netif, rx->src, rx->dst, &o)) {
        return;
    }
    o.tclass = rx->tos;
    stack_trace(st, TERN_TRACE_EVENT, L_ICMP6, "RFC 4443 4.2: echo reply with the request's data",
                rx->datagram, rx->datagram_len);
    icmpv6_send(st, &o, WIRE_ICMP6_ECHO_REPLY, 0, (uint32_t)m->id << 16 | m->seq, m->payload,
                m->payload_len);
}

static void
echo_reply(struct tern_stack *st, const struct ip_rx *rx, const struct wire_icmp6 *m)
{
    st->stats.icmp6.rx_echo_reply++;
    if (st->ip->echo_fn == NULL) {
        stack_drop(st, TERN_DROP_ICMPV6_ECHO_NO_HANDLER, rx->datagram, rx->datagram_len);
        return;
    }
    stack_trace(st, TERN_TRACE_RX, L_ICMP6, "RFC 4443 4.2: echo reply passed to the user",
                rx->datagram, rx->datagram_len);
    struct tern_echo_reply r = {
        .id = m->id,
        .seq = m->seq,
        .ttl = rx->ttl,
        .data = m->payload,
        .len = m->payload_len,
        .v6 = true,
        .addr = rx->src,
    };
    st->ip->echo_fn(st->ip->echo_ctx, &r, st->now_ns);
}

/* ---- input ------------------------------------------------------------- */

void
icmpv6_input(struct tern_stack *st, const struct ip_rx *rx)
{
    struct wire_icmp6 m;
    struct wire_ipv6_addr src, dst;
    memcpy(src.b, rx->src.b, 16);
    memcpy(dst.b, rx->dst.b, 16);
    st->stats.icmp6.rx++;
    enum wire_err e = wire_icmp6_parse(rx->payload, rx->len, &src, &dst, &m);
    if (e != WIRE_OK) {
        stack_drop(st,
                   e == WIRE_ERR_ICMP6_CHECKSUM      ? TERN_DROP_ICMPV6_CHECKSUM
                   : e == WIRE_ERR_ICMP6_ERR_PAYLOAD ? TERN_DROP_ICMPV6_ERR_PAYLOAD
                                                     : TERN_DROP_ICMPV6_TRUNCATED,
                   rx->datagram, rx->datagram_len);
        return;
    }
    switch (m.type) {
    case WIRE_ICMP6_ECHO_REQUEST:
        echo_request(st, rx, &m);
        return;
    case WIRE_ICMP6_ECHO_REPLY:
        echo_reply(st, rx, &m);
        return;
    case WIRE_ND_ROUTER_SOLICIT:
    case WIRE_ND_ROUTER_ADVERT:
    case WIRE_ND_NEIGHBOR_SOLICIT:
    case WIRE_ND_NEIGHBOR_ADVERT:
    case WIRE_ND_REDIRECT:
        nd_input(st, rx, rx->payload, rx->len);
        return;
    default:
        if (wire_icmp6_is_error(m.type)) {
            /* RFC 4443 2.4 (a): errors, known or not, reach the upper layer. */
            error_input(st, rx, &m);
            return;
        }
        /* RFC 4443 2.4 (b): an unknown informational message is dropped. */
        stack_drop(st, TERN_DROP_ICMPV6_UNKNOWN_TYPE, rx->datagram, rx->datagram_len);
        return;
    }
}

/* ---- public API -------------------------------------------------------- */

int
tern_icmp_echo_send_ip(struct tern_stack *st, struct tern_ip dst, uint16_t id, uint16_t seq,
                       const uint8_t *data, size_t len, int64_t now_ns)
{
    if (st == NULL || (data == NULL && len != 0)) {
        return TERN_ERR_INVAL;
    }
    if (tern_ip_is4(dst)) {
        return tern_icmp_echo_send(st, tern_ip_v4(dst), id, seq, data, len, now_ns);
    }
    stack_set_now(st, now_ns);
    struct ip6_out o = {.dst = dst};
    o.netif = ip6_route(st, dst, &o.next_hop);
    if (o.netif < 0) {
        stack_drop(st, TERN_DROP_IPV6_NO_ROUTE, NULL, 0);
        return TERN_ERR_NOROUTE;
    }
    o.src = ip6_select_src(st, o.netif, dst);
    if (tern_ip_is_unspec6(o.src)) {
        stack_drop(st, TERN_DROP_IPV6_NO_ROUTE, NULL, 0);
        return TERN_ERR_NOROUTE;
    }
    return icmpv6_send(st, &o, WIRE_ICMP6_ECHO_REQUEST, 0, (uint32_t)id << 16 | seq, data, len);
}
