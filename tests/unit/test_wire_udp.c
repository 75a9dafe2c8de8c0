/*
 * tests/unit/test_wire_udp.c: UDP header parse and emit (src/wire/udp.c).
 *
 * The checksums below were computed independently of tern (a few lines of
 * Python over the RFC 768 pseudo-header), not by the code under test.
 */
#include <string.h>

#include "check.h"
#include "wire/checksum.h"
#include "wire/udp.h"
#include "wire/wire.h"

#define SRC 0x0a630101u /* 10.99.1.1 */
#define DST 0x0a630202u /* 10.99.2.2 */

/* 10.99.1.1:53268 -> 10.99.2.2:7, "hello, tern\n"; checksum 0xdff2. */
static const uint8_t dgram_hello[20] = {
    0xd0, 0x14, 0x00, 0x07, 0x00, 0x14, 0xdf, 0xf2, 'h', 'e',
    'l',  'l',  'o',  ',',  ' ',  't',  'e',  'r',  'n', '\n',
};

static void
test_parse_hello(void)
{
    struct wire_udp u;
    CHECK_EQ(wire_udp_parse(dgram_hello, sizeof dgram_hello, SRC, DST, &u), WIRE_OK);
    CHECK_EQ(u.src_port, 53268);
    CHECK_EQ(u.dst_port, 7);
    CHECK_EQ(u.length, 20);
    CHECK_EQ(u.checksum, 0xdff2);
    CHECK_EQ(u.payload_len, 12);
    CHECK_MEM(u.payload, "hello, tern\n", 12);
}

static void
test_emit_hello(void)
{
    uint8_t hdr[WIRE_UDP_HDR_LEN];
    uint32_t psum = wire_csum_add(0, dgram_hello + 8, 12);
    CHECK_EQ(wire_udp_emit_hdr(hdr, SRC, 53268, DST, 7, 12, psum), 8);
    CHECK_MEM(hdr, dgram_hello, 8);
}

static void
test_checksum_error(void)
{
    uint8_t d[sizeof dgram_hello];
    struct wire_udp u;
    for (size_t i = 0; i < sizeof d; i++) {
        memcpy(d, dgram_hello, sizeof d);
        d[i] ^= 0x10;
        /* Bytes 4-5 are the length: 0x1014 is past the end, 0x0004 below 8. */
        enum wire_err want = (i == 4 || i == 5) ? WIRE_ERR_UDP_LENGTH : WIRE_ERR_UDP_CHECKSUM;
        CHECK_EQ(wire_udp_parse(d, sizeof d, SRC, DST, &u), want);
    }
    /* Wrong addresses in the pseudo-header. */
    CHECK_EQ(wire_udp_parse(dgram_hello, sizeof dgram_hello, SRC + 1, DST, &u),
             WIRE_ERR_UDP_CHECKSUM);
}

/* RFC 768: a zero checksum field means none was computed; the datagram is
 * taken whatever its bytes. */
static void
test_zero_checksum_means_none(void)
{
    uint8_t d[sizeof dgram_hello];
    memcpy(d, dgram_hello, sizeof d);
    d[6] = d[7] = 0;
    d[10] = 'X';
    struct wire_udp u;
    CHECK_EQ(wire_udp_parse(d, sizeof d, SRC, DST, &u), WIRE_OK);
    CHECK_EQ(u.checksum, 0);
    CHECK_EQ(u.payload[2], 'X');
}

/* RFC 768: when the sum computes to zero, the field carries 0xffff. Ports
 * 1000 -> 2000 with the payload word 0xdc59 sum to zero (checked apart). */
static void
test_emit_zero_as_ones(void)
{
    uint8_t d[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0xdc, 0x59};
    CHECK_EQ(wire_udp_emit_hdr(d, SRC, 1000, DST, 2000, 2, wire_csum_add(0, d + 8, 2)), 8);
    CHECK_EQ(d[6], 0xff);
    CHECK_EQ(d[7], 0xff);
    struct wire_udp u;
    CHECK_EQ(wire_udp_parse(d, sizeof d, SRC, DST, &u), WIRE_OK);
    CHECK_EQ(u.checksum, 0xffff);
}

static void
test_lengths(void)
{
    struct wire_udp u;
    for (size_t n = 0; n < WIRE_UDP_HDR_LEN; n++) {
        CHECK_EQ(wire_udp_parse(dgram_hello, n, SRC, DST, &u), WIRE_ERR_UDP_TRUNCATED);
    }
    /* Every shorter buffer than the length field: the length is past the end. */
    for (size_t n = WIRE_UDP_HDR_LEN; n < sizeof dgram_hello; n++) {
        CHECK_EQ(wire_udp_parse(dgram_hello, n, SRC, DST, &u), WIRE_ERR_UDP_LENGTH);
    }
    /* Length field below 8. */
    uint8_t d[sizeof dgram_hello];
    memcpy(d, dgram_hello, sizeof d);
    d[4] = 0;
    d[5] = 7;
    CHECK_EQ(wire_udp_parse(d, sizeof d, SRC, DST, &u), WIRE_ERR_UDP_LENGTH);
    /* Bytes after the length field (IP padding) are not part of it. */
    uint8_t pad[sizeof dgram_hello + 6];
    memset(pad, 0xee, sizeof pad);
    memcpy(pad, dgram_hello, sizeof dgram_hello);
    CHECK_EQ(wire_udp_parse(pad, sizeof pad, SRC, DST, &u), WIRE_OK);
    CHECK_EQ(u.payload_len, 12);
    /* An empty datagram. */
    uint8_t e[8];
    CHECK_EQ(wire_udp_emit_hdr(e, SRC, 9, DST, 9, 0, 0), 8);
    CHECK_EQ(wire_udp_parse(e, 8, SRC, DST, &u), WIRE_OK);
    CHECK_EQ(u.payload_len, 0);
    /* The emitter refuses what IPv4 cannot carry. */
    CHECK_EQ(wire_udp_emit_hdr(e, SRC, 9, DST, 9, WIRE_UDP_MAX_LEN - 7, 0), 0);
    CHECK_EQ(wire_udp_emit_hdr(e, SRC, 9, DST, 9, WIRE_UDP_MAX_LEN - 8, 0), 8);
    CHECK_STR(wire_err_name(WIRE_ERR_UDP_CHECKSUM), "UDP checksum mismatch");
}

int
main(void)
{
    RUN(test_parse_hello);
    RUN(test_emit_hello);
    RUN(test_checksum_error);
    RUN(test_zero_checksum_means_none);
    RUN(test_emit_zero_as_ones);
    RUN(test_lengths);
    return CHECK_DONE();
}
