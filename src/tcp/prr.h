/*
 * src/tcp/prr.h: Proportional Rate Reduction, the amount sent during loss
 * recovery.
 *
 * Read first: RFC 6937 (2 definitions: DeliveredData, RecoverFS; 3 the
 * algorithm with its two reduction bounds, CRB and SSRB; 3.1 the worked
 * examples). RFC 9937, its standards-track successor, is not in
 * ../shared/rfc; this follows RFC 6937's text.
 *
 * Pure arithmetic in bytes: no clock, no trace, no allocation. PRR decides
 * only HOW MUCH goes out on each ACK of a recovery; WHAT goes out is RFC
 * 6675 NextSeg (sack.h), and pipe is RFC 6675 SetPipe, or, in a recovery
 * RACK started (RFC 8985 9.3 recommends PRR there), RACK's marks and the
 * pipe they give (output.c recovery_pipe).
 *
 * The caller (input.c, output.c), in SACK recovery only:
 *   - entering recovery, after the congestion control has set ssthresh:
 *     tcp_prr_init(p, SND.NXT - SND.UNA), RecoverFS being the FlightSize at
 *     that moment (RFC 6937 3);
 *   - on every ACK of the recovery, the entering one included:
 *     tcp_prr_on_ack(p, DeliveredData, pipe, ssthresh, mss, conservative),
 *     DeliveredData = the advance of SND.UNA plus the signed change of the
 *     SACKed byte count (RFC 6937 2). It returns sndcnt, the bytes that may
 *     go out now, and keeps it as p->sndcnt;
 *   - sends at most p->sndcnt (rounded to whole segments as it likes) and
 *     calls tcp_prr_sent(p, bytes) for every transmission or
 *     retransmission in recovery, which adds to prr_out and spends sndcnt.
 */
#ifndef TERN_TCP_PRR_H
#define TERN_TCP_PRR_H

#include <stdbool.h>
#include <stdint.h>

struct tcp_prr {
    uint32_t delivered;  /* prr_delivered: bytes delivered since recovery began */
    uint32_t out;        /* prr_out: bytes sent since recovery began */
    uint32_t recover_fs; /* RecoverFS: FlightSize when recovery began */
    uint32_t sndcnt;     /* what the latest ACK allows that is not yet spent */
};

/* RFC 6937 3: recovery begins with FlightSize `recover_fs`. */
void tcp_prr_init(struct tcp_prr *p, uint32_t recover_fs);

/* RFC 6937 3, on an ACK in recovery: accounts `delivered` and returns
 * sndcnt in bytes (0 when nothing may go out). `conservative` selects
 * PRR-CRB, else PRR-SSRB. */
uint32_t tcp_prr_on_ack(struct tcp_prr *p, uint32_t delivered, uint32_t pipe, uint32_t ssthresh,
                        uint32_t mss, bool conservative);

/* RFC 6937 3: `bytes` were sent (new or retransmitted) during recovery. */
void tcp_prr_sent(struct tcp_prr *p, uint32_t bytes);

#endif
