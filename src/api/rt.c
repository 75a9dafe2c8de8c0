/*
 * src/api/rt.c: runtimes, the things sockets live in (include/tern/socket.h).
 *
 * A runtime holds its stacks behind one mutex. An attached runtime (kind a)
 * has no thread: the caller feeds it, and socket calls never block. A
 * driven runtime (kind b) has no thread either, but its socket calls block:
 * the caller's loop is what the thread is to kind c, and the runtime tells
 * it (callback, eventfd) when a call armed a timer earlier than the
 * deadline the loop last learnt. A driver runtime (kind c: TUN, TAP, a
 * simulated network, the caller's own packet path; tern/driver.h) owns a
 * thread that loops: under the lock, one turn (the driver feeds what
 * arrived, the stacks run their due timers, the driver sends what they
 * queued); then, with the lock released, sleep in ppoll(2) on the driver's
 * fd and a wake-up eventfd until the next deadline. A socket call that
 * changes a stack (sends, arms a timer) writes the eventfd when the
 * thread's sleep would end too late, so timers are never missed and
 * nothing spins. This file knows no driver: only struct tern_driver_ops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"

int64_t
rt_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
mono_clock(void *ctx)
{
    (void)ctx;
    return rt_mono_ns();
}

int64_t
rt_now(struct tern_rt *rt)
{
    return rt->clock(rt->clock_ctx);
}

int64_t
tern_rt_now(struct tern_rt *rt)
{
    return rt == NULL ? 0 : rt_now(rt);
}

static int64_t
manual_clock(void *ctx)
{
    const struct tern_rt *rt = ctx;
    return rt->manual_now;
}

bool
rt_can_block(const struct tern_rt *rt)
{
    return rt->has_thread || rt->kind == RT_DRIVEN;
}

static struct tern_rt *
rt_alloc(enum rt_kind kind, int n_hosts)
{
    struct tern_rt *rt = calloc(1, sizeof(*rt));
    if (rt == NULL) {
        return NULL;
    }
    rt->hosts = calloc((size_t)n_hosts, sizeof(*rt->hosts));
    if (rt->hosts == NULL || pthread_mutex_init(&rt->mu, NULL) != 0) {
        free(rt->hosts);
        free(rt);
        return NULL;
    }
    rt->kind = kind;
    rt->n_hosts = n_hosts;
    rt->wake_fd = -1;
    rt->drv_fd = -1;
    rt->sleep_until = INT64_MAX;
    rt->clock = mono_clock;
    rt->port_seq = (uint32_t)rt_mono_ns() * 2654435761u; /* a varied first ephemeral port */
    for (int i = 0; i < n_hosts; i++) {
        rt->hosts[i].rt = rt;
        rt->hosts[i].host = i;
    }
    return rt;
}

/* The sockets' connections get a callback of their own (sock_event, with
 * the socket as context); the stack's callback stays the caller's. */
static void
rt_bind_stack(struct tern_rt *rt, int host, struct tern_stack *st)
{
    rt->hosts[host].st = st;
}

int
tern_rt_attach(struct tern_stack *st, tern_clock_fn clock, void *clock_ctx, struct tern_rt **out)
{
    if (st == NULL || out == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    struct tern_rt *rt = rt_alloc(RT_ATTACH, 1);
    if (rt == NULL) {
        return TERN_ERR_NOMEM;
    }
    if (clock != NULL) {
        rt->clock = clock;
        rt->clock_ctx = clock_ctx;
    }
    rt_bind_stack(rt, 0, st);
    rt_registry_adopt(rt);
    *out = rt;
    return TERN_OK;
}

void
tern_rt_drive_config_init(struct tern_rt_drive_config *cfg)
{
    if (cfg != NULL) {
        memset(cfg, 0, sizeof(*cfg));
    }
}

int
tern_rt_drive(struct tern_stack *st, const struct tern_rt_drive_config *cfg, struct tern_rt **out)
{
    if (st == NULL || out == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    struct tern_rt_drive_config dflt;
    tern_rt_drive_config_init(&dflt);
    if (cfg == NULL) {
        cfg = &dflt;
    }
    struct tern_rt *rt = rt_alloc(RT_DRIVEN, 1);
    if (rt == NULL) {
        return TERN_ERR_NOMEM;
    }
    if (cfg->manual_time) {
        rt->manual_time = true;
        rt->manual_now = cfg->start_ns;
        rt->clock = manual_clock;
        rt->clock_ctx = rt;
    } else if (cfg->clock != NULL) {
        rt->clock = cfg->clock;
        rt->clock_ctx = cfg->clock_ctx;
    }
    rt->on_deadline = cfg->on_deadline;
    rt->deadline_ctx = cfg->deadline_ctx;
    rt->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (rt->wake_fd < 0) {
        tern_rt_free(rt);
        return TERN_ERR_TXFAIL;
    }
    rt->sleep_until = INT64_MAX; /* the caller has learnt no deadline yet */
    rt_bind_stack(rt, 0, st);
    rt_registry_adopt(rt);
    *out = rt;
    return TERN_OK;
}

int
tern_rt_deadline_fd(struct tern_rt *rt)
{
    return rt != NULL && rt->kind == RT_DRIVEN ? rt->wake_fd : -1;
}

int
tern_rt_input(struct tern_rt *rt, int netif, const uint8_t *pkt, size_t len)
{
    if (rt == NULL) {
        return TERN_ERR_INVAL;
    }
    pthread_mutex_lock(&rt->mu);
    int r = tern_stack_input(rt->hosts[0].st, netif, pkt, len, rt_now(rt));
    rt_after_call(rt);
    pthread_mutex_unlock(&rt->mu);
    return r;
}

void
tern_rt_poll(struct tern_rt *rt)
{
    if (rt == NULL) {
        return;
    }
    pthread_mutex_lock(&rt->mu);
    tern_stack_poll(rt->hosts[0].st, rt_now(rt));
    rt_after_call(rt);
    pthread_mutex_unlock(&rt->mu);
}

int
tern_rt_advance(struct tern_rt *rt, int64_t now_ns)
{
    if (rt == NULL || rt->kind != RT_DRIVEN || !rt->manual_time) {
        return TERN_ERR_INVAL;
    }
    pthread_mutex_lock(&rt->mu);
    if (now_ns > rt->manual_now) {
        rt->manual_now = now_ns;
    }
    tern_stack_poll(rt->hosts[0].st, rt->manual_now);
    rt_after_call(rt);
    pthread_mutex_unlock(&rt->mu);
    return TERN_OK;
}

int64_t
tern_rt_next_deadline(struct tern_rt *rt)
{
    if (rt == NULL) {
        return INT64_MAX;
    }
    pthread_mutex_lock(&rt->mu);
    int64_t t = tern_stack_next_deadline(rt->hosts[0].st);
    if (rt->kind == RT_DRIVEN) {
        /* What the caller now knows; only an earlier one is news. */
        rt->sleep_until = t;
        uint64_t v;
        ssize_t n = read(rt->wake_fd, &v, sizeof(v));
        (void)n; /* EAGAIN: nothing was pending */
    }
    pthread_mutex_unlock(&rt->mu);
    return t;
}

/* Kind b, after any call under the lock: tell the caller when the stack's
 * next deadline is now earlier than the one it last learnt. */
static void
rt_tell_deadline(struct tern_rt *rt)
{
    int64_t t = tern_stack_next_deadline(rt->hosts[0].st);
    if (t >= rt->sleep_until) {
        return;
    }
    rt->sleep_until = t; /* told once per move */
    uint64_t one = 1;
    ssize_t n = write(rt->wake_fd, &one, sizeof(one));
    (void)n; /* a full counter is readable anyway */
    if (rt->on_deadline != NULL) {
        rt->on_deadline(rt->deadline_ctx, t);
    }
}

/* ---- the thread of a driver runtime ---- */

/* When the thread must next run without news on the driver's fd: the
 * earliest of the stacks' deadlines and the driver's own (runtime's time). */
static int64_t
rt_next_wake(struct tern_rt *rt)
{
    int64_t t = rt->drv.next_wake != NULL ? rt->drv.next_wake(rt->drv_ctx) : INT64_MAX;
    for (int h = 0; h < rt->n_hosts; h++) {
        int64_t d = tern_stack_next_deadline(rt->hosts[h].st);
        t = d < t ? d : t;
    }
    return t;
}

static void
rt_flush(struct tern_rt *rt)
{
    if (rt->drv.flush != NULL) {
        rt->drv.flush(rt->drv_ctx);
    }
}

/* One turn under the lock: what arrived, what is due, what was queued. */
static int
rt_turn(struct tern_rt *rt)
{
    int64_t now = rt_now(rt);
    int r = rt->drv.service(rt->drv_ctx, now);
    if (r != TERN_OK) {
        return r;
    }
    for (int h = 0; h < rt->n_hosts; h++) {
        struct tern_stack *st = rt->hosts[h].st;
        if (tern_stack_next_deadline(st) <= now) {
            tern_stack_poll(st, now);
        }
    }
    rt_flush(rt);
    return TERN_OK;
}

void
rt_after_call(struct tern_rt *rt)
{
    sock_sweep(rt);
    if (rt->kind == RT_DRIVEN) {
        rt_tell_deadline(rt);
        return;
    }
    if (!rt->has_thread) {
        return;
    }
    rt_flush(rt); /* send from the caller's thread */
    if (rt_next_wake(rt) < rt->sleep_until) {
        uint64_t one = 1;
        ssize_t n = write(rt->wake_fd, &one, sizeof(one));
        (void)n;                     /* a full counter already wakes the thread */
        rt->sleep_until = INT64_MIN; /* woken: no need to write again */
    }
}

/* ppoll(2)'s timeout for a sleep until `until` (the runtime's time, which
 * runs at CLOCK_MONOTONIC's rate): NULL for never, zero when it is past.
 * A driver's clock and next_wake may be any int64: no difference may
 * overflow. */
static struct timespec *
sleep_for(struct tern_rt *rt, int64_t until, struct timespec *ts)
{
    if (until == INT64_MAX) {
        return NULL;
    }
    int64_t now = rt_now(rt), d;
    if (until <= now) {
        d = 0;
    } else if (now < 0 && until > INT64_MAX + now) {
        d = INT64_MAX;
    } else {
        d = until - now;
    }
    ts->tv_sec = d / 1000000000;
    ts->tv_nsec = d % 1000000000;
    return ts;
}

static void *
rt_thread(void *arg)
{
    struct tern_rt *rt = arg;
    pthread_mutex_lock(&rt->mu);
    while (!rt->stop) {
        sock_sweep(rt);
        if (rt_turn(rt) != TERN_OK) {
            rt->thread_err = errno ? errno : EIO;
            break;
        }
        int64_t until = rt_next_wake(rt);
        rt->sleep_until = until;
        pthread_mutex_unlock(&rt->mu);
        struct pollfd pfd[2] = {{.fd = rt->wake_fd, .events = POLLIN},
                                {.fd = rt->drv_fd, .events = POLLIN}};
        struct timespec ts;
        int n = ppoll(pfd, 2, sleep_for(rt, until, &ts), NULL);
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t r = read(rt->wake_fd, &v, sizeof(v));
            (void)r;
        }
        pthread_mutex_lock(&rt->mu);
        rt->sleep_until = INT64_MIN; /* awake: callers need not wake us */
    }
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

static int
rt_start_thread(struct tern_rt *rt)
{
    rt->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (rt->wake_fd < 0) {
        return TERN_ERR_TXFAIL;
    }
    rt->sleep_until = INT64_MIN;
    if (pthread_create(&rt->thread, NULL, rt_thread, rt) != 0) {
        close(rt->wake_fd);
        rt->wake_fd = -1;
        return TERN_ERR_TXFAIL;
    }
    rt->has_thread = true;
    return TERN_OK;
}

static void
rt_close_driver(struct tern_rt *rt)
{
    if (rt->drv_open) {
        rt->drv_open = false;
        if (rt->drv.close != NULL) {
            rt->drv.close(rt->drv_ctx);
        }
    }
}

int
tern_rt_start(const struct tern_driver *drv, struct tern_rt **out)
{
    if (out != NULL) {
        *out = NULL;
    }
    if (drv == NULL || drv->ops == NULL) {
        return TERN_ERR_INVAL;
    }
    bool ok = out != NULL && drv->ops->service != NULL && drv->stacks != NULL &&
              drv->n_stacks >= 1 && drv->n_stacks <= TERN_DRIVER_MAX_STACKS;
    for (int h = 0; ok && h < drv->n_stacks; h++) {
        ok = drv->stacks[h] != NULL;
    }
    if (!ok) {
        if (drv->ops->close != NULL) {
            drv->ops->close(drv->ctx);
        }
        return TERN_ERR_INVAL;
    }
    struct tern_rt *rt = rt_alloc(RT_DRIVER, drv->n_stacks);
    if (rt == NULL) {
        if (drv->ops->close != NULL) {
            drv->ops->close(drv->ctx);
        }
        return TERN_ERR_NOMEM;
    }
    rt->drv = *drv->ops;
    rt->drv_ctx = drv->ctx;
    rt->drv_fd = drv->fd;
    rt->drv_open = true;
    if (rt->drv.now != NULL) {
        rt->clock = rt->drv.now;
        rt->clock_ctx = rt->drv_ctx;
    }
    for (int h = 0; h < rt->n_hosts; h++) {
        rt_bind_stack(rt, h, drv->stacks[h]);
    }
    int r = rt_start_thread(rt);
    if (r != TERN_OK) {
        tern_rt_free(rt); /* closes the driver */
        return r;
    }
    rt_registry_adopt(rt);
    *out = rt;
    return TERN_OK;
}

void
tern_rt_free(struct tern_rt *rt)
{
    if (rt == NULL) {
        return;
    }
    rt_registry_forget(rt);
    if (rt->has_thread) {
        pthread_mutex_lock(&rt->mu);
        rt->stop = true;
        uint64_t one = 1;
        ssize_t n = write(rt->wake_fd, &one, sizeof(one));
        (void)n;
        pthread_mutex_unlock(&rt->mu);
        pthread_join(rt->thread, NULL);
        rt->has_thread = false;
    }
    pthread_mutex_lock(&rt->mu);
    resolv_free(rt);
    sock_close_all(rt);
    if (rt->drv_open) {
        rt_flush(rt); /* the RSTs of the aborts */
    }
    pthread_mutex_unlock(&rt->mu);
    rt_close_driver(rt);
    if (rt->wake_fd >= 0) {
        close(rt->wake_fd);
    }
    struct tern_sock *s = rt->socks;
    while (s != NULL) {
        struct tern_sock *next = s->next;
        pthread_cond_destroy(&s->cv);
        free(s);
        s = next;
    }
    pthread_mutex_destroy(&rt->mu);
    free(rt->by_fd);
    free(rt->hosts);
    free(rt);
}

int
tern_rt_set_intr(struct tern_rt *rt, const struct tern_rt_intr *intr)
{
    if (rt == NULL || !rt_can_block(rt) ||
        (intr != NULL && (intr->wake_fd == NULL || intr->signalled == NULL))) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&rt->mu);
    rt->intr = intr != NULL ? *intr : (struct tern_rt_intr){0};
    pthread_mutex_unlock(&rt->mu);
    return 0;
}

void
tern_rt_set_default(struct tern_rt *rt, int host)
{
    rt_registry_set_default(rt, host);
}

struct tern_stack *
tern_rt_stack(struct tern_rt *rt, int host)
{
    if (rt == NULL || host < 0 || host >= rt->n_hosts) {
        return NULL;
    }
    return rt->hosts[host].st;
}

void
tern_rt_lock(struct tern_rt *rt)
{
    pthread_mutex_lock(&rt->mu);
}

void
tern_rt_unlock(struct tern_rt *rt)
{
    rt_after_call(rt);
    pthread_mutex_unlock(&rt->mu);
}
