/*
 * drivers/sim/sim.c: the simulated network (see include/tern/sim.h).
 *
 * One binary heap orders every future event by (time, insertion sequence):
 * packet arrivals, user callbacks, and one deadline event per live host,
 * kept equal to tern_stack_next_deadline() of its stack. Events are
 * allocated objects that remember their heap slot, so a host's deadline
 * event can be moved or removed in O(log n). Before each event every live
 * host's deadline is read again (O(hosts) per event), so that calls the user
 * makes on a stack between steps are picked up.
 *
 * A packet a host transmits goes: filter (pass, drop, hold, delay), then the
 * link direction (capacity, drop-tail queue and serialization, random loss,
 * corruption, delay, jitter, reordering, duplication), then the arrival event
 * at the other end. Every step is reported to the observer.
 *
 * Randomness comes from the stacks' generator (tern/rng.h), one stream per
 * link direction and impairment. Like every driver, this one sees public
 * headers only.
 */
#include "tern/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/pcap.h"
#include "tern/rng.h"

#define NS_PER_SEC 1000000000LL
/* Longest delay a link or a filter may add: about 13 days, so that time
 * sums cannot overflow. */
#define MAX_DELAY_NS (1LL << 50)
#define PPM_MAX      1000000u

/* ---- Random numbers ------------------------------------------------------- */

/* Uniform in [0, n], for jitter (which may exceed 32 bits of nanoseconds). */
static uint64_t
upto(struct tern_rng *r, uint64_t n)
{
    if (n == UINT64_MAX) {
        return tern_rng_next(r);
    }
    uint64_t span = n + 1;
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t v;
    do {
        v = tern_rng_next(r);
    } while (v >= limit);
    return v % span;
}

enum {
    STREAM_LOSS,
    STREAM_DUP,
    STREAM_REORDER,
    STREAM_CORRUPT,
    STREAM_JITTER,
    STREAM_CE,
    STREAM_COUNT
};

/* Each stream's seed depends on the simulation seed, the link and the
 * direction only, so links do not disturb one another. */
static void
init_stream(struct tern_rng *r, uint64_t seed, int link, int dir, int stream)
{
    uint64_t tag = (uint64_t)link << 8 | (uint64_t)dir << 4 | (uint64_t)stream;
    struct tern_rng mix;
    tern_rng_seed(&mix, tag);
    tern_rng_seed(r, seed ^ tern_rng_next(&mix));
}

/* ---- Events and the heap --------------------------------------------------- */

enum ev_kind { EV_ARRIVAL, EV_CALLBACK, EV_DEADLINE };

#define NOT_IN_HEAP SIZE_MAX

struct sim_event {
    int64_t t;
    uint64_t seq;
    size_t heap_idx;
    enum ev_kind kind;
};

struct sim_packet {
    struct sim_event ev; /* first: the arrival event */
    struct sim_packet *next_held;
    uint64_t id, orig_id;
    int link, dir;
    int from_host, from_netif, to_host, to_netif;
    int64_t sent_ns;
    bool duplicate, corrupted, reordered, injected;
    size_t len;
    uint8_t data[];
};

struct sim_callback {
    struct sim_event ev; /* first */
    tern_sim_fn fn;
    void *ctx;
};

struct sim_port {
    struct tern_sim *sim;
    int host, netif;
    int link; /* -1: not linked */
    int dir;  /* direction of what this port transmits */
};

struct sim_host {
    struct sim_event deadline; /* first: the host's next timer */
    char *name;
    struct tern_config cfg; /* with the simulator's transmit callbacks */
    struct tern_stack *stack;
    uint64_t restarts;
    int64_t polled_at; /* last deadline poll; the next one is strictly later */
    struct sim_port ports[TERN_MAX_NETIFS];
};

struct sim_qent {
    int64_t tx_end;
    uint32_t len;
};

struct sim_dir {
    struct tern_link_params p;
    struct tern_rng rng[STREAM_COUNT];
    int from_host, from_netif, to_host, to_netif;
    int64_t busy_until;   /* end of the latest serialization */
    int64_t last_arrival; /* of the latest in-order packet */
    struct sim_qent *q;   /* ring: packets waiting for or in serialization */
    size_t q_cap, q_head, q_len;
    uint64_t q_bytes;
    uint32_t in_flight; /* scheduled arrivals + held packets */
    struct tern_sim_link_stats stats;
};

struct sim_link {
    struct sim_dir dir[2];
    struct tern_pcap *pcap;
};

struct tern_sim {
    uint64_t seed;
    int64_t now;
    uint64_t next_seq;
    uint64_t next_packet_id;

    struct sim_event **heap;
    size_t heap_len, heap_cap;

    struct sim_host **hosts;
    int n_hosts, hosts_cap;
    struct sim_link **links;
    int n_links, links_cap;

    struct sim_packet *held; /* list, newest first */
    size_t n_held;

    tern_sim_observer_fn observer;
    void *observer_ctx;
    tern_sim_filter_fn filter;
    void *filter_ctx;
    tern_sim_restart_fn restart_fn;
    void *restart_ctx;
};

static bool
ev_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void
heap_set(struct tern_sim *sim, size_t i, struct sim_event *ev)
{
    sim->heap[i] = ev;
    ev->heap_idx = i;
}

static void
heap_sift_up(struct tern_sim *sim, size_t i)
{
    struct sim_event *ev = sim->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(ev, sim->heap[parent])) {
            break;
        }
        heap_set(sim, i, sim->heap[parent]);
        i = parent;
    }
    heap_set(sim, i, ev);
}

static void
heap_sift_down(struct tern_sim *sim, size_t i)
{
    struct sim_event *ev = sim->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        const struct sim_event *best_ev = ev;
        if (l < sim->heap_len && ev_before(sim->heap[l], best_ev)) {
            best = l;
            best_ev = sim->heap[l];
        }
        if (l + 1 < sim->heap_len && ev_before(sim->heap[l + 1], best_ev)) {
            best = l + 1;
        }
        if (best == i) {
            break;
        }
        heap_set(sim, i, sim->heap[best]);
        i = best;
    }
    heap_set(sim, i, ev);
}

/* Schedules `ev` at time t (clamped to now), after every event already
 * scheduled for that instant. */
static int
heap_push(struct tern_sim *sim, struct sim_event *ev, int64_t t)
{
    if (sim->heap_len == sim->heap_cap) {
        size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 64;
        struct sim_event **h = realloc(sim->heap, cap * sizeof(*h));
        if (h == NULL) {
            return TERN_ERR_NOMEM;
        }
        sim->heap = h;
        sim->heap_cap = cap;
    }
    ev->t = t < sim->now ? sim->now : t;
    ev->seq = sim->next_seq++;
    heap_set(sim, sim->heap_len++, ev);
    heap_sift_up(sim, sim->heap_len - 1);
    return TERN_OK;
}

static void
heap_remove(struct tern_sim *sim, struct sim_event *ev)
{
    size_t i = ev->heap_idx;
    if (i == NOT_IN_HEAP) {
        return;
    }
    ev->heap_idx = NOT_IN_HEAP;
    sim->heap_len--;
    if (i == sim->heap_len) {
        return;
    }
    heap_set(sim, i, sim->heap[sim->heap_len]);
    if (i > 0 && ev_before(sim->heap[i], sim->heap[(i - 1) / 2])) {
        heap_sift_up(sim, i);
    } else {
        heap_sift_down(sim, i);
    }
}

static struct sim_event *
heap_pop(struct tern_sim *sim)
{
    if (sim->heap_len == 0) {
        return NULL;
    }
    struct sim_event *top = sim->heap[0];
    heap_remove(sim, top);
    return top;
}

/* ---- Small helpers ---------------------------------------------------------- */

static int64_t
add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static bool
host_ok(const struct tern_sim *sim, int host)
{
    return sim != NULL && host >= 0 && host < sim->n_hosts;
}

static bool
link_ok(const struct tern_sim *sim, int link)
{
    return sim != NULL && link >= 0 && link < sim->n_links;
}

static bool
params_ok(const struct tern_link_params *p)
{
    return p->delay_ns >= 0 && p->delay_ns <= MAX_DELAY_NS && p->jitter_ns >= 0 &&
           p->jitter_ns <= MAX_DELAY_NS && p->reorder_delay_ns >= 0 &&
           p->reorder_delay_ns <= MAX_DELAY_NS && p->loss_ppm <= PPM_MAX && p->dup_ppm <= PPM_MAX &&
           p->reorder_ppm <= PPM_MAX && p->corrupt_ppm <= PPM_MAX && p->ce_ppm <= PPM_MAX;
}

/* The IPv4 header of packet bytes `data` (after an Ethernet header when
 * `eth`), or NULL when it carries none; *ihl gets its length. */
static uint8_t *
ipv4_header(uint8_t *data, size_t len, bool eth, size_t *ihl)
{
    size_t off = 0;
    if (eth) {
        if (len < 14 || data[12] != 0x08 || data[13] != 0x00) {
            return NULL; /* not IPv4 (ARP) */
        }
        off = 14;
    }
    if (len < off + 20 || (data[off] >> 4) != 4) {
        return NULL;
    }
    *ihl = (size_t)(data[off] & 15u) * 4u;
    return *ihl >= 20 && len >= off + *ihl ? data + off : NULL;
}

/* RFC 3168 5: a router experiencing congestion sets CE in an ECT packet;
 * the header checksum is computed again (RFC 791). True when marked. */
static bool
mark_ce(uint8_t *data, size_t len, bool eth)
{
    size_t ihl = 0;
    uint8_t *ip = ipv4_header(data, len, eth, &ihl);
    if (ip == NULL || (ip[1] & 3u) == 0 || (ip[1] & 3u) == 3u) {
        return false; /* Not-ECT, or CE already */
    }
    ip[1] |= 3u;
    ip[10] = ip[11] = 0;
    uint32_t sum = 0;
    for (size_t i = 0; i < ihl; i += 2) {
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    }
    while (sum >> 16) {
        sum = (sum & 0xffffu) + (sum >> 16);
    }
    uint16_t c = (uint16_t)~sum;
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    return true;
}

static void
pkt_view(const struct sim_packet *p, struct tern_sim_packet *out)
{
    *out = (struct tern_sim_packet){
        .id = p->id,
        .orig_id = p->orig_id,
        .link = p->link,
        .dir = p->dir,
        .from_host = p->from_host,
        .from_netif = p->from_netif,
        .to_host = p->to_host,
        .to_netif = p->to_netif,
        .sent_ns = p->sent_ns,
        .data = p->data,
        .len = p->len,
        .duplicate = p->duplicate,
        .corrupted = p->corrupted,
        .reordered = p->reordered,
        .injected = p->injected,
    };
}

static void
emit(struct tern_sim *sim, enum tern_sim_event_kind kind, const struct sim_packet *p,
     int64_t arrive_ns, enum tern_sim_loss loss, uint32_t bit)
{
    if (sim->observer == NULL) {
        return;
    }
    struct tern_sim_event ev = {
        .kind = kind,
        .now_ns = sim->now,
        .arrive_ns = arrive_ns,
        .loss = loss,
        .bit = bit,
        .host = -1,
    };
    pkt_view(p, &ev.pkt);
    sim->observer(sim->observer_ctx, &ev);
}

static void
emit_host(struct tern_sim *sim, enum tern_sim_event_kind kind, int host)
{
    if (sim->observer == NULL) {
        return;
    }
    struct tern_sim_event ev = {
        .kind = kind,
        .now_ns = sim->now,
        .arrive_ns = -1,
        .host = host,
        .pkt = {.link = -1,
                .dir = -1,
                .from_host = -1,
                .from_netif = -1,
                .to_host = -1,
                .to_netif = -1},
    };
    sim->observer(sim->observer_ctx, &ev);
}

static struct sim_packet *
packet_new(struct tern_sim *sim, const uint8_t *data, size_t len)
{
    struct sim_packet *p = malloc(sizeof(*p) + len);
    if (p == NULL) {
        return NULL;
    }
    memset(p, 0, sizeof(*p));
    p->ev.kind = EV_ARRIVAL;
    p->ev.heap_idx = NOT_IN_HEAP;
    p->id = sim->next_packet_id++;
    p->orig_id = p->id;
    p->len = len;
    if (len > 0) {
        memcpy(p->data, data, len);
    }
    return p;
}

static struct sim_dir *
packet_dir(struct tern_sim *sim, const struct sim_packet *p)
{
    return p->link < 0 ? NULL : &sim->links[p->link]->dir[p->dir];
}

static void
count_loss(struct sim_dir *d, enum tern_sim_loss loss)
{
    switch (loss) {
    case TERN_SIM_LOSS_RANDOM:
        d->stats.lost_random++;
        break;
    case TERN_SIM_LOSS_QUEUE:
        d->stats.lost_queue++;
        break;
    case TERN_SIM_LOSS_CAPACITY:
        d->stats.lost_capacity++;
        break;
    case TERN_SIM_LOSS_FILTER:
    case TERN_SIM_LOSS_HELD_DROP:
        d->stats.lost_filter++;
        break;
    case TERN_SIM_LOSS_HOST_DOWN:
        d->stats.lost_host_down++;
        break;
    case TERN_SIM_LOSS_NONE:
    case TERN_SIM_LOSS_NO_LINK:
        break;
    }
}

/* Reports the loss, counts it and frees the packet. */
static void
packet_lose(struct tern_sim *sim, struct sim_packet *p, enum tern_sim_loss loss)
{
    emit(sim, TERN_SIM_EV_LOST, p, -1, loss, 0);
    struct sim_dir *d = packet_dir(sim, p);
    if (d != NULL) {
        count_loss(d, loss);
    }
    free(p);
}

/* ---- The link ----------------------------------------------------------------- */

/* What the link does with one packet. */
struct fate {
    enum tern_sim_loss loss; /* NONE: it arrives at `arrive` */
    bool on_wire;            /* it went onto the wire (capture it) */
    int64_t arrive;
    bool corrupt;
    uint32_t bit;
    bool dup;
};

static uint32_t
dir_capacity(const struct sim_dir *d)
{
    return d->p.max_in_flight ? d->p.max_in_flight : TERN_SIM_DEFAULT_MAX_IN_FLIGHT;
}

/* Queues the packet for serialization; false if the drop-tail queue (or
 * memory) refuses it. Sets *tx_end. */
static bool
dir_enqueue(struct sim_dir *d, int64_t now, size_t len, int64_t *tx_end)
{
    /* Packets whose serialization has ended have left the queue. */
    while (d->q_len > 0 && d->q[d->q_head].tx_end <= now) {
        d->q_bytes -= d->q[d->q_head].len;
        d->q_head = (d->q_head + 1) % d->q_cap;
        d->q_len--;
    }
    if (d->p.bandwidth_bps == 0) {
        *tx_end = now;
        return true;
    }
    if (d->p.queue_bytes != 0 && d->q_bytes + len > d->p.queue_bytes) {
        return false;
    }
    if (d->q_len == d->q_cap) {
        size_t cap = d->q_cap ? d->q_cap * 2 : 16;
        struct sim_qent *q = malloc(cap * sizeof(*q));
        if (q == NULL) {
            return false;
        }
        for (size_t i = 0; i < d->q_len; i++) {
            q[i] = d->q[(d->q_head + i) % d->q_cap];
        }
        free(d->q);
        d->q = q;
        d->q_cap = cap;
        d->q_head = 0;
    }
    /* Serialization: ceil(len * 8 / rate) seconds. len <= 65535, so the
     * product stays far below 2^63. */
    uint64_t bits_ns = (uint64_t)len * 8u * (uint64_t)NS_PER_SEC;
    int64_t ser = (int64_t)((bits_ns + d->p.bandwidth_bps - 1) / d->p.bandwidth_bps);
    int64_t start = d->busy_until > now ? d->busy_until : now;
    d->busy_until = add_sat(start, ser);
    *tx_end = d->busy_until;
    d->q[(d->q_head + d->q_len) % d->q_cap] = (struct sim_qent){*tx_end, (uint32_t)len};
    d->q_len++;
    d->q_bytes += len;
    return true;
}

/*
 * Decides what the link direction does with packet p handed to it now:
 * capacity, queue, and (when `impair`) loss, corruption, reordering and
 * duplication; `extra` is a filter delay. Applies a corruption to p's bytes.
 */
static void
dir_decide(struct tern_sim *sim, struct sim_dir *d, struct sim_packet *p, int64_t extra,
           bool impair, struct fate *f)
{
    *f = (struct fate){.loss = TERN_SIM_LOSS_NONE, .arrive = -1};
    if (d->in_flight >= dir_capacity(d)) {
        f->loss = TERN_SIM_LOSS_CAPACITY;
        return;
    }
    int64_t tx_end;
    if (!dir_enqueue(d, sim->now, p->len, &tx_end)) {
        f->loss = TERN_SIM_LOSS_QUEUE;
        return;
    }
    f->on_wire = true;
    if (impair && tern_rng_chance_ppm(&d->rng[STREAM_LOSS], d->p.loss_ppm)) {
        f->loss = TERN_SIM_LOSS_RANDOM;
        return;
    }
    if (impair && p->len > 0 && tern_rng_chance_ppm(&d->rng[STREAM_CORRUPT], d->p.corrupt_ppm)) {
        f->corrupt = true;
        f->bit = tern_rng_below(&d->rng[STREAM_CORRUPT], (uint32_t)(p->len * 8u));
        p->data[f->bit / 8] ^= (uint8_t)(0x80u >> (f->bit % 8));
        p->corrupted = true;
    }
    if (impair && d->p.ce_ppm > 0 && tern_rng_chance_ppm(&d->rng[STREAM_CE], d->p.ce_ppm)) {
        bool eth = sim->hosts[d->to_host]->cfg.netifs[d->to_netif].link == TERN_LINK_ETHERNET;
        if (mark_ce(p->data, p->len, eth)) {
            d->stats.ce_marked++;
        }
    }
    int64_t arrive = add_sat(tx_end, d->p.delay_ns);
    if (d->p.jitter_ns > 0) {
        arrive = add_sat(arrive, (int64_t)upto(&d->rng[STREAM_JITTER], (uint64_t)d->p.jitter_ns));
    }
    if (impair && tern_rng_chance_ppm(&d->rng[STREAM_REORDER], d->p.reorder_ppm)) {
        p->reordered = true;
        d->stats.reordered++;
        int64_t rd = d->p.reorder_delay_ns;
        if (rd == 0) {
            rd = d->p.delay_ns + d->p.jitter_ns + NS_PER_SEC / 1000;
        }
        arrive = add_sat(arrive, rd);
    }
    if (p->reordered || extra > 0) {
        /* Out of order on purpose: later packets may overtake it. */
        arrive = add_sat(arrive, extra);
    } else {
        /* Jitter alone keeps the wire's order. */
        if (arrive < d->last_arrival) {
            arrive = d->last_arrival;
        }
        d->last_arrival = arrive;
    }
    f->arrive = arrive;
    f->dup = impair && tern_rng_chance_ppm(&d->rng[STREAM_DUP], d->p.dup_ppm);
}

static void
capture(struct tern_sim *sim, const struct sim_packet *p)
{
    struct tern_pcap *pc = sim->links[p->link]->pcap;
    if (pc != NULL) {
        (void)tern_pcap_write(pc, sim->now, p->data, p->len);
    }
}

/* Schedules the arrival of a packet the link accepted, or loses it. */
static void
packet_schedule(struct tern_sim *sim, struct sim_dir *d, struct sim_packet *p, int64_t arrive)
{
    if (heap_push(sim, &p->ev, arrive) != TERN_OK) {
        packet_lose(sim, p, TERN_SIM_LOSS_CAPACITY);
        return;
    }
    d->in_flight++;
}

/* The link's copy of p (duplication): travels right after p, through the
 * queue and the delay, with no further impairment. */
static void
send_duplicate(struct tern_sim *sim, struct sim_dir *d, const struct sim_packet *orig)
{
    struct sim_packet *c = packet_new(sim, orig->data, orig->len);
    if (c == NULL) {
        return;
    }
    uint64_t id = c->id;
    memcpy(c, orig, sizeof(*c));
    c->ev.heap_idx = NOT_IN_HEAP;
    c->next_held = NULL;
    c->id = id;
    c->orig_id = orig->id;
    c->duplicate = true;
    c->reordered = false;
    d->stats.duplicated++;
    struct fate f;
    dir_decide(sim, d, c, 0, false, &f);
    emit(sim, TERN_SIM_EV_DUPLICATED, c, f.loss ? -1 : f.arrive, f.loss, 0);
    if (f.on_wire) {
        capture(sim, c);
    }
    if (f.loss != TERN_SIM_LOSS_NONE) {
        packet_lose(sim, c, f.loss);
        return;
    }
    packet_schedule(sim, d, c, f.arrive);
}

/* Hands packet p to its link direction now; `kind` is SENT or RELEASED. */
static void
link_send(struct tern_sim *sim, struct sim_packet *p, int64_t extra, enum tern_sim_event_kind kind)
{
    struct sim_dir *d = packet_dir(sim, p);
    struct fate f;
    dir_decide(sim, d, p, extra, true, &f);
    emit(sim, kind, p, f.loss ? -1 : f.arrive, f.loss, 0);
    if (f.on_wire) {
        capture(sim, p);
    }
    if (f.corrupt) {
        d->stats.corrupted++;
        emit(sim, TERN_SIM_EV_CORRUPTED, p, f.arrive, TERN_SIM_LOSS_NONE, f.bit);
    }
    if (f.loss != TERN_SIM_LOSS_NONE) {
        packet_lose(sim, p, f.loss);
        return;
    }
    packet_schedule(sim, d, p, f.arrive);
    if (f.dup) {
        send_duplicate(sim, d, p);
    }
}

/* The transmit callback of every simulated interface. */
static int
sim_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)netif;
    (void)next_hop; /* point-to-point: everything goes to the peer */
    struct sim_port *port = ctx;
    struct tern_sim *sim = port->sim;
    struct sim_packet *p = packet_new(sim, pkt, len);
    if (p == NULL) {
        return TERN_ERR_NOMEM;
    }
    p->from_host = port->host;
    p->from_netif = port->netif;
    p->sent_ns = sim->now;
    p->link = port->link;
    p->dir = -1;
    p->to_host = -1;
    p->to_netif = -1;
    if (port->link < 0) {
        emit(sim, TERN_SIM_EV_SENT, p, -1, TERN_SIM_LOSS_NO_LINK, 0);
        packet_lose(sim, p, TERN_SIM_LOSS_NO_LINK);
        return TERN_ERR_TXFAIL;
    }
    p->dir = port->dir;
    struct sim_dir *d = packet_dir(sim, p);
    p->to_host = d->to_host;
    p->to_netif = d->to_netif;
    d->stats.sent++;
    d->stats.bytes_sent += len;

    enum tern_sim_action act = TERN_SIM_PASS;
    int64_t extra = 0;
    if (sim->filter != NULL) {
        struct tern_sim_packet view;
        pkt_view(p, &view);
        act = sim->filter(sim->filter_ctx, &view, &extra);
    }
    switch (act) {
    case TERN_SIM_DROP:
        emit(sim, TERN_SIM_EV_SENT, p, -1, TERN_SIM_LOSS_FILTER, 0);
        packet_lose(sim, p, TERN_SIM_LOSS_FILTER);
        return TERN_OK;
    case TERN_SIM_HOLD:
        if (d->in_flight >= dir_capacity(d)) {
            emit(sim, TERN_SIM_EV_SENT, p, -1, TERN_SIM_LOSS_CAPACITY, 0);
            packet_lose(sim, p, TERN_SIM_LOSS_CAPACITY);
            return TERN_OK;
        }
        emit(sim, TERN_SIM_EV_SENT, p, -1, TERN_SIM_LOSS_NONE, 0);
        d->in_flight++;
        d->stats.held++;
        p->next_held = sim->held;
        sim->held = p;
        sim->n_held++;
        emit(sim, TERN_SIM_EV_HELD, p, -1, TERN_SIM_LOSS_NONE, 0);
        return TERN_OK;
    case TERN_SIM_DELAY:
        if (extra < 0) {
            extra = 0;
        }
        if (extra > MAX_DELAY_NS) {
            extra = MAX_DELAY_NS;
        }
        d->stats.delayed++;
        link_send(sim, p, extra, TERN_SIM_EV_SENT);
        return TERN_OK;
    case TERN_SIM_PASS:
        break;
    }
    link_send(sim, p, 0, TERN_SIM_EV_SENT);
    return TERN_OK;
}

/* ---- Hosts ---------------------------------------------------------------------- */

/* Keeps the host's deadline event equal to its stack's next deadline. A host
 * is never polled twice at the same instant: a timer due then has run. */
static void
host_sync(struct tern_sim *sim, struct sim_host *h)
{
    int64_t d = h->stack ? tern_stack_next_deadline(h->stack) : INT64_MAX;
    if (d == INT64_MAX) {
        heap_remove(sim, &h->deadline);
        return;
    }
    if (d <= h->polled_at) {
        d = h->polled_at + 1;
    }
    if (d < sim->now) {
        d = sim->now;
    }
    if (h->deadline.heap_idx != NOT_IN_HEAP && h->deadline.t == d) {
        return;
    }
    heap_remove(sim, &h->deadline);
    (void)heap_push(sim, &h->deadline, d); /* on failure the timer waits for the next sync */
}

static void
sync_all(struct tern_sim *sim)
{
    for (int i = 0; i < sim->n_hosts; i++) {
        host_sync(sim, sim->hosts[i]);
    }
}

static int
host_start(struct tern_sim *sim, struct sim_host *h)
{
    struct tern_config cfg = h->cfg;
    /* Choice (see sim.h): a restarted host gets a new, reproducible seed. */
    cfg.seed += h->restarts * 0x9e3779b97f4a7c15ULL;
    h->polled_at = INT64_MIN;
    return tern_stack_new(&cfg, sim->now, &h->stack);
}

void
tern_link_params_init(struct tern_link_params *p)
{
    memset(p, 0, sizeof(*p));
}

int
tern_sim_new(uint64_t seed, struct tern_sim **out)
{
    if (out == NULL) {
        return TERN_ERR_INVAL;
    }
    struct tern_sim *sim = calloc(1, sizeof(*sim));
    *out = sim;
    if (sim == NULL) {
        return TERN_ERR_NOMEM;
    }
    sim->seed = seed;
    sim->next_packet_id = 1;
    return TERN_OK;
}

void
tern_sim_free(struct tern_sim *sim)
{
    if (sim == NULL) {
        return;
    }
    for (size_t i = 0; i < sim->heap_len; i++) {
        struct sim_event *ev = sim->heap[i];
        if (ev->kind != EV_DEADLINE) {
            free(ev); /* packets and callbacks start with their event */
        }
    }
    free(sim->heap);
    while (sim->held != NULL) {
        struct sim_packet *p = sim->held;
        sim->held = p->next_held;
        free(p);
    }
    for (int i = 0; i < sim->n_hosts; i++) {
        tern_stack_free(sim->hosts[i]->stack);
        free(sim->hosts[i]->name);
        free(sim->hosts[i]);
    }
    free(sim->hosts);
    for (int i = 0; i < sim->n_links; i++) {
        (void)tern_pcap_close(sim->links[i]->pcap);
        free(sim->links[i]->dir[0].q);
        free(sim->links[i]->dir[1].q);
        free(sim->links[i]);
    }
    free(sim->links);
    free(sim);
}

int64_t
tern_sim_now(const struct tern_sim *sim)
{
    return sim == NULL ? 0 : sim->now;
}

static char *
name_dup(const char *name, int id)
{
    char buf[16];
    if (name == NULL) {
        snprintf(buf, sizeof(buf), "h%d", id);
        name = buf;
    }
    size_t len = strlen(name) + 1;
    char *s = malloc(len);
    if (s != NULL) {
        memcpy(s, name, len);
    }
    return s;
}

int
tern_sim_add_host(struct tern_sim *sim, const char *name, const struct tern_config *cfg, int *host)
{
    if (sim == NULL || cfg == NULL || host == NULL || cfg->n_netifs > TERN_MAX_NETIFS) {
        return TERN_ERR_INVAL;
    }
    *host = -1;
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        if (cfg->netifs[i].transmit != NULL) {
            return TERN_ERR_INVAL;
        }
    }
    if (sim->n_hosts >= TERN_SIM_MAX_HOSTS) {
        return TERN_ERR_NOBUFS;
    }
    if (sim->n_hosts == sim->hosts_cap) {
        int cap = sim->hosts_cap ? sim->hosts_cap * 2 : 8;
        struct sim_host **hs = realloc(sim->hosts, (size_t)cap * sizeof(*hs));
        if (hs == NULL) {
            return TERN_ERR_NOMEM;
        }
        sim->hosts = hs;
        sim->hosts_cap = cap;
    }
    int id = sim->n_hosts;
    struct sim_host *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return TERN_ERR_NOMEM;
    }
    h->name = name_dup(name, id);
    if (h->name == NULL) {
        free(h);
        return TERN_ERR_NOMEM;
    }
    h->deadline.kind = EV_DEADLINE;
    h->deadline.heap_idx = NOT_IN_HEAP;
    h->cfg = *cfg;
    /* Choice (see sim.h): the simulator is deterministic by design. A host
     * without a seed gets one from the simulation seed and its id. */
    if (cfg->seed == 0 && !cfg->deterministic) {
        struct tern_rng mix;
        tern_rng_seed(&mix, sim->seed ^ ((uint64_t)(id + 1) << 48));
        h->cfg.seed = tern_rng_next(&mix);
    }
    h->cfg.deterministic = true;
    for (int i = 0; i < TERN_MAX_NETIFS; i++) {
        h->ports[i] = (struct sim_port){.sim = sim, .host = id, .netif = i, .link = -1, .dir = 0};
    }
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        h->cfg.netifs[i].transmit = sim_transmit;
        h->cfg.netifs[i].transmit_ctx = &h->ports[i];
    }
    int rc = host_start(sim, h);
    if (rc != TERN_OK) {
        free(h->name);
        free(h);
        return rc;
    }
    sim->hosts[sim->n_hosts++] = h;
    host_sync(sim, h);
    *host = id;
    return TERN_OK;
}

struct tern_stack *
tern_sim_host_stack(const struct tern_sim *sim, int host)
{
    return host_ok(sim, host) ? sim->hosts[host]->stack : NULL;
}

const char *
tern_sim_host_name(const struct tern_sim *sim, int host)
{
    return host_ok(sim, host) ? sim->hosts[host]->name : NULL;
}

int
tern_sim_host_count(const struct tern_sim *sim)
{
    return sim == NULL ? 0 : sim->n_hosts;
}

int
tern_sim_crash(struct tern_sim *sim, int host)
{
    if (!host_ok(sim, host)) {
        return TERN_ERR_INVAL;
    }
    struct sim_host *h = sim->hosts[host];
    if (h->stack == NULL) {
        return TERN_ERR_STATE;
    }
    heap_remove(sim, &h->deadline);
    tern_stack_free(h->stack);
    h->stack = NULL;
    emit_host(sim, TERN_SIM_EV_HOST_CRASH, host);
    return TERN_OK;
}

int
tern_sim_restart(struct tern_sim *sim, int host)
{
    if (!host_ok(sim, host)) {
        return TERN_ERR_INVAL;
    }
    struct sim_host *h = sim->hosts[host];
    if (h->stack != NULL) {
        return TERN_ERR_STATE;
    }
    h->restarts++;
    int rc = host_start(sim, h);
    if (rc != TERN_OK) {
        h->restarts--;
        return rc;
    }
    emit_host(sim, TERN_SIM_EV_HOST_RESTART, host);
    if (sim->restart_fn != NULL) {
        sim->restart_fn(sim->restart_ctx, sim, host, h->stack);
    }
    host_sync(sim, h);
    return TERN_OK;
}

void
tern_sim_set_restart_handler(struct tern_sim *sim, tern_sim_restart_fn fn, void *ctx)
{
    if (sim != NULL) {
        sim->restart_fn = fn;
        sim->restart_ctx = ctx;
    }
}

/* ---- Links ---------------------------------------------------------------------- */

static void
dir_init(struct tern_sim *sim, struct sim_dir *d, int link, int dir,
         const struct tern_link_params *p)
{
    memset(d, 0, sizeof(*d));
    if (p != NULL) {
        d->p = *p;
    }
    for (int s = 0; s < STREAM_COUNT; s++) {
        init_stream(&d->rng[s], sim->seed, link, dir, s);
    }
}

int
tern_sim_link(struct tern_sim *sim, int host_a, int netif_a, int host_b, int netif_b,
              const struct tern_link_params *a_to_b, const struct tern_link_params *b_to_a,
              int *link)
{
    if (link == NULL) {
        return TERN_ERR_INVAL;
    }
    *link = -1;
    if (!host_ok(sim, host_a) || !host_ok(sim, host_b) || netif_a < 0 || netif_b < 0 ||
        (unsigned)netif_a >= sim->hosts[host_a]->cfg.n_netifs ||
        (unsigned)netif_b >= sim->hosts[host_b]->cfg.n_netifs ||
        (host_a == host_b && netif_a == netif_b) || (a_to_b != NULL && !params_ok(a_to_b)) ||
        (b_to_a != NULL && !params_ok(b_to_a))) {
        return TERN_ERR_INVAL;
    }
    struct sim_port *pa = &sim->hosts[host_a]->ports[netif_a];
    struct sim_port *pb = &sim->hosts[host_b]->ports[netif_b];
    if (pa->link >= 0 || pb->link >= 0) {
        return TERN_ERR_EXIST;
    }
    if (sim->n_links >= TERN_SIM_MAX_LINKS) {
        return TERN_ERR_NOBUFS;
    }
    if (sim->n_links == sim->links_cap) {
        int cap = sim->links_cap ? sim->links_cap * 2 : 8;
        struct sim_link **ls = realloc(sim->links, (size_t)cap * sizeof(*ls));
        if (ls == NULL) {
            return TERN_ERR_NOMEM;
        }
        sim->links = ls;
        sim->links_cap = cap;
    }
    struct sim_link *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return TERN_ERR_NOMEM;
    }
    int id = sim->n_links;
    dir_init(sim, &l->dir[0], id, 0, a_to_b);
    dir_init(sim, &l->dir[1], id, 1, b_to_a);
    l->dir[0].from_host = l->dir[1].to_host = host_a;
    l->dir[0].from_netif = l->dir[1].to_netif = netif_a;
    l->dir[0].to_host = l->dir[1].from_host = host_b;
    l->dir[0].to_netif = l->dir[1].from_netif = netif_b;
    sim->links[sim->n_links++] = l;
    pa->link = id;
    pa->dir = 0;
    pb->link = id;
    pb->dir = 1;
    *link = id;
    return TERN_OK;
}

int
tern_sim_link_set_params(struct tern_sim *sim, int link, int dir, const struct tern_link_params *p)
{
    if (!link_ok(sim, link) || dir < 0 || dir > 1 || p == NULL || !params_ok(p)) {
        return TERN_ERR_INVAL;
    }
    sim->links[link]->dir[dir].p = *p;
    return TERN_OK;
}

int
tern_sim_link_stats(const struct tern_sim *sim, int link, int dir, struct tern_sim_link_stats *out)
{
    if (!link_ok(sim, link) || dir < 0 || dir > 1 || out == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = sim->links[link]->dir[dir].stats;
    return TERN_OK;
}

int
tern_sim_capture(struct tern_sim *sim, int link, const char *path)
{
    if (!link_ok(sim, link)) {
        return TERN_ERR_INVAL;
    }
    struct sim_link *l = sim->links[link];
    int rc = tern_pcap_close(l->pcap);
    l->pcap = NULL;
    if (path != NULL) {
        /* The link carries what its interfaces frame: Ethernet frames
         * between TERN_LINK_ETHERNET interfaces, else bare datagrams. */
        const struct sim_dir *d = &l->dir[0];
        bool eth = sim->hosts[d->to_host]->cfg.netifs[d->to_netif].link == TERN_LINK_ETHERNET;
        rc = tern_pcap_open(path, eth ? TERN_PCAP_LINKTYPE_ETHERNET : TERN_PCAP_LINKTYPE_RAW, 0,
                            &l->pcap);
    }
    return rc;
}

/* ---- Running -------------------------------------------------------------------- */

static void
run_arrival(struct tern_sim *sim, struct sim_packet *p)
{
    struct sim_dir *d = packet_dir(sim, p);
    if (d != NULL) {
        d->in_flight--;
    }
    struct sim_host *h = sim->hosts[p->to_host];
    if (h->stack == NULL) {
        packet_lose(sim, p, TERN_SIM_LOSS_HOST_DOWN);
        return;
    }
    if (d != NULL) {
        d->stats.delivered++;
    }
    emit(sim, TERN_SIM_EV_ARRIVED, p, sim->now, TERN_SIM_LOSS_NONE, 0);
    (void)tern_stack_input(h->stack, p->to_netif, p->data, p->len, sim->now);
    free(p);
}

bool
tern_sim_step(struct tern_sim *sim)
{
    if (sim == NULL) {
        return false;
    }
    sync_all(sim);
    struct sim_event *ev = heap_pop(sim);
    if (ev == NULL) {
        return false;
    }
    if (ev->t > sim->now) {
        sim->now = ev->t;
    }
    switch (ev->kind) {
    case EV_ARRIVAL:
        run_arrival(sim, (struct sim_packet *)ev);
        break;
    case EV_CALLBACK: {
        struct sim_callback *cb = (struct sim_callback *)ev;
        tern_sim_fn fn = cb->fn;
        void *ctx = cb->ctx;
        free(cb);
        fn(ctx, sim);
        break;
    }
    case EV_DEADLINE: {
        struct sim_host *h = (struct sim_host *)ev;
        h->polled_at = sim->now;
        tern_stack_poll(h->stack, sim->now);
        break;
    }
    }
    return true;
}

int64_t
tern_sim_next_event(struct tern_sim *sim)
{
    if (sim == NULL) {
        return INT64_MAX;
    }
    sync_all(sim);
    return sim->heap_len ? sim->heap[0]->t : INT64_MAX;
}

int
tern_sim_run_until(struct tern_sim *sim, int64_t t_ns)
{
    if (sim == NULL || t_ns < sim->now) {
        return TERN_ERR_INVAL;
    }
    while (tern_sim_next_event(sim) <= t_ns) {
        tern_sim_step(sim);
    }
    sim->now = t_ns;
    return TERN_OK;
}

int
tern_sim_run(struct tern_sim *sim, uint64_t max_events)
{
    if (sim == NULL) {
        return TERN_ERR_INVAL;
    }
    for (uint64_t n = 0; max_events == 0 || n < max_events; n++) {
        if (!tern_sim_step(sim)) {
            return TERN_OK;
        }
    }
    return tern_sim_next_event(sim) == INT64_MAX ? TERN_OK : TERN_ERR_AGAIN;
}

int
tern_sim_at(struct tern_sim *sim, int64_t t_ns, tern_sim_fn fn, void *ctx)
{
    if (sim == NULL || fn == NULL || t_ns < sim->now) {
        return TERN_ERR_INVAL;
    }
    struct sim_callback *cb = calloc(1, sizeof(*cb));
    if (cb == NULL) {
        return TERN_ERR_NOMEM;
    }
    cb->ev.kind = EV_CALLBACK;
    cb->ev.heap_idx = NOT_IN_HEAP;
    cb->fn = fn;
    cb->ctx = ctx;
    int rc = heap_push(sim, &cb->ev, t_ns);
    if (rc != TERN_OK) {
        free(cb);
    }
    return rc;
}

/* ---- Observer, filter, per-packet control ---------------------------------------- */

void
tern_sim_set_observer(struct tern_sim *sim, tern_sim_observer_fn fn, void *ctx)
{
    if (sim != NULL) {
        sim->observer = fn;
        sim->observer_ctx = ctx;
    }
}

void
tern_sim_set_filter(struct tern_sim *sim, tern_sim_filter_fn fn, void *ctx)
{
    if (sim != NULL) {
        sim->filter = fn;
        sim->filter_ctx = ctx;
    }
}

/* Unlinks the held packet `id` from the held list; NULL if there is none. */
static struct sim_packet *
held_take(struct tern_sim *sim, uint64_t id)
{
    if (sim == NULL) {
        return NULL;
    }
    for (struct sim_packet **pp = &sim->held; *pp != NULL; pp = &(*pp)->next_held) {
        struct sim_packet *p = *pp;
        if (p->id == id) {
            *pp = p->next_held;
            p->next_held = NULL;
            sim->n_held--;
            packet_dir(sim, p)->in_flight--;
            return p;
        }
    }
    return NULL;
}

int
tern_sim_release(struct tern_sim *sim, uint64_t packet_id)
{
    struct sim_packet *p = held_take(sim, packet_id);
    if (p == NULL) {
        return TERN_ERR_INVAL;
    }
    link_send(sim, p, 0, TERN_SIM_EV_RELEASED);
    return TERN_OK;
}

int
tern_sim_drop_held(struct tern_sim *sim, uint64_t packet_id)
{
    struct sim_packet *p = held_take(sim, packet_id);
    if (p == NULL) {
        return TERN_ERR_INVAL;
    }
    packet_lose(sim, p, TERN_SIM_LOSS_HELD_DROP);
    return TERN_OK;
}

size_t
tern_sim_held_count(const struct tern_sim *sim)
{
    return sim == NULL ? 0 : sim->n_held;
}

int
tern_sim_inject(struct tern_sim *sim, int host, int netif, const uint8_t *bytes, size_t len,
                int64_t at_ns, uint64_t *packet_id)
{
    if (!host_ok(sim, host) || netif < 0 || (unsigned)netif >= sim->hosts[host]->cfg.n_netifs ||
        bytes == NULL || len == 0 || len > 65535 || at_ns < sim->now) {
        return TERN_ERR_INVAL;
    }
    struct sim_packet *p = packet_new(sim, bytes, len);
    if (p == NULL) {
        return TERN_ERR_NOMEM;
    }
    p->injected = true;
    p->link = -1;
    p->dir = -1;
    p->from_host = -1;
    p->from_netif = -1;
    p->to_host = host;
    p->to_netif = netif;
    p->sent_ns = sim->now;
    if (heap_push(sim, &p->ev, at_ns) != TERN_OK) {
        free(p);
        return TERN_ERR_NOMEM;
    }
    if (packet_id != NULL) {
        *packet_id = p->id;
    }
    emit(sim, TERN_SIM_EV_INJECTED, p, at_ns, TERN_SIM_LOSS_NONE, 0);
    return TERN_OK;
}

const char *
tern_sim_event_name(enum tern_sim_event_kind k)
{
    switch (k) {
    case TERN_SIM_EV_SENT:
        return "sent";
    case TERN_SIM_EV_ARRIVED:
        return "arrived";
    case TERN_SIM_EV_LOST:
        return "lost";
    case TERN_SIM_EV_HELD:
        return "held";
    case TERN_SIM_EV_RELEASED:
        return "released";
    case TERN_SIM_EV_INJECTED:
        return "injected";
    case TERN_SIM_EV_DUPLICATED:
        return "duplicated";
    case TERN_SIM_EV_CORRUPTED:
        return "corrupted";
    case TERN_SIM_EV_HOST_CRASH:
        return "host-crash";
    case TERN_SIM_EV_HOST_RESTART:
        return "host-restart";
    }
    return "?";
}

const char *
tern_sim_loss_name(enum tern_sim_loss l)
{
    switch (l) {
    case TERN_SIM_LOSS_NONE:
        return "none";
    case TERN_SIM_LOSS_RANDOM:
        return "random";
    case TERN_SIM_LOSS_QUEUE:
        return "queue";
    case TERN_SIM_LOSS_CAPACITY:
        return "capacity";
    case TERN_SIM_LOSS_FILTER:
        return "filter";
    case TERN_SIM_LOSS_HELD_DROP:
        return "held-drop";
    case TERN_SIM_LOSS_HOST_DOWN:
        return "host-down";
    case TERN_SIM_LOSS_NO_LINK:
        return "no-link";
    }
    return "?";
}
