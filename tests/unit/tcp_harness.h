/*
 * tests/unit/tcp_harness.h: fixtures for the TCP state tests (STYLE.md
 * 19(b)). One stack ("us", 10.0.0.1) with one interface whose transmit
 * callback records every datagram; the test plays the peer (10.0.0.2):
 * it crafts segments with wire_tcp_emit + wire_ipv4_emit and delivers them,
 * then checks, one by one, the exact segments the stack sent, the state of
 * the connection and the events the user got.
 *
 *   struct h h; h_init(&h);
 *   int id = h_syn_sent(&h);                         // SYN <SEQ=100> sent
 *   h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
 *   EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
 *   EXPECT_NOTHING(&h);
 *   CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
 *   h_fini(&h);
 *
 * Our ISS is the RFC's 100 and the peer's 300 (RFC 9293 3.5 Figure 6).
 */
#ifndef TERN_TESTS_TCP_HARNESS_H
#define TERN_TESTS_TCP_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stack/root.h"
#include "tcp/tcp.h"
#include "tern/stack.h"
#include "tern/tcp.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#define US_ADDR     TERN_IPV4(10, 0, 0, 1)
#define PEER_ADDR   TERN_IPV4(10, 0, 0, 2)
#define US_PORT     5000 /* our port for active opens */
#define LISTEN_PORT 80   /* our port for listeners */
#define PEER_PORT   7000
#define LOCAL_ISS   100u
#define REMOTE_ISS  300u
#define SEC         1000000000LL

enum {
    FIN = WIRE_TCP_FIN,
    SYN = WIRE_TCP_SYN,
    RST = WIRE_TCP_RST,
    PSH = WIRE_TCP_PSH,
    ACK = WIRE_TCP_ACK,
    URG = WIRE_TCP_URG
};

/* A segment as the tests describe it. Ports default to the harness's. */
struct tseg {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    const char *data; /* text, NUL-terminated, or NULL */
    uint16_t mss;     /* MSS option when not 0 */
    uint16_t sport, dport;
    uint16_t up;
};

/* PEER() and US() give defaults that a test may override (.wnd = 0): the
 * C99 idiom of a later designator winning, which -Woverride-init flags. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

/* From the peer to us (default: peer port -> our active port, window 8192). */
#define PEER(...) ((struct tseg){.wnd = 8192, __VA_ARGS__})
/* Expected from us (ports are checked only when given). */
#define US(...) ((struct tseg){.wnd = 0xffff, __VA_ARGS__})

#define H_MAX_SENT 64

struct h_sent {
    uint8_t buf[1600];
    size_t len;
};

struct h {
    struct tern_stack *st;
    int64_t now;
    uint16_t our_port; /* dport of PEER() segments; US_PORT or LISTEN_PORT */
    struct h_sent sent[H_MAX_SENT];
    unsigned n_sent, next;
    unsigned events[256]; /* accumulated event bits per id (callback) */
    int last_err[256];
    const char *last_rule; /* of the last TCP state change */
    int last_old, last_new;
    unsigned n_state_events;
    enum tern_drop_reason last_drop;
};

static inline int
h_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct h *h = ctx;
    (void)netif;
    (void)next_hop;
    if (h->n_sent < H_MAX_SENT && len <= sizeof(h->sent[0].buf)) {
        memcpy(h->sent[h->n_sent].buf, pkt, len);
        h->sent[h->n_sent].len = len;
        h->n_sent++;
    }
    return 0;
}

static inline void
h_trace(void *ctx, const struct tern_trace_event *ev)
{
    struct h *h = ctx;
    if (ev->kind == TERN_TRACE_STATE) {
        h->last_rule = ev->rule;
        h->last_old = ev->old_state;
        h->last_new = ev->new_state;
        h->n_state_events++;
    } else if (ev->kind == TERN_TRACE_DROP) {
        h->last_drop = ev->drop;
    }
}

static inline void
h_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct h *h = ctx;
    (void)st;
    if (id > 0 && id < 256) {
        h->events[id] |= events;
        h->last_err[id] = err;
    }
}

/* Builds the stack; `tweak` may adjust the config (NULL: defaults). */
static inline void
h_init_cfg(struct h *h, void (*tweak)(struct tern_config *))
{
    memset(h, 0, sizeof(*h));
    h->now = 1000 * SEC;
    h->our_port = US_PORT;
    h->last_drop = TERN_DROP_COUNT;
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 42;
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = US_ADDR, .prefix_len = 24, .mtu = 1500, .transmit = h_transmit, .transmit_ctx = h};
    cfg.trace = h_trace;
    cfg.trace_ctx = h;
    /* The state tests check, segment by segment, the reaction RFC 9293
     * 3.10.7 describes ("send an acknowledgment"); the delayed ACK that
     * 3.8.6.3 lets a stack add is switched off here and tested on its own
     * in test_tcp_data*.c (which turn it back on through `tweak`). */
    cfg.tcp.delack_ns = -1;
    /* Memory enough that no window here is limited by the pool (buffers on
     * a small pool have tests of their own). */
    cfg.pool_bytes = 16u << 20;
    /* The buffers the state tests were written for (windows, shifts). */
    cfg.tcp.sndbuf = cfg.tcp.rcvbuf = 16 * 1024;
    /* The state tests count timer expiries on RFC 6298's own clock: its 2.4
     * minimum of 1 s, not tern's 200 ms default (rtt.h says why); the
     * default has its own test in test_tcp_rtt.c. */
    cfg.tcp.rto_min_ns = 1000000000LL;
    if (tweak != NULL) {
        tweak(&cfg);
    }
    if (tern_stack_new(&cfg, h->now, &h->st) != TERN_OK) {
        fprintf(stderr, "h_init: tern_stack_new failed\n");
        exit(2);
    }
    tern_tcp_set_callback(h->st, 0, h_event, h);
}

static inline void
h_init(struct h *h)
{
    h_init_cfg(h, NULL);
}

static inline void
h_fini(struct h *h)
{
    tern_stack_free(h->st);
    h->st = NULL;
}

/* Advances virtual time by dt_ns, polling at every deadline on the way as
 * an event loop would, so each timer runs at its own time. */
static inline void
h_advance(struct h *h, int64_t dt_ns)
{
    int64_t end = h->now + dt_ns;
    for (;;) {
        int64_t next = tern_stack_next_deadline(h->st);
        if (next > end) {
            break;
        }
        h->now = next > h->now ? next : h->now;
        tern_stack_poll(h->st, h->now);
    }
    h->now = end;
    tern_stack_poll(h->st, h->now);
}

/* Delivers a segment with the given IP addresses on interface `netif`,
 * carrying the options `o` (NULL: only the MSS of `s`, if any). */
static inline void
h_deliver_full(struct h *h, int netif, uint32_t src, uint32_t dst, struct tseg s,
               const struct wire_tcp_opts *o)
{
    uint8_t buf[1600];
    size_t text = s.data != NULL ? strlen(s.data) : 0;
    struct wire_tcp t = {
        .src_port = s.sport ? s.sport : PEER_PORT,
        .dst_port = s.dport ? s.dport : h->our_port,
        .seq = s.seq,
        .ack = s.ack,
        .flags = s.flags,
        .window = s.wnd,
        .urgent = s.up,
        .payload = (const uint8_t *)s.data,
        .payload_len = text,
    };
    if (o != NULL) {
        t.opts = *o;
    }
    if (s.mss != 0) {
        t.opts.has_mss = true;
        t.opts.mss = s.mss;
    }
    size_t n =
        wire_tcp_emit(&t, src, dst, buf + WIRE_IPV4_HDR_LEN, sizeof(buf) - WIRE_IPV4_HDR_LEN);
    struct wire_ipv4 ip = {.total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n),
                           .id = 1,
                           .ttl = 64,
                           .proto = WIRE_IPPROTO_TCP,
                           .src = src,
                           .dst = dst};
    wire_ipv4_emit(&ip, buf);
    tern_stack_input(h->st, netif, buf, WIRE_IPV4_HDR_LEN + n, h->now);
}

/* Delivers a segment with the given IP addresses on interface `netif`. */
static inline void
h_deliver_addr(struct h *h, int netif, uint32_t src, uint32_t dst, struct tseg s)
{
    h_deliver_full(h, netif, src, dst, s, NULL);
}

/* Peer options in short form, for h_deliver_opts. */
struct topts {
    bool ws, ts, sackp;
    uint8_t wscale;
    uint32_t ts_val, ts_ecr;
    unsigned n_sack;
    uint32_t sack[4][2];
};

/* Delivers a segment from the peer carrying the options `o` (and the MSS
 * of `s`, if any). */
static inline void
h_deliver_opts(struct h *h, struct tseg s, const struct topts *o)
{
    struct wire_tcp_opts w = {
        .has_wscale = o->ws,
        .wscale = o->wscale,
        .sack_permitted = o->sackp,
        .has_ts = o->ts,
        .ts_val = o->ts_val,
        .ts_ecr = o->ts_ecr,
        .sack_count = (uint8_t)o->n_sack,
    };
    for (unsigned i = 0; i < o->n_sack && i < 4; i++) {
        w.sack[i].left = o->sack[i][0];
        w.sack[i].right = o->sack[i][1];
    }
    h_deliver_full(h, 0, PEER_ADDR, US_ADDR, s, &w);
}

/* Delivers a segment from the peer. */
static inline void
h_deliver(struct h *h, struct tseg s)
{
    h_deliver_addr(h, 0, PEER_ADDR, US_ADDR, s);
}

/* Delivers an ICMP error from the peer quoting a segment we sent. */
static inline void
h_deliver_icmp(struct h *h, uint8_t type, uint8_t code, uint16_t our_port, uint32_t seq)
{
    uint8_t quote[28];
    struct wire_ipv4 qip = {
        .total_len = 40, .ttl = 64, .proto = WIRE_IPPROTO_TCP, .src = US_ADDR, .dst = PEER_ADDR};
    wire_ipv4_emit(&qip, quote);
    uint8_t *q = quote + 20;
    q[0] = (uint8_t)(our_port >> 8);
    q[1] = (uint8_t)our_port;
    q[2] = PEER_PORT >> 8;
    q[3] = PEER_PORT & 0xff;
    q[4] = (uint8_t)(seq >> 24);
    q[5] = (uint8_t)(seq >> 16);
    q[6] = (uint8_t)(seq >> 8);
    q[7] = (uint8_t)seq;
    uint8_t buf[100];
    struct wire_icmp ic = {
        .type = type, .code = code, .payload = quote, .payload_len = sizeof(quote)};
    size_t n = wire_icmp_emit_len(&ic);
    wire_icmp_emit(&ic, buf + 20);
    struct wire_ipv4 ip = {.total_len = (uint16_t)(20 + n),
                           .id = 2,
                           .ttl = 64,
                           .proto = WIRE_IPPROTO_ICMP,
                           .src = PEER_ADDR,
                           .dst = US_ADDR};
    wire_ipv4_emit(&ip, buf);
    tern_stack_input(h->st, 0, buf, 20 + n, h->now);
}

/* Parses the next segment we sent; false (and a failure) if there is none. */
static inline int
h_next_sent(struct h *h, struct wire_tcp *out, int line)
{
    if (h->next >= h->n_sent) {
        fprintf(stderr, "%s:%d: expected a segment, none was sent\n", __FILE__, line);
        check_st.failures++;
        return 0;
    }
    struct h_sent *s = &h->sent[h->next++];
    struct wire_ipv4 ip;
    if (wire_ipv4_parse(s->buf, s->len, &ip) != WIRE_OK || ip.proto != WIRE_IPPROTO_TCP ||
        wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, out) != WIRE_OK) {
        fprintf(stderr, "line %d: sent datagram is not a valid TCP segment\n", line);
        check_st.failures++;
        return 0;
    }
    return 1;
}

static inline void
h_flags_str(uint8_t f, char *out)
{
    out[0] = 0;
    static const char *const names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};
    for (int i = 0; i < 6; i++) {
        if (f & (1u << i)) {
            strcat(out, out[0] ? "," : "");
            strcat(out, names[i]);
        }
    }
}

/* Checks that the next segment we sent is exactly `e`: SEQ, CTL bits, ACK
 * (when ACK is set), text length (and bytes), MSS option; window and ports
 * when given. Returns the parsed segment. */
static inline struct wire_tcp
h_expect_sent(struct h *h, struct tseg e, int line)
{
    struct wire_tcp t;
    memset(&t, 0, sizeof(t));
    if (!h_next_sent(h, &t, line)) {
        return t;
    }
    size_t text = e.data != NULL ? strlen(e.data) : 0;
    bool ok = t.seq == e.seq && t.flags == e.flags && (!(e.flags & ACK) || t.ack == e.ack) &&
              t.payload_len == text && (e.data == NULL || !memcmp(t.payload, e.data, text)) &&
              (e.mss == 0 || (t.opts.has_mss && t.opts.mss == e.mss)) &&
              (e.wnd == 0xffff || t.window == e.wnd) && (e.sport == 0 || t.src_port == e.sport) &&
              (e.dport == 0 || t.dst_port == e.dport);
    if (!ok) {
        char fe[40], fg[40];
        h_flags_str(e.flags, fe);
        h_flags_str(t.flags, fg);
        fprintf(stderr,
                "%s:%d: expected <SEQ=%u><ACK=%u><CTL=%s> len %zu, sent <SEQ=%u><ACK=%u><CTL=%s> "
                "len %zu win %u\n",
                __FILE__, line, e.seq, e.ack, fe, text, t.seq, t.ack, fg, t.payload_len, t.window);
        check_st.failures++;
    }
    return t;
}

static inline void
h_expect_nothing(struct h *h, int line)
{
    if (h->next < h->n_sent) {
        struct wire_tcp t;
        h_next_sent(h, &t, line);
        char f[40];
        h_flags_str(t.flags, f);
        fprintf(stderr, "%s:%d: expected nothing, sent <SEQ=%u><ACK=%u><CTL=%s> len %zu\n",
                __FILE__, line, t.seq, t.ack, f, t.payload_len);
        check_st.failures++;
        h->next = h->n_sent;
    }
}

#define EXPECT_SENT(h, e) h_expect_sent((h), (e), __LINE__)
#define EXPECT_NOTHING(h) h_expect_nothing((h), __LINE__)

/* STATUS of connection `id` (zeroed, and a failure, when there is none). */
static inline struct tern_tcp_status
h_status(struct h *h, int id)
{
    struct tern_tcp_status s;
    memset(&s, 0, sizeof(s));
    CHECK_EQ(tern_tcp_status(h->st, id, &s), TERN_OK);
    return s;
}

static inline int
h_state(struct h *h, int id)
{
    struct tern_tcp_status s;
    if (tern_tcp_status(h->st, id, &s) != TERN_OK) {
        return -1;
    }
    return (int)s.state;
}

#define CHECK_STATE(h, id, s)                                                                      \
    CHECK_STR(tern_tcp_state_name(h_state((h), (id))), tern_tcp_state_name(s))

/* The state of the connection (our port, peer) whatever holds it (a
 * listener's child has no user id yet; TIME-WAIT and embryonic
 * connections live in compact records); -1 when none. */
static inline int
h_tuple_state(struct h *h, uint16_t our_port)
{
    struct tcp_tcb *t =
        tcp_hash_find(h->st, tern_ip4(US_ADDR), our_port, tern_ip4(PEER_ADDR), PEER_PORT);
    if (t != NULL) {
        return (int)t->state;
    }
    /* A compact record (src/tcp/mini.c): TIME-WAIT, or an embryonic
     * connection of a listener in SYN-RECEIVED. */
    struct tcp_mini *m =
        tcp_mini_find(h->st, tern_ip4(US_ADDR), our_port, tern_ip4(PEER_ADDR), PEER_PORT);
    if (m == NULL) {
        return -1;
    }
    return m->kind == TCP_MINI_TW ? TERN_TCP_TIME_WAIT : TERN_TCP_SYN_RECEIVED;
}

/* ---- fixtures: a connection brought into each state ---- */

/* A listener on LISTEN_PORT; PEER() segments now go to it. */
static inline int
h_listen(struct h *h, unsigned backlog)
{
    struct tern_tcp_open_args a = {.passive = true,
                                   .local_port = LISTEN_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS,
                                   .backlog = backlog};
    int id = tern_tcp_open(h->st, &a, h->now);
    CHECK(id > 0);
    h->our_port = LISTEN_PORT;
    return id;
}

/* Active OPEN from US_PORT with ISS 100; the SYN is checked. */
static inline int
h_syn_sent(struct h *h)
{
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h->st, &a, h->now);
    CHECK(id > 0);
    EXPECT_SENT(h, US(.seq = LOCAL_ISS, .flags = SYN, .mss = 1460));
    return id;
}

/* A fully specified passive OPEN on US_PORT that got the peer's SYN: the
 * connection itself is in SYN-RECEIVED (passive, MUST-11). */
static inline int
h_syn_received_passive(struct h *h)
{
    struct tern_tcp_open_args a = {.passive = true,
                                   .local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h->st, &a, h->now);
    CHECK(id > 0);
    h_deliver(h, PEER(.seq = REMOTE_ISS, .flags = SYN));
    EXPECT_SENT(h, US(.seq = LOCAL_ISS, .ack = REMOTE_ISS + 1, .flags = SYN | ACK));
    return id;
}

/* Simultaneous open: SYN-SENT, then the peer's SYN crosses ours. */
static inline int
h_syn_received_active(struct h *h)
{
    int id = h_syn_sent(h);
    h_deliver(h, PEER(.seq = REMOTE_ISS, .flags = SYN));
    EXPECT_SENT(h, US(.seq = LOCAL_ISS, .ack = REMOTE_ISS + 1, .flags = SYN | ACK));
    return id;
}

/* ESTABLISHED by an active OPEN: SND.NXT 101, RCV.NXT 301. */
static inline int
h_established(struct h *h)
{
    int id = h_syn_sent(h);
    h_deliver(h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK, .mss = 1460));
    EXPECT_SENT(h, US(.seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1, .flags = ACK));
    return id;
}

/* FIN-WAIT-1: established, we CLOSE: <SEQ=101><ACK=301><CTL=FIN,ACK> sent. */
static inline int
h_fin_wait_1(struct h *h)
{
    int id = h_established(h);
    CHECK_EQ(tern_tcp_close(h->st, id, h->now), TERN_OK);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = FIN | ACK));
    return id;
}

static inline int
h_fin_wait_2(struct h *h)
{
    int id = h_fin_wait_1(h);
    h_deliver(h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    return id;
}

/* CLOSING: our FIN and the peer's crossed (RFC 9293 Figure 13). */
static inline int
h_closing(struct h *h)
{
    int id = h_fin_wait_1(h);
    h_deliver(h, PEER(.seq = 301, .ack = 101, .flags = FIN | ACK));
    EXPECT_SENT(h, US(.seq = 102, .ack = 302, .flags = ACK));
    return id;
}

static inline int
h_time_wait(struct h *h)
{
    int id = h_fin_wait_2(h);
    h_deliver(h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(h, US(.seq = 102, .ack = 302, .flags = ACK));
    return id;
}

static inline int
h_close_wait(struct h *h)
{
    int id = h_established(h);
    h_deliver(h, PEER(.seq = 301, .ack = 101, .flags = FIN | ACK));
    EXPECT_SENT(h, US(.seq = 101, .ack = 302, .flags = ACK));
    return id;
}

static inline int
h_last_ack(struct h *h)
{
    int id = h_close_wait(h);
    CHECK_EQ(tern_tcp_close(h->st, id, h->now), TERN_OK);
    EXPECT_SENT(h, US(.seq = 101, .ack = 302, .flags = FIN | ACK));
    return id;
}

/* Brings a connection into `state` (any of the eleven); returns its id. */
static inline int
h_in_state(struct h *h, enum tern_tcp_state state)
{
    switch (state) {
    case TERN_TCP_LISTEN:
        return h_listen(h, 0);
    case TERN_TCP_SYN_SENT:
        return h_syn_sent(h);
    case TERN_TCP_SYN_RECEIVED:
        return h_syn_received_passive(h);
    case TERN_TCP_ESTABLISHED:
        return h_established(h);
    case TERN_TCP_FIN_WAIT_1:
        return h_fin_wait_1(h);
    case TERN_TCP_FIN_WAIT_2:
        return h_fin_wait_2(h);
    case TERN_TCP_CLOSE_WAIT:
        return h_close_wait(h);
    case TERN_TCP_CLOSING:
        return h_closing(h);
    case TERN_TCP_LAST_ACK:
        return h_last_ack(h);
    case TERN_TCP_TIME_WAIT:
        return h_time_wait(h);
    case TERN_TCP_CLOSED:
    case TERN_TCP_STATE_COUNT:
        break;
    }
    return 0;
}

#endif
