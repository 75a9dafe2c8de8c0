/*
 * src/core/rng.h: the per-stack deterministic pseudo-random generator.
 *
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64, so that one
 * 64-bit seed gives one reproducible stream on every host. Each stack (and
 * each simulated link) owns a struct rng; nothing here is global. It is not
 * a cryptographic generator: anything it produces is predictable by whoever
 * knows (or guesses) the seed, so a deployment that needs unpredictable
 * values (ISNs, hash keys) must seed it from a secret source.
 */
#ifndef TERN_CORE_RNG_H
#define TERN_CORE_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Set the state from seed (any value, 0 included). */
void rng_seed(struct rng *r, uint64_t seed);

/* Next 64 uniformly distributed bits. */
uint64_t rng_next(struct rng *r);

/* Uniform in [0, n) with no bias (rejection sampling); 0 when n is 0, in
 * which case no state is consumed. */
uint32_t rng_below(struct rng *r, uint32_t n);

/* True with probability ppm / 1 000 000. ppm 0 is always false and ppm >=
 * 1 000 000 always true; neither of those consumes state, so a link with no
 * impairment configured leaves the stream untouched. */
bool rng_chance_ppm(struct rng *r, uint32_t ppm);

/* Fill len bytes with random bytes (byte order fixed: the same on every
 * host). buf may be NULL when len is 0. */
void rng_fill(struct rng *r, void *buf, size_t len);

#endif
