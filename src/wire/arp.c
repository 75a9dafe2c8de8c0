/*
 * src/wire/arp.c: ARP packets (RFC 826), Ethernet/IPv4 only.
 */
#include "wire/arp.h"

#include <string.h>

#include "wire/wire_internal.h"

enum wire_err
wire_arp_parse(const uint8_t *buf, size_t len, struct wire_arp *out)
{
    if (len < WIRE_ARP_FIXED_LEN) {
        return WIRE_ERR_ARP_TRUNCATED;
    }
    /* RFC 826 "Packet Reception": we must have the hardware type and speak
     * the protocol; the lengths are then fixed by those two. */
    if (wire_get16(buf) != WIRE_ARP_HTYPE_ETHERNET) {
        return WIRE_ERR_ARP_HTYPE;
    }
    if (wire_get16(buf + 2) != WIRE_ARP_PTYPE_IPV4) {
        return WIRE_ERR_ARP_PTYPE;
    }
    if (buf[4] != 6 || buf[5] != 4) {
        return WIRE_ERR_ARP_ADDR_LEN;
    }
    if (len < WIRE_ARP_LEN) {
        return WIRE_ERR_ARP_TRUNCATED;
    }
    uint16_t op = wire_get16(buf + 6);
    if (op != WIRE_ARP_OP_REQUEST && op != WIRE_ARP_OP_REPLY) {
        return WIRE_ERR_ARP_OP;
    }
    out->op = op;
    memcpy(out->sha, buf + 8, 6);
    out->spa = wire_get32(buf + 14);
    memcpy(out->tha, buf + 18, 6);
    out->tpa = wire_get32(buf + 24);
    return WIRE_OK;
}

void
wire_arp_emit(const struct wire_arp *a, uint8_t *buf)
{
    wire_put16(buf, WIRE_ARP_HTYPE_ETHERNET);
    wire_put16(buf + 2, WIRE_ARP_PTYPE_IPV4);
    buf[4] = 6;
    buf[5] = 4;
    wire_put16(buf + 6, a->op);
    memcpy(buf + 8, a->sha, 6);
    wire_put32(buf + 14, a->spa);
    memcpy(buf + 18, a->tha, 6);
    wire_put32(buf + 24, a->tpa);
}
