/*
 * src/tcp/rack.c: RACK loss detection over transmission records
 * (RFC 8985 6). Read rack.h first: it gives the caller's contract and the
 * record approximation. All sequence comparisons go through seq.h; every
 * record lies in [SND.UNA, SND.MAX].
 */
#include "tcp/rack.h"

#include <string.h>

#include "tcp/seq.h"

void
tcp_rack_init(struct tcp_rack *rk)
{
    memset(rk, 0, sizeof(*rk));
    rk->reo_wnd_mult = 1;
}

void
tcp_rack_on_dsack(struct tcp_rack *rk, uint32_t snd_una, uint32_t snd_nxt)
{
    /* RFC 8985 6.2 step 4: the round that saw the last growth is over
     * once SND.UNA reaches its SND.NXT; one growth per round. */
    if (rk->dsack_round_set && seq_ge(snd_una, rk->dsack_round))
        rk->dsack_round_set = false;
    if (rk->dsack_round_set)
        return;
    rk->dsack_round_set = true;
    rk->dsack_round = snd_nxt;
    if (rk->reo_wnd_mult < UINT8_MAX)
        rk->reo_wnd_mult++;
    rk->reo_wnd_persist = 16;
}

void
tcp_rack_on_recovery_exit(struct tcp_rack *rk)
{
    /* RFC 8985 6.2 step 4: reset after 16 recoveries without D-SACK. */
    if (rk->reo_wnd_persist > 0)
        rk->reo_wnd_persist--;
    if (rk->reo_wnd_persist == 0)
        rk->reo_wnd_mult = 1;
}

/* Unsacked bytes of [s, e) in sb. */
static uint32_t
unsacked(const struct tcp_sack_sb *sb, uint32_t s, uint32_t e)
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

/* Merges the two neighbours whose times are closest (the later time and
 * both flags kept; LOST with LOST or unmarked with unmarked preferred, so
 * a loss mark is not spread to bytes that were not lost). */
static void
squeeze(struct tcp_rack *rk)
{
    int best = -1;
    int64_t gap = INT64_MAX;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (unsigned i = 0; i + 1 < rk->n; i++) {
            const struct tcp_rack_rec *a = &rk->r[i], *b = &rk->r[i + 1];
            if (pass == 0 && (a->flags & TCP_RACK_LOST) != (b->flags & TCP_RACK_LOST))
                continue;
            int64_t d = a->ts > b->ts ? a->ts - b->ts : b->ts - a->ts;
            if (d < gap) {
                gap = d;
                best = (int)i;
            }
        }
    }
    struct tcp_rack_rec *a = &rk->r[best], *b = &rk->r[best + 1];
    a->end = b->end;
    a->ts = a->ts > b->ts ? a->ts : b->ts;
    a->flags |= b->flags;
    memmove(b, b + 1, (size_t)(rk->n - best - 2) * sizeof(*b));
    rk->n--;
}

/* Inserts a record at index i (room made by squeezing first). Returns the
 * index the record ended at. */
static unsigned
insert_at(struct tcp_rack *rk, unsigned i, struct tcp_rack_rec rec)
{
    memmove(&rk->r[i + 1], &rk->r[i], (size_t)(rk->n - i) * sizeof(rk->r[0]));
    rk->r[i] = rec;
    rk->n++;
    return i;
}

/* Splits the record holding `seq` so that a record starts at seq. */
static void
split_at(struct tcp_rack *rk, uint32_t seq)
{
    for (unsigned i = 0; i < rk->n; i++) {
        struct tcp_rack_rec *r = &rk->r[i];
        if (seq_lt(r->start, seq) && seq_lt(seq, r->end)) {
            if (rk->n == TCP_RACK_REC_MAX)
                return; /* no room: the whole record takes the new time */
            struct tcp_rack_rec hi = *r;
            hi.start = seq;
            r->end = seq;
            insert_at(rk, i + 1, hi);
            return;
        }
    }
}

void
tcp_rack_on_send(struct tcp_rack *rk, uint32_t seq, uint32_t end, int64_t now)
{
    if (!seq_lt(seq, end))
        return;
    uint32_t top = rk->n ? rk->r[rk->n - 1].end : seq;
    if (seq_lt(seq, top)) {
        /* A retransmission of [seq, min(end, top)): those records take the
         * new time (RFC 8985 6.1: xmit_ts is the latest transmission). */
        uint32_t re = seq_lt(end, top) ? end : top;
        split_at(rk, seq);
        split_at(rk, re);
        for (unsigned i = 0; i < rk->n; i++) {
            struct tcp_rack_rec *r = &rk->r[i];
            if (seq_lt(r->start, re) && seq_gt(r->end, seq)) {
                r->ts = now;
                r->flags = TCP_RACK_RETRANS;
            }
        }
        if (!seq_lt(re, end))
            return;
        seq = re;
    }
    /* First transmission: joins the last record when sent at the same
     * time, else gets one of its own. */
    struct tcp_rack_rec *last = rk->n ? &rk->r[rk->n - 1] : NULL;
    if (last != NULL && last->ts == now && last->flags == 0 && last->end == seq) {
        last->end = end;
        return;
    }
    if (rk->n == TCP_RACK_REC_MAX)
        squeeze(rk);
    struct tcp_rack_rec rec = {.ts = now, .start = seq, .end = end, .flags = 0};
    insert_at(rk, rk->n, rec);
}

/* RFC 8985 6.1 RACK_sent_after(t1, seq1, t2, seq2). */
static bool
sent_after(int64_t t1, uint32_t seq1, int64_t t2, uint32_t seq2)
{
    return t1 > t2 || (t1 == t2 && seq_gt(seq1, seq2));
}

/* RFC 8985 6.2 step 1: a windowed minimum (rack.h). */
static void
min_rtt_sample(struct tcp_rack *rk, int64_t rtt, int64_t now)
{
    int64_t half = TCP_RACK_MIN_RTT_WIN_NS / 2;
    if (rk->min_cur == 0 || now - rk->min_start >= half) {
        /* A new half window; the one before counts only if it ended
         * less than half a window ago. */
        rk->min_prev = rk->min_cur != 0 && now - rk->min_start < 2 * half ? rk->min_cur : 0;
        rk->min_cur = rtt;
        rk->min_start = now;
    } else if (rtt < rk->min_cur) {
        rk->min_cur = rtt;
    }
    rk->min_rtt = rk->min_prev != 0 && rk->min_prev < rk->min_cur ? rk->min_prev : rk->min_cur;
}

void
tcp_rack_on_ack(struct tcp_rack *rk, const struct tcp_sack_sb *old_sb,
                const struct tcp_sack_sb *now_sb, uint32_t old_una, uint32_t new_una, int64_t now,
                int64_t echo_ns)
{
    /* 6.2 step 2 takes the delivered segments in order of sending: the
     * last one that passes its checks gives RACK.rtt. */
    bool seen = false;
    int64_t last_ts = 0;
    uint32_t last_end = 0;
    for (unsigned i = 0; i < rk->n; i++) {
        const struct tcp_rack_rec *r = &rk->r[i];
        /* Delivered now: cumulatively acknowledged by this ACK, or SACKed
         * now and not before. */
        uint32_t s = seq_max(r->start, old_una);
        if (!seq_lt(s, r->end) || unsacked(old_sb, s, r->end) == 0)
            continue;
        uint32_t cum_end = seq_lt(new_una, r->end) ? new_una : r->end;
        bool cum = seq_lt(s, cum_end);
        /* Newly: bytes not SACKed before that the cumulative ACK covers
         * now, or that are SACKed now (a block reported again delivers
         * nothing). */
        uint32_t fresh = cum ? unsacked(old_sb, s, cum_end) : 0;
        uint32_t hi = cum ? cum_end : s;
        if (seq_lt(hi, r->end))
            fresh += unsacked(old_sb, hi, r->end) - unsacked(now_sb, hi, r->end);
        if (fresh == 0)
            continue;
        /* dend: one past the highest byte of the record delivered now (a
         * record may hold several segments: this is Segment.end_seq). */
        uint32_t dend = cum ? cum_end : s;
        for (unsigned j = 0; j < now_sb->n; j++) {
            uint32_t a = seq_max(now_sb->r[j].start, s);
            uint32_t b = seq_lt(now_sb->r[j].end, r->end) ? now_sb->r[j].end : r->end;
            if (seq_lt(a, b) && seq_gt(b, dend))
                dend = b;
        }
        if (!seq_gt(dend, s))
            continue;
        bool rtx = (r->flags & TCP_RACK_RETRANS) != 0;
        int64_t rtt = now - r->ts;
        /* 6.2 step 3: delivery below RACK.fack of a segment never resent
         * means the network reordered. */
        if (!rk->fack_set || seq_gt(dend, rk->fack)) {
            rk->fack = dend;
            rk->fack_set = true;
        } else if (seq_lt(dend, rk->fack) && !rtx) {
            rk->reordering_seen = true;
        }
        /* 6.2 step 2: a retransmission is ignored when the ACK echoes a
         * TSval sent before it (condition 1) or came sooner than min_RTT
         * after it (condition 2): either says the original arrived. The
         * echo speaks of this segment only when the segment advanced the
         * left edge (RFC 7323 4.3 case C echoes the hole filler's TSval);
         * a segment SACKed above a hole is answered with the TSval of the
         * last one that advanced it (case B), which says nothing of it. */
        bool edge = cum && s == old_una;
        if (rtx && ((edge && echo_ns < r->ts) || (rk->min_rtt > 0 && rtt < rk->min_rtt)))
            continue;
        if (rtt > 0)
            min_rtt_sample(rk, rtt, now);
        if (!seen || sent_after(r->ts, dend, last_ts, last_end)) {
            seen = true;
            last_ts = r->ts;
            last_end = dend;
        }
    }
    if (seen) {
        /* RACK.rtt from the latest-sent segment this ACK delivered, even
         * one sent before RACK.xmit_ts (a late delivery); RACK.xmit_ts and
         * end_seq only move forward. */
        rk->rtt = now - last_ts;
        if (!rk->have || sent_after(last_ts, last_end, rk->xmit_ts, rk->end_seq)) {
            rk->have = true;
            rk->xmit_ts = last_ts;
            rk->end_seq = last_end;
        }
    }
    /* Records the cumulative ACK covers are done with. */
    unsigned k = 0;
    for (unsigned i = 0; i < rk->n; i++) {
        struct tcp_rack_rec r = rk->r[i];
        if (seq_le(r.end, new_una))
            continue;
        if (seq_lt(r.start, new_una))
            r.start = new_una;
        rk->r[k++] = r;
    }
    rk->n = (uint8_t)k;
    /* 6.2 step 4: RTO recovery ends once everything sent before the
     * timeout is acknowledged; it counts as a recovery for the window. */
    if (rk->in_rto && seq_ge(new_una, rk->rto_end)) {
        rk->in_rto = false;
        tcp_rack_on_recovery_exit(rk);
    }
}

int64_t
tcp_rack_reo_wnd(const struct tcp_rack *rk, bool in_recovery, uint32_t sacked_segs, int64_t srtt)
{
    /* RFC 8985 6.2 step 4: without reordering seen, a recovery or
     * DupThresh SACKed segments make the window 0 (as fast as DupThresh). */
    if (!rk->reordering_seen && (in_recovery || rk->in_rto || sacked_segs >= TCP_SACK_DUPTHRESH))
        return 0;
    /* 6.2 step 4: min_RTT/4 times the D-SACK-driven multiplier. */
    int64_t w = rk->reo_wnd_mult * (rk->min_rtt / 4);
    return srtt > 0 && w > srtt ? srtt : w;
}

unsigned
tcp_rack_detect(struct tcp_rack *rk, const struct tcp_sack_sb *sb, uint32_t snd_una,
                int64_t reo_wnd, int64_t now, int64_t *timeout, unsigned *rtx_marked)
{
    unsigned marked = 0, rtx = 0;
    *timeout = 0;
    if (rtx_marked != NULL)
        *rtx_marked = 0;
    if (!rk->have)
        return 0;
    /* A record sent at RACK.xmit_ts holds segments sent in sequence order
     * at that instant: the ones below RACK.end_seq count as sent before it
     * (6.2 step 2's tie-break on end_seq), so the record is cut there. */
    for (unsigned i = 0; i < rk->n; i++) {
        const struct tcp_rack_rec *r = &rk->r[i];
        if (r->ts == rk->xmit_ts && seq_lt(r->start, rk->end_seq) && seq_lt(rk->end_seq, r->end)) {
            split_at(rk, rk->end_seq);
            break;
        }
    }
    for (unsigned i = 0; i < rk->n; i++) {
        struct tcp_rack_rec *r = &rk->r[i];
        uint32_t s = seq_max(r->start, snd_una);
        if ((r->flags & TCP_RACK_LOST) || !seq_lt(s, r->end) || unsacked(sb, s, r->end) == 0)
            continue;
        /* 6.2 step 5: only segments sent before the latest delivered one
         * (at the same instant: those below it). */
        bool before = r->ts < rk->xmit_ts || (r->ts == rk->xmit_ts && seq_le(r->end, rk->end_seq));
        if (!before)
            continue;
        int64_t remaining = r->ts + rk->rtt + reo_wnd - now;
        if (remaining <= 0) {
            r->flags |= TCP_RACK_LOST;
            marked++;
            rtx += (r->flags & TCP_RACK_RETRANS) ? 1u : 0u;
        } else if (remaining > *timeout) {
            *timeout = remaining;
        }
    }
    if (rtx_marked != NULL)
        *rtx_marked = rtx;
    return marked;
}

uint32_t
tcp_rack_lost_bytes(const struct tcp_rack *rk, const struct tcp_sack_sb *sb, uint32_t snd_una)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < rk->n; i++) {
        const struct tcp_rack_rec *r = &rk->r[i];
        uint32_t s = seq_max(r->start, snd_una);
        if ((r->flags & TCP_RACK_LOST) && seq_lt(s, r->end))
            n += unsacked(sb, s, r->end);
    }
    return n;
}

bool
tcp_rack_next_lost(const struct tcp_rack *rk, const struct tcp_sack_sb *sb, uint32_t snd_una,
                   uint32_t mss, uint32_t *seq, uint32_t *len)
{
    for (unsigned i = 0; i < rk->n; i++) {
        const struct tcp_rack_rec *r = &rk->r[i];
        if (!(r->flags & TCP_RACK_LOST))
            continue;
        uint32_t a = seq_max(r->start, snd_una);
        /* Walk past SACKed ranges (sorted) to the first unSACKed byte. */
        for (unsigned j = 0; j < sb->n && seq_lt(a, r->end); j++) {
            if (seq_le(sb->r[j].start, a) && seq_lt(a, sb->r[j].end))
                a = sb->r[j].end;
        }
        if (!seq_lt(a, r->end))
            continue;
        uint32_t b = r->end;
        for (unsigned j = 0; j < sb->n; j++) {
            if (seq_gt(sb->r[j].start, a) && seq_lt(sb->r[j].start, b))
                b = sb->r[j].start;
        }
        *seq = a;
        *len = b - a < mss ? b - a : mss;
        return true;
    }
    return false;
}

void
tcp_rack_clear_lost(struct tcp_rack *rk)
{
    for (unsigned i = 0; i < rk->n; i++)
        rk->r[i].flags &= ~(uint32_t)TCP_RACK_LOST;
    /* 6.2 step 4: RTO recovery, until SND.UNA passes the highest sequence
     * sent (the end of the last record). */
    if (rk->n > 0) {
        rk->in_rto = true;
        rk->rto_end = rk->r[rk->n - 1].end;
    }
}
