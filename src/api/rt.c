/*
 * src/api/rt.c: runtimes, the things sockets live in (include/tern/socket.h).
 *
 * A runtime holds its stacks behind one mutex. An attached runtime (kind a)
 * has no thread: the caller feeds it, and socket calls never block. A
 * driven runtime (kind b) has no thread either, but its socket calls block:
 * the caller's loop is what the thread is to kind c, and the runtime tells
 * it (callback, eventfd) when a call armed a timer earlier than the
 * deadline the loop last learnt. A TUN or sim runtime (kind c) owns a
 * thread that loops: under the lock, run one turn of the driver (read and
 * feed packets, run due timers, write what the stacks queued); then, with
 * the lock released, sleep in poll(2) on the device and a wake-up eventfd
 * until the next deadline. A socket call that changes the stack (sends,
 * arms a timer) writes the eventfd when the thread's sleep would end too
 * late, so timers are never missed and nothing spins.
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
#include "tern/sim.h"
#include "tern/tun.h"

int64_t
rt_mono_ns(void)
{
    return tern_tun_now_ns(); /* CLOCK_MONOTONIC, as the TUN driver reads it */
}

static int64_t
mono_clock(void *ctx)
{
    (void)ctx;
    return rt_mono_ns();
}

static int64_t
sim_clock(void *ctx)
{
    struct tern_rt *rt = ctx;
    return rt_mono_ns() - rt->sim_origin;
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

/* ---- the thread of a TUN or sim runtime ---- */

/* When the thread must next run without news from the device (monotonic). */
static int64_t
rt_next_wake(struct tern_rt *rt)
{
    if (rt->kind == RT_TUN) {
        return tern_tun_next_wake(rt->tun, rt->own_stack);
    }
    int64_t t = tern_sim_next_event(rt->sim);
    return t == INT64_MAX ? t : t + rt->sim_origin;
}

/* One turn under the lock. */
static int
rt_turn(struct tern_rt *rt)
{
    if (rt->kind == RT_TUN) {
        return tern_tun_service(rt->tun, rt->own_stack);
    }
    int64_t now = rt_now(rt);
    if (now >= tern_sim_now(rt->sim)) {
        tern_sim_run_until(rt->sim, now);
    }
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
    if (rt->kind == RT_TUN) {
        tern_tun_flush(rt->tun, rt->own_stack); /* send from the caller's thread */
    }
    if (rt_next_wake(rt) < rt->sleep_until) {
        uint64_t one = 1;
        ssize_t n = write(rt->wake_fd, &one, sizeof(one));
        (void)n;                     /* a full counter already wakes the thread */
        rt->sleep_until = INT64_MIN; /* woken: no need to write again */
    }
}

/* ppoll(2)'s timeout for a sleep until `until` (monotonic ns): NULL for
 * never, zero when it is already past. */
static struct timespec *
sleep_for(int64_t until, struct timespec *ts)
{
    if (until == INT64_MAX) {
        return NULL;
    }
    int64_t d = until - rt_mono_ns();
    d = d < 0 ? 0 : d;
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
                                {.fd = rt->tun ? tern_tun_fd(rt->tun) : -1, .events = POLLIN}};
        struct timespec ts;
        int n = ppoll(pfd, 2, sleep_for(until, &ts), NULL);
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

int
tern_rt_start_tun(const struct tern_tun_config *tun, const struct tern_config *cfg,
                  struct tern_rt **out, char *err, size_t err_len)
{
    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    if (tun == NULL || cfg == NULL || out == NULL || cfg->n_netifs < 1) {
        if (err != NULL) {
            snprintf(err, err_len,
                     "tern_rt_start_tun: a TUN config and a stack config with "
                     "one interface are required");
        }
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    struct tern_config c = *cfg;
    /* No seed and no request for a fixed one: the stack's secret (ISNs,
     * ports, hash key) comes from the OS, as RFC 6528 3 wants. */
    if (c.seed == 0 && !c.deterministic && tern_random_seed(&c.seed) != TERN_OK) {
        if (err != NULL) {
            snprintf(err, err_len, "tern_rt_start_tun: no secret seed: getrandom: %s",
                     strerror(errno));
        }
        return TERN_ERR_NOSECRET;
    }
    struct tern_rt *rt = rt_alloc(RT_TUN, 1);
    if (rt == NULL) {
        return TERN_ERR_NOMEM;
    }
    int r = tern_tun_open(tun, &rt->tun, err, err_len);
    if (r != TERN_OK) {
        tern_rt_free(rt);
        return r;
    }
    c.netifs[0].transmit = tern_tun_transmit;
    c.netifs[0].transmit_ctx = rt->tun;
    c.netifs[0].link = tun->tap ? TERN_LINK_ETHERNET : TERN_LINK_RAW_IP;
    static const uint8_t zero_mac[TERN_MAC_LEN];
    if (tun->tap && memcmp(c.netifs[0].mac, zero_mac, TERN_MAC_LEN) == 0) {
        /* No MAC given: a locally administered unicast one (IEEE 802: bit 1
         * of the first octet set, bit 0 clear). A deterministic stack takes
         * it from the seed and address; a secret seed must not show on the
         * wire (the MAC would give away 40 of its bits), so the MAC is a
         * draw of its own. */
        uint64_t h = (c.seed + c.netifs[0].addr + 1) * 0x9e3779b97f4a7c15ULL;
        if (!c.deterministic && tern_random_seed(&h) != TERN_OK) {
            if (err != NULL) {
                snprintf(err, err_len, "tern_rt_start_tun: no random MAC: getrandom: %s",
                         strerror(errno));
            }
            tern_rt_free(rt);
            return TERN_ERR_NOSECRET;
        }
        c.netifs[0].mac[0] = 0x02;
        for (int i = 1; i < TERN_MAC_LEN; i++) {
            c.netifs[0].mac[i] = (uint8_t)(h >> (8 * i));
        }
    }
    if (c.netifs[0].mtu == 0) {
        c.netifs[0].mtu = tern_tun_mtu(rt->tun);
    }
    r = tern_stack_new(&c, tern_tun_now_ns(), &rt->own_stack);
    if (r != TERN_OK) {
        if (err != NULL) {
            snprintf(err, err_len, "tern_rt_start_tun: bad stack configuration: %s",
                     tern_strerror(r));
        }
        tern_rt_free(rt);
        return r;
    }
    rt_bind_stack(rt, 0, rt->own_stack);
    r = rt_start_thread(rt);
    if (r != TERN_OK) {
        if (err != NULL) {
            snprintf(err, err_len, "tern_rt_start_tun: cannot start the thread");
        }
        tern_rt_free(rt);
        return r;
    }
    rt_registry_adopt(rt);
    *out = rt;
    return TERN_OK;
}

int
tern_rt_start_sim(struct tern_sim *sim, struct tern_rt **out)
{
    if (sim == NULL || out == NULL || tern_sim_host_count(sim) < 1) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    struct tern_rt *rt = rt_alloc(RT_SIM, tern_sim_host_count(sim));
    if (rt == NULL) {
        return TERN_ERR_NOMEM;
    }
    rt->sim = sim;
    rt->sim_origin = rt_mono_ns() - tern_sim_now(sim);
    rt->clock = sim_clock;
    rt->clock_ctx = rt;
    for (int h = 0; h < rt->n_hosts; h++) {
        rt_bind_stack(rt, h, tern_sim_host_stack(sim, h));
    }
    int r = rt_start_thread(rt);
    if (r != TERN_OK) {
        tern_rt_free(rt);
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
    sock_close_all(rt);
    if (rt->tun != NULL && rt->own_stack != NULL) {
        tern_tun_flush(rt->tun, rt->own_stack); /* the RSTs of the aborts */
    }
    pthread_mutex_unlock(&rt->mu);
    tern_stack_free(rt->own_stack);
    tern_tun_close(rt->tun);
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
