/*
 * tests/unit/test_wire_dhcp.c: DHCPv4 parse, client emit and reply check
 * (src/wire/dhcp.c).
 *
 * The replies below are laid out by hand from RFC 2131 figure 1 and RFC
 * 2132, in the shape dnsmasq gives its OFFER and ACK (message type, server
 * identifier, lease time, T1, T2, subnet mask, broadcast address, router,
 * DNS server, domain name, End), not produced by the code under test.
 * Every parse runs on a heap buffer of exactly the message's size, so that
 * ASan sees a read one byte past it.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire/dhcp.h"
#include "wire/wire.h"

#define XID 0x1a2b3c4du

static const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

/* The fixed part of a reply from 10.88.0.1 offering 10.88.0.57. */
static size_t
fixed_reply(uint8_t *b)
{
    memset(b, 0, WIRE_DHCP_MIN_LEN);
    b[0] = 2; /* BOOTREPLY */
    b[1] = 1; /* Ethernet */
    b[2] = 6;
    b[4] = 0x1a, b[5] = 0x2b, b[6] = 0x3c, b[7] = 0x4d;
    b[16] = 10, b[17] = 88, b[18] = 0, b[19] = 57; /* yiaddr */
    b[20] = 10, b[21] = 88, b[22] = 0, b[23] = 1;  /* siaddr */
    memcpy(b + 28, mac, 6);
    b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99;
    return WIRE_DHCP_MIN_LEN;
}

static const uint8_t offer_opts[] = {
    53,  1, 2,                    /* DHCPOFFER */
    54,  4, 10,  88,  0,    1,    /* server identifier */
    51,  4, 0,   0,   0x0e, 0x10, /* lease 3600 s */
    58,  4, 0,   0,   0x07, 0x08, /* T1 1800 s */
    59,  4, 0,   0,   0x0c, 0x4e, /* T2 3150 s */
    1,   4, 255, 255, 255,  0,    /* subnet mask */
    28,  4, 10,  88,  0,    255,  /* broadcast address (skipped) */
    3,   4, 10,  88,  0,    1,    /* router */
    6,   4, 10,  88,  0,    1,    /* DNS server */
    15,  4, 'l', 'a', 'b',  0,    /* domain, with a trailing NUL */
    255,
};

static const uint8_t ack_opts[] =
    {
        53,  1,   5, /* DHCPACK */
        54,  4,   10,  88,  0,    1,    51,  4,   0,    0,    0x0e, 0x10,
        58,  4,   0,   0,   0x07, 0x08, 59,  4,   0,    0,    0x0c, 0x4e,
        1,   4,   255, 255, 255,  0,    26,  2,   0x05, 0x78, /* MTU 1400 */
        3,   8,   10,  88,  0,    1,    10,  88,  0,    2,    6,    4,
        10,  88,  0,   53,  15,   11,   'e', 'x', 'a',  'm',  'p',  'l',
        'e', '.', 'o', 'r', 'g',  255,  0,   0,   0, /* End, then Pad */
};

/* A reply with the given options, in a heap buffer of exactly its size. */
static uint8_t *
reply(const uint8_t *opts, size_t n, size_t *len)
{
    uint8_t *b = malloc(WIRE_DHCP_MIN_LEN + n);
    fixed_reply(b);
    memcpy(b + WIRE_DHCP_MIN_LEN, opts, n);
    *len = WIRE_DHCP_MIN_LEN + n;
    return b;
}

/* Parses a copy of len bytes of b in a heap buffer of exactly len bytes. */
static enum wire_err
parse_exact(const uint8_t *b, size_t len, struct wire_dhcp *d)
{
    uint8_t *c = malloc(len ? len : 1);
    if (len) {
        memcpy(c, b, len);
    }
    enum wire_err e = wire_dhcp_parse(c, len, d);
    free(c);
    return e;
}

static enum wire_err
parse_opts(const uint8_t *opts, size_t n, struct wire_dhcp *d)
{
    size_t len;
    uint8_t *b = reply(opts, n, &len);
    enum wire_err e = parse_exact(b, len, d);
    free(b);
    return e;
}

static void
test_offer(void)
{
    size_t len;
    uint8_t *b = reply(offer_opts, sizeof offer_opts, &len);
    struct wire_dhcp d;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_OK);
    CHECK_EQ(d.op, WIRE_DHCP_BOOTREPLY);
    CHECK_EQ(d.htype, 1);
    CHECK_EQ(d.hlen, 6);
    CHECK_EQ(d.xid, XID);
    CHECK_EQ(d.yiaddr, 0x0a580039u);
    CHECK_EQ(d.siaddr, 0x0a580001u);
    CHECK_EQ(d.ciaddr, 0);
    CHECK_MEM(d.chaddr, mac, 6);
    CHECK_EQ(d.opts.msg_type, WIRE_DHCP_OFFER);
    CHECK(d.opts.has_server_id && d.opts.server_id == 0x0a580001u);
    CHECK(d.opts.has_lease_time && d.opts.lease_time == 3600);
    CHECK(d.opts.has_t1 && d.opts.t1 == 1800);
    CHECK(d.opts.has_t2 && d.opts.t2 == 3150);
    CHECK(d.opts.has_subnet_mask && d.opts.subnet_mask == 0xffffff00u);
    CHECK_EQ(d.opts.n_routers, 1);
    CHECK_EQ(d.opts.routers[0], 0x0a580001u);
    CHECK_EQ(d.opts.n_dns, 1);
    CHECK_EQ(d.opts.dns[0], 0x0a580001u);
    /* RFC 2132 2: the trailing NUL is dropped. */
    CHECK_EQ(d.opts.domain_len, 3);
    CHECK_STR(d.opts.domain, "lab");
    CHECK(!d.opts.has_mtu && !d.opts.has_requested && d.opts.overload == 0);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DISCOVER, XID, 1, 6, mac), WIRE_OK);
    free(b);
}

static void
test_ack(void)
{
    struct wire_dhcp d;
    CHECK_EQ(parse_opts(ack_opts, sizeof ack_opts, &d), WIRE_OK);
    CHECK_EQ(d.opts.msg_type, WIRE_DHCP_ACK);
    CHECK(d.opts.has_mtu && d.opts.mtu == 1400);
    CHECK_EQ(d.opts.n_routers, 2);
    CHECK_EQ(d.opts.routers_total, 2);
    CHECK_EQ(d.opts.routers[1], 0x0a580002u);
    CHECK_EQ(d.opts.dns[0], 0x0a580035u);
    CHECK_STR(d.opts.domain, "example.org");
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_REQUEST, XID, 1, 6, mac), WIRE_OK);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DISCOVER, XID, 1, 6, mac), WIRE_ERR_DHCP_MSG_TYPE);
}

/* Every prefix of a message is refused: shorter than 240 bytes as
 * truncated, longer as options without End or cut inside an option. */
static void
check_every_prefix(const uint8_t *b, size_t len)
{
    struct wire_dhcp d;
    for (size_t n = 0; n < len; n++) {
        enum wire_err e = parse_exact(b, n, &d);
        if (n < WIRE_DHCP_MIN_LEN) {
            CHECK_EQ(e, WIRE_ERR_DHCP_TRUNCATED);
        } else {
            CHECK(e == WIRE_ERR_DHCP_NO_END || e == WIRE_ERR_DHCP_OPT_TRUNCATED);
        }
    }
    CHECK_EQ(parse_exact(b, len, &d), WIRE_OK);
}

static void
test_truncation(void)
{
    size_t len;
    uint8_t *b = reply(offer_opts, sizeof offer_opts, &len);
    check_every_prefix(b, len);
    free(b);
    /* Cut in the middle of an option: its data runs past the end. */
    struct wire_dhcp d;
    size_t cut = WIRE_DHCP_MIN_LEN + 5; /* inside the server identifier */
    b = reply(offer_opts, sizeof offer_opts, &len);
    CHECK_EQ(parse_exact(b, cut, &d), WIRE_ERR_DHCP_OPT_TRUNCATED);
    /* Cut right after a code byte: no length byte. */
    CHECK_EQ(parse_exact(b, WIRE_DHCP_MIN_LEN + 4, &d), WIRE_ERR_DHCP_OPT_TRUNCATED);
    /* Cut at an option boundary: no End. */
    CHECK_EQ(parse_exact(b, WIRE_DHCP_MIN_LEN + 3, &d), WIRE_ERR_DHCP_NO_END);
    free(b);
}

/* A DHCPACK captured from dnsmasq 2.90 (veth pair in two throwaway network
 * namespaces, 10.199.77.0/24, --dhcp-option mtu 1400, --domain lab.test),
 * answering a REQUEST that wire_dhcp_emit_client built; dnsmasq also
 * accepted the DISCOVER and RELEASE it built. Bytes 44-235 (sname and
 * file) are zero. */
static const uint8_t dnsmasq_ack_head[44] = {
    0x02, 0x01, 0x06, 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x0a, 0xc7, 0x4d, 0x44, 0x0a, 0xc7, 0x4d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x00, 0x77, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t dnsmasq_ack_opts[70] = {
    0x63, 0x82, 0x53, 0x63, 0x35, 0x01, 0x05, 0x36, 0x04, 0x0a, 0xc7, 0x4d, 0x01, 0x33,
    0x04, 0x00, 0x00, 0x0e, 0x10, 0x3a, 0x04, 0x00, 0x00, 0x07, 0x08, 0x3b, 0x04, 0x00,
    0x00, 0x0c, 0x4e, 0x01, 0x04, 0xff, 0xff, 0xff, 0x00, 0x1c, 0x04, 0x0a, 0xc7, 0x4d,
    0xff, 0x0f, 0x08, 0x6c, 0x61, 0x62, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x1a, 0x02, 0x05,
    0x78, 0x06, 0x04, 0x0a, 0xc7, 0x4d, 0x01, 0x03, 0x04, 0x0a, 0xc7, 0x4d, 0x01, 0xff,
};

static void
test_dnsmasq_ack(void)
{
    uint8_t *b = malloc(306);
    memset(b, 0, 306);
    memcpy(b, dnsmasq_ack_head, sizeof dnsmasq_ack_head);
    memcpy(b + 236, dnsmasq_ack_opts, sizeof dnsmasq_ack_opts);
    static const uint8_t hw[6] = {0x02, 0x00, 0x00, 0x77, 0x00, 0x0b};
    struct wire_dhcp d;
    CHECK_EQ(wire_dhcp_parse(b, 306, &d), WIRE_OK);
    CHECK_EQ(d.flags, WIRE_DHCP_FLAG_BROADCAST);
    CHECK_EQ(d.yiaddr, 0x0ac74d44u);
    CHECK_EQ(d.siaddr, 0x0ac74d01u);
    CHECK_EQ(d.opts.msg_type, WIRE_DHCP_ACK);
    CHECK_EQ(d.opts.server_id, 0x0ac74d01u);
    CHECK_EQ(d.opts.lease_time, 3600);
    CHECK_EQ(d.opts.t1, 1800);
    CHECK_EQ(d.opts.t2, 3150);
    CHECK_EQ(d.opts.subnet_mask, 0xffffff00u);
    CHECK(d.opts.has_mtu && d.opts.mtu == 1400);
    CHECK_STR(d.opts.domain, "lab.test");
    CHECK_EQ(d.opts.n_routers, 1);
    CHECK_EQ(d.opts.routers[0], 0x0ac74d01u);
    CHECK_EQ(d.opts.n_dns, 1);
    CHECK_EQ(d.opts.dns[0], 0x0ac74d01u);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_REQUEST, XID, 1, 6, hw), WIRE_OK);
    /* Ends with End at byte 305: every shorter prefix fails. */
    check_every_prefix(b, 306);
    free(b);
}

static void
test_option_past_end(void)
{
    struct wire_dhcp d;
    /* Length 200 with 3 bytes after it. */
    static const uint8_t o1[] = {53, 1, 2, 15, 200, 'a', 'b', 255};
    CHECK_EQ(parse_opts(o1, sizeof o1, &d), WIRE_ERR_DHCP_OPT_TRUNCATED);
    /* An unknown option runs past the end too. */
    static const uint8_t o2[] = {53, 1, 2, 222, 6, 1, 2, 3, 4, 255};
    CHECK_EQ(parse_opts(o2, sizeof o2, &d), WIRE_ERR_DHCP_OPT_TRUNCATED);
    /* Exactly to the end, then End. */
    static const uint8_t o3[] = {53, 1, 2, 222, 3, 1, 2, 3, 255};
    CHECK_EQ(parse_opts(o3, sizeof o3, &d), WIRE_OK);
    /* Only Pad: no End. */
    static const uint8_t o4[] = {0, 0, 0, 0};
    CHECK_EQ(parse_opts(o4, sizeof o4, &d), WIRE_ERR_DHCP_NO_END);
    /* No options at all. */
    CHECK_EQ(parse_opts(o4, 0, &d), WIRE_ERR_DHCP_NO_END);
    /* Options after End are not read. */
    static const uint8_t o5[] = {53, 1, 2, 255, 1, 200};
    CHECK_EQ(parse_opts(o5, sizeof o5, &d), WIRE_OK);
    CHECK(!d.opts.has_subnet_mask);
}

static void
test_header_errors(void)
{
    size_t len;
    uint8_t *b = reply(offer_opts, sizeof offer_opts, &len);
    struct wire_dhcp d;
    b[0] = 0;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_ERR_DHCP_OP);
    b[0] = 3;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_ERR_DHCP_OP);
    b[0] = 1;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_OK);
    b[0] = 2;
    b[2] = 17;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_ERR_DHCP_HLEN);
    b[2] = 16;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_OK);
    b[2] = 6;
    for (int i = 236; i < 240; i++) {
        b[i] ^= 1;
        CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_ERR_DHCP_COOKIE);
        b[i] ^= 1;
    }
    /* The broadcast flag and the other fixed fields come through. */
    b[10] = 0x80;
    b[8] = 0x01, b[9] = 0x02;
    b[3] = 1;
    b[24] = 10, b[27] = 9;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_OK);
    CHECK_EQ(d.flags, WIRE_DHCP_FLAG_BROADCAST);
    CHECK_EQ(d.secs, 0x0102);
    CHECK_EQ(d.hops, 1);
    CHECK_EQ(d.giaddr, 0x0a000009u);
    free(b);
}

/* RFC 2131 4.1, RFC 2132 9.3: options in 'file' then 'sname'. */
static void
test_overload(void)
{
    uint8_t b[WIRE_DHCP_MIN_LEN + 16];
    fixed_reply(b);
    static const uint8_t opts[] = {53, 1, 5, 52, 1, 3, 3, 4, 10, 88, 0, 1, 255};
    memcpy(b + WIRE_DHCP_MIN_LEN, opts, sizeof opts);
    size_t len = WIRE_DHCP_MIN_LEN + sizeof opts;
    /* 'file' (offset 108): server id, lease, a second router, the start of
     * the domain; 'sname' (offset 44): DNS and the rest of the domain. */
    static const uint8_t file[] = {54, 4, 10, 88, 0, 1, 51, 4, 0,   0,   0x0e, 0x10,
                                   3,  4, 10, 88, 0, 2, 15, 2, 'e', 'x', 255};
    static const uint8_t sname[] = {6,   4,   10,  88,  0,   53,  15,  9,   'a',
                                    'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 255};
    memcpy(b + 108, file, sizeof file);
    memcpy(b + 44, sname, sizeof sname);
    struct wire_dhcp d;
    CHECK_EQ(parse_exact(b, len, &d), WIRE_OK);
    CHECK_EQ(d.opts.overload, 3);
    CHECK(d.opts.has_server_id && d.opts.has_lease_time);
    /* Repeated routers join in order: options field first, then file. */
    CHECK_EQ(d.opts.n_routers, 2);
    CHECK_EQ(d.opts.routers[0], 0x0a580001u);
    CHECK_EQ(d.opts.routers[1], 0x0a580002u);
    CHECK_EQ(d.opts.n_dns, 1);
    /* 'file' is read before 'sname'. */
    CHECK_STR(d.opts.domain, "example.org");
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_REQUEST, XID, 1, 6, mac), WIRE_OK);
    check_every_prefix(b, len);

    /* Overload 1: only 'file'; 'sname' is a name again, not read. */
    b[WIRE_DHCP_MIN_LEN + 5] = 1;
    CHECK_EQ(parse_exact(b, len, &d), WIRE_OK);
    CHECK_EQ(d.opts.n_dns, 0);
    CHECK_STR(d.opts.domain, "ex");
    /* Overload 2: only 'sname'. */
    b[WIRE_DHCP_MIN_LEN + 5] = 2;
    CHECK_EQ(parse_exact(b, len, &d), WIRE_OK);
    CHECK(!d.opts.has_server_id);
    CHECK_EQ(d.opts.n_routers, 1);
    CHECK_STR(d.opts.domain, "ample.org");
    /* Values outside 1-3. */
    b[WIRE_DHCP_MIN_LEN + 5] = 0;
    CHECK_EQ(parse_exact(b, len, &d), WIRE_ERR_DHCP_OVERLOAD);
    b[WIRE_DHCP_MIN_LEN + 5] = 4;
    CHECK_EQ(parse_exact(b, len, &d), WIRE_ERR_DHCP_OVERLOAD);
    b[WIRE_DHCP_MIN_LEN + 5] = 3;
    /* An overloaded field without End: Pad to its last byte. */
    b[44 + sizeof sname - 1] = 0;
    memset(b + 44 + sizeof sname, 0, WIRE_DHCP_SNAME_LEN - sizeof sname);
    CHECK_EQ(parse_exact(b, len, &d), WIRE_ERR_DHCP_NO_END);
    /* An option whose length runs past 'sname' into 'file' (RFC 2131 4.1:
     * each option lies wholly in its field). */
    memset(b + 44, 0, WIRE_DHCP_SNAME_LEN);
    b[44 + 60] = 222, b[44 + 61] = 10;
    CHECK_EQ(parse_exact(b, len, &d), WIRE_ERR_DHCP_OPT_TRUNCATED);
    /* Overload found in 'file' is not obeyed. */
    memset(b + 44, 'x', WIRE_DHCP_SNAME_LEN);
    b[WIRE_DHCP_MIN_LEN + 5] = 1;
    static const uint8_t file2[] = {52, 1, 3, 255};
    memset(b + 108, 0, WIRE_DHCP_FILE_LEN);
    memcpy(b + 108, file2, sizeof file2);
    CHECK_EQ(parse_exact(b, len, &d), WIRE_OK);
    CHECK_EQ(d.opts.overload, 1);
    /* Two overload options: concatenated to 2 bytes. */
    static const uint8_t twice[] = {53, 1, 5, 52, 1, 1, 52, 1, 1, 255};
    CHECK_EQ(parse_opts(twice, sizeof twice, &d), WIRE_ERR_DHCP_OPT_BADLEN);
}

/* RFC 2132 lengths: each decoded fixed-size option one byte short and one
 * byte long is refused. */
static void
test_bad_lengths(void)
{
    static const struct {
        uint8_t code, len;
    } fixed[] = {{1, 4},  {26, 2}, {50, 4}, {51, 4}, {52, 1},
                 {53, 1}, {54, 4}, {57, 2}, {58, 4}, {59, 4}};
    struct wire_dhcp d;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        for (int delta = -1; delta <= 1; delta++) {
            uint8_t o[16] = {0};
            size_t n = (size_t)(fixed[i].len + delta);
            o[0] = fixed[i].code;
            o[1] = (uint8_t)n;
            memset(o + 2, 1, n);
            o[2 + n] = 255;
            /* With the right length, overload 1 sends the parser into
             * 'file', which here is all Pad and has no End. */
            enum wire_err want = delta != 0            ? WIRE_ERR_DHCP_OPT_BADLEN
                                 : fixed[i].code == 52 ? WIRE_ERR_DHCP_NO_END
                                                       : WIRE_OK;
            CHECK_EQ(parse_opts(o, n + 3, &d), want);
        }
    }
    /* Address lists: empty, or not a multiple of 4. */
    static const uint8_t r0[] = {3, 0, 255};
    static const uint8_t r5[] = {3, 5, 1, 2, 3, 4, 5, 255};
    static const uint8_t d3[] = {6, 3, 1, 2, 3, 255};
    static const uint8_t d0[] = {6, 0, 255};
    CHECK_EQ(parse_opts(r0, sizeof r0, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    CHECK_EQ(parse_opts(r5, sizeof r5, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    CHECK_EQ(parse_opts(d3, sizeof d3, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    CHECK_EQ(parse_opts(d0, sizeof d0, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    /* Text and byte lists: minimum 1 (15, 55, 56), 2 (61). */
    static const uint8_t t15[] = {15, 0, 255}, t55[] = {55, 0, 255}, t56[] = {56, 0, 255};
    static const uint8_t t61[] = {61, 1, 1, 255}, ok61[] = {61, 2, 0, 'x', 255};
    CHECK_EQ(parse_opts(t15, sizeof t15, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    CHECK_EQ(parse_opts(t55, sizeof t55, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    CHECK_EQ(parse_opts(t56, sizeof t56, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    CHECK_EQ(parse_opts(t61, sizeof t61, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    CHECK_EQ(parse_opts(ok61, sizeof ok61, &d), WIRE_OK);
    CHECK_EQ(d.opts.client_id_len, 2);
    /* A repeated fixed option joins to the wrong length. */
    static const uint8_t mask2[] = {1, 4, 255, 255, 255, 0, 1, 4, 255, 255, 255, 0, 255};
    CHECK_EQ(parse_opts(mask2, sizeof mask2, &d), WIRE_ERR_DHCP_OPT_BADLEN);
    /* An unknown option of any length is skipped. */
    static const uint8_t unk[] = {200, 0, 201, 1, 7, 255};
    CHECK_EQ(parse_opts(unk, sizeof unk, &d), WIRE_OK);
    CHECK_EQ(d.opts.msg_type, 0);
}

static void
test_values_and_concatenation(void)
{
    struct wire_dhcp d;
    /* RFC 2132 5.1: an MTU under 68 is ignored; 68 is kept. */
    static const uint8_t m67[] = {26, 2, 0, 67, 255}, m68[] = {26, 2, 0, 68, 255};
    CHECK_EQ(parse_opts(m67, sizeof m67, &d), WIRE_OK);
    CHECK(!d.opts.has_mtu);
    CHECK_EQ(parse_opts(m68, sizeof m68, &d), WIRE_OK);
    CHECK(d.opts.has_mtu && d.opts.mtu == 68);
    /* RFC 2132 9.10: under 576 is ignored. */
    static const uint8_t s575[] = {57, 2, 2, 63, 255}, s576[] = {57, 2, 2, 64, 255};
    CHECK_EQ(parse_opts(s575, sizeof s575, &d), WIRE_OK);
    CHECK(!d.opts.has_max_size);
    CHECK_EQ(parse_opts(s576, sizeof s576, &d), WIRE_OK);
    CHECK(d.opts.has_max_size && d.opts.max_size == 576);
    /* A router list split in the middle of an address joins up. */
    static const uint8_t split[] = {3, 2, 10, 88, 0, 0, 3, 2, 0, 9, 255};
    CHECK_EQ(parse_opts(split, sizeof split, &d), WIRE_OK);
    CHECK_EQ(d.opts.n_routers, 1);
    CHECK_EQ(d.opts.routers[0], 0x0a580009u);
    /* Six DNS servers: the first four kept, six counted. */
    uint8_t six[2 + 24 + 1] = {6, 24};
    for (int i = 0; i < 24; i++) {
        six[2 + i] = (uint8_t)(i / 4 + 1);
    }
    six[26] = 255;
    CHECK_EQ(parse_opts(six, sizeof six, &d), WIRE_OK);
    CHECK_EQ(d.opts.n_dns, WIRE_DHCP_MAX_ADDRS);
    CHECK_EQ(d.opts.dns_total, 6);
    CHECK_EQ(d.opts.dns[3], 0x04040404u);
    /* A domain joined past 255 bytes is ignored; a message is cut. */
    uint8_t big[2 * 202 + 1];
    for (int k = 0; k < 2; k++) {
        big[k * 202] = 15;
        big[k * 202 + 1] = 200;
        memset(big + k * 202 + 2, 'a', 200);
    }
    big[404] = 255;
    CHECK_EQ(parse_opts(big, sizeof big, &d), WIRE_OK);
    CHECK_EQ(d.opts.domain_len, 0);
    CHECK_STR(d.opts.domain, "");
    big[0] = big[202] = 56;
    CHECK_EQ(parse_opts(big, sizeof big, &d), WIRE_OK);
    CHECK_EQ(d.opts.message_len, WIRE_DHCP_MAX_TEXT);
    CHECK_EQ(strlen(d.opts.message), WIRE_DHCP_MAX_TEXT);
    /* A text of NULs only is empty. */
    static const uint8_t nuls[] = {56, 2, 0, 0, 255};
    CHECK_EQ(parse_opts(nuls, sizeof nuls, &d), WIRE_OK);
    CHECK_EQ(d.opts.message_len, 0);
}

/* --- Client messages ------------------------------------------------------ */

static const uint8_t prl[] = {1, 3, 6, 15, 26, 51, 58, 59};

static struct wire_dhcp_client_msg
base_msg(enum wire_dhcp_msg type)
{
    return (struct wire_dhcp_client_msg){
        .type = type, .xid = XID, .htype = 1, .hlen = 6, .chaddr = mac};
}

/* Emits m into a heap buffer of exactly its size (also refusing one byte
 * less) and parses it back. */
static size_t
emit_parse(const struct wire_dhcp_client_msg *m, struct wire_dhcp *d, uint8_t **out)
{
    size_t len = wire_dhcp_client_len(m);
    uint8_t *b = malloc(len);
    CHECK_EQ(wire_dhcp_emit_client(m, b, len - 1), 0);
    size_t n = wire_dhcp_emit_client(m, b, len);
    CHECK_EQ(n, len);
    CHECK(n >= WIRE_DHCP_CLIENT_MIN_LEN);
    CHECK_EQ(wire_dhcp_parse(b, n, d), WIRE_OK);
    CHECK_EQ(d->op, WIRE_DHCP_BOOTREQUEST);
    CHECK_EQ(d->xid, XID);
    CHECK_EQ(d->hops, 0);
    CHECK_EQ(d->yiaddr | d->siaddr | d->giaddr, 0);
    CHECK_MEM(d->chaddr, mac, 6);
    CHECK_EQ(d->opts.msg_type, m->type);
    if (out) {
        *out = b;
    } else {
        free(b);
    }
    return n;
}

static void
test_emit_discover(void)
{
    struct wire_dhcp_client_msg m = base_msg(WIRE_DHCP_DISCOVER);
    m.broadcast = true;
    m.secs = 3;
    m.param_list = prl;
    m.param_list_len = sizeof prl;
    m.max_size = 1500;
    static const uint8_t cid[] = {1, 0x02, 0, 0, 0, 0, 0x0b};
    m.client_id = cid;
    m.client_id_len = sizeof cid;
    struct wire_dhcp d;
    uint8_t *b;
    size_t n = emit_parse(&m, &d, &b);
    /* The bytes themselves, against RFC 2131 figure 1. */
    CHECK_EQ(n, 300);
    CHECK_EQ(b[0], 1);
    CHECK_EQ(b[1], 1);
    CHECK_EQ(b[2], 6);
    CHECK_EQ(b[4], 0x1a);
    CHECK_EQ(b[7], 0x4d);
    CHECK_EQ(b[9], 3);
    CHECK_EQ(b[10], 0x80);
    CHECK_EQ(b[11], 0);
    static const uint8_t cookie[] = {99, 130, 83, 99, 53, 1, 1};
    CHECK_MEM(b + 236, cookie, sizeof cookie);
    CHECK_EQ(d.flags, WIRE_DHCP_FLAG_BROADCAST);
    CHECK_EQ(d.secs, 3);
    CHECK_EQ(d.ciaddr, 0);
    CHECK_EQ(d.opts.param_list_len, sizeof prl);
    CHECK_MEM(d.opts.param_list, prl, sizeof prl);
    CHECK(d.opts.has_max_size && d.opts.max_size == 1500);
    CHECK_EQ(d.opts.client_id_len, sizeof cid);
    CHECK_MEM(d.opts.client_id, cid, sizeof cid);
    CHECK(!d.opts.has_server_id && !d.opts.has_requested);
    /* Everything after End is Pad (0). */
    size_t end = 240 + 3 + 2 + sizeof cid + 4 + 2 + sizeof prl;
    CHECK_EQ(b[end], 255);
    for (size_t i = end + 1; i < n; i++) {
        CHECK_EQ(b[i], 0);
    }
    free(b);
    /* With a requested address (table 5: MAY). */
    m.requested = 0x0a580039u;
    emit_parse(&m, &d, NULL);
    CHECK(d.opts.has_requested && d.opts.requested == 0x0a580039u);
    /* Long options grow the message past 300 bytes. */
    uint8_t long_id[255];
    memset(long_id, 7, sizeof long_id);
    m.client_id = long_id;
    m.client_id_len = sizeof long_id;
    CHECK(emit_parse(&m, &d, NULL) > 500);
    CHECK_EQ(d.opts.client_id_len, 255);
}

static void
test_emit_request(void)
{
    struct wire_dhcp d;
    /* SELECTING: server id and requested address, ciaddr 0. */
    struct wire_dhcp_client_msg m = base_msg(WIRE_DHCP_REQUEST);
    m.server_id = 0x0a580001u;
    m.requested = 0x0a580039u;
    m.param_list = prl;
    m.param_list_len = sizeof prl;
    emit_parse(&m, &d, NULL);
    CHECK(d.opts.has_server_id && d.opts.server_id == 0x0a580001u);
    CHECK(d.opts.has_requested && d.opts.requested == 0x0a580039u);
    CHECK_EQ(d.ciaddr, 0);
    /* RENEWING / REBINDING: ciaddr, neither option. */
    m = base_msg(WIRE_DHCP_REQUEST);
    m.ciaddr = 0x0a580039u;
    emit_parse(&m, &d, NULL);
    CHECK_EQ(d.ciaddr, 0x0a580039u);
    CHECK(!d.opts.has_server_id && !d.opts.has_requested);
    /* INIT-REBOOT: requested, no server id, ciaddr 0. */
    m = base_msg(WIRE_DHCP_REQUEST);
    m.requested = 0x0a580039u;
    emit_parse(&m, &d, NULL);
    CHECK(d.opts.has_requested && !d.opts.has_server_id && d.ciaddr == 0);
}

static void
test_emit_decline_release_inform(void)
{
    struct wire_dhcp d;
    struct wire_dhcp_client_msg m = base_msg(WIRE_DHCP_DECLINE);
    m.requested = 0x0a580039u;
    m.server_id = 0x0a580001u;
    m.secs = 9;
    m.broadcast = true;
    m.message = "address in use";
    m.message_len = 14;
    emit_parse(&m, &d, NULL);
    /* Table 5: secs and flags 0 in DECLINE and RELEASE. */
    CHECK_EQ(d.secs, 0);
    CHECK_EQ(d.flags, 0);
    CHECK(d.opts.has_requested && d.opts.has_server_id);
    CHECK_STR(d.opts.message, "address in use");

    m = base_msg(WIRE_DHCP_RELEASE);
    m.ciaddr = 0x0a580039u;
    m.server_id = 0x0a580001u;
    m.secs = 9;
    m.broadcast = true;
    emit_parse(&m, &d, NULL);
    CHECK_EQ(d.ciaddr, 0x0a580039u);
    CHECK_EQ(d.secs, 0);
    CHECK_EQ(d.flags, 0);
    CHECK(d.opts.has_server_id && !d.opts.has_requested);

    m = base_msg(WIRE_DHCP_INFORM);
    m.ciaddr = 0x0a580039u;
    m.param_list = prl;
    m.param_list_len = sizeof prl;
    emit_parse(&m, &d, NULL);
    CHECK_EQ(d.ciaddr, 0x0a580039u);
    CHECK(!d.opts.has_server_id && !d.opts.has_requested && !d.opts.has_lease_time);
}

/* Each table 5 / 4.3.2 rule the emitter enforces, broken once. */
static void
test_emit_refusals(void)
{
    uint8_t b[1024];
    struct wire_dhcp_client_msg m;
#define REFUSE(type, ...)                                                                          \
    do {                                                                                           \
        m = base_msg(type);                                                                        \
        __VA_ARGS__;                                                                               \
        CHECK_EQ(wire_dhcp_emit_client(&m, b, sizeof b), 0);                                       \
    } while (0)
#define ACCEPT(type, ...)                                                                          \
    do {                                                                                           \
        m = base_msg(type);                                                                        \
        __VA_ARGS__;                                                                               \
        CHECK(wire_dhcp_emit_client(&m, b, sizeof b) >= WIRE_DHCP_CLIENT_MIN_LEN);                 \
    } while (0)
    const uint32_t A = 0x0a580039u, S = 0x0a580001u;
    /* Not a client message. */
    REFUSE(WIRE_DHCP_OFFER, m.ciaddr = 0);
    REFUSE(WIRE_DHCP_ACK, m.ciaddr = 0);
    REFUSE(WIRE_DHCP_NAK, m.ciaddr = 0);
    REFUSE((enum wire_dhcp_msg)9, m.ciaddr = 0);
    ACCEPT(WIRE_DHCP_DISCOVER, m.requested = A);
    REFUSE(WIRE_DHCP_DISCOVER, m.server_id = S);
    REFUSE(WIRE_DHCP_DISCOVER, m.ciaddr = A);
    REFUSE(WIRE_DHCP_DISCOVER, m.message = "x"; m.message_len = 1);
    /* REQUEST: SELECTING needs requested and ciaddr 0. */
    ACCEPT(WIRE_DHCP_REQUEST, m.server_id = S; m.requested = A);
    REFUSE(WIRE_DHCP_REQUEST, m.server_id = S);
    REFUSE(WIRE_DHCP_REQUEST, m.server_id = S; m.requested = A; m.ciaddr = A);
    /* Without server id: exactly one of requested and ciaddr. */
    REFUSE(WIRE_DHCP_REQUEST, m.ciaddr = 0);
    REFUSE(WIRE_DHCP_REQUEST, m.requested = A; m.ciaddr = A);
    REFUSE(WIRE_DHCP_REQUEST, m.ciaddr = A; m.message = "x"; m.message_len = 1);
    /* DECLINE. */
    ACCEPT(WIRE_DHCP_DECLINE, m.requested = A; m.server_id = S);
    REFUSE(WIRE_DHCP_DECLINE, m.server_id = S);
    REFUSE(WIRE_DHCP_DECLINE, m.requested = A);
    REFUSE(WIRE_DHCP_DECLINE, m.requested = A; m.server_id = S; m.ciaddr = A);
    REFUSE(WIRE_DHCP_DECLINE, m.requested = A; m.server_id = S; m.param_list = prl;
           m.param_list_len = 1);
    REFUSE(WIRE_DHCP_DECLINE, m.requested = A; m.server_id = S; m.max_size = 1500);
    /* RELEASE. */
    ACCEPT(WIRE_DHCP_RELEASE, m.ciaddr = A; m.server_id = S);
    REFUSE(WIRE_DHCP_RELEASE, m.server_id = S);
    REFUSE(WIRE_DHCP_RELEASE, m.ciaddr = A);
    REFUSE(WIRE_DHCP_RELEASE, m.ciaddr = A; m.server_id = S; m.requested = A);
    REFUSE(WIRE_DHCP_RELEASE, m.ciaddr = A; m.server_id = S; m.max_size = 1500);
    /* INFORM. */
    ACCEPT(WIRE_DHCP_INFORM, m.ciaddr = A);
    REFUSE(WIRE_DHCP_INFORM, m.ciaddr = 0);
    REFUSE(WIRE_DHCP_INFORM, m.ciaddr = A; m.requested = A);
    REFUSE(WIRE_DHCP_INFORM, m.ciaddr = A; m.server_id = S);
    /* Lengths and values. */
    REFUSE(WIRE_DHCP_DISCOVER, m.hlen = 17);
    ACCEPT(WIRE_DHCP_DISCOVER, m.hlen = 0; m.chaddr = NULL);
    REFUSE(WIRE_DHCP_DISCOVER, m.chaddr = NULL);
    REFUSE(WIRE_DHCP_DISCOVER, m.max_size = 575);
    ACCEPT(WIRE_DHCP_DISCOVER, m.max_size = 576);
    REFUSE(WIRE_DHCP_DISCOVER, m.client_id = prl; m.client_id_len = 1);
    REFUSE(WIRE_DHCP_DISCOVER, m.client_id = prl; m.client_id_len = 256);
    REFUSE(WIRE_DHCP_DISCOVER, m.client_id = NULL; m.client_id_len = 2);
    REFUSE(WIRE_DHCP_DISCOVER, m.param_list = prl; m.param_list_len = 256);
    REFUSE(WIRE_DHCP_DISCOVER, m.param_list = NULL; m.param_list_len = 2);
    REFUSE(WIRE_DHCP_RELEASE, m.ciaddr = A; m.server_id = S; m.message = "x"; m.message_len = 256);
    REFUSE(WIRE_DHCP_RELEASE, m.ciaddr = A; m.server_id = S; m.message = NULL; m.message_len = 1);
#undef REFUSE
#undef ACCEPT
}

/* --- Reply check ---------------------------------------------------------- */

static void
test_check_reply(void)
{
    size_t len;
    uint8_t *b = reply(offer_opts, sizeof offer_opts, &len);
    struct wire_dhcp d, x;
    CHECK_EQ(wire_dhcp_parse(b, len, &d), WIRE_OK);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DISCOVER, XID, 1, 6, mac), WIRE_OK);
    x = d;
    x.op = WIRE_DHCP_BOOTREQUEST;
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_DISCOVER, XID, 1, 6, mac),
             WIRE_ERR_DHCP_NOT_REPLY);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DISCOVER, XID + 1, 1, 6, mac), WIRE_ERR_DHCP_XID);
    uint8_t other[6];
    memcpy(other, mac, 6);
    other[5] ^= 1;
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DISCOVER, XID, 1, 6, other), WIRE_ERR_DHCP_CHADDR);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DISCOVER, XID, 6, 6, mac), WIRE_ERR_DHCP_CHADDR);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DISCOVER, XID, 1, 5, mac), WIRE_ERR_DHCP_CHADDR);
    /* Message type: absent (BOOTP), or not the answer to what we sent. */
    x = d;
    x.opts.msg_type = 0;
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_DISCOVER, XID, 1, 6, mac), WIRE_ERR_DHCP_MSG_TYPE);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_REQUEST, XID, 1, 6, mac), WIRE_ERR_DHCP_MSG_TYPE);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_INFORM, XID, 1, 6, mac), WIRE_ERR_DHCP_MSG_TYPE);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_DECLINE, XID, 1, 6, mac), WIRE_ERR_DHCP_MSG_TYPE);
    CHECK_EQ(wire_dhcp_check_reply(&d, WIRE_DHCP_RELEASE, XID, 1, 6, mac), WIRE_ERR_DHCP_MSG_TYPE);
    for (int t = 0; t < 256; t++) {
        x.opts.msg_type = (uint8_t)t;
        enum wire_err e = wire_dhcp_check_reply(&x, WIRE_DHCP_REQUEST, XID, 1, 6, mac);
        CHECK_EQ(e, t == WIRE_DHCP_ACK || t == WIRE_DHCP_NAK ? WIRE_OK : WIRE_ERR_DHCP_MSG_TYPE);
    }
    /* Server identifier MUST in OFFER, ACK, NAK. */
    x = d;
    x.opts.has_server_id = false;
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_DISCOVER, XID, 1, 6, mac),
             WIRE_ERR_DHCP_NO_SERVER_ID);
    x.opts.msg_type = WIRE_DHCP_NAK;
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_REQUEST, XID, 1, 6, mac),
             WIRE_ERR_DHCP_NO_SERVER_ID);
    /* Lease time MUST in OFFER and an ACK to REQUEST; not in NAK or an ACK
     * to INFORM. */
    x = d;
    x.opts.has_lease_time = false;
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_DISCOVER, XID, 1, 6, mac), WIRE_ERR_DHCP_NO_LEASE);
    x.opts.msg_type = WIRE_DHCP_ACK;
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_REQUEST, XID, 1, 6, mac), WIRE_ERR_DHCP_NO_LEASE);
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_INFORM, XID, 1, 6, mac), WIRE_OK);
    x.opts.msg_type = WIRE_DHCP_NAK;
    CHECK_EQ(wire_dhcp_check_reply(&x, WIRE_DHCP_REQUEST, XID, 1, 6, mac), WIRE_OK);
    free(b);
}

static void
test_error_names(void)
{
    /* Distinct and non-empty for the whole enum: test_wire_ipv4's test_err_names. */
    for (int e = WIRE_ERR_DHCP_TRUNCATED; e <= WIRE_ERR_DHCP_NO_LEASE; e++) {
        CHECK(strncmp(wire_err_name((enum wire_err)e), "DHCP", 4) == 0);
    }
}

int
main(void)
{
    RUN(test_offer);
    RUN(test_ack);
    RUN(test_truncation);
    RUN(test_dnsmasq_ack);
    RUN(test_option_past_end);
    RUN(test_header_errors);
    RUN(test_overload);
    RUN(test_bad_lengths);
    RUN(test_values_and_concatenation);
    RUN(test_emit_discover);
    RUN(test_emit_request);
    RUN(test_emit_decline_release_inform);
    RUN(test_emit_refusals);
    RUN(test_check_reply);
    RUN(test_error_names);
    return CHECK_DONE();
}
