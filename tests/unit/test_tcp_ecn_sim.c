/*
 * tests/unit/test_tcp_ecn_sim.c: ECN end to end in the simulator (issue 12
 * item 5): a bulk transfer over a link that marks CE (tern_link_params
 * ce_ppm, an AQM that marks instead of dropping) slows the sender down
 * with no loss and no retransmission; the same link with ECN off marks
 * nothing (no packet is ECT) and the sender never reduces. Public API only.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/stats.h"
#include "tern/tcp.h"

#define MS       1000000LL
#define ADDR_A   TERN_IPV4(192, 0, 2, 1)
#define ADDR_B   TERN_IPV4(192, 0, 2, 2)
#define PORT     5001
#define BULK     (4u << 20)
#define CE_PPM   10000u /* 1 % of A's ECT packets marked */
#define STEP_NS  (1 * MS)
#define BOUND_NS (60000 * MS)

struct run {
    uint64_t received, sent;
    uint64_t ce_marked, lost;
    uint64_t reductions, ce_rcvd, retransmits, fast_rtx;
    uint32_t ssthresh_end;
    bool done;
};

static void
host_config(struct tern_config *cfg, uint32_t addr, uint64_t seed, enum tern_tcp_ecn ecn)
{
    tern_config_init(cfg);
    cfg->seed = seed;
    cfg->deterministic = true;
    cfg->n_netifs = 1;
    cfg->netifs[0].addr = addr;
    cfg->netifs[0].prefix_len = 24;
    cfg->netifs[0].mtu = 1500;
    cfg->tcp.ecn = ecn;
}

static void
bulk(enum tern_tcp_ecn ecn_a, struct run *r)
{
    static uint8_t chunk[65536];
    static uint8_t sink[65536];
    memset(r, 0, sizeof(*r));
    memset(chunk, 'e', sizeof(chunk));
    struct tern_sim *sim = NULL;
    CHECK_EQ(tern_sim_new(7, &sim), TERN_OK);
    struct tern_config cfg;
    int a = -1, b = -1, link = -1;
    host_config(&cfg, ADDR_A, 11, ecn_a);
    CHECK_EQ(tern_sim_add_host(sim, "a", &cfg, &a), TERN_OK);
    host_config(&cfg, ADDR_B, 22, TERN_TCP_ECN_PASSIVE);
    CHECK_EQ(tern_sim_add_host(sim, "b", &cfg, &b), TERN_OK);
    struct tern_link_params ab, ba;
    tern_link_params_init(&ab);
    tern_link_params_init(&ba);
    ab.delay_ns = ba.delay_ns = 5 * MS;
    ab.ce_ppm = CE_PPM;
    CHECK_EQ(tern_sim_link(sim, a, 0, b, 0, &ab, &ba, &link), TERN_OK);
    struct tern_stack *sa = tern_sim_host_stack(sim, a), *sb = tern_sim_host_stack(sim, b);
    int64_t now = tern_sim_now(sim);
    struct tern_tcp_open_args lo = {.passive = true, .local_port = PORT};
    int lid = tern_tcp_open(sb, &lo, now);
    CHECK(lid > 0);
    struct tern_tcp_open_args co = {.remote_addr = tern_ip4(ADDR_B), .remote_port = PORT};
    int cid = tern_tcp_open(sa, &co, now);
    CHECK(cid > 0);
    int child = -1;
    while (now < BOUND_NS && r->received < BULK) {
        now += STEP_NS;
        tern_sim_run_until(sim, now);
        if (child <= 0) {
            child = tern_tcp_accept(sb, lid, now);
        }
        while (r->sent < BULK) {
            size_t want = BULK - r->sent < sizeof(chunk) ? BULK - r->sent : sizeof(chunk);
            int n = tern_tcp_send(sa, cid, chunk, want, now);
            if (n <= 0) {
                break;
            }
            r->sent += (uint64_t)n;
        }
        for (; child > 0;) {
            int n = tern_tcp_recv(sb, child, sink, sizeof(sink), now);
            if (n <= 0) {
                break;
            }
            r->received += (uint64_t)n;
        }
    }
    r->done = r->received == BULK;
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(sa, cid, &s), TERN_OK);
    r->ssthresh_end = s.ssthresh;
    struct tern_sim_link_stats ls;
    CHECK_EQ(tern_sim_link_stats(sim, link, 0, &ls), TERN_OK);
    r->ce_marked = ls.ce_marked;
    r->lost = ls.lost_random + ls.lost_queue + ls.lost_capacity;
    const struct tern_stats *st_a = tern_stack_stats(sa), *st_b = tern_stack_stats(sb);
    r->reductions = st_a->tcp.ecn_reductions;
    r->retransmits = st_a->tcp.retransmits;
    r->fast_rtx = st_a->tcp.fast_retransmits;
    r->ce_rcvd = st_b->tcp.ecn_ce_rcvd;
    printf("ecn %s: %llu bytes, CE marked %llu, CE seen %llu, reductions %llu, retransmits %llu, "
           "lost %llu, ssthresh at the end %u\n",
           ecn_a == TERN_TCP_ECN_ON ? "on " : "off", (unsigned long long)r->received,
           (unsigned long long)r->ce_marked, (unsigned long long)r->ce_rcvd,
           (unsigned long long)r->reductions, (unsigned long long)r->retransmits,
           (unsigned long long)r->lost, r->ssthresh_end);
    tern_sim_free(sim);
}

static void
test_ce_marks_slow_the_sender_without_loss(void)
{
    struct run on, off;
    bulk(TERN_TCP_ECN_ON, &on);
    bulk(TERN_TCP_ECN_OFF, &off);
    /* EVIDENCE: RFC 9293 SHLD-8, RFC 3168 6.1.2: CE marks reduce the sender's cwnd with no loss */
    CHECK(on.done);
    CHECK(on.ce_marked > 0);
    CHECK_EQ(on.ce_rcvd, on.ce_marked);
    CHECK(on.reductions > 0);
    CHECK(on.reductions <= on.ce_marked);
    CHECK_EQ(on.lost, 0);
    CHECK_EQ(on.retransmits, 0);
    CHECK_EQ(on.fast_rtx, 0);
    CHECK(on.ssthresh_end < (1u << 20)); /* reduced from the initial "arbitrarily high" */
    /* Without ECN no packet is ECT: nothing is marked, nothing reduced. */
    CHECK(off.done);
    CHECK_EQ(off.ce_marked, 0);
    CHECK_EQ(off.reductions, 0);
    CHECK(off.ssthresh_end > on.ssthresh_end);
}

int
main(void)
{
    RUN(test_ce_marks_slow_the_sender_without_loss);
    return CHECK_DONE();
}
