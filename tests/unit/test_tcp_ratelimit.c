/*
 * tests/unit/test_tcp_ratelimit.c: the rate limits on replies to segments
 * that are not acceptable (issue 10, item 8; src/tcp/output.c explains the
 * design).
 *
 * What is checked, with the harness of tcp_harness.h (the test plays the
 * peer, one stack "us"):
 *   - each connection has its own reply budget: exhausting one does not
 *     silence another (RFC 5961 7; CVE-2016-5696 was one budget for all);
 *   - the stack-wide ceilings (challenge ACKs, corrective ACKs, RSTs) hold,
 *     and their budget is drawn anew every second from the stack's PRNG:
 *     it changes from second to second, the same seed gives the same
 *     budgets, another seed others;
 *   - a flood of blind segments on one connection draws at most one
 *     corrective ACK per window (default 500 ms) and every one held back
 *     is counted;
 *   - what the real peer needs still goes out: a retransmission below
 *     RCV.NXT after our ACK was lost is answered each time, even inside a
 *     window spent on a flood; a TIME-WAIT FIN retransmission is
 *     acknowledged every time (RFC 9293 3.10.7.4 says so explicitly);
 *   - RSTs to a closed port and to an ACK on a listener are limited and
 *     counted.
 * And in the simulator (virtual time): an off-path attacker floods blind
 * SYNs at the 4-tuple of a bulk transfer; the transfer's bytes arrive
 * intact, the sender sees a bounded number of duplicate ACKs and makes no
 * spurious fast retransmit. The same flood with the limits off shows what
 * they prevent (printed, and checked to hurt, so that the flood is known
 * to reach the connection).
 *
 * EVIDENCE: RFC 9293 3.10.7.4 first: unacceptable segment -> ACK (rate-limited, RFC 5961 7)
 * EVIDENCE: RFC 9293 3.10.7.1 3.10.7.2: RST for no connection / ACK in LISTEN (rate-limited)
 */
#include <stdio.h>

#include "tcp_harness.h"
#include "tern/sim.h"

#define MS 1000000LL

/* ---- helpers ------------------------------------------------------------ */

static uint64_t
stat_drop(const struct h *h, enum tern_drop_reason r)
{
    return tern_stack_stats(h->st)->drops[r];
}

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A sequence number a blind attacker might try: anywhere but within 1 MiB
 * of RCV.NXT (301), so that it is out of the window and not a plausible
 * retransmission. */
static uint32_t
blind_seq(uint64_t *rng)
{
    for (;;) {
        uint32_t s = (uint32_t)splitmix64(rng);
        if (s - (301u - (1u << 20)) > (2u << 20)) {
            return s;
        }
    }
}

/* A second ESTABLISHED connection, from our port `port` to the peer's
 * PEER_PORT: SND.NXT 1001, RCV.NXT 501. */
static int
second_connection(struct h *h, uint16_t port)
{
    struct tern_tcp_open_args a = {.local_port = port,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = 1000};
    int id = tern_tcp_open(h->st, &a, h->now);
    CHECK(id > 0);
    EXPECT_SENT(h, US(.seq = 1000, .flags = SYN, .mss = 1460));
    h_deliver(h, PEER(.seq = 500, .ack = 1001, .flags = SYN | ACK, .mss = 1460, .dport = port));
    EXPECT_SENT(h, US(.seq = 1001, .ack = 501, .flags = ACK, .sport = port));
    return id;
}

/* ---- per connection --------------------------------------------------------- */

static void
test_connections_do_not_share_a_challenge_budget(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fourth: SYN -> challenge ACK, per-connection budget */
    struct h h;
    h_init(&h);
    h_established(&h);
    second_connection(&h, US_PORT + 1);
    /* Exhaust the first connection's budget: one challenge, then silence. */
    for (int i = 0; i < 5; i++) {
        h_deliver(&h, PEER(.seq = 310, .flags = SYN));
    }
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .sport = US_PORT));
    EXPECT_NOTHING(&h);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_CHALLENGE_CONN_LIMIT), 4);
    /* The second connection still challenges, at the same instant. */
    h_deliver(&h, PEER(.seq = 510, .flags = SYN, .dport = US_PORT + 1));
    EXPECT_SENT(&h, US(.seq = 1001, .ack = 501, .flags = ACK, .sport = US_PORT + 1));
    EXPECT_NOTHING(&h);
    /* ...and an in-window RST that is not exact (RFC 5961 3.2) on it now
     * finds its budget spent, while the first connection's is still spent. */
    h_deliver(&h, PEER(.seq = 505, .flags = RST, .dport = US_PORT + 1));
    h_deliver(&h, PEER(.seq = 305, .flags = RST));
    EXPECT_NOTHING(&h);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_CHALLENGE_CONN_LIMIT), 6);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.challenge_acks, 2);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_CHALLENGE_LIMIT), 0);
    /* After the window each has a new budget. */
    h_advance(&h, 500 * MS);
    h_deliver(&h, PEER(.seq = 305, .flags = RST));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .sport = US_PORT));
    h_fini(&h);
}

static void
cfg_three_per_second(struct tern_config *c)
{
    c->tcp.conn_reply_limit = 3;
    c->tcp.conn_reply_window_ns = 1000 * MS;
}

static void
test_conn_budget_is_tunable(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first: RFC 5961 7 (2), count and time both tunable */
    struct h h;
    h_init_cfg(&h, cfg_three_per_second);
    h_established(&h);
    for (int i = 0; i < 10; i++) {
        h_deliver(&h, PEER(.seq = 301 + 70000, .ack = 101, .flags = ACK));
        h.now += 10 * MS;
    }
    for (int i = 0; i < 3; i++) {
        EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    }
    EXPECT_NOTHING(&h);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_ACK_CONN_LIMIT), 7);
    h_advance(&h, 1000 * MS);
    h_deliver(&h, PEER(.seq = 301 + 70000, .ack = 101, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_fini(&h);
}

static void
test_blind_flood_gets_one_ack_per_window(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first: unacceptable segments answered at most once per 500 ms
     */
    struct h h;
    h_init(&h);
    h_established(&h);
    const struct tern_stats *s = tern_stack_stats(h.st);
    uint64_t rng = 7, tx0 = s->tcp.tx, n = 0;
    int64_t start = h.now;
    /* 10 s of flood, 200 segments every 10 ms (20,000 a second): pure
     * ACKs, SYNs, text and FINs at blind sequence numbers, and text in the
     * window with a blind SEG.ACK (RFC 5961 5.2). */
    for (int tick = 0; tick < 1000; tick++) {
        for (int i = 0; i < 200; i++, n++) {
            switch (i % 5) {
            case 0:
                h_deliver(&h, PEER(.seq = blind_seq(&rng), .ack = 101, .flags = ACK));
                break;
            case 1:
                h_deliver(&h, PEER(.seq = blind_seq(&rng), .flags = SYN));
                break;
            case 2:
                h_deliver(&h, PEER(.seq = blind_seq(&rng), .ack = 101, .flags = ACK | PSH,
                                   .data = "blind"));
                break;
            case 3:
                h_deliver(&h, PEER(.seq = blind_seq(&rng), .ack = 101, .flags = FIN | ACK));
                break;
            default:
                h_deliver(&h,
                          PEER(.seq = 301, .ack = 101 + 0x40000000u, .flags = ACK, .data = "x"));
                break;
            }
            h.n_sent = h.next = 0; /* the harness records 64 segments at most */
        }
        h_advance(&h, 10 * MS);
    }
    int64_t elapsed = h.now - start;
    uint64_t sent = s->tcp.tx - tx0;
    uint64_t windows = (uint64_t)(elapsed / (500 * MS)) + 1;
    printf("    flood: %llu segments in %.1f s -> %llu ACKs (%llu held back)\n",
           (unsigned long long)n, (double)elapsed / 1e9, (unsigned long long)sent,
           (unsigned long long)stat_drop(&h, TERN_DROP_TCP_ACK_CONN_LIMIT));
    CHECK(sent <= windows);
    /* ...but the peer is not left without an ACK: one in (almost) every window. */
    CHECK(sent + 1 >= windows);
    CHECK_EQ(s->tcp.corrective_acks, sent);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_ACK_CONN_LIMIT), n - sent);
    CHECK_EQ(s->tcp.challenge_acks, 0);
    struct tern_tcp_status st;
    tern_tcp_status(h.st, 1, &st);
    CHECK_EQ(st.state, TERN_TCP_ESTABLISHED);
    CHECK_EQ(st.rcv_nxt, 301);
    CHECK_EQ(st.snd_una, 101);
    h_fini(&h);
}

/* Counts the trace events that report a reply held back. */
struct trace_count {
    struct h *h;
    unsigned held[TERN_DROP_COUNT];
};

static void
count_trace(void *ctx, const struct tern_trace_event *ev)
{
    struct trace_count *tc = ctx;
    h_trace(tc->h, ev);
    for (int r = TERN_DROP_TCP_CHALLENGE_LIMIT; r <= TERN_DROP_TCP_RST_LIMIT; r++) {
        if (ev->kind == TERN_TRACE_EVENT && ev->rule == tern_drop_rule((enum tern_drop_reason)r)) {
            tc->held[r]++;
        }
    }
}

static void
test_held_back_replies_are_traced(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first: every reply held back is counted and traced */
    struct h h;
    h_init(&h);
    h_established(&h);
    struct trace_count tc = {.h = &h};
    h.st->trace = count_trace;
    h.st->trace_ctx = &tc;
    for (int i = 0; i < 3; i++) {
        h_deliver(&h, PEER(.seq = 310, .flags = SYN));                      /* challenge */
        h_deliver(&h, PEER(.seq = 301 + 900000, .ack = 101, .flags = ACK)); /* corrective */
    }
    CHECK_EQ(tc.held[TERN_DROP_TCP_CHALLENGE_CONN_LIMIT], 2);
    CHECK_EQ(tc.held[TERN_DROP_TCP_ACK_CONN_LIMIT], 3);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_CHALLENGE_CONN_LIMIT), 2);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_ACK_CONN_LIMIT), 3);
    h_fini(&h);
}

/* ---- what the real peer needs still goes out ------------------------------------ */

static void
test_retransmission_below_rcv_nxt_always_acked(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first: a retransmission whose ACK was lost is acknowledged */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "abcd"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK)); /* lost on the way back */
    /* A blind segment spends the connection's budget for this window. */
    h_deliver(&h, PEER(.seq = 301 + 900000, .ack = 101, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
    h_deliver(&h, PEER(.seq = 301 + 900000, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    /* The peer's retransmission timer fires (200 ms is Linux's minimum RTO),
     * and again after a backoff, and again: each one is answered, though
     * all fall within windows the flood keeps spending. */
    for (int i = 0; i < 3; i++) {
        h_advance(&h, (200 * MS) << i);
        h_deliver(&h, PEER(.seq = 301 + 900000, .ack = 101, .flags = ACK));
        h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "abcd"));
        h_deliver(&h, PEER(.seq = 301 + 900000, .ack = 101, .flags = ACK));
        if (i >= 1) {
            /* 600 ms and 1400 ms in: the flood's first segment opens a new
             * window and takes its one ACK. */
            EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
        }
        EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
        EXPECT_NOTHING(&h);
    }
    /* A retransmitted FIN below RCV.NXT (the ACK of the peer's FIN lost) is
     * answered back to back as well. */
    h_deliver(&h, PEER(.seq = 305, .ack = 101, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_CLOSE_WAIT);
    for (int i = 0; i < 3; i++) {
        h_deliver(&h, PEER(.seq = 305, .ack = 101, .flags = FIN | ACK));
        EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    }
    EXPECT_NOTHING(&h);
    /* Not exempt: text below RCV.NXT whose SEG.ACK is out of range (RFC
     * 5961 5.2), nor a pure ACK below RCV.NXT. The window is spent. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 0x40000000u, .flags = ACK, .data = "abcd"));
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_time_wait_fin_always_acked(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth: TIME-WAIT, a retransmitted FIN is acknowledged */
    struct h h;
    h_init(&h);
    int id = h_time_wait(&h);
    for (int i = 0; i < 4; i++) {
        h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
        EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    }
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    h_fini(&h);
}

/* ---- stack-wide ceilings ----------------------------------------------------- */

static void
cfg_stack_only(struct tern_config *c)
{
    c->tcp.conn_reply_limit = 0; /* no per-connection budget: only the ceiling */
    c->tcp.challenge_ack_limit = 20;
    c->tcp.corrective_ack_limit = 40;
    c->tcp.rst_limit = 60;
}

static void
cfg_stack_only_42(struct tern_config *c)
{
    cfg_stack_only(c);
    c->seed = 42;
}

static void
cfg_stack_only_43(struct tern_config *c)
{
    cfg_stack_only(c);
    c->seed = 43;
}

#define SECONDS 8

/* For SECONDS seconds, 200 in-window SYNs (challenge ACKs), 200 blind
 * segments (corrective ACKs) and 200 SYNs to a closed port (RSTs) at the
 * start of each second; what each second let through goes to out[kind][i]. */
static void
ceilings(void (*cfg)(struct tern_config *), uint64_t out[3][SECONDS])
{
    struct h h;
    h_init_cfg(&h, cfg);
    h_established(&h);
    const struct tern_stats *s = tern_stack_stats(h.st);
    for (int sec = 0; sec < SECONDS; sec++) {
        uint64_t c0 = s->tcp.challenge_acks, a0 = s->tcp.corrective_acks, r0 = s->tcp.rst_tx;
        uint64_t dc = stat_drop(&h, TERN_DROP_TCP_CHALLENGE_LIMIT);
        uint64_t da = stat_drop(&h, TERN_DROP_TCP_ACK_LIMIT);
        uint64_t dr = stat_drop(&h, TERN_DROP_TCP_RST_LIMIT);
        for (int i = 0; i < 200; i++) {
            h_deliver(&h, PEER(.seq = 310, .flags = SYN));
            h_deliver(&h, PEER(.seq = 301 + 900000, .ack = 101, .flags = ACK));
            h_deliver(&h, PEER(.seq = 1, .flags = SYN, .dport = 9, .sport = (uint16_t)(1000 + i)));
            h.n_sent = h.next = 0;
        }
        out[0][sec] = s->tcp.challenge_acks - c0;
        out[1][sec] = s->tcp.corrective_acks - a0;
        out[2][sec] = s->tcp.rst_tx - r0;
        /* Every reply held back is counted. */
        CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_CHALLENGE_LIMIT) - dc, 200 - out[0][sec]);
        CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_ACK_LIMIT) - da, 200 - out[1][sec]);
        CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_RST_LIMIT) - dr, 200 - out[2][sec]);
        h_advance(&h, SEC);
    }
    h_fini(&h);
}

static void
test_stack_ceilings_hold_and_vary(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second: RFC 5961 7 stack-wide ceiling, randomised budget */
    static const uint32_t limit[3] = {20, 40, 60};
    static const char *const name[3] = {"challenge ACKs", "corrective ACKs", "RSTs"};
    uint64_t a[3][SECONDS], b[3][SECONDS], c[3][SECONDS];
    ceilings(cfg_stack_only_42, a);
    ceilings(cfg_stack_only_42, b);
    ceilings(cfg_stack_only_43, c);
    for (int k = 0; k < 3; k++) {
        bool varies = false, differs = false;
        printf("    %-16s limit %2u, seed 42:", name[k], limit[k]);
        for (int i = 0; i < SECONDS; i++) {
            printf(" %llu", (unsigned long long)a[k][i]);
            /* The budget of a second lies in [limit/2, limit/2 + limit]. */
            CHECK(a[k][i] >= limit[k] / 2 && a[k][i] <= limit[k] / 2 + limit[k]);
            CHECK(c[k][i] >= limit[k] / 2 && c[k][i] <= limit[k] / 2 + limit[k]);
            CHECK_EQ(a[k][i], b[k][i]); /* one seed, one sequence of budgets */
            varies |= a[k][i] != a[k][0];
            differs |= a[k][i] != c[k][i];
        }
        printf("; seed 43:");
        for (int i = 0; i < SECONDS; i++) {
            printf(" %llu", (unsigned long long)c[k][i]);
        }
        printf("\n");
        CHECK(varies);
        CHECK(differs);
    }
}

static void
test_budget_draw_spans_the_range(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 second: RFC 5961 7 budget drawn around the limit */
    struct rng r;
    rng_seed(&r, 1);
    uint32_t lo = UINT32_MAX, hi = 0;
    double sum = 0;
    for (int i = 0; i < 20000; i++) {
        uint32_t b = tcp_ratelimit_budget(&r, 1000);
        lo = b < lo ? b : lo;
        hi = b > hi ? b : hi;
        sum += b;
    }
    CHECK_EQ(lo, 500);
    CHECK_EQ(hi, 1500);
    CHECK(sum / 20000 > 990 && sum / 20000 < 1010);
    /* The extremes: a limit of 1 gives 0 or 1; the largest does not wrap. */
    for (int i = 0; i < 100; i++) {
        CHECK(tcp_ratelimit_budget(&r, 1) <= 1);
        CHECK(tcp_ratelimit_budget(&r, UINT32_MAX) >= UINT32_MAX / 2);
    }
}

/* ---- RSTs ---------------------------------------------------------------------- */

static void
cfg_rst_10(struct tern_config *c)
{
    c->tcp.rst_limit = 10;
}

static void
test_rst_to_closed_port_limited(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.1: segment to a closed port -> RST, within the stack's budget */
    struct h h;
    h_init_cfg(&h, cfg_rst_10);
    h_listen(&h, 0);
    const struct tern_stats *s = tern_stack_stats(h.st);
    for (int i = 0; i < 50; i++) {
        h_deliver(&h, PEER(.seq = 1, .flags = SYN, .dport = 9, .sport = (uint16_t)(2000 + i)));
        /* RFC 9293 3.10.7.2: an ACK to the listener draws on the same budget. */
        h_deliver(&h, PEER(.seq = 1, .ack = 77, .flags = ACK, .sport = (uint16_t)(3000 + i)));
        /* A RST is never answered, and nothing is counted as held back. */
        h_deliver(&h, PEER(.seq = 1, .flags = RST, .dport = 9));
        h.n_sent = h.next = 0;
    }
    uint64_t sent = s->tcp.rst_tx;
    printf("    RSTs: 100 asked for, %llu sent, %llu held back\n", (unsigned long long)sent,
           (unsigned long long)stat_drop(&h, TERN_DROP_TCP_RST_LIMIT));
    CHECK(sent >= 5 && sent <= 15);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_RST_LIMIT), 100 - sent);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_NO_CONN), 100);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_LISTEN_ACK), 50);
    /* The next second has a budget again. */
    h_advance(&h, SEC);
    h_deliver(&h, PEER(.seq = 1, .flags = SYN, .dport = 9));
    EXPECT_SENT(&h, US(.seq = 0, .ack = 2, .flags = RST | ACK));
    h_fini(&h);
}

static void
cfg_rst_off(struct tern_config *c)
{
    c->tcp.rst_limit = 0;
}

static void
test_rst_limit_zero_is_unlimited(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.1: segment to a closed port -> RST */
    struct h h;
    h_init_cfg(&h, cfg_rst_off);
    const struct tern_stats *s = tern_stack_stats(h.st);
    for (int i = 0; i < 5000; i++) {
        h_deliver(&h, PEER(.seq = 1, .flags = SYN, .dport = 9));
        h.n_sent = h.next = 0;
    }
    CHECK_EQ(s->tcp.rst_tx, 5000);
    CHECK_EQ(stat_drop(&h, TERN_DROP_TCP_RST_LIMIT), 0);
    h_fini(&h);
}

/* ---- In the simulator: blind SYNs at a bulk transfer ---------------------------------- */

#define SIM_ADDR_A  TERN_IPV4(192, 0, 2, 1)
#define SIM_ADDR_B  TERN_IPV4(192, 0, 2, 2)
#define SIM_PORT_B  5001
#define SIM_BYTES   (10u * 1024u * 1024u)
#define SIM_BUF     (256u * 1024u)
#define SIM_CHUNK   16384u
#define FLOOD_SYNS  300000u
#define FLOOD_TICK  (1 * MS)
#define FLOOD_TICKS 1500u /* 200 SYNs a millisecond for 1.5 s */

struct flood_run {
    struct tern_sim *sim;
    struct tern_stack *sa, *sb;
    int a, b, conn_a, listener_b, conn_b;
    uint64_t sent, rcvd, hash_a, hash_b;
    bool closed_a, eof_b;
    int64_t start_ns, eof_ns;
    int err;
    /* The flood. */
    bool flood;
    int inject;      /* 0: blind SYNs; else text injection, enum inject_mode */
    uint16_t port_a; /* the 4-tuple the attacker knows */
    uint64_t rng, injected;
    unsigned ticks;
    /* B's ACKs as A receives them. */
    bool have_ack;
    uint32_t last_ack;
    uint16_t last_wnd;
    uint64_t acks, dupacks;
    uint8_t buf[SIM_CHUNK];
};

static uint8_t
stream_byte(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

static void
fr_send(struct flood_run *r)
{
    int64_t now = tern_sim_now(r->sim);
    while (r->sent < SIM_BYTES) {
        uint64_t left = SIM_BYTES - r->sent;
        size_t n = left < SIM_CHUNK ? (size_t)left : SIM_CHUNK;
        for (size_t i = 0; i < n; i++) {
            r->buf[i] = stream_byte(r->sent + i);
        }
        int got = tern_tcp_send(r->sa, r->conn_a, r->buf, n, now);
        if (got <= 0) {
            if (got < 0 && got != TERN_ERR_AGAIN) {
                r->err = got;
            }
            return;
        }
        r->hash_a = fnv(r->hash_a, r->buf, (size_t)got);
        r->sent += (uint64_t)got;
    }
    if (!r->closed_a) {
        r->closed_a = true;
        tern_tcp_close(r->sa, r->conn_a, now);
    }
}

static void
fr_recv(struct flood_run *r)
{
    int64_t now = tern_sim_now(r->sim);
    while (!r->eof_b) {
        int got = tern_tcp_recv(r->sb, r->conn_b, r->buf, sizeof(r->buf), now);
        if (got == TERN_ERR_AGAIN) {
            return;
        }
        if (got == TERN_ERR_CLOSING) {
            r->eof_b = true;
            r->eof_ns = now;
            tern_tcp_close(r->sb, r->conn_b, now);
            return;
        }
        if (got < 0) {
            r->err = got;
            return;
        }
        r->hash_b = fnv(r->hash_b, r->buf, (size_t)got);
        r->rcvd += (uint64_t)got;
    }
}

static void
fr_event_a(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct flood_run *r = ctx;
    (void)st;
    if (id != r->conn_a) {
        return;
    }
    if (err != 0 && r->err == 0) {
        r->err = err;
    }
    if (events & (TERN_TCP_EV_CONNECTED | TERN_TCP_EV_WRITABLE)) {
        fr_send(r);
    }
}

static void
fr_event_b(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct flood_run *r = ctx;
    if (id == r->listener_b && (events & TERN_TCP_EV_ACCEPT_READY) && r->conn_b == 0) {
        r->conn_b = tern_tcp_accept(st, r->listener_b, tern_sim_now(r->sim));
        if (r->conn_b > 0) {
            fr_recv(r);
        }
        return;
    }
    if (id != r->conn_b || id <= 0) {
        return;
    }
    if (err != 0 && r->err == 0) {
        r->err = err;
    }
    if (events & TERN_TCP_EV_READABLE) {
        fr_recv(r);
    }
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Counts, among the segments B sends to A, the duplicate ACKs: no text,
 * no SYN/FIN/RST, the same SEG.ACK and window as the ACK before (RFC 5681
 * 2; on this clean link every other ACK of B moves something forward). */
static void
fr_observe(void *ctx, const struct tern_sim_event *ev)
{
    struct flood_run *r = ctx;
    const struct tern_sim_packet *p = &ev->pkt;
    if (ev->kind != TERN_SIM_EV_ARRIVED || p->to_host != r->a || p->injected || p->len < 40 ||
        p->data[9] != 6) {
        return;
    }
    size_t ihl = (size_t)(p->data[0] & 15) * 4;
    size_t tot = (size_t)p->data[2] << 8 | p->data[3];
    const uint8_t *t = p->data + ihl;
    size_t doff = (size_t)(t[12] >> 4) * 4;
    uint8_t flags = t[13];
    if (!(flags & 0x10) || (flags & 0x07) || tot != ihl + doff) {
        return;
    }
    uint32_t ack = get32(t + 8);
    uint16_t wnd = (uint16_t)(t[14] << 8 | t[15]);
    r->acks++;
    if (r->have_ack && ack == r->last_ack && wnd == r->last_wnd) {
        r->dupacks++;
    }
    r->have_ack = true;
    r->last_ack = ack;
    r->last_wnd = wnd;
}

/* Text injection (issue 11 item 0): an attacker who even knows B's
 * RCV.NXT (the worst case) sends text just beyond it, where B holds
 * out-of-order text; without the ACK bit, with an ACK far outside RFC 5961
 * 5.2's range, or with a random ACK. */
enum inject_mode { INJECT_NO_ACK = 1, INJECT_BAD_ACK, INJECT_GUESS_ACK };

static void
inject_segment(struct flood_run *r, struct tern_sim *sim, int64_t now, unsigned i)
{
    struct tern_tcp_status sb;
    if (r->conn_b <= 0 || tern_tcp_status(r->sb, r->conn_b, &sb) != TERN_OK) {
        return;
    }
    static const uint8_t evil[100] = {'E', 'V', 'I', 'L'};
    uint64_t x = splitmix64(&r->rng);
    struct wire_tcp t = {.src_port = r->port_a,
                         .dst_port = SIM_PORT_B,
                         .seq = sb.rcv_nxt + 1448u * (1u + (uint32_t)(x % 8)),
                         .flags = WIRE_TCP_PSH,
                         .window = 65535,
                         .payload = evil,
                         .payload_len = sizeof(evil)};
    if (r->inject == INJECT_BAD_ACK) {
        t.flags |= WIRE_TCP_ACK;
        t.ack = sb.snd_una + 0x40000000u;
    } else if (r->inject == INJECT_GUESS_ACK) {
        t.flags |= WIRE_TCP_ACK;
        t.ack = (uint32_t)(x >> 32);
    }
    uint8_t pkt[WIRE_IPV4_HDR_LEN + 60 + sizeof(evil)];
    size_t n = wire_tcp_emit(&t, SIM_ADDR_A, SIM_ADDR_B, pkt + WIRE_IPV4_HDR_LEN,
                             sizeof(pkt) - WIRE_IPV4_HDR_LEN);
    struct wire_ipv4 ip = {.total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n),
                           .id = (uint16_t)i,
                           .ttl = 64,
                           .proto = WIRE_IPPROTO_TCP,
                           .src = SIM_ADDR_A,
                           .dst = SIM_ADDR_B};
    wire_ipv4_emit(&ip, pkt);
    if (tern_sim_inject(sim, r->b, 0, pkt, WIRE_IPV4_HDR_LEN + n, now, NULL) == TERN_OK) {
        r->injected++;
    }
}

/* The attacker: FLOOD_SYNS / FLOOD_TICKS blind SYNs every tick, from A's
 * address and port to B's, at random sequence numbers (or, with r->inject,
 * a twentieth as many text segments). */
static void
flood_tick(void *ctx, struct tern_sim *sim)
{
    struct flood_run *r = ctx;
    int64_t now = tern_sim_now(sim);
    for (unsigned i = 0; r->inject != 0 && i < FLOOD_SYNS / FLOOD_TICKS / 20; i++) {
        inject_segment(r, sim, now, i);
    }
    for (unsigned i = 0; r->inject == 0 && i < FLOOD_SYNS / FLOOD_TICKS; i++) {
        uint8_t pkt[60];
        struct wire_tcp t = {.src_port = r->port_a,
                             .dst_port = SIM_PORT_B,
                             .seq = (uint32_t)splitmix64(&r->rng),
                             .flags = WIRE_TCP_SYN,
                             .window = 65535};
        size_t n = wire_tcp_emit(&t, SIM_ADDR_A, SIM_ADDR_B, pkt + WIRE_IPV4_HDR_LEN,
                                 sizeof(pkt) - WIRE_IPV4_HDR_LEN);
        struct wire_ipv4 ip = {.total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n),
                               .id = (uint16_t)i,
                               .ttl = 64,
                               .proto = WIRE_IPPROTO_TCP,
                               .src = SIM_ADDR_A,
                               .dst = SIM_ADDR_B};
        wire_ipv4_emit(&ip, pkt);
        if (tern_sim_inject(sim, r->b, 0, pkt, WIRE_IPV4_HDR_LEN + n, now, NULL) == TERN_OK) {
            r->injected++;
        }
    }
    if (++r->ticks < FLOOD_TICKS && !r->eof_b) {
        tern_sim_at(sim, now + FLOOD_TICK, flood_tick, r);
    }
}

/* Starts the flood once the connection is up (the attacker knows the
 * 4-tuple, not the sequence numbers). */
static void
flood_start(void *ctx, struct tern_sim *sim)
{
    struct flood_run *r = ctx;
    struct tern_tcp_status s;
    if (tern_tcp_status(r->sa, r->conn_a, &s) != TERN_OK || s.state != TERN_TCP_ESTABLISHED) {
        tern_sim_at(sim, tern_sim_now(sim) + MS, flood_start, r);
        return;
    }
    r->port_a = s.local_port;
    flood_tick(r, sim);
}

static int
fr_host(struct flood_run *r, const char *name, uint32_t addr, uint64_t seed, bool limits, int *host)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = seed;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = addr, .prefix_len = 24, .mtu = 1500};
    cfg.tcp.sndbuf = SIM_BUF;
    cfg.tcp.rcvbuf = SIM_BUF;
    if (!limits) {
        cfg.tcp.conn_reply_limit = 0;
        cfg.tcp.corrective_ack_limit = 0;
        cfg.tcp.challenge_ack_limit = 0;
    }
    return tern_sim_add_host(r->sim, name, &cfg, host);
}

/* One transfer of SIM_BYTES over 50 Mbit/s, 5 ms each way; with or without
 * the flood, with or without the limits. Returns the goodput in Mbit/s. */
static double
flood_run_mode(struct flood_run *r, bool flood, bool limits, int inject)
{
    memset(r, 0, sizeof(*r));
    r->flood = flood;
    r->inject = inject;
    r->rng = 0xF100D;
    r->hash_a = r->hash_b = 0xcbf29ce484222325ULL;
    r->eof_ns = -1;
    CHECK_EQ(tern_sim_new(11, &r->sim), TERN_OK);
    CHECK_EQ(fr_host(r, "A", SIM_ADDR_A, 21, limits, &r->a), TERN_OK);
    CHECK_EQ(fr_host(r, "B", SIM_ADDR_B, 22, limits, &r->b), TERN_OK);
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = 5 * MS;
    lp.bandwidth_bps = 50000000;
    lp.queue_bytes = 256 * 1024;
    lp.max_in_flight = 4096;
    int link;
    CHECK_EQ(tern_sim_link(r->sim, r->a, 0, r->b, 0, &lp, &lp, &link), TERN_OK);
    r->sa = tern_sim_host_stack(r->sim, r->a);
    r->sb = tern_sim_host_stack(r->sim, r->b);
    tern_sim_set_observer(r->sim, fr_observe, r);
    tern_tcp_set_callback(r->sa, 0, fr_event_a, r);
    tern_tcp_set_callback(r->sb, 0, fr_event_b, r);
    struct tern_tcp_open_args lst = {.passive = true, .local_port = SIM_PORT_B};
    r->listener_b = tern_tcp_open(r->sb, &lst, 0);
    struct tern_tcp_open_args open = {.remote_addr = tern_ip4(SIM_ADDR_B),
                                      .remote_port = SIM_PORT_B};
    r->conn_a = tern_tcp_open(r->sa, &open, 0);
    CHECK(r->listener_b > 0 && r->conn_a > 0);
    if (flood) {
        tern_sim_at(r->sim, MS, flood_start, r);
    }
    int64_t bound = 120 * SEC;
    while (!r->eof_b && r->err == 0 && tern_sim_next_event(r->sim) <= bound) {
        tern_sim_step(r->sim);
    }
    CHECK_EQ(r->err, 0);
    CHECK(r->eof_b);
    CHECK_EQ(r->rcvd, SIM_BYTES);
    CHECK_EQ(r->hash_a, r->hash_b);
    int64_t t = r->eof_ns > 0 ? r->eof_ns : tern_sim_now(r->sim);
    return (double)r->rcvd * 8.0 / ((double)t / 1e9) / 1e6;
}

static double
flood_run(struct flood_run *r, bool flood, bool limits)
{
    return flood_run_mode(r, flood, limits, 0);
}

static double
flood_run_inject(struct flood_run *r, int inject)
{
    return flood_run_mode(r, true, true, inject);
}

static void
test_sim_text_injection_on_bulk_transfer(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth, RFC 5961 5: during a 10 MiB transfer an attacker sends
     * text just beyond B's RCV.NXT (15,000 segments in 1.5 s) without the ACK bit, with an ACK
     * far outside [SND.UNA - MAX.SND.WND, SND.NXT], and with random ACKs: the bytes B delivers
     * are exactly the bytes A sent (flood_run checks count and hash), and B counted the drops
     * (issue 11 item 0) */
    static struct flood_run r;
    static const int modes[] = {INJECT_NO_ACK, INJECT_BAD_ACK, INJECT_GUESS_ACK};
    static const char *const names[] = {"no ACK bit", "ACK outside 5.2", "random ACK"};
    for (int m = 0; m < 3; m++) {
        double g = flood_run_inject(&r, modes[m]);
        const struct tern_stats *sb = tern_stack_stats(r.sb);
        uint64_t no_ack = sb->drops[TERN_DROP_TCP_NO_ACK];
        uint64_t bad_ack = sb->drops[TERN_DROP_TCP_ACK_UNACCEPTABLE];
        printf("    injection, %-16s %llu segments -> %llu without ACK, %llu bad ACK dropped; "
               "%.2f Mbit/s, bytes intact\n",
               names[m], (unsigned long long)r.injected, (unsigned long long)no_ack,
               (unsigned long long)bad_ack, g);
        CHECK(r.injected > 10000);
        if (modes[m] == INJECT_NO_ACK) {
            CHECK(no_ack >= r.injected / 2);
        } else {
            CHECK(bad_ack >= r.injected / 2);
        }
        tern_sim_free(r.sim);
    }
}

static void
test_sim_blind_syn_flood_on_bulk_transfer(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 first: blind out-of-window SYNs, replies rate-limited */
    static struct flood_run r;
    double clean = flood_run(&r, false, true);
    uint64_t clean_dup = r.dupacks;
    uint64_t clean_frx = tern_stack_stats(r.sa)->tcp.fast_retransmits;
    tern_sim_free(r.sim);

    double limited = flood_run(&r, true, true);
    const struct tern_stats *sb = tern_stack_stats(r.sb);
    const struct tern_stats *sa = tern_stack_stats(r.sa);
    int64_t flood_ns = (int64_t)r.ticks * FLOOD_TICK;
    uint64_t replies = sb->tcp.corrective_acks + sb->tcp.challenge_acks;
    uint64_t held = sb->drops[TERN_DROP_TCP_ACK_CONN_LIMIT] +
                    sb->drops[TERN_DROP_TCP_CHALLENGE_CONN_LIMIT] +
                    sb->drops[TERN_DROP_TCP_ACK_LIMIT] + sb->drops[TERN_DROP_TCP_CHALLENGE_LIMIT];
    uint64_t lim_dup = r.dupacks, lim_frx = sa->tcp.fast_retransmits, lim_inj = r.injected;
    printf("    no flood:           %6.2f Mbit/s, %llu duplicate ACKs at A, %llu fast "
           "retransmits\n",
           clean, (unsigned long long)clean_dup, (unsigned long long)clean_frx);
    printf("    flood, limits on:   %6.2f Mbit/s, %llu blind SYNs in %.2f s -> B replied %llu, "
           "held back %llu; %llu duplicate ACKs at A, %llu fast retransmits\n",
           limited, (unsigned long long)lim_inj, (double)flood_ns / 1e9,
           (unsigned long long)replies, (unsigned long long)held, (unsigned long long)lim_dup,
           (unsigned long long)lim_frx);
    /* The flood really hit the connection: every blind SYN was either
     * answered or held back (none went to a listener or a closed port). */
    CHECK(lim_inj > 100000);
    CHECK(replies + held <= lim_inj);
    CHECK(replies + held + FLOOD_SYNS / FLOOD_TICKS >= lim_inj); /* the last tick may be unread */
    CHECK_EQ(sb->drops[TERN_DROP_TCP_NO_CONN], 0);
    /* At most one reply per 500 ms window while the flood lasts (the
     * transfer may end first), so A sees that many duplicate ACKs at most,
     * never three in a row: no spurious fast retransmit. */
    uint64_t bound = (uint64_t)(flood_ns / (500 * MS)) + 1;
    CHECK(replies <= bound);
    CHECK(lim_dup <= clean_dup + bound);
    CHECK_EQ(lim_frx, 0);
    CHECK(limited > clean * 0.9);
    tern_sim_free(r.sim);

    double open = flood_run(&r, true, false);
    sb = tern_stack_stats(r.sb);
    sa = tern_stack_stats(r.sa);
    printf("    flood, limits off:  %6.2f Mbit/s, %llu blind SYNs -> B replied %llu; %llu "
           "duplicate ACKs at A, %llu fast retransmits\n",
           open, (unsigned long long)r.injected,
           (unsigned long long)(sb->tcp.corrective_acks + sb->tcp.challenge_acks),
           (unsigned long long)r.dupacks, (unsigned long long)sa->tcp.fast_retransmits);
    /* Without the limits the same flood is answered one for one: what the
     * limits above prevented. */
    CHECK(sb->tcp.corrective_acks + sb->tcp.challenge_acks > 100000);
    CHECK(r.dupacks > 1000);
    tern_sim_free(r.sim);
}

int
main(void)
{
    RUN(test_connections_do_not_share_a_challenge_budget);
    RUN(test_conn_budget_is_tunable);
    RUN(test_blind_flood_gets_one_ack_per_window);
    RUN(test_held_back_replies_are_traced);
    RUN(test_retransmission_below_rcv_nxt_always_acked);
    RUN(test_time_wait_fin_always_acked);
    RUN(test_stack_ceilings_hold_and_vary);
    RUN(test_budget_draw_spans_the_range);
    RUN(test_rst_to_closed_port_limited);
    RUN(test_rst_limit_zero_is_unlimited);
    RUN(test_sim_blind_syn_flood_on_bulk_transfer);
    RUN(test_sim_text_injection_on_bulk_transfer);
    return CHECK_DONE();
}
