/*
 * src/core/pool.h: the stack's buffer pool. Fixed-size chunks carved once
 * in tern_stack_new() (cfg.pool_bytes), handed out and taken back without
 * allocation, and byte streams ("chains") built from them. TCP's send and
 * receive buffers and IP reassembly take their memory here.
 *
 * Reservations: a holder may reserve chunks it is certain to need later
 * (TCP reserves the memory behind the receive window it advertised, so
 * data inside that window is never dropped for lack of memory). A reserved
 * chunk stays on the free list but only the holder's pool_take(&reserved)
 * may take it: pool_avail() is what everyone else may still take.
 */
#ifndef TERN_CORE_POOL_H
#define TERN_CORE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/stack.h"

#define POOL_CHUNK_SHIFT 11u
#define POOL_CHUNK       (1u << POOL_CHUNK_SHIFT) /* 2048 bytes */
#define POOL_NIL         UINT32_MAX

struct pool {
    uint8_t *mem;        /* n * POOL_CHUNK bytes */
    uint32_t *link;      /* per chunk: the next chunk of its chain, or of the free list */
    uint32_t n;          /* chunks */
    uint32_t free_head;  /* LIFO free list: the chunk given back last is taken first */
    uint32_t n_free;     /* chunks on the free list */
    uint32_t n_reserved; /* chunks promised by pool_reserve() and not yet taken */
    uint32_t min_avail;  /* the lowest pool_avail() seen (a figure for stats); reserved
                            chunks count as unavailable */
    uint64_t take_fail;  /* unreserved takes refused because nothing was available (a
                            refused chain_put or reassembly request counts once) */
};

/* Carves bytes / POOL_CHUNK chunks (0 is allowed: an empty pool), taking
 * the memory from `alloc` (called as alloc(ud, NULL, 0, size)), which
 * pool_fini gives it back to. TERN_OK or TERN_ERR_NOMEM. pool_fini is safe
 * after a failed init. */
int pool_init(tern_alloc_fn alloc, void *ud, struct pool *p, size_t bytes);
void pool_fini(tern_alloc_fn alloc, void *ud, struct pool *p);

/* Chunks anyone may take now: free and not reserved. */
static inline uint32_t
pool_avail(const struct pool *p)
{
    return p->n_free - p->n_reserved;
}

/* Promises k chunks to the caller; false (and nothing changes) when fewer
 * than k are available. */
bool pool_reserve(struct pool *p, uint32_t k);
/* Gives back k promised chunks that were not taken. */
void pool_unreserve(struct pool *p, uint32_t k);

/* Takes one chunk. With reserved != NULL and *reserved > 0 the chunk comes
 * out of that reservation (*reserved is decremented; this never fails);
 * otherwise from the available chunks: POOL_NIL when there are none (counted
 * in take_fail). The chunk's contents are undefined. */
uint32_t pool_take(struct pool *p, uint32_t *reserved);
/* Gives a chunk back. */
void pool_give(struct pool *p, uint32_t c);

static inline uint8_t *
pool_data(const struct pool *p, uint32_t c)
{
    return p->mem + ((size_t)c << POOL_CHUNK_SHIFT);
}

/*
 * A chain: a byte stream over chunks, addressed by 32-bit positions that
 * wrap (TCP uses sequence numbers as positions; compare positions only by
 * differences, as with sequence numbers). Chunk i of the chain covers the
 * positions [base + i*POOL_CHUNK, base + (i+1)*POOL_CHUNK). The stream's
 * contents are the len bytes from position start; chunks may extend beyond
 * start + len and hold bytes written there by chain_put() (out-of-order
 * text) that are not yet part of the stream. An empty chain holds no chunk;
 * its next chunk will begin at position start.
 * 32 bytes: two of these sit in every TCP connection.
 */
struct pool_chain {
    uint32_t head, tail; /* first and last chunk, POOL_NIL when none */
    uint32_t base;       /* position of the first byte of head */
    uint32_t start;      /* position of the first byte of the stream */
    uint32_t len;        /* bytes in the stream */
    uint32_t n_chunks;   /* chunks held */
    uint32_t cur;        /* a chunk of the chain remembered for lookups, or POOL_NIL */
    uint32_t cur_pos;    /* the position of its first byte */
};

/* An empty chain whose stream starts at position pos. */
void chain_init(struct pool_chain *c, uint32_t pos);

/* Chunks the chain would need beyond those it holds so that they cover
 * every position up to (not including) end; 0 if they already do. */
uint32_t chain_chunks_needed(const struct pool_chain *c, uint32_t end);

/* Appends n bytes at start + len. Chunks come from *reserved first (may be
 * NULL), then from the available ones. Returns the bytes appended: fewer
 * than n when the pool ran dry. */
uint32_t chain_append(struct pool *p, struct pool_chain *c, const uint8_t *data, uint32_t n,
                      uint32_t *reserved);

/* Writes n bytes at position pos (start <= pos; usually pos > start + len,
 * out-of-order text), taking the chunks that are missing up to pos + n from
 * *reserved first, then the available ones. len does not change. Returns
 * false, writing nothing and taking nothing, when the chunks cannot be had. */
bool chain_put(struct pool *p, struct pool_chain *c, uint32_t pos, const uint8_t *data, uint32_t n,
               uint32_t *reserved);

/* len += n: bytes already written by chain_put() join the stream. */
void chain_extend(struct pool_chain *c, uint32_t n);

/* Copies n bytes from position pos (inside what the chunks hold) to out.
 * Reads and writes remember the last chunk they touched in cur, except the
 * head chunk: a lookup near the front does not move a sequential cursor. */
void chain_read(struct pool *p, struct pool_chain *c, uint32_t pos, uint8_t *out, uint32_t n);

/* Removes n <= len bytes from the front of the stream and gives back the
 * chunks that then hold no position >= start. When held_beyond is false the
 * caller holds nothing past start + len: chunks that hold no byte of the
 * stream are given back too (all of them when len becomes 0). */
void chain_drop(struct pool *p, struct pool_chain *c, uint32_t n, bool held_beyond);

/* The first bytes of the stream in place, in at most two contiguous
 * pieces; returns *n1 + *n2 (less than len when the stream spans more than
 * two chunks). *p2 is NULL and *n2 0 when one piece covers it. */
uint32_t chain_pieces(const struct pool *p, const struct pool_chain *c, const uint8_t **p1,
                      size_t *n1, const uint8_t **p2, size_t *n2);

/* Gives back every chunk; the chain is empty, its stream starting at start + len. */
void chain_free(struct pool *p, struct pool_chain *c);

#endif
