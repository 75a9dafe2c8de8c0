/*
 * src/tcp/timer.c: the three timeouts of RFC 9293 3.10.8.
 *
 * t_rtx  RETRANSMISSION TIMEOUT. Armed while anything we sent (SYN, text,
 *        FIN) is unacknowledged, at the current RTO (initially 1 s, RFC
 *        6298 2.1); restarted when an ACK acknowledges new data (RFC 6298
 *        5.3); cancelled when everything is acknowledged (5.2). On expiry
 *        the oldest segment is sent again and the RTO doubles up to the
 *        configured maximum (5.5, 5.6; MUST-19 exponential backoff). A SYN
 *        or SYN,ACK retransmitted cfg.syn_retries times gives up (MUST-22:
 *        the same mechanism as for data).
 * t_user USER TIMEOUT. In SYN-SENT and SYN-RECEIVED it is the connection-
 *        establishment timeout, measured from the OPEN (or from the SYN
 *        that made a listener's child); MUST-23 wants at least 3 minutes.
 *        In the synchronized states it runs while data or a FIN is
 *        unacknowledged and restarts when SND.UNA advances: it is R2 of
 *        3.8.3 (MUST-20), settable per connection (MUST-21). On expiry the
 *        connection is aborted with "connection aborted due to user
 *        timeout" (TERN_ERR_TIMEDOUT).
 * t_tw   TIME-WAIT TIMEOUT. 2 MSL (MUST-13), started on entering
 *        TIME-WAIT and restarted when a retransmitted FIN arrives; on
 *        expiry the TCB is deleted.
 */
#include "tcp/tcp.h"

#include "core/stack_internal.h"

static void
rtx_expired(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct tcp_tcb *tcb = TIMER_CONTAINER(t, struct tcp_tcb, t_rtx);
    (void)now_ns;
    bool opening = tcb->state == TERN_TCP_SYN_SENT || tcb->state == TERN_TCP_SYN_RECEIVED;
    if (opening && tcb->retries >= st->cfg.tcp.syn_retries) {
        st->stats.tcp.timeouts++;
        tcp_close_tcb(st, tcb, TERN_ERR_TIMEDOUT,
                      "RFC 9293 3.8.3: SYN retransmitted R2 times -> connection closed");
        tcp_deliver_events(st);
        return;
    }
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb, "RFC 6298 5.4: retransmission timer expired");
    tcb->retries++;
    tcp_retransmit(st, tcb);
    /* RFC 6298 5.5: back off the timer. */
    tcb->rto_ns *= 2;
    if (tcb->rto_ns > st->cfg.tcp.rto_max_ns) {
        tcb->rto_ns = st->cfg.tcp.rto_max_ns;
    }
    tcp_rtx_update(st, tcb, true);
    tcp_deliver_events(st);
}

static void
user_expired(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct tcp_tcb *tcb = TIMER_CONTAINER(t, struct tcp_tcb, t_user);
    (void)now_ns;
    st->stats.tcp.timeouts++;
    bool opening = tcb->state == TERN_TCP_SYN_SENT || tcb->state == TERN_TCP_SYN_RECEIVED;
    tcp_close_tcb(st, tcb, TERN_ERR_TIMEDOUT,
                  opening ? "RFC 9293 3.8.3 (MUST-23): connection-establishment timeout -> CLOSED"
                          : "RFC 9293 3.10.8: user timeout expired -> CLOSED");
    tcp_deliver_events(st);
}

static void
tw_expired(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct tcp_tcb *tcb = TIMER_CONTAINER(t, struct tcp_tcb, t_tw);
    (void)now_ns;
    tcp_close_tcb(st, tcb, 0, "RFC 9293 3.10.8: TIME-WAIT timeout (2 MSL) -> CLOSED");
    tcp_deliver_events(st);
}

void
tcp_timers_init(struct tcp_tcb *tcb)
{
    timer_init(&tcb->t_rtx, rtx_expired);
    timer_init(&tcb->t_user, user_expired);
    timer_init(&tcb->t_tw, tw_expired);
}

void
tcp_timers_cancel(struct tern_stack *st, struct tcp_tcb *tcb)
{
    timer_cancel(&st->timers, &tcb->t_rtx);
    timer_cancel(&st->timers, &tcb->t_user);
    timer_cancel(&st->timers, &tcb->t_tw);
}

static bool
outstanding(const struct tcp_tcb *tcb)
{
    if (tcb->snd_una != tcb->snd_nxt) {
        return true;
    }
    /* Text waiting behind a zero window: the timer doubles as the probe
     * timer until persist timing exists. */
    uint32_t sent = tcb->snd_nxt - tcb->snd_buf_seq;
    return tcb->snd_wnd == 0 && !tcb->fin_sent && tcb->sndbuf.len > sent &&
           tcp_state_synchronized(tcb->state);
}

void
tcp_rtx_update(struct tern_stack *st, struct tcp_tcb *tcb, bool restart)
{
    if (tcb->state == TERN_TCP_TIME_WAIT || tcb->state == TERN_TCP_CLOSED ||
        tcb->state == TERN_TCP_LISTEN || !outstanding(tcb)) {
        timer_cancel(&st->timers, &tcb->t_rtx);
        return;
    }
    if (restart || !timer_armed(&tcb->t_rtx)) {
        timer_arm(&st->timers, &tcb->t_rtx, st->now_ns + tcb->rto_ns);
    }
}

void
tcp_user_timer_update(struct tern_stack *st, struct tcp_tcb *tcb, bool restart)
{
    switch (tcb->state) {
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
        if (!timer_armed(&tcb->t_user)) {
            int64_t limit = st->cfg.tcp.connect_timeout_ns;
            timer_arm(&st->timers, &tcb->t_user, tcb->opened_ns + limit);
        }
        return;
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
        if (tcb->snd_una == tcb->snd_nxt) {
            timer_cancel(&st->timers, &tcb->t_user);
        } else if (restart || !timer_armed(&tcb->t_user)) {
            timer_arm(&st->timers, &tcb->t_user, st->now_ns + tcb->user_timeout_ns);
        }
        return;
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_TIME_WAIT:
    case TERN_TCP_STATE_COUNT:
        timer_cancel(&st->timers, &tcb->t_user);
        return;
    }
}

void
tcp_time_wait_start(struct tern_stack *st, struct tcp_tcb *tcb)
{
    /* RFC 9293 3.10.7.4 eighth: start the time-wait timer, turn off the
     * other timers; 3.6 (MUST-13): linger 2 MSL. */
    timer_cancel(&st->timers, &tcb->t_rtx);
    timer_cancel(&st->timers, &tcb->t_user);
    timer_arm(&st->timers, &tcb->t_tw, st->now_ns + 2 * st->cfg.tcp.msl_ns);
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb, "RFC 9293 3.6 (MUST-13): TIME-WAIT, 2 MSL timer");
}
