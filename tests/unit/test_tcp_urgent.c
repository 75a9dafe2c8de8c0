/*
 * tests/unit/test_tcp_urgent.c: urgent data (RFC 9293 3.8.5, 3.10.2 SEND,
 * 3.10.3 RECEIVE, 3.10.7.4 sixth step), segment by segment with the TCP
 * harness (virtual time): the receive urgent pointer and the user's signal,
 * the urgent data left to read, pointers beyond 65535, URG while the window
 * is zero, and the segments a SEND with the URGENT flag produces.
 *
 * Our connection is ESTABLISHED with SND.NXT 101, RCV.NXT 301 (harness).
 */
#include "check.h"
#include "tcp/seq.h"
#include "tcp_harness.h"

static struct tern_tcp_urgent
urgent(struct h *h, int id)
{
    struct tern_tcp_urgent u;
    memset(&u, 0xaa, sizeof(u));
    CHECK_EQ(tern_tcp_urgent(h->st, id, &u), TERN_OK);
    return u;
}

/* Reads up to cap bytes into buf (NUL-terminated); returns the count. */
static int
recv_str(struct h *h, int id, char *buf, size_t cap)
{
    int n = tern_tcp_recv(h->st, id, buf, cap - 1, h->now);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

/* EVIDENCE: RFC 9293 3.8.5 MUST-30: a segment with URG sets RCV.UP and puts the user in urgent mode
 * EVIDENCE: RFC 9293 3.8.5 MUST-62: a received urgent pointer names the first octet after the
 * urgent data (SEG.SEQ + SEG.UP): that octet is not urgent, the ones before it are
 * EVIDENCE: RFC 9293 3.8.5 MUST-32: the user gets TERN_TCP_EV_URGENT when urgent data arrives
 * EVIDENCE: RFC 9293 3.8.5 MUST-33: tern_tcp_urgent() says whether and how much urgent data is left
 */
static void
test_receive_pointer_and_signal(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK(!urgent(&h, id).pending);
    CHECK_EQ(tern_tcp_events(h.st, id) & TERN_TCP_EV_URGENT, 0);
    h.events[id] = 0;
    /* "abc" urgent, "de" not: the pointer names 'd', three octets on. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | URG, .up = 3, .data = "abcde"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    CHECK(h.events[id] & TERN_TCP_EV_URGENT);
    CHECK(tern_tcp_events(h.st, id) & TERN_TCP_EV_URGENT);
    struct tern_tcp_urgent u = urgent(&h, id);
    CHECK(u.pending);
    CHECK_EQ(u.mark, 3);
    CHECK_EQ(u.queued, 3);
    /* RECEIVE stops at the mark (3.10.3): urgent and non-urgent text never
     * come in one call; then urgent mode is over. */
    char b[32];
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 3);
    CHECK_STR(b, "abc");
    CHECK(!urgent(&h, id).pending);
    CHECK_EQ(urgent(&h, id).mark, 0);
    CHECK_EQ(tern_tcp_events(h.st, id) & TERN_TCP_EV_URGENT, 0);
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 2);
    CHECK_STR(b, "de");
    h_fini(&h);
}

/* The pointer counts from the segment's own SEQ as it arrived, not from
 * where the window check trimmed it: a retransmission overlapping text
 * already taken points at the same octet. */
static void
test_pointer_from_original_seq(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "abcde"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 306, .flags = ACK));
    h.events[id] = 0;
    /* 301..308 again and more, URG pointing at 308 ('h' is not urgent). */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | URG, .up = 7, .data = "abcdefgh"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 309, .flags = ACK));
    CHECK(h.events[id] & TERN_TCP_EV_URGENT);
    struct tern_tcp_urgent u = urgent(&h, id);
    CHECK(u.pending);
    CHECK_EQ(u.mark, 7); /* 308 - 301, not 305 + 7 - 301 */
    CHECK_EQ(u.queued, 7);
    char b[32];
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 7);
    CHECK_STR(b, "abcdefg");
    CHECK(!urgent(&h, id).pending);
    h_fini(&h);
}

/* EVIDENCE: RFC 9293 3.8.5 MUST-32: the signal comes again whenever the urgent pointer advances,
 * not for a pointer repeated or moved back */
static void
test_signal_on_each_advance(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h.events[id] = 0;
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | URG, .up = 2, .data = "ab"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 303, .flags = ACK));
    CHECK(h.events[id] & TERN_TCP_EV_URGENT);
    /* The next segment repeats the pointer (303 = 303 + 0): nothing new. */
    h.events[id] = 0;
    h_deliver(&h, PEER(.seq = 303, .ack = 101, .flags = ACK | URG, .up = 0, .data = "cd"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 305, .flags = ACK));
    CHECK_EQ(h.events[id] & TERN_TCP_EV_URGENT, 0);
    CHECK_EQ(urgent(&h, id).mark, 2);
    /* The pointer advances to 307 while the user is still in urgent mode:
     * told again. */
    h_deliver(&h, PEER(.seq = 305, .ack = 101, .flags = ACK | URG, .up = 2, .data = "efg"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 308, .flags = ACK));
    CHECK(h.events[id] & TERN_TCP_EV_URGENT);
    CHECK_EQ(urgent(&h, id).mark, 6);
    /* A pointer behind RCV.UP (305 + 1, from a segment that repeats text
     * already taken) does not pull it back. */
    h.events[id] = 0;
    h_deliver(&h, PEER(.seq = 305, .ack = 101, .flags = ACK | URG, .up = 1, .data = "efgh"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 309, .flags = ACK));
    CHECK_EQ(h.events[id] & TERN_TCP_EV_URGENT, 0);
    CHECK_EQ(urgent(&h, id).mark, 6);
    char b[32];
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 6);
    CHECK_STR(b, "abcdef");
    CHECK(!urgent(&h, id).pending);
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 2);
    /* Urgent mode over: a new pointer is news again. */
    h_deliver(&h, PEER(.seq = 309, .ack = 101, .flags = ACK | URG, .up = 1, .data = "i"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 310, .flags = ACK));
    CHECK(h.events[id] & TERN_TCP_EV_URGENT);
    CHECK_EQ(urgent(&h, id).mark, 1);
    h_fini(&h);
}

/* EVIDENCE: RFC 9293 3.8.5 MUST-33: the urgent data left to read counts octets not yet
 * received; what is queued of it is reported apart */
static void
test_how_much_urgent_left(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    /* The pointer runs ahead of the text: 10 urgent octets, 2 here. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | URG, .up = 10, .data = "ab"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 303, .flags = ACK));
    struct tern_tcp_urgent u = urgent(&h, id);
    CHECK(u.pending);
    CHECK_EQ(u.mark, 10);
    CHECK_EQ(u.queued, 2);
    char b[32];
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 2);
    u = urgent(&h, id);
    CHECK(u.pending); /* 8 urgent octets still to come */
    CHECK_EQ(u.mark, 8);
    CHECK_EQ(u.queued, 0);
    CHECK(tern_tcp_events(h.st, id) & TERN_TCP_EV_URGENT);
    h_deliver(&h, PEER(.seq = 303, .ack = 101, .flags = ACK, .data = "cdefghijkl"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 313, .flags = ACK));
    u = urgent(&h, id);
    CHECK_EQ(u.mark, 8);
    CHECK_EQ(u.queued, 8);
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 8);
    CHECK_STR(b, "cdefghij");
    CHECK(!urgent(&h, id).pending);
    CHECK_EQ(recv_str(&h, id, b, sizeof(b)), 2);
    CHECK_STR(b, "kl");
    /* The zero-copy RECEIVE stops at the mark too. */
    h_deliver(&h, PEER(.seq = 313, .ack = 101, .flags = ACK | URG, .up = 3, .data = "mnopq"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 318, .flags = ACK));
    const uint8_t *p1, *p2;
    size_t n1, n2;
    CHECK_EQ(tern_tcp_recv_peek(h.st, id, &p1, &n1, &p2, &n2), 3);
    CHECK_EQ(n1 + n2, 3);
    CHECK_MEM(p1, "mno", 3);
    CHECK_EQ(tern_tcp_urgent(h.st, id, NULL), TERN_ERR_INVAL);
    CHECK_EQ(tern_tcp_urgent(h.st, 77, &u), TERN_ERR_NOTCONN);
    h_fini(&h);
}

static void
big_buffers(struct tern_config *c)
{
    c->tcp.delack_ns = -1;
    c->tcp.sndbuf = c->tcp.rcvbuf = 256 * 1024;
}

/* EVIDENCE: RFC 9293 3.8.5 MUST-31: received urgent data longer than 65535 octets (pointers of
 * 65535 that move on with the segments) keeps the user in urgent mode to its last octet
 */
static void
test_receive_long_urgent(void)
{
    struct h h;
    h_init_cfg(&h, big_buffers);
    int id = h_established(&h);
    /* The sender's SND.UP is 301 + 80000; each segment points at
     * min(SND.UP - SEQ, 65535) octets ahead, as a sender must. */
    const uint32_t total = 80000, seg = 1000, end = 301 + total;
    static char text[1001];
    memset(text, 'u', seg);
    text[seg] = 0;
    uint32_t read = 0, prev_up = 301;
    unsigned told = 0;
    char *b = malloc(seg + 1);
    for (uint32_t seq = 301; seq != end; seq += seg) {
        uint32_t off = end - seq;
        h.events[id] = 0;
        h_deliver(&h, PEER(.seq = seq, .ack = 101, .flags = ACK | URG,
                           .up = (uint16_t)(off > 65535 ? 65535 : off), .data = text));
        h.next = h.n_sent = 0; /* the ACKs are not the point here */
        uint32_t up = seq + (off > 65535 ? 65535 : off);
        /* Told each time the pointer moved on (16 times: 15 capped, then
         * the end), not for the segments that repeat it. */
        CHECK_EQ((h.events[id] & TERN_TCP_EV_URGENT) != 0, up != prev_up);
        told += up != prev_up;
        prev_up = up;
        struct tern_tcp_urgent u = urgent(&h, id);
        CHECK(u.pending);
        CHECK_EQ(u.mark, up - (301 + read));
        int n = tern_tcp_recv(h.st, id, b, seg, h.now);
        CHECK_EQ(n, (int)seg);
        read += (uint32_t)(n > 0 ? n : 0);
        /* Still urgent: the urgent data goes on beyond what was read. */
        CHECK_EQ(urgent(&h, id).pending, read < total);
    }
    CHECK_EQ(read, total);
    CHECK_EQ(told, 16);
    CHECK(!urgent(&h, id).pending);
    free(b);
    h_fini(&h);
}

/* Sends peer text until our ACK announces a zero window; returns RCV.NXT. */
static uint32_t
fill_window(struct h *h, int id)
{
    static char text[1025];
    memset(text, 'w', 1024);
    text[1024] = 0;
    uint32_t seq = 301;
    for (int i = 0; i < 64; i++) {
        h_deliver(h, PEER(.seq = seq, .ack = 101, .flags = ACK, .data = text));
        seq += 1024;
        struct wire_tcp t = EXPECT_SENT(h, US(.seq = 101, .ack = seq, .flags = ACK));
        if (t.window == 0) {
            break;
        }
    }
    struct tern_tcp_status s;
    tern_tcp_status(h->st, id, &s);
    CHECK_EQ(s.rcv_wnd, 0);
    return seq;
}

/* EVIDENCE: RFC 9293 3.10.7.4 MUST-66: with a zero receive window the URG of a segment at
 * RCV.NXT is still processed (RCV.UP, the user's signal), its text is not taken
 */
static void
test_urg_with_zero_window(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    uint32_t nxt = fill_window(&h, id);
    uint32_t queued = nxt - 301;
    CHECK(!urgent(&h, id).pending);
    h.events[id] = 0;
    /* A zero-window probe of one octet that is urgent (what a Linux or
     * tern sender's probe carries while SND.UP lies ahead): unacceptable,
     * ACKed, its text dropped, its URG taken. */
    h_deliver(&h, PEER(.seq = nxt, .ack = 101, .flags = ACK | URG, .up = 1, .data = "!"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = nxt, .flags = ACK, .wnd = 0));
    CHECK(h.events[id] & TERN_TCP_EV_URGENT);
    struct tern_tcp_urgent u = urgent(&h, id);
    CHECK(u.pending);
    CHECK_EQ(u.mark, queued + 1);
    CHECK_EQ(u.queued, queued);
    /* A bare urgent notification at RCV.NXT moves the pointer on. */
    h.events[id] = 0;
    h_deliver(&h, PEER(.seq = nxt, .ack = 101, .flags = ACK | URG, .up = 5));
    CHECK(h.events[id] & TERN_TCP_EV_URGENT);
    CHECK_EQ(urgent(&h, id).mark, queued + 5);
    h_fini(&h);
}

/* RFC 9293 3.10.7.4 sixth: after the peer's FIN an URG is ignored. */
static void
test_urg_ignored_after_fin(void)
{
    struct h h;
    h_init(&h);
    int id = h_close_wait(&h);
    h.events[id] = 0;
    h_deliver(&h, PEER(.seq = 302, .ack = 101, .flags = ACK | URG, .up = 4));
    CHECK_EQ(h.events[id] & TERN_TCP_EV_URGENT, 0);
    CHECK(!urgent(&h, id).pending);
    h_fini(&h);
}

/* EVIDENCE: RFC 9293 3.8.5 MUST-62: a SEND with the URGENT flag points every segment at the
 * octet after the urgent data (SND.UP - SEG.SEQ), until the urgent data is acknowledged
 * EVIDENCE: RFC 9293 3.8.5 MUST-30: tern_tcp_send_urgent() sends URG and the pointer
 */
static void
test_send_urgent(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "xx", 2, h.now), 2);
    struct wire_tcp t =
        EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK | PSH, .data = "xx"));
    CHECK_EQ(t.urgent, 0);
    /* "abc" urgent: Nagle would hold it behind "xx" in flight; urgent
     * data is not held (as Linux). SND.UP = 106. */
    CHECK_EQ(tern_tcp_send_urgent(h.st, id, "abc", 3, h.now), 3);
    t = EXPECT_SENT(&h, US(.seq = 103, .ack = 301, .flags = ACK | PSH | URG, .data = "abc"));
    CHECK_EQ(t.urgent, 3);
    EXPECT_NOTHING(&h);
    /* Our ACK of the peer's text carries the pointer too (SEQ 106 is not
     * behind SND.UP: no URG); first a partial ACK: SND.UNA 103. */
    h_deliver(&h, PEER(.seq = 301, .ack = 103, .flags = ACK, .data = "p"));
    t = EXPECT_SENT(&h, US(.seq = 106, .ack = 302, .flags = ACK));
    CHECK_EQ(t.urgent, 0);
    /* The retransmission of the urgent segment still carries URG. */
    h_advance(&h, 2 * SEC);
    t = EXPECT_SENT(&h, US(.seq = 103, .ack = 302, .flags = ACK | PSH | URG, .data = "abc"));
    CHECK_EQ(t.urgent, 3);
    /* All urgent data acknowledged: what follows is ordinary text. */
    h_deliver(&h, PEER(.seq = 302, .ack = 106, .flags = ACK));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_tcp_send(h.st, id, "zz", 2, h.now), 2);
    t = EXPECT_SENT(&h, US(.seq = 106, .ack = 302, .flags = ACK | PSH, .data = "zz"));
    CHECK_EQ(t.urgent, 0);
    h_fini(&h);
}

/* Urgent data the peer's zero window holds back: the pointer goes out
 * ahead of it on every segment, our ACKs and the zero-window probe
 * included (the probe is at the peer's RCV.NXT, where its URG is processed
 * even though the window is zero: MUST-66 on the other side). */
static void
test_send_urgent_zero_window(void)
{
    struct h h;
    h_init(&h);
    int id = h_established(&h);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 0));
    EXPECT_NOTHING(&h);
    CHECK_EQ(tern_tcp_send_urgent(h.st, id, "UV", 2, h.now), 2);
    EXPECT_NOTHING(&h); /* the window is zero */
    /* Our ACK of peer text: SEQ 101, SND.UP 103: URG, pointer 2. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 0, .data = "q"));
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK | URG));
    CHECK_EQ(t.urgent, 2);
    /* The persist timer's one-octet probe carries it too. */
    h_advance(&h, 2 * SEC);
    t = EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK | URG, .data = "U"));
    CHECK_EQ(t.urgent, 2);
    h_fini(&h);
}

/* The segments sent since the last look, each checked against SND.UP:
 * URG, and a pointer of min(SND.UP - SEQ, 65535). */
struct long_send {
    uint32_t snd_up, highest;
    unsigned segs, capped, exact;
};

static void
check_long_segments(struct h *h, struct long_send *ls)
{
    while (h->next < h->n_sent) {
        struct wire_tcp t;
        if (!h_next_sent(h, &t, __LINE__)) {
            break;
        }
        if (t.payload_len == 0) {
            continue;
        }
        ls->segs++;
        uint32_t off = ls->snd_up - t.seq;
        CHECK(t.flags & URG);
        CHECK_EQ(t.urgent, off > 65535 ? 65535 : off);
        ls->capped += off > 65535;
        ls->exact += off <= 65535;
        if (seq_gt(t.seq + (uint32_t)t.payload_len, ls->highest)) {
            ls->highest = t.seq + (uint32_t)t.payload_len;
        }
    }
    h->next = h->n_sent = 0;
}

/* EVIDENCE: RFC 9293 3.8.5 MUST-31: a SEND with the URGENT flag of 100,000 octets is sent with
 * pointers of 65535 until its end comes within reach, then exact ones; the peer sees urgent
 * data to the last octet
 */
static void
test_send_long_urgent(void)
{
    struct h h;
    h_init_cfg(&h, big_buffers);
    int id = h_established(&h);
    const uint32_t total = 100000;
    uint8_t *data = malloc(total);
    memset(data, 'L', total);
    /* One urgent SEND as a socket layer makes it: queued as the buffer
     * takes it, SND.UP following the end of what is queued. */
    uint32_t queued = 0;
    struct long_send ls = {.snd_up = 101, .highest = 101};
    for (int round = 0; round < 400 && ls.highest != 101 + total; round++) {
        if (queued < total) {
            int n = tern_tcp_send_urgent(h.st, id, data + queued, total - queued, h.now);
            CHECK(n >= 0);
            queued += (uint32_t)(n > 0 ? n : 0);
            ls.snd_up = 101 + queued;
        }
        check_long_segments(&h, &ls);
        h_deliver(&h, PEER(.seq = 301, .ack = ls.highest, .flags = ACK, .wnd = 65535));
        check_long_segments(&h, &ls);
    }
    CHECK_EQ(ls.highest, 101 + total);
    CHECK(ls.capped > 0);
    CHECK(ls.exact > 0);
    CHECK(ls.segs >= total / 1460);
    free(data);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_receive_pointer_and_signal);
    RUN(test_pointer_from_original_seq);
    RUN(test_signal_on_each_advance);
    RUN(test_how_much_urgent_left);
    RUN(test_receive_long_urgent);
    RUN(test_urg_with_zero_window);
    RUN(test_urg_ignored_after_fin);
    RUN(test_send_urgent);
    RUN(test_send_urgent_zero_window);
    RUN(test_send_long_urgent);
    return CHECK_DONE();
}
