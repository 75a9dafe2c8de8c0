/*
 * tools/bench.c: `tern bench`, the performance figures of the stack and of
 * Linux's kernel TCP on loopback, measured in the same run.
 *
 * In memory. Two tern stacks (10.0.0.1 and 10.0.0.2) live in this process.
 * Each stack's transmit callback copies the datagram into a fixed queue of
 * its own; the loop then hands every queued datagram to the other stack with
 * tern_stack_input(). One pass over both queues is a "round". No impairment.
 *
 * Choice: the stacks run on a virtual clock that the loop advances by 1 us
 * per round; when nothing moves (no datagram queued, no byte sent or read)
 * the clock jumps to the earliest tern_stack_next_deadline() and the stacks
 * are polled. So a transfer that waits on a timer (delayed ACK, RTO) costs
 * no wall time, but the jumps are counted and printed: a bulk figure that
 * needed them is reported, not hidden. Every wall-clock figure (Gbit/s,
 * cycles/s) is measured with CLOCK_MONOTONIC.
 *
 * Only the public API is used (tern/stack.h, tern/tcp.h, tern/sim.h), so the
 * benchmark keeps working while the TCP data path changes underneath.
 *
 * Figures:
 *   bulk goodput at MSS 1460 (MTU 1500) and MSS 65495 (MTU 65535): payload
 *     bytes received and compared with the expected stream (every byte, by
 *     memcmp against the pattern) divided by wall time; the sender makes
 *     one SEND of up to 64 KiB per round, as the Linux sender's send()
 *     calls; the buffers are the largest the stack accepts; bounded by --timeout
 *     and by 600 s of virtual time: a transfer that stops moving is reported
 *     as a stall with the bytes it delivered;
 *   connection cycles per second: OPEN, handshake, accept, then ABORT (RST),
 *     or CLOSE both ways with TIME-WAIT kept on the client (the closing
 *     side). Choice: MSL is 1 ms of virtual time there, so 2 MSL = ~2000
 *     rounds and TIME-WAIT connections do not fill the table;
 *   bytes per idle established connection: bytes the stack holds, counted
 *     through the tern_config allocator hook, for a server stack with N
 *     established children minus an empty one, divided by N (default
 *     tern_config buffers);
 *   a bulk transfer in the simulator over 100 Mbit/s, 10 ms one way, 1 %
 *     loss each way, goodput in virtual time against the link capacity;
 *   Linux on 127.0.0.1: the same bulk transfer (a sender and a receiver
 *     thread, receiver checks every byte), at its default MTU and with
 *     TCP_MAXSEG 1460; the same connection cycles (one thread holds both
 *     ends, as the tern loop does; abort by SO_LINGER 0), and the ratios.
 */
#define _DEFAULT_SOURCE /* TCP_MAXSEG, SO_LINGER on glibc */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/tcp.h"

int tern_cmd_bench(int argc, char **argv);

#define ADDR_A      TERN_IPV4(10, 0, 0, 1)
#define ADDR_B      TERN_IPV4(10, 0, 0, 2)
#define PORT        5001
#define PERIOD      65521u /* pattern period: prime, so segments fall at every offset */
#define TICK_NS     1000   /* virtual time per round */
#define VIRT_MAX_NS (600 * INT64_C(1000000000))
#define MAX_REPS    15

/* ---- Options --------------------------------------------------------------- */

struct opts {
    uint64_t bytes, cycles, impaired_bytes, idle_conns, reps;
    double timeout_s;
    bool json, quick;
    uint64_t bulk_only, cycles_only; /* callgrind modes; 0: off */
};

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: tern bench [options]\n"
            "\n"
            "Two tern stacks joined in memory in this process: bulk goodput at MSS 1460\n"
            "and 65495, connection cycles per second (abort and graceful), bytes per idle\n"
            "connection, a bulk transfer over an impaired simulated link, and Linux TCP\n"
            "on 127.0.0.1 measured in the same run with the ratios tern/Linux.\n"
            "\n"
            "Options:\n"
            "  --bytes N           bulk bytes per transfer (K, M, G suffixes; default 512M)\n"
            "  --cycles N          connection cycles per measurement (default 20000)\n"
            "  --reps N            repetitions, the median is printed (default 3, max %d)\n"
            "  --timeout S         wall seconds one transfer may take (default 30)\n"
            "  --impaired-bytes N  bytes of the simulated impaired transfer (default 8M)\n"
            "  --idle-conns N      connections for the idle-memory figure (default 1000)\n"
            "  --quick             small sizes and one repetition (for tests)\n"
            "  --json              print one JSON object instead of the table\n"
            "  --bulk-only BYTES   only one tern bulk transfer at MSS 1460 (for callgrind)\n"
            "  --cycles-only N     only N tern abort cycles (for callgrind)\n"
            "  -h, --help          show this help and exit\n",
            MAX_REPS);
}

/* "123", "64K", "256M", "1G" (binary multiples). */
static bool
parse_size(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno != 0 || s[0] == '-') {
        return false;
    }
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k') {
        mul = 1024, end++;
    } else if (*end == 'M' || *end == 'm') {
        mul = 1024 * 1024, end++;
    } else if (*end == 'G' || *end == 'g') {
        mul = 1024 * 1024 * 1024, end++;
    }
    if (*end != '\0' || v == 0 || v > max / mul) {
        return false;
    }
    *out = v * mul;
    return true;
}

static int
bad(const char *msg, const char *arg)
{
    fprintf(stderr, "tern bench: %s '%s'; see 'tern bench --help'\n", msg, arg);
    return 2;
}

/* Returns 0, or 2 after a message for a usage error, or -1 for --help. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct {
        const char *name;
        uint64_t max;
        size_t off;
    } sizes[] = {
        {"--bytes", UINT64_C(1) << 40, offsetof(struct opts, bytes)},
        {"--cycles", 100000000, offsetof(struct opts, cycles)},
        {"--reps", MAX_REPS, offsetof(struct opts, reps)},
        {"--impaired-bytes", UINT64_C(1) << 32, offsetof(struct opts, impaired_bytes)},
        {"--idle-conns", 100000, offsetof(struct opts, idle_conns)},
        {"--bulk-only", UINT64_C(1) << 40, offsetof(struct opts, bulk_only)},
        {"--cycles-only", 100000000, offsetof(struct opts, cycles_only)},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            return -1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
            continue;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0] && !known; k++) {
            if (strcmp(a, sizes[k].name) != 0) {
                continue;
            }
            known = true;
            if (i + 1 >= argc) {
                return bad("missing value for", a);
            }
            if (!parse_size(argv[++i], sizes[k].max, (uint64_t *)((char *)o + sizes[k].off))) {
                return bad("bad value for", a);
            }
        }
        if (known) {
            continue;
        }
        if (strcmp(a, "--timeout") == 0) {
            char *end;
            if (i + 1 >= argc) {
                return bad("missing value for", a);
            }
            o->timeout_s = strtod(argv[++i], &end);
            if (*end != '\0' || end == argv[i] || !(o->timeout_s > 0 && o->timeout_s <= 3600)) {
                return bad("bad value for", a);
            }
            continue;
        }
        return bad("unknown option", a);
    }
    return 0;
}

static void
apply_defaults(struct opts *o)
{
    uint64_t q = o->quick;
    o->bytes = o->bytes ? o->bytes : q ? 8u << 20 : 512u << 20;
    o->cycles = o->cycles ? o->cycles : q ? 2000 : 20000;
    o->reps = o->reps ? o->reps : q ? 1 : 3;
    o->impaired_bytes = o->impaired_bytes ? o->impaired_bytes : q ? 256u << 10 : 8u << 20;
    o->idle_conns = o->idle_conns ? o->idle_conns : q ? 100 : 1000;
    o->timeout_s = o->timeout_s > 0 ? o->timeout_s : q ? 10 : 30;
}

/* ---- Helpers ---------------------------------------------------------------- */

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The byte stream every bulk transfer carries: byte i is pattern[i % PERIOD];
 * the buffer holds two periods so any chunk up to PERIOD is contiguous. */
static uint8_t *
make_pattern(void)
{
    uint8_t *p = malloc(2 * (size_t)PERIOD);
    if (p == NULL) {
        return NULL;
    }
    uint32_t x = 0x12345678;
    for (size_t i = 0; i < PERIOD; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = p[i + PERIOD] = (uint8_t)(x >> 24);
    }
    return p;
}

/* Allocator hook that counts the bytes it holds. */
struct counter {
    size_t live;
};

static void *
count_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct counter *c = ud;
    if (new_size == 0) {
        free(ptr);
        c->live -= ptr != NULL ? old_size : 0;
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p != NULL) {
        c->live = c->live - (ptr != NULL ? old_size : 0) + new_size;
    }
    return p;
}

/* ---- Two stacks in memory ---------------------------------------------------- */

/* A queue of datagrams, drained completely every round: [u32 len][pad][bytes]. */
struct mq {
    uint8_t *buf;
    size_t cap, used;
    uint64_t pkts, drops;
};

static int
mq_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)netif, (void)next_hop;
    struct mq *q = ctx;
    size_t need = 8 + ((len + 7) & ~(size_t)7);
    if (q->used + need > q->cap) {
        q->drops++;
        return -1;
    }
    uint32_t l = (uint32_t)len;
    memcpy(q->buf + q->used, &l, sizeof l);
    memcpy(q->buf + q->used + 8, pkt, len);
    q->used += need;
    q->pkts++;
    return 0;
}

struct pair {
    struct tern_stack *st[2]; /* 0: client 10.0.0.1, 1: server 10.0.0.2 */
    struct mq q[2];           /* q[i]: what st[i] sent, for st[1 - i] */
    int64_t now;
    uint64_t jumps;
};

static void
pair_free(struct pair *p)
{
    for (int i = 0; i < 2; i++) {
        tern_stack_free(p->st[i]);
        free(p->q[i].buf);
    }
    memset(p, 0, sizeof *p);
}

/* Creates both stacks; `cnt` (may be NULL) counts the server's memory.
 * Returns TERN_OK or the error of tern_stack_new. */
static int
pair_init(struct pair *p, const struct tern_tcp_config *tcp, uint16_t mtu, struct counter *cnt)
{
    memset(p, 0, sizeof *p);
    size_t qcap = 2 * ((size_t)tcp->sndbuf + tcp->rcvbuf) + (1u << 20);
    for (int i = 0; i < 2; i++) {
        struct tern_config c;
        tern_config_init(&c);
        c.seed = (uint64_t)i + 1;
        c.deterministic = true; /* a measurement: the same ISNs and ports every run */
        c.netifs[0] = (struct tern_netif_config){
            .addr = i == 0 ? ADDR_A : ADDR_B,
            .prefix_len = 24,
            .mtu = mtu,
            .transmit = mq_transmit,
            .transmit_ctx = &p->q[i],
        };
        c.n_netifs = 1;
        c.tcp = *tcp;
        if (cnt != NULL && i == 1) {
            c.alloc = count_alloc, c.alloc_ud = cnt;
        }
        p->q[i].cap = qcap;
        p->q[i].buf = malloc(qcap);
        int rc = p->q[i].buf == NULL ? TERN_ERR_NOMEM : tern_stack_new(&c, 0, &p->st[i]);
        if (rc != TERN_OK) {
            pair_free(p);
            return rc;
        }
    }
    return TERN_OK;
}

/* One round: everything each stack sent goes to the other; the clock moves
 * one tick and due timers run. Returns the number of datagrams delivered. */
static uint64_t
pair_round(struct pair *p)
{
    uint64_t n = 0;
    for (int i = 0; i < 2; i++) {
        struct mq *q = &p->q[i];
        /* st[1 - i] transmits into q[1 - i] only, so q[i] is stable here. */
        for (size_t off = 0; off < q->used;) {
            uint32_t len;
            memcpy(&len, q->buf + off, sizeof len);
            tern_stack_input(p->st[1 - i], 0, q->buf + off + 8, len, p->now);
            off += 8 + ((len + 7) & ~(size_t)7);
            n++;
        }
        q->used = 0;
    }
    p->now += TICK_NS;
    for (int i = 0; i < 2; i++) {
        if (tern_stack_next_deadline(p->st[i]) <= p->now) {
            tern_stack_poll(p->st[i], p->now);
        }
    }
    return n;
}

/* Nothing moved: jump to the next timer. False if no timer is armed either. */
static bool
pair_idle(struct pair *p)
{
    int64_t d0 = tern_stack_next_deadline(p->st[0]), d1 = tern_stack_next_deadline(p->st[1]);
    int64_t d = d0 < d1 ? d0 : d1;
    if (d == INT64_MAX) {
        return false;
    }
    p->now = d > p->now ? d : p->now;
    tern_stack_poll(p->st[0], p->now);
    tern_stack_poll(p->st[1], p->now);
    p->jumps++;
    return true;
}

/* Opens a connection from st[0] to the listener `lid` on st[1] and takes the
 * child. Returns 0 with *cid, *sid set, or -1. */
static int
pair_connect(struct pair *p, int lid, int *cid, int *sid)
{
    struct tern_tcp_open_args a = {.remote_addr = ADDR_B, .remote_port = PORT};
    *cid = tern_tcp_open(p->st[0], &a, p->now);
    if (*cid < 0) {
        return -1;
    }
    for (int r = 0; r < 64; r++) {
        if (pair_round(p) == 0 && !pair_idle(p)) {
            return -1;
        }
        *sid = tern_tcp_accept(p->st[1], lid, p->now);
        if (*sid > 0) {
            return 0;
        }
    }
    return -1;
}

static int
pair_listen(struct pair *p)
{
    struct tern_tcp_open_args a = {.passive = true, .local_port = PORT, .backlog = 64};
    return tern_tcp_open(p->st[1], &a, p->now);
}

/* ---- tern bulk transfer ------------------------------------------------------ */

struct bulk_result {
    double secs;
    uint64_t bytes; /* received and verified */
    bool stalled, corrupt;
    const char *why; /* when stalled */
    double virt_s;
    uint64_t jumps, drops;
    uint32_t sndbuf, rcvbuf;
    uint64_t retransmits; /* the sender's, on retransmission timeouts */
    uint64_t fragmented;  /* datagrams the sender's IP had to fragment */
    char diag[256];       /* when stalled: the sender's state and the drops */
};

/* The largest send and receive buffers the stack accepts (today's TCP caps
 * the receive buffer below 64 KiB; window scaling will lift that). */
static int
bulk_pair(struct pair *p, uint16_t mtu, uint32_t *snd, uint32_t *rcv)
{
    static const uint32_t tries[] = {4u << 20, 1u << 20, 256u << 10, 65535, 32768, 16384};
    int rc = TERN_ERR_INVAL;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct tern_config c;
        tern_config_init(&c);
        c.tcp.max_connections = 4;
        c.tcp.sndbuf = tries[i];
        c.tcp.rcvbuf = tries[i];
        rc = pair_init(p, &c.tcp, mtu, NULL);
        if (rc == TERN_OK) {
            *snd = *rcv = tries[i];
            return rc;
        }
    }
    return rc;
}

/* Sender side: one SEND of up to PERIOD bytes (about 64 KiB, as the Linux
 * sender's send() calls), so that a round carries at most that much plus
 * what the window held back, and the data stays in cache as it would
 * between a real application and its stack. */
static int
bulk_send(struct pair *p, int id, const uint8_t *pat, uint64_t total, uint64_t *sent)
{
    if (*sent == total) {
        return 0;
    }
    uint64_t n = total - *sent < PERIOD ? total - *sent : PERIOD;
    int r = tern_tcp_send(p->st[0], id, pat + *sent % PERIOD, (size_t)n, p->now);
    if (r > 0) {
        *sent += (uint64_t)r;
    }
    return r < 0 ? r : r > 0;
}

/* Receiver side: read everything there is and compare it with the stream. */
static int
bulk_recv(struct pair *p, int id, const uint8_t *pat, uint8_t *buf, struct bulk_result *r)
{
    int moved = 0;
    for (;;) {
        int n = tern_tcp_recv(p->st[1], id, buf, PERIOD, p->now);
        if (n == TERN_ERR_AGAIN) {
            return moved;
        }
        if (n <= 0) {
            return n < 0 ? n : moved;
        }
        if (memcmp(buf, pat + r->bytes % PERIOD, (size_t)n) != 0) {
            r->corrupt = true;
        }
        r->bytes += (uint64_t)n;
        moved = 1;
    }
}

static void
bulk_loop(struct pair *p, int cid, int sid, const uint8_t *pat, uint8_t *buf, uint64_t total,
          double timeout_s, struct bulk_result *r)
{
    uint64_t sent = 0;
    int64_t v0 = p->now;
    double t0 = mono_s();
    for (unsigned it = 0; r->bytes < total; it++) {
        int s = bulk_send(p, cid, pat, total, &sent);
        uint64_t n = pair_round(p);
        int v = bulk_recv(p, sid, pat, buf, r);
        if (s < 0 || v < 0) {
            r->stalled = true, r->why = tern_strerror(s < 0 ? s : v);
            break;
        }
        if (s == 0 && v == 0 && n == 0 && !pair_idle(p)) {
            r->stalled = true, r->why = "no datagram queued and no timer armed";
            break;
        }
        if (p->now - v0 > VIRT_MAX_NS) {
            r->stalled = true, r->why = "600 s of virtual time passed";
            break;
        }
        if ((it & 255) == 0 && mono_s() - t0 > timeout_s) {
            r->stalled = true, r->why = "wall-clock timeout";
            break;
        }
    }
    r->secs = mono_s() - t0;
    r->virt_s = (double)(p->now - v0) * 1e-9;
}

/* What a stalled transfer looked like: the sender's STATUS and every drop
 * reason either stack counted. */
static void
bulk_diagnose(struct pair *p, int cid, struct bulk_result *r)
{
    struct tern_tcp_status s;
    size_t n = 0;
    if (tern_tcp_status(p->st[0], cid, &s) == TERN_OK) {
        n = (size_t)snprintf(r->diag, sizeof r->diag,
                             "sender %s, %u bytes acked, snd_wnd %u, snd_mss %u, %u queued; drops:",
                             tern_tcp_state_name((int)s.state), s.snd_una - s.iss - 1, s.snd_wnd,
                             (unsigned)s.snd_mss, s.send_queued);
    }
    for (int i = 0; i < 2 && n < sizeof r->diag; i++) {
        const struct tern_stats *st = tern_stack_stats(p->st[i]);
        for (int d = 0; d < TERN_DROP_COUNT && n < sizeof r->diag; d++) {
            if (st->drops[d] != 0) {
                n += (size_t)snprintf(
                    r->diag + n, sizeof r->diag - n, " %s %s x%llu", i == 0 ? "client" : "server",
                    tern_drop_name((enum tern_drop_reason)d), (unsigned long long)st->drops[d]);
            }
        }
    }
}

static void
tern_bulk(uint16_t mtu, uint64_t total, double timeout_s, const uint8_t *pat, struct bulk_result *r)
{
    memset(r, 0, sizeof *r);
    struct pair p;
    uint8_t *buf = malloc(PERIOD);
    int cid, sid, lid;
    if (buf == NULL || bulk_pair(&p, mtu, &r->sndbuf, &r->rcvbuf) != TERN_OK) {
        r->stalled = true, r->why = "could not create the stacks";
        free(buf);
        return;
    }
    lid = pair_listen(&p);
    if (lid < 0 || pair_connect(&p, lid, &cid, &sid) != 0) {
        r->stalled = true, r->why = "handshake failed";
    } else {
        uint64_t j0 = p.jumps;
        bulk_loop(&p, cid, sid, pat, buf, total, timeout_s, r);
        r->jumps = p.jumps - j0;
        r->retransmits = tern_stack_stats(p.st[0])->tcp.retransmits;
        r->fragmented = tern_stack_stats(p.st[0])->ip.tx_fragmented;
        if (r->stalled) {
            bulk_diagnose(&p, cid, r);
        }
    }
    r->drops = p.q[0].drops + p.q[1].drops;
    pair_free(&p);
    free(buf);
}

/* ---- tern connection cycles ------------------------------------------------ */

/* One abort cycle: connect, accept, ABORT on the client, the RST reaches the
 * server's child. Returns 0 or -1. */
static int
cycle_abort(struct pair *p, int lid)
{
    int cid, sid;
    if (pair_connect(p, lid, &cid, &sid) != 0) {
        return -1;
    }
    tern_tcp_abort(p->st[0], cid, p->now);
    tern_tcp_release(p->st[0], cid, p->now);
    pair_round(p);
    /* The RST must have closed the server's child with "connection reset". */
    bool closed = (tern_tcp_events(p->st[1], sid) & TERN_TCP_EV_CLOSED) != 0 &&
                  tern_tcp_error(p->st[1], sid) == TERN_ERR_RESET;
    tern_tcp_release(p->st[1], sid, p->now);
    return closed ? 0 : -1;
}

/* One graceful cycle: the client closes first (and keeps TIME-WAIT), the
 * server closes on the FIN; done when the server's child is CLOSED. */
static int
cycle_graceful(struct pair *p, int lid)
{
    int cid, sid;
    if (pair_connect(p, lid, &cid, &sid) != 0) {
        return -1;
    }
    tern_tcp_close(p->st[0], cid, p->now);
    bool closing = false;
    for (int r = 0; r < 64; r++) {
        if (pair_round(p) == 0 && !pair_idle(p)) {
            break;
        }
        unsigned ev = tern_tcp_events(p->st[1], sid);
        if (!closing && (ev & TERN_TCP_EV_PEER_FIN)) {
            tern_tcp_close(p->st[1], sid, p->now);
            closing = true;
        }
        if (ev & TERN_TCP_EV_CLOSED) {
            /* The client must hold TIME-WAIT now; release lets it run out. */
            struct tern_tcp_status cs;
            bool ok = (ev & TERN_TCP_EV_ERROR) == 0 &&
                      tern_tcp_status(p->st[0], cid, &cs) == TERN_OK &&
                      cs.state == TERN_TCP_TIME_WAIT;
            tern_tcp_release(p->st[0], cid, p->now);
            tern_tcp_release(p->st[1], sid, p->now);
            return ok ? 0 : -1;
        }
    }
    tern_tcp_release(p->st[0], cid, p->now);
    tern_tcp_release(p->st[1], sid, p->now);
    return -1;
}

/* Cycles per second over n cycles, 0 if one failed (*failed tells). */
static double
tern_cycles(bool graceful, uint64_t n, uint64_t *failed)
{
    struct tern_config c;
    tern_config_init(&c);
    c.tcp.max_connections = graceful ? 1024 : 64; /* ~400 in TIME-WAIT at once */
    c.tcp.msl_ns = 1000000;                       /* 1 ms virtual: see the header comment */
    struct pair p;
    if (pair_init(&p, &c.tcp, 1500, NULL) != TERN_OK) {
        *failed = n;
        return 0;
    }
    int lid = pair_listen(&p);
    uint64_t i = 0;
    double t0 = mono_s();
    for (; lid > 0 && i < n; i++) {
        if ((graceful ? cycle_graceful(&p, lid) : cycle_abort(&p, lid)) != 0) {
            break;
        }
    }
    double secs = mono_s() - t0;
    pair_free(&p);
    *failed = n - i;
    return i == n && secs > 0 ? (double)n / secs : 0;
}

/* ---- Memory per idle established connection --------------------------------- */

/* Bytes the server stack holds with n idle established children and a
 * listener, minus an empty stack with room for the listener only, over n.
 * *growth: bytes allocated after tern_stack_new (should be 0). */
static double
idle_bytes(uint64_t n, long long *growth)
{
    struct tern_config c;
    tern_config_init(&c);
    struct counter empty = {0}, full = {0};
    struct pair p;
    c.tcp.max_connections = 1;
    if (pair_init(&p, &c.tcp, 1500, &empty) != TERN_OK) {
        return 0;
    }
    pair_free(&p);
    c.tcp.max_connections = (unsigned)n + 1;
    if (pair_init(&p, &c.tcp, 1500, &full) != TERN_OK) {
        return 0;
    }
    size_t at_new = full.live;
    int lid = pair_listen(&p);
    uint64_t ok = 0;
    for (int cid, sid; lid > 0 && ok < n && pair_connect(&p, lid, &cid, &sid) == 0;) {
        ok++;
    }
    for (int r = 0; r < 4; r++) {
        pair_round(&p);
    }
    size_t held = full.live;
    pair_free(&p);
    *growth = (long long)held - (long long)at_new;
    return ok == n ? (double)(held - empty.live) / (double)n : 0;
}

/* ---- Impaired transfer in the simulator ------------------------------------- */

struct imp {
    struct tern_stack *a, *b;
    int cid, lid, sid;
    const uint8_t *pat;
    uint8_t *buf;
    uint64_t total, sent, got;
    int64_t t_done;
    bool corrupt;
    struct tern_sim *sim;
};

static void
imp_pump(struct imp *m, int64_t now)
{
    while (m->sent < m->total) {
        uint64_t n = m->total - m->sent < PERIOD ? m->total - m->sent : PERIOD;
        int r = tern_tcp_send(m->a, m->cid, m->pat + m->sent % PERIOD, (size_t)n, now);
        if (r <= 0) {
            break;
        }
        m->sent += (uint64_t)r;
    }
    if (m->sid <= 0) {
        m->sid = tern_tcp_accept(m->b, m->lid, now);
    }
    for (int r; m->sid > 0 && (r = tern_tcp_recv(m->b, m->sid, m->buf, PERIOD, now)) > 0;) {
        if (memcmp(m->buf, m->pat + m->got % PERIOD, (size_t)r) != 0) {
            m->corrupt = true;
        }
        m->got += (uint64_t)r;
        if (m->got >= m->total && m->t_done < 0) {
            m->t_done = now;
        }
    }
}

static void
imp_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    (void)st, (void)id, (void)events, (void)err;
    struct imp *m = ctx;
    imp_pump(m, tern_sim_now(m->sim));
}

struct imp_result {
    double goodput_mbps, link_mbps, delay_ms, loss_pct, virt_s, wall_s;
    uint64_t bytes, total;
    bool stalled, corrupt;
    uint64_t lost;
};

static int
imp_setup(struct tern_sim *sim, const struct tern_link_params *lp, int *link)
{
    for (int i = 0; i < 2; i++) {
        struct tern_config c;
        tern_config_init(&c);
        c.seed = (uint64_t)i + 7;
        c.deterministic = true; /* a measurement: the same ISNs and ports every run */
        c.netifs[0] = (struct tern_netif_config){
            .addr = i == 0 ? ADDR_A : ADDR_B, .prefix_len = 24, .mtu = 1500};
        c.n_netifs = 1;
        c.tcp.max_connections = 4;
        int h, rc = TERN_ERR_INVAL;
        static const uint32_t tries[] = {4u << 20, 1u << 20, 256u << 10, 65535, 16384};
        for (size_t k = 0; k < sizeof tries / sizeof tries[0] && rc != TERN_OK; k++) {
            c.tcp.sndbuf = c.tcp.rcvbuf = tries[k];
            rc = tern_sim_add_host(sim, NULL, &c, &h);
        }
        if (rc != TERN_OK) {
            return rc;
        }
    }
    return tern_sim_link(sim, 0, 0, 1, 0, lp, lp, link);
}

static void
impaired(uint64_t total, double timeout_s, const uint8_t *pat, struct imp_result *r)
{
    memset(r, 0, sizeof *r);
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = 10000000;
    lp.bandwidth_bps = 100000000;
    lp.queue_bytes = 250000; /* one bandwidth-delay product at 20 ms RTT */
    lp.loss_ppm = 10000;
    r->link_mbps = 100, r->delay_ms = 10, r->loss_pct = 1, r->total = total;
    struct tern_sim *sim;
    struct imp m = {.pat = pat, .total = total, .t_done = -1};
    int link;
    if (tern_sim_new(42, &sim) != TERN_OK || (m.buf = malloc(PERIOD)) == NULL ||
        imp_setup(sim, &lp, &link) != TERN_OK) {
        r->stalled = true;
        free(m.buf);
        tern_sim_free(sim);
        return;
    }
    m.sim = sim, m.a = tern_sim_host_stack(sim, 0), m.b = tern_sim_host_stack(sim, 1);
    tern_tcp_set_callback(m.a, 0, imp_event, &m);
    tern_tcp_set_callback(m.b, 0, imp_event, &m);
    struct tern_tcp_open_args la = {.passive = true, .local_port = PORT};
    struct tern_tcp_open_args ca = {.remote_addr = ADDR_B, .remote_port = PORT};
    m.lid = tern_tcp_open(m.b, &la, 0);
    m.cid = tern_tcp_open(m.a, &ca, 0);
    double t0 = mono_s();
    for (int64_t t = 0; m.t_done < 0 && t < VIRT_MAX_NS && mono_s() - t0 < timeout_s;) {
        t += 1000000; /* pump every ms too, in case an event was missed */
        tern_sim_run_until(sim, t);
        imp_pump(&m, t);
    }
    r->wall_s = mono_s() - t0;
    r->bytes = m.got, r->corrupt = m.corrupt, r->stalled = m.t_done < 0;
    int64_t end = m.t_done >= 0 ? m.t_done : tern_sim_now(sim);
    r->virt_s = (double)end * 1e-9;
    r->goodput_mbps = end > 0 ? (double)m.got * 8 / ((double)end * 1e-9) / 1e6 : 0;
    struct tern_sim_link_stats s0, s1;
    tern_sim_link_stats(sim, link, 0, &s0);
    tern_sim_link_stats(sim, link, 1, &s1);
    r->lost = s0.lost_random + s0.lost_queue + s1.lost_random + s1.lost_queue;
    tern_sim_free(sim);
    free(m.buf);
}

/* ---- Linux on loopback ---------------------------------------------------- */

static int
lx_listener(int mss, uint16_t *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (l < 0) {
        return -1;
    }
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (mss > 0) {
        setsockopt(l, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
    }
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4096) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0) {
        close(l);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return l;
}

static int
lx_connect(uint16_t port, int mss)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (c < 0) {
        return -1;
    }
    if (mss > 0) {
        setsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
    }
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c);
        return -1;
    }
    return c;
}

struct lx_rx {
    int l;
    const uint8_t *pat;
    uint64_t total, got;
    bool corrupt;
    double t_end;
};

static void *
lx_receiver(void *arg)
{
    struct lx_rx *x = arg;
    int s = accept(x->l, NULL, NULL);
    uint8_t *buf = malloc(PERIOD);
    while (s >= 0 && buf != NULL && x->got < x->total) {
        ssize_t n = recv(s, buf, PERIOD, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        if (memcmp(buf, x->pat + x->got % PERIOD, (size_t)n) != 0) {
            x->corrupt = true;
        }
        x->got += (uint64_t)n;
    }
    x->t_end = mono_s();
    free(buf);
    if (s >= 0) {
        close(s);
    }
    return NULL;
}

/* Linux bulk goodput in Gbit/s (0 on failure); mss 0: the loopback default. */
static double
lx_bulk(uint64_t total, int mss, const uint8_t *pat, bool *corrupt)
{
    uint16_t port;
    struct lx_rx x = {.pat = pat, .total = total};
    pthread_t th;
    x.l = lx_listener(mss, &port);
    if (x.l < 0 || pthread_create(&th, NULL, lx_receiver, &x) != 0) {
        return 0;
    }
    int c = lx_connect(port, mss);
    double t0 = mono_s();
    for (uint64_t sent = 0; c >= 0 && sent < total;) {
        uint64_t n = total - sent < PERIOD ? total - sent : PERIOD;
        ssize_t r = send(c, pat + sent % PERIOD, (size_t)n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        sent += (uint64_t)r;
    }
    if (c >= 0) {
        close(c);
    } else {
        shutdown(x.l, SHUT_RDWR); /* unblocks accept */
    }
    pthread_join(th, NULL);
    close(x.l);
    *corrupt = *corrupt || x.corrupt;
    double secs = x.t_end - t0;
    return x.got == total && secs > 0 ? (double)total * 8 / secs / 1e9 : 0;
}

/* One thread holds both ends, as the tern loop does. Abort: SO_LINGER 0 on
 * the client; graceful: the client closes first (its end keeps TIME-WAIT),
 * the server reads the FIN and closes. Cycles per second, 0 on failure. */
static double
lx_cycles(bool graceful, uint64_t n, uint64_t *failed)
{
    uint16_t port;
    int l = lx_listener(0, &port);
    uint64_t i = 0;
    double t0 = mono_s();
    for (; l >= 0 && i < n; i++) {
        int c = lx_connect(port, 0);
        int s = c >= 0 ? accept(l, NULL, NULL) : -1;
        if (s < 0) {
            if (c >= 0) {
                close(c);
            }
            break;
        }
        if (!graceful) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c);
        char b;
        ssize_t r = read(s, &b, 1); /* 0 on the FIN, -1 ECONNRESET on the RST */
        close(s);
        if (graceful ? r != 0 : r > 0) {
            break; /* not the close we expected: counted as failed */
        }
    }
    double secs = mono_s() - t0;
    if (l >= 0) {
        close(l);
    }
    *failed = n - i;
    return i == n && secs > 0 ? (double)n / secs : 0;
}

/* ---- The run --------------------------------------------------------------- */

struct bulk_fig {
    double gbps; /* median of the repetitions; over the bytes delivered if stalled */
    struct bulk_result last;
    bool stalled, corrupt;
};

struct figures {
    long cores;
    struct bulk_fig small, large;
    double lx, lx1460;
    bool lx_corrupt;
    double abort_cps, graceful_cps, lx_abort_cps, lx_graceful_cps;
    uint64_t abort_failed, graceful_failed, lx_abort_failed, lx_graceful_failed;
    double idle;
    long long idle_growth;
    struct imp_result imp;
};

static void
run_bulk(const struct opts *o, uint16_t mtu, const uint8_t *pat, struct bulk_fig *f)
{
    double g[MAX_REPS];
    for (uint64_t i = 0; i < o->reps; i++) {
        tern_bulk(mtu, o->bytes, o->timeout_s, pat, &f->last);
        g[i] = f->last.secs > 0 ? (double)f->last.bytes * 8 / f->last.secs / 1e9 : 0;
        f->stalled = f->stalled || f->last.stalled;
        f->corrupt = f->corrupt || f->last.corrupt;
    }
    f->gbps = median(g, o->reps);
}

static double
run_cycles(const struct opts *o, bool linux_tcp, bool graceful, uint64_t *failed)
{
    double v[MAX_REPS];
    *failed = 0;
    for (uint64_t i = 0; i < o->reps; i++) {
        uint64_t f = 0;
        v[i] =
            linux_tcp ? lx_cycles(graceful, o->cycles, &f) : tern_cycles(graceful, o->cycles, &f);
        *failed += f;
    }
    return median(v, o->reps);
}

static double
run_lx_bulk(const struct opts *o, int mss, const uint8_t *pat, bool *corrupt)
{
    double v[MAX_REPS];
    for (uint64_t i = 0; i < o->reps; i++) {
        v[i] = lx_bulk(o->bytes, mss, pat, corrupt);
    }
    return median(v, o->reps);
}

static void
measure(const struct opts *o, const uint8_t *pat, struct figures *f)
{
    memset(f, 0, sizeof *f);
    f->cores = sysconf(_SC_NPROCESSORS_ONLN);
    run_bulk(o, 1500, pat, &f->small);
    run_bulk(o, 65535, pat, &f->large);
    f->lx = run_lx_bulk(o, 0, pat, &f->lx_corrupt);
    f->lx1460 = run_lx_bulk(o, 1460, pat, &f->lx_corrupt);
    f->abort_cps = run_cycles(o, false, false, &f->abort_failed);
    f->graceful_cps = run_cycles(o, false, true, &f->graceful_failed);
    f->lx_abort_cps = run_cycles(o, true, false, &f->lx_abort_failed);
    f->lx_graceful_cps = run_cycles(o, true, true, &f->lx_graceful_failed);
    f->idle = idle_bytes(o->idle_conns, &f->idle_growth);
    impaired(o->impaired_bytes, o->timeout_s, pat, &f->imp);
}

/* Send plus receive buffer bytes per connection in the default config. */
static double
default_buffers(void)
{
    struct tern_config c;
    tern_config_init(&c);
    return (double)c.tcp.sndbuf + (double)c.tcp.rcvbuf;
}

static double
ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void
print_bulk_note(const char *name, const struct bulk_fig *b)
{
    const struct bulk_result *r = &b->last;
    printf("  %s: buffers %u/%u bytes; last run %.3f ms virtual, %llu timer jumps, %llu "
           "retransmissions, %llu IP-fragmented datagrams, %llu queue drops%s%s%s\n",
           name, (unsigned)r->sndbuf, (unsigned)r->rcvbuf, r->virt_s * 1e3,
           (unsigned long long)r->jumps, (unsigned long long)r->retransmits,
           (unsigned long long)r->fragmented, (unsigned long long)r->drops,
           b->stalled ? "; STALLED: " : "", b->stalled ? r->why : "",
           b->corrupt ? "; CORRUPT DATA" : "");
    if (b->stalled) {
        printf("    stalled after %llu bytes (goodput is over the bytes delivered): %s\n",
               (unsigned long long)r->bytes, r->diag);
    }
}

static void
print_cycles(const char *name, double t, double l, uint64_t tf, uint64_t lf)
{
    printf("  %-28s %12.0f /s %12.0f /s %9.2fx", name, t, l, ratio(t, l));
    if (tf || lf) {
        printf("  (failed: tern %llu, Linux %llu)", (unsigned long long)tf, (unsigned long long)lf);
    }
    printf("\n");
}

static void
print_text(const struct opts *o, const struct figures *f)
{
    printf("tern bench: %ld cores; tern in memory on a virtual clock (1 us per round, jumps "
           "to the next timer when idle);\n"
           "wall time by CLOCK_MONOTONIC; median of %llu; bulk %llu bytes verified byte by "
           "byte; %llu cycles\n\n",
           f->cores, (unsigned long long)o->reps, (unsigned long long)o->bytes,
           (unsigned long long)o->cycles);
    printf("  %-28s %15s %15s %10s\n", "", "tern", "Linux lo", "tern/Linux");
    printf("  %-28s %9.2f Gbit/s %8.2f Gbit/s %9.2fx\n", "bulk MSS 1460 (MTU 1500)", f->small.gbps,
           f->lx, ratio(f->small.gbps, f->lx));
    printf("  %-28s %15s %8.2f Gbit/s %9.2fx\n", "  vs Linux at MSS 1460", "", f->lx1460,
           ratio(f->small.gbps, f->lx1460));
    printf("  %-28s %9.2f Gbit/s %8.2f Gbit/s %9.2fx\n", "bulk MSS 65495 (MTU 65535)",
           f->large.gbps, f->lx, ratio(f->large.gbps, f->lx));
    print_cycles("cycles, abort (RST)", f->abort_cps, f->lx_abort_cps, f->abort_failed,
                 f->lx_abort_failed);
    print_cycles("cycles, graceful (FIN, TW)", f->graceful_cps, f->lx_graceful_cps,
                 f->graceful_failed, f->lx_graceful_failed);
    printf("  %-28s %9.0f bytes (default config, %llu connections: %.0f of it the send and "
           "receive buffers, the rest TCB and tables; %lld bytes allocated after init)\n",
           "memory per idle connection", f->idle, (unsigned long long)o->idle_conns,
           default_buffers(), f->idle_growth);
    const struct imp_result *m = &f->imp;
    printf("  %-28s %9.2f Mbit/s of %.0f Mbit/s (%.1f%%; %.0f ms one way, %.0f%% loss each way; "
           "%llu bytes in %.2f s virtual, %.2f s wall, %llu packets lost)%s%s\n",
           "impaired bulk (simulator)", m->goodput_mbps, m->link_mbps,
           100 * m->goodput_mbps / m->link_mbps, m->delay_ms, m->loss_pct,
           (unsigned long long)m->bytes, m->virt_s, m->wall_s, (unsigned long long)m->lost,
           m->stalled ? " UNFINISHED: bounded by 600 s virtual or --timeout" : "",
           m->corrupt ? " CORRUPT DATA" : "");
    printf("\nnotes:\n");
    print_bulk_note("MSS 1460", &f->small);
    print_bulk_note("MSS 65495", &f->large);
    printf("  Linux: loopback default MTU (64 KiB) unless TCP_MAXSEG 1460; cycles in one "
           "thread holding both ends; abort by SO_LINGER 0%s\n",
           f->lx_corrupt ? "; CORRUPT DATA" : "");
    printf("  tern graceful cycles: MSL 1 ms virtual, so TIME-WAIT lasts ~2000 rounds\n");
}

static void
print_json(const struct opts *o, const struct figures *f)
{
    const struct imp_result *m = &f->imp;
    printf("{\"cores\": %ld, \"reps\": %llu, \"bulk_bytes\": %llu, \"cycles\": %llu,\n", f->cores,
           (unsigned long long)o->reps, (unsigned long long)o->bytes,
           (unsigned long long)o->cycles);
    printf(" \"goodput_mss1460_gbps\": %.4f, \"goodput_mss65495_gbps\": %.4f,\n", f->small.gbps,
           f->large.gbps);
    printf(" \"linux_loopback_gbps\": %.4f, \"linux_loopback_mss1460_gbps\": %.4f,\n", f->lx,
           f->lx1460);
    printf(" \"ratio_goodput_mss1460\": %.4f, \"ratio_goodput_mss1460_same_mss\": %.4f, "
           "\"ratio_goodput_mss65495\": %.4f,\n",
           ratio(f->small.gbps, f->lx), ratio(f->small.gbps, f->lx1460),
           ratio(f->large.gbps, f->lx));
    printf(" \"abort_cycles_per_s\": %.1f, \"graceful_cycles_per_s\": %.1f,\n", f->abort_cps,
           f->graceful_cps);
    printf(" \"linux_abort_cycles_per_s\": %.1f, \"linux_graceful_cycles_per_s\": %.1f,\n",
           f->lx_abort_cps, f->lx_graceful_cps);
    printf(" \"ratio_abort_cycles\": %.4f, \"ratio_graceful_cycles\": %.4f,\n",
           ratio(f->abort_cps, f->lx_abort_cps), ratio(f->graceful_cps, f->lx_graceful_cps));
    printf(" \"idle_conn_bytes\": %.1f, \"idle_conn_buffer_bytes\": %.0f,\n", f->idle,
           default_buffers());
    printf(" \"impaired_goodput_mbps\": %.4f, \"impaired_link_mbps\": %.1f, "
           "\"impaired_delay_ms\": %.1f, \"impaired_loss_pct\": %.1f, \"impaired_bytes\": %llu, "
           "\"impaired_virtual_s\": %.4f,\n",
           m->goodput_mbps, m->link_mbps, m->delay_ms, m->loss_pct, (unsigned long long)m->bytes,
           m->virt_s);
    printf(" \"stalled\": {\"bulk_mss1460\": %s, \"bulk_mss65495\": %s, \"impaired\": %s},\n",
           f->small.stalled ? "true" : "false", f->large.stalled ? "true" : "false",
           m->stalled ? "true" : "false");
    printf(" \"corrupt\": %s, \"failed_cycles\": {\"abort\": %llu, \"graceful\": %llu, "
           "\"linux_abort\": %llu, \"linux_graceful\": %llu}}\n",
           f->small.corrupt || f->large.corrupt || m->corrupt || f->lx_corrupt ? "true" : "false",
           (unsigned long long)f->abort_failed, (unsigned long long)f->graceful_failed,
           (unsigned long long)f->lx_abort_failed, (unsigned long long)f->lx_graceful_failed);
}

/* --bulk-only / --cycles-only: one tern measurement, for callgrind. */
static int
run_only(const struct opts *o, const uint8_t *pat)
{
    if (o->bulk_only) {
        struct bulk_result r;
        tern_bulk(1500, o->bulk_only, o->timeout_s, pat, &r);
        printf("bulk %llu bytes in %.3f s%s%s\n", (unsigned long long)r.bytes, r.secs,
               r.stalled ? ", stalled: " : "", r.stalled ? r.why : "");
        return r.stalled || r.corrupt ? 1 : 0;
    }
    uint64_t failed;
    double cps = tern_cycles(false, o->cycles_only, &failed);
    printf("%llu abort cycles, %.0f /s, %llu failed\n", (unsigned long long)o->cycles_only, cps,
           (unsigned long long)failed);
    return failed ? 1 : 0;
}

int
tern_cmd_bench(int argc, char **argv)
{
    struct opts o = {0};
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        if (rc < 0) {
            usage(stdout);
        }
        return rc < 0 ? 0 : rc;
    }
    if (o.bulk_only && o.cycles_only) {
        fprintf(stderr, "tern bench: --bulk-only and --cycles-only exclude each other\n");
        return 2;
    }
    apply_defaults(&o);
    uint8_t *pat = make_pattern();
    if (pat == NULL) {
        fprintf(stderr, "tern bench: out of memory\n");
        return 1;
    }
    if (o.bulk_only || o.cycles_only) {
        rc = run_only(&o, pat);
        free(pat);
        return rc;
    }
    struct figures f;
    measure(&o, pat, &f);
    if (o.json) {
        print_json(&o, &f);
    } else {
        print_text(&o, &f);
    }
    free(pat);
    bool bad_data = f.small.corrupt || f.large.corrupt || f.imp.corrupt || f.lx_corrupt;
    return bad_data ? 1 : 0;
}
