/*
 * bench/bench_timer.c: the timing wheel (src/core/timer.c) against an
 * indexed binary heap, the usual alternative, measured in the same run.
 *
 * For 1k, 100k and 500k timers it times three patterns and prints ns per
 * operation (median of 5 runs) for both and the ratio heap / wheel:
 *   arm+cancel  arm all timers (deadlines uniform in 0-10 s), then cancel
 *               them in random order; cost per arm and cancel pair;
 *   arm+expire  arm all, then advance in 1 ms steps until every one fired;
 *               cost per arm and expiry pair;
 *   rearm       with all armed, move random timers to now + 0-10 s (a TCP
 *               retransmission timer restarted by each ACK); cost per move;
 *   arm+next    arm all, then advance straight to the next deadline until
 *               every one fired, as an event-driven simulator does; cost per
 *               arm, next-deadline query and expiry.
 *
 * Build and run (not part of the CMake build):
 *   cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc \
 *      bench/bench_timer.c src/core/timer.c src/core/rng.c -o bench_timer
 *   ./bench_timer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "core/timer.h"

#define MS   INT64_C(1000000)
#define SPAN (10000 * MS) /* deadlines fall within 10 s */
#define RUNS 5

struct item {
    struct timer t; /* for the wheel */
    int64_t exp;    /* for the heap */
    uint64_t seq;
    size_t pos; /* index in the heap array, SIZE_MAX when not armed */
};

/* --- reference: binary min-heap of item pointers, indexed for cancel ------ */

struct heap {
    struct item **a;
    size_t n;
    uint64_t seq;
};

static int
heap_less(const struct item *x, const struct item *y)
{
    return x->exp < y->exp || (x->exp == y->exp && x->seq < y->seq);
}

static void
heap_put(struct heap *h, size_t i, struct item *it)
{
    h->a[i] = it;
    it->pos = i;
}

static void
heap_sift(struct heap *h, size_t i)
{
    struct item *it = h->a[i];
    while (i > 0 && heap_less(it, h->a[(i - 1) / 2])) {
        heap_put(h, i, h->a[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) {
            break;
        }
        if (c + 1 < h->n && heap_less(h->a[c + 1], h->a[c])) {
            c++;
        }
        if (!heap_less(h->a[c], it)) {
            break;
        }
        heap_put(h, i, h->a[c]);
        i = c;
    }
    heap_put(h, i, it);
}

static void
heap_cancel(struct heap *h, struct item *it)
{
    size_t i = it->pos;
    if (i == SIZE_MAX) {
        return;
    }
    it->pos = SIZE_MAX;
    h->n--;
    if (i != h->n) {
        heap_put(h, i, h->a[h->n]);
        heap_sift(h, i);
    }
}

static void
heap_arm(struct heap *h, struct item *it, int64_t exp)
{
    heap_cancel(h, it);
    it->exp = exp;
    it->seq = h->seq++;
    heap_put(h, h->n++, it);
    heap_sift(h, h->n - 1);
}

static size_t
heap_advance(struct heap *h, int64_t now)
{
    size_t fired = 0;
    while (h->n > 0 && h->a[0]->exp <= now) {
        heap_cancel(h, h->a[0]);
        fired++;
    }
    return fired;
}

/* --- the patterns ---------------------------------------------------------- */

struct setup {
    size_t n;
    struct item *items;
    int64_t *deadline; /* per item, relative to the start */
    size_t *order;     /* a random permutation of the items */
    int64_t *moves;    /* rearm: deadlines for n moves */
    size_t *movers;    /* rearm: which item moves */
    struct heap heap;
    struct timer_wheel wheel;
    size_t fired;
};

static double
now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
on_fire(void *ctx, struct timer *t, int64_t now_ns)
{
    (void)t;
    (void)now_ns;
    ((struct setup *)ctx)->fired++;
}

static void
reset(struct setup *s)
{
    for (size_t i = 0; i < s->n; i++) {
        timer_init(&s->items[i].t, on_fire);
        s->items[i].pos = SIZE_MAX;
    }
    timer_wheel_init(&s->wheel, 0);
    s->heap.n = 0;
    s->heap.seq = 0;
    s->fired = 0;
}

enum pattern { ARM_CANCEL, ARM_EXPIRE, REARM, ARM_NEXT, NPATTERNS };
static const char *const pattern_name[NPATTERNS] = {"arm+cancel", "arm+expire", "rearm",
                                                    "arm+next"};

/* One timed run; returns ns per operation. */
static double
run_wheel(struct setup *s, enum pattern p)
{
    reset(s);
    struct timer_wheel *w = &s->wheel;
    double t0 = 0;
    if (p == REARM) {
        for (size_t i = 0; i < s->n; i++) {
            timer_arm(w, &s->items[i].t, s->deadline[i]);
        }
        t0 = now_sec();
        for (size_t i = 0; i < s->n; i++) {
            timer_arm(w, &s->items[s->movers[i]].t, s->moves[i]);
        }
        return (now_sec() - t0) * 1e9 / (double)s->n;
    }
    t0 = now_sec();
    for (size_t i = 0; i < s->n; i++) {
        timer_arm(w, &s->items[i].t, s->deadline[i]);
    }
    if (p == ARM_CANCEL) {
        for (size_t i = 0; i < s->n; i++) {
            timer_cancel(w, &s->items[s->order[i]].t);
        }
    } else if (p == ARM_NEXT) {
        while (s->fired < s->n) {
            timer_wheel_advance(w, timer_wheel_next_deadline(w), s);
        }
    } else {
        for (int64_t now = MS; s->fired < s->n; now += MS) {
            timer_wheel_advance(w, now, s);
        }
    }
    return (now_sec() - t0) * 1e9 / (double)s->n;
}

static double
run_heap(struct setup *s, enum pattern p)
{
    reset(s);
    struct heap *h = &s->heap;
    double t0 = 0;
    if (p == REARM) {
        for (size_t i = 0; i < s->n; i++) {
            heap_arm(h, &s->items[i], s->deadline[i]);
        }
        t0 = now_sec();
        for (size_t i = 0; i < s->n; i++) {
            heap_arm(h, &s->items[s->movers[i]], s->moves[i]);
        }
        return (now_sec() - t0) * 1e9 / (double)s->n;
    }
    t0 = now_sec();
    for (size_t i = 0; i < s->n; i++) {
        heap_arm(h, &s->items[i], s->deadline[i]);
    }
    if (p == ARM_CANCEL) {
        for (size_t i = 0; i < s->n; i++) {
            heap_cancel(h, &s->items[s->order[i]]);
        }
    } else if (p == ARM_NEXT) {
        while (s->fired < s->n) {
            s->fired += heap_advance(h, h->a[0]->exp);
        }
    } else {
        for (int64_t now = MS; s->fired < s->n; now += MS) {
            s->fired += heap_advance(h, now);
        }
    }
    return (now_sec() - t0) * 1e9 / (double)s->n;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
median(double (*run)(struct setup *, enum pattern), struct setup *s, enum pattern p)
{
    double v[RUNS];
    for (int i = 0; i < RUNS; i++) {
        v[i] = run(s, p);
    }
    qsort(v, RUNS, sizeof v[0], cmp_double);
    return v[RUNS / 2];
}

static int
setup_alloc(struct setup *s, size_t n, struct rng *r)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->items = calloc(n, sizeof *s->items);
    s->deadline = calloc(n, sizeof *s->deadline);
    s->order = calloc(n, sizeof *s->order);
    s->moves = calloc(n, sizeof *s->moves);
    s->movers = calloc(n, sizeof *s->movers);
    s->heap.a = calloc(n, sizeof *s->heap.a);
    if (!s->items || !s->deadline || !s->order || !s->moves || !s->movers || !s->heap.a) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        s->deadline[i] = 1 + (int64_t)(rng_next(r) % (uint64_t)SPAN);
        s->order[i] = i;
        s->movers[i] = rng_below(r, (uint32_t)n);
        s->moves[i] = 1 + (int64_t)(rng_next(r) % (uint64_t)SPAN);
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_below(r, (uint32_t)(i + 1));
        size_t tmp = s->order[i];
        s->order[i] = s->order[j];
        s->order[j] = tmp;
    }
    return 0;
}

static void
setup_free(struct setup *s)
{
    free(s->items);
    free(s->deadline);
    free(s->order);
    free(s->moves);
    free(s->movers);
    free(s->heap.a);
}

int
main(void)
{
    static const size_t sizes[] = {1000, 100000, 500000};
    struct rng r;
    rng_seed(&r, 1);
    printf("timer wheel vs binary heap, ns/op, median of %d runs; deadlines uniform in 0-10 s\n",
           RUNS);
    printf("%-8s %-11s %10s %10s %8s\n", "timers", "pattern", "wheel", "heap", "heap/wheel");
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct setup *s = malloc(sizeof *s);
        if (!s || setup_alloc(s, sizes[k], &r) != 0) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (int p = 0; p < NPATTERNS; p++) {
            double wv = median(run_wheel, s, (enum pattern)p);
            double hv = median(run_heap, s, (enum pattern)p);
            printf("%-8zu %-11s %10.1f %10.1f %8.2f\n", sizes[k], pattern_name[p], wv, hv, hv / wv);
        }
        setup_free(s);
        free(s);
    }
    return 0;
}
