/*
 * src/wire/ethernet.h: Ethernet II framing (the "DIX" encapsulation of
 * RFC 894) for IPv4 and ARP.
 *
 * A frame as tern sees it: destination (6), source (6), EtherType (2), then
 * the payload; no preamble and no frame check sequence (drivers such as TAP
 * and AF_PACKET neither give nor take them). On the wire a frame is at least
 * 60 bytes without the FCS, so emit pads short payloads with zeros (RFC 894:
 * the data field is padded to the 46-byte minimum). Parse accepts frames
 * shorter than 60 bytes (a veth or TAP device hands them over unpadded) and
 * leaves any padding in the payload, which the upper layer trims with its
 * own length field.
 *
 * Parse never reads past len. Emit writes exactly wire_eth_emit_len() bytes.
 */
#ifndef TERN_WIRE_ETHERNET_H
#define TERN_WIRE_ETHERNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_ETH_ADDR_LEN  6
#define WIRE_ETH_HDR_LEN   14
#define WIRE_ETH_MIN_FRAME 60 /* without the 4-byte FCS: 64 on the wire */

/* RFC 894 / IEEE registry. Values below 0x0600 are IEEE 802.3 lengths. */
#define WIRE_ETHERTYPE_MIN  0x0600
#define WIRE_ETHERTYPE_IPV4 0x0800
#define WIRE_ETHERTYPE_ARP  0x0806
#define WIRE_ETHERTYPE_IPV6 0x86dd

struct wire_eth {
    uint8_t dst[WIRE_ETH_ADDR_LEN];
    uint8_t src[WIRE_ETH_ADDR_LEN];
    uint16_t type;          /* EtherType, host order */
    const uint8_t *payload; /* parse: points into the frame; emit: the data to copy */
    size_t payload_len;     /* parse: everything after the header, padding included */
};

/*
 * Parses the frame at buf. Checks, in order: len >= 14
 * (WIRE_ERR_ETH_TRUNCATED); the type field is an EtherType, >= 0x0600, not
 * an IEEE 802.3 length (WIRE_ERR_ETH_NOT_DIX). On success fills *out
 * (payload points into buf); on error *out is unspecified.
 */
enum wire_err wire_eth_parse(const uint8_t *buf, size_t len, struct wire_eth *out);

/* Bytes wire_eth_emit() writes: 14 + payload_len, at least 60. */
size_t wire_eth_emit_len(const struct wire_eth *h);

/*
 * Writes the frame to buf, which must hold wire_eth_emit_len(h) bytes: the
 * header, the payload (copied with memmove, so it may already sit at
 * buf + 14) and zero padding up to 60 bytes.
 */
void wire_eth_emit(const struct wire_eth *h, uint8_t *buf);

/* Address predicates. The broadcast address is all ones; a group
 * (multicast or broadcast) address has the low bit of its first byte set. */
bool wire_eth_addr_is_broadcast(const uint8_t a[WIRE_ETH_ADDR_LEN]);
bool wire_eth_addr_is_group(const uint8_t a[WIRE_ETH_ADDR_LEN]);
bool wire_eth_addr_is_zero(const uint8_t a[WIRE_ETH_ADDR_LEN]);

/* RFC 1112 6.4: the Ethernet group address of an IPv4 multicast address
 * (01:00:5e plus its low 23 bits). */
void wire_eth_addr_of_ipv4_multicast(uint32_t group, uint8_t out[WIRE_ETH_ADDR_LEN]);

#endif
