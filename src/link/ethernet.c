/*
 * src/link/ethernet.c: Ethernet II in and out (RFC 894), the link layer's
 * setup, and the IPv4 output path onto an Ethernet interface.
 *
 * Read first: RFC 894, RFC 1122 2.3.3 and 3.3.6, RFC 1112 6.4.
 */
#include "link/link.h"

#include <string.h>

#include "core/core.h"
#include "core/netif.h"
#include "wire/ethernet.h"

static const uint8_t eth_broadcast[WIRE_ETH_ADDR_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

bool
link_config_ok(const struct tern_config *cfg)
{
    bool any = false;
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        const struct tern_netif_config *n = &cfg->netifs[i];
        if (n->link == TERN_LINK_RAW_IP) {
            continue;
        }
        if (n->link != TERN_LINK_ETHERNET) {
            return false;
        }
        /* Our own address must be a unicast one: a group or zero address
         * would make every frame ours, or none. */
        if (wire_eth_addr_is_group(n->mac) || wire_eth_addr_is_zero(n->mac)) {
            return false;
        }
        any = true;
    }
    if (!any) {
        return true;
    }
    return cfg->arp_entries > 0 && cfg->arp_queue_per_entry > 0 && cfg->arp_queue_total > 0 &&
           cfg->arp_reachable_ns > 0 && cfg->arp_retry_ns > 0 && cfg->arp_retries > 0 &&
           cfg->arp_failed_ns > 0 && cfg->arp_announce_interval_ns > 0;
}

int
link_init(struct tern_stack *st)
{
    struct link_state *l = st->link;
    size_t mtu = 0;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (st->cfg.netifs[i].link == TERN_LINK_ETHERNET) {
            l->any_ethernet = true;
            if (st->cfg.netifs[i].mtu > mtu) {
                mtu = st->cfg.netifs[i].mtu;
            }
        }
    }
    if (!l->any_ethernet) {
        return TERN_OK;
    }
    l->tx_buf_len = WIRE_ETH_HDR_LEN + mtu;
    if (l->tx_buf_len < WIRE_ETH_MIN_FRAME) {
        l->tx_buf_len = WIRE_ETH_MIN_FRAME;
    }
    l->tx_buf = stack_alloc(st, l->tx_buf_len);
    l->q_buf_size = mtu;
    if (l->tx_buf == NULL) {
        return TERN_ERR_NOMEM;
    }
    int rc = arp_init(st);
    if (rc != TERN_OK) {
        return rc;
    }
    arp_announce_start(st);
    return TERN_OK;
}

void
link_fini(struct tern_stack *st)
{
    struct link_state *l = st->link;
    arp_fini(st);
    stack_dealloc(st, l->tx_buf, l->tx_buf_len);
    l->tx_buf = NULL;
    l->tx_buf_len = 0;
}

int
eth_send(struct tern_stack *st, int netif, const uint8_t dst[6], uint16_t type,
         const uint8_t *payload, size_t len, uint32_t next_hop)
{
    const struct tern_netif_config *n = &st->cfg.netifs[netif];
    struct wire_eth h = {.type = type, .payload = payload, .payload_len = len};
    memcpy(h.dst, dst, WIRE_ETH_ADDR_LEN);
    memcpy(h.src, n->mac, WIRE_ETH_ADDR_LEN);
    size_t flen = wire_eth_emit_len(&h);
    if (flen > st->link->tx_buf_len) {
        return TERN_ERR_TXFAIL; /* cannot happen: ip never passes more than the MTU */
    }
    /* RFC 894: the frame carries the datagram after a 14-byte header;
     * wire_eth_emit pads it to the minimum frame size. */
    wire_eth_emit(&h, st->link->tx_buf);
    if (n->transmit(n->transmit_ctx, netif, st->link->tx_buf, flen, next_hop) < 0) {
        return TERN_ERR_TXFAIL;
    }
    st->stats.eth.tx++;
    return TERN_OK;
}

int
link_output_ipv4(struct tern_stack *st, int netif, uint32_t next_hop, const uint8_t *dgram,
                 size_t len)
{
    uint8_t dst[WIRE_ETH_ADDR_LEN];
    /* RFC 1122 3.3.6: an IP broadcast goes to the link broadcast address. */
    if (netif_addr_is_broadcast(&st->cfg, netif, next_hop)) {
        return eth_send(st, netif, eth_broadcast, WIRE_ETHERTYPE_IPV4, dgram, len, next_hop);
    }
    /* RFC 1112 6.4: a group address maps to 01:00:5e + its low 23 bits. */
    if ((next_hop >> 28) == 0xe) {
        wire_eth_addr_of_ipv4_multicast(next_hop, dst);
        return eth_send(st, netif, dst, WIRE_ETHERTYPE_IPV4, dgram, len, next_hop);
    }
    /* RFC 1122 2.3.3: anything else needs ARP. */
    return arp_resolve_and_send(st, netif, next_hop, dgram, len);
}

static enum tern_drop_reason
drop_of_wire(enum wire_err e)
{
    return e == WIRE_ERR_ETH_TRUNCATED ? TERN_DROP_ETH_TRUNCATED : TERN_DROP_ETH_NOT_DIX;
}

/* RFC 1122 3.3.6: a datagram that came as a link broadcast must be for an
 * IP broadcast or multicast address; the IPv4 destination sits at bytes
 * 16..19 of the header (ip input validates the rest). */
static bool
bcast_carries_unicast(const struct tern_stack *st, int netif, const uint8_t *dgram, size_t len)
{
    if (len < 20) {
        return false; /* ip input counts the truncation */
    }
    uint32_t dst = (uint32_t)dgram[16] << 24 | (uint32_t)dgram[17] << 16 |
                   (uint32_t)dgram[18] << 8 | dgram[19];
    return !netif_addr_is_broadcast(&st->cfg, netif, dst) && (dst >> 28) != 0xe;
}

static bool
group_joined(const struct link_state *l, int netif, const uint8_t mac[6])
{
    for (unsigned i = 0; i < l->n_groups[netif]; i++) {
        if (memcmp(l->groups[netif][i], mac, 6) == 0) {
            return true;
        }
    }
    return false;
}

void
link_set_groups(struct tern_stack *st, int netif, const uint8_t (*macs)[6], unsigned n)
{
    struct link_state *l = st->link;
    if (n > LINK_MAX_GROUPS) {
        n = LINK_MAX_GROUPS;
    }
    memcpy(l->groups[netif], macs, (size_t)n * 6);
    l->n_groups[netif] = n;
}

static const struct link_type *
find_type(const struct link_state *l, uint16_t type)
{
    for (unsigned i = 0; i < LINK_MAX_TYPES; i++) {
        if (l->types[i].type == type) {
            return &l->types[i];
        }
    }
    return NULL;
}

int
link_register_ethertype(struct tern_stack *st, uint16_t type, link_rx_fn input, void *ctx)
{
    if (st == NULL || input == NULL || type < WIRE_ETHERTYPE_MIN) {
        return TERN_ERR_INVAL;
    }
    if (type == WIRE_ETHERTYPE_ARP || find_type(st->link, type) != NULL) {
        return TERN_ERR_EXIST;
    }
    struct link_type *t = (struct link_type *)find_type(st->link, 0);
    if (t == NULL) {
        return TERN_ERR_NOBUFS;
    }
    *t = (struct link_type){.type = type, .input = input, .ctx = ctx};
    return TERN_OK;
}

void
eth_input(struct tern_stack *st, int netif, const uint8_t *frame, size_t len)
{
    struct wire_eth h;
    enum wire_err e = wire_eth_parse(frame, len, &h);
    if (e != WIRE_OK) {
        stack_drop(st, drop_of_wire(e), frame, len);
        return;
    }
    const struct tern_netif_config *n = &st->cfg.netifs[netif];
    bool bcast = wire_eth_addr_is_broadcast(h.dst);
    /* RFC 894: a host takes frames to its own address and broadcasts, and
     * (RFC 2464 7) those to the groups IPv6 listens to. No IPv4 group is
     * joined (no IGMP). */
    if (!bcast && memcmp(h.dst, n->mac, WIRE_ETH_ADDR_LEN) != 0 &&
        !(h.type == WIRE_ETHERTYPE_IPV6 && group_joined(st->link, netif, h.dst))) {
        stack_drop(st, TERN_DROP_ETH_NOT_OURS, frame, len);
        return;
    }
    if (h.type == WIRE_ETHERTYPE_ARP) {
        st->stats.eth.rx++;
        arp_input(st, netif, h.payload, h.payload_len, frame, len);
        return;
    }
    const struct link_type *t = find_type(st->link, h.type);
    if (t == NULL) {
        stack_drop(st, TERN_DROP_ETH_TYPE, frame, len);
        return;
    }
    if (h.type == WIRE_ETHERTYPE_IPV4 && bcast &&
        bcast_carries_unicast(st, netif, h.payload, h.payload_len)) {
        stack_drop(st, TERN_DROP_ETH_BCAST_UNICAST, frame, len);
        return;
    }
    st->stats.eth.rx++;
    /* The payload may end in padding; ip input trims it with the datagram's
     * total length (RFC 894). */
    t->input(st, t->ctx, netif, h.payload, h.payload_len);
}

int
tern_stack_mac(const struct tern_stack *st, int netif, uint8_t mac[TERN_MAC_LEN])
{
    if (st == NULL || mac == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs ||
        st->cfg.netifs[netif].link != TERN_LINK_ETHERNET) {
        return TERN_ERR_INVAL;
    }
    memcpy(mac, st->cfg.netifs[netif].mac, TERN_MAC_LEN);
    return TERN_OK;
}
