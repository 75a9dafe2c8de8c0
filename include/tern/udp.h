/*
 * include/tern/udp.h: the native UDP API (RFC 768; RFC 1122 4.1 for what a
 * host must do; RFC 8085 for what an application using it should).
 *
 * A socket is named by a small positive integer, its id, valid from
 * tern_udp_open() to tern_udp_close(). Sans-I/O like the rest of the stack:
 * every call takes the current time; received datagrams wait in a bounded
 * per-socket queue until tern_udp_recvfrom() takes them, and a callback
 * says when one arrived.
 *
 * Addresses are a small struct with a family field so that IPv6 can join
 * without a new API: today only TERN_UDP_AF_INET is accepted.
 *
 * Calls return TERN_OK (0) or a non-negative count on success, a negative
 * enum tern_err (tern/stack.h) on failure:
 *   TERN_ERR_NOTCONN  unknown id; or a send with no destination on a
 *                     socket that is not connected
 *   TERN_ERR_EXIST    bind: the address and port are in use
 *   TERN_ERR_NOBUFS   the socket table is full, or no free ephemeral port
 *   TERN_ERR_INVAL    a bad argument (family, address not ours, port 0
 *                     as a destination, already bound)
 *   TERN_ERR_MSGSIZE  more than TERN_UDP_MAX_PAYLOAD bytes
 *   TERN_ERR_ACCESS   a broadcast destination without TERN_UDP_OPT_BROADCAST
 *   TERN_ERR_AGAIN    recvfrom: the queue is empty
 *   TERN_ERR_NOROUTE, TERN_ERR_TXFAIL  from IP, as for TCP
 * and, reported once on the next send or receive of a connected socket
 * after an ICMP error about a datagram it sent (RFC 1122 4.1.3.3):
 *   TERN_ERR_REFUSED  port (or protocol) unreachable
 *   TERN_ERR_UNREACH  network or host unreachable
 */
#ifndef TERN_UDP_H
#define TERN_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tern_stack;

/* Largest payload of one datagram over IPv4: 65535 - 20 (IPv4) - 8 (UDP);
 * over IPv6 65535 - 8 (RFC 8200 payload length), also capped here. */
#define TERN_UDP_MAX_PAYLOAD 65507u

enum { TERN_UDP_AF_UNSPEC = 0, TERN_UDP_AF_INET = 4, TERN_UDP_AF_INET6 = 6 };

/* An endpoint. family TERN_UDP_AF_UNSPEC given to tern_udp_connect()
 * dissolves the association. Port and v4 in host order. An IPv6 endpoint
 * (TERN_UDP_AF_INET6) names its address in v6; an IPv4-mapped v6 is the
 * IPv4 address it holds. Addresses reported by the stack (recvfrom, name)
 * are TERN_UDP_AF_INET for IPv4, TERN_UDP_AF_INET6 for IPv6. */
struct tern_udp_addr {
    uint8_t family;
    uint16_t port;
    uint32_t v4;    /* IPv4 address, 0 = any (local) */
    uint8_t v6[16]; /* IPv6 address (network order), :: = any (local; both families) */
};

/* Configuration (tern_config.udp); tern_config_init() fills the defaults.
 * The datagrams queued for reading take chunks of the stack's buffer pool
 * (tern_config.pool_bytes) as they arrive, never more than a socket's
 * rcvbuf: a datagram that would pass either is dropped and counted
 * (UDP_RCVBUF_FULL, UDP_POOL_DRY). */
struct tern_udp_config {
    unsigned max_sockets; /* open sockets at once; default 32 */
    uint32_t rcvbuf;      /* default per-socket receive cap, bytes of payload and record
                             headers (24 each); default 65536; at most 1 << 30 */
};

/* Events (tern_udp_events(), and the callback's `events`). */
enum {
    TERN_UDP_EV_READABLE = 1u << 0, /* a datagram waits */
    TERN_UDP_EV_ERROR = 1u << 1     /* an ICMP error is pending (tern_udp_error()) */
};

typedef void (*tern_udp_event_fn)(void *ctx, struct tern_stack *st, int id, unsigned events);

/* Socket options (tern_udp_setopt / tern_udp_getopt). */
enum tern_udp_opt {
    TERN_UDP_OPT_BROADCAST, /* 0/1: may send to broadcast addresses (off by default, the
                               BSD guard against broadcasting by mistake) */
    TERN_UDP_OPT_REUSEADDR, /* 0/1: may share a local port with other sockets that set it */
    TERN_UDP_OPT_RCVBUF,    /* receive cap in bytes (at least 256, at most 1 << 30) */
    TERN_UDP_OPT_TOS,       /* IP type of service of datagrams sent */
    TERN_UDP_OPT_V6ONLY     /* 0/1: bound to ::, take IPv6 datagrams only (IPV6_V6ONLY) */
};

/* Flags of tern_udp_recvfrom(). */
enum {
    TERN_UDP_PEEK = 1u << 0 /* leave the datagram in the queue */
};

/* Opens an unbound socket: its id, or TERN_ERR_NOBUFS. */
int tern_udp_open(struct tern_stack *st, int64_t now_ns);

/* Binds to the local address (0.0.0.0: every IPv4 address of ours; ::
 * every address of either family) and local->port (0: an
 * ephemeral port from cfg.tcp's ephemeral range, RFC 6056). TERN_ERR_INVAL
 * when already bound or the address is not ours; TERN_ERR_EXIST when a
 * socket without REUSEADDR on both sides has the port on an overlapping
 * address; TERN_ERR_NOBUFS when no ephemeral port is free. */
int tern_udp_bind(struct tern_stack *st, int id, const struct tern_udp_addr *local, int64_t now_ns);

/* Associates the socket with remote (datagrams from elsewhere are no
 * longer delivered to it; send() needs no destination); binds an ephemeral
 * port first if unbound. family TERN_UDP_AF_UNSPEC dissolves it (the local
 * port stays). A remote address 0 means "this host" (RFC 1122 3.2.1.3 (a)). */
int tern_udp_connect(struct tern_stack *st, int id, const struct tern_udp_addr *remote,
                     int64_t now_ns);

/* Sends one datagram of len bytes to `to` (NULL: the connected peer).
 * Binds an ephemeral port first if unbound. Larger than the path MTU is
 * fragmented by IP. Returns len, or an error as listed at the top. */
int tern_udp_sendto(struct tern_stack *st, int id, const void *data, size_t len,
                    const struct tern_udp_addr *to, int64_t now_ns);

/* One piece of a datagram gathered from, or scattered to, several buffers. */
struct tern_udp_vec {
    void *base;
    size_t len;
};

/* tern_udp_sendto() of the concatenation of v[0..n) (n may be 0). */
int tern_udp_sendv(struct tern_stack *st, int id, const struct tern_udp_vec *v, size_t n,
                   const struct tern_udp_addr *to, int64_t now_ns);

/* tern_udp_recvfrom() into the pieces v[0..n) in turn; returns the bytes
 * copied into them all. */
int tern_udp_recvv(struct tern_stack *st, int id, const struct tern_udp_vec *v, size_t n,
                   unsigned flags, struct tern_udp_addr *from, size_t *dgram_len, int64_t now_ns);

/* tern_udp_sendto(st, id, data, len, NULL, now_ns): to the connected peer. */
int tern_udp_send(struct tern_stack *st, int id, const void *data, size_t len, int64_t now_ns);

/* Takes the oldest datagram: copies at most cap bytes to buf (the rest of a
 * longer datagram is lost unless TERN_UDP_PEEK), stores the sender in *from
 * and the datagram's whole length in *dgram_len (either may be NULL).
 * Returns the bytes copied, TERN_ERR_AGAIN when the queue is empty, or the
 * pending ICMP error of a connected socket (reported once). */
int tern_udp_recvfrom(struct tern_stack *st, int id, void *buf, size_t cap, unsigned flags,
                      struct tern_udp_addr *from, size_t *dgram_len, int64_t now_ns);

/* Length of the oldest queued datagram, or TERN_ERR_AGAIN; *queued (may be
 * NULL) gets the bytes the queue holds. Nothing is taken. */
int tern_udp_pending(const struct tern_stack *st, int id, size_t *queued);

/* The pending error (0 if none), cleared. */
int tern_udp_error(struct tern_stack *st, int id);

/* The current TERN_UDP_EV_* bits; 0 for an unknown id. */
unsigned tern_udp_events(const struct tern_stack *st, int id);

/* The callback for `id`, called from inside the stack call in which a
 * datagram was queued or an error recorded; it may call tern_udp_*, but
 * not tern_stack_input() or tern_stack_poll(). NULL removes it. */
int tern_udp_set_callback(struct tern_stack *st, int id, tern_udp_event_fn fn, void *ctx);

int tern_udp_setopt(struct tern_stack *st, int id, enum tern_udp_opt opt, uint32_t value);
int tern_udp_getopt(const struct tern_stack *st, int id, enum tern_udp_opt opt, uint32_t *value);

/* The local and remote endpoints (either may be NULL). The remote's family
 * is TERN_UDP_AF_UNSPEC when not connected; the local's when not bound. */
int tern_udp_name(const struct tern_stack *st, int id, struct tern_udp_addr *local,
                  struct tern_udp_addr *remote);

/* Closes the socket: queued datagrams are freed, the id may be reused. */
int tern_udp_close(struct tern_stack *st, int id, int64_t now_ns);

#ifdef __cplusplus
}
#endif

#endif
