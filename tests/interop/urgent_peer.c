/*
 * tests/interop/urgent_peer.c: the tern side of tests/shell/test_interop_urgent.sh,
 * urgent data against the Linux kernel over a TUN device, through tern's
 * socket API (tern/socket.h) as a program would use it.
 *
 *   urgent_peer --dev D --addr A.B.C.D/N --linux-addr A.B.C.D/N [--pcap F] recv PORT
 *       accepts one connection; waits for POLLPRI (tern_poll); reads until
 *       SIOCATMARK says the next octet is the urgent one (a read never
 *       crosses the mark), takes it with recv(MSG_OOB), reads the rest to
 *       the end of the stream. Prints, one per line:
 *           before_mark <text>   what was read before the mark
 *           oob <octet>          the out-of-band octet
 *           after_mark <text>    what followed it
 *   urgent_peer ... send HOST PORT COUNT
 *       COUNT times: connects, sends "hello", then "URG!" with MSG_OOB,
 *       then "tail", shuts its side and waits for the peer's FIN. Prints
 *       "sent <n>" for each connection.
 * Prints "ready" once the runtime runs (and, for recv, listens). Exit
 * status 0 when everything went as described, 1 otherwise; every wait is
 * bounded (20 s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/tun.h"

#define WAIT_MS 20000

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

static short
wait_ev(int fd, short ev)
{
    struct pollfd p = {fd, ev, 0};
    int r = tern_poll(&p, 1, WAIT_MS);
    return r > 0 ? p.revents : 0;
}

static int
atmark(int fd)
{
    int v = -1;
    if (tern_ioctl(fd, SIOCATMARK, &v) != 0) {
        perror("SIOCATMARK");
        return -1;
    }
    return v;
}

static int
run_recv(uint16_t port)
{
    int l = tern_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (l < 0 || tern_bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || tern_listen(l, 1) != 0) {
        perror("listen");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    if (!(wait_ev(l, POLLIN) & POLLIN)) {
        fprintf(stderr, "no connection\n");
        return 1;
    }
    int c = tern_accept(l, NULL, NULL);
    if (c < 0) {
        perror("accept");
        return 1;
    }
    struct timeval tv = {WAIT_MS / 1000, 0};
    tern_setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (!(wait_ev(c, POLLPRI) & POLLPRI)) {
        fprintf(stderr, "no urgent data (POLLPRI)\n");
        return 1;
    }
    char before[256] = "", after[256] = "", b[256];
    size_t nb = 0, na = 0;
    /* Everything before the urgent octet has arrived when POLLPRI is up. */
    while (atmark(c) == 0) {
        ssize_t r = tern_recv(c, b, sizeof b, MSG_DONTWAIT);
        if (r <= 0 || nb + (size_t)r >= sizeof before) {
            fprintf(stderr, "read before the mark: %zd (%s)\n", r, strerror(errno));
            return 1;
        }
        memcpy(before + nb, b, (size_t)r);
        nb += (size_t)r;
        before[nb] = 0;
    }
    char oob = 0;
    if (tern_recv(c, &oob, 1, MSG_OOB) != 1) {
        perror("recv MSG_OOB");
        return 1;
    }
    for (;;) {
        ssize_t r = tern_recv(c, b, sizeof b, 0);
        if (r == 0) {
            break;
        }
        if (r < 0 || na + (size_t)r >= sizeof after) {
            fprintf(stderr, "read after the mark: %zd (%s)\n", r, strerror(errno));
            return 1;
        }
        memcpy(after + na, b, (size_t)r);
        na += (size_t)r;
        after[na] = 0;
    }
    printf("before_mark %s\noob %c\nafter_mark %s\n", before, oob, after);
    tern_close(c);
    tern_close(l);
    return 0;
}

static int
send_all(int fd, const char *s, int flags)
{
    size_t n = strlen(s);
    return tern_send(fd, s, n, flags) == (ssize_t)n ? 0 : -1;
}

static int
run_send(const char *host, uint16_t port, int count)
{
    printf("ready\n");
    fflush(stdout);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return 1;
    }
    for (int i = 0; i < count; i++) {
        int fd = tern_socket(AF_INET, SOCK_STREAM, 0);
        struct timeval tv = {WAIT_MS / 1000, 0};
        tern_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        tern_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (fd < 0 || tern_connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            perror("connect");
            return 1;
        }
        if (send_all(fd, "hello", 0) != 0 || send_all(fd, "URG!", MSG_OOB) != 0 ||
            send_all(fd, "tail", 0) != 0 || tern_shutdown(fd, SHUT_WR) != 0) {
            perror("send");
            return 1;
        }
        char b[64];
        ssize_t r;
        while ((r = tern_recv(fd, b, sizeof b, 0)) > 0) {
        }
        if (r < 0) {
            perror("waiting for the peer's FIN");
            return 1;
        }
        tern_close(fd);
        printf("sent %d\n", i + 1);
        fflush(stdout);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *dev = NULL, *addr = NULL, *laddr = NULL, *pcap = NULL;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--dev") == 0) {
            dev = argv[i + 1];
        } else if (strcmp(argv[i], "--addr") == 0) {
            addr = argv[i + 1];
        } else if (strcmp(argv[i], "--linux-addr") == 0) {
            laddr = argv[i + 1];
        } else if (strcmp(argv[i], "--pcap") == 0) {
            pcap = argv[i + 1];
        }
    }
    struct tern_tun_config tc;
    memset(&tc, 0, sizeof tc);
    struct tern_config cfg;
    tern_config_init(&cfg);
    uint8_t plen = 0;
    if (dev == NULL || addr == NULL || laddr == NULL || i >= argc ||
        parse_cidr(addr, &cfg.netifs[0].addr, &cfg.netifs[0].prefix_len) != 0 ||
        parse_cidr(laddr, &tc.linux_addr, &plen) != 0) {
        fprintf(stderr, "usage: urgent_peer --dev D --addr A/N --linux-addr A/N "
                        "recv PORT | send HOST PORT COUNT\n");
        return 2;
    }
    tc.dev = dev;
    tc.mtu = 1500;
    tc.pcap_path = pcap;
    tc.linux_prefix_len = plen;
    cfg.n_netifs = 1;
    cfg.netifs[0].mtu = 1500;
    struct tern_rt *rt = NULL;
    char err[256] = "";
    int r = tern_rt_start_tun(&tc, &cfg, &rt, err, sizeof err);
    if (r != TERN_OK) {
        fprintf(stderr, "tern_rt_start_tun: %s (%s)\n", tern_strerror(r), err);
        return 1;
    }
    tern_rt_set_default(rt, 0);
    int rc = 2;
    if (strcmp(argv[i], "recv") == 0 && i + 1 < argc) {
        rc = run_recv((uint16_t)atoi(argv[i + 1]));
    } else if (strcmp(argv[i], "send") == 0 && i + 3 < argc) {
        rc = run_send(argv[i + 1], (uint16_t)atoi(argv[i + 2]), atoi(argv[i + 3]));
    }
    tern_rt_free(rt);
    return rc;
}
