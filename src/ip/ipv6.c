/*
 * src/ip/ipv6.c: the IPv6 layer of a host (RFC 8200): input checks,
 * extension headers, delivery to ICMPv6 and the transports, addresses
 * (RFC 4291, link-local per RFC 4862 5.3 with RFC 7217 identifiers),
 * routing and source selection (RFC 4861 5.2, RFC 6724), output with
 * source fragmentation (RFC 8200 4.5, 5) and the path MTU cache (RFC 8201).
 *
 * Read first: RFC 8200 3-5, RFC 4291 2, RFC 4861 5.2, RFC 6724 5, RFC 8201
 * 4-5, and nd.h for what the IPv6 modules share.
 */
#include <string.h>

#include "core/core.h"
#include "core/siphash.h"
#include "ip/ip_internal.h"
#include "ip/nd.h"
#include "link/link.h"
#include "wire/ethernet.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

#ifdef TERN_NO_RULE_TEXT
#define transmit6(st, o, buf, len, rule) (transmit6)(st, o, buf, len, TERN_RULE_ARG(rule))
#endif

static const char L_IP6[] = "ipv6";

/* ---- addresses -------------------------------------------------------- */

static bool
is_multi(struct tern_ip a)
{
    return a.b[0] == 0xff; /* RFC 4291 2.7 */
}

static bool
is_link_local(struct tern_ip a)
{
    return a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80; /* RFC 4291 2.5.6 */
}

static bool
is_loopback6(struct tern_ip a)
{
    static const uint8_t one[16] = {[15] = 1};
    return memcmp(a.b, one, 16) == 0;
}

static bool
prefix_eq(struct tern_ip a, struct tern_ip b, unsigned plen)
{
    struct wire_ipv6_addr x = ip6_wa(a), y = ip6_wa(b);
    return wire_ipv6_addr_prefix_eq(&x, &y, plen);
}

static bool
addr_usable(const struct ip6_addr *a)
{
    return a->state == IP6_ADDR_PREFERRED || a->state == IP6_ADDR_DEPRECATED;
}

struct ip6_addr *
ip6_find_addr(const struct tern_stack *st, int netif, struct tern_ip a, int *netif_out)
{
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (netif >= 0 && (unsigned)netif != i) {
            continue;
        }
        struct ip6_netif *n = (struct ip6_netif *)&st->ip->v6.nif[i];
        if (!n->on) {
            continue;
        }
        for (unsigned k = 0; k < IP6_ADDRS; k++) {
            if (n->addr[k].state != IP6_ADDR_FREE && tern_ip_eq(n->addr[k].a, a)) {
                if (netif_out != NULL) {
                    *netif_out = (int)i;
                }
                return &n->addr[k];
            }
        }
    }
    return NULL;
}

/* RFC 7217 5: the interface identifier is a keyed hash of the prefix, the
 * interface and a DAD counter; the key is the stack's secret (hash_key,
 * drawn from cfg.seed), so it is stable for a given secret and prefix and
 * tells nothing about the link-layer address. */
struct tern_ip
ip6_stable_addr(const struct tern_stack *st, int netif, struct tern_ip prefix, unsigned dad_counter)
{
    uint8_t in[8 + 2 + 8] = {0};
    memcpy(in, prefix.b, 8);
    in[8] = (uint8_t)netif;
    in[9] = (uint8_t)dad_counter;
    memcpy(in + 10, "tern7217", 8);
    uint64_t h = siphash24(st->hash_key, in, sizeof(in));
    struct tern_ip a = prefix;
    for (int i = 0; i < 8; i++) {
        a.b[8 + i] = (uint8_t)(h >> (56 - 8 * i));
    }
    /* RFC 5453: never the subnet-router anycast (all zero) identifier. */
    if (h == 0) {
        a.b[15] = 1;
    }
    return a;
}

void
ip6_join_group(struct tern_stack *st, int netif, struct tern_ip group)
{
    struct ip6_netif *n = &st->ip->v6.nif[netif];
    if (!n->ethernet) {
        return;
    }
    /* RFC 2464 7: 33:33 and the group's low 32 bits. */
    uint8_t mac[6] = {0x33, 0x33, group.b[12], group.b[13], group.b[14], group.b[15]};
    for (unsigned i = 0; i < n->n_groups; i++) {
        if (memcmp(n->groups[i], mac, 6) == 0) {
            return;
        }
    }
    if (n->n_groups < IP6_GROUPS) {
        memcpy(n->groups[n->n_groups++], mac, 6);
        link_set_groups(st, netif, n->groups, n->n_groups);
    } else {
        stack_drop(st, TERN_DROP_ND_TABLE_FULL, NULL, 0);
    }
}

struct ip6_addr *
ip6_addr_add(struct tern_stack *st, int netif, struct tern_ip a, uint8_t plen, bool slaac,
             int64_t preferred_until, int64_t valid_until)
{
    struct ip6_netif *n = &st->ip->v6.nif[netif];
    struct ip6_addr *e = ip6_find_addr(st, netif, a, NULL);
    if (e == NULL) {
        for (unsigned k = 0; k < IP6_ADDRS && e == NULL; k++) {
            if (n->addr[k].state == IP6_ADDR_FREE) {
                e = &n->addr[k];
            }
        }
        if (e == NULL) {
            stack_drop(st, TERN_DROP_ND_TABLE_FULL, NULL, 0);
            return NULL;
        }
        *e = (struct ip6_addr){.a = a, .plen = plen, .slaac = slaac};
        /* RFC 4862 5.4: every unicast address is tentative until DAD is
         * done, on links where ND runs; RFC 4862 5.4.2: join the
         * solicited-node group first, to hear the answers. */
        struct wire_ipv6_addr w = ip6_wa(a);
        struct wire_ipv6_addr sn = wire_ipv6_addr_solicited_node(&w);
        struct tern_ip g;
        memcpy(g.b, sn.b, 16);
        ip6_join_group(st, netif, g);
        if (n->ethernet && st->cfg.nd_dad_transmits > 0) {
            e->state = IP6_ADDR_TENTATIVE;
            e->dad_next_ns = st->now_ns;
            ip6_timer_at(st, st->now_ns);
        } else {
            e->state = IP6_ADDR_PREFERRED;
        }
    }
    e->preferred_until = preferred_until;
    e->valid_until = valid_until;
    if (e->state == IP6_ADDR_DEPRECATED && preferred_until > st->now_ns) {
        e->state = IP6_ADDR_PREFERRED;
    }
    if (valid_until != IP6_FOREVER) {
        ip6_timer_at(st, preferred_until < valid_until ? preferred_until : valid_until);
    }
    return e;
}

bool
ipv6_is_ours(const struct tern_stack *st, struct tern_ip a)
{
    if (is_loopback6(a)) {
        return true;
    }
    const struct ip6_addr *e = ip6_find_addr(st, -1, a, NULL);
    return e != NULL && addr_usable(e);
}

/* RFC 4291 2.7.1: all-nodes, and the solicited-node group of each of our
 * addresses (tentative ones too: RFC 4862 5.4.2). */
static bool
group_is_ours(const struct tern_stack *st, int netif, struct tern_ip g)
{
    static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
    static const uint8_t all_nodes_if[16] = {0xff, 0x01, [15] = 1};
    if (memcmp(g.b, all_nodes, 16) == 0 || memcmp(g.b, all_nodes_if, 16) == 0) {
        return true;
    }
    struct wire_ipv6_addr w = ip6_wa(g);
    if (!wire_ipv6_addr_is_solicited_node(&w)) {
        return false;
    }
    const struct ip6_netif *n = &st->ip->v6.nif[netif];
    for (unsigned k = 0; k < IP6_ADDRS; k++) {
        if (n->addr[k].state != IP6_ADDR_FREE && memcmp(n->addr[k].a.b + 13, g.b + 13, 3) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- routing and source selection -------------------------------------- */

/* RFC 4861 5.2: a destination is on link when it matches a prefix of one
 * of the interface's addresses or the on-link prefix list; link-local
 * destinations are on every link. */
static int
on_link_netif(const struct tern_stack *st, struct tern_ip dst)
{
    const struct ip6_state *v6 = &st->ip->v6;
    int best = -1, best_len = -1;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        const struct ip6_netif *n = &v6->nif[i];
        if (!n->on) {
            continue;
        }
        for (unsigned k = 1; k < IP6_ADDRS; k++) {
            const struct ip6_addr *a = &n->addr[k];
            if (addr_usable(a) && !a->slaac && (int)a->plen > best_len &&
                prefix_eq(a->a, dst, a->plen)) {
                best = (int)i;
                best_len = a->plen;
            }
        }
    }
    for (unsigned p = 0; p < IP6_MAX_PREFIXES; p++) {
        const struct ip6_prefix *x = &v6->prefixes[p];
        if (x->used && x->until > st->now_ns && (int)x->plen > best_len &&
            prefix_eq(x->prefix, dst, x->plen)) {
            best = x->netif;
            best_len = x->plen;
        }
    }
    return best;
}

/* The interface for a link-scope destination: where its neighbour entry is,
 * else the first interface running IPv6 (the API carries no zone). */
static int
link_scope_netif(const struct tern_stack *st, struct tern_ip dst)
{
    int first = -1;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (!st->ip->v6.nif[i].on) {
            continue;
        }
        if (first < 0) {
            first = (int)i;
        }
        if (nd_find(st, (int)i, dst) != NULL) {
            return (int)i;
        }
    }
    return first;
}

int
ip6_route(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *next_hop)
{
    const struct ip6_state *v6 = &st->ip->v6;
    *next_hop = dst;
    int netif = -1;
    if (is_loopback6(dst)) {
        return link_scope_netif(st, dst);
    }
    if (ip6_find_addr(st, -1, dst, &netif) != NULL) {
        return netif; /* ourselves: the loopback queue */
    }
    if (is_multi(dst) || is_link_local(dst)) {
        return link_scope_netif(st, dst);
    }
    /* RFC 4861 5.2: the destination cache first (redirects), then the
     * prefix list, then a default router. */
    for (unsigned d = 0; d < IP6_MAX_DESTS; d++) {
        if (v6->dests[d].used && tern_ip_eq(v6->dests[d].dst, dst)) {
            *next_hop = v6->dests[d].next_hop;
            return v6->dests[d].netif;
        }
    }
    netif = on_link_netif(st, dst);
    if (netif >= 0) {
        return netif;
    }
    if (!tern_ip_is_unspec6(st->cfg.gateway6)) {
        struct tern_ip gw = st->cfg.gateway6;
        netif = is_link_local(gw) ? link_scope_netif(st, gw) : on_link_netif(st, gw);
        if (netif >= 0) {
            *next_hop = gw;
            return netif;
        }
    }
    if (nd_default_router(st, next_hop, &netif)) {
        return netif;
    }
    *next_hop = dst;
    return -1;
}

static unsigned
scope_of(struct tern_ip a)
{
    struct wire_ipv6_addr w = ip6_wa(a);
    return wire_ipv6_addr_scope(&w);
}

static unsigned
common_prefix(struct tern_ip a, struct tern_ip b)
{
    unsigned n = 0;
    for (int i = 0; i < 8; i++) { /* RFC 6724 2.2: up to the interface id */
        uint8_t x = a.b[i] ^ b.b[i];
        if (x == 0) {
            n += 8;
            continue;
        }
        while ((x & 0x80) == 0) {
            n++;
            x = (uint8_t)(x << 1);
        }
        break;
    }
    return n;
}

/* RFC 6724 5: true when source candidate a is better than b for dst
 * (rules 1, 2, 3 and 8; we have no home, mobility, labels or temporary
 * addresses, so rules 4-7 never decide). */
static bool
src_better(const struct ip6_addr *a, const struct ip6_addr *b, struct tern_ip dst)
{
    /* Rule 1: the destination itself. */
    if (tern_ip_eq(a->a, dst) != tern_ip_eq(b->a, dst)) {
        return tern_ip_eq(a->a, dst);
    }
    /* Rule 2: the appropriate scope. */
    unsigned sa = scope_of(a->a), sb = scope_of(b->a), sd = scope_of(dst);
    if (sa < sb) {
        return !(sa < sd);
    }
    if (sb < sa) {
        return sb < sd;
    }
    /* Rule 3: avoid deprecated addresses. */
    if ((a->state == IP6_ADDR_DEPRECATED) != (b->state == IP6_ADDR_DEPRECATED)) {
        return b->state == IP6_ADDR_DEPRECATED;
    }
    /* Rule 8: the longest matching prefix. */
    return common_prefix(a->a, dst) > common_prefix(b->a, dst);
}

struct tern_ip
ip6_select_src(const struct tern_stack *st, int netif, struct tern_ip dst)
{
    struct tern_ip none = {{0}};
    if (netif < 0 || (unsigned)netif >= st->cfg.n_netifs) {
        return none;
    }
    if (is_loopback6(dst)) {
        return dst;
    }
    const struct ip6_netif *n = &st->ip->v6.nif[netif];
    const struct ip6_addr *best = NULL;
    /* Our own address as destination: itself (rule 1), on whatever netif. */
    const struct ip6_addr *self = ip6_find_addr(st, -1, dst, NULL);
    if (self != NULL && addr_usable(self)) {
        return dst;
    }
    for (unsigned k = 0; k < IP6_ADDRS; k++) {
        const struct ip6_addr *a = &n->addr[k];
        if (addr_usable(a) && (best == NULL || src_better(a, best, dst))) {
            best = a;
        }
    }
    return best != NULL ? best->a : none;
}

/* ---- path MTU (RFC 8201) ----------------------------------------------- */

uint32_t
ip6_path_mtu(const struct tern_stack *st, int netif, struct tern_ip dst)
{
    const struct ip6_state *v6 = &st->ip->v6;
    uint32_t mtu = v6->nif[netif].mtu;
    for (unsigned i = 0; i < v6->n_pmtu; i++) {
        const struct ip6_pmtu *p = &v6->pmtu[i];
        if (p->used && p->until > st->now_ns && tern_ip_eq(p->dst, dst) && p->mtu < mtu) {
            mtu = p->mtu;
        }
    }
    return mtu;
}

bool
ip6_pmtu_update(struct tern_stack *st, struct tern_ip dst, uint32_t mtu)
{
    struct ip6_state *v6 = &st->ip->v6;
    struct tern_ip nh;
    int netif = ip6_route(st, dst, &nh);
    if (netif < 0 || v6->n_pmtu == 0) {
        return false;
    }
    /* RFC 8201 4: never below the IPv6 minimum link MTU, never raised by a
     * packet too big. */
    if (mtu < WIRE_IPV6_MIN_MTU) {
        mtu = WIRE_IPV6_MIN_MTU;
    }
    if (mtu >= ip6_path_mtu(st, netif, dst)) {
        return false;
    }
    struct ip6_pmtu *slot = NULL;
    for (unsigned i = 0; i < v6->n_pmtu; i++) {
        struct ip6_pmtu *p = &v6->pmtu[i];
        if (p->used && tern_ip_eq(p->dst, dst)) {
            slot = p;
            break;
        }
        /* A free or expired entry, else the one that expires first. */
        if (slot == NULL || !p->used || p->until <= st->now_ns ||
            (slot->used && slot->until > st->now_ns && p->until < slot->until)) {
            if (slot == NULL || slot->used) {
                slot = p;
            }
        }
    }
    *slot = (struct ip6_pmtu){
        .used = true, .dst = dst, .mtu = mtu, .until = st->now_ns + IP6_PMTU_AGE_NS};
    return true;
}

/* ---- input ------------------------------------------------------------- */

static enum tern_drop_reason
drop_of_parse(enum wire_err e)
{
    switch (e) {
    case WIRE_ERR_IP6_VERSION:
        return TERN_DROP_IPV6_VERSION;
    case WIRE_ERR_IP6_PAYLOAD_LEN:
        return TERN_DROP_IPV6_PAYLOAD_LEN;
    default:
        return TERN_DROP_IPV6_TRUNCATED;
    }
}

static void
deliver(struct tern_stack *st, int netif, const struct wire_ipv6 *h, uint8_t proto,
        size_t proto_off, const uint8_t *payload, size_t payload_len, const uint8_t *dgram,
        size_t dgram_len)
{
    struct ip_rx rx = {
        .v6 = true,
        .proto = proto,
        .ttl = h->hop_limit,
        .tos = h->tclass,
        .netif = netif,
        .payload = payload,
        .len = payload_len,
        .datagram = dgram,
        .datagram_len = dgram_len,
    };
    memcpy(rx.src.b, h->src.b, 16);
    memcpy(rx.dst.b, h->dst.b, 16);
    if (proto == WIRE_IPV6_NH_NONE) {
        stack_drop(st, TERN_DROP_IPV6_NO_NEXT_HEADER, dgram, dgram_len);
        return;
    }
    if (proto == WIRE_IPV6_NH_ICMPV6) {
        st->stats.ip6.rx_delivered++;
        icmpv6_input(st, &rx);
        return;
    }
    const struct ip_proto *p = ip_find_proto(st, proto);
    if (p != NULL) {
        st->stats.ip6.rx_delivered++;
        p->input(st, p->ctx, &rx);
        return;
    }
    /* RFC 8200 4: an unrecognised Next Header discards the packet with a
     * parameter problem, code 1, pointing at the field that named it. */
    stack_drop(st, TERN_DROP_IPV6_NEXT_HEADER, dgram, dgram_len);
    icmpv6_send_error(st, netif, WIRE_ICMP6_PARAM_PROBLEM, WIRE_IPV6_PP_NEXT_HEADER,
                      (uint32_t)proto_off, dgram, dgram_len, false);
}

static void
input6(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len, bool looped)
{
    struct wire_ipv6 h;
    st->stats.ip6.rx++;
    if (!st->ip->v6.nif[netif].on) {
        stack_drop(st, TERN_DROP_IPV6_NOT_OURS, pkt, len);
        return;
    }
    enum wire_err e = wire_ipv6_parse(pkt, len, &h);
    if (e != WIRE_OK) {
        stack_drop(st, drop_of_parse(e), pkt, len);
        return;
    }
    size_t dlen = WIRE_IPV6_HDR_LEN + (size_t)h.payload_len;
    struct tern_ip src, dst;
    memcpy(src.b, h.src.b, 16);
    memcpy(dst.b, h.dst.b, 16);
    bool multi = is_multi(dst);
    if (multi) {
        if (!group_is_ours(st, netif, dst)) {
            stack_drop(st, TERN_DROP_IPV6_NOT_OURS, pkt, dlen);
            return;
        }
    } else if (is_loopback6(dst)) {
        /* RFC 4291 2.5.3: ::1 never arrives from a link. */
        if (!looped) {
            stack_drop(st, TERN_DROP_IPV6_NOT_OURS, pkt, dlen);
            return;
        }
    } else {
        /* Ours on any interface (weak host model), but a link-local
         * address only on its own link (RFC 4007 6). */
        int owner = -1;
        const struct ip6_addr *a = ip6_find_addr(st, -1, dst, &owner);
        if (a == NULL || (is_link_local(dst) && owner != netif && !looped) ||
            a->state == IP6_ADDR_DUPLICATE) {
            stack_drop(st, TERN_DROP_IPV6_NOT_OURS, pkt, dlen);
            return;
        }
        if (a->state == IP6_ADDR_TENTATIVE) {
            /* RFC 4862 5.4: packets to a tentative address are discarded. */
            stack_drop(st, TERN_DROP_IPV6_TENTATIVE, pkt, dlen);
            return;
        }
    }
    /* RFC 4291 2.7: a multicast address is never a source; ::1 never comes
     * from a link (2.5.3). */
    if (is_multi(src) || (is_loopback6(src) && !looped)) {
        stack_drop(st, TERN_DROP_IPV6_BAD_SRC, pkt, dlen);
        return;
    }
    struct wire_ipv6_chain c;
    e = wire_ipv6_walk(pkt, &h, &c);
    if (e != WIRE_OK) {
        enum tern_drop_reason r = TERN_DROP_IPV6_EXT_HDR;
        uint8_t code = c.err_icmp >= 0 ? (uint8_t)c.err_icmp : 0;
        bool multi_ok = false;
        if (e == WIRE_ERR_IP6_OPT_UNKNOWN) {
            /* RFC 8200 4.2: the option's two high bits say what to do;
             * action 10 answers even a multicast destination (RFC 4443
             * 2.4 (e.3)). */
            r = TERN_DROP_IPV6_OPTION;
            multi_ok = c.opt_action == WIRE_IPV6_OPT_DISCARD_ICMP;
        } else if (e == WIRE_ERR_IP6_RH0 || e == WIRE_ERR_IP6_RH_UNKNOWN) {
            r = TERN_DROP_IPV6_ROUTING;
        }
        stack_drop(st, r, pkt, dlen);
        if (c.err_icmp >= 0) {
            icmpv6_send_error(st, netif, WIRE_ICMP6_PARAM_PROBLEM, code, (uint32_t)c.err_ptr, pkt,
                              dlen, multi_ok);
        }
        return;
    }
    if (c.has_frag && !c.frag_atomic) {
        /* RFC 8200 4.5: a fragment waits for the rest of its packet. */
        ip6_reass_input(st, netif, &h, &c, pkt, dlen);
        return;
    }
    stack_trace(st, TERN_TRACE_RX, L_IP6,
                multi ? TERN_RULE("RFC 4291 2.7.1: accepted, addressed to a group we are in")
                      : TERN_RULE("RFC 8200 3: accepted, addressed to one of our addresses"),
                pkt, dlen);
    /* RFC 6946: an atomic fragment is processed as a whole packet. */
    deliver(st, netif, &h, c.proto, c.proto_off, c.payload, c.payload_len, pkt, dlen);
}

void
ipv6_input(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len)
{
    input6(st, netif, pkt, len, false);
}

void
ipv6_input_looped(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len)
{
    input6(st, netif, pkt, len, true);
}

/* The reassembled packet (ip6_reass.c): walked again (its Next Header
 * now names what followed the fragment header) and delivered. */
void
ip6_deliver_reassembled(struct tern_stack *st, int netif, uint8_t *pkt, size_t len)
{
    struct wire_ipv6 h;
    struct wire_ipv6_chain c;
    if (wire_ipv6_parse(pkt, len, &h) != WIRE_OK || wire_ipv6_walk(pkt, &h, &c) != WIRE_OK ||
        c.has_frag) {
        stack_drop(st, TERN_DROP_REASS6_BAD_FRAGMENT, pkt, len);
        return;
    }
    st->stats.ip6.reassembled++;
    stack_trace(st, TERN_TRACE_RX, L_IP6, "RFC 8200 4.5: packet reassembled from its fragments",
                pkt, len);
    deliver(st, netif, &h, c.proto, c.proto_off, c.payload, c.payload_len, pkt, len);
}

/* ---- output ------------------------------------------------------------ */

static int(transmit6)(struct tern_stack *st, const struct ip6_out *o, const uint8_t *buf,
                      size_t len, const char *rule)
{
    const struct tern_netif_config *n = &st->cfg.netifs[o->netif];
    int rc = TERN_OK;
    int self = -1;
    if (is_loopback6(o->dst) || ip6_find_addr(st, -1, o->dst, &self) != NULL) {
        rc = ip_loop_queue(st, self >= 0 ? self : o->netif, buf, len);
    } else if (n->link == TERN_LINK_ETHERNET) {
        if (is_multi(o->dst)) {
            /* RFC 2464 7: a group maps to 33:33 and its low 32 bits. */
            uint8_t mac[6] = {0x33, 0x33, o->dst.b[12], o->dst.b[13], o->dst.b[14], o->dst.b[15]};
            rc = eth_send(st, o->netif, mac, WIRE_ETHERTYPE_IPV6, buf, len, 0);
        } else {
            rc = nd_resolve_and_send(st, o->netif, o->next_hop, buf, len);
        }
    } else if (n->transmit(n->transmit_ctx, o->netif, buf, len, 0) < 0) {
        rc = TERN_ERR_TXFAIL;
    }
    if (rc == TERN_ERR_TXFAIL) {
        stack_drop(st, TERN_DROP_IPV6_TX_FAILED, buf, len);
        return rc;
    }
    if (rc != TERN_OK) {
        return rc;
    }
    st->stats.ip6.tx++;
    stack_trace(st, TERN_TRACE_TX, L_IP6, rule, buf, len);
    return TERN_OK;
}

int
ip6_send(struct tern_stack *st, const struct ip6_out *o, const struct ip_part *parts,
         size_t n_parts)
{
    size_t len = 0;
    for (size_t i = 0; i < n_parts; i++) {
        len += parts[i].len;
    }
    if (len > 65535) {
        stack_drop(st, TERN_DROP_IPV6_TOO_LONG, NULL, 0);
        return TERN_ERR_MSGSIZE;
    }
    const struct ip6_netif *nif = &st->ip->v6.nif[o->netif];
    struct wire_ipv6 h = {
        .tclass = o->tclass,
        .next_header = o->proto,
        .hop_limit = o->hop_limit != 0 ? o->hop_limit : nif->hop_limit,
        .src = ip6_wa(o->src),
        .dst = ip6_wa(o->dst),
    };
    uint8_t *buf = st->ip->tx_buf;
    size_t mtu = ip6_path_mtu(st, o->netif, o->dst);
    if (mtu > st->ip->tx_buf_len) {
        mtu = st->ip->tx_buf_len;
    }
    if (WIRE_IPV6_HDR_LEN + len <= mtu) {
        h.payload_len = (uint16_t)len;
        wire_ipv6_emit(&h, buf);
        ip_gather(parts, n_parts, 0, buf + WIRE_IPV6_HDR_LEN, len);
        return transmit6(st, o, buf, WIRE_IPV6_HDR_LEN + len, "RFC 8200 3: packet sent");
    }
    /* RFC 8200 4.5 and 5: a packet of ours larger than the path MTU goes in
     * fragments, each with a fragment header, data in multiples of 8 bytes
     * but the last, and one identification unpredictable to others (RFC
     * 7739). Nothing precedes the fragment header: we send no hop-by-hop,
     * routing or destination options headers. */
    size_t chunk = (mtu - WIRE_IPV6_HDR_LEN - WIRE_IPV6_FRAG_HDR_LEN) & ~(size_t)7;
    uint32_t id = (uint32_t)rng_next(&st->rng);
    h.next_header = WIRE_IPV6_NH_FRAGMENT;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        h.payload_len = (uint16_t)(WIRE_IPV6_FRAG_HDR_LEN + n);
        wire_ipv6_emit(&h, buf);
        wire_ipv6_frag_emit(buf + WIRE_IPV6_HDR_LEN, o->proto, (uint16_t)off, off + n < len, id);
        ip_gather(parts, n_parts, off, buf + WIRE_IPV6_HDR_LEN + WIRE_IPV6_FRAG_HDR_LEN, n);
        int rc = transmit6(st, o, buf, WIRE_IPV6_HDR_LEN + WIRE_IPV6_FRAG_HDR_LEN + n,
                           "RFC 8200 4.5: fragment sent");
        if (rc != TERN_OK) {
            return rc;
        }
    }
    st->stats.ip6.tx_fragmented++;
    return TERN_OK;
}

int
ipv6_output(struct tern_stack *st, const struct ip_tx *s, const struct ip_part *parts,
            size_t n_parts)
{
    struct ip6_out o = {
        .dst = s->dst, .proto = s->proto, .hop_limit = s->hop_limit, .tclass = s->tclass};
    o.netif = ip6_route(st, s->dst, &o.next_hop);
    if (o.netif >= 0 && (is_link_local(s->dst) || is_multi(s->dst)) &&
        !tern_ip_is_unspec6(s->src)) {
        /* RFC 4007 6: a link-scope destination is reached on the link of
         * the source the caller bound to. */
        int owner = -1;
        if (ip6_find_addr(st, -1, s->src, &owner) != NULL) {
            o.netif = owner;
        }
    }
    if (o.netif < 0) {
        stack_drop(st, TERN_DROP_IPV6_NO_ROUTE, NULL, 0);
        return TERN_ERR_NOROUTE;
    }
    o.src = tern_ip_is_unspec6(s->src) ? ip6_select_src(st, o.netif, s->dst) : s->src;
    if (tern_ip_is_unspec6(o.src)) {
        stack_drop(st, TERN_DROP_IPV6_NO_ROUTE, NULL, 0);
        return TERN_ERR_NOROUTE;
    }
    return ip6_send(st, &o, parts, n_parts);
}

int
ipv6_route_src(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *src, uint32_t *mtu)
{
    struct tern_ip nh;
    int netif = ip6_route(st, dst, &nh);
    if (netif < 0) {
        return -1;
    }
    struct tern_ip s = ip6_select_src(st, netif, dst);
    if (tern_ip_is_unspec6(s)) {
        return -1;
    }
    if (src != NULL) {
        *src = s;
    }
    if (mtu != NULL) {
        *mtu = ip6_path_mtu(st, netif, dst);
    }
    return netif;
}

void
icmpv6_send_port_unreach(struct tern_stack *st, const struct ip_rx *rx)
{
    /* RFC 4443 3.1: code 4, port unreachable. */
    icmpv6_send_error(st, rx->netif, WIRE_ICMP6_DEST_UNREACH, WIRE_ICMP6_UNREACH_PORT, 0,
                      rx->datagram, rx->datagram_len, false);
}

/* ---- housekeeping and setup -------------------------------------------- */

void
ip6_timer_at(struct tern_stack *st, int64_t when)
{
    struct timer *t = &st->ip->v6.t_nd;
    if (when == IP6_FOREVER) {
        return;
    }
    if (!timer_armed(t) || when < t->expires_ns) {
        timer_arm(&st->timers, t, when);
    }
}

static void
ip6_timer(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    (void)now_ns;
    int64_t next = nd_tick(st);
    if (next != IP6_FOREVER && !timer_armed(t)) {
        timer_arm(&st->timers, t, next);
    }
}

int
ip6_init(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    timer_init(&v6->t_nd, ip6_timer);
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        const struct tern_netif_config *c = &st->cfg.netifs[i];
        struct ip6_netif *n = &v6->nif[i];
        /* RFC 8200 5: IPv6 needs a link MTU of 1280 at least. */
        n->on = c->mtu >= WIRE_IPV6_MIN_MTU;
        if (!n->on) {
            continue;
        }
        n->ethernet = c->link == TERN_LINK_ETHERNET;
        n->mtu = c->mtu;
        n->hop_limit = st->cfg.ttl; /* RFC 8200 3: 64 by default */
        n->base_reachable_ns = ND_REACHABLE_TIME_NS;
        /* RFC 4861 6.3.2: ReachableTime is random in 0.5..1.5 times the base. */
        n->reachable_ns = ND_REACHABLE_TIME_NS / 2 +
                          (int64_t)rng_below(&st->rng, 1000) * ND_REACHABLE_TIME_NS / 1000;
        n->retrans_ns = ND_RETRANS_TIMER_NS;
        n->rs_next_ns = IP6_FOREVER;
        /* RFC 4291 2.7.1: every node listens to all-nodes. */
        static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
        struct tern_ip g;
        memcpy(g.b, all_nodes, 16);
        ip6_join_group(st, (int)i, g);
        /* RFC 4862 5.3: a link-local address, fe80::/64 and an identifier. */
        static const uint8_t ll[16] = {0xfe, 0x80};
        struct tern_ip llp;
        memcpy(llp.b, ll, 16);
        if (ip6_addr_add(st, (int)i, ip6_stable_addr(st, (int)i, llp, 0), 64, false, IP6_FOREVER,
                         IP6_FOREVER) == NULL) {
            return TERN_ERR_NOMEM;
        }
        for (unsigned k = 0; k < c->n_addr6; k++) {
            if (ip6_addr_add(st, (int)i, c->addr6[k].addr, c->addr6[k].prefix_len, false,
                             IP6_FOREVER, IP6_FOREVER) == NULL) {
                return TERN_ERR_NOMEM;
            }
        }
    }
    return nd_init(st);
}

void
ip6_fini(struct tern_stack *st)
{
    timer_cancel(&st->timers, &st->ip->v6.t_nd);
    nd_fini(st);
}

int
tern_stack_addrs6(const struct tern_stack *st, int netif, struct tern_ip *out, unsigned max)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs ||
        (out == NULL && max > 0)) {
        return -1;
    }
    const struct ip6_netif *n = &st->ip->v6.nif[netif];
    unsigned count = 0;
    for (unsigned k = 0; n->on && k < IP6_ADDRS; k++) {
        if (addr_usable(&n->addr[k])) {
            if (count < max) {
                out[count] = n->addr[k].a;
            }
            count++;
        }
    }
    return (int)count;
}
