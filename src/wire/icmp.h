/*
 * src/wire/icmp.h: ICMP for IPv4 (RFC 792), with the "next-hop MTU" of
 * RFC 1191 section 4 in destination-unreachable code 4.
 *
 * Parse never reads past len. Emit writes exactly wire_icmp_emit_len() bytes.
 */
#ifndef TERN_WIRE_ICMP_H
#define TERN_WIRE_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_ICMP_HDR_LEN 8

enum {
    WIRE_ICMP_ECHO_REPLY = 0,
    WIRE_ICMP_DEST_UNREACH = 3,
    WIRE_ICMP_SOURCE_QUENCH = 4,
    WIRE_ICMP_REDIRECT = 5,
    WIRE_ICMP_ECHO_REQUEST = 8,
    WIRE_ICMP_TIME_EXCEEDED = 11,
    WIRE_ICMP_PARAM_PROBLEM = 12
};

/* Destination-unreachable codes (RFC 792; 4 per RFC 1191). */
enum {
    WIRE_ICMP_UNREACH_NET = 0,
    WIRE_ICMP_UNREACH_HOST = 1,
    WIRE_ICMP_UNREACH_PROTO = 2,
    WIRE_ICMP_UNREACH_PORT = 3,
    WIRE_ICMP_UNREACH_FRAG_NEEDED = 4,
    WIRE_ICMP_UNREACH_SRC_ROUTE_FAILED = 5
};

/* Time-exceeded codes (RFC 792). */
enum { WIRE_ICMP_TIME_EXCEEDED_TTL = 0, WIRE_ICMP_TIME_EXCEEDED_REASSEMBLY = 1 };

struct wire_icmp {
    uint8_t type, code;
    uint16_t id, seq;      /* echo request/reply */
    uint16_t next_hop_mtu; /* dest-unreach code 4 (RFC 1191), else 0 */
    uint8_t pointer;       /* param problem */
    uint32_t rest;         /* raw bytes 4..7, big-endian as read */
    const uint8_t *payload;
    size_t payload_len; /* echo data, or the quoted original datagram for errors */
    uint32_t gateway;   /* redirect: gateway address, host order (= rest), else 0 */
};

/*
 * Parses the ICMP message at buf (the whole IPv4 payload, len bytes).
 * Checks, in order: len >= 8 (WIRE_ERR_ICMP_TRUNCATED); checksum over all
 * len bytes (WIRE_ERR_ICMP_CHECKSUM); for error types (see
 * wire_icmp_is_error) at least 20 bytes of quoted datagram
 * (WIRE_ERR_ICMP_ERR_PAYLOAD). Unknown types parse fine with only type,
 * code, rest and payload filled. On success fills *out (payload points into
 * buf); on error *out is unspecified.
 */
enum wire_err wire_icmp_parse(const uint8_t *buf, size_t len, struct wire_icmp *out);

/* True for the error messages: 3, 4, 5, 11, 12. */
bool wire_icmp_is_error(uint8_t type);

/* Bytes wire_icmp_emit() writes: 8 + h->payload_len. */
size_t wire_icmp_emit_len(const struct wire_icmp *h);

/*
 * Writes the message to buf, which must hold wire_icmp_emit_len(h) bytes.
 * Bytes 4..7 come from the type's fields: echo -> id, seq; dest-unreach
 * code 4 -> zero then next_hop_mtu; param problem -> pointer then three zero
 * bytes; redirect -> gateway; any other type -> rest as is. The payload is
 * copied (it may already sit at buf + 8, or overlap) and the checksum is
 * computed over the whole message.
 */
void wire_icmp_emit(const struct wire_icmp *h, uint8_t *buf);

#endif
