/*
 * tests/unit/test_wire_checksum.c: the Internet checksum (src/wire/checksum.c)
 * against RFC 1071's worked example, a plain reference loop, real packets
 * captured from the Linux kernel, and the incremental update of RFC 1624.
 *
 * The packets were captured with tcpdump in network namespaces created for
 * the purpose (a host "ternwireA", 10.99.1.1, a router, and a host
 * "ternwireB", 10.99.2.2, joined by veth pairs with checksum offload turned
 * off by ethtool so that the captured checksums are the final ones), then the
 * namespaces were deleted. Ethernet headers are stripped.
 */
#include <stdlib.h>

#include "check.h"
#include "wire/checksum.h"

/*
 * Captured with tcpdump -i twA in netns "ternwireA" (ping -c1 10.99.2.2),
 * the IPv4 header only:
 *   IP (tos 0x0, ttl 64, id 54408, offset 0, flags [DF], proto ICMP (1), length 84)
 *   10.99.1.1 > 10.99.2.2: ICMP echo request, id 5490, seq 1, length 64
 */
static const uint8_t ip_hdr_echo[20] = {
    0x45, 0x00, 0x00, 0x54, 0xd4, 0x88, 0x40, 0x00, 0x40, 0x01,
    0x4e, 0x58, 0x0a, 0x63, 0x01, 0x01, 0x0a, 0x63, 0x02, 0x02,
};

/*
 * Captured with tcpdump -i twA in netns "ternwireA" (nc 10.99.2.2 8080), the
 * TCP segment of this IPv4 packet (header stripped):
 *   IP (tos 0x0, ttl 64, id 58287, offset 0, flags [DF], proto TCP (6), length 60)
 *   10.99.1.1.53268 > 10.99.2.2.8080: Flags [S], cksum 0x52a8 (correct), seq 3400756198,
 *       win 64480, options [mss 1240,sackOK,TS val 2194356605 ecr 0,nop,wscale 10], length 0
 */
static const uint8_t tcp_syn[40] = {
    0xd0, 0x14, 0x1f, 0x90, 0xca, 0xb3, 0x6b, 0xe6, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfb, 0xe0, 0x52, 0xa8, 0x00, 0x00, 0x02, 0x04, 0x04, 0xd8, 0x04, 0x02, 0x08, 0x0a,
    0x82, 0xcb, 0x39, 0x7d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};
#define SYN_SRC 0x0a630101u /* 10.99.1.1 */
#define SYN_DST 0x0a630202u /* 10.99.2.2 */

/* Deterministic xorshift32, so failures reproduce. */
static uint32_t rng_state = 0x7e57c0deu;

static uint32_t
rnd(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

/* The textbook loop of RFC 1071 4.1: 16 bits at a time, big-endian. */
static uint16_t
naive_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    while (len > 1) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
        if (sum & 0x80000000u) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
    }
    if (len) {
        sum += (uint32_t)p[0] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/* EVIDENCE: RFC 1071 3 numerical example: sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2 */
static void
test_rfc1071_example(void)
{
    static const uint8_t data[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint32_t sum = wire_csum_add(0, data, sizeof data);
    CHECK_EQ(wire_csum_fold(sum), (uint16_t)~0xddf2);
    CHECK_EQ(wire_csum(data, sizeof data), 0x220d);
    /* The same sum from two 4-byte chunks. */
    CHECK_EQ(wire_csum_fold(wire_csum_add(wire_csum_add(0, data, 4), data + 4, 4)), 0x220d);
}

/* EVIDENCE: RFC 1071 1 (verification: the sum including the checksum is all ones) */
static void
test_real_ipv4_header(void)
{
    CHECK_EQ(wire_csum(ip_hdr_echo, sizeof ip_hdr_echo), 0);
    uint8_t h[20];
    memcpy(h, ip_hdr_echo, sizeof h);
    h[10] = h[11] = 0;
    CHECK_EQ(wire_csum(h, sizeof h), 0x4e58);
    h[8] ^= 1; /* any change breaks verification */
    h[10] = 0x4e;
    h[11] = 0x58;
    CHECK(wire_csum(h, sizeof h) != 0);
}

/* EVIDENCE: RFC 9293 3.1 pseudo-header (source, destination, zero, PTCL, TCP length) */
static void
test_real_tcp_pseudo_header(void)
{
    uint32_t sum = wire_csum_pseudo_v4(SYN_SRC, SYN_DST, 6, sizeof tcp_syn);
    CHECK_EQ(wire_csum_fold(wire_csum_add(sum, tcp_syn, sizeof tcp_syn)), 0);
    /* Recompute the stored value with the field zeroed. */
    uint8_t seg[40];
    memcpy(seg, tcp_syn, sizeof seg);
    seg[16] = seg[17] = 0;
    CHECK_EQ(wire_csum_fold(wire_csum_add(sum, seg, sizeof seg)), 0x52a8);
    /* The pseudo-header as 12 explicit bytes gives the same partial sum. */
    static const uint8_t ph[12] = {10, 99, 1, 1, 10, 99, 2, 2, 0, 6, 0, 40};
    CHECK_EQ(wire_csum_fold(wire_csum_add(0, ph, 12)), wire_csum_fold(sum));
    /* Wrong addresses or length break it. */
    sum = wire_csum_pseudo_v4(SYN_SRC, SYN_DST + 1, 6, sizeof tcp_syn);
    CHECK(wire_csum_fold(wire_csum_add(sum, tcp_syn, sizeof tcp_syn)) != 0);
    sum = wire_csum_pseudo_v4(SYN_SRC, SYN_DST, 6, sizeof tcp_syn + 2);
    CHECK(wire_csum_fold(wire_csum_add(sum, tcp_syn, sizeof tcp_syn)) != 0);
}

/* EVIDENCE: RFC 1071 1 odd byte padded with zero; every length and alignment */
static void
test_lengths_and_alignments(void)
{
    static uint8_t buf[600];
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)rnd();
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len + off <= 520; len++) {
            CHECK_EQ(wire_csum(buf + off, len), naive_csum(buf + off, len));
        }
    }
    static const uint8_t one = 0xab;
    CHECK_EQ(wire_csum(&one, 1), (uint16_t)~0xab00);
    CHECK_EQ(wire_csum(NULL, 0), 0xffff);
}

/* All-ones and all-zero data stress the carries and the two zeros. */
static void
test_extreme_data(void)
{
    size_t n = 1u << 20;
    uint8_t *p = malloc(n + 1);
    CHECK(p != NULL);
    if (!p) {
        return;
    }
    memset(p, 0xff, n + 1);
    for (size_t len = n - 9; len <= n + 1; len++) {
        CHECK_EQ(wire_csum(p, len), naive_csum(p, len));
    }
    memset(p, 0, n + 1);
    CHECK_EQ(wire_csum(p, n + 1), 0xffff);
    for (size_t i = 0; i < n + 1; i++) {
        p[i] = (uint8_t)rnd();
    }
    CHECK_EQ(wire_csum(p, n + 1), naive_csum(p, n + 1));
    free(p);
}

/* EVIDENCE: RFC 1071 2 (A)-(B): sums of parts add up; even-length chunks chain */
static void
test_chaining(void)
{
    static uint8_t buf[301];
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)rnd();
    }
    uint16_t whole = wire_csum(buf, sizeof buf);
    for (size_t a = 0; a <= sizeof buf; a += 2) {
        for (size_t b = a; b <= sizeof buf; b += 14) {
            uint32_t s = wire_csum_add(0, buf, a);
            s = wire_csum_add(s, buf + a, b - a);
            s = wire_csum_add(s, buf + b, sizeof buf - b);
            CHECK_EQ(wire_csum_fold(s), whole);
        }
    }
    /* Any starting partial sum is accepted, even one with high bits set. */
    CHECK_EQ(wire_csum_fold(wire_csum_add(0xffffffffu, buf, 10)),
             wire_csum_fold(wire_csum_add(0xffff, buf, 10)));
    CHECK_EQ(wire_csum_fold(wire_csum_add(0x12345678u, NULL, 0)), wire_csum_fold(0x12345678u));
}

/* EVIDENCE: RFC 1071 2 (C) end-around carry folding */
static void
test_fold(void)
{
    CHECK_EQ(wire_csum_fold(0), 0xffff);
    CHECK_EQ(wire_csum_fold(0xffff), 0);
    CHECK_EQ(wire_csum_fold(0x1fffe), 0);
    CHECK_EQ(wire_csum_fold(0xffffffffu), 0);
    CHECK_EQ(wire_csum_fold(0x2ddf0), (uint16_t)~0xddf2);
}

/* EVIDENCE: RFC 1624 4 example (0xDD2F, m 0x5555 -> 0x3285 gives 0x0000) */
static void
test_rfc1624_example(void)
{
    CHECK_EQ(wire_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    /* The same from scratch: the rest of the header sums to 0xCD7A. */
    static const uint8_t before[4] = {0xcd, 0x7a, 0x55, 0x55};
    static const uint8_t after[4] = {0xcd, 0x7a, 0x32, 0x85};
    CHECK_EQ(wire_csum(before, 4), 0xdd2f);
    CHECK_EQ(wire_csum(after, 4), 0x0000);
}

/* EVIDENCE: RFC 1624 3 eqn. 3 equals recomputation (TTL decrement and random words) */
static void
test_incremental_matches_full(void)
{
    /* A router's TTL decrement on the real header: the TTL/protocol word. */
    uint8_t h[20];
    memcpy(h, ip_hdr_echo, sizeof h);
    uint16_t old_word = (uint16_t)(h[8] << 8 | h[9]);
    h[8]--;
    uint16_t new_word = (uint16_t)(h[8] << 8 | h[9]);
    uint16_t inc = wire_csum_update16(0x4e58, old_word, new_word);
    h[10] = h[11] = 0;
    CHECK_EQ(inc, wire_csum(h, sizeof h));
    CHECK_EQ(inc, 0x4f58);

    for (int iter = 0; iter < 100000; iter++) {
        for (size_t i = 0; i < sizeof h; i++) {
            h[i] = (uint8_t)rnd();
        }
        h[0] = 0x45; /* a header is never all zero */
        h[10] = h[11] = 0;
        uint16_t cs = wire_csum(h, sizeof h);
        size_t w = 2 * (rnd() % 10);
        if (w == 10) {
            continue; /* the checksum field itself */
        }
        uint16_t ow = (uint16_t)(h[w] << 8 | h[w + 1]);
        uint16_t nw = (uint16_t)rnd();
        if (iter % 7 == 0) {
            nw = (uint16_t)~ow; /* drive sums through 0xffff */
        }
        h[w] = (uint8_t)(nw >> 8);
        h[w + 1] = (uint8_t)nw;
        uint16_t full = wire_csum(h, sizeof h);
        CHECK_EQ(wire_csum_update16(cs, ow, nw), full);
        /* And the updated header verifies. */
        h[10] = (uint8_t)(full >> 8);
        h[11] = (uint8_t)full;
        CHECK_EQ(wire_csum(h, sizeof h), 0);
    }
}

int
main(void)
{
    RUN(test_rfc1071_example);
    RUN(test_real_ipv4_header);
    RUN(test_real_tcp_pseudo_header);
    RUN(test_lengths_and_alignments);
    RUN(test_extreme_data);
    RUN(test_chaining);
    RUN(test_fold);
    RUN(test_rfc1624_example);
    RUN(test_incremental_matches_full);
    return CHECK_DONE();
}
