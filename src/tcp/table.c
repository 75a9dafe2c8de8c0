/*
 * src/tcp/table.c: the TCB table. Slots are allocated once in tcp_init();
 * a connection's id is its slot index + 1. Demultiplexing is O(1): a hash
 * of the 4-tuple, keyed with the stack's SipHash key so that a remote peer
 * cannot aim collisions at one bucket, with chains threaded through the
 * slots. Listeners sit in the same table with a zero (wildcard) remote and
 * possibly a zero local address; tcp_demux() tries the exact 4-tuple first,
 * then the listeners, most specific first.
 *
 * Also here: ephemeral ports (RFC 6056 section 3.3.3, algorithm 3, "double
 * hash") and initial sequence numbers (RFC 6528 / RFC 9293 3.4.1), the two
 * other users of the keyed hash.
 *
 * Read first: RFC 9293 3.4.1, RFC 6528 section 3, RFC 6056 section 3.3.3.
 */
#include "tcp/tcp.h"

#include <string.h>

#include "core/core.h"
#include "core/siphash.h"
#include "ip/ip.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

/* Domain bytes so the uses of the one key never share an input (mini.c
 * uses TCP_HASH_COOKIE, tcp.h). */
enum { HASH_DEMUX = 1, HASH_ISN = 2, HASH_EPH_OFFSET = 3, HASH_EPH_INDEX = 4 };

/* The 37 bytes an IPv6 4-tuple (or a mixed one) hashes as: the domain
 * byte with 0x80 set, so that no IPv6 input equals an IPv4 one. */
static size_t
tuple_bytes6(uint8_t b[37], uint8_t domain, struct tern_ip laddr, uint16_t lport,
             struct tern_ip raddr, uint16_t rport)
{
    b[0] = (uint8_t)(domain | 0x80);
    memcpy(b + 1, laddr.b, 16);
    b[17] = (uint8_t)(lport >> 8);
    b[18] = (uint8_t)lport;
    memcpy(b + 19, raddr.b, 16);
    b[35] = (uint8_t)(rport >> 8);
    b[36] = (uint8_t)rport;
    return 37;
}

static uint64_t
tuple_hash(const struct tern_stack *st, uint8_t domain, struct tern_ip laddr_ip, uint16_t lport,
           struct tern_ip raddr_ip, uint16_t rport)
{
    uint8_t b[37];
    size_t n = 13;
    if (tern_ip_is4(laddr_ip) && tern_ip_is4(raddr_ip)) {
        /* IPv4: the 13 bytes domain, laddr, lport, raddr, rport. */
        uint32_t laddr = tern_ip_v4(laddr_ip), raddr = tern_ip_v4(raddr_ip);
        uint8_t b4[13] = {
            domain,
            (uint8_t)(laddr >> 24),
            (uint8_t)(laddr >> 16),
            (uint8_t)(laddr >> 8),
            (uint8_t)laddr,
            (uint8_t)(lport >> 8),
            (uint8_t)lport,
            (uint8_t)(raddr >> 24),
            (uint8_t)(raddr >> 16),
            (uint8_t)(raddr >> 8),
            (uint8_t)raddr,
            (uint8_t)(rport >> 8),
            (uint8_t)rport,
        };
        memcpy(b, b4, sizeof(b4));
    } else {
        n = tuple_bytes6(b, domain, laddr_ip, lport, raddr_ip, rport);
    }
    /* The table hashes only spread entries over buckets; the other uses
     * (ISNs, ports) produce numbers that leave the stack (siphash.h). */
    return domain == HASH_DEMUX ? siphash13(st->hash_key, b, n) : siphash24(st->hash_key, b, n);
}

uint64_t
tcp_tuple_hash(const struct tern_stack *st, uint8_t domain, struct tern_ip laddr, uint16_t lport,
               struct tern_ip raddr, uint16_t rport)
{
    return tuple_hash(st, domain, laddr, lport, raddr, rport);
}

static int
config_check(const struct tern_tcp_config *c)
{
    if (c->cc != NULL && tcp_cc_ops_by_name(c->cc) == NULL) {
        return TERN_ERR_INVAL; /* unknown congestion control */
    }
    if (c->max_connections == 0 || c->max_connections > 1u << 20 || c->sndbuf == 0 ||
        c->rcvbuf == 0 || c->sndbuf > 1u << 30 || c->rcvbuf > 1u << 30 || c->msl_ns <= 0 ||
        c->connect_timeout_ns <= 0 || c->user_timeout_ns <= 0 || c->rto_initial_ns <= 0 ||
        c->rto_min_ns < 0 || c->rto_min_ns > TCP_RTT_RTO_MIN_MAX_NS ||
        c->rto_max_ns < c->rto_initial_ns || c->isn_tick_ns <= 0 || c->ephemeral_min == 0 ||
        c->ephemeral_max < c->ephemeral_min || c->time_wait_max > 1u << 20 ||
        c->syn_cache_max > 1u << 20 || c->synack_retries > TCP_SYNACK_RETRIES_MAX ||
        (c->initial_window != TERN_TCP_IW_RFC6928 && c->initial_window != TERN_TCP_IW_RFC5681) ||
        (c->prr != TERN_TCP_PRR_SSRB && c->prr != TERN_TCP_PRR_CRB && c->prr != TERN_TCP_PRR_OFF) ||
        (c->loss_detection != TERN_TCP_LOSS_RFC6675 && c->loss_detection != TERN_TCP_LOSS_RACK)) {
        return TERN_ERR_INVAL;
    }
    return TERN_OK;
}

int
tcp_init(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    const struct tern_tcp_config *c = &st->cfg.tcp;
    memset(t, 0, sizeof(*t));
    t->free_head = -1;
    t->ev_head = t->ev_tail = -1;
    int rc = config_check(c);
    if (rc != TERN_OK) {
        return rc;
    }
    t->n_tcbs = c->max_connections;
    t->n_buckets = 1;
    while (t->n_buckets < t->n_tcbs) { /* load factor at most 1 */
        t->n_buckets <<= 1;
    }
    t->tcbs = stack_alloc(st, sizeof(*t->tcbs) * t->n_tcbs);
    t->buckets = stack_alloc(st, sizeof(*t->buckets) * t->n_buckets);
    uint32_t max_mtu = 576;
    for (unsigned i = 0; i < st->cfg.n_netifs; i++) {
        if (st->cfg.netifs[i].mtu > max_mtu) {
            max_mtu = st->cfg.netifs[i].mtu;
        }
    }
    t->tx_buf_len = max_mtu + WIRE_TCP_MAX_OPT_LEN;
    t->tx_buf = stack_alloc(st, t->tx_buf_len);
    tcp_mem_init(st);
    if (t->tcbs == NULL || t->buckets == NULL || t->tx_buf == NULL) {
        return TERN_ERR_NOMEM;
    }
    for (unsigned i = 0; i < t->n_buckets; i++) {
        t->buckets[i] = -1;
    }
    for (unsigned i = t->n_tcbs; i-- > 0;) {
        struct tcp_tcb *tcb = &t->tcbs[i];
        tcb->id = (int)i + 1;
        tcp_buf_init(st, tcb);
        tcb->mem_next = -1;
        tcb->hash_next = t->free_head;
        t->free_head = (int)i;
        tcp_timers_init(tcb);
    }
    return tcp_mini_init(st);
}

void
tcp_fini(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    if (t->tcbs != NULL) {
        for (unsigned i = 0; i < t->n_tcbs; i++) {
            tcp_timers_cancel(st, &t->tcbs[i]);
        }
    }
    timer_cancel(&st->timers, &t->mem_timer);
    tcp_mini_fini(st);
    stack_dealloc(st, t->tcbs, sizeof(*t->tcbs) * t->n_tcbs);
    stack_dealloc(st, t->buckets, sizeof(*t->buckets) * t->n_buckets);
    stack_dealloc(st, t->tx_buf, t->tx_buf_len);
    t->tx_buf = NULL;
    t->tcbs = NULL;
    t->buckets = NULL;
}

struct tcp_tcb *
tcp_tcb_at(const struct tern_stack *st, int slot)
{
    if (slot < 0 || (unsigned)slot >= st->tcp->n_tcbs) {
        return NULL;
    }
    return &st->tcp->tcbs[slot];
}

int
tcp_tcb_slot(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    (void)st;
    return tcb->id - 1;
}

struct tcp_tcb *
tcp_tcb_get(const struct tern_stack *st, int id)
{
    struct tcp_tcb *tcb = tcp_tcb_at(st, id - 1);
    if (tcb == NULL || tcb->role != TCP_ROLE_USER || tcb->user_released) {
        return NULL;
    }
    return tcb;
}

void
tcp_tcb_reset(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcp_timers_cancel(st, tcb);
    tcp_buf_free(st, tcb);
    tcp_buf_init(st, tcb);
    tcb->snd_una = tcb->snd_nxt = tcb->snd_wnd = tcb->snd_up = 0;
    tcb->ecn_ok = tcb->ecn_ece = tcb->ecn_cwr = false;
    tcb->snd_wl1 = tcb->snd_wl2 = tcb->iss = tcb->max_snd_wnd = 0;
    tcb->rcv_nxt = tcb->rcv_up = tcb->irs = 0;
    tcb->rcv_wnd = 0; /* nothing announced yet */
    tcb->fin_queued = tcb->fin_sent = tcb->fin_rcvd = false;
    tcb->urg_snd = false;
    tcb->fin_seq = 0;
    tcb->retries = 0;
    tcb->n_ooo = 0;
    tcb->ooo_fin = false;
    tcb->rcv_adv = 0;
    tcb->unacked_segs = tcb->keep_probes = 0;
    tcb->cc_ready = false;
    tcb->cwnd = tcb->ssthresh = 0;
    tcb->persist_backoff_ns = 0;
    const struct tern_tcp_config *c = &st->cfg.tcp;
    /* RFC 6298 2.1: RTO starts at rto_initial; the lower bound (2.4) never
     * lies above the configured initial value. */
    int64_t min = c->rto_min_ns > 0 ? c->rto_min_ns : TCP_RTT_RTO_MIN_NS;
    min = min < c->rto_initial_ns ? min : c->rto_initial_ns;
    tcp_rtt_init(&tcb->rtt, c->rto_initial_ns, min, c->rto_max_ns);
    /* What our SYN will offer (RFC 7323, RFC 2018); a passive open decides
     * again from the peer's SYN. */
    tcb->ws_ok = !c->no_wscale;
    tcb->ts_ok = !c->no_timestamps;
    tcb->sack_ok = !c->no_sack;
    tcb->snd_wscale = tcb->rcv_wscale = 0;
    tcb->ts_recent = 0;
}

struct tcp_tcb *
tcp_tcb_alloc(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    if (t->free_head < 0) {
        return NULL;
    }
    struct tcp_tcb *tcb = &t->tcbs[t->free_head];
    t->free_head = tcb->hash_next;
    t->n_used++;
    tcp_rcv_share_update(st);
    /* Keep what tcp_init set up: the id; a free slot holds no chunk and no
     * armed timer. */
    int id = tcb->id;
    memset(tcb, 0, sizeof(*tcb));
    tcb->id = id;
    tcb->mem_next = -1;
    tcp_buf_init(st, tcb);
    tcp_timers_init(tcb);
    const struct tern_tcp_config *c = &st->cfg.tcp;
    tcb->keepalive = c->keepalive;
    const struct tcp_cc_ops *ops = c->cc != NULL ? tcp_cc_ops_by_name(c->cc) : NULL;
    tcb->use_cubic = ops != NULL && ops->algo == TCP_CC_CUBIC;
    tcb->role = TCP_ROLE_USER;
    tcb->hash_next = -1;
    tcb->listener = -1;
    tcb->accept_next = tcb->accept_head = tcb->accept_tail = -1;
    tcb->tw_parked = -1;
    tcb->tw_rec = -1;
    tcb->ev_next = -1;
    tcb->user_timeout_ns = st->cfg.tcp.user_timeout_ns;
    tcb->opened_ns = st->now_ns;
    tcp_tcb_reset(st, tcb);
    return tcb;
}

void
tcp_tcb_free(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcp_timers_cancel(st, tcb);
    tcp_buf_free(st, tcb);
    tcp_mem_unwait(st, tcb);
    if (tcb->in_hash) {
        tcp_hash_remove(st, tcb);
    }
    if (tcb->ev_listed) {
        /* Still queued for event delivery: tcp_deliver_events() skips free
         * slots, so only the role needs changing. */
        tcb->ev_pending = 0;
    }
    tcb->role = TCP_ROLE_FREE;
    st->tcp->n_used--;
    tcp_rcv_share_update(st);
    tcb->hash_next = st->tcp->free_head;
    st->tcp->free_head = tcp_tcb_slot(st, tcb);
}

uint64_t
tcp_demux_hash(const struct tern_stack *st, struct tern_ip laddr_ip, uint16_t lport,
               struct tern_ip raddr_ip, uint16_t rport)
{
    /* One hash per 4-tuple serves both tables: its low half picks the
     * connection bucket, its high half the compact record's (mini.c), so
     * an arriving segment that misses the first costs no second hash. */
    if (!tern_ip_is4(laddr_ip) || !tern_ip_is4(raddr_ip)) {
        return tuple_hash(st, HASH_DEMUX, laddr_ip, lport, raddr_ip, rport);
    }
    /* IPv4: the same 13 bytes as tuple_hash(HASH_DEMUX, ...), as words. */
    uint32_t laddr = tern_ip_v4(laddr_ip), raddr = tern_ip_v4(raddr_ip);
    uint64_t m0 = (uint64_t)HASH_DEMUX | (uint64_t)__builtin_bswap32(laddr) << 8 |
                  (uint64_t)(lport >> 8) << 40 | (uint64_t)(lport & 0xff) << 48 |
                  (uint64_t)(raddr >> 24) << 56;
    uint64_t m1 = (uint64_t)((raddr >> 16) & 0xff) | (uint64_t)((raddr >> 8) & 0xff) << 8 |
                  (uint64_t)(raddr & 0xff) << 16 | (uint64_t)(rport >> 8) << 24 |
                  (uint64_t)(rport & 0xff) << 32;
    return siphash13_13(st->hash_key, m0, m1);
}

static unsigned
bucket_of(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport, struct tern_ip raddr,
          uint16_t rport)
{
    uint64_t h = tcp_demux_hash(st, laddr, lport, raddr, rport);
    return (unsigned)(h & (st->tcp->n_buckets - 1));
}

/* Which of the passive lookups of tcp_demux_passive could find this key:
 * counting the keys of each shape lets a lookup that cannot succeed be
 * skipped (each costs a keyed hash). */
static enum tcp_key_shape
key_shape(const struct tcp_tcb *tcb)
{
    if (tcb->remote_port != 0) {
        return tern_ip_is_any(tcb->local_addr) ? TCP_KEY_ANY_LOCAL : TCP_KEY_FULL;
    }
    return tern_ip_is_any(tcb->local_addr) ? TCP_KEY_LISTEN_ANY : TCP_KEY_LISTEN_ADDR;
}

void
tcp_hash_insert(struct tern_stack *st, struct tcp_tcb *tcb)
{
    unsigned b =
        bucket_of(st, tcb->local_addr, tcb->local_port, tcb->remote_addr, tcb->remote_port);
    tcb->hash_next = st->tcp->buckets[b];
    st->tcp->buckets[b] = tcp_tcb_slot(st, tcb);
    tcb->in_hash = true;
    st->tcp->n_keys[key_shape(tcb)]++;
}

void
tcp_hash_remove(struct tern_stack *st, struct tcp_tcb *tcb)
{
    unsigned b =
        bucket_of(st, tcb->local_addr, tcb->local_port, tcb->remote_addr, tcb->remote_port);
    int *link = &st->tcp->buckets[b];
    int slot = tcp_tcb_slot(st, tcb);
    while (*link >= 0) {
        if (*link == slot) {
            *link = tcb->hash_next;
            break;
        }
        link = &st->tcp->tcbs[*link].hash_next;
    }
    tcb->hash_next = -1;
    tcb->in_hash = false;
    st->tcp->n_keys[key_shape(tcb)]--;
}

struct tcp_tcb *
tcp_hash_find_h(const struct tern_stack *st, uint64_t h, struct tern_ip laddr, uint16_t lport,
                struct tern_ip raddr, uint16_t rport)
{
    int i = st->tcp->buckets[h & (st->tcp->n_buckets - 1)];
    while (i >= 0) {
        struct tcp_tcb *tcb = &st->tcp->tcbs[i];
        if (tcb->local_port == lport && tcb->remote_port == rport &&
            tern_ip_eq(tcb->local_addr, laddr) && tern_ip_eq(tcb->remote_addr, raddr)) {
            return tcb;
        }
        i = tcb->hash_next;
    }
    return NULL;
}

struct tcp_tcb *
tcp_hash_find(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
              struct tern_ip raddr, uint16_t rport)
{
    return tcp_hash_find_h(st, tcp_demux_hash(st, laddr, lport, raddr, rport), laddr, lport, raddr,
                           rport);
}

struct tcp_tcb *
tcp_demux_passive(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                  struct tern_ip raddr, uint16_t rport)
{
    /* Wildcards are stored in the family's own form (0.0.0.0 or ::); a
     * listener on :: also takes IPv4 segments unless it is IPv6-only. */
    const unsigned *n = st->tcp->n_keys;
    struct tern_ip any = tern_ip_any_of(raddr);
    struct tcp_tcb *tcb = NULL;
    if (n[TCP_KEY_ANY_LOCAL] > 0) {
        /* A passive OPEN with a fully specified remote but any local address. */
        tcb = tcp_hash_find(st, any, lport, raddr, rport);
    }
    if (tcb == NULL && n[TCP_KEY_LISTEN_ADDR] > 0) {
        tcb = tcp_hash_find(st, laddr, lport, any, 0);
    }
    if (tcb == NULL && n[TCP_KEY_LISTEN_ANY] > 0) {
        tcb = tcp_hash_find(st, any, lport, any, 0);
        if (tcb == NULL && tern_ip_is4(raddr)) {
            struct tern_ip any6 = {{0}};
            tcb = tcp_hash_find(st, any6, lport, any6, 0);
            if (tcb != NULL && tcb->v6only) {
                tcb = NULL;
            }
        }
    }
    return tcb;
}

struct tcp_tcb *
tcp_demux(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport, struct tern_ip raddr,
          uint16_t rport)
{
    struct tcp_tcb *tcb = tcp_hash_find(st, laddr, lport, raddr, rport);
    return tcb != NULL ? tcb : tcp_demux_passive(st, laddr, lport, raddr, rport);
}

static bool
port_in_use(const struct tern_stack *st, struct tern_ip laddr, uint16_t port, struct tern_ip raddr,
            uint16_t rport)
{
    uint64_t h = tcp_demux_hash(st, laddr, port, raddr, rport);
    return tcp_hash_find_h(st, h, laddr, port, raddr, rport) != NULL ||
           tcp_mini_find_h(st, h, laddr, port, raddr, rport) != NULL ||
           tcp_demux_passive(st, laddr, port, raddr, rport) != NULL;
}

uint16_t
tcp_ephemeral_port(struct tern_stack *st, struct tern_ip laddr, struct tern_ip raddr,
                   uint16_t rport)
{
    /* RFC 6056 3.3.3 (algorithm 3): offset = F(local, remote, secret) spreads
     * the connections to different peers over the range, and a small table
     * of increments indexed by G(...) lets successive connections to the
     * same peer walk it without revealing the walk to other peers. */
    const struct tern_tcp_config *c = &st->cfg.tcp;
    uint32_t num = (uint32_t)c->ephemeral_max - c->ephemeral_min + 1;
    uint32_t offset = (uint32_t)tuple_hash(st, HASH_EPH_OFFSET, laddr, 0, raddr, rport);
    unsigned index =
        (unsigned)(tuple_hash(st, HASH_EPH_INDEX, laddr, 0, raddr, rport) % TCP_EPH_TABLE);
    for (uint32_t count = num; count > 0; count--) {
        uint16_t port = (uint16_t)(c->ephemeral_min + (offset + st->tcp->eph_table[index]) % num);
        st->tcp->eph_table[index]++;
        if (!port_in_use(st, laddr, port, raddr, rport)) {
            return port;
        }
    }
    return 0;
}

uint32_t
tcp_isn(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport, struct tern_ip raddr,
        uint16_t rport)
{
    /* RFC 6528 3 / RFC 9293 3.4.1: ISN = M + F(localip, localport, remoteip,
     * remoteport, secretkey), M a clock ticking every 4 us (MUST-8), F a
     * keyed PRF nobody outside can compute (SHLD-1, MUST-9). */
    uint32_t m = (uint32_t)(uint64_t)(st->now_ns / st->cfg.tcp.isn_tick_ns);
    uint32_t f = (uint32_t)tuple_hash(st, HASH_ISN, laddr, lport, raddr, rport);
    return m + f;
}
