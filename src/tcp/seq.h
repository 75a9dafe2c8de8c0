/*
 * src/tcp/seq.h: sequence number arithmetic, modulo 2^32.
 *
 * RFC 9293 3.4 and 3.10: every comparison of sequence numbers, ACK numbers
 * and window edges is done modulo 2^32. a < b means "a comes before b", i.e.
 * the signed 32-bit difference b - a is positive; this is only meaningful
 * when the two numbers are less than 2^31 apart, which the window sizes
 * guarantee. Plain uint32_t is used (the RFC's own variables), and every
 * comparison goes through these functions: a bare `<` on sequence numbers is
 * a bug.
 */
#ifndef TERN_TCP_SEQ_H
#define TERN_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* b - a as a signed distance. */
static inline int32_t
seq_diff(uint32_t b, uint32_t a)
{
    return (int32_t)(b - a);
}

static inline bool
seq_lt(uint32_t a, uint32_t b)
{
    return seq_diff(b, a) > 0;
}

static inline bool
seq_le(uint32_t a, uint32_t b)
{
    return seq_diff(b, a) >= 0;
}

static inline bool
seq_gt(uint32_t a, uint32_t b)
{
    return seq_lt(b, a);
}

static inline bool
seq_ge(uint32_t a, uint32_t b)
{
    return seq_le(b, a);
}

/* lo =< x < hi: x lies in the half-open range that starts at lo. Works for
 * any range shorter than 2^32, wrapped or not. Empty when lo == hi. */
static inline bool
seq_in_range(uint32_t x, uint32_t lo, uint32_t hi)
{
    return x - lo < hi - lo;
}

/* lo =< x =< hi (closed range). */
static inline bool
seq_between(uint32_t x, uint32_t lo, uint32_t hi)
{
    return x - lo <= hi - lo;
}

static inline uint32_t
seq_max(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? b : a;
}

#endif
