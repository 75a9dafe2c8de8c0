/*
 * src/wire/ipv6_addr.c: IPv6 address classification and text form
 * (RFC 4291 2.2-2.7, RFC 5952).
 */
#include "wire/ipv6_addr.h"

#include <string.h>

bool
wire_ipv6_addr_eq(const struct wire_ipv6_addr *a, const struct wire_ipv6_addr *b)
{
    return memcmp(a->b, b->b, WIRE_IPV6_ADDR_LEN) == 0;
}

/* True when bytes [from, to) of a are all zero. */
static bool
zero_bytes(const struct wire_ipv6_addr *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (a->b[i] != 0) {
            return false;
        }
    }
    return true;
}

bool
wire_ipv6_addr_is_unspecified(const struct wire_ipv6_addr *a)
{
    return zero_bytes(a, 0, 16);
}

bool
wire_ipv6_addr_is_loopback(const struct wire_ipv6_addr *a)
{
    return zero_bytes(a, 0, 15) && a->b[15] == 1;
}

bool
wire_ipv6_addr_is_multicast(const struct wire_ipv6_addr *a)
{
    return a->b[0] == 0xff;
}

bool
wire_ipv6_addr_is_link_local(const struct wire_ipv6_addr *a)
{
    /* RFC 4291 2.5.6: the first 10 bits are 1111111010. */
    return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

bool
wire_ipv6_addr_is_v4_mapped(const struct wire_ipv6_addr *a, uint32_t *v4)
{
    /* RFC 4291 2.5.5.2: 80 zero bits, 16 one bits, the IPv4 address. */
    if (!zero_bytes(a, 0, 10) || a->b[10] != 0xff || a->b[11] != 0xff) {
        return false;
    }
    if (v4) {
        *v4 = (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
              a->b[15];
    }
    return true;
}

struct wire_ipv6_addr
wire_ipv6_addr_v4_mapped(uint32_t v4)
{
    struct wire_ipv6_addr a = {{0}};
    a.b[10] = a.b[11] = 0xff;
    a.b[12] = (uint8_t)(v4 >> 24);
    a.b[13] = (uint8_t)(v4 >> 16);
    a.b[14] = (uint8_t)(v4 >> 8);
    a.b[15] = (uint8_t)v4;
    return a;
}

/* RFC 4291 2.7.1: the solicited-node prefix ff02:0:0:0:0:1:ff00::/104. */
static const uint8_t solicited_prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};

bool
wire_ipv6_addr_is_solicited_node(const struct wire_ipv6_addr *a)
{
    return memcmp(a->b, solicited_prefix, sizeof solicited_prefix) == 0;
}

struct wire_ipv6_addr
wire_ipv6_addr_solicited_node(const struct wire_ipv6_addr *a)
{
    struct wire_ipv6_addr g;
    memcpy(g.b, solicited_prefix, sizeof solicited_prefix);
    memcpy(g.b + 13, a->b + 13, 3); /* the low 24 bits of the address */
    return g;
}

unsigned
wire_ipv6_addr_scope(const struct wire_ipv6_addr *a)
{
    if (wire_ipv6_addr_is_multicast(a)) {
        return a->b[1] & 0x0f; /* RFC 4291 2.7: scop is the low nibble */
    }
    /* RFC 4007 4: link-local unicast and the loopback address are link scope. */
    if (wire_ipv6_addr_is_link_local(a) || wire_ipv6_addr_is_loopback(a)) {
        return WIRE_IPV6_SCOPE_LINK;
    }
    return WIRE_IPV6_SCOPE_GLOBAL;
}

bool
wire_ipv6_addr_prefix_eq(const struct wire_ipv6_addr *a, const struct wire_ipv6_addr *b,
                         unsigned prefix_len)
{
    if (prefix_len > 128) {
        prefix_len = 128;
    }
    size_t whole = prefix_len / 8;
    if (memcmp(a->b, b->b, whole) != 0) {
        return false;
    }
    unsigned rest = prefix_len % 8;
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return ((a->b[whole] ^ b->b[whole]) & mask) == 0;
}

/* --- text form ------------------------------------------------------------ */

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Dotted-quad IPv4 in exactly the n characters at s, into out[0..3]:
 * four decimal bytes of one to three digits, no leading zeros. */
static bool
parse_dotted(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.') {
                return false;
            }
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        size_t digits = i - start;
        if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0')) {
            return false;
        }
        out[part] = (uint8_t)v;
    }
    return i == n;
}

bool
wire_ipv6_addr_from_text(const char *s, size_t n, struct wire_ipv6_addr *out)
{
    uint16_t groups[8];
    int ngroups = 0;
    int gap = -1; /* index in groups where "::" stands, or -1 */
    size_t i = 0;
    if (n == 0) {
        return false;
    }
    /* RFC 4291 2.2 form 2: "::" may open the address. */
    if (s[0] == ':') {
        if (n < 2 || s[1] != ':') {
            return false;
        }
        gap = 0;
        i = 2;
        if (i == n) {
            memset(out->b, 0, sizeof out->b); /* "::" alone */
            return true;
        }
    }
    for (;;) {
        /* One group here: hex digits, or the IPv4 tail (form 3). */
        size_t start = i;
        unsigned v = 0;
        while (i < n && hex_value(s[i]) >= 0 && i - start < 5) {
            v = v << 4 | (unsigned)hex_value(s[i]);
            i++;
        }
        if (i < n && s[i] == '.') {
            /* The IPv4 part takes the last two groups and ends the text. */
            if (ngroups > 6) {
                return false;
            }
            uint8_t q[4];
            if (!parse_dotted(s + start, n - start, q)) {
                return false;
            }
            groups[ngroups++] = (uint16_t)(q[0] << 8 | q[1]);
            groups[ngroups++] = (uint16_t)(q[2] << 8 | q[3]);
            i = n;
            break;
        }
        size_t digits = i - start;
        if (digits == 0 || digits > 4 || ngroups == 8) {
            return false;
        }
        groups[ngroups++] = (uint16_t)v;
        if (i == n) {
            break;
        }
        if (s[i] != ':') {
            return false; /* anything else, "%zone" and "/len" included */
        }
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0) {
                return false; /* RFC 4291 2.2 2: "::" at most once */
            }
            gap = ngroups;
            i++;
            if (i == n) {
                break; /* "::" closes the address */
            }
        } else if (i == n) {
            return false; /* a lone trailing ':' */
        }
    }
    if (gap < 0 ? ngroups != 8 : ngroups > 7) {
        return false; /* "::" stands for at least one group */
    }
    int fill = 8 - ngroups;
    int k = 0;
    for (int g = 0; g < ngroups; g++) {
        if (g == gap) {
            k += fill;
        }
        out->b[2 * k] = (uint8_t)(groups[g] >> 8);
        out->b[2 * k + 1] = (uint8_t)groups[g];
        k++;
    }
    if (gap == ngroups) {
        k += fill;
    }
    if (gap >= 0) {
        /* Zero the groups "::" stands for. */
        memset(out->b + 2 * gap, 0, (size_t)fill * 2);
    }
    return k == 8;
}

static size_t
put_hex16(char *p, uint16_t v)
{
    static const char digits[] = "0123456789abcdef"; /* RFC 5952 4.3: lowercase */
    char tmp[4];
    size_t n = 0;
    do {
        tmp[n++] = digits[v & 0xf];
        v = (uint16_t)(v >> 4);
    } while (v != 0); /* RFC 5952 4.1: no leading zeros, "0" for zero */
    for (size_t i = 0; i < n; i++) {
        p[i] = tmp[n - 1 - i];
    }
    return n;
}

static size_t
put_dec8(char *p, uint8_t v)
{
    size_t n = 0;
    if (v >= 100) {
        p[n++] = (char)('0' + v / 100);
    }
    if (v >= 10) {
        p[n++] = (char)('0' + v / 10 % 10);
    }
    p[n++] = (char)('0' + v % 10);
    return n;
}

size_t
wire_ipv6_addr_to_text(const struct wire_ipv6_addr *a, char out[WIRE_IPV6_ADDR_TEXT_MAX])
{
    uint16_t g[8];
    for (int i = 0; i < 8; i++) {
        g[i] = (uint16_t)(a->b[2 * i] << 8 | a->b[2 * i + 1]);
    }
    /* RFC 5952 5: an IPv4-mapped address keeps its IPv4 part dotted. */
    bool mapped = wire_ipv6_addr_is_v4_mapped(a, NULL);
    int words = mapped ? 6 : 8;
    /* RFC 5952 4.2.1-4.2.3: the longest run of zero groups, the first on a
     * tie, and only a run of two or more. */
    int best = -1, best_len = 1;
    for (int i = 0; i < words;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < words && g[j] == 0) {
            j++;
        }
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    size_t n = 0;
    for (int i = 0; i < words; i++) {
        if (i == best) {
            out[n++] = ':';
            out[n++] = ':';
            i += best_len - 1;
            continue;
        }
        if (i > 0 && !(best >= 0 && i == best + best_len)) {
            out[n++] = ':';
        }
        n += put_hex16(out + n, g[i]);
    }
    if (mapped) {
        /* The "::" covers groups 0-4, so a colon separates the dotted part. */
        out[n++] = ':';
        for (int k = 12; k < 16; k++) {
            if (k > 12) {
                out[n++] = '.';
            }
            n += put_dec8(out + n, a->b[k]);
        }
    }
    out[n] = '\0';
    return n;
}
