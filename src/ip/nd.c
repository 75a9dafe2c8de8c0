/*
 * src/ip/nd.c: neighbour discovery for a host (RFC 4861): address
 * resolution and neighbour unreachability detection on Ethernet (the cache
 * described in nd.h), router solicitation and advertisement processing
 * (default routers, on-link prefixes, link parameters), redirects, and
 * stateless address autoconfiguration with duplicate address detection
 * (RFC 4862). Also the housekeeping timer of the IPv6 layer.
 *
 * Read first: RFC 4861 6.3 (host variables, RA processing), 7.2 (address
 * resolution, NS/NA processing), 7.3 (NUD), 8 (redirects); RFC 4862 5.4,
 * 5.5; RFC 2464 7 (Ethernet mapping).
 */
#include <string.h>

#include "core/core.h"
#include "ip/ip_internal.h"
#include "ip/nd.h"
#include "link/link.h"
#include "wire/ethernet.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

static const char L_ND[] = "nd";

static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
static const uint8_t all_routers[16] = {0xff, 0x02, [15] = 2};

#define NS_PER_S 1000000000LL

/* Seconds of a lifetime field from now; all ones is forever (RFC 4861 4.6.2). */
static int64_t
until_s(const struct tern_stack *st, uint32_t s)
{
    return s == 0xffffffffu ? IP6_FOREVER : st->now_ns + (int64_t)s * NS_PER_S;
}

/* ---- setup ------------------------------------------------------------- */

int
nd_init(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    v6->q_free = -1;
    v6->n_pmtu = st->cfg.pmtu_entries;
    if (v6->n_pmtu > 0) {
        v6->pmtu = stack_alloc(st, v6->n_pmtu * sizeof(*v6->pmtu));
        if (v6->pmtu == NULL) {
            v6->n_pmtu = 0;
            return TERN_ERR_NOMEM;
        }
    }
    size_t mtu = 0;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (v6->nif[i].on && v6->nif[i].ethernet && v6->nif[i].mtu > mtu) {
            mtu = v6->nif[i].mtu;
        }
    }
    if (mtu == 0) {
        return ip6_reass_init(st);
    }
    v6->n_nc = st->cfg.nd_entries;
    v6->nc = stack_alloc(st, v6->n_nc * sizeof(*v6->nc));
    v6->n_q = st->cfg.nd_queue_total;
    v6->q_buf_size = mtu;
    v6->q = stack_alloc(st, v6->n_q * sizeof(*v6->q));
    v6->q_mem = stack_alloc(st, v6->n_q * mtu);
    if (v6->nc == NULL || v6->q == NULL || v6->q_mem == NULL) {
        return TERN_ERR_NOMEM;
    }
    for (unsigned i = 0; i < v6->n_nc; i++) {
        v6->nc[i].q_head = v6->nc[i].q_tail = -1;
    }
    for (unsigned i = v6->n_q; i-- > 0;) {
        v6->q[i].data = v6->q_mem + i * mtu;
        v6->q[i].next = v6->q_free;
        v6->q_free = (int)i;
    }
    nd_start(st);
    return ip6_reass_init(st);
}

void
nd_fini(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    ip6_reass_fini(st);
    stack_dealloc(st, v6->pmtu, v6->n_pmtu * sizeof(*v6->pmtu));
    stack_dealloc(st, v6->nc, v6->n_nc * sizeof(*v6->nc));
    stack_dealloc(st, v6->q, v6->n_q * sizeof(*v6->q));
    stack_dealloc(st, v6->q_mem, v6->n_q * v6->q_buf_size);
    v6->pmtu = NULL;
    v6->nc = NULL;
    v6->q = NULL;
    v6->q_mem = NULL;
    v6->n_pmtu = v6->n_nc = v6->n_q = 0;
}

void
nd_start(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        struct ip6_netif *n = &v6->nif[i];
        if (!n->on || !n->ethernet || st->cfg.nd_no_router_solicit) {
            continue;
        }
        /* RFC 4861 6.3.7: solicit routers at start; we wait for the
         * link-local address to pass DAD so the solicitation can carry our
         * link-layer address (ip6 DAD completion starts it then). */
        if (n->addr[0].state == IP6_ADDR_PREFERRED) {
            n->rs_next_ns = st->now_ns;
            ip6_timer_at(st, st->now_ns);
        }
    }
}

/* ---- sending ND messages ----------------------------------------------- */

static int
send_nd(struct tern_stack *st, int netif, struct tern_ip src, struct tern_ip dst,
        struct tern_ip next_hop, struct wire_nd_emit *m)
{
    const struct tern_netif_config *c = &st->cfg.netifs[netif];
    if (st->ip->v6.nif[netif].ethernet) {
        m->lladdr_len = 6;
    } else {
        m->src_lladdr = m->tgt_lladdr = NULL; /* no link-layer address to give */
    }
    (void)c;
    uint8_t msg[128];
    struct wire_ipv6_addr s = ip6_wa(src), d = ip6_wa(dst);
    size_t len = wire_nd_emit(m, &s, &d, msg, sizeof(msg));
    if (len == 0) {
        return TERN_ERR_INVAL;
    }
    /* RFC 4861 6.1, 7.1: every ND message leaves with hop limit 255. */
    struct ip6_out o = {.netif = netif,
                        .src = src,
                        .dst = dst,
                        .next_hop = next_hop,
                        .proto = WIRE_IPV6_NH_ICMPV6,
                        .hop_limit = WIRE_ND_HOP_LIMIT};
    struct ip_part part = {msg, len};
    int rc = ip6_send(st, &o, &part, 1);
    if (rc == TERN_OK) {
        st->stats.icmp6.tx++;
    }
    return rc;
}

/* RFC 4861 7.2.2: a solicitation for `target`, to its solicited-node group
 * or (NUD, 7.3.3) to the cached address; from :: for DAD (RFC 4862 5.4.2,
 * without a source link-layer option). */
static void
send_ns(struct tern_stack *st, int netif, struct tern_ip target, bool unicast, bool dad)
{
    struct tern_ip src = {{0}};
    if (!dad) {
        src = ip6_select_src(st, netif, target);
        if (tern_ip_is_unspec6(src)) {
            return; /* no usable address yet */
        }
    }
    struct wire_ipv6_addr t = ip6_wa(target);
    struct tern_ip dst = target;
    if (!unicast) {
        struct wire_ipv6_addr sn = wire_ipv6_addr_solicited_node(&t);
        dst = tern_ip6(sn.b);
    }
    struct wire_nd_emit m = {.type = WIRE_ND_NEIGHBOR_SOLICIT, .target = t};
    if (!dad) {
        m.src_lladdr = st->cfg.netifs[netif].mac;
    }
    if (send_nd(st, netif, src, dst, target, &m) == TERN_OK) {
        st->stats.nd.ns_tx++;
        stack_trace(st, TERN_TRACE_EVENT, L_ND,
                    dad ? TERN_RULE("RFC 4862 5.4.2: DAD solicitation from the unspecified address")
                    : unicast
                        ? TERN_RULE("RFC 4861 7.3.3: unicast probe of a neighbour")
                        : TERN_RULE("RFC 4861 7.2.2: solicitation to the solicited-node group"),
                    NULL, 0);
    }
}

/* RFC 4861 7.2.4: an advertisement of our address `target`. */
static void
send_na(struct tern_stack *st, int netif, struct tern_ip target, struct tern_ip dst, bool solicited)
{
    struct wire_nd_emit m = {.type = WIRE_ND_NEIGHBOR_ADVERT,
                             .target = ip6_wa(target),
                             .solicited = solicited,
                             .override = true, /* not an anycast address */
                             .tgt_lladdr = st->cfg.netifs[netif].mac};
    if (send_nd(st, netif, target, dst, dst, &m) == TERN_OK) {
        st->stats.nd.na_tx++;
    }
}

static void
send_rs(struct tern_stack *st, int netif)
{
    struct ip6_netif *n = &st->ip->v6.nif[netif];
    struct tern_ip src =
        n->addr[0].state == IP6_ADDR_PREFERRED ? n->addr[0].a : (struct tern_ip){{0}};
    struct wire_nd_emit m = {.type = WIRE_ND_ROUTER_SOLICIT};
    /* RFC 4861 4.1: the source link-layer option unless the source is ::. */
    if (!tern_ip_is_unspec6(src)) {
        m.src_lladdr = st->cfg.netifs[netif].mac;
    }
    if (send_nd(st, netif, src, tern_ip6(all_routers), tern_ip6(all_routers), &m) == TERN_OK) {
        st->stats.nd.rs_tx++;
        stack_trace(st, TERN_TRACE_EVENT, L_ND, "RFC 4861 6.3.7: router solicitation", NULL, 0);
    }
}

/* ---- the neighbour cache ----------------------------------------------- */

static struct nd_entry *
nc_find(const struct tern_stack *st, int netif, struct tern_ip a)
{
    const struct ip6_state *v6 = &st->ip->v6;
    for (unsigned i = 0; i < v6->n_nc; i++) {
        struct nd_entry *e = &v6->nc[i];
        if (e->state != ND_FREE && e->netif == netif && tern_ip_eq(e->addr, a)) {
            return e;
        }
    }
    return NULL;
}

const struct nd_entry *
nd_find(const struct tern_stack *st, int netif, struct tern_ip a)
{
    return nc_find(st, netif, a);
}

static void
q_drop_all(struct tern_stack *st, struct nd_entry *e, enum tern_drop_reason r)
{
    struct ip6_state *v6 = &st->ip->v6;
    while (e->q_head >= 0) {
        int i = e->q_head;
        e->q_head = v6->q[i].next;
        stack_drop(st, r, v6->q[i].data, v6->q[i].len);
        v6->q[i].next = v6->q_free;
        v6->q_free = i;
    }
    e->q_tail = -1;
    e->q_len = 0;
}

static void
nc_free(struct tern_stack *st, struct nd_entry *e, enum tern_drop_reason r)
{
    q_drop_all(st, e, r);
    e->state = ND_FREE;
}

/* A new entry: a free one, else the least recently used one that is not
 * resolving (its queue is empty), else none. */
static struct nd_entry *
nc_new(struct tern_stack *st, int netif, struct tern_ip a)
{
    struct ip6_state *v6 = &st->ip->v6;
    struct nd_entry *victim = NULL;
    for (unsigned i = 0; i < v6->n_nc; i++) {
        struct nd_entry *e = &v6->nc[i];
        if (e->state == ND_FREE) {
            victim = e;
            break;
        }
        if (e->state != ND_INCOMPLETE &&
            (victim == NULL || e->last_used_ns < victim->last_used_ns)) {
            victim = e;
        }
    }
    if (victim == NULL) {
        return NULL;
    }
    if (victim->state != ND_FREE) {
        nc_free(st, victim, TERN_DROP_ND_CACHE_FULL);
    }
    *victim = (struct nd_entry){.state = ND_INCOMPLETE,
                                .netif = netif,
                                .addr = a,
                                .next_ns = IP6_FOREVER,
                                .last_used_ns = st->now_ns,
                                .q_head = -1,
                                .q_tail = -1};
    return victim;
}

static void
set_state(struct tern_stack *st, struct nd_entry *e, enum nd_state s, int64_t next)
{
    e->state = s;
    e->next_ns = next;
    ip6_timer_at(st, next);
}

static void
q_flush(struct tern_stack *st, struct nd_entry *e)
{
    struct ip6_state *v6 = &st->ip->v6;
    while (e->q_head >= 0) {
        int i = e->q_head;
        e->q_head = v6->q[i].next;
        e->q_len--;
        if (eth_send(st, e->netif, e->mac, WIRE_ETHERTYPE_IPV6, v6->q[i].data, v6->q[i].len, 0) !=
            TERN_OK) {
            stack_drop(st, TERN_DROP_IPV6_TX_FAILED, v6->q[i].data, v6->q[i].len);
        }
        v6->q[i].next = v6->q_free;
        v6->q_free = i;
    }
    e->q_tail = -1;
}

/* RFC 4861 7.2.2: packets wait while the address resolves; when the queue
 * overflows the oldest goes. */
static int
q_push(struct tern_stack *st, struct nd_entry *e, const uint8_t *pkt, size_t len)
{
    struct ip6_state *v6 = &st->ip->v6;
    unsigned per = st->cfg.arp_queue_per_entry ? st->cfg.arp_queue_per_entry : 1;
    if (len > v6->q_buf_size) {
        stack_drop(st, TERN_DROP_ND_QUEUE_FULL, pkt, len);
        return TERN_ERR_NOBUFS;
    }
    if (e->q_len >= per && e->q_head >= 0) {
        int i = e->q_head;
        e->q_head = v6->q[i].next;
        e->q_len--;
        stack_drop(st, TERN_DROP_ND_QUEUE_FULL, v6->q[i].data, v6->q[i].len);
        v6->q[i].next = v6->q_free;
        v6->q_free = i;
        if (e->q_head < 0) {
            e->q_tail = -1;
        }
    }
    if (v6->q_free < 0) {
        stack_drop(st, TERN_DROP_ND_QUEUE_FULL, pkt, len);
        return TERN_ERR_NOBUFS;
    }
    int i = v6->q_free;
    v6->q_free = v6->q[i].next;
    memcpy(v6->q[i].data, pkt, len);
    v6->q[i].len = len;
    v6->q[i].next = -1;
    if (e->q_tail >= 0) {
        v6->q[e->q_tail].next = i;
    } else {
        e->q_head = i;
    }
    e->q_tail = i;
    e->q_len++;
    st->stats.nd.queued++;
    return TERN_OK;
}

int
nd_resolve_and_send(struct tern_stack *st, int netif, struct tern_ip next_hop, const uint8_t *pkt,
                    size_t len)
{
    struct nd_entry *e = nc_find(st, netif, next_hop);
    if (e != NULL && e->state != ND_INCOMPLETE) {
        e->last_used_ns = st->now_ns;
        if (e->state == ND_STALE) {
            /* RFC 4861 7.3.3: the first packet to a stale neighbour starts
             * the delay before probing. */
            set_state(st, e, ND_DELAY, st->now_ns + ND_DELAY_FIRST_PROBE_NS);
        }
        return eth_send(st, netif, e->mac, WIRE_ETHERTYPE_IPV6, pkt, len, 0);
    }
    if (e == NULL) {
        e = nc_new(st, netif, next_hop);
        if (e == NULL) {
            stack_drop(st, TERN_DROP_ND_CACHE_FULL, pkt, len);
            return TERN_ERR_NOBUFS;
        }
        /* Queue first: the solicitation reuses the transmit buffer. */
        int rc = q_push(st, e, pkt, len);
        e->probes = 1;
        set_state(st, e, ND_INCOMPLETE, st->now_ns + st->ip->v6.nif[netif].retrans_ns);
        send_ns(st, netif, next_hop, false, false);
        return rc;
    }
    return q_push(st, e, pkt, len);
}

/* RFC 4861 7.2.3, 6.3.4, 8.3: a link-layer address learned from a
 * solicitation, advertisement or redirect's option creates a STALE entry
 * or turns a changed one STALE. */
static struct nd_entry *
learn(struct tern_stack *st, int netif, struct tern_ip a, const uint8_t *mac, size_t mac_len)
{
    if (!st->ip->v6.nif[netif].ethernet || mac_len < 6) {
        return NULL;
    }
    struct nd_entry *e = nc_find(st, netif, a);
    if (e == NULL) {
        e = nc_new(st, netif, a);
        if (e == NULL) {
            stack_drop(st, TERN_DROP_ND_CACHE_FULL, NULL, 0);
            return NULL;
        }
        memcpy(e->mac, mac, 6);
        set_state(st, e, ND_STALE, IP6_FOREVER);
        return e;
    }
    if (e->state == ND_INCOMPLETE) {
        memcpy(e->mac, mac, 6);
        set_state(st, e, ND_STALE, IP6_FOREVER);
        st->stats.nd.resolved++;
        q_flush(st, e);
    } else if (memcmp(e->mac, mac, 6) != 0) {
        memcpy(e->mac, mac, 6);
        set_state(st, e, ND_STALE, IP6_FOREVER);
    }
    return e;
}

/* ---- routers ----------------------------------------------------------- */

static void
router_remove(struct tern_stack *st, int netif, struct tern_ip a)
{
    for (unsigned i = 0; i < IP6_MAX_ROUTERS; i++) {
        struct ip6_router *r = &st->ip->v6.routers[i];
        if (r->used && r->netif == netif && tern_ip_eq(r->addr, a)) {
            r->used = false;
        }
    }
    /* RFC 4861 7.3.3: destinations redirected through it go too. */
    for (unsigned d = 0; d < IP6_MAX_DESTS; d++) {
        struct ip6_dest *x = &st->ip->v6.dests[d];
        if (x->used && x->netif == netif && tern_ip_eq(x->next_hop, a)) {
            x->used = false;
        }
    }
}

bool
nd_default_router(const struct tern_stack *st, struct tern_ip *router, int *netif)
{
    const struct ip6_router *pick = NULL;
    for (unsigned i = 0; i < IP6_MAX_ROUTERS; i++) {
        const struct ip6_router *r = &st->ip->v6.routers[i];
        if (!r->used || r->until <= st->now_ns) {
            continue;
        }
        /* RFC 4861 6.3.6: prefer a router known to be reachable (or
         * probably so) to one that is not. */
        const struct nd_entry *e = nc_find(st, r->netif, r->addr);
        bool good = e != NULL && e->state != ND_INCOMPLETE;
        if (pick == NULL || good) {
            pick = r;
            if (good) {
                break;
            }
        }
    }
    if (pick == NULL) {
        return false;
    }
    *router = pick->addr;
    *netif = pick->netif;
    return true;
}

/* ---- duplicate address detection (RFC 4862 5.4) ------------------------ */

static void
dad_conflict(struct tern_stack *st, int netif, struct ip6_addr *a, const struct ip_rx *rx)
{
    /* RFC 4862 5.4.5: the address is not assigned; we log it (counted and
     * traced). */
    a->state = IP6_ADDR_DUPLICATE;
    st->stats.nd.dad_conflict++;
    stack_drop(st, TERN_DROP_ND_DAD_CONFLICT, rx->datagram, rx->datagram_len);
    (void)netif;
}

/* ---- input ------------------------------------------------------------- */

static void
ns_input(struct tern_stack *st, const struct ip_rx *rx, const struct wire_nd *nd)
{
    st->stats.nd.ns_rx++;
    struct tern_ip target = tern_ip6(nd->target.b);
    struct ip6_addr *a = ip6_find_addr(st, rx->netif, target, NULL);
    if (a == NULL || a->state == IP6_ADDR_DUPLICATE) {
        stack_drop(st, TERN_DROP_ND_NOT_FOR_US, rx->datagram, rx->datagram_len);
        return;
    }
    bool from_unspec = tern_ip_is_unspec6(rx->src);
    if (a->state == IP6_ADDR_TENTATIVE) {
        if (from_unspec) {
            /* RFC 4862 5.4.3: another node is doing DAD for the same
             * address: it is a duplicate. */
            dad_conflict(st, rx->netif, a, rx);
        } else {
            /* RFC 4862 5.4.3: resolution of a tentative address: ignored. */
            stack_drop(st, TERN_DROP_IPV6_TENTATIVE, rx->datagram, rx->datagram_len);
        }
        return;
    }
    if (from_unspec) {
        /* RFC 4861 7.2.4: answer a DAD probe for our address to all-nodes,
         * unsolicited. */
        send_na(st, rx->netif, target, tern_ip6(all_nodes), false);
        return;
    }
    if (nd->has_src_lladdr) {
        learn(st, rx->netif, rx->src, nd->src_lladdr, nd->src_lladdr_len);
    }
    /* RFC 4861 7.2.4: solicited advertisement to the solicitor. */
    send_na(st, rx->netif, target, rx->src, true);
}

static void
na_input(struct tern_stack *st, const struct ip_rx *rx, const struct wire_nd *nd)
{
    st->stats.nd.na_rx++;
    struct tern_ip target = tern_ip6(nd->target.b);
    struct ip6_addr *a = ip6_find_addr(st, rx->netif, target, NULL);
    if (a != NULL) {
        if (a->state == IP6_ADDR_TENTATIVE) {
            /* RFC 4862 5.4.4: someone already has the tentative address. */
            dad_conflict(st, rx->netif, a, rx);
        } else {
            stack_drop(st, TERN_DROP_ND_NOT_FOR_US, rx->datagram, rx->datagram_len);
        }
        return;
    }
    struct nd_entry *e = nc_find(st, rx->netif, target);
    if (e == NULL) {
        /* RFC 4861 7.2.5: no entry, nothing to update. */
        stack_drop(st, TERN_DROP_ND_NOT_FOR_US, rx->datagram, rx->datagram_len);
        return;
    }
    bool has_ll = nd->has_tgt_lladdr && nd->tgt_lladdr_len >= 6;
    int64_t reach = st->now_ns + st->ip->v6.nif[rx->netif].reachable_ns;
    if (e->state == ND_INCOMPLETE) {
        if (!has_ll) {
            return; /* 7.2.5: nothing to resolve with */
        }
        memcpy(e->mac, nd->tgt_lladdr, 6);
        set_state(st, e, nd->solicited ? ND_REACHABLE : ND_STALE,
                  nd->solicited ? reach : IP6_FOREVER);
        e->router = nd->router;
        st->stats.nd.resolved++;
        stack_trace(st, TERN_TRACE_EVENT, L_ND, "RFC 4861 7.2.5: neighbour resolved", rx->datagram,
                    rx->datagram_len);
        q_flush(st, e);
        return;
    }
    bool differ = has_ll && memcmp(e->mac, nd->tgt_lladdr, 6) != 0;
    if (!nd->override && differ) {
        /* 7.2.5: an advertisement that may not override a known address
         * only makes a reachable entry stale. */
        if (e->state == ND_REACHABLE) {
            set_state(st, e, ND_STALE, IP6_FOREVER);
        }
        return;
    }
    if (has_ll) {
        memcpy(e->mac, nd->tgt_lladdr, 6);
    }
    if (nd->solicited) {
        set_state(st, e, ND_REACHABLE, reach);
        st->stats.nd.resolved++;
    } else if (differ) {
        set_state(st, e, ND_STALE, IP6_FOREVER);
    }
    if (e->router && !nd->router) {
        /* 7.2.5: a router that became a host leaves the router list. */
        router_remove(st, rx->netif, target);
    }
    e->router = nd->router;
}

/* RFC 4862 5.5.3: an autonomous prefix forms (or refreshes) an address. */
static void
slaac_prefix(struct tern_stack *st, const struct ip_rx *rx, const struct wire_nd_prefix *p)
{
    if (p->preferred_lifetime > p->valid_lifetime) {
        stack_drop(st, TERN_DROP_ND_RA_IGNORED, rx->datagram, rx->datagram_len); /* (c) */
        return;
    }
    if (p->prefix_len != 64) {
        /* (d): prefix and our 64-bit identifier must make 128 bits. */
        stack_drop(st, TERN_DROP_ND_RA_IGNORED, rx->datagram, rx->datagram_len);
        return;
    }
    struct tern_ip prefix = tern_ip6(p->prefix.b);
    struct ip6_netif *n = &st->ip->v6.nif[rx->netif];
    struct ip6_addr *have = NULL;
    for (unsigned k = 0; k < IP6_ADDRS; k++) {
        struct ip6_addr *a = &n->addr[k];
        if (a->state != IP6_ADDR_FREE && a->slaac && memcmp(a->a.b, prefix.b, 8) == 0) {
            have = a;
        }
    }
    int64_t pref = until_s(st, p->preferred_lifetime);
    if (have == NULL) {
        if (p->valid_lifetime == 0) {
            return;
        }
        struct tern_ip a = ip6_stable_addr(st, rx->netif, prefix, 0);
        if (ip6_addr_add(st, rx->netif, a, 64, true, pref, until_s(st, p->valid_lifetime)) !=
            NULL) {
            st->stats.nd.slaac_addrs++;
            stack_trace(st, TERN_TRACE_EVENT, L_ND,
                        "RFC 4862 5.5.3 (d): address formed from an autonomous prefix",
                        rx->datagram, rx->datagram_len);
        }
        return;
    }
    if (have->state == IP6_ADDR_DUPLICATE) {
        return;
    }
    /* (e): the valid lifetime is believed when it is longer than two
     * hours or than what remains; otherwise it is cut to two hours at
     * most, so a forged advertisement cannot end the address at once. */
    const int64_t two_h = 2 * 3600 * NS_PER_S;
    int64_t valid = until_s(st, p->valid_lifetime);
    int64_t remaining = have->valid_until - st->now_ns;
    if (p->valid_lifetime != 0xffffffffu && (int64_t)p->valid_lifetime * NS_PER_S <= two_h &&
        (int64_t)p->valid_lifetime * NS_PER_S <= remaining) {
        valid = remaining <= two_h ? have->valid_until : st->now_ns + two_h;
    }
    have->preferred_until = pref;
    have->valid_until = valid;
    if (have->state == IP6_ADDR_DEPRECATED && pref > st->now_ns) {
        have->state = IP6_ADDR_PREFERRED;
    }
    ip6_timer_at(st, pref < valid ? pref : valid);
}

static void
prefix_update(struct tern_stack *st, int netif, const struct wire_nd_prefix *p)
{
    struct ip6_state *v6 = &st->ip->v6;
    struct tern_ip prefix = tern_ip6(p->prefix.b);
    struct ip6_prefix *slot = NULL;
    for (unsigned i = 0; i < IP6_MAX_PREFIXES; i++) {
        struct ip6_prefix *x = &v6->prefixes[i];
        if (x->used && x->netif == netif && x->plen == p->prefix_len &&
            tern_ip_eq(x->prefix, prefix)) {
            slot = x;
            break;
        }
        if (!x->used && slot == NULL) {
            slot = x;
        }
    }
    /* RFC 4861 6.3.4: a valid lifetime of 0 removes the prefix. */
    if (p->valid_lifetime == 0) {
        if (slot != NULL && slot->used && tern_ip_eq(slot->prefix, prefix)) {
            slot->used = false;
        }
        return;
    }
    if (slot == NULL) {
        stack_drop(st, TERN_DROP_ND_TABLE_FULL, NULL, 0);
        return;
    }
    *slot = (struct ip6_prefix){.used = true,
                                .netif = netif,
                                .prefix = prefix,
                                .plen = p->prefix_len,
                                .until = until_s(st, p->valid_lifetime)};
    ip6_timer_at(st, slot->until);
}

static void
ra_input(struct tern_stack *st, const struct ip_rx *rx, const struct wire_nd *nd)
{
    st->stats.nd.ra_rx++;
    struct ip6_state *v6 = &st->ip->v6;
    struct ip6_netif *n = &v6->nif[rx->netif];
    stack_trace(st, TERN_TRACE_RX, L_ND, "RFC 4861 6.3.4: router advertisement processed",
                rx->datagram, rx->datagram_len);
    n->rs_next_ns = IP6_FOREVER; /* 6.3.7: an advertisement ends the solicitations */
    /* 6.3.4: each nonzero parameter replaces ours. */
    if (nd->cur_hop_limit != 0) {
        n->hop_limit = nd->cur_hop_limit;
    }
    if (nd->reachable_time != 0 &&
        (int64_t)nd->reachable_time * 1000000LL != n->base_reachable_ns) {
        n->base_reachable_ns = (int64_t)nd->reachable_time * 1000000LL;
        n->reachable_ns = n->base_reachable_ns / 2 +
                          (int64_t)rng_below(&st->rng, 1000) * n->base_reachable_ns / 1000;
    }
    if (nd->retrans_timer != 0) {
        n->retrans_ns = (int64_t)nd->retrans_timer * 1000000LL;
    }
    struct tern_ip from = rx->src;
    if (nd->router_lifetime == 0) {
        router_remove(st, rx->netif, from);
    } else {
        struct ip6_router *slot = NULL;
        for (unsigned i = 0; i < IP6_MAX_ROUTERS; i++) {
            struct ip6_router *r = &v6->routers[i];
            if (r->used && r->netif == rx->netif && tern_ip_eq(r->addr, from)) {
                slot = r;
                break;
            }
            if ((!r->used || r->until <= st->now_ns) && slot == NULL) {
                slot = r;
            }
        }
        if (slot == NULL) {
            stack_drop(st, TERN_DROP_ND_TABLE_FULL, NULL, 0);
        } else {
            *slot =
                (struct ip6_router){.used = true,
                                    .netif = rx->netif,
                                    .addr = from,
                                    .until = st->now_ns + (int64_t)nd->router_lifetime * NS_PER_S};
            ip6_timer_at(st, slot->until);
        }
    }
    if (nd->has_src_lladdr) {
        struct nd_entry *e = learn(st, rx->netif, from, nd->src_lladdr, nd->src_lladdr_len);
        if (e != NULL) {
            e->router = true;
        }
    }
    /* 6.3.4: an MTU option within what the link carries sets the link MTU. */
    if (nd->has_mtu && nd->mtu >= WIRE_IPV6_MIN_MTU && nd->mtu <= st->cfg.netifs[rx->netif].mtu) {
        n->mtu = nd->mtu;
    }
    size_t off = 0;
    struct wire_nd_opt opt;
    while (wire_nd_next_option(nd->options, nd->options_len, &off, &opt)) {
        if (opt.type != WIRE_ND_OPT_PREFIX || !opt.valid) {
            continue;
        }
        struct wire_ipv6_addr pw = opt.prefix.prefix;
        static const uint8_t zero8[8] = {0};
        if (wire_ipv6_addr_is_link_local(&pw) || wire_ipv6_addr_is_multicast(&pw) ||
            memcmp(pw.b, zero8, 8) == 0) {
            /* 6.3.4, RFC 4862 5.5.3 (b): the link-local prefix is ignored;
             * so are a multicast prefix and ::/64 (unspecified, loopback,
             * mapped IPv4: RFC 4291 2.4), which hold no unicast address of
             * a link. */
            stack_drop(st, TERN_DROP_ND_RA_IGNORED, rx->datagram, rx->datagram_len);
            continue;
        }
        if (opt.prefix.on_link) {
            prefix_update(st, rx->netif, &opt.prefix);
        }
        if (opt.prefix.autonomous && !st->cfg.nd_no_slaac) {
            slaac_prefix(st, rx, &opt.prefix);
        }
    }
}

static void
redirect_input(struct tern_stack *st, const struct ip_rx *rx, const struct wire_nd *nd)
{
    struct ip6_state *v6 = &st->ip->v6;
    struct tern_ip dest = tern_ip6(nd->dest.b), target = tern_ip6(nd->target.b);
    /* RFC 4861 8.1: only the router we now use for the destination may
     * redirect us. */
    struct tern_ip nh;
    int netif = ip6_route(st, dest, &nh);
    if (netif != rx->netif || !tern_ip_eq(nh, rx->src) || tern_ip_eq(nh, dest)) {
        stack_drop(st, TERN_DROP_ND_REDIRECT_REFUSED, rx->datagram, rx->datagram_len);
        return;
    }
    st->stats.nd.redirect_rx++;
    struct ip6_dest *slot = NULL;
    for (unsigned d = 0; d < IP6_MAX_DESTS; d++) {
        struct ip6_dest *x = &v6->dests[d];
        if (x->used && tern_ip_eq(x->dst, dest)) {
            slot = x;
            break;
        }
        if (slot == NULL || !x->used || (slot->used && x->last_used_ns < slot->last_used_ns)) {
            if (slot == NULL || slot->used) {
                slot = x;
            }
        }
    }
    /* 8.3: the target is the better first hop (itself when it equals the
     * destination: the destination is on link). */
    *slot = (struct ip6_dest){.used = true,
                              .netif = rx->netif,
                              .dst = dest,
                              .next_hop = target,
                              .last_used_ns = st->now_ns};
    if (nd->has_tgt_lladdr) {
        struct nd_entry *e = learn(st, rx->netif, target, nd->tgt_lladdr, nd->tgt_lladdr_len);
        if (e != NULL && !tern_ip_eq(target, dest)) {
            e->router = true;
        }
    }
    stack_trace(st, TERN_TRACE_EVENT, L_ND, "RFC 4861 8.3: redirect accepted", rx->datagram,
                rx->datagram_len);
}

void
nd_input(struct tern_stack *st, const struct ip_rx *rx, const uint8_t *msg, size_t len)
{
    struct wire_nd nd;
    struct wire_ipv6_addr src = ip6_wa(rx->src), dst = ip6_wa(rx->dst);
    if (wire_nd_parse(msg, len, &src, &dst, rx->ttl, &nd) != WIRE_OK) {
        stack_drop(st, TERN_DROP_ND_INVALID, rx->datagram, rx->datagram_len);
        return;
    }
    switch (nd.type) {
    case WIRE_ND_NEIGHBOR_SOLICIT:
        ns_input(st, rx, &nd);
        return;
    case WIRE_ND_NEIGHBOR_ADVERT:
        na_input(st, rx, &nd);
        return;
    case WIRE_ND_ROUTER_ADVERT:
        ra_input(st, rx, &nd);
        return;
    case WIRE_ND_REDIRECT:
        redirect_input(st, rx, &nd);
        return;
    default:
        /* RFC 4861 6.2.6: router solicitations are for routers. */
        stack_drop(st, TERN_DROP_ND_RS_HOST, rx->datagram, rx->datagram_len);
        return;
    }
}

/* ---- housekeeping ------------------------------------------------------ */

static int64_t
min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t
tick_addrs(struct tern_stack *st, int netif)
{
    struct ip6_netif *n = &st->ip->v6.nif[netif];
    int64_t now = st->now_ns, next = IP6_FOREVER;
    for (unsigned k = 0; k < IP6_ADDRS; k++) {
        struct ip6_addr *a = &n->addr[k];
        if (a->state == IP6_ADDR_FREE || a->state == IP6_ADDR_DUPLICATE) {
            continue;
        }
        if (a->state == IP6_ADDR_TENTATIVE) {
            if (a->dad_next_ns > now) {
                next = min64(next, a->dad_next_ns);
                continue;
            }
            if (a->dad_sent < st->cfg.nd_dad_transmits) {
                a->dad_sent++;
                a->dad_next_ns = now + n->retrans_ns;
                next = min64(next, a->dad_next_ns);
                send_ns(st, netif, a->a, false, true);
                continue;
            }
            /* RFC 4862 5.4: RetransTimer after the last probe, no answer:
             * the address is ours. */
            a->state = IP6_ADDR_PREFERRED;
            st->stats.nd.dad_ok++;
            stack_trace(st, TERN_TRACE_EVENT, L_ND,
                        "RFC 4862 5.4: no duplicate found, address assigned", NULL, 0);
            if (k == 0 && !st->cfg.nd_no_router_solicit && n->rs_sent == 0) {
                n->rs_next_ns = now;
            }
        }
        /* RFC 4862 5.5.4: lifetimes. */
        if (a->valid_until <= now) {
            a->state = IP6_ADDR_FREE;
            stack_trace(st, TERN_TRACE_EVENT, L_ND,
                        "RFC 4862 5.5.4: valid lifetime over, address removed", NULL, 0);
            continue;
        }
        if (a->state == IP6_ADDR_PREFERRED && a->preferred_until <= now) {
            a->state = IP6_ADDR_DEPRECATED;
        }
        if (a->state == IP6_ADDR_PREFERRED) {
            next = min64(next, a->preferred_until);
        }
        next = min64(next, a->valid_until);
    }
    if (n->rs_next_ns <= now) {
        if (n->rs_sent < ND_MAX_RTR_SOLICITATIONS) {
            n->rs_sent++;
            n->rs_next_ns = n->rs_sent < ND_MAX_RTR_SOLICITATIONS ? now + ND_RTR_SOLICIT_INTERVAL_NS
                                                                  : IP6_FOREVER;
            send_rs(st, netif);
        } else {
            n->rs_next_ns = IP6_FOREVER;
        }
    }
    return min64(next, n->rs_next_ns);
}

static int64_t
tick_neighbour(struct tern_stack *st, struct nd_entry *e)
{
    int64_t now = st->now_ns;
    if (e->next_ns > now) {
        return e->next_ns;
    }
    int64_t retrans = st->ip->v6.nif[e->netif].retrans_ns;
    switch (e->state) {
    case ND_INCOMPLETE:
        if (e->probes < ND_MAX_MULTICAST_SOLICIT) {
            e->probes++;
            e->next_ns = now + retrans;
            send_ns(st, e->netif, e->addr, false, false);
            return e->next_ns;
        }
        /* RFC 4861 7.2.2: no answer: the queued packets are dropped. */
        st->stats.nd.failed++;
        nc_free(st, e, TERN_DROP_ND_RESOLVE_FAILED);
        return IP6_FOREVER;
    case ND_REACHABLE:
        /* 7.3.3: ReachableTime without confirmation. */
        e->state = ND_STALE;
        e->next_ns = IP6_FOREVER;
        return IP6_FOREVER;
    case ND_DELAY:
        e->state = ND_PROBE;
        e->probes = 1;
        e->next_ns = now + retrans;
        send_ns(st, e->netif, e->addr, true, false);
        return e->next_ns;
    case ND_PROBE:
        if (e->probes < ND_MAX_UNICAST_SOLICIT) {
            e->probes++;
            e->next_ns = now + retrans;
            send_ns(st, e->netif, e->addr, true, false);
            return e->next_ns;
        }
        /* 7.3.3: the neighbour is gone. */
        if (e->router) {
            router_remove(st, e->netif, e->addr);
        }
        nc_free(st, e, TERN_DROP_ND_RESOLVE_FAILED);
        return IP6_FOREVER;
    default:
        return IP6_FOREVER;
    }
}

int64_t
nd_tick(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    int64_t now = st->now_ns, next = IP6_FOREVER;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (v6->nif[i].on) {
            next = min64(next, tick_addrs(st, (int)i));
        }
    }
    for (unsigned i = 0; i < v6->n_nc; i++) {
        if (v6->nc[i].state != ND_FREE) {
            next = min64(next, tick_neighbour(st, &v6->nc[i]));
        }
    }
    for (unsigned i = 0; i < IP6_MAX_ROUTERS; i++) {
        struct ip6_router *r = &v6->routers[i];
        if (r->used && r->until <= now) {
            router_remove(st, r->netif, r->addr);
        } else if (r->used) {
            next = min64(next, r->until);
        }
    }
    for (unsigned i = 0; i < IP6_MAX_PREFIXES; i++) {
        struct ip6_prefix *x = &v6->prefixes[i];
        if (x->used && x->until <= now) {
            x->used = false;
        } else if (x->used) {
            next = min64(next, x->until);
        }
    }
    return min64(next, ip6_reass_tick(st));
}
