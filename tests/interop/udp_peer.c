/*
 * tests/interop/udp_peer.c: the tern side of tests/shell/test_interop_udp.sh,
 * UDP against the Linux kernel over a TUN or TAP device, through tern's
 * socket API (SOCK_DGRAM, tern/socket.h) as a program would use it.
 *
 *   udp_peer --dev D --addr A.B.C.D/N --linux-addr A.B.C.D/N [--tap] [--pcap F] MODE
 *
 *   echo HOST PORT SIZE...
 *       an unconnected socket: sendto HOST:PORT a datagram of each SIZE
 *       (bytes from a generator seeded by the size), recvfrom the answer,
 *       which must come from HOST:PORT with the same length and bytes;
 *       then a connected socket does the same with send/recv. Prints
 *       "sendto SIZE ok" and "send SIZE ok" for each.
 *   refused HOST PORT
 *       a socket connected to HOST:PORT, where nothing listens, sends one
 *       datagram; the ICMP port unreachable must make the next recv fail
 *       with ECONNREFUSED (RFC 1122 4.1.3.3). Prints "refused ok".
 *   serve PORT COUNT
 *       binds PORT, sends each of COUNT datagrams back to its sender.
 *       Prints "echoed LEN" for each.
 * Prints "ready" once the runtime runs (and, for serve, the socket is
 * bound). Exit status 0 when everything went as described, 1 otherwise, 2
 * for a bad command line; every wait is bounded (20 s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/tun.h"

#define WAIT_S  20
#define MAX_DGM 65507

static uint8_t out_buf[MAX_DGM];
static uint8_t in_buf[MAX_DGM + 1];

static int
parse_cidr(const char *s, uint32_t *addr, uint8_t *len)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (slash == NULL) {
        return -1;
    }
    *slash = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1) {
        return -1;
    }
    *addr = ntohl(a.s_addr);
    *len = (uint8_t)atoi(slash + 1);
    return 0;
}

/* The bytes of a datagram of `len` bytes: a generator seeded by len. */
static void
fill(uint8_t *p, size_t len)
{
    uint32_t x = (uint32_t)len * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static int
dgram_socket(void)
{
    int fd = tern_socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {WAIT_S, 0};
    if (fd < 0 || tern_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        perror("socket");
        return -1;
    }
    return fd;
}

/* One datagram of `len` there and back; connected: send/recv. */
static int
round_trip(int fd, const struct sockaddr_in *peer, size_t len, int connected)
{
    fill(out_buf, len);
    ssize_t n = connected
                    ? tern_send(fd, out_buf, len, 0)
                    : tern_sendto(fd, out_buf, len, 0, (const struct sockaddr *)peer, sizeof *peer);
    if (n != (ssize_t)len) {
        fprintf(stderr, "%s %zu: %zd (%s)\n", connected ? "send" : "sendto", len, n,
                strerror(errno));
        return 1;
    }
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    memset(&from, 0, sizeof from);
    n = connected ? tern_recv(fd, in_buf, sizeof in_buf, 0)
                  : tern_recvfrom(fd, in_buf, sizeof in_buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
        fprintf(stderr, "recv of %zu: %s\n", len, strerror(errno));
        return 1;
    }
    if ((size_t)n != len || memcmp(in_buf, out_buf, len) != 0) {
        fprintf(stderr, "echo of %zu: %zd bytes back, %s\n", len, n,
                (size_t)n == len ? "other bytes" : "other length");
        return 1;
    }
    if (!connected &&
        (fl != sizeof from || from.sin_family != AF_INET ||
         from.sin_addr.s_addr != peer->sin_addr.s_addr || from.sin_port != peer->sin_port)) {
        fprintf(stderr, "echo of %zu from %s:%u, not the peer\n", len, inet_ntoa(from.sin_addr),
                ntohs(from.sin_port));
        return 1;
    }
    printf("%s %zu ok\n", connected ? "send" : "sendto", len);
    fflush(stdout);
    return 0;
}

static int
run_echo(const struct sockaddr_in *peer, char **sizes, int n)
{
    printf("ready\n");
    fflush(stdout);
    for (int connected = 0; connected < 2; connected++) {
        int fd = dgram_socket();
        if (fd < 0) {
            return 1;
        }
        if (connected && tern_connect(fd, (const struct sockaddr *)peer, sizeof *peer) != 0) {
            perror("connect");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            long len = strtol(sizes[i], NULL, 10);
            if (len < 0 || len > MAX_DGM || round_trip(fd, peer, (size_t)len, connected) != 0) {
                return 1;
            }
        }
        tern_close(fd);
    }
    return 0;
}

static int
run_refused(const struct sockaddr_in *peer)
{
    printf("ready\n");
    fflush(stdout);
    int fd = dgram_socket();
    if (fd < 0 || tern_connect(fd, (const struct sockaddr *)peer, sizeof *peer) != 0) {
        perror("connect");
        return 1;
    }
    if (tern_send(fd, "knock", 5, 0) != 5) {
        perror("send");
        return 1;
    }
    ssize_t n = tern_recv(fd, in_buf, sizeof in_buf, 0);
    if (n >= 0 || errno != ECONNREFUSED) {
        fprintf(stderr, "recv after a datagram to a closed port: %zd (%s), not ECONNREFUSED\n", n,
                n < 0 ? strerror(errno) : "data");
        return 1;
    }
    /* Reported once: the error is gone after it was returned. */
    int err = -1;
    socklen_t el = sizeof err;
    if (tern_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
        fprintf(stderr, "SO_ERROR after the report: %d\n", err);
        return 1;
    }
    printf("refused ok\n");
    tern_close(fd);
    return 0;
}

static int
run_serve(uint16_t port, long count)
{
    int fd = dgram_socket();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (fd < 0 || tern_bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("bind");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (long i = 0; i < count; i++) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = tern_recvfrom(fd, in_buf, sizeof in_buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            fprintf(stderr, "recvfrom: %s\n", strerror(errno));
            return 1;
        }
        if (tern_sendto(fd, in_buf, (size_t)n, 0, (struct sockaddr *)&from, fl) != n) {
            fprintf(stderr, "sendto: %s\n", strerror(errno));
            return 1;
        }
        printf("echoed %zd\n", n);
        fflush(stdout);
    }
    tern_close(fd);
    return 0;
}

static int
peer_addr(const char *host, const char *port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    const char *dev = NULL, *addr = NULL, *laddr = NULL, *pcap = NULL;
    int tap = 0;
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--tap") == 0) {
            tap = 1;
            i++;
            continue;
        }
        if (i + 1 >= argc) {
            break;
        }
        if (strcmp(argv[i], "--dev") == 0) {
            dev = argv[i + 1];
        } else if (strcmp(argv[i], "--addr") == 0) {
            addr = argv[i + 1];
        } else if (strcmp(argv[i], "--linux-addr") == 0) {
            laddr = argv[i + 1];
        } else if (strcmp(argv[i], "--pcap") == 0) {
            pcap = argv[i + 1];
        } else {
            break;
        }
        i += 2;
    }
    struct tern_tun_config tc;
    memset(&tc, 0, sizeof tc);
    struct tern_config cfg;
    tern_config_init(&cfg);
    uint8_t plen = 0;
    if (dev == NULL || addr == NULL || laddr == NULL || i >= argc ||
        parse_cidr(addr, &cfg.netifs[0].addr, &cfg.netifs[0].prefix_len) != 0 ||
        parse_cidr(laddr, &tc.linux_addr, &plen) != 0) {
        fprintf(stderr, "usage: udp_peer --dev D --addr A/N --linux-addr A/N [--tap] [--pcap F] "
                        "echo HOST PORT SIZE... | refused HOST PORT | serve PORT COUNT\n");
        return 2;
    }
    tc.dev = dev;
    tc.tap = tap != 0;
    tc.mtu = 1500;
    tc.pcap_path = pcap;
    tc.linux_prefix_len = plen;
    cfg.n_netifs = 1;
    cfg.netifs[0].mtu = 1500;
    cfg.reass_mem_max = 2 * 65515; /* any datagram back, fragmented or not */
    cfg.pool_bytes = 1 << 20;
    struct tern_rt *rt = NULL;
    char err[256] = "";
    int r = tern_rt_start_tun(&tc, &cfg, &rt, err, sizeof err);
    if (r != TERN_OK) {
        fprintf(stderr, "tern_rt_start_tun: %s (%s)\n", tern_strerror(r), err);
        return 1;
    }
    tern_rt_set_default(rt, 0);
    int rc = 2;
    struct sockaddr_in peer;
    const char *mode = argv[i];
    if (strcmp(mode, "echo") == 0 && i + 3 < argc &&
        peer_addr(argv[i + 1], argv[i + 2], &peer) == 0) {
        rc = run_echo(&peer, argv + i + 3, argc - i - 3);
    } else if (strcmp(mode, "refused") == 0 && i + 2 < argc &&
               peer_addr(argv[i + 1], argv[i + 2], &peer) == 0) {
        rc = run_refused(&peer);
    } else if (strcmp(mode, "serve") == 0 && i + 2 < argc) {
        rc = run_serve((uint16_t)atoi(argv[i + 1]), atol(argv[i + 2]));
    } else {
        fprintf(stderr, "udp_peer: bad mode or operands\n");
    }
    tern_rt_free(rt);
    return rc;
}
