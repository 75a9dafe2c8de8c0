/*
 * src/core/pool.c: the stack's buffer pool and the chains built on it.
 *
 * The pool is one array of n chunks of POOL_CHUNK bytes and one array of n
 * links, both allocated in pool_init() and never again. A chunk is named by
 * its index. The link of a free chunk is the next one on the free list; the
 * link of a chunk held by a chain is the next chunk of that chain. So a
 * chain costs 32 bytes plus its chunks, and taking or giving a chunk is a
 * push or pop on a singly linked list.
 *
 * Chains address bytes by 32-bit positions that wrap, like TCP sequence
 * numbers: every comparison is on the difference of two positions taken as
 * a signed 32-bit number, so a chain works the same on either side of 2^32.
 * Finding the chunk that holds a position walks the links. TCP asks in two
 * patterns: a little after the previous question (a sender reading the next
 * segment, a receiver writing the next one), and near the front (the first
 * unacknowledged or unread bytes). The first walks forward from the chunk
 * remembered in `cur`, the second from head, and a lookup in the head chunk
 * leaves `cur` where it was, so the two patterns can alternate (a sender
 * retransmitting at the front while sending new data further on) without
 * walking the chain each time; appends go to tail directly.
 */
#include "core/pool.h"

#include <string.h>

#include "tern/stack.h"

/* ---- chunks ----------------------------------------------------------- */

static void
give_back(tern_alloc_fn alloc, void *ud, void *mem, size_t size)
{
    if (mem != NULL) {
        alloc(ud, mem, size, 0);
    }
}

int
pool_init(tern_alloc_fn alloc, void *ud, struct pool *p, size_t bytes)
{
    memset(p, 0, sizeof(*p));
    p->free_head = POOL_NIL;
    size_t n = bytes / POOL_CHUNK;
    if (n >= POOL_NIL || n > SIZE_MAX / POOL_CHUNK) {
        return TERN_ERR_NOMEM;
    }
    if (n == 0) {
        return TERN_OK;
    }
    p->mem = alloc(ud, NULL, 0, n * POOL_CHUNK);
    p->link = alloc(ud, NULL, 0, n * sizeof(*p->link));
    if (p->mem == NULL || p->link == NULL) {
        give_back(alloc, ud, p->mem, n * POOL_CHUNK);
        give_back(alloc, ud, p->link, n * sizeof(*p->link));
        p->mem = NULL;
        p->link = NULL;
        return TERN_ERR_NOMEM;
    }
    memset(p->mem, 0, n * POOL_CHUNK);
    memset(p->link, 0, n * sizeof(*p->link));
    p->n = (uint32_t)n;
    for (uint32_t i = 0; i < p->n; i++) {
        p->link[i] = i + 1 < p->n ? i + 1 : POOL_NIL;
    }
    p->free_head = 0;
    p->n_free = p->n;
    p->min_avail = p->n;
    return TERN_OK;
}

void
pool_fini(tern_alloc_fn alloc, void *ud, struct pool *p)
{
    give_back(alloc, ud, p->mem, (size_t)p->n * POOL_CHUNK);
    give_back(alloc, ud, p->link, (size_t)p->n * sizeof(*p->link));
    memset(p, 0, sizeof(*p));
    p->free_head = POOL_NIL;
}

static void
note_avail(struct pool *p)
{
    if (pool_avail(p) < p->min_avail) {
        p->min_avail = pool_avail(p);
    }
}

bool
pool_reserve(struct pool *p, uint32_t k)
{
    if (k > pool_avail(p)) {
        return false;
    }
    p->n_reserved += k;
    note_avail(p);
    return true;
}

void
pool_unreserve(struct pool *p, uint32_t k)
{
    p->n_reserved -= k < p->n_reserved ? k : p->n_reserved;
}

uint32_t
pool_take(struct pool *p, uint32_t *reserved)
{
    if (reserved != NULL && *reserved > 0) {
        /* Promised earlier: n_free >= n_reserved guarantees a free chunk. */
        (*reserved)--;
        p->n_reserved--;
    } else if (pool_avail(p) == 0) {
        p->take_fail++;
        return POOL_NIL;
    }
    uint32_t c = p->free_head;
    p->free_head = p->link[c];
    p->link[c] = POOL_NIL;
    p->n_free--;
    note_avail(p);
    return c;
}

void
pool_give(struct pool *p, uint32_t c)
{
    p->link[c] = p->free_head;
    p->free_head = c;
    p->n_free++;
}

/* ---- chains ----------------------------------------------------------- */

/* Signed distance from position a to position b (b - a), as with sequence
 * numbers: valid while the two are less than 2^31 apart. */
static int32_t
pos_diff(uint32_t b, uint32_t a)
{
    return (int32_t)(b - a);
}

/* The position just past the last chunk held. */
static uint32_t
chain_end(const struct pool_chain *c)
{
    return c->base + c->n_chunks * POOL_CHUNK;
}

void
chain_init(struct pool_chain *c, uint32_t pos)
{
    *c = (struct pool_chain){
        .head = POOL_NIL,
        .tail = POOL_NIL,
        .base = pos,
        .start = pos,
        .cur = POOL_NIL,
    };
}

uint32_t
chain_chunks_needed(const struct pool_chain *c, uint32_t end)
{
    uint32_t covered = c->n_chunks == 0 ? c->start : chain_end(c);
    int32_t d = pos_diff(end, covered);
    if (d <= 0) {
        return 0;
    }
    return (uint32_t)(((uint64_t)d + POOL_CHUNK - 1) >> POOL_CHUNK_SHIFT);
}

/* Hangs chunk x after the tail. */
static void
link_tail(struct pool *p, struct pool_chain *c, uint32_t x)
{
    p->link[x] = POOL_NIL;
    if (c->n_chunks == 0) {
        c->head = x;
        c->base = c->start; /* an empty chain's next chunk begins at start */
    } else {
        p->link[c->tail] = x;
    }
    c->tail = x;
    c->n_chunks++;
}

/* The chunk holding position pos, which must lie in [base, chain_end); its
 * first byte's position in *xpos. Reads cur, never moves it. */
static uint32_t
chunk_at(const struct pool *p, const struct pool_chain *c, uint32_t pos, uint32_t *xpos)
{
    uint32_t i = (pos - c->base) >> POOL_CHUNK_SHIFT;
    *xpos = c->base + i * POOL_CHUNK;
    if (i + 1 == c->n_chunks) {
        return c->tail;
    }
    uint32_t x = c->head, steps = i;
    if (c->cur != POOL_NIL && pos_diff(pos, c->cur_pos) >= 0) {
        uint32_t from_cur = (pos - c->cur_pos) >> POOL_CHUNK_SHIFT;
        if (from_cur < steps) {
            x = c->cur;
            steps = from_cur;
        }
    }
    while (steps-- > 0) {
        x = p->link[x];
    }
    return x;
}

/* Remembers chunk x (at xpos) for the next lookup, unless it is the head:
 * lookups near the front are cheap from head anyway, and must not pull a
 * sequential reader or writer elsewhere in the chain back to the front. */
static void
remember(struct pool_chain *c, uint32_t x, uint32_t xpos)
{
    if (x != c->head) {
        c->cur = x;
        c->cur_pos = xpos;
    }
}

/* Copies n bytes at position pos on (the chunks hold them) from `in` into
 * the chunks, or out of them to `out`: one of the two is NULL. */
static void
chain_copy(struct pool *p, struct pool_chain *c, uint32_t pos, const uint8_t *in, uint8_t *out,
           uint32_t n)
{
    if (n == 0) {
        return;
    }
    uint32_t xpos;
    uint32_t x = chunk_at(p, c, pos, &xpos);
    uint32_t off = pos - xpos;
    for (;;) {
        uint32_t k = POOL_CHUNK - off < n ? POOL_CHUNK - off : n;
        if (in != NULL) {
            memcpy(pool_data(p, x) + off, in, k);
            in += k;
        } else {
            memcpy(out, pool_data(p, x) + off, k);
            out += k;
        }
        n -= k;
        if (n == 0) {
            break;
        }
        x = p->link[x];
        xpos += POOL_CHUNK;
        off = 0;
    }
    remember(c, x, xpos);
}

uint32_t
chain_append(struct pool *p, struct pool_chain *c, const uint8_t *data, uint32_t n,
             uint32_t *reserved)
{
    uint32_t done = 0;
    while (done < n) {
        uint32_t pos = c->start + c->len;
        if (c->n_chunks == 0 || pos_diff(chain_end(c), pos) <= 0) {
            uint32_t x = pool_take(p, reserved);
            if (x == POOL_NIL) {
                break;
            }
            link_tail(p, c, x);
        }
        uint32_t room = (uint32_t)pos_diff(chain_end(c), pos);
        uint32_t k = n - done < room ? n - done : room;
        chain_copy(p, c, pos, data + done, NULL, k);
        c->len += k;
        done += k;
    }
    return done;
}

bool
chain_put(struct pool *p, struct pool_chain *c, uint32_t pos, const uint8_t *data, uint32_t n,
          uint32_t *reserved)
{
    uint32_t need = chain_chunks_needed(c, pos + n);
    uint32_t promised = reserved != NULL ? *reserved : 0;
    uint32_t from_avail = need > promised ? need - promised : 0;
    if (from_avail > pool_avail(p)) {
        p->take_fail++; /* the whole request refused, counted once */
        return false;
    }
    for (uint32_t i = 0; i < need; i++) {
        link_tail(p, c, pool_take(p, reserved));
    }
    chain_copy(p, c, pos, data, NULL, n);
    return true;
}

void
chain_extend(struct pool_chain *c, uint32_t n)
{
    c->len += n;
}

void
chain_read(struct pool *p, struct pool_chain *c, uint32_t pos, uint8_t *out, uint32_t n)
{
    chain_copy(p, c, pos, NULL, out, n);
}

/* Forgets cur when it no longer names a chunk of the chain. */
static void
check_cur(struct pool_chain *c)
{
    if (c->cur != POOL_NIL && (c->n_chunks == 0 || pos_diff(c->cur_pos, c->base) < 0 ||
                               pos_diff(chain_end(c), c->cur_pos) <= 0)) {
        c->cur = POOL_NIL;
    }
}

void
chain_drop(struct pool *p, struct pool_chain *c, uint32_t n, bool held_beyond)
{
    c->start += n;
    c->len -= n;
    if (!held_beyond && c->len == 0) {
        chain_free(p, c);
        return;
    }
    /* Chunks wholly before start. */
    while (c->n_chunks > 0 && pos_diff(c->start, c->base) >= (int32_t)POOL_CHUNK) {
        uint32_t x = c->head;
        c->head = p->link[x];
        pool_give(p, x);
        c->base += POOL_CHUNK;
        c->n_chunks--;
    }
    if (c->n_chunks == 0) {
        c->head = c->tail = POOL_NIL;
        c->base = c->start;
    } else if (!held_beyond) {
        /* Chunks wholly past the stream's end. */
        uint32_t span = c->start + c->len - c->base;
        uint32_t keep = (uint32_t)(((uint64_t)span + POOL_CHUNK - 1) >> POOL_CHUNK_SHIFT);
        if (keep < c->n_chunks) {
            uint32_t lpos;
            uint32_t last = chunk_at(p, c, c->base + (keep - 1) * POOL_CHUNK, &lpos);
            uint32_t x = p->link[last];
            while (x != POOL_NIL) {
                uint32_t next = p->link[x];
                pool_give(p, x);
                x = next;
            }
            p->link[last] = POOL_NIL;
            c->tail = last;
            c->n_chunks = keep;
        }
    }
    check_cur(c);
}

uint32_t
chain_pieces(const struct pool *p, const struct pool_chain *c, const uint8_t **p1, size_t *n1,
             const uint8_t **p2, size_t *n2)
{
    *p1 = NULL;
    *n1 = 0;
    *p2 = NULL;
    *n2 = 0;
    if (c->len == 0 || c->n_chunks == 0) {
        return 0;
    }
    /* head holds start: chain_drop gives back every chunk wholly before it. */
    uint32_t off = c->start - c->base;
    uint32_t k = POOL_CHUNK - off < c->len ? POOL_CHUNK - off : c->len;
    *p1 = pool_data(p, c->head) + off;
    *n1 = k;
    if (k < c->len && p->link[c->head] != POOL_NIL) {
        uint32_t rest = c->len - k;
        *p2 = pool_data(p, p->link[c->head]);
        *n2 = rest < POOL_CHUNK ? rest : POOL_CHUNK;
    }
    return (uint32_t)(*n1 + *n2);
}

void
chain_free(struct pool *p, struct pool_chain *c)
{
    uint32_t x = c->head;
    for (uint32_t i = 0; i < c->n_chunks; i++) {
        uint32_t next = p->link[x];
        pool_give(p, x);
        x = next;
    }
    chain_init(c, c->start + c->len);
}
