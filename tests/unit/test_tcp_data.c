/*
 * tests/unit/test_tcp_data.c: data transfer (issue 4), one rule per test,
 * in the style of the state tests: the test plays the peer, crafts each
 * segment (options included) and checks what the stack sent, when.
 *
 * EVIDENCE: RFC 9293 3.10.7.4 SHLD-31: out-of-order text held and delivered in order
 * EVIDENCE: RFC 9293 3.8.6.3 SHLD-18 SHLD-19 MUST-40: delayed ACK, every second segment, bound
 * EVIDENCE: RFC 5681 4.2: immediate ACK for out-of-order and hole-filling segments
 * EVIDENCE: RFC 9293 3.8.6.2.2 MUST-39: receiver SWS avoidance
 * EVIDENCE: RFC 9293 3.8.6.2.1 MUST-38: sender SWS avoidance
 * EVIDENCE: RFC 9293 3.7.4 SHLD-7 MUST-17: Nagle, and a per-connection switch to turn it off
 * EVIDENCE: RFC 9293 3.8.6.1 MUST-35 MUST-36 MUST-37: zero-window probing, persist timer
 * EVIDENCE: RFC 9293 3.8.4 MUST-24 MUST-25 MUST-26 MUST-27 MUST-28 MUST-29: keep-alive
 * EVIDENCE: RFC 7323 2 3 4 5: window scaling and timestamps negotiated on the SYN, PAWS
 * EVIDENCE: RFC 2018 4: SACK blocks sent for out-of-order data
 * EVIDENCE: RFC 5681 3.2: fast retransmit after the third duplicate ACK
 * EVIDENCE: RFC 6298 2 5 RFC 9293 3.8.1 MUST-18 MUST-19: RTO estimate, backoff, Karn
 */
#include "tcp_harness.h"

#define MS 1000000LL

static char Z[1461]; /* 1460 'z', the text sending() queues */

static void
tweak_delack(struct tern_config *c)
{
    c->tcp.delack_ns = 0; /* the default: 40 ms */
}

static void
tweak_no_opts(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
}

/* The retransmission tests count segments from RFC 5681's IW (3 at SMSS
 * 1460); the default IW10 has tests of its own (test_initial_window_*). */
static void
tweak_no_opts_iw5681(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
    c->tcp.initial_window = TERN_TCP_IW_RFC5681;
}

static void
tweak_keepalive(struct tern_config *c)
{
    c->tcp.keepalive_idle_ns = 7200 * SEC;
    c->tcp.keepalive_intvl_ns = 75 * SEC;
    c->tcp.keepalive_count = 3;
}

/* A 1460-byte text of one letter, NUL-terminated, in a static buffer. */
static const char *
chunk(char c, size_t n)
{
    static char b[4][1461];
    static int k;
    char *p = b[k++ & 3];
    memset(p, c, n);
    p[n] = 0;
    return p;
}

/* ---- receive side ---- */

/* Delivers one-byte segments from `seq` until one is no longer ACKed at
 * once (the quick-ACK phase of a new connection is over, issue 11 item 5;
 * test_tcp_ack.c tests the phase itself), lets that one's delayed ACK go,
 * and returns the next sequence number. */
static uint32_t
past_quick_acks(struct h *h, uint32_t seq)
{
    for (int i = 0; i < 32; i++) {
        unsigned before = h->n_sent;
        h_deliver(h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "q"));
        seq++;
        bool at_once = h->n_sent != before;
        if (!at_once) {
            h_advance(h, 40 * MS);
        }
        h->next = h->n_sent;
        if (!at_once) {
            return seq;
        }
    }
    CHECK(false); /* never left the quick-ACK phase */
    return seq;
}

static void
test_ooo_delivered_in_order(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 SHLD-31: two holes, filled in turn, text in order */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 311, .ack = 101, .flags = ACK, .data = "BBBBB"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    h_deliver(&h, PEER(.seq = 321, .ack = 101, .flags = ACK, .data = "DDDDD"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(h_status(&h, id).recv_queued, 0);
    /* First hole: delivered up to the second hole, ACKed at once. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "AAAAAAAAAA"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 316, .flags = ACK));
    h_deliver(&h, PEER(.seq = 316, .ack = 101, .flags = ACK, .data = "CCCCC"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 326, .flags = ACK));
    EXPECT_NOTHING(&h);
    char b[64];
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 25);
    CHECK(memcmp(b, "AAAAAAAAAABBBBBCCCCCDDDDD", 25) == 0);
    h_fini(&h);
}

static void
test_ooo_fin_processed_when_hole_fills(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 SHLD-31: a FIN held out of order counts once RCV.NXT reaches it
     */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 306, .ack = 101, .flags = FIN | ACK, .data = "world"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "hello"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 312, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_CLOSE_WAIT);
    h_fini(&h);
}

static void
test_blind_text_without_ack_never_stored(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth ("if the ACK bit is off, drop the segment"), RFC 5961 5:
     * text beyond RCV.NXT without an ACK bit, or with an ACK outside [SND.UNA - MAX.SND.WND,
     * SND.NXT], never reaches the receive buffer; when the hole fills only the peer's bytes are
     * delivered (issue 11 item 0: blind data injection) */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    /* The attacker's guesses: in the window, beyond RCV.NXT. */
    h_deliver(&h, PEER(.seq = 306, .flags = PSH, .data = "EVIL!"));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_NO_ACK);
    h_deliver(&h, PEER(.seq = 306, .ack = 5000, .flags = ACK, .data = "EVIL!"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK)); /* RFC 5961 5.2 ACK */
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_ACK_UNACCEPTABLE);
    /* The real peer's text fills the hole: nothing of the guesses shows. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "hello"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    h_deliver(&h, PEER(.seq = 306, .ack = 101, .flags = ACK, .data = "world"));
    char b[16];
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 10);
    CHECK(memcmp(b, "helloworld", 10) == 0);
    h_fini(&h);
}

static void
test_ack_of_out_of_order_segment_processed(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth and seventh (SHLD-31): an acceptable segment beyond
     * RCV.NXT has its ACK and window processed now, only its text is held: SND.UNA moves while
     * the peer's hole is open (issue 11 item 1) */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "0123456789", 10, h.now), 10);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "0123456789"));
    /* The peer's segment 301..305 is lost; its next one acks our text. */
    h_deliver(&h, PEER(.seq = 306, .ack = 111, .wnd = 4000, .flags = ACK, .data = "world"));
    EXPECT_SENT(&h, US(.seq = 111, .ack = 301, .flags = ACK)); /* dup ACK of RCV.NXT */
    struct tern_tcp_status st1 = h_status(&h, id);
    CHECK_EQ(st1.snd_una, 111);
    CHECK_EQ(st1.snd_wnd, 4000);
    CHECK_EQ(st1.recv_queued, 0);
    /* A bare ACK beyond RCV.NXT is processed too and not answered. */
    CHECK_EQ(tern_tcp_send(h.st, id, "ab", 2, h.now), 2);
    EXPECT_SENT(&h, US(.seq = 111, .ack = 301, .flags = ACK | PSH, .data = "ab"));
    h_deliver(&h, PEER(.seq = 311, .ack = 113, .wnd = 4000, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).snd_una, 113);
    h_fini(&h);
}

static void
test_ooo_bare_fin_held(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 seventh (SHLD-31): a FIN without text beyond RCV.NXT is held
     * and takes effect when the hole fills (issue 11 item 11) */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 306, .ack = 101, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "hello"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 307, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_CLOSE_WAIT);
    h_fini(&h);
}

static void
test_delayed_ack_timing(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.3 SHLD-18 MUST-40: one segment's ACK waits 40 ms (< 500 ms) */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    uint32_t b = past_quick_acks(&h, 301);
    h_deliver(&h, PEER(.seq = b, .ack = 101, .flags = ACK, .data = "abc"));
    EXPECT_NOTHING(&h);
    h_advance(&h, 39 * MS);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1 * MS);
    EXPECT_SENT(&h, US(.seq = 101, .ack = b + 3, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_delayed_ack_every_second_segment(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.3 SHLD-19 RFC 5681 4.2: ACK at least every second full segment */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h);
    uint32_t b = past_quick_acks(&h, 301);
    h_deliver(&h, PEER(.seq = b, .ack = 101, .flags = ACK, .data = chunk('a', 1460)));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = b + 1460, .ack = 101, .flags = ACK, .data = chunk('b', 1460)));
    EXPECT_SENT(&h, US(.seq = 101, .ack = b + 2920, .flags = ACK));
    h_deliver(&h, PEER(.seq = b + 2920, .ack = 101, .flags = ACK, .data = chunk('c', 1460)));
    EXPECT_NOTHING(&h);
    /* Out of order: immediate ACK (RFC 5681 4.2), which also covers the third. */
    h_deliver(&h, PEER(.seq = b + 5840, .ack = 101, .flags = ACK, .data = chunk('e', 1460)));
    EXPECT_SENT(&h, US(.seq = 101, .ack = b + 4380, .flags = ACK));
    /* Filling the hole: immediate ACK too. */
    h_deliver(&h, PEER(.seq = b + 4380, .ack = 101, .flags = ACK, .data = chunk('d', 1460)));
    EXPECT_SENT(&h, US(.seq = 101, .ack = b + 7300, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_advance(&h, 100 * MS);
    EXPECT_NOTHING(&h); /* the delayed-ACK timer was cancelled by those ACKs */
    h_fini(&h);
}

static void
test_delayed_ack_not_on_handshake(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.3: the handshake's ACK is not delayed */
    struct h h;
    h_init_cfg(&h, tweak_delack);
    h_established(&h); /* checks <SEQ=101><ACK=301><CTL=ACK> at once */
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

static void
test_receiver_sws_avoidance(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.2.2 MUST-39: the window opens only by min(RCV.BUFF/2, MSS) */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    uint32_t seq = 301;
    for (int i = 0; i < 12; i++) {
        size_t n = i < 11 ? 1460 : 16384 - 11 * 1460;
        h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = chunk('x', n)));
        seq += (uint32_t)n;
    }
    h.next = h.n_sent;
    char b[2000];
    /* Reading 100 bytes frees 100: not worth a window update. */
    CHECK_EQ(tern_tcp_recv(h.st, id, b, 100, h.now), 100);
    EXPECT_NOTHING(&h);
    /* Reading 1400 more: 1500 >= one MSS (1460): update. */
    CHECK_EQ(tern_tcp_recv(h.st, id, b, 1400, h.now), 1400);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = seq, .flags = ACK));
    CHECK_EQ(t.window, 1500);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

/* ---- send side ---- */

static void
test_sender_sws_avoidance(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.2.1 MUST-38: no tiny segment into a small window */
    struct h h;
    h_init(&h);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1000, .wnd = 4000));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    char big[3000];
    memset(big, 'q', sizeof(big));
    CHECK_EQ(tern_tcp_send(h.st, id, big, 3000, h.now), 3000);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .data = chunk('q', 1000)));
    EXPECT_SENT(&h, US(.seq = 1101, .ack = 301, .flags = ACK, .data = chunk('q', 1000)));
    EXPECT_SENT(&h, US(.seq = 2101, .ack = 301, .flags = ACK | PSH, .data = chunk('q', 1000)));
    EXPECT_NOTHING(&h);
    /* The peer takes it all but offers 100 bytes only: 100 < MSS and <
     * half its largest window (2000): nothing goes. */
    CHECK_EQ(tern_tcp_send(h.st, id, big, 3000, h.now), 3000);
    EXPECT_SENT(&h, US(.seq = 3101, .ack = 301, .flags = ACK, .data = chunk('q', 1000)));
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 4101, .flags = ACK, .wnd = 100));
    EXPECT_NOTHING(&h);
    /* A window of 1000 (one MSS) is worth it. */
    h_deliver(&h, PEER(.seq = 301, .ack = 4101, .flags = ACK, .wnd = 1000));
    EXPECT_SENT(&h, US(.seq = 4101, .ack = 301, .flags = ACK, .data = chunk('q', 1000)));
    h_fini(&h);
}

static void
test_nagle_on_and_off(void)
{
    /* EVIDENCE: RFC 9293 3.7.4 SHLD-7: small segments wait for the ACK of outstanding data
     * EVIDENCE: RFC 9293 3.7.4 MUST-17: Nagle can be switched off per connection */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "a", 1, h.now), 1);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "a"));
    CHECK_EQ(tern_tcp_send(h.st, id, "b", 1, h.now), 1);
    CHECK_EQ(tern_tcp_send(h.st, id, "c", 1, h.now), 1);
    EXPECT_NOTHING(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 301, .flags = ACK | PSH, .data = "bc"));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_tcp_set_nodelay(h.st, id, true, h.now), TERN_OK);
    CHECK(h_status(&h, id).nodelay);
    CHECK_EQ(tern_tcp_send(h.st, id, "d", 1, h.now), 1);
    EXPECT_SENT(&h, US(.seq = 104, .ack = 301, .flags = ACK | PSH, .data = "d"));
    h_fini(&h);
}

static void
test_persist_probe_zero_window_opens(void)
{
    /* EVIDENCE: RFC 9293 3.8.6.1 MUST-35 MUST-36: probe a zero window with one octet, backing off
     * EVIDENCE: RFC 9293 3.8.6.1 MUST-37: a peer answering probes keeps the connection open */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "hello", 5, h.now), 5);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "hello"));
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .wnd = 0));
    CHECK_EQ(tern_tcp_send(h.st, id, "world", 5, h.now), 5);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1 * SEC); /* one RTO */
    EXPECT_SENT(&h, US(.seq = 106, .ack = 301, .flags = ACK, .data = "w"));
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .wnd = 0));
    EXPECT_NOTHING(&h);
    /* The probe is retransmitted as data with a backed-off timer (without
     * PSH, as the probe itself: MUST-61)... */
    h_advance(&h, 1 * SEC);
    EXPECT_SENT(&h, US(.seq = 106, .ack = 301, .flags = ACK, .data = "w"));
    h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .wnd = 0));
    /* ...many times over: the connection is never given up while answered. */
    for (int i = 0; i < 20; i++) {
        h_advance(&h, 60 * SEC);
        h_deliver(&h, PEER(.seq = 301, .ack = 106, .flags = ACK, .wnd = 0));
    }
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h.next = h.n_sent;
    /* The window opens: the rest goes. */
    h_deliver(&h, PEER(.seq = 301, .ack = 107, .flags = ACK, .wnd = 1000));
    EXPECT_SENT(&h, US(.seq = 107, .ack = 301, .flags = ACK | PSH, .data = "orld"));
    h_fini(&h);
}

static void
test_keepalive_probes_and_timeout(void)
{
    /* EVIDENCE: RFC 9293 3.8.4 MUST-24 MUST-25: off by default, on per connection
     * EVIDENCE: RFC 9293 3.8.4 MUST-26 MUST-28 MUST-29: after 2 h idle, <SEQ=SND.NXT-1> without
     * text EVIDENCE: RFC 9293 3.8.4 MUST-27: an answered probe keeps the connection; silence closes
     * it */
    struct h h;
    h_init_cfg(&h, tweak_keepalive);
    int id = h_established(&h);
    h_advance(&h, 3 * 3600 * SEC);
    EXPECT_NOTHING(&h); /* off by default */
    CHECK_EQ(tern_tcp_set_keepalive(h.st, id, true, h.now), TERN_OK);
    h_advance(&h, 7200 * SEC - 1);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    EXPECT_NOTHING(&h);
    h_advance(&h, 7200 * SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    h_advance(&h, 75 * SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    h_advance(&h, 75 * SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_advance(&h, 75 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    h_fini(&h);
}

/* Per-connection keep-alive timing (what TCP_KEEPIDLE, TCP_KEEPINTVL and
 * TCP_KEEPCNT set) overrides the stack's. */
static void
test_keepalive_per_connection_timing(void)
{
    /* EVIDENCE: RFC 9293 3.8.4 MUST-24: keep-alive set per connection */
    struct h h;
    h_init_cfg(&h, tweak_keepalive);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_set_keepalive_params(h.st, id, -1, 0, 0, h.now), TERN_ERR_INVAL);
    CHECK_EQ(tern_tcp_set_keepalive_params(h.st, 999, SEC, SEC, 1, h.now), TERN_ERR_NOTCONN);
    CHECK_EQ(tern_tcp_set_keepalive_params(h.st, id, 10 * SEC, 2 * SEC, 2, h.now), TERN_OK);
    CHECK_EQ(tern_tcp_set_keepalive(h.st, id, true, h.now), TERN_OK);
    h_advance(&h, 10 * SEC - 1);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    h_advance(&h, 2 * SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_advance(&h, 2 * SEC);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_TIMEDOUT);
    h_fini(&h);
}

/* ---- options ---- */

/* Established with the peer answering every option (ws 7, TS, SACK). */
static int
established_opts(struct h *h, struct wire_tcp *syn)
{
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h->st, &a, h->now);
    *syn = EXPECT_SENT(h, US(.seq = LOCAL_ISS, .flags = SYN, .mss = 1460));
    struct topts o = {.ws = true,
                      .wscale = 7,
                      .ts = true,
                      .ts_val = 5000,
                      .ts_ecr = syn->opts.ts_val,
                      .sackp = true};
    h_deliver_opts(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 8192),
                   &o);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    return id;
}

static void
test_options_negotiated(void)
{
    /* EVIDENCE: RFC 7323 2.2 3.2 RFC 2018 2: WS, TS and SACK-permitted offered on the SYN, used
     * when the SYN,ACK has them */
    struct h h;
    h_init(&h);
    struct wire_tcp syn;
    int id = established_opts(&h, &syn);
    CHECK(syn.opts.has_wscale);
    CHECK(syn.opts.has_ts);
    CHECK(syn.opts.sack_permitted);
    CHECK_EQ(syn.opts.wscale, 0); /* 16 KiB buffer: no shift needed */
    struct tern_tcp_status s = h_status(&h, id);
    CHECK(s.ts_ok);
    CHECK(s.sack_ok);
    CHECK_EQ(s.snd_wscale, 7);
    /* RFC 7323 2.3: SEG.WND of later segments is shifted by 7. */
    struct topts o = {.ts = true, .ts_val = 5001, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 100), &o);
    CHECK_EQ(h_status(&h, id).snd_wnd, 12800);
    /* RFC 7323 3.2: our segments carry TSval and echo TS.Recent. */
    CHECK_EQ(tern_tcp_send(h.st, id, "x", 1, h.now), 1);
    struct wire_tcp t =
        EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "x"));
    CHECK(t.opts.has_ts);
    CHECK_EQ(t.opts.ts_ecr, 5001);
    h_fini(&h);
}

static void
test_options_not_used_without_peer(void)
{
    /* EVIDENCE: RFC 7323 2.2 3.2: not used when the peer's SYN lacks them */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    struct tern_tcp_status s = h_status(&h, id);
    CHECK(!s.ts_ok);
    CHECK(!s.sack_ok);
    CHECK_EQ(s.snd_wscale, 0);
    h_fini(&h);
}

static void
test_large_buffer_scales_window(void)
{
    /* EVIDENCE: RFC 7323 2.3: a receive buffer over 64 KiB is announced with a shift */
    struct h h;
    h_init_cfg(&h, NULL);
    h_fini(&h);
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.tcp.rcvbuf = 256 * 1024;
    CHECK_EQ(tcp_wscale_for(cfg.tcp.rcvbuf), 3);
    CHECK_EQ(tcp_wscale_for(65535), 0);
    CHECK_EQ(tcp_wscale_for(1u << 30), 14);
}

static void
test_paws_drops_old_timestamp(void)
{
    /* EVIDENCE: RFC 7323 5.3: a segment with TSval older than TS.Recent is ACKed and dropped */
    struct h h;
    h_init(&h);
    struct wire_tcp syn;
    int id = established_opts(&h, &syn);
    struct topts old = {.ts = true, .ts_val = 4000, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "old"), &old);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(h.last_drop, TERN_DROP_TCP_PAWS);
    CHECK_EQ(h_status(&h, id).recv_queued, 0);
    struct topts now = {.ts = true, .ts_val = 5002, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "new"), &now);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 304, .flags = ACK));
    CHECK_EQ(h_status(&h, id).recv_queued, 3);
    h_fini(&h);
}

static void
test_paws_spares_rst_and_expires(void)
{
    /* EVIDENCE: RFC 7323 5.3 R1: a RST is not subject to PAWS (an exact RST with an old TSval
     * resets); 5.5: after 24 days idle TS.Recent is invalid and an old TSval is accepted
     * (issue 11 item 2) */
    struct h h;
    h_init(&h);
    struct wire_tcp syn;
    int id = established_opts(&h, &syn);
    struct topts old = {.ts = true, .ts_val = 4000, .ts_ecr = 1};
    /* 25 days idle: the segment with an older TSval is taken, TS.Recent follows it. */
    h_advance(&h, 25LL * 24 * 3600 * SEC);
    EXPECT_NOTHING(&h);
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "new"), &old);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 304, .flags = ACK));
    CHECK_EQ(h_status(&h, id).recv_queued, 3);
    /* An exact RST whose TSval is older than TS.Recent resets the connection. */
    struct topts older = {.ts = true, .ts_val = 100, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 304, .flags = RST), &older);
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id, TERN_TCP_CLOSED);
    CHECK_EQ(tern_tcp_error(h.st, id), TERN_ERR_RESET);
    h_fini(&h);
}

static void
test_sack_blocks_sent(void)
{
    /* EVIDENCE: RFC 2018 4: the ACK for out-of-order data carries SACK blocks, newest first */
    struct h h;
    h_init(&h);
    struct wire_tcp syn;
    established_opts(&h, &syn);
    struct topts o = {.ts = true, .ts_val = 5001, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 311, .ack = 101, .flags = ACK, .data = "bbbbb"), &o);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 1);
    CHECK_EQ(t.opts.sack[0].left, 311);
    CHECK_EQ(t.opts.sack[0].right, 316);
    h_deliver_opts(&h, PEER(.seq = 321, .ack = 101, .flags = ACK, .data = "ddddd"), &o);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 2);
    CHECK_EQ(t.opts.sack[0].left, 321);
    CHECK_EQ(t.opts.sack[1].left, 311);
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaaaaaaa"), &o);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 316, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 1);
    CHECK_EQ(t.opts.sack[0].left, 321);
    h_fini(&h);
}

/* Eight 5-byte pieces, each after a 5-byte hole, arrive highest first:
 * more out-of-order ranges than the TCB holds (TCP_OOO_MAX, 4). None is
 * forgotten (no reneging, RFC 2018 8: the peer would wait for its
 * retransmission timer to resend what we SACKed): filling the holes one
 * by one moves RCV.NXT over every piece. And a range that leaves the list
 * leaves the others in their order, most recent first (RFC 2018 4). */
static void
test_ooo_many_ranges_kept(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 SHLD-31: out-of-order text held and delivered in order
     * EVIDENCE: RFC 2018 4: SACK blocks sent for out-of-order data, most recent first */
    struct h h;
    h_init(&h);
    struct wire_tcp syn;
    int id = established_opts(&h, &syn);
    struct topts o = {.ts = true, .ts_val = 5001, .ts_ecr = 1};
    for (uint32_t seq = 381; seq >= 311; seq -= 10) {
        h_deliver_opts(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "ppppp"), &o);
        struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
        CHECK_EQ(t.opts.sack[0].left, seq);
    }
    /* The first hole: RCV.NXT to the next one; the blocks go on from the
     * most recent range left. */
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "hhhhhhhhhh"), &o);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 316, .flags = ACK));
    CHECK_EQ(t.opts.sack_count, 3); /* with timestamps, 3 blocks fit */
    CHECK_EQ(t.opts.sack[0].left, 321);
    CHECK_EQ(t.opts.sack[1].left, 331);
    CHECK_EQ(t.opts.sack[2].left, 341);
    for (uint32_t seq = 316; seq <= 376; seq += 10) {
        h_deliver_opts(&h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = "hhhhh"), &o);
        EXPECT_SENT(&h, US(.seq = 101, .ack = seq + 10, .flags = ACK));
    }
    CHECK_EQ(h_status(&h, id).recv_queued, 85);
    char b[128];
    CHECK_EQ(tern_tcp_recv(h.st, id, b, sizeof(b), h.now), 85);
    CHECK(memcmp(b, "hhhhhhhhhhppppphhhhhppppp", 25) == 0);
    CHECK(memcmp(b + 75, "hhhhhppppp", 10) == 0);
    h_fini(&h);
}

/* A needless retransmission of text we have, then an original the
 * network delayed behind it. The copy, lying wholly below RCV.NXT, must not
 * leave TS.Recent at its (newer) TSval: PAWS would then drop the late
 * original (TSval older than TS.Recent), data the peer sent once and that
 * arrived, and the peer would resend it on its timer. The ACK answering
 * the copy echoes the copy's TSval all the same. */
static void
test_paws_duplicate_leaves_ts_recent(void)
{
    /* EVIDENCE: RFC 7323 5.3: R3 (TS.Recent) after R2 (the window check); R1 drops only
     * segments older than TS.Recent
     * EVIDENCE: RFC 7323 Appendix D: the ACK of a segment below RCV.NXT echoes its TSval */
    struct h h;
    h_init(&h);
    struct wire_tcp syn;
    int id = established_opts(&h, &syn);
    struct topts o = {.ts = true, .ts_val = 5010, .ts_ecr = 1};
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"), &o);
    h_advance(&h, 50 * MS);
    h.next = h.n_sent;
    /* The copy (sent later: TSval 5030) comes first: D-SACKed; its ACK
     * echoes its TSval (the peer's RTT sample), TS.Recent stays 5010. */
    o.ts_val = 5030;
    h_deliver_opts(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "aaaaa"), &o);
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK_EQ(t.opts.ts_ecr, 5030);
    /* The next original, sent before the copy (TSval 5020), arrives late:
     * taken, and TS.Recent is its TSval. */
    o.ts_val = 5020;
    h_deliver_opts(&h, PEER(.seq = 306, .ack = 101, .flags = ACK, .data = "bbbbb"), &o);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_PAWS], 0);
    CHECK_EQ(h_status(&h, id).recv_queued, 10);
    h_advance(&h, 50 * MS);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 311, .flags = ACK));
    CHECK_EQ(t.opts.ts_ecr, 5020);
    h_fini(&h);
}

/* ---- retransmission ---- */

/* Established without timestamps, peer window 64 KiB; `n` segments of
 * 1460 bytes sent (RFC 5681's initial window allows 3, IW10 10). */
static int
sending(struct h *h, unsigned n)
{
    int id = h_syn_sent(h);
    h_deliver(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535));
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    static char big[1460 * 8];
    memset(big, 'z', sizeof(big));
    memset(Z, 'z', 1460);
    CHECK_EQ(tern_tcp_send(h->st, id, big, 1460 * n, h->now), (int)(1460 * n));
    return id;
}

static void
test_fast_retransmit_after_three_dupacks(void)
{
    /* EVIDENCE: RFC 5681 3.2: the third duplicate ACK -> fast retransmit, ssthresh halved
     * EVIDENCE: RFC 3042 2: the first two duplicate ACKs each send one new segment */
    struct h h;
    h_init_cfg(&h, tweak_no_opts_iw5681);
    int id = sending(&h, 8);
    for (unsigned i = 0; i < 3; i++) {
        EXPECT_SENT(&h, US(.seq = 101 + 1460 * i, .ack = 301, .flags = ACK, .data = Z));
    }
    EXPECT_NOTHING(&h);
    uint32_t iw = h_status(&h, id).cwnd;
    CHECK_EQ(iw, 3 * 1460);
    /* The first segment is lost: the peer repeats ACK 101. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 65535));
    EXPECT_SENT(&h, US(.seq = 101 + 1460 * 3, .ack = 301, .flags = ACK, .data = Z)); /* RFC 3042 */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 65535));
    EXPECT_SENT(&h, US(.seq = 101 + 1460 * 4, .ack = 301, .flags = ACK, .data = Z));
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 65535));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK, .data = Z)); /* fast rtx, no PSH */
    CHECK_EQ(tern_stack_stats(h.st)->tcp.fast_retransmits, 1);
    struct tern_tcp_status s = h_status(&h, id);
    /* RFC 5681 3.2 step 2: FlightSize without the limited-transmit
     * segments: 3 * 1460 / 2 < 2 SMSS, so 2 SMSS. */
    CHECK_EQ(s.ssthresh, 2 * 1460);
    CHECK_EQ(s.total_retransmits, 1);
    /* The full ACK ends recovery. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460 * 5, .flags = ACK, .wnd = 65535));
    CHECK(h_status(&h, id).cwnd <= s.ssthresh);
    h_fini(&h);
}

static void
test_rto_backoff_and_karn(void)
{
    /* EVIDENCE: RFC 6298 5.4 5.5 MUST-19: retransmit at RTO, double it each time
     * EVIDENCE: RFC 6298 3 MUST-18: the ACK of a retransmitted segment gives no RTT sample */
    struct h h;
    h_init_cfg(&h, tweak_no_opts);
    int id = sending(&h, 1);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = Z));
    int64_t srtt0 = h_status(&h, id).srtt_ns;
    h_advance(&h, 1 * SEC - 1);
    EXPECT_NOTHING(&h);
    h_advance(&h, 1);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = Z));
    CHECK_EQ(h_status(&h, id).rto_ns, 2 * SEC);
    h_advance(&h, 2 * SEC);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = Z));
    CHECK_EQ(h_status(&h, id).rto_ns, 4 * SEC);
    h_advance(&h, 500 * MS);
    h_deliver(&h, PEER(.seq = 301, .ack = 1561, .flags = ACK, .wnd = 65535));
    /* Karn: no sample from that ACK, the estimate is unchanged. */
    CHECK_EQ(h_status(&h, id).srtt_ns, srtt0);
    CHECK_EQ(h_status(&h, id).total_retransmits, 2);
    /* Two expiries counted, and no loss probe (no SACK: no RACK-TLP). */
    CHECK_EQ(tern_stack_stats(h.st)->tcp.rto_expiries, 2);
    CHECK_EQ(tern_stack_stats(h.st)->tcp.tlp_timeouts, 0);
    h_fini(&h);
}

static void
test_rtt_estimate_fed(void)
{
    /* EVIDENCE: RFC 6298 2.3: an ACK of a timed segment updates SRTT and RTTVAR */
    struct h h;
    h_init_cfg(&h, tweak_no_opts);
    int id = sending(&h, 1);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = Z));
    int64_t srtt0 = h_status(&h, id).srtt_ns;
    h_advance(&h, 100 * MS);
    h_deliver(&h, PEER(.seq = 301, .ack = 1561, .flags = ACK, .wnd = 65535));
    struct tern_tcp_status s = h_status(&h, id);
    /* SRTT = 7/8 SRTT + 1/8 R (RFC 6298 2.3). */
    int64_t want = srtt0 - srtt0 / 8 + 100 * MS / 8;
    CHECK(s.srtt_ns >= want - 1 && s.srtt_ns <= want + 1);
    CHECK(s.rttvar_ns > 0);
    CHECK(s.rto_ns >= 1 * SEC); /* RFC 6298 2.4 lower bound by default */
    h_fini(&h);
}

static void
test_congestion_control_choice(void)
{
    /* EVIDENCE: RFC 6928 2: IW at ESTABLISHED (IW10 by default); the algorithm chosen per
     * connection */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .cc = "bogus"};
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_INVAL);
    a.cc = "cubic";
    a.set_iss = true;
    a.iss = LOCAL_ISS;
    int id = tern_tcp_open(h.st, &a, h.now);
    CHECK(id > 0);
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN, .mss = 1460));
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    struct tern_tcp_status s = h_status(&h, id);
    CHECK_EQ(s.cwnd, 10 * 1460); /* RFC 6928 2 equation (1) for SMSS 1460 */
    CHECK_EQ(s.ssthresh, UINT32_MAX);
    CHECK(tcp_tcb_get(h.st, id)->use_cubic);
    CHECK(tcp_tcb_get(h.st, id)->sx == NULL); /* idle: no sender block */
    CHECK_EQ(tern_tcp_send(h.st, id, "x", 1, h.now), 1);
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "x"));
    CHECK(tcp_tcb_get(h.st, id)->sx != NULL);
    CHECK_EQ(tcp_tcb_get(h.st, id)->sx->cc.ops, &tcp_cc_cubic_ops);
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = ACK));
    CHECK(tcp_tcb_get(h.st, id)->sx == NULL); /* everything acknowledged: given back */
    CHECK_EQ(h_status(&h, id).cwnd, 10 * 1460 + 1);
    h_fini(&h);
}

static void
tweak_iw_big_buf(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
    c->tcp.sndbuf = 64 * 1024;
}

static void
tweak_iw5681_big_buf(struct tern_config *c)
{
    tweak_iw_big_buf(c);
    c->tcp.initial_window = TERN_TCP_IW_RFC5681;
}

/* Sends 12 segments' worth on an established connection and returns how
 * many full segments went out before any ACK (the initial window). */
static unsigned
iw_segments(struct h *h, int id)
{
    static char big[1460 * 12];
    memset(big, 'z', sizeof(big));
    memset(Z, 'z', 1460);
    CHECK_EQ(tern_tcp_send(h->st, id, big, sizeof(big), h->now), (int)sizeof(big));
    unsigned n = 0;
    struct wire_tcp t;
    while (h->next < h->n_sent) {
        CHECK(h_next_sent(h, &t, __LINE__));
        CHECK_EQ(t.seq, 101 + 1460 * n);
        CHECK_EQ(t.payload_len, 1460);
        n++;
    }
    return n;
}

static void
test_initial_window_iw10_default(void)
{
    /* EVIDENCE: RFC 6928 2: IW10 by default, RFC 5681 3.1's IW as a configured option */
    struct h h;
    h_init_cfg(&h, tweak_iw_big_buf);
    int id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(h_status(&h, id).cwnd, 14600);
    CHECK_EQ(iw_segments(&h, id), 10);
    h_fini(&h);

    h_init_cfg(&h, tweak_iw5681_big_buf);
    id = h_syn_sent(&h);
    h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(h_status(&h, id).cwnd, 4380);
    CHECK_EQ(iw_segments(&h, id), 3);
    h_fini(&h);

    /* A value that names no rule is refused. */
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.deterministic = true;
    CHECK_EQ(cfg.tcp.initial_window, TERN_TCP_IW_RFC6928);
    cfg.tcp.initial_window = (enum tern_tcp_iw)7;
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    CHECK(st == NULL);
}

static void
test_initial_window_one_segment_after_syn_loss(void)
{
    /* EVIDENCE: RFC 6928 2 RFC 5681 3.1: after a lost SYN the IW is one segment, IW10 or not */
    for (int rule = 0; rule < 2; rule++) {
        struct h h;
        h_init_cfg(&h, rule == 0 ? tweak_iw_big_buf : tweak_iw5681_big_buf);
        int id = h_syn_sent(&h);
        h_advance(&h, 1 * SEC); /* the SYN was lost: sent again at the RTO */
        EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .flags = SYN, .mss = 1460));
        h_deliver(&h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535));
        EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
        CHECK_EQ(h_status(&h, id).cwnd, 1460);
        CHECK_EQ(iw_segments(&h, id), 1);
        h_fini(&h);
    }
    /* Passive: our SYN,ACK was lost (a listener's embryonic connection). */
    struct h h;
    h_init_cfg(&h, tweak_iw_big_buf);
    int l = h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN, .mss = 1460, .wnd = 65535));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    h_advance(&h, 1 * SEC);
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 65535));
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    CHECK_EQ(h_status(&h, c).cwnd, 1460);
    CHECK_EQ(iw_segments(&h, c), 1);
    h_fini(&h);
}

/* ---- SACK recovery: the rescue retransmission (RFC 6675 4 NextSeg rule 4) ---- */

/* Established without timestamps, SACK permitted, peer window 64 KiB; `n`
 * segments of 1460 bytes sent at once (IW10), the last with PSH. */
static int
sack_sending(struct h *h, unsigned n)
{
    int id = h_syn_sent(h);
    struct topts o = {.sackp = true};
    h_deliver_opts(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = 1460, .wnd = 65535),
                   &o);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK(h_status(h, id).sack_ok);
    static char big[1460 * 8];
    memset(big, 'z', sizeof(big));
    memset(Z, 'z', 1460);
    CHECK_EQ(tern_tcp_send(h->st, id, big, 1460 * n, h->now), (int)(1460 * n));
    for (unsigned i = 0; i < n; i++) {
        EXPECT_SENT(h, US(.seq = 101 + 1460 * i, .ack = 301, .flags = ACK | (i + 1 == n ? PSH : 0),
                          .data = Z));
    }
    EXPECT_NOTHING(h);
    return id;
}

/* The rescue retransmission is RFC 6675's (NextSeg rule 4): these tests
 * pin its loss detection (RACK, the default, resends what it marks lost
 * and has no rescue). */
static void
tweak_rfc6675(struct tern_config *c)
{
    c->tcp.no_timestamps = true;
    c->tcp.loss_detection = TERN_TCP_LOSS_RFC6675;
}

/* The next segment sent is 1460 bytes of text at `seq` (PSH not checked:
 * these tests are about which segments go, not their flags). */
static void
expect_text_at(struct h *h, uint32_t seq, int line)
{
    struct wire_tcp t;
    if (!h_next_sent(h, &t, line)) {
        return;
    }
    if (t.seq != seq || t.ack != 301 || t.payload_len != 1460 || !(t.flags & ACK) ||
        (t.flags & (SYN | FIN | RST))) {
        fprintf(stderr, "line %d: expected 1460 bytes at %u, sent SEQ=%u ACK=%u len %zu\n", line,
                seq, t.seq, t.ack, t.payload_len);
        check_st.failures++;
    }
}
#define EXPECT_TEXT_AT(h, seq) expect_text_at((h), (seq), __LINE__)

/* A duplicate ACK of 101 with one SACK block [101 + 1460*a, 101 + 1460*b). */
static void
sack_dupack(struct h *h, unsigned a, unsigned b)
{
    struct topts o = {.n_sack = 1, .sack = {{101 + 1460 * a, 101 + 1460 * b}}};
    h_deliver_opts(h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 65535), &o);
}

static void
test_sack_no_rescue_of_the_fast_retransmission(void)
{
    /* EVIDENCE: RFC 6675 5 (4.3) 4 NextSeg rule 4: RescueRxt starts at the end of the fast
     * retransmission: a rescue never repeats it at once */
    struct h h;
    h_init_cfg(&h, tweak_rfc6675);
    int id = sack_sending(&h, 4);
    /* The first segment is lost; the other three are SACKed one by one. */
    sack_dupack(&h, 1, 2);
    sack_dupack(&h, 1, 3);
    EXPECT_NOTHING(&h);
    sack_dupack(&h, 1, 4);
    /* Loss: the fast retransmission of the hole, and nothing else (the
     * only unSACKed data is the segment just resent). */
    EXPECT_TEXT_AT(&h, 101);
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).total_retransmits, 1);
    /* More duplicate ACKs: still no second copy. */
    sack_dupack(&h, 1, 4);
    sack_dupack(&h, 1, 4);
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).total_retransmits, 1);
    /* The retransmission arrives: everything is acknowledged. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460 * 4, .flags = ACK, .wnd = 65535));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).snd_una, 101 + 1460 * 4);
    h_fini(&h);
}

static void
test_sack_one_rescue_per_recovery(void)
{
    /* EVIDENCE: RFC 6675 4 NextSeg rule 4: at most one rescue retransmission per entry into loss
     * recovery, of the highest unSACKed segment */
    struct h h;
    h_init_cfg(&h, tweak_rfc6675);
    int id = sack_sending(&h, 6);
    /* Segments 0 and 5 are lost; 1-4 are SACKed. */
    sack_dupack(&h, 1, 2);
    sack_dupack(&h, 1, 3);
    sack_dupack(&h, 1, 4);
    EXPECT_TEXT_AT(&h, 101); /* fast rtx */
    EXPECT_NOTHING(&h);
    sack_dupack(&h, 1, 5);
    EXPECT_NOTHING(&h); /* the tail is not deemed lost; no rescue yet (HighACK <= RescueRxt) */
    /* The retransmission fills the hole: a partial ACK up to segment 5. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460 * 5, .flags = ACK, .wnd = 65535));
    /* HighACK passed RescueRxt: one rescue, of the last unSACKed segment. */
    EXPECT_TEXT_AT(&h, 101 + 1460 * 5);
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).total_retransmits, 2);
    /* Duplicate ACKs while the rescue is in flight: no second rescue in
     * this recovery (RescueRxt is now the recovery point). */
    for (int i = 0; i < 3; i++) {
        h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460 * 5, .flags = ACK, .wnd = 65535));
    }
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).total_retransmits, 2);
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460 * 6, .flags = ACK, .wnd = 65535));
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_status(&h, id).snd_una, 101 + 1460 * 6);
    h_fini(&h);

    /* HighACK must pass RescueRxt, not reach it: segments 0, 1 and 5 are
     * lost, 2-4 SACKed. */
    h_init_cfg(&h, tweak_rfc6675);
    id = sack_sending(&h, 6);
    sack_dupack(&h, 2, 3);
    sack_dupack(&h, 2, 4);
    sack_dupack(&h, 2, 5);
    EXPECT_TEXT_AT(&h, 101);        /* fast retransmission */
    EXPECT_TEXT_AT(&h, 101 + 1460); /* NextSeg rule 1: segment 1 is lost too */
    EXPECT_NOTHING(&h);
    /* Segment 0 arrives: HighACK is the last octet of the fast
     * retransmission, RescueRxt itself: no rescue yet. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460, .flags = ACK, .wnd = 65535));
    EXPECT_NOTHING(&h);
    /* Segment 1 arrives: now the rescue of the last segment. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101 + 1460 * 5, .flags = ACK, .wnd = 65535));
    EXPECT_TEXT_AT(&h, 101 + 1460 * 5);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

/* ---- zero-copy receive ---- */

static void
test_recv_peek_consume(void)
{
    /* EVIDENCE: RFC 9293 3.10.3: RECEIVE, here in place without a copy */
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "zerocopy"));
    const uint8_t *p1, *p2;
    size_t n1, n2;
    CHECK_EQ(tern_tcp_recv_peek(h.st, id, &p1, &n1, &p2, &n2), 8);
    CHECK_EQ(n1 + n2, 8);
    CHECK(memcmp(p1, "zerocopy", n1) == 0);
    CHECK_EQ(tern_tcp_recv_consume(h.st, id, 4, h.now), 4);
    CHECK_EQ(tern_tcp_recv_peek(h.st, id, &p1, &n1, &p2, &n2), 4);
    CHECK(memcmp(p1, "copy", 4) == 0);
    CHECK_EQ(tern_tcp_recv_consume(h.st, id, 5, h.now), TERN_ERR_INVAL);
    CHECK_EQ(tern_tcp_recv_consume(h.st, id, 4, h.now), 4);
    CHECK_EQ(tern_tcp_recv_peek(h.st, id, &p1, &n1, &p2, &n2), TERN_ERR_AGAIN);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_ooo_delivered_in_order);
    RUN(test_ooo_fin_processed_when_hole_fills);
    RUN(test_blind_text_without_ack_never_stored);
    RUN(test_ack_of_out_of_order_segment_processed);
    RUN(test_ooo_bare_fin_held);
    RUN(test_delayed_ack_timing);
    RUN(test_delayed_ack_every_second_segment);
    RUN(test_delayed_ack_not_on_handshake);
    RUN(test_receiver_sws_avoidance);
    RUN(test_sender_sws_avoidance);
    RUN(test_nagle_on_and_off);
    RUN(test_persist_probe_zero_window_opens);
    RUN(test_keepalive_probes_and_timeout);
    RUN(test_keepalive_per_connection_timing);
    RUN(test_options_negotiated);
    RUN(test_options_not_used_without_peer);
    RUN(test_large_buffer_scales_window);
    RUN(test_paws_drops_old_timestamp);
    RUN(test_paws_spares_rst_and_expires);
    RUN(test_sack_blocks_sent);
    RUN(test_ooo_many_ranges_kept);
    RUN(test_paws_duplicate_leaves_ts_recent);
    RUN(test_fast_retransmit_after_three_dupacks);
    RUN(test_rto_backoff_and_karn);
    RUN(test_rtt_estimate_fed);
    RUN(test_congestion_control_choice);
    RUN(test_initial_window_iw10_default);
    RUN(test_initial_window_one_segment_after_syn_loss);
    RUN(test_sack_no_rescue_of_the_fast_retransmission);
    RUN(test_sack_one_rescue_per_recovery);
    RUN(test_recv_peek_consume);
    return CHECK_DONE();
}
