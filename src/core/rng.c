/*
 * src/core/rng.c: xoshiro256** seeded by splitmix64.
 *
 * splitmix64 turns the 64-bit seed into the 256-bit state: four successive
 * outputs of a bijective mixer over a counter, so they are pairwise distinct
 * and the all-zero state (the one xoshiro cannot leave) never occurs.
 * rng_below() uses the multiply-and-take-the-high-half mapping with rejection
 * of the few low products that would make some results more likely.
 */
#include "core/rng.h"

#include <string.h>

#include "tern/rng.h"

static uint64_t
rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void
rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return out;
}

uint32_t
rng_below(struct rng *r, uint32_t n)
{
    if (n == 0) {
        return 0;
    }
    /* x * n / 2^32 maps 32 random bits onto [0, n). The low half of the
     * product says where in its bucket x fell; 2^32 mod n of the 2^32 values
     * of x are surplus, and rejecting those whose low half is below
     * 2^32 mod n leaves exactly floor(2^32 / n) values per result. */
    uint64_t m = (rng_next(r) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t surplus = (uint32_t)(-n) % n; /* 2^32 mod n */
        while (low < surplus) {
            m = (rng_next(r) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

bool
rng_chance_ppm(struct rng *r, uint32_t ppm)
{
    if (ppm == 0) {
        return false;
    }
    if (ppm >= 1000000u) {
        return true;
    }
    return rng_below(r, 1000000u) < ppm;
}

void
rng_fill(struct rng *r, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t v = rng_next(r);
        size_t n = len < 8 ? len : 8;
        for (size_t i = 0; i < n; i++) {
            p[i] = (uint8_t)(v >> (8u * i));
        }
        p += n;
        len -= n;
    }
}

/* tern/rng.h: the same generator for drivers and tools, which see only
 * public headers. The state is copied in and out, so the public struct
 * and the core's never alias. */
static struct rng
rng_from(const struct tern_rng *p)
{
    struct rng r;
    memcpy(r.s, p->s, sizeof(r.s));
    return r;
}

static void
rng_to(struct tern_rng *p, const struct rng *r)
{
    memcpy(p->s, r->s, sizeof(p->s));
}

void
tern_rng_seed(struct tern_rng *p, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    rng_to(p, &r);
}

uint64_t
tern_rng_next(struct tern_rng *p)
{
    struct rng r = rng_from(p);
    uint64_t v = rng_next(&r);
    rng_to(p, &r);
    return v;
}

uint32_t
tern_rng_below(struct tern_rng *p, uint32_t n)
{
    struct rng r = rng_from(p);
    uint32_t v = rng_below(&r, n);
    rng_to(p, &r);
    return v;
}

bool
tern_rng_chance_ppm(struct tern_rng *p, uint32_t ppm)
{
    struct rng r = rng_from(p);
    bool v = rng_chance_ppm(&r, ppm);
    rng_to(p, &r);
    return v;
}
