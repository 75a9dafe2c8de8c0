/*
 * src/wire/icmpv6.h: ICMPv6 (RFC 4443) and the Neighbor Discovery messages
 * it carries (RFC 4861 4.1-4.6).
 *
 * Read before editing: RFC 4443 2 and 3, RFC 4861 4 and the validity
 * checks of 6.1.1, 6.1.2, 7.1.1, 7.1.2 and 8.1.
 *
 * Two levels: wire_icmp6_parse() checks any ICMPv6 message (length,
 * checksum with the pseudo-header) and reads the fields of the RFC 4443
 * types; wire_nd_parse() then applies RFC 4861's validity checks to one of
 * the five ND messages and reads its fields and options. Neither reads past
 * len; output structures point into the parsed buffer.
 */
#ifndef TERN_WIRE_ICMPV6_H
#define TERN_WIRE_ICMPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/ipv6_addr.h"
#include "wire/wire.h"

#define WIRE_ICMP6_HDR_LEN 8

enum {
    WIRE_ICMP6_DEST_UNREACH = 1,
    WIRE_ICMP6_PACKET_TOO_BIG = 2,
    WIRE_ICMP6_TIME_EXCEEDED = 3,
    WIRE_ICMP6_PARAM_PROBLEM = 4,
    WIRE_ICMP6_ECHO_REQUEST = 128,
    WIRE_ICMP6_ECHO_REPLY = 129,
    WIRE_ND_ROUTER_SOLICIT = 133,
    WIRE_ND_ROUTER_ADVERT = 134,
    WIRE_ND_NEIGHBOR_SOLICIT = 135,
    WIRE_ND_NEIGHBOR_ADVERT = 136,
    WIRE_ND_REDIRECT = 137
};

/* Destination Unreachable codes (RFC 4443 3.1). */
enum {
    WIRE_ICMP6_UNREACH_NO_ROUTE = 0,
    WIRE_ICMP6_UNREACH_ADMIN = 1,
    WIRE_ICMP6_UNREACH_BEYOND_SCOPE = 2,
    WIRE_ICMP6_UNREACH_ADDR = 3,
    WIRE_ICMP6_UNREACH_PORT = 4,
    WIRE_ICMP6_UNREACH_POLICY = 5,
    WIRE_ICMP6_UNREACH_REJECT_ROUTE = 6
};

/* Time Exceeded codes (RFC 4443 3.3). */
enum { WIRE_ICMP6_TIME_HOP_LIMIT = 0, WIRE_ICMP6_TIME_REASSEMBLY = 1 };

struct wire_icmp6 {
    uint8_t type, code;
    uint16_t id, seq; /* echo request/reply (RFC 4443 4.1, 4.2) */
    uint32_t mtu;     /* packet too big (3.2), else 0 */
    uint32_t pointer; /* parameter problem (3.4), else 0 */
    uint32_t rest;    /* raw bytes 4..7, big-endian as read */
    const uint8_t *payload;
    size_t payload_len; /* after byte 8: echo data, or the quoted packet of an error */
};

/*
 * Parses the ICMPv6 message at buf (the upper-layer payload, len bytes)
 * sent from src to dst (the pseudo-header's addresses). Checks, in order:
 * len >= 8 (WIRE_ERR_ICMP6_TRUNCATED); the checksum over the pseudo-header
 * (RFC 4443 2.3, Next Header 58) and all len bytes
 * (WIRE_ERR_ICMP6_CHECKSUM); an error message (type < 128) quotes at least
 * an IPv6 header, 40 bytes (WIRE_ERR_ICMP6_ERR_PAYLOAD), which the layer
 * above needs to find whom the error is about. Unknown types parse with
 * only type, code, rest and payload filled (RFC 4443 2.4 (a), (b): the
 * caller passes unknown errors up and drops unknown informational
 * messages). On error *out is unspecified.
 */
enum wire_err wire_icmp6_parse(const uint8_t *buf, size_t len, const struct wire_ipv6_addr *src,
                               const struct wire_ipv6_addr *dst, struct wire_icmp6 *out);

/* True for error messages: types 0-127 (RFC 4443 2.1). */
bool wire_icmp6_is_error(uint8_t type);

/* Bytes wire_icmp6_emit() writes: 8 + h->payload_len. */
size_t wire_icmp6_emit_len(const struct wire_icmp6 *h);

/*
 * Writes the message to buf, which must hold wire_icmp6_emit_len(h) bytes:
 * bytes 4..7 from the type's fields (echo: id, seq; packet too big: mtu;
 * parameter problem: pointer; other types: rest), the payload copied (it may
 * already sit at buf + 8, or overlap), and the checksum over the
 * pseudo-header from src to dst (RFC 4443 2.3). The caller keeps the whole
 * message within the IPv6 minimum MTU for errors (RFC 4443 2.4 (c)).
 */
void wire_icmp6_emit(const struct wire_icmp6 *h, const struct wire_ipv6_addr *src,
                     const struct wire_ipv6_addr *dst, uint8_t *buf);

/* --- Neighbor Discovery (RFC 4861) ---------------------------------------- */

/* Option types (RFC 4861 4.6). */
enum {
    WIRE_ND_OPT_SRC_LLADDR = 1,
    WIRE_ND_OPT_TGT_LLADDR = 2,
    WIRE_ND_OPT_PREFIX = 3,
    WIRE_ND_OPT_REDIRECTED = 4,
    WIRE_ND_OPT_MTU = 5
};

/* RFC 4861 6.1.2: the hop limit every ND message arrives with. */
#define WIRE_ND_HOP_LIMIT 255
/* Most link-layer address bytes kept (RFC 4861 4.6.1: the option holds as
 * many as the link uses; Ethernet's 6 fit a length-1 option). */
#define WIRE_ND_LLADDR_MAX 14

struct wire_nd_prefix {
    uint8_t prefix_len;
    bool on_link;                                /* L flag */
    bool autonomous;                             /* A flag */
    uint32_t valid_lifetime, preferred_lifetime; /* seconds; 0xffffffff: forever */
    struct wire_ipv6_addr prefix;
};

/* One option, as wire_nd_next_option() yields it. */
struct wire_nd_opt {
    uint8_t type;
    uint8_t len8;        /* the length field: 8-byte units, > 0 */
    const uint8_t *data; /* after type and length: len8 * 8 - 2 bytes */
    size_t data_len;
    bool valid; /* for the five known types: the length their RFC section allows */
    struct wire_nd_prefix prefix; /* type 3, valid */
    uint32_t mtu;                 /* type 5, valid */
};

struct wire_nd {
    uint8_t type; /* WIRE_ND_ROUTER_SOLICIT .. WIRE_ND_REDIRECT */
    /* RA (RFC 4861 4.2) */
    uint8_t cur_hop_limit;
    bool managed, other;                    /* M and O flags */
    uint16_t router_lifetime;               /* seconds */
    uint32_t reachable_time, retrans_timer; /* milliseconds */
    /* NS, NA (4.3, 4.4) and redirect (4.5) */
    struct wire_ipv6_addr target;
    struct wire_ipv6_addr dest;       /* redirect only */
    bool router, solicited, override; /* NA: R, S, O flags */
    /* Options (the first valid one of each kind the message may carry;
     * others are ignored, RFC 4861 4.3-4.5 "future versions ...") */
    bool has_src_lladdr, has_tgt_lladdr;
    uint8_t src_lladdr[WIRE_ND_LLADDR_MAX], tgt_lladdr[WIRE_ND_LLADDR_MAX];
    size_t src_lladdr_len, tgt_lladdr_len; /* bytes after type and length, capped */
    bool has_mtu;
    uint32_t mtu;              /* RA */
    size_t n_prefix;           /* valid prefix options in an RA; walk them with
                                  wire_nd_next_option() */
    const uint8_t *redirected; /* redirect: the quoted packet, or NULL */
    size_t redirected_len;
    const uint8_t *options; /* the whole option area, for wire_nd_next_option() */
    size_t options_len;
};

/*
 * Checks the ND message at buf (a whole ICMPv6 message, len bytes, whose
 * checksum wire_icmp6_parse() verified) received from src to dst with IP
 * hop limit hop_limit, and fills *out. Checks, in order:
 *   - type 133-137 (WIRE_ERR_ND_TYPE);
 *   - hop limit 255 (WIRE_ERR_ND_HOP_LIMIT) and code 0 (WIRE_ERR_ND_CODE),
 *     for every type (RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1);
 *   - ICMP length at least the fixed part: RS 8, RA 16, NS and NA 24,
 *     redirect 40 (WIRE_ERR_ND_TRUNCATED);
 *   - RA and redirect: source link-local (WIRE_ERR_ND_SRC);
 *   - every option has a nonzero length (WIRE_ERR_ND_OPT_ZERO_LEN, RFC 4861
 *     4.6) and ends inside the message (WIRE_ERR_ND_OPT_TRUNCATED);
 *   - NS and NA: target not multicast (WIRE_ERR_ND_TARGET); NS from the
 *     unspecified address goes to a solicited-node group and carries no
 *     source link-layer option, RS from it carries none either
 *     (WIRE_ERR_ND_DAD); NA to a multicast destination has S clear
 *     (WIRE_ERR_ND_NA_SOLICITED);
 *   - redirect: destination not multicast, target link-local or equal to the
 *     destination (WIRE_ERR_ND_REDIRECT).
 * Unknown options, known options of the wrong length (e.g. a prefix option
 * that is not 32 bytes) and options the type does not carry are skipped.
 * Checks that need state (the redirect comes from our first-hop router)
 * are the caller's.
 */
enum wire_err wire_nd_parse(const uint8_t *buf, size_t len, const struct wire_ipv6_addr *src,
                            const struct wire_ipv6_addr *dst, uint8_t hop_limit,
                            struct wire_nd *out);

/*
 * Option iterator over an option area wire_nd_parse() accepted: start with
 * *off = 0; each call fills *opt with the option at *off, advances *off and
 * returns true, or returns false at the end (or at a malformed option, so
 * it stops on any area).
 */
bool wire_nd_next_option(const uint8_t *opts, size_t len, size_t *off, struct wire_nd_opt *opt);

/* Emitting ND messages: what wire_nd_emit() writes. */
struct wire_nd_emit {
    uint8_t type;
    /* RA fields, NA flags, targets: as in struct wire_nd */
    uint8_t cur_hop_limit;
    bool managed, other;
    uint16_t router_lifetime;
    uint32_t reachable_time, retrans_timer;
    struct wire_ipv6_addr target, dest;
    bool router, solicited, override;
    /* Options, each emitted when its pointer/flag is set, in this order. */
    const uint8_t *src_lladdr, *tgt_lladdr; /* lladdr_len bytes each */
    size_t lladdr_len;                      /* e.g. 6 for Ethernet */
    bool has_mtu;
    uint32_t mtu;
    const struct wire_nd_prefix *prefixes;
    size_t n_prefixes;
};

/* Bytes wire_nd_emit() writes for m (0 for a type that is not ND). */
size_t wire_nd_emit_len(const struct wire_nd_emit *m);

/*
 * Writes the message into buf (cap bytes) with its checksum from src to
 * dst, options padded to 8-byte multiples with zeros (RFC 4861 4.6).
 * Returns wire_nd_emit_len(m), or 0 without writing when it does not fit or
 * the type is not ND (a redirect is emitted without a redirected header).
 */
size_t wire_nd_emit(const struct wire_nd_emit *m, const struct wire_ipv6_addr *src,
                    const struct wire_ipv6_addr *dst, uint8_t *buf, size_t cap);

#endif
