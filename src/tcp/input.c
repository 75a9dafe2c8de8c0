/*
 * src/tcp/input.c: SEGMENT ARRIVES, RFC 9293 section 3.10.7, in the RFC's
 * own order.
 *
 * Read first: RFC 9293 3.10.7 (all of it), 3.5.2-3.5.3 (resets), 3.6
 * (closing, TIME-WAIT); RFC 5961 3.2, 4.2, 5.2 (blind-attack checks, which
 * tern applies); RFC 6191 section 2 and RFC 1122 4.2.2.13 (a SYN on a
 * TIME-WAIT connection); RFC 5927 4.1 and RFC 9293 3.9.2.2 (ICMP errors).
 *
 * tcp_input() parses and demultiplexes, then dispatches on the state:
 * in_closed() 3.10.7.1, in_listen() 3.10.7.2, in_syn_sent() 3.10.7.3, and
 * in_other() 3.10.7.4, which runs the ordered checks one function each:
 * check_seq (first), check_rst (second), the security check (third: tern
 * has no security compartments, RFC 9293 A.1, so it is skipped), check_syn
 * (fourth), check_ack (fifth), check_urg (sixth), process_text (seventh),
 * check_fin (eighth). Each returns STEP_CONTINUE or STEP_STOP; a step that
 * drops the segment counts and traces the drop reason first. Only
 * tcp_set_state() changes tcb->state.
 */
#include "tcp/tcp.h"

#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "ip/ip.h"
#include "tcp/seq.h"
#include "wire/tcp.h"

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define back_to_listen(st, tcb, rule) (back_to_listen)(st, tcb, TERN_RULE_ARG(rule))
#endif

enum step { STEP_CONTINUE, STEP_STOP };

/* The segment being processed and what its processing decided. */
struct seg_ctx {
    struct tcp_seg seg;   /* trimmed to the window as the checks go */
    uint32_t orig_seq;    /* SEG.SEQ as it arrived */
    bool need_ack;        /* send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> at the end */
    const char *ack_rule; /* ...for this rule (NULL: text or FIN) */
    bool idle;            /* nothing had arrived for an RTO (the quick-ACK phase restarts) */
    bool delay_ack;       /* ...or let the delayed-ACK timer send it (3.8.6.3) */
    bool closed;          /* the TCB was deleted (or returned to LISTEN) */
    struct tcp_tcb *tcb;  /* the TCB the steps work on: the scratch TCB of a compact
                             record until a completed handshake promotes it (mini.c) */
};

static bool
has(const struct tcp_seg *seg, uint8_t flag)
{
    return (seg->flags & flag) != 0;
}

static enum step
drop(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c, enum tern_drop_reason r)
{
    tcp_drop(st, tcb, &c->seg, r);
    return STEP_STOP;
}

/* ---- 3.10.7.1 CLOSED ---- */

static void
in_closed(struct tern_stack *st, const struct tcp_seg *seg)
{
    /* All data is discarded; a RST is discarded; anything else is answered
     * by a RST whose numbers the sender will find acceptable (3.5.2 group 1). */
    tcp_drop(st, NULL, seg, TERN_DROP_TCP_NO_CONN);
    tcp_send_reset_limited(st, NULL, seg, "RFC 9293 3.10.7.1: segment to a closed port -> RST");
}

/* ---- 3.10.7.2 LISTEN ---- */

/* A listener with a fully specified remote handles the SYN itself (RFC
 * 9293 3.10.7.2 in place). */
static void
fill_local(struct tern_stack *st, struct tcp_tcb *lst, const struct tcp_seg *seg)
{
    if (tern_ip_is_any(lst->local_addr)) {
        /* Fill in the unspecified local address now (3.10.7.2). */
        tcp_hash_remove(st, lst);
        lst->local_addr = seg->dst;
        lst->local_wild = true;
        tcp_hash_insert(st, lst);
    }
}

/* RFC 7323 2.2, 3.2 and RFC 2018 2: the options a SYN offered. On a
 * passive open `offered` is what our config allows; on an active open it is
 * what our SYN offered (tcb->*_ok before this call). An option is in use
 * only when both SYNs carried it. */
static void
negotiate_options(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg,
                  bool passive)
{
    const struct wire_tcp_opts *o = seg->opts;
    const struct tern_tcp_config *c = &st->cfg.tcp;
    bool ws = passive ? !c->no_wscale : tcb->ws_ok;
    bool ts = passive ? !c->no_timestamps : tcb->ts_ok;
    bool sack = passive ? !c->no_sack : tcb->sack_ok;
    tcb->ws_ok = ws && o != NULL && o->has_wscale;
    tcb->ts_ok = ts && o != NULL && o->has_ts;
    tcb->sack_ok = sack && o != NULL && o->sack_permitted;
    if (tcb->ws_ok) {
        /* RFC 7323 2.3: a shift above 14 is used as 14. */
        tcb->snd_wscale = o->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o->wscale;
        tcb->rcv_wscale = tcp_wscale_for(st->cfg.tcp.rcvbuf);
    } else {
        tcb->snd_wscale = tcb->rcv_wscale = 0;
    }
    if (tcb->ts_ok) {
        tcb->ts_recent = o->ts_val; /* RFC 7323 4.3 (2): TS.Recent from the SYN */
    }
    tcp_ecn_negotiate(st, tcb, seg, passive);
}

/* LISTEN, third check: a SYN, on `tcb` (the listener itself, or the
 * scratch TCB of a new SYN cache record): SYN-RECEIVED and the SYN,ACK.
 * `min_iss` is not 0 when the SYN reopens a TIME-WAIT connection: the ISS
 * must then lie above it (RFC 1122 4.2.2.13, RFC 9293 3.6 MAY-2 (1)). */
static void
syn_received_from_listen(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg,
                         uint32_t min_iss)
{
    tcb->opened_ns = st->now_ns;
    tcb->rcv_nxt = seg->seq + 1;
    tcb->rcv_adv = tcb->rcv_nxt; /* no window announced yet: the right edge starts at RCV.NXT */
    tcb->irs = seg->seq;
    tcb->iss = tcb->set_iss ? tcb->user_iss
                            : tcp_isn(st, tcb->local_addr, tcb->local_port, tcb->remote_addr,
                                      tcb->remote_port);
    if (min_iss != 0 && seq_le(tcb->iss, min_iss)) {
        tcb->iss = min_iss + 1;
    }
    tcb->snd_una = tcb->iss;
    tcb->snd_nxt = tcb->iss + 1;
    tcp_buf_snd_start(tcb, tcb->iss + 1);
    tcp_buf_rcv_start(tcb, seg->seq + 1);
    tcb->snd_wnd = seg->wnd;
    tcb->max_snd_wnd = seg->wnd;
    tcb->snd_wl1 = seg->seq;
    tcb->passive_open = true; /* MUST-11 */
    tcp_set_mss(st, tcb, seg->has_mss ? seg->mss : 0, 0);
    negotiate_options(st, tcb, seg, true);
    tcb->last_rx_ns = st->now_ns;
    st->stats.tcp.passive_opens++;
    tcp_set_state(st, tcb, TERN_TCP_SYN_RECEIVED, "RFC 9293 3.10.7.2: LISTEN, SYN -> SYN-RECEIVED");
    /* Choice: text or FIN carried on the SYN is not queued (RFC 9293
     * 3.10.7.2 allows queueing it); it is not acknowledged either, so the
     * peer sends it again once the connection is established. */
    tcp_send_segment(st, tcb, tcb->iss, WIRE_TCP_SYN | WIRE_TCP_ACK, 0,
                     "RFC 9293 3.10.7.2: LISTEN, SYN -> <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>");
}

/* A SYN on listener lst. A wildcard listener's new connection is an
 * embryonic record of the SYN cache (mini.c), or, with the cache full, a
 * SYN cookie (RFC 4987 3.6; not when reopening TIME-WAIT record tw_rec,
 * whose ISS must lie above min_iss: that SYN is dropped, the peer will
 * repeat it). False when nothing was created. */
static bool
listen_syn(struct tern_stack *st, struct tcp_tcb *lst, const struct tcp_seg *seg, uint32_t min_iss,
           int tw_rec)
{
    if (lst->remote_port != 0) {
        fill_local(st, lst, seg);
        syn_received_from_listen(st, lst, seg, min_iss);
        tcp_rtx_update(st, lst, true);
        tcp_user_timer_update(st, lst, false);
        return true;
    }
    if (lst->n_pending >= lst->backlog) {
        /* The accept queue is full: as Linux, drop the SYN too (the peer
         * retries); the completed connections wait for ACCEPT. */
        tcp_drop(st, lst, seg, TERN_DROP_TCP_BACKLOG_FULL);
        return false;
    }
    int rec;
    struct tcp_tcb *s = tcp_mini_syn_begin(st, lst, &rec);
    if (s == NULL) {
        if (tw_rec >= 0) {
            tcp_drop(st, lst, seg, TERN_DROP_TCP_SYN_CACHE_FULL);
            return false;
        }
        tcp_cookie_send(st, lst, seg);
        return false;
    }
    s->local_addr = seg->dst;
    s->local_port = seg->dport;
    s->remote_addr = seg->src;
    s->remote_port = seg->sport;
    tcp_set_state(st, s, TERN_TCP_LISTEN,
                  "RFC 9293 3.10.7.2: SYN on a listener -> new connection record in LISTEN");
    syn_received_from_listen(st, s, seg, min_iss);
    tcp_mini_syn_store(st, rec, tw_rec, seg->has_mss ? seg->mss : 0);
    return true;
}

static void in_other(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c);

static void
in_listen(struct tern_stack *st, struct tcp_tcb *lst, struct seg_ctx *c)
{
    const struct tcp_seg *seg = &c->seg;
    /* First, check for a RST: it cannot be meant for this incarnation. */
    if (has(seg, WIRE_TCP_RST)) {
        tcp_drop(st, lst, seg, TERN_DROP_TCP_LISTEN_RST);
        return;
    }
    /* Second, check for an ACK: any ACK is bad in LISTEN -> <SEQ=SEG.ACK><CTL=RST>. */
    if (has(seg, WIRE_TCP_ACK)) {
        /* RFC 4987 3.6: while SYN cookies are out, the ACK may carry one;
         * a valid one rebuilds SYN-RECEIVED and the handshake completes
         * through the ordinary 3.10.7.4 steps. */
        struct tcp_tcb *s = tcp_cookie_open(st, lst, seg);
        if (s != NULL) {
            in_other(st, s, c);
            tcp_timers_cancel(st, &st->tcp->scratch);
            return;
        }
        tcp_drop(st, lst, seg, TERN_DROP_TCP_LISTEN_ACK);
        tcp_send_reset_limited(st, lst, seg, "RFC 9293 3.10.7.2: LISTEN, ACK -> RST");
        return;
    }
    /* Third, check for a SYN (the security check is void: no compartments). */
    if (has(seg, WIRE_TCP_SYN)) {
        listen_syn(st, lst, seg, 0, -1);
        return;
    }
    /* Fourth, other text or control: drop. */
    tcp_drop(st, lst, seg, TERN_DROP_TCP_LISTEN_NO_SYN);
}

/* ---- 3.10.7.3 SYN-SENT ---- */

static enum step after_ack_steps(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c);

static void
syn_sent_syn(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    struct tcp_seg *seg = &c->seg;
    tcb->rcv_nxt = seg->seq + 1;
    tcb->rcv_adv = tcb->rcv_nxt; /* no window announced yet: the right edge starts at RCV.NXT */
    tcb->irs = seg->seq;
    if (has(seg, WIRE_TCP_ACK)) {
        tcb->snd_una = seg->ack; /* the SYN leaves the retransmission queue */
    }
    tcb->snd_wnd = seg->wnd;
    tcb->max_snd_wnd = seg->wnd;
    tcb->snd_wl1 = seg->seq;
    tcb->snd_wl2 = seg->ack;
    tcp_buf_rcv_start(tcb, seg->seq + 1);
    tcp_set_mss(st, tcb, seg->has_mss ? seg->mss : 0, tcb->rcv_mss);
    negotiate_options(st, tcb, seg, false);
    tcb->last_rx_ns = st->now_ns;
    if (seq_gt(tcb->snd_una, tcb->iss)) {
        if (tcb->retries == 0) {
            /* RFC 6298 2.2 / Karn (MUST-18): the SYN was sent once, so its
             * ACK times it: the first RTT sample. */
            tcp_rtt_feed(st, tcb, st->now_ns - tcb->opened_ns);
        }
        tcp_cong_start(st, tcb); /* before retries is cleared: it tells a lost SYN */
        tcb->retries = 0;
        tcp_set_state(st, tcb, TERN_TCP_ESTABLISHED,
                      "RFC 9293 3.10.7.3: SYN-SENT, our SYN acked -> ESTABLISHED");
        tcp_on_established(st, tcb);
        /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>: sent by finish(), after the
         * text and FIN the SYN,ACK may carry, so that one ACK covers them
         * all (or rides on queued text, which 3.10.7.3 allows). */
        c->need_ack = true;
        c->ack_rule =
            TERN_RULE("RFC 9293 3.10.7.3: SYN-SENT, SYN,ACK -> <SEQ=SND.NXT><ACK=RCV.NXT>");
        tcp_rtx_update(st, tcb, true);
        tcp_user_timer_update(st, tcb, true);
        /* Continue at the sixth step with the text and FIN, past the SYN. */
        seg->flags &= (uint8_t)~WIRE_TCP_SYN;
        seg->seq++;
        seg->seg_len--;
        after_ack_steps(st, tcb, c);
        return;
    }
    /* Simultaneous open (3.5 Figure 7, MUST-10): SYN-RECEIVED, SYN,ACK. */
    tcb->passive_open = false; /* MUST-11: reached from SYN-SENT */
    tcp_set_state(st, tcb, TERN_TCP_SYN_RECEIVED,
                  "RFC 9293 3.10.7.3: SYN-SENT, SYN without ACK -> SYN-RECEIVED (MUST-10)");
    tcp_send_segment(st, tcb, tcb->iss, WIRE_TCP_SYN | WIRE_TCP_ACK, 0,
                     "RFC 9293 3.10.7.3: SYN-SENT, SYN -> <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>");
    tcp_rtx_update(st, tcb, true);
}

static void
in_syn_sent(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    const struct tcp_seg *seg = &c->seg;
    bool ack_ok = false;
    /* First, check the ACK bit. */
    if (has(seg, WIRE_TCP_ACK)) {
        if (seq_le(seg->ack, tcb->iss) || seq_gt(seg->ack, tcb->snd_nxt)) {
            drop(st, tcb, c, TERN_DROP_TCP_SYN_SENT_BAD_ACK);
            tcp_send_reset_for(st, tcb, seg,
                               "RFC 9293 3.10.7.3: SYN-SENT, unacceptable ACK -> RST");
            return;
        }
        ack_ok = seq_lt(tcb->snd_una, seg->ack) && seq_le(seg->ack, tcb->snd_nxt);
    }
    /* Second, check the RST bit. Choice: RFC 9293 asks RFC 5961 stacks to
     * match SEG.SEQ against RCV.NXT here, but RCV.NXT is not defined before
     * the peer's SYN; the acceptable ACK already ties the RST to our SYN. */
    if (has(seg, WIRE_TCP_RST)) {
        if (!ack_ok) {
            drop(st, tcb, c, TERN_DROP_TCP_SYN_SENT_RST);
            return;
        }
        st->stats.tcp.attempt_fails++;
        c->closed = true;
        tcp_close_tcb(st, tcb, TERN_ERR_REFUSED,
                      "RFC 9293 3.10.7.3: SYN-SENT, RST with acceptable ACK -> CLOSED (refused)");
        return;
    }
    /* Third, security: no compartments in tern (RFC 9293 A.1), nothing to check. */
    /* Fourth, check the SYN bit. */
    if (has(seg, WIRE_TCP_SYN)) {
        syn_sent_syn(st, tcb, c);
        return;
    }
    /* Fifth, neither SYN nor RST: drop. */
    drop(st, tcb, c, TERN_DROP_TCP_SYN_SENT_NO_SYN);
}

/* ---- 3.10.7.4 other states ---- */

/* Table 6 of 3.10.7.4: is the segment acceptable? */
static bool
seq_acceptable(const struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    uint32_t wnd = tcb->rcv_wnd;
    uint32_t nxt = tcb->rcv_nxt;
    if (seg->seg_len == 0) {
        return wnd == 0 ? seg->seq == nxt : seq_in_range(seg->seq, nxt, nxt + wnd);
    }
    if (wnd == 0) {
        return false;
    }
    return seq_in_range(seg->seq, nxt, nxt + wnd) ||
           seq_in_range(seg->seq + seg->seg_len - 1, nxt, nxt + wnd);
}

/* Trims the parts of an acceptable segment outside the window, SYN and
 * FIN included (3.10.7.4 first check, "tailor actual segments"). */
static void
trim_to_window(const struct tcp_tcb *tcb, struct tcp_seg *seg)
{
    if (seq_lt(seg->seq, tcb->rcv_nxt)) {
        uint32_t cut = tcb->rcv_nxt - seg->seq;
        if (has(seg, WIRE_TCP_SYN)) {
            seg->flags &= (uint8_t)~WIRE_TCP_SYN;
            seg->seq++;
            seg->seg_len--;
            cut--;
        }
        cut = cut < seg->text_len ? cut : seg->text_len;
        seg->text += cut;
        seg->text_len -= cut;
        seg->seq += cut;
        seg->seg_len -= cut;
    }
    uint32_t right = tcb->rcv_nxt + tcb->rcv_wnd;
    bool cut_right = false;
    if (seq_gt(seg->seq + seg->text_len, right)) {
        uint32_t keep = seq_gt(seg->seq, right) ? 0 : right - seg->seq;
        seg->seg_len -= seg->text_len - keep;
        seg->text_len = keep;
        cut_right = true;
    }
    if (has(seg, WIRE_TCP_FIN) && (cut_right || seq_ge(seg->seq + seg->text_len, right))) {
        seg->flags &= (uint8_t)~WIRE_TCP_FIN; /* the FIN lies beyond the window */
        seg->seg_len--;
    }
}

/* An unacceptable segment that the real peer sends when our ACK of it was
 * lost: text or a FIN lying wholly below RCV.NXT, no further below it than
 * the largest window we can announce (65535 << our shift, RFC 7323 2.3;
 * the shift is the smallest that covers our buffer, so this is under twice
 * the buffer), acknowledging what RFC 5961 5.2 accepts. Its ACK (RFC 9293
 * 3.10.7.4 first) is what lets the peer recover, so the connection's reply
 * budget does not hold it back (the stack's ceiling still does). To forge
 * one, a blind attacker must guess SEG.SEQ within that reach and SEG.ACK
 * within MAX.SND.WND: as hard as forging an acceptable segment, which would
 * let it inject text, far worse than drawing an ACK. A pure ACK below
 * RCV.NXT is not one of these: an exchange of such ACKs is an ACK loop,
 * which the limit is there to stop. */
static bool
peer_retransmission(const struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    if (seg->text_len == 0 && !has(seg, WIRE_TCP_FIN)) {
        return false;
    }
    if (has(seg, WIRE_TCP_SYN | WIRE_TCP_RST) || !has(seg, WIRE_TCP_ACK)) {
        return false;
    }
    uint32_t reach = 65535u << tcb->rcv_wscale;
    if (!seq_le(seg->seq + seg->seg_len, tcb->rcv_nxt) || tcb->rcv_nxt - seg->seq > reach) {
        return false;
    }
    return seq_between(seg->ack, tcb->snd_una - tcb->max_snd_wnd, tcb->snd_nxt);
}

/* RFC 2883 4 (receiver): text [start, end) arrived a second time; with
 * SACK in use the next ACK reports it as its first block (a D-SACK). */
static void
note_dsack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t start, uint32_t end)
{
    if (tcb->sack_ok && seq_lt(start, end)) {
        tcb->dsack = (struct tcp_range){start, end};
        tcb->dsack_pending = true;
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 2883 4: text received twice -> D-SACK, first block of the next ACK");
    }
}

/* First: sequence number check. */
static enum step
check_seq(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    struct tcp_seg *seg = &c->seg;
    /* RCV.WND is what we announced: RCV.ADV - RCV.NXT (output.c). */
    tcb->rcv_wnd = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    /* Deviation from Figure 7 (not from the text): in a simultaneous open the
     * peer's SYN,ACK repeats its SYN at SEQ = IRS, one below RCV.NXT, so the
     * acceptability test of this check fails and the segment is answered
     * with an ACK and dropped, its ACK field unprocessed. Figure 7 draws
     * ESTABLISHED at line 6; following the text, both ends reach
     * ESTABLISHED one exchange later, on each other's ACK. */
    if (!seq_acceptable(tcb, seg)) {
        bool zero_window_ack = tcb->rcv_wnd == 0 && seg->seq == tcb->rcv_nxt;
        if (zero_window_ack) {
            /* MUST-66 / 3.10.7.4: with RCV.WND zero, still process the ACK,
             * URG and RST of a segment at RCV.NXT; its text is not taken. */
            seg->seg_len -= seg->text_len + (has(seg, WIRE_TCP_FIN) ? 1u : 0u);
            seg->text_len = 0;
            seg->flags &= (uint8_t)~WIRE_TCP_FIN;
            c->need_ack = true;
            return STEP_CONTINUE;
        }
        if (tcb->state == TERN_TCP_TIME_WAIT && has(seg, WIRE_TCP_FIN) &&
            seg->seq + seg->seg_len == tcb->rcv_nxt) {
            /* 3.10.7.4 fifth, TIME-WAIT: a retransmission of the remote FIN:
             * acknowledge it and restart the 2 MSL timeout. */
            drop(st, tcb, c, TERN_DROP_TCP_SEQ_UNACCEPTABLE);
            tcp_send_ack(st, tcb, "RFC 9293 3.10.7.4: TIME-WAIT, FIN again -> ACK, restart 2 MSL");
            tcp_time_wait_start(st, tcb);
            return STEP_STOP;
        }
        if (has(seg, WIRE_TCP_RST)) {
            /* RFC 5961 3.2 (1): an out-of-window RST is silently dropped. */
            return drop(st, tcb, c, TERN_DROP_TCP_RST_OUT_OF_WINDOW);
        }
        drop(st, tcb, c, TERN_DROP_TCP_SEQ_UNACCEPTABLE);
        bool dup = peer_retransmission(tcb, seg);
        if (dup && seg->text_len > 0) {
            /* RFC 2883 4.1: text wholly below RCV.NXT is a duplicate. */
            note_dsack(st, tcb, seg->seq, seg->seq + seg->text_len);
        }
        /* A copy of text we have: its ACK echoes its TSval, as Appendix D
         * of RFC 7323 orders it (the peer, whose ACK of the original may
         * have been lost, gets an RTT sample and its backed-off RTO comes
         * down), but TS.Recent is not left at it (ts_recent_update). */
        uint32_t keep = tcb->ts_recent;
        bool echo = dup && seg->text_len > 0 && tcb->ts_ok && seg->opts != NULL &&
                    seg->opts->has_ts && !seq_lt(seg->opts->ts_val, tcb->ts_recent) &&
                    seq_le(seg->seq, tcb->last_ack_sent);
        if (echo) {
            tcb->ts_recent = seg->opts->ts_val;
        }
        tcp_send_corrective_ack(
            st, tcb, dup,
            "RFC 9293 3.10.7.4 first: unacceptable segment -> <SEQ=SND.NXT><ACK=RCV.NXT>");
        if (echo) {
            tcb->ts_recent = keep;
        }
        return STEP_STOP;
    }
    if (seg->text_len > 0 && seq_lt(seg->seq, tcb->rcv_nxt)) {
        /* RFC 2883 4.1: the part below RCV.NXT is a duplicate. */
        uint32_t start = seg->seq + (has(seg, WIRE_TCP_SYN) ? 1u : 0u);
        uint32_t end = seq_lt(seg->seq + seg->text_len, tcb->rcv_nxt) ? seg->seq + seg->text_len
                                                                      : tcb->rcv_nxt;
        note_dsack(st, tcb, start, end);
    }
    trim_to_window(tcb, seg);
    return STEP_CONTINUE;
}

/* SYN-RECEIVED from a passive OPEN returns to LISTEN (second and fourth
 * checks): a child is deleted, a fully specified listener starts over. */
static void(back_to_listen)(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule)
{
    st->stats.tcp.attempt_fails++;
    if (tcb->role == TCP_ROLE_CHILD || tcb->role == TCP_ROLE_SCRATCH) {
        tcp_child_to_listen(st, tcb, rule);
        return;
    }
    tcp_set_state(st, tcb, TERN_TCP_LISTEN, rule);
    tcp_tcb_reset(st, tcb);
    if (tcb->local_wild) {
        tcp_hash_remove(st, tcb);
        tcb->local_addr = tern_ip_any_of(tcb->remote_addr);
        tcb->local_wild = false;
        tcp_hash_insert(st, tcb);
    }
}

/* Second: check the RST bit (with RFC 5961 3.2). */
static enum step
check_rst(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    if (!has(&c->seg, WIRE_TCP_RST)) {
        return STEP_CONTINUE;
    }
    if (c->orig_seq != tcb->rcv_nxt) {
        /* RFC 5961 3.2 (3): in the window but not exact -> challenge ACK. */
        drop(st, tcb, c, TERN_DROP_TCP_RST_NOT_EXACT);
        tcp_send_challenge_ack(st, tcb, "RFC 5961 3.2: in-window RST not exact -> challenge ACK");
        return STEP_STOP;
    }
    c->closed = true;
    switch (tcb->state) {
    case TERN_TCP_SYN_RECEIVED:
        if (tcb->passive_open) {
            back_to_listen(st, tcb,
                           "RFC 9293 3.10.7.4 second: SYN-RECEIVED (passive), RST -> LISTEN");
        } else {
            st->stats.tcp.attempt_fails++;
            tcp_close_tcb(
                st, tcb, TERN_ERR_REFUSED,
                "RFC 9293 3.10.7.4 second: SYN-RECEIVED (active), RST -> CLOSED (refused)");
        }
        break;
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSE_WAIT:
        st->stats.tcp.resets_rx++;
        tcp_close_tcb(st, tcb, TERN_ERR_RESET,
                      "RFC 9293 3.10.7.4 second: RST -> CLOSED (connection reset)");
        break;
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
        st->stats.tcp.resets_rx++;
        tcp_close_tcb(st, tcb, TERN_ERR_RESET, "RFC 9293 3.10.7.4 second: RST -> CLOSED");
        break;
    case TERN_TCP_TIME_WAIT:
        /* Choice: RFC 9293's text (enter CLOSED), not RFC 1337's advice to
         * ignore RSTs in TIME-WAIT; the RST must still hit RCV.NXT exactly. */
        tcp_close_tcb(st, tcb, 0, "RFC 9293 3.10.7.4 second: TIME-WAIT, RST -> CLOSED");
        break;
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_STATE_COUNT:
        break;
    }
    return STEP_STOP;
}

/* Fourth: check the SYN bit (with RFC 5961 4.2). */
static enum step
check_syn(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    if (!has(&c->seg, WIRE_TCP_SYN)) {
        return STEP_CONTINUE;
    }
    if (tcb->state == TERN_TCP_SYN_RECEIVED && tcb->passive_open) {
        c->closed = true;
        back_to_listen(st, tcb, "RFC 9293 3.10.7.4 fourth: SYN-RECEIVED (passive), SYN -> LISTEN");
        return STEP_STOP;
    }
    /* Synchronized states (and SYN-RECEIVED from an active OPEN): RFC 5961
     * 4.2, whatever the sequence number, a challenge ACK, then drop. */
    drop(st, tcb, c, TERN_DROP_TCP_SYN_SYNCHRONIZED);
    tcp_send_challenge_ack(st, tcb, "RFC 5961 4.2: SYN in a synchronized state -> challenge ACK");
    return STEP_STOP;
}

/* Records [start, end) as held out of order, merging with the ranges it
 * touches; the newest range goes first (RFC 2018 4: the first SACK block
 * reports the most recent segment). When the TCB's ranges are all used
 * they move to a pool chunk (tcp_ooo_grow); only when that fails too is
 * the oldest forgotten (its text will be sent again: RFC 2018 8's
 * reneging, the last resort). */
static void
ooo_add(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t start, uint32_t end)
{
    struct tcp_range r = {start, end};
    struct tcp_range *o = tcp_ooo(st, tcb);
    unsigned k = 0;
    for (unsigned i = 0; i < tcb->n_ooo; i++) {
        struct tcp_range x = o[i];
        if (seq_le(x.start, r.end) && seq_le(r.start, x.end)) {
            r.start = seq_lt(x.start, r.start) ? x.start : r.start;
            r.end = seq_max(x.end, r.end);
        } else {
            o[k++] = x;
        }
    }
    if (k == tcp_ooo_cap(tcb)) {
        struct tcp_range *big = k == tcb->n_ooo ? tcp_ooo_grow(st, tcb) : NULL;
        if (big != NULL) {
            o = big; /* n_ooo is k + 1 now */
        } else {
            k--; /* the oldest is forgotten */
        }
    }
    memmove(&o[1], &o[0], k * sizeof(o[0]));
    o[0] = r;
    tcp_ooo_resize(st, tcb, k + 1);
}

/* Seventh, before any text is taken (RFC 1122 4.2.2.13, RFC 9293 3.6
 * MAY-1 and SHLD-3): a user who gave the connection back after CLOSE
 * (tern_tcp_release; the socket layer's close()) reads nothing more, so
 * new text arriving now would be lost without a word. It is answered with
 * a RST, <SEQ=SEG.ACK><CTL=RST> (the sequence number the peer expects
 * from us), and the connection ends; Linux does the same in FIN-WAIT-1
 * and FIN-WAIT-2. So does a user who called CLOSE and said it will read
 * no more (tern_tcp_shutdown_receive; shutdown(SHUT_RDWR)). A user who
 * only called CLOSE ("no more to send", the socket layer's
 * shutdown(SHUT_WR)) still receives. Only a segment that
 * passed every check before this one gets here, so a blind sender cannot
 * draw the RST without guessing an acceptable SEQ and ACK. */
static enum step
check_text_after_close(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    const struct tcp_seg *seg = &c->seg;
    bool takes_text = tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_FIN_WAIT_1 ||
                      tcb->state == TERN_TCP_FIN_WAIT_2;
    bool reads_no_more =
        tcb->user_released || (tcb->rcv_shut && tcb->state != TERN_TCP_ESTABLISHED);
    if (!reads_no_more || seg->text_len == 0 || !takes_text) {
        return STEP_CONTINUE;
    }
    drop(st, tcb, c, TERN_DROP_TCP_TEXT_AFTER_CLOSE);
    tcp_send_reset_for(st, tcb, seg,
                       "RFC 9293 3.6 (SHLD-3): text after CLOSE -> <SEQ=SEG.ACK><CTL=RST>");
    c->closed = true;
    tcp_close_tcb(st, tcb, TERN_ERR_RESET,
                  "RFC 9293 3.6 (SHLD-3): text after CLOSE, data lost -> RST, CLOSED");
    return STEP_STOP;
}

/* RFC 9293 3.10.7.4 seventh (SHLD-31): the text (and FIN) of an
 * acceptable segment that starts beyond RCV.NXT is held in the receive
 * buffer at its sequence number and delivered when the hole fills. This
 * runs after the fifth step: only a segment that passed every earlier
 * check (sequence, RST, SYN, the ACK bit and RFC 5961 5.2's ACK range)
 * may put text in the buffer, and the ACK and window of every acceptable
 * segment are processed, in order or not (issue 11 items 0 and 1). An
 * out-of-order segment with text or FIN is answered at once with an ACK of
 * RCV.NXT (RFC 5681 4.2, MAY-13), with SACK blocks when agreed; a bare ACK
 * beyond RCV.NXT is not answered (an ACK for an ACK could loop). */
static enum step
hold_out_of_order(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    struct tcp_seg *seg = &c->seg;
    if (seg->seq == tcb->rcv_nxt) {
        return STEP_CONTINUE;
    }
    bool fin = has(seg, WIRE_TCP_FIN);
    if (seg->text_len == 0 && !fin) {
        return STEP_STOP; /* its ACK and window were processed: nothing to hold */
    }
    bool takes_text = tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_FIN_WAIT_1 ||
                      tcb->state == TERN_TCP_FIN_WAIT_2;
    /* Inside the announced window: its chunks are reserved (buf.c). */
    if (takes_text &&
        (seg->text_len == 0 || tcp_buf_rcv_put(st, tcb, seg->seq, seg->text, seg->text_len))) {
        if (seg->text_len > 0) {
            const struct tcp_range *o = tcp_ooo(st, tcb);
            for (unsigned i = 0; i < tcb->n_ooo; i++) {
                if (seq_le(o[i].start, seg->seq) && seq_le(seg->seq + seg->text_len, o[i].end)) {
                    /* RFC 2883 4.2: a copy of text already held. */
                    note_dsack(st, tcb, seg->seq, seg->seq + seg->text_len);
                    break;
                }
            }
            ooo_add(st, tcb, seg->seq, seg->seq + seg->text_len);
        }
        if (fin) {
            tcb->ooo_fin = true; /* takes effect when RCV.NXT reaches it */
            tcb->ooo_fin_seq = seg->seq + seg->text_len;
        }
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 9293 3.10.7.4 seventh (SHLD-31): out-of-order text held");
        tcp_send_ack(st, tcb, "RFC 5681 4.2: out-of-order segment -> immediate ACK of RCV.NXT");
        return STEP_STOP;
    }
    drop(st, tcb, c, takes_text ? TERN_DROP_TCP_RCV_BUF_FULL : TERN_DROP_TCP_OUT_OF_ORDER);
    tcp_send_ack(st, tcb,
                 "RFC 9293 3.10.7.4 seventh (MAY-13): out-of-order segment -> ACK RCV.NXT");
    return STEP_STOP;
}

static bool
fin_acked(const struct tcp_tcb *tcb)
{
    return tcb->fin_sent && seq_gt(tcb->snd_una, tcb->fin_seq);
}

/* RFC 6298 2.2-2.3 with RFC 7323 4 (RTTM): the RTT sample an ACK of new
 * data gives: from the echoed timestamp, else from the one timed segment
 * (Karn's rule, MUST-18: never a retransmitted one, see tcp_retransmit). */
static void
rtt_from_ack(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    /* Choice: after a loss the peer's TS.Recent may still be the TSval of
     * a segment sent before the recovery (RFC 7323 4.3 holds it while a
     * hole is open), which would count the whole recovery as RTT: only
     * echoes of a TSval sent after the last loss event are samples. */
    struct tcp_sender *x = tcb->sx;
    bool ts_fresh =
        x == NULL || !x->ts_mark_set || !seq_lt(seg->opts ? seg->opts->ts_ecr : 0, x->ts_mark);
    if (tcb->ts_ok && seg->opts != NULL && seg->opts->has_ts && seg->opts->ts_ecr != 0) {
        if (!ts_fresh) {
            return;
        }
        uint32_t ms = tcp_ts_now(st) - seg->opts->ts_ecr;
        if (ms < 60000u) {
            tcp_rtt_feed(st, tcb, (int64_t)ms * 1000000 + 500000);
        }
        if (x != NULL) {
            x->rtt_timing = false;
        }
        return;
    }
    if (x != NULL && x->rtt_timing && seq_gt(seg->ack, x->rtt_seq)) {
        x->rtt_timing = false;
        tcp_rtt_feed(st, tcb, st->now_ns - x->rtt_start_ns);
    }
}

/* RFC 5681 2: a duplicate ACK acknowledges nothing new, carries no text,
 * SYN or FIN, leaves the window as it was, while data is outstanding. */
static bool
is_dupack(const struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    return seg->ack == tcb->snd_una && seg->text_len == 0 &&
           !(seg->flags & (WIRE_TCP_SYN | WIRE_TCP_FIN)) && seg->wnd == tcb->snd_wnd &&
           tcb->snd_una != tcb->snd_nxt;
}

/* RFC 3708 2 with RFC 4015 3: every segment the loss episode resent came
 * back D-SACKed, so the peer had them all: the episode was a false alarm
 * (reordering or a delay spike) and the cut in cwnd and ssthresh is undone.
 * A recovery still running ends here (its "recover" stays, so the same
 * window of data does not start another), unless RACK holds text marked
 * lost and not yet resent. */
static void
undo_episode(struct tern_stack *st, struct tcp_tcb *tcb)
{
    struct tcp_sender *x = tcb->sx;
    x->undo_valid = false;
    tcp_cc_undo(&x->cc, x->undo_cwnd, x->undo_ssthresh);
    st->stats.tcp.undos++;
    /* RFC 8985 6.2 step 5 and 9.3: text RACK marked lost after the
     * episode's last retransmission is not shown delivered by the undo; it
     * still has to go out, and only the recovery sends it (RACK does not
     * mark it twice). Ending the recovery here left it to the RTO. */
    bool rack_lost =
        tcp_rack_on(st, tcb) && tcp_rack_lost_bytes(&x->rack, &x->sb, tcb->snd_una) > 0;
    if (x->in_recovery && !rack_lost) {
        x->in_recovery = false;
        x->dupacks = 0;
    }
    tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                   "RFC 3708 2, RFC 4015 3: every retransmission D-SACKed -> spurious, "
                   "restore cwnd and ssthresh");
}

/* RFC 3522 2 (Eifel detection): the first ACK of new data after a timeout
 * echoes a TSval older than the retransmission's, so it answers the
 * original: the timeout was spurious. RFC 4015 3 (response): cwnd and
 * ssthresh come back, and the go-back-N resending stops; new data goes on
 * from SND.NXT. */
static void
eifel_check(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    struct tcp_sender *x = tcb->sx;
    x->eifel_armed = false;
    if (seg->opts == NULL || !seg->opts->has_ts || seg->opts->ts_ecr == 0 ||
        !seq_lt(seg->opts->ts_ecr, x->eifel_ts) || !x->undo_valid) {
        return;
    }
    x->undo_valid = false;
    tcp_cc_undo(&x->cc, x->undo_cwnd, x->undo_ssthresh);
    x->rtx_active = false;
    st->stats.tcp.spurious_rtx++;
    st->stats.tcp.undos++;
    tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                   "RFC 3522 2, RFC 4015 3: ACK echoes a TSval older than the retransmission -> "
                   "spurious timeout, restore cwnd and ssthresh");
}

/* RFC 2883 4 (sender): the peer reports [b.start, b.end) arrived twice. */
static void
on_dsack(struct tern_stack *st, struct tcp_tcb *tcb, struct tcp_sack_block b)
{
    st->stats.tcp.dsacks_rx++;
    struct tcp_sender *x = tcb->sx;
    if (x == NULL) {
        return;
    }
    x->dsacks_seen++;
    tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                   "RFC 2883 4: first SACK block at or below the ACK, or inside the second -> "
                   "D-SACK, a segment arrived twice");
    if (tcp_rack_on(st, tcb)) {
        tcp_rack_on_dsack(&x->rack, tcb->snd_una, tcb->snd_nxt);
    }
    if (!x->undo_valid || x->undo_retrans == 0 || !seq_ge(b.start, x->undo_start) ||
        !seq_le(b.end, x->undo_end)) {
        return; /* not a copy this episode resent */
    }
    uint32_t mss = tcp_smss(tcb);
    uint32_t segs = (b.end - b.start + mss - 1) / mss;
    segs = segs < x->undo_retrans ? segs : x->undo_retrans;
    x->undo_retrans = (uint16_t)(x->undo_retrans - segs);
    st->stats.tcp.spurious_rtx += segs;
    if (x->undo_retrans == 0) {
        undo_episode(st, tcb);
    }
}

/* RFC 2018 5 / RFC 6675 3: feeds an ACK's SACK blocks to the scoreboard;
 * returns the bytes newly SACKed. A D-SACK (RFC 2883 4) is taken out
 * first (*dsack set, the block in *dblk) and never reaches the
 * scoreboard. */
static uint32_t
sack_update(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg, uint32_t snd_una,
            bool *dsack, struct tcp_sack_block *dblk)
{
    struct tcp_sack_block b[WIRE_TCP_MAX_SACK];
    unsigned n = 0;
    if (tcb->sack_ok && seg->opts != NULL) {
        for (unsigned i = 0; i < seg->opts->sack_count && i < WIRE_TCP_MAX_SACK; i++) {
            b[n].start = seg->opts->sack[i].left;
            b[n].end = seg->opts->sack[i].right;
            n++;
        }
    }
    unsigned first = 0;
    if (tcp_sack_first_is_dsack(b, n, seg->ack)) {
        on_dsack(st, tcb, b[0]);
        first = 1;
        *dsack = true;
        *dblk = b[0];
    }
    if (tcb->sx == NULL) {
        return 0; /* nothing of ours in flight to SACK */
    }
    return tcp_sack_update(&tcb->sx->sb, snd_una, tcb->snd_nxt, n > first ? b + first : NULL,
                           n - first);
}

/* RFC 6937 3 on an ACK of a SACK recovery. With RACK the same step runs
 * later, in tcp_rack_loss, once RACK has marked what this ACK shows lost:
 * pipe counts those marks. */
static void
prr_on_ack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t delivered)
{
    if (!tcp_rack_on(st, tcb)) {
        tcp_prr_ack(st, tcb, delivered);
    }
}

/* RFC 5681 3.2 / RFC 6582 3.2 / RFC 6675 5: the duplicate-ACK side. */
static void
on_dupack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t delivered)
{
    /* Rule texts are static (trace.h): one per count below the threshold.
     * The table is not: without texts its entries are ids (core/rule.h). */
    const char *const counted[] = {
        TERN_RULE("RFC 5681 3.2: duplicate ACK 1 of 3 counted"),
        TERN_RULE("RFC 5681 3.2: duplicate ACK 2 of 3 counted"),
    };
    tcb->sx->dupacks++;
    if (tcb->sx->in_recovery) {
        /* RFC 5681 3.2 step 4: each further duplicate inflates cwnd (not
         * with SACK, where pipe does the accounting). */
        tcp_trace_note(
            st, TERN_TRACE_EVENT, tcb,
            tcb->sack_ok
                ? TERN_RULE("RFC 6675 5 step A: duplicate ACK in recovery -> update pipe")
                : TERN_RULE("RFC 5681 3.2 step 4: duplicate ACK in recovery -> inflate cwnd"));
        tcp_cc_on_dupack(&tcb->sx->cc, tcp_in_flight(tcb), st->now_ns);
        prr_on_ack(st, tcb, delivered); /* RFC 6937 3: on every ACK in recovery */
        return;
    }
    if (tcp_rack_on(st, tcb)) {
        /* RFC 8985 6.2: RACK, not the count, decides losses (tcp_rack_loss
         * runs on every ACK); the count still drives limited transmit. */
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 8985 6.2: duplicate ACK counted, RACK decides losses");
        return;
    }
    /* RFC 6675 5 step 4: with SACK, IsLost(SND.UNA) also means loss. */
    bool sack_loss = tcb->sack_ok && tcp_sack_is_lost(&tcb->sx->sb, tcb->snd_una, tcp_smss(tcb));
    if (tcb->sx->dupacks < TCP_DUPACK_THRESH && !sack_loss) {
        /* RFC 5681 3.2: count it; RFC 3042 limited transmit, see tcp_output. */
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       tcb->sx->dupacks <= 2 ? counted[tcb->sx->dupacks - 1]
                                             : TERN_RULE("RFC 5681 3.2: duplicate ACK counted"));
        return;
    }
    /* RFC 6582 3.2 step 2: only when the ACK covers the old "recover". */
    if (!seq_ge(tcb->snd_una, tcb->sx->recover) && tcb->sx->recover != tcb->iss) {
        return;
    }
    st->stats.tcp.fast_retransmits++;
    const char *rule =
        tcb->sx->dupacks >= TCP_DUPACK_THRESH
            ? TERN_RULE("RFC 5681 3.2: third duplicate ACK -> fast retransmit")
            : TERN_RULE("RFC 6675 5: IsLost(SND.UNA) from SACK blocks -> retransmit");
    tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                   tcb->sack_ok
                       ? TERN_RULE("RFC 6675 5: loss detected -> enter SACK-based loss recovery")
                       : TERN_RULE("RFC 6582 3.2 step 2: enter fast recovery, recover = SND.NXT"));
    tcp_undo_begin(tcb); /* RFC 3708: cwnd and ssthresh before the cut */
    tcb->sx->recover = tcb->snd_nxt;
    tcb->sx->in_recovery = true;
    tcb->sx->ts_mark = tcp_ts_now(st);
    tcb->sx->ts_mark_set = true;
    /* RFC 5681 3.2 step 2: limited-transmit text is not counted. */
    uint32_t flight = tcp_in_flight(tcb);
    flight = flight > tcb->sx->lt_bytes ? flight - tcb->sx->lt_bytes : 0;
    tcp_cc_enter_recovery(&tcb->sx->cc, flight, st->now_ns);
    tcp_ecn_reduced(tcb); /* RFC 3168 6.1.2 */
    /* RFC 6937 3: PRR starts with RecoverFS = that FlightSize (without
     * limited-transmit text, as the RFC's example counts it), and this ACK
     * is its first; the fast retransmission is sent whatever its sndcnt
     * and counts in prr_out. */
    tcp_prr_init(&tcb->sx->prr, flight);
    tcb->sx->high_rxt = tcb->snd_una;
    prr_on_ack(st, tcb, delivered);
    tcb->sx->rtt_timing = false; /* Karn: the timed segment may be the one resent */
    tcp_prr_sent(&tcb->sx->prr, tcp_send_text_at(st, tcb, tcb->snd_una, tcp_smss(tcb), rule));
    tcb->sx->high_rxt = tcb->snd_una + tcp_smss(tcb); /* RFC 6675 4.3 */
    /* RFC 6675 5 (4.3): RescueRxt too starts at the last octet just resent,
     * so no rescue (NextSeg rule 4) repeats this segment at once. */
    tcb->sx->rescue_valid = true;
    tcb->sx->rescue_rxt = tcb->sx->high_rxt - 1;
    tcp_rtx_update(st, tcb, true);
}

/* New data acknowledged while in recovery: RFC 6582 3.2 steps 3 (full ACK:
 * leave recovery) and 4 (partial ACK: resend the next hole, deflate). */
static void
recovery_ack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t acked, uint32_t delivered)
{
    if (seq_ge(tcb->snd_una, tcb->sx->recover)) {
        tcb->sx->in_recovery = false;
        tcb->sx->dupacks = 0;
        tcp_rack_on_recovery_exit(&tcb->sx->rack);
        tcp_cc_exit_recovery(&tcb->sx->cc, tcp_in_flight(tcb), st->now_ns);
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 6582 3.2 step 3: full acknowledgment -> leave fast recovery");
        return;
    }
    tcp_cc_on_partial_ack(&tcb->sx->cc, acked, st->now_ns);
    if (seq_lt(tcb->sx->high_rxt, tcb->snd_una)) {
        tcb->sx->high_rxt = tcb->snd_una;
    }
    prr_on_ack(st, tcb, delivered); /* RFC 6937 3: on every ACK in recovery */
    if (!tcb->sack_ok) {
        tcp_send_text_at(st, tcb, tcb->snd_una, tcp_smss(tcb),
                         "RFC 6582 3.2 step 4: partial acknowledgment -> retransmit next segment");
    }
}

/* RFC 8985 6.2 step 2 condition 1: the latest send time the ACK's TSecr
 * can stand for (the last nanosecond of its tick on our 1 ms TS clock,
 * tcp_ts_now), INT64_MAX when it carries no usable echo. */
static int64_t
rack_echo_ns(const struct tern_stack *st, const struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    if (!tcb->ts_ok || seg->opts == NULL || !seg->opts->has_ts || seg->opts->ts_ecr == 0) {
        return INT64_MAX;
    }
    uint32_t ago = tcp_ts_now(st) - seg->opts->ts_ecr; /* ticks */
    if (ago > 0x7fffffffu) {
        return INT64_MAX; /* an echo from the future: no information */
    }
    int64_t tick = st->now_ns / 1000000 - (int64_t)ago;
    return (tick + 1) * 1000000 - 1;
}

/* The ESTABLISHED processing of an acceptable ACK (3.10.7.4 fifth): advance
 * SND.UNA, release acknowledged text, update the send window. */
static void
ack_established(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    /* RFC 8985 6.2 steps 1-3 need what this ACK newly delivers: the
     * scoreboard and SND.UNA as they were before it. */
    bool rack = tcp_rack_on(st, tcb);
    struct tcp_sack_sb old_sb;
    uint32_t old_una = tcb->snd_una;
    bool dsack = false;                  /* the ACK carried a D-SACK (RFC 2883 4) */
    struct tcp_sack_block dblk = {0, 0}; /* its block */
    uint32_t delivered = 0;              /* RFC 6937 2 DeliveredData */
    if (rack) {
        old_sb = tcb->sx->sb;
    }
    if (seq_lt(tcb->snd_una, seg->ack) && seq_le(seg->ack, tcb->snd_nxt)) {
        uint32_t acked = seg->ack - tcb->snd_una;
        uint32_t flight_before = tcp_in_flight(tcb);
        uint32_t sacked_before = tcb->sx != NULL ? tcp_sack_sacked_bytes(&tcb->sx->sb) : 0;
        sack_update(st, tcb, seg, seg->ack, &dsack, &dblk);
        /* RFC 6937 2: DeliveredData = the advance of SND.UNA plus the
         * signed change of the SACKed bytes (text SACKed before and now
         * covered by the ACK was delivered already). */
        uint32_t sacked_after = tcb->sx != NULL ? tcp_sack_sacked_bytes(&tcb->sx->sb) : 0;
        delivered = acked + sacked_after;
        delivered = delivered > sacked_before ? delivered - sacked_before : 0;
        uint32_t text_end = seg->ack;
        if (tcb->fin_sent && seq_gt(text_end, tcb->fin_seq)) {
            text_end = tcb->fin_seq;
        }
        if (seq_gt(text_end, tcb->snd.start)) {
            tcp_buf_acked(st, tcb, text_end - tcb->snd.start);
            tcp_event(st, tcb, TERN_TCP_EV_WRITABLE);
        }
        rtt_from_ack(st, tcb, seg);
        tcb->snd_una = seg->ack;
        if (tcb->urg_snd && !seq_lt(tcb->snd_una, tcb->snd_up)) {
            tcb->urg_snd = false; /* all urgent data acknowledged: URG no longer sent */
        }
        struct tcp_sender *x = tcb->sx; /* NULL only when a FIN alone was in flight */
        if (x != NULL) {
            if (x->eifel_armed) {
                eifel_check(st, tcb, seg);
            }
            x->lt_bytes = 0;
            if (x->rtx_active && !seq_lt(tcb->snd_una, tcb->snd_nxt)) {
                x->rtx_active = false;
            }
            if (x->in_recovery) {
                recovery_ack(st, tcb, acked, delivered);
            } else if (tcb->cc_ready) {
                x->dupacks = 0;
                tcp_cc_on_ack(&x->cc, acked, flight_before,
                              tcb->rtt.have_sample ? tcb->rtt.srtt_ns : 0, st->now_ns);
            }
        }
        /* RFC 6298 5.3: new data acknowledged restarts the timer; 5.7
         * leaves the backed-off RTO until a new sample. */
        tcb->retries = 0;
        tcp_rtx_update(st, tcb, true);
        tcp_user_timer_update(st, tcb, true);
        if (tcb->snd_una == tcb->snd_nxt) {
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           "RFC 9293 3.10.7.4 fifth: all outstanding data acknowledged");
        }
    } else {
        /* RFC 6675 2: an ACK whose SACK blocks cover new data counts as a
         * duplicate too. */
        uint32_t sacked_before = tcb->sx != NULL ? tcp_sack_sacked_bytes(&tcb->sx->sb) : 0;
        uint32_t newly = sack_update(st, tcb, seg, tcb->snd_una, &dsack, &dblk);
        /* RFC 6937 2: DeliveredData here is the change of the SACKed bytes. */
        uint32_t sacked_after = tcb->sx != NULL ? tcp_sack_sacked_bytes(&tcb->sx->sb) : 0;
        delivered = sacked_after > sacked_before ? sacked_after - sacked_before : 0;
        /* RFC 2883 5 with RFC 6675 2: an ACK that only reports a duplicate
         * says nothing about loss: not a duplicate ACK. */
        bool dup = is_dupack(tcb, seg) && !(dsack && newly == 0);
        if (tcb->sx != NULL && tcb->cc_ready && (dup || (newly > 0 && seg->ack == tcb->snd_una))) {
            on_dupack(st, tcb, delivered);
            if (tcp_snd_room(st, tcb) > 0) {
                /* cwnd grew (recovery inflation): so did the send buffer. */
                tcp_event(st, tcb, TERN_TCP_EV_WRITABLE);
            }
        }
    }
    /* Window update, guarded by SND.WL1/SND.WL2 against old segments. */
    if (seq_le(tcb->snd_una, seg->ack) && seq_le(seg->ack, tcb->snd_nxt) &&
        (seq_lt(tcb->snd_wl1, seg->seq) ||
         (tcb->snd_wl1 == seg->seq && seq_le(tcb->snd_wl2, seg->ack)))) {
        if (tcb->snd_wnd == 0 && seg->wnd > 0 && seg->ack == tcb->snd_una &&
            tcb->snd_nxt - tcb->snd_una == 1 && !tcb->fin_sent) {
            /* RFC 9293 3.8.6.1: the zero-window probe's octet went into a
             * closed window and the window opens without acknowledging it:
             * the peer dropped it. It goes again, first, with the text after
             * it; sending on from beyond it would open a hole at the peer
             * and cost a retransmission timeout (issue 11 item 12). */
            tcb->snd_nxt = tcb->snd_una;
            if (tcb->sx != NULL) {
                tcb->sx->rtt_timing = false;
            }
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           "RFC 9293 3.8.6.1: window opened, probe octet not taken -> resend it");
        }
        tcb->snd_wnd = seg->wnd;
        tcb->snd_wl1 = seg->seq;
        tcb->snd_wl2 = seg->ack;
        if (seg->wnd > tcb->max_snd_wnd) {
            tcb->max_snd_wnd = seg->wnd;
        }
        if (seg->wnd == 0) {
            /* RFC 9293 3.8.6.1 (MUST-37): a peer answering our probes with
             * a zero window is alive; do not time the connection out. */
            tcp_user_timer_update(st, tcb, true);
        }
    }
    if (rack && tcp_rack_on(st, tcb)) {
        tcp_rack_on_ack(&tcb->sx->rack, &old_sb, &tcb->sx->sb, old_una, tcb->snd_una, st->now_ns,
                        rack_echo_ns(st, tcb, seg));
        bool had_sack = seg->opts != NULL && seg->opts->sack_count > 0;
        /* RFC 8985 7.4 */
        tcp_tlp_on_ack(st, tcb, seg->ack, had_sack, old_una == tcb->snd_una, dsack ? &dblk : NULL);
        tcp_rack_loss(st, tcb, true, delivered); /* 6.2 steps 4-5, RFC 6937 3 */
        /* RFC 8985 7.2: an ACK of new data restarts the PTO. */
        int64_t pto_was = tcb->sx->pto_at;
        tcp_tlp_arm(st, tcb, old_una != tcb->snd_una ? TCP_TLP_NEW_DATA : TCP_TLP_ACTIVITY);
        if (tcb->sx->pto_at != INT64_MAX && tcb->sx->pto_at != pto_was) {
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           tcb->sx->in_recovery
                               ? TERN_RULE("RFC 8985 7.2 (in recovery, output.c tcp_tlp_arm): ACK, "
                                           "nothing left for RACK to judge -> PTO armed")
                               : TERN_RULE("RFC 8985 7.2: ACK, data still out -> probe timeout "
                                           "(PTO) armed"));
        }
    }
    tcp_persist_update(st, tcb);
    tcp_sender_idle(st, tcb); /* all acknowledged: the sender block goes back */
}

/* Fifth, SYN-RECEIVED: our SYN acknowledged? */
static enum step
ack_syn_received(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    const struct tcp_seg *seg = &c->seg;
    if (!(seq_lt(tcb->snd_una, seg->ack) && seq_le(seg->ack, tcb->snd_nxt))) {
        drop(st, tcb, c, TERN_DROP_TCP_SYN_RCVD_BAD_ACK);
        tcp_send_reset_for(st, tcb, seg,
                           "RFC 9293 3.10.7.4 fifth: SYN-RECEIVED, unacceptable ACK -> RST");
        return STEP_STOP;
    }
    if (tcb->role == TCP_ROLE_SCRATCH) {
        /* An embryonic record (or a SYN cookie) completes its handshake: a
         * real TCB takes over before the text and FIN steps (mini.c). */
        tcb = tcp_mini_promote(st, tcb, seg);
        if (tcb == NULL) {
            return STEP_STOP;
        }
        c->tcb = tcb;
    }
    tcb->snd_wnd = seg->wnd;
    tcb->snd_wl1 = seg->seq;
    tcb->snd_wl2 = seg->ack;
    if (seg->wnd > tcb->max_snd_wnd) {
        tcb->max_snd_wnd = seg->wnd;
    }
    if (tcb->retries == 0 && tcb->opened_ns != INT64_MIN) {
        /* RFC 6298 2.2, Karn (MUST-18): a SYN,ACK sent once is timed. */
        tcp_rtt_feed(st, tcb, st->now_ns - tcb->opened_ns);
    }
    tcp_cong_start(st, tcb); /* before retries is cleared: it tells a lost SYN,ACK */
    tcb->retries = 0;
    tcp_set_state(st, tcb, TERN_TCP_ESTABLISHED,
                  "RFC 9293 3.10.7.4 fifth: SYN-RECEIVED, our SYN acked -> ESTABLISHED");
    tcp_on_established(st, tcb);
    return STEP_CONTINUE;
}

/* Fifth: check the ACK field (with RFC 5961 5.2). */
static enum step
check_ack(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    const struct tcp_seg *seg = &c->seg;
    if (!has(seg, WIRE_TCP_ACK)) {
        return drop(st, tcb, c, TERN_DROP_TCP_NO_ACK);
    }
    if (tcb->state == TERN_TCP_SYN_RECEIVED) {
        if (ack_syn_received(st, tcb, c) == STEP_STOP) {
            return STEP_STOP;
        }
        tcb = c->tcb;
    }
    /* RFC 5961 5.2 (MAY-12, implemented): acceptable only when
     * SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT; else ACK and drop. This
     * also covers 3.10.7.4's "ACK acks something not yet sent". */
    if (!seq_between(seg->ack, tcb->snd_una - tcb->max_snd_wnd, tcb->snd_nxt)) {
        drop(st, tcb, c, TERN_DROP_TCP_ACK_UNACCEPTABLE);
        tcp_send_corrective_ack(st, tcb, false,
                                "RFC 5961 5.2: unacceptable ACK -> <SEQ=SND.NXT><ACK=RCV.NXT>");
        return STEP_STOP;
    }
    ack_established(st, tcb, seg);
    tcp_ecn_input(st, tcb, seg);
    switch (tcb->state) {
    case TERN_TCP_FIN_WAIT_1:
        if (fin_acked(tcb)) {
            tcp_set_state(st, tcb, TERN_TCP_FIN_WAIT_2,
                          "RFC 9293 3.10.7.4 fifth: FIN-WAIT-1, our FIN acked -> FIN-WAIT-2");
            tcp_user_timer_update(st, tcb, false); /* an orphan's wait is bounded */
        }
        break;
    case TERN_TCP_CLOSING:
        if (!fin_acked(tcb)) {
            return STEP_STOP; /* otherwise, ignore the segment */
        }
        tcp_set_state(st, tcb, TERN_TCP_TIME_WAIT,
                      "RFC 9293 3.10.7.4 fifth: CLOSING, our FIN acked -> TIME-WAIT");
        tcp_time_wait_start(st, tcb);
        break;
    case TERN_TCP_LAST_ACK:
        if (fin_acked(tcb)) {
            c->closed = true;
            tcp_close_tcb(st, tcb, 0, "RFC 9293 3.10.7.4 fifth: LAST-ACK, our FIN acked -> CLOSED");
            return STEP_STOP;
        }
        break;
    case TERN_TCP_TIME_WAIT:
        /* TIME-WAIT: "the only thing that can arrive" is the peer's FIN
         * again: acknowledge it, restart 2 MSL (MUST-13). Every acceptable
         * segment restarts the timer; one that occupies sequence space
         * (text, FIN) gets the ACK of RCV.NXT, which does not move (the
         * text came after the peer's FIN, the FIN was taken once). A bare
         * ACK gets none: after a simultaneous close both ends are in
         * TIME-WAIT and would acknowledge each other's ACKs without end
         * (Linux also restarts the timer on it and stays silent). */
        tcp_time_wait_start(st, tcb);
        if (seg->seg_len > 0) {
            tcp_send_ack(st, tcb,
                         "RFC 9293 3.10.7.4 fifth: TIME-WAIT, segment -> ACK, restart 2 MSL");
        }
        return STEP_STOP;
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_STATE_COUNT:
        break;
    }
    return STEP_CONTINUE;
}

/* Sixth: check the URG bit (RFC 9293 3.8.5, 3.10.7.4 sixth). SEG.UP is
 * an offset from the segment's sequence number as it arrived, before the
 * first check trimmed it, to the first octet after the urgent data
 * (MUST-62). RCV.UP only moves forward (max(RCV.UP, SEG.UP)); it never lags
 * behind the next octet the user will read (buf.c keeps it there), so
 * "urgent mode" is RCV.UP ahead of that octet. The user is told each time
 * the pointer moves ahead (MUST-32): on entering urgent mode and whenever
 * the pointer advances, as RFC 9293 3.8.5 asks (a pointer repeated by
 * later segments says nothing new). After the peer's FIN (CLOSE-WAIT and
 * later) the bit is ignored. This step also runs for a segment at RCV.NXT
 * that the zero window keeps from being acceptable (MUST-66, check_seq). */
static enum step
check_urg(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    const struct tcp_seg *seg = &c->seg;
    if (!has(seg, WIRE_TCP_URG)) {
        return STEP_CONTINUE;
    }
    if (tcb->state != TERN_TCP_ESTABLISHED && tcb->state != TERN_TCP_FIN_WAIT_1 &&
        tcb->state != TERN_TCP_FIN_WAIT_2) {
        return STEP_CONTINUE;
    }
    uint32_t up = c->orig_seq + seg->up;
    if (seq_gt(up, tcb->rcv_up)) {
        tcb->rcv_up = up;
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 9293 3.10.7.4 sixth: URG -> RCV.UP advanced, user told (MUST-32)");
        tcp_event(st, tcb, TERN_TCP_EV_URGENT);
    }
    return STEP_CONTINUE;
}

/* After in-order text: ranges held out of order that now touch RCV.NXT
 * join the in-order text (their bytes are already in the ring); a FIN held
 * out of order is processed when RCV.NXT reaches it. True if a hole filled. */
static bool
fill_from_ooo(struct tern_stack *st, struct tcp_tcb *tcb, struct tcp_seg *seg)
{
    bool filled = false;
    struct tcp_range *o = tcp_ooo(st, tcb);
    unsigned n = tcb->n_ooo;
    for (bool again = true; again;) {
        again = false;
        for (unsigned i = 0; i < n; i++) {
            struct tcp_range r = o[i];
            if (seq_gt(r.start, tcb->rcv_nxt)) {
                continue;
            }
            if (seq_gt(r.end, tcb->rcv_nxt)) {
                uint32_t add = r.end - tcb->rcv_nxt;
                chain_extend(&tcb->rcv, add);
                tcb->rcv_nxt = r.end;
            }
            /* The rest keep their order (most recent first). */
            n--;
            memmove(&o[i], &o[i + 1], (n - i) * sizeof(o[0]));
            filled = again = true;
            break;
        }
    }
    tcp_ooo_resize(st, tcb, n);
    if (filled) {
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 9293 3.10.7.4 seventh (SHLD-31): hole filled, held text delivered");
    }
    if (tcb->ooo_fin && tcb->rcv_nxt == tcb->ooo_fin_seq) {
        seg->flags |= WIRE_TCP_FIN;
        tcb->ooo_fin = false;
    }
    return filled;
}

/* Seventh: process the segment text. */
static enum step
process_text(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    struct tcp_seg *seg = &c->seg;
    if (seg->text_len == 0) {
        return STEP_CONTINUE;
    }
    if (tcb->state != TERN_TCP_ESTABLISHED && tcb->state != TERN_TCP_FIN_WAIT_1 &&
        tcb->state != TERN_TCP_FIN_WAIT_2) {
        /* After the peer's FIN no text can be valid: ignore it. */
        return STEP_CONTINUE;
    }
    uint32_t n = tcp_buf_rcv_append(st, tcb, seg->text, seg->text_len);
    if (n < seg->text_len) {
        /* Cannot happen: the window's memory is reserved; count it. */
        st->stats.drops[TERN_DROP_TCP_RCV_BUF_FULL]++;
        seg->flags &= (uint8_t)~WIRE_TCP_FIN;
    }
    /* Taking responsibility for the text: advance RCV.NXT, shrink RCV.WND
     * (their sum does not move), acknowledge. */
    tcb->rcv_nxt += n;
    bool filled = fill_from_ooo(st, tcb, seg);
    tcb->rcv_wnd = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    tcb->unacked_segs++;
    if (!tcb->text_rcvd || c->idle) {
        /* The first text of a connection, or text after an idle RTO:
         * a quick-ACK phase (as Linux does), so that a request/response
         * exchange or a slow start does not wait for the delayed-ACK
         * timer; RFC 5681 4.2 lets a receiver ACK more often. */
        uint32_t q = (tcb->rcv_wnd + n) / (2u * tcp_rmss(tcb));
        q = q < 2u ? 2u : q > TCP_QUICKACK_MAX ? TCP_QUICKACK_MAX : q;
        tcb->quick_acks = (uint8_t)q;
        tcb->text_rcvd = true;
    }
    int64_t delack = st->cfg.tcp.delack_ns;
    if (filled || tcb->n_ooo > 0 || delack < 0 || tcb->unacked_segs >= 2 ||
        has(seg, WIRE_TCP_FIN) || tcb->quick_acks > 0) {
        /* RFC 5681 4.2: ACK at once a segment that fills a hole, and at
         * least every second full-sized segment (RFC 9293 3.8.6.3 SHLD-19);
         * and during the quick-ACK phase. */
        c->need_ack = true;
        if (tcb->quick_acks > 0 && tcb->unacked_segs < 2 && !filled && tcb->n_ooo == 0) {
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           "RFC 5681 4.2: quick-ACK phase (first segments, or after idle) -> "
                           "ACK at once");
        }
    } else {
        /* RFC 9293 3.8.6.3 (SHLD-18, MUST-40): delay the ACK, < 0.5 s. */
        c->delay_ack = true;
    }
    tcp_event(st, tcb, TERN_TCP_EV_READABLE);
    return STEP_CONTINUE;
}

/* Eighth: check the FIN bit. */
static enum step
check_fin(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    if (!has(&c->seg, WIRE_TCP_FIN)) {
        return STEP_CONTINUE;
    }
    if (tcb->fin_rcvd) {
        /* CLOSE-WAIT, CLOSING, LAST-ACK (TIME-WAIT stopped at the fifth
         * step unless this segment brought it there): the peer's FIN was
         * taken already, RCV.NXT stands just past it. A FIN at RCV.NXT is
         * not one the peer sent; advancing over it would acknowledge a
         * sequence number that does not exist. Remain in the state, ACK
         * RCV.NXT as it is (TIME-WAIT: restart 2 MSL). */
        c->need_ack = true;
        if (tcb->state == TERN_TCP_TIME_WAIT) {
            tcp_time_wait_start(st, tcb);
        }
        return STEP_CONTINUE;
    }
    /* Signal "connection closing", advance RCV.NXT over the FIN, ACK it. */
    tcb->rcv_nxt++;
    tcb->fin_rcvd = true;
    tcp_buf_rcv_stop(st, tcb); /* no text can follow the FIN: its window's memory goes back */
    c->need_ack = true;
    tcp_event(st, tcb, TERN_TCP_EV_PEER_FIN | TERN_TCP_EV_READABLE);
    switch (tcb->state) {
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_ESTABLISHED:
        tcp_set_state(st, tcb, TERN_TCP_CLOSE_WAIT,
                      "RFC 9293 3.10.7.4 eighth: ESTABLISHED, FIN -> CLOSE-WAIT");
        break;
    case TERN_TCP_FIN_WAIT_1:
        if (fin_acked(tcb)) {
            tcp_set_state(
                st, tcb, TERN_TCP_TIME_WAIT,
                "RFC 9293 3.10.7.4 eighth: FIN-WAIT-1, FIN and our FIN acked -> TIME-WAIT");
            tcp_time_wait_start(st, tcb);
        } else {
            tcp_set_state(st, tcb, TERN_TCP_CLOSING,
                          "RFC 9293 3.10.7.4 eighth: FIN-WAIT-1, FIN -> CLOSING");
        }
        break;
    case TERN_TCP_FIN_WAIT_2:
        tcp_set_state(st, tcb, TERN_TCP_TIME_WAIT,
                      "RFC 9293 3.10.7.4 eighth: FIN-WAIT-2, FIN -> TIME-WAIT");
        tcp_time_wait_start(st, tcb);
        break;
    case TERN_TCP_TIME_WAIT:
        tcp_time_wait_start(st, tcb); /* restart the 2 MSL time-wait timeout */
        break;
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_STATE_COUNT:
        break;
    }
    return STEP_CONTINUE;
}

/* Sixth to eighth steps (also entered from SYN-SENT, 3.10.7.3). */
static enum step
after_ack_steps(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    if (check_urg(st, tcb, c) == STEP_STOP || process_text(st, tcb, c) == STEP_STOP) {
        return STEP_STOP;
    }
    return check_fin(st, tcb, c);
}

/* After the checks: send what is now sendable, and the ACK the segment
 * asked for unless a segment already carried it (MUST-58: one ACK). */
static void
finish(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    if (c->closed || tcb->role == TCP_ROLE_FREE) {
        return;
    }
    tcp_keepalive_update(st, tcb);
    uint64_t sent = st->stats.tcp.tx;
    tcp_output(st, tcb);
    if (st->stats.tcp.tx != sent) {
        return; /* the ACK rode on a segment that went out */
    }
    if (c->need_ack) {
        const char *rule = c->ack_rule != NULL
                               ? c->ack_rule
                               : TERN_RULE("RFC 9293 3.10.7.4 seventh/eighth: text or FIN -> ACK");
        if (!tcp_ack_owe(st, tcb, has(&c->seg, WIRE_TCP_FIN))) {
            tcp_send_ack(st, tcb, rule);
        }
    } else if (c->delay_ack) {
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 9293 3.8.6.3 / RFC 5681 4.2: text accepted, ACK delayed");
        tcp_delack_arm(st, tcb);
    }
}

/* RFC 7323 5.5: TS.Recent is no longer valid once the connection was
 * idle (nothing received) for more than 24 days: the peer's timestamp clock
 * may have wrapped its sign bit since. */
#define TCP_TS_RECENT_LIFE_NS (24LL * 24 * 3600 * 1000000000LL)

/* RFC 7323 5.3 (PAWS) before the sequence check: a segment whose TSval is
 * older than TS.Recent is a duplicate from an earlier wrap of the sequence
 * space: ACK and drop it. R1 leaves out segments with RST (their fate is
 * RFC 5961's exact-sequence test); 5.5: when TS.Recent is invalid the
 * segment is accepted and its TSval becomes TS.Recent. True when dropped. */
static bool
paws_reject(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    const struct tcp_seg *seg = &c->seg;
    if (!tcb->ts_ok || seg->opts == NULL || !seg->opts->has_ts || has(seg, WIRE_TCP_RST)) {
        return false;
    }
    if (!seq_lt(seg->opts->ts_val, tcb->ts_recent)) {
        return false;
    }
    if (st->now_ns - tcb->last_rx_ns > TCP_TS_RECENT_LIFE_NS) {
        tcb->ts_recent = seg->opts->ts_val; /* 5.5: invalid, replaced (R3) */
        return false;
    }
    drop(st, tcb, c, TERN_DROP_TCP_PAWS);
    /* RFC 2883 4: a copy of text wholly below RCV.NXT is still a duplicate
     * the sender should hear of, whatever rule drops it: a reordered
     * original that arrives after its retransmission carries the older
     * TSval, and without this D-SACK the sender could never tell that
     * retransmission was needless (RFC 3708). Like the answer to any
     * retransmission (3.10.7.4 first), outside the per-connection budget. */
    bool dup = seg->text_len > 0 && peer_retransmission(tcb, seg);
    if (dup) {
        note_dsack(st, tcb, seg->seq, seg->seq + seg->text_len);
    }
    tcp_send_corrective_ack(st, tcb, dup, "RFC 7323 5.3: PAWS, old timestamp -> ACK and drop");
    return true;
}

/* RFC 7323 4.3 (2), placed as in its Appendix D (before the acceptability
 * test of RFC 9293 3.10.7.4): a segment with SEG.TSval >= TS.Recent and
 * SEG.SEQ =< Last.ACK.sent gives TS.Recent its TSval; so a retransmitted
 * FIN or SYN below RCV.NXT is answered with its own TSval echoed.
 * Except text lying wholly below RCV.NXT (a copy of text we have), which
 * follows 5.3's order instead (R3 after R2, the window check: an
 * unacceptable segment records nothing). Choice, as Linux: such a copy
 * is usually a needless retransmission, and its newer TSval would make
 * TS.Recent newer than the originals still in flight behind it; when the
 * network delivers those late (reordering), PAWS (R1) would drop them and
 * the peer would have to resend them on its retransmission timer. The
 * ACK answering the copy still echoes its TSval (check_seq). */
static void
ts_recent_update(struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    if (!tcb->ts_ok || seg->opts == NULL || !seg->opts->has_ts) {
        return;
    }
    if (seg->text_len > 0 && seq_le(seg->seq + seg->text_len, tcb->rcv_nxt)) {
        return;
    }
    if (!seq_lt(seg->opts->ts_val, tcb->ts_recent) && seq_le(seg->seq, tcb->last_ack_sent)) {
        tcb->ts_recent = seg->opts->ts_val;
    }
}

static void
in_other(struct tern_stack *st, struct tcp_tcb *tcb, struct seg_ctx *c)
{
    if (tcb->ws_ok && !has(&c->seg, WIRE_TCP_SYN)) {
        /* RFC 7323 2.3: SEG.WND of a non-SYN segment is shifted. */
        c->seg.wnd <<= tcb->snd_wscale;
    }
    if (tcb->state != TERN_TCP_SYN_RECEIVED && paws_reject(st, tcb, c)) {
        return;
    }
    ts_recent_update(tcb, &c->seg);
    c->idle = st->now_ns - tcb->last_rx_ns > tcp_rtt_rto(&tcb->rtt);
    tcb->last_rx_ns = st->now_ns;
    tcb->keep_probes = 0;
    typedef enum step (*step_fn)(struct tern_stack *, struct tcp_tcb *, struct seg_ctx *);
    /* RFC 9293 3.10.7.4, in order. The third check (security) is void in
     * tern; hold_out_of_order is the seventh step's SHLD-31 queue for text
     * beyond RCV.NXT, after every check before it. */
    static const step_fn steps[] = {check_seq,         check_rst,    check_syn,
                                    check_ack,         check_urg,    check_text_after_close,
                                    hold_out_of_order, process_text, check_fin};
    c->tcb = tcb;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i](st, c->tcb, c) == STEP_STOP) {
            break;
        }
    }
    finish(st, c->tcb, c);
}

/* RFC 6191 2 (RFC 9293 3.6 SHLD-4; RFC 1122 4.2.2.13 and MAY-2 without
 * timestamps): may a SYN open a new incarnation of TIME-WAIT connection m?
 * "The last sequence number" of the old incarnation is that of the peer's
 * FIN, RCV.NXT - 1 (RFC 6191's note), "the last timestamp" TS.Recent. The
 * new incarnation uses timestamps when the SYN carries the option and our
 * SYN,ACK would too. Then: an old incarnation with timestamps takes a
 * TSval above TS.Recent whatever SEG.SEQ (RFC 6191 4: the peer's ISN need
 * not grow), or an equal TSval with SEG.SEQ above the old FIN; one
 * without them takes any SYN with timestamps. Without timestamps on the
 * new incarnation, SEG.SEQ above the old FIN decides. */
static bool
time_wait_syn_new(const struct tern_stack *st, const struct tcp_mini *m, const struct tcp_seg *seg)
{
    bool seq_above = seq_gt(seg->seq, m->rcv_nxt - 1);
    bool ts_new = !st->cfg.tcp.no_timestamps && seg->opts != NULL && seg->opts->has_ts;
    if (!ts_new) {
        return seq_above;
    }
    if (!(m->flags & TCP_MINI_TS)) {
        return true;
    }
    uint32_t ts = seg->opts->ts_val;
    return seq_gt(ts, m->ts_recent) || (ts == m->ts_recent && seq_above);
}

/* A SYN for a connection in TIME-WAIT (record m, loaded in the scratch TCB
 * s), when a listener would take it: RFC 6191 2, see time_wait_syn_new.
 * An accepted SYN opens the new incarnation with an ISS above the old
 * SND.NXT (RFC 9293 3.6 MAY-2 (1), which RFC 6191 keeps), and the
 * TIME-WAIT record is parked (out of the demux), to be restored if the SYN
 * turns out to be an old duplicate (MAY-2 (2)). A refused SYN lies below
 * RCV.NXT (unacceptable, RFC 9293 3.10.7.4 first) or carries a TSval
 * older than TS.Recent (RFC 7323 5.3, PAWS): both rules answer with the
 * ACK of the current state, and so does Linux; tern sends it rather than
 * the silence RFC 6191 2 prescribes. The ACK is useful: a peer in SYN-SENT
 * answers it with <SEQ=SEG.ACK><CTL=RST> (3.10.7.3 first), whose SEQ is
 * our RCV.NXT exactly, which ends TIME-WAIT (3.10.7.4 second), and its
 * next SYN opens the connection. The refusal does not restart 2 MSL.
 * Returns true when the SYN was dealt with here. */
static bool
time_wait_syn(struct tern_stack *st, struct tcp_mini *m, struct tcp_tcb *s,
              const struct tcp_seg *seg)
{
    if (!has(seg, WIRE_TCP_SYN) || has(seg, WIRE_TCP_ACK | WIRE_TCP_RST)) {
        return false;
    }
    /* The listeners only: remote port 0 matches no fully specified OPEN. */
    struct tcp_tcb *lst = tcp_demux_passive(st, m->local_addr, m->local_port, m->remote_addr, 0);
    if (lst == NULL || lst->state != TERN_TCP_LISTEN) {
        return false; /* nobody to take it: ordinary processing */
    }
    if (!time_wait_syn_new(st, m, seg)) {
        tcp_drop(st, s, seg, TERN_DROP_TCP_TIME_WAIT_SYN);
        tcp_send_corrective_ack(
            st, s, false,
            "RFC 6191 2, RFC 9293 3.10.7.4 first: TIME-WAIT, SYN of no new incarnation -> "
            "<SEQ=SND.NXT><ACK=RCV.NXT>");
        tcp_mini_settle(st, m);
        return true;
    }
    st->stats.tcp.time_wait_reuse++;
    tcp_trace_note(st, TERN_TRACE_EVENT, s,
                   "RFC 9293 3.6 (MAY-2, SHLD-4), RFC 6191 2: TIME-WAIT, SYN of a new incarnation "
                   "-> reopen");
    int rec = tcp_mini_index(st, m);
    uint32_t min_iss = m->snd_nxt;
    tcp_timers_cancel(st, s);
    st->tcp->scratch_rec = -1;
    /* Parked: out of the demux while the new incarnation opens. */
    tcp_mini_tw_park(st, rec);
    if (!listen_syn(st, lst, seg, min_iss, rec)) {
        tcp_mini_tw_unpark(st, rec, "RFC 6191 2: no room for the new incarnation -> TIME-WAIT");
    }
    return true;
}

static enum tern_drop_reason
wire_drop_reason(enum wire_err e)
{
    switch (e) {
    case WIRE_ERR_TCP_TRUNCATED:
        return TERN_DROP_TCP_TRUNCATED;
    case WIRE_ERR_TCP_DOFF:
    case WIRE_ERR_TCP_LENGTH:
        return TERN_DROP_TCP_DOFF;
    case WIRE_ERR_TCP_CHECKSUM:
        return TERN_DROP_TCP_CHECKSUM;
    default:
        return TERN_DROP_TCP_OPTION;
    }
}

static bool
bad_address(const struct tern_stack *st, const struct ip_rx *rx)
{
    /* MUST-57: segments to a broadcast or multicast address are discarded;
     * MUST-63: so are those from an address that is not one host. */
    return ip_is_multi(st, rx->netif, rx->dst) || ip_is_multi(st, -1, rx->src) ||
           tern_ip_is_any(rx->src);
}

void
tcp_input(struct tern_stack *st, void *ctx, const struct ip_rx *rx)
{
    (void)ctx;
    struct wire_tcp h;
    enum wire_err e = wire_tcp_parse_ip(rx->payload, rx->len, rx->src.b, rx->dst.b, &h);
    if (e != WIRE_OK) {
        stack_drop(st, wire_drop_reason(e), rx->datagram, rx->datagram_len);
        return;
    }
    st->stats.tcp.rx++;
    bool syn = (h.flags & WIRE_TCP_SYN) != 0, fin = (h.flags & WIRE_TCP_FIN) != 0;
    struct seg_ctx c = {
        .seg = {.src = rx->src,
                .dst = rx->dst,
                .sport = h.src_port,
                .dport = h.dst_port,
                .seq = h.seq,
                .ack = h.ack,
                .flags = h.flags,
                .wnd = h.window,
                .up = h.urgent,
                .seg_len = (uint32_t)h.payload_len + syn + fin,
                .text = h.payload,
                .text_len = (uint32_t)h.payload_len,
                .has_mss = h.opts.has_mss,
                .mss = h.opts.mss,
                .opts = &h.opts,
                .ecn = (uint8_t)(rx->tos & 3u)}, /* RFC 3168 5: the ECN field */
        .orig_seq = h.seq,
    };
    if (bad_address(st, rx)) {
        tcp_drop(st, NULL, &c.seg, TERN_DROP_TCP_BAD_ADDR);
        return;
    }
    if (h.src_port == 0 || h.dst_port == 0) {
        /* Our choice (issue 11 item 8): port 0 is reserved (RFC 6335 6) and
         * names no connection; such a segment is dropped, counted, and not
         * answered (a RST to port 0 would help no one). */
        tcp_drop(st, NULL, &c.seg, TERN_DROP_TCP_BAD_PORT);
        return;
    }
    /* Demultiplexing: a TCB with the exact 4-tuple, then a compact record
     * (TIME-WAIT, SYN cache), then listeners (table.c). */
    uint64_t h4 = tcp_demux_hash(st, rx->dst, h.dst_port, rx->src, h.src_port);
    struct tcp_tcb *tcb = tcp_hash_find_h(st, h4, rx->dst, h.dst_port, rx->src, h.src_port);
    struct tcp_mini *m = NULL;
    if (tcb == NULL) {
        m = tcp_mini_find_h(st, h4, rx->dst, h.dst_port, rx->src, h.src_port);
    }
    if (m != NULL) {
        struct tcp_tcb *s = tcp_mini_load(st, m);
        tcp_trace_seg(st, TERN_TRACE_RX, s, &c.seg, "RFC 9293 3.10.7: segment arrives",
                      TERN_DROP_COUNT);
        if (m->kind != TCP_MINI_TW || !time_wait_syn(st, m, s, &c.seg)) {
            in_other(st, s, &c);
            tcp_mini_settle(st, m);
        }
        tcp_deliver_events(st);
        return;
    }
    if (tcb == NULL) {
        tcb = tcp_demux_passive(st, rx->dst, h.dst_port, rx->src, h.src_port);
    }
    tcp_trace_seg(st, TERN_TRACE_RX, tcb, &c.seg, "RFC 9293 3.10.7: segment arrives",
                  TERN_DROP_COUNT);
    if (tcb == NULL) {
        in_closed(st, &c.seg);
    } else if (tcb->state == TERN_TCP_LISTEN) {
        in_listen(st, tcb, &c);
    } else if (tcb->state == TERN_TCP_SYN_SENT) {
        in_syn_sent(st, tcb, &c);
        finish(st, tcb, &c);
    } else {
        in_other(st, tcb, &c);
        if (tcb->state == TERN_TCP_TIME_WAIT && tcb->role == TCP_ROLE_USER && tcb->in_hash) {
            /* RFC 9293 3.6: TIME-WAIT goes on in a compact record. */
            tcp_mini_tw_enter(st, tcb);
        }
    }
    tcp_deliver_events(st);
}

/* ---- ICMP errors (RFC 9293 3.9.2.2, RFC 1122 4.2.3.9, RFC 5927) ---- */

static bool
icmp_is_hard(const struct ip_icmp_err *e)
{
    /* RFC 9293 3.9.2.2: destination unreachable codes 2-4 are hard; code 4
     * (fragmentation needed) belongs to path MTU discovery (RFC 1191),
     * which tern does not do yet and which never calls for an abort.
     * ICMPv6 (RFC 4443 3.1, RFC 5461 4): port unreachable (type 1 code 4)
     * and an unrecognized next header (parameter problem code 1, the
     * protocol unreachable of IPv6) are hard. */
    if (e->v6) {
        return (e->type == 1 && e->code == 4) || (e->type == 4 && e->code == 1);
    }
    return e->type == 3 && (e->code == 2 || e->code == 3);
}

void
tcp_icmp_error(struct tern_stack *st, void *ctx, const struct ip_icmp_err *e)
{
    (void)ctx;
    const uint8_t *q = e->orig_payload;
    if (e->orig_payload_len < 8 || (!e->v6 && e->type == 4)) {
        /* MUST-55: source quench is silently discarded. */
        st->stats.drops[TERN_DROP_TCP_ICMP_IGNORED]++;
        tcp_trace_note(st, TERN_TRACE_DROP, NULL, tern_drop_rule(TERN_DROP_TCP_ICMP_IGNORED));
        return;
    }
    uint16_t sport = (uint16_t)(q[0] << 8 | q[1]), dport = (uint16_t)(q[2] << 8 | q[3]);
    uint32_t seq = (uint32_t)q[4] << 24 | (uint32_t)q[5] << 16 | (uint32_t)q[6] << 8 | q[7];
    /* MUST-54: direct the error to the connection that caused it. */
    struct tcp_tcb *tcb = tcp_hash_find(st, e->orig_src, sport, e->orig_dst, dport);
    if (tcb == NULL &&
        tcp_mini_icmp(st, e->orig_src, sport, e->orig_dst, dport, seq, icmp_is_hard(e))) {
        tcp_deliver_events(st);
        return;
    }
    if (tcb == NULL || tcb->state == TERN_TCP_LISTEN) {
        st->stats.drops[TERN_DROP_TCP_ICMP_NO_CONN]++;
        tcp_trace_note(st, TERN_TRACE_DROP, NULL, tern_drop_rule(TERN_DROP_TCP_ICMP_NO_CONN));
        return;
    }
    /* RFC 5927 4.1: act only if the quoted SEQ is one we have sent and not
     * yet seen acknowledged: SND.UNA =< SEQ < SND.NXT. */
    if (!seq_in_range(seq, tcb->snd_una, tcb->snd_nxt)) {
        st->stats.drops[TERN_DROP_TCP_ICMP_BAD_SEQ]++;
        tcp_trace_note(st, TERN_TRACE_DROP, tcb, tern_drop_rule(TERN_DROP_TCP_ICMP_BAD_SEQ));
        return;
    }
    bool opening = tcb->state == TERN_TCP_SYN_SENT || tcb->state == TERN_TCP_SYN_RECEIVED;
    if (icmp_is_hard(e) && opening) {
        /* SHLD-26 (RFC 1122 4.2.3.9): a hard error aborts; tern does so
         * while the connection is being opened. */
        st->stats.tcp.icmp_hard++;
        st->stats.tcp.attempt_fails++;
        tcp_close_tcb(st, tcb, TERN_ERR_UNREACH,
                      "RFC 9293 3.9.2.2 (SHLD-26): hard ICMP error while opening -> CLOSED");
    } else {
        /* MUST-56: a soft error (or a hard one on a synchronized
         * connection, RFC 5927 4.1) does not abort; it is kept and reported
         * if the connection then times out (SHLD-25, MUST-47). */
        st->stats.tcp.icmp_soft++;
        tcb->soft_error = TERN_ERR_UNREACH;
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 9293 3.9.2.2 (MUST-56): soft ICMP error recorded, no abort");
    }
    tcp_deliver_events(st);
}
