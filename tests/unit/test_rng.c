/*
 * tests/unit/test_rng.c: the deterministic generator (src/core/rng.c).
 *
 * Every test uses a fixed seed, so the statistical bounds below either
 * always pass or always fail; they are set at several standard deviations
 * so that any correct generator passes them.
 */
#include "core/rng.h"

#include <stdlib.h>

#include "check.h"
#include "tern/rng.h"

/* xoshiro256** from the state {1, 2, 3, 4}; the first output is
 * rotl(2 * 5, 7) * 9 = 11520 and the second is 0, both checkable by hand.
 * The rest were computed with an independent Python implementation. */
static void
test_xoshiro_known_answers(void)
{
    struct rng r = {{1, 2, 3, 4}};
    CHECK(rng_next(&r) == 11520);
    CHECK(rng_next(&r) == 0);
    CHECK(rng_next(&r) == UINT64_C(0x5a007080));
    CHECK(rng_next(&r) == UINT64_C(0x10e0000000009d80));
}

/* Seeding goes through splitmix64, whose first output for 0 is the well
 * known 0xe220a8397b1dcdaf. */
static void
test_seed_known_answers(void)
{
    struct rng r;
    rng_seed(&r, 0);
    CHECK(r.s[0] == UINT64_C(0xe220a8397b1dcdaf));
    CHECK(r.s[1] == UINT64_C(0x6e789e6aa1b965f4));
    CHECK(r.s[2] == UINT64_C(0x06c45d188009454f));
    CHECK(r.s[3] == UINT64_C(0xf88bb8a8724c81ec));
    CHECK(rng_next(&r) == UINT64_C(0x99ec5f36cb75f2b4));
    CHECK(rng_next(&r) == UINT64_C(0xbf6e1f784956452a));
    CHECK(rng_next(&r) == UINT64_C(0x1a5f849d4933e6e0));
}

static void
test_same_seed_same_sequence(void)
{
    struct rng a, b;
    rng_seed(&a, 12345);
    rng_seed(&b, 12345);
    int same = 0;
    for (int i = 0; i < 10000; i++) {
        same += rng_next(&a) == rng_next(&b);
    }
    CHECK_EQ(same, 10000);
    /* Re-seeding restarts the stream. */
    rng_seed(&a, 12345);
    rng_seed(&b, 12345);
    uint64_t first = rng_next(&a);
    CHECK(rng_next(&b) == first);
}

static void
test_different_seeds_differ(void)
{
    /* Neighbouring seeds give unrelated streams: the first outputs of 256
     * seeds are pairwise distinct, and two streams almost never agree. */
    uint64_t firsts[256];
    for (uint64_t s = 0; s < 256; s++) {
        struct rng r;
        rng_seed(&r, s);
        firsts[s] = rng_next(&r);
    }
    int collisions = 0;
    for (int i = 0; i < 256; i++) {
        for (int j = i + 1; j < 256; j++) {
            collisions += firsts[i] == firsts[j];
        }
    }
    CHECK_EQ(collisions, 0);

    struct rng a, b;
    rng_seed(&a, 1);
    rng_seed(&b, 2);
    int same = 0;
    for (int i = 0; i < 10000; i++) {
        same += rng_next(&a) == rng_next(&b);
    }
    CHECK_EQ(same, 0);
}

static void
test_below_range(void)
{
    static const uint32_t ns[] = {1,     2,       3,           7,           10,         1000,
                                  65536, 1000000, 0x80000001u, 0xfffffffeu, 0xffffffffu};
    struct rng r;
    rng_seed(&r, 7);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int out_of_range = 0;
        for (int i = 0; i < 20000; i++) {
            out_of_range += rng_below(&r, ns[k]) >= ns[k];
        }
        CHECK_EQ(out_of_range, 0);
    }

    /* n == 1 is always 0; n == 0 gives 0 without consuming the stream. */
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(rng_below(&r, 1), 0);
    }
    struct rng before = r;
    CHECK_EQ(rng_below(&r, 0), 0);
    CHECK_MEM(&before, &r, sizeof r);
}

/* Chi-square over 100 equally likely values: 99 degrees of freedom, mean 99,
 * standard deviation 14; the bound 200 is seven deviations out. */
static void
test_below_uniform(void)
{
    enum { BINS = 100, DRAWS = 1000000 };
    uint32_t count[BINS] = {0};
    struct rng r;
    rng_seed(&r, 42);
    for (int i = 0; i < DRAWS; i++) {
        count[rng_below(&r, BINS)]++;
    }
    double expect = (double)DRAWS / BINS, chi2 = 0;
    for (int i = 0; i < BINS; i++) {
        double d = count[i] - expect;
        chi2 += d * d / expect;
    }
    if (chi2 >= 200) {
        fprintf(stderr, "chi2 = %.1f\n", chi2);
    }
    CHECK(chi2 < 200);
}

/* n = 3 * 2^30 is where a mapping without rejection is most biased: 2^32
 * inputs onto 3 * 2^30 outputs gives every third output two inputs, so the
 * results divisible by 3 would come up half the time instead of a third. */
static void
test_below_unbiased(void)
{
    enum { DRAWS = 300000 };
    struct rng r;
    rng_seed(&r, 99);
    int div3 = 0;
    for (int i = 0; i < DRAWS; i++) {
        div3 += rng_below(&r, 3u << 30) % 3 == 0;
    }
    /* A third is 100000 with a standard deviation of 258. */
    CHECK(div3 > 98500 && div3 < 101500);

    /* A modulo mapping (x % n) would give the first third twice the weight
     * instead: 2^32 - n = 2^30 of its outputs have two inputs. */
    int low = 0;
    for (int i = 0; i < DRAWS; i++) {
        low += rng_below(&r, 3u << 30) < (1u << 30);
    }
    CHECK(low > 98500 && low < 101500);
}

static void
test_chance_ppm(void)
{
    struct rng r;
    rng_seed(&r, 2024);
    struct rng before = r;
    int hits = 0;
    for (int i = 0; i < 1000; i++) {
        hits += rng_chance_ppm(&r, 0);
    }
    CHECK_EQ(hits, 0);
    hits = 0;
    for (int i = 0; i < 1000; i++) {
        hits += rng_chance_ppm(&r, 1000000);
        hits += rng_chance_ppm(&r, 2000000);
    }
    CHECK_EQ(hits, 2000);
    CHECK_MEM(&before, &r, sizeof r); /* the extremes consume nothing */

    /* 1 % over a million trials: 10000 expected, deviation 99.5. */
    hits = 0;
    for (int i = 0; i < 1000000; i++) {
        hits += rng_chance_ppm(&r, 10000);
    }
    CHECK(hits > 9500 && hits < 10500);

    /* 1 ppm: about one in a million; over 5 million trials expect 5. */
    hits = 0;
    for (int i = 0; i < 5000000; i++) {
        hits += rng_chance_ppm(&r, 1);
    }
    CHECK(hits >= 1 && hits <= 15);

    /* 50 %: deviation 354 over a million trials. */
    hits = 0;
    for (int i = 0; i < 1000000; i++) {
        hits += rng_chance_ppm(&r, 500000);
    }
    CHECK(hits > 498000 && hits < 502000);
}

static void
test_fill(void)
{
    /* rng_fill lays out successive outputs least significant byte first. */
    struct rng a, b;
    rng_seed(&a, 5);
    rng_seed(&b, 5);
    uint8_t buf[21];
    rng_fill(&a, buf, sizeof buf);
    for (int w = 0; w < 3; w++) {
        uint64_t v = rng_next(&b);
        for (int i = 0; i < 8 && w * 8 + i < (int)sizeof buf; i++) {
            CHECK_EQ(buf[w * 8 + i], (uint8_t)(v >> (8 * i)));
        }
    }
    CHECK_MEM(&a, &b, sizeof a); /* a partial word still costs one draw */

    /* len 0 touches neither the buffer nor the stream. */
    struct rng before = a;
    rng_fill(&a, NULL, 0);
    CHECK_MEM(&before, &a, sizeof a);

    /* Writes exactly len bytes. */
    uint8_t guard[16];
    memset(guard, 0xa5, sizeof guard);
    rng_fill(&a, guard + 4, 5);
    CHECK_EQ(guard[3], 0xa5);
    CHECK_EQ(guard[9], 0xa5);

    /* Every byte value shows up about equally often: 256 bins, 1 MiB. */
    enum { BIG = 1 << 20 };
    uint8_t *big = malloc(BIG);
    uint32_t count[256] = {0};
    CHECK(big != NULL);
    if (!big) {
        return;
    }
    rng_fill(&a, big, BIG);
    for (size_t i = 0; i < BIG; i++) {
        count[big[i]]++;
    }
    free(big);
    double expect = (double)BIG / 256, chi2 = 0;
    for (int i = 0; i < 256; i++) {
        double d = count[i] - expect;
        chi2 += d * d / expect;
    }
    CHECK(chi2 < 400); /* 255 degrees of freedom: mean 255, deviation 23 */
}

/* tern/rng.h, the drivers' view, is the same generator: the same seed
 * gives the same stream through either API, value for value. */
static void
test_public_api_same_stream(void)
{
    struct rng core;
    struct tern_rng pub;
    rng_seed(&core, 0);
    tern_rng_seed(&pub, 0);
    CHECK(tern_rng_next(&pub) == UINT64_C(0x99ec5f36cb75f2b4)); /* as above */
    CHECK(rng_next(&core) == UINT64_C(0x99ec5f36cb75f2b4));
    int same = 0;
    for (int i = 0; i < 3000; i++) {
        switch (i % 3) {
        case 0:
            same += rng_next(&core) == tern_rng_next(&pub);
            break;
        case 1:
            same +=
                rng_below(&core, 1000u + (uint32_t)i) == tern_rng_below(&pub, 1000u + (uint32_t)i);
            break;
        default:
            same += rng_chance_ppm(&core, 250000) == tern_rng_chance_ppm(&pub, 250000);
            break;
        }
    }
    CHECK_EQ(same, 3000);
    /* Its edge cases consume no state, as the core's. */
    struct tern_rng before = pub;
    CHECK_EQ(tern_rng_below(&pub, 0), 0u);
    CHECK(!tern_rng_chance_ppm(&pub, 0));
    CHECK(tern_rng_chance_ppm(&pub, 1000000u));
    CHECK(tern_rng_next(&pub) == tern_rng_next(&before));
}

int
main(void)
{
    RUN(test_xoshiro_known_answers);
    RUN(test_seed_known_answers);
    RUN(test_same_seed_same_sequence);
    RUN(test_different_seeds_differ);
    RUN(test_below_range);
    RUN(test_below_uniform);
    RUN(test_below_unbiased);
    RUN(test_chance_ppm);
    RUN(test_fill);
    RUN(test_public_api_same_stream);
    return CHECK_DONE();
}
