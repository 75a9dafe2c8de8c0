/*
 * drivers/tun/tun.c: a stack on a Linux TUN/TAP device (include/tern/tun.h).
 *
 * Packet paths:
 *   device --read--> [rx impairment: drop, dup, hold] --> tern_stack_input
 *   stack --transmit callback--> outbox --[tx impairment]--> write to device
 * Held packets wait in two FIFO rings per direction: the delay ring (every
 * packet, `delay_ns`) and the reorder ring (`delay_ns + reorder_hold_ns`).
 * Each ring has a constant hold time, so its head is always the next packet
 * it releases, and later packets of the other ring pass the held ones.
 */
#define _DEFAULT_SOURCE /* struct ifreq, ioctl constants */
#include "tern/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tern/pcap.h"
#include "tern/rng.h"

#define DEFAULT_SLOTS   2048u
#define DEFAULT_HOLD_NS 2000000LL /* 2 ms: longer than a bulk burst's packet gap */
#define READ_BATCH      64        /* packets read per turn before the stack runs again */
#define RX_BUF_LEN      65600u    /* any datagram the kernel can hand us */
#define LINK_HDR_MAX    18u       /* Ethernet header with one VLAN tag (TAP) */

enum dir { DIR_RX = 0, DIR_TX = 1 }; /* RX: kernel to tern; TX: tern to kernel */

struct slot {
    int64_t due_ns;
    uint32_t len;
};

/* A FIFO of fixed-size packet slots. */
struct ring {
    struct slot *meta;
    uint8_t *data; /* n slots of slot_len bytes */
    unsigned n, head, count;
};

struct tern_tun {
    int fd;
    bool tap;
    uint16_t mtu;
    char name[IFNAMSIZ];
    size_t slot_len;
    struct tern_tun_impair imp;
    struct tern_rng rng;
    struct ring outbox;
    struct ring delay[2], hold[2]; /* by enum dir */
    uint8_t *rx_buf;
    struct tern_pcap *pcap;
    struct tern_tun_stats stats;
    struct tern_stack *drv_stack; /* the stack a runtime's driver serves (tern_tun_driver) */
};

int64_t
tern_tun_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t
wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- Rings ------------------------------------------------------------------ */

static bool
ring_init(struct ring *r, unsigned n, size_t slot_len)
{
    r->meta = calloc(n, sizeof(*r->meta));
    r->data = malloc((size_t)n * slot_len);
    r->n = n;
    r->head = r->count = 0;
    return r->meta != NULL && r->data != NULL;
}

static void
ring_free(struct ring *r)
{
    free(r->meta);
    free(r->data);
}

/* Appends a copy of pkt; false when the ring is full. */
static bool
ring_push(struct tern_tun *t, struct ring *r, const uint8_t *pkt, size_t len, int64_t due_ns)
{
    if (r->count == r->n) {
        return false;
    }
    unsigned i = (r->head + r->count) % r->n;
    memcpy(r->data + (size_t)i * t->slot_len, pkt, len);
    r->meta[i] = (struct slot){.due_ns = due_ns, .len = (uint32_t)len};
    r->count++;
    return true;
}

static const struct slot *
ring_peek(const struct ring *r)
{
    return r->count == 0 ? NULL : &r->meta[r->head];
}

static uint8_t *
ring_head_data(const struct tern_tun *t, const struct ring *r)
{
    return r->data + (size_t)r->head * t->slot_len;
}

static void
ring_pop(struct ring *r)
{
    r->head = (r->head + 1) % r->n;
    r->count--;
}

/* ---- Opening the device ----------------------------------------------------- */

static int
open_error(char *err, size_t err_len, int code, const char *fmt, const char *arg)
{
    int e = errno;
    if (err != NULL && err_len > 0) {
        snprintf(err, err_len, fmt, arg, strerror(e));
    }
    errno = e;
    return code;
}

/* Attaches to /dev/net/tun as `cfg->dev`; returns the fd or -1 (err filled). */
static int
attach(const struct tern_tun_config *cfg, char *name, char *err, size_t err_len, int *code)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
            *code = open_error(err, err_len, TERN_ERR_TXFAIL,
                               "cannot open %s: %s (no TUN support: modprobe tun, or mknod "
                               "/dev/net/tun c 10 200)",
                               "/dev/net/tun");
        } else if (errno == EPERM || errno == EACCES) {
            *code = open_error(err, err_len, TERN_ERR_TXFAIL,
                               "cannot open %s: %s (run as root or with CAP_NET_ADMIN)",
                               "/dev/net/tun");
        } else {
            *code = open_error(err, err_len, TERN_ERR_TXFAIL, "cannot open %s: %s", "/dev/net/tun");
        }
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)((cfg->tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
    memcpy(ifr.ifr_name, cfg->dev, strlen(cfg->dev));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        const char *fmt = "device %s: %s";
        *code = TERN_ERR_TXFAIL;
        if (errno == EPERM || errno == EACCES) {
            fmt = "device %s: %s (creating or attaching a TUN/TAP device needs root or "
                  "CAP_NET_ADMIN)";
        } else if (errno == EBUSY) {
            fmt = "device %s: %s (another process holds it)";
            *code = TERN_ERR_EXIST;
        } else if (errno == EINVAL) {
            fmt = cfg->tap ? "device %s: %s (it exists and is not a TAP device)"
                           : "device %s: %s (it exists and is not a TUN device)";
            *code = TERN_ERR_INVAL;
        }
        *code = open_error(err, err_len, *code, fmt, cfg->dev);
        close(fd);
        return -1;
    }
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = '\0';
    return fd;
}

static void
set_sin(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    memcpy(sa, &sin, sizeof(sin));
}

/* MTU, kernel-side address, up; by ioctl on an AF_INET socket. */
static int
configure(struct tern_tun *t, const struct tern_tun_config *cfg, char *err, size_t err_len)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return open_error(err, err_len, TERN_ERR_TXFAIL, "%s: socket: %s", t->name);
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
    int rc = TERN_OK;
    if (cfg->mtu != 0) {
        ifr.ifr_mtu = cfg->mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
            rc = open_error(err, err_len, TERN_ERR_INVAL, "%s: cannot set the MTU: %s", t->name);
            goto out;
        }
    }
    if (ioctl(s, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu < 68 || ifr.ifr_mtu > 65535) {
        rc = open_error(err, err_len, TERN_ERR_TXFAIL, "%s: cannot read the MTU: %s", t->name);
        goto out;
    }
    t->mtu = (uint16_t)ifr.ifr_mtu;
    if (cfg->linux_prefix_len > 0) {
        set_sin(&ifr.ifr_addr, cfg->linux_addr);
        if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
            rc =
                open_error(err, err_len, TERN_ERR_INVAL, "%s: cannot set the address: %s", t->name);
            goto out;
        }
        uint32_t mask =
            cfg->linux_prefix_len >= 32 ? 0xffffffffu : ~(0xffffffffu >> cfg->linux_prefix_len);
        set_sin(&ifr.ifr_netmask, mask);
        if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) {
            rc =
                open_error(err, err_len, TERN_ERR_INVAL, "%s: cannot set the netmask: %s", t->name);
            goto out;
        }
    }
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        rc = open_error(err, err_len, TERN_ERR_TXFAIL, "%s: cannot read the flags: %s", t->name);
        goto out;
    }
    ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
        rc = open_error(err, err_len, TERN_ERR_TXFAIL, "%s: cannot bring it up: %s", t->name);
    }
out:
    close(s);
    return rc;
}

static bool
alloc_queues(struct tern_tun *t, unsigned slots)
{
    bool ok = ring_init(&t->outbox, slots, t->slot_len);
    for (int d = 0; d < 2; d++) {
        ok = ring_init(&t->delay[d], slots, t->slot_len) && ok;
        ok = ring_init(&t->hold[d], slots, t->slot_len) && ok;
    }
    t->rx_buf = malloc(RX_BUF_LEN);
    return ok && t->rx_buf != NULL;
}

static int
check_config(const struct tern_tun_config *cfg, char *err, size_t err_len)
{
    const struct tern_tun_impair *im = &cfg->impair;
    const char *what = NULL;
    if (cfg->dev == NULL || cfg->dev[0] == '\0' || strlen(cfg->dev) >= IFNAMSIZ) {
        what = "device name must be 1 to 15 bytes";
    } else if (strchr(cfg->dev, '/') != NULL || strchr(cfg->dev, ' ') != NULL) {
        what = "device name must not contain '/' or blanks";
    } else if (cfg->mtu != 0 && cfg->mtu < 68) {
        what = "MTU must be at least 68 (RFC 791)";
    } else if (cfg->linux_prefix_len > 32) {
        what = "prefix length must be 0 to 32";
    } else if (!(im->drop_pct >= 0 && im->drop_pct <= 100 && im->dup_pct >= 0 &&
                 im->dup_pct <= 100 && im->reorder_pct >= 0 && im->reorder_pct <= 100)) {
        what = "impairment percentages must be 0 to 100";
    } else if (im->delay_ns < 0 || im->reorder_hold_ns < 0) {
        what = "delays must not be negative";
    }
    if (what != NULL && err != NULL && err_len > 0) {
        snprintf(err, err_len, "%s", what);
    }
    return what != NULL ? TERN_ERR_INVAL : TERN_OK;
}

int
tern_tun_open(const struct tern_tun_config *cfg, struct tern_tun **out, char *err, size_t err_len)
{
    if (out == NULL || cfg == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    errno = 0; /* stays 0 for a config error: the caller tells usage from system */
    int rc = check_config(cfg, err, err_len);
    if (rc != TERN_OK) {
        return rc;
    }
    struct tern_tun *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return TERN_ERR_NOMEM;
    }
    t->tap = cfg->tap;
    t->imp = cfg->impair;
    if (t->imp.reorder_hold_ns == 0) {
        t->imp.reorder_hold_ns = DEFAULT_HOLD_NS;
    }
    tern_rng_seed(&t->rng, t->imp.seed);
    t->fd = attach(cfg, t->name, err, err_len, &rc);
    if (t->fd < 0) {
        free(t);
        return rc;
    }
    rc = configure(t, cfg, err, err_len);
    if (rc == TERN_OK) {
        t->slot_len = (size_t)t->mtu + (t->tap ? LINK_HDR_MAX : 0);
        if (!alloc_queues(t, cfg->queue_slots ? cfg->queue_slots : DEFAULT_SLOTS)) {
            rc = TERN_ERR_NOMEM;
            if (err != NULL && err_len > 0) {
                snprintf(err, err_len, "out of memory");
            }
        }
    }
    if (rc == TERN_OK && cfg->pcap_path != NULL) {
        uint32_t lt = t->tap ? TERN_PCAP_LINKTYPE_ETHERNET : TERN_PCAP_LINKTYPE_RAW;
        rc = tern_pcap_open(cfg->pcap_path, lt, 0, &t->pcap);
        if (rc != TERN_OK) {
            rc = open_error(err, err_len, TERN_ERR_INVAL, "cannot write the capture %s: %s",
                            cfg->pcap_path);
        }
    }
    if (rc != TERN_OK) {
        int e = errno;
        tern_tun_close(t);
        errno = e;
        return rc;
    }
    *out = t;
    return TERN_OK;
}

int
tern_tun_close(struct tern_tun *t)
{
    if (t == NULL) {
        return TERN_OK;
    }
    if (t->fd >= 0) {
        close(t->fd);
    }
    int rc = tern_pcap_close(t->pcap);
    ring_free(&t->outbox);
    for (int d = 0; d < 2; d++) {
        ring_free(&t->delay[d]);
        ring_free(&t->hold[d]);
    }
    free(t->rx_buf);
    free(t);
    return rc;
}

uint16_t
tern_tun_mtu(const struct tern_tun *t)
{
    return t->mtu;
}

const char *
tern_tun_name(const struct tern_tun *t)
{
    return t->name;
}

const struct tern_tun_stats *
tern_tun_stats(const struct tern_tun *t)
{
    return &t->stats;
}

/* ---- Moving packets --------------------------------------------------------- */

int
tern_tun_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct tern_tun *t = ctx;
    (void)netif;
    (void)next_hop; /* TUN is point to point; TAP resolves it in the stack */
    if (len > t->slot_len || !ring_push(t, &t->outbox, pkt, len, 0)) {
        t->stats.queue_full++;
        return -1;
    }
    return 0;
}

/* Hands a packet to its destination now: the device (TX) or the stack (RX). */
static void
deliver(struct tern_tun *t, struct tern_stack *st, enum dir d, const uint8_t *pkt, size_t len)
{
    if (d == DIR_RX) {
        (void)tern_stack_input(st, 0, pkt, len, tern_tun_now_ns());
        return;
    }
    ssize_t n = write(t->fd, pkt, len);
    if (n != (ssize_t)len) {
        t->stats.write_errors++;
        return;
    }
    t->stats.tx_packets++;
    t->stats.tx_bytes += len;
    if (t->pcap != NULL) {
        (void)tern_pcap_write(t->pcap, wall_ns(), pkt, len);
    }
}

static uint32_t
pct_ppm(double pct)
{
    return (uint32_t)(pct * 10000.0 + 0.5);
}

/* One copy of a packet through the hold decision: reorder ring, delay ring
 * or straight through. */
static void
route_copy(struct tern_tun *t, struct tern_stack *st, enum dir d, const uint8_t *pkt, size_t len,
           int64_t now)
{
    bool reorder = tern_rng_chance_ppm(&t->rng, pct_ppm(t->imp.reorder_pct));
    if (len > t->slot_len) {
        t->stats.too_big++;
        deliver(t, st, d, pkt, len);
        return;
    }
    if (reorder) {
        t->stats.reordered[d]++;
        if (!ring_push(t, &t->hold[d], pkt, len, now + t->imp.delay_ns + t->imp.reorder_hold_ns)) {
            t->stats.queue_full++;
        }
    } else if (t->imp.delay_ns > 0 || t->delay[d].count > 0) {
        if (!ring_push(t, &t->delay[d], pkt, len, now + t->imp.delay_ns)) {
            t->stats.queue_full++;
        }
    } else {
        deliver(t, st, d, pkt, len);
    }
}

/* A packet entering the impairment of direction d. */
static void
impair(struct tern_tun *t, struct tern_stack *st, enum dir d, const uint8_t *pkt, size_t len)
{
    if (tern_rng_chance_ppm(&t->rng, pct_ppm(t->imp.drop_pct))) {
        t->stats.dropped[d]++;
        return;
    }
    int copies = 1;
    if (tern_rng_chance_ppm(&t->rng, pct_ppm(t->imp.dup_pct))) {
        t->stats.duplicated[d]++;
        copies = 2;
    }
    int64_t now = tern_tun_now_ns();
    for (int i = 0; i < copies; i++) {
        route_copy(t, st, d, pkt, len, now);
    }
}

/* Releases every held packet due at `now`, oldest due time first. */
static void
release_due(struct tern_tun *t, struct tern_stack *st, int64_t now)
{
    for (int d = 0; d < 2; d++) {
        for (;;) {
            const struct slot *a = ring_peek(&t->delay[d]);
            const struct slot *b = ring_peek(&t->hold[d]);
            struct ring *r = NULL;
            if (a != NULL && a->due_ns <= now && (b == NULL || a->due_ns <= b->due_ns)) {
                r = &t->delay[d];
            } else if (b != NULL && b->due_ns <= now) {
                r = &t->hold[d];
            }
            if (r == NULL) {
                break;
            }
            /* Copy out before delivering: delivering may refill the rings. */
            uint32_t len = ring_peek(r)->len;
            memcpy(t->rx_buf, ring_head_data(t, r), len);
            ring_pop(r);
            deliver(t, st, (enum dir)d, t->rx_buf, len);
        }
    }
}

void
tern_tun_flush(struct tern_tun *t, struct tern_stack *st)
{
    while (t->outbox.count > 0) {
        const struct slot *s = ring_peek(&t->outbox);
        impair(t, st, DIR_TX, ring_head_data(t, &t->outbox), s->len);
        ring_pop(&t->outbox);
    }
}

static int64_t
next_held_due(const struct tern_tun *t)
{
    int64_t due = INT64_MAX;
    for (int d = 0; d < 2; d++) {
        const struct slot *a = ring_peek(&t->delay[d]);
        const struct slot *b = ring_peek(&t->hold[d]);
        if (a != NULL && a->due_ns < due) {
            due = a->due_ns;
        }
        if (b != NULL && b->due_ns < due) {
            due = b->due_ns;
        }
    }
    return due;
}

/* poll(2) timeout in ms (rounded up) until `until`, -1 for never. */
static int
timeout_ms(int64_t until, int64_t now)
{
    if (until == INT64_MAX) {
        return -1;
    }
    if (until <= now) {
        return 0;
    }
    int64_t ms = (until - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* Reads and inputs up to READ_BATCH packets; -1 on a read error other
 * than EAGAIN. */
static int
read_frames(struct tern_tun *t, struct tern_stack *st)
{
    for (int i = 0; i < READ_BATCH; i++) {
        ssize_t n = read(t->fd, t->rx_buf, RX_BUF_LEN);
        if (n < 0) {
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        }
        t->stats.rx_packets++;
        t->stats.rx_bytes += (uint64_t)n;
        if (t->pcap != NULL) {
            (void)tern_pcap_write(t->pcap, wall_ns(), t->rx_buf, (size_t)n);
        }
        impair(t, st, DIR_RX, t->rx_buf, (size_t)n);
        tern_tun_flush(t, st); /* what the stack answered, before the next read */
    }
    return 0;
}

/* Reads up to READ_BATCH packets as one input batch; -1 on a read error
 * other than EAGAIN. */
static int
read_batch(struct tern_tun *t, struct tern_stack *st)
{
    /* One input batch (tern_stack_batch_begin): the ACKs the frames of
     * this wakeup call for go out once, after the last (RFC 1122 4.2.3.2). */
    tern_stack_batch_begin(st);
    int rc = read_frames(t, st);
    tern_stack_batch_end(st, tern_tun_now_ns());
    tern_tun_flush(t, st);
    return rc;
}

int
tern_tun_fd(const struct tern_tun *t)
{
    return t->fd;
}

int64_t
tern_tun_next_wake(const struct tern_tun *t, const struct tern_stack *st)
{
    int64_t until = tern_stack_next_deadline(st);
    int64_t held = next_held_due(t);
    return held < until ? held : until;
}

/* Timers and held packets that are due, then what the stack queued. */
static void
run_due(struct tern_tun *t, struct tern_stack *st)
{
    int64_t now = tern_tun_now_ns();
    if (tern_stack_next_deadline(st) <= now) {
        tern_stack_poll(st, now);
        tern_tun_flush(t, st);
    }
    release_due(t, st, now);
    tern_tun_flush(t, st);
}

int
tern_tun_service(struct tern_tun *t, struct tern_stack *st)
{
    tern_tun_flush(t, st);
    run_due(t, st);
    if (read_batch(t, st) < 0) {
        return TERN_ERR_TXFAIL;
    }
    run_due(t, st);
    return TERN_OK;
}

int
tern_tun_step(struct tern_tun *t, struct tern_stack *st, int64_t wake_ns)
{
    tern_tun_flush(t, st);
    run_due(t, st);
    int64_t until = tern_tun_next_wake(t, st);
    until = wake_ns < until ? wake_ns : until;
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms(until, tern_tun_now_ns()));
    if (n < 0) {
        return errno == EINTR ? TERN_OK : TERN_ERR_TXFAIL;
    }
    if (n > 0 && (pfd.revents & (POLLERR | POLLNVAL)) != 0) {
        errno = EIO;
        return TERN_ERR_TXFAIL;
    }
    if (n > 0 && read_batch(t, st) < 0) {
        return TERN_ERR_TXFAIL;
    }
    run_due(t, st);
    return TERN_OK;
}

/* ---- The socket runtime's driver (tern/driver.h) ----------------------------- */

static int
drv_service(void *ctx, int64_t now_ns)
{
    struct tern_tun *t = ctx;
    (void)now_ns; /* the device's clock is the runtime's: CLOCK_MONOTONIC */
    return tern_tun_service(t, t->drv_stack);
}

/* The held packets; the runtime adds the stack's deadline. */
static int64_t
drv_next_wake(void *ctx)
{
    return next_held_due(ctx);
}

static void
drv_flush(void *ctx)
{
    struct tern_tun *t = ctx;
    tern_tun_flush(t, t->drv_stack);
}

static void
drv_close(void *ctx)
{
    struct tern_tun *t = ctx;
    struct tern_stack *st = t->drv_stack;
    (void)tern_tun_close(t);
    tern_stack_free(st);
}

static const struct tern_driver_ops tun_driver_ops = {
    .now = NULL, /* CLOCK_MONOTONIC, as tern_tun_now_ns */
    .service = drv_service,
    .next_wake = drv_next_wake,
    .flush = drv_flush,
    .close = drv_close,
};

int
tern_tun_driver(struct tern_tun *t, struct tern_stack *st, struct tern_driver *out)
{
    if (t == NULL || st == NULL || out == NULL) {
        return TERN_ERR_INVAL;
    }
    t->drv_stack = st;
    *out = (struct tern_driver){
        .ops = &tun_driver_ops,
        .ctx = t,
        .fd = t->fd,
        .n_stacks = 1,
        .stacks = &t->drv_stack,
    };
    return TERN_OK;
}
