/*
 * drivers/sim/sim_rt.c: a simulated network under a socket runtime
 * (tern_sim_driver, tern_rt_start_sim in include/tern/sim.h).
 *
 * The runtime's thread runs the simulation in real time: the runtime's
 * clock is CLOCK_MONOTONIC shifted so that it reads the sim's time when the
 * driver is made, a turn runs the sim's events up to now, and the next wake
 * is the sim's next event. Links deliver inside the sim, so there is
 * nothing to flush and no fd: the thread sleeps until the next event or a
 * socket call wakes it.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>

#include "tern/driver.h"
#include "tern/sim.h"

struct sim_drv {
    struct tern_sim *sim;
    int64_t origin; /* sim time = CLOCK_MONOTONIC - origin */
    struct tern_stack *stacks[];
};

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
drv_now(void *ctx)
{
    const struct sim_drv *d = ctx;
    return mono_ns() - d->origin;
}

static int
drv_service(void *ctx, int64_t now_ns)
{
    struct sim_drv *d = ctx;
    if (now_ns >= tern_sim_now(d->sim)) {
        (void)tern_sim_run_until(d->sim, now_ns);
    }
    return TERN_OK;
}

static int64_t
drv_next_wake(void *ctx)
{
    struct sim_drv *d = ctx;
    return tern_sim_next_event(d->sim);
}

static void
drv_close(void *ctx)
{
    free(ctx); /* the sim stays the caller's */
}

static const struct tern_driver_ops sim_driver_ops = {
    .now = drv_now,
    .service = drv_service,
    .next_wake = drv_next_wake,
    .flush = NULL, /* links deliver inside the sim */
    .close = drv_close,
};

int
tern_sim_driver(struct tern_sim *sim, struct tern_driver *out)
{
    int n = tern_sim_host_count(sim);
    if (sim == NULL || out == NULL || n < 1) {
        return TERN_ERR_INVAL;
    }
    struct sim_drv *d = malloc(sizeof(*d) + (size_t)n * sizeof(d->stacks[0]));
    if (d == NULL) {
        return TERN_ERR_NOMEM;
    }
    d->sim = sim;
    d->origin = mono_ns() - tern_sim_now(sim);
    for (int h = 0; h < n; h++) {
        d->stacks[h] = tern_sim_host_stack(sim, h);
    }
    *out = (struct tern_driver){
        .ops = &sim_driver_ops,
        .ctx = d,
        .fd = -1,
        .n_stacks = n,
        .stacks = d->stacks,
    };
    return TERN_OK;
}

int
tern_rt_start_sim(struct tern_sim *sim, struct tern_rt **out)
{
    if (out == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    struct tern_driver drv;
    int r = tern_sim_driver(sim, &drv);
    return r != TERN_OK ? r : tern_rt_start(&drv, out);
}
