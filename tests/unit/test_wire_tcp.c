/*
 * tests/unit/test_wire_tcp.c: TCP header and option parse and emit
 * (src/wire/tcp.c).
 *
 * The packets below are real: captured with tcpdump from the Linux kernel in
 * network namespaces created for the capture and deleted afterwards.
 * ternwireA (10.99.1.1) reached ternwireB (10.99.2.2) through a router netns
 * (10.99.1.2 / 10.99.2.1) over veth pairs with checksum offload off
 * (ethtool -K tx off), so the captured checksums are the final ones. Netns
 * "ternwire" had only its loopback, where offload cannot be turned off.
 * Each array is a whole IPv4 packet; the tests take the segment and the
 * addresses for the pseudo-header out of it with wire_ipv4_parse().
 */
#include <stdlib.h>

#include "check.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/wire.h"

/*
 * From ternwireA: printf 'hello, tern\n' | nc 10.99.2.2 8080, to nc -l in ternwireB.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 64, id 58287, offset 0, flags [DF], proto TCP (6), length 60)
 *   10.99.1.1.53268 > 10.99.2.2.8080: Flags [S], cksum 0x52a8 (correct), seq 3400756198, win
 *       64480, options [mss 1240,sackOK,TS val 2194356605 ecr 0,nop,wscale 10], length 0
 */
static const uint8_t pkt_syn[60] = {
    0x45, 0x00, 0x00, 0x3c, 0xe3, 0xaf, 0x40, 0x00, 0x40, 0x06, 0x3f, 0x44, 0x0a, 0x63, 0x01,
    0x01, 0x0a, 0x63, 0x02, 0x02, 0xd0, 0x14, 0x1f, 0x90, 0xca, 0xb3, 0x6b, 0xe6, 0x00, 0x00,
    0x00, 0x00, 0xa0, 0x02, 0xfb, 0xe0, 0x52, 0xa8, 0x00, 0x00, 0x02, 0x04, 0x04, 0xd8, 0x04,
    0x02, 0x08, 0x0a, 0x82, 0xcb, 0x39, 0x7d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

/*
 * From ternwireA: printf 'hello, tern\n' | nc 10.99.2.2 8080, to nc -l in ternwireB.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 63, id 0, offset 0, flags [DF], proto TCP (6), length 60)
 *   10.99.2.2.8080 > 10.99.1.1.53268: Flags [S.], cksum 0xe863 (correct), seq 2157370795, ack
 *       3400756199, win 65084, options [mss 1240,sackOK,TS val 2819711363 ecr
 *       2194356605,nop,wscale 10], length 0
 */
static const uint8_t pkt_synack[60] = {
    0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x3f, 0x06, 0x23, 0xf4, 0x0a, 0x63, 0x02,
    0x02, 0x0a, 0x63, 0x01, 0x01, 0x1f, 0x90, 0xd0, 0x14, 0x80, 0x96, 0xdd, 0xab, 0xca, 0xb3,
    0x6b, 0xe7, 0xa0, 0x12, 0xfe, 0x3c, 0xe8, 0x63, 0x00, 0x00, 0x02, 0x04, 0x04, 0xd8, 0x04,
    0x02, 0x08, 0x0a, 0xa8, 0x11, 0x61, 0x83, 0x82, 0xcb, 0x39, 0x7d, 0x01, 0x03, 0x03, 0x0a,
};

/*
 * From ternwireA: printf 'hello, tern\n' | nc 10.99.2.2 8080, to nc -l in ternwireB.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 64, id 58288, offset 0, flags [DF], proto TCP (6), length 52)
 *   10.99.1.1.53268 > 10.99.2.2.8080: Flags [.], cksum 0x1454 (correct), seq 3400756199, ack
 *       2157370796, win 63, options [nop,nop,TS val 2194356606 ecr 2819711363], length 0
 */
static const uint8_t pkt_ack[52] = {
    0x45, 0x00, 0x00, 0x34, 0xe3, 0xb0, 0x40, 0x00, 0x40, 0x06, 0x3f, 0x4b, 0x0a,
    0x63, 0x01, 0x01, 0x0a, 0x63, 0x02, 0x02, 0xd0, 0x14, 0x1f, 0x90, 0xca, 0xb3,
    0x6b, 0xe7, 0x80, 0x96, 0xdd, 0xac, 0x80, 0x10, 0x00, 0x3f, 0x14, 0x54, 0x00,
    0x00, 0x01, 0x01, 0x08, 0x0a, 0x82, 0xcb, 0x39, 0x7e, 0xa8, 0x11, 0x61, 0x83,
};

/*
 * From ternwireA: printf 'hello, tern\n' | nc 10.99.2.2 8080, to nc -l in ternwireB.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 64, id 58289, offset 0, flags [DF], proto TCP (6), length 64)
 *   10.99.1.1.53268 > 10.99.2.2.8080: Flags [P.], cksum 0xdc50 (correct), seq
 *       3400756199:3400756211, ack 2157370796, win 63, options [nop,nop,TS val 2194356606 ecr
 *       2819711363], length 12: HTTP
 */
static const uint8_t pkt_data[64] = {
    0x45, 0x00, 0x00, 0x40, 0xe3, 0xb1, 0x40, 0x00, 0x40, 0x06, 0x3f, 0x3e, 0x0a, 0x63, 0x01, 0x01,
    0x0a, 0x63, 0x02, 0x02, 0xd0, 0x14, 0x1f, 0x90, 0xca, 0xb3, 0x6b, 0xe7, 0x80, 0x96, 0xdd, 0xac,
    0x80, 0x18, 0x00, 0x3f, 0xdc, 0x50, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x82, 0xcb, 0x39, 0x7e,
    0xa8, 0x11, 0x61, 0x83, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x74, 0x65, 0x72, 0x6e, 0x0a,
};

/*
 * From ternwireA: nc 10.99.2.2 8081 < 300 kB of random bytes, while an nftables rule on the
 * router dropped every 7th large segment; an ACK from ternwireB with three SACK blocks.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 63, id 35863, offset 0, flags [DF], proto TCP (6), length 80)
 *   10.99.2.2.8081 > 10.99.1.1.49486: Flags [.], cksum 0x4787 (correct), seq 2604952599, ack
 *       2857083805, win 65, options [nop,nop,TS val 3442345643 ecr 3680943758,nop,nop,sack 3
 *       {2857102645:2857103873}{2857093629:2857101417}{2857085033:2857092401}], length 0
 */
static const uint8_t pkt_sack[80] = {
    0x45, 0x00, 0x00, 0x50, 0x8c, 0x17, 0x40, 0x00, 0x3f, 0x06, 0x97, 0xc8, 0x0a, 0x63, 0x02, 0x02,
    0x0a, 0x63, 0x01, 0x01, 0x1f, 0x91, 0xc1, 0x4e, 0x9b, 0x44, 0x6c, 0x17, 0xaa, 0x4b, 0xa3, 0x9d,
    0xf0, 0x10, 0x00, 0x41, 0x47, 0x87, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xcd, 0x2e, 0x06, 0xab,
    0xdb, 0x66, 0xbe, 0x8e, 0x01, 0x01, 0x05, 0x1a, 0xaa, 0x4b, 0xed, 0x35, 0xaa, 0x4b, 0xf2, 0x01,
    0xaa, 0x4b, 0xc9, 0xfd, 0xaa, 0x4b, 0xe8, 0x69, 0xaa, 0x4b, 0xa8, 0x69, 0xaa, 0x4b, 0xc5, 0x31,
};

/*
 * From ternwireA: nc -z 10.99.2.2 8082 (closed port); the RST from ternwireB.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 63, id 0, offset 0, flags [DF], proto TCP (6), length 40)
 *   10.99.2.2.8082 > 10.99.1.1.34350: Flags [R.], cksum 0xa476 (correct), seq 0, ack
 *       3716378701, win 0, length 0
 */
static const uint8_t pkt_rst[40] = {
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x3f, 0x06, 0x24, 0x08, 0x0a, 0x63,
    0x02, 0x02, 0x0a, 0x63, 0x01, 0x01, 0x1f, 0x92, 0x86, 0x2e, 0x00, 0x00, 0x00, 0x00,
    0xdd, 0x83, 0x70, 0x4d, 0x50, 0x14, 0x00, 0x00, 0xa4, 0x76, 0x00, 0x00,
};

/*
 * In netns "ternwire": nc 127.0.0.1 8080. On loopback Linux leaves the TCP checksum partial
 * (checksum offload: only the pseudo-header sum is filled in), so these real bytes do NOT
 * verify.
 * Captured on the loopback of netns ternwire; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 64, id 6545, offset 0, flags [DF], proto TCP (6), length 60)
 *   127.0.0.1.51568 > 127.0.0.1.8080: Flags [S], cksum 0xfe30 (incorrect -> 0xec7c), seq
 *       1708758550, win 65495, options [mss 65495,sackOK,TS val 1885146676 ecr 0,nop,wscale
 *       10], length 0
 */
static const uint8_t pkt_lo_syn[60] = {
    0x45, 0x00, 0x00, 0x3c, 0x19, 0x91, 0x40, 0x00, 0x40, 0x06, 0x23, 0x29, 0x7f, 0x00, 0x00,
    0x01, 0x7f, 0x00, 0x00, 0x01, 0xc9, 0x70, 0x1f, 0x90, 0x65, 0xd9, 0x96, 0x16, 0x00, 0x00,
    0x00, 0x00, 0xa0, 0x02, 0xff, 0xd7, 0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04,
    0x02, 0x08, 0x0a, 0x70, 0x5d, 0x0e, 0x34, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

#define A_1_1 0x0a630101u /* 10.99.1.1 */
#define A_2_2 0x0a630202u /* 10.99.2.2 */

struct packet {
    const char *name;
    const uint8_t *bytes;
    size_t len;
};

#define PKT(a)                                                                                     \
    {                                                                                              \
#a, a, sizeof a                                                                            \
    }
/* The captures whose checksum verifies (not pkt_lo_syn). */
static const struct packet packets[] = {
    PKT(pkt_syn), PKT(pkt_synack), PKT(pkt_ack), PKT(pkt_data), PKT(pkt_sack), PKT(pkt_rst),
};
#define NPACKETS (sizeof packets / sizeof packets[0])

/* The TCP segment inside a captured IPv4 packet, and its addresses. */
struct seg {
    const uint8_t *bytes;
    size_t len;
    uint32_t src, dst;
};

static struct seg
seg_of(const uint8_t *pkt, size_t len)
{
    struct wire_ipv4 ip;
    struct seg s = {0};
    if (wire_ipv4_parse(pkt, len, &ip) == WIRE_OK && ip.proto == WIRE_IPPROTO_TCP) {
        s.bytes = ip.payload;
        s.len = ip.payload_len;
        s.src = ip.src;
        s.dst = ip.dst;
    }
    return s;
}

/* Parses a copy in a heap block of exactly len bytes (ASan catches overreads). */
static enum wire_err
parse_exact(const uint8_t *p, size_t len, uint32_t src, uint32_t dst)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return WIRE_ERR_COUNT;
    }
    if (len) {
        memcpy(copy, p, len);
    }
    struct wire_tcp h;
    enum wire_err err = wire_tcp_parse(copy, len, src, dst, &h);
    free(copy);
    return err;
}

static enum wire_err
parse_opts_exact(const uint8_t *p, size_t len, struct wire_tcp_opts *o)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return WIRE_ERR_COUNT;
    }
    if (len) {
        memcpy(copy, p, len);
    }
    enum wire_err err = wire_tcp_parse_options(copy, len, o);
    free(copy);
    return err;
}

/* Recomputes the checksum of a segment a test edited (10.99.1.1 -> 10.99.2.2). */
static void
fix_csum(uint8_t *s, size_t len)
{
    s[16] = s[17] = 0;
    uint32_t sum = wire_csum_pseudo_v4(A_1_1, A_2_2, WIRE_IPPROTO_TCP, (uint16_t)len);
    uint16_t c = wire_csum_fold(wire_csum_add(sum, s, len));
    s[16] = (uint8_t)(c >> 8);
    s[17] = (uint8_t)c;
}

/* A segment with the real SYN's fixed header, the given raw option bytes
 * (optlen a multiple of 4) and no data, checksum fixed. Returns its length. */
static size_t
make_seg(uint8_t *buf, const uint8_t *opts, size_t optlen)
{
    struct seg syn = seg_of(pkt_syn, sizeof pkt_syn);
    memcpy(buf, syn.bytes, WIRE_TCP_HDR_LEN);
    memcpy(buf + WIRE_TCP_HDR_LEN, opts, optlen);
    size_t len = WIRE_TCP_HDR_LEN + optlen;
    buf[12] = (uint8_t)(len / 4 << 4);
    fix_csum(buf, len);
    return len;
}

static enum wire_err
parse_with_options(const uint8_t *opts, size_t optlen)
{
    uint8_t buf[60];
    size_t len = make_seg(buf, opts, optlen);
    return parse_exact(buf, len, A_1_1, A_2_2);
}

/* EVIDENCE: RFC 9293 3.1 header; RFC 9293 3.2 MSS; RFC 7323 2.2, 3.2; RFC 2018 2 */
static void
test_parse_syn(void)
{
    struct seg s = seg_of(pkt_syn, sizeof pkt_syn);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
    CHECK_EQ(h.src_port, 53268);
    CHECK_EQ(h.dst_port, 8080);
    CHECK_EQ(h.seq, 3400756198u);
    CHECK_EQ(h.ack, 0);
    CHECK_EQ(h.hdr_len, 40);
    CHECK_EQ(h.flags, WIRE_TCP_SYN);
    CHECK_EQ(h.window, 64480);
    CHECK_EQ(h.checksum, 0x52a8);
    CHECK_EQ(h.urgent, 0);
    CHECK(h.opts.has_mss);
    CHECK_EQ(h.opts.mss, 1240);
    CHECK(h.opts.sack_permitted);
    CHECK(h.opts.has_ts);
    CHECK_EQ(h.opts.ts_val, 2194356605u);
    CHECK_EQ(h.opts.ts_ecr, 0);
    CHECK(h.opts.has_wscale);
    CHECK_EQ(h.opts.wscale, 10);
    CHECK_EQ(h.opts.sack_count, 0);
    CHECK(h.payload == s.bytes + 40);
    CHECK_EQ(h.payload_len, 0);
}

/* EVIDENCE: RFC 9293 3.5 Fig. 6 line 3: <SEQ=300><ACK=101><CTL=SYN,ACK> */
static void
test_parse_synack(void)
{
    struct seg s = seg_of(pkt_synack, sizeof pkt_synack);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
    CHECK_EQ(h.src_port, 8080);
    CHECK_EQ(h.dst_port, 53268);
    CHECK_EQ(h.seq, 2157370795u);
    CHECK_EQ(h.ack, 3400756199u); /* the SYN's seq + 1 */
    CHECK_EQ(h.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    CHECK_EQ(h.window, 65084);
    CHECK_EQ(h.opts.mss, 1240);
    CHECK(h.opts.sack_permitted);
    CHECK_EQ(h.opts.ts_val, 2819711363u);
    CHECK_EQ(h.opts.ts_ecr, 2194356605u); /* echoes the SYN's TSval */
    CHECK_EQ(h.opts.wscale, 10);
}

/* EVIDENCE: RFC 9293 3.1 data offset, PSH; RFC 7323 3.2 timestamps on every segment */
static void
test_parse_ack_and_data(void)
{
    struct seg s = seg_of(pkt_ack, sizeof pkt_ack);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
    CHECK_EQ(h.flags, WIRE_TCP_ACK);
    CHECK_EQ(h.hdr_len, 32);
    CHECK_EQ(h.window, 63);
    CHECK(!h.opts.has_mss && !h.opts.has_wscale && !h.opts.sack_permitted);
    CHECK(h.opts.has_ts);
    CHECK_EQ(h.opts.ts_val, 2194356606u);
    CHECK_EQ(h.opts.ts_ecr, 2819711363u);
    CHECK_EQ(h.payload_len, 0);

    s = seg_of(pkt_data, sizeof pkt_data);
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
    CHECK_EQ(h.flags, WIRE_TCP_PSH | WIRE_TCP_ACK);
    CHECK_EQ(h.seq, 3400756199u);
    CHECK_EQ(h.ack, 2157370796u);
    CHECK_EQ(h.hdr_len, 32);
    CHECK_EQ(h.payload_len, 12);
    CHECK(h.payload == s.bytes + 32);
    CHECK_MEM(h.payload, "hello, tern\n", 12);
}

/* EVIDENCE: RFC 2018 3 SACK option: blocks of left and right edge, most recent first */
static void
test_parse_sack(void)
{
    struct seg s = seg_of(pkt_sack, sizeof pkt_sack);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
    CHECK_EQ(h.src_port, 8081);
    CHECK_EQ(h.seq, 2604952599u);
    CHECK_EQ(h.ack, 2857083805u);
    CHECK_EQ(h.hdr_len, 60);
    CHECK(h.opts.has_ts);
    CHECK_EQ(h.opts.ts_val, 3442345643u);
    CHECK_EQ(h.opts.ts_ecr, 3680943758u);
    CHECK_EQ(h.opts.sack_count, 3);
    CHECK_EQ(h.opts.sack[0].left, 2857102645u);
    CHECK_EQ(h.opts.sack[0].right, 2857103873u);
    CHECK_EQ(h.opts.sack[1].left, 2857093629u);
    CHECK_EQ(h.opts.sack[1].right, 2857101417u);
    CHECK_EQ(h.opts.sack[2].left, 2857085033u);
    CHECK_EQ(h.opts.sack[2].right, 2857092401u);
}

/* EVIDENCE: RFC 9293 3.10.7.1 CLOSED: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
static void
test_parse_rst(void)
{
    struct seg s = seg_of(pkt_rst, sizeof pkt_rst);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
    CHECK_EQ(h.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
    CHECK_EQ(h.seq, 0);
    CHECK_EQ(h.ack, 3716378701u);
    CHECK_EQ(h.window, 0);
    CHECK_EQ(h.hdr_len, 20);
    CHECK_EQ(wire_tcp_options_len(&h.opts), 0);
}

/* EVIDENCE: RFC 9293 3.1 (MUST-3) the receiver checks the checksum: Linux loopback
 * leaves it partial (offload), so this real SYN must be refused */
static void
test_loopback_partial_checksum(void)
{
    struct seg s = seg_of(pkt_lo_syn, sizeof pkt_lo_syn);
    CHECK(s.bytes != NULL);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_ERR_TCP_CHECKSUM);
    /* The field holds only the folded pseudo-header sum, not its complement. */
    uint16_t field = (uint16_t)(s.bytes[16] << 8 | s.bytes[17]);
    uint32_t ph = wire_csum_pseudo_v4(s.src, s.dst, WIRE_IPPROTO_TCP, (uint16_t)s.len);
    CHECK_EQ(field, (uint16_t)~wire_csum_fold(ph));
    /* The options still parse on their own. */
    struct wire_tcp_opts o;
    CHECK_EQ(wire_tcp_parse_options(s.bytes + 20, 20, &o), WIRE_OK);
    CHECK_EQ(o.mss, 65495);
}

/* Emit gives back the captured bytes: Linux's option layout is ours. */
static void
test_emit_identical(void)
{
    for (size_t i = 0; i < NPACKETS; i++) {
        struct seg s = seg_of(packets[i].bytes, packets[i].len);
        struct wire_tcp h;
        CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
        CHECK_EQ(wire_tcp_emit_len(&h), s.len);
        CHECK_EQ(wire_tcp_options_len(&h.opts), h.hdr_len - 20u);
        uint8_t out[128];
        memset(out, 0x5a, sizeof out);
        CHECK_EQ(wire_tcp_emit(&h, s.src, s.dst, out, sizeof out), s.len);
        CHECK_MEM(out, s.bytes, s.len);
        CHECK_EQ(out[s.len], 0x5a); /* exactly emit_len bytes */

        /* In place: the payload already where it goes. */
        memset(out, 0, sizeof out);
        memcpy(out + h.hdr_len, h.payload, h.payload_len);
        h.payload = out + h.hdr_len;
        CHECK_EQ(wire_tcp_emit(&h, s.src, s.dst, out, s.len), s.len);
        CHECK_MEM(out, s.bytes, s.len);
    }
}

/* The payload may overlap the header being written. */
static void
test_emit_overlapping_payload(void)
{
    uint8_t buf[64];
    for (int i = 0; i < 64; i++) {
        buf[i] = (uint8_t)i;
    }
    struct wire_tcp h = {.src_port = 1, .dst_port = 2, .flags = WIRE_TCP_ACK};
    h.opts.has_ts = true; /* header of 32 bytes */
    h.payload = buf + 20; /* bytes 20..39 move to 32..51 */
    h.payload_len = 20;
    CHECK_EQ(wire_tcp_emit(&h, A_1_1, A_2_2, buf, sizeof buf), 52);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(buf[32 + i], 20 + i);
    }
    struct wire_tcp b;
    CHECK_EQ(wire_tcp_parse(buf, 52, A_1_1, A_2_2, &b), WIRE_OK);
    CHECK_EQ(b.payload_len, 20);
}

static size_t
expected_sack_fit(const struct wire_tcp_opts *o)
{
    size_t used = (o->has_mss ? 4 : 0) + (o->has_wscale ? 4 : 0) +
                  (o->has_ts           ? 12
                   : o->sack_permitted ? 4
                                       : 0);
    size_t room = used + 12 <= 40 ? (40 - used - 4) / 8 : 0;
    return o->sack_count < room ? o->sack_count : room;
}

/* EVIDENCE: RFC 9293 3.1 options in 40 bytes; RFC 2018 3 SACK blocks that do not fit
 * are left out; every option combination survives emit then parse */
static void
test_emit_parse_all_option_combinations(void)
{
    static const uint8_t data[5] = {'t', 'e', 'r', 'n', '!'};
    int combos = 0;
    for (unsigned bits = 0; bits < 16; bits++) {
        for (uint8_t nsack = 0; nsack <= 4; nsack++) {
            for (size_t plen = 0; plen <= sizeof data; plen += sizeof data) {
                struct wire_tcp h = {
                    .src_port = 40000,
                    .dst_port = 80,
                    .seq = 0xfffffff0u + bits,
                    .ack = 0x01020304u * nsack,
                    .flags = (uint8_t)(WIRE_TCP_ACK | bits),
                    .window = (uint16_t)(1000 + bits),
                    .urgent = (uint16_t)(bits & WIRE_TCP_URG ? 3 : 0),
                };
                h.opts.has_mss = bits & 1;
                h.opts.mss = 1460;
                h.opts.has_wscale = bits & 2;
                h.opts.wscale = 14;
                h.opts.sack_permitted = bits & 4;
                h.opts.has_ts = bits & 8;
                h.opts.ts_val = 0x11223344u;
                h.opts.ts_ecr = 0x55667788u;
                h.opts.sack_count = nsack;
                for (uint32_t k = 0; k < 4; k++) {
                    h.opts.sack[k].left = 1000 * (k + 1);
                    h.opts.sack[k].right = 1000 * (k + 1) + 500;
                }
                h.payload = data;
                h.payload_len = plen;

                size_t olen = wire_tcp_options_len(&h.opts);
                CHECK(olen <= WIRE_TCP_MAX_OPT_LEN);
                CHECK_EQ(olen % 4, 0);
                uint8_t buf[80];
                size_t n = wire_tcp_emit(&h, A_1_1, A_2_2, buf, sizeof buf);
                CHECK_EQ(n, 20 + olen + plen);
                CHECK_EQ(n, wire_tcp_emit_len(&h));

                struct wire_tcp b;
                CHECK_EQ(wire_tcp_parse(buf, n, A_1_1, A_2_2, &b), WIRE_OK);
                CHECK_EQ(b.src_port, h.src_port);
                CHECK_EQ(b.dst_port, h.dst_port);
                CHECK_EQ(b.seq, h.seq);
                CHECK_EQ(b.ack, h.ack);
                CHECK_EQ(b.hdr_len, 20 + olen);
                CHECK_EQ(b.flags, h.flags);
                CHECK_EQ(b.window, h.window);
                CHECK_EQ(b.urgent, h.urgent);
                CHECK_EQ(b.opts.has_mss, h.opts.has_mss);
                CHECK_EQ(b.opts.mss, h.opts.has_mss ? 1460 : 0);
                CHECK_EQ(b.opts.has_wscale, h.opts.has_wscale);
                CHECK_EQ(b.opts.wscale, h.opts.has_wscale ? 14 : 0);
                CHECK_EQ(b.opts.sack_permitted, h.opts.sack_permitted);
                CHECK_EQ(b.opts.has_ts, h.opts.has_ts);
                CHECK_EQ(b.opts.ts_val, h.opts.has_ts ? h.opts.ts_val : 0);
                CHECK_EQ(b.opts.ts_ecr, h.opts.has_ts ? h.opts.ts_ecr : 0);
                size_t fit = expected_sack_fit(&h.opts);
                CHECK_EQ(b.opts.sack_count, fit);
                for (size_t k = 0; k < fit; k++) {
                    CHECK_EQ(b.opts.sack[k].left, h.opts.sack[k].left);
                    CHECK_EQ(b.opts.sack[k].right, h.opts.sack[k].right);
                }
                CHECK_EQ(b.payload_len, plen);
                CHECK_MEM(b.payload, data, plen);
                combos++;
            }
        }
    }
    CHECK_EQ(combos, 16 * 5 * 2);
    /* The fullest SYN: MSS, SACK-permitted + TS, WS is 20 bytes; a data
     * segment with TS keeps 3 SACK blocks, without TS all 4. */
    struct wire_tcp_opts o = {
        .has_mss = true, .sack_permitted = true, .has_ts = true, .has_wscale = true};
    CHECK_EQ(wire_tcp_options_len(&o), 20);
    struct wire_tcp_opts d = {.has_ts = true, .sack_count = 4};
    CHECK_EQ(wire_tcp_options_len(&d), 40);
    d.has_ts = false;
    CHECK_EQ(wire_tcp_options_len(&d), 36);
    d.sack_count = 200; /* more than a SACK option can hold */
    CHECK_EQ(wire_tcp_options_len(&d), 36);
}

/* Emit with too little room writes nothing. */
static void
test_emit_capacity(void)
{
    struct seg s = seg_of(pkt_data, sizeof pkt_data);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, s.len, s.src, s.dst, &h), WIRE_OK);
    uint8_t buf[64];
    memset(buf, 0x77, sizeof buf);
    CHECK_EQ(wire_tcp_emit(&h, s.src, s.dst, buf, s.len - 1), 0);
    for (size_t i = 0; i < sizeof buf; i++) {
        CHECK_EQ(buf[i], 0x77);
    }
    CHECK_EQ(wire_tcp_emit(&h, s.src, s.dst, buf, 0), 0);
    CHECK_EQ(wire_tcp_emit(&h, s.src, s.dst, buf, s.len), s.len);
    /* Longer than the pseudo-header length can say. */
    h.payload_len = 65535 - 32 + 1;
    CHECK_EQ(wire_tcp_emit(&h, s.src, s.dst, buf, (size_t)-1), 0);
}

/* Cutting any real segment short is an error, never a read past the end. */
static void
test_truncation_every_length(void)
{
    for (size_t i = 0; i < NPACKETS; i++) {
        struct seg s = seg_of(packets[i].bytes, packets[i].len);
        CHECK_EQ(parse_exact(s.bytes, s.len, s.src, s.dst), WIRE_OK);
        size_t doff = (size_t)(s.bytes[12] >> 4) * 4;
        for (size_t n = 0; n < s.len; n++) {
            enum wire_err want = n < 20     ? WIRE_ERR_TCP_TRUNCATED
                                 : n < doff ? WIRE_ERR_TCP_DOFF
                                            : WIRE_ERR_TCP_CHECKSUM;
            CHECK_EQ(parse_exact(s.bytes, n, s.src, s.dst), want);
        }
        /* The option list cut anywhere is an error or a shorter valid list. */
        for (size_t n = 0; n < doff - 20; n++) {
            struct wire_tcp_opts o;
            enum wire_err err = parse_opts_exact(s.bytes + 20, n, &o);
            CHECK(err == WIRE_OK || err == WIRE_ERR_TCP_OPT_TRUNCATED ||
                  err == WIRE_ERR_TCP_OPT_LEN);
        }
    }
}

/* EVIDENCE: RFC 9293 3.1 the fixed header is 20 bytes */
static void
test_err_truncated(void)
{
    struct seg s = seg_of(pkt_rst, sizeof pkt_rst);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(s.bytes, 19, s.src, s.dst, &h), WIRE_ERR_TCP_TRUNCATED);
    CHECK_EQ(wire_tcp_parse(NULL, 0, s.src, s.dst, &h), WIRE_ERR_TCP_TRUNCATED);
}

/* EVIDENCE: RFC 9293 3.1 the pseudo-header's TCP length is 16 bits */
static void
test_err_length(void)
{
    size_t n = 65536;
    uint8_t *buf = calloc(1, n);
    CHECK(buf != NULL);
    if (!buf) {
        return;
    }
    memcpy(buf, seg_of(pkt_rst, sizeof pkt_rst).bytes, 20);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(buf, n, A_2_2, A_1_1, &h), WIRE_ERR_TCP_LENGTH);
    /* One byte less is representable (and then only the checksum is off). */
    CHECK_EQ(wire_tcp_parse(buf, n - 1, A_2_2, A_1_1, &h), WIRE_ERR_TCP_CHECKSUM);
    free(buf);
}

/* EVIDENCE: RFC 9293 3.1 data offset counts 32-bit words, at least 5 */
static void
test_err_doff(void)
{
    uint8_t buf[60];
    struct seg s = seg_of(pkt_syn, sizeof pkt_syn);
    for (unsigned d = 0; d < 16; d++) {
        memcpy(buf, s.bytes, s.len);
        buf[12] = (uint8_t)(d << 4);
        fix_csum(buf, s.len);
        enum wire_err err = parse_exact(buf, s.len, A_1_1, A_2_2);
        if (d < 5 || d * 4 > s.len) {
            CHECK_EQ(err, WIRE_ERR_TCP_DOFF);
        } else if (d == 7 || d == 8) {
            /* The header now ends inside the timestamp option. */
            CHECK_EQ(err, WIRE_ERR_TCP_OPT_LEN);
        } else {
            /* The header ends between options; the rest counts as data. */
            CHECK_EQ(err, WIRE_OK);
        }
    }
}

/* EVIDENCE: RFC 9293 3.1 (MUST-3) checksum covers pseudo-header, header and data */
static void
test_err_checksum(void)
{
    struct seg s = seg_of(pkt_data, sizeof pkt_data);
    uint8_t buf[64];
    for (size_t byte = 0; byte < s.len; byte++) {
        for (unsigned bit = 0; bit < 8; bit += 5) {
            memcpy(buf, s.bytes, s.len);
            buf[byte] ^= (uint8_t)(1u << bit);
            enum wire_err err = parse_exact(buf, s.len, s.src, s.dst);
            /* Data offset flips stay within 44 bytes: still the checksum. */
            CHECK_EQ(err, WIRE_ERR_TCP_CHECKSUM);
        }
    }
    /* The pseudo-header is covered: other addresses fail. */
    CHECK_EQ(parse_exact(s.bytes, s.len, s.dst, s.src + 1), WIRE_ERR_TCP_CHECKSUM);
    CHECK_EQ(parse_exact(s.bytes, s.len, 0, 0), WIRE_ERR_TCP_CHECKSUM);
}

/* EVIDENCE: RFC 9293 3.1 (MUST-7) illegal option length, e.g. zero */
static void
test_err_opt_len(void)
{
    static const uint8_t zero[4] = {0x02, 0x00, 0x05, 0xb4};
    static const uint8_t one[4] = {0x01, 0x01, 0x1e, 0x01};
    static const uint8_t past_end[8] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 0};
    static const uint8_t unknown_past_end[4] = {0xfe, 0x05, 0x00, 0x00};
    CHECK_EQ(parse_with_options(zero, 4), WIRE_ERR_TCP_OPT_LEN);
    CHECK_EQ(parse_with_options(one, 4), WIRE_ERR_TCP_OPT_LEN);
    CHECK_EQ(parse_with_options(past_end, 8), WIRE_ERR_TCP_OPT_LEN);
    CHECK_EQ(parse_with_options(unknown_past_end, 4), WIRE_ERR_TCP_OPT_LEN);
}

/* EVIDENCE: RFC 9293 3.1 (MUST-68) every option but EOL and NOP has a length byte */
static void
test_err_opt_truncated(void)
{
    static const uint8_t kind_last[4] = {0x01, 0x01, 0x01, 0x02};
    static const uint8_t unknown_last[4] = {0x01, 0x01, 0x01, 0x99};
    CHECK_EQ(parse_with_options(kind_last, 4), WIRE_ERR_TCP_OPT_TRUNCATED);
    CHECK_EQ(parse_with_options(unknown_last, 4), WIRE_ERR_TCP_OPT_TRUNCATED);
    struct wire_tcp_opts o;
    static const uint8_t ts = WIRE_TCPOPT_TIMESTAMP;
    CHECK_EQ(parse_opts_exact(&ts, 1, &o), WIRE_ERR_TCP_OPT_TRUNCATED);
}

/* EVIDENCE: RFC 9293 3.2 MSS length 4; RFC 7323 2.2 WS length 3, 3.2 TS length 10;
 * RFC 2018 2 SACK-permitted length 2, 3 SACK length 2 + 8n */
static void
test_err_opt_badlen(void)
{
    static const uint8_t mss3[4] = {0x02, 0x03, 0x05, 0x01};
    static const uint8_t mss5[8] = {0x02, 0x05, 0x05, 0xb4, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t ws2[4] = {0x01, 0x01, 0x03, 0x02};
    static const uint8_t ws4[4] = {0x03, 0x04, 0x07, 0x00};
    static const uint8_t sp3[4] = {0x04, 0x03, 0x00, 0x00};
    static const uint8_t ts8[8] = {0x08, 0x08, 1, 2, 3, 4, 5, 6};
    static const uint8_t ts12[12] = {0x08, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const uint8_t sack2[4] = {0x01, 0x01, 0x05, 0x02};
    static const uint8_t sack11[12] = {0x01, 0x05, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_EQ(parse_with_options(mss3, 4), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(mss5, 8), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(ws2, 4), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(ws4, 4), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(sp3, 4), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(ts8, 8), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(ts12, 12), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(sack2, 4), WIRE_ERR_TCP_OPT_BADLEN);
    CHECK_EQ(parse_with_options(sack11, 12), WIRE_ERR_TCP_OPT_BADLEN);
    /* Five SACK blocks (42 bytes) cannot come in a header, but a list can say so. */
    uint8_t sack5[42] = {WIRE_TCPOPT_SACK, 42};
    struct wire_tcp_opts o;
    CHECK_EQ(parse_opts_exact(sack5, sizeof sack5, &o), WIRE_ERR_TCP_OPT_BADLEN);
    sack5[1] = 34; /* four blocks, then EOL padding */
    memset(sack5 + 34, 0, 8);
    CHECK_EQ(parse_opts_exact(sack5, sizeof sack5, &o), WIRE_OK);
    CHECK_EQ(o.sack_count, 4);
}

/* EVIDENCE: RFC 9293 3.1 (MUST-6) unknown options are skipped; 3.2 (MUST-64) options
 * need not be aligned; EOL ends the list */
static void
test_options_accepted(void)
{
    struct wire_tcp_opts o;
    /* Unaligned MSS and WS, then EOL and junk that must not be looked at. */
    static const uint8_t unaligned[12] = {0x03, 0x03, 0xc8, 0x02, 0x04, 0x02,
                                          0x18, 0x00, 0x02, 0x01, 0xff, 0xff};
    CHECK_EQ(parse_opts_exact(unaligned, sizeof unaligned, &o), WIRE_OK);
    CHECK(o.has_wscale);
    CHECK_EQ(o.wscale, 200); /* raw: clamping to 14 is the TCP layer's job */
    CHECK(o.has_mss);
    CHECK_EQ(o.mss, 0x0218);
    CHECK(!o.has_ts && !o.sack_permitted);
    /* Unknown kinds (MPTCP 30, experimental 254, TCP-AO 29) are skipped. */
    static const uint8_t unknown[16] = {0x1e, 0x04, 0x00, 0x81, 0xfe, 0x06, 0xf9, 0x89,
                                        0x00, 0x00, 0x1d, 0x02, 0x04, 0x02, 0x01, 0x01};
    CHECK_EQ(parse_opts_exact(unknown, sizeof unknown, &o), WIRE_OK);
    CHECK(o.sack_permitted);
    CHECK(!o.has_mss);
    /* A repeated option: the last one counts. */
    static const uint8_t twice[8] = {0x02, 0x04, 0x01, 0x00, 0x02, 0x04, 0x02, 0x00};
    CHECK_EQ(parse_opts_exact(twice, sizeof twice, &o), WIRE_OK);
    CHECK_EQ(o.mss, 0x0200);
    /* Empty, all-NOP and all-EOL lists. */
    CHECK_EQ(parse_opts_exact(NULL, 0, &o), WIRE_OK);
    static const uint8_t nops[3] = {1, 1, 1};
    CHECK_EQ(parse_opts_exact(nops, 3, &o), WIRE_OK);
    static const uint8_t eols[4] = {0, 0, 0, 0};
    CHECK_EQ(parse_opts_exact(eols, 4, &o), WIRE_OK);
    CHECK_EQ(wire_tcp_options_len(&o), 0);
    /* The same through a whole segment. */
    CHECK_EQ(parse_with_options(unaligned, sizeof unaligned), WIRE_OK);
    CHECK_EQ(parse_with_options(unknown, sizeof unknown), WIRE_OK);
}

/* Flags are raw bits (the state machine judges combinations, RFC 9293 3.10.7);
 * the reserved bits are ignored on input and sent as zero. */
static void
test_flags_raw(void)
{
    uint8_t buf[20];
    memcpy(buf, seg_of(pkt_rst, sizeof pkt_rst).bytes, 20);
    buf[12] = 0x5f; /* data offset 5, all four reserved bits set */
    buf[13] = 0xff; /* every flag, including SYN+FIN+RST */
    fix_csum(buf, 20);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(buf, 20, A_1_1, A_2_2, &h), WIRE_OK);
    CHECK_EQ(h.flags, 0xff);
    CHECK_EQ(h.hdr_len, 20);
    uint8_t out[20];
    CHECK_EQ(wire_tcp_emit(&h, A_1_1, A_2_2, out, sizeof out), 20);
    CHECK_EQ(out[12], 0x50);
    CHECK_EQ(out[13], 0xff);
    CHECK_EQ(wire_tcp_parse(out, 20, A_1_1, A_2_2, &h), WIRE_OK);
}

/* A pure ACK Linux sent over a TUN device (no checksum offload), captured by
 * the interop test: its checksum sums to zero, and Linux writes the zero as
 * 0xffff (the other ones' complement zero; tshark calls it bad). What a
 * receiver checks is that segment + pseudo-header sum to all ones (RFC 1071
 * 1, RFC 9293 3.1), which holds for both spellings of zero. */
static void
test_checksum_negative_zero(void)
{
    static const uint8_t ip[] = {
        0x45, 0x00, 0x00, 0x34, 0x21, 0x99, 0x40, 0x00, 0x40, 0x06, 0x04, 0x8f, 0x0a,
        0x4d, 0x00, 0x01, 0x0a, 0x4d, 0x00, 0x02, 0x8f, 0x36, 0x1f, 0x90, 0x0e, 0xaf,
        0xec, 0xb6, 0x04, 0x50, 0xc8, 0x6f, 0x80, 0x10, 0x08, 0x16, 0xff, 0xff, 0x00,
        0x00, 0x01, 0x01, 0x08, 0x0a, 0xd2, 0x12, 0x9c, 0x51, 0x00, 0x9b, 0x74, 0x1f,
    };
    uint8_t seg[32];
    memcpy(seg, ip + 20, sizeof(seg));
    uint32_t src = 0x0a4d0001, dst = 0x0a4d0002; /* 10.77.0.1 -> 10.77.0.2 */
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(seg, sizeof(seg), src, dst, &h), WIRE_OK); /* 0xffff */
    CHECK(h.flags & WIRE_TCP_ACK);
    seg[16] = seg[17] = 0x00;
    CHECK_EQ(wire_tcp_parse(seg, sizeof(seg), src, dst, &h), WIRE_OK); /* 0x0000 */
    seg[17] = 0x01;
    CHECK_EQ(wire_tcp_parse(seg, sizeof(seg), src, dst, &h), WIRE_ERR_TCP_CHECKSUM);
}

int
main(void)
{
    RUN(test_parse_syn);
    RUN(test_parse_synack);
    RUN(test_parse_ack_and_data);
    RUN(test_parse_sack);
    RUN(test_parse_rst);
    RUN(test_loopback_partial_checksum);
    RUN(test_emit_identical);
    RUN(test_emit_overlapping_payload);
    RUN(test_emit_parse_all_option_combinations);
    RUN(test_emit_capacity);
    RUN(test_truncation_every_length);
    RUN(test_err_truncated);
    RUN(test_err_length);
    RUN(test_err_doff);
    RUN(test_err_checksum);
    RUN(test_err_opt_len);
    RUN(test_err_opt_truncated);
    RUN(test_err_opt_badlen);
    RUN(test_options_accepted);
    RUN(test_flags_raw);
    RUN(test_checksum_negative_zero);
    return CHECK_DONE();
}
