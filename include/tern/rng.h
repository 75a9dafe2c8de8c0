/*
 * include/tern/rng.h: the deterministic pseudo-random generator, for
 * drivers and tools.
 *
 * The same generator the stacks use (xoshiro256** seeded through
 * splitmix64): one 64-bit seed gives one reproducible stream on every
 * machine, so a driver's impairment (the simulator's losses, the TUN
 * driver's drops) repeats from its seed. The caller owns the state; nothing
 * is global. Not a cryptographic generator: whoever knows the seed knows
 * every value (secrets come from tern_random_seed, tern/stack.h).
 */
#ifndef TERN_RNG_H
#define TERN_RNG_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tern_rng {
    uint64_t s[4];
};

/* Sets the state from `seed` (any value, 0 included). */
void tern_rng_seed(struct tern_rng *r, uint64_t seed);

/* The next 64 uniformly distributed bits. */
uint64_t tern_rng_next(struct tern_rng *r);

/* Uniform in [0, n), without bias; 0 when n is 0 (no state consumed). */
uint32_t tern_rng_below(struct tern_rng *r, uint32_t n);

/* True with probability ppm / 1 000 000. ppm 0 is always false, ppm >=
 * 1 000 000 always true, and neither consumes state. */
bool tern_rng_chance_ppm(struct tern_rng *r, uint32_t ppm);

#ifdef __cplusplus
}
#endif

#endif
