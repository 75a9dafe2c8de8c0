/*
 * src/tcp/api.c: the user calls of RFC 9293 3.10.1-3.10.6 (OPEN, SEND,
 * RECEIVE, CLOSE, ABORT, STATUS), listeners and accept: the tern_tcp_*
 * entry points, a thin layer over the engine. The primitives they share
 * with the engine (events, teardown, MSS) live in conn.c; no other file of
 * src/tcp calls a function defined here.
 *
 * Read first: RFC 9293 3.9.1 (the user interface), 3.10.1-3.10.6 (each
 * call, state by state), 3.5.3 and 3.6 (what the user is told when a
 * connection ends: MUST-12).
 */
#include "tcp/tcp.h"

#include <limits.h>
#include <string.h>

#include "core/core.h"
#include "ip/ip.h"
#include "tcp/seq.h"
#include "wire/tcp.h"

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define start_active(st, tcb, rule) (start_active)(st, tcb, TERN_RULE_ARG(rule))
#endif

/* ---- OPEN (3.10.1) ---- */

static bool
addr_usable_remote(const struct tern_stack *st, struct tern_ip a)
{
    /* MUST-46: an OPEN to a broadcast or multicast address is an error. */
    return !tern_ip_is_any(a) && !ip_is_multi(st, -1, a);
}

/* The OPEN's two addresses with their wildcards in one family: an
 * unspecified end takes the family of the other (a listener on :: keeps
 * ::). False when the two ends are of different families. */
static bool
open_addrs(const struct tern_tcp_open_args *a, struct tern_ip *l, struct tern_ip *r)
{
    *l = a->local_addr;
    *r = a->remote_addr;
    if (tern_ip_is_any(*r)) {
        *r = tern_ip_any_of(*l);
    } else if (tern_ip_is_any(*l)) {
        *l = tern_ip_any_of(*r);
    }
    return tern_ip_is4(*l) == tern_ip_is4(*r);
}

static int
open_check(const struct tern_stack *st, const struct tern_tcp_open_args *a, struct tern_ip l,
           struct tern_ip r)
{
    if (a->cc != NULL && tcp_cc_ops_by_name(a->cc) == NULL) {
        return TERN_ERR_INVAL; /* unknown congestion control */
    }
    if (!tern_ip_is_any(l) && !ip_is_ours(st, l)) {
        return TERN_ERR_INVAL; /* MUST-43: a local address must be one of ours */
    }
    if (a->passive) {
        bool wild = tern_ip_is_any(r) && a->remote_port == 0;
        bool full = !tern_ip_is_any(r) && a->remote_port != 0;
        if (a->local_port == 0 || !(wild || full) || (full && !addr_usable_remote(st, r))) {
            return TERN_ERR_INVAL;
        }
        return TERN_OK;
    }
    if (a->remote_port == 0 || !addr_usable_remote(st, r)) {
        return TERN_ERR_INVAL; /* "error: remote socket unspecified" */
    }
    return TERN_OK;
}

/* Sends the first SYN of an active OPEN (also for SEND in LISTEN). */
static void(start_active)(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule)
{
    tcb->iss = tcb->set_iss ? tcb->user_iss
                            : tcp_isn(st, tcb->local_addr, tcb->local_port, tcb->remote_addr,
                                      tcb->remote_port);
    tcb->snd_una = tcb->iss;
    tcb->snd_nxt = tcb->iss + 1;
    tcp_buf_snd_start(tcb, tcb->iss + 1);
    tcb->passive_open = false;
    tcb->opened_ns = st->now_ns;
    tcb->ecn_ok = st->cfg.tcp.ecn == TERN_TCP_ECN_ON; /* RFC 3168 6.1.1: our SYN asks */
    st->stats.tcp.active_opens++;
    tcp_set_state(st, tcb, TERN_TCP_SYN_SENT, rule);
    tcp_send_segment(st, tcb, tcb->iss, WIRE_TCP_SYN, 0,
                     "RFC 9293 3.10.1: active OPEN -> <SEQ=ISS><CTL=SYN>");
    tcp_rtx_update(st, tcb, true);
    tcp_user_timer_update(st, tcb, false);
}

static int
open_endpoints(struct tern_stack *st, const struct tern_tcp_open_args *a, struct tern_ip *laddr,
               struct tern_ip raddr, uint16_t *lport)
{
    *lport = a->local_port;
    if (a->passive) {
        if (tcp_hash_find(st, *laddr, *lport, raddr, a->remote_port) != NULL ||
            (a->remote_port != 0 &&
             tcp_mini_find(st, *laddr, *lport, raddr, a->remote_port) != NULL)) {
            return TERN_ERR_EXIST; /* MUST-41: never disturb an existing record */
        }
        return TERN_OK;
    }
    if (tern_ip_is_any(*laddr)) {
        /* MUST-44: ask IP for the source address of the route. */
        if (ip_route_src(st, raddr, laddr, NULL) < 0) {
            return TERN_ERR_NOROUTE;
        }
    }
    if (*lport == 0) {
        *lport = tcp_ephemeral_port(st, *laddr, raddr, a->remote_port);
        if (*lport == 0) {
            return TERN_ERR_NOBUFS;
        }
    }
    if (tcp_hash_find(st, *laddr, *lport, raddr, a->remote_port) != NULL ||
        tcp_mini_find(st, *laddr, *lport, raddr, a->remote_port) != NULL) {
        return TERN_ERR_EXIST; /* a TIME-WAIT or embryonic record holds the 4-tuple */
    }
    return TERN_OK;
}

int
tern_tcp_open(struct tern_stack *st, const struct tern_tcp_open_args *a, int64_t now_ns)
{
    if (st == NULL || a == NULL) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    struct tern_ip laddr, raddr;
    int rc = open_addrs(a, &laddr, &raddr) ? open_check(st, a, laddr, raddr) : TERN_ERR_INVAL;
    uint16_t lport = 0;
    if (rc == TERN_OK) {
        rc = open_endpoints(st, a, &laddr, raddr, &lport);
    }
    if (rc != TERN_OK) {
        return rc;
    }
    struct tcp_tcb *tcb = tcp_tcb_alloc(st);
    if (tcb == NULL) {
        return TERN_ERR_NOBUFS; /* "error: insufficient resources" */
    }
    tcb->local_addr = laddr;
    tcb->local_port = lport;
    tcb->remote_addr = raddr;
    tcb->remote_port = a->remote_port;
    tcb->v6only = a->passive && a->v6only && tern_ip_is_unspec6(laddr);
    tcb->set_iss = a->set_iss;
    tcb->user_iss = a->iss;
    tcb->cb = a->cb;
    tcb->cb_ctx = a->cb_ctx;
    if (a->user_timeout_ns > 0) {
        tcb->user_timeout_ns = a->user_timeout_ns;
    }
    tcb->rcv_mss = a->mss;
    tcb->nodelay = a->nodelay;
    tcb->keepalive = a->keepalive || st->cfg.tcp.keepalive;
    tcb->tos = a->tos;
    if (a->cc != NULL) {
        tcb->use_cubic = tcp_cc_ops_by_name(a->cc)->algo == TCP_CC_CUBIC;
    }
    tcp_hash_insert(st, tcb);
    if (a->passive) {
        tcb->backlog = a->backlog != 0 ? a->backlog : st->cfg.tcp.backlog;
        tcp_set_state(st, tcb, TERN_TCP_LISTEN, "RFC 9293 3.10.1: passive OPEN -> LISTEN");
    } else {
        tcb->rcv_mss = 0;
        tcp_set_mss(st, tcb, 0, a->mss);
        start_active(st, tcb, "RFC 9293 3.10.1: active OPEN -> SYN-SENT");
    }
    tcp_deliver_events(st);
    return tcb->id;
}

int
tern_tcp_accept(struct tern_stack *st, int id, int64_t now_ns)
{
    struct tcp_tcb *lst = tcp_tcb_get(st, id);
    if (lst == NULL) {
        return TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    if (lst->state != TERN_TCP_LISTEN || lst->remote_port != 0) {
        return TERN_ERR_STATE;
    }
    struct tcp_tcb *child = tcp_tcb_at(st, lst->accept_head);
    if (child == NULL) {
        return TERN_ERR_AGAIN;
    }
    tcp_detach_child(st, child);
    child->role = TCP_ROLE_USER;
    /* Events held while it waited (text, FIN, reset) now reach the user. */
    if (child->ev_pending != 0) {
        tcp_event(st, child, 0);
    }
    tcp_deliver_events(st);
    return child->id;
}

/* ---- SEND (3.10.2) ---- */

/* The error for a call on a connection that has ended. */
static int
closed_error(const struct tcp_tcb *tcb)
{
    return tcb->error != 0 ? tcb->error : TERN_ERR_NOTCONN;
}

static int send_call(struct tern_stack *st, int id, const void *buf, size_t len, bool urgent,
                     int64_t now_ns);

int
tern_tcp_send(struct tern_stack *st, int id, const void *buf, size_t len, int64_t now_ns)
{
    return send_call(st, id, buf, len, false, now_ns);
}

int
tern_tcp_send_urgent(struct tern_stack *st, int id, const void *buf, size_t len, int64_t now_ns)
{
    return send_call(st, id, buf, len, true, now_ns);
}

static int
send_call(struct tern_stack *st, int id, const void *buf, size_t len, bool urgent, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN; /* "error: connection does not exist" */
    }
    if (buf == NULL && len != 0) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    switch (tcb->state) {
    case TERN_TCP_CLOSED:
        return closed_error(tcb);
    case TERN_TCP_LISTEN:
        if (tcb->remote_port == 0) {
            return TERN_ERR_STATE; /* "error: remote socket unspecified" */
        }
        /* A fully specified passive connection turns active. */
        tcp_set_mss(st, tcb, 0, tcb->rcv_mss);
        start_active(st, tcb, "RFC 9293 3.10.2: SEND in LISTEN -> active, SYN-SENT");
        break;
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_CLOSE_WAIT:
        break;
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_TIME_WAIT:
    case TERN_TCP_STATE_COUNT:
        return TERN_ERR_CLOSING;
    }
    if (tcb->fin_queued) {
        return TERN_ERR_CLOSING;
    }
    uint32_t n = len > INT_MAX ? INT_MAX : (uint32_t)len;
    n = tcp_buf_send(st, tcb, buf, n);
    if (n > 0) {
        /* MUST-61: the segment that carries this SEND's last octet gets PSH. */
        tcb->snd_psh = tcb->snd.start + tcb->snd.len;
    }
    if (urgent && n > 0) {
        /* 3.10.2: "If the URGENT flag is set, then SND.UP <- SND.NXT": the
         * octet after the last one of this SEND, which may still be queued
         * behind earlier text (MUST-62). Linux marks the same point. */
        tcb->snd_up = tcb->snd.start + tcb->snd.len;
        tcb->urg_snd = true;
    }
    /* ESTABLISHED, CLOSE-WAIT: segmentize now; SYN states: queued until
     * ESTABLISHED. */
    tcp_output(st, tcb);
    tcp_deliver_events(st);
    return (int)n;
}

/* ---- RECEIVE (3.10.3) ---- */

/* After RECEIVE freed buffer space: a window update when the window we
 * would announce passes the right edge last announced by at least
 * min(half the buffer, one MSS) (RFC 9293 3.8.6.2.2, MUST-39) and the
 * window announced is below that (the peer may be waiting on it), or when
 * it gains at least min(two segments, half the buffer). Otherwise the
 * right edge moves with the next ACK that a rule sends anyway: a window
 * update for every segment read would be an ACK per segment, which the
 * delayed-ACK rules exist to avoid (issue 11 item 12; Linux likewise
 * sends one on a read only when the window grows that much). */
static void
window_update(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t old_wnd)
{
    (void)old_wnd;
    uint32_t wnd = tcp_rcv_window(st, tcb);
    uint32_t half = tcb->rcv_cap / 2;
    uint32_t step = half < tcp_rmss(tcb) ? half : tcp_rmss(tcb);
    uint32_t big = half < 2 * tcp_rmss(tcb) ? half : 2 * tcp_rmss(tcb);
    uint32_t cur = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    bool open = tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_FIN_WAIT_1 ||
                tcb->state == TERN_TCP_FIN_WAIT_2;
    if (open && wnd >= cur + step && (cur < step || wnd - cur >= big)) {
        tcp_send_ack(st, tcb, "RFC 9293 3.8.6.2.2: RECEIVE opened the window -> window update");
    }
}

/* RFC 9293 3.10.3: "data following the urgent pointer (non-urgent data)
 * cannot be delivered to the user in the same buffer with preceding
 * urgent data unless the boundary is clearly marked": in urgent mode a
 * RECEIVE of n octets stops at the mark. */
static uint32_t
urgent_limit(const struct tcp_tcb *tcb, uint32_t n)
{
    if (seq_gt(tcb->rcv_up, tcb->rcv.start)) {
        uint32_t mark = tcb->rcv_up - tcb->rcv.start;
        return n < mark ? n : mark;
    }
    return n;
}

int
tern_tcp_urgent(const struct tern_stack *st, int id, struct tern_tcp_urgent *out)
{
    const struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    if (out == NULL) {
        return TERN_ERR_INVAL;
    }
    /* MUST-33: how much urgent data remains to be read. */
    *out = (struct tern_tcp_urgent){0};
    if (seq_gt(tcb->rcv_up, tcb->rcv.start)) {
        out->pending = true;
        out->mark = tcb->rcv_up - tcb->rcv.start;
        out->queued = out->mark < tcb->rcv.len ? out->mark : tcb->rcv.len;
    }
    return TERN_OK;
}

/* The text RECEIVE may hand out, in place: up to two pieces of the ring. */
int
tern_tcp_recv_peek(struct tern_stack *st, int id, const uint8_t **p1, size_t *n1,
                   const uint8_t **p2, size_t *n2)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    if (p1 == NULL || n1 == NULL || p2 == NULL || n2 == NULL) {
        return TERN_ERR_INVAL;
    }
    *p1 = *p2 = NULL;
    *n1 = *n2 = 0;
    if (tcb->rcv.len == 0) {
        return tern_tcp_recv(st, id, NULL, 0, st->now_ns);
    }
    uint32_t n = chain_pieces(&st->pool, &tcb->rcv, p1, n1, p2, n2);
    uint32_t lim = urgent_limit(tcb, n);
    if (lim < n) {
        /* 3.10.3: urgent and non-urgent text are not handed out together. */
        if (*n1 >= lim) {
            *n1 = lim;
            *n2 = 0;
            *p2 = NULL;
        } else {
            *n2 = lim - *n1;
        }
        n = lim;
    }
    return (int)(n > INT_MAX ? INT_MAX : n);
}

int
tern_tcp_peek(struct tern_stack *st, int id, size_t off, void *buf, size_t len)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    if (buf == NULL && len != 0) {
        return TERN_ERR_INVAL;
    }
    if (off >= tcb->rcv.len) {
        return 0;
    }
    size_t n = tcb->rcv.len - off;
    n = n < len ? n : len;
    n = n > INT_MAX ? INT_MAX : n;
    chain_read(&st->pool, &tcb->rcv, tcb->rcv.start + (uint32_t)off, buf, (uint32_t)n);
    return (int)n;
}

int
tern_tcp_recv_consume(struct tern_stack *st, int id, size_t n, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    if (n > tcb->rcv.len) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    uint32_t old_wnd = tcp_rcv_window(st, tcb);
    tcp_buf_consume(st, tcb, (uint32_t)n);
    window_update(st, tcb, old_wnd);
    tcp_deliver_events(st);
    return (int)n;
}

int
tern_tcp_set_nodelay(struct tern_stack *st, int id, bool on, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    tcb->nodelay = on;
    if (on) {
        tcp_output(st, tcb); /* what Nagle held back may go now */
        tcp_deliver_events(st);
    }
    return TERN_OK;
}

int
tern_tcp_set_keepalive(struct tern_stack *st, int id, bool on, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    tcb->keepalive = on;
    tcb->keep_probes = 0;
    tcb->last_rx_ns = st->now_ns; /* the idle interval starts now */
    tcp_keepalive_update(st, tcb);
    return TERN_OK;
}

int
tern_tcp_set_tos(struct tern_stack *st, int id, uint8_t tos)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    tcb->tos = tos; /* RFC 9293 3.9.1.9 SHLD-21: changeable during the connection */
    return TERN_OK;
}

int
tern_tcp_set_keepalive_params(struct tern_stack *st, int id, int64_t idle_ns, int64_t intvl_ns,
                              unsigned count, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    const int64_t ms = 1000000;
    int64_t max_ns = (int64_t)UINT32_MAX * ms; /* kept in milliseconds: 49 days */
    if (idle_ns < 0 || intvl_ns < 0 || idle_ns > max_ns || intvl_ns > max_ns || count > 255) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    tcb->keep_idle_ms = (uint32_t)((idle_ns + ms - 1) / ms); /* 0 stays 0: the stack's */
    tcb->keep_intvl_ms = (uint32_t)((intvl_ns + ms - 1) / ms);
    tcb->keep_count = (uint8_t)count;
    tcp_keepalive_update(st, tcb); /* a shorter idle time takes effect now */
    return TERN_OK;
}

int
tern_tcp_recv(struct tern_stack *st, int id, void *buf, size_t cap, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    if (buf == NULL && cap != 0) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    if (tcb->rcv.len > 0) {
        uint32_t old_wnd = tcp_rcv_window(st, tcb);
        uint32_t n = cap > INT_MAX ? INT_MAX : (uint32_t)cap;
        n = tcp_buf_recv(st, tcb, buf, urgent_limit(tcb, n));
        window_update(st, tcb, old_wnd);
        tcp_deliver_events(st);
        return (int)n;
    }
    switch (tcb->state) {
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
        return TERN_ERR_AGAIN;
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_TIME_WAIT:
        return TERN_ERR_CLOSING; /* the peer's FIN: no more text will come */
    case TERN_TCP_CLOSED:
    case TERN_TCP_STATE_COUNT:
        break;
    }
    return tcb->error != 0 ? tcb->error : tcb->fin_rcvd ? TERN_ERR_CLOSING : TERN_ERR_NOTCONN;
}

/* ---- CLOSE (3.10.4), ABORT (3.10.5), release ---- */

int
tern_tcp_close(struct tern_stack *st, int id, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    switch (tcb->state) {
    case TERN_TCP_CLOSED:
        return closed_error(tcb);
    case TERN_TCP_LISTEN:
        tcp_close_tcb(st, tcb, 0, "RFC 9293 3.10.4: CLOSE in LISTEN -> CLOSED");
        break;
    case TERN_TCP_SYN_SENT:
        tcp_close_tcb(st, tcb, 0, "RFC 9293 3.10.4: CLOSE in SYN-SENT -> CLOSED");
        break;
    case TERN_TCP_SYN_RECEIVED:
        tcb->fin_queued = true;
        if (tcb->snd.len == 0) {
            tcp_set_state(st, tcb, TERN_TCP_FIN_WAIT_1,
                          "RFC 9293 3.10.4: CLOSE in SYN-RECEIVED, nothing to send -> FIN-WAIT-1");
            tcp_output(st, tcb);
        }
        break;
    case TERN_TCP_ESTABLISHED:
        tcb->fin_queued = true;
        tcp_set_state(st, tcb, TERN_TCP_FIN_WAIT_1,
                      "RFC 9293 3.10.4: CLOSE in ESTABLISHED -> FIN-WAIT-1");
        tcp_output(st, tcb);
        break;
    case TERN_TCP_CLOSE_WAIT:
        tcb->fin_queued = true;
        tcp_set_state(st, tcb, TERN_TCP_LAST_ACK,
                      "RFC 9293 3.10.4: CLOSE in CLOSE-WAIT -> LAST-ACK");
        tcp_output(st, tcb);
        break;
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_TIME_WAIT:
    case TERN_TCP_STATE_COUNT:
        return TERN_ERR_CLOSING;
    }
    tcp_deliver_events(st);
    return TERN_OK;
}

int
tern_tcp_abort(struct tern_stack *st, int id, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    if (tcb->state == TERN_TCP_CLOSED) {
        return closed_error(tcb);
    }
    tcp_abort_tcb(st, tcb, "RFC 9293 3.10.5: ABORT -> CLOSED");
    tcp_deliver_events(st);
    return TERN_OK;
}

int
tern_tcp_shutdown_receive(struct tern_stack *st, int id, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    tcb->rcv_shut = true;
    return TERN_OK;
}

int
tern_tcp_release(struct tern_stack *st, int id, int64_t now_ns)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    stack_set_now(st, now_ns);
    if (tcb->rcv.len > 0 && tcb->state != TERN_TCP_CLOSED && tcb->state != TERN_TCP_TIME_WAIT) {
        /* RFC 1122 4.2.2.13, RFC 9293 3.6 (SHLD-3): given back with text
         * unread, which is now lost: a RST tells the peer so, instead of
         * the FIN (CLOSE-WAIT, ESTABLISHED) or after it (FIN-WAIT-*,
         * CLOSING, LAST-ACK), as Linux's close() does. (TIME-WAIT: the
         * connection is over, Linux sends nothing either.) */
        tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_RST, 0,
                         "RFC 9293 3.6 (SHLD-3): released with unread text -> "
                         "<SEQ=SND.NXT><CTL=RST>");
        tcp_close_tcb(st, tcb, 0, "RFC 9293 3.6 (SHLD-3): released with unread text -> CLOSED");
    }
    switch (tcb->state) {
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_CLOSE_WAIT:
        if (!tcb->fin_queued) {
            tcp_abort_tcb(st, tcb, "RFC 9293 3.10.5: released without CLOSE -> ABORT");
        }
        break;
    case TERN_TCP_CLOSED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_TIME_WAIT:
    case TERN_TCP_STATE_COUNT:
        break;
    }
    tcb->user_released = true;
    if (tcb->tw_rec >= 0) {
        /* A husk: TIME-WAIT goes on in its record alone. */
        tcp_mini_husk_gone(st, tcb, false);
        tcp_tcb_free(st, tcb);
    } else if (tcb->state == TERN_TCP_CLOSED) {
        tcp_tcb_free(st, tcb);
    } else {
        tcp_user_timer_update(st, tcb, false); /* an orphan in FIN-WAIT-2 is bounded */
    }
    tcp_deliver_events(st);
    return TERN_OK;
}

/* ---- STATUS (3.10.6), events ---- */

int
tern_tcp_status(const struct tern_stack *st, int id, struct tern_tcp_status *out)
{
    const struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL || out == NULL) {
        return tcb == NULL ? TERN_ERR_NOTCONN : TERN_ERR_INVAL;
    }
    *out = (struct tern_tcp_status){
        .state = tcb->state,
        .local_addr = tcb->local_addr,
        .remote_addr = tcb->remote_addr,
        .local_port = tcb->local_port,
        .remote_port = tcb->remote_port,
        .snd_una = tcb->snd_una,
        .snd_nxt = tcb->snd_nxt,
        .snd_wnd = tcb->snd_wnd,
        .iss = tcb->iss,
        .rcv_nxt = tcb->rcv_nxt,
        .rcv_wnd = tcp_rcv_window(st, tcb),
        .irs = tcb->irs,
        .snd_mss = tcb->snd_mss,
        .send_queued = tcb->snd.len,
        .recv_queued = tcb->rcv.len,
        .passive = tcb->passive_open || tcb->state == TERN_TCP_LISTEN,
        .error = tcb->error,
        .soft_error = tcb->soft_error,
        .retransmits = tcb->retries,
        .srtt_ns = tcb->rtt.have_sample ? tcb->rtt.srtt_ns : 0,
        .rttvar_ns = tcb->rtt.have_sample ? tcb->rtt.rttvar_ns : 0,
        .rto_ns = tcp_rtt_rto(&tcb->rtt),
        .cwnd = tcp_cwnd(tcb),
        .ssthresh = tcb->sx != NULL ? tcb->sx->cc.ssthresh : tcb->ssthresh,
        .total_retransmits = tcb->total_rtx,
        .snd_wscale = tcb->ws_ok ? tcb->snd_wscale : 0,
        .rcv_wscale = tcb->ws_ok ? tcb->rcv_wscale : 0,
        .ts_ok = tcb->ts_ok && tcp_state_synchronized(tcb->state),
        .sack_ok = tcb->sack_ok && tcp_state_synchronized(tcb->state),
        .nodelay = tcb->nodelay,
    };
    return TERN_OK;
}

unsigned
tern_tcp_port_use(const struct tern_stack *st, struct tern_ip addr, uint16_t port, bool v6only)
{
    unsigned use = 0;
    if (st == NULL) {
        return 0;
    }
    for (unsigned i = 0; i < st->tcp->n_tcbs; i++) {
        const struct tcp_tcb *t = &st->tcp->tcbs[i];
        if (t->role == TCP_ROLE_FREE || t->state == TERN_TCP_CLOSED || t->local_port != port) {
            continue;
        }
        if (!tcp_port_overlap(addr, v6only, t->local_addr, t->v6only)) {
            continue;
        }
        use |= t->state == TERN_TCP_LISTEN ? TERN_TCP_PORT_LISTEN : TERN_TCP_PORT_CONN;
    }
    return use | tcp_mini_port_use(st, addr, port, v6only);
}

unsigned
tern_tcp_events(const struct tern_stack *st, int id)
{
    const struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return 0;
    }
    unsigned ev = 0;
    bool can_send = tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_CLOSE_WAIT;
    ev |= tcb->connected ? TERN_TCP_EV_CONNECTED : 0;
    ev |= tcb->accept_head >= 0 ? TERN_TCP_EV_ACCEPT_READY : 0;
    ev |= tcb->rcv.len > 0 || tcb->fin_rcvd || tcb->state == TERN_TCP_CLOSED ? TERN_TCP_EV_READABLE
                                                                             : 0;
    ev |= can_send && !tcb->fin_queued && tcp_snd_room(st, tcb) > 0 ? TERN_TCP_EV_WRITABLE : 0;
    ev |= tcb->fin_rcvd ? TERN_TCP_EV_PEER_FIN : 0;
    ev |= tcb->state == TERN_TCP_CLOSED ? TERN_TCP_EV_CLOSED : 0;
    ev |= tcb->error != 0 ? TERN_TCP_EV_ERROR : 0;
    bool open = tcb->state != TERN_TCP_CLOSED && tcb->state != TERN_TCP_LISTEN;
    ev |= open && !tcb->no_reports && tcb->retries >= tcp_r1(&st->cfg.tcp)
              ? TERN_TCP_EV_DELIVERY_PROBLEM
              : 0;
    ev |= seq_gt(tcb->rcv_up, tcb->rcv.start) ? TERN_TCP_EV_URGENT : 0;
    return ev;
}

int
tern_tcp_error(const struct tern_stack *st, int id)
{
    const struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    return tcb == NULL ? TERN_ERR_NOTCONN : tcb->error;
}

int
tern_tcp_set_callback(struct tern_stack *st, int id, tern_tcp_event_fn fn, void *ctx)
{
    if (id == 0) {
        st->tcp->cb = fn;
        st->tcp->cb_ctx = ctx;
        return TERN_OK;
    }
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    tcb->cb = fn;
    tcb->cb_ctx = ctx;
    return TERN_OK;
}

int
tern_tcp_set_reports(struct tern_stack *st, int id, bool on)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    tcb->no_reports = !on;
    if (!on) {
        tcb->ev_pending &= (uint16_t)~TERN_TCP_EV_DELIVERY_PROBLEM;
    }
    return TERN_OK;
}

int
tern_tcp_set_iss(struct tern_stack *st, int id, uint32_t iss)
{
    struct tcp_tcb *tcb = tcp_tcb_get(st, id);
    if (tcb == NULL) {
        return TERN_ERR_NOTCONN;
    }
    tcb->set_iss = true;
    tcb->user_iss = iss;
    return TERN_OK;
}
