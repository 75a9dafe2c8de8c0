/*
 * bench/bench_socket.c: goodput through the socket API, against the Linux
 * kernel's sockets in the same run.
 *
 *   tern:  two tern stacks on a simulated link with no delay and no rate
 *          limit, run in real time by a runtime thread (tern_rt_start_sim);
 *          a client thread writes, a server thread reads, both with
 *          blocking tern_write / tern_read.
 *   Linux: the same two threads on kernel TCP sockets over 127.0.0.1.
 *
 * Prints the median of RUNS runs of BYTES each, in Mbit/s, and the ratio.
 * What it measures for tern is the whole path a socket user pays for: the
 * socket layer (locks, readiness mirror, condition variables), the TCP/IP
 * stack, and the simulator standing in for a wire; for Linux, loopback TCP.
 * Usage: bench_socket [MiB per run, default 64] [runs, default 5]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tern/sim.h"
#include "tern/socket.h"

#define CHUNK (64 * 1024)

struct api {
    int (*socket)(int, int, int);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    int (*close)(int);
};

static const struct api kernel_api = {socket, bind, listen, accept, connect, read, write, close};
static const struct api tern_api = {tern_socket,  tern_bind, tern_listen, tern_accept,
                                    tern_connect, tern_read, tern_write,  tern_close};

struct run {
    const struct api *a;
    int lfd;
    size_t bytes;
    size_t got;
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
server(void *arg)
{
    struct run *r = arg;
    int c = r->a->accept(r->lfd, NULL, NULL);
    if (c < 0) {
        return NULL;
    }
    static char buf[CHUNK];
    ssize_t n;
    while ((n = r->a->read(c, buf, sizeof(buf))) > 0) {
        r->got += (size_t)n;
    }
    r->a->close(c);
    return NULL;
}

/* Listens on `lfd` (made by the caller, bound to `srv`), connects `cfd`
 * to it and moves `bytes`; returns Mbit/s from connect to the server's end
 * of stream, or -1 on failure. */
static double
transfer(const struct api *a, int lfd, int cfd, const struct sockaddr_in *srv, size_t bytes)
{
    struct run r = {.a = a, .lfd = lfd, .bytes = bytes};
    if (lfd < 0 || cfd < 0 || a->bind(lfd, (const struct sockaddr *)srv, sizeof(*srv)) != 0 ||
        a->listen(lfd, 4) != 0) {
        perror("bench_socket: listen");
        return -1;
    }
    pthread_t th;
    pthread_create(&th, NULL, server, &r);
    static char buf[CHUNK];
    memset(buf, 'x', sizeof(buf));
    double t0 = now_s();
    if (a->connect(cfd, (const struct sockaddr *)srv, sizeof(*srv)) != 0) {
        perror("bench_socket: connect");
        a->close(lfd); /* wakes the server's accept with an error */
        pthread_join(th, NULL);
        return -1;
    }
    for (size_t sent = 0; sent < bytes;) {
        size_t n = bytes - sent < sizeof(buf) ? bytes - sent : sizeof(buf);
        ssize_t w = a->write(cfd, buf, n);
        if (w <= 0) {
            perror("bench_socket: write");
            break;
        }
        sent += (size_t)w;
    }
    a->close(cfd);
    pthread_join(th, NULL);
    double el = now_s() - t0;
    a->close(lfd);
    if (r.got != bytes) {
        fprintf(stderr, "bench_socket: received %zu of %zu bytes\n", r.got, bytes);
        return -1;
    }
    return (double)bytes * 8 / el / 1e6;
}

static struct sockaddr_in
sin_of(uint32_t addr, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(addr);
    return sa;
}

static int
cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int
main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (mib == 0 || runs <= 0 || runs > 99) {
        fprintf(stderr, "usage: bench_socket [MiB per run (>0)] [runs 1..99]\n");
        return 2;
    }
    struct tern_sim *sim;
    tern_sim_new(1, &sim);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true; /* a measurement: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.tcp.sndbuf = cfg.tcp.rcvbuf = 256 * 1024;
    cfg.netifs[0] =
        (struct tern_netif_config){.addr = TERN_IPV4(192, 0, 2, 1), .prefix_len = 24, .mtu = 1500};
    int a, b, link;
    tern_sim_add_host(sim, "client", &cfg, &a);
    cfg.netifs[0].addr = TERN_IPV4(192, 0, 2, 2);
    cfg.seed = 2;
    tern_sim_add_host(sim, "server", &cfg, &b);
    tern_sim_link(sim, a, 0, b, 0, NULL, NULL, &link);
    struct tern_rt *rt;
    if (tern_rt_start_sim(sim, &rt) != TERN_OK) {
        fprintf(stderr, "bench_socket: cannot start the runtime\n");
        return 1;
    }
    double t[99], k[99];
    for (int i = 0; i < runs; i++) {
        uint16_t port = (uint16_t)(39000 + i);
        struct sockaddr_in srv = sin_of(TERN_IPV4(192, 0, 2, 2), port);
        t[i] = transfer(&tern_api, tern_socket_in(rt, b, AF_INET, SOCK_STREAM, 0),
                        tern_socket_in(rt, a, AF_INET, SOCK_STREAM, 0), &srv, mib << 20);
        srv = sin_of(INADDR_LOOPBACK, port);
        int lk = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(lk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        k[i] = transfer(&kernel_api, lk, socket(AF_INET, SOCK_STREAM, 0), &srv, mib << 20);
        if (t[i] < 0 || k[i] < 0) {
            return 1;
        }
        printf("run %d: tern %.0f Mbit/s, Linux loopback %.0f Mbit/s\n", i + 1, t[i], k[i]);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    qsort(k, (size_t)runs, sizeof(double), cmp_double);
    printf("socket goodput, median of %d x %zu MiB: tern sockets over the simulated link "
           "%.0f Mbit/s, Linux sockets over loopback %.0f Mbit/s, ratio %.2f\n",
           runs, mib, t[runs / 2], k[runs / 2], t[runs / 2] / k[runs / 2]);
    tern_rt_free(rt);
    tern_sim_free(sim);
    return 0;
}
