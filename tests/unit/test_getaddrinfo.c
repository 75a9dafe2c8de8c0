/*
 * tests/unit/test_getaddrinfo.c: tern_getaddrinfo's own part (numeric
 * hosts, services, hints, errors) on an attached runtime, where no name
 * can be waited for. Lookups of names against a server are in
 * test_dns_resolver.c (the resolver) and test_interop_dns.sh (the whole
 * call against dnsmasq).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "check.h"
#include "tern/socket.h"

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

int
main(void)
{
    RUN(test_numeric);
    RUN(test_errors);
    return CHECK_DONE();
}
