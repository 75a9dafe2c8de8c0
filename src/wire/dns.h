/*
 * src/wire/dns.h: DNS messages (RFC 1035 4.1; names per RFC 1034 3.1 and
 * RFC 1035 3.1, AAAA per RFC 3596), the stateless half of a stub resolver.
 *
 * Names: every function here hands names around in uncompressed WIRE FORM
 * (length-prefixed labels ending in the zero-length root label, at most
 * WIRE_DNS_NAME_MAX octets), never as text, so that names can be compared
 * and copied without re-parsing escapes. wire_dns_name_from_text and
 * wire_dns_name_to_text convert to and from presentation text (dots between
 * labels, "\." and "\DDD" escapes). Comparison ignores ASCII case (RFC 1035
 * 2.3.3).
 *
 * Decoding compressed names (RFC 1035 4.1.4) can neither loop nor read
 * outside the message: see wire_dns_name_decode for the rules.
 *
 * Parse functions read only [buf, buf + len), allocate nothing and return
 * WIRE_OK or the first malformation found (wire.h). Multi-byte fields are in
 * host order.
 */
#ifndef TERN_WIRE_DNS_H
#define TERN_WIRE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_DNS_HDR_LEN   12
#define WIRE_DNS_PORT      53
#define WIRE_DNS_LABEL_MAX 63  /* RFC 1035 3.1 / 2.3.4 */
#define WIRE_DNS_NAME_MAX  255 /* octets of wire form, RFC 1035 3.1 / 2.3.4 */
#define WIRE_DNS_UDP_MAX   512 /* RFC 1035 2.3.4: UDP messages without EDNS */
#define WIRE_DNS_TEXT_MAX                                                                          \
    1024 /* room for any name as text: each of the 255                                             \
            octets becomes at most 4 characters, + NUL */
/* Compression pointers followed for one name at most: a name has at most
 * 127 labels, so a decoder that needs more is being fooled (defence in
 * depth; the backwards rule alone already ends every walk). */
#define WIRE_DNS_MAX_JUMPS 127

/* RFC 1035 3.2.2 / RFC 3596 2.1 */
#define WIRE_DNS_TYPE_A     1
#define WIRE_DNS_TYPE_NS    2
#define WIRE_DNS_TYPE_CNAME 5
#define WIRE_DNS_TYPE_SOA   6
#define WIRE_DNS_TYPE_AAAA  28
#define WIRE_DNS_TYPE_ANY   255 /* QTYPE "*", RFC 1035 3.2.3 */
#define WIRE_DNS_CLASS_IN   1

#define WIRE_DNS_OPCODE_QUERY 0 /* RFC 1035 4.1.1 */

/* RCODE values, RFC 1035 4.1.1 */
#define WIRE_DNS_RCODE_NOERROR  0
#define WIRE_DNS_RCODE_FORMERR  1
#define WIRE_DNS_RCODE_SERVFAIL 2
#define WIRE_DNS_RCODE_NXDOMAIN 3
#define WIRE_DNS_RCODE_NOTIMP   4
#define WIRE_DNS_RCODE_REFUSED  5

/* The 12-byte header, RFC 1035 4.1.1. */
struct wire_dns_hdr {
    uint16_t id;
    bool qr;        /* response */
    uint8_t opcode; /* 4 bits */
    bool aa, tc, rd, ra;
    uint8_t z;     /* the 3 bits between RA and RCODE, as received (RFC 1035 says
                      zero; later RFCs not in our folder give them meaning, so a
                      parser keeps rather than refuses them) */
    uint8_t rcode; /* 4 bits */
    uint16_t qdcount, ancount, nscount, arcount;
};

/* Checks len >= 12 (WIRE_ERR_DNS_TRUNCATED) and fills *out. */
enum wire_err wire_dns_hdr_parse(const uint8_t *buf, size_t len, struct wire_dns_hdr *out);

/* Writes the 12 bytes of h (opcode, z and rcode are masked to their widths). */
void wire_dns_hdr_emit(const struct wire_dns_hdr *h, uint8_t out[WIRE_DNS_HDR_LEN]);

/* --- names ------------------------------------------------------------- */

/*
 * Decodes the possibly compressed name at msg[off], the message being msg
 * and len bytes long (offsets in pointers count from msg, RFC 1035 4.1.4),
 * into wire form in name (WIRE_DNS_NAME_MAX bytes; may be NULL to only
 * check and skip); *name_len gets its length (may be NULL). *end (may be
 * NULL) gets the offset just past the name where it sits, i.e. past its
 * first pointer or its root label. Checks, as the labels are read:
 *  - every byte read lies inside the message (WIRE_ERR_DNS_TRUNCATED);
 *  - label types 01 and 10 (first byte 0x40-0xbf) are reserved
 *    (WIRE_ERR_DNS_LABEL_TYPE, RFC 1035 4.1.4);
 *  - a pointer targets an offset past the header and strictly before the
 *    first label of the run of labels that ended in it, so each jump goes
 *    strictly backwards and the walk must end (a self-pointer, a forward
 *    pointer, a cycle are all refused); at most WIRE_DNS_MAX_JUMPS jumps
 *    (WIRE_ERR_DNS_POINTER). Whether the target is the first byte of a
 *    label cannot be known without state; if it is not, the bytes there are
 *    decoded under the same rules and give a wrong name, never a loop;
 *  - the decoded name, root label included, is at most 255 octets
 *    (WIRE_ERR_DNS_NAME_LEN, RFC 1035 3.1). Labels cannot exceed 63 octets
 *    on the wire: their 6-bit length field cannot say more.
 */
enum wire_err wire_dns_name_decode(const uint8_t *msg, size_t len, size_t off,
                                   uint8_t name[WIRE_DNS_NAME_MAX], size_t *name_len, size_t *end);

/*
 * Converts text ("www.example.com", trailing dot optional; "." alone is the
 * root) to wire form. Escapes: "\DDD" (three decimal digits, value <= 255)
 * and "\X" for any other character X. Refuses an empty name, an empty label
 * ("a..b", ".a") and a label over 63 octets (WIRE_ERR_DNS_LABEL_LEN), a
 * name over 255 octets in wire form (WIRE_ERR_DNS_NAME_LEN), a bad or
 * unfinished escape (WIRE_ERR_DNS_TEXT). text is text_len bytes, no NUL
 * needed.
 */
enum wire_err wire_dns_name_from_text(const char *text, size_t text_len,
                                      uint8_t name[WIRE_DNS_NAME_MAX], size_t *name_len);

/*
 * Writes the wire-form name (name_len bytes, as produced by this module) as
 * text with a trailing dot ("." for the root), NUL-terminated, escaping "."
 * and "\" as "\." and "\\" and any byte outside '!'..'~' as "\DDD".
 * Returns the text length (without the NUL), or 0 when the name is not
 * valid wire form or out_size is too small (WIRE_DNS_TEXT_MAX always is).
 */
size_t wire_dns_name_to_text(const uint8_t *name, size_t name_len, char *out, size_t out_size);

/* Whether two wire-form names are equal ignoring ASCII case (RFC 1035 2.3.3). */
bool wire_dns_name_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* --- queries ----------------------------------------------------------- */

struct wire_dns_question {
    uint8_t name[WIRE_DNS_NAME_MAX]; /* wire form */
    size_t name_len;
    uint16_t qtype, qclass;
};

/*
 * Builds a standard query (opcode QUERY, RD set, RFC 1035 4.1.1) with the
 * caller's id and one question: the name given as text (checked as by
 * wire_dns_name_from_text), qtype (any value; WIRE_DNS_TYPE_A, _AAAA,
 * _CNAME, _ANY are the ones a stub resolver asks), class IN. The name is written
 * uncompressed. On success writes the message to out (cap bytes), *len its
 * length, and if q is not NULL the question to match the answer against.
 * WIRE_ERR_DNS_NO_ROOM when cap is too small (nothing useful written).
 */
enum wire_err wire_dns_query_emit(uint16_t id, const char *name, size_t name_len, uint16_t qtype,
                                  uint8_t *out, size_t cap, size_t *len,
                                  struct wire_dns_question *q);

/* --- responses --------------------------------------------------------- */

/* A parsed message: the header and its first question. */
struct wire_dns_msg {
    const uint8_t *buf;
    size_t len;
    struct wire_dns_hdr hdr;
    bool has_question; /* qdcount >= 1 */
    struct wire_dns_question question;
    size_t rr_off; /* offset of the first resource record */
};

/*
 * Parses the header and the whole question section (RFC 1035 4.1.2): each
 * question's name (rules of wire_dns_name_decode) and its 4 bytes of type
 * and class must lie inside the message (WIRE_ERR_DNS_TRUNCATED). Records
 * are read later with the iterator. *out points into buf.
 */
enum wire_err wire_dns_parse(const uint8_t *buf, size_t len, struct wire_dns_msg *out);

/*
 * Whether the parsed message m answers the query with this id and question
 * q: QR set and opcode QUERY (WIRE_ERR_DNS_NOT_RESPONSE), the same id
 * (WIRE_ERR_DNS_ID), exactly one question equal to q: name ignoring case,
 * type and class (WIRE_ERR_DNS_QUESTION). On WIRE_OK, *tc (may be NULL)
 * says the answer was truncated (RFC 1035 4.2.1: ask again over TCP) and
 * *rcode (may be NULL) gets the response code. The rest of the message is
 * not read here; the iterator checks it record by record.
 */
enum wire_err wire_dns_check_answer(const struct wire_dns_msg *m, uint16_t id,
                                    const struct wire_dns_question *q, bool *tc, uint8_t *rcode);

enum wire_dns_section {
    WIRE_DNS_ANSWER,
    WIRE_DNS_AUTHORITY,
    WIRE_DNS_ADDITIONAL,
};

/* A resource record, RFC 1035 4.1.3. */
struct wire_dns_rr {
    enum wire_dns_section section;
    uint8_t name[WIRE_DNS_NAME_MAX]; /* owner, wire form */
    size_t name_len;
    uint16_t type, rclass;
    uint32_t ttl; /* seconds, 0..2^31-1: see wire_dns_next */
    uint16_t rdlength;
    size_t rdata_off; /* offset of the rdata in the message */
    const uint8_t *rdata;
};

/* Walks the answer, authority and additional sections in order. */
struct wire_dns_iter {
    const uint8_t *buf;
    size_t len;
    size_t off;
    uint32_t left[3]; /* records still to read in each section */
    unsigned section;
};

void wire_dns_iter_init(struct wire_dns_iter *it, const struct wire_dns_msg *m);

/* Whether every record the header announced has been read (or one failed). */
bool wire_dns_iter_done(const struct wire_dns_iter *it);

/*
 * Reads the next record into *rr. Its owner name obeys the rules of
 * wire_dns_name_decode; its 10 bytes of type, class, TTL and RDLENGTH and
 * its rdata must lie inside the message (WIRE_ERR_DNS_TRUNCATED). After an
 * error the iterator is done. Calling it when done gives
 * WIRE_ERR_DNS_TRUNCATED.
 *
 * TTL: RFC 1035 3.2.1 calls it a 32-bit signed integer and 2.3.4 allows
 * only its positive values, while 4.1.3 calls it unsigned; a value with the
 * top bit set is therefore not a valid TTL and is read as 0 (do not
 * cache). RFC 2181 8 (not in our RFC folder) says the same.
 */
enum wire_err wire_dns_next(struct wire_dns_iter *it, struct wire_dns_rr *rr);

/* The address of an A record (class IN, RDLENGTH 4, RFC 1035 3.4.1), host
 * order. WIRE_ERR_DNS_RDATA if rr is not such a record. */
enum wire_err wire_dns_rr_a(const struct wire_dns_rr *rr, uint32_t *addr);

/* The address of an AAAA record (class IN, RDLENGTH 16, RFC 3596 2.2),
 * network order. WIRE_ERR_DNS_RDATA if rr is not such a record. */
enum wire_err wire_dns_rr_aaaa(const struct wire_dns_rr *rr, uint8_t addr[16]);

/*
 * The target of a CNAME record (RFC 1035 3.3.1), decoded from m (the
 * message the iterator walked; the name may point back into it) into wire
 * form. WIRE_ERR_DNS_RDATA if rr is not a CNAME or its name does not end
 * exactly at the end of its rdata; name errors as wire_dns_name_decode.
 */
enum wire_err wire_dns_rr_cname(const struct wire_dns_msg *m, const struct wire_dns_rr *rr,
                                uint8_t name[WIRE_DNS_NAME_MAX], size_t *name_len);

/* --- TCP framing, RFC 1035 4.2.2 --------------------------------------- */

#define WIRE_DNS_TCP_PREFIX 2

/* Writes the 2-byte length prefix for a msg_len-byte message. Returns 2, or
 * 0 when msg_len exceeds 65535. */
size_t wire_dns_tcp_prefix(uint8_t out[WIRE_DNS_TCP_PREFIX], size_t msg_len);

/*
 * Looks for one whole framed message at the start of the stream bytes buf
 * (len bytes). Returns the bytes it takes (2 + message length) and sets
 * *msg and *msg_len to the message, or returns 0 when the prefix or the
 * message is not all there yet.
 */
size_t wire_dns_tcp_unframe(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len);

#endif
