/*
 * src/wire/ipv4.h: the IPv4 header (RFC 791 section 3.1).
 *
 * Parse never reads past len. Emit writes exactly WIRE_IPV4_HDR_LEN bytes.
 * All multi-byte fields of struct wire_ipv4 are in host order.
 */
#ifndef TERN_WIRE_IPV4_H
#define TERN_WIRE_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_IPV4_HDR_LEN     20 /* fixed part, no options */
#define WIRE_IPV4_MAX_HDR_LEN 60 /* IHL is 4 bits of 32-bit words */

/* Protocol numbers this stack looks at (IANA "Assigned Internet Protocol Numbers"). */
enum { WIRE_IPPROTO_ICMP = 1, WIRE_IPPROTO_TCP = 6, WIRE_IPPROTO_UDP = 17 };

/* IP option kinds with a one-byte form (RFC 791 3.1 "Options"). */
enum { WIRE_IPOPT_EOL = 0, WIRE_IPOPT_NOP = 1 };
/* RFC 791 3.1: Loose and Strict Source and Record Route (copied flag set). */
enum { WIRE_IPOPT_LSRR = 131, WIRE_IPOPT_SSRR = 137 };

struct wire_ipv4 {
    uint8_t hdr_len; /* bytes, 20..60 */
    uint8_t tos;     /* DSCP+ECN byte */
    uint16_t total_len;
    uint16_t id;
    bool df, mf;
    uint16_t frag_off; /* in bytes (field * 8) */
    uint8_t ttl;
    uint8_t proto;
    uint32_t src, dst; /* host byte order */
    const uint8_t *options;
    size_t options_len; /* points into the parsed buffer; hdr_len - 20 bytes */
    const uint8_t *payload;
    size_t payload_len; /* total_len - hdr_len; link padding after total_len excluded */
};

/*
 * Parses the IPv4 header at buf (len bytes available, link padding
 * allowed after total_len). Checks, in this order: len >= 20
 * (WIRE_ERR_IP_TRUNCATED); version 4 (WIRE_ERR_IP_VERSION); IHL >= 5 and
 * IHL * 4 <= len (WIRE_ERR_IP_HLEN); IHL * 4 <= total length <= len
 * (WIRE_ERR_IP_TOTLEN); header checksum (WIRE_ERR_IP_CHECKSUM); option list
 * well-formed (WIRE_ERR_IP_OPTION). Options are skipped, not interpreted.
 * On success fills *out (pointers into buf); on error *out is unspecified.
 */
enum wire_err wire_ipv4_parse(const uint8_t *buf, size_t len, struct wire_ipv4 *out);

/* True when the options of a parsed header (wire_ipv4_parse succeeded, so
 * the list is well-formed) hold a Loose or Strict Source and Record Route
 * option (RFC 791 3.1, types 131 and 137). */
bool wire_ipv4_has_source_route(const struct wire_ipv4 *h);

/*
 * Parses the IPv4 header quoted inside an ICMP error (RFC 792: the original
 * header plus at least 64 bits of its data; RFC 1812 4.3.2.3: routers quote
 * as much as fits in 576 bytes, so long datagrams arrive cut short). The same checks as
 * wire_ipv4_parse() except two: total length may exceed len (only a prefix
 * was quoted; it must still be >= the header length, WIRE_ERR_IP_TOTLEN),
 * and the header checksum is not verified (NATs rewrite quoted headers and do
 * not always fix it; the ICMP checksum already covers these bytes). On
 * success payload_len is the part of the original data present in buf,
 * min(total_len, len) - hdr_len.
 */
enum wire_err wire_ipv4_parse_quoted(const uint8_t *buf, size_t len, struct wire_ipv4 *out);

/*
 * Writes exactly WIRE_IPV4_HDR_LEN bytes to buf: IHL 5 (h->hdr_len and
 * h->options are ignored, no options are emitted), total length from
 * h->total_len, flags from df/mf with the reserved bit 0, fragment offset
 * h->frag_off / 8 (the low 3 bits of frag_off are dropped), and the header
 * checksum computed. The caller owns buf, which must hold 20 bytes.
 */
void wire_ipv4_emit(const struct wire_ipv4 *h, uint8_t *buf);

#endif
