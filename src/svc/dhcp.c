/*
 * src/svc/dhcp.c: the DHCPv4 client (include/tern/dhcp.h): the state
 * machine of RFC 2131 4.4 over the stack's public UDP API, with messages
 * built and checked by src/wire/dhcp.c.
 *
 * Read before editing: include/tern/dhcp.h (the contract), docs/dhcp.md
 * (the choices), RFC 2131 3.1, 3.2, 4.1 (retransmission, xid, BROADCAST),
 * 4.3.1 table 3, 4.4 (figure 5, table 5, 4.4.1-4.4.6), RFC 2132 3.3, 3.5,
 * 3.8, 3.17, 5.1, 9.2, 9.7, 9.11, 9.12, RFC 5227 2.1.1.
 *
 * This file sees only the public headers and src/wire (the svc rank of
 * tools/layers.py): it drives the stack as any application would.
 */
#include "tern/dhcp.h"

#include <stdlib.h>
#include <string.h>

#include "tern/udp.h"
#include "wire/dhcp.h"

#define SEC INT64_C(1000000000)

/* RFC 2131 4.1: the first retransmission after 4 s, doubling up to 64 s,
 * each randomised by a uniform -1..+1 s. */
#define RTX_FIRST_NS (4 * SEC)
#define RTX_MAX_NS   (64 * SEC)
#define RTX_FUZZ_NS  SEC
/* RFC 2131 4.4.5: in RENEWING and REBINDING, wait half the time left (to
 * T2, to expiry), but at least 60 s, before asking again. */
#define RENEW_MIN_NS (60 * SEC)
/* Replies longer than this are dropped (TOO_LONG). Servers send at most
 * 576 bytes unless a client allows more (RFC 2131 2), which we do not. */
#define RX_BUF 1500
/* Our messages: the fixed part, cookie and a few short options (RFC 2131
 * 2: at most 576 bytes unless the server allows more). */
#define TX_BUF 576

/* RFC 2132 9.8: what we ask for: subnet mask, router, DNS servers, domain
 * name, interface MTU, lease time, T1, T2. */
static const uint8_t param_list[] = {
    WIRE_DHCP_OPT_SUBNET_MASK, WIRE_DHCP_OPT_ROUTER, WIRE_DHCP_OPT_DNS,
    WIRE_DHCP_OPT_DOMAIN_NAME, WIRE_DHCP_OPT_MTU,    WIRE_DHCP_OPT_LEASE_TIME,
    WIRE_DHCP_OPT_T1,          WIRE_DHCP_OPT_T2,
};

struct tern_dhcp {
    struct tern_stack *st;
    struct tern_dhcp_config cfg;
    uint8_t mac[TERN_MAC_LEN];
    int sock; /* our UDP socket on port 68; 0 when stopped */
    enum tern_dhcp_state state;
    int64_t now_ns;       /* the latest time given */
    int64_t deadline_ns;  /* when the state's timer runs; INT64_MAX: never */
    uint32_t xid;         /* of the question open */
    int64_t began_ns;     /* when this acquisition or renewal began (the secs field) */
    uint16_t secs;        /* secs of the last DISCOVER: REQUESTING repeats it (RFC 2131 3.1) */
    int64_t req_first_ns; /* first transmission of the current REQUEST: the lease counts from it */
    unsigned tries;       /* transmissions of the current message */
    uint32_t offer_addr, offer_server; /* REQUESTING: the offer asked for */
    unsigned probes_sent;              /* PROBING */
    struct tern_dhcp_lease pending;    /* PROBING: what the ACK gave */
    struct tern_dhcp_lease lease;      /* BOUND, RENEWING, REBINDING: what we hold */
    struct tern_dhcp_stats stats;
    uint8_t rx[RX_BUF];
    uint8_t tx[TX_BUF];
};

/* ---- small things ------------------------------------------------------- */

static void *
default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

static bool
holding(const struct tern_dhcp *c)
{
    return c->state == TERN_DHCP_BOUND || c->state == TERN_DHCP_RENEWING ||
           c->state == TERN_DHCP_REBINDING;
}

/* Uniform in [lo, hi] ns, from the stack's generator. */
static int64_t
uniform(struct tern_dhcp *c, int64_t lo, int64_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(tern_stack_random(c->st) % span);
}

/* RFC 2131 4.1: the wait after transmission number c->tries (1 = the
 * first): 4 s, 8 s, ... up to 64 s, each +-1 s at random. */
static int64_t
backoff(struct tern_dhcp *c)
{
    int64_t base = RTX_FIRST_NS;
    for (unsigned i = 1; i < c->tries && base < RTX_MAX_NS; i++) {
        base *= 2;
    }
    if (base > RTX_MAX_NS) {
        base = RTX_MAX_NS;
    }
    return base + uniform(c, -RTX_FUZZ_NS, RTX_FUZZ_NS);
}

/* Table 5: 'secs' is the time since the client began acquisition or
 * renewal, in seconds. */
static uint16_t
secs_since(const struct tern_dhcp *c, int64_t t)
{
    int64_t s = (c->now_ns - t) / SEC;
    return s < 0 ? 0 : s > 0xffff ? 0xffff : (uint16_t)s;
}

static void
event(struct tern_dhcp *c, enum tern_dhcp_event ev, const struct tern_dhcp_lease *l)
{
    if (c->cfg.fn != NULL) {
        c->cfg.fn(c->cfg.ctx, c, ev, l, c->now_ns);
    }
}

static void
drop(struct tern_dhcp *c, enum tern_dhcp_drop why)
{
    c->stats.drops[why]++;
}

/* ---- sending ------------------------------------------------------------ */

struct out {
    enum wire_dhcp_msg type;
    uint32_t ciaddr, requested, server_id;
    uint16_t secs;
    bool broadcast_flag; /* RFC 2131 4.1: we cannot take unicast before we have an address */
    uint32_t dst;        /* 0xffffffff: the limited broadcast */
};

static void
send_msg(struct tern_dhcp *c, const struct out *o)
{
    struct wire_dhcp_client_msg m = {
        .type = o->type,
        .xid = c->xid,
        .secs = o->secs,
        .broadcast = o->broadcast_flag,
        .htype = WIRE_DHCP_HTYPE_ETHER,
        .hlen = TERN_MAC_LEN,
        .chaddr = c->mac,
        .ciaddr = o->ciaddr,
        .requested = o->requested,
        .server_id = o->server_id,
    };
    /* Table 5: the parameter request list only in DISCOVER and REQUEST. */
    if (o->type == WIRE_DHCP_DISCOVER || o->type == WIRE_DHCP_REQUEST) {
        m.param_list = param_list;
        m.param_list_len = sizeof(param_list);
    }
    size_t n = wire_dhcp_emit_client(&m, c->tx, sizeof(c->tx));
    struct tern_udp_addr to = {
        .family = TERN_UDP_AF_INET, .port = WIRE_DHCP_SERVER_PORT, .v4 = o->dst};
    if (n == 0 || tern_udp_sendto(c->st, c->sock, c->tx, n, &to, c->now_ns) < 0) {
        c->stats.tx_failed++; /* lost like a datagram on the wire: the timers ask again */
        return;
    }
    switch (o->type) {
    case WIRE_DHCP_DISCOVER:
        c->stats.tx_discover++;
        break;
    case WIRE_DHCP_REQUEST:
        c->stats.tx_request++;
        break;
    case WIRE_DHCP_DECLINE:
        c->stats.tx_decline++;
        break;
    case WIRE_DHCP_RELEASE:
        c->stats.tx_release++;
        break;
    case WIRE_DHCP_OFFER:
    case WIRE_DHCP_ACK:
    case WIRE_DHCP_NAK:
    case WIRE_DHCP_INFORM:
        break;
    }
    if (c->tries > 1) {
        c->stats.retransmits++;
    }
}

static void
new_xid(struct tern_dhcp *c)
{
    /* RFC 2131 4.1: an xid other clients are unlikely to pick: random. */
    c->xid = (uint32_t)tern_stack_random(c->st);
    c->began_ns = c->now_ns;
    c->tries = 0;
}

/* SELECTING: a DISCOVER, broadcast (RFC 2131 4.4.1, 4.4.4); the same xid
 * for its retransmissions (4.1 leaves it to us). */
static void
send_discover(struct tern_dhcp *c, bool first)
{
    if (first) {
        new_xid(c);
    }
    c->tries++;
    c->secs = secs_since(c, c->began_ns);
    c->state = TERN_DHCP_SELECTING;
    send_msg(c, &(struct out){.type = WIRE_DHCP_DISCOVER,
                              .secs = c->secs,
                              .broadcast_flag = true,
                              .dst = 0xffffffffu});
    c->deadline_ns = c->now_ns + backoff(c);
}

/* REQUESTING: a REQUEST for the offer, broadcast, with the offer's xid,
 * the server's identifier and the DISCOVER's secs (RFC 2131 3.1 step 3,
 * 4.4.1). */
static void
send_select(struct tern_dhcp *c, bool first)
{
    if (first) {
        c->tries = 0;
        c->req_first_ns = c->now_ns;
    }
    c->tries++;
    c->state = TERN_DHCP_REQUESTING;
    send_msg(c, &(struct out){.type = WIRE_DHCP_REQUEST,
                              .requested = c->offer_addr,
                              .server_id = c->offer_server,
                              .secs = c->secs,
                              .broadcast_flag = true,
                              .dst = 0xffffffffu});
    c->deadline_ns = c->now_ns + backoff(c);
}

/* REBOOTING: a REQUEST for the address we knew, broadcast, without a
 * server identifier (RFC 2131 3.2, 4.4.2). */
static void
send_reboot(struct tern_dhcp *c, bool first)
{
    if (first) {
        new_xid(c);
        c->req_first_ns = c->now_ns;
    }
    c->tries++;
    c->state = TERN_DHCP_REBOOTING;
    send_msg(c, &(struct out){.type = WIRE_DHCP_REQUEST,
                              .requested = c->cfg.requested,
                              .secs = secs_since(c, c->began_ns),
                              .broadcast_flag = true,
                              .dst = 0xffffffffu});
    c->deadline_ns = c->now_ns + backoff(c);
}

/* RENEWING (unicast to the lease's server) or REBINDING (broadcast): a
 * REQUEST with ciaddr, no server identifier (RFC 2131 4.4.5); the next try
 * after half the time left to T2 or expiry, at least 60 s, never past it. */
static void
send_renew(struct tern_dhcp *c, enum tern_dhcp_state state, bool first)
{
    if (first) {
        new_xid(c);
        c->req_first_ns = c->now_ns;
    }
    c->tries++;
    c->state = state;
    bool rebind = state == TERN_DHCP_REBINDING;
    send_msg(c, &(struct out){.type = WIRE_DHCP_REQUEST,
                              .ciaddr = c->lease.addr,
                              .secs = secs_since(c, c->began_ns),
                              .dst = rebind ? 0xffffffffu : c->lease.server});
    int64_t until = rebind ? c->lease.expiry_ns : c->lease.t2_ns;
    int64_t wait = until / 2 - c->now_ns / 2; /* (until - now) / 2, without overflow */
    if (wait < RENEW_MIN_NS) {
        wait = RENEW_MIN_NS;
    }
    c->deadline_ns = until - wait < c->now_ns ? until : c->now_ns + wait;
}

/* ---- the lease ----------------------------------------------------------- */

/* Takes the address off the interface (and with it a gateway on its
 * subnet: tern_stack_set_addr). */
static void
unconfigure(struct tern_dhcp *c)
{
    if (c->cfg.configure) {
        (void)tern_stack_set_addr(c->st, c->cfg.netif, 0, 0, c->now_ns);
        (void)tern_stack_set_mtu(c->st, c->cfg.netif, 0);
    }
}

/* Puts the lease on the interface: address, prefix, the first router on
 * its subnet as the default gateway (RFC 2132 3.5: in order of
 * preference), and the MTU (5.1; one above the interface's own is not
 * taken: the link was configured for less). A refusal of the address (it
 * is another interface's) leaves the interface as it was; the lease is
 * still reported. */
static void
configure(struct tern_dhcp *c, const struct tern_dhcp_lease *l)
{
    if (!c->cfg.configure ||
        tern_stack_set_addr(c->st, c->cfg.netif, l->addr, l->prefix_len, c->now_ns) != TERN_OK) {
        return;
    }
    if (tern_stack_set_mtu(c->st, c->cfg.netif, l->mtu) != TERN_OK) {
        (void)tern_stack_set_mtu(c->st, c->cfg.netif, 0);
    }
    uint32_t mask = l->prefix_len == 0 ? 0 : ~0u << (32 - l->prefix_len);
    for (unsigned i = 0; i < l->n_routers; i++) {
        if (l->routers[i] != l->addr && (l->routers[i] & mask) == (l->addr & mask) &&
            tern_stack_set_gateway(c->st, l->routers[i], c->now_ns) == TERN_OK) {
            return;
        }
    }
}

/* The natural mask of an address's class, for a lease without option 1
 * (RFC 2132 3.3 leaves it to the client; RFC 791's classes). */
static uint8_t
class_prefix(uint32_t a)
{
    return (a >> 31) == 0 ? 8 : (a >> 30) == 2 ? 16 : 24;
}

/* `s` seconds after t, or INT64_MAX past the clock's end. */
static int64_t
later(int64_t t, uint32_t s)
{
    int64_t d = (int64_t)s * SEC;
    return t > INT64_MAX - d ? INT64_MAX : t + d;
}

/* The lease an OFFER or ACK describes, its times counted from `start`.
 * Returns TERN_DHCP_DROP_COUNT when it is usable, else why not. */
static enum tern_dhcp_drop
lease_of(const struct wire_dhcp *m, int64_t start, struct tern_dhcp_lease *l)
{
    const struct wire_dhcp_opts *o = &m->opts;
    memset(l, 0, sizeof(*l));
    uint32_t a = m->yiaddr;
    /* The address must name one host: not 0, loopback, class D or E. */
    if (a == 0 || (a >> 24) == 127 || (a >> 28) >= 0xe || (a >> 24) == 0) {
        return TERN_DHCP_DROP_BAD_ADDR;
    }
    l->prefix_len = class_prefix(a);
    if (o->has_subnet_mask) {
        /* RFC 2132 3.3 / RFC 950: ones then zeros; at least one bit of
         * network. */
        uint32_t inv = ~o->subnet_mask;
        if (o->subnet_mask == 0 || (inv & (inv + 1)) != 0) {
            return TERN_DHCP_DROP_BAD_MASK;
        }
        uint8_t p = 0;
        for (uint32_t v = o->subnet_mask; v != 0; v <<= 1) {
            p++;
        }
        l->prefix_len = p;
    }
    /* Not the subnet's own address or its broadcast (RFC 1122 3.3.6;
     * /31 and /32 have none, RFC 3021). */
    if (l->prefix_len <= 30) {
        uint32_t host = a & ~(~0u << (32 - l->prefix_len));
        if (host == 0 || host == ~(~0u << (32 - l->prefix_len))) {
            return TERN_DHCP_DROP_BAD_ADDR;
        }
    }
    l->addr = a;
    l->server = o->server_id;
    l->n_routers = (unsigned)o->n_routers;
    memcpy(l->routers, o->routers, sizeof(uint32_t) * o->n_routers);
    l->n_dns = (unsigned)o->n_dns;
    memcpy(l->dns, o->dns, sizeof(uint32_t) * o->n_dns);
    l->mtu = o->has_mtu ? o->mtu : 0;
    memcpy(l->domain, o->domain, o->domain_len);
    l->domain[o->domain_len] = 0;
    /* RFC 2131 4.4.5: T1 defaults to half the lease, T2 to 0.875 of it,
     * and T1 < T2 < lease. Choice: a T2 past the lease or a T1 past T2
     * from the server is replaced by its default. */
    uint32_t lease = o->lease_time;
    uint32_t t2 = (uint32_t)((uint64_t)lease * 7 / 8), t1 = lease / 2;
    if (o->has_t2 && o->t2 <= lease) {
        t2 = o->t2;
    }
    if (o->has_t1 && o->t1 <= t2) {
        t1 = o->t1;
    } else if (t1 > t2) {
        t1 = t2;
    }
    l->lease_s = lease;
    l->start_ns = start;
    if (lease == TERN_DHCP_INFINITE) {
        /* RFC 2131 3.3: infinite: never renewed, never expires. */
        l->t1_s = l->t2_s = TERN_DHCP_INFINITE;
        l->t1_ns = l->t2_ns = l->expiry_ns = INT64_MAX;
    } else {
        l->t1_s = t1;
        l->t2_s = t2;
        l->t1_ns = later(start, t1);
        l->t2_ns = later(start, t2);
        l->expiry_ns = later(start, lease);
    }
    return TERN_DHCP_DROP_COUNT;
}

static void
go_init(struct tern_dhcp *c, int64_t when)
{
    c->state = TERN_DHCP_INIT;
    c->deadline_ns = when;
}

static void
bind_lease(struct tern_dhcp *c)
{
    c->lease = c->pending;
    configure(c, &c->lease);
    c->state = TERN_DHCP_BOUND;
    c->deadline_ns = c->lease.t1_ns;
    c->stats.bound++;
    event(c, TERN_DHCP_EV_BOUND, &c->lease);
}

/* RFC 2131 3.1 step 5, 4.4.1: the address is in use: DECLINE it
 * (broadcast, 4.4.4) and start over after a pause. */
static void
decline(struct tern_dhcp *c)
{
    c->tries = 0;
    send_msg(c, &(struct out){.type = WIRE_DHCP_DECLINE,
                              .requested = c->pending.addr,
                              .server_id = c->pending.server,
                              .dst = 0xffffffffu});
    c->stats.declined++;
    go_init(c, c->now_ns + c->cfg.decline_wait_ns);
    event(c, TERN_DHCP_EV_DECLINED, &c->pending);
}

/* PROBING, each turn: a conflict declines; else the next probe, or, once
 * they are all out and the wait after the last has passed, the address is
 * ours (RFC 5227 2.1.1, as RFC 2131 4.4.1 asks). */
static void
probe_step(struct tern_dhcp *c)
{
    if (tern_arp_probe_result(c->st, c->cfg.netif, c->pending.addr) == TERN_ERR_EXIST) {
        decline(c);
        return;
    }
    if (c->now_ns < c->deadline_ns) {
        return;
    }
    if (c->probes_sent < c->cfg.probes) {
        c->probes_sent++;
        if (tern_arp_probe(c->st, c->cfg.netif, c->pending.addr, c->now_ns) == TERN_OK) {
            c->stats.probes++;
        }
        c->deadline_ns = c->now_ns + c->cfg.probe_interval_ns;
        return;
    }
    bind_lease(c);
}

static void
start_probing(struct tern_dhcp *c)
{
    c->state = TERN_DHCP_PROBING;
    c->probes_sent = 0;
    c->deadline_ns = c->now_ns;
    if (c->cfg.probes == 0) {
        bind_lease(c);
        return;
    }
    probe_step(c);
}

/* A NAK: RFC 2131 3.1 step 4 (REQUESTING), 3.2 (REBOOTING), 4.4.5: the
 * client stops using any address and starts over. */
static void
nak(struct tern_dhcp *c)
{
    c->stats.naks++;
    struct tern_dhcp_lease lost = c->lease;
    if (holding(c)) {
        unconfigure(c);
    } else {
        memset(&lost, 0, sizeof(lost));
        lost.addr = c->state == TERN_DHCP_REBOOTING ? c->cfg.requested : c->offer_addr;
        lost.server = c->offer_server;
    }
    go_init(c, c->now_ns);
    event(c, TERN_DHCP_EV_NAK, &lost);
}

static void
expire(struct tern_dhcp *c)
{
    /* RFC 2131 4.4.5: the lease ran out: stop using the address, INIT. */
    unconfigure(c);
    c->stats.expired++;
    go_init(c, c->now_ns);
    event(c, TERN_DHCP_EV_EXPIRED, &c->lease);
}

/* ---- receiving ------------------------------------------------------------ */

static enum tern_dhcp_drop
drop_of_wire(enum wire_err e)
{
    switch (e) {
    case WIRE_ERR_DHCP_TRUNCATED:
    case WIRE_ERR_DHCP_OPT_TRUNCATED:
    case WIRE_ERR_DHCP_NO_END:
        return TERN_DHCP_DROP_TRUNCATED;
    case WIRE_ERR_DHCP_NOT_REPLY:
        return TERN_DHCP_DROP_NOT_REPLY;
    case WIRE_ERR_DHCP_XID:
        return TERN_DHCP_DROP_XID;
    case WIRE_ERR_DHCP_CHADDR:
        return TERN_DHCP_DROP_CHADDR;
    case WIRE_ERR_DHCP_MSG_TYPE:
        return TERN_DHCP_DROP_UNEXPECTED;
    case WIRE_ERR_DHCP_NO_SERVER_ID:
        return TERN_DHCP_DROP_NO_SERVER_ID;
    case WIRE_ERR_DHCP_NO_LEASE:
        return TERN_DHCP_DROP_NO_LEASE;
    default: /* op, hlen, cookie, overload, option length */
        return TERN_DHCP_DROP_MALFORMED;
    }
}

/* An ACK to our REQUEST, checked: the lease it gives, or why not. */
static enum tern_dhcp_drop
ack_lease(struct tern_dhcp *c, const struct wire_dhcp *m, uint32_t want, struct tern_dhcp_lease *l)
{
    /* The ACK's yiaddr is the address asked for (RFC 2131 4.3.2: the
     * server answers that REQUEST, or NAKs). */
    if (m->yiaddr != want) {
        return TERN_DHCP_DROP_BAD_ADDR;
    }
    return lease_of(m, c->req_first_ns, l);
}

static void
handle(struct tern_dhcp *c, const uint8_t *buf, size_t len)
{
    struct wire_dhcp m;
    enum wire_err e = wire_dhcp_parse(buf, len, &m);
    if (e != WIRE_OK) {
        drop(c, drop_of_wire(e));
        return;
    }
    enum wire_dhcp_msg sent;
    switch (c->state) {
    case TERN_DHCP_SELECTING:
        sent = WIRE_DHCP_DISCOVER;
        break;
    case TERN_DHCP_REQUESTING:
    case TERN_DHCP_REBOOTING:
    case TERN_DHCP_RENEWING:
    case TERN_DHCP_REBINDING:
        sent = WIRE_DHCP_REQUEST;
        break;
    default:
        /* No question open (INIT, PROBING, BOUND): a late or repeated
         * answer, or someone else's. */
        drop(c, TERN_DHCP_DROP_UNEXPECTED);
        return;
    }
    /* RFC 2131 4.3.1 table 3, 4.4.1: our xid and chaddr, an answer to what
     * we sent, with a server identifier and (OFFER, ACK) a lease time. */
    e = wire_dhcp_check_reply(&m, sent, c->xid, WIRE_DHCP_HTYPE_ETHER, TERN_MAC_LEN, c->mac);
    if (e != WIRE_OK) {
        drop(c, drop_of_wire(e));
        return;
    }
    bool is_nak = m.opts.msg_type == WIRE_DHCP_NAK;
    struct tern_dhcp_lease l;
    enum tern_dhcp_drop why = TERN_DHCP_DROP_COUNT;
    switch (c->state) {
    case TERN_DHCP_SELECTING:
        /* Choice: the first acceptable OFFER (RFC 2131 4.4.1 lets the
         * client wait for more; one server is the usual case). */
        why = lease_of(&m, c->now_ns, &l);
        if (why != TERN_DHCP_DROP_COUNT) {
            break;
        }
        c->stats.rx_offer++;
        c->offer_addr = l.addr;
        c->offer_server = l.server;
        send_select(c, true);
        return;
    case TERN_DHCP_REQUESTING:
        /* The REQUEST named one server; the others do not answer it. */
        if (m.opts.server_id != c->offer_server) {
            why = TERN_DHCP_DROP_WRONG_SERVER;
            break;
        }
        if (is_nak) {
            c->stats.rx_nak++;
            nak(c);
            return;
        }
        why = ack_lease(c, &m, c->offer_addr, &l);
        if (why != TERN_DHCP_DROP_COUNT) {
            break;
        }
        c->stats.rx_ack++;
        c->pending = l;
        start_probing(c);
        return;
    case TERN_DHCP_REBOOTING:
        /* RFC 2131 4.4.2: an answer from any server. */
        if (is_nak) {
            c->stats.rx_nak++;
            nak(c);
            return;
        }
        why = ack_lease(c, &m, c->cfg.requested, &l);
        if (why != TERN_DHCP_DROP_COUNT) {
            break;
        }
        c->stats.rx_ack++;
        c->pending = l;
        start_probing(c);
        return;
    case TERN_DHCP_RENEWING:
    case TERN_DHCP_REBINDING:
        /* RENEWING asked the lease's server; REBINDING any (4.4.5). */
        if (c->state == TERN_DHCP_RENEWING && m.opts.server_id != c->lease.server) {
            why = TERN_DHCP_DROP_WRONG_SERVER;
            break;
        }
        if (is_nak) {
            c->stats.rx_nak++;
            nak(c);
            return;
        }
        why = ack_lease(c, &m, c->lease.addr, &l);
        if (why != TERN_DHCP_DROP_COUNT) {
            break;
        }
        c->stats.rx_ack++;
        c->stats.renewed++;
        c->lease = l;
        configure(c, &c->lease); /* the prefix or the router may have changed */
        c->state = TERN_DHCP_BOUND;
        c->deadline_ns = c->lease.t1_ns;
        event(c, TERN_DHCP_EV_RENEWED, &c->lease);
        return;
    default:
        why = TERN_DHCP_DROP_UNEXPECTED; /* not reached: the states above are all that ask */
        break;
    }
    drop(c, why);
}

/* Everything waiting in the socket (bounded by its receive cap). */
static void
read_all(struct tern_dhcp *c)
{
    while (c->sock > 0) {
        struct tern_udp_addr from;
        size_t whole = 0;
        int n =
            tern_udp_recvfrom(c->st, c->sock, c->rx, sizeof(c->rx), 0, &from, &whole, c->now_ns);
        if (n < 0) {
            return; /* TERN_ERR_AGAIN: nothing more */
        }
        c->stats.rx++;
        if (whole > sizeof(c->rx)) {
            drop(c, TERN_DHCP_DROP_TOO_LONG);
        } else if (from.port != WIRE_DHCP_SERVER_PORT) {
            drop(c, TERN_DHCP_DROP_SOURCE_PORT); /* RFC 2131 4.1: servers send from 67 */
        } else {
            handle(c, c->rx, (size_t)n);
        }
    }
}

/* ---- timers ---------------------------------------------------------------- */

static void
timer(struct tern_dhcp *c)
{
    switch (c->state) {
    case TERN_DHCP_INIT:
        send_discover(c, true);
        return;
    case TERN_DHCP_INIT_REBOOT:
        send_reboot(c, true);
        return;
    case TERN_DHCP_SELECTING:
        /* Choice: DISCOVER is repeated for as long as it takes (every 64
         * s at most); nothing else can be done without a server. */
        send_discover(c, false);
        return;
    case TERN_DHCP_REQUESTING:
    case TERN_DHCP_REBOOTING:
        if (c->tries >= c->cfg.request_tries) {
            /* RFC 2131 3.1 step 5 / 4.4.1: no ACK or NAK after the
             * retransmissions: back to INIT, and tell the user. */
            c->stats.restarts++;
            struct tern_dhcp_lease l = {.addr = c->state == TERN_DHCP_REBOOTING ? c->cfg.requested
                                                                                : c->offer_addr,
                                        .server = c->offer_server};
            go_init(c, c->now_ns);
            event(c, TERN_DHCP_EV_RESTART, &l);
            return;
        }
        if (c->state == TERN_DHCP_REQUESTING) {
            send_select(c, false);
        } else {
            send_reboot(c, false);
        }
        return;
    case TERN_DHCP_PROBING:
        probe_step(c);
        return;
    case TERN_DHCP_BOUND:
        /* RFC 2131 4.4.5: T1 reached: RENEWING (or T2 already passed:
         * REBINDING). */
        if (c->now_ns >= c->lease.expiry_ns) {
            expire(c);
        } else {
            send_renew(c, c->now_ns >= c->lease.t2_ns ? TERN_DHCP_REBINDING : TERN_DHCP_RENEWING,
                       true);
        }
        return;
    case TERN_DHCP_RENEWING:
        if (c->now_ns >= c->lease.expiry_ns) {
            expire(c);
        } else if (c->now_ns >= c->lease.t2_ns) {
            send_renew(c, TERN_DHCP_REBINDING, true);
        } else {
            send_renew(c, TERN_DHCP_RENEWING, false);
        }
        return;
    case TERN_DHCP_REBINDING:
        if (c->now_ns >= c->lease.expiry_ns) {
            expire(c);
        } else {
            send_renew(c, TERN_DHCP_REBINDING, false);
        }
        return;
    case TERN_DHCP_STOPPED:
    case TERN_DHCP_STATE_COUNT:
        c->deadline_ns = INT64_MAX;
        return;
    }
}

/* ---- public ------------------------------------------------------------------ */

void
tern_dhcp_config_init(struct tern_dhcp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->configure = true;
    cfg->probes = 2;
    cfg->probe_interval_ns = SEC;
    cfg->decline_wait_ns = 10 * SEC; /* RFC 2131 3.1 step 5 */
    cfg->request_tries = 4;          /* RFC 2131 3.1 step 5: four, about 60 s */
}

int
tern_dhcp_new(struct tern_stack *st, const struct tern_dhcp_config *cfg, int64_t now_ns,
              struct tern_dhcp **out)
{
    if (out == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    uint8_t mac[TERN_MAC_LEN];
    if (st == NULL || cfg == NULL || tern_stack_mac(st, cfg->netif, mac) != TERN_OK ||
        cfg->probe_interval_ns < 0 || cfg->decline_wait_ns < 0 || cfg->start_delay_max_ns < 0 ||
        cfg->request_tries == 0) {
        return TERN_ERR_INVAL;
    }
    tern_alloc_fn alloc = cfg->alloc != NULL ? cfg->alloc : default_alloc;
    struct tern_dhcp *c = alloc(cfg->alloc_ud, NULL, 0, sizeof(*c));
    if (c == NULL) {
        return TERN_ERR_NOMEM;
    }
    memset(c, 0, sizeof(*c));
    c->st = st;
    c->cfg = *cfg;
    c->cfg.alloc = alloc;
    memcpy(c->mac, mac, sizeof(mac));
    c->state = TERN_DHCP_STOPPED;
    c->now_ns = now_ns;
    c->deadline_ns = INT64_MAX;
    *out = c;
    return TERN_OK;
}

void
tern_dhcp_free(struct tern_dhcp *c)
{
    if (c == NULL) {
        return;
    }
    if (c->sock > 0) {
        (void)tern_udp_close(c->st, c->sock, c->now_ns);
    }
    c->cfg.alloc(c->cfg.alloc_ud, c, sizeof(*c), 0);
}

int
tern_dhcp_start(struct tern_dhcp *c, int64_t now_ns)
{
    if (c == NULL) {
        return TERN_ERR_INVAL;
    }
    if (c->state != TERN_DHCP_STOPPED) {
        return TERN_ERR_STATE;
    }
    if (now_ns > c->now_ns) {
        c->now_ns = now_ns;
    }
    int id = tern_udp_open(c->st, c->now_ns);
    if (id < 0) {
        return id;
    }
    /* RFC 2131 4.1: replies come to port 68, broadcast while we have no
     * address; we send to the limited broadcast. */
    struct tern_udp_addr local = {.family = TERN_UDP_AF_INET, .port = WIRE_DHCP_CLIENT_PORT};
    int rc = tern_udp_setopt(c->st, id, TERN_UDP_OPT_BROADCAST, 1);
    if (rc == TERN_OK) {
        rc = tern_udp_bind(c->st, id, &local, c->now_ns);
    }
    if (rc != TERN_OK) {
        (void)tern_udp_close(c->st, id, c->now_ns);
        return rc;
    }
    c->sock = id;
    c->state = c->cfg.requested != 0 ? TERN_DHCP_INIT_REBOOT : TERN_DHCP_INIT;
    c->deadline_ns = c->now_ns + uniform(c, 0, c->cfg.start_delay_max_ns);
    return TERN_OK;
}

void
tern_dhcp_poll(struct tern_dhcp *c, int64_t now_ns)
{
    if (c == NULL || c->state == TERN_DHCP_STOPPED) {
        return;
    }
    if (now_ns > c->now_ns) {
        c->now_ns = now_ns;
    }
    read_all(c);
    /* Each turn either moves the deadline past now or changes state; a
     * few turns cover any chain (INIT at once after a NAK, then SELECTING). */
    for (int turns = 0; turns < 8 && c->state != TERN_DHCP_STOPPED; turns++) {
        if (c->state == TERN_DHCP_PROBING) {
            probe_step(c); /* a conflict is acted on as soon as it is seen */
            if (c->state == TERN_DHCP_PROBING) {
                break;
            }
            continue;
        }
        if (c->deadline_ns > c->now_ns) {
            break;
        }
        timer(c);
    }
}

int64_t
tern_dhcp_next_deadline(const struct tern_dhcp *c)
{
    if (c == NULL || c->state == TERN_DHCP_STOPPED) {
        return INT64_MAX;
    }
    if (tern_udp_pending(c->st, c->sock, NULL) >= 0) {
        return c->now_ns; /* a reply waits */
    }
    return c->deadline_ns;
}

void
tern_dhcp_stop(struct tern_dhcp *c, int64_t now_ns)
{
    if (c == NULL || c->state == TERN_DHCP_STOPPED) {
        return;
    }
    if (now_ns > c->now_ns) {
        c->now_ns = now_ns;
    }
    if (holding(c)) {
        /* RFC 2131 4.4.6: RELEASE, unicast to the server, with ciaddr and
         * the server identifier (table 5), then the address goes. */
        new_xid(c);
        send_msg(c, &(struct out){.type = WIRE_DHCP_RELEASE,
                                  .ciaddr = c->lease.addr,
                                  .server_id = c->lease.server,
                                  .dst = c->lease.server});
        unconfigure(c);
        event(c, TERN_DHCP_EV_RELEASED, &c->lease);
    }
    (void)tern_udp_close(c->st, c->sock, c->now_ns);
    c->sock = 0;
    c->state = TERN_DHCP_STOPPED;
    c->deadline_ns = INT64_MAX;
}

enum tern_dhcp_state
tern_dhcp_state(const struct tern_dhcp *c)
{
    return c == NULL ? TERN_DHCP_STOPPED : c->state;
}

int
tern_dhcp_lease(const struct tern_dhcp *c, struct tern_dhcp_lease *out)
{
    if (c == NULL || out == NULL) {
        return TERN_ERR_INVAL;
    }
    if (!holding(c)) {
        return TERN_ERR_AGAIN;
    }
    *out = c->lease;
    return TERN_OK;
}

const struct tern_dhcp_stats *
tern_dhcp_stats(const struct tern_dhcp *c)
{
    return c == NULL ? NULL : &c->stats;
}

const char *
tern_dhcp_state_name(enum tern_dhcp_state s)
{
    static const char *const names[TERN_DHCP_STATE_COUNT] = {
        "STOPPED",   "INIT",    "SELECTING", "REQUESTING", "INIT-REBOOT",
        "REBOOTING", "PROBING", "BOUND",     "RENEWING",   "REBINDING",
    };
    return (unsigned)s < TERN_DHCP_STATE_COUNT ? names[s] : "?";
}

const char *
tern_dhcp_event_name(enum tern_dhcp_event e)
{
    static const char *const names[TERN_DHCP_EV_COUNT] = {
        "BOUND", "RENEWED", "EXPIRED", "NAK", "DECLINED", "RESTART", "RELEASED",
    };
    return (unsigned)e < TERN_DHCP_EV_COUNT ? names[e] : "?";
}

const char *
tern_dhcp_drop_name(enum tern_dhcp_drop d)
{
    static const char *const names[TERN_DHCP_DROP_COUNT] = {
        "TRUNCATED",  "MALFORMED",    "TOO_LONG", "SOURCE_PORT",  "NOT_REPLY", "XID",      "CHADDR",
        "UNEXPECTED", "NO_SERVER_ID", "NO_LEASE", "WRONG_SERVER", "BAD_ADDR",  "BAD_MASK",
    };
    return (unsigned)d < TERN_DHCP_DROP_COUNT ? names[d] : "?";
}
