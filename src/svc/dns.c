/*
 * src/svc/dns.c: the DNS stub resolver of include/tern/dns.h.
 *
 * A service on the public API: it talks to the stack only through
 * tern_udp_* and tern_tcp_*, and reads and writes messages with
 * src/wire/dns. Each lookup holds one question per family asked ("subs");
 * each sub walks the server list on its own (RFC 1034 5.3.1: the stub
 * hands the question to a recursive server and waits; 5.3.3's SLIST walk
 * reduced to "next server on silence or failure").
 *
 * Callbacks. Answers arrive in the UDP and TCP callbacks this file
 * installs, inside a stack call; a finished lookup calls the user's
 * callback from there, which may start another lookup in the same slot.
 * So after any call that may finish a lookup, code here checks that the
 * slot still holds the same lookup (its generation) before touching it.
 */
#include <stdlib.h>
#include <string.h>

#include "tern/dns.h"
#include "tern/rng.h"
#include "tern/stack.h"
#include "tern/tcp.h"
#include "tern/udp.h"
#include "wire/dns.h"

#define NS_PER_S 1000000000LL

enum sub_state { SUB_IDLE, SUB_UDP, SUB_TCP, SUB_DONE };

struct lookup;

/* One question (name, type) and its walk over the servers. */
struct sub {
    struct lookup *lk;
    uint16_t qtype;
    enum sub_state state;
    int status;
    uint16_t id; /* of the query in flight */
    int udp;     /* its UDP socket, 0 none */
    int tcp;     /* its TCP connection, 0 none */
    unsigned server, round;
    bool saw_timeout;
    bool ready; /* its socket's callback fired since the last poll */
    int64_t deadline;
    struct wire_dns_question q;
    uint8_t query[WIRE_DNS_TCP_PREFIX + WIRE_DNS_UDP_MAX]; /* prefix, then the message */
    size_t query_len;                                      /* of the message */
    size_t tcp_sent;                                       /* bytes of prefix + message sent */
    uint8_t *tcpbuf; /* tcp_max + 2 bytes, for the answer over TCP */
    size_t tcp_len;
    /* The result. */
    unsigned n;
    struct tern_ip addrs[TERN_DNS_MAX_ADDRS];
    uint32_t ttl;
    uint8_t canon[WIRE_DNS_NAME_MAX];
    size_t canon_len;
    bool from_cache, used_tcp;
};

struct lookup {
    struct tern_dns *d;
    bool in_use, finished;
    uint32_t gen;
    int handle;
    tern_dns_done_fn cb;
    void *ctx;
    uint32_t servers[TERN_DNS_MAX_SERVERS];
    unsigned n_servers;
    unsigned n_sub;
    struct sub sub[2];
    struct tern_dns_result result; /* once finished, without a callback */
};

struct cache_entry {
    bool used;
    uint16_t qtype;
    uint8_t name[WIRE_DNS_NAME_MAX];
    size_t name_len;
    int status; /* TERN_DNS_OK, _NXDOMAIN, _NODATA */
    unsigned n;
    struct tern_ip addrs[TERN_DNS_MAX_ADDRS];
    uint8_t canon[WIRE_DNS_NAME_MAX];
    size_t canon_len;
    int64_t stored, expires;
};

struct tern_dns {
    struct tern_stack *st;
    struct tern_dns_config cfg;
    struct tern_rng rng;
    struct lookup *lookups;
    struct cache_entry *cache;
    uint8_t *tcpbufs;
    uint8_t rxbuf[WIRE_DNS_UDP_MAX + 1]; /* one byte more: a longer datagram is seen */
    struct tern_dns_stats stats;
    bool ready; /* some sub is ready */
};

/* ---- small things ------------------------------------------------------ */

static void *
dns_alloc(const struct tern_dns_config *cfg, size_t n)
{
    if (cfg->alloc != NULL) {
        void *p = cfg->alloc(cfg->alloc_ud, NULL, 0, n);
        if (p != NULL) {
            memset(p, 0, n);
        }
        return p;
    }
    return calloc(1, n);
}

static void
dns_dealloc(const struct tern_dns_config *cfg, void *p, size_t n)
{
    if (p == NULL) {
        return;
    }
    if (cfg->alloc != NULL) {
        cfg->alloc(cfg->alloc_ud, p, n, 0);
    } else {
        free(p);
    }
}

static uint64_t
rand64(struct tern_dns *d)
{
    return d->cfg.random != NULL ? d->cfg.random(d->cfg.random_ctx) : tern_rng_next(&d->rng);
}

static uint32_t
rand_below(struct tern_dns *d, uint32_t n)
{
    /* 64 random bits reduced mod n < 2^32: a bias below 2^-32. */
    return (uint32_t)(rand64(d) % n);
}

const char *
tern_dns_strerror(int status)
{
    switch (status) {
    case TERN_DNS_OK:
        return "success";
    case TERN_DNS_ERR_NXDOMAIN:
        return "name does not exist (NXDOMAIN)";
    case TERN_DNS_ERR_NODATA:
        return "name has no address of the type asked";
    case TERN_DNS_ERR_TIMEDOUT:
        return "no DNS server answered";
    case TERN_DNS_ERR_SERVFAIL:
        return "DNS servers failed or refused";
    case TERN_DNS_ERR_BADNAME:
        return "not a valid domain name";
    case TERN_DNS_ERR_NOSERVER:
        return "no DNS server configured";
    case TERN_DNS_ERR_PENDING:
        return "lookup in progress";
    default:
        return tern_strerror(status);
    }
}

bool
tern_dns_parse_ipv4(const char *s, uint32_t *out)
{
    uint32_t a = 0;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255) {
            return false;
        }
        a = a << 8 | v;
        if (part < 3 && *s++ != '.') {
            return false;
        }
    }
    if (*s != '\0') {
        return false;
    }
    *out = a;
    return true;
}

/* ---- configuration and life -------------------------------------------- */

void
tern_dns_config_init(struct tern_dns_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->port = WIRE_DNS_PORT;
    cfg->timeout_ns = NS_PER_S;
    cfg->max_timeout_ns = 4 * NS_PER_S;
    cfg->attempts = 2;
    cfg->max_lookups = 4;
    cfg->cache_entries = 32;
    cfg->negative_ttl_max_ns = 30 * NS_PER_S;
    cfg->tcp_max = 4096;
}

static bool
servers_ok(const uint32_t *servers, unsigned n)
{
    if (n > TERN_DNS_MAX_SERVERS || (n > 0 && servers == NULL)) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (servers[i] == 0 || servers[i] == UINT32_MAX) {
            return false;
        }
    }
    return true;
}

int
tern_dns_new(struct tern_stack *st, const struct tern_dns_config *cfg, struct tern_dns **out)
{
    if (out != NULL) {
        *out = NULL;
    }
    if (st == NULL || cfg == NULL || out == NULL || !servers_ok(cfg->servers, cfg->n_servers) ||
        cfg->port == 0 || cfg->timeout_ns <= 0 || cfg->max_timeout_ns < cfg->timeout_ns ||
        cfg->attempts == 0 || cfg->max_lookups == 0 || cfg->max_lookups > 255 ||
        cfg->tcp_max < WIRE_DNS_UDP_MAX || cfg->tcp_max > 65535 || cfg->negative_ttl_max_ns < 0 ||
        cfg->cache_entries > 65536) {
        return TERN_ERR_INVAL;
    }
    if (cfg->random == NULL && cfg->seed == 0 && !cfg->deterministic) {
        return TERN_ERR_NOSECRET;
    }
    struct tern_dns *d = dns_alloc(cfg, sizeof(*d));
    if (d == NULL) {
        return TERN_ERR_NOMEM;
    }
    d->st = st;
    d->cfg = *cfg;
    tern_rng_seed(&d->rng, cfg->seed);
    size_t nsub = 2 * (size_t)cfg->max_lookups;
    d->lookups = dns_alloc(cfg, cfg->max_lookups * sizeof(*d->lookups));
    d->cache = cfg->cache_entries ? dns_alloc(cfg, cfg->cache_entries * sizeof(*d->cache)) : NULL;
    d->tcpbufs = dns_alloc(cfg, nsub * (cfg->tcp_max + WIRE_DNS_TCP_PREFIX));
    if (d->lookups == NULL || (cfg->cache_entries && d->cache == NULL) || d->tcpbufs == NULL) {
        tern_dns_free(d, 0);
        return TERN_ERR_NOMEM;
    }
    for (unsigned i = 0; i < cfg->max_lookups; i++) {
        struct lookup *lk = &d->lookups[i];
        lk->d = d;
        for (unsigned k = 0; k < 2; k++) {
            lk->sub[k].lk = lk;
            lk->sub[k].tcpbuf =
                d->tcpbufs + (2 * (size_t)i + k) * (cfg->tcp_max + WIRE_DNS_TCP_PREFIX);
        }
    }
    *out = d;
    return TERN_OK;
}

static void sub_close(struct tern_dns *d, struct sub *s, int64_t now);

void
tern_dns_free(struct tern_dns *d, int64_t now_ns)
{
    if (d == NULL) {
        return;
    }
    struct tern_dns_config cfg = d->cfg;
    if (d->lookups != NULL) {
        for (unsigned i = 0; i < cfg.max_lookups; i++) {
            for (unsigned k = 0; k < 2; k++) {
                sub_close(d, &d->lookups[i].sub[k], now_ns);
            }
        }
    }
    dns_dealloc(&cfg, d->lookups, cfg.max_lookups * sizeof(*d->lookups));
    dns_dealloc(&cfg, d->cache, cfg.cache_entries * sizeof(*d->cache));
    dns_dealloc(&cfg, d->tcpbufs,
                2 * (size_t)cfg.max_lookups * (cfg.tcp_max + WIRE_DNS_TCP_PREFIX));
    dns_dealloc(&cfg, d, sizeof(*d));
}

int
tern_dns_set_servers(struct tern_dns *d, const uint32_t *servers, unsigned n)
{
    if (d == NULL || !servers_ok(servers, n)) {
        return TERN_ERR_INVAL;
    }
    for (unsigned i = 0; i < n; i++) {
        d->cfg.servers[i] = servers[i];
    }
    d->cfg.n_servers = n;
    return TERN_OK;
}

const struct tern_dns_stats *
tern_dns_stats(const struct tern_dns *d)
{
    return d == NULL ? NULL : &d->stats;
}

/* ---- the cache ----------------------------------------------------------- */

static struct cache_entry *
cache_find(struct tern_dns *d, const uint8_t *name, size_t name_len, uint16_t qtype, int64_t now)
{
    for (unsigned i = 0; i < d->cfg.cache_entries; i++) {
        struct cache_entry *e = &d->cache[i];
        if (!e->used) {
            continue;
        }
        if (e->expires <= now) {
            e->used = false; /* RFC 1035 3.2.1: the TTL has run out */
            continue;
        }
        if (e->qtype == qtype && wire_dns_name_equal(e->name, e->name_len, name, name_len)) {
            return e;
        }
    }
    return NULL;
}

static void
cache_store(struct tern_dns *d, const struct sub *s, int64_t ttl_ns, int64_t now)
{
    if (d->cfg.cache_entries == 0 || ttl_ns <= 0) {
        return; /* TTL 0: use once, keep never (RFC 1035 3.2.1) */
    }
    struct cache_entry *e = cache_find(d, s->q.name, s->q.name_len, s->qtype, now);
    for (unsigned i = 0; e == NULL && i < d->cfg.cache_entries; i++) {
        if (!d->cache[i].used) {
            e = &d->cache[i];
        }
    }
    if (e == NULL) {
        /* Full: the entry that would leave first makes room. */
        e = &d->cache[0];
        for (unsigned i = 1; i < d->cfg.cache_entries; i++) {
            if (d->cache[i].expires < e->expires) {
                e = &d->cache[i];
            }
        }
        d->stats.cache_evictions++;
    }
    e->used = true;
    e->qtype = s->qtype;
    memcpy(e->name, s->q.name, s->q.name_len);
    e->name_len = s->q.name_len;
    e->status = s->status;
    e->n = s->n;
    memcpy(e->addrs, s->addrs, sizeof(e->addrs));
    memcpy(e->canon, s->canon, s->canon_len);
    e->canon_len = s->canon_len;
    e->stored = now;
    e->expires = now > INT64_MAX - ttl_ns ? INT64_MAX : now + ttl_ns;
}

void
tern_dns_flush_cache(struct tern_dns *d)
{
    if (d != NULL && d->cache != NULL) {
        memset(d->cache, 0, d->cfg.cache_entries * sizeof(*d->cache));
    }
}

/* ---- finishing ------------------------------------------------------------ */

static void
sub_close(struct tern_dns *d, struct sub *s, int64_t now)
{
    if (s->udp > 0) {
        tern_udp_close(d->st, s->udp, now);
        s->udp = 0;
    }
    if (s->tcp > 0) {
        int id = s->tcp;
        s->tcp = 0; /* first: the calls below may call back */
        tern_tcp_close(d->st, id, now);
        tern_tcp_release(d->st, id, now);
    }
}

/* Worst first: the status a lookup of several families reports when none
 * gave an address. */
static int
status_rank(int status)
{
    switch (status) {
    case TERN_DNS_ERR_NXDOMAIN:
        return 4;
    case TERN_DNS_ERR_TIMEDOUT:
        return 3;
    case TERN_DNS_ERR_SERVFAIL:
        return 2;
    default:
        return 1;
    }
}

static void
build_result(const struct lookup *lk, struct tern_dns_result *r)
{
    memset(r, 0, sizeof(*r));
    r->status = TERN_DNS_ERR_NODATA;
    r->ttl_s = UINT32_MAX;
    r->from_cache = true;
    int worst = 0;
    for (unsigned k = 0; k < lk->n_sub; k++) {
        const struct sub *s = &lk->sub[k];
        for (unsigned i = 0; i < s->n; i++) {
            r->n4 += s->qtype == WIRE_DNS_TYPE_A;
            r->addrs[r->n++] = s->addrs[i];
        }
        r->from_cache = r->from_cache && s->from_cache;
        r->used_tcp = r->used_tcp || s->used_tcp;
        if (s->status == TERN_DNS_OK || s->status == TERN_DNS_ERR_NODATA) {
            r->ttl_s = s->ttl < r->ttl_s ? s->ttl : r->ttl_s;
        }
        if (r->canon[0] == '\0' && s->canon_len > 0) {
            size_t n = wire_dns_name_to_text(s->canon, s->canon_len, r->canon, sizeof(r->canon));
            if (n > 1 && r->canon[n - 1] == '.') {
                r->canon[n - 1] = '\0'; /* "web.test." as "web.test" */
            }
        }
        if (s->status != TERN_DNS_OK && status_rank(s->status) > worst) {
            worst = status_rank(s->status);
            r->status = s->status;
        }
    }
    if (r->n > 0) {
        r->status = TERN_DNS_OK;
    }
    if (r->ttl_s == UINT32_MAX) {
        r->ttl_s = 0;
    }
}

/* Ends the lookup once every sub is done. Returns true when it did: the
 * slot may then hold another lookup (the user's callback ran). */
static bool
lookup_check_done(struct tern_dns *d, struct lookup *lk)
{
    for (unsigned k = 0; k < lk->n_sub; k++) {
        if (lk->sub[k].state != SUB_DONE) {
            return false;
        }
    }
    if (lk->cb == NULL) {
        build_result(lk, &lk->result);
        lk->finished = true;
        return true;
    }
    struct tern_dns_result r;
    build_result(lk, &r);
    tern_dns_done_fn cb = lk->cb;
    void *ctx = lk->ctx;
    int handle = lk->handle;
    lk->in_use = false;
    cb(ctx, d, handle, &r);
    return true;
}

/* The sub has its answer (or gave up): status set, addresses filled. */
static bool
sub_finish(struct tern_dns *d, struct sub *s, int status, int64_t now)
{
    sub_close(d, s, now);
    s->status = status;
    s->state = SUB_DONE;
    return lookup_check_done(d, s->lk);
}

/* ---- sending -------------------------------------------------------------- */

static int64_t
round_timeout(const struct tern_dns *d, unsigned round)
{
    int64_t t = d->cfg.timeout_ns;
    for (unsigned i = 0; i < round && t < d->cfg.max_timeout_ns; i++) {
        t *= 2; /* RFC 1035 4.2.1: back off between rounds */
    }
    return t < d->cfg.max_timeout_ns ? t : d->cfg.max_timeout_ns;
}

static void udp_event(void *ctx, struct tern_stack *st, int id, unsigned events);
static void tcp_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err);

/* A socket bound to a random port of 1024..65535 (RFC 5452 10: the port
 * is as unpredictable as the id; RFC 6056 2.1's range). */
static int
open_random_port(struct tern_dns *d, int64_t now)
{
    int id = tern_udp_open(d->st, now);
    if (id < 0) {
        return id;
    }
    int rc = TERN_ERR_EXIST;
    for (int tries = 0; tries < 8 && rc == TERN_ERR_EXIST; tries++) {
        struct tern_udp_addr local = {.family = TERN_UDP_AF_INET,
                                      .port = (uint16_t)(1024 + rand_below(d, 65536 - 1024))};
        rc = tern_udp_bind(d->st, id, &local, now);
    }
    if (rc == TERN_ERR_EXIST) {
        struct tern_udp_addr any = {.family = TERN_UDP_AF_INET}; /* the stack's own pick */
        rc = tern_udp_bind(d->st, id, &any, now);
    }
    if (rc < 0) {
        tern_udp_close(d->st, id, now);
        return rc;
    }
    return id;
}

/* A fresh query (new id) to the sub's current server over UDP. */
static void
send_udp(struct tern_dns *d, struct sub *s, int64_t now)
{
    struct lookup *lk = s->lk;
    if (s->tcp > 0) {
        int id = s->tcp;
        s->tcp = 0;
        tern_tcp_abort(d->st, id, now);
        tern_tcp_release(d->st, id, now);
    }
    s->state = SUB_UDP;
    s->deadline = now + round_timeout(d, s->round);
    if (s->udp <= 0) {
        /* RFC 5452 9.2: a new random port for each query; only the
         * retransmissions of one lookup share it. */
        int id = open_random_port(d, now);
        if (id < 0) {
            s->udp = 0;
            return; /* tried again at the deadline, as if lost */
        }
        s->udp = id;
        tern_udp_set_callback(d->st, id, udp_event, s);
    }
    /* RFC 5452 9.1: the id is random, drawn again for each query sent. */
    s->id = (uint16_t)rand64(d);
    s->query[0] = (uint8_t)(s->query_len >> 8);
    s->query[1] = (uint8_t)s->query_len;
    s->query[WIRE_DNS_TCP_PREFIX] = (uint8_t)(s->id >> 8);
    s->query[WIRE_DNS_TCP_PREFIX + 1] = (uint8_t)s->id;
    struct tern_udp_addr to = {
        .family = TERN_UDP_AF_INET, .port = d->cfg.port, .v4 = lk->servers[s->server]};
    int rc = tern_udp_sendto(d->st, s->udp, s->query + WIRE_DNS_TCP_PREFIX, s->query_len, &to, now);
    if (rc >= 0) {
        d->stats.udp_sent++;
    }
}

/* Moves to the next server (round robin, RFC 1034 5.3.3 step 4), or gives
 * up after cfg.attempts rounds. Returns true when the lookup finished. */
static bool
next_server(struct tern_dns *d, struct sub *s, int64_t now)
{
    struct lookup *lk = s->lk;
    s->tcp_len = 0;
    if (++s->server >= lk->n_servers) {
        s->server = 0;
        s->round++;
    }
    if (s->round >= d->cfg.attempts) {
        return sub_finish(d, s, s->saw_timeout ? TERN_DNS_ERR_TIMEDOUT : TERN_DNS_ERR_SERVFAIL,
                          now);
    }
    send_udp(d, s, now);
    return false;
}

/* Sends what remains of the framed query on the TCP connection. */
static void
tcp_push(struct tern_dns *d, struct sub *s, int64_t now)
{
    size_t total = WIRE_DNS_TCP_PREFIX + s->query_len;
    while (s->tcp > 0 && s->tcp_sent < total) {
        int n = tern_tcp_send(d->st, s->tcp, s->query + s->tcp_sent, total - s->tcp_sent, now);
        if (n <= 0) {
            return; /* full (WRITABLE tells) or failing (the events tell) */
        }
        s->tcp_sent += (size_t)n;
    }
}

/* RFC 1035 4.2.1 / RFC 7766 5: a truncated answer is asked again over TCP
 * of the same server, with the 2-byte length before the message (4.2.2). */
static void
start_tcp(struct tern_dns *d, struct sub *s, int64_t now)
{
    struct lookup *lk = s->lk;
    if (s->udp > 0) {
        tern_udp_close(d->st, s->udp, now);
        s->udp = 0;
    }
    s->state = SUB_TCP;
    s->used_tcp = true;
    s->tcp_len = 0;
    s->tcp_sent = 0;
    s->deadline = now + 2 * round_timeout(d, s->round); /* a handshake more */
    struct tern_tcp_open_args oa = {
        .remote_addr = tern_ip4(lk->servers[s->server]),
        .remote_port = d->cfg.port,
        .cb = tcp_event,
        .cb_ctx = s,
        .nodelay = true,
    };
    int id = tern_tcp_open(d->st, &oa, now);
    if (id < 0) {
        return; /* the deadline moves on */
    }
    s->tcp = id;
    d->stats.tcp_sent++;
    tcp_push(d, s, now); /* queued until ESTABLISHED */
}

/* ---- answers ---------------------------------------------------------------- */

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* The negative TTL of RFC 2308 5: min(SOA TTL, SOA MINIMUM) of the SOA in
 * the authority section; -1 without one (then not cached). */
static int64_t
negative_ttl(const struct wire_dns_msg *m)
{
    struct wire_dns_iter it;
    struct wire_dns_rr rr;
    wire_dns_iter_init(&it, m);
    while (wire_dns_next(&it, &rr) == WIRE_OK) {
        if (rr.section == WIRE_DNS_AUTHORITY && rr.type == WIRE_DNS_TYPE_SOA && rr.rdlength >= 22) {
            /* RFC 1035 3.3.13: MINIMUM is the last of the five 32-bit
             * fields that end the rdata, whatever the names before. */
            const uint8_t *p = rr.rdata + rr.rdlength - 4;
            uint32_t minimum =
                (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (minimum > 0x7fffffffu) {
                minimum = 0;
            }
            return min_u32(rr.ttl, minimum);
        }
    }
    return -1;
}

/* Follows the CNAME chain from the question's name inside the answer
 * section (RFC 1034 3.6.2, 5.3.1: a recursive server returns the chain and
 * the data), then takes the records of the asked type owned by its end.
 * Returns TERN_DNS_OK, _NODATA, or _SERVFAIL for a chain that does not end
 * within TERN_DNS_MAX_CNAME links. */
static int
extract(struct sub *s, const struct wire_dns_msg *m)
{
    struct wire_dns_iter it;
    struct wire_dns_rr rr;
    memcpy(s->canon, s->q.name, s->q.name_len);
    s->canon_len = s->q.name_len;
    s->ttl = UINT32_MAX;
    s->n = 0;
    for (unsigned hops = 0;; hops++) {
        bool found = false;
        wire_dns_iter_init(&it, m);
        while (!found && wire_dns_next(&it, &rr) == WIRE_OK && rr.section == WIRE_DNS_ANSWER) {
            if (rr.type == WIRE_DNS_TYPE_CNAME && rr.rclass == WIRE_DNS_CLASS_IN &&
                wire_dns_name_equal(rr.name, rr.name_len, s->canon, s->canon_len)) {
                uint8_t target[WIRE_DNS_NAME_MAX];
                size_t tlen;
                if (wire_dns_rr_cname(m, &rr, target, &tlen) != WIRE_OK) {
                    return TERN_DNS_ERR_SERVFAIL;
                }
                memcpy(s->canon, target, tlen);
                s->canon_len = tlen;
                s->ttl = min_u32(s->ttl, rr.ttl);
                found = true;
            }
        }
        if (!found) {
            break;
        }
        if (hops + 1 > TERN_DNS_MAX_CNAME) {
            return TERN_DNS_ERR_SERVFAIL; /* too long, or a circle */
        }
    }
    wire_dns_iter_init(&it, m);
    while (wire_dns_next(&it, &rr) == WIRE_OK && rr.section == WIRE_DNS_ANSWER) {
        if (rr.type != s->qtype ||
            !wire_dns_name_equal(rr.name, rr.name_len, s->canon, s->canon_len)) {
            continue; /* not ours: other owners, other types (RRSIGs...) */
        }
        struct tern_ip a;
        if (s->qtype == WIRE_DNS_TYPE_A) {
            uint32_t v4;
            if (wire_dns_rr_a(&rr, &v4) != WIRE_OK) {
                continue;
            }
            a = tern_ip4(v4);
        } else {
            uint8_t v6[16];
            if (wire_dns_rr_aaaa(&rr, v6) != WIRE_OK) {
                continue;
            }
            a = tern_ip6(v6);
        }
        s->ttl = min_u32(s->ttl, rr.ttl);
        if (s->n < TERN_DNS_MAX_ADDRS) {
            s->addrs[s->n++] = a;
        }
    }
    if (s->n == 0) {
        return TERN_DNS_ERR_NODATA;
    }
    return TERN_DNS_OK;
}

/* One message that arrived for sub s (over UDP from the right source, or
 * over its TCP connection). Returns true when the lookup finished. */
static bool
on_answer(struct tern_dns *d, struct sub *s, const uint8_t *buf, size_t len, bool via_tcp,
          int64_t now)
{
    struct wire_dns_msg m;
    if (wire_dns_parse(buf, len, &m) != WIRE_OK) {
        d->stats.drop_malformed++;
        return false;
    }
    bool tc = false;
    uint8_t rcode = 0;
    enum wire_err e = wire_dns_check_answer(&m, s->id, &s->q, &tc, &rcode);
    if (e == WIRE_ERR_DNS_ID) {
        d->stats.drop_id++; /* RFC 5452 3: not the id we sent */
        return false;
    }
    if (e == WIRE_ERR_DNS_QUESTION) {
        d->stats.drop_question++; /* RFC 5452 3: not the question we asked */
        return false;
    }
    if (e != WIRE_OK) {
        d->stats.drop_malformed++;
        return false;
    }
    /* Every record must parse (names inside the message, pointers going
     * backwards: src/wire/dns.h) before any is believed. A truncated
     * answer may end mid-record: its records are not used anyway. */
    if (!tc) {
        struct wire_dns_iter it;
        struct wire_dns_rr rr;
        wire_dns_iter_init(&it, &m);
        while (!wire_dns_iter_done(&it)) {
            if (wire_dns_next(&it, &rr) != WIRE_OK) {
                d->stats.drop_malformed++;
                return false;
            }
        }
    }
    if (tc && !via_tcp) {
        d->stats.truncated++;
        start_tcp(d, s, now);
        return false;
    }
    d->stats.answers++;
    s->used_tcp = s->used_tcp || via_tcp;
    switch (rcode) {
    case WIRE_DNS_RCODE_NOERROR: {
        int st = extract(s, &m);
        if (st == TERN_DNS_ERR_SERVFAIL) {
            d->stats.server_errors++;
            return next_server(d, s, now);
        }
        int64_t ttl = st == TERN_DNS_OK ? (int64_t)s->ttl * NS_PER_S : -1;
        if (st == TERN_DNS_ERR_NODATA) {
            /* RFC 2308 2.2: NODATA is cached like NXDOMAIN, from the SOA. */
            int64_t neg = negative_ttl(&m);
            s->ttl = neg < 0 ? 0 : (uint32_t)neg;
            ttl = neg < 0 ? -1 : neg * NS_PER_S;
            ttl = ttl < d->cfg.negative_ttl_max_ns ? ttl : d->cfg.negative_ttl_max_ns;
        }
        s->status = st;
        cache_store(d, s, ttl, now);
        return sub_finish(d, s, st, now);
    }
    case WIRE_DNS_RCODE_NXDOMAIN: {
        /* RFC 2308 5: cached for the SOA's negative TTL, bounded here. */
        int64_t neg = negative_ttl(&m);
        int64_t ttl = neg < 0 ? -1 : neg * NS_PER_S;
        ttl = ttl < d->cfg.negative_ttl_max_ns ? ttl : d->cfg.negative_ttl_max_ns;
        s->n = 0;
        s->ttl = neg < 0 ? 0 : (uint32_t)neg;
        memcpy(s->canon, s->q.name, s->q.name_len);
        s->canon_len = s->q.name_len;
        s->status = TERN_DNS_ERR_NXDOMAIN;
        cache_store(d, s, ttl, now);
        return sub_finish(d, s, TERN_DNS_ERR_NXDOMAIN, now);
    }
    default:
        /* SERVFAIL, REFUSED, NOTIMP, FORMERR: RFC 1034 5.3.3 step 4, this
         * server is no use for the question; ask the next. */
        d->stats.server_errors++;
        return next_server(d, s, now);
    }
}

/* Reads what waits on the sub's UDP socket. Returns true when the lookup
 * finished. */
static bool
read_udp(struct tern_dns *d, struct sub *s, int64_t now)
{
    struct lookup *lk = s->lk;
    int id = s->udp;
    while (s->udp == id && id > 0 && s->state == SUB_UDP) {
        struct tern_udp_addr from;
        size_t dlen = 0;
        int n = tern_udp_recvfrom(d->st, id, d->rxbuf, sizeof(d->rxbuf), 0, &from, &dlen, now);
        if (n == TERN_ERR_AGAIN) {
            return false;
        }
        if (n < 0) {
            return false; /* an ICMP error or a closed socket: the deadline moves on */
        }
        /* RFC 5452 3: only the server asked, from its port, may answer. */
        if (from.family != TERN_UDP_AF_INET || from.v4 != lk->servers[s->server] ||
            from.port != d->cfg.port) {
            d->stats.drop_source++;
            continue;
        }
        if (dlen > WIRE_DNS_UDP_MAX) {
            d->stats.drop_too_long++; /* RFC 1035 4.2.1: 512 without EDNS */
            continue;
        }
        if (on_answer(d, s, d->rxbuf, (size_t)n, false, now)) {
            return true;
        }
    }
    return false;
}

/* Pushes the query and reads the answer on the sub's TCP connection.
 * Returns true when the lookup finished. */
static bool
read_tcp(struct tern_dns *d, struct sub *s, int64_t now)
{
    int id = s->tcp;
    if (id <= 0 || s->state != SUB_TCP) {
        return false;
    }
    tcp_push(d, s, now);
    size_t cap = d->cfg.tcp_max + WIRE_DNS_TCP_PREFIX;
    /* Each turn reads bytes or takes a message, or returns: it ends. */
    while (s->tcp == id && s->state == SUB_TCP) {
        int n = 0;
        if (s->tcp_len < cap) {
            n = tern_tcp_recv(d->st, id, s->tcpbuf + s->tcp_len, cap - s->tcp_len, now);
            if (n > 0) {
                s->tcp_len += (size_t)n;
            }
        }
        const uint8_t *msg;
        size_t mlen;
        size_t used = wire_dns_tcp_unframe(s->tcpbuf, s->tcp_len, &msg, &mlen);
        if (used == 0) {
            if (s->tcp_len >= cap) {
                d->stats.drop_too_long++;
                return next_server(d, s, now);
            }
            if (n > 0) {
                continue; /* more may wait */
            }
            unsigned ev = tern_tcp_events(d->st, id);
            if (ev & (TERN_TCP_EV_PEER_FIN | TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR)) {
                return next_server(d, s, now); /* closed before a whole answer */
            }
            return false;
        }
        if (on_answer(d, s, msg, mlen, true, now)) {
            return true;
        }
        if (s->tcp == id && s->state == SUB_TCP) {
            /* Dropped (wrong id...): forget it, wait for more. */
            memmove(s->tcpbuf, s->tcpbuf + used, s->tcp_len - used);
            s->tcp_len -= used;
        }
    }
    return false;
}

/* The sockets' callbacks only mark the sub: the work happens in
 * tern_dns_poll(), with the caller's time, outside the stack call. */
static void
mark_ready(struct sub *s)
{
    struct tern_dns *d = s->lk->d;
    s->ready = true;
    d->ready = true;
    if (d->cfg.wake != NULL) {
        d->cfg.wake(d->cfg.wake_ctx);
    }
}

static void
udp_event(void *ctx, struct tern_stack *st, int id, unsigned events)
{
    (void)st;
    (void)events;
    struct sub *s = ctx;
    if (s->udp == id && s->state == SUB_UDP) {
        mark_ready(s);
    }
}

static void
tcp_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    (void)st;
    (void)events;
    (void)err;
    struct sub *s = ctx;
    if (s->tcp == id && s->state == SUB_TCP) {
        mark_ready(s);
    }
}

/* ---- lookups ------------------------------------------------------------------ */

int
tern_dns_lookup(struct tern_dns *d, const char *name, unsigned families, tern_dns_done_fn cb,
                void *ctx, int64_t now_ns)
{
    if (d == NULL || name == NULL || families == 0 || (families & ~TERN_DNS_WANT_BOTH) != 0) {
        return TERN_ERR_INVAL;
    }
    struct lookup *lk = NULL;
    unsigned idx = 0;
    for (unsigned i = 0; i < d->cfg.max_lookups; i++) {
        if (!d->lookups[i].in_use) {
            lk = &d->lookups[i];
            idx = i;
            break;
        }
    }
    uint16_t types[2];
    unsigned nt = 0;
    if (families & TERN_DNS_WANT_A) {
        types[nt++] = WIRE_DNS_TYPE_A;
    }
    if (families & TERN_DNS_WANT_AAAA) {
        types[nt++] = WIRE_DNS_TYPE_AAAA;
    }
    /* Check the name before anything else. */
    uint8_t scratch[WIRE_DNS_UDP_MAX];
    size_t qlen;
    struct wire_dns_question q;
    if (wire_dns_query_emit(0, name, strlen(name), types[0], scratch, sizeof(scratch), &qlen, &q) !=
        WIRE_OK) {
        return TERN_DNS_ERR_BADNAME;
    }
    if (lk == NULL) {
        return TERN_ERR_NOBUFS;
    }
    /* The cache first (RFC 1034 5.3.1: a stub may keep answers). */
    struct cache_entry *hit[2] = {NULL, NULL};
    bool all_hit = true;
    for (unsigned k = 0; k < nt; k++) {
        hit[k] = cache_find(d, q.name, q.name_len, types[k], now_ns);
        all_hit = all_hit && hit[k] != NULL;
    }
    if (!all_hit && d->cfg.n_servers == 0) {
        return TERN_DNS_ERR_NOSERVER;
    }
    uint32_t gen = lk->gen + 1;
    struct tern_dns_result *keep = &lk->result;
    memset(keep, 0, sizeof(*keep));
    lk->in_use = true;
    lk->finished = false;
    lk->gen = gen;
    lk->handle = (int)((gen & 0x7fffff) << 8 | (idx + 1));
    lk->cb = cb;
    lk->ctx = ctx;
    memcpy(lk->servers, d->cfg.servers, sizeof(lk->servers));
    lk->n_servers = d->cfg.n_servers;
    lk->n_sub = nt;
    d->stats.lookups++;
    int handle = lk->handle;
    for (unsigned k = 0; k < nt; k++) {
        struct sub *s = &lk->sub[k];
        uint8_t *tcpbuf = s->tcpbuf;
        memset(s, 0, sizeof(*s));
        s->lk = lk;
        s->tcpbuf = tcpbuf;
        s->qtype = types[k];
        s->state = SUB_IDLE;
        wire_dns_query_emit(0, name, strlen(name), types[k], s->query + WIRE_DNS_TCP_PREFIX,
                            WIRE_DNS_UDP_MAX, &s->query_len, &s->q);
        if (hit[k] != NULL) {
            const struct cache_entry *e = hit[k];
            d->stats.cache_hits++;
            s->from_cache = true;
            s->n = e->n;
            memcpy(s->addrs, e->addrs, sizeof(s->addrs));
            memcpy(s->canon, e->canon, e->canon_len);
            s->canon_len = e->canon_len;
            /* What is left of the TTL (RFC 1035 3.2.1: it counts down). */
            s->ttl = (uint32_t)((e->expires - now_ns + NS_PER_S - 1) / NS_PER_S);
            s->status = e->status;
            s->state = SUB_DONE;
        } else if (d->cfg.cache_entries > 0) {
            d->stats.cache_misses++;
        }
    }
    for (unsigned k = 0; k < nt; k++) {
        struct sub *s = &lk->sub[k];
        if (s->state == SUB_IDLE) {
            send_udp(d, s, now_ns);
        }
    }
    lookup_check_done(d, lk); /* all from the cache: done now */
    return handle;
}

static struct lookup *
lookup_of(struct tern_dns *d, int q)
{
    if (d == NULL || q <= 0) {
        return NULL;
    }
    unsigned idx = ((unsigned)q & 0xff) - 1;
    if (idx >= d->cfg.max_lookups) {
        return NULL;
    }
    struct lookup *lk = &d->lookups[idx];
    return lk->in_use && lk->handle == q ? lk : NULL;
}

int
tern_dns_result(struct tern_dns *d, int q, struct tern_dns_result *out)
{
    struct lookup *lk = lookup_of(d, q);
    if (lk == NULL || lk->cb != NULL) {
        return TERN_ERR_NOTCONN;
    }
    if (!lk->finished) {
        return TERN_DNS_ERR_PENDING;
    }
    if (out != NULL) {
        *out = lk->result;
    }
    lk->in_use = false;
    return lk->result.status;
}

int
tern_dns_cancel(struct tern_dns *d, int q, int64_t now_ns)
{
    struct lookup *lk = lookup_of(d, q);
    if (lk == NULL) {
        return TERN_ERR_NOTCONN;
    }
    for (unsigned k = 0; k < lk->n_sub; k++) {
        sub_close(d, &lk->sub[k], now_ns);
        lk->sub[k].state = SUB_DONE;
    }
    lk->in_use = false;
    return TERN_OK;
}

void
tern_dns_poll(struct tern_dns *d, int64_t now_ns)
{
    if (d == NULL) {
        return;
    }
    bool ready = d->ready;
    d->ready = false;
    for (unsigned i = 0; i < d->cfg.max_lookups; i++) {
        struct lookup *lk = &d->lookups[i];
        uint32_t gen = lk->gen;
        for (unsigned k = 0; k < 2; k++) {
            struct sub *s = &lk->sub[k];
            if (!lk->in_use || lk->gen != gen || k >= lk->n_sub) {
                break; /* the slot may hold another lookup now */
            }
            bool done = false;
            if (ready && s->ready) {
                s->ready = false;
                done = s->state == SUB_UDP ? read_udp(d, s, now_ns) : read_tcp(d, s, now_ns);
            }
            if (!done && lk->in_use && lk->gen == gen &&
                (s->state == SUB_UDP || s->state == SUB_TCP) && s->deadline <= now_ns) {
                d->stats.timeouts++;
                s->saw_timeout = true;
                done = next_server(d, s, now_ns);
            }
            if (done) {
                break;
            }
        }
    }
}

int64_t
tern_dns_next_deadline(const struct tern_dns *d)
{
    int64_t t = INT64_MAX;
    if (d == NULL) {
        return t;
    }
    if (d->ready) {
        return INT64_MIN; /* an answer waits: poll now */
    }
    for (unsigned i = 0; i < d->cfg.max_lookups; i++) {
        const struct lookup *lk = &d->lookups[i];
        if (!lk->in_use) {
            continue;
        }
        for (unsigned k = 0; k < lk->n_sub; k++) {
            const struct sub *s = &lk->sub[k];
            if ((s->state == SUB_UDP || s->state == SUB_TCP) && s->deadline < t) {
                t = s->deadline;
            }
        }
    }
    return t;
}
