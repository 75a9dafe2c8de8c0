/*
 * include/tern/stack.h: the stack object, its configuration, and how frames
 * and time get in and out.
 *
 * A stack never calls the operating system (DESIGN principle 1). The caller
 * hands it received IPv4 datagrams (or Ethernet frames, on an Ethernet
 * interface) with tern_stack_input(), the stack hands what it sends to each
 * interface's transmit callback, and time is a number of nanoseconds the
 * caller passes in (any origin, never decreasing).
 * tern_stack_next_deadline() says when the stack next needs
 * tern_stack_poll() to be called. There is no global state: a process may
 * hold any number of stacks (the simulator runs one per host).
 *
 * All memory is taken in tern_stack_new(), sized by the configuration; after
 * that the stack allocates nothing. A full table or buffer is an error to the
 * caller or a counted drop.
 */
#ifndef TERN_STACK_H
#define TERN_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/addr.h"
#include "tern/stats.h"
#include "tern/tcp.h"
#include "tern/trace.h"
#include "tern/udp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* API errors: 0 is success, failures are negative. */
enum tern_err {
    TERN_OK = 0,
    TERN_ERR_INVAL = -1,    /* a bad argument or configuration value */
    TERN_ERR_NOMEM = -2,    /* the allocator failed (only in tern_stack_new) */
    TERN_ERR_NOBUFS = -3,   /* a fixed capacity is full */
    TERN_ERR_NOROUTE = -4,  /* no route to the destination */
    TERN_ERR_MSGSIZE = -5,  /* too large to send (Don't Fragment set, or over 65535) */
    TERN_ERR_TXFAIL = -6,   /* the driver refused the frame */
    TERN_ERR_REFUSED = -7,  /* connection refused (a RST answered our SYN) */
    TERN_ERR_RESET = -8,    /* connection reset by the peer */
    TERN_ERR_TIMEDOUT = -9, /* connection or user timeout expired */
    TERN_ERR_CLOSING = -10, /* the connection is closing */
    TERN_ERR_STATE = -11,   /* the call is not valid in the connection's state */
    TERN_ERR_EXIST = -12,   /* the connection or address is already in use */
    TERN_ERR_NOTCONN = -13, /* no such connection */
    TERN_ERR_AGAIN = -14,   /* nothing to do now; try again later */
    TERN_ERR_UNREACH = -15, /* an ICMP error said the destination is unreachable */
    /* no secret: seed 0 without `deterministic` (tern_stack_new), or the
     * OS gave no randomness (tern_random_seed) */
    TERN_ERR_NOSECRET = -16,
    TERN_ERR_ACCESS = -17, /* not permitted: a broadcast without the socket's leave */
};

/* The library version, "MAJOR.MINOR.PATCH". */
const char *tern_version(void);

/* Text of an error code ("no route to destination"); never NULL. */
const char *tern_strerror(int err);

#define TERN_MAX_NETIFS 4

/* IPv4 addresses in the API are host byte order integers. */
#define TERN_IPV4(a, b, c, d)                                                                      \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/*
 * Transmit callback of an interface. It borrows `pkt` (a complete IPv4
 * datagram of `len` bytes, at most the interface MTU; on a
 * TERN_LINK_ETHERNET interface a complete Ethernet frame, see below) for the
 * duration of the call. `next_hop` is the neighbour to deliver to: the destination itself on a
 * connected subnet, else the gateway. Return 0 when the frame was taken,
 * negative if the driver refused it (counted as a drop). The callback must
 * not call back into the same stack (tern_stack_input and friends): a driver
 * that loops frames back queues them and delivers them after the call.
 */
typedef int (*tern_transmit_fn)(void *ctx, int netif, const uint8_t *pkt, size_t len,
                                uint32_t next_hop);

/*
 * What an interface's frames are. TERN_LINK_RAW_IP (the default, 0): every
 * frame in and out is a bare IPv4 datagram (TUN, the simulator's links).
 * TERN_LINK_ETHERNET: every frame is an Ethernet II frame (RFC 894) without
 * preamble or FCS (TAP, AF_PACKET): tern_stack_input() takes whole frames on
 * that interface, and the transmit callback receives complete frames - IPv4
 * datagrams with their Ethernet header (padded to 60 bytes when short) and
 * ARP packets (RFC 826) the stack sends itself. For an Ethernet interface
 * `mtu` is still the largest IPv4 datagram (1500 on Ethernet, RFC 894), so
 * frames reach mtu + 14 bytes; `next_hop` is the IPv4 neighbour for a
 * datagram and 0 for an ARP packet.
 */
enum tern_link_type {
    TERN_LINK_RAW_IP = 0,
    TERN_LINK_ETHERNET = 1,
};

#define TERN_MAC_LEN 6

/* IPv6 addresses an interface may be given in its configuration, besides
 * the link-local address the stack forms itself (RFC 4291 2.5.6). */
#define TERN_NETIF_ADDR6_MAX 4

/* A configured IPv6 address and the prefix that is on link through it. */
struct tern_netif_addr6 {
    struct tern_ip addr; /* an IPv6 unicast address, not link-local or mapped */
    uint8_t prefix_len;  /* 1..128 */
};

/*
 * An interface. `addr` 0 is an interface without an address yet, which a
 * DHCP client (tern/dhcp.h) will configure with tern_stack_set_addr():
 * prefix_len must then be 0. Until it has one, the interface has no
 * connected subnet, receives only datagrams to broadcast addresses, and
 * sends only to the limited broadcast 255.255.255.255, from 0.0.0.0 (RFC
 * 1122 3.2.1.3 (a): "this host" while it learns its address); on Ethernet
 * it answers no ARP request and announces nothing until it has one.
 */
struct tern_netif_config {
    uint32_t addr;      /* our address on this interface; 0: none yet */
    uint8_t prefix_len; /* the connected subnet, 0..32 */
    uint16_t mtu;       /* largest datagram the link carries, >= 68 (RFC 791) */
    tern_transmit_fn transmit;
    void *transmit_ctx;
    enum tern_link_type link;  /* default TERN_LINK_RAW_IP */
    uint8_t mac[TERN_MAC_LEN]; /* TERN_LINK_ETHERNET: our unicast address, not all zero */
    /* IPv6 (RFC 8200). Every interface also gets a link-local address,
     * fe80::/64 with an RFC 7217 interface identifier derived from the
     * stack's secret (seed), the interface index and the prefix. */
    struct tern_netif_addr6 addr6[TERN_NETIF_ADDR6_MAX];
    unsigned n_addr6;
};

/* Allocator hook, Lua style: alloc(ud, NULL, 0, n) allocates, alloc(ud, p, n, 0)
 * frees. NULL in the config means malloc/free. */
typedef void *(*tern_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);

struct tern_config {
    /* The secret. `seed` keys the PRNG, the connection hash and the RFC 6528
     * initial sequence numbers: whoever knows it can predict them (RFC 6528
     * 3: the key must be secret). Fill it from tern_random_seed(). A fixed
     * seed is an explicit choice for simulation and tests: set
     * `deterministic` and the same seed gives the same behaviour. seed 0
     * without `deterministic` is refused (TERN_ERR_NOSECRET); the runtimes
     * of tern/socket.h fill it from the OS instead. */
    uint64_t seed;
    bool deterministic;

    struct tern_netif_config netifs[TERN_MAX_NETIFS];
    unsigned n_netifs;
    uint32_t default_gateway; /* 0: none; else must be on a connected subnet */

    uint8_t ttl; /* time to live of datagrams we originate; default 64 (RFC 1122 3.2.1.7);
                    also the IPv6 hop limit until a router advertisement sets one */

    /* IPv6 (RFC 8200, RFC 4861, RFC 4862). */
    struct tern_ip gateway6;   /* a default router, :: for none (then learned from router
                                  advertisements on Ethernet); link-local or on a configured
                                  prefix */
    unsigned nd_entries;       /* neighbour cache entries, all interfaces; default 32 */
    unsigned nd_queue_total;   /* datagrams held while neighbours resolve; default 16 (at most
                                  arp_queue_per_entry per neighbour) */
    unsigned nd_dad_transmits; /* DupAddrDetectTransmits (RFC 4862 5.1) on Ethernet; default 1,
                                  0 turns duplicate address detection off */
    bool nd_no_slaac;          /* true: ignore router advertisements' autonomous prefixes */
    bool nd_no_router_solicit; /* true: send no router solicitation at start */
    unsigned pmtu_entries;     /* path MTU cache entries (RFC 8201); default 16 */

    /* Buffer memory: the total, in bytes, of the stack's buffer pool, carved
     * once in tern_stack_new() into 2 KiB chunks (a remainder below 2 KiB is
     * not used). TCP send and receive buffers and IP reassembly take chunks
     * from it as data arrives and give them back when it leaves: it is a cap
     * on all of them together, not a reservation per connection. At the cap
     * sends block, receive windows grow less and fragments are dropped,
     * each counted (stats.pool). Default 128 KiB; 0 gives an empty pool (no
     * data can be buffered). Larger than 2^32 chunks is TERN_ERR_INVAL. */
    size_t pool_bytes;

    /* Fragment reassembly (RFC 815). Fragments take chunks of the pool as
     * they arrive. When a fragment finds every slot in use, or would pass
     * reass_mem_max or find the pool short, the oldest incomplete datagrams
     * are evicted (stats drop.REASS_EVICTED). */
    unsigned reass_slots; /* datagrams reassembled at once; default 8 */
    /* Bytes of fragment data held at once, all datagrams together; default
     * 32 KiB. It also sets the largest datagram reassembled (RFC 1122
     * 3.3.2 EMTU_R): 20 + min(reass_mem_max, 65515) bytes, for which the
     * stack keeps one buffer of 60 + min(reass_mem_max, 65515) bytes (the
     * finished datagram must reach TCP or ICMP contiguous). RFC 1122 wants
     * EMTU_R >= 576: keep it >= 556; 65515 reassembles any datagram. */
    size_t reass_mem_max;
    int64_t reass_timeout_ns; /* default 60 s (RFC 1122 3.3.2: 60 to 120 s) */

    /* Datagrams a stack sends to one of its own addresses go through a
     * loopback queue of this many datagrams (0: the default, 16). */
    unsigned loopback_slots;

    /* ICMP errors we send (unreachables, time exceeded) pass a token
     * bucket (RFC 1812 4.3.2.8; RFC 1122 3.2.2 lets a host limit them, and
     * a UDP port scan would otherwise get one per datagram): at most
     * icmp_error_burst at once, refilled at icmp_error_rate per second.
     * What it holds back is counted (drops.ICMP_RATE_LIMIT). 0: the
     * defaults, 1000 per second and 50 (Linux's icmp_msgs_per_sec and
     * icmp_msgs_burst); icmp_error_rate UINT32_MAX: no limit. */
    uint32_t icmp_error_rate;
    uint32_t icmp_error_burst;

    /* ARP (RFC 826) on Ethernet interfaces; unused without one. */
    unsigned arp_entries;             /* cache entries, all interfaces together; default 64 */
    unsigned arp_queue_per_entry;     /* datagrams held per unresolved address, >= 1; default 4
                                         (RFC 1122 2.3.2.2: keep at least the latest) */
    unsigned arp_queue_total;         /* datagrams held for all unresolved addresses; default 16 */
    int64_t arp_reachable_ns;         /* an entry's life after it was confirmed; default 60 s
                                         (RFC 1122 2.3.2.1: on the order of a minute) */
    int64_t arp_retry_ns;             /* between two requests for one address; default 1 s
                                         (RFC 1122 2.3.2.1: at most 1 per second) */
    unsigned arp_retries;             /* requests sent before giving up, >= 1; default 3 */
    int64_t arp_failed_ns;            /* how long a failed address answers TERN_ERR_UNREACH
                                         before a new attempt; default 20 s */
    unsigned arp_announcements;       /* gratuitous ARPs at start; default 2 (RFC 5227 2.3) */
    int64_t arp_announce_interval_ns; /* between them; default 2 s (RFC 5227 2.3) */

    struct tern_tcp_config tcp; /* TCP: connections, buffers, timers (tern/tcp.h) */
    struct tern_udp_config udp; /* UDP: sockets, receive caps (tern/udp.h) */

    tern_alloc_fn alloc;
    void *alloc_ud;

    tern_trace_fn trace; /* may be NULL */
    void *trace_ctx;
};

struct tern_stack;

/* Fills `cfg` with defaults: no interfaces, seed 0 and deterministic false
 * (no secret yet: see `seed`), the defaults named above. */
void tern_config_init(struct tern_config *cfg);

/* Draws a 64-bit secret from the operating system (getrandom(2)) into *out,
 * never 0: `tern_random_seed(&cfg.seed)`. Not part of the core; calls the
 * OS (it lives with the socket API in src/api). TERN_OK, TERN_ERR_INVAL (out
 * NULL), or TERN_ERR_NOSECRET when the OS gives no randomness (errno says
 * why). */
int tern_random_seed(uint64_t *out);

/* Creates a stack at time `now_ns`. On success stores it in *out and returns
 * TERN_OK; returns TERN_ERR_INVAL for a bad configuration (and *out = NULL),
 * TERN_ERR_NOSECRET for seed 0 without deterministic (*out = NULL),
 * TERN_ERR_NOMEM if the allocator failed. The stack copies the config. */
int tern_stack_new(const struct tern_config *cfg, int64_t now_ns, struct tern_stack **out);

/* Frees the stack and everything it holds. NULL is a no-op. */
void tern_stack_free(struct tern_stack *st);

/* Hands a received frame to the stack: an IPv4 datagram on a
 * TERN_LINK_RAW_IP interface, an Ethernet II frame (no FCS) on a
 * TERN_LINK_ETHERNET one. Borrows `pkt`. A malformed frame is counted and
 * traced, not an error: the return value is TERN_ERR_INVAL only for a bad
 * argument (NULL, unknown netif). */
int tern_stack_input(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len,
                     int64_t now_ns);

/* Input batches (RFC 1122 4.2.3.2, RFC 9293 3.10.7 MUST-58, MUST-59: a
 * receiver processes all queued segments before it sends an ACK). A
 * driver that has several frames at hand (everything one wakeup read from
 * the device) brackets their tern_stack_input() calls with
 * tern_stack_batch_begin() and tern_stack_batch_end(): the ACKs the text
 * asks for are held, and the end sends one per connection, covering all
 * that the batch delivered. Segments of ours that go out meanwhile still
 * go out (and carry the ACK). Batches nest; the outermost end sends. An
 * end without a begin is a no-op. */
void tern_stack_batch_begin(struct tern_stack *st);
void tern_stack_batch_end(struct tern_stack *st, int64_t now_ns);

/* Runs every timer due at `now_ns` (retransmission, reassembly timeout...). */
void tern_stack_poll(struct tern_stack *st, int64_t now_ns);

/* The next time tern_stack_poll() has work, or INT64_MAX if none. */
int64_t tern_stack_next_deadline(const struct tern_stack *st);

/* The stack's counters (NULL for a NULL stack). The pointer stays valid
 * while the stack lives. */
const struct tern_stats *tern_stack_stats(const struct tern_stack *st);

/* Replaces the trace callback (NULL turns tracing off). */
void tern_stack_set_trace(struct tern_stack *st, tern_trace_fn fn, void *ctx);

/* Our address on interface `netif`, or 0 if there is no such interface
 * (or it has no address). */
uint32_t tern_stack_addr(const struct tern_stack *st, int netif);

/* The prefix length of interface `netif`'s subnet (0 without an address or
 * without such an interface). */
uint8_t tern_stack_prefix_len(const struct tern_stack *st, int netif);

/*
 * Gives interface `netif` the address `addr` with prefix_len (0..32) at run
 * time, or takes its address away (addr 0; prefix_len is then ignored).
 * Routing, the source of what we send and what we accept follow at once.
 * The default gateway is removed when no interface's subnet holds it any
 * more. On an Ethernet interface a new address is announced (RFC 5227 2.3,
 * cfg.arp_announcements) and ends a probe for it (tern_arp_probe).
 * Connections and sockets bound to an old address stay as they are: what
 * they send no longer leaves from an address of ours, and they fail as the
 * peer stops answering (as on a host whose address changed under them).
 * TERN_OK; TERN_ERR_INVAL (NULL, no such interface, prefix_len > 32, an
 * address of class D or E, the limited broadcast among them);
 * TERN_ERR_EXIST (another interface has it).
 */
int tern_stack_set_addr(struct tern_stack *st, int netif, uint32_t addr, uint8_t prefix_len,
                        int64_t now_ns);

/* Lowers (or raises back) interface `netif`'s MTU at run time, as a DHCP
 * lease's interface MTU option asks (RFC 2132 5.1): from 68 to the MTU it
 * was created with (the stack's buffers are sized from that); 0 restores
 * that. Datagrams sent from then on, and the MSS of connections opened
 * from then on, follow it. TERN_OK or TERN_ERR_INVAL. */
int tern_stack_set_mtu(struct tern_stack *st, int netif, uint16_t mtu);

/* Interface `netif`'s MTU (0: no such interface). */
uint16_t tern_stack_mtu(const struct tern_stack *st, int netif);

/* The default gateway, 0 if none. */
uint32_t tern_stack_gateway(const struct tern_stack *st);

/* Sets the default gateway (0 removes it). TERN_OK, or TERN_ERR_INVAL when
 * no interface's connected subnet holds it. */
int tern_stack_set_gateway(struct tern_stack *st, uint32_t gateway, int64_t now_ns);

/* 64 bits from the stack's generator (seeded from cfg.seed): for numbers a
 * protocol above wants unpredictable to other hosts, such as a DHCP
 * transaction id. Not a key: the generator is not cryptographic. */
uint64_t tern_stack_random(struct tern_stack *st);

/* True when `a` is one of our unicast addresses, of either family. */
bool tern_stack_has_addr(const struct tern_stack *st, struct tern_ip a);

/* Copies the hardware address of Ethernet interface `netif` to mac[0..5].
 * TERN_OK, or TERN_ERR_INVAL (NULL, no such interface, not Ethernet). */
int tern_stack_mac(const struct tern_stack *st, int netif, uint8_t mac[TERN_MAC_LEN]);

/*
 * Looks up the ARP cache (RFC 826) of Ethernet interface `netif` for `addr`.
 * Returns TERN_OK and the hardware address in mac[0..5] (mac may be NULL)
 * when the address is resolved; TERN_ERR_AGAIN while it is being resolved;
 * TERN_ERR_UNREACH when resolution failed recently; TERN_ERR_NOTCONN when
 * there is no entry; TERN_ERR_INVAL for a bad argument.
 */
int tern_arp_lookup(const struct tern_stack *st, int netif, uint32_t addr,
                    uint8_t mac[TERN_MAC_LEN]);

/*
 * Address conflict detection (RFC 5227 2.1.1), for a host about to use
 * `addr` on Ethernet interface `netif` (a DHCP client after an ACK, RFC
 * 2131 4.4.1). tern_arp_probe() sends one ARP probe (a broadcast request
 * with our hardware address, sender address 0, target `addr`) and, from
 * the first probe for `addr` on, watches for ARP packets that show another
 * host using it: one whose sender address is `addr`, or another host's
 * probe for it. The caller sends as many probes as it likes at the pace it
 * likes, then asks tern_arp_probe_result(): TERN_OK (nothing seen),
 * TERN_ERR_EXIST (in use: do not take it), TERN_ERR_NOTCONN (no probe for
 * `addr` is under way on `netif`). One probe per interface: a probe for
 * another address starts afresh; tern_stack_set_addr(addr) ends it.
 * TERN_ERR_INVAL: NULL, no such interface, not Ethernet, or an address
 * that names no single host; tern_arp_probe() may also return
 * TERN_ERR_TXFAIL (the driver refused the frame).
 */
int tern_arp_probe(struct tern_stack *st, int netif, uint32_t addr, int64_t now_ns);
int tern_arp_probe_result(const struct tern_stack *st, int netif, uint32_t addr);

/*
 * ICMP echo (RFC 792). tern_icmp_echo_send() sends an echo request with the
 * given identifier, sequence number and data (borrowed); the stack answers
 * echo requests itself. Echo replies addressed to us go to the handler
 * installed with tern_icmp_set_echo_handler().
 */
struct tern_echo_reply {
    uint32_t from; /* IPv4: the sender; 0 for an ICMPv6 reply */
    uint16_t id, seq;
    uint8_t ttl;         /* TTL, or the IPv6 hop limit */
    const uint8_t *data; /* valid during the call */
    size_t len;
    bool v6;             /* an ICMPv6 echo reply (RFC 4443 4.2) */
    struct tern_ip addr; /* the sender, either family (IPv4-mapped for IPv4) */
};
typedef void (*tern_echo_fn)(void *ctx, const struct tern_echo_reply *r, int64_t now_ns);

int tern_icmp_echo_send(struct tern_stack *st, uint32_t dst, uint16_t id, uint16_t seq,
                        const uint8_t *data, size_t len, int64_t now_ns);
void tern_icmp_set_echo_handler(struct tern_stack *st, tern_echo_fn fn, void *ctx);

/* An echo request to either family: ICMP for an IPv4(-mapped) dst, ICMPv6
 * (RFC 4443 4.1) for an IPv6 one. Replies of both reach the same handler. */
int tern_icmp_echo_send_ip(struct tern_stack *st, struct tern_ip dst, uint16_t id, uint16_t seq,
                           const uint8_t *data, size_t len, int64_t now_ns);

/* The IPv6 addresses of interface `netif` usable now (not tentative or
 * duplicate), link-local first: up to `max` into out[]. Returns how many
 * there are (which may exceed max), or -1 for a bad argument. */
int tern_stack_addrs6(const struct tern_stack *st, int netif, struct tern_ip *out, unsigned max);

#ifdef __cplusplus
}
#endif

#endif
