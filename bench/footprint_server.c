/*
 * bench/footprint_server.c: the smallest useful program on tern's native
 * API, a TCP echo server, for bench/footprint.sh to measure the flash it
 * takes on a Cortex-M class target.
 *
 * One interface (raw IP) whose transmit callback hands datagrams to the
 * board's driver, a listener on port 7, and an event callback that accepts
 * children and sends back what each one receives. The board's side (the
 * frame source, the clock, the driver's transmit) is reduced to volatile
 * variables on purpose, so that the figure is the stack's and not a
 * driver's. It is built for the footprint only, never run.
 */
#include <stddef.h>
#include <stdint.h>

#include "tern/stack.h"
#include "tern/tcp.h"

/* ---- the board: volatile stand-ins for a device and a clock ---- */

/* Where a driver would put a received datagram; the volatile length stands
 * for a receive interrupt, so the input path is not optimised away. */
static uint8_t rx_frame[1500];
static volatile size_t rx_len;
static volatile uint32_t ticks_ms;

static int64_t
board_now_ns(void)
{
    return (int64_t)ticks_ms * 1000000;
}

static int
board_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    (void)ctx;
    (void)netif;
    (void)next_hop;
    volatile const uint8_t *sink = pkt; /* a driver would start DMA here */
    (void)sink;
    return len > 0 ? TERN_OK : TERN_ERR_INVAL;
}

/* ---- the server ---- */

static void
on_event(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    (void)ctx;
    (void)err;
    int64_t now = board_now_ns();
    if (events & TERN_TCP_EV_ACCEPT_READY) {
        int child;
        while ((child = tern_tcp_accept(st, id, now)) > 0) {
            tern_tcp_set_callback(st, child, on_event, NULL);
        }
        return;
    }
    if (events & (TERN_TCP_EV_READABLE | TERN_TCP_EV_WRITABLE)) {
        uint8_t buf[256];
        int n;
        while ((n = tern_tcp_recv(st, id, buf, sizeof(buf), now)) > 0) {
            tern_tcp_send(st, id, buf, (size_t)n, now); /* echo; a full buffer drops */
        }
    }
    if (events & TERN_TCP_EV_PEER_FIN) {
        tern_tcp_close(st, id, now);
    }
    if (events & TERN_TCP_EV_CLOSED) {
        tern_tcp_release(st, id, now);
    }
}

int main(void);

int
main(void)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 0x7465726e; /* a board would take it from its hardware RNG */
    cfg.deterministic = true;
    cfg.pool_bytes = 16 * 1024;
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = 0x0a000002, /* 10.0.0.2/24 */
        .prefix_len = 24,
        .mtu = 1500,
        .transmit = board_transmit,
    };
    cfg.n_netifs = 1;
    struct tern_stack *st;
    if (tern_stack_new(&cfg, board_now_ns(), &st) != TERN_OK) {
        return 1;
    }
    struct tern_tcp_open_args lst = {.passive = true, .local_port = 7, .cb = on_event};
    if (tern_tcp_open(st, &lst, board_now_ns()) < 0) {
        return 1;
    }
    for (;;) {
        size_t n = rx_len;
        if (n > 0) {
            tern_stack_input(st, 0, rx_frame, n, board_now_ns());
            rx_len = 0;
        }
        tern_stack_poll(st, board_now_ns());
    }
}
