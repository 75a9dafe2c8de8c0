/*
 * src/tcp/output.c: building and sending segments.
 *
 * Every segment leaves through send_raw(), which traces it (TERN_TRACE_TX,
 * layer "tcp") with the rule that asked for it, then hands it to IPv4.
 *
 * Read first: RFC 9293 3.5.2 (reset generation), 3.7.1 (MSS), 3.8.6
 * (window), 3.10.2 (SEND), 3.10.8 (retransmission); RFC 5961 3.2, 4.2, 5.2
 * and 7 (challenge ACKs and their rate limit); RFC 6298 5 (the timer).
 */
#include "tcp/tcp.h"

#include <string.h>

#include "core/core.h"
#include "core/rng.h"
#include "ip/ip.h"
#include "tcp/seq.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define send_raw(st, tcb, seg, o, rule) (send_raw)(st, tcb, seg, o, TERN_RULE_ARG(rule))
#endif

/* The window to announce from the space tcp_rcv_window() gives. */
static uint32_t
rcv_announce(const struct tcp_tcb *tcb, uint32_t free_space)
{
    uint32_t cur = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    /* RFC 9293 3.8.6.2.2 (MUST-39): move the right edge only when it gains
     * at least min(half the buffer, one MSS); never pull it back (3.8.6,
     * SHLD-14: the window should not shrink). */
    uint32_t step = tcb->rcv_cap / 2 < tcp_rmss(tcb) ? tcb->rcv_cap / 2 : tcp_rmss(tcb);
    return free_space >= cur + step ? free_space : cur;
}

uint32_t
tcp_rcv_window_announce(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    return rcv_announce(tcb, tcp_rcv_window(st, tcb));
}

uint8_t
tcp_wscale_for(uint32_t rcvbuf)
{
    /* RFC 7323 2.3: the smallest shift that lets 16 bits cover the buffer. */
    uint8_t s = 0;
    while (s < TCP_MAX_WSCALE && (rcvbuf >> s) > 65535u) {
        s++;
    }
    return s;
}

uint32_t
tcp_ts_now(const struct tern_stack *st)
{
    /* RFC 7323 5.4: a clock of 1 ms ticks (between 1 ms and 1 s). */
    return (uint32_t)(uint64_t)(st->now_ns / 1000000);
}

/* Emits `seg` (addresses, ports, seq, ack, flags, wnd, text) with the
 * options `o` (NULL: none), traced with `rule`. tcb may be NULL. */
static int(send_raw)(struct tern_stack *st, const struct tcp_tcb *tcb, const struct tcp_seg *seg,
                     const struct wire_tcp_opts *o, const char *rule)
{
    struct wire_tcp h = {
        .src_port = seg->sport,
        .dst_port = seg->dport,
        .seq = seg->seq,
        .ack = seg->ack,
        .flags = seg->flags,
        .window = (uint16_t)seg->wnd,
        .urgent = seg->up,
        .payload = seg->text,
        .payload_len = seg->text_len,
    };
    if (o != NULL) {
        h.opts = *o;
    }
    tcp_trace_seg(st, TERN_TRACE_TX, tcb, seg, rule, TERN_DROP_COUNT);
    st->stats.tcp.tx++;
    if (seg->flags & WIRE_TCP_RST) {
        st->stats.tcp.rst_tx++;
    }
    size_t n = wire_tcp_emit_ip(&h, seg->src.b, seg->dst.b, st->tcp->tx_buf, st->tcp->tx_buf_len);
    if (n == 0) {
        return TERN_ERR_MSGSIZE;
    }
    /* RFC 9293 3.9.1.9: the connection's Differentiated Services field, as
     * the application set it, goes to IP unchanged (MUST-48, SHLD-22); the
     * two ECN bits are TCP's (RFC 3168 5, 6.1: tcp_ecn_out). IPv6 carries
     * both in its traffic class (RFC 8200 7). */
    struct ip_tx how = {.src = seg->src,
                        .dst = seg->dst,
                        .proto = WIRE_IPPROTO_TCP,
                        .tclass = (uint8_t)((tcb != NULL ? tcb->tos & 0xfcu : 0u) | seg->ecn)};
    struct ip_part part = {.data = st->tcp->tx_buf, .len = n};
    return ip_output(st, &how, &part, 1);
}

/* The options of a segment from `tcb`: on a SYN the MSS (RFC 9293 3.7.1,
 * MUST-14, MUST-65) and the offers (RFC 7323 2.2, 3.2; RFC 2018 2); later
 * the timestamps (RFC 7323 3.2: on every segment once agreed) and SACK
 * blocks on ACKs without text while text is held out of order (RFC 2018
 * 4; kept off data segments so that they stay within the MSS). */
static void
build_options(struct tern_stack *st, const struct tcp_tcb *tcb, uint8_t flags, uint32_t text_len,
              struct wire_tcp_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (flags & WIRE_TCP_SYN) {
        o->has_mss = true;
        o->mss = tcb->rcv_mss;
        o->has_wscale = tcb->ws_ok;
        o->wscale = tcp_wscale_for(st->cfg.tcp.rcvbuf);
        o->sack_permitted = tcb->sack_ok;
    }
    if (tcb->ts_ok) {
        o->has_ts = true;
        /* A SYN cookie's SYN,ACK carries options in its TSval (mini.c). */
        o->ts_val = st->tcp->ts_override ? st->tcp->ts_override_val : tcp_ts_now(st);
        /* RFC 7323 3.2: TSecr is 0 unless the ACK bit is set. */
        o->ts_ecr = (flags & WIRE_TCP_ACK) ? tcb->ts_recent : 0;
    }
    if (tcb->sack_ok && !(flags & WIRE_TCP_SYN) && (flags & WIRE_TCP_ACK) && text_len == 0) {
        unsigned k = 0, skip = UINT32_MAX;
        const struct tcp_range *ooo = tcp_ooo_const(st, tcb);
        if (tcb->dsack_pending) {
            /* RFC 2883 4: the duplicate goes first; when it was a copy of
             * text held out of order, the block holding it comes second. */
            o->sack[k].left = tcb->dsack.start;
            o->sack[k].right = tcb->dsack.end;
            k++;
            for (unsigned i = 0; i < tcb->n_ooo; i++) {
                if (seq_le(ooo[i].start, tcb->dsack.start) && seq_le(tcb->dsack.end, ooo[i].end)) {
                    o->sack[k].left = ooo[i].start;
                    o->sack[k].right = ooo[i].end;
                    k++;
                    skip = i;
                    break;
                }
            }
        }
        for (unsigned i = 0; i < tcb->n_ooo && k < WIRE_TCP_MAX_SACK; i++) {
            if (i != skip) {
                o->sack[k].left = ooo[i].start;
                o->sack[k].right = ooo[i].end;
                k++;
            }
        }
        o->sack_count = (uint8_t)k;
    }
}

int(tcp_send_segment)(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, uint8_t flags,
                      uint32_t text_len, const char *rule)
{
    uint32_t space = tcp_rcv_window(st, tcb);
    uint32_t cap_room = tcb->rcv_cap > tcb->rcv.len ? tcb->rcv_cap - tcb->rcv.len : 0;
    uint32_t wnd = rcv_announce(tcb, space);
    uint32_t field;
    if (flags & WIRE_TCP_SYN) {
        field = wnd > 65535 ? 65535 : wnd; /* RFC 7323 2.2: a SYN's window is never scaled */
    } else {
        field = wnd >> tcb->rcv_wscale;
        field = field > 65535 ? 65535 : field;
        /* RFC 9293 3.8.6 (SHLD-14), RFC 7323 2.4: a shifted window loses
         * its low bits; when that would put the right edge left of the one
         * already announced, round up instead (as Linux does). The few
         * bytes added, less than one unit of the shift, are reserved below
         * with the rest of the window. */
        if (field < 65535 && seq_lt(tcb->rcv_nxt + (field << tcb->rcv_wscale), tcb->rcv_adv)) {
            field++;
        }
    }
    struct tcp_seg seg = {
        .src = tcb->local_addr,
        .dst = tcb->remote_addr,
        .sport = tcb->local_port,
        .dport = tcb->remote_port,
        .seq = seq,
        .ack = (flags & WIRE_TCP_ACK) ? tcb->rcv_nxt : 0,
        .flags = flags,
        .wnd = field,
        .text_len = text_len,
    };
    if (tcb->urg_snd && !(flags & (WIRE_TCP_SYN | WIRE_TCP_RST)) && seq_lt(seq, tcb->snd_up)) {
        /* RFC 9293 3.8.5, 3.10.2: while SND.UP lies ahead of a segment it
         * carries URG and the offset from its SEQ to SND.UP, the first
         * octet after the urgent data (MUST-62); on every such segment,
         * pure ACKs and zero-window probes included, so the peer learns of
         * it even while its window is closed (it processes the URG of a
         * segment at RCV.NXT, MUST-66). Urgent data longer than the field
         * reaches (MUST-31) is announced as 65535 until the segments come
         * within reach, as Linux does. */
        seg.flags |= WIRE_TCP_URG;
        uint32_t off = tcb->snd_up - seq;
        seg.up = (uint16_t)(off > 0xffffu ? 0xffffu : off);
    }
    tcp_ecn_out(tcb, &seg);
    struct wire_tcp_opts o;
    build_options(st, tcb, flags, text_len, &o);
    if (tcb->dsack_pending && o.sack_count > 0) {
        tcb->dsack_pending = false; /* RFC 2883 4: each duplicate is reported once */
        st->stats.tcp.dsacks_tx++;
    }
    if (text_len > 0) {
        /* The text sits in the send ring at the offset of its sequence
         * number; copy it to where emit expects the payload (after the
         * header and the options, so that emit's copy is a no-op move). */
        size_t at = WIRE_TCP_HDR_LEN + wire_tcp_options_len(&o);
        if (at + (size_t)text_len > st->tcp->tx_buf_len) {
            return TERN_ERR_MSGSIZE;
        }
        uint8_t *text = st->tcp->tx_buf + at;
        tcp_buf_read_text(st, tcb, seq, text, text_len);
        seg.text = text;
    }
    if (flags & WIRE_TCP_ACK) {
        /* Any ACK sent covers what the delayed ACK (or the end of an input
         * batch) was waiting for, and counts against the quick-ACK phase. */
        tcb->unacked_segs = 0;
        tcb->ack_owed = false;
        if (tcb->quick_acks > 0 && !(flags & WIRE_TCP_SYN)) {
            tcb->quick_acks--;
        }
        tcb->last_ack_sent = tcb->rcv_nxt;
        tcp_tmr_clear(st, tcb, TCP_TMR_DELACK);
        uint32_t adv = tcb->rcv_nxt + ((flags & WIRE_TCP_SYN) ? field : field << tcb->rcv_wscale);
        if (seq_gt(adv, tcb->rcv_adv) || tcb->rcv_adv == tcb->rcv_nxt) {
            tcb->rcv_adv = adv;
        }
        tcb->rcv_wnd = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
        /* The memory behind the announced window is promised (buf.c);
         * after the peer's FIN no text can come to take it. */
        if (!tcb->fin_rcvd) {
            tcp_buf_rcv_reserve(st, tcb, tcb->rcv_adv);
        }
    } else if (flags & WIRE_TCP_SYN) {
        tcp_buf_rcv_reserve_count(st, tcb, field);
    }
    if (space < cap_room) { /* memory, not the buffer, bounds the window */
        st->stats.tcp.rcv_wnd_mem_limited++;
        if ((flags & WIRE_TCP_ACK) && !tcb->fin_rcvd) {
            tcp_mem_wait_rcv(st, tcb); /* a window update when memory returns */
        }
    }
    int rc = send_raw(st, tcb, &seg, &o, rule);
    if (text_len > 0 && tcp_rack_on(st, tcb)) {
        /* RFC 8985 6.1: every transmission's time is kept (rack.h). */
        tcp_rack_on_send(&tcb->sx->rack, seq, seq + text_len, st->now_ns);
    }
    return rc;
}

void(tcp_send_ack)(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule)
{
    tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_ACK, 0, rule);
}

/* ---- Input batches (RFC 1122 4.2.3.2, RFC 9293 3.10.7 MUST-58, MUST-59) ----
 *
 * "A TCP SHOULD process all queued segments before sending any ACK": when
 * the driver hands several frames in one batch (tern_stack_batch_begin),
 * the ACK a segment asks for (second full segment, quick-ACK phase, hole
 * filled) is owed, not sent, and the end of the batch sends one ACK per
 * connection that reflects everything the batch delivered. An ACK that
 * goes out meanwhile on a segment of ours pays the debt (tcp_send_segment
 * clears ack_owed). Duplicate ACKs for out-of-order segments are not
 * collapsed: the sender's fast retransmit counts them (RFC 5681 4.2). */

static bool
ack_may_wait(const struct tcp_tcb *tcb)
{
    return tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_FIN_WAIT_1 ||
           tcb->state == TERN_TCP_FIN_WAIT_2 || tcb->state == TERN_TCP_CLOSE_WAIT;
}

bool
tcp_ack_owe(struct tern_stack *st, struct tcp_tcb *tcb, bool fin)
{
    struct tcp_state *t = st->tcp;
    if (t->batch_depth == 0 || fin || tcb->role == TCP_ROLE_SCRATCH || !ack_may_wait(tcb)) {
        return false;
    }
    if (!tcb->ack_owed) {
        if (t->n_ack_owed >= TCP_ACK_OWED_MAX) {
            return false;
        }
        t->ack_owed[t->n_ack_owed++] = tcp_tcb_slot(st, tcb);
        tcb->ack_owed = true;
    }
    /* A driver that never ends its batch still sends the ACK within the
     * delayed-ACK bound (MUST-40); the end of the batch cancels it. */
    tcp_delack_arm(st, tcb);
    tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                   "RFC 1122 4.2.3.2 (MUST-58): ACK owed until the end of the input batch");
    return true;
}

void
tcp_batch_end(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    for (unsigned i = 0; i < t->n_ack_owed; i++) {
        struct tcp_tcb *tcb = &t->tcbs[t->ack_owed[i]];
        if (!tcb->ack_owed) {
            continue; /* paid by a segment of ours, or the slot was freed and reused */
        }
        tcb->ack_owed = false;
        if (tcb->role != TCP_ROLE_FREE && ack_may_wait(tcb)) {
            tcp_send_ack(st, tcb, "RFC 1122 4.2.3.2 (MUST-59): input batch processed -> one ACK");
        }
    }
    t->n_ack_owed = 0;
}

/* ---- Replies to unacceptable segments: rate limits (RFC 5961 7) ----
 *
 * RFC 5961 7 asks for a limit on challenge ACKs, "N in any T seconds",
 * both tunable, and notes that a timestamp and a counter suffice. A single
 * counter for the whole stack is what CVE-2016-5696 exploited: an off-path
 * attacker spends the budget with its own connection, sends one guess at
 * another connection, and learns from how many of its own challenges come
 * back whether its guess triggered one. RFC 9293 3.10.7.4 points at RFC
 * 5961 erratum 4772 for the further considerations this led to (its text
 * was not at hand when this was written; what follows rests on the attack
 * itself). What tern does:
 *
 *  - each connection has its own budget (cfg.tcp.conn_reply_limit ACKs per
 *    conn_reply_window_ns), shared by its challenge ACKs and its corrective
 *    ACKs: both are the same segment, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>,
 *    and the peer cannot tell which one it got, so an ACK spent on one kind
 *    serves the purpose of the other. One connection never spends
 *    another's; the real peer sees at most that many extra duplicate ACKs
 *    per window whatever an attacker sends.
 *  - behind it, stack-wide ceilings (challenge ACKs, corrective ACKs and
 *    RSTs each have their own) whose budget for each second is drawn anew
 *    from the stack's PRNG, uniformly in [limit/2, limit/2 + limit] (the
 *    mean is the configured limit). An attacker who counts the replies it
 *    receives sees a number that moves by up to `limit` from one second to
 *    the next, so the one reply a guess may have cost a victim connection
 *    is lost in that noise (Linux answered CVE-2016-5696 in the same way).
 *    The PRNG is keyed from the stack's secret: the draws cannot be
 *    predicted from outside.
 *  - the connection's budget is checked first, so that a connection over
 *    its own budget cannot spend the stack's.
 *
 * Every reply held back is counted in stats.drops[] under its own reason
 * and traced with that reason's rule. */

uint32_t
tcp_ratelimit_budget(struct rng *r, uint32_t limit)
{
    uint32_t half = limit / 2;
    uint32_t span = limit < UINT32_MAX - half ? limit + 1 : UINT32_MAX - half;
    return half + rng_below(r, span);
}

/* Takes one reply from a stack-wide budget whose mean is `limit` per
 * second (0: no ceiling). False when the second's budget is spent. */
static bool
stack_budget_take(struct tern_stack *st, struct tcp_ratelimit *rl, uint32_t limit)
{
    if (limit == 0) {
        return true;
    }
    if (!rl->started || st->now_ns - rl->start_ns >= 1000000000LL) {
        rl->started = true;
        rl->start_ns = st->now_ns;
        rl->used = 0;
        rl->budget = tcp_ratelimit_budget(&st->rng, limit);
    }
    if (rl->used >= rl->budget) {
        return false;
    }
    rl->used++;
    return true;
}

/* Takes one reply from the connection's own budget. The window is kept in
 * milliseconds of the timestamp clock (32 bits: a connection silent for
 * 49 days may see one window end early or late, never a lasting block). */
static bool
conn_budget_take(struct tern_stack *st, struct tcp_tcb *tcb)
{
    const struct tern_tcp_config *c = &st->cfg.tcp;
    if (c->conn_reply_limit == 0 || c->conn_reply_window_ns <= 0) {
        return true;
    }
    uint32_t now = tcp_ts_now(st);
    int64_t win = c->conn_reply_window_ns / 1000000;
    uint32_t win_ms = win < 1 ? 1u : win > (int64_t)INT32_MAX ? (uint32_t)INT32_MAX : (uint32_t)win;
    if (!tcb->reply_win_set || now - tcb->reply_win_ms >= win_ms) {
        tcb->reply_win_set = true;
        tcb->reply_win_ms = now;
        tcb->reply_count = 0;
    }
    if (tcb->reply_count >= c->conn_reply_limit) {
        return false;
    }
    tcb->reply_count++;
    return true;
}

/* Counts and traces a reply that a rate limit held back. */
static void
reply_suppressed(struct tern_stack *st, const struct tcp_tcb *tcb, enum tern_drop_reason r)
{
    st->stats.drops[r]++;
    tcp_trace_note(st, TERN_TRACE_EVENT, tcb, tern_drop_rule(r));
}

void(tcp_send_challenge_ack)(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule)
{
    if (!conn_budget_take(st, tcb)) {
        reply_suppressed(st, tcb, TERN_DROP_TCP_CHALLENGE_CONN_LIMIT);
        return;
    }
    if (!stack_budget_take(st, &st->tcp->rl_challenge, st->cfg.tcp.challenge_ack_limit)) {
        reply_suppressed(st, tcb, TERN_DROP_TCP_CHALLENGE_LIMIT);
        return;
    }
    st->stats.tcp.challenge_acks++;
    tcp_send_ack(st, tcb, rule);
}

void(tcp_send_corrective_ack)(struct tern_stack *st, struct tcp_tcb *tcb, bool retransmission,
                              const char *rule)
{
    if (!retransmission && !conn_budget_take(st, tcb)) {
        reply_suppressed(st, tcb, TERN_DROP_TCP_ACK_CONN_LIMIT);
        return;
    }
    if (!stack_budget_take(st, &st->tcp->rl_ack, st->cfg.tcp.corrective_ack_limit)) {
        reply_suppressed(st, tcb, TERN_DROP_TCP_ACK_LIMIT);
        return;
    }
    st->stats.tcp.corrective_acks++;
    tcp_send_ack(st, tcb, rule);
}

void(tcp_send_reset_limited)(struct tern_stack *st, const struct tcp_tcb *tcb,
                             const struct tcp_seg *seg, const char *rule)
{
    if (seg->flags & WIRE_TCP_RST) {
        return; /* RFC 9293 3.5.2: never a reset in answer to a reset (nothing held back) */
    }
    if (!stack_budget_take(st, &st->tcp->rl_rst, st->cfg.tcp.rst_limit)) {
        reply_suppressed(st, tcb, TERN_DROP_TCP_RST_LIMIT);
        return;
    }
    tcp_send_reset_for(st, tcb, seg, rule);
}

void(tcp_send_reset_for)(struct tern_stack *st, const struct tcp_tcb *tcb,
                         const struct tcp_seg *seg, const char *rule)
{
    if (seg->flags & WIRE_TCP_RST) {
        return; /* RFC 9293 3.5.2: never a reset in answer to a reset. */
    }
    struct tcp_seg rst = {
        .src = seg->dst,
        .dst = seg->src,
        .sport = seg->dport,
        .dport = seg->sport,
    };
    if (seg->flags & WIRE_TCP_ACK) {
        /* <SEQ=SEG.ACK><CTL=RST> */
        rst.seq = seg->ack;
        rst.flags = WIRE_TCP_RST;
    } else {
        /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
        rst.seq = 0;
        rst.ack = seg->seq + seg->seg_len;
        rst.flags = WIRE_TCP_RST | WIRE_TCP_ACK;
    }
    send_raw(st, tcb, &rst, NULL, rule);
}

/* Text bytes queued but not yet sent. */
static uint32_t
unsent_text(const struct tcp_tcb *tcb)
{
    uint32_t sent = tcb->snd_nxt - tcb->snd.start;
    if (tcb->fin_sent) {
        return 0;
    }
    return tcb->snd.len > sent ? tcb->snd.len - sent : 0;
}

static bool
may_send_text(enum tern_tcp_state s)
{
    /* RFC 9293 3.10.2/3.10.4: text goes out in ESTABLISHED and CLOSE-WAIT,
     * and text queued before a CLOSE still goes out in FIN-WAIT-1, CLOSING
     * and LAST-ACK, ahead of the FIN: a CLOSE only queues the FIN behind
     * it, and the peer's FIN may come (FIN-WAIT-1 -> CLOSING) before the
     * window let all of it out. Linux sends on in CLOSING too. */
    return s == TERN_TCP_ESTABLISHED || s == TERN_TCP_CLOSE_WAIT || s == TERN_TCP_FIN_WAIT_1 ||
           s == TERN_TCP_CLOSING || s == TERN_TCP_LAST_ACK;
}

static void resend_after_rto(struct tern_stack *st, struct tcp_tcb *tcb);
static void tlp_reset(struct tern_stack *st, struct tcp_tcb *tcb);
static void recovery_send(struct tern_stack *st, struct tcp_tcb *tcb, bool fast_rtx);

uint32_t
tcp_in_flight(const struct tcp_tcb *tcb)
{
    return tcb->snd_nxt - tcb->snd_una;
}

/* How many bytes of new text may go out now (the peer's window and the
 * congestion window, RFC 5681 3.1; RFC 3042 limited transmit lets the
 * first two duplicate ACKs each send one more segment). */
static uint32_t
usable_window(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    uint32_t flight = tcp_in_flight(tcb);
    uint32_t cwnd = UINT32_MAX;
    if (tcb->cc_ready && tcb->sx != NULL) {
        const struct tcp_sender *x = tcb->sx;
        if (x->in_recovery && tcp_prr_active(st, tcb)) {
            return 0; /* RFC 6937 3: PRR's sndcnt alone (NextSeg) sends in recovery */
        }
        cwnd = x->in_recovery ? x->cc.cwnd : tcp_cc_limited_window(&x->cc, x->dupacks);
    } else if (tcb->cc_ready) {
        cwnd = tcb->cwnd;
    }
    uint32_t wnd = tcb->snd_wnd < cwnd ? tcb->snd_wnd : cwnd;
    /* MUST-34: a window that shrank below what is in flight sends nothing. */
    return wnd > flight ? wnd - flight : 0;
}

/* Sender SWS avoidance (RFC 9293 3.8.6.2.1, MUST-38) and Nagle (RFC 896,
 * 3.7.4 SHLD-7, switch MUST-17): may `n` of the `avail` queued bytes go
 * out now? */
static bool
worth_sending(const struct tcp_tcb *tcb, uint32_t n, uint32_t avail)
{
    if (n >= tcp_smss(tcb)) {
        return true; /* a full segment */
    }
    /* As Linux: urgent data is not held back by Nagle (RFC 9293 3.8.5:
     * timely delivery is its point). */
    bool idle = tcp_in_flight(tcb) == 0 || tcb->nodelay || tcb->fin_queued || tcb->urg_snd;
    if (n == avail && idle) {
        return true; /* all queued text, nothing unacknowledged (Nagle) */
    }
    /* At least half the largest window the peer offered (Fs = 1/2). */
    return idle && tcb->max_snd_wnd > 0 && n >= tcb->max_snd_wnd / 2;
}

/* The rule of new text sent by tcp_output: RFC 3042 2 limited transmit
 * while duplicate ACKs are counted (static texts, one per count), else an
 * ordinary SEND. */
static const char *
send_rule(const struct tcp_tcb *tcb)
{
    /* Not static: without rule texts the entries are ids (core/rule.h). */
    const char *const limited[] = {
        TERN_RULE("RFC 3042 2: limited transmit on duplicate ACK 1, new segment"),
        TERN_RULE("RFC 3042 2: limited transmit on duplicate ACK 2, new segment"),
    };
    if (tcb->sx == NULL || tcb->sx->dupacks == 0) {
        return TERN_RULE("RFC 9293 3.10.2: SEND, text within the send window");
    }
    return tcb->sx->dupacks <= 2
               ? limited[tcb->sx->dupacks - 1]
               : TERN_RULE("RFC 3042 2: duplicate ACK -> limited transmit, new segment");
}

void
tcp_output(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (!may_send_text(tcb->state)) {
        return;
    }
    uint32_t rtx_before = tcb->total_rtx;
    if (tcb->sx != NULL && tcb->sx->rtx_active) {
        resend_after_rto(st, tcb);
    }
    if (tcb->sx != NULL && tcb->sx->in_recovery && tcb->sack_ok) {
        tcp_sack_recovery_send(st, tcb);
    }
    /* New text needs the sender block (congestion state, scoreboard):
     * without pool memory for it the text waits (buf.c). */
    uint32_t nxt_before = tcb->snd_nxt;
    bool can_send =
        tcb->sx != NULL || unsent_text(tcb) == 0 || !tcb->cc_ready || tcp_sender_get(st, tcb);
    for (; can_send && !(tcb->sx != NULL && tcb->sx->rtx_active);) {
        uint32_t avail = unsent_text(tcb);
        uint32_t room = usable_window(st, tcb);
        uint32_t n = avail < tcp_smss(tcb) ? avail : tcp_smss(tcb);
        n = n < room ? n : room;
        if (n == 0 || !worth_sending(tcb, n, avail)) {
            break;
        }
        uint8_t flags = WIRE_TCP_ACK | (tcp_psh_at(tcb, tcb->snd_nxt, n) ? WIRE_TCP_PSH : 0);
        struct tcp_sender *x = tcb->sx;
        if (x != NULL && !x->rtt_timing && !tcb->ts_ok) {
            /* RFC 6298 3: time one segment per RTT (Karn, MUST-18). */
            x->rtt_timing = true;
            x->rtt_seq = tcb->snd_nxt;
            x->rtt_start_ns = st->now_ns;
        }
        if (x != NULL && tcb->cc_ready && tcp_in_flight(tcb) + n > x->cc.cwnd && !x->in_recovery) {
            x->lt_bytes += n; /* RFC 3042 2: beyond cwnd on a duplicate ACK */
        }
        tcp_send_segment(st, tcb, tcb->snd_nxt, flags, n, send_rule(tcb));
        tcb->snd_nxt += n;
    }
    bool fin_state = tcb->state == TERN_TCP_FIN_WAIT_1 || tcb->state == TERN_TCP_CLOSING ||
                     tcb->state == TERN_TCP_LAST_ACK;
    if (fin_state && tcb->fin_queued && !tcb->fin_sent && unsent_text(tcb) == 0) {
        /* RFC 9293 3.10.4: after all preceding SENDs are segmentized, form
         * a FIN segment and send it. */
        tcb->fin_seq = tcb->snd_nxt;
        tcb->fin_sent = true;
        tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_FIN | WIRE_TCP_ACK, 0,
                         "RFC 9293 3.10.4: CLOSE, all text sent -> FIN");
        tcb->snd_nxt++;
    }
    tcp_rtx_update(st, tcb, false);
    /* RFC 8985 7.2: after new data (in fast recovery, after any sending) */
    tcp_tlp_arm(st, tcb,
                tcb->snd_nxt != nxt_before     ? TCP_TLP_NEW_DATA
                : tcb->total_rtx != rtx_before ? TCP_TLP_ACTIVITY
                                               : TCP_TLP_NOTHING);
    tcp_persist_update(st, tcb);
    tcp_user_timer_update(st, tcb, false);
}

uint32_t(tcp_send_text_at)(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, uint32_t max,
                           const char *rule)
{
    uint32_t text_end = tcb->fin_sent ? tcb->fin_seq : tcb->snd_nxt;
    uint32_t text = seq_lt(seq, text_end) ? text_end - seq : 0;
    if (text > max) {
        text = max;
    }
    uint8_t flags = WIRE_TCP_ACK;
    if (tcb->fin_sent && seq + text == tcb->fin_seq && seq_lt(seq + text, tcb->snd_nxt)) {
        flags |= WIRE_TCP_FIN;
    }
    if (text == 0 && !(flags & WIRE_TCP_FIN)) {
        return 0;
    }
    if (tcp_psh_at(tcb, seq, text)) {
        flags |= WIRE_TCP_PSH; /* MUST-61: only where the original segment had it */
    }
    st->stats.tcp.retransmits++;
    tcb->total_rtx++;
    struct tcp_sender *x = tcb->sx;
    if (x != NULL && x->undo_valid && text > 0) {
        /* RFC 3708 2: the episode is spurious only if every copy it resent
         * comes back D-SACKed; count them. */
        if (x->undo_retrans < UINT16_MAX) {
            x->undo_retrans++;
        }
        if (seq_gt(seq + text, x->undo_end)) {
            x->undo_end = seq + text;
        }
    }
    tcp_send_segment(st, tcb, seq, flags, text, rule);
    return text + ((flags & WIRE_TCP_FIN) ? 1u : 0u);
}

/* RFC 5681 3.1 and RFC 6582 4: after a retransmission timeout everything
 * outstanding is taken as lost and sent again from SND.UNA, in slow start:
 * as much as cwnd allows, counting only what was resent as in flight. */
static void
resend_after_rto(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (seq_lt(tcb->sx->rtx_nxt, tcb->snd_una)) {
        tcb->sx->rtx_nxt = tcb->snd_una;
    }
    while (seq_lt(tcb->sx->rtx_nxt, tcb->snd_nxt)) {
        uint32_t flight = tcb->sx->rtx_nxt - tcb->snd_una;
        if (flight > 0 && flight + tcp_smss(tcb) > tcb->sx->cc.cwnd) {
            return;
        }
        uint32_t n = tcp_send_text_at(
            st, tcb, tcb->sx->rtx_nxt, tcp_smss(tcb),
            "RFC 5681 3.1: after a timeout, resend the outstanding segments in slow start");
        if (n == 0) {
            break;
        }
        tcb->sx->rtx_nxt += n;
    }
    tcb->sx->rtx_active = false;
}

/* Retransmits from SND.UNA in a synchronized state: one segment of text,
 * with the FIN when it fits. */
static void
retransmit_text(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->snd_una == tcb->snd_nxt) {
        return;
    }
    uint32_t n =
        tcp_send_text_at(st, tcb, tcb->snd_una, tcp_smss(tcb),
                         "RFC 6298 5.4: retransmit the earliest unacknowledged segment (SND.UNA)");
    if (tcb->sx != NULL) {
        tcb->sx->rtx_nxt = tcb->snd_una + n;
        tcb->sx->rtx_active = seq_lt(tcb->sx->rtx_nxt, tcb->snd_nxt);
    }
}

/* ---- congestion control (cc.h: RFC 5681, RFC 6582, RFC 9438) ---- */

void
tcp_cong_start(struct tern_stack *st, struct tcp_tcb *tcb)
{
    /* IW once the send MSS is known (RFC 6928 by default, RFC 5681 3.1 as
     * configured); RFC 6582 3.2 step 1: recover starts at ISS. */
    const struct tcp_cc_ops *ops = tcb->use_cubic ? &tcp_cc_cubic_ops : &tcp_cc_newreno_ops;
    struct tcp_cc cc;
    tcp_cc_init(&cc, ops, tcp_smss(tcb), tcb->sack_ok, st->cfg.tcp.initial_window, st->now_ns);
    if (tcb->retries > 0) {
        tcp_cc_after_syn_loss(&cc); /* RFC 5681 3.1, RFC 6928 2: IW = 1 SMSS */
    }
    tcp_sender_put(st, tcb);
    tcb->cwnd = cc.cwnd; /* the next text to send starts from these */
    tcb->ssthresh = cc.ssthresh;
    tcb->cc_ready = true;
}

void
tcp_undo_begin(struct tcp_tcb *tcb)
{
    struct tcp_sender *x = tcb->sx;
    /* A timeout inside a running episode (recovery, or the go-back-N after
     * an earlier timeout) extends it: the values before the first cut are
     * the ones an undo restores. */
    if (!(x->undo_valid && (x->in_recovery || x->rtx_active))) {
        x->eifel_armed = false;
        x->undo_cwnd = x->cc.cwnd;
        x->undo_ssthresh = x->cc.ssthresh;
        x->undo_retrans = 0;
        x->undo_start = tcb->snd_una;
        /* RFC 3708 3 (A): only a D-SACK of resent text counts; the range
         * grows with each retransmission (tcp_send_text_at). */
        x->undo_end = tcb->snd_una;
        x->undo_at = INT64_MAX; /* an earlier episode's wait is over */
    }
    x->undo_valid = true;
}

void
tcp_cong_on_rto(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (!tcb->cc_ready || tcb->sx == NULL) {
        return; /* no text in flight (a FIN alone): nothing to reduce */
    }
    struct tcp_sender *x = tcb->sx;
    bool first_copy = !x->in_recovery && !x->rtx_active && !x->eifel_armed;
    tcp_undo_begin(tcb);
    if (tcb->ts_ok && first_copy) {
        /* RFC 3522 2: remember the TSval the retransmission carries (it
         * goes out now, on this clock tick). */
        x->eifel_ts = tcp_ts_now(st);
        x->eifel_armed = true;
    }
    /* RFC 5681 3.1 (eq. 4; ssthresh held when the segment was already
     * retransmitted by the timer), RFC 6582 4, RFC 6675 5.1. */
    tcp_cc_on_rto(&tcb->sx->cc, tcp_in_flight(tcb), tcb->retries > 1, st->now_ns);
    tcb->sx->recover = tcb->snd_nxt;
    tcb->sx->in_recovery = false;
    tcb->sx->dupacks = 0;
    tcp_sack_sb_init(&tcb->sx->sb);
    /* RFC 8985 6.3 / 5.1 of RFC 6675: everything goes again from SND.UNA,
     * so no mark nor reordering timer is needed. */
    tcp_rack_clear_lost(&tcb->sx->rack);
    tcp_tmr_clear(st, tcb, TCP_TMR_RACK);
    tlp_reset(st, tcb); /* RFC 8985 7.1: RTO recovery starts */
    tcb->sx->ts_mark = tcp_ts_now(st);
    tcb->sx->ts_mark_set = true;
    tcp_ecn_reduced(tcb); /* RFC 3168 6.1.2 */
}

bool
tcp_prr_active(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    /* RFC 6937 with either loss detection: RFC 8985 9.3 recommends PRR for
     * the recoveries RACK starts. */
    return tcb->sack_ok && st->cfg.tcp.prr != TERN_TCP_PRR_OFF;
}

/* The pipe of a SACK recovery: RFC 6675 4 SetPipe, whose IsLost is the
 * DupThresh rule; with RACK (RFC 8985 9.2: RACK's marks replace IsLost)
 * what is in flight less what is SACKed and less what RACK marked lost
 * and was not resent since. */
static uint32_t
recovery_pipe(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    const struct tcp_sender *x = tcb->sx;
    if (tcp_rack_on(st, tcb)) {
        uint32_t out =
            tcp_sack_sacked_bytes(&x->sb) + tcp_rack_lost_bytes(&x->rack, &x->sb, tcb->snd_una);
        uint32_t flight = tcp_in_flight(tcb);
        return flight > out ? flight - out : 0;
    }
    return tcp_sack_pipe(&x->sb, tcb->snd_una, tcb->snd_nxt, x->high_rxt, tcp_smss(tcb));
}

void
tcp_prr_ack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t delivered)
{
    struct tcp_sender *x = tcb->sx;
    if (x == NULL || !x->in_recovery || !tcp_prr_active(st, tcb)) {
        return;
    }
    uint32_t mss = tcp_smss(tcb);
    uint32_t pipe = recovery_pipe(st, tcb);
    bool crb = st->cfg.tcp.prr == TERN_TCP_PRR_CRB;
    tcp_prr_on_ack(&x->prr, delivered, pipe, x->cc.ssthresh, mss, crb);
    tcp_trace_note(
        st, TERN_TRACE_EVENT, tcb,
        pipe > x->cc.ssthresh
            ? TERN_RULE("RFC 6937 3: PRR, pipe > ssthresh -> sndcnt proportional to delivered")
        : crb ? TERN_RULE("RFC 6937 3: PRR-CRB, pipe <= ssthresh -> sndcnt bounded by delivered")
              : TERN_RULE("RFC 6937 3: PRR-SSRB, pipe <= ssthresh -> sndcnt up to delivered + "
                          "SMSS"));
}

bool
tcp_rack_on(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    return st->cfg.tcp.loss_detection == TERN_TCP_LOSS_RACK && tcb->sack_ok && tcb->sx != NULL;
}

void
tcp_rack_loss(struct tern_stack *st, struct tcp_tcb *tcb, bool ack, uint32_t delivered)
{
    if (!tcp_rack_on(st, tcb) || !tcb->cc_ready) {
        return;
    }
    struct tcp_sender *x = tcb->sx;
    uint32_t mss = tcp_smss(tcb);
    int64_t srtt = tcb->rtt.have_sample ? tcb->rtt.srtt_ns : 0;
    int64_t reo =
        tcp_rack_reo_wnd(&x->rack, x->in_recovery, tcp_sack_sacked_bytes(&x->sb) / mss, srtt);
    int64_t wait = 0;
    unsigned lost_rtx;
    unsigned marked =
        tcp_rack_detect(&x->rack, &x->sb, tcb->snd_una, reo, st->now_ns, &wait, &lost_rtx);
    if (lost_rtx > 0) {
        /* RFC 8985 6.2 step 5 applies to retransmissions too (RFC 6675's
         * DupThresh cannot see their loss; only the RTO would). */
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 8985 6.2 step 5: text sent after the retransmission delivered, "
                       "RACK.rtt + reo_wnd passed -> the retransmission is lost too");
        if (x->in_recovery && !tcp_prr_active(st, tcb)) {
            /* RFC 8985 9.3: without PRR, a lost retransmission is a second
             * sign of congestion (RFC 5681 4.3's principle): one more
             * reduction, from the window in use now (one per ACK, however
             * many retransmissions it shows lost). */
            tcp_cc_enter_recovery(&x->cc, x->cc.cwnd, st->now_ns);
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           "RFC 8985 9.3: lost retransmission without PRR -> "
                           "ssthresh = max(cwnd/2, 2*SMSS), cwnd = ssthresh");
        }
    }
    /* RFC 8985 6.3: segments not yet due get the reordering timer. */
    if (wait > 0) {
        tcp_tmr_set(st, tcb, TCP_TMR_RACK, st->now_ns + wait);
    } else {
        tcp_tmr_clear(st, tcb, TCP_TMR_RACK);
    }
    bool entered = false;
    if (marked > 0 && !x->in_recovery) {
        tlp_reset(st, tcb); /* RFC 8985 7.1: fast recovery starts */
        /* One reduction per loss episode (RFC 6582 3.2 step 2's "recover"
         * guard, RFC 8985 9.3: the congestion response is the caller's). */
        bool new_episode = seq_ge(tcb->snd_una, x->recover) || x->recover == tcb->iss;
        st->stats.tcp.fast_retransmits++;
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 8985 6.2: RACK marked a segment lost -> enter loss recovery");
        if (new_episode) {
            tcp_undo_begin(tcb); /* RFC 3708: cwnd and ssthresh before the cut */
        }
        x->in_recovery = true;
        x->high_rxt = tcb->snd_una;
        x->rescue_valid = true;
        x->rescue_rxt = tcb->snd_una;
        x->rtt_timing = false; /* Karn: the timed segment may be the one resent */
        /* Limited-transmit text is not counted (RFC 5681 3.2 step 2). */
        uint32_t flight = tcp_in_flight(tcb);
        flight = flight > x->lt_bytes ? flight - x->lt_bytes : 0;
        if (new_episode) {
            x->recover = tcb->snd_nxt;
            x->ts_mark = tcp_ts_now(st);
            x->ts_mark_set = true;
            tcp_cc_enter_recovery(&x->cc, flight, st->now_ns);
            tcp_ecn_reduced(tcb); /* RFC 3168 6.1.2 */
        }
        /* RFC 6937 3: PRR starts with RecoverFS = that FlightSize. */
        tcp_prr_init(&x->prr, flight);
        entered = true;
    }
    if (ack) {
        /* RFC 6937 3 on every ACK in recovery, here rather than where RFC
         * 6675's recovery does it (input.c): pipe counts the segments RACK
         * has just marked lost. A timer is no ACK: it delivers nothing and
         * leaves sndcnt as the last ACK set it. */
        tcp_prr_ack(st, tcb, delivered);
    }
    if (marked == 0) {
        return;
    }
    recovery_send(st, tcb, entered);
    tcp_rtx_update(st, tcb, false);
}

/* RFC 8985 7.2: TLP.max_ack_delay, the delayed ACK the PTO allows for
 * when one segment is in flight. Our choice: 200 ms, the longest common
 * delayed-ACK bound (Linux's; RFC 9293 3.8.6.3 allows up to 500 ms). */
#define TCP_TLP_MAX_ACK_DELAY_NS 200000000LL
/* Our choice: a PTO of at least 2 ms, two ticks of the 1 ms clock the
 * RTT samples and the drivers' timers resolve (TCP_RTT_GRANULARITY_NS;
 * Linux adds two of its ticks to 2 SRTT), so that a near-zero SRTT does
 * not probe before an ACK could be back. RFC 8985 7.2 itself asks only
 * for 2 SRTT: on a LAN path (0.1 ms) a 10 ms floor cost five times the
 * wait in every tail loss (bench/lossy_goodput.sh, 5 % row). */
#define TCP_TLP_MIN_PTO_NS 2000000LL

/* RFC 8985 7.1: no probe outstanding, no PTO pending. */
static void
tlp_reset(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcb->sx->tlp_active = false;
    tcb->sx->tlp_is_retrans = false;
    tcp_tmr_clear(st, tcb, TCP_TMR_PTO);
}

/* Fast recovery may send nothing more when the last retransmissions (or
 * the ACKs for them) are lost: PRR's sndcnt is spent, and RACK can judge
 * a segment only by the delivery of one sent after it (RFC 8985 6.2), so
 * the RTO was the only way out (issue 12: most RTOs of the 5 % row).
 * RFC 8985 7.2 recommends arming the PTO outside recovery and leaves it
 * out in fast recovery "because [those cases] are addressed by similar
 * mechanisms", the RACK reordering timer among them; it does not forbid
 * it. Our reading: in fast recovery the PTO is armed when no reordering
 * timer is pending (then no such mechanism is left) and a probe may go
 * (7.3's two conditions), restarted by every ACK and every transmission,
 * so it fires only after 2 SRTT of silence. The probe is 7.3's (one
 * segment, new data first), counted in PRR's prr_out (9.3: the overcommit
 * is credited in what congestion control tracks), and its 7.4.2 response
 * is the recovery's own (tcp_tlp_on_ack). Linux does not probe in
 * recovery; with this tern's RTOs in the 5 % row fell from 23-30 to 7-15
 * per 16 MiB. */
void
tcp_tlp_arm(struct tern_stack *st, struct tcp_tcb *tcb, enum tcp_tlp_why why)
{
    if (!tcp_rack_on(st, tcb)) {
        return;
    }
    struct tcp_sender *x = tcb->sx;
    bool rec = x->in_recovery;
    /* 7.2: not in RTO recovery, no probe out; outside fast recovery,
     * nothing SACKed (the reordering timer's case); in it, see above. */
    bool want = tcb->cc_ready && tcp_in_flight(tcb) > 0 && !x->rtx_active && tcb->retries == 0 &&
                !x->tlp_active && may_send_text(tcb->state) &&
                (rec ? x->rack_at == INT64_MAX && x->tlp_sampled : x->sb.n == 0);
    if (!want) {
        tcp_tmr_clear(st, tcb, TCP_TMR_PTO);
        return;
    }
    if (why != TCP_TLP_NEW_DATA && !(rec && why == TCP_TLP_ACTIVITY)) {
        /* 7.2: the PTO starts only after new data went out or an ACK
         * acknowledged new data. Arming it on any other call (a write
         * that sends nothing, an ACK of nothing new) would let a PTO that
         * cannot probe (7.3) fire, re-arm the RTO from now, and be armed
         * again, for ever: the RTO would never come. In fast recovery a
         * PTO is armed only when a probe may go, and the probe ends the
         * arming until an RTT sample (7.3 condition 2). */
        return;
    }
    /* 7.2 TLP_calc_PTO: 2 * SRTT (+ max ACK delay with one segment in
     * flight), 1 s without SRTT, never after the RTO would fire. */
    int64_t pto = 1000000000LL;
    if (tcb->rtt.have_sample) {
        pto = 2 * tcb->rtt.srtt_ns;
        if (tcp_in_flight(tcb) <= tcp_smss(tcb)) {
            pto += TCP_TLP_MAX_ACK_DELAY_NS;
        }
        pto = pto > TCP_TLP_MIN_PTO_NS ? pto : TCP_TLP_MIN_PTO_NS;
    }
    int64_t rto_at = tcp_tmr_when(tcb, TCP_TMR_RTX);
    if (rto_at != INT64_MAX && st->now_ns + pto > rto_at) {
        pto = rto_at - st->now_ns;
    }
    if (pto <= 0) {
        tcp_tmr_clear(st, tcb, TCP_TMR_PTO);
        return; /* the RTO is due first */
    }
    tcp_tmr_set(st, tcb, TCP_TMR_PTO, st->now_ns + pto);
}

void
tcp_tlp_probe(struct tern_stack *st, struct tcp_tcb *tcb)
{
    struct tcp_sender *x = tcb->sx;
    if (!tcb->cc_ready || x->rtx_active || tcp_in_flight(tcb) == 0 || !may_send_text(tcb->state)) {
        return; /* no longer due: the RTO has taken over */
    }
    /* 7.3: at most one probe in flight, and only after a fresh RTT sample;
     * otherwise no probe, and the RTO is re-armed. */
    if (!x->tlp_active && x->tlp_sampled) {
        uint32_t mss = tcp_smss(tcb);
        uint32_t flight = tcp_in_flight(tcb);
        uint32_t avail = unsent_text(tcb);
        uint32_t room = tcb->snd_wnd > flight ? tcb->snd_wnd - flight : 0;
        uint32_t n = avail < mss ? avail : mss;
        n = n < room ? n : room;
        uint32_t sent = n;
        if (n > 0) {
            /* New data, beyond cwnd if need be (7.3: one segment). */
            uint8_t f = WIRE_TCP_ACK | (tcp_psh_at(tcb, tcb->snd_nxt, n) ? WIRE_TCP_PSH : 0);
            tcp_send_segment(st, tcb, tcb->snd_nxt, f, n,
                             "RFC 8985 7.3: loss probe timeout -> probe with new data");
            tcb->snd_nxt += n;
            x->tlp_is_retrans = false;
        } else {
            /* The highest-sequence segment sent (with the FIN if sent). */
            uint32_t text_end = tcb->fin_sent ? tcb->fin_seq : tcb->snd_nxt;
            uint32_t text = text_end - tcb->snd_una;
            uint32_t from = text_end - (text < mss ? text : mss);
            sent =
                tcp_send_text_at(st, tcb, from, mss,
                                 "RFC 8985 7.3: loss probe timeout -> retransmit the last segment");
            x->tlp_is_retrans = true;
        }
        x->tlp_end_seq = tcb->snd_nxt;
        x->tlp_active = true;
        x->tlp_sampled = false;
        x->tlp_in_recovery = x->in_recovery;
        if (x->in_recovery) {
            /* RFC 8985 9.3 with RFC 6937 3: a probe in fast recovery
             * (tcp_tlp_arm) counts in prr_out. */
            tcp_prr_sent(&x->prr, sent);
        }
    }
    tcp_rtx_update(st, tcb, true); /* 7.3: the RTO, not the PTO, comes next */
}

void
tcp_tlp_on_ack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t ack, bool had_sack, bool dup,
               const struct tcp_sack_block *dsack)
{
    struct tcp_sender *x = tcb->sx;
    if (!tcp_rack_on(st, tcb) || !x->tlp_active || seq_lt(ack, x->tlp_end_seq)) {
        return;
    }
    /* 7.4.2 TLP_process_ack. A D-SACK "matching TLP.end_seq" is one whose
     * right edge is where the probe's text ended: TLP.end_seq, or the FIN
     * below it when the probe carried the FIN (a receiver may leave the
     * FIN out of the block, ours does). */
    uint32_t text_end = x->tlp_end_seq;
    if (tcb->fin_sent && x->tlp_end_seq == tcb->fin_seq + 1) {
        text_end = tcb->fin_seq;
    }
    bool dsack_probe = dsack != NULL && seq_lt(dsack->start, dsack->end) &&
                       (dsack->end == x->tlp_end_seq || dsack->end == text_end);
    if (!x->tlp_is_retrans) {
        x->tlp_active = false; /* the probe of new data was delivered */
    } else if (dsack_probe) {
        /* Case 1: the peer got both the original and the probe, so nothing
         * was lost: the episode ends with no congestion response. */
        x->tlp_active = false;
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 8985 7.4.2 case 1: D-SACK for the loss probe -> no loss, cwnd kept");
    } else if (seq_gt(ack, x->tlp_end_seq)) {
        /* The probe repaired a single loss: respond as fast recovery
         * would (RFC 5681 3.2 / RFC 8985 9.3), once. */
        x->tlp_active = false;
        if (x->tlp_in_recovery) {
            /* A probe sent in fast recovery (tcp_tlp_arm) repaired a loss
             * of the episode the recovery already answered: one response
             * per window (RFC 5681 3.2, RFC 8985 9.3; with PRR off the
             * lost retransmission's second response is tcp_rack_loss's). */
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           "RFC 8985 7.4.2: the probe sent in recovery repaired a loss -> the "
                           "recovery's reduction stands");
            return;
        }
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 8985 7.4.2: the loss probe repaired a loss -> reduce cwnd");
        uint32_t flight = tcp_in_flight(tcb);
        tcp_cc_enter_recovery(&x->cc, flight, st->now_ns);
        tcp_cc_exit_recovery(&x->cc, flight, st->now_ns);
    } else if (dup && !had_sack) {
        x->tlp_active = false; /* Case 2: both copies arrived */
    }
}

/* RFC 8985 6.2 step 5 with RFC 8985 9.2: what a RACK recovery sends next,
 * in NextSeg's terms: the first run RACK marked lost (lost retransmissions
 * included), else new data. */
static enum tcp_sack_next
rack_next_seg(const struct tcp_tcb *tcb, bool new_ok, uint32_t *seq, uint32_t *len)
{
    const struct tcp_sender *x = tcb->sx;
    if (tcp_rack_next_lost(&x->rack, &x->sb, tcb->snd_una, tcp_smss(tcb), seq, len)) {
        return TCP_SACK_NEXT_LOST;
    }
    return new_ok ? TCP_SACK_NEXT_NEW : TCP_SACK_NEXT_NONE;
}

/* The sending of a SACK recovery, both loss detections. `fast_rtx`: the
 * recovery starts on this event, and its first retransmission goes out
 * whatever cwnd or sndcnt say (RFC 6675 5 step 4.2; RFC 6937 3.1 assumes
 * that fast retransmit too), counted in prr_out. RFC 6675's own entry
 * sends that segment itself (input.c on_dupack), RACK's comes here. */
static void
recovery_send(struct tern_stack *st, struct tcp_tcb *tcb, bool fast_rtx)
{
    uint32_t mss = tcp_smss(tcb);
    bool rack = tcp_rack_on(st, tcb);
    bool prr = tcp_prr_active(st, tcb);
    for (int guard = 0; guard < 64; guard++) {
        /* How much: PRR's sndcnt, or cwnd - pipe (the same for both loss
         * detections, only pipe's IsLost differs: recovery_pipe). */
        bool forced = fast_rtx && guard == 0;
        if (!forced && prr && tcb->sx->prr.sndcnt == 0) {
            return; /* RFC 6937 3: this ACK's sndcnt is spent */
        }
        if (!forced && !prr && tcb->sx->cc.cwnd < recovery_pipe(st, tcb) + mss) {
            return; /* RFC 6675 5 step C: cwnd - pipe >= 1 SMSS */
        }
        /* What: RFC 6675 NextSeg, or RACK's marks then new data. */
        uint32_t in_wnd = tcp_in_flight(tcb);
        bool new_ok = unsent_text(tcb) > 0 && tcb->snd_wnd > in_wnd;
        /* RFC 6675 4 NextSeg rule 4: a rescue only once HighACK (the last
         * octet cumulatively acknowledged, SND.UNA - 1) is above RescueRxt. */
        bool rescue_ok = !tcb->sx->rescue_valid || seq_gt(tcb->snd_una - 1, tcb->sx->rescue_rxt);
        uint32_t seq = 0, len = 0, sent = 0;
        enum tcp_sack_next k =
            rack ? rack_next_seg(tcb, new_ok, &seq, &len)
                 : tcp_sack_next_seg(&tcb->sx->sb, tcb->snd_una, tcb->snd_nxt, tcb->sx->high_rxt,
                                     mss, new_ok, rescue_ok, &seq, &len);
        switch (k) {
        case TCP_SACK_NEXT_NONE:
            return;
        case TCP_SACK_NEXT_NEW: {
            uint32_t avail = unsent_text(tcb);
            uint32_t room = tcb->snd_wnd - in_wnd;
            uint32_t n = avail < mss ? avail : mss;
            n = n < room ? n : room;
            uint8_t f = WIRE_TCP_ACK | (tcp_psh_at(tcb, tcb->snd_nxt, n) ? WIRE_TCP_PSH : 0);
            const char *rule =
                rack
                    ? (prr ? TERN_RULE("RFC 6937 3 (PRR sndcnt) + RFC 8985 6: new data in recovery")
                           : TERN_RULE("RFC 8985 6 (RFC 6675 5 step C): new data in recovery"))
                    : (prr ? TERN_RULE("RFC 6937 3 (PRR sndcnt) + RFC 6675 NextSeg rule 2: new "
                                       "data in recovery")
                           : TERN_RULE("RFC 6675 5 step C (NextSeg rule 2): new data in recovery"));
            tcp_send_segment(st, tcb, tcb->snd_nxt, f, n, rule);
            tcb->snd_nxt += n;
            sent = n;
            break;
        }
        case TCP_SACK_NEXT_LOST:
        case TCP_SACK_NEXT_HOLE: {
            const char *rule =
                forced ? TERN_RULE(
                             "RFC 8985 6.2 step 5: RACK marked the segment lost -> fast retransmit "
                             "(RFC 6675 5 step 4.2)")
                : rack
                    ? (prr ? TERN_RULE(
                                 "RFC 6937 3 (PRR sndcnt) + RFC 8985 6.2 step 5: RACK marked the "
                                 "segment lost -> retransmit")
                           : TERN_RULE(
                                 "RFC 8985 6.2 step 5: RACK marked the segment lost -> retransmit"))
                    : (prr ? TERN_RULE(
                                 "RFC 6937 3 (PRR sndcnt) + RFC 6675 NextSeg: retransmit a hole "
                                 "in the scoreboard")
                           : TERN_RULE("RFC 6675 5 step C (NextSeg): retransmit a hole in the "
                                       "scoreboard"));
            sent = tcp_send_text_at(st, tcb, seq, len, rule);
            tcb->sx->high_rxt = seq_max(tcb->sx->high_rxt, seq + len);
            break;
        }
        case TCP_SACK_NEXT_RESCUE:
            sent = tcp_send_text_at(
                st, tcb, seq, len,
                prr ? TERN_RULE("RFC 6937 3 (PRR sndcnt) + RFC 6675 NextSeg rule 4: rescue "
                                "retransmission")
                    : TERN_RULE("RFC 6675 5 step C (NextSeg rule 4): rescue retransmission"));
            tcb->sx->rescue_valid = true;
            tcb->sx->rescue_rxt = tcb->sx->recover - 1;
            break;
        }
        if (sent == 0) {
            return; /* nothing went out (no text there): stop rather than spin */
        }
        tcp_prr_sent(&tcb->sx->prr, sent); /* RFC 6937 3: prr_out += data sent */
    }
}

void
tcp_sack_recovery_send(struct tern_stack *st, struct tcp_tcb *tcb)
{
    recovery_send(st, tcb, false);
}

void
tcp_retransmit(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->sx != NULL) {
        tcb->sx->rtt_timing = false; /* Karn (MUST-18): no sample from a resent segment */
    }
    switch (tcb->state) {
    case TERN_TCP_SYN_SENT:
        st->stats.tcp.retransmits++;
        tcp_send_segment(st, tcb, tcb->iss, WIRE_TCP_SYN, 0,
                         "RFC 9293 3.10.8: retransmission timeout -> SYN again");
        break;
    case TERN_TCP_SYN_RECEIVED:
        st->stats.tcp.retransmits++;
        tcp_send_segment(st, tcb, tcb->iss, WIRE_TCP_SYN | WIRE_TCP_ACK, 0,
                         "RFC 9293 3.10.8: retransmission timeout -> SYN,ACK again");
        break;
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_FIN_WAIT_2:
        retransmit_text(st, tcb);
        break;
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_TIME_WAIT:
    case TERN_TCP_STATE_COUNT:
        break;
    }
}
