/*
 * src/tcp/sack.h: selective acknowledgments, both ends.
 *
 * Read first: RFC 2018 (the option; 3 format, 4 receiver behaviour, 5
 * sender behaviour, 8 reneging), RFC 6675 (the sender's scoreboard, IsLost,
 * SetPipe, NextSeg, the recovery algorithm of section 5).
 *
 * Pure code over fixed-size arrays: no allocation, no clock, no trace.
 * Sequence numbers are modulo 2^32 (seq.h); every range is half-open
 * [start, end), exactly as a SACK block's Left Edge / Right Edge (RFC 2018
 * 3: the right edge is the sequence number just past the block).
 *
 * SENDER (struct tcp_sack_sb, the RFC 6675 scoreboard)
 *
 * Holds up to TCP_SACK_SB_MAX disjoint, non-adjacent SACKed ranges above
 * SND.UNA, sorted. When full, the range highest in sequence space is
 * forgotten: that only makes the sender more conservative (RFC 2018 5:
 * SACK information is advisory; RFC 6675 never needs every range).
 *
 * The caller (input.c):
 *   - on every ACK carrying SACK blocks, after parsing, calls
 *     tcp_sack_update(sb, SND.UNA after this ACK, SND.MAX, blocks, n); it
 *     prunes below SND.UNA, drops blocks that are outside (SND.UNA,
 *     SND.MAX] (D-SACK blocks of RFC 2883 and bogus ones), merges the rest,
 *     and returns how many bytes became newly SACKed (> 0 makes the ACK a
 *     "duplicate ACK" in the RFC 6675 2 sense when SND.UNA did not move);
 *   - on an ACK without SACK blocks that advances SND.UNA, calls
 *     tcp_sack_update(sb, SND.UNA, SND.MAX, NULL, 0) to prune;
 *   - keeps HighRxt as an exclusive bound: every byte below it in [SND.UNA,
 *     HighRxt) was retransmitted in this recovery; RFC 6675 4.3 starts it at
 *     the end of the first retransmission; outside recovery pass SND.UNA;
 *   - in recovery (RFC 6675 5 step 4.4 / C): while cwnd - pipe >= SMSS,
 *     calls tcp_sack_pipe() then tcp_sack_next_seg(), sends what it names,
 *     and advances HighRxt for retransmissions (RFC 6675 5 step C.2);
 *   - on RTO (RFC 6675 5.1) may keep the scoreboard, or clear it with
 *     tcp_sack_sb_init() if it chooses to ignore SACKs after a timeout;
 *   - RFC 2018 8 (reneging): the data of a SACKed range is kept in the
 *     retransmission queue until SND.UNA passes it.
 *
 * RECEIVER (struct tcp_sack_rcv, RFC 2018 4)
 *
 * Remembers the SACK blocks to report, the most recently changed first.
 * The caller calls tcp_sack_rcv_add() for each segment queued out of order
 * (with the segment's own range), tcp_sack_rcv_advance() whenever RCV.NXT
 * moves, and tcp_sack_rcv_blocks() when building any ACK (RFC 2018 4: up
 * to 4 blocks, 3 when the 10-byte timestamps option is present, since the
 * option space is 40 bytes). If the out-of-order queue throws data away
 * (bounded memory), it calls tcp_sack_rcv_forget() for that range.
 */
#ifndef TERN_TCP_SACK_H
#define TERN_TCP_SACK_H

#include <stdbool.h>
#include <stdint.h>

/* Ranges the sender keeps per connection. */
#define TCP_SACK_SB_MAX 8
/* RFC 2018 3: at most 4 blocks fit in 40 bytes of options. */
#define TCP_SACK_MAX_BLOCKS 4
/* RFC 6675 2: DupThresh. */
#define TCP_SACK_DUPTHRESH 3u

/* One SACK block, [start, end), host order. */
struct tcp_sack_block {
    uint32_t start; /* Left Edge */
    uint32_t end;   /* Right Edge: first byte after the block */
};

/* ---- sender: the scoreboard ---- */

struct tcp_sack_sb {
    struct tcp_sack_block r[TCP_SACK_SB_MAX]; /* sorted, disjoint, non-adjacent */
    uint8_t n;                                /* ranges in use */
};

/* Empty scoreboard. */
void tcp_sack_sb_init(struct tcp_sack_sb *sb);

/* Prunes what SND.UNA covers and merges `n` received blocks (borrowed;
 * NULL when n is 0). Blocks with end <= start, with start before snd_una,
 * or past snd_max are ignored. Returns the number of newly SACKed bytes. */
uint32_t tcp_sack_update(struct tcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_max,
                         const struct tcp_sack_block *blocks, unsigned n);

/* True when byte `seq` is SACKed. */
bool tcp_sack_is_sacked(const struct tcp_sack_sb *sb, uint32_t seq);

/* RFC 6675 4 IsLost(seq): DupThresh discontiguous SACKed ranges lie above
 * seq, or more than (DupThresh - 1) * mss SACKed bytes do. */
bool tcp_sack_is_lost(const struct tcp_sack_sb *sb, uint32_t seq, uint32_t mss);

/* One past the highest SACKed byte (the right edge of the highest range);
 * snd_una when the scoreboard is empty. */
uint32_t tcp_sack_high_sacked(const struct tcp_sack_sb *sb, uint32_t snd_una);

/* Total bytes SACKed above snd_una. */
uint32_t tcp_sack_sacked_bytes(const struct tcp_sack_sb *sb);

/* RFC 6675 4 SetPipe, in bytes: over every unSACKed byte of [snd_una,
 * snd_nxt), count it once if not IsLost, and once more if it lies below
 * high_rxt (retransmitted). */
uint32_t tcp_sack_pipe(const struct tcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_nxt,
                       uint32_t high_rxt, uint32_t mss);

enum tcp_sack_next {
    TCP_SACK_NEXT_NONE,   /* nothing may be sent now */
    TCP_SACK_NEXT_LOST,   /* rule 1: retransmit a lost hole */
    TCP_SACK_NEXT_NEW,    /* rule 2: send new data from SND.NXT */
    TCP_SACK_NEXT_HOLE,   /* rule 3: retransmit a hole not yet deemed lost */
    TCP_SACK_NEXT_RESCUE, /* rule 4: the rescue retransmission */
};

/* RFC 6675 4 NextSeg(). Fills *seq and *len (<= mss) for LOST, HOLE and
 * RESCUE; for NEW the caller sends up to one SMSS from SND.NXT as usual.
 * `new_data_ok` says whether unsent data exists and the receive window
 * admits it (rule 2). Rule 4 (the rescue retransmission) is offered only
 * when `rescue_ok`: the caller passes true when RescueRxt is undefined or
 * HighACK (SND.UNA - 1) is above it, and on RESCUE sets RescueRxt =
 * RecoveryPoint and leaves HighRxt alone; entering recovery it sets
 * RescueRxt to the last octet of the fast retransmission (RFC 6675 5
 * step 4.3), so at most one rescue goes out per recovery. snd_nxt here is HighData + 1 (SND.MAX).
 */
enum tcp_sack_next tcp_sack_next_seg(const struct tcp_sack_sb *sb, uint32_t snd_una,
                                     uint32_t snd_nxt, uint32_t high_rxt, uint32_t mss,
                                     bool new_data_ok, bool rescue_ok, uint32_t *seq,
                                     uint32_t *len);

/* RFC 2883 4: the first of `n` received blocks reports a duplicate
 * (D-SACK) when it lies wholly at or below the cumulative ACK `ack`, or
 * inside the second block. The caller counts it and keeps it off the
 * scoreboard; the other blocks are ordinary SACK blocks. */
bool tcp_sack_first_is_dsack(const struct tcp_sack_block *blocks, unsigned n, uint32_t ack);

/* ---- receiver: the blocks to send ---- */

struct tcp_sack_rcv {
    struct tcp_sack_block b[TCP_SACK_MAX_BLOCKS]; /* b[0] most recent */
    uint8_t n;
};

/* No blocks. */
void tcp_sack_rcv_init(struct tcp_sack_rcv *rcv);

/* A segment [start, end) was queued out of order (above RCV.NXT). Merges it
 * with every block it overlaps or touches and moves the result first
 * (RFC 2018 4: the first block holds the most recent segment). When full,
 * the oldest block is dropped. */
void tcp_sack_rcv_add(struct tcp_sack_rcv *rcv, uint32_t start, uint32_t end);

/* RCV.NXT moved to rcv_nxt: removes or trims blocks it covers (RFC 2018 4:
 * never report data at or below RCV.NXT). */
void tcp_sack_rcv_advance(struct tcp_sack_rcv *rcv, uint32_t rcv_nxt);

/* The out-of-order queue dropped [start, end): stop reporting it. */
void tcp_sack_rcv_forget(struct tcp_sack_rcv *rcv, uint32_t start, uint32_t end);

/* Copies up to `max` blocks (most recent first) into `out`; returns how many.
 * max is 4, or 3 when the segment carries timestamps. */
unsigned tcp_sack_rcv_blocks(const struct tcp_sack_rcv *rcv, struct tcp_sack_block *out,
                             unsigned max);

#endif
