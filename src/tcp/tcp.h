/*
 * src/tcp/tcp.h: TCP inside the stack: the transmission control block
 * (TCB), the connection table, and what the files of src/tcp/ share.
 * Never installed.
 *
 * Read first: RFC 9293 3.3 (state variables, states), 3.4 (sequence
 * numbers, ISN), 3.5-3.6 (opening, resets, closing), 3.10 (event
 * processing); RFC 5961 (blind attacks); RFC 6528 (ISN); RFC 6056 (ports).
 *
 * Files:
 *   table.c   the TCB table, 4-tuple demultiplexing, ephemeral ports, ISN
 *   input.c   SEGMENT ARRIVES (3.10.7), one function per RFC check
 *   output.c  building and sending segments, RST and challenge ACKs
 *   timer.c   retransmission, user / connection timeout, TIME-WAIT (3.10.8)
 *   api.c     the user calls (3.10.1-3.10.6) and event delivery
 *   state.c   tcp_set_state(), the one writer of tcb->state, and traces
 *   mini.c    compact records: TIME-WAIT, the SYN cache, SYN cookies
 *   rtt.h, cc.h, sack.h  pure algorithms (RFC 6298; RFC 5681/6582/9438;
 *             RFC 6675/2018) that input.c, output.c and timer.c call
 *
 * Data path (issue 4): the send ring from SND.UNA is the retransmission
 * queue; the receive ring holds in-order text and, beyond it at their
 * offsets, text that arrived out of order (tcb->ooo ranges, which are also
 * the SACK blocks we send). Delayed ACK, persist and keep-alive timers are
 * described in timer.c.
 *
 * Memory: tcp_init() allocates the TCB array, the hash buckets and every
 * connection's send and receive ring from st->cfg.tcp; nothing else in
 * src/tcp/ allocates.
 */
#ifndef TERN_TCP_TCP_H
#define TERN_TCP_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/timer.h"
#include "tcp/cc.h"
#include "tcp/prr.h"
#include "tcp/rack.h"
#include "tcp/rtt.h"
#include "tcp/sack.h"
#include "tern/stats.h"
#include "tern/tcp.h"
#include "tern/trace.h"
#include "wire/tcp.h"

struct tern_stack;
struct rng;
struct ip_rx;
struct ip_icmp_err;

/* RFC 9293 3.7.1 (MUST-15): the send MSS when the peer sent no MSS option,
 * IPv4 and IPv6. */
#define TCP_DEFAULT_MSS  536u
#define TCP_DEFAULT_MSS6 1220u

/* RFC 6056 3.3.3: size of the table of increments of the double-hash
 * ephemeral port algorithm. */
#define TCP_EPH_TABLE 16

/* RFC 9293 3.10.7.4 seventh (SHLD-31): out-of-order text is kept in the
 * receive ring at its offset from RCV.NXT; these ranges say which parts of
 * the ring beyond the in-order text hold such text. Up to TCP_OOO_MAX
 * they are in the TCB; more (up to TCP_OOO_EXT_MAX) are in a pool chunk
 * (buf.c tcp_ooo_grow), and they come back once they fit. */
#define TCP_OOO_MAX     4
#define TCP_OOO_EXT_MAX 255 /* n_ooo is a uint8_t; 255 * 8 bytes fit a 2 KiB chunk */

/* How long an orphaned FIN-WAIT-2 connection waits for the peer's FIN
 * when the config gives 0 (Linux's tcp_fin_timeout default). */
#define TCP_FIN_WAIT_2_DEFAULT_NS (60LL * 1000000000LL)

/* Delayed ACK bound when the config gives 0 (RFC 5681 4.2: < 500 ms). */
#define TCP_DELACK_DEFAULT_NS 40000000LL

/* Connections that may owe an ACK at the end of one input batch. */
#define TCP_ACK_OWED_MAX 32

/* RFC 5681 4.2 lets a receiver ACK more often than every second segment;
 * at the start of a connection and after an idle period tern acknowledges
 * at once, like Linux: min(window / (2 * MSS), 16) segments, at least 2. */
#define TCP_QUICKACK_MAX 16u

/* RFC 7323 2.3: the largest window shift. */
#define TCP_MAX_WSCALE 14

/* RFC 5681 3.2: duplicate ACKs that trigger a fast retransmit. */
#define TCP_DUPACK_THRESH 3

struct tcp_range {
    uint32_t start, end; /* sequence numbers, end exclusive */
};

/* A connection's send buffer starts at this size (or the configured
 * maximum if smaller), its receive buffer at most at this size; both grow
 * with what the connection moves (buf.c). */
#define TCP_BUF_INITIAL (64u * 1024u)

/* Why a TCB sits in the table. */
enum tcp_role {
    TCP_ROLE_FREE,    /* slot unused */
    TCP_ROLE_USER,    /* opened by the user, or a child the user accepted */
    TCP_ROLE_CHILD,   /* created by a listener, not yet accepted */
    TCP_ROLE_SCRATCH, /* st->tcp->scratch: a compact record loaded to run through input.c
                         (mini.c); never in the table, never handed to the user, no
                         buffers; its timers are deadlines only (tcp_tmr_set) */
};

/* The timeouts of a connection (timer.c). One wheel timer per TCB serves
 * them all: each kind keeps a deadline, and the wheel timer is armed at (or
 * before) the earliest one. */
enum tcp_tmr {
    TCP_TMR_RTX,     /* retransmission (RFC 6298) */
    TCP_TMR_PERSIST, /* zero-window probe / SWS override (3.8.6.1) */
    TCP_TMR_USER,    /* user timeout, connection-establishment timeout, orphan timeout */
    TCP_TMR_DELACK,  /* delayed ACK (3.8.6.3) */
    TCP_TMR_KEEP,    /* keep-alive (3.8.4) */
    TCP_TMR_TW,      /* TIME-WAIT 2 MSL */
    TCP_TMR_COUNT,
    /* RACK's reordering timer (RFC 8985 6.3): its deadline lives in the
     * sender block (tcp_sender.rack_at), not in tcb->tmr[], so an idle
     * connection pays nothing for it; only tcp_tmr_set / tcp_tmr_clear
     * take it (not tcp_tmr_armed / tcp_tmr_when). */
    TCP_TMR_RACK = TCP_TMR_COUNT,
    /* The loss probe timeout (RFC 8985 7.2), kept likewise (pto_at). */
    TCP_TMR_PTO,
    /* The end of the wait for a D-SACK after the flight of a loss episode
     * was all acknowledged (undo_at; docs/rto-and-undo.md): the sender
     * block, kept for the undo, goes back to the pool. */
    TCP_TMR_UNDO,
};

/* What only a connection with text queued or in flight needs (issue 10
 * item 3): congestion control, the SACK scoreboard, loss recovery, the
 * timed segment. A block of the pool (buf.c tcp_sender_get), taken when
 * the connection has text to send and given back once everything is
 * acknowledged and no recovery is running: an idle connection holds none,
 * and keeps only cwnd and ssthresh (tcb->cwnd, tcb->ssthresh). One
 * exception, bounded: an undo still waiting for its D-SACKs keeps the block
 * for at most one RTO after the full acknowledgement (TCP_TMR_UNDO). */
struct tcp_sender {
    struct tcp_cc cc;      /* cwnd, ssthresh and the algorithm's state (cc.h) */
    struct tcp_sack_sb sb; /* RFC 6675 scoreboard (sack.h) */
    struct tcp_prr prr;    /* RFC 6937 state during a SACK recovery (prr.h) */
    struct tcp_rack rack;  /* RACK transmission records (rack.h), when in use */
    int64_t rack_at;       /* TCP_TMR_RACK's deadline, INT64_MAX when not armed */
    int64_t pto_at;        /* TCP_TMR_PTO's deadline, INT64_MAX when not armed */
    uint32_t tlp_end_seq;  /* RFC 8985 7: TLP.end_seq, valid while tlp_active */
    bool tlp_active;       /* a loss probe is unacknowledged (TLP.end_seq not None) */
    bool tlp_is_retrans;   /* TLP.is_retrans */
    bool tlp_sampled;      /* an RTT sample came since the last probe (7.3 condition 2) */
    bool tlp_in_recovery;  /* the probe out went during fast recovery (output.c tcp_tlp_arm) */
    uint32_t recover;      /* RFC 6582 "recover": SND.NXT when recovery began */
    uint32_t high_rxt;     /* RFC 6675 HighRxt, exclusive */
    uint32_t rescue_rxt;   /* RFC 6675 RescueRxt */
    uint32_t rtx_nxt;      /* next byte to resend while rtx_active */
    uint32_t lt_bytes;     /* sent by limited transmit since the last new ACK (RFC 3042) */
    unsigned dupacks;      /* consecutive duplicate ACKs (RFC 5681 2) */
    uint32_t rtt_seq;      /* the timed segment (Karn, MUST-18) when no timestamps */
    int64_t rtt_start_ns;
    uint32_t ts_mark; /* a loss event happened at TS clock ts_mark */
    bool ts_mark_set;
    bool in_recovery; /* fast recovery (RFC 6582) or SACK recovery (RFC 6675) */
    bool rtx_active;  /* after an RTO: resending [SND.UNA, SND.NXT) (RFC 5681 3.1) */
    bool rescue_valid;
    bool rtt_timing;
    /* D-SACK (RFC 2883) and undo (RFC 3708 detection, RFC 4015 response).
     * dsacks_seen counts D-SACK blocks the peer sent on this connection: a
     * hook for whoever adapts to reordering (RFC 8985 7.2 reo_wnd). A loss
     * episode (fast retransmit or RTO) saves cwnd and ssthresh and counts
     * the segments it resends; each D-SACK of one of them takes one off;
     * at zero every retransmission was needless and the saved values come
     * back. */
    bool undo_valid;
    uint16_t undo_retrans;  /* resent in the episode and not yet D-SACKed */
    uint32_t dsacks_seen;   /* D-SACK blocks received (RFC 2883 4) */
    uint32_t undo_cwnd;     /* cwnd before the episode */
    uint32_t undo_ssthresh; /* ssthresh before the episode */
    uint32_t undo_start;    /* SND.UNA when the episode began */
    uint32_t undo_end;      /* end of the highest text the episode resent */
    /* TCP_TMR_UNDO's deadline, INT64_MAX when not armed: everything is
     * acknowledged but an undo is still possible, so tcp_sender_idle keeps
     * the block until the D-SACKs come or one RTO has passed. */
    int64_t undo_at;
    /* RFC 3522 (Eifel detection, timestamps on): the TSval of the first
     * retransmission a timeout sent, while eifel_armed. */
    uint32_t eifel_ts;
    bool eifel_armed;
    bool ecn_reduced;  /* RFC 3168 6.1.2: cwnd was reduced for ECE; ecn_high holds */
    uint32_t ecn_high; /* SND.NXT at that reduction: one reduction per window */
};

struct tcp_tcb {
    /* Laid out by size (memory is a feature: issue 10 item 3 wants at most
     * 512 bytes per idle connection, table included): 8-byte members, then
     * 4, 2, 1 and the flags. */

    /* Timers (3.10.8): one wheel timer, a deadline per kind (INT64_MAX:
     * not armed). Written only through tcp_tmr_set / tcp_tmr_clear. */
    struct timer timer;
    int64_t tmr[TCP_TMR_COUNT];
    struct tcp_rtt rtt;      /* RTT estimator and RTO (RFC 6298, rtt.h) */
    struct tcp_sender *sx;   /* sender state while text is queued or in flight, else NULL */
    int64_t user_timeout_ns; /* R2 of 3.8.3, settable per connection (MUST-21) */
    int64_t opened_ns;       /* when the OPEN (or the SYN creating a child) happened */
    int64_t persist_backoff_ns;
    int64_t last_rx_ns;
    tern_tcp_event_fn cb;
    void *cb_ctx;

    /* Buffers (buf.c), pool chains addressed by sequence number: snd holds
     * unacknowledged and unsent text from snd.start; rcv holds text not yet
     * read (rcv.start .. RCV.NXT) and out-of-order text beyond it. */
    struct pool_chain snd, rcv;
    /* RFC 9293 3.10.7.4 seventh (SHLD-31): ranges of text held out of
     * order beyond RCV.NXT, most recent first (also our SACK blocks): in
     * the TCB while n_ooo <= TCP_OOO_MAX, else in the pool chunk
     * ooo_chunk. Read them through tcp_ooo(); n_ooo changes through
     * tcp_ooo_resize() (or tcp_ooo_grow()). */
    union {
        struct tcp_range ooo[TCP_OOO_MAX];
        uint32_t ooo_chunk;
    };
    /* RFC 2883: a duplicate segment to report as the first SACK block of
     * the next ACK (valid while dsack_pending). */
    struct tcp_range dsack;

    int id;        /* slot index + 1 */
    int hash_next; /* next slot index in the bucket chain, -1 at the end */
    /* The connection's sockets. A listener leaves the remote (and may leave
     * the local address) unspecified, in its family's form (0.0.0.0 or ::):
     * a wildcard (table.c). */
    struct tern_ip local_addr, remote_addr;
    enum tern_tcp_state state; /* written only by tcp_set_state() */

    /* RFC 9293 3.3.1, Figure 2: send sequence variables. */
    uint32_t snd_una;     /* send unacknowledged */
    uint32_t snd_nxt;     /* send next */
    uint32_t snd_wnd;     /* send window (offset from SND.UNA) */
    uint32_t snd_up;      /* send urgent pointer (meaningful while urg_snd) */
    uint32_t snd_wl1;     /* segment sequence number used for last window update */
    uint32_t snd_wl2;     /* segment acknowledgment number used for last window update */
    uint32_t iss;         /* initial send sequence number */
    uint32_t max_snd_wnd; /* RFC 5961 5.2 MAX.SND.WND: largest window the peer offered */
    /* RFC 9293 3.3.1, Figure 3: receive sequence variables. */
    uint32_t rcv_nxt; /* receive next */
    uint32_t rcv_wnd; /* receive window: what we announced, RCV.ADV - RCV.NXT */
    uint32_t rcv_up;  /* receive urgent pointer: never behind rcv.start (buf.c); ahead of it
                         while urgent data remains to be read (RFC 9293 3.8.5) */
    uint32_t irs;     /* initial receive sequence number */
    uint32_t rcv_adv; /* right edge of the window last announced (RCV.NXT + RCV.WND) */
    uint32_t fin_seq; /* sequence number of our FIN, once sent */
    uint32_t ooo_fin_seq;
    uint32_t ts_recent;      /* TS.Recent (RFC 7323 4.3) */
    uint32_t last_ack_sent;  /* Last.ACK.sent */
    uint32_t cwnd, ssthresh; /* congestion window and threshold while sx is NULL */
    uint32_t rcv_cap;        /* current receive buffer size (grows, <= cfg rcvbuf) */
    uint32_t rcv_reserved;   /* pool chunks promised to the announced window, not yet taken */
    uint32_t rcv_mark_seq;   /* buffer growth: RCV.NXT at the start of the RTT measured */
    uint32_t rcv_mark_ms;    /* and when it started (tcp_ts_now clock) */
    uint32_t user_iss;       /* set_iss: the ISS of the next SYN */
    uint32_t keep_idle_ms;   /* per-connection keep-alive timing; 0: the stack's */
    uint32_t keep_intvl_ms;
    /* RFC 9293 3.9.1.2 (MUST-61): where the latest SEND ended. A segment
     * whose text reaches past this point carries PSH, first sent or resent
     * (writes queued before it went out are coalesced into it, as Linux does). */
    uint32_t snd_psh;
    /* RFC 5961 7 with erratum 4772: this connection's own budget of ACKs
     * answering unacceptable segments (cfg.tcp.conn_reply_limit per
     * conn_reply_window_ns), so that no connection spends another's. */
    uint32_t reply_win_ms; /* start of the current window, tcp_ts_now() clock */
    uint32_t total_rtx;    /* retransmissions over the connection's life */
    /* Listeners, children, events, memory waits: slot indexes, -1 for none. */
    int listener;                 /* children: the listener's slot index */
    unsigned backlog;             /* listeners: completed children allowed */
    unsigned n_pending;           /* listeners: completed children not yet accepted */
    int accept_next;              /* accept queue link */
    int accept_head, accept_tail; /* listeners: queue of established children */
    int tw_parked; /* a child born on a TIME-WAIT record (RFC 6191): the parked record's
                      index until ESTABLISHED ends it */
    int tw_rec;    /* a husk (a user-held connection in TIME-WAIT whose protocol state
                      lives in a record, mini.c): the record's index */
    int ev_next;
    int mem_next;

    uint16_t local_port, remote_port;
    uint16_t snd_mss;     /* effective send MSS (MUST-16) */
    uint16_t rcv_mss;     /* the MSS we announce */
    uint16_t reply_count; /* replies sent in the reply window */
    uint16_t ev_pending;  /* TERN_TCP_EV_* bits not yet given to the callback */

    uint8_t role;         /* enum tcp_role */
    uint8_t retries;      /* consecutive retransmissions of the oldest segment */
    uint8_t n_ooo;        /* out-of-order ranges held (tcp_ooo) */
    uint8_t unacked_segs; /* in-order segments received and not yet acknowledged */
    uint8_t quick_acks;   /* quick-ACK phase: text segments still acknowledged at once */
    uint8_t snd_wscale;   /* shift applied to SEG.WND we receive (RFC 7323) */
    uint8_t rcv_wscale;   /* shift applied to the windows we announce */
    uint8_t tos;          /* Differentiated Services field of what we send (MUST-48) */
    uint8_t keep_count;   /* unanswered keep-alive probes allowed; 0: the stack's */
    uint8_t keep_probes;  /* unanswered keep-alive probes sent */
    int8_t error;         /* why the connection closed (enum tern_err) */
    int8_t soft_error;    /* last soft ICMP error (RFC 9293 3.9.2.2) */

    bool user_released : 1;     /* the user gave the id back; free at CLOSED */
    bool rcv_shut : 1;          /* the user reads no more (tern_tcp_shutdown_receive) */
    bool in_hash : 1;           /* in the 4-tuple hash */
    bool passive_open : 1;      /* MUST-11: SYN-RECEIVED reached from LISTEN */
    bool set_iss : 1;           /* user-chosen ISS for the next SYN */
    bool queued_for_accept : 1; /* a child on its listener's accept queue */
    bool local_wild : 1;        /* a fully specified passive OPEN with any local address */
    bool v6only : 1;            /* a listener on :: that takes IPv6 segments only */
    bool fin_queued : 1;        /* CLOSE called: send FIN after the queued data */
    bool fin_sent : 1;
    bool fin_rcvd : 1;      /* the peer's FIN was processed */
    bool ooo_fin : 1;       /* a FIN arrived out of order at ooo_fin_seq */
    bool mem_listed : 1;    /* waiting for pool memory (st->tcp->mem_head list) */
    bool snd_wait : 1;      /* listed: SEND or the sender block found no memory */
    bool rcv_wait : 1;      /* listed: a window announced smaller for want of memory */
    bool ws_ok : 1;         /* window scaling in use (RFC 7323 2) */
    bool ts_ok : 1;         /* timestamps in use (RFC 7323 3) */
    bool sack_ok : 1;       /* SACK in use (RFC 2018) */
    bool dsack_pending : 1; /* dsack holds a duplicate not yet reported (RFC 2883) */
    bool nodelay : 1;       /* Nagle off (MUST-17) */
    bool keepalive : 1;     /* keep-alive on (MUST-24) */
    bool use_cubic : 1;     /* which congestion controller */
    bool cc_ready : 1;      /* congestion control started (at ESTABLISHED) */
    bool reply_win_set : 1; /* a reply window has begun */
    bool connected : 1;     /* reached ESTABLISHED once */
    bool ev_listed : 1;     /* on the event delivery list */
    bool ack_owed : 1;      /* an ACK is due at the end of the input batch (st->tcp->ack_owed) */
    bool text_rcvd : 1;     /* text has arrived (the quick-ACK phase has begun) */
    bool no_reports : 1;    /* ERROR_REPORTs off (tern_tcp_set_reports, SHLD-20) */
    bool urg_snd : 1;       /* SND.UP lies ahead of SND.UNA: segments carry URG (3.10.2) */
    /* RFC 3168 (issue 12 item 5). Before ESTABLISHED on an active open,
     * ecn_ok means "our SYN asks for ECN"; after the handshake, "ECN in use". */
    bool ecn_ok : 1;
    bool ecn_ece : 1; /* receiver: a CE mark arrived, ECE on every ACK until CWR (6.1.3) */
    bool ecn_cwr : 1; /* sender: cwnd reduced, CWR on the next new data segment (6.1.2) */
};

/* The most text one segment carries: the effective send MSS less the
 * options every segment repeats (RFC 6691 2, RFC 9293 3.7.1: the MSS
 * counts no options; timestamps take 12 bytes, RFC 7323 3.2). */
static inline uint32_t
tcp_smss(const struct tcp_tcb *tcb)
{
    uint32_t opt = tcb->ts_ok ? 12u : 0u;
    return tcb->snd_mss > opt + 1u ? tcb->snd_mss - opt : 1u;
}

/* RFC 9293 3.9.1.2 (MUST-61): PSH on the segment [seq, seq + n) when it
 * carries the last octet of the latest SEND (tcb->snd_psh); a resent
 * segment gets it the same way, so only where the original had it. */
static inline bool
tcp_psh_at(const struct tcp_tcb *tcb, uint32_t seq, uint32_t n)
{
    uint32_t off = tcb->snd_psh - seq; /* 1..n: the mark lies in (seq, seq + n] */
    return n > 0 && off >= 1 && off <= n;
}

/* The most text one segment from the peer carries: the MSS we announced
 * less the options every segment repeats (RFC 9293 3.8.6.2.2 sizes the
 * receiver's window steps by it: a step of the bare MSS would need a
 * window more than the peer ever fills, RFC 6691 2). */
static inline uint32_t
tcp_rmss(const struct tcp_tcb *tcb)
{
    uint32_t opt = tcb->ts_ok ? 12u : 0u;
    return tcb->rcv_mss > opt + 1u ? tcb->rcv_mss - opt : 1u;
}

/* ---- compact records (mini.c) ----
 *
 * A connection in TIME-WAIT, and a half-open one created by a SYN on a
 * listener whose remote is a wildcard ("embryonic", SYN-RECEIVED), needs
 * a few numbers, not a TCB: their state lives in these 72-byte records,
 * in a table sized once from cfg.tcp.time_wait_max and syn_cache_max.
 * A segment for a record is processed by loading the record into the
 * stack's scratch TCB and running the ordinary 3.10.7.4 code of input.c;
 * the result is stored back (tcp_mini_settle). */
enum tcp_mini_kind { TCP_MINI_FREE, TCP_MINI_TW, TCP_MINI_SYN };

/* Flags of struct tcp_mini. */
enum {
    TCP_MINI_TS = 1,      /* timestamps in use (TS.Recent valid) */
    TCP_MINI_WS = 2,      /* window scaling in use */
    TCP_MINI_SACK = 4,    /* SACK permitted */
    TCP_MINI_IN_HASH = 8, /* reachable by demux (a parked TIME-WAIT record is not) */
    TCP_MINI_LIST = 16,   /* on an expiry list */
    TCP_MINI_REPLY = 32,  /* a reply window has begun (reply_win_ms valid) */
    TCP_MINI_ECN = 64,    /* SYN cache: ECN agreed (RFC 3168 6.1.1) */
};

struct tcp_mini {
    int64_t expires_ns; /* TIME-WAIT: end of 2 MSL; SYN cache: next SYN,ACK retransmission */
    struct tern_ip local_addr, remote_addr;
    uint16_t local_port, remote_port;
    uint32_t snd_nxt;      /* SND.NXT (SYN cache: ISS + 1) */
    uint32_t rcv_nxt;      /* RCV.NXT (SYN cache: IRS + 1) */
    uint32_t ts_recent;    /* TS.Recent (RFC 7323 4.3) */
    uint32_t wnd;          /* TIME-WAIT: MAX.SND.WND (RFC 5961 5.2); SYN cache: the window our
                              SYN,ACK announced << 16 | the peer's MSS option (0: none) */
    int32_t hash_next;     /* bucket chain, -1 at the end */
    int32_t prev, next;    /* expiry list (free list: next) */
    int32_t owner;         /* TIME-WAIT: the husk's slot, -1 when released; SYN cache: the
                              listener's slot */
    int32_t link;          /* RFC 6191 reopening: TIME-WAIT: the embryonic record that took its
                              SYN; SYN cache: the parked TIME-WAIT record; else -1 */
    uint8_t kind;          /* enum tcp_mini_kind */
    uint8_t flags;         /* TCP_MINI_* */
    uint8_t wscale;        /* snd_wscale << 4 | rcv_wscale */
    uint8_t retries;       /* SYN cache: SYN,ACK retransmissions so far */
    uint8_t tos;           /* Differentiated Services field of what we send */
    uint8_t reply_count;   /* the connection's own reply budget (RFC 5961 7, output.c): */
    uint32_t reply_win_ms; /* replies sent in the window that began at reply_win_ms */
};

/* Expiry lists: TIME-WAIT records, then one list per SYN,ACK retransmission
 * count (the interval doubles with the count, so each list's records, armed
 * with one interval each, expire in arming order). */
#define TCP_SYNACK_RETRIES_MAX 15
#define TCP_MINI_LISTS         (2 + TCP_SYNACK_RETRIES_MAX)

struct tcp_mini_list {
    int32_t head, tail;
};

/* Domain bytes of the stack's keyed hash (table.c, mini.c): different uses
 * of the one key never share an input. */
enum {
    TCP_HASH_DEMUX = 1,
    TCP_HASH_ISN = 2,
    TCP_HASH_EPH_OFFSET = 3,
    TCP_HASH_EPH_INDEX = 4,
    /* 5 was the compact records' table hash: they share TCP_HASH_DEMUX's now. */
    TCP_HASH_COOKIE = 6,
};

/* A stack-wide rate limit: at most `budget` replies in the one-second
 * period that began at start_ns; each period draws its budget anew from
 * the stack's PRNG (tcp_ratelimit_budget), so that a count of replies seen
 * by one party says little about the replies sent to others. */
struct tcp_ratelimit {
    int64_t start_ns;
    uint32_t budget;
    uint32_t used;
    bool started; /* a period has begun */
};

/* The shapes of keys in the connection hash (table.c key_shape). */
enum tcp_key_shape {
    TCP_KEY_FULL,        /* both ends given: a connection */
    TCP_KEY_ANY_LOCAL,   /* remote given, any local address: a passive OPEN */
    TCP_KEY_LISTEN_ADDR, /* a listener on one local address */
    TCP_KEY_LISTEN_ANY,  /* a listener on every local address */
    TCP_KEY_SHAPES
};

/* Everything TCP owns; the composition root places it next to the core
 * context (st->tcp). */
struct tcp_state {
    struct tcp_tcb *tcbs; /* cfg.tcp.max_connections slots */
    unsigned n_tcbs;
    int *buckets;       /* hash heads (slot index, -1 empty) */
    unsigned n_buckets; /* a power of two */
    uint8_t *tx_buf;    /* one outgoing segment: header, options, text */
    size_t tx_buf_len;
    unsigned n_keys[TCP_KEY_SHAPES];   /* hashed keys of each shape */
    unsigned n_used;                   /* TCBs allocated */
    uint32_t rcv_share;                /* a connection's share of half the pool, chunks (buf.c) */
    uint32_t snd_chunks;               /* pool chunks held by send buffers (buf.c) */
    uint32_t rcv_first;                /* a new connection's receive buffer size (buf.c) */
    int mem_head;                      /* connections waiting for pool memory (buf.c) */
    struct timer mem_timer;            /* tells them, once memory came back */
    int free_head;                     /* free slots, chained through hash_next */
    uint16_t eph_table[TCP_EPH_TABLE]; /* RFC 6056 algorithm 3: per-bucket increments */
    int ev_head, ev_tail;              /* TCBs with events to deliver */
    /* Input batches (RFC 1122 4.2.3.2, MUST-58/59): while batch_depth > 0
     * the ACKs that input owes are collected here (slot indexes) and sent
     * once, at tern_stack_batch_end(); a full list sends at once. */
    unsigned batch_depth;
    unsigned n_ack_owed;
    int ack_owed[TCP_ACK_OWED_MAX];
    bool delivering;
    tern_tcp_event_fn cb; /* stack-wide callback */
    void *cb_ctx;
    /* RFC 5961 7: stack-wide ceilings on replies to unacceptable segments
     * (tcp_send_challenge_ack, tcp_send_corrective_ack,
     * tcp_send_reset_limited). */
    struct tcp_ratelimit rl_challenge, rl_ack, rl_rst;
    /* Compact records (mini.c). */
    struct tcp_mini *minis; /* n_tw TIME-WAIT records, then the SYN cache */
    unsigned n_minis, n_tw;
    int32_t *mini_buckets;
    unsigned n_mini_buckets;
    int32_t mini_free[2]; /* free lists: TIME-WAIT, SYN cache */
    unsigned mini_used[2];
    struct tcp_mini_list mini_lists[TCP_MINI_LISTS];
    struct timer mini_timer; /* one wheel timer: the earliest list head */
    struct tcp_tcb scratch;  /* a record being processed (TCP_ROLE_SCRATCH) */
    int scratch_rec;         /* the record loaded in scratch, -1 (a cookie) */
    /* SYN cookies (RFC 4987 3.6). */
    bool cookies_used;
    int64_t cookie_last_ns; /* when the last cookie was sent */
    bool ts_override;       /* the next segment's TSval is ts_override_val */
    uint32_t ts_override_val;
};

/* Module setup, called by tern_stack_new / tern_stack_free (which then
 * registers tcp_input and tcp_icmp_error with IP for protocol 6). tcp_init
 * allocates everything from st->cfg.tcp: TERN_OK,
 * TERN_ERR_NOMEM or TERN_ERR_INVAL (bad config). tcp_fini is safe after a
 * partial init. */
int tcp_init(struct tern_stack *st);
void tcp_fini(struct tern_stack *st);

/* ---- table.c ---- */
/* tern_ip_overlap between users of a port, where a6 (b6) says a (b) is an
 * IPv6-only :: (IPV6_V6ONLY), which leaves the IPv4 half to others. */
static inline bool
tcp_port_overlap(struct tern_ip a, bool a6, struct tern_ip b, bool b6)
{
    if ((a6 && tern_ip_is4(b)) || (b6 && tern_ip_is4(a))) {
        return false;
    }
    return tern_ip_overlap(a, b);
}

struct tcp_tcb *tcp_tcb_alloc(struct tern_stack *st);
void tcp_tcb_free(struct tern_stack *st, struct tcp_tcb *tcb);
struct tcp_tcb *tcp_tcb_get(const struct tern_stack *st, int id);
struct tcp_tcb *tcp_tcb_at(const struct tern_stack *st, int slot);
int tcp_tcb_slot(const struct tern_stack *st, const struct tcp_tcb *tcb);
void tcp_hash_insert(struct tern_stack *st, struct tcp_tcb *tcb);
void tcp_hash_remove(struct tern_stack *st, struct tcp_tcb *tcb);
/* Exact match of the key (wildcards compared as zeros). */
struct tcp_tcb *tcp_hash_find(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                              struct tern_ip raddr, uint16_t rport);
/* Demultiplexes an arriving segment: exact 4-tuple, then listeners. */
/* The keyed hash of a 4-tuple both lookup tables use (SipHash-1-3). */
uint64_t tcp_demux_hash(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                        struct tern_ip raddr, uint16_t rport);
/* tcp_hash_find with the hash already computed. */
struct tcp_tcb *tcp_hash_find_h(const struct tern_stack *st, uint64_t h, struct tern_ip laddr,
                                uint16_t lport, struct tern_ip raddr, uint16_t rport);
/* The listeners and fully specified passive OPENs that would take the segment. */
struct tcp_tcb *tcp_demux_passive(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                                  struct tern_ip raddr, uint16_t rport);
struct tcp_tcb *tcp_demux(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                          struct tern_ip raddr, uint16_t rport);
/* RFC 6056 algorithm 3: a free local port for (laddr, raddr, rport), or 0. */
uint16_t tcp_ephemeral_port(struct tern_stack *st, struct tern_ip laddr, struct tern_ip raddr,
                            uint16_t rport);
/* The stack's keyed hash (SipHash) of a 4-tuple under a domain byte. */
uint64_t tcp_tuple_hash(const struct tern_stack *st, uint8_t domain, struct tern_ip laddr,
                        uint16_t lport, struct tern_ip raddr, uint16_t rport);
/* RFC 6528 ISN for the 4-tuple at st->now_ns. */
uint32_t tcp_isn(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                 struct tern_ip raddr, uint16_t rport);
/* Resets a TCB's rings, sequence state and timers for a new incarnation. */
void tcp_tcb_reset(struct tern_stack *st, struct tcp_tcb *tcb);

/* ---- buf.c: send and receive buffers on the pool ---- */
void tcp_buf_init(struct tern_stack *st, struct tcp_tcb *tcb);
/* Gives back every chunk and reservation. */
void tcp_buf_free(struct tern_stack *st, struct tcp_tcb *tcb);
void tcp_buf_snd_flush(struct tern_stack *st, struct tcp_tcb *tcb);
void tcp_buf_rcv_flush(struct tern_stack *st, struct tcp_tcb *tcb);
/* Drops the text held out of order (and an out-of-order FIN), keeping the
 * in-order text for RECEIVE: the connection was reset. */
void tcp_buf_rcv_drop_ooo(struct tern_stack *st, struct tcp_tcb *tcb);
/* The out-of-order ranges (n_ooo of them), and how many fit where they are. */
struct tcp_range *tcp_ooo(const struct tern_stack *st, struct tcp_tcb *tcb);
const struct tcp_range *tcp_ooo_const(const struct tern_stack *st, const struct tcp_tcb *tcb);
unsigned tcp_ooo_cap(const struct tcp_tcb *tcb);
/* With the TCB's TCP_OOO_MAX ranges all used: moves them to a pool chunk
 * and makes n_ooo TCP_OOO_MAX + 1 (the caller fills the new last slot).
 * NULL, and nothing changes, when the pool has no chunk to spare; else
 * the ranges' new place. */
struct tcp_range *tcp_ooo_grow(struct tern_stack *st, struct tcp_tcb *tcb);
/* Sets n_ooo to n (at most what is there now, or the room they have):
 * ranges that fit the TCB again go back to it and the chunk to the pool. */
void tcp_ooo_resize(struct tern_stack *st, struct tcp_tcb *tcb, unsigned n);
/* No more text will arrive: drop the reservation behind the window. */
void tcp_buf_rcv_stop(struct tern_stack *st, struct tcp_tcb *tcb);
/* The streams' first sequence numbers (ISS + 1, IRS + 1). */
void tcp_buf_snd_start(struct tcp_tcb *tcb, uint32_t seq);
void tcp_buf_rcv_start(struct tcp_tcb *tcb, uint32_t seq);
/* Send buffer size now, and the bytes a SEND would queue now. */
uint32_t tcp_snd_limit(const struct tern_stack *st, const struct tcp_tcb *tcb);
uint32_t tcp_snd_room(const struct tern_stack *st, const struct tcp_tcb *tcb);
/* SEND: queues up to n bytes; returns how many. */
uint32_t tcp_buf_send(struct tern_stack *st, struct tcp_tcb *tcb, const uint8_t *data, uint32_t n);
/* n bytes of text acknowledged. */
void tcp_buf_acked(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t n);
/* Copies queued text starting at sequence number seq. */
void tcp_buf_read_text(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, uint8_t *out,
                       uint32_t n);
/* The right edge we announced (RCV.ADV) moved: reserve the chunks behind it. */
void tcp_buf_rcv_reserve(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t right_edge);
/* The same for our SYN's window, before the peer's ISN is known. */
void tcp_buf_rcv_reserve_count(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t wnd);
/* In-order text at RCV.NXT: returns the bytes taken (all, inside the window). */
uint32_t tcp_buf_rcv_append(struct tern_stack *st, struct tcp_tcb *tcb, const uint8_t *text,
                            uint32_t n);
/* Out-of-order text at seq; false when memory could not be had. */
bool tcp_buf_rcv_put(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, const uint8_t *text,
                     uint32_t n);
/* RECEIVE: copies and removes up to n bytes; the zero-copy variant removes. */
uint32_t tcp_buf_recv(struct tern_stack *st, struct tcp_tcb *tcb, uint8_t *out, uint32_t n);
void tcp_buf_consume(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t n);
/* The sender block: taken for text to send (false: no memory now), given
 * back when nothing is queued, in flight or being recovered. */
bool tcp_sender_get(struct tern_stack *st, struct tcp_tcb *tcb);
void tcp_sender_put(struct tern_stack *st, struct tcp_tcb *tcb);
/* Releases the block if the connection no longer needs it. */
void tcp_sender_idle(struct tern_stack *st, struct tcp_tcb *tcb);
/* The congestion window, with or without a sender block. */
static inline uint32_t
tcp_cwnd(const struct tcp_tcb *tcb)
{
    return tcb->sx != NULL ? tcb->sx->cc.cwnd : tcb->cwnd;
}
/* Waiting for pool memory: the connection is told WRITABLE when it returns. */
void tcp_mem_init(struct tern_stack *st);
/* Recomputes st->tcp->rcv_share (a slot was taken or freed). */
void tcp_rcv_share_update(struct tern_stack *st);
void tcp_mem_wait(struct tern_stack *st, struct tcp_tcb *tcb);
/* A window was announced smaller for want of memory: update it when memory returns. */
void tcp_mem_wait_rcv(struct tern_stack *st, struct tcp_tcb *tcb);
void tcp_mem_unwait(struct tern_stack *st, struct tcp_tcb *tcb);
void tcp_mem_wake(struct tern_stack *st);

/* ---- state.c ---- */
/* The one writer of tcb->state: traces {old, new, id, rule}. */
void tcp_set_state(struct tern_stack *st, struct tcp_tcb *tcb, enum tern_tcp_state new_state,
                   const char *rule);
/* Restores a state kept in a compact record into the scratch TCB, or
 * mirrors onto a husk a change the scratch already traced: not a
 * transition of its own, so not traced. */
void tcp_state_restore(struct tcp_tcb *tcb, enum tern_tcp_state s);
/* Synchronized states (RFC 9293 3.5.2 group 3). */
bool tcp_state_synchronized(enum tern_tcp_state s);

/* A segment as seen by the state machine (host order), built from the wire
 * parse: SEG.SEQ, SEG.ACK, SEG.LEN (text + SYN + FIN), SEG.WND, SEG.UP. */
struct tcp_seg {
    struct tern_ip src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint32_t wnd; /* SEG.WND, scaled (RFC 7323 2.3) once the TCB is known */
    uint16_t up;
    uint32_t seg_len; /* SEG.LEN: text plus one for SYN and one for FIN */
    const uint8_t *text;
    uint32_t text_len;
    bool has_mss;
    uint16_t mss;
    const struct wire_tcp_opts *opts; /* every option parsed; NULL for segments we build */
    uint8_t ecn; /* the IP header's ECN field (RFC 3168 5): as received, or to send */
};

/* Traces a segment event (kind RX/TX/DROP) with the segment's fields. */
void tcp_trace_seg(struct tern_stack *st, enum tern_trace_kind kind, const struct tcp_tcb *tcb,
                   const struct tcp_seg *seg, const char *rule, enum tern_drop_reason drop);
/* Counts and traces a dropped segment. */
void tcp_drop(struct tern_stack *st, const struct tcp_tcb *tcb, const struct tcp_seg *seg,
              enum tern_drop_reason reason);
/* Traces a TCP event that is not about a segment (TERN_TRACE_EVENT / TIMER). */
void tcp_trace_note(struct tern_stack *st, enum tern_trace_kind kind, const struct tcp_tcb *tcb,
                    const char *rule);

/* ---- ecn.c (RFC 3168) ---- */

/* At the handshake, from the peer's SYN or SYN,ACK `seg`: on a passive
 * open whether we agree (cfg.tcp.ecn), on an active one whether the peer
 * agreed to what our SYN asked (tcb->ecn_ok before the call). */
void tcp_ecn_negotiate(const struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg,
                       bool passive);
/* Sets ECE, CWR and seg->ecn (ECT(0) or not) on a segment about to go out
 * (flags, seq and text_len already set). */
void tcp_ecn_out(struct tcp_tcb *tcb, struct tcp_seg *seg);
/* An acceptable segment's CE, CWR and ECE; the sender's reaction. */
void tcp_ecn_input(struct tern_stack *st, struct tcp_tcb *tcb, const struct tcp_seg *seg);
/* The congestion window was just reduced for loss: CWR on the next data. */
void tcp_ecn_reduced(struct tcp_tcb *tcb);

/* ---- output.c ---- */
/* Sends one segment from the TCB: seq, flags and text (from the send ring
 * at the offset of seq) as given, ACK = RCV.NXT when flags has ACK, window
 * RCV.WND, MSS option on SYN. `rule` names the RFC rule for the trace. */
int tcp_send_segment(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, uint8_t flags,
                     uint32_t text_len, const char *rule);
/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
void tcp_send_ack(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule);
/* RFC 1122 4.2.3.2 (MUST-58, MUST-59): inside an input batch, notes that
 * tcb owes an ACK, to be sent once by tcp_batch_end(); false (send it now)
 * outside a batch, for a FIN (`fin`), in a state where the TCB may leave
 * the table, or when the list is full. */
bool tcp_ack_owe(struct tern_stack *st, struct tcp_tcb *tcb, bool fin);
/* The end of the outermost input batch: every ACK owed goes out. */
void tcp_batch_end(struct tern_stack *st);
/* RFC 5961 3.2/4.2 challenge ACK, rate-limited (RFC 5961 7): first by the
 * connection's reply budget, then by the stack's randomised budget. */
void tcp_send_challenge_ack(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule);
/* The ACK answering an unacceptable segment (RFC 9293 3.10.7.4 first, RFC
 * 5961 5.2, RFC 7323 5.3), rate-limited like a challenge ACK with budgets
 * of its own. `retransmission`: the segment is text or a FIN the peer sent
 * again below RCV.NXT (its ACK from us was lost), which the connection's
 * budget does not hold back; the stack's ceiling still does. */
void tcp_send_corrective_ack(struct tern_stack *st, struct tcp_tcb *tcb, bool retransmission,
                             const char *rule);
/* tcp_send_reset_for() for a segment that found no connection or hit a
 * listener with an ACK, within the stack's RST budget (cfg.tcp.rst_limit). */
void tcp_send_reset_limited(struct tern_stack *st, const struct tcp_tcb *tcb,
                            const struct tcp_seg *seg, const char *rule);
/* The budget of one second of a stack-wide rate limit whose mean is
 * `limit` per second: uniform in [limit/2, limit/2 + limit] from `r`. */
uint32_t tcp_ratelimit_budget(struct rng *r, uint32_t limit);
/* A RST in answer to `seg` (RFC 9293 3.5.2): <SEQ=SEG.ACK><CTL=RST> if it
 * had an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Never in answer
 * to a RST. `tcb` may be NULL (no connection). */
void tcp_send_reset_for(struct tern_stack *st, const struct tcp_tcb *tcb, const struct tcp_seg *seg,
                        const char *rule);
/* Sends new text and a queued FIN as far as the send window allows. */
void tcp_output(struct tern_stack *st, struct tcp_tcb *tcb);
/* Sends the segment at the front of the retransmission queue again. */
void tcp_retransmit(struct tern_stack *st, struct tcp_tcb *tcb);
/* The receive window we can offer: free buffer space that pool memory
 * can back (buf.c). */
uint32_t tcp_rcv_window(const struct tern_stack *st, const struct tcp_tcb *tcb);
/* The window to announce now, with receiver SWS avoidance (RFC 9293
 * 3.8.6.2.2): the right edge moves only by a worthwhile amount. */
uint32_t tcp_rcv_window_announce(const struct tern_stack *st, const struct tcp_tcb *tcb);
/* The window shift to offer for the configured receive buffer (RFC 7323 2.3). */
uint8_t tcp_wscale_for(uint32_t rcvbuf);
/* The timestamp clock (RFC 7323 5.4): milliseconds. */
uint32_t tcp_ts_now(const struct tern_stack *st);
/* Persist timer (RFC 9293 3.8.6.1) and sender SWS override: arms or
 * cancels it according to the window and the queued text. */
void tcp_persist_update(struct tern_stack *st, struct tcp_tcb *tcb);
/* Keep-alive (RFC 9293 3.8.4): (re)arms from the last segment received. */
void tcp_keepalive_update(struct tern_stack *st, struct tcp_tcb *tcb);
/* Delayed ACK (RFC 9293 3.8.6.3): arms the delayed-ACK timer. */
void tcp_delack_arm(struct tern_stack *st, struct tcp_tcb *tcb);
/* An RTT sample (RFC 6298 2.3): updates SRTT, RTTVAR and the RTO. */
void tcp_rtt_feed(struct tern_stack *st, struct tcp_tcb *tcb, int64_t rtt_ns);
/* Sends one segment of text starting at `seq` (a retransmission). */
uint32_t tcp_send_text_at(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t seq, uint32_t max,
                          const char *rule);
/* Congestion control at ESTABLISHED (cc.h: NewReno, or CUBIC if chosen). */
void tcp_cong_start(struct tern_stack *st, struct tcp_tcb *tcb);
/* RFC 6298 5.5 + RFC 5681 3.1: a retransmission timeout. */
void tcp_cong_on_rto(struct tern_stack *st, struct tcp_tcb *tcb);
/* RFC 6675 5: sends what NextSeg names (with RACK: what RACK marked lost,
 * then new data, RFC 8985 9.2) while cwnd - pipe >= SMSS, or, with PRR
 * (RFC 6937), while the latest ACK's sndcnt is not spent. */
void tcp_sack_recovery_send(struct tern_stack *st, struct tcp_tcb *tcb);
/* A loss episode begins (fast retransmit or RTO; tcb->sx set): saves cwnd
 * and ssthresh for an undo (RFC 3708, RFC 4015), before the cut. */
void tcp_undo_begin(struct tcp_tcb *tcb);
/* True when this connection's SACK recoveries follow PRR (cfg.tcp.prr),
 * whichever loss detection started them. */
bool tcp_prr_active(const struct tern_stack *st, const struct tcp_tcb *tcb);
/* RFC 6937 3: an ACK in SACK recovery delivered `delivered` bytes (advance
 * of SND.UNA plus the change of the SACKed count): sets the sender's
 * sndcnt, pipe being RFC 6675's SetPipe or, with RACK, in flight less
 * SACKed less marked lost. No-op unless tcp_prr_active. */
void tcp_prr_ack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t delivered);
/* Bytes in flight (RFC 6675 pipe when SACK is in use, else SND.NXT - SND.UNA). */
uint32_t tcp_in_flight(const struct tcp_tcb *tcb);

/* ---- timer.c ---- */
/* A TCB's timers all disarmed (also the wheel timer's callback set). */
void tcp_timers_init(struct tcp_tcb *tcb);
void tcp_timers_cancel(struct tern_stack *st, struct tcp_tcb *tcb);
/* Arms timeout k at `at` (re-arming moves it). On a TCP_ROLE_SCRATCH TCB
 * only the deadline is recorded. */
void tcp_tmr_set(struct tern_stack *st, struct tcp_tcb *tcb, enum tcp_tmr k, int64_t at);
void tcp_tmr_clear(struct tern_stack *st, struct tcp_tcb *tcb, enum tcp_tmr k);
static inline bool
tcp_tmr_armed(const struct tcp_tcb *tcb, enum tcp_tmr k)
{
    return tcb->tmr[k] != INT64_MAX;
}
/* The deadline of timeout k, INT64_MAX when not armed. */
static inline int64_t
tcp_tmr_when(const struct tcp_tcb *tcb, enum tcp_tmr k)
{
    return tcb->tmr[k];
}
/* (Re)arms the retransmission timer at the current RTO if something is
 * unacknowledged, cancels it otherwise. */
void tcp_rtx_update(struct tern_stack *st, struct tcp_tcb *tcb, bool restart);
/* True when RACK (RFC 8985) decides losses for this connection: the stack
 * is configured so (cfg.tcp.loss_detection), SACK was agreed and the
 * sender block exists (output.c). */
bool tcp_rack_on(const struct tern_stack *st, const struct tcp_tcb *tcb);
/* RFC 8985 6.2 steps 4-5 and 6.3: marks what RACK finds lost, (re)arms or
 * clears the reordering timer, enters recovery when something was marked
 * (PRR starts, RFC 6937 3), runs PRR's per-ACK step when called for an
 * ACK (`ack`, which delivered `delivered` bytes, RFC 6937 2; false for the
 * reordering timer) and sends what recovery allows (output.c). */
void tcp_rack_loss(struct tern_stack *st, struct tcp_tcb *tcb, bool ack, uint32_t delivered);
/* What happened before a call to tcp_tlp_arm. */
enum tcp_tlp_why {
    TCP_TLP_NOTHING,  /* neither of the below */
    TCP_TLP_ACTIVITY, /* an ACK arrived or a retransmission went out */
    TCP_TLP_NEW_DATA, /* new data went out or an ACK acknowledged new data */
};
/* RFC 8985 7.2: (re)arms the loss probe timeout when a probe may be due:
 * RACK on, data outstanding, no RTO recovery, no probe in flight, and
 * either no fast recovery and nothing SACKed, or fast recovery with no
 * reordering timer pending and a probe allowed (7.3). TCP_TLP_NEW_DATA
 * arms it or moves it; in fast recovery TCP_TLP_ACTIVITY does too; else a
 * PTO no longer wanted is cleared and nothing is armed (output.c). */
void tcp_tlp_arm(struct tern_stack *st, struct tcp_tcb *tcb, enum tcp_tlp_why why);
/* RFC 8985 7.3: the PTO expired: sends the loss probe (output.c). */
void tcp_tlp_probe(struct tern_stack *st, struct tcp_tcb *tcb);
/* RFC 8985 7.4: the TLP episode's part of an ACK (`ack`, `had_sack`: the
 * ACK carried SACK blocks, `dup`: it acknowledged nothing new, `dsack`:
 * its D-SACK block or NULL) (output.c). */
void tcp_tlp_on_ack(struct tern_stack *st, struct tcp_tcb *tcb, uint32_t ack, bool had_sack,
                    bool dup, const struct tcp_sack_block *dsack);
/* Arms the user (or connection-establishment) timeout if data or a
 * control is outstanding; cancels it when everything is acknowledged. */
void tcp_user_timer_update(struct tern_stack *st, struct tcp_tcb *tcb, bool restart);
/* Enters TIME-WAIT's 2 MSL wait: cancels the other timers (3.10.7.4 eighth). */
void tcp_time_wait_start(struct tern_stack *st, struct tcp_tcb *tcb);

/* R1 of RFC 9293 3.8.3 (cfg.tcp.r1_retries; 0: 3, SHLD-10). */
static inline unsigned
tcp_r1(const struct tern_tcp_config *c)
{
    return c->r1_retries > 0 ? c->r1_retries : 3u;
}

/* ---- conn.c ---- */
/* Records event bits for the user and queues the TCB for delivery. */
void tcp_event(struct tern_stack *st, struct tcp_tcb *tcb, unsigned events);
/* Delivers queued events to callbacks (no-op when already delivering). */
void tcp_deliver_events(struct tern_stack *st);
/* Closes the connection for good: enters CLOSED (rule; NULL: the change was
 * traced already, by the scratch TCB of the husk's record), records err,
 * flushes queues and timers, removes it from the table; frees the slot when
 * the user does not hold the id. On the scratch TCB: only the state, the
 * error and the timers (mini.c settles the record). */
void tcp_close_tcb(struct tern_stack *st, struct tcp_tcb *tcb, int err, const char *rule);
/* The connection reached ESTABLISHED: CONNECTED for the user, or a child
 * queued for accept; a queued CLOSE moves it on to FIN-WAIT-1. */
void tcp_on_established(struct tern_stack *st, struct tcp_tcb *child);
/* A child in SYN-RECEIVED goes back to LISTEN (3.10.7.4): delete it. */
void tcp_child_to_listen(struct tern_stack *st, struct tcp_tcb *child, const char *rule);
/* A child leaves its listener's count and accept queue. */
void tcp_detach_child(struct tern_stack *st, struct tcp_tcb *child);
/* 3.10.5 ABORT: RST where a synchronized peer is still to be told, then
 * CLOSED (tcp_close_tcb with no error). */
void tcp_abort_tcb(struct tern_stack *st, struct tcp_tcb *tcb, const char *rule);

/* Effective send MSS (RFC 9293 3.7.1, MUST-15, MUST-16) from the peer's
 * MSS option (0: none) and the route; and the MSS we announce (MUST-67). */
void tcp_set_mss(struct tern_stack *st, struct tcp_tcb *tcb, uint16_t peer_mss, uint16_t user_mss);

/* ---- mini.c ---- */
int tcp_mini_init(struct tern_stack *st);
void tcp_mini_fini(struct tern_stack *st);
/* The record of a 4-tuple reachable by demux, or NULL. */
struct tcp_mini *tcp_mini_find_h(const struct tern_stack *st, uint64_t h, struct tern_ip laddr,
                                 uint16_t lport, struct tern_ip raddr, uint16_t rport);
struct tcp_mini *tcp_mini_find(const struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                               struct tern_ip raddr, uint16_t rport);
int tcp_mini_index(const struct tern_stack *st, const struct tcp_mini *m);
/* Loads record m into the scratch TCB (its state, not traced) and returns it. */
struct tcp_tcb *tcp_mini_load(struct tern_stack *st, struct tcp_mini *m);
/* After the scratch ran through input.c: stores it back into m, or deletes
 * m (CLOSED, back to LISTEN), telling a husk. */
void tcp_mini_settle(struct tern_stack *st, struct tcp_mini *m);
/* A real TCB has entered TIME-WAIT: its protocol life goes on in a record
 * (recycling the oldest when the table is full); its slot is freed, or
 * stays as a husk while the user holds the id. */
void tcp_mini_tw_enter(struct tern_stack *st, struct tcp_tcb *tcb);
/* TIME-WAIT records in use now (parked ones included). */
unsigned tcp_mini_tw_count(const struct tern_stack *st);
/* Ends TIME-WAIT record `rec` (its husk, if any, goes to CLOSED with `rule`). */
void tcp_mini_tw_end(struct tern_stack *st, int rec, const char *rule);
/* A husk goes away (released or closed): the record lives on alone, or,
 * with `drop`, is deleted too. */
void tcp_mini_husk_gone(struct tern_stack *st, struct tcp_tcb *husk, bool drop);
/* A fresh scratch TCB for an embryonic connection of listener lst: a new
 * SYN cache record (*rec its index), or NULL when the cache is full. */
struct tcp_tcb *tcp_mini_syn_begin(struct tern_stack *st, struct tcp_tcb *lst, int *rec);
/* Stores the scratch, now in SYN-RECEIVED with its SYN,ACK sent, into
 * record rec; parked_tw is the TIME-WAIT record it reopens, or -1;
 * peer_mss the SYN's MSS option (0: none). */
void tcp_mini_syn_store(struct tern_stack *st, int rec, int parked_tw, uint16_t peer_mss);
/* Takes a TIME-WAIT record out of the demux while a SYN reopens its
 * 4-tuple (RFC 6191 2); its 2 MSL keeps running. */
void tcp_mini_tw_park(struct tern_stack *st, int rec);
/* Puts a parked TIME-WAIT record back into the demux (RFC 1122 4.2.2.13). */
void tcp_mini_tw_unpark(struct tern_stack *st, int rec, const char *rule);
/* The handshake of the scratch completed (3.10.7.4 fifth): a real TCB, a
 * child of the listener, takes its place and the record goes. NULL (drop
 * counted, record kept) when the accept queue or the table is full. */
struct tcp_tcb *tcp_mini_promote(struct tern_stack *st, struct tcp_tcb *s,
                                 const struct tcp_seg *seg);
/* A listener closes: its embryonic connections are aborted (RST). */
void tcp_mini_listener_closed(struct tern_stack *st, struct tcp_tcb *lst);
/* An ICMP error for a record's 4-tuple (RFC 9293 3.9.2.2, RFC 5927). True
 * when a record took it. */
bool tcp_mini_icmp(struct tern_stack *st, struct tern_ip laddr, uint16_t lport,
                   struct tern_ip raddr, uint16_t rport, uint32_t seq, bool hard);
/* Does any record hold (laddr, port)? TERN_TCP_PORT_CONN bits. */
unsigned tcp_mini_port_use(const struct tern_stack *st, struct tern_ip addr, uint16_t port,
                           bool v6only);
/* RFC 4987 3.6: answers a SYN on listener lst with a cookie SYN,ACK. */
void tcp_cookie_send(struct tern_stack *st, struct tcp_tcb *lst, const struct tcp_seg *seg);
/* RFC 4987 3.6: an ACK on listener lst with no record: the scratch in
 * SYN-RECEIVED rebuilt from a valid cookie, or NULL (counted). */
struct tcp_tcb *tcp_cookie_open(struct tern_stack *st, struct tcp_tcb *lst,
                                const struct tcp_seg *seg);

/* ---- input.c ---- */
void tcp_input(struct tern_stack *st, void *ctx, const struct ip_rx *rx);
void tcp_icmp_error(struct tern_stack *st, void *ctx, const struct ip_icmp_err *e);

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define tcp_set_state(st, tcb, new_state, rule)                                                    \
    (tcp_set_state)(st, tcb, new_state, TERN_RULE_ARG(rule))
#define tcp_trace_seg(st, kind, tcb, seg, rule, drop)                                              \
    (tcp_trace_seg)(st, kind, tcb, seg, TERN_RULE_ARG(rule), drop)
#define tcp_trace_note(st, kind, tcb, rule) (tcp_trace_note)(st, kind, tcb, TERN_RULE_ARG(rule))
#define tcp_send_segment(st, tcb, seq, flags, text_len, rule)                                      \
    (tcp_send_segment)(st, tcb, seq, flags, text_len, TERN_RULE_ARG(rule))
#define tcp_send_ack(st, tcb, rule)           (tcp_send_ack)(st, tcb, TERN_RULE_ARG(rule))
#define tcp_send_challenge_ack(st, tcb, rule) (tcp_send_challenge_ack)(st, tcb, TERN_RULE_ARG(rule))
#define tcp_send_corrective_ack(st, tcb, retransmission, rule)                                     \
    (tcp_send_corrective_ack)(st, tcb, retransmission, TERN_RULE_ARG(rule))
#define tcp_send_reset_limited(st, tcb, seg, rule)                                                 \
    (tcp_send_reset_limited)(st, tcb, seg, TERN_RULE_ARG(rule))
#define tcp_send_reset_for(st, tcb, seg, rule)                                                     \
    (tcp_send_reset_for)(st, tcb, seg, TERN_RULE_ARG(rule))
#define tcp_send_text_at(st, tcb, seq, max, rule)                                                  \
    (tcp_send_text_at)(st, tcb, seq, max, TERN_RULE_ARG(rule))
#define tcp_close_tcb(st, tcb, err, rule)    (tcp_close_tcb)(st, tcb, err, TERN_RULE_ARG(rule))
#define tcp_child_to_listen(st, child, rule) (tcp_child_to_listen)(st, child, TERN_RULE_ARG(rule))
#define tcp_abort_tcb(st, tcb, rule)         (tcp_abort_tcb)(st, tcb, TERN_RULE_ARG(rule))
#define tcp_mini_tw_end(st, i, rule)         (tcp_mini_tw_end)(st, i, TERN_RULE_ARG(rule))
#define tcp_mini_tw_unpark(st, i, rule)      (tcp_mini_tw_unpark)(st, i, TERN_RULE_ARG(rule))
#endif

#endif
