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

#include "core/stack_internal.h"
#include "ip/ip.h"
#include "tcp/seq.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

uint32_t
tcp_rcv_window(const struct tcp_tcb *tcb)
{
    /* RFC 9293 3.8.6: offer the free space of the receive buffer. The ring
     * is at most 65535 bytes (no window scaling yet, MUST-1 unsigned). */
    return tcb->rcvbuf.cap - tcb->rcvbuf.len;
}

/* Emits `seg` (addresses, ports, seq, ack, flags, wnd, text) with an MSS
 * option when mss != 0, traced with `rule`. tcb may be NULL. */
static int
send_raw(struct tern_stack *st, const struct tcp_tcb *tcb, const struct tcp_seg *seg, uint16_t mss,
         const char *rule)
{
    struct wire_tcp h = {
        .src_port = seg->sport,
        .dst_port = seg->dport,
        .seq = seg->seq,
        .ack = seg->ack,
        .flags = seg->flags,
        .window = seg->wnd,
        .payload = seg->text,
        .payload_len = seg->text_len,
    };
    if (mss != 0) {
        /* RFC 9293 3.7.1 (MUST-14, MUST-65): the MSS option, on SYNs only. */
        h.opts.has_mss = true;
        h.opts.mss = mss;
    }
    tcp_trace_seg(st, TERN_TRACE_TX, tcb, seg, rule, TERN_DROP_COUNT);
    st->stats.tcp.tx++;
    if (seg->flags & WIRE_TCP_RST) {
        st->stats.tcp.rst_tx++;
    }
    size_t n = wire_tcp_emit(&h, seg->src, seg->dst, st->tcp.tx_buf, st->tcp.tx_buf_len);
    if (n == 0) {
        return TERN_ERR_MSGSIZE;
    }
    struct ip_send how = {.src = seg->src, .dst = seg->dst, .proto = WIRE_IPPROTO_TCP};
    struct ip_part part = {.data = st->tcp.tx_buf, .len = n};
    return ipv4_output(st, &how, &part, 1);
}

int
tcp_send_segment(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, uint8_t flags,
                 uint32_t text_len, const char *rule)
{
    uint32_t wnd = tcp_rcv_window(tcb);
    struct tcp_seg seg = {
        .src = tcb->local_addr,
        .dst = tcb->remote_addr,
        .sport = tcb->local_port,
        .dport = tcb->remote_port,
        .seq = seq,
        .ack = (flags & WIRE_TCP_ACK) ? tcb->rcv_nxt : 0,
        .flags = flags,
        .wnd = (uint16_t)(wnd > 65535 ? 65535 : wnd),
        .text_len = text_len,
    };
    if (text_len > 0) {
        /* The text sits in the send ring at the offset of its sequence
         * number; copy it to where send_raw's emit expects the payload. */
        uint8_t *text = st->tcp.tx_buf + WIRE_TCP_HDR_LEN;
        if (WIRE_TCP_HDR_LEN + (size_t)text_len > st->tcp.tx_buf_len) {
            return TERN_ERR_MSGSIZE;
        }
        uint32_t off = seq - tcb->snd_buf_seq;
        tcp_ring_peek(&tcb->sndbuf, off, text, text_len);
        seg.text = text;
    }
    uint16_t mss = (flags & WIRE_TCP_SYN) ? tcb->rcv_mss : 0;
    return send_raw(st, tcb, &seg, mss, rule);
}

void
tcp_send_ack(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule)
{
    tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_ACK, 0, rule);
}

void
tcp_send_challenge_ack(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule)
{
    /* RFC 5961 7: at most challenge_ack_limit challenge ACKs per second,
     * counted per stack, so that they cannot be used as an amplifier. */
    struct tcp_state *t = &st->tcp;
    if (st->now_ns - t->challenge_window_start >= 1000000000LL) {
        t->challenge_window_start = st->now_ns;
        t->challenge_count = 0;
    }
    if (t->challenge_count >= st->cfg.tcp.challenge_ack_limit) {
        st->stats.drops[TERN_DROP_TCP_CHALLENGE_LIMIT]++;
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb, tern_drop_rule(TERN_DROP_TCP_CHALLENGE_LIMIT));
        return;
    }
    t->challenge_count++;
    st->stats.tcp.challenge_acks++;
    tcp_send_ack(st, tcb, rule);
}

void
tcp_send_reset_for(struct tern_stack *st, const struct tcp_tcb *tcb, const struct tcp_seg *seg,
                   const char *rule)
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
    send_raw(st, tcb, &rst, 0, rule);
}

/* Text bytes queued but not yet sent. */
static uint32_t
unsent_text(const struct tcp_tcb *tcb)
{
    uint32_t sent = tcb->snd_nxt - tcb->snd_buf_seq;
    if (tcb->fin_sent) {
        return 0;
    }
    return tcb->sndbuf.len > sent ? tcb->sndbuf.len - sent : 0;
}

static bool
may_send_text(enum tern_tcp_state s)
{
    /* RFC 9293 3.10.2/3.10.4: text goes out in ESTABLISHED and CLOSE-WAIT,
     * and text queued before a CLOSE still goes out in FIN-WAIT-1 and
     * LAST-ACK, ahead of the FIN. */
    return s == TERN_TCP_ESTABLISHED || s == TERN_TCP_CLOSE_WAIT || s == TERN_TCP_FIN_WAIT_1 ||
           s == TERN_TCP_LAST_ACK;
}

void
tcp_output(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (!may_send_text(tcb->state)) {
        return;
    }
    for (;;) {
        uint32_t avail = unsent_text(tcb);
        uint32_t in_flight = tcb->snd_nxt - tcb->snd_una;
        uint32_t room = tcb->snd_wnd > in_flight ? tcb->snd_wnd - in_flight : 0;
        uint32_t n = avail < tcb->snd_mss ? avail : tcb->snd_mss;
        n = n < room ? n : room;
        if (n == 0) {
            break;
        }
        uint8_t flags = WIRE_TCP_ACK | (n == avail ? WIRE_TCP_PSH : 0);
        tcp_send_segment(st, tcb, tcb->snd_nxt, flags, n,
                         "RFC 9293 3.10.2: SEND, text within the send window");
        tcb->snd_nxt += n;
    }
    bool fin_state = tcb->state == TERN_TCP_FIN_WAIT_1 || tcb->state == TERN_TCP_LAST_ACK;
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
    tcp_user_timer_update(st, tcb, false);
}

/* Retransmits from SND.UNA in a synchronized state: one segment of text,
 * with the FIN when it fits; or a one-byte window probe. */
static void
retransmit_text(struct tern_stack *st, struct tcp_tcb *tcb)
{
    static const char rule[] = "RFC 9293 3.10.8: retransmission timeout -> resend oldest segment";
    uint32_t text_end = tcb->fin_sent ? tcb->fin_seq : tcb->snd_nxt;
    uint32_t text = seq_lt(tcb->snd_una, text_end) ? text_end - tcb->snd_una : 0;
    if (text > tcb->snd_mss) {
        text = tcb->snd_mss;
    }
    if (tcb->snd_una == tcb->snd_nxt) {
        if (unsent_text(tcb) > 0 && tcb->snd_wnd == 0) {
            /* Zero window with text waiting: probe with one byte (RFC 9293
             * 3.8.6.1, MUST-36; the full persist timer is later work). */
            tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_ACK, 1,
                             "RFC 9293 3.8.6.1: zero window -> probe with one byte");
            tcb->snd_nxt++;
        }
        return;
    }
    uint8_t flags = WIRE_TCP_ACK;
    if (tcb->fin_sent && tcb->snd_una + text == tcb->fin_seq) {
        flags |= WIRE_TCP_FIN;
    }
    if (text > 0) {
        flags |= WIRE_TCP_PSH;
    }
    tcp_send_segment(st, tcb, tcb->snd_una, flags, text, rule);
}

void
tcp_retransmit(struct tern_stack *st, struct tcp_tcb *tcb)
{
    st->stats.tcp.retransmits++;
    switch (tcb->state) {
    case TERN_TCP_SYN_SENT:
        tcp_send_segment(st, tcb, tcb->iss, WIRE_TCP_SYN, 0,
                         "RFC 9293 3.10.8: retransmission timeout -> SYN again");
        break;
    case TERN_TCP_SYN_RECEIVED:
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
