/*
 * src/wire/icmp.c: ICMP message parse and emit (RFC 792, RFC 1191 4).
 */
#include "wire/icmp.h"

#include <string.h>

#include "wire/checksum.h"
#include "wire/wire_internal.h"

bool
wire_icmp_is_error(uint8_t type)
{
    switch (type) {
    case WIRE_ICMP_DEST_UNREACH:
    case WIRE_ICMP_SOURCE_QUENCH:
    case WIRE_ICMP_REDIRECT:
    case WIRE_ICMP_TIME_EXCEEDED:
    case WIRE_ICMP_PARAM_PROBLEM:
        return true;
    default:
        return false;
    }
}

static bool
is_frag_needed(uint8_t type, uint8_t code)
{
    return type == WIRE_ICMP_DEST_UNREACH && code == WIRE_ICMP_UNREACH_FRAG_NEEDED;
}

enum wire_err
wire_icmp_parse(const uint8_t *buf, size_t len, struct wire_icmp *out)
{
    if (len < WIRE_ICMP_HDR_LEN) {
        return WIRE_ERR_ICMP_TRUNCATED;
    }
    /* RFC 792: the checksum covers the whole ICMP message. */
    if (wire_csum(buf, len) != 0) {
        return WIRE_ERR_ICMP_CHECKSUM;
    }
    /* RFC 792: error messages quote the offending IP header plus 64 bits of
     * its data; the layer above needs at least the IP header to match it. */
    if (wire_icmp_is_error(buf[0]) && len - WIRE_ICMP_HDR_LEN < 20) {
        return WIRE_ERR_ICMP_ERR_PAYLOAD;
    }

    memset(out, 0, sizeof *out);
    out->type = buf[0];
    out->code = buf[1];
    out->rest = wire_get32(buf + 4);
    out->payload = buf + WIRE_ICMP_HDR_LEN;
    out->payload_len = len - WIRE_ICMP_HDR_LEN;
    switch (out->type) {
    case WIRE_ICMP_ECHO_REQUEST:
    case WIRE_ICMP_ECHO_REPLY:
        out->id = wire_get16(buf + 4);
        out->seq = wire_get16(buf + 6);
        break;
    case WIRE_ICMP_DEST_UNREACH:
        /* RFC 1191 4: low 16 bits of the unused word carry the next-hop MTU. */
        if (is_frag_needed(out->type, out->code)) {
            out->next_hop_mtu = wire_get16(buf + 6);
        }
        break;
    case WIRE_ICMP_PARAM_PROBLEM:
        out->pointer = buf[4];
        break;
    case WIRE_ICMP_REDIRECT:
        out->gateway = out->rest;
        break;
    default:
        break;
    }
    return WIRE_OK;
}

size_t
wire_icmp_emit_len(const struct wire_icmp *h)
{
    return WIRE_ICMP_HDR_LEN + h->payload_len;
}

void
wire_icmp_emit(const struct wire_icmp *h, uint8_t *buf)
{
    /* Move the payload first: it may overlap the header bytes written below. */
    if (h->payload_len > 0 && h->payload != buf + WIRE_ICMP_HDR_LEN) {
        memmove(buf + WIRE_ICMP_HDR_LEN, h->payload, h->payload_len);
    }
    buf[0] = h->type;
    buf[1] = h->code;
    wire_put16(buf + 2, 0);
    switch (h->type) {
    case WIRE_ICMP_ECHO_REQUEST:
    case WIRE_ICMP_ECHO_REPLY:
        wire_put16(buf + 4, h->id);
        wire_put16(buf + 6, h->seq);
        break;
    case WIRE_ICMP_PARAM_PROBLEM:
        wire_put32(buf + 4, (uint32_t)h->pointer << 24);
        break;
    case WIRE_ICMP_REDIRECT:
        wire_put32(buf + 4, h->gateway);
        break;
    default:
        if (is_frag_needed(h->type, h->code)) {
            wire_put32(buf + 4, h->next_hop_mtu);
        } else {
            wire_put32(buf + 4, h->rest);
        }
        break;
    }
    wire_put16(buf + 2, wire_csum(buf, WIRE_ICMP_HDR_LEN + h->payload_len));
}
