/*
 * src/ip/ip.h: the IPv4 layer of one stack, as the other modules see it:
 * input, output, routing, reassembly state, ICMP errors, and the table of
 * transport protocols. Never installed.
 *
 * Read first: RFC 791 (3.1 header, 3.2 fragmentation), RFC 1122 3.2.1
 * (IP rules for hosts), 3.2.2 (ICMP), 3.3.2 (reassembly), 3.3.4 (multihoming),
 * RFC 792 (ICMP), RFC 815 (hole list), RFC 5722 (overlapping fragments).
 *
 * Ownership: every function here borrows the buffers it is given for the
 * duration of the call and keeps no pointer to them. Nothing here allocates
 * after ip_init().
 */
#ifndef TERN_IP_IP_H
#define TERN_IP_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/timer.h"
#include "tern/addr.h"
#include "tern/stack.h"

struct tern_stack;
struct ip_reass_slot; /* defined in src/ip/reass.c */

/* Largest payload ipv4_output() accepts: 65535 minus a 20-byte header. */
#define IP_MAX_PAYLOAD 65515u

/* Transport protocols that may register at once (TCP, UDP, tests). */
#define IP_MAX_PROTOS 4

/* A datagram of either family delivered to a transport protocol (or to
 * ICMP). All pointers are borrowed for the duration of the input call. */
struct ip_rx {
    struct tern_ip src, dst; /* dst may be a broadcast or multicast address */
    bool v6;                 /* an IPv6 datagram (src and dst are not mapped) */
    uint8_t proto;           /* IPv4 protocol, IPv6 upper-layer next header */
    uint8_t ttl, tos;        /* TTL or hop limit; TOS or traffic class (ECN in the low 2 bits) */
    int netif;               /* the interface it arrived on */
    const uint8_t *payload;  /* the (reassembled) payload */
    size_t len;
    const uint8_t *datagram; /* the whole datagram, header first (quotable) */
    size_t datagram_len;
};

/* An ICMP or ICMPv6 error about a datagram of the registered protocol (RFC
 * 1122 3.2.2, RFC 4443 2.4). orig_* come from the quoted original header;
 * orig_payload holds at least 8 bytes (the quote is dropped otherwise),
 * valid during the call. type and code are those of the family's ICMP. */
struct ip_icmp_err {
    bool v6; /* an ICMPv6 message (RFC 4443 types and codes) */
    uint8_t type, code;
    uint32_t next_hop_mtu; /* IPv4 unreachable code 4 (RFC 1191), IPv6 packet too big
                              (RFC 4443 3.2); else 0 */
    struct tern_ip from;   /* who sent the ICMP message */
    struct tern_ip orig_src, orig_dst;
    uint8_t orig_proto;
    const uint8_t *orig_payload;
    size_t orig_payload_len;
};

typedef void (*ip_input_fn)(struct tern_stack *st, void *ctx, const struct ip_rx *rx);
typedef void (*ip_err_fn)(struct tern_stack *st, void *ctx, const struct ip_icmp_err *e);

struct ip_proto {
    bool used;
    uint8_t proto;
    ip_input_fn input;
    ip_err_fn err; /* may be NULL: errors are then a counted drop */
    void *ctx;
};

/* Everything the IP layer owns; the composition root places it next to the
 * core context (st->ip). */
struct ip_state {
    uint16_t next_id; /* RFC 791 3.2 Identification; starts from the stack's rng */
    uint8_t *tx_buf;  /* one datagram of the largest interface MTU */
    size_t tx_buf_len;
    struct ip_reass_slot *reass; /* cfg.reass_slots slots */
    unsigned n_reass;
    unsigned reass_busy;      /* slots with a datagram under way */
    size_t reass_held;        /* fragment payload bytes held, capped by cfg.reass_mem_max */
    uint64_t reass_seq;       /* age of the newest datagram under reassembly */
    uint8_t *reass_out;       /* the finished datagram, contiguous (one per stack) */
    size_t reass_out_len;     /* its size: 60 + reass_payload_max */
    size_t reass_payload_max; /* the longest payload reassembled (EMTU_R - 20) */
    struct ip_proto protos[IP_MAX_PROTOS];
    /* Datagrams to our own addresses, delivered from a timer due at once
     * (never from inside the call that sent them). */
    uint8_t *loop_buf; /* loop_slots slots of tx_buf_len bytes */
    uint16_t *loop_len;
    uint8_t *loop_netif;
    unsigned loop_slots, loop_head, loop_count;
    struct timer t_loop;
    uint32_t icmp_tokens;   /* ICMP errors that may go now (cfg.icmp_error_*) */
    int64_t icmp_refill_ns; /* when the bucket was last topped up */
    tern_echo_fn echo_fn;   /* echo replies to tern_icmp_echo, or NULL */
    void *echo_ctx;
};

/* Allocates the transmit buffer and the reassembly slots from st->cfg and
 * seeds the identification counter. TERN_OK or TERN_ERR_NOMEM; after a
 * failure ip_fini() frees what was taken. */
int ip_init(struct tern_stack *st);

/* Frees what ip_init() took; safe after a partial ip_init() and twice. */
void ip_fini(struct tern_stack *st);

/* A datagram received on `netif` (borrowed); st->now_ns is current. Every
 * outcome is counted in st->stats and traced. */
void ipv4_input(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len);

/* A datagram payload gathered from several pieces (borrowed). */
struct ip_part {
    const uint8_t *data;
    size_t len;
};

/* How to send an IPv4 datagram: src 0 means the outgoing interface's
 * address, ttl 0 means st->cfg.ttl. */
struct ip_send {
    uint32_t src, dst;
    uint8_t proto, ttl, tos;
    bool df;
};

/*
 * Sends a datagram we originate whose payload is the concatenation of
 * `parts` (at most IP_MAX_PAYLOAD bytes). Fragments it when it exceeds the
 * interface MTU, unless s->df. Returns TERN_OK; TERN_ERR_NOROUTE (drop
 * IP_NO_ROUTE); TERN_ERR_MSGSIZE (drop IP_DF_TOO_BIG, or IP_TOO_LONG past
 * 65535); TERN_ERR_TXFAIL (drop IP_TX_FAILED; later fragments not sent).
 */
int ipv4_output(struct tern_stack *st, const struct ip_send *s, const struct ip_part *parts,
                size_t n_parts);

/* How a transport sends a datagram of either family: the family is dst's.
 * An unspecified src means the source the route chooses; hop_limit 0 means
 * the default (st->cfg.ttl). df applies to IPv4 only (IPv6 routers never
 * fragment; we fragment our own datagrams past the path MTU, RFC 8200 5). */
struct ip_tx {
    struct tern_ip src, dst;
    uint8_t proto, hop_limit, tclass;
    bool df;
};

/* Sends a datagram of either family: ipv4_output() or ipv6_output(). Same
 * returns as ipv4_output(). */
int ip_output(struct tern_stack *st, const struct ip_tx *s, const struct ip_part *parts,
              size_t n_parts);

/* Route lookup for a transport, either family: returns the netif index the
 * datagram to `dst` leaves by, or -1 when there is no route; stores in
 * *src the source address to use (RFC 6724 source selection for IPv6) and
 * in *mtu the largest datagram that may be sent towards dst (the interface
 * MTU, or the path MTU learned for IPv6). src and mtu may be NULL. */
int ip_route_src(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *src,
                 uint32_t *mtu);

/* True when `a` is one of our unicast addresses (either family). */
bool ip_is_ours(const struct tern_stack *st, struct tern_ip a);

/* True when `a` does not name one host: an IPv4 broadcast address for
 * `netif` (-1: any interface), an IPv4 or IPv6 multicast address. */
bool ip_is_multi(const struct tern_stack *st, int netif, struct tern_ip a);

/* Answers a datagram for a port nobody listens on with the family's port
 * unreachable (IPv4 type 3 code 3, RFC 1122 4.1.3.1; ICMPv6 type 1 code 4,
 * RFC 4443 3.1), within the rules and rate limits of each. */
void ip_send_port_unreach(struct tern_stack *st, const struct ip_rx *rx);

/* The IPv6 half of the calls above (src/ip/ipv6.c). */
int ipv6_output(struct tern_stack *st, const struct ip_tx *s, const struct ip_part *parts,
                size_t n_parts);
int ipv6_route_src(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *src,
                   uint32_t *mtu);
bool ipv6_is_ours(const struct tern_stack *st, struct tern_ip a);
void icmpv6_send_port_unreach(struct tern_stack *st, const struct ip_rx *rx);

/* Route lookup: the connected subnet with the longest prefix, else the
 * default gateway. Returns the netif index and stores the neighbour to hand
 * the datagram to in *next_hop, or returns -1. The limited broadcast goes
 * out of netif 0 to itself. */
int ip_route(const struct tern_stack *st, uint32_t dst, uint32_t *next_hop);

/* Registers a transport protocol (input must not be NULL; err may be).
 * TERN_OK, TERN_ERR_INVAL, TERN_ERR_EXIST (already taken, or ICMP, which the
 * IP layer handles itself), TERN_ERR_NOBUFS (IP_MAX_PROTOS in use). */
int ip_register_proto(struct tern_stack *st, uint8_t proto, ip_input_fn input, ip_err_fn err,
                      void *ctx);

/*
 * Sends an ICMP error about the datagram `orig` (orig_len bytes, header
 * first), quoting its header and as much data as fits in 576 bytes. Sends
 * nothing, with a trace event, when RFC 1122 3.2.2 forbids it: the datagram
 * is an ICMP error, a non-initial fragment, to a broadcast or multicast
 * address, or from an address that is not a single host. `mtu` is the
 * next-hop MTU for destination unreachable code 4, else ignored.
 */
void icmp_send_error(struct tern_stack *st, uint8_t type, uint8_t code, uint16_t mtu,
                     const uint8_t *orig, size_t orig_len);

/* True when addr is the address of one of our interfaces. */
bool ip_addr_is_ours(const struct tern_stack *st, uint32_t addr);

/* True when addr is a broadcast address for interface `netif` (RFC 1122
 * 3.3.6): limited broadcast, {0,0}, or the subnet's host part all ones or
 * all zeros; netif -1 asks about every interface (core/netif.h). */
bool ip_addr_is_broadcast(const struct tern_stack *st, int netif, uint32_t addr);

#endif
