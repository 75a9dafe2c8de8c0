/*
 * src/tcp/cc.h: congestion control behind one interface, one file per
 * algorithm (cc_newreno.c, cc_cubic.c), chosen per connection.
 *
 * Read first: RFC 5681 (slow start, congestion avoidance, fast retransmit
 * and fast recovery), RFC 6582 (NewReno), RFC 3042 (limited transmit),
 * RFC 6675 (SACK-based recovery, see sack.h), RFC 9438 (CUBIC).
 *
 * Split of work. This module owns the *window arithmetic*: cwnd and
 * ssthresh (bytes), and each algorithm's private state. The caller
 * (input.c ACK processing, timer.c) owns the *sequence-space bookkeeping*:
 * the duplicate-ACK counter, the `recover` point of RFC 6582, the
 * in-recovery flag, what to retransmit, and the SACK scoreboard. The caller
 * only calls the tcp_cc_* functions below, never cc->ops directly. None of
 * them allocates, fails, or emits traces; the caller traces cwnd/ssthresh.
 *
 * Names: SMSS = cc->mss; FlightSize = SND.NXT - SND.UNA (RFC 5681 2; with
 * retransmissions in flight use the highest sequence number sent, SND.MAX).
 *
 * THE CALLER'S CONTRACT, event by event
 *
 * Connection setup. When the connection reaches ESTABLISHED and the send
 * MSS is known (RFC 9293 3.7.1), call tcp_cc_init(cc, ops, mss, sack, iw,
 * now): cwnd = IW of the rule `iw` (tcp_cc_initial_window), ssthresh
 * "arbitrarily high" (UINT32_MAX). `sack` is true when SACK-permitted was
 * exchanged and the caller runs RFC 6675 recovery. Initialise recover =
 * ISS (RFC 6582 3.2 step 1), dupacks = 0, in_recovery = false. Here
 * `recover` is kept *exclusive*: one past the highest byte sent when
 * recovery began (SND.MAX then), so the RFC's "covers recover" reads
 * seq_ge(SEG.ACK, recover) below. If the SYN
 * or SYN-ACK had to be retransmitted, call tcp_cc_after_syn_loss() once
 * (RFC 5681 3.1: IW is then 1 SMSS).
 *
 * Sending. The sender may have min(cwnd, rwnd) bytes in flight (RFC 5681
 * 3.1); in SACK recovery it sends while cwnd - pipe >= 1 SMSS (RFC 6675 5).
 * Limited transmit (RFC 3042 2): on the first and second duplicate ACK,
 * outside recovery, the sender SHOULD send one new segment each if the
 * receive window allows and FlightSize would stay <= cwnd + 2*SMSS:
 * tcp_cc_limited_window(cc, dupacks) returns that bound; cwnd itself does
 * not change and those segments are not counted by the later ssthresh.
 *
 * An ACK that advances SND.UNA (acked = SEG.ACK - SND.UNA, flight_before =
 * FlightSize before the update, flight_after = after it):
 *   - not in recovery: dupacks = 0; tcp_cc_on_ack(cc, acked, flight_before,
 *     srtt_ns, now) (RFC 5681 3.1 slow start / congestion avoidance; pass
 *     the current SRTT, 0 while there is none).
 *   - in recovery and seq_ge(SEG.ACK, recover) (a full ACK, RFC 6582 3.2
 *     step 3; RFC 6675 5 (A) with RecoveryPoint = recover - 1):
 *     in_recovery = false, dupacks = 0; tcp_cc_exit_recovery(cc,
 *     flight_after, now).
 *   - in recovery and seq_lt(SEG.ACK, recover) (a partial ACK, RFC 6582 3.2 step
 *     4): retransmit the first unACKed segment (without SACK), call
 *     tcp_cc_on_partial_ack(cc, acked, now), send new data if cwnd allows;
 *     re-arm the retransmission timer on the first partial ACK only (the
 *     "Impatient" variant, 3.2 step 5 / RFC 6582 4). With SACK the call is
 *     the same (it leaves cwnd alone) and NextSeg picks what to send.
 *
 * A duplicate ACK (RFC 5681 2: SEG.ACK == SND.UNA, outstanding data, no
 * payload, no SYN/FIN, unchanged window; with SACK, RFC 6675 2: an ACK
 * whose SACK blocks cover new data counts too): dupacks++, then
 *   - in recovery: tcp_cc_on_dupack(cc, flight, now) (RFC 5681 3.2 step 4:
 *     inflate cwnd by SMSS; a no-op with SACK) and send if allowed.
 *   - dupacks < 3, not in recovery: limited transmit, above.
 *   - dupacks == 3 (DupThresh), not in recovery: if seq_ge(SEG.ACK,
 *     recover) (the ACK covers the old recover; RFC 6582 3.2 step 2), set
 *     recover = SND.MAX, in_recovery = true, call tcp_cc_enter_recovery(cc,
 *     FlightSize, now) and retransmit the segment at SND.UNA (RFC 5681 3.2
 *     steps 2-3). Otherwise neither enter recovery nor touch ssthresh.
 *     With SACK, also enter when sack.h says IsLost(SND.UNA) (RFC 6675 5
 *     step 4), and set HighRxt/RescueRxt as RFC 6675 says.
 *
 * Retransmission timeout (timer.c): tcp_cc_on_rto(cc, FlightSize, repeated,
 * now), where `repeated` is true when the segment timed out already
 * retransmitted by the timer (RFC 5681 3.1: ssthresh is then held); cwnd =
 * 1 SMSS (the loss window, LW). Then recover = SND.MAX, in_recovery =
 * false, dupacks = 0 (RFC 6582 4; RFC 6675 5.1: the scoreboard's SACK
 * information may be kept but recovery ends).
 *
 * Idle restart (RFC 5681 4.1): when sending after an idle period longer
 * than one RTO, call tcp_cc_after_idle(cc, now): cwnd = min(IW, cwnd).
 */
#ifndef TERN_TCP_CC_H
#define TERN_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/tcp.h"

/* RFC 5681 3.2 / RFC 6675 2: DupThresh. */
#define TCP_CC_DUPTHRESH 3u

enum tcp_cc_algo {
    TCP_CC_NEWRENO, /* RFC 5681 + RFC 6582, "newreno" (alias "reno") */
    TCP_CC_CUBIC,   /* RFC 9438, "cubic" */
    TCP_CC_ALGO_COUNT,
};

struct tcp_cc;

/* One algorithm. Every hook is set (no NULLs). Reached only through the
 * tcp_cc_* wrappers below, whose comments say what each must do. */
struct tcp_cc_ops {
    const char *name;
    enum tcp_cc_algo algo;
    void (*init)(struct tcp_cc *cc, uint32_t mss, int64_t now_ns);
    void (*on_ack)(struct tcp_cc *cc, uint32_t bytes_acked, uint32_t flight_before, int64_t rtt_ns,
                   int64_t now_ns);
    void (*on_dupack)(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);
    void (*enter_recovery)(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);
    void (*on_partial_ack)(struct tcp_cc *cc, uint32_t bytes_acked, int64_t now_ns);
    void (*exit_recovery)(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);
    void (*on_rto)(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);
    void (*after_idle)(struct tcp_cc *cc, int64_t now_ns);
};

/* NewReno: the byte counter of RFC 5681 3.1 congestion avoidance. */
struct tcp_cc_newreno {
    uint32_t bytes_acked; /* bytes ACKed since cwnd last grew in CA */
};

/* CUBIC (RFC 9438 4.1.2), windows in bytes, times in ns. */
struct tcp_cc_cubic {
    int64_t epoch_start_ns; /* t = 0 of the current CA stage; -1: none yet */
    int64_t k_ns;           /* K of 4.2 (eq. 2) for this epoch */
    uint32_t w_max;         /* W_max: cwnd before the last reduction (4.7) */
    uint32_t cwnd_epoch;    /* cwnd at the start of the epoch */
    uint32_t cwnd_prior;    /* cwnd before the last reduction (Figure 5) */
    uint32_t w_est;         /* W_est of 4.3 (Reno-friendly estimate) */
    uint32_t cwnd_accum;    /* byte accumulator for the fractional cwnd step */
    uint32_t est_accum;     /* byte accumulator for the W_est step */
    bool fast_convergence;  /* 4.7 SHOULD: on by default */
};

struct tcp_cc {
    const struct tcp_cc_ops *ops;
    uint32_t cwnd;     /* congestion window, bytes (RFC 5681 2) */
    uint32_t ssthresh; /* slow start threshold, bytes */
    uint32_t mss;      /* SMSS, bytes */
    bool sack;         /* RFC 6675 recovery: no inflation, cwnd = ssthresh */
    uint8_t iw;        /* enum tern_tcp_iw: the initial window rule */
    union {
        struct tcp_cc_newreno reno;
        struct tcp_cc_cubic cubic;
    } u; /* the algorithm's state; no allocation */
};

/* The algorithm of that number; NULL when out of range. */
const struct tcp_cc_ops *tcp_cc_ops_by_algo(enum tcp_cc_algo algo);

/* The algorithm of that name ("newreno", "reno", "cubic"); NULL if unknown.
 * `name` is borrowed. */
const struct tcp_cc_ops *tcp_cc_ops_by_name(const char *name);

/* The initial window for an SMSS, in bytes, by rule `iw` (tern/tcp.h
 * enum tern_tcp_iw), whole segments either way:
 *   TERN_TCP_IW_RFC6928: RFC 6928 2 eq. (1), min(10*SMSS, max(2*SMSS,
 *     14600)) rounded down to whole segments: 14600 bytes at SMSS 1460,
 *     5360 at 536, 13500 at 1500, 18000 at 9000.
 *   TERN_TCP_IW_RFC5681: RFC 5681 3.1, 4*SMSS up to SMSS 1095, 3*SMSS up
 *     to 2190, else 2*SMSS (RFC 3390's min(4*SMSS, max(2*SMSS, 4380
 *     bytes)) rounded down to whole segments, as RFC 5681's "MUST NOT be
 *     more than N segments" requires: 4380 bytes at SMSS 1460, 2144 at 536).
 * An unknown rule is taken as TERN_TCP_IW_RFC6928. */
uint32_t tcp_cc_initial_window(uint32_t mss, enum tern_tcp_iw iw);

/* Starts congestion control for a connection (see the contract above).
 * ops NULL means NewReno; mss 0 is taken as 1; `iw` the initial window
 * rule, kept for the restart window after idle. */
void tcp_cc_init(struct tcp_cc *cc, const struct tcp_cc_ops *ops, uint32_t mss, bool sack,
                 enum tern_tcp_iw iw, int64_t now_ns);

/* RFC 5681 3.1: the SYN or SYN-ACK was lost, IW becomes 1 SMSS. */
void tcp_cc_after_syn_loss(struct tcp_cc *cc);

/* New data ACKed outside recovery: slow start (cwnd < ssthresh, RFC 5681
 * eq. 2) or congestion avoidance (the algorithm's rule). */
void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t bytes_acked, uint32_t flight_before, int64_t rtt_ns,
                   int64_t now_ns);

/* A duplicate ACK during fast recovery: RFC 5681 3.2 step 4, cwnd +=
 * SMSS (not with SACK). */
void tcp_cc_on_dupack(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);

/* The third duplicate ACK (or RFC 6675 loss): reduce ssthresh from
 * FlightSize (RFC 5681 eq. 4 / RFC 9438 Figure 5) and set cwnd to
 * ssthresh + 3*SMSS (without SACK, RFC 5681 3.2 step 3) or ssthresh (with
 * SACK, RFC 6675 5 step 4.2). */
void tcp_cc_enter_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);

/* RFC 6582 3.2 step 4: a partial ACK of `bytes_acked` new bytes: cwnd -=
 * bytes_acked, then += SMSS if bytes_acked >= SMSS (never below SMSS). No
 * change with SACK. */
void tcp_cc_on_partial_ack(struct tcp_cc *cc, uint32_t bytes_acked, int64_t now_ns);

/* RFC 6582 3.2 step 3: the full ACK ends recovery; cwnd = min(ssthresh,
 * max(flight, SMSS) + SMSS), `flight` being FlightSize after the ACK. */
void tcp_cc_exit_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);

/* Retransmission timeout: ssthresh from FlightSize unless `repeated`
 * (RFC 5681 3.1 eq. 4 / RFC 9438 4.8), cwnd = 1 SMSS (LW). */
void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight, bool repeated, int64_t now_ns);

/* RFC 4015 3 (response to a spurious retransmission, as Linux's undo): the
 * reduction was a false alarm; cwnd and ssthresh go back up to the values
 * saved before it (never down). CUBIC starts a new epoch from there. */
void tcp_cc_undo(struct tcp_cc *cc, uint32_t cwnd, uint32_t ssthresh);

/* RFC 5681 4.1: restart window after idle, cwnd = min(IW, cwnd). */
void tcp_cc_after_idle(struct tcp_cc *cc, int64_t now_ns);

/* RFC 3042 2: the most FlightSize may reach while sending new data on the
 * `dupacks`-th duplicate ACK outside recovery: cwnd + min(dupacks, 2)*SMSS
 * for dupacks 1 and 2, cwnd otherwise. */
uint32_t tcp_cc_limited_window(const struct tcp_cc *cc, unsigned dupacks);

/* True while cwnd < ssthresh (RFC 5681 3.1: slow start). */
bool tcp_cc_in_slow_start(const struct tcp_cc *cc);

/* For the algorithm files: the Reno recovery steps every algorithm shares
 * (RFC 5681 3.2 step 4, RFC 6582 3.2 steps 3-4), honouring cc->sack. */
void tcp_cc_reno_dupack(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);
void tcp_cc_reno_partial_ack(struct tcp_cc *cc, uint32_t bytes_acked, int64_t now_ns);
void tcp_cc_reno_exit_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns);
/* RFC 5681 3.1 eq. 2: cwnd += min(bytes_acked, SMSS) (saturating).
 * Returns the increase. */
uint32_t tcp_cc_slow_start(struct tcp_cc *cc, uint32_t bytes_acked);

/* The algorithms (defined in cc_newreno.c and cc_cubic.c). */
extern const struct tcp_cc_ops tcp_cc_newreno_ops;
extern const struct tcp_cc_ops tcp_cc_cubic_ops;

/* CUBIC helpers, exposed for the unit tests (RFC 9438 4.2). */
/* floor(cbrt(x)) for any 64-bit x. */
uint64_t tcp_cc_cubic_cbrt(uint64_t x);
/* K in ns for a drop from w_max to cwnd_epoch bytes (0 if not a drop). */
int64_t tcp_cc_cubic_k_ns(uint32_t w_max, uint32_t cwnd_epoch, uint32_t mss);
/* W_cubic(t) in bytes, t in ns since the epoch started; clamped to
 * [0, UINT32_MAX]. */
uint32_t tcp_cc_cubic_w(const struct tcp_cc *cc, int64_t t_ns);

#endif
