/*
 * tests/unit/test_tcp_ack.c: when tern acknowledges and when it pushes
 * (issue 11 items 5 and 6): the quick-ACK phase, ACKs at once for a FIN,
 * input batches that send one ACK after all their segments, PSH on the
 * last segment of a write and on retransmissions only where the original
 * had it. The test plays the peer, segment by segment, in virtual time.
 *
 * EVIDENCE: RFC 9293 3.8.6.3 SHLD-18 SHLD-19: ACKs delayed after the quick-ACK phase, every
 *   second segment at once, in and out of input batches
 * EVIDENCE: RFC 5681 4.2: a FIN, an out-of-order segment and a hole filled are ACKed at once
 */
#include "tcp_harness.h"

#define MS 1000000LL

static void
tweak_delack(struct tern_config *c)
{
    c->tcp.delack_ns = 0; /* the default: 40 ms */
}

/* Text of n bytes of letter c (n < 1500), NUL-terminated, in one of four
 * static buffers. */
static const char *
text(char c, size_t n)
{
    static char b[4][1501];
    static int k;
    char *p = b[k++ & 3];
    memset(p, c, n);
    p[n] = 0;
    return p;
}

/* Segments sent since the test last looked. */
static unsigned
fresh(struct h *h)
{
    return h->n_sent - h->next;
}

/* The quick-ACK phase, computed as the stack's rule states it for the
 * harness (receive window 16384, MSS 1460): min(16384 / 2920, 16) = 5. */
#define QUICK 5u

/* Passes the quick-ACK phase with one-byte segments from 301; returns the
 * next sequence number. */
static uint32_t
after_quick(struct h *h)
{
    uint32_t seq = 301;
    for (unsigned i = 0; i < QUICK; i++) {
        h_deliver(h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "q"));
        seq++;
        EXPECT_SENT(h, US(.seq = 101, .ack = seq, .flags = ACK));
    }
    return seq;
}

/* ---- the quick-ACK phase (issue 11 item 5) ---- */

static void
test_quick_ack_phase(void)
{
    /* EVIDENCE: RFC 5681 4.2: a new connection's first segments are ACKed at once (quick-ACK
     * phase, as Linux), then the ACK is delayed (RFC 9293 3.8.6.3 SHLD-18, MUST-40) */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    uint32_t seq = after_quick(&h); /* QUICK segments, each ACKed at once */
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "abc"));
    EXPECT_NOTHING(&h); /* the phase is over: delayed */
    h_advance(&h, 40 * MS);
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq + 3, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_quick_ack_request_response(void)
{
    /* EVIDENCE: RFC 5681 4.2: a request is ACKed at once, no 40 ms delayed-ACK stall */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    int id = h_established(&h);
    /* A request in two writes of the peer, the second waiting for the first
     * one's ACK (the peer's Nagle): the ACK comes at once. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .data = "GET "));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
    h_deliver(&h, PEER(.seq = 305, .ack = 101, .flags = ACK | PSH, .data = "/\r\n"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 308, .flags = ACK));
    /* The reply carries the ACK of all of it. */
    CHECK_EQ(tern_tcp_send(h.st, id, "ok", 2, h.now), 2);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 308, .flags = ACK | PSH, .data = "ok"));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_quick_ack_after_idle(void)
{
    /* EVIDENCE: RFC 5681 4.2: after an idle RTO the quick-ACK phase starts again (Linux) */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    uint32_t seq = after_quick(&h);
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "x"));
    seq++;
    EXPECT_NOTHING(&h);
    h_advance(&h, 40 * MS);
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq, .flags = ACK));
    /* Well below an RTO (1 s): still delayed. */
    h_advance(&h, 500 * MS);
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "y"));
    seq++;
    EXPECT_NOTHING(&h);
    h_advance(&h, 40 * MS);
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq, .flags = ACK));
    /* Idle for more than the RTO: the next text is ACKed at once. */
    h_advance(&h, 3 * SEC);
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "z"));
    seq++;
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq, .flags = ACK));
    h_fini(&h);
}

static void
test_fin_acked_at_once(void)
{
    /* EVIDENCE: RFC 5681 4.2 RFC 9293 3.10.7.4 eighth: a FIN is ACKed at once, with the text
     * whose ACK was being delayed */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    uint32_t seq = after_quick(&h);
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "abc"));
    EXPECT_NOTHING(&h);
    h_advance(&h, 10 * MS);
    h_deliver(&h, PEER(.seq = seq + 3, .ack = 101, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq + 4, .flags = ACK));
    h_advance(&h, 100 * MS);
    EXPECT_NOTHING(&h); /* the delayed ACK was paid by that one */
    h_fini(&h);
}

static void
test_out_of_order_and_hole_at_once(void)
{
    /* EVIDENCE: RFC 5681 4.2: an out-of-order segment and the one that fills the hole are
     * ACKed at once, after the quick-ACK phase too */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    uint32_t seq = after_quick(&h);
    h_deliver(&h, PEER(.seq = seq + 10, .ack = 101, .flags = ACK, .data = "later"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq, .flags = ACK));
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = text('a', 10)));
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq + 15, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

/* ---- input batches: MUST-58, MUST-59 ---- */

static void
test_batch_one_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7 MUST-58 MUST-59 RFC 1122 4.2.3.2: a batch of segments, each of
     * which would be ACKed at once alone, is processed whole and answered by one ACK of it all */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    tern_stack_batch_begin(h.st);
    uint32_t seq = 301;
    for (int i = 0; i < 4; i++) {
        h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = text('b', 1460)));
        seq += 1460;
    }
    EXPECT_NOTHING(&h); /* nothing before the batch ends */
    tern_stack_batch_end(h.st, h.now);
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq, .flags = ACK));
    EXPECT_NOTHING(&h);
    /* The same four segments outside a batch: ACKs during the quick-ACK
     * phase go out one per segment. */
    unsigned before = h.n_sent;
    for (int i = 0; i < 4; i++) {
        h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = text('c', 1460)));
        seq += 1460;
    }
    CHECK_EQ(h.n_sent - before, 4);
    h_fini(&h);
}

static void
test_batch_keeps_delayed_ack_rules(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.3 SHLD-18 SHLD-19 MUST-58: after the quick-ACK phase a batch
     * of two full segments gets one ACK at its end; a batch of one gets the delayed ACK */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    uint32_t seq = after_quick(&h);
    tern_stack_batch_begin(h.st);
    tern_stack_batch_begin(h.st); /* batches nest: the outer end sends */
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = text('d', 1460)));
    h_deliver(&h, PEER(.seq = seq + 1460, .ack = 101, .flags = ACK, .data = text('d', 1460)));
    h_deliver(&h, PEER(.seq = seq + 2920, .ack = 101, .flags = ACK, .data = text('d', 1460)));
    tern_stack_batch_end(h.st, h.now);
    EXPECT_NOTHING(&h);
    tern_stack_batch_end(h.st, h.now);
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq + 4380, .flags = ACK));
    EXPECT_NOTHING(&h);
    seq += 4380;
    tern_stack_batch_end(h.st, h.now); /* an end without a begin: nothing */
    EXPECT_NOTHING(&h);
    /* One segment in a batch: no reason to ACK at once; the timer sends it. */
    tern_stack_batch_begin(h.st);
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "e"));
    tern_stack_batch_end(h.st, h.now);
    EXPECT_NOTHING(&h);
    h_advance(&h, 40 * MS);
    EXPECT_SENT(&h, US(.seq = 101, .ack = seq + 1, .flags = ACK));
    h_fini(&h);
}

static void
test_batch_never_ended(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.3 MUST-40: an ACK owed to a batch the driver never ends still
     * goes out within the delayed-ACK bound */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    tern_stack_batch_begin(h.st);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "abc"));
    EXPECT_NOTHING(&h);
    h_advance(&h, 39 * MS);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1 * MS);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 304, .flags = ACK));
    tern_stack_batch_end(h.st, h.now);
    EXPECT_NOTHING(&h); /* paid already */
    h_fini(&h);
}

static void
test_batch_dupacks_not_collapsed(void)
{
    /* EVIDENCE: RFC 5681 4.2 RFC 9293 3.10.7 MUST-58: in a batch, every out-of-order segment
     * still gets its duplicate ACK (the sender's fast retransmit counts them); the in-order
     * text before them is covered by those, the end of the batch adds nothing */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    tern_stack_batch_begin(h.st);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = text('f', 100)));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 501, .ack = 101, .flags = ACK, .data = text('g', 100)));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 401, .flags = ACK));
    h_deliver(&h, PEER(.seq = 601, .ack = 101, .flags = ACK, .data = text('g', 100)));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 401, .flags = ACK));
    tern_stack_batch_end(h.st, h.now);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_batch_two_connections(void)
{
    /* EVIDENCE: RFC 9293 3.10.7 MUST-58: one ACK per connection at the end of a batch */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    struct tern_tcp_open_args a = {.local_port = US_PORT + 1,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN, .mss = 1460));
    h_deliver(&h, PEER(.seq = REMOTE_ISS, .ack = LOCAL_ISS + 1, .flags = SYN | ACK, .mss = 1460,
                       .dport = US_PORT + 1));
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1, .flags = ACK));
    tern_stack_batch_begin(h.st);
    for (uint32_t i = 0; i < 3; i++) {
        h_deliver(&h, PEER(.seq = 301 + 10 * i, .ack = 101, .flags = ACK, .data = text('h', 10)));
        h_deliver(&h, PEER(.seq = 301 + 10 * i, .ack = 101, .flags = ACK, .data = text('i', 10),
                           .dport = US_PORT + 1));
    }
    EXPECT_NOTHING(&h);
    tern_stack_batch_end(h.st, h.now);
    CHECK_EQ(fresh(&h), 2);
    struct wire_tcp t1 = EXPECT_SENT(&h, US(.seq = 101, .ack = 331, .flags = ACK));
    struct wire_tcp t2 = EXPECT_SENT(&h, US(.seq = 101, .ack = 331, .flags = ACK));
    CHECK(t1.src_port != t2.src_port);
    h_fini(&h);
}

/* ---- PSH (issue 11 item 6) ---- */

static void
test_psh_last_segment_of_each_write(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.2 MUST-61: PSH on the segment that ends a write, not on the
     * others */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_set_nodelay(h.st, id, true, h.now), TERN_OK); /* no Nagle wait */
    static char big[3001];
    memset(big, 'p', 3000);
    CHECK_EQ(tern_tcp_send(h.st, id, big, 3000, h.now), 3000);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .data = text('p', 1460)));
    EXPECT_SENT(&h, US(.seq = 1561, .ack = 301, .flags = ACK, .data = text('p', 1460)));
    EXPECT_SENT(&h, US(.seq = 3021, .ack = 301, .flags = ACK | PSH, .data = text('p', 80)));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_psh_collapsed_over_queued_writes(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.2 SHLD-27: writes queued together go out with one PSH, on the
     * last segment */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "abc", 3, h.now), 3);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "abc"));
    /* Nagle holds these two small writes while "abc" is unacknowledged. */
    CHECK_EQ(tern_tcp_send(h.st, id, "def", 3, h.now), 3);
    CHECK_EQ(tern_tcp_send(h.st, id, "ghi", 3, h.now), 3);
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 104, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 104, .ack = 301, .flags = ACK | PSH, .data = "defghi"));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_psh_on_retransmission_only_where_original(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.2 MUST-61: a retransmission carries PSH only where the original
     * segment did */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_set_nodelay(h.st, id, true, h.now), TERN_OK); /* no Nagle wait */
    static char big[2001];
    memset(big, 'r', 2000);
    CHECK_EQ(tern_tcp_send(h.st, id, big, 2000, h.now), 2000);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .data = text('r', 1460)));
    EXPECT_SENT(&h, US(.seq = 1561, .ack = 301, .flags = ACK | PSH, .data = text('r', 540)));
    /* Nothing is acknowledged: the RTO (1 s) resends the first segment,
     * which had no PSH. */
    h_advance(&h, 1 * SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .data = text('r', 1460)));
    EXPECT_NOTHING(&h);
    /* Its ACK lets the second go again: with PSH, as the original. */
    h_deliver(&h, PEER(.seq = 301, .ack = 1561, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 1561, .ack = 301, .flags = ACK | PSH, .data = text('r', 540)));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.retransmits, 2);
    h_fini(&h);
}

static void
test_sender_does_not_buffer_indefinitely(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.2 MUST-60: text held back (Nagle, RFC 9293 3.7.4) goes out when
     * the ACK comes, without another SEND; a small write with nothing in flight goes at once */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "a", 1, h.now), 1);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "a"));
    CHECK_EQ(tern_tcp_send(h.st, id, "b", 1, h.now), 1);
    EXPECT_NOTHING(&h);
    h_advance(&h, 100 * MS);
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 301, .flags = ACK | PSH, .data = "b"));
    /* The peer acknowledges nothing: the held text still leaves, by the
     * retransmission timer, never waiting for a further SEND. */
    CHECK_EQ(tern_tcp_send(h.st, id, "c", 1, h.now), 1);
    EXPECT_NOTHING(&h);
    h_advance(&h, 3 * SEC);
    CHECK(fresh(&h) >= 1);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, id, &s);
    CHECK(s.total_retransmits >= 1);
    h_fini(&h);
}

/* ---- nothing unasked (issue 11 item 12) ---- */

static void
test_read_sends_no_stray_window_update(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.2.2 3.8.6.3 SHLD-18: reading one segment while its ACK is delayed
     * sends no window update of its own; the delayed ACK carries the new window */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    int id = h_established(&h);
    uint32_t seq = after_quick(&h);
    char b[1500];
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), (int)QUICK);
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = text('w', 1460)));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 1460);
    EXPECT_NOTHING(&h); /* the window grew by one segment only */
    h_advance(&h, 40 * MS);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = seq + 1460, .flags = ACK));
    CHECK_EQ(t.window, 16384);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_probe_octet_resent_when_window_opens(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.1 MUST-36: a probe octet the peer dropped (its window was zero)
     * goes again first when the window opens, so no hole and no retransmission timeout follow */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "hello", 5, h.now), 5);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .wnd = 0));
    CHECK_EQ(tern_tcp_send(h.st, id, "world", 5, h.now), 5);
    h_advance(&h, 1 * SEC);
    EXPECT_SENT(&h, US(.seq = 106, .ack = 301, .flags = ACK, .data = "w"));
    /* The peer had no room for it: its ACK still says 106, now with a window. */
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .wnd = 1000));
    EXPECT_SENT(&h, US(.seq = 106, .ack = 301, .flags = ACK | PSH, .data = "world"));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_quick_ack_phase);
    RUN(test_quick_ack_request_response);
    RUN(test_quick_ack_after_idle);
    RUN(test_fin_acked_at_once);
    RUN(test_out_of_order_and_hole_at_once);
    RUN(test_batch_one_ack);
    RUN(test_batch_keeps_delayed_ack_rules);
    RUN(test_batch_never_ended);
    RUN(test_batch_dupacks_not_collapsed);
    RUN(test_batch_two_connections);
    RUN(test_psh_last_segment_of_each_write);
    RUN(test_psh_collapsed_over_queued_writes);
    RUN(test_psh_on_retransmission_only_where_original);
    RUN(test_sender_does_not_buffer_indefinitely);
    RUN(test_read_sends_no_stray_window_update);
    RUN(test_probe_octet_resent_when_window_opens);
    return CHECK_DONE();
}
