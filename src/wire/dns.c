/*
 * src/wire/dns.c: DNS message parse and emit.
 *
 * Read before editing: RFC 1035 2.3.3, 3.1, 4.1 (all of it), 4.2, 5.1, 7.3;
 * RFC 1034 3.1; RFC 3596 2.
 */
#include "wire/dns.h"

#include <string.h>

#include "wire/wire_internal.h"

enum wire_err
wire_dns_hdr_parse(const uint8_t *buf, size_t len, struct wire_dns_hdr *out)
{
    if (len < WIRE_DNS_HDR_LEN) {
        return WIRE_ERR_DNS_TRUNCATED;
    }
    /* RFC 1035 4.1.1: id, then QR|Opcode(4)|AA|TC|RD, RA|Z(3)|RCODE(4),
     * then four counts. */
    uint8_t f1 = buf[2], f2 = buf[3];
    out->id = wire_get16(buf);
    out->qr = (f1 & 0x80) != 0;
    out->opcode = (uint8_t)((f1 >> 3) & 0x0f);
    out->aa = (f1 & 0x04) != 0;
    out->tc = (f1 & 0x02) != 0;
    out->rd = (f1 & 0x01) != 0;
    out->ra = (f2 & 0x80) != 0;
    out->z = (uint8_t)((f2 >> 4) & 0x07);
    out->rcode = (uint8_t)(f2 & 0x0f);
    out->qdcount = wire_get16(buf + 4);
    out->ancount = wire_get16(buf + 6);
    out->nscount = wire_get16(buf + 8);
    out->arcount = wire_get16(buf + 10);
    return WIRE_OK;
}

void
wire_dns_hdr_emit(const struct wire_dns_hdr *h, uint8_t out[WIRE_DNS_HDR_LEN])
{
    wire_put16(out, h->id);
    out[2] = (uint8_t)((h->qr ? 0x80 : 0) | (h->opcode & 0x0f) << 3 | (h->aa ? 0x04 : 0) |
                       (h->tc ? 0x02 : 0) | (h->rd ? 0x01 : 0));
    out[3] = (uint8_t)((h->ra ? 0x80 : 0) | (h->z & 0x07) << 4 | (h->rcode & 0x0f));
    wire_put16(out + 4, h->qdcount);
    wire_put16(out + 6, h->ancount);
    wire_put16(out + 8, h->nscount);
    wire_put16(out + 10, h->arcount);
}

/* --- names ------------------------------------------------------------- */

enum wire_err
wire_dns_name_decode(const uint8_t *msg, size_t len, size_t off, uint8_t name[WIRE_DNS_NAME_MAX],
                     size_t *name_len, size_t *end)
{
    size_t pos = off;       /* next byte to read */
    size_t run_start = off; /* first byte of the current run of labels */
    size_t out = 0;         /* wire-form octets produced so far */
    size_t after = 0;       /* where the name ends in place, once known */
    bool jumped = false;
    unsigned jumps = 0;
    for (;;) {
        if (pos >= len) {
            return WIRE_ERR_DNS_TRUNCATED;
        }
        uint8_t b = msg[pos];
        if ((b & 0xc0) == 0xc0) {
            /* RFC 1035 4.1.4: a pointer, two bytes, 14 bits of offset to a
             * prior occurrence. We demand that it land before the run it ends
             * (and past the header, which holds no names): each jump then
             * strictly lowers the run start, so no walk can cycle. */
            if (pos + 1 >= len) {
                return WIRE_ERR_DNS_TRUNCATED;
            }
            size_t target = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
            if (target < WIRE_DNS_HDR_LEN || target >= run_start || ++jumps > WIRE_DNS_MAX_JUMPS) {
                return WIRE_ERR_DNS_POINTER;
            }
            if (!jumped) {
                after = pos + 2;
                jumped = true;
            }
            pos = target;
            run_start = target;
            continue;
        }
        if (b & 0xc0) {
            /* RFC 1035 4.1.4: the 01 and 10 label types are reserved. */
            return WIRE_ERR_DNS_LABEL_TYPE;
        }
        /* RFC 1035 3.1: at most 255 octets counting every length byte and
         * the root label; checked before copying anything. */
        if (out + 1 + b > WIRE_DNS_NAME_MAX) {
            return WIRE_ERR_DNS_NAME_LEN;
        }
        if (b > len - pos - 1) {
            return WIRE_ERR_DNS_TRUNCATED;
        }
        if (name != NULL) {
            memcpy(name + out, msg + pos, (size_t)b + 1);
        }
        out += (size_t)b + 1;
        pos += (size_t)b + 1;
        if (b == 0) {
            break; /* the root label ends the name */
        }
    }
    if (name_len != NULL) {
        *name_len = out;
    }
    if (end != NULL) {
        *end = jumped ? after : pos;
    }
    return WIRE_OK;
}

static int
digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : -1;
}

enum wire_err
wire_dns_name_from_text(const char *text, size_t text_len, uint8_t name[WIRE_DNS_NAME_MAX],
                        size_t *name_len)
{
    if (text_len == 0) {
        return WIRE_ERR_DNS_LABEL_LEN;
    }
    /* "." alone is the root (RFC 1035 5.1: a name ending in a dot is
     * absolute; a stub resolver (RFC 1034 5.3.1) treats every name as absolute). */
    if (text_len == 1 && text[0] == '.') {
        name[0] = 0;
        *name_len = 1;
        return WIRE_OK;
    }
    size_t out = 0;   /* octets written */
    size_t label = 0; /* where the current label's length byte sits */
    size_t i = 0;
    bool open = false; /* a label has been started */
    while (i < text_len) {
        if (!open) {
            /* Reserve the length byte; the root byte is added at the end. */
            if (out + 1 >= WIRE_DNS_NAME_MAX) {
                return WIRE_ERR_DNS_NAME_LEN;
            }
            label = out++;
            open = true;
        }
        char c = text[i++];
        uint8_t v;
        if (c == '.') {
            /* RFC 1034 3.1: labels are non-empty except the root. */
            size_t n = out - label - 1;
            if (n == 0) {
                return WIRE_ERR_DNS_LABEL_LEN;
            }
            name[label] = (uint8_t)n;
            open = false;
            continue;
        }
        if (c == '\\') {
            /* RFC 1035 5.1: \X quotes X, \DDD is an octet in decimal. */
            if (i >= text_len) {
                return WIRE_ERR_DNS_TEXT;
            }
            if (digit(text[i]) >= 0) {
                if (text_len - i < 3 || digit(text[i + 1]) < 0 || digit(text[i + 2]) < 0) {
                    return WIRE_ERR_DNS_TEXT;
                }
                int d = digit(text[i]) * 100 + digit(text[i + 1]) * 10 + digit(text[i + 2]);
                if (d > 255) {
                    return WIRE_ERR_DNS_TEXT;
                }
                v = (uint8_t)d;
                i += 3;
            } else {
                v = (uint8_t)text[i++];
            }
        } else {
            v = (uint8_t)c;
        }
        /* RFC 1035 3.1: labels of 63 octets or less. */
        if (out - label - 1 >= WIRE_DNS_LABEL_MAX) {
            return WIRE_ERR_DNS_LABEL_LEN;
        }
        /* One byte for v and one for the root label must still fit. */
        if (out + 2 > WIRE_DNS_NAME_MAX) {
            return WIRE_ERR_DNS_NAME_LEN;
        }
        name[out++] = v;
    }
    if (open) {
        name[label] = (uint8_t)(out - label - 1);
    }
    name[out++] = 0;
    *name_len = out;
    return WIRE_OK;
}

/* Whether name is exactly one valid wire-form name of name_len bytes. */
static bool
wire_form_ok(const uint8_t *name, size_t name_len)
{
    if (name_len == 0 || name_len > WIRE_DNS_NAME_MAX) {
        return false;
    }
    size_t p = 0;
    while (p < name_len) {
        uint8_t b = name[p];
        if (b > WIRE_DNS_LABEL_MAX) {
            return false;
        }
        if (b == 0) {
            return p + 1 == name_len;
        }
        p += (size_t)b + 1;
    }
    return false;
}

size_t
wire_dns_name_to_text(const uint8_t *name, size_t name_len, char *out, size_t out_size)
{
    if (!wire_form_ok(name, name_len) || out_size == 0) {
        return 0;
    }
    size_t o = 0;
    size_t p = 0;
    if (name[0] == 0) {
        if (out_size < 2) {
            return 0;
        }
        out[0] = '.';
        out[1] = '\0';
        return 1;
    }
    while (name[p] != 0) {
        uint8_t n = name[p++];
        for (uint8_t k = 0; k < n; k++) {
            uint8_t c = name[p++];
            char esc[5];
            size_t el;
            if (c == '.' || c == '\\') {
                esc[0] = '\\';
                esc[1] = (char)c;
                el = 2;
            } else if (c < '!' || c > '~') {
                /* RFC 1035 5.1: \DDD for octets with no safe character. */
                esc[0] = '\\';
                esc[1] = (char)('0' + c / 100);
                esc[2] = (char)('0' + c / 10 % 10);
                esc[3] = (char)('0' + c % 10);
                el = 4;
            } else {
                esc[0] = (char)c;
                el = 1;
            }
            if (o + el + 1 > out_size) {
                return 0;
            }
            memcpy(out + o, esc, el);
            o += el;
        }
        if (o + 2 > out_size) {
            return 0;
        }
        out[o++] = '.';
    }
    out[o] = '\0';
    return o;
}

static uint8_t
lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

bool
wire_dns_name_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    if (a_len != b_len) {
        return false;
    }
    /* RFC 1035 2.3.3: comparisons ignore ASCII case. Length bytes are at
     * most 63, below 'A', so lowering them changes nothing. */
    for (size_t i = 0; i < a_len; i++) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

/* --- queries ----------------------------------------------------------- */

enum wire_err
wire_dns_query_emit(uint16_t id, const char *name, size_t name_len, uint16_t qtype, uint8_t *out,
                    size_t cap, size_t *len, struct wire_dns_question *q)
{
    uint8_t wire[WIRE_DNS_NAME_MAX];
    size_t wlen;
    enum wire_err e = wire_dns_name_from_text(name, name_len, wire, &wlen);
    if (e != WIRE_OK) {
        return e;
    }
    size_t total = WIRE_DNS_HDR_LEN + wlen + 4;
    if (cap < total) {
        return WIRE_ERR_DNS_NO_ROOM;
    }
    /* RFC 1035 4.1.1: a standard query with recursion desired (a stub
     * cannot iterate itself, RFC 1034 5.3.1), one question. */
    struct wire_dns_hdr h = {.id = id, .opcode = WIRE_DNS_OPCODE_QUERY, .rd = true, .qdcount = 1};
    wire_dns_hdr_emit(&h, out);
    memcpy(out + WIRE_DNS_HDR_LEN, wire, wlen);
    wire_put16(out + WIRE_DNS_HDR_LEN + wlen, qtype);
    wire_put16(out + WIRE_DNS_HDR_LEN + wlen + 2, WIRE_DNS_CLASS_IN);
    *len = total;
    if (q != NULL) {
        memcpy(q->name, wire, wlen);
        q->name_len = wlen;
        q->qtype = qtype;
        q->qclass = WIRE_DNS_CLASS_IN;
    }
    return WIRE_OK;
}

/* --- responses --------------------------------------------------------- */

enum wire_err
wire_dns_parse(const uint8_t *buf, size_t len, struct wire_dns_msg *out)
{
    enum wire_err e = wire_dns_hdr_parse(buf, len, &out->hdr);
    if (e != WIRE_OK) {
        return e;
    }
    out->buf = buf;
    out->len = len;
    out->has_question = out->hdr.qdcount > 0;
    size_t off = WIRE_DNS_HDR_LEN;
    /* RFC 1035 4.1.2: QNAME, QTYPE, QCLASS for each of QDCOUNT entries.
     * Each takes at least 5 bytes, so the loop is bounded by len. */
    for (unsigned i = 0; i < out->hdr.qdcount; i++) {
        struct wire_dns_question *q = &out->question;
        size_t end;
        e = wire_dns_name_decode(buf, len, off, i == 0 ? q->name : NULL,
                                 i == 0 ? &q->name_len : NULL, &end);
        if (e != WIRE_OK) {
            return e;
        }
        if (len - end < 4) {
            return WIRE_ERR_DNS_TRUNCATED;
        }
        if (i == 0) {
            q->qtype = wire_get16(buf + end);
            q->qclass = wire_get16(buf + end + 2);
        }
        off = end + 4;
    }
    out->rr_off = off;
    return WIRE_OK;
}

enum wire_err
wire_dns_check_answer(const struct wire_dns_msg *m, uint16_t id, const struct wire_dns_question *q,
                      bool *tc, uint8_t *rcode)
{
    /* RFC 1035 4.1.1: an answer has QR set and keeps the query's opcode. */
    if (!m->hdr.qr || m->hdr.opcode != WIRE_DNS_OPCODE_QUERY) {
        return WIRE_ERR_DNS_NOT_RESPONSE;
    }
    /* RFC 1035 4.1.1 (ID is copied into the reply) and 7.3: the id and the
     * question tell our answer from stale or forged ones. */
    if (m->hdr.id != id) {
        return WIRE_ERR_DNS_ID;
    }
    if (m->hdr.qdcount != 1 || !m->has_question || m->question.qtype != q->qtype ||
        m->question.qclass != q->qclass ||
        !wire_dns_name_equal(m->question.name, m->question.name_len, q->name, q->name_len)) {
        return WIRE_ERR_DNS_QUESTION;
    }
    if (tc != NULL) {
        *tc = m->hdr.tc;
    }
    if (rcode != NULL) {
        *rcode = m->hdr.rcode;
    }
    return WIRE_OK;
}

void
wire_dns_iter_init(struct wire_dns_iter *it, const struct wire_dns_msg *m)
{
    it->buf = m->buf;
    it->len = m->len;
    it->off = m->rr_off;
    it->left[0] = m->hdr.ancount;
    it->left[1] = m->hdr.nscount;
    it->left[2] = m->hdr.arcount;
    it->section = 0;
    while (it->section < 3 && it->left[it->section] == 0) {
        it->section++;
    }
}

bool
wire_dns_iter_done(const struct wire_dns_iter *it)
{
    return it->section >= 3;
}

enum wire_err
wire_dns_next(struct wire_dns_iter *it, struct wire_dns_rr *rr)
{
    if (wire_dns_iter_done(it)) {
        return WIRE_ERR_DNS_TRUNCATED;
    }
    size_t end;
    enum wire_err e =
        wire_dns_name_decode(it->buf, it->len, it->off, rr->name, &rr->name_len, &end);
    /* RFC 1035 4.1.3: TYPE, CLASS, TTL, RDLENGTH, then RDLENGTH bytes. */
    if (e == WIRE_OK && it->len - end < 10) {
        e = WIRE_ERR_DNS_TRUNCATED;
    }
    if (e == WIRE_OK && it->len - end - 10 < wire_get16(it->buf + end + 8)) {
        e = WIRE_ERR_DNS_TRUNCATED;
    }
    if (e != WIRE_OK) {
        it->section = 3; /* nothing after a bad record can be found */
        return e;
    }
    const uint8_t *p = it->buf + end;
    rr->section = (enum wire_dns_section)it->section;
    rr->type = wire_get16(p);
    rr->rclass = wire_get16(p + 2);
    uint32_t ttl = wire_get32(p + 4);
    /* RFC 1035 2.3.4 and 3.2.1: the TTL is a signed 32-bit number and only
     * its positive values are meaningful; one with the top bit set is read
     * as 0 (use once, do not cache), as RFC 2181 8 (not in our folder)
     * prescribes. */
    rr->ttl = (ttl & 0x80000000u) ? 0 : ttl;
    rr->rdlength = wire_get16(p + 8);
    rr->rdata_off = end + 10;
    rr->rdata = it->buf + rr->rdata_off;
    it->off = rr->rdata_off + rr->rdlength;
    it->left[it->section]--;
    while (it->section < 3 && it->left[it->section] == 0) {
        it->section++;
    }
    return WIRE_OK;
}

enum wire_err
wire_dns_rr_a(const struct wire_dns_rr *rr, uint32_t *addr)
{
    /* RFC 1035 3.4.1: a 32-bit Internet address, class IN only. */
    if (rr->type != WIRE_DNS_TYPE_A || rr->rclass != WIRE_DNS_CLASS_IN || rr->rdlength != 4) {
        return WIRE_ERR_DNS_RDATA;
    }
    *addr = wire_get32(rr->rdata);
    return WIRE_OK;
}

enum wire_err
wire_dns_rr_aaaa(const struct wire_dns_rr *rr, uint8_t addr[16])
{
    /* RFC 3596 2.2: 16 octets in network order, class IN. */
    if (rr->type != WIRE_DNS_TYPE_AAAA || rr->rclass != WIRE_DNS_CLASS_IN || rr->rdlength != 16) {
        return WIRE_ERR_DNS_RDATA;
    }
    memcpy(addr, rr->rdata, 16);
    return WIRE_OK;
}

enum wire_err
wire_dns_rr_cname(const struct wire_dns_msg *m, const struct wire_dns_rr *rr,
                  uint8_t name[WIRE_DNS_NAME_MAX], size_t *name_len)
{
    if (rr->type != WIRE_DNS_TYPE_CNAME || rr->rdlength == 0) {
        return WIRE_ERR_DNS_RDATA;
    }
    /* RFC 1035 3.3.1: the rdata is one domain name, compressed or not
     * (4.1.4: RDLENGTH counts its compressed form). Decoding may read only
     * up to the rdata's end for its own labels; pointers reach back. */
    size_t rd_end = rr->rdata_off + rr->rdlength;
    if (rd_end > m->len) {
        return WIRE_ERR_DNS_TRUNCATED;
    }
    size_t end;
    enum wire_err e = wire_dns_name_decode(m->buf, rd_end, rr->rdata_off, name, name_len, &end);
    if (e != WIRE_OK) {
        return e;
    }
    return end == rd_end ? WIRE_OK : WIRE_ERR_DNS_RDATA;
}

/* --- TCP framing ------------------------------------------------------- */

size_t
wire_dns_tcp_prefix(uint8_t out[WIRE_DNS_TCP_PREFIX], size_t msg_len)
{
    /* RFC 1035 4.2.2: two bytes of length, the prefix itself excluded. */
    if (msg_len > 0xffff) {
        return 0;
    }
    wire_put16(out, (uint16_t)msg_len);
    return WIRE_DNS_TCP_PREFIX;
}

size_t
wire_dns_tcp_unframe(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len)
{
    if (len < WIRE_DNS_TCP_PREFIX) {
        return 0;
    }
    size_t n = wire_get16(buf);
    if (len - WIRE_DNS_TCP_PREFIX < n) {
        return 0;
    }
    *msg = buf + WIRE_DNS_TCP_PREFIX;
    *msg_len = n;
    return WIRE_DNS_TCP_PREFIX + n;
}
