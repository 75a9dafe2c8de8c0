/*
 * tests/unit/test_sim.c: the simulated network (include/tern/sim.h).
 *
 * Traffic comes from real stacks: host a (192.0.2.1) sends ICMP echo
 * requests to host b (192.0.2.2), whose stack answers. Each request or
 * reply of up to the MTU is one packet on the link, so link behaviour can
 * be checked packet by packet through the observer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tern/pcap.h"
#include "tern/sim.h"
#include "tern/stack.h"

#define MS      1000000LL
#define US      1000LL
#define ADDR_A  TERN_IPV4(192, 0, 2, 1)
#define ADDR_B  TERN_IPV4(192, 0, 2, 2)
#define ECHO_ID 0x4242

/* ---- Recording what the simulator reports ------------------------------- */

struct rec_ev {
    enum tern_sim_event_kind kind;
    uint64_t id, orig_id;
    int link, dir, from_host, to_host, host;
    int64_t now, arrive, sent;
    enum tern_sim_loss loss;
    uint32_t bit;
    size_t len;
    uint8_t head[64]; /* first bytes of the packet */
    bool corrupted, duplicate, reordered, injected;
};

struct rec {
    struct rec_ev *ev;
    size_t n, cap;
    uint64_t hash; /* FNV-1a over every field and every byte */
};

static void
hash_bytes(struct rec *r, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        r->hash = (r->hash ^ b[i]) * 0x100000001b3ULL;
    }
}

static void
hash_i64(struct rec *r, int64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)((uint64_t)v >> (8 * i));
    }
    hash_bytes(r, b, 8);
}

static void
observe(void *ctx, const struct tern_sim_event *e)
{
    struct rec *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
    }
    struct rec_ev *x = &r->ev[r->n++];
    memset(x, 0, sizeof(*x));
    x->kind = e->kind;
    x->id = e->pkt.id;
    x->orig_id = e->pkt.orig_id;
    x->link = e->pkt.link;
    x->dir = e->pkt.dir;
    x->from_host = e->pkt.from_host;
    x->to_host = e->pkt.to_host;
    x->host = e->host;
    x->now = e->now_ns;
    x->arrive = e->arrive_ns;
    x->sent = e->pkt.sent_ns;
    x->loss = e->loss;
    x->bit = e->bit;
    x->len = e->pkt.len;
    x->corrupted = e->pkt.corrupted;
    x->duplicate = e->pkt.duplicate;
    x->reordered = e->pkt.reordered;
    x->injected = e->pkt.injected;
    if (e->pkt.data != NULL) {
        memcpy(x->head, e->pkt.data, e->pkt.len < sizeof(x->head) ? e->pkt.len : sizeof(x->head));
    }
    hash_i64(r, e->kind);
    hash_i64(r, (int64_t)e->pkt.id);
    hash_i64(r, e->now_ns);
    hash_i64(r, e->arrive_ns);
    hash_i64(r, e->loss);
    hash_i64(r, e->bit);
    hash_i64(r, e->pkt.link * 2 + e->pkt.dir);
    if (e->pkt.data != NULL) {
        hash_bytes(r, e->pkt.data, e->pkt.len);
    }
}

static void
rec_init(struct rec *r)
{
    memset(r, 0, sizeof(*r));
    r->hash = 0xcbf29ce484222325ULL;
}

static void
rec_free(struct rec *r)
{
    free(r->ev);
}

static size_t
rec_count(const struct rec *r, enum tern_sim_event_kind kind, int dir)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].kind == kind && (dir < 0 || r->ev[i].dir == dir)) {
            n++;
        }
    }
    return n;
}

static const struct rec_ev *
rec_find(const struct rec *r, enum tern_sim_event_kind kind, uint64_t id)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].kind == kind && r->ev[i].id == id) {
            return &r->ev[i];
        }
    }
    return NULL;
}

/* Like rec_find, but the event must be there; a missing one fails the test
 * and reads as an all-zero event with arrive -1. */
#define rec_get(r, kind, id) rec_get_at((r), (kind), (id), __LINE__)

static const struct rec_ev *
rec_get_at(const struct rec *r, enum tern_sim_event_kind kind, uint64_t id, int line)
{
    static struct rec_ev missing;
    const struct rec_ev *e = rec_find(r, kind, id);
    if (e == NULL) {
        fprintf(stderr, "%s:%d: no %s event for packet %llu\n", __FILE__, line,
                tern_sim_event_name(kind), (unsigned long long)id);
        check_st.failures++;
        memset(&missing, 0, sizeof(missing));
        missing.arrive = -1;
        return &missing;
    }
    return e;
}

/* ---- A two-host network ------------------------------------------------- */

struct net {
    struct tern_sim *sim;
    int a, b, link;
    struct rec rec;
    int replies;
    int64_t last_reply_ns;
    uint16_t reply_seqs[4096];
};

static void
on_reply(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    struct net *n = ctx;
    if (r->id != ECHO_ID) {
        return;
    }
    if (n->replies < 4096) {
        n->reply_seqs[n->replies] = r->seq;
    }
    n->replies++;
    n->last_reply_ns = now_ns;
}

static void
host_config(struct tern_config *cfg, uint32_t addr, uint64_t seed)
{
    tern_config_init(cfg);
    cfg->seed = seed;
    cfg->deterministic = true; /* a test: the same ISNs every run */
    cfg->n_netifs = 1;
    cfg->netifs[0].addr = addr;
    cfg->netifs[0].prefix_len = 24;
    cfg->netifs[0].mtu = 1500;
}

static void
net_open(struct net *n, uint64_t seed, const struct tern_link_params *ab,
         const struct tern_link_params *ba)
{
    memset(n, 0, sizeof(*n));
    rec_init(&n->rec);
    CHECK_EQ(tern_sim_new(seed, &n->sim), TERN_OK);
    struct tern_config cfg;
    host_config(&cfg, ADDR_A, 11);
    CHECK_EQ(tern_sim_add_host(n->sim, "a", &cfg, &n->a), TERN_OK);
    host_config(&cfg, ADDR_B, 22);
    CHECK_EQ(tern_sim_add_host(n->sim, "b", &cfg, &n->b), TERN_OK);
    CHECK_EQ(tern_sim_link(n->sim, n->a, 0, n->b, 0, ab, ba, &n->link), TERN_OK);
    tern_sim_set_observer(n->sim, observe, &n->rec);
    tern_icmp_set_echo_handler(tern_sim_host_stack(n->sim, n->a), on_reply, n);
}

static void
net_close(struct net *n)
{
    tern_sim_free(n->sim);
    rec_free(&n->rec);
}

/* Sends one echo request of `len` data bytes from a to b, now. */
static int
ping_now(struct net *n, uint16_t seq, size_t len)
{
    uint8_t data[4000];
    for (size_t i = 0; i < len && i < sizeof(data); i++) {
        data[i] = (uint8_t)(i + seq);
    }
    return tern_icmp_echo_send(tern_sim_host_stack(n->sim, n->a), ADDR_B, ECHO_ID, seq, data, len,
                               tern_sim_now(n->sim));
}

struct pinger {
    struct net *n;
    int left;
    uint16_t seq;
    int64_t interval;
    size_t len;
};

static void
pinger_tick(void *ctx, struct tern_sim *sim)
{
    struct pinger *p = ctx;
    ping_now(p->n, ++p->seq, p->len);
    if (--p->left > 0) {
        tern_sim_at(sim, tern_sim_now(sim) + p->interval, pinger_tick, p);
    }
}

/* Schedules `count` pings, `interval` apart, starting now. */
static void
pinger_start(struct pinger *p, struct net *n, int count, int64_t interval, size_t len)
{
    *p = (struct pinger){.n = n, .left = count, .interval = interval, .len = len};
    CHECK_EQ(tern_sim_at(n->sim, tern_sim_now(n->sim), pinger_tick, p), TERN_OK);
}

static struct tern_link_params
params(int64_t delay, int64_t jitter)
{
    struct tern_link_params p;
    tern_link_params_init(&p);
    p.delay_ns = delay;
    p.jitter_ns = jitter;
    return p;
}

/* ---- Tests -------------------------------------------------------------- */

/* A run with every impairment on; returns the hash of all observer events. */
static uint64_t
impaired_run(uint64_t seed, size_t *events, int *replies)
{
    struct tern_link_params p = params(3 * MS, 2 * MS);
    p.bandwidth_bps = 10000000;
    p.loss_ppm = 100000;
    p.dup_ppm = 50000;
    p.reorder_ppm = 50000;
    p.corrupt_ppm = 50000;
    struct net n;
    net_open(&n, seed, &p, &p);
    struct pinger pg;
    pinger_start(&pg, &n, 200, 1 * MS, 100);
    CHECK_EQ(tern_sim_run(n.sim, 1000000), TERN_OK);
    uint64_t h = n.rec.hash;
    *events = n.rec.n;
    *replies = n.replies;
    net_close(&n);
    return h;
}

static void
test_determinism(void)
{
    size_t e1, e2, e3;
    int r1, r2, r3;
    uint64_t h1 = impaired_run(7, &e1, &r1);
    uint64_t h2 = impaired_run(7, &e2, &r2);
    uint64_t h3 = impaired_run(8, &e3, &r3);
    CHECK(e1 > 400);
    CHECK(r1 > 100);
    CHECK_EQ(h1, h2);
    CHECK_EQ(e1, e2);
    CHECK_EQ(r1, r2);
    CHECK(h1 != h3);
}

/* Two simulations stepped in turn behave exactly as each one alone. */
static void
test_no_shared_state(void)
{
    size_t e_alone;
    int r_alone;
    uint64_t h_alone = impaired_run(5, &e_alone, &r_alone);

    struct tern_link_params p = params(3 * MS, 2 * MS);
    p.bandwidth_bps = 10000000;
    p.loss_ppm = 100000;
    p.dup_ppm = 50000;
    p.reorder_ppm = 50000;
    p.corrupt_ppm = 50000;
    struct net n1, n2;
    net_open(&n1, 5, &p, &p);
    net_open(&n2, 6, &p, &p);
    struct pinger p1, p2;
    pinger_start(&p1, &n1, 200, 1 * MS, 100);
    pinger_start(&p2, &n2, 200, 1 * MS, 100);
    bool more = true;
    while (more) {
        bool a = tern_sim_step(n1.sim);
        bool b = tern_sim_step(n2.sim);
        more = a || b;
    }
    CHECK_EQ(n1.rec.hash, h_alone);
    CHECK_EQ(n1.rec.n, e_alone);
    net_close(&n1);
    net_close(&n2);
}

static void
test_delay_exact(void)
{
    struct tern_link_params ab = params(5 * MS, 0), ba = params(7 * MS, 0);
    struct net n;
    net_open(&n, 1, &ab, &ba);
    CHECK_EQ(tern_sim_run_until(n.sim, 100 * MS), TERN_OK);
    CHECK_EQ(tern_sim_now(n.sim), 100 * MS);
    CHECK_EQ(ping_now(&n, 1, 56), TERN_OK);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 1);
    CHECK_EQ(n.last_reply_ns, 112 * MS);
    /* SENT a->b at 100 ms, due 105; ARRIVED at 105; SENT b->a at 105, due 112. */
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_SENT, -1), 2);
    const struct rec_ev *s = rec_find(&n.rec, TERN_SIM_EV_SENT, 1);
    const struct rec_ev *a = rec_find(&n.rec, TERN_SIM_EV_ARRIVED, 1);
    const struct rec_ev *s2 = rec_find(&n.rec, TERN_SIM_EV_SENT, 2);
    const struct rec_ev *a2 = rec_find(&n.rec, TERN_SIM_EV_ARRIVED, 2);
    CHECK(s && a && s2 && a2);
    if (s && a && s2 && a2) {
        CHECK_EQ(s->now, 100 * MS);
        CHECK_EQ(s->arrive, 105 * MS);
        CHECK_EQ(s->dir, 0);
        CHECK_EQ(s->from_host, n.a);
        CHECK_EQ(s->to_host, n.b);
        CHECK_EQ(s->len, 84);
        CHECK_EQ(a->now, 105 * MS);
        CHECK_EQ(s2->now, 105 * MS);
        CHECK_EQ(s2->dir, 1);
        CHECK_EQ(s2->arrive, 112 * MS);
        CHECK_EQ(a2->now, 112 * MS);
    }
    /* Time never goes backwards. */
    CHECK_EQ(tern_sim_run_until(n.sim, 50 * MS), TERN_ERR_INVAL);
    for (size_t i = 1; i < n.rec.n; i++) {
        CHECK(n.rec.ev[i].now >= n.rec.ev[i - 1].now);
    }
    net_close(&n);
}

static void
test_jitter_keeps_order(void)
{
    struct tern_link_params ab = params(1 * MS, 2 * MS);
    struct net n;
    net_open(&n, 3, &ab, NULL);
    struct pinger pg;
    pinger_start(&pg, &n, 300, 100 * US, 56);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 300);
    int64_t min = INT64_MAX, max = 0, prev_arrival = 0;
    for (size_t i = 0; i < n.rec.n; i++) {
        const struct rec_ev *e = &n.rec.ev[i];
        if (e->kind == TERN_SIM_EV_ARRIVED && e->dir == 0) {
            int64_t d = e->now - e->sent;
            min = d < min ? d : min;
            max = d > max ? d : max;
            CHECK(e->now >= prev_arrival);
            prev_arrival = e->now;
        }
    }
    CHECK(min >= 1 * MS);
    CHECK(max <= 3 * MS);
    CHECK(max - min > 1 * MS); /* the jitter is really there */
    /* Replies came back in order: jitter alone does not reorder. */
    for (int i = 0; i < 300; i++) {
        CHECK_EQ(n.reply_seqs[i], i + 1);
    }
    net_close(&n);
}

static void
test_bandwidth_and_queue(void)
{
    /* 1 Mbit/s: an 84-byte datagram takes 672 us on the wire. */
    struct tern_link_params ab = params(1 * MS, 0);
    ab.bandwidth_bps = 1000000;
    ab.queue_bytes = 200;
    struct net n;
    net_open(&n, 1, &ab, NULL);
    for (uint16_t i = 1; i <= 5; i++) {
        CHECK_EQ(ping_now(&n, i, 56), TERN_OK);
    }
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 2);
    const struct rec_ev *a1 = rec_find(&n.rec, TERN_SIM_EV_ARRIVED, 1);
    const struct rec_ev *a2 = rec_find(&n.rec, TERN_SIM_EV_ARRIVED, 2);
    CHECK(a1 && a2);
    if (a1 && a2) {
        CHECK_EQ(a1->now, 672 * US + 1 * MS);
        CHECK_EQ(a2->now, 2 * 672 * US + 1 * MS);
    }
    /* Packets 3..5 would have made the queue 252 bytes > 200: dropped. */
    for (uint64_t id = 3; id <= 5; id++) {
        const struct rec_ev *l = rec_find(&n.rec, TERN_SIM_EV_LOST, id);
        CHECK(l != NULL);
        if (l) {
            CHECK_EQ(l->loss, TERN_SIM_LOSS_QUEUE);
        }
    }
    struct tern_sim_link_stats st;
    CHECK_EQ(tern_sim_link_stats(n.sim, n.link, 0, &st), TERN_OK);
    CHECK_EQ(st.sent, 5);
    CHECK_EQ(st.lost_queue, 3);
    CHECK_EQ(st.delivered, 2);
    /* Once the queue has drained, the link takes packets again; serialization
     * starts when the packet arrives at an idle link. */
    CHECK_EQ(tern_sim_run_until(n.sim, 1000 * MS), TERN_OK);
    CHECK_EQ(ping_now(&n, 6, 56), TERN_OK);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 3);
    CHECK_EQ(n.last_reply_ns, 1000 * MS + 672 * US + 1 * MS); /* b->a is a perfect wire */
    net_close(&n);
}

static void
test_capacity(void)
{
    struct tern_link_params ab = params(10 * MS, 0);
    ab.max_in_flight = 3;
    struct net n;
    net_open(&n, 1, &ab, NULL);
    for (uint16_t i = 1; i <= 5; i++) {
        CHECK_EQ(ping_now(&n, i, 56), TERN_OK);
    }
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 3);
    struct tern_sim_link_stats st;
    tern_sim_link_stats(n.sim, n.link, 0, &st);
    CHECK_EQ(st.lost_capacity, 2);
    CHECK_EQ(rec_get(&n.rec, TERN_SIM_EV_LOST, 4)->loss, TERN_SIM_LOSS_CAPACITY);
    net_close(&n);
}

/* Sends `count` requests a->b over a link with `p` one way, returns stats. */
static struct tern_sim_link_stats
rate_run(const struct tern_link_params *p, int count, struct net *n)
{
    net_open(n, 99, p, NULL);
    struct pinger pg;
    pinger_start(&pg, n, count, 1 * MS, 56);
    CHECK_EQ(tern_sim_run(n->sim, 0), TERN_OK);
    struct tern_sim_link_stats st;
    tern_sim_link_stats(n->sim, n->link, 0, &st);
    return st;
}

static void
test_rates(void)
{
    const int count = 4000;
    struct net n;
    struct tern_link_params p = params(10 * MS, 0);

    p.loss_ppm = 100000; /* 10 % */
    struct tern_sim_link_stats st = rate_run(&p, count, &n);
    CHECK(st.lost_random > 320 && st.lost_random < 480);
    CHECK_EQ(n.replies, count - (int)st.lost_random);
    net_close(&n);

    p = params(10 * MS, 0);
    p.dup_ppm = 50000; /* 5 % */
    st = rate_run(&p, count, &n);
    CHECK(st.duplicated > 140 && st.duplicated < 260);
    CHECK_EQ(st.delivered, (uint64_t)count + st.duplicated);
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_DUPLICATED, 0), st.duplicated);
    /* b answers every copy, so a hears each duplicated request twice. */
    CHECK_EQ(n.replies, count + (int)st.duplicated);
    net_close(&n);

    p = params(10 * MS, 0);
    p.reorder_ppm = 50000;
    st = rate_run(&p, count, &n);
    CHECK(st.reordered > 140 && st.reordered < 260);
    int out_of_order = 0;
    for (int i = 1; i < n.replies && i < 4096; i++) {
        out_of_order += n.reply_seqs[i] < n.reply_seqs[i - 1];
    }
    CHECK(out_of_order > 100);
    CHECK_EQ(n.replies, count);
    net_close(&n);

    p = params(10 * MS, 0);
    p.corrupt_ppm = 50000;
    st = rate_run(&p, count, &n);
    CHECK(st.corrupted > 140 && st.corrupted < 260);
    /* A single flipped bit never gets past the IPv4 and ICMP checksums (or
     * the header sanity checks before them): b drops every corrupted one. */
    const struct tern_stats *sb = tern_stack_stats(tern_sim_host_stack(n.sim, n.b));
    CHECK_EQ(tern_stats_drops_total(sb), st.corrupted);
    CHECK_EQ(n.replies, count - (int)st.corrupted);
    for (size_t i = 0; i < n.rec.n; i++) {
        const struct rec_ev *e = &n.rec.ev[i];
        if (e->kind == TERN_SIM_EV_CORRUPTED) {
            CHECK(e->bit < e->len * 8);
            CHECK(e->corrupted);
        }
    }
    net_close(&n);
}

/* A link's randomness depends on the seed and its id only, not on traffic
 * elsewhere. */
static void
test_links_independent(void)
{
    struct tern_link_params p = params(1 * MS, 500 * US);
    p.loss_ppm = 200000;
    struct net n1;
    net_open(&n1, 42, &p, &p);
    struct pinger pg;
    pinger_start(&pg, &n1, 300, 1 * MS, 56);
    tern_sim_run(n1.sim, 0);

    /* Same network plus two more hosts on a second link, busy and lossy. */
    struct net n2;
    net_open(&n2, 42, &p, &p);
    struct tern_config cfg;
    int c, d, l2;
    host_config(&cfg, TERN_IPV4(192, 0, 2, 3), 33);
    CHECK_EQ(tern_sim_add_host(n2.sim, "c", &cfg, &c), TERN_OK);
    host_config(&cfg, TERN_IPV4(192, 0, 2, 4), 44);
    CHECK_EQ(tern_sim_add_host(n2.sim, "d", &cfg, &d), TERN_OK);
    CHECK_EQ(tern_sim_link(n2.sim, c, 0, d, 0, &p, &p, &l2), TERN_OK);
    struct pinger pg2;
    pinger_start(&pg2, &n2, 300, 1 * MS, 56);
    uint8_t x[10] = {0};
    for (int i = 0; i < 500; i++) {
        tern_icmp_echo_send(tern_sim_host_stack(n2.sim, c), TERN_IPV4(192, 0, 2, 4), 9, (uint16_t)i,
                            x, sizeof(x), tern_sim_now(n2.sim));
        tern_sim_run_until(n2.sim, tern_sim_now(n2.sim) + 300 * US);
    }
    tern_sim_run(n2.sim, 0);

    /* Compare the fate of link 0's packets, in order. */
    size_t i = 0, j = 0, compared = 0;
    for (;;) {
        while (i < n1.rec.n && !(n1.rec.ev[i].kind == TERN_SIM_EV_SENT && n1.rec.ev[i].link == 0)) {
            i++;
        }
        while (j < n2.rec.n && !(n2.rec.ev[j].kind == TERN_SIM_EV_SENT && n2.rec.ev[j].link == 0)) {
            j++;
        }
        if (i >= n1.rec.n || j >= n2.rec.n) {
            break;
        }
        CHECK_EQ(n1.rec.ev[i].arrive - n1.rec.ev[i].now, n2.rec.ev[j].arrive - n2.rec.ev[j].now);
        CHECK_EQ(n1.rec.ev[i].loss, n2.rec.ev[j].loss);
        i++;
        j++;
        compared++;
    }
    CHECK(compared > 400);
    CHECK_EQ(n1.replies, n2.replies);
    net_close(&n1);
    net_close(&n2);
}

static int restart_calls;

static void
on_restart(void *ctx, struct tern_sim *sim, int host, struct tern_stack *st)
{
    (void)sim;
    (void)host;
    restart_calls++;
    struct net *n = ctx;
    if (host == n->a) {
        tern_icmp_set_echo_handler(st, on_reply, n);
    }
}

static void
test_crash_restart(void)
{
    struct tern_link_params p = params(10 * MS, 0);
    struct net n;
    net_open(&n, 1, &p, &p);
    restart_calls = 0;
    tern_sim_set_restart_handler(n.sim, on_restart, &n);

    /* A request in flight when b crashes is lost at arrival: host down. */
    CHECK_EQ(ping_now(&n, 1, 56), TERN_OK);
    CHECK_EQ(tern_sim_run_until(n.sim, 5 * MS), TERN_OK);
    CHECK_EQ(tern_sim_crash(n.sim, n.b), TERN_OK);
    CHECK(tern_sim_host_stack(n.sim, n.b) == NULL);
    CHECK_EQ(tern_sim_crash(n.sim, n.b), TERN_ERR_STATE);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 0);
    const struct rec_ev *l = rec_find(&n.rec, TERN_SIM_EV_LOST, 1);
    CHECK(l != NULL);
    if (l) {
        CHECK_EQ(l->loss, TERN_SIM_LOSS_HOST_DOWN);
        CHECK_EQ(l->now, 10 * MS);
    }
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_HOST_CRASH, -1), 1);
    struct tern_sim_link_stats st;
    tern_sim_link_stats(n.sim, n.link, 0, &st);
    CHECK_EQ(st.lost_host_down, 1);

    /* Restart: a fresh stack that answers again. */
    CHECK_EQ(tern_sim_restart(n.sim, n.b), TERN_OK);
    CHECK_EQ(tern_sim_restart(n.sim, n.b), TERN_ERR_STATE);
    CHECK(tern_sim_host_stack(n.sim, n.b) != NULL);
    CHECK_EQ(restart_calls, 1);
    CHECK_EQ(tern_stack_stats(tern_sim_host_stack(n.sim, n.b))->ip.rx, 0);
    CHECK_EQ(ping_now(&n, 2, 56), TERN_OK);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 1);

    /* Crash and restart the pinging side: the restart handler re-registers
     * the echo handler on the new stack. */
    CHECK_EQ(tern_sim_crash(n.sim, n.a), TERN_OK);
    CHECK_EQ(tern_sim_restart(n.sim, n.a), TERN_OK);
    CHECK_EQ(restart_calls, 2);
    CHECK_EQ(ping_now(&n, 3, 56), TERN_OK);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 2);
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_HOST_RESTART, -1), 2);
    CHECK_EQ(tern_sim_crash(n.sim, 7), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_restart(n.sim, -1), TERN_ERR_INVAL);
    net_close(&n);
}

/* Filter: hold packet 1, drop packet 2, delay packet 3 by 7 ms, hold 4. */
static enum tern_sim_action
test_filter_fn(void *ctx, const struct tern_sim_packet *pkt, int64_t *delay_ns)
{
    int *calls = ctx;
    (*calls)++;
    if (pkt->dir != 0) {
        return TERN_SIM_PASS;
    }
    switch (pkt->id) {
    case 1:
    case 4:
        return TERN_SIM_HOLD;
    case 2:
        return TERN_SIM_DROP;
    case 3:
        *delay_ns = 7 * MS;
        return TERN_SIM_DELAY;
    default:
        return TERN_SIM_PASS;
    }
}

static void
test_filter(void)
{
    struct tern_link_params p = params(1 * MS, 0);
    struct net n;
    net_open(&n, 1, &p, &p);
    int calls = 0;
    tern_sim_set_filter(n.sim, test_filter_fn, &calls);
    for (uint16_t i = 1; i <= 4; i++) {
        CHECK_EQ(ping_now(&n, i, 56), TERN_OK); /* packets 1..4 */
    }
    CHECK_EQ(calls, 4);
    CHECK_EQ(tern_sim_held_count(n.sim), 2);
    CHECK(rec_find(&n.rec, TERN_SIM_EV_HELD, 1) != NULL);
    CHECK(rec_find(&n.rec, TERN_SIM_EV_HELD, 4) != NULL);
    CHECK_EQ(rec_get(&n.rec, TERN_SIM_EV_SENT, 1)->arrive, -1);
    CHECK_EQ(rec_get(&n.rec, TERN_SIM_EV_LOST, 2)->loss, TERN_SIM_LOSS_FILTER);
    CHECK_EQ(rec_get(&n.rec, TERN_SIM_EV_SENT, 3)->arrive, 8 * MS);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 1); /* only the delayed one: seq 3 */
    CHECK_EQ(n.reply_seqs[0], 3);
    CHECK_EQ(n.last_reply_ns, 9 * MS);

    /* Release the first held request at 50 ms: it travels from then. */
    CHECK_EQ(tern_sim_run_until(n.sim, 50 * MS), TERN_OK);
    CHECK_EQ(tern_sim_release(n.sim, 1), TERN_OK);
    CHECK_EQ(tern_sim_release(n.sim, 1), TERN_ERR_INVAL);
    const struct rec_ev *r = rec_find(&n.rec, TERN_SIM_EV_RELEASED, 1);
    CHECK(r != NULL);
    if (r) {
        CHECK_EQ(r->now, 50 * MS);
        CHECK_EQ(r->arrive, 51 * MS);
    }
    CHECK_EQ(tern_sim_drop_held(n.sim, 4), TERN_OK);
    CHECK_EQ(tern_sim_drop_held(n.sim, 4), TERN_ERR_INVAL);
    CHECK_EQ(rec_get(&n.rec, TERN_SIM_EV_LOST, 4)->loss, TERN_SIM_LOSS_HELD_DROP);
    CHECK_EQ(tern_sim_held_count(n.sim), 0);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 2);
    CHECK_EQ(n.reply_seqs[1], 1);
    CHECK_EQ(n.last_reply_ns, 52 * MS);
    struct tern_sim_link_stats st;
    tern_sim_link_stats(n.sim, n.link, 0, &st);
    CHECK_EQ(st.held, 2);
    CHECK_EQ(st.delayed, 1);
    CHECK_EQ(st.lost_filter, 2);
    net_close(&n);
}

static uint16_t
csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        s += (uint32_t)p[len - 1] << 8;
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return (uint16_t)~s;
}

/* An echo request from 192.0.2.1 to 192.0.2.2 with 8 data bytes. */
static size_t
build_echo(uint8_t *b, uint16_t seq)
{
    static const uint8_t ip[20] = {0x45, 0, 0,   36, 0x12, 0x34, 0,   0, 64, 1,
                                   0,    0, 192, 0,  2,    1,    192, 0, 2,  2};
    memcpy(b, ip, 20);
    uint16_t c = csum(b, 20);
    b[10] = (uint8_t)(c >> 8);
    b[11] = (uint8_t)c;
    uint8_t *icmp = b + 20;
    memset(icmp, 0, 16);
    icmp[0] = 8;
    icmp[4] = ECHO_ID >> 8;
    icmp[5] = ECHO_ID & 0xff;
    icmp[6] = (uint8_t)(seq >> 8);
    icmp[7] = (uint8_t)seq;
    memcpy(icmp + 8, "injected", 8);
    c = csum(icmp, 16);
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
    return 36;
}

static void
test_inject(void)
{
    struct tern_link_params p = params(2 * MS, 0);
    struct net n;
    net_open(&n, 1, &p, &p);
    uint8_t pkt[64];
    size_t len = build_echo(pkt, 77);
    uint64_t id = 0;
    CHECK_EQ(tern_sim_inject(n.sim, n.b, 0, pkt, len, 5 * MS, &id), TERN_OK);
    CHECK_EQ(id, 1);
    const struct rec_ev *e = rec_find(&n.rec, TERN_SIM_EV_INJECTED, id);
    CHECK(e != NULL);
    if (e) {
        CHECK_EQ(e->arrive, 5 * MS);
        CHECK(e->injected);
        CHECK_EQ(e->link, -1);
    }
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    /* b answered the forged request: the reply went to a over the link. */
    CHECK_EQ(n.replies, 1);
    CHECK_EQ(n.reply_seqs[0], 77);
    CHECK_EQ(n.last_reply_ns, 7 * MS);
    CHECK_EQ(rec_get(&n.rec, TERN_SIM_EV_ARRIVED, id)->now, 5 * MS);

    /* Garbage is delivered as is and counted as a drop by the stack. */
    uint8_t junk[30] = {0x45, 0xff};
    CHECK_EQ(tern_sim_inject(n.sim, n.b, 0, junk, sizeof(junk), tern_sim_now(n.sim), NULL),
             TERN_OK);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK(tern_stats_drops_total(tern_stack_stats(tern_sim_host_stack(n.sim, n.b))) >= 1);

    CHECK_EQ(tern_sim_inject(n.sim, n.b, 1, pkt, len, tern_sim_now(n.sim), NULL), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_inject(n.sim, 9, 0, pkt, len, tern_sim_now(n.sim), NULL), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_inject(n.sim, n.b, 0, pkt, len, tern_sim_now(n.sim) - 1, NULL),
             TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_inject(n.sim, n.b, 0, pkt, 0, tern_sim_now(n.sim), NULL), TERN_ERR_INVAL);
    /* Injected to a crashed host: lost, host down. */
    tern_sim_crash(n.sim, n.b);
    CHECK_EQ(tern_sim_inject(n.sim, n.b, 0, pkt, len, tern_sim_now(n.sim), &id), TERN_OK);
    tern_sim_run(n.sim, 0);
    CHECK_EQ(rec_get(&n.rec, TERN_SIM_EV_LOST, id)->loss, TERN_SIM_LOSS_HOST_DOWN);
    net_close(&n);
}

/* Every packet is born once (SENT, DUPLICATED, INJECTED) and ends exactly
 * once (ARRIVED or LOST); counts agree with the link counters. */
static void
test_observer_complete(void)
{
    struct tern_link_params p = params(2 * MS, 1 * MS);
    p.bandwidth_bps = 2000000;
    p.queue_bytes = 3000;
    p.loss_ppm = 100000;
    p.dup_ppm = 100000;
    p.reorder_ppm = 100000;
    p.corrupt_ppm = 100000;
    struct net n;
    net_open(&n, 17, &p, &p);
    struct pinger pg;
    pinger_start(&pg, &n, 300, 200 * US, 200); /* fast enough to overflow the queue */
    uint8_t pkt[64];
    size_t len = build_echo(pkt, 1);
    tern_sim_inject(n.sim, n.b, 0, pkt, len, 3 * MS, NULL);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);

    uint64_t max_id = 0;
    for (size_t i = 0; i < n.rec.n; i++) {
        max_id = n.rec.ev[i].id > max_id ? n.rec.ev[i].id : max_id;
    }
    CHECK(max_id > 300);
    int *born = calloc(max_id + 1, sizeof(int));
    int *ended = calloc(max_id + 1, sizeof(int));
    for (size_t i = 0; i < n.rec.n; i++) {
        const struct rec_ev *e = &n.rec.ev[i];
        switch (e->kind) {
        case TERN_SIM_EV_SENT:
        case TERN_SIM_EV_DUPLICATED:
        case TERN_SIM_EV_INJECTED:
            CHECK_EQ(born[e->id], 0);
            born[e->id]++;
            break;
        case TERN_SIM_EV_ARRIVED:
        case TERN_SIM_EV_LOST:
            CHECK_EQ(born[e->id], 1);
            ended[e->id]++;
            break;
        case TERN_SIM_EV_CORRUPTED:
        case TERN_SIM_EV_HELD:
        case TERN_SIM_EV_RELEASED:
            CHECK_EQ(born[e->id], 1);
            CHECK_EQ(ended[e->id], 0);
            break;
        case TERN_SIM_EV_HOST_CRASH:
        case TERN_SIM_EV_HOST_RESTART:
            break;
        }
        if (e->kind == TERN_SIM_EV_DUPLICATED) {
            CHECK(e->duplicate);
            CHECK(e->orig_id != e->id);
            CHECK(e->orig_id < e->id);
        }
        /* SENT says the fate: an arrival time, or the loss. */
        if (e->kind == TERN_SIM_EV_SENT) {
            const struct rec_ev *a = rec_find(&n.rec, TERN_SIM_EV_ARRIVED, e->id);
            const struct rec_ev *l = rec_find(&n.rec, TERN_SIM_EV_LOST, e->id);
            CHECK((a != NULL) != (l != NULL));
            if (a) {
                CHECK_EQ(a->now, e->arrive);
            } else if (l) {
                CHECK_EQ(e->arrive, -1);
                CHECK_EQ(e->loss, l->loss);
            }
        }
    }
    for (uint64_t id = 1; id <= max_id; id++) {
        CHECK_EQ(born[id], 1);
        CHECK_EQ(ended[id], 1);
    }
    free(born);
    free(ended);
    for (int dir = 0; dir < 2; dir++) {
        struct tern_sim_link_stats st;
        tern_sim_link_stats(n.sim, n.link, dir, &st);
        CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_SENT, dir), st.sent);
        CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_ARRIVED, dir), st.delivered);
        CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_LOST, dir), st.lost_random + st.lost_queue +
                                                               st.lost_capacity + st.lost_filter +
                                                               st.lost_host_down);
        CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_CORRUPTED, dir), st.corrupted);
        /* Requests come faster than the link drains them; replies are
         * paced by the requests, so only a->b overflows. */
        CHECK(dir == 1 || st.lost_queue > 0);
        CHECK(st.lost_random > 0);
        CHECK(st.duplicated > 0);
        CHECK(st.corrupted > 0);
        CHECK(st.reordered > 0);
    }
    net_close(&n);
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
test_pcap(void)
{
    char path[] = "/tmp/tern_test_sim_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct tern_link_params p = params(3 * MS, 0);
    p.dup_ppm = 1000000; /* a->b: every request twice */
    struct tern_link_params q = params(4 * MS, 0);
    q.corrupt_ppm = 1000000; /* b->a: every reply corrupted */
    struct net n;
    net_open(&n, 1, &p, &q);
    CHECK_EQ(tern_sim_capture(n.sim, n.link, path), TERN_OK);
    CHECK_EQ(tern_sim_capture(n.sim, 5, path), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_run_until(n.sim, 1500 * MS), TERN_OK);
    CHECK_EQ(ping_now(&n, 1, 100), TERN_OK);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    /* One request, its copy, and two replies (one per copy): 4 on the wire. */
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_SENT, -1), 3);
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_DUPLICATED, -1), 1);
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_CORRUPTED, -1), 2);
    CHECK_EQ(tern_sim_capture(n.sim, n.link, NULL), TERN_OK);

    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    uint8_t buf[4096];
    size_t got = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f) {
        fclose(f);
    }
    CHECK(got >= 24);
    CHECK_EQ(le32(buf), 0xa1b23c4d);
    CHECK_EQ(buf[4] | buf[5] << 8, 2);
    CHECK_EQ(buf[6] | buf[7] << 8, 4);
    CHECK_EQ(le32(buf + 8), 0);
    CHECK_EQ(le32(buf + 16), TERN_PCAP_SNAPLEN_MAX);
    CHECK_EQ(le32(buf + 20), TERN_PCAP_LINKTYPE_RAW);
    /* Records in wire order: request (1.5 s), its copy (1.5 s), and the two
     * corrupted replies (1.503 s). */
    size_t off = 24;
    int records = 0;
    while (off + 16 <= got) {
        uint32_t sec = le32(buf + off), nsec = le32(buf + off + 4);
        uint32_t caplen = le32(buf + off + 8), origlen = le32(buf + off + 12);
        CHECK_EQ(caplen, origlen);
        CHECK_EQ(caplen, 128);
        CHECK(off + 16 + caplen <= got);
        int64_t ts = (int64_t)sec * 1000000000LL + nsec;
        CHECK_EQ(ts, records < 2 ? 1500 * MS : 1503 * MS);
        records++;
        off += 16 + caplen;
    }
    CHECK_EQ(records, 4);
    CHECK_EQ(off, got);
    /* The second reply record carries the flipped bit: bytes differ from an
     * uncorrupted reply in exactly one bit. */
    const struct rec_ev *c = NULL;
    for (size_t i = 0; i < n.rec.n; i++) {
        if (n.rec.ev[i].kind == TERN_SIM_EV_CORRUPTED) {
            c = &n.rec.ev[i];
            break;
        }
    }
    CHECK(c != NULL);
    if (c != NULL) {
        /* The third record is the first reply; compare with the observer's
         * copy of the corrupted bytes. */
        size_t third = 24 + 2 * (16 + 128) + 16;
        CHECK_MEM(buf + third, c->head, 64);
    }
    net_close(&n);
    unlink(path);
}

static void
test_errors(void)
{
    struct tern_sim *sim;
    CHECK_EQ(tern_sim_new(1, NULL), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_new(1, &sim), TERN_OK);
    struct tern_config cfg;
    int h = 5, l = 5;
    host_config(&cfg, ADDR_A, 1);
    CHECK_EQ(tern_sim_add_host(sim, NULL, NULL, &h), TERN_ERR_INVAL);
    struct tern_config bad = cfg;
    bad.netifs[0].mtu = 20; /* the stack's own check */
    CHECK_EQ(tern_sim_add_host(sim, "x", &bad, &h), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_host_count(sim), 0);
    CHECK_EQ(tern_sim_add_host(sim, NULL, &cfg, &h), TERN_OK);
    CHECK_EQ(h, 0);
    CHECK_STR(tern_sim_host_name(sim, 0), "h0");
    CHECK(tern_sim_host_name(sim, 1) == NULL);
    int h2;
    cfg.n_netifs = 2;
    cfg.netifs[1] = cfg.netifs[0];
    cfg.netifs[1].addr = TERN_IPV4(198, 51, 100, 1);
    CHECK_EQ(tern_sim_add_host(sim, "two", &cfg, &h2), TERN_OK);
    CHECK_EQ(tern_sim_link(sim, 0, 0, 1, 1, NULL, NULL, NULL), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_link(sim, 0, 1, 1, 0, NULL, NULL, &l), TERN_ERR_INVAL); /* h0 has 1 netif */
    CHECK_EQ(tern_sim_link(sim, 0, 0, 2, 0, NULL, NULL, &l), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_link(sim, 1, 0, 1, 0, NULL, NULL, &l), TERN_ERR_INVAL);
    struct tern_link_params p = params(-1, 0);
    CHECK_EQ(tern_sim_link(sim, 0, 0, 1, 0, &p, NULL, &l), TERN_ERR_INVAL);
    p = params(0, 0);
    p.loss_ppm = 1000001;
    CHECK_EQ(tern_sim_link(sim, 0, 0, 1, 0, NULL, &p, &l), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_link(sim, 0, 0, 1, 0, NULL, NULL, &l), TERN_OK);
    CHECK_EQ(l, 0);
    int l2;
    CHECK_EQ(tern_sim_link(sim, 0, 0, 1, 1, NULL, NULL, &l2), TERN_ERR_EXIST);
    CHECK_EQ(tern_sim_link(sim, 1, 1, 1, 0, NULL, NULL, &l2), TERN_ERR_EXIST);
    CHECK_EQ(tern_sim_link_set_params(sim, 0, 2, &p), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_link_set_params(sim, 1, 0, &p), TERN_ERR_INVAL);
    p.loss_ppm = 0;
    CHECK_EQ(tern_sim_link_set_params(sim, 0, 1, &p), TERN_OK);
    struct tern_sim_link_stats st;
    CHECK_EQ(tern_sim_link_stats(sim, 3, 0, &st), TERN_ERR_INVAL);
    CHECK(tern_sim_host_stack(sim, -1) == NULL);
    CHECK(tern_sim_host_stack(sim, 0) != NULL);
    CHECK_EQ(tern_sim_at(sim, -1, NULL, NULL), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_release(sim, 12345), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_drop_held(sim, 12345), TERN_ERR_INVAL);
    CHECK_EQ(tern_sim_capture(sim, 0, "/nonexistent-dir/x.pcap"), TERN_ERR_INVAL);
    CHECK_STR(tern_sim_event_name(TERN_SIM_EV_CORRUPTED), "corrupted");
    CHECK_STR(tern_sim_loss_name(TERN_SIM_LOSS_HOST_DOWN), "host-down");

    /* A transmit context given by the user is ignored: the sim owns it. */
    host_config(&cfg, ADDR_B, 2);
    cfg.netifs[0].transmit_ctx = sim;
    CHECK_EQ(tern_sim_add_host(sim, "c", &cfg, &h), TERN_OK);
    tern_sim_free(sim);
    tern_sim_free(NULL);
}

static int
dummy_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)ctx;
    (void)netif;
    (void)pkt;
    (void)len;
    (void)next_hop;
    return 0;
}

static void
test_transmit_refused(void)
{
    struct tern_sim *sim;
    CHECK_EQ(tern_sim_new(1, &sim), TERN_OK);
    struct tern_config cfg;
    host_config(&cfg, ADDR_A, 1);
    cfg.netifs[0].transmit = dummy_transmit;
    int h;
    CHECK_EQ(tern_sim_add_host(sim, "a", &cfg, &h), TERN_ERR_INVAL);
    /* An unlinked interface: the packet is reported lost (no link) and the
     * stack is told the driver refused it. */
    cfg.netifs[0].transmit = NULL;
    CHECK_EQ(tern_sim_add_host(sim, "a", &cfg, &h), TERN_OK);
    struct rec rec;
    rec_init(&rec);
    tern_sim_set_observer(sim, observe, &rec);
    uint8_t x[4] = {0};
    tern_icmp_echo_send(tern_sim_host_stack(sim, h), ADDR_B, 1, 1, x, sizeof(x), 0);
    CHECK_EQ(rec_count(&rec, TERN_SIM_EV_SENT, -1), 1);
    const struct rec_ev *l = rec_find(&rec, TERN_SIM_EV_LOST, 1);
    CHECK(l != NULL);
    if (l) {
        CHECK_EQ(l->loss, TERN_SIM_LOSS_NO_LINK);
    }
    CHECK_EQ(tern_stack_stats(tern_sim_host_stack(sim, h))->drops[TERN_DROP_IP_TX_FAILED], 1);
    tern_sim_free(sim);
    rec_free(&rec);
}

struct order_ctx {
    int log[8];
    int n;
};

static void
order_a(void *ctx, struct tern_sim *sim)
{
    struct order_ctx *o = ctx;
    o->log[o->n++] = 1;
    /* Scheduled for now, from an event running now: runs after the events
     * already due now. */
    tern_sim_at(sim, tern_sim_now(sim), order_a, ctx);
}

static void
order_b(void *ctx, struct tern_sim *sim)
{
    (void)sim;
    struct order_ctx *o = ctx;
    o->log[o->n++] = 2;
}

static void
test_event_order_and_bounds(void)
{
    struct tern_sim *sim;
    CHECK_EQ(tern_sim_new(1, &sim), TERN_OK);
    struct order_ctx o = {{0}, 0};
    CHECK_EQ(tern_sim_at(sim, 10, order_a, &o), TERN_OK);
    CHECK_EQ(tern_sim_at(sim, 10, order_b, &o), TERN_OK);
    CHECK_EQ(tern_sim_at(sim, 5, order_b, &o), TERN_OK);
    CHECK_EQ(tern_sim_next_event(sim), 5);
    CHECK(tern_sim_step(sim));
    CHECK_EQ(tern_sim_now(sim), 5);
    CHECK(tern_sim_step(sim));
    CHECK(tern_sim_step(sim));
    CHECK(tern_sim_step(sim));
    CHECK_EQ(o.n, 4);
    CHECK_EQ(o.log[0], 2);
    CHECK_EQ(o.log[1], 1);
    CHECK_EQ(o.log[2], 2);
    CHECK_EQ(o.log[3], 1);
    /* order_a reschedules itself forever at the same instant: the bound stops it. */
    o.n = 0;
    CHECK_EQ(tern_sim_run(sim, 3), TERN_ERR_AGAIN);
    CHECK_EQ(o.n, 3);
    CHECK_EQ(tern_sim_now(sim), 10);
    tern_sim_free(sim);

    CHECK_EQ(tern_sim_new(1, &sim), TERN_OK);
    CHECK(!tern_sim_step(sim));
    CHECK_EQ(tern_sim_run(sim, 0), TERN_OK);
    CHECK_EQ(tern_sim_next_event(sim), INT64_MAX);
    CHECK_EQ(tern_sim_run_until(sim, 1000), TERN_OK);
    CHECK_EQ(tern_sim_now(sim), 1000);
    CHECK_EQ(tern_sim_at(sim, 999, order_b, &o), TERN_ERR_INVAL);
    tern_sim_free(sim);
}

/* A payload over the MTU goes as fragments, one packet each on the link. */
static void
test_fragments(void)
{
    struct tern_link_params p = params(1 * MS, 0);
    struct net n;
    net_open(&n, 1, &p, &p);
    CHECK_EQ(ping_now(&n, 1, 3000), TERN_OK);
    CHECK_EQ(tern_sim_run(n.sim, 0), TERN_OK);
    CHECK_EQ(n.replies, 1);
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_SENT, 0), 3);
    CHECK_EQ(rec_count(&n.rec, TERN_SIM_EV_SENT, 1), 3);
    for (size_t i = 0; i < n.rec.n; i++) {
        CHECK(n.rec.ev[i].len <= 1500);
    }
    net_close(&n);
}

int
main(void)
{
    RUN(test_determinism);
    RUN(test_no_shared_state);
    RUN(test_delay_exact);
    RUN(test_jitter_keeps_order);
    RUN(test_bandwidth_and_queue);
    RUN(test_capacity);
    RUN(test_rates);
    RUN(test_links_independent);
    RUN(test_crash_restart);
    RUN(test_filter);
    RUN(test_inject);
    RUN(test_observer_complete);
    RUN(test_pcap);
    RUN(test_errors);
    RUN(test_transmit_refused);
    RUN(test_event_order_and_bounds);
    RUN(test_fragments);
    return CHECK_DONE();
}
