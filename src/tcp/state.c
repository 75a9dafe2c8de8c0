/*
 * src/tcp/state.c: tcp_set_state(), the only writer of tcb->state, and the
 * TCP trace events.
 *
 * Trace convention (read by the diagram renderer and the tests): every TCP
 * event has layer "tcp", the connection id in .conn (0 when no connection
 * is involved) and in .rule a static string that starts with the rule's
 * source, "RFC 9293 3.10.7.3: ..." or "RFC 5961 3.2: ...", followed by what
 * happened, "condition -> action". Segment events (TERN_TRACE_TX sent,
 * TERN_TRACE_RX arrived, TERN_TRACE_DROP dropped) also carry the segment's
 * fields in .tcp. State events carry old_state / new_state.
 */
#include "tcp/tcp.h"

#include "core/core.h"

const char *
tern_tcp_state_name(int state)
{
    switch ((enum tern_tcp_state)state) {
    case TERN_TCP_CLOSED:
        return "CLOSED";
    case TERN_TCP_LISTEN:
        return "LISTEN";
    case TERN_TCP_SYN_SENT:
        return "SYN-SENT";
    case TERN_TCP_SYN_RECEIVED:
        return "SYN-RECEIVED";
    case TERN_TCP_ESTABLISHED:
        return "ESTABLISHED";
    case TERN_TCP_FIN_WAIT_1:
        return "FIN-WAIT-1";
    case TERN_TCP_FIN_WAIT_2:
        return "FIN-WAIT-2";
    case TERN_TCP_CLOSE_WAIT:
        return "CLOSE-WAIT";
    case TERN_TCP_CLOSING:
        return "CLOSING";
    case TERN_TCP_LAST_ACK:
        return "LAST-ACK";
    case TERN_TCP_TIME_WAIT:
        return "TIME-WAIT";
    case TERN_TCP_STATE_COUNT:
        break;
    }
    return "?";
}

bool
tcp_state_synchronized(enum tern_tcp_state s)
{
    switch (s) {
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
    case TERN_TCP_TIME_WAIT:
        return true;
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
    case TERN_TCP_STATE_COUNT:
        return false;
    }
    return false;
}

void(tcp_set_state)(struct tern_stack *st, struct tcp_tcb *tcb, enum tern_tcp_state new_state,
                    const char *rule)
{
    enum tern_tcp_state old = tcb->state;
    tcb->state = new_state;
    /* Who closed first (RFC 9293 3.6): our FIN (CLOSE in SYN-RECEIVED or
     * ESTABLISHED) or the peer's (FIN in ESTABLISHED). Each connection
     * enters at most one of the two states, once. */
    if (new_state != old && new_state == TERN_TCP_FIN_WAIT_1) {
        st->stats.tcp.active_closes++;
    } else if (new_state != old && new_state == TERN_TCP_CLOSE_WAIT) {
        st->stats.tcp.passive_closes++;
    }
    if (st->trace == NULL) {
        return;
    }
    struct tern_trace_event ev = {
        .kind = TERN_TRACE_STATE,
        .now_ns = st->now_ns,
        .layer = "tcp",
        .rule = TERN_RULE_OUT(rule),
        .rule_id = TERN_RULE_ID_OUT(rule),
        .drop = TERN_DROP_COUNT,
        .conn = (uint32_t)tcb->id,
        .old_state = (int)old,
        .new_state = (int)new_state,
    };
    st->trace(st->trace_ctx, &ev);
}

void(tcp_trace_seg)(struct tern_stack *st, enum tern_trace_kind kind, const struct tcp_tcb *tcb,
                    const struct tcp_seg *seg, const char *rule, enum tern_drop_reason drop)
{
    if (st->trace == NULL) {
        return;
    }
    uint32_t text = seg->text_len;
    struct tern_trace_tcp info = {
        .src = seg->src,
        .dst = seg->dst,
        .sport = seg->sport,
        .dport = seg->dport,
        .seq = seg->seq,
        .ack = seg->ack,
        .flags = seg->flags,
        .wnd = seg->wnd,
        .len = text,
        .state = tcb != NULL ? (int)tcb->state : -1,
    };
    struct tern_trace_event ev = {
        .kind = kind,
        .now_ns = st->now_ns,
        .layer = "tcp",
        .rule = TERN_RULE_OUT(rule),
        .rule_id = TERN_RULE_ID_OUT(rule),
        .drop = drop,
        .conn = tcb != NULL ? (uint32_t)tcb->id : 0,
        .old_state = info.state,
        .new_state = info.state,
        .tcp = &info,
    };
    st->trace(st->trace_ctx, &ev);
}

void
tcp_drop(struct tern_stack *st, const struct tcp_tcb *tcb, const struct tcp_seg *seg,
         enum tern_drop_reason reason)
{
    st->stats.drops[reason]++;
    tcp_trace_seg(st, TERN_TRACE_DROP, tcb, seg, tern_drop_rule(reason), reason);
}

void(tcp_trace_note)(struct tern_stack *st, enum tern_trace_kind kind, const struct tcp_tcb *tcb,
                     const char *rule)
{
    if (st->trace == NULL) {
        return;
    }
    struct tern_trace_event ev = {
        .kind = kind,
        .now_ns = st->now_ns,
        .layer = "tcp",
        .rule = TERN_RULE_OUT(rule),
        .rule_id = TERN_RULE_ID_OUT(rule),
        .drop = TERN_DROP_COUNT,
        .conn = tcb != NULL ? (uint32_t)tcb->id : 0,
        .old_state = tcb != NULL ? (int)tcb->state : -1,
        .new_state = tcb != NULL ? (int)tcb->state : -1,
    };
    st->trace(st->trace_ctx, &ev);
}

void
tcp_state_restore(struct tcp_tcb *tcb, enum tern_tcp_state s)
{
    tcb->state = s;
}
