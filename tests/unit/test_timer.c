/*
 * tests/unit/test_timer.c: the timing wheel (src/core/timer.c).
 *
 * Hand-written cases for each guarantee of timer.h, then a randomized
 * differential test: the same arms, cancels, advances and callback actions
 * applied to the wheel and to a plain binary heap must fire the same timers
 * in the same order at the same times.
 */
#include "core/timer.h"

#include <stdlib.h>

#include "check.h"
#include "core/rng.h"

#define US   INT64_C(1000)
#define MS   INT64_C(1000000)
#define SEC  INT64_C(1000000000)
#define DAY  (86400 * SEC)
#define TICK (INT64_C(1) << TIMER_TICK_SHIFT)

/* --- a small fixture: items that log their firing ------------------------ */

struct item {
    int id;
    struct timer t;
};

enum { LOG_MAX = 64 };

struct log {
    int n;
    int id[LOG_MAX];
    int64_t at[LOG_MAX];
};

static void
log_fire(void *ctx, struct timer *t, int64_t now_ns)
{
    struct log *log = ctx;
    struct item *it = TIMER_CONTAINER(t, struct item, t);
    CHECK(!timer_armed(t));
    CHECK(now_ns >= t->expires_ns); /* never early */
    if (log->n < LOG_MAX) {
        log->id[log->n] = it->id;
        log->at[log->n] = now_ns;
    }
    log->n++;
}

static void
items_init(struct item *items, int n, timer_fn fn)
{
    for (int i = 0; i < n; i++) {
        items[i].id = i;
        timer_init(&items[i].t, fn);
    }
}

/* --- basic guarantees ---------------------------------------------------- */

static void
test_container_and_init(void)
{
    struct item it;
    items_init(&it, 1, log_fire);
    CHECK(TIMER_CONTAINER(&it.t, struct item, t) == &it);
    CHECK(!timer_armed(&it.t));

    struct timer_wheel w;
    timer_wheel_init(&w, 5 * SEC);
    CHECK_EQ(timer_wheel_count(&w), 0);
    CHECK_EQ(timer_wheel_now(&w), 5 * SEC);
    CHECK(timer_wheel_next_deadline(&w) == INT64_MAX);
}

/* Deadlines spread over every level, within one tick, and tied; armed in a
 * scrambled order. They fire by expires_ns, ties in arming order. */
static void
test_fires_in_expiry_order(void)
{
    /* id -> deadline; ids 6 and 2 tie at 3 ms, armed 6 first. */
    static const int64_t when[] = {
        [0] = 70 * DAY, [1] = 5 * US, [2] = 3 * MS,     [3] = 4 * US,     [4] = 2 * SEC,
        [5] = 90 * MS,  [6] = 3 * MS, [7] = 5 * US + 1, [8] = 3 * MS - 1, [9] = 10 * 365 * DAY,
    };
    static const int arm_order[] = {0, 9, 6, 5, 1, 4, 2, 8, 7, 3};
    static const int expect[] = {3, 1, 7, 8, 6, 2, 5, 4, 0, 9};
    struct item items[10];
    struct timer_wheel w;
    struct log log = {0};
    items_init(items, 10, log_fire);
    timer_wheel_init(&w, 0);
    for (int i = 0; i < 10; i++) {
        timer_arm(&w, &items[arm_order[i]].t, when[arm_order[i]]);
    }
    CHECK_EQ(timer_wheel_count(&w), 10);

    timer_wheel_advance(&w, 11 * 365 * DAY, &log);
    CHECK_EQ(log.n, 10);
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(log.id[i], expect[i]);
    }
    CHECK_EQ(timer_wheel_count(&w), 0);
    CHECK(timer_wheel_next_deadline(&w) == INT64_MAX);
}

/* A timer never fires before expires_ns and fires on the first advance that
 * reaches it, for deadlines on and around tick and level boundaries. */
static void
test_never_early_first_advance(void)
{
    static const int64_t deadlines[] = {
        1,
        999,
        US,
        TICK - 1,
        TICK,
        TICK + 1,
        64 * TICK - 1,
        64 * TICK,
        64 * TICK + 1,
        4096 * TICK,
        MS,
        200 * MS,
        SEC + 1,
        60 * SEC,
        2 * 3600 * SEC,
        3 * DAY + 7,
        400 * DAY,
        12 * 365 * DAY,
    };
    for (size_t k = 0; k < sizeof deadlines / sizeof deadlines[0]; k++) {
        int64_t e = deadlines[k];
        struct item it;
        struct timer_wheel w;
        struct log log = {0};
        items_init(&it, 1, log_fire);
        timer_wheel_init(&w, 0);
        timer_arm(&w, &it.t, e);
        CHECK(timer_wheel_next_deadline(&w) == e);

        /* Approach in steps that land on both sides of tick boundaries. */
        int64_t now = 0;
        while (now + e / 7 + 1 < e) {
            now += e / 7 + 1;
            timer_wheel_advance(&w, now, &log);
        }
        timer_wheel_advance(&w, e - 1, &log);
        CHECK_EQ(log.n, 0);
        CHECK(timer_wheel_next_deadline(&w) == e);
        timer_wheel_advance(&w, e, &log);
        CHECK_EQ(log.n, 1);
        CHECK(log.at[0] == e);
    }
}

/* One big jump fires the timer with the jump's time as now. */
static void
test_fires_with_now_of_the_advance(void)
{
    struct item it;
    struct timer_wheel w;
    struct log log = {0};
    items_init(&it, 1, log_fire);
    timer_wheel_init(&w, 0);
    timer_arm(&w, &it.t, 3 * MS);
    timer_wheel_advance(&w, 9 * SEC, &log);
    CHECK_EQ(log.n, 1);
    CHECK(log.at[0] == 9 * SEC);
}

static void
test_cancel(void)
{
    struct item items[4];
    struct timer_wheel w;
    struct log log = {0};
    items_init(items, 4, log_fire);
    timer_wheel_init(&w, 0);

    /* Cancelling an idle timer is a no-op. */
    timer_cancel(&w, &items[0].t);
    CHECK_EQ(timer_wheel_count(&w), 0);

    /* One timer in each place: due heap (past), level 0, level 3, overflow. */
    timer_arm(&w, &items[0].t, -5);
    timer_arm(&w, &items[1].t, 10 * US + TICK);
    timer_arm(&w, &items[2].t, 100 * SEC);
    timer_arm(&w, &items[3].t, 20 * 365 * DAY);
    CHECK_EQ(timer_wheel_count(&w), 4);
    for (int i = 0; i < 4; i++) {
        CHECK(timer_armed(&items[i].t));
        timer_cancel(&w, &items[i].t);
        CHECK(!timer_armed(&items[i].t));
        timer_cancel(&w, &items[i].t); /* twice: still a no-op */
    }
    CHECK_EQ(timer_wheel_count(&w), 0);
    CHECK(timer_wheel_next_deadline(&w) == INT64_MAX);
    timer_wheel_advance(&w, 30 * 365 * DAY, &log);
    CHECK_EQ(log.n, 0);

    /* A cancelled timer can be armed again. */
    timer_arm(&w, &items[2].t, 31 * 365 * DAY);
    timer_wheel_advance(&w, 31 * 365 * DAY, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.id[0], 2);
}

static void
test_rearm_moves(void)
{
    struct item items[3];
    struct timer_wheel w;
    struct log log = {0};
    items_init(items, 3, log_fire);
    timer_wheel_init(&w, 0);

    timer_arm(&w, &items[0].t, 10 * MS);
    timer_arm(&w, &items[0].t, 5 * SEC); /* later */
    CHECK_EQ(timer_wheel_count(&w), 1);
    CHECK(timer_wheel_next_deadline(&w) == 5 * SEC);
    timer_wheel_advance(&w, 1 * SEC, &log);
    CHECK_EQ(log.n, 0);
    timer_arm(&w, &items[0].t, 2 * SEC); /* earlier */
    CHECK(timer_wheel_next_deadline(&w) == 2 * SEC);
    timer_wheel_advance(&w, 2 * SEC, &log);
    CHECK_EQ(log.n, 1);
    timer_wheel_advance(&w, 10 * SEC, &log);
    CHECK_EQ(log.n, 1); /* fired once, not again at 5 s */

    /* Re-arming to the same deadline counts as arming anew for ties. */
    log.n = 0;
    timer_arm(&w, &items[1].t, 11 * SEC);
    timer_arm(&w, &items[2].t, 11 * SEC);
    timer_arm(&w, &items[1].t, 11 * SEC);
    timer_wheel_advance(&w, 11 * SEC, &log);
    CHECK_EQ(log.n, 2);
    CHECK_EQ(log.id[0], 2);
    CHECK_EQ(log.id[1], 1);
}

/* Timers already due when armed fire on the next advance, even one at the
 * same time; an advance to an older time does nothing at all. */
static void
test_past_deadlines_and_time_forward(void)
{
    struct item items[3];
    struct timer_wheel w;
    struct log log = {0};
    items_init(items, 3, log_fire);
    timer_wheel_init(&w, 10 * SEC);

    timer_arm(&w, &items[0].t, 10 * SEC - 1);
    timer_arm(&w, &items[1].t, INT64_MIN);
    timer_arm(&w, &items[2].t, 10 * SEC);
    CHECK(timer_wheel_next_deadline(&w) == INT64_MIN);

    timer_wheel_advance(&w, 9 * SEC, &log); /* older: no-op */
    CHECK_EQ(log.n, 0);
    CHECK_EQ(timer_wheel_now(&w), 10 * SEC);
    CHECK_EQ(timer_wheel_count(&w), 3);

    timer_wheel_advance(&w, 10 * SEC, &log); /* same time: fires */
    CHECK_EQ(log.n, 3);
    CHECK_EQ(log.id[0], 1);
    CHECK_EQ(log.id[1], 0);
    CHECK_EQ(log.id[2], 2);

    /* After a later advance, an advance back to 10 s leaves a timer due at
     * 10 s alone; it fires at the next advance that is not older. */
    timer_wheel_advance(&w, 20 * SEC, &log);
    timer_arm(&w, &items[0].t, 10 * SEC);
    timer_wheel_advance(&w, 15 * SEC, &log);
    CHECK_EQ(log.n, 3);
    timer_wheel_advance(&w, 20 * SEC, &log);
    CHECK_EQ(log.n, 4);
    CHECK(log.at[3] == 20 * SEC);

    /* Even one nanosecond older is a no-op, for a timer due at that time. */
    timer_arm(&w, &items[1].t, 20 * SEC - 1);
    timer_wheel_advance(&w, 20 * SEC - 1, &log);
    CHECK_EQ(log.n, 4);
    CHECK_EQ(timer_wheel_now(&w), 20 * SEC);
    timer_wheel_advance(&w, 20 * SEC, &log);
    CHECK_EQ(log.n, 5);
}

/* Times below zero and across it behave like any others. */
static void
test_negative_times(void)
{
    struct item items[3];
    struct timer_wheel w;
    struct log log = {0};
    items_init(items, 3, log_fire);
    timer_wheel_init(&w, -3 * SEC);
    timer_arm(&w, &items[0].t, 1 * SEC);
    timer_arm(&w, &items[1].t, -1);
    timer_arm(&w, &items[2].t, 0);
    CHECK(timer_wheel_next_deadline(&w) == -1);
    timer_wheel_advance(&w, -2, &log);
    CHECK_EQ(log.n, 0);
    timer_wheel_advance(&w, -1, &log);
    CHECK_EQ(log.n, 1);
    CHECK(timer_wheel_next_deadline(&w) == 0);
    timer_wheel_advance(&w, SEC, &log);
    CHECK_EQ(log.n, 3);
    CHECK_EQ(log.id[1], 2);
    CHECK_EQ(log.id[2], 0);
}

static void
test_far_future(void)
{
    struct item items[4];
    struct timer_wheel w;
    struct log log = {0};
    items_init(items, 4, log_fire);
    timer_wheel_init(&w, 0);
    timer_arm(&w, &items[0].t, 3 * DAY + 17);
    timer_arm(&w, &items[1].t, 200 * DAY + 5);
    timer_arm(&w, &items[2].t, 50 * 365 * DAY + 3); /* beyond the wheel: overflow */
    timer_arm(&w, &items[3].t, INT64_MAX);
    CHECK(timer_wheel_next_deadline(&w) == 3 * DAY + 17);

    /* Hop a day at a time: nothing early, each on the first hop past it. */
    int64_t now = 0;
    while (log.n < 1) {
        now += DAY;
        timer_wheel_advance(&w, now, &log);
    }
    CHECK(now == 4 * DAY);
    CHECK(timer_wheel_next_deadline(&w) == 200 * DAY + 5);
    timer_wheel_advance(&w, 200 * DAY + 4, &log);
    CHECK_EQ(log.n, 1);
    timer_wheel_advance(&w, 200 * DAY + 5, &log);
    CHECK_EQ(log.n, 2);

    CHECK(timer_wheel_next_deadline(&w) == 50 * 365 * DAY + 3);
    for (int y = 1; y <= 50; y++) {
        timer_wheel_advance(&w, y * 365 * DAY, &log);
    }
    CHECK_EQ(log.n, 2);
    CHECK(timer_wheel_next_deadline(&w) == 50 * 365 * DAY + 3);
    timer_wheel_advance(&w, 50 * 365 * DAY + 3, &log);
    CHECK_EQ(log.n, 3);
    CHECK(timer_wheel_next_deadline(&w) == INT64_MAX); /* items[3] is armed at INT64_MAX */
    CHECK_EQ(timer_wheel_count(&w), 1);
    timer_wheel_advance(&w, INT64_MAX - 1, &log);
    CHECK_EQ(log.n, 3);
    timer_wheel_advance(&w, INT64_MAX, &log);
    CHECK_EQ(log.n, 4);
    CHECK_EQ(timer_wheel_count(&w), 0);
}

/* --- callbacks that arm and cancel ---------------------------------------- */

struct cb_ctx {
    struct timer_wheel *w;
    struct item *items;
    struct log log;
    int periodic_left;
};

/* id 0: periodic, re-arms itself 10 ms on, periodic_left times.
 * id 1: arms id 2 just before now (fires in the same advance) and id 3 a
 *       second later.
 * id 4: cancels id 5, which is due at the same time. */
static void
cb_fire(void *ctx, struct timer *t, int64_t now_ns)
{
    struct cb_ctx *c = ctx;
    struct item *it = TIMER_CONTAINER(t, struct item, t);
    log_fire(&c->log, t, now_ns);
    switch (it->id) {
    case 0:
        if (c->periodic_left-- > 0) {
            timer_arm(c->w, t, t->expires_ns + 10 * MS);
        }
        break;
    case 1:
        timer_arm(c->w, &c->items[2].t, now_ns - 1);
        timer_arm(c->w, &c->items[3].t, now_ns + SEC);
        break;
    case 4:
        CHECK(timer_armed(&c->items[5].t));
        timer_cancel(c->w, &c->items[5].t);
        break;
    default:
        break;
    }
}

static void
test_arm_inside_callback(void)
{
    struct item items[6];
    struct timer_wheel w;
    struct cb_ctx c = {.w = &w, .items = items, .periodic_left = 4};
    items_init(items, 6, cb_fire);
    timer_wheel_init(&w, 0);

    /* The periodic timer re-arms from expires_ns, so one long advance fires
     * all five periods, each after the previous. */
    timer_arm(&w, &items[0].t, 10 * MS);
    timer_wheel_advance(&w, 35 * MS, &c);
    CHECK_EQ(c.log.n, 3); /* 10, 20, 30 ms */
    CHECK(timer_armed(&items[0].t));
    CHECK(items[0].t.expires_ns == 40 * MS);
    timer_wheel_advance(&w, SEC, &c);
    CHECK_EQ(c.log.n, 5); /* 40, 50 ms; then periodic_left ran out */
    CHECK(!timer_armed(&items[0].t));

    /* id 1 at 2 s arms id 2 just before 'now' (fires in the same advance,
     * after id 1) and id 3 a second later (not yet). */
    c.log.n = 0;
    timer_arm(&w, &items[1].t, 2 * SEC);
    timer_wheel_advance(&w, 2 * SEC + 500 * MS, &c);
    CHECK_EQ(c.log.n, 2);
    CHECK_EQ(c.log.id[0], 1);
    CHECK_EQ(c.log.id[1], 2);
    CHECK(c.log.at[1] == 2 * SEC + 500 * MS);
    CHECK(items[3].t.expires_ns == 3 * SEC + 500 * MS);
    timer_wheel_advance(&w, 3 * SEC + 500 * MS, &c);
    CHECK_EQ(c.log.n, 3);
    CHECK_EQ(c.log.id[2], 3);
}

/* A timer armed in a callback for a time earlier than the remaining due
 * timers still fires in expiry order. */
static void
test_arm_in_callback_keeps_order(void)
{
    struct item items[6];
    struct timer_wheel w;
    struct cb_ctx c = {.w = &w, .items = items};
    items_init(items, 6, cb_fire);
    timer_wheel_init(&w, 0);
    timer_arm(&w, &items[1].t, 1 * SEC);  /* arms 2 at now - 1 and 3 at now + 1 s */
    timer_arm(&w, &items[5].t, 20 * SEC); /* due, but after the 2 that 1 arms */
    timer_arm(&w, &items[4].t, 30 * SEC); /* not due */
    timer_wheel_advance(&w, 20 * SEC, &c);
    /* 1 (1 s), 2 (20 s - 1, armed during the advance), 5 (20 s); 3 waits. */
    CHECK_EQ(c.log.n, 3);
    CHECK_EQ(c.log.id[0], 1);
    CHECK_EQ(c.log.id[1], 2);
    CHECK_EQ(c.log.id[2], 5);
    CHECK(timer_armed(&items[3].t));
}

static void
test_cancel_other_inside_callback(void)
{
    struct item items[6];
    struct timer_wheel w;
    struct cb_ctx c = {.w = &w, .items = items};
    items_init(items, 6, cb_fire);
    timer_wheel_init(&w, 0);

    /* Same deadline: 4 is armed first, fires first, cancels 5. */
    timer_arm(&w, &items[4].t, 7 * MS);
    timer_arm(&w, &items[5].t, 7 * MS);
    timer_wheel_advance(&w, 8 * MS, &c);
    CHECK_EQ(c.log.n, 1);
    CHECK_EQ(c.log.id[0], 4);
    CHECK_EQ(timer_wheel_count(&w), 0);

    /* 5 far away on a high level: cancelled from there. */
    timer_arm(&w, &items[4].t, 10 * MS);
    timer_arm(&w, &items[5].t, 5 * DAY);
    timer_wheel_advance(&w, 10 * DAY, &c);
    CHECK_EQ(c.log.n, 2);
    CHECK_EQ(timer_wheel_count(&w), 0);
}

/* Many timers inside one tick, armed in scrambled order: exact order. */
static void
test_many_in_one_tick(void)
{
    enum { N = 5000 };
    struct item *items = calloc(N, sizeof *items);
    struct timer_wheel w;
    struct rng r;
    CHECK(items != NULL);
    if (!items) {
        return;
    }
    items_init(items, N, log_fire);
    rng_seed(&r, 3);
    int64_t base = 5 * SEC;
    timer_wheel_init(&w, base);
    for (int i = 0; i < N; i++) {
        timer_arm(&w, &items[i].t, base + (int64_t)rng_below(&r, 2000));
    }
    /* Cancel every third one; with the due heap at this size this exercises
     * removal from the middle of the pairing heap. */
    for (int i = 0; i < N; i += 3) {
        timer_cancel(&w, &items[i].t);
    }
    int64_t last = INT64_MIN;
    uint64_t last_seq = 0;
    int fired = 0, order_ok = 1;
    /* Advance to each next deadline in turn: every step fires the timers due
     * exactly then, in order. */
    for (int steps = 0; timer_wheel_count(&w) > 0 && steps < N; steps++) {
        int64_t d = timer_wheel_next_deadline(&w);
        struct log log = {0};
        timer_wheel_advance(&w, d, &log);
        CHECK(log.n >= 1);
        for (int k = 0; k < log.n && k < LOG_MAX; k++) {
            struct item *it = &items[log.id[k]];
            int64_t e = it->t.expires_ns;
            if (e < last || (e == last && it->t.seq < last_seq) || e != d) {
                order_ok = 0;
            }
            last = e;
            last_seq = it->t.seq;
        }
        fired += log.n;
    }
    CHECK(order_ok);
    CHECK_EQ(fired, N - (N + 2) / 3);
    CHECK_EQ(timer_wheel_count(&w), 0);
    free(items);
}

static void
test_next_deadline(void)
{
    struct item items[40];
    struct timer_wheel w;
    struct log log = {0};
    items_init(items, 40, log_fire);
    timer_wheel_init(&w, 0);
    CHECK(timer_wheel_next_deadline(&w) == INT64_MAX);

    /* Exact for a lone timer on every level. */
    static const int64_t lone[] = {3,           TICK + 3,      100 * TICK + 3,    5 * SEC + 3,
                                   3 * DAY + 3, 100 * DAY + 3, 20 * 365 * DAY + 3};
    for (size_t k = 0; k < sizeof lone / sizeof lone[0]; k++) {
        timer_arm(&w, &items[0].t, lone[k]);
        CHECK(timer_wheel_next_deadline(&w) == lone[k]);
    }
    timer_cancel(&w, &items[0].t);

    /* Cancelling the earliest of a few timers in a slot: still exact (the
     * slot is rescanned). */
    for (int i = 0; i < 5; i++) {
        timer_arm(&w, &items[i].t, 2 * SEC + i);
    }
    CHECK(timer_wheel_next_deadline(&w) == 2 * SEC);
    timer_cancel(&w, &items[0].t);
    CHECK(timer_wheel_next_deadline(&w) == 2 * SEC + 1);
    timer_cancel(&w, &items[2].t);
    CHECK(timer_wheel_next_deadline(&w) == 2 * SEC + 1);
    for (int i = 0; i < 5; i++) {
        timer_cancel(&w, &items[i].t);
    }

    /* More than TIMER_SCAN_LIMIT timers in the earliest slot, minimum
     * cancelled: the answer may be the slot's start, which is before the
     * earliest expiry and after now. One advance to it makes it exact. */
    int64_t base = 3 * SEC + 12345;
    for (int i = 0; i < 40; i++) {
        timer_arm(&w, &items[i].t, base + 1000 * i);
    }
    timer_cancel(&w, &items[0].t);
    int64_t d = timer_wheel_next_deadline(&w);
    CHECK(d < base + 1000);
    CHECK(d > timer_wheel_now(&w));
    timer_wheel_advance(&w, d, &log);
    CHECK_EQ(log.n, 0);
    d = timer_wheel_next_deadline(&w);
    CHECK(d == base + 1000);
    CHECK_EQ(log.n, 0);
    timer_wheel_advance(&w, d, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.id[0], 1);
    CHECK(timer_wheel_next_deadline(&w) == base + 2000);
}

/* --- differential test against a binary heap ------------------------------ */

/* Reference: an indexed binary min-heap on (expires, seq). */
struct ref {
    int *heap;     /* ids */
    int *pos;      /* id -> index in heap, or -1 */
    int64_t *exp;  /* id -> expires */
    uint64_t *seq; /* id -> arming sequence */
    int n;
    uint64_t next_seq;
};

static bool
ref_less(const struct ref *h, int a, int b)
{
    return h->exp[a] < h->exp[b] || (h->exp[a] == h->exp[b] && h->seq[a] < h->seq[b]);
}

static void
ref_swap(struct ref *h, int i, int j)
{
    int a = h->heap[i], b = h->heap[j];
    h->heap[i] = b;
    h->heap[j] = a;
    h->pos[b] = i;
    h->pos[a] = j;
}

static void
ref_fix(struct ref *h, int i)
{
    while (i > 0 && ref_less(h, h->heap[i], h->heap[(i - 1) / 2])) {
        ref_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        int m = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < h->n && ref_less(h, h->heap[l], h->heap[m])) {
            m = l;
        }
        if (r < h->n && ref_less(h, h->heap[r], h->heap[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        ref_swap(h, i, m);
        i = m;
    }
}

static void
ref_cancel(struct ref *h, int id)
{
    int i = h->pos[id];
    if (i < 0) {
        return;
    }
    h->pos[id] = -1;
    h->n--;
    if (i != h->n) {
        h->heap[i] = h->heap[h->n];
        h->pos[h->heap[i]] = i;
        ref_fix(h, i);
    }
}

static void
ref_arm(struct ref *h, int id, int64_t e)
{
    ref_cancel(h, id);
    h->exp[id] = e;
    h->seq[id] = h->next_seq++;
    h->heap[h->n] = id;
    h->pos[id] = h->n;
    h->n++;
    ref_fix(h, h->n - 1);
}

/* One side of the differential test: the wheel or the reference, with the
 * log of what fired and the generator that drives callback actions. */
struct side {
    bool is_ref;
    struct timer_wheel *w;
    struct item *items;
    struct ref *ref;
    struct rng rng; /* reseeded identically on both sides before each advance */
    int past_budget;
    int nids;
    int *fired;
    int64_t *fired_at;
    size_t nfired, cap;
};

static void
side_arm(struct side *s, int id, int64_t e)
{
    if (s->is_ref) {
        ref_arm(s->ref, id, e);
    } else {
        timer_arm(s->w, &s->items[id].t, e);
    }
}

static void
side_cancel(struct side *s, int id)
{
    if (s->is_ref) {
        ref_cancel(s->ref, id);
    } else {
        timer_cancel(s->w, &s->items[id].t);
    }
}

static int64_t
sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < INT64_MIN - b) {
        return INT64_MIN;
    }
    return a + b;
}

static int64_t
rand_upto(struct rng *r, int64_t max)
{
    return (int64_t)(rng_next(r) % (uint64_t)max);
}

/* The tick boundary at or before x (ticks are TICK-aligned, also below 0). */
static int64_t
tick_floor(int64_t x)
{
    int64_t m = x % TICK;
    return m < 0 ? x - m - TICK : x - m;
}

/* A deadline relative to now, spread over all the wheel's regions. */
static int64_t
rand_deadline(struct rng *r, int64_t now)
{
    switch (rng_below(r, 20)) {
    case 0:
        return now - rand_upto(r, 10 * MS); /* past */
    case 1:
        return now;
    case 2:
    case 3:
    case 4:
        return now + rand_upto(r, 100 * US); /* this tick or the next few */
    case 5:
    case 6:
    case 7:
        return now + rand_upto(r, 10 * MS);
    case 8:
    case 9:
    case 10:
    case 11:
        return now + rand_upto(r, 2 * SEC); /* RTO range */
    case 12:
    case 13:
        return now + rand_upto(r, 3600 * SEC);
    case 14:
        return now + rand_upto(r, 10 * DAY);
    case 15:
        return now + rand_upto(r, 30 * 365 * DAY); /* mostly overflow */
    case 16: {
        /* On or next to a tick boundary. */
        int64_t b = tick_floor(now) + (1 + rand_upto(r, 100)) * TICK;
        return b + (int64_t)rng_below(r, 3) - 1;
    }
    case 17:
        return INT64_MAX - rand_upto(r, 1000);
    default:
        /* Coarse values so that equal deadlines (ties) are common. */
        return (now / MS + 1 + rand_upto(r, 50)) * MS;
    }
}

static void
side_record(struct side *s, int id, int64_t now)
{
    if (s->nfired < s->cap) {
        s->fired[s->nfired] = id;
        s->fired_at[s->nfired] = now;
    }
    s->nfired++;
}

/* What a fired timer does; a function of the shared generator only, so both
 * sides do the same as long as they fire the same sequence. */
static void
side_react(struct side *s, int id, int64_t now)
{
    uint32_t roll = rng_below(&s->rng, 100);
    int other = (int)rng_below(&s->rng, (uint32_t)s->nids);
    if (roll < 10) {
        side_arm(s, id, sat_add(now, 1 + rand_upto(&s->rng, 300 * US)));
    } else if (roll < 18) {
        side_arm(s, other, sat_add(now, rand_upto(&s->rng, 5 * SEC)));
    } else if (roll < 25) {
        side_cancel(s, other);
    } else if (roll < 30 && s->past_budget > 0) {
        /* Due at once: fires within this same advance. */
        s->past_budget--;
        side_arm(s, roll & 1 ? id : other, now - rand_upto(&s->rng, 1000));
    }
}

static void
wheel_fire(void *ctx, struct timer *t, int64_t now_ns)
{
    struct side *s = ctx;
    struct item *it = TIMER_CONTAINER(t, struct item, t);
    CHECK(now_ns >= t->expires_ns);
    side_record(s, it->id, now_ns);
    side_react(s, it->id, now_ns);
}

static void
ref_advance(struct side *s, int64_t now)
{
    struct ref *h = s->ref;
    while (h->n > 0 && h->exp[h->heap[0]] <= now) {
        int id = h->heap[0];
        ref_cancel(h, id);
        side_record(s, id, now);
        side_react(s, id, now);
    }
}

struct diff_stats {
    long fired, advances, deadline_exact, deadline_checks;
};

static void
run_differential(uint64_t seed, int64_t start, int nids, int ops, struct diff_stats *st)
{
    struct timer_wheel *w = malloc(sizeof *w);
    struct item *items = calloc((size_t)nids, sizeof *items);
    struct ref ref = {0};
    ref.heap = calloc((size_t)nids, sizeof *ref.heap);
    ref.pos = calloc((size_t)nids, sizeof *ref.pos);
    ref.exp = calloc((size_t)nids, sizeof *ref.exp);
    ref.seq = calloc((size_t)nids, sizeof *ref.seq);
    size_t cap = (size_t)nids * 2;
    struct side ws = {.w = w, .items = items, .nids = nids, .cap = cap};
    struct side rs = {.is_ref = true, .ref = &ref, .nids = nids, .cap = cap};
    ws.fired = malloc(cap * sizeof *ws.fired);
    ws.fired_at = malloc(cap * sizeof *ws.fired_at);
    rs.fired = malloc(cap * sizeof *rs.fired);
    rs.fired_at = malloc(cap * sizeof *rs.fired_at);
    CHECK(w && items && ref.heap && ref.pos && ref.exp && ref.seq && ws.fired && ws.fired_at &&
          rs.fired && rs.fired_at);
    if (!(w && items && ref.heap && ref.pos && ref.exp && ref.seq && ws.fired && ws.fired_at &&
          rs.fired && rs.fired_at)) {
        return;
    }

    struct rng r;
    rng_seed(&r, seed);
    timer_wheel_init(w, start);
    items_init(items, nids, wheel_fire);
    for (int i = 0; i < nids; i++) {
        ref.pos[i] = -1;
    }
    int64_t now = start;

    /* Everyone armed at first: a wheel holding nids timers. */
    for (int id = 0; id < nids; id++) {
        int64_t e = rand_deadline(&r, now);
        timer_arm(w, &items[id].t, e);
        ref_arm(&ref, id, e);
    }

    int mismatches = 0;
    for (int op = 0; op < ops && mismatches == 0; op++) {
        uint32_t kind = rng_below(&r, 100);
        int id = (int)rng_below(&r, (uint32_t)nids);
        if (kind < 45) {
            int64_t e = rand_deadline(&r, now);
            timer_arm(w, &items[id].t, e);
            ref_arm(&ref, id, e);
        } else if (kind < 65) {
            timer_cancel(w, &items[id].t);
            ref_cancel(&ref, id);
        } else {
            /* Advance: mostly small steps, rarely days or years. */
            uint32_t c = rng_below(&r, 10000);
            int64_t step = c < 2000   ? 0
                           : c < 6000 ? rand_upto(&r, 100 * US)
                           : c < 8500 ? rand_upto(&r, 20 * MS)
                           : c < 9900 ? rand_upto(&r, 3 * SEC)
                           : c < 9990 ? rand_upto(&r, 2 * 3600 * SEC)
                           : c < 9999 ? rand_upto(&r, 20 * DAY)
                                      : rand_upto(&r, 5 * 365 * DAY);
            if (rng_below(&r, 50) == 0) {
                step = -rand_upto(&r, SEC); /* older time: no-op */
            }
            now = sat_add(now, step);
            uint64_t react_seed = rng_next(&r);
            ws.nfired = rs.nfired = 0;
            rng_seed(&ws.rng, react_seed);
            rng_seed(&rs.rng, react_seed);
            ws.past_budget = rs.past_budget = 20;
            timer_wheel_advance(w, now, &ws);
            if (step >= 0) {
                ref_advance(&rs, now);
            } else {
                now -= step; /* both sides keep the newer time */
            }
            st->advances++;
            st->fired += (long)ws.nfired;
            if (ws.nfired != rs.nfired) {
                fprintf(stderr, "op %d: wheel fired %zu, reference %zu\n", op, ws.nfired,
                        rs.nfired);
                mismatches++;
            }
            for (size_t k = 0; k < ws.nfired && k < cap && mismatches == 0; k++) {
                if (ws.fired[k] != rs.fired[k] || ws.fired_at[k] != rs.fired_at[k]) {
                    fprintf(stderr, "op %d: firing %zu differs: wheel id %d, reference id %d\n", op,
                            k, ws.fired[k], rs.fired[k]);
                    mismatches++;
                }
            }
        }
        if ((size_t)ref.n != timer_wheel_count(w)) {
            fprintf(stderr, "op %d: count %zu vs reference %d\n", op, timer_wheel_count(w), ref.n);
            mismatches++;
        }
        if (timer_armed(&items[id].t) != (ref.pos[id] >= 0)) {
            mismatches++;
        }
        /* next_deadline is never later than the earliest expiry; when not
         * exact it is a point after now to wake up at. */
        int64_t d = timer_wheel_next_deadline(w);
        int64_t want = ref.n > 0 ? ref.exp[ref.heap[0]] : INT64_MAX;
        st->deadline_checks++;
        if (d == want) {
            st->deadline_exact++;
        } else if (!(d < want && d > timer_wheel_now(w))) {
            fprintf(stderr, "op %d: next_deadline %" PRId64 ", earliest %" PRId64 "\n", op, d,
                    want);
            mismatches++;
        }
    }
    CHECK_EQ(mismatches, 0);

    /* Drain: everything left fires in reference order. */
    ws.nfired = rs.nfired = 0;
    rng_seed(&ws.rng, 1);
    rng_seed(&rs.rng, 1);
    ws.past_budget = rs.past_budget = 0;
    timer_wheel_advance(w, INT64_MAX, &ws);
    ref_advance(&rs, INT64_MAX);
    CHECK_EQ(ws.nfired, rs.nfired);
    for (size_t k = 0; k < ws.nfired && k < cap; k++) {
        if (ws.fired[k] != rs.fired[k]) {
            CHECK_EQ(ws.fired[k], rs.fired[k]);
            break;
        }
    }
    CHECK_EQ(timer_wheel_count(w), 0);
    CHECK_EQ(ref.n, 0);

    free(ws.fired);
    free(ws.fired_at);
    free(rs.fired);
    free(rs.fired_at);
    free(ref.heap);
    free(ref.pos);
    free(ref.exp);
    free(ref.seq);
    free(items);
    free(w);
}

static void
test_differential_against_heap(void)
{
    struct diff_stats st = {0};
    /* 120k timers from t = 0; then from just below 0, which crosses the
     * top-level block boundary of the wheel early on. */
    run_differential(11, 0, 120000, 600000, &st);
    run_differential(12, -3 * SEC, 20000, 300000, &st);
    run_differential(13, 987654321987, 500, 300000, &st);
    /* The test must have exercised something. */
    CHECK(st.fired > 200000);
    CHECK(st.advances > 300000);
    /* next_deadline is almost always exact. */
    CHECK(st.deadline_exact * 100 > st.deadline_checks * 99);
}

int
main(void)
{
    RUN(test_container_and_init);
    RUN(test_fires_in_expiry_order);
    RUN(test_never_early_first_advance);
    RUN(test_fires_with_now_of_the_advance);
    RUN(test_cancel);
    RUN(test_rearm_moves);
    RUN(test_past_deadlines_and_time_forward);
    RUN(test_negative_times);
    RUN(test_far_future);
    RUN(test_arm_inside_callback);
    RUN(test_arm_in_callback_keeps_order);
    RUN(test_cancel_other_inside_callback);
    RUN(test_many_in_one_tick);
    RUN(test_next_deadline);
    RUN(test_differential_against_heap);
    return CHECK_DONE();
}
