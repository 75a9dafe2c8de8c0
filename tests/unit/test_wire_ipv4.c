/*
 * tests/unit/test_wire_ipv4.c: IPv4 header parse and emit (src/wire/ipv4.c).
 *
 * The packets below are real: captured with tcpdump from the Linux kernel in
 * network namespaces created for the capture and deleted afterwards. Netns
 * "ternwire" had only its loopback; ternwireA (10.99.1.1) reached ternwireB
 * (10.99.2.2) through a router netns (10.99.1.2 / 10.99.2.1) over veth pairs,
 * the second one with MTU 1280, checksum offload off (ethtool -K tx off).
 */
#include <stdlib.h>

#include "check.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/wire.h"

/*
 * From ternwireA: ping -c1 10.99.2.2 (through the router).
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 64, id 54408, offset 0, flags [DF], proto ICMP (1), length 84)
 *   10.99.1.1 > 10.99.2.2: ICMP echo request, id 5490, seq 1, length 64
 */
static const uint8_t pkt_echo_request[84] = {
    0x45, 0x00, 0x00, 0x54, 0xd4, 0x88, 0x40, 0x00, 0x40, 0x01, 0x4e, 0x58, 0x0a, 0x63,
    0x01, 0x01, 0x0a, 0x63, 0x02, 0x02, 0x08, 0x00, 0xdc, 0x5c, 0x15, 0x72, 0x00, 0x01,
    0xbb, 0x12, 0x05, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x78, 0xdf, 0x0e, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/*
 * The reply to the ping above.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 63, id 18656, offset 0, flags [none], proto ICMP (1), length 84)
 *   10.99.2.2 > 10.99.1.1: ICMP echo reply, id 5490, seq 1, length 64
 */
static const uint8_t pkt_echo_reply[84] = {
    0x45, 0x00, 0x00, 0x54, 0x48, 0xe0, 0x00, 0x00, 0x3f, 0x01, 0x1b, 0x01, 0x0a, 0x63,
    0x02, 0x02, 0x0a, 0x63, 0x01, 0x01, 0x00, 0x00, 0xe4, 0x5c, 0x15, 0x72, 0x00, 0x01,
    0xbb, 0x12, 0x05, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x78, 0xdf, 0x0e, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/*
 * In netns "ternwire": ping -c1 -R 127.0.0.1 (Record Route option, RFC 791 3.1).
 * Captured on the loopback of netns ternwire; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 64, id 60380, offset 0, flags [DF], proto ICMP (1), length 124, options
 *       (NOP,RR 127.0.0.1, 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0))
 *   127.0.0.1 > 127.0.0.1: ICMP echo request, id 4614, seq 1, length 64
 */
static const uint8_t pkt_echo_rr[124] = {
    0x4f, 0x00, 0x00, 0x7c, 0xeb, 0xdc, 0x40, 0x00, 0x40, 0x01, 0x9f, 0x91, 0x7f, 0x00, 0x00, 0x01,
    0x7f, 0x00, 0x00, 0x01, 0x01, 0x07, 0x27, 0x08, 0x7f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x81, 0xa3,
    0x12, 0x06, 0x00, 0x01, 0xa6, 0x12, 0x05, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xf3, 0x04, 0x07, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/*
 * The reply to the ping -R above: the list ends with EOL.
 * Captured on the loopback of netns ternwire; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 64, id 60381, offset 0, flags [none], proto ICMP (1), length 124, options
 *       (RR 127.0.0.1, 127.0.0.1, 127.0.0.1, 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0
 *       0.0.0.0,EOL))
 *   127.0.0.1 > 127.0.0.1: ICMP echo reply, id 4614, seq 1, length 64
 */
static const uint8_t pkt_echo_rr_reply[124] = {
    0x4f, 0x00, 0x00, 0x7c, 0xeb, 0xdd, 0x00, 0x00, 0x40, 0x01, 0x6a, 0xfd, 0x7f, 0x00, 0x00, 0x01,
    0x7f, 0x00, 0x00, 0x01, 0x07, 0x27, 0x10, 0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x7f,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x89, 0xa3,
    0x12, 0x06, 0x00, 0x01, 0xa6, 0x12, 0x05, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xf3, 0x04, 0x07, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/*
 * From ternwireA: ping -c1 -s 3000 -M dont 10.99.2.2. ternwireA sent 1500-byte fragments; the
 * router fragmented them again for the 1280-byte link. This one has MF set.
 * Captured on the veth twB (MTU 1280) of netns ternwireB; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 63, id 54409, offset 1256, flags [+], proto ICMP (1), length 244)
 *   10.99.1.1 > 10.99.2.2: ip-proto-1
 */
static const uint8_t pkt_frag_middle[244] = {
    0x45, 0x00, 0x00, 0xf4, 0xd4, 0x89, 0x20, 0x9d, 0x3f, 0x01, 0x6e, 0x1a, 0x0a, 0x63, 0x01, 0x01,
    0x0a, 0x63, 0x02, 0x02, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb,
    0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
    0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,
    0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
    0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b,
    0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
    0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b,
    0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
    0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
    0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
    0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb,
    0xbc, 0xbd, 0xbe, 0xbf,
};

/*
 * The last fragment of that ping (MF clear).
 * Captured on the veth twB (MTU 1280) of netns ternwireB; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0x0, ttl 63, id 54409, offset 2960, flags [none], proto ICMP (1), length 68)
 *   10.99.1.1 > 10.99.2.2: ip-proto-1
 */
static const uint8_t pkt_frag_last[68] = {
    0x45, 0x00, 0x00, 0x44, 0xd4, 0x89, 0x01, 0x72, 0x3f, 0x01, 0x8d, 0xf5, 0x0a, 0x63,
    0x01, 0x01, 0x0a, 0x63, 0x02, 0x02, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d,
    0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
    0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
};

/*
 * From ternwireA: ping -c1 -t 1 10.99.2.2; the router 10.99.1.2 answered.
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0xc0, ttl 64, id 26012, offset 0, flags [none], proto ICMP (1), length 112)
 *   10.99.1.2 > 10.99.1.1: ICMP time exceeded in-transit, length 92
 *   IP (tos 0x0, ttl 1, id 54411, offset 0, flags [DF], proto ICMP (1), length 84)
 *   10.99.1.1 > 10.99.2.2: ICMP echo request, id 5492, seq 1, length 64
 */
static const uint8_t pkt_time_exceeded[112] = {
    0x45, 0xc0, 0x00, 0x70, 0x65, 0x9c, 0x00, 0x00, 0x40, 0x01, 0xfd, 0x68, 0x0a, 0x63, 0x01, 0x02,
    0x0a, 0x63, 0x01, 0x01, 0x0b, 0x00, 0xf4, 0xff, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x54,
    0xd4, 0x8b, 0x40, 0x00, 0x01, 0x01, 0x8d, 0x55, 0x0a, 0x63, 0x01, 0x01, 0x0a, 0x63, 0x02, 0x02,
    0x08, 0x00, 0xdd, 0x37, 0x15, 0x74, 0x00, 0x01, 0xbc, 0x12, 0x05, 0x6b, 0x00, 0x00, 0x00, 0x00,
    0x85, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

#define A_1_1    0x0a630101u /* 10.99.1.1 */
#define A_1_2    0x0a630102u /* 10.99.1.2 */
#define A_2_2    0x0a630202u /* 10.99.2.2 */
#define LOOPBACK 0x7f000001u

struct packet {
    const char *name;
    const uint8_t *bytes;
    size_t len;
};

#define PKT(a)                                                                                     \
    {                                                                                              \
#a, a, sizeof a                                                                            \
    }
static const struct packet packets[] = {
    PKT(pkt_echo_request), PKT(pkt_echo_reply), PKT(pkt_echo_rr),       PKT(pkt_echo_rr_reply),
    PKT(pkt_frag_middle),  PKT(pkt_frag_last),  PKT(pkt_time_exceeded),
};
#define NPACKETS (sizeof packets / sizeof packets[0])

/* Parses a copy in a heap block of exactly len bytes, so that ASan reports
 * any read past the end. Only the result is kept. */
static enum wire_err
parse_exact(const uint8_t *p, size_t len, bool quoted)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return WIRE_ERR_COUNT;
    }
    if (len) {
        memcpy(copy, p, len);
    }
    struct wire_ipv4 h;
    enum wire_err err =
        quoted ? wire_ipv4_parse_quoted(copy, len, &h) : wire_ipv4_parse(copy, len, &h);
    free(copy);
    return err;
}

/* Recomputes the header checksum after a test edited the header. */
static void
fix_csum(uint8_t *h)
{
    size_t hl = (size_t)(h[0] & 0x0f) * 4;
    h[10] = h[11] = 0;
    uint16_t c = wire_csum(h, hl);
    h[10] = (uint8_t)(c >> 8);
    h[11] = (uint8_t)c;
}

/* A header of 20 + optlen bytes (optlen a multiple of 4) with no data, the
 * fixed part taken from the real echo request. Returns its length. */
static size_t
make_with_options(uint8_t *buf, const uint8_t *opts, size_t optlen)
{
    size_t hl = WIRE_IPV4_HDR_LEN + optlen;
    memcpy(buf, pkt_echo_request, WIRE_IPV4_HDR_LEN);
    memcpy(buf + WIRE_IPV4_HDR_LEN, opts, optlen);
    buf[0] = (uint8_t)(0x40 | hl / 4);
    buf[2] = 0;
    buf[3] = (uint8_t)hl;
    fix_csum(buf);
    return hl;
}

/* EVIDENCE: RFC 791 3.1 header fields of a real echo request */
static void
test_parse_echo_request(void)
{
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(pkt_echo_request, sizeof pkt_echo_request, &h), WIRE_OK);
    CHECK_EQ(h.hdr_len, 20);
    CHECK_EQ(h.tos, 0);
    CHECK_EQ(h.total_len, 84);
    CHECK_EQ(h.id, 54408);
    CHECK(h.df);
    CHECK(!h.mf);
    CHECK_EQ(h.frag_off, 0);
    CHECK_EQ(h.ttl, 64);
    CHECK_EQ(h.proto, WIRE_IPPROTO_ICMP);
    CHECK_EQ(h.src, A_1_1);
    CHECK_EQ(h.dst, A_2_2);
    CHECK_EQ(h.options_len, 0);
    CHECK(h.options == pkt_echo_request + 20);
    CHECK(h.payload == pkt_echo_request + 20);
    CHECK_EQ(h.payload_len, 64);

    CHECK_EQ(wire_ipv4_parse(pkt_echo_reply, sizeof pkt_echo_reply, &h), WIRE_OK);
    CHECK(!h.df);
    CHECK_EQ(h.ttl, 63);
    CHECK_EQ(h.src, A_2_2);
    CHECK_EQ(h.dst, A_1_1);
}

/* EVIDENCE: RFC 791 3.1 options: NOP then Record Route fill a 60-byte header */
static void
test_parse_record_route(void)
{
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(pkt_echo_rr, sizeof pkt_echo_rr, &h), WIRE_OK);
    CHECK_EQ(h.hdr_len, 60);
    CHECK_EQ(h.total_len, 124);
    CHECK_EQ(h.src, LOOPBACK);
    CHECK_EQ(h.options_len, 40);
    CHECK(h.options == pkt_echo_rr + 20);
    CHECK_EQ(h.options[0], WIRE_IPOPT_NOP);
    CHECK_EQ(h.options[1], 7);  /* record route */
    CHECK_EQ(h.options[2], 39); /* its length */
    CHECK(h.payload == pkt_echo_rr + 60);
    CHECK_EQ(h.payload_len, 64);
    CHECK_EQ(h.payload[0], 8); /* ICMP echo request */
}

/* EVIDENCE: RFC 791 3.1 options: End of Option List ends the list */
static void
test_parse_record_route_eol(void)
{
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(pkt_echo_rr_reply, sizeof pkt_echo_rr_reply, &h), WIRE_OK);
    CHECK_EQ(h.hdr_len, 60);
    CHECK_EQ(h.options[0], 7);
    CHECK_EQ(h.options[39], WIRE_IPOPT_EOL);
    CHECK_EQ(h.payload_len, 64);
    CHECK_EQ(h.payload[0], 0); /* ICMP echo reply */
}

/* EVIDENCE: RFC 791 3.1 flags (MF) and fragment offset in 8-octet units */
static void
test_parse_fragments(void)
{
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(pkt_frag_middle, sizeof pkt_frag_middle, &h), WIRE_OK);
    CHECK_EQ(h.id, 54409);
    CHECK(!h.df);
    CHECK(h.mf);
    CHECK_EQ(h.frag_off, 1256);
    CHECK_EQ(h.ttl, 63);
    CHECK_EQ(h.payload_len, 224);

    CHECK_EQ(wire_ipv4_parse(pkt_frag_last, sizeof pkt_frag_last, &h), WIRE_OK);
    CHECK_EQ(h.id, 54409);
    CHECK(!h.mf);
    CHECK_EQ(h.frag_off, 2960);
    CHECK_EQ(h.payload_len, 48);
    /* 2960 + 48 = 3008 = 8 bytes of ICMP header + 3000 bytes of ping data. */
}

/* EVIDENCE: RFC 791 3.1 type of service byte (here CS6 from a router's ICMP) */
static void
test_parse_time_exceeded(void)
{
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(pkt_time_exceeded, sizeof pkt_time_exceeded, &h), WIRE_OK);
    CHECK_EQ(h.tos, 0xc0);
    CHECK_EQ(h.src, A_1_2);
    CHECK_EQ(h.dst, A_1_1);
    CHECK_EQ(h.payload_len, 92);
    /* The datagram quoted after the 8-byte ICMP header is a whole one here. */
    struct wire_ipv4 q;
    CHECK_EQ(wire_ipv4_parse(h.payload + 8, h.payload_len - 8, &q), WIRE_OK);
    CHECK_EQ(q.ttl, 1);
    CHECK_EQ(q.id, 54411);
    CHECK_EQ(q.dst, A_2_2);
}

/* EVIDENCE: RFC 791 3.1 total length: bytes beyond it (link padding) are not data */
static void
test_link_padding(void)
{
    uint8_t buf[sizeof pkt_frag_last + 10];
    memcpy(buf, pkt_frag_last, sizeof pkt_frag_last);
    memset(buf + sizeof pkt_frag_last, 0xee, 10);
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(buf, sizeof buf, &h), WIRE_OK);
    CHECK_EQ(h.total_len, 68);
    CHECK_EQ(h.payload_len, 48);
}

/* Emit gives back the captured bytes of every option-free header. */
static void
test_emit_identical(void)
{
    for (size_t i = 0; i < NPACKETS; i++) {
        struct wire_ipv4 h;
        CHECK_EQ(wire_ipv4_parse(packets[i].bytes, packets[i].len, &h), WIRE_OK);
        if (h.hdr_len != WIRE_IPV4_HDR_LEN) {
            continue;
        }
        uint8_t out[WIRE_IPV4_HDR_LEN + 1];
        out[WIRE_IPV4_HDR_LEN] = 0x5a;
        wire_ipv4_emit(&h, out);
        CHECK_MEM(out, packets[i].bytes, WIRE_IPV4_HDR_LEN);
        CHECK_EQ(out[WIRE_IPV4_HDR_LEN], 0x5a); /* exactly 20 bytes */
    }
}

/* Emitting a header that had options gives the 20-byte form of the same fields. */
static void
test_emit_drops_options(void)
{
    struct wire_ipv4 h, back;
    CHECK_EQ(wire_ipv4_parse(pkt_echo_rr, sizeof pkt_echo_rr, &h), WIRE_OK);
    uint8_t out[20];
    h.total_len = 20;
    wire_ipv4_emit(&h, out);
    CHECK_EQ(wire_ipv4_parse(out, sizeof out, &back), WIRE_OK);
    CHECK_EQ(back.hdr_len, 20);
    CHECK_EQ(back.options_len, 0);
    CHECK_EQ(back.id, h.id);
    CHECK_EQ(back.src, h.src);
}

/* EVIDENCE: RFC 791 3.1 every field survives emit then parse */
static void
test_emit_parse_roundtrip(void)
{
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        struct wire_ipv4 h = {
            .tos = (uint8_t)(x >> 3),
            .total_len = (uint16_t)(20 + (x >> 20) % 40),
            .id = (uint16_t)(x >> 7),
            .df = (x >> 1) & 1,
            .mf = (x >> 2) & 1,
            .frag_off = (uint16_t)(((x >> 11) & 0x1fff) * 8),
            .ttl = (uint8_t)(x >> 24),
            .proto = (uint8_t)(x >> 16),
        };
        x = x * 1103515245u + 12345u;
        h.src = x;
        x = x * 1103515245u + 12345u;
        h.dst = x ^ 0xa5a5a5a5u;
        uint8_t buf[64] = {0};
        wire_ipv4_emit(&h, buf);
        struct wire_ipv4 b;
        CHECK_EQ(wire_ipv4_parse(buf, h.total_len, &b), WIRE_OK);
        CHECK_EQ(b.hdr_len, 20);
        CHECK_EQ(b.tos, h.tos);
        CHECK_EQ(b.total_len, h.total_len);
        CHECK_EQ(b.id, h.id);
        CHECK_EQ(b.df, h.df);
        CHECK_EQ(b.mf, h.mf);
        CHECK_EQ(b.frag_off, h.frag_off);
        CHECK_EQ(b.ttl, h.ttl);
        CHECK_EQ(b.proto, h.proto);
        CHECK_EQ(b.src, h.src);
        CHECK_EQ(b.dst, h.dst);
        CHECK_EQ(b.payload_len, h.total_len - 20u);
        CHECK_EQ(buf[6] & 0x80, 0); /* reserved flag bit */
    }
}

/* Cutting any real packet short is an error, never a read past the end. */
static void
test_truncation_every_length(void)
{
    for (size_t i = 0; i < NPACKETS; i++) {
        const struct packet *p = &packets[i];
        CHECK_EQ(parse_exact(p->bytes, p->len, false), WIRE_OK);
        size_t hl = (size_t)(p->bytes[0] & 0x0f) * 4;
        for (size_t n = 0; n < p->len; n++) {
            enum wire_err want = n < 20   ? WIRE_ERR_IP_TRUNCATED
                                 : n < hl ? WIRE_ERR_IP_HLEN
                                          : WIRE_ERR_IP_TOTLEN;
            CHECK_EQ(parse_exact(p->bytes, n, false), want);
            /* The quoted form accepts a cut datagram once the header is whole. */
            CHECK_EQ(parse_exact(p->bytes, n, true), n < hl ? want : WIRE_OK);
        }
    }
}

/* EVIDENCE: RFC 791 3.1 header shorter than 20 octets */
static void
test_err_truncated(void)
{
    struct wire_ipv4 h;
    CHECK_EQ(wire_ipv4_parse(pkt_echo_request, 19, &h), WIRE_ERR_IP_TRUNCATED);
    CHECK_EQ(wire_ipv4_parse(NULL, 0, &h), WIRE_ERR_IP_TRUNCATED);
}

/* EVIDENCE: RFC 791 3.1 version field must be 4 */
static void
test_err_version(void)
{
    uint8_t buf[sizeof pkt_echo_request];
    for (unsigned v = 0; v < 16; v++) {
        memcpy(buf, pkt_echo_request, sizeof buf);
        buf[0] = (uint8_t)(v << 4 | 5);
        fix_csum(buf);
        CHECK_EQ(parse_exact(buf, sizeof buf, false), v == 4 ? WIRE_OK : WIRE_ERR_IP_VERSION);
    }
}

/* EVIDENCE: RFC 791 3.1 IHL minimum value is 5; header must fit the buffer */
static void
test_err_hlen(void)
{
    uint8_t buf[sizeof pkt_echo_request];
    for (unsigned ihl = 0; ihl < 5; ihl++) {
        memcpy(buf, pkt_echo_request, sizeof buf);
        buf[0] = (uint8_t)(0x40 | ihl);
        CHECK_EQ(parse_exact(buf, sizeof buf, false), WIRE_ERR_IP_HLEN);
        CHECK_EQ(parse_exact(buf, sizeof buf, true), WIRE_ERR_IP_HLEN);
    }
    /* IHL 15 (60 bytes) in a 40-byte buffer. */
    memcpy(buf, pkt_echo_request, sizeof buf);
    buf[0] = 0x4f;
    buf[3] = 40;
    CHECK_EQ(parse_exact(buf, 40, false), WIRE_ERR_IP_HLEN);
}

/* EVIDENCE: RFC 791 3.1 total length counts header and data */
static void
test_err_totlen(void)
{
    uint8_t buf[sizeof pkt_echo_request];
    memcpy(buf, pkt_echo_request, sizeof buf);
    buf[2] = 0;
    buf[3] = 19; /* shorter than the header */
    fix_csum(buf);
    CHECK_EQ(parse_exact(buf, sizeof buf, false), WIRE_ERR_IP_TOTLEN);
    CHECK_EQ(parse_exact(buf, sizeof buf, true), WIRE_ERR_IP_TOTLEN);
    buf[3] = 85; /* one byte more than there is */
    fix_csum(buf);
    CHECK_EQ(parse_exact(buf, sizeof buf, false), WIRE_ERR_IP_TOTLEN);
    buf[3] = 20; /* header only: fine */
    fix_csum(buf);
    CHECK_EQ(parse_exact(buf, sizeof buf, false), WIRE_OK);
}

/* EVIDENCE: RFC 791 3.1 header checksum */
static void
test_err_checksum(void)
{
    uint8_t buf[sizeof pkt_echo_request];
    for (size_t byte = 0; byte < 20; byte++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(buf, pkt_echo_request, sizeof buf);
            buf[byte] ^= (uint8_t)(1u << bit);
            enum wire_err err = parse_exact(buf, sizeof buf, false);
            /* Flips in version/IHL/length are caught earlier, as ordered. */
            if (byte >= 4) {
                CHECK_EQ(err, WIRE_ERR_IP_CHECKSUM);
            } else {
                CHECK(err != WIRE_OK);
            }
        }
    }
    /* A data byte is not covered by the header checksum. */
    memcpy(buf, pkt_echo_request, sizeof buf);
    buf[50] ^= 0xff;
    CHECK_EQ(parse_exact(buf, sizeof buf, false), WIRE_OK);
    /* The quoted form does not check it (routers and NATs may rewrite). */
    memcpy(buf, pkt_echo_request, sizeof buf);
    buf[10] ^= 0xff;
    CHECK_EQ(parse_exact(buf, sizeof buf, true), WIRE_OK);
}

/* EVIDENCE: RFC 791 3.1 options: length octet counts type, length and data */
static void
test_err_option(void)
{
    uint8_t buf[60];
    static const uint8_t len_zero[4] = {0x44, 0x00, 0x05, 0x00};
    static const uint8_t len_one[4] = {0x01, 0x07, 0x01, 0x00};
    static const uint8_t past_end[4] = {0x07, 0x05, 0x04, 0x00};
    static const uint8_t no_len[4] = {0x01, 0x01, 0x01, 0x83};
    static const uint8_t past_end_40[40] = {0x01, 0x07, 0x28};
    CHECK_EQ(parse_exact(buf, make_with_options(buf, len_zero, 4), false), WIRE_ERR_IP_OPTION);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, len_one, 4), false), WIRE_ERR_IP_OPTION);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, past_end, 4), false), WIRE_ERR_IP_OPTION);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, no_len, 4), false), WIRE_ERR_IP_OPTION);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, past_end_40, 40), false), WIRE_ERR_IP_OPTION);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, len_zero, 4), true), WIRE_ERR_IP_OPTION);
}

/* EVIDENCE: RFC 791 3.1 options: EOL, NOP, unknown kinds skipped by length */
static void
test_options_accepted(void)
{
    uint8_t buf[60];
    static const uint8_t exact_fit[4] = {0x88, 0x04, 0x12, 0x34}; /* stream id, fills it */
    static const uint8_t nops[4] = {0x01, 0x01, 0x01, 0x01};
    static const uint8_t eol_then_junk[4] = {0x00, 0xff, 0x00, 0x07}; /* after EOL: padding */
    static const uint8_t unknown[8] = {0x9e, 0x06, 1, 2, 3, 4, 0x01, 0x00};
    static const uint8_t router_alert[4] = {0x94, 0x04, 0x00, 0x00}; /* RFC 2113 */
    CHECK_EQ(parse_exact(buf, make_with_options(buf, exact_fit, 4), false), WIRE_OK);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, nops, 4), false), WIRE_OK);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, eol_then_junk, 4), false), WIRE_OK);
    CHECK_EQ(parse_exact(buf, make_with_options(buf, unknown, 8), false), WIRE_OK);
    struct wire_ipv4 h;
    size_t n = make_with_options(buf, router_alert, 4);
    CHECK_EQ(wire_ipv4_parse(buf, n, &h), WIRE_OK);
    CHECK_EQ(h.hdr_len, 24);
    CHECK_EQ(h.options_len, 4);
    CHECK_EQ(h.options[0], 0x94);
    CHECK_EQ(h.payload_len, 0);
}

/* EVIDENCE: RFC 792 error messages quote the IP header + 64 bits of data */
static void
test_parse_quoted(void)
{
    struct wire_ipv4 h;
    /* The first 28 bytes of the echo request, as an ICMP error quotes it. */
    CHECK_EQ(wire_ipv4_parse(pkt_echo_request, 28, &h), WIRE_ERR_IP_TOTLEN);
    CHECK_EQ(wire_ipv4_parse_quoted(pkt_echo_request, 28, &h), WIRE_OK);
    CHECK_EQ(h.total_len, 84);
    CHECK_EQ(h.payload_len, 8);
    CHECK_EQ(h.src, A_1_1);
    CHECK_EQ(h.dst, A_2_2);
    /* Whole datagram plus padding: payload stops at total length. */
    uint8_t buf[sizeof pkt_frag_last + 4] = {0};
    memcpy(buf, pkt_frag_last, sizeof pkt_frag_last);
    CHECK_EQ(wire_ipv4_parse_quoted(buf, sizeof buf, &h), WIRE_OK);
    CHECK_EQ(h.payload_len, 48);
    CHECK_EQ(wire_ipv4_parse_quoted(pkt_echo_rr, 60, &h), WIRE_OK);
    CHECK_EQ(h.options_len, 40);
    CHECK_EQ(h.payload_len, 0);
}

/* Every error of every format (IPv4, IPv6, ICMPv6/ND, UDP, DNS, DHCP...) has
 * its own non-empty name: the one check for the whole enum. */
static void
test_err_names(void)
{
    for (int a = 0; a < WIRE_ERR_COUNT; a++) {
        const char *na = wire_err_name((enum wire_err)a);
        CHECK(na != NULL && na[0] != '\0');
        CHECK(strcmp(na, "unknown wire error") != 0);
        for (int b = 0; b < a; b++) {
            CHECK(strcmp(na, wire_err_name((enum wire_err)b)) != 0);
        }
    }
    CHECK_STR(wire_err_name(WIRE_ERR_IP_CHECKSUM), "IPv4 header checksum mismatch");
    CHECK_STR(wire_err_name(WIRE_ERR_COUNT), "unknown wire error");
    CHECK_STR(wire_err_name((enum wire_err)999), "unknown wire error");
}

int
main(void)
{
    RUN(test_parse_echo_request);
    RUN(test_parse_record_route);
    RUN(test_parse_record_route_eol);
    RUN(test_parse_fragments);
    RUN(test_parse_time_exceeded);
    RUN(test_link_padding);
    RUN(test_emit_identical);
    RUN(test_emit_drops_options);
    RUN(test_emit_parse_roundtrip);
    RUN(test_truncation_every_length);
    RUN(test_err_truncated);
    RUN(test_err_version);
    RUN(test_err_hlen);
    RUN(test_err_totlen);
    RUN(test_err_checksum);
    RUN(test_err_option);
    RUN(test_options_accepted);
    RUN(test_parse_quoted);
    RUN(test_err_names);
    return CHECK_DONE();
}
