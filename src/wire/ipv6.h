/*
 * src/wire/ipv6.h: the IPv6 header and its extension-header chain
 * (RFC 8200 sections 3, 4 and 4.1-4.6; RFC 5095 for routing type 0).
 *
 * Read before editing: RFC 8200 sections 3 and 4 whole, RFC 5095 3, RFC 7112
 * (now RFC 8200 4.5's "incomplete header chain" rule).
 *
 * Two steps, both stateless: wire_ipv6_parse() checks the fixed 40-byte
 * header; wire_ipv6_walk() follows Next Header through the extension headers
 * to the upper-layer protocol and reports what it met. Neither reads past
 * len. Errors carry the offset an ICMPv6 Parameter Problem would point at
 * (RFC 4443 3.4: from the start of the invoking packet) and the Parameter
 * Problem code, or tell that the packet is dropped silently.
 */
#ifndef TERN_WIRE_IPV6_H
#define TERN_WIRE_IPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/ipv6_addr.h"
#include "wire/wire.h"

#define WIRE_IPV6_HDR_LEN      40
#define WIRE_IPV6_FRAG_HDR_LEN 8
/* RFC 8200 5: every link carries at least 1280 bytes. */
#define WIRE_IPV6_MIN_MTU 1280
/*
 * Most extension headers the walker follows before it gives up
 * (WIRE_ERR_IP6_EXT_CHAIN). RFC 8200 4.1's order holds at most 6 different
 * ones (hop-by-hop, destination options twice, routing, fragment, AH); a
 * chain longer than this is an attack or a bug, not traffic.
 */
#define WIRE_IPV6_MAX_EXT_HDRS 8
/* Longest run of padding (Pad1 and PadN bytes together) accepted inside one
 * options header: options are aligned to at most 8 bytes, so 7 bytes of
 * padding always suffice (RFC 8200 4.2 and Appendix A). */
#define WIRE_IPV6_MAX_PAD 7

/* Next Header values (IANA "Assigned Internet Protocol Numbers"). */
enum {
    WIRE_IPV6_NH_HOP = 0,
    WIRE_IPV6_NH_TCP = 6,
    WIRE_IPV6_NH_UDP = 17,
    WIRE_IPV6_NH_ROUTING = 43,
    WIRE_IPV6_NH_FRAGMENT = 44,
    WIRE_IPV6_NH_ESP = 50,
    WIRE_IPV6_NH_AH = 51,
    WIRE_IPV6_NH_ICMPV6 = 58,
    WIRE_IPV6_NH_NONE = 59,
    WIRE_IPV6_NH_DSTOPTS = 60
};

/* Options of the hop-by-hop and destination options headers (RFC 8200 4.2). */
enum { WIRE_IPV6_OPT_PAD1 = 0, WIRE_IPV6_OPT_PADN = 1 };

/* RFC 8200 4.2: what the two high bits of an unrecognised option's type ask. */
enum wire_ipv6_opt_action {
    WIRE_IPV6_OPT_SKIP = 0,                /* 00: skip it, go on */
    WIRE_IPV6_OPT_DISCARD = 1,             /* 01: drop the packet silently */
    WIRE_IPV6_OPT_DISCARD_ICMP = 2,        /* 10: drop, Parameter Problem code 2 */
    WIRE_IPV6_OPT_DISCARD_ICMP_UNICAST = 3 /* 11: drop, and the same ICMP
                                              unless the destination is multicast */
};

/* ICMPv6 Parameter Problem codes (RFC 4443 3.4, RFC 8200 4.5 for 3). */
enum {
    WIRE_IPV6_PP_HEADER = 0,      /* erroneous header field */
    WIRE_IPV6_PP_NEXT_HEADER = 1, /* unrecognised Next Header type */
    WIRE_IPV6_PP_OPTION = 2,      /* unrecognised IPv6 option */
    WIRE_IPV6_PP_CHAIN = 3        /* first fragment has an incomplete header chain */
};

struct wire_ipv6 {
    uint8_t tclass;       /* traffic class: DSCP and ECN (RFC 8200 7) */
    uint32_t flow_label;  /* 20 bits (RFC 8200 6) */
    uint16_t payload_len; /* the field: bytes after the fixed header */
    uint8_t next_header;
    uint8_t hop_limit;
    struct wire_ipv6_addr src, dst;
    const uint8_t *payload; /* buf + 40, payload_len bytes; link padding excluded */
};

/*
 * Parses the fixed header at buf (len bytes; bytes past the payload length
 * are link padding and ignored). Checks, in order: len >= 40
 * (WIRE_ERR_IP6_TRUNCATED); version 6 (WIRE_ERR_IP6_VERSION); 40 + payload
 * length <= len (WIRE_ERR_IP6_PAYLOAD_LEN). A payload length of 0 is an
 * empty payload (jumbograms, RFC 2675, are not supported: their hop-by-hop
 * option is refused by the walker as unrecognised). On error *out is
 * unspecified.
 */
enum wire_err wire_ipv6_parse(const uint8_t *buf, size_t len, struct wire_ipv6 *out);

/* Writes exactly WIRE_IPV6_HDR_LEN bytes to buf: version 6 and every field
 * of *h (flow_label masked to 20 bits; h->payload is not used). */
void wire_ipv6_emit(const struct wire_ipv6 *h, uint8_t *buf);

/* What wire_ipv6_walk() found. Offsets count from the first byte of the
 * IPv6 header, as an ICMPv6 Parameter Problem pointer does. */
struct wire_ipv6_chain {
    uint8_t proto;          /* upper-layer Next Header (59: none); for a fragment,
                               the Next Header of the fragment header */
    size_t proto_off;       /* offset of the Next Header field that named proto
                               (6 when no extension header): the pointer of a
                               code-1 Parameter Problem if proto is unknown */
    size_t hdr_len;         /* offset of the upper-layer header (or fragment data) */
    const uint8_t *payload; /* pkt + hdr_len */
    size_t payload_len;     /* to the end of the IPv6 payload */
    unsigned n_ext;         /* extension headers walked */
    bool has_hbh;
    bool has_routing; /* a routing header with segments left 0 (ignored) */
    uint8_t rh_type, rh_segments_left;
    bool has_frag;     /* a fragment header: see frag_* */
    bool frag_atomic;  /* offset 0 and M 0: the whole packet, RFC 8200 4.5 */
    bool frag_more;    /* M flag */
    uint16_t frag_off; /* bytes (the field * 8) */
    uint32_t frag_id;
    size_t frag_hdr_off; /* offset of the fragment header: the unfragmentable
                            part is everything before it */

    /* On error: */
    size_t err_ptr;   /* the Parameter Problem pointer */
    int err_icmp;     /* the Parameter Problem code to send, or -1: drop silently */
    uint8_t opt_type; /* WIRE_ERR_IP6_OPT_UNKNOWN: the option's type */
    enum wire_ipv6_opt_action opt_action; /* and its action bits */
};

/*
 * Walks the extension headers of a packet wire_ipv6_parse() accepted (pkt
 * is the same buffer, h its result). Follows Next Header through hop-by-hop
 * (only right after the fixed header, RFC 8200 4.1: elsewhere
 * WIRE_ERR_IP6_HBH_NOT_FIRST), destination options and routing headers
 * (options checked, see below; routing headers with segments left > 0 are
 * refused: this host implements no routing type, and type 0 is deprecated,
 * RFC 5095 3: WIRE_ERR_IP6_RH0 / WIRE_ERR_IP6_RH_UNKNOWN), and stops at:
 *   - any other Next Header (TCP, UDP, ICMPv6, ESP, AH, 59 or an unknown
 *     value; the caller refuses what it does not know with proto_off);
 *   - a fragment header that is not atomic (offset or M nonzero): what
 *     follows it is fragment data. Its checks (RFC 8200 4.5): with M set the
 *     fragment data is a multiple of 8 bytes (WIRE_ERR_IP6_FRAG_LEN), the
 *     reassembled payload fits 65535 bytes (WIRE_ERR_IP6_FRAG_END: the
 *     headers before the fragment header, plus offset, plus data), and a first fragment
 *     (offset 0) holds the whole rest of the extension-header chain
 *     (WIRE_ERR_IP6_FRAG_CHAIN). An atomic fragment is reported and walked
 *     through (RFC 8200 4.5, RFC 6946).
 * Every header must fit in the payload (WIRE_ERR_IP6_EXT_TRUNCATED) and at
 * most WIRE_IPV6_MAX_EXT_HDRS are followed (WIRE_ERR_IP6_EXT_CHAIN).
 *
 * Options (RFC 8200 4.2): Pad1 and PadN are checked (PadN data zero and no
 * more than WIRE_IPV6_MAX_PAD bytes of padding in a row, else
 * WIRE_ERR_IP6_OPT_PAD; RFC 8200 4.2 defines PadN's data as zeros and
 * Appendix A needs at most 7 bytes); an option running past its header is
 * WIRE_ERR_IP6_OPT_TRUNCATED; every other option is unrecognised here, and
 * its two high type bits decide: skip (00) or WIRE_ERR_IP6_OPT_UNKNOWN with
 * opt_type, opt_action and err_icmp set (2 for action 10, and for 11 unless
 * h->dst is multicast; otherwise -1).
 *
 * On success fills *out; on error fills err_ptr, err_icmp (and the opt_*
 * fields for WIRE_ERR_IP6_OPT_UNKNOWN); the rest is unspecified.
 */
enum wire_err wire_ipv6_walk(const uint8_t *pkt, const struct wire_ipv6 *h,
                             struct wire_ipv6_chain *out);

/* Writes the 8-byte fragment header (RFC 8200 4.5): next header, offset in
 * bytes (the low 3 bits are dropped), M flag, identification. */
void wire_ipv6_frag_emit(uint8_t *buf, uint8_t next_header, uint16_t frag_off, bool more,
                         uint32_t id);

#endif
