/*
 * src/ip/ip6.h: the state of the IPv6 half of the network layer: the
 * interfaces' addresses (configured, link-local, autoconfigured), the
 * neighbour cache and its queue, the default router and prefix lists, the
 * destination (redirect) and path MTU caches. Never installed; ip.h
 * includes it so that struct ip_state holds it.
 *
 * Read first: RFC 8200, RFC 4861 5 (conceptual data structures), RFC 4862
 * 5.5 (address lifetimes), RFC 8201 5 (path MTU cache).
 *
 * Every table is bounded: the neighbour cache and the path MTU cache by
 * the configuration (nd_entries, pmtu_entries), the others by the
 * constants below. One timer (t_nd) runs the whole IPv6 housekeeping: each
 * entry keeps its own deadline, and the timer is armed at the earliest.
 */
#ifndef TERN_IP_IP6_H
#define TERN_IP_IP6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/timer.h"
#include "tern/addr.h"
#include "tern/stack.h"

/* Addresses per interface: the link-local one, the configured ones and
 * those autoconfigured from router advertisements. */
#define IP6_ADDRS           8
#define IP6_MAX_ROUTERS     4  /* default router list (RFC 4861 5.1) */
#define IP6_MAX_PREFIXES    8  /* on-link prefix list (RFC 4861 5.1) */
#define IP6_MAX_DESTS       8  /* redirected destinations (RFC 4861 5.1) */
#define IP6_GROUPS          16 /* link-layer groups an Ethernet interface listens to */
#define IP6_FOREVER         INT64_MAX
#define IP6_REASS_SLOTS     4 /* IPv6 datagrams reassembled at once */
#define IP6_REASS_MAX_FRAGS 64

enum ip6_addr_state {
    IP6_ADDR_FREE = 0,
    IP6_ADDR_TENTATIVE, /* duplicate address detection under way (RFC 4862 5.4) */
    IP6_ADDR_PREFERRED,
    IP6_ADDR_DEPRECATED, /* preferred lifetime over: kept for what uses it (5.5.4) */
    IP6_ADDR_DUPLICATE,  /* DAD found it in use: never used (5.4.5) */
};

struct ip6_addr {
    enum ip6_addr_state state;
    bool slaac;   /* formed from a router's prefix (RFC 4862 5.5.3) */
    uint8_t plen; /* on-link prefix length (configured) or 64 */
    struct tern_ip a;
    int64_t preferred_until, valid_until; /* IP6_FOREVER for configured ones */
    unsigned dad_sent;                    /* solicitations sent so far */
    int64_t dad_next_ns;                  /* next DAD step while tentative */
};

struct ip6_netif {
    bool on;                   /* IPv6 runs on this interface (its MTU is at least 1280) */
    bool ethernet;             /* neighbour discovery runs (TERN_LINK_ETHERNET) */
    uint32_t mtu;              /* link MTU, lowered by a router's MTU option (RFC 4861 6.3.4) */
    uint8_t hop_limit;         /* CurHopLimit */
    int64_t base_reachable_ns; /* BaseReachableTime */
    int64_t reachable_ns;      /* ReachableTime, randomised (RFC 4861 6.3.2) */
    int64_t retrans_ns;        /* RetransTimer */
    unsigned rs_sent;          /* router solicitations sent */
    int64_t rs_next_ns;        /* next one, or IP6_FOREVER */
    struct ip6_addr addr[IP6_ADDRS]; /* [0] is the link-local address */
    uint8_t groups[IP6_GROUPS][6];   /* Ethernet multicast addresses accepted */
    unsigned n_groups;
};

struct ip6_router {
    bool used;
    int netif;
    struct tern_ip addr; /* link-local */
    int64_t until;       /* router lifetime end */
};

struct ip6_prefix {
    bool used;
    int netif;
    struct tern_ip prefix;
    uint8_t plen;
    int64_t until; /* valid lifetime end (RFC 4861 6.3.4) */
};

/* A redirected destination (RFC 4861 8.3). */
struct ip6_dest {
    bool used;
    int netif;
    struct tern_ip dst, next_hop;
    int64_t last_used_ns;
};

/* A path MTU learned from a packet too big (RFC 8201 4). */
struct ip6_pmtu {
    bool used;
    struct tern_ip dst;
    uint32_t mtu;
    int64_t until; /* RFC 8201 4: try the link MTU again after this */
};

enum nd_state {
    ND_FREE = 0,
    ND_INCOMPLETE,
    ND_REACHABLE,
    ND_STALE,
    ND_DELAY,
    ND_PROBE,
};

struct nd_entry {
    enum nd_state state;
    int netif;
    struct tern_ip addr;
    uint8_t mac[6];
    bool router;     /* IsRouter (RFC 4861 5.1) */
    unsigned probes; /* solicitations sent in INCOMPLETE or PROBE */
    int64_t next_ns; /* the state's next deadline */
    int64_t last_used_ns;
    int q_head, q_tail; /* queued packets: indexes into ip6_state.q, -1 when empty */
    unsigned q_len;
};

struct nd_qbuf {
    int next;
    size_t len;
    uint8_t *data;
};

/* Longest unfragmentable part reassembly keeps (header and extension
 * headers before the fragment header). */
#define IP6_REASS_HDR_ROOM 256

/* One IPv6 packet under reassembly (RFC 8200 4.5). Its fragments' data
 * sit one after the other in a chain of pool chunks, in arrival order
 * (fragment i at the sum of the lengths before it); frag_off/len say where
 * each belongs. */
struct ip6_reass {
    bool used;
    bool have_first;
    bool dead; /* RFC 5722: an overlap was seen; later fragments are dropped */
    int netif;
    struct tern_ip src, dst;
    uint32_t id;
    int64_t expires_ns;
    uint64_t age;
    uint32_t total;      /* fragmentable part's length once the last fragment came, else 0 */
    uint32_t held;       /* data bytes held (counted in ip_state.reass_held) */
    uint16_t unfrag_len; /* first fragment's unfragmentable part */
    uint8_t next_header; /* the first fragment's fragment header's next header */
    uint16_t n_frags;
    struct pool_chain log;
    uint16_t frag_off[IP6_REASS_MAX_FRAGS], frag_len[IP6_REASS_MAX_FRAGS];
    uint8_t unfrag[IP6_REASS_HDR_ROOM];
};

struct ip6_state {
    struct ip6_netif nif[TERN_MAX_NETIFS];
    struct ip6_router routers[IP6_MAX_ROUTERS];
    struct ip6_prefix prefixes[IP6_MAX_PREFIXES];
    struct ip6_dest dests[IP6_MAX_DESTS];
    struct ip6_pmtu *pmtu;
    unsigned n_pmtu;
    struct nd_entry *nc;
    unsigned n_nc;
    struct nd_qbuf *q;
    uint8_t *q_mem;
    size_t q_buf_size;
    unsigned n_q;
    int q_free;
    struct timer t_nd; /* all IPv6 housekeeping */
    struct ip6_reass reass[IP6_REASS_SLOTS];
    uint64_t reass_age;
};

#endif
