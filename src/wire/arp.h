/*
 * src/wire/arp.h: ARP packets (RFC 826) for IPv4 over Ethernet.
 *
 * Layout (RFC 826 "Packet format"): hardware type (2), protocol type (2),
 * hardware address length (1), protocol address length (1), opcode (2),
 * then sender hardware and protocol addresses, target hardware and protocol
 * addresses. tern speaks only <hardware 1 (Ethernet), protocol 0x0800
 * (IPv4)>, so the addresses are 6 and 4 bytes and a packet is 28 bytes;
 * bytes after the 28th (Ethernet padding) are ignored.
 *
 * Parse never reads past len. Emit writes exactly WIRE_ARP_LEN bytes.
 */
#ifndef TERN_WIRE_ARP_H
#define TERN_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_ARP_FIXED_LEN 8  /* the fields before the addresses */
#define WIRE_ARP_LEN       28 /* Ethernet/IPv4 */

#define WIRE_ARP_HTYPE_ETHERNET 1 /* ares_hrd$Ethernet */
#define WIRE_ARP_PTYPE_IPV4     0x0800

enum { WIRE_ARP_OP_REQUEST = 1, WIRE_ARP_OP_REPLY = 2 };

/* Addresses in host order; hardware addresses as bytes. */
struct wire_arp {
    uint16_t op;
    uint8_t sha[6]; /* sender hardware address */
    uint32_t spa;   /* sender protocol address */
    uint8_t tha[6]; /* target hardware address (zero in a request) */
    uint32_t tpa;   /* target protocol address */
};

/*
 * Parses the ARP packet at buf (an Ethernet payload). Checks, in order:
 * len >= 8 (WIRE_ERR_ARP_TRUNCATED); hardware type 1 (WIRE_ERR_ARP_HTYPE);
 * protocol type 0x0800 (WIRE_ERR_ARP_PTYPE); address lengths 6 and 4
 * (WIRE_ERR_ARP_ADDR_LEN); len >= 28 (WIRE_ERR_ARP_TRUNCATED); opcode 1 or
 * 2 (WIRE_ERR_ARP_OP). On error *out is unspecified.
 */
enum wire_err wire_arp_parse(const uint8_t *buf, size_t len, struct wire_arp *out);

/* Writes the 28-byte Ethernet/IPv4 packet to buf (which holds 28 bytes). */
void wire_arp_emit(const struct wire_arp *a, uint8_t *buf);

#endif
