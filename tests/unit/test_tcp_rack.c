/*
 * tests/unit/test_tcp_rack.c: RACK loss detection (RFC 8985 6) on
 * hand-built transmission records and scoreboards: the cases of RFC 8985
 * 3.3-3.4 (reordering inside the window is not loss, the window running
 * out is), a lost retransmission (9.2: what RFC 6675 cannot find), the
 * reordering window of 6.2 step 4, the spurious-sample guard of 6.2 step
 * 2, and the bounded records.
 */
#include "check.h"
#include "tcp_harness.h"

#include "tcp/rack.h"

#define MS      1000000LL
#define SEG     1000u
#define B(s, e) ((struct tcp_sack_block){(s), (e)})

/* Segment i is [i * SEG, (i + 1) * SEG). */
static void
send_seg(struct tcp_rack *rk, unsigned i, int64_t t)
{
    tcp_rack_on_send(rk, i * SEG, (i + 1) * SEG, t);
}

/* One ACK: cumulative `una`, SACK blocks `b`; runs 6.2 steps 1-3 and
 * returns the scoreboard after it in *sb. */
static void
ack(struct tcp_rack *rk, struct tcp_sack_sb *sb, uint32_t *una, uint32_t new_una,
    const struct tcp_sack_block *b, unsigned n, int64_t now)
{
    struct tcp_sack_sb old = *sb;
    tcp_sack_update(sb, new_una, 100 * SEG, b, n);
    tcp_rack_on_ack(rk, &old, sb, *una, new_una, now);
    *una = new_una;
}

/* EVIDENCE: RFC 8985 3.3 / 6.2 step 5: P1 and P2 sent 1 ms apart, P2
 * SACKed first: with reordering not yet ruled out and only one segment
 * SACKed, the window is min_RTT / 4, so P1 is not lost yet; the timer
 * delay returned is what is left of its window; when P1 then arrives the
 * sender has seen reordering (6.2 step 3) and nothing was retransmitted.
 * Mutation checked: tcp_rack_reo_wnd returning 0 marks P1 lost here. */
static void
test_reordering_not_lost(void)
{
    struct tcp_rack rk;
    struct tcp_sack_sb sb;
    uint32_t una = 0;
    tcp_rack_init(&rk);
    tcp_sack_sb_init(&sb);
    send_seg(&rk, 0, 0);
    send_seg(&rk, 1, 1 * MS);
    struct tcp_sack_block b[] = {B(SEG, 2 * SEG)};
    ack(&rk, &sb, &una, 0, b, 1, 101 * MS);
    CHECK(rk.have);
    CHECK_EQ(rk.xmit_ts, 1 * MS);
    CHECK_EQ(rk.end_seq, 2 * SEG);
    CHECK_EQ(rk.rtt, 100 * MS);
    int64_t reo = tcp_rack_reo_wnd(&rk, false, 1, 100 * MS);
    CHECK_EQ(reo, 25 * MS); /* min_RTT / 4 */
    int64_t wait = -1;
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, reo, 101 * MS, &wait), 0);
    /* P1: sent at 0, due at 0 + 100 + 25 = 125 ms: 24 ms to go. */
    CHECK_EQ(wait, 24 * MS);
    CHECK_EQ(tcp_rack_lost_bytes(&rk, &sb, una), 0);
    CHECK(!rk.reordering_seen);
    ack(&rk, &sb, &una, 2 * SEG, NULL, 0, 110 * MS);
    CHECK(rk.reordering_seen);
    CHECK_EQ(rk.n, 0);
}

/* EVIDENCE: RFC 8985 6.3: when the reordering timer fires after P1's
 * window, RACK marks P1 (and only P1) lost and offers it for
 * retransmission. Mutation checked: dropping `+ reo_wnd` from the
 * remaining-time formula marks P1 lost at 101 ms (the previous test) and
 * turns the 24 ms wait into none. */
static void
test_window_expires_lost(void)
{
    struct tcp_rack rk;
    struct tcp_sack_sb sb;
    uint32_t una = 0;
    tcp_rack_init(&rk);
    tcp_sack_sb_init(&sb);
    send_seg(&rk, 0, 0);
    send_seg(&rk, 1, 1 * MS);
    struct tcp_sack_block b[] = {B(SEG, 2 * SEG)};
    ack(&rk, &sb, &una, 0, b, 1, 101 * MS);
    int64_t reo = tcp_rack_reo_wnd(&rk, false, 1, 100 * MS);
    int64_t wait = 0;
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, reo, 124 * MS, &wait), 0);
    CHECK_EQ(wait, 1 * MS);
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, reo, 125 * MS, &wait), 1);
    CHECK_EQ(wait, 0);
    CHECK_EQ(tcp_rack_lost_bytes(&rk, &sb, una), SEG);
    uint32_t seq = 9, len = 9;
    CHECK(tcp_rack_next_lost(&rk, &sb, una, SEG, &seq, &len));
    CHECK_EQ(seq, 0);
    CHECK_EQ(len, SEG);
    /* Marked once only. */
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, reo, 130 * MS, &wait), 0);
    /* Resent: no longer lost, a retransmission with the new time. */
    send_seg(&rk, 0, 130 * MS);
    CHECK_EQ(tcp_rack_lost_bytes(&rk, &sb, una), 0);
    CHECK(!tcp_rack_next_lost(&rk, &sb, una, SEG, &seq, &len));
}

/* EVIDENCE: RFC 8985 3.4 and 6.2 step 4: P1..P4 sent, P2-P4 SACKed: three
 * SACKed segments and no reordering seen make the window 0, so P1 is lost
 * at once (as DupThresh would say). Then RFC 8985 9.2: P1's
 * retransmission is lost too; P5 sent after it is SACKed, and RACK marks
 * the retransmission lost (RFC 6675 never resends below HighRxt).
 * Mutations checked: detect skipping RETRANS records leaves the second
 * loss unfound; on_send not retiming a resent range marks the fresh
 * retransmission lost at 150 ms already. */
static void
test_lost_retransmission(void)
{
    struct tcp_rack rk;
    struct tcp_sack_sb sb;
    uint32_t una = 0;
    tcp_rack_init(&rk);
    tcp_sack_sb_init(&sb);
    for (unsigned i = 0; i < 4; i++)
        send_seg(&rk, i, (int64_t)i * MS);
    struct tcp_sack_block b1[] = {B(SEG, 4 * SEG)};
    ack(&rk, &sb, &una, 0, b1, 1, 103 * MS);
    int64_t reo = tcp_rack_reo_wnd(&rk, false, 3, 100 * MS);
    CHECK_EQ(reo, 0);
    int64_t wait = 0;
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, reo, 103 * MS, &wait), 1);
    uint32_t seq = 9, len = 9;
    CHECK(tcp_rack_next_lost(&rk, &sb, una, SEG, &seq, &len));
    CHECK_EQ(seq, 0);
    CHECK_EQ(len, SEG);
    send_seg(&rk, 0, 103 * MS); /* the retransmission (lost in the network) */
    send_seg(&rk, 4, 104 * MS); /* P5, new data in recovery */
    /* A duplicate ACK with nothing new at 150 ms: the retransmission is
     * younger than anything delivered, so it is not lost. */
    ack(&rk, &sb, &una, 0, b1, 1, 150 * MS);
    reo = tcp_rack_reo_wnd(&rk, true, 3, 100 * MS);
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, reo, 150 * MS, &wait), 0);
    CHECK_EQ(tcp_rack_lost_bytes(&rk, &sb, una), 0);
    /* P5 SACKed at 204 ms: sent after the retransmission, delivered, and
     * 100 ms (RACK.rtt) have passed since the retransmission. */
    struct tcp_sack_block b2[] = {B(SEG, 5 * SEG)};
    ack(&rk, &sb, &una, 0, b2, 1, 204 * MS);
    CHECK_EQ(rk.xmit_ts, 104 * MS);
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, reo, 204 * MS, &wait), 1);
    CHECK(tcp_rack_next_lost(&rk, &sb, una, SEG, &seq, &len));
    CHECK_EQ(seq, 0);
    CHECK_EQ(len, SEG);
}

/* EVIDENCE: RFC 8985 6.2 step 2's tie-break on end_seq: four segments
 * sent at one instant share a record; segments 2-4 SACKed (DupThresh,
 * window 0) make segment 1 lost, and only it: the record is cut at
 * RACK.end_seq and nothing above it is marked. Mutations checked: the
 * plain RACK_sent_after(record) test finds nothing lost here; taking the
 * record's end as RACK.end_seq does too. */
static void
test_same_instant_flight(void)
{
    struct tcp_rack rk;
    struct tcp_sack_sb sb;
    uint32_t una = 0;
    tcp_rack_init(&rk);
    tcp_sack_sb_init(&sb);
    for (unsigned i = 0; i < 6; i++)
        send_seg(&rk, i, 5 * MS);
    CHECK_EQ(rk.n, 1);
    struct tcp_sack_block b[] = {B(SEG, 4 * SEG)};
    ack(&rk, &sb, &una, 0, b, 1, 105 * MS);
    CHECK_EQ(rk.xmit_ts, 5 * MS);
    CHECK_EQ(rk.end_seq, 4 * SEG); /* the highest byte delivered, not the record's end */
    int64_t wait = 0;
    CHECK_EQ(tcp_rack_detect(&rk, &sb, una, 0, 105 * MS, &wait), 1);
    CHECK_EQ(tcp_rack_lost_bytes(&rk, &sb, una), SEG);
    uint32_t seq = 9, len = 9;
    CHECK(tcp_rack_next_lost(&rk, &sb, una, SEG, &seq, &len));
    CHECK_EQ(seq, 0);
    CHECK_EQ(len, SEG);
}

/* EVIDENCE: RFC 8985 6.2 step 2: a retransmitted segment acknowledged
 * sooner than min_RTT after the retransmission was probably delivered by
 * its original: it gives no RTT and does not move RACK.xmit_ts.
 * Mutation checked: removing the min_RTT guard sets RACK.rtt to 5 ms. */
static void
test_spurious_sample_ignored(void)
{
    struct tcp_rack rk;
    struct tcp_sack_sb sb;
    uint32_t una = 0;
    tcp_rack_init(&rk);
    tcp_sack_sb_init(&sb);
    send_seg(&rk, 0, 0);
    send_seg(&rk, 1, 1 * MS);
    struct tcp_sack_block b[] = {B(SEG, 2 * SEG)};
    ack(&rk, &sb, &una, 0, b, 1, 101 * MS); /* min_RTT 100 ms */
    send_seg(&rk, 0, 120 * MS);             /* resent (spuriously) */
    ack(&rk, &sb, &una, 2 * SEG, NULL, 0, 125 * MS);
    CHECK_EQ(rk.rtt, 100 * MS);
    CHECK_EQ(rk.xmit_ts, 1 * MS);
    CHECK_EQ(rk.min_rtt, 100 * MS);
}

/* EVIDENCE: RFC 8985 6.2 step 4: window 0 in recovery or with DupThresh
 * SACKed segments while no reordering was seen; min_RTT / 4 once it was
 * (even in recovery); never more than SRTT. Mutation checked: ignoring
 * reordering_seen gives 0 in recovery after reordering. */
static void
test_reo_wnd(void)
{
    struct tcp_rack rk;
    tcp_rack_init(&rk);
    rk.min_rtt = 40 * MS;
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 100 * MS), 10 * MS);
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 2, 100 * MS), 10 * MS);
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 3, 100 * MS), 0);
    CHECK_EQ(tcp_rack_reo_wnd(&rk, true, 0, 100 * MS), 0);
    rk.reordering_seen = true;
    CHECK_EQ(tcp_rack_reo_wnd(&rk, true, 5, 100 * MS), 10 * MS);
    CHECK_EQ(tcp_rack_reo_wnd(&rk, true, 5, 4 * MS), 4 * MS);
}

/* RFC 8985 6.2 step 4, the D-SACK half: the window grows by min_RTT/4 once
 * per round trip that brings a D-SACK (a round ends when SND.UNA reaches
 * the SND.NXT of the last growth), stays capped by SRTT, and is back to
 * min_RTT/4 after 16 recoveries without one. */
static void
test_reo_wnd_dsack(void)
{
    struct tcp_rack rk;
    tcp_rack_init(&rk);
    rk.min_rtt = 40 * MS;
    rk.reordering_seen = true;
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 100 * MS), 10 * MS);
    tcp_rack_on_dsack(&rk, 1000, 5000);
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 100 * MS), 20 * MS);
    tcp_rack_on_dsack(&rk, 4999, 9000); /* same round: no growth */
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 100 * MS), 20 * MS);
    tcp_rack_on_dsack(&rk, 5000, 9000); /* next round */
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 100 * MS), 30 * MS);
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 25 * MS), 25 * MS); /* SRTT caps */
    for (int i = 0; i < 15; i++) {
        tcp_rack_on_recovery_exit(&rk);
    }
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 100 * MS), 30 * MS);
    tcp_rack_on_recovery_exit(&rk); /* the 16th */
    CHECK_EQ(tcp_rack_reo_wnd(&rk, false, 0, 100 * MS), 10 * MS);
}

/* EVIDENCE: rack.h's bound: many segments, each at its own time, stay
 * within TCP_RACK_REC_MAX records that still cover every byte in order;
 * a merged record keeps the later time (never declared lost earlier). A
 * lost record partly SACKed offers only its unSACKed bytes. */
static void
test_records_bounded(void)
{
    struct tcp_rack rk;
    tcp_rack_init(&rk);
    for (unsigned i = 0; i < 90; i++)
        send_seg(&rk, i, (int64_t)i * MS);
    CHECK(rk.n <= TCP_RACK_REC_MAX);
    CHECK_EQ(rk.r[0].start, 0);
    CHECK_EQ(rk.r[rk.n - 1].end, 90 * SEG);
    for (unsigned i = 1; i < rk.n; i++) {
        CHECK_EQ(rk.r[i].start, rk.r[i - 1].end);
        CHECK(rk.r[i].ts > rk.r[i - 1].ts);
        CHECK_EQ(rk.r[i - 1].ts, (int64_t)(rk.r[i - 1].end / SEG - 1) * MS);
    }
    /* Same instant: one record. */
    struct tcp_rack one;
    tcp_rack_init(&one);
    for (unsigned i = 0; i < 5; i++)
        send_seg(&one, i, 7 * MS);
    CHECK_EQ(one.n, 1);
    /* A lost record with a SACKed middle. */
    struct tcp_sack_sb sb;
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block b[] = {B(SEG, 2 * SEG), B(5 * SEG, 6 * SEG)};
    tcp_sack_update(&sb, 0, 6 * SEG, b, 2);
    one.r[0].flags = TCP_RACK_LOST;
    CHECK_EQ(tcp_rack_lost_bytes(&one, &sb, 0), 4 * SEG);
    uint32_t seq = 0, len = 0;
    tcp_rack_on_send(&one, 0, SEG, 8 * MS);
    CHECK(tcp_rack_next_lost(&one, &sb, 0, 4 * SEG, &seq, &len));
    CHECK_EQ(seq, 2 * SEG);
    CHECK_EQ(len, 3 * SEG);
    tcp_rack_clear_lost(&one);
    CHECK(!tcp_rack_next_lost(&one, &sb, 0, 4 * SEG, &seq, &len));
}

/* ---- The stack with RACK-TLP (cfg.tcp.loss_detection) ---- */

static char Z[1461]; /* 1460 'z' */

static void
tweak_rack(struct tern_config *c)
{
    c->tcp.no_timestamps = true; /* RTT from the one timed segment */
    c->tcp.loss_detection = TERN_TCP_LOSS_RACK;
}

static void
tweak_rfc6675(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
    c->tcp.loss_detection = TERN_TCP_LOSS_RFC6675;
}

static struct tern_tcp_status
status(struct h *h, int id)
{
    struct tern_tcp_status s;
    memset(&s, 0, sizeof(s));
    tern_tcp_status(h->st, id, &s);
    return s;
}

/* Established over a 100 ms RTT, SACK permitted, peer window 64 KiB; `n` segments of 1460
 * bytes sent at once (IW10). */
static int
sack_sending(struct h *h, unsigned n)
{
    int id = h_syn_sent(h);
    h_advance(h, 100 * MS); /* RTT 100 ms from the start */
    struct topts o = {.sackp = true};
    h_deliver_opts(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535),
                   &o);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(status(h, id).sack_ok);
    static char big[1460 * 8];
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

/* The next segment sent is 1460 bytes of text at `seq`. */
static void
expect_text_at(struct h *h, uint32_t seq, int line)
{
    struct wire_tcp t;
    if (!h_next_sent(h, &t, line)) {
        return;
    }
    if (t.seq != seq || t.ack != 301 || t.payload_len != 1460 || !(t.flags & ACK) ||
        (t.flags & (SYN | FIN | RST))) {
        fprintf(stderr, "line %d: expected 1460 bytes at %u, sent SEQ=%u ACK=%u len %zu\n", line,
                seq, t.seq, t.ack, t.payload_len);
        check_st.failures++;
    }
}
#define EXPECT_TEXT_AT(h, seq) expect_text_at((h), (seq), __LINE__)

/* An ACK of `ack` with one SACK block [101 + 1460*a, 101 + 1460*b), or
 * none when a == b. */
static void
sack_ack(struct h *h, uint32_t ack, unsigned a, unsigned b)
{
    struct topts o = {.n_sack = a < b ? 1u : 0u, .sack = {{101 + 1460 * a, 101 + 1460 * b}}};
    h_deliver_opts(h, PEER(.seq = 301, .ack = ack, .flags = ACK, .wnd = 65535), &o);
}

#define SEG_AT(i) (101u + 1460u * (i))

/* EVIDENCE: RFC 8985 7.2-7.3: the last of four segments is lost; the ACK
 * of the first three (RTT 100 ms) leaves one segment in flight, so the
 * PTO is 2 SRTT + 200 ms (max ACK delay) = 400 ms: the probe, a resend of
 * the last segment, goes then, long before the 1 s RTO, and its ACK ends
 * the episode with no timeout; the first ACK beyond the probe takes the
 * congestion response of 7.4.2. Mutations checked: tcp_tlp_arm returning
 * at once leaves nothing sent at 400 ms (the RTO resends at 1 s);
 * tcp_tlp_on_ack never ending the episode leaves cwnd as it was. */
static void
test_tlp_tail_loss(void)
{
    struct h h;
    h_init_cfg(&h, tweak_rack);
    int id = sack_sending(&h, 4);
    h_advance(&h, 100 * MS);
    sack_ack(&h, SEG_AT(3), 0, 0);
    EXPECT_NOTHING(&h);
    h_advance(&h, 399 * MS);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1 * MS);
    EXPECT_TEXT_AT(&h, SEG_AT(3)); /* RFC 8985 7.3: the probe */
    EXPECT_NOTHING(&h);
    CHECK_EQ(status(&h, id).total_retransmits, 1);
    /* More text goes out behind the probe. */
    CHECK_EQ(tern_tcp_send(h.st, id, Z, 1460, h.now), 1460);
    EXPECT_TEXT_AT(&h, SEG_AT(4));
    EXPECT_NOTHING(&h);
    uint32_t cwnd = status(&h, id).cwnd;
    CHECK(cwnd > 2 * 1460);
    /* 7.4.2: the ACK of the probe alone (no duplicate ACK follows, no
     * D-SACK): the episode stays open until an ACK passes TLP.end_seq;
     * then the probe repaired a loss and cwnd is reduced once. */
    h_advance(&h, 100 * MS);
    sack_ack(&h, SEG_AT(4), 0, 0);
    CHECK(status(&h, id).cwnd >= cwnd); /* not reduced */
    h_advance(&h, 10 * MS);
    sack_ack(&h, SEG_AT(5), 0, 0);
    CHECK(status(&h, id).cwnd <= 2 * 1460);
    h_advance(&h, 5 * SEC);
    EXPECT_NOTHING(&h); /* no RTO */
    CHECK_EQ(status(&h, id).snd_una, SEG_AT(5));
    CHECK_EQ(status(&h, id).total_retransmits, 1);
    h_fini(&h);
}

/* EVIDENCE: RFC 8985 7.4.2 case 1: the last of four segments is only
 * late; the probe (a resend of it) goes at 400 ms, then the original
 * arrives (ACK of it), then the probe (the same ACK with a D-SACK for the
 * probe's range). Both copies arrived, nothing was lost: the episode ends
 * on the D-SACK, and the next ACK, beyond TLP.end_seq, leaves cwnd as it
 * was. Mutation checked: without the D-SACK branch in tcp_tlp_on_ack the
 * episode stays open and that ACK cuts cwnd to half (the repaired-loss
 * response of test_tlp_tail_loss). */
static void
test_tlp_dsack_no_loss(void)
{
    struct h h;
    h_init_cfg(&h, tweak_rack);
    int id = sack_sending(&h, 4);
    h_advance(&h, 100 * MS);
    sack_ack(&h, SEG_AT(3), 0, 0);
    h_advance(&h, 400 * MS);
    EXPECT_TEXT_AT(&h, SEG_AT(3)); /* RFC 8985 7.3: the probe */
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, Z, 1460, h.now), 1460);
    EXPECT_TEXT_AT(&h, SEG_AT(4));
    EXPECT_NOTHING(&h);
    uint32_t cwnd = status(&h, id).cwnd;
    CHECK(cwnd > 4 * 1460);
    h_advance(&h, 50 * MS);
    sack_ack(&h, SEG_AT(4), 0, 0); /* the original, late */
    h_advance(&h, 1 * MS);
    struct topts d = {.n_sack = 1, .sack = {{SEG_AT(3), SEG_AT(4)}}};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = SEG_AT(4), .flags = ACK, .wnd = 65535), &d);
    CHECK_EQ(h.st->stats.tcp.dsacks_rx, 1);
    h_advance(&h, 50 * MS);
    sack_ack(&h, SEG_AT(5), 0, 0);
    CHECK_EQ(status(&h, id).snd_una, SEG_AT(5));
    CHECK(status(&h, id).cwnd >= cwnd); /* no congestion response */
    h_advance(&h, 5 * SEC);
    EXPECT_NOTHING(&h);
    CHECK_EQ(status(&h, id).total_retransmits, 1);
    h_fini(&h);
}

/* EVIDENCE: RFC 8985 6.2 and 9.2: six segments, the first lost; three
 * segments SACKed make it lost (window 0); its retransmission is lost
 * too. New data sent after the retransmission is SACKed 100 ms later:
 * RACK marks the retransmission lost and resends it, no RTO. With RFC
 * 6675's loss detection the same ACKs resend nothing (NextSeg never goes
 * below HighRxt). Mutation checked: tcp_rack_detect skipping
 * retransmitted records leaves the second resend out. */
static void
test_rack_lost_retransmission(void)
{
    for (int rack = 1; rack >= 0; rack--) {
        struct h h;
        h_init_cfg(&h, rack ? tweak_rack : tweak_rfc6675);
        int id = sack_sending(&h, 6);
        h_advance(&h, 100 * MS);
        sack_ack(&h, SEG_AT(0), 1, 2);
        sack_ack(&h, SEG_AT(0), 1, 3);
        EXPECT_NOTHING(&h);
        sack_ack(&h, SEG_AT(0), 1, 4);
        EXPECT_TEXT_AT(&h, SEG_AT(0)); /* lost: resent (and lost again) */
        EXPECT_NOTHING(&h);
        static char more[1460 * 2];
        memset(more, 'z', sizeof(more));
        CHECK_EQ(tern_tcp_send(h.st, id, more, sizeof(more), h.now), (int)sizeof(more));
        EXPECT_NOTHING(&h); /* cwnd 3 segments, 3 in flight */
        h_advance(&h, 100 * MS);
        sack_ack(&h, SEG_AT(0), 1, 6);
        EXPECT_TEXT_AT(&h, SEG_AT(6)); /* new data in recovery */
        EXPECT_TEXT_AT(&h, SEG_AT(7));
        EXPECT_NOTHING(&h);
        h_advance(&h, 100 * MS);
        sack_ack(&h, SEG_AT(0), 1, 8);
        if (rack) {
            EXPECT_TEXT_AT(&h, SEG_AT(0)); /* the lost retransmission, found */
        }
        EXPECT_NOTHING(&h);
        CHECK_EQ(status(&h, id).total_retransmits, rack ? 2 : 1);
        if (rack) {
            h_advance(&h, 100 * MS);
            sack_ack(&h, SEG_AT(8), 0, 0);
            h_advance(&h, 5 * SEC);
            EXPECT_NOTHING(&h); /* recovered without a timeout */
            CHECK_EQ(status(&h, id).snd_una, SEG_AT(8));
        }
        h_fini(&h);
    }
}

/* EVIDENCE: RFC 8985 7.2 and 7.3: the PTO is (re)armed only after new
 * data is sent or an ACK acknowledges new data, and a PTO that cannot
 * probe re-arms the RTO, which stays the last resort. Here the SYN was
 * lost once, so there is no RTT sample (Karn) and no probe may go (7.3
 * condition 2); the one segment cwnd allows (RFC 5681 3.1 after a lost
 * SYN) is lost; the application keeps writing, as a sender does when told
 * WRITABLE. The RTO must still fire: the PTO (1 s without SRTT, 7.2)
 * expires, sends nothing and re-arms the RTO (2 s, the initial 1 s backed
 * off by the SYN's timeout) from then, so the segment goes again at 3 s.
 * The writes come every 100 ms. Mutation checked: arming the PTO on every tcp_output call when
 * none is armed (as before) lets each write re-arm a 1 s PTO whose expiry
 * pushes the RTO 2 s away, and nothing is ever resent (the stall seen
 * over TUN at 10 % loss by bench/lossy_goodput.sh). */
static void
test_pto_does_not_starve_the_rto(void)
{
    struct h h;
    h_init_cfg(&h, tweak_rack);
    int id = h_syn_sent(&h);
    h_advance(&h, 1000 * MS);
    struct wire_tcp t;
    CHECK(h_next_sent(&h, &t, __LINE__)); /* RFC 6298 5: the SYN again */
    CHECK(t.flags & SYN);
    h_advance(&h, 5 * MS);
    struct topts o = {.sackp = true};
    h_deliver_opts(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535),
                   &o);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    memset(Z, 'z', 1460);
    static char big[1460 * 8];
    memset(big, 'z', sizeof(big));
    CHECK_EQ(tern_tcp_send(h.st, id, big, sizeof(big), h.now), (int)sizeof(big));
    EXPECT_TEXT_AT(&h, SEG_AT(0));
    EXPECT_NOTHING(&h);
    int64_t start = h.now;
    while (h.next == h.n_sent && h.now - start < 10 * SEC) {
        h_advance(&h, 100 * MS);
        CHECK_EQ(tern_tcp_send(h.st, id, Z, 100, h.now), 100); /* more to send */
    }
    CHECK_EQ(h.now - start, 3000 * MS);
    EXPECT_TEXT_AT(&h, SEG_AT(0)); /* RFC 6298 5.4 */
    h_fini(&h);
}

/* EVIDENCE: a loss_detection value that names no rule is refused (bad
 * input gets a clear error); the default is RACK, also for a config that
 * code unaware of the field left zeroed. Mutation checked: without the
 * check in table.c the stack is created. */
static void
test_config(void)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.deterministic = true;
    CHECK_EQ(cfg.tcp.loss_detection, TERN_TCP_LOSS_RACK);
    CHECK_EQ((int)TERN_TCP_LOSS_RACK, 0);
    cfg.tcp.loss_detection = (enum tern_tcp_loss_detection)5;
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    CHECK(st == NULL);
}

int
main(void)
{
    RUN(test_reordering_not_lost);
    RUN(test_window_expires_lost);
    RUN(test_lost_retransmission);
    RUN(test_same_instant_flight);
    RUN(test_spurious_sample_ignored);
    RUN(test_reo_wnd);
    RUN(test_reo_wnd_dsack);
    RUN(test_records_bounded);
    RUN(test_config);
    RUN(test_pto_does_not_starve_the_rto);
    RUN(test_tlp_tail_loss);
    RUN(test_tlp_dsack_no_loss);
    RUN(test_rack_lost_retransmission);
    return CHECK_DONE();
}
