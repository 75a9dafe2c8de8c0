/*
 * src/link/link.h: the link layer of one stack: Ethernet II framing
 * (RFC 894) and address resolution (RFC 826) under IPv4, for the
 * interfaces configured as TERN_LINK_ETHERNET. Interfaces of type
 * TERN_LINK_RAW_IP never reach this module. Never installed.
 *
 * Read first: RFC 894 (IPv4 over Ethernet), RFC 826 (ARP, above all
 * "Packet Reception"), RFC 1122 2.3.2 (ARP cache validation, flooding,
 * packet queue) and 3.3.6 (broadcasts), RFC 5227 2.3 (announcements).
 *
 * The ARP cache. A fixed table of cfg.arp_entries entries, shared by the
 * Ethernet interfaces, each keyed by <interface, IPv4 address>. An entry is
 *
 *   INCOMPLETE  a request is out; datagrams to the address wait in its queue.
 *               Its timer re-sends the request every cfg.arp_retry_ns, at
 *               most cfg.arp_retries requests in all, then the entry turns
 *               FAILED and its queue is dropped (counted).
 *   REACHABLE   the hardware address is known. Its timer expires
 *               cfg.arp_reachable_ns after the last confirmation (a packet
 *               from the address that our table merged). On expiry an entry
 *               that was used since is re-requested (REFRESH); one that was
 *               not is removed.
 *   REFRESH     still used to send, while unicast requests to the cached
 *               address ask it again (RFC 1122 2.3.2.1 "unicast poll"), at
 *               most cfg.arp_retries; no answer removes the entry.
 *   FAILED      sends to the address return TERN_ERR_UNREACH (drop
 *               ARP_UNREACH) until cfg.arp_failed_ns has passed; then the
 *               entry is removed and the next send starts again.
 *
 * A new entry takes a free one. Else, while fewer than half the entries
 * are INCOMPLETE, the least recently used entry that is not; from half on,
 * the oldest INCOMPLETE entry, whose queued datagrams are dropped
 * (ARP_CACHE_FULL): addresses that never answer (a SYN flood's spoofed
 * sources) cannot push the neighbours in use out of the cache. Either is
 * counted as evicted. Datagrams waiting for resolution
 * sit in a pool of cfg.arp_queue_total buffers, at most
 * cfg.arp_queue_per_entry per entry; on overflow the entry's oldest
 * datagram is dropped to keep the latest (RFC 1122 2.3.2.2), and a new
 * entry that finds the pool empty drops its datagram (ARP_QUEUE_FULL).
 * Once resolved, the queue is sent in the order it was queued. All timers
 * are on the stack's timer wheel. Lookups scan the table (it is small).
 *
 * Trace events of layers "eth" and "arp" carry the whole Ethernet frame in
 * .pkt (not an IPv4 datagram), or NULL.
 *
 * Ownership: every function borrows its buffers for the call. Nothing here
 * allocates after link_init().
 */
#ifndef TERN_LINK_LINK_H
#define TERN_LINK_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/timer.h"
#include "tern/stack.h"

struct tern_stack;

enum arp_entry_state {
    ARP_FREE,
    ARP_INCOMPLETE,
    ARP_REACHABLE,
    ARP_REFRESH,
    ARP_FAILED,
};

struct arp_entry {
    enum arp_entry_state state;
    int netif;
    uint32_t addr;
    uint8_t mac[TERN_MAC_LEN];
    bool used;            /* a datagram went out through it since it was confirmed */
    unsigned requests;    /* requests sent in the current INCOMPLETE/REFRESH round */
    int64_t last_used_ns; /* for the choice of a victim in a full table */
    int q_head, q_tail;   /* queued datagrams: indexes into link_state.q, -1 when empty */
    unsigned q_len;
    struct timer timer;
};

/* One datagram waiting for its next hop to resolve. */
struct arp_qbuf {
    int next; /* next in the entry's queue, or in the free list; -1 ends */
    size_t len;
    uint8_t *data; /* link_state.q_mem + index * q_buf_size */
};

/* One announcement series per Ethernet interface (RFC 5227 2.3). */
struct link_announce {
    struct timer timer;
    int netif;
    unsigned sent;
};

/* An address probe on one Ethernet interface (RFC 5227 2.1.1), asked
 * for by tern_arp_probe(): while `active`, ARP packets that show another
 * host using `addr` set `conflict`. It ends when the address is given to
 * the interface (tern_stack_set_addr) or another probe starts. */
struct link_probe {
    bool active, conflict;
    uint32_t addr;
};

/* The protocol above link that takes the payload of frames of one
 * EtherType (IPv4: the composition root registers it). `pkt` is borrowed
 * for the call and may end in padding (RFC 894); `len` counts it. */
typedef void (*link_rx_fn)(struct tern_stack *st, void *ctx, int netif, const uint8_t *pkt,
                           size_t len);

/* EtherTypes that may register at once (IPv4, tests); ARP is link's own. */
#define LINK_MAX_TYPES 3

#define LINK_MAX_GROUPS 16

struct link_type {
    uint16_t type; /* 0: a free entry */
    link_rx_fn input;
    void *ctx;
};

/* Everything the link layer owns; the composition root places it next to
 * the core context (st->link). */
struct link_state {
    bool any_ethernet; /* some interface is TERN_LINK_ETHERNET */
    uint8_t *tx_buf;   /* one frame: the largest Ethernet MTU + 14, at least 60 */
    size_t tx_buf_len;
    struct arp_entry *arp; /* cfg.arp_entries */
    unsigned n_arp;
    struct arp_qbuf *q; /* cfg.arp_queue_total */
    uint8_t *q_mem;
    size_t q_buf_size; /* the largest Ethernet MTU */
    int q_free;        /* free list head, -1 when empty */
    struct link_announce announce[TERN_MAX_NETIFS];
    struct link_probe probe[TERN_MAX_NETIFS];
    struct link_type types[LINK_MAX_TYPES];
    /* Multicast addresses each Ethernet interface listens to (the IPv6
     * groups of RFC 2464 7, set by ip). */
    uint8_t groups[TERN_MAX_NETIFS][LINK_MAX_GROUPS][6];
    unsigned n_groups[TERN_MAX_NETIFS];
};

/* Sets the multicast addresses Ethernet interface `netif` accepts frames
 * for (at most LINK_MAX_GROUPS; more are ignored). */
void link_set_groups(struct tern_stack *st, int netif, const uint8_t (*macs)[6], unsigned n);

/* Takes the frame buffer, the ARP table and the queue pool from st->cfg,
 * and arms the announcement timers (the first announcement of each
 * Ethernet interface is due at once: it goes out on the first poll or
 * input, when the driver can carry it). TERN_OK or TERN_ERR_NOMEM; after a
 * failure link_fini() frees what was taken. Does nothing without Ethernet
 * interfaces. */
int link_init(struct tern_stack *st);

/* Frees what link_init() took and cancels its timers; safe after a partial
 * link_init() and twice. */
void link_fini(struct tern_stack *st);

/* Registers the handler of EtherType `type` (at least 0x0600, not ARP;
 * input not NULL). TERN_OK, TERN_ERR_INVAL, TERN_ERR_EXIST (taken),
 * TERN_ERR_NOBUFS (LINK_MAX_TYPES in use). Frames of a type nobody
 * registered are a counted drop (ETH_TYPE). */
int link_register_ethertype(struct tern_stack *st, uint16_t type, link_rx_fn input, void *ctx);

/* Checks the link part of a configuration (MACs, ARP settings). */
bool link_config_ok(const struct tern_config *cfg);

/* An Ethernet frame received on Ethernet interface `netif` (borrowed);
 * st->now_ns is current. Every outcome is counted and traced. */
void eth_input(struct tern_stack *st, int netif, const uint8_t *frame, size_t len);

/*
 * Sends the IPv4 datagram `dgram` (borrowed) on Ethernet interface `netif`
 * to the neighbour `next_hop`: broadcast and multicast destinations map to
 * their group addresses, others go through the ARP cache. Returns TERN_OK
 * when the frame went to the driver or the datagram was queued until the
 * neighbour resolves; TERN_ERR_TXFAIL when the driver refused it (not
 * counted here: the caller counts it); TERN_ERR_UNREACH (drop ARP_UNREACH)
 * when the neighbour failed to resolve recently; TERN_ERR_NOBUFS (drop
 * ARP_CACHE_FULL or ARP_QUEUE_FULL) when nothing could hold it.
 */
int link_output_ipv4(struct tern_stack *st, int netif, uint32_t next_hop, const uint8_t *dgram,
                     size_t len);

/* ARP input (arp.c): the payload of an ARP frame received on `netif`;
 * `frame` is the whole frame, for traces. */
void arp_input(struct tern_stack *st, int netif, const uint8_t *pkt, size_t len,
               const uint8_t *frame, size_t frame_len);

/* ARP internals shared by ethernet.c and arp.c. */
int arp_init(struct tern_stack *st);
void arp_fini(struct tern_stack *st);
int arp_resolve_and_send(struct tern_stack *st, int netif, uint32_t next_hop, const uint8_t *dgram,
                         size_t len);
void arp_announce_start(struct tern_stack *st);

/* The address of Ethernet interface `netif` changed (st->cfg holds the new
 * one, maybe 0): a probe for it ends, and a new address is announced
 * again (RFC 5227 2.3). The composition root calls it. */
void arp_addr_changed(struct tern_stack *st, int netif);
const struct arp_entry *arp_find(const struct tern_stack *st, int netif, uint32_t addr);

/* Frames out (ethernet.c): builds an Ethernet frame around `payload` in
 * the link transmit buffer and hands it to the driver. Returns TERN_OK or
 * TERN_ERR_TXFAIL (not counted). Counts eth.tx. */
int eth_send(struct tern_stack *st, int netif, const uint8_t dst[6], uint16_t type,
             const uint8_t *payload, size_t len, uint32_t next_hop);

#endif
