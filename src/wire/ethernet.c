/*
 * src/wire/ethernet.c: Ethernet II frames (RFC 894).
 */
#include "wire/ethernet.h"

#include <string.h>

#include "wire/wire_internal.h"

enum wire_err
wire_eth_parse(const uint8_t *buf, size_t len, struct wire_eth *out)
{
    if (len < WIRE_ETH_HDR_LEN) {
        return WIRE_ERR_ETH_TRUNCATED;
    }
    uint16_t type = wire_get16(buf + 12);
    /* IEEE 802.3: a value up to 1500 is a length, and 1501..1535 is
     * undefined; only EtherTypes (>= 0x0600) are Ethernet II. */
    if (type < WIRE_ETHERTYPE_MIN) {
        return WIRE_ERR_ETH_NOT_DIX;
    }
    memcpy(out->dst, buf, WIRE_ETH_ADDR_LEN);
    memcpy(out->src, buf + 6, WIRE_ETH_ADDR_LEN);
    out->type = type;
    out->payload = buf + WIRE_ETH_HDR_LEN;
    out->payload_len = len - WIRE_ETH_HDR_LEN;
    return WIRE_OK;
}

size_t
wire_eth_emit_len(const struct wire_eth *h)
{
    size_t n = WIRE_ETH_HDR_LEN + h->payload_len;
    return n < WIRE_ETH_MIN_FRAME ? WIRE_ETH_MIN_FRAME : n;
}

void
wire_eth_emit(const struct wire_eth *h, uint8_t *buf)
{
    if (h->payload_len > 0) {
        memmove(buf + WIRE_ETH_HDR_LEN, h->payload, h->payload_len);
    }
    memcpy(buf, h->dst, WIRE_ETH_ADDR_LEN);
    memcpy(buf + 6, h->src, WIRE_ETH_ADDR_LEN);
    wire_put16(buf + 12, h->type);
    size_t n = WIRE_ETH_HDR_LEN + h->payload_len;
    /* RFC 894: short data is padded to the 46-byte minimum. */
    if (n < WIRE_ETH_MIN_FRAME) {
        memset(buf + n, 0, WIRE_ETH_MIN_FRAME - n);
    }
}

bool
wire_eth_addr_is_broadcast(const uint8_t a[WIRE_ETH_ADDR_LEN])
{
    for (int i = 0; i < WIRE_ETH_ADDR_LEN; i++) {
        if (a[i] != 0xff) {
            return false;
        }
    }
    return true;
}

bool
wire_eth_addr_is_group(const uint8_t a[WIRE_ETH_ADDR_LEN])
{
    return (a[0] & 1) != 0;
}

bool
wire_eth_addr_is_zero(const uint8_t a[WIRE_ETH_ADDR_LEN])
{
    for (int i = 0; i < WIRE_ETH_ADDR_LEN; i++) {
        if (a[i] != 0) {
            return false;
        }
    }
    return true;
}

void
wire_eth_addr_of_ipv4_multicast(uint32_t group, uint8_t out[WIRE_ETH_ADDR_LEN])
{
    out[0] = 0x01;
    out[1] = 0x00;
    out[2] = 0x5e;
    out[3] = (uint8_t)((group >> 16) & 0x7f);
    out[4] = (uint8_t)(group >> 8);
    out[5] = (uint8_t)group;
}
