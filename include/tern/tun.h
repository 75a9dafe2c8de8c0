/*
 * include/tern/tun.h: a tern stack on a Linux TUN (or TAP) device.
 *
 * The driver opens /dev/net/tun, attaches to (or creates) the named device,
 * brings it up with ioctl(2) (SIOCSIFMTU, SIOCSIFFLAGS, and SIOCSIFADDR /
 * SIOCSIFNETMASK when a kernel-side address is asked for; it never runs
 * ip(8)), and moves packets between the device's file descriptor and a
 * stack. It lives outside the sans-I/O core: it is the one place that reads
 * the clock (CLOCK_MONOTONIC, in ns) and sleeps (poll(2)).
 *
 * TUN carries raw IPv4 datagrams (IFF_TUN | IFF_NO_PI), exactly what
 * tern_stack_input() takes on a TERN_LINK_RAW_IP interface. TAP
 * (IFF_TAP | IFF_NO_PI) carries Ethernet frames: give the stack's interface
 * TERN_LINK_ETHERNET and a MAC, and frames pass through unchanged (the stack
 * does ARP). The driver itself does not look inside packets.
 *
 * The stack's transmit callback (tern_tun_transmit) only copies the datagram
 * into a bounded outbox; tern_tun_step() writes the outbox after the stack
 * call returns, so the callback never re-enters the stack.
 *
 * Impairment: each direction (kernel to tern, tern to kernel) may drop,
 * duplicate, reorder (hold a packet back so later ones pass it) and delay
 * packets, decided by a PRNG seeded from `seed`, for tests that stress a
 * real peer without netem. Held packets wait in fixed rings allocated at
 * open; a full ring drops (counted).
 *
 * One driver serves one stack, from one thread.
 */
#ifndef TERN_TUN_H
#define TERN_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/driver.h"
#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Impairment of one run, applied to both directions. Percentages are 0..100. */
struct tern_tun_impair {
    double drop_pct;         /* packets discarded */
    double dup_pct;          /* packets delivered twice */
    double reorder_pct;      /* packets held back reorder_hold_ns longer than the others */
    int64_t delay_ns;        /* one-way delay added to every packet (order kept) */
    int64_t reorder_hold_ns; /* 0: default 2 ms */
    uint64_t seed;
};

struct tern_tun_config {
    const char *dev; /* device name, at most 15 bytes; created if missing */
    bool tap;        /* IFF_TAP instead of IFF_TUN */
    uint16_t mtu;    /* set on the device; 0 leaves the device's MTU (and reads it) */
    /* When linux_prefix_len > 0, the kernel's own address on the device
     * (host order) and its prefix; 0 leaves the device's addresses alone. */
    uint32_t linux_addr;
    uint8_t linux_prefix_len;
    struct tern_tun_impair impair;
    const char *pcap_path; /* NULL: no capture; else every packet read or written */
    unsigned queue_slots;  /* outbox and each delay ring; 0: default 2048 */
};

/* Counters of the driver (not of the stack). */
struct tern_tun_stats {
    uint64_t rx_packets, rx_bytes; /* read from the device */
    uint64_t tx_packets, tx_bytes; /* written to the device */
    uint64_t dropped[2];           /* by impairment: [0] kernel->tern, [1] tern->kernel */
    uint64_t duplicated[2];
    uint64_t reordered[2];
    uint64_t queue_full; /* packets lost because the outbox or a delay ring was full */
    uint64_t too_big;    /* packets larger than a slot (MTU), not held: passed on */
    uint64_t write_errors;
};

struct tern_tun;

/* Current CLOCK_MONOTONIC time in nanoseconds: the time to give the stack. */
int64_t tern_tun_now_ns(void);

/*
 * Opens the device. On success stores the driver in *out and returns
 * TERN_OK. On failure returns TERN_ERR_INVAL (bad config, or the device
 * exists with the other type), TERN_ERR_NOMEM,
 * TERN_ERR_EXIST (device busy: another process holds it) or TERN_ERR_TXFAIL
 * (any other system error); `err` (may be NULL) receives one line saying
 * what failed and what to do (not root, no /dev/net/tun...), without a
 * trailing newline. `errno` is left as the failing call set it (0 for a
 * config error found before any system call).
 */
int tern_tun_open(const struct tern_tun_config *cfg, struct tern_tun **out, char *err,
                  size_t err_len);

/* Closes the device (a device tern created disappears), flushes and closes
 * the capture, frees the driver. NULL is a no-op. Returns TERN_OK, or
 * TERN_ERR_INVAL if the capture could not be written completely. */
int tern_tun_close(struct tern_tun *t);

/* The device's MTU (as set, or as read from the device). */
uint16_t tern_tun_mtu(const struct tern_tun *t);

/* The device's name as the kernel gave it. */
const char *tern_tun_name(const struct tern_tun *t);

/* The transmit callback to put in struct tern_netif_config (ctx = the
 * driver). Copies the datagram into the outbox; never calls the stack. */
int tern_tun_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop);

/*
 * One turn of the event loop for stack `st` (netif 0): writes the outbox,
 * runs due timers (tern_stack_poll), releases held packets that are due,
 * then sleeps in poll(2) until a packet arrives, the stack's next deadline,
 * the next held packet, or `wake_ns` (CLOCK_MONOTONIC; INT64_MAX for none;
 * a time in the past means "do not sleep"), and feeds what arrived (a
 * bounded batch) to tern_stack_input(). The outbox is written again before
 * returning. Returns TERN_OK, or TERN_ERR_TXFAIL if reading the device
 * failed (errno says why). An interrupted sleep (a signal) is not an error.
 */
int tern_tun_step(struct tern_tun *t, struct tern_stack *st, int64_t wake_ns);

/*
 * The same loop cut in pieces, for a caller that sleeps on more than the
 * device (the socket runtime's thread waits on the device and a wake-up
 * eventfd): tern_tun_service() does one turn without sleeping (writes the
 * outbox, runs what is due, reads and feeds a bounded batch of packets);
 * tern_tun_next_wake() is when the next turn is due without new packets
 * (CLOCK_MONOTONIC ns, INT64_MAX for never); tern_tun_fd() is the device
 * to poll for POLLIN. Returns as tern_tun_step().
 */
int tern_tun_service(struct tern_tun *t, struct tern_stack *st);
int64_t tern_tun_next_wake(const struct tern_tun *t, const struct tern_stack *st);
int tern_tun_fd(const struct tern_tun *t);

/* Writes what the stack queued (call after using the TCP API outside
 * tern_tun_step, e.g. before exiting). */
void tern_tun_flush(struct tern_tun *t, struct tern_stack *st);

const struct tern_tun_stats *tern_tun_stats(const struct tern_tun *t);

/* ---- Under a socket runtime (tern/socket.h, tern/driver.h) ---- */

/*
 * Fills `out` with the driver of device `t` serving stack `st` (netif 0,
 * whose transmit callback is tern_tun_transmit with `t`), for
 * tern_rt_start(): its turn is tern_tun_service(), its flush
 * tern_tun_flush(), its fd the device's, its clock CLOCK_MONOTONIC, and its
 * close closes the device and frees the stack, so the runtime owns both
 * from tern_rt_start on. Returns TERN_OK or TERN_ERR_INVAL (a NULL).
 */
int tern_tun_driver(struct tern_tun *t, struct tern_stack *st, struct tern_driver *out);

/*
 * The device and its stack as tern_rt_start_tun() makes them, not yet
 * started: opens the device, makes the stack (the same defaults: a secret
 * seed, a random MAC on TAP, the device's MTU) and fills `out` as
 * tern_tun_driver() does. For a caller that wraps the driver's callbacks
 * before tern_rt_start() (the preload library marks the runtime's thread);
 * the driver's close frees both. Returns as tern_rt_start_tun() before the
 * start.
 */
int tern_tun_driver_new(const struct tern_tun_config *tun, const struct tern_config *cfg,
                        struct tern_driver *out, char *err, size_t err_len);

/*
 * A stack on a TUN or TAP device under a socket runtime with a thread:
 * opens the device, makes the stack, and starts tern_rt_start() on
 * tern_tun_driver(). `cfg` describes the stack; netif 0 gets the transmit
 * callback, its link type from tun->tap, its MTU when 0 (the device's), the
 * seed when it is 0 and cfg->deterministic is false (a secret from
 * tern_random_seed, so tern_config_init's defaults are safe here) and, on
 * TAP when none is given, a locally administered MAC (derived from the seed
 * when deterministic, else random: a MAC must not reveal the secret). `err`
 * (may be NULL) receives a one-line reason on failure. Returns TERN_OK, or
 * the error of tern_tun_open / tern_stack_new, or TERN_ERR_NOSECRET (no
 * randomness from the OS), TERN_ERR_NOMEM / TERN_ERR_TXFAIL (thread).
 */
int tern_rt_start_tun(const struct tern_tun_config *tun, const struct tern_config *cfg,
                      struct tern_rt **out, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
