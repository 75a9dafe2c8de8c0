/*
 * src/api/resolv.c: tern_getaddrinfo / tern_freeaddrinfo and the DNS
 * servers of a runtime (include/tern/socket.h), over the stub resolver of
 * include/tern/dns.h.
 *
 * Each host of a runtime gets a resolver when its servers are first set
 * (tern_rt_set_dns). A lookup runs under the runtime's lock: the calling
 * thread starts it, then sleeps on a condition variable that the
 * resolver's wake hook signals when an answer arrives (inside the
 * runtime's stack call, under the same lock), or until the resolver's next
 * deadline; each time it wakes it polls the resolver with the runtime's
 * time. The runtime's thread (kind c) or the caller's loop (kind b) moves
 * the packets meanwhile. An attached runtime (kind a) cannot wait: only
 * numeric hosts and cached answers are given there, anything else is
 * EAI_AGAIN (such a caller runs tern/dns.h in its own loop).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "tern/dns.h"

#define RESOLV_LOOKUPS 8  /* lookups at once per host */
#define RESOLV_CACHE   64 /* answers cached per host */
#define WAIT_CAP_NS    (100 * 1000000LL)

struct rt_resolv {
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int n_hosts;
    struct tern_dns **dns; /* by host, NULL until servers are set */
};

static uint64_t
os_random(void *ctx)
{
    (void)ctx;
    uint64_t v = 0;
    if (tern_random_seed(&v) != TERN_OK) {
        v = (uint64_t)rt_mono_ns() * 0x9e3779b97f4a7c15ULL; /* no getrandom: still varied */
    }
    return v;
}

static void
resolv_wake(void *ctx)
{
    struct rt_resolv *r = ctx;
    pthread_cond_broadcast(&r->cv);
}

/* Under rt->mu. */
static struct rt_resolv *
resolv_get(struct tern_rt *rt)
{
    if (rt->resolv != NULL) {
        return rt->resolv;
    }
    struct rt_resolv *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->dns = calloc((size_t)rt->n_hosts, sizeof(*r->dns));
    pthread_condattr_t ca;
    bool ok = r->dns != NULL && pthread_condattr_init(&ca) == 0;
    if (ok) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        ok = pthread_cond_init(&r->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        free(r->dns);
        free(r);
        return NULL;
    }
    r->n_hosts = rt->n_hosts;
    rt->resolv = r;
    return r;
}

void
resolv_free(struct tern_rt *rt)
{
    struct rt_resolv *r = rt->resolv;
    if (r == NULL) {
        return;
    }
    for (int h = 0; h < r->n_hosts; h++) {
        tern_dns_free(r->dns[h], rt_now(rt));
    }
    pthread_cond_destroy(&r->cv);
    free(r->dns);
    free(r);
    rt->resolv = NULL;
}

int
tern_rt_set_dns(struct tern_rt *rt, int host, const uint32_t *servers, unsigned n)
{
    if (rt == NULL || host < 0 || host >= rt->n_hosts || n > TERN_DNS_MAX_SERVERS ||
        (n > 0 && servers == NULL)) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&rt->mu);
    int rc = 0;
    struct rt_resolv *r = resolv_get(rt);
    if (r == NULL) {
        rc = ENOMEM;
    } else if (r->dns[host] != NULL) {
        rc = tern_dns_set_servers(r->dns[host], servers, n) == TERN_OK ? 0 : EINVAL;
    } else {
        struct tern_dns_config cfg;
        tern_dns_config_init(&cfg);
        for (unsigned i = 0; i < n; i++) {
            cfg.servers[i] = servers[i];
        }
        cfg.n_servers = n;
        cfg.max_lookups = RESOLV_LOOKUPS;
        cfg.cache_entries = RESOLV_CACHE;
        cfg.random = os_random;
        cfg.wake = resolv_wake;
        cfg.wake_ctx = r;
        int e = tern_dns_new(rt->hosts[host].st, &cfg, &r->dns[host]);
        rc = e == TERN_OK ? 0 : e == TERN_ERR_NOMEM ? ENOMEM : EINVAL;
    }
    pthread_mutex_unlock(&rt->mu);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

/* ---- results ---- */

struct ai_block {
    struct addrinfo ai;
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } sa;
};

void
tern_freeaddrinfo(struct addrinfo *res)
{
    while (res != NULL) {
        struct addrinfo *next = res->ai_next;
        free(res->ai_canonname);
        free(res); /* the first member of its struct ai_block */
        res = next;
    }
}

/* Appends one entry per socket type asked for address a. */
static int
add_results(struct addrinfo ***tail, struct tern_ip a, bool v4, uint16_t port,
            const struct addrinfo *hints)
{
    static const int types[2][2] = {{SOCK_STREAM, IPPROTO_TCP}, {SOCK_DGRAM, IPPROTO_UDP}};
    for (int k = 0; k < 2; k++) {
        if (hints->ai_socktype != 0 && hints->ai_socktype != types[k][0]) {
            continue;
        }
        struct ai_block *b = calloc(1, sizeof(*b));
        if (b == NULL) {
            return EAI_MEMORY;
        }
        b->ai.ai_flags = hints->ai_flags;
        b->ai.ai_socktype = types[k][0];
        b->ai.ai_protocol = types[k][1];
        if (v4) {
            b->ai.ai_family = AF_INET;
            b->sa.v4.sin_family = AF_INET;
            b->sa.v4.sin_port = htons(port);
            b->sa.v4.sin_addr.s_addr = htonl(tern_ip_v4(a));
            b->ai.ai_addrlen = sizeof(b->sa.v4);
        } else {
            b->ai.ai_family = AF_INET6;
            b->sa.v6.sin6_family = AF_INET6;
            b->sa.v6.sin6_port = htons(port);
            memcpy(&b->sa.v6.sin6_addr, a.b, 16);
            b->ai.ai_addrlen = sizeof(b->sa.v6);
        }
        b->ai.ai_addr = (struct sockaddr *)&b->sa;
        **tail = &b->ai;
        *tail = &b->ai.ai_next;
    }
    return 0;
}

static int
gai_status(int status)
{
    switch (status) {
    case TERN_DNS_ERR_NXDOMAIN:
    case TERN_DNS_ERR_BADNAME:
        return EAI_NONAME;
    case TERN_DNS_ERR_NODATA:
#ifdef EAI_NODATA
        return EAI_NODATA;
#else
        return EAI_NONAME;
#endif
    case TERN_DNS_ERR_TIMEDOUT:
    case TERN_DNS_ERR_SERVFAIL:
    case TERN_DNS_ERR_PENDING:
    case TERN_ERR_NOBUFS:
        return EAI_AGAIN; /* temporary, as glibc says of both */
    default:
        return EAI_FAIL;
    }
}

/* The service: a decimal port, or a name from the services database. */
static int
parse_service(const char *service, const struct addrinfo *hints, uint16_t *port)
{
    *port = 0;
    if (service == NULL) {
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(service, &end, 10);
    if (service[0] >= '0' && service[0] <= '9' && *end == '\0' && errno == 0 && v <= 65535) {
        *port = (uint16_t)v;
        return 0;
    }
    if (hints->ai_flags & AI_NUMERICSERV) {
        return EAI_NONAME;
    }
    const char *proto = hints->ai_socktype == SOCK_DGRAM ? "udp" : "tcp";
    struct servent se, *sp = NULL;
    char buf[1024];
    if (getservbyname_r(service, proto, &se, buf, sizeof(buf), &sp) != 0 || sp == NULL) {
        return EAI_SERVICE;
    }
    *port = ntohs((uint16_t)sp->s_port);
    return 0;
}

/* Waits for lookup q of resolver d, under rt->mu. */
static int
wait_lookup(struct tern_rt *rt, struct rt_resolv *r, struct tern_dns *d, int q,
            struct tern_dns_result *out)
{
    for (;;) {
        int st = tern_dns_result(d, q, out);
        if (st != TERN_DNS_ERR_PENDING) {
            return st;
        }
        int64_t now = rt_now(rt);
        int64_t dl = tern_dns_next_deadline(d);
        if (dl <= now) {
            tern_dns_poll(d, now);
            rt_after_call(rt); /* what the resolver sent goes out */
            continue;
        }
        int64_t wait = dl - now < WAIT_CAP_NS ? dl - now : WAIT_CAP_NS;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t abs_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + wait;
        ts.tv_sec = abs_ns / 1000000000;
        ts.tv_nsec = abs_ns % 1000000000;
        pthread_cond_timedwait(&r->cv, &rt->mu, &ts);
    }
}

int
tern_getaddrinfo_in(struct tern_rt *rt, int host, const char *node, const char *service,
                    const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo dflt = {.ai_family = AF_UNSPEC};
    if (res == NULL) {
        return EAI_FAIL;
    }
    *res = NULL;
    if (hints == NULL) {
        hints = &dflt;
    }
    if (node == NULL && service == NULL) {
        return EAI_NONAME;
    }
    if (hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET &&
        hints->ai_family != AF_INET6) {
        return EAI_FAMILY;
    }
    if (hints->ai_socktype != 0 && hints->ai_socktype != SOCK_STREAM &&
        hints->ai_socktype != SOCK_DGRAM) {
        return EAI_SOCKTYPE;
    }
    uint16_t port;
    int e = parse_service(service, hints, &port);
    if (e != 0) {
        return e;
    }
    struct tern_dns_result r;
    memset(&r, 0, sizeof(r));
    bool want4 = hints->ai_family != AF_INET6, want6 = hints->ai_family != AF_INET;
    struct in6_addr a6;
    uint32_t v4;
    if (node == NULL) {
        /* RFC 3493 6.1: the wildcard with AI_PASSIVE, else loopback. */
        bool passive = (hints->ai_flags & AI_PASSIVE) != 0;
        if (want4) {
            r.addrs[r.n++] = tern_ip4(passive ? 0 : TERN_IPV4(127, 0, 0, 1));
            r.n4 = 1;
        }
        if (want6) {
            uint8_t v6[16] = {0};
            v6[15] = passive ? 0 : 1; /* :: or ::1 */
            r.addrs[r.n++] = tern_ip6(v6);
        }
    } else if (tern_dns_parse_ipv4(node, &v4)) {
        if (!want4) {
            return EAI_ADDRFAMILY;
        }
        r.addrs[0] = tern_ip4(v4);
        r.n = r.n4 = 1;
    } else if (inet_pton(AF_INET6, node, &a6) == 1) {
        if (!want6) {
            return EAI_ADDRFAMILY;
        }
        r.addrs[0] = tern_ip6(a6.s6_addr);
        r.n = 1;
    } else if (hints->ai_flags & AI_NUMERICHOST) {
        return EAI_NONAME;
    } else {
        if (rt == NULL || host < 0 || host >= rt->n_hosts) {
            return EAI_FAIL;
        }
        pthread_mutex_lock(&rt->mu);
        struct rt_resolv *rs = rt->resolv;
        struct tern_dns *d = rs != NULL ? rs->dns[host] : NULL;
        int st;
        if (d == NULL) {
            st = TERN_DNS_ERR_NOSERVER;
        } else {
            unsigned fam = (want4 ? TERN_DNS_WANT_A : 0) | (want6 ? TERN_DNS_WANT_AAAA : 0);
            int q = tern_dns_lookup(d, node, fam, NULL, NULL, rt_now(rt));
            rt_after_call(rt);
            if (q < 0) {
                st = q;
            } else if (rt_can_block(rt)) {
                st = wait_lookup(rt, rs, d, q, &r);
            } else {
                st = tern_dns_result(d, q, &r);
                if (st == TERN_DNS_ERR_PENDING) {
                    /* Kind a cannot wait; the answer lands in the cache
                     * only if someone polls the resolver: cancel. */
                    tern_dns_cancel(d, q, rt_now(rt));
                }
            }
        }
        pthread_mutex_unlock(&rt->mu);
        if (st != TERN_DNS_OK) {
            if (st == TERN_DNS_ERR_NOSERVER) {
                errno = ENOENT;
                return EAI_SYSTEM; /* no server: errno says so (as glibc without resolv.conf) */
            }
            return gai_status(st);
        }
    }
    struct addrinfo *head = NULL, **tail = &head;
    for (unsigned i = 0; i < r.n; i++) {
        e = add_results(&tail, r.addrs[i], i < r.n4, port, hints);
        if (e != 0) {
            tern_freeaddrinfo(head);
            return e;
        }
    }
    if (head == NULL) {
        return EAI_NONAME;
    }
    if (hints->ai_flags & AI_CANONNAME) {
        head->ai_canonname = strdup(r.canon[0] != '\0' ? r.canon : node != NULL ? node : "");
        if (head->ai_canonname == NULL) {
            tern_freeaddrinfo(head);
            return EAI_MEMORY;
        }
    }
    *res = head;
    return 0;
}

int
tern_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                 struct addrinfo **res)
{
    struct tern_rt *rt = NULL;
    int host = 0;
    rt_registry_default(&rt, &host);
    return tern_getaddrinfo_in(rt, host, node, service, hints, res);
}
