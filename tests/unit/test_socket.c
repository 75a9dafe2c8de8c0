/*
 * tests/unit/test_socket.c: the socket API (include/tern/socket.h) over a
 * simulated network run in real time by a runtime thread (no root needed),
 * and in a caller-driven (attached) runtime. The differential suite against
 * the Linux kernel is tests/sockdiff; this one checks what only tern has
 * (runtimes, the mirror fd in a kernel poll, attach mode) and runs under
 * ThreadSanitizer in CI (make test-tsan).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tern/sim.h"
#include "tern/socket.h"

#define A_ADDR TERN_IPV4(192, 0, 2, 1)
#define B_ADDR TERN_IPV4(192, 0, 2, 2)

struct net {
    struct tern_sim *sim;
    struct tern_rt *rt;
    int a, b;
};

static void
net_up(struct net *n, int64_t delay_ns)
{
    CHECK_EQ(tern_sim_new(7, &n->sim), TERN_OK);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.tcp.max_connections = 128;
    cfg.tcp.rto_min_ns = 200000000;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_ADDR, .prefix_len = 24, .mtu = 1500};
    CHECK_EQ(tern_sim_add_host(n->sim, "a", &cfg, &n->a), TERN_OK);
    cfg.seed = 2;
    cfg.netifs[0].addr = B_ADDR;
    CHECK_EQ(tern_sim_add_host(n->sim, "b", &cfg, &n->b), TERN_OK);
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = delay_ns;
    int link;
    CHECK_EQ(tern_sim_link(n->sim, n->a, 0, n->b, 0, &lp, &lp, &link), TERN_OK);
    CHECK_EQ(tern_rt_start_sim(n->sim, &n->rt), TERN_OK);
}

static void
net_down(struct net *n)
{
    tern_rt_free(n->rt);
    tern_sim_free(n->sim);
}

static struct sockaddr_in
sin_of(uint32_t addr, uint16_t port)
{
    struct sockaddr_in s = {.sin_family = AF_INET};
    s.sin_addr.s_addr = htonl(addr);
    s.sin_port = htons(port);
    return s;
}

static int
listen_on(struct net *n, int host, uint16_t port)
{
    int fd = tern_socket_in(n->rt, host, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = sin_of(0, port);
    if (fd < 0 || tern_bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        tern_listen(fd, 16) != 0) {
        return -1;
    }
    return fd;
}

static int
connect_to(struct net *n, int host, uint32_t addr, uint16_t port)
{
    int fd = tern_socket_in(n->rt, host, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = sin_of(addr, port);
    if (fd < 0 || tern_connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        return -1;
    }
    return fd;
}

/* Blocking calls across threads: connect, accept, write, read, EOF. */
struct echo_srv {
    int lfd;
    int conns;
    long bytes;
};

static void *
echo_server(void *arg)
{
    struct echo_srv *e = arg;
    for (int i = 0; i < e->conns; i++) {
        int c = tern_accept(e->lfd, NULL, NULL);
        if (c < 0) {
            return NULL;
        }
        char buf[8192];
        ssize_t n;
        while ((n = tern_read(c, buf, sizeof(buf))) > 0) {
            ssize_t off = 0;
            while (off < n) {
                ssize_t w = tern_write(c, buf + off, (size_t)(n - off));
                if (w <= 0) {
                    break;
                }
                off += w;
            }
            __atomic_add_fetch(&e->bytes, n, __ATOMIC_RELAXED);
        }
        tern_close(c);
    }
    return NULL;
}

struct client {
    struct net *n;
    uint16_t port;
    size_t len;
    int ok;
};

static void *
echo_client(void *arg)
{
    struct client *c = arg;
    int fd = connect_to(c->n, c->n->a, B_ADDR, c->port);
    if (fd < 0) {
        return NULL;
    }
    uint8_t *out = malloc(c->len), *in = malloc(c->len);
    for (size_t i = 0; i < c->len; i++) {
        out[i] = (uint8_t)(i * 7 + c->port);
    }
    size_t sent = 0, got = 0;
    while (got < c->len) {
        if (sent < c->len) {
            size_t chunk = c->len - sent < 4096 ? c->len - sent : 4096;
            ssize_t w = tern_write(fd, out + sent, chunk);
            if (w <= 0) {
                break;
            }
            sent += (size_t)w;
        }
        while (got < sent) {
            ssize_t r = tern_read(fd, in + got, sent - got);
            if (r <= 0) {
                goto out;
            }
            got += (size_t)r;
        }
    }
    tern_shutdown(fd, SHUT_WR);
    char x;
    c->ok = got == c->len && memcmp(in, out, c->len) == 0 && tern_read(fd, &x, 1) == 0;
out:
    tern_close(fd);
    free(out);
    free(in);
    return NULL;
}

static void
test_blocking_echo(void)
{
    struct net n;
    net_up(&n, 1000000);
    struct echo_srv e = {.lfd = listen_on(&n, n.b, 7), .conns = 1};
    CHECK(e.lfd >= 0);
    pthread_t th;
    pthread_create(&th, NULL, echo_server, &e);
    struct client c = {.n = &n, .port = 7, .len = 200000};
    echo_client(&c);
    pthread_join(th, NULL);
    CHECK(c.ok);
    CHECK_EQ(e.bytes, 200000);
    tern_close(e.lfd);
    net_down(&n);
}

/* Eight client threads and eight server threads, each pair on its own
 * connection, all on one runtime. */
/* A dual-stack AF_INET6 socket (issue 14 item 2, Linux's behaviour): a
 * listener on :: takes IPv4 connections and names their ends IPv4-mapped;
 * IPV6_V6ONLY shuts IPv4 out, refuses a mapped bind, and is fixed once
 * bound; a datagram socket on :: hears IPv4 senders as ::ffff:a.b.c.d. */
static struct sockaddr_in6
sin6_any(uint16_t port)
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6};
    s.sin6_port = htons(port);
    return s;
}

static bool
is_mapped(const struct sockaddr_in6 *s, uint32_t v4, uint16_t port)
{
    uint8_t want[16] = {0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0xff,
                        0xff,
                        (uint8_t)(v4 >> 24),
                        (uint8_t)(v4 >> 16),
                        (uint8_t)(v4 >> 8),
                        (uint8_t)v4};
    return s->sin6_family == AF_INET6 && memcmp(&s->sin6_addr, want, 16) == 0 &&
           ntohs(s->sin6_port) == port;
}

static void
test_dual_stack_inet6(void)
{
    struct net n;
    net_up(&n, 1000000);
    int l = tern_socket_in(n.rt, n.b, AF_INET6, SOCK_STREAM, 0);
    CHECK(l >= 0);
    int dom = 0;
    socklen_t dl = sizeof(dom);
    CHECK_EQ(tern_getsockopt(l, SOL_SOCKET, SO_DOMAIN, &dom, &dl), 0);
    CHECK_EQ(dom, AF_INET6);
    struct sockaddr_in6 any = sin6_any(7100);
    CHECK_EQ(tern_bind(l, (struct sockaddr *)&any, 16), -1); /* shorter than RFC 2133's 24 */
    CHECK_EQ(errno, EINVAL);
    struct sockaddr_in6 wrong = sin6_any(7100);
    wrong.sin6_family = AF_INET; /* long enough, the wrong family */
    CHECK_EQ(tern_bind(l, (struct sockaddr *)&wrong, sizeof(wrong)), -1);
    CHECK_EQ(errno, EAFNOSUPPORT);
    CHECK_EQ(tern_bind(l, (struct sockaddr *)&any, sizeof(any)), 0);
    int one = 1;
    CHECK_EQ(tern_setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), -1);
    CHECK_EQ(errno, EINVAL); /* fixed once bound */
    CHECK_EQ(tern_listen(l, 4), 0);
    int c = connect_to(&n, n.a, B_ADDR, 7100);
    CHECK(c >= 0);
    struct sockaddr_in6 peer;
    socklen_t pl = sizeof(peer);
    int a = tern_accept(l, (struct sockaddr *)&peer, &pl);
    CHECK(a >= 0);
    CHECK_EQ(pl, sizeof(struct sockaddr_in6));
    struct sockaddr_in cl;
    socklen_t cll = sizeof(cl);
    CHECK_EQ(tern_getsockname(c, (struct sockaddr *)&cl, &cll), 0);
    CHECK(is_mapped(&peer, A_ADDR, ntohs(cl.sin_port)));
    struct sockaddr_in6 me;
    socklen_t ml = sizeof(me);
    CHECK_EQ(tern_getsockname(a, (struct sockaddr *)&me, &ml), 0);
    CHECK(is_mapped(&me, B_ADDR, 7100));
    CHECK_EQ(tern_write(c, "ping", 4), 4);
    char buf[8];
    CHECK_EQ(tern_read(a, buf, sizeof(buf)), 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    tern_close(a);
    tern_close(c);
    tern_close(l);

    /* IPV6_V6ONLY: IPv4 is refused, and a mapped bind is EINVAL. */
    l = tern_socket_in(n.rt, n.b, AF_INET6, SOCK_STREAM, 0);
    CHECK_EQ(tern_setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    int got = 0;
    socklen_t gl = sizeof(got);
    CHECK_EQ(tern_getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &got, &gl), 0);
    CHECK_EQ(got, 1);
    struct sockaddr_in6 mapped = sin6_any(7101);
    mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
    mapped.sin6_addr.s6_addr[12] = 192, mapped.sin6_addr.s6_addr[13] = 0;
    mapped.sin6_addr.s6_addr[14] = 2, mapped.sin6_addr.s6_addr[15] = 2;
    CHECK_EQ(tern_bind(l, (struct sockaddr *)&mapped, sizeof(mapped)), -1);
    CHECK_EQ(errno, EINVAL);
    any = sin6_any(7101);
    CHECK_EQ(tern_bind(l, (struct sockaddr *)&any, sizeof(any)), 0);
    CHECK_EQ(tern_listen(l, 4), 0);
    c = tern_socket_in(n.rt, n.a, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = sin_of(B_ADDR, 7101);
    CHECK_EQ(tern_connect(c, (struct sockaddr *)&to, sizeof(to)), -1);
    CHECK_EQ(errno, ECONNREFUSED);
    tern_close(c);
    tern_close(l);
    /* An IPv4 socket has no IPv6 level. */
    c = tern_socket_in(n.rt, n.a, AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(tern_setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), -1);
    CHECK_EQ(errno, ENOPROTOOPT);
    tern_close(c);

    /* UDP on :: hears an IPv4 sender, named IPv4-mapped. */
    int u = tern_socket_in(n.rt, n.b, AF_INET6, SOCK_DGRAM, 0);
    any = sin6_any(7102);
    CHECK_EQ(tern_bind(u, (struct sockaddr *)&any, sizeof(any)), 0);
    int s4 = tern_socket_in(n.rt, n.a, AF_INET, SOCK_DGRAM, 0);
    to = sin_of(B_ADDR, 7102);
    CHECK_EQ(tern_sendto(s4, "dg", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
    struct sockaddr_in6 from;
    socklen_t fl = sizeof(from);
    CHECK_EQ(tern_recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 2);
    CHECK_EQ(fl, sizeof(struct sockaddr_in6));
    struct sockaddr_in sn;
    socklen_t snl = sizeof(sn);
    CHECK_EQ(tern_getsockname(s4, (struct sockaddr *)&sn, &snl), 0);
    CHECK(is_mapped(&from, A_ADDR, ntohs(sn.sin_port)));
    /* and answers it through the mapped address */
    CHECK_EQ(tern_sendto(u, "ok", 2, 0, (struct sockaddr *)&from, fl), 2);
    CHECK_EQ(tern_recv(s4, buf, sizeof(buf), 0), 2);
    CHECK(memcmp(buf, "ok", 2) == 0);
    tern_close(u);
    tern_close(s4);
    net_down(&n);
}

static void
test_many_threads(void)
{
    enum { N = 8 };
    struct net n;
    net_up(&n, 500000);
    struct echo_srv e[N];
    struct client c[N];
    pthread_t ts[N], tc[N];
    for (int i = 0; i < N; i++) {
        e[i] = (struct echo_srv){.lfd = listen_on(&n, n.b, (uint16_t)(100 + i)), .conns = 1};
        CHECK(e[i].lfd >= 0);
        c[i] = (struct client){.n = &n, .port = (uint16_t)(100 + i), .len = 65536};
        pthread_create(&ts[i], NULL, echo_server, &e[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_create(&tc[i], NULL, echo_client, &c[i]);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(tc[i], NULL);
        pthread_join(ts[i], NULL);
        ok += c[i].ok;
        tern_close(e[i].lfd);
    }
    CHECK_EQ(ok, N);
    net_down(&n);
}

/* A tern socket's fd works in the kernel's own poll(2): it turns readable
 * when data arrives, writable while the socket is. */
static void
test_kernel_poll_sees_readiness(void)
{
    struct net n;
    net_up(&n, 1000000);
    int l = listen_on(&n, n.b, 80);
    int c = connect_to(&n, n.a, B_ADDR, 80);
    CHECK(c >= 0);
    int s = tern_accept(l, NULL, NULL);
    CHECK(s >= 0);
    struct pollfd p = {.fd = s, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 0), 0); /* nothing yet */
    p.events = POLLOUT;
    CHECK_EQ(poll(&p, 1, 0), 1); /* writable */
    CHECK_EQ(tern_write(c, "ping", 4), 4);
    p.events = POLLIN;
    CHECK_EQ(poll(&p, 1, 5000), 1);
    CHECK(p.revents & POLLIN);
    char buf[8];
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 4);
    CHECK_EQ(poll(&p, 1, 0), 0); /* drained: the mirror is cleared */
    /* Mixed with a pipe in tern_poll. */
    int pp[2];
    CHECK_EQ(pipe(pp), 0);
    CHECK_EQ(write(pp[1], "x", 1), 1);
    struct pollfd two[2] = {{.fd = s, .events = POLLIN}, {.fd = pp[0], .events = POLLIN}};
    CHECK_EQ(tern_poll(two, 2, 1000), 1);
    CHECK_EQ(two[0].revents, 0);
    CHECK_EQ(two[1].revents, POLLIN);
    close(pp[0]);
    close(pp[1]);
    tern_close(c);
    /* the peer's FIN: POLLIN | POLLRDHUP, then read 0 */
    struct pollfd q = {.fd = s, .events = POLLIN | POLLRDHUP};
    CHECK_EQ(tern_poll(&q, 1, 5000), 1);
    CHECK_EQ(q.revents & (POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 0);
    tern_close(s);
    tern_close(l);
    net_down(&n);
}

static void
test_refused_and_errors(void)
{
    struct net n;
    net_up(&n, 1000000);
    int fd = tern_socket_in(n.rt, n.a, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = sin_of(B_ADDR, 9);
    errno = 0;
    CHECK_EQ(tern_connect(fd, (struct sockaddr *)&sa, sizeof(sa)), -1);
    CHECK_EQ(errno, ECONNREFUSED);
    tern_close(fd);
    /* bad arguments */
    CHECK_EQ(tern_socket_in(n.rt, n.a, AF_PACKET, SOCK_STREAM, 0), -1);
    CHECK_EQ(errno, EAFNOSUPPORT);
    CHECK_EQ(tern_socket_in(n.rt, n.a, AF_INET, SOCK_DGRAM, IPPROTO_TCP), -1);
    CHECK_EQ(errno, EPROTONOSUPPORT);
    CHECK_EQ(tern_socket_in(n.rt, n.a, AF_INET, SOCK_STREAM, IPPROTO_UDP), -1);
    CHECK_EQ(errno, EPROTONOSUPPORT);
    CHECK_EQ(tern_socket_in(n.rt, 9, AF_INET, SOCK_STREAM, 0), -1);
    CHECK_EQ(errno, EINVAL);
    fd = tern_socket_in(n.rt, n.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(tern_is_socket(fd));
    CHECK_EQ(tern_bind(fd, (struct sockaddr *)&sa, 3), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(tern_bind(fd, (struct sockaddr *)&sa, sizeof(sa)), -1); /* not our address */
    CHECK_EQ(errno, EADDRNOTAVAIL);
    char b;
    CHECK_EQ(tern_read(fd, &b, 1), -1);
    CHECK_EQ(errno, ENOTCONN);
    CHECK_EQ(tern_write(fd, "x", 1), -1);
    CHECK_EQ(errno, EPIPE);
    CHECK_EQ(tern_accept(fd, NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(tern_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &b, 1), -1);
    CHECK_EQ(errno, EINVAL);
    int v, one = 1;
    socklen_t vl = sizeof(v);
    CHECK_EQ(tern_getsockopt(fd, 12345, 1, &v, &vl), -1);
    CHECK_EQ(errno, EOPNOTSUPP); /* Linux, for an unknown level */
    CHECK_EQ(tern_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    CHECK_EQ(tern_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
    CHECK_EQ(v, 1);
    CHECK_EQ(tern_close(fd), 0);
    CHECK(!tern_is_socket(fd));
    CHECK_EQ(tern_read(fd, &b, 1), -1); /* a closed fd is the kernel's EBADF */
    CHECK_EQ(errno, EBADF);
    net_down(&n);
}

/* epoll: level-triggered reports again, edge-triggered once per arrival. */
static void
test_epoll_modes(void)
{
    struct net n;
    net_up(&n, 1000000);
    int l = listen_on(&n, n.b, 81);
    int c = connect_to(&n, n.a, B_ADDR, 81);
    int s = tern_accept(l, NULL, NULL);
    CHECK(c >= 0 && s >= 0);
    int lt = tern_epoll_create1(EPOLL_CLOEXEC), et = tern_epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
    CHECK_EQ(tern_epoll_ctl(lt, EPOLL_CTL_ADD, s, &ev), 0);
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = 43;
    CHECK_EQ(tern_epoll_ctl(et, EPOLL_CTL_ADD, s, &ev), 0);
    CHECK_EQ(tern_epoll_ctl(et, EPOLL_CTL_ADD, s, &ev), -1);
    CHECK_EQ(errno, EEXIST);
    struct epoll_event out[4];
    CHECK_EQ(tern_epoll_wait(lt, out, 4, 0), 0);
    CHECK_EQ(tern_write(c, "abc", 3), 3);
    CHECK_EQ(tern_epoll_wait(lt, out, 4, 5000), 1);
    CHECK_EQ(out[0].data.u64, 42);
    CHECK_EQ(out[0].events, EPOLLIN);
    CHECK_EQ(tern_epoll_wait(lt, out, 4, 0), 1); /* level: still there */
    CHECK_EQ(tern_epoll_wait(et, out, 4, 5000), 1);
    CHECK_EQ(out[0].data.u64, 43);
    CHECK_EQ(tern_epoll_wait(et, out, 4, 100), 0); /* edge: reported once */
    CHECK_EQ(tern_write(c, "d", 1), 1);
    CHECK_EQ(tern_epoll_wait(et, out, 4, 5000), 1); /* new data, new edge */
    char buf[8];
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 4);
    CHECK_EQ(tern_epoll_wait(lt, out, 4, 0), 0);
    CHECK_EQ(tern_epoll_ctl(lt, EPOLL_CTL_DEL, s, NULL), 0);
    CHECK_EQ(tern_epoll_ctl(lt, EPOLL_CTL_DEL, s, NULL), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(tern_close(lt), 0);
    CHECK_EQ(tern_close(et), 0);
    tern_close(c);
    tern_close(s);
    tern_close(l);
    net_down(&n);
}

/* Timeouts: SO_RCVTIMEO on read and accept. */
static void
test_timeouts(void)
{
    struct net n;
    net_up(&n, 1000000);
    int l = listen_on(&n, n.b, 82);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 150000};
    CHECK_EQ(tern_setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(tern_accept(l, NULL, NULL), -1);
    CHECK_EQ(errno, EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(el >= 0.14 && el < 3.0);
    int c = connect_to(&n, n.a, B_ADDR, 82);
    CHECK_EQ(tern_setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    char b;
    CHECK_EQ(tern_read(c, &b, 1), -1);
    CHECK_EQ(errno, EAGAIN);
    tern_close(c);
    tern_close(l);
    net_down(&n);
}

static double
secs_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* SO_LINGER {1, T}: close waits for the FIN's acknowledgment (one round
 * trip here, 1 s); without it close returns at once. The bounds are the
 * round trip, far from any scheduling delay. */
static void
test_linger_waits_for_ack(void)
{
    struct net n;
    net_up(&n, 500000000); /* 500 ms each way */
    int l = listen_on(&n, n.b, 83);
    for (int lingering = 0; lingering < 2; lingering++) {
        int c = connect_to(&n, n.a, B_ADDR, 83);
        int s = tern_accept(l, NULL, NULL);
        CHECK(c >= 0 && s >= 0);
        struct linger lg = {.l_onoff = lingering, .l_linger = 5};
        CHECK_EQ(tern_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
        CHECK_EQ(tern_write(c, "bye", 3), 3);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_EQ(tern_close(c), 0);
        double el = secs_since(&t0);
        if (lingering) {
            CHECK(el >= 0.95 && el < 4.5);
        } else {
            CHECK(el < 0.9);
        }
        char buf[8];
        CHECK_EQ(tern_read(s, buf, sizeof(buf)), 3);
        CHECK_EQ(tern_read(s, buf, sizeof(buf)), 0);
        tern_close(s);
    }
    tern_close(l);
    net_down(&n);
}

/* Attached runtime: the caller drives the sim; calls never block. */
static int64_t
sim_clock(void *ctx)
{
    return tern_sim_now(ctx);
}

static void
test_attach_mode(void)
{
    struct tern_sim *sim;
    CHECK_EQ(tern_sim_new(3, &sim), TERN_OK);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_ADDR, .prefix_len = 24, .mtu = 1500};
    int a, b, link;
    CHECK_EQ(tern_sim_add_host(sim, "a", &cfg, &a), TERN_OK);
    cfg.netifs[0].addr = B_ADDR;
    CHECK_EQ(tern_sim_add_host(sim, "b", &cfg, &b), TERN_OK);
    CHECK_EQ(tern_sim_link(sim, a, 0, b, 0, NULL, NULL, &link), TERN_OK);
    struct tern_rt *ra, *rb;
    CHECK_EQ(tern_rt_attach(tern_sim_host_stack(sim, a), sim_clock, sim, &ra), TERN_OK);
    CHECK_EQ(tern_rt_attach(tern_sim_host_stack(sim, b), sim_clock, sim, &rb), TERN_OK);
    int l = tern_socket_in(rb, 0, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = sin_of(0, 5000);
    CHECK_EQ(tern_bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(tern_listen(l, 4), 0);
    CHECK_EQ(tern_accept(l, NULL, NULL), -1); /* blocking socket, no thread: EAGAIN */
    CHECK_EQ(errno, EAGAIN);
    int c = tern_socket_in(ra, 0, AF_INET, SOCK_STREAM, 0);
    sa = sin_of(B_ADDR, 5000);
    CHECK_EQ(tern_connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
    CHECK_EQ(errno, EINPROGRESS);
    tern_sim_run_until(sim, tern_sim_now(sim) + 10000000);
    struct pollfd p = {.fd = c, .events = POLLOUT};
    CHECK_EQ(tern_poll(&p, 1, 0), 1);
    int err = -1;
    socklen_t el = sizeof(err);
    CHECK_EQ(tern_getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el), 0);
    CHECK_EQ(err, 0);
    int s = tern_accept(l, NULL, NULL);
    CHECK(s >= 0);
    CHECK_EQ(tern_write(c, "hello", 5), 5);
    tern_sim_run_until(sim, tern_sim_now(sim) + 10000000);
    int avail = 0;
    CHECK_EQ(tern_ioctl(s, FIONREAD, &avail), 0);
    CHECK_EQ(avail, 5);
    char buf[8];
    CHECK_EQ(tern_recv(s, buf, 2, MSG_PEEK), 2);
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(tern_read(s, buf, sizeof(buf)), -1);
    CHECK_EQ(errno, EAGAIN);
    tern_close(c);
    tern_close(s);
    tern_close(l);
    tern_rt_free(ra);
    tern_rt_free(rb);
    tern_sim_free(sim);
}

/* A socket closed with libc's close() whose number the application reuses
 * (here for a pipe): freeing the runtime must not close the pipe (it used
 * to close the number, taking the application's file with it). */
static void
test_rt_free_spares_reused_number(void)
{
    struct tern_sim *sim;
    CHECK_EQ(tern_sim_new(5, &sim), TERN_OK);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_ADDR, .prefix_len = 24, .mtu = 1500};
    int h;
    CHECK_EQ(tern_sim_add_host(sim, "a", &cfg, &h), TERN_OK);
    struct tern_rt *rt;
    CHECK_EQ(tern_rt_attach(tern_sim_host_stack(sim, h), sim_clock, sim, &rt), TERN_OK);
    int s = tern_socket_in(rt, 0, AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    int pfd[2];
    CHECK_EQ(pipe(pfd), 0);
    CHECK_EQ(close(s), 0); /* behind the library's back */
    CHECK_EQ(dup2(pfd[0], s), s);
    tern_rt_free(rt);
    CHECK(fcntl(s, F_GETFD) >= 0); /* still the application's pipe */
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    char c = 0;
    CHECK_EQ(read(s, &c, 1), 1);
    CHECK_EQ(c, 'x');
    close(s);
    close(pfd[0]);
    close(pfd[1]);
    tern_sim_free(sim);
}

int
main(void)
{
    RUN(test_blocking_echo);
    RUN(test_dual_stack_inet6);
    RUN(test_many_threads);
    RUN(test_kernel_poll_sees_readiness);
    RUN(test_refused_and_errors);
    RUN(test_epoll_modes);
    RUN(test_timeouts);
    RUN(test_linger_waits_for_ack);
    RUN(test_attach_mode);
    RUN(test_rt_free_spares_reused_number);
    return CHECK_DONE();
}
