/*
 * tests/unit/test_craft.c: tern/craft.h, hand-built IPv4/TCP packets
 * (src/stack/craft.c), read back with the wire parsers the stack uses.
 *
 * RFCs: 791 3.1 (header, checksum), 9293 3.1 (segment, checksum).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "tern/craft.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

static void
test_segment_reads_back(void)
{
    static const uint8_t data[] = "hello";
    struct tern_craft_tcp t = {
        .src = 0x0a000001,
        .dst = 0x0a000002,
        .src_port = 1234,
        .dst_port = 80,
        .seq = 0xfffffff0u,
        .ack = 77,
        .flags = TERN_CRAFT_ACK | TERN_CRAFT_PSH,
        .window = 4096,
        .payload = data,
        .payload_len = 5,
    };
    uint8_t buf[128];
    size_t n = tern_craft_ipv4_tcp(&t, buf, sizeof(buf));
    CHECK_EQ(n, 20u + 20u + 5u);
    struct wire_ipv4 ip;
    CHECK_EQ(wire_ipv4_parse(buf, n, &ip), WIRE_OK); /* header checksum holds */
    CHECK_EQ(ip.proto, WIRE_IPPROTO_TCP);
    CHECK_EQ(ip.ttl, 64);
    CHECK(ip.df);
    CHECK_EQ(ip.src, t.src);
    CHECK_EQ(ip.dst, t.dst);
    struct wire_tcp h;
    CHECK_EQ(wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &h), WIRE_OK);
    CHECK_EQ(h.src_port, 1234);
    CHECK_EQ(h.dst_port, 80);
    CHECK_EQ(h.seq, 0xfffffff0u);
    CHECK_EQ(h.ack, 77u);
    CHECK_EQ(h.flags, TERN_CRAFT_ACK | TERN_CRAFT_PSH);
    CHECK_EQ(h.window, 4096);
    CHECK_EQ(h.payload_len, 5u);
    CHECK(memcmp(h.payload, "hello", 5) == 0);
    /* A flipped payload bit breaks the TCP checksum. */
    buf[n - 1] ^= 1;
    CHECK_EQ(wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &h), WIRE_ERR_TCP_CHECKSUM);
}

static void
test_bad_arguments(void)
{
    uint8_t buf[64];
    memset(buf, 0xa5, sizeof(buf));
    struct tern_craft_tcp t = {.src = 1, .dst = 2, .flags = TERN_CRAFT_SYN, .ttl = 3};
    CHECK_EQ(tern_craft_ipv4_tcp(&t, buf, 39), 0u); /* one byte short: nothing written */
    CHECK_EQ(buf[0], 0xa5);
    CHECK_EQ(tern_craft_ipv4_tcp(&t, buf, 0), 0u);
    CHECK_EQ(tern_craft_ipv4_tcp(NULL, buf, sizeof(buf)), 0u);
    CHECK_EQ(tern_craft_ipv4_tcp(&t, NULL, sizeof(buf)), 0u);
    t.payload_len = 1; /* length without bytes */
    CHECK_EQ(tern_craft_ipv4_tcp(&t, buf, sizeof(buf)), 0u);
    t.payload_len = 0;
    CHECK_EQ(tern_craft_ipv4_tcp(&t, buf, 40), 40u);
    struct wire_ipv4 ip;
    CHECK_EQ(wire_ipv4_parse(buf, 40, &ip), WIRE_OK);
    CHECK_EQ(ip.ttl, 3);
}

int
main(void)
{
    RUN(test_segment_reads_back);
    RUN(test_bad_arguments);
    return CHECK_DONE();
}
