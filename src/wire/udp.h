/*
 * src/wire/udp.h: the UDP header (RFC 768) with the IPv4 pseudo-header
 * checksum (RFC 768 "Fields", RFC 1122 4.1.3.4).
 *
 * Parse never reads past len. Emit writes the 8-byte header in front of a
 * payload it is told the length and partial checksum of, so that the
 * payload itself may live elsewhere (the datagram is gathered by IP).
 * Fields are in host order. IPv6 (RFC 8200 8.1: checksum mandatory) will
 * add a parse and emit taking its own pseudo-header.
 */
#ifndef TERN_WIRE_UDP_H
#define TERN_WIRE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_UDP_HDR_LEN 8
/* Longest UDP datagram (header included) an IPv4 packet can carry:
 * 65535 - 20 bytes of IPv4 header. */
#define WIRE_UDP_MAX_LEN 65515u

struct wire_udp {
    uint16_t src_port, dst_port;
    uint16_t length;   /* the length field: header plus data */
    uint16_t checksum; /* as received; 0 means the sender computed none */
    const uint8_t *payload;
    size_t payload_len; /* length - 8 */
};

/*
 * Parses the UDP datagram at buf (the whole IPv4 payload, len bytes) sent
 * from src to dst (IPv4 addresses, host order). Checks, in order: len >= 8
 * (WIRE_ERR_UDP_TRUNCATED); the length field is at least 8 and at most len
 * (WIRE_ERR_UDP_LENGTH; bytes past it are ignored, as the IP payload may be
 * padded); the checksum over the pseudo-header and the first `length`
 * bytes, unless the field is 0 (RFC 768: no checksum was computed)
 * (WIRE_ERR_UDP_CHECKSUM). On success fills *out (payload points into buf).
 */
enum wire_err wire_udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                             struct wire_udp *out);

/* wire_udp_parse() for either family, addresses as 16 bytes (IPv4-mapped
 * for IPv4, wire_csum_pseudo); over IPv6 a zero checksum field is
 * WIRE_ERR_UDP_CHECKSUM (RFC 8200 8.1). */
enum wire_err wire_udp_parse_ip(const uint8_t *buf, size_t len, const uint8_t src[16],
                                const uint8_t dst[16], struct wire_udp *out);

/*
 * Writes the 8-byte header for a datagram from src:sport to dst:dport whose
 * payload is payload_len bytes with partial sum payload_sum (wire_csum_add
 * over the payload, from 0). The checksum is always computed; a result of
 * 0 is sent as 0xffff (RFC 768). Returns 8, or 0 without writing when
 * payload_len exceeds WIRE_UDP_MAX_LEN - 8.
 */
size_t wire_udp_emit_hdr(uint8_t hdr[WIRE_UDP_HDR_LEN], uint32_t src, uint16_t sport, uint32_t dst,
                         uint16_t dport, size_t payload_len, uint32_t payload_sum);

/* wire_udp_emit_hdr() for either family (addresses as wire_udp_parse_ip). */
size_t wire_udp_emit_hdr_ip(uint8_t hdr[WIRE_UDP_HDR_LEN], const uint8_t src[16], uint16_t sport,
                            const uint8_t dst[16], uint16_t dport, size_t payload_len,
                            uint32_t payload_sum);

#endif
