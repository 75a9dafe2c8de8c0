/*
 * bench/bench_udp.c: UDP datagrams per second through two tern stacks in
 * memory (the native API, tern/udp.h), against the Linux kernel's UDP on
 * loopback in the same run.
 *
 *   tern:  stacks A (10.0.0.1) and B (10.0.0.2) in this process, one raw-IP
 *          interface each (MTU 1500). A's socket sends a batch of datagrams
 *          to B's port (tern_udp_sendto: header, checksum, IP, the transmit
 *          callback copies each packet into a queue); the loop hands the
 *          queue to B (tern_stack_input: IP, UDP checksum, demultiplexing,
 *          B's receive queue); B's socket reads the batch
 *          (tern_udp_recvfrom).
 *   Linux: two UDP sockets on 127.0.0.1 in this thread, the same batches:
 *          sendto() each, then recvfrom() each (blocking).
 *
 * Both sides check every datagram they read (length, a sequence number in
 * its first bytes, the rest of its bytes) and count losses; the check is
 * the same work on both sides. A run moves DGRAMS datagrams of one size;
 * runs alternate tern, Linux, tern, Linux... (RUNS of each, default 5) so
 * that both meet the same machine states. The figure is datagrams per
 * second of the process's CPU time (CLOCK_PROCESS_CPUTIME_ID: for Linux it
 * includes the kernel's work in the two system calls and the loopback
 * delivery, done in this thread's context); wall-clock rates are printed
 * beside it. Medians; the ratio is tern / Linux. The load average before
 * and after says how busy the machine was.
 *
 * Usage: bench_udp [DGRAMS per run, default 200000] [RUNS, default 5]
 * Exit status 0; 1 when a datagram was lost or corrupted, or a socket
 * call failed; 2 for a bad argument.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tern/stack.h"
#include "tern/stats.h"
#include "tern/udp.h"

#define ADDR_A   TERN_IPV4(10, 0, 0, 1)
#define ADDR_B   TERN_IPV4(10, 0, 0, 2)
#define PORT_A   5000
#define PORT_B   9000
#define BATCH    32 /* datagrams in flight: within both receive queues */
#define MAX_SIZE 1472
#define MAX_RUNS 15
#define QCAP     (BATCH * (8 + MAX_SIZE + 28 + 8))

static const size_t sizes[] = {64, 1400};

struct result {
    double cpu_pps, wall_pps;
    uint64_t lost, corrupt;
};

static double
clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The payload of datagram `seq`: its number, then a fixed pattern (so
 * that filling and checking cost a memcpy and a memcmp on both sides, not
 * a loop that would dwarf what is measured). */
static uint8_t pattern[MAX_SIZE];

static void
fill(uint8_t *p, size_t len, uint64_t seq)
{
    memcpy(p, &seq, sizeof seq);
    memcpy(p + sizeof seq, pattern + sizeof seq, len - sizeof seq);
}

/* Checks a datagram read as number `want`; false if it is not that one. */
static bool
verify(const uint8_t *p, size_t got, size_t len, uint64_t want)
{
    uint64_t seq;
    memcpy(&seq, p, sizeof seq);
    return got == len && seq == want &&
           memcmp(p + sizeof seq, pattern + sizeof seq, len - sizeof seq) == 0;
}

/* ---- tern: two stacks in memory ---------------------------------------------- */

/* What one stack transmitted: [u32 len][pad to 8][packet], drained by the loop. */
struct mq {
    uint8_t buf[QCAP];
    size_t used;
    uint64_t drops;
};

static int
mq_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)netif, (void)next_hop;
    struct mq *q = ctx;
    size_t need = 8 + ((len + 7) & ~(size_t)7);
    if (q->used + need > sizeof(q->buf)) {
        q->drops++;
        return -1;
    }
    uint32_t l = (uint32_t)len;
    memcpy(q->buf + q->used, &l, sizeof l);
    memcpy(q->buf + q->used + 8, pkt, len);
    q->used += need;
    return 0;
}

struct tern_side {
    struct tern_stack *st[2];
    struct mq q[2];
    int sock[2];
};

static int
tern_setup(struct tern_side *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < 2; i++) {
        struct tern_config c;
        tern_config_init(&c);
        c.seed = (uint64_t)i + 1;
        c.deterministic = true;
        c.n_netifs = 1;
        c.netifs[0] = (struct tern_netif_config){
            .addr = i == 0 ? ADDR_A : ADDR_B,
            .prefix_len = 24,
            .mtu = 1500,
            .transmit = mq_transmit,
            .transmit_ctx = &t->q[i],
        };
        c.pool_bytes = 1u << 20;
        int rc = tern_stack_new(&c, 0, &t->st[i]);
        if (rc != TERN_OK) {
            fprintf(stderr, "bench_udp: tern_stack_new: %s\n", tern_strerror(rc));
            return -1;
        }
        struct tern_udp_addr local = {.family = TERN_UDP_AF_INET, .port = i == 0 ? PORT_A : PORT_B};
        t->sock[i] = tern_udp_open(t->st[i], 0);
        if (t->sock[i] < 0 || tern_udp_bind(t->st[i], t->sock[i], &local, 0) != TERN_OK) {
            fprintf(stderr, "bench_udp: tern socket %d failed\n", i);
            return -1;
        }
    }
    return 0;
}

static void
tern_teardown(struct tern_side *t)
{
    for (int i = 0; i < 2; i++) {
        tern_stack_free(t->st[i]);
    }
}

/* Hands what stack `from` transmitted to the other stack. */
static void
deliver(struct tern_side *t, int from, int64_t now)
{
    struct mq *q = &t->q[from];
    for (size_t off = 0; off < q->used;) {
        uint32_t len;
        memcpy(&len, q->buf + off, sizeof len);
        (void)tern_stack_input(t->st[1 - from], 0, q->buf + off + 8, len, now);
        off += 8 + ((len + 7) & ~(size_t)7);
    }
    q->used = 0;
}

static struct result
run_tern(struct tern_side *t, size_t len, uint64_t dgrams)
{
    static uint8_t out[MAX_SIZE], in[MAX_SIZE + 1];
    struct result r = {0};
    struct tern_udp_addr to = {.family = TERN_UDP_AF_INET, .port = PORT_B, .v4 = ADDR_B};
    int64_t now = 1000000;
    uint64_t sent = 0, got = 0;
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
    while (sent < dgrams) {
        uint64_t first = sent;
        for (int k = 0; k < BATCH && sent < dgrams; k++, sent++) {
            fill(out, len, sent);
            if (tern_udp_sendto(t->st[0], t->sock[0], out, len, &to, now) != (int)len) {
                r.lost++;
            }
        }
        deliver(t, 0, now);
        for (uint64_t want = first; want < sent; want++) {
            size_t dlen = 0;
            int n = tern_udp_recvfrom(t->st[1], t->sock[1], in, sizeof in, 0, NULL, &dlen, now);
            if (n < 0) {
                r.lost += sent - want;
                break;
            }
            got++;
            if (!verify(in, (size_t)n, len, want)) {
                r.corrupt++;
            }
        }
        now += 1000; /* 1 us a batch: no timer is due in a run */
    }
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = clock_s(CLOCK_MONOTONIC) - w0;
    r.cpu_pps = (double)got / cpu;
    r.wall_pps = (double)got / wall;
    return r;
}

/* ---- Linux: two sockets on 127.0.0.1 ---------------------------------------- */

struct linux_side {
    int fd[2];
    struct sockaddr_in to;
};

static int
linux_setup(struct linux_side *l)
{
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof sa;
        l->fd[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (l->fd[i] < 0 || bind(l->fd[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(l->fd[i], (struct sockaddr *)&sa, &sl) != 0) {
            perror("bench_udp: Linux socket");
            return -1;
        }
        if (i == 1) {
            l->to = sa;
        }
    }
    return 0;
}

static struct result
run_linux(struct linux_side *l, size_t len, uint64_t dgrams)
{
    static uint8_t out[MAX_SIZE], in[MAX_SIZE + 1];
    struct result r = {0};
    uint64_t sent = 0, got = 0;
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
    while (sent < dgrams) {
        uint64_t first = sent;
        for (int k = 0; k < BATCH && sent < dgrams; k++, sent++) {
            fill(out, len, sent);
            if (sendto(l->fd[0], out, len, 0, (struct sockaddr *)&l->to, sizeof l->to) !=
                (ssize_t)len) {
                r.lost++;
            }
        }
        for (uint64_t want = first; want < sent; want++) {
            /* Loopback delivers within sendto(): nothing waits here unless
             * a datagram was lost, which SO_RCVTIMEO's 1 s bound reports. */
            ssize_t n = recv(l->fd[1], in, sizeof in, 0);
            if (n < 0) {
                r.lost += sent - want;
                break;
            }
            got++;
            if (!verify(in, (size_t)n, len, want)) {
                r.corrupt++;
            }
        }
    }
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = clock_s(CLOCK_MONOTONIC) - w0;
    r.cpu_pps = (double)got / cpu;
    r.wall_pps = (double)got / wall;
    return r;
}

/* ---- Driver ------------------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(const double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void
print_load(const char *when)
{
    double la[3] = {0};
    if (getloadavg(la, 3) == 3) {
        printf("load average %s: %.2f %.2f %.2f (%ld cores)\n", when, la[0], la[1], la[2],
               sysconf(_SC_NPROCESSORS_ONLN));
    }
}

static bool
parse_arg(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

int
main(int argc, char **argv)
{
    long dgrams = 200000, runs = 5;
    if (argc > 3 || (argc > 1 && !parse_arg(argv[1], 1000, 1000000000, &dgrams)) ||
        (argc > 2 && !parse_arg(argv[2], 1, MAX_RUNS, &runs))) {
        fprintf(stderr, "usage: bench_udp [DGRAMS per run, 1000 or more] [RUNS, 1..%d]\n",
                MAX_RUNS);
        return 2;
    }
    for (size_t i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (uint8_t)(i * 131 + 7);
    }
    static struct tern_side t;
    struct linux_side l;
    if (tern_setup(&t) != 0 || linux_setup(&l) != 0) {
        return 1;
    }
    /* The Linux receiver reads after each batch: its queue must hold one. */
    struct timeval tv = {1, 0};
    int rcv = 4 << 20;
    setsockopt(l.fd[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(l.fd[1], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);

    printf("bench_udp: %ld datagrams per run, %ld runs each, alternated tern, Linux; batches of "
           "%d\n",
           dgrams, runs, BATCH);
    print_load("before");
    int bad = 0;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t len = sizes[s];
        double tc[MAX_RUNS], tw[MAX_RUNS], lc[MAX_RUNS], lw[MAX_RUNS];
        uint64_t lost = 0, corrupt = 0;
        for (int i = 0; i < runs; i++) {
            struct result a = run_tern(&t, len, (uint64_t)dgrams);
            struct result b = run_linux(&l, len, (uint64_t)dgrams);
            tc[i] = a.cpu_pps, tw[i] = a.wall_pps, lc[i] = b.cpu_pps, lw[i] = b.wall_pps;
            lost += a.lost + b.lost;
            corrupt += a.corrupt + b.corrupt;
            printf("# %zu B run %d: tern %.0f/s cpu %.0f/s wall (lost %llu, corrupt %llu); "
                   "linux %.0f/s cpu %.0f/s wall (lost %llu, corrupt %llu)\n",
                   len, i + 1, a.cpu_pps, a.wall_pps, (unsigned long long)a.lost,
                   (unsigned long long)a.corrupt, b.cpu_pps, b.wall_pps, (unsigned long long)b.lost,
                   (unsigned long long)b.corrupt);
        }
        double mt = median(tc, (int)runs), ml = median(lc, (int)runs);
        printf("udp %zu B: tern %.0f dgram/s, linux %.0f dgram/s, ratio %.2f (CPU time); wall: "
               "tern %.0f, linux %.0f dgram/s; lost %llu, corrupt %llu\n",
               len, mt, ml, mt / ml, median(tw, (int)runs), median(lw, (int)runs),
               (unsigned long long)lost, (unsigned long long)corrupt);
        bad += lost != 0 || corrupt != 0;
    }
    print_load("after");
    printf("tern drops: transmit queue %llu/%llu, stack %llu/%llu\n",
           (unsigned long long)t.q[0].drops, (unsigned long long)t.q[1].drops,
           (unsigned long long)tern_stats_drops_total(tern_stack_stats(t.st[0])),
           (unsigned long long)tern_stats_drops_total(tern_stack_stats(t.st[1])));
    tern_teardown(&t);
    close(l.fd[0]);
    close(l.fd[1]);
    return bad ? 1 : 0;
}
