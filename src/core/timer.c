/*
 * src/core/timer.c: the hierarchical timing wheel described in timer.h.
 *
 * Invariants, with cur = w->cur and "digit l" meaning bits
 * [6l, 6l + 6) of a tick:
 *   1. every timer in the due heap has tick <= cur;
 *   2. every timer on level l agrees with cur on all digits above l and has
 *      a larger digit l than cur, which names its slot; so the level's
 *      occupied slots all lie above cur's digit l, and each level's timers
 *      are later than the lower levels' timers and earlier than the higher
 *      levels';
 *   3. every overflow timer lies beyond cur's top-level block;
 *   4. when the bit of a slot is set in min_valid, slot_min holds the
 *      smallest expires_ns in that slot; occupied mirrors the non-empty
 *      slots.
 * So the earliest armed timer is the due heap's root if there is one, else
 * in the first occupied slot of the lowest occupied level, else in the
 * overflow list.
 *
 * Ticks are computed from expires_ns with the sign bit flipped, which maps
 * int64_t onto uint64_t in order, so all tick arithmetic is unsigned and
 * negative times work like any others.
 */
#include "core/timer.h"

#include <assert.h>

#define TICK_BIAS     UINT64_C(0x8000000000000000)
#define SLOT_MASK     ((uint64_t)TIMER_SLOTS - 1)
#define OVERFLOW_SLOT (TIMER_LEVELS * TIMER_SLOTS)
#define WHEEL_BITS    (TIMER_LEVELS * TIMER_LEVEL_BITS) /* ticks spanned by the wheel, log2 */

_Static_assert(TIMER_SLOTS == 64, "one uint64_t bitmap word per level");
_Static_assert(TIMER_TICK_SHIFT + WHEEL_BITS < 64, "wheel span must fit the tick range");
_Static_assert(OVERFLOW_SLOT / 64 == TIMER_LEVELS && OVERFLOW_SLOT % 64 == 0,
               "the overflow list is bit 0 of the last bitmap word");

static uint64_t
tick_of(int64_t ns)
{
    return ((uint64_t)ns ^ TICK_BIAS) >> TIMER_TICK_SHIFT;
}

/* The first nanosecond of a tick (inverse of tick_of on tick boundaries). */
static int64_t
ns_of_tick(uint64_t tick)
{
    uint64_t u = tick << TIMER_TICK_SHIFT;
    if (u >= TICK_BIAS) {
        return (int64_t)(u - TICK_BIAS);
    }
    return (int64_t)u - INT64_MAX - 1;
}

static unsigned
lowest_bit(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

static unsigned
highest_bit(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return 63u - (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (x >>= 1) {
        n++;
    }
    return n;
#endif
}

/* Strict total order of the firing sequence. */
static bool
fires_before(const struct timer *a, const struct timer *b)
{
    /* seq wraps at 2^32 armings; two timers due at the same instant were
     * armed far fewer than 2^31 armings apart, so the difference orders them. */
    return a->expires_ns < b->expires_ns ||
           (a->expires_ns == b->expires_ns && (int32_t)(a->seq - b->seq) < 0);
}

/* --- due heap: an intrusive pairing heap --------------------------------- */

/* Meld two heap roots; the later one becomes the first child of the earlier,
 * which is returned with its own next/prev left for the caller to set. */
static struct timer *
heap_meld(struct timer *a, struct timer *b)
{
    if (fires_before(b, a)) {
        struct timer *tmp = a;
        a = b;
        b = tmp;
    }
    b->prev = a;
    b->next = a->child;
    if (a->child) {
        a->child->prev = b;
    }
    a->child = b;
    return a;
}

/* Two-pass pairing of a non-empty sibling list into one root: meld pairs left
 * to right, then fold the pairs right to left. */
static struct timer *
heap_combine(struct timer *first)
{
    struct timer *pairs = NULL; /* melded pairs, last one first */
    while (first) {
        struct timer *a = first;
        struct timer *b = a->next;
        if (!b) {
            a->next = pairs;
            pairs = a;
            break;
        }
        first = b->next;
        struct timer *m = heap_meld(a, b);
        m->next = pairs;
        pairs = m;
    }
    struct timer *root = pairs;
    pairs = pairs->next;
    while (pairs) {
        struct timer *n = pairs->next;
        root = heap_meld(root, pairs);
        pairs = n;
    }
    root->next = NULL;
    root->prev = NULL;
    return root;
}

static void
heap_set_root(struct timer_wheel *w, struct timer *root)
{
    if (root) {
        root->next = NULL;
        root->prev = NULL;
    }
    w->heap = root;
}

static void
heap_push(struct timer_wheel *w, struct timer *t)
{
    t->next = NULL;
    t->prev = NULL;
    t->child = NULL;
    t->where = TIMER_WHERE_HEAP;
    heap_set_root(w, w->heap ? heap_meld(w->heap, t) : t);
}

static void
heap_pop(struct timer_wheel *w)
{
    struct timer *root = w->heap;
    heap_set_root(w, root->child ? heap_combine(root->child) : NULL);
}

static void
heap_remove(struct timer_wheel *w, struct timer *t)
{
    if (t == w->heap) {
        heap_pop(w);
        return;
    }
    /* t->prev is its parent when t is the first child, else its left sibling. */
    if (t->prev->child == t) {
        t->prev->child = t->next;
    } else {
        t->prev->next = t->next;
    }
    if (t->next) {
        t->next->prev = t->prev;
    }
    if (t->child) {
        heap_set_root(w, heap_meld(w->heap, heap_combine(t->child)));
    }
}

/* --- wheel slots and overflow list --------------------------------------- */

static void
slot_push(struct timer_wheel *w, struct timer *t, unsigned idx)
{
    struct timer *head = w->slot[idx];
    uint64_t bit = UINT64_C(1) << (idx % 64);
    unsigned word = idx / 64;

    t->prev = NULL;
    t->child = NULL;
    t->next = head;
    if (head) {
        head->prev = t;
        if ((w->min_valid[word] & bit) && t->expires_ns < w->slot_min[idx]) {
            w->slot_min[idx] = t->expires_ns;
        }
    } else {
        w->occupied[word] |= bit;
        w->min_valid[word] |= bit;
        w->slot_min[idx] = t->expires_ns;
    }
    w->slot[idx] = t;
    t->where = TIMER_WHERE_SLOT + idx;
}

static void
slot_unlink(struct timer_wheel *w, struct timer *t, unsigned idx)
{
    uint64_t bit = UINT64_C(1) << (idx % 64);
    unsigned word = idx / 64;

    if (t->prev) {
        t->prev->next = t->next;
    } else {
        w->slot[idx] = t->next;
    }
    if (t->next) {
        t->next->prev = t->prev;
    }
    if (!w->slot[idx]) {
        w->occupied[word] &= ~bit;
        w->min_valid[word] &= ~bit;
    } else if (t->expires_ns == w->slot_min[idx]) {
        w->min_valid[word] &= ~bit; /* another timer may hold the minimum; unknown */
    }
}

/* File an armed timer (expires_ns and seq set) relative to w->cur. */
static void
place(struct timer_wheel *w, struct timer *t)
{
    uint64_t tick = tick_of(t->expires_ns);
    if (tick <= w->cur) {
        heap_push(w, t);
        return;
    }
    unsigned level = highest_bit(tick ^ w->cur) / TIMER_LEVEL_BITS;
    if (level >= TIMER_LEVELS) {
        slot_push(w, t, OVERFLOW_SLOT);
        return;
    }
    unsigned digit = (unsigned)((tick >> (level * TIMER_LEVEL_BITS)) & SLOT_MASK);
    slot_push(w, t, level * TIMER_SLOTS + digit);
}

/* Take t out of wherever it is filed; leaves it marked idle. */
static void
detach(struct timer_wheel *w, struct timer *t)
{
    if (t->where == TIMER_WHERE_HEAP) {
        heap_remove(w, t);
    } else {
        slot_unlink(w, t, t->where - TIMER_WHERE_SLOT);
    }
    t->where = TIMER_WHERE_IDLE;
}

/* The earliest occupied slot (invariant 2 and 3) and the first tick it
 * covers. False when the wheel and the overflow list are empty. */
static bool
first_slot(const struct timer_wheel *w, unsigned *idx, uint64_t *start)
{
    for (unsigned level = 0; level < TIMER_LEVELS; level++) {
        if (w->occupied[level]) {
            unsigned digit = lowest_bit(w->occupied[level]);
            unsigned shift = level * TIMER_LEVEL_BITS;
            uint64_t above = w->cur >> (shift + TIMER_LEVEL_BITS) << (shift + TIMER_LEVEL_BITS);
            *idx = level * TIMER_SLOTS + digit;
            *start = above | ((uint64_t)digit << shift);
            return true;
        }
    }
    if (w->occupied[TIMER_LEVELS]) {
        *idx = OVERFLOW_SLOT;
        *start = ((w->cur >> WHEEL_BITS) + 1) << WHEEL_BITS;
        return true;
    }
    return false;
}

/* Move cur to the start of slot idx and refile its timers: each lands on a
 * lower level, or in the due heap, or (overflow only) back in overflow. */
static void
redistribute(struct timer_wheel *w, unsigned idx)
{
    struct timer *t = w->slot[idx];
    uint64_t bit = UINT64_C(1) << (idx % 64);

    w->slot[idx] = NULL;
    w->occupied[idx / 64] &= ~bit;
    w->min_valid[idx / 64] &= ~bit;
    while (t) {
        struct timer *next = t->next;
        place(w, t);
        t = next;
    }
}

/* --- public API ----------------------------------------------------------- */

void
timer_wheel_init(struct timer_wheel *w, int64_t now_ns)
{
    *w = (struct timer_wheel){0};
    w->now_ns = now_ns;
    w->cur = tick_of(now_ns);
}

void
timer_init(struct timer *t, timer_fn fn)
{
    *t = (struct timer){0};
    t->fn = fn;
    t->where = TIMER_WHERE_IDLE;
}

void
timer_arm(struct timer_wheel *w, struct timer *t, int64_t expires_ns)
{
    if (t->where != TIMER_WHERE_IDLE) {
        detach(w, t);
    } else {
        w->count++;
    }
    t->expires_ns = expires_ns;
    t->seq = w->seq++;
    place(w, t);
}

void
timer_cancel(struct timer_wheel *w, struct timer *t)
{
    if (t->where == TIMER_WHERE_IDLE) {
        return;
    }
    detach(w, t);
    w->count--;
}

bool
timer_armed(const struct timer *t)
{
    return t->where != TIMER_WHERE_IDLE;
}

void
timer_wheel_advance(struct timer_wheel *w, int64_t now_ns, void *ctx)
{
    assert(!w->advancing && "timer_wheel_advance called from a timer callback");
    if (now_ns < w->now_ns) {
        return;
    }
    w->advancing = true;
    w->now_ns = now_ns;
    uint64_t target = tick_of(now_ns);
    for (;;) {
        /* The heap root is the earliest armed timer (invariants 1-3). */
        while (w->heap && w->heap->expires_ns <= now_ns) {
            struct timer *t = w->heap;
            heap_pop(w);
            t->where = TIMER_WHERE_IDLE;
            w->count--;
            t->fn(ctx, t, now_ns);
        }
        /* >=, not ==: should a callback advance the wheel anyway (a bug the
         * assert above reports in debug builds), cur may already be past
         * target, and it must never move back. */
        if (w->cur >= target) {
            break;
        }
        unsigned idx;
        uint64_t start;
        if (!first_slot(w, &idx, &start) || start > target) {
            /* No slot begins by target, so jumping there keeps invariant 2. */
            w->cur = target;
            break;
        }
        w->cur = start;
        redistribute(w, idx);
    }
    w->advancing = false;
}

int64_t
timer_wheel_next_deadline(const struct timer_wheel *w)
{
    if (w->heap) {
        return w->heap->expires_ns;
    }
    unsigned idx;
    uint64_t start;
    if (!first_slot(w, &idx, &start)) {
        return INT64_MAX;
    }
    if (w->min_valid[idx / 64] & (UINT64_C(1) << (idx % 64))) {
        return w->slot_min[idx];
    }
    int64_t min = INT64_MAX;
    const struct timer *t = w->slot[idx];
    for (int n = 0; t && n < TIMER_SCAN_LIMIT; n++, t = t->next) {
        if (t->expires_ns < min) {
            min = t->expires_ns;
        }
    }
    return t ? ns_of_tick(start) : min;
}

size_t
timer_wheel_count(const struct timer_wheel *w)
{
    return w->count;
}

int64_t
timer_wheel_now(const struct timer_wheel *w)
{
    return w->now_ns;
}
