/*
 * tests/unit/test_tcp_cc_cubic.c: CUBIC (RFC 9438) against hand-computed
 * values. SMSS is 1000 bytes, so "W_max = 100 MSS" is 100000 bytes.
 *
 * The worked example: W_max = 100 MSS, beta_cubic = 0.7, so after the
 * reduction cwnd_epoch = 70 MSS and K = cbrt((100 - 70) / 0.4) = cbrt(75)
 * = 4.2171 s, which tern keeps at millisecond resolution: 4217 ms
 * (4217^3 = 74,991,286,313 <= 75e9 < 4218^3 = 75,044,648,232).
 * W_cubic(K) = W_max = 100000 bytes; W_cubic(2K) = 0.4 * 4.217^3 MSS +
 * W_max = 29.9965 + 100 MSS = 129996.5 bytes; W_cubic(0) = 100000 -
 * 29996.5 = 70003.5 bytes, i.e. cwnd_epoch as the curve intends.
 */
#include "check.h"

#include "tcp/cc.h"

#define MS 1000000LL

static struct tcp_cc
cubic(bool sack)
{
    struct tcp_cc cc;
    /* The arithmetic below was worked out from RFC 5681's IW. */
    tcp_cc_init(&cc, tcp_cc_ops_by_name("cubic"), 1000, sack, TERN_TCP_IW_RFC5681, 0);
    return cc;
}

/* The integer cube root the K computation relies on. */
static void
test_cbrt(void)
{
    CHECK_EQ(tcp_cc_cubic_cbrt(0), 0);
    CHECK_EQ(tcp_cc_cubic_cbrt(1), 1);
    CHECK_EQ(tcp_cc_cubic_cbrt(7), 1);
    CHECK_EQ(tcp_cc_cubic_cbrt(8), 2);
    CHECK_EQ(tcp_cc_cubic_cbrt(26), 2);
    CHECK_EQ(tcp_cc_cubic_cbrt(27), 3);
    CHECK_EQ(tcp_cc_cubic_cbrt(75000000000ull), 4217);
    CHECK_EQ(tcp_cc_cubic_cbrt(1ull << 63), 2097152);
    CHECK_EQ(tcp_cc_cubic_cbrt((1ull << 63) - 1), 2097151);
    CHECK_EQ(tcp_cc_cubic_cbrt(UINT64_MAX), 2642245);
}

/* EVIDENCE: RFC 9438 4.2 Figure 2: K = cbrt((W_max - cwnd_epoch) / C). */
static void
test_k(void)
{
    CHECK_EQ(tcp_cc_cubic_k_ns(100000, 70000, 1000), 4217 * MS);
    /* Same windows in 1460-byte segments: the same K. */
    CHECK_EQ(tcp_cc_cubic_k_ns(146000, 102200, 1460), 4217 * MS);
    /* W_max - cwnd_epoch = 0.4 MSS: K = 1 s. */
    CHECK_EQ(tcp_cc_cubic_k_ns(10400, 10000, 1000), 1000 * MS);
    /* No drop: K = 0. */
    CHECK_EQ(tcp_cc_cubic_k_ns(10000, 10000, 1000), 0);
    CHECK_EQ(tcp_cc_cubic_k_ns(10000, 12000, 1000), 0);
}

/* EVIDENCE: RFC 9438 4.2 Figure 1: W_cubic(t) = C (t - K)^3 + W_max, at
 * t = 0, K and 2K for W_max = 100 MSS. */
static void
test_w_cubic(void)
{
    struct tcp_cc cc = cubic(false);
    cc.u.cubic.w_max = 100000;
    cc.u.cubic.k_ns = 4217 * MS;
    CHECK_EQ(tcp_cc_cubic_w(&cc, 4217 * MS), 100000);
    CHECK_EQ(tcp_cc_cubic_w(&cc, 2 * 4217 * MS), 129996);
    CHECK_EQ(tcp_cc_cubic_w(&cc, 0), 70003);
    /* Far below: clamped at 0, far above: at UINT32_MAX. */
    cc.u.cubic.k_ns = 10000 * 1000 * MS;
    CHECK_EQ(tcp_cc_cubic_w(&cc, 0), 0);
    CHECK_EQ(tcp_cc_cubic_w(&cc, 20000 * 1000 * MS), UINT32_MAX);
}

/* EVIDENCE: RFC 9438 4.6 Figure 5 and 4.7: on loss W_max = cwnd (first
 * event), ssthresh = 0.7 * flight_size, cwnd = ssthresh; without SACK the
 * RFC 5681 3.2 inflation by 3 SMSS is added, and the full ACK (RFC 6582)
 * brings cwnd back to ssthresh. */
static void
test_multiplicative_decrease(void)
{
    struct tcp_cc cc = cubic(true);
    cc.cwnd = 100000;
    tcp_cc_enter_recovery(&cc, 100000, 0);
    CHECK_EQ(cc.u.cubic.w_max, 100000);
    CHECK_EQ(cc.u.cubic.cwnd_prior, 100000);
    CHECK_EQ(cc.ssthresh, 70000);
    CHECK_EQ(cc.cwnd, 70000);
    cc = cubic(false);
    cc.cwnd = 100000;
    tcp_cc_enter_recovery(&cc, 100000, 0);
    CHECK_EQ(cc.cwnd, 73000);
    tcp_cc_exit_recovery(&cc, 70000, 0);
    CHECK_EQ(cc.cwnd, 70000);
    /* Small flight: ssthresh floor of 2 SMSS. */
    cc = cubic(true);
    tcp_cc_enter_recovery(&cc, 2000, 0);
    CHECK_EQ(cc.ssthresh, 2000);
    CHECK_EQ(cc.cwnd, 2000);
}

/* EVIDENCE: RFC 9438 4.7: with fast convergence, a congestion event below
 * the previous W_max sets W_max = cwnd * (1 + 0.7) / 2. */
static void
test_fast_convergence(void)
{
    struct tcp_cc cc = cubic(true);
    cc.cwnd = 100000;
    tcp_cc_enter_recovery(&cc, 100000, 0); /* W_max 100000 */
    cc.cwnd = 90000;
    tcp_cc_enter_recovery(&cc, 90000, 0);
    CHECK_EQ(cc.u.cubic.w_max, 76500); /* 90000 * 0.85 */
    CHECK_EQ(cc.ssthresh, 63000);
    /* Disabled: W_max is simply cwnd. */
    cc = cubic(true);
    cc.u.cubic.fast_convergence = false;
    cc.cwnd = 100000;
    tcp_cc_enter_recovery(&cc, 100000, 0);
    cc.cwnd = 90000;
    tcp_cc_enter_recovery(&cc, 90000, 0);
    CHECK_EQ(cc.u.cubic.w_max, 90000);
}

/* After the worked example's reduction: the epoch starts at the first CA
 * ACK with cwnd_epoch = 70 MSS, W_est = cwnd_epoch and K = 4217 ms. */
static struct tcp_cc
after_loss(void)
{
    struct tcp_cc cc = cubic(true);
    cc.cwnd = 100000;
    tcp_cc_enter_recovery(&cc, 100000, 0);
    tcp_cc_exit_recovery(&cc, 70000, 0);
    return cc;
}

/* EVIDENCE: RFC 9438 4.2 (epoch start, K), 4.3 (W_est starts at
 * cwnd_epoch; W_est += alpha * segments_acked / cwnd with alpha = 9/17;
 * Reno-friendly when W_cubic(t) < W_est). */
static void
test_epoch_start_reno_friendly(void)
{
    struct tcp_cc cc = after_loss();
    int64_t t0 = 1000 * MS;
    /* First ACK of the stage, at t = 0: W_est = 70000 + 9/17 * 1000 *
     * 1000 / 70000 = 70007.56; W_cubic(0) = 70003.5 < W_est, so the
     * Reno-friendly region sets cwnd = W_est = 70007. */
    tcp_cc_on_ack(&cc, 1000, 70000, 100 * MS, t0);
    CHECK_EQ(cc.u.cubic.epoch_start_ns, t0);
    CHECK_EQ(cc.u.cubic.cwnd_epoch, 70000);
    CHECK_EQ(cc.u.cubic.k_ns, 4217 * MS);
    CHECK_EQ(cc.u.cubic.w_est, 70007);
    CHECK_EQ(cc.cwnd, 70007);
}

/* EVIDENCE: RFC 9438 4.3: W_est grows by alpha_cubic = 3(1-0.7)/(1+0.7) =
 * 9/17 SMSS per cwnd of bytes ACKed, and by 1 SMSS once W_est >=
 * cwnd_prior; in the Reno-friendly region cwnd = W_est. */
static void
test_w_est(void)
{
    struct tcp_cc cc = cubic(true);
    struct tcp_cc_cubic *c = &cc.u.cubic;
    cc.cwnd = 10000;
    cc.ssthresh = 10000;
    c->epoch_start_ns = 0;
    c->k_ns = 0;
    c->w_max = 10000;
    c->cwnd_epoch = 10000;
    c->w_est = 10000;
    c->cwnd_prior = 20000;
    /* 17000 bytes ACKed: W_est += 9 * 1000 * 17000 / (17 * 10000) = 900.
     * W_cubic(1 ms) = 10000 + 0.4e-9 MSS: Reno-friendly, cwnd = 10900. */
    tcp_cc_on_ack(&cc, 17000, 10000, 100 * MS, 1 * MS);
    CHECK_EQ(c->w_est, 10900);
    CHECK_EQ(cc.cwnd, 10900);
    /* W_est >= cwnd_prior: alpha = 1, W_est += 1000 * 10900 / 10900. */
    c->cwnd_prior = 10500;
    tcp_cc_on_ack(&cc, 10900, 10900, 100 * MS, 2 * MS);
    CHECK_EQ(c->w_est, 11900);
    CHECK_EQ(cc.cwnd, 11900);
}

/* EVIDENCE: RFC 9438 4.4 (concave, cwnd < W_max) and 4.2 target: per ACK
 * cwnd += (target - cwnd) / cwnd, target = W_cubic(t + RTT) within
 * [cwnd, 1.5 cwnd]. */
static void
test_concave(void)
{
    struct tcp_cc cc = after_loss();
    tcp_cc_on_ack(&cc, 1000, 70000, 100 * MS, 0); /* epoch at 0 */
    cc.cwnd = 70000;
    cc.u.cubic.w_est = 70000;
    cc.u.cubic.est_accum = 0;
    /* At t = K - 100 ms with RTT 100 ms, target = W_cubic(K) = 100000;
     * cwnd += 30000 * 1000 / 70000 = 428.57 -> 70428. */
    tcp_cc_on_ack(&cc, 1000, 70000, 100 * MS, 4117 * MS);
    CHECK_EQ(cc.cwnd, 70428);
    /* The 0.57 byte is kept: 4 more such steps gain 428.57 * 4 plus the
     * carried fractions, from the moving cwnd: just check monotonic. */
    uint32_t before = cc.cwnd;
    tcp_cc_on_ack(&cc, 1000, 70000, 100 * MS, 4117 * MS);
    CHECK(cc.cwnd > before);
}

/* EVIDENCE: RFC 9438 4.5 (convex, cwnd >= W_max): the same per-ACK rule,
 * target = W_cubic(2K) = 129996 at t = 2K - RTT. */
static void
test_convex(void)
{
    struct tcp_cc cc = after_loss();
    tcp_cc_on_ack(&cc, 1000, 70000, 100 * MS, 0);
    cc.cwnd = 100000;
    cc.u.cubic.w_est = 100000;
    /* cwnd += 29996 * 1000 / 100000 = 299.96 -> 100299. */
    tcp_cc_on_ack(&cc, 1000, 100000, 100 * MS, (2 * 4217 - 100) * MS);
    CHECK_EQ(cc.cwnd, 100299);
    /* Far out, target is capped at 1.5 cwnd: cwnd 10000, t = 10 s, K = 0:
     * target 15000, cwnd += 5000 * 1000 / 10000 = 500. */
    cc = cubic(true);
    cc.cwnd = 10000;
    cc.ssthresh = 10000;
    cc.u.cubic.epoch_start_ns = 0;
    cc.u.cubic.k_ns = 0;
    cc.u.cubic.w_max = 10000;
    cc.u.cubic.w_est = 10000;
    cc.u.cubic.cwnd_prior = 10000;
    tcp_cc_on_ack(&cc, 1000, 10000, 100 * MS, 10000 * MS);
    CHECK_EQ(cc.cwnd, 10500);
}

/* The whole curve: ACK-clocked with RTT 100 ms and one ACK per SMSS, cwnd
 * reaches W_max around t = K and about W_cubic(2K) around 2K. */
static void
test_curve(void)
{
    struct tcp_cc cc = after_loss();
    int64_t now = 0, rtt = 100 * MS;
    uint32_t at_k = 0, at_2k = 0;
    while (now <= 2 * 4217 * MS) {
        unsigned acks = cc.cwnd / 1000;
        for (unsigned i = 0; i < acks; i++)
            tcp_cc_on_ack(&cc, 1000, cc.cwnd, rtt, now + rtt * i / acks);
        now += rtt;
        if (at_k == 0 && now >= 4217 * MS)
            at_k = cc.cwnd;
    }
    at_2k = cc.cwnd;
    /* cwnd runs one RTT ahead of W_cubic(t): within 2% of W_max at K... */
    CHECK(at_k >= 99000 && at_k <= 102000);
    /* ...and of W_cubic(2K + RTT) = 132.6 MSS at 2K (+ up to one RTT). */
    CHECK(at_2k >= 129000 && at_2k <= 137000);
}

/* EVIDENCE: RFC 9438 4.8: on RTO ssthresh is set as in 4.6, cwnd = 1 SMSS;
 * the first CA stage afterwards has K = 0 and W_max = cwnd at its start. */
static void
test_rto(void)
{
    struct tcp_cc cc = cubic(false);
    cc.cwnd = 100000;
    tcp_cc_on_rto(&cc, 100000, false, 0);
    CHECK_EQ(cc.ssthresh, 70000);
    CHECK_EQ(cc.cwnd, 1000);
    /* Repeated timeout: ssthresh held (RFC 5681 3.1). */
    tcp_cc_on_rto(&cc, 1000, true, 0);
    CHECK_EQ(cc.ssthresh, 70000);
    /* Slow start back to 70000, then the stage begins. */
    while (tcp_cc_in_slow_start(&cc))
        tcp_cc_on_ack(&cc, 1000, cc.cwnd, 0, 0);
    CHECK_EQ(cc.cwnd, 70000);
    tcp_cc_on_ack(&cc, 1000, 70000, 100 * MS, 5 * MS);
    CHECK_EQ(cc.u.cubic.k_ns, 0);
    CHECK_EQ(cc.u.cubic.w_max, 70000);
    CHECK_EQ(cc.u.cubic.epoch_start_ns, 5 * MS);
}

/* EVIDENCE: RFC 9438 4.10: slow start (RFC 5681) while cwnd < ssthresh;
 * RFC 5681 4.1 restart window after idle. */
static void
test_slow_start_and_idle(void)
{
    struct tcp_cc cc = cubic(false);
    CHECK_EQ(cc.cwnd, 4000);
    tcp_cc_on_ack(&cc, 1000, 4000, 0, 0);
    tcp_cc_on_ack(&cc, 3000, 5000, 0, 0);
    CHECK_EQ(cc.cwnd, 6000);
    CHECK_EQ(cc.u.cubic.epoch_start_ns, -1);
    cc.cwnd = 50000;
    tcp_cc_after_idle(&cc, 0);
    CHECK_EQ(cc.cwnd, 4000);
}

int
main(void)
{
    RUN(test_cbrt);
    RUN(test_k);
    RUN(test_w_cubic);
    RUN(test_multiplicative_decrease);
    RUN(test_fast_convergence);
    RUN(test_epoch_start_reno_friendly);
    RUN(test_w_est);
    RUN(test_concave);
    RUN(test_convex);
    RUN(test_curve);
    RUN(test_rto);
    RUN(test_slow_start_and_idle);
    return CHECK_DONE();
}
