/*
 * src/tcp/cc_cubic.c: CUBIC congestion control (RFC 9438).
 *
 * Read before editing: RFC 9438 4.1-4.8 and 4.10; cc.h for who calls what.
 * Fast retransmit / fast recovery are RFC 5681 / 6582 / 6675's, unchanged
 * (RFC 9438 4.2), so the recovery steps come from cc.c.
 *
 * Units: windows in bytes (RFC 9438 4.1 allows it: SMSS is factored in
 * where the RFC counts segments), times in nanoseconds. K comes from an
 * integer cube root at millisecond resolution; W_cubic(t) is evaluated
 * with plain double multiplications (no libm); W_est and the per-ACK
 * increment are integers with a 1/1024-byte fraction kept in the
 * accumulators.
 */
#include "tcp/cc.h"

/* RFC 9438 4.6: beta_cubic = 0.7, as a fraction. */
#define BETA_NUM 7u
#define BETA_DEN 10u
/* RFC 9438 5.1: C = 0.4 segments / s^3. */
#define CUBIC_C 0.4
/* RFC 9438 4.3: alpha_cubic = 3 * (1 - 0.7) / (1 + 0.7) = 9/17. */
#define ALPHA_NUM 9u
#define ALPHA_DEN 17u
/* Fraction bits of the W_est and cwnd accumulators. */
#define FRAC_BITS 10
#define NS_PER_MS 1000000LL

static uint32_t
clamp_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

uint64_t
tcp_cc_cubic_cbrt(uint64_t x)
{
    /* Bitwise integer cube root: builds the root from the top, one bit at
     * a time (3 bits of x per bit of the root). */
    uint64_t y = 0;
    for (int s = 63; s >= 0; s -= 3) {
        y <<= 1;
        uint64_t b = 3 * y * (y + 1) + 1;
        if ((x >> s) >= b) {
            x -= b << s;
            y++;
        }
    }
    return y;
}

int64_t
tcp_cc_cubic_k_ns(uint32_t w_max, uint32_t cwnd_epoch, uint32_t mss)
{
    /* RFC 9438 4.2 Figure 2: K = cbrt((W_max - cwnd_epoch) / C), windows in
     * segments. In ms: K_ms^3 = (diff / mss) / 0.4 * 1e9 = diff * 2.5e9 /
     * mss, which fits 64 bits for any 32-bit diff. */
    if (cwnd_epoch >= w_max || mss == 0)
        return 0;
    uint64_t diff = w_max - cwnd_epoch;
    uint64_t k_ms = tcp_cc_cubic_cbrt(diff * 2500000000ull / mss);
    return (int64_t)k_ms * NS_PER_MS;
}

uint32_t
tcp_cc_cubic_w(const struct tcp_cc *cc, int64_t t_ns)
{
    /* RFC 9438 4.2 Figure 1: W_cubic(t) = C * (t - K)^3 + W_max. */
    const struct tcp_cc_cubic *c = &cc->u.cubic;
    double d = (double)(t_ns - c->k_ns) / 1e9;
    double w = CUBIC_C * d * d * d * (double)cc->mss + (double)c->w_max;
    if (w <= 0)
        return 0;
    if (w >= (double)UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)w;
}

static void
cubic_init(struct tcp_cc *cc, uint32_t mss, int64_t now_ns)
{
    (void)mss;
    (void)now_ns;
    struct tcp_cc_cubic *c = &cc->u.cubic;
    c->epoch_start_ns = -1;
    c->k_ns = 0;
    c->w_max = 0; /* undefined until the first congestion event */
    c->cwnd_epoch = 0;
    c->cwnd_prior = 0;
    c->w_est = 0;
    c->cwnd_accum = 0;
    c->est_accum = 0;
    c->fast_convergence = true; /* 4.7 SHOULD */
}

/* The first ACK of a congestion avoidance stage starts the epoch. */
static void
start_epoch(struct tcp_cc *cc, int64_t now_ns)
{
    struct tcp_cc_cubic *c = &cc->u.cubic;
    c->epoch_start_ns = now_ns;
    c->cwnd_epoch = cc->cwnd;
    c->cwnd_accum = 0;
    c->est_accum = 0;
    /* 4.3: W_est starts at cwnd_epoch. */
    c->w_est = cc->cwnd;
    if (c->w_max == 0 || c->w_max <= cc->cwnd) {
        /* 4.8 / 4.10: after a timeout (or with no W_max), K = 0 and W_max
         * is the window at the start of the stage; likewise when already
         * above W_max (convex from the start). */
        c->w_max = c->w_max > cc->cwnd ? c->w_max : cc->cwnd;
        c->k_ns = 0;
        return;
    }
    c->k_ns = tcp_cc_cubic_k_ns(c->w_max, cc->cwnd, cc->mss);
}

/* 4.3 Figure 4: W_est += alpha * segments_acked / cwnd (in bytes: alpha *
 * SMSS * bytes_acked / cwnd); alpha is 1 once W_est >= cwnd_prior. */
static void
update_w_est(struct tcp_cc *cc, uint32_t bytes_acked)
{
    struct tcp_cc_cubic *c = &cc->u.cubic;
    uint64_t an = ALPHA_NUM, ad = ALPHA_DEN;
    if (c->w_est >= c->cwnd_prior)
        an = ad = 1;
    uint64_t num = (an * cc->mss * (uint64_t)bytes_acked) << FRAC_BITS;
    uint64_t inc = num / (ad * cc->cwnd) + c->est_accum;
    c->est_accum = (uint32_t)(inc & ((1u << FRAC_BITS) - 1));
    c->w_est = clamp_u32((uint64_t)c->w_est + (inc >> FRAC_BITS));
}

/* 4.2: target = W_cubic(t + RTT), bounded to [cwnd, 1.5 * cwnd]. */
static uint32_t
cubic_target(const struct tcp_cc *cc, int64_t t_ns, int64_t rtt_ns)
{
    uint32_t w = tcp_cc_cubic_w(cc, t_ns + (rtt_ns > 0 ? rtt_ns : 0));
    uint32_t hi = clamp_u32((uint64_t)cc->cwnd + cc->cwnd / 2);
    if (w < cc->cwnd)
        return cc->cwnd;
    return w > hi ? hi : w;
}

static void
cubic_on_ack(struct tcp_cc *cc, uint32_t bytes_acked, uint32_t flight_before, int64_t rtt_ns,
             int64_t now_ns)
{
    (void)flight_before;
    struct tcp_cc_cubic *c = &cc->u.cubic;
    if (tcp_cc_in_slow_start(cc)) {
        /* 4.10: Reno slow start (HyStart++ not implemented). */
        tcp_cc_slow_start(cc, bytes_acked);
        return;
    }
    if (c->epoch_start_ns < 0)
        start_epoch(cc, now_ns);
    int64_t t = now_ns - c->epoch_start_ns;
    update_w_est(cc, bytes_acked);
    if (tcp_cc_cubic_w(cc, t) < c->w_est) {
        /* 4.3: Reno-friendly region, cwnd follows W_est. */
        if (c->w_est > cc->cwnd)
            cc->cwnd = c->w_est;
        return;
    }
    /* 4.4 concave / 4.5 convex: cwnd += (target - cwnd) / cwnd per ACK;
     * Choice: scaled by the bytes this ACK covers (bytes_acked / SMSS
     * segments), so that delayed or stretch ACKs still reach the target
     * in one RTT. */
    uint32_t target = cubic_target(cc, t, rtt_ns);
    uint64_t num = (uint64_t)(target - cc->cwnd) * bytes_acked;
    uint64_t whole = num / cc->cwnd;
    uint64_t frac = ((num % cc->cwnd) << FRAC_BITS) / cc->cwnd + c->cwnd_accum;
    whole += frac >> FRAC_BITS;
    c->cwnd_accum = (uint32_t)(frac & ((1u << FRAC_BITS) - 1));
    cc->cwnd = clamp_u32((uint64_t)cc->cwnd + whole);
}

/* 4.6 Figure 5 with 4.7: W_max, cwnd_prior and ssthresh on a congestion
 * event; the caller then sets cwnd. */
static void
reduce(struct tcp_cc *cc, uint32_t flight)
{
    struct tcp_cc_cubic *c = &cc->u.cubic;
    /* 4.7: fast convergence lowers W_max when the flow lost ground. */
    if (c->fast_convergence && c->w_max != 0 && cc->cwnd < c->w_max)
        c->w_max = clamp_u32((uint64_t)cc->cwnd * (BETA_DEN + BETA_NUM) / (2 * BETA_DEN));
    else
        c->w_max = cc->cwnd;
    c->cwnd_prior = cc->cwnd;
    /* 4.6: ssthresh = flight_size * beta_cubic, at least 2 SMSS. */
    uint64_t ss = (uint64_t)flight * BETA_NUM / BETA_DEN;
    uint64_t two = 2ull * cc->mss;
    cc->ssthresh = clamp_u32(ss > two ? ss : two);
    c->epoch_start_ns = -1;
}

static void
cubic_enter_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    (void)now_ns;
    reduce(cc, flight);
    /* 4.6: cwnd = max(ssthresh, 2 SMSS) (ssthresh already is). Choice:
     * without SACK, the RFC 5681 3.2 step 3 inflation by the three
     * duplicate ACKs is added as for Reno; RFC 6582 deflates it later. */
    if (cc->sack)
        cc->cwnd = cc->ssthresh;
    else
        cc->cwnd = clamp_u32((uint64_t)cc->ssthresh + 3ull * cc->mss);
}

static void
cubic_exit_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    tcp_cc_reno_exit_recovery(cc, flight, now_ns);
    /* The congestion avoidance stage begins at the next new ACK. */
    cc->u.cubic.epoch_start_ns = -1;
}

static void
cubic_on_rto(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    (void)now_ns;
    /* 4.8: ssthresh as in 4.6, cwnd to 1 SMSS as Reno; the next CA stage
     * uses K = 0 and W_max = cwnd at its start (start_epoch). */
    reduce(cc, flight);
    cc->u.cubic.w_max = 0;
    cc->cwnd = cc->mss;
}

static void
cubic_after_idle(struct tcp_cc *cc, int64_t now_ns)
{
    (void)now_ns;
    /* RFC 5681 4.1: RW = min(IW, cwnd); RFC 9438 4.2: t must not count
     * the idle time, so the epoch restarts. */
    uint32_t iw = tcp_cc_initial_window(cc->mss, (enum tern_tcp_iw)cc->iw);
    if (iw < cc->cwnd)
        cc->cwnd = iw;
    cc->u.cubic.epoch_start_ns = -1;
}

const struct tcp_cc_ops tcp_cc_cubic_ops = {
    .name = "cubic",
    .algo = TCP_CC_CUBIC,
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .on_dupack = tcp_cc_reno_dupack,
    .enter_recovery = cubic_enter_recovery,
    .on_partial_ack = tcp_cc_reno_partial_ack,
    .exit_recovery = cubic_exit_recovery,
    .on_rto = cubic_on_rto,
    .after_idle = cubic_after_idle,
};
