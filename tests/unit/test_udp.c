/*
 * tests/unit/test_udp.c: UDP over IPv4 (src/udp/udp.c, include/tern/udp.h)
 * between two stacks in the simulator, in virtual time: delivery both ways,
 * demultiplexing, receive queue bounds, truncation and peeking, port
 * unreachable and the error it leaves on a connected socket, broadcast,
 * fragmentation, bind rules, checksums, and a lossy, corrupting link.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/udp.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define ADDR_A  TERN_IPV4(10, 0, 0, 1)
#define ADDR_B  TERN_IPV4(10, 0, 0, 2)
#define ADDR_BC TERN_IPV4(10, 0, 0, 255)
#define MS      1000000LL

struct net {
    struct tern_sim *sim;
    int a, b, link;
    struct tern_stack *sa, *sb;
};

static void
host_config(struct tern_config *cfg, uint32_t addr, uint64_t seed)
{
    tern_config_init(cfg);
    cfg->seed = seed;
    cfg->deterministic = true;
    cfg->n_netifs = 1;
    cfg->netifs[0].addr = addr;
    cfg->netifs[0].prefix_len = 24;
    cfg->netifs[0].mtu = 1500;
}

/* Two hosts; B's ICMP error budget as given (0, 0: the defaults). */
static void
net_open_icmp(struct net *n, const struct tern_link_params *p, uint32_t rate, uint32_t burst)
{
    memset(n, 0, sizeof(*n));
    CHECK_EQ(tern_sim_new(7, &n->sim), TERN_OK);
    struct tern_config cfg;
    host_config(&cfg, ADDR_A, 11);
    CHECK_EQ(tern_sim_add_host(n->sim, "a", &cfg, &n->a), TERN_OK);
    host_config(&cfg, ADDR_B, 22);
    cfg.icmp_error_rate = rate;
    cfg.icmp_error_burst = burst;
    CHECK_EQ(tern_sim_add_host(n->sim, "b", &cfg, &n->b), TERN_OK);
    CHECK_EQ(tern_sim_link(n->sim, n->a, 0, n->b, 0, p, p, &n->link), TERN_OK);
    n->sa = tern_sim_host_stack(n->sim, n->a);
    n->sb = tern_sim_host_stack(n->sim, n->b);
}

static void
net_open(struct net *n, const struct tern_link_params *p)
{
    net_open_icmp(n, p, 0, 0);
}

static int64_t
now(struct net *n)
{
    return tern_sim_now(n->sim);
}

static void
settle(struct net *n)
{
    CHECK_EQ(tern_sim_run_until(n->sim, now(n) + 50 * MS), TERN_OK);
}

static struct tern_udp_addr
v4(uint32_t a, uint16_t port)
{
    return (struct tern_udp_addr){.family = TERN_UDP_AF_INET, .port = port, .v4 = a};
}

static int
open_bound(struct net *n, struct tern_stack *st, uint32_t a, uint16_t port)
{
    int id = tern_udp_open(st, now(n));
    CHECK(id > 0);
    struct tern_udp_addr l = v4(a, port);
    CHECK_EQ(tern_udp_bind(st, id, &l, now(n)), TERN_OK);
    return id;
}

static uint64_t
drops(struct tern_stack *st, enum tern_drop_reason r)
{
    return tern_stack_stats(st)->drops[r];
}

static void
test_both_ways(void)
{
    struct net n;
    net_open(&n, NULL);
    int ua = open_bound(&n, n.sa, 0, 5000);
    int ub = open_bound(&n, n.sb, 0, 7);
    struct tern_udp_addr to = v4(ADDR_B, 7);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, "ping", 4, &to, now(&n)), 4);
    settle(&n);
    CHECK_EQ(tern_udp_events(n.sb, ub), TERN_UDP_EV_READABLE);
    char buf[64];
    struct tern_udp_addr from;
    size_t full = 0;
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, sizeof buf, 0, &from, &full, now(&n)), 4);
    CHECK_MEM(buf, "ping", 4);
    CHECK_EQ(full, 4);
    CHECK_EQ(from.family, TERN_UDP_AF_INET);
    CHECK_EQ(from.v4, ADDR_A);
    CHECK_EQ(from.port, 5000);
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, sizeof buf, 0, NULL, NULL, now(&n)), TERN_ERR_AGAIN);
    /* The answer goes back to where the question came from. */
    CHECK_EQ(tern_udp_sendto(n.sb, ub, "pong!", 5, &from, now(&n)), 5);
    settle(&n);
    CHECK_EQ(tern_udp_recvfrom(n.sa, ua, buf, sizeof buf, 0, &from, NULL, now(&n)), 5);
    CHECK_MEM(buf, "pong!", 5);
    CHECK_EQ(from.v4, ADDR_B);
    CHECK_EQ(from.port, 7);
    /* An empty datagram is a datagram. */
    CHECK_EQ(tern_udp_sendto(n.sa, ua, NULL, 0, &to, now(&n)), 0);
    settle(&n);
    CHECK_EQ(tern_udp_pending(n.sb, ub, NULL), 0);
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, sizeof buf, 0, NULL, &full, now(&n)), 0);
    /* Gathered from pieces of odd lengths (the checksum spans them) and
     * scattered into pieces again. */
    char o1[] = "a", o2[] = "bcd", o3[] = "efghi";
    struct tern_udp_vec out[3] = {{o1, 1}, {o2, 3}, {o3, 5}};
    CHECK_EQ(tern_udp_sendv(n.sa, ua, out, 3, &to, now(&n)), 9);
    settle(&n);
    char p1[2], p2[16];
    struct tern_udp_vec in[2] = {{p1, 2}, {p2, sizeof p2}};
    CHECK_EQ(tern_udp_recvv(n.sb, ub, in, 2, 0, NULL, &full, now(&n)), 9);
    CHECK_MEM(p1, "ab", 2);
    CHECK_MEM(p2, "cdefghi", 7);
    CHECK_EQ(drops(n.sb, TERN_DROP_UDP_CHECKSUM), 0);
    CHECK_EQ(tern_stack_stats(n.sa)->udp.tx, 3);
    CHECK_EQ(tern_stack_stats(n.sb)->udp.rx, 3);
    tern_sim_free(n.sim);
}

static void
test_peek_and_truncate(void)
{
    struct net n;
    net_open(&n, NULL);
    int ua = open_bound(&n, n.sa, 0, 5000);
    int ub = open_bound(&n, n.sb, 0, 7);
    struct tern_udp_addr to = v4(ADDR_B, 7);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, "0123456789", 10, &to, now(&n)), 10);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, "abc", 3, &to, now(&n)), 3);
    settle(&n);
    char buf[16];
    size_t full = 0, queued = 0;
    CHECK_EQ(tern_udp_pending(n.sb, ub, &queued), 10);
    CHECK_EQ(queued, 10 + 3 + 2 * 24); /* payloads and record headers */
    /* A peek leaves the datagram; a short read loses the rest of it. */
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, 4, TERN_UDP_PEEK, NULL, &full, now(&n)), 4);
    CHECK_EQ(full, 10);
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, 4, 0, NULL, &full, now(&n)), 4);
    CHECK_MEM(buf, "0123", 4);
    CHECK_EQ(full, 10);
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, sizeof buf, 0, NULL, &full, now(&n)), 3);
    CHECK_MEM(buf, "abc", 3);
    CHECK_EQ(tern_udp_pending(n.sb, ub, &queued), TERN_ERR_AGAIN);
    CHECK_EQ(queued, 0);
    tern_sim_free(n.sim);
}

/* Connected sockets take their peer's datagrams before a wildcard socket
 * on the same port, and only theirs. */
static void
test_demux(void)
{
    struct net n;
    net_open(&n, NULL);
    int a1 = open_bound(&n, n.sa, 0, 5001);
    int a2 = open_bound(&n, n.sa, 0, 5002);
    struct tern_stack *sb = n.sb;
    int wild = tern_udp_open(sb, now(&n));
    int conn = tern_udp_open(sb, now(&n));
    CHECK_EQ(tern_udp_setopt(sb, wild, TERN_UDP_OPT_REUSEADDR, 1), TERN_OK);
    CHECK_EQ(tern_udp_setopt(sb, conn, TERN_UDP_OPT_REUSEADDR, 1), TERN_OK);
    struct tern_udp_addr l = v4(0, 9);
    CHECK_EQ(tern_udp_bind(sb, wild, &l, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_bind(sb, conn, &l, now(&n)), TERN_OK);
    struct tern_udp_addr peer = v4(ADDR_A, 5001);
    CHECK_EQ(tern_udp_connect(sb, conn, &peer, now(&n)), TERN_OK);
    struct tern_udp_addr to = v4(ADDR_B, 9);
    CHECK_EQ(tern_udp_sendto(n.sa, a1, "one", 3, &to, now(&n)), 3);
    CHECK_EQ(tern_udp_sendto(n.sa, a2, "two", 3, &to, now(&n)), 3);
    settle(&n);
    char buf[8];
    struct tern_udp_addr from;
    CHECK_EQ(tern_udp_recvfrom(sb, conn, buf, sizeof buf, 0, &from, NULL, now(&n)), 3);
    CHECK_MEM(buf, "one", 3);
    CHECK_EQ(tern_udp_recvfrom(sb, conn, buf, sizeof buf, 0, &from, NULL, now(&n)), TERN_ERR_AGAIN);
    CHECK_EQ(tern_udp_recvfrom(sb, wild, buf, sizeof buf, 0, &from, NULL, now(&n)), 3);
    CHECK_MEM(buf, "two", 3);
    CHECK_EQ(from.port, 5002);
    /* Disconnected, the socket is a wildcard again; the connected one no
     * longer matches anything from 5002 once the wildcard is closed. */
    CHECK_EQ(tern_udp_close(sb, wild, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_sendto(n.sa, a2, "xyz", 3, &to, now(&n)), 3);
    settle(&n);
    CHECK_EQ(tern_udp_pending(sb, conn, NULL), TERN_ERR_AGAIN);
    CHECK_EQ(drops(sb, TERN_DROP_UDP_NO_PORT), 1);
    struct tern_udp_addr none = {.family = TERN_UDP_AF_UNSPEC};
    CHECK_EQ(tern_udp_connect(sb, conn, &none, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_sendto(n.sa, a2, "xyz", 3, &to, now(&n)), 3);
    settle(&n);
    CHECK_EQ(tern_udp_recvfrom(sb, conn, buf, sizeof buf, 0, &from, NULL, now(&n)), 3);
    CHECK_EQ(from.port, 5002);
    tern_sim_free(n.sim);
}

/* RFC 1122 4.1.3.1 and 4.1.3.3: no socket, port unreachable; a connected
 * sender learns it as REFUSED on its next call, once. */
static void
test_port_unreachable(void)
{
    struct net n;
    net_open(&n, NULL);
    int ua = tern_udp_open(n.sa, now(&n));
    struct tern_udp_addr peer = v4(ADDR_B, 4444);
    CHECK_EQ(tern_udp_connect(n.sa, ua, &peer, now(&n)), TERN_OK);
    struct tern_udp_addr me;
    CHECK_EQ(tern_udp_name(n.sa, ua, &me, NULL), TERN_OK);
    CHECK(me.port >= 49152);
    CHECK_EQ(me.v4, ADDR_A);
    int other = open_bound(&n, n.sa, 0, 6000); /* not connected: not told */
    CHECK_EQ(tern_udp_send(n.sa, ua, "x", 1, now(&n)), 1);
    struct tern_udp_addr to = v4(ADDR_B, 4445);
    CHECK_EQ(tern_udp_sendto(n.sa, other, "y", 1, &to, now(&n)), 1);
    settle(&n);
    CHECK_EQ(drops(n.sb, TERN_DROP_UDP_NO_PORT), 2);
    CHECK_EQ(tern_stack_stats(n.sb)->icmp.tx_error, 2);
    CHECK_EQ(tern_udp_events(n.sa, ua), TERN_UDP_EV_ERROR);
    CHECK_EQ(tern_udp_events(n.sa, other), 0);
    CHECK_EQ(drops(n.sa, TERN_DROP_UDP_ICMP_NO_SOCKET), 1);
    char buf[4];
    CHECK_EQ(tern_udp_recvfrom(n.sa, ua, buf, sizeof buf, 0, NULL, NULL, now(&n)),
             TERN_ERR_REFUSED);
    CHECK_EQ(tern_udp_recvfrom(n.sa, ua, buf, sizeof buf, 0, NULL, NULL, now(&n)), TERN_ERR_AGAIN);
    /* Again, this time seen by the send. */
    CHECK_EQ(tern_udp_send(n.sa, ua, "x", 1, now(&n)), 1);
    settle(&n);
    CHECK_EQ(tern_udp_send(n.sa, ua, "x", 1, now(&n)), TERN_ERR_REFUSED);
    CHECK_EQ(tern_udp_error(n.sa, ua), 0);
    /* A broadcast to a port nobody has gets no ICMP (RFC 1122 3.2.2). */
    CHECK_EQ(tern_udp_setopt(n.sa, other, TERN_UDP_OPT_BROADCAST, 1), TERN_OK);
    struct tern_udp_addr bc = v4(ADDR_BC, 4446);
    CHECK_EQ(tern_udp_sendto(n.sa, other, "z", 1, &bc, now(&n)), 1);
    settle(&n);
    CHECK_EQ(drops(n.sb, TERN_DROP_UDP_NO_PORT), 4);
    CHECK_EQ(tern_stack_stats(n.sb)->icmp.tx_error, 3);
    tern_sim_free(n.sim);
}

/* RFC 1812 4.3.2.8: port unreachables come out of a token bucket; what
 * it holds back is counted, and it refills with time. */
static void
test_icmp_rate_limit(void)
{
    struct net n;
    net_open_icmp(&n, NULL, 10, 5);
    int ua = open_bound(&n, n.sa, 0, 5000);
    struct tern_udp_addr to = v4(ADDR_B, 4444);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(tern_udp_sendto(n.sa, ua, "x", 1, &to, now(&n)), 1);
    }
    settle(&n);
    const struct tern_stats *sb = tern_stack_stats(n.sb);
    CHECK_EQ(sb->drops[TERN_DROP_UDP_NO_PORT], 20);
    CHECK_EQ(sb->icmp.tx_error, 5);
    CHECK_EQ(sb->drops[TERN_DROP_ICMP_RATE_LIMIT], 15);
    /* Half a second later: five more tokens at 10 per second. */
    CHECK_EQ(tern_sim_run_until(n.sim, now(&n) + 500 * MS), TERN_OK);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(tern_udp_sendto(n.sa, ua, "x", 1, &to, now(&n)), 1);
    }
    settle(&n);
    CHECK(sb->icmp.tx_error >= 9 && sb->icmp.tx_error <= 11);
    CHECK_EQ(sb->icmp.tx_error + sb->drops[TERN_DROP_ICMP_RATE_LIMIT], 40);
    tern_sim_free(n.sim);
    /* The default budget (50 at once) lets a small burst through whole. */
    net_open(&n, NULL);
    ua = open_bound(&n, n.sa, 0, 5000);
    for (int i = 0; i < 60; i++) {
        CHECK_EQ(tern_udp_sendto(n.sa, ua, "x", 1, &to, now(&n)), 1);
    }
    settle(&n);
    sb = tern_stack_stats(n.sb);
    CHECK(sb->icmp.tx_error >= 50 && sb->icmp.tx_error < 60);
    tern_sim_free(n.sim);
}

static void
test_broadcast(void)
{
    struct net n;
    net_open(&n, NULL);
    int ua = open_bound(&n, n.sa, 0, 5000);
    int b1 = tern_udp_open(n.sb, now(&n));
    int b2 = tern_udp_open(n.sb, now(&n));
    tern_udp_setopt(n.sb, b1, TERN_UDP_OPT_REUSEADDR, 1);
    tern_udp_setopt(n.sb, b2, TERN_UDP_OPT_REUSEADDR, 1);
    struct tern_udp_addr l = v4(0, 67);
    CHECK_EQ(tern_udp_bind(n.sb, b1, &l, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_bind(n.sb, b2, &l, now(&n)), TERN_OK);
    struct tern_udp_addr bc = v4(ADDR_BC, 67), lim = v4(0xffffffffu, 67);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, "hi", 2, &bc, now(&n)), TERN_ERR_ACCESS);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, "hi", 2, &lim, now(&n)), TERN_ERR_ACCESS);
    CHECK_EQ(tern_udp_connect(n.sa, ua, &bc, now(&n)), TERN_ERR_ACCESS);
    CHECK_EQ(tern_udp_setopt(n.sa, ua, TERN_UDP_OPT_BROADCAST, 1), TERN_OK);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, "hi", 2, &bc, now(&n)), 2);
    settle(&n);
    /* Every socket on the port gets its copy. */
    CHECK_EQ(tern_udp_pending(n.sb, b1, NULL), 2);
    CHECK_EQ(tern_udp_pending(n.sb, b2, NULL), 2);
    tern_sim_free(n.sim);
}

/* RFC 8085 3.1: the queue is bounded; what does not fit is dropped and
 * counted, and the memory comes back from the pool. */
static void
test_queue_bound(void)
{
    struct net n;
    net_open(&n, NULL);
    int ua = open_bound(&n, n.sa, 0, 5000);
    int ub = open_bound(&n, n.sb, 0, 7);
    uint64_t avail0 = tern_stack_stats(n.sb)->pool.avail;
    CHECK_EQ(tern_udp_setopt(n.sb, ub, TERN_UDP_OPT_RCVBUF, 100), TERN_ERR_INVAL);
    CHECK_EQ(tern_udp_setopt(n.sb, ub, TERN_UDP_OPT_RCVBUF, 1000), TERN_OK);
    uint8_t pay[200];
    memset(pay, 0x5a, sizeof pay);
    struct tern_udp_addr to = v4(ADDR_B, 7);
    for (int i = 0; i < 10; i++) {
        pay[0] = (uint8_t)i;
        CHECK_EQ(tern_udp_sendto(n.sa, ua, pay, sizeof pay, &to, now(&n)), 200);
    }
    settle(&n);
    /* 224 bytes a record: 4 fit in 1000. */
    size_t queued = 0;
    CHECK_EQ(tern_udp_pending(n.sb, ub, &queued), 200);
    CHECK_EQ(queued, 4 * 224);
    CHECK_EQ(drops(n.sb, TERN_DROP_UDP_RCVBUF_FULL), 6);
    CHECK(tern_stack_stats(n.sb)->pool.avail < avail0);
    uint8_t got[256];
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(tern_udp_recvfrom(n.sb, ub, got, sizeof got, 0, NULL, NULL, now(&n)), 200);
        CHECK_EQ(got[0], i);
    }
    CHECK_EQ(tern_stack_stats(n.sb)->pool.avail, avail0);
    /* Queued datagrams are freed by close. */
    CHECK_EQ(tern_udp_sendto(n.sa, ua, pay, sizeof pay, &to, now(&n)), 200);
    settle(&n);
    CHECK(tern_stack_stats(n.sb)->pool.avail < avail0);
    CHECK_EQ(tern_udp_close(n.sb, ub, now(&n)), TERN_OK);
    CHECK_EQ(tern_stack_stats(n.sb)->pool.avail, avail0);
    CHECK_EQ(tern_udp_pending(n.sb, ub, NULL), TERN_ERR_NOTCONN);
    tern_sim_free(n.sim);
}

/* Larger than the MTU: IP fragments it and the peer reassembles it; larger
 * than IPv4 can carry: refused. */
static void
test_fragmented(void)
{
    struct net n;
    net_open(&n, NULL);
    int ua = open_bound(&n, n.sa, 0, 5000);
    int ub = open_bound(&n, n.sb, 0, 7);
    static uint8_t big[TERN_UDP_MAX_PAYLOAD + 1], got[8000];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 7 + 3);
    }
    struct tern_udp_addr to = v4(ADDR_B, 7);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, big, sizeof big, &to, now(&n)), TERN_ERR_MSGSIZE);
    CHECK_EQ(tern_udp_sendto(n.sa, ua, big, 4000, &to, now(&n)), 4000);
    CHECK_EQ(tern_stack_stats(n.sa)->ip.tx_fragmented, 1);
    settle(&n);
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, got, sizeof got, 0, NULL, NULL, now(&n)), 4000);
    CHECK_MEM(got, big, 4000);
    tern_sim_free(n.sim);
}

static void
test_bind_rules(void)
{
    struct net n;
    net_open(&n, NULL);
    struct tern_stack *st = n.sa;
    int s1 = open_bound(&n, st, 0, 53);
    int s2 = tern_udp_open(st, now(&n));
    struct tern_udp_addr l = v4(0, 53), mine = v4(ADDR_A, 53), far = v4(ADDR_B, 53);
    CHECK_EQ(tern_udp_bind(st, s2, &l, now(&n)), TERN_ERR_EXIST);
    CHECK_EQ(tern_udp_bind(st, s2, &mine, now(&n)), TERN_ERR_EXIST); /* overlaps any */
    CHECK_EQ(tern_udp_bind(st, s2, &far, now(&n)), TERN_ERR_INVAL);  /* not ours */
    /* Sharing needs both sides to agree. */
    CHECK_EQ(tern_udp_setopt(st, s2, TERN_UDP_OPT_REUSEADDR, 1), TERN_OK);
    CHECK_EQ(tern_udp_bind(st, s2, &l, now(&n)), TERN_ERR_EXIST);
    CHECK_EQ(tern_udp_setopt(st, s1, TERN_UDP_OPT_REUSEADDR, 1), TERN_OK);
    CHECK_EQ(tern_udp_bind(st, s2, &l, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_bind(st, s2, &l, now(&n)), TERN_ERR_INVAL); /* bound already */
    /* Ephemeral ports come from the configured range and differ. */
    struct tern_udp_addr any = v4(0, 0), got;
    int e1 = tern_udp_open(st, now(&n)), e2 = tern_udp_open(st, now(&n));
    CHECK_EQ(tern_udp_bind(st, e1, &any, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_bind(st, e2, &any, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_name(st, e1, &got, NULL), TERN_OK);
    uint16_t p1 = got.port;
    CHECK_EQ(tern_udp_name(st, e2, &got, NULL), TERN_OK);
    CHECK(p1 >= 49152 && got.port >= 49152 && p1 != got.port);
    /* A send needs a destination; the table has a size. */
    CHECK_EQ(tern_udp_send(st, e1, "x", 1, now(&n)), TERN_ERR_NOTCONN);
    struct tern_udp_addr bad = {.family = 6, .port = 1};
    CHECK_EQ(tern_udp_sendto(st, e1, "x", 1, &bad, now(&n)), TERN_ERR_INVAL);
    int opened = 4;
    while (tern_udp_open(st, now(&n)) > 0) {
        opened++;
    }
    CHECK_EQ(opened, 32);
    CHECK_EQ(tern_udp_close(st, e1, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_close(st, e1, now(&n)), TERN_ERR_NOTCONN);
    CHECK(tern_udp_open(st, now(&n)) == e1);
    tern_sim_free(n.sim);
}

/* Datagrams built by hand into B: a zero checksum is "none" (RFC 768), a
 * wrong one is dropped silently (RFC 1122 4.1.3.4), short ones counted. */
static size_t
mk_udp(uint8_t *pkt, uint16_t csum_override, bool override, size_t ulen_field)
{
    static const char pay[] = "handmade";
    size_t n = 8 + 8;
    uint8_t *u = pkt + WIRE_IPV4_HDR_LEN;
    memcpy(u + 8, pay, 8);
    wire_udp_emit_hdr(u, ADDR_A, 1234, ADDR_B, 7, 8, wire_csum_add(0, pay, 8));
    if (override) {
        u[6] = (uint8_t)(csum_override >> 8);
        u[7] = (uint8_t)csum_override;
    }
    u[4] = (uint8_t)(ulen_field >> 8);
    u[5] = (uint8_t)ulen_field;
    struct wire_ipv4 h = {.ttl = 64,
                          .proto = WIRE_IPPROTO_UDP,
                          .src = ADDR_A,
                          .dst = ADDR_B,
                          .total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n)};
    wire_ipv4_emit(&h, pkt);
    return WIRE_IPV4_HDR_LEN + n;
}

static void
test_handmade_input(void)
{
    struct net n;
    net_open(&n, NULL);
    int ub = open_bound(&n, n.sb, 0, 7);
    uint8_t pkt[64];
    size_t len = mk_udp(pkt, 0, false, 16);
    CHECK(len == 36);
    CHECK_EQ(tern_stack_input(n.sb, 0, pkt, len, now(&n)), TERN_OK);
    CHECK_EQ(tern_udp_pending(n.sb, ub, NULL), 8);
    len = mk_udp(pkt, 0, true, 16); /* no checksum */
    CHECK_EQ(tern_stack_input(n.sb, 0, pkt, len, now(&n)), TERN_OK);
    len = mk_udp(pkt, 0x1234, true, 16); /* wrong */
    CHECK_EQ(tern_stack_input(n.sb, 0, pkt, len, now(&n)), TERN_OK);
    CHECK_EQ(drops(n.sb, TERN_DROP_UDP_CHECKSUM), 1);
    len = mk_udp(pkt, 0, true, 17); /* longer than the IP payload */
    CHECK_EQ(tern_stack_input(n.sb, 0, pkt, len, now(&n)), TERN_OK);
    CHECK_EQ(drops(n.sb, TERN_DROP_UDP_LENGTH), 1);
    CHECK_EQ(tern_stack_stats(n.sb)->udp.rx, 2);
    char buf[16];
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, sizeof buf, 0, NULL, NULL, now(&n)), 8);
    CHECK_EQ(tern_udp_recvfrom(n.sb, ub, buf, sizeof buf, 0, NULL, NULL, now(&n)), 8);
    CHECK_MEM(buf, "handmade", 8);
    tern_sim_free(n.sim);
}

enum { N = 400 };

/* Reads what waits on ub: each a datagram of test_lossy_link, intact and
 * not seen before. Returns how many. */
static unsigned
take_lossy(struct net *np, int ub, bool *seen)
{
    struct net n = *np;
    unsigned got = 0;
    uint8_t r[128];
    int k;
    while ((k = tern_udp_recvfrom(n.sb, ub, r, sizeof r, 0, NULL, NULL, now(&n))) >= 0) {
        CHECK_EQ(k, 100);
        int j = r[0] << 8 | r[1];
        CHECK(j >= 0 && j < N && !seen[j]);
        if (j >= 0 && j < N) {
            seen[j] = true;
            bool ok = true;
            for (size_t q = 2; q < 100; q++) {
                ok &= r[q] == (uint8_t)(j * 31 + q);
            }
            CHECK(ok);
        }
        got++;
    }
    return got;
}

/* A link that loses, corrupts and reorders: every datagram that arrives is
 * intact and arrives once; the corrupted ones are counted as drops. */
static void
test_lossy_link(void)
{
    struct tern_link_params p;
    tern_link_params_init(&p);
    p.delay_ns = 2 * MS;
    p.loss_ppm = 100000;
    p.corrupt_ppm = 100000;
    p.reorder_ppm = 100000;
    struct net n;
    net_open(&n, &p);
    int ua = open_bound(&n, n.sa, 0, 5000);
    int ub = open_bound(&n, n.sb, 0, 7);
    CHECK_EQ(tern_udp_setopt(n.sb, ub, TERN_UDP_OPT_RCVBUF, 1u << 20), TERN_OK);
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    struct tern_udp_addr to = v4(ADDR_B, 7);
    unsigned got = 0;
    for (int i = 0; i < N; i++) {
        uint8_t pay[100];
        for (size_t k = 0; k < sizeof pay; k++) {
            pay[k] = (uint8_t)(i * 31 + k);
        }
        pay[0] = (uint8_t)(i >> 8);
        pay[1] = (uint8_t)i;
        CHECK_EQ(tern_udp_sendto(n.sa, ua, pay, sizeof pay, &to, now(&n)), 100);
        CHECK_EQ(tern_sim_run_until(n.sim, now(&n) + MS), TERN_OK);
        got += take_lossy(&n, ub, seen);
    }
    settle(&n);
    got += take_lossy(&n, ub, seen);
    struct tern_sim_link_stats ls;
    CHECK_EQ(tern_sim_link_stats(n.sim, n.link, 0, &ls), TERN_OK);
    const struct tern_stats *sb = tern_stack_stats(n.sb);
    uint64_t bad = sb->drops[TERN_DROP_UDP_CHECKSUM] + sb->drops[TERN_DROP_IP_CHECKSUM] +
                   sb->drops[TERN_DROP_UDP_LENGTH];
    CHECK(ls.lost_random > 0 && ls.corrupted > 0);
    CHECK(got > N / 2 && got < N);
    /* Every corrupted packet was caught (a bit in the header fields ip does
     * not check may drop it elsewhere: counted as some drop). */
    CHECK(tern_stats_drops_total(sb) >= ls.corrupted);
    CHECK(bad > 0);
    CHECK_EQ(got + ls.lost_random + ls.corrupted, (uint64_t)N);
    tern_sim_free(n.sim);
}

int
main(void)
{
    RUN(test_both_ways);
    RUN(test_peek_and_truncate);
    RUN(test_demux);
    RUN(test_port_unreachable);
    RUN(test_icmp_rate_limit);
    RUN(test_broadcast);
    RUN(test_queue_bound);
    RUN(test_fragmented);
    RUN(test_bind_rules);
    RUN(test_handmade_input);
    RUN(test_lossy_link);
    return CHECK_DONE();
}
