/*
 * src/wire/checksum.h: the Internet checksum (RFC 1071) and its incremental
 * update (RFC 1624).
 *
 * A "partial sum" is the ones'-complement sum of 16-bit big-endian words, not
 * yet folded or complemented, carried in a uint32_t. Start from 0, add chunks
 * with wire_csum_add(), add a pseudo-header with wire_csum_pseudo_v4(), then
 * wire_csum_fold() gives the value to store in the header (host order).
 * Verifying: fold the partial sum of data that includes the stored checksum;
 * the result is 0 when the checksum is right.
 */
#ifndef TERN_WIRE_CHECKSUM_H
#define TERN_WIRE_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Adds len bytes at data (any alignment) to the partial sum `sum` and
 * returns the new partial sum. Words are big-endian; an odd trailing byte is
 * padded with a zero low byte (RFC 1071 section 1). When chaining calls over
 * consecutive chunks of one message, every chunk except the last must have an
 * even length, or the later words would be misaligned. Reads exactly len
 * bytes; data may be NULL when len is 0.
 */
uint32_t wire_csum_add(uint32_t sum, const void *data, size_t len);

/*
 * Folds the carries of a partial sum into 16 bits and returns its ones'
 * complement: the checksum field value, host order.
 */
uint16_t wire_csum_fold(uint32_t sum);

/* The checksum of one buffer: wire_csum_fold(wire_csum_add(0, data, len)). */
uint16_t wire_csum(const void *data, size_t len);

/*
 * Partial sum of the IPv4 pseudo-header used by TCP and UDP (RFC 9293 3.1):
 * source and destination address (host order), zero, protocol, and the
 * length of the TCP/UDP header plus data.
 */
uint32_t wire_csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/*
 * Partial sum of the IPv6 pseudo-header (RFC 8200 8.1) used by TCP, UDP
 * and ICMPv6 (RFC 4443 2.3): the 16-byte source and destination addresses
 * (network order, as on the wire; the final destination when a routing
 * header is present), the 32-bit upper-layer length (header plus data, no
 * extension headers), three zero bytes, and the Next Header value of the
 * upper-layer protocol.
 */
uint32_t wire_csum_pseudo_v6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_header,
                             uint32_t len);

/*
 * The pseudo-header of either family, addresses given as 16 bytes (network
 * order): when both are IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2) the
 * IPv4 pseudo-header of the embedded addresses, else the IPv6 one.
 */
uint32_t wire_csum_pseudo(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                          uint32_t len);

/* True when the 16 bytes at a are an IPv4-mapped address. */
bool wire_ip_is_mapped(const uint8_t a[16]);

/*
 * Incremental update (RFC 1624 eqn. 3): the new checksum field after one
 * aligned 16-bit word of the covered data changes from old_word to new_word,
 * all in host order. Equals a full recomputation except for data that is
 * all zero after the change (RFC 1624 section 3), which no IP/TCP/ICMP
 * header can be.
 */
uint16_t wire_csum_update16(uint16_t old_csum, uint16_t old_word, uint16_t new_word);

#endif
