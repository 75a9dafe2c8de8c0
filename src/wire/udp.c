/*
 * src/wire/udp.c: UDP header parse and emit.
 *
 * Read before editing: RFC 768 (all of it: it is three pages), RFC 1122
 * 4.1.3.4 (checksum rules for hosts).
 */
#include "wire/udp.h"

#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/wire_internal.h"

/* The pseudo-header's addresses: IPv4 (host order) or 16-byte forms. */
struct pseudo {
    const uint8_t *src6, *dst6; /* NULL: IPv4 */
    uint32_t src, dst;
};

static uint32_t
pseudo_sum(const struct pseudo *p, uint16_t ulen)
{
    return p->src6 != NULL ? wire_csum_pseudo(p->src6, p->dst6, WIRE_IPPROTO_UDP, ulen)
                           : wire_csum_pseudo_v4(p->src, p->dst, WIRE_IPPROTO_UDP, ulen);
}

static enum wire_err parse(const uint8_t *buf, size_t len, const struct pseudo *p, bool v6,
                           struct wire_udp *out);
static size_t emit_hdr(uint8_t hdr[WIRE_UDP_HDR_LEN], const struct pseudo *p, uint16_t sport,
                       uint16_t dport, size_t payload_len, uint32_t payload_sum);

enum wire_err
wire_udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, struct wire_udp *out)
{
    struct pseudo p = {.src = src, .dst = dst};
    return parse(buf, len, &p, false, out);
}

enum wire_err
wire_udp_parse_ip(const uint8_t *buf, size_t len, const uint8_t src[16], const uint8_t dst[16],
                  struct wire_udp *out)
{
    struct pseudo p = {.src6 = src, .dst6 = dst};
    return parse(buf, len, &p, !(wire_ip_is_mapped(src) && wire_ip_is_mapped(dst)), out);
}

size_t
wire_udp_emit_hdr(uint8_t hdr[WIRE_UDP_HDR_LEN], uint32_t src, uint16_t sport, uint32_t dst,
                  uint16_t dport, size_t payload_len, uint32_t payload_sum)
{
    struct pseudo p = {.src = src, .dst = dst};
    return emit_hdr(hdr, &p, sport, dport, payload_len, payload_sum);
}

size_t
wire_udp_emit_hdr_ip(uint8_t hdr[WIRE_UDP_HDR_LEN], const uint8_t src[16], uint16_t sport,
                     const uint8_t dst[16], uint16_t dport, size_t payload_len,
                     uint32_t payload_sum)
{
    struct pseudo p = {.src6 = src, .dst6 = dst};
    return emit_hdr(hdr, &p, sport, dport, payload_len, payload_sum);
}

static enum wire_err
parse(const uint8_t *buf, size_t len, const struct pseudo *p, bool v6, struct wire_udp *out)
{
    if (len < WIRE_UDP_HDR_LEN) {
        return WIRE_ERR_UDP_TRUNCATED;
    }
    /* RFC 768: the length counts header and data; it cannot exceed what IP
     * delivered, and cannot be smaller than the header. */
    uint16_t ulen = wire_get16(buf + 4);
    if (ulen < WIRE_UDP_HDR_LEN || ulen > len) {
        return WIRE_ERR_UDP_LENGTH;
    }
    uint16_t csum = wire_get16(buf + 6);
    /* RFC 768 / RFC 1122 4.1.3.4: a zero field says the sender computed no
     * checksum (IPv4 only: over IPv6 the checksum is mandatory and a zero
     * field is discarded, RFC 8200 8.1); any other value must verify. */
    if (csum == 0 && v6) {
        return WIRE_ERR_UDP_CHECKSUM;
    }
    if (csum != 0) {
        uint32_t sum = pseudo_sum(p, ulen);
        if (wire_csum_fold(wire_csum_add(sum, buf, ulen)) != 0) {
            return WIRE_ERR_UDP_CHECKSUM;
        }
    }
    out->src_port = wire_get16(buf);
    out->dst_port = wire_get16(buf + 2);
    out->length = ulen;
    out->checksum = csum;
    out->payload = buf + WIRE_UDP_HDR_LEN;
    out->payload_len = (size_t)ulen - WIRE_UDP_HDR_LEN;
    return WIRE_OK;
}

static size_t
emit_hdr(uint8_t hdr[WIRE_UDP_HDR_LEN], const struct pseudo *p, uint16_t sport, uint16_t dport,
         size_t payload_len, uint32_t payload_sum)
{
    if (payload_len > WIRE_UDP_MAX_LEN - WIRE_UDP_HDR_LEN) {
        return 0;
    }
    uint16_t ulen = (uint16_t)(payload_len + WIRE_UDP_HDR_LEN);
    wire_put16(hdr, sport);
    wire_put16(hdr + 2, dport);
    wire_put16(hdr + 4, ulen);
    wire_put16(hdr + 6, 0);
    uint32_t sum = pseudo_sum(p, ulen);
    sum = wire_csum_add(sum, hdr, WIRE_UDP_HDR_LEN);
    /* Partial sums add in ones' complement; fold the payload's carries in
     * so the addition below cannot overflow 32 bits. */
    while (payload_sum >> 16) {
        payload_sum = (payload_sum & 0xffff) + (payload_sum >> 16);
    }
    uint16_t c = wire_csum_fold(sum + payload_sum);
    /* RFC 768: a computed zero is sent as all ones, since zero means "none". */
    wire_put16(hdr + 6, c == 0 ? 0xffff : c);
    return WIRE_UDP_HDR_LEN;
}
