/*
 * tests/unit/test_tcp_rtt.c: the RFC 6298 RTO estimator against
 * hand-computed arithmetic (alpha 1/8, beta 1/4, K 4).
 */
#include "check.h"

#include "tcp/rtt.h"

#define MS 1000000LL
#define S  1000000000LL

/* EVIDENCE: RFC 6298 2.1: before any measurement RTO is the initial value. */
static void
test_initial(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, TCP_RTT_RTO_INITIAL_NS, TCP_RTT_RTO_MIN_NS, TCP_RTT_RTO_MAX_NS);
    CHECK(!r.have_sample);
    CHECK_EQ(tcp_rtt_rto(&r), 1 * S);
    CHECK_EQ(r.backoff, 0);
    /* An initial value below the lower bound is raised to it (2.4). */
    tcp_rtt_init(&r, 100 * MS, 200 * MS, 60 * S);
    CHECK_EQ(tcp_rtt_rto(&r), 200 * MS);
}

/* EVIDENCE: RFC 6298 2.2: first sample R: SRTT = R, RTTVAR = R/2,
 * RTO = SRTT + max(G, 4*RTTVAR). */
static void
test_first_sample(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_sample(&r, 100 * MS);
    CHECK(r.have_sample);
    CHECK_EQ(r.srtt_ns, 100 * MS);
    CHECK_EQ(r.rttvar_ns, 50 * MS);
    /* 100 + max(1 ms, 4 * 50) = 300 ms */
    CHECK_EQ(tcp_rtt_rto(&r), 300 * MS);
}

/* EVIDENCE: RFC 6298 2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| (old SRTT),
 * then SRTT = 7/8 SRTT + 1/8 R'. */
static void
test_subsequent_samples(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_sample(&r, 100 * MS);
    /* R' = 200: RTTVAR = (3*50 + 100)/4 = 62.5; SRTT = (7*100 + 200)/8 = 112.5;
     * RTO = 112.5 + 250 = 362.5 ms. */
    tcp_rtt_sample(&r, 200 * MS);
    CHECK_EQ(r.rttvar_ns, 62500000);
    CHECK_EQ(r.srtt_ns, 112500000);
    CHECK_EQ(tcp_rtt_rto(&r), 362500000);
    /* R' = 80: |112.5 - 80| = 32.5; RTTVAR = (187.5 + 32.5)/4 = 55;
     * SRTT = (787.5 + 80)/8 = 108.4375; RTO = 108.4375 + 220 = 328.4375 ms. */
    tcp_rtt_sample(&r, 80 * MS);
    CHECK_EQ(r.rttvar_ns, 55 * MS);
    CHECK_EQ(r.srtt_ns, 108437500);
    CHECK_EQ(tcp_rtt_rto(&r), 328437500);
}

/* EVIDENCE: RFC 6298 2.2 the clock granularity G: RTO = SRTT + max(G,
 * K*RTTVAR) takes G when the variance term is smaller. */
static void
test_granularity(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 1, 60 * S);
    tcp_rtt_set_granularity(&r, 100 * MS);
    tcp_rtt_sample(&r, 10 * MS);
    /* 4 * RTTVAR = 20 ms < G = 100 ms: RTO = 10 + 100 */
    CHECK_EQ(tcp_rtt_rto(&r), 110 * MS);
    tcp_rtt_set_granularity(&r, 0);
    tcp_rtt_sample(&r, 10 * MS);
    /* RTTVAR = (3*5 + 0)/4 = 3.75; SRTT = 10; RTO = 10 + 15 = 25 ms */
    CHECK_EQ(tcp_rtt_rto(&r), 25 * MS);
}

/* EVIDENCE: RFC 6298 2.4: whenever RTO is computed below the lower bound it
 * is rounded up to it (2.4's 1 s here; tern's default is 200 ms, below). */
static void
test_min_clamp(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, TCP_RTT_RTO_INITIAL_NS, 1 * S, TCP_RTT_RTO_MAX_NS);
    tcp_rtt_sample(&r, 100 * MS);
    CHECK_EQ(r.srtt_ns, 100 * MS);
    CHECK_EQ(tcp_rtt_rto(&r), 1 * S); /* 300 ms computed, 1 s bound */
    /* A steady RTT makes RTTVAR decay, RTO heads for SRTT + G, bounded. */
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    for (int i = 0; i < 100; i++)
        tcp_rtt_sample(&r, 100 * MS);
    CHECK_EQ(r.srtt_ns, 100 * MS);
    CHECK_EQ(tcp_rtt_rto(&r), 200 * MS);
}

/* tern's default lower bound is 200 ms (rtt.h: RFC 8961 over RFC 6298
 * 2.4's 1 s SHOULD): a 100 ms path gets the computed 300 ms, a 20 ms path
 * the 200 ms floor, where 2.4 would give 1 s to both. */
static void
test_default_min_200ms(void)
{
    struct tcp_rtt r;
    CHECK_EQ(TCP_RTT_RTO_MIN_NS, 200 * MS);
    tcp_rtt_init(&r, TCP_RTT_RTO_INITIAL_NS, TCP_RTT_RTO_MIN_NS, TCP_RTT_RTO_MAX_NS);
    tcp_rtt_sample(&r, 100 * MS);
    CHECK_EQ(tcp_rtt_rto(&r), 300 * MS);
    tcp_rtt_init(&r, TCP_RTT_RTO_INITIAL_NS, TCP_RTT_RTO_MIN_NS, TCP_RTT_RTO_MAX_NS);
    tcp_rtt_sample(&r, 20 * MS);
    CHECK_EQ(tcp_rtt_rto(&r), 200 * MS); /* 60 ms computed */
}

/* EVIDENCE: RFC 6298 2.5: a maximum may be placed on RTO (at least 60 s). */
static void
test_max_clamp(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_sample(&r, 40 * S);
    /* 40 + 4 * 20 = 120 s, capped at 60 s */
    CHECK_EQ(tcp_rtt_rto(&r), 60 * S);
}

/* EVIDENCE: RFC 6298 5.5: on expiry RTO doubles; 2.5: the maximum caps the
 * backoff. */
static void
test_backoff(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_sample(&r, 100 * MS); /* RTO 300 ms */
    tcp_rtt_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 600 * MS);
    tcp_rtt_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 1200 * MS);
    tcp_rtt_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 2400 * MS);
    CHECK_EQ(r.backoff, 3);
    /* Keep expiring: 4.8, 9.6, 19.2, 38.4, then 60 s for ever. */
    for (int i = 0; i < 50; i++)
        tcp_rtt_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 60 * S);
    CHECK(r.backoff <= TCP_RTT_MAX_BACKOFF);
    tcp_rtt_reset_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 300 * MS);
    /* Before any sample the initial RTO doubles the same way (1, 2, 4 s). */
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_backoff(&r);
    tcp_rtt_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 4 * S);
}

/* EVIDENCE: RFC 6298 5.7 / 2.3: a new sample recomputes RTO, dropping the
 * backoff. */
static void
test_sample_clears_backoff(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_backoff(&r);
    tcp_rtt_backoff(&r);
    tcp_rtt_sample(&r, 100 * MS);
    CHECK_EQ(r.backoff, 0);
    CHECK_EQ(tcp_rtt_rto(&r), 300 * MS);
}

/* EVIDENCE: RFC 6298 5 (last paragraph): SRTT/RTTVAR may be cleared after
 * repeated backoff; the next sample is a first sample again (2.2). */
static void
test_forget(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_sample(&r, 100 * MS);
    tcp_rtt_sample(&r, 200 * MS);
    tcp_rtt_forget(&r);
    CHECK(!r.have_sample);
    tcp_rtt_sample(&r, 400 * MS);
    CHECK_EQ(r.srtt_ns, 400 * MS);
    CHECK_EQ(r.rttvar_ns, 200 * MS);
    CHECK_EQ(tcp_rtt_rto(&r), 1200 * MS);
}

/* EVIDENCE: RFC 7323 4.2 (SHOULD) and Appendix G: with one sample per ACK,
 * alpha and beta are divided by ExpectedSamples = ceil(FlightSize / 2 SMSS). */
static void
test_scaled_samples(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 1, 60 * S);
    tcp_rtt_sample_scaled(&r, 100 * MS, 10000, 1000); /* first: as 2.2 */
    CHECK_EQ(r.srtt_ns, 100 * MS);
    CHECK_EQ(r.rttvar_ns, 50 * MS);
    /* FlightSize 10000, SMSS 1000: E = 5, alpha' = 1/40, beta' = 1/20.
     * R' = 180: RTTVAR = 50 + (80 - 50)/20 = 51.5; SRTT = 100 + 80/40 = 102;
     * RTO = 102 + 206 = 308 ms. */
    tcp_rtt_sample_scaled(&r, 180 * MS, 10000, 1000);
    CHECK_EQ(r.rttvar_ns, 51500000);
    CHECK_EQ(r.srtt_ns, 102 * MS);
    CHECK_EQ(tcp_rtt_rto(&r), 308 * MS);
    /* E = ceil(1500 / 2000) = 1: the plain RFC 6298 update.
     * RTTVAR = 51.5 + (|102 - 182| - 51.5)/4 = 58.625; SRTT = 102 + 10 = 112. */
    tcp_rtt_sample_scaled(&r, 182 * MS, 1500, 1000);
    CHECK_EQ(r.rttvar_ns, 58625000);
    CHECK_EQ(r.srtt_ns, 112 * MS);
}

/* EVIDENCE: RFC 6298 5.7 (MUST): after the SYN timer expired, RTO is
 * re-initialised to 3 s when data transmission begins. */
static void
test_after_syn_timeout(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
    tcp_rtt_backoff(&r); /* the SYN timed out once: 2 s */
    tcp_rtt_after_syn_timeout(&r);
    CHECK_EQ(r.backoff, 0);
    CHECK_EQ(tcp_rtt_rto(&r), 3 * S);
    /* An RTO already above 3 s stays; a 2 s maximum caps it. */
    tcp_rtt_init(&r, 5 * S, 200 * MS, 60 * S);
    tcp_rtt_after_syn_timeout(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 5 * S);
    tcp_rtt_init(&r, 1 * S, 200 * MS, 2 * S);
    tcp_rtt_after_syn_timeout(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 2 * S);
}

/* A zero or negative measurement (same-tick ACK) counts as 1 ns. */
static void
test_degenerate_sample(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 1, 60 * S);
    tcp_rtt_set_granularity(&r, 0);
    tcp_rtt_sample(&r, 0);
    CHECK_EQ(r.srtt_ns, 1);
    CHECK(tcp_rtt_rto(&r) >= 1);
}

/* The bounds kept in 32 bits (8 bytes less per connection): the minimum
 * to the nanosecond, the maximum to the millisecond rounded up, never
 * below the minimum, and a backed-off RTO stops exactly at it. */
static void
test_compact_bounds(void)
{
    struct tcp_rtt r;
    tcp_rtt_init(&r, 1 * S, 1, 60 * S);
    CHECK_EQ(r.rto_min_ns, 1u);
    CHECK_EQ(r.rto_max_ms, 60000u);
    for (int i = 0; i < 10; i++)
        tcp_rtt_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 60 * S);
    tcp_rtt_init(&r, 1 * S, 200 * MS, 2 * S + 1); /* a part of a ms counts as one */
    CHECK_EQ(r.rto_max_ms, 2001u);
    tcp_rtt_init(&r, 1 * S, 3 * S, 2 * S); /* max below min: min */
    CHECK_EQ(tcp_rtt_rto(&r), 3 * S);
    tcp_rtt_backoff(&r);
    CHECK_EQ(tcp_rtt_rto(&r), 3 * S);
    tcp_rtt_init(&r, 1 * S, 200 * MS, INT64_MAX); /* no overflow: about 49 days */
    CHECK_EQ(r.rto_max_ms, UINT32_MAX);
    tcp_rtt_init(&r, 1 * S, 10 * S, 60 * S); /* a minimum above 4 s is 4 s */
    CHECK_EQ(tcp_rtt_rto(&r), TCP_RTT_RTO_MIN_MAX_NS);
}

int
main(void)
{
    RUN(test_initial);
    RUN(test_first_sample);
    RUN(test_subsequent_samples);
    RUN(test_granularity);
    RUN(test_min_clamp);
    RUN(test_max_clamp);
    RUN(test_backoff);
    RUN(test_sample_clears_backoff);
    RUN(test_forget);
    RUN(test_default_min_200ms);
    RUN(test_scaled_samples);
    RUN(test_after_syn_timeout);
    RUN(test_degenerate_sample);
    RUN(test_compact_bounds);
    return CHECK_DONE();
}
