/*
 * tests/unit/test_tcp_bulk.c: the impairment matrix (docs/design.md "Testing
 * pyramid"; issue 4, first "Done when" point). Bulk transfers in the
 * simulator, in virtual time, under loss, duplication, reordering,
 * corruption, delay with jitter, a bandwidth limit with a shallow queue and
 * a slowly reading peer.
 *
 * Two hosts, one link. Host A (192.0.2.1) opens a connection to B
 * (192.0.2.2) and streams a deterministic pseudo-random byte stream (byte i
 * is a pure function of the case's seed and i), then CLOSEs. B reads,
 * checks every byte against the stream at its offset, and CLOSEs once
 * RECEIVE reports the end of the stream. Both sides hash what they handed
 * over / got (64-bit FNV-1a). A case passes when:
 *   - B's byte count and hash equal A's (no byte lost, duplicated,
 *     reordered or corrupted on its way to the user);
 *   - neither connection was reset or failed (tern_tcp_error() == 0, no
 *     TERN_TCP_EV_ERROR, no valid RST received);
 *   - both ends reach CLOSED or TIME-WAIT;
 *   - all of it within the case's virtual-time bound;
 *   - the impairment really happened (the link's counters say so), and no
 *     event was missed (see the pump below);
 *   - no datagram was fragmented: segments fit the MTU with their options
 *     (RFC 9293 3.7.1, MUST-16; RFC 6691);
 *   - corruption: every corrupted datagram was discarded by a checksum or
 *     header check (none reached TCP's state machine as valid).
 *
 * Only the public API is used: tern/sim.h for the network, tern/tcp.h for
 * the connection, tern_stack_stats() for counters. Retransmissions are
 * counted twice: on the wire (the observer sees every data segment A puts
 * on the link; one that starts below the highest sequence number sent so
 * far is a retransmission) and by the stack (STATUS total_retransmits);
 * the loss recoveries entered (stats.tcp.fast_retransmits) are printed too.
 *
 * Each case prints one line: bytes received, virtual time until both ends
 * were closed, goodput (bytes received over the time until the last one
 * was read) against the link's capacity, retransmissions, the windows
 * below one segment (and those of zero) that B advertised, and the buffer
 * size; then a line of checks.
 *
 * Sizes: every case moves BULK_MIB MiB (10 by default: "at least 10 MB"),
 * except the 20 % loss case, which moves BULK_SMALL_MIB MiB (1): at 20 %
 * loss each way a TCP with a 1 s minimum RTO (RFC 6298 2.4) spends most of
 * its time in retransmission timeouts, and 10 MiB would take tens of
 * minutes of virtual time. Both may be set with -D at build time. Wall
 * time of the whole program, measured: about 4 s plain and 10 s under
 * ASan+UBSan, so both builds use the same sizes.
 *
 * The link: 50 Mbit/s, 5 ms each way (RTT 10 ms, BDP 62.5 kB) unless the
 * case says otherwise, impairments applied to both directions (data and
 * ACKs). Buffers: 256 KiB each way when the stack accepts it (window
 * scaling, RFC 7323), else 65535 bytes (the largest unscaled window); the
 * line printed per case says which. Every case uses the stack's default
 * options (SACK, timestamps, window scaling) except two 1 % loss variants:
 * one without SACK, one without any of them.
 *
 * EVIDENCE: RFC 9293 3.10.7.4 seventh: text delivered in order, once, SHLD-31
 * EVIDENCE: RFC 9293 3.1 MUST-2 MUST-3: checksums catch every corrupted datagram
 * EVIDENCE: RFC 9293 3.7.1 MUST-16: effective send MSS, segments fit the MTU
 * EVIDENCE: RFC 9293 3.8.1 MUST-18 MUST-19: Karn, backoff, slow start, avoidance
 * EVIDENCE: RFC 9293 3.8.6.1 MUST-36 MUST-37 SHLD-29 SHLD-30: zero-window probing
 * EVIDENCE: RFC 9293 3.8.6.2 MUST-38 MUST-39: silly window syndrome avoidance
 * EVIDENCE: RFC 6298 2, 5: retransmission timer; RFC 5681 3.1, 3.2: congestion
 *           control, fast retransmit; RFC 6582 NewReno; RFC 2018, RFC 6675 SACK;
 *           RFC 7323 window scaling
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stream.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/tcp.h"

#ifndef BULK_MIB
#define BULK_MIB 10
#endif
#ifndef BULK_SMALL_MIB
#define BULK_SMALL_MIB 1
#endif

#define MIB    (1024ULL * 1024ULL)
#define MS     1000000LL
#define SEC    1000000000LL
#define ADDR_A TERN_IPV4(192, 0, 2, 1)
#define ADDR_B TERN_IPV4(192, 0, 2, 2)
#define PORT_B 5001

#define BIG_BUF     (256u * 1024u) /* buffers when window scaling is there */
#define PLAIN_BUF   65535u         /* else: the largest unscaled window */
#define PUMP_NS     (50 * MS)      /* the missed-event detector's period */
#define MAX_STEPS   50000000ULL    /* a runaway bound on simulator events per case */
#define CHUNK_BYTES 16384u         /* per SEND / RECEIVE call */
#define SHUT_WND    1448u          /* a window that no longer takes a full segment */

/* What the case's link counters must show, so that the case cannot pass
 * without the impairment it is about. */
enum must_see { SEE_NOTHING, SEE_LOSS, SEE_DUP, SEE_REORDER, SEE_CORRUPT, SEE_QUEUE, SEE_SHUT_WND };

struct bulk_case {
    const char *name;
    struct tern_link_params link; /* both directions */
    uint64_t bytes;
    int64_t bound_ns;       /* everything done (both closed) by then */
    int64_t read_every_ns;  /* slow reader: RECEIVE only this often; 0: as data comes */
    uint32_t read_chunk;    /* slow reader: bytes per RECEIVE */
    uint64_t seed;          /* simulation seed, also the stream's */
    enum must_see must_see; /* what must have happened on the link */
    enum must_see also_see;
    bool no_sack;      /* both ends: no SACK, so NewReno recovery (RFC 6582) */
    bool no_options;   /* both ends: no SACK, timestamps or window scaling */
    bool rfc6675;      /* both ends: RFC 6675 loss detection, not RACK (cfg.tcp.loss_detection) */
    bool few_spurious; /* spurious retransmissions below 1 % of the data segments sent */
};

/* A retransmission on the wire, for the spurious count: the packet, what it
 * carried, and how many copies of it reached B. */
struct rtx_pkt {
    uint64_t id;
    uint32_t off, len; /* stream offset of its first byte, bytes */
    uint32_t arrived;
};

/* ---- One run ------------------------------------------------------------ */

struct run {
    const struct bulk_case *c;
    struct tern_sim *sim;
    struct tern_stack *sa, *sb; /* stacks of A and B */
    int a, b;                   /* host ids */
    int link;
    int conn_a, listener_b, conn_b; /* connection ids (0: none yet) */
    uint32_t buf_size;

    /* Sender. */
    uint64_t sent; /* bytes SEND accepted */
    uint64_t hash_a;
    bool closed_a; /* CLOSE called */
    /* Receiver. */
    uint64_t rcvd;
    uint64_t hash_b;
    uint64_t first_bad; /* offset of the first byte not equal to the stream; UINT64_MAX */
    bool eof_b, closed_b;
    int64_t eof_ns;  /* when B read the end of the stream */
    int64_t done_ns; /* when both were CLOSED or TIME-WAIT; -1 */
    /* Errors seen by the callbacks. */
    unsigned ev_a, ev_b; /* accumulated event bits */
    int err_a, err_b;    /* non-zero error reported with an event, or by a call */
    unsigned missed;     /* times the pump found work a callback should have done */

    /* The wire, as the observer sees it. */
    bool have_seq;
    uint32_t max_end; /* highest SEQ + len of text A sent */
    uint64_t data_segs, rtx_segs, rtx_bytes;
    uint32_t isn;        /* A's ISN: stream offset 0 is isn + 1 */
    uint8_t *copies;     /* per stream byte: copies that reached B (saturating) */
    struct rtx_pkt *rtx; /* A's retransmissions, in sending order (ids increase) */
    size_t n_rtx, cap_rtx;
    uint64_t zero_wnd; /* segments B sent advertising a zero window */
    uint64_t shut_wnd; /* ... a window below one full segment (zero included) */
    unsigned b_shift;  /* B's window scale (RFC 7323 2.3), from its SYN */
    uint64_t steps;

    uint8_t buf[CHUNK_BYTES], want[CHUNK_BYTES];
};

static bool
final_state(enum tern_tcp_state s)
{
    return s == TERN_TCP_CLOSED || s == TERN_TCP_TIME_WAIT;
}

static void
note_err(int *slot, int err)
{
    if (err != 0 && *slot == 0) {
        *slot = err;
    }
}

/* Queues as much of the stream as A's send ring takes; CLOSE after all. */
static void
pump_send(struct run *r)
{
    int64_t now = tern_sim_now(r->sim);
    while (r->sent < r->c->bytes) {
        uint64_t left = r->c->bytes - r->sent;
        size_t n = left < CHUNK_BYTES ? (size_t)left : CHUNK_BYTES;
        stream_fill(r->c->seed, r->sent, r->buf, n);
        int got = tern_tcp_send(r->sa, r->conn_a, r->buf, n, now);
        if (got < 0) {
            note_err(&r->err_a, got);
            return;
        }
        r->hash_a = fnv1a(r->hash_a, r->buf, (size_t)got);
        r->sent += (uint64_t)got;
        if ((size_t)got < n) {
            return; /* the ring is full: WRITABLE will call again */
        }
    }
    if (!r->closed_a) {
        r->closed_a = true;
        note_err(&r->err_a, tern_tcp_close(r->sa, r->conn_a, now));
    }
}

/* Takes what RECEIVE gives (at most `budget` bytes), checking it against
 * the stream; at the end of the stream, CLOSE. */
static void
pump_recv(struct run *r, uint64_t budget)
{
    int64_t now = tern_sim_now(r->sim);
    while (!r->eof_b && budget > 0) {
        size_t cap = budget < CHUNK_BYTES ? (size_t)budget : CHUNK_BYTES;
        int got = tern_tcp_recv(r->sb, r->conn_b, r->buf, cap, now);
        if (got == TERN_ERR_AGAIN) {
            return;
        }
        if (got == TERN_ERR_CLOSING) {
            r->eof_b = true;
            r->eof_ns = now;
            break;
        }
        if (got < 0) {
            note_err(&r->err_b, got);
            return;
        }
        stream_fill(r->c->seed, r->rcvd, r->want, (size_t)got);
        if (r->first_bad == UINT64_MAX && memcmp(r->buf, r->want, (size_t)got) != 0) {
            size_t i = 0;
            while (r->buf[i] == r->want[i]) {
                i++;
            }
            r->first_bad = r->rcvd + i;
        }
        r->hash_b = fnv1a(r->hash_b, r->buf, (size_t)got);
        r->rcvd += (uint64_t)got;
        budget -= (uint64_t)got;
    }
    if (r->eof_b && !r->closed_b) {
        r->closed_b = true;
        note_err(&r->err_b, tern_tcp_close(r->sb, r->conn_b, now));
    }
}

static void
on_event_a(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct run *r = ctx;
    (void)st;
    if (id != r->conn_a) {
        return;
    }
    r->ev_a |= events;
    note_err(&r->err_a, err);
    if (events & (TERN_TCP_EV_CONNECTED | TERN_TCP_EV_WRITABLE)) {
        pump_send(r);
    }
}

static void
on_event_b(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct run *r = ctx;
    int64_t now = tern_sim_now(r->sim);
    if (id == r->listener_b && (events & TERN_TCP_EV_ACCEPT_READY) && r->conn_b == 0) {
        int child = tern_tcp_accept(st, r->listener_b, now);
        if (child > 0) {
            r->conn_b = child;
            r->ev_b |= tern_tcp_events(st, child);
            if (r->c->read_every_ns == 0) {
                pump_recv(r, UINT64_MAX);
            }
        }
        return;
    }
    if (id != r->conn_b || id == 0) {
        return;
    }
    r->ev_b |= events;
    note_err(&r->err_b, err);
    if ((events & TERN_TCP_EV_READABLE) && r->c->read_every_ns == 0) {
        pump_recv(r, UINT64_MAX);
    }
}

/* The slow reader: RECEIVE read_chunk bytes every read_every_ns. */
static void
slow_read(void *ctx, struct tern_sim *sim)
{
    struct run *r = ctx;
    if (r->conn_b > 0) {
        pump_recv(r, r->c->read_chunk);
    }
    if (!r->eof_b) {
        tern_sim_at(sim, tern_sim_now(sim) + r->c->read_every_ns, slow_read, r);
    }
}

/* The missed-event detector. The callbacks fill A's send ring until it is
 * full and drain B's receive buffer until it is empty, so when the pump
 * finds A writable with stream left, or B readable (normal reader), an
 * event was not delivered. It counts that and does the work, so that one
 * lost event shows as a count, not as a stalled transfer. */
static void
pump_tick(void *ctx, struct tern_sim *sim)
{
    struct run *r = ctx;
    if (r->conn_a > 0 && r->sent < r->c->bytes && r->err_a == 0 &&
        (tern_tcp_events(r->sa, r->conn_a) & TERN_TCP_EV_WRITABLE)) {
        struct tern_tcp_status s;
        tern_tcp_status(r->sa, r->conn_a, &s);
        if (s.send_queued < r->buf_size) {
            r->missed++;
            pump_send(r);
        }
    }
    if (r->conn_b > 0 && r->c->read_every_ns == 0 && !r->eof_b && r->err_b == 0 &&
        (tern_tcp_events(r->sb, r->conn_b) & TERN_TCP_EV_READABLE)) {
        r->missed++;
        pump_recv(r, UINT64_MAX);
    }
    if (r->done_ns < 0) {
        tern_sim_at(sim, tern_sim_now(sim) + PUMP_NS, pump_tick, r);
    }
}

/* ---- The observer: retransmissions and zero windows on the wire ---------- */

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The shift of a SYN's window scale option (kind 3), 0 without one. */
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

/* The text of a TCP packet from A: its stream offset and length. False
 * when the packet is not one (or is a fragment, or the SYN not seen). */
static bool
a_text(const struct run *r, const struct tern_sim_packet *p, uint32_t *off, uint32_t *len)
{
    if (p->from_host != r->a || !r->have_seq || p->len < 20 || p->data[9] != 6) {
        return false;
    }
    size_t ihl = (size_t)(p->data[0] & 15) * 4;
    size_t tot = (size_t)p->data[2] << 8 | p->data[3];
    if (tot > p->len || ihl + 20 > tot || (p->data[6] & 0x3f) != 0 || p->data[7] != 0) {
        return false;
    }
    const uint8_t *t = p->data + ihl;
    size_t doff = (size_t)(t[12] >> 4) * 4;
    if ((t[13] & 0x02) || doff >= tot - ihl) {
        return false;
    }
    *off = be32(t + 4) - r->isn - 1;
    *len = (uint32_t)(tot - ihl - doff);
    return true;
}

static void
note_rtx(struct run *r, uint64_t id, uint32_t off, uint32_t len)
{
    if (r->n_rtx == r->cap_rtx) {
        size_t cap = r->cap_rtx ? 2 * r->cap_rtx : 1024;
        struct rtx_pkt *n = realloc(r->rtx, cap * sizeof(*n));
        CHECK(n != NULL);
        if (n == NULL) {
            return;
        }
        r->rtx = n;
        r->cap_rtx = cap;
    }
    r->rtx[r->n_rtx++] = (struct rtx_pkt){.id = id, .off = off, .len = len};
}

/* A packet reached B: counts the copies of each byte it carries, and of
 * the packet itself when it is a retransmission (a link duplicate counts
 * for the packet it copies). Corrupted packets carry nothing: B drops
 * them. */
static void
arrived(struct run *r, const struct tern_sim_packet *p)
{
    uint32_t off, len;
    if (p->corrupted || r->copies == NULL || !a_text(r, p, &off, &len)) {
        return;
    }
    for (uint32_t i = 0; i < len; i++) {
        uint64_t k = (uint64_t)off + i;
        if (k < r->c->bytes && r->copies[k] < UINT8_MAX) {
            r->copies[k]++;
        }
    }
    size_t lo = 0, hi = r->n_rtx;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->rtx[mid].id < p->orig_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < r->n_rtx && r->rtx[lo].id == p->orig_id) {
        r->rtx[lo].arrived++;
    }
}

/* RFC 3708 1: a retransmission is spurious when the data it carries
 * reached the receiver anyway. Counted from what B got, whatever the
 * sender believes: every byte of the packet reached B in some other packet
 * (an earlier or later copy, the original included). */
static uint64_t
spurious_rtx(const struct run *r)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->n_rtx; i++) {
        const struct rtx_pkt *x = &r->rtx[i];
        bool all = x->len > 0;
        for (uint32_t j = 0; j < x->len && all; j++) {
            uint64_t k = (uint64_t)x->off + j;
            all = k < r->c->bytes && r->copies[k] > x->arrived;
        }
        n += all ? 1 : 0;
    }
    return n;
}

static void
observe(void *ctx, const struct tern_sim_event *ev)
{
    struct run *r = ctx;
    const struct tern_sim_packet *p = &ev->pkt;
    if (ev->kind == TERN_SIM_EV_ARRIVED) {
        arrived(r, p);
        return;
    }
    if (ev->kind != TERN_SIM_EV_SENT || p->len < 20 || p->data[9] != 6) {
        return;
    }
    size_t ihl = (size_t)(p->data[0] & 15) * 4;
    size_t tot = (size_t)p->data[2] << 8 | p->data[3];
    bool fragment = (p->data[6] & 0x3f) != 0 || p->data[7] != 0; /* MF or an offset */
    if (tot > p->len || ihl + 20 > tot || fragment) {
        return; /* fragments are counted by the stacks (ip.tx_fragmented) */
    }
    const uint8_t *t = p->data + ihl;
    size_t doff = (size_t)(t[12] >> 4) * 4;
    uint8_t flags = t[13];
    uint32_t seq = be32(t + 4);
    uint32_t text = doff <= tot - ihl ? (uint32_t)(tot - ihl - doff) : 0;
    if (p->from_host == r->a) {
        if (flags & 0x02) { /* SYN: the text starts after it */
            r->have_seq = true;
            r->max_end = seq + 1;
            r->isn = seq;
            return;
        }
        if (text == 0 || !r->have_seq) {
            return;
        }
        r->data_segs++;
        uint32_t end = seq + text;
        if ((int32_t)(seq - r->max_end) < 0) {
            r->rtx_segs++;
            r->rtx_bytes += text;
            note_rtx(r, p->id, seq - r->isn - 1, text);
        }
        if ((int32_t)(end - r->max_end) > 0) {
            r->max_end = end;
        }
    } else if (p->from_host == r->b && (flags & 0x02)) {
        r->b_shift = syn_wscale(t, doff);
    } else if (p->from_host == r->b && (flags & 0x10) && !(flags & 0x05)) {
        uint32_t wnd = ((uint32_t)t[14] << 8 | t[15]) << r->b_shift;
        r->zero_wnd += wnd == 0 ? 1 : 0;
        r->shut_wnd += wnd < SHUT_WND ? 1 : 0;
    }
}

/* ---- Setting up and running a case ----------------------------------- */

static int
add_host(struct run *r, const char *name, uint32_t addr, uint32_t bufsz, int *host)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = r->c->seed * 2 + (addr & 1);
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = addr, .prefix_len = 24, .mtu = 1500};
    cfg.tcp.sndbuf = bufsz;
    cfg.tcp.rcvbuf = bufsz;
    cfg.pool_bytes = 4 * (size_t)bufsz; /* room for both buffers at full size */
    cfg.tcp.no_sack = r->c->no_sack || r->c->no_options;
    cfg.tcp.no_timestamps = r->c->no_options;
    cfg.tcp.no_wscale = r->c->no_options;
    cfg.tcp.loss_detection = r->c->rfc6675 ? TERN_TCP_LOSS_RFC6675 : TERN_TCP_LOSS_RACK;
    return tern_sim_add_host(r->sim, name, &cfg, host);
}

/* Builds the network: the largest buffers the stack takes, the link, the
 * listener on B and the OPEN on A. Returns false if anything failed. */
static bool
setup(struct run *r, const struct bulk_case *c)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->hash_a = r->hash_b = FNV_OFFSET;
    r->first_bad = UINT64_MAX;
    r->eof_ns = r->done_ns = -1;
    r->copies = calloc(c->bytes, 1);
    CHECK(r->copies != NULL);
    if (r->copies == NULL || tern_sim_new(c->seed, &r->sim) != TERN_OK) {
        return false;
    }
    r->buf_size = c->no_options ? PLAIN_BUF : BIG_BUF;
    if (add_host(r, "A", ADDR_A, r->buf_size, &r->a) != TERN_OK) {
        r->buf_size = PLAIN_BUF; /* no window scaling: stay within 65535 */
        CHECK_EQ(add_host(r, "A", ADDR_A, r->buf_size, &r->a), TERN_OK);
    }
    CHECK_EQ(add_host(r, "B", ADDR_B, r->buf_size, &r->b), TERN_OK);
    CHECK_EQ(tern_sim_link(r->sim, r->a, 0, r->b, 0, &c->link, &c->link, &r->link), TERN_OK);
    r->sa = tern_sim_host_stack(r->sim, r->a);
    r->sb = tern_sim_host_stack(r->sim, r->b);
    if (r->sa == NULL || r->sb == NULL) {
        return false;
    }
    tern_sim_set_observer(r->sim, observe, r);
    tern_tcp_set_callback(r->sa, 0, on_event_a, r);
    tern_tcp_set_callback(r->sb, 0, on_event_b, r);
    struct tern_tcp_open_args lst = {.passive = true, .local_port = PORT_B};
    r->listener_b = tern_tcp_open(r->sb, &lst, 0);
    struct tern_tcp_open_args open = {.remote_addr = tern_ip4(ADDR_B), .remote_port = PORT_B};
    r->conn_a = tern_tcp_open(r->sa, &open, 0);
    CHECK(r->listener_b > 0);
    CHECK(r->conn_a > 0);
    if (r->listener_b <= 0 || r->conn_a <= 0) {
        return false;
    }
    tern_sim_at(r->sim, PUMP_NS, pump_tick, r);
    if (c->read_every_ns > 0) {
        tern_sim_at(r->sim, c->read_every_ns, slow_read, r);
    }
    return true;
}

/* Runs events until both ends are CLOSED or TIME-WAIT, an error, the
 * virtual-time bound or the step bound. */
static void
run_case(struct run *r)
{
    struct tern_tcp_status sa, sb;
    while (r->steps < MAX_STEPS) {
        int64_t next = tern_sim_next_event(r->sim);
        if (next == INT64_MAX || next > r->c->bound_ns) {
            break;
        }
        tern_sim_step(r->sim);
        r->steps++;
        if (!r->closed_b || tern_tcp_status(r->sa, r->conn_a, &sa) != TERN_OK ||
            tern_tcp_status(r->sb, r->conn_b, &sb) != TERN_OK) {
            if (r->err_a != 0 || r->err_b != 0) {
                break;
            }
            continue;
        }
        if (final_state(sa.state) && final_state(sb.state)) {
            r->done_ns = tern_sim_now(r->sim);
            break;
        }
    }
}

/* ---- Checking and reporting ---------------------------------------------- */

static uint64_t
link_count(const struct run *r, enum must_see what)
{
    struct tern_sim_link_stats s[2];
    tern_sim_link_stats(r->sim, r->link, 0, &s[0]);
    tern_sim_link_stats(r->sim, r->link, 1, &s[1]);
    switch (what) {
    case SEE_NOTHING:
        return 1;
    case SEE_LOSS:
        return s[0].lost_random + s[1].lost_random;
    case SEE_DUP:
        return s[0].duplicated + s[1].duplicated;
    case SEE_REORDER:
        return s[0].reordered + s[1].reordered;
    case SEE_CORRUPT:
        return s[0].corrupted + s[1].corrupted;
    case SEE_QUEUE:
        return s[0].lost_queue + s[1].lost_queue;
    case SEE_SHUT_WND:
        return r->shut_wnd;
    }
    return 0;
}

/* Datagrams a stack discarded because a header or checksum check failed:
 * where a flipped bit must end. */
static uint64_t
damaged_drops(const struct tern_stack *st)
{
    const struct tern_stats *s = tern_stack_stats(st);
    return s->drops[TERN_DROP_IP_TRUNCATED] + s->drops[TERN_DROP_IP_VERSION] +
           s->drops[TERN_DROP_IP_HLEN] + s->drops[TERN_DROP_IP_TOTLEN] +
           s->drops[TERN_DROP_IP_CHECKSUM] + s->drops[TERN_DROP_IP_OPTION] +
           s->drops[TERN_DROP_TCP_TRUNCATED] + s->drops[TERN_DROP_TCP_DOFF] +
           s->drops[TERN_DROP_TCP_CHECKSUM] + s->drops[TERN_DROP_TCP_OPTION];
}

static double
link_mbps(const struct bulk_case *c)
{
    return (double)c->link.bandwidth_bps / 1e6;
}

static void
report(const struct run *r)
{
    const struct bulk_case *c = r->c;
    const struct tern_stats *st = tern_stack_stats(r->sa);
    struct tern_tcp_status sa = {0};
    tern_tcp_status(r->sa, r->conn_a, &sa);
    int64_t t_data = r->eof_ns > 0 ? r->eof_ns : tern_sim_now(r->sim);
    int64_t t_all = r->done_ns >= 0 ? r->done_ns : tern_sim_now(r->sim);
    double mbps = (double)r->rcvd * 8.0 / ((double)t_data / 1e9) / 1e6;
    printf("%-22s %9llu B %8.3f s  goodput %6.2f Mbit/s = %5.1f%% of %g  retransmitted %llu seg "
           "(wire) %llu (STATUS), %llu recoveries  windows <1 seg %llu, zero %llu  buf %u\n",
           c->name, (unsigned long long)r->rcvd, (double)t_all / 1e9, mbps,
           100.0 * mbps / link_mbps(c), link_mbps(c), (unsigned long long)r->rtx_segs,
           (unsigned long long)sa.total_retransmits, (unsigned long long)st->tcp.fast_retransmits,
           (unsigned long long)r->shut_wnd, (unsigned long long)r->zero_wnd, r->buf_size);
    /* RFC 2883 / RFC 3708: duplicates the receiver reported, and what the
     * sender made of them. */
    uint64_t sp = spurious_rtx(r);
    printf("    D-SACK: B sent %llu, A got %llu; spurious retransmissions %llu (A's count), "
           "undos %llu\n",
           (unsigned long long)tern_stack_stats(r->sb)->tcp.dsacks_tx,
           (unsigned long long)st->tcp.dsacks_rx, (unsigned long long)st->tcp.spurious_rtx,
           (unsigned long long)st->tcp.undos);
    printf("    RTO expiries %llu, loss probes %llu, final cwnd %u\n",
           (unsigned long long)st->tcp.rto_expiries, (unsigned long long)st->tcp.tlp_timeouts,
           sa.cwnd);
    printf("    retransmissions %llu of %llu data segments, spurious (B got the bytes anyway) %llu "
           "= %.2f%%\n",
           (unsigned long long)r->rtx_segs, (unsigned long long)r->data_segs,
           (unsigned long long)sp, r->data_segs ? 100.0 * (double)sp / (double)r->data_segs : 0.0);
}

static void
check_case(struct run *r)
{
    const struct bulk_case *c = r->c;
    struct tern_tcp_status sa = {0}, sb = {0};
    tern_tcp_status(r->sa, r->conn_a, &sa);
    int st_b = r->conn_b > 0 && tern_tcp_status(r->sb, r->conn_b, &sb) == TERN_OK;
    bool bytes_ok = r->sent == c->bytes && r->rcvd == c->bytes && r->first_bad == UINT64_MAX;
    bool hash_ok = r->hash_a == r->hash_b;
    int err_a = tern_tcp_error(r->sa, r->conn_a);
    int err_b = r->conn_b > 0 ? tern_tcp_error(r->sb, r->conn_b) : TERN_ERR_NOTCONN;
    uint64_t resets =
        tern_stack_stats(r->sa)->tcp.resets_rx + tern_stack_stats(r->sb)->tcp.resets_rx;
    uint64_t frags =
        tern_stack_stats(r->sa)->ip.tx_fragmented + tern_stack_stats(r->sb)->ip.tx_fragmented;
    bool states_ok = r->done_ns >= 0;
    uint64_t seen = link_count(r, c->must_see) * (c->also_see ? link_count(r, c->also_see) : 1);
    printf("    checks: bytes %s (sent %llu, received %llu%s), hash %s (%016llx / %016llx), "
           "errors %d/%d, resets %llu, fragmented %llu, states %s/%s, done %s (bound %.0f s), "
           "impairment seen %s, missed events %u\n",
           bytes_ok ? "ok" : "FAIL", (unsigned long long)r->sent, (unsigned long long)r->rcvd,
           r->first_bad != UINT64_MAX ? ", MISMATCH" : "", hash_ok ? "ok" : "FAIL",
           (unsigned long long)r->hash_a, (unsigned long long)r->hash_b, err_a, err_b,
           (unsigned long long)resets, (unsigned long long)frags,
           tern_tcp_state_name((int)sa.state), st_b ? tern_tcp_state_name((int)sb.state) : "-",
           states_ok ? "ok" : "FAIL", (double)c->bound_ns / 1e9, seen > 0 ? "ok" : "FAIL",
           r->missed);
    if (r->first_bad != UINT64_MAX) {
        printf("    first byte differing from the stream at offset %llu\n",
               (unsigned long long)r->first_bad);
    }
    if (!states_ok) {
        printf("    stopped at %.3f s after %llu events: A %s snd_una-iss %u snd_nxt-iss %u "
               "snd_wnd %u queued %u; B rcv_nxt-irs %u rcv_wnd %u queued %u\n",
               (double)tern_sim_now(r->sim) / 1e9, (unsigned long long)r->steps,
               tern_tcp_state_name((int)sa.state), sa.snd_una - sa.iss, sa.snd_nxt - sa.iss,
               sa.snd_wnd, sa.send_queued, sb.rcv_nxt - sb.irs, sb.rcv_wnd, sb.recv_queued);
    }
    CHECK(bytes_ok);
    CHECK(hash_ok);
    CHECK_EQ(err_a, 0);
    CHECK_EQ(err_b, 0);
    CHECK_EQ(r->err_a, 0);
    CHECK_EQ(r->err_b, 0);
    CHECK(!((r->ev_a | r->ev_b) & TERN_TCP_EV_ERROR));
    CHECK_EQ(resets, 0);
    /* RFC 9293 3.7.1 (MUST-16), RFC 6691: the effective send MSS leaves
     * room for the TCP options, so no segment needs IP fragmentation. */
    CHECK_EQ(frags, 0);
    CHECK(states_ok);
    CHECK(seen > 0);
    CHECK_EQ(r->missed, 0);
    if (c->few_spurious) {
        /* Issue 12: reordering read as loss costs fewer than 1 % of the
         * data segments in needless retransmissions (RFC 8985 6.2's
         * reordering window at work). */
        CHECK(spurious_rtx(r) * 100 < r->data_segs);
    }
    if (c->no_sack || c->no_options) {
        CHECK(!sa.sack_ok); /* the variant really runs without SACK */
    }
    if (c->no_options) {
        CHECK(!sa.ts_ok && sa.snd_wscale == 0 && sa.rcv_wscale == 0);
    }
    if (c->must_see == SEE_CORRUPT) {
        /* RFC 9293 3.1 (MUST-3) and RFC 1122 3.2.1.2: a single flipped bit
         * always changes the one's-complement sum, so every corrupted
         * datagram must be discarded by a check, never taken as valid. */
        CHECK_EQ(damaged_drops(r->sa) + damaged_drops(r->sb), link_count(r, SEE_CORRUPT));
    }
}

static void
bulk(const struct bulk_case *c)
{
    struct run *r = calloc(1, sizeof(*r));
    CHECK(r != NULL);
    if (r == NULL) {
        return;
    }
    if (setup(r, c)) {
        run_case(r);
        report(r);
        check_case(r);
    } else {
        fprintf(stderr, "%s: setup failed\n", c->name);
        CHECK(false);
    }
    tern_sim_free(r->sim);
    free(r->copies);
    free(r->rtx);
    free(r);
}

/* ---- The matrix ------------------------------------------------------------ */

#define BASE_LINK   .delay_ns = 5 * MS, .bandwidth_bps = 50000000
#define PPM(pct)    ((uint32_t)((pct)*10000))
#define BIG_BYTES   ((uint64_t)BULK_MIB * MIB)
#define SMALL_BYTES ((uint64_t)BULK_SMALL_MIB * MIB)

/* Bounds: a few times what a TCP with SACK, NewReno and a 1 s minimum RTO
 * needs on that link (the clean case: 10 MiB at 50 Mbit/s is 1.7 s). */
static const struct bulk_case cases[] = {
    {.name = "clean", .link = {BASE_LINK}, .bytes = BIG_BYTES, .bound_ns = 10 * SEC, .seed = 101},
    {.name = "loss 1%",
     .link = {BASE_LINK, .loss_ppm = PPM(1)},
     .bytes = BIG_BYTES,
     .bound_ns = 40 * SEC,
     .seed = 102,
     .must_see = SEE_LOSS},
    {.name = "loss 5%",
     .link = {BASE_LINK, .loss_ppm = PPM(5)},
     .bytes = BIG_BYTES,
     .bound_ns = 150 * SEC,
     .seed = 103,
     .must_see = SEE_LOSS},
    /* The same loss without SACK: NewReno's recovery (RFC 6582) alone. */
    {.name = "loss 1%, no SACK",
     .link = {BASE_LINK, .loss_ppm = PPM(1)},
     .bytes = BIG_BYTES,
     .bound_ns = 60 * SEC,
     .seed = 112,
     .must_see = SEE_LOSS,
     .no_sack = true},
    /* And with no option but the MSS: a 65535-byte window, RTT samples by
     * timing one segment at a time (RFC 6298 3, Karn). */
    {.name = "loss 1%, no options",
     .link = {BASE_LINK, .loss_ppm = PPM(1)},
     .bytes = BIG_BYTES,
     .bound_ns = 60 * SEC,
     .seed = 113,
     .must_see = SEE_LOSS,
     .no_options = true},
    /* 20 % loss each way: BULK_SMALL_MIB (1 MiB) only, see the top. */
    {.name = "loss 20%",
     .link = {BASE_LINK, .loss_ppm = PPM(20)},
     .bytes = SMALL_BYTES,
     .bound_ns = 600 * SEC,
     .seed = 104,
     .must_see = SEE_LOSS},
    {.name = "duplication 5%",
     .link = {BASE_LINK, .dup_ppm = PPM(5)},
     .bytes = BIG_BYTES,
     .bound_ns = 10 * SEC,
     .seed = 105,
     .must_see = SEE_DUP},
    /* 20 % of packets come 15 ms late, more than the 10 ms RTT. Issue 12:
     * with RACK's reordering window (RFC 8985 6.2) needless
     * retransmissions stay below 1 % of the data segments. */
    {.name = "reorder 20% +15ms",
     .link = {BASE_LINK, .reorder_ppm = PPM(20), .reorder_delay_ns = 15 * MS},
     .bytes = BIG_BYTES,
     .bound_ns = 150 * SEC,
     .seed = 106,
     .must_see = SEE_REORDER,
     .few_spurious = true},
    /* bench/lossy_goodput.sh's reorder row: RTT 0.2 ms, 20 % of packets
     * 2 ms late (ten RTTs) each way, no loss on the wire. The late copies
     * of episode k's D-SACKs often come after episode k+1 began, and PAWS
     * (RFC 7323 5.3) drops late originals at B and late ACKs at A. */
    {.name = "reorder 20% +2ms fast",
     .link = {.delay_ns = MS / 10,
              .bandwidth_bps = 1000000000,
              .reorder_ppm = PPM(20),
              .reorder_delay_ns = 2 * MS},
     .bytes = 16 * MIB,
     .bound_ns = 150 * SEC,
     .seed = 114,
     .must_see = SEE_REORDER},
    /* The same impairments with RFC 6675 deciding losses instead of RACK
     * (RFC 8985, the default): still byte-exact, within the same bounds. */
    {.name = "loss 1%, RFC 6675",
     .link = {BASE_LINK, .loss_ppm = PPM(1)},
     .bytes = BIG_BYTES,
     .bound_ns = 40 * SEC,
     .seed = 102,
     .must_see = SEE_LOSS,
     .rfc6675 = true},
    {.name = "loss 5%, RFC 6675",
     .link = {BASE_LINK, .loss_ppm = PPM(5)},
     .bytes = BIG_BYTES,
     .bound_ns = 150 * SEC,
     .seed = 103,
     .must_see = SEE_LOSS,
     .rfc6675 = true},
    {.name = "loss 20%, RFC 6675",
     .link = {BASE_LINK, .loss_ppm = PPM(20)},
     .bytes = SMALL_BYTES,
     .bound_ns = 600 * SEC,
     .seed = 104,
     .must_see = SEE_LOSS,
     .rfc6675 = true},
    {.name = "reorder 20% +15ms, RFC 6675",
     .link = {BASE_LINK, .reorder_ppm = PPM(20), .reorder_delay_ns = 15 * MS},
     .bytes = BIG_BYTES,
     .bound_ns = 150 * SEC,
     .seed = 106,
     .must_see = SEE_REORDER,
     .rfc6675 = true},
    {.name = "corrupt 1%",
     .link = {BASE_LINK, .corrupt_ppm = PPM(1)},
     .bytes = BIG_BYTES,
     .bound_ns = 40 * SEC,
     .seed = 107,
     .must_see = SEE_CORRUPT},
    /* RTT 40..60 ms: 20 ms each way, up to 10 ms more (jitter does not
     * reorder). */
    {.name = "delay 20ms jitter 10ms",
     .link = {.delay_ns = 20 * MS, .jitter_ns = 10 * MS, .bandwidth_bps = 50000000},
     .bytes = BIG_BYTES,
     .bound_ns = 40 * SEC,
     .seed = 108},
    /* 10 Mbit/s, an 8 kB drop-tail queue (5 full segments): congestion
     * control must keep the losses it causes from stalling the transfer. */
    {.name = "10Mbit/s queue 8kB",
     .link = {.delay_ns = 5 * MS, .bandwidth_bps = 10000000, .queue_bytes = 8000},
     .bytes = BIG_BYTES,
     .bound_ns = 60 * SEC,
     .seed = 109,
     .must_see = SEE_QUEUE},
    /* B reads 16 KiB every 25 ms (640 KiB/s, a tenth of the link). The
     * period is longer than the RTT, so the sender fills the window and it
     * stays shut (below one segment, down to zero: sender SWS avoidance
     * may leave a sliver unfilled) until B's next read. With a period
     * equal to the RTT a read always lands between an ACK and the data it
     * lets in, and the window never closes. The case requires windows
     * below one segment on the wire. */
    {.name = "slow reader",
     .link = {BASE_LINK},
     .bytes = BIG_BYTES,
     .bound_ns = 40 * SEC,
     .read_every_ns = 25 * MS,
     .read_chunk = 16384,
     .seed = 110,
     .must_see = SEE_SHUT_WND},
    /* The same with 1 % loss: a lost window update leaves the sender
     * facing a shut window that only its probes (RFC 9293 3.8.6.1, MUST-36,
     * MUST-37, SHLD-29) or the SWS override timer (3.8.6.2.1) reopen. */
    {.name = "slow reader, loss 1%",
     .link = {BASE_LINK, .loss_ppm = PPM(1)},
     .bytes = BIG_BYTES,
     .bound_ns = 120 * SEC,
     .read_every_ns = 25 * MS,
     .read_chunk = 16384,
     .seed = 111,
     .must_see = SEE_SHUT_WND,
     .also_see = SEE_LOSS},
};

static const struct bulk_case *current_case;

static void
test_bulk_case(void)
{
    bulk(current_case);
}

int
main(int argc, char **argv)
{
    /* An argument runs only the cases whose name contains it. */
    const char *only = argc > 1 ? argv[1] : NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (only != NULL && strstr(cases[i].name, only) == NULL) {
            continue;
        }
        current_case = &cases[i];
        RUN(test_bulk_case);
        if (check_st.failures) {
            printf("    FAIL %s\n", cases[i].name);
        }
    }
    return CHECK_DONE();
}
