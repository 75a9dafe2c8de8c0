/*
 * src/wire/checksum.c: the Internet checksum, RFC 1071 and RFC 1624.
 *
 * The sum is computed over the data in the machine's own byte order, 64 bits
 * per load with the carries deferred into the upper half of a 64-bit
 * accumulator, and swapped to network order once at the end. This works
 * because the ones'-complement sum is independent of byte order
 * (RFC 1071 section 2 (B)) and may be taken over wider words and folded
 * afterwards (sections 2 (C) and (D)).
 */
#include "wire/checksum.h"
#include "wire/wire_internal.h"

#include <stdbool.h>
#include <string.h>

static bool
host_is_little_endian(void)
{
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
    return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
#else
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
#endif
}

/* End-around-carry fold of a wide sum down to 16 bits (RFC 1071 2 (C)):
 * add the halves, and add back the carry that addition produces. */
static uint16_t
fold64(uint64_t acc)
{
    uint32_t lo = (uint32_t)acc, hi = (uint32_t)(acc >> 32);
    lo += hi;
    lo += lo < hi;
    uint16_t l = (uint16_t)lo, h = (uint16_t)(lo >> 16);
    l = (uint16_t)(l + h);
    l = (uint16_t)(l + (l < h));
    return l;
}

static uint64_t
load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Each 8 bytes add at most 2^33 to an accumulator, so summing at most this
 * many bytes into a fresh 64-bit accumulator cannot overflow it. */
#define CSUM_BLOCK ((size_t)1 << 30)

/* Native-order sum of n bytes, n even. Two accumulators let the 32-byte loop
 * run two add chains in parallel; the carries collect in their upper halves. */
static uint64_t
sum_native(const uint8_t *p, size_t n)
{
    uint64_t a0 = 0, a1 = 0;
    while (n >= 32) {
        uint64_t w0 = load64(p), w1 = load64(p + 8);
        uint64_t w2 = load64(p + 16), w3 = load64(p + 24);
        a0 += (w0 & 0xffffffffu) + (w0 >> 32);
        a1 += (w1 & 0xffffffffu) + (w1 >> 32);
        a0 += (w2 & 0xffffffffu) + (w2 >> 32);
        a1 += (w3 & 0xffffffffu) + (w3 >> 32);
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        uint64_t w = load64(p);
        a0 += (w & 0xffffffffu) + (w >> 32);
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        a1 += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        a1 += w;
    }
    return a0 + a1;
}

uint32_t
wire_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t native = 0;
    /* Huge buffers only: fold between blocks so nothing overflows. */
    while (len > CSUM_BLOCK) {
        native = fold64(native) + sum_native(p, CSUM_BLOCK);
        p += CSUM_BLOCK;
        len -= CSUM_BLOCK;
    }
    native += sum_native(p, len & ~(size_t)1);
    uint16_t s16 = fold64(native);
    if (host_is_little_endian()) {
        s16 = (uint16_t)(s16 << 8 | s16 >> 8);
    }
    uint64_t total = (uint64_t)sum + s16;
    if (len & 1) {
        /* RFC 1071 1: an odd last byte is the high half of a zero-padded word. */
        total += (uint32_t)p[len - 1] << 8;
    }
    return fold64(total);
}

uint16_t
wire_csum_fold(uint32_t sum)
{
    return (uint16_t)~fold64(sum);
}

uint16_t
wire_csum(const void *data, size_t len)
{
    return wire_csum_fold(wire_csum_add(0, data, len));
}

uint32_t
wire_csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    /* RFC 9293 3.1: source, destination, zero + PTCL, TCP length. */
    return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto + len;
}

uint32_t
wire_csum_pseudo_v6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_header, uint32_t len)
{
    /* RFC 8200 8.1: the addresses, the length as 32 bits, then zeros and
     * Next Header as the last 32-bit word. The addresses are summed as
     * 32-bit words (2^32 is 1 modulo 0xffff, so folding 32 bits into 16
     * keeps the ones' complement sum, RFC 1071 2(B)). */
    uint64_t s = 0;
    for (int i = 0; i < 16; i += 4) {
        s += wire_get32(src + i);
        s += wire_get32(dst + i);
    }
    s = (s >> 32) + (s & 0xffffffffu); /* at most 2^35: fits 33 bits */
    s = (s >> 16) + (s & 0xffffu);     /* < 2^18 */
    return (uint32_t)s + (len >> 16) + (len & 0xffffu) + next_header;
}

bool
wire_ip_is_mapped(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, sizeof prefix) == 0;
}

uint32_t
wire_csum_pseudo(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint32_t len)
{
    if (wire_ip_is_mapped(src) && wire_ip_is_mapped(dst)) {
        return wire_csum_pseudo_v4(wire_get32(src + 12), wire_get32(dst + 12), proto,
                                   (uint16_t)len);
    }
    return wire_csum_pseudo_v6(src, dst, proto, len);
}

uint16_t
wire_csum_update16(uint16_t old_csum, uint16_t old_word, uint16_t new_word)
{
    /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
    uint32_t s = (uint32_t)(uint16_t)~old_csum + (uint16_t)~old_word + new_word;
    return wire_csum_fold(s);
}
