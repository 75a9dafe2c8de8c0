/* tests/unit/test_tcp_seq.c: sequence arithmetic modulo 2^32 and RFC 6528 ISNs. */
#include "tcp/seq.h"
#include "tcp_harness.h"

static void
test_seq_wraparound(void)
{
    /* EVIDENCE: RFC 9293 3.4 3.10 MUST-1: comparisons modulo 2^32 */
    CHECK(seq_lt(0xfffffff0u, 0x10u));
    CHECK(seq_gt(0x10u, 0xfffffff0u));
    CHECK(seq_le(5, 5) && seq_ge(5, 5) && !seq_lt(5, 5));
    CHECK(seq_lt(0x7ffffffeu, 0x7fffffffu));
    CHECK(seq_lt(0xffffffffu, 0));
    CHECK(seq_in_range(0xfffffffeu, 0xfffffff0u, 0x10u));
    CHECK(seq_in_range(0x5u, 0xfffffff0u, 0x10u));
    CHECK(!seq_in_range(0x10u, 0xfffffff0u, 0x10u));
    CHECK(!seq_in_range(7, 7, 7)); /* empty range */
    CHECK(seq_between(0x10u, 0xfffffff0u, 0x10u));
    CHECK(!seq_between(0x11u, 0xfffffff0u, 0x10u));
    CHECK_EQ(seq_diff(0x5u, 0xfffffffbu), 10);
    CHECK_EQ(seq_max(0xfffffff0u, 0x10u), 0x10u);
}

static void
test_handshake_across_wrap(void)
{
    /* EVIDENCE: RFC 9293 3.4 MUST-1: a connection whose numbers wrap past 2^32 */
    struct h h;
    h_init(&h);
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = 0xffffffffu};
    int id = tern_tcp_open(h.st, &a, h.now);
    EXPECT_SENT(&h, US(.seq = 0xffffffffu, .flags = SYN));
    h_deliver(&h, PEER(.seq = 0xfffffffeu, .ack = 0, .flags = SYN | ACK));
    EXPECT_SENT(&h, US(.seq = 0, .ack = 0xffffffffu, .flags = ACK));
    CHECK_STATE(&h, id, TERN_TCP_ESTABLISHED);
    h_deliver(&h, PEER(.seq = 0xffffffffu, .ack = 0, .flags = ACK, .data = "wrap"));
    EXPECT_SENT(&h, US(.seq = 0, .ack = 3, .flags = ACK));
    h_fini(&h);
}

static void
test_isn_clock_and_keyed_hash(void)
{
    /* EVIDENCE: RFC 9293 3.4.1 MUST-8 SHLD-1 MUST-9 RFC 6528: ISN = 4 us clock + keyed hash of
     * the 4-tuple */
    struct h h;
    h_init(&h);
    uint32_t a = tcp_isn(h.st, tern_ip4(US_ADDR), 1, tern_ip4(PEER_ADDR), 2);
    h_advance(&h, 4000); /* one tick */
    uint32_t b = tcp_isn(h.st, tern_ip4(US_ADDR), 1, tern_ip4(PEER_ADDR), 2);
    CHECK_EQ(b - a, 1);
    h_advance(&h, 4 * SEC);
    uint32_t c = tcp_isn(h.st, tern_ip4(US_ADDR), 1, tern_ip4(PEER_ADDR), 2);
    CHECK_EQ(c - b, 1000000);
    uint32_t d = tcp_isn(h.st, tern_ip4(US_ADDR), 1, tern_ip4(PEER_ADDR), 3);
    CHECK(d != c); /* another 4-tuple, another offset */
    /* Another stack key (seed), another offset for the same tuple and time. */
    struct h h2;
    h_init(&h2);
    h2.now = h.now;
    tern_stack_poll(h2.st, h.now);
    CHECK_EQ(tcp_isn(h2.st, tern_ip4(US_ADDR), 1, tern_ip4(PEER_ADDR), 2), c); /* same seed: same */
    h_fini(&h2);
    h_fini(&h);
}

static void
cfg_seed7(struct tern_config *c)
{
    c->seed = 7;
}

static void
test_isn_depends_on_secret(void)
{
    /* EVIDENCE: RFC 9293 3.4.1 MUST-9 RFC 6528 3: the PRF key is secret per stack */
    struct h h1, h2;
    h_init(&h1);
    h_init_cfg(&h2, cfg_seed7);
    CHECK(tcp_isn(h1.st, tern_ip4(US_ADDR), 1, tern_ip4(PEER_ADDR), 2) !=
          tcp_isn(h2.st, tern_ip4(US_ADDR), 1, tern_ip4(PEER_ADDR), 2));
    /* Without an override, OPEN uses the generator. */
    struct tern_tcp_open_args a = {.remote_addr = tern_ip4(PEER_ADDR), .remote_port = PEER_PORT};
    int id = tern_tcp_open(h1.st, &a, h1.now);
    struct tern_tcp_status s;
    tern_tcp_status(h1.st, id, &s);
    CHECK_EQ(s.iss, tcp_isn(h1.st, s.local_addr, s.local_port, tern_ip4(PEER_ADDR), PEER_PORT));
    h_fini(&h1);
    h_fini(&h2);
}

int
main(void)
{
    RUN(test_seq_wraparound);
    RUN(test_handshake_across_wrap);
    RUN(test_isn_clock_and_keyed_hash);
    RUN(test_isn_depends_on_secret);
    return CHECK_DONE();
}
