/*
 * tests/unit/test_wire_icmpv6.c: ICMPv6 messages and Neighbor Discovery
 * (src/wire/icmpv6.c).
 *
 * The echo, NA and RA messages below were built and checksummed by a few
 * lines of Python over the RFC 4443 2.3 pseudo-header, independently of
 * tern. The NS is real: a Linux host's duplicate address detection probe
 * (the payload of tests/fuzz/corpus/parse/eth_ipv6_ns).
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "check.h"
#include "wire/checksum.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/wire.h"

static struct wire_ipv6_addr
A(const char *s) {
    struct wire_ipv6_addr a;
    if (inet_pton(AF_INET6, s, a.b) != 1) {
        abort();
    }
    return a;
}

/* fe80::1 -> fe80::2 echo request, id 0x1234, seq 1, "tern" */
static const uint8_t echo6[12] = {
    0x80, 0x00, 0x89, 0xab, 0x12, 0x34, 0x00, 0x01, 0x74, 0x65, 0x72, 0x6e,
};

/* fe80::2 -> fe80::1 NA, S and O, target fe80::2, TLLA 02:00:00:00:00:0b */
static const uint8_t na6[32] = {
    0x88, 0x00, 0x18, 0x11, 0x60, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,
};

/* fe80::1 -> ff02::1 RA: hop limit 64, O, lifetime 1800, reachable 30000,
 * retrans 1000, SLLA 02:00:00:00:00:01, MTU 1500, prefix 2001:db8:1::/64 L A
 * valid 86400 preferred 14400 */
static const uint8_t ra6[64] = {
    0x86, 0x00, 0xb2, 0x7f, 0x40, 0x40, 0x07, 0x08, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x03, 0xe8,
    0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc,
    0x03, 0x04, 0x40, 0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00, 0x00,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Linux DAD probe: :: -> ff02::1:ffbc:34af, hop limit 255, NS for
 * fe80::f48e:6dff:febc:34af with a nonce option (RFC 7527, type 14). */
static const uint8_t ns_linux[32] = {
    0x87, 0x00, 0x41, 0x97, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xf4, 0x8e, 0x6d, 0xff, 0xfe, 0xbc, 0x34, 0xaf, 0x0e, 0x01, 0x97, 0xe9, 0x27, 0xcc, 0xa1, 0x6b,
};

static const uint8_t mac_b[6] = {2, 0, 0, 0, 0, 0x0b};
static const uint8_t mac_1[6] = {2, 0, 0, 0, 0, 0x01};

/* Parses a copy in a heap block of exactly len bytes (ASan catches overreads). */
static enum wire_err
icmp6_exact(const uint8_t *p, size_t len, const char *src, const char *dst)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return WIRE_ERR_COUNT;
    }
    memcpy(copy, p, len);
    struct wire_ipv6_addr s = A(src), d = A(dst);
    struct wire_icmp6 h;
    enum wire_err err = wire_icmp6_parse(copy, len, &s, &d, &h);
    free(copy);
    return err;
}

static enum wire_err
nd_exact(const uint8_t *p, size_t len, const char *src, const char *dst, uint8_t hop,
         struct wire_nd *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return WIRE_ERR_COUNT;
    }
    memcpy(copy, p, len);
    struct wire_ipv6_addr s = A(src), d = A(dst);
    enum wire_err err = wire_nd_parse(copy, len, &s, &d, hop, out);
    out->options = NULL; /* point into the freed copy */
    out->redirected = NULL;
    free(copy);
    return err;
}

/* --- ICMPv6 --------------------------------------------------------------- */

/* EVIDENCE: RFC 4443 4.1 echo request fields; RFC 4443 2.3 checksum with the pseudo-header */
static void
test_echo(void)
{
    struct wire_ipv6_addr s = A("fe80::1"), d = A("fe80::2");
    struct wire_icmp6 h;
    CHECK_EQ(wire_icmp6_parse(echo6, sizeof echo6, &s, &d, &h), WIRE_OK);
    CHECK_EQ(h.type, WIRE_ICMP6_ECHO_REQUEST);
    CHECK_EQ(h.code, 0);
    CHECK_EQ(h.id, 0x1234);
    CHECK_EQ(h.seq, 1);
    CHECK_EQ(h.payload_len, 4);
    CHECK_MEM(h.payload, "tern", 4);
    CHECK(!wire_icmp6_is_error(h.type));
    /* Emitted again: the same bytes, checksum included. */
    uint8_t out[12];
    CHECK_EQ(wire_icmp6_emit_len(&h), 12);
    wire_icmp6_emit(&h, &s, &d, out);
    CHECK_MEM(out, echo6, 12);
    /* The reply in place (payload already at buf + 8). */
    h.type = WIRE_ICMP6_ECHO_REPLY;
    h.payload = out + 8;
    wire_icmp6_emit(&h, &d, &s, out);
    struct wire_icmp6 r;
    CHECK_EQ(wire_icmp6_parse(out, 12, &d, &s, &r), WIRE_OK);
    CHECK_EQ(r.type, WIRE_ICMP6_ECHO_REPLY);
    CHECK_MEM(r.payload, "tern", 4);
}

/* EVIDENCE: RFC 4443 2.3 checksum covers the pseudo-header and every byte */
static void
test_checksum(void)
{
    uint8_t m[sizeof echo6];
    for (size_t i = 0; i < sizeof m; i++) {
        memcpy(m, echo6, sizeof m);
        m[i] ^= 0x04;
        CHECK_EQ(icmp6_exact(m, sizeof m, "fe80::1", "fe80::2"), WIRE_ERR_ICMP6_CHECKSUM);
    }
    CHECK_EQ(icmp6_exact(echo6, sizeof echo6, "fe80::1", "fe80::3"), WIRE_ERR_ICMP6_CHECKSUM);
    CHECK_EQ(icmp6_exact(echo6, sizeof echo6, "fe80::2", "fe80::1"), WIRE_OK); /* symmetric */
    CHECK_EQ(icmp6_exact(echo6, sizeof echo6, "fe81::1", "fe80::2"), WIRE_ERR_ICMP6_CHECKSUM);
    /* Unlike ICMPv4, a zero checksum is no exemption. */
    memcpy(m, echo6, sizeof m);
    m[2] = m[3] = 0;
    CHECK_EQ(icmp6_exact(m, sizeof m, "fe80::1", "fe80::2"), WIRE_ERR_ICMP6_CHECKSUM);
}

static void
test_truncation(void)
{
    for (size_t n = 0; n < 8; n++) {
        CHECK_EQ(icmp6_exact(echo6, n, "fe80::1", "fe80::2"), WIRE_ERR_ICMP6_TRUNCATED);
    }
    /* Longer prefixes fail only the checksum. */
    for (size_t n = 8; n < sizeof echo6; n++) {
        CHECK_EQ(icmp6_exact(echo6, n, "fe80::1", "fe80::2"), WIRE_ERR_ICMP6_CHECKSUM);
    }
}

/* An error message of type/code with bytes 4..7 from fields, quoting q bytes. */
static size_t
make_error(uint8_t *buf, uint8_t type, uint8_t code, uint32_t word, size_t q)
{
    struct wire_icmp6 h = {.type = type, .code = code};
    h.mtu = word;
    h.pointer = word;
    h.rest = word;
    uint8_t quote[1232];
    for (size_t i = 0; i < q; i++) {
        quote[i] = (uint8_t)i;
    }
    quote[0] = 0x60;
    h.payload = quote;
    h.payload_len = q;
    struct wire_ipv6_addr s = A("2001:db8::9"), d = A("2001:db8::1");
    wire_icmp6_emit(&h, &s, &d, buf);
    return wire_icmp6_emit_len(&h);
}

/* EVIDENCE: RFC 4443 3.1 3.2 3.3 3.4 error messages: unreachable codes, packet too big MTU,
 * parameter problem pointer */
static void
test_errors(void)
{
    struct wire_ipv6_addr s = A("2001:db8::9"), d = A("2001:db8::1");
    uint8_t b[1300];
    struct wire_icmp6 h;
    size_t n = make_error(b, WIRE_ICMP6_PACKET_TOO_BIG, 0, 1280, 1232);
    CHECK_EQ(n, 1240);
    /* RFC 4443 3.2 layout by hand: type 2, code 0, the MTU in bytes 4..7. */
    CHECK_EQ(b[0], 2);
    CHECK_EQ(b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7], 1280);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_OK);
    CHECK_EQ(h.mtu, 1280);
    CHECK(wire_icmp6_is_error(h.type));
    CHECK_EQ(h.payload_len, 1232);
    CHECK_EQ(h.payload[0], 0x60);

    n = make_error(b, WIRE_ICMP6_PARAM_PROBLEM, WIRE_IPV6_PP_OPTION, 0x12345, 48);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_OK);
    CHECK_EQ(h.code, 2);
    CHECK_EQ(h.pointer, 0x12345); /* 32 bits, RFC 4443 3.4 */
    CHECK_EQ(b[5], 0x01);

    n = make_error(b, WIRE_ICMP6_DEST_UNREACH, WIRE_ICMP6_UNREACH_PORT, 0, 48);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_OK);
    CHECK_EQ(h.type, 1);
    CHECK_EQ(h.code, 4);
    CHECK_EQ(h.mtu, 0);
    CHECK_EQ(h.rest, 0);

    n = make_error(b, WIRE_ICMP6_TIME_EXCEEDED, WIRE_ICMP6_TIME_REASSEMBLY, 0, 40);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_OK);
    CHECK_EQ(h.code, 1);
    /* An error quoting less than an IPv6 header, unknown error types too. */
    n = make_error(b, WIRE_ICMP6_TIME_EXCEEDED, 0, 0, 39);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_ERR_ICMP6_ERR_PAYLOAD);
    n = make_error(b, 100, 0, 0, 39);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_ERR_ICMP6_ERR_PAYLOAD);
    n = make_error(b, 100, 0, 0xabcdef01, 40);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_OK);
    CHECK_EQ(h.rest, 0xabcdef01);
    /* Informational messages need no quote. */
    n = make_error(b, 200, 0, 7, 0);
    CHECK_EQ(wire_icmp6_parse(b, n, &s, &d, &h), WIRE_OK);
    CHECK(!wire_icmp6_is_error(200) && wire_icmp6_is_error(127) && !wire_icmp6_is_error(128));
}

/* --- Neighbor Discovery --------------------------------------------------- */

/* EVIDENCE: RFC 4861 4.4 neighbor advertisement R S O flags and target link-layer address */
static void
test_nd_na(void)
{
    struct wire_nd nd;
    struct wire_ipv6_addr s = A("fe80::2"), d = A("fe80::1");
    struct wire_icmp6 h;
    CHECK_EQ(wire_icmp6_parse(na6, sizeof na6, &s, &d, &h), WIRE_OK);
    CHECK_EQ(wire_nd_parse(na6, sizeof na6, &s, &d, 255, &nd), WIRE_OK);
    CHECK_EQ(nd.type, WIRE_ND_NEIGHBOR_ADVERT);
    CHECK(!nd.router && nd.solicited && nd.override);
    CHECK(wire_ipv6_addr_eq(&nd.target, &s));
    CHECK(nd.has_tgt_lladdr && !nd.has_src_lladdr);
    CHECK_EQ(nd.tgt_lladdr_len, 6);
    CHECK_MEM(nd.tgt_lladdr, mac_b, 6);
    /* Emitted from fields: the same bytes. */
    struct wire_nd_emit m = {.type = WIRE_ND_NEIGHBOR_ADVERT,
                             .solicited = true,
                             .override = true,
                             .target = s,
                             .tgt_lladdr = mac_b,
                             .lladdr_len = 6};
    uint8_t out[64];
    CHECK_EQ(wire_nd_emit_len(&m), 32);
    CHECK_EQ(wire_nd_emit(&m, &s, &d, out, sizeof out), 32);
    CHECK_MEM(out, na6, 32);
    CHECK_EQ(wire_nd_emit(&m, &s, &d, out, 31), 0);
    /* R flag alone. */
    m.router = true;
    m.solicited = m.override = false;
    CHECK_EQ(wire_nd_emit(&m, &s, &d, out, sizeof out), 32);
    CHECK_EQ(out[4], 0x80);
    CHECK_EQ(wire_nd_parse(out, 32, &s, &d, 255, &nd), WIRE_OK);
    CHECK(nd.router && !nd.solicited && !nd.override);
}

/* EVIDENCE: RFC 4861 4.2 router advertisement fields; 4.6.2 prefix information L and A flags and
 * lifetimes; 4.6.4 MTU option */
static void
test_nd_ra(void)
{
    struct wire_nd nd;
    struct wire_ipv6_addr s = A("fe80::1"), d = A("ff02::1");
    struct wire_icmp6 h;
    CHECK_EQ(wire_icmp6_parse(ra6, sizeof ra6, &s, &d, &h), WIRE_OK);
    CHECK_EQ(wire_nd_parse(ra6, sizeof ra6, &s, &d, 255, &nd), WIRE_OK);
    CHECK_EQ(nd.cur_hop_limit, 64);
    CHECK(!nd.managed && nd.other);
    CHECK_EQ(nd.router_lifetime, 1800);
    CHECK_EQ(nd.reachable_time, 30000);
    CHECK_EQ(nd.retrans_timer, 1000);
    CHECK(nd.has_src_lladdr);
    CHECK_MEM(nd.src_lladdr, mac_1, 6);
    CHECK(nd.has_mtu);
    CHECK_EQ(nd.mtu, 1500);
    CHECK_EQ(nd.n_prefix, 1);
    size_t off = 0, seen = 0;
    struct wire_nd_opt o;
    struct wire_nd_prefix pr = {0};
    while (wire_nd_next_option(nd.options, nd.options_len, &off, &o)) {
        seen++;
        if (o.type == WIRE_ND_OPT_PREFIX && o.valid) {
            pr = o.prefix;
        }
    }
    CHECK_EQ(seen, 3);
    CHECK_EQ(off, 48);
    CHECK_EQ(pr.prefix_len, 64);
    CHECK(pr.on_link && pr.autonomous);
    CHECK_EQ(pr.valid_lifetime, 86400);
    CHECK_EQ(pr.preferred_lifetime, 14400);
    struct wire_ipv6_addr p = A("2001:db8:1::");
    CHECK(wire_ipv6_addr_eq(&pr.prefix, &p));

    /* Emitted from fields: the same bytes. */
    struct wire_nd_emit m = {.type = WIRE_ND_ROUTER_ADVERT,
                             .cur_hop_limit = 64,
                             .other = true,
                             .router_lifetime = 1800,
                             .reachable_time = 30000,
                             .retrans_timer = 1000,
                             .src_lladdr = mac_1,
                             .lladdr_len = 6,
                             .has_mtu = true,
                             .mtu = 1500,
                             .prefixes = &pr,
                             .n_prefixes = 1};
    uint8_t out[128];
    CHECK_EQ(wire_nd_emit(&m, &s, &d, out, sizeof out), 64);
    CHECK_MEM(out, ra6, 64);
    /* The M flag and the L/A flags one by one. */
    m.managed = true;
    m.other = false;
    pr.on_link = false;
    CHECK_EQ(wire_nd_emit(&m, &s, &d, out, sizeof out), 64);
    CHECK_EQ(out[5], 0x80);
    CHECK_EQ(out[35], 0x40);
    CHECK_EQ(wire_nd_parse(out, 64, &s, &d, 255, &nd), WIRE_OK);
    CHECK(nd.managed && !nd.other);
}

/* EVIDENCE: RFC 4861 4.3 neighbor solicitation from a real Linux DAD probe; unknown options skipped
 */
static void
test_nd_ns_linux(void)
{
    struct wire_nd nd;
    struct wire_ipv6_addr s = A("::"), d = A("ff02::1:ffbc:34af");
    struct wire_icmp6 h;
    CHECK_EQ(wire_icmp6_parse(ns_linux, sizeof ns_linux, &s, &d, &h), WIRE_OK);
    CHECK_EQ(wire_nd_parse(ns_linux, sizeof ns_linux, &s, &d, 255, &nd), WIRE_OK);
    CHECK_EQ(nd.type, WIRE_ND_NEIGHBOR_SOLICIT);
    struct wire_ipv6_addr t = A("fe80::f48e:6dff:febc:34af");
    CHECK(wire_ipv6_addr_eq(&nd.target, &t));
    CHECK(!nd.has_src_lladdr && !nd.has_tgt_lladdr);
    CHECK_EQ(nd.options_len, 8);
    /* The nonce option is not known here, and is yielded as such. */
    size_t off = 0;
    struct wire_nd_opt o;
    CHECK(wire_nd_next_option(nd.options, nd.options_len, &off, &o));
    CHECK_EQ(o.type, 14);
    CHECK(!o.valid);
    CHECK(!wire_nd_next_option(nd.options, nd.options_len, &off, &o));
}

/* A valid NS from fe80::9 to fe80::1 for target fe80::1 with a source
 * link-layer option; returns its length. */
static size_t
make_ns(uint8_t *b)
{
    struct wire_nd_emit m = {.type = WIRE_ND_NEIGHBOR_SOLICIT,
                             .target = A("fe80::1"),
                             .src_lladdr = mac_b,
                             .lladdr_len = 6};
    struct wire_ipv6_addr s = A("fe80::9"), d = A("fe80::1");
    return wire_nd_emit(&m, &s, &d, b, 64);
}

/* EVIDENCE: RFC 4861 6.1.1 6.1.2 7.1.1 7.1.2 8.1 hop limit 255 and code 0 for every ND message */
static void
test_nd_hop_limit_code(void)
{
    uint8_t ns[64];
    size_t n = make_ns(ns);
    struct wire_nd nd;
    CHECK_EQ(nd_exact(ns, n, "fe80::9", "fe80::1", 255, &nd), WIRE_OK);
    CHECK(nd.has_src_lladdr);
    CHECK_EQ(nd_exact(ns, n, "fe80::9", "fe80::1", 254, &nd), WIRE_ERR_ND_HOP_LIMIT);
    CHECK_EQ(nd_exact(ns, n, "fe80::9", "fe80::1", 64, &nd), WIRE_ERR_ND_HOP_LIMIT);
    CHECK_EQ(nd_exact(ra6, sizeof ra6, "fe80::1", "ff02::1", 1, &nd), WIRE_ERR_ND_HOP_LIMIT);
    CHECK_EQ(nd_exact(na6, sizeof na6, "fe80::2", "fe80::1", 0, &nd), WIRE_ERR_ND_HOP_LIMIT);
    const uint8_t rs[8] = {WIRE_ND_ROUTER_SOLICIT};
    CHECK_EQ(nd_exact(rs, 8, "fe80::9", "ff02::2", 255, &nd), WIRE_OK);
    CHECK_EQ(nd_exact(rs, 8, "fe80::9", "ff02::2", 254, &nd), WIRE_ERR_ND_HOP_LIMIT);
    uint8_t rd[40] = {WIRE_ND_REDIRECT};
    struct wire_ipv6_addr t = A("fe80::5"), dd = A("2001:db8::77");
    memcpy(rd + 8, t.b, 16);
    memcpy(rd + 24, dd.b, 16);
    CHECK_EQ(nd_exact(rd, 40, "fe80::1", "2001:db8::9", 255, &nd), WIRE_OK);
    CHECK_EQ(nd_exact(rd, 40, "fe80::1", "2001:db8::9", 254, &nd), WIRE_ERR_ND_HOP_LIMIT);
    /* Code 0 for every type. */
    ns[1] = 1;
    CHECK_EQ(nd_exact(ns, n, "fe80::9", "fe80::1", 255, &nd), WIRE_ERR_ND_CODE);
    uint8_t rs1[8] = {WIRE_ND_ROUTER_SOLICIT, 3};
    CHECK_EQ(nd_exact(rs1, 8, "fe80::9", "ff02::2", 255, &nd), WIRE_ERR_ND_CODE);
    rd[1] = 1;
    CHECK_EQ(nd_exact(rd, 40, "fe80::1", "2001:db8::9", 255, &nd), WIRE_ERR_ND_CODE);
    uint8_t ra[64];
    memcpy(ra, ra6, 64);
    ra[1] = 9;
    CHECK_EQ(nd_exact(ra, 64, "fe80::1", "ff02::1", 255, &nd), WIRE_ERR_ND_CODE);
    uint8_t na[32];
    memcpy(na, na6, 32);
    na[1] = 1;
    CHECK_EQ(nd_exact(na, 32, "fe80::2", "fe80::1", 255, &nd), WIRE_ERR_ND_CODE);
    /* Not an ND message at all. */
    CHECK_EQ(nd_exact(echo6, sizeof echo6, "fe80::1", "fe80::2", 255, &nd), WIRE_ERR_ND_TYPE);
    CHECK_EQ(nd_exact(echo6, 0, "fe80::1", "fe80::2", 255, &nd), WIRE_ERR_ND_TYPE);
}

/* EVIDENCE: RFC 4861 6.1.1 6.1.2 7.1.1 7.1.2 8.1 ICMP length at least the fixed part; 4.6 option
 * length 0 is invalid */
static void
test_nd_lengths(void)
{
    struct wire_nd nd;
    /* Every prefix of the RA: the fixed part, then whole options only. */
    for (size_t n = 1; n <= sizeof ra6; n++) {
        enum wire_err err = nd_exact(ra6, n, "fe80::1", "ff02::1", 255, &nd);
        if (n < 16) {
            CHECK_EQ(err, WIRE_ERR_ND_TRUNCATED);
        } else if (n == 16 || n == 24 || n == 32 || n == 64) {
            CHECK_EQ(err, WIRE_OK);
        } else {
            CHECK_EQ(err, WIRE_ERR_ND_OPT_TRUNCATED);
        }
    }
    for (size_t n = 1; n < 24; n++) {
        CHECK_EQ(nd_exact(na6, n, "fe80::2", "fe80::1", 255, &nd), WIRE_ERR_ND_TRUNCATED);
        CHECK_EQ(nd_exact(ns_linux, n, "::", "ff02::1:ffbc:34af", 255, &nd), WIRE_ERR_ND_TRUNCATED);
    }
    uint8_t rd[40] = {WIRE_ND_REDIRECT};
    CHECK_EQ(nd_exact(rd, 39, "fe80::1", "2001:db8::9", 255, &nd), WIRE_ERR_ND_TRUNCATED);
    const uint8_t rs[8] = {WIRE_ND_ROUTER_SOLICIT};
    CHECK_EQ(nd_exact(rs, 7, "fe80::9", "ff02::2", 255, &nd), WIRE_ERR_ND_TRUNCATED);
    /* A zero length in each option position of the RA. */
    static const size_t opt_at[3] = {16, 24, 32};
    for (int i = 0; i < 3; i++) {
        uint8_t ra[64];
        memcpy(ra, ra6, 64);
        ra[opt_at[i] + 1] = 0;
        CHECK_EQ(nd_exact(ra, 64, "fe80::1", "ff02::1", 255, &nd), WIRE_ERR_ND_OPT_ZERO_LEN);
    }
    /* A zero-length unknown option too (it would loop forever if skipped). */
    uint8_t ns[72];
    size_t n = make_ns(ns);
    const uint8_t z[8] = {200, 0};
    memcpy(ns + n, z, 8);
    CHECK_EQ(nd_exact(ns, n + 8, "fe80::9", "fe80::1", 255, &nd), WIRE_ERR_ND_OPT_ZERO_LEN);
    /* An option longer than the rest of the message. */
    ns[n + 1] = 2;
    CHECK_EQ(nd_exact(ns, n + 8, "fe80::9", "fe80::1", 255, &nd), WIRE_ERR_ND_OPT_TRUNCATED);
    /* The iterator stops at a zero length rather than looping. */
    size_t off = 0;
    struct wire_nd_opt o;
    CHECK(!wire_nd_next_option(z, 8, &off, &o));
    CHECK_EQ(off, 0);
}

/* Unknown options are skipped, a known option with a wrong length is
 * skipped, and an option a type does not carry is ignored. */
static void
test_nd_option_skipping(void)
{
    struct wire_nd nd;
    uint8_t ra[136];
    memcpy(ra, ra6, 64);
    /* An unknown option (type 250, 16 bytes), a 16-byte and a 40-byte
     * prefix option (RFC 4861 4.6.2: it is always 32 bytes). */
    uint8_t extra[72] = {250, 2};
    extra[16] = WIRE_ND_OPT_PREFIX;
    extra[17] = 2;
    extra[32] = WIRE_ND_OPT_PREFIX;
    extra[33] = 5;
    extra[34] = 64;
    memcpy(ra + 64, extra, 72);
    CHECK_EQ(nd_exact(ra, 136, "fe80::1", "ff02::1", 255, &nd), WIRE_OK);
    CHECK_EQ(nd.n_prefix, 1); /* the bad prefix options are not counted */
    CHECK_EQ(nd.mtu, 1500);
    /* An MTU option of length 2 is no MTU option. */
    memcpy(ra, ra6, 64);
    ra[24 + 1] = 2; /* swallows the prefix option's first 8 bytes */
    ra[40] = 250;   /* ... and the rest is an unknown option of length 3 */
    ra[41] = 3;
    CHECK_EQ(nd_exact(ra, 64, "fe80::1", "ff02::1", 255, &nd), WIRE_OK);
    CHECK(!nd.has_mtu);
    CHECK_EQ(nd.n_prefix, 0);
    /* A target link-layer option in an NS is ignored. */
    uint8_t ns[64];
    size_t n = make_ns(ns);
    ns[24] = WIRE_ND_OPT_TGT_LLADDR;
    CHECK_EQ(nd_exact(ns, n, "fe80::9", "fe80::1", 255, &nd), WIRE_OK);
    CHECK(!nd.has_src_lladdr && !nd.has_tgt_lladdr);
}

/* EVIDENCE: RFC 4861 6.1.2 router advertisement source must be link-local; 8.1 redirect source
 * link-local */
static void
test_nd_router_source(void)
{
    struct wire_nd nd;
    CHECK_EQ(nd_exact(ra6, sizeof ra6, "2001:db8::1", "ff02::1", 255, &nd), WIRE_ERR_ND_SRC);
    CHECK_EQ(nd_exact(ra6, sizeof ra6, "::", "ff02::1", 255, &nd), WIRE_ERR_ND_SRC);
    uint8_t rd[40] = {WIRE_ND_REDIRECT};
    struct wire_ipv6_addr t = A("fe80::5"), dd = A("2001:db8::77");
    memcpy(rd + 8, t.b, 16);
    memcpy(rd + 24, dd.b, 16);
    CHECK_EQ(nd_exact(rd, 40, "2001:db8::1", "2001:db8::9", 255, &nd), WIRE_ERR_ND_SRC);
}

/* EVIDENCE: RFC 4861 7.1.1 7.1.2 target not multicast; unspecified source only to solicited-node
 * without source link-layer option; 6.1.1 */
static void
test_nd_ns_na_rules(void)
{
    struct wire_nd nd;
    uint8_t ns[64];
    size_t n = make_ns(ns);
    /* Target multicast. */
    ns[8] = 0xff;
    CHECK_EQ(nd_exact(ns, n, "fe80::9", "fe80::1", 255, &nd), WIRE_ERR_ND_TARGET);
    uint8_t na[32];
    memcpy(na, na6, 32);
    na[8] = 0xff;
    na[9] = 0x02;
    CHECK_EQ(nd_exact(na, 32, "fe80::2", "fe80::1", 255, &nd), WIRE_ERR_ND_TARGET);
    /* DAD: from :: to the solicited-node group, no source link-layer option. */
    CHECK_EQ(nd_exact(ns_linux, 32, "::", "ff02::1:ffbc:34af", 255, &nd), WIRE_OK);
    CHECK_EQ(nd_exact(ns_linux, 32, "::", "ff02::1", 255, &nd), WIRE_ERR_ND_DAD);
    CHECK_EQ(nd_exact(ns_linux, 32, "::", "fe80::f48e:6dff:febc:34af", 255, &nd), WIRE_ERR_ND_DAD);
    n = make_ns(ns);
    CHECK_EQ(nd_exact(ns, n, "::", "ff02::1:ff00:1", 255, &nd), WIRE_ERR_ND_DAD);
    ns[24] = 99; /* the same bytes with the option unknown: fine */
    CHECK_EQ(nd_exact(ns, n, "::", "ff02::1:ff00:1", 255, &nd), WIRE_OK);
    /* RS from :: with a source link-layer option. */
    uint8_t rs[16] = {WIRE_ND_ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 9};
    CHECK_EQ(nd_exact(rs, 16, "::", "ff02::2", 255, &nd), WIRE_ERR_ND_DAD);
    CHECK_EQ(nd_exact(rs, 16, "fe80::9", "ff02::2", 255, &nd), WIRE_OK);
    CHECK(nd.has_src_lladdr);
    CHECK_EQ(nd_exact(rs, 8, "::", "ff02::2", 255, &nd), WIRE_OK);
    /* NA to a multicast destination must have S clear. */
    CHECK_EQ(nd_exact(na6, 32, "fe80::2", "ff02::1", 255, &nd), WIRE_ERR_ND_NA_SOLICITED);
    memcpy(na, na6, 32);
    na[4] = 0x20; /* O only: an unsolicited announcement */
    CHECK_EQ(nd_exact(na, 32, "fe80::2", "ff02::1", 255, &nd), WIRE_OK);
    CHECK(!nd.solicited && nd.override);
}

/* EVIDENCE: RFC 4861 8.1 redirect destination not multicast; target link-local or the
 * destination; 4.5 fields; 4.6.3 redirected header */
static void
test_nd_redirect(void)
{
    struct wire_nd nd;
    uint8_t rd[96] = {WIRE_ND_REDIRECT};
    struct wire_ipv6_addr t = A("fe80::5"), dd = A("2001:db8::77");
    memcpy(rd + 8, t.b, 16);
    memcpy(rd + 24, dd.b, 16);
    /* Options: target link-layer address, redirected header of 48 bytes
     * (6 reserved, then 42 bytes of the packet). */
    const uint8_t tll[8] = {2, 1, 2, 0, 0, 0, 0, 0x0b};
    memcpy(rd + 40, tll, 8);
    rd[48] = WIRE_ND_OPT_REDIRECTED;
    rd[49] = 6;
    rd[56] = 0x60;
    CHECK_EQ(nd_exact(rd, 96, "fe80::1", "2001:db8::9", 255, &nd), WIRE_OK);
    CHECK(wire_ipv6_addr_eq(&nd.target, &t));
    CHECK(wire_ipv6_addr_eq(&nd.dest, &dd));
    CHECK(nd.has_tgt_lladdr);
    CHECK_MEM(nd.tgt_lladdr, mac_b, 6);
    CHECK_EQ(nd.redirected_len, 40);
    {
        struct wire_ipv6_addr s = A("fe80::1"), d = A("2001:db8::9");
        CHECK_EQ(wire_nd_parse(rd, 96, &s, &d, 255, &nd), WIRE_OK);
        CHECK(nd.redirected == rd + 56);
    }
    /* Destination multicast. */
    uint8_t bad[96];
    memcpy(bad, rd, 96);
    bad[24] = 0xff;
    CHECK_EQ(nd_exact(bad, 96, "fe80::1", "2001:db8::9", 255, &nd), WIRE_ERR_ND_REDIRECT);
    /* Target global and not the destination. */
    memcpy(bad, rd, 96);
    struct wire_ipv6_addr g = A("2001:db8::5");
    memcpy(bad + 8, g.b, 16);
    CHECK_EQ(nd_exact(bad, 96, "fe80::1", "2001:db8::9", 255, &nd), WIRE_ERR_ND_REDIRECT);
    /* Target equal to the destination: on-link, allowed. */
    memcpy(bad + 8, dd.b, 16);
    CHECK_EQ(nd_exact(bad, 96, "fe80::1", "2001:db8::9", 255, &nd), WIRE_OK);
}

int
main(void)
{
    RUN(test_echo);
    RUN(test_checksum);
    RUN(test_truncation);
    RUN(test_errors);
    RUN(test_nd_na);
    RUN(test_nd_ra);
    RUN(test_nd_ns_linux);
    RUN(test_nd_hop_limit_code);
    RUN(test_nd_lengths);
    RUN(test_nd_option_skipping);
    RUN(test_nd_router_source);
    RUN(test_nd_ns_na_rules);
    RUN(test_nd_redirect);
    return CHECK_DONE();
}
