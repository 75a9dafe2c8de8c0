/*
 * src/tcp/rack.h: RACK, time-based loss detection (RFC 8985 6).
 *
 * Read first: RFC 8985 2-6 (the idea: a segment is lost once a segment
 * sent sufficiently later has been delivered; "sufficiently" is the
 * reordering window reo_wnd), then sack.h (the scoreboard RACK reads).
 *
 * Pure code over a fixed-size array: no allocation, no clock (the caller
 * passes the time), no trace.
 *
 * Transmission records. RFC 8985 keeps Segment.xmit_ts per segment; to
 * keep a connection's memory bounded this module keeps at most
 * TCP_RACK_REC_MAX records, each a sequence range [start, end) sent (or
 * last resent) at one time. Segments sent at the same instant share a
 * record; when the array is full the two neighbours with the closest
 * send times are merged, keeping the later time (a merged record can only
 * be declared lost later than its oldest byte would be, never earlier).
 * A record is RETRANS when its time is that of a retransmission, LOST
 * when RACK marked it lost and it has not been resent since.
 *
 * The caller (input.c, output.c, timer.c), with SACK agreed and
 * cfg.tcp.loss_detection == TERN_TCP_LOSS_RACK:
 *   - on every segment carrying text sent, tcp_rack_on_send(); a range
 *     below the highest sent is a retransmission;
 *   - on every ACK, tcp_rack_on_ack() with the scoreboard as it was before
 *     the ACK and as it is after (RFC 8985 6.2 steps 1-3), then
 *     tcp_rack_detect() (steps 4-5), which marks records lost and gives
 *     the reordering timer's delay (6.2 step 5, 6.3);
 *   - in recovery, retransmits tcp_rack_next_lost() while cwnd allows,
 *     counting pipe as in flight - SACKed - tcp_rack_lost_bytes();
 *   - on RTO, tcp_rack_clear_lost() (everything is resent anyway).
 */
#ifndef TERN_TCP_RACK_H
#define TERN_TCP_RACK_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/sack.h"

#define TCP_RACK_REC_MAX 48

/* RFC 8985 6.2 step 1: min_RTT is the smallest RTT of the last
 * TCP_RACK_MIN_RTT_WIN_NS at most (our choice: Linux's default window,
 * 300 s), so that it follows a path that got longer. Kept as two
 * half-window buckets: the minimum is over the samples of the last half
 * window to whole window. */
#define TCP_RACK_MIN_RTT_WIN_NS (300LL * 1000000000LL)

enum {
    TCP_RACK_RETRANS = 1u << 0, /* ts is a retransmission's time */
    TCP_RACK_LOST = 1u << 1,    /* marked lost, not resent since */
};

struct tcp_rack_rec {
    int64_t ts;     /* Segment.xmit_ts of every byte of the record */
    uint32_t start; /* [start, end) */
    uint32_t end;
    uint32_t flags; /* TCP_RACK_* */
};

struct tcp_rack {
    struct tcp_rack_rec r[TCP_RACK_REC_MAX]; /* sorted by sequence, disjoint */
    int64_t xmit_ts;   /* RACK.xmit_ts: latest send time of a delivered segment */
    int64_t rtt;       /* RACK.rtt: the RTT of that delivery */
    int64_t min_rtt;   /* RACK.min_RTT: windowed minimum RTT (0: none yet) */
    int64_t min_cur;   /* smallest sample of the current half window (0: none) */
    int64_t min_prev;  /* of the half window before it (0: none) */
    int64_t min_start; /* when the current half window began */
    uint32_t end_seq;  /* RACK.end_seq */
    uint32_t fack;     /* RACK.fack: highest end of a delivered segment */
    uint8_t n;         /* records in use */
    bool have;         /* xmit_ts / end_seq / rtt valid */
    bool fack_set;
    bool reordering_seen;    /* RACK.reordering_seen (6.2 step 3) */
    bool dsack_round_set;    /* RACK.dsack_round is not None */
    uint8_t reo_wnd_mult;    /* RACK.reo_wnd_mult (6.2 step 4), 1 after init */
    uint8_t reo_wnd_persist; /* RACK.reo_wnd_persist: recoveries left before mult resets */
    uint32_t dsack_round;    /* RACK.dsack_round: SND.NXT when the window last grew */
    bool in_rto;             /* RTO recovery (6.2 step 4), until SND.UNA passes rto_end */
    uint32_t rto_end;        /* the highest sequence sent when the RTO fired */
};

void tcp_rack_init(struct tcp_rack *rk);

/* RFC 8985 6.2 step 4, the D-SACK half: the latest ACK carried a D-SACK.
 * The reordering window grows by min_RTT/4 at most once per round trip
 * (a round ends when SND.UNA passes the SND.NXT of the last growth). */
void tcp_rack_on_dsack(struct tcp_rack *rk, uint32_t snd_una, uint32_t snd_nxt);
/* RFC 8985 6.2 step 4: a recovery ended; after 16 in a row without a
 * D-SACK-driven growth the window is back to min_RTT/4. */
void tcp_rack_on_recovery_exit(struct tcp_rack *rk);

/* Text [seq, end) went out at `now`. Bytes above every record are a first
 * transmission; bytes already recorded are a retransmission (their record
 * becomes RETRANS, not LOST, with time now). */
void tcp_rack_on_send(struct tcp_rack *rk, uint32_t seq, uint32_t end, int64_t now);

/* RFC 8985 6.2 steps 1-3 for one ACK: the bytes delivered by it are those
 * in [old_una, new_una) or SACKed in `now_sb`, not SACKed in `old_sb`.
 * Updates min_RTT, RACK.fack and reordering_seen; RACK.rtt from the
 * latest-sent delivered record, RACK.xmit_ts / end_seq if that was sent
 * after the current ones. A retransmitted record counts only if the ACK
 * answers the retransmission (it might be the original that arrived):
 * its RTT is at least min_RTT, and, for the segment at the old SND.UNA
 * that this ACK cumulatively acknowledges (the one whose TSval the peer
 * echoes, RFC 7323 4.3), the ACK's TSecr is not older than the
 * retransmission's TSval. `echo_ns` says the latter: the latest send time
 * the echoed TSval stands for (the end of its clock tick), INT64_MAX when
 * the ACK carries no timestamp. Records below new_una are then forgotten;
 * SND.UNA reaching the end of an RTO recovery ends it (6.2 step 4). */
void tcp_rack_on_ack(struct tcp_rack *rk, const struct tcp_sack_sb *old_sb,
                     const struct tcp_sack_sb *now_sb, uint32_t old_una, uint32_t new_una,
                     int64_t now, int64_t echo_ns);

/* RFC 8985 6.2 step 4: the reordering window. 0 when no reordering was
 * seen and the sender is in fast recovery (`in_recovery`) or RTO
 * recovery, or DupThresh segments are SACKed (`sacked_segs`); else reo_wnd_mult * min_RTT / 4
 * (tcp_rack_on_dsack, tcp_rack_on_recovery_exit), at most `srtt`. */
int64_t tcp_rack_reo_wnd(const struct tcp_rack *rk, bool in_recovery, uint32_t sacked_segs,
                         int64_t srtt);

/* RFC 8985 6.2 step 5: marks lost every record with unSACKed bytes above
 * snd_una that was sent before RACK.xmit_ts/end_seq and whose time plus
 * RACK.rtt + reo_wnd has passed. Returns how many records it newly marked,
 * and in *rtx_marked (unless NULL) how many of those were retransmissions;
 * *timeout gets the longest wait of those not yet due (0: none; the
 * caller arms the reordering timer with it, 6.3). */
unsigned tcp_rack_detect(struct tcp_rack *rk, const struct tcp_sack_sb *sb, uint32_t snd_una,
                         int64_t reo_wnd, int64_t now, int64_t *timeout, unsigned *rtx_marked);

/* UnSACKed bytes above snd_una in LOST records. */
uint32_t tcp_rack_lost_bytes(const struct tcp_rack *rk, const struct tcp_sack_sb *sb,
                             uint32_t snd_una);

/* The first unSACKed run above snd_una in a LOST record, at most mss long.
 * False when nothing is marked lost. */
bool tcp_rack_next_lost(const struct tcp_rack *rk, const struct tcp_sack_sb *sb, uint32_t snd_una,
                        uint32_t mss, uint32_t *seq, uint32_t *len);

/* On RTO: drops every LOST mark (everything is resent from SND.UNA) and
 * starts RTO recovery, which lasts until SND.UNA passes what was sent. */
void tcp_rack_clear_lost(struct tcp_rack *rk);

#endif
