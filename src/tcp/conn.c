/*
 * src/tcp/conn.c: the primitives of a connection's life that the engine
 * (input.c, timer.c, mini.c, buf.c...) and the user calls (api.c) share:
 * events queued for the user and their delivery (RFC 9293 3.9.1.8), the
 * end of a connection (CLOSED, ABORT, a child's return to LISTEN), its
 * establishment, and the MSS of each direction.
 *
 * Read first: RFC 9293 3.9.1.8 (events), 3.10.4-3.10.5 (CLOSE, ABORT),
 * 3.10.7.4 (reset and return to LISTEN), 3.7.1 (MSS: MUST-15, -16, -67).
 */
#include <stdbool.h>
#include <string.h>

#include "core/core.h"
#include "ip/ip.h"
#include "tcp/tcp.h"
#include "wire/tcp.h"

/* ---- events ---- */

void
tcp_event(struct tern_stack *st, struct tcp_tcb *tcb, unsigned events)
{
    tcb->ev_pending |= events;
    if (tcb->role != TCP_ROLE_USER || tcb->user_released || tcb->ev_listed) {
        return; /* a child's events wait until it is accepted */
    }
    tcb->ev_listed = true;
    tcb->ev_next = -1;
    int slot = tcp_tcb_slot(st, tcb);
    if (st->tcp->ev_tail >= 0) {
        st->tcp->tcbs[st->tcp->ev_tail].ev_next = slot;
    } else {
        st->tcp->ev_head = slot;
    }
    st->tcp->ev_tail = slot;
}

void
tcp_deliver_events(struct tern_stack *st)
{
    struct tcp_state *t = st->tcp;
    if (t->delivering) {
        return;
    }
    t->delivering = true;
    while (t->ev_head >= 0) {
        struct tcp_tcb *tcb = &t->tcbs[t->ev_head];
        t->ev_head = tcb->ev_next;
        if (t->ev_head < 0) {
            t->ev_tail = -1;
        }
        tcb->ev_listed = false;
        unsigned ev = tcb->ev_pending;
        tcb->ev_pending = 0;
        if (tcb->role != TCP_ROLE_USER || tcb->user_released || ev == 0) {
            continue;
        }
        tern_tcp_event_fn fn = tcb->cb != NULL ? tcb->cb : t->cb;
        void *ctx = tcb->cb != NULL ? tcb->cb_ctx : t->cb_ctx;
        if (fn != NULL) {
            fn(ctx, st, tcb->id, ev, tcb->error);
        }
    }
    t->delivering = false;
}

/* ---- teardown ---- */

/* A child leaves its listener's count and accept queue. */
void
tcp_detach_child(struct tern_stack *st, struct tcp_tcb *child)
{
    struct tcp_tcb *lst = tcp_tcb_at(st, child->listener);
    child->listener = -1;
    if (lst == NULL) {
        return;
    }
    lst->n_pending--;
    if (!child->queued_for_accept) {
        return;
    }
    child->queued_for_accept = false;
    int slot = tcp_tcb_slot(st, child), prev = -1;
    for (int i = lst->accept_head; i >= 0; prev = i, i = st->tcp->tcbs[i].accept_next) {
        if (i != slot) {
            continue;
        }
        if (prev < 0) {
            lst->accept_head = child->accept_next;
        } else {
            st->tcp->tcbs[prev].accept_next = child->accept_next;
        }
        if (lst->accept_tail == slot) {
            lst->accept_tail = prev;
        }
        break;
    }
    child->accept_next = -1;
}

static void abort_children(struct tern_stack *st, struct tcp_tcb *lst);

void(tcp_close_tcb)(struct tern_stack *st, struct tcp_tcb *tcb, int err, const char *rule)
{
    bool was_listener = tcb->state == TERN_TCP_LISTEN && tcb->remote_port == 0;
    if (rule != NULL) {
        tcp_set_state(st, tcb, TERN_TCP_CLOSED, rule);
    } else {
        tcp_state_restore(tcb, TERN_TCP_CLOSED);
    }
    if (tcb->role == TCP_ROLE_SCRATCH) {
        /* A compact record's state: mini.c deletes the record after. */
        if (err != 0) {
            tcb->error = err;
        }
        tcp_timers_cancel(st, tcb);
        return;
    }
    if (tcb->tw_rec >= 0) {
        tcp_mini_husk_gone(st, tcb, true); /* a husk aborted: its record goes too */
    }
    if (err == TERN_ERR_RESET) {
        /* The peer's RST (3.10.7.4 second) says queues "should be flushed".
         * Choice: as Linux and FreeBSD, text that arrived in order before
         * the reset stays readable and RECEIVE reports the reset after it
         * (a server's last reply before its abort is not lost); only text
         * held out of order, which can never be delivered, goes now. */
        tcb->error = err;
        tcp_buf_rcv_drop_ooo(st, tcb);
    } else if (err != 0) {
        tcb->error = err;
        tcp_buf_rcv_flush(st, tcb); /* pending RECEIVEs are flushed */
    }
    tcp_buf_rcv_stop(st, tcb);
    tcp_timers_cancel(st, tcb);
    if (tcb->in_hash) {
        tcp_hash_remove(st, tcb);
    }
    tcp_buf_snd_flush(st, tcb); /* all segment queues are flushed */
    if (was_listener) {
        tcp_mini_listener_closed(st, tcb);
    }
    abort_children(st, tcb);
    if (tcb->role == TCP_ROLE_CHILD && tcb->queued_for_accept && err != 0 && tcb->listener >= 0) {
        /* An established connection the user has not accepted yet was reset
         * (or timed out): it stays in the accept queue, CLOSED, so that
         * ACCEPT hands it out and the user receives the "connection reset"
         * signal of RFC 9293 3.10.7.4 for a connection it can name (as
         * Linux's accept does). The events wait for the accept. */
        tcp_event(st, tcb, TERN_TCP_EV_CLOSED | TERN_TCP_EV_READABLE | TERN_TCP_EV_ERROR);
        return;
    }
    if (tcb->role == TCP_ROLE_CHILD) {
        /* Never seen by the user: gone at once. */
        tcp_detach_child(st, tcb);
        tcp_tcb_free(st, tcb);
        return;
    }
    tcp_event(st, tcb, TERN_TCP_EV_CLOSED | TERN_TCP_EV_READABLE | (err ? TERN_TCP_EV_ERROR : 0));
    if (tcb->user_released) {
        tcp_tcb_free(st, tcb);
    }
}

/* 3.10.5 ABORT: RST in SYN-RECEIVED and the synchronized states that still
 * have a peer to tell, then CLOSED. */
void(tcp_abort_tcb)(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule)
{
    switch (tcb->state) {
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSE_WAIT:
        tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_RST, 0,
                         "RFC 9293 3.10.5: ABORT -> <SEQ=SND.NXT><CTL=RST>");
        break;
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_TIME_WAIT:
    case TERN_TCP_STATE_COUNT:
        break;
    }
    tcp_close_tcb(st, tcb, 0, rule);
}

static void
abort_children(struct tern_stack *st, struct tcp_tcb *lst)
{
    if (lst->n_pending == 0) {
        return;
    }
    int slot = tcp_tcb_slot(st, lst);
    for (unsigned i = 0; i < st->tcp->n_tcbs && lst->n_pending > 0; i++) {
        struct tcp_tcb *c = &st->tcp->tcbs[i];
        if (c->role == TCP_ROLE_CHILD && c->listener == slot) {
            tcp_abort_tcb(st, c,
                          "RFC 9293 3.10.4: listener closed -> its unaccepted connections aborted");
        }
    }
}

void
tcp_on_established(struct tern_stack *st, struct tcp_tcb *tcb)
{
    st->stats.tcp.established++;
    tcb->connected = true;
    if (tcb->tw_parked >= 0) {
        int tw = tcb->tw_parked;
        tcb->tw_parked = -1;
        tcp_mini_tw_end(st, tw,
                        "RFC 9293 3.6 (MAY-2): new incarnation established -> TIME-WAIT ends");
    }
    struct tcp_tcb *lst = tcp_tcb_at(st, tcb->listener);
    if (tcb->role == TCP_ROLE_CHILD && lst != NULL) {
        int slot = tcp_tcb_slot(st, tcb);
        tcb->queued_for_accept = true;
        tcb->accept_next = -1;
        if (lst->accept_tail >= 0) {
            st->tcp->tcbs[lst->accept_tail].accept_next = slot;
        } else {
            lst->accept_head = slot;
        }
        lst->accept_tail = slot;
        tcp_event(st, lst, TERN_TCP_EV_ACCEPT_READY);
    }
    tcp_event(st, tcb, TERN_TCP_EV_CONNECTED | TERN_TCP_EV_WRITABLE);
    if (tcb->fin_queued) {
        /* 3.10.4: a CLOSE queued in SYN-RECEIVED is processed now. */
        tcp_set_state(st, tcb, TERN_TCP_FIN_WAIT_1,
                      "RFC 9293 3.10.4: CLOSE queued in SYN-RECEIVED, ESTABLISHED -> FIN-WAIT-1");
    }
}

void(tcp_child_to_listen)(struct tern_stack *st, struct tcp_tcb *child, const char *rule)
{
    tcp_set_state(st, child, TERN_TCP_LISTEN, rule);
    tcp_timers_cancel(st, child);
    if (child->role == TCP_ROLE_SCRATCH) {
        return; /* an embryonic record: mini.c deletes it (and unparks TIME-WAIT) */
    }
    if (child->in_hash) {
        tcp_hash_remove(st, child);
    }
    tcp_detach_child(st, child);
    tcp_tcb_free(st, child);
}

void
tcp_set_mss(struct tern_stack *st, struct tcp_tcb *tcb, uint16_t peer_mss, uint16_t user_mss)
{
    /* The headers below the MSS: 40 bytes for IPv4, 60 for IPv6 (RFC 9293
     * 3.7.1); with no route, the family's minimum datagram (576, 1280). */
    bool v4 = tern_ip_is4(tcb->remote_addr);
    uint32_t mtu = v4 ? 576 : 1280, hdrs = v4 ? 40 : 60;
    ip_route_src(st, tcb->remote_addr, NULL, &mtu);
    uint32_t path = mtu > hdrs ? mtu - hdrs : 1;
    /* MUST-67: announce at most what we can receive: the user's request
     * (OPEN's mss, a listener's passed to its children) capped by what
     * the route's MTU allows, on active and passive opens alike. */
    uint32_t want = user_mss != 0 ? user_mss : tcb->rcv_mss;
    tcb->rcv_mss = (uint16_t)(want != 0 && want < path ? want : path);
    /* MUST-15: 536 when the peer sent no MSS option; MUST-16: the smaller
     * of the send MSS and what the path lets us send. The user's request
     * caps what we send too, as Linux's TCP_MAXSEG does (RFC 9293 leaves
     * it open): rcv_mss is at most the path and at most the request. */
    uint32_t mss = peer_mss != 0 ? peer_mss : v4 ? TCP_DEFAULT_MSS : TCP_DEFAULT_MSS6;
    mss = mss < tcb->rcv_mss ? mss : tcb->rcv_mss;
    uint32_t room = (uint32_t)st->tcp->tx_buf_len - WIRE_TCP_HDR_LEN - WIRE_TCP_MAX_OPT_LEN;
    mss = mss < room ? mss : room;
    tcb->snd_mss = (uint16_t)(mss > 0 ? mss : 1);
}
