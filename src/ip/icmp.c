/*
 * src/ip/icmp.c: ICMP for a host: the echo server and client, errors we
 * receive (handed to the transport that sent the datagram) and errors we
 * send.
 *
 * Read first: RFC 792 (message formats), RFC 1122 3.2.2 (what a host MUST do
 * with each type, and when it MUST NOT send an error), 3.2.2.6 (echo),
 * RFC 1191 4 (next-hop MTU), RFC 1812 4.3.2.3 (quoting up to 576 bytes).
 */
#include "ip/ip_internal.h"

#include <string.h>

#include "core/core.h"
#include "ip/ip.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

static const char L_ICMP[] = "icmp";

/* RFC 1812 4.3.2.3 lets an error carry as much of the datagram as fits in
 * 576 bytes (RFC 1122 3.2.2 asks for at least header + 8). */
#define ICMP_ERR_MAX_DGRAM 576u
#define ICMP_ERR_MAX_QUOTE (ICMP_ERR_MAX_DGRAM - WIRE_IPV4_HDR_LEN - WIRE_ICMP_HDR_LEN)

/* Sends the ICMP message m (header fields only) followed by `data`,
 * checksummed over both, without copying data twice. */
static int
send_icmp(struct tern_stack *st, const struct ip_send *s, struct wire_icmp *m, const uint8_t *data,
          size_t len)
{
    uint8_t hdr[WIRE_ICMP_HDR_LEN];
    m->payload = NULL;
    m->payload_len = 0;
    wire_icmp_emit(m, hdr);
    /* RFC 792: the checksum covers the whole message, data included. */
    ip_put16(hdr + 2, 0);
    uint32_t sum = wire_csum_add(0, hdr, sizeof(hdr));
    sum = wire_csum_add(sum, data, len);
    ip_put16(hdr + 2, wire_csum_fold(sum));
    struct ip_part parts[2] = {{hdr, sizeof(hdr)}, {data, len}};
    int rc = ipv4_output(st, s, parts, 2);
    if (rc == TERN_OK) {
        st->stats.icmp.tx++;
    }
    return rc;
}

/* ---- errors we send --------------------------------------------------- */

/* RFC 1122 3.2.2: the cases where an error MUST NOT be sent, or NULL. (We
 * cannot see link-layer broadcasts: the driver hands us IP datagrams.) */
static const char *
error_forbidden(const struct tern_stack *st, const struct wire_ipv4 *h)
{
    if (h->frag_off != 0) {
        return TERN_RULE("RFC 1122 3.2.2: no ICMP error about a non-initial fragment");
    }
    if (h->proto == WIRE_IPPROTO_ICMP && h->payload_len > 0 && wire_icmp_is_error(h->payload[0])) {
        return TERN_RULE("RFC 1122 3.2.2: no ICMP error about an ICMP error");
    }
    if (ip_addr_is_broadcast(st, -1, h->dst) || ip_addr_is_multicast(h->dst)) {
        return TERN_RULE("RFC 1122 3.2.2: no ICMP error about a broadcast or multicast datagram");
    }
    if (!ip_addr_is_single_host(st, h->src)) {
        return TERN_RULE("RFC 1122 3.2.2: no ICMP error to a source that is not a single host");
    }
    return NULL;
}

/* RFC 1812 4.3.2.8 (RFC 1122 3.2.2 allows it for hosts): a token bucket
 * over every ICMP error we send. True when one may go now (a token is
 * taken). Time is the stack's, so a simulation limits the same way. */
static bool
error_budget(struct tern_stack *st)
{
    struct ip_state *ip = st->ip;
    uint32_t rate = st->cfg.icmp_error_rate ? st->cfg.icmp_error_rate : ICMP_ERROR_RATE;
    uint32_t burst = st->cfg.icmp_error_burst ? st->cfg.icmp_error_burst : ICMP_ERROR_BURST;
    if (rate == UINT32_MAX) {
        return true;
    }
    int64_t elapsed = st->now_ns - ip->icmp_refill_ns;
    if (elapsed > 1000000000000LL) {
        elapsed = 1000000000000LL; /* long idle: the bucket is full anyway */
    }
    uint64_t add = elapsed > 0 ? (uint64_t)elapsed * rate / 1000000000u : 0;
    if (add > 0 || ip->icmp_tokens >= burst) {
        uint64_t t = ip->icmp_tokens + add;
        ip->icmp_tokens = t > burst ? burst : (uint32_t)t;
        /* Keep the fraction of a token already earned. */
        ip->icmp_refill_ns = ip->icmp_tokens == burst
                                 ? st->now_ns
                                 : ip->icmp_refill_ns + (int64_t)(add * 1000000000u / rate);
    }
    if (ip->icmp_tokens == 0) {
        return false;
    }
    ip->icmp_tokens--;
    return true;
}

void
icmp_send_error(struct tern_stack *st, uint8_t type, uint8_t code, uint16_t mtu,
                const uint8_t *orig, size_t orig_len)
{
    struct wire_ipv4 h;
    if (wire_ipv4_parse(orig, orig_len, &h) != WIRE_OK) {
        return; /* callers pass datagrams they accepted; nothing to quote */
    }
    const char *forbidden = error_forbidden(st, &h);
    if (forbidden != NULL) {
        stack_trace(st, TERN_TRACE_EVENT, L_ICMP, forbidden, orig, h.total_len);
        return;
    }
    if (!error_budget(st)) {
        stack_drop(st, TERN_DROP_ICMP_RATE_LIMIT, orig, h.total_len);
        return;
    }
    size_t quote = h.total_len < ICMP_ERR_MAX_QUOTE ? h.total_len : ICMP_ERR_MAX_QUOTE;
    /* RFC 1122 3.2.2: the quoted header and data go out unchanged; TOS 0.
     * Our source is the address the datagram was sent to when it is ours
     * (it is unicast here), else the outgoing interface's. */
    struct ip_send s = {
        .src = ip_addr_is_ours(st, h.dst) ? h.dst : 0,
        .dst = h.src,
        .proto = WIRE_IPPROTO_ICMP,
    };
    struct wire_icmp m = {.type = type, .code = code, .next_hop_mtu = mtu};
    stack_trace(st, TERN_TRACE_EVENT, L_ICMP,
                "RFC 1122 3.2.2: ICMP error sent, quoting the datagram", orig, h.total_len);
    if (send_icmp(st, &s, &m, orig, quote) == TERN_OK) {
        st->stats.icmp.tx_error++;
    }
}

/* ---- errors we receive ------------------------------------------------ */

static const char *
error_rule(uint8_t type)
{
    switch (type) {
    case WIRE_ICMP_DEST_UNREACH:
        return TERN_RULE("RFC 1122 3.2.2.1: destination unreachable passed to the transport");
    case WIRE_ICMP_SOURCE_QUENCH:
        return TERN_RULE("RFC 1122 3.2.2.3: source quench passed to the transport");
    case WIRE_ICMP_TIME_EXCEEDED:
        return TERN_RULE("RFC 1122 3.2.2.4: time exceeded passed to the transport");
    default:
        return TERN_RULE("RFC 1122 3.2.2.5: parameter problem passed to the transport");
    }
}

/* RFC 1122 3.2.2: the protocol number of the quoted header picks the
 * transport that gets the error. */
static void
error_input(struct tern_stack *st, const struct ip_rx *rx, const struct wire_icmp *m)
{
    const uint8_t *q = m->payload;
    size_t qlen = m->payload_len; /* >= 20, checked by wire_icmp_parse */
    size_t ihl = (size_t)(q[0] & 0x0f) * 4;
    /* The quote must hold an IPv4 header and the 8 bytes after it (3.2.2),
     * and those must be the transport header: a non-initial fragment's
     * quote holds none (Choice: counted under the same reason). */
    if (q[0] >> 4 != 4 || ihl < WIRE_IPV4_HDR_LEN || ihl + 8 > qlen ||
        (ip_get16(q + 6) & 0x1fff) != 0) {
        stack_drop(st, TERN_DROP_ICMP_ERR_PAYLOAD, rx->datagram, rx->datagram_len);
        return;
    }
    const struct ip_proto *p = ip_find_proto(st, q[9]);
    if (p == NULL || p->err == NULL) {
        stack_drop(st, TERN_DROP_ICMP_NO_HANDLER, rx->datagram, rx->datagram_len);
        return;
    }
    size_t plen = qlen - ihl;
    size_t tot = ip_get16(q + 2);
    if (tot >= ihl + 8 && tot - ihl < plen) {
        plen = tot - ihl; /* bytes after the quoted datagram's end are padding */
    }
    struct ip_icmp_err e = {
        .type = m->type,
        .code = m->code,
        .next_hop_mtu = m->next_hop_mtu,
        .from = rx->src,
        .orig_src = tern_ip4(ip_get32(q + 12)),
        .orig_dst = tern_ip4(ip_get32(q + 16)),
        .orig_proto = q[9],
        .orig_payload = q + ihl,
        .orig_payload_len = plen,
    };
    st->stats.icmp.rx_error++;
    stack_trace(st, TERN_TRACE_EVENT, L_ICMP, error_rule(m->type), rx->datagram, rx->datagram_len);
    p->err(st, p->ctx, &e);
}

/* ---- echo ------------------------------------------------------------- */

static void
echo_request(struct tern_stack *st, const struct ip_rx *rx, const struct wire_icmp *m)
{
    st->stats.icmp.rx_echo_request++;
    /* RFC 1122 3.2.2.6: we MAY ignore echo to broadcast; we do. */
    if (ip_addr_is_broadcast(st, rx->netif, tern_ip_v4(rx->dst))) {
        stack_drop(st, TERN_DROP_ICMP_BCAST_ECHO, rx->datagram, rx->datagram_len);
        return;
    }
    stack_trace(st, TERN_TRACE_RX, L_ICMP, "RFC 792: echo request", rx->datagram, rx->datagram_len);
    /* RFC 1122 3.2.2.6: reply from the address the request was sent to,
     * with all its data; same id and sequence (RFC 792). Choice: the reply
     * keeps the request's TOS, and IP options are not reflected. */
    struct ip_send s = {
        .src = tern_ip_v4(rx->dst),
        .dst = tern_ip_v4(rx->src),
        .proto = WIRE_IPPROTO_ICMP,
        .tos = rx->tos,
    };
    struct wire_icmp r = {.type = WIRE_ICMP_ECHO_REPLY, .id = m->id, .seq = m->seq};
    stack_trace(st, TERN_TRACE_EVENT, L_ICMP,
                "RFC 1122 3.2.2.6: echo reply with the request's data", rx->datagram,
                rx->datagram_len);
    send_icmp(st, &s, &r, m->payload, m->payload_len);
}

static void
echo_reply(struct tern_stack *st, const struct ip_rx *rx, const struct wire_icmp *m)
{
    st->stats.icmp.rx_echo_reply++;
    if (st->ip->echo_fn == NULL) {
        stack_drop(st, TERN_DROP_ICMP_ECHO_NO_HANDLER, rx->datagram, rx->datagram_len);
        return;
    }
    stack_trace(st, TERN_TRACE_RX, L_ICMP, "RFC 1122 3.2.2.6: echo reply passed to the user",
                rx->datagram, rx->datagram_len);
    struct tern_echo_reply r = {
        .from = tern_ip_v4(rx->src),
        .id = m->id,
        .seq = m->seq,
        .ttl = rx->ttl,
        .data = m->payload,
        .len = m->payload_len,
    };
    st->ip->echo_fn(st->ip->echo_ctx, &r, st->now_ns);
}

/* ---- input ------------------------------------------------------------ */

static enum tern_drop_reason
drop_of_wire(enum wire_err e)
{
    switch (e) {
    case WIRE_ERR_ICMP_CHECKSUM:
        return TERN_DROP_ICMP_CHECKSUM;
    case WIRE_ERR_ICMP_ERR_PAYLOAD:
        return TERN_DROP_ICMP_ERR_PAYLOAD;
    default: /* WIRE_ERR_ICMP_TRUNCATED; the parser returns no other */
        return TERN_DROP_ICMP_TRUNCATED;
    }
}

void
icmp_input(struct tern_stack *st, const struct ip_rx *rx)
{
    struct wire_icmp m;
    st->stats.icmp.rx++;
    enum wire_err e = wire_icmp_parse(rx->payload, rx->len, &m);
    if (e != WIRE_OK) {
        stack_drop(st, drop_of_wire(e), rx->datagram, rx->datagram_len);
        return;
    }
    switch (m.type) {
    case WIRE_ICMP_ECHO_REQUEST:
        echo_request(st, rx, &m);
        return;
    case WIRE_ICMP_ECHO_REPLY:
        echo_reply(st, rx, &m);
        return;
    case WIRE_ICMP_DEST_UNREACH:
    case WIRE_ICMP_SOURCE_QUENCH:
    case WIRE_ICMP_TIME_EXCEEDED:
    case WIRE_ICMP_PARAM_PROBLEM:
        /* RFC 1122 3.2.2.1, .3, .4, .5: each MUST reach the transport. */
        error_input(st, rx, &m);
        return;
    case WIRE_ICMP_REDIRECT:
        /* Deviation from RFC 1122 3.2.2.2 (MUST update routing): we keep
         * no per-destination routes yet, so a redirect is counted and
         * dropped. */
        stack_drop(st, TERN_DROP_ICMP_REDIRECT, rx->datagram, rx->datagram_len);
        return;
    default:
        /* RFC 1122 3.2.2: unknown types (and the queries we do not
         * implement: timestamp, information, address mask) are discarded. */
        stack_drop(st, TERN_DROP_ICMP_UNKNOWN_TYPE, rx->datagram, rx->datagram_len);
        return;
    }
}

/* ---- public API ------------------------------------------------------- */

int
tern_icmp_echo_send(struct tern_stack *st, uint32_t dst, uint16_t id, uint16_t seq,
                    const uint8_t *data, size_t len, int64_t now_ns)
{
    if (st == NULL || (data == NULL && len != 0)) {
        return TERN_ERR_INVAL;
    }
    stack_set_now(st, now_ns);
    struct ip_send s = {.dst = dst, .proto = WIRE_IPPROTO_ICMP};
    struct wire_icmp m = {.type = WIRE_ICMP_ECHO_REQUEST, .id = id, .seq = seq};
    return send_icmp(st, &s, &m, data, len);
}

void
tern_icmp_set_echo_handler(struct tern_stack *st, tern_echo_fn fn, void *ctx)
{
    if (st == NULL) {
        return;
    }
    st->ip->echo_fn = fn;
    st->ip->echo_ctx = ctx;
}
