/*
 * src/tcp/cc_newreno.c: Reno congestion control with NewReno recovery.
 *
 * Read before editing: RFC 5681 3.1 (slow start, congestion avoidance, the
 * ssthresh rule), 3.2 (fast retransmit / fast recovery), 4.1 (restart after
 * idle); RFC 6582 3.2 (NewReno partial and full ACKs). The recovery steps
 * shared with other algorithms live in cc.c; cc.h says who calls what.
 */
#include "tcp/cc.h"

static void
reno_init(struct tcp_cc *cc, uint32_t mss, int64_t now_ns)
{
    (void)mss;
    (void)now_ns;
    cc->u.reno.bytes_acked = 0;
}

static void
reno_on_ack(struct tcp_cc *cc, uint32_t bytes_acked, uint32_t flight_before, int64_t rtt_ns,
            int64_t now_ns)
{
    (void)flight_before;
    (void)rtt_ns;
    (void)now_ns;
    if (tcp_cc_in_slow_start(cc)) {
        tcp_cc_slow_start(cc, bytes_acked);
        cc->u.reno.bytes_acked = 0;
        return;
    }
    /* RFC 5681 3.1 congestion avoidance, by byte counting (the RECOMMENDED
     * form): once a full cwnd of bytes has been ACKed, cwnd += SMSS, i.e.
     * one segment per RTT. */
    struct tcp_cc_newreno *r = &cc->u.reno;
    r->bytes_acked += bytes_acked;
    if (r->bytes_acked >= cc->cwnd) {
        r->bytes_acked -= cc->cwnd;
        if (cc->cwnd <= UINT32_MAX - cc->mss)
            cc->cwnd += cc->mss;
    }
}

/* RFC 5681 3.1 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS). */
static uint32_t
reno_ssthresh(const struct tcp_cc *cc, uint32_t flight)
{
    uint32_t half = flight / 2;
    uint64_t two = 2ull * cc->mss;
    return half > two ? half : (uint32_t)(two > UINT32_MAX ? UINT32_MAX : two);
}

static void
reno_enter_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    (void)now_ns;
    cc->ssthresh = reno_ssthresh(cc, flight);
    cc->u.reno.bytes_acked = 0;
    if (cc->sack) {
        /* RFC 6675 5 step 4.2: cwnd = ssthresh; pipe does the rest. */
        cc->cwnd = cc->ssthresh;
        return;
    }
    /* RFC 5681 3.2 step 3: cwnd = ssthresh + 3*SMSS, the three segments the
     * duplicate ACKs say have left the network. */
    uint64_t w = (uint64_t)cc->ssthresh + 3ull * cc->mss;
    cc->cwnd = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

static void
reno_on_rto(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    (void)now_ns;
    /* RFC 5681 3.1: eq. 4 for ssthresh, then cwnd = LW = 1 SMSS. */
    cc->ssthresh = reno_ssthresh(cc, flight);
    cc->cwnd = cc->mss;
    cc->u.reno.bytes_acked = 0;
}

static void
reno_after_idle(struct tcp_cc *cc, int64_t now_ns)
{
    (void)now_ns;
    /* RFC 5681 4.1: RW = min(IW, cwnd). */
    uint32_t iw = tcp_cc_initial_window(cc->mss, (enum tern_tcp_iw)cc->iw);
    if (iw < cc->cwnd)
        cc->cwnd = iw;
}

const struct tcp_cc_ops tcp_cc_newreno_ops = {
    .name = "newreno",
    .algo = TCP_CC_NEWRENO,
    .init = reno_init,
    .on_ack = reno_on_ack,
    .on_dupack = tcp_cc_reno_dupack,
    .enter_recovery = reno_enter_recovery,
    .on_partial_ack = tcp_cc_reno_partial_ack,
    .exit_recovery = tcp_cc_reno_exit_recovery,
    .on_rto = reno_on_rto,
    .after_idle = reno_after_idle,
};
