/*
 * tests/unit/test_reass.c: IPv4 fragment reassembly (src/ip/reass.c).
 *
 * RFCs: 791 3.2, 815, 1122 3.3.2, 5722 (applied to IPv4), 792 (time
 * exceeded).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "ip/ip.h"
#include "ip_rig.h"
#include "stack/root.h"
#include "tern/stack.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define SEC 1000000000LL

static struct rig R;
static struct fake_proto F;
static uint8_t data[70000];
static uint8_t frag[70000];

static void
fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 13 + seed + (i >> 8));
    }
}

/* Feeds the fragment [off, off + len) of `data` as datagram `id`. */
static void
feed(uint16_t id, size_t off, size_t len, bool mf, int64_t now)
{
    size_t n = mk_dgram(frag, A_PEER, A_LOCAL, PROTO_FAKE, id, mf, (uint16_t)off, data + off, len);
    input(&R, frag, n, now);
}

static void
open_with_fake(void (*edit)(struct tern_config *, struct rig *))
{
    rig_open(&R, 1500, edit);
    memset(&F, 0, sizeof(F));
    CHECK_EQ(ip_register_proto(R.st, PROTO_FAKE, fake_input, fake_err, &F), TERN_OK);
}

/* The delivered datagram is `len` bytes of data with a header that says so. */
static void
check_delivered(size_t len)
{
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, len);
    CHECK_MEM(F.payload, data, len);
    CHECK_EQ(tern_ip_v4(F.rx.src), A_PEER);
    CHECK_EQ(tern_ip_v4(F.rx.dst), A_LOCAL);
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(F.datagram, F.rx.datagram_len, &h), WIRE_OK);
    CHECK_EQ(h.total_len, 20 + len);
    CHECK(!h.mf);
    CHECK_EQ(h.frag_off, 0);
    CHECK_EQ(R.st->ip->reass_held, 0);
    CHECK_EQ(pool_avail(&R.st->pool), R.st->pool.n); /* every chunk back */
}

/* Reassembles datagrams up to 65535 bytes (EMTU_R is 20 + reass_mem_max). */
static void
big_emtu(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->reass_mem_max = 65515;
}

/* EVIDENCE: RFC 815, RFC 1122 3.3.2 (MUST reassemble): fragments in order,
 * in reverse order and in random orders give back the datagram. */
static void
test_orders(void)
{
    const size_t len = 5000, chunk = 496; /* 11 fragments, the last short */
    const size_t nf = (len + chunk - 1) / chunk;
    size_t order[16];
    struct rng rng;
    rng_seed(&rng, 99);
    for (int trial = 0; trial < 12; trial++) {
        fill_pattern(data, len, (unsigned)trial);
        for (size_t i = 0; i < nf; i++) {
            order[i] = trial == 1 ? nf - 1 - i : i;
        }
        for (size_t i = nf - 1; trial >= 2 && i > 0; i--) { /* Fisher-Yates */
            size_t j = rng_below(&rng, (uint32_t)i + 1);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        open_with_fake(NULL);
        for (size_t k = 0; k < nf; k++) {
            size_t off = order[k] * chunk;
            size_t n = off + chunk < len ? chunk : len - off;
            CHECK_EQ(F.n_rx, 0);
            feed((uint16_t)(100 + trial), off, n, off + n < len, 1);
        }
        check_delivered(len);
        CHECK_EQ(R.st->stats.ip.rx_fragments, nf);
        CHECK_EQ(R.st->stats.ip.reassembled, 1);
        CHECK_EQ(R.st->stats.ip.rx_delivered, 1);
        CHECK_EQ(tern_stats_drops_total(&R.st->stats), 0);
        CHECK_EQ(trace_count(&R.log, TERN_TRACE_RX, "RFC 815: fragment stored"), (int)nf);
        CHECK_EQ(trace_count(&R.log, TERN_TRACE_RX, "RFC 815: datagram reassembled"), 1);
        CHECK_EQ(trace_count(&R.log, TERN_TRACE_TIMER, "RFC 1122 3.3.2"), 1); /* armed */
        CHECK_EQ(tern_stack_next_deadline(R.st), INT64_MAX);                  /* timer cancelled */
        rig_close(&R);
    }
}

/* Two datagrams interleaved, told apart by their id (RFC 791 3.2). */
static void
test_interleaved(void)
{
    open_with_fake(NULL);
    fill_pattern(data, 3000, 5);
    feed(1, 0, 1000, true, 1);
    feed(2, 1000, 1000, true, 1);
    feed(2, 0, 1000, true, 1);
    feed(1, 2000, 1000, false, 1);
    feed(2, 2000, 1000, false, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, 3000);
    CHECK_EQ(R.st->ip->reass_held, 2000);
    feed(1, 1000, 1000, true, 1);
    CHECK_EQ(F.n_rx, 2);
    CHECK_MEM(F.payload, data, 3000);
    CHECK_EQ(R.st->stats.ip.reassembled, 2);
    CHECK_EQ(R.st->ip->reass_held, 0);
    rig_close(&R);
}

/* First fragment with IP options: the reassembled header keeps them. */
static void
test_first_fragment_options(void)
{
    open_with_fake(NULL);
    fill_pattern(data, 48, 1);
    size_t n = mk_dgram(frag + 4, A_PEER, A_LOCAL, PROTO_FAKE, 9, true, 0, data, 40);
    memmove(frag, frag + 4, 20);
    memset(frag + 20, WIRE_IPOPT_NOP, 4);
    frag[0] = 0x46;
    frag[3] = (uint8_t)(n + 4);
    fix_ip_csum(frag);
    input(&R, frag, n + 4, 1);
    feed(9, 40, 8, false, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, 48);
    CHECK_MEM(F.payload, data, 48);
    CHECK_EQ(F.rx.datagram_len, 24 + 48);
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(F.datagram, F.rx.datagram_len, &h), WIRE_OK);
    CHECK_EQ(h.hdr_len, 24);
    CHECK_EQ(h.total_len, 72);
    rig_close(&R);
}

/* EVIDENCE: RFC 5722 4 (applied to IPv4): an overlapping fragment makes us
 * discard the whole datagram. Choice (RFC 8200 4.5): an exact duplicate, the
 * same bytes at the same place, is dropped alone and the datagram goes on. */
static void
test_overlap_and_duplicate(void)
{
    open_with_fake(NULL);
    fill_pattern(data, 3000, 2);
    /* exact duplicate: dropped alone */
    feed(1, 0, 1000, true, 1);
    feed(1, 0, 1000, true, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_DUPLICATE], 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_OVERLAP], 0);
    CHECK_EQ(R.st->ip->reass_held, 1000);
    /* the rest completes it, and a duplicate of the last one changes nothing */
    feed(1, 1000, 2000, false, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(R.st->ip->reass_held, 0);

    /* partial overlap at the front of a held fragment */
    feed(2, 1000, 1000, true, 1);
    feed(2, 496, 512, true, 1);
    /* a fragment spanning a hole and held data */
    feed(3, 1000, 1000, true, 1);
    feed(3, 0, 1504, true, 1);
    /* inside held data, with other bytes: a rewrite, not a duplicate */
    feed(4, 0, 2000, true, 1);
    fill_pattern(data, 3000, 7);
    feed(4, 800, 400, true, 1);
    fill_pattern(data, 3000, 2);
    /* a second last fragment ending elsewhere */
    feed(5, 2000, 1000, false, 1);
    feed(5, 2000, 992, false, 1);
    /* the same bytes as the held last fragment, but claiming more follows */
    feed(6, 2000, 1000, false, 1);
    feed(6, 2000, 1000, true, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_OVERLAP], 5);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_OVERLAP), 5);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(R.st->ip->reass_held, 0);
    rig_close(&R);
}

/* EVIDENCE: RFC 791 3.2: every fragment but the last carries a multiple of
 * 8 bytes, and a datagram ends by 65535; others are bad fragments. */
static void
test_bad_fragments(void)
{
    open_with_fake(big_emtu);
    fill_pattern(data, 70000, 3);
    feed(1, 0, 1001, true, 1); /* MF, not a multiple of 8 */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_BAD_FRAGMENT], 1);
    feed(2, 65000, 520, false, 1); /* 20 + 65000 + 520 > 65535 */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_BAD_FRAGMENT], 2);
    feed(2, 65000, 515, false, 1); /* ends exactly at 65535: held */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_BAD_FRAGMENT], 2);
    CHECK_EQ(R.st->ip->reass_held, 515);
    feed(3, 8, 0, false, 1); /* empty */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_BAD_FRAGMENT], 3);
    /* a last fragment with data already held past its end */
    feed(4, 800, 800, true, 1);
    feed(4, 400, 96, false, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_BAD_FRAGMENT], 4);
    /* data past the end that a last fragment set */
    feed(5, 0, 800, false, 0);
    CHECK_EQ(F.n_rx, 1); /* MF clear, offset 0: not a fragment at all */
    feed(6, 800, 100, false, 1);
    feed(6, 1600, 8, true, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_BAD_FRAGMENT], 5);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_BAD_FRAGMENT), 5);
    CHECK_EQ(R.st->ip->reass_held, 515);
    rig_close(&R);
}

/* A reassembled datagram past 65535 because fragment 0 had options. */
static void
test_too_long_with_options(void)
{
    open_with_fake(big_emtu);
    fill_pattern(data, 70000, 4);
    size_t n = mk_dgram(frag + 8, A_PEER, A_LOCAL, PROTO_FAKE, 3, true, 0, data, 64000);
    memmove(frag, frag + 8, 20);
    memset(frag + 20, WIRE_IPOPT_NOP, 8);
    frag[0] = 0x47;
    frag[2] = (uint8_t)((n + 8) >> 8);
    frag[3] = (uint8_t)(n + 8);
    fix_ip_csum(frag);
    input(&R, frag, n + 8, 1);
    feed(3, 64000, 1515, false, 1); /* 20 + 64000 + 1515 = 65535 */
    CHECK_EQ(F.n_rx, 0);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_BAD_FRAGMENT], 1);
    CHECK_EQ(R.st->ip->reass_held, 0);
    rig_close(&R);
}

static void
small_mem(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->reass_mem_max = 2500;
}

/* Memory cap: the sum of fragment bytes held never passes reass_mem_max.
 * A fragment that would pass it evicts older datagrams, oldest first, but
 * never its own: when its datagram is the oldest left, the fragment is a
 * counted drop. */
static void
test_memory_cap(void)
{
    open_with_fake(small_mem);
    fill_pattern(data, 4000, 6);
    feed(1, 0, 1480, true, 1);
    feed(2, 0, 1000, true, 1);
    CHECK_EQ(R.st->ip->reass_held, 2480);
    feed(1, 1480, 24, false, 1); /* 2504 > 2500, and datagram 1 is the oldest */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_MEMORY], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_MEMORY), 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 0);
    CHECK_EQ(R.st->ip->reass_held, 2480);
    feed(2, 1000, 24, false, 1); /* 2504 > 2500: the older datagram 1 goes */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_EVICTED), 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, 1024);
    CHECK_MEM(F.payload, data, 1024);
    CHECK_EQ(R.st->ip->reass_held, 0);
    /* exactly at the cap is allowed */
    feed(3, 0, 1480, true, 1);
    feed(3, 1480, 1020, false, 1);
    CHECK_EQ(F.n_rx, 2);
    CHECK_EQ(F.rx.len, 2500);
    /* a datagram longer than the cap can never be reassembled (EMTU_R) */
    feed(4, 2496, 8, false, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_TOO_BIG], 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_MEMORY], 1);
    CHECK_EQ(R.st->ip->reass_held, 0);
    CHECK_EQ(pool_avail(&R.st->pool), R.st->pool.n);
    rig_close(&R);
}

static void
two_slots(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->reass_slots = 2;
}

static void
no_slots(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->reass_slots = 0;
}

/* Slot exhaustion: with every slot in use, a new datagram evicts the
 * oldest incomplete one (counted) and goes on; with no slots at all,
 * fragments are refused. */
static void
test_slot_exhaustion(void)
{
    open_with_fake(two_slots);
    fill_pattern(data, 2000, 7);
    feed(1, 0, 1000, true, 1);
    feed(2, 0, 1000, true, 1);
    feed(3, 0, 1000, true, 1); /* datagram 1, the oldest, is evicted */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_EVICTED), 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_NO_SLOT], 0);
    CHECK_EQ(R.st->ip->reass_held, 2000);
    feed(1, 1000, 1000, false, 1); /* starts datagram 1 afresh: 2 goes */
    CHECK_EQ(F.n_rx, 0);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 2);
    feed(3, 1000, 1000, false, 1);
    CHECK_EQ(F.n_rx, 1);
    CHECK_MEM(F.payload, data, 2000);
    feed(1, 0, 1000, true, 1);
    CHECK_EQ(F.n_rx, 2);
    CHECK_MEM(F.payload, data, 2000);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 2);
    CHECK_EQ(R.st->ip->reass_held, 0);
    CHECK_EQ(pool_avail(&R.st->pool), R.st->pool.n);
    rig_close(&R);

    open_with_fake(no_slots);
    feed(1, 0, 1000, true, 1);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_NO_SLOT], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_NO_SLOT), 1);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.3.2 (EMTU_R configurable): the default reassembles
 * payloads up to reass_mem_max (32 KiB) and refuses any fragment past it;
 * the buffer for the finished datagram is sized from it. */
static void
test_emtu_r(void)
{
    open_with_fake(NULL);
    CHECK_EQ(R.st->cfg.reass_mem_max, 32768);
    CHECK_EQ(R.st->ip->reass_out_len, 60 + 32768);
    fill_pattern(data, 40000, 11);
    for (size_t off = 0; off < 32768; off += 1480) {
        size_t n = off + 1480 < 32768 ? 1480 : 32768 - off;
        feed(1, off, n, off + n < 32768, 1);
    }
    check_delivered(32768);
    feed(2, 0, 1480, true, 1);
    feed(2, 32768, 8, false, 1); /* one unit past EMTU_R */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_TOO_BIG], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_TOO_BIG), 1);
    CHECK_EQ(R.st->ip->reass_held, 1480); /* datagram 2 itself goes on */
    rig_close(&R);
}

static void
small_pool(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->pool_bytes = 3 * POOL_CHUNK;
}

/* Fragments take pool chunks as they arrive: when the pool is short, older
 * datagrams are evicted; when the fragment's own datagram is the oldest,
 * the fragment is a counted drop (and the pool counts a refused request). */
static void
test_pool_short(void)
{
    open_with_fake(small_pool);
    CHECK_EQ(R.st->pool.n, 3);
    fill_pattern(data, 8000, 12);
    feed(1, 0, 1480, true, 1);    /* 1484 bytes of log: 1 chunk */
    feed(1, 1480, 1480, true, 1); /* 2968: 2 chunks */
    CHECK_EQ(pool_avail(&R.st->pool), 1);
    feed(2, 0, 1480, true, 1); /* 1 chunk */
    CHECK_EQ(pool_avail(&R.st->pool), 0);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 0);
    feed(2, 1480, 1480, true, 1); /* needs a chunk: datagram 1 goes */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED], 1);
    CHECK_EQ(pool_avail(&R.st->pool), 1);
    feed(2, 2960, 1480, true, 1); /* 4452: a third chunk */
    CHECK_EQ(pool_avail(&R.st->pool), 0);
    uint64_t fails = tern_stack_stats(R.st)->pool.take_fail;
    feed(2, 4440, 1696, true, 1); /* 6152 > 3 chunks: none left, nothing older */
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_NO_BUFFER], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_NO_BUFFER), 1);
    CHECK_EQ(tern_stack_stats(R.st)->pool.take_fail, fails + 1);
    CHECK_EQ(tern_stack_stats(R.st)->pool.avail, 0);
    CHECK_EQ(tern_stack_stats(R.st)->pool.min_avail, 0);
    feed(2, 4440, 40, false, 1); /* a short last one fits the third chunk */
    CHECK_EQ(F.n_rx, 1);
    CHECK_EQ(F.rx.len, 4480);
    CHECK_MEM(F.payload, data, 4480);
    CHECK_EQ(tern_stack_stats(R.st)->pool.avail, 3);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.3.2 (MUST): a reassembly timeout, fixed from the
 * first fragment; on expiry the datagram is discarded and, since fragment
 * zero came, ICMP time exceeded code 1 goes to the source, quoting it
 * (RFC 792, RFC 1122 3.2.2). */
static void
test_timeout_with_first(void)
{
    open_with_fake(NULL);
    fill_pattern(data, 3000, 8);
    int64_t t0 = 5 * SEC;
    feed(7, 0, 1000, true, t0);
    CHECK_EQ(tern_stack_next_deadline(R.st), t0 + 60 * SEC);
    feed(7, 2000, 1000, false, t0 + 30 * SEC); /* does not restart the timer */
    CHECK_EQ(tern_stack_next_deadline(R.st), t0 + 60 * SEC);
    tern_stack_poll(R.st, t0 + 60 * SEC - 1);
    CHECK_EQ(R.cap.n, 0);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_TIMEOUT], 0);
    tern_stack_poll(R.st, t0 + 60 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_TIMEOUT], 1);
    CHECK_EQ(trace_drops(&R.log, TERN_DROP_REASS_TIMEOUT), 1);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_TIMER, "reassembly timer fired"), 1);
    CHECK_EQ(R.st->ip->reass_held, 0);
    CHECK_EQ(R.cap.n, 1);
    CHECK_EQ(R.st->stats.icmp.tx_error, 1);

    struct wire_ipv4 h;
    struct wire_icmp m;
    CHECK_EQ(wire_ipv4_parse(R.cap.f[0].b, R.cap.f[0].len, &h), WIRE_OK);
    CHECK_EQ(h.src, A_LOCAL);
    CHECK_EQ(h.dst, A_PEER);
    CHECK_EQ(h.proto, WIRE_IPPROTO_ICMP);
    CHECK_EQ(h.tos, 0);
    CHECK_EQ(wire_icmp_parse(h.payload, h.payload_len, &m), WIRE_OK);
    CHECK_EQ(m.type, WIRE_ICMP_TIME_EXCEEDED);
    CHECK_EQ(m.code, WIRE_ICMP_TIME_EXCEEDED_REASSEMBLY);
    CHECK_EQ(m.rest, 0);
    /* the quote: fragment 0 as it arrived, cut at 576 bytes in all */
    CHECK_EQ(R.cap.f[0].len, 576);
    size_t fn = mk_dgram(frag, A_PEER, A_LOCAL, PROTO_FAKE, 7, true, 0, data, 1000);
    CHECK(fn > m.payload_len);
    CHECK_EQ(m.payload_len, 576 - 28);
    CHECK_MEM(m.payload, frag, m.payload_len);

    /* late fragments start afresh and never complete the old datagram */
    feed(7, 1000, 1000, true, t0 + 61 * SEC);
    CHECK_EQ(F.n_rx, 0);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.3.2, RFC 792: without fragment zero no time
 * exceeded is sent; the drop is still counted. */
static void
test_timeout_without_first(void)
{
    open_with_fake(NULL);
    fill_pattern(data, 3000, 9);
    feed(8, 1000, 1000, true, 0);
    feed(8, 2000, 8, false, 0);
    tern_stack_poll(R.st, 60 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_TIMEOUT], 1);
    CHECK_EQ(R.cap.n, 0);
    CHECK_EQ(R.st->stats.icmp.tx_error, 0);
    CHECK_EQ(R.st->ip->reass_held, 0);
    CHECK_EQ(tern_stack_next_deadline(R.st), INT64_MAX);
    rig_close(&R);
}

/* EVIDENCE: RFC 1122 3.2.2: no ICMP error about a datagram sent to a
 * broadcast address, even when its fragment zero timed out. */
static void
test_timeout_broadcast_no_icmp(void)
{
    open_with_fake(NULL);
    fill_pattern(data, 100, 1);
    size_t n = mk_dgram(frag, A_PEER, A_BCAST, PROTO_FAKE, 3, true, 0, data, 80);
    input(&R, frag, n, 0);
    tern_stack_poll(R.st, 60 * SEC);
    CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_TIMEOUT], 1);
    CHECK_EQ(R.cap.n, 0);
    CHECK_EQ(trace_count(&R.log, TERN_TRACE_EVENT, "broadcast"), 1);
    rig_close(&R);
}

static struct rig R2; /* the peer that pings */

struct echo_log {
    int n;
    struct tern_echo_reply r;
    uint8_t data[4096];
};

static struct echo_log E;

static void
on_echo(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    struct echo_log *e = ctx;
    (void)now_ns;
    e->n++;
    e->r = *r;
    memcpy(e->data, r->data, r->len < sizeof(e->data) ? r->len : sizeof(e->data));
}

static void
peer_addr(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->netifs[0].addr = A_PEER;
}

static void
many_slots(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->reass_slots = 64; /* the memory cap binds before the slots */
}

static void
many_slots_small_pool(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->reass_slots = 64;
    cfg->pool_bytes = 12 * POOL_CHUNK; /* the pool binds before the cap */
}

/* Bogus fragments of datagrams that never complete, each from a new (src,
 * id) pair; the stack's bounds hold after every one. */
static void
flood(unsigned *k, int n)
{
    for (int i = 0; i < n; i++, (*k)++) {
        uint32_t src = TERN_IPV4(10, 0, 0, 3 + *k % 200);
        bool at_zero = *k % 3 == 0;
        size_t len = mk_dgram(frag, src, A_LOCAL, WIRE_IPPROTO_ICMP, (uint16_t)(*k * 7919u), true,
                              at_zero ? 0 : (uint16_t)(1480 * (1 + *k % 5)), data, 1480);
        input(&R, frag, len, 1);
        const struct tern_stats *st = tern_stack_stats(R.st);
        CHECK(R.st->ip->reass_held <= R.st->cfg.reass_mem_max);
        /* pool memory: the payload, 4 bytes a fragment, at most one
         * partly used chunk per datagram */
        uint64_t used = (st->pool.chunks - st->pool.avail) * POOL_CHUNK;
        CHECK(used <= R.st->ip->reass_held * 1484 / 1480 + R.st->ip->reass_busy * POOL_CHUNK);
    }
}

/* EVIDENCE (issue 10, item 7; our eviction rule): a flood of fragments that
 * never complete, from many (src, id) pairs, does not stop a legitimate
 * fragmented ping: the request is reassembled and answered, memory stays
 * within reass_mem_max, and the evictions are counted. Three settings: the
 * slots bind first (default), the memory cap binds, the pool binds. */
static void
test_flood_does_not_stop_ping(void)
{
    void (*edits[])(struct tern_config *, struct rig *) = {NULL, many_slots, many_slots_small_pool};
    for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
        rig_open(&R, 1500, edits[e]);
        rig_open(&R2, 1500, peer_addr);
        memset(&E, 0, sizeof(E));
        tern_icmp_set_echo_handler(R2.st, on_echo, &E);
        fill_pattern(data, 4000, 13);
        unsigned k = 0;
        flood(&k, 300); /* everything full of bogus datagrams */
        CHECK(R.st->stats.drops[TERN_DROP_REASS_EVICTED] > 0);
        /* the peer pings with 3000 bytes: three fragments */
        CHECK_EQ(tern_icmp_echo_send(R2.st, A_LOCAL, 5, 1, data, 3000, 1), TERN_OK);
        CHECK_EQ(R2.cap.n, 3);
        R.cap.n = 0;
        for (size_t i = 0; i < R2.cap.n; i++) {
            flood(&k, 3); /* the flood goes on, three times faster */
            input(&R, R2.cap.f[i].b, R2.cap.f[i].len, 1);
        }
        flood(&k, 3);
        CHECK_EQ(R.st->stats.ip.reassembled, 1);
        CHECK_EQ(R.st->stats.icmp.rx_echo_request, 1);
        CHECK_EQ(R.cap.n, 3); /* the reply, fragmented */
        for (size_t i = 0; i < R.cap.n; i++) {
            CHECK_EQ(tern_stack_input(R2.st, 0, R.cap.f[i].b, R.cap.f[i].len, 2), TERN_OK);
        }
        CHECK_EQ(E.n, 1);
        CHECK_EQ(E.r.from, A_LOCAL);
        CHECK_EQ(E.r.len, 3000);
        CHECK_MEM(E.data, data, 3000);
        /* every bogus datagram but the ones still held was evicted */
        unsigned held = R.st->ip->reass_busy;
        CHECK(held > 0);
        CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_EVICTED] + held, k);
        CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_MEMORY], 0);
        CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_NO_BUFFER], 0);
        CHECK_EQ(R.st->stats.drops[TERN_DROP_REASS_NO_SLOT], 0);
        rig_close(&R2);
        rig_close(&R);
    }
}

/* A stack freed with datagrams under reassembly (ASan: nothing leaks). */
static void
test_free_while_busy(void)
{
    open_with_fake(NULL);
    fill_pattern(data, 2000, 1);
    feed(1, 0, 1000, true, 0);
    feed(2, 1000, 1000, false, 0);
    CHECK_EQ(R.st->ip->reass_held, 2000);
    rig_close(&R);
}

int
main(void)
{
    RUN(test_orders);
    RUN(test_interleaved);
    RUN(test_first_fragment_options);
    RUN(test_overlap_and_duplicate);
    RUN(test_bad_fragments);
    RUN(test_too_long_with_options);
    RUN(test_memory_cap);
    RUN(test_slot_exhaustion);
    RUN(test_timeout_with_first);
    RUN(test_timeout_without_first);
    RUN(test_timeout_broadcast_no_icmp);
    RUN(test_emtu_r);
    RUN(test_pool_short);
    RUN(test_flood_does_not_stop_ping);
    RUN(test_free_while_busy);
    return CHECK_DONE();
}
