/* tests/unit/test_tcp_mini.c: compact records (src/tcp/mini.c): the SYN cache (RFC 4987
 * 3.3), SYN cookies (RFC 4987 3.6), TIME-WAIT records and their recycling (RFC 9293 3.6,
 * RFC 6191, RFC 1337), and that none of it allocates after tern_stack_new. */
#include "tcp_harness.h"

/* Delivers a segment from (src, sport) carrying the options `o`. */
static void
deliver_opts(struct h *h, uint32_t src, struct tseg s, const struct wire_tcp_opts *o)
{
    h_deliver_full(h, 0, src, US_ADDR, s, o);
}

static const struct tern_stats *
stats(struct h *h)
{
    return tern_stack_stats(h->st);
}

/* ---- SYN cookies ---- */

static void
cfg_cache_one(struct tern_config *c)
{
    c->tcp.syn_cache_max = 1;
}

/* A listener whose one-entry SYN cache is taken by a SYN from port 1. */
static int
cookie_listener(struct h *h)
{
    int l = h_listen(h, 0);
    h_deliver(h, PEER(.seq = 50, .flags = SYN, .sport = 1));
    EXPECT_SENT(h, US(.seq = LOCAL_ISS, .ack = 51, .flags = SYN | ACK, .dport = 1));
    CHECK_EQ(stats(h)->tcp.cookies_sent, 0);
    return l;
}

/* A SYN from `sport` with MSS `mss` and the options given; returns our
 * SYN,ACK (a cookie: the cache is full). */
static struct wire_tcp
cookie_syn(struct h *h, uint16_t sport, uint16_t mss, bool ts, bool ws, bool sack)
{
    struct wire_tcp_opts o = {.has_mss = true,
                              .mss = mss,
                              .has_wscale = ws,
                              .wscale = 7,
                              .sack_permitted = sack,
                              .has_ts = ts,
                              .ts_val = 5000};
    uint64_t before = stats(h)->tcp.cookies_sent;
    deliver_opts(h, PEER_ADDR, PEER(.seq = 1000, .flags = SYN, .sport = sport), &o);
    struct wire_tcp t;
    memset(&t, 0, sizeof(t));
    CHECK(h_next_sent(h, &t, __LINE__));
    CHECK_EQ(t.flags, SYN | ACK);
    CHECK_EQ(t.ack, 1001);
    CHECK_EQ(t.dst_port, sport);
    CHECK_EQ(stats(h)->tcp.cookies_sent, before + 1);
    CHECK(tcp_mini_find(h->st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(PEER_ADDR), sport) == NULL);
    return t;
}

/* The peer's ACK of SYN,ACK `sa` (echoing its TSval when it carried one). */
static void
cookie_ack(struct h *h, uint32_t src, uint16_t sport, const struct wire_tcp *sa, uint32_t ack)
{
    struct wire_tcp_opts o = {.has_ts = true, .ts_val = 5001, .ts_ecr = sa->opts.ts_val};
    deliver_opts(h, src, PEER(.seq = 1001, .ack = ack, .flags = ACK, .sport = sport, .wnd = 1000),
                 sa->opts.has_ts ? &o : NULL);
}

static void
test_cookie_round_trip(void)
{
    /* EVIDENCE: RFC 4987 3.6 RFC 7323 2 RFC 2018: SYN cache full -> SYN,ACK with a cookie and
     * no state; the ACK's cookie rebuilds the connection with its MSS (table value), window
     * shift and SACK-permitted (from the echoed TSval) */
    struct h h;
    h_init_cfg(&h, cfg_cache_one);
    int l = cookie_listener(&h);
    struct wire_tcp sa = cookie_syn(&h, 2, 1460, true, true, true);
    /* Our SYN,ACK offered what the peer offered, its TSval carries them,
     * never above the TS clock (RFC 7323 5.4 monotonic for the peer). */
    CHECK(sa.opts.has_ts && sa.opts.has_wscale && sa.opts.sack_permitted);
    CHECK_EQ(sa.opts.ts_ecr, 5000);
    CHECK(sa.opts.ts_val <= (uint32_t)(h.now / 1000000) && sa.opts.ts_val + 32 > h.now / 1000000);
    CHECK_EQ(sa.opts.ts_val & 31, 7 | 16);
    h_advance(&h, 20 * SEC); /* within the cookie's life; no SYN,ACK is retransmitted */
    CHECK_EQ(stats(&h)->tcp.cookies_sent, 1);
    h.next = h.n_sent;
    cookie_ack(&h, PEER_ADDR, 2, &sa, sa.seq + 1);
    EXPECT_NOTHING(&h);
    CHECK_EQ(stats(&h)->tcp.cookies_accepted, 1);
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    CHECK_STATE(&h, c, TERN_TCP_ESTABLISHED);
    struct tern_tcp_status s;
    CHECK_EQ(tern_tcp_status(h.st, c, &s), TERN_OK);
    CHECK_EQ(s.iss, sa.seq);
    CHECK_EQ(s.rcv_nxt, 1001);
    CHECK_EQ(s.snd_mss, 1460);
    CHECK_EQ(s.snd_wscale, 7);
    CHECK(s.ts_ok);
    CHECK(s.sack_ok);
    CHECK_EQ(s.snd_wnd, 1000u << 7);
    /* Text flows both ways. */
    CHECK_EQ(tern_tcp_send(h.st, c, "hi", 2, h.now), 2);
    struct wire_tcp d;
    CHECK(h_next_sent(&h, &d, __LINE__));
    CHECK_EQ(d.seq, sa.seq + 1);
    CHECK_EQ(d.payload_len, 2);
    CHECK(d.opts.has_ts && d.opts.ts_val >= sa.opts.ts_val);
    h_fini(&h);
}

static void
test_cookie_mss_table_and_no_timestamps(void)
{
    /* EVIDENCE: RFC 4987 3.6: without timestamps the cookie keeps only the MSS (rounded down to
     * a table value); the SYN,ACK offers no window scaling nor SACK, and the connection has
     * neither */
    struct h h;
    h_init_cfg(&h, cfg_cache_one);
    int l = cookie_listener(&h);
    struct wire_tcp sa = cookie_syn(&h, 3, 1400, false, true, true);
    CHECK(!sa.opts.has_ts && !sa.opts.has_wscale && !sa.opts.sack_permitted);
    cookie_ack(&h, PEER_ADDR, 3, &sa, sa.seq + 1);
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    struct tern_tcp_status s;
    tern_tcp_status(h.st, c, &s);
    CHECK_EQ(s.snd_mss, 1360);
    CHECK_EQ(s.snd_wscale, 0);
    CHECK(!s.ts_ok && !s.sack_ok);
    /* No MSS option: 536 (MUST-15). */
    struct wire_tcp_opts none = {0};
    deliver_opts(&h, PEER_ADDR, PEER(.seq = 1000, .flags = SYN, .sport = 4), &none);
    struct wire_tcp sa2;
    CHECK(h_next_sent(&h, &sa2, __LINE__));
    cookie_ack(&h, PEER_ADDR, 4, &sa2, sa2.seq + 1);
    c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    tern_tcp_status(h.st, c, &s);
    CHECK_EQ(s.snd_mss, 536);
    h_fini(&h);
}

static void
test_cookie_forged_wrong_tuple_expired(void)
{
    /* EVIDENCE: RFC 4987 3.6 RFC 9293 3.10.7.2: an ACK whose cookie fails the MAC (forged, or
     * for another 4-tuple) or is too old is an ACK in LISTEN: RST, counted */
    struct h h;
    h_init_cfg(&h, cfg_cache_one);
    int l = cookie_listener(&h);
    struct wire_tcp sa = cookie_syn(&h, 2, 1460, true, true, true);
    /* Forged: one bit of the MAC changed. */
    uint32_t forged = (sa.seq ^ 0x100u) + 1;
    cookie_ack(&h, PEER_ADDR, 2, &sa, forged);
    EXPECT_SENT(&h, US(.seq = forged, .flags = RST, .dport = 2));
    CHECK_EQ(stats(&h)->tcp.cookies_rejected, 1);
    /* The right cookie from another port, then from another address. */
    cookie_ack(&h, PEER_ADDR, 9, &sa, sa.seq + 1);
    EXPECT_SENT(&h, US(.seq = sa.seq + 1, .flags = RST, .dport = 9));
    cookie_ack(&h, PEER_ADDR + 1, 2, &sa, sa.seq + 1);
    EXPECT_SENT(&h, US(.seq = sa.seq + 1, .flags = RST, .dport = 2));
    CHECK_EQ(stats(&h)->tcp.cookies_rejected, 3);
    CHECK_EQ(stats(&h)->tcp.cookies_accepted, 0);
    CHECK_EQ(tern_tcp_accept(h.st, l, h.now), TERN_ERR_AGAIN);
    /* Expired: 130 s later (more than two 64-second ticks), with cookies
     * still being sent meanwhile so that ACKs are still checked. */
    h_advance(&h, 100 * SEC);
    h.next = h.n_sent;
    /* Port 1's record ran out (63 s): fill the cache again. */
    CHECK(tcp_mini_find(h.st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(PEER_ADDR), 1) == NULL);
    h_deliver(&h, PEER(.seq = 50, .flags = SYN, .sport = 6));
    EXPECT_SENT(&h, US(.seq = LOCAL_ISS, .ack = 51, .flags = SYN | ACK, .dport = 6));
    cookie_syn(&h, 5, 1460, true, true, true);
    h_advance(&h, 30 * SEC);
    h.next = h.n_sent;
    cookie_ack(&h, PEER_ADDR, 2, &sa, sa.seq + 1);
    EXPECT_SENT(&h, US(.seq = sa.seq + 1, .flags = RST, .dport = 2));
    CHECK_EQ(stats(&h)->tcp.cookies_rejected, 4);
    CHECK_EQ(tern_tcp_accept(h.st, l, h.now), TERN_ERR_AGAIN);
    h_fini(&h);
}

static void
test_no_cookie_check_without_cookies(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.2 second: with no cookie sent recently an ACK in LISTEN gets
     * its RST without being checked as a cookie */
    struct h h;
    h_init(&h);
    h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .ack = 91, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 91, .flags = RST));
    CHECK_EQ(stats(&h)->tcp.cookies_rejected, 0);
    CHECK_EQ(stats(&h)->drops[TERN_DROP_TCP_LISTEN_ACK], 1);
    h_fini(&h);
}

/* ---- SYN flood, memory ---- */

static size_t g_allocs;

static void *
counting_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    g_allocs++;
    return ptr == NULL ? calloc(1, new_size) : realloc(ptr, new_size);
}

static void
cfg_flood(struct tern_config *c)
{
    c->tcp.syn_cache_max = 16;
    c->alloc = counting_alloc;
}

static void
test_syn_flood_real_client_connects(void)
{
    /* EVIDENCE: RFC 4987 3.3 3.6: thousands of spoofed SYNs fill the SYN cache; a real client
     * still connects (through a cookie); nothing is allocated after tern_stack_new */
    g_allocs = 0;
    struct h h;
    h_init_cfg(&h, cfg_flood);
    size_t allocs = g_allocs;
    CHECK(allocs > 0);
    int l = h_listen(&h, 0);
    uint32_t x = 12345;
    for (int i = 0; i < 5000; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t src = TERN_IPV4(10, 0, 0, 3 + (x >> 16) % 250);
        h_deliver_addr(&h, 0, src, US_ADDR,
                       PEER(.seq = x, .flags = SYN, .sport = (uint16_t)(1024 + (x >> 8) % 60000)));
        if (i % 100 == 0) {
            h_advance(&h, 10000000); /* 10 ms: the SYN,ACK retransmissions run too */
        }
    }
    CHECK_EQ(stats(&h)->tcp.cookies_sent + 16, stats(&h)->tcp.passive_opens + 5000 - 16);
    CHECK(stats(&h)->tcp.cookies_sent >= 5000 - 16);
    h.n_sent = h.next = 0;
    struct wire_tcp_opts o = {.has_mss = true, .mss = 1460, .has_ts = true, .ts_val = 77};
    deliver_opts(&h, PEER_ADDR, PEER(.seq = 1000, .flags = SYN), &o);
    struct wire_tcp sa;
    CHECK(h_next_sent(&h, &sa, __LINE__));
    CHECK_EQ(sa.flags, SYN | ACK);
    cookie_ack(&h, PEER_ADDR, PEER_PORT, &sa, sa.seq + 1);
    int c = tern_tcp_accept(h.st, l, h.now);
    CHECK(c > 0);
    CHECK_STATE(&h, c, TERN_TCP_ESTABLISHED);
    /* The flood's records run out (5 retransmissions, 63 s); no state left. */
    h_advance(&h, 70 * SEC);
    CHECK_EQ(h.st->tcp->mini_used[1], 0);
    CHECK_EQ(stats(&h)->tcp.syn_cache_expired, 16);
    CHECK_EQ(g_allocs, allocs);
    h_fini(&h);
}

/* ---- SYN cache timing ---- */

static void
test_synack_retries_then_record_gone(void)
{
    /* EVIDENCE: RFC 9293 3.8.1 3.10.8 MUST-19 (include/tern/tcp.h synack_retries): an embryonic
     * connection's SYN,ACK is retransmitted 5 times, the interval doubling from 1 s; then its
     * record is deleted and counted */
    struct h h;
    h_init(&h);
    h_listen(&h, 0);
    h_deliver(&h, PEER(.seq = 300, .flags = SYN));
    EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
    int64_t gap = SEC;
    for (int i = 0; i < 5; i++) {
        h_advance(&h, gap - 1);
        EXPECT_NOTHING(&h);
        h_advance(&h, 1);
        EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK));
        gap *= 2;
    }
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_SYN_RECEIVED);
    h_advance(&h, gap - 1);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_SYN_RECEIVED);
    h_advance(&h, 1);
    EXPECT_NOTHING(&h);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), -1);
    CHECK_EQ(stats(&h)->tcp.syn_cache_expired, 1);
    /* The ACK now finds LISTEN: RST. */
    h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK));
    EXPECT_SENT(&h, US(.seq = 101, .flags = RST));
    h_fini(&h);
}

/* ---- TIME-WAIT records ---- */

static void
cfg_tw_two(struct tern_config *c)
{
    c->tcp.time_wait_max = 2;
}

/* An active connection from port `port` closed by us first into
 * TIME-WAIT; released by the user when `release`. Returns its id. */
static int
tw_from(struct h *h, uint16_t port, bool release)
{
    struct tern_tcp_open_args a = {.local_port = port,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = LOCAL_ISS};
    int id = tern_tcp_open(h->st, &a, h->now);
    CHECK(id > 0);
    EXPECT_SENT(h, US(.seq = 100, .flags = SYN));
    h_deliver(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .dport = port));
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    CHECK_EQ(tern_tcp_close(h->st, id, h->now), TERN_OK);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = FIN | ACK));
    h_deliver(h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK, .dport = port));
    EXPECT_SENT(h, US(.seq = 102, .ack = 302, .flags = ACK));
    CHECK_EQ(h_tuple_state(h, port), TERN_TCP_TIME_WAIT);
    if (release) {
        CHECK_EQ(tern_tcp_release(h->st, id, h->now), TERN_OK);
    }
    return id;
}

static void
test_time_wait_recycles_oldest(void)
{
    /* EVIDENCE: RFC 6191 RFC 1337 RFC 9293 3.6: with the TIME-WAIT table full a new TIME-WAIT
     * ends the oldest record early (counted), the others keep theirs; a husk whose record is
     * recycled reports CLOSED */
    struct h h;
    h_init_cfg(&h, cfg_tw_two);
    int a = tw_from(&h, 5001, false); /* the user holds this one: a husk */
    h_advance(&h, SEC);
    tw_from(&h, 5002, true);
    h_advance(&h, SEC);
    CHECK_EQ(stats(&h)->tcp.time_wait_recycled, 0);
    CHECK_STATE(&h, a, TERN_TCP_TIME_WAIT);
    tw_from(&h, 5003, true);
    CHECK_EQ(stats(&h)->tcp.time_wait_recycled, 1);
    CHECK_EQ(h_tuple_state(&h, 5001), -1);
    CHECK_EQ(h_tuple_state(&h, 5002), TERN_TCP_TIME_WAIT);
    CHECK_EQ(h_tuple_state(&h, 5003), TERN_TCP_TIME_WAIT);
    CHECK_STATE(&h, a, TERN_TCP_CLOSED);
    CHECK(h.events[a] & TERN_TCP_EV_CLOSED);
    CHECK_STR(h.last_rule, "RFC 6191 / RFC 1337: TIME-WAIT table full -> oldest record recycled");
    /* A retransmitted FIN restarts 5002's 2 MSL: 5003 is now the oldest. */
    h_deliver(&h, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK, .dport = 5002));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK, .sport = 5002));
    tw_from(&h, 5004, true);
    CHECK_EQ(stats(&h)->tcp.time_wait_recycled, 2);
    CHECK_EQ(h_tuple_state(&h, 5003), -1);
    CHECK_EQ(h_tuple_state(&h, 5002), TERN_TCP_TIME_WAIT);
    CHECK_EQ(h_tuple_state(&h, 5004), TERN_TCP_TIME_WAIT);
    /* The port use seen by the socket layer includes the records. */
    CHECK(tern_tcp_port_use(h.st, tern_ip4(US_ADDR), 5002, false) & TERN_TCP_PORT_CONN);
    CHECK_EQ(tern_tcp_port_use(h.st, tern_ip4(US_ADDR), 5003, false), 0);
    /* And a record holds its 4-tuple against a new OPEN. */
    struct tern_tcp_open_args o = {
        .local_port = 5002, .remote_addr = tern_ip4(PEER_ADDR), .remote_port = PEER_PORT};
    CHECK_EQ(tern_tcp_open(h.st, &o, h.now), TERN_ERR_EXIST);
    h_fini(&h);
}

static void
cfg_server(struct tern_config *c)
{
    c->tcp.time_wait_max = 4;
    c->tcp.max_connections = 4;
}

static void
test_server_closing_first_never_refuses(void)
{
    /* EVIDENCE: RFC 9293 3.6 MUST-13 RFC 6191: a server that closes first keeps accepting: 1000
     * sequential clients with 4 connection slots and 4 TIME-WAIT records */
    struct h h;
    h_init_cfg(&h, cfg_server);
    int l = h_listen(&h, 0);
    int ok = 0;
    for (int i = 0; i < 1000; i++) {
        uint16_t p = (uint16_t)(20000 + i);
        h.n_sent = h.next = 0;
        h_deliver(&h, PEER(.seq = 300, .flags = SYN, .sport = p));
        EXPECT_SENT(&h, US(.seq = 100, .ack = 301, .flags = SYN | ACK, .dport = p));
        h_deliver(&h, PEER(.seq = 301, .ack = 101, .flags = ACK | PSH, .sport = p, .data = "GET"));
        EXPECT_SENT(&h, US(.seq = 101, .ack = 304, .flags = ACK, .dport = p));
        int c = tern_tcp_accept(h.st, l, h.now);
        if (c <= 0) {
            break;
        }
        char buf[8];
        CHECK_EQ(tern_tcp_recv(h.st, c, buf, sizeof(buf), h.now), 3);
        CHECK_EQ(tern_tcp_send(h.st, c, "OK", 2, h.now), 2);
        CHECK_EQ(tern_tcp_close(h.st, c, h.now), TERN_OK);
        CHECK_EQ(tern_tcp_release(h.st, c, h.now), TERN_OK);
        EXPECT_SENT(&h, US(.seq = 101, .ack = 304, .flags = ACK | PSH, .data = "OK"));
        EXPECT_SENT(&h, US(.seq = 103, .ack = 304, .flags = FIN | ACK));
        h_deliver(&h, PEER(.seq = 304, .ack = 104, .flags = FIN | ACK, .sport = p));
        EXPECT_SENT(&h, US(.seq = 104, .ack = 305, .flags = ACK, .dport = p));
        h_advance(&h, 10000000);
        ok++;
    }
    CHECK_EQ(ok, 1000);
    CHECK_EQ(stats(&h)->tcp.time_wait_recycled, 996);
    CHECK_EQ(stats(&h)->drops[TERN_DROP_TCP_TABLE_FULL], 0);
    CHECK_EQ(h.st->tcp->mini_used[0], 4);
    /* The public figures agree: each of the 1000 closed first, and all
     * but the 4 records held were recycled. */
    CHECK_EQ(stats(&h)->tcp.active_closes, 1000);
    CHECK_EQ(stats(&h)->tcp.passive_closes, 0);
    CHECK_EQ(stats(&h)->tcp.time_wait_records, 4);
    CHECK_EQ(stats(&h)->tcp.time_wait_recycled + stats(&h)->tcp.time_wait_records, 1000);
    h_fini(&h);
}

/* TIME-WAIT with timestamps: PAWS (RFC 7323 5.3) on the record. */
static void
test_paws_on_record(void)
{
    /* EVIDENCE: RFC 7323 5.3 RFC 9293 3.10.7.4: a TIME-WAIT record keeps TS.Recent: a segment
     * with an older TSval is ACKed and dropped (PAWS), for a husk and for a released one */
    for (int release = 0; release < 2; release++) {
        struct h h;
        h_init(&h);
        struct tern_tcp_open_args a = {.local_port = US_PORT,
                                       .remote_addr = tern_ip4(PEER_ADDR),
                                       .remote_port = PEER_PORT,
                                       .set_iss = true,
                                       .iss = LOCAL_ISS};
        int id = tern_tcp_open(h.st, &a, h.now);
        struct wire_tcp syn;
        CHECK(h_next_sent(&h, &syn, __LINE__));
        CHECK(syn.opts.has_ts);
        struct wire_tcp_opts o = {.has_ts = true, .ts_val = 1000, .ts_ecr = syn.opts.ts_val};
        deliver_opts(&h, PEER_ADDR, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK), &o);
        EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
        CHECK_EQ(tern_tcp_close(h.st, id, h.now), TERN_OK);
        EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = FIN | ACK));
        o.ts_val = 1010;
        deliver_opts(&h, PEER_ADDR, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK), &o);
        struct wire_tcp last;
        CHECK(h_next_sent(&h, &last, __LINE__));
        CHECK_EQ(last.opts.ts_ecr, 1010);
        if (release) {
            CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
        } else {
            CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
        }
        CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_TIME_WAIT);
        /* An old duplicate FIN (TSval below TS.Recent): ACK and drop. */
        o.ts_val = 900;
        deliver_opts(&h, PEER_ADDR, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK), &o);
        struct wire_tcp ack;
        CHECK(h_next_sent(&h, &ack, __LINE__));
        CHECK_EQ(ack.flags, ACK);
        CHECK_EQ(ack.opts.ts_ecr, 1010);
        CHECK_EQ(stats(&h)->drops[TERN_DROP_TCP_PAWS], 1);
        /* The current FIN again: ACKed, TS.Recent echoed, 2 MSL restarted. */
        h_advance(&h, 100 * SEC);
        o.ts_val = 1020;
        deliver_opts(&h, PEER_ADDR, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK), &o);
        CHECK(h_next_sent(&h, &ack, __LINE__));
        CHECK_EQ(ack.ack, 302);
        CHECK_EQ(ack.opts.ts_ecr, 1020);
        h_advance(&h, 239 * SEC);
        CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_TIME_WAIT);
        h_advance(&h, 1 * SEC);
        CHECK_EQ(h_tuple_state(&h, US_PORT), -1);
        if (!release) {
            CHECK_STATE(&h, id, TERN_TCP_CLOSED);
        }
        h_fini(&h);
    }
}

static void
test_husk_and_record(void)
{
    /* EVIDENCE: RFC 9293 3.6 3.10.6: a TIME-WAIT connection the user holds reports TIME-WAIT
     * and ends with the usual events; released, its slot is free at once while the record
     * keeps TIME-WAIT */
    struct h h;
    h_init(&h);
    int id = tw_from(&h, US_PORT, false);
    CHECK_STATE(&h, id, TERN_TCP_TIME_WAIT);
    CHECK_EQ(h.st->tcp->mini_used[0], 1);
    struct tcp_tcb *husk = tcp_tcb_get(h.st, id);
    CHECK(husk != NULL && !husk->in_hash && husk->tw_rec >= 0);
    CHECK_EQ(tern_tcp_release(h.st, id, h.now), TERN_OK);
    CHECK_EQ(tcp_tcb_at(h.st, id - 1)->role, TCP_ROLE_FREE);
    CHECK_EQ(h_tuple_state(&h, US_PORT), TERN_TCP_TIME_WAIT);
    /* ABORT of a held TIME-WAIT connection deletes its record too. */
    int id2 = tw_from(&h, US_PORT + 1, false);
    CHECK_EQ(h.st->tcp->mini_used[0], 2);
    CHECK_EQ(tern_tcp_abort(h.st, id2, h.now), TERN_OK);
    EXPECT_NOTHING(&h);
    CHECK_STATE(&h, id2, TERN_TCP_CLOSED);
    CHECK_EQ(h_tuple_state(&h, US_PORT + 1), -1);
    CHECK_EQ(h.st->tcp->mini_used[0], 1);
    h_fini(&h);
}

/* ---- RFC 6191: a SYN on a TIME-WAIT record, with timestamps ---- */

/* A listener's connection we closed first, timestamps on (`ts`) or off:
 * TIME-WAIT with SND.NXT 102, RCV.NXT 302 (the peer's FIN at 301) and
 * TS.Recent 1010; released, so the record alone holds it. */
static void
tw_record_ts(struct h *h, bool ts)
{
    int l = h_listen(h, 0);
    struct wire_tcp_opts o = {.has_ts = ts, .ts_val = 1000};
    deliver_opts(h, PEER_ADDR, PEER(.seq = 300, .flags = SYN), &o);
    struct wire_tcp sa;
    CHECK(h_next_sent(h, &sa, __LINE__));
    CHECK_EQ(sa.flags, SYN | ACK);
    CHECK_EQ(sa.opts.has_ts, ts);
    o.ts_val = 1001;
    o.ts_ecr = sa.opts.ts_val;
    deliver_opts(h, PEER_ADDR, PEER(.seq = 301, .ack = 101, .flags = ACK), &o);
    int c = tern_tcp_accept(h->st, l, h->now);
    CHECK(c > 0);
    CHECK_EQ(tern_tcp_close(h->st, c, h->now), TERN_OK);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = FIN | ACK));
    o.ts_val = 1010;
    deliver_opts(h, PEER_ADDR, PEER(.seq = 301, .ack = 102, .flags = FIN | ACK), &o);
    EXPECT_SENT(h, US(.seq = 102, .ack = 302, .flags = ACK));
    CHECK_EQ(tern_tcp_release(h->st, c, h->now), TERN_OK);
    CHECK_EQ(h_tuple_state(h, LISTEN_PORT), TERN_TCP_TIME_WAIT);
}

static void
test_time_wait_syn_timestamps(void)
{
    /* EVIDENCE: RFC 9293 3.6 SHLD-4 MAY-2 RFC 6191 2: a SYN on TIME-WAIT: with timestamps on
     * both incarnations, a TSval above TS.Recent opens a new one even with SEG.SEQ below the old
     * FIN, an equal TSval needs SEG.SEQ above it, a lower one is refused (PAWS) even with SEG.SEQ
     * above; a SYN without timestamps is judged by SEG.SEQ; an old incarnation without them
     * yields to any SYN with them. The new ISS lies above the old SND.NXT; a refused SYN gets
     * the ACK of the current state */
    static const struct {
        bool old_ts, syn_ts;
        uint32_t tsval, seq;
        bool opens;
    } cases[] = {
        /* (old incarnation used timestamps, SYN carries them, its TSval, SEG.SEQ, opens?);
         * TS.Recent 1010, the old FIN at 301. 0x80000001 is not above any TS.Recent a
         * connection without timestamps could hold (0): only the "old one had none" rule
         * lets that SYN in. */
        {true, true, 1011, 250, true},         {true, true, 1009, 1000, false},
        {true, true, 1010, 1000, true},        {true, true, 1010, 250, false},
        {true, false, 0, 1000, true},          {true, false, 0, 250, false},
        {false, true, 0x80000001u, 250, true}, {false, false, 0, 250, false},
        {false, false, 0, 1000, true},         {true, true, 1010, 301, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int failures = check_st.failures;
        struct h h;
        h_init(&h);
        tw_record_ts(&h, cases[i].old_ts);
        struct wire_tcp_opts o = {.has_ts = cases[i].syn_ts, .ts_val = cases[i].tsval};
        deliver_opts(&h, PEER_ADDR, PEER(.seq = cases[i].seq, .flags = SYN), &o);
        struct wire_tcp r;
        memset(&r, 0, sizeof(r));
        CHECK(h_next_sent(&h, &r, __LINE__));
        EXPECT_NOTHING(&h);
        if (cases[i].opens) {
            CHECK_EQ(r.flags, SYN | ACK);
            CHECK_EQ(r.seq, 103); /* the listener's ISS (100) raised above the old SND.NXT */
            CHECK_EQ(r.ack, cases[i].seq + 1);
            CHECK_EQ(r.opts.has_ts, cases[i].syn_ts);
            CHECK_EQ(stats(&h)->tcp.time_wait_reuse, 1);
            CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_SYN_RECEIVED);
        } else {
            CHECK_EQ(r.flags, ACK);
            CHECK_EQ(r.seq, 102);
            CHECK_EQ(r.ack, 302);
            CHECK(!cases[i].old_ts || r.opts.ts_ecr == 1010);
            CHECK_EQ(stats(&h)->tcp.time_wait_reuse, 0);
            CHECK_EQ(stats(&h)->drops[TERN_DROP_TCP_TIME_WAIT_SYN], 1);
            CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_TIME_WAIT);
        }
        if (check_st.failures != failures) {
            fprintf(stderr, "  case %zu\n", i);
        }
        h_fini(&h);
    }
}

static void
test_time_wait_record_second_fin(void)
{
    /* EVIDENCE: RFC 9293 3.10.7.4 fifth eighth MUST-13: a TIME-WAIT record (the scratch TCB
     * announces a full window) acknowledges a FIN at RCV.NXT without moving RCV.NXT, and text at
     * RCV.NXT, restarting 2 MSL each time */
    struct h h;
    h_init(&h);
    tw_record_ts(&h, false);
    h_advance(&h, 200 * SEC);
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = FIN | ACK));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    struct tcp_mini *m =
        tcp_mini_find(h.st, tern_ip4(US_ADDR), LISTEN_PORT, tern_ip4(PEER_ADDR), PEER_PORT);
    CHECK(m != NULL && m->rcv_nxt == 302);
    h_advance(&h, 200 * SEC);
    h_deliver(&h, PEER(.seq = 302, .ack = 102, .flags = ACK, .data = "zz"));
    EXPECT_SENT(&h, US(.seq = 102, .ack = 302, .flags = ACK));
    h_advance(&h, 239 * SEC);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), TERN_TCP_TIME_WAIT);
    h_advance(&h, 1 * SEC);
    CHECK_EQ(h_tuple_state(&h, LISTEN_PORT), -1);
    EXPECT_NOTHING(&h);
    h_fini(&h);
}

int
main(void)
{
    RUN(test_cookie_round_trip);
    RUN(test_cookie_mss_table_and_no_timestamps);
    RUN(test_cookie_forged_wrong_tuple_expired);
    RUN(test_no_cookie_check_without_cookies);
    RUN(test_syn_flood_real_client_connects);
    RUN(test_synack_retries_then_record_gone);
    RUN(test_time_wait_recycles_oldest);
    RUN(test_server_closing_first_never_refuses);
    RUN(test_paws_on_record);
    RUN(test_husk_and_record);
    RUN(test_time_wait_syn_timestamps);
    RUN(test_time_wait_record_second_fin);
    return CHECK_DONE();
}
