/*
 * tests/unit/test_wire_arp.c: ARP packets (RFC 826) over real bytes. The
 * packets were captured with tcpdump from the Linux kernel on a veth pair
 * between two network namespaces (10.99.0.1 at 02:00:00:00:00:0a,
 * 10.99.0.2 at 02:00:00:00:00:0b); these are the 28 bytes after the
 * Ethernet header.
 */
#include <string.h>

#include "check.h"
#include "wire/arp.h"

/* Request who-has 10.99.0.2 tell 10.99.0.1, length 28. */
static const uint8_t request[28] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
                                    0x00, 0x00, 0x00, 0x0a, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x0a, 0x63, 0x00, 0x02};

/* Reply 10.99.0.2 is-at 02:00:00:00:00:0b, length 28. */
static const uint8_t reply[28] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00,
                                  0x00, 0x00, 0x00, 0x0b, 0x0a, 0x63, 0x00, 0x02, 0x02, 0x00,
                                  0x00, 0x00, 0x00, 0x0a, 0x0a, 0x63, 0x00, 0x01};

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
#define IP_A 0x0a630001u
#define IP_B 0x0a630002u

/* EVIDENCE: RFC 826 packet format */
static void
test_parse_request(void)
{
    struct wire_arp a;
    CHECK_EQ(wire_arp_parse(request, sizeof(request), &a), WIRE_OK);
    CHECK_EQ(a.op, WIRE_ARP_OP_REQUEST);
    CHECK_MEM(a.sha, mac_a, 6);
    CHECK_EQ(a.spa, IP_A);
    const uint8_t zero[6] = {0};
    CHECK_MEM(a.tha, zero, 6);
    CHECK_EQ(a.tpa, IP_B);
    uint8_t out[28];
    wire_arp_emit(&a, out);
    CHECK_MEM(out, request, sizeof(request));
}

/* EVIDENCE: RFC 826 packet format */
static void
test_parse_reply(void)
{
    struct wire_arp a;
    CHECK_EQ(wire_arp_parse(reply, sizeof(reply), &a), WIRE_OK);
    CHECK_EQ(a.op, WIRE_ARP_OP_REPLY);
    CHECK_MEM(a.sha, mac_b, 6);
    CHECK_EQ(a.spa, IP_B);
    CHECK_MEM(a.tha, mac_a, 6);
    CHECK_EQ(a.tpa, IP_A);
    uint8_t out[28];
    memset(out, 0, sizeof(out));
    wire_arp_emit(&a, out);
    CHECK_MEM(out, reply, sizeof(reply));
}

/* Fields -> emit -> parse gives the fields back. */
static void
test_emit_fields(void)
{
    struct wire_arp a = {.op = WIRE_ARP_OP_REPLY, .spa = IP_B, .tpa = IP_A};
    memcpy(a.sha, mac_b, 6);
    memcpy(a.tha, mac_a, 6);
    uint8_t out[28];
    wire_arp_emit(&a, out);
    CHECK_MEM(out, reply, sizeof(reply));
}

/* Ethernet padding after the 28 bytes is not part of the packet. */
static void
test_trailing_padding_ignored(void)
{
    uint8_t p[46];
    memset(p, 0, sizeof(p));
    memcpy(p, request, sizeof(request));
    struct wire_arp a;
    CHECK_EQ(wire_arp_parse(p, sizeof(p), &a), WIRE_OK);
    CHECK_EQ(a.tpa, IP_B);
}

static void
test_truncation_at_every_length(void)
{
    struct wire_arp a;
    for (size_t n = 0; n < sizeof(request); n++) {
        CHECK_EQ(wire_arp_parse(request, n, &a), WIRE_ERR_ARP_TRUNCATED);
    }
    CHECK_EQ(wire_arp_parse(request, sizeof(request), &a), WIRE_OK);
}

/* EVIDENCE: RFC 826 Packet Reception (hardware type, protocol type) */
static void
test_bad_fields(void)
{
    uint8_t p[28];
    struct wire_arp a;

    memcpy(p, request, sizeof(p));
    p[1] = 6; /* IEEE 802 networks */
    CHECK_EQ(wire_arp_parse(p, sizeof(p), &a), WIRE_ERR_ARP_HTYPE);
    CHECK_EQ(wire_arp_parse(p, 8, &a), WIRE_ERR_ARP_HTYPE); /* before the length check */

    memcpy(p, request, sizeof(p));
    p[2] = 0x86;
    p[3] = 0xdd;
    CHECK_EQ(wire_arp_parse(p, sizeof(p), &a), WIRE_ERR_ARP_PTYPE);

    memcpy(p, request, sizeof(p));
    p[4] = 8;
    CHECK_EQ(wire_arp_parse(p, sizeof(p), &a), WIRE_ERR_ARP_ADDR_LEN);
    memcpy(p, request, sizeof(p));
    p[5] = 16;
    CHECK_EQ(wire_arp_parse(p, sizeof(p), &a), WIRE_ERR_ARP_ADDR_LEN);

    const uint16_t ops[] = {0, 3, 4, 0x0100};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        memcpy(p, request, sizeof(p));
        p[6] = (uint8_t)(ops[i] >> 8);
        p[7] = (uint8_t)ops[i];
        CHECK_EQ(wire_arp_parse(p, sizeof(p), &a), WIRE_ERR_ARP_OP);
    }
}

static void
test_error_names(void)
{
    const enum wire_err e[] = {WIRE_ERR_ARP_TRUNCATED, WIRE_ERR_ARP_HTYPE, WIRE_ERR_ARP_PTYPE,
                               WIRE_ERR_ARP_ADDR_LEN, WIRE_ERR_ARP_OP};
    for (size_t i = 0; i < 5; i++) {
        CHECK(strcmp(wire_err_name(e[i]), "unknown wire error") != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(wire_err_name(e[i]), wire_err_name(e[j])) != 0);
        }
    }
}

int
main(void)
{
    RUN(test_parse_request);
    RUN(test_parse_reply);
    RUN(test_emit_fields);
    RUN(test_trailing_padding_ignored);
    RUN(test_truncation_at_every_length);
    RUN(test_bad_fields);
    RUN(test_error_names);
    return CHECK_DONE();
}
