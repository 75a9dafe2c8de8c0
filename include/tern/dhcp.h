/*
 * include/tern/dhcp.h: a DHCPv4 client (RFC 2131, options of RFC 2132) for
 * one Ethernet interface of a stack.
 *
 * Sans-I/O like the rest of tern: the client is a state machine over the
 * stack's native UDP API (tern/udp.h: its socket on port 68) and the
 * stack's run-time configuration calls (tern/stack.h). The caller owns the
 * loop: it gives the client time with tern_dhcp_poll() whenever
 * tern_dhcp_next_deadline() says (which is "now" as soon as a reply waits
 * in the socket), next to tern_stack_poll(); the client reports what it
 * holds through an event callback and tern_dhcp_lease().
 *
 * What it does (docs/dhcp.md has the details and the RFC sections):
 *   INIT -> SELECTING      DISCOVER broadcast (BROADCAST flag set, RFC 2131
 *                          4.1), the first valid OFFER taken
 *   -> REQUESTING          REQUEST broadcast for it; an ACK leads to
 *   -> PROBING             ARP probes for the address (RFC 2131 4.4.1,
 *                          RFC 5227 2.1.1): in use -> DECLINE, and INIT
 *                          again after cfg.decline_wait_ns
 *   -> BOUND               the address, prefix, default gateway and MTU are
 *                          set on the interface (cfg.configure); at T1
 *   -> RENEWING            REQUEST unicast to the server; at T2
 *   -> REBINDING           REQUEST broadcast to any server; at expiry the
 *                          address is removed and the client starts again.
 *   A NAK at any point removes the address and goes back to INIT.
 *   With cfg.requested set, the client starts in INIT_REBOOT (RFC 2131
 *   3.2): a REQUEST for that address, REBOOTING until ACK or NAK.
 *   tern_dhcp_stop() gives a lease back (RELEASE, RFC 2131 4.4.6) and
 *   removes the address.
 * Retransmissions follow RFC 2131 4.1 (4 s, doubling to 64 s, +-1 s at
 * random) and, when renewing or rebinding, 4.4.5 (half the time left, at
 * least 60 s). Transaction ids and the jitter come from the stack's
 * generator (tern_stack_random).
 *
 * Memory: everything is taken in tern_dhcp_new(); nothing after. Every
 * reply that is not used is a counted drop with its reason (struct
 * tern_dhcp_stats).
 *
 * Calls return TERN_OK or a negative enum tern_err (tern/stack.h).
 */
#ifndef TERN_DHCP_H
#define TERN_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Routers and DNS servers kept from a lease (the first ones offered). */
#define TERN_DHCP_MAX_ADDRS 4
/* Longest domain name kept (option 15). */
#define TERN_DHCP_MAX_DOMAIN 255
/* A lease time of 0xffffffff seconds is infinite (RFC 2131 3.3). */
#define TERN_DHCP_INFINITE 0xffffffffu

enum tern_dhcp_state {
    TERN_DHCP_STOPPED,     /* not started, or stopped */
    TERN_DHCP_INIT,        /* about to send a DISCOVER (after a NAK or DECLINE: waiting) */
    TERN_DHCP_SELECTING,   /* DISCOVER sent, waiting for an OFFER */
    TERN_DHCP_REQUESTING,  /* REQUEST for the offer sent, waiting for ACK or NAK */
    TERN_DHCP_INIT_REBOOT, /* about to ask for cfg.requested again */
    TERN_DHCP_REBOOTING,   /* REQUEST for cfg.requested sent, waiting for ACK or NAK */
    TERN_DHCP_PROBING,     /* ACK received: checking by ARP that nobody uses the address */
    TERN_DHCP_BOUND,       /* the lease is held, the address configured */
    TERN_DHCP_RENEWING,    /* past T1: asking the server that gave the lease */
    TERN_DHCP_REBINDING,   /* past T2: asking any server */
    TERN_DHCP_STATE_COUNT
};

/* A lease as the client holds it. Addresses in host order. */
struct tern_dhcp_lease {
    uint32_t addr;      /* our address (yiaddr) */
    uint8_t prefix_len; /* from the subnet mask (option 1), else the address's class */
    uint32_t server;    /* the server identifier (option 54) */
    uint32_t routers[TERN_DHCP_MAX_ADDRS]; /* option 3, in the server's order */
    unsigned n_routers;
    uint32_t dns[TERN_DHCP_MAX_ADDRS]; /* option 6, in the server's order: for a resolver */
    unsigned n_dns;
    uint16_t mtu;                          /* option 26; 0 when absent */
    char domain[TERN_DHCP_MAX_DOMAIN + 1]; /* option 15; "" when absent */
    uint32_t lease_s, t1_s, t2_s; /* seconds as granted (options 51, 58, 59 or their defaults) */
    /* Clock times (the caller's ns): the lease counts from when the
     * REQUEST that got it was first sent (RFC 2131 4.4.1); INT64_MAX for
     * an infinite lease. */
    int64_t start_ns, t1_ns, t2_ns, expiry_ns;
};

/* What the callback is told. */
enum tern_dhcp_event {
    TERN_DHCP_EV_BOUND,    /* a lease was taken (the address is configured) */
    TERN_DHCP_EV_RENEWED,  /* the lease was extended by RENEWING or REBINDING */
    TERN_DHCP_EV_EXPIRED,  /* the lease ran out: the address was removed */
    TERN_DHCP_EV_NAK,      /* a server said no: any address removed, back to INIT */
    TERN_DHCP_EV_DECLINED, /* the address answered the ARP probe: DECLINE sent */
    TERN_DHCP_EV_RESTART,  /* no answer to the REQUESTs: back to INIT (RFC 2131 4.4.1) */
    TERN_DHCP_EV_RELEASED, /* tern_dhcp_stop() gave the lease back */
    TERN_DHCP_EV_COUNT
};

struct tern_dhcp;

/* Called from inside tern_dhcp_poll() and tern_dhcp_stop(). `lease` is
 * the lease the event is about (the new one for BOUND and RENEWED, the one
 * lost or given back otherwise; for DECLINED the address refused), valid
 * during the call. The callback may read the client, not drive it. */
typedef void (*tern_dhcp_event_fn)(void *ctx, struct tern_dhcp *c, enum tern_dhcp_event ev,
                                   const struct tern_dhcp_lease *lease, int64_t now_ns);

struct tern_dhcp_config {
    int netif;          /* an Ethernet interface (TERN_LINK_ETHERNET) of the stack */
    uint32_t requested; /* nonzero: start in INIT_REBOOT asking for it (RFC 2131 3.2) */
    bool configure;     /* set address, prefix, gateway, MTU on the stack; default true */
    /* ARP probes sent after an ACK, probe_interval_ns apart, the address
     * taken probe_interval_ns after the last (RFC 5227 2.1.1 sends 3, 1-2 s
     * apart, then waits 2 s). Default 2 and 1 s; 0 probes: no check. */
    unsigned probes;
    int64_t probe_interval_ns;
    /* After a DECLINE, the pause before a new DISCOVER; RFC 2131 3.1 step
     * 5: at least ten seconds. Default 10 s. */
    int64_t decline_wait_ns;
    /* The first DISCOVER waits a random time up to this (RFC 2131 4.4.1
     * suggests 1 to 10 s when many hosts boot at once). Default 0. */
    int64_t start_delay_max_ns;
    /* REQUESTs sent in REQUESTING or REBOOTING before starting over;
     * default 4 (4 + 8 + 16 + 32 s, about a minute). */
    unsigned request_tries;
    tern_dhcp_event_fn fn; /* may be NULL */
    void *ctx;
    tern_alloc_fn alloc; /* NULL: malloc and free */
    void *alloc_ud;
};

/* Why a received datagram was not used (struct tern_dhcp_stats.drops). */
enum tern_dhcp_drop {
    TERN_DHCP_DROP_TRUNCATED,    /* shorter than a DHCP message, or an option cut short */
    TERN_DHCP_DROP_MALFORMED,    /* bad op, hlen, cookie, overload or option length */
    TERN_DHCP_DROP_TOO_LONG,     /* longer than the client's receive buffer */
    TERN_DHCP_DROP_SOURCE_PORT,  /* not from port 67 */
    TERN_DHCP_DROP_NOT_REPLY,    /* op is not BOOTREPLY */
    TERN_DHCP_DROP_XID,          /* not our transaction id */
    TERN_DHCP_DROP_CHADDR,       /* not our hardware address */
    TERN_DHCP_DROP_UNEXPECTED,   /* no question of ours open, or the wrong message type for it */
    TERN_DHCP_DROP_NO_SERVER_ID, /* option 54 missing (RFC 2131 table 3) */
    TERN_DHCP_DROP_NO_LEASE,     /* option 51 missing in an OFFER or ACK */
    TERN_DHCP_DROP_WRONG_SERVER, /* ACK or NAK from a server we did not ask */
    TERN_DHCP_DROP_BAD_ADDR,     /* yiaddr names no single host, or not the one asked for */
    TERN_DHCP_DROP_BAD_MASK,     /* subnet mask not contiguous, or none left for hosts */
    TERN_DHCP_DROP_COUNT
};

struct tern_dhcp_stats {
    uint64_t tx_discover, tx_request, tx_decline, tx_release;
    uint64_t retransmits;              /* among them, sent again for want of an answer */
    uint64_t tx_failed;                /* refused by the stack (no route, driver) */
    uint64_t probes;                   /* ARP probes sent */
    uint64_t rx;                       /* datagrams read from port 68 */
    uint64_t rx_offer, rx_ack, rx_nak; /* used */
    uint64_t bound, renewed, expired, naks, declined, restarts;
    uint64_t drops[TERN_DHCP_DROP_COUNT];
};

/* Fills the defaults above (netif 0, requested 0, callback NULL). */
void tern_dhcp_config_init(struct tern_dhcp_config *cfg);

/* Creates a client (STOPPED) for `st`. TERN_ERR_INVAL: NULL, no such
 * interface, not Ethernet; TERN_ERR_NOMEM. The client must be freed
 * before the stack. */
int tern_dhcp_new(struct tern_stack *st, const struct tern_dhcp_config *cfg, int64_t now_ns,
                  struct tern_dhcp **out);

/* Frees the client and closes its socket, without a RELEASE (call
 * tern_dhcp_stop first to give the lease back). NULL is a no-op. */
void tern_dhcp_free(struct tern_dhcp *c);

/* Opens UDP port 68 and starts (INIT, or INIT_REBOOT with cfg.requested).
 * TERN_ERR_STATE if already started; errors of tern_udp_open/bind (port 68
 * taken: TERN_ERR_EXIST). */
int tern_dhcp_start(struct tern_dhcp *c, int64_t now_ns);

/* Reads the replies waiting in the socket and runs what is due. */
void tern_dhcp_poll(struct tern_dhcp *c, int64_t now_ns);

/* When tern_dhcp_poll() has work next: INT64_MAX when stopped; the last
 * time given when a reply waits. */
int64_t tern_dhcp_next_deadline(const struct tern_dhcp *c);

/* Stops: a lease held (BOUND, RENEWING, REBINDING) is given back with a
 * RELEASE to its server (RFC 2131 4.4.6) and its address removed; the
 * socket is closed. The RELEASE is in the stack's hands on return (it may
 * wait for ARP): keep the stack running a moment before freeing it. */
void tern_dhcp_stop(struct tern_dhcp *c, int64_t now_ns);

enum tern_dhcp_state tern_dhcp_state(const struct tern_dhcp *c);

/* TERN_OK and the lease in *out while one is held (BOUND, RENEWING,
 * REBINDING); TERN_ERR_AGAIN otherwise; TERN_ERR_INVAL for NULL. */
int tern_dhcp_lease(const struct tern_dhcp *c, struct tern_dhcp_lease *out);

const struct tern_dhcp_stats *tern_dhcp_stats(const struct tern_dhcp *c);

/* Names: "BOUND", "RENEWED", "XID"...; "?" when out of range. */
const char *tern_dhcp_state_name(enum tern_dhcp_state s);
const char *tern_dhcp_event_name(enum tern_dhcp_event e);
const char *tern_dhcp_drop_name(enum tern_dhcp_drop d);

#ifdef __cplusplus
}
#endif

#endif
