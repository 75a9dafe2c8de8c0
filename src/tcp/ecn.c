/*
 * src/tcp/ecn.c: Explicit Congestion Notification for TCP (RFC 3168 6.1),
 * switched by cfg.tcp.ecn (enum tern_tcp_ecn).
 *
 * Read first: RFC 3168 5 (the ECN field of the IP header), 6.1.1
 * (negotiation on the SYN and SYN,ACK), 6.1.2 (the sender's reaction to
 * ECE, CWR), 6.1.3 (the receiver's echo of CE), 6.1.4-6.1.6 (what never
 * carries ECT).
 *
 * The pieces: tcp_ecn_negotiate() decides at the handshake, tcp_ecn_out()
 * sets ECE, CWR and ECT(0) on a segment tcp_send_segment() builds,
 * tcp_ecn_input() reads CE, CWR and ECE from an acceptable segment, and
 * tcp_ecn_reduced() notes a congestion window reduction for loss, after
 * which CWR goes out too.
 */
#include "core/core.h"
#include "tcp/seq.h"
#include "tcp/tcp.h"
#include "wire/tcp.h"

/* RFC 3168 5: the two ECN bits of the TOS / Traffic Class byte. */
#define ECN_MASK 0x03u
#define ECN_ECT0 0x02u
#define ECN_CE   0x03u

void
tcp_ecn_negotiate(const struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg,
                  bool passive)
{
    bool ece = (seg->flags & WIRE_TCP_ECE) != 0, cwr = (seg->flags & WIRE_TCP_CWR) != 0;
    if (passive) {
        /* RFC 3168 6.1.1: a SYN asks for ECN with both ECE and CWR set; we
         * agree unless the config says OFF. */
        tcb->ecn_ok = st->cfg.tcp.ecn != TERN_TCP_ECN_OFF && ece && cwr;
    } else if (seg->flags & WIRE_TCP_ACK) {
        /* RFC 3168 6.1.1: our ECN-setup SYN is answered yes by a SYN,ACK
         * with ECE and without CWR; any other SYN,ACK means no ECN. */
        tcb->ecn_ok = tcb->ecn_ok && ece && !cwr;
    } else {
        /* Simultaneous open: both SYNs asked. */
        tcb->ecn_ok = tcb->ecn_ok && ece && cwr;
    }
    tcb->ecn_ece = tcb->ecn_cwr = false;
}

void
tcp_ecn_out(struct tcp_tcb *tcb, struct tcp_seg *seg)
{
    seg->ecn = 0;
    if (!tcb->ecn_ok || (seg->flags & WIRE_TCP_RST)) {
        return; /* RFC 3168 6.1.1: nothing of ECN on a connection without it; no RST carries it */
    }
    if (seg->flags & WIRE_TCP_SYN) {
        if (seg->flags & WIRE_TCP_ACK) {
            seg->flags |= WIRE_TCP_ECE; /* 6.1.1: ECN-setup SYN,ACK: ECE, not CWR */
        } else if (tcb->retries == 0) {
            seg->flags |= WIRE_TCP_ECE | WIRE_TCP_CWR; /* 6.1.1: ECN-setup SYN */
        } else {
            /* 6.1.1.1 (MAY): an ECN-setup SYN that got no answer may have
             * met a middlebox that drops such SYNs; the retransmission
             * goes without ECN, as Linux does. */
            tcb->ecn_ok = false;
        }
        return; /* 6.1.1: a SYN or SYN,ACK is never ECN-capable (not ECT) */
    }
    if (tcb->ecn_ece && (seg->flags & WIRE_TCP_ACK)) {
        seg->flags |= WIRE_TCP_ECE; /* 6.1.3: on every ACK until CWR arrives */
    }
    /* New text only: 6.1.4 (no ECT on pure ACKs), 6.1.5 (none on a
     * retransmission, which starts below SND.NXT), 6.1.6 (neither ECT nor
     * CWR on a window probe: text past the peer's window). */
    uint32_t len = seg->text_len;
    bool new_text = len > 0 && seg->seq == tcb->snd_nxt;
    bool probe = seg->seq + len - tcb->snd_una > tcb->snd_wnd;
    if (!new_text || probe) {
        return;
    }
    seg->ecn = ECN_ECT0; /* 6.1.2: data of an ECN connection is ECT(0) */
    if (tcb->ecn_cwr) {
        seg->flags |= WIRE_TCP_CWR; /* 6.1.2: first new data after a reduction */
        tcb->ecn_cwr = false;
    }
}

void
tcp_ecn_reduced(struct tcp_tcb *tcb)
{
    if (!tcb->ecn_ok) {
        return;
    }
    /* RFC 3168 6.1.2: after any reduction (for loss too) the next new data
     * carries CWR, and ECE answering data sent before it is not congestion
     * anew: the window it belongs to was reduced already. */
    tcb->ecn_cwr = true;
    if (tcb->sx != NULL) {
        tcb->sx->ecn_reduced = true;
        tcb->sx->ecn_high = tcb->snd_nxt;
    }
}

void
tcp_ecn_input(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg)
{
    if (!tcb->ecn_ok) {
        return;
    }
    /* RFC 3168 6.1.3: CWR ends the echo; a CE on this same segment starts
     * it again (so CWR is read first). Only segments that passed the
     * acceptability test get here (6.1.5: CE outside the window is
     * ignored); CE on a window probe counts too (6.1.6). */
    if (seg->flags & WIRE_TCP_CWR) {
        tcb->ecn_ece = false;
    }
    if ((seg->ecn & ECN_MASK) == ECN_CE && seg->seg_len > 0) {
        st->stats.tcp.ecn_ce_rcvd++;
        if (!tcb->ecn_ece) {
            tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                           "RFC 3168 6.1.3: CE received -> ECE on every ACK until CWR");
        }
        tcb->ecn_ece = true;
    }
    /* RFC 3168 6.1.2: ECE on an ACK is congestion as a loss would be, met
     * once per window of data: halve as fast recovery does (ssthresh from
     * FlightSize, cwnd = ssthresh) but resend nothing. Not while a loss
     * recovery or a timeout's resending runs: cwnd was reduced already. */
    struct tcp_sender *x = tcb->sx;
    if (!(seg->flags & WIRE_TCP_ECE) || !(seg->flags & WIRE_TCP_ACK) ||
        (seg->flags & WIRE_TCP_SYN) || x == NULL || !tcb->cc_ready) {
        return;
    }
    if (x->in_recovery || x->rtx_active || (x->ecn_reduced && !seq_gt(seg->ack, x->ecn_high))) {
        return;
    }
    tcp_cc_enter_recovery(&x->cc, tcp_in_flight(tcb), st->now_ns);
    x->cc.cwnd = x->cc.ssthresh; /* no inflation by duplicate ACKs: nothing was lost */
    tcp_ecn_reduced(tcb);
    x->undo_valid = false; /* a real congestion signal: no undo restores what came before */
    st->stats.tcp.ecn_reductions++;
    tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                   "RFC 3168 6.1.2: ECE -> halve cwnd once per window, CWR on the next data");
}
