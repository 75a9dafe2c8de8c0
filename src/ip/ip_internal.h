/*
 * src/ip/ip_internal.h: what ip.c, icmp.c and reass.c share and nobody else
 * needs. Never installed.
 *
 * Read first: RFC 791 3.2, RFC 815, RFC 1122 3.2.1.3 and 3.2.2.
 */
#ifndef TERN_IP_IP_INTERNAL_H
#define TERN_IP_IP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip/ip.h"
#include "wire/ipv4.h"

struct tern_stack;

/* Big-endian access into a byte buffer. */
static inline uint16_t
ip_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
ip_get32(const uint8_t *p)
{
    return (uint32_t)ip_get16(p) << 16 | ip_get16(p + 2);
}

static inline void
ip_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 1122 3.2.1.3 (g): 127/8 is internal to a host. */
static inline bool
ip_addr_is_loopback(uint32_t a)
{
    return (a >> 24) == 127;
}

/* Class D (224/4), multicast. */
static inline bool
ip_addr_is_multicast(uint32_t a)
{
    return (a >> 28) == 0xe;
}

/* Class E (240/4), reserved; includes 255.255.255.255. */
static inline bool
ip_addr_is_class_e(uint32_t a)
{
    return (a >> 28) == 0xf;
}

/* RFC 1122 3.2.2: a source that "defines a single host": not zero,
 * loopback, broadcast, multicast or class E. */
bool ip_addr_is_single_host(const struct tern_stack *st, uint32_t a);

/* Hands a complete, accepted datagram to ICMP or the registered protocol,
 * or answers protocol unreachable. `h` describes `dgram` (its payload
 * pointers point into it). Borrows both. */
void ip_deliver(struct tern_stack *st, int netif, const struct wire_ipv4 *h, const uint8_t *dgram,
                size_t dgram_len);

/* Queues a datagram (either family) for our own input, delivered from a
 * timer due now, as if it had arrived on `netif`. */
int ip_loop_queue(struct tern_stack *st, int netif, const uint8_t *dgram, size_t len);

/* Copies n bytes starting at byte `off` of the payload gathered from
 * `parts` to out (either family's output and fragmentation). */
void ip_gather(const struct ip_part *parts, size_t n_parts, size_t off, uint8_t *out, size_t n);

/* Finds the registered protocol, or NULL. */
const struct ip_proto *ip_find_proto(const struct tern_stack *st, uint8_t proto);

/* ICMP input (src/ip/icmp.c): a datagram of protocol 1 addressed to us. */
void icmp_input(struct tern_stack *st, const struct ip_rx *rx);

/* Default ICMP error budget (tern_config.icmp_error_rate, _burst). */
#define ICMP_ERROR_RATE  1000u
#define ICMP_ERROR_BURST 50u

/* Reassembly (src/ip/reass.c). */
int ip_reass_init(struct tern_stack *st);
void ip_reass_fini(struct tern_stack *st);

/* A fragment (MF set or offset non-zero) of an accepted datagram; `pkt` is
 * the whole fragment, header first. Delivers the datagram through
 * ip_deliver() once it is complete. Every refusal is a counted drop. */
void ip_reass_input(struct tern_stack *st, int netif, const struct wire_ipv4 *h,
                    const uint8_t *pkt);

#endif
