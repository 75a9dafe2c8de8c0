/*
 * src/tcp/buf.c: a connection's send and receive buffers, on the stack's
 * buffer pool (src/core/pool.h).
 *
 * Both buffers are chains of pool chunks addressed by sequence numbers: the
 * send chain holds the text from the oldest unacknowledged byte (its start)
 * to the last byte SEND queued; the receive chain holds the text the user
 * has not read (start .. RCV.NXT) and, beyond it at their own sequence
 * numbers, the segments that arrived out of order. A connection holds
 * chunks only while it has bytes queued or held: an idle connection holds
 * none.
 *
 * The receive guarantee. Text that arrives inside the window we advertised
 * is never dropped for lack of memory. So the window we announce is never
 * larger than the memory we can promise (the pool's available chunks), and
 * every announcement reserves the chunks behind its right edge (RCV.ADV)
 * in the pool (pool_reserve): from then on only this connection may take
 * them. Text inside the window takes its chunks from that reservation.
 * Under pressure the announced window therefore grows less, and, as RFC
 * 9293 3.8.6 (SHLD-14) asks, never shrinks: a right edge once announced
 * stays reserved. Counters: tcp.rcv_wnd_mem_limited.
 *
 * The send side takes unreserved chunks at SEND. When the pool has none,
 * SEND queues less (or nothing: TERN_ERR_AGAIN's socket equivalent is
 * EAGAIN) and the connection waits for memory: when chunks come back it
 * is told WRITABLE again (tcp.snd_mem_blocked counts the short SENDs).
 *
 * Growth (issue 10 item 2). The receive buffer of a connection starts at
 * its part of half the pool with the table full (pool_bytes / 2 /
 * max_connections, at least one chunk, at most 64 KiB and rcvbuf) and
 * doubles, up to cfg.tcp.rcvbuf, each RTT in which three quarters of a
 * buffer's worth of text arrived while the user kept up with reading: a
 * window-limited sender and a reader that keeps up. It starts small
 * because a window, once announced, holds its memory until the peer fills
 * it: idle connections must not pin the pool. The send buffer
 * allows max(TCP_BUF_INITIAL, 2 * cwnd) bytes, up to cfg.tcp.sndbuf: twice
 * what the congestion window lets fly, as Linux sizes its send buffer, so
 * that a 64 KiB write on a fresh connection returns at once.
 */
#include "tcp/tcp.h"

#include "core/pool.h"
#include <string.h>

#include "core/core.h"
#include "tcp/seq.h"

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

void
tcp_buf_init(struct tern_stack *st, struct tcp_tcb *tcb)
{
    chain_init(&tcb->snd, 0);
    chain_init(&tcb->rcv, 0);
    tcb->rcv_reserved = 0;
    tcb->rcv_cap = st->tcp->rcv_first;
    tcb->rcv_mark_ms = 0;
    tcb->rcv_mark_seq = 0;
}

void
tcp_buf_free(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcp_sender_put(st, tcb);
    tcp_ooo_resize(st, tcb, 0);
    bool had = tcb->snd.n_chunks > 0 || tcb->rcv.n_chunks > 0 || tcb->rcv_reserved > 0;
    st->tcp->snd_chunks -= tcb->snd.n_chunks;
    chain_free(&st->pool, &tcb->snd);
    chain_free(&st->pool, &tcb->rcv);
    pool_unreserve(&st->pool, tcb->rcv_reserved);
    tcb->rcv_reserved = 0;
    if (had) {
        tcp_mem_wake(st);
    }
}

void
tcp_buf_snd_flush(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcp_sender_put(st, tcb);
    if (tcb->snd.n_chunks > 0) {
        st->tcp->snd_chunks -= tcb->snd.n_chunks;
        chain_free(&st->pool, &tcb->snd);
        tcp_mem_wake(st);
    }
    chain_init(&tcb->snd, tcb->snd.start + tcb->snd.len);
}

/* RFC 9293 3.8.5: RCV.UP is kept at or ahead of the next octet the user
 * reads; once the reader passes it, urgent mode is over and the pointer
 * follows the reader (so that it never falls 2^31 behind and wraps). */
static void
urg_follow(struct tcp_tcb *tcb)
{
    if (seq_lt(tcb->rcv_up, tcb->rcv.start)) {
        tcb->rcv_up = tcb->rcv.start;
    }
}

void
tcp_buf_rcv_flush(struct tern_stack *st, struct tcp_tcb *tcb)
{
    uint32_t end = tcb->rcv.start + tcb->rcv.len;
    if (tcb->rcv.n_chunks > 0 || tcb->rcv_reserved > 0) {
        chain_free(&st->pool, &tcb->rcv);
        pool_unreserve(&st->pool, tcb->rcv_reserved);
        tcb->rcv_reserved = 0;
        tcp_mem_wake(st);
    }
    chain_init(&tcb->rcv, end);
    urg_follow(tcb);
}

void
tcp_buf_rcv_drop_ooo(struct tern_stack *st, struct tcp_tcb *tcb)
{
    uint32_t before = tcb->rcv.n_chunks;
    tcp_ooo_resize(st, tcb, 0);
    tcb->ooo_fin = false;
    chain_drop(&st->pool, &tcb->rcv, 0, false); /* chunks past the in-order text */
    if (tcb->rcv.n_chunks < before) {
        tcp_mem_wake(st);
    }
}

/* ---- out-of-order ranges ---- */

/* Choice: RFC 2018 8 lets a receiver renege, forgetting data it SACKed,
 * but the sender then waits for its retransmission timer to resend what it
 * believes delivered. Four ranges in the TCB keep an idle connection small;
 * under heavy reordering (a hole every few segments) they overflow, so the
 * ranges move to a chunk of the pool while there are more, and the oldest
 * is forgotten only when the pool has no chunk to spare. */
static bool
ooo_ext(const struct tcp_tcb *tcb)
{
    return tcb->n_ooo > TCP_OOO_MAX;
}

struct tcp_range *
tcp_ooo(const struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (ooo_ext(tcb)) {
        return (struct tcp_range *)(void *)pool_data(&st->pool, tcb->ooo_chunk);
    }
    return tcb->ooo;
}

const struct tcp_range *
tcp_ooo_const(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    if (ooo_ext(tcb)) {
        return (const struct tcp_range *)(const void *)pool_data(&st->pool, tcb->ooo_chunk);
    }
    return tcb->ooo;
}

unsigned
tcp_ooo_cap(const struct tcp_tcb *tcb)
{
    return ooo_ext(tcb) ? TCP_OOO_EXT_MAX : TCP_OOO_MAX;
}

struct tcp_range *
tcp_ooo_grow(struct tern_stack *st, struct tcp_tcb *tcb)
{
    _Static_assert(TCP_OOO_EXT_MAX * sizeof(struct tcp_range) <= POOL_CHUNK,
                   "the ranges fit a chunk");
    _Static_assert(TCP_OOO_EXT_MAX <= UINT8_MAX, "n_ooo counts them");
    if (tcb->n_ooo != TCP_OOO_MAX || pool_avail(&st->pool) == 0) {
        return NULL;
    }
    uint32_t c = pool_take(&st->pool, NULL);
    if (c == POOL_NIL) {
        return NULL;
    }
    struct tcp_range *r = (struct tcp_range *)(void *)pool_data(&st->pool, c);
    memcpy(r, tcb->ooo, sizeof(tcb->ooo));
    tcb->ooo_chunk = c; /* from here on the union holds the chunk's index */
    tcb->n_ooo = TCP_OOO_MAX + 1;
    return r;
}

void
tcp_ooo_resize(struct tern_stack *st, struct tcp_tcb *tcb, unsigned n)
{
    if (ooo_ext(tcb) && n <= TCP_OOO_MAX) {
        uint32_t c = tcb->ooo_chunk;
        const struct tcp_range *r = (const struct tcp_range *)(void *)pool_data(&st->pool, c);
        memcpy(tcb->ooo, r, n * sizeof(r[0]));
        pool_give(&st->pool, c);
        tcp_mem_wake(st);
    }
    tcb->n_ooo = (uint8_t)n;
}

void
tcp_buf_rcv_stop(struct tern_stack *st, struct tcp_tcb *tcb)
{
    /* No more text will arrive: the promise behind the window is void. */
    if (tcb->rcv_reserved > 0) {
        pool_unreserve(&st->pool, tcb->rcv_reserved);
        tcb->rcv_reserved = 0;
        tcp_mem_wake(st);
    }
}

void
tcp_buf_snd_start(struct tcp_tcb *tcb, uint32_t seq)
{
    /* Text queued before the ISS was chosen (none today) would move. */
    chain_init(&tcb->snd, seq);
    tcb->snd_psh = seq; /* no SEND yet: no segment carries PSH */
}

void
tcp_buf_rcv_start(struct tcp_tcb *tcb, uint32_t seq)
{
    chain_init(&tcb->rcv, seq);
    tcb->rcv_mark_seq = seq;
    tcb->rcv_up = seq; /* no urgent data yet (RFC 9293 3.8.5) */
}

/* ---- send ---- */

uint32_t
tcp_snd_limit(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    uint32_t want = TCP_BUF_INITIAL;
    uint32_t cwnd = tcp_cwnd(tcb);
    if (tcb->cc_ready && cwnd > want / 2) {
        want = cwnd > UINT32_MAX / 2 ? UINT32_MAX : 2 * cwnd;
    }
    return min_u32(want, st->cfg.tcp.sndbuf);
}

/* Chunks send buffers may still take: all of them together hold at most
 * half the pool, so that queued text can never take the memory the
 * receive windows need to drain it (two stacks echoing to each other
 * would otherwise wait on each other for ever). */
static uint32_t
snd_chunks_allowed(const struct tern_stack *st)
{
    uint32_t half = st->pool.n / 2 > 0 ? st->pool.n / 2 : st->pool.n;
    uint32_t left = half > st->tcp->snd_chunks ? half - st->tcp->snd_chunks : 0;
    return min_u32(left, pool_avail(&st->pool));
}

uint32_t
tcp_snd_room(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    uint32_t limit = tcp_snd_limit(st, tcb);
    uint32_t room = limit > tcb->snd.len ? limit - tcb->snd.len : 0;
    /* Memory: the free tail of the last chunk, and the chunks allowed. */
    uint32_t end = tcb->snd.start + tcb->snd.len;
    uint32_t tail =
        tcb->snd.n_chunks > 0 ? tcb->snd.base + tcb->snd.n_chunks * POOL_CHUNK - end : 0;
    uint64_t mem = (uint64_t)tail + (uint64_t)snd_chunks_allowed(st) * POOL_CHUNK;
    return mem < room ? (uint32_t)mem : room;
}

uint32_t
tcp_buf_send(struct tern_stack *st, struct tcp_tcb *tcb, const uint8_t *data, uint32_t n)
{
    if (tcb->cc_ready && n > 0 && !tcp_sender_get(st, tcb)) {
        return 0; /* no memory even to send: wait for WRITABLE */
    }
    uint32_t limit = tcp_snd_limit(st, tcb);
    uint32_t room = limit > tcb->snd.len ? limit - tcb->snd.len : 0;
    uint32_t want = min_u32(n, room);
    uint32_t fit = tcp_snd_room(st, tcb);
    uint32_t before = tcb->snd.n_chunks;
    uint32_t done = chain_append(&st->pool, &tcb->snd, data, min_u32(want, fit), NULL);
    st->tcp->snd_chunks += tcb->snd.n_chunks - before;
    if (done < want) {
        /* The pool is dry: the caller sees a short SEND (or none) and is
         * told WRITABLE when memory comes back. */
        st->stats.tcp.snd_mem_blocked++;
        tcp_mem_wait(st, tcb);
    }
    return done;
}

void
tcp_buf_acked(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t n)
{
    uint32_t before = tcb->snd.n_chunks;
    chain_drop(&st->pool, &tcb->snd, n, false);
    if (tcb->snd.n_chunks < before) {
        st->tcp->snd_chunks -= before - tcb->snd.n_chunks;
        tcp_mem_wake(st);
    }
}

void
tcp_buf_read_text(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, uint8_t *out,
                  uint32_t n)
{
    chain_read(&st->pool, &tcb->snd, seq, out, n);
}

/* ---- the sender block ---- */

bool
tcp_sender_get(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->sx != NULL) {
        return true;
    }
    /* Not counted in the send half (snd_chunks): queued text must never
     * keep its own connection from sending it. */
    uint32_t c = pool_take(&st->pool, NULL);
    if (c == POOL_NIL) {
        st->stats.tcp.snd_mem_blocked++;
        tcp_mem_wait(st, tcb);
        return false;
    }
    _Static_assert(sizeof(struct tcp_sender) <= POOL_CHUNK, "a sender block fits a chunk");
    struct tcp_sender *x = (struct tcp_sender *)(void *)pool_data(&st->pool, c);
    memset(x, 0, sizeof(*x));
    /* Congestion control goes on from the saved window; the algorithm's
     * own state (CUBIC's epoch, W_max) starts afresh, as after an idle
     * period (RFC 9438 4.8 resets the epoch then too). */
    const struct tcp_cc_ops *ops = tcb->use_cubic ? &tcp_cc_cubic_ops : &tcp_cc_newreno_ops;
    tcp_cc_init(&x->cc, ops, tcp_smss(tcb), tcb->sack_ok, st->cfg.tcp.initial_window, st->now_ns);
    x->cc.cwnd = tcb->cwnd;
    x->cc.ssthresh = tcb->ssthresh;
    tcp_sack_sb_init(&x->sb);
    tcp_rack_init(&x->rack);
    x->rack_at = INT64_MAX;
    x->pto_at = INT64_MAX;
    x->undo_at = INT64_MAX;
    x->tlp_sampled = tcb->rtt.have_sample; /* RFC 8985 7.3 condition 2 */
    x->recover = tcb->iss;                 /* RFC 6582 3.2 step 1: as at the start */
    tcb->sx = x;
    return true;
}

void
tcp_sender_put(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->sx == NULL) {
        return;
    }
    tcb->cwnd = tcb->sx->cc.cwnd;
    tcb->ssthresh = tcb->sx->cc.ssthresh;
    size_t off = (size_t)((uint8_t *)tcb->sx - st->pool.mem);
    pool_give(&st->pool, (uint32_t)(off >> POOL_CHUNK_SHIFT));
    tcb->sx = NULL;
    tcp_mem_wake(st);
}

void
tcp_sender_idle(struct tern_stack *st, struct tcp_tcb *tcb)
{
    struct tcp_sender *x = tcb->sx;
    if (x == NULL || tcb->snd.len != 0 || tcb->snd_una != tcb->snd_nxt || x->in_recovery ||
        x->rtx_active) {
        return;
    }
    if (x->undo_valid && x->undo_retrans > 0) {
        /* RFC 3708 2: the D-SACKs that would show the episode spurious
         * usually come after the full ACK (the late original filled the
         * hole; the copy arrives second). The block, which holds the undo
         * state, waits for them, one RTO at most: a copy not answered
         * within an RTO of its sending counts as lost (RFC 6298 5), and
         * every copy went out before this ACK. */
        if (x->undo_at == INT64_MAX) {
            tcp_tmr_set(st, tcb, TCP_TMR_UNDO, st->now_ns + tcp_rtt_rto(&tcb->rtt));
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           "RFC 3708 2: all acknowledged, retransmissions not yet D-SACKed -> "
                           "undo state kept one RTO for the D-SACKs");
        }
        return;
    }
    tcp_sender_put(st, tcb);
}

/* ---- receive ---- */

uint32_t
tcp_rcv_window(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    if (tcb->fin_rcvd) {
        /* No text can follow the FIN: announce what the buffer has, backed
         * by nothing (tcp_send_segment reserves nothing then). */
        return tcb->rcv_cap > tcb->rcv.len ? tcb->rcv_cap - tcb->rcv.len : 0;
    }
    /* RFC 9293 3.8.6: offer the space the buffer has, as far as memory we
     * can promise reaches. */
    uint32_t cap_room = tcb->rcv_cap > tcb->rcv.len ? tcb->rcv_cap - tcb->rcv.len : 0;
    uint32_t end = tcb->rcv.start + tcb->rcv.len;
    uint32_t covered = tcb->rcv.n_chunks > 0 ? tcb->rcv.base + tcb->rcv.n_chunks * POOL_CHUNK : end;
    /* Fairness: a connection's receive memory (held and promised) grows
     * only up to its share of half the pool, so that the first
     * connections cannot leave the later ones a zero window. */
    uint32_t share = st->tcp->rcv_share; /* tcp_rcv_share_update */
    uint32_t mine = tcb->rcv.n_chunks + tcb->rcv_reserved;
    uint32_t more = share > mine ? min_u32(share - mine, pool_avail(&st->pool)) : 0;
    uint64_t mem = (uint64_t)(covered - end) + ((uint64_t)tcb->rcv_reserved + more) * POOL_CHUNK;
    return mem < cap_room ? (uint32_t)mem : cap_room;
}

void
tcp_buf_rcv_reserve(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t right_edge)
{
    if (tcb->role == TCP_ROLE_SCRATCH) {
        return; /* a compact record (mini.c) holds no memory; its promotion reserves */
    }
    uint32_t need = chain_chunks_needed(&tcb->rcv, right_edge);
    if (need < tcb->rcv_reserved) {
        /* More was promised for our SYN's window than its place needs. */
        pool_unreserve(&st->pool, tcb->rcv_reserved - need);
        tcb->rcv_reserved = need;
    } else if (need > tcb->rcv_reserved) {
        if (pool_reserve(&st->pool, need - tcb->rcv_reserved)) {
            tcb->rcv_reserved = need;
        } else {
            /* Cannot happen while announcements stay within
             * tcp_rcv_window(); counted if it does. */
            st->stats.tcp.rcv_reserve_fail++;
        }
    }
}

void
tcp_buf_rcv_reserve_count(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t wnd)
{
    if (tcb->role == TCP_ROLE_SCRATCH) {
        return;
    }
    /* Our SYN announces a window before the peer's ISN is known. The
     * receive chain will start at IRS + 1 (tcp_buf_rcv_start), where its
     * first chunk begins, so the window needs exactly its own chunks: no
     * more (with many connections opening at once, a chunk more each,
     * even behind a zero window, promised the whole pool away). */
    uint32_t need = (uint32_t)(((uint64_t)wnd + POOL_CHUNK - 1) >> POOL_CHUNK_SHIFT);
    if (need > tcb->rcv_reserved) {
        if (pool_reserve(&st->pool, need - tcb->rcv_reserved)) {
            tcb->rcv_reserved = need;
        } else {
            st->stats.tcp.rcv_reserve_fail++;
        }
    }
}

uint32_t
tcp_buf_rcv_append(struct tern_stack *st, struct tcp_tcb *tcb, const uint8_t *text, uint32_t n)
{
    /* Short only for text beyond what we announced (the caller counts it). */
    uint32_t done = chain_append(&st->pool, &tcb->rcv, text, n, &tcb->rcv_reserved);
    /* Growth (RFC 7323 leaves window sizing to the implementation; the
     * measure is Linux's "dynamic right-sizing" in spirit): once per RTT,
     * compare the text received in that RTT with the buffer. Three
     * quarters of it or more (a segment less, for small buffers that fit
     * few segments) means the sender was held by our window, not
     * by its own pace: the buffer doubles, while the user keeps up. */
    int64_t rtt = tcb->rtt.have_sample ? tcb->rtt.srtt_ns : TCP_DELACK_DEFAULT_NS;
    uint32_t now_ms = tcp_ts_now(st);
    if ((int64_t)(uint32_t)(now_ms - tcb->rcv_mark_ms) * 1000000 >= rtt) {
        uint32_t got = tcb->rcv.start + tcb->rcv.len - tcb->rcv_mark_seq;
        uint32_t max = st->cfg.tcp.rcvbuf;
        uint32_t unread = tcb->rcv.len - done; /* what the user left before this text */
        if (got + tcb->rcv_mss >= tcb->rcv_cap / 4 * 3 && unread <= tcb->rcv_cap / 2 &&
            tcb->rcv_cap < max) {
            tcb->rcv_cap = tcb->rcv_cap > max / 2 ? max : 2 * tcb->rcv_cap;
        }
        tcb->rcv_mark_ms = now_ms;
        tcb->rcv_mark_seq = tcb->rcv.start + tcb->rcv.len;
    }
    return done;
}

bool
tcp_buf_rcv_put(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, const uint8_t *text,
                uint32_t n)
{
    return chain_put(&st->pool, &tcb->rcv, seq, text, n, &tcb->rcv_reserved);
}

/* After the user took n bytes: chunks go back, the promise behind the
 * announced window is kept whole, the buffer may grow. */
static void
rcv_taken(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t n)
{
    uint32_t before = tcb->rcv.n_chunks;
    chain_drop(&st->pool, &tcb->rcv, n, tcb->n_ooo > 0);
    urg_follow(tcb);
    if (tcb->rcv.n_chunks < before) {
        tcp_mem_wake(st);
    }
    if (seq_gt(tcb->rcv_adv, tcb->rcv.start + tcb->rcv.len) && !tcb->fin_rcvd) {
        /* Giving back a partly used chunk may leave part of the window
         * uncovered: reserve it again (the chunk just freed pays for it). */
        tcp_buf_rcv_reserve(st, tcb, tcb->rcv_adv);
    }
}

uint32_t
tcp_buf_recv(struct tern_stack *st, struct tcp_tcb *tcb, uint8_t *out, uint32_t n)
{
    n = min_u32(n, tcb->rcv.len);
    chain_read(&st->pool, &tcb->rcv, tcb->rcv.start, out, n);
    rcv_taken(st, tcb, n);
    return n;
}

void
tcp_buf_consume(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t n)
{
    rcv_taken(st, tcb, min_u32(n, tcb->rcv.len));
}

/* ---- waiting for memory ----
 *
 * Two kinds of connections wait for pool memory on one list: senders
 * whose text (or sender block) found none (snd_wait: told WRITABLE, and
 * text queued without a sender block goes out), and receivers that
 * announced a window memory held back (rcv_wait: the window is updated
 * once memory returns; otherwise the peer, facing a zero window, would
 * wait for its persist timer, backed off to a minute, RFC 9293 3.8.6.1). */

/* When senders are left waiting for the wake's budget: retry after this. */
#define TCP_MEM_RETRY_NS 1000000LL

static void
mem_list(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->mem_listed) {
        return;
    }
    if (tcb->role == TCP_ROLE_SCRATCH) {
        /* A compact record (mini.c) in the scratch TCB has no slot to
         * list and holds no memory. */
        tcb->snd_wait = tcb->rcv_wait = false;
        return;
    }
    tcb->mem_listed = true;
    tcb->mem_next = st->tcp->mem_head;
    st->tcp->mem_head = tcp_tcb_slot(st, tcb);
}

void
tcp_mem_wait(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcb->snd_wait = true;
    mem_list(st, tcb);
}

void
tcp_mem_wait_rcv(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcb->rcv_wait = true;
    mem_list(st, tcb);
}

void
tcp_mem_unwait(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcb->snd_wait = false;
    tcb->rcv_wait = false;
    if (!tcb->mem_listed) {
        return;
    }
    int slot = tcp_tcb_slot(st, tcb);
    for (int *link = &st->tcp->mem_head; *link >= 0; link = &st->tcp->tcbs[*link].mem_next) {
        if (*link == slot) {
            *link = tcb->mem_next;
            break;
        }
    }
    tcb->mem_listed = false;
    tcb->mem_next = -1;
}

/* A receiver whose window memory held back: announce what memory allows
 * now, if that moves the right edge (by a worthwhile amount, RFC 9293
 * 3.8.6.2.2, which tcp_rcv_window_announce sees to). Returns true when
 * it should go on waiting: memory still holds its window back and no
 * update went out (an update sent lists it again if need be). */
static bool
rcv_window_update(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->fin_rcvd) {
        return false; /* no text can follow: no window to open */
    }
    if (tcb->state == TERN_TCP_SYN_RECEIVED) {
        return true; /* the update can go out once established */
    }
    bool open = tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_FIN_WAIT_1 ||
                tcb->state == TERN_TCP_FIN_WAIT_2;
    if (!open) {
        return false;
    }
    uint32_t wnd = tcp_rcv_window_announce(st, tcb);
    uint32_t field = min_u32(wnd >> tcb->rcv_wscale, 65535u);
    if (seq_gt(tcb->rcv_nxt + (field << tcb->rcv_wscale), tcb->rcv_adv)) {
        tcp_send_ack(st, tcb, "RFC 9293 3.8.6.2.2: pool memory came back -> window update");
        return false;
    }
    uint32_t cap_room = tcb->rcv_cap > tcb->rcv.len ? tcb->rcv_cap - tcb->rcv.len : 0;
    return tcp_rcv_window(st, tcb) < cap_room;
}

static void
mem_wake_fired(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    (void)t, (void)now_ns;
    /* The list is taken whole: a connection that finds no memory again
     * goes back on the new one. Senders: as many are told as chunks may
     * be taken (each needs one at least); telling all of them would have
     * most find nothing. Receivers are looked at each time. */
    int head = st->tcp->mem_head;
    uint32_t budget = snd_chunks_allowed(st);
    bool senders_left = false;
    st->tcp->mem_head = -1;
    while (head >= 0) {
        struct tcp_tcb *tcb = &st->tcp->tcbs[head];
        head = tcb->mem_next;
        tcb->mem_listed = false;
        tcb->mem_next = -1;
        if (tcb->rcv_wait) {
            tcb->rcv_wait = false;
            if (rcv_window_update(st, tcb)) {
                tcb->rcv_wait = true;
            }
        }
        /* A sender is told when it can use memory now: SEND would
         * queue text, or its queued text can have its sender block. */
        uint32_t sent = tcb->snd_nxt - tcb->snd.start;
        bool block = tcb->sx == NULL && tcb->snd.len > sent && pool_avail(&st->pool) > 0;
        if (tcb->snd_wait && (block || tcp_snd_room(st, tcb) > 0)) {
            if (budget == 0) {
                senders_left = true;
            } else {
                tcb->snd_wait = false;
                budget--;
                /* Text queued while no sender block could be had goes
                 * out now: the user, who queued it all, may never call
                 * SEND again. */
                tcp_output(st, tcb);
                tcp_event(st, tcb, TERN_TCP_EV_WRITABLE);
            }
        }
        if (tcb->snd_wait || tcb->rcv_wait) {
            mem_list(st, tcb);
        }
    }
    tcp_deliver_events(st);
    /* Senders not told for want of budget: a millisecond later, if memory
     * is left (receivers wait for the next chunk given back). Not at
     * once: memory taken and given back within one instant would make
     * this a loop that never lets time move. */
    if (senders_left && snd_chunks_allowed(st) > 0 && !timer_armed(&st->tcp->mem_timer)) {
        timer_arm(&st->timers, &st->tcp->mem_timer, st->now_ns + TCP_MEM_RETRY_NS);
    }
}

void
tcp_mem_wake(struct tern_stack *st)
{
    /* Deferred to the next turn of the wheel: the caller may be in the
     * middle of processing another connection's segment. */
    if (st->tcp->mem_head >= 0 && !timer_armed(&st->tcp->mem_timer)) {
        timer_arm(&st->timers, &st->tcp->mem_timer, st->now_ns);
    }
}

void
tcp_rcv_share_update(struct tern_stack *st)
{
    /* Each connection's share of half the pool, in chunks (at least 2):
     * recomputed when a slot is taken or freed, not per segment. */
    unsigned n = st->tcp->n_used > 0 ? st->tcp->n_used : 1;
    uint32_t share = st->pool.n / 2 / n;
    st->tcp->rcv_share = share < 2 ? 2 : share;
}

void
tcp_mem_init(struct tern_stack *st)
{
    tcp_rcv_share_update(st);
    /* The first receive buffer: what a connection's part of half the pool
     * would be with the table full, at least one chunk, at most 64 KiB and
     * rcvbuf. */
    uint64_t part = (uint64_t)st->pool.n * POOL_CHUNK / 2 / st->cfg.tcp.max_connections;
    part = part < POOL_CHUNK ? POOL_CHUNK : part > TCP_BUF_INITIAL ? TCP_BUF_INITIAL : part;
    st->tcp->rcv_first = min_u32(st->cfg.tcp.rcvbuf, (uint32_t)part);
    st->tcp->mem_head = -1;
    timer_init(&st->tcp->mem_timer, mem_wake_fired);
}
