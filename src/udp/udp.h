/*
 * src/udp/udp.h: the UDP layer of one stack (RFC 768, RFC 1122 4.1), as the
 * composition root sees it. Never installed. The user calls are
 * include/tern/udp.h, defined in src/udp/udp.c.
 *
 * Memory: udp_init() allocates the socket table (cfg.udp.max_sockets
 * entries of struct udp_sock). Received datagrams wait in a pool chain per
 * socket (core/pool.h), as records of a UDP_REC_HDR-byte header and the
 * payload; each socket's queue is capped by its rcvbuf and by what the
 * pool has. Sending gathers an 8-byte header and the user's bytes straight
 * into IP's transmit buffer: nothing is allocated or queued after init.
 */
#ifndef TERN_UDP_UDP_H
#define TERN_UDP_UDP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"
#include "ip/ip.h"
#include "tern/udp.h"

struct tern_stack;

/* Bytes in front of each queued datagram: source and destination address,
 * source port, length, TOS, TTL (RFC 1122 4.1.3.5: the specific destination
 * is kept for the application), two spare. */
#define UDP_REC_HDR 24u

/* Pieces tern_udp_sendv() gathers at most (IOV_MAX on Linux). */
#define UDP_MAX_VEC 1024u

struct udp_sock {
    bool used, bound, connected;
    bool autobound; /* the port was picked by connect or send, not bind */
    bool broadcast, reuseaddr, v6only;
    uint8_t tos;
    int16_t err; /* pending enum tern_err from an ICMP error, 0 none */
    uint16_t lport, rport;
    struct tern_ip laddr, raddr; /* laddr 0.0.0.0: any IPv4 of ours; ::: any of ours */
    uint32_t rcvbuf;             /* cap on q.len */
    uint32_t n_dgrams;           /* records in q */
    int next_free;               /* free list, -1 at the end */
    struct pool_chain q;
    tern_udp_event_fn fn;
    void *ctx;
};

struct udp_state {
    struct udp_sock *socks; /* n_socks entries; id = index + 1 */
    unsigned n_socks;
    int free_head;
};

/* Allocates the socket table. TERN_OK, TERN_ERR_INVAL (bad cfg.udp) or
 * TERN_ERR_NOMEM; udp_fini() is safe after a failure and twice. */
int udp_init(struct tern_stack *st);
void udp_fini(struct tern_stack *st);

/* Registered with ip for protocol 17 by the composition root. */
void udp_input(struct tern_stack *st, void *ctx, const struct ip_rx *rx);
void udp_icmp_error(struct tern_stack *st, void *ctx, const struct ip_icmp_err *e);

#endif
