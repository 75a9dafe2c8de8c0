/*
 * tests/unit/test_getaddrinfo.c: tern_getaddrinfo. Its own part (numeric
 * hosts, services, hints, errors) on an attached runtime, where no name
 * can be waited for; then blocking lookups on a simulated network run by a
 * runtime's thread, against a DNS server written here on tern's own
 * SOCK_DGRAM sockets (host b), from two threads at once. The resolver's
 * rules are tested in test_dns_resolver.c; the whole call against dnsmasq
 * in test_interop_dns.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>

#include "check.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "wire/dns.h"

static int
tx(void *ctx, int netif, const uint8_t *p, size_t len, uint32_t next_hop)
{
    (void)ctx;
    (void)netif;
    (void)p;
    (void)len;
    (void)next_hop;
    return 0;
}

static struct tern_stack *st;
static struct tern_rt *rt;

static void
open_rt(void)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = TERN_IPV4(10, 0, 0, 1), .prefix_len = 24, .mtu = 1500, .transmit = tx};
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_OK);
    CHECK_EQ(tern_rt_attach(st, NULL, NULL, &rt), TERN_OK);
}

static void
close_rt(void)
{
    tern_rt_free(rt);
    tern_stack_free(st);
}

static int
count(const struct addrinfo *ai)
{
    int n = 0;
    for (; ai != NULL; ai = ai->ai_next) {
        n++;
    }
    return n;
}

static void
test_numeric(void)
{
    open_rt();
    struct addrinfo *res = NULL;
    struct addrinfo h = {.ai_family = AF_UNSPEC};
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "192.0.2.7", "8080", &h, &res), 0);
    CHECK_EQ(count(res), 2); /* SOCK_STREAM and SOCK_DGRAM */
    if (res != NULL) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)res->ai_addr;
        CHECK_EQ(res->ai_family, AF_INET);
        CHECK_EQ(res->ai_socktype, SOCK_STREAM);
        CHECK_EQ(res->ai_protocol, IPPROTO_TCP);
        CHECK_EQ(res->ai_addrlen, sizeof(struct sockaddr_in));
        CHECK_EQ(ntohs(sin->sin_port), 8080);
        CHECK_EQ(ntohl(sin->sin_addr.s_addr), TERN_IPV4(192, 0, 2, 7));
        CHECK(res->ai_next != NULL && res->ai_next->ai_socktype == SOCK_DGRAM);
    }
    tern_freeaddrinfo(res);
    h.ai_socktype = SOCK_STREAM;
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "2001:db8::5", "80", &h, &res), 0);
    CHECK_EQ(count(res), 1);
    if (res != NULL) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)res->ai_addr;
        struct in6_addr want;
        inet_pton(AF_INET6, "2001:db8::5", &want);
        CHECK_EQ(res->ai_family, AF_INET6);
        CHECK_EQ(res->ai_addrlen, sizeof(struct sockaddr_in6));
        CHECK_EQ(ntohs(s6->sin6_port), 80);
        CHECK_MEM(&s6->sin6_addr, &want, 16);
    }
    tern_freeaddrinfo(res);
    /* An IPv4-mapped IPv6 address stays IPv6 (as glibc gives it). */
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "::ffff:192.0.2.9", "80", &h, &res), 0);
    CHECK(res != NULL && res->ai_family == AF_INET6 && res->ai_next == NULL);
    tern_freeaddrinfo(res);
    /* No node: loopback, or the wildcard with AI_PASSIVE. */
    h = (struct addrinfo){.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, NULL, "53", &h, &res), 0);
    CHECK(res != NULL &&
          ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr) == TERN_IPV4(127, 0, 0, 1));
    tern_freeaddrinfo(res);
    h.ai_flags = AI_PASSIVE;
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, NULL, "53", &h, &res), 0);
    CHECK(res != NULL && ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr == 0);
    tern_freeaddrinfo(res);
    close_rt();
}

static void
test_errors(void)
{
    open_rt();
    struct addrinfo *res = (struct addrinfo *)1;
    struct addrinfo h = {.ai_family = AF_INET6};
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "192.0.2.7", NULL, &h, &res), EAI_ADDRFAMILY);
    CHECK(res == NULL);
    h = (struct addrinfo){.ai_family = AF_PACKET};
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "192.0.2.7", NULL, &h, &res), EAI_FAMILY);
    h = (struct addrinfo){.ai_socktype = SOCK_RAW};
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "192.0.2.7", NULL, &h, &res), EAI_SOCKTYPE);
    h = (struct addrinfo){.ai_flags = AI_NUMERICHOST};
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "web.test", NULL, &h, &res), EAI_NONAME);
    h = (struct addrinfo){.ai_flags = AI_NUMERICSERV};
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "192.0.2.7", "http", &h, &res), EAI_NONAME);
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "192.0.2.7", "no-such-service-xyz", NULL, &res),
             EAI_SERVICE);
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, NULL, NULL, NULL, &res), EAI_NONAME);
    /* A name with no server set: EAI_SYSTEM, errno ENOENT. */
    errno = 0;
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "web.test", NULL, NULL, &res), EAI_SYSTEM);
    CHECK_EQ(errno, ENOENT);
    /* With a server, an attached runtime cannot wait: EAI_AGAIN. */
    uint32_t s = TERN_IPV4(10, 0, 0, 53);
    CHECK_EQ(tern_rt_set_dns(rt, 0, &s, 1), 0);
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "web.test", NULL, NULL, &res), EAI_AGAIN);
    CHECK_EQ(tern_getaddrinfo_in(rt, 0, "a..b", NULL, NULL, &res), EAI_NONAME);
    uint32_t four[4] = {s, s, s, s};
    CHECK_EQ(tern_rt_set_dns(rt, 0, four, 4), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(tern_rt_set_dns(rt, 1, &s, 1), -1); /* no host 1 */
    close_rt();
}

/* ---- blocking lookups over a simulated link ---- */

#define CLIENT TERN_IPV4(10, 0, 0, 1)
#define SERVER TERN_IPV4(10, 0, 0, 53)

struct server {
    struct tern_rt *rt;
    atomic_bool stop;
    atomic_int queries;
    int fd;
};

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The answer to one query: web.test has A 10.0.0.80 and AAAA 2001:db8::80,
 * anything else is NXDOMAIN. Returns its length, 0 to stay silent. */
static size_t
answer(const uint8_t *q, size_t len, uint8_t *out)
{
    struct wire_dns_msg m;
    if (wire_dns_parse(q, len, &m) != WIRE_OK || !m.has_question) {
        return 0;
    }
    memcpy(out, q, m.rr_off);
    size_t n = m.rr_off;
    static const uint8_t web[] = "\3web\4test";
    bool known = wire_dns_name_equal(m.question.name, m.question.name_len, web, sizeof(web));
    out[2] = 0x81;                /* QR, RD */
    out[3] = known ? 0x80 : 0x83; /* RA, NOERROR or NXDOMAIN */
    if (known) {
        static const uint8_t a[4] = {10, 0, 0, 80};
        static const uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x80};
        bool v6 = m.question.qtype == WIRE_DNS_TYPE_AAAA;
        out[n] = 0xc0; /* the question's name */
        out[n + 1] = 12;
        put16(out + n + 2, m.question.qtype);
        put16(out + n + 4, WIRE_DNS_CLASS_IN);
        put16(out + n + 6, 0);
        put16(out + n + 8, 300); /* TTL */
        put16(out + n + 10, v6 ? 16 : 4);
        memcpy(out + n + 12, v6 ? aaaa : a, v6 ? 16 : 4);
        n += 12 + (v6 ? 16 : 4);
        put16(out + 6, 1);
    }
    return n;
}

static void *
server_main(void *arg)
{
    struct server *sv = arg;
    uint8_t q[512], a[600];
    while (!atomic_load(&sv->stop)) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = tern_recvfrom(sv->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n <= 0) {
            continue; /* SO_RCVTIMEO: look at stop again */
        }
        atomic_fetch_add(&sv->queries, 1);
        size_t al = answer(q, (size_t)n, a);
        if (al > 0) {
            tern_sendto(sv->fd, a, al, 0, (struct sockaddr *)&from, fl);
        }
    }
    return NULL;
}

struct asker {
    struct tern_rt *rt;
    const char *name;
    int family;
    int rc;
    int n;
    bool has4, has6;
};

static void *
asker_main(void *arg)
{
    struct asker *k = arg;
    struct addrinfo h = {.ai_family = k->family, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    k->rc = tern_getaddrinfo_in(k->rt, 0, k->name, "80", &h, &res);
    for (struct addrinfo *p = res; p != NULL; p = p->ai_next) {
        k->n++;
        if (p->ai_family == AF_INET) {
            k->has4 = ntohl(((struct sockaddr_in *)p->ai_addr)->sin_addr.s_addr) ==
                      TERN_IPV4(10, 0, 0, 80);
        } else {
            k->has6 = ((struct sockaddr_in6 *)p->ai_addr)->sin6_addr.s6_addr[15] == 0x80;
        }
    }
    tern_freeaddrinfo(res);
    return NULL;
}

static void
test_blocking_lookups(void)
{
    struct tern_sim *sim;
    CHECK_EQ(tern_sim_new(7, &sim), TERN_OK);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = CLIENT, .prefix_len = 24, .mtu = 1500};
    int a, b, link;
    CHECK_EQ(tern_sim_add_host(sim, "a", &cfg, &a), TERN_OK);
    cfg.seed = 2;
    cfg.netifs[0].addr = SERVER;
    CHECK_EQ(tern_sim_add_host(sim, "b", &cfg, &b), TERN_OK);
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = 2000000; /* 2 ms each way */
    CHECK_EQ(tern_sim_link(sim, a, 0, b, 0, &lp, &lp, &link), TERN_OK);
    struct tern_rt *srt;
    CHECK_EQ(tern_rt_start_sim(sim, &srt), TERN_OK);

    struct server sv = {.rt = srt};
    sv.fd = tern_socket_in(srt, b, AF_INET, SOCK_DGRAM, 0);
    CHECK(sv.fd >= 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(SERVER)};
    CHECK_EQ(tern_bind(sv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_usec = 50000};
    CHECK_EQ(tern_setsockopt(sv.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    pthread_t server_thread;
    CHECK_EQ(pthread_create(&server_thread, NULL, server_main, &sv), 0);

    uint32_t server = SERVER;
    CHECK_EQ(tern_rt_set_dns(srt, a, &server, 1), 0);
    /* Two threads at once, both families and IPv4 alone, and a name that
     * does not exist. */
    struct asker k[3] = {{.rt = srt, .name = "web.test", .family = AF_UNSPEC},
                         {.rt = srt, .name = "web.test", .family = AF_INET},
                         {.rt = srt, .name = "gone.test", .family = AF_UNSPEC}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(pthread_create(&t[i], NULL, asker_main, &k[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK_EQ(k[0].rc, 0);
    CHECK_EQ(k[0].n, 2);
    CHECK(k[0].has4 && k[0].has6);
    CHECK_EQ(k[1].rc, 0);
    CHECK_EQ(k[1].n, 1);
    CHECK(k[1].has4 && !k[1].has6);
    CHECK_EQ(k[2].rc, EAI_NONAME);
    int asked = atomic_load(&sv.queries);
    CHECK(asked >= 4 && asked <= 5); /* web A (once or twice), web AAAA, gone A and AAAA */
    /* Again: from the cache, no query. */
    struct asker again = {.rt = srt, .name = "WEB.test", .family = AF_UNSPEC};
    asker_main(&again);
    CHECK_EQ(again.rc, 0);
    CHECK_EQ(again.n, 2);
    CHECK_EQ(atomic_load(&sv.queries), asked);

    atomic_store(&sv.stop, true);
    pthread_join(server_thread, NULL);
    tern_close(sv.fd);
    tern_rt_free(srt);
    tern_sim_free(sim);
}

int
main(void)
{
    RUN(test_numeric);
    RUN(test_errors);
    RUN(test_blocking_lookups);
    return CHECK_DONE();
}
