/*
 * tests/unit/test_tcp_cc_newreno.c: Reno / NewReno window arithmetic
 * (RFC 5681, RFC 6582, RFC 3042) and the congestion control registry,
 * against hand-computed numbers. SMSS is 1000 where the arithmetic should
 * be easy to follow, 1460 where the RFC's Ethernet case matters.
 */
#include "check.h"

#include "tcp/cc.h"

static struct tcp_cc
reno(uint32_t mss)
{
    struct tcp_cc cc;
    /* The arithmetic below was worked out from RFC 5681's IW. */
    tcp_cc_init(&cc, tcp_cc_ops_by_algo(TCP_CC_NEWRENO), mss, false, TERN_TCP_IW_RFC5681, 0);
    return cc;
}

/* EVIDENCE: RFC 5681 3.1 (MUST): IW upper bound, 4 segments up to SMSS 1095,
 * 3 up to 2190, 2 above (RFC 3390). */
static void
test_initial_window(void)
{
    const enum tern_tcp_iw r = TERN_TCP_IW_RFC5681;
    CHECK_EQ(tcp_cc_initial_window(536, r), 2144);  /* 4 * 536 */
    CHECK_EQ(tcp_cc_initial_window(1095, r), 4380); /* 4 * 1095 */
    CHECK_EQ(tcp_cc_initial_window(1096, r), 3288); /* 3 segments, not 4380 bytes */
    CHECK_EQ(tcp_cc_initial_window(1460, r), 4380); /* 3 * 1460 */
    CHECK_EQ(tcp_cc_initial_window(2190, r), 6570); /* 3 * 2190 */
    CHECK_EQ(tcp_cc_initial_window(2191, r), 4382); /* 2 * 2191 */
    CHECK_EQ(tcp_cc_initial_window(9000, r), 18000);
}

/* EVIDENCE: RFC 6928 2: IW min(10*SMSS, max(2*SMSS, 14600)), whole segments,
 * the default rule; 1 segment after a lost SYN. */
static void
test_initial_window_rfc6928(void)
{
    const enum tern_tcp_iw r = TERN_TCP_IW_RFC6928;
    CHECK_EQ(TERN_TCP_IW_RFC6928, 0);                /* a zeroed config gets IW10 */
    CHECK_EQ(tcp_cc_initial_window(536, r), 5360);   /* 10 * 536 */
    CHECK_EQ(tcp_cc_initial_window(1460, r), 14600); /* 10 * 1460 */
    CHECK_EQ(tcp_cc_initial_window(1448, r), 14480); /* 10 * 1448 */
    CHECK_EQ(tcp_cc_initial_window(1500, r), 13500); /* 9 segments: 15000 > 14600 */
    CHECK_EQ(tcp_cc_initial_window(7300, r), 14600); /* 2 * 7300 */
    CHECK_EQ(tcp_cc_initial_window(9000, r), 18000); /* max(2*SMSS, 14600) */
    CHECK_EQ(tcp_cc_initial_window(1, r), 10);
    struct tcp_cc cc;
    tcp_cc_init(&cc, NULL, 1460, false, r, 0);
    CHECK_EQ(cc.cwnd, 14600);
    tcp_cc_after_syn_loss(&cc);
    CHECK_EQ(cc.cwnd, 1460);
    /* RFC 5681 4.1: the restart window is min(IW, cwnd), IW by the same rule. */
    tcp_cc_init(&cc, NULL, 1460, false, r, 0);
    cc.cwnd = 100000;
    tcp_cc_after_idle(&cc, 0);
    CHECK_EQ(cc.cwnd, 14600);
    tcp_cc_init(&cc, tcp_cc_ops_by_name("cubic"), 1460, false, TERN_TCP_IW_RFC5681, 0);
    cc.cwnd = 100000;
    tcp_cc_after_idle(&cc, 0);
    CHECK_EQ(cc.cwnd, 4380);
}

/* EVIDENCE: RFC 5681 3.1: cwnd starts at IW, ssthresh arbitrarily high; a
 * lost SYN or SYN-ACK makes IW one segment (MUST). */
static void
test_init(void)
{
    struct tcp_cc cc = reno(1460);
    CHECK_EQ(cc.cwnd, 4380);
    CHECK_EQ(cc.ssthresh, UINT32_MAX);
    CHECK(tcp_cc_in_slow_start(&cc));
    CHECK_STR(cc.ops->name, "newreno");
    tcp_cc_after_syn_loss(&cc);
    CHECK_EQ(cc.cwnd, 1460);
}

/* EVIDENCE: RFC 5681 3.1 eq. 2: in slow start cwnd += min(N, SMSS) per ACK,
 * so one ACK per segment doubles cwnd each RTT. */
static void
test_slow_start(void)
{
    struct tcp_cc cc = reno(1460);
    /* RTT 1: 3 segments ACKed one by one: 4380 + 3 * 1460 = 8760 (6 segs). */
    for (int i = 0; i < 3; i++)
        tcp_cc_on_ack(&cc, 1460, cc.cwnd, 0, 0);
    CHECK_EQ(cc.cwnd, 8760);
    /* RTT 2: 6 more ACKs: 12 segments. */
    for (int i = 0; i < 6; i++)
        tcp_cc_on_ack(&cc, 1460, cc.cwnd, 0, 0);
    CHECK_EQ(cc.cwnd, 17520);
    /* A delayed ACK for two segments still adds one SMSS only... */
    tcp_cc_on_ack(&cc, 2920, cc.cwnd, 0, 0);
    CHECK_EQ(cc.cwnd, 18980);
    /* ...and an ACK of 500 bytes adds 500. */
    tcp_cc_on_ack(&cc, 500, cc.cwnd, 0, 0);
    CHECK_EQ(cc.cwnd, 19480);
    /* An ACK of nothing new changes nothing. */
    tcp_cc_on_ack(&cc, 0, cc.cwnd, 0, 0);
    CHECK_EQ(cc.cwnd, 19480);
}

/* EVIDENCE: RFC 5681 3.1: congestion avoidance adds about one SMSS per RTT;
 * with byte counting, SMSS once a whole cwnd of bytes has been ACKed. */
static void
test_congestion_avoidance(void)
{
    struct tcp_cc cc = reno(1000);
    cc.cwnd = 10000;
    cc.ssthresh = 10000;
    CHECK(!tcp_cc_in_slow_start(&cc));
    /* One RTT = 10 full-sized ACKs; cwnd grows on the 10th only. */
    for (int i = 0; i < 9; i++)
        tcp_cc_on_ack(&cc, 1000, 10000, 0, 0);
    CHECK_EQ(cc.cwnd, 10000);
    tcp_cc_on_ack(&cc, 1000, 10000, 0, 0);
    CHECK_EQ(cc.cwnd, 11000);
    /* Next RTT: 11 ACKs to reach 12000; with delayed ACKs (2000 each) it
     * takes 6 ACKs (12000 >= 11000 bytes), and the 1000 left carry over. */
    for (int i = 0; i < 5; i++)
        tcp_cc_on_ack(&cc, 2000, 11000, 0, 0);
    CHECK_EQ(cc.cwnd, 11000);
    tcp_cc_on_ack(&cc, 2000, 11000, 0, 0);
    CHECK_EQ(cc.cwnd, 12000);
    CHECK_EQ(cc.u.reno.bytes_acked, 1000);
}

/* EVIDENCE: RFC 5681 3.1: slow start while cwnd < ssthresh; the ACK that
 * reaches ssthresh may overshoot it by less than SMSS; CA after that. */
static void
test_slow_start_to_ca(void)
{
    struct tcp_cc cc = reno(1000);
    cc.cwnd = 4000;
    cc.ssthresh = 5500;
    tcp_cc_on_ack(&cc, 1000, 4000, 0, 0);
    CHECK_EQ(cc.cwnd, 5000);
    tcp_cc_on_ack(&cc, 1000, 5000, 0, 0);
    CHECK_EQ(cc.cwnd, 6000);
    CHECK(!tcp_cc_in_slow_start(&cc));
    tcp_cc_on_ack(&cc, 1000, 6000, 0, 0);
    CHECK_EQ(cc.cwnd, 6000); /* now one SMSS per 6000 bytes */
}

/* EVIDENCE: RFC 5681 3.1 eq. 4 and 3.2 steps 2-3: on the third duplicate
 * ACK ssthresh = max(FlightSize/2, 2*SMSS), cwnd = ssthresh + 3*SMSS. */
static void
test_enter_recovery(void)
{
    struct tcp_cc cc = reno(1000);
    cc.cwnd = 20000;
    tcp_cc_enter_recovery(&cc, 20000, 0);
    CHECK_EQ(cc.ssthresh, 10000);
    CHECK_EQ(cc.cwnd, 13000);
    /* FlightSize, not cwnd: a sender with 6000 in flight and cwnd 20000. */
    cc = reno(1000);
    cc.cwnd = 20000;
    tcp_cc_enter_recovery(&cc, 6000, 0);
    CHECK_EQ(cc.ssthresh, 3000);
    CHECK_EQ(cc.cwnd, 6000);
    /* Tiny flight: the 2*SMSS floor. */
    cc = reno(1000);
    tcp_cc_enter_recovery(&cc, 3000, 0);
    CHECK_EQ(cc.ssthresh, 2000);
    CHECK_EQ(cc.cwnd, 5000);
}

/* EVIDENCE: RFC 5681 3.2 step 4: each further duplicate ACK in fast
 * recovery inflates cwnd by SMSS. RFC 6582 3.2 step 4: a partial ACK
 * deflates cwnd by the new data ACKed and adds SMSS back if >= SMSS was
 * ACKed. Step 3: a full ACK sets cwnd = min(ssthresh, max(FlightSize, SMSS)
 * + SMSS). */
static void
test_newreno_recovery(void)
{
    struct tcp_cc cc = reno(1000);
    cc.cwnd = 20000;
    tcp_cc_enter_recovery(&cc, 20000, 0); /* ssthresh 10000, cwnd 13000 */
    tcp_cc_on_dupack(&cc, 20000, 0);
    tcp_cc_on_dupack(&cc, 20000, 0);
    CHECK_EQ(cc.cwnd, 15000);
    /* Partial ACK of 3000: 15000 - 3000 + 1000. */
    tcp_cc_on_partial_ack(&cc, 3000, 0);
    CHECK_EQ(cc.cwnd, 13000);
    /* Partial ACK of 500 (< SMSS): no add-back. */
    tcp_cc_on_partial_ack(&cc, 500, 0);
    CHECK_EQ(cc.cwnd, 12500);
    /* Partial ACK of exactly one SMSS: deflate 1000, add 1000 back. */
    tcp_cc_on_partial_ack(&cc, 1000, 0);
    CHECK_EQ(cc.cwnd, 12500);
    CHECK_EQ(cc.ssthresh, 10000);
    /* Full ACK with 4000 still in flight: min(10000, 4000 + 1000). */
    tcp_cc_exit_recovery(&cc, 4000, 0);
    CHECK_EQ(cc.cwnd, 5000);
    /* Full ACK with a full pipe: cwnd = ssthresh. */
    cc.cwnd = 14000;
    tcp_cc_exit_recovery(&cc, 15000, 0);
    CHECK_EQ(cc.cwnd, 10000);
    /* Nothing in flight: max(0, SMSS) + SMSS. */
    tcp_cc_exit_recovery(&cc, 0, 0);
    CHECK_EQ(cc.cwnd, 2000);
    /* Deflation never leaves less than one SMSS. */
    cc.cwnd = 3000;
    tcp_cc_on_partial_ack(&cc, 5000, 0);
    CHECK_EQ(cc.cwnd, 1000);
}

/* EVIDENCE: RFC 6675 5 step 4.2: with SACK, cwnd = ssthresh on entering
 * recovery and the pipe, not cwnd inflation, admits data. */
static void
test_sack_recovery(void)
{
    struct tcp_cc cc;
    tcp_cc_init(&cc, &tcp_cc_newreno_ops, 1000, true, TERN_TCP_IW_RFC5681, 0);
    cc.cwnd = 20000;
    tcp_cc_enter_recovery(&cc, 20000, 0);
    CHECK_EQ(cc.ssthresh, 10000);
    CHECK_EQ(cc.cwnd, 10000);
    tcp_cc_on_dupack(&cc, 20000, 0);
    tcp_cc_on_partial_ack(&cc, 3000, 0);
    CHECK_EQ(cc.cwnd, 10000);
    tcp_cc_exit_recovery(&cc, 12000, 0);
    CHECK_EQ(cc.cwnd, 10000);
}

/* EVIDENCE: RFC 5681 3.1: on RTO ssthresh = max(FlightSize/2, 2*SMSS) and
 * cwnd = LW = 1 SMSS; a segment retransmitted by the timer that times out
 * again leaves ssthresh unchanged. Slow start then climbs back. */
static void
test_rto(void)
{
    struct tcp_cc cc = reno(1000);
    cc.cwnd = 20000;
    tcp_cc_on_rto(&cc, 20000, false, 0);
    CHECK_EQ(cc.ssthresh, 10000);
    CHECK_EQ(cc.cwnd, 1000);
    tcp_cc_on_rto(&cc, 1000, true, 0);
    CHECK_EQ(cc.ssthresh, 10000);
    CHECK_EQ(cc.cwnd, 1000);
    /* 1, 2, 4, 8 segments: 1 + 1 + 2 + 4 ACKs = 8000; then 2 more reach
     * ssthresh exactly, and CA takes over. */
    for (int i = 0; i < 7; i++)
        tcp_cc_on_ack(&cc, 1000, cc.cwnd, 0, 0);
    CHECK_EQ(cc.cwnd, 8000);
    tcp_cc_on_ack(&cc, 1000, 8000, 0, 0);
    tcp_cc_on_ack(&cc, 1000, 9000, 0, 0);
    CHECK_EQ(cc.cwnd, 10000);
    CHECK(!tcp_cc_in_slow_start(&cc));
}

/* EVIDENCE: RFC 3042 2: on the first and second duplicate ACK, new data may
 * be sent if FlightSize stays within cwnd + 2*SMSS; cwnd is unchanged. */
static void
test_limited_transmit(void)
{
    struct tcp_cc cc = reno(1460);
    CHECK_EQ(tcp_cc_limited_window(&cc, 0), 4380);
    CHECK_EQ(tcp_cc_limited_window(&cc, 1), 5840);
    CHECK_EQ(tcp_cc_limited_window(&cc, 2), 7300);
    CHECK_EQ(tcp_cc_limited_window(&cc, 3), 4380);
    CHECK_EQ(cc.cwnd, 4380);
}

/* EVIDENCE: RFC 5681 4.1: after an idle period longer than RTO, cwnd =
 * min(IW, cwnd) (the restart window). */
static void
test_after_idle(void)
{
    struct tcp_cc cc = reno(1000);
    cc.cwnd = 20000;
    tcp_cc_after_idle(&cc, 0);
    CHECK_EQ(cc.cwnd, 4000);
    cc.cwnd = 2000;
    tcp_cc_after_idle(&cc, 0);
    CHECK_EQ(cc.cwnd, 2000);
}

/* Algorithms are found by enum or name; every hook is set. */
static void
test_registry(void)
{
    CHECK(tcp_cc_ops_by_name("newreno") == &tcp_cc_newreno_ops);
    CHECK(tcp_cc_ops_by_name("reno") == &tcp_cc_newreno_ops);
    CHECK(tcp_cc_ops_by_name("cubic") == &tcp_cc_cubic_ops);
    CHECK(tcp_cc_ops_by_name("bbr") == NULL);
    CHECK(tcp_cc_ops_by_name(NULL) == NULL);
    CHECK(tcp_cc_ops_by_algo(TCP_CC_ALGO_COUNT) == NULL);
    for (int a = 0; a < TCP_CC_ALGO_COUNT; a++) {
        const struct tcp_cc_ops *o = tcp_cc_ops_by_algo((enum tcp_cc_algo)a);
        CHECK(o != NULL);
        if (o == NULL)
            continue;
        CHECK_EQ(o->algo, a);
        CHECK(o->init && o->on_ack && o->on_dupack && o->enter_recovery);
        CHECK(o->on_partial_ack && o->exit_recovery && o->on_rto && o->after_idle);
    }
    /* NULL ops means NewReno. */
    struct tcp_cc cc;
    tcp_cc_init(&cc, NULL, 1460, false, TERN_TCP_IW_RFC5681, 0);
    CHECK(cc.ops == &tcp_cc_newreno_ops);
}

int
main(void)
{
    RUN(test_initial_window);
    RUN(test_initial_window_rfc6928);
    RUN(test_init);
    RUN(test_slow_start);
    RUN(test_congestion_avoidance);
    RUN(test_slow_start_to_ca);
    RUN(test_enter_recovery);
    RUN(test_newreno_recovery);
    RUN(test_sack_recovery);
    RUN(test_rto);
    RUN(test_limited_transmit);
    RUN(test_after_idle);
    RUN(test_registry);
    return CHECK_DONE();
}
