/*
 * src/wire/dhcp.c: DHCPv4 message parse and emit, and the check that a
 * reply answers our request.
 *
 * Read before editing: src/wire/dhcp.h (the decisions), RFC 2131 2, 3, 4.1,
 * 4.3.1 (table 3), 4.3.2, 4.4.1 (table 5); RFC 2132 2 and the sections of
 * the options decoded here.
 */
#include "wire/dhcp.h"

#include <string.h>

#include "wire/wire_internal.h"

/* Byte offsets of the fixed fields (RFC 2131 2, figure 1). */
#define OFF_OP     0
#define OFF_HTYPE  1
#define OFF_HLEN   2
#define OFF_HOPS   3
#define OFF_XID    4
#define OFF_SECS   8
#define OFF_FLAGS  10
#define OFF_CIADDR 12
#define OFF_YIADDR 16
#define OFF_SIADDR 20
#define OFF_GIADDR 24
#define OFF_CHADDR 28
#define OFF_SNAME  44
#define OFF_FILE   108
#define OFF_COOKIE 236

/* The options decoded; each gathers every instance's bytes (RFC 2131 4.1:
 * a client joins repeated options into one value). */
enum slot {
    S_MASK,
    S_ROUTER,
    S_DNS,
    S_MTU,
    S_REQUESTED,
    S_LEASE,
    S_OVERLOAD,
    S_TYPE,
    S_SERVER,
    S_MAX_SIZE,
    S_T1,
    S_T2,
    S_SMALL, /* slots above keep at most SMALL_CAP bytes in struct gather */
    S_DOMAIN = S_SMALL,
    S_MESSAGE,
    S_PARAMS,
    S_CLIENT_ID,
    S_COUNT
};

#define SMALL_CAP (4 * WIRE_DHCP_MAX_ADDRS)

struct acc {
    uint8_t *dst;
    size_t cap;
    size_t len; /* bytes met in all instances; only min(len, cap) kept */
    bool seen;
};

struct gather {
    struct acc acc[S_COUNT];
    uint8_t small[S_SMALL][SMALL_CAP];
};

static int
slot_of(uint8_t code)
{
    switch (code) {
    case WIRE_DHCP_OPT_SUBNET_MASK:
        return S_MASK;
    case WIRE_DHCP_OPT_ROUTER:
        return S_ROUTER;
    case WIRE_DHCP_OPT_DNS:
        return S_DNS;
    case WIRE_DHCP_OPT_DOMAIN_NAME:
        return S_DOMAIN;
    case WIRE_DHCP_OPT_MTU:
        return S_MTU;
    case WIRE_DHCP_OPT_REQUESTED:
        return S_REQUESTED;
    case WIRE_DHCP_OPT_LEASE_TIME:
        return S_LEASE;
    case WIRE_DHCP_OPT_OVERLOAD:
        return S_OVERLOAD;
    case WIRE_DHCP_OPT_MSG_TYPE:
        return S_TYPE;
    case WIRE_DHCP_OPT_SERVER_ID:
        return S_SERVER;
    case WIRE_DHCP_OPT_PARAM_LIST:
        return S_PARAMS;
    case WIRE_DHCP_OPT_MESSAGE:
        return S_MESSAGE;
    case WIRE_DHCP_OPT_MAX_SIZE:
        return S_MAX_SIZE;
    case WIRE_DHCP_OPT_T1:
        return S_T1;
    case WIRE_DHCP_OPT_T2:
        return S_T2;
    case WIRE_DHCP_OPT_CLIENT_ID:
        return S_CLIENT_ID;
    default:
        return -1;
    }
}

static void
acc_add(struct acc *a, const uint8_t *p, size_t n)
{
    size_t kept = a->len < a->cap ? a->len : a->cap;
    size_t take = n < a->cap - kept ? n : a->cap - kept;
    if (take) {
        memcpy(a->dst + kept, p, take);
    }
    a->len += n;
    a->seen = true;
}

/*
 * Walks the options in one field (n bytes at p). RFC 2131 4.1: every
 * option lies wholly in its field and the field ends with End; Pad is one
 * byte, every other option is code, length, data (RFC 2132 2). Overload is
 * read once, after the options field and before 'file' and 'sname' are
 * walked, so an overload option found in those has no effect.
 */
static enum wire_err
walk(const uint8_t *p, size_t n, struct gather *g)
{
    size_t i = 0;
    while (i < n) {
        uint8_t code = p[i];
        if (code == WIRE_DHCP_OPT_PAD) {
            i++;
            continue;
        }
        if (code == WIRE_DHCP_OPT_END) {
            return WIRE_OK;
        }
        if (n - i < 2 || p[i + 1] > n - i - 2) {
            return WIRE_ERR_DHCP_OPT_TRUNCATED;
        }
        size_t olen = p[i + 1];
        int s = slot_of(code);
        if (s >= 0) {
            acc_add(&g->acc[s], p + i + 2, olen);
        }
        i += 2 + olen;
    }
    return WIRE_ERR_DHCP_NO_END;
}

/* A fixed-length option: absent, or exactly want bytes (RFC 2132). */
static enum wire_err
fixed(const struct acc *a, size_t want, bool *has, uint32_t *v)
{
    if (!a->seen) {
        return WIRE_OK;
    }
    if (a->len != want) {
        return WIRE_ERR_DHCP_OPT_BADLEN;
    }
    *v = want == 4 ? wire_get32(a->dst) : want == 2 ? wire_get16(a->dst) : a->dst[0];
    *has = true;
    return WIRE_OK;
}

/* RFC 2132 3.5, 3.8: at least one address, a multiple of 4 bytes. */
static enum wire_err
addr_list(const struct acc *a, uint32_t *out, size_t *n_kept, size_t *n_total)
{
    if (!a->seen) {
        return WIRE_OK;
    }
    if (a->len == 0 || a->len % 4 != 0) {
        return WIRE_ERR_DHCP_OPT_BADLEN;
    }
    *n_total = a->len / 4;
    *n_kept = *n_total < WIRE_DHCP_MAX_ADDRS ? *n_total : WIRE_DHCP_MAX_ADDRS;
    for (size_t i = 0; i < *n_kept; i++) {
        out[i] = wire_get32(a->dst + 4 * i);
    }
    return WIRE_OK;
}

/* Kept bytes of a text option without its trailing NULs (RFC 2132 2: the
 * receiver deletes them). */
static size_t
text_len(const struct acc *a)
{
    size_t n = a->len < a->cap ? a->len : a->cap;
    while (n > 0 && a->dst[n - 1] == 0) {
        n--;
    }
    a->dst[n] = 0; /* the char arrays have room for it */
    return n;
}

static enum wire_err
decode(struct gather *g, struct wire_dhcp_opts *o)
{
    uint32_t v = 0;
    bool has = false;
    enum wire_err e;
    /* RFC 2132 9.6: one byte. */
    if ((e = fixed(&g->acc[S_TYPE], 1, &has, &v)) != WIRE_OK) {
        return e;
    }
    o->msg_type = (uint8_t)v;
    /* RFC 2132 3.3, 9.1, 9.2, 9.7, 9.11, 9.12: four bytes each. */
    if ((e = fixed(&g->acc[S_MASK], 4, &o->has_subnet_mask, &o->subnet_mask)) != WIRE_OK ||
        (e = fixed(&g->acc[S_REQUESTED], 4, &o->has_requested, &o->requested)) != WIRE_OK ||
        (e = fixed(&g->acc[S_LEASE], 4, &o->has_lease_time, &o->lease_time)) != WIRE_OK ||
        (e = fixed(&g->acc[S_SERVER], 4, &o->has_server_id, &o->server_id)) != WIRE_OK ||
        (e = fixed(&g->acc[S_T1], 4, &o->has_t1, &o->t1)) != WIRE_OK ||
        (e = fixed(&g->acc[S_T2], 4, &o->has_t2, &o->t2)) != WIRE_OK) {
        return e;
    }
    /* RFC 2132 5.1: two bytes, and an MTU below 68 is not legal: ignored. */
    has = false;
    if ((e = fixed(&g->acc[S_MTU], 2, &has, &v)) != WIRE_OK) {
        return e;
    }
    if (has && v >= WIRE_DHCP_MIN_MTU) {
        o->has_mtu = true;
        o->mtu = (uint16_t)v;
    }
    /* RFC 2132 9.10: two bytes, at least 576, else ignored. */
    has = false;
    if ((e = fixed(&g->acc[S_MAX_SIZE], 2, &has, &v)) != WIRE_OK) {
        return e;
    }
    if (has && v >= WIRE_DHCP_MIN_MAX_SIZE) {
        o->has_max_size = true;
        o->max_size = (uint16_t)v;
    }
    if ((e = addr_list(&g->acc[S_ROUTER], o->routers, &o->n_routers, &o->routers_total)) !=
            WIRE_OK ||
        (e = addr_list(&g->acc[S_DNS], o->dns, &o->n_dns, &o->dns_total)) != WIRE_OK) {
        return e;
    }
    /* RFC 2132 3.17, 9.8, 9.9: at least one byte; 9.14: at least two. */
    const struct acc *dom = &g->acc[S_DOMAIN], *msg = &g->acc[S_MESSAGE];
    const struct acc *par = &g->acc[S_PARAMS], *cid = &g->acc[S_CLIENT_ID];
    if ((dom->seen && dom->len == 0) || (msg->seen && msg->len == 0) ||
        (par->seen && par->len == 0) || (cid->seen && cid->len < 2)) {
        return WIRE_ERR_DHCP_OPT_BADLEN;
    }
    if (dom->seen && dom->len <= WIRE_DHCP_MAX_TEXT) {
        o->domain_len = text_len(dom);
    } else {
        o->domain[0] = 0; /* absent, or too long to keep whole: ignored */
    }
    o->message_len = msg->seen ? text_len(msg) : 0;
    o->param_list_len = par->len < par->cap ? par->len : par->cap;
    o->client_id_len = cid->len < cid->cap ? cid->len : cid->cap;
    return WIRE_OK;
}

enum wire_err
wire_dhcp_parse(const uint8_t *buf, size_t len, struct wire_dhcp *out)
{
    if (len < WIRE_DHCP_MIN_LEN) {
        return WIRE_ERR_DHCP_TRUNCATED;
    }
    /* RFC 2131 3: requests carry BOOTREQUEST, replies BOOTREPLY. */
    if (buf[OFF_OP] != WIRE_DHCP_BOOTREQUEST && buf[OFF_OP] != WIRE_DHCP_BOOTREPLY) {
        return WIRE_ERR_DHCP_OP;
    }
    /* RFC 2131 2: chaddr has 16 bytes; a longer address cannot be in it. */
    if (buf[OFF_HLEN] > WIRE_DHCP_CHADDR_LEN) {
        return WIRE_ERR_DHCP_HLEN;
    }
    /* RFC 2131 3: the options field opens with 99.130.83.99. */
    if (wire_get32(buf + OFF_COOKIE) != WIRE_DHCP_COOKIE) {
        return WIRE_ERR_DHCP_COOKIE;
    }
    memset(out, 0, sizeof *out);
    struct wire_dhcp_opts *o = &out->opts;
    struct gather g;
    memset(&g, 0, sizeof g);
    for (int s = 0; s < S_SMALL; s++) {
        g.acc[s] = (struct acc){.dst = g.small[s], .cap = SMALL_CAP};
    }
    /* The text arrays keep one byte for the NUL text_len writes. */
    g.acc[S_DOMAIN] = (struct acc){.dst = (uint8_t *)o->domain, .cap = WIRE_DHCP_MAX_TEXT};
    g.acc[S_MESSAGE] = (struct acc){.dst = (uint8_t *)o->message, .cap = WIRE_DHCP_MAX_TEXT};
    g.acc[S_PARAMS] = (struct acc){.dst = o->param_list, .cap = sizeof o->param_list};
    g.acc[S_CLIENT_ID] = (struct acc){.dst = o->client_id, .cap = sizeof o->client_id};

    /* RFC 2131 4.1: the options field first, since it says (option 52)
     * whether 'file' and then 'sname' hold options too. */
    enum wire_err e = walk(buf + WIRE_DHCP_MIN_LEN, len - WIRE_DHCP_MIN_LEN, &g);
    if (e != WIRE_OK) {
        return e;
    }
    const struct acc *ov = &g.acc[S_OVERLOAD];
    if (ov->seen) {
        if (ov->len != 1) {
            return WIRE_ERR_DHCP_OPT_BADLEN; /* RFC 2132 9.3: one byte */
        }
        o->overload = ov->dst[0];
        if (o->overload < 1 || o->overload > 3) {
            return WIRE_ERR_DHCP_OVERLOAD;
        }
    }
    if (o->overload & WIRE_DHCP_OVERLOAD_FILE) {
        if ((e = walk(buf + OFF_FILE, WIRE_DHCP_FILE_LEN, &g)) != WIRE_OK) {
            return e;
        }
    }
    if (o->overload & WIRE_DHCP_OVERLOAD_SNAME) {
        if ((e = walk(buf + OFF_SNAME, WIRE_DHCP_SNAME_LEN, &g)) != WIRE_OK) {
            return e;
        }
    }
    if ((e = decode(&g, o)) != WIRE_OK) {
        return e;
    }
    out->op = buf[OFF_OP];
    out->htype = buf[OFF_HTYPE];
    out->hlen = buf[OFF_HLEN];
    out->hops = buf[OFF_HOPS];
    out->xid = wire_get32(buf + OFF_XID);
    out->secs = wire_get16(buf + OFF_SECS);
    out->flags = wire_get16(buf + OFF_FLAGS);
    out->ciaddr = wire_get32(buf + OFF_CIADDR);
    out->yiaddr = wire_get32(buf + OFF_YIADDR);
    out->siaddr = wire_get32(buf + OFF_SIADDR);
    out->giaddr = wire_get32(buf + OFF_GIADDR);
    memcpy(out->chaddr, buf + OFF_CHADDR, WIRE_DHCP_CHADDR_LEN);
    out->sname = buf + OFF_SNAME;
    out->file = buf + OFF_FILE;
    return WIRE_OK;
}

/* --- Client messages ------------------------------------------------------ */

/* RFC 2131 4.4.1 table 5 and 4.3.2: what each message must and must not
 * carry. */
static bool
client_msg_ok(const struct wire_dhcp_client_msg *m)
{
    if (m->hlen > WIRE_DHCP_CHADDR_LEN || (m->hlen > 0 && m->chaddr == NULL)) {
        return false;
    }
    /* RFC 2132 9.8, 9.9, 9.14: minimum lengths; one option holds 255. */
    if (m->param_list_len > 255 || (m->param_list_len > 0 && m->param_list == NULL) ||
        m->client_id_len == 1 || m->client_id_len > 255 ||
        (m->client_id_len > 0 && m->client_id == NULL) || m->message_len > 255 ||
        (m->message_len > 0 && m->message == NULL)) {
        return false;
    }
    /* RFC 2132 9.10: the smallest legal maximum message size is 576. */
    if (m->max_size != 0 && m->max_size < WIRE_DHCP_MIN_MAX_SIZE) {
        return false;
    }
    bool extras = m->param_list_len > 0 || m->max_size != 0; /* 55, 57 */
    bool msg = m->message_len > 0;
    switch (m->type) {
    case WIRE_DHCP_DISCOVER:
        /* Table 5: no server id; ciaddr 0; message SHOULD NOT. */
        return m->ciaddr == 0 && m->server_id == 0 && !msg;
    case WIRE_DHCP_REQUEST:
        if (msg) {
            return false; /* table 5: SHOULD NOT */
        }
        if (m->server_id != 0) {
            /* 4.3.2 SELECTING: requested = the offer's yiaddr, ciaddr 0. */
            return m->requested != 0 && m->ciaddr == 0;
        }
        /* 4.3.2 INIT-REBOOT (requested, ciaddr 0) or RENEWING/REBINDING
         * (ciaddr, no requested). */
        return (m->requested != 0) != (m->ciaddr != 0);
    case WIRE_DHCP_DECLINE:
        /* Table 5: requested and server id MUST, ciaddr 0, no 55/57. */
        return m->requested != 0 && m->server_id != 0 && m->ciaddr == 0 && !extras;
    case WIRE_DHCP_RELEASE:
        /* Table 5: ciaddr and server id MUST, requested MUST NOT. */
        return m->ciaddr != 0 && m->server_id != 0 && m->requested == 0 && !extras;
    case WIRE_DHCP_INFORM:
        /* Table 5: ciaddr = our address; requested, server id MUST NOT. */
        return m->ciaddr != 0 && m->requested == 0 && m->server_id == 0 && !msg;
    case WIRE_DHCP_OFFER:
    case WIRE_DHCP_ACK:
    case WIRE_DHCP_NAK:
        break;
    }
    return false;
}

size_t
wire_dhcp_client_len(const struct wire_dhcp_client_msg *m)
{
    size_t n = WIRE_DHCP_MIN_LEN + 3 + 1; /* message type and End */
    n += m->requested ? 6 : 0;
    n += m->server_id ? 6 : 0;
    n += m->param_list_len ? 2 + m->param_list_len : 0;
    n += m->max_size ? 4 : 0;
    n += m->client_id_len ? 2 + m->client_id_len : 0;
    n += m->message_len ? 2 + m->message_len : 0;
    return n < WIRE_DHCP_CLIENT_MIN_LEN ? WIRE_DHCP_CLIENT_MIN_LEN : n;
}

static uint8_t *
put_opt(uint8_t *p, uint8_t code, const void *data, size_t n)
{
    p[0] = code;
    p[1] = (uint8_t)n;
    memcpy(p + 2, data, n);
    return p + 2 + n;
}

static uint8_t *
put_opt32(uint8_t *p, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    wire_put32(b, v);
    return put_opt(p, code, b, 4);
}

size_t
wire_dhcp_emit_client(const struct wire_dhcp_client_msg *m, uint8_t *buf, size_t cap)
{
    if (!client_msg_ok(m)) {
        return 0;
    }
    size_t len = wire_dhcp_client_len(m);
    if (cap < len) {
        return 0;
    }
    /* Zero: hops, yiaddr, siaddr, giaddr, sname, file (table 5), and the
     * padding after End (Pad options, RFC 2132 3.1). */
    memset(buf, 0, len);
    /* Table 5: DECLINE and RELEASE carry secs 0 and flags 0. */
    bool quiet = m->type == WIRE_DHCP_DECLINE || m->type == WIRE_DHCP_RELEASE;
    buf[OFF_OP] = WIRE_DHCP_BOOTREQUEST;
    buf[OFF_HTYPE] = m->htype;
    buf[OFF_HLEN] = m->hlen;
    wire_put32(buf + OFF_XID, m->xid);
    wire_put16(buf + OFF_SECS, quiet ? 0 : m->secs);
    /* RFC 2131 2: only the B bit; the others must be zero. */
    wire_put16(buf + OFF_FLAGS, (!quiet && m->broadcast) ? WIRE_DHCP_FLAG_BROADCAST : 0);
    wire_put32(buf + OFF_CIADDR, m->ciaddr);
    if (m->hlen) {
        memcpy(buf + OFF_CHADDR, m->chaddr, m->hlen);
    }
    wire_put32(buf + OFF_COOKIE, WIRE_DHCP_COOKIE);
    uint8_t *p = buf + WIRE_DHCP_MIN_LEN;
    uint8_t t = (uint8_t)m->type;
    p = put_opt(p, WIRE_DHCP_OPT_MSG_TYPE, &t, 1);
    if (m->requested) {
        p = put_opt32(p, WIRE_DHCP_OPT_REQUESTED, m->requested);
    }
    if (m->server_id) {
        p = put_opt32(p, WIRE_DHCP_OPT_SERVER_ID, m->server_id);
    }
    if (m->client_id_len) {
        p = put_opt(p, WIRE_DHCP_OPT_CLIENT_ID, m->client_id, m->client_id_len);
    }
    if (m->max_size) {
        uint8_t b[2];
        wire_put16(b, m->max_size);
        p = put_opt(p, WIRE_DHCP_OPT_MAX_SIZE, b, 2);
    }
    if (m->param_list_len) {
        p = put_opt(p, WIRE_DHCP_OPT_PARAM_LIST, m->param_list, m->param_list_len);
    }
    if (m->message_len) {
        p = put_opt(p, WIRE_DHCP_OPT_MESSAGE, m->message, m->message_len);
    }
    *p = WIRE_DHCP_OPT_END; /* RFC 2131 4.1: the last option */
    return len;
}

/* --- Replies -------------------------------------------------------------- */

enum wire_err
wire_dhcp_check_reply(const struct wire_dhcp *reply, enum wire_dhcp_msg sent, uint32_t xid,
                      uint8_t htype, uint8_t hlen, const uint8_t *chaddr)
{
    /* RFC 2131 3: servers answer with BOOTREPLY. */
    if (reply->op != WIRE_DHCP_BOOTREPLY) {
        return WIRE_ERR_DHCP_NOT_REPLY;
    }
    /* Table 3: xid, htype, hlen and chaddr are copied from the request. */
    if (reply->xid != xid) {
        return WIRE_ERR_DHCP_XID;
    }
    if (reply->htype != htype || reply->hlen != hlen || hlen > WIRE_DHCP_CHADDR_LEN ||
        (hlen > 0 && memcmp(reply->chaddr, chaddr, hlen) != 0)) {
        return WIRE_ERR_DHCP_CHADDR;
    }
    /* RFC 2131 3.1, 3.2, 3.4: OFFER answers DISCOVER, ACK or NAK answer
     * REQUEST, ACK answers INFORM; DECLINE and RELEASE get no answer. */
    uint8_t t = reply->opts.msg_type;
    bool ok = (sent == WIRE_DHCP_DISCOVER && t == WIRE_DHCP_OFFER) ||
              (sent == WIRE_DHCP_REQUEST && (t == WIRE_DHCP_ACK || t == WIRE_DHCP_NAK)) ||
              (sent == WIRE_DHCP_INFORM && t == WIRE_DHCP_ACK);
    if (!ok) {
        return WIRE_ERR_DHCP_MSG_TYPE;
    }
    /* Table 3: server identifier MUST in OFFER, ACK and NAK. */
    if (!reply->opts.has_server_id) {
        return WIRE_ERR_DHCP_NO_SERVER_ID;
    }
    /* Table 3: lease time MUST in OFFER and in an ACK to a REQUEST. */
    if ((t == WIRE_DHCP_OFFER || (t == WIRE_DHCP_ACK && sent == WIRE_DHCP_REQUEST)) &&
        !reply->opts.has_lease_time) {
        return WIRE_ERR_DHCP_NO_LEASE;
    }
    return WIRE_OK;
}
