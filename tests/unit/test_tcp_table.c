/* tests/unit/test_tcp_table.c: the connection table, demultiplexing, ephemeral ports. */
#include "tcp_harness.h"

static void
cfg_four(struct tern_config *c)
{
    c->tcp.max_connections = 4;
}

static void
test_table_full_is_an_error(void)
{
    /* EVIDENCE: RFC 9293 3.10.1: "insufficient resources" -> TERN_ERR_NOBUFS, never a crash */
    struct h h;
    h_init_cfg(&h, cfg_four);
    for (int i = 0; i < 4; i++) {
        struct tern_tcp_open_args a = {.remote_addr = tern_ip4(PEER_ADDR),
                                       .remote_port = (uint16_t)(PEER_PORT + i)};
        CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    }
    struct tern_tcp_open_args a = {.remote_addr = tern_ip4(PEER_ADDR), .remote_port = 9};
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_NOBUFS);
    h_fini(&h);
}

static void
test_table_full_drops_handshake_ack(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.2 RFC 4987 3.3: half-open connections take no slot (SYN cache);
     * a completed handshake with no free slot is dropped and counted, its record kept */
    struct h h;
    h_init_cfg(&h, cfg_four);
    int l = h_listen(&h, 10);
    for (int i = 0; i < 4; i++) {
        h_deliver(&h, PEER(.seq = 300, .flags = SYN, .sport = (uint16_t)(PEER_PORT + i)));
    }
    CHECK_EQ(h.n_sent, 4);
    for (int i = 0; i < 4; i++) {
        h_deliver(&h,
                  PEER(.seq = 301, .ack = 101, .flags = ACK, .sport = (uint16_t)(PEER_PORT + i)));
    }
    CHECK_EQ(h.n_sent, 4);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_TABLE_FULL], 1);
    CHECK(tcp_mini_find(h.st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(PEER_ADDR), PEER_PORT + 3) !=
          NULL);
    /* A slot frees: the peer's next ACK completes the fourth. */
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    CHECK_EQ(tern_tcp_abort(h.st, c, h.now), TERN_OK);
    CHECK_EQ(tern_tcp_release(h.st, c, h.now), TERN_OK);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .sport = PEER_PORT + 3));
    CHECK(tcp_mini_find(h.st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(PEER_ADDR), PEER_PORT + 3) ==
          NULL);
    CHECK_EQ(tern_stack_stats(h.st)->drops[TERN_DROP_TCP_TABLE_FULL], 1);
    h_fini(&h);
}

static void
test_demux_exact_before_listener(void)
{
    /* EVIDENCE: RFC 9293 3.9.1.1 MUST-42: a connection and a listener on one port, each gets its
     * own segments */
    struct h h;
    h_init(&h);
    int c = h_established(&h);
    struct tern_tcp_open_args la = {.passive = true, .local_port = US_PORT};
    int l = tern_tcp_open(h.st, &la, h.now);
    tern_tcp_set_iss(h.st, l, 7);
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK, .data = "x"));
    EXPECT_SENT(&h, US(.seq = 101, .ack = 302, .flags = ACK));
    h_deliver(&h, PEER(.seq = 900, .flags = SYN, .sport = 1234));
    struct wire_tcp t = EXPECT_SENT(&h, US(.seq = 7, .ack = 901, .flags = SYN | ACK));
    (void)t;
    CHECK_STATE(&h, c, TERN_TCP_ESTABLISHED);
    CHECK_STATE(&h, l, TERN_TCP_LISTEN);
    h_fini(&h);
}

static void
test_ephemeral_ports(void)
{
    /* EVIDENCE: RFC 6056 3.3.3: local port 0 -> distinct ports from the ephemeral range */
    struct h h;
    h_init(&h);
    uint16_t seen[20];
    for (int i = 0; i < 20; i++) {
        struct tern_tcp_open_args a = {.remote_addr = tern_ip4(PEER_ADDR),
                                       .remote_port = PEER_PORT};
        int id = tern_tcp_open(h.st, &a, h.now);
        CHECK(id > 0);
        struct tern_tcp_status s;
        tern_tcp_status(h.st, id, &s);
        CHECK(s.local_port >= 49152);
        seen[i] = s.local_port;
        for (int j = 0; j < i; j++) {
            CHECK(seen[j] != seen[i]);
        }
    }
    h_fini(&h);
}

static void
cfg_two_ports(struct tern_config *c)
{
    c->tcp.ephemeral_min = 60000;
    c->tcp.ephemeral_max = 60001;
}

static void
test_ephemeral_exhausted(void)
{
    /* EVIDENCE: RFC 6056 3.3.3: no free port -> an error, no crash */
    struct h h;
    h_init_cfg(&h, cfg_two_ports);
    struct tern_tcp_open_args a = {.remote_addr = tern_ip4(PEER_ADDR), .remote_port = PEER_PORT};
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    CHECK(tern_tcp_open(h.st, &a, h.now) > 0);
    CHECK_EQ(tern_tcp_open(h.st, &a, h.now), TERN_ERR_NOBUFS);
    h_fini(&h);
}

static void
test_many_connections_demux(void)
{
    /* EVIDENCE: RFC 9293 3.3.1: each segment reaches the TCB of its 4-tuple */
    struct h h;
    h_init(&h);
    int ids[40];
    for (int i = 0; i < 40; i++) {
        struct tern_tcp_open_args a = {.local_port = (uint16_t)(2000 + i),
                                       .remote_addr = tern_ip4(PEER_ADDR),
                                       .remote_port = PEER_PORT,
                                       .set_iss = true,
                                       .iss = 100};
        ids[i] = tern_tcp_open(h.st, &a, h.now);
    }
    for (int i = 0; i < 40; i += 3) {
        h_deliver(&h,
                  PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .dport = (uint16_t)(2000 + i)));
    }
    for (int i = 0; i < 40; i++) {
        CHECK_STATE(&h, ids[i], i % 3 == 0 ? TERN_TCP_ESTABLISHED : TERN_TCP_SYN_SENT);
    }
    h_fini(&h);
}

static void
test_demux_hash_word_form(void)
{
    /* The demux hash built from words equals the keyed hash of the same 13
     * bytes (the domain byte and the 4-tuple in network order). */
    struct h h;
    h_init(&h);
    uint32_t a = 0x0a000001, b = 0xc0a80102;
    for (unsigned i = 0; i < 200; i++) {
        uint16_t lp = (uint16_t)(i * 7919), rp = (uint16_t)(i * 104729 + 1);
        a = a * 1103515245u + 12345u;
        b ^= a >> 3;
        CHECK_EQ(tcp_demux_hash(h.st, tern_ip4(a), lp, tern_ip4(b), rp),
                 tcp_tuple_hash(h.st, TCP_HASH_DEMUX, tern_ip4(a), lp, tern_ip4(b), rp));
    }
    h_fini(&h);
}

int
main(void)
{
    RUN(test_table_full_is_an_error);
    RUN(test_table_full_drops_handshake_ack);
    RUN(test_demux_exact_before_listener);
    RUN(test_ephemeral_ports);
    RUN(test_ephemeral_exhausted);
    RUN(test_many_connections_demux);
    RUN(test_demux_hash_word_form);
    return CHECK_DONE();
}
