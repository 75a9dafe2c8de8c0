/*
 * tests/fuzz/fuzz_parse.c: libFuzzer target for the wire parsers.
 *
 * Each input is parsed as an IPv4 packet (then as ICMP, TCP or UDP by
 * protocol), as a bare TCP segment, as a bare UDP datagram, as a bare ICMP message, as a TCP option
 * list, as a bare ARP packet, as an Ethernet II frame (then as ARP, IPv4 or IPv6 by EtherType), as
 * an IPv6 packet (fixed header, extension-header walk, then ICMPv6 and neighbor discovery), as a
 * bare ICMPv6 message, as a bare ND message, as the text form of an IPv6 address, as a DNS
 * message and as a DHCP message (sent again as a client message when table 5 allows). Every
 * parse that succeeds is emitted again and the result parsed again; the fields must match, or the
 * target aborts. Because random bytes rarely carry a right checksum, each input is also tried once
 * more with its checksums repaired, so the fuzzer reaches the code behind them.
 *
 * Built with -DTERN_FUZZ_STACK and linked with the library (target
 * fuzz_stack), an input whose first byte is 0xff is instead a sequence of
 * frames fed to a stack on a TERN_LINK_ETHERNET interface (Ethernet, ARP,
 * IPv4, ICMP, IPv6 with its extension headers, fragments, ICMPv6 and
 * neighbour discovery, TCP and UDP input with state: ARP and neighbour
 * caches, a listener, a connection waiting for resolution, two UDP
 * sockets). Every frame the stack transmits must parse again (Ethernet,
 * then ARP, IPv4 with a right checksum or IPv6, then TCP, UDP, ICMP or
 * ICMPv6 with a right checksum, ND messages valid). The stack's tables are tiny (2
 * TIME-WAIT records, a 2-entry SYN cache) so that a few inputs fill them
 * (cookies, recycling), and an input may ask the harness to play the peer's
 * answer to the last segment the stack sent (an ACK of everything, with a
 * FIN when ours had one), which completes handshakes, SYN cookies included,
 * and closes connections into TIME-WAIT without knowing the stack's ISNs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/dhcp.h"
#include "wire/dns.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/ipv6_addr.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/wire.h"

#ifdef TERN_FUZZ_STACK
#include "tern/stack.h"
#include "tern/tcp.h"
#include "tern/udp.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Addresses for the pseudo-header of a bare segment. */
#define SRC 0x0a630101u
#define DST 0x0a630202u

static void
require(bool ok)
{
    if (!ok) {
        abort();
    }
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    require(q != NULL);
    if (n) {
        memcpy(q, p, n);
    }
    return q;
}

static void
put_csum(uint8_t *field, uint16_t c)
{
    field[0] = (uint8_t)(c >> 8);
    field[1] = (uint8_t)c;
}

static void
repair_ipv4(uint8_t *p, size_t n)
{
    size_t hl = n ? (size_t)(p[0] & 0x0f) * 4 : 0;
    if (n >= WIRE_IPV4_HDR_LEN && hl >= WIRE_IPV4_HDR_LEN && hl <= n) {
        put_csum(p + 10, 0);
        put_csum(p + 10, wire_csum(p, hl));
    }
}

static void
repair_icmp(uint8_t *p, size_t n)
{
    if (n >= 4) {
        put_csum(p + 2, 0);
        put_csum(p + 2, wire_csum(p, n));
    }
}

static void
repair_tcp(uint8_t *p, size_t n, uint32_t src, uint32_t dst)
{
    if (n >= WIRE_TCP_HDR_LEN && n <= 0xffff) {
        put_csum(p + 16, 0);
        uint32_t s = wire_csum_pseudo_v4(src, dst, WIRE_IPPROTO_TCP, (uint16_t)n);
        put_csum(p + 16, wire_csum_fold(wire_csum_add(s, p, n)));
    }
}

static void
repair_udp(uint8_t *p, size_t n, uint32_t src, uint32_t dst)
{
    if (n >= WIRE_UDP_HDR_LEN && n <= 0xffff) {
        /* The whole payload as the datagram, and a checksum that verifies. */
        put_csum(p + 4, (uint16_t)n);
        put_csum(p + 6, 0);
        uint32_t s = wire_csum_pseudo_v4(src, dst, WIRE_IPPROTO_UDP, (uint16_t)n);
        put_csum(p + 6, wire_csum_fold(wire_csum_add(s, p, n)));
    }
}

static bool
same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* --- UDP ---------------------------------------------------------------- */

/* A datagram that parses is emitted again (a fresh header over the same
 * payload) and must parse to the same ports and payload, with a nonzero
 * checksum that verifies. */
static void
fuzz_udp(const uint8_t *p, size_t n, uint32_t src, uint32_t dst)
{
    struct wire_udp u;
    if (wire_udp_parse(p, n, src, dst, &u) != WIRE_OK) {
        return;
    }
    require(u.length >= WIRE_UDP_HDR_LEN && u.length <= n);
    require(u.payload_len == (size_t)u.length - WIRE_UDP_HDR_LEN);
    size_t len = u.length;
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    memcpy(buf + WIRE_UDP_HDR_LEN, u.payload, u.payload_len);
    uint32_t psum = wire_csum_add(0, u.payload, u.payload_len);
    require(wire_udp_emit_hdr(buf, src, u.src_port, dst, u.dst_port, u.payload_len, psum) ==
            WIRE_UDP_HDR_LEN);
    struct wire_udp b;
    require(wire_udp_parse(buf, len, src, dst, &b) == WIRE_OK);
    require(b.checksum != 0 && b.src_port == u.src_port && b.dst_port == u.dst_port);
    require(b.payload_len == u.payload_len && same_bytes(b.payload, u.payload, u.payload_len));
    free(buf);
}

/* --- DNS ---------------------------------------------------------------- */

/* A decoded name must print as text that reads back to the same octets. */
static void
dns_name_roundtrip(const uint8_t *name, size_t len, char text[WIRE_DNS_TEXT_MAX], size_t *tl)
{
    uint8_t back[WIRE_DNS_NAME_MAX];
    size_t bl = 0;
    *tl = wire_dns_name_to_text(name, len, text, WIRE_DNS_TEXT_MAX);
    require(*tl > 0 && *tl < WIRE_DNS_TEXT_MAX);
    require(wire_dns_name_from_text(text, *tl, back, &bl) == WIRE_OK);
    require(bl == len && same_bytes(back, name, len));
}

/* Each input is also a DNS message (RFC 1035 4.1) and a TCP-framed one:
 * every record is walked and A/AAAA/CNAME decoded, every name round-trips
 * through text, and a query rebuilt from the question, turned into a
 * response, must be accepted as the answer to itself. */
static void
fuzz_dns(const uint8_t *p, size_t n)
{
    const uint8_t *fm = NULL;
    size_t fl = 0, took = wire_dns_tcp_unframe(p, n, &fm, &fl);
    require(took == 0 || (took == fl + 2 && took <= n && fm == p + 2));
    struct wire_dns_msg m;
    if (wire_dns_parse(p, n, &m) != WIRE_OK) {
        return;
    }
    require(m.rr_off <= n && m.has_question == (m.hdr.qdcount > 0));
    char t[WIRE_DNS_TEXT_MAX];
    size_t tl;
    if (m.has_question) {
        dns_name_roundtrip(m.question.name, m.question.name_len, t, &tl);
        uint8_t q[WIRE_DNS_HDR_LEN + WIRE_DNS_NAME_MAX + 4];
        size_t ql = 0;
        struct wire_dns_question qq;
        require(wire_dns_query_emit(m.hdr.id, t, tl, m.question.qtype, q, sizeof q, &ql, &qq) ==
                WIRE_OK);
        q[2] |= 0x80; /* QR */
        struct wire_dns_msg qm;
        require(wire_dns_parse(q, ql, &qm) == WIRE_OK && qm.rr_off == ql);
        require(wire_dns_check_answer(&qm, m.hdr.id, &qq, NULL, NULL) == WIRE_OK);
        bool ok = m.hdr.qr && m.hdr.opcode == 0 && m.hdr.qdcount == 1 &&
                  m.question.qclass == WIRE_DNS_CLASS_IN;
        require((wire_dns_check_answer(&m, m.hdr.id, &qq, NULL, NULL) == WIRE_OK) == ok);
    }
    struct wire_dns_iter it;
    wire_dns_iter_init(&it, &m);
    while (!wire_dns_iter_done(&it)) {
        struct wire_dns_rr rr;
        if (wire_dns_next(&it, &rr) != WIRE_OK) {
            require(wire_dns_iter_done(&it));
            break;
        }
        require(rr.rdata_off + rr.rdlength <= n && rr.ttl < 0x80000000u);
        dns_name_roundtrip(rr.name, rr.name_len, t, &tl);
        uint32_t a;
        uint8_t a6[16], cn[WIRE_DNS_NAME_MAX];
        size_t cnl;
        (void)wire_dns_rr_a(&rr, &a);
        (void)wire_dns_rr_aaaa(&rr, a6);
        if (wire_dns_rr_cname(&m, &rr, cn, &cnl) == WIRE_OK) {
            dns_name_roundtrip(cn, cnl, t, &tl);
        }
    }
}

/* --- DHCP --------------------------------------------------------------- */

/* A DHCP message that parses keeps the parser's promises (bounded lists,
 * terminated text, legal values); the reply check agrees with its fields;
 * and sent again as a client message of its own type (when table 5 allows
 * its fields) it parses to the same fields. */
static void
fuzz_dhcp(const uint8_t *p, size_t n)
{
    struct wire_dhcp d;
    if (wire_dhcp_parse(p, n, &d) != WIRE_OK) {
        return;
    }
    const struct wire_dhcp_opts *o = &d.opts;
    require(d.hlen <= WIRE_DHCP_CHADDR_LEN && o->overload <= 3);
    require(o->n_routers <= WIRE_DHCP_MAX_ADDRS && o->n_routers <= o->routers_total);
    require(o->n_dns <= WIRE_DHCP_MAX_ADDRS && o->n_dns <= o->dns_total);
    require(o->domain_len <= WIRE_DHCP_MAX_TEXT && o->domain[o->domain_len] == 0);
    require(o->message_len <= WIRE_DHCP_MAX_TEXT && o->message[o->message_len] == 0);
    require(!o->has_mtu || o->mtu >= WIRE_DHCP_MIN_MTU);
    require(!o->has_max_size || o->max_size >= WIRE_DHCP_MIN_MAX_SIZE);
    require(o->client_id_len == 0 || o->client_id_len >= 2);
    enum wire_err e =
        wire_dhcp_check_reply(&d, WIRE_DHCP_REQUEST, d.xid, d.htype, d.hlen, d.chaddr);
    require((e == WIRE_ERR_DHCP_NOT_REPLY) == (d.op != WIRE_DHCP_BOOTREPLY));
    require(e != WIRE_ERR_DHCP_XID && e != WIRE_ERR_DHCP_CHADDR);
    require(e != WIRE_OK ||
            (o->has_server_id && (o->msg_type == WIRE_DHCP_ACK || o->msg_type == WIRE_DHCP_NAK)));

    struct wire_dhcp_client_msg m = {
        .type = (enum wire_dhcp_msg)o->msg_type,
        .xid = d.xid,
        .secs = d.secs,
        .broadcast = (d.flags & WIRE_DHCP_FLAG_BROADCAST) != 0,
        .htype = d.htype,
        .hlen = d.hlen,
        .chaddr = d.chaddr,
        .ciaddr = d.ciaddr,
        .requested = o->has_requested ? o->requested : 0,
        .server_id = o->has_server_id ? o->server_id : 0,
        .param_list = o->param_list,
        .param_list_len = o->param_list_len,
        .client_id = o->client_id,
        .client_id_len = o->client_id_len,
        .max_size = o->has_max_size ? o->max_size : 0,
        .message = o->message,
        .message_len = o->message_len,
    };
    size_t len = wire_dhcp_client_len(&m);
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    size_t w = wire_dhcp_emit_client(&m, buf, len);
    if (w != 0) {
        require(w == len && len >= WIRE_DHCP_CLIENT_MIN_LEN);
        require(wire_dhcp_emit_client(&m, buf, len - 1) == 0);
        struct wire_dhcp b;
        require(wire_dhcp_parse(buf, len, &b) == WIRE_OK);
        const struct wire_dhcp_opts *q = &b.opts;
        require(b.op == WIRE_DHCP_BOOTREQUEST && b.xid == d.xid && b.hops == 0);
        require(b.htype == d.htype && b.hlen == d.hlen && same_bytes(b.chaddr, d.chaddr, d.hlen));
        require(b.ciaddr == d.ciaddr && b.yiaddr == 0 && b.giaddr == 0);
        require(q->msg_type == o->msg_type && q->overload == 0);
        require(q->has_requested == (m.requested != 0) && q->requested == m.requested);
        require(q->has_server_id == (m.server_id != 0) && q->server_id == m.server_id);
        require(q->has_max_size == o->has_max_size && q->max_size == m.max_size);
        require(q->param_list_len == o->param_list_len &&
                same_bytes(q->param_list, o->param_list, o->param_list_len));
        require(q->client_id_len == o->client_id_len &&
                same_bytes(q->client_id, o->client_id, o->client_id_len));
        require(
            q->message_len == o->message_len &&
            same_bytes((const uint8_t *)q->message, (const uint8_t *)o->message, o->message_len));
    }
    free(buf);
}

/* --- TCP ---------------------------------------------------------------- */

/* SACK blocks the emitter keeps: what fits in 40 bytes after the rest. */
static size_t
sack_fit(const struct wire_tcp_opts *o)
{
    size_t used = (o->has_mss ? 4u : 0u) + (o->has_wscale ? 4u : 0u) +
                  (o->has_ts           ? 12u
                   : o->sack_permitted ? 4u
                                       : 0u);
    size_t room = used + 12 <= 40 ? (40 - used - 4) / 8 : 0;
    return o->sack_count < room ? o->sack_count : room;
}

static void
check_opts_match(const struct wire_tcp_opts *a, const struct wire_tcp_opts *b)
{
    require(a->has_mss == b->has_mss && (!a->has_mss || a->mss == b->mss));
    require(a->has_wscale == b->has_wscale && (!a->has_wscale || a->wscale == b->wscale));
    require(a->sack_permitted == b->sack_permitted);
    require(a->has_ts == b->has_ts);
    require(!a->has_ts || (a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr));
    size_t fit = sack_fit(a);
    require(b->sack_count == fit);
    for (size_t i = 0; i < fit; i++) {
        require(a->sack[i].left == b->sack[i].left && a->sack[i].right == b->sack[i].right);
    }
}

static void
fuzz_tcp(const uint8_t *p, size_t n, uint32_t src, uint32_t dst)
{
    struct wire_tcp h;
    if (wire_tcp_parse(p, n, src, dst, &h) != WIRE_OK) {
        return;
    }
    require(h.hdr_len >= WIRE_TCP_HDR_LEN && h.hdr_len <= n);
    require(h.payload == p + h.hdr_len && h.payload_len == n - h.hdr_len);
    size_t olen = wire_tcp_options_len(&h.opts);
    require(olen <= WIRE_TCP_MAX_OPT_LEN && olen % 4 == 0);

    size_t len = wire_tcp_emit_len(&h);
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    size_t wrote = wire_tcp_emit(&h, src, dst, buf, len);
    if (len > 0xffff) {
        require(wrote == 0); /* options grew past what IPv4 can carry */
        free(buf);
        return;
    }
    require(wrote == len);
    require(wire_tcp_emit(&h, src, dst, buf, len - 1) == 0);
    struct wire_tcp b;
    require(wire_tcp_parse(buf, len, src, dst, &b) == WIRE_OK);
    require(b.src_port == h.src_port && b.dst_port == h.dst_port);
    require(b.seq == h.seq && b.ack == h.ack && b.flags == h.flags);
    require(b.window == h.window && b.urgent == h.urgent);
    require(b.hdr_len == WIRE_TCP_HDR_LEN + olen);
    require(b.payload_len == h.payload_len && same_bytes(b.payload, h.payload, h.payload_len));
    check_opts_match(&h.opts, &b.opts);
    free(buf);
}

static void
fuzz_tcp_options(const uint8_t *p, size_t n)
{
    struct wire_tcp_opts o;
    if (wire_tcp_parse_options(p, n, &o) != WIRE_OK) {
        return;
    }
    require(o.sack_count <= WIRE_TCP_MAX_SACK);
    struct wire_tcp h = {.opts = o};
    uint8_t buf[WIRE_TCP_HDR_LEN + WIRE_TCP_MAX_OPT_LEN];
    size_t len = wire_tcp_emit(&h, SRC, DST, buf, sizeof buf);
    require(len == wire_tcp_emit_len(&h));
    struct wire_tcp_opts b;
    require(wire_tcp_parse_options(buf + WIRE_TCP_HDR_LEN, len - WIRE_TCP_HDR_LEN, &b) == WIRE_OK);
    check_opts_match(&o, &b);
}

/* --- ICMP --------------------------------------------------------------- */

static void
fuzz_icmp(const uint8_t *p, size_t n)
{
    struct wire_icmp h;
    if (wire_icmp_parse(p, n, &h) != WIRE_OK) {
        return;
    }
    require(h.payload == p + WIRE_ICMP_HDR_LEN && h.payload_len == n - WIRE_ICMP_HDR_LEN);
    require(!wire_icmp_is_error(h.type) || h.payload_len >= WIRE_IPV4_HDR_LEN);
    if (wire_icmp_is_error(h.type)) {
        struct wire_ipv4 q;
        (void)wire_ipv4_parse_quoted(h.payload, h.payload_len, &q);
    }

    size_t len = wire_icmp_emit_len(&h);
    require(len == n);
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    wire_icmp_emit(&h, buf);
    struct wire_icmp b;
    require(wire_icmp_parse(buf, len, &b) == WIRE_OK);
    require(b.type == h.type && b.code == h.code);
    require(b.id == h.id && b.seq == h.seq);
    require(b.next_hop_mtu == h.next_hop_mtu && b.pointer == h.pointer);
    require(b.gateway == h.gateway);
    require(b.payload_len == h.payload_len && same_bytes(b.payload, h.payload, h.payload_len));
    /* Types with named fields rebuild bytes 4..7 from them; the rest copy it. */
    bool rebuilt = h.type == WIRE_ICMP_PARAM_PROBLEM ||
                   (h.type == WIRE_ICMP_DEST_UNREACH && h.code == WIRE_ICMP_UNREACH_FRAG_NEEDED);
    require(rebuilt || b.rest == h.rest);
    if (!rebuilt) {
        /* Everything but the checksum field is the input again (the field may
         * differ only between the two ones'-complement zeros). */
        require(buf[0] == p[0] && buf[1] == p[1] && same_bytes(buf + 4, p + 4, n - 4));
    }
    free(buf);
}

/* --- IPv4 --------------------------------------------------------------- */

static void
fuzz_ipv4(const uint8_t *p, size_t n, bool repair)
{
    struct wire_ipv4 h;
    if (wire_ipv4_parse(p, n, &h) != WIRE_OK) {
        return;
    }
    require(h.hdr_len >= WIRE_IPV4_HDR_LEN && h.hdr_len <= h.total_len && h.total_len <= n);
    require(h.payload == p + h.hdr_len && h.payload_len == (size_t)h.total_len - h.hdr_len);
    require(h.options_len == (size_t)h.hdr_len - WIRE_IPV4_HDR_LEN);
    require(h.frag_off % 8 == 0);

    /* Whatever parses strictly parses as a quote, with the same fields. */
    struct wire_ipv4 q;
    require(wire_ipv4_parse_quoted(p, n, &q) == WIRE_OK);
    require(q.total_len == h.total_len && q.payload_len == h.payload_len && q.src == h.src);

    /* Re-emit with a 20-byte header (options are not emitted) and the same data. */
    size_t len = WIRE_IPV4_HDR_LEN + h.payload_len;
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    struct wire_ipv4 e = h;
    e.total_len = (uint16_t)len;
    wire_ipv4_emit(&e, buf);
    if (h.payload_len) {
        memcpy(buf + WIRE_IPV4_HDR_LEN, h.payload, h.payload_len);
    }
    struct wire_ipv4 b;
    require(wire_ipv4_parse(buf, len, &b) == WIRE_OK);
    require(b.hdr_len == WIRE_IPV4_HDR_LEN && b.options_len == 0);
    require(b.tos == h.tos && b.id == h.id && b.df == h.df && b.mf == h.mf);
    require(b.frag_off == h.frag_off && b.ttl == h.ttl && b.proto == h.proto);
    require(b.src == h.src && b.dst == h.dst);
    require(b.payload_len == h.payload_len && same_bytes(b.payload, h.payload, h.payload_len));
    if (h.hdr_len == WIRE_IPV4_HDR_LEN) {
        /* Same bytes but the reserved flag bit and the checksum field. */
        require(same_bytes(buf, p, 6) && (buf[6] | 0x80) == (p[6] | 0x80));
        require(same_bytes(buf + 7, p + 7, 3) && same_bytes(buf + 12, p + 12, 8));
    }
    free(buf);

    uint8_t *payload = dup_bytes(h.payload, h.payload_len);
    if (h.proto == WIRE_IPPROTO_ICMP) {
        if (repair) {
            repair_icmp(payload, h.payload_len);
        }
        fuzz_icmp(payload, h.payload_len);
    } else if (h.proto == WIRE_IPPROTO_TCP) {
        if (repair) {
            repair_tcp(payload, h.payload_len, h.src, h.dst);
        }
        fuzz_tcp(payload, h.payload_len, h.src, h.dst);
    } else if (h.proto == WIRE_IPPROTO_UDP) {
        if (repair) {
            repair_udp(payload, h.payload_len, h.src, h.dst);
        }
        fuzz_udp(payload, h.payload_len, h.src, h.dst);
    }
    free(payload);
}

/* --- IPv6, ICMPv6, neighbor discovery, addresses ---------------------------- */

/* Addresses for the pseudo-header of a bare ICMPv6 message. */
static const struct wire_ipv6_addr SRC6 = {{0xfe, 0x80, [15] = 1}};
static const struct wire_ipv6_addr DST6 = {{0xfe, 0x80, [15] = 2}};

static void
repair_icmp6(uint8_t *p, size_t n, const struct wire_ipv6_addr *src,
             const struct wire_ipv6_addr *dst)
{
    if (n >= 4) {
        put_csum(p + 2, 0);
        uint32_t s = wire_csum_pseudo_v6(src->b, dst->b, WIRE_IPV6_NH_ICMPV6, (uint32_t)n);
        put_csum(p + 2, wire_csum_fold(wire_csum_add(s, p, n)));
    }
}

#define FUZZ_ND_PREFIXES 4

/* An ND message that passes is emitted again from its fields (the options
 * the emitter knows) and must pass again with the same fields. */
static void
fuzz_nd(const uint8_t *p, size_t n, const struct wire_ipv6_addr *src,
        const struct wire_ipv6_addr *dst, uint8_t hop_limit)
{
    struct wire_nd nd;
    if (wire_nd_parse(p, n, src, dst, hop_limit, &nd) != WIRE_OK) {
        return;
    }
    require(hop_limit == WIRE_ND_HOP_LIMIT && p[1] == 0 && nd.type == p[0]);
    require(nd.options >= p && nd.options + nd.options_len == p + n);
    require(nd.src_lladdr_len <= WIRE_ND_LLADDR_MAX && nd.tgt_lladdr_len <= WIRE_ND_LLADDR_MAX);
    require(!nd.redirected ||
            (nd.redirected >= nd.options && nd.redirected + nd.redirected_len <= p + n));
    /* The options of an accepted message tile its option area exactly. */
    size_t off = 0, total = 0, prefixes = 0;
    struct wire_nd_prefix pr[FUZZ_ND_PREFIXES];
    struct wire_nd_opt o;
    while (wire_nd_next_option(nd.options, nd.options_len, &off, &o)) {
        require(o.len8 > 0 && o.data_len == (size_t)o.len8 * 8 - 2);
        total += (size_t)o.len8 * 8;
        if (o.type == WIRE_ND_OPT_PREFIX && o.valid) {
            if (prefixes < FUZZ_ND_PREFIXES) {
                pr[prefixes] = o.prefix;
            }
            prefixes++;
        }
    }
    require(off == nd.options_len && total == nd.options_len);
    require(nd.type != WIRE_ND_ROUTER_ADVERT || nd.n_prefix == prefixes);

    bool src_ll = nd.has_src_lladdr, tgt_ll = nd.has_tgt_lladdr;
    require(!(src_ll && tgt_ll)); /* no type carries both */
    struct wire_nd_emit m = {
        .type = nd.type,
        .cur_hop_limit = nd.cur_hop_limit,
        .managed = nd.managed,
        .other = nd.other,
        .router_lifetime = nd.router_lifetime,
        .reachable_time = nd.reachable_time,
        .retrans_timer = nd.retrans_timer,
        .target = nd.target,
        .dest = nd.dest,
        .router = nd.router,
        .solicited = nd.solicited,
        .override = nd.override,
        .src_lladdr = src_ll ? nd.src_lladdr : NULL,
        .tgt_lladdr = tgt_ll ? nd.tgt_lladdr : NULL,
        .lladdr_len = src_ll ? nd.src_lladdr_len : nd.tgt_lladdr_len,
        .has_mtu = nd.has_mtu,
        .mtu = nd.mtu,
        .prefixes = pr,
        .n_prefixes =
            nd.type == WIRE_ND_ROUTER_ADVERT && prefixes <= FUZZ_ND_PREFIXES ? prefixes : 0,
    };
    size_t len = wire_nd_emit_len(&m);
    require(len > 0);
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    require(wire_nd_emit(&m, src, dst, buf, len) == len);
    require(wire_nd_emit(&m, src, dst, buf, len - 1) == 0 || len == 0);
    require(wire_nd_emit(&m, src, dst, buf, len) == len);
    /* The checksum is right: it parses as ICMPv6. */
    struct wire_icmp6 c;
    require(wire_icmp6_parse(buf, len, src, dst, &c) == WIRE_OK);
    struct wire_nd b;
    require(wire_nd_parse(buf, len, src, dst, hop_limit, &b) == WIRE_OK);
    require(b.type == nd.type && b.cur_hop_limit == nd.cur_hop_limit);
    require(b.managed == nd.managed && b.other == nd.other);
    require(b.router_lifetime == nd.router_lifetime && b.reachable_time == nd.reachable_time);
    require(b.retrans_timer == nd.retrans_timer);
    require(wire_ipv6_addr_eq(&b.target, &nd.target) && wire_ipv6_addr_eq(&b.dest, &nd.dest));
    require(b.router == nd.router && b.solicited == nd.solicited && b.override == nd.override);
    require(b.has_src_lladdr == src_ll && b.has_tgt_lladdr == tgt_ll);
    require(!src_ll || (b.src_lladdr_len >= nd.src_lladdr_len &&
                        same_bytes(b.src_lladdr, nd.src_lladdr, nd.src_lladdr_len)));
    require(!tgt_ll || (b.tgt_lladdr_len >= nd.tgt_lladdr_len &&
                        same_bytes(b.tgt_lladdr, nd.tgt_lladdr, nd.tgt_lladdr_len)));
    require(b.has_mtu == nd.has_mtu && b.mtu == nd.mtu);
    require(b.n_prefix == m.n_prefixes);
    free(buf);
}

static void
fuzz_icmp6(const uint8_t *p, size_t n, const struct wire_ipv6_addr *src,
           const struct wire_ipv6_addr *dst, uint8_t hop_limit)
{
    struct wire_icmp6 h;
    if (wire_icmp6_parse(p, n, src, dst, &h) != WIRE_OK) {
        return;
    }
    require(h.payload == p + WIRE_ICMP6_HDR_LEN && h.payload_len == n - WIRE_ICMP6_HDR_LEN);
    require(!wire_icmp6_is_error(h.type) || h.payload_len >= WIRE_IPV6_HDR_LEN);
    if (wire_icmp6_is_error(h.type)) {
        /* The quoted packet: its header, and the walk as far as it goes. */
        struct wire_ipv6 q;
        if (wire_ipv6_parse(h.payload, h.payload_len, &q) == WIRE_OK) {
            struct wire_ipv6_chain c;
            (void)wire_ipv6_walk(h.payload, &q, &c);
        }
    }
    size_t len = wire_icmp6_emit_len(&h);
    require(len == n);
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    wire_icmp6_emit(&h, src, dst, buf);
    struct wire_icmp6 b;
    require(wire_icmp6_parse(buf, len, src, dst, &b) == WIRE_OK);
    require(b.type == h.type && b.code == h.code && b.rest == h.rest);
    require(b.id == h.id && b.seq == h.seq && b.mtu == h.mtu && b.pointer == h.pointer);
    require(b.payload_len == h.payload_len && same_bytes(b.payload, h.payload, h.payload_len));
    /* Everything but the checksum field is the input again. */
    require(buf[0] == p[0] && buf[1] == p[1] && same_bytes(buf + 4, p + 4, n - 4));
    free(buf);
    fuzz_nd(p, n, src, dst, hop_limit);
}

static void
fuzz_ipv6(const uint8_t *p, size_t n, bool repair)
{
    struct wire_ipv6 h;
    if (wire_ipv6_parse(p, n, &h) != WIRE_OK) {
        return;
    }
    size_t end = WIRE_IPV6_HDR_LEN + (size_t)h.payload_len;
    require(end <= n && h.payload == p + WIRE_IPV6_HDR_LEN && h.flow_label <= 0xfffff);
    uint8_t fixed[WIRE_IPV6_HDR_LEN];
    wire_ipv6_emit(&h, fixed);
    require(same_bytes(fixed, p, WIRE_IPV6_HDR_LEN));

    struct wire_ipv6_chain c;
    enum wire_err err = wire_ipv6_walk(p, &h, &c);
    if (err != WIRE_OK) {
        /* The pointer names a byte of the packet; the code is one of four. */
        require(c.err_ptr < end);
        require(c.err_icmp >= -1 && c.err_icmp <= WIRE_IPV6_PP_CHAIN);
        require(err != WIRE_ERR_IP6_OPT_UNKNOWN ||
                (c.opt_type >> 6 == c.opt_action && c.opt_action != WIRE_IPV6_OPT_SKIP));
        return;
    }
    require(c.hdr_len >= WIRE_IPV6_HDR_LEN && c.hdr_len <= end);
    require(c.payload == p + c.hdr_len && c.payload_len == end - c.hdr_len);
    require(c.proto_off < c.hdr_len && p[c.proto_off] == c.proto);
    require(c.n_ext <= WIRE_IPV6_MAX_EXT_HDRS);
    require(!c.has_hbh || h.next_header == WIRE_IPV6_NH_HOP);
    require(!c.has_routing || c.rh_segments_left == 0);
    require(!c.frag_atomic || (c.has_frag && c.frag_off == 0 && !c.frag_more));
    if (c.has_frag && !c.frag_atomic) {
        require(c.frag_hdr_off + WIRE_IPV6_FRAG_HDR_LEN == c.hdr_len);
        require(!c.frag_more || c.payload_len % 8 == 0);
        require(c.frag_hdr_off - WIRE_IPV6_HDR_LEN + c.frag_off + c.payload_len <= 0xffff);
        return; /* fragment data: nothing more to parse */
    }
    if (c.proto == WIRE_IPV6_NH_ICMPV6) {
        uint8_t *payload = dup_bytes(c.payload, c.payload_len);
        if (repair) {
            repair_icmp6(payload, c.payload_len, &h.src, &h.dst);
        }
        fuzz_icmp6(payload, c.payload_len, &h.src, &h.dst, h.hop_limit);
        free(payload);
    }
}

/* The input as the text of an address; and its first 16 bytes as one. */
static void
fuzz_ipv6_text(const uint8_t *p, size_t n)
{
    struct wire_ipv6_addr a, b;
    char text[WIRE_IPV6_ADDR_TEXT_MAX];
    if (wire_ipv6_addr_from_text((const char *)p, n, &a)) {
        size_t len = wire_ipv6_addr_to_text(&a, text);
        require(len < WIRE_IPV6_ADDR_TEXT_MAX && text[len] == '\0');
        require(wire_ipv6_addr_from_text(text, len, &b) && wire_ipv6_addr_eq(&a, &b));
    }
    if (n >= WIRE_IPV6_ADDR_LEN) {
        memcpy(a.b, p, WIRE_IPV6_ADDR_LEN);
        size_t len = wire_ipv6_addr_to_text(&a, text);
        require(len < WIRE_IPV6_ADDR_TEXT_MAX && strlen(text) == len);
        require(wire_ipv6_addr_from_text(text, len, &b) && wire_ipv6_addr_eq(&a, &b));
        /* The formatted text is the canonical one: formatting is idempotent. */
        char again[WIRE_IPV6_ADDR_TEXT_MAX];
        require(wire_ipv6_addr_to_text(&b, again) == len && memcmp(again, text, len) == 0);
        struct wire_ipv6_addr g = wire_ipv6_addr_solicited_node(&a);
        require(wire_ipv6_addr_is_solicited_node(&g) && wire_ipv6_addr_is_multicast(&g));
        require(wire_ipv6_addr_prefix_eq(&a, &a, 128));
        (void)wire_ipv6_addr_scope(&a);
    }
}

/* --- ARP and Ethernet ----------------------------------------------------- */

static void
fuzz_arp(const uint8_t *p, size_t n)
{
    struct wire_arp a;
    if (wire_arp_parse(p, n, &a) != WIRE_OK) {
        return;
    }
    require(n >= WIRE_ARP_LEN);
    require(a.op == WIRE_ARP_OP_REQUEST || a.op == WIRE_ARP_OP_REPLY);
    uint8_t buf[WIRE_ARP_LEN];
    wire_arp_emit(&a, buf);
    /* RFC 826: with the hardware and protocol types and lengths fixed, every
     * byte of the packet is a field, so the emit is the first 28 bytes again. */
    require(same_bytes(buf, p, WIRE_ARP_LEN));
    struct wire_arp b;
    require(wire_arp_parse(buf, sizeof buf, &b) == WIRE_OK);
    require(b.op == a.op && b.spa == a.spa && b.tpa == a.tpa);
    require(same_bytes(b.sha, a.sha, 6) && same_bytes(b.tha, a.tha, 6));
}

static void
fuzz_eth(const uint8_t *p, size_t n)
{
    struct wire_eth h;
    if (wire_eth_parse(p, n, &h) != WIRE_OK) {
        return;
    }
    require(n >= WIRE_ETH_HDR_LEN && h.type >= WIRE_ETHERTYPE_MIN);
    require(h.payload == p + WIRE_ETH_HDR_LEN && h.payload_len == n - WIRE_ETH_HDR_LEN);
    (void)wire_eth_addr_is_broadcast(h.dst);
    (void)wire_eth_addr_is_group(h.dst);
    (void)wire_eth_addr_is_zero(h.src);

    size_t len = wire_eth_emit_len(&h);
    require(len == (n < WIRE_ETH_MIN_FRAME ? (size_t)WIRE_ETH_MIN_FRAME : n));
    uint8_t *buf = malloc(len);
    require(buf != NULL);
    wire_eth_emit(&h, buf);
    /* RFC 894: the frame again, then zero padding up to 60 bytes. */
    require(same_bytes(buf, p, n));
    for (size_t i = n; i < len; i++) {
        require(buf[i] == 0);
    }
    struct wire_eth b;
    require(wire_eth_parse(buf, len, &b) == WIRE_OK);
    require(same_bytes(b.dst, h.dst, WIRE_ETH_ADDR_LEN) &&
            same_bytes(b.src, h.src, WIRE_ETH_ADDR_LEN) && b.type == h.type);
    require(b.payload_len == len - WIRE_ETH_HDR_LEN && b.payload_len >= h.payload_len);
    require(same_bytes(b.payload, h.payload, h.payload_len));
    free(buf);

    /* The payload on its own, so that the parser sees exactly its bytes. */
    uint8_t *payload = dup_bytes(h.payload, h.payload_len);
    if (h.type == WIRE_ETHERTYPE_ARP) {
        fuzz_arp(payload, h.payload_len);
    } else if (h.type == WIRE_ETHERTYPE_IPV4) {
        fuzz_ipv4(payload, h.payload_len, false);
        repair_ipv4(payload, h.payload_len);
        fuzz_ipv4(payload, h.payload_len, true);
    } else if (h.type == WIRE_ETHERTYPE_IPV6) {
        fuzz_ipv6(payload, h.payload_len, false);
        fuzz_ipv6(payload, h.payload_len, true);
    }
    free(payload);
}

#ifdef TERN_FUZZ_STACK
/* --- A stack on an Ethernet interface ------------------------------------- */

#define OUR_IP   0x0a4d0002u /* 10.77.0.2/24 */
#define PEER_IP  0x0a4d0001u
#define STACK_IN 0xffu /* first input byte that selects this mode */

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};

/* The last TCP segment the stack sent (for the harness's peer answer). */
struct last_tx {
    bool valid;
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint32_t len;
    bool has_ts;
    uint32_t ts_val;
};

/* Everything tern transmits must be a well-formed frame from our address. */
static int
check_tx(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct last_tx *last = ctx;
    (void)next_hop;
    require(netif == 0);
    struct wire_eth e;
    require(wire_eth_parse(pkt, len, &e) == WIRE_OK);
    require(len >= WIRE_ETH_MIN_FRAME && same_bytes(e.src, our_mac, 6));
    if (e.type == WIRE_ETHERTYPE_ARP) {
        struct wire_arp a;
        require(wire_arp_parse(e.payload, e.payload_len, &a) == WIRE_OK);
        require(same_bytes(a.sha, our_mac, 6));
        return 0;
    }
    if (e.type == WIRE_ETHERTYPE_IPV6) {
        struct wire_ipv6 h6;
        struct wire_ipv6_chain c;
        require(wire_ipv6_parse(e.payload, e.payload_len, &h6) == WIRE_OK);
        require(wire_ipv6_walk(e.payload, &h6, &c) == WIRE_OK);
        if (c.proto == WIRE_IPV6_NH_ICMPV6 && (!c.has_frag || c.frag_atomic)) {
            struct wire_icmp6 m;
            require(wire_icmp6_parse(c.payload, c.payload_len, &h6.src, &h6.dst, &m) == WIRE_OK);
            if (m.type >= WIRE_ND_ROUTER_SOLICIT && m.type <= WIRE_ND_REDIRECT) {
                struct wire_nd nd;
                require(wire_nd_parse(c.payload, c.payload_len, &h6.src, &h6.dst, h6.hop_limit,
                                      &nd) == WIRE_OK);
            }
        }
        return 0;
    }
    require(e.type == WIRE_ETHERTYPE_IPV4);
    struct wire_ipv4 h;
    require(wire_ipv4_parse(e.payload, e.payload_len, &h) == WIRE_OK);
    if (h.frag_off != 0 || h.mf) {
        return 0; /* a fragment: its transport header may be elsewhere */
    }
    if (h.proto == WIRE_IPPROTO_TCP) {
        struct wire_tcp t;
        require(wire_tcp_parse(h.payload, h.payload_len, h.src, h.dst, &t) == WIRE_OK);
        *last = (struct last_tx){.valid = true,
                                 .src = h.src,
                                 .dst = h.dst,
                                 .sport = t.src_port,
                                 .dport = t.dst_port,
                                 .seq = t.seq,
                                 .ack = t.ack,
                                 .flags = t.flags,
                                 .len = (uint32_t)t.payload_len,
                                 .has_ts = t.opts.has_ts,
                                 .ts_val = t.opts.ts_val};
    } else if (h.proto == WIRE_IPPROTO_ICMP) {
        struct wire_icmp c;
        require(wire_icmp_parse(h.payload, h.payload_len, &c) == WIRE_OK);
    } else if (h.proto == WIRE_IPPROTO_UDP) {
        struct wire_udp u;
        require(wire_udp_parse(h.payload, h.payload_len, h.src, h.dst, &u) == WIRE_OK);
        require(u.checksum != 0); /* we always send one (RFC 1122 4.1.3.4) */
    }
    return 0;
}

/* The peer answers the last segment we sent: ACK of all of it (SYN, text,
 * FIN), FIN too when ours carried one, echoing our timestamp. */
static void
peer_answer(struct tern_stack *st, struct last_tx *last, int64_t now)
{
    if (!last->valid || (last->flags & WIRE_TCP_RST)) {
        return;
    }
    struct last_tx l = *last;
    last->valid = false;
    uint8_t frame[128];
    uint8_t *ip = frame + WIRE_ETH_HDR_LEN;
    struct wire_tcp t = {
        .src_port = l.dport,
        .dst_port = l.sport,
        .seq = (l.flags & WIRE_TCP_ACK) ? l.ack : 0,
        .ack = l.seq + l.len + ((l.flags & WIRE_TCP_SYN) ? 1u : 0u) +
               ((l.flags & WIRE_TCP_FIN) ? 1u : 0u),
        .flags = (uint8_t)(WIRE_TCP_ACK | (l.flags & WIRE_TCP_FIN)),
        .window = 8192,
    };
    t.opts.has_ts = l.has_ts;
    t.opts.ts_val = (uint32_t)(now / 1000000) + 7;
    t.opts.ts_ecr = l.ts_val;
    size_t n = wire_tcp_emit(&t, l.dst, l.src, ip + WIRE_IPV4_HDR_LEN,
                             sizeof(frame) - WIRE_ETH_HDR_LEN - WIRE_IPV4_HDR_LEN);
    require(n > 0);
    struct wire_ipv4 h4 = {.total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n),
                           .id = 7,
                           .ttl = 64,
                           .proto = WIRE_IPPROTO_TCP,
                           .src = l.dst,
                           .dst = l.src};
    wire_ipv4_emit(&h4, ip);
    struct wire_eth e = {
        .type = WIRE_ETHERTYPE_IPV4, .payload = ip, .payload_len = WIRE_IPV4_HDR_LEN + n};
    memcpy(e.dst, our_mac, 6);
    memcpy(e.src, peer_mac, 6);
    size_t fl = wire_eth_emit_len(&e);
    require(fl <= sizeof(frame));
    wire_eth_emit(&e, frame);
    require(tern_stack_input(st, 0, frame, fl, now) == TERN_OK);
    tern_stack_poll(st, now);
}

/* An IPv6 packet's upper-layer checksum (TCP, UDP, ICMPv6, after any
 * extension headers the walker passes) made right. */
static void
repair_ipv6(uint8_t *p, size_t n)
{
    struct wire_ipv6 h;
    struct wire_ipv6_chain c;
    if (wire_ipv6_parse(p, n, &h) != WIRE_OK || wire_ipv6_walk(p, &h, &c) != WIRE_OK ||
        (c.has_frag && !c.frag_atomic)) {
        return;
    }
    uint8_t *up = p + c.hdr_len;
    size_t ul = c.payload_len;
    size_t at = c.proto == WIRE_IPV6_NH_TCP ? 16 : c.proto == WIRE_IPV6_NH_UDP ? 6 : 2;
    if ((c.proto != WIRE_IPV6_NH_TCP && c.proto != WIRE_IPV6_NH_UDP &&
         c.proto != WIRE_IPV6_NH_ICMPV6) ||
        ul < at + 2) {
        return;
    }
    if (c.proto == WIRE_IPV6_NH_UDP) {
        put_csum(up + 4, (uint16_t)ul);
    }
    put_csum(up + at, 0);
    uint32_t s = wire_csum_pseudo_v6(h.src.b, h.dst.b, c.proto, (uint32_t)ul);
    put_csum(up + at, wire_csum_fold(wire_csum_add(s, up, ul)));
}

/* Input: 0xff, then records of [flags][time step, ms][length, 2 bytes][frame].
 * Flag bit 0: set the destination MAC to ours; bit 1: repair the IPv4 and
 * TCP/ICMP checksums; bit 2: accept and answer on the listener afterwards
 * (recv, send, close, then release the id unless bit 4 is set, so that
 * TIME-WAIT runs on a record alone or with its husk); bit 3: then the peer
 * answers the last segment the stack sent (peer_answer); bit 5: the UDP
 * socket on port 53 echoes a datagram and the connected one sends. */
static void
fuzz_stack(const uint8_t *data, size_t size)
{
    struct last_tx last = {0};
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 1;
    cfg.deterministic = true; /* a fuzz input must replay the same way */
    /* Small tables: a stack is built for every input. */
    cfg.tcp.max_connections = 8;
    cfg.tcp.time_wait_max = 2; /* a few inputs fill the records: recycling, */
    cfg.tcp.syn_cache_max = 2; /* SYN cookies */
    cfg.tcp.synack_retries = 2;
    cfg.tcp.sndbuf = 4096;
    cfg.tcp.rcvbuf = 4096;
    cfg.reass_slots = 2;
    cfg.reass_mem_max = 16384;
    cfg.pool_bytes = 32768;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = OUR_IP,
        .prefix_len = 24,
        .mtu = 1500,
        .transmit = check_tx,
        .transmit_ctx = &last,
        .link = TERN_LINK_ETHERNET,
    };
    memcpy(cfg.netifs[0].mac, our_mac, 6);
    /* IPv6: fd4d::2/64 besides the link-local address (seeds use them). */
    cfg.netifs[0].addr6[0] = (struct tern_netif_addr6){{{0xfd, 0x4d, [15] = 2}}, 64};
    cfg.netifs[0].n_addr6 = 1;
    cfg.nd_entries = 4;
    cfg.nd_queue_total = 4;
    int64_t now = 1000000000;
    struct tern_stack *st;
    require(tern_stack_new(&cfg, now, &st) == TERN_OK);
    int lis =
        tern_tcp_open(st, &(struct tern_tcp_open_args){.passive = true, .local_port = 80}, now);
    require(lis > 0);
    /* An active open that waits on ARP for the peer. */
    (void)tern_tcp_open(
        st, &(struct tern_tcp_open_args){.remote_addr = tern_ip4(PEER_IP), .remote_port = 5001},
        now);
    /* UDP: a socket on port 53 for any sender, and one connected to the
     * peer (ICMP errors about it are kept for it). */
    int ud = tern_udp_open(st, now), uc = tern_udp_open(st, now);
    struct tern_udp_addr l53 = {.family = TERN_UDP_AF_INET, .port = 53};
    struct tern_udp_addr peer = {.family = TERN_UDP_AF_INET, .port = 53, .v4 = PEER_IP};
    require(tern_udp_bind(st, ud, &l53, now) == TERN_OK);
    require(tern_udp_connect(st, uc, &peer, now) == TERN_OK);
    require(tern_udp_setopt(st, ud, TERN_UDP_OPT_RCVBUF, 4096) == TERN_OK);
    size_t off = 1;
    while (off + 4 <= size) {
        uint8_t flags = data[off];
        now += (int64_t)data[off + 1] * 1000000;
        size_t n = (size_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        n = n < size - off ? n : size - off;
        uint8_t *frame = dup_bytes(data + off, n);
        off += n;
        if ((flags & 1) && n >= 6) {
            memcpy(frame, our_mac, 6);
        }
        if ((flags & 2) && n > WIRE_ETH_HDR_LEN + WIRE_IPV6_HDR_LEN &&
            frame[WIRE_ETH_HDR_LEN] >> 4 == 6) {
            repair_ipv6(frame + WIRE_ETH_HDR_LEN, n - WIRE_ETH_HDR_LEN);
        } else if ((flags & 2) && n > WIRE_ETH_HDR_LEN) {
            uint8_t *ip = frame + WIRE_ETH_HDR_LEN;
            size_t il = n - WIRE_ETH_HDR_LEN;
            repair_ipv4(ip, il);
            size_t hl = (size_t)(ip[0] & 0x0f) * 4;
            if (il >= WIRE_IPV4_HDR_LEN && hl >= WIRE_IPV4_HDR_LEN && hl <= il) {
                uint32_t src = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 |
                               (uint32_t)ip[14] << 8 | ip[15];
                uint32_t dst = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 |
                               (uint32_t)ip[18] << 8 | ip[19];
                if (ip[9] == WIRE_IPPROTO_TCP) {
                    repair_tcp(ip + hl, il - hl, src, dst);
                } else if (ip[9] == WIRE_IPPROTO_UDP) {
                    repair_udp(ip + hl, il - hl, src, dst);
                } else if (ip[9] == WIRE_IPPROTO_ICMP) {
                    repair_icmp(ip + hl, il - hl);
                }
            }
        }
        require(tern_stack_input(st, 0, frame, n, now) == TERN_OK);
        free(frame);
        tern_stack_poll(st, now);
        if (flags & 4) {
            int c = tern_tcp_accept(st, lis, now);
            if (c > 0) {
                uint8_t buf[64];
                (void)tern_tcp_recv(st, c, buf, sizeof buf, now);
                (void)tern_tcp_send(st, c, "tern\n", 5, now);
                (void)tern_tcp_close(st, c, now);
                if (!(flags & 16)) {
                    (void)tern_tcp_release(st, c, now);
                }
            }
        }
        if (flags & 8) {
            peer_answer(st, &last, now);
        }
        if (flags & 32) {
            /* Echo one queued datagram to its sender; the connected socket
             * sends too (its pending error, if any, comes back instead). */
            uint8_t buf[600];
            struct tern_udp_addr from;
            size_t full = 0;
            int r = tern_udp_recvfrom(st, ud, buf, sizeof buf, 0, &from, &full, now);
            if (r >= 0) {
                require((size_t)r <= full);
                (void)tern_udp_sendto(st, ud, buf, (size_t)r, &from, now);
            }
            (void)tern_udp_send(st, uc, "q", 1, now);
            (void)tern_udp_recvfrom(st, uc, buf, sizeof buf, 0, NULL, NULL, now);
        }
    }
    /* Let every timer run out: retransmissions, ARP retries, TIME-WAIT. */
    for (int i = 0; i < 64 && tern_stack_next_deadline(st) != INT64_MAX; i++) {
        int64_t t = tern_stack_next_deadline(st);
        now = t > now ? t : now;
        tern_stack_poll(st, now);
    }
    tern_stack_free(st);
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef TERN_FUZZ_STACK
    if (size > 0 && data[0] == STACK_IN) {
        fuzz_stack(data, size);
        return 0;
    }
#endif
    fuzz_ipv4(data, size, false);
    fuzz_tcp(data, size, SRC, DST);
    fuzz_udp(data, size, SRC, DST);
    fuzz_dns(data, size);
    fuzz_dhcp(data, size);
    fuzz_icmp(data, size);
    fuzz_tcp_options(data, size);
    fuzz_arp(data, size);
    fuzz_eth(data, size);
    fuzz_ipv6(data, size, false);
    fuzz_ipv6(data, size, true);
    fuzz_icmp6(data, size, &SRC6, &DST6, WIRE_ND_HOP_LIMIT);
    fuzz_nd(data, size, &SRC6, &DST6, WIRE_ND_HOP_LIMIT);
    fuzz_ipv6_text(data, size);

    uint8_t *copy = dup_bytes(data, size);
    repair_ipv4(copy, size);
    fuzz_ipv4(copy, size, true);
    memcpy(copy, data, size);
    repair_tcp(copy, size, SRC, DST);
    fuzz_tcp(copy, size, SRC, DST);
    memcpy(copy, data, size);
    repair_udp(copy, size, SRC, DST);
    fuzz_udp(copy, size, SRC, DST);
    memcpy(copy, data, size);
    repair_icmp(copy, size);
    fuzz_icmp(copy, size);
    memcpy(copy, data, size);
    repair_icmp6(copy, size, &SRC6, &DST6);
    fuzz_icmp6(copy, size, &SRC6, &DST6, WIRE_ND_HOP_LIMIT);
    free(copy);
    return 0;
}
