/*
 * src/udp/udp.c: UDP (RFC 768) for one stack: the socket table, input and
 * demultiplexing, the receive queues, output, ICMP errors, and the user
 * calls of include/tern/udp.h.
 *
 * Read before editing: RFC 768; RFC 1122 4.1 (the host rules: port
 * unreachable 4.1.3.1, ICMP errors to the application 4.1.3.3, checksums
 * 4.1.3.4, addresses 4.1.3.5-6); RFC 8085 3 (what the receive side owes
 * applications: bounded queues, no unlimited buffering).
 *
 * Demultiplexing: the sockets bound to the destination port are scored,
 * a connected socket (remote address and port match) above one that is
 * not, and a socket bound to the specific destination above one bound to
 * every address; a unicast datagram goes to the best one. A datagram to a
 * broadcast address goes to every socket that matches (each gets a copy).
 * The table is scanned in full: max_sockets is small by design (a hash by
 * port is the next step if it grows).
 */
#include "udp/udp.h"

#include <string.h>

#include "core/core.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

static const char L_UDP[] = "udp";

#define UDP_DEFAULT_SOCKETS 32u
#define UDP_DEFAULT_RCVBUF  65536u
#define UDP_RCVBUF_MIN      256u
#define UDP_RCVBUF_MAX      (1u << 30)

static unsigned
cfg_sockets(const struct tern_stack *st)
{
    return st->cfg.udp.max_sockets ? st->cfg.udp.max_sockets : UDP_DEFAULT_SOCKETS;
}

static uint32_t
cfg_rcvbuf(const struct tern_stack *st)
{
    return st->cfg.udp.rcvbuf ? st->cfg.udp.rcvbuf : UDP_DEFAULT_RCVBUF;
}

int
udp_init(struct tern_stack *st)
{
    struct udp_state *u = st->udp;
    memset(u, 0, sizeof(*u));
    u->free_head = -1;
    unsigned n = cfg_sockets(st);
    uint32_t rb = cfg_rcvbuf(st);
    if (n > 1u << 16 || rb < UDP_RCVBUF_MIN || rb > UDP_RCVBUF_MAX) {
        return TERN_ERR_INVAL;
    }
    u->socks = stack_alloc(st, sizeof(*u->socks) * n);
    if (u->socks == NULL) {
        return TERN_ERR_NOMEM;
    }
    u->n_socks = n;
    for (int i = (int)n - 1; i >= 0; i--) {
        u->socks[i].next_free = u->free_head;
        u->free_head = i;
    }
    return TERN_OK;
}

void
udp_fini(struct tern_stack *st)
{
    struct udp_state *u = st->udp;
    if (u == NULL || u->socks == NULL) {
        return;
    }
    for (unsigned i = 0; i < u->n_socks; i++) {
        if (u->socks[i].used) {
            chain_free(&st->pool, &u->socks[i].q);
        }
    }
    stack_dealloc(st, u->socks, sizeof(*u->socks) * u->n_socks);
    u->socks = NULL;
    u->n_socks = 0;
}

static struct udp_sock *
sock_of(const struct tern_stack *st, int id)
{
    const struct udp_state *u = st->udp;
    if (id <= 0 || (unsigned)id > u->n_socks || !u->socks[id - 1].used) {
        return NULL;
    }
    return &u->socks[id - 1];
}

static int
id_of(const struct tern_stack *st, const struct udp_sock *s)
{
    return (int)(s - st->udp->socks) + 1;
}

static unsigned
events_of(const struct udp_sock *s)
{
    return (s->n_dgrams > 0 ? TERN_UDP_EV_READABLE : 0u) | (s->err != 0 ? TERN_UDP_EV_ERROR : 0u);
}

static void
notify(struct tern_stack *st, struct udp_sock *s)
{
    if (s->fn != NULL) {
        s->fn(s->ctx, st, id_of(st, s), events_of(s));
    }
}

/* ---- input ------------------------------------------------------------- */

/* Queues one datagram on s, or counts why not. True when queued. */
static bool
enqueue(struct tern_stack *st, struct udp_sock *s, const struct ip_rx *rx, const struct wire_udp *h)
{
    uint32_t rec = UDP_REC_HDR + (uint32_t)h->payload_len;
    /* RFC 8085 3.1 leaves buffering to the receiver but it must be bounded:
     * a datagram that would take the queue past rcvbuf waits for nobody
     * (a queue that is empty takes one datagram of any size, so that a
     * small rcvbuf never makes a socket deaf to large datagrams). */
    if (s->q.len > 0 && s->q.len + rec > s->rcvbuf) {
        stack_drop(st, TERN_DROP_UDP_RCVBUF_FULL, rx->datagram, rx->datagram_len);
        return false;
    }
    if (chain_chunks_needed(&s->q, s->q.start + s->q.len + rec) > pool_avail(&st->pool)) {
        st->pool.take_fail++;
        stack_drop(st, TERN_DROP_UDP_POOL_DRY, rx->datagram, rx->datagram_len);
        return false;
    }
    /* The record: sender (16), its port (2), the length (2), TOS, TTL. */
    uint8_t hdr[UDP_REC_HDR] = {0};
    memcpy(hdr, rx->src.b, 16);
    hdr[16] = (uint8_t)(h->src_port >> 8);
    hdr[17] = (uint8_t)h->src_port;
    hdr[18] = (uint8_t)(h->payload_len >> 8);
    hdr[19] = (uint8_t)h->payload_len;
    hdr[20] = rx->tos;
    hdr[21] = rx->ttl;
    chain_append(&st->pool, &s->q, hdr, UDP_REC_HDR, NULL);
    chain_append(&st->pool, &s->q, h->payload, (uint32_t)h->payload_len, NULL);
    s->n_dgrams++;
    st->stats.udp.rx++;
    return true;
}

/* How well s matches a datagram from src:sport to dst:dport: 0 not at all,
 * else 1 + 2 (connected) + 1 (bound to dst itself). */
static int
match_score(const struct udp_sock *s, struct tern_ip src, uint16_t sport, struct tern_ip dst,
            uint16_t dport, bool bcast)
{
    if (!s->used || !s->bound || s->lport != dport) {
        return 0;
    }
    int score = 1;
    if (tern_ip_is_any(s->laddr)) {
        /* 0.0.0.0 takes IPv4 only; :: both families, or IPv6 only. */
        bool v6 = !tern_ip_is4(dst);
        if (tern_ip_is_unspec6(s->laddr) ? (s->v6only && !v6) : v6) {
            return 0;
        }
    } else {
        if (!tern_ip_eq(s->laddr, dst) && !(bcast && tern_ip_is4(s->laddr))) {
            return 0;
        }
        score += tern_ip_eq(s->laddr, dst) ? 1 : 0;
    }
    if (s->connected) {
        if (!tern_ip_eq(s->raddr, src) || s->rport != sport) {
            return 0;
        }
        score += 2;
    }
    return score;
}

void
udp_input(struct tern_stack *st, void *ctx, const struct ip_rx *rx)
{
    (void)ctx;
    struct wire_udp h;
    switch (wire_udp_parse_ip(rx->payload, rx->len, rx->src.b, rx->dst.b, &h)) {
    case WIRE_OK:
        break;
    case WIRE_ERR_UDP_TRUNCATED:
        stack_drop(st, TERN_DROP_UDP_TRUNCATED, rx->datagram, rx->datagram_len);
        return;
    case WIRE_ERR_UDP_LENGTH:
        stack_drop(st, TERN_DROP_UDP_LENGTH, rx->datagram, rx->datagram_len);
        return;
    default:
        /* RFC 1122 4.1.3.4: a nonzero checksum that fails is dropped silently. */
        stack_drop(st, TERN_DROP_UDP_CHECKSUM, rx->datagram, rx->datagram_len);
        return;
    }
    struct udp_state *u = st->udp;
    bool bcast = ip_is_multi(st, rx->netif, rx->dst);
    if (bcast) {
        /* A broadcast reaches every socket listening on the port. */
        bool any = false;
        for (unsigned i = 0; i < u->n_socks; i++) {
            struct udp_sock *s = &u->socks[i];
            if (match_score(s, rx->src, h.src_port, rx->dst, h.dst_port, true) > 0) {
                any = true;
                if (enqueue(st, s, rx, &h)) {
                    stack_trace(st, TERN_TRACE_RX, L_UDP, "RFC 768: broadcast datagram queued",
                                rx->datagram, rx->datagram_len);
                    notify(st, s);
                }
            }
        }
        if (!any) {
            /* No ICMP about a broadcast (RFC 1122 3.2.2; icmp_send_error
             * would refuse it anyway). */
            stack_drop(st, TERN_DROP_UDP_NO_PORT, rx->datagram, rx->datagram_len);
        }
        return;
    }
    struct udp_sock *best = NULL;
    int best_score = 0;
    for (unsigned i = 0; i < u->n_socks; i++) {
        int sc = match_score(&u->socks[i], rx->src, h.src_port, rx->dst, h.dst_port, false);
        if (sc > best_score) {
            best = &u->socks[i];
            best_score = sc;
        }
    }
    if (best == NULL) {
        /* RFC 1122 4.1.3.1: nobody listens on the port: port unreachable
         * (icmp_send_error applies 3.2.2's exceptions). */
        stack_drop(st, TERN_DROP_UDP_NO_PORT, rx->datagram, rx->datagram_len);
        ip_send_port_unreach(st, rx);
        return;
    }
    if (enqueue(st, best, rx, &h)) {
        stack_trace(st, TERN_TRACE_RX, L_UDP, "RFC 768: datagram queued", rx->datagram,
                    rx->datagram_len);
        notify(st, best);
    }
}

void
udp_icmp_error(struct tern_stack *st, void *ctx, const struct ip_icmp_err *e)
{
    (void)ctx;
    /* The quote starts with our UDP header: source port ours, destination
     * port theirs (the 8 bytes are guaranteed by ip). */
    uint16_t sport = (uint16_t)(e->orig_payload[0] << 8 | e->orig_payload[1]);
    uint16_t dport = (uint16_t)(e->orig_payload[2] << 8 | e->orig_payload[3]);
    int err = 0;
    if (e->v6) {
        /* RFC 4443 3.1 code 4, 4.4 code 1 (RFC 5461's hard errors). */
        if (e->type == 1 && e->code == 4) {
            err = TERN_ERR_REFUSED;
        } else if ((e->type == 1 && e->code == 3) || (e->type == 4 && e->code == 1)) {
            err = TERN_ERR_UNREACH;
        }
    } else if (e->type == WIRE_ICMP_DEST_UNREACH) {
        if (e->code == WIRE_ICMP_UNREACH_PORT) {
            err = TERN_ERR_REFUSED;
        } else if (e->code == WIRE_ICMP_UNREACH_PROTO || e->code == 6 || e->code == 7) {
            err = TERN_ERR_UNREACH; /* protocol, or network / host unknown: hard */
        }
    }
    struct udp_state *u = st->udp;
    struct udp_sock *s = NULL;
    for (unsigned i = 0; i < u->n_socks && err != 0; i++) {
        struct udp_sock *c = &u->socks[i];
        if (c->used && c->connected && c->lport == sport && c->rport == dport &&
            tern_ip_eq(c->raddr, e->orig_dst) &&
            (tern_ip_is_any(c->laddr) || tern_ip_eq(c->laddr, e->orig_src))) {
            s = c;
            break;
        }
    }
    if (s == NULL) {
        /* RFC 1122 4.1.3.3 wants every error passed up; like Linux without
         * IP_RECVERR we keep only hard errors, and only for a connected
         * socket, the one case where the error surely concerns it. */
        stack_drop(st, TERN_DROP_UDP_ICMP_NO_SOCKET, e->orig_payload, e->orig_payload_len);
        return;
    }
    /* RFC 1122 4.1.3.3: reported on the socket's next call. */
    s->err = (int16_t)err;
    st->stats.udp.icmp_errs++;
    stack_trace(st, TERN_TRACE_EVENT, L_UDP, "RFC 1122 4.1.3.3: ICMP error kept for the socket",
                e->orig_payload, e->orig_payload_len);
    notify(st, s);
}

/* ---- user calls --------------------------------------------------------- */

int
tern_udp_open(struct tern_stack *st, int64_t now_ns)
{
    if (st == NULL) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    struct udp_state *u = st->udp;
    if (u->free_head < 0) {
        return TERN_ERR_NOBUFS;
    }
    struct udp_sock *s = &u->socks[u->free_head];
    u->free_head = s->next_free;
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->next_free = -1;
    s->rcvbuf = cfg_rcvbuf(st);
    chain_init(&s->q, 0);
    return id_of(st, s);
}

int
tern_udp_close(struct tern_stack *st, int id, int64_t now_ns)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    chain_free(&st->pool, &s->q);
    s->used = false;
    s->fn = NULL;
    s->next_free = st->udp->free_head;
    st->udp->free_head = id - 1;
    return TERN_OK;
}

/* The endpoint's address as the stack keeps it (IPv4-mapped for IPv4). */
static struct tern_ip
addr_in(const struct tern_udp_addr *a)
{
    return a->family == TERN_UDP_AF_INET6 ? tern_ip6(a->v6) : tern_ip4(a->v4);
}

/* An endpoint as the API reports it: IPv4 as TERN_UDP_AF_INET. */
static struct tern_udp_addr
addr_out(struct tern_ip ip, uint16_t port, bool valid)
{
    struct tern_udp_addr a = {.port = port};
    if (!valid) {
        a.family = TERN_UDP_AF_UNSPEC;
    } else if (tern_ip_is4(ip)) {
        a.family = TERN_UDP_AF_INET;
        a.v4 = tern_ip_v4(ip);
    } else {
        a.family = TERN_UDP_AF_INET6;
        memcpy(a.v6, ip.b, 16);
    }
    return a;
}

/* Whether another socket holds port on an address overlapping addr,
 * unless both allow sharing. */
static bool
port_taken(const struct tern_stack *st, const struct udp_sock *self, struct tern_ip addr,
           uint16_t port, bool reuse)
{
    const struct udp_state *u = st->udp;
    for (unsigned i = 0; i < u->n_socks; i++) {
        const struct udp_sock *o = &u->socks[i];
        if (o == self || !o->used || !o->bound || o->lport != port) {
            continue;
        }
        if (!tern_ip_overlap(o->laddr, addr)) {
            continue;
        }
        if (reuse && o->reuseaddr) {
            continue;
        }
        return true;
    }
    return false;
}

/* RFC 6056 3.3.1 (algorithm 1): a random first candidate in the range TCP
 * uses (cfg.tcp.ephemeral_min..max), then the next ones in turn. */
static int
bind_ephemeral(struct tern_stack *st, struct udp_sock *s, struct tern_ip addr)
{
    uint32_t lo = st->cfg.tcp.ephemeral_min, hi = st->cfg.tcp.ephemeral_max;
    if (lo == 0 || hi < lo) {
        lo = 49152;
        hi = 65535;
    }
    uint32_t num = hi - lo + 1;
    uint32_t next = rng_below(&st->rng, num);
    for (uint32_t count = 0; count < num; count++) {
        uint16_t port = (uint16_t)(lo + (next + count) % num);
        if (!port_taken(st, s, addr, port, false)) {
            s->bound = true;
            s->laddr = addr;
            s->lport = port;
            return TERN_OK;
        }
    }
    return TERN_ERR_NOBUFS;
}

int
tern_udp_bind(struct tern_stack *st, int id, const struct tern_udp_addr *local, int64_t now_ns)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    if (local == NULL ||
        (local->family != TERN_UDP_AF_INET && local->family != TERN_UDP_AF_INET6) || s->bound) {
        return TERN_ERR_INVAL;
    }
    /* RFC 1122 4.1.3.6: we send only from addresses that are ours. */
    struct tern_ip la = addr_in(local);
    if (!tern_ip_is_any(la) && !ip_is_ours(st, la)) {
        return TERN_ERR_INVAL;
    }
    if (local->port == 0) {
        return bind_ephemeral(st, s, la);
    }
    if (port_taken(st, s, la, local->port, s->reuseaddr)) {
        return TERN_ERR_EXIST;
    }
    s->bound = true;
    s->laddr = la;
    s->lport = local->port;
    return TERN_OK;
}

/* The source address of a datagram to dst (the route's choice); false
 * when there is no route. */
static bool
source_for(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *src)
{
    return ip_route_src(st, dst, src, NULL) >= 0;
}

/* A destination as given: 0.0.0.0 means this host (RFC 1122 3.2.1.3 (a)). */
static struct tern_ip
dest_in(const struct tern_stack *st, const struct tern_udp_addr *a)
{
    struct tern_ip d = addr_in(a);
    if (tern_ip_is4(d) && tern_ip_v4(d) == 0) {
        d = tern_ip4(st->cfg.netifs[0].addr);
    }
    return d;
}

int
tern_udp_connect(struct tern_stack *st, int id, const struct tern_udp_addr *remote, int64_t now_ns)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    if (remote == NULL) {
        return TERN_ERR_INVAL;
    }
    if (remote->family == TERN_UDP_AF_UNSPEC) {
        s->connected = false;
        memset(&s->raddr, 0, sizeof(s->raddr));
        s->rport = 0;
        if (s->autobound) {
            /* A port the socket did not ask for goes back (as Linux does:
             * the next connect or send picks a new one). */
            s->bound = false;
            s->autobound = false;
            s->lport = 0;
        }
        return TERN_OK;
    }
    if ((remote->family != TERN_UDP_AF_INET && remote->family != TERN_UDP_AF_INET6) ||
        remote->port == 0) {
        return TERN_ERR_INVAL;
    }
    struct tern_ip raddr = dest_in(st, remote);
    if (tern_ip_is4(raddr) && ip_is_multi(st, -1, raddr) && !s->broadcast) {
        return TERN_ERR_ACCESS;
    }
    if (s->bound && !tern_ip_is_any(s->laddr) && tern_ip_is4(s->laddr) != tern_ip_is4(raddr)) {
        return TERN_ERR_INVAL; /* bound to an address of the other family */
    }
    if (!s->bound) {
        int rc = bind_ephemeral(st, s, tern_ip_any_of(raddr));
        if (rc != TERN_OK) {
            return rc;
        }
        s->autobound = true;
    }
    s->connected = true;
    s->raddr = raddr;
    s->rport = remote->port;
    return TERN_OK;
}

/* The partial checksum of the pieces as one byte stream: a piece that
 * starts at an odd offset has its words straddle the pieces, which in
 * ones'-complement arithmetic is its own sum with the bytes swapped. */
static uint32_t
vec_sum(const struct tern_udp_vec *v, size_t n)
{
    uint32_t sum = 0;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t p = wire_csum_add(0, v[i].base, v[i].len);
        while (p >> 16) {
            p = (p & 0xffff) + (p >> 16);
        }
        if (off & 1) {
            p = ((p & 0xff) << 8) | (p >> 8);
        }
        sum += p;
        off += v[i].len;
    }
    return sum;
}

int
tern_udp_sendv(struct tern_stack *st, int id, const struct tern_udp_vec *v, size_t n,
               const struct tern_udp_addr *to, int64_t now_ns)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    if (v == NULL && n > 0) {
        return TERN_ERR_INVAL;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].base == NULL && v[i].len > 0) {
            return TERN_ERR_INVAL;
        }
        len += v[i].len;
        if (len > TERN_UDP_MAX_PAYLOAD) {
            break;
        }
    }
    struct tern_ip dst;
    uint16_t dport;
    if (to != NULL) {
        if ((to->family != TERN_UDP_AF_INET && to->family != TERN_UDP_AF_INET6) || to->port == 0) {
            return TERN_ERR_INVAL;
        }
        dst = dest_in(st, to);
        dport = to->port;
    } else if (s->connected) {
        dst = s->raddr;
        dport = s->rport;
    } else {
        return TERN_ERR_NOTCONN;
    }
    /* The order of the checks below is Linux's (broadcast, size, then the
     * pending error), so that the socket API reports what it would. */
    if (tern_ip_is4(dst) && ip_is_multi(st, -1, dst) && !s->broadcast) {
        return TERN_ERR_ACCESS;
    }
    if (len > TERN_UDP_MAX_PAYLOAD) {
        return TERN_ERR_MSGSIZE;
    }
    if (s->err != 0) {
        int e = s->err; /* RFC 1122 4.1.3.3: the ICMP error, reported once */
        s->err = 0;
        return e;
    }
    if (s->bound && !tern_ip_is_any(s->laddr) && tern_ip_is4(s->laddr) != tern_ip_is4(dst)) {
        return TERN_ERR_INVAL; /* bound to an address of the other family */
    }
    if (s->bound && tern_ip_is_any(s->laddr) && !tern_ip_is_unspec6(s->laddr) &&
        !tern_ip_is4(dst)) {
        return TERN_ERR_INVAL; /* an IPv4 socket sends no IPv6 */
    }
    if (!s->bound) {
        int rc = bind_ephemeral(st, s, tern_ip_any_of(dst));
        if (rc != TERN_OK) {
            return rc;
        }
        s->autobound = true;
    }
    /* RFC 1122 4.1.3.6: the source is one of ours: the bound address, else
     * the route's choice (needed now, for the pseudo-header). */
    struct tern_ip src = s->laddr;
    if (tern_ip_is_any(src) && !source_for(st, dst, &src)) {
        stack_drop(st, TERN_DROP_IP_NO_ROUTE, NULL, 0);
        return TERN_ERR_NOROUTE;
    }
    uint8_t hdr[WIRE_UDP_HDR_LEN];
    (void)wire_udp_emit_hdr_ip(hdr, src.b, s->lport, dst.b, dport, len, vec_sum(v, n));
    struct ip_tx snd = {.src = src, .dst = dst, .proto = WIRE_IPPROTO_UDP, .tclass = s->tos};
    struct ip_part parts[UDP_MAX_VEC + 1];
    if (n > UDP_MAX_VEC) {
        return TERN_ERR_INVAL;
    }
    parts[0] = (struct ip_part){hdr, sizeof hdr};
    for (size_t i = 0; i < n; i++) {
        parts[i + 1] = (struct ip_part){v[i].base, v[i].len};
    }
    stack_trace(st, TERN_TRACE_TX, L_UDP, "RFC 768: datagram sent", NULL, 0);
    int rc = ip_output(st, &snd, parts, n + 1);
    if (rc != TERN_OK) {
        return rc;
    }
    st->stats.udp.tx++;
    return (int)len;
}

int
tern_udp_sendto(struct tern_stack *st, int id, const void *data, size_t len,
                const struct tern_udp_addr *to, int64_t now_ns)
{
    struct tern_udp_vec v = {(void *)(uintptr_t)data, len};
    return tern_udp_sendv(st, id, &v, 1, to, now_ns);
}

int
tern_udp_send(struct tern_stack *st, int id, const void *data, size_t len, int64_t now_ns)
{
    return tern_udp_sendto(st, id, data, len, NULL, now_ns);
}

int
tern_udp_recvv(struct tern_stack *st, int id, const struct tern_udp_vec *v, size_t nv,
               unsigned flags, struct tern_udp_addr *from, size_t *dgram_len, int64_t now_ns)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    if (v == NULL && nv > 0) {
        return TERN_ERR_INVAL;
    }
    for (size_t i = 0; i < nv; i++) {
        if (v[i].base == NULL && v[i].len > 0) {
            return TERN_ERR_INVAL;
        }
    }
    if (s->err != 0) {
        int e = s->err; /* RFC 1122 4.1.3.3: the ICMP error, reported once */
        s->err = 0;
        return e;
    }
    if (s->n_dgrams == 0) {
        return TERN_ERR_AGAIN;
    }
    uint8_t hdr[UDP_REC_HDR];
    chain_read(&st->pool, &s->q, s->q.start, hdr, UDP_REC_HDR);
    size_t n = (size_t)hdr[18] << 8 | hdr[19];
    size_t copied = 0;
    for (size_t i = 0; i < nv && copied < n; i++) {
        size_t k = n - copied < v[i].len ? n - copied : v[i].len;
        if (k > 0) {
            chain_read(&st->pool, &s->q, s->q.start + UDP_REC_HDR + (uint32_t)copied, v[i].base,
                       (uint32_t)k);
        }
        copied += k;
    }
    if (from != NULL) {
        *from = addr_out(tern_ip6(hdr), (uint16_t)(hdr[16] << 8 | hdr[17]), true);
    }
    if (dgram_len != NULL) {
        *dgram_len = n;
    }
    if (!(flags & TERN_UDP_PEEK)) {
        /* A datagram is read whole or not at all: what did not fit is gone. */
        chain_drop(&st->pool, &s->q, UDP_REC_HDR + (uint32_t)n, false);
        s->n_dgrams--;
    }
    return (int)copied;
}

int
tern_udp_recvfrom(struct tern_stack *st, int id, void *buf, size_t cap, unsigned flags,
                  struct tern_udp_addr *from, size_t *dgram_len, int64_t now_ns)
{
    struct tern_udp_vec v = {buf, cap};
    return tern_udp_recvv(st, id, &v, 1, flags, from, dgram_len, now_ns);
}

int
tern_udp_pending(const struct tern_stack *st, int id, size_t *queued)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    if (queued != NULL) {
        *queued = s->q.len;
    }
    if (s->n_dgrams == 0) {
        return TERN_ERR_AGAIN;
    }
    uint8_t hdr[UDP_REC_HDR];
    /* chain_read only moves a lookup cursor; the queue is unchanged. */
    chain_read((struct pool *)&st->pool, &s->q, s->q.start, hdr, UDP_REC_HDR);
    return (int)((size_t)hdr[18] << 8 | hdr[19]);
}

int
tern_udp_error(struct tern_stack *st, int id)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    int e = s->err;
    s->err = 0;
    return e;
}

unsigned
tern_udp_events(const struct tern_stack *st, int id)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    return s != NULL ? events_of(s) : 0;
}

int
tern_udp_set_callback(struct tern_stack *st, int id, tern_udp_event_fn fn, void *ctx)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    s->fn = fn;
    s->ctx = ctx;
    return TERN_OK;
}

int
tern_udp_setopt(struct tern_stack *st, int id, enum tern_udp_opt opt, uint32_t value)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    switch (opt) {
    case TERN_UDP_OPT_BROADCAST:
        s->broadcast = value != 0;
        return TERN_OK;
    case TERN_UDP_OPT_REUSEADDR:
        s->reuseaddr = value != 0;
        return TERN_OK;
    case TERN_UDP_OPT_RCVBUF:
        if (value < UDP_RCVBUF_MIN || value > UDP_RCVBUF_MAX) {
            return TERN_ERR_INVAL;
        }
        s->rcvbuf = value;
        return TERN_OK;
    case TERN_UDP_OPT_TOS:
        if (value > 0xff) {
            return TERN_ERR_INVAL;
        }
        s->tos = (uint8_t)value;
        return TERN_OK;
    case TERN_UDP_OPT_V6ONLY:
        if (s->bound) {
            return TERN_ERR_INVAL; /* as Linux: fixed once bound */
        }
        s->v6only = value != 0;
        return TERN_OK;
    }
    return TERN_ERR_INVAL;
}

int
tern_udp_getopt(const struct tern_stack *st, int id, enum tern_udp_opt opt, uint32_t *value)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    if (value == NULL) {
        return TERN_ERR_INVAL;
    }
    switch (opt) {
    case TERN_UDP_OPT_BROADCAST:
        *value = s->broadcast;
        return TERN_OK;
    case TERN_UDP_OPT_REUSEADDR:
        *value = s->reuseaddr;
        return TERN_OK;
    case TERN_UDP_OPT_RCVBUF:
        *value = s->rcvbuf;
        return TERN_OK;
    case TERN_UDP_OPT_TOS:
        *value = s->tos;
        return TERN_OK;
    case TERN_UDP_OPT_V6ONLY:
        *value = s->v6only;
        return TERN_OK;
    }
    return TERN_ERR_INVAL;
}

int
tern_udp_name(const struct tern_stack *st, int id, struct tern_udp_addr *local,
              struct tern_udp_addr *remote)
{
    struct udp_sock *s = st != NULL ? sock_of(st, id) : NULL;
    if (s == NULL) {
        return st == NULL ? TERN_ERR_INVAL : TERN_ERR_NOTCONN;
    }
    if (local != NULL) {
        struct tern_ip la = s->laddr;
        /* Linux: a connected socket bound to "any" reports the address its
         * datagrams leave from. */
        if (s->connected && tern_ip_is_any(la) && !source_for(st, s->raddr, &la)) {
            la = s->laddr;
        }
        *local = addr_out(la, s->lport, s->bound);
        if (s->bound && tern_ip_is_unspec6(la)) {
            local->family = TERN_UDP_AF_INET6; /* bound to :: */
        }
    }
    if (remote != NULL) {
        *remote = addr_out(s->raddr, s->rport, s->connected);
    }
    return TERN_OK;
}
