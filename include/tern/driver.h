/*
 * include/tern/driver.h: the one interface between a socket runtime and a
 * packet path.
 *
 * A driver moves frames between one or more stacks and the outside world
 * (a TUN or TAP device, a simulated network, the caller's own AF_PACKET
 * socket, pipe, shared ring...). tern_rt_start() gives it a thread: the
 * runtime's thread loops, and each turn, under the runtime's lock,
 *
 *   1. calls service(ctx, now): the driver feeds what arrived to its
 *      stacks (tern_stack_input, without blocking) and does what of its
 *      own is due at `now` (packets it held back, simulated events);
 *   2. runs the timers each stack has due at `now` (tern_stack_poll);
 *   3. calls flush(ctx): the driver sends what the stacks queued;
 *
 * then, with the lock released, sleeps in ppoll(2) on the driver's `fd`
 * (POLLIN) and a wake-up eventfd of its own, until the earliest of the
 * stacks' next deadlines and next_wake(ctx). A socket call on any other
 * thread runs under the same lock, calls flush(ctx) when it is done (a
 * write goes out from the writer's thread) and wakes the thread if it
 * armed an earlier timer. tern_rt_free() stops the thread, closes the
 * sockets (their RSTs go out through a last flush) and calls close(ctx).
 *
 * Frames leave a stack through its transmit callback (struct
 * tern_netif_config), which the driver installs when it makes or is given
 * the stack. The callback runs under the runtime's lock on whichever thread
 * made the stack send; it may write the frame out at once, or copy it to a
 * queue that flush() empties. It must not call a stack.
 *
 * The runtime's time is the driver's now() (NULL: CLOCK_MONOTONIC, in ns),
 * the time base every stack of the driver runs on. It must advance at the
 * rate of CLOCK_MONOTONIC (the thread sleeps in real time); its origin is
 * the driver's (a simulation starts at its own virtual time).
 *
 * Every callback but now() runs under the runtime's lock; none may call
 * into the runtime (socket calls, tern_rt_*). now() may be called with or
 * without the lock.
 *
 * The implementations in the library: tern_tun_driver() (tern/tun.h: a TUN
 * or TAP device, which tern_rt_start_tun() composes with a stack) and
 * tern_sim_driver() (tern/sim.h: a simulated network run in real time,
 * tern_rt_start_sim()). A caller's own packet path plugs in the same way;
 * tests/unit/test_socket_driver.c has one. A caller whose loop must own the
 * thread (a DPDK poll loop, a harness in virtual time) uses tern_rt_drive()
 * (tern/socket.h) instead: there the caller pushes frames and time in.
 */
#ifndef TERN_DRIVER_H
#define TERN_DRIVER_H

#include <stdint.h>

#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_rt;

struct tern_driver_ops {
    /* The runtime's time in ns. NULL: CLOCK_MONOTONIC. */
    int64_t (*now)(void *ctx);
    /* Required. Feeds what arrived to the stacks and runs what of the
     * driver's own is due at `now_ns`, without blocking. Returns TERN_OK,
     * or an error that stops the runtime's thread for good: the stacks no
     * longer move, and calls blocked on them wait out their timeouts
     * (SO_RCVTIMEO...) until tern_rt_free. */
    int (*service)(void *ctx, int64_t now_ns);
    /* When the driver next needs a turn without news on `fd` (its own
     * held packets or events; the stacks' deadlines are the runtime's
     * business), in the runtime's time; INT64_MAX for never. NULL: never. */
    int64_t (*next_wake)(void *ctx);
    /* Sends what the stacks queued. NULL when the transmit callback sends
     * at once. */
    void (*flush)(void *ctx);
    /* Releases what the driver owns. Called exactly once, by tern_rt_free
     * (after the last flush) or by a tern_rt_start that fails. NULL: none. */
    void (*close)(void *ctx);
};

struct tern_driver {
    const struct tern_driver_ops *ops;
    void *ctx; /* given to every callback */
    int fd;    /* readable when frames wait (POLLIN); -1: none, timers only */
    /* The stacks the driver serves: host i of the runtime is stacks[i]
     * (tern_socket_in). The runtime copies the pointers; it frees no stack
     * (close() frees those the driver owns). 1 to TERN_DRIVER_MAX_STACKS. */
    int n_stacks;
    struct tern_stack *const *stacks;
};

#define TERN_DRIVER_MAX_STACKS 1024

/*
 * (c) A runtime whose thread runs `drv` (copied: the caller may reuse the
 * struct). The runtime owns the driver from this call on, whatever the
 * result: on failure drv->ops->close has been called (when drv and its ops
 * were given). Returns TERN_OK,
 * TERN_ERR_INVAL (no ops or service, no stacks, a NULL stack),
 * TERN_ERR_NOMEM, or TERN_ERR_TXFAIL (no eventfd or thread).
 */
int tern_rt_start(const struct tern_driver *drv, struct tern_rt **out);

#ifdef __cplusplus
}
#endif

#endif
