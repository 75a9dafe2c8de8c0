/*
 * include/tern/tcp.h: the native TCP API, the user calls of RFC 9293
 * section 3.9.1 (OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS) and the
 * asynchronous reports of 3.9.1.8.
 *
 * A connection is named by a small positive integer, its id. The id stays
 * valid (STATUS answers CLOSED and the error that closed it) until the user
 * calls tern_tcp_release(); only then may the stack reuse it. Connections a
 * listener creates from incoming SYNs ("children") get an id of their own,
 * which the user receives from tern_tcp_accept() once the child has reached
 * ESTABLISHED.
 *
 * Every call takes the current time, like every other entry point of the
 * stack (DESIGN principle 1). Calls return TERN_OK (0) or a non-negative
 * count on success, a negative enum tern_err on failure:
 *   TERN_ERR_NOTCONN  "connection does not exist" (unknown or released id)
 *   TERN_ERR_EXIST    "connection already exists" (OPEN on a 4-tuple or
 *                     listening port in use)
 *   TERN_ERR_NOBUFS   "insufficient resources" (connection table full, no
 *                     free ephemeral port)
 *   TERN_ERR_CLOSING  "connection closing" (SEND after CLOSE, RECEIVE after
 *                     the peer's FIN with nothing left to read...)
 *   TERN_ERR_STATE    the call is not valid in the connection's state
 *   TERN_ERR_AGAIN    nothing to do now (no data, no completed child)
 *   TERN_ERR_INVAL    a bad argument
 * and, as the reason a connection closed (tern_tcp_error()):
 *   TERN_ERR_REFUSED  a RST answered our SYN
 *   TERN_ERR_RESET    the peer reset an established connection
 *   TERN_ERR_TIMEDOUT retransmissions or the user timeout gave up
 *   TERN_ERR_UNREACH  a hard ICMP error (protocol / port unreachable...)
 *
 * Events. tern_tcp_events() returns the connection's current TERN_TCP_EV_*
 * bits, and a callback (per connection, else per stack) is called with the
 * bits that newly became true. Callbacks run from inside the stack call
 * that caused them, after the segment or timer that caused them has been
 * fully processed; a callback may call any tern_tcp_* function, but must not
 * call tern_stack_input() or tern_stack_poll().
 */
#ifndef TERN_TCP_H
#define TERN_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_stack;

/* The connection states of RFC 9293 section 3.3.2, in the RFC's order. */
enum tern_tcp_state {
    TERN_TCP_CLOSED,
    TERN_TCP_LISTEN,
    TERN_TCP_SYN_SENT,
    TERN_TCP_SYN_RECEIVED,
    TERN_TCP_ESTABLISHED,
    TERN_TCP_FIN_WAIT_1,
    TERN_TCP_FIN_WAIT_2,
    TERN_TCP_CLOSE_WAIT,
    TERN_TCP_CLOSING,
    TERN_TCP_LAST_ACK,
    TERN_TCP_TIME_WAIT,
    TERN_TCP_STATE_COUNT
};

/* The RFC spelling of a state ("SYN-RECEIVED"); "?" when out of range. */
const char *tern_tcp_state_name(int state);

/* The initial congestion window of a connection (tern_tcp_config
 * initial_window). Both are upper bounds in bytes, rounded down to whole
 * segments of the send MSS (SMSS):
 *   TERN_TCP_IW_RFC6928 (0, the default): RFC 6928's min(10*SMSS,
 *     max(2*SMSS, 14600)): 10 segments at SMSS 1460 or less, 9 at 1500,
 *     2 at 9000 (Linux sends 10 segments whatever the SMSS; the RFC's
 *     byte cap is kept here).
 *   TERN_TCP_IW_RFC5681: RFC 5681 3.1's 4 segments up to SMSS 1095, 3 up
 *     to 2190, else 2 (4380 bytes at SMSS 1460).
 * Either way the window is 1 segment when the SYN or SYN,ACK had to be
 * retransmitted (RFC 5681 3.1, RFC 6928 2), and the restart window after
 * an idle period is min(IW, cwnd) (RFC 5681 4.1). */
enum tern_tcp_iw {
    TERN_TCP_IW_RFC6928 = 0,
    TERN_TCP_IW_RFC5681 = 1,
};

/* The amount sent on each ACK of a SACK loss recovery (tern_tcp_config prr):
 *   TERN_TCP_PRR_SSRB (0, the default, as Linux): RFC 6937 Proportional
 *     Rate Reduction with the slow-start reduction bound: pipe falls to
 *     ssthresh in proportion to the data delivered; when losses took pipe
 *     below ssthresh it climbs back by at most one SMSS more than each ACK
 *     delivered.
 *   TERN_TCP_PRR_CRB: PRR with the conservative bound: below ssthresh no
 *     more is sent than was delivered (strict packet conservation).
 *   TERN_TCP_PRR_OFF: RFC 6675 5 step C alone: send while cwnd - pipe is
 *     at least one SMSS (cwnd = ssthresh from the start of recovery).
 * Recovery without SACK (RFC 6582 NewReno) is the same in all three. */
enum tern_tcp_prr {
    TERN_TCP_PRR_SSRB = 0,
    TERN_TCP_PRR_CRB = 1,
    TERN_TCP_PRR_OFF = 2,
};

/* How a sender with SACK decides a segment is lost (issue 12).
 *   TERN_TCP_LOSS_RACK (0, the default): RACK-TLP, RFC 8985. A segment is
 *     lost once one sent later was delivered and a reordering window has
 *     passed (6), which also finds lost retransmissions and losses at the
 *     end of a flight; a loss probe after about two RTTs of silence (7)
 *     turns most tail losses into a fast recovery instead of a timeout.
 *     RFC 8985 recommends it over duplicate-ACK counting; Linux uses it
 *     by default. Recovery sends by PRR (tern_tcp_config prr).
 *   TERN_TCP_LOSS_RFC6675: RFC 6675's DupThresh rule (IsLost): three
 *     duplicate ACKs or three SACKed segments above a hole. Selectable for
 *     peers or tests that want the classic behaviour; PRR applies too.
 * Without SACK both fall back to RFC 5681 / RFC 6582 duplicate ACKs, and
 * no loss probe is sent. A config zeroed by code older than this choice
 * gets RACK. docs/rto-and-undo.md says more. */
enum tern_tcp_loss_detection {
    TERN_TCP_LOSS_RACK = 0,
    TERN_TCP_LOSS_RFC6675 = 1,
};

/* Explicit Congestion Notification (RFC 3168), tern_tcp_config.ecn.
 * PASSIVE (0, the default) agrees to ECN when the peer's SYN asks for it
 * and never asks itself, as Linux does by default (tcp_ecn = 2): a peer
 * that asks has chosen ECN for its path, while asking on every SYN from
 * a host risks the middleboxes that drop or mangle ECN-setup SYNs
 * (RFC 3168 6.1.1.1). ON also asks on the SYNs we send; OFF neither asks
 * nor agrees. */
enum tern_tcp_ecn {
    TERN_TCP_ECN_PASSIVE = 0,
    TERN_TCP_ECN_ON = 1,
    TERN_TCP_ECN_OFF = 2,
};

/* Per-stack TCP configuration, part of struct tern_config. tern_config_init()
 * fills in the defaults given here; zero is not a valid value for most. */
struct tern_tcp_config {
    unsigned max_connections;     /* TCBs, listeners and children included; default 64 */
    unsigned backlog;             /* default listen backlog when OPEN gives 0; default 8 */
    unsigned time_wait_max;       /* compact TIME-WAIT records */
    unsigned syn_cache_max;       /* embryonic connections (SYN cache) */
    uint32_t sndbuf;              /* largest send buffer of a connection; default 1 MiB (buffers
                                     take pool memory as they fill, docs/memory.md) */
    uint32_t rcvbuf;              /* largest receive buffer (window) of a connection; default
                                     1 MiB */
    int64_t msl_ns;               /* Maximum Segment Lifetime; default 120 s (RFC 9293 3.4.2) */
    unsigned syn_retries;         /* SYN retransmissions of an active OPEN (and SYN,ACK ones of
                                     a fully specified passive OPEN) before giving up; default 10 */
    unsigned synack_retries;      /* SYN,ACK retransmissions of an embryonic connection of a
                                     listener before its record is deleted; default 5 (about
                                     63 s with a 1 s initial RTO, as Linux); at most 15 */
    int64_t connect_timeout_ns;   /* connection-establishment timeout; default 180 s
                                     (RFC 9293 3.8.3 MUST-23: at least 3 minutes for SYN) */
    int64_t user_timeout_ns;      /* how long sent data may stay unacknowledged before the
                                     connection is aborted (RFC 9293 3.10.8, MUST-20 R2);
                                     default 300 s (SHLD-11: at least 100 s) */
    int64_t rto_initial_ns;       /* default 1 s (RFC 6298 2.1) */
    int64_t rto_max_ns;           /* backoff ceiling; default 60 s (RFC 6298 2.5) */
    uint32_t challenge_ack_limit; /* stack-wide ceiling on challenge ACKs (RFC 5961 7), per
                                     second on average: each second's budget is drawn anew,
                                     uniformly from [limit/2, limit/2 + limit]; 0: no
                                     stack-wide ceiling (each connection's budget, below,
                                     still holds); default 1000 */
    int64_t isn_tick_ns;          /* ISN clock period; default 4000 (4 us, RFC 9293 3.4.1) */
    uint16_t ephemeral_min;       /* ephemeral port range (RFC 6056 2.1); default 49152 */
    uint16_t ephemeral_max;       /* default 65535 */
    /* Data transfer (issue 4). For every field below, 0 means the default
     * named, so configs written before these fields existed keep working. */
    int64_t delack_ns;             /* delayed-ACK bound; 0: 40 ms; negative: ACK every
                                      segment at once (RFC 9293 3.8.6.3, MUST-40: < 500 ms) */
    int64_t rto_min_ns;            /* RTO lower bound; 0: 200 ms, a documented deviation
                                      from RFC 6298 2.4's SHOULD of 1 s along RFC 8961's
                                      guidance (docs/rto-and-undo.md); 1000000000 gives 2.4;
                                      at most 4 s (more is refused); rto_max_ns counts in
                                      whole milliseconds, rounded up */
    int64_t keepalive_idle_ns;     /* idle time before the first keep-alive; 0: 2 hours
                                      (RFC 9293 3.8.4 MUST-28: at least 2 hours by default) */
    int64_t keepalive_intvl_ns;    /* between unanswered probes; 0: 75 s */
    unsigned keepalive_count;      /* unanswered probes before the connection is dropped; 0: 9 */
    bool keepalive;                /* keep-alive on for new connections (MUST-25: off by default) */
    bool no_wscale;                /* do not offer window scaling (RFC 7323 2) */
    bool no_timestamps;            /* do not offer timestamps (RFC 7323 3) */
    bool no_sack;                  /* do not offer SACK (RFC 2018) */
    const char *cc;                /* congestion control: NULL or "newreno" (default), "cubic" */
    int64_t fin_wait_2_timeout_ns; /* a connection the user released (tern_tcp_release)
                                      that waits in FIN-WAIT-2 for the peer's FIN is reset
                                      after this; 0: 60 s; negative: wait for ever as RFC
                                      9293 3.6 allows */
    /* Replies to segments that are not acceptable (issue 10). An off-path
     * attacker who knows a 4-tuple can make a stack answer every segment it
     * forges; these limits bound the answers without a counter shared by
     * connections that an attacker could read (RFC 5961 7, erratum 4772).
     * Every reply held back is counted in stats.drops[] (TCP_*_LIMIT).
     * Here 0 turns a limit off; tern_config_init() sets the defaults named. */
    uint16_t conn_reply_limit;     /* ACKs one connection sends in answer to unacceptable
                                      segments (challenge ACKs, RFC 5961 3.2/4.2; corrective
                                      ACKs, RFC 9293 3.10.7.4 first, RFC 5961 5.2, RFC 7323
                                      5.3) per conn_reply_window_ns; default 1. Text or a FIN
                                      retransmitted below RCV.NXT is answered outside this
                                      budget (see src/tcp/input.c) */
    int64_t conn_reply_window_ns;  /* the window of conn_reply_limit; default 500 ms */
    uint32_t corrective_ack_limit; /* stack-wide ceiling on corrective ACKs, per second on
                                      average, randomised as challenge_ack_limit; default 1000 */
    uint32_t rst_limit;  /* stack-wide ceiling on RSTs answering segments for no connection
                            (RFC 9293 3.10.7.1) or an ACK to a listener (3.10.7.2), per
                            second on average, randomised as challenge_ack_limit; default
                            1000 */
    unsigned r1_retries; /* R1 of RFC 9293 3.8.3: retransmissions of the same segment after
                            which the user is told of a delivery problem
                            (TERN_TCP_EV_DELIVERY_PROBLEM, SHLD-9); 0: 3 (SHLD-10: at least
                            3); the connection goes on until R2 (user_timeout_ns) */
    /* The initial congestion window (issue 11): TERN_TCP_IW_RFC6928 (0,
     * the default: IW10) or TERN_TCP_IW_RFC5681, see enum tern_tcp_iw. */
    enum tern_tcp_iw initial_window;
    /* How much a SACK loss recovery sends per ACK (issue 12): see enum
     * tern_tcp_prr; 0 is PRR-SSRB. */
    enum tern_tcp_prr prr;
    /* Loss detection (issue 12): TERN_TCP_LOSS_RACK (0, the default) or
     * TERN_TCP_LOSS_RFC6675, see enum tern_tcp_loss_detection. */
    enum tern_tcp_loss_detection loss_detection;
    /* ECN (issue 12 item 5): TERN_TCP_ECN_PASSIVE (0, the default), ON or
     * OFF, see enum tern_tcp_ecn. */
    enum tern_tcp_ecn ecn;
};

/* Event bits. */
enum {
    TERN_TCP_EV_CONNECTED = 1u << 0,    /* reached ESTABLISHED (sticky) */
    TERN_TCP_EV_ACCEPT_READY = 1u << 1, /* a listener holds an established child */
    TERN_TCP_EV_READABLE = 1u << 2,     /* RECEIVE would not return TERN_ERR_AGAIN */
    TERN_TCP_EV_WRITABLE = 1u << 3,     /* SEND would queue at least one byte */
    TERN_TCP_EV_PEER_FIN = 1u << 4,     /* the peer closed its direction (sticky) */
    TERN_TCP_EV_CLOSED = 1u << 5,       /* the connection reached CLOSED (sticky) */
    TERN_TCP_EV_ERROR = 1u << 6,        /* closed by an error: see tern_tcp_error() */
    /* An ERROR_REPORT (RFC 9293 3.9.1.8): the oldest unacknowledged segment
     * was retransmitted R1 times (cfg.tcp.r1_retries; 3.8.3 SHLD-9), the
     * path may have failed; the connection keeps trying until R2. Set until
     * an ACK acknowledges new data. tern_tcp_set_reports() turns it off. */
    TERN_TCP_EV_DELIVERY_PROBLEM = 1u << 7,
    TERN_TCP_EV_URGENT = 1u << 8, /* urgent data remains to be read (RFC 9293 3.8.5
                                     "urgent mode": tern_tcp_urgent()); the callback
                                     gets it each time the peer's urgent pointer
                                     moves ahead (MUST-32) */
};

/* Event callback: `events` are the bits that just became true; `err` is the
 * connection's error (0 when none). */
typedef void (*tern_tcp_event_fn)(void *ctx, struct tern_stack *st, int id, unsigned events,
                                  int err);

/* Arguments of OPEN (RFC 9293 3.9.1.1). Zero means "unspecified / default"
 * for every field. Addresses are either family (tern/addr.h): IPv4 ones
 * built with tern_ip4(TERN_IPV4(...)). */
struct tern_tcp_open_args {
    bool passive;               /* LISTEN; else an active OPEN that sends a SYN */
    struct tern_ip local_addr;  /* :: or 0.0.0.0: chosen from the route (RFC 9293 MUST-44);
                                   passive: any local address (:: takes both families
                                   unless v6only, 0.0.0.0 IPv4 only) */
    uint16_t local_port;        /* 0: an ephemeral port (RFC 6056); required for passive */
    struct tern_ip remote_addr; /* passive: unspecified = any remote (wildcard) */
    uint16_t remote_port;       /* passive: 0 = any remote port */
    bool set_iss;               /* use `iss` as the initial send sequence number instead */
    uint32_t iss;               /*   of the RFC 6528 generator (tests, the RFC's figures) */
    int64_t user_timeout_ns;    /* 0: the stack default (MUST-21: settable per connection) */
    uint16_t mss;               /* MSS to announce, at most what the route's MTU allows
                                   (MUST-67), on active and passive opens alike; it caps
                                   the MSS we send with too (as Linux's TCP_MAXSEG).
                                   0: from the route's MTU */
    unsigned backlog;           /* passive: completed children held for accept; 0: default */
    tern_tcp_event_fn cb;       /* NULL: the stack callback */
    void *cb_ctx;
    bool nodelay;   /* Nagle off from the start (RFC 9293 3.7.4 MUST-17) */
    bool keepalive; /* keep-alive on (else the stack config decides) */
    const char *cc; /* congestion control; NULL: the stack config */
    uint8_t tos;    /* Differentiated Services field (IPv4 TOS, IPv6 traffic class) of what
                       the connection sends (RFC 9293 3.9.1.9, MUST-48); a listener passes
                       it on */
    bool v6only;    /* passive on ::: IPv6 segments only (IPV6_V6ONLY) */
};

/* OPEN. Returns the new connection's id (> 0) or an error: TERN_ERR_INVAL
 * (bad argument, remote address broadcast/multicast: MUST-46), TERN_ERR_NOROUTE
 * (active, no route), TERN_ERR_EXIST (the 4-tuple or the listening endpoint
 * is in use), TERN_ERR_NOBUFS (table full, no ephemeral port). An active
 * OPEN sends <SEQ=ISS><CTL=SYN> and returns in SYN-SENT. */
int tern_tcp_open(struct tern_stack *st, const struct tern_tcp_open_args *args, int64_t now_ns);

/* Takes an established child from the listener `id`: returns its id, or
 * TERN_ERR_AGAIN when none is ready, TERN_ERR_STATE if `id` is not listening. */
int tern_tcp_accept(struct tern_stack *st, int id, int64_t now_ns);

/* SEND (3.10.2): copies up to len bytes into the send buffer (borrows buf)
 * and sends what the peer's window allows. Returns the bytes queued (possibly
 * fewer than len; 0 when the buffer is full or the stack's buffer pool
 * is empty: TERN_TCP_EV_WRITABLE tells when to try again), or an error. In SYN-SENT and
 * SYN-RECEIVED data is queued until ESTABLISHED. */
int tern_tcp_send(struct tern_stack *st, int id, const void *buf, size_t len, int64_t now_ns);

/* SEND with the URGENT flag (3.10.2, 3.8.5): as tern_tcp_send(), and when
 * at least one byte was queued the send urgent pointer (SND.UP) moves to
 * just after the last byte queued: every segment sent while SND.UP lies
 * ahead of it carries URG and points there (the first non-urgent octet,
 * MUST-62), until the peer has acknowledged the urgent data. The urgent
 * data is everything up to SND.UP, of any length (MUST-31). New
 * applications should not use it (SHLD-13); it exists for old protocols
 * (telnet, FTP aborts) and for peers that send it. */
int tern_tcp_send_urgent(struct tern_stack *st, int id, const void *buf, size_t len,
                         int64_t now_ns);

/* RECEIVE (3.10.3): copies up to cap bytes of received text to buf. Returns
 * the count; TERN_ERR_AGAIN when no text is there yet; TERN_ERR_CLOSING
 * ("connection closing") once the peer's FIN and all text before it have
 * been read, i.e. end of stream; the connection's error after a reset.
 * In urgent mode a RECEIVE stops at the urgent mark: one call never returns
 * urgent and non-urgent text together (3.10.3), so the caller knows that
 * all urgent data was read when tern_tcp_urgent() says it is no longer
 * pending. */
int tern_tcp_recv(struct tern_stack *st, int id, void *buf, size_t cap, int64_t now_ns);

/* CLOSE (3.10.4): "I have no more data to send". Queued data is sent, then
 * a FIN. In LISTEN and SYN-SENT the connection is deleted at once. */
int tern_tcp_close(struct tern_stack *st, int id, int64_t now_ns);

/* ABORT (3.10.5): sends <SEQ=SND.NXT><CTL=RST> in the synchronized states
 * and SYN-RECEIVED, drops every queue, enters CLOSED. */
int tern_tcp_abort(struct tern_stack *st, int id, int64_t now_ns);

/* The user will RECEIVE no more (the socket layer's shutdown(SHUT_RD)).
 * Text already received stays readable. Once CLOSE was called too, text
 * that arrives is answered with a RST and the connection reset, as after
 * release (RFC 9293 3.6 SHLD-3: it would be lost unread; Linux does the
 * same); before CLOSE, text is still taken. */
int tern_tcp_shutdown_receive(struct tern_stack *st, int id, int64_t now_ns);

/* Gives the id back. A connection still closing (FIN-WAIT-*, CLOSING,
 * LAST-ACK, TIME-WAIT) finishes on its own and frees itself; one the user
 * neither closed nor aborted is aborted first. A listener's pending
 * children are aborted too. CLOSE then release is a full close (RFC 9293
 * 3.6 MAY-1): with received text left unread, or when text arrives
 * afterwards, the connection is reset (<CTL=RST>, SHLD-3) since that text
 * is lost; CLOSE alone is the half-close, and RECEIVE goes on. */
int tern_tcp_release(struct tern_stack *st, int id, int64_t now_ns);

/* STATUS (3.10.6). */
struct tern_tcp_status {
    enum tern_tcp_state state;
    struct tern_ip local_addr, remote_addr; /* remote unspecified on a wildcard listener */
    uint16_t local_port, remote_port;
    uint32_t snd_una, snd_nxt, snd_wnd, iss; /* RFC 9293 3.3.1 send variables */
    uint32_t rcv_nxt, rcv_wnd, irs;          /* receive variables */
    uint16_t snd_mss;                        /* effective send MSS (MUST-16) */
    uint32_t send_queued;                    /* bytes in the send buffer, not yet acked */
    uint32_t recv_queued;                    /* bytes waiting for RECEIVE */
    bool passive;                            /* LISTEN, or a child of one (MUST-11) */
    int error;            /* why it closed (0 if it did not, or closed normally) */
    int soft_error;       /* the last soft ICMP error recorded (RFC 9293 3.9.2.2), or 0 */
    unsigned retransmits; /* consecutive retransmissions of the oldest segment */
    /* Data transfer (issue 4), for a later TCP_INFO. */
    int64_t srtt_ns;                /* smoothed RTT (RFC 6298), 0 before the first sample */
    int64_t rttvar_ns;              /* RTT variation */
    int64_t rto_ns;                 /* current retransmission timeout */
    uint32_t cwnd, ssthresh;        /* congestion window and slow-start threshold, bytes */
    uint64_t total_retransmits;     /* segments this connection sent again (RTO and fast) */
    uint8_t snd_wscale, rcv_wscale; /* window shifts in use (RFC 7323), 0 when not */
    bool ts_ok, sack_ok;            /* timestamps / SACK negotiated */
    bool nodelay;                   /* Nagle off */
};
int tern_tcp_status(const struct tern_stack *st, int id, struct tern_tcp_status *out);

/* Zero-copy RECEIVE: points at the first received text in place, in at
 * most two pieces (the receive buffer is made of 2 KiB pool chunks): p1, n1
 * then p2, n2 (n2 may be 0). Returns n1 + n2, which may be less than the
 * text waiting (tern_tcp_status recv_queued): consume and peek again.
 * When there is none, returns what tern_tcp_recv() would (TERN_ERR_AGAIN,
 * TERN_ERR_CLOSING...). The pointers stay valid until
 * the next call into the stack for this connection other than
 * tern_tcp_recv_consume(). */
int tern_tcp_recv_peek(struct tern_stack *st, int id, const uint8_t **p1, size_t *n1,
                       const uint8_t **p2, size_t *n2);

/* Urgent data (RFC 9293 3.8.5, MUST-33): whether urgent data remains to be
 * read and how much. The peer's urgent pointer (RCV.UP) marks the first
 * octet after its urgent data; everything before it is urgent. */
struct tern_tcp_urgent {
    bool pending;    /* urgent mode: RCV.UP lies ahead of the next octet to read */
    uint32_t mark;   /* octets from the next one to read up to RCV.UP, received or not:
                        the urgent data still to be read; 0 when not pending */
    uint32_t queued; /* how many of those are already in the receive buffer */
};
int tern_tcp_urgent(const struct tern_stack *st, int id, struct tern_tcp_urgent *out);

/* Copies up to len bytes of received text starting `off` bytes after the
 * first unread one, without consuming them (MSG_PEEK). Returns the count: 0
 * when nothing lies at off or after; TERN_ERR_NOTCONN, TERN_ERR_INVAL. */
int tern_tcp_peek(struct tern_stack *st, int id, size_t off, void *buf, size_t len);

/* Releases the first n bytes shown by tern_tcp_recv_peek() (opening the
 * receive window as RECEIVE does). Returns n, or an error. */
int tern_tcp_recv_consume(struct tern_stack *st, int id, size_t n, int64_t now_ns);

/* Per-connection switches: Nagle off (like TCP_NODELAY, RFC 9293 3.7.4
 * MUST-17) and keep-alive on (RFC 9293 3.8.4, MUST-24). */
int tern_tcp_set_nodelay(struct tern_stack *st, int id, bool on, int64_t now_ns);
int tern_tcp_set_keepalive(struct tern_stack *st, int id, bool on, int64_t now_ns);

/* ERROR_REPORTs (RFC 9293 3.9.1.8: TERN_TCP_EV_DELIVERY_PROBLEM) of one
 * connection on or off; on by default. Off, the bit is neither given to
 * the callback nor shown by tern_tcp_events() (SHLD-20). */
int tern_tcp_set_reports(struct tern_stack *st, int id, bool on);

/* Changes the Differentiated Services field (the IPv4 TOS byte) of the
 * segments the connection sends from now on (RFC 9293 3.9.1.9, SHLD-21). */
int tern_tcp_set_tos(struct tern_stack *st, int id, uint8_t tos);

/* Keep-alive timing of one connection (idle time before the first probe,
 * time between probes, unanswered probes before the connection is dropped);
 * 0 for a field means the stack's configuration. A listener passes its
 * values to the connections it accepts. */
int tern_tcp_set_keepalive_params(struct tern_stack *st, int id, int64_t idle_ns, int64_t intvl_ns,
                                  unsigned count, int64_t now_ns);

/* How this stack's connections use local port `port` on `addr` (:: or
 * 0.0.0.0: any address; v6only: the asker is an IPv6-only ::, which leaves
 * IPv4 to others): 0 when free, else TERN_TCP_PORT_LISTEN if a listener holds it
 * and/or TERN_TCP_PORT_CONN if a connection not yet CLOSED does (TIME-WAIT
 * and connections the user released included). For a socket layer's bind. */
enum { TERN_TCP_PORT_LISTEN = 1u << 0, TERN_TCP_PORT_CONN = 1u << 1 };
unsigned tern_tcp_port_use(const struct tern_stack *st, struct tern_ip addr, uint16_t port,
                           bool v6only);

/* Current TERN_TCP_EV_* bits of a connection; 0 for an unknown id. */
unsigned tern_tcp_events(const struct tern_stack *st, int id);

/* The error that closed the connection (TERN_ERR_REFUSED...), 0 if none,
 * TERN_ERR_NOTCONN for an unknown id. */
int tern_tcp_error(const struct tern_stack *st, int id);

/* Sets the ISS the connection uses for its next SYN (an active OPEN from
 * LISTEN, or, on a listener, every SYN,ACK it answers from now on), as
 * tern_tcp_open_args.set_iss does at OPEN: scenarios use it to replay the
 * RFC's figures with their own numbers. */
int tern_tcp_set_iss(struct tern_stack *st, int id, uint32_t iss);

/* Sets the callback of one connection, or (id 0) the stack's callback, used
 * by connections that have none of their own. */
int tern_tcp_set_callback(struct tern_stack *st, int id, tern_tcp_event_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
