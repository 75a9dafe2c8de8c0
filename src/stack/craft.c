/*
 * src/stack/craft.c: tern/craft.h, hand-built IPv4/TCP packets from the
 * wire module's emitters, for callers that may use public headers only.
 */
#include "tern/craft.h"

#include "wire/ipv4.h"
#include "wire/tcp.h"

size_t
tern_craft_ipv4_tcp(const struct tern_craft_tcp *seg, uint8_t *buf, size_t cap)
{
    if (seg == NULL || buf == NULL || cap < WIRE_IPV4_HDR_LEN ||
        (seg->payload_len > 0 && seg->payload == NULL)) {
        return 0;
    }
    struct wire_tcp t = {
        .src_port = seg->src_port,
        .dst_port = seg->dst_port,
        .seq = seg->seq,
        .ack = seg->ack,
        .flags = seg->flags,
        .window = seg->window,
        .payload = seg->payload,
        .payload_len = seg->payload_len,
    };
    /* wire_tcp_emit writes nothing when the segment does not fit or is
     * longer than 65535 bytes; the datagram adds 20 more. */
    size_t n =
        wire_tcp_emit(&t, seg->src, seg->dst, buf + WIRE_IPV4_HDR_LEN, cap - WIRE_IPV4_HDR_LEN);
    if (n == 0 || n > 65535 - WIRE_IPV4_HDR_LEN) {
        return 0;
    }
    struct wire_ipv4 ip = {
        .total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + n),
        .ttl = seg->ttl != 0 ? seg->ttl : 64,
        .proto = WIRE_IPPROTO_TCP,
        .src = seg->src,
        .dst = seg->dst,
        .df = true,
    };
    wire_ipv4_emit(&ip, buf);
    return WIRE_IPV4_HDR_LEN + n;
}
