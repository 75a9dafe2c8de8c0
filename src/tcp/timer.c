/*
 * src/tcp/timer.c: the timeouts of a connection (RFC 9293 3.10.8 and the
 * ones the data path needs). Each TCB has one wheel timer and a deadline
 * per kind (enum tcp_tmr); the wheel timer is armed at the earliest
 * deadline, or earlier: a deadline that moves later (the retransmission
 * timer restarted by every ACK) does not touch the wheel, and the wheel
 * timer, firing early, finds nothing due and re-arms. That keeps a TCB's
 * timing state at one struct timer plus six deadlines.
 *
 * RTX    RETRANSMISSION TIMEOUT. Armed while anything we sent (SYN, text,
 *        FIN) is unacknowledged, at the current RTO (initially 1 s, RFC
 *        6298 2.1); restarted when an ACK acknowledges new data (RFC 6298
 *        5.3); cancelled when everything is acknowledged (5.2). On expiry
 *        the oldest segment is sent again and the RTO doubles up to the
 *        configured maximum (5.5, 5.6; MUST-19 exponential backoff). A SYN
 *        or SYN,ACK retransmitted cfg.syn_retries times gives up (MUST-22:
 *        the same mechanism as for data).
 * USER   USER TIMEOUT. In SYN-SENT and SYN-RECEIVED it is the connection-
 *        establishment timeout, measured from the OPEN (or from the SYN
 *        that made a listener's child); MUST-23 wants at least 3 minutes.
 *        In the synchronized states it runs while data or a FIN is
 *        unacknowledged and restarts when SND.UNA advances: it is R2 of
 *        3.8.3 (MUST-20), settable per connection (MUST-21). On expiry the
 *        connection is aborted with "connection aborted due to user
 *        timeout" (TERN_ERR_TIMEDOUT).
 * DELACK DELAYED ACK (RFC 9293 3.8.6.3, RFC 5681 4.2). Armed when
 *        in-order text arrived and its ACK may wait (the first of a pair of
 *        segments), for cfg.delack_ns (default 40 ms, MUST-40: < 0.5 s);
 *        cancelled by any segment that carries an ACK; on expiry sends
 *        <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
 * PERSIST PERSIST (RFC 9293 3.8.6.1, MUST-35..37). Armed while text is
 *        queued, nothing is in flight and the peer's window (or what our
 *        sender SWS avoidance, MUST-38, lets out) is too small; the first
 *        expiry comes after one RTO and the interval doubles up to
 *        rto_max. On expiry: a zero window is probed with one octet of new
 *        text (MUST-36); a small non-zero window gets what fits (the SWS
 *        override timeout of 3.8.6.2.1). Never aborts the connection by
 *        itself (MUST-37); the user timeout still runs while probes go
 *        unanswered.
 * KEEP   KEEP-ALIVE (RFC 9293 3.8.4, RFC 1122 4.2.3.6; MUST-24..29). Off
 *        unless enabled per connection or by config (MUST-25). In
 *        ESTABLISHED and CLOSE-WAIT with nothing outstanding, armed at the
 *        last segment received + keepalive_idle (default 2 hours,
 *        MUST-28); on expiry sends <SEQ=SND.NXT-1><ACK=RCV.NXT> without
 *        text (MUST-29 allows no text) and re-arms after keepalive_intvl;
 *        after keepalive_count unanswered probes the connection closes
 *        with TERN_ERR_TIMEDOUT. Any segment received restarts the idle
 *        time (MUST-27: an ACK-less probe is not counted as data).
 * TW     TIME-WAIT TIMEOUT. 2 MSL (MUST-13), started on entering
 *        TIME-WAIT and restarted when a retransmitted FIN arrives; on
 *        expiry the TCB is deleted.
 */
#include "tcp/tcp.h"

#include "core/core.h"

static void
rtx_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    bool opening = tcb->state == TERN_TCP_SYN_SENT || tcb->state == TERN_TCP_SYN_RECEIVED;
    if (opening && tcb->retries >= st->cfg.tcp.syn_retries) {
        st->stats.tcp.timeouts++;
        tcp_close_tcb(st, tcb, TERN_ERR_TIMEDOUT,
                      "RFC 9293 3.8.3: SYN retransmitted R2 times -> connection closed");
        tcp_deliver_events(st);
        return;
    }
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb, "RFC 6298 5: retransmission timer expired");
    st->stats.tcp.rto_expiries++;
    tcb->retries++;
    if (tcb->retries == tcp_r1(&st->cfg.tcp) && !tcb->no_reports) {
        /* RFC 9293 3.8.3 (e), SHLD-9: R1 reached, R2 not: tell the user. */
        tcp_trace_note(st, TERN_TRACE_EVENT, tcb,
                       "RFC 9293 3.8.3 (SHLD-9): R1 retransmissions -> report delivery problem");
        tcp_event(st, tcb, TERN_TCP_EV_DELIVERY_PROBLEM);
    }
    if (tcp_state_synchronized(tcb->state)) {
        tcp_cong_on_rto(st, tcb);
    }
    tcp_retransmit(st, tcb);
    /* RFC 6298 5.5 (MUST-19): back off the timer. */
    tcp_rtt_backoff(&tcb->rtt);
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb,
                   "RFC 6298 5.5 (MUST-19): back off the timer, RTO <- RTO * 2 (2.5 cap)");
    tcp_rtx_update(st, tcb, true);
    tcp_deliver_events(st);
}

static void
user_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->state == TERN_TCP_FIN_WAIT_2 && tcb->user_released && tcb->snd_una == tcb->snd_nxt) {
        /* The orphan timeout: the peer is told, as by ABORT (3.10.5). */
        st->stats.tcp.orphan_timeouts++;
        tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_RST, 0,
                         "tern: orphaned FIN-WAIT-2 timed out -> <SEQ=SND.NXT><CTL=RST>");
        tcp_close_tcb(st, tcb, 0,
                      "tern: orphaned FIN-WAIT-2 timed out (fin_wait_2_timeout) -> CLOSED");
        tcp_deliver_events(st);
        return;
    }
    st->stats.tcp.timeouts++;
    bool opening = tcb->state == TERN_TCP_SYN_SENT || tcb->state == TERN_TCP_SYN_RECEIVED;
    tcp_close_tcb(
        st, tcb, TERN_ERR_TIMEDOUT,
        opening ? TERN_RULE("RFC 9293 3.8.3 (MUST-23): connection-establishment timeout -> CLOSED")
                : TERN_RULE("RFC 9293 3.10.8: user timeout expired -> CLOSED"));
    tcp_deliver_events(st);
}

static void
tw_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcp_close_tcb(st, tcb, 0, "RFC 9293 3.10.8: TIME-WAIT timeout (2 MSL) -> CLOSED");
    tcp_deliver_events(st);
}

static void
delack_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb, "RFC 9293 3.8.6.3: delayed-ACK timer expired");
    tcp_send_ack(st, tcb, "RFC 9293 3.8.6.3 (MUST-40): delayed ACK, bound reached -> ACK");
    tcp_deliver_events(st);
}

void
tcp_delack_arm(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (!tcp_tmr_armed(tcb, TCP_TMR_DELACK)) {
        int64_t d = st->cfg.tcp.delack_ns > 0 ? st->cfg.tcp.delack_ns : TCP_DELACK_DEFAULT_NS;
        tcp_tmr_set(st, tcb, TCP_TMR_DELACK, st->now_ns + d);
    }
}

static uint32_t
unsent(const struct tcp_tcb *tcb)
{
    uint32_t sent = tcb->snd_nxt - tcb->snd.start;
    if (tcb->fin_sent || !tcp_state_synchronized(tcb->state)) {
        return 0;
    }
    return tcb->snd.len > sent ? tcb->snd.len - sent : 0;
}

static void
persist_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    uint32_t avail = unsent(tcb);
    if (avail == 0 || tcb->snd_una != tcb->snd_nxt) {
        return;
    }
    uint32_t n = tcb->snd_wnd < avail ? tcb->snd_wnd : avail;
    n = n < tcp_smss(tcb) ? n : tcp_smss(tcb);
    if (n == 0) {
        /* RFC 9293 3.8.6.1 (MUST-36): probe a zero window with one octet. */
        tcp_trace_note(st, TERN_TRACE_TIMER, tcb,
                       "RFC 9293 3.8.6.1: persist timer -> zero-window probe");
        tcp_send_segment(st, tcb, tcb->snd_nxt, WIRE_TCP_ACK, 1,
                         "RFC 9293 3.8.6.1 (MUST-36): zero window -> probe with one octet");
        tcb->snd_nxt += 1;
    } else {
        /* RFC 9293 3.8.6.2.1: the override timeout sends what fits. */
        tcp_trace_note(st, TERN_TRACE_TIMER, tcb,
                       "RFC 9293 3.8.6.2.1: SWS override timeout -> send what the window allows");
        uint8_t f = WIRE_TCP_ACK | (tcp_psh_at(tcb, tcb->snd_nxt, n) ? WIRE_TCP_PSH : 0);
        tcp_send_segment(st, tcb, tcb->snd_nxt, f, n,
                         "RFC 9293 3.8.6.2.1: SWS override timeout -> send what fits");
        tcb->snd_nxt += n;
    }
    tcb->persist_backoff_ns *= 2;
    if (tcb->persist_backoff_ns > st->cfg.tcp.rto_max_ns) {
        tcb->persist_backoff_ns = st->cfg.tcp.rto_max_ns;
    }
    /* The probe is in flight: it is retransmitted as data would be only
     * while the window stays open; a zero window returns here. */
    tcp_rtx_update(st, tcb, true);
    tcp_user_timer_update(st, tcb, false);
    tcp_deliver_events(st);
}

void
tcp_persist_update(struct tern_stack *st, struct tcp_tcb *tcb)
{
    bool want = unsent(tcb) > 0 && tcb->snd_una == tcb->snd_nxt &&
                (tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_CLOSE_WAIT ||
                 tcb->state == TERN_TCP_FIN_WAIT_1 || tcb->state == TERN_TCP_CLOSING ||
                 tcb->state == TERN_TCP_LAST_ACK);
    if (!want) {
        tcp_tmr_clear(st, tcb, TCP_TMR_PERSIST);
        tcb->persist_backoff_ns = 0;
        return;
    }
    if (!tcp_tmr_armed(tcb, TCP_TMR_PERSIST)) {
        if (tcb->persist_backoff_ns == 0) {
            tcb->persist_backoff_ns = tcp_rtt_rto(&tcb->rtt);
        }
        tcp_tmr_set(st, tcb, TCP_TMR_PERSIST, st->now_ns + tcb->persist_backoff_ns);
    }
}

static int64_t
keep_idle(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    int64_t v = tcb->keep_idle_ms > 0 ? (int64_t)tcb->keep_idle_ms * 1000000
                                      : st->cfg.tcp.keepalive_idle_ns;
    return v > 0 ? v : 7200LL * 1000000000LL; /* MUST-28: two hours */
}

static int64_t
keep_intvl(const struct tern_stack *st, const struct tcp_tcb *tcb)
{
    int64_t v = tcb->keep_intvl_ms > 0 ? (int64_t)tcb->keep_intvl_ms * 1000000
                                       : st->cfg.tcp.keepalive_intvl_ns;
    return v > 0 ? v : 75LL * 1000000000LL;
}

static void
keep_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    unsigned limit = tcb->keep_count               ? tcb->keep_count
                     : st->cfg.tcp.keepalive_count ? st->cfg.tcp.keepalive_count
                                                   : 9;
    if (tcb->keep_probes >= limit) {
        st->stats.tcp.timeouts++;
        tcp_close_tcb(st, tcb, TERN_ERR_TIMEDOUT,
                      "RFC 9293 3.8.4: keep-alive probes unanswered -> connection closed");
        tcp_deliver_events(st);
        return;
    }
    tcb->keep_probes++;
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb, "RFC 9293 3.8.4: keep-alive timer expired");
    tcp_send_segment(st, tcb, tcb->snd_nxt - 1, WIRE_TCP_ACK, 0,
                     "RFC 9293 3.8.4 (MUST-29): keep-alive probe <SEQ=SND.NXT-1>");
    tcp_tmr_set(st, tcb, TCP_TMR_KEEP, st->now_ns + keep_intvl(st, tcb));
    tcp_deliver_events(st);
}

void
tcp_keepalive_update(struct tern_stack *st, struct tcp_tcb *tcb)
{
    bool want =
        tcb->keepalive && (tcb->state == TERN_TCP_ESTABLISHED || tcb->state == TERN_TCP_CLOSE_WAIT);
    if (!want) {
        tcp_tmr_clear(st, tcb, TCP_TMR_KEEP);
        return;
    }
    /* MUST-26: sent only when no data or ACK was received for the
     * interval: the idle time counts from the last segment received. */
    if (tcb->keep_probes == 0) {
        tcp_tmr_set(st, tcb, TCP_TMR_KEEP, tcb->last_rx_ns + keep_idle(st, tcb));
    }
}

void
tcp_rtt_feed(struct tern_stack *st, struct tcp_tcb *tcb, int64_t r)
{
    (void)st;
    /* RFC 6298 2.2-2.5 (rtt.h); the caller keeps Karn's rule (MUST-18). */
    tcp_rtt_sample(&tcb->rtt, r > 0 ? r : 1);
    if (tcb->sx != NULL) {
        tcb->sx->tlp_sampled = true; /* RFC 8985 7.3 condition 2 */
    }
}

/* RFC 8985 6.3: the reordering window of a segment sent before the
 * latest delivered one has passed: RACK decides again. */
static void
rack_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (!tcp_rack_on(st, tcb)) {
        return;
    }
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb, "RFC 8985 6.3: RACK reordering timer expired");
    tcp_rack_loss(st, tcb, false, 0);
    /* In fast recovery the PTO waits while the reordering timer runs
     * (output.c tcp_tlp_arm): now it may start. */
    tcp_tlp_arm(st, tcb, TCP_TLP_ACTIVITY);
    tcp_deliver_events(st);
}

/* RFC 8985 7.2-7.3: no ACK for the PTO (2 SRTT, more with one segment
 * out): a loss probe. */
static void
pto_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (!tcp_rack_on(st, tcb)) {
        return;
    }
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb,
                   "RFC 8985 7.2: probe timeout expired (PTO: 2 SRTT, + max ACK delay "
                   "with one segment out)");
    st->stats.tcp.tlp_timeouts++;
    tcp_tlp_probe(st, tcb);
    tcp_deliver_events(st);
}

/* docs/rto-and-undo.md: no D-SACK came within an RTO of the full
 * acknowledgement: the episode's retransmissions stay counted as needed,
 * and an idle connection gives its sender block back. */
static void
undo_expired(struct tern_stack *st, struct tcp_tcb *tcb)
{
    struct tcp_sender *x = tcb->sx;
    if (x == NULL || !x->undo_valid) {
        return;
    }
    x->undo_valid = false;
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb,
                   "RFC 3708 2: no D-SACK for every retransmission within an RTO of the full ACK "
                   "-> the cut stands");
    tcp_sender_idle(st, tcb);
}

typedef void (*tmr_fn)(struct tern_stack *st, struct tcp_tcb *tcb);

/* Ties between deadlines go in this order. */
static const tmr_fn tmr_handlers[TCP_TMR_UNDO + 1] = {
    [TCP_TMR_RTX] = rtx_expired,   [TCP_TMR_PERSIST] = persist_expired,
    [TCP_TMR_USER] = user_expired, [TCP_TMR_DELACK] = delack_expired,
    [TCP_TMR_KEEP] = keep_expired, [TCP_TMR_TW] = tw_expired,
    [TCP_TMR_RACK] = rack_expired, [TCP_TMR_PTO] = pto_expired,
    [TCP_TMR_UNDO] = undo_expired,
};

/* Where deadline k is kept: tcb->tmr[], or the sender block for
 * TCP_TMR_RACK, TCP_TMR_PTO and TCP_TMR_UNDO (NULL without one). */
static int64_t *
tmr_slot(struct tcp_tcb *tcb, int k)
{
    if (k < TCP_TMR_COUNT) {
        return &tcb->tmr[k];
    }
    if (tcb->sx == NULL) {
        return NULL;
    }
    if (k == TCP_TMR_UNDO) {
        return &tcb->sx->undo_at;
    }
    return k == TCP_TMR_RACK ? &tcb->sx->rack_at : &tcb->sx->pto_at;
}

static int64_t
tmr_earliest(struct tcp_tcb *tcb, int *kind)
{
    int64_t at = INT64_MAX;
    *kind = -1;
    for (int k = 0; k <= TCP_TMR_UNDO; k++) {
        const int64_t *d = tmr_slot(tcb, k);
        if (d != NULL && *d < at) {
            at = *d;
            *kind = k;
        }
    }
    return at;
}

/* The wheel timer fired: runs every timeout that is due, earliest first,
 * then re-arms at the next deadline. The wheel timer may fire early (a
 * deadline moved later is not chased in the wheel: tcp_tmr_set leaves the
 * wheel alone unless the new deadline is earlier), which costs one wake-up
 * and changes nothing. */
static void
tcb_timer_fired(void *ctx, struct timer *t, int64_t now_ns)
{
    struct tern_stack *st = ctx;
    struct tcp_tcb *tcb = TIMER_CONTAINER(t, struct tcp_tcb, timer);
    int k;
    while (tcb->role != TCP_ROLE_FREE && tmr_earliest(tcb, &k) <= now_ns) {
        *tmr_slot(tcb, k) = INT64_MAX;
        tmr_handlers[k](st, tcb);
    }
    int64_t next = tmr_earliest(tcb, &k);
    bool late = !timer_armed(&tcb->timer) || tcb->timer.expires_ns > next;
    if (tcb->role != TCP_ROLE_FREE && next != INT64_MAX && late) {
        timer_arm(&st->timers, &tcb->timer, next);
    }
}

void
tcp_tmr_set(struct tern_stack *st, struct tcp_tcb *tcb, enum tcp_tmr k, int64_t at)
{
    int64_t *d = tmr_slot(tcb, (int)k);
    if (d == NULL) {
        return;
    }
    *d = at;
    if (tcb->role == TCP_ROLE_SCRATCH) {
        return;
    }
    if (!timer_armed(&tcb->timer) || at < tcb->timer.expires_ns) {
        timer_arm(&st->timers, &tcb->timer, at);
    }
}

void
tcp_tmr_clear(struct tern_stack *st, struct tcp_tcb *tcb, enum tcp_tmr k)
{
    int64_t *d = tmr_slot(tcb, (int)k);
    if (d == NULL || *d == INT64_MAX) {
        return; /* most clears find nothing armed */
    }
    *d = INT64_MAX;
    int kind;
    if (tcb->role != TCP_ROLE_SCRATCH && tmr_earliest(tcb, &kind) == INT64_MAX) {
        timer_cancel(&st->timers, &tcb->timer);
    }
}

void
tcp_timers_init(struct tcp_tcb *tcb)
{
    timer_init(&tcb->timer, tcb_timer_fired);
    for (int k = 0; k < TCP_TMR_COUNT; k++) {
        tcb->tmr[k] = INT64_MAX;
    }
}

void
tcp_timers_cancel(struct tern_stack *st, struct tcp_tcb *tcb)
{
    if (tcb->role != TCP_ROLE_SCRATCH) {
        timer_cancel(&st->timers, &tcb->timer);
    }
    for (int k = 0; k < TCP_TMR_COUNT; k++) {
        tcb->tmr[k] = INT64_MAX;
    }
    if (tcb->sx != NULL) {
        tcb->sx->rack_at = INT64_MAX;
        tcb->sx->pto_at = INT64_MAX;
        tcb->sx->undo_at = INT64_MAX;
    }
}

static bool
outstanding(const struct tcp_tcb *tcb)
{
    return tcb->snd_una != tcb->snd_nxt;
}

void
tcp_rtx_update(struct tern_stack *st, struct tcp_tcb *tcb, bool restart)
{
    if (tcb->state == TERN_TCP_TIME_WAIT || tcb->state == TERN_TCP_CLOSED ||
        tcb->state == TERN_TCP_LISTEN || !outstanding(tcb)) {
        tcp_tmr_clear(st, tcb, TCP_TMR_RTX);
        return;
    }
    if (restart || !tcp_tmr_armed(tcb, TCP_TMR_RTX)) {
        tcp_tmr_set(st, tcb, TCP_TMR_RTX, st->now_ns + tcp_rtt_rto(&tcb->rtt));
    }
}

/* An orphan (released by the user) in FIN-WAIT-2: nobody will read and the
 * peer need never send its FIN (RFC 9293 3.6 lets FIN-WAIT-2 wait for ever).
 * Our choice, as Linux's tcp_fin_timeout: bound the wait. */
static void
orphan_timer_update(struct tern_stack *st, struct tcp_tcb *tcb)
{
    int64_t d = st->cfg.tcp.fin_wait_2_timeout_ns;
    d = d == 0 ? TCP_FIN_WAIT_2_DEFAULT_NS : d;
    if (d > 0 && !tcp_tmr_armed(tcb, TCP_TMR_USER)) {
        tcp_tmr_set(st, tcb, TCP_TMR_USER, st->now_ns + d);
    } else if (d < 0) {
        tcp_tmr_clear(st, tcb, TCP_TMR_USER);
    }
}

void
tcp_user_timer_update(struct tern_stack *st, struct tcp_tcb *tcb, bool restart)
{
    switch (tcb->state) {
    case TERN_TCP_SYN_SENT:
    case TERN_TCP_SYN_RECEIVED:
        if (!tcp_tmr_armed(tcb, TCP_TMR_USER)) {
            int64_t limit = st->cfg.tcp.connect_timeout_ns;
            tcp_tmr_set(st, tcb, TCP_TMR_USER, tcb->opened_ns + limit);
        }
        return;
    case TERN_TCP_ESTABLISHED:
    case TERN_TCP_FIN_WAIT_1:
    case TERN_TCP_FIN_WAIT_2:
    case TERN_TCP_CLOSE_WAIT:
    case TERN_TCP_CLOSING:
    case TERN_TCP_LAST_ACK:
        if (tcb->state == TERN_TCP_FIN_WAIT_2 && tcb->user_released &&
            tcb->snd_una == tcb->snd_nxt) {
            orphan_timer_update(st, tcb);
        } else if (tcb->snd_una == tcb->snd_nxt) {
            tcp_tmr_clear(st, tcb, TCP_TMR_USER);
        } else if (restart || !tcp_tmr_armed(tcb, TCP_TMR_USER)) {
            tcp_tmr_set(st, tcb, TCP_TMR_USER, st->now_ns + tcb->user_timeout_ns);
        }
        return;
    case TERN_TCP_CLOSED:
    case TERN_TCP_LISTEN:
    case TERN_TCP_TIME_WAIT:
    case TERN_TCP_STATE_COUNT:
        tcp_tmr_clear(st, tcb, TCP_TMR_USER);
        return;
    }
}

void
tcp_time_wait_start(struct tern_stack *st, struct tcp_tcb *tcb)
{
    /* RFC 9293 3.10.7.4 eighth: start the time-wait timer, turn off the
     * other timers; 3.6 (MUST-13): linger 2 MSL. */
    tcp_tmr_clear(st, tcb, TCP_TMR_RTX);
    tcp_tmr_clear(st, tcb, TCP_TMR_USER);
    tcp_tmr_clear(st, tcb, TCP_TMR_PERSIST);
    tcp_tmr_clear(st, tcb, TCP_TMR_KEEP);
    tcp_tmr_clear(st, tcb, TCP_TMR_DELACK);
    tcp_tmr_set(st, tcb, TCP_TMR_TW, st->now_ns + 2 * st->cfg.tcp.msl_ns);
    tcp_trace_note(st, TERN_TRACE_TIMER, tcb, "RFC 9293 3.6 (MUST-13): TIME-WAIT, 2 MSL timer");
}
