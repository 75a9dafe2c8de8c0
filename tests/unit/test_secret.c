/*
 * tests/unit/test_secret.c: the stack's secret (include/tern/stack.h
 * `seed`, `deterministic`, tern_random_seed).
 *
 * RFC 6528 3 (and RFC 9293 3.4.1 SHLD-1) key the initial sequence number
 * function with a secret nobody outside can guess. tern_config_init leaves
 * no secret (seed 0); tern_stack_new refuses that unless the caller asked
 * for a fixed seed (deterministic), tern_random_seed draws one from the OS,
 * the TUN runtime draws one for a config without, and the simulator derives
 * one per host from the simulation seed.
 *
 * `test_secret --tun` (a ctest entry of its own, test_secret_tun) runs the
 * TUN runtime checks: it needs root and /dev/net/tun, unshares a network
 * namespace of its own, and fails, never skips, without them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/tcp.h"
#include "tern/tun.h"

#define US        TERN_IPV4(192, 0, 2, 1)
#define PEER      TERN_IPV4(192, 0, 2, 2)
#define US_PORT   40000
#define PEER_PORT 80
#define NOW       (5LL * 1000000000LL)

/* The sequence number of the last SYN the stack handed to its driver. */
struct syn_cap {
    int syns;
    uint32_t seq;
};

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
cap_syn(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)netif, (void)next_hop;
    struct syn_cap *c = ctx;
    if (len < 20 || pkt[9] != 6) { /* IPv4, protocol TCP */
        return 0;
    }
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if (len < ihl + 20) {
        return 0;
    }
    const uint8_t *tcp = pkt + ihl;
    if ((tcp[13] & 0x12) == 0x02) { /* SYN without ACK */
        c->syns++;
        c->seq = be32(tcp + 4);
    }
    return 0;
}

static void
base_config(struct tern_config *cfg, struct syn_cap *cap)
{
    tern_config_init(cfg);
    cfg->n_netifs = 1;
    cfg->netifs[0] = (struct tern_netif_config){
        .addr = US, .prefix_len = 24, .mtu = 1500, .transmit = cap_syn, .transmit_ctx = cap};
}

/* Opens US:US_PORT -> PEER:PEER_PORT on a stack made from `cfg` at NOW and
 * returns the ISS, after checking the SYN on the wire carries it. */
static uint32_t
isn_of(struct tern_config *cfg, struct syn_cap *cap)
{
    memset(cap, 0, sizeof(*cap));
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(cfg, NOW, &st), TERN_OK);
    if (st == NULL) {
        return 0;
    }
    struct tern_tcp_open_args a = {
        .local_port = US_PORT, .remote_addr = tern_ip4(PEER), .remote_port = PEER_PORT};
    int id = tern_tcp_open(st, &a, NOW);
    CHECK(id > 0);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(st, id, &s), TERN_OK);
    CHECK_EQ(cap->syns, 1);
    CHECK_EQ(cap->seq, s.iss); /* the SYN on the wire carries the ISS */
    tern_stack_free(st);
    return s.iss;
}

static void
test_default_is_refused(void)
{
    struct syn_cap cap = {0};
    struct tern_config cfg;
    base_config(&cfg, &cap);
    CHECK_EQ(cfg.seed, 0);
    CHECK(!cfg.deterministic);
    struct tern_stack *st = (struct tern_stack *)&cfg; /* not NULL: must be cleared */
    CHECK_EQ(tern_stack_new(&cfg, NOW, &st), TERN_ERR_NOSECRET);
    CHECK(st == NULL);
    const char *text = tern_strerror(TERN_ERR_NOSECRET);
    CHECK(strstr(text, "tern_random_seed") != NULL);
    CHECK(strstr(text, "deterministic") != NULL);
    /* A bad configuration is still TERN_ERR_INVAL, whatever the seed. */
    cfg.netifs[0].mtu = 10;
    CHECK_EQ(tern_stack_new(&cfg, NOW, &st), TERN_ERR_INVAL);
}

static void
test_explicit_choices_are_accepted(void)
{
    struct syn_cap cap = {0};
    struct tern_config cfg;
    struct tern_stack *st = NULL;
    base_config(&cfg, &cap);
    cfg.deterministic = true; /* seed 0, asked for */
    CHECK_EQ(tern_stack_new(&cfg, NOW, &st), TERN_OK);
    CHECK(st != NULL);
    tern_stack_free(st);
    cfg.seed = 12345; /* a fixed seed, asked for */
    CHECK_EQ(tern_stack_new(&cfg, NOW, &st), TERN_OK);
    tern_stack_free(st);
    cfg.deterministic = false; /* the caller's own secret */
    CHECK_EQ(tern_stack_new(&cfg, NOW, &st), TERN_OK);
    tern_stack_free(st);
}

static void
test_random_seed(void)
{
    uint64_t a = 0, b = 0;
    CHECK_EQ(tern_random_seed(&a), TERN_OK);
    CHECK_EQ(tern_random_seed(&b), TERN_OK);
    CHECK(a != 0);
    CHECK(b != 0);
    CHECK(a != b); /* equal with probability 2^-64 */
    CHECK_EQ(tern_random_seed(NULL), TERN_ERR_INVAL);
}

/* EVIDENCE: RFC 9293 3.4.1 SHLD-1 MUST-9, RFC 6528 3: ISN = M + F(4-tuple, secret),
 * and the secret differs from stack to stack: the same 4-tuple at the same
 * time gets different ISNs */
static void
test_random_secrets_give_different_isns(void)
{
    struct syn_cap cap;
    struct tern_config cfg;
    base_config(&cfg, &cap);
    CHECK_EQ(tern_random_seed(&cfg.seed), TERN_OK);
    uint32_t i1 = isn_of(&cfg, &cap);
    CHECK_EQ(tern_random_seed(&cfg.seed), TERN_OK);
    uint32_t i2 = isn_of(&cfg, &cap);
    CHECK(i1 != i2); /* equal with probability 2^-32 */
}

/* A fixed seed is reproducible: the explicit choice works. */
static void
test_deterministic_same_seed_same_isn(void)
{
    struct syn_cap cap;
    struct tern_config cfg;
    base_config(&cfg, &cap);
    cfg.deterministic = true;
    cfg.seed = 77;
    uint32_t i1 = isn_of(&cfg, &cap);
    uint32_t i2 = isn_of(&cfg, &cap);
    CHECK_EQ(i1, i2);
    cfg.seed = 78; /* and the seed is what decides */
    CHECK(isn_of(&cfg, &cap) != i1);
}

/* The simulator: deterministic by design, yet two hosts with
 * tern_config_init's defaults do not share a secret. */
static void
sim_isns(uint64_t sim_seed, uint32_t isn[2])
{
    struct tern_sim *sim = NULL;
    CHECK_EQ(tern_sim_new(sim_seed, &sim), TERN_OK);
    for (int i = 0; i < 2; i++) {
        struct tern_config cfg;
        tern_config_init(&cfg); /* seed 0, not deterministic */
        cfg.n_netifs = 1;
        cfg.netifs[0] = (struct tern_netif_config){.addr = US, .prefix_len = 24, .mtu = 1500};
        int h = -1;
        CHECK_EQ(tern_sim_add_host(sim, NULL, &cfg, &h), TERN_OK);
        struct tern_stack *st = tern_sim_host_stack(sim, h);
        struct tern_tcp_open_args a = {
            .local_port = US_PORT, .remote_addr = tern_ip4(PEER), .remote_port = PEER_PORT};
        int id = tern_tcp_open(st, &a, tern_sim_now(sim));
        struct tern_tcp_status s;
        CHECK_EQ(tern_tcp_status(st, id, &s), TERN_OK);
        isn[i] = s.iss;
    }
    tern_sim_free(sim);
}

static void
test_sim_hosts_seeded_from_sim_seed(void)
{
    uint32_t r1[2], r2[2], r3[2];
    sim_isns(9, r1);
    sim_isns(9, r2);
    sim_isns(10, r3);
    CHECK(r1[0] != r1[1]);  /* two hosts, two secrets */
    CHECK_EQ(r1[0], r2[0]); /* the same simulation seed, the same run */
    CHECK_EQ(r1[1], r2[1]);
    CHECK(r1[0] != r3[0]); /* another simulation seed, another run */
}

/* ---- the TUN runtime (test_secret --tun) ----------------------------------- */

static struct tern_rt *
start_rt(const char *dev, bool tap, const struct tern_config *cfg)
{
    struct tern_tun_config tc;
    memset(&tc, 0, sizeof(tc));
    tc.dev = dev;
    tc.tap = tap;
    tc.mtu = 1500;
    struct tern_rt *rt = NULL;
    char err[256] = "";
    int rc = tern_rt_start_tun(&tc, cfg, &rt, err, sizeof(err));
    if (rc != TERN_OK) {
        fprintf(stderr, "tern_rt_start_tun(%s): %s (%s)\n", dev, tern_strerror(rc), err);
    }
    CHECK_EQ(rc, TERN_OK);
    return rt;
}

static void
rt_config(struct tern_config *cfg)
{
    tern_config_init(cfg);
    cfg->n_netifs = 1;
    cfg->netifs[0] = (struct tern_netif_config){.addr = US, .prefix_len = 24, .mtu = 1500};
}

/* The ISS of US:US_PORT -> PEER:PEER_PORT opened on both runtimes' stacks
 * at one common time t (later than both clocks, so both stacks take it). */
static void
rt_isns(struct tern_rt *rt[2], uint32_t isn[2])
{
    int64_t t = tern_rt_now(rt[0]) > tern_rt_now(rt[1]) ? tern_rt_now(rt[0]) : tern_rt_now(rt[1]);
    t += 1000000000LL;
    for (int i = 0; i < 2; i++) {
        tern_rt_lock(rt[i]);
        struct tern_stack *st = tern_rt_stack(rt[i], 0);
        struct tern_tcp_open_args a = {
            .local_port = US_PORT, .remote_addr = tern_ip4(PEER), .remote_port = PEER_PORT};
        int id = tern_tcp_open(st, &a, t);
        CHECK(id > 0);
        struct tern_tcp_status s;
        CHECK_EQ(tern_tcp_status(st, id, &s), TERN_OK);
        isn[i] = s.iss;
        tern_rt_unlock(rt[i]);
    }
}

static void
test_rt_draws_a_secret(void)
{
    struct tern_config cfg;
    rt_config(&cfg); /* tern_config_init's defaults: no secret given */
    struct tern_rt *rt[2] = {start_rt("tsec0", false, &cfg), start_rt("tsec1", false, &cfg)};
    if (rt[0] == NULL || rt[1] == NULL) {
        tern_rt_free(rt[0]), tern_rt_free(rt[1]);
        return;
    }
    uint32_t isn[2];
    rt_isns(rt, isn);
    CHECK(isn[0] != isn[1]); /* two secrets (equal with probability 2^-32) */
    tern_rt_free(rt[0]), tern_rt_free(rt[1]);

    /* The control: the same fixed seed, asked for, gives the same ISNs. */
    cfg.seed = 5;
    cfg.deterministic = true;
    rt[0] = start_rt("tsec0", false, &cfg);
    rt[1] = start_rt("tsec1", false, &cfg);
    if (rt[0] != NULL && rt[1] != NULL) {
        rt_isns(rt, isn);
        CHECK_EQ(isn[0], isn[1]);
    }
    tern_rt_free(rt[0]), tern_rt_free(rt[1]);
}

/* On TAP the runtime picks a MAC when none is given: from the seed when
 * deterministic (reproducible), else random, so that the MAC, which every
 * neighbour sees, tells nothing about the secret. */
static void
test_rt_tap_mac(void)
{
    struct tern_config cfg;
    rt_config(&cfg);
    uint8_t mac[5][TERN_MAC_LEN];
    memset(mac, 0, sizeof(mac));
    for (int i = 0; i < 5; i++) {
        if (i >= 2) { /* 2, 3: seed 5, deterministic; 4: seed 5 as the caller's secret */
            cfg.seed = 5;
            cfg.deterministic = i < 4;
        }
        struct tern_rt *rt = start_rt("tsec0", true, &cfg);
        if (rt == NULL) {
            return;
        }
        tern_rt_lock(rt);
        CHECK_EQ(tern_stack_mac(tern_rt_stack(rt, 0), 0, mac[i]), TERN_OK);
        tern_rt_unlock(rt);
        tern_rt_free(rt);
        CHECK_EQ(mac[i][0], 0x02); /* locally administered, unicast */
    }
    CHECK(memcmp(mac[0], mac[1], TERN_MAC_LEN) != 0); /* random */
    CHECK_MEM(mac[2], mac[3], TERN_MAC_LEN);          /* deterministic */
    CHECK(memcmp(mac[4], mac[2], TERN_MAC_LEN) != 0); /* a secret seed does not show */
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--tun") == 0) {
        /* A network namespace of our own: the devices vanish with it. */
        if (unshare(CLONE_NEWNET) != 0) {
            fprintf(stderr, "test_secret --tun: unshare(CLONE_NEWNET): %s (needs root)\n",
                    strerror(errno));
            printf("0 passed, 1 failed\n");
            return 1;
        }
        RUN(test_rt_draws_a_secret);
        RUN(test_rt_tap_mac);
        return CHECK_DONE();
    }
    RUN(test_default_is_refused);
    RUN(test_explicit_choices_are_accepted);
    RUN(test_random_seed);
    RUN(test_random_secrets_give_different_isns);
    RUN(test_deterministic_same_seed_same_isn);
    RUN(test_sim_hosts_seeded_from_sim_seed);
    return CHECK_DONE();
}
