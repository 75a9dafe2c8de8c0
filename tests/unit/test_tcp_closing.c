/* tests/unit/test_tcp_closing.c: FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK
 * (RFC 9293 3.6, 3.10.4, 3.10.7.4), and a RST in every state. */
#include "tcp_harness.h"

static void
test_normal_close_figure12_active_side(void)
{
    /* EVIDENCE: RFC 9293 3.6 Figure 12 (A side) MUST-13: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT */
    struct h h;
    h_init(&h);
    int id = h_fin_wait_1(&h);
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_1);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_2);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    CHECK(h.events[id] & TERN_TCP_EV_PEER_FIN);
    h_fini(&h);
}

static void
test_normal_close_figure12_passive_side(void)
{
    /* EVIDENCE: RFC 9293 3.6 Figure 12 (B side) MUST-12: CLOSE-WAIT -> LAST-ACK -> CLOSED, closed
     * normally (no error) */
    struct h h;
    h_init(&h);
    int id = h_close_wait(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSE_WAIT);
    CHECK(h.events[id] & TERN_TCP_EV_PEER_FIN);
    char b[4];
    CHECK_EQ(tern_tcp_recv(h.st, id, b, 4, h.now), TERN_ERR_CLOSING);
    CHECK_EQ(tern_tcp_send(h.st, id, "ok", 2, h.now), 2); /* half-closed: we may still send */
    EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK | PSH, .data = "ok"));
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    EXPECT_SENT(&h, US(.seq = 103, .ack = 302, .flags = FIN | ACK));
    CHECK_STATE(&h, id, TERN_TCP_LAST_ACK);
    h_deliver(&h, PEER(.seq = 302, .ack = 104, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), 0);
    CHECK(h.events[id] & TERN_TCP_EV_CLOSED);
    CHECK(!(h.events[id] & TERN_TCP_EV_ERROR));
    h_fini(&h);
}

static void
test_simultaneous_close_figure13(void)
{
    /* EVIDENCE: RFC 9293 3.6 Figure 13: FIN-WAIT-1 + FIN -> CLOSING; ACK of FIN -> TIME-WAIT */
    struct h h;
    h_init(&h);
    int id = h_closing(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSING);
    CHECK_STR(h.last_rule, "RFC 9293 3.10.7.4 eighth: FIN-WAIT-1, FIN -> CLOSING");
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    h_fini(&h);
}

static void
test_fin_and_ack_together(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 eighth: FIN-WAIT-1, FIN acking our FIN -> TIME-WAIT */
    struct h h;
    h_init(&h);
    int id = h_fin_wait_1(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    h_fini(&h);
}

static void
test_fin_lost_once(void)
{
    /* EVIDENCE: RFC 9293 3.10.8 MUST-19: our FIN is lost; retransmitted after the RTO */
    struct h h;
    h_init(&h);
    int id = h_fin_wait_1(&h);
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = FIN | ACK));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_2);
    h_advance(&h, 100 * SEC);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_ack_of_fin_lost_once(void)
{
    /* EVIDENCE: RFC 9293 3.10.8: LAST-ACK, the ACK of our FIN is lost; the FIN is resent and the
     * peer's repeated ACK closes */
    struct h h;
    h_init(&h);
    int id = h_last_ack(&h);
    h_advance(&h, SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = FIN | ACK));
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_data_then_fin_after_close(void)
{
    /* EVIDENCE: RFC 9293 3.10.4: CLOSE sends queued text first, then FIN */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    tern_tcp_send(h.st, id, "bye", 3, h.now);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "bye"));
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    EXPECT_SENT(&h, US(.seq = 104, .ack = 301, .flags = FIN | ACK));
    CHECK_EQ(tern_tcp_send(h.st, id, "x", 1, h.now), TERN_ERR_CLOSING);
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_ERR_CLOSING);
    h_deliver(&h, PEER(.seq = 301, .ack = 105, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_2);
    /* FIN-WAIT-2 still receives text. */
    h_deliver(&h, PEER(.seq = 301, .ack = 105, .flags = ACK, .data = "late"));
    EXPECT_SENT(&h, US(.seq = 105, .ack = 305, .flags = ACK));
    h_fini(&h);
}

static void
test_abort_established_sends_rst(void)
{
    /* EVIDENCE: RFC 9293 3.10.5: ABORT -> <SEQ=SND.NXT><CTL=RST>, CLOSED */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_abort(h.st, id, h.now), TERN_OK);
    EXPECT_SENT(&h, US(.seq = 101, .flags = RST));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_abort(h.st, id, h.now), TERN_ERR_NOTCONN);
    h_fini(&h);
}

/* A RST in every state: the right state afterwards and the right event. */
struct rst_case {
    enum tern_tcp_state state;
    struct tseg rst; /* the RST, valid for that state */
    int after;       /* state afterwards */
    int err;         /* tern_tcp_error() afterwards */
    unsigned ev;     /* events the user must have got */
};

static void
test_rst_in_every_state(void)
{
    /* EVIDENCE: RFC 9293 3.5.3 3.10.7.2 3.10.7.3 3.10.7.4 second MUST-12 MUST-11: a valid RST in
     * each of the eleven states */
    static const struct rst_case cases[] = {
        {TERN_TCP_LISTEN, PEER(.seq = 301, .flags = RST), TERN_TCP_LISTEN, 0, 0},
        {TERN_TCP_SYN_SENT, PEER(.seq = 0, .ack = 101, .flags = RST | ACK), TERN_TCP_CLOSED,
         TERN_ERR_REFUSED, TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR},
        {TERN_TCP_SYN_RECEIVED, PEER(.seq = 301, .flags = RST), TERN_TCP_LISTEN, 0, 0},
        {TERN_TCP_ESTABLISHED, PEER(.seq = 301, .flags = RST), TERN_TCP_CLOSED, TERN_ERR_RESET,
         TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR},
        {TERN_TCP_FIN_WAIT_1, PEER(.seq = 301, .flags = RST), TERN_TCP_CLOSED, TERN_ERR_RESET,
         TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR},
        {TERN_TCP_FIN_WAIT_2, PEER(.seq = 301, .flags = RST), TERN_TCP_CLOSED, TERN_ERR_RESET,
         TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR},
        {TERN_TCP_CLOSE_WAIT, PEER(.seq = 302, .flags = RST), TERN_TCP_CLOSED, TERN_ERR_RESET,
         TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR},
        {TERN_TCP_CLOSING, PEER(.seq = 302, .flags = RST), TERN_TCP_CLOSED, TERN_ERR_RESET,
         TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR},
        {TERN_TCP_LAST_ACK, PEER(.seq = 302, .flags = RST), TERN_TCP_CLOSED, TERN_ERR_RESET,
         TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR},
        {TERN_TCP_TIME_WAIT, PEER(.seq = 302, .flags = RST), TERN_TCP_CLOSED, 0,
         TERN_TCP_EV_CLOSED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rst_case *k = &cases[i];
        struct h h;
        h_init(&h);
        int id = h_in_state(&h, k->state);
        memset(h.events, 0, sizeof(h.events));
        h_deliver(&h, k->rst);
        EXPECT_NOTHING(&h);
        if (h_state(&h, id) != k->after || tern_tcp_error(h.st, id) != k->err ||
            (h.events[id] & k->ev) != k->ev || (k->ev == 0 && h.events[id] != 0)) {
            fprintf(stderr, "RST in %s: now %s, error %d, events %#x\n",
                    tern_tcp_state_name(k->state), tern_tcp_state_name(h_state(&h, id)),
                    tern_tcp_error(h.st, id), h.events[id]);
            check_st.failures++;
        }
        h_fini(&h);
    }
    /* CLOSED (no TCB): a RST is discarded, nothing sent. */
    struct h h;
    h_init(&h);
    h_deliver(&h, PEER(.seq = 1, .flags = RST));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
fw2_timeout_20s(struct tern_config *c)
{
    c->tcp.fin_wait_2_timeout_ns = 20 * SEC;
}

static void
test_orphan_fin_wait_2_times_out(void)
{
    /* EVIDENCE: issue 10 item 7: a FIN-WAIT-2 connection the user released is reset after
     * fin_wait_2_timeout; one the user still holds waits for the peer's FIN (RFC 9293 3.6) */
    struct h h;
    h_init_cfg(&h, fw2_timeout_20s);
    int id = h_fin_wait_2(&h);
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_2);
    h_advance(&h, 100 * SEC); /* held by the user: no timeout */
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_2);
    CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
    CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_FIN_WAIT_2);
    h_advance(&h, 19 * SEC);
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_FIN_WAIT_2);
    h_advance(&h, 1 * SEC);
    EXPECT_SENT(&h, US(.seq = 102, .flags = RST, .wnd = 0xffff));
    CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.orphan_timeouts, 1);
    h_fini(&h);
}

static void
test_orphan_entering_fin_wait_2_after_release(void)
{
    /* Released in FIN-WAIT-1: the orphan timeout starts when the FIN is acknowledged. */
    struct h h;
    h_init_cfg(&h, fw2_timeout_20s);
    int id = h_fin_wait_1(&h);
    CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
    h_advance(&h, 10 * SEC); /* FIN retransmissions go out meanwhile */
    h.n_sent = 0;
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_FIN_WAIT_2);
    h_advance(&h, 19 * SEC);
    CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_FIN_WAIT_2);
    h_advance(&h, 2 * SEC);
    CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.orphan_timeouts, 1);
    h_fini(&h);
}

static void
test_second_fin_after_peer_fin(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 eighth: CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN (301) was
     * taken, RCV.NXT is 302; a FIN at 302 is not advanced over again: ACK 302, no second
     * "connection closing" */
    static const struct {
        enum tern_tcp_state state;
        uint32_t ack, our_seq;
        enum tern_tcp_state after;
    } cases[] = {
        {TERN_TCP_CLOSE_WAIT, 101, 101, TERN_TCP_CLOSE_WAIT},
        {TERN_TCP_CLOSING, 102, 102, TERN_TCP_TIME_WAIT}, /* the ACK of our FIN comes with it */
        {TERN_TCP_LAST_ACK, 101, 102, TERN_TCP_LAST_ACK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct h h;
        h_init(&h);
        int id = h_in_state(&h, cases[i].state);
        CHECK_STATE(&h, id, cases[i].state);
        memset(h.events, 0, sizeof(h.events));
        h_deliver(&h, PEER(.seq = 302, .ack = cases[i].ack, .flags = FIN | ACK));
        EXPECT_SENT(&h, US(.seq = cases[i].our_seq, .ack = 302, .flags = ACK));
        EXPECT_NOTHING(&h);
        CHECK_STATE(&h, id, cases[i].after);
        CHECK(!(h.events[id] & TERN_TCP_EV_PEER_FIN));
        struct tern_tcp_status s;
        CHECK_EQ(tern_tcp_status(h.st, id, &s), TERN_OK);
        CHECK_EQ(s.rcv_nxt, 302);
        h_fini(&h);
    }
}

static void
test_text_after_close_and_release_reset(void)
{
    /* EVIDENCE: RFC 9293 3.6 SHLD-3 MAY-1 RFC 1122 4.2.2.13: text arriving after the user closed
     * and gave the connection back (FIN-WAIT-1, FIN-WAIT-2) is lost: RST <SEQ=SEG.ACK>, CLOSED,
     * counted; a user who only closed (half close) still receives it */
    static const struct {
        enum tern_tcp_state state;
        uint32_t ack;
    } cases[] = {{TERN_TCP_FIN_WAIT_1, 101}, {TERN_TCP_FIN_WAIT_2, 102}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* mode 0: CLOSE only; 1: then release; 2: then "receive no more"
         * (tern_tcp_shutdown_receive, shutdown(SHUT_RDWR)): the id stays
         * the user's and reports the reset. */
        for (int mode = 0; mode < 3; mode++) {
            bool release = mode != 0;
            struct h h;
            h_init(&h);
            int id = h_in_state(&h, cases[i].state);
            if (mode == 1) {
                CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
                EXPECT_NOTHING(&h);
            } else if (mode == 2) {
                CHECK_EQ(tern_tcp_shutdown_receive(h.st, id, h.now), TERN_OK);
                EXPECT_NOTHING(&h);
            }
            h_deliver(&h, PEER(.seq = 301, .ack = cases[i].ack, .flags = ACK, .data = "late"));
            if (!release) {
                EXPECT_SENT(&h, US(.seq = 102, .ack = 305, .flags = ACK));
                CHECK_STATE(&h, id, cases[i].state);
                char b[8];
                CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 4);
            } else {
                EXPECT_SENT(&h, US(.seq = cases[i].ack, .flags = RST));
                CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
                CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_TEXT_AFTER_CLOSE], 1);
                CHECK_EQ(h.last_drop, TERN_DROP_TCP_TEXT_AFTER_CLOSE);
                if (mode == 2) {
                    struct tern_tcp_status st;
                    CHECK_EQ(tern_tcp_status(h.st, id, &st), TERN_OK);
                    CHECK_EQ(st.state, TERN_TCP_CLOSED);
                    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
                }
            }
            EXPECT_NOTHING(&h);
            h_fini(&h);
        }
    }
    /* Before CLOSE, "receive no more" does not refuse text (as Linux's
     * shutdown(SHUT_RD) alone). */
    {
        struct h h;
        h_init(&h);
        int id = h_established(&h);
        CHECK_EQ(tern_tcp_shutdown_receive(h.st, id, h.now), TERN_OK);
        h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "late"));
        EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
        CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
        h_fini(&h);
    }
    /* A bare ACK or a FIN after the release is no data lost: the close goes on. */
    struct h h;
    h_init(&h);
    int id = h_fin_wait_2(&h);
    CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_TIME_WAIT);
    h_fini(&h);
}

static void
test_release_with_unread_text_reset(void)
{
    /* EVIDENCE: RFC 9293 3.6 SHLD-3 RFC 1122 4.2.2.13: CLOSE, then the connection given back with
     * text unread: RST <SEQ=SND.NXT> (after the FIN in FIN-WAIT-1, instead of waiting in
     * LAST-ACK), CLOSED; with the text read, the close goes on quietly */
    for (int last_ack = 0; last_ack < 2; last_ack++) {
        for (int read = 0; read < 2; read++) {
            struct h h;
            h_init(&h);
            int id = h_established(&h);
            h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "abc"));
            EXPECT_SENT(&h, US(.seq = 101, .ack = 304, .flags = ACK));
            uint32_t rcv = 304;
            if (last_ack) {
                h_deliver(&h, PEER(.seq = 304, .ack = 101, .flags = FIN | ACK));
                EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
                rcv = 305;
            }
            CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
            EXPECT_SENT(&h, US(.seq = 101, .ack = rcv, .flags = FIN | ACK));
            CHECK_STATE(&h, id, last_ack ? TERN_TCP_LAST_ACK : TERN_TCP_FIN_WAIT_1);
            if (read) {
                char b[8];
                CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 3);
            }
            uint64_t rst = tern_stack_stats(h.st)->tcp.rst_tx;
            CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
            if (read) {
                EXPECT_NOTHING(&h);
                CHECK_EQ(h_tuple_state(&h, US_PORT),
                         last_ack ? TERN_TCP_LAST_ACK : TERN_TCP_FIN_WAIT_1);
            } else {
                EXPECT_SENT(&h, US(.seq = 102, .flags = RST));
                EXPECT_NOTHING(&h);
                CHECK_EQ(tern_stack_stats(h.st)->tcp.rst_tx, rst + 1);
                CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
            }
            h_fini(&h);
        }
    }
}

/* The peer's FIN arrives while our CLOSE still waits behind queued text
 * (FIN-WAIT-1 with the FIN not yet sent: the peer's window is closed), so
 * the connection enters CLOSING with text unsent. The text and then the
 * FIN must still go out: a TCP that sends nothing in CLOSING leaves both
 * ends silent for ever (the peer in FIN-WAIT-2 waiting for the rest). */
static int
h_closing_text_queued(struct h *h)
{
    int id = h_established(h);
    h_deliver(h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 0));
    CHECK_EQ(tern_tcp_send(h->st, id, "abc", 3, h->now), 3);
    CHECK_EQ(tern_tcp_close(h->st, id, h->now), TERN_OK);
    EXPECT_NOTHING(h); /* zero window: neither the text nor the FIN */
    CHECK_STATE(h, id, TERN_TCP_FIN_WAIT_1);
    h_deliver(h, PEER(.seq = 301, .ack = 101, .flags = FIN | ACK, .wnd = 0));
    EXPECT_SENT(h, US(.seq = 101, .ack = 302, .flags = ACK));
    EXPECT_NOTHING(h);
    CHECK_STATE(h, id, TERN_TCP_CLOSING);
    return id;
}

static void
test_closing_sends_queued_text_then_fin(void)
{
    /* EVIDENCE: RFC 9293 3.10.4: CLOSE queues the FIN behind the text; CLOSING (peer's FIN
     * first) still sends that text, then the FIN, when the window opens */
    struct h h;
    h_init(&h);
    int id = h_closing_text_queued(&h);
    h_deliver(&h, PEER(.seq = 302, .ack = 101, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK | PSH, .data = "abc"));
    EXPECT_SENT(&h, US(.seq = 104, .ack = 302, .flags = FIN | ACK));
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSING);
    h_deliver(&h, PEER(.seq = 302, .ack = 105, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_closing_probes_zero_window(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.1 MUST-36: CLOSING with text queued behind a zero window: the
     * persist timer probes it, and the rest and the FIN follow when it opens */
    struct h h;
    h_init(&h);
    int id = h_closing_text_queued(&h);
    h_advance(&h, SEC); /* the first probe one RTO (1 s, no sample yet) after */
    EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK, .data = "a"));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK | PSH, .data = "bc"));
    EXPECT_SENT(&h, US(.seq = 104, .ack = 302, .flags = FIN | ACK));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 302, .ack = 105, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    h_fini(&h);
}

/* The close counters: who closed first, and the TIME-WAIT records held. */
static void
check_closes(struct h *h, uint64_t active, uint64_t passive, uint64_t tw_records)
{
    const struct tern_stats *s = tern_stack_stats(h->st);
    CHECK_EQ(s->tcp.active_closes, active);
    CHECK_EQ(s->tcp.passive_closes, passive);
    CHECK_EQ(s->tcp.time_wait_records, tw_records);
}

static void
test_close_counters(void)
{
    /* Our FIN first (Figure 12, A side): one active close, one TIME-WAIT
     * record until 2 MSL has passed; a retransmitted FIN in TIME-WAIT
     * counts nothing again. */
    struct h h;
    h_init(&h);
    int id = h_fin_wait_1(&h);
    check_closes(&h, 1, 0, 0);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    check_closes(&h, 1, 0, 1);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK));
    check_closes(&h, 1, 0, 1);
    CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
    h_advance(&h, 2 * h.st->cfg.tcp.msl_ns + SEC);
    check_closes(&h, 1, 0, 0);
    h_fini(&h);

    /* The peer's FIN first (Figure 12, B side): one passive close, no
     * record; a second FIN in CLOSE-WAIT and LAST-ACK counts nothing. */
    h_init(&h);
    id = h_close_wait(&h);
    check_closes(&h, 0, 1, 0);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = FIN | ACK));
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    CHECK_STATE(&h, id, TERN_TCP_LAST_ACK);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = FIN | ACK));
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    check_closes(&h, 0, 1, 0);
    h_fini(&h);

    /* Both FINs cross (Figure 13): we closed first too, through CLOSING
     * into a TIME-WAIT record. */
    h_init(&h);
    id = h_closing(&h);
    check_closes(&h, 1, 0, 0);
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    check_closes(&h, 1, 0, 1);
    h_fini(&h);

    /* CLOSE in SYN-RECEIVED with nothing to send goes to FIN-WAIT-1 at once
     * (3.10.4): an active close. */
    h_init(&h);
    id = h_syn_received_passive(&h);
    CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
    CHECK_STATE(&h, id, TERN_TCP_FIN_WAIT_1);
    check_closes(&h, 1, 0, 0);
    h_fini(&h);

    /* Reset before either FIN: neither count. */
    h_init(&h);
    id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .flags = RST));
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    check_closes(&h, 0, 0, 0);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_normal_close_figure12_active_side);
    RUN(test_normal_close_figure12_passive_side);
    RUN(test_simultaneous_close_figure13);
    RUN(test_fin_and_ack_together);
    RUN(test_fin_lost_once);
    RUN(test_ack_of_fin_lost_once);
    RUN(test_data_then_fin_after_close);
    RUN(test_abort_established_sends_rst);
    RUN(test_rst_in_every_state);
    RUN(test_orphan_fin_wait_2_times_out);
    RUN(test_orphan_entering_fin_wait_2_after_release);
    RUN(test_second_fin_after_peer_fin);
    RUN(test_text_after_close_and_release_reset);
    RUN(test_release_with_unread_text_reset);
    RUN(test_closing_sends_queued_text_then_fin);
    RUN(test_closing_probes_zero_window);
    RUN(test_close_counters);
    return CHECK_DONE();
}
