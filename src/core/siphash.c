/*
 * src/core/siphash.c: SipHash-2-4 and SipHash-1-3.
 *
 * The state is four 64-bit words initialised from the key and four fixed
 * constants. The message is absorbed eight bytes at a time (little-endian),
 * two SipRounds per word; the last word carries the remaining bytes and the
 * length modulo 256 in its top byte. Finalisation XORs 0xff into v2 and runs
 * four SipRounds. Byte loads are explicit, so the result does not depend on
 * the host's byte order or on alignment.
 */
#include "core/siphash.h"

#include <string.h>

static uint64_t
rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

static uint64_t
load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v; /* one load on a little-endian host (an IPv6 4-tuple is 5 words) */
    memcpy(&v, p, sizeof(v));
    return v;
#else
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8u * i);
    }
    return v;
#endif
}

/* One SipRound on the four state words (kept in locals: the compiler holds
 * them in registers). */
#define SIP_ROUND(v0, v1, v2, v3)                                                                  \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

/* SipHash-c-d: c rounds per message word, d finalisation rounds. */
static inline uint64_t
siphash_cd(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len, int c, int d)
{
    const uint8_t *p = data;
    uint64_t k0 = load_le64(key);
    uint64_t k1 = load_le64(key + 8);
    /* The initialisation constants spell "somepseudorandomlygeneratedbytes". */
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);

    size_t whole = len - len % 8;
    for (size_t i = 0; i <= whole; i += 8) {
        uint64_t m;
        if (i < whole) {
            m = load_le64(p + i);
        } else {
            /* The last word: the remaining bytes, the length mod 256 on top. */
            m = (uint64_t)(len & 0xff) << 56;
            for (size_t j = 0; j < len % 8; j++) {
                m |= (uint64_t)p[whole + j] << (8u * j);
            }
        }
        v3 ^= m;
        for (int r = 0; r < c; r++) {
            SIP_ROUND(v0, v1, v2, v3);
        }
        v0 ^= m;
    }
    v2 ^= 0xff;
    for (int r = 0; r < d; r++) {
        SIP_ROUND(v0, v1, v2, v3);
    }
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
    return siphash_cd(key, data, len, 2, 4);
}

uint64_t
siphash13(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
    return siphash_cd(key, data, len, 1, 3);
}

uint64_t
siphash13_13(const uint8_t key[SIPHASH_KEY_LEN], uint64_t m0, uint64_t m1)
{
    /* siphash_cd for exactly 13 bytes, with the message given as words:
     * the first 8 bytes little-endian, then the last 5 (and the length on
     * top, as the last word always carries it). */
    uint64_t k0 = load_le64(key);
    uint64_t k1 = load_le64(key + 8);
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    uint64_t last = (m1 & UINT64_C(0xffffffffff)) | (uint64_t)13 << 56;
    v3 ^= m0;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= m0;
    v3 ^= last;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}
