/*
 * src/wire/ipv6.c: IPv6 header parse and emit, extension-header walk
 * (RFC 8200 3, 4; RFC 5095).
 */
#include "wire/ipv6.h"

#include <string.h>

#include "wire/wire_internal.h"

enum wire_err
wire_ipv6_parse(const uint8_t *buf, size_t len, struct wire_ipv6 *out)
{
    if (len < WIRE_IPV6_HDR_LEN) {
        return WIRE_ERR_IP6_TRUNCATED;
    }
    /* RFC 8200 3: version, 8 bits of traffic class, 20 of flow label. */
    if (buf[0] >> 4 != 6) {
        return WIRE_ERR_IP6_VERSION;
    }
    /* RFC 8200 3: the payload length counts every byte after the fixed
     * header, extension headers included; more bytes are link padding. */
    uint16_t plen = wire_get16(buf + 4);
    if ((size_t)plen > len - WIRE_IPV6_HDR_LEN) {
        return WIRE_ERR_IP6_PAYLOAD_LEN;
    }
    out->tclass = (uint8_t)((buf[0] & 0x0f) << 4 | buf[1] >> 4);
    out->flow_label = (uint32_t)(buf[1] & 0x0f) << 16 | wire_get16(buf + 2);
    out->payload_len = plen;
    out->next_header = buf[6];
    out->hop_limit = buf[7];
    memcpy(out->src.b, buf + 8, WIRE_IPV6_ADDR_LEN);
    memcpy(out->dst.b, buf + 24, WIRE_IPV6_ADDR_LEN);
    out->payload = buf + WIRE_IPV6_HDR_LEN;
    return WIRE_OK;
}

void
wire_ipv6_emit(const struct wire_ipv6 *h, uint8_t *buf)
{
    buf[0] = (uint8_t)(0x60 | h->tclass >> 4);
    buf[1] = (uint8_t)((h->tclass & 0x0f) << 4 | ((h->flow_label >> 16) & 0x0f));
    wire_put16(buf + 2, (uint16_t)h->flow_label);
    wire_put16(buf + 4, h->payload_len);
    buf[6] = h->next_header;
    buf[7] = h->hop_limit;
    memcpy(buf + 8, h->src.b, WIRE_IPV6_ADDR_LEN);
    memcpy(buf + 24, h->dst.b, WIRE_IPV6_ADDR_LEN);
}

void
wire_ipv6_frag_emit(uint8_t *buf, uint8_t next_header, uint16_t frag_off, bool more, uint32_t id)
{
    /* RFC 8200 4.5: next header, reserved byte, 13-bit offset in 8-byte
     * units, 2 reserved bits, M; then the identification. */
    buf[0] = next_header;
    buf[1] = 0;
    wire_put16(buf + 2, (uint16_t)((frag_off & 0xfff8) | (more ? 1 : 0)));
    wire_put32(buf + 4, id);
}

/* Records an error's Parameter Problem pointer and code (-1: none). */
static enum wire_err
fail(struct wire_ipv6_chain *out, enum wire_err err, size_t ptr, int icmp)
{
    out->err_ptr = ptr;
    out->err_icmp = icmp;
    return err;
}

/*
 * The TLV options of a hop-by-hop or destination options header, bytes
 * [i, stop) of pkt (RFC 8200 4.2).
 */
static enum wire_err
check_options(const uint8_t *pkt, size_t i, size_t stop, bool dst_multicast,
              struct wire_ipv6_chain *out)
{
    size_t pad = 0; /* padding bytes in a row */
    while (i < stop) {
        uint8_t type = pkt[i];
        if (type == WIRE_IPV6_OPT_PAD1) {
            /* RFC 8200 4.2: Pad1 is a lone byte, no length or data. */
            if (++pad > WIRE_IPV6_MAX_PAD) {
                return fail(out, WIRE_ERR_IP6_OPT_PAD, i, -1);
            }
            i++;
            continue;
        }
        if (stop - i < 2) {
            return fail(out, WIRE_ERR_IP6_OPT_TRUNCATED, i, -1);
        }
        size_t olen = pkt[i + 1];
        if (olen > stop - i - 2) {
            return fail(out, WIRE_ERR_IP6_OPT_TRUNCATED, i + 1, -1);
        }
        if (type == WIRE_IPV6_OPT_PADN) {
            /* RFC 8200 4.2: PadN carries N-2 zero bytes. */
            for (size_t k = 0; k < olen; k++) {
                if (pkt[i + 2 + k] != 0) {
                    return fail(out, WIRE_ERR_IP6_OPT_PAD, i + 2 + k, -1);
                }
            }
            pad += 2 + olen;
            if (pad > WIRE_IPV6_MAX_PAD) {
                return fail(out, WIRE_ERR_IP6_OPT_PAD, i, -1);
            }
        } else {
            pad = 0;
            /* RFC 8200 4.2: an option we do not know is handled as the two
             * high-order bits of its type say. */
            enum wire_ipv6_opt_action act = (enum wire_ipv6_opt_action)(type >> 6);
            if (act != WIRE_IPV6_OPT_SKIP) {
                out->opt_type = type;
                out->opt_action = act;
                bool icmp = act == WIRE_IPV6_OPT_DISCARD_ICMP ||
                            (act == WIRE_IPV6_OPT_DISCARD_ICMP_UNICAST && !dst_multicast);
                return fail(out, WIRE_ERR_IP6_OPT_UNKNOWN, i, icmp ? WIRE_IPV6_PP_OPTION : -1);
            }
        }
        i += 2 + olen;
    }
    return WIRE_OK;
}

/* Length of the extension header at pkt + off with Next Header value nh,
 * or 0 when nh is not one whose length this walk knows how to read. The
 * caller has checked that two bytes are there. */
static size_t
ext_len(const uint8_t *pkt, size_t off, uint8_t nh)
{
    switch (nh) {
    case WIRE_IPV6_NH_HOP:
    case WIRE_IPV6_NH_ROUTING:
    case WIRE_IPV6_NH_DSTOPTS:
        /* RFC 8200 4.3, 4.4, 4.6: Hdr Ext Len is in 8-byte units, not
         * counting the first 8 bytes. */
        return ((size_t)pkt[off + 1] + 1) * 8;
    case WIRE_IPV6_NH_FRAGMENT:
        return WIRE_IPV6_FRAG_HDR_LEN;
    case WIRE_IPV6_NH_AH:
        /* RFC 4302 2.2: Payload Len is in 4-byte units, minus 2. */
        return ((size_t)pkt[off + 1] + 2) * 4;
    default:
        return 0;
    }
}

/*
 * RFC 8200 4.5: a first fragment must carry every extension header up to
 * the upper-layer header. True when the chain starting at off with Next
 * Header nh ends (at an upper-layer header or 59) inside [off, end).
 */
static bool
chain_complete(const uint8_t *pkt, size_t off, size_t end, uint8_t nh)
{
    for (unsigned n = 0; n <= WIRE_IPV6_MAX_EXT_HDRS; n++) {
        if (nh != WIRE_IPV6_NH_HOP && nh != WIRE_IPV6_NH_ROUTING && nh != WIRE_IPV6_NH_DSTOPTS &&
            nh != WIRE_IPV6_NH_FRAGMENT && nh != WIRE_IPV6_NH_AH) {
            return true;
        }
        if (end - off < 2) {
            return false;
        }
        size_t hl = ext_len(pkt, off, nh);
        if (hl > end - off) {
            return false;
        }
        nh = pkt[off];
        off += hl;
    }
    return true; /* too long to judge here; the walk after reassembly refuses it */
}

enum wire_err
wire_ipv6_walk(const uint8_t *pkt, const struct wire_ipv6 *h, struct wire_ipv6_chain *out)
{
    memset(out, 0, sizeof *out);
    out->err_icmp = -1;
    const size_t end = WIRE_IPV6_HDR_LEN + (size_t)h->payload_len;
    const bool mcast = wire_ipv6_addr_is_multicast(&h->dst);
    uint8_t nh = h->next_header;
    size_t nh_off = 6; /* the fixed header's Next Header field */
    size_t off = WIRE_IPV6_HDR_LEN;

    for (;;) {
        bool ext = nh == WIRE_IPV6_NH_HOP || nh == WIRE_IPV6_NH_DSTOPTS ||
                   nh == WIRE_IPV6_NH_ROUTING || nh == WIRE_IPV6_NH_FRAGMENT;
        if (!ext) {
            break; /* upper layer, 59, ESP, AH or unknown: the caller's */
        }
        /* RFC 8200 4.1: hop-by-hop only right after the IPv6 header; a
         * node treats it elsewhere as an unrecognised Next Header. */
        if (nh == WIRE_IPV6_NH_HOP && off != WIRE_IPV6_HDR_LEN) {
            return fail(out, WIRE_ERR_IP6_HBH_NOT_FIRST, nh_off, WIRE_IPV6_PP_NEXT_HEADER);
        }
        if (out->n_ext == WIRE_IPV6_MAX_EXT_HDRS) {
            return fail(out, WIRE_ERR_IP6_EXT_CHAIN, nh_off, -1);
        }
        if (end - off < 2) {
            return fail(out, WIRE_ERR_IP6_EXT_TRUNCATED, off < end ? off : nh_off, -1);
        }
        size_t hl = ext_len(pkt, off, nh);
        if (hl > end - off) {
            /* The header's own length field (the fragment header has none). */
            return fail(out, WIRE_ERR_IP6_EXT_TRUNCATED,
                        nh == WIRE_IPV6_NH_FRAGMENT ? off : off + 1, -1);
        }
        out->n_ext++;

        if (nh == WIRE_IPV6_NH_HOP || nh == WIRE_IPV6_NH_DSTOPTS) {
            out->has_hbh |= nh == WIRE_IPV6_NH_HOP;
            enum wire_err err = check_options(pkt, off + 2, off + hl, mcast, out);
            if (err != WIRE_OK) {
                return err;
            }
        } else if (nh == WIRE_IPV6_NH_ROUTING) {
            uint8_t type = pkt[off + 2], left = pkt[off + 3];
            /* RFC 8200 4.4: a routing type we do not implement (that is
             * every type) is ignored when no segments are left, refused
             * with a code-0 Parameter Problem at the type field otherwise.
             * RFC 5095 3: type 0 is deprecated and treated so. */
            if (left != 0) {
                return fail(out, type == 0 ? WIRE_ERR_IP6_RH0 : WIRE_ERR_IP6_RH_UNKNOWN, off + 2,
                            WIRE_IPV6_PP_HEADER);
            }
            out->has_routing = true;
            out->rh_type = type;
            out->rh_segments_left = left;
        } else { /* fragment, RFC 8200 4.5 */
            uint16_t fo = wire_get16(pkt + off + 2);
            out->has_frag = true;
            out->frag_off = (uint16_t)(fo & 0xfff8);
            out->frag_more = (fo & 1) != 0;
            out->frag_id = wire_get32(pkt + off + 4);
            out->frag_hdr_off = off;
            /* An atomic fragment is the whole packet: go on through it. (A
             * later fragment header overrides what an earlier one said.) */
            out->frag_atomic = out->frag_off == 0 && !out->frag_more;
            if (!out->frag_atomic) {
                size_t data = end - off - WIRE_IPV6_FRAG_HDR_LEN;
                /* Every fragment but the last is a multiple of 8 bytes;
                 * the pointer is the payload length field. */
                if (out->frag_more && data % 8 != 0) {
                    return fail(out, WIRE_ERR_IP6_FRAG_LEN, 4, WIRE_IPV6_PP_HEADER);
                }
                /* The reassembled payload (the headers before this one,
                 * standing for the first fragment's, then offset plus
                 * length of fragment data) must fit the 16-bit Payload
                 * Length; the pointer is the fragment offset field. */
                if (off - WIRE_IPV6_HDR_LEN + out->frag_off + data > 0xffff) {
                    return fail(out, WIRE_ERR_IP6_FRAG_END, off + 2, WIRE_IPV6_PP_HEADER);
                }
                if (out->frag_off == 0 &&
                    !chain_complete(pkt, off + WIRE_IPV6_FRAG_HDR_LEN, end, pkt[off])) {
                    return fail(out, WIRE_ERR_IP6_FRAG_CHAIN, 0, WIRE_IPV6_PP_CHAIN);
                }
                nh_off = off;
                nh = pkt[off];
                off += hl;
                break; /* fragment data follows */
            }
        }
        nh_off = off;
        nh = pkt[off];
        off += hl;
    }
    out->proto = nh;
    out->proto_off = nh_off;
    out->hdr_len = off;
    out->payload = pkt + off;
    out->payload_len = end - off;
    return WIRE_OK;
}
