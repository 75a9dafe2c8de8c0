/*
 * tests/unit/ip6_rig.h: IPv6 additions to ip_rig.h for test_ipv6.c,
 * test_icmpv6.c and test_nd.c: addresses from text, packet builders (a bare
 * IPv6 packet, an ICMPv6 message with its checksum) and readers of what
 * the stack sent.
 */
#ifndef TERN_TESTS_IP6_RIG_H
#define TERN_TESTS_IP6_RIG_H

#include "ip_rig.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

#define L6   "2001:db8::1" /* ours (RFC 3849 documentation prefix) */
#define P6   "2001:db8::2" /* a peer on the link */
#define GW6  "2001:db8::fe"
#define FAR6 "2001:db8:1::7" /* off link */

static inline struct tern_ip
A6(const char *s) {
    struct wire_ipv6_addr w;
    CHECK(wire_ipv6_addr_from_text(s, strlen(s), &w));
    struct tern_ip a;
    memcpy(a.b, w.b, 16);
    return a;
}

/* rig_open() edit: 2001:db8::1/64 on netif 0, router 2001:db8::fe. */
static inline void
v6_edit(struct tern_config *cfg, struct rig *r)
{
    (void)r;
    cfg->netifs[0].addr6[0] = (struct tern_netif_addr6){A6(L6), 64};
    cfg->netifs[0].n_addr6 = 1;
    cfg->gateway6 = A6(GW6);
}

/* A bare IPv6 packet (no extension header) into buf; its length. */
static inline size_t
mk6(uint8_t *buf, struct tern_ip src, struct tern_ip dst, uint8_t nh, uint8_t hop,
    const uint8_t *pl, size_t len)
{
    struct wire_ipv6 h = {.payload_len = (uint16_t)len, .next_header = nh, .hop_limit = hop};
    memcpy(h.src.b, src.b, 16);
    memcpy(h.dst.b, dst.b, 16);
    wire_ipv6_emit(&h, buf);
    if (len > 0) {
        memmove(buf + WIRE_IPV6_HDR_LEN, pl, len);
    }
    return WIRE_IPV6_HDR_LEN + len;
}

/* An ICMPv6 message (type, code, bytes 4..7 `rest`, data) with a correct
 * checksum from src to dst, into out; its length. */
static inline size_t
mk_icmp6_msg(uint8_t *out, struct tern_ip src, struct tern_ip dst, uint8_t type, uint8_t code,
             uint32_t rest, const uint8_t *data, size_t len)
{
    out[0] = type;
    out[1] = code;
    out[2] = out[3] = 0;
    out[4] = (uint8_t)(rest >> 24);
    out[5] = (uint8_t)(rest >> 16);
    out[6] = (uint8_t)(rest >> 8);
    out[7] = (uint8_t)rest;
    if (len > 0) {
        memmove(out + 8, data, len);
    }
    uint32_t sum = wire_csum_pseudo_v6(src.b, dst.b, 58, (uint32_t)(8 + len));
    uint16_t c = wire_csum_fold(wire_csum_add(sum, out, 8 + len));
    out[2] = (uint8_t)(c >> 8);
    out[3] = (uint8_t)c;
    return 8 + len;
}

/* A whole IPv6 packet carrying an ICMPv6 message. */
static inline size_t
mk_icmp6(uint8_t *buf, struct tern_ip src, struct tern_ip dst, uint8_t hop, uint8_t type,
         uint8_t code, uint32_t rest, const uint8_t *data, size_t len)
{
    uint8_t msg[2048];
    size_t n = mk_icmp6_msg(msg, src, dst, type, code, rest, data, len);
    return mk6(buf, src, dst, 58, hop, msg, n);
}

/* Parses sent frame i (a raw IPv6 packet at byte `skip`) and its ICMPv6
 * message; false when it is not one. */
static inline bool
sent_icmp6(const struct rig *r, size_t i, size_t skip, struct wire_ipv6 *h, struct wire_icmp6 *m)
{
    if (i >= r->cap.n) {
        return false;
    }
    const uint8_t *p = r->cap.f[i].b + skip;
    size_t len = r->cap.f[i].len - skip;
    if (wire_ipv6_parse(p, len, h) != WIRE_OK || h->next_header != 58) {
        return false;
    }
    return wire_icmp6_parse(h->payload, h->payload_len, &h->src, &h->dst, m) == WIRE_OK;
}

static inline bool
ip_is(const struct wire_ipv6_addr *w, const char *s)
{
    struct tern_ip a = A6(s);
    return memcmp(w->b, a.b, 16) == 0;
}

#endif
