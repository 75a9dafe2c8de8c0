/*
 * src/wire/tcp.h: the TCP header and its options (RFC 9293 section 3.1;
 * window scale and timestamps RFC 7323; SACK RFC 2018).
 *
 * Parse never reads past len. Emit writes exactly wire_tcp_emit_len() bytes
 * (or nothing, when the buffer is too small). Fields are in host order.
 */
#ifndef TERN_WIRE_TCP_H
#define TERN_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_TCP_HDR_LEN     20 /* fixed part, no options */
#define WIRE_TCP_MAX_OPT_LEN 40 /* data offset is 4 bits of 32-bit words */
#define WIRE_TCP_MAX_SACK    4  /* blocks one SACK option can hold (RFC 2018 3) */

enum {
    WIRE_TCP_FIN = 0x01,
    WIRE_TCP_SYN = 0x02,
    WIRE_TCP_RST = 0x04,
    WIRE_TCP_PSH = 0x08,
    WIRE_TCP_ACK = 0x10,
    WIRE_TCP_URG = 0x20,
    WIRE_TCP_ECE = 0x40,
    WIRE_TCP_CWR = 0x80
};

/* Option kinds (RFC 9293 3.1, RFC 7323, RFC 2018). */
enum {
    WIRE_TCPOPT_EOL = 0,
    WIRE_TCPOPT_NOP = 1,
    WIRE_TCPOPT_MSS = 2,
    WIRE_TCPOPT_WSCALE = 3,
    WIRE_TCPOPT_SACK_PERMITTED = 4,
    WIRE_TCPOPT_SACK = 5,
    WIRE_TCPOPT_TIMESTAMP = 8
};

struct wire_tcp_sack_block {
    uint32_t left, right;
};

struct wire_tcp_opts {
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale; /* raw value as received; the TCP layer clamps to 14 (RFC 7323 2.3) */
    bool sack_permitted;
    uint8_t sack_count;
    struct wire_tcp_sack_block sack[4];
    bool has_ts;
    uint32_t ts_val, ts_ecr;
};

struct wire_tcp {
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t hdr_len; /* bytes */
    uint8_t flags;   /* WIRE_TCP_* bits, raw: the wire layer does not judge combinations, the state
                        machine does (RFC 9293 3.10.7) */
    uint16_t window, checksum, urgent;
    struct wire_tcp_opts opts;
    const uint8_t *payload;
    size_t payload_len;
};

/*
 * Parses the TCP segment at buf (the whole IPv4 payload, len bytes) sent
 * from src to dst (IPv4 addresses, host order). Checks, in order: len >= 20
 * (WIRE_ERR_TCP_TRUNCATED); len <= 65535 (WIRE_ERR_TCP_LENGTH); data offset
 * >= 5 and <= len (WIRE_ERR_TCP_DOFF); checksum with the IPv4 pseudo-header
 * (WIRE_ERR_TCP_CHECKSUM); options, as wire_tcp_parse_options(). The four
 * reserved bits are ignored. On success fills *out (payload points into
 * buf); on error *out is unspecified.
 */
enum wire_err wire_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                             struct wire_tcp *out);

/* wire_tcp_parse() for either family: src and dst are 16-byte addresses
 * (network order), IPv4-mapped for IPv4 (wire_csum_pseudo). */
enum wire_err wire_tcp_parse_ip(const uint8_t *buf, size_t len, const uint8_t src[16],
                                const uint8_t dst[16], struct wire_tcp *out);

/*
 * Parses the option list opt[0..len) into *out (cleared first). EOL ends the
 * list, NOP is one byte, unknown kinds are skipped by their length byte.
 * Errors: WIRE_ERR_TCP_OPT_TRUNCATED (a kind other than EOL/NOP is the last
 * byte), WIRE_ERR_TCP_OPT_LEN (length < 2 or past the end), and
 * WIRE_ERR_TCP_OPT_BADLEN (MSS != 4, WS != 3, SACK-permitted != 2, TS != 10,
 * SACK not 2 + 8n with 1 <= n <= 4). A repeated option overwrites the earlier one.
 */
enum wire_err wire_tcp_parse_options(const uint8_t *opt, size_t len, struct wire_tcp_opts *out);

/*
 * Bytes of options wire_tcp_emit() writes for o, a multiple of 4 and at most
 * 40. The layout: MSS; SACK-permitted+TS together, or NOP NOP SACK-permitted,
 * or NOP NOP TS; NOP WS; NOP NOP SACK with as many of o->sack_count blocks
 * (at most 4) as still fit in 40 bytes.
 */
size_t wire_tcp_options_len(const struct wire_tcp_opts *o);

/* Bytes wire_tcp_emit() writes: 20 + wire_tcp_options_len(&h->opts) + h->payload_len. */
size_t wire_tcp_emit_len(const struct wire_tcp *h);

/*
 * Writes the segment to buf (cap bytes available): the header with data
 * offset from the options (h->hdr_len and h->checksum are ignored), the
 * options as wire_tcp_options_len() describes, the payload (copied; it may
 * already sit in place or overlap buf), and the checksum over the IPv4
 * pseudo-header for src -> dst (host order). Returns the bytes written,
 * wire_tcp_emit_len(h), or 0 without writing if cap is smaller than that or
 * the segment is longer than 65535 bytes.
 */
size_t wire_tcp_emit(const struct wire_tcp *h, uint32_t src, uint32_t dst, uint8_t *buf,
                     size_t cap);

/* wire_tcp_emit() for either family (addresses as wire_tcp_parse_ip()). */
size_t wire_tcp_emit_ip(const struct wire_tcp *h, const uint8_t src[16], const uint8_t dst[16],
                        uint8_t *buf, size_t cap);

#endif
