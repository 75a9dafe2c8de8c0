/*
 * src/tcp/rtt.h: the retransmission timeout estimator of RFC 6298.
 *
 * Read first: RFC 6298 2 (the computation), 3 (Karn's algorithm), 5 (the
 * timer, backoff); RFC 9293 3.8.1 (MUST-18, MUST-19); RFC 7323 4 (RTTM with
 * timestamps).
 *
 * Pure arithmetic over one struct: no clock, no allocation, no trace. The
 * caller (the TCP input path and the retransmission timer) owns the rules
 * about *which* measurements may be fed in:
 *
 *   - Karn (RFC 6298 3, RFC 9293 MUST-18): never call tcp_rtt_sample() with
 *     an RTT measured on a segment that was retransmitted, because the ACK
 *     cannot say which transmission it answers. The one exception is an RTT
 *     measured with the timestamps option (RFC 7323 4.1: TSecr names the
 *     transmission), which is valid for retransmitted segments too.
 *   - At least one measurement per RTT is a MUST (RFC 6298 3) unless Karn
 *     forbids it; more (timestamps on every ACK) are allowed. With
 *     timestamps, RFC 7323 4.1 (RTTM rule) only takes samples from ACKs
 *     that advance SND.UNA, and RFC 7323 4.2 (SHOULD) keeps the RFC 6298
 *     history when sampling every ACK: use tcp_rtt_sample_scaled() then.
 *   - A sample is the time from sending the segment to receiving the ACK
 *     that covers it, in nanoseconds, and must be > 0 (0 is raised to 1 ns).
 *
 * Timer use (RFC 6298 5): arm the retransmission timer for tcp_rtt_rto()
 * when data is sent and the timer is off (5.1), re-arm it when new data is
 * ACKed (5.3), stop it when everything is ACKed (5.2). On expiry retransmit
 * the earliest unACKed segment (5.4), call tcp_rtt_backoff() (5.5) and
 * re-arm for the new tcp_rtt_rto() (5.6). The backed-off RTO stays until
 * a valid sample arrives; tcp_rtt_sample() recomputes RTO (2.3) and drops
 * the backoff (Karn's algorithm keeps the backed-off value exactly that
 * long). tcp_rtt_reset_backoff() collapses the backoff without a sample.
 * If the SYN timer expired during the handshake, call
 * tcp_rtt_after_syn_timeout() when the connection is established (5.7).
 */
#ifndef TERN_TCP_RTT_H
#define TERN_TCP_RTT_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 6298 2.1: RTO before any measurement is 1 s (was 3 s in RFC 2988;
 * 5.7 keeps 3 s after a lost SYN once data flows). */
#define TCP_RTT_RTO_INITIAL_NS 1000000000LL
/* The lower bound on RTO, 200 ms by default: a deliberate deviation from
 * RFC 6298 2.4, which says RTO SHOULD be rounded up to 1 s. RFC 8961 4
 * keeps 1 s for the initial RTO only (as we do) and sets no steady-state
 * floor; its 5 weighs a lower minimum (loss found sooner, more false
 * alarms) and notes that detecting spurious retransmissions (D-SACK, RFC
 * 3708: see input.c) makes the false alarms cheap. The 1 s floor guarded
 * against coarse clocks and long delayed ACKs; our clock ticks in 1 ms and
 * delayed ACKs stay below 200 ms, so 200 ms (Linux's value) stays above
 * them while costing a lost tail a fifth of what 1 s costs. Everything
 * else of RFC 6298 stays. tern_tcp_config.rto_min_ns changes it; 1 s gives
 * 2.4 exactly. docs/rto-and-undo.md has the reasoning. */
#define TCP_RTT_RTO_MIN_NS 200000000LL
/* RFC 6298 2.5: a maximum MAY be placed on RTO if it is at least 60 s. */
#define TCP_RTT_RTO_MAX_NS 60000000000LL
/* RFC 6298 2: the clock granularity G. tern's clock is in nanoseconds but
 * its timers fire on a wheel tick; the caller sets G to that tick. */
#define TCP_RTT_GRANULARITY_NS 1000000LL
/* RFC 6298 2: K = 4, alpha = 1/8, beta = 1/4 (as shifts). */
#define TCP_RTT_K           4
#define TCP_RTT_ALPHA_SHIFT 3
#define TCP_RTT_BETA_SHIFT  2
/* RFC 6298 5.5: the most doublings tracked (the cap applies well before). */
#define TCP_RTT_MAX_BACKOFF 16u

struct tcp_rtt {
    int64_t srtt_ns;   /* SRTT, valid once have_sample */
    int64_t rttvar_ns; /* RTTVAR, valid once have_sample */
    int64_t rto_ns;    /* RTO without backoff, clamped to [min, max] */
    /* The bounds in 32 bits each, 8 bytes less per connection (docs/memory.md:
     * an idle connection within 512 bytes); tcp_rtt_init says how they round. */
    uint32_t rto_min_ns;    /* 2.4: lower bound (at most ~4.29 s) */
    uint32_t rto_max_ms;    /* 2.5: upper bound, also caps the backoff */
    int32_t granularity_ns; /* G of 2.2/2.3 (at most ~2 s) */
    uint8_t backoff;        /* 5.5: number of doublings since the last sample */
    bool have_sample;       /* 2.2 done (first measurement taken) */
};

/* RFC 6298 2.1: no sample yet, RTO = rto_initial_ns (clamped to
 * [rto_min_ns, rto_max_ns]), backoff 0, G = TCP_RTT_GRANULARITY_NS.
 * The minimum is kept to the nanosecond up to TCP_RTT_RTO_MIN_MAX_NS (the
 * stack's configuration refuses more), the maximum to the millisecond
 * (rounded up, at least the minimum; at most 49 days). */
#define TCP_RTT_RTO_MIN_MAX_NS 4000000000LL
void tcp_rtt_init(struct tcp_rtt *r, int64_t rto_initial_ns, int64_t rto_min_ns,
                  int64_t rto_max_ns);

/* RFC 6298 5.7 (MUST): the SYN (or SYN-ACK) timed out and the handshake
 * has now completed: an RTO below 3 s is re-initialised to 3 s (within
 * [rto_min_ns, rto_max_ns]) and the backoff dropped. */
#define TCP_RTT_RTO_AFTER_SYN_LOSS_NS 3000000000LL
void tcp_rtt_after_syn_timeout(struct tcp_rtt *r);

/* Sets the clock granularity G (>= 0) used by the next sample. */
void tcp_rtt_set_granularity(struct tcp_rtt *r, int64_t g_ns);

/* Feeds one valid RTT measurement (see the Karn contract above):
 * 2.2 on the first, 2.3 afterwards; then RTO = SRTT + max(G, K*RTTVAR),
 * clamped by 2.4/2.5, and the backoff is reset. */
void tcp_rtt_sample(struct tcp_rtt *r, int64_t rtt_ns);

/* RFC 7323 4.2 and Appendix G: the same, for one of many samples per RTT
 * (timestamps): alpha and beta are divided by ExpectedSamples =
 * ceil(flight / (2 * mss)) (at least 1), flight being FlightSize when the
 * sample is taken. With flight <= 2 * mss this is tcp_rtt_sample(). */
void tcp_rtt_sample_scaled(struct tcp_rtt *r, int64_t rtt_ns, uint32_t flight, uint32_t mss);

/* RFC 6298 5.5: the timer expired, double the RTO (capped at rto_max_ns). */
void tcp_rtt_backoff(struct tcp_rtt *r);

/* Drops the backoff: tcp_rtt_rto() goes back to the computed RTO. */
void tcp_rtt_reset_backoff(struct tcp_rtt *r);

/* The RTO to arm the retransmission timer with: rto_ns << backoff, capped
 * at rto_max_ns. */
int64_t tcp_rtt_rto(const struct tcp_rtt *r);

/* RFC 6298 5 (last paragraph) MAY: forget SRTT/RTTVAR after many backoffs,
 * so that the next sample is treated as the first (2.2). Keeps the backoff. */
void tcp_rtt_forget(struct tcp_rtt *r);

#endif
