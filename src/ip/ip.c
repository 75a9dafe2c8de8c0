/*
 * src/ip/ip.c: IPv4 input checks, delivery to the transports, routing and
 * output with fragmentation, for a host (we never forward).
 *
 * Read first: RFC 791 3.1 (header) and 3.2 (fragmentation, identification),
 * RFC 1122 3.2.1 (what a host checks on input), 3.3.1 (routing outbound),
 * 3.3.4 (multihoming), 3.3.6 (broadcast forms), and ip.h for the contracts.
 */
#include "ip/ip.h"

#include <string.h>

#include "core/core.h"
#include "core/netif.h"
#include "ip/ip_internal.h"
#include "ip/nd.h"
#include "link/link.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define transmit_one(st, netif, next_hop, h, parts, n_parts, len, rule)                            \
    (transmit_one)(st, netif, next_hop, h, parts, n_parts, len, TERN_RULE_ARG(rule))
#endif

static const char L_IP[] = "ip";

/* ---- addresses -------------------------------------------------------- */

static uint32_t
prefix_mask(uint8_t prefix_len)
{
    return prefix_len == 0 ? 0 : ~0u << (32 - prefix_len);
}

bool
ip_addr_is_ours(const struct tern_stack *st, uint32_t addr)
{
    if (addr == 0) {
        return false; /* an interface without an address yet (0) owns none */
    }
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (st->cfg.netifs[i].addr == addr) {
            return true;
        }
    }
    return false;
}

bool
ip_addr_is_broadcast(const struct tern_stack *st, int netif, uint32_t addr)
{
    return netif_addr_is_broadcast(&st->cfg, netif, addr);
}

bool
ip_addr_is_single_host(const struct tern_stack *st, uint32_t a)
{
    return a != 0 && !ip_addr_is_loopback(a) && !ip_addr_is_multicast(a) &&
           !ip_addr_is_class_e(a) && !ip_addr_is_broadcast(st, -1, a);
}

/* ---- init ------------------------------------------------------------- */

/* ---- loopback ---------------------------------------------------------- */

/* The netif that owns `addr` (weak host model), or -1. */
static int
netif_of_addr(const struct tern_stack *st, uint32_t addr)
{
    for (unsigned i = 0; i < st->cfg.n_netifs && addr != 0; i++) {
        if (st->cfg.netifs[i].addr == addr) {
            return (int)i;
        }
    }
    return -1;
}

/* Delivers what the stack sent to itself, oldest first; what these
 * deliveries send to ourselves again waits for the next turn. */
static void
loop_deliver(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct ip_state *ip = st->ip;
    (void)t;
    (void)now_ns;
    for (unsigned n = ip->loop_count; n > 0 && ip->loop_count > 0; n--) {
        unsigned slot = ip->loop_head;
        ip->loop_head = (ip->loop_head + 1) % ip->loop_slots;
        ip->loop_count--;
        const uint8_t *pkt = ip->loop_buf + (size_t)slot * ip->tx_buf_len;
        if (ip->loop_len[slot] > 0 && (pkt[0] >> 4) == 6) {
            ipv6_input_looped(st, ip->loop_netif[slot], pkt, ip->loop_len[slot]);
        } else {
            ipv4_input(st, ip->loop_netif[slot], pkt, ip->loop_len[slot]);
        }
    }
    if (ip->loop_count > 0) {
        timer_arm(&st->timers, &ip->t_loop, st->now_ns);
    }
}

/* A datagram for one of our own addresses is ours to receive (RFC 1122
 * 3.2.1.3); the link would not bring it back, so it never goes there (our
 * choice: RFC 1122 leaves self-addressed datagrams to the host). Queued,
 * then handed to our own input by a timer due now, as if it had arrived
 * on the owning interface. */
int
ip_loop_queue(struct tern_stack *st, int netif, const uint8_t *dgram, size_t len)
{
    struct ip_state *ip = st->ip;
    if (ip->loop_count == ip->loop_slots || len > ip->tx_buf_len) {
        stack_drop(st, TERN_DROP_IP_LOOP_FULL, dgram, len);
        return TERN_OK; /* a loss like any other: TCP retransmits */
    }
    unsigned slot = (ip->loop_head + ip->loop_count) % ip->loop_slots;
    memcpy(ip->loop_buf + (size_t)slot * ip->tx_buf_len, dgram, len);
    ip->loop_len[slot] = (uint16_t)len;
    ip->loop_netif[slot] = (uint8_t)netif;
    ip->loop_count++;
    if (!timer_armed(&ip->t_loop)) {
        timer_arm(&st->timers, &ip->t_loop, st->now_ns);
    }
    return TERN_OK;
}

int
ip_init(struct tern_stack *st)
{
    struct ip_state *ip = st->ip;
    memset(ip, 0, sizeof(*ip));
    /* RFC 791 3.2 / RFC 6864: the identification only has to be unique per
     * (src, dst, proto) while fragments may live; start it somewhere random
     * so that two runs of a host do not reuse the same values at once. */
    ip->next_id = (uint16_t)rng_next(&st->rng);
    size_t mtu = 68;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (st->cfg.netifs[i].mtu > mtu) {
            mtu = st->cfg.netifs[i].mtu;
        }
    }
    ip->tx_buf = stack_alloc(st, mtu);
    if (ip->tx_buf == NULL) {
        return TERN_ERR_NOMEM;
    }
    ip->tx_buf_len = mtu;
    ip->loop_slots = st->cfg.loopback_slots ? st->cfg.loopback_slots : 16;
    ip->icmp_tokens = st->cfg.icmp_error_burst ? st->cfg.icmp_error_burst : ICMP_ERROR_BURST;
    ip->icmp_refill_ns = st->now_ns;
    ip->loop_buf = stack_alloc(st, (size_t)ip->loop_slots * mtu);
    ip->loop_len = stack_alloc(st, ip->loop_slots * sizeof(*ip->loop_len));
    ip->loop_netif = stack_alloc(st, ip->loop_slots);
    if (ip->loop_buf == NULL || ip->loop_len == NULL || ip->loop_netif == NULL) {
        return TERN_ERR_NOMEM;
    }
    timer_init(&ip->t_loop, loop_deliver);
    int rc = ip_reass_init(st);
    return rc == TERN_OK ? ip6_init(st) : rc;
}

void
ip_fini(struct tern_stack *st)
{
    struct ip_state *ip = st->ip;
    ip6_fini(st);
    ip_reass_fini(st);
    stack_dealloc(st, ip->loop_buf, (size_t)ip->loop_slots * ip->tx_buf_len);
    stack_dealloc(st, ip->loop_len, ip->loop_slots * sizeof(*ip->loop_len));
    stack_dealloc(st, ip->loop_netif, ip->loop_slots);
    ip->loop_buf = NULL;
    ip->loop_len = NULL;
    ip->loop_netif = NULL;
    ip->loop_slots = 0;
    stack_dealloc(st, ip->tx_buf, ip->tx_buf_len);
    ip->tx_buf = NULL;
    ip->tx_buf_len = 0;
}

/* ---- protocols -------------------------------------------------------- */

int
ip_register_proto(struct tern_stack *st, uint8_t proto, ip_input_fn input, ip_err_fn err, void *ctx)
{
    if (st == NULL || input == NULL) {
        return TERN_ERR_INVAL;
    }
    if (proto == WIRE_IPPROTO_ICMP || proto == 58 /* ICMPv6 */ ||
        ip_find_proto(st, proto) != NULL) {
        return TERN_ERR_EXIST;
    }
    for (size_t i = 0; i < IP_MAX_PROTOS; i++) {
        struct ip_proto *p = &st->ip->protos[i];
        if (!p->used) {
            *p = (struct ip_proto){
                .used = true, .proto = proto, .input = input, .err = err, .ctx = ctx};
            return TERN_OK;
        }
    }
    return TERN_ERR_NOBUFS;
}

const struct ip_proto *
ip_find_proto(const struct tern_stack *st, uint8_t proto)
{
    for (size_t i = 0; i < IP_MAX_PROTOS; i++) {
        const struct ip_proto *p = &st->ip->protos[i];
        if (p->used && p->proto == proto) {
            return p;
        }
    }
    return NULL;
}

/* ---- input ------------------------------------------------------------ */

void
ip_input_raw(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len)
{
    /* A raw-IP link carries both families; the version nibble tells them
     * apart (RFC 791 3.1, RFC 8200 3). */
    if (len > 0 && (pkt[0] >> 4) == 6) {
        ipv6_input(st, netif, pkt, len);
    } else {
        ipv4_input(st, netif, pkt, len);
    }
}

static enum tern_drop_reason
drop_of_wire(enum wire_err e)
{
    switch (e) {
    case WIRE_ERR_IP_VERSION:
        return TERN_DROP_IP_VERSION;
    case WIRE_ERR_IP_HLEN:
        return TERN_DROP_IP_HLEN;
    case WIRE_ERR_IP_TOTLEN:
        return TERN_DROP_IP_TOTLEN;
    case WIRE_ERR_IP_CHECKSUM:
        return TERN_DROP_IP_CHECKSUM;
    case WIRE_ERR_IP_OPTION:
        return TERN_DROP_IP_OPTION;
    default: /* WIRE_ERR_IP_TRUNCATED; the parser returns no other */
        return TERN_DROP_IP_TRUNCATED;
    }
}

/* RFC 1122 3.2.1.3: a host MUST silently discard a datagram whose source is
 * not a legal host address. */
static bool
src_is_valid(const struct tern_stack *st, int netif, uint32_t src, bool dst_bcast)
{
    /* Choice: {0,0} is legal only while a host learns its address
     * (3.2.1.3 (a)), and such a host can only send to a broadcast address
     * (BOOTP/DHCP); from 0 to a unicast address is dropped. */
    if (src == 0) {
        return dst_bcast;
    }
    /* (c)-(f): no broadcast form as source; class D and E are not hosts. */
    if (ip_addr_is_multicast(src) || ip_addr_is_class_e(src) ||
        ip_addr_is_broadcast(st, netif, src)) {
        return false;
    }
    /* (g): 127/8 never appears outside a host; we call an interface whose
     * own address is 127/8 a loopback interface. */
    if (ip_addr_is_loopback(src) && !ip_addr_is_loopback(st->cfg.netifs[netif].addr)) {
        return false;
    }
    return true;
}

void
ipv4_input(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len)
{
    struct wire_ipv4 h;
    st->stats.ip.rx++;
    enum wire_err e = wire_ipv4_parse(pkt, len, &h);
    if (e != WIRE_OK) {
        stack_drop(st, drop_of_wire(e), pkt, len);
        return;
    }
    size_t dlen = h.total_len; /* link padding after total_len is not ours */
    /* RFC 1122 3.2.1.3: ours if one of our addresses (any interface: the
     * weak host model, which 3.3.4.2 allows), or a broadcast address valid
     * on the arrival interface. We join no multicast group (no IGMP). */
    bool bcast = ip_addr_is_broadcast(st, netif, h.dst);
    if (!bcast && !ip_addr_is_ours(st, h.dst)) {
        stack_drop(st, TERN_DROP_IP_NOT_OURS, pkt, dlen);
        return;
    }
    if (!src_is_valid(st, netif, h.src, bcast)) {
        stack_drop(st, TERN_DROP_IP_BAD_SRC, pkt, dlen);
        return;
    }
    if (wire_ipv4_has_source_route(&h)) {
        /* Choice (docs/ip-options.md): a host that neither forwards nor
         * keeps return routes drops source-routed datagrams, as RFC 7126
         * 4.3.5 and 4.4.5 advise by default and Linux does
         * (accept_source_route 0). Every fragment carries the option (its
         * copied flag is set), so this comes before reassembly. RFC 9293
         * 3.9.2.1 MUST-51/52/53 then never apply: no source route is sent,
         * and none is received to be reversed. */
        stack_drop(st, TERN_DROP_IP_SOURCE_ROUTE, pkt, dlen);
        return;
    }
    if (h.mf || h.frag_off != 0) {
        /* RFC 791 3.2: a fragment waits for the rest of its datagram. */
        ip_reass_input(st, netif, &h, pkt);
        return;
    }
    stack_trace(st, TERN_TRACE_RX, L_IP,
                bcast ? TERN_RULE("RFC 1122 3.3.6: accepted, addressed to a broadcast address")
                      : TERN_RULE("RFC 1122 3.2.1.3: accepted, addressed to one of our addresses"),
                pkt, dlen);
    ip_deliver(st, netif, &h, pkt, dlen);
}

void
ip_deliver(struct tern_stack *st, int netif, const struct wire_ipv4 *h, const uint8_t *dgram,
           size_t dgram_len)
{
    struct ip_rx rx = {
        .src = tern_ip4(h->src),
        .dst = tern_ip4(h->dst),
        .proto = h->proto,
        .ttl = h->ttl,
        .tos = h->tos,
        .netif = netif,
        .payload = h->payload,
        .len = h->payload_len,
        .datagram = dgram,
        .datagram_len = dgram_len,
    };
    if (h->proto == WIRE_IPPROTO_ICMP) {
        st->stats.ip.rx_delivered++;
        icmp_input(st, &rx);
        return;
    }
    const struct ip_proto *p = ip_find_proto(st, h->proto);
    if (p != NULL) {
        st->stats.ip.rx_delivered++;
        p->input(st, p->ctx, &rx);
        return;
    }
    /* RFC 1122 3.2.2.1: protocol unreachable to the sender; icmp_send_error
     * applies the 3.2.2 exceptions (broadcast destination and the rest). */
    stack_drop(st, TERN_DROP_IP_PROTO_UNREACH, dgram, dgram_len);
    icmp_send_error(st, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_UNREACH_PROTO, 0, dgram, dgram_len);
}

/* ---- routing ---------------------------------------------------------- */

/* RFC 1122 3.3.1.1: a destination on a connected (sub)net is sent to
 * directly; the longest matching prefix wins between interfaces. */
static int
route_connected(const struct tern_stack *st, uint32_t dst)
{
    int best = -1;
    int best_len = -1;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        const struct tern_netif_config *n = &st->cfg.netifs[i];
        uint32_t mask = prefix_mask(n->prefix_len);
        if (n->addr != 0 && (dst & mask) == (n->addr & mask) && (int)n->prefix_len > best_len) {
            best = (int)i;
            best_len = n->prefix_len;
        }
    }
    return best;
}

int
ip_route(const struct tern_stack *st, uint32_t dst, uint32_t *next_hop)
{
    int netif = route_connected(st, dst);
    if (netif >= 0) {
        *next_hop = dst;
        return netif;
    }
    /* Choice: the limited broadcast never leaves the link; send it on the
     * first interface without an address (one that is asking for one, by
     * DHCP), else the first interface (3.3.6 takes no stand on multihomed
     * hosts). */
    if (dst == 0xffffffffu && st->cfg.n_netifs > 0) {
        int out = 0;
        for (unsigned i = st->cfg.n_netifs; i-- > 0;) {
            if (st->cfg.netifs[i].addr == 0) {
                out = (int)i;
            }
        }
        *next_hop = dst;
        return out;
    }
    /* 3.3.1.1: anything else goes to a gateway on a connected network; we
     * have one, the default (tern_stack_new checked it is on a subnet). */
    if (st->cfg.default_gateway != 0) {
        netif = route_connected(st, st->cfg.default_gateway);
        if (netif >= 0) {
            *next_hop = st->cfg.default_gateway;
            return netif;
        }
    }
    return -1;
}

/* ---- output ----------------------------------------------------------- */

void
ip_gather(const struct ip_part *parts, size_t n_parts, size_t off, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n_parts && n > 0; i++) {
        if (off >= parts[i].len) {
            off -= parts[i].len;
            continue;
        }
        size_t take = parts[i].len - off;
        if (take > n) {
            take = n;
        }
        memcpy(out, parts[i].data + off, take);
        out += take;
        n -= take;
        off = 0;
    }
}

/* Builds one datagram (or fragment) in tx_buf and hands it to the driver. */
static int(transmit_one)(struct tern_stack *st, int netif, uint32_t next_hop, struct wire_ipv4 *h,
                         const struct ip_part *parts, size_t n_parts, size_t len, const char *rule)
{
    uint8_t *buf = st->ip->tx_buf;
    h->total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + len);
    wire_ipv4_emit(h, buf);
    ip_gather(parts, n_parts, h->frag_off, buf + WIRE_IPV4_HDR_LEN, len);
    size_t tot = WIRE_IPV4_HDR_LEN + len;
    const struct tern_netif_config *n = &st->cfg.netifs[netif];
    int rc = TERN_OK;
    /* An interface whose own address is 127/8 is a loopback link itself
     * (see src_is_valid): its driver loops, not us. */
    int self = ip_addr_is_loopback(h->dst) ? -1 : netif_of_addr(st, h->dst);
    if (self >= 0) {
        rc = ip_loop_queue(st, self, buf, tot);
    } else if (n->link == TERN_LINK_ETHERNET) {
        /* RFC 894 / RFC 826: framed, after the next hop is resolved; the
         * link layer counts its own refusals (ARP_*). */
        rc = link_output_ipv4(st, netif, next_hop, buf, tot);
    } else if (n->transmit(n->transmit_ctx, netif, buf, tot, next_hop) < 0) {
        rc = TERN_ERR_TXFAIL;
    }
    if (rc == TERN_ERR_TXFAIL) {
        stack_drop(st, TERN_DROP_IP_TX_FAILED, buf, tot);
        return TERN_ERR_TXFAIL;
    }
    if (rc != TERN_OK) {
        return rc;
    }
    st->stats.ip.tx++;
    stack_trace(st, TERN_TRACE_TX, L_IP, rule, buf, tot);
    return TERN_OK;
}

int
ipv4_output(struct tern_stack *st, const struct ip_send *s, const struct ip_part *parts,
            size_t n_parts)
{
    size_t len = 0;
    for (size_t i = 0; i < n_parts; i++) {
        len += parts[i].len;
    }
    if (len > IP_MAX_PAYLOAD) {
        stack_drop(st, TERN_DROP_IP_TOO_LONG, NULL, 0);
        return TERN_ERR_MSGSIZE;
    }
    uint32_t next_hop = 0;
    int netif = ip_route(st, s->dst, &next_hop);
    if (netif < 0) {
        stack_drop(st, TERN_DROP_IP_NO_ROUTE, NULL, 0);
        return TERN_ERR_NOROUTE;
    }
    size_t mtu = st->cfg.netifs[netif].mtu;
    struct wire_ipv4 h = {
        .tos = s->tos,
        .id = st->ip->next_id++,
        .df = s->df,
        .ttl = s->ttl != 0 ? s->ttl : st->cfg.ttl,
        .proto = s->proto,
        .src = s->src != 0 ? s->src : st->cfg.netifs[netif].addr,
        .dst = s->dst,
    };
    if (WIRE_IPV4_HDR_LEN + len <= mtu) {
        return transmit_one(st, netif, next_hop, &h, parts, n_parts, len, "RFC 791: datagram sent");
    }
    if (s->df) {
        /* RFC 791 2.3: Don't Fragment forbids it; the caller must shrink. */
        stack_drop(st, TERN_DROP_IP_DF_TOO_BIG, NULL, 0);
        return TERN_ERR_MSGSIZE;
    }
    /* RFC 791 3.2: every fragment but the last carries a multiple of 8
     * bytes; each is a whole datagram with the same id, its own offset and
     * MF set on all but the last. */
    size_t chunk = (mtu - WIRE_IPV4_HDR_LEN) & ~(size_t)7;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        h.frag_off = (uint16_t)off;
        h.mf = off + n < len;
        int rc =
            transmit_one(st, netif, next_hop, &h, parts, n_parts, n, "RFC 791 3.2: fragment sent");
        if (rc != TERN_OK) {
            return rc;
        }
    }
    st->stats.ip.tx_fragmented++;
    return TERN_OK;
}

/* ---- either family, for the transports ------------------------------- */

int
ip_output(struct tern_stack *st, const struct ip_tx *s, const struct ip_part *parts, size_t n_parts)
{
    if (!tern_ip_is4(s->dst)) {
        return ipv6_output(st, s, parts, n_parts);
    }
    struct ip_send v4 = {
        .src = tern_ip_v4(s->src),
        .dst = tern_ip_v4(s->dst),
        .proto = s->proto,
        .ttl = s->hop_limit,
        .tos = s->tclass,
        .df = s->df,
    };
    return ipv4_output(st, &v4, parts, n_parts);
}

int
ip_route_src(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *src, uint32_t *mtu)
{
    if (!tern_ip_is4(dst)) {
        return ipv6_route_src(st, dst, src, mtu);
    }
    uint32_t next_hop;
    int netif = ip_route(st, tern_ip_v4(dst), &next_hop);
    if (netif < 0) {
        return -1;
    }
    if (src != NULL) {
        *src = tern_ip4(st->cfg.netifs[netif].addr);
    }
    if (mtu != NULL) {
        *mtu = st->cfg.netifs[netif].mtu;
    }
    return netif;
}

bool
ip_is_ours(const struct tern_stack *st, struct tern_ip a)
{
    if (!tern_ip_is4(a)) {
        return ipv6_is_ours(st, a);
    }
    uint32_t v4 = tern_ip_v4(a);
    return v4 != 0 && ip_addr_is_ours(st, v4);
}

bool
ip_is_multi(const struct tern_stack *st, int netif, struct tern_ip a)
{
    if (!tern_ip_is4(a)) {
        return a.b[0] == 0xff; /* RFC 4291 2.7 */
    }
    uint32_t v4 = tern_ip_v4(a);
    return (v4 >> 28) == 0xe || ip_addr_is_broadcast(st, netif, v4);
}

void
ip_send_port_unreach(struct tern_stack *st, const struct ip_rx *rx)
{
    if (rx->v6) {
        icmpv6_send_port_unreach(st, rx);
        return;
    }
    icmp_send_error(st, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_UNREACH_PORT, 0, rx->datagram,
                    rx->datagram_len);
}
