/*
 * src/core/siphash.h: SipHash-2-4 and SipHash-1-3, keyed 64-bit hashes
 * (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012).
 *
 * Used where an attacker chooses the input: the connection table's 4-tuple
 * hash and RFC 6528 initial sequence numbers. The key is a per-stack secret
 * drawn from the stack's rng.
 */
#ifndef TERN_CORE_SIPHASH_H
#define TERN_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of len bytes at data (data may be NULL when len is 0) under a
 * 16-byte key. The key is read as two little-endian 64-bit words and the
 * result is the 64-bit value whose little-endian bytes are the paper's
 * output, so it is the same on every host. Pure; no alignment needed. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

/* SipHash-1-3 (one compression, three finalisation rounds): the same
 * construction with fewer rounds, about twice as fast. Still a keyed hash an
 * attacker cannot aim at one bucket without the key; used for the hash
 * tables, while secrets that leave the stack (ISNs, SYN cookies, ports) use
 * SipHash-2-4. */
uint64_t siphash13(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

/* siphash13() of a 13-byte message given as words: bytes 0-7 are m0
 * (little-endian), bytes 8-12 the low 40 bits of m1. The hot path of the
 * connection tables builds no byte array. */
uint64_t siphash13_13(const uint8_t key[SIPHASH_KEY_LEN], uint64_t m0, uint64_t m1);

#endif
