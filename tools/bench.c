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
 *     established children minus the same configuration with room for the
 *     listeners only, divided by N (default tern_config otherwise), at N =
 *     --idle-conns and at N = 1,000,000 (--large-conns);
 *   the heap of a default stack, and per TIME-WAIT record and per SYN cache
 *     entry (the heap difference between two table sizes), and the bytes a
 *     stack allocates when connections enter TIME-WAIT or a SYN burst leaves
 *     handshakes half-open (none should: all memory is taken at creation);
 *   time per packet of 64-byte request/response exchanges on random
 *     connections among 1, 10,000 and 1,000,000 established ones;
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

#include "cli.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/tcp.h"

int tern_cmd_bench(int argc, char **argv);

#define ADDR_A TERN_IPV4(10, 0, 0, 1)
#define ADDR_B TERN_IPV4(10, 0, 0, 2)

/* The same two sides over IPv6 (fd00::1, fd00::2 on fd00::/64). */
static struct tern_ip
addr6_side(int side)
{
    uint8_t b[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(side + 1)};
    return tern_ip6(b);
}
#define PORT        5001
#define PERIOD      65521u /* pattern period: prime, so segments fall at every offset */
#define TICK_NS     1000   /* virtual time per round */
#define VIRT_MAX_NS (600 * INT64_C(1000000000))
#define MAX_REPS    15
#define MAX_CONNS   1000000 /* --idle-conns, --large-conns */

/* ---- Options --------------------------------------------------------------- */

struct opts {
    uint64_t bytes, cycles, impaired_bytes, idle_conns, reps;
    uint64_t large_conns, mid_conns, pkts;
    double timeout_s;
    bool json, quick, skip_large, rfc6675;
    int loss;                        /* --loss: LOSS_RACK or LOSS_RFC6675 */
    uint64_t bulk_only, cycles_only; /* callgrind modes; 0: off */
    bool bulk6;                      /* --bulk-only over IPv6 */
};

enum { LOSS_RACK, LOSS_RFC6675 };

/* --rack: what --loss rack says, the option of before RACK was the default. */
static bool
set_rack(const char *val, void *opts)
{
    (void)val;
    ((struct opts *)opts)->loss = LOSS_RACK;
    return true;
}

#define OFF(field) offsetof(struct opts, field)
#define GIB        (1024.0 * 1024 * 1024)

static const struct cli_choice loss_names[] = {
    {"rack", LOSS_RACK}, {"rfc6675", LOSS_RFC6675}, {NULL, 0}};

/* One option to an entry, its fields together. */
/* clang-format off */
static const struct cli_opt bench_opts[] = {
    {.name = "bytes", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = 1024 * GIB,
     .offset = OFF(bytes),
     .help = "bulk bytes per transfer (K, M, G suffixes; default 512M)"},
    {.name = "cycles", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = 100000000,
     .offset = OFF(cycles),
     .help = "connection cycles per measurement (default 20000)"},
    {.name = "reps", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = MAX_REPS, .offset = OFF(reps),
     .help = "repetitions, the median is printed (default 3, max " CLI_STR(MAX_REPS) ")"},
    {.name = "timeout", .kind = CLI_REAL, .arg = "S", .min = 0.001, .max = 3600,
     .offset = OFF(timeout_s),
     .help = "wall seconds one transfer may take (default 30)"},
    {.name = "impaired-bytes", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = 4 * GIB,
     .offset = OFF(impaired_bytes),
     .help = "bytes of the simulated impaired transfer (default 8M)"},
    {.name = "idle-conns", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = MAX_CONNS,
     .offset = OFF(idle_conns),
     .help = "connections for the idle-memory figure (default 1000)"},
    {.name = "large-conns", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = MAX_CONNS,
     .offset = OFF(large_conns),
     .help = "connections of the *_1m figures (idle memory, packet time; default 1000000, max "
             "1000000)"},
    {.name = "mid-conns", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = MAX_CONNS,
     .offset = OFF(mid_conns),
     .help = "connections of the pkt_ns_10k figure (default 10000)"},
    {.name = "pkts", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = 100000000, .offset = OFF(pkts),
     .help = "request/response exchanges per packet-time run (default 200000)"},
    {.name = "loss", .kind = CLI_CHOICE, .arg = "rack|rfc6675", .offset = OFF(loss),
     .choices = loss_names,
     .help = "loss detection of the impaired transfer (cfg.tcp.loss_detection): RACK-TLP, RFC "
             "8985 (the default), or RFC 6675's DupThresh"},
    {.name = "rack", .kind = CLI_CUSTOM, .parse = set_rack, .help = "the same as --loss rack"},
    {.name = "skip-large", .kind = CLI_FLAG, .offset = OFF(skip_large),
     .help = "skip the --large-conns figures (about 40 s and 10 GB on this machine; the *_1m "
             "keys then print -1)"},
    {.name = "quick", .kind = CLI_FLAG, .offset = OFF(quick),
     .help = "small sizes and one repetition (for tests); the *_1m and *_10k figures then use "
             "4000 and 1000 connections"},
    {.name = "json", .kind = CLI_FLAG, .offset = OFF(json),
     .help = "print one JSON object instead of the table"},
    {.name = "bulk-only", .kind = CLI_SIZE, .arg = "BYTES", .min = 1, .max = 1024 * GIB,
     .offset = OFF(bulk_only),
     .help = "only one tern bulk transfer at MSS 1460 (for callgrind)"},
    {.name = "ipv6", .kind = CLI_FLAG, .offset = OFF(bulk6),
     .help = "--bulk-only over IPv6 (MSS 1440), to compare the families under callgrind"},
    {.name = "cycles-only", .kind = CLI_SIZE, .arg = "N", .min = 1, .max = 100000000,
     .offset = OFF(cycles_only),
     .help = "only N tern abort cycles (for callgrind)"},
};
/* clang-format on */

static const struct cli_cmd bench_cmd = {
    .name = "bench",
    .opts = bench_opts,
    .n_opts = sizeof(bench_opts) / sizeof(bench_opts[0]),
    .max_operands = 0,
    .operand_note = "tern bench takes options only",
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: tern bench [options]\n"
                 "\n"
                 "Two tern stacks joined in memory in this process: bulk goodput at MSS 1460\n"
                 "and 65495, connection cycles per second (abort and graceful), bytes per idle\n"
                 "connection, a bulk transfer over an impaired simulated link, and Linux TCP\n"
                 "on 127.0.0.1 measured in the same run with the ratios tern/Linux.\n"
                 "\n");
    cli_print_options(out, &bench_cmd);
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
    o->large_conns = o->large_conns ? o->large_conns : q ? 4000 : 1000000;
    o->mid_conns = o->mid_conns ? o->mid_conns : q ? 1000 : 10000;
    o->pkts = o->pkts ? o->pkts : q ? 5000 : 200000;
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

/* Allocator hook that counts the bytes it holds. With a limit it refuses a
 * request that would take `live` (or its total's) above it, so a stack too
 * large for this machine fails in tern_stack_new with TERN_ERR_NOMEM instead
 * of swapping or meeting the OOM killer; `asked` and `refused` then say how
 * much it wanted. */
struct counter {
    size_t live;           /* bytes held now */
    size_t asked;          /* bytes ever requested, granted or refused */
    size_t refused;        /* bytes requested and refused for the limit */
    size_t limit;          /* 0: none */
    struct counter *total; /* also counted there and held to its limit; may be NULL */
};

static bool
count_fits(const struct counter *c, size_t more)
{
    for (; c != NULL; c = c->total) {
        if (c->limit != 0 && (more > c->limit || c->live > c->limit - more)) {
            return false;
        }
    }
    return true;
}

static void *
count_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct counter *c = ud;
    size_t old = ptr != NULL ? old_size : 0;
    if (new_size == 0) {
        free(ptr);
        for (struct counter *t = c; t != NULL; t = t->total) {
            t->live -= old;
        }
        return NULL;
    }
    c->asked += new_size > old ? new_size - old : 0;
    void *p = NULL;
    if (new_size <= old || count_fits(c, new_size - old)) {
        p = realloc(ptr, new_size);
    } else {
        c->refused += new_size - old;
    }
    if (p != NULL) {
        for (struct counter *t = c; t != NULL; t = t->total) {
            t->live = t->live - old + new_size;
        }
    }
    return p;
}

/* Half of MemAvailable (/proc/meminfo), the most the large figures let the
 * two stacks take together; 4 GiB if the file cannot be read. */
static size_t
mem_budget(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    unsigned long long kb = 0;
    char line[128];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb > 0 ? (size_t)(kb * 1024 / 2) : (size_t)4 << 30;
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

/* The configuration of one side (0: the client 10.0.0.1, 1: the server
 * 10.0.0.2): tern_config_init() defaults, a fixed non-zero seed, and one
 * raw-IP interface; pair_new() points its transmit callback at the queue. */
static void
side_config(int side, uint16_t mtu, struct tern_config *c)
{
    tern_config_init(c);
    c->seed = (uint64_t)side + 1;
    c->deterministic = true; /* a measurement: the same ISNs and ports every run */
    c->netifs[0] = (struct tern_netif_config){
        .addr = side == 0 ? ADDR_A : ADDR_B,
        .prefix_len = 24,
        .mtu = mtu,
        .transmit = mq_transmit,
    };
    c->netifs[0].addr6[0] = (struct tern_netif_addr6){.addr = addr6_side(side), .prefix_len = 64};
    c->netifs[0].n_addr6 = 1;
    c->n_netifs = 1;
}

/* Creates both stacks from cfg[0] (client) and cfg[1] (server), the
 * server first (it is the one a memory limit is most likely to refuse).
 * Returns TERN_OK or the error of tern_stack_new. */
static int
pair_new(struct pair *p, const struct tern_config cfg[2])
{
    memset(p, 0, sizeof *p);
    size_t ring = 0;
    for (int i = 0; i < 2; i++) {
        size_t r = (size_t)cfg[i].tcp.sndbuf + cfg[i].tcp.rcvbuf;
        ring = r > ring ? r : ring;
    }
    size_t qcap = 2 * ring + (1u << 20);
    for (int i = 1; i >= 0; i--) {
        struct tern_config c = cfg[i];
        c.netifs[0].transmit = mq_transmit;
        c.netifs[0].transmit_ctx = &p->q[i];
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

/* Both stacks with the same TCP configuration; `cnt` (may be NULL) counts
 * the server's memory. */
static int
pair_init(struct pair *p, const struct tern_tcp_config *tcp, uint16_t mtu, struct counter *cnt)
{
    struct tern_config c[2];
    for (int i = 0; i < 2; i++) {
        side_config(i, mtu, &c[i]);
        c[i].tcp = *tcp;
    }
    if (cnt != NULL) {
        c[1].alloc = count_alloc, c[1].alloc_ud = cnt;
    }
    return pair_new(p, c);
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

/* Opens a connection from st[0] with `a` to the listener `lid` on st[1]
 * and takes the child. Returns 0 with *cid, *sid set, or -1. */
static int
pair_connect_args(struct pair *p, const struct tern_tcp_open_args *a, int lid, int *cid, int *sid)
{
    *cid = tern_tcp_open(p->st[0], a, p->now);
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

/* The same to port PORT from an ephemeral port, over IPv4 or IPv6. */
static int
pair_connect_family(struct pair *p, bool v6, int lid, int *cid, int *sid)
{
    struct tern_tcp_open_args a = {.remote_addr = v6 ? addr6_side(1) : tern_ip4(ADDR_B),
                                   .remote_port = PORT};
    return pair_connect_args(p, &a, lid, cid, sid);
}

static int
pair_connect(struct pair *p, int lid, int *cid, int *sid)
{
    return pair_connect_family(p, false, lid, cid, sid);
}

static int
pair_listen(struct pair *p)
{
    struct tern_tcp_open_args a = {.passive = true, .local_port = PORT, .backlog = 64};
    return tern_tcp_open(p->st[1], &a, p->now);
}

/* ---- Many connections ------------------------------------------------------- */

/* One client address and one server address give one 4-tuple space per
 * server port: 64,511 client ports at most, and the ephemeral range
 * (49152-65535 by default) holds 16,384 of them, which is why
 * --idle-conns above 16,384 used to fail. Many connections are spread over
 * several listening ports, PORTS_PER_LISTENER client ports each, chosen
 * explicitly (no ephemeral search, whose cost grows as the range fills):
 * connection i goes from port CLIENT_PORT_MIN + i % PORTS_PER_LISTENER to
 * the listener on PORT + i / PORTS_PER_LISTENER. */
#define PORTS_PER_LISTENER 60000u
#define CLIENT_PORT_MIN    1024u

static unsigned
listeners_for(uint64_t n)
{
    return n == 0 ? 1 : (unsigned)((n + PORTS_PER_LISTENER - 1) / PORTS_PER_LISTENER);
}

/* Opens `nl` listeners on st[1]; lids[k] listens on PORT + k. Returns 0 or -1. */
static int
pair_listen_many(struct pair *p, unsigned nl, int *lids)
{
    for (unsigned k = 0; k < nl; k++) {
        struct tern_tcp_open_args a = {
            .passive = true, .local_port = (uint16_t)(PORT + k), .backlog = 64};
        lids[k] = tern_tcp_open(p->st[1], &a, p->now);
        if (lids[k] <= 0) {
            return -1;
        }
    }
    return 0;
}

/* Establishes connections 0..n-1 as above (Nagle off on both ends when
 * `nodelay`); cids/sids may be NULL. Returns how many were established. */
static uint64_t
pair_connect_many(struct pair *p, const int *lids, uint64_t n, bool nodelay, int *cids, int *sids)
{
    uint64_t i = 0;
    for (; i < n; i++) {
        struct tern_tcp_open_args a = {
            .remote_addr = tern_ip4(ADDR_B),
            .remote_port = (uint16_t)(PORT + i / PORTS_PER_LISTENER),
            .local_port = (uint16_t)(CLIENT_PORT_MIN + i % PORTS_PER_LISTENER),
            .nodelay = nodelay,
        };
        int cid, sid;
        if (pair_connect_args(p, &a, lids[i / PORTS_PER_LISTENER], &cid, &sid) != 0) {
            break;
        }
        if (nodelay) {
            tern_tcp_set_nodelay(p->st[1], sid, true, p->now);
        }
        if (cids != NULL) {
            cids[i] = cid, sids[i] = sid;
        }
    }
    return i;
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

/* A buffer pool (cfg.pool_bytes) that holds every buffer the connections
 * can fill, the memory fixed rings take: the bulk figures measure the data
 * path, not memory pressure, and stay comparable with a stack that has no
 * pool (and ignores the field). */
static size_t
full_pool(const struct tern_tcp_config *t)
{
    return (size_t)t->max_connections * ((size_t)t->sndbuf + t->rcvbuf);
}

/* A pool that lets every connection keep an open window: 4 KiB per slot
 * plus 128 KiB. The pool of issue 10 reserves the chunks behind every
 * window a connection announces, in whole 2 KiB chunks, and gives a
 * connection that finds none a zero window (which takes no byte, not even
 * a FIN). A stack without a pool ignores it. */
#define WINDOW_POOL_PER_CONN 4096
#define WINDOW_POOL_EXTRA    (128 * 1024)

static size_t
window_pool(const struct tern_tcp_config *t)
{
    return (size_t)t->max_connections * WINDOW_POOL_PER_CONN + WINDOW_POOL_EXTRA;
}

/* The largest send and receive buffers the stack accepts (today's TCP caps
 * the receive buffer below 64 KiB; window scaling will lift that). */
static int
bulk_pair(struct pair *p, uint16_t mtu, uint32_t *snd, uint32_t *rcv)
{
    static const uint32_t tries[] = {4u << 20, 1u << 20, 256u << 10, 65535, 32768, 16384};
    int rc = TERN_ERR_INVAL;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct tern_config c[2];
        for (int k = 0; k < 2; k++) {
            side_config(k, mtu, &c[k]);
            c[k].tcp.max_connections = 4;
            c[k].tcp.sndbuf = tries[i];
            c[k].tcp.rcvbuf = tries[i];
            c[k].pool_bytes = full_pool(&c[k].tcp);
        }
        rc = pair_new(p, c);
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
tern_bulk(uint16_t mtu, bool v6, uint64_t total, double timeout_s, const uint8_t *pat,
          struct bulk_result *r)
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
    if (lid < 0 || pair_connect_family(&p, v6, lid, &cid, &sid) != 0) {
        r->stalled = true, r->why = "handshake failed";
    } else {
        uint64_t j0 = p.jumps;
        bulk_loop(&p, cid, sid, pat, buf, total, timeout_s, r);
        r->jumps = p.jumps - j0;
        r->retransmits = tern_stack_stats(p.st[0])->tcp.retransmits;
        r->fragmented = tern_stack_stats(p.st[0])->ip.tx_fragmented +
                        tern_stack_stats(p.st[0])->ip6.tx_fragmented;
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

#define CLIENT_BUF 512 /* the client's rings where its memory is not measured */

struct idle_fig {
    uint64_t n, ok;     /* connections asked for, established */
    unsigned listeners; /* listening ports they are spread over */
    size_t empty, full; /* heap of the two server stacks */
    long long growth;   /* bytes the server allocated after tern_stack_new */
    double per_conn;    /* (full - empty) / n; 0 when not measured */
    uint64_t zero_wnd;  /* connections whose server announced a zero window */
    bool estimated;     /* the server did not fit mem_budget(): per_conn is what
                           tern_stack_new asked for, (asked - empty) / n */
    size_t budget, asked;
};

/*
 * Heap per idle ESTABLISHED connection on the server. Two server stacks,
 * both from side_config(1, 1500) (tern_config_init() defaults: buffers,
 * TIME-WAIT and SYN cache sizes, pool, reassembly), differing only in
 * tcp.max_connections:
 *   full:  n + L (L listeners, n children), holding the L listeners and the
 *          n children established and accepted, after 4 more rounds;
 *   empty: L, holding the L listeners and no connection.
 * per_conn = (heap(full) - heap(empty)) / n. What is subtracted is the
 * stack object, IP (transmit buffer, loopback queue, reassembly), the
 * TCP transmit buffer, the L listeners' slots and every allocation whose
 * size does not depend on max_connections; what stays is what grows with
 * the connection capacity: slots (TCB, buffers) and the hash buckets. Both
 * heaps are counted through the cfg.alloc hook. A buffer pool, carved at
 * creation with the same size in both, is subtracted with the rest: what a
 * connection takes from it is not in per_conn. What it leaves the
 * connections shows in zero_wnd: the connections on which the server
 * announced a zero window (the client's STATUS snd_wnd), i.e. that cannot
 * receive a byte (nor a FIN) until the server's memory frees. The client
 * (its memory is not counted) has CLIENT_BUF-byte buffers, a pool that
 * backs them, so that a million connections fit.
 */
static void
idle_measure(uint64_t n, size_t budget, struct idle_fig *f)
{
    memset(f, 0, sizeof *f);
    f->n = n, f->budget = budget;
    f->listeners = listeners_for(n);
    int *lids = calloc(f->listeners, sizeof *lids), *cids = calloc(n, sizeof *cids);
    int *sids = calloc(n, sizeof *sids);
    struct tern_config c[2];
    side_config(0, 1500, &c[0]);
    side_config(1, 1500, &c[1]);
    struct counter total = {.limit = budget}, cli = {.total = &total};
    struct counter empty = {.total = &total}, full = {.total = &total};
    struct pair p;
    c[0].tcp.max_connections = 1;
    c[1].tcp.max_connections = f->listeners;
    c[1].alloc = count_alloc, c[1].alloc_ud = &empty;
    if (lids == NULL || cids == NULL || sids == NULL || pair_new(&p, c) != TERN_OK) {
        free(lids), free(cids), free(sids);
        return;
    }
    bool listening = pair_listen_many(&p, f->listeners, lids) == 0;
    f->empty = empty.live;
    pair_free(&p);
    c[0].tcp.max_connections = (unsigned)n;
    c[0].tcp.sndbuf = c[0].tcp.rcvbuf = CLIENT_BUF;
    c[0].pool_bytes = full_pool(&c[0].tcp);
    c[0].alloc = count_alloc, c[0].alloc_ud = &cli;
    c[1].tcp.max_connections = (unsigned)n + f->listeners;
    c[1].alloc_ud = &full;
    int rc = listening ? pair_new(&p, c) : TERN_ERR_INVAL;
    if (rc != TERN_OK) {
        /* Today's stack takes every slot at creation: a million of them may
         * not fit this machine. The server's request is then the figure,
         * marked as an estimate (a lower bound: it stops at the refusal). */
        if (full.refused > 0 && full.asked > f->empty) {
            f->asked = full.asked;
            f->per_conn = (double)(full.asked - f->empty) / (double)n;
            f->estimated = true;
        }
        free(lids), free(cids), free(sids);
        return;
    }
    size_t at_new = full.live;
    if (pair_listen_many(&p, f->listeners, lids) == 0) {
        f->ok = pair_connect_many(&p, lids, n, false, cids, sids);
    }
    for (int r = 0; r < 4; r++) {
        pair_round(&p);
    }
    f->full = full.live;
    f->growth = (long long)f->full - (long long)at_new;
    for (uint64_t i = 0; i < f->ok; i++) {
        struct tern_tcp_status s;
        f->zero_wnd += tern_tcp_status(p.st[0], cids[i], &s) == TERN_OK && s.snd_wnd == 0;
    }
    pair_free(&p);
    free(lids), free(cids), free(sids);
    if (f->ok == n && f->full >= f->empty) {
        f->per_conn = (double)(f->full - f->empty) / (double)n;
    }
}

/* ---- The heap of one stack, and per TIME-WAIT record and SYN cache entry ---- */

/* Heap after tern_stack_new() of the server's configuration `c` (its alloc
 * hook replaced by a counter), or 0 when the stack cannot be created. */
static size_t
stack_heap(struct tern_config c)
{
    struct counter cnt = {0};
    struct mq q = {0};
    struct tern_stack *st;
    c.alloc = count_alloc, c.alloc_ud = &cnt;
    c.netifs[0].transmit = mq_transmit, c.netifs[0].transmit_ctx = &q;
    if (tern_stack_new(&c, 0, &st) != TERN_OK) {
        return 0;
    }
    size_t live = cnt.live;
    tern_stack_free(st);
    return live;
}

/* Table sizes whose heap difference gives the bytes per record. */
#define TABLE_N1 1024u
#define TABLE_N2 5120u

/* Bytes per entry of a table sized by *field (time_wait_max or
 * syn_cache_max): (heap(N2) - heap(N1)) / (N2 - N1), both stacks from the
 * default server config. Two non-zero sizes, since 0 may mean "the
 * default". -1 when a stack could not be created. */
static double
table_entry_bytes(size_t field_off)
{
    struct tern_config c;
    size_t h[2];
    for (int k = 0; k < 2; k++) {
        side_config(1, 1500, &c);
        *(unsigned *)((char *)&c.tcp + field_off) = k == 0 ? TABLE_N1 : TABLE_N2;
        h[k] = stack_heap(c);
    }
    if (h[0] == 0 || h[1] == 0) {
        return -1;
    }
    return ((double)h[1] - (double)h[0]) / (double)(TABLE_N2 - TABLE_N1);
}

struct table_fig {
    double default_stack;        /* heap of a default stack; 0 if it failed */
    double tw_entry, syn_entry;  /* bytes per record; -1 if not measured */
    uint64_t tw_asked, tw_seen;  /* connections closed by the server, seen in TIME-WAIT */
    long long tw_growth;         /* server heap after them minus before; -1: not measured */
    uint64_t syn_sent, syn_acks; /* SYNs delivered in one burst, SYN,ACKs answered */
    long long syn_growth;        /* server heap after the burst minus before; -1: not measured */
};

/* Puts `m` connections into TIME-WAIT on the server (the server closes
 * first, the client answers the FIN) and counts the server's heap before
 * and after. Both stacks: default config, room for the listener and the m
 * connections, time_wait_max = m, and a pool that lets every connection
 * keep an open window (window_pool: with the default pool, connections
 * beyond the first few get a zero window, and a FIN, one byte of sequence
 * space, is not acceptable in a zero window, RFC 9293 3.10.7.4). */
static void
time_wait_growth(uint64_t m, struct table_fig *f)
{
    struct tern_config c[2];
    for (int i = 0; i < 2; i++) {
        side_config(i, 1500, &c[i]);
        c[i].tcp.max_connections = (unsigned)m + 1;
        c[i].tcp.time_wait_max = (unsigned)m;
        c[i].pool_bytes = window_pool(&c[i].tcp);
    }
    struct counter cnt = {0};
    c[1].alloc = count_alloc, c[1].alloc_ud = &cnt;
    struct pair p;
    f->tw_asked = m, f->tw_growth = -1;
    if (pair_new(&p, c) != TERN_OK) {
        return;
    }
    int lid = pair_listen(&p);
    size_t before = cnt.live;
    for (uint64_t i = 0; lid > 0 && i < m; i++) {
        int cid, sid;
        if (pair_connect(&p, lid, &cid, &sid) != 0) {
            break;
        }
        tern_tcp_close(p.st[1], sid, p.now);
        bool client_closed = false;
        for (int r = 0; r < 16; r++) {
            pair_round(&p);
            if (!client_closed && (tern_tcp_events(p.st[0], cid) & TERN_TCP_EV_PEER_FIN)) {
                tern_tcp_close(p.st[0], cid, p.now);
                client_closed = true;
            }
            struct tern_tcp_status s;
            if (tern_tcp_status(p.st[1], sid, &s) == TERN_OK && s.state == TERN_TCP_TIME_WAIT) {
                f->tw_seen++;
                break;
            }
        }
        tern_tcp_release(p.st[1], sid, p.now);
        tern_tcp_release(p.st[0], cid, p.now);
    }
    for (int r = 0; r < 4; r++) {
        pair_round(&p);
    }
    f->tw_growth = (long long)cnt.live - (long long)before;
    pair_free(&p);
}

/* TCP flags of a bare IPv4 datagram (0 if it is not TCP). */
static unsigned
tcp_flags(const uint8_t *pkt, size_t len)
{
    size_t ihl = (size_t)(pkt[0] & 15) * 4;
    return len >= ihl + 20 && pkt[9] == 6 ? pkt[ihl + 13] : 0;
}

/* One burst of m SYNs to a listener whose SYN,ACKs are never answered (the
 * server's datagrams are dropped), so m handshakes stay half-open; counts
 * the server's heap before and after. Server: default config, room for the
 * listener and m children (a stack without a SYN cache keeps them in
 * slots), backlog m (such a listener counts them there), syn_cache_max = m. */
static void
syn_burst_growth(uint64_t m, struct table_fig *f)
{
    struct tern_config c[2];
    side_config(0, 1500, &c[0]);
    side_config(1, 1500, &c[1]);
    c[0].tcp.max_connections = (unsigned)m;
    c[0].tcp.sndbuf = c[0].tcp.rcvbuf = CLIENT_BUF;
    c[0].pool_bytes = full_pool(&c[0].tcp);
    c[1].tcp.max_connections = (unsigned)m + 1;
    c[1].tcp.syn_cache_max = (unsigned)m;
    struct counter cnt = {0};
    c[1].alloc = count_alloc, c[1].alloc_ud = &cnt;
    struct pair p;
    f->syn_growth = -1;
    if (pair_new(&p, c) != TERN_OK) {
        return;
    }
    struct tern_tcp_open_args la = {.passive = true, .local_port = PORT, .backlog = (unsigned)m};
    int lid = tern_tcp_open(p.st[1], &la, p.now);
    size_t before = cnt.live;
    /* The SYNs, all queued first (one datagram each), then delivered at once. */
    for (uint64_t i = 0; lid > 0 && i < m; i++) {
        struct tern_tcp_open_args a = {.remote_addr = tern_ip4(ADDR_B),
                                       .remote_port = PORT,
                                       .local_port = (uint16_t)(CLIENT_PORT_MIN + i)};
        if (tern_tcp_open(p.st[0], &a, p.now) <= 0) {
            break;
        }
    }
    struct mq *q = &p.q[0];
    for (size_t off = 0; off < q->used;) {
        uint32_t len;
        memcpy(&len, q->buf + off, sizeof len);
        tern_stack_input(p.st[1], 0, q->buf + off + 8, len, p.now);
        off += 8 + ((len + 7) & ~(size_t)7);
        f->syn_sent++;
    }
    q->used = 0;
    q = &p.q[1];
    for (size_t off = 0; off < q->used;) {
        uint32_t len;
        memcpy(&len, q->buf + off, sizeof len);
        f->syn_acks += (tcp_flags(q->buf + off + 8, len) & 0x12) == 0x12; /* SYN and ACK */
        off += 8 + ((len + 7) & ~(size_t)7);
    }
    q->used = 0; /* the SYN,ACKs are lost */
    f->syn_growth = (long long)cnt.live - (long long)before;
    pair_free(&p);
}

static void
table_measure(uint64_t m, struct table_fig *f)
{
    memset(f, 0, sizeof *f);
    struct tern_config c;
    side_config(1, 1500, &c);
    f->default_stack = (double)stack_heap(c);
    f->tw_entry = table_entry_bytes(offsetof(struct tern_tcp_config, time_wait_max));
    f->syn_entry = table_entry_bytes(offsetof(struct tern_tcp_config, syn_cache_max));
    time_wait_growth(m, f);
    syn_burst_growth(m, f);
}

/* ---- Time per packet among many connections ---------------------------------- */

#define PKT_LEN    64
#define PKT_SNDBUF 512  /* both stacks: a million connections fit even with fixed rings */
#define PKT_RCVBUF 2048 /* the receive window moves in steps of 1 KiB (SWS avoidance) */

struct pkt_fig {
    uint64_t conns;     /* established connections */
    double ns;          /* wall time per packet (request and response each count) */
    double datagrams;   /* datagrams both stacks sent per exchange */
    uint64_t exchanges; /* per repetition */
    uint64_t failed;    /* exchanges that did not complete */
    bool measured;
    bool nomem; /* the stacks did not fit mem_budget() */
};

/* splitmix64: the fixed-seed choice of the connection. */
static uint64_t
prng_next(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Reads exactly PKT_LEN bytes from `id` on side `s`, running rounds while
 * none have arrived (at most 8). 0 or -1. */
static int
pkt_read(struct pair *p, int s, int id, uint8_t *buf)
{
    size_t got = 0;
    for (int r = 0; r < 8 && got < PKT_LEN; r++) {
        int n = tern_tcp_recv(p->st[s], id, buf + got, PKT_LEN - got, p->now);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == TERN_ERR_AGAIN) {
            pair_round(p);
        } else {
            return -1;
        }
    }
    return got == PKT_LEN ? 0 : -1;
}

/* The client sends 64 bytes, the server reads them and answers them back,
 * the client reads the answer and checks it. 0 or -1. */
static int
pkt_exchange(struct pair *p, int cid, int sid, uint64_t k)
{
    uint8_t req[PKT_LEN], buf[PKT_LEN];
    memset(req, (int)(k & 255), sizeof req);
    memcpy(req, &k, sizeof k);
    if (tern_tcp_send(p->st[0], cid, req, PKT_LEN, p->now) != PKT_LEN) {
        return -1;
    }
    pair_round(p);
    if (pkt_read(p, 1, sid, buf) != 0 ||
        tern_tcp_send(p->st[1], sid, buf, PKT_LEN, p->now) != PKT_LEN) {
        return -1;
    }
    pair_round(p);
    return pkt_read(p, 0, cid, buf) == 0 && memcmp(buf, req, PKT_LEN) == 0 ? 0 : -1;
}

/*
 * n connections established between the two stacks (spread as in
 * pair_connect_many), then `exchanges` request/response exchanges, each on a
 * connection drawn by a fixed-seed PRNG, timed on CLOCK_MONOTONIC; the
 * figure is the median over `reps` of wall time / (2 * exchanges): the
 * request and the response each count as a packet. A warm-up of a tenth of
 * the exchanges (not timed) comes first. Configuration, the same at every n:
 * PKT_SNDBUF / PKT_RCVBUF buffers on both stacks, and a pool that lets
 * every connection keep an open window (window_pool: the figure is
 * the packet path, not memory pressure; with the default pool most
 * connections would announce a zero window, see idle_measure); the client
 * ACKs every
 * segment at once (delack_ns < 0), so that each exchange is the same three
 * datagrams (request, response carrying the ACK, the client's ACK) whatever
 * n: with the default 40 ms delayed ACK the client's ACK would ride on its
 * next request when n = 1 and be a separate datagram when n is large. Nagle
 * off on both ends. The client also sends a window update when a connection
 * has carried 1 KiB since the last (receiver-side SWS avoidance), about one
 * exchange in 16 at n = 1 and almost never at large n: datagrams reports
 * what was sent per exchange.
 */
static void
pkt_measure(uint64_t n, uint64_t exchanges, uint64_t reps, size_t budget, struct pkt_fig *f)
{
    memset(f, 0, sizeof *f);
    f->exchanges = exchanges;
    unsigned nl = listeners_for(n);
    int *lids = calloc(nl, sizeof *lids), *cids = calloc(n, sizeof *cids);
    int *sids = calloc(n, sizeof *sids);
    struct tern_config c[2];
    side_config(0, 1500, &c[0]);
    side_config(1, 1500, &c[1]);
    c[0].tcp.max_connections = (unsigned)n;
    c[0].tcp.delack_ns = -1;
    c[1].tcp.max_connections = (unsigned)n + nl;
    for (int i = 0; i < 2; i++) {
        c[i].tcp.sndbuf = PKT_SNDBUF, c[i].tcp.rcvbuf = PKT_RCVBUF;
        c[i].pool_bytes = window_pool(&c[i].tcp);
    }
    struct counter total = {.limit = budget}, cnt[2] = {{.total = &total}, {.total = &total}};
    for (int i = 0; i < 2; i++) {
        c[i].alloc = count_alloc, c[i].alloc_ud = &cnt[i];
    }
    struct pair p;
    int rc = lids == NULL || cids == NULL || sids == NULL ? TERN_ERR_NOMEM : pair_new(&p, c);
    if (rc != TERN_OK) {
        f->nomem = rc == TERN_ERR_NOMEM;
        free(lids), free(cids), free(sids);
        return;
    }
    if (pair_listen_many(&p, nl, lids) == 0) {
        f->conns = pair_connect_many(&p, lids, n, true, cids, sids);
    }
    if (f->conns == n) {
        uint64_t x = 42, k = 0;
        for (uint64_t w = 0; w < exchanges / 10; w++, k++) {
            uint64_t i = prng_next(&x) % n;
            f->failed += pkt_exchange(&p, cids[i], sids[i], k) != 0;
        }
        double v[MAX_REPS], d[MAX_REPS];
        for (uint64_t r = 0; r < reps; r++) {
            uint64_t d0 = p.q[0].pkts + p.q[1].pkts;
            double t0 = mono_s();
            for (uint64_t e = 0; e < exchanges; e++, k++) {
                uint64_t i = prng_next(&x) % n;
                f->failed += pkt_exchange(&p, cids[i], sids[i], k) != 0;
            }
            v[r] = (mono_s() - t0) * 1e9 / (2 * (double)exchanges);
            d[r] = (double)(p.q[0].pkts + p.q[1].pkts - d0) / (double)exchanges;
        }
        f->ns = median(v, reps);
        f->datagrams = median(d, reps);
        f->measured = f->failed == 0;
    }
    pair_free(&p);
    free(lids), free(cids), free(sids);
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
    bool stalled, corrupt, rfc6675;
    uint64_t lost;
};

static int
imp_setup(struct tern_sim *sim, const struct tern_link_params *lp, bool rfc6675, int *link)
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
        c.tcp.loss_detection = rfc6675 ? TERN_TCP_LOSS_RFC6675 : TERN_TCP_LOSS_RACK;
        int h, rc = TERN_ERR_INVAL;
        static const uint32_t tries[] = {4u << 20, 1u << 20, 256u << 10, 65535, 16384};
        for (size_t k = 0; k < sizeof tries / sizeof tries[0] && rc != TERN_OK; k++) {
            c.tcp.sndbuf = c.tcp.rcvbuf = tries[k];
            c.pool_bytes = full_pool(&c.tcp);
            rc = tern_sim_add_host(sim, NULL, &c, &h);
        }
        if (rc != TERN_OK) {
            return rc;
        }
    }
    return tern_sim_link(sim, 0, 0, 1, 0, lp, lp, link);
}

static void
impaired(uint64_t total, double timeout_s, bool rfc6675, const uint8_t *pat, struct imp_result *r)
{
    memset(r, 0, sizeof *r);
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = 10000000;
    lp.bandwidth_bps = 100000000;
    lp.queue_bytes = 250000; /* one bandwidth-delay product at 20 ms RTT */
    lp.loss_ppm = 10000;
    r->link_mbps = 100, r->delay_ms = 10, r->loss_pct = 1, r->total = total;
    r->rfc6675 = rfc6675;
    struct tern_sim *sim;
    struct imp m = {.pat = pat, .total = total, .t_done = -1};
    int link;
    if (tern_sim_new(42, &sim) != TERN_OK || (m.buf = malloc(PERIOD)) == NULL ||
        imp_setup(sim, &lp, rfc6675, &link) != TERN_OK) {
        r->stalled = true;
        free(m.buf);
        tern_sim_free(sim);
        return;
    }
    m.sim = sim, m.a = tern_sim_host_stack(sim, 0), m.b = tern_sim_host_stack(sim, 1);
    tern_tcp_set_callback(m.a, 0, imp_event, &m);
    tern_tcp_set_callback(m.b, 0, imp_event, &m);
    struct tern_tcp_open_args la = {.passive = true, .local_port = PORT};
    struct tern_tcp_open_args ca = {.remote_addr = tern_ip4(ADDR_B), .remote_port = PORT};
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
    struct bulk_fig small6; /* IPv6 at MTU 1500 (MSS 1440), alternated with small */
    double lx, lx1460;
    bool lx_corrupt;
    double abort_cps, graceful_cps, lx_abort_cps, lx_graceful_cps;
    uint64_t abort_failed, graceful_failed, lx_abort_failed, lx_graceful_failed;
    struct idle_fig idle, idle_large; /* --idle-conns, --large-conns */
    struct table_fig tab;
    struct pkt_fig pkt[3]; /* 1, --mid-conns, --large-conns connections */
    bool large_skipped;
    double large_wall_s; /* wall time of the --large-conns figures */
    size_t budget;       /* mem_budget() */
    struct imp_result imp;
};

static double
bulk_once(uint16_t mtu, bool v6, const struct opts *o, const uint8_t *pat, struct bulk_fig *f)
{
    tern_bulk(mtu, v6, o->bytes, o->timeout_s, pat, &f->last);
    f->stalled = f->stalled || f->last.stalled;
    f->corrupt = f->corrupt || f->last.corrupt;
    return f->last.secs > 0 ? (double)f->last.bytes * 8 / f->last.secs / 1e9 : 0;
}

static void
run_bulk(const struct opts *o, uint16_t mtu, const uint8_t *pat, struct bulk_fig *f)
{
    double g[MAX_REPS];
    for (uint64_t i = 0; i < o->reps; i++) {
        g[i] = bulk_once(mtu, false, o, pat, f);
    }
    f->gbps = median(g, o->reps);
}

/* IPv4 and IPv6 at MTU 1500, alternated (A B A B) so that the machine's
 * drift falls on both alike; medians of each. */
static void
run_bulk_families(const struct opts *o, const uint8_t *pat, struct bulk_fig *f4,
                  struct bulk_fig *f6)
{
    double g4[MAX_REPS], g6[MAX_REPS];
    for (uint64_t i = 0; i < o->reps; i++) {
        g4[i] = bulk_once(1500, false, o, pat, f4);
        g6[i] = bulk_once(1500, true, o, pat, f6);
    }
    f4->gbps = median(g4, o->reps);
    f6->gbps = median(g6, o->reps);
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
    run_bulk_families(o, pat, &f->small, &f->small6);
    run_bulk(o, 65535, pat, &f->large);
    f->lx = run_lx_bulk(o, 0, pat, &f->lx_corrupt);
    f->lx1460 = run_lx_bulk(o, 1460, pat, &f->lx_corrupt);
    f->abort_cps = run_cycles(o, false, false, &f->abort_failed);
    f->graceful_cps = run_cycles(o, false, true, &f->graceful_failed);
    f->lx_abort_cps = run_cycles(o, true, false, &f->lx_abort_failed);
    f->lx_graceful_cps = run_cycles(o, true, true, &f->lx_graceful_failed);
    f->budget = mem_budget();
    idle_measure(o->idle_conns, f->budget, &f->idle);
    table_measure(o->quick ? 100 : 1000, &f->tab);
    pkt_measure(1, o->pkts, o->reps, f->budget, &f->pkt[0]);
    pkt_measure(o->mid_conns, o->pkts, o->reps, f->budget, &f->pkt[1]);
    f->large_skipped = o->skip_large;
    if (!o->skip_large) {
        double t0 = mono_s();
        idle_measure(o->large_conns, f->budget, &f->idle_large);
        pkt_measure(o->large_conns, o->pkts, o->reps, f->budget, &f->pkt[2]);
        f->large_wall_s = mono_s() - t0;
    }
    impaired(o->impaired_bytes, o->timeout_s, o->rfc6675, pat, &f->imp);
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
print_idle(const char *name, const struct idle_fig *g, bool skipped)
{
    if (skipped) {
        printf("  %-28s %9s (--skip-large)\n", name, "skipped");
    } else if (g->estimated) {
        printf("  %-28s %9.0f bytes ESTIMATE (%llu connections: the server would not fit the "
               "memory budget; it asked for %.2f GB at creation)\n",
               name, g->per_conn, (unsigned long long)g->n, (double)g->asked / 1e9);
    } else if (g->ok != g->n) {
        printf("  %-28s %9s (%llu of %llu connections established)\n", name, "FAILED",
               (unsigned long long)g->ok, (unsigned long long)g->n);
    } else {
        printf("  %-28s %9.0f bytes (%llu established over %u listening port%s, default "
               "config; %lld bytes allocated after init; %llu with a zero window)\n",
               name, g->per_conn, (unsigned long long)g->n, g->listeners,
               g->listeners == 1 ? "" : "s", g->growth, (unsigned long long)g->zero_wnd);
    }
}

static void
print_pkt(const char *name, const struct pkt_fig *g, bool skipped, double base)
{
    if (skipped) {
        printf("  %-28s %9s (--skip-large)\n", name, "skipped");
    } else if (g->nomem) {
        printf("  %-28s %9s (the two stacks would not fit the memory budget)\n", name,
               "NOT MEASURED");
    } else if (!g->measured) {
        printf("  %-28s %9s (%llu connections established, %llu exchanges failed)\n", name,
               "FAILED", (unsigned long long)g->conns, (unsigned long long)g->failed);
    } else {
        printf("  %-28s %9.0f ns per packet (%llu connection%s", name, g->ns,
               (unsigned long long)g->conns, g->conns == 1 ? "" : "s");
        if (base > 0) {
            printf("; %.2fx the 1-connection figure", g->ns / base);
        }
        printf(")\n");
    }
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
    printf("  %-28s %9.2f Gbit/s %15s %9.2fx IPv4's (MSS 1460, same run, alternated)\n",
           "bulk IPv6 MSS 1440 (MTU 1500)", f->small6.gbps, "",
           ratio(f->small6.gbps, f->small.gbps));
    printf("  %-28s %9.2f Gbit/s %8.2f Gbit/s %9.2fx\n", "bulk MSS 65495 (MTU 65535)",
           f->large.gbps, f->lx, ratio(f->large.gbps, f->lx));
    print_cycles("cycles, abort (RST)", f->abort_cps, f->lx_abort_cps, f->abort_failed,
                 f->lx_abort_failed);
    print_cycles("cycles, graceful (FIN, TW)", f->graceful_cps, f->lx_graceful_cps,
                 f->graceful_failed, f->lx_graceful_failed);
    const struct imp_result *m = &f->imp;
    printf("  %-28s %9.2f Mbit/s of %.0f Mbit/s (%.1f%%; %.0f ms one way, %.0f%% loss each way; "
           "%llu bytes in %.2f s virtual, %.2f s wall, %llu packets lost; %s loss detection)%s%s\n",
           "impaired bulk (simulator)", m->goodput_mbps, m->link_mbps,
           100 * m->goodput_mbps / m->link_mbps, m->delay_ms, m->loss_pct,
           (unsigned long long)m->bytes, m->virt_s, m->wall_s, (unsigned long long)m->lost,
           m->rfc6675 ? "RFC 6675" : "RACK-TLP",
           m->stalled ? " UNFINISHED: bounded by 600 s virtual or --timeout" : "",
           m->corrupt ? " CORRUPT DATA" : "");
    printf("\n");
    print_idle("memory per idle connection", &f->idle, false);
    print_idle("  the same, large", &f->idle_large, f->large_skipped);
    const struct table_fig *t = &f->tab;
    printf("  %-28s %9.0f bytes (tern_config_init, one raw-IP interface, MTU 1500)\n",
           "default stack", t->default_stack);
    printf("  %-28s %9.1f bytes (heap at time_wait_max %u minus %u, per record); %llu "
           "server-closed connections, %llu seen in TIME-WAIT: heap grew %lld bytes\n",
           "TIME-WAIT record", t->tw_entry, TABLE_N2, TABLE_N1, (unsigned long long)t->tw_asked,
           (unsigned long long)t->tw_seen, t->tw_growth);
    printf("  %-28s %9.1f bytes (heap at syn_cache_max %u minus %u, per entry); a burst of "
           "%llu SYNs, %llu SYN,ACKs never answered: heap grew %lld bytes\n",
           "SYN cache entry", t->syn_entry, TABLE_N2, TABLE_N1, (unsigned long long)t->syn_sent,
           (unsigned long long)t->syn_acks, t->syn_growth);
    print_pkt("packet time, 1 connection", &f->pkt[0], false, 0);
    print_pkt("packet time, mid", &f->pkt[1], false, f->pkt[0].ns);
    print_pkt("packet time, large", &f->pkt[2], f->large_skipped, f->pkt[0].ns);
    printf("\nnotes:\n");
    print_bulk_note("MSS 1460", &f->small);
    print_bulk_note("IPv6 MSS 1440", &f->small6);
    print_bulk_note("MSS 65495", &f->large);
    printf("  Linux: loopback default MTU (64 KiB) unless TCP_MAXSEG 1460; cycles in one "
           "thread holding both ends; abort by SO_LINGER 0%s\n",
           f->lx_corrupt ? "; CORRUPT DATA" : "");
    printf("  tern graceful cycles: MSL 1 ms virtual, so TIME-WAIT lasts ~2000 rounds\n");
    printf("  memory: server heap through the cfg.alloc hook; idle: N established minus the "
           "same config with room for\n"
           "    the listeners only, over N (default sndbuf+rcvbuf %.0f bytes); the client "
           "is not counted; a server\n"
           "    that does not fit %.1f GB (half of MemAvailable) is not built: its request at "
           "creation is the ESTIMATE;\n"
           "    a pool of the default size is subtracted; a zero window: the server cannot "
           "receive on it (pool short)\n",
           default_buffers(), (double)f->budget / 1e9);
    printf("  packet time: 64-byte request and response on connections drawn by a fixed-seed "
           "PRNG, %llu exchanges per\n"
           "    run; buffers %u/%u bytes (send/receive), pool %u bytes per connection + %u; the "
           "client ACKs at once;\n"
           "    datagrams per exchange: %.2f, %.2f, %.2f\n",
           (unsigned long long)o->pkts, PKT_SNDBUF, PKT_RCVBUF, WINDOW_POOL_PER_CONN,
           WINDOW_POOL_EXTRA, f->pkt[0].datagrams, f->pkt[1].datagrams, f->pkt[2].datagrams);
    if (!f->large_skipped) {
        printf("  the %llu-connection figures took %.1f s (--skip-large leaves them out)\n",
               (unsigned long long)o->large_conns, f->large_wall_s);
    }
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
    printf(" \"goodput_ipv6_mss1440_gbps\": %.4f, \"ratio_ipv6_ipv4\": %.4f,\n", f->small6.gbps,
           ratio(f->small6.gbps, f->small.gbps));
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
    printf(" \"idle_conn_bytes\": %.1f, \"idle_conns\": %llu, \"idle_conn_growth_bytes\": %lld, "
           "\"idle_conn_bytes_estimated\": %s, \"idle_conn_buffer_bytes\": %.0f, "
           "\"idle_conns_zero_window\": %llu,\n",
           f->idle.per_conn, (unsigned long long)f->idle.n, f->idle.growth,
           f->idle.estimated ? "true" : "false", default_buffers(),
           (unsigned long long)f->idle.zero_wnd);
    const struct idle_fig *il = &f->idle_large;
    printf(" \"idle_conn_bytes_1m\": %.1f, \"idle_conns_1m\": %llu, "
           "\"idle_conn_bytes_1m_estimated\": %s, \"mem_budget_bytes\": %zu, "
           "\"large_wall_s\": %.1f, \"idle_conns_1m_zero_window\": %lld,\n",
           f->large_skipped || (il->ok != il->n && !il->estimated) ? -1 : il->per_conn,
           (unsigned long long)o->large_conns, il->estimated ? "true" : "false", f->budget,
           f->large_skipped ? -1 : f->large_wall_s,
           f->large_skipped || il->ok != il->n ? -1LL : (long long)il->zero_wnd);
    const struct table_fig *t = &f->tab;
    printf(" \"default_stack_bytes\": %.0f, \"time_wait_bytes\": %.1f, "
           "\"time_wait_growth_bytes\": %lld, \"time_wait_conns\": %llu,\n",
           t->default_stack, t->tw_entry, t->tw_growth, (unsigned long long)t->tw_seen);
    printf(" \"syn_cache_bytes\": %.1f, \"syn_cache_growth_bytes\": %lld, \"syn_burst\": %llu, "
           "\"syn_burst_synacks\": %llu,\n",
           t->syn_entry, t->syn_growth, (unsigned long long)t->syn_sent,
           (unsigned long long)t->syn_acks);
    double pk[3];
    for (int i = 0; i < 3; i++) {
        pk[i] = f->pkt[i].measured && !(i == 2 && f->large_skipped) ? f->pkt[i].ns : -1;
    }
    printf(" \"pkt_ns_1\": %.1f, \"pkt_ns_10k\": %.1f, \"pkt_ns_1m\": %.1f, "
           "\"pkt_ns_1m_over_1\": %.3f,\n",
           pk[0], pk[1], pk[2], pk[0] > 0 && pk[2] > 0 ? pk[2] / pk[0] : -1);
    printf(" \"pkt_conns_10k\": %llu, \"pkt_conns_1m\": %llu, \"pkt_exchanges\": %llu, "
           "\"pkt_datagrams_per_exchange\": {\"1\": %.2f, \"10k\": %.2f, \"1m\": %.2f},\n",
           (unsigned long long)o->mid_conns, (unsigned long long)o->large_conns,
           (unsigned long long)o->pkts, f->pkt[0].datagrams, f->pkt[1].datagrams,
           f->pkt[2].datagrams);
    printf(" \"impaired_goodput_mbps\": %.4f, \"impaired_link_mbps\": %.1f, "
           "\"impaired_delay_ms\": %.1f, \"impaired_loss_pct\": %.1f, \"impaired_bytes\": %llu, "
           "\"impaired_virtual_s\": %.4f, \"impaired_loss_detection\": \"%s\",\n",
           m->goodput_mbps, m->link_mbps, m->delay_ms, m->loss_pct, (unsigned long long)m->bytes,
           m->virt_s, m->rfc6675 ? "rfc6675" : "rack");
    printf(" \"stalled\": {\"bulk_mss1460\": %s, \"bulk_ipv6_mss1440\": %s, \"bulk_mss65495\": %s, "
           "\"impaired\": %s},\n",
           f->small.stalled ? "true" : "false", f->small6.stalled ? "true" : "false",
           f->large.stalled ? "true" : "false", m->stalled ? "true" : "false");
    printf(" \"corrupt\": %s, \"failed_cycles\": {\"abort\": %llu, \"graceful\": %llu, "
           "\"linux_abort\": %llu, \"linux_graceful\": %llu}}\n",
           f->small.corrupt || f->small6.corrupt || f->large.corrupt || m->corrupt || f->lx_corrupt
               ? "true"
               : "false",
           (unsigned long long)f->abort_failed, (unsigned long long)f->graceful_failed,
           (unsigned long long)f->lx_abort_failed, (unsigned long long)f->lx_graceful_failed);
}

/* --bulk-only / --cycles-only: one tern measurement, for callgrind. */
static int
run_only(const struct opts *o, const uint8_t *pat)
{
    if (o->bulk_only) {
        struct bulk_result r;
        tern_bulk(1500, o->bulk6, o->bulk_only, o->timeout_s, pat, &r);
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
    int n_operands;
    int rc = cli_parse(&bench_cmd, argc, argv, &o, NULL, &n_operands);
    if (rc != CLI_OK) {
        if (rc == CLI_HELP) {
            usage(stdout);
            return 0;
        }
        return rc;
    }
    o.rfc6675 = o.loss == LOSS_RFC6675;
    if (o.bulk_only && o.cycles_only) {
        return cli_usage_error(&bench_cmd, "--bulk-only and --cycles-only exclude each other");
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
    bool bad_data =
        f.small.corrupt || f.small6.corrupt || f.large.corrupt || f.imp.corrupt || f.lx_corrupt;
    return bad_data ? 1 : 0;
}
