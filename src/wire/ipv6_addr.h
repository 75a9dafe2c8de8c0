/*
 * src/wire/ipv6_addr.h: IPv6 addresses (RFC 4291): classification, the
 * solicited-node multicast group of an address, and the text form (parse
 * every RFC 4291 2.2 form, format per RFC 5952).
 *
 * Addresses are 16 bytes in network order, wrapped in a struct so that they
 * copy by assignment. Nothing here allocates or keeps state.
 */
#ifndef TERN_WIRE_IPV6_ADDR_H
#define TERN_WIRE_IPV6_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_IPV6_ADDR_LEN 16
/* Longest text form plus its NUL: 8 groups of 4 digits and 7 colons is 39;
 * the IPv4-mapped form "::ffff:255.255.255.255" is shorter. 46 is the
 * INET6_ADDRSTRLEN of RFC 3493 6.1, kept for the same buffers. */
#define WIRE_IPV6_ADDR_TEXT_MAX 46

struct wire_ipv6_addr {
    uint8_t b[WIRE_IPV6_ADDR_LEN];
};

/* Multicast scope values (RFC 4291 2.7 "scop"); unicast addresses map to
 * link-local (fe80::/10 and ::1, RFC 4007 4) or global. */
enum {
    WIRE_IPV6_SCOPE_INTERFACE = 0x1,
    WIRE_IPV6_SCOPE_LINK = 0x2,
    WIRE_IPV6_SCOPE_ADMIN = 0x4,
    WIRE_IPV6_SCOPE_SITE = 0x5,
    WIRE_IPV6_SCOPE_ORG = 0x8,
    WIRE_IPV6_SCOPE_GLOBAL = 0xe
};

bool wire_ipv6_addr_eq(const struct wire_ipv6_addr *a, const struct wire_ipv6_addr *b);
/* :: (RFC 4291 2.5.2). */
bool wire_ipv6_addr_is_unspecified(const struct wire_ipv6_addr *a);
/* ::1 (RFC 4291 2.5.3). */
bool wire_ipv6_addr_is_loopback(const struct wire_ipv6_addr *a);
/* ff00::/8 (RFC 4291 2.7). */
bool wire_ipv6_addr_is_multicast(const struct wire_ipv6_addr *a);
/* fe80::/10 (RFC 4291 2.5.6). */
bool wire_ipv6_addr_is_link_local(const struct wire_ipv6_addr *a);
/* ::ffff:0:0/96 (RFC 4291 2.5.5.2); *v4 (may be NULL) gets the IPv4
 * address in host order. */
bool wire_ipv6_addr_is_v4_mapped(const struct wire_ipv6_addr *a, uint32_t *v4);
/* ::ffff:v4 for an IPv4 address in host order. */
struct wire_ipv6_addr wire_ipv6_addr_v4_mapped(uint32_t v4);
/* The solicited-node group ff02::1:ff00:0/104 plus the address's low 24 bits (RFC 4291 2.7.1). */
bool wire_ipv6_addr_is_solicited_node(const struct wire_ipv6_addr *a);
/* The solicited-node group of a (RFC 4291 2.7.1): ff02::1:ff00:0/104 with
 * the low 24 bits of a. */
struct wire_ipv6_addr wire_ipv6_addr_solicited_node(const struct wire_ipv6_addr *a);
/* The scope: the scop field of a multicast address (RFC 4291 2.7), link
 * for link-local and loopback unicast, global for any other. */
unsigned wire_ipv6_addr_scope(const struct wire_ipv6_addr *a);
/* True when the first prefix_len bits of a and b agree (prefix_len <= 128). */
bool wire_ipv6_addr_prefix_eq(const struct wire_ipv6_addr *a, const struct wire_ipv6_addr *b,
                              unsigned prefix_len);

/*
 * Parses the n characters at s (no NUL needed, none allowed inside) as an
 * IPv6 address in any RFC 4291 2.2 form: eight groups of one to four hex
 * digits (either case), one "::" standing for one or more zero groups, and
 * a dotted-quad IPv4 address in place of the last two groups. Refused: an
 * empty string, a group of five digits, a second "::", a lone ':' at either
 * end, too many or too few groups, an IPv4 part anywhere but the end or with
 * a byte above 255, a leading zero (which some parsers read as octal) or
 * more than three digits; zone suffixes ("%eth0", RFC 4007 11) and
 * prefix lengths ("/64"). Returns true and fills *out, or false with *out
 * unspecified.
 */
bool wire_ipv6_addr_from_text(const char *s, size_t n, struct wire_ipv6_addr *out);

/*
 * Writes the RFC 5952 text form of a to out, NUL-terminated, and returns its
 * length (at most WIRE_IPV6_ADDR_TEXT_MAX - 1): lowercase hex (4.3), no
 * leading zeros (4.1), the longest run of two or more zero groups as "::"
 * (4.2.1-4.2.3; the first run on a tie, a single zero group written "0"),
 * and an IPv4-mapped address in mixed notation "::ffff:a.b.c.d" (5).
 */
size_t wire_ipv6_addr_to_text(const struct wire_ipv6_addr *a, char out[WIRE_IPV6_ADDR_TEXT_MAX]);

#endif
