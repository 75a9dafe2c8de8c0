/*
 * src/core/siphash.c: SipHash-2-4.
 *
 * The state is four 64-bit words initialised from the key and four fixed
 * constants. The message is absorbed eight bytes at a time (little-endian),
 * two SipRounds per word; the last word carries the remaining bytes and the
 * length modulo 256 in its top byte. Finalisation XORs 0xff into v2 and runs
 * four SipRounds. Byte loads are explicit, so the result does not depend on
 * the host's byte order or on alignment.
 */
#include "core/siphash.h"

static uint64_t
rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

static uint64_t
load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8u * i);
    }
    return v;
}

static void
sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl64(v[2], 32);
}

/* Absorb one message word: c = 2 compression rounds. */
static void
sip_absorb(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

uint64_t
siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t k0 = load_le64(key);
    uint64_t k1 = load_le64(key + 8);
    /* The initialisation constants spell "somepseudorandomlygeneratedbytes". */
    uint64_t v[4] = {
        k0 ^ UINT64_C(0x736f6d6570736575),
        k1 ^ UINT64_C(0x646f72616e646f6d),
        k0 ^ UINT64_C(0x6c7967656e657261),
        k1 ^ UINT64_C(0x7465646279746573),
    };

    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        sip_absorb(v, load_le64(p + i));
    }

    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++) {
        last |= (uint64_t)p[whole + i] << (8u * i);
    }
    sip_absorb(v, last);

    /* d = 4 finalisation rounds. */
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++) {
        sip_round(v);
    }
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}
