/*
 * src/wire/ipv4.c: IPv4 header parse and emit (RFC 791 section 3.1).
 */
#include "wire/ipv4.h"

#include "wire/checksum.h"
#include "wire/wire_internal.h"

/*
 * RFC 791 3.1 "Options": EOL ends the list, NOP is a single byte, and every
 * other option is kind, length (counting both bytes), data. Checks only that
 * each option stays inside the header.
 */
static enum wire_err
check_options(const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == WIRE_IPOPT_EOL) {
            break;
        }
        if (kind == WIRE_IPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2) {
            return WIRE_ERR_IP_OPTION;
        }
        uint8_t olen = opt[i + 1];
        if (olen < 2 || olen > len - i) {
            return WIRE_ERR_IP_OPTION;
        }
        i += olen;
    }
    return WIRE_OK;
}

bool
wire_ipv4_has_source_route(const struct wire_ipv4 *h)
{
    const uint8_t *opt = h->options;
    size_t len = h->options_len;
    size_t i = 0;
    /* The list was checked by check_options(): every length is >= 2 and
     * stays inside it. */
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == WIRE_IPOPT_EOL) {
            break;
        }
        if (kind == WIRE_IPOPT_NOP) {
            i++;
            continue;
        }
        if (kind == WIRE_IPOPT_LSRR || kind == WIRE_IPOPT_SSRR) {
            return true;
        }
        if (len - i < 2 || opt[i + 1] < 2) {
            break; /* not a checked list: stop rather than loop */
        }
        i += opt[i + 1];
    }
    return false;
}

/* The checks both parsers share; `quoted` relaxes the two that an ICMP quote fails. */
static enum wire_err
parse_header(const uint8_t *buf, size_t len, bool quoted, struct wire_ipv4 *out)
{
    if (len < WIRE_IPV4_HDR_LEN) {
        return WIRE_ERR_IP_TRUNCATED;
    }
    if (buf[0] >> 4 != 4) {
        return WIRE_ERR_IP_VERSION;
    }
    /* IHL counts 32-bit words; 5 is the minimum (RFC 791 3.1). */
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    if (hl < WIRE_IPV4_HDR_LEN || hl > len) {
        return WIRE_ERR_IP_HLEN;
    }
    /* Total length covers header and data; bytes after it are link padding. */
    uint16_t total = wire_get16(buf + 2);
    if (total < hl || (!quoted && total > len)) {
        return WIRE_ERR_IP_TOTLEN;
    }
    /* The checksum covers the header only, options included. */
    if (!quoted && wire_csum(buf, hl) != 0) {
        return WIRE_ERR_IP_CHECKSUM;
    }
    enum wire_err err = check_options(buf + WIRE_IPV4_HDR_LEN, hl - WIRE_IPV4_HDR_LEN);
    if (err != WIRE_OK) {
        return err;
    }

    uint16_t frag = wire_get16(buf + 6);
    out->hdr_len = (uint8_t)hl;
    out->tos = buf[1];
    out->total_len = total;
    out->id = wire_get16(buf + 4);
    /* Flags: bit 0 reserved (ignored here), DF, MF; offset in 8-byte units. */
    out->df = (frag & 0x4000) != 0;
    out->mf = (frag & 0x2000) != 0;
    out->frag_off = (uint16_t)((frag & 0x1fff) * 8);
    out->ttl = buf[8];
    out->proto = buf[9];
    out->src = wire_get32(buf + 12);
    out->dst = wire_get32(buf + 16);
    out->options = buf + WIRE_IPV4_HDR_LEN;
    out->options_len = hl - WIRE_IPV4_HDR_LEN;
    out->payload = buf + hl;
    out->payload_len = (total < len ? total : len) - hl;
    return WIRE_OK;
}

enum wire_err
wire_ipv4_parse(const uint8_t *buf, size_t len, struct wire_ipv4 *out)
{
    return parse_header(buf, len, false, out);
}

enum wire_err
wire_ipv4_parse_quoted(const uint8_t *buf, size_t len, struct wire_ipv4 *out)
{
    return parse_header(buf, len, true, out);
}

void
wire_ipv4_emit(const struct wire_ipv4 *h, uint8_t *buf)
{
    uint16_t frag = (uint16_t)((h->frag_off >> 3) & 0x1fff);
    if (h->df) {
        frag |= 0x4000;
    }
    if (h->mf) {
        frag |= 0x2000;
    }
    buf[0] = 0x45; /* version 4, IHL 5 */
    buf[1] = h->tos;
    wire_put16(buf + 2, h->total_len);
    wire_put16(buf + 4, h->id);
    wire_put16(buf + 6, frag);
    buf[8] = h->ttl;
    buf[9] = h->proto;
    wire_put16(buf + 10, 0);
    wire_put32(buf + 12, h->src);
    wire_put32(buf + 16, h->dst);
    /* RFC 791 3.1: checksum computed with the field itself zero. */
    wire_put16(buf + 10, wire_csum(buf, WIRE_IPV4_HDR_LEN));
}
