/*
 * tern/craft.h: building IPv4/TCP packets by hand, for tests, scenarios and
 * tools that inject segments a stack would never send (RFC 9293 3.5's
 * crafted figures, hostile peers). Nothing here touches a stack.
 */
#ifndef TERN_CRAFT_H
#define TERN_CRAFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TCP control bits, as in the header's flags byte (RFC 9293 3.1, RFC 3168). */
enum {
    TERN_CRAFT_FIN = 0x01,
    TERN_CRAFT_SYN = 0x02,
    TERN_CRAFT_RST = 0x04,
    TERN_CRAFT_PSH = 0x08,
    TERN_CRAFT_ACK = 0x10,
    TERN_CRAFT_URG = 0x20,
    TERN_CRAFT_ECE = 0x40,
    TERN_CRAFT_CWR = 0x80
};

/* One segment without options. Addresses and ports in host byte order. */
struct tern_craft_tcp {
    uint32_t src, dst;
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t flags; /* TERN_CRAFT_* */
    uint16_t window;
    uint8_t ttl; /* 0 means 64 */
    const uint8_t *payload;
    size_t payload_len;
};

/*
 * Writes an IPv4 datagram (20-byte header, DF set, both checksums correct)
 * carrying the segment to buf. Returns its length, or 0 without writing
 * anything if cap is too small or the datagram would exceed 65535 bytes.
 */
size_t tern_craft_ipv4_tcp(const struct tern_craft_tcp *seg, uint8_t *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
