/*
 * tests/unit/test_tcp_sack.c: the RFC 6675 scoreboard (Update, IsLost,
 * SetPipe, NextSeg) on hand-built scoreboards, and the RFC 2018 receiver's
 * blocks on the RFC's own examples (RFC 2018 7: left edge 5000, eight
 * 500-byte segments).
 */
#include "check.h"

#include "tcp/sack.h"

#define B(s, e) ((struct tcp_sack_block){(s), (e)})

static void
check_ranges(const struct tcp_sack_sb *sb, const struct tcp_sack_block *want, unsigned n)
{
    CHECK_EQ(sb->n, n);
    for (unsigned i = 0; i < n && i < sb->n; i++) {
        CHECK_EQ(sb->r[i].start, want[i].start);
        CHECK_EQ(sb->r[i].end, want[i].end);
    }
}

/* EVIDENCE: RFC 6675 4 Update(): SACKed octets are marked, merged, and the
 * newly SACKed amount is reported; RFC 2018 4 / RFC 2883 blocks below the
 * cumulative ACK carry nothing for the scoreboard. */
static void
test_update_merge(void)
{
    struct tcp_sack_sb sb;
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block b1[] = {B(3000, 4000)};
    CHECK_EQ(tcp_sack_update(&sb, 1000, 11000, b1, 1), 1000);
    struct tcp_sack_block b2[] = {B(5000, 6000), B(3000, 5000)};
    CHECK_EQ(tcp_sack_update(&sb, 1000, 11000, b2, 2), 2000);
    check_ranges(&sb, (struct tcp_sack_block[]){B(3000, 6000)}, 1);
    /* The same blocks again: nothing new. */
    CHECK_EQ(tcp_sack_update(&sb, 1000, 11000, b2, 2), 0);
    /* D-SACK below SND.UNA, an empty block, one past SND.MAX: ignored. */
    struct tcp_sack_block b3[] = {B(500, 1000), B(7000, 7000), B(9000, 12000)};
    CHECK_EQ(tcp_sack_update(&sb, 1000, 11000, b3, 3), 0);
    check_ranges(&sb, (struct tcp_sack_block[]){B(3000, 6000)}, 1);
    /* Disjoint ranges stay sorted. */
    struct tcp_sack_block b4[] = {B(8000, 9000), B(1500, 2000)};
    CHECK_EQ(tcp_sack_update(&sb, 1000, 11000, b4, 2), 1500);
    check_ranges(&sb, (struct tcp_sack_block[]){B(1500, 2000), B(3000, 6000), B(8000, 9000)}, 3);
    CHECK_EQ(tcp_sack_sacked_bytes(&sb), 4500);
    CHECK_EQ(tcp_sack_high_sacked(&sb, 1000), 9000);
    CHECK(tcp_sack_is_sacked(&sb, 3000));
    CHECK(tcp_sack_is_sacked(&sb, 5999));
    CHECK(!tcp_sack_is_sacked(&sb, 6000));
    /* The cumulative ACK moves to 4000: prune and trim. */
    CHECK_EQ(tcp_sack_update(&sb, 4000, 11000, NULL, 0), 0);
    check_ranges(&sb, (struct tcp_sack_block[]){B(4000, 6000), B(8000, 9000)}, 2);
    /* A block bridging two ranges joins them. */
    struct tcp_sack_block b5[] = {B(6000, 8000)};
    CHECK_EQ(tcp_sack_update(&sb, 4000, 11000, b5, 1), 2000);
    check_ranges(&sb, (struct tcp_sack_block[]){B(4000, 9000)}, 1);
    /* Everything ACKed: empty. */
    tcp_sack_update(&sb, 11000, 11000, NULL, 0);
    CHECK_EQ(sb.n, 0);
    CHECK_EQ(tcp_sack_high_sacked(&sb, 11000), 11000);
}

/* Sequence space wraps: ranges across 2^32 compare modulo 2^32. */
static void
test_update_wrap(void)
{
    struct tcp_sack_sb sb;
    tcp_sack_sb_init(&sb);
    uint32_t una = 0xFFFFF000u;
    struct tcp_sack_block b[] = {B(0xFFFFFC00u, 0x200u), B(0x400u, 0x600u)};
    CHECK_EQ(tcp_sack_update(&sb, una, 0x1000u, b, 2), 0x600 + 0x200);
    check_ranges(&sb, (struct tcp_sack_block[]){B(0xFFFFFC00u, 0x200u), B(0x400u, 0x600u)}, 2);
    CHECK(tcp_sack_is_sacked(&sb, 0));
    CHECK(!tcp_sack_is_sacked(&sb, 0x300u));
    tcp_sack_update(&sb, 0x100u, 0x1000u, NULL, 0);
    check_ranges(&sb, (struct tcp_sack_block[]){B(0x100u, 0x200u), B(0x400u, 0x600u)}, 2);
}

/* A full scoreboard forgets its highest range (RFC 2018 5: advisory). */
static void
test_update_full(void)
{
    struct tcp_sack_sb sb;
    tcp_sack_sb_init(&sb);
    for (uint32_t i = 0; i < TCP_SACK_SB_MAX + 1; i++) {
        struct tcp_sack_block b = B(2000 + 2000 * i, 3000 + 2000 * i);
        tcp_sack_update(&sb, 1000, 100000, &b, 1);
    }
    CHECK_EQ(sb.n, TCP_SACK_SB_MAX);
    CHECK_EQ(tcp_sack_high_sacked(&sb, 1000), 3000 + 2000 * (TCP_SACK_SB_MAX - 1));
    /* A lower range pushes the highest out. */
    struct tcp_sack_block low = B(1200, 1300);
    tcp_sack_update(&sb, 1000, 100000, &low, 1);
    CHECK_EQ(sb.n, TCP_SACK_SB_MAX);
    CHECK_EQ(sb.r[0].start, 1200);
    CHECK_EQ(tcp_sack_high_sacked(&sb, 1000), 3000 + 2000 * (TCP_SACK_SB_MAX - 2));
}

/* Three 1000-byte ranges above SND.UNA = 1000, SND.MAX = 11000. */
static void
board3(struct tcp_sack_sb *sb)
{
    tcp_sack_sb_init(sb);
    struct tcp_sack_block b[] = {B(2000, 3000), B(4000, 5000), B(6000, 7000)};
    tcp_sack_update(sb, 1000, 11000, b, 3);
}

/* EVIDENCE: RFC 6675 4 IsLost(): DupThresh (3) discontiguous SACKed ranges
 * above, or more than 2 * SMSS SACKed bytes above. */
static void
test_is_lost(void)
{
    struct tcp_sack_sb sb;
    board3(&sb);
    CHECK(tcp_sack_is_lost(&sb, 1000, 1000));  /* 3 ranges above */
    CHECK(!tcp_sack_is_lost(&sb, 3000, 1000)); /* 2 ranges, 2000 bytes: not more */
    CHECK(!tcp_sack_is_lost(&sb, 5000, 1000));
    CHECK(!tcp_sack_is_lost(&sb, 7000, 1000));
    /* By bytes: 3000 contiguous bytes > 2 * 1000. */
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block big = B(2000, 5000);
    tcp_sack_update(&sb, 1000, 11000, &big, 1);
    CHECK(tcp_sack_is_lost(&sb, 1000, 1000));
    /* Exactly 2 * SMSS is not "more than". */
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block two = B(2000, 4000);
    tcp_sack_update(&sb, 1000, 11000, &two, 1);
    CHECK(!tcp_sack_is_lost(&sb, 1000, 1000));
    CHECK(tcp_sack_is_lost(&sb, 1000, 999));
    /* By count: three tiny ranges (small segments) with SMSS 1460. */
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block tiny[] = {B(1100, 1200), B(1300, 1400), B(1500, 1600)};
    tcp_sack_update(&sb, 1000, 11000, tiny, 3);
    CHECK(tcp_sack_is_lost(&sb, 1000, 1460));
    CHECK(!tcp_sack_is_lost(&sb, 1200, 1460));
    /* Empty scoreboard: nothing is lost. */
    tcp_sack_sb_init(&sb);
    CHECK(!tcp_sack_is_lost(&sb, 1000, 1000));
}

/* EVIDENCE: RFC 6675 4 SetPipe(): each unSACKed octet in [HighACK,
 * HighData] counts once unless IsLost, and once more if at or below
 * HighRxt. */
static void
test_pipe(void)
{
    struct tcp_sack_sb sb;
    board3(&sb);
    /* Holes: [1000,2000) lost: 0; [3000,4000) 1000; [5000,6000) 1000;
     * [7000,11000) 4000. */
    CHECK_EQ(tcp_sack_pipe(&sb, 1000, 11000, 1000, 1000), 6000);
    /* The lost hole retransmitted: +1000. */
    CHECK_EQ(tcp_sack_pipe(&sb, 1000, 11000, 2000, 1000), 7000);
    /* [3000,3500) retransmitted without being lost counts twice: +500. */
    CHECK_EQ(tcp_sack_pipe(&sb, 1000, 11000, 3500, 1000), 7500);
    /* No SACK at all: pipe = FlightSize. */
    tcp_sack_sb_init(&sb);
    CHECK_EQ(tcp_sack_pipe(&sb, 1000, 11000, 1000, 1000), 10000);
}

/* EVIDENCE: RFC 6675 4 NextSeg() rules 1-5. */
static void
test_next_seg(void)
{
    struct tcp_sack_sb sb;
    uint32_t seq = 0, len = 0;
    board3(&sb);
    /* Rule 1: the lost hole [1000,2000). */
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 1000, 1000, true, false, &seq, &len),
             TCP_SACK_NEXT_LOST);
    CHECK_EQ(seq, 1000);
    CHECK_EQ(len, 1000);
    /* HighRxt past it: no lost hole left, so rule 2 when data is waiting... */
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 2000, 1000, true, false, &seq, &len),
             TCP_SACK_NEXT_NEW);
    /* ...rule 3 otherwise: the first hole above HighRxt below the highest
     * SACKed octet. */
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 2000, 1000, false, false, &seq, &len),
             TCP_SACK_NEXT_HOLE);
    CHECK_EQ(seq, 3000);
    CHECK_EQ(len, 1000);
    /* HighRxt inside a hole: start from it. */
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 3400, 1000, false, false, &seq, &len),
             TCP_SACK_NEXT_HOLE);
    CHECK_EQ(seq, 3400);
    CHECK_EQ(len, 600);
    /* Every hole below the highest SACK retransmitted: rule 4, one segment
     * ending at the highest unSACKed octet (10999), if allowed... */
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 7000, 1000, false, true, &seq, &len),
             TCP_SACK_NEXT_RESCUE);
    CHECK_EQ(seq, 10000);
    CHECK_EQ(len, 1000);
    /* ...else rule 5: nothing. */
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 7000, 1000, false, false, &seq, &len),
             TCP_SACK_NEXT_NONE);
    /* Several lost segments in one hole: one SMSS at a time. */
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block b = B(5000, 8000);
    tcp_sack_update(&sb, 1000, 11000, &b, 1);
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 1000, 1000, true, false, &seq, &len),
             TCP_SACK_NEXT_LOST);
    CHECK_EQ(seq, 1000);
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 2000, 1000, true, false, &seq, &len),
             TCP_SACK_NEXT_LOST);
    CHECK_EQ(seq, 2000);
    CHECK_EQ(len, 1000);
    /* Rescue when the last segment's tail is all that is unSACKed. */
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block c = B(1000, 10500);
    tcp_sack_update(&sb, 1000, 11000, &c, 1);
    CHECK_EQ(tcp_sack_next_seg(&sb, 1000, 11000, 1000, 1000, false, true, &seq, &len),
             TCP_SACK_NEXT_RESCUE);
    CHECK_EQ(seq, 10500);
    CHECK_EQ(len, 500);
}

/* EVIDENCE: RFC 2018 7 Case 2 seen by the sender (RFC 6675): the first of
 * eight 500-byte segments lost, the other seven SACKed. */
static void
test_sender_rfc2018_case2(void)
{
    struct tcp_sack_sb sb;
    uint32_t seq = 0, len = 0;
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block b = B(5500, 9000);
    CHECK_EQ(tcp_sack_update(&sb, 5000, 9000, &b, 1), 3500);
    CHECK(tcp_sack_is_lost(&sb, 5000, 500));
    CHECK_EQ(tcp_sack_pipe(&sb, 5000, 9000, 5000, 500), 0);
    CHECK_EQ(tcp_sack_next_seg(&sb, 5000, 9000, 5000, 500, false, false, &seq, &len),
             TCP_SACK_NEXT_LOST);
    CHECK_EQ(seq, 5000);
    CHECK_EQ(len, 500);
}

/* EVIDENCE: RFC 2018 7 Case 3 seen by the sender: segments 2, 4, 6, 8
 * lost; the ACK triggered by 8000 carries three blocks. */
static void
test_sender_rfc2018_case3(void)
{
    struct tcp_sack_sb sb;
    uint32_t seq = 0, len = 0;
    tcp_sack_sb_init(&sb);
    struct tcp_sack_block b[] = {B(8000, 8500), B(7000, 7500), B(6000, 6500)};
    CHECK_EQ(tcp_sack_update(&sb, 5500, 9000, b, 3), 1500);
    CHECK(tcp_sack_is_lost(&sb, 5500, 500));  /* 3 ranges above */
    CHECK(!tcp_sack_is_lost(&sb, 6500, 500)); /* 2 ranges, 1000 bytes */
    /* Holes: 5500 lost (0), 6500 and 7500 in flight, 8500 in flight. */
    CHECK_EQ(tcp_sack_pipe(&sb, 5500, 9000, 5500, 500), 1500);
    CHECK_EQ(tcp_sack_next_seg(&sb, 5500, 9000, 5500, 500, false, false, &seq, &len),
             TCP_SACK_NEXT_LOST);
    CHECK_EQ(seq, 5500);
    /* After retransmitting it (HighRxt = 6000): pipe + 500. */
    CHECK_EQ(tcp_sack_pipe(&sb, 5500, 9000, 6000, 500), 2000);
}

/* EVIDENCE: RFC 2018 7 Case 2 at the receiver: each later segment extends
 * the one block [5500, ...). */
static void
test_rcv_case2(void)
{
    struct tcp_sack_rcv rcv;
    struct tcp_sack_block out[TCP_SACK_MAX_BLOCKS];
    tcp_sack_rcv_init(&rcv);
    for (uint32_t s = 5500; s < 9000; s += 500) {
        tcp_sack_rcv_add(&rcv, s, s + 500);
        CHECK_EQ(tcp_sack_rcv_blocks(&rcv, out, 4), 1);
        CHECK_EQ(out[0].start, 5500);
        CHECK_EQ(out[0].end, s + 500);
    }
}

/* EVIDENCE: RFC 2018 4 and 7 Case 3: the first block holds the most recent
 * segment, the others follow most recent first; a late segment merges
 * blocks; RCV.NXT passing a block removes it. */
static void
test_rcv_case3(void)
{
    struct tcp_sack_rcv rcv;
    struct tcp_sack_block o[TCP_SACK_MAX_BLOCKS];
    tcp_sack_rcv_init(&rcv);
    /* 5000 arrives in order (RCV.NXT 5500): no blocks. */
    tcp_sack_rcv_advance(&rcv, 5500);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 0);
    tcp_sack_rcv_add(&rcv, 6000, 6500);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 1);
    CHECK_EQ(o[0].start, 6000);
    tcp_sack_rcv_add(&rcv, 7000, 7500);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 2);
    CHECK_EQ(o[0].start, 7000);
    CHECK_EQ(o[1].start, 6000);
    tcp_sack_rcv_add(&rcv, 8000, 8500);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 3);
    CHECK_EQ(o[0].start, 8000);
    CHECK_EQ(o[0].end, 8500);
    CHECK_EQ(o[1].start, 7000);
    CHECK_EQ(o[1].end, 7500);
    CHECK_EQ(o[2].start, 6000);
    CHECK_EQ(o[2].end, 6500);
    /* The 4th segment (6500) arrives: [6000, 7500) first, then [8000, 8500). */
    tcp_sack_rcv_add(&rcv, 6500, 7000);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 2);
    CHECK_EQ(o[0].start, 6000);
    CHECK_EQ(o[0].end, 7500);
    CHECK_EQ(o[1].start, 8000);
    CHECK_EQ(o[1].end, 8500);
    /* The 2nd segment (5500) arrives: ACK 7500, one block [8000, 8500). */
    tcp_sack_rcv_advance(&rcv, 7500);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 1);
    CHECK_EQ(o[0].start, 8000);
    CHECK_EQ(o[0].end, 8500);
}

/* EVIDENCE: RFC 2018 3-4: at most 4 blocks (3 beside timestamps); when more
 * ranges exist the oldest is not reported. Partial advance trims; the
 * reneging path (RFC 2018 8) stops reporting dropped data. */
static void
test_rcv_limits(void)
{
    struct tcp_sack_rcv rcv;
    struct tcp_sack_block o[TCP_SACK_MAX_BLOCKS];
    tcp_sack_rcv_init(&rcv);
    for (uint32_t i = 0; i < 5; i++)
        tcp_sack_rcv_add(&rcv, 2000 + 2000 * i, 3000 + 2000 * i);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 4);
    CHECK_EQ(o[0].start, 10000);
    CHECK_EQ(o[3].start, 4000); /* [2000, 3000) fell off */
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 3), 3);
    CHECK_EQ(o[2].start, 6000);
    /* RCV.NXT to 6500 trims [6000, 7000) and drops [4000, 5000). */
    tcp_sack_rcv_advance(&rcv, 6500);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 3);
    CHECK_EQ(o[2].start, 6500);
    CHECK_EQ(o[2].end, 7000);
    /* The queue dropped [10500, 11000) and all of [8000, 9000). */
    tcp_sack_rcv_forget(&rcv, 10500, 11000);
    tcp_sack_rcv_forget(&rcv, 8000, 9000);
    CHECK_EQ(tcp_sack_rcv_blocks(&rcv, o, 4), 2);
    CHECK_EQ(o[0].start, 10000);
    CHECK_EQ(o[0].end, 10500);
    CHECK_EQ(o[1].start, 6500);
    /* Empty or inverted ranges are ignored. */
    tcp_sack_rcv_add(&rcv, 20000, 20000);
    CHECK_EQ(rcv.n, 2);
}

int
main(void)
{
    RUN(test_update_merge);
    RUN(test_update_wrap);
    RUN(test_update_full);
    RUN(test_is_lost);
    RUN(test_pipe);
    RUN(test_next_seg);
    RUN(test_sender_rfc2018_case2);
    RUN(test_sender_rfc2018_case3);
    RUN(test_rcv_case2);
    RUN(test_rcv_case3);
    RUN(test_rcv_limits);
    return CHECK_DONE();
}
