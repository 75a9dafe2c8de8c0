/*
 * drivers/scenario/run.c: runs a parsed scenario in a new simulation and
 * draws it (tern_scenario_run).
 *
 * Each host is a tern stack on one interface; the one link joins two of
 * them. The runner installs the simulator's observer and filter and each
 * stack's trace callback, and forwards everything to the diagram
 * (diagram.c); it also remembers what the expectations need: the segments
 * each host sent, the events and errors each host's user was given, and
 * which packets are still in flight. Children a listener completes are
 * accepted at once and become the host's connection for later calls.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario_internal.h"
#include "tern/craft.h"
#include "tern/stack.h"

#define SETTLE_MAX_EVENTS 100000
#define DEFAULT_DELAY_NS  10000000LL /* 10 ms */

struct sent_seg {
    uint32_t seq, ack, len;
    uint8_t flags;
};

struct run_host {
    struct run *run;
    int id;       /* sim host id (= scenario host index) */
    int listener; /* connection ids, 0 when none */
    int conn;
    unsigned events; /* TERN_TCP_EV_* bits ever reported */
    int errs[8];     /* errors ever reported */
    size_t n_errs;
    uint32_t hold, drop, delay; /* filter: next segments to hold / drop / delay */
    int64_t delay_ns;
    struct sent_seg *sent;
    size_t n_sent, cap_sent;
};

struct run {
    const struct tern_scenario *sc;
    struct tern_sim *sim;
    struct tern_diagram *dg;
    struct run_host hosts[SC_MAX_HOSTS];
    struct held {
        uint64_t id;
        int from;
    } * held; /* held packets, in the order they were held */
    size_t n_held, cap_held;
    uint64_t *flight; /* packets on the wire */
    size_t n_flight, cap_flight;
    FILE *err;
    const char *prefix; /* before each message on err; never NULL */
    int failed;         /* expectations not met */
    int error;          /* run errors */
    bool oom;
};

/* ---- bookkeeping ---- */

static bool
grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) {
        return true;
    }
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL) {
        return false;
    }
    *arr = p;
    *cap = ncap;
    return true;
}

static void
flight_add(struct run *r, uint64_t id)
{
    if (!grow((void **)&r->flight, &r->cap_flight, r->n_flight, sizeof(*r->flight))) {
        r->oom = true;
        return;
    }
    r->flight[r->n_flight++] = id;
}

static void
flight_remove(struct run *r, uint64_t id)
{
    for (size_t i = 0; i < r->n_flight; i++) {
        if (r->flight[i] == id) {
            r->flight[i] = r->flight[--r->n_flight];
            return;
        }
    }
}

static void
record_sent(struct run_host *h, const uint8_t *p, size_t len)
{
    if (len < 40 || p[9] != 6) {
        return;
    }
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = (size_t)p[2] << 8 | p[3];
    if (total > len || ihl < 20 || total < ihl + 20) {
        return;
    }
    const uint8_t *t = p + ihl;
    size_t doff = (size_t)(t[12] >> 4) * 4;
    if (!grow((void **)&h->sent, &h->cap_sent, h->n_sent, sizeof(*h->sent))) {
        h->run->oom = true;
        return;
    }
    h->sent[h->n_sent++] = (struct sent_seg){
        .seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7],
        .ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11],
        .flags = t[13],
        .len = total - ihl > doff ? (uint32_t)(total - ihl - doff) : 0,
    };
}

/* ---- callbacks ---- */

static void
on_observe(void *ctx, const struct tern_sim_event *ev)
{
    struct run *r = ctx;
    tern_diagram_observe(r->dg, ev);
    switch (ev->kind) {
    case TERN_SIM_EV_SENT:
        if (ev->pkt.from_host >= 0 && ev->pkt.from_host < r->sc->n_hosts) {
            record_sent(&r->hosts[ev->pkt.from_host], ev->pkt.data, ev->pkt.len);
        }
        if (ev->arrive_ns >= 0) {
            flight_add(r, ev->pkt.id);
        }
        break;
    case TERN_SIM_EV_RELEASED:
    case TERN_SIM_EV_INJECTED:
    case TERN_SIM_EV_DUPLICATED:
        if (ev->arrive_ns >= 0) {
            flight_add(r, ev->pkt.id);
        }
        break;
    case TERN_SIM_EV_ARRIVED:
    case TERN_SIM_EV_LOST:
        flight_remove(r, ev->pkt.id);
        break;
    case TERN_SIM_EV_HELD:
    case TERN_SIM_EV_CORRUPTED:
    case TERN_SIM_EV_HOST_CRASH:
    case TERN_SIM_EV_HOST_RESTART:
        break;
    }
}

static enum tern_sim_action
on_filter(void *ctx, const struct tern_sim_packet *pkt, int64_t *delay_ns)
{
    struct run *r = ctx;
    if (pkt->from_host < 0 || pkt->from_host >= r->sc->n_hosts) {
        return TERN_SIM_PASS;
    }
    struct run_host *h = &r->hosts[pkt->from_host];
    if (h->drop > 0) {
        h->drop--;
        return TERN_SIM_DROP;
    }
    if (h->hold > 0) {
        if (!grow((void **)&r->held, &r->cap_held, r->n_held, sizeof(*r->held))) {
            r->oom = true;
            return TERN_SIM_PASS;
        }
        h->hold--;
        r->held[r->n_held++] = (struct held){pkt->id, pkt->from_host};
        return TERN_SIM_HOLD;
    }
    if (h->delay > 0) {
        h->delay--;
        *delay_ns = h->delay_ns;
        return TERN_SIM_DELAY;
    }
    return TERN_SIM_PASS;
}

static void
on_trace(void *ctx, const struct tern_trace_event *ev)
{
    struct run_host *h = ctx;
    tern_diagram_trace(h->run->dg, h->id, ev);
}

static void
on_tcp_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct run_host *h = ctx;
    h->events |= events;
    if (err != 0 && h->n_errs < sizeof(h->errs) / sizeof(h->errs[0])) {
        h->errs[h->n_errs++] = err;
    }
    if (events & TERN_TCP_EV_ACCEPT_READY) {
        int c;
        while ((c = tern_tcp_accept(st, id, tern_sim_now(h->run->sim))) > 0) {
            h->conn = c;
        }
    }
}

static void
on_restart(void *ctx, struct tern_sim *sim, int host, struct tern_stack *st)
{
    struct run *r = ctx;
    (void)sim;
    if (host >= 0 && host < r->sc->n_hosts) {
        tern_tcp_set_callback(st, 0, on_tcp_event, &r->hosts[host]);
    }
}

/* ---- setup ---- */

static int
setup(struct run *r, const struct tern_scenario_opts *opts)
{
    const struct tern_scenario *sc = r->sc;
    if (tern_sim_new(sc->seed, &r->sim) != TERN_OK) {
        return TERN_ERR_NOMEM;
    }
    tern_sim_set_observer(r->sim, on_observe, r);
    tern_sim_set_filter(r->sim, on_filter, r);
    tern_sim_set_restart_handler(r->sim, on_restart, r);
    for (int i = 0; i < sc->n_hosts; i++) {
        const struct sc_host *sh = &sc->hosts[i];
        struct run_host *h = &r->hosts[i];
        h->run = r;
        struct tern_config cfg;
        tern_config_init(&cfg);
        cfg.seed = sc->seed * 1000 + (uint64_t)i;
        cfg.deterministic = true;  /* a scenario replays the same way every time */
        cfg.pool_bytes = 4u << 20; /* windows as large as the buffers: 16 KiB */
        cfg.n_netifs = 1;
        cfg.netifs[0].addr = sh->addr;
        cfg.netifs[0].prefix_len = 24;
        cfg.netifs[0].mtu = 1500;
        if (sh->msl_ns > 0) {
            cfg.tcp.msl_ns = sh->msl_ns;
        }
        if (sh->rto_ns > 0) {
            cfg.tcp.rto_initial_ns = sh->rto_ns;
        }
        if (sh->loss >= 0) {
            cfg.tcp.loss_detection = (enum tern_tcp_loss_detection)sh->loss;
        }
        cfg.trace = on_trace;
        cfg.trace_ctx = h;
        int rc = tern_sim_add_host(r->sim, sh->name, &cfg, &h->id);
        if (rc != TERN_OK) {
            fprintf(r->err, "%s%s: host %s: %s\n", r->prefix, sc->name, sh->name,
                    tern_strerror(rc));
            return rc;
        }
        tern_tcp_set_callback(tern_sim_host_stack(r->sim, h->id), 0, on_tcp_event, h);
    }
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = sc->link_delay_ns > 0 ? sc->link_delay_ns : DEFAULT_DELAY_NS;
    int link;
    int rc = tern_sim_link(r->sim, sc->link_a, 0, sc->link_b, 0, &lp, &lp, &link);
    if (rc != TERN_OK) {
        fprintf(r->err, "%s%s: link: %s\n", r->prefix, sc->name, tern_strerror(rc));
        return rc;
    }
    if (opts != NULL && opts->pcap_path != NULL) {
        rc = tern_sim_capture(r->sim, link, opts->pcap_path);
        if (rc != TERN_OK) {
            fprintf(r->err, "%s%s: cannot write the capture '%s'\n", r->prefix, sc->name,
                    opts->pcap_path);
            return rc;
        }
    }
    r->dg = tern_diagram_new(sc->draw_left, sc->hosts[sc->draw_left].name, sc->draw_right,
                             sc->hosts[sc->draw_right].name);
    if (r->dg == NULL) {
        return TERN_ERR_NOMEM;
    }
    tern_diagram_set_data_style(r->dg, sc->data_style);
    return TERN_OK;
}

/* ---- statements ---- */

static void
run_error(struct run *r, const struct sc_stmt *st, const char *what, int rc)
{
    fprintf(r->err, "%s%s:%d: '%s' failed: %s%s%s\n", r->prefix, r->sc->name, st->line, st->text,
            what, rc != 0 ? ": " : "", rc != 0 ? tern_strerror(rc) : "");
    r->error++;
}

static void
step(struct run *r)
{
    tern_diagram_step(r->dg);
    tern_sim_step(r->sim);
}

static void
do_wait(struct run *r, const struct sc_stmt *st)
{
    if (st->dur > 0) {
        int64_t end = tern_sim_now(r->sim) + st->dur;
        while (tern_sim_next_event(r->sim) <= end) {
            step(r);
        }
        tern_sim_run_until(r->sim, end);
        return;
    }
    /* Until no segment is on the wire (held ones do not count). */
    for (unsigned n = 0; r->n_flight > 0; n++) {
        if (n == SETTLE_MAX_EVENTS || tern_sim_next_event(r->sim) == INT64_MAX) {
            run_error(r, st, "segments still in flight", 0);
            return;
        }
        step(r);
    }
}

static struct tern_stack *
stack_of(struct run *r, const struct sc_stmt *st)
{
    struct tern_stack *s = tern_sim_host_stack(r->sim, r->hosts[st->host].id);
    if (s == NULL) {
        run_error(r, st, "the host is crashed", 0);
    }
    return s;
}

static void
do_open(struct run *r, const struct sc_stmt *st, struct tern_stack *s, int64_t now)
{
    struct run_host *h = &r->hosts[st->host];
    struct tern_tcp_open_args a = {0};
    a.passive = st->op == SC_LISTEN;
    a.set_iss = st->has_iss;
    a.iss = st->iss;
    if (a.passive) {
        a.local_port = st->port;
        a.backlog = st->backlog;
    } else {
        a.local_port = st->port;
        a.remote_addr = tern_ip4(r->sc->hosts[st->host2].addr);
        a.remote_port = st->port2;
    }
    int id = tern_tcp_open(s, &a, now);
    if (id < 0) {
        run_error(r, st, "OPEN", id);
        return;
    }
    if (a.passive) {
        h->listener = id;
    } else {
        h->conn = id;
    }
}

static void
do_send(struct run *r, const struct sc_stmt *st, struct tern_stack *s, int64_t now)
{
    struct run_host *h = &r->hosts[st->host];
    uint8_t buf[65535];
    for (uint32_t i = 0; i < st->count; i++) {
        buf[i] = st->data[0] != '\0' ? (uint8_t)st->data[i] : (uint8_t)('a' + i % 26);
    }
    int rc = tern_tcp_send(s, h->conn, buf, st->count, now);
    if (rc < 0) {
        run_error(r, st, "SEND", rc);
    } else if ((uint32_t)rc < st->count) {
        run_error(r, st, "SEND queued only part of the text", 0);
    }
}

/* The note drawn beside a crash on the peer's side: "(send 300,receive 100)". */
static void
peer_note(struct run *r, int host, char *out, size_t cap)
{
    out[0] = '\0';
    const struct tern_scenario *sc = r->sc;
    int peer = host == sc->draw_left ? sc->draw_right : sc->draw_left;
    struct tern_stack *s = tern_sim_host_stack(r->sim, r->hosts[peer].id);
    struct tern_tcp_status stt;
    if (s == NULL || r->hosts[peer].conn <= 0 ||
        tern_tcp_status(s, r->hosts[peer].conn, &stt) != TERN_OK ||
        stt.state < TERN_TCP_ESTABLISHED) {
        return;
    }
    snprintf(out, cap, "(send %" PRIu32 ",receive %" PRIu32 ")", stt.snd_nxt, stt.rcv_nxt);
}

static void
do_crash(struct run *r, const struct sc_stmt *st)
{
    struct run_host *h = &r->hosts[st->host];
    char note[64];
    peer_note(r, st->host, note, sizeof(note));
    int rc = tern_sim_crash(r->sim, h->id);
    if (rc != TERN_OK) {
        run_error(r, st, "crash", rc);
        return;
    }
    h->listener = h->conn = 0;
    bool reboot = st->op == SC_REBOOT;
    if (reboot && (rc = tern_sim_restart(r->sim, h->id)) != TERN_OK) {
        run_error(r, st, "restart", rc);
    }
    tern_diagram_crash(r->dg, h->id, reboot, note, tern_sim_now(r->sim));
}

/* An injected segment claims to come from `host`; it is an old duplicate
 * when that host has a connection on the same 4-tuple. */
static bool
is_duplicate(struct run *r, const struct sc_stmt *st)
{
    const struct run_host *h = &r->hosts[st->host];
    struct tern_stack *s = tern_sim_host_stack(r->sim, h->id);
    struct tern_tcp_status stt;
    if (s == NULL || h->conn <= 0 || tern_tcp_status(s, h->conn, &stt) != TERN_OK) {
        return false;
    }
    return stt.state != TERN_TCP_CLOSED && stt.state != TERN_TCP_LISTEN &&
           stt.local_port == st->port && stt.remote_port == st->port2 &&
           tern_ip_eq(stt.remote_addr, tern_ip4(r->sc->hosts[st->host2].addr));
}

static void
do_inject(struct run *r, const struct sc_stmt *st)
{
    uint32_t src = r->sc->hosts[st->host].addr, dst = r->sc->hosts[st->host2].addr;
    uint8_t text[SC_INJECT_DATA_MAX] = {0};
    struct tern_craft_tcp t = {
        .src = src,
        .dst = dst,
        .src_port = st->port,
        .dst_port = st->port2,
        .seq = st->seg.seq,
        .ack = st->seg.ack,
        .flags = (uint8_t)(st->seg.flags | (st->seg.has_ack ? TERN_CRAFT_ACK : 0)),
        .window = st->seg.has_wnd ? st->seg.wnd : 8192,
        .payload = text,
        .payload_len = st->seg.has_data ? st->seg.data_len : 0,
    };
    uint8_t pkt[20 + 60 + sizeof(text)];
    size_t n = tern_craft_ipv4_tcp(&t, pkt, sizeof(pkt));
    if (n == 0) {
        run_error(r, st, "inject", TERN_ERR_INVAL);
        return;
    }
    uint64_t id = 0;
    bool dup = is_duplicate(r, st);
    int rc = tern_sim_inject(r->sim, r->hosts[st->host2].id, 0, pkt, n, tern_sim_now(r->sim), &id);
    if (rc != TERN_OK) {
        run_error(r, st, "inject", rc);
        return;
    }
    if (dup) {
        tern_diagram_label(r->dg, id, "(duplicate)");
    }
}

static void
do_release(struct run *r, const struct sc_stmt *st)
{
    size_t keep = 0;
    for (size_t i = 0; i < r->n_held; i++) {
        if (st->host >= 0 && r->held[i].from != st->host) {
            r->held[keep++] = r->held[i];
            continue;
        }
        if (tern_sim_release(r->sim, r->held[i].id) != TERN_OK) {
            run_error(r, st, "release", TERN_ERR_INVAL);
        }
    }
    r->n_held = keep;
}

/* A user call: OPEN, SEND, CLOSE, ABORT, or setting the ISS. */
static void
do_call(struct run *r, const struct sc_stmt *st)
{
    struct tern_stack *s = stack_of(r, st);
    if (s == NULL) {
        return;
    }
    struct run_host *h = &r->hosts[st->host];
    int64_t now = tern_sim_now(r->sim);
    int target = h->conn > 0 ? h->conn : h->listener;
    if (st->op == SC_CLOSE) {
        tern_diagram_mark(r->dg, h->id, "(Close)");
    } else if (st->op == SC_ABORT) {
        tern_diagram_mark(r->dg, h->id, "(Abort)");
    }
    tern_diagram_user(r->dg, h->id, now);
    int rc = TERN_OK;
    switch (st->op) {
    case SC_LISTEN:
    case SC_OPEN:
        do_open(r, st, s, now);
        break;
    case SC_SEND:
        do_send(r, st, s, now);
        break;
    case SC_CLOSE:
        rc = tern_tcp_close(s, target, now);
        break;
    case SC_ABORT:
        rc = tern_tcp_abort(s, target, now);
        break;
    case SC_ISS:
        rc = tern_tcp_set_iss(s, h->listener > 0 ? h->listener : h->conn, st->iss);
        break;
    default:
        break;
    }
    tern_diagram_user_end(r->dg);
    if (rc < 0) {
        run_error(r, st, st->op == SC_CLOSE ? "CLOSE" : st->op == SC_ABORT ? "ABORT" : "ISS", rc);
    }
}

/* ---- expectations ---- */

static void
unmet(struct run *r, const struct sc_stmt *st, const char *got)
{
    fprintf(r->err, "%s%s:%d: expectation failed: %s (got %s)\n", r->prefix, r->sc->name, st->line,
            st->text, got);
    r->failed++;
}

static void
expect_state(struct run *r, const struct sc_stmt *st)
{
    const struct run_host *h = &r->hosts[st->host];
    struct tern_stack *s = tern_sim_host_stack(r->sim, h->id);
    int id = h->conn > 0 ? h->conn : h->listener;
    struct tern_tcp_status stt;
    int state = TERN_TCP_CLOSED;
    if (s != NULL && id > 0 && tern_tcp_status(s, id, &stt) == TERN_OK) {
        state = (int)stt.state;
    }
    if ((state == st->state) == st->negate) {
        unmet(r, st, tern_tcp_state_name(state));
    }
}

static void
expect_event(struct run *r, const struct sc_stmt *st)
{
    const struct run_host *h = &r->hosts[st->host];
    bool seen = st->ev_bit != 0 && (h->events & st->ev_bit) != 0;
    for (size_t i = 0; i < h->n_errs && st->ev_err != 0; i++) {
        seen = seen || h->errs[i] == st->ev_err;
    }
    if (seen == st->negate) {
        char got[128];
        snprintf(got, sizeof(got), "events 0x%x, %zu error(s)%s%s", h->events, h->n_errs,
                 h->n_errs ? ", last: " : "",
                 h->n_errs ? tern_strerror(h->errs[h->n_errs - 1]) : "");
        unmet(r, st, got);
    }
}

static bool
seg_matches(const struct sc_seg *want, const struct sent_seg *s)
{
    uint8_t mask = 0x01 | 0x02 | 0x04 | 0x10; /* PSH and URG only when asked */
    if (want->has_ctl && (want->flags & (0x08 | 0x20))) {
        mask |= 0x08 | 0x20;
    }
    return (!want->has_seq || want->seq == s->seq) && (!want->has_ack || want->ack == s->ack) &&
           (!want->has_ctl || (s->flags & mask) == want->flags) &&
           (!want->has_data || want->data_len == s->len);
}

static void
expect_sent(struct run *r, const struct sc_stmt *st)
{
    const struct run_host *h = &r->hosts[st->host];
    size_t matched = 0;
    for (size_t i = 0; i < h->n_sent; i++) {
        matched += seg_matches(&st->seg, &h->sent[i]) ? 1 : 0;
    }
    bool seen = st->has_times ? matched == st->count : matched > 0;
    if (seen == st->negate) {
        char got[96];
        snprintf(got, sizeof(got), "%zu segment(s) sent by %s, %zu of them matching", h->n_sent,
                 r->sc->hosts[st->host].name, matched);
        unmet(r, st, got);
    }
}

/* cwnd or ssthresh of the host's connection, in bytes (tern_tcp_status). */
static void
expect_cwnd(struct run *r, const struct sc_stmt *st)
{
    const struct run_host *h = &r->hosts[st->host];
    struct tern_stack *s = tern_sim_host_stack(r->sim, h->id);
    struct tern_tcp_status stt;
    char got[64];
    if (s == NULL || h->conn <= 0 || tern_tcp_status(s, h->conn, &stt) != TERN_OK) {
        unmet(r, st, "no connection");
        return;
    }
    uint32_t v = st->state == 0 ? stt.cwnd : stt.ssthresh;
    if ((v == st->count) == st->negate) {
        snprintf(got, sizeof(got), "%s %" PRIu32, st->state == 0 ? "cwnd" : "ssthresh", v);
        unmet(r, st, got);
    }
}

static void
exec(struct run *r, const struct sc_stmt *st)
{
    struct run_host *h = st->host >= 0 ? &r->hosts[st->host] : NULL;
    switch (st->op) {
    case SC_WAIT:
        do_wait(r, st);
        break;
    case SC_LISTEN:
    case SC_OPEN:
    case SC_SEND:
    case SC_CLOSE:
    case SC_ABORT:
    case SC_ISS:
        do_call(r, st);
        break;
    case SC_CRASH:
    case SC_REBOOT:
        do_crash(r, st);
        break;
    case SC_RESTART: {
        int rc = tern_sim_restart(r->sim, h->id);
        if (rc != TERN_OK) {
            run_error(r, st, "restart", rc);
        }
        break;
    }
    case SC_HOLD:
        h->hold += st->count;
        break;
    case SC_DROP:
        h->drop += st->count;
        break;
    case SC_DELAY:
        h->delay += st->count;
        h->delay_ns = st->dur;
        break;
    case SC_RELEASE:
        do_release(r, st);
        break;
    case SC_INJECT:
        do_inject(r, st);
        break;
    case SC_DRAW:
        tern_diagram_set_drawing(r->dg, st->count != 0);
        break;
    case SC_EXPECT_STATE:
        expect_state(r, st);
        break;
    case SC_EXPECT_EVENT:
        expect_event(r, st);
        break;
    case SC_EXPECT_CWND:
        expect_cwnd(r, st);
        break;
    case SC_EXPECT_SENT:
        expect_sent(r, st);
        break;
    }
}

int
tern_scenario_run(const struct tern_scenario *sc, const struct tern_scenario_opts *opts, FILE *out,
                  FILE *err)
{
    struct run *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        fprintf(err, "%s: out of memory\n", sc->name);
        return 2;
    }
    r->sc = sc;
    r->err = err;
    r->prefix = opts != NULL && opts->prefix != NULL ? opts->prefix : "";
    int result = 2;
    if (setup(r, opts) == TERN_OK) {
        for (size_t i = 0; i < sc->n_stmts; i++) {
            exec(r, &sc->stmts[i]);
        }
        tern_diagram_render(r->dg, opts != NULL && opts->explain, out);
        if (r->oom) {
            fprintf(err, "%s: out of memory\n", sc->name);
            r->error++;
        }
        result = r->error ? 2 : r->failed ? 1 : 0;
    }
    tern_sim_free(r->sim);
    tern_diagram_free(r->dg);
    for (int i = 0; i < SC_MAX_HOSTS; i++) {
        free(r->hosts[i].sent);
    }
    free(r->held);
    free(r->flight);
    free(r);
    return result;
}
