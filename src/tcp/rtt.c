/*
 * src/tcp/rtt.c: the RFC 6298 retransmission timeout estimator.
 *
 * Read before editing: RFC 6298 2 (SRTT, RTTVAR, RTO), 3 (Karn), 5
 * (backoff); RFC 7323 4.2 and Appendix G (many samples per RTT). Integer
 * arithmetic in nanoseconds: alpha = 1/8 and beta = 1/4 are applied as
 * SRTT += (R' - SRTT)/8 and RTTVAR += (|SRTT - R'| - RTTVAR)/4, so the
 * rounding loss is below a nanosecond per sample.
 */
#include "tcp/rtt.h"

static int64_t
rto_min(const struct tcp_rtt *r)
{
    return (int64_t)r->rto_min_ns;
}

static int64_t
rto_max(const struct tcp_rtt *r)
{
    return (int64_t)r->rto_max_ms * 1000000;
}

static int64_t
clamp_rto(const struct tcp_rtt *r, int64_t rto)
{
    /* RFC 6298 2.4: round up to the minimum; 2.5: cap at the maximum. */
    if (rto < rto_min(r))
        rto = rto_min(r);
    if (rto > rto_max(r))
        rto = rto_max(r);
    return rto;
}

void
tcp_rtt_init(struct tcp_rtt *r, int64_t rto_initial_ns, int64_t rto_min_ns, int64_t rto_max_ns)
{
    r->srtt_ns = 0;
    r->rttvar_ns = 0;
    int64_t lo = rto_min_ns < 1                        ? 1
                 : rto_min_ns > TCP_RTT_RTO_MIN_MAX_NS ? TCP_RTT_RTO_MIN_MAX_NS
                                                       : rto_min_ns;
    int64_t hi = rto_max_ns > lo ? rto_max_ns : lo;
    int64_t hi_ms = hi / 1000000 + (hi % 1000000 != 0); /* rounded up: never below lo */
    r->rto_min_ns = (uint32_t)lo;
    r->rto_max_ms = hi_ms > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)hi_ms;
    r->granularity_ns = TCP_RTT_GRANULARITY_NS;
    r->backoff = 0;
    r->have_sample = false;
    /* RFC 6298 2.1: before any measurement, RTO is the initial value. */
    r->rto_ns = clamp_rto(r, rto_initial_ns);
}

void
tcp_rtt_set_granularity(struct tcp_rtt *r, int64_t g_ns)
{
    /* Kept in 32 bits: any G above 2 s is taken as 2 s. */
    r->granularity_ns = g_ns <= 0 ? 0 : g_ns > INT32_MAX ? INT32_MAX : (int32_t)g_ns;
}

/* One sample with alpha = 1/(8e), beta = 1/(4e): e = 1 is RFC 6298 2.3,
 * e > 1 is RFC 7323 Appendix G. */
static void
update(struct tcp_rtt *r, int64_t rtt_ns, int64_t e)
{
    if (rtt_ns <= 0)
        rtt_ns = 1;
    if (!r->have_sample) {
        /* RFC 6298 2.2: the first measurement R: SRTT = R, RTTVAR = R/2. */
        r->srtt_ns = rtt_ns;
        r->rttvar_ns = rtt_ns / 2;
        r->have_sample = true;
    } else {
        /* RFC 6298 2.3: RTTVAR first (with the old SRTT), then SRTT:
         * RTTVAR += beta (|SRTT - R'| - RTTVAR); SRTT += alpha (R' - SRTT). */
        int64_t err = r->srtt_ns - rtt_ns;
        if (err < 0)
            err = -err;
        r->rttvar_ns += (err - r->rttvar_ns) / (e << TCP_RTT_BETA_SHIFT);
        r->srtt_ns += (rtt_ns - r->srtt_ns) / (e << TCP_RTT_ALPHA_SHIFT);
    }
    /* RFC 6298 2.2/2.3: RTO = SRTT + max(G, K*RTTVAR). */
    int64_t var = TCP_RTT_K * r->rttvar_ns;
    if (var < r->granularity_ns)
        var = r->granularity_ns;
    r->rto_ns = clamp_rto(r, r->srtt_ns + var);
    /* Karn: the backed-off RTO lasts until a valid sample; this is one. */
    r->backoff = 0;
}

void
tcp_rtt_sample(struct tcp_rtt *r, int64_t rtt_ns)
{
    update(r, rtt_ns, 1);
}

void
tcp_rtt_sample_scaled(struct tcp_rtt *r, int64_t rtt_ns, uint32_t flight, uint32_t mss)
{
    /* RFC 7323 Appendix G: ExpectedSamples = ceil(FlightSize / (2 SMSS)),
     * the 2 standing for delayed ACKs. */
    uint64_t two = 2ull * (mss > 0 ? mss : 1);
    uint64_t e = (flight + two - 1) / two;
    update(r, rtt_ns, e > 1 ? (int64_t)e : 1);
}

void
tcp_rtt_backoff(struct tcp_rtt *r)
{
    /* RFC 6298 5.5: RTO <- RTO * 2; tcp_rtt_rto() applies the 2.5 cap. The
     * count stops growing once the cap is reached. */
    if (r->backoff < TCP_RTT_MAX_BACKOFF && tcp_rtt_rto(r) < rto_max(r))
        r->backoff++;
}

void
tcp_rtt_reset_backoff(struct tcp_rtt *r)
{
    r->backoff = 0;
}

int64_t
tcp_rtt_rto(const struct tcp_rtt *r)
{
    int64_t rto = r->rto_ns;
    for (unsigned i = 0; i < r->backoff; i++) {
        if (rto >= rto_max(r) / 2)
            return rto_max(r);
        rto *= 2;
    }
    return rto < rto_max(r) ? rto : rto_max(r);
}

void
tcp_rtt_forget(struct tcp_rtt *r)
{
    /* RFC 6298 5 (end): SRTT/RTTVAR may be stale after repeated backoff;
     * the next sample starts over as in 2.2. */
    r->have_sample = false;
    r->srtt_ns = 0;
    r->rttvar_ns = 0;
}

void
tcp_rtt_after_syn_timeout(struct tcp_rtt *r)
{
    /* RFC 6298 5.7: a lost SYN means the 1 s initial RTO may be too short
     * for this path; start data transmission with 3 s. */
    if (r->rto_ns < TCP_RTT_RTO_AFTER_SYN_LOSS_NS)
        r->rto_ns = clamp_rto(r, TCP_RTT_RTO_AFTER_SYN_LOSS_NS);
    r->backoff = 0;
}
