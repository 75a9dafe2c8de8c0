/*
 * src/tcp/prr.c: Proportional Rate Reduction (RFC 6937); see prr.h.
 */
#include "tcp/prr.h"

void
tcp_prr_init(struct tcp_prr *p, uint32_t recover_fs)
{
    /* RFC 6937 3: both totals start at zero; RecoverFS is the FlightSize. */
    p->delivered = 0;
    p->out = 0;
    p->recover_fs = recover_fs > 0 ? recover_fs : 1;
    p->sndcnt = 0;
}

uint32_t
tcp_prr_on_ack(struct tcp_prr *p, uint32_t delivered, uint32_t pipe, uint32_t ssthresh,
               uint32_t mss, bool conservative)
{
    p->delivered += delivered;
    uint64_t cnt;
    if (pipe > ssthresh) {
        /* RFC 6937 3, proportional part: the sending follows the
         * deliveries scaled by ssthresh / RecoverFS, rounded up. */
        uint64_t target = ((uint64_t)p->delivered * ssthresh + p->recover_fs - 1) / p->recover_fs;
        cnt = target > p->out ? target - p->out : 0;
    } else {
        /* RFC 6937 3, reduction bound: catch up towards ssthresh, but no
         * faster than what was delivered (CRB, packet conserving) or than
         * slow start, one SMSS more than this ACK delivered (SSRB). */
        uint64_t banked = p->delivered > p->out ? (uint64_t)p->delivered - p->out : 0;
        uint64_t limit = banked;
        if (!conservative) {
            limit = (banked > delivered ? banked : delivered) + mss;
        }
        uint64_t gap = (uint64_t)ssthresh - pipe;
        cnt = gap < limit ? gap : limit;
    }
    p->sndcnt = cnt > UINT32_MAX ? UINT32_MAX : (uint32_t)cnt;
    return p->sndcnt;
}

void
tcp_prr_sent(struct tcp_prr *p, uint32_t bytes)
{
    p->out += bytes;
    p->sndcnt = p->sndcnt > bytes ? p->sndcnt - bytes : 0;
}
