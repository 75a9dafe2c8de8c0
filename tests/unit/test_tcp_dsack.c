/*
 * tests/unit/test_tcp_dsack.c: D-SACK at both ends (RFC 2883) and the undo
 * of a spurious retransmission it reveals (RFC 3708 detection, RFC 4015
 * response), in the style of test_tcp_data.c: the test plays the peer,
 * crafts each segment and checks what the stack sent.
 *
 * EVIDENCE: RFC 2883 4: the first SACK block of an ACK reports a duplicate segment
 * EVIDENCE: RFC 3708 2 RFC 4015 3: every retransmission D-SACKed -> cwnd and ssthresh restored
 * EVIDENCE: RFC 3522 2: a timeout is spurious when the next ACK echoes the original's TSval
 */
#include "tcp_harness.h"

#include "tcp/sack.h"

static char Z[1461]; /* 1460 'z' */

static void
tweak_no_ts(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
}

static void
tweak_no_ts_no_sack(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
    c->tcp.no_sack = true;
}

/* Established with SACK permitted (and no timestamps, so that 4 blocks
 * fit), peer window 64 KiB. */
static int
established_sack(struct h *h)
{
    int id = h_syn_sent(h);
    struct topts o = {.sackp = true};
    h_deliver_opts(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535),
                   &o);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    return id;
}

/* ---- receiver ---- */

static void
test_dsack_for_text_below_rcv_nxt(void)
{
    /* EVIDENCE: RFC 2883 4.1: a segment wholly below RCV.NXT is reported as the first block */
    struct h h;
    h_init_cfg(&h, tweak_no_ts);
    int id = established_sack(&h);
    CHECK(h_status(&h, id).sack_ok);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"));
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 0);
    /* The same segment again (our ACK was lost, say). */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"));
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 1);
    CHECK_EQ(t.opts.sack[0].left, 301);
    CHECK_EQ(t.opts.sack[0].right, 306);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.dsacks_tx, 1);
    /* Reported once: the next ACK has no block. */
    h_deliver(&h, PEER(.seq = 306, .ack = 101, .flags = ACK, .data = "bbbbb"));
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 311, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 0);
    /* Partly old: [306, 311) was had, [311, 316) is new. */
    h_deliver(&h, PEER(.seq = 306, .ack = 101, .flags = ACK, .data = "bbbbbccccc"));
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 316, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 1);
    CHECK_EQ(t.opts.sack[0].left, 306);
    CHECK_EQ(t.opts.sack[0].right, 311);
    h_fini(&h);
}

static void
test_dsack_for_held_out_of_order_text(void)
{
    /* EVIDENCE: RFC 2883 4.2: a copy of text held out of order: the D-SACK first, the block
     * holding it second, then the rest */
    struct h h;
    h_init_cfg(&h, tweak_no_ts);
    established_sack(&h);
    h_deliver(&h, PEER(.seq = 311, .ack = 101, .flags = ACK, .data = "bbbbb"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_deliver(&h, PEER(.seq = 316, .ack = 101, .flags = ACK, .data = "ccccc"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_deliver(&h, PEER(.seq = 331, .ack = 101, .flags = ACK, .data = "eeeee"));
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 2);
    CHECK_EQ(t.opts.sack[0].left, 331);
    /* [316, 321) again. */
    h_deliver(&h, PEER(.seq = 316, .ack = 101, .flags = ACK, .data = "ccccc"));
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 3);
    CHECK_EQ(t.opts.sack[0].left, 316);
    CHECK_EQ(t.opts.sack[0].right, 321);
    CHECK_EQ(t.opts.sack[1].left, 311);
    CHECK_EQ(t.opts.sack[1].right, 321);
    CHECK_EQ(t.opts.sack[2].left, 331);
    CHECK_EQ(t.opts.sack[2].right, 336);
    h_fini(&h);
}

static void
test_no_dsack_without_sack(void)
{
    /* RFC 2883 4: only when SACK was agreed on the SYNs. */
    struct h h;
    h_init_cfg(&h, tweak_no_ts_no_sack);
    int id = established_sack(&h);
    CHECK(!h_status(&h, id).sack_ok);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"));
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 0);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.dsacks_tx, 0);
    h_fini(&h);
}

static void
test_dsack_for_a_copy_paws_drops(void)
{
    /* EVIDENCE: RFC 2883 4 RFC 7323 5.3: a copy of received text that PAWS drops (a reordered
     * original behind its retransmission, older TSval) is still reported as a D-SACK */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    struct topts o = {.ts = true, .ts_val = 5000, .ts_ecr = 1, .sackp = true};
    h_deliver_opts(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535),
                   &o);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(h_status(&h, id).ts_ok && h_status(&h, id).sack_ok);
    /* The retransmission arrives first, with a newer TSval: accepted,
     * TS.Recent = 5010. */
    struct topts rtx = {.ts = true, .ts_val = 5010, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"), &rtx);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 0);
    /* Then the delayed original, TSval 5001 < TS.Recent: PAWS drops it,
     * and the ACK reports it as a duplicate. */
    struct topts orig = {.ts = true, .ts_val = 5001, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"), &orig);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_PAWS);
    CHECK_EQ(t.opts.sack_count, 1);
    CHECK_EQ(t.opts.sack[0].left, 301);
    CHECK_EQ(t.opts.sack[0].right, 306);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.dsacks_tx, 1);
    /* A second reordered copy right after: answered too (a retransmission
     * of text, not an ACK loop: outside the per-connection reply budget). */
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"), &orig);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 1);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.dsacks_tx, 2);
    /* An old pure ACK: dropped by PAWS, answered without a D-SACK and
     * within the budget (one answer per 500 ms: the next gets none). */
    h_deliver_opts(&h, PEER(.seq = 306, .ack = 101, .flags = ACK), &orig);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 0);
    h_deliver_opts(&h, PEER(.seq = 306, .ack = 101, .flags = ACK), &orig);
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.dsacks_tx, 2);
    h_fini(&h);
}

/* ---- sender ---- */

static void
test_dsack_recognised(void)
{
    /* EVIDENCE: RFC 2883 4: a first block at or below the cumulative ACK, or inside the second,
     * is a D-SACK */
    struct tcp_sack_block below[1] = {{1000, 2000}};
    CHECK(tcp_sack_first_is_dsack(below, 1, 2000));
    CHECK(!tcp_sack_first_is_dsack(below, 1, 1999));
    struct tcp_sack_block inside[2] = {{3000, 4000}, {3000, 5000}};
    CHECK(tcp_sack_first_is_dsack(inside, 2, 2000));
    struct tcp_sack_block apart[2] = {{3000, 4000}, {5000, 6000}};
    CHECK(!tcp_sack_first_is_dsack(apart, 2, 2000));
    CHECK(!tcp_sack_first_is_dsack(apart, 1, 2000));
    CHECK(!tcp_sack_first_is_dsack(apart, 0, 2000));
    /* Modulo 2^32: below an ACK that wrapped. */
    struct tcp_sack_block wrap[1] = {{0xfffffc00u, 0xffffff00u}};
    CHECK(tcp_sack_first_is_dsack(wrap, 1, 100));
}

/* `n` segments of 1460 bytes sent at once (IW10), SACK on, no timestamps. */
static int
sack_sending(struct h *h, unsigned n)
{
    int id = established_sack(h);
    CHECK(h_status(h, id).sack_ok);
    static char big[1460 * 10];
    memset(big, 'z', sizeof(big));
    memset(Z, 'z', 1460);
    CHECK_EQ(tern_tcp_send(h->st, id, big, 1460 * n, h->now), (int)(1460 * n));
    for (unsigned i = 0; i < n; i++) {
        EXPECT_SENT(h, US(.seq = 101 + 1460 * i, .ack = 301, .flags = ACK | (i + 1 == n ? PSH : 0),
                          .data = Z));
    }
    EXPECT_NOTHING(h);
    return id;
}

#define SEG(i) (101u + 1460u * (i))

/* An ACK of `ack` with blocks [a0, b0) ... (n of them). */
static void
ack_sack(struct h *h, uint32_t ack, unsigned n, const uint32_t (*blk)[2])
{
    struct topts o = {.n_sack = n};
    for (unsigned i = 0; i < n; i++) {
        o.sack[i][0] = blk[i][0];
        o.sack[i][1] = blk[i][1];
    }
    h_deliver_opts(h, PEER(.seq = 301, .ack = ack, .flags = ACK, .wnd = 65535), &o);
}

/* Segment 0 is delayed (not lost): segments 1-3 are SACKed, the third
 * duplicate ACK sends segment 0 again; then the delayed original arrives
 * (cumulative ACK to segment 4) and so does the retransmission, which the
 * peer reports with a D-SACK. */
static void
spurious_fast_retransmit(struct h *h, int id, uint32_t *cwnd0, uint32_t *ssthresh0)
{
    *cwnd0 = h_status(h, id).cwnd;
    *ssthresh0 = h_status(h, id).ssthresh;
    /* The ACKs come a round trip (1 ms) after the segments: RACK (RFC 8985
     * 6.2, the default) dates a loss from when a segment was sent, and with
     * no time passing it would read its own retransmission as lost too.
     * (Within the PTO: the SRTT of the handshake is near 0, so the PTO is
     * its 2 ms floor, output.c.) */
    h_advance(h, 1000000LL);
    ack_sack(h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(2)}});
    ack_sack(h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(3)}});
    ack_sack(h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(4)}});
    struct wire_tcp t;
    CHECK(h_next_sent(h, &t, __LINE__));
    CHECK_EQ(t.seq, SEG(0)); /* the fast retransmission */
    EXPECT_NOTHING(h);
    CHECK_EQ(h_status(h, id).total_retransmits, 1);
    CHECK(h_status(h, id).cwnd < *cwnd0); /* the cut (RFC 5681 3.2, RFC 6675 5) */
    /* The original arrives: everything up to segment 4 acknowledged. */
    ack_sack(h, SEG(4), 0, NULL);
}

static void
test_dsack_undoes_spurious_fast_retransmit(void)
{
    /* EVIDENCE: RFC 3708 2 RFC 4015 3: the D-SACK of the only retransmission restores cwnd and
     * ssthresh */
    struct h h;
    h_init_cfg(&h, tweak_no_ts);
    int id = sack_sending(&h, 8);
    uint32_t cwnd0, ssthresh0;
    spurious_fast_retransmit(&h, id, &cwnd0, &ssthresh0);
    CHECK(h_status(&h, id).ssthresh < ssthresh0);
    /* The retransmission arrives too: the peer D-SACKs it. */
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(0), SEG(1)}});
    const struct tern_stats *s = tern_stack_stats(h.st);
    CHECK_EQ(s->tcp.dsacks_rx, 1);
    CHECK_EQ(s->tcp.spurious_rtx, 1);
    CHECK_EQ(s->tcp.undos, 1);
    CHECK(h_status(&h, id).cwnd >= cwnd0);
    CHECK_EQ(h_status(&h, id).ssthresh, ssthresh0);
    h_fini(&h);
}

/* The common order at the end of a burst: four segments, the first only
 * late; the fast retransmission resends it; the original fills the hole
 * and everything is acknowledged (recovery over, nothing in flight); the
 * D-SACK of the copy comes after that. Returns the pool's free chunks once
 * everything was acknowledged. */
static uint32_t
flight_acked_before_dsack(struct h *h, int id, uint32_t *cwnd0, uint32_t *ssthresh0)
{
    *cwnd0 = h_status(h, id).cwnd;
    *ssthresh0 = h_status(h, id).ssthresh;
    /* The ACKs come a round trip (1 ms) after the segments: RACK (RFC 8985
     * 6.2, the default) dates a loss from when a segment was sent, and with
     * no time passing it would read its own retransmission as lost too.
     * (Within the PTO: the SRTT of the handshake is near 0, so the PTO is
     * its 2 ms floor, output.c.) */
    h_advance(h, 1000000LL);
    ack_sack(h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(2)}});
    ack_sack(h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(3)}});
    ack_sack(h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(4)}});
    struct wire_tcp t;
    CHECK(h_next_sent(h, &t, __LINE__));
    CHECK_EQ(t.seq, SEG(0));
    EXPECT_NOTHING(h);
    CHECK_EQ(h_status(h, id).total_retransmits, 1);
    ack_sack(h, SEG(4), 0, NULL);
    EXPECT_NOTHING(h);
    CHECK(h_status(h, id).cwnd < *cwnd0);
    CHECK(h_status(h, id).ssthresh < *ssthresh0);
    return (uint32_t)tern_stack_stats(h->st)->pool.avail;
}

static void
test_dsack_after_the_flight_undoes(void)
{
    /* EVIDENCE: RFC 3708 2 RFC 4015 3: a D-SACK after the full ACK still restores cwnd and
     * ssthresh */
    struct h h;
    h_init_cfg(&h, tweak_no_ts);
    int id = sack_sending(&h, 4);
    uint32_t cwnd0, ssthresh0;
    uint32_t avail = flight_acked_before_dsack(&h, id, &cwnd0, &ssthresh0);
    h_advance(&h, 15 * 1000000LL); /* the copy arrives a little later */
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(0), SEG(1)}});
    EXPECT_NOTHING(&h);
    const struct tern_stats *s = tern_stack_stats(h.st);
    CHECK_EQ(s->tcp.dsacks_rx, 1);
    CHECK_EQ(s->tcp.spurious_rtx, 1);
    CHECK_EQ(s->tcp.undos, 1);
    CHECK_EQ(h_status(&h, id).cwnd, cwnd0);
    CHECK_EQ(h_status(&h, id).ssthresh, ssthresh0);
    /* Decided: the sender block, kept for the undo, went back. */
    CHECK_EQ(s->pool.avail, avail + 1);
    /* The restored window is the one the next burst starts from. */
    CHECK_EQ(tern_tcp_send(h.st, id, Z, 1460, h.now), 1460);
    EXPECT_SENT(&h, US(.seq = SEG(4), .ack = 301, .flags = ACK | PSH, .data = Z));
    CHECK_EQ(h_status(&h, id).cwnd, cwnd0);
    h_fini(&h);
}

static void
test_dsack_beyond_the_bound_undoes_nothing(void)
{
    /* The block waits one RTO after the full ACK (RFC 6298 5: a copy not
     * answered by then counts as lost); a D-SACK later finds no episode. */
    struct h h;
    h_init_cfg(&h, tweak_no_ts);
    int id = sack_sending(&h, 4);
    uint32_t cwnd0, ssthresh0;
    uint32_t avail = flight_acked_before_dsack(&h, id, &cwnd0, &ssthresh0);
    uint32_t cwnd_cut = h_status(&h, id).cwnd, ssthresh_cut = h_status(&h, id).ssthresh;
    int64_t rto = h_status(&h, id).rto_ns;
    CHECK(rto > 0);
    h_advance(&h, rto - 1000000LL);
    CHECK_EQ(tern_stack_stats(h.st)->pool.avail, avail); /* still waiting */
    h_advance(&h, 2 * 1000000LL);
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->pool.avail, avail + 1); /* the bound: given back */
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(0), SEG(1)}});
    EXPECT_NOTHING(&h);
    const struct tern_stats *s = tern_stack_stats(h.st);
    CHECK_EQ(s->tcp.dsacks_rx, 1);
    CHECK_EQ(s->tcp.undos, 0);
    CHECK_EQ(h_status(&h, id).cwnd, cwnd_cut);
    CHECK_EQ(h_status(&h, id).ssthresh, ssthresh_cut);
    CHECK_EQ(s->pool.avail, avail + 1);
    CHECK_EQ(h_status(&h, id).state, TERN_TCP_ESTABLISHED);
    h_fini(&h);
}

static void
test_hostile_dsack_after_the_flight_undoes_nothing(void)
{
    /* RFC 3708 3 (A): a D-SACK of text the episode never resent, or of
     * text outside any window, says nothing about the retransmission. */
    struct h h;
    h_init_cfg(&h, tweak_no_ts);
    int id = sack_sending(&h, 4);
    uint32_t cwnd0, ssthresh0;
    uint32_t avail = flight_acked_before_dsack(&h, id, &cwnd0, &ssthresh0);
    uint32_t cwnd_cut = h_status(&h, id).cwnd;
    /* Segment 2 went once: a copy of it is the network's, not ours. */
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(2), SEG(3)}});
    /* Far below SND.UNA, and the whole sequence space before the ACK. */
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(0) - 900000u, SEG(0) - 800000u}});
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(4) + 0x80000000u, SEG(4)}});
    /* Inverted, and beyond SND.NXT: not D-SACKs at all. */
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(1), SEG(0)}});
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(9), SEG(12)}});
    EXPECT_NOTHING(&h);
    const struct tern_stats *s = tern_stack_stats(h.st);
    CHECK_EQ(s->tcp.spurious_rtx, 0);
    CHECK_EQ(s->tcp.undos, 0);
    CHECK_EQ(h_status(&h, id).cwnd, cwnd_cut);
    CHECK_EQ(s->pool.avail, avail); /* the episode still waits for its own D-SACK */
    /* Which comes, and is the one that counts. */
    ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(0), SEG(1)}});
    CHECK_EQ(s->tcp.spurious_rtx, 1);
    CHECK_EQ(s->tcp.undos, 1);
    CHECK_EQ(h_status(&h, id).cwnd, cwnd0);
    CHECK_EQ(h_status(&h, id).ssthresh, ssthresh0);
    s = tern_stack_stats(h.st); /* pool.avail is a level, read anew */
    CHECK_EQ(s->pool.avail, avail + 1);
    h_fini(&h);
}

static void
tweak_no_ts_rack(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
    c->tcp.loss_detection = TERN_TCP_LOSS_RACK;
}

static void
test_dsack_undoes_spurious_rack_recovery(void)
{
    /* The same with RACK (RFC 8985) deciding the loss: its recovery is an
     * episode too. 10 segments; 1-7 SACKed 1 ms later, RACK marks 0 lost
     * and resends it; 0 was only late, and its copy comes back D-SACKed. */
    struct h h;
    h_init_cfg(&h, tweak_no_ts_rack);
    int id = sack_sending(&h, 10);
    uint32_t cwnd0 = h_status(&h, id).cwnd, ssthresh0 = h_status(&h, id).ssthresh;
    h_advance(&h, 1000000LL);
    ack_sack(&h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(3)}});
    ack_sack(&h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(5)}});
    ack_sack(&h, SEG(0), 1, (const uint32_t[][2]){{SEG(1), SEG(8)}});
    struct wire_tcp t;
    CHECK(h_next_sent(&h, &t, __LINE__));
    CHECK_EQ(t.seq, SEG(0));
    CHECK_EQ(tern_stack_stats(h.st)->tcp.fast_retransmits, 1);
    CHECK(h_status(&h, id).cwnd < cwnd0);
    ack_sack(&h, SEG(8), 0, NULL);
    ack_sack(&h, SEG(8), 1, (const uint32_t[][2]){{SEG(0), SEG(1)}});
    CHECK_EQ(tern_stack_stats(h.st)->tcp.undos, 1);
    CHECK(h_status(&h, id).cwnd >= cwnd0);
    CHECK_EQ(h_status(&h, id).ssthresh, ssthresh0);
    h_fini(&h);
}

static void
test_undo_keeps_recovery_for_rack_lost_text(void)
{
    /* RFC 8985 6.2 step 5, 9.3: segments 0 and 1 are late, 2-4 SACKed a
     * round trip on; RACK marks both lost, PRR (RFC 6937) lets only 0 go
     * again. The original of 0 arrives (ACK to 1) with the D-SACK of its
     * copy: the episode's one retransmission was needless, the cut is
     * undone (RFC 3708 2, RFC 4015 3), but 1 is still marked lost and
     * unacknowledged: it must be resent now, not at the RTO. */
    struct h h;
    h_init_cfg(&h, tweak_no_ts_rack);
    int id = sack_sending(&h, 10);
    uint32_t cwnd0 = h_status(&h, id).cwnd;
    h_advance(&h, 1000000LL);
    ack_sack(&h, SEG(0), 1, (const uint32_t[][2]){{SEG(2), SEG(3)}});
    ack_sack(&h, SEG(0), 1, (const uint32_t[][2]){{SEG(2), SEG(4)}});
    ack_sack(&h, SEG(0), 1, (const uint32_t[][2]){{SEG(2), SEG(5)}});
    struct wire_tcp t;
    CHECK(h_next_sent(&h, &t, __LINE__));
    CHECK_EQ(t.seq, SEG(0));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).total_retransmits, 1);
    ack_sack(&h, SEG(1), 2, (const uint32_t[][2]){{SEG(0), SEG(1)}, {SEG(2), SEG(5)}});
    CHECK_EQ(tern_stack_stats(h.st)->tcp.undos, 1);
    CHECK(h_status(&h, id).cwnd >= cwnd0);
    CHECK(h_next_sent(&h, &t, __LINE__));
    CHECK_EQ(t.seq, SEG(1));
    CHECK_EQ(h_status(&h, id).total_retransmits, 2);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.rto_expiries, 0);
    h_fini(&h);
}

static void
tweak_no_ts_rfc6675(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
    c->tcp.loss_detection = TERN_TCP_LOSS_RFC6675;
}

static void
test_no_undo_when_a_retransmission_was_needed(void)
{
    /* RFC 3708 2: only when every retransmission of the episode comes back
     * D-SACKed. Segments 0 and 4 look lost; 0 was only delayed, 4 was
     * really lost: one D-SACK of two, no undo. Under both loss detections:
     * the SACKs come 1 ms after the sending, and with three segments
     * SACKed above each, RFC 6675's IsLost and RACK (6.2: sent before a
     * delivered segment, reordering window 0 with DupThresh segments
     * SACKed) both mark 0 and 4. */
    for (int rack = 1; rack >= 0; rack--) {
        struct h h;
        h_init_cfg(&h, rack ? tweak_no_ts_rack : tweak_no_ts_rfc6675);
        int id = sack_sending(&h, 9);
        uint32_t cwnd0 = h_status(&h, id).cwnd;
        h_advance(&h, 1000000LL);
        ack_sack(&h, SEG(0), 2, (const uint32_t[][2]){{SEG(5), SEG(6)}, {SEG(1), SEG(4)}});
        ack_sack(&h, SEG(0), 2, (const uint32_t[][2]){{SEG(5), SEG(7)}, {SEG(1), SEG(4)}});
        ack_sack(&h, SEG(0), 2, (const uint32_t[][2]){{SEG(5), SEG(8)}, {SEG(1), SEG(4)}});
        /* Segment 0, then segment 4. */
        struct wire_tcp t;
        CHECK(h_next_sent(&h, &t, __LINE__));
        CHECK_EQ(t.seq, SEG(0));
        CHECK(h_next_sent(&h, &t, __LINE__));
        CHECK_EQ(t.seq, SEG(4));
        EXPECT_NOTHING(&h);
        CHECK_EQ(h_status(&h, id).total_retransmits, 2);
        uint32_t cut = h_status(&h, id).cwnd;
        CHECK(cut < cwnd0);
        /* The original of 0 arrives, then its copy (D-SACKed). */
        h_advance(&h, 1000000LL);
        ack_sack(&h, SEG(4), 1, (const uint32_t[][2]){{SEG(5), SEG(8)}});
        ack_sack(&h, SEG(4), 2, (const uint32_t[][2]){{SEG(0), SEG(1)}, {SEG(5), SEG(8)}});
        const struct tern_stats *s = tern_stack_stats(h.st);
        CHECK_EQ(s->tcp.dsacks_rx, 1);
        CHECK_EQ(s->tcp.spurious_rtx, 1);
        CHECK_EQ(s->tcp.undos, 0);
        CHECK(h_status(&h, id).cwnd < cwnd0);
        h_fini(&h);
    }
}

static void
test_dsack_is_not_a_duplicate_ack(void)
{
    /* RFC 2883 5 with RFC 6675 2: ACKs that only report duplicates do not
     * count toward DupThresh. */
    struct h h;
    h_init_cfg(&h, tweak_no_ts);
    int id = sack_sending(&h, 4);
    /* Three ACKs of nothing new, each D-SACKing old text (below SND.UNA:
     * the peer had segment 0 twice, say after a retransmission we no
     * longer track). */
    ack_sack(&h, SEG(1), 0, NULL);
    for (int i = 0; i < 3; i++) {
        ack_sack(&h, SEG(1), 1, (const uint32_t[][2]){{SEG(0), SEG(1)}});
    }
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).total_retransmits, 0);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.dsacks_rx, 3);
    h_fini(&h);
}

/* ---- Eifel detection (RFC 3522) of a spurious timeout ---- */

/* Established with timestamps and SACK; two segments sent, the first
 * times out and goes again. Returns the connection; *ts0 and *ts1 are the
 * TSvals of the original and of the retransmission, *cwnd0 and *ssthresh0
 * the values before the timeout. */
static int
timeout_with_timestamps(struct h *h, uint32_t *ts0, uint32_t *ts1, uint32_t *cwnd0,
                        uint32_t *ssthresh0)
{
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h->st, &a, h->now);
    struct wire_tcp syn = EXPECT_SENT(h, US(.seq = LOCAL_ISS, .flags = SYN, .mss = 1460));
    struct topts o = {.ts = true, .ts_val = 5000, .ts_ecr = syn.opts.ts_val, .sackp = true};
    h_deliver_opts(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535),
                   &o);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_advance(h, 5 * 1000000LL);
    static char two[1448 * 2]; /* SMSS 1448: 1460 less the timestamps option */
    memset(two, 'z', sizeof(two));
    CHECK_EQ(tern_tcp_send(h->st, id, two, sizeof(two), h->now), (int)sizeof(two));
    struct wire_tcp t;
    CHECK(h_next_sent(h, &t, __LINE__));
    CHECK_EQ(t.seq, SEG(0));
    *ts0 = t.opts.ts_val;
    CHECK(h_next_sent(h, &t, __LINE__));
    CHECK_EQ(t.seq, 101u + 1448u);
    EXPECT_NOTHING(h);
    *cwnd0 = h_status(h, id).cwnd;
    *ssthresh0 = h_status(h, id).ssthresh;
    h_advance(h, 1100 * 1000000LL); /* past the RTO (1 s here, tcp_harness.h) */
    /* RACK-TLP (the default, RFC 8985 7.3): first a loss probe, the last
     * segment again, after the PTO (2 SRTT, at least 10 ms); it goes
     * unanswered too, and the RTO, restarted by it, fires. */
    CHECK(h_next_sent(h, &t, __LINE__));
    CHECK_EQ(t.seq, 101u + 1448u);
    CHECK(h_next_sent(h, &t, __LINE__));
    CHECK_EQ(t.seq, SEG(0));
    *ts1 = t.opts.ts_val;
    CHECK(*ts1 > *ts0);
    CHECK_EQ(h_status(h, id).cwnd, 1448); /* RFC 5681 3.1: LW */
    return id;
}

static void
test_eifel_undoes_spurious_timeout(void)
{
    /* EVIDENCE: RFC 3522 2 RFC 4015 3: the ACK after a timeout echoes the original's TSval ->
     * spurious, cwnd and ssthresh restored */
    struct h h;
    h_init(&h);
    uint32_t ts0, ts1, cwnd0, ssthresh0;
    int id = timeout_with_timestamps(&h, &ts0, &ts1, &cwnd0, &ssthresh0);
    /* The ACK of both originals (they were only slow), echoing ts0. */
    struct topts o = {.ts = true, .ts_val = 6000, .ts_ecr = ts0};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101 + 2 * 1448, .flags = ACK, .wnd = 65535), &o);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.undos, 1);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.spurious_rtx, 1);
    CHECK(h_status(&h, id).cwnd >= cwnd0); /* and slow start goes on from there */
    CHECK_EQ(h_status(&h, id).ssthresh, ssthresh0);
    h_fini(&h);
}

static void
test_eifel_no_undo_when_the_retransmission_was_needed(void)
{
    /* RFC 3522 2: the ACK echoes the retransmission's TSval: the original
     * was lost, the timeout was right. */
    struct h h;
    h_init(&h);
    uint32_t ts0, ts1, cwnd0, ssthresh0;
    int id = timeout_with_timestamps(&h, &ts0, &ts1, &cwnd0, &ssthresh0);
    struct topts o = {.ts = true, .ts_val = 6000, .ts_ecr = ts1};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101 + 2 * 1448, .flags = ACK, .wnd = 65535), &o);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.undos, 0);
    CHECK(h_status(&h, id).ssthresh < ssthresh0);
    CHECK(h_status(&h, id).cwnd < cwnd0);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_dsack_for_text_below_rcv_nxt);
    RUN(test_dsack_for_held_out_of_order_text);
    RUN(test_no_dsack_without_sack);
    RUN(test_dsack_for_a_copy_paws_drops);
    RUN(test_dsack_recognised);
    RUN(test_dsack_undoes_spurious_fast_retransmit);
    RUN(test_dsack_undoes_spurious_rack_recovery);
    RUN(test_undo_keeps_recovery_for_rack_lost_text);
    RUN(test_no_undo_when_a_retransmission_was_needed);
    RUN(test_dsack_after_the_flight_undoes);
    RUN(test_dsack_beyond_the_bound_undoes_nothing);
    RUN(test_hostile_dsack_after_the_flight_undoes_nothing);
    RUN(test_dsack_is_not_a_duplicate_ack);
    RUN(test_eifel_undoes_spurious_timeout);
    RUN(test_eifel_no_undo_when_the_retransmission_was_needed);
    return CHECK_DONE();
}
