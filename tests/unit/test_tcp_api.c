/* tests/unit/test_tcp_api.c: the user calls (RFC 9293 3.9.1, 3.10.1-3.10.6). */
#include "tcp_harness.h"

static void
test_state_names(void)
{
    /* EVIDENCE: RFC 9293 3.3.2: the eleven states, RFC spelling */
    CHECK_STR(tern_tcp_state_name(TERN_TCP_SYN_RECEIVED), "SYN-RECEIVED");
    CHECK_STR(tern_tcp_state_name(TERN_TCP_FIN_WAIT_2), "FIN-WAIT-2");
    CHECK_STR(tern_tcp_state_name(TERN_TCP_TIME_WAIT), "TIME-WAIT");
    CHECK_STR(tern_tcp_state_name(99), "?");
}

static void
test_open_errors(void)
{
    /* EVIDENCE: RFC 9293 3.10.1 MUST-46 MUST-43: bad remote, broadcast, foreign local address,
     * no route, connection already exists */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.remote_addr = tern_ip4(PEER_ADDR)};
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_INVAL); /* remote socket unspecified */
    a.remote_port = 80;
    a.remote_addr = tern_ip4(TERN_IPV4(255, 255, 255, 255));
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_INVAL);
    a.remote_addr = tern_ip4(TERN_IPV4(10, 0, 0, 255));
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_INVAL);
    a.remote_addr = tern_ip4(TERN_IPV4(224, 0, 0, 1));
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_INVAL);
    a.remote_addr = tern_ip4(TERN_IPV4(192, 168, 9, 9));
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_NOROUTE);
    a.remote_addr = tern_ip4(PEER_ADDR);
    a.local_addr = tern_ip4(TERN_IPV4(10, 0, 0, 77));
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_INVAL);
    a.local_addr = tern_ip4(US_ADDR);
    a.local_port = 5;
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_EXIST);
    struct tern_tcp_open_args p = {.passive = true};
    CHECK_EQ(tern_tcp_open(h.st, &p, h.now), TERN_ERR_INVAL); /* passive needs a port */
    h_fini(&h);
}

static void
test_calls_on_unknown_id(void)
{
    /* EVIDENCE: RFC 9293 3.10.2-3.10.6: "connection does not exist" */
    struct h h;
    h_init(&h);
    char b[4];
    CHECK_EQ(tern_tcp_send(h.st, 7, "x", 1, h.now), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_tcp_recv(h.st, 7, b, 4, h.now), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_tcp_close(h.st, 7, h.now), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_tcp_abort(h.st, 7, h.now), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_tcp_status(h.st, 7, &(struct tern_tcp_status){0}), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_tcp_events(h.st, 7), 0);
    CHECK_EQ(tern_tcp_release(h.st, 0, h.now), TERN_ERR_NOTCONN);
    h_fini(&h);
}

static void
test_calls_by_state(void)
{
    /* EVIDENCE: RFC 9293 3.10.2 3.10.3 3.10.4: SEND/RECEIVE/CLOSE answers per state */
    struct h h;
    h_init(&h);
    char b[4];
    int l = h_listen(&h, 0);
    CHECK_EQ(tern_tcp_send(h.st, l, "x", 1, h.now), TERN_ERR_STATE);
    CHECK_EQ(tern_tcp_recv(h.st, l, b, 4, h.now), TERN_ERR_AGAIN);
    CHECK_EQ(tern_tcp_accept(h.st, l, h.now), TERN_ERR_AGAIN);
    h.our_port = US_PORT;
    int c = h_syn_sent(&h);
    CHECK_EQ(tern_tcp_accept(h.st, c, h.now), TERN_ERR_STATE);
    CHECK_EQ(tern_tcp_send(h.st, c, "abc", 3, h.now), 3); /* queued */
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    /* The handshake's ACK rides on the queued text (RFC 9293 3.10.7.3:
     * queued data MAY be included; one segment, not two). */
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "abc"));
    EXPECT_NOTHING(&h);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, c, &s);
    CHECK_EQ(s.send_queued, 3);
    h_fini(&h);
}

static void
test_events_polled(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.8 MUST-47 MUST-12: events the user can poll */
    struct h h;
    h_init(&h);
    int c = h_established(&h);
    unsigned ev = tern_tcp_events(h.st, c);
    CHECK(ev & TERN_TCP_EV_CONNECTED);
    CHECK(ev & TERN_TCP_EV_WRITABLE);
    CHECK(!(ev & TERN_TCP_EV_READABLE));
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = FIN | ACK, .data = "z"));
    ev = tern_tcp_events(h.st, c);
    CHECK(ev & TERN_TCP_EV_READABLE);
    CHECK(ev & TERN_TCP_EV_PEER_FIN);
    CHECK(!(ev & TERN_TCP_EV_CLOSED));
    h_deliver(&h, PEER(.seq = 303, .flags = RST));
    ev = tern_tcp_events(h.st, c);
    CHECK(ev & TERN_TCP_EV_CLOSED);
    CHECK(ev & TERN_TCP_EV_ERROR);
    h_fini(&h);
}

struct cb_log {
    int calls;
    int id;
    unsigned ev;
};

static void
conn_cb(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    struct cb_log *log = ctx;
    (void)err;
    log->calls++;
    log->id = id;
    log->ev |= events;
    if (events & TERN_TCP_EV_CONNECTED) {
        /* A callback may call back into the API. */
        tern_tcp_send(st, id, "cb", 2, 0);
    }
}

static void
test_per_connection_callback(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.8: events by callback, after the segment is processed */
    struct h h;
    h_init(&h);
    struct cb_log log = {0};
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = 100,
                                   .cb = conn_cb,
                                   .cb_ctx = &log};
    int id = tern_tcp_open(h.st, &a, h.now);
    EXPECT_SENT(&h, US(.seq = 100, .flags = SYN));
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "cb"));
    CHECK_EQ(log.id, id);
    CHECK(log.ev & TERN_TCP_EV_CONNECTED);
    CHECK_EQ(h.events[id], 0); /* the stack callback is not used */
    h_fini(&h);
}

static void
test_release_aborts_open_connection(void)
{
    /* EVIDENCE: RFC 9293 3.10.5: releasing an open id aborts it (RST) and frees the slot */
    struct h h;
    h_init(&h);
    int c = h_established(&h);
    CHECK_EQ(tern_tcp_release(h.st, c, h.now), TERN_OK);
    EXPECT_SENT(&h, US(.seq = 101, .flags = RST));
    CHECK_EQ(tern_tcp_status(h.st, c, &(struct tern_tcp_status){0}), TERN_ERR_NOTCONN);
    CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
    h_fini(&h);
}

static void
test_status_fields(void)
{
    /* EVIDENCE: RFC 9293 3.10.6: STATUS gives the state and the TCB variables */
    struct h h;
    h_init(&h);
    int c = h_established(&h);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, c, &s), TERN_OK);
    CHECK_EQ(s.state, TERN_TCP_ESTABLISHED);
    CHECK_EQ(s.iss, 100);
    CHECK_EQ(s.irs, 300);
    CHECK_EQ(s.snd_una, 101);
    CHECK_EQ(s.snd_nxt, 101);
    CHECK_EQ(s.rcv_nxt, 301);
    CHECK_EQ(s.rcv_wnd, 16384);
    CHECK_EQ(s.local_port, US_PORT);
    CHECK_EQ(s.remote_port, PEER_PORT);
    CHECK_EQ(s.snd_mss, 1460);
    h_fini(&h);
}

static void
test_trace_names_rules(void)
{
    /* EVIDENCE: DESIGN principle 5: each state change names its RFC rule */
    struct h h;
    h_init(&h);
    h_established(&h);
    CHECK_EQ(h.last_old, TERN_TCP_SYN_SENT);
    CHECK_EQ(h.last_new, TERN_TCP_ESTABLISHED);
    CHECK(strncmp(h.last_rule, "RFC 9293 3.10.7.3:", 18) == 0);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_state_names);
    RUN(test_open_errors);
    RUN(test_calls_on_unknown_id);
    RUN(test_calls_by_state);
    RUN(test_events_polled);
    RUN(test_per_connection_callback);
    RUN(test_release_aborts_open_connection);
    RUN(test_status_fields);
    RUN(test_trace_names_rules);
    return CHECK_DONE();
}
