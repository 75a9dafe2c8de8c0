/* tests/unit/stream.h: the test byte streams of the bulk tests. A stream is
 * a pure function of (seed, offset), so a receiver checks any byte it gets
 * without a copy of what was sent; FNV-1a hashes a whole transfer. */
#ifndef TERN_TEST_STREAM_H
#define TERN_TEST_STREAM_H

#include <stddef.h>
#include <stdint.h>

/* SplitMix64's output function: a well-mixed 64-bit word from any input. */
static inline uint64_t
splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Writes bytes [off, off + n) of stream `seed` to buf. */
static inline void
stream_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t pos = off + i;
        uint64_t word = splitmix64(seed ^ (pos >> 3) * 0xD6E8FEB86659FD93ULL);
        for (unsigned k = (unsigned)(pos & 7); k < 8 && i < n; k++, i++) {
            buf[i] = (uint8_t)(word >> (8 * k));
        }
    }
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

/* FNV-1a over n bytes, continuing from h (FNV_OFFSET to start). */
static inline uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * FNV_PRIME;
    }
    return h;
}

#endif
