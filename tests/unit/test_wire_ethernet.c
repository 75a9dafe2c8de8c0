/*
 * tests/unit/test_wire_ethernet.c: Ethernet II framing (RFC 894) over real
 * frames. The frames were captured with tcpdump from the Linux kernel on a
 * veth pair between two network namespaces (10.99.0.1 at 02:00:00:00:00:0a,
 * 10.99.0.2 at 02:00:00:00:00:0b), `ping -c 1 -s 8 10.99.0.2`.
 */
#include <string.h>

#include "check.h"
#include "wire/ethernet.h"

/* 02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42:
 * Request who-has 10.99.0.2 tell 10.99.0.1 (unpadded: veth hands it over as
 * the kernel built it). */
static const uint8_t arp_request_frame[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
    0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x63, 0x00, 0x02};

/* 02:00:00:00:00:0a > 02:00:00:00:00:0b, ethertype IPv4 (0x0800), length 50:
 * 10.99.0.1 > 10.99.0.2: ICMP echo request, id 22910, seq 1, length 16. */
static const uint8_t echo_request_frame[50] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08,
    0x00, 0x45, 0x00, 0x00, 0x24, 0x9e, 0x7c, 0x40, 0x00, 0x40, 0x01, 0x87, 0x94,
    0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x02, 0x08, 0x00, 0x92, 0x70, 0x59,
    0x7e, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};

/* 02:00:00:00:00:0a > 33:33:00:00:00:02, ethertype IPv6 (0x86dd), length 70:
 * fe80::ff:fe00:a > ff02::2: ICMP6, router solicitation, length 16. */
static const uint8_t ipv6_rs_frame[70] = {
    0x33, 0x33, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0a, 0xff, 0x02, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x85, 0x00,
    0x7b, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

/* EVIDENCE: RFC 894 frame format */
static void
test_parse_arp_frame(void)
{
    struct wire_eth h;
    CHECK_EQ(wire_eth_parse(arp_request_frame, sizeof(arp_request_frame), &h), WIRE_OK);
    CHECK(wire_eth_addr_is_broadcast(h.dst));
    CHECK(wire_eth_addr_is_group(h.dst));
    CHECK_MEM(h.src, mac_a, 6);
    CHECK_EQ(h.type, WIRE_ETHERTYPE_ARP);
    CHECK(h.payload == arp_request_frame + 14);
    CHECK_EQ(h.payload_len, 28);
}

/* EVIDENCE: RFC 894 frame format */
static void
test_parse_ipv4_frame(void)
{
    struct wire_eth h;
    CHECK_EQ(wire_eth_parse(echo_request_frame, sizeof(echo_request_frame), &h), WIRE_OK);
    CHECK_MEM(h.dst, mac_b, 6);
    CHECK_MEM(h.src, mac_a, 6);
    CHECK(!wire_eth_addr_is_group(h.dst));
    CHECK_EQ(h.type, WIRE_ETHERTYPE_IPV4);
    CHECK_EQ(h.payload_len, 36);
    CHECK_EQ(h.payload[0], 0x45);
}

/* Fields -> emit -> the captured bytes (a frame above the minimum). */
static void
test_emit_roundtrip(void)
{
    struct wire_eth h;
    CHECK_EQ(wire_eth_parse(ipv6_rs_frame, sizeof(ipv6_rs_frame), &h), WIRE_OK);
    CHECK_EQ(h.type, 0x86dd);
    CHECK_EQ(wire_eth_emit_len(&h), sizeof(ipv6_rs_frame));
    uint8_t out[128];
    memset(out, 0xee, sizeof(out));
    wire_eth_emit(&h, out);
    CHECK_MEM(out, ipv6_rs_frame, sizeof(ipv6_rs_frame));
    CHECK_EQ(out[sizeof(ipv6_rs_frame)], 0xee); /* exactly emit_len bytes */
}

/* EVIDENCE: RFC 894 (minimum frame: data padded to 46 bytes) */
static void
test_emit_pads_short_frames(void)
{
    struct wire_eth h;
    CHECK_EQ(wire_eth_parse(echo_request_frame, sizeof(echo_request_frame), &h), WIRE_OK);
    CHECK_EQ(wire_eth_emit_len(&h), 60);
    uint8_t out[64];
    memset(out, 0xee, sizeof(out));
    wire_eth_emit(&h, out);
    CHECK_MEM(out, echo_request_frame, sizeof(echo_request_frame));
    for (size_t i = sizeof(echo_request_frame); i < 60; i++) {
        CHECK_EQ(out[i], 0);
    }
    CHECK_EQ(out[60], 0xee);

    /* No payload at all: a 60-byte frame of header and zeros. */
    struct wire_eth e = {.type = WIRE_ETHERTYPE_ARP};
    memcpy(e.dst, mac_b, 6);
    memcpy(e.src, mac_a, 6);
    CHECK_EQ(wire_eth_emit_len(&e), 60);
    wire_eth_emit(&e, out);
    CHECK_EQ(out[12], 0x08);
    CHECK_EQ(out[13], 0x06);
    CHECK_EQ(out[59], 0);

    /* 46 bytes of data is exactly the minimum: no padding. */
    uint8_t data[46];
    memset(data, 0x5a, sizeof(data));
    e.payload = data;
    e.payload_len = sizeof(data);
    CHECK_EQ(wire_eth_emit_len(&e), 60);
    e.payload_len = 47;
    CHECK_EQ(wire_eth_emit_len(&e), 61);
}

/* The payload may already sit where emit puts it. */
static void
test_emit_in_place(void)
{
    uint8_t buf[64];
    memcpy(buf + 14, echo_request_frame + 14, 36);
    struct wire_eth h = {.type = WIRE_ETHERTYPE_IPV4, .payload = buf + 14, .payload_len = 36};
    memcpy(h.dst, mac_b, 6);
    memcpy(h.src, mac_a, 6);
    wire_eth_emit(&h, buf);
    CHECK_MEM(buf, echo_request_frame, sizeof(echo_request_frame));
}

static void
test_truncation_at_every_length(void)
{
    struct wire_eth h;
    for (size_t n = 0; n < sizeof(echo_request_frame); n++) {
        enum wire_err e = wire_eth_parse(echo_request_frame, n, &h);
        CHECK_EQ(e, n < 14 ? WIRE_ERR_ETH_TRUNCATED : WIRE_OK);
        if (e == WIRE_OK) {
            CHECK_EQ(h.payload_len, n - 14);
        }
    }
}

/* EVIDENCE: RFC 1122 2.3.3 (802.3 length field vs EtherType) */
static void
test_8023_length_field(void)
{
    uint8_t f[60];
    memcpy(f, echo_request_frame, sizeof(echo_request_frame));
    struct wire_eth h;
    const uint16_t lens[] = {0, 46, 1500, 1501, 0x05ff};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        f[12] = (uint8_t)(lens[i] >> 8);
        f[13] = (uint8_t)lens[i];
        CHECK_EQ(wire_eth_parse(f, sizeof(echo_request_frame), &h), WIRE_ERR_ETH_NOT_DIX);
    }
    f[12] = 0x06;
    f[13] = 0x00;
    CHECK_EQ(wire_eth_parse(f, sizeof(echo_request_frame), &h), WIRE_OK);
    CHECK_EQ(h.type, 0x0600);
}

/* EVIDENCE: RFC 1112 6.4 (IPv4 group address to Ethernet) */
static void
test_addresses(void)
{
    uint8_t m[6];
    wire_eth_addr_of_ipv4_multicast(0xe00000fbu, m); /* 224.0.0.251 */
    const uint8_t mdns[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    CHECK_MEM(m, mdns, 6);
    wire_eth_addr_of_ipv4_multicast(0xeffffffau, m); /* 239.255.255.250: bit 23 dropped */
    const uint8_t ssdp[6] = {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa};
    CHECK_MEM(m, ssdp, 6);
    CHECK(wire_eth_addr_is_group(m));
    CHECK(!wire_eth_addr_is_broadcast(m));
    const uint8_t zero[6] = {0};
    CHECK(wire_eth_addr_is_zero(zero));
    CHECK(!wire_eth_addr_is_zero(mac_a));
    CHECK(!wire_eth_addr_is_group(mac_a));
}

static void
test_error_names(void)
{
    CHECK(strcmp(wire_err_name(WIRE_ERR_ETH_TRUNCATED), "unknown wire error") != 0);
    CHECK(strcmp(wire_err_name(WIRE_ERR_ETH_NOT_DIX), "unknown wire error") != 0);
    CHECK(strcmp(wire_err_name(WIRE_ERR_ETH_TRUNCATED), wire_err_name(WIRE_ERR_ETH_NOT_DIX)) != 0);
}

int
main(void)
{
    RUN(test_parse_arp_frame);
    RUN(test_parse_ipv4_frame);
    RUN(test_emit_roundtrip);
    RUN(test_emit_pads_short_frames);
    RUN(test_emit_in_place);
    RUN(test_truncation_at_every_length);
    RUN(test_8023_length_field);
    RUN(test_addresses);
    RUN(test_error_names);
    return CHECK_DONE();
}
