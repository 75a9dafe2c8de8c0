/*
 * src/wire/tcp.c: TCP header and option parse and emit.
 *
 * Read before editing: RFC 9293 3.1 (header, pseudo-header, option rules),
 * RFC 7323 2.2 and 3.2 (window scale, timestamps), RFC 2018 2-3 (SACK).
 */
#include "wire/tcp.h"

#include <string.h>

#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/wire_internal.h"

/* Length byte each fixed-size option must carry, or 0 for any other kind. */
static size_t
fixed_option_len(uint8_t kind)
{
    switch (kind) {
    case WIRE_TCPOPT_MSS:
        return 4; /* RFC 9293 3.2 */
    case WIRE_TCPOPT_WSCALE:
        return 3; /* RFC 7323 2.2 */
    case WIRE_TCPOPT_SACK_PERMITTED:
        return 2; /* RFC 2018 2 */
    case WIRE_TCPOPT_TIMESTAMP:
        return 10; /* RFC 7323 3.2 */
    default:
        return 0;
    }
}

static enum wire_err
parse_one(uint8_t kind, const uint8_t *body, size_t blen, struct wire_tcp_opts *out)
{
    size_t want = fixed_option_len(kind);
    if (want != 0 && blen + 2 != want) {
        return WIRE_ERR_TCP_OPT_BADLEN;
    }
    switch (kind) {
    case WIRE_TCPOPT_MSS:
        out->has_mss = true;
        out->mss = wire_get16(body);
        break;
    case WIRE_TCPOPT_WSCALE:
        out->has_wscale = true;
        out->wscale = body[0];
        break;
    case WIRE_TCPOPT_SACK_PERMITTED:
        out->sack_permitted = true;
        break;
    case WIRE_TCPOPT_TIMESTAMP:
        out->has_ts = true;
        out->ts_val = wire_get32(body);
        out->ts_ecr = wire_get32(body + 4);
        break;
    case WIRE_TCPOPT_SACK:
        /* RFC 2018 3: 2 + 8n bytes, n blocks of left and right edge. */
        if (blen == 0 || blen % 8 != 0 || blen / 8 > WIRE_TCP_MAX_SACK) {
            return WIRE_ERR_TCP_OPT_BADLEN;
        }
        out->sack_count = (uint8_t)(blen / 8);
        for (size_t i = 0; i < out->sack_count; i++) {
            out->sack[i].left = wire_get32(body + 8 * i);
            out->sack[i].right = wire_get32(body + 8 * i + 4);
        }
        break;
    default:
        /* RFC 9293 3.1 (MUST-6): an option we do not implement is skipped by its length. */
        break;
    }
    return WIRE_OK;
}

enum wire_err
wire_tcp_parse_options(const uint8_t *opt, size_t len, struct wire_tcp_opts *out)
{
    memset(out, 0, sizeof *out);
    /* Options need not be word-aligned (RFC 9293 3.2, MUST-64). */
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == WIRE_TCPOPT_EOL) {
            break; /* the rest of the header is padding */
        }
        if (kind == WIRE_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2) {
            return WIRE_ERR_TCP_OPT_TRUNCATED;
        }
        uint8_t olen = opt[i + 1];
        /* The length counts kind and length bytes, so it is at least 2; an illegal
         * length rejects the segment (RFC 9293 3.1, MUST-7). */
        if (olen < 2 || olen > len - i) {
            return WIRE_ERR_TCP_OPT_LEN;
        }
        enum wire_err err = parse_one(kind, opt + i + 2, (size_t)olen - 2, out);
        if (err != WIRE_OK) {
            return err;
        }
        i += olen;
    }
    return WIRE_OK;
}

/* The pseudo-header's address part, computed once by each caller: the
 * length is added where it is known. */
struct pseudo {
    bool v6;
    uint32_t v4src, v4dst;
    const uint8_t *src6, *dst6;
};

static uint32_t
pseudo_sum(const struct pseudo *p, size_t len)
{
    if (p->v6) {
        return wire_csum_pseudo(p->src6, p->dst6, WIRE_IPPROTO_TCP, (uint32_t)len);
    }
    return wire_csum_pseudo_v4(p->v4src, p->v4dst, WIRE_IPPROTO_TCP, (uint16_t)len);
}

static enum wire_err parse(const uint8_t *buf, size_t len, const struct pseudo *p,
                           struct wire_tcp *out);
static size_t emit(const struct wire_tcp *h, const struct pseudo *p, uint8_t *buf, size_t cap);

enum wire_err
wire_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, struct wire_tcp *out)
{
    struct pseudo p = {.v4src = src, .v4dst = dst};
    return parse(buf, len, &p, out);
}

enum wire_err
wire_tcp_parse_ip(const uint8_t *buf, size_t len, const uint8_t src[16], const uint8_t dst[16],
                  struct wire_tcp *out)
{
    struct pseudo p = {.v6 = true, .src6 = src, .dst6 = dst};
    return parse(buf, len, &p, out);
}

size_t
wire_tcp_emit(const struct wire_tcp *h, uint32_t src, uint32_t dst, uint8_t *buf, size_t cap)
{
    struct pseudo p = {.v4src = src, .v4dst = dst};
    return emit(h, &p, buf, cap);
}

size_t
wire_tcp_emit_ip(const struct wire_tcp *h, const uint8_t src[16], const uint8_t dst[16],
                 uint8_t *buf, size_t cap)
{
    struct pseudo p = {.v6 = true, .src6 = src, .dst6 = dst};
    return emit(h, &p, buf, cap);
}

static enum wire_err
parse(const uint8_t *buf, size_t len, const struct pseudo *p, struct wire_tcp *out)
{
    if (len < WIRE_TCP_HDR_LEN) {
        return WIRE_ERR_TCP_TRUNCATED;
    }
    if (len > 0xffff) {
        return WIRE_ERR_TCP_LENGTH;
    }
    size_t doff = (size_t)(buf[12] >> 4) * 4;
    if (doff < WIRE_TCP_HDR_LEN || doff > len) {
        return WIRE_ERR_TCP_DOFF;
    }
    /* RFC 9293 3.1 (MUST-2/3): checksum over pseudo-header, header and data. */
    uint32_t sum = pseudo_sum(p, len);
    if (wire_csum_fold(wire_csum_add(sum, buf, len)) != 0) {
        return WIRE_ERR_TCP_CHECKSUM;
    }
    enum wire_err err =
        wire_tcp_parse_options(buf + WIRE_TCP_HDR_LEN, doff - WIRE_TCP_HDR_LEN, &out->opts);
    if (err != WIRE_OK) {
        return err;
    }
    out->src_port = wire_get16(buf);
    out->dst_port = wire_get16(buf + 2);
    out->seq = wire_get32(buf + 4);
    out->ack = wire_get32(buf + 8);
    out->hdr_len = (uint8_t)doff;
    out->flags = buf[13];
    out->window = wire_get16(buf + 14);
    out->checksum = wire_get16(buf + 16);
    out->urgent = wire_get16(buf + 18);
    out->payload = buf + doff;
    out->payload_len = len - doff;
    return WIRE_OK;
}

/* Option layout used by emit; every piece is a multiple of 4 bytes. */
#define LEN_MSS     4                     /* MSS */
#define LEN_SP_TS   12                    /* SACK-permitted, TS */
#define LEN_SP      4                     /* NOP NOP SACK-permitted */
#define LEN_TS      12                    /* NOP NOP TS */
#define LEN_WS      4                     /* NOP WS */
#define LEN_SACK(n) (4 + 8 * (size_t)(n)) /* NOP NOP SACK n blocks */

static size_t
options_len_without_sack(const struct wire_tcp_opts *o)
{
    size_t n = 0;
    if (o->has_mss) {
        n += LEN_MSS;
    }
    if (o->sack_permitted && o->has_ts) {
        n += LEN_SP_TS;
    } else if (o->sack_permitted) {
        n += LEN_SP;
    } else if (o->has_ts) {
        n += LEN_TS;
    }
    if (o->has_wscale) {
        n += LEN_WS;
    }
    return n;
}

/* How many SACK blocks fit after `used` bytes of other options. */
static size_t
sack_blocks_that_fit(const struct wire_tcp_opts *o, size_t used)
{
    size_t n = o->sack_count < WIRE_TCP_MAX_SACK ? o->sack_count : WIRE_TCP_MAX_SACK;
    while (n > 0 && used + LEN_SACK(n) > WIRE_TCP_MAX_OPT_LEN) {
        n--;
    }
    return n;
}

size_t
wire_tcp_options_len(const struct wire_tcp_opts *o)
{
    size_t used = options_len_without_sack(o);
    size_t n = sack_blocks_that_fit(o, used);
    return n > 0 ? used + LEN_SACK(n) : used;
}

size_t
wire_tcp_emit_len(const struct wire_tcp *h)
{
    return WIRE_TCP_HDR_LEN + wire_tcp_options_len(&h->opts) + h->payload_len;
}

static uint8_t *
put_ts(uint8_t *p, const struct wire_tcp_opts *o)
{
    p[0] = WIRE_TCPOPT_TIMESTAMP;
    p[1] = 10;
    wire_put32(p + 2, o->ts_val);
    wire_put32(p + 6, o->ts_ecr);
    return p + 10;
}

static void
emit_options(const struct wire_tcp_opts *o, uint8_t *p)
{
    if (o->has_mss) {
        p[0] = WIRE_TCPOPT_MSS;
        p[1] = 4;
        wire_put16(p + 2, o->mss);
        p += 4;
    }
    if (o->sack_permitted) {
        if (!o->has_ts) {
            *p++ = WIRE_TCPOPT_NOP;
            *p++ = WIRE_TCPOPT_NOP;
        }
        *p++ = WIRE_TCPOPT_SACK_PERMITTED;
        *p++ = 2;
        if (o->has_ts) {
            p = put_ts(p, o);
        }
    } else if (o->has_ts) {
        *p++ = WIRE_TCPOPT_NOP;
        *p++ = WIRE_TCPOPT_NOP;
        p = put_ts(p, o);
    }
    if (o->has_wscale) {
        *p++ = WIRE_TCPOPT_NOP;
        *p++ = WIRE_TCPOPT_WSCALE;
        *p++ = 3;
        *p++ = o->wscale;
    }
    size_t n = sack_blocks_that_fit(o, options_len_without_sack(o));
    if (n > 0) {
        *p++ = WIRE_TCPOPT_NOP;
        *p++ = WIRE_TCPOPT_NOP;
        *p++ = WIRE_TCPOPT_SACK;
        *p++ = (uint8_t)(2 + 8 * n);
        for (size_t i = 0; i < n; i++) {
            wire_put32(p, o->sack[i].left);
            wire_put32(p + 4, o->sack[i].right);
            p += 8;
        }
    }
}

static size_t
emit(const struct wire_tcp *h, const struct pseudo *p, uint8_t *buf, size_t cap)
{
    size_t hl = WIRE_TCP_HDR_LEN + wire_tcp_options_len(&h->opts);
    if (h->payload_len > 0xffff - hl) {
        return 0;
    }
    size_t total = hl + h->payload_len;
    if (total > cap) {
        return 0;
    }
    /* Move the payload first: it may overlap the header bytes written below. */
    if (h->payload_len > 0 && h->payload != buf + hl) {
        memmove(buf + hl, h->payload, h->payload_len);
    }
    wire_put16(buf, h->src_port);
    wire_put16(buf + 2, h->dst_port);
    wire_put32(buf + 4, h->seq);
    wire_put32(buf + 8, h->ack);
    buf[12] = (uint8_t)(hl / 4 << 4); /* data offset; reserved bits zero */
    buf[13] = h->flags;
    wire_put16(buf + 14, h->window);
    wire_put16(buf + 16, 0);
    wire_put16(buf + 18, h->urgent);
    emit_options(&h->opts, buf + WIRE_TCP_HDR_LEN);
    uint32_t sum = pseudo_sum(p, total);
    wire_put16(buf + 16, wire_csum_fold(wire_csum_add(sum, buf, total)));
    return total;
}
