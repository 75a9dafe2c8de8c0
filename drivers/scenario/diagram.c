/*
 * drivers/scenario/diagram.c: draws a simulated conversation the way RFC
 * 9293 section 3.5 explains its figures: numbered lines, each side's state
 * AFTER the departure or arrival, arrows --> and <--, "..." for a segment
 * still in the network, comments in parentheses.
 *
 * Two passes. While the simulation runs, events become items (a departure,
 * an arrival, a loss, a comment, a crash, a timer, a state line), each with
 * a snapshot of both sides' states and the rules that produced it. After
 * the run, the layout pass turns items into lines:
 *
 * - a departure whose arrival follows with nothing drawn in between is one
 *   row, "STATE --> SEG --> STATE"; otherwise the departure is drawn with
 *   "..." on the far side and the arrival later with "..." on the near side;
 * - two segments that leave both sides at the same instant and arrive at
 *   the same instant (they cross) share one line of three rows, as RFC 9293
 *   Figure 13 draws them; the states after the crossing show on the next line;
 * - markers replace a state where the trace says what happened (see
 *   arrival_marker()), and a comment that replaces a state is followed by a
 *   line with both states.
 *
 * A side's state is the state of its "focus" connection: the one named by
 * the last trace event (state change, segment sent or received) of that host.
 */
#include "tern/scenario.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tern/tcp.h"

#define DG_TEXT 48
#define DG_SEG  96

enum dg_kind {
    DG_START,    /* drawing (re)starts: a line with both states */
    DG_DEP,      /* a segment leaves `side` */
    DG_ARR,      /* a segment arrives at `side` */
    DG_LOST,     /* a segment to `side` was lost */
    DG_MARK,     /* a user-call comment above the next line */
    DG_TMARK,    /* a timer ended a connection: comment row, then state row */
    DG_STATEROW, /* a user call changed a state without sending */
    DG_CRASH,    /* a host crashed (or rebooted) */
};

struct dg_rule {
    int side;
    const char *text; /* static, from the trace event; NULL without rule texts */
    uint32_t id;      /* the event's rule_id: printed as "rule #0x..." when text is NULL */
};

struct dg_item {
    enum dg_kind kind;
    int side; /* 0 left, 1 right */
    int64_t t;
    uint64_t pkt;
    uint8_t flags;
    char seg[DG_SEG];
    char state[2][DG_TEXT]; /* both sides' states after the item */
    char text[DG_TEXT];     /* DG_MARK, DG_TMARK, DG_CRASH: the comment */
    char note[DG_TEXT];     /* DG_CRASH: the peer's note; DG_ARR: sender-side label */
    bool sender_blank;      /* DG_DEP: sent by no connection or by a listener */
    bool dropped;           /* DG_ARR: the receiver dropped it */
    enum tern_drop_reason drop;
    bool abort_rst;  /* DG_ARR: a RST closed a synchronized connection */
    bool listen_rst; /* DG_ARR: a RST sent SYN-RECEIVED back to LISTEN */
    struct dg_rule *rules;
    size_t n_rules, cap_rules;
};

enum dg_ctx { CTX_NONE, CTX_STEP, CTX_USER };

struct dg_label {
    uint64_t pkt;
    char text[DG_TEXT];
};

struct tern_diagram {
    int host[2];
    char name[2][DG_TEXT];
    enum tern_diagram_data_style data_style;
    bool drawing;

    struct dg_item *items;
    size_t n_items, cap_items;

    /* Live state while the run goes on. */
    char focus_state[2][DG_TEXT];
    enum dg_ctx ctx;
    int ctx_side;          /* CTX_USER: whose call */
    long ctx_item;         /* item the current events belong to, or -1 */
    bool ctx_state_change; /* a state changed in this user call */
    int64_t now;
    struct dg_rule pending[16]; /* rules waiting for the next item of this context */
    size_t n_pending;
    bool tx_blank[2];          /* the last segment traced as sent by this side */
    struct dg_rule tx_rule[2]; /* and its rule */
    struct dg_label *labels;   /* labels of injected packets */
    size_t n_labels, cap_labels;
    bool oom;
};

/* ---- building ---- */

static int
side_of(const struct tern_diagram *d, int host)
{
    if (host == d->host[0]) {
        return 0;
    }
    return host == d->host[1] ? 1 : -1;
}

static void
copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

struct tern_diagram *
tern_diagram_new(int left, const char *left_name, int right, const char *right_name)
{
    struct tern_diagram *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return NULL;
    }
    d->host[0] = left;
    d->host[1] = right;
    copy_text(d->name[0], DG_TEXT, left_name != NULL ? left_name : "A");
    copy_text(d->name[1], DG_TEXT, right_name != NULL ? right_name : "B");
    copy_text(d->focus_state[0], DG_TEXT, "CLOSED");
    copy_text(d->focus_state[1], DG_TEXT, "CLOSED");
    d->ctx_item = -1;
    d->data_style = TERN_DIAGRAM_DATA_COUNT;
    tern_diagram_set_drawing(d, true);
    return d;
}

void
tern_diagram_free(struct tern_diagram *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_items; i++) {
        free(d->items[i].rules);
    }
    free(d->items);
    free(d->labels);
    free(d);
}

void
tern_diagram_set_data_style(struct tern_diagram *d, enum tern_diagram_data_style s)
{
    d->data_style = s;
}

/* Appends an item of `kind` with the current states; NULL when not drawing. */
static struct dg_item *
add_item(struct tern_diagram *d, enum dg_kind kind, int side)
{
    if (!d->drawing && kind != DG_START) {
        return NULL;
    }
    if (d->n_items == d->cap_items) {
        size_t cap = d->cap_items ? d->cap_items * 2 : 64;
        struct dg_item *n = realloc(d->items, cap * sizeof(*n));
        if (n == NULL) {
            d->oom = true;
            return NULL;
        }
        d->items = n;
        d->cap_items = cap;
    }
    struct dg_item *it = &d->items[d->n_items++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->side = side;
    it->t = d->now;
    it->drop = TERN_DROP_COUNT;
    memcpy(it->state, d->focus_state, sizeof(it->state));
    return it;
}

static void
add_rule(struct tern_diagram *d, struct dg_item *it, int side, struct dg_rule r)
{
    if (r.text == NULL && r.id == 0) {
        return;
    }
    if (it->n_rules == it->cap_rules) {
        size_t cap = it->cap_rules ? it->cap_rules * 2 : 4;
        struct dg_rule *n = realloc(it->rules, cap * sizeof(*n));
        if (n == NULL) {
            d->oom = true;
            return;
        }
        it->rules = n;
        it->cap_rules = cap;
    }
    r.side = side;
    it->rules[it->n_rules++] = r;
}

/* Makes `it` the item of the current context and gives it the rules that
 * were waiting for it. */
static void
take_context(struct tern_diagram *d, struct dg_item *it)
{
    d->ctx_item = (long)(it - d->items);
    for (size_t i = 0; i < d->n_pending; i++) {
        add_rule(d, it, d->pending[i].side, d->pending[i]);
    }
    d->n_pending = 0;
}

void
tern_diagram_set_drawing(struct tern_diagram *d, bool on)
{
    if (on && !d->drawing) {
        d->drawing = true;
        add_item(d, DG_START, -1);
    } else if (!on) {
        d->drawing = false;
    }
    d->ctx_item = -1;
    d->n_pending = 0;
}

void
tern_diagram_step(struct tern_diagram *d)
{
    d->ctx = CTX_STEP;
    d->ctx_item = -1;
    d->n_pending = 0;
}

void
tern_diagram_user(struct tern_diagram *d, int host, int64_t now_ns)
{
    d->ctx = CTX_USER;
    d->ctx_side = side_of(d, host);
    d->ctx_item = -1;
    d->ctx_state_change = false;
    d->n_pending = 0;
    d->now = now_ns;
}

void
tern_diagram_user_end(struct tern_diagram *d)
{
    /* A call that changed a state and sent nothing: draw the new states. */
    if (d->ctx_state_change && d->ctx_item < 0 && d->ctx_side >= 0) {
        struct dg_item *it = add_item(d, DG_STATEROW, d->ctx_side);
        if (it != NULL) {
            take_context(d, it);
        }
    }
    d->ctx = CTX_NONE;
    d->ctx_item = -1;
    d->n_pending = 0;
}

void
tern_diagram_mark(struct tern_diagram *d, int host, const char *text)
{
    int side = side_of(d, host);
    struct dg_item *it = side >= 0 ? add_item(d, DG_MARK, side) : NULL;
    if (it != NULL) {
        copy_text(it->text, DG_TEXT, text);
    }
}

void
tern_diagram_crash(struct tern_diagram *d, int host, bool reboot, const char *peer_note,
                   int64_t now_ns)
{
    int side = side_of(d, host);
    if (side < 0) {
        return;
    }
    d->now = now_ns;
    copy_text(d->focus_state[side], DG_TEXT, "CLOSED");
    struct dg_item *it = add_item(d, DG_CRASH, side);
    if (it != NULL) {
        copy_text(it->text, DG_TEXT, reboot ? "(REBOOT)" : "(CRASH)");
        copy_text(it->note, DG_TEXT, peer_note != NULL ? peer_note : "");
    }
}

void
tern_diagram_label(struct tern_diagram *d, uint64_t id, const char *label)
{
    if (d->n_labels == d->cap_labels) {
        size_t cap = d->cap_labels ? d->cap_labels * 2 : 8;
        struct dg_label *n = realloc(d->labels, cap * sizeof(*n));
        if (n == NULL) {
            d->oom = true;
            return;
        }
        d->labels = n;
        d->cap_labels = cap;
    }
    d->labels[d->n_labels].pkt = id;
    copy_text(d->labels[d->n_labels].text, DG_TEXT, label);
    d->n_labels++;
}

static void
append(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    copy_text(buf + n, cap - n, s);
}

/* Draws a TCP segment as the RFC does: <SEQ=n><ACK=n><CTL=SYN,ACK><DATA=n>.
 * Returns false if the datagram does not hold a TCP header. */
static bool
format_segment(const struct tern_diagram *d, const uint8_t *p, size_t len, char *out, size_t cap,
               uint8_t *flags_out)
{
    out[0] = '\0';
    if (len < 20 || (p[0] >> 4) != 4 || p[9] != 6) {
        return false;
    }
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = (size_t)p[2] << 8 | p[3];
    if (total > len) {
        total = len;
    }
    if (ihl < 20 || total < ihl + 20) {
        return false;
    }
    const uint8_t *t = p + ihl;
    uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
    uint32_t ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
    size_t doff = (size_t)(t[12] >> 4) * 4;
    uint8_t flags = t[13];
    size_t text = total - ihl > doff ? total - ihl - doff : 0;
    char buf[32];
    snprintf(buf, sizeof(buf), "<SEQ=%u>", (unsigned)seq);
    append(out, cap, buf);
    if (flags & 0x10) {
        snprintf(buf, sizeof(buf), "<ACK=%u>", (unsigned)ack);
        append(out, cap, buf);
    }
    static const struct {
        uint8_t bit;
        const char *name;
    } ctl[] = {{0x02, "SYN"}, {0x01, "FIN"}, {0x04, "RST"}, {0x20, "URG"}, {0x10, "ACK"}};
    bool any = false;
    for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
        if (flags & ctl[i].bit) {
            append(out, cap, any ? "," : "<CTL=");
            append(out, cap, ctl[i].name);
            any = true;
        }
    }
    if (any) {
        append(out, cap, ">");
    }
    if (text > 0 && d->data_style == TERN_DIAGRAM_DATA_PLAIN) {
        append(out, cap, "<DATA>");
    } else if (text > 0) {
        snprintf(buf, sizeof(buf), "<DATA=%zu>", text);
        append(out, cap, buf);
    }
    *flags_out = flags;
    return true;
}

static const char *
find_label(const struct tern_diagram *d, uint64_t pkt)
{
    for (size_t i = 0; i < d->n_labels; i++) {
        if (d->labels[i].pkt == pkt) {
            return d->labels[i].text;
        }
    }
    return NULL;
}

static void
packet_item(struct tern_diagram *d, enum dg_kind kind, int side, const struct tern_sim_event *ev)
{
    char seg[DG_SEG];
    uint8_t flags = 0;
    if (!format_segment(d, ev->pkt.data, ev->pkt.len, seg, sizeof(seg), &flags)) {
        return;
    }
    struct dg_item *it = add_item(d, kind, side);
    if (it == NULL) {
        return;
    }
    it->pkt = ev->pkt.id;
    it->flags = flags;
    copy_text(it->seg, DG_SEG, seg);
    if (kind != DG_LOST) {
        take_context(d, it); /* rules of the call or timer that sent it come first */
    }
    if (kind == DG_DEP) {
        it->sender_blank = d->tx_blank[side];
        add_rule(d, it, side, d->tx_rule[side]);
        d->tx_rule[side] = (struct dg_rule){0};
    }
    if (kind == DG_ARR) {
        const char *label = find_label(d, ev->pkt.id);
        copy_text(it->note, DG_TEXT, label != NULL ? label : "");
    }
}

void
tern_diagram_observe(struct tern_diagram *d, const struct tern_sim_event *ev)
{
    d->now = ev->now_ns;
    switch (ev->kind) {
    case TERN_SIM_EV_SENT: {
        int side = side_of(d, ev->pkt.from_host);
        if (side >= 0) {
            packet_item(d, DG_DEP, side, ev);
        }
        break;
    }
    case TERN_SIM_EV_ARRIVED: {
        int side = side_of(d, ev->pkt.to_host);
        if (side >= 0) {
            packet_item(d, DG_ARR, side, ev);
        }
        break;
    }
    case TERN_SIM_EV_LOST: {
        int side = side_of(d, ev->pkt.to_host);
        if (side >= 0 && ev->loss != TERN_SIM_LOSS_HOST_DOWN) {
            packet_item(d, DG_LOST, side, ev);
        } else if (side >= 0) {
            packet_item(d, DG_ARR, side, ev); /* arrived at a crashed host */
        }
        break;
    }
    case TERN_SIM_EV_HELD:
    case TERN_SIM_EV_RELEASED:
    case TERN_SIM_EV_INJECTED:
    case TERN_SIM_EV_DUPLICATED:
    case TERN_SIM_EV_CORRUPTED:
    case TERN_SIM_EV_HOST_CRASH:
    case TERN_SIM_EV_HOST_RESTART:
        break;
    }
}

static void
note_rule(struct tern_diagram *d, int side, const struct tern_trace_event *ev)
{
    struct dg_rule r = {side, ev->rule, ev->rule_id};
    if (!d->drawing || (r.text == NULL && r.id == 0)) {
        return;
    }
    if (d->ctx_item >= 0) {
        add_rule(d, &d->items[d->ctx_item], side, r);
    } else if (d->n_pending < sizeof(d->pending) / sizeof(d->pending[0])) {
        d->pending[d->n_pending++] = r;
    }
}

/* A state change: the focus moves to that connection; the item of the
 * context shows the new state; an arrival records what the change means. */
static void
state_change(struct tern_diagram *d, int side, const struct tern_trace_event *ev)
{
    copy_text(d->focus_state[side], DG_TEXT, tern_tcp_state_name(ev->new_state));
    struct dg_item *it = d->ctx_item >= 0 ? &d->items[d->ctx_item] : NULL;
    if (d->ctx == CTX_USER) {
        d->ctx_state_change = true;
    }
    if (it == NULL && d->ctx == CTX_STEP && ev->new_state == TERN_TCP_CLOSED) {
        /* A timer closed the connection: TIME-WAIT's 2 MSL, or a timeout. */
        it = add_item(d, DG_TMARK, side);
        if (it != NULL) {
            copy_text(it->text, DG_TEXT,
                      ev->old_state == TERN_TCP_TIME_WAIT ? "(2 MSL)" : "(timeout)");
            take_context(d, it);
        }
    }
    if (it == NULL) {
        note_rule(d, side, ev);
        return;
    }
    copy_text(it->state[side], DG_TEXT, d->focus_state[side]);
    if (it->kind == DG_ARR && it->side == side && (it->flags & 0x04)) {
        bool was_sync = ev->old_state >= TERN_TCP_ESTABLISHED;
        if (was_sync && ev->new_state == TERN_TCP_CLOSED) {
            it->abort_rst = true;
        }
        if (ev->old_state == TERN_TCP_SYN_RECEIVED && ev->new_state == TERN_TCP_LISTEN) {
            it->listen_rst = true;
        }
    }
    note_rule(d, side, ev);
}

void
tern_diagram_trace(struct tern_diagram *d, int host, const struct tern_trace_event *ev)
{
    int side = side_of(d, host);
    if (side < 0 || ev->layer == NULL || strcmp(ev->layer, "tcp") != 0) {
        return;
    }
    if (ev->kind != TERN_TRACE_STATE && ev->conn != 0 && ev->tcp != NULL && ev->tcp->state >= 0) {
        copy_text(d->focus_state[side], DG_TEXT, tern_tcp_state_name(ev->tcp->state));
    }
    switch (ev->kind) {
    case TERN_TRACE_STATE:
        state_change(d, side, ev);
        break;
    case TERN_TRACE_TX:
        d->tx_blank[side] = ev->conn == 0 || (ev->tcp != NULL && ev->tcp->state == TERN_TCP_LISTEN);
        d->tx_rule[side] = (struct dg_rule){side, ev->rule, ev->rule_id};
        break;
    case TERN_TRACE_DROP:
        if (d->ctx_item >= 0) {
            struct dg_item *it = &d->items[d->ctx_item];
            if (it->kind == DG_ARR && it->side == side && !it->dropped) {
                it->dropped = true;
                it->drop = ev->drop;
            }
        }
        note_rule(d, side, ev);
        break;
    case TERN_TRACE_RX:
        break; /* "segment arrives": the arrival row says it */
    case TERN_TRACE_TIMER:
    case TERN_TRACE_EVENT:
        note_rule(d, side, ev);
        break;
    }
}

/* ---- layout ---- */

struct row {
    char left[DG_TEXT];
    const char *la;
    char seg[DG_SEG];
    const char *ra;
    char right[DG_TEXT];
};

struct line {
    struct row rows[8];
    size_t n_rows;
    bool numbered;
    const struct dg_item *src[8]; /* items whose rules the line explains */
    size_t n_src;
};

struct layout {
    struct line *lines;
    size_t n, cap;
    char pre[2][DG_TEXT];  /* comments for the next line */
    bool pending_state;    /* a state line is due */
    char pend[2][DG_TEXT]; /* its states */
    bool initial;          /* the picture's first line is due */
    char init[2][DG_TEXT]; /* its states */
    bool last_is_state;    /* the last line is a bare state line */
    bool oom;
};

static struct line *
new_line(struct layout *lo)
{
    if (lo->n == lo->cap) {
        size_t cap = lo->cap ? lo->cap * 2 : 32;
        struct line *n = realloc(lo->lines, cap * sizeof(*n));
        if (n == NULL) {
            lo->oom = true;
            return NULL;
        }
        lo->lines = n;
        lo->cap = cap;
    }
    struct line *l = &lo->lines[lo->n++];
    memset(l, 0, sizeof(*l));
    l->numbered = true;
    lo->last_is_state = false;
    return l;
}

static struct row *
new_row(struct line *l)
{
    if (l == NULL || l->n_rows == sizeof(l->rows) / sizeof(l->rows[0])) {
        return NULL;
    }
    struct row *r = &l->rows[l->n_rows++];
    memset(r, 0, sizeof(*r));
    return r;
}

static void
line_src(struct line *l, const struct dg_item *it)
{
    if (l != NULL && l->n_src < sizeof(l->src) / sizeof(l->src[0])) {
        l->src[l->n_src++] = it;
    }
}

static void
state_row(struct line *l, const char st[2][DG_TEXT])
{
    struct row *r = new_row(l);
    if (r != NULL) {
        copy_text(r->left, DG_TEXT, st[0]);
        copy_text(r->right, DG_TEXT, st[1]);
    }
}

/* Starts a line for a new event: first the due picture start and state
 * line, then the comments waiting above it. */
static struct line *
begin_line(struct layout *lo, bool shows_states)
{
    if (lo->initial) {
        lo->initial = false;
        state_row(new_line(lo), (const char(*)[DG_TEXT])lo->init);
        lo->last_is_state = true;
    }
    if (lo->pending_state) {
        lo->pending_state = false;
        if (!shows_states) {
            state_row(new_line(lo), (const char(*)[DG_TEXT])lo->pend);
            lo->last_is_state = true;
        }
    }
    struct line *l = new_line(lo);
    if (lo->pre[0][0] != '\0' || lo->pre[1][0] != '\0') {
        struct row *r = new_row(l);
        if (r != NULL) {
            copy_text(r->left, DG_TEXT, lo->pre[0]);
            copy_text(r->right, DG_TEXT, lo->pre[1]);
        }
        lo->pre[0][0] = lo->pre[1][0] = '\0';
    }
    return l;
}

/* What the receiving side shows for an arrival: its state, or a comment
 * derived from the trace (docs/scenarios.md, "Markers"). Sets *then_state
 * when the comment replaces a state that must follow on a line of its own. */
static const char *
arrival_marker(const struct dg_item *arr, bool rst_from_nobody, bool *then_state)
{
    *then_state = false;
    if (arr->abort_rst) {
        *then_state = true;
        return "(Abort!!)";
    }
    if (arr->listen_rst && rst_from_nobody) {
        *then_state = true;
        return "(return to LISTEN!)";
    }
    if (arr->dropped) {
        switch (arr->drop) {
        case TERN_DROP_TCP_NO_CONN:
        case TERN_DROP_TCP_LISTEN_ACK:
        case TERN_DROP_TCP_SYN_SYNCHRONIZED:
            return "(?"
                   "?)"; /* split: "??)" would be a trigraph */
        case TERN_DROP_TCP_SYN_SENT_BAD_ACK:
            return (arr->flags & 0x02) ? arr->state[arr->side] : "(!!)";
        default:
            break;
        }
    }
    return arr->state[arr->side];
}

static long
find_item(const struct tern_diagram *d, size_t from, enum dg_kind kind, uint64_t pkt)
{
    for (size_t j = from; j < d->n_items; j++) {
        if (d->items[j].kind == kind && d->items[j].pkt == pkt) {
            return (long)j;
        }
    }
    return -1;
}

static bool
rst_from_nobody(const struct tern_diagram *d, const struct dg_item *arr)
{
    long dep = -1;
    for (size_t j = 0; j < d->n_items; j++) {
        if (d->items[j].kind == DG_DEP && d->items[j].pkt == arr->pkt) {
            dep = (long)j;
            break;
        }
    }
    return dep < 0 || d->items[dep].sender_blank;
}

static const char *
arrow(int from_side)
{
    return from_side == 0 ? "-->" : "<--";
}

/* Fills one segment row. `near` is the sender's column text (NULL: "..."
 * on that side), `far` the receiver's (NULL: "..." on that side). */
static void
seg_row(struct row *r, int from_side, const char *seg, const char *near_text, bool near_arrow,
        const char *far_text, bool far_arrow)
{
    if (r == NULL) {
        return;
    }
    copy_text(r->seg, DG_SEG, seg);
    const char *na = near_arrow ? arrow(from_side) : "...";
    const char *fa = far_arrow ? arrow(from_side) : "...";
    char *near_col = from_side == 0 ? r->left : r->right;
    char *far_col = from_side == 0 ? r->right : r->left;
    copy_text(near_col, DG_TEXT, near_text != NULL ? near_text : "");
    copy_text(far_col, DG_TEXT, far_text != NULL ? far_text : "");
    r->la = from_side == 0 ? na : fa;
    r->ra = from_side == 0 ? fa : na;
}

/* Is anything drawn (not yet consumed) strictly between items i and j? */
static bool
quiet_between(const bool *used, size_t i, size_t j)
{
    for (size_t k = i + 1; k < j; k++) {
        if (!used[k]) {
            return false;
        }
    }
    return true;
}

/* Two segments crossing (RFC 9293 Figure 13): DEP i and the next DEP from
 * the other side at the same instant, both arriving at one later instant. */
static bool
find_pair(const struct tern_diagram *d, const bool *used, size_t i, size_t *j_out, long *ai,
          long *aj)
{
    const struct dg_item *a = &d->items[i];
    for (size_t j = i + 1; j < d->n_items; j++) {
        const struct dg_item *b = &d->items[j];
        if (used[j] || b->kind == DG_MARK) {
            continue;
        }
        if (b->kind != DG_DEP || b->side == a->side || b->t != a->t) {
            return false;
        }
        *ai = find_item(d, i + 1, DG_ARR, a->pkt);
        *aj = find_item(d, j + 1, DG_ARR, b->pkt);
        if (*ai < 0 || *aj < 0 || d->items[*ai].t != d->items[*aj].t) {
            return false;
        }
        *j_out = j;
        return true;
    }
    return false;
}

static void
layout_pair(const struct tern_diagram *d, struct layout *lo, bool *used, size_t i, size_t j,
            long ai, long aj)
{
    /* Comments of both users at that instant go above the line. */
    for (size_t k = i + 1; k < j; k++) {
        if (!used[k] && d->items[k].kind == DG_MARK) {
            copy_text(lo->pre[d->items[k].side], DG_TEXT, d->items[k].text);
            used[k] = true;
        }
    }
    const struct dg_item *ltr = d->items[i].side == 0 ? &d->items[i] : &d->items[j];
    const struct dg_item *rtl = d->items[i].side == 0 ? &d->items[j] : &d->items[i];
    const struct dg_item *ltr_arr = d->items[i].side == 0 ? &d->items[ai] : &d->items[aj];
    const struct dg_item *rtl_arr = d->items[i].side == 0 ? &d->items[aj] : &d->items[ai];
    struct line *l = begin_line(lo, true);
    seg_row(new_row(l), 0, ltr->seg, ltr->state[0], true, rtl->state[1], false);
    seg_row(new_row(l), 1, rtl->seg, "", true, "", true);
    seg_row(new_row(l), 0, ltr->seg, NULL, false, "", true);
    line_src(l, ltr);
    line_src(l, rtl);
    line_src(l, rtl_arr);
    line_src(l, ltr_arr);
    used[i] = used[j] = used[ai] = used[aj] = true;
    /* The states after the crossing show on the next line. */
    const struct dg_item *last = ai > aj ? &d->items[ai] : &d->items[aj];
    lo->pending_state = true;
    memcpy(lo->pend, last->state, sizeof(lo->pend));
}

static void
layout_dep(const struct tern_diagram *d, struct layout *lo, bool *used, size_t i)
{
    const struct dg_item *it = &d->items[i];
    size_t j;
    long ai, aj;
    long arr = find_item(d, i + 1, DG_ARR, it->pkt);
    if (arr < 0) {
        arr = find_item(d, i + 1, DG_LOST, it->pkt);
    }
    bool together = arr >= 0 && quiet_between(used, i, (size_t)arr);
    if (!together && find_pair(d, used, i, &j, &ai, &aj)) {
        layout_pair(d, lo, used, i, j, ai, aj);
        return;
    }
    const char *near_text = it->sender_blank ? "" : it->state[it->side];
    used[i] = true;
    if (!together) {
        struct line *l = begin_line(lo, false);
        seg_row(new_row(l), it->side, it->seg, near_text, true, "", false);
        line_src(l, it);
        return;
    }
    const struct dg_item *a = &d->items[arr];
    bool then_state = false;
    const char *far_text =
        a->kind == DG_LOST ? "(lost)" : arrival_marker(a, it->sender_blank, &then_state);
    struct line *l = begin_line(lo, false);
    seg_row(new_row(l), it->side, it->seg, near_text, true, far_text, a->kind != DG_LOST);
    line_src(l, it);
    line_src(l, a);
    used[arr] = true;
    if (then_state) {
        lo->pending_state = true;
        memcpy(lo->pend, a->state, sizeof(lo->pend));
    }
}

static void
layout_arrival(const struct tern_diagram *d, struct layout *lo, const struct dg_item *it)
{
    int from = 1 - it->side;
    bool then_state = false;
    const char *far_text =
        it->kind == DG_LOST ? "(lost)" : arrival_marker(it, rst_from_nobody(d, it), &then_state);
    struct line *l = begin_line(lo, false);
    seg_row(new_row(l), from, it->seg, it->note, false, far_text, it->kind != DG_LOST);
    line_src(l, it);
    if (then_state) {
        lo->pending_state = true;
        memcpy(lo->pend, it->state, sizeof(lo->pend));
    }
}

/* A timer closed a connection: "(2 MSL)" over "CLOSED". Both sides' timers
 * at one instant share the rows; a state line just drawn takes them. */
static void
layout_timer(const struct tern_diagram *d, struct layout *lo, bool *used, size_t i)
{
    const struct dg_item *it = &d->items[i];
    const struct dg_item *other = NULL;
    for (size_t k = i + 1; k < d->n_items; k++) {
        if (used[k]) {
            continue;
        }
        if (d->items[k].kind == DG_TMARK && d->items[k].side != it->side &&
            d->items[k].t == it->t) {
            other = &d->items[k];
            used[k] = true;
        }
        break;
    }
    struct line *l;
    if (lo->pending_state && !lo->initial) {
        lo->pending_state = false;
        l = new_line(lo);
        state_row(l, (const char(*)[DG_TEXT])lo->pend);
    } else if (lo->last_is_state && lo->n > 0) {
        l = &lo->lines[lo->n - 1];
    } else {
        l = begin_line(lo, false);
    }
    struct row *m = new_row(l);
    struct row *s = new_row(l);
    const struct dg_item *both[2] = {it, other};
    for (int k = 0; k < 2; k++) {
        if (both[k] == NULL || m == NULL || s == NULL) {
            continue;
        }
        copy_text(both[k]->side == 0 ? m->left : m->right, DG_TEXT, both[k]->text);
        copy_text(both[k]->side == 0 ? s->left : s->right, DG_TEXT, both[k]->state[both[k]->side]);
        line_src(l, both[k]);
    }
    lo->last_is_state = false;
}

static void
layout_item(const struct tern_diagram *d, struct layout *lo, bool *used, size_t i)
{
    const struct dg_item *it = &d->items[i];
    switch (it->kind) {
    case DG_START:
        used[i] = true;
        lo->initial = true;
        memcpy(lo->init, it->state, sizeof(lo->init));
        break;
    case DG_MARK:
        used[i] = true;
        copy_text(lo->pre[it->side], DG_TEXT, it->text);
        break;
    case DG_STATEROW: {
        used[i] = true;
        /* A run of state lines collapses into its last one; at the very
         * start it replaces the picture's first line. */
        if (i + 1 < d->n_items && d->items[i + 1].kind == DG_STATEROW) {
            break;
        }
        if (lo->initial) {
            lo->initial = false;
        }
        struct line *l = begin_line(lo, true);
        state_row(l, it->state);
        line_src(l, it);
        lo->last_is_state = true;
        break;
    }
    case DG_CRASH: {
        used[i] = true;
        lo->initial = false;
        struct line *l = begin_line(lo, false);
        struct row *r = new_row(l);
        if (r != NULL) {
            copy_text(it->side == 0 ? r->left : r->right, DG_TEXT, it->text);
            copy_text(it->side == 0 ? r->right : r->left, DG_TEXT, it->note);
        }
        line_src(l, it);
        lo->pending_state = true;
        memcpy(lo->pend, it->state, sizeof(lo->pend));
        break;
    }
    case DG_DEP:
        layout_dep(d, lo, used, i);
        break;
    case DG_ARR:
    case DG_LOST:
        used[i] = true;
        layout_arrival(d, lo, it);
        break;
    case DG_TMARK:
        used[i] = true;
        layout_timer(d, lo, used, i);
        break;
    }
}

static void
print_row(FILE *out, const struct row *r, const char *prefix, size_t lw, size_t sw)
{
    char buf[512];
    int n;
    if (r->seg[0] == '\0' && r->la == NULL) {
        n = snprintf(buf, sizeof(buf), "%s%-*s %3s %-*s %3s %s", prefix, (int)lw, r->left, "",
                     (int)sw, "", "", r->right);
    } else {
        n = snprintf(buf, sizeof(buf), "%s%-*s %3s %-*s %3s %s", prefix, (int)lw, r->left,
                     r->la != NULL ? r->la : "", (int)sw, r->seg, r->ra != NULL ? r->ra : "",
                     r->right);
    }
    if (n < 0) {
        return;
    }
    size_t len = strlen(buf);
    while (len > 0 && buf[len - 1] == ' ') {
        buf[--len] = '\0';
    }
    fprintf(out, "%s\n", buf);
}

static void
print_rules(FILE *out, const struct tern_diagram *d, const struct line *l)
{
    for (size_t s = 0; s < l->n_src; s++) {
        const struct dg_item *it = l->src[s];
        for (size_t k = 0; k < it->n_rules; k++) {
            const struct dg_rule *r = &it->rules[k];
            if (r->text != NULL) {
                fprintf(out, "         %s: %s\n", d->name[r->side], r->text);
            } else {
                /* Built without rule texts: tools/rule_ids.py decodes the id. */
                fprintf(out, "         %s: rule #0x%08" PRIx32 "\n", d->name[r->side], r->id);
            }
        }
    }
}

void
tern_diagram_render(const struct tern_diagram *d, bool explain, FILE *out)
{
    struct layout lo = {0};
    bool *used = calloc(d->n_items + 1, sizeof(bool));
    if (used == NULL || d->oom) {
        fprintf(out, "(diagram: out of memory)\n");
        free(used);
        return;
    }
    for (size_t i = 0; i < d->n_items; i++) {
        if (!used[i]) {
            layout_item(d, &lo, used, i);
        }
    }
    if (lo.initial) {
        lo.initial = false;
        state_row(new_line(&lo), (const char(*)[DG_TEXT])lo.init);
    }
    if (lo.pending_state) {
        state_row(new_line(&lo), (const char(*)[DG_TEXT])lo.pend);
    }
    if (lo.pre[0][0] != '\0' || lo.pre[1][0] != '\0') {
        struct row *r = new_row(new_line(&lo));
        if (r != NULL) {
            copy_text(r->left, DG_TEXT, lo.pre[0]);
            copy_text(r->right, DG_TEXT, lo.pre[1]);
        }
    }
    size_t lw = 0, sw = 0;
    for (size_t i = 0; i < lo.n; i++) {
        for (size_t k = 0; k < lo.lines[i].n_rows; k++) {
            const struct row *r = &lo.lines[i].rows[k];
            lw = strlen(r->left) > lw ? strlen(r->left) : lw;
            sw = strlen(r->seg) > sw ? strlen(r->seg) : sw;
        }
    }
    char left_head[DG_TEXT + 16];
    snprintf(left_head, sizeof(left_head), "TCP Peer %s", d->name[0]);
    if (strlen(left_head) > lw) {
        lw = strlen(left_head);
    }
    fprintf(out, "       %-*s %3s %-*s %3s TCP Peer %s\n\n", (int)lw, left_head, "", (int)sw, "",
            "", d->name[1]);
    for (size_t i = 0; i < lo.n; i++) {
        const struct line *l = &lo.lines[i];
        for (size_t k = 0; k < l->n_rows; k++) {
            char prefix[32];
            if (k == 0) {
                snprintf(prefix, sizeof(prefix), "%4zu.  ", i + 1);
            } else {
                snprintf(prefix, sizeof(prefix), "       ");
            }
            print_row(out, &l->rows[k], prefix, lw, sw);
        }
        if (explain) {
            print_rules(out, d, l);
        }
        if (i + 1 < lo.n) {
            fprintf(out, "\n");
        }
    }
    free(lo.lines);
    free(used);
}
