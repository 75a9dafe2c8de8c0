/*
 * src/tcp/cc.c: the congestion control registry, the calls the TCP code
 * makes, and the Reno steps every algorithm shares.
 *
 * Read before editing: cc.h (the caller's contract), RFC 5681 3.1-3.2 and
 * 4.1, RFC 6582 3.2, RFC 3042 2, RFC 6675 5.
 */
#include "tcp/cc.h"

#include <stddef.h>
#include <string.h>

static const struct tcp_cc_ops *const algos[TCP_CC_ALGO_COUNT] = {
    [TCP_CC_NEWRENO] = &tcp_cc_newreno_ops,
    [TCP_CC_CUBIC] = &tcp_cc_cubic_ops,
};

const struct tcp_cc_ops *
tcp_cc_ops_by_algo(enum tcp_cc_algo algo)
{
    if ((unsigned)algo >= TCP_CC_ALGO_COUNT)
        return NULL;
    return algos[algo];
}

const struct tcp_cc_ops *
tcp_cc_ops_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    if (strcmp(name, "reno") == 0)
        return &tcp_cc_newreno_ops;
    for (unsigned i = 0; i < TCP_CC_ALGO_COUNT; i++)
        if (strcmp(algos[i]->name, name) == 0)
            return algos[i];
    return NULL;
}

static uint32_t
sat_add(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

uint32_t
tcp_cc_initial_window(uint32_t mss, enum tern_tcp_iw iw)
{
    uint64_t segs;
    if (iw == TERN_TCP_IW_RFC5681) {
        /* RFC 5681 3.1 (MUST, an upper bound): 2 segments above SMSS 2190,
         * 3 above 1095, else 4. Choice: the segment table, not RFC 3390's
         * byte formula min(4*SMSS, max(2*SMSS, 4380)), which between the
         * break points (e.g. SMSS 1096: 4380 bytes) would allow one more,
         * partial, segment than the table does. They agree at SMSS 536,
         * 1095, 1460. */
        segs = mss > 2190 ? 2 : mss > 1095 ? 3 : 4;
    } else {
        /* RFC 6928 2 eq. (1): at most min(10*SMSS, max(2*SMSS, 14600))
         * bytes, an upper bound; as for RFC 5681, whole segments only. */
        uint32_t m = mss > 0 ? mss : 1;
        segs = 14600u / m;
        segs = segs < 2 ? 2 : segs > 10 ? 10 : segs;
    }
    uint64_t w = segs * mss;
    return w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

void
tcp_cc_init(struct tcp_cc *cc, const struct tcp_cc_ops *ops, uint32_t mss, bool sack,
            enum tern_tcp_iw iw, int64_t now_ns)
{
    memset(cc, 0, sizeof(*cc));
    cc->ops = ops != NULL ? ops : &tcp_cc_newreno_ops;
    cc->mss = mss > 0 ? mss : 1;
    cc->sack = sack;
    cc->iw = (uint8_t)iw;
    cc->cwnd = tcp_cc_initial_window(cc->mss, iw);
    /* RFC 5681 3.1: the initial ssthresh SHOULD be arbitrarily high. */
    cc->ssthresh = UINT32_MAX;
    cc->ops->init(cc, cc->mss, now_ns);
}

void
tcp_cc_after_syn_loss(struct tcp_cc *cc)
{
    /* RFC 5681 3.1, RFC 6928 2: after a lost SYN or SYN-ACK the initial
     * window MUST be one segment, whatever the IW rule. */
    cc->cwnd = cc->mss;
}

void
tcp_cc_on_ack(struct tcp_cc *cc, uint32_t bytes_acked, uint32_t flight_before, int64_t rtt_ns,
              int64_t now_ns)
{
    if (bytes_acked == 0)
        return;
    cc->ops->on_ack(cc, bytes_acked, flight_before, rtt_ns, now_ns);
}

void
tcp_cc_on_dupack(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    cc->ops->on_dupack(cc, flight, now_ns);
}

void
tcp_cc_enter_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    cc->ops->enter_recovery(cc, flight, now_ns);
}

void
tcp_cc_on_partial_ack(struct tcp_cc *cc, uint32_t bytes_acked, int64_t now_ns)
{
    cc->ops->on_partial_ack(cc, bytes_acked, now_ns);
}

void
tcp_cc_exit_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    cc->ops->exit_recovery(cc, flight, now_ns);
}

void
tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight, bool repeated, int64_t now_ns)
{
    if (repeated) {
        /* RFC 5681 3.1 (after eq. 4): a segment that already timed out once
         * leaves ssthresh as it is; cwnd still falls to LW. */
        cc->cwnd = cc->mss;
        return;
    }
    cc->ops->on_rto(cc, flight, now_ns);
}

void
tcp_cc_after_idle(struct tcp_cc *cc, int64_t now_ns)
{
    cc->ops->after_idle(cc, now_ns);
}

uint32_t
tcp_cc_limited_window(const struct tcp_cc *cc, unsigned dupacks)
{
    /* RFC 3042 2: on the first two duplicate ACKs FlightSize may exceed
     * cwnd by at most 2*SMSS; cwnd itself is unchanged. */
    if (dupacks == 0 || dupacks >= TCP_CC_DUPTHRESH)
        return cc->cwnd;
    return sat_add(cc->cwnd, dupacks * cc->mss);
}

bool
tcp_cc_in_slow_start(const struct tcp_cc *cc)
{
    return cc->cwnd < cc->ssthresh;
}

uint32_t
tcp_cc_slow_start(struct tcp_cc *cc, uint32_t bytes_acked)
{
    /* RFC 5681 3.1 eq. 2: cwnd += min(N, SMSS) per ACK of new data. */
    uint32_t inc = bytes_acked < cc->mss ? bytes_acked : cc->mss;
    uint32_t old = cc->cwnd;
    cc->cwnd = sat_add(cc->cwnd, inc);
    return cc->cwnd - old;
}

void
tcp_cc_reno_dupack(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    (void)flight;
    (void)now_ns;
    /* RFC 6675 5: with SACK, pipe (not cwnd inflation) admits new data. */
    if (cc->sack)
        return;
    /* RFC 5681 3.2 step 4: each further duplicate ACK means a segment left
     * the network; inflate cwnd by SMSS. */
    cc->cwnd = sat_add(cc->cwnd, cc->mss);
}

void
tcp_cc_reno_partial_ack(struct tcp_cc *cc, uint32_t bytes_acked, int64_t now_ns)
{
    (void)now_ns;
    if (cc->sack)
        return;
    /* RFC 6582 3.2 step 4: deflate cwnd by the new data ACKed; give back
     * one SMSS if at least one SMSS was ACKed, so about ssthresh worth of
     * data stays in flight when recovery ends. */
    uint32_t cwnd = cc->cwnd > bytes_acked ? cc->cwnd - bytes_acked : 0;
    if (bytes_acked >= cc->mss)
        cwnd = sat_add(cwnd, cc->mss);
    cc->cwnd = cwnd > cc->mss ? cwnd : cc->mss;
}

void
tcp_cc_reno_exit_recovery(struct tcp_cc *cc, uint32_t flight, int64_t now_ns)
{
    (void)now_ns;
    /* RFC 6582 3.2 step 3 option (1): cwnd = min(ssthresh, max(FlightSize,
     * SMSS) + SMSS), which avoids a burst when little is in flight. With
     * SACK (RFC 6675 5 (A)) the same bound applies; cwnd was ssthresh. */
    uint32_t f = flight > cc->mss ? flight : cc->mss;
    uint32_t w = sat_add(f, cc->mss);
    cc->cwnd = w < cc->ssthresh ? w : cc->ssthresh;
}

void
tcp_cc_undo(struct tcp_cc *cc, uint32_t cwnd, uint32_t ssthresh)
{
    if (cwnd > cc->cwnd) {
        cc->cwnd = cwnd;
    }
    if (ssthresh > cc->ssthresh) {
        cc->ssthresh = ssthresh;
    }
    if (cc->ops->algo == TCP_CC_CUBIC) {
        cc->u.cubic.epoch_start_ns = -1; /* RFC 9438 4.2: t restarts at the next ACK */
    }
}
