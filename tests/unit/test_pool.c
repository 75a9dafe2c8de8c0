/*
 * tests/unit/test_pool.c: the stack's buffer pool and its chains
 * (src/core/pool.c).
 *
 * The chains are checked against a reference model: a plain byte array
 * indexed by position, with a flag per byte saying whether the chain holds
 * it. Random appends, out-of-order puts, extends, reads, drops and frees run
 * on two chains sharing a small pool, from positions just below 2^32 so the
 * streams cross the wrap; every byte read is compared, and the pool's chunk
 * count must come back to where it started.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/pool.h"
#include "core/rng.h"

/* The pool takes its memory from this allocator, which counts it. */
static long long held_bytes; /* bytes the allocator gave and did not get back */
static bool alloc_fails;

static void *
count_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    if (new_size == 0) {
        held_bytes -= (long long)old_size;
        free(ptr);
        return NULL;
    }
    if (alloc_fails) {
        return NULL;
    }
    held_bytes += (long long)new_size - (long long)old_size;
    return realloc(ptr, new_size);
}

static void
stack_setup(void)
{
    held_bytes = 0;
    alloc_fails = false;
}

/* ---- chunks and reservations ------------------------------------------ */

static void
test_init_fini(void)
{
    stack_setup();
    struct pool p;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, 10 * POOL_CHUNK + 100), TERN_OK); /* rounded down */
    CHECK_EQ(p.n, 10);
    CHECK_EQ(p.n_free, 10);
    CHECK_EQ(pool_avail(&p), 10);
    CHECK_EQ(p.min_avail, 10);
    CHECK_EQ(held_bytes, 10 * (POOL_CHUNK + 4));
    pool_fini(count_alloc, NULL, &p);
    CHECK_EQ(held_bytes, 0);

    alloc_fails = true;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, 10 * POOL_CHUNK), TERN_ERR_NOMEM);
    pool_fini(count_alloc, NULL, &p); /* safe after a failed init */
    CHECK_EQ(held_bytes, 0);
    alloc_fails = false;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, (size_t)UINT32_MAX * POOL_CHUNK), TERN_ERR_NOMEM);
    pool_fini(count_alloc, NULL, &p);
    CHECK_EQ(held_bytes, 0);
}

static void
test_take_give(void)
{
    stack_setup();
    struct pool p;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, 4 * POOL_CHUNK), TERN_OK);
    uint32_t c[4];
    bool seen[4] = {false};
    for (int i = 0; i < 4; i++) {
        c[i] = pool_take(&p, NULL);
        CHECK(c[i] < 4);
        if (c[i] < 4) {
            CHECK(!seen[c[i]]);
            seen[c[i]] = true;
            memset(pool_data(&p, c[i]), i, POOL_CHUNK); /* ASan: in bounds */
        }
    }
    CHECK_EQ(pool_avail(&p), 0);
    CHECK_EQ(pool_take(&p, NULL), POOL_NIL);
    CHECK_EQ(p.take_fail, 1);
    CHECK_EQ(p.min_avail, 0);
    pool_give(&p, c[2]);
    CHECK_EQ(pool_take(&p, NULL), c[2]); /* LIFO */
    for (int i = 0; i < 4; i++) {
        pool_give(&p, c[i]);
    }
    CHECK_EQ(p.n_free, 4);
    CHECK_EQ(p.min_avail, 0); /* the low-water mark stays */
    pool_fini(count_alloc, NULL, &p);
}

/* EVIDENCE: a reservation holds chunks back from everyone else, and a take
 * out of it never fails. */
static void
test_reservations(void)
{
    stack_setup();
    struct pool p;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, 6 * POOL_CHUNK), TERN_OK);
    uint32_t mine = 4;
    CHECK(pool_reserve(&p, mine));
    CHECK_EQ(pool_avail(&p), 2);
    CHECK_EQ(p.min_avail, 2);
    CHECK(!pool_reserve(&p, 3)); /* only 2 left: nothing changes */
    CHECK_EQ(p.n_reserved, 4);
    CHECK_EQ(pool_avail(&p), 2);
    /* others take the 2 available, then are refused */
    uint32_t a = pool_take(&p, NULL), b = pool_take(&p, NULL);
    CHECK(a != POOL_NIL && b != POOL_NIL);
    uint32_t zero = 0;
    CHECK_EQ(pool_take(&p, &zero), POOL_NIL); /* an empty reservation is no reservation */
    CHECK_EQ(pool_take(&p, NULL), POOL_NIL);
    CHECK_EQ(p.take_fail, 2);
    CHECK_EQ(p.n_free, 4);
    /* the holder still gets its 4 */
    uint32_t r[4];
    for (int i = 0; i < 3; i++) {
        r[i] = pool_take(&p, &mine);
        CHECK(r[i] != POOL_NIL);
    }
    CHECK_EQ(mine, 1);
    CHECK_EQ(p.n_reserved, 1);
    CHECK_EQ(pool_avail(&p), 0);
    CHECK_EQ(p.take_fail, 2); /* takes from a reservation are never refused */
    /* the last promise is given back: it becomes available */
    pool_unreserve(&p, mine);
    mine = 0;
    CHECK_EQ(p.n_reserved, 0);
    CHECK_EQ(pool_avail(&p), 1);
    r[3] = pool_take(&p, NULL);
    CHECK(r[3] != POOL_NIL);
    pool_give(&p, a);
    pool_give(&p, b);
    for (int i = 0; i < 4; i++) {
        pool_give(&p, r[i]);
    }
    CHECK_EQ(p.n_free, 6);
    CHECK_EQ(pool_avail(&p), 6);
    pool_fini(count_alloc, NULL, &p);
}

/* An empty pool (0 chunks) is valid and refuses everything. */
static void
test_empty_pool(void)
{
    stack_setup();
    struct pool p;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, POOL_CHUNK - 1), TERN_OK);
    CHECK_EQ(p.n, 0);
    CHECK_EQ(held_bytes, 0);
    CHECK_EQ(pool_avail(&p), 0);
    CHECK(pool_reserve(&p, 0));
    CHECK(!pool_reserve(&p, 1));
    CHECK_EQ(pool_take(&p, NULL), POOL_NIL);
    struct pool_chain c;
    chain_init(&c, 7);
    uint8_t b[10] = {1, 2, 3};
    CHECK_EQ(chain_append(&p, &c, b, 10, NULL), 0);
    CHECK(!chain_put(&p, &c, 20, b, 10, NULL));
    CHECK(chain_put(&p, &c, 7, b, 0, NULL)); /* nothing needed: nothing to refuse */
    CHECK_EQ(c.len, 0);
    CHECK_EQ(c.n_chunks, 0);
    const uint8_t *p1, *p2;
    size_t n1, n2;
    CHECK_EQ(chain_pieces(&p, &c, &p1, &n1, &p2, &n2), 0);
    chain_free(&p, &c);
    CHECK_EQ(c.start, 7);
    pool_fini(count_alloc, NULL, &p);
}

/* EVIDENCE: the pool running dry in the middle of an append: exactly the
 * bytes that fit are appended, and the rest goes in once chunks come back. */
static void
test_dry_append(void)
{
    stack_setup();
    struct pool p;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, 3 * POOL_CHUNK), TERN_OK);
    static uint8_t src[5 * POOL_CHUNK], out[5 * POOL_CHUNK];
    for (size_t i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)(i * 7 + 3);
    }
    struct pool_chain c;
    chain_init(&c, UINT32_MAX - 100); /* crosses the wrap in the first chunk */
    CHECK_EQ(chain_append(&p, &c, src, 1000, NULL), 1000);
    CHECK_EQ(chain_append(&p, &c, src + 1000, 9000, NULL), 3 * POOL_CHUNK - 1000);
    CHECK_EQ(c.len, 3 * POOL_CHUNK);
    CHECK_EQ(c.n_chunks, 3);
    CHECK_EQ(p.take_fail, 1);
    CHECK_EQ(chain_append(&p, &c, src, 1, NULL), 0);
    chain_read(&p, &c, UINT32_MAX - 100, out, 3 * POOL_CHUNK);
    CHECK_MEM(out, src, 3 * POOL_CHUNK);
    /* chain_chunks_needed agrees */
    CHECK_EQ(chain_chunks_needed(&c, c.start + c.len), 0);
    CHECK_EQ(chain_chunks_needed(&c, c.start + c.len + 1), 1);
    CHECK_EQ(chain_chunks_needed(&c, c.start + c.len + POOL_CHUNK + 1), 2);
    CHECK_EQ(chain_chunks_needed(&c, c.start), 0);
    /* free the front chunk: the append goes on */
    chain_drop(&p, &c, POOL_CHUNK + 10, false);
    CHECK_EQ(c.n_chunks, 2);
    CHECK_EQ(c.start, (uint32_t)(UINT32_MAX - 100 + POOL_CHUNK + 10));
    CHECK_EQ(chain_append(&p, &c, src + 3 * POOL_CHUNK, 5000, NULL), POOL_CHUNK);
    chain_read(&p, &c, c.start, out, c.len);
    CHECK_MEM(out, src + POOL_CHUNK + 10, c.len);
    chain_free(&p, &c);
    CHECK_EQ(p.n_free, 3);
    pool_fini(count_alloc, NULL, &p);
}

/* ---- chains against a reference model --------------------------------- */

#define MODEL_SPAN (1u << 20) /* positions a test run may cover */

struct model {
    struct pool_chain c;
    uint32_t origin; /* position of ref[0] */
    uint32_t start;  /* relative to origin */
    uint32_t len;
    uint8_t ref[MODEL_SPAN];
    bool held[MODEL_SPAN]; /* the chain holds this byte (stream or put beyond) */
};

static struct model MA, MB;
static uint8_t buf[8192], out[1u << 17];

static void
model_init(struct model *m, uint32_t origin)
{
    memset(m, 0, sizeof(*m));
    m->origin = origin;
    chain_init(&m->c, origin);
}

/* The chain's bookkeeping agrees with the model. */
static void
model_check(struct model *m)
{
    struct pool_chain *c = &m->c;
    CHECK_EQ(c->start, (uint32_t)(m->origin + m->start));
    CHECK_EQ(c->len, m->len);
    if (c->n_chunks == 0) {
        CHECK_EQ(c->head, POOL_NIL);
        CHECK_EQ(c->base, c->start);
        return;
    }
    /* head holds start, and the chunks reach the last byte held */
    CHECK((uint32_t)(c->start - c->base) < POOL_CHUNK);
    uint32_t end = m->start + m->len;
    for (uint32_t i = end; i < MODEL_SPAN && i < end + 4 * 8192; i++) {
        if (m->held[i]) {
            end = i + 1;
        }
    }
    uint32_t span = m->origin + end - c->base;
    CHECK(c->n_chunks * POOL_CHUNK >= span);
}

static void
fill_random(struct rng *r, uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)rng_next(r);
    }
}

/* Reads [rel, rel + n) from the chain and compares with the model. */
static void
model_read(struct pool *p, struct model *m, uint32_t rel, uint32_t n)
{
    chain_read(p, &m->c, m->origin + rel, out, n);
    CHECK_MEM(out, m->ref + rel, n);
}

/* A send-buffer pattern: appends, reads anywhere, drops that give back
 * everything (held_beyond false). */
static void
step_sender(struct pool *p, struct model *m, struct rng *r, uint32_t *reserved)
{
    uint32_t op = rng_below(r, 10);
    if (op < 4) {
        uint32_t n = 1 + rng_below(r, 5000);
        if (m->start + m->len + n >= MODEL_SPAN) {
            return;
        }
        fill_random(r, buf, n);
        uint32_t room = 0;
        if (m->c.n_chunks > 0) {
            room = m->c.base + m->c.n_chunks * POOL_CHUNK - (m->c.start + m->c.len);
        }
        uint32_t res = reserved != NULL ? *reserved : 0;
        uint64_t cap = room + ((uint64_t)pool_avail(p) + res) * POOL_CHUNK;
        uint32_t want = cap < n ? (uint32_t)cap : n;
        uint32_t got = chain_append(p, &m->c, buf, n, reserved);
        CHECK_EQ(got, want);
        memcpy(m->ref + m->start + m->len, buf, got);
        memset(m->held + m->start + m->len, 1, got);
        m->len += got;
    } else if (op < 7) {
        if (m->len > 0) {
            uint32_t at = rng_below(r, m->len);
            uint32_t n = rng_below(r, m->len - at + 1);
            n = n < sizeof(out) ? n : (uint32_t)sizeof(out);
            model_read(p, m, m->start + at, n);
        }
    } else if (op < 9) {
        uint32_t n = rng_below(r, m->len + 1);
        chain_drop(p, &m->c, n, false);
        memset(m->held + m->start, 0, n);
        m->start += n;
        m->len -= n;
        CHECK(m->c.n_chunks * POOL_CHUNK < m->len + 2 * POOL_CHUNK);
    } else {
        const uint8_t *p1, *p2;
        size_t n1, n2;
        uint32_t got = chain_pieces(p, &m->c, &p1, &n1, &p2, &n2);
        CHECK_EQ(got, n1 + n2);
        CHECK(got <= m->len);
        CHECK(m->len <= 2 * POOL_CHUNK - 1 ? true : got >= POOL_CHUNK + 1);
        if (m->len > 0) {
            CHECK(n1 > 0);
            CHECK(m->len <= n1 || n2 > 0); /* the second piece exists when needed */
            CHECK_MEM(p1, m->ref + m->start, n1);
            if (n2 > 0) {
                CHECK_MEM(p2, m->ref + m->start + n1, n2);
            }
        }
        if (n2 == 0) {
            CHECK(p2 == NULL);
        }
    }
    model_check(m);
}

/* A receive-buffer pattern: out-of-order puts past the stream's end, the
 * gap filled later and joined with extend; drops with held_beyond. */
static void
step_receiver(struct pool *p, struct model *m, struct rng *r)
{
    uint32_t op = rng_below(r, 10);
    uint32_t end = m->start + m->len;
    if (op < 4) {
        uint32_t gap = rng_below(r, 4) == 0 ? 0 : rng_below(r, 6000);
        uint32_t n = 1 + rng_below(r, 3000);
        uint32_t at = end + gap;
        if (at + n >= MODEL_SPAN) {
            return;
        }
        fill_random(r, buf, n);
        uint32_t need = chain_chunks_needed(&m->c, m->origin + at + n);
        uint32_t chunks_before = m->c.n_chunks, avail = pool_avail(p);
        bool ok = chain_put(p, &m->c, m->origin + at, buf, n, NULL);
        CHECK_EQ(ok, need <= avail);
        if (ok) {
            CHECK_EQ(m->c.n_chunks, chunks_before + need);
            memcpy(m->ref + at, buf, n);
            memset(m->held + at, 1, n);
        } else {
            CHECK_EQ(m->c.n_chunks, chunks_before);
            CHECK_EQ(pool_avail(p), avail);
        }
    } else if (op < 6) {
        /* join what is held contiguously after the stream, or part of it */
        uint32_t run = 0;
        while (end + run < MODEL_SPAN && m->held[end + run]) {
            run++;
        }
        uint32_t n = rng_below(r, run + 1);
        chain_extend(&m->c, n);
        m->len += n;
    } else if (op < 8) {
        /* read a held stretch: stream or beyond */
        uint32_t at = m->start + rng_below(r, m->len + 8000);
        uint32_t n = 0;
        while (at + n < MODEL_SPAN && m->held[at + n] && n < 4000) {
            n++;
        }
        if (n > 0) {
            model_read(p, m, at, n);
        }
    } else {
        uint32_t n = rng_below(r, m->len + 1);
        bool beyond = rng_below(r, 4) != 0;
        chain_drop(p, &m->c, n, beyond);
        memset(m->held + m->start, 0, n);
        m->start += n;
        m->len -= n;
        if (!beyond) {
            memset(m->held + m->start + m->len, 0, MODEL_SPAN - (m->start + m->len));
            CHECK(m->c.n_chunks * POOL_CHUNK < m->len + 2 * POOL_CHUNK);
        }
    }
    model_check(m);
}

/* EVIDENCE: chains hold exactly the bytes given to them, across the 2^32
 * wrap, under random appends, puts, extends, reads, drops and frees, and
 * give every chunk back. */
static void
test_chains_model(void)
{
    static const uint32_t origins[] = {UINT32_MAX - 20000, UINT32_MAX - 3, 0, 123456789};
    struct rng r;
    rng_seed(&r, 2024);
    for (size_t o = 0; o < sizeof(origins) / sizeof(origins[0]); o++) {
        stack_setup();
        struct pool p;
        CHECK_EQ(pool_init(count_alloc, NULL, &p, 12 * POOL_CHUNK), TERN_OK);
        model_init(&MA, origins[o]);
        model_init(&MB, origins[o] + 0x40000000u);
        uint32_t reserved = 0;
        for (int i = 0; i < 20000 && MA.start < MODEL_SPAN - 20000 && MB.start < MODEL_SPAN - 20000;
             i++) {
            if (rng_below(&r, 50) == 0) {
                if (reserved == 0) {
                    uint32_t k = rng_below(&r, 4);
                    if (pool_reserve(&p, k)) {
                        reserved = k;
                    }
                } else {
                    pool_unreserve(&p, reserved);
                    reserved = 0;
                }
            }
            if (rng_below(&r, 2000) == 0) {
                chain_free(&p, &MA.c);
                memset(MA.held, 0, sizeof(MA.held));
                MA.start += MA.len;
                MA.len = 0;
                CHECK_EQ(MA.c.n_chunks, 0);
            }
            if (rng_below(&r, 2) == 0) {
                step_sender(&p, &MA, &r, rng_below(&r, 2) ? &reserved : NULL);
            } else {
                step_receiver(&p, &MB, &r);
            }
            CHECK_EQ(p.n_free + MA.c.n_chunks + MB.c.n_chunks, p.n);
            CHECK(p.n_reserved <= p.n_free);
        }
        CHECK(MA.start > 100000); /* the streams moved, across the wrap for some origins */
        CHECK(MB.start > 100000);
        CHECK(p.take_fail > 0); /* the pool ran dry at times */
        pool_unreserve(&p, reserved);
        chain_free(&p, &MA.c);
        chain_free(&p, &MB.c);
        CHECK_EQ(p.n_free, p.n);
        CHECK_EQ(p.n_reserved, 0);
        /* the free list is whole: every chunk can be taken once */
        bool seen[12] = {false};
        for (uint32_t i = 0; i < p.n; i++) {
            uint32_t c = pool_take(&p, NULL);
            CHECK(c < 12 && !seen[c]);
            if (c < 12) {
                seen[c] = true;
            }
        }
        pool_fini(count_alloc, NULL, &p);
        CHECK_EQ(held_bytes, 0);
    }
}

/* Sequential reads walk forward from the remembered chunk, and reads near
 * the front start at head: both give the right bytes on a long chain. */
static void
test_lookup_patterns(void)
{
    stack_setup();
    struct pool p;
    CHECK_EQ(pool_init(count_alloc, NULL, &p, 64 * POOL_CHUNK), TERN_OK);
    static uint8_t src[64 * POOL_CHUNK];
    struct rng r;
    rng_seed(&r, 5);
    fill_random(&r, src, sizeof(src));
    struct pool_chain c;
    uint32_t org = UINT32_MAX - 10 * POOL_CHUNK - 17;
    chain_init(&c, org);
    CHECK_EQ(chain_append(&p, &c, src, sizeof(src), NULL), sizeof(src));
    /* sequential, segment by segment, with a read at the front between two:
     * the front read leaves the remembered chunk where the sequence is */
    for (uint32_t at = 0; at + 1460 <= sizeof(src); at += 1460) {
        chain_read(&p, &c, org + at, out, 1460);
        CHECK_MEM(out, src + at, 1460);
        uint32_t last_chunk = ((at + 1459) / POOL_CHUNK) * POOL_CHUNK;
        if (last_chunk > 0) {
            CHECK(c.cur != POOL_NIL);
            CHECK_EQ(c.cur_pos - c.base, last_chunk);
        }
        uint32_t cur = c.cur, cur_pos = c.cur_pos;
        chain_read(&p, &c, org + 5, out, 100);
        CHECK_MEM(out, src + 5, 100);
        CHECK_EQ(c.cur, cur);
        CHECK_EQ(c.cur_pos, cur_pos);
    }
    chain_free(&p, &c);
    CHECK_EQ(c.start, org + (uint32_t)sizeof(src));
    CHECK_EQ(p.n_free, 64);
    pool_fini(count_alloc, NULL, &p);
}

static int
no_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)ctx;
    (void)netif;
    (void)pkt;
    (void)len;
    (void)next_hop;
    return 0;
}

/* The heap of a stack made from cfg, counted through the allocator hook. */
static long long
stack_heap(struct tern_config *cfg, int *rc, struct tern_stack **stp)
{
    held_bytes = 0;
    cfg->alloc = count_alloc;
    *rc = tern_stack_new(cfg, 0, stp);
    return held_bytes;
}

/* EVIDENCE: cfg.pool_bytes is carved once, in tern_stack_new, into
 * exactly pool_bytes / 2048 chunks (128 KiB by default), shown in stats;
 * an impossible size is refused as invalid; freeing gives it all back. */
static void
test_stack_pool(void)
{
    stack_setup();
    struct tern_config cfg;
    tern_config_init(&cfg);
    CHECK_EQ(cfg.pool_bytes, 131072);
    cfg.seed = 1;
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = TERN_IPV4(10, 0, 0, 1), .prefix_len = 24, .mtu = 1500, .transmit = no_transmit};
    struct tern_stack *st = NULL;
    int rc;
    long long with_pool = stack_heap(&cfg, &rc, &st);
    CHECK_EQ(rc, TERN_OK);
    const struct tern_stats *s = tern_stack_stats(st);
    CHECK_EQ(s->pool.chunks, 64);
    CHECK_EQ(s->pool.avail, 64);
    CHECK_EQ(s->pool.min_avail, 64);
    CHECK_EQ(s->pool.take_fail, 0);
    tern_stack_free(st);
    CHECK_EQ(held_bytes, 0);

    cfg.pool_bytes = 0;
    long long without = stack_heap(&cfg, &rc, &st);
    CHECK_EQ(rc, TERN_OK);
    CHECK_EQ(tern_stack_stats(st)->pool.chunks, 0);
    tern_stack_free(st);
    CHECK_EQ(with_pool - without, 64 * (POOL_CHUNK + 4)); /* chunks and their links */

    cfg.pool_bytes = (size_t)POOL_NIL * POOL_CHUNK; /* 2^32 chunks: not addressable */
    st = (struct tern_stack *)&cfg;
    CHECK_EQ(tern_stack_new(&cfg, 0, &st), TERN_ERR_INVAL);
    CHECK(st == NULL);
    CHECK_EQ(held_bytes, 0);
}

int
main(void)
{
    RUN(test_init_fini);
    RUN(test_take_give);
    RUN(test_reservations);
    RUN(test_empty_pool);
    RUN(test_dry_append);
    RUN(test_chains_model);
    RUN(test_lookup_patterns);
    RUN(test_stack_pool);
    return CHECK_DONE();
}
