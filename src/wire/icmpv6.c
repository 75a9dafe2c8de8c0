/*
 * src/wire/icmpv6.c: ICMPv6 messages (RFC 4443) and Neighbor Discovery
 * messages and options (RFC 4861 4).
 */
#include "wire/icmpv6.h"

#include <string.h>

#include "wire/checksum.h"
#include "wire/ipv6.h"
#include "wire/wire_internal.h"

bool
wire_icmp6_is_error(uint8_t type)
{
    return type < 128; /* RFC 4443 2.1: the high bit of the type marks informational */
}

static uint32_t
pseudo(const struct wire_ipv6_addr *src, const struct wire_ipv6_addr *dst, size_t len)
{
    return wire_csum_pseudo_v6(src->b, dst->b, WIRE_IPV6_NH_ICMPV6, (uint32_t)len);
}

enum wire_err
wire_icmp6_parse(const uint8_t *buf, size_t len, const struct wire_ipv6_addr *src,
                 const struct wire_ipv6_addr *dst, struct wire_icmp6 *out)
{
    if (len < WIRE_ICMP6_HDR_LEN) {
        return WIRE_ERR_ICMP6_TRUNCATED;
    }
    /* RFC 4443 2.3: the checksum covers the IPv6 pseudo-header (Next Header
     * 58) and the whole message. */
    if (wire_csum_fold(wire_csum_add(pseudo(src, dst, len), buf, len)) != 0) {
        return WIRE_ERR_ICMP6_CHECKSUM;
    }
    if (wire_icmp6_is_error(buf[0]) && len - WIRE_ICMP6_HDR_LEN < WIRE_IPV6_HDR_LEN) {
        return WIRE_ERR_ICMP6_ERR_PAYLOAD;
    }
    memset(out, 0, sizeof *out);
    out->type = buf[0];
    out->code = buf[1];
    out->rest = wire_get32(buf + 4);
    out->payload = buf + WIRE_ICMP6_HDR_LEN;
    out->payload_len = len - WIRE_ICMP6_HDR_LEN;
    switch (out->type) {
    case WIRE_ICMP6_ECHO_REQUEST:
    case WIRE_ICMP6_ECHO_REPLY:
        out->id = wire_get16(buf + 4);
        out->seq = wire_get16(buf + 6);
        break;
    case WIRE_ICMP6_PACKET_TOO_BIG:
        out->mtu = out->rest; /* RFC 4443 3.2 */
        break;
    case WIRE_ICMP6_PARAM_PROBLEM:
        out->pointer = out->rest; /* RFC 4443 3.4: a 32-bit offset */
        break;
    default:
        break;
    }
    return WIRE_OK;
}

size_t
wire_icmp6_emit_len(const struct wire_icmp6 *h)
{
    return WIRE_ICMP6_HDR_LEN + h->payload_len;
}

void
wire_icmp6_emit(const struct wire_icmp6 *h, const struct wire_ipv6_addr *src,
                const struct wire_ipv6_addr *dst, uint8_t *buf)
{
    if (h->payload_len > 0 && h->payload != buf + WIRE_ICMP6_HDR_LEN) {
        memmove(buf + WIRE_ICMP6_HDR_LEN, h->payload, h->payload_len);
    }
    buf[0] = h->type;
    buf[1] = h->code;
    wire_put16(buf + 2, 0);
    switch (h->type) {
    case WIRE_ICMP6_ECHO_REQUEST:
    case WIRE_ICMP6_ECHO_REPLY:
        wire_put16(buf + 4, h->id);
        wire_put16(buf + 6, h->seq);
        break;
    case WIRE_ICMP6_PACKET_TOO_BIG:
        wire_put32(buf + 4, h->mtu);
        break;
    case WIRE_ICMP6_PARAM_PROBLEM:
        wire_put32(buf + 4, h->pointer);
        break;
    default:
        wire_put32(buf + 4, h->rest);
        break;
    }
    size_t len = WIRE_ICMP6_HDR_LEN + h->payload_len;
    wire_put16(buf + 2, wire_csum_fold(wire_csum_add(pseudo(src, dst, len), buf, len)));
}

/* --- Neighbor Discovery --------------------------------------------------- */

/* RFC 4861 4.1-4.5: where each message's options begin. */
static size_t
nd_fixed_len(uint8_t type)
{
    switch (type) {
    case WIRE_ND_ROUTER_SOLICIT:
        return 8;
    case WIRE_ND_ROUTER_ADVERT:
        return 16;
    case WIRE_ND_NEIGHBOR_SOLICIT:
    case WIRE_ND_NEIGHBOR_ADVERT:
        return 24;
    case WIRE_ND_REDIRECT:
        return 40;
    default:
        return 0;
    }
}

bool
wire_nd_next_option(const uint8_t *opts, size_t len, size_t *off, struct wire_nd_opt *opt)
{
    size_t i = *off;
    if (i >= len || len - i < 2 || opts[i + 1] == 0 || (size_t)opts[i + 1] * 8 > len - i) {
        return false;
    }
    memset(opt, 0, sizeof *opt);
    opt->type = opts[i];
    opt->len8 = opts[i + 1];
    size_t olen = (size_t)opt->len8 * 8;
    opt->data = opts + i + 2;
    opt->data_len = olen - 2;
    const uint8_t *o = opts + i;
    switch (opt->type) {
    case WIRE_ND_OPT_SRC_LLADDR:
    case WIRE_ND_OPT_TGT_LLADDR:
    case WIRE_ND_OPT_REDIRECTED:
        opt->valid = true; /* 4.6.1, 4.6.3: any nonzero length */
        break;
    case WIRE_ND_OPT_PREFIX:
        /* RFC 4861 4.6.2: always length 4 (32 bytes). */
        if (opt->len8 == 4) {
            opt->valid = true;
            opt->prefix.prefix_len = o[2];
            opt->prefix.on_link = (o[3] & 0x80) != 0;
            opt->prefix.autonomous = (o[3] & 0x40) != 0;
            opt->prefix.valid_lifetime = wire_get32(o + 4);
            opt->prefix.preferred_lifetime = wire_get32(o + 8);
            memcpy(opt->prefix.prefix.b, o + 16, WIRE_IPV6_ADDR_LEN);
        }
        break;
    case WIRE_ND_OPT_MTU:
        /* RFC 4861 4.6.4: length 1, two reserved bytes, the MTU. */
        if (opt->len8 == 1) {
            opt->valid = true;
            opt->mtu = wire_get32(o + 4);
        }
        break;
    default:
        break;
    }
    *off = i + olen;
    return true;
}

static void
take_lladdr(const struct wire_nd_opt *o, uint8_t *dst, size_t *dst_len, bool *has)
{
    if (*has) {
        return;
    }
    size_t n = o->data_len < WIRE_ND_LLADDR_MAX ? o->data_len : WIRE_ND_LLADDR_MAX;
    memcpy(dst, o->data, n);
    *dst_len = n;
    *has = true;
}

enum wire_err
wire_nd_parse(const uint8_t *buf, size_t len, const struct wire_ipv6_addr *src,
              const struct wire_ipv6_addr *dst, uint8_t hop_limit, struct wire_nd *out)
{
    size_t fixed = len > 0 ? nd_fixed_len(buf[0]) : 0;
    if (fixed == 0) {
        return WIRE_ERR_ND_TYPE;
    }
    uint8_t type = buf[0];
    /* RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1: a hop limit of 255 proves
     * the message was not forwarded by a router; the code is 0. */
    if (hop_limit != WIRE_ND_HOP_LIMIT) {
        return WIRE_ERR_ND_HOP_LIMIT;
    }
    if (len < 2 || buf[1] != 0) {
        return len < 2 ? WIRE_ERR_ND_TRUNCATED : WIRE_ERR_ND_CODE;
    }
    /* The same sections: the ICMP length holds the message's fixed part. */
    if (len < fixed) {
        return WIRE_ERR_ND_TRUNCATED;
    }
    /* RFC 4861 6.1.2, 8.1: routers speak from link-local addresses. */
    if ((type == WIRE_ND_ROUTER_ADVERT || type == WIRE_ND_REDIRECT) &&
        !wire_ipv6_addr_is_link_local(src)) {
        return WIRE_ERR_ND_SRC;
    }
    /* RFC 4861 4.6: every option has a length above 0 and stays inside. */
    for (size_t i = fixed; i < len;) {
        if (len - i < 2) {
            return WIRE_ERR_ND_OPT_TRUNCATED;
        }
        if (buf[i + 1] == 0) {
            return WIRE_ERR_ND_OPT_ZERO_LEN;
        }
        size_t olen = (size_t)buf[i + 1] * 8;
        if (olen > len - i) {
            return WIRE_ERR_ND_OPT_TRUNCATED;
        }
        i += olen;
    }

    memset(out, 0, sizeof *out);
    out->type = type;
    out->options = buf + fixed;
    out->options_len = len - fixed;
    switch (type) {
    case WIRE_ND_ROUTER_ADVERT:
        out->cur_hop_limit = buf[4];
        out->managed = (buf[5] & 0x80) != 0;
        out->other = (buf[5] & 0x40) != 0;
        out->router_lifetime = wire_get16(buf + 6);
        out->reachable_time = wire_get32(buf + 8);
        out->retrans_timer = wire_get32(buf + 12);
        break;
    case WIRE_ND_NEIGHBOR_ADVERT:
        out->router = (buf[4] & 0x80) != 0;
        out->solicited = (buf[4] & 0x40) != 0;
        out->override = (buf[4] & 0x20) != 0;
        memcpy(out->target.b, buf + 8, WIRE_IPV6_ADDR_LEN);
        break;
    case WIRE_ND_NEIGHBOR_SOLICIT:
        memcpy(out->target.b, buf + 8, WIRE_IPV6_ADDR_LEN);
        break;
    case WIRE_ND_REDIRECT:
        memcpy(out->target.b, buf + 8, WIRE_IPV6_ADDR_LEN);
        memcpy(out->dest.b, buf + 24, WIRE_IPV6_ADDR_LEN);
        break;
    default:
        break;
    }

    /* Options each type carries (RFC 4861 4.1-4.5); the others are ignored. */
    size_t off = 0;
    struct wire_nd_opt o;
    while (wire_nd_next_option(out->options, out->options_len, &off, &o)) {
        if (!o.valid) {
            continue;
        }
        if (o.type == WIRE_ND_OPT_SRC_LLADDR &&
            (type == WIRE_ND_ROUTER_SOLICIT || type == WIRE_ND_ROUTER_ADVERT ||
             type == WIRE_ND_NEIGHBOR_SOLICIT)) {
            take_lladdr(&o, out->src_lladdr, &out->src_lladdr_len, &out->has_src_lladdr);
        } else if (o.type == WIRE_ND_OPT_TGT_LLADDR &&
                   (type == WIRE_ND_NEIGHBOR_ADVERT || type == WIRE_ND_REDIRECT)) {
            take_lladdr(&o, out->tgt_lladdr, &out->tgt_lladdr_len, &out->has_tgt_lladdr);
        } else if (o.type == WIRE_ND_OPT_PREFIX && type == WIRE_ND_ROUTER_ADVERT) {
            out->n_prefix++;
        } else if (o.type == WIRE_ND_OPT_MTU && type == WIRE_ND_ROUTER_ADVERT && !out->has_mtu) {
            out->has_mtu = true;
            out->mtu = o.mtu;
        } else if (o.type == WIRE_ND_OPT_REDIRECTED && type == WIRE_ND_REDIRECT &&
                   !out->redirected) {
            /* RFC 4861 4.6.3: six reserved bytes, then the quoted packet. */
            out->redirected = o.data + 6;
            out->redirected_len = o.data_len - 6;
        }
    }

    bool unspec = wire_ipv6_addr_is_unspecified(src);
    switch (type) {
    case WIRE_ND_ROUTER_SOLICIT:
        /* RFC 4861 6.1.1: no source link-layer option from the unspecified address. */
        if (unspec && out->has_src_lladdr) {
            return WIRE_ERR_ND_DAD;
        }
        break;
    case WIRE_ND_NEIGHBOR_SOLICIT:
        /* RFC 4861 7.1.1: the target is never multicast; a solicitation
         * from the unspecified address (duplicate address detection) goes
         * to a solicited-node group and has no source link-layer option. */
        if (wire_ipv6_addr_is_multicast(&out->target)) {
            return WIRE_ERR_ND_TARGET;
        }
        if (unspec && (!wire_ipv6_addr_is_solicited_node(dst) || out->has_src_lladdr)) {
            return WIRE_ERR_ND_DAD;
        }
        break;
    case WIRE_ND_NEIGHBOR_ADVERT:
        /* RFC 4861 7.1.2: target not multicast; S clear when sent to a group. */
        if (wire_ipv6_addr_is_multicast(&out->target)) {
            return WIRE_ERR_ND_TARGET;
        }
        if (wire_ipv6_addr_is_multicast(dst) && out->solicited) {
            return WIRE_ERR_ND_NA_SOLICITED;
        }
        break;
    case WIRE_ND_REDIRECT:
        /* RFC 4861 8.1: the destination is not multicast; the target is a
         * link-local router address or the destination itself (on-link). */
        if (wire_ipv6_addr_is_multicast(&out->dest) ||
            !(wire_ipv6_addr_is_link_local(&out->target) ||
              wire_ipv6_addr_eq(&out->target, &out->dest))) {
            return WIRE_ERR_ND_REDIRECT;
        }
        break;
    default:
        break;
    }
    return WIRE_OK;
}

/* Bytes of a link-layer address option holding n address bytes: 8-byte units. */
static size_t
lladdr_opt_len(size_t n)
{
    return (2 + n + 7) / 8 * 8;
}

size_t
wire_nd_emit_len(const struct wire_nd_emit *m)
{
    size_t n = nd_fixed_len(m->type);
    if (n == 0) {
        return 0;
    }
    if (m->src_lladdr) {
        n += lladdr_opt_len(m->lladdr_len);
    }
    if (m->tgt_lladdr) {
        n += lladdr_opt_len(m->lladdr_len);
    }
    if (m->has_mtu) {
        n += 8;
    }
    return n + 32 * m->n_prefixes;
}

static size_t
put_lladdr(uint8_t *p, uint8_t type, const uint8_t *addr, size_t n)
{
    size_t olen = lladdr_opt_len(n);
    memset(p, 0, olen);
    p[0] = type;
    p[1] = (uint8_t)(olen / 8);
    memcpy(p + 2, addr, n);
    return olen;
}

size_t
wire_nd_emit(const struct wire_nd_emit *m, const struct wire_ipv6_addr *src,
             const struct wire_ipv6_addr *dst, uint8_t *buf, size_t cap)
{
    size_t len = wire_nd_emit_len(m);
    /* An option length is one byte of 8-byte units. */
    if (len == 0 || len > cap || lladdr_opt_len(m->lladdr_len) > 255 * 8) {
        return 0;
    }
    size_t fixed = nd_fixed_len(m->type);
    memset(buf, 0, fixed);
    buf[0] = m->type;
    switch (m->type) {
    case WIRE_ND_ROUTER_ADVERT:
        buf[4] = m->cur_hop_limit;
        buf[5] = (uint8_t)((m->managed ? 0x80 : 0) | (m->other ? 0x40 : 0));
        wire_put16(buf + 6, m->router_lifetime);
        wire_put32(buf + 8, m->reachable_time);
        wire_put32(buf + 12, m->retrans_timer);
        break;
    case WIRE_ND_NEIGHBOR_ADVERT:
        buf[4] = (uint8_t)((m->router ? 0x80 : 0) | (m->solicited ? 0x40 : 0) |
                           (m->override ? 0x20 : 0));
        memcpy(buf + 8, m->target.b, WIRE_IPV6_ADDR_LEN);
        break;
    case WIRE_ND_NEIGHBOR_SOLICIT:
        memcpy(buf + 8, m->target.b, WIRE_IPV6_ADDR_LEN);
        break;
    case WIRE_ND_REDIRECT:
        memcpy(buf + 8, m->target.b, WIRE_IPV6_ADDR_LEN);
        memcpy(buf + 24, m->dest.b, WIRE_IPV6_ADDR_LEN);
        break;
    default:
        break;
    }
    size_t off = fixed;
    if (m->src_lladdr) {
        off += put_lladdr(buf + off, WIRE_ND_OPT_SRC_LLADDR, m->src_lladdr, m->lladdr_len);
    }
    if (m->tgt_lladdr) {
        off += put_lladdr(buf + off, WIRE_ND_OPT_TGT_LLADDR, m->tgt_lladdr, m->lladdr_len);
    }
    if (m->has_mtu) {
        uint8_t *p = buf + off;
        p[0] = WIRE_ND_OPT_MTU;
        p[1] = 1;
        wire_put16(p + 2, 0);
        wire_put32(p + 4, m->mtu);
        off += 8;
    }
    for (size_t i = 0; i < m->n_prefixes; i++) {
        const struct wire_nd_prefix *pr = &m->prefixes[i];
        uint8_t *p = buf + off;
        memset(p, 0, 32);
        p[0] = WIRE_ND_OPT_PREFIX;
        p[1] = 4;
        p[2] = pr->prefix_len;
        p[3] = (uint8_t)((pr->on_link ? 0x80 : 0) | (pr->autonomous ? 0x40 : 0));
        wire_put32(p + 4, pr->valid_lifetime);
        wire_put32(p + 8, pr->preferred_lifetime);
        memcpy(p + 16, pr->prefix.b, WIRE_IPV6_ADDR_LEN);
        off += 32;
    }
    wire_put16(buf + 2, wire_csum_fold(wire_csum_add(pseudo(src, dst, len), buf, len)));
    return len;
}
