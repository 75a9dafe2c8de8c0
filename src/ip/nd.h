/*
 * src/ip/nd.h: what the IPv6 modules of the network layer share (ipv6.c,
 * icmpv6.c, nd.c) and nobody else needs: sending with a given interface
 * and source, addresses, ICMPv6, and neighbour discovery (RFC 4861) with
 * address autoconfiguration (RFC 4862). Never installed.
 *
 * Read first: RFC 8200 3-5, RFC 4443 2, RFC 4861 7 (address resolution
 * and NUD), 6.3 (hosts and routers), RFC 4862 5.4 (DAD), 5.5 (SLAAC).
 *
 * The neighbour cache (RFC 4861 7.3.2), one table of cfg.nd_entries
 * shared by the Ethernet interfaces, each entry keyed by <interface,
 * address>:
 *
 *   INCOMPLETE  solicitations go to the solicited-node group every
 *               RetransTimer, at most MAX_MULTICAST_SOLICIT (3); packets wait
 *               in the entry's queue; no answer drops them (ND_RESOLVE_FAILED)
 *               and frees the entry.
 *   REACHABLE   confirmed within ReachableTime; then STALE.
 *   STALE       used as it is; the first packet sent moves it to DELAY.
 *   DELAY       DELAY_FIRST_PROBE_TIME (5 s) for upper-layer confirmation,
 *               then PROBE.
 *   PROBE       unicast solicitations every RetransTimer, at most
 *               MAX_UNICAST_SOLICIT (3), then the entry is freed.
 *
 * A new entry takes a free one, else the least recently used entry that is
 * not INCOMPLETE, else nothing (ND_CACHE_FULL). Packets waiting for
 * resolution share cfg.nd_queue_total buffers, at most
 * cfg.arp_queue_per_entry an entry (the oldest goes first, RFC 4861 7.2.2).
 */
#ifndef TERN_IP_ND_H
#define TERN_IP_ND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "ip/ip.h"
#include "wire/ipv6_addr.h"

struct tern_stack;

/* RFC 4861 10 protocol constants. */
#define ND_MAX_MULTICAST_SOLICIT   3
#define ND_MAX_UNICAST_SOLICIT     3
#define ND_REACHABLE_TIME_NS       (30LL * 1000000000LL)
#define ND_RETRANS_TIMER_NS        (1LL * 1000000000LL)
#define ND_DELAY_FIRST_PROBE_NS    (5LL * 1000000000LL)
#define ND_RTR_SOLICIT_INTERVAL_NS (4LL * 1000000000LL)
#define ND_MAX_RTR_SOLICITATIONS   3
/* RFC 8201 4: a path MTU is tried upwards again after 10 minutes at least. */
#define IP6_PMTU_AGE_NS (10LL * 60 * 1000000000LL)

/* How ip6_send() sends one packet: everything given, nothing looked up but
 * the neighbour. */
struct ip6_out {
    int netif;
    struct tern_ip src, dst; /* src may be :: (DAD, RFC 4862 5.4.2) */
    struct tern_ip next_hop; /* the neighbour: dst itself, or a router */
    uint8_t proto, hop_limit, tclass;
};

/* The wire form of an address (the same 16 bytes). */
static inline struct wire_ipv6_addr
ip6_wa(struct tern_ip a)
{
    struct wire_ipv6_addr w;
    memcpy(w.b, a.b, 16);
    return w;
}

/* ---- ipv6.c ---- */
int ip6_init(struct tern_stack *st);
void ip6_fini(struct tern_stack *st);

/* Route lookup (RFC 4861 5.2): netif or -1, the next hop in *next_hop. */
int ip6_route(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *next_hop);

/* RFC 6724 5 source address for dst on netif; :: when the interface has
 * no usable address. */
struct tern_ip ip6_select_src(const struct tern_stack *st, int netif, struct tern_ip dst);

/* The address entry for `a` on `netif` (-1: any interface) in any state
 * but FREE, or NULL; *netif_out (may be NULL) gets its interface. */
struct ip6_addr *ip6_find_addr(const struct tern_stack *st, int netif, struct tern_ip a,
                               int *netif_out);

/* Sends one packet (payload `parts`, at most the path MTU unless it is
 * ours to fragment) exactly as o says. Same returns as ipv6_output(). */
int ip6_send(struct tern_stack *st, const struct ip6_out *o, const struct ip_part *parts,
             size_t n_parts);

/* The path MTU towards dst through netif (RFC 8201). */
uint32_t ip6_path_mtu(const struct tern_stack *st, int netif, struct tern_ip dst);

/* A packet too big from the path to dst (RFC 8201 4): lowers the cached
 * path MTU, never below 1280. True when it changed. */
bool ip6_pmtu_update(struct tern_stack *st, struct tern_ip dst, uint32_t mtu);

/* Arms the housekeeping timer at `when` if that is earlier than it is. */
void ip6_timer_at(struct tern_stack *st, int64_t when);

/* Adds or refreshes an address on netif (RFC 4862); tentative unless DAD
 * is off or the link has no ND. NULL when the table is full. */
struct ip6_addr *ip6_addr_add(struct tern_stack *st, int netif, struct tern_ip a, uint8_t plen,
                              bool slaac, int64_t preferred_until, int64_t valid_until);

/* Listens to the Ethernet group of an IPv6 multicast address (RFC 2464 7). */
void ip6_join_group(struct tern_stack *st, int netif, struct tern_ip group);

/* A packet from our own loopback queue (::1 is accepted). */
void ipv6_input_looped(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len);

/* A reassembled packet (pkt, len: the unfragmentable part then the data),
 * delivered as if it had come whole. */
void ip6_deliver_reassembled(struct tern_stack *st, int netif, uint8_t *pkt, size_t len);

/* RFC 7217 address: prefix (first 64 bits) and a stable identifier keyed
 * by the stack's secret, the interface and the DAD counter. */
struct tern_ip ip6_stable_addr(const struct tern_stack *st, int netif, struct tern_ip prefix,
                               unsigned dad_counter);

/* ---- ip6_reass.c: reassembly (RFC 8200 4.5) ---- */
struct wire_ipv6;
struct wire_ipv6_chain;
int ip6_reass_init(struct tern_stack *st);
void ip6_reass_fini(struct tern_stack *st);
void ip6_reass_input(struct tern_stack *st, int netif, const struct wire_ipv6 *h,
                     const struct wire_ipv6_chain *c, const uint8_t *pkt, size_t len);
/* Times out what is due; returns the next expiry (IP6_FOREVER: none). */
int64_t ip6_reass_tick(struct tern_stack *st);

/* ---- icmpv6.c ---- */
void icmpv6_input(struct tern_stack *st, const struct ip_rx *rx);

/* Sends an ICMPv6 error about `orig` (the packet as received, header
 * first) unless RFC 4443 2.4 (e) forbids it or the budget is spent.
 * `multi_ok`: the 2.4 (e.3) exceptions (packet too big, parameter problem
 * code 2 for an option of action 10). */
void icmpv6_send_error(struct tern_stack *st, int netif, uint8_t type, uint8_t code, uint32_t param,
                       const uint8_t *orig, size_t orig_len, bool multi_ok);

/* Sends an ICMPv6 message: header fields from type, code and `rest`
 * (bytes 4..7, host order), then data. o->proto is set here. */
int icmpv6_send(struct tern_stack *st, const struct ip6_out *o, uint8_t type, uint8_t code,
                uint32_t rest, const uint8_t *data, size_t len);

/* The ICMP error budget shared with IPv4 (icmp.c). */
bool icmp_error_budget(struct tern_stack *st);

/* ---- nd.c ---- */
int nd_init(struct tern_stack *st);
void nd_fini(struct tern_stack *st);

/* Starts DAD and router solicitation on the Ethernet interfaces. */
void nd_start(struct tern_stack *st);

/* An ND message (types 133-137), whole, checksum verified. */
void nd_input(struct tern_stack *st, const struct ip_rx *rx, const uint8_t *msg, size_t len);

/* Hands the packet to the link for neighbour `next_hop` on Ethernet
 * interface netif: at once when its link address is known, else queued
 * while a solicitation asks. TERN_OK, TERN_ERR_TXFAIL (not counted),
 * TERN_ERR_NOBUFS (counted). */
int nd_resolve_and_send(struct tern_stack *st, int netif, struct tern_ip next_hop,
                        const uint8_t *pkt, size_t len);

/* Runs what is due; returns the next deadline (IP6_FOREVER: none). */
int64_t nd_tick(struct tern_stack *st);

/* The neighbour's link address when known (for tests and the API). */
const struct nd_entry *nd_find(const struct tern_stack *st, int netif, struct tern_ip a);

/* A default router usable on some interface (RFC 4861 6.3.6), or false. */
bool nd_default_router(const struct tern_stack *st, struct tern_ip *router, int *netif);

#endif
