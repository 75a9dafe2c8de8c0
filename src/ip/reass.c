/*
 * src/ip/reass.c: IPv4 fragment reassembly.
 *
 * Read first: RFC 791 3.2 (fragments, the 8-byte unit), RFC 815 (the hole
 * descriptor list used here), RFC 1122 3.3.2 (timeout, ICMP time exceeded
 * when fragment zero came), RFC 5722 (overlaps discard the datagram; written
 * for IPv6, applied here to IPv4 as the brief asks).
 *
 * Each slot reassembles one datagram, keyed by (src, dst, proto, id) as RFC
 * 791 says. Its buffer, allocated once in ip_reass_init(), has room for the
 * first fragment's header followed by the largest payload:
 *
 *     [ .. header of fragment 0 | payload offset 0 ......... REASS_DATA_MAX )
 *                              ^ REASS_HDR_ROOM
 *
 * so that the finished datagram is contiguous and the first fragment (header
 * plus its data) can be quoted in an ICMP error as it arrived. As in RFC
 * 815, the hole descriptors live inside the holes themselves: a hole's first
 * payload byte holds { last, next }. That needs every hole to span at least
 * 4 bytes, which holds because holes start and end on 8-byte boundaries: non
 * final fragments carry multiples of 8, and the payload area is a multiple
 * of 8 long.
 *
 * Choice (RFC 5722 style): a fragment that does not fit wholly inside one
 * hole overlaps data we hold, and the whole datagram is discarded. An exact
 * duplicate (same place, same bytes as data we hold, as a network that
 * duplicates packets produces) is not an overlap: it is dropped alone and
 * the datagram goes on, as RFC 8200 4.5 allows for IPv6 fragments.
 */
#include "ip/ip_internal.h"

#include <string.h>

#include "core/stack_internal.h"
#include "ip/ip.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define REASS_HDR_ROOM WIRE_IPV4_MAX_HDR_LEN
#define REASS_DATA_MAX 65520u /* >= 65535 - 20, and a multiple of 8 */
#define REASS_INFINITY (REASS_DATA_MAX - 1)
#define REASS_NO_HOLE  0xffffu /* never a hole start: those are multiples of 8 */
#define REASS_BUF_LEN  (REASS_HDR_ROOM + REASS_DATA_MAX)

static const char L_IP[] = "ip";

struct ip_reass_slot {
    struct timer timer; /* RFC 1122 3.3.2 reassembly timeout */
    bool used;
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    int netif;
    uint16_t hole_head;    /* payload offset of the first hole, or REASS_NO_HOLE */
    bool have_first;       /* fragment 0 is in: its header sits before the payload */
    uint8_t first_hdr_len; /* of fragment 0 */
    uint16_t first_len;    /* payload bytes of fragment 0 */
    uint32_t data_len;     /* payload length, known once the last fragment came */
    size_t held;           /* payload bytes stored, counted in ip.reass_held */
    uint8_t *buf;          /* REASS_BUF_LEN bytes */
};

/* ---- hole descriptors, stored in the holes (RFC 815 section 5) -------- */

static uint8_t *
hole_at(struct ip_reass_slot *s, uint16_t first)
{
    return s->buf + REASS_HDR_ROOM + first;
}

static uint16_t
hole_last(struct ip_reass_slot *s, uint16_t first)
{
    return ip_get16(hole_at(s, first));
}

static uint16_t
hole_next(struct ip_reass_slot *s, uint16_t first)
{
    return ip_get16(hole_at(s, first) + 2);
}

static void
hole_write(struct ip_reass_slot *s, uint16_t first, uint16_t last, uint16_t next)
{
    ip_put16(hole_at(s, first), last);
    ip_put16(hole_at(s, first) + 2, next);
}

/* ---- slots ------------------------------------------------------------ */

static void reass_timeout(void *ctx, struct timer *t, int64_t now_ns);

int
ip_reass_init(struct tern_stack *st)
{
    struct ip_state *ip = &st->ip;
    unsigned n = st->cfg.reass_slots;
    if (n == 0) {
        return TERN_OK;
    }
    ip->reass = stack_alloc(st, n * sizeof(*ip->reass));
    if (ip->reass == NULL) {
        return TERN_ERR_NOMEM;
    }
    ip->n_reass = n;
    for (unsigned i = 0; i < n; i++) {
        timer_init(&ip->reass[i].timer, reass_timeout);
        ip->reass[i].buf = stack_alloc(st, REASS_BUF_LEN);
        if (ip->reass[i].buf == NULL) {
            return TERN_ERR_NOMEM;
        }
    }
    return TERN_OK;
}

void
ip_reass_fini(struct tern_stack *st)
{
    struct ip_state *ip = &st->ip;
    if (ip->reass == NULL) {
        return;
    }
    for (unsigned i = 0; i < ip->n_reass; i++) {
        timer_cancel(&st->timers, &ip->reass[i].timer);
        stack_dealloc(st, ip->reass[i].buf, REASS_BUF_LEN);
    }
    stack_dealloc(st, ip->reass, ip->n_reass * sizeof(*ip->reass));
    ip->reass = NULL;
    ip->n_reass = 0;
    ip->reass_held = 0;
}

static void
slot_free(struct tern_stack *st, struct ip_reass_slot *s)
{
    timer_cancel(&st->timers, &s->timer);
    st->ip.reass_held -= s->held;
    s->held = 0;
    s->used = false;
}

static struct ip_reass_slot *
slot_find(struct tern_stack *st, const struct wire_ipv4 *h)
{
    for (unsigned i = 0; i < st->ip.n_reass; i++) {
        struct ip_reass_slot *s = &st->ip.reass[i];
        if (s->used && s->src == h->src && s->dst == h->dst && s->proto == h->proto &&
            s->id == h->id) {
            return s;
        }
    }
    return NULL;
}

static struct ip_reass_slot *
slot_new(struct tern_stack *st, int netif, const struct wire_ipv4 *h)
{
    for (unsigned i = 0; i < st->ip.n_reass; i++) {
        struct ip_reass_slot *s = &st->ip.reass[i];
        if (s->used) {
            continue;
        }
        s->used = true;
        s->src = h->src;
        s->dst = h->dst;
        s->proto = h->proto;
        s->id = h->id;
        s->netif = netif;
        s->have_first = false;
        s->data_len = 0;
        s->held = 0;
        /* RFC 815: one hole from 0 to "infinity" to begin with. */
        s->hole_head = 0;
        hole_write(s, 0, REASS_INFINITY, REASS_NO_HOLE);
        /* RFC 1122 3.3.2: a fixed timeout from the first fragment, not the
         * remaining TTL and not restarted by later fragments. */
        timer_arm(&st->timers, &s->timer, st->now_ns + st->cfg.reass_timeout_ns);
        stack_trace(st, TERN_TRACE_TIMER, L_IP, "RFC 1122 3.3.2: reassembly timer armed", NULL, 0);
        return s;
    }
    return NULL;
}

static void
reass_timeout(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct ip_reass_slot *s = TIMER_CONTAINER(t, struct ip_reass_slot, timer);
    (void)now_ns;
    stack_trace(st, TERN_TRACE_TIMER, L_IP, "RFC 1122 3.3.2: reassembly timer fired", NULL, 0);
    const uint8_t *first = s->buf + REASS_HDR_ROOM - s->first_hdr_len;
    size_t first_len = (size_t)s->first_hdr_len + s->first_len;
    if (!s->have_first) {
        stack_drop(st, TERN_DROP_REASS_TIMEOUT, NULL, 0);
        slot_free(st, s);
        return;
    }
    stack_drop(st, TERN_DROP_REASS_TIMEOUT, first, first_len);
    /* RFC 1122 3.3.2 (and RFC 792 "Time Exceeded"): only when fragment zero
     * came do we know enough to quote it; the quote is that fragment as it
     * arrived. The slot is freed afterwards, the quote lives in it. */
    icmp_send_error(st, WIRE_ICMP_TIME_EXCEEDED, WIRE_ICMP_TIME_EXCEEDED_REASSEMBLY, 0, first,
                    first_len);
    slot_free(st, s);
}

/* ---- input ------------------------------------------------------------ */

/* Drops the whole datagram of slot s under `reason`, tracing the fragment
 * that made us give up. */
static void
reass_abort(struct tern_stack *st, struct ip_reass_slot *s, enum tern_drop_reason reason,
            const uint8_t *pkt, size_t len)
{
    stack_drop(st, reason, pkt, len);
    slot_free(st, s);
}

/* The finished datagram: make fragment 0's header describe the whole
 * datagram (total length, no MF, offset 0, new checksum) and deliver. */
static void
reass_complete(struct tern_stack *st, struct ip_reass_slot *s, const uint8_t *pkt, size_t len)
{
    size_t total = (size_t)s->first_hdr_len + s->data_len;
    if (total > 65535) {
        /* RFC 791 3.1: fragment 0 had options, and header plus data no
         * longer fit in the 16-bit total length. */
        reass_abort(st, s, TERN_DROP_REASS_BAD_FRAGMENT, pkt, len);
        return;
    }
    uint8_t *d = s->buf + REASS_HDR_ROOM - s->first_hdr_len;
    ip_put16(d + 2, (uint16_t)total);
    d[6] &= 0xc0; /* keep the reserved and DF bits, clear MF and the offset */
    d[7] = 0;
    ip_put16(d + 10, 0);
    ip_put16(d + 10, wire_csum(d, s->first_hdr_len));
    struct wire_ipv4 h;
    if (wire_ipv4_parse(d, total, &h) != WIRE_OK) {
        reass_abort(st, s, TERN_DROP_REASS_BAD_FRAGMENT, pkt, len);
        return;
    }
    st->stats.ip.reassembled++;
    stack_trace(st, TERN_TRACE_RX, L_IP, "RFC 815: datagram reassembled", d, total);
    /* Take the slot off the timer before handing the data up; it stays
     * marked used (so nothing reuses the buffer) until delivery returns. */
    timer_cancel(&st->timers, &s->timer);
    ip_deliver(st, s->netif, &h, d, total);
    slot_free(st, s);
}

/* True when [first, last] touches no hole (so it is all data we hold), and
 * the fragment carries exactly those bytes with the same MF meaning. */
static bool
is_exact_duplicate(struct ip_reass_slot *s, const struct wire_ipv4 *h, uint16_t first,
                   uint16_t last)
{
    for (uint16_t hf = s->hole_head; hf != REASS_NO_HOLE; hf = hole_next(s, hf)) {
        if (first <= hole_last(s, hf) && last >= hf) {
            return false;
        }
    }
    bool is_last = s->data_len != 0 && (uint32_t)last + 1 == s->data_len;
    if (h->mf == is_last) {
        return false; /* a last fragment must end where the datagram ends, and only it */
    }
    if (s->data_len != 0 && (uint32_t)last >= s->data_len) {
        return false;
    }
    return memcmp(s->buf + REASS_HDR_ROOM + first, h->payload, h->payload_len) == 0;
}

enum fill_result { FILL_STORED, FILL_DUPLICATE, FILL_ABORTED };

/* RFC 815 steps 1-8, with the RFC 5722 rule: the fragment [first, last]
 * must fall inside one hole, or be an exact duplicate of data we hold;
 * anything else aborts the datagram. */
static enum fill_result
fill_hole(struct tern_stack *st, struct ip_reass_slot *s, const struct wire_ipv4 *h,
          const uint8_t *pkt)
{
    uint16_t first = h->frag_off;
    uint16_t last = (uint16_t)(first + h->payload_len - 1);
    uint16_t prev = REASS_NO_HOLE;
    uint16_t hf = s->hole_head;
    while (hf != REASS_NO_HOLE && !(first >= hf && last <= hole_last(s, hf))) {
        prev = hf;
        hf = hole_next(s, hf);
    }
    if (hf == REASS_NO_HOLE) {
        if (is_exact_duplicate(s, h, first, last)) {
            stack_drop(st, TERN_DROP_REASS_DUPLICATE, pkt, h->total_len);
            return FILL_DUPLICATE;
        }
        bool past_end = s->data_len != 0 && first >= s->data_len;
        reass_abort(st, s, past_end ? TERN_DROP_REASS_BAD_FRAGMENT : TERN_DROP_REASS_OVERLAP, pkt,
                    h->total_len);
        return FILL_ABORTED;
    }
    uint16_t hl = hole_last(s, hf);
    uint16_t next = hole_next(s, hf);
    if (!h->mf && hl != REASS_INFINITY) {
        /* A last fragment with data already held beyond its end. */
        reass_abort(st, s, TERN_DROP_REASS_BAD_FRAGMENT, pkt, h->total_len);
        return FILL_ABORTED;
    }
    memcpy(s->buf + REASS_HDR_ROOM + first, h->payload, h->payload_len);
    /* Steps 4-6: replace the hole by what is left of it on either side. */
    if (h->mf && last < hl) {
        hole_write(s, (uint16_t)(last + 1), hl, next);
        next = (uint16_t)(last + 1);
    }
    if (first > hf) {
        hole_write(s, hf, (uint16_t)(first - 1), next);
        next = hf;
    }
    if (prev == REASS_NO_HOLE) {
        s->hole_head = next;
    } else {
        hole_write(s, prev, hole_last(s, prev), next);
    }
    if (!h->mf) {
        s->data_len = (uint32_t)last + 1;
    }
    return FILL_STORED;
}

/* RFC 791 3.2: checks that need only the fragment itself. */
static bool
fragment_is_sane(const struct wire_ipv4 *h)
{
    if (h->payload_len == 0) {
        return false; /* Choice: an empty fragment carries nothing; refused. */
    }
    if (h->mf && h->payload_len % 8 != 0) {
        return false; /* all but the last carry whole 8-byte units */
    }
    return (size_t)h->frag_off + h->hdr_len + h->payload_len <= 65535;
}

void
ip_reass_input(struct tern_stack *st, int netif, const struct wire_ipv4 *h, const uint8_t *pkt)
{
    st->stats.ip.rx_fragments++;
    if (!fragment_is_sane(h)) {
        stack_drop(st, TERN_DROP_REASS_BAD_FRAGMENT, pkt, h->total_len);
        return;
    }
    if (st->ip.reass_held + h->payload_len > st->cfg.reass_mem_max) {
        /* Choice: drop this fragment only; its datagram may still complete
         * if the sender retransmits once memory is free, else it times out. */
        stack_drop(st, TERN_DROP_REASS_MEMORY, pkt, h->total_len);
        return;
    }
    struct ip_reass_slot *s = slot_find(st, h);
    if (s == NULL) {
        s = slot_new(st, netif, h);
    }
    if (s == NULL) {
        /* Choice: keep the datagrams under way, refuse the newcomer. */
        stack_drop(st, TERN_DROP_REASS_NO_SLOT, pkt, h->total_len);
        return;
    }
    if (fill_hole(st, s, h, pkt) != FILL_STORED) {
        return;
    }
    s->held += h->payload_len;
    st->ip.reass_held += h->payload_len;
    if (h->frag_off == 0) {
        /* RFC 1122 3.3.2: keep fragment 0's header for the ICMP quote. */
        memcpy(s->buf + REASS_HDR_ROOM - h->hdr_len, pkt, h->hdr_len);
        s->first_hdr_len = h->hdr_len;
        s->first_len = (uint16_t)h->payload_len;
        s->have_first = true;
    }
    stack_trace(st, TERN_TRACE_RX, L_IP, "RFC 815: fragment stored", pkt, h->total_len);
    if (s->hole_head == REASS_NO_HOLE) {
        reass_complete(st, s, pkt, h->total_len);
    }
}
