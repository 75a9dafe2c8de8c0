/*
 * tests/unit/test_tcp_quiet.c: nothing goes out that no rule asked for
 * (issue 11 item 12). Transfers in the simulator, both directions, on a
 * clean link; an observer watches every TCP segment on the wire and keeps,
 * for each host, its own account of what that host was sent (from the
 * arrivals, independent of the stack's state). Every segment a host emits
 * must be explained by that account:
 *
 *   - text: new text inside the window the peer announced; beyond it, a
 *     zero-window probe, only while the peer's window is zero and only
 *     after a persist interval of silence (RFC 9293 3.8.6.1); a
 *     retransmission never (the link loses nothing);
 *   - a segment without text (a "pure ACK"): one of
 *       a SYN or FIN arrived since the host last sent (3.10.7.3, 3.10.7.4
 *         eighth; RFC 5681 4.2: a FIN at once);
 *       a segment arrived that was not at RCV.NXT (out of order, or a
 *         duplicate or probe: RFC 5681 4.2, RFC 9293 3.10.7.4 first);
 *       its ACK moves past the text seen in order (a hole filled);
 *       two or more text segments arrived since the host last sent
 *         (RFC 5681 4.2, SHLD-19);
 *       one arrived and the host is in its quick-ACK phase (the first 16
 *         acknowledgments of a connection or after an idle second, the
 *         most the stack's rule allows);
 *       one arrived at least the delayed-ACK time (40 ms) earlier (the
 *         timer, SHLD-18), and never later than 500 ms (MUST-40);
 *       the right edge of the window moves by at least min(one segment,
 *         half the buffer) (a window update, RFC 9293 3.8.6.2.2);
 *   - no RST, no duplicate of a segment without cause.
 *
 * The cases: two-way bulk, one-way each direction, a request/response
 * exchange with pauses (quick ACKs, delayed ACKs, quick ACKs again after
 * idle), and a slow reader with a small buffer (window updates, zero
 * windows, probes).
 *
 * EVIDENCE: RFC 9293 3.8.6.3 SHLD-18 SHLD-19 MUST-40: every ACK the stack sends during transfers
 *   has a rule behind it; delayed ACKs within 500 ms
 * EVIDENCE: RFC 9293 3.10.7 MUST-58: no ACK beyond what the rules ask for (no stray duplicate
 *   ACK, window update or probe)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/tcp.h"

#define MS     1000000LL
#define SEC    1000000000LL
#define ADDR_A TERN_IPV4(192, 0, 2, 1)
#define ADDR_B TERN_IPV4(192, 0, 2, 2)
#define PORT_B 5001
#define CHUNK  8192u

#define DELACK_NS    (40 * MS)  /* the stack's default delayed-ACK time */
#define DELACK_MAX   (500 * MS) /* MUST-40 */
#define QUICK_MAX    16u        /* the most ACKs the quick-ACK phase sends */
#define IDLE_NS      (1 * SEC)  /* RTO lower bound: a pause longer restarts the phase */
#define PERSIST_MIN  (200 * MS) /* silence before a zero-window probe, at least */
#define MAX_UNEXPL   8          /* unexplained segments printed per case */
#define REQ_BYTES    100u
#define REPLY_BYTES  1000u
#define SLOW_READ_NS (5 * SEC) /* longer than the persist interval: probes go out */

struct qcase {
    const char *name;
    uint64_t a_bytes, b_bytes; /* bulk: what A and B send */
    unsigned rounds;           /* request/response: rounds (A asks, B answers) */
    int64_t think_ns;          /* request/response: pause between rounds (every other one) */
    uint32_t buf;              /* send and receive buffers */
    uint32_t slow_read;        /* B reads only this much every SLOW_READ_NS (0: all, at once) */
    uint64_t bandwidth_bps;
    int64_t bound_ns;
};

/* One host's side: its application and the observer's account. */
struct side {
    struct tern_stack *st;
    int conn;
    /* Application. */
    uint64_t to_send, sent, rcvd, want_rcvd; /* want_rcvd: what it expects in all */
    bool closed, eof;
    unsigned round;
    /* The account of what this host was sent (arrivals). */
    bool syn_seen;
    uint32_t nxt;          /* next sequence number expected in order */
    unsigned pending;      /* text segments in order since the host last sent */
    int64_t first_pending; /* when the first of them arrived */
    bool odd;              /* a segment not at nxt arrived since the host last sent */
    bool syn_fin;          /* a SYN or FIN arrived since the host last sent */
    int64_t last_text_ns;  /* when text last arrived; -1 */
    unsigned quick;        /* quick ACKs the account still allows */
    /* What this host sent. */
    unsigned shift; /* its window scale, from its SYN */
    bool sent_any;
    uint32_t last_ack; /* the ACK it last sent */
    uint32_t right;    /* right edge of the window it announced */
    uint32_t max_end;  /* highest SEQ + LEN it sent */
    int64_t last_tx_ns;
    int64_t fin_tx_ns; /* when it last sent its FIN */
    /* The window the peer announced to it. */
    uint32_t peer_right, peer_una;
};

struct run {
    const struct qcase *c;
    struct tern_sim *sim;
    struct side s[2]; /* A, B */
    int hosts[2];
    int listener;
    unsigned unexplained, pure_acks, probes, segs;
    uint64_t steps;
    uint8_t buf[CHUNK];
};

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool
after(uint32_t a, uint32_t b) /* a > b in sequence space */
{
    return (int32_t)(a - b) > 0;
}

/* The shift of a SYN's window scale option, 0 without one. */
static unsigned
syn_wscale(const uint8_t *t, size_t doff)
{
    size_t o = 20;
    while (o < doff && t[o] != 0) {
        if (t[o] == 1) {
            o++;
            continue;
        }
        if (o + 1 >= doff || t[o + 1] < 2) {
            break;
        }
        if (t[o] == 3 && t[o + 1] == 3 && o + 2 < doff) {
            return t[o + 2] > 14 ? 14 : t[o + 2];
        }
        o += t[o + 1];
    }
    return 0;
}

/* ---- the applications ---- */

static void
pump_send(struct run *r, struct side *s)
{
    int64_t now = tern_sim_now(r->sim);
    while (s->conn > 0 && s->sent < s->to_send) {
        uint64_t left = s->to_send - s->sent;
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        memset(r->buf, 'a' + (int)(s->sent % 26), n);
        int got = tern_tcp_send(s->st, s->conn, r->buf, n, now);
        if (got <= 0) {
            return;
        }
        s->sent += (uint64_t)got;
    }
}

static void next_round(void *ctx, struct tern_sim *sim);

/* Closes a side once it has sent all it will send and read all it
 * expects (request/response: A after the last reply, B at A's FIN). */
static void
maybe_close(struct run *r, struct side *s)
{
    bool done = s->sent == s->to_send && s->rcvd == s->want_rcvd;
    if (r->c->rounds > 0) {
        done = s == &r->s[0] ? done && s->round >= r->c->rounds : s->sent == s->to_send && s->eof;
    }
    if (s->conn > 0 && !s->closed && done) {
        s->closed = true;
        tern_tcp_close(s->st, s->conn, tern_sim_now(r->sim));
    }
}

static void
pump_recv(struct run *r, struct side *s, uint64_t budget)
{
    int64_t now = tern_sim_now(r->sim);
    while (s->conn > 0 && !s->eof && budget > 0) {
        size_t cap = budget < CHUNK ? (size_t)budget : CHUNK;
        int got = tern_tcp_recv(s->st, s->conn, r->buf, cap, now);
        if (got == TERN_ERR_CLOSING) {
            s->eof = true;
            break;
        }
        if (got <= 0) {
            break;
        }
        s->rcvd += (uint64_t)got;
        budget -= (uint64_t)got;
    }
    if (r->c->rounds > 0) {
        if (s == &r->s[1]) {
            /* B answers every complete request. */
            uint64_t asked = s->rcvd / REQ_BYTES;
            s->to_send = asked * REPLY_BYTES;
            pump_send(r, s);
        } else if (s->rcvd == s->want_rcvd && s->round < r->c->rounds && s->sent == s->to_send) {
            /* A got the whole reply: the next request, at once or after a pause. */
            int64_t pause = (s->round % 2 == 1) ? r->c->think_ns : 0;
            tern_sim_at(r->sim, now + pause, next_round, r);
        }
    }
    maybe_close(r, s);
}

static void
next_round(void *ctx, struct tern_sim *sim)
{
    (void)sim;
    struct run *r = ctx;
    struct side *a = &r->s[0];
    if (a->round >= r->c->rounds || a->sent != a->to_send || a->rcvd != a->want_rcvd) {
        return;
    }
    a->round++;
    a->to_send += REQ_BYTES;
    a->want_rcvd += REPLY_BYTES;
    pump_send(r, a);
}

static void
on_event(struct run *r, struct side *s, int id, unsigned events)
{
    if (id != s->conn) {
        return;
    }
    if (events & (TERN_TCP_EV_CONNECTED | TERN_TCP_EV_WRITABLE)) {
        if (r->c->rounds > 0 && s == &r->s[0] && (events & TERN_TCP_EV_CONNECTED)) {
            next_round(r, r->sim);
        }
        pump_send(r, s);
        maybe_close(r, s);
    }
    if ((events & (TERN_TCP_EV_READABLE | TERN_TCP_EV_PEER_FIN)) &&
        !(s == &r->s[1] && r->c->slow_read > 0)) {
        pump_recv(r, s, UINT64_MAX);
    }
}

static void
on_event_a(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    (void)st;
    (void)err;
    struct run *r = ctx;
    on_event(r, &r->s[0], id, events);
}

static void
on_event_b(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    (void)err;
    struct run *r = ctx;
    struct side *b = &r->s[1];
    if (id == r->listener && (events & TERN_TCP_EV_ACCEPT_READY) && b->conn == 0) {
        b->conn = tern_tcp_accept(st, r->listener, tern_sim_now(r->sim));
        if (b->conn > 0) {
            on_event(r, b, b->conn, tern_tcp_events(st, b->conn));
        }
        return;
    }
    on_event(r, b, id, events);
}

static void
slow_read(void *ctx, struct tern_sim *sim)
{
    struct run *r = ctx;
    struct side *b = &r->s[1];
    if (b->conn > 0) {
        pump_recv(r, b, r->c->slow_read);
    }
    if (!b->eof) {
        tern_sim_at(sim, tern_sim_now(sim) + SLOW_READ_NS, slow_read, r);
    }
}

/* ---- the account ---- */

static void
unexplained(struct run *r, int h, int64_t now, const char *what, uint32_t seq, uint32_t ack,
            uint32_t wnd, uint32_t len)
{
    const struct side *s = &r->s[h];
    if (r->unexplained++ < MAX_UNEXPL) {
        printf("    unexplained at %.6f s from %c: %s <SEQ=%u><ACK=%u><WND=%u> len %u "
               "(expected next %u, pending %u, odd %d, syn/fin %d, quick %u, right %u)\n",
               (double)now / 1e9, h == 0 ? 'A' : 'B', what, seq, ack, wnd, len, s->nxt, s->pending,
               s->odd, s->syn_fin, s->quick, s->right);
    }
}

/* Host h receives a segment. */
static void
account_arrival(struct side *s, int64_t now, uint8_t flags, uint32_t seq, uint32_t ack,
                uint32_t wnd, uint32_t text, unsigned peer_shift)
{
    bool syn = flags & 0x02, fin = flags & 0x01;
    if (flags & 0x10) {
        s->peer_una = ack;
        s->peer_right = ack + (syn ? wnd : wnd << peer_shift);
    }
    if (syn) {
        s->syn_seen = true;
        s->nxt = seq + 1;
        s->syn_fin = true;
        return;
    }
    if (!s->syn_seen || (text == 0 && !fin)) {
        return;
    }
    if (seq != s->nxt) {
        s->odd = true;
        if (after(seq, s->nxt) || !after(seq + text, s->nxt)) {
            return;
        }
        text -= s->nxt - seq; /* overlaps: the new part counts */
    }
    if (text > 0) {
        if (s->last_text_ns < 0 || now - s->last_text_ns > IDLE_NS) {
            s->quick = QUICK_MAX; /* a connection's first text, or after idle */
        }
        s->last_text_ns = now;
        if (s->pending++ == 0) {
            s->first_pending = now;
        }
    }
    s->nxt += text + (fin ? 1u : 0u);
    s->syn_fin |= fin;
}

/* Host h sends a segment: is it explained? */
static void
account_sent(struct run *r, int h, int64_t now, const uint8_t *t, size_t doff, uint32_t text)
{
    struct side *s = &r->s[h];
    uint8_t flags = t[13];
    uint32_t seq = be32(t + 4), ack = be32(t + 8);
    uint32_t wnd = (uint32_t)t[14] << 8 | t[15];
    r->segs++;
    if (flags & 0x04) {
        unexplained(r, h, now, "RST", seq, ack, wnd, text);
        return;
    }
    if (flags & 0x02) {
        s->shift = syn_wscale(t, doff);
        s->max_end = seq + 1;
        if (flags & 0x10) {
            s->right = ack + wnd;
            s->last_ack = ack;
            s->sent_any = true;
        }
        s->last_tx_ns = now;
        return;
    }
    uint32_t right = ack + (wnd << s->shift);
    uint32_t end = seq + text + ((flags & 0x01) ? 1u : 0u);
    if (text > 0) {
        if (after(end, s->peer_right)) {
            /* Beyond the window: a zero-window probe of one octet (sent
             * again while the window stays shut), by the persist timer. */
            r->probes++;
            bool zero = s->peer_right == s->peer_una;
            if (text != 1 || !zero || now - s->last_tx_ns < PERSIST_MIN) {
                unexplained(r, h, now, "text beyond the window", seq, ack, wnd, text);
            }
        } else if (!after(end, s->max_end)) {
            unexplained(r, h, now, "retransmission", seq, ack, wnd, text);
        }
    } else if (!(flags & 0x01)) {
        r->pure_acks++;
        /* A window update: the right edge moves by at least two segments
         * or half the buffer; or by min(one segment, half the buffer)
         * (RFC 9293 3.8.6.2.2) when the window announced was below that. */
        uint32_t half = r->c->buf / 2;
        uint32_t step = half < 1448u ? half : 1448u;
        uint32_t big = half < 2896u ? half : 2896u;
        uint32_t gain = s->sent_any && after(right, s->right) ? right - s->right : 0;
        uint32_t cur = s->sent_any && after(s->right, ack) ? s->right - ack : 0;
        bool update = gain >= big || (cur < step && gain >= step);
        bool delayed = s->pending >= 1 && now - s->first_pending >= DELACK_NS;
        bool explained = s->syn_fin || s->odd || after(ack, s->nxt) || s->pending >= 2 ||
                         (s->pending >= 1 && s->quick > 0) || delayed || update;
        if (!explained) {
            unexplained(r, h, now, "pure ACK", seq, ack, wnd, 0);
        }
        if (s->pending >= 1 && now - s->first_pending > DELACK_MAX) {
            unexplained(r, h, now, "ACK later than 500 ms (MUST-40)", seq, ack, wnd, 0);
        }
    } else if (!after(end, s->max_end) && !(s->syn_fin || s->odd) &&
               now - s->fin_tx_ns < PERSIST_MIN) {
        /* A FIN is resent by the retransmission timer (a FIN sent into a
         * zero window is one the peer could not take), never at once. */
        unexplained(r, h, now, "FIN retransmission", seq, ack, wnd, 0);
    }
    /* Every segment carries the ACK: the account starts over. */
    s->pending = 0;
    s->odd = s->syn_fin = false;
    if (after(ack, s->nxt)) {
        s->nxt = ack;
    }
    if (s->quick > 0) {
        s->quick--;
    }
    if (!s->sent_any || after(right, s->right)) {
        s->right = right;
    }
    s->sent_any = true;
    s->last_ack = ack;
    if (after(end, s->max_end)) {
        s->max_end = end;
    }
    s->last_tx_ns = now;
    if (flags & 0x01) {
        s->fin_tx_ns = now;
    }
}

static void
observe(void *ctx, const struct tern_sim_event *ev)
{
    struct run *r = ctx;
    const struct tern_sim_packet *p = &ev->pkt;
    if ((ev->kind != TERN_SIM_EV_SENT && ev->kind != TERN_SIM_EV_ARRIVED) || p->len < 40 ||
        p->data[9] != 6) {
        return;
    }
    size_t ihl = (size_t)(p->data[0] & 15) * 4;
    size_t tot = (size_t)p->data[2] << 8 | p->data[3];
    if (tot > p->len || ihl + 20 > tot) {
        return;
    }
    const uint8_t *t = p->data + ihl;
    size_t doff = (size_t)(t[12] >> 4) * 4;
    uint32_t text = doff <= tot - ihl ? (uint32_t)(tot - ihl - doff) : 0;
    int from = p->from_host == r->hosts[0] ? 0 : 1;
    if (ev->kind == TERN_SIM_EV_SENT) {
        account_sent(r, from, ev->now_ns, t, doff, text);
    } else {
        account_arrival(&r->s[1 - from], ev->now_ns, t[13], be32(t + 4), be32(t + 8),
                        (uint32_t)t[14] << 8 | t[15], text, r->s[from].shift);
    }
}

/* ---- running a case ---- */

static int
add_host(struct run *r, const char *name, uint32_t addr, int *host)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = addr;
    cfg.deterministic = true;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = addr, .prefix_len = 24, .mtu = 1500};
    cfg.tcp.sndbuf = r->c->buf;
    cfg.tcp.rcvbuf = r->c->buf;
    cfg.pool_bytes = 8 * (size_t)r->c->buf;
    return tern_sim_add_host(r->sim, name, &cfg, host);
}

static void
run_case(const struct qcase *c)
{
    static struct run run;
    struct run *r = &run;
    memset(r, 0, sizeof(*r));
    r->c = c;
    for (int i = 0; i < 2; i++) {
        r->s[i].last_text_ns = -1;
    }
    CHECK_EQ(tern_sim_new(7, &r->sim), TERN_OK);
    CHECK_EQ(add_host(r, "A", ADDR_A, &r->hosts[0]), TERN_OK);
    CHECK_EQ(add_host(r, "B", ADDR_B, &r->hosts[1]), TERN_OK);
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = 5 * MS;
    lp.bandwidth_bps = c->bandwidth_bps;
    int link;
    CHECK_EQ(tern_sim_link(r->sim, r->hosts[0], 0, r->hosts[1], 0, &lp, &lp, &link), TERN_OK);
    r->s[0].st = tern_sim_host_stack(r->sim, r->hosts[0]);
    r->s[1].st = tern_sim_host_stack(r->sim, r->hosts[1]);
    r->s[0].to_send = c->a_bytes;
    r->s[1].to_send = c->b_bytes;
    r->s[0].want_rcvd = c->rounds > 0 ? 0 : c->b_bytes;
    r->s[1].want_rcvd = c->rounds > 0 ? UINT64_MAX : c->a_bytes;
    tern_sim_set_observer(r->sim, observe, r);
    tern_tcp_set_callback(r->s[0].st, 0, on_event_a, r);
    tern_tcp_set_callback(r->s[1].st, 0, on_event_b, r);
    struct tern_tcp_open_args lst = {.passive = true, .local_port = PORT_B};
    r->listener = tern_tcp_open(r->s[1].st, &lst, 0);
    struct tern_tcp_open_args open = {.remote_addr = tern_ip4(ADDR_B), .remote_port = PORT_B};
    r->s[0].conn = tern_tcp_open(r->s[0].st, &open, 0);
    CHECK(r->listener > 0 && r->s[0].conn > 0);
    if (c->slow_read > 0) {
        tern_sim_at(r->sim, SLOW_READ_NS, slow_read, r);
    }
    bool done = false;
    while (r->steps++ < 20000000ULL) {
        int64_t next = tern_sim_next_event(r->sim);
        if (next == INT64_MAX || next > c->bound_ns) {
            break;
        }
        tern_sim_step(r->sim);
        struct tern_tcp_status sa, sb;
        if (r->s[1].conn > 0 && tern_tcp_status(r->s[0].st, r->s[0].conn, &sa) == TERN_OK &&
            tern_tcp_status(r->s[1].st, r->s[1].conn, &sb) == TERN_OK &&
            (sa.state == TERN_TCP_CLOSED || sa.state == TERN_TCP_TIME_WAIT) &&
            (sb.state == TERN_TCP_CLOSED || sb.state == TERN_TCP_TIME_WAIT)) {
            done = true;
            break;
        }
    }
    uint64_t want_b = c->rounds > 0 ? (uint64_t)c->rounds * REQ_BYTES : c->a_bytes;
    uint64_t want_a = c->rounds > 0 ? (uint64_t)c->rounds * REPLY_BYTES : c->b_bytes;
    printf("%-26s %7.3f s  A got %llu B got %llu  segments %u, pure ACKs %u, probes %u, "
           "unexplained %u\n",
           c->name, (double)tern_sim_now(r->sim) / 1e9, (unsigned long long)r->s[0].rcvd,
           (unsigned long long)r->s[1].rcvd, r->segs, r->pure_acks, r->probes, r->unexplained);
    if (!done) {
        struct tern_tcp_status sa = {0}, sb = {0};
        tern_tcp_status(r->s[0].st, r->s[0].conn, &sa);
        tern_tcp_status(r->s[1].st, r->s[1].conn, &sb);
        printf("    not done: A %s (closed %d eof %d), B %s (closed %d eof %d)\n",
               tern_tcp_state_name((int)sa.state), r->s[0].closed, r->s[0].eof,
               tern_tcp_state_name((int)sb.state), r->s[1].closed, r->s[1].eof);
    }
    CHECK(done);
    CHECK_EQ(r->s[0].rcvd, want_a);
    CHECK_EQ(r->s[1].rcvd, want_b);
    CHECK(r->pure_acks > 0); /* the account saw ACKs to judge */
    CHECK_EQ(r->unexplained, 0);
    if (c->slow_read > 0) {
        CHECK(r->probes > 0); /* the case reached a zero window */
    }
    tern_sim_free(r->sim);
}

static const struct qcase cases[] = {
    {"two-way bulk", 2u << 20, 2u << 20, 0, 0, 256u * 1024u, 0, 20000000ULL, 60 * SEC},
    {"one-way A to B", 2u << 20, 0, 0, 0, 256u * 1024u, 0, 20000000ULL, 60 * SEC},
    {"one-way B to A", 0, 2u << 20, 0, 0, 256u * 1024u, 0, 20000000ULL, 60 * SEC},
    {"request/response", 0, 0, 40, 1500 * MS, 64u * 1024u, 0, 20000000ULL, 120 * SEC},
    {"slow reader, small buffer", 32u * 1024u, 0, 0, 0, 8u * 1024u, 4096, 0, 120 * SEC},
};

static void
test_every_segment_explained(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}

int
main(void)
{
    RUN(test_every_segment_explained);
    return CHECK_DONE();
}
