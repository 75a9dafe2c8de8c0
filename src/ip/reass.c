/*
 * src/ip/reass.c: IPv4 fragment reassembly, on the stack's buffer pool.
 *
 * Read first: RFC 791 3.2 (fragments, the 8-byte unit), RFC 815 (hole
 * bookkeeping), RFC 1122 3.3.2 (reassembly MUST, EMTU_R, timeout, ICMP time
 * exceeded when fragment zero came), RFC 5722 (overlaps discard the
 * datagram; written for IPv6, applied here to IPv4 as the brief asks).
 *
 * Each slot reassembles one datagram, keyed by (src, dst, proto, id) as RFC
 * 791 says. A slot owns no buffer: its fragments go into a chain of pool
 * chunks (src/core/pool.h) taken as they arrive, as a log of records
 *
 *     [ offset (2 bytes) | length (2 bytes) | the fragment's data ] ...
 *
 * packed end to end, so a datagram holds what its fragments carried plus 4
 * bytes each, rounded up to a chunk, wherever in the 64 KiB space they
 * fall, instead of a 64 KiB buffer per slot whether used or not.
 *
 * Why not RFC 815's hole list: it keeps the hole descriptors inside the
 * holes of a buffer laid out like the datagram, and we no longer have that
 * buffer. Since overlapping fragments are never stored (RFC 5722, below),
 * the records are disjoint, which makes the bookkeeping simple: a fragment
 * is new data when no record meets it, the datagram is complete when the
 * bytes held equal its length (known from the fragment without MF). A
 * fragment that starts at or past the highest byte held (the usual, in
 * order case) meets no record; one that arrives out of order is compared
 * with each record of its datagram, at most reass_mem_max / 8 of them.
 *
 * The finished datagram must reach the transport contiguous: one buffer per
 * stack (reass_out), sized once from the configuration, receives fragment
 * 0's header and every record in turn, and is handed up. Its size fixes our
 * EMTU_R (RFC 1122 3.3.2, configurable as it SHOULD be): payloads up to
 * min(65515, reass_mem_max) bytes, since a datagram can never hold more
 * than the memory cap allows; the buffer adds 60 bytes for the longest
 * header. The same buffer holds fragment 0 when a timeout quotes it.
 *
 * Limits, each a counted drop:
 *   - reass_mem_max bounds the fragment data held by all datagrams together
 *     (reass_held, payload bytes; the chunks add 4 bytes a fragment and the
 *     unused end of each datagram's last chunk);
 *   - the pool may be short of chunks (TCP takes from it too);
 *   - reass_slots bounds the datagrams under way.
 * Eviction (our choice, RFC 815 and RFC 1122 3.3.2 name no rule): when a
 * fragment finds every slot in use, or its bytes would pass the memory cap
 * or need more chunks than the pool has, the oldest incomplete datagrams
 * are evicted, oldest first, until it fits. Without it, a few bogus
 * fragments that never complete would hold every slot for the whole
 * 60 s timeout and block all reassembly; with it, an attacker must keep
 * sending faster than a real datagram's fragments arrive. Eviction goes
 * strictly by age and stops at the fragment's own datagram, which its own
 * fragments never evict: if it is the oldest left, the fragment is dropped
 * instead (REASS_MEMORY or REASS_NO_BUFFER). A fragment that could not fit
 * even with every datagram gone evicts nothing.
 *
 * Choice (RFC 5722 style): a fragment that overlaps data we hold discards
 * the whole datagram. An exact duplicate (same place, same bytes as data we
 * hold, as a network that duplicates packets produces) is not an overlap: it
 * is dropped alone and the datagram goes on, as RFC 8200 4.5 allows for
 * IPv6 fragments.
 */
#include "ip/ip_internal.h"

#include <string.h>

#include "core/core.h"
#include "core/pool.h"
#include "ip/ip.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define REASS_HDR_ROOM WIRE_IPV4_MAX_HDR_LEN
#define REASS_MAX_DATA (65535u - 20u) /* RFC 791 3.1: total length, least header */
#define REASS_REC_HDR  4u

static const char L_IP[] = "ip";

struct ip_reass_slot {
    struct timer timer; /* RFC 1122 3.3.2 reassembly timeout */
    bool used;
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    int netif;
    uint64_t seq;          /* age: smaller is older */
    struct pool_chain log; /* one record per fragment */
    bool have_first;       /* fragment 0 is in */
    uint8_t first_hdr_len; /* of fragment 0 */
    uint16_t first_len;    /* payload bytes of fragment 0 */
    uint32_t first_rec;    /* position of fragment 0's data in log */
    uint32_t data_len;     /* payload length, known once the last fragment came */
    uint32_t hi;           /* one past the highest payload offset held */
    size_t held;           /* payload bytes stored, counted in ip.reass_held */
    uint8_t first_hdr[REASS_HDR_ROOM];
};

/* ---- slots ------------------------------------------------------------ */

static void reass_timeout(void *ctx, struct timer *t, int64_t now_ns);

int
ip_reass_init(struct tern_stack *st)
{
    struct ip_state *ip = st->ip;
    unsigned n = st->cfg.reass_slots;
    size_t payload_max =
        st->cfg.reass_mem_max < REASS_MAX_DATA ? st->cfg.reass_mem_max : REASS_MAX_DATA;
    if (n == 0 || payload_max == 0) {
        return TERN_OK; /* no reassembly: every fragment is a counted drop */
    }
    ip->reass = stack_alloc(st, n * sizeof(*ip->reass));
    if (ip->reass == NULL) {
        return TERN_ERR_NOMEM;
    }
    ip->n_reass = n;
    for (unsigned i = 0; i < n; i++) {
        timer_init(&ip->reass[i].timer, reass_timeout);
        chain_init(&ip->reass[i].log, 0);
    }
    ip->reass_out = stack_alloc(st, REASS_HDR_ROOM + payload_max);
    if (ip->reass_out == NULL) {
        return TERN_ERR_NOMEM;
    }
    ip->reass_out_len = REASS_HDR_ROOM + payload_max;
    ip->reass_payload_max = payload_max;
    return TERN_OK;
}

static void slot_free(struct tern_stack *st, struct ip_reass_slot *s);

void
ip_reass_fini(struct tern_stack *st)
{
    struct ip_state *ip = st->ip;
    if (ip->reass != NULL) {
        for (unsigned i = 0; i < ip->n_reass; i++) {
            slot_free(st, &ip->reass[i]);
        }
        stack_dealloc(st, ip->reass, ip->n_reass * sizeof(*ip->reass));
    }
    stack_dealloc(st, ip->reass_out, ip->reass_out_len);
    ip->reass = NULL;
    ip->n_reass = 0;
    ip->reass_held = 0;
    ip->reass_out = NULL;
    ip->reass_out_len = 0;
    ip->reass_payload_max = 0;
}

static void
slot_free(struct tern_stack *st, struct ip_reass_slot *s)
{
    timer_cancel(&st->timers, &s->timer);
    chain_free(&st->pool, &s->log);
    st->ip->reass_held -= s->held;
    st->ip->reass_busy -= s->used;
    s->held = 0;
    s->used = false;
}

static struct ip_reass_slot *
slot_find(struct tern_stack *st, const struct wire_ipv4 *h)
{
    for (unsigned i = 0; i < st->ip->n_reass; i++) {
        struct ip_reass_slot *s = &st->ip->reass[i];
        if (s->used && s->src == h->src && s->dst == h->dst && s->proto == h->proto &&
            s->id == h->id) {
            return s;
        }
    }
    return NULL;
}

/* The oldest datagram under reassembly, or NULL. */
static struct ip_reass_slot *
slot_oldest(struct tern_stack *st)
{
    struct ip_reass_slot *old = NULL;
    for (unsigned i = 0; i < st->ip->n_reass; i++) {
        struct ip_reass_slot *s = &st->ip->reass[i];
        if (s->used && (old == NULL || s->seq < old->seq)) {
            old = s;
        }
    }
    return old;
}

/* Our choice (see the file comment): the oldest incomplete datagram goes. */
static void
slot_evict(struct tern_stack *st, struct ip_reass_slot *s)
{
    stack_drop(st, TERN_DROP_REASS_EVICTED, NULL, 0);
    slot_free(st, s);
}

/* A slot for a new datagram, evicting the oldest when all are in use. */
static struct ip_reass_slot *
slot_new(struct tern_stack *st, int netif, const struct wire_ipv4 *h)
{
    struct ip_reass_slot *s = NULL;
    for (unsigned i = 0; i < st->ip->n_reass && s == NULL; i++) {
        if (!st->ip->reass[i].used) {
            s = &st->ip->reass[i];
        }
    }
    if (s == NULL) {
        s = slot_oldest(st);
        slot_evict(st, s);
    }
    s->used = true;
    st->ip->reass_busy++;
    s->src = h->src;
    s->dst = h->dst;
    s->proto = h->proto;
    s->id = h->id;
    s->netif = netif;
    s->seq = ++st->ip->reass_seq;
    s->have_first = false;
    s->data_len = 0;
    s->hi = 0;
    s->held = 0;
    chain_init(&s->log, 0);
    /* RFC 1122 3.3.2: a fixed timeout from the first fragment, not the
     * remaining TTL and not restarted by later fragments. */
    timer_arm(&st->timers, &s->timer, st->now_ns + st->cfg.reass_timeout_ns);
    stack_trace(st, TERN_TRACE_TIMER, L_IP, "RFC 1122 3.3.2: reassembly timer armed", NULL, 0);
    return s;
}

static void
reass_timeout(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct ip_reass_slot *s = TIMER_CONTAINER(t, struct ip_reass_slot, timer);
    (void)now_ns;
    stack_trace(st, TERN_TRACE_TIMER, L_IP, "RFC 1122 3.3.2: reassembly timer fired", NULL, 0);
    if (!s->have_first) {
        stack_drop(st, TERN_DROP_REASS_TIMEOUT, NULL, 0);
        slot_free(st, s);
        return;
    }
    /* RFC 1122 3.3.2 (and RFC 792 "Time Exceeded"): only when fragment zero
     * came do we know enough to quote it; the quote is that fragment as it
     * arrived, rebuilt in the output buffer. */
    uint8_t *q = st->ip->reass_out;
    memcpy(q, s->first_hdr, s->first_hdr_len);
    chain_read(&st->pool, &s->log, s->first_rec, q + s->first_hdr_len, s->first_len);
    size_t first_len = (size_t)s->first_hdr_len + s->first_len;
    slot_free(st, s);
    stack_drop(st, TERN_DROP_REASS_TIMEOUT, q, first_len);
    icmp_send_error(st, WIRE_ICMP_TIME_EXCEEDED, WIRE_ICMP_TIME_EXCEEDED_REASSEMBLY, 0, q,
                    first_len);
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

/* The finished datagram: fragment 0's header, made to describe the whole
 * datagram (total length, no MF, offset 0, new checksum), then every record
 * at its offset, in the output buffer; the slot is freed (its chunks back in
 * the pool, where the transport may want them) and the datagram delivered. */
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
    uint8_t *d = st->ip->reass_out;
    memcpy(d, s->first_hdr, s->first_hdr_len);
    uint32_t pos = s->log.start, end = s->log.start + s->log.len;
    while (pos != end) {
        uint8_t rh[REASS_REC_HDR];
        chain_read(&st->pool, &s->log, pos, rh, REASS_REC_HDR);
        uint16_t off = ip_get16(rh), n = ip_get16(rh + 2);
        chain_read(&st->pool, &s->log, pos + REASS_REC_HDR, d + s->first_hdr_len + off, n);
        pos += REASS_REC_HDR + n;
    }
    int netif = s->netif;
    uint8_t hl = s->first_hdr_len;
    slot_free(st, s);
    ip_put16(d + 2, (uint16_t)total);
    d[6] &= 0xc0; /* keep the reserved and DF bits, clear MF and the offset */
    d[7] = 0;
    ip_put16(d + 10, 0);
    ip_put16(d + 10, wire_csum(d, hl));
    struct wire_ipv4 h;
    if (wire_ipv4_parse(d, total, &h) != WIRE_OK) {
        stack_drop(st, TERN_DROP_REASS_BAD_FRAGMENT, pkt, len);
        return;
    }
    st->stats.ip.reassembled++;
    stack_trace(st, TERN_TRACE_RX, L_IP, "RFC 815: datagram reassembled", d, total);
    ip_deliver(st, netif, &h, d, total);
}

/* Walks the records that meet [first, last]: returns how many of its bytes
 * are held and, with `cmp`, whether they all equal cmp's (cmp[0] stands
 * for offset first). */
static uint32_t
records_meeting(struct tern_stack *st, struct ip_reass_slot *s, uint32_t first, uint32_t last,
                const uint8_t *cmp, bool *equal)
{
    uint32_t held = 0;
    if (first >= s->hi) {
        return 0; /* in order: past everything held */
    }
    uint32_t pos = s->log.start, end = s->log.start + s->log.len;
    while (pos != end) {
        uint8_t rh[REASS_REC_HDR];
        chain_read(&st->pool, &s->log, pos, rh, REASS_REC_HDR);
        uint32_t off = ip_get16(rh), n = ip_get16(rh + 2);
        uint32_t lo = off > first ? off : first, hi = off + n < last + 1 ? off + n : last + 1;
        if (lo < hi) {
            held += hi - lo;
        }
        while (cmp != NULL && *equal && lo < hi) {
            uint8_t b[256];
            uint32_t k = hi - lo < sizeof(b) ? hi - lo : (uint32_t)sizeof(b);
            chain_read(&st->pool, &s->log, pos + REASS_REC_HDR + (lo - off), b, k);
            *equal = memcmp(b, cmp + (lo - first), k) == 0;
            lo += k;
        }
        pos += REASS_REC_HDR + n;
    }
    return held;
}

/* True when every byte of [first, last] is held, the fragment carries
 * exactly those bytes and has the same MF meaning. */
static bool
is_exact_duplicate(struct tern_stack *st, struct ip_reass_slot *s, const struct wire_ipv4 *h,
                   uint32_t first, uint32_t last)
{
    bool is_last = s->data_len != 0 && last + 1 == s->data_len;
    if (h->mf == is_last) {
        return false; /* a last fragment must end where the datagram ends, and only it */
    }
    if (s->data_len != 0 && last >= s->data_len) {
        return false;
    }
    bool equal = true;
    uint32_t held = records_meeting(st, s, first, last, h->payload, &equal);
    return held == last - first + 1 && equal;
}

enum check_result { CHECK_NEW, CHECK_DUPLICATE, CHECK_ABORTED };

/* RFC 815's questions asked of the records, with the RFC 5722 rule: the
 * fragment [first, last] must be all new data, or an exact duplicate of data
 * we hold; anything else aborts the datagram. */
static enum check_result
check_fragment(struct tern_stack *st, struct ip_reass_slot *s, const struct wire_ipv4 *h,
               const uint8_t *pkt)
{
    uint32_t first = h->frag_off;
    uint32_t last = first + h->payload_len - 1;
    bool past_known_end = s->data_len != 0 && last >= s->data_len;
    if (past_known_end || records_meeting(st, s, first, last, NULL, NULL) != 0) {
        if (is_exact_duplicate(st, s, h, first, last)) {
            stack_drop(st, TERN_DROP_REASS_DUPLICATE, pkt, h->total_len);
            return CHECK_DUPLICATE;
        }
        bool past_end = s->data_len != 0 && first >= s->data_len;
        reass_abort(st, s, past_end ? TERN_DROP_REASS_BAD_FRAGMENT : TERN_DROP_REASS_OVERLAP, pkt,
                    h->total_len);
        return CHECK_ABORTED;
    }
    if (!h->mf && s->hi > last + 1) {
        /* A last fragment with data already held beyond its end. */
        reass_abort(st, s, TERN_DROP_REASS_BAD_FRAGMENT, pkt, h->total_len);
        return CHECK_ABORTED;
    }
    return CHECK_NEW;
}

/* Chunks the record of a fragment would add to the log. */
static uint32_t
chunks_for(const struct ip_reass_slot *s, uint32_t payload_len)
{
    return chain_chunks_needed(&s->log, s->log.start + s->log.len + REASS_REC_HDR + payload_len);
}

/* Makes room for `payload_len` more bytes in slot s: under the memory cap
 * and within the pool, evicting older datagrams (never s) as needed. */
static enum tern_drop_reason
make_room(struct tern_stack *st, struct ip_reass_slot *s, uint32_t payload_len)
{
    for (;;) {
        bool mem_ok = st->ip->reass_held + payload_len <= st->cfg.reass_mem_max;
        bool pool_ok = chunks_for(s, payload_len) <= pool_avail(&st->pool);
        if (mem_ok && pool_ok) {
            return TERN_DROP_COUNT;
        }
        struct ip_reass_slot *old = slot_oldest(st);
        if (old == s) {
            if (!pool_ok) {
                st->pool.take_fail++; /* shows as pool pressure in stats.pool */
            }
            return mem_ok ? TERN_DROP_REASS_NO_BUFFER : TERN_DROP_REASS_MEMORY;
        }
        slot_evict(st, old);
    }
}

/* Appends the fragment's record to the log (room was made). */
static void
store(struct tern_stack *st, struct ip_reass_slot *s, const struct wire_ipv4 *h, const uint8_t *pkt)
{
    struct pool *p = &st->pool;
    uint8_t rh[REASS_REC_HDR];
    ip_put16(rh, h->frag_off);
    ip_put16(rh + 2, (uint16_t)h->payload_len);
    chain_append(p, &s->log, rh, REASS_REC_HDR, NULL);
    uint32_t data_pos = s->log.start + s->log.len;
    chain_append(p, &s->log, h->payload, (uint32_t)h->payload_len, NULL);
    uint32_t first = h->frag_off, last = first + h->payload_len - 1;
    s->held += h->payload_len;
    st->ip->reass_held += h->payload_len;
    if (last + 1 > s->hi) {
        s->hi = last + 1;
    }
    if (!h->mf) {
        s->data_len = last + 1;
    }
    if (first == 0) {
        /* RFC 1122 3.3.2: keep fragment 0's header for the ICMP quote and
         * the finished datagram. */
        memcpy(s->first_hdr, pkt, h->hdr_len);
        s->first_hdr_len = h->hdr_len;
        s->first_len = (uint16_t)h->payload_len;
        s->first_rec = data_pos;
        s->have_first = true;
    }
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

/* Pool chunks held by every datagram under reassembly. */
static uint32_t
chunks_held(const struct tern_stack *st)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < st->ip->n_reass; i++) {
        n += st->ip->reass[i].log.n_chunks;
    }
    return n;
}

void
ip_reass_input(struct tern_stack *st, int netif, const struct wire_ipv4 *h, const uint8_t *pkt)
{
    st->stats.ip.rx_fragments++;
    if (!fragment_is_sane(h)) {
        stack_drop(st, TERN_DROP_REASS_BAD_FRAGMENT, pkt, h->total_len);
        return;
    }
    if (st->ip->n_reass == 0) {
        stack_drop(st, TERN_DROP_REASS_NO_SLOT, pkt, h->total_len);
        return;
    }
    if ((size_t)h->frag_off + h->payload_len > st->ip->reass_payload_max) {
        /* RFC 1122 3.3.2: past our EMTU_R, the datagram could never be
         * reassembled whatever else arrives. */
        stack_drop(st, TERN_DROP_REASS_TOO_BIG, pkt, h->total_len);
        return;
    }
    struct ip_reass_slot *s = slot_find(st, h);
    if (s == NULL) {
        /* A fragment that would not fit even with every datagram evicted
         * evicts none. */
        struct ip_reass_slot empty = {.log = {.head = POOL_NIL, .tail = POOL_NIL}};
        if (chunks_for(&empty, h->payload_len) > pool_avail(&st->pool) + chunks_held(st)) {
            st->pool.take_fail++;
            stack_drop(st, TERN_DROP_REASS_NO_BUFFER, pkt, h->total_len);
            return;
        }
        s = slot_new(st, netif, h);
    }
    if (check_fragment(st, s, h, pkt) != CHECK_NEW) {
        return;
    }
    enum tern_drop_reason refused = make_room(st, s, (uint32_t)h->payload_len);
    if (refused != TERN_DROP_COUNT) {
        stack_drop(st, refused, pkt, h->total_len);
        if (s->log.n_chunks == 0) {
            slot_free(st, s); /* a datagram that never held anything */
        }
        return;
    }
    store(st, s, h, pkt);
    stack_trace(st, TERN_TRACE_RX, L_IP, "RFC 815: fragment stored", pkt, h->total_len);
    if (s->data_len != 0 && s->held == s->data_len) {
        reass_complete(st, s, pkt, h->total_len);
    }
}
