/*
 * src/ip/ip6_reass.c: reassembly of IPv6 fragments (RFC 8200 4.5).
 *
 * Read first: RFC 8200 4.5 (the fragment header, reassembly, the 60 s
 * timeout, the checks the walker in src/wire/ipv6.c makes), RFC 5722
 * (overlapping fragments), RFC 6946 (atomic fragments never come here).
 *
 * IP6_REASS_SLOTS packets at once, keyed by (source, destination,
 * identification). Each slot has one buffer, taken at creation: room for
 * the unfragmentable part (IP6_REASS_HDR_ROOM bytes at most) followed by
 * the fragmentable part at its offset. The fragment data held by all slots
 * together is capped by cfg.reass_mem_max, as IPv4's is, and a packet
 * longer than min(reass_mem_max, 65535) is not reassembled. Fragments are
 * recorded by (offset, length); RFC 5722: one that overlaps data held
 * kills the packet, and the slot then refuses its later fragments until
 * the timeout. An exact duplicate (same place, same bytes) is dropped alone
 * (RFC 8200 4.5 allows it). When a fragment finds no free slot, the oldest
 * packet under way is evicted.
 */
#include <string.h>

#include "core/core.h"
#include "ip/ip_internal.h"
#include "ip/nd.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

/* Longest unfragmentable part kept (header and extension headers). */
#define IP6_REASS_HDR_ROOM 256u
/* RFC 8200 4.5: reassembly gives up 60 seconds after the first fragment. */
#define IP6_REASS_TIMEOUT_NS (60LL * 1000000000LL)

static size_t
data_cap(const struct tern_stack *st)
{
    size_t cap = st->cfg.reass_mem_max;
    return cap < 65535u ? cap : 65535u;
}

int
ip6_reass_init(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    v6->reass_buf_len = IP6_REASS_HDR_ROOM + data_cap(st);
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        v6->reass[i].buf = stack_alloc(st, v6->reass_buf_len);
        if (v6->reass[i].buf == NULL) {
            return TERN_ERR_NOMEM;
        }
    }
    return TERN_OK;
}

void
ip6_reass_fini(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        stack_dealloc(st, v6->reass[i].buf, v6->reass_buf_len);
        v6->reass[i].buf = NULL;
    }
}

static size_t
held_total(const struct ip6_state *v6)
{
    size_t n = 0;
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        n += v6->reass[i].used ? v6->reass[i].held : 0;
    }
    return n;
}

static void
slot_free(struct ip6_reass *r)
{
    r->used = false;
    r->held = 0;
    r->n_frags = 0;
}

/* Rebuilds the first fragment (unfragmentable part, a fragment header, the
 * first data) at the front of the buffer, for a time exceeded quote. */
static size_t
first_fragment(struct ip6_reass *r, uint8_t *out, size_t cap)
{
    size_t first = 0;
    for (unsigned i = 0; i < r->n_frags; i++) {
        if (r->frag_off[i] == 0) {
            first = r->frag_len[i];
        }
    }
    size_t len = r->unfrag_len + WIRE_IPV6_FRAG_HDR_LEN + first;
    if (len > cap) {
        first = cap - r->unfrag_len - WIRE_IPV6_FRAG_HDR_LEN;
        len = cap;
    }
    memcpy(out, r->buf + IP6_REASS_HDR_ROOM - r->unfrag_len, r->unfrag_len);
    uint16_t pl = (uint16_t)(len - WIRE_IPV6_HDR_LEN);
    out[4] = (uint8_t)(pl >> 8);
    out[5] = (uint8_t)pl;
    /* The header that named the fragment header names it again. */
    size_t nh_off = 6, off = WIRE_IPV6_HDR_LEN;
    while (off < r->unfrag_len) {
        nh_off = off;
        off += ((size_t)out[off + 1] + 1) * 8;
    }
    out[nh_off] = WIRE_IPV6_NH_FRAGMENT;
    wire_ipv6_frag_emit(out + r->unfrag_len, r->next_header, 0, true, r->id);
    memcpy(out + r->unfrag_len + WIRE_IPV6_FRAG_HDR_LEN, r->buf + IP6_REASS_HDR_ROOM, first);
    return len;
}

int64_t
ip6_reass_tick(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    int64_t next = IP6_FOREVER;
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        struct ip6_reass *r = &v6->reass[i];
        if (!r->used) {
            continue;
        }
        if (r->expires_ns > st->now_ns) {
            next = r->expires_ns < next ? r->expires_ns : next;
            continue;
        }
        stack_drop(st, TERN_DROP_REASS6_TIMEOUT, NULL, 0);
        if (r->have_first && r->n_frags > 0 && !r->dead) {
            /* RFC 8200 4.5: time exceeded code 1, only if the first
             * fragment came; it is quoted. */
            uint8_t q[WIRE_IPV6_MIN_MTU];
            size_t len = first_fragment(r, q, sizeof(q) - 48);
            icmpv6_send_error(st, r->netif, WIRE_ICMP6_TIME_EXCEEDED, WIRE_ICMP6_TIME_REASSEMBLY, 0,
                              q, len, false);
        }
        slot_free(r);
    }
    return next;
}

static struct ip6_reass *
slot_for(struct tern_stack *st, int netif, const struct wire_ipv6 *h, uint32_t id)
{
    struct ip6_state *v6 = &st->ip->v6;
    struct ip6_reass *free_slot = NULL, *oldest = NULL;
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        struct ip6_reass *r = &v6->reass[i];
        if (!r->used) {
            free_slot = free_slot ? free_slot : r;
            continue;
        }
        if (r->id == id && memcmp(r->src.b, h->src.b, 16) == 0 &&
            memcmp(r->dst.b, h->dst.b, 16) == 0) {
            return r;
        }
        if (oldest == NULL || r->age < oldest->age) {
            oldest = r;
        }
    }
    if (free_slot == NULL) {
        /* Our choice, as for IPv4: the oldest packet under way goes. */
        stack_drop(st, TERN_DROP_REASS6_FULL, NULL, 0);
        slot_free(oldest);
        free_slot = oldest;
    }
    struct ip6_reass *r = free_slot;
    uint8_t *buf = r->buf;
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->used = true;
    r->netif = netif;
    memcpy(r->src.b, h->src.b, 16);
    memcpy(r->dst.b, h->dst.b, 16);
    r->id = id;
    r->age = ++v6->reass_age;
    r->expires_ns = st->now_ns + IP6_REASS_TIMEOUT_NS;
    ip6_timer_at(st, r->expires_ns);
    return r;
}

static void
complete(struct tern_stack *st, struct ip6_reass *r)
{
    uint8_t *pkt = r->buf + IP6_REASS_HDR_ROOM - r->unfrag_len;
    size_t len = r->unfrag_len + r->total;
    uint16_t pl = (uint16_t)(len - WIRE_IPV6_HDR_LEN);
    pkt[4] = (uint8_t)(pl >> 8);
    pkt[5] = (uint8_t)pl;
    /* RFC 8200 4.5: the last header of the unfragmentable part takes the
     * fragment header's Next Header. */
    size_t nh_off = 6, off = WIRE_IPV6_HDR_LEN;
    while (off < r->unfrag_len) {
        nh_off = off;
        off += ((size_t)pkt[off + 1] + 1) * 8;
    }
    pkt[nh_off] = r->next_header;
    int netif = r->netif;
    slot_free(r);
    ip6_deliver_reassembled(st, netif, pkt, len);
}

void
ip6_reass_input(struct tern_stack *st, int netif, const struct wire_ipv6 *h,
                const struct wire_ipv6_chain *c, const uint8_t *pkt, size_t len)
{
    struct ip6_state *v6 = &st->ip->v6;
    st->stats.ip6.rx_fragments++;
    size_t off = c->frag_off, n = c->payload_len;
    size_t cap = data_cap(st);
    if (off + n > cap || c->frag_hdr_off > IP6_REASS_HDR_ROOM) {
        /* Longer than we reassemble (our EMTU_R: reass_mem_max). */
        stack_drop(st, TERN_DROP_REASS6_BAD_FRAGMENT, pkt, len);
        return;
    }
    struct ip6_reass *r = slot_for(st, netif, h, c->frag_id);
    if (r->dead) {
        stack_drop(st, TERN_DROP_REASS6_OVERLAP, pkt, len);
        return;
    }
    uint8_t *data = r->buf + IP6_REASS_HDR_ROOM;
    for (unsigned i = 0; i < r->n_frags; i++) {
        size_t a = r->frag_off[i], b = a + r->frag_len[i];
        if (off < b && a < off + n) {
            if (a == off && b == off + n && memcmp(data + off, c->payload, n) == 0) {
                /* RFC 8200 4.5: an exact duplicate is dropped alone. */
                stack_drop(st, TERN_DROP_REASS_DUPLICATE, pkt, len);
                return;
            }
            /* RFC 5722 3: overlap: the whole packet, and fragments of it
             * still to come, are discarded. */
            stack_drop(st, TERN_DROP_REASS6_OVERLAP, pkt, len);
            r->dead = true; /* the slot stays until it times out */
            r->held = 0;
            return;
        }
    }
    /* RFC 8200 4.5: the last fragment fixes the length; data past it, or a
     * second different end, is an error in the packet. */
    bool bad = (r->total != 0 && off + n > r->total) ||
               (!c->frag_more && r->total != 0 && off + n != r->total);
    for (unsigned i = 0; !c->frag_more && i < r->n_frags; i++) {
        bad |= (size_t)r->frag_off[i] + r->frag_len[i] > off + n;
    }
    if (bad || r->n_frags == IP6_REASS_MAX_FRAGS) {
        stack_drop(st, TERN_DROP_REASS6_BAD_FRAGMENT, pkt, len);
        slot_free(r);
        return;
    }
    if (held_total(v6) + n > st->cfg.reass_mem_max) {
        stack_drop(st, TERN_DROP_REASS6_FULL, pkt, len);
        return;
    }
    memcpy(data + off, c->payload, n);
    r->frag_off[r->n_frags] = (uint16_t)off;
    r->frag_len[r->n_frags] = (uint16_t)n;
    r->n_frags++;
    r->held += (uint32_t)n;
    if (!c->frag_more) {
        r->total = (uint32_t)(off + n);
    }
    if (off == 0) {
        /* The unfragmentable part and the Next Header come from the first
         * fragment (RFC 8200 4.5). */
        r->have_first = true;
        r->unfrag_len = (uint16_t)c->frag_hdr_off;
        r->next_header = c->proto;
        memcpy(r->buf + IP6_REASS_HDR_ROOM - r->unfrag_len, pkt, r->unfrag_len);
    }
    if (r->have_first && r->total != 0 && r->held == r->total) {
        complete(st, r);
    }
}
