/*
 * src/tcp/mini.c: compact records for the two states that need a few
 * numbers and no buffers, TIME-WAIT and SYN-RECEIVED of a connection a
 * wildcard listener is making ("embryonic", the SYN cache), and SYN
 * cookies for when the SYN cache is full.
 *
 * Read first: RFC 9293 3.6 (TIME-WAIT, MUST-13, MAY-2), 3.10.7.2 and
 * 3.10.7.4; RFC 6191 and RFC 1337 (TIME-WAIT's purpose, its early end);
 * RFC 4987 3.3-3.6 (SYN caches, SYN cookies); RFC 7323 5 (PAWS).
 *
 * Records. A record (struct tcp_mini, 72 bytes) holds the 4-tuple, SND.NXT
 * and RCV.NXT, TS.Recent, the options in use, a link to its listener or to
 * its husk, a hash link, list links and an expiry. The table is sized once
 * (tcp_mini_init) from cfg.tcp.time_wait_max and syn_cache_max (0 means
 * 128 each); nothing is allocated later. Demultiplexing (input.c) tries an
 * exact TCB first, then the records (their own keyed hash), then listeners.
 *
 * One state machine. A segment for a record is not processed here: the
 * record is loaded into the stack's scratch TCB (TCP_ROLE_SCRATCH: not in
 * the hash, no buffers, never given to the user), the ordinary 3.10.7.4
 * code of input.c runs on it, and tcp_mini_settle() stores the result
 * back, or deletes the record when the scratch went to CLOSED or back to
 * LISTEN. A completed handshake (ack_syn_received) calls tcp_mini_promote()
 * before the text and FIN steps: a real TCB takes the scratch's place.
 *
 * Time. No wheel timer per record: records armed with the same interval
 * expire in the order they were armed, so FIFO lists do, one for TIME-WAIT
 * (2 MSL) and one per SYN,ACK retransmission count (the interval doubles
 * with the count), and one wheel timer for the table is armed at the
 * earliest list head. Arm, re-arm and expiry are O(1).
 *
 * TIME-WAIT. A connection entering TIME-WAIT moves into a record and its
 * slot is freed; while the user still holds the id, the TCB stays as a
 * husk (state TIME-WAIT, not in the hash, no timers) that the record names
 * and tells when TIME-WAIT ends. When every TIME-WAIT record is in use, the
 * oldest is recycled (counted: time_wait_recycled), see tcp_mini_tw_enter.
 *
 * SYN cache and cookies. A SYN on a wildcard listener makes a record in
 * SYN-RECEIVED and gets its SYN,ACK, retransmitted at rto_initial, doubling,
 * synack_retries times; then the record is deleted. The listener's backlog
 * counts only completed connections (children with a TCB). When the cache
 * is full the SYN,ACK carries a cookie instead (tcp_cookie_send) and no
 * state is kept. One cache serves every listener, without per-listener
 * shares: a flood on one port turns the others to cookies too, but cookies
 * still serve every client, while a share would leave memory idle and
 * still fill under a flood on its own port.
 */
#include "tcp/tcp.h"

#include <string.h>

#include "core/core.h"
#include "core/siphash.h"
#include "tcp/seq.h"
#include "wire/tcp.h"

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define rec_trace(st, kind, i, old, new_state, rule)                                               \
    (rec_trace)(st, kind, i, old, new_state, TERN_RULE_ARG(rule))
#define husk_close(st, husk, err, rule) (husk_close)(st, husk, err, TERN_RULE_ARG(rule))
#define syn_delete(st, i, unpark_rule)  (syn_delete)(st, i, TERN_RULE_ARG(unpark_rule))
#endif

#define LIST_TW      0
#define LIST_SYN(k)  (1 + (k))
#define POOL_TW      0
#define POOL_SYN     1
#define MINI_DEFAULT 128u

/* RFC 4987 3.6: the cookie's coarse clock ticks every 64 s and a cookie is
 * honoured for at most one tick after the one it was made in (64-128 s,
 * longer than any SYN,ACK round trip a client would wait for). */
#define COOKIE_PERIOD_NS (64LL * 1000000000LL)
#define COOKIE_MAX_AGE   1
/* Common MSS values; a cookie carries the index of the largest one not
 * above the peer's MSS (3 bits). */
static const uint16_t cookie_mss[8] = {216, 536, 1220, 1300, 1360, 1440, 1460, 8960};

/* ---- the table ---- */

static struct tcp_mini *
rec_at(const struct tern_stack *st, int i)
{
    if (i < 0 || (unsigned)i >= st->tcp->n_minis) {
        return NULL;
    }
    return &st->tcp->minis[i];
}

int
tcp_mini_index(const struct tern_stack *st, const struct tcp_mini *m)
{
    return (int)(m - st->tcp->minis);
}

/* The connection id traces show for a record without a husk: above every
 * slot id, so never an id the user can hold. */
static int
rec_id(const struct tern_stack *st, int i)
{
    const struct tcp_mini *m = rec_at(st, i);
    if (m != NULL && m->kind == TCP_MINI_TW && m->owner >= 0) {
        return m->owner + 1;
    }
    return (int)st->tcp->n_tcbs + 1 + i;
}

static int
cookie_id(const struct tern_stack *st)
{
    return (int)(st->tcp->n_tcbs + st->tcp->n_minis) + 1;
}

static unsigned
bucket_of(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport, struct tern_ip raddr,
          uint16_t rport)
{
    uint64_t h = tcp_demux_hash(st, laddr, lport, raddr, rport);
    return (unsigned)((h >> 32) & (st->tcp->n_mini_buckets - 1)); /* table.c's high half */
}

static void
hash_insert(struct tern_stack *st, struct tcp_mini *m)
{
    unsigned b = bucket_of(st, m->local_addr, m->local_port, m->remote_addr, m->remote_port);
    m->hash_next = st->tcp->mini_buckets[b];
    st->tcp->mini_buckets[b] = tcp_mini_index(st, m);
    m->flags |= TCP_MINI_IN_HASH;
}

static void
hash_remove(struct tern_stack *st, struct tcp_mini *m)
{
    unsigned b = bucket_of(st, m->local_addr, m->local_port, m->remote_addr, m->remote_port);
    int32_t *link = &st->tcp->mini_buckets[b];
    int32_t i = tcp_mini_index(st, m);
    while (*link >= 0) {
        if (*link == i) {
            *link = m->hash_next;
            break;
        }
        link = &st->tcp->minis[*link].hash_next;
    }
    m->hash_next = -1;
    m->flags &= (uint8_t)~TCP_MINI_IN_HASH;
}

struct tcp_mini *
tcp_mini_find_h(const struct tern_stack *st, uint64_t h, struct tern_ip laddr, uint16_t lport,
                struct tern_ip raddr, uint16_t rport)
{
    if (st->tcp->n_mini_buckets == 0) {
        return NULL;
    }
    int32_t i = st->tcp->mini_buckets[(h >> 32) & (st->tcp->n_mini_buckets - 1)];
    while (i >= 0) {
        struct tcp_mini *m = &st->tcp->minis[i];
        if (m->local_port == lport && m->remote_port == rport && tern_ip_eq(m->local_addr, laddr) &&
            tern_ip_eq(m->remote_addr, raddr)) {
            return m;
        }
        i = m->hash_next;
    }
    return NULL;
}

struct tcp_mini *
tcp_mini_find(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
              struct tern_ip raddr, uint16_t rport)
{
    return tcp_mini_find_h(st, tcp_demux_hash(st, laddr, lport, raddr, rport), laddr, lport, raddr,
                           rport);
}

static int
list_of(const struct tcp_mini *m)
{
    return m->kind == TCP_MINI_TW ? LIST_TW : LIST_SYN(m->retries);
}

static void
list_append(struct tern_stack *st, struct tcp_mini *m)
{
    struct tcp_mini_list *l = &st->tcp->mini_lists[list_of(m)];
    int32_t i = tcp_mini_index(st, m);
    m->next = -1;
    m->prev = l->tail;
    if (l->tail >= 0) {
        st->tcp->minis[l->tail].next = i;
    } else {
        l->head = i;
    }
    l->tail = i;
    m->flags |= TCP_MINI_LIST;
}

static void
list_unlink(struct tern_stack *st, struct tcp_mini *m)
{
    if (!(m->flags & TCP_MINI_LIST)) {
        return;
    }
    struct tcp_mini_list *l = &st->tcp->mini_lists[list_of(m)];
    if (m->prev >= 0) {
        st->tcp->minis[m->prev].next = m->next;
    } else {
        l->head = m->next;
    }
    if (m->next >= 0) {
        st->tcp->minis[m->next].prev = m->prev;
    } else {
        l->tail = m->prev;
    }
    m->prev = m->next = -1;
    m->flags &= (uint8_t)~TCP_MINI_LIST;
}

/* The earliest list head, -1 when every list is empty. */
static int
earliest(const struct tern_stack *st)
{
    int best = -1;
    int64_t when = INT64_MAX;
    for (unsigned l = 0; l < TCP_MINI_LISTS; l++) {
        int32_t h = st->tcp->mini_lists[l].head;
        if (h >= 0 && st->tcp->minis[h].expires_ns < when) {
            when = st->tcp->minis[h].expires_ns;
            best = h;
        }
    }
    return best;
}

static void
timer_update(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    int e = earliest(st);
    if (e < 0) {
        timer_cancel(&st->timers, &t->mini_timer);
        return;
    }
    int64_t when = t->minis[e].expires_ns;
    if (!timer_armed(&t->mini_timer) || t->mini_timer.expires_ns != when) {
        timer_arm(&st->timers, &t->mini_timer, when);
    }
}

static int
rec_alloc(struct tern_stack *st, int pool)
{
    struct tcp_state *t = st->tcp;
    int32_t i = t->mini_free[pool];
    if (i < 0) {
        return -1;
    }
    struct tcp_mini *m = &t->minis[i];
    t->mini_free[pool] = m->next;
    memset(m, 0, sizeof(*m));
    m->kind = pool == POOL_TW ? TCP_MINI_TW : TCP_MINI_SYN;
    m->hash_next = m->prev = m->next = -1;
    m->owner = m->link = -1;
    t->mini_used[pool]++;
    return i;
}

static void
rec_free(struct tern_stack *st, int i)
{
    struct tcp_mini *m = rec_at(st, i);
    if (m == NULL || m->kind == TCP_MINI_FREE) {
        return;
    }
    list_unlink(st, m);
    if (m->flags & TCP_MINI_IN_HASH) {
        hash_remove(st, m);
    }
    int pool = (unsigned)i < st->tcp->n_tw ? POOL_TW : POOL_SYN;
    m->kind = TCP_MINI_FREE;
    m->flags = 0;
    m->next = st->tcp->mini_free[pool];
    st->tcp->mini_free[pool] = i;
    st->tcp->mini_used[pool]--;
}

/* Traces an event of a record (no TCB to name): kind, id, states, rule. */
static void(rec_trace)(struct tern_stack *st, enum tern_trace_kind kind, int i,
                       enum tern_tcp_state old, enum tern_tcp_state new_state, const char *rule)
{
    if (st->trace == NULL) {
        return;
    }
    struct tern_trace_event ev = {
        .kind = kind,
        .now_ns = st->now_ns,
        .layer = "tcp",
        .rule = TERN_RULE_OUT(rule),
        .rule_id = TERN_RULE_ID_OUT(rule),
        .drop = TERN_DROP_COUNT,
        .conn = (uint32_t)rec_id(st, i),
        .old_state = (int)old,
        .new_state = (int)new_state,
    };
    st->trace(st->trace_ctx, &ev);
}

/* RFC 6298 5.5: the SYN,ACK retransmission interval after k of them:
 * rto_initial doubled k times, at most rto_max. */
static int64_t
syn_interval(const struct tern_stack *st, unsigned k)
{
    int64_t v = st->cfg.tcp.rto_initial_ns;
    for (unsigned i = 0; i < k && v < st->cfg.tcp.rto_max_ns; i++) {
        v *= 2;
    }
    return v < st->cfg.tcp.rto_max_ns ? v : st->cfg.tcp.rto_max_ns;
}

/* ---- the scratch TCB ---- */

/* A record's own reply budget (RFC 5961 7, output.c) goes with it: a flood
 * at one record's 4-tuple gets no more replies than at a TCB's. */
static void
reply_budget_store(struct tcp_mini *m, const struct tcp_tcb *tcb)
{
    m->reply_count = tcb->reply_count > 255 ? 255 : (uint8_t)tcb->reply_count;
    m->reply_win_ms = tcb->reply_win_ms;
    m->flags = (uint8_t)((m->flags & ~TCP_MINI_REPLY) | (tcb->reply_win_set ? TCP_MINI_REPLY : 0));
}

static void
scratch_timers_clear(struct tern_stack *st)
{
    tcp_timers_cancel(st, &st->tcp->scratch);
}

/* A blank scratch TCB named `id`: sequence state reset, empty buffers
 * (the window it announces is computed as for a new connection, and no
 * pool memory is reserved for it: buf.c), every timer a bare deadline. */
static struct tcp_tcb *
scratch_fresh(struct tern_stack *st, int id)
{
    struct tcp_tcb *s = &st->tcp->scratch;
    scratch_timers_clear(st);
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->role = TCP_ROLE_SCRATCH;
    s->hash_next = s->listener = -1;
    s->accept_next = s->accept_head = s->accept_tail = -1;
    s->tw_parked = s->tw_rec = s->ev_next = s->mem_next = -1;
    tcp_buf_init(st, s); /* empty chains: the scratch never holds pool memory */
    tcp_timers_init(s);
    s->user_timeout_ns = st->cfg.tcp.user_timeout_ns;
    s->opened_ns = st->now_ns;
    s->last_rx_ns = st->now_ns;
    tcp_tcb_reset(st, s);
    st->tcp->scratch_rec = -1;
    return s;
}

/* What an embryonic connection takes from its listener (make_child's list,
 * the part that shows on the wire). */
static void
scratch_from_listener(struct tern_stack *st, struct tcp_tcb *s, const struct tcp_tcb *lst)
{
    s->listener = tcp_tcb_slot(st, lst);
    s->rcv_mss = lst->rcv_mss;
    s->set_iss = lst->set_iss;
    s->user_iss = lst->user_iss;
    s->tos = lst->tos;
}

struct tcp_tcb *
tcp_mini_load(struct tern_stack *st, struct tcp_mini *m)
{
    int i = tcp_mini_index(st, m);
    struct tcp_tcb *s = scratch_fresh(st, rec_id(st, i));
    st->tcp->scratch_rec = i;
    s->local_addr = m->local_addr;
    s->local_port = m->local_port;
    s->remote_addr = m->remote_addr;
    s->remote_port = m->remote_port;
    s->tos = m->tos;
    s->ts_ok = (m->flags & TCP_MINI_TS) != 0;
    s->ws_ok = (m->flags & TCP_MINI_WS) != 0;
    s->sack_ok = (m->flags & TCP_MINI_SACK) != 0;
    s->ecn_ok = (m->flags & TCP_MINI_ECN) != 0;
    s->snd_wscale = (uint8_t)(m->wscale >> 4);
    s->rcv_wscale = (uint8_t)(m->wscale & 15);
    s->ts_recent = m->ts_recent;
    s->reply_count = m->reply_count;
    s->reply_win_ms = m->reply_win_ms;
    s->reply_win_set = (m->flags & TCP_MINI_REPLY) != 0;
    s->rcv_nxt = m->rcv_nxt;
    s->last_ack_sent = m->rcv_nxt;
    s->rcv_wnd = tcp_rcv_window(st, s);
    s->snd_nxt = m->snd_nxt;
    if (m->kind == TCP_MINI_TW) {
        s->snd_una = m->snd_nxt;
        s->snd_wnd = s->max_snd_wnd = m->wnd;
        s->snd_wl1 = m->rcv_nxt;
        s->snd_wl2 = m->snd_nxt;
        tcp_buf_snd_start(s, m->snd_nxt);
        tcp_buf_rcv_start(s, m->rcv_nxt);
        s->fin_queued = s->fin_sent = s->fin_rcvd = true;
        s->fin_seq = m->snd_nxt - 1;
        s->connected = true;
        s->snd_mss = tern_ip_is4(m->remote_addr) ? TCP_DEFAULT_MSS : TCP_DEFAULT_MSS6;
        s->rcv_adv = m->rcv_nxt + s->rcv_wnd;
        tcp_state_restore(s, TERN_TCP_TIME_WAIT);
        return s;
    }
    struct tcp_tcb *lst = tcp_tcb_at(st, m->owner);
    if (lst != NULL) {
        scratch_from_listener(st, s, lst);
    }
    s->iss = m->snd_nxt - 1;
    s->snd_una = s->iss;
    tcp_buf_snd_start(s, m->snd_nxt);
    tcp_buf_rcv_start(s, m->rcv_nxt);
    s->irs = m->rcv_nxt - 1;
    s->snd_wl1 = s->irs;
    s->passive_open = true;
    tcp_set_mss(st, s, (uint16_t)(m->wnd & 0xffffu), 0);
    s->rcv_wnd = m->wnd >> 16; /* the window our SYN,ACK announced */
    s->rcv_adv = m->rcv_nxt + s->rcv_wnd;
    s->retries = m->retries;
    /* The first SYN,ACK went out one interval before the first expiry: the
     * time the handshake's RTT sample counts from (Karn: only then). */
    s->opened_ns = m->retries == 0 ? m->expires_ns - syn_interval(st, 0) : st->now_ns;
    s->tw_parked = m->link;
    tcp_state_restore(s, TERN_TCP_SYN_RECEIVED);
    return s;
}

/* ---- TIME-WAIT ---- */

/* A record with its husk's slot released: a TCB that leaves TIME-WAIT
 * early or late goes to CLOSED with `rule` (NULL: already traced by the
 * scratch) and error err. */
static void(husk_close)(struct tern_stack *st, int husk, int err, const char *rule)
{
    struct tcp_tcb *h = tcp_tcb_at(st, husk);
    if (h == NULL || h->role == TCP_ROLE_FREE) {
        return;
    }
    h->tw_rec = -1;
    tcp_close_tcb(st, h, err, rule);
}

/* Deletes TIME-WAIT record i, quietly; returns its husk's slot, or -1. */
static int
tw_delete(struct tern_stack *st, int i)
{
    struct tcp_mini *m = rec_at(st, i);
    if (m == NULL || m->kind != TCP_MINI_TW) {
        return -1;
    }
    int husk = m->owner;
    struct tcp_mini *child = rec_at(st, m->link);
    if (child != NULL && child->kind == TCP_MINI_SYN && child->link == i) {
        child->link = -1; /* a parked TIME-WAIT ends under its new incarnation */
    }
    rec_free(st, i);
    return husk;
}

unsigned
tcp_mini_tw_count(const struct tern_stack *st)
{
    return st->tcp->mini_used[POOL_TW];
}

void(tcp_mini_tw_end)(struct tern_stack *st, int i, const char *rule)
{
    struct tcp_mini *m = rec_at(st, i);
    if (m == NULL || m->kind != TCP_MINI_TW) {
        return;
    }
    if (m->owner < 0) {
        rec_trace(st, TERN_TRACE_STATE, i, TERN_TCP_TIME_WAIT, TERN_TCP_CLOSED, rule);
    }
    int husk = tw_delete(st, i);
    if (husk >= 0) {
        husk_close(st, husk, 0, rule);
    }
    timer_update(st);
}

void
tcp_mini_tw_enter(struct tern_stack *st, struct tcp_tcb *tcb)
{
    int i = rec_alloc(st, POOL_TW);
    if (i < 0 && st->tcp->mini_lists[LIST_TW].head >= 0) {
        /* RFC 6191 / RFC 1337: the table is full. TIME-WAIT keeps old
         * duplicates of this 4-tuple from a new incarnation and keeps the
         * last ACK repeatable; ending one early is the least harmful on
         * the oldest record: its 2 MSL is nearly over, so its old segments
         * have nearly all died out; a new incarnation of its 4-tuple gets
         * an ISN from the RFC 6528 clock, which has moved on since, above
         * the old sequence space for all but the fastest connections; and
         * with timestamps, PAWS (RFC 7323 5) discards what is left. The
         * alternative, refusing the connection that closes (or, for a
         * server that closes first, new clients), is worse. */
        st->stats.tcp.time_wait_recycled++;
        tcp_mini_tw_end(st, st->tcp->mini_lists[LIST_TW].head,
                        "RFC 6191 / RFC 1337: TIME-WAIT table full -> oldest record recycled");
        i = rec_alloc(st, POOL_TW);
    }
    struct tcp_mini *m = rec_at(st, i);
    if (m == NULL) {
        return; /* no record at all: the TCB keeps its TIME-WAIT itself */
    }
    m->local_addr = tcb->local_addr;
    m->local_port = tcb->local_port;
    m->remote_addr = tcb->remote_addr;
    m->remote_port = tcb->remote_port;
    m->snd_nxt = tcb->snd_nxt;
    m->rcv_nxt = tcb->rcv_nxt;
    m->ts_recent = tcb->ts_recent;
    m->wnd = tcb->max_snd_wnd;
    m->tos = tcb->tos;
    m->flags = (uint8_t)((tcb->ts_ok ? TCP_MINI_TS : 0) | (tcb->ws_ok ? TCP_MINI_WS : 0) |
                         (tcb->sack_ok ? TCP_MINI_SACK : 0));
    m->wscale = (uint8_t)((tcb->snd_wscale & 15) << 4 | (tcb->rcv_wscale & 15));
    reply_budget_store(m, tcb);
    m->expires_ns = tcp_tmr_armed(tcb, TCP_TMR_TW) ? tcp_tmr_when(tcb, TCP_TMR_TW)
                                                   : st->now_ns + 2 * st->cfg.tcp.msl_ns;
    tcp_timers_cancel(st, tcb);
    if (tcb->in_hash) {
        tcp_hash_remove(st, tcb);
    }
    hash_insert(st, m);
    list_append(st, m);
    if (tcb->role == TCP_ROLE_USER && !tcb->user_released) {
        /* The user holds the id: the TCB stays, a husk showing TIME-WAIT. */
        m->owner = tcp_tcb_slot(st, tcb);
        tcb->tw_rec = i;
    } else {
        tcp_tcb_free(st, tcb);
    }
    timer_update(st);
}

void
tcp_mini_husk_gone(struct tern_stack *st, struct tcp_tcb *husk, bool drop)
{
    int i = husk->tw_rec;
    husk->tw_rec = -1;
    struct tcp_mini *m = rec_at(st, i);
    if (m == NULL || m->kind != TCP_MINI_TW || m->owner != tcp_tcb_slot(st, husk)) {
        return;
    }
    m->owner = -1;
    if (drop) {
        tw_delete(st, i);
        timer_update(st);
    }
}

void
tcp_mini_tw_park(struct tern_stack *st, int i)
{
    struct tcp_mini *m = rec_at(st, i);
    if (m != NULL && m->kind == TCP_MINI_TW && (m->flags & TCP_MINI_IN_HASH)) {
        hash_remove(st, m);
    }
}

void(tcp_mini_tw_unpark)(struct tern_stack *st, int i, const char *rule)
{
    struct tcp_mini *m = rec_at(st, i);
    if (m == NULL || m->kind != TCP_MINI_TW || (m->flags & TCP_MINI_IN_HASH)) {
        return;
    }
    /* RFC 9293 3.6 MAY-2 (2): the old incarnation goes back to TIME-WAIT,
     * its 2 MSL still running. */
    m->link = -1;
    hash_insert(st, m);
    rec_trace(st, TERN_TRACE_EVENT, i, TERN_TCP_TIME_WAIT, TERN_TCP_TIME_WAIT, rule);
}

/* ---- SYN cache ---- */

/* Deletes embryonic record i; a TIME-WAIT record it had parked returns. */
static void(syn_delete)(struct tern_stack *st, int i, const char *unpark_rule)
{
    struct tcp_mini *m = rec_at(st, i);
    if (m == NULL || m->kind != TCP_MINI_SYN) {
        return;
    }
    int tw = m->link;
    rec_free(st, i);
    if (tw >= 0) {
        tcp_mini_tw_unpark(st, tw, unpark_rule);
    }
}

struct tcp_tcb *
tcp_mini_syn_begin(struct tern_stack *st, struct tcp_tcb *lst, int *rec)
{
    int i = rec_alloc(st, POOL_SYN);
    *rec = i;
    if (i < 0) {
        return NULL;
    }
    struct tcp_tcb *s = scratch_fresh(st, rec_id(st, i));
    st->tcp->scratch_rec = i;
    scratch_from_listener(st, s, lst);
    return s;
}

void
tcp_mini_syn_store(struct tern_stack *st, int i, int parked_tw, uint16_t peer_mss)
{
    struct tcp_mini *m = rec_at(st, i);
    struct tcp_tcb *s = &st->tcp->scratch;
    m->local_addr = s->local_addr;
    m->local_port = s->local_port;
    m->remote_addr = s->remote_addr;
    m->remote_port = s->remote_port;
    m->snd_nxt = s->snd_nxt;
    m->rcv_nxt = s->rcv_nxt;
    m->ts_recent = s->ts_recent;
    uint32_t announced = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
    m->wnd = (announced > 65535u ? 65535u : announced) << 16 | peer_mss;
    m->tos = s->tos;
    m->flags = (uint8_t)((s->ts_ok ? TCP_MINI_TS : 0) | (s->ws_ok ? TCP_MINI_WS : 0) |
                         (s->sack_ok ? TCP_MINI_SACK : 0) | (s->ecn_ok ? TCP_MINI_ECN : 0));
    m->wscale = (uint8_t)((s->snd_wscale & 15) << 4 | (s->rcv_wscale & 15));
    m->retries = 0;
    m->owner = s->listener;
    m->link = parked_tw;
    struct tcp_mini *tw = rec_at(st, parked_tw);
    if (tw != NULL) {
        tw->link = i;
    }
    m->expires_ns = st->now_ns + syn_interval(st, 0);
    hash_insert(st, m);
    list_append(st, m);
    scratch_timers_clear(st);
    st->tcp->scratch_rec = -1;
    timer_update(st);
}

struct tcp_tcb *
tcp_mini_promote(struct tern_stack *st, struct tcp_tcb *s, const struct tcp_seg *seg)
{
    struct tcp_tcb *lst = tcp_tcb_at(st, s->listener);
    if (lst == NULL || lst->state != TERN_TCP_LISTEN) {
        tcp_drop(st, s, seg, TERN_DROP_TCP_NO_CONN);
        return NULL;
    }
    /* The backlog counts completed connections waiting for ACCEPT (as
     * Linux does): with the queue full the ACK is dropped and the record
     * kept, so that a retransmission completes the handshake later. */
    if (lst->n_pending >= lst->backlog) {
        tcp_drop(st, s, seg, TERN_DROP_TCP_BACKLOG_FULL);
        return NULL;
    }
    struct tcp_tcb *real = tcp_tcb_alloc(st);
    if (real == NULL) {
        tcp_drop(st, s, seg, TERN_DROP_TCP_TABLE_FULL);
        return NULL;
    }
    int id = real->id;
    *real = *s; /* the scratch's chains are empty: nothing of the pool changes hands */
    real->id = id;
    real->mem_listed = false;
    real->mem_next = -1;
    tcp_timers_init(real); /* the slot's own wheel timer; the scratch had deadlines only */
    real->role = TCP_ROLE_CHILD;
    real->in_hash = false;
    real->hash_next = -1;
    real->ev_pending = 0;
    real->ev_listed = false;
    real->ev_next = -1;
    real->accept_next = real->accept_head = real->accept_tail = -1;
    real->queued_for_accept = false;
    real->tw_rec = -1;
    real->tw_parked = -1;
    real->listener = tcp_tcb_slot(st, lst);
    real->cb = lst->cb;
    real->cb_ctx = lst->cb_ctx;
    real->user_timeout_ns = lst->user_timeout_ns;
    real->nodelay = lst->nodelay;
    real->keepalive = lst->keepalive;
    real->tos = lst->tos;
    real->keep_idle_ms = lst->keep_idle_ms;
    real->keep_intvl_ms = lst->keep_intvl_ms;
    real->keep_count = lst->keep_count;
    real->use_cubic = lst->use_cubic;
    /* The window our SYN,ACK announced gets its memory now (buf.c); a
     * record reserves none, or a SYN flood would drain the pool. */
    tcp_buf_rcv_reserve(st, real, real->rcv_adv);
    lst->n_pending++;
    tcp_hash_insert(st, real);
    struct tcp_mini *m = rec_at(st, st->tcp->scratch_rec);
    if (m != NULL && m->kind == TCP_MINI_SYN) {
        int tw = m->link;
        struct tcp_mini *twm = rec_at(st, tw);
        if (twm != NULL && twm->kind == TCP_MINI_TW && twm->link == st->tcp->scratch_rec) {
            twm->link = -1;
            real->tw_parked = tw; /* ended by tcp_on_established */
        }
        rec_free(st, st->tcp->scratch_rec);
        timer_update(st);
    }
    st->tcp->scratch_rec = -1;
    tcp_trace_note(st, TERN_TRACE_EVENT, real,
                   "RFC 9293 3.10.7.4 fifth: handshake complete -> the embryonic connection gets a "
                   "TCB");
    return real;
}

void
tcp_mini_listener_closed(struct tern_stack *st, struct tcp_tcb *lst)
{
    int slot = tcp_tcb_slot(st, lst);
    if (st->tcp->mini_used[POOL_SYN] == 0) {
        return;
    }
    for (unsigned i = st->tcp->n_tw; i < st->tcp->n_minis; i++) {
        struct tcp_mini *m = &st->tcp->minis[i];
        if (m->kind != TCP_MINI_SYN || m->owner != slot) {
            continue;
        }
        struct tcp_tcb *s = tcp_mini_load(st, m);
        /* RFC 9293 3.10.4/3.10.5: a CLOSE in LISTEN aborts what is pending. */
        tcp_send_segment(st, s, s->snd_nxt, WIRE_TCP_RST, 0,
                         "RFC 9293 3.10.5: ABORT -> <SEQ=SND.NXT><CTL=RST>");
        tcp_set_state(st, s, TERN_TCP_CLOSED,
                      "RFC 9293 3.10.4: listener closed -> its unaccepted connections aborted");
        scratch_timers_clear(st);
        syn_delete(st, (int)i, "RFC 1122 4.2.2.13: new incarnation failed -> back to TIME-WAIT");
    }
    timer_update(st);
}

/* ---- after the scratch ran ---- */

void
tcp_mini_settle(struct tern_stack *st, struct tcp_mini *m)
{
    struct tcp_tcb *s = &st->tcp->scratch;
    int i = tcp_mini_index(st, m);
    /* On the scratch TCB a timer is only a deadline (tcp_tmr_set). */
    int64_t tw_at = tcp_tmr_when(s, TCP_TMR_TW);
    scratch_timers_clear(st);
    st->tcp->scratch_rec = -1;
    if (m->kind == TCP_MINI_TW) {
        if (s->state == TERN_TCP_TIME_WAIT) {
            m->rcv_nxt = s->rcv_nxt;
            m->snd_nxt = s->snd_nxt;
            m->ts_recent = s->ts_recent;
            m->wnd = s->max_snd_wnd;
            reply_budget_store(m, s);
            struct tcp_tcb *husk = tcp_tcb_at(st, m->owner);
            if (husk != NULL) {
                /* The husk shows what the record's state machine did. */
                husk->rcv_nxt = s->rcv_nxt;
                husk->ts_recent = s->ts_recent;
                if (s->ev_pending != 0) {
                    tcp_event(st, husk, s->ev_pending);
                }
            }
            if (tw_at != INT64_MAX) {
                /* 2 MSL restarted (3.10.7.4): to the list's tail. */
                list_unlink(st, m);
                m->expires_ns = tw_at;
                list_append(st, m);
            }
        } else {
            int husk = tw_delete(st, i);
            if (husk >= 0) {
                husk_close(st, husk, s->error, NULL);
            }
        }
    } else if (m->kind == TCP_MINI_SYN) {
        if (s->state == TERN_TCP_SYN_RECEIVED) {
            m->ts_recent = s->ts_recent;
            reply_budget_store(m, s);
        } else {
            syn_delete(
                st, i,
                s->state == TERN_TCP_LISTEN
                    ? TERN_RULE("RFC 1122 4.2.2.13: the SYN was an old duplicate -> TIME-WAIT")
                    : TERN_RULE("RFC 1122 4.2.2.13: new incarnation failed -> back to TIME-WAIT"));
        }
    }
    timer_update(st);
}

/* ---- expiry ---- */

static void
expire_one(struct tern_stack *st, int i)
{
    struct tcp_mini *m = &st->tcp->minis[i];
    if (m->kind == TCP_MINI_TW) {
        tcp_mini_tw_end(st, i, "RFC 9293 3.10.8: TIME-WAIT timeout (2 MSL) -> CLOSED");
        return;
    }
    if (m->retries >= st->cfg.tcp.synack_retries) {
        st->stats.tcp.timeouts++;
        st->stats.tcp.syn_cache_expired++;
        rec_trace(st, TERN_TRACE_STATE, i, TERN_TCP_SYN_RECEIVED, TERN_TCP_CLOSED,
                  "RFC 9293 3.8.3: SYN,ACK retransmitted synack_retries times -> record deleted");
        syn_delete(st, i, "RFC 1122 4.2.2.13: new incarnation failed -> back to TIME-WAIT");
        return;
    }
    struct tcp_tcb *s = tcp_mini_load(st, m);
    tcp_trace_note(st, TERN_TRACE_TIMER, s, "RFC 6298 5: retransmission timer expired");
    s->retries++;
    tcp_retransmit(st, s);
    tcp_trace_note(st, TERN_TRACE_TIMER, s,
                   "RFC 6298 5.5 (MUST-19): back off the timer, RTO <- RTO * 2 (2.5 cap)");
    scratch_timers_clear(st);
    st->tcp->scratch_rec = -1;
    list_unlink(st, m);
    m->retries++;
    m->expires_ns = st->now_ns + syn_interval(st, m->retries);
    list_append(st, m);
}

static void
mini_expired(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    (void)t;
    for (;;) {
        int e = earliest(st);
        if (e < 0 || st->tcp->minis[e].expires_ns > now_ns) {
            break;
        }
        expire_one(st, e);
    }
    timer_update(st);
    tcp_deliver_events(st);
}

/* ---- ICMP, ports ---- */

bool
tcp_mini_icmp(struct tern_stack *st, struct tern_ip laddr, uint16_t lport, struct tern_ip raddr,
              uint16_t rport, uint32_t seq, bool hard)
{
    struct tcp_mini *m = tcp_mini_find(st, laddr, lport, raddr, rport);
    if (m == NULL) {
        return false;
    }
    int i = tcp_mini_index(st, m);
    /* RFC 5927 4.1: only an error quoting what is in flight counts; in
     * TIME-WAIT nothing is, in SYN-RECEIVED only the SYN,ACK (SEQ = ISS). */
    if (m->kind != TCP_MINI_SYN || seq != m->snd_nxt - 1) {
        st->stats.drops[TERN_DROP_TCP_ICMP_BAD_SEQ]++;
        rec_trace(st, TERN_TRACE_DROP, i, TERN_TCP_SYN_RECEIVED, TERN_TCP_SYN_RECEIVED,
                  tern_drop_rule(TERN_DROP_TCP_ICMP_BAD_SEQ));
        return true;
    }
    if (!hard) {
        st->stats.tcp.icmp_soft++; /* MUST-56: no abort; a record keeps no error */
        rec_trace(st, TERN_TRACE_EVENT, i, TERN_TCP_SYN_RECEIVED, TERN_TCP_SYN_RECEIVED,
                  "RFC 9293 3.9.2.2 (MUST-56): soft ICMP error, no abort");
        return true;
    }
    st->stats.tcp.icmp_hard++;
    st->stats.tcp.attempt_fails++;
    rec_trace(st, TERN_TRACE_STATE, i, TERN_TCP_SYN_RECEIVED, TERN_TCP_CLOSED,
              "RFC 9293 3.9.2.2 (SHLD-26): hard ICMP error while opening -> CLOSED");
    syn_delete(st, i, "RFC 1122 4.2.2.13: new incarnation failed -> back to TIME-WAIT");
    timer_update(st);
    return true;
}

unsigned
tcp_mini_port_use(const struct tern_stack *st, struct tern_ip addr, uint16_t port, bool v6only)
{
    if (st->tcp->mini_used[POOL_TW] + st->tcp->mini_used[POOL_SYN] == 0) {
        return 0;
    }
    for (unsigned i = 0; i < st->tcp->n_minis; i++) {
        const struct tcp_mini *m = &st->tcp->minis[i];
        if (m->kind == TCP_MINI_FREE || m->local_port != port) {
            continue;
        }
        if (!tcp_port_overlap(addr, v6only, m->local_addr, false)) {
            continue;
        }
        return TERN_TCP_PORT_CONN;
    }
    return 0;
}

/* ---- SYN cookies (RFC 4987 3.6) ----
 *
 * ISS = MAC (24 bits) | time counter mod 32 (5 bits) | MSS index (3 bits).
 * The MAC is SipHash under the stack's key (its own domain byte) over the
 * 4-tuple, the peer's ISN and the full 64-second counter. With timestamps,
 * our TSval's low 5 bits carry the peer's window shift (15: none) and
 * SACK-permitted, and come back in the ACK's TSecr; the TSval is the TS
 * clock rounded down to fit them, never above it, so our TSvals stay
 * monotonic for the peer's PAWS. Without timestamps nothing else can be
 * kept: the SYN,ACK offers neither window scaling nor SACK, and the
 * connection goes without them (RFC 4987's trade-off). */

static uint32_t
cookie_mac(const struct tern_stack *st, const struct tcp_seg *seg, uint32_t peer_isn, uint64_t t)
{
    /* IPv4: 4-byte addresses (25 bytes in all); else the 16-byte forms,
     * the domain byte's top bit set (49 bytes). */
    uint8_t b[49];
    size_t alen = 4;
    if (tern_ip_is4(seg->dst) && tern_ip_is4(seg->src)) {
        b[0] = TCP_HASH_COOKIE;
        memcpy(b + 1, seg->dst.b + 12, 4);
        memcpy(b + 5, seg->src.b + 12, 4);
    } else {
        alen = 16;
        b[0] = TCP_HASH_COOKIE | 0x80;
        memcpy(b + 1, seg->dst.b, 16);
        memcpy(b + 17, seg->src.b, 16);
    }
    uint8_t *p = b + 1 + 2 * alen;
    for (int k = 0; k < 4; k++) {
        p[k] = (uint8_t)(peer_isn >> (24 - 8 * k));
    }
    p[4] = (uint8_t)(seg->dport >> 8);
    p[5] = (uint8_t)seg->dport;
    p[6] = (uint8_t)(seg->sport >> 8);
    p[7] = (uint8_t)seg->sport;
    for (int k = 0; k < 8; k++) {
        p[8 + k] = (uint8_t)(t >> (56 - 8 * k));
    }
    return (uint32_t)siphash24(st->hash_key, b, (size_t)(p + 16 - b)) & 0xffffffu;
}

static uint64_t
cookie_clock(const struct tern_stack *st)
{
    return (uint64_t)(st->now_ns / COOKIE_PERIOD_NS);
}

void
tcp_cookie_send(struct tern_stack *st, struct tcp_tcb *lst, const struct tcp_seg *seg)
{
    const struct tern_tcp_config *c = &st->cfg.tcp;
    const struct wire_tcp_opts *o = seg->opts;
    struct tcp_tcb *s = scratch_fresh(st, cookie_id(st));
    scratch_from_listener(st, s, lst);
    s->local_addr = seg->dst;
    s->local_port = seg->dport;
    s->remote_addr = seg->src;
    s->remote_port = seg->sport;
    s->irs = seg->seq;
    s->rcv_nxt = seg->seq + 1;
    s->rcv_adv = s->rcv_nxt;
    s->rcv_wnd = tcp_rcv_window(st, s);
    uint32_t peer = seg->has_mss            ? seg->mss
                    : tern_ip_is4(seg->src) ? TCP_DEFAULT_MSS
                                            : TCP_DEFAULT_MSS6; /* MUST-15 */
    unsigned idx = 0;
    for (unsigned k = 0; k < 8; k++) {
        if (cookie_mss[k] <= peer) {
            idx = k;
        }
    }
    uint64_t t = cookie_clock(st);
    s->iss = cookie_mac(st, seg, seg->seq, t) << 8 | (uint32_t)(t & 31) << 3 | idx;
    s->snd_una = s->iss;
    s->snd_nxt = s->iss + 1;
    s->passive_open = true;
    tcp_set_mss(st, s, cookie_mss[idx], 0);
    bool ts = !c->no_timestamps && o != NULL && o->has_ts;
    s->ts_ok = ts;
    s->ws_ok = ts && !c->no_wscale && o->has_wscale;
    s->sack_ok = ts && !c->no_sack && o->sack_permitted;
    s->snd_wscale = s->ws_ok ? (o->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o->wscale) : 0;
    s->rcv_wscale = s->ws_ok ? tcp_wscale_for(st->cfg.tcp.rcvbuf) : 0;
    if (ts) {
        s->ts_recent = o->ts_val;
        uint32_t bits = (uint32_t)(s->ws_ok ? s->snd_wscale : 15) | (s->sack_ok ? 16u : 0u);
        uint32_t now = tcp_ts_now(st);
        uint32_t v = (now & ~31u) | bits;
        st->tcp->ts_override = true;
        st->tcp->ts_override_val = seq_gt(v, now) ? v - 32 : v;
    }
    tcp_state_restore(s, TERN_TCP_SYN_RECEIVED);
    st->stats.tcp.cookies_sent++;
    st->tcp->cookies_used = true;
    st->tcp->cookie_last_ns = st->now_ns;
    tcp_send_segment(st, s, s->iss, WIRE_TCP_SYN | WIRE_TCP_ACK, 0,
                     "RFC 4987 3.6: SYN cache full -> <SEQ=cookie><ACK=RCV.NXT><CTL=SYN,ACK>, "
                     "no state kept");
    st->tcp->ts_override = false;
    scratch_timers_clear(st);
}

struct tcp_tcb *
tcp_cookie_open(struct tern_stack *st, struct tcp_tcb *lst, const struct tcp_seg *seg)
{
    const struct tern_tcp_config *c = &st->cfg.tcp;
    /* Only while cookies have been sent recently: otherwise an ACK in
     * LISTEN is what 3.10.7.2 says, and costs no hash. */
    if (!st->tcp->cookies_used ||
        st->now_ns - st->tcp->cookie_last_ns > (COOKIE_MAX_AGE + 1) * COOKIE_PERIOD_NS ||
        (seg->flags & (WIRE_TCP_SYN | WIRE_TCP_RST)) || !(seg->flags & WIRE_TCP_ACK)) {
        return NULL;
    }
    uint32_t iss = seg->ack - 1, peer_isn = seg->seq - 1;
    uint64_t now_t = cookie_clock(st);
    uint64_t age = (now_t - ((iss >> 3) & 31)) & 31;
    if (age > COOKIE_MAX_AGE || age > now_t ||
        cookie_mac(st, seg, peer_isn, now_t - age) != iss >> 8) {
        st->stats.tcp.cookies_rejected++;
        tcp_trace_note(
            st, TERN_TRACE_EVENT, lst,
            "RFC 4987 3.6: ACK in LISTEN without a valid SYN cookie (forged or expired)");
        return NULL;
    }
    const struct wire_tcp_opts *o = seg->opts;
    struct tcp_tcb *s = scratch_fresh(st, cookie_id(st));
    scratch_from_listener(st, s, lst);
    s->local_addr = seg->dst;
    s->local_port = seg->dport;
    s->remote_addr = seg->src;
    s->remote_port = seg->sport;
    s->iss = iss;
    s->snd_una = iss;
    s->snd_nxt = iss + 1;
    tcp_buf_snd_start(s, iss + 1);
    tcp_buf_rcv_start(s, seg->seq);
    s->irs = peer_isn;
    s->rcv_nxt = seg->seq;
    s->rcv_wnd = tcp_rcv_window(st, s);
    s->rcv_wnd = s->rcv_wnd > 65535u ? 65535u : s->rcv_wnd; /* at most what a SYN,ACK says */
    s->rcv_adv = s->rcv_nxt + s->rcv_wnd;
    s->last_ack_sent = s->rcv_nxt;
    s->snd_wl1 = peer_isn;
    s->passive_open = true;
    tcp_set_mss(st, s, cookie_mss[iss & 7], 0);
    s->ts_ok = !c->no_timestamps && o != NULL && o->has_ts;
    s->ws_ok = s->sack_ok = false;
    s->snd_wscale = s->rcv_wscale = 0;
    if (s->ts_ok) {
        uint32_t bits = o->ts_ecr & 31;
        s->ts_recent = o->ts_val;
        s->ws_ok = (bits & 15) != 15 && !c->no_wscale;
        s->snd_wscale =
            s->ws_ok ? (uint8_t)((bits & 15) > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : (bits & 15)) : 0;
        s->rcv_wscale = s->ws_ok ? tcp_wscale_for(st->cfg.tcp.rcvbuf) : 0;
        s->sack_ok = (bits & 16) != 0 && !c->no_sack;
    }
    s->opened_ns = INT64_MIN; /* the SYN,ACK's time is unknown: no RTT sample */
    tcp_state_restore(s, TERN_TCP_SYN_RECEIVED);
    st->stats.tcp.cookies_accepted++;
    st->stats.tcp.passive_opens++;
    tcp_trace_note(st, TERN_TRACE_EVENT, s,
                   "RFC 4987 3.6: ACK carries a valid SYN cookie -> SYN-RECEIVED rebuilt from it");
    return s;
}

/* ---- setup ---- */

int
tcp_mini_init(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    const struct tern_tcp_config *c = &st->cfg.tcp;
    unsigned n_tw = c->time_wait_max != 0 ? c->time_wait_max : MINI_DEFAULT;
    unsigned n_syn = c->syn_cache_max != 0 ? c->syn_cache_max : MINI_DEFAULT;
    t->n_tw = n_tw;
    t->n_minis = n_tw + n_syn;
    t->n_mini_buckets = 1;
    while (t->n_mini_buckets < t->n_minis) {
        t->n_mini_buckets <<= 1;
    }
    t->minis = stack_alloc(st, sizeof(*t->minis) * t->n_minis);
    t->mini_buckets = stack_alloc(st, sizeof(*t->mini_buckets) * t->n_mini_buckets);
    timer_init(&t->mini_timer, mini_expired);
    memset(&t->scratch, 0, sizeof(t->scratch));
    tcp_timers_init(&t->scratch);
    t->scratch.role = TCP_ROLE_SCRATCH;
    t->scratch_rec = -1;
    for (unsigned l = 0; l < TCP_MINI_LISTS; l++) {
        t->mini_lists[l].head = t->mini_lists[l].tail = -1;
    }
    t->mini_free[POOL_TW] = t->mini_free[POOL_SYN] = -1;
    if (t->minis == NULL || t->mini_buckets == NULL) {
        return TERN_ERR_NOMEM;
    }
    for (unsigned i = 0; i < t->n_mini_buckets; i++) {
        t->mini_buckets[i] = -1;
    }
    for (unsigned i = t->n_minis; i-- > 0;) {
        int pool = i < n_tw ? POOL_TW : POOL_SYN;
        t->minis[i].kind = TCP_MINI_FREE;
        t->minis[i].next = t->mini_free[pool];
        t->mini_free[pool] = (int32_t)i;
    }
    return TERN_OK;
}

void
tcp_mini_fini(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    if (t->minis != NULL) {
        timer_cancel(&st->timers, &t->mini_timer);
        tcp_timers_cancel(st, &t->scratch);
    }
    stack_dealloc(st, t->minis, sizeof(*t->minis) * t->n_minis);
    stack_dealloc(st, t->mini_buckets, sizeof(*t->mini_buckets) * t->n_mini_buckets);
    t->minis = NULL;
    t->mini_buckets = NULL;
}
