/*
 * src/stack/stack.c: the composition root: the stack object's creation from
 * a configuration, the public entry points that are not one layer's, and
 * the wiring between the layers (stack/root.h). Protocol work lives in
 * src/link/, src/ip/, src/tcp/ and src/udp/; the core services in src/core/.
 */
#include "stack/root.h"

#include <stdlib.h>
#include <string.h>

#include "ip/ip_internal.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"

void *
tern_alloc_default(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

void
tern_config_init(struct tern_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ttl = 64;
    cfg->pool_bytes = 128 * 1024;
    cfg->reass_slots = 8;
    cfg->reass_mem_max = 32 * 1024;
    cfg->reass_timeout_ns = 60LL * 1000000000LL;
    cfg->arp_entries = 64;
    cfg->arp_queue_per_entry = 4;
    cfg->arp_queue_total = 16;
    cfg->arp_reachable_ns = 60LL * 1000000000LL; /* RFC 1122 2.3.2.1: about a minute */
    cfg->arp_retry_ns = 1000000000LL;            /* RFC 1122 2.3.2.1: 1 per second */
    cfg->arp_retries = 3;
    cfg->arp_failed_ns = 20LL * 1000000000LL;
    cfg->arp_announcements = 2;                         /* RFC 5227 2.3 ANNOUNCE_NUM */
    cfg->arp_announce_interval_ns = 2LL * 1000000000LL; /* RFC 5227 2.3 ANNOUNCE_INTERVAL */
    cfg->tcp = (struct tern_tcp_config){
        .max_connections = 64,
        .backlog = 8,
        .time_wait_max = 128, /* 128 x 72 bytes: 9 KiB (docs/memory.md) */
        .syn_cache_max = 128,
        .sndbuf = 1024 * 1024,
        .rcvbuf = 1024 * 1024,
        .msl_ns = 120LL * 1000000000LL, /* RFC 9293 3.4.2 */
        .syn_retries = 10,
        .synack_retries = 5, /* Linux's tcp_synack_retries: 1+2+4+8+16+32 = 63 s */
        .connect_timeout_ns = 180LL * 1000000000LL, /* RFC 9293 3.8.3 MUST-23 */
        .user_timeout_ns = 300LL * 1000000000LL,
        .rto_initial_ns = 1000000000LL, /* RFC 6298 2.1 */
        .rto_max_ns = 60LL * 1000000000LL,
        .challenge_ack_limit = 1000, /* RFC 5961 7; Linux's figure since CVE-2016-5696 */
        .isn_tick_ns = 4000,         /* RFC 9293 3.4.1 */
        .ephemeral_min = 49152,      /* RFC 6056 2.1 */
        .ephemeral_max = 65535,
        /* RFC 5961 7 leaves the figures to the administrator. One reply
         * per half second and connection is Linux's default for "invalid"
         * segments: whatever an attacker sends, the real peer sees at most
         * one extra duplicate ACK per half second, never the three in a
         * row that make it retransmit (RFC 5681 3.2). */
        .conn_reply_limit = 1,
        .conn_reply_window_ns = 500000000LL,
        .corrective_ack_limit = 1000,
        .rst_limit = 1000,
    };
    cfg->nd_entries = 32;
    cfg->nd_queue_total = 16;
    cfg->nd_dad_transmits = 1; /* RFC 4862 5.1 DupAddrDetectTransmits */
    cfg->pmtu_entries = 16;
    cfg->udp = (struct tern_udp_config){
        .max_sockets = 32, .rcvbuf = 65536, /* 16 records' headers and some 64 KiB of payload */
    };
}

static bool
prefix_contains(uint32_t net_addr, uint8_t prefix_len, uint32_t addr)
{
    uint32_t mask = prefix_len == 0 ? 0 : ~0u << (32 - prefix_len);
    return (net_addr & mask) == (addr & mask);
}

/* Whether gw lies in the subnet of an interface that has an address. */
static bool
gateway_on_link(const struct tern_config *cfg, uint32_t gw)
{
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        if (cfg->netifs[i].addr != 0 &&
            prefix_contains(cfg->netifs[i].addr, cfg->netifs[i].prefix_len, gw)) {
            return true;
        }
    }
    return false;
}

static int
config_check(const struct tern_config *cfg)
{
    if (cfg->n_netifs > TERN_MAX_NETIFS) {
        return TERN_ERR_INVAL;
    }
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        const struct tern_netif_config *n = &cfg->netifs[i];
        /* RFC 791 3.2: every internet module must handle 68-byte datagrams.
         * Address 0: none yet (tern_stack_set_addr gives it), no subnet. */
        if (n->prefix_len > 32 || n->mtu < 68 || n->transmit == NULL ||
            (n->addr == 0 && n->prefix_len != 0)) {
            return TERN_ERR_INVAL;
        }
        if (n->n_addr6 > TERN_NETIF_ADDR6_MAX) {
            return TERN_ERR_INVAL;
        }
        for (unsigned k = 0; k < n->n_addr6; k++) {
            /* RFC 4291 2.5: a unicast address of our own, not :: or ::1,
             * not multicast, mapped IPv4 or link-local (we form that). */
            struct tern_ip a = n->addr6[k].addr;
            static const uint8_t one[16] = {[15] = 1};
            if (n->addr6[k].prefix_len == 0 || n->addr6[k].prefix_len > 128 ||
                tern_ip_is_unspec6(a) || memcmp(a.b, one, 16) == 0 || a.b[0] == 0xff ||
                tern_ip_is4(a) || (a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80)) {
                return TERN_ERR_INVAL;
            }
        }
    }
    if (cfg->default_gateway != 0 && !gateway_on_link(cfg, cfg->default_gateway)) {
        return TERN_ERR_INVAL;
    }
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        /* Neighbour discovery needs a cache and a queue on an Ethernet
         * interface that runs IPv6 (MTU 1280 or more, RFC 8200 5). */
        if (cfg->netifs[i].link == TERN_LINK_ETHERNET && cfg->netifs[i].mtu >= 1280 &&
            (cfg->nd_entries == 0 || cfg->nd_queue_total == 0)) {
            return TERN_ERR_INVAL;
        }
    }
    if (!tern_ip_is_unspec6(cfg->gateway6) &&
        (tern_ip_is4(cfg->gateway6) || cfg->gateway6.b[0] == 0xff)) {
        return TERN_ERR_INVAL;
    }
    if (cfg->pool_bytes / POOL_CHUNK >= POOL_NIL) {
        return TERN_ERR_INVAL; /* more chunks than a 32-bit index names */
    }
    if (cfg->ttl == 0 || cfg->reass_timeout_ns <= 0) {
        return TERN_ERR_INVAL;
    }
    if (!link_config_ok(cfg)) {
        return TERN_ERR_INVAL;
    }
    return TERN_OK;
}

/* A frame's payload of EtherType IPv4, from link to ip (RFC 894). */
static void
ipv4_from_link(struct tern_stack *st, void *ctx, int netif, const uint8_t *pkt, size_t len)
{
    (void)ctx;
    ipv4_input(st, netif, pkt, len);
}

/* A frame's payload of EtherType IPv6 (RFC 2464). */
static void
ipv6_from_link(struct tern_stack *st, void *ctx, int netif, const uint8_t *pkt, size_t len)
{
    (void)ctx;
    ipv6_input(st, netif, pkt, len);
}

/* The registrations through which a lower layer hands packets to the one
 * above it: link's EtherType table (IPv4) and ip's protocol table (TCP, UDP).
 * No layer calls up any other way. */
static int
wire_layers(struct tern_stack *st)
{
    int rc = link_register_ethertype(st, WIRE_ETHERTYPE_IPV4, ipv4_from_link, NULL);
    if (rc == TERN_OK) {
        rc = link_register_ethertype(st, WIRE_ETHERTYPE_IPV6, ipv6_from_link, NULL);
    }
    if (rc == TERN_OK) {
        rc = ip_register_proto(st, WIRE_IPPROTO_TCP, tcp_input, tcp_icmp_error, NULL);
    }
    if (rc == TERN_OK) {
        rc = ip_register_proto(st, WIRE_IPPROTO_UDP, udp_input, udp_icmp_error, NULL);
    }
    return rc;
}

int
tern_stack_new(const struct tern_config *cfg, int64_t now_ns, struct tern_stack **out)
{
    if (out == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    if (cfg == NULL) {
        return TERN_ERR_INVAL;
    }
    int rc = config_check(cfg);
    if (rc != TERN_OK) {
        return rc;
    }
    /* RFC 6528 3: the ISN key must be secret. Seed 0 is what
     * tern_config_init leaves, so it is taken as "no secret chosen", unless
     * the caller asked for a fixed seed on purpose. */
    if (cfg->seed == 0 && !cfg->deterministic) {
        return TERN_ERR_NOSECRET;
    }
    tern_alloc_fn alloc = cfg->alloc ? cfg->alloc : tern_alloc_default;
    struct stack_root *root = alloc(cfg->alloc_ud, NULL, 0, sizeof(*root));
    if (root == NULL) {
        return TERN_ERR_NOMEM;
    }
    memset(root, 0, sizeof(*root));
    struct tern_stack *st = &root->st;
    st->link = &root->link;
    st->ip = &root->ip;
    st->tcp = &root->tcp;
    st->udp = &root->udp;
    st->cfg = *cfg;
    st->cfg.alloc = alloc;
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        root->mtu0[i] = cfg->netifs[i].mtu;
    }
    st->now_ns = now_ns;
    st->trace = cfg->trace;
    st->trace_ctx = cfg->trace_ctx;
    rng_seed(&st->rng, cfg->seed);
    rng_fill(&st->rng, st->hash_key, sizeof(st->hash_key));
    timer_wheel_init(&st->timers, now_ns);
    rc = pool_init(alloc, cfg->alloc_ud, &st->pool, cfg->pool_bytes);
    if (rc == TERN_OK) {
        rc = ip_init(st);
    }
    if (rc == TERN_OK) {
        rc = tcp_init(st);
    }
    if (rc == TERN_OK) {
        rc = udp_init(st);
    }
    if (rc == TERN_OK) {
        rc = link_init(st);
    }
    if (rc == TERN_OK) {
        rc = wire_layers(st);
    }
    if (rc != TERN_OK) {
        link_fini(st);
        udp_fini(st);
        tcp_fini(st);
        ip_fini(st);
        pool_fini(alloc, cfg->alloc_ud, &st->pool);
        alloc(cfg->alloc_ud, root, sizeof(*root), 0);
        return rc;
    }
    *out = st;
    return TERN_OK;
}

void
tern_stack_free(struct tern_stack *st)
{
    if (st == NULL) {
        return;
    }
    link_fini(st);
    udp_fini(st);
    tcp_fini(st);
    ip_fini(st);
    pool_fini(st->cfg.alloc, st->cfg.alloc_ud, &st->pool);
    st->cfg.alloc(st->cfg.alloc_ud, st, sizeof(struct stack_root), 0);
}

int
tern_stack_input(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len, int64_t now_ns)
{
    if (st == NULL || (pkt == NULL && len != 0)) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    if (netif < 0 || (unsigned)netif >= st->cfg.n_netifs) {
        stack_drop(st, TERN_DROP_IP_NO_NETIF, pkt, len);
        return TERN_ERR_INVAL;
    }
    /* Timers due before this datagram run first, so that the order of events
     * does not depend on how often the caller polls. */
    timer_wheel_advance(&st->timers, st->now_ns, st);
    if (st->cfg.netifs[netif].link == TERN_LINK_ETHERNET) {
        eth_input(st, netif, pkt, len);
    } else {
        ip_input_raw(st, netif, pkt, len);
    }
    return TERN_OK;
}

void
tern_stack_batch_begin(struct tern_stack *st)
{
    if (st != NULL) {
        st->tcp->batch_depth++;
    }
}

void
tern_stack_batch_end(struct tern_stack *st, int64_t now_ns)
{
    if (st == NULL || st->tcp->batch_depth == 0) {
        return;
    }
    stack_set_now(st, now_ns);
    if (--st->tcp->batch_depth == 0) {
        tcp_batch_end(st);
    }
}

void
tern_stack_poll(struct tern_stack *st, int64_t now_ns)
{
    if (st == NULL) {
        return;
    }
    stack_set_now(st, now_ns);
    timer_wheel_advance(&st->timers, st->now_ns, st);
}

int64_t
tern_stack_next_deadline(const struct tern_stack *st)
{
    return st == NULL ? INT64_MAX : timer_wheel_next_deadline(&st->timers);
}

const struct tern_stats *
tern_stack_stats(const struct tern_stack *st)
{
    if (st == NULL) {
        return NULL;
    }
    /* The pool's figures live in the pool, the number of TIME-WAIT records
     * in the TCP tables; copy them in as they are now.
     * Every stack is made by tern_stack_new and is not itself const, so
     * writing through this pointer is defined. */
    struct tern_stats *s = (struct tern_stats *)&st->stats;
    s->pool.chunks = st->pool.n;
    s->pool.avail = pool_avail(&st->pool);
    s->pool.min_avail = st->pool.min_avail;
    s->pool.take_fail = st->pool.take_fail;
    s->tcp.time_wait_records = tcp_mini_tw_count(st);
    return s;
}

void
tern_stack_set_trace(struct tern_stack *st, tern_trace_fn fn, void *ctx)
{
    if (st == NULL) {
        return;
    }
    st->trace = fn;
    st->trace_ctx = ctx;
}

const char *
tern_version(void)
{
    return TERN_VERSION;
}

uint32_t
tern_stack_addr(const struct tern_stack *st, int netif)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs) {
        return 0;
    }
    return st->cfg.netifs[netif].addr;
}

uint8_t
tern_stack_prefix_len(const struct tern_stack *st, int netif)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs) {
        return 0;
    }
    return st->cfg.netifs[netif].prefix_len;
}

int
tern_stack_set_addr(struct tern_stack *st, int netif, uint32_t addr, uint8_t prefix_len,
                    int64_t now_ns)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs || prefix_len > 32) {
        return TERN_ERR_INVAL;
    }
    /* RFC 1122 3.2.1.3: an interface's address names one host (127/8 makes
     * a loopback interface, as in the configuration). */
    if (ip_addr_is_multicast(addr) || ip_addr_is_class_e(addr)) {
        return TERN_ERR_INVAL;
    }
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (addr != 0 && i != (unsigned)netif && st->cfg.netifs[i].addr == addr) {
            return TERN_ERR_EXIST;
        }
    }
    stack_set_now(st, now_ns);
    struct tern_netif_config *n = &st->cfg.netifs[netif];
    bool changed = n->addr != addr;
    n->addr = addr;
    n->prefix_len = addr == 0 ? 0 : prefix_len;
    if (st->cfg.default_gateway != 0 && !gateway_on_link(&st->cfg, st->cfg.default_gateway)) {
        st->cfg.default_gateway = 0; /* RFC 1122 3.3.1.1: a gateway is on a connected network */
    }
    if (changed) {
        arp_addr_changed(st, netif);
    }
    return TERN_OK;
}

int
tern_stack_set_mtu(struct tern_stack *st, int netif, uint16_t mtu)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs) {
        return TERN_ERR_INVAL;
    }
    const struct stack_root *root = (const struct stack_root *)st;
    if (mtu == 0) {
        mtu = root->mtu0[netif];
    }
    /* RFC 791 3.2: 68 at least; at most what the buffers were sized for. */
    if (mtu < 68 || mtu > root->mtu0[netif]) {
        return TERN_ERR_INVAL;
    }
    st->cfg.netifs[netif].mtu = mtu;
    return TERN_OK;
}

uint16_t
tern_stack_mtu(const struct tern_stack *st, int netif)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs) {
        return 0;
    }
    return st->cfg.netifs[netif].mtu;
}

uint32_t
tern_stack_gateway(const struct tern_stack *st)
{
    return st == NULL ? 0 : st->cfg.default_gateway;
}

int
tern_stack_set_gateway(struct tern_stack *st, uint32_t gateway, int64_t now_ns)
{
    if (st == NULL || (gateway != 0 && !gateway_on_link(&st->cfg, gateway))) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    st->cfg.default_gateway = gateway;
    return TERN_OK;
}

uint64_t
tern_stack_random(struct tern_stack *st)
{
    return st == NULL ? 0 : rng_next(&st->rng);
}

bool
tern_stack_has_addr(const struct tern_stack *st, struct tern_ip a)
{
    return st != NULL && ip_is_ours(st, a);
}
