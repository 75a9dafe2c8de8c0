/*
 * tests/unit/test_wire_dns.c: DNS message parse and emit (src/wire/dns.c).
 *
 * The response below was laid out with a few lines of Python's struct
 * module following RFC 1035 4.1 (no network, not by the code under test):
 *
 *   hdr(id=0xbeef, flags=0x8180, qd=1, an=2, ns=1, ar=1)
 *   question  www.Example.com A IN                       @12 (example.com @16)
 *   answer    c00c CNAME IN ttl 300 rdata 03 "web" c010  (rdata @45)
 *   answer    c02d A IN ttl 0x80000001 93.184.216.34     (owner: the CNAME's target)
 *   authority c010 NS IN ttl 0x7fffffff 02 "ns" c010     (rdata @79)
 *   additional c04f AAAA IN ttl 3600 2001:db8::53
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire/dns.h"
#include "wire/wire.h"

static const uint8_t resp[112] = {
    0xbe, 0xef, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x03, 0x77, 0x77, 0x77,
    0x07, 0x45, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00,
    0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x06, 0x03, 0x77, 0x65,
    0x62, 0xc0, 0x10, 0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x80, 0x00, 0x00, 0x01, 0x00, 0x04, 0x5d,
    0xb8, 0xd8, 0x22, 0xc0, 0x10, 0x00, 0x02, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x05, 0x02,
    0x6e, 0x73, 0xc0, 0x10, 0xc0, 0x4f, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x10,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x53,
};

#define RESP_CNAME_RDATA 45

/* "www.example.com" in wire form. */
static const uint8_t www_example_com[17] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                            'p', 'l', 'e', 3,   'c', 'o', 'm', 0};

static size_t
text_of(const uint8_t *name, size_t len, char *out)
{
    return wire_dns_name_to_text(name, len, out, WIRE_DNS_TEXT_MAX);
}

/* --- header ------------------------------------------------------------ */

static void
test_hdr(void)
{
    struct wire_dns_hdr h;
    CHECK_EQ(wire_dns_hdr_parse(resp, sizeof resp, &h), WIRE_OK);
    CHECK_EQ(h.id, 0xbeef);
    CHECK(h.qr && h.rd && h.ra && !h.aa && !h.tc);
    CHECK_EQ(h.opcode, 0);
    CHECK_EQ(h.z, 0);
    CHECK_EQ(h.rcode, 0);
    CHECK_EQ(h.qdcount, 1);
    CHECK_EQ(h.ancount, 2);
    CHECK_EQ(h.nscount, 1);
    CHECK_EQ(h.arcount, 1);
    uint8_t out[WIRE_DNS_HDR_LEN];
    wire_dns_hdr_emit(&h, out);
    CHECK_MEM(out, resp, WIRE_DNS_HDR_LEN);

    /* Every bit of the flag word lands in its own field and back. */
    for (unsigned bit = 0; bit < 16; bit++) {
        uint8_t b[WIRE_DNS_HDR_LEN] = {0x12,
                                       0x34,
                                       (uint8_t)((0x8000u >> bit) >> 8),
                                       (uint8_t)(0x8000u >> bit),
                                       0,
                                       1,
                                       0,
                                       2,
                                       0,
                                       3,
                                       0,
                                       4};
        CHECK_EQ(wire_dns_hdr_parse(b, sizeof b, &h), WIRE_OK);
        int set = h.qr + h.aa + h.tc + h.rd + h.ra + (h.opcode != 0) + (h.z != 0) + (h.rcode != 0);
        CHECK_EQ(set, 1);
        CHECK_EQ(h.qdcount + h.ancount * 10 + h.nscount * 100 + h.arcount * 1000, 4321);
        wire_dns_hdr_emit(&h, out);
        CHECK_MEM(out, b, sizeof b);
    }
    /* 4.1.1 field positions: opcode 2 (STATUS), rcode 3 (NXDOMAIN), TC. */
    const uint8_t f[WIRE_DNS_HDR_LEN] = {0, 0, 0x12, 0x03};
    CHECK_EQ(wire_dns_hdr_parse(f, sizeof f, &h), WIRE_OK);
    CHECK_EQ(h.opcode, 2);
    CHECK(h.tc && !h.qr && !h.rd);
    CHECK_EQ(h.rcode, WIRE_DNS_RCODE_NXDOMAIN);
    CHECK_EQ(wire_dns_hdr_parse(resp, WIRE_DNS_HDR_LEN - 1, &h), WIRE_ERR_DNS_TRUNCATED);
}

/* --- query emit -------------------------------------------------------- */

static void
test_query_emit(void)
{
    static const uint8_t want[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                   0,    3,    'w',  'w',  'w', 7,   'E', 'x', 'a', 'm', 'p',
                                   'l',  'e',  3,    'c',  'o', 'm', 0,   0,   28,  0,   1};
    uint8_t out[512];
    size_t len = 0;
    struct wire_dns_question q;
    CHECK_EQ(wire_dns_query_emit(0x1234, "www.Example.com", 15, WIRE_DNS_TYPE_AAAA, out, sizeof out,
                                 &len, &q),
             WIRE_OK);
    CHECK_EQ(len, sizeof want);
    CHECK_MEM(out, want, sizeof want);
    CHECK_EQ(q.qtype, WIRE_DNS_TYPE_AAAA);
    CHECK_EQ(q.qclass, WIRE_DNS_CLASS_IN);
    CHECK(wire_dns_name_equal(q.name, q.name_len, www_example_com, sizeof www_example_com));
    /* The trailing dot changes nothing. */
    uint8_t out2[512];
    size_t len2 = 0;
    CHECK_EQ(wire_dns_query_emit(0x1234, "www.Example.com.", 16, WIRE_DNS_TYPE_AAAA, out2,
                                 sizeof out2, &len2, NULL),
             WIRE_OK);
    CHECK_EQ(len2, len);
    CHECK_MEM(out2, out, len);
    /* Exactly the room needed, and one byte less. */
    CHECK_EQ(wire_dns_query_emit(1, "www.Example.com", 15, 1, out, sizeof want, &len, NULL),
             WIRE_OK);
    CHECK_EQ(wire_dns_query_emit(1, "www.Example.com", 15, 1, out, sizeof want - 1, &len, NULL),
             WIRE_ERR_DNS_NO_ROOM);
    /* The query parses as what it is: not a response. */
    struct wire_dns_msg m;
    CHECK_EQ(wire_dns_query_emit(7, "a.b", 3, WIRE_DNS_TYPE_ANY, out, sizeof out, &len, &q),
             WIRE_OK);
    CHECK_EQ(wire_dns_parse(out, len, &m), WIRE_OK);
    CHECK(m.hdr.rd && !m.hdr.qr && m.hdr.qdcount == 1 && m.rr_off == len);
    CHECK_EQ(m.question.qtype, WIRE_DNS_TYPE_ANY);
    CHECK_EQ(wire_dns_check_answer(&m, 7, &q, NULL, NULL), WIRE_ERR_DNS_NOT_RESPONSE);
}

/* A text name of n labels of length l each, dot-separated. */
static size_t
make_text(char *buf, unsigned labels, unsigned l, bool dot)
{
    size_t o = 0;
    for (unsigned i = 0; i < labels; i++) {
        memset(buf + o, 'a' + (char)(i % 26), l);
        o += l;
        if (i + 1 < labels || dot) {
            buf[o++] = '.';
        }
    }
    buf[o] = '\0';
    return o;
}

static void
test_name_text(void)
{
    uint8_t w[WIRE_DNS_NAME_MAX];
    size_t wl;
    char t[WIRE_DNS_TEXT_MAX];
    struct {
        const char *text;
        enum wire_err err;
    } cases[] = {
        {"", WIRE_ERR_DNS_LABEL_LEN},
        {"..", WIRE_ERR_DNS_LABEL_LEN},
        {".a", WIRE_ERR_DNS_LABEL_LEN},
        {"a..b", WIRE_ERR_DNS_LABEL_LEN},
        {"a.b..", WIRE_ERR_DNS_LABEL_LEN},
        {"a\\", WIRE_ERR_DNS_TEXT},
        {"a\\25", WIRE_ERR_DNS_TEXT},
        {"a\\256", WIRE_ERR_DNS_TEXT},
        {"a\\2x5", WIRE_ERR_DNS_TEXT},
        {".", WIRE_OK},
        {"a", WIRE_OK},
        {"a.", WIRE_OK},
        {"a\\.b", WIRE_OK},
        {"\\255\\000", WIRE_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum wire_err e = wire_dns_name_from_text(cases[i].text, strlen(cases[i].text), w, &wl);
        if (e != cases[i].err) {
            fprintf(stderr, "case \"%s\"\n", cases[i].text);
        }
        CHECK_EQ(e, cases[i].err);
    }
    CHECK_EQ(wire_dns_name_from_text(".", 1, w, &wl), WIRE_OK);
    CHECK_EQ(wl, 1);
    CHECK_EQ(w[0], 0);
    CHECK_EQ(wire_dns_name_from_text("a\\.b", 4, w, &wl), WIRE_OK);
    CHECK_EQ(wl, 5);
    CHECK_MEM(w,
              "\x03"
              "a.b",
              5);
    CHECK_EQ(w[4], 0);

    /* Labels: 63 octets pass, 64 fail (RFC 1035 3.1); escapes count once. */
    size_t n = make_text(t, 1, 63, false);
    CHECK_EQ(wire_dns_name_from_text(t, n, w, &wl), WIRE_OK);
    CHECK_EQ(wl, 65);
    n = make_text(t, 1, 64, false);
    CHECK_EQ(wire_dns_name_from_text(t, n, w, &wl), WIRE_ERR_DNS_LABEL_LEN);
    n = make_text(t, 1, 62, false);
    memcpy(t + n, "\\065", 5);
    CHECK_EQ(wire_dns_name_from_text(t, n + 4, w, &wl), WIRE_OK);
    memcpy(t + n, "\\065\\066", 9);
    CHECK_EQ(wire_dns_name_from_text(t, n + 8, w, &wl), WIRE_ERR_DNS_LABEL_LEN);

    /* Names: 3 labels of 63 and one of 61 make 255 octets with the root. */
    n = make_text(t, 3, 63, true);
    n += make_text(t + n, 1, 61, true);
    CHECK_EQ(wire_dns_name_from_text(t, n, w, &wl), WIRE_OK);
    CHECK_EQ(wl, 255);
    CHECK_EQ(wire_dns_name_from_text(t, n - 1, w, &wl), WIRE_OK); /* without the dot */
    CHECK_EQ(wl, 255);
    n = make_text(t, 3, 63, true);
    n += make_text(t + n, 1, 62, false);
    CHECK_EQ(wire_dns_name_from_text(t, n, w, &wl), WIRE_ERR_DNS_NAME_LEN);
    n = make_text(t, 4, 63, false);
    CHECK_EQ(wire_dns_name_from_text(t, n, w, &wl), WIRE_ERR_DNS_NAME_LEN);
    /* 127 one-octet labels: 255 octets; 128 would be 257. */
    n = make_text(t, 127, 1, false);
    CHECK_EQ(wire_dns_name_from_text(t, n, w, &wl), WIRE_OK);
    CHECK_EQ(wl, 255);
    n = make_text(t, 128, 1, true);
    CHECK_EQ(wire_dns_name_from_text(t, n, w, &wl), WIRE_ERR_DNS_NAME_LEN);
    /* The query emitter refuses what the converter refuses. */
    uint8_t q[1024];
    size_t ql;
    CHECK_EQ(wire_dns_query_emit(1, t, n, 1, q, sizeof q, &ql, NULL), WIRE_ERR_DNS_NAME_LEN);
    CHECK_EQ(wire_dns_query_emit(1, "a..b", 4, 1, q, sizeof q, &ql, NULL), WIRE_ERR_DNS_LABEL_LEN);

    /* To text: dots and backslashes quoted, unprintables as \DDD (5.1),
     * and back again to the same octets. */
    static const uint8_t odd[] = {4, 'a', '.', 'b', '\\', 3, ' ', 0xff, 'Z', 0};
    char s[WIRE_DNS_TEXT_MAX];
    CHECK_EQ(text_of(odd, sizeof odd, s), strlen("a\\.b\\\\.\\032\\255Z."));
    CHECK_STR(s, "a\\.b\\\\.\\032\\255Z.");
    CHECK_EQ(wire_dns_name_from_text(s, strlen(s), w, &wl), WIRE_OK);
    CHECK_EQ(wl, sizeof odd);
    CHECK_MEM(w, odd, sizeof odd);
    CHECK_EQ(text_of((const uint8_t *)"", 1, s), 1);
    CHECK_STR(s, ".");
    /* Too small an output, or not wire form: 0. */
    CHECK_EQ(wire_dns_name_to_text(odd, sizeof odd, s, strlen("a\\.b\\\\.\\032\\255Z.")), 0);
    CHECK_EQ(wire_dns_name_to_text(odd, sizeof odd, s, strlen("a\\.b\\\\.\\032\\255Z.") + 1),
             strlen("a\\.b\\\\.\\032\\255Z."));
    CHECK_EQ(wire_dns_name_to_text(odd, sizeof odd - 1, s, sizeof s), 0);
    static const uint8_t bad_label[] = {64, 0};
    CHECK_EQ(wire_dns_name_to_text(bad_label, sizeof bad_label, s, sizeof s), 0);
    /* The longest name (255 octets, all \DDD) fits WIRE_DNS_TEXT_MAX. */
    uint8_t big[WIRE_DNS_NAME_MAX];
    for (size_t i = 0; i < 4; i++) {
        size_t ll = i < 3 ? 63 : 61;
        big[i * 64] = (uint8_t)ll;
        memset(big + i * 64 + 1, 0x01, ll);
    }
    big[254] = 0;
    CHECK_EQ(text_of(big, sizeof big, s), 250 * 4 + 4);
}

static void
test_name_equal(void)
{
    static const uint8_t upper[17] = {3,   'W', 'w', 'W', 7,   'E', 'X', 'A', 'm',
                                      'P', 'L', 'e', 3,   'C', 'O', 'M', 0};
    CHECK(wire_dns_name_equal(www_example_com, 17, upper, 17));
    CHECK(!wire_dns_name_equal(www_example_com, 17, upper, 16));
    /* Only ASCII letters fold: '[' (0x5b) is not '{' (0x7b), 0xc1 is not 0xe1. */
    static const uint8_t a[] = {2, '[', 0xc1, 0}, b[] = {2, '{', 0xc1, 0}, c[] = {2, '[', 0xe1, 0};
    CHECK(!wire_dns_name_equal(a, 4, b, 4));
    CHECK(!wire_dns_name_equal(a, 4, c, 4));
    CHECK(wire_dns_name_equal(a, 4, a, 4));
    static const uint8_t d[] = {1, 'x', 1, 'y', 0}, e[] = {1, 'x', 1, 'z', 0};
    CHECK(!wire_dns_name_equal(d, 5, e, 5));
}

/* --- name decoding ----------------------------------------------------- */

/* A message of n bytes: a zeroed header then the given bytes at 12. */
static size_t
msg_with(uint8_t *m, const uint8_t *body, size_t n)
{
    memset(m, 0, WIRE_DNS_HDR_LEN);
    memcpy(m + WIRE_DNS_HDR_LEN, body, n);
    return WIRE_DNS_HDR_LEN + n;
}

static enum wire_err
decode_at(const uint8_t *m, size_t len, size_t off, char *text)
{
    uint8_t w[WIRE_DNS_NAME_MAX];
    size_t wl = 0, end = 0;
    enum wire_err e = wire_dns_name_decode(m, len, off, w, &wl, &end);
    if (e == WIRE_OK && text != NULL) {
        CHECK(text_of(w, wl, text) > 0);
    }
    return e;
}

static void
test_decode_compression(void)
{
    uint8_t m[1024];
    char t[WIRE_DNS_TEXT_MAX];
    uint8_t w[WIRE_DNS_NAME_MAX];
    size_t wl, end;

    /* The response's names, each through pointers. */
    CHECK_EQ(wire_dns_name_decode(resp, sizeof resp, 12, w, &wl, &end), WIRE_OK);
    CHECK_EQ(end, 29);
    CHECK(wire_dns_name_equal(w, wl, www_example_com, sizeof www_example_com));
    CHECK_EQ(wire_dns_name_decode(resp, sizeof resp, 33, w, &wl, &end), WIRE_OK);
    CHECK_EQ(end, 35); /* past the pointer, not where it led */
    CHECK_EQ(text_of(w, wl, t), 16);
    CHECK_STR(t, "www.Example.com.");
    CHECK_EQ(decode_at(resp, sizeof resp, RESP_CNAME_RDATA, t), WIRE_OK);
    CHECK_STR(t, "web.Example.com.");
    CHECK_EQ(decode_at(resp, sizeof resp, 51, t), WIRE_OK); /* pointer to a pointer's run */
    CHECK_STR(t, "web.Example.com.");
    /* name and name_len may be NULL: check and skip only. */
    CHECK_EQ(wire_dns_name_decode(resp, sizeof resp, 51, NULL, NULL, &end), WIRE_OK);
    CHECK_EQ(end, 53);

    /* Self-pointer at 12. */
    size_t n = msg_with(m, (const uint8_t[]){0xc0, 0x0c}, 2);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_POINTER);
    /* Forward pointer: 12 -> 14, where a valid root sits. */
    n = msg_with(m, (const uint8_t[]){0xc0, 0x0e, 0x00}, 3);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_POINTER);
    CHECK_EQ(decode_at(m, n, 14, t), WIRE_OK);
    /* Two-pointer cycle: 12 -> 14 -> 12. */
    n = msg_with(m, (const uint8_t[]){0xc0, 0x0e, 0xc0, 0x0c}, 4);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_POINTER);
    CHECK_EQ(decode_at(m, n, 14, NULL), WIRE_ERR_DNS_POINTER);
    /* A label then a pointer back to that label: "a" forever. */
    n = msg_with(m, (const uint8_t[]){1, 'a', 0xc0, 0x0c}, 4);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_POINTER);
    /* ... and a cycle through two runs: 12: "a" -> 16; 16: "b" -> 12. */
    n = msg_with(m, (const uint8_t[]){1, 'a', 0xc0, 0x10, 1, 'b', 0xc0, 0x0c}, 8);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_POINTER);
    CHECK_EQ(decode_at(m, n, 16, NULL), WIRE_ERR_DNS_POINTER);
    /* Backwards to a name that then points forward again. */
    n = msg_with(m, (const uint8_t[]){1, 'a', 0xc0, 0x12, 0, 0, 1, 'b', 0xc0, 0x0c}, 10);
    CHECK_EQ(decode_at(m, n, 18, NULL), WIRE_ERR_DNS_POINTER);
    /* Into the header. */
    n = msg_with(m, (const uint8_t[]){0xc0, 0x00}, 2);
    m[0] = 0; /* offset 0 holds a root byte: would decode as "." */
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_POINTER);
    n = msg_with(m, (const uint8_t[]){0xc0, 0x0b}, 2);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_POINTER);
    /* Pointer cut in half, label cut, no root. */
    n = msg_with(m, (const uint8_t[]){0, 0xc0}, 2);
    CHECK_EQ(decode_at(m, n, 13, NULL), WIRE_ERR_DNS_TRUNCATED);
    n = msg_with(m, (const uint8_t[]){3, 'a', 'b'}, 3);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_TRUNCATED);
    n = msg_with(m, (const uint8_t[]){2, 'a', 'b'}, 3);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_TRUNCATED);
    CHECK_EQ(decode_at(m, n, n, NULL), WIRE_ERR_DNS_TRUNCATED);
    /* Reserved label types 01 and 10 (4.1.4). */
    n = msg_with(m, (const uint8_t[]){0x41, 'a', 0}, 3);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_LABEL_TYPE);
    n = msg_with(m, (const uint8_t[]){0x80, 0x0c, 0}, 3);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_LABEL_TYPE);
    n = msg_with(m, (const uint8_t[]){1, 'a', 0xbf, 0xff, 0}, 5);
    CHECK_EQ(decode_at(m, n, 12, NULL), WIRE_ERR_DNS_LABEL_TYPE);

    /* A chain of pointers, each to the one before, ending at a root: 127
     * jumps are followed, 128 are not (WIRE_DNS_MAX_JUMPS). */
    memset(m, 0, WIRE_DNS_HDR_LEN);
    m[12] = 0;
    for (size_t i = 0; i < 200; i++) {
        size_t at = 13 + 2 * i;
        size_t to = i == 0 ? 12 : at - 2;
        m[at] = (uint8_t)(0xc0 | to >> 8);
        m[at + 1] = (uint8_t)to;
    }
    n = 13 + 2 * 200;
    CHECK_EQ(wire_dns_name_decode(m, n, 13 + 2 * 126, w, &wl, &end), WIRE_OK); /* 127 jumps */
    CHECK_EQ(wl, 1);
    CHECK_EQ(end, 13 + 2 * 126 + 2);
    CHECK_EQ(decode_at(m, n, 13 + 2 * 127, NULL), WIRE_ERR_DNS_POINTER); /* 128 */
    CHECK_EQ(decode_at(m, n, 13 + 2 * 199, NULL), WIRE_ERR_DNS_POINTER);
}

static void
test_decode_long_names(void)
{
    uint8_t m[2048];
    uint8_t w[WIRE_DNS_NAME_MAX];
    size_t wl;
    memset(m, 0, WIRE_DNS_HDR_LEN);
    /* At 12: 3 labels of 63 and the root (193 octets). */
    size_t o = 12;
    for (int i = 0; i < 3; i++) {
        m[o++] = 63;
        memset(m + o, 'x', 63);
        o += 63;
    }
    m[o++] = 0;
    /* Then "yyy...y" (61) + pointer to 12: 62 + 193 = 255, allowed. */
    size_t ok_at = o;
    m[o++] = 61;
    memset(m + o, 'y', 61);
    o += 61;
    m[o++] = 0xc0;
    m[o++] = 12;
    /* Then 62 octets of label + pointer: 256, refused. */
    size_t long_at = o;
    m[o++] = 62;
    memset(m + o, 'z', 62);
    o += 62;
    m[o++] = 0xc0;
    m[o++] = 12;
    /* Then 5 uncompressed labels of 63: refused on the 4th. */
    size_t flat_at = o;
    for (int i = 0; i < 5; i++) {
        m[o++] = 63;
        memset(m + o, 'w', 63);
        o += 63;
    }
    m[o++] = 0;
    CHECK_EQ(wire_dns_name_decode(m, o, ok_at, w, &wl, NULL), WIRE_OK);
    CHECK_EQ(wl, 255);
    CHECK_EQ(w[0], 61);
    CHECK_EQ(w[62], 63);
    CHECK_EQ(w[254], 0);
    CHECK_EQ(wire_dns_name_decode(m, o, long_at, w, &wl, NULL), WIRE_ERR_DNS_NAME_LEN);
    CHECK_EQ(wire_dns_name_decode(m, o, flat_at, w, &wl, NULL), WIRE_ERR_DNS_NAME_LEN);
    CHECK_EQ(wire_dns_name_decode(m, o, flat_at, NULL, NULL, NULL), WIRE_ERR_DNS_NAME_LEN);
}

/* --- responses --------------------------------------------------------- */

static void
test_response(void)
{
    struct wire_dns_msg m;
    CHECK_EQ(wire_dns_parse(resp, sizeof resp, &m), WIRE_OK);
    CHECK(m.has_question);
    CHECK_EQ(m.rr_off, 33);
    CHECK_EQ(m.question.qtype, WIRE_DNS_TYPE_A);
    CHECK_EQ(m.question.qclass, WIRE_DNS_CLASS_IN);

    struct wire_dns_question q;
    uint8_t qb[512];
    size_t ql;
    CHECK_EQ(
        wire_dns_query_emit(0xbeef, "WWW.example.COM", 15, WIRE_DNS_TYPE_A, qb, sizeof qb, &ql, &q),
        WIRE_OK);
    bool tc = true;
    uint8_t rcode = 99;
    CHECK_EQ(wire_dns_check_answer(&m, 0xbeef, &q, &tc, &rcode), WIRE_OK);
    CHECK(!tc);
    CHECK_EQ(rcode, 0);

    struct wire_dns_iter it;
    struct wire_dns_rr rr;
    wire_dns_iter_init(&it, &m);
    char t[WIRE_DNS_TEXT_MAX];

    CHECK(!wire_dns_iter_done(&it));
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(rr.section, WIRE_DNS_ANSWER);
    CHECK_EQ(rr.type, WIRE_DNS_TYPE_CNAME);
    CHECK_EQ(rr.ttl, 300);
    CHECK(wire_dns_name_equal(rr.name, rr.name_len, q.name, q.name_len));
    uint8_t cn[WIRE_DNS_NAME_MAX];
    size_t cnl;
    CHECK_EQ(wire_dns_rr_cname(&m, &rr, cn, &cnl), WIRE_OK);
    CHECK_EQ(text_of(cn, cnl, t), 16);
    CHECK_STR(t, "web.Example.com.");
    uint32_t a;
    CHECK_EQ(wire_dns_rr_a(&rr, &a), WIRE_ERR_DNS_RDATA);

    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(rr.section, WIRE_DNS_ANSWER);
    CHECK(wire_dns_name_equal(rr.name, rr.name_len, cn, cnl));
    CHECK_EQ(rr.ttl, 0); /* 0x80000001: top bit set */
    CHECK_EQ(wire_dns_rr_a(&rr, &a), WIRE_OK);
    CHECK_EQ(a, 0x5db8d822u);
    CHECK_EQ(wire_dns_rr_cname(&m, &rr, cn, &cnl), WIRE_ERR_DNS_RDATA);

    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(rr.section, WIRE_DNS_AUTHORITY);
    CHECK_EQ(rr.type, WIRE_DNS_TYPE_NS);
    CHECK_EQ(rr.ttl, 0x7fffffffu); /* largest valid TTL kept */
    CHECK_EQ(rr.rdata_off, 79);
    CHECK_EQ(text_of(rr.name, rr.name_len, t), 12);
    CHECK_STR(t, "Example.com.");

    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(rr.section, WIRE_DNS_ADDITIONAL);
    CHECK_EQ(rr.ttl, 3600);
    CHECK_EQ(text_of(rr.name, rr.name_len, t), 15);
    CHECK_STR(t, "ns.Example.com.");
    uint8_t a6[16];
    static const uint8_t want6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x53};
    CHECK_EQ(wire_dns_rr_aaaa(&rr, a6), WIRE_OK);
    CHECK_MEM(a6, want6, 16);
    CHECK_EQ(wire_dns_rr_a(&rr, &a), WIRE_ERR_DNS_RDATA);
    CHECK(wire_dns_iter_done(&it));
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_ERR_DNS_TRUNCATED);
}

/* The whole walk a resolver does over a message: parse, every record, the
 * A/AAAA/CNAME decoders. WIRE_OK only if all of it succeeds. */
static enum wire_err
walk(const uint8_t *buf, size_t len)
{
    struct wire_dns_msg m;
    enum wire_err e = wire_dns_parse(buf, len, &m);
    if (e != WIRE_OK) {
        return e;
    }
    struct wire_dns_iter it;
    wire_dns_iter_init(&it, &m);
    while (!wire_dns_iter_done(&it)) {
        struct wire_dns_rr rr;
        e = wire_dns_next(&it, &rr);
        if (e != WIRE_OK) {
            return e;
        }
        uint32_t a;
        uint8_t a6[16], cn[WIRE_DNS_NAME_MAX];
        size_t cnl;
        if (rr.type == WIRE_DNS_TYPE_A && (e = wire_dns_rr_a(&rr, &a)) != WIRE_OK) {
            return e;
        }
        if (rr.type == WIRE_DNS_TYPE_AAAA && (e = wire_dns_rr_aaaa(&rr, a6)) != WIRE_OK) {
            return e;
        }
        if (rr.type == WIRE_DNS_TYPE_CNAME &&
            (e = wire_dns_rr_cname(&m, &rr, cn, &cnl)) != WIRE_OK) {
            return e;
        }
    }
    return WIRE_OK;
}

/* Every prefix of the response, in a heap buffer of exactly that size (so
 * ASan sees any read past it), must fail, and the whole must pass. */
static void
test_truncation_every_offset(void)
{
    for (size_t n = 0; n <= sizeof resp; n++) {
        uint8_t *b = malloc(n ? n : 1);
        CHECK(b != NULL);
        if (b == NULL) {
            return;
        }
        memcpy(b, resp, n);
        enum wire_err e = walk(b, n);
        if (n < sizeof resp) {
            CHECK_EQ(e, WIRE_ERR_DNS_TRUNCATED);
        } else {
            CHECK_EQ(e, WIRE_OK);
        }
        free(b);
    }
}

static void
test_rdata_lengths(void)
{
    uint8_t b[sizeof resp];
    /* A with RDLENGTH 5 (the byte at 62 is the A record's RDLENGTH low). */
    memcpy(b, resp, sizeof b);
    CHECK_EQ(b[62], 4);
    b[62] = 3;
    /* Now the next record starts a byte early and misparses: the A itself
     * must be refused. */
    struct wire_dns_msg m;
    struct wire_dns_iter it;
    struct wire_dns_rr rr;
    uint32_t a;
    CHECK_EQ(wire_dns_parse(b, sizeof b, &m), WIRE_OK);
    wire_dns_iter_init(&it, &m);
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(wire_dns_rr_a(&rr, &a), WIRE_ERR_DNS_RDATA);
    b[62] = 5;
    CHECK_EQ(wire_dns_parse(b, sizeof b, &m), WIRE_OK);
    wire_dns_iter_init(&it, &m);
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(wire_dns_rr_a(&rr, &a), WIRE_ERR_DNS_RDATA);
    /* A of class CH (3). */
    memcpy(b, resp, sizeof b);
    b[56] = 3;
    CHECK_EQ(walk(b, sizeof b), WIRE_ERR_DNS_RDATA);
    /* AAAA with RDLENGTH 15: the last record ends one byte short of the
     * message; the AAAA is refused. */
    memcpy(b, resp, sizeof b);
    CHECK_EQ(b[95], 16);
    b[95] = 15;
    CHECK_EQ(walk(b, sizeof b), WIRE_ERR_DNS_RDATA);
    b[95] = 17;
    CHECK_EQ(walk(b, sizeof b), WIRE_ERR_DNS_TRUNCATED);
    /* CNAME RDLENGTH 7: the name ends before the rdata does. */
    memcpy(b, resp, sizeof b);
    CHECK_EQ(b[44], 6);
    b[44] = 7;
    CHECK_EQ(wire_dns_parse(b, sizeof b, &m), WIRE_OK);
    wire_dns_iter_init(&it, &m);
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    uint8_t cn[WIRE_DNS_NAME_MAX];
    size_t cnl;
    CHECK_EQ(wire_dns_rr_cname(&m, &rr, cn, &cnl), WIRE_ERR_DNS_RDATA);
    /* CNAME RDLENGTH 5: the name's pointer sticks out of the rdata. */
    b[44] = 5;
    CHECK_EQ(wire_dns_parse(b, sizeof b, &m), WIRE_OK);
    wire_dns_iter_init(&it, &m);
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(wire_dns_rr_cname(&m, &rr, cn, &cnl), WIRE_ERR_DNS_TRUNCATED);
    /* CNAME RDLENGTH 0. */
    b[44] = 0;
    CHECK_EQ(wire_dns_parse(b, sizeof b, &m), WIRE_OK);
    wire_dns_iter_init(&it, &m);
    CHECK_EQ(wire_dns_next(&it, &rr), WIRE_OK);
    CHECK_EQ(wire_dns_rr_cname(&m, &rr, cn, &cnl), WIRE_ERR_DNS_RDATA);
    /* A record count larger than the message holds. */
    memcpy(b, resp, sizeof b);
    b[11] = 2;
    CHECK_EQ(walk(b, sizeof b), WIRE_ERR_DNS_TRUNCATED);
    /* A question count larger than the message holds. */
    memcpy(b, resp, sizeof b);
    b[5] = 2;
    CHECK_EQ(wire_dns_parse(b, 33, &m), WIRE_ERR_DNS_TRUNCATED);
    CHECK_EQ(wire_dns_parse(b, 37, &m), WIRE_ERR_DNS_TRUNCATED);
    CHECK_EQ(wire_dns_parse(b, 39, &m), WIRE_OK); /* 33: c00c and 4 bytes */
}

static void
test_check_answer(void)
{
    struct wire_dns_question q;
    uint8_t qb[512];
    size_t ql;
    CHECK_EQ(
        wire_dns_query_emit(0xbeef, "www.example.com", 15, WIRE_DNS_TYPE_A, qb, sizeof qb, &ql, &q),
        WIRE_OK);
    uint8_t b[sizeof resp];
    struct wire_dns_msg m;
    bool tc;
    uint8_t rcode;
    struct {
        size_t at;
        uint8_t val;
        enum wire_err want;
    } cases[] = {
        {2, 0x01, WIRE_ERR_DNS_NOT_RESPONSE}, /* QR clear */
        {2, 0x89, WIRE_ERR_DNS_NOT_RESPONSE}, /* opcode 1 (IQUERY) */
        {0, 0xbf, WIRE_ERR_DNS_ID},
        {1, 0xee, WIRE_ERR_DNS_ID},
        {13, 'v', WIRE_ERR_DNS_QUESTION}, /* wvw.example.com */
        {14, 'W', WIRE_OK},               /* case only */
        {30, 28, WIRE_ERR_DNS_QUESTION},  /* QTYPE AAAA */
        {32, 3, WIRE_ERR_DNS_QUESTION},   /* QCLASS CH */
        {2, 0x83, WIRE_OK},               /* TC: reported below */
        {3, 0x83, WIRE_OK},               /* NXDOMAIN: reported below */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, resp, sizeof b);
        b[cases[i].at] = cases[i].val;
        CHECK_EQ(wire_dns_parse(b, sizeof b, &m), WIRE_OK);
        tc = false;
        rcode = 0;
        CHECK_EQ(wire_dns_check_answer(&m, 0xbeef, &q, &tc, &rcode), cases[i].want);
        if (cases[i].at == 2 && cases[i].val == 0x83) {
            CHECK(tc);
        }
        if (cases[i].at == 3) {
            CHECK_EQ(rcode, WIRE_DNS_RCODE_NXDOMAIN);
        }
    }
    /* No question, or two: not an answer to ours. */
    memcpy(b, resp, sizeof b);
    b[5] = 0;
    CHECK_EQ(wire_dns_parse(b, sizeof b, &m), WIRE_OK);
    CHECK(!m.has_question);
    CHECK_EQ(wire_dns_check_answer(&m, 0xbeef, &q, &tc, &rcode), WIRE_ERR_DNS_QUESTION);
    /* A two-question message built by hand: same name twice. */
    uint8_t two[12 + 2 * 21];
    memcpy(two, resp, 12);
    two[5] = 2;
    two[7] = two[9] = two[11] = 0;
    memcpy(two + 12, resp + 12, 21);
    memcpy(two + 33, resp + 12, 21);
    CHECK_EQ(wire_dns_parse(two, sizeof two, &m), WIRE_OK);
    CHECK_EQ(m.rr_off, sizeof two);
    CHECK_EQ(wire_dns_check_answer(&m, 0xbeef, &q, &tc, &rcode), WIRE_ERR_DNS_QUESTION);
}

/* --- TCP framing ------------------------------------------------------- */

static void
test_tcp_framing(void)
{
    uint8_t p[2];
    CHECK_EQ(wire_dns_tcp_prefix(p, 300), 2);
    CHECK_EQ(p[0], 0x01);
    CHECK_EQ(p[1], 0x2c);
    CHECK_EQ(wire_dns_tcp_prefix(p, 65535), 2);
    CHECK(p[0] == 0xff && p[1] == 0xff);
    CHECK_EQ(wire_dns_tcp_prefix(p, 65536), 0);

    /* Two framed messages back to back: resp, then a 0-length one. */
    uint8_t s[2 + sizeof resp + 2];
    CHECK_EQ(wire_dns_tcp_prefix(s, sizeof resp), 2);
    memcpy(s + 2, resp, sizeof resp);
    s[2 + sizeof resp] = 0;
    s[3 + sizeof resp] = 0;
    const uint8_t *msg = NULL;
    size_t ml = 0;
    for (size_t n = 0; n < 2 + sizeof resp; n++) {
        uint8_t *h = malloc(n ? n : 1);
        if (h == NULL) {
            CHECK(h != NULL);
            return;
        }
        memcpy(h, s, n);
        CHECK_EQ(wire_dns_tcp_unframe(h, n, &msg, &ml), 0);
        free(h);
    }
    CHECK_EQ(wire_dns_tcp_unframe(s, sizeof s, &msg, &ml), 2 + sizeof resp);
    CHECK(msg == s + 2);
    CHECK_EQ(ml, sizeof resp);
    CHECK_EQ(wire_dns_tcp_unframe(s + 2 + sizeof resp, 2, &msg, &ml), 2);
    CHECK_EQ(ml, 0);
}

int
main(void)
{
    RUN(test_hdr);
    RUN(test_query_emit);
    RUN(test_name_text);
    RUN(test_name_equal);
    RUN(test_decode_compression);
    RUN(test_decode_long_names);
    RUN(test_response);
    RUN(test_truncation_every_offset);
    RUN(test_rdata_lengths);
    RUN(test_check_answer);
    RUN(test_tcp_framing);
    return CHECK_DONE();
}
