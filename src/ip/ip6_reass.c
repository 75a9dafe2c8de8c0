/*
 * src/ip/ip6_reass.c: reassembly of IPv6 fragments (RFC 8200 4.5).
 *
 * Read first: RFC 8200 4.5 (the fragment header, reassembly, the 60 s
 * timeout, the checks the walker in src/wire/ipv6.c makes), RFC 5722
 * (overlapping fragments), RFC 6946 (atomic fragments never come here).
 *
 * IP6_REASS_SLOTS packets at once, keyed by (source, destination,
 * identification). As IPv4's reassembly (reass.c) does, a slot owns no
 * buffer: its fragments' data go into a chain of chunks of the stack's
 * pool, one after the other as they arrive, and (offset, length, position)
 * records say where each belongs. The data held by all packets of both
 * families together is capped by cfg.reass_mem_max (ip_state.reass_held);
 * the finished packet is assembled in IPv4's reass_out buffer (its size
 * bounds the packets we reassemble: our EMTU_R) and handed up at once.
 * RFC 5722: a fragment that overlaps data held kills the packet, and the
 * slot then refuses its later fragments until the timeout. An exact
 * duplicate (same place, same bytes) is dropped alone (RFC 8200 4.5 allows
 * it). When a fragment finds no free slot, or no room under the cap, the
 * oldest IPv6 packet under way is evicted (our choice, as for IPv4).
 */
#include <string.h>

#include "core/core.h"
#include "core/pool.h"
#include "ip/ip_internal.h"
#include "ip/nd.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

/* RFC 8200 4.5: reassembly gives up 60 seconds after the first fragment. */
#define IP6_REASS_TIMEOUT_NS (60LL * 1000000000LL)

int
ip6_reass_init(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        chain_init(&v6->reass[i].log, 0);
    }
    return TERN_OK;
}

static void
slot_free(struct tern_stack *st, struct ip6_reass *r)
{
    chain_free(&st->pool, &r->log);
    st->ip->reass_held -= r->held;
    r->used = false;
    r->held = 0;
    r->n_frags = 0;
}

void
ip6_reass_fini(struct tern_stack *st)
{
    struct ip6_state *v6 = &st->ip->v6;
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        if (v6->reass[i].used) {
            slot_free(st, &v6->reass[i]);
        }
    }
}

/* The oldest packet under way other than `keep`, or NULL. */
static struct ip6_reass *
oldest(struct ip6_state *v6, const struct ip6_reass *keep)
{
    struct ip6_reass *o = NULL;
    for (unsigned i = 0; i < IP6_REASS_SLOTS; i++) {
        struct ip6_reass *r = &v6->reass[i];
        if (r->used && r != keep && (o == NULL || r->age < o->age)) {
            o = r;
        }
    }
    return o;
}

/* Rebuilds the first fragment (unfragmentable part, a fragment header, the
 * first data) at the front of the buffer, for a time exceeded quote. */
/* Sets the Next Header field of the last header of the unfragmentable
 * part (pkt, unfrag_len bytes): the one that names what follows it. */
static void
set_last_next_header(uint8_t *pkt, size_t unfrag_len, uint8_t nh)
{
    size_t nh_off = 6, off = WIRE_IPV6_HDR_LEN;
    while (off < unfrag_len) {
        nh_off = off;
        off += ((size_t)pkt[off + 1] + 1) * 8;
    }
    pkt[nh_off] = nh;
}

/* Where fragment i's data sit in the slot's chain. */
static uint32_t
frag_pos(const struct ip6_reass *r, unsigned i)
{
    uint32_t pos = r->log.start;
    for (unsigned k = 0; k < i; k++) {
        pos += r->frag_len[k];
    }
    return pos;
}

static size_t
first_fragment(struct tern_stack *st, struct ip6_reass *r, uint8_t *out, size_t cap)
{
    size_t first = 0;
    uint32_t pos = 0;
    for (unsigned i = 0; i < r->n_frags; i++) {
        if (r->frag_off[i] == 0) {
            first = r->frag_len[i];
            pos = frag_pos(r, i);
        }
    }
    size_t len = r->unfrag_len + WIRE_IPV6_FRAG_HDR_LEN + first;
    if (len > cap) {
        first = cap - r->unfrag_len - WIRE_IPV6_FRAG_HDR_LEN;
        len = cap;
    }
    memcpy(out, r->unfrag, r->unfrag_len);
    uint16_t pl = (uint16_t)(len - WIRE_IPV6_HDR_LEN);
    out[4] = (uint8_t)(pl >> 8);
    out[5] = (uint8_t)pl;
    /* The header that named the fragment header names it again. */
    set_last_next_header(out, r->unfrag_len, WIRE_IPV6_NH_FRAGMENT);
    wire_ipv6_frag_emit(out + r->unfrag_len, r->next_header, 0, true, r->id);
    chain_read(&st->pool, &r->log, pos, out + r->unfrag_len + WIRE_IPV6_FRAG_HDR_LEN,
               (uint32_t)first);
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
            size_t len = first_fragment(st, r, q, sizeof(q) - 48);
            icmpv6_send_error(st, r->netif, WIRE_ICMP6_TIME_EXCEEDED, WIRE_ICMP6_TIME_REASSEMBLY, 0,
                              q, len, false);
        }
        slot_free(st, r);
    }
    return next;
}

static struct ip6_reass *
slot_for(struct tern_stack *st, int netif, const struct wire_ipv6 *h, uint32_t id)
{
    struct ip6_state *v6 = &st->ip->v6;
    struct ip6_reass *free_slot = NULL, *old = NULL;
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
        if (old == NULL || r->age < old->age) {
            old = r;
        }
    }
    if (free_slot == NULL) {
        /* Our choice, as for IPv4: the oldest packet under way goes. */
        stack_drop(st, TERN_DROP_REASS6_FULL, NULL, 0);
        slot_free(st, old);
        free_slot = old;
    }
    struct ip6_reass *r = free_slot;
    r->used = true;
    r->have_first = r->dead = false;
    r->netif = netif;
    memcpy(r->src.b, h->src.b, 16);
    memcpy(r->dst.b, h->dst.b, 16);
    r->id = id;
    r->age = ++v6->reass_age;
    r->total = r->held = 0;
    r->unfrag_len = 0;
    r->n_frags = 0;
    chain_init(&r->log, 0);
    r->expires_ns = st->now_ns + IP6_REASS_TIMEOUT_NS;
    ip6_timer_at(st, r->expires_ns);
    return r;
}

static void
complete(struct tern_stack *st, struct ip6_reass *r)
{
    uint8_t *pkt = st->ip->reass_out;
    size_t len = r->unfrag_len + r->total;
    memcpy(pkt, r->unfrag, r->unfrag_len);
    for (unsigned i = 0; i < r->n_frags; i++) {
        chain_read(&st->pool, &r->log, frag_pos(r, i), pkt + r->unfrag_len + r->frag_off[i],
                   r->frag_len[i]);
    }
    uint16_t pl = (uint16_t)(len - WIRE_IPV6_HDR_LEN);
    pkt[4] = (uint8_t)(pl >> 8);
    pkt[5] = (uint8_t)pl;
    /* RFC 8200 4.5: the last header of the unfragmentable part takes the
     * fragment header's Next Header. */
    set_last_next_header(pkt, r->unfrag_len, r->next_header);
    int netif = r->netif;
    slot_free(st, r);
    ip6_deliver_reassembled(st, netif, pkt, len);
}

/* True when the n bytes at `data` equal what fragment i holds. */
static bool
same_data(struct tern_stack *st, struct ip6_reass *r, unsigned i, const uint8_t *data, size_t n)
{
    uint8_t buf[256];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);
        chain_read(&st->pool, &r->log, frag_pos(r, i) + (uint32_t)done, buf, (uint32_t)k);
        if (memcmp(buf, data + done, k) != 0) {
            return false;
        }
        done += k;
    }
    return true;
}

void
ip6_reass_input(struct tern_stack *st, int netif, const struct wire_ipv6 *h,
                const struct wire_ipv6_chain *c, const uint8_t *pkt, size_t len)
{
    struct ip6_state *v6 = &st->ip->v6;
    st->stats.ip6.rx_fragments++;
    size_t off = c->frag_off, n = c->payload_len;
    /* Our EMTU_R: what reass_out holds after the unfragmentable part. */
    if (st->ip->reass_out == NULL || c->frag_hdr_off > IP6_REASS_HDR_ROOM ||
        c->frag_hdr_off + off + n > st->ip->reass_out_len) {
        stack_drop(st, TERN_DROP_REASS6_BAD_FRAGMENT, pkt, len);
        return;
    }
    struct ip6_reass *r = slot_for(st, netif, h, c->frag_id);
    if (r->dead) {
        stack_drop(st, TERN_DROP_REASS6_OVERLAP, pkt, len);
        return;
    }
    for (unsigned i = 0; i < r->n_frags; i++) {
        size_t a = r->frag_off[i], b = a + r->frag_len[i];
        if (off < b && a < off + n) {
            if (a == off && b == off + n && same_data(st, r, i, c->payload, n)) {
                /* RFC 8200 4.5: an exact duplicate is dropped alone. */
                stack_drop(st, TERN_DROP_REASS_DUPLICATE, pkt, len);
                return;
            }
            /* RFC 5722 3: overlap: the whole packet, and fragments of it
             * still to come, are discarded; the slot stays, empty, until
             * it times out. */
            stack_drop(st, TERN_DROP_REASS6_OVERLAP, pkt, len);
            chain_free(&st->pool, &r->log);
            st->ip->reass_held -= r->held;
            r->held = 0;
            r->n_frags = 0;
            r->dead = true;
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
        slot_free(st, r);
        return;
    }
    /* Room under the memory cap (shared with IPv4) and in the pool, older
     * IPv6 packets evicted first. */
    for (;;) {
        bool mem_ok = st->ip->reass_held + n <= st->cfg.reass_mem_max;
        bool pool_ok = chain_chunks_needed(&r->log, r->log.start + r->log.len + (uint32_t)n) <=
                       pool_avail(&st->pool);
        if (mem_ok && pool_ok) {
            break;
        }
        struct ip6_reass *o = oldest(v6, r);
        if (o == NULL) {
            if (!pool_ok) {
                st->pool.take_fail++;
            }
            stack_drop(st, TERN_DROP_REASS6_FULL, pkt, len);
            return;
        }
        stack_drop(st, TERN_DROP_REASS6_FULL, NULL, 0);
        slot_free(st, o);
    }
    chain_append(&st->pool, &r->log, c->payload, (uint32_t)n, NULL);
    r->frag_off[r->n_frags] = (uint16_t)off;
    r->frag_len[r->n_frags] = (uint16_t)n;
    r->n_frags++;
    r->held += (uint32_t)n;
    st->ip->reass_held += n;
    if (!c->frag_more) {
        r->total = (uint32_t)(off + n);
    }
    if (off == 0) {
        /* The unfragmentable part and the Next Header come from the first
         * fragment (RFC 8200 4.5). */
        r->have_first = true;
        r->unfrag_len = (uint16_t)c->frag_hdr_off;
        r->next_header = c->proto;
        memcpy(r->unfrag, pkt, r->unfrag_len);
    }
    if (r->have_first && r->total != 0 && r->held == r->total) {
        complete(st, r);
    }
}
