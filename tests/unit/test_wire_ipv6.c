/*
 * tests/unit/test_wire_ipv6.c: the IPv6 header, its extension-header walk
 * (src/wire/ipv6.c), IPv6 addresses and their text form
 * (src/wire/ipv6_addr.c) and the IPv6 pseudo-header checksum
 * (src/wire/checksum.c).
 *
 * Packets are built byte by byte from the RFC 8200 layouts, not by the
 * emitter under test. The UDP checksum below was computed independently of
 * tern (a few lines of Python over the RFC 8200 8.1 pseudo-header); the text
 * forms are checked against the RFC 5952 examples and against the C
 * library's inet_ntop/inet_pton.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "check.h"
#include "wire/checksum.h"
#include "wire/ipv6.h"
#include "wire/ipv6_addr.h"
#include "wire/wire.h"

/* Addresses from text, for readable tests (the parser is tested below). */
static struct wire_ipv6_addr
A(const char *s) {
    struct wire_ipv6_addr a;
    if (inet_pton(AF_INET6, s, a.b) != 1) {
        abort();
    }
    return a;
}

/* A packet under construction: the fixed header then appended bytes. */
struct pkt {
    uint8_t b[2048];
    size_t n;
};

static void
pkt_start(struct pkt *p, uint8_t nh, const char *dst)
{
    memset(p, 0, sizeof *p);
    /* Version 6, traffic class 0xb8, flow label 0x12345 (RFC 8200 3). */
    p->b[0] = 0x6b;
    p->b[1] = 0x81;
    p->b[2] = 0x23;
    p->b[3] = 0x45;
    p->b[6] = nh;
    p->b[7] = 64;
    struct wire_ipv6_addr s = A("2001:db8::1"), d = A(dst);
    memcpy(p->b + 8, s.b, 16);
    memcpy(p->b + 24, d.b, 16);
    p->n = WIRE_IPV6_HDR_LEN;
}

static void
pkt_put(struct pkt *p, const uint8_t *bytes, size_t n)
{
    memcpy(p->b + p->n, bytes, n);
    p->n += n;
}

/* Sets the payload length to everything appended. */
static void
pkt_end(struct pkt *p)
{
    size_t plen = p->n - WIRE_IPV6_HDR_LEN;
    p->b[4] = (uint8_t)(plen >> 8);
    p->b[5] = (uint8_t)plen;
}

/* An options header (HBH or DstOpt) of 8 bytes: next header, 0, then 6 bytes
 * of options (given, or one PadN of 4 zero bytes). */
static void
put_opts8(struct pkt *p, uint8_t nh, const uint8_t *opts6)
{
    static const uint8_t padn4[6] = {1, 4, 0, 0, 0, 0};
    uint8_t h[8] = {nh, 0};
    memcpy(h + 2, opts6 ? opts6 : padn4, 6);
    pkt_put(p, h, 8);
}

static const uint8_t udp_hdr[8] = {0x9c, 0x40, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00};

/* Parses and walks a copy in a heap block of exactly len bytes (ASan catches
 * overreads). Returns the first error. */
static enum wire_err
walk_exact(const uint8_t *b, size_t len, struct wire_ipv6_chain *c)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return WIRE_ERR_COUNT;
    }
    memcpy(copy, b, len);
    struct wire_ipv6 h;
    enum wire_err err = wire_ipv6_parse(copy, len, &h);
    if (err == WIRE_OK) {
        err = wire_ipv6_walk(copy, &h, c);
        c->payload = NULL; /* points into the freed copy */
    }
    free(copy);
    return err;
}

static enum wire_err
walk(const struct pkt *p, struct wire_ipv6_chain *c)
{
    return walk_exact(p->b, p->n, c);
}

/* --- the fixed header ----------------------------------------------------- */

/* EVIDENCE: RFC 8200 3 fixed header fields */
static void
test_parse_fixed(void)
{
    struct pkt p;
    pkt_start(&p, WIRE_IPV6_NH_UDP, "2001:db8::2");
    pkt_put(&p, udp_hdr, 8);
    pkt_end(&p);
    struct wire_ipv6 h;
    CHECK_EQ(wire_ipv6_parse(p.b, p.n, &h), WIRE_OK);
    CHECK_EQ(h.tclass, 0xb8);
    CHECK_EQ(h.flow_label, 0x12345);
    CHECK_EQ(h.payload_len, 8);
    CHECK_EQ(h.next_header, 17);
    CHECK_EQ(h.hop_limit, 64);
    struct wire_ipv6_addr s = A("2001:db8::1"), d = A("2001:db8::2");
    CHECK(wire_ipv6_addr_eq(&h.src, &s));
    CHECK(wire_ipv6_addr_eq(&h.dst, &d));
    CHECK(h.payload == p.b + 40);

    /* The emitter writes the same 40 bytes. */
    uint8_t out[40];
    memset(out, 0xee, sizeof out);
    wire_ipv6_emit(&h, out);
    CHECK_MEM(out, p.b, 40);
    /* Flow label masked to 20 bits. */
    h.flow_label = 0xfff12345;
    wire_ipv6_emit(&h, out);
    CHECK_MEM(out, p.b, 40);
}

/* EVIDENCE: RFC 8200 3 version 6; payload length within the buffer */
static void
test_parse_errors(void)
{
    struct pkt p;
    pkt_start(&p, WIRE_IPV6_NH_UDP, "2001:db8::2");
    pkt_put(&p, udp_hdr, 8);
    pkt_end(&p);
    struct wire_ipv6 h;
    uint8_t b[48];
    memcpy(b, p.b, 48);
    b[0] = 0x4b;
    CHECK_EQ(wire_ipv6_parse(b, 48, &h), WIRE_ERR_IP6_VERSION);
    b[0] = 0x7b;
    CHECK_EQ(wire_ipv6_parse(b, 48, &h), WIRE_ERR_IP6_VERSION);
    b[0] = 0x6b;
    /* Payload length one past the buffer. */
    b[5] = 9;
    CHECK_EQ(wire_ipv6_parse(b, 48, &h), WIRE_ERR_IP6_PAYLOAD_LEN);
    b[4] = 0xff;
    CHECK_EQ(wire_ipv6_parse(b, 48, &h), WIRE_ERR_IP6_PAYLOAD_LEN);
    /* Shorter than the buffer: the rest is link padding. */
    b[4] = 0;
    b[5] = 4;
    CHECK_EQ(wire_ipv6_parse(b, 48, &h), WIRE_OK);
    CHECK_EQ(h.payload_len, 4);
    /* Every length below 40 is truncated, on an exact-size buffer. */
    struct wire_ipv6_chain c;
    for (size_t n = 0; n < 40; n++) {
        CHECK_EQ(walk_exact(p.b, n, &c), WIRE_ERR_IP6_TRUNCATED);
    }
    for (size_t n = 40; n < p.n; n++) {
        CHECK_EQ(walk_exact(p.b, n, &c), WIRE_ERR_IP6_PAYLOAD_LEN);
    }
}

/* --- the extension-header walk -------------------------------------------- */

/* HBH, DstOpt, routing (segments left 0), atomic fragment, DstOpt, UDP. */
static void
build_long_chain(struct pkt *p)
{
    pkt_start(p, WIRE_IPV6_NH_HOP, "2001:db8::2");
    put_opts8(p, WIRE_IPV6_NH_DSTOPTS, NULL);
    put_opts8(p, WIRE_IPV6_NH_ROUTING, NULL);
    static const uint8_t rh[8] = {WIRE_IPV6_NH_FRAGMENT, 0, 4, 0, 0, 0, 0, 0};
    pkt_put(p, rh, 8);
    static const uint8_t fh[8] = {WIRE_IPV6_NH_DSTOPTS, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    pkt_put(p, fh, 8);
    put_opts8(p, WIRE_IPV6_NH_UDP, NULL);
    pkt_put(p, udp_hdr, 8);
    pkt_end(p);
}

/* EVIDENCE: RFC 8200 4 next header chain followed to the upper layer; RFC 8200 4.5 atomic fragment
 */
static void
test_walk_chain(void)
{
    struct pkt p;
    build_long_chain(&p);
    struct wire_ipv6_chain c;
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK_EQ(c.proto, WIRE_IPV6_NH_UDP);
    CHECK_EQ(c.proto_off, 72);
    CHECK_EQ(c.hdr_len, 80);
    CHECK_EQ(c.payload_len, 8);
    CHECK_EQ(c.n_ext, 5);
    CHECK(c.has_hbh);
    CHECK(c.has_routing);
    CHECK_EQ(c.rh_type, 4);
    CHECK_EQ(c.rh_segments_left, 0);
    CHECK(c.has_frag);
    CHECK(c.frag_atomic);
    CHECK_EQ(c.frag_id, 0xdeadbeef);
    CHECK_EQ(c.frag_hdr_off, 64);

    /* No extension header: proto from the fixed header, pointer 6. */
    pkt_start(&p, WIRE_IPV6_NH_TCP, "2001:db8::2");
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK_EQ(c.proto, WIRE_IPV6_NH_TCP);
    CHECK_EQ(c.proto_off, 6);
    CHECK_EQ(c.hdr_len, 40);
    CHECK_EQ(c.payload_len, 0);
    CHECK_EQ(c.n_ext, 0);

    /* No Next Header (59) stops the walk; what follows is ignored. */
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    put_opts8(&p, WIRE_IPV6_NH_NONE, NULL);
    put_opts8(&p, WIRE_IPV6_NH_HOP, NULL); /* would be an error if walked */
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK_EQ(c.proto, WIRE_IPV6_NH_NONE);
    CHECK_EQ(c.hdr_len, 48);

    /* An unknown Next Header is the caller's, with the pointer for code 1. */
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    put_opts8(&p, 253, NULL);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK_EQ(c.proto, 253);
    CHECK_EQ(c.proto_off, 40);
}

/* Truncation at every byte offset of the long chain: the payload length says
 * n - 40 bytes, the buffer is exactly n bytes. */
static void
test_walk_truncation_every_offset(void)
{
    struct pkt p;
    build_long_chain(&p);
    for (size_t n = 40; n <= p.n; n++) {
        struct pkt q = p;
        q.n = n;
        pkt_end(&q);
        struct wire_ipv6_chain c;
        enum wire_err err = walk(&q, &c);
        if (n < 80) {
            CHECK_EQ(err, WIRE_ERR_IP6_EXT_TRUNCATED);
            CHECK(c.err_ptr < n);
            CHECK_EQ(c.err_icmp, -1);
        } else {
            CHECK_EQ(err, WIRE_OK);
            CHECK_EQ(c.payload_len, n - 80);
        }
    }
    /* A header whose length runs far past the packet: the pointer is its
     * Hdr Ext Len field. */
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    put_opts8(&p, WIRE_IPV6_NH_UDP, NULL);
    p.b[41] = 255;
    pkt_end(&p);
    struct wire_ipv6_chain c;
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_EXT_TRUNCATED);
    CHECK_EQ(c.err_ptr, 41);
}

/* EVIDENCE: RFC 8200 4.1 hop-by-hop only immediately after the IPv6 header */
static void
test_hbh_not_first(void)
{
    struct pkt p;
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    put_opts8(&p, WIRE_IPV6_NH_HOP, NULL);
    put_opts8(&p, WIRE_IPV6_NH_UDP, NULL);
    pkt_end(&p);
    struct wire_ipv6_chain c;
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_HBH_NOT_FIRST);
    CHECK_EQ(c.err_ptr, 40); /* the Next Header field naming it */
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_NEXT_HEADER);
    /* Two hop-by-hop headers: the second is not first. */
    pkt_start(&p, WIRE_IPV6_NH_HOP, "2001:db8::2");
    put_opts8(&p, WIRE_IPV6_NH_HOP, NULL);
    put_opts8(&p, WIRE_IPV6_NH_UDP, NULL);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_HBH_NOT_FIRST);
    CHECK_EQ(c.err_ptr, 40);
}

/* A chain of k destination options headers (each naming the next: it
 * could go on forever) ending in UDP. */
static void
build_dstopts(struct pkt *p, unsigned k)
{
    pkt_start(p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    for (unsigned i = 0; i < k; i++) {
        put_opts8(p, i + 1 < k ? WIRE_IPV6_NH_DSTOPTS : WIRE_IPV6_NH_UDP, NULL);
    }
    pkt_put(p, udp_hdr, 8);
    pkt_end(p);
}

/* Repeated headers are accepted (RFC 8200 4.1), up to the bound. */
static void
test_chain_bound(void)
{
    struct pkt p;
    struct wire_ipv6_chain c;
    build_dstopts(&p, WIRE_IPV6_MAX_EXT_HDRS);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK_EQ(c.n_ext, WIRE_IPV6_MAX_EXT_HDRS);
    build_dstopts(&p, WIRE_IPV6_MAX_EXT_HDRS + 1);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_EXT_CHAIN);
    CHECK_EQ(c.err_icmp, -1);
    /* A "loop": 200 headers that all name destination options again. */
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    for (int i = 0; i < 200; i++) {
        put_opts8(&p, WIRE_IPV6_NH_DSTOPTS, NULL);
    }
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_EXT_CHAIN);
}

/* One destination options header holding opts6, to dst. */
static enum wire_err
walk_opts(const uint8_t opts6[6], const char *dst, struct wire_ipv6_chain *c)
{
    struct pkt p;
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, dst);
    put_opts8(&p, WIRE_IPV6_NH_UDP, opts6);
    pkt_put(&p, udp_hdr, 8);
    pkt_end(&p);
    return walk(&p, c);
}

/* EVIDENCE: RFC 8200 4.2 option type high-order bits: skip, discard, discard and ICMP, discard and
 * ICMP unless multicast */
static void
test_option_actions(void)
{
    struct wire_ipv6_chain c;
    /* An unknown option (type xx011110) of 2 data bytes, then PadN 2. */
    uint8_t o[6] = {0x1e, 2, 0xaa, 0xbb, 1, 0};
    CHECK_EQ(walk_opts(o, "2001:db8::2", &c), WIRE_OK); /* 00: skipped */
    o[0] = 0x5e;
    CHECK_EQ(walk_opts(o, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_UNKNOWN);
    CHECK_EQ(c.opt_action, WIRE_IPV6_OPT_DISCARD);
    CHECK_EQ(c.err_icmp, -1);
    CHECK_EQ(c.opt_type, 0x5e);
    CHECK_EQ(c.err_ptr, 42);
    o[0] = 0x9e;
    CHECK_EQ(walk_opts(o, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_UNKNOWN);
    CHECK_EQ(c.opt_action, WIRE_IPV6_OPT_DISCARD_ICMP);
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_OPTION);
    CHECK_EQ(c.err_ptr, 42);
    CHECK_EQ(walk_opts(o, "ff02::1", &c), WIRE_ERR_IP6_OPT_UNKNOWN);
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_OPTION); /* 10: even to multicast */
    o[0] = 0xde;
    CHECK_EQ(walk_opts(o, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_UNKNOWN);
    CHECK_EQ(c.opt_action, WIRE_IPV6_OPT_DISCARD_ICMP_UNICAST);
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_OPTION);
    CHECK_EQ(walk_opts(o, "ff02::1", &c), WIRE_ERR_IP6_OPT_UNKNOWN);
    CHECK_EQ(c.err_icmp, -1); /* 11: not to multicast */
    /* The pointer names the option, not the header: after Pad1 Pad1. */
    uint8_t o2[6] = {0, 0, 0x9e, 0, 1, 0};
    CHECK_EQ(walk_opts(o2, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_UNKNOWN);
    CHECK_EQ(c.err_ptr, 44);
    /* The jumbo payload option (RFC 2675, 0xc2) is not supported. */
    uint8_t jumbo[6] = {0xc2, 4, 0, 1, 0, 0};
    CHECK_EQ(walk_opts(jumbo, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_UNKNOWN);
}

/* EVIDENCE: RFC 8200 4.2 Pad1 and PadN; options stay inside their header */
static void
test_option_padding(void)
{
    struct wire_ipv6_chain c;
    uint8_t pad1x6[6] = {0, 0, 0, 0, 0, 0};
    CHECK_EQ(walk_opts(pad1x6, "2001:db8::2", &c), WIRE_OK);
    uint8_t padn[6] = {1, 4, 0, 0, 0, 0};
    CHECK_EQ(walk_opts(padn, "2001:db8::2", &c), WIRE_OK);
    /* PadN data must be zeros. */
    padn[4] = 7;
    CHECK_EQ(walk_opts(padn, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_PAD);
    CHECK_EQ(c.err_ptr, 46);
    /* An option whose length runs past the header. */
    uint8_t over[6] = {0x1e, 5, 0, 0, 0, 0};
    CHECK_EQ(walk_opts(over, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_TRUNCATED);
    CHECK_EQ(c.err_ptr, 43);
    /* A type byte with no room for its length. */
    uint8_t lone[6] = {1, 2, 0, 0, 0, 0x1e};
    CHECK_EQ(walk_opts(lone, "2001:db8::2", &c), WIRE_ERR_IP6_OPT_TRUNCATED);
    /* More than 7 bytes of padding in a row (a 16-byte header). */
    struct pkt p;
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    uint8_t h[16] = {WIRE_IPV6_NH_UDP, 1, 1, 12};
    pkt_put(&p, h, 16);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_OPT_PAD);
    /* Broken by a real option, two runs of padding are fine. */
    uint8_t h2[16] = {WIRE_IPV6_NH_UDP, 1, 1, 4, 0, 0, 0, 0, 0x1e, 0, 1, 4};
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    pkt_put(&p, h2, 16);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
}

/* EVIDENCE: RFC 5095 3 routing header type 0 refused; RFC 8200 4.4 unknown routing type with
 * segments left */
static void
test_routing(void)
{
    struct pkt p;
    struct wire_ipv6_chain c;
    uint8_t rh[24] = {WIRE_IPV6_NH_UDP, 2, 0, 1};
    pkt_start(&p, WIRE_IPV6_NH_ROUTING, "2001:db8::2");
    pkt_put(&p, rh, 24);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_RH0);
    CHECK_EQ(c.err_ptr, 42); /* the routing type field */
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_HEADER);
    /* Any other type we do not implement, segments left > 0. */
    p.b[42] = 4;
    p.b[43] = 2;
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_RH_UNKNOWN);
    CHECK_EQ(c.err_ptr, 42);
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_HEADER);
    /* Segments left 0: ignored, reported, walk on (type 0 too). */
    p.b[42] = 0;
    p.b[43] = 0;
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK(c.has_routing);
    CHECK_EQ(c.rh_type, 0);
    CHECK_EQ(c.proto, WIRE_IPV6_NH_UDP);
    CHECK_EQ(c.hdr_len, 64);
}

static void
put_frag(struct pkt *p, uint8_t nh, uint16_t off, bool more, uint32_t id)
{
    uint8_t f[8];
    wire_ipv6_frag_emit(f, nh, off, more, id);
    pkt_put(p, f, 8);
}

/* EVIDENCE: RFC 8200 4.5 fragment header fields, fragment length a multiple of 8, offset plus
 * length within 65535 */
static void
test_fragment(void)
{
    struct pkt p;
    struct wire_ipv6_chain c;
    uint8_t data[24];
    memset(data, 0x5a, sizeof data);
    /* The emitter's bytes, by hand (RFC 8200 4.5 layout). */
    uint8_t f[8];
    wire_ipv6_frag_emit(f, 17, 1237, true, 0x01020304);
    const uint8_t want[8] = {17, 0, 0x04, 0xd1, 1, 2, 3, 4}; /* 1232 | M */
    CHECK_MEM(f, want, 8);

    /* A middle fragment: the walk stops at the fragment header. */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, "2001:db8::2");
    put_frag(&p, WIRE_IPV6_NH_DSTOPTS, 1232, true, 77);
    pkt_put(&p, data, 16);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK(c.has_frag && !c.frag_atomic && c.frag_more);
    CHECK_EQ(c.frag_off, 1232);
    CHECK_EQ(c.frag_id, 77);
    CHECK_EQ(c.proto, WIRE_IPV6_NH_DSTOPTS); /* not walked: fragment data */
    CHECK_EQ(c.proto_off, 40);
    CHECK_EQ(c.hdr_len, 48);
    CHECK_EQ(c.payload_len, 16);
    CHECK_EQ(c.frag_hdr_off, 40);

    /* Not a multiple of 8 with M set: pointer at the payload length. */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, "2001:db8::2");
    put_frag(&p, WIRE_IPV6_NH_UDP, 8, true, 77);
    pkt_put(&p, data, 12);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_FRAG_LEN);
    CHECK_EQ(c.err_ptr, 4);
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_HEADER);
    /* The last fragment may have any length. */
    p.b[43] = 8; /* offset 8, M clear */
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK(!c.frag_more && !c.frag_atomic);

    /* Offset + length past 65535: pointer at the fragment offset. */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, "2001:db8::2");
    put_frag(&p, WIRE_IPV6_NH_UDP, 65520, false, 77);
    pkt_put(&p, data, 16);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_FRAG_END);
    CHECK_EQ(c.err_ptr, 42);
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_HEADER);
    p.n -= 1; /* 15 bytes: ends at 65535, allowed */
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    /* Headers before the fragment header count in the reassembled payload. */
    pkt_start(&p, WIRE_IPV6_NH_DSTOPTS, "2001:db8::2");
    put_opts8(&p, WIRE_IPV6_NH_FRAGMENT, NULL);
    put_frag(&p, WIRE_IPV6_NH_UDP, 65520, false, 77);
    pkt_put(&p, data, 8);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_FRAG_END); /* 8 + 65520 + 8 > 65535 */
    CHECK_EQ(c.err_ptr, 50);
    p.n -= 1;
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK); /* 8 + 65520 + 7 */

    /* An atomic fragment header, then a real one (found by fuzz_parse):
     * the report is the second's. */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, "2001:db8::2");
    put_frag(&p, WIRE_IPV6_NH_FRAGMENT, 0, false, 1);
    put_frag(&p, WIRE_IPV6_NH_UDP, 3704, false, 2);
    pkt_put(&p, data, 8);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK(c.has_frag && !c.frag_atomic);
    CHECK_EQ(c.frag_off, 3704);
    CHECK_EQ(c.frag_id, 2);
    CHECK_EQ(c.frag_hdr_off, 48);
    CHECK_EQ(c.n_ext, 2);
}

/* EVIDENCE: RFC 8200 4.5 first fragment must hold the whole header chain (code 3) */
static void
test_first_fragment_chain(void)
{
    struct pkt p;
    struct wire_ipv6_chain c;
    /* First fragment: fragment header, then a destination options header
     * that says 24 bytes of which only 16 are in this fragment. */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, "2001:db8::2");
    put_frag(&p, WIRE_IPV6_NH_DSTOPTS, 0, true, 9);
    uint8_t d[16] = {WIRE_IPV6_NH_UDP, 2, 1, 14};
    pkt_put(&p, d, 16);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_ERR_IP6_FRAG_CHAIN);
    CHECK_EQ(c.err_ptr, 0);
    CHECK_EQ(c.err_icmp, WIRE_IPV6_PP_CHAIN);
    /* The same bytes as a later fragment are data, not a chain. */
    p.b[43] = 16 | 1;
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    /* A first fragment whose chain is whole. */
    pkt_start(&p, WIRE_IPV6_NH_FRAGMENT, "2001:db8::2");
    put_frag(&p, WIRE_IPV6_NH_DSTOPTS, 0, true, 9);
    put_opts8(&p, WIRE_IPV6_NH_UDP, NULL);
    pkt_put(&p, udp_hdr, 8);
    pkt_end(&p);
    CHECK_EQ(walk(&p, &c), WIRE_OK);
    CHECK_EQ(c.proto, WIRE_IPV6_NH_DSTOPTS);
    CHECK_EQ(c.payload_len, 16);
}

/* --- checksum --------------------------------------------------------------- */

/* EVIDENCE: RFC 8200 8.1 upper-layer checksum with the IPv6 pseudo-header */
static void
test_pseudo_checksum(void)
{
    /* 2001:db8::1 -> 2001:db8::2 UDP 40000 -> 7 "hi": 0x9fb4 (Python). */
    uint8_t u[10] = {0x9c, 0x40, 0x00, 0x07, 0x00, 0x0a, 0, 0, 'h', 'i'};
    struct wire_ipv6_addr s = A("2001:db8::1"), d = A("2001:db8::2");
    uint32_t sum = wire_csum_pseudo_v6(s.b, d.b, WIRE_IPV6_NH_UDP, sizeof u);
    CHECK_EQ(wire_csum_fold(wire_csum_add(sum, u, sizeof u)), 0x9fb4);
    u[6] = 0x9f;
    u[7] = 0xb4;
    CHECK_EQ(wire_csum_fold(wire_csum_add(sum, u, sizeof u)), 0);
    /* Every address byte and the protocol and length take part. */
    for (int i = 0; i < 16; i++) {
        struct wire_ipv6_addr s2 = s;
        s2.b[i] ^= 0x40;
        uint32_t x = wire_csum_pseudo_v6(s2.b, d.b, WIRE_IPV6_NH_UDP, sizeof u);
        CHECK(wire_csum_fold(wire_csum_add(x, u, sizeof u)) != 0);
        struct wire_ipv6_addr d2 = d;
        d2.b[i] ^= 0x01;
        x = wire_csum_pseudo_v6(s.b, d2.b, WIRE_IPV6_NH_UDP, sizeof u);
        CHECK(wire_csum_fold(wire_csum_add(x, u, sizeof u)) != 0);
    }
    uint32_t x = wire_csum_pseudo_v6(s.b, d.b, WIRE_IPV6_NH_TCP, sizeof u);
    CHECK(wire_csum_fold(wire_csum_add(x, u, sizeof u)) != 0);
    /* The length is 32 bits: 0x10000 + 10 differs from 10. */
    x = wire_csum_pseudo_v6(s.b, d.b, WIRE_IPV6_NH_UDP, 0x10000 + sizeof u);
    CHECK(wire_csum_fold(wire_csum_add(x, u, sizeof u)) != 0);
    /* IPv4's pseudo-header is unchanged (RFC 768 example sum). */
    CHECK_EQ(wire_csum_pseudo_v4(0x0a630101u, 0x0a630202u, 17, 20),
             0x0a63 + 0x0101 + 0x0a63 + 0x0202 + 17 + 20);
}

/* --- addresses ------------------------------------------------------------ */

/* EVIDENCE: RFC 4291 2.5.2 2.5.3 2.5.5.2 2.5.6 2.7 address types and multicast scope */
static void
test_addr_classes(void)
{
    struct wire_ipv6_addr a;
    a = A("::");
    CHECK(wire_ipv6_addr_is_unspecified(&a) && !wire_ipv6_addr_is_loopback(&a));
    a = A("::1");
    CHECK(wire_ipv6_addr_is_loopback(&a) && !wire_ipv6_addr_is_unspecified(&a));
    CHECK_EQ(wire_ipv6_addr_scope(&a), WIRE_IPV6_SCOPE_LINK);
    a = A("::2");
    CHECK(!wire_ipv6_addr_is_loopback(&a));
    a = A("1::1");
    CHECK(!wire_ipv6_addr_is_loopback(&a));
    a = A("ff02::1");
    CHECK(wire_ipv6_addr_is_multicast(&a));
    CHECK_EQ(wire_ipv6_addr_scope(&a), WIRE_IPV6_SCOPE_LINK);
    a = A("ff05::2");
    CHECK_EQ(wire_ipv6_addr_scope(&a), WIRE_IPV6_SCOPE_SITE);
    a = A("ff1e::1234");
    CHECK_EQ(wire_ipv6_addr_scope(&a), WIRE_IPV6_SCOPE_GLOBAL);
    a = A("ff01::1");
    CHECK_EQ(wire_ipv6_addr_scope(&a), WIRE_IPV6_SCOPE_INTERFACE);
    a = A("fe80::1");
    CHECK(wire_ipv6_addr_is_link_local(&a) && !wire_ipv6_addr_is_multicast(&a));
    CHECK_EQ(wire_ipv6_addr_scope(&a), WIRE_IPV6_SCOPE_LINK);
    a = A("febf:ffff::1");
    CHECK(wire_ipv6_addr_is_link_local(&a));
    a = A("fec0::1");
    CHECK(!wire_ipv6_addr_is_link_local(&a));
    a = A("fe7f::1");
    CHECK(!wire_ipv6_addr_is_link_local(&a));
    a = A("2001:db8::1");
    CHECK(!wire_ipv6_addr_is_link_local(&a) && !wire_ipv6_addr_is_multicast(&a));
    CHECK_EQ(wire_ipv6_addr_scope(&a), WIRE_IPV6_SCOPE_GLOBAL);
    uint32_t v4 = 0;
    a = A("::ffff:192.0.2.33");
    CHECK(wire_ipv6_addr_is_v4_mapped(&a, &v4));
    CHECK_EQ(v4, 0xc0000221u);
    struct wire_ipv6_addr m = wire_ipv6_addr_v4_mapped(0xc0000221u);
    CHECK(wire_ipv6_addr_eq(&m, &a));
    a = A("::192.0.2.33"); /* IPv4-compatible, not mapped */
    CHECK(!wire_ipv6_addr_is_v4_mapped(&a, NULL));
    a = A("::fffe:192.0.2.33");
    CHECK(!wire_ipv6_addr_is_v4_mapped(&a, NULL));
    a = A("2001:db8:1::");
    struct wire_ipv6_addr b = A("2001:db8:1:0:1234::1");
    CHECK(wire_ipv6_addr_prefix_eq(&a, &b, 64));
    CHECK(wire_ipv6_addr_prefix_eq(&a, &b, 67));
    CHECK(!wire_ipv6_addr_prefix_eq(&a, &b, 68)); /* 0x1234: bit 67 is 1 */
    CHECK(wire_ipv6_addr_prefix_eq(&a, &b, 0));
    CHECK(!wire_ipv6_addr_prefix_eq(&a, &b, 128));
}

/* EVIDENCE: RFC 4291 2.7.1 solicited-node multicast address */
static void
test_solicited_node(void)
{
    /* The pair a Linux host used in its DAD probe (tests/fuzz/corpus/parse/eth_ipv6_ns). */
    struct wire_ipv6_addr a = A("fe80::f48e:6dff:febc:34af");
    struct wire_ipv6_addr g = wire_ipv6_addr_solicited_node(&a);
    struct wire_ipv6_addr want = A("ff02::1:ffbc:34af");
    CHECK(wire_ipv6_addr_eq(&g, &want));
    CHECK(wire_ipv6_addr_is_solicited_node(&g));
    CHECK(wire_ipv6_addr_is_multicast(&g));
    CHECK(!wire_ipv6_addr_is_solicited_node(&a));
    struct wire_ipv6_addr n = A("ff02::1:fe00:1");
    CHECK(!wire_ipv6_addr_is_solicited_node(&n));
    n = A("ff02::2:ff00:1");
    CHECK(!wire_ipv6_addr_is_solicited_node(&n));
    /* Only the low 24 bits: the same group for another prefix. */
    struct wire_ipv6_addr a2 = A("2001:db8::99bc:34af");
    struct wire_ipv6_addr g2 = wire_ipv6_addr_solicited_node(&a2);
    CHECK(wire_ipv6_addr_eq(&g2, &want));
}

static bool
parses_to(const char *s, const char *expect)
{
    struct wire_ipv6_addr a;
    if (!wire_ipv6_addr_from_text(s, strlen(s), &a)) {
        return false;
    }
    struct wire_ipv6_addr e = A(expect);
    return wire_ipv6_addr_eq(&a, &e);
}

/* EVIDENCE: RFC 4291 2.2 text forms: preferred, compressed, mixed with IPv4 */
static void
test_text_parse(void)
{
    CHECK(parses_to("2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"));
    CHECK(parses_to("2001:0db8:0000:0000:0008:0800:200c:417a", "2001:db8::8:800:200c:417a"));
    CHECK(parses_to("2001:DB8::8:800:200C:417A", "2001:db8:0:0:8:800:200c:417a"));
    CHECK(parses_to("FF01::101", "ff01:0:0:0:0:0:0:101"));
    CHECK(parses_to("::1", "0:0:0:0:0:0:0:1"));
    CHECK(parses_to("::", "0:0:0:0:0:0:0:0"));
    CHECK(parses_to("1::", "1:0:0:0:0:0:0:0"));
    CHECK(parses_to("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"));
    CHECK(parses_to("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"));
    CHECK(parses_to("0:0:0:0:0:0:13.1.68.3", "::13.1.68.3"));
    CHECK(parses_to("0:0:0:0:0:FFFF:129.144.52.38", "::ffff:8190:3426"));
    CHECK(parses_to("::13.1.68.3", "::d01:4403"));
    CHECK(parses_to("::FFFF:129.144.52.38", "::ffff:8190:3426"));
    CHECK(parses_to("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"));
    CHECK(parses_to("1::5:6:0.0.0.0", "1::5:6:0:0"));
    static const char *bad[] = {
        "",
        ":",
        ":::",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8",
        "1::2::3",
        ":1::2",
        "1::2:",
        "1:2:3:4:5:6:7:8:",
        ":1:2:3:4:5:6:7:8",
        "12345::",
        "g::1",
        "1:2:3:4:5:6:7:1.2.3.4",
        "::1.2.3.4:5",
        "::1.2.3",
        "::1.2.3.4.5",
        "::256.1.1.1",
        "::01.1.1.1",
        "::1.2.3.1234",
        "::1..2.3",
        "fe80::1%eth0",
        "2001:db8::/32",
        " ::1",
        "::1 ",
        "1:2:3:4:5:6:7:8:1.2.3.4",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct wire_ipv6_addr a;
        if (wire_ipv6_addr_from_text(bad[i], strlen(bad[i]), &a)) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            CHECK(false);
        }
    }
    /* Length-delimited: no NUL needed, the rest ignored. */
    struct wire_ipv6_addr a;
    CHECK(wire_ipv6_addr_from_text("::1]:80", 3, &a));
    CHECK(wire_ipv6_addr_is_loopback(&a));
    CHECK(!wire_ipv6_addr_from_text("::1]:80", 4, &a));
}

static bool
formats_to(const char *in, const char *expect)
{
    struct wire_ipv6_addr a = A(in);
    char out[WIRE_IPV6_ADDR_TEXT_MAX];
    size_t n = wire_ipv6_addr_to_text(&a, out);
    if (strcmp(out, expect) != 0 || n != strlen(expect)) {
        fprintf(stderr, "%s formatted as \"%s\", want \"%s\"\n", in, out, expect);
        return false;
    }
    return true;
}

/* EVIDENCE: RFC 5952 4.1 4.2.1 4.2.2 4.2.3 4.3 5 recommended text form */
static void
test_text_format(void)
{
    /* RFC 5952 4.1: no leading zeros. */
    CHECK(formats_to("2001:0db8::0001", "2001:db8::1"));
    /* 4.2.1: as short as possible. */
    CHECK(formats_to("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"));
    /* 4.2.2: a single 0 group is not compressed. */
    CHECK(formats_to("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"));
    /* 4.2.3: the longest run; the first of equal runs. */
    CHECK(formats_to("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"));
    CHECK(formats_to("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"));
    /* 4.3: lowercase. */
    CHECK(formats_to("2001:DB8::ABCD:EF", "2001:db8::abcd:ef"));
    /* 5: IPv4-mapped in mixed notation. */
    CHECK(formats_to("::ffff:c000:0280", "::ffff:192.0.2.128"));
    CHECK(formats_to("::ffff:0.0.0.0", "::ffff:0.0.0.0"));
    CHECK(formats_to("::", "::"));
    CHECK(formats_to("::1", "::1"));
    CHECK(formats_to("1::", "1::"));
    CHECK(formats_to("fe80::", "fe80::"));
    CHECK(formats_to("1:0:0:0:0:0:0:0", "1::"));
    CHECK(formats_to("0:1:0:0:0:0:0:0", "0:1::"));
    CHECK(formats_to("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
}

/* Every address whose groups are each 0, 1 or 0xabcd (3^8 of them):
 * formatting agrees with the C library's inet_ntop (which follows RFC 5952
 * too, except that it writes IPv4-compatible ::a.b.c.d, skipped here), and
 * both parsers read the text back to the same address. */
static void
test_text_against_libc(void)
{
    static const uint16_t vals[3] = {0, 1, 0xabcd};
    int mismatches = 0;
    for (int code = 0; code < 6561; code++) {
        struct wire_ipv6_addr a;
        int c = code;
        for (int g = 0; g < 8; g++) {
            uint16_t v = vals[c % 3];
            c /= 3;
            a.b[2 * g] = (uint8_t)(v >> 8);
            a.b[2 * g + 1] = (uint8_t)v;
        }
        char ours[WIRE_IPV6_ADDR_TEXT_MAX], libc[INET6_ADDRSTRLEN];
        size_t n = wire_ipv6_addr_to_text(&a, ours);
        CHECK(n == strlen(ours) && n < WIRE_IPV6_ADDR_TEXT_MAX);
        struct wire_ipv6_addr back;
        CHECK(wire_ipv6_addr_from_text(ours, n, &back));
        CHECK(wire_ipv6_addr_eq(&back, &a));
        uint8_t pton[16];
        CHECK(inet_pton(AF_INET6, ours, pton) == 1 && memcmp(pton, a.b, 16) == 0);
        bool compat = true;
        for (int i = 0; i < 12; i++) {
            compat = compat && a.b[i] == 0;
        }
        if (compat && !(a.b[12] == 0 && a.b[13] == 0 && a.b[14] == 0 && a.b[15] <= 1)) {
            continue;
        }
        if (inet_ntop(AF_INET6, a.b, libc, sizeof libc) == NULL || strcmp(libc, ours) != 0) {
            if (mismatches++ < 5) {
                fprintf(stderr, "ours \"%s\" libc \"%s\"\n", ours, libc);
            }
        }
    }
    CHECK_EQ(mismatches, 0);
}

/* Every error has its own non-empty name, the new ones included. */
int
main(void)
{
    RUN(test_parse_fixed);
    RUN(test_parse_errors);
    RUN(test_walk_chain);
    RUN(test_walk_truncation_every_offset);
    RUN(test_hbh_not_first);
    RUN(test_chain_bound);
    RUN(test_option_actions);
    RUN(test_option_padding);
    RUN(test_routing);
    RUN(test_fragment);
    RUN(test_first_fragment_chain);
    RUN(test_pseudo_checksum);
    RUN(test_addr_classes);
    RUN(test_solicited_node);
    RUN(test_text_parse);
    RUN(test_text_format);
    RUN(test_text_against_libc);
    return CHECK_DONE();
}
