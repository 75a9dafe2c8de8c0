/*
 * src/link/arp.c: address resolution for IPv4 on Ethernet (RFC 826): the
 * cache, the queue of datagrams waiting for an answer, requests with a
 * bounded number of retries, replies, timeouts, and the announcements of
 * RFC 5227 at start. The states and the queue are described in link.h.
 *
 * Read first: RFC 826 "Packet Reception", RFC 1122 2.3.2.1 and 2.3.2.2,
 * RFC 5227 2.3 and 2.4.
 */
#include "link/link.h"

#include <string.h>

#include "core/core.h"
#include "core/netif.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define send_arp(st, netif, op, eth_dst, spa, tha, tpa, rule)                                      \
    (send_arp)(st, netif, op, eth_dst, spa, tha, tpa, TERN_RULE_ARG(rule))
#define send_request(st, e, unicast, rule) (send_request)(st, e, unicast, TERN_RULE_ARG(rule))
#define entry_confirm(st, e, mac, rule)    (entry_confirm)(st, e, mac, TERN_RULE_ARG(rule))
#endif

static const char L_ARP[] = "arp";

static const uint8_t mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_zero[6] = {0};

static void entry_timer(void *ctx, struct timer *t, int64_t now_ns);
static void announce_timer(void *ctx, struct timer *t, int64_t now_ns);

/* ---- setup ------------------------------------------------------------ */

int
arp_init(struct tern_stack *st)
{
    struct link_state *l = st->link;
    unsigned n = st->cfg.arp_entries, nq = st->cfg.arp_queue_total;
    l->arp = stack_alloc(st, n * sizeof(*l->arp));
    if (l->arp == NULL) {
        return TERN_ERR_NOMEM;
    }
    l->n_arp = n;
    for (unsigned i = 0; i < n; i++) {
        l->arp[i].state = ARP_FREE;
        l->arp[i].q_head = l->arp[i].q_tail = -1;
        timer_init(&l->arp[i].timer, entry_timer);
    }
    l->q_free = -1;
    l->q = stack_alloc(st, nq * sizeof(*l->q));
    l->q_mem = stack_alloc(st, nq * l->q_buf_size);
    if (l->q == NULL || l->q_mem == NULL) {
        return TERN_ERR_NOMEM;
    }
    for (unsigned i = nq; i-- > 0;) {
        l->q[i].data = l->q_mem + i * l->q_buf_size;
        l->q[i].next = l->q_free;
        l->q_free = (int)i;
    }
    return TERN_OK;
}

void
arp_fini(struct tern_stack *st)
{
    struct link_state *l = st->link;
    if (l->arp != NULL) {
        for (unsigned i = 0; i < l->n_arp; i++) {
            timer_cancel(&st->timers, &l->arp[i].timer);
        }
        stack_dealloc(st, l->arp, l->n_arp * sizeof(*l->arp));
    }
    for (unsigned i = 0; i < TERN_MAX_NETIFS; i++) {
        if (l->announce[i].timer.fn != NULL) {
            timer_cancel(&st->timers, &l->announce[i].timer);
        }
    }
    stack_dealloc(st, l->q, st->cfg.arp_queue_total * sizeof(*l->q));
    stack_dealloc(st, l->q_mem, st->cfg.arp_queue_total * l->q_buf_size);
    l->arp = NULL;
    l->n_arp = 0;
    l->q = NULL;
    l->q_mem = NULL;
}

/* ---- sending ARP packets -------------------------------------------- */

/* Builds an ARP packet from us (our hardware address, protocol address
 * spa) and sends it in a frame to eth_dst; traces it under `rule`. A
 * refusal by the driver is a counted drop. */
static int(send_arp)(struct tern_stack *st, int netif, uint16_t op, const uint8_t eth_dst[6],
                     uint32_t spa, const uint8_t tha[6], uint32_t tpa, const char *rule)
{
    const struct tern_netif_config *n = &st->cfg.netifs[netif];
    struct wire_arp a = {.op = op, .spa = spa, .tpa = tpa};
    memcpy(a.sha, n->mac, 6);
    memcpy(a.tha, tha, 6);
    uint8_t pkt[WIRE_ARP_LEN];
    wire_arp_emit(&a, pkt);
    if (eth_send(st, netif, eth_dst, WIRE_ETHERTYPE_ARP, pkt, sizeof(pkt), 0) != TERN_OK) {
        stack_drop(st, TERN_DROP_ETH_TX_FAILED, NULL, 0);
        return TERN_ERR_TXFAIL;
    }
    stack_trace(st, TERN_TRACE_TX, L_ARP, rule, st->link->tx_buf, WIRE_ETH_MIN_FRAME);
    return TERN_OK;
}

/* RFC 826 "Packet Generation": ask who has `e->addr`, to everyone, or to
 * the cached address when polling an entry we already know. */
static void(send_request)(struct tern_stack *st, struct arp_entry *e, bool unicast,
                          const char *rule)
{
    e->requests++;
    if (send_arp(st, e->netif, WIRE_ARP_OP_REQUEST, unicast ? e->mac : mac_broadcast,
                 st->cfg.netifs[e->netif].addr, mac_zero, e->addr, rule) == TERN_OK) {
        st->stats.arp.requests_tx++;
    }
}

/* ---- the table ---------------------------------------------------------- */

static struct arp_entry *
find(struct tern_stack *st, int netif, uint32_t addr)
{
    for (unsigned i = 0; i < st->link->n_arp; i++) {
        struct arp_entry *e = &st->link->arp[i];
        if (e->state != ARP_FREE && e->netif == netif && e->addr == addr) {
            return e;
        }
    }
    return NULL;
}

const struct arp_entry *
arp_find(const struct tern_stack *st, int netif, uint32_t addr)
{
    return find((struct tern_stack *)st, netif, addr);
}

/* Drops every queued datagram of e under `reason`. */
static void
queue_drop(struct tern_stack *st, struct arp_entry *e, enum tern_drop_reason reason)
{
    struct link_state *l = st->link;
    while (e->q_head >= 0) {
        struct arp_qbuf *b = &l->q[e->q_head];
        int next = b->next;
        stack_drop(st, reason, NULL, 0);
        b->next = l->q_free;
        l->q_free = e->q_head;
        e->q_head = next;
    }
    e->q_tail = -1;
    e->q_len = 0;
}

static void
entry_release(struct tern_stack *st, struct arp_entry *e)
{
    timer_cancel(&st->timers, &e->timer);
    queue_drop(st, e, TERN_DROP_ARP_RESOLVE_FAILED);
    e->state = ARP_FREE;
}

/* A free entry, else a victim. Entries still resolving may hold at most
 * half the table: past that, a new entry takes the oldest of them (its
 * queue dropped and counted), so that addresses nobody answers for (the
 * spoofed sources of a SYN flood, each owed a SYN,ACK) cannot push out the
 * neighbours in use; RFC 4861 5.3 asks a cache to keep room for its
 * working set of active entries. Below half, the least recently used entry
 * that is not resolving. */
static struct arp_entry *
entry_new(struct tern_stack *st, int netif, uint32_t addr)
{
    struct arp_entry *lru = NULL, *oldest_incomplete = NULL, *victim = NULL;
    unsigned incomplete = 0;
    for (unsigned i = 0; i < st->link->n_arp && victim == NULL; i++) {
        struct arp_entry *e = &st->link->arp[i];
        if (e->state == ARP_FREE) {
            victim = e;
        } else if (e->state == ARP_INCOMPLETE) {
            incomplete++;
            if (oldest_incomplete == NULL || e->last_used_ns < oldest_incomplete->last_used_ns) {
                oldest_incomplete = e;
            }
        } else if (lru == NULL || e->last_used_ns < lru->last_used_ns) {
            lru = e;
        }
    }
    if (victim == NULL) {
        victim = 2 * incomplete >= st->link->n_arp || lru == NULL ? oldest_incomplete : lru;
    }
    if (victim == NULL) {
        return NULL;
    }
    if (victim->state == ARP_INCOMPLETE) {
        st->stats.arp.evicted++;
        stack_trace(st, TERN_TRACE_EVENT, L_ARP,
                    "ARP cache: half the entries resolving, the oldest of them evicted", NULL, 0);
        timer_cancel(&st->timers, &victim->timer);
        queue_drop(st, victim, TERN_DROP_ARP_CACHE_FULL);
        victim->state = ARP_FREE;
    } else if (victim->state != ARP_FREE) {
        st->stats.arp.evicted++;
        stack_trace(st, TERN_TRACE_EVENT, L_ARP,
                    "ARP cache full: least recently used entry evicted", NULL, 0);
        entry_release(st, victim);
    }
    victim->netif = netif;
    victim->addr = addr;
    victim->requests = 0;
    victim->used = false;
    victim->last_used_ns = st->now_ns;
    victim->q_head = victim->q_tail = -1;
    victim->q_len = 0;
    return victim;
}

/* Sends the queued datagrams of a just-resolved entry, oldest first. */
static void
queue_flush(struct tern_stack *st, struct arp_entry *e)
{
    struct link_state *l = st->link;
    while (e->q_head >= 0) {
        int i = e->q_head;
        struct arp_qbuf *b = &l->q[i];
        e->q_head = b->next;
        e->q_len--;
        if (eth_send(st, e->netif, e->mac, WIRE_ETHERTYPE_IPV4, b->data, b->len, e->addr) ==
            TERN_OK) {
            st->stats.arp.queue_flushed++;
            stack_trace(st, TERN_TRACE_TX, L_ARP,
                        "RFC 1122 2.3.2.2: queued datagram sent once the address resolved",
                        l->tx_buf, WIRE_ETH_HDR_LEN + b->len);
        } else {
            stack_drop(st, TERN_DROP_ETH_TX_FAILED, NULL, 0);
        }
        b->next = l->q_free;
        l->q_free = i;
    }
    e->q_tail = -1;
    e->used = true;
}

/* The address of e is (again) known to be `mac`: REACHABLE for
 * cfg.arp_reachable_ns from now, and its queue goes out. */
static void(entry_confirm)(struct tern_stack *st, struct arp_entry *e, const uint8_t mac[6],
                           const char *rule)
{
    enum arp_entry_state was = e->state;
    memcpy(e->mac, mac, 6);
    e->state = ARP_REACHABLE;
    e->requests = 0;
    e->used = false;
    e->last_used_ns = st->now_ns;
    timer_arm(&st->timers, &e->timer, st->now_ns + st->cfg.arp_reachable_ns);
    st->stats.arp.resolved++;
    stack_trace(st, TERN_TRACE_EVENT, L_ARP, rule, NULL, 0);
    if (was == ARP_INCOMPLETE) {
        queue_flush(st, e);
    }
}

/* ---- timers ------------------------------------------------------------- */

static void
incomplete_expired(struct tern_stack *st, struct arp_entry *e, int64_t now_ns)
{
    if (e->requests < st->cfg.arp_retries) {
        send_request(st, e, false, "RFC 1122 2.3.2.1: no reply yet, request sent again");
        timer_arm(&st->timers, &e->timer, now_ns + st->cfg.arp_retry_ns);
        return;
    }
    /* Give up: the queue is dropped and, for a while, sends to the address
     * fail with TERN_ERR_UNREACH instead of flooding the link. */
    e->state = ARP_FAILED;
    st->stats.arp.failed++;
    stack_trace(st, TERN_TRACE_TIMER, L_ARP,
                "RFC 1122 2.3.2.1: no reply to the last request, address unreachable", NULL, 0);
    queue_drop(st, e, TERN_DROP_ARP_RESOLVE_FAILED);
    timer_arm(&st->timers, &e->timer, now_ns + st->cfg.arp_failed_ns);
}

static void
entry_timer(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct arp_entry *e = TIMER_CONTAINER(t, struct arp_entry, timer);
    switch (e->state) {
    case ARP_INCOMPLETE:
        incomplete_expired(st, e, now_ns);
        return;
    case ARP_REACHABLE:
        /* RFC 1122 2.3.2.1: entries time out even when in use. One in use
         * is asked again (unicast poll) and used meanwhile; one not in use
         * is simply forgotten. */
        if (e->used) {
            e->state = ARP_REFRESH;
            e->requests = 0;
            send_request(st, e, true, "RFC 1122 2.3.2.1: entry timed out in use, unicast poll");
            timer_arm(&st->timers, &e->timer, now_ns + st->cfg.arp_retry_ns);
            return;
        }
        st->stats.arp.expired++;
        stack_trace(st, TERN_TRACE_TIMER, L_ARP, "RFC 1122 2.3.2.1: unused entry timed out", NULL,
                    0);
        entry_release(st, e);
        return;
    case ARP_REFRESH:
        if (e->requests < st->cfg.arp_retries) {
            send_request(st, e, true, "RFC 1122 2.3.2.1: no answer to the poll, polled again");
            timer_arm(&st->timers, &e->timer, now_ns + st->cfg.arp_retry_ns);
            return;
        }
        st->stats.arp.expired++;
        stack_trace(st, TERN_TRACE_TIMER, L_ARP,
                    "RFC 1122 2.3.2.1: no answer to the polls, entry removed", NULL, 0);
        entry_release(st, e);
        return;
    case ARP_FAILED:
        stack_trace(st, TERN_TRACE_TIMER, L_ARP,
                    "RFC 1122 2.3.2.1: failed entry released, the next send asks again", NULL, 0);
        entry_release(st, e);
        return;
    case ARP_FREE:
        return;
    }
}

/* RFC 5227 2.3: announce our address (a request with our address as both
 * sender and target, target hardware address zero) so that neighbours
 * update stale caches. Choice: no probing first (RFC 5227 2.1): the
 * address is configured, not picked. */
static void
announce_timer(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct link_announce *a = TIMER_CONTAINER(t, struct link_announce, timer);
    uint32_t ours = st->cfg.netifs[a->netif].addr;
    if (ours == 0) {
        return; /* the address went away (tern_stack_set_addr): nothing to announce */
    }
    if (send_arp(st, a->netif, WIRE_ARP_OP_REQUEST, mac_broadcast, ours, mac_zero, ours,
                 "RFC 5227 2.3: gratuitous ARP announcement") == TERN_OK) {
        st->stats.arp.announces_tx++;
    }
    a->sent++;
    if (a->sent < st->cfg.arp_announcements) {
        timer_arm(&st->timers, &a->timer, now_ns + st->cfg.arp_announce_interval_ns);
    }
}

void
arp_announce_start(struct tern_stack *st)
{
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        struct link_announce *a = &st->link->announce[i];
        if (st->cfg.netifs[i].link != TERN_LINK_ETHERNET) {
            continue;
        }
        a->netif = (int)i;
        a->sent = 0;
        timer_init(&a->timer, announce_timer);
        /* An interface without an address yet (0: DHCP will give one)
         * announces when it gets one (arp_addr_changed). */
        if (st->cfg.arp_announcements > 0 && st->cfg.netifs[i].addr != 0) {
            timer_arm(&st->timers, &a->timer, st->now_ns);
        }
    }
}

void
arp_addr_changed(struct tern_stack *st, int netif)
{
    if (st->cfg.netifs[netif].link != TERN_LINK_ETHERNET) {
        return;
    }
    uint32_t addr = st->cfg.netifs[netif].addr;
    struct link_probe *p = &st->link->probe[netif];
    if (p->active && p->addr == addr) {
        p->active = false; /* probed, and now ours: conflicts are RFC 5227 2.4's from here */
    }
    /* RFC 5227 2.3: a host announces an address it starts to use; a new
     * series replaces what is left of the old address's. */
    struct link_announce *a = &st->link->announce[netif];
    timer_cancel(&st->timers, &a->timer);
    a->sent = 0;
    if (addr != 0 && st->cfg.arp_announcements > 0) {
        timer_arm(&st->timers, &a->timer, st->now_ns);
    }
}

/* ---- output ----------------------------------------------------------- */

/* Queues a datagram on an INCOMPLETE entry. RFC 1122 2.3.2.2: keep at
 * least the latest; past the entry's share (or with the pool empty), the
 * entry's oldest datagram makes room. */
static int
enqueue(struct tern_stack *st, struct arp_entry *e, const uint8_t *dgram, size_t len)
{
    struct link_state *l = st->link;
    int i;
    if (e->q_len >= st->cfg.arp_queue_per_entry || l->q_free < 0) {
        if (e->q_len == 0) {
            stack_drop(st, TERN_DROP_ARP_QUEUE_FULL, NULL, 0);
            return TERN_ERR_NOBUFS;
        }
        i = e->q_head;
        e->q_head = l->q[i].next;
        e->q_len--;
        if (e->q_head < 0) {
            e->q_tail = -1;
        }
        stack_drop(st, TERN_DROP_ARP_QUEUE_FULL, NULL, 0);
    } else {
        i = l->q_free;
        l->q_free = l->q[i].next;
    }
    struct arp_qbuf *b = &l->q[i];
    memcpy(b->data, dgram, len);
    b->len = len;
    b->next = -1;
    if (e->q_tail >= 0) {
        l->q[e->q_tail].next = i;
    } else {
        e->q_head = i;
    }
    e->q_tail = i;
    e->q_len++;
    st->stats.arp.queued++;
    stack_trace(st, TERN_TRACE_EVENT, L_ARP,
                "RFC 1122 2.3.2.2: datagram queued until the next hop resolves", NULL, 0);
    return TERN_OK;
}

int
arp_resolve_and_send(struct tern_stack *st, int netif, uint32_t next_hop, const uint8_t *dgram,
                     size_t len)
{
    if (len > st->link->q_buf_size) {
        return TERN_ERR_TXFAIL; /* ip never sends more than the MTU */
    }
    struct arp_entry *e = find(st, netif, next_hop);
    if (e != NULL) {
        switch (e->state) {
        case ARP_REACHABLE:
        case ARP_REFRESH:
            e->used = true;
            e->last_used_ns = st->now_ns;
            return eth_send(st, netif, e->mac, WIRE_ETHERTYPE_IPV4, dgram, len, next_hop);
        case ARP_INCOMPLETE:
            return enqueue(st, e, dgram, len);
        case ARP_FAILED:
            stack_drop(st, TERN_DROP_ARP_UNREACH, NULL, 0);
            return TERN_ERR_UNREACH;
        case ARP_FREE:
            break;
        }
    }
    e = entry_new(st, netif, next_hop);
    if (e == NULL) {
        stack_drop(st, TERN_DROP_ARP_CACHE_FULL, NULL, 0);
        return TERN_ERR_NOBUFS;
    }
    e->state = ARP_INCOMPLETE;
    int rc = enqueue(st, e, dgram, len);
    send_request(st, e, false, "RFC 826: address unknown, request broadcast");
    timer_arm(&st->timers, &e->timer, st->now_ns + st->cfg.arp_retry_ns);
    return rc;
}

/* ---- input ------------------------------------------------------------ */

static enum tern_drop_reason
drop_of_wire(enum wire_err e)
{
    switch (e) {
    case WIRE_ERR_ARP_HTYPE:
        return TERN_DROP_ARP_HTYPE;
    case WIRE_ERR_ARP_PTYPE:
        return TERN_DROP_ARP_PTYPE;
    case WIRE_ERR_ARP_ADDR_LEN:
        return TERN_DROP_ARP_ADDR_LEN;
    case WIRE_ERR_ARP_OP:
        return TERN_DROP_ARP_OP;
    default:
        return TERN_DROP_ARP_TRUNCATED;
    }
}

/* A sender protocol address we may cache: one host, not zero (an RFC 5227
 * probe), broadcast or multicast. */
static bool
sender_cacheable(const struct tern_stack *st, int netif, uint32_t spa)
{
    return spa != 0 && !netif_addr_is_broadcast(&st->cfg, netif, spa) && (spa >> 28) != 0xe &&
           (spa >> 24) != 127;
}

static void
send_reply(struct tern_stack *st, int netif, const struct wire_arp *req)
{
    /* RFC 826: swap the fields, put ours in the sender fields, and send it
     * to the requester's hardware address on the same interface. */
    if (send_arp(st, netif, WIRE_ARP_OP_REPLY, req->sha, st->cfg.netifs[netif].addr, req->sha,
                 req->spa,
                 "RFC 826 Packet Reception: request for our address, reply sent") == TERN_OK) {
        st->stats.arp.replies_tx++;
    }
}

/* RFC 5227 2.1.1: while we probe for an address, an ARP packet whose
 * sender address is that address (a request or a reply: someone uses it),
 * or a probe for it from another hardware address (someone else wants
 * it), means the address is in use. Noted; the packet is then handled as
 * any other. */
static void
probe_check(struct tern_stack *st, int netif, const struct wire_arp *a)
{
    struct link_probe *p = &st->link->probe[netif];
    if (!p->active || memcmp(a->sha, st->cfg.netifs[netif].mac, 6) == 0) {
        return;
    }
    bool used = a->spa == p->addr;
    bool wanted = a->spa == 0 && a->op == WIRE_ARP_OP_REQUEST && a->tpa == p->addr;
    if ((used || wanted) && !p->conflict) {
        p->conflict = true;
        st->stats.arp.probes_in_use++;
        stack_trace(st, TERN_TRACE_EVENT, L_ARP,
                    "RFC 5227 2.1.1: probed address in use by another host", NULL, 0);
    }
}

void
arp_input(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len, const uint8_t *frame,
          size_t frame_len)
{
    struct wire_arp a;
    enum wire_err err = wire_arp_parse(pkt, len, &a);
    if (err != WIRE_OK) {
        stack_drop(st, drop_of_wire(err), frame, frame_len);
        return;
    }
    const struct tern_netif_config *n = &st->cfg.netifs[netif];
    if (wire_eth_addr_is_group(a.sha)) {
        stack_drop(st, TERN_DROP_ARP_BAD_SENDER, frame, frame_len);
        return;
    }
    probe_check(st, netif, &a);
    /* RFC 5227 2.4: someone else uses our address. Choice: we keep it and
     * merge nothing (no defence packet; the announcements are done). An
     * interface without an address (0) has nothing to defend: a sender
     * address 0 is another host's probe. */
    if (n->addr != 0 && a.spa == n->addr) {
        stack_drop(st, TERN_DROP_ARP_CONFLICT, frame, frame_len);
        return;
    }
    /* RFC 826 Packet Reception: merge first, whatever the opcode. */
    bool cacheable = sender_cacheable(st, netif, a.spa);
    struct arp_entry *e = cacheable ? find(st, netif, a.spa) : NULL;
    bool merge = e != NULL;
    bool target = n->addr != 0 && a.tpa == n->addr;
    if (!target && !merge) {
        stack_drop(st, TERN_DROP_ARP_NOT_FOR_US, frame, frame_len);
        return;
    }
    st->stats.arp.rx++;
    if (a.op == WIRE_ARP_OP_REQUEST) {
        st->stats.arp.requests_rx++;
    } else {
        st->stats.arp.replies_rx++;
    }
    stack_trace(st, TERN_TRACE_RX, L_ARP, "RFC 826: packet received", frame, frame_len);
    if (merge) {
        entry_confirm(st, e, a.sha,
                      "RFC 826 Packet Reception: sender in the table, hardware address updated");
    }
    if (!target) {
        return;
    }
    /* We are the target: add the sender if it was not there. */
    if (!merge && cacheable) {
        e = entry_new(st, netif, a.spa);
        if (e != NULL) {
            entry_confirm(st, e, a.sha,
                          "RFC 826 Packet Reception: we are the target, sender added");
        }
    }
    if (a.op == WIRE_ARP_OP_REQUEST) {
        send_reply(st, netif, &a);
    }
}

/* ---- public ------------------------------------------------------------ */

int
tern_arp_lookup(const struct tern_stack *st, int netif, uint32_t addr, uint8_t mac[TERN_MAC_LEN])
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs ||
        st->cfg.netifs[netif].link != TERN_LINK_ETHERNET) {
        return TERN_ERR_INVAL;
    }
    const struct arp_entry *e = arp_find(st, netif, addr);
    if (e == NULL) {
        return TERN_ERR_NOTCONN;
    }
    switch (e->state) {
    case ARP_REACHABLE:
    case ARP_REFRESH:
        if (mac != NULL) {
            memcpy(mac, e->mac, TERN_MAC_LEN);
        }
        return TERN_OK;
    case ARP_INCOMPLETE:
        return TERN_ERR_AGAIN;
    case ARP_FAILED:
        return TERN_ERR_UNREACH;
    case ARP_FREE:
        break;
    }
    return TERN_ERR_NOTCONN;
}

/* RFC 5227 2.1.1: a probe is a request with our hardware address as
 * sender, sender protocol address 0 (so that no cache learns an address we
 * may not get) and the address in question as target. */
int
tern_arp_probe(struct tern_stack *st, int netif, uint32_t addr, int64_t now_ns)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs ||
        st->cfg.netifs[netif].link != TERN_LINK_ETHERNET || addr == 0 || addr == 0xffffffffu ||
        (addr >> 28) >= 0xe || (addr >> 24) == 127) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    struct link_probe *p = &st->link->probe[netif];
    if (!p->active || p->addr != addr) {
        *p = (struct link_probe){.active = true, .addr = addr};
    }
    if (send_arp(st, netif, WIRE_ARP_OP_REQUEST, mac_broadcast, 0, mac_zero, addr,
                 "RFC 5227 2.1.1: ARP probe, sender address 0") != TERN_OK) {
        return TERN_ERR_TXFAIL;
    }
    st->stats.arp.probes_tx++;
    return TERN_OK;
}

int
tern_arp_probe_result(const struct tern_stack *st, int netif, uint32_t addr)
{
    if (st == NULL || netif < 0 || (unsigned)netif >= st->cfg.n_netifs ||
        st->cfg.netifs[netif].link != TERN_LINK_ETHERNET) {
        return TERN_ERR_INVAL;
    }
    const struct link_probe *p = &st->link->probe[netif];
    if (!p->active || p->addr != addr) {
        return TERN_ERR_NOTCONN;
    }
    return p->conflict ? TERN_ERR_EXIST : TERN_OK;
}
