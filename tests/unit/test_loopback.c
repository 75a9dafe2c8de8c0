/*
 * tests/unit/test_loopback.c: datagrams a stack sends to one of its own
 * addresses are delivered to itself (src/ip/ip.c loop_queue), never handed
 * to the driver: a TCP connection from a stack to itself.
 */
#include <string.h>

#include "check.h"
#include "tern/stack.h"
#include "tern/tcp.h"

#define ME TERN_IPV4(192, 0, 2, 1)

static int frames; /* what reached the driver */

static int
count_tx(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)ctx, (void)netif, (void)pkt, (void)len, (void)next_hop;
    frames++;
    return 0;
}

static struct tern_stack *
mk(unsigned loop_slots)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.loopback_slots = loop_slots;
    cfg.netifs[0] =
        (struct tern_netif_config){.addr = ME, .prefix_len = 24, .mtu = 1500, .transmit = count_tx};
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_OK);
    return st;
}

/* Runs the stack until nothing is due now (bounded). */
static int64_t
settle(struct tern_stack *st, int64_t now)
{
    for (int i = 0; i < 1000 && tern_stack_next_deadline(st) <= now; i++) {
        tern_stack_poll(st, now);
    }
    return now;
}

/* EVIDENCE: RFC 1122 3.3.4.2 (a datagram for one of our addresses is ours:
 * delivered internally) */
static void
test_tcp_to_self(void)
{
    frames = 0;
    struct tern_stack *st = mk(0);
    struct tern_tcp_open_args l = {.passive = true, .local_port = 80};
    int lid = tern_tcp_open(st, &l, 0);
    CHECK(lid > 0);
    struct tern_tcp_open_args c = {.remote_addr = tern_ip4(ME), .remote_port = 80};
    int cid = tern_tcp_open(st, &c, 0);
    CHECK(cid > 0);
    int64_t now = settle(st, 1000);
    int sid = tern_tcp_accept(st, lid, now);
    CHECK(sid > 0);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(st, cid, &s), TERN_OK);
    CHECK_EQ(s.state, TERN_TCP_ESTABLISHED);
    CHECK_EQ(tern_ip_v4(s.local_addr), ME);
    CHECK_EQ(tern_tcp_send(st, cid, "hello", 5, now), 5);
    now = settle(st, now + 1000);
    char buf[8];
    CHECK_EQ(tern_tcp_recv(st, sid, buf, sizeof(buf), now), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(frames, 0); /* nothing went to the driver */
    CHECK(tern_stack_stats(st)->ip.tx > 0);
    tern_stack_free(st);
}

/* A full loopback queue drops (counted) and TCP recovers by retransmission. */
static void
test_loop_queue_full(void)
{
    frames = 0;
    struct tern_stack *st = mk(1);
    struct tern_tcp_open_args l = {.passive = true, .local_port = 80};
    int lid = tern_tcp_open(st, &l, 0);
    struct tern_tcp_open_args c = {.remote_addr = tern_ip4(ME), .remote_port = 80, .nodelay = true};
    int cid = tern_tcp_open(st, &c, 0);
    int64_t now = settle(st, 1000);
    int sid = tern_tcp_accept(st, lid, now);
    CHECK(sid > 0);
    static char big[12000];
    memset(big, 'x', sizeof(big));
    CHECK(tern_tcp_send(st, cid, big, sizeof(big), now) > 0);
    size_t got = 0;
    for (int i = 0; i < 200 && got < sizeof(big); i++) {
        now = settle(st, now + 100000000); /* 100 ms steps: retransmissions run */
        char b[4096];
        int n;
        while ((n = tern_tcp_recv(st, sid, b, sizeof(b), now)) > 0) {
            got += (size_t)n;
        }
    }
    CHECK_EQ(got, sizeof(big));
    CHECK(tern_stack_stats(st)->drops[TERN_DROP_IP_LOOP_FULL] > 0);
    CHECK_EQ(frames, 0);
    tern_stack_free(st);
}

int
main(void)
{
    RUN(test_tcp_to_self);
    RUN(test_loop_queue_full);
    return CHECK_DONE();
}
