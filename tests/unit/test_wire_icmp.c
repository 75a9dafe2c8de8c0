/*
 * tests/unit/test_wire_icmp.c: ICMP parse and emit (src/wire/icmp.c).
 *
 * The packets below are real: captured with tcpdump from the Linux kernel in
 * network namespaces created for the capture and deleted afterwards. Netns
 * "ternwire" had only its loopback; ternwireA (10.99.1.1) reached ternwireB
 * (10.99.2.2) through a router netns (10.99.1.2 / 10.99.2.1) over veth pairs,
 * the second one with MTU 1280, checksum offload off (ethtool -K tx off).
 * Each array is a whole IPv4 packet; the tests take the ICMP message out of
 * it with wire_ipv4_parse(), as the IP layer will.
 */
#include <stdlib.h>

#include "check.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
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

/*
 * From ternwireA: ping -c1 -s 1400 -M do 10.99.2.2; the router's next link has MTU 1280 (RFC
 * 1191).
 * Captured on the veth twA of netns ternwireA; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0xc0, ttl 64, id 26013, offset 0, flags [none], proto ICMP (1), length 576)
 *   10.99.1.2 > 10.99.1.1: ICMP 10.99.2.2 unreachable - need to frag (mtu 1280), length 556
 *   IP (tos 0x0, ttl 64, id 0, offset 0, flags [DF], proto ICMP (1), length 1428)
 *   10.99.1.1 > 10.99.2.2: ICMP echo request, id 5493, seq 1, length 1408
 */
static const uint8_t pkt_frag_needed[576] = {
    0x45, 0xc0, 0x02, 0x40, 0x65, 0x9d, 0x00, 0x00, 0x40, 0x01, 0xfb, 0x97, 0x0a, 0x63, 0x01, 0x02,
    0x0a, 0x63, 0x01, 0x01, 0x03, 0x04, 0x0e, 0xc9, 0x00, 0x00, 0x05, 0x00, 0x45, 0x00, 0x05, 0x94,
    0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x1d, 0xa1, 0x0a, 0x63, 0x01, 0x01, 0x0a, 0x63, 0x02, 0x02,
    0x08, 0x00, 0xde, 0xb8, 0x15, 0x75, 0x00, 0x01, 0xbc, 0x12, 0x05, 0x6b, 0x00, 0x00, 0x00, 0x00,
    0xd7, 0x36, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
    0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
    0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
    0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
    0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
    0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
    0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
    0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
    0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
    0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
    0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
    0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
    0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
};

/*
 * In netns "ternwire": printf x | nc -u -w1 127.0.0.1 9 (closed UDP port). The quoted UDP
 * checksum is a loopback offload artefact.
 * Captured on the loopback of netns ternwire; Ethernet header stripped.
 * tcpdump -nn -vv -S:
 *   IP (tos 0xc0, ttl 64, id 60654, offset 0, flags [none], proto ICMP (1), length 57)
 *   127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port 9 unreachable, length 37
 *   IP (tos 0x0, ttl 64, id 38759, offset 0, flags [DF], proto UDP (17), length 29)
 *   127.0.0.1.47747 > 127.0.0.1.9: [bad udp cksum 0xfe1c -> 0xcf4c!] UDP, length 1
 */
static const uint8_t pkt_port_unreach[57] = {
    0x45, 0xc0, 0x00, 0x39, 0xec, 0xee, 0x00, 0x00, 0x40, 0x01, 0x8f, 0x13, 0x7f, 0x00, 0x00,
    0x01, 0x7f, 0x00, 0x00, 0x01, 0x03, 0x03, 0xcc, 0x49, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00,
    0x00, 0x1d, 0x97, 0x67, 0x40, 0x00, 0x40, 0x11, 0xa5, 0x66, 0x7f, 0x00, 0x00, 0x01, 0x7f,
    0x00, 0x00, 0x01, 0xba, 0x83, 0x00, 0x09, 0x00, 0x09, 0xfe, 0x1c, 0x78,
};

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
    PKT(pkt_echo_request), PKT(pkt_echo_reply),   PKT(pkt_time_exceeded),
    PKT(pkt_frag_needed),  PKT(pkt_port_unreach),
};
#define NPACKETS (sizeof packets / sizeof packets[0])

/* The ICMP message inside a captured IPv4 packet. */
static const uint8_t *
icmp_of(const uint8_t *pkt, size_t len, size_t *icmp_len)
{
    struct wire_ipv4 ip;
    if (wire_ipv4_parse(pkt, len, &ip) != WIRE_OK || ip.proto != WIRE_IPPROTO_ICMP) {
        *icmp_len = 0;
        return NULL;
    }
    *icmp_len = ip.payload_len;
    return ip.payload;
}

/* Parses a copy in a heap block of exactly len bytes (ASan catches overreads). */
static enum wire_err
parse_exact(const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return WIRE_ERR_COUNT;
    }
    if (len) {
        memcpy(copy, p, len);
    }
    struct wire_icmp h;
    enum wire_err err = wire_icmp_parse(copy, len, &h);
    free(copy);
    return err;
}

/* Recomputes the ICMP checksum after a test edited a message. */
static void
fix_csum(uint8_t *m, size_t len)
{
    m[2] = m[3] = 0;
    uint16_t c = wire_csum(m, len);
    m[2] = (uint8_t)(c >> 8);
    m[3] = (uint8_t)c;
}

/* EVIDENCE: RFC 792 echo: identifier and sequence number */
static void
test_parse_echo(void)
{
    size_t n;
    const uint8_t *m = icmp_of(pkt_echo_request, sizeof pkt_echo_request, &n);
    struct wire_icmp h;
    CHECK_EQ(wire_icmp_parse(m, n, &h), WIRE_OK);
    CHECK_EQ(h.type, WIRE_ICMP_ECHO_REQUEST);
    CHECK_EQ(h.code, 0);
    CHECK_EQ(h.id, 5490);
    CHECK_EQ(h.seq, 1);
    CHECK_EQ(h.rest, 0x15720001u);
    CHECK_EQ(h.next_hop_mtu, 0);
    CHECK_EQ(h.pointer, 0);
    CHECK_EQ(h.gateway, 0);
    CHECK(h.payload == m + 8);
    CHECK_EQ(h.payload_len, 56);
    CHECK(!wire_icmp_is_error(h.type));

    m = icmp_of(pkt_echo_reply, sizeof pkt_echo_reply, &n);
    struct wire_icmp r;
    CHECK_EQ(wire_icmp_parse(m, n, &r), WIRE_OK);
    CHECK_EQ(r.type, WIRE_ICMP_ECHO_REPLY);
    CHECK_EQ(r.id, 5490);
    CHECK_EQ(r.seq, 1);
    /* RFC 792: the reply returns the request's data. */
    CHECK_EQ(r.payload_len, h.payload_len);
    CHECK_MEM(r.payload, h.payload, h.payload_len);
}

/* EVIDENCE: RFC 792 time exceeded, code 0: TTL exceeded in transit */
static void
test_parse_time_exceeded(void)
{
    size_t n;
    const uint8_t *m = icmp_of(pkt_time_exceeded, sizeof pkt_time_exceeded, &n);
    struct wire_icmp h;
    CHECK_EQ(wire_icmp_parse(m, n, &h), WIRE_OK);
    CHECK_EQ(h.type, WIRE_ICMP_TIME_EXCEEDED);
    CHECK_EQ(h.code, WIRE_ICMP_TIME_EXCEEDED_TTL);
    CHECK_EQ(h.rest, 0);
    CHECK(wire_icmp_is_error(h.type));
    CHECK_EQ(h.payload_len, 84);
    struct wire_ipv4 q;
    CHECK_EQ(wire_ipv4_parse(h.payload, h.payload_len, &q), WIRE_OK);
    CHECK_EQ(q.ttl, 1);
    CHECK_EQ(q.proto, WIRE_IPPROTO_ICMP);
    CHECK_EQ(q.src, 0x0a630101u);
}

/* EVIDENCE: RFC 1191 4 "fragmentation needed" carries the next-hop MTU */
static void
test_parse_frag_needed(void)
{
    size_t n;
    const uint8_t *m = icmp_of(pkt_frag_needed, sizeof pkt_frag_needed, &n);
    struct wire_icmp h;
    CHECK_EQ(wire_icmp_parse(m, n, &h), WIRE_OK);
    CHECK_EQ(h.type, WIRE_ICMP_DEST_UNREACH);
    CHECK_EQ(h.code, WIRE_ICMP_UNREACH_FRAG_NEEDED);
    CHECK_EQ(h.next_hop_mtu, 1280);
    CHECK_EQ(h.rest, 1280);
    CHECK_EQ(h.payload_len, 548);
    /* Linux quoted as much as fits in 576 bytes (RFC 1812 4.3.2.3), so the
     * quoted datagram is cut: strict parse refuses, the quoted parse accepts. */
    struct wire_ipv4 q;
    CHECK_EQ(wire_ipv4_parse(h.payload, h.payload_len, &q), WIRE_ERR_IP_TOTLEN);
    CHECK_EQ(wire_ipv4_parse_quoted(h.payload, h.payload_len, &q), WIRE_OK);
    CHECK_EQ(q.total_len, 1428);
    CHECK(q.df);
    CHECK_EQ(q.payload_len, 528);
}

/* EVIDENCE: RFC 792 destination unreachable, code 3: port unreachable */
static void
test_parse_port_unreach(void)
{
    size_t n;
    const uint8_t *m = icmp_of(pkt_port_unreach, sizeof pkt_port_unreach, &n);
    struct wire_icmp h;
    CHECK_EQ(wire_icmp_parse(m, n, &h), WIRE_OK);
    CHECK_EQ(h.type, WIRE_ICMP_DEST_UNREACH);
    CHECK_EQ(h.code, WIRE_ICMP_UNREACH_PORT);
    CHECK_EQ(h.next_hop_mtu, 0);
    CHECK_EQ(h.payload_len, 29);
    struct wire_ipv4 q;
    CHECK_EQ(wire_ipv4_parse(h.payload, h.payload_len, &q), WIRE_OK);
    CHECK_EQ(q.proto, WIRE_IPPROTO_UDP);
    CHECK_EQ(q.payload_len, 9);
    CHECK_EQ(q.payload[2], 0); /* destination port 9 */
    CHECK_EQ(q.payload[3], 9);
}

/* Emit gives back the captured bytes of every message, into a fresh buffer
 * and in place (payload already at buf + 8). */
static void
test_emit_identical(void)
{
    for (size_t i = 0; i < NPACKETS; i++) {
        size_t n;
        const uint8_t *m = icmp_of(packets[i].bytes, packets[i].len, &n);
        CHECK(m != NULL);
        struct wire_icmp h;
        CHECK_EQ(wire_icmp_parse(m, n, &h), WIRE_OK);
        CHECK_EQ(wire_icmp_emit_len(&h), n);
        uint8_t out[600];
        memset(out, 0x5a, sizeof out);
        wire_icmp_emit(&h, out);
        CHECK_MEM(out, m, n);
        CHECK_EQ(out[n], 0x5a); /* exactly emit_len bytes */

        memset(out, 0, 8);
        memcpy(out + 8, h.payload, h.payload_len);
        h.payload = out + 8;
        wire_icmp_emit(&h, out);
        CHECK_MEM(out, m, n);
    }
}

/* The payload may overlap the header being written (e.g. built in place). */
static void
test_emit_overlapping_payload(void)
{
    uint8_t buf[40];
    for (int i = 0; i < 40; i++) {
        buf[i] = (uint8_t)i;
    }
    struct wire_icmp h = {.type = WIRE_ICMP_ECHO_REPLY, .id = 7, .seq = 9};
    h.payload = buf + 2; /* bytes 2..29 move to 8..35 */
    h.payload_len = 28;
    wire_icmp_emit(&h, buf);
    for (int i = 0; i < 28; i++) {
        CHECK_EQ(buf[8 + i], i + 2);
    }
    struct wire_icmp b;
    CHECK_EQ(wire_icmp_parse(buf, 36, &b), WIRE_OK);
    CHECK_EQ(b.id, 7);
    CHECK_EQ(b.seq, 9);
}

/* EVIDENCE: RFC 792 message formats: per-type fields survive emit then parse */
static void
test_emit_parse_roundtrip(void)
{
    uint8_t quoted[28];
    memcpy(quoted, pkt_echo_request, sizeof quoted);
    static const struct wire_icmp cases[] = {
        {.type = WIRE_ICMP_ECHO_REQUEST, .id = 0xbeef, .seq = 0xffff},
        {.type = WIRE_ICMP_ECHO_REPLY, .id = 1, .seq = 2},
        {.type = WIRE_ICMP_DEST_UNREACH, .code = WIRE_ICMP_UNREACH_NET},
        {.type = WIRE_ICMP_DEST_UNREACH, .code = WIRE_ICMP_UNREACH_HOST},
        {.type = WIRE_ICMP_DEST_UNREACH, .code = WIRE_ICMP_UNREACH_PROTO},
        {.type = WIRE_ICMP_DEST_UNREACH, .code = WIRE_ICMP_UNREACH_PORT},
        {.type = WIRE_ICMP_DEST_UNREACH,
         .code = WIRE_ICMP_UNREACH_FRAG_NEEDED,
         .next_hop_mtu = 576},
        {.type = WIRE_ICMP_DEST_UNREACH, .code = WIRE_ICMP_UNREACH_SRC_ROUTE_FAILED},
        {.type = WIRE_ICMP_SOURCE_QUENCH},
        {.type = WIRE_ICMP_REDIRECT, .code = 1, .gateway = 0x0a630102u},
        {.type = WIRE_ICMP_TIME_EXCEEDED, .code = WIRE_ICMP_TIME_EXCEEDED_TTL},
        {.type = WIRE_ICMP_TIME_EXCEEDED, .code = WIRE_ICMP_TIME_EXCEEDED_REASSEMBLY},
        {.type = WIRE_ICMP_PARAM_PROBLEM, .pointer = 9},
        {.type = 13, .rest = 0x12345678u}, /* timestamp: kept raw */
        {.type = 42, .code = 7, .rest = 0xdeadbeefu},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct wire_icmp h = cases[i];
        h.payload = quoted;
        h.payload_len = sizeof quoted;
        uint8_t buf[64];
        wire_icmp_emit(&h, buf);
        struct wire_icmp b;
        CHECK_EQ(wire_icmp_parse(buf, wire_icmp_emit_len(&h), &b), WIRE_OK);
        CHECK_EQ(b.type, h.type);
        CHECK_EQ(b.code, h.code);
        CHECK_EQ(b.id, h.id);
        CHECK_EQ(b.seq, h.seq);
        CHECK_EQ(b.next_hop_mtu, h.next_hop_mtu);
        CHECK_EQ(b.pointer, h.pointer);
        CHECK_EQ(b.gateway, h.gateway);
        CHECK_EQ(b.payload_len, sizeof quoted);
        CHECK_MEM(b.payload, quoted, sizeof quoted);
        if (h.type == 13 || h.type == 42) {
            CHECK_EQ(b.rest, h.rest);
        }
    }
    /* Param problem: pointer in byte 4, the rest of the word zero. */
    struct wire_icmp pp = {.type = WIRE_ICMP_PARAM_PROBLEM, .pointer = 0xab, .rest = ~0u};
    pp.payload = quoted;
    pp.payload_len = sizeof quoted;
    uint8_t buf[64];
    wire_icmp_emit(&pp, buf);
    CHECK_EQ(buf[4], 0xab);
    CHECK_EQ(buf[5] | buf[6] | buf[7], 0);
}

/*
 * Cutting any real message short is an error, never a read past the end.
 * ICMP has no length field of its own, so a cut is seen only through the
 * checksum, and a cut that drops bytes whose own sum is -0 goes unseen. The
 * real time-exceeded message has two such cuts: its quote is an IPv4 header
 * and an ICMP echo, each carrying a valid checksum. Dropping the echo leaves
 * a valid error that quotes a bare header; dropping both leaves one that
 * quotes nothing (WIRE_ERR_ICMP_ERR_PAYLOAD).
 */
static void
test_truncation_every_length(void)
{
    int unseen = 0;
    for (size_t i = 0; i < NPACKETS; i++) {
        size_t len;
        const uint8_t *m = icmp_of(packets[i].bytes, packets[i].len, &len);
        CHECK_EQ(parse_exact(m, len), WIRE_OK);
        for (size_t n = 0; n < len; n++) {
            enum wire_err err = parse_exact(m, n);
            bool tail_sums_to_zero = n % 2 == 0 && wire_csum(m + n, len - n) == 0;
            if (n < 8) {
                CHECK_EQ(err, WIRE_ERR_ICMP_TRUNCATED);
            } else if (!tail_sums_to_zero) {
                CHECK_EQ(err, WIRE_ERR_ICMP_CHECKSUM);
            } else {
                unseen++;
                bool short_quote = wire_icmp_is_error(m[0]) && n - 8 < 20;
                CHECK_EQ(err, short_quote ? WIRE_ERR_ICMP_ERR_PAYLOAD : WIRE_OK);
                CHECK(packets[i].bytes == pkt_time_exceeded && (n == 8 || n == 28));
            }
        }
    }
    CHECK_EQ(unseen, 2);
}

/* EVIDENCE: RFC 792 every message has type, code, checksum and a 32-bit word */
static void
test_err_truncated(void)
{
    struct wire_icmp h;
    static const uint8_t seven[7] = {8, 0, 0xf7, 0xff, 0, 0, 0};
    CHECK_EQ(wire_icmp_parse(seven, sizeof seven, &h), WIRE_ERR_ICMP_TRUNCATED);
    CHECK_EQ(wire_icmp_parse(NULL, 0, &h), WIRE_ERR_ICMP_TRUNCATED);
    /* Eight bytes is a whole (empty) echo. */
    static const uint8_t eight[8] = {8, 0, 0xf7, 0xff, 0, 0, 0, 0};
    CHECK_EQ(wire_icmp_parse(eight, sizeof eight, &h), WIRE_OK);
    CHECK_EQ(h.payload_len, 0);
}

/* EVIDENCE: RFC 792 checksum: ones' complement of the ones' complement sum of the message */
static void
test_err_checksum(void)
{
    size_t n;
    const uint8_t *m = icmp_of(pkt_echo_request, sizeof pkt_echo_request, &n);
    uint8_t buf[64];
    for (size_t byte = 0; byte < n; byte++) {
        for (unsigned bit = 0; bit < 8; bit += 3) {
            memcpy(buf, m, n);
            buf[byte] ^= (uint8_t)(1u << bit);
            CHECK_EQ(parse_exact(buf, n), WIRE_ERR_ICMP_CHECKSUM);
        }
    }
}

/* EVIDENCE: RFC 792 errors quote "the internet header + 64 bits of data" */
static void
test_err_payload(void)
{
    static const uint8_t error_types[] = {3, 4, 5, 11, 12};
    for (size_t i = 0; i < sizeof error_types; i++) {
        uint8_t buf[8 + 28] = {error_types[i], 1};
        memcpy(buf + 8, pkt_echo_request, 28);
        for (size_t q = 0; q <= 28; q++) {
            fix_csum(buf, 8 + q);
            CHECK_EQ(parse_exact(buf, 8 + q), q < 20 ? WIRE_ERR_ICMP_ERR_PAYLOAD : WIRE_OK);
        }
    }
    /* Not an error type: any payload length is fine. */
    uint8_t echo[8 + 3] = {WIRE_ICMP_ECHO_REPLY, 0, 0, 0, 0, 1, 0, 1, 'a', 'b', 'c'};
    fix_csum(echo, sizeof echo);
    CHECK_EQ(parse_exact(echo, sizeof echo), WIRE_OK);
}

/* Unknown types and codes parse; the layer above decides what to do. */
static void
test_unknown_type(void)
{
    uint8_t buf[12] = {200, 99, 0, 0, 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3, 4};
    fix_csum(buf, sizeof buf);
    struct wire_icmp h;
    CHECK_EQ(wire_icmp_parse(buf, sizeof buf, &h), WIRE_OK);
    CHECK_EQ(h.type, 200);
    CHECK_EQ(h.code, 99);
    CHECK_EQ(h.rest, 0xcafebabeu);
    CHECK_EQ(h.id, 0);
    CHECK_EQ(h.payload_len, 4);
    uint8_t out[12];
    wire_icmp_emit(&h, out);
    CHECK_MEM(out, buf, sizeof buf);
}

/* EVIDENCE: RFC 792 / RFC 1122 3.2.2: the error messages are 3, 4, 5, 11, 12 */
static void
test_is_error(void)
{
    for (unsigned t = 0; t < 256; t++) {
        bool want = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
        CHECK_EQ(wire_icmp_is_error((uint8_t)t), want);
    }
}

int
main(void)
{
    RUN(test_parse_echo);
    RUN(test_parse_time_exceeded);
    RUN(test_parse_frag_needed);
    RUN(test_parse_port_unreach);
    RUN(test_emit_identical);
    RUN(test_emit_overlapping_payload);
    RUN(test_emit_parse_roundtrip);
    RUN(test_truncation_every_length);
    RUN(test_err_truncated);
    RUN(test_err_checksum);
    RUN(test_err_payload);
    RUN(test_unknown_type);
    RUN(test_is_error);
    return CHECK_DONE();
}
