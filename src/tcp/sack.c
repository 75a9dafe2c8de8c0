/*
 * src/tcp/sack.c: the RFC 6675 sender scoreboard and the RFC 2018
 * receiver's block list.
 *
 * Read before editing: sack.h (the caller's contract), RFC 2018 3-5 and 8,
 * RFC 6675 2 and 4. The scoreboard works over byte ranges, as RFC 6675 3
 * allows: it never knows segment boundaries. All comparisons go through
 * seq.h; every range in the scoreboard lies in [SND.UNA, SND.MAX], so the
 * modulo-2^32 order is well defined.
 */
#include "tcp/sack.h"

#include <stddef.h>
#include <string.h>

#include "tcp/seq.h"

/* ---- sender ---- */

void
tcp_sack_sb_init(struct tcp_sack_sb *sb)
{
    memset(sb, 0, sizeof(*sb));
}

/* Drops or trims every range below snd_una: the cumulative ACK covers it
 * (RFC 6675 4 Update()). */
static void
sb_prune(struct tcp_sack_sb *sb, uint32_t snd_una)
{
    unsigned k = 0;
    for (unsigned i = 0; i < sb->n; i++) {
        struct tcp_sack_block r = sb->r[i];
        if (seq_le(r.end, snd_una))
            continue;
        if (seq_lt(r.start, snd_una))
            r.start = snd_una;
        sb->r[k++] = r;
    }
    sb->n = (uint8_t)k;
}

/* Bytes of [s, e) no range covers yet. */
static uint32_t
sb_uncovered(const struct tcp_sack_sb *sb, uint32_t s, uint32_t e)
{
    uint32_t len = e - s;
    for (unsigned i = 0; i < sb->n; i++) {
        uint32_t a = seq_max(sb->r[i].start, s);
        uint32_t b = seq_lt(sb->r[i].end, e) ? sb->r[i].end : e;
        if (seq_lt(a, b))
            len -= b - a;
    }
    return len;
}

/* Merges [s, e) into the sorted list; when the list overflows the highest
 * range is forgotten (RFC 2018 5: SACK information is advisory). */
static void
sb_insert(struct tcp_sack_sb *sb, uint32_t s, uint32_t e)
{
    struct tcp_sack_block out[TCP_SACK_SB_MAX + 1];
    unsigned k = 0, i = 0;
    while (i < sb->n && seq_lt(sb->r[i].end, s))
        out[k++] = sb->r[i++];
    /* Every range that overlaps or touches [s, e) joins it. */
    while (i < sb->n && seq_le(sb->r[i].start, e)) {
        if (seq_lt(sb->r[i].start, s))
            s = sb->r[i].start;
        if (seq_gt(sb->r[i].end, e))
            e = sb->r[i].end;
        i++;
    }
    out[k].start = s;
    out[k++].end = e;
    while (i < sb->n)
        out[k++] = sb->r[i++];
    if (k > TCP_SACK_SB_MAX)
        k = TCP_SACK_SB_MAX;
    memcpy(sb->r, out, k * sizeof(out[0]));
    sb->n = (uint8_t)k;
}

uint32_t
tcp_sack_update(struct tcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_max,
                const struct tcp_sack_block *blocks, unsigned n)
{
    uint32_t newly = 0;
    sb_prune(sb, snd_una);
    for (unsigned i = 0; i < n; i++) {
        uint32_t s = blocks[i].start, e = blocks[i].end;
        /* RFC 2018 4 / RFC 2883: a block at or below the cumulative ACK
         * (a D-SACK) or past what was sent tells the scoreboard nothing. */
        if (!seq_lt(s, e) || seq_le(e, snd_una) || seq_gt(e, snd_max))
            continue;
        if (seq_lt(s, snd_una))
            s = snd_una;
        newly += sb_uncovered(sb, s, e);
        sb_insert(sb, s, e);
    }
    return newly;
}

bool
tcp_sack_is_sacked(const struct tcp_sack_sb *sb, uint32_t seq)
{
    for (unsigned i = 0; i < sb->n; i++)
        if (seq_in_range(seq, sb->r[i].start, sb->r[i].end))
            return true;
    return false;
}

bool
tcp_sack_is_lost(const struct tcp_sack_sb *sb, uint32_t seq, uint32_t mss)
{
    /* RFC 6675 4 IsLost(): DupThresh discontiguous SACKed ranges above seq,
     * or more than (DupThresh - 1) * SMSS SACKed bytes above it. */
    uint64_t bytes = 0;
    unsigned ranges = 0;
    for (unsigned i = sb->n; i-- > 0;) {
        const struct tcp_sack_block *r = &sb->r[i];
        if (!seq_gt(r->end - 1, seq))
            break;
        uint32_t from = seq_gt(r->start, seq) ? r->start : seq + 1;
        bytes += r->end - from;
        ranges++;
    }
    return ranges >= TCP_SACK_DUPTHRESH || bytes > (uint64_t)(TCP_SACK_DUPTHRESH - 1) * mss;
}

uint32_t
tcp_sack_high_sacked(const struct tcp_sack_sb *sb, uint32_t snd_una)
{
    return sb->n ? sb->r[sb->n - 1].end : snd_una;
}

uint32_t
tcp_sack_sacked_bytes(const struct tcp_sack_sb *sb)
{
    uint32_t total = 0;
    for (unsigned i = 0; i < sb->n; i++)
        total += sb->r[i].end - sb->r[i].start;
    return total;
}

/* The i-th hole: the unSACKed bytes below range i (i == n: above the last
 * range, up to snd_nxt), clipped to [snd_una, snd_nxt). False if empty. */
static bool
sb_hole(const struct tcp_sack_sb *sb, unsigned i, uint32_t snd_una, uint32_t snd_nxt, uint32_t *a,
        uint32_t *b)
{
    uint32_t lo = i == 0 ? snd_una : sb->r[i - 1].end;
    uint32_t hi = i == sb->n ? snd_nxt : sb->r[i].start;
    if (seq_lt(lo, snd_una))
        lo = snd_una;
    if (seq_gt(hi, snd_nxt))
        hi = snd_nxt;
    *a = lo;
    *b = hi;
    return seq_lt(lo, hi);
}

uint32_t
tcp_sack_pipe(const struct tcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_nxt, uint32_t high_rxt,
              uint32_t mss)
{
    /* RFC 6675 4 SetPipe(), per unSACKed byte S1 in [HighACK, HighData]:
     * (a) +1 unless IsLost(S1); (b) +1 if S1 was retransmitted. Every
     * byte of one hole has the same SACKed bytes above it, so IsLost is
     * decided once per hole. */
    uint32_t pipe = 0;
    for (unsigned i = 0; i <= sb->n; i++) {
        uint32_t a, b;
        if (!sb_hole(sb, i, snd_una, snd_nxt, &a, &b))
            continue;
        if (!tcp_sack_is_lost(sb, a, mss))
            pipe += b - a;
        uint32_t rb = seq_lt(high_rxt, b) ? high_rxt : b;
        if (seq_lt(a, rb))
            pipe += rb - a;
    }
    return pipe;
}

/* Rules 1 and 3 of NextSeg(): the first unSACKed byte at or above high_rxt
 * and below the highest SACKed byte, lost (rule 1) or not (rule 3). */
static bool
find_hole(const struct tcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_nxt, uint32_t high_rxt,
          uint32_t mss, bool need_lost, uint32_t *seq, uint32_t *len)
{
    for (unsigned i = 0; i < sb->n; i++) {
        uint32_t a, b;
        if (!sb_hole(sb, i, snd_una, snd_nxt, &a, &b))
            continue;
        if (seq_lt(a, high_rxt))
            a = high_rxt;
        if (!seq_lt(a, b))
            continue;
        if (need_lost && !tcp_sack_is_lost(sb, a, mss))
            continue;
        *seq = a;
        *len = b - a < mss ? b - a : mss;
        return true;
    }
    return false;
}

enum tcp_sack_next
tcp_sack_next_seg(const struct tcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_nxt,
                  uint32_t high_rxt, uint32_t mss, bool new_data_ok, bool rescue_ok, uint32_t *seq,
                  uint32_t *len)
{
    if (seq_lt(high_rxt, snd_una))
        high_rxt = snd_una;
    /* Rule 1: the first lost hole above HighRxt. */
    if (find_hole(sb, snd_una, snd_nxt, high_rxt, mss, true, seq, len))
        return TCP_SACK_NEXT_LOST;
    /* Rule 2: previously unsent data, if there is some and rwnd allows. */
    if (new_data_ok)
        return TCP_SACK_NEXT_NEW;
    /* Rule 3: a hole above HighRxt not yet deemed lost. */
    if (find_hole(sb, snd_una, snd_nxt, high_rxt, mss, false, seq, len))
        return TCP_SACK_NEXT_HOLE;
    /* Rule 4: one rescue retransmission per recovery, ending at the highest
     * unSACKed byte outstanding. */
    if (!rescue_ok)
        return TCP_SACK_NEXT_NONE;
    for (unsigned i = sb->n + 1; i-- > 0;) {
        uint32_t a, b;
        if (!sb_hole(sb, i, snd_una, snd_nxt, &a, &b))
            continue;
        uint32_t l = b - a < mss ? b - a : mss;
        *seq = b - l;
        *len = l;
        return TCP_SACK_NEXT_RESCUE;
    }
    /* Rule 5: nothing to send. */
    return TCP_SACK_NEXT_NONE;
}

/* ---- receiver ---- */

void
tcp_sack_rcv_init(struct tcp_sack_rcv *rcv)
{
    memset(rcv, 0, sizeof(*rcv));
}

void
tcp_sack_rcv_add(struct tcp_sack_rcv *rcv, uint32_t start, uint32_t end)
{
    if (!seq_lt(start, end))
        return;
    struct tcp_sack_block keep[TCP_SACK_MAX_BLOCKS];
    unsigned k = 0;
    /* Blocks the segment overlaps or touches merge into one contiguous
     * block (RFC 2018 3: a block is a contiguous run of received data). */
    for (unsigned i = 0; i < rcv->n; i++) {
        struct tcp_sack_block b = rcv->b[i];
        if (seq_le(b.start, end) && seq_ge(b.end, start)) {
            if (seq_lt(b.start, start))
                start = b.start;
            if (seq_gt(b.end, end))
                end = b.end;
        } else {
            keep[k++] = b;
        }
    }
    /* RFC 2018 4: the block holding the newest segment goes first; the rest
     * keep their order, most recent first; the oldest falls off. */
    rcv->b[0].start = start;
    rcv->b[0].end = end;
    if (k > TCP_SACK_MAX_BLOCKS - 1)
        k = TCP_SACK_MAX_BLOCKS - 1;
    memcpy(&rcv->b[1], keep, k * sizeof(keep[0]));
    rcv->n = (uint8_t)(k + 1);
}

void
tcp_sack_rcv_advance(struct tcp_sack_rcv *rcv, uint32_t rcv_nxt)
{
    /* RFC 2018 4: report only data above RCV.NXT. */
    unsigned k = 0;
    for (unsigned i = 0; i < rcv->n; i++) {
        struct tcp_sack_block b = rcv->b[i];
        if (seq_le(b.end, rcv_nxt))
            continue;
        if (seq_lt(b.start, rcv_nxt))
            b.start = rcv_nxt;
        rcv->b[k++] = b;
    }
    rcv->n = (uint8_t)k;
}

void
tcp_sack_rcv_forget(struct tcp_sack_rcv *rcv, uint32_t start, uint32_t end)
{
    /* RFC 2018 8: a receiver that discards queued data stops reporting it.
     * A block cut in the middle keeps its lower part (the data queued
     * out of order is usually dropped from the top). */
    if (!seq_lt(start, end))
        return;
    unsigned k = 0;
    for (unsigned i = 0; i < rcv->n; i++) {
        struct tcp_sack_block b = rcv->b[i];
        if (seq_le(b.end, start) || seq_ge(b.start, end)) {
            rcv->b[k++] = b;
            continue;
        }
        if (seq_lt(b.start, start))
            b.end = start;
        else if (seq_gt(b.end, end))
            b.start = end;
        else
            continue;
        rcv->b[k++] = b;
    }
    rcv->n = (uint8_t)k;
}

unsigned
tcp_sack_rcv_blocks(const struct tcp_sack_rcv *rcv, struct tcp_sack_block *out, unsigned max)
{
    unsigned n = rcv->n < max ? rcv->n : max;
    memcpy(out, rcv->b, n * sizeof(out[0]));
    return n;
}

bool
tcp_sack_first_is_dsack(const struct tcp_sack_block *blocks, unsigned n, uint32_t ack)
{
    if (n == 0 || !seq_lt(blocks[0].start, blocks[0].end)) {
        return false;
    }
    /* 4 (first case): data already covered by the cumulative ACK. */
    if (seq_le(blocks[0].end, ack)) {
        return true;
    }
    /* 4 (second case): a duplicate of data held out of order, which the
     * receiver reports inside the block that holds it. */
    return n >= 2 && seq_le(blocks[1].start, blocks[0].start) &&
           seq_le(blocks[0].end, blocks[1].end);
}
