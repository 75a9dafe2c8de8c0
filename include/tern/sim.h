/*
 * include/tern/sim.h: a deterministic simulated network of tern stacks.
 *
 * A simulation holds N hosts, each a tern stack with up to TERN_MAX_NETIFS
 * interfaces, and point-to-point links joining one interface of one host to
 * one interface of another. A link carries the bytes its interfaces
 * transmit in both directions (raw IPv4 datagrams, or Ethernet frames
 * between TERN_LINK_ETHERNET interfaces); each direction has its own
 * delay, jitter, bandwidth, queue and impairments (loss, duplication,
 * reordering, corruption). One event loop runs everything in virtual
 * time (int64 nanoseconds, starting at 0): packet arrivals, callbacks the
 * user schedules, and each host's timers (tern_stack_next_deadline()).
 * Events at the same instant run in the order they were scheduled. Nothing
 * reads the real clock or a global random source: the same seed and the
 * same calls give the same events, bytes and times, on every machine and
 * every run.
 *
 * Randomness: every link direction has its own generators (one per
 * impairment), seeded from the simulation seed, the link id and the
 * direction only. So a link's losses do not change when another link is
 * added, and turning on duplication does not move the losses.
 *
 * Memory: the simulator allocates (it is a driver, not the core), but every
 * queue is bounded: a link direction holds at most max_in_flight packets
 * (those travelling plus those held by the filter); beyond that, packets are
 * dropped and counted. Hosts and links are capped by TERN_SIM_MAX_HOSTS and
 * TERN_SIM_MAX_LINKS.
 *
 * Callbacks (observer, filter) run inside the event loop and must not change
 * the simulation (no run, crash, release...): they may only read. Callbacks
 * scheduled with tern_sim_at() and the restart callback may do anything,
 * including calling into stacks, crashing hosts and scheduling more events.
 * A caller that uses a host's stack directly between steps (for example
 * tern_icmp_echo_send) passes tern_sim_now() as the time; the simulator
 * picks up the host's new deadline before the next event.
 *
 * Not thread-safe; any number of simulations may live in one process.
 */
#ifndef TERN_SIM_H
#define TERN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/driver.h"
#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_SIM_MAX_HOSTS             1024
#define TERN_SIM_MAX_LINKS             4096
#define TERN_SIM_DEFAULT_MAX_IN_FLIGHT 1024

struct tern_sim;

/*
 * One direction of a link. All zero (or tern_link_params_init) is a perfect
 * wire: no delay, infinite bandwidth, no impairment. Rates are in parts per
 * million (10000 ppm = 1 %).
 *
 * Time a packet handed to the link at `now` arrives:
 *   tx_start = max(now, end of the previous packet's serialization)
 *   tx_end   = tx_start + ceil(len * 8 / bandwidth_bps)   (0 if bandwidth is 0)
 *   arrival  = tx_end + delay_ns + uniform[0, jitter_ns]
 * and never before the packet sent before it on the same direction (jitter
 * alone does not reorder). A reordered packet (reorder_ppm) gets
 * reorder_delay_ns more, and later packets may overtake it. The drop-tail
 * queue counts the bytes of packets waiting for or in serialization; a
 * packet that would push it past queue_bytes is dropped.
 */
struct tern_link_params {
    int64_t delay_ns;         /* propagation delay, >= 0 */
    int64_t jitter_ns;        /* extra delay, uniform in [0, jitter_ns], >= 0 */
    uint64_t bandwidth_bps;   /* bits per second; 0: infinite (no serialization, no queue) */
    uint32_t queue_bytes;     /* drop-tail limit when bandwidth_bps > 0; 0: no byte limit */
    uint32_t loss_ppm;        /* packets lost in transit */
    uint32_t dup_ppm;         /* packets delivered twice (the copy travels right after) */
    uint32_t reorder_ppm;     /* packets delayed by reorder_delay_ns so later ones pass them */
    uint32_t corrupt_ppm;     /* packets with one random bit flipped */
    int64_t reorder_delay_ns; /* 0: delay_ns + jitter_ns + 1 ms */
    uint32_t max_in_flight;   /* packets on this direction at once; 0: default */
    /* ECN-capable IPv4 packets (ECT(0) or ECT(1), RFC 3168 5) marked CE
     * instead of being dropped, as an AQM router would: a marked packet
     * arrives, with CE and a corrected header checksum. Packets that are
     * not ECT pass unmarked (loss_ppm is the loss model). */
    uint32_t ce_ppm;
};

/* Fills `p` with a perfect link (all zero). */
void tern_link_params_init(struct tern_link_params *p);

/* ---- The simulation ---------------------------------------------------- */

/* Creates an empty simulation at time 0. Returns TERN_OK, TERN_ERR_INVAL
 * (out is NULL) or TERN_ERR_NOMEM. */
int tern_sim_new(uint64_t seed, struct tern_sim **out);

/* Frees every host's stack, every packet and event, and closes the capture
 * files. NULL is a no-op. */
void tern_sim_free(struct tern_sim *sim);

/* The current virtual time. */
int64_t tern_sim_now(const struct tern_sim *sim);

/* ---- Hosts -------------------------------------------------------------- */

/*
 * Adds a host and creates its stack at the current time from `cfg` (copied).
 * Leave each netif's `transmit` NULL: the simulator installs its own (a
 * non-NULL transmit is TERN_ERR_INVAL). Every host is deterministic (the
 * simulator sets cfg.deterministic): its seed is cfg->seed, or, when that is
 * 0 and cfg->deterministic false (tern_config_init's defaults), a value
 * derived from the simulation seed and the host id (a different one per
 * host, the same in every run). `name` (copied, may be NULL: "hN")
 * is for people and tools. Returns TERN_OK and the host id (0, 1, ...) in
 * *host, TERN_ERR_INVAL for a bad argument or configuration (the stack's own
 * check), TERN_ERR_NOBUFS past TERN_SIM_MAX_HOSTS, TERN_ERR_NOMEM.
 */
int tern_sim_add_host(struct tern_sim *sim, const char *name, const struct tern_config *cfg,
                      int *host);

/* The host's live stack, or NULL if the host is crashed or the id is bad.
 * The pointer is valid until the host crashes or the simulation is freed. */
struct tern_stack *tern_sim_host_stack(const struct tern_sim *sim, int host);

/* The host's name, or NULL for a bad id. */
const char *tern_sim_host_name(const struct tern_sim *sim, int host);

/* Number of hosts added. */
int tern_sim_host_count(const struct tern_sim *sim);

/*
 * Crashes a host: its stack is freed at once, with all its connections and
 * timers (the memory loss of RFC 9293 section 3.5.2, Figures 9 and 10).
 * Packets already on the wire keep travelling; those that reach a crashed
 * host are dropped and reported LOST (TERN_SIM_LOSS_HOST_DOWN).
 * Returns TERN_OK, TERN_ERR_INVAL (bad id) or TERN_ERR_STATE (already down).
 */
int tern_sim_crash(struct tern_sim *sim, int host);

/*
 * Restarts a crashed host with a fresh stack from its original
 * configuration. Choice: the new stack's seed is the configured seed plus
 * restart_count * 0x9E3779B97F4A7C15 (restart_count is 1 on the first
 * restart), so that a rebooted host draws new initial sequence numbers, as a
 * real one would, yet the run stays reproducible. Then calls the restart
 * callback, if any. Returns TERN_OK, TERN_ERR_INVAL (bad id), TERN_ERR_STATE
 * (not crashed), or the stack's own error.
 */
int tern_sim_restart(struct tern_sim *sim, int host);

/* Called after every restart, to re-register handlers on the new stack. */
typedef void (*tern_sim_restart_fn)(void *ctx, struct tern_sim *sim, int host,
                                    struct tern_stack *st);
void tern_sim_set_restart_handler(struct tern_sim *sim, tern_sim_restart_fn fn, void *ctx);

/* ---- Links -------------------------------------------------------------- */

/*
 * Joins interface `netif_a` of `host_a` to `netif_b` of `host_b`. Every
 * datagram one side transmits on that interface goes to the other (the
 * next-hop address is ignored: it is a point-to-point link). `a_to_b` and
 * `b_to_a` (copied; NULL means a perfect wire) describe each direction.
 * Returns TERN_OK and the link id (0, 1, ...) in *link; TERN_ERR_INVAL for a
 * bad id, interface or parameter (negative time, rate above 1000000 ppm);
 * TERN_ERR_EXIST if an interface is already linked; TERN_ERR_NOBUFS past
 * TERN_SIM_MAX_LINKS; TERN_ERR_NOMEM. A host may be linked to itself on two
 * different interfaces.
 */
int tern_sim_link(struct tern_sim *sim, int host_a, int netif_a, int host_b, int netif_b,
                  const struct tern_link_params *a_to_b, const struct tern_link_params *b_to_a,
                  int *link);

/* Replaces the parameters of one direction (dir 0: a to b, 1: b to a), for
 * packets sent from now on. Returns TERN_OK or TERN_ERR_INVAL. */
int tern_sim_link_set_params(struct tern_sim *sim, int link, int dir,
                             const struct tern_link_params *p);

/* Counters of one link direction. */
struct tern_sim_link_stats {
    uint64_t sent;           /* packets handed to the link by the sending host */
    uint64_t delivered;      /* packets handed to the receiving stack (copies included) */
    uint64_t lost_random;    /* loss_ppm */
    uint64_t lost_queue;     /* drop-tail queue full */
    uint64_t lost_capacity;  /* max_in_flight reached */
    uint64_t lost_filter;    /* the filter said DROP, or a held packet was dropped */
    uint64_t lost_host_down; /* arrived at a crashed host */
    uint64_t duplicated;
    uint64_t reordered;
    uint64_t corrupted;
    uint64_t held;    /* packets the filter held (so far) */
    uint64_t delayed; /* packets the filter delayed */
    uint64_t bytes_sent;
    uint64_t ce_marked; /* ce_ppm: ECT packets marked CE */
};

/* Copies the counters of one direction into *out. TERN_OK or TERN_ERR_INVAL. */
int tern_sim_link_stats(const struct tern_sim *sim, int link, int dir,
                        struct tern_sim_link_stats *out);

/* ---- Running -------------------------------------------------------------- */

/* Runs the one earliest event (events due at the same instant run one per
 * call, in the order they were scheduled). Returns true if an event ran,
 * false if there was none. */
bool tern_sim_step(struct tern_sim *sim);

/* Runs every event due at or before `t_ns`, then sets the clock to `t_ns`.
 * Returns TERN_OK, or TERN_ERR_INVAL if t_ns is in the past. */
int tern_sim_run_until(struct tern_sim *sim, int64_t t_ns);

/* Runs until no event is left (TERN_OK) or `max_events` events have run
 * (TERN_ERR_AGAIN; 0 means no bound). A stack with a periodic timer never
 * becomes idle: bound it, or use tern_sim_run_until. */
int tern_sim_run(struct tern_sim *sim, uint64_t max_events);

/* The time of the next event, or INT64_MAX if there is none. */
int64_t tern_sim_next_event(struct tern_sim *sim);

/* Calls fn(ctx, sim) at virtual time `t_ns` (>= now). Returns TERN_OK,
 * TERN_ERR_INVAL (past time, NULL fn) or TERN_ERR_NOMEM. */
typedef void (*tern_sim_fn)(void *ctx, struct tern_sim *sim);
int tern_sim_at(struct tern_sim *sim, int64_t t_ns, tern_sim_fn fn, void *ctx);

/* ---- Packets: the observer ------------------------------------------------ */

/*
 * What happens to packets. Every packet has an id (1, 2, ...), unique in the
 * simulation. Its life starts with SENT (transmitted by a host onto a link),
 * DUPLICATED (a copy the link made) or INJECTED (tern_sim_inject), and ends
 * with exactly one ARRIVED or LOST. In between it may be CORRUPTED, HELD
 * and then RELEASED (or LOST when dropped while held).
 */
enum tern_sim_event_kind {
    TERN_SIM_EV_SENT,       /* at send time; arrive_ns is when it will arrive, or -1 */
    TERN_SIM_EV_ARRIVED,    /* handed to the destination stack, now */
    TERN_SIM_EV_LOST,       /* dropped; .loss says why */
    TERN_SIM_EV_HELD,       /* the filter held it */
    TERN_SIM_EV_RELEASED,   /* a held packet goes on; arrive_ns, or -1 if then lost */
    TERN_SIM_EV_INJECTED,   /* tern_sim_inject; arrive_ns is when */
    TERN_SIM_EV_DUPLICATED, /* a copy of pkt.orig_id, travelling on its own */
    TERN_SIM_EV_CORRUPTED,  /* one bit flipped; .bit says which, pkt.data the new bytes */
    TERN_SIM_EV_HOST_CRASH, /* a host crashed (pkt fields unused; .host) */
    TERN_SIM_EV_HOST_RESTART,
};

/* Why a packet was lost (TERN_SIM_LOSS_NONE for any other event). */
enum tern_sim_loss {
    TERN_SIM_LOSS_NONE,
    TERN_SIM_LOSS_RANDOM,    /* loss_ppm */
    TERN_SIM_LOSS_QUEUE,     /* drop-tail queue full */
    TERN_SIM_LOSS_CAPACITY,  /* max_in_flight reached */
    TERN_SIM_LOSS_FILTER,    /* filter said DROP */
    TERN_SIM_LOSS_HELD_DROP, /* held, then tern_sim_drop_held */
    TERN_SIM_LOSS_HOST_DOWN, /* the destination host is crashed */
    TERN_SIM_LOSS_NO_LINK,   /* transmitted on an interface with no link */
};

/* A packet, as the observer and the filter see it. */
struct tern_sim_packet {
    uint64_t id;
    uint64_t orig_id;          /* for a duplicate: the packet it copies; else id */
    int link;                  /* -1 for injected packets and NO_LINK losses */
    int dir;                   /* 0: a to b, 1: b to a; -1 when link is -1 */
    int from_host, from_netif; /* -1 for injected packets */
    int to_host, to_netif;     /* -1 for NO_LINK losses */
    int64_t sent_ns;           /* when the sender handed it over (injection time) */
    const uint8_t *data;       /* the bytes as they travel; valid during the call */
    size_t len;
    bool duplicate, corrupted, reordered, injected;
};

struct tern_sim_event {
    enum tern_sim_event_kind kind;
    int64_t now_ns;
    int64_t arrive_ns; /* scheduled (SENT, RELEASED, INJECTED, DUPLICATED) or actual
                          (ARRIVED) arrival time; -1 if lost, held or not a packet */
    enum tern_sim_loss loss;
    uint32_t bit; /* CORRUPTED: the bit flipped, counted from the first byte's MSB */
    int host;     /* HOST_CRASH, HOST_RESTART: which; else -1 */
    struct tern_sim_packet pkt;
};

typedef void (*tern_sim_observer_fn)(void *ctx, const struct tern_sim_event *ev);

/* Installs the observer (NULL removes it). */
void tern_sim_set_observer(struct tern_sim *sim, tern_sim_observer_fn fn, void *ctx);

const char *tern_sim_event_name(enum tern_sim_event_kind k); /* "sent", "arrived"... */
const char *tern_sim_loss_name(enum tern_sim_loss l);        /* "random", "queue"... */

/* ---- Packets: per-packet control -------------------------------------- */

enum tern_sim_action {
    TERN_SIM_PASS,  /* on the link as usual */
    TERN_SIM_DROP,  /* lost (TERN_SIM_LOSS_FILTER) */
    TERN_SIM_HOLD,  /* kept aside until tern_sim_release or tern_sim_drop_held */
    TERN_SIM_DELAY, /* on the link, arriving *delay_ns later than it would */
};

/*
 * Called for every packet a host transmits onto a link (not for duplicates
 * the link makes, nor injected packets), before the link's own impairments.
 * For TERN_SIM_DELAY it stores the extra delay (>= 0) in *delay_ns; a
 * delayed packet may be overtaken, like a reordered one.
 */
typedef enum tern_sim_action (*tern_sim_filter_fn)(void *ctx, const struct tern_sim_packet *pkt,
                                                   int64_t *delay_ns);
void tern_sim_set_filter(struct tern_sim *sim, tern_sim_filter_fn fn, void *ctx);

/* Sends a held packet on from now: it goes through the link (queue,
 * impairments, delay) as if just transmitted, without passing the filter
 * again. TERN_OK, or TERN_ERR_INVAL if no held packet has that id. */
int tern_sim_release(struct tern_sim *sim, uint64_t packet_id);

/* Drops a held packet (LOST, TERN_SIM_LOSS_HELD_DROP). TERN_OK or
 * TERN_ERR_INVAL. */
int tern_sim_drop_held(struct tern_sim *sim, uint64_t packet_id);

/* Number of packets held now. */
size_t tern_sim_held_count(const struct tern_sim *sim);

/*
 * Delivers `len` bytes (copied; any content, even malformed) to interface
 * `netif` of `host` at time `at_ns` (>= now), as if received there. Stores
 * the packet id in *packet_id if not NULL. Returns TERN_OK, TERN_ERR_INVAL
 * (bad id, netif, time or len 0 or > 65535), TERN_ERR_NOMEM.
 */
int tern_sim_inject(struct tern_sim *sim, int host, int netif, const uint8_t *bytes, size_t len,
                    int64_t at_ns, uint64_t *packet_id);

/* ---- Capture ------------------------------------------------------------ */

/*
 * Writes every packet that goes onto link `link`, both directions, to a pcap
 * file at `path` (LINKTYPE_RAW, or LINKTYPE_ETHERNET when the link joins
 * Ethernet interfaces; nanosecond timestamps in virtual time; see
 * tern/pcap.h). Choice: a packet is recorded once, when it is put on the
 * wire - when the sender hands it over, or when it is released from hold -
 * with the bytes as they travel (a corrupted packet shows its flipped bit; a
 * duplicate is a second record). Packets the filter drops or holds, and
 * those the sending queue refuses, never reach the wire and are not
 * recorded; packets lost in transit are. Injected packets are not recorded.
 * A path of NULL stops the capture of that link and closes its file. Starting
 * a capture on a captured link replaces it. Files are closed by
 * tern_sim_free. Returns TERN_OK, TERN_ERR_INVAL (bad link, file not
 * creatable), TERN_ERR_NOMEM.
 */
int tern_sim_capture(struct tern_sim *sim, int link, const char *path);

/* ---- Under a socket runtime (tern/socket.h, tern/driver.h) ---- */

/*
 * Fills `out` with a driver that runs `sim` in real time for tern_rt_start():
 * the runtime's clock is CLOCK_MONOTONIC shifted to read tern_sim_now() at
 * this call, a turn runs the events due, the next wake is the next event;
 * host i of the runtime is host i of the sim. Its close frees what this
 * call allocated, not the sim. Returns TERN_OK, TERN_ERR_INVAL (NULL, no
 * host), TERN_ERR_NOMEM.
 */
int tern_sim_driver(struct tern_sim *sim, struct tern_driver *out);

/*
 * tern_rt_start() on tern_sim_driver(sim): the sim run in real time by the
 * runtime's thread. Sockets may be made on any host with tern_socket_in().
 * The runtime does not own the sim: free it after tern_rt_free. Do not
 * touch the sim while the runtime runs except under tern_rt_lock. Host
 * crash/restart is not supported under a runtime.
 */
int tern_rt_start_sim(struct tern_sim *sim, struct tern_rt **out);

#ifdef __cplusplus
}
#endif

#endif
