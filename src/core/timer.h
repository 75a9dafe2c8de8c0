/*
 * src/core/timer.h: hierarchical timing wheel with exact expiry order.
 *
 * Timers are intrusive: a struct timer lives inside the object it times (a
 * reassembly slot, a TCP connection) and TIMER_CONTAINER() gets the object
 * back in the callback. Nothing here allocates or reads a clock: time is an
 * int64_t count of nanoseconds that the caller passes in, and it only moves
 * forward (an advance to an older time does nothing).
 *
 * Structure. Time is cut into ticks of 2^TIMER_TICK_SHIFT ns (65.536 us).
 * The wheel keeps a current tick `cur` (the tick of the last advance) and
 * puts every armed timer in exactly one of three places:
 *
 *   - the due heap: an intrusive pairing heap of the timers whose tick is
 *     <= cur, ordered by (expires_ns, arming sequence). It holds the current
 *     tick's timers and those armed in the past, so it is small;
 *   - the wheel: TIMER_LEVELS levels of TIMER_SLOTS unsorted lists. A timer
 *     whose tick is later than cur goes to the level of the highest 6-bit
 *     group in which its tick differs from cur, in the slot named by its own
 *     digit of that group. So level 0 holds the rest of cur's 64-tick block
 *     (one tick per slot), level 1 the rest of its 4096-tick block (64 ticks
 *     per slot), and so on; the 7 levels span 2^42 ticks, about 9 years.
 *     Every timer on level l is earlier than every timer on level l+1, and
 *     a bitmap per level marks the non-empty slots;
 *   - the overflow list: timers beyond the top level's block, re-examined
 *     when cur enters the next top-level block.
 *
 * Arm and cancel are O(1) for the wheel and the overflow list (unlink from a
 * doubly linked list); for the due heap, arm is O(1) and cancel O(log k)
 * amortized, k being the timers in the heap. As cur moves forward, the
 * earliest non-empty slot of the lowest non-empty level is found with a
 * bitmap scan and its timers are redistributed to lower levels, or into the
 * due heap when their tick comes: each timer moves at most TIMER_LEVELS
 * times in its life (plus once per 9 years spent in overflow), and empty
 * ticks cost nothing.
 *
 * Firing order is exact, whatever the tick: timer_wheel_advance() fires, one
 * at a time, the armed timer with the smallest expires_ns (ties: the one
 * armed first, where re-arming counts as arming anew) for as long as that
 * timer's expires_ns <= now. This is the order a binary heap of all armed
 * timers would give; the unit test checks it against one.
 *
 * Next deadline precision. Each slot caches the minimum expires_ns of its
 * timers; inserts keep the cache, and it is dropped only when the timer that
 * holds the minimum is cancelled while others remain in the slot.
 * timer_wheel_next_deadline() returns, all exact: the due heap's root; else
 * the earliest slot's cached minimum; else, if that slot holds at most
 * TIMER_SCAN_LIMIT timers, their minimum read from the list. Only past that
 * limit does it return the slot's first tick boundary instead: never later
 * than the earliest expiry, always later than the last advance; an advance
 * to it moves the slot's timers into empty lower slots (fresh caches) or the
 * due heap, so the answer after it is exact unless another cancel intervenes.
 * In the unit test's random workload, 4 answers in 1.2 million were not
 * exact.
 *
 * Guarantees:
 *   - a timer never fires before its expires_ns;
 *   - it fires on the first advance with now >= expires_ns, including a
 *     timer armed in the past, which fires on the next advance;
 *   - a callback may arm or cancel any timer, itself and others included. A
 *     timer armed from a callback with expires_ns <= now fires during the
 *     same advance, in order (so a callback that keeps re-arming itself at
 *     or before now never lets the advance end: arm it later than now).
 *   - timer_wheel_advance() must not be called from a callback.
 *
 * Every struct timer is used with one wheel at a time: cancel it on the
 * wheel it was armed on.
 */
#ifndef TERN_CORE_TIMER_H
#define TERN_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMER_TICK_SHIFT 16 /* one tick is 2^16 ns = 65.536 us */
#define TIMER_LEVEL_BITS 6
#define TIMER_SLOTS      (1 << TIMER_LEVEL_BITS) /* slots per level: one uint64_t bitmap */
#define TIMER_LEVELS     7                       /* 2^(16 + 42) ns ~ 9.1 years of wheel */
#define TIMER_SCAN_LIMIT 16 /* next_deadline reads at most this many timers of a slot */

/* Recover the object that embeds a timer, e.g. in a callback:
 * struct conn *c = TIMER_CONTAINER(t, struct conn, rto_timer); */
#define TIMER_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct timer;

/* Called once per expiry with the ctx given to timer_wheel_advance(). The
 * timer is disarmed when the callback runs; the callback may re-arm it. */
typedef void (*timer_fn)(void *ctx, struct timer *t, int64_t now_ns);

/* Embed in your object. All fields belong to the wheel; expires_ns may be
 * read while the timer is armed and, after it fires, until it is re-armed
 * (a periodic callback can re-arm at t->expires_ns + period). */
struct timer {
    struct timer *next;  /* slot list: next; due heap: next sibling */
    struct timer *prev;  /* slot list: previous (NULL at head); heap: prev sibling or parent */
    struct timer *child; /* due heap: first child */
    int64_t expires_ns;
    timer_fn fn;
    uint32_t seq;   /* arming order (wrapping), breaks ties between equal expires_ns */
    uint32_t where; /* TIMER_WHERE_* below, or TIMER_WHERE_SLOT + slot index */
};

/* Values of struct timer.where (internal). */
#define TIMER_WHERE_IDLE 0u
#define TIMER_WHERE_HEAP 1u
#define TIMER_WHERE_SLOT 2u

/* Slot index TIMER_LEVELS * TIMER_SLOTS is the overflow list. */
#define TIMER_NSLOTS (TIMER_LEVELS * TIMER_SLOTS + 1)

/* The wheel: plain arrays, no allocation; embed it or place it anywhere. */
struct timer_wheel {
    int64_t now_ns;                       /* the last advance (or init) time */
    uint64_t cur;                         /* tick of now_ns (biased, see timer.c) */
    uint32_t seq;                         /* next arming sequence number (wraps) */
    size_t count;                         /* armed timers */
    struct timer *heap;                   /* due heap root, or NULL */
    uint64_t occupied[TIMER_LEVELS + 1];  /* non-empty slots; word TIMER_LEVELS bit 0: overflow */
    uint64_t min_valid[TIMER_LEVELS + 1]; /* slot_min[] is exact for these slots */
    int64_t slot_min[TIMER_NSLOTS];       /* minimum expires_ns in the slot, when valid */
    struct timer *slot[TIMER_NSLOTS];     /* list heads */
    bool advancing;                       /* inside timer_wheel_advance() (assert only) */
};

/* Empty wheel whose time is now_ns. */
void timer_wheel_init(struct timer_wheel *w, int64_t now_ns);

/* Prepare a timer (disarmed) that will call fn. Call once before first use;
 * calling it on an armed timer corrupts the wheel. */
void timer_init(struct timer *t, timer_fn fn);

/* Arm t to fire at expires_ns (any value; the past means the next advance).
 * Arming an armed timer moves it and counts as arming anew for ties. */
void timer_arm(struct timer_wheel *w, struct timer *t, int64_t expires_ns);

/* Disarm t; no-op if it is not armed. */
void timer_cancel(struct timer_wheel *w, struct timer *t);

bool timer_armed(const struct timer *t);

/* Move time to now_ns and fire, in (expires_ns, arming order), every timer
 * whose expires_ns <= now_ns, calling t->fn(ctx, t, now_ns). An older now_ns
 * than the last advance is a no-op. Not reentrant. */
void timer_wheel_advance(struct timer_wheel *w, int64_t now_ns, void *ctx);

/* The earliest expires_ns of the armed timers, INT64_MAX when none; never
 * later than it, exact except in the case documented at the top of this
 * file. May be <= the last advance's time when timers were armed in the
 * past. O(TIMER_LEVELS + TIMER_SCAN_LIMIT). */
int64_t timer_wheel_next_deadline(const struct timer_wheel *w);

/* Number of armed timers. */
size_t timer_wheel_count(const struct timer_wheel *w);

/* The time of the last advance (or of init). */
int64_t timer_wheel_now(const struct timer_wheel *w);

#endif
