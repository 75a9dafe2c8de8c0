/*
 * tests/unit/test_tcp_conformance.c: the SEGMENT ARRIVES conformance table
 * (RFC 9293 3.10.7, with RFC 5961 3-5 and RFC 6191 2), issue 3 "Done when"
 * third bullet.
 *
 * Every combination of
 *   state    x 15: the eleven states of RFC 9293 3.3.2 (CLOSED meaning "no
 *                TCB, closed port") plus four variants the RFCs tell apart:
 *                SYN-RECEIVED reached by an active OPEN (simultaneous open,
 *                MUST-11), TIME-WAIT of a connection a listener had
 *                accepted (where RFC 1122 4.2.2.13 / RFC 6191 may reopen it),
 *                and FIN-WAIT-1 and FIN-WAIT-2 after the user closed AND
 *                released the connection (RFC 9293 3.6 SHLD-3: text arriving
 *                then is lost, answered with a RST);
 *   kind     x 9:  SYN, SYN-ACK, ACK, RST, RST-ACK, FIN-ACK, DATA (ACK + 10
 *                bytes of text), SYN-ACK+text, DATA+URG (DATA with URG,
 *                SEG.UP = 10: all ten bytes urgent, the pointer names the
 *                octet after them, MUST-62);
 *   SEG.SEQ  x 4:  BELOW, AT, IN, BEYOND the receive window (defined below);
 *   SEG.ACK  x 4:  OLD, DUP, OK, AHEAD (defined below)
 * = 2160 combinations is run on a fresh stack each (so the RFC 5961 7
 * challenge-ACK rate limit never interferes): the stack is brought into the
 * state, exactly one crafted segment is delivered, and what it sent
 * (parsed: flags, SEQ, ACK), the state afterwards (STATUS) and the events
 * the user saw are compared with the reaction the table below expects.
 *
 * The table is DATA written from the RFC text, not computed by tern: an
 * ordered list of rules with wildcards, the first matching rule wins, each
 * citing the paragraph it encodes, so a reader holding RFC 9293 3.10.7 can
 * check it line by line. A rule marked KNOWN_DEVIATION keeps the RFC's
 * expectation; tern is known to differ there, and those cases are counted
 * and printed apart (and fail the test if tern stops deviating, so the mark
 * gets removed).
 *
 * Kinds without the ACK bit (SYN, RST) still run once per ACK value, with the
 * value in the acknowledgment field and the ACK bit off: the field must be
 * ignored, and their rules say A_ANY.
 *
 * EVIDENCE: RFC 9293 3.10.7.1 3.10.7.2 3.10.7.3 3.10.7.4 3.5.2 3.5.3, RFC 5961 3.2 4.2 5.2,
 *   RFC 6191 2, RFC 1122 4.2.2.13
 * EVIDENCE: RFC 9293 3.10.7.3 MUST-10: SYN-SENT + SYN -> SYN-RECEIVED, SYN,ACK
 * EVIDENCE: RFC 9293 3.10.7.4 MUST-11: SYN-RECEIVED + RST/SYN: passive -> LISTEN, active -> CLOSED
 * EVIDENCE: RFC 9293 3.10.7.4 MUST-58: one segment in, at most one ACK out
 * EVIDENCE: RFC 9293 3.10.7.4 MAY-12: RFC 5961 5.2 ACK range check (OLD and AHEAD columns)
 * EVIDENCE: RFC 9293 3.10.7.4 MAY-13: in-window segment not at RCV.NXT -> ACK of RCV.NXT
 * EVIDENCE: RFC 9293 3.6 MAY-2: TIME-WAIT reopened by a SYN above the old sequence space
 * EVIDENCE: RFC 9293 3.10.7.4 sixth MUST-30: URG of an acceptable segment processed in
 *   ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 (user told), ignored in CLOSE-WAIT and later and in
 *   every segment the earlier checks drop, in every state x SEG.SEQ x SEG.ACK
 * EVIDENCE: RFC 9293 3.8.5 MUST-62: RCV.UP = SEG.SEQ + SEG.UP, the octet after the urgent data:
 *   the urgent data left to read runs to it, for a segment at RCV.NXT or held beyond it
 * EVIDENCE: RFC 9293 3.6 SHLD-3 MAY-1 RFC 1122 4.2.2.13: FIN-WAIT-1/2 after CLOSE and release:
 *   acceptable text (with or without URG, at or beyond RCV.NXT) -> <SEQ=SEG.ACK><CTL=RST>,
 *   CLOSED; every other kind follows the FIN-WAIT rules, the user told nothing
 */
#include "tcp_harness.h"

#include "tcp/seq.h"

/* ---- the numbers ----
 *
 * Our ISS is 1000, the peer's ISS 5000. The peer always offers a window of
 * 8192 (so MAX.SND.WND = 8192 once a window was seen); our receive buffer is
 * the default 16 KiB, and no test reads from it, so RCV.WND = 16384 in every
 * state. Active opens use port US_PORT, passive ones LISTEN_PORT (and, for
 * the fully specified passive OPEN of SYN-RECEIVED, US_PORT).
 *
 *   state              ISS  SND.UNA SND.NXT RCV.NXT  reached by
 *   CLOSED             -    -       -       (5000)   nothing: no TCB for the port
 *   LISTEN             1000 -       -       (5000)   passive OPEN, remote unspecified
 *   SYN-SENT           1000 1000    1001    (5000)   active OPEN: <SEQ=1000><CTL=SYN> sent
 *   SYN-RECEIVED       1000 1000    1001    5001     fully specified passive OPEN + SYN 5000
 *   SYN-RECEIVED(act)  1000 1000    1001    5001     SYN-SENT + SYN 5000 (simultaneous open)
 *   ESTABLISHED        1000 1001    1001    5001     SYN-SENT + <SEQ=5000><ACK=1001><SYN,ACK>
 *   FIN-WAIT-1         1000 1001    1002    5001     ESTABLISHED + CLOSE: FIN 1001 sent
 *   FIN-WAIT-2         1000 1002    1002    5001     FIN-WAIT-1 + <SEQ=5001><ACK=1002><ACK>
 *   CLOSE-WAIT         1000 1001    1001    5002     ESTABLISHED + <SEQ=5001><ACK=1001><FIN,ACK>
 *   CLOSING            1000 1001    1002    5002     FIN-WAIT-1 + <SEQ=5001><ACK=1001><FIN,ACK>
 *   LAST-ACK           1000 1001    1002    5002     CLOSE-WAIT + CLOSE: FIN 1001 sent
 *   TIME-WAIT          1000 1002    1002    5002     FIN-WAIT-2 + <SEQ=5001><ACK=1002><FIN,ACK>
 *   TIME-WAIT(lst)     1000 1002    1002    5002     the same on a listener's accepted child
 *   FIN-WAIT-1(rel)    1000 1001    1002    5001     FIN-WAIT-1 + the user releases it
 *   FIN-WAIT-2(rel)    1000 1002    1002    5001     FIN-WAIT-2 + the user releases it
 * A released connection has no user id any more (STATUS refuses it): its
 * state is read from the connection table, and the user hears nothing.
 * "(5000)": RCV.NXT does not exist yet; the peer's ISS is the reference the
 * sequence positions are built from (they are all equivalent there).
 *
 * Sequence positions (SEG.SEQ):
 *   BELOW  = RCV.NXT - 100   the whole segment lies before the window (and is
 *                            not the retransmitted FIN at RCV.NXT - 1)
 *   AT     = RCV.NXT         the left window edge
 *   IN     = RCV.NXT + 100   inside the window, not at its left edge
 *   BEYOND = RCV.NXT + RCV.WND, the first sequence number past the window
 *
 * ACK values (SEG.ACK):
 *   OLD    = SND.UNA - MAX.SND.WND - 1: below SND.UNA and too old for RFC 5961 5.2
 *   DUP    = SND.UNA - 1: below SND.UNA but within MAX.SND.WND, a duplicate
 *            ("can be ignored", 3.10.7.4 fifth); in SYN-SENT and SYN-RECEIVED
 *            it is ISS - 1, unacceptable there
 *   OK     = the acceptable ACK: SND.UNA < ACK =< SND.NXT where something is
 *            outstanding, i.e. SND.NXT (1001 in SYN-SENT and SYN-RECEIVED: acks our
 *            SYN; 1002 in FIN-WAIT-1, CLOSING, LAST-ACK: acks our FIN); = SND.UNA
 *            = SND.NXT where nothing is (ESTABLISHED, CLOSE-WAIT: 1001;
 *            FIN-WAIT-2, TIME-WAIT: 1002); 1001 in CLOSED and LISTEN, where no
 *            ACK is acceptable
 *   AHEAD  = SND.NXT + 1: acknowledges something not yet sent
 */
#define OUR_ISS   1000u
#define PEER_ISS  5000u
#define PEER_WND  8192u
#define OUR_WND   16384u
#define TEXT      "0123456789"
#define TEXT_LEN  10u
#define SEQ_DELTA 100u

/* The states of the table: RFC 9293's eleven and two variants. */
enum cstate {
    C_CLOSED,
    C_LISTEN,
    C_SYN_SENT,
    C_SYN_RCVD,   /* SYN-RECEIVED from a passive OPEN */
    C_SYN_RCVD_A, /* SYN-RECEIVED from an active OPEN (simultaneous open) */
    C_ESTABLISHED,
    C_FIN_WAIT_1,
    C_FIN_WAIT_2,
    C_CLOSE_WAIT,
    C_CLOSING,
    C_LAST_ACK,
    C_TIME_WAIT,    /* active OPEN, no listener on the port */
    C_TIME_WAIT_L,  /* a listener's child: a new SYN can be taken (RFC 6191) */
    C_FIN_WAIT_1_R, /* FIN-WAIT-1 after CLOSE and tern_tcp_release */
    C_FIN_WAIT_2_R, /* FIN-WAIT-2 after CLOSE and tern_tcp_release */
    C_COUNT
};

struct cstate_def {
    const char *name;
    enum tern_tcp_state tern; /* what STATUS reports */
    uint32_t iss, snd_una, snd_nxt, rcv_nxt, max_snd_wnd, ack_ok;
    bool has_tcb;
};

/* The numbers of the table above, as data. */
static const struct cstate_def cstates[C_COUNT] = {
    [C_CLOSED] = {"CLOSED", TERN_TCP_CLOSED, 0, 1001, 1001, 5000, PEER_WND, 1001, false},
    [C_LISTEN] = {"LISTEN", TERN_TCP_LISTEN, 1000, 1001, 1001, 5000, PEER_WND, 1001, false},
    [C_SYN_SENT] = {"SYN-SENT", TERN_TCP_SYN_SENT, 1000, 1000, 1001, 5000, PEER_WND, 1001, true},
    [C_SYN_RCVD] = {"SYN-RECEIVED(passive)", TERN_TCP_SYN_RECEIVED, 1000, 1000, 1001, 5001,
                    PEER_WND, 1001, true},
    [C_SYN_RCVD_A] = {"SYN-RECEIVED(active)", TERN_TCP_SYN_RECEIVED, 1000, 1000, 1001, 5001,
                      PEER_WND, 1001, true},
    [C_ESTABLISHED] = {"ESTABLISHED", TERN_TCP_ESTABLISHED, 1000, 1001, 1001, 5001, PEER_WND, 1001,
                       true},
    [C_FIN_WAIT_1] = {"FIN-WAIT-1", TERN_TCP_FIN_WAIT_1, 1000, 1001, 1002, 5001, PEER_WND, 1002,
                      true},
    [C_FIN_WAIT_2] = {"FIN-WAIT-2", TERN_TCP_FIN_WAIT_2, 1000, 1002, 1002, 5001, PEER_WND, 1002,
                      true},
    [C_CLOSE_WAIT] = {"CLOSE-WAIT", TERN_TCP_CLOSE_WAIT, 1000, 1001, 1001, 5002, PEER_WND, 1001,
                      true},
    [C_CLOSING] = {"CLOSING", TERN_TCP_CLOSING, 1000, 1001, 1002, 5002, PEER_WND, 1002, true},
    [C_LAST_ACK] = {"LAST-ACK", TERN_TCP_LAST_ACK, 1000, 1001, 1002, 5002, PEER_WND, 1002, true},
    [C_TIME_WAIT] = {"TIME-WAIT", TERN_TCP_TIME_WAIT, 1000, 1002, 1002, 5002, PEER_WND, 1002, true},
    [C_TIME_WAIT_L] = {"TIME-WAIT(listener child)", TERN_TCP_TIME_WAIT, 1000, 1002, 1002, 5002,
                       PEER_WND, 1002, true},
    [C_FIN_WAIT_1_R] = {"FIN-WAIT-1(released)", TERN_TCP_FIN_WAIT_1, 1000, 1001, 1002, 5001,
                        PEER_WND, 1002, true},
    [C_FIN_WAIT_2_R] = {"FIN-WAIT-2(released)", TERN_TCP_FIN_WAIT_2, 1000, 1002, 1002, 5001,
                        PEER_WND, 1002, true},
};

/* K_SYNACK_TEXT: a SYN,ACK that carries the 10 bytes of text (issue 11 item 5).
 * K_DATA_URG: K_DATA with URG and SEG.UP = 10 (kind_up): the pointer names
 * the octet after the text, all of it urgent (RFC 9293 3.8.5, MUST-62). */
enum kind {
    K_SYN,
    K_SYNACK,
    K_ACK,
    K_RST,
    K_RSTACK,
    K_FINACK,
    K_DATA,
    K_SYNACK_TEXT,
    K_DATA_URG,
    K_COUNT
};
static const char *const kind_names[K_COUNT] = {
    "SYN", "SYN-ACK", "ACK", "RST", "RST-ACK", "FIN-ACK", "DATA", "SYN-ACK+text", "DATA+URG"};
static const uint8_t kind_flags[K_COUNT] = {SYN,       SYN | ACK, ACK,       RST,      RST | ACK,
                                            FIN | ACK, ACK,       SYN | ACK, ACK | URG};
/* SEG.LEN, and SEG.UP where URG is set */
static const uint32_t kind_len[K_COUNT] = {1, 1, 0, 0, 0, 1, TEXT_LEN, 1 + TEXT_LEN, TEXT_LEN};
static const uint16_t kind_up[K_COUNT] = {[K_DATA_URG] = TEXT_LEN};

enum seqpos { Q_BELOW, Q_AT, Q_IN, Q_BEYOND, Q_COUNT };
static const char *const seq_names[Q_COUNT] = {"BELOW", "AT", "IN", "BEYOND"};

enum ackval { A_OLD, A_DUP, A_OK, A_AHEAD, A_COUNT };
static const char *const ack_names[A_COUNT] = {"OLD", "DUP", "OK", "AHEAD"};

/* What the stack sends in answer (at most one segment; anything more fails). */
enum out {
    O_NOTHING,      /* nothing at all */
    O_ACK,          /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
    O_CHALLENGE,    /* the same segment, counted as an RFC 5961 challenge ACK */
    O_ACK_FIN,      /* <SEQ=SND.NXT><ACK=RCV.NXT+1><CTL=ACK>: the FIN taken */
    O_ACK_TEXT,     /* <SEQ=SND.NXT><ACK=RCV.NXT+10><CTL=ACK>: the text taken */
    O_ACK_SYN,      /* <SEQ=ISS+1><ACK=SEG.SEQ+1><CTL=ACK>: SYN-SENT -> ESTABLISHED */
    O_ACK_SYN_TEXT, /* <SEQ=ISS+1><ACK=SEG.SEQ+1+10><CTL=ACK>: the SYN and its text, one ACK */
    O_SYNACK,       /* <SEQ=ISS><ACK=SEG.SEQ+1><CTL=SYN,ACK> */
    O_SYNACK_NEW,   /* <SEQ=ISS'><ACK=SEG.SEQ+1><CTL=SYN,ACK>, ISS' > the old SND.NXT - 1 */
    O_RST,          /* <SEQ=SEG.ACK><CTL=RST> */
    O_RST_ACK,      /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
};
static const char *const out_names[] = {
    "nothing",
    "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
    "challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
    "<SEQ=SND.NXT><ACK=RCV.NXT+1><CTL=ACK>",
    "<SEQ=SND.NXT><ACK=RCV.NXT+10><CTL=ACK>",
    "<SEQ=ISS+1><ACK=SEG.SEQ+1><CTL=ACK>",
    "<SEQ=ISS+1><ACK=SEG.SEQ+1+10><CTL=ACK>",
    "<SEQ=ISS><ACK=SEG.SEQ+1><CTL=SYN,ACK>",
    "<SEQ=ISS' above old SND.NXT-1><ACK=SEG.SEQ+1><CTL=SYN,ACK>",
    "<SEQ=SEG.ACK><CTL=RST>",
    "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>",
};

/* What the user is told (TERN_TCP_EV_* bits; READABLE and WRITABLE are not
 * part of the comparison). */
enum uev {
    EV_NONE,
    EV_CONNECTED,     /* CONNECTED */
    EV_CONNECTED_FIN, /* CONNECTED and PEER_FIN ("connection closing") */
    EV_PEER_FIN,      /* PEER_FIN: "connection closing" */
    EV_CLOSED,        /* CLOSED, no error: a normal end */
    EV_RESET,         /* CLOSED + ERROR, TERN_ERR_RESET: "connection reset" */
    EV_REFUSED,       /* CLOSED + ERROR, TERN_ERR_REFUSED: "connection refused" */
    EV_CLOSED_ANY,    /* expectation only: CLOSED, with or without the reset error */
    EV_URGENT,        /* URGENT: the urgent pointer moved ahead (MUST-32) */
    EV_CONNECTED_URG, /* CONNECTED and URGENT */
    EV_OTHER,         /* observation only: anything else */
};
static const char *const uev_names[] = {
    "none",  "CONNECTED", "CONNECTED+PEER_FIN",    "PEER_FIN", "CLOSED",
    "RESET", "REFUSED",   "CLOSED (error or not)", "URGENT",   "CONNECTED+URGENT",
    "other"};

/* ---- the rules ---- */

#define ST(s)            (1u << C_##s)
#define ST_SYN_RCVD_BOTH (ST(SYN_RCVD) | ST(SYN_RCVD_A))
/* The released FIN-WAIT states: FIN-WAIT-1 and FIN-WAIT-2 to the RFC. */
#define ST_RELEASED (ST(FIN_WAIT_1_R) | ST(FIN_WAIT_2_R))
/* The synchronized states (RFC 9293 3.5.2: ESTABLISHED and after). */
#define ST_SYNC                                                                                    \
    (ST(ESTABLISHED) | ST(FIN_WAIT_1) | ST(FIN_WAIT_2) | ST(CLOSE_WAIT) | ST(CLOSING) |            \
     ST(LAST_ACK) | ST(TIME_WAIT) | ST(TIME_WAIT_L) | ST_RELEASED)
/* The states of 3.10.7.4 "Other States". */
#define ST_OTHER (ST_SYN_RCVD_BOTH | ST_SYNC)
#define K(k)     (1u << K_##k)
#define K_ANY    ((1u << K_COUNT) - 1)
#define K_ACKED  (K(SYNACK) | K(ACK) | K(RSTACK) | K(FINACK) | K(DATA)) /* ACK bit on */
#define Q(q)     (1u << Q_##q)
#define Q_ANY    ((1u << Q_COUNT) - 1)
#define A(a)     (1u << A_##a)
#define A_ANY    ((1u << A_COUNT) - 1)
#define SAME     (-1) /* new state: the state the case started in */

struct rule {
    unsigned states, kinds, seqs, acks;
    enum out out;
    int new_state; /* enum tern_tcp_state, or SAME */
    enum uev ev;
    bool known_deviation;
    const char *cite;
    int line;
};

#define RULE(st, k, q, a, o, ns, e, c)                                                             \
    {                                                                                              \
        (st), (k), (q), (a), (o), (ns), (e), false, (c), __LINE__                                  \
    }
/* The RFC's expectation, which tern is known not to meet (see the comment). */
#define KNOWN_DEVIATION(st, k, q, a, o, ns, e, c)                                                  \
    {                                                                                              \
        (st), (k), (q), (a), (o), (ns), (e), true, (c), __LINE__                                   \
    }

/* clang-format off */
static const struct rule rules[] = {
    /* ================= 3.10.7.1 CLOSED (no TCB) ================= */
    RULE(ST(CLOSED), K(RST) | K(RSTACK), Q_ANY, A_ANY, O_NOTHING, SAME, EV_NONE,
         "3.10.7.1: an incoming segment containing a RST is discarded"),
    RULE(ST(CLOSED), K(SYN), Q_ANY, A_ANY, O_RST_ACK, SAME, EV_NONE,
         "3.10.7.1: no RST, ACK bit off -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"),
    RULE(ST(CLOSED), K_ACKED, Q_ANY, A_ANY, O_RST, SAME, EV_NONE,
         "3.10.7.1: no RST, ACK bit on -> <SEQ=SEG.ACK><CTL=RST>"),

    /* ================= 3.10.7.2 LISTEN (no window yet: SEQ is N/A) ================= */
    RULE(ST(LISTEN), K(RST) | K(RSTACK), Q_ANY, A_ANY, O_NOTHING, SAME, EV_NONE,
         "3.10.7.2 first: an incoming RST should be ignored"),
    RULE(ST(LISTEN), K_ACKED, Q_ANY, A_ANY, O_RST, SAME, EV_NONE,
         "3.10.7.2 second: any acknowledgment is bad in LISTEN -> <SEQ=SEG.ACK><CTL=RST>"),
    /* New state: the connection for this remote (a new record; the listener
     * itself stays in LISTEN); the user is told at accept time. */
    RULE(ST(LISTEN), K(SYN), Q_ANY, A_ANY, O_SYNACK, TERN_TCP_SYN_RECEIVED, EV_NONE,
         "3.10.7.2 third: SYN -> RCV.NXT=SEG.SEQ+1, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, "
         "SYN-RECEIVED"),

    /* ================= 3.10.7.3 SYN-SENT (no RCV.NXT yet: SEQ is N/A) =================
     * OLD, DUP (ISS-1) and AHEAD all fail "ISS < SEG.ACK =< SND.NXT". */
    RULE(ST(SYN_SENT), K(RSTACK), Q_ANY, A(OLD) | A(DUP) | A(AHEAD), O_NOTHING, SAME, EV_NONE,
         "3.10.7.3 first: SEG.ACK =< ISS or > SND.NXT, RST bit set -> drop the segment"),
    RULE(ST(SYN_SENT), K_ACKED, Q_ANY, A(OLD) | A(DUP) | A(AHEAD), O_RST, SAME, EV_NONE,
         "3.10.7.3 first: SEG.ACK =< ISS or > SND.NXT -> <SEQ=SEG.ACK><CTL=RST>, discard"),
    /* RFC 5961 3.2 for SYN-SENT: "the RST is acceptable if the ACK field
     * acknowledges the SYN"; 3.10.7.3's SHOULD to match SEG.SEQ against
     * RCV.NXT cannot apply, RCV.NXT being undefined before the peer's SYN.
     * "error: connection reset" in 3.10.7.3's words: tern's API names a RST
     * answering our SYN "refused" (issue 3), the same CLOSED-with-error. */
    RULE(ST(SYN_SENT), K(RSTACK), Q_ANY, A(OK), O_NOTHING, TERN_TCP_CLOSED, EV_REFUSED,
         "3.10.7.3 second: RST with acceptable ACK -> signal the user, CLOSED, delete TCB"),
    RULE(ST(SYN_SENT), K(RST), Q_ANY, A_ANY, O_NOTHING, SAME, EV_NONE,
         "3.10.7.3 second: RST, no ACK -> drop the segment and return"),
    RULE(ST(SYN_SENT), K(SYN), Q_ANY, A_ANY, O_SYNACK, TERN_TCP_SYN_RECEIVED, EV_NONE,
         "3.10.7.3 fourth (MUST-10): SYN, our SYN not acked -> SYN-RECEIVED, "
         "<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"),
    RULE(ST(SYN_SENT), K(SYNACK), Q_ANY, A(OK), O_ACK_SYN, TERN_TCP_ESTABLISHED, EV_CONNECTED,
         "3.10.7.3 fourth: SYN, SND.UNA > ISS -> ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"),
    RULE(ST(SYN_SENT), K(ACK) | K(FINACK) | K(DATA), Q_ANY, A(OK), O_NOTHING, SAME, EV_NONE,
         "3.10.7.3 fifth: neither SYN nor RST -> drop the segment and return"),

    /* ================= 3.10.7.4 Other states ================= */

    /* ---- TIME-WAIT with a listener on the port: RFC 6191 2 (RFC 1122
     * 4.2.2.13, RFC 9293 3.6 MAY-2). Choice: these rules, specific to a SYN
     * (a connection request) on a TIME-WAIT connection, come before the
     * generic checks; they need someone to accept the request, so a
     * TIME-WAIT with no listener (C_TIME_WAIT) follows 3.10.7.4 alone. No
     * timestamps on either incarnation: the sequence number decides. The
     * last sequence number of the old incarnation (the peer's FIN) is 5001.
     * A refused SYN gets the ACK of 3.10.7.4 first, not RFC 6191's silence
     * (issue 11 item 4; Linux does the same; src/tcp/input.c time_wait_syn). */
    RULE(ST(TIME_WAIT_L), K(SYN), Q(BELOW), A_ANY, O_ACK, SAME, EV_NONE,
         "RFC 6191 2, 3.10.7.4 first: SYN in TIME-WAIT, SEG.SEQ not above the old FIN -> no new "
         "incarnation, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"),
    RULE(ST(TIME_WAIT_L), K(SYN), Q(AT) | Q(IN) | Q(BEYOND), A_ANY, O_SYNACK_NEW,
         TERN_TCP_SYN_RECEIVED, EV_NONE,
         "RFC 6191 2, RFC 9293 3.6 MAY-2 (1): SYN above the old sequence space -> new "
         "incarnation in SYN-RECEIVED, ISS above the old one's"),

    /* ---- First: sequence number check (Table 6; RCV.WND > 0 throughout) */
    RULE(ST_OTHER, K(RST) | K(RSTACK), Q(BELOW) | Q(BEYOND), A_ANY, O_NOTHING, SAME, EV_NONE,
         "3.10.7.4 first / second (1), RFC 5961 3.2 (1): RST outside the window -> silently "
         "drop"),
    RULE(ST_OTHER, K_ANY, Q(BELOW) | Q(BEYOND), A_ANY, O_ACK, SAME, EV_NONE,
         "3.10.7.4 first: not acceptable -> <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop"),

    /* ---- Second: RST (RFC 5961 3.2: exact match resets, else challenge) */
    RULE(ST_OTHER, K(RST) | K(RSTACK), Q(IN), A_ANY, O_CHALLENGE, SAME, EV_NONE,
         "3.10.7.4 second (3), RFC 5961 3.2 (3): RST in window, not RCV.NXT -> challenge ACK, "
         "drop"),
    RULE(ST(SYN_RCVD), K(RST) | K(RSTACK), Q(AT), A_ANY, O_NOTHING, TERN_TCP_LISTEN, EV_NONE,
         "3.10.7.4 second (MUST-11): SYN-RECEIVED from passive OPEN, RST -> LISTEN, user need "
         "not be informed"),
    RULE(ST(SYN_RCVD_A), K(RST) | K(RSTACK), Q(AT), A_ANY, O_NOTHING, TERN_TCP_CLOSED,
         EV_REFUSED,
         "3.10.7.4 second (MUST-11): SYN-RECEIVED from active OPEN, RST -> \"connection "
         "refused\", CLOSED"),
    RULE(ST(ESTABLISHED) | ST(FIN_WAIT_1) | ST(FIN_WAIT_2) | ST(CLOSE_WAIT), K(RST) | K(RSTACK),
         Q(AT), A_ANY, O_NOTHING, TERN_TCP_CLOSED, EV_RESET,
         "3.10.7.4 second: ESTABLISHED..CLOSE-WAIT, RST -> \"connection reset\", CLOSED"),
    /* 3.10.7.4 names no signal for these three; 3.5.3 says the receiver
     * "aborts the connection and advises the user": either is accepted. */
    RULE(ST(CLOSING) | ST(LAST_ACK) | ST(TIME_WAIT) | ST(TIME_WAIT_L), K(RST) | K(RSTACK),
         Q(AT), A_ANY, O_NOTHING, TERN_TCP_CLOSED, EV_CLOSED_ANY,
         "3.10.7.4 second: CLOSING, LAST-ACK, TIME-WAIT, RST -> CLOSED, delete the TCB"),

    /* ---- Fourth: SYN (the third, security, is void: no compartments) */
    RULE(ST(SYN_RCVD), K(SYN) | K(SYNACK), Q(AT) | Q(IN), A_ANY, O_NOTHING, TERN_TCP_LISTEN,
         EV_NONE,
         "3.10.7.4 fourth (MUST-11): SYN-RECEIVED from passive OPEN, SYN -> LISTEN"),
    RULE(ST(SYN_RCVD_A) | ST_SYNC, K(SYN) | K(SYNACK), Q(AT) | Q(IN), A_ANY, O_CHALLENGE, SAME,
         EV_NONE,
         "3.10.7.4 fourth, RFC 5961 4.2: SYN in a synchronized state -> challenge ACK, drop"),

    /* ---- Fifth: ACK. Segments at RCV.NXT (AT) and acceptable segments
     * beyond it (IN) alike: every acceptable segment's ACK and window are
     * processed (issue 11 item 1); text and FIN beyond RCV.NXT are held at
     * the seventh step (SHLD-31), after all these checks (issue 11 item 0:
     * nothing without an acceptable ACK reaches the buffer), and answered at
     * once with an ACK of RCV.NXT (RFC 5681 4.2, MAY-13). */
    /* SYN-RECEIVED: 3.10.7.4 puts the RFC 5961 5.2 range check (MAY-12) ahead
     * of the per-state text, which would answer OLD and AHEAD with an ACK;
     * but 3.5.2 (group 2) says a non-synchronized connection answers an
     * unacceptable ACK with a reset, and RFC 5961 5 is about synchronized
     * connections (blind data injection). Reading chosen: the RST of the
     * SYN-RECEIVED text for every unacceptable ACK. */
    RULE(ST_SYN_RCVD_BOTH, K(ACK) | K(FINACK) | K(DATA), Q(AT) | Q(IN), A(OLD) | A(DUP) | A(AHEAD),
         O_RST,
         SAME, EV_NONE,
         "3.10.7.4 fifth SYN-RECEIVED, 3.5.2 group 2: ACK not acceptable -> <SEQ=SEG.ACK><CTL=RST>"),
    RULE(ST_SYN_RCVD_BOTH, K(ACK), Q(AT) | Q(IN), A(OK), O_NOTHING, TERN_TCP_ESTABLISHED,
         EV_CONNECTED,
         "3.10.7.4 fifth SYN-RECEIVED: SND.UNA < SEG.ACK =< SND.NXT -> ESTABLISHED"),
    RULE(ST_SYN_RCVD_BOTH, K(DATA), Q(AT), A(OK), O_ACK_TEXT, TERN_TCP_ESTABLISHED, EV_CONNECTED,
         "3.10.7.4 fifth -> ESTABLISHED; seventh: text taken, <SEQ=SND.NXT><ACK=RCV.NXT>"),
    RULE(ST_SYN_RCVD_BOTH, K(DATA) | K(FINACK), Q(IN), A(OK), O_ACK, TERN_TCP_ESTABLISHED,
         EV_CONNECTED,
         "3.10.7.4 fifth -> ESTABLISHED; seventh (SHLD-31): text/FIN beyond RCV.NXT held -> "
         "ACK of RCV.NXT"),
    RULE(ST_SYN_RCVD_BOTH, K(FINACK), Q(AT), A(OK), O_ACK_FIN, TERN_TCP_CLOSE_WAIT,
         EV_CONNECTED_FIN,
         "3.10.7.4 fifth -> ESTABLISHED; eighth: FIN -> ACK it, \"connection closing\", "
         "CLOSE-WAIT"),
    /* Synchronized states: RFC 5961 5.2 (MAY-12, which tern implements):
     * acceptable only if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT. */
    RULE(ST_SYNC, K(ACK) | K(FINACK) | K(DATA), Q(AT) | Q(IN), A(OLD) | A(AHEAD), O_ACK, SAME,
         EV_NONE,
         "3.10.7.4 fifth (MAY-12), RFC 5961 5.2: ACK outside [SND.UNA-MAX.SND.WND, SND.NXT] -> "
         "discard, send ACK"),
    /* From here SEG.ACK is DUP (a duplicate, "can be ignored") or OK. */
    RULE(ST(FIN_WAIT_1), K(ACK), Q(AT) | Q(IN), A(OK), O_NOTHING, TERN_TCP_FIN_WAIT_2, EV_NONE,
         "3.10.7.4 fifth FIN-WAIT-1: our FIN now acknowledged -> FIN-WAIT-2"),
    RULE(ST(FIN_WAIT_1), K(DATA), Q(AT), A(OK), O_ACK_TEXT, TERN_TCP_FIN_WAIT_2, EV_NONE,
         "3.10.7.4 fifth FIN-WAIT-1: FIN acked -> FIN-WAIT-2; seventh: text -> ACK"),
    RULE(ST(FIN_WAIT_1), K(DATA) | K(FINACK), Q(IN), A(OK), O_ACK, TERN_TCP_FIN_WAIT_2, EV_NONE,
         "3.10.7.4 fifth FIN-WAIT-1: FIN acked -> FIN-WAIT-2; seventh: text/FIN beyond RCV.NXT "
         "held -> ACK"),
    RULE(ST(FIN_WAIT_1), K(FINACK), Q(AT), A(OK), O_ACK_FIN, TERN_TCP_TIME_WAIT, EV_PEER_FIN,
         "3.10.7.4 eighth FIN-WAIT-1: our FIN ACKed in this segment -> TIME-WAIT, ACK the FIN"),
    RULE(ST(FIN_WAIT_1), K(FINACK), Q(AT), A(DUP), O_ACK_FIN, TERN_TCP_CLOSING, EV_PEER_FIN,
         "3.10.7.4 eighth FIN-WAIT-1: FIN, ours not acked -> CLOSING, ACK the FIN"),
    RULE(ST(CLOSING), K(ACK) | K(DATA), Q(AT), A(OK), O_NOTHING, TERN_TCP_TIME_WAIT, EV_NONE,
         "3.10.7.4 fifth CLOSING: ACK acknowledges our FIN -> TIME-WAIT (text ignored, seventh)"),
    RULE(ST(CLOSING), K(ACK), Q(IN), A(OK), O_NOTHING, TERN_TCP_TIME_WAIT, EV_NONE,
         "3.10.7.4 fifth CLOSING: ACK acknowledges our FIN -> TIME-WAIT"),
    RULE(ST(CLOSING), K(DATA) | K(FINACK), Q(IN), A(OK), O_ACK, TERN_TCP_TIME_WAIT, EV_NONE,
         "3.10.7.4 fifth CLOSING -> TIME-WAIT; seventh: text/FIN beyond RCV.NXT after the "
         "peer's FIN -> ACK of RCV.NXT"),
    RULE(ST(CLOSING), K(ACK) | K(FINACK) | K(DATA), Q(AT) | Q(IN), A(DUP), O_NOTHING, SAME,
         EV_NONE,
         "3.10.7.4 fifth CLOSING: our FIN not acknowledged -> ignore the segment"),
    RULE(ST(LAST_ACK), K(ACK) | K(FINACK) | K(DATA), Q(AT) | Q(IN), A(OK), O_NOTHING,
         TERN_TCP_CLOSED, EV_CLOSED,
         "3.10.7.4 fifth LAST-ACK: our FIN acknowledged -> delete the TCB, CLOSED, return"),
    /* The rest reaches the sixth to eighth steps. */
    RULE(ST(ESTABLISHED) | ST(FIN_WAIT_1) | ST(FIN_WAIT_2), K(ACK), Q(AT) | Q(IN), A(DUP) | A(OK),
         O_NOTHING, SAME, EV_NONE,
         "3.10.7.4 fifth ESTABLISHED: duplicate ignored / nothing new acked; no text, no FIN"),
    RULE(ST(ESTABLISHED) | ST(FIN_WAIT_1) | ST(FIN_WAIT_2), K(DATA) | K(FINACK), Q(IN),
         A(DUP) | A(OK), O_ACK, SAME, EV_NONE,
         "3.10.7.4 seventh (SHLD-31): text/FIN beyond RCV.NXT held -> ACK of RCV.NXT at once "
         "(RFC 5681 4.2)"),
    RULE(ST(ESTABLISHED) | ST(FIN_WAIT_1) | ST(FIN_WAIT_2), K(DATA), Q(AT), A(DUP) | A(OK),
         O_ACK_TEXT, SAME, EV_NONE,
         "3.10.7.4 seventh: text taken, RCV.NXT advanced -> <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"),
    RULE(ST(ESTABLISHED), K(FINACK), Q(AT), A(DUP) | A(OK), O_ACK_FIN, TERN_TCP_CLOSE_WAIT,
         EV_PEER_FIN,
         "3.10.7.4 eighth ESTABLISHED: FIN -> \"connection closing\", ACK it, CLOSE-WAIT"),
    RULE(ST(FIN_WAIT_2), K(FINACK), Q(AT), A(DUP) | A(OK), O_ACK_FIN, TERN_TCP_TIME_WAIT,
         EV_PEER_FIN,
         "3.10.7.4 eighth FIN-WAIT-2: FIN -> ACK it, TIME-WAIT"),
    RULE(ST(CLOSE_WAIT) | ST(LAST_ACK), K(ACK), Q(IN),
         A(DUP) | A(OK), O_NOTHING, SAME, EV_NONE,
         "3.10.7.4 fifth: ACK processed; nothing to hold, nothing to ACK"),
    RULE(ST(CLOSE_WAIT) | ST(LAST_ACK), K(DATA) | K(FINACK), Q(IN), A(DUP) | A(OK), O_ACK, SAME, EV_NONE,
         "3.10.7.4 seventh: text/FIN beyond RCV.NXT after the peer's FIN -> not held, ACK of "
         "RCV.NXT (MAY-13)"),
    RULE(ST(CLOSE_WAIT) | ST(LAST_ACK), K(ACK) | K(DATA), Q(AT), A(DUP) | A(OK), O_NOTHING, SAME, EV_NONE,
         "3.10.7.4 seventh: after the peer's FIN, ignore the segment text; nothing to ACK"),

    /* ---- issue 11 item 4 (tw): TIME-WAIT, and a FIN once the peer's FIN
     * was taken. The peer's FIN sits at RCV.NXT - 1; a FIN at RCV.NXT is
     * one the peer never sent: RCV.NXT is not advanced over it a second
     * time, the ACK names RCV.NXT as it stands, the user hears nothing new.
     * TIME-WAIT (3.10.7.4 fifth) acknowledges an acceptable segment that
     * occupies sequence space and restarts 2 MSL on every acceptable one
     * (the restart is checked in test_tcp_time_wait.c); a bare ACK is not
     * acknowledged (an ACK of an ACK could loop between two TIME-WAITs). */
    RULE(ST(TIME_WAIT) | ST(TIME_WAIT_L), K(ACK), Q(AT) | Q(IN), A(DUP) | A(OK), O_NOTHING, SAME,
         EV_NONE,
         "3.10.7.4 fifth TIME-WAIT: acceptable bare ACK -> restart 2 MSL, nothing sent"),
    RULE(ST(TIME_WAIT) | ST(TIME_WAIT_L), K(DATA) | K(FINACK), Q(AT) | Q(IN), A(DUP) | A(OK),
         O_ACK, SAME, EV_NONE,
         "3.10.7.4 fifth TIME-WAIT: acknowledge it (RCV.NXT unchanged), restart 2 MSL"),
    RULE(ST(CLOSE_WAIT) | ST(LAST_ACK), K(FINACK), Q(AT), A(DUP) | A(OK), O_ACK, SAME, EV_NONE,
         "3.10.7.4 eighth CLOSE-WAIT/LAST-ACK: FIN already taken -> RCV.NXT not advanced again, "
         "ACK, remain"),
    RULE(ST(CLOSING), K(FINACK), Q(AT), A(OK), O_ACK, TERN_TCP_TIME_WAIT, EV_NONE,
         "3.10.7.4 fifth CLOSING: our FIN acked -> TIME-WAIT; eighth: FIN already taken -> "
         "RCV.NXT not advanced again, ACK, restart 2 MSL"),

    /* ================= issue 11 item 5 (ack): a SYN,ACK with text =================
     * Where the text is taken (SYN-SENT, our SYN acknowledged), one ACK
     * acknowledges the SYN and the text together (MUST-58); elsewhere the
     * segment meets the rules of a SYN,ACK without text (the first check's
     * row, K_ANY, already covers BELOW and BEYOND in the other states). */
    RULE(ST(CLOSED) | ST(LISTEN), K(SYNACK_TEXT), Q_ANY, A_ANY, O_RST, SAME, EV_NONE,
         "3.10.7.1 / 3.10.7.2: SYN,ACK with text, ACK bit on -> <SEQ=SEG.ACK><CTL=RST>"),
    RULE(ST(SYN_SENT), K(SYNACK_TEXT), Q_ANY, A(OLD) | A(DUP) | A(AHEAD), O_RST, SAME, EV_NONE,
         "3.10.7.3 first: SEG.ACK =< ISS or > SND.NXT -> <SEQ=SEG.ACK><CTL=RST>, discard"),
    RULE(ST(SYN_SENT), K(SYNACK_TEXT), Q_ANY, A(OK), O_ACK_SYN_TEXT, TERN_TCP_ESTABLISHED,
         EV_CONNECTED,
         "3.10.7.3 fourth, sixth-seventh, MUST-58: SYN,ACK with text -> ESTABLISHED, one ACK "
         "of the SYN and the text"),
    RULE(ST(SYN_RCVD), K(SYNACK_TEXT), Q(AT) | Q(IN), A_ANY, O_NOTHING, TERN_TCP_LISTEN, EV_NONE,
         "3.10.7.4 fourth (MUST-11): SYN-RECEIVED from passive OPEN, SYN -> LISTEN"),
    RULE(ST(SYN_RCVD_A) | ST_SYNC, K(SYNACK_TEXT), Q(AT) | Q(IN), A_ANY, O_CHALLENGE, SAME,
         EV_NONE,
         "3.10.7.4 fourth, RFC 5961 4.2: SYN in a synchronized state -> challenge ACK, drop"),

    /* ================= issue 11 (urgtab): urgent data, text after CLOSE and release =================
     * DATA+URG meets the rules of DATA (the first check's row, K_ANY,
     * already covers BELOW and BEYOND in the other states: an unacceptable
     * segment's URG is never looked at), plus the sixth step: where a
     * segment reaches it in ESTABLISHED, FIN-WAIT-1 or FIN-WAIT-2, RCV.UP
     * becomes SEG.SEQ + SEG.UP, ahead of RCV.NXT, and the user is told
     * (MUST-30, MUST-32, MUST-62). Choice: the sixth step runs for every
     * acceptable segment, one held beyond RCV.NXT too (its ACK is processed
     * as well, issue 11 item 1); Linux does the same. */
    RULE(ST(CLOSED) | ST(LISTEN), K(DATA_URG), Q_ANY, A_ANY, O_RST, SAME, EV_NONE,
         "3.10.7.1 / 3.10.7.2: DATA+URG, ACK bit on -> <SEQ=SEG.ACK><CTL=RST>; URG not looked at"),
    RULE(ST(SYN_SENT), K(DATA_URG), Q_ANY, A(OLD) | A(DUP) | A(AHEAD), O_RST, SAME, EV_NONE,
         "3.10.7.3 first: SEG.ACK =< ISS or > SND.NXT -> <SEQ=SEG.ACK><CTL=RST>, discard"),
    RULE(ST(SYN_SENT), K(DATA_URG), Q_ANY, A(OK), O_NOTHING, SAME, EV_NONE,
         "3.10.7.3 fifth: neither SYN nor RST -> drop the segment (URG with it)"),
    RULE(ST_SYN_RCVD_BOTH, K(DATA_URG), Q(AT) | Q(IN), A(OLD) | A(DUP) | A(AHEAD), O_RST, SAME,
         EV_NONE,
         "3.10.7.4 fifth SYN-RECEIVED, 3.5.2 group 2: ACK not acceptable -> <SEQ=SEG.ACK><CTL=RST>; "
         "the sixth step not reached"),
    RULE(ST_SYN_RCVD_BOTH, K(DATA_URG), Q(AT), A(OK), O_ACK_TEXT, TERN_TCP_ESTABLISHED,
         EV_CONNECTED_URG,
         "3.10.7.4 fifth -> ESTABLISHED, continue; sixth (MUST-30): URG -> RCV.UP, user told; "
         "seventh: text taken, ACK"),
    RULE(ST_SYN_RCVD_BOTH, K(DATA_URG), Q(IN), A(OK), O_ACK, TERN_TCP_ESTABLISHED,
         EV_CONNECTED_URG,
         "3.10.7.4 fifth -> ESTABLISHED, continue; sixth (MUST-30): URG -> RCV.UP, user told; "
         "seventh (SHLD-31): text held -> ACK of RCV.NXT"),
    RULE(ST_SYNC, K(DATA_URG), Q(AT) | Q(IN), A(OLD) | A(AHEAD), O_ACK, SAME, EV_NONE,
         "3.10.7.4 fifth (MAY-12), RFC 5961 5.2: ACK outside [SND.UNA-MAX.SND.WND, SND.NXT] -> "
         "discard, send ACK; the sixth step not reached"),
    RULE(ST(FIN_WAIT_1), K(DATA_URG), Q(AT), A(OK), O_ACK_TEXT, TERN_TCP_FIN_WAIT_2, EV_URGENT,
         "3.10.7.4 fifth FIN-WAIT-1: FIN acked -> FIN-WAIT-2; sixth (MUST-30): URG -> RCV.UP, "
         "user told; seventh: text -> ACK"),
    RULE(ST(FIN_WAIT_1), K(DATA_URG), Q(IN), A(OK), O_ACK, TERN_TCP_FIN_WAIT_2, EV_URGENT,
         "3.10.7.4 fifth FIN-WAIT-1: FIN acked -> FIN-WAIT-2; sixth (MUST-30): URG -> RCV.UP, "
         "user told; seventh: text held -> ACK of RCV.NXT"),
    RULE(ST(ESTABLISHED) | ST(FIN_WAIT_1) | ST(FIN_WAIT_2), K(DATA_URG), Q(AT), A(DUP) | A(OK),
         O_ACK_TEXT, SAME, EV_URGENT,
         "3.10.7.4 sixth (MUST-30, MUST-62): ESTABLISHED, FIN-WAIT-1/2: RCV.UP = SEG.SEQ+SEG.UP "
         "past RCV.NXT -> user told (MUST-32); seventh: text taken, ACK"),
    RULE(ST(ESTABLISHED) | ST(FIN_WAIT_1) | ST(FIN_WAIT_2), K(DATA_URG), Q(IN), A(DUP) | A(OK),
         O_ACK, SAME, EV_URGENT,
         "3.10.7.4 sixth (MUST-30, MUST-62): URG of an acceptable segment beyond RCV.NXT -> "
         "RCV.UP, user told; seventh (SHLD-31): text held -> ACK of RCV.NXT"),
    /* The peer's FIN was taken: the sixth step ignores URG, the rest is DATA's. */
    RULE(ST(CLOSING), K(DATA_URG), Q(AT), A(OK), O_NOTHING, TERN_TCP_TIME_WAIT, EV_NONE,
         "3.10.7.4 fifth CLOSING: our FIN acked -> TIME-WAIT; sixth: URG ignored after the peer's "
         "FIN; seventh: text ignored"),
    RULE(ST(CLOSING), K(DATA_URG), Q(IN), A(OK), O_ACK, TERN_TCP_TIME_WAIT, EV_NONE,
         "3.10.7.4 fifth CLOSING -> TIME-WAIT; sixth: URG ignored; seventh: text beyond RCV.NXT "
         "after the peer's FIN -> ACK of RCV.NXT"),
    RULE(ST(CLOSING), K(DATA_URG), Q(AT) | Q(IN), A(DUP), O_NOTHING, SAME, EV_NONE,
         "3.10.7.4 fifth CLOSING: our FIN not acknowledged -> ignore the segment"),
    RULE(ST(LAST_ACK), K(DATA_URG), Q(AT) | Q(IN), A(OK), O_NOTHING, TERN_TCP_CLOSED, EV_CLOSED,
         "3.10.7.4 fifth LAST-ACK: our FIN acknowledged -> delete the TCB, CLOSED, return"),
    RULE(ST(CLOSE_WAIT) | ST(LAST_ACK), K(DATA_URG), Q(AT), A(DUP) | A(OK), O_NOTHING, SAME,
         EV_NONE,
         "3.10.7.4 sixth: CLOSE-WAIT, LAST-ACK: URG ignored; seventh: text ignored, nothing to ACK"),
    RULE(ST(CLOSE_WAIT) | ST(LAST_ACK), K(DATA_URG), Q(IN), A(DUP) | A(OK), O_ACK, SAME, EV_NONE,
         "3.10.7.4 sixth: URG ignored; seventh: text beyond RCV.NXT after the peer's FIN -> not "
         "held, ACK of RCV.NXT (MAY-13)"),
    RULE(ST(TIME_WAIT) | ST(TIME_WAIT_L), K(DATA_URG), Q(AT) | Q(IN), A(DUP) | A(OK), O_ACK, SAME,
         EV_NONE,
         "3.10.7.4 fifth TIME-WAIT: acknowledge it, restart 2 MSL; sixth: URG ignored"),

    /* FIN-WAIT-1 and FIN-WAIT-2 after CLOSE and release (issue 11 item 10).
     * They are synchronized states (ST_SYNC): the first to fourth checks and
     * RFC 5961 5.2 above apply unchanged. The user released the connection:
     * no event reaches anyone. Text that passed every check (at RCV.NXT or
     * held beyond it, URG or not) can no longer be read: RST, CLOSED. A FIN
     * or a bare ACK loses nothing and follows the FIN-WAIT rules. */
    RULE(ST_RELEASED, K(DATA) | K(DATA_URG), Q(AT) | Q(IN), A(DUP) | A(OK), O_RST,
         TERN_TCP_CLOSED, EV_NONE,
         "3.6 (SHLD-3), RFC 1122 4.2.2.13: text after CLOSE and release is lost -> "
         "<SEQ=SEG.ACK><CTL=RST>, CLOSED"),
    RULE(ST_RELEASED, K(RST) | K(RSTACK), Q(AT), A_ANY, O_NOTHING, TERN_TCP_CLOSED, EV_NONE,
         "3.10.7.4 second: FIN-WAIT-1/2, RST -> CLOSED; released: no user to tell"),
    RULE(ST(FIN_WAIT_1_R), K(ACK), Q(AT) | Q(IN), A(OK), O_NOTHING, TERN_TCP_FIN_WAIT_2, EV_NONE,
         "3.10.7.4 fifth FIN-WAIT-1: our FIN now acknowledged -> FIN-WAIT-2"),
    RULE(ST(FIN_WAIT_1_R), K(FINACK), Q(AT), A(OK), O_ACK_FIN, TERN_TCP_TIME_WAIT, EV_NONE,
         "3.10.7.4 eighth FIN-WAIT-1: our FIN ACKed in this segment -> TIME-WAIT, ACK the FIN "
         "(no text: no RST)"),
    RULE(ST(FIN_WAIT_1_R), K(FINACK), Q(AT), A(DUP), O_ACK_FIN, TERN_TCP_CLOSING, EV_NONE,
         "3.10.7.4 eighth FIN-WAIT-1: FIN, ours not acked -> CLOSING, ACK the FIN"),
    RULE(ST(FIN_WAIT_1_R), K(FINACK), Q(IN), A(OK), O_ACK, TERN_TCP_FIN_WAIT_2, EV_NONE,
         "3.10.7.4 fifth FIN-WAIT-1: FIN acked -> FIN-WAIT-2; seventh: FIN beyond RCV.NXT held "
         "-> ACK"),
    RULE(ST_RELEASED, K(ACK), Q(AT) | Q(IN), A(DUP) | A(OK), O_NOTHING, SAME, EV_NONE,
         "3.10.7.4 fifth: duplicate ignored / nothing new acked; no text, no FIN"),
    RULE(ST_RELEASED, K(FINACK), Q(IN), A(DUP) | A(OK), O_ACK, SAME, EV_NONE,
         "3.10.7.4 seventh (SHLD-31): FIN beyond RCV.NXT held -> ACK of RCV.NXT at once"),
    RULE(ST(FIN_WAIT_2_R), K(FINACK), Q(AT), A(DUP) | A(OK), O_ACK_FIN, TERN_TCP_TIME_WAIT,
         EV_NONE,
         "3.10.7.4 eighth FIN-WAIT-2: FIN -> ACK it, TIME-WAIT"),
};
/* clang-format on */

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

/* ---- the fixture: a fresh stack brought into a state ---- */

static int
open_active(struct h *h)
{
    struct tern_tcp_open_args a = {.local_port = US_PORT,
                                   .remote_addr = tern_ip4(PEER_ADDR),
                                   .remote_port = PEER_PORT,
                                   .set_iss = true,
                                   .iss = OUR_ISS};
    return tern_tcp_open(h->st, &a, h->now);
}

static int
to_established(struct h *h)
{
    int id = open_active(h);
    h_deliver(h, PEER(.seq = PEER_ISS, .ack = OUR_ISS + 1, .flags = SYN | ACK));
    return id;
}

static int
to_close_wait(struct h *h)
{
    int id = to_established(h);
    h_deliver(h, PEER(.seq = 5001, .ack = 1001, .flags = FIN | ACK));
    return id;
}

static int
to_fin_wait_1(struct h *h)
{
    int id = to_established(h);
    tern_tcp_close(h->st, id, h->now);
    return id;
}

static int
to_fin_wait_2(struct h *h)
{
    int id = to_fin_wait_1(h);
    h_deliver(h, PEER(.seq = 5001, .ack = 1002, .flags = ACK));
    return id;
}

/* A listener on LISTEN_PORT whose accepted child went through an active
 * close into TIME-WAIT; PEER() segments now go to LISTEN_PORT. */
static int
to_time_wait_child(struct h *h)
{
    struct tern_tcp_open_args a = {
        .passive = true, .local_port = LISTEN_PORT, .set_iss = true, .iss = OUR_ISS};
    int l = tern_tcp_open(h->st, &a, h->now);
    if (l <= 0) {
        return l;
    }
    h->our_port = LISTEN_PORT;
    h_deliver(h, PEER(.seq = PEER_ISS, .flags = SYN));
    h_deliver(h, PEER(.seq = 5001, .ack = 1001, .flags = ACK));
    int id = tern_tcp_accept(h->st, l, h->now);
    tern_tcp_close(h->st, id, h->now);
    h_deliver(h, PEER(.seq = 5001, .ack = 1002, .flags = ACK));
    h_deliver(h, PEER(.seq = 5001, .ack = 1002, .flags = FIN | ACK));
    return id;
}

/* A released connection: the table's numbers, read from the TCB itself
 * (STATUS no longer knows the id). */
static bool
released_ok(struct h *h, const struct cstate_def *d)
{
    const struct tcp_tcb *t =
        tcp_hash_find(h->st, tern_ip4(US_ADDR), US_PORT, tern_ip4(PEER_ADDR), PEER_PORT);
    if (t != NULL && t->user_released && t->state == d->tern && t->iss == d->iss &&
        t->snd_una == d->snd_una && t->snd_nxt == d->snd_nxt && t->rcv_nxt == d->rcv_nxt &&
        tcp_rcv_window(h->st, t) == OUR_WND) {
        return true;
    }
    fprintf(stderr, "fixture %s: no released TCB with the table's numbers\n", d->name);
    return false;
}

/* Returns the user's id of the connection in state `s` (0 for CLOSED and
 * the released states, which have none), or -1 when the fixture failed. */
static int
enter_state(struct h *h, enum cstate s)
{
    int id = 0;
    switch (s) {
    case C_CLOSED:
        return 0;
    case C_LISTEN: {
        struct tern_tcp_open_args a = {
            .passive = true, .local_port = LISTEN_PORT, .set_iss = true, .iss = OUR_ISS};
        id = tern_tcp_open(h->st, &a, h->now);
        h->our_port = LISTEN_PORT;
        break;
    }
    case C_SYN_SENT:
        id = open_active(h);
        break;
    case C_SYN_RCVD: {
        struct tern_tcp_open_args a = {.passive = true,
                                       .local_port = US_PORT,
                                       .remote_addr = tern_ip4(PEER_ADDR),
                                       .remote_port = PEER_PORT,
                                       .set_iss = true,
                                       .iss = OUR_ISS};
        id = tern_tcp_open(h->st, &a, h->now);
        h_deliver(h, PEER(.seq = PEER_ISS, .flags = SYN));
        break;
    }
    case C_SYN_RCVD_A:
        id = open_active(h);
        h_deliver(h, PEER(.seq = PEER_ISS, .flags = SYN));
        break;
    case C_ESTABLISHED:
        id = to_established(h);
        break;
    case C_FIN_WAIT_1:
        id = to_fin_wait_1(h);
        break;
    case C_FIN_WAIT_2:
        id = to_fin_wait_2(h);
        break;
    case C_CLOSE_WAIT:
        id = to_close_wait(h);
        break;
    case C_CLOSING:
        id = to_fin_wait_1(h);
        h_deliver(h, PEER(.seq = 5001, .ack = 1001, .flags = FIN | ACK));
        break;
    case C_LAST_ACK:
        id = to_close_wait(h);
        tern_tcp_close(h->st, id, h->now);
        break;
    case C_TIME_WAIT:
        id = to_fin_wait_2(h);
        h_deliver(h, PEER(.seq = 5001, .ack = 1002, .flags = FIN | ACK));
        break;
    case C_TIME_WAIT_L:
        id = to_time_wait_child(h);
        break;
    case C_FIN_WAIT_1_R:
    case C_FIN_WAIT_2_R:
        id = s == C_FIN_WAIT_1_R ? to_fin_wait_1(h) : to_fin_wait_2(h);
        if (id <= 0 || tern_tcp_release(h->st, id, h->now) != TERN_OK) {
            return -1;
        }
        return released_ok(h, &cstates[s]) ? 0 : -1;
    case C_COUNT:
        return -1;
    }
    if (id <= 0) {
        return -1;
    }
    /* The fixture must have produced the table's numbers. */
    const struct cstate_def *d = &cstates[s];
    struct tern_tcp_status stt;
    if (tern_tcp_status(h->st, id, &stt) != TERN_OK || stt.state != d->tern) {
        return -1;
    }
    if (s != C_LISTEN &&
        (stt.iss != d->iss || stt.snd_una != d->snd_una || stt.snd_nxt != d->snd_nxt ||
         (s != C_SYN_SENT && (stt.rcv_nxt != d->rcv_nxt || stt.rcv_wnd != OUR_WND)))) {
        fprintf(stderr,
                "fixture %s: ISS %u SND.UNA %u SND.NXT %u RCV.NXT %u RCV.WND %u differ from the "
                "table\n",
                d->name, stt.iss, stt.snd_una, stt.snd_nxt, stt.rcv_nxt, stt.rcv_wnd);
        return -1;
    }
    return id;
}

/* ---- one case ---- */

struct combo {
    enum cstate s;
    enum kind k;
    enum seqpos q;
    enum ackval a;
    uint32_t seq, ack; /* the values delivered */
};

static uint32_t
seq_value(enum cstate s, enum seqpos q)
{
    uint32_t nxt = cstates[s].rcv_nxt;
    switch (q) {
    case Q_BELOW:
        return nxt - SEQ_DELTA;
    case Q_AT:
        return nxt;
    case Q_IN:
        return nxt + SEQ_DELTA;
    case Q_BEYOND:
    case Q_COUNT:
        break;
    }
    return nxt + OUR_WND;
}

static uint32_t
ack_value(enum cstate s, enum ackval a)
{
    const struct cstate_def *d = &cstates[s];
    switch (a) {
    case A_OLD:
        return d->snd_una - d->max_snd_wnd - 1;
    case A_DUP:
        return d->snd_una - 1;
    case A_OK:
        return d->ack_ok;
    case A_AHEAD:
    case A_COUNT:
        break;
    }
    return d->snd_nxt + 1;
}

static const struct rule *
match_rule(const struct combo *c)
{
    for (size_t i = 0; i < N_RULES; i++) {
        const struct rule *r = &rules[i];
        if ((r->states >> c->s & 1) && (r->kinds >> c->k & 1) && (r->seqs >> c->q & 1) &&
            (r->acks >> c->a & 1)) {
            return r;
        }
    }
    return NULL;
}

/* The one segment the rule expects, filled from the state and the segment
 * delivered. Returns false for O_NOTHING. */
static bool
expected_segment(const struct rule *r, const struct combo *c, uint32_t *seq, uint32_t *ack,
                 uint8_t *flags)
{
    const struct cstate_def *d = &cstates[c->s];
    *ack = 0;
    switch (r->out) {
    case O_NOTHING:
        return false;
    case O_ACK:
    case O_CHALLENGE:
        *seq = d->snd_nxt, *ack = d->rcv_nxt, *flags = ACK;
        return true;
    case O_ACK_FIN:
        *seq = d->snd_nxt, *ack = d->rcv_nxt + 1, *flags = ACK;
        return true;
    case O_ACK_TEXT:
        *seq = d->snd_nxt, *ack = d->rcv_nxt + TEXT_LEN, *flags = ACK;
        return true;
    case O_ACK_SYN:
        *seq = d->iss + 1, *ack = c->seq + 1, *flags = ACK;
        return true;
    case O_ACK_SYN_TEXT:
        *seq = d->iss + 1, *ack = c->seq + 1 + TEXT_LEN, *flags = ACK;
        return true;
    case O_SYNACK:
    case O_SYNACK_NEW:
        *seq = d->iss, *ack = c->seq + 1, *flags = SYN | ACK;
        return true;
    case O_RST:
        *seq = c->ack, *flags = RST;
        return true;
    case O_RST_ACK:
        *seq = 0, *ack = c->seq + kind_len[c->k], *flags = RST | ACK;
        return true;
    }
    return false;
}

static enum uev
classify_events(const struct h *h, int id)
{
    unsigned bits = 0;
    int err = 0;
    for (int i = 1; i < 256; i++) {
        bits |= h->events[i];
        if (h->events[i] & TERN_TCP_EV_ERROR) {
            err = h->last_err[i];
        }
    }
    (void)id;
    bits &= TERN_TCP_EV_CONNECTED | TERN_TCP_EV_PEER_FIN | TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR |
            TERN_TCP_EV_ACCEPT_READY | TERN_TCP_EV_URGENT;
    switch (bits) {
    case 0:
        return EV_NONE;
    case TERN_TCP_EV_CONNECTED:
        return EV_CONNECTED;
    case TERN_TCP_EV_CONNECTED | TERN_TCP_EV_PEER_FIN:
        return EV_CONNECTED_FIN;
    case TERN_TCP_EV_PEER_FIN:
        return EV_PEER_FIN;
    case TERN_TCP_EV_URGENT:
        return EV_URGENT;
    case TERN_TCP_EV_CONNECTED | TERN_TCP_EV_URGENT:
        return EV_CONNECTED_URG;
    case TERN_TCP_EV_CLOSED:
        return EV_CLOSED;
    case TERN_TCP_EV_CLOSED | TERN_TCP_EV_ERROR:
        return err == TERN_ERR_RESET ? EV_RESET : err == TERN_ERR_REFUSED ? EV_REFUSED : EV_OTHER;
    default:
        return EV_OTHER;
    }
}

/* The state of the connection for this remote: a new record (a listener's
 * child, a reopened TIME-WAIT, a compact record of src/tcp/mini.c) when
 * there is one, else the user's. */
static int
observed_state(struct h *h, int id)
{
    struct tcp_tcb *t =
        tcp_hash_find(h->st, tern_ip4(US_ADDR), h->our_port, tern_ip4(PEER_ADDR), PEER_PORT);
    if (t != NULL && t->id != id) {
        return (int)t->state;
    }
    int rec = t == NULL ? h_tuple_state(h, h->our_port) : -1;
    if (rec >= 0) {
        return rec; /* a compact record: TIME-WAIT or an embryonic connection */
    }
    if (id <= 0) {
        return t != NULL ? (int)t->state : TERN_TCP_CLOSED;
    }
    return h_state(h, id);
}

struct tally {
    int passed, failed, deviations;
    unsigned rule_hits[256];
};

static void
fmt_seg(char *buf, size_t cap, bool present, uint32_t seq, uint32_t ack, uint8_t flags, size_t len)
{
    if (!present) {
        snprintf(buf, cap, "nothing");
        return;
    }
    char f[40];
    h_flags_str(flags, f);
    if (flags & ACK) {
        snprintf(buf, cap, "<SEQ=%u><ACK=%u><CTL=%s>%s", seq, ack, f, len ? " +text" : "");
    } else {
        snprintf(buf, cap, "<SEQ=%u><CTL=%s>%s", seq, f, len ? " +text" : "");
    }
}

static void
run_case(const struct combo *c, struct tally *t)
{
    const struct rule *r = match_rule(c);
    const struct cstate_def *d = &cstates[c->s];
    char where[200];
    snprintf(where, sizeof(where), "state %s, %s <SEQ=%u (%s)><ACK=%u (%s)%s>", d->name,
             kind_names[c->k], c->seq, seq_names[c->q], c->ack, ack_names[c->a],
             (kind_flags[c->k] & ACK) ? "" : ", ACK bit off");
    if (r == NULL) {
        fprintf(stderr, "FAIL %s: no rule matches\n", where);
        t->failed++;
        return;
    }
    t->rule_hits[r - rules]++;

    struct h *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        exit(2);
    }
    h_init(h);
    int id = enter_state(h, c->s);
    if (id < 0) {
        fprintf(stderr, "FAIL %s: could not bring the stack into the state\n", where);
        t->failed++;
        h_fini(h);
        free(h);
        return;
    }
    h->n_sent = h->next = 0;
    memset(h->events, 0, sizeof(h->events));
    memset(h->last_err, 0, sizeof(h->last_err));
    uint64_t challenges = h->st->stats.tcp.challenge_acks;

    bool text = c->k == K_DATA || c->k == K_SYNACK_TEXT || c->k == K_DATA_URG;
    h_deliver(h, PEER(.seq = c->seq, .ack = c->ack, .flags = kind_flags[c->k], .up = kind_up[c->k],
                      .data = text ? TEXT : NULL));

    /* What was sent: at most one segment is expected (MUST-58). */
    struct wire_tcp got;
    memset(&got, 0, sizeof(got));
    bool sent = h->n_sent > 0 && h_next_sent(h, &got, __LINE__);
    unsigned n_sent = h->n_sent;
    uint32_t eseq = 0, eack = 0;
    uint8_t eflags = 0;
    bool want = expected_segment(r, c, &eseq, &eack, &eflags);
    bool seg_ok = n_sent == (want ? 1u : 0u);
    if (seg_ok && want) {
        bool seq_ok = r->out == O_SYNACK_NEW ? seq_gt(got.seq, d->snd_nxt - 1) : got.seq == eseq;
        seg_ok = seq_ok && got.flags == eflags && (!(eflags & ACK) || got.ack == eack) &&
                 got.payload_len == 0;
    }
    if (seg_ok && r->out == O_CHALLENGE) {
        seg_ok = h->st->stats.tcp.challenge_acks == challenges + 1;
    }
    int want_state = r->new_state == SAME ? (int)d->tern : r->new_state;
    int got_state = observed_state(h, id);
    enum uev got_ev = classify_events(h, id);
    bool ev_ok =
        r->ev == EV_CLOSED_ANY ? (got_ev == EV_CLOSED || got_ev == EV_RESET) : got_ev == r->ev;
    /* Where the user is told of urgent data, RCV.UP is SEG.SEQ + SEG.UP, the
     * octet after the urgent data (MUST-62): the urgent data left to read
     * runs from the first unread octet (the state's RCV.NXT: the user reads
     * nothing) up to it, received or not. */
    bool urg_expected = r->ev == EV_URGENT || r->ev == EV_CONNECTED_URG;
    uint32_t want_mark = c->seq + kind_up[c->k] - d->rcv_nxt;
    struct tern_tcp_urgent u = {0};
    bool urg_ok = !urg_expected ||
                  (tern_tcp_urgent(h->st, id, &u) == TERN_OK && u.pending && u.mark == want_mark);
    bool ok = seg_ok && got_state == want_state && ev_ok && urg_ok;

    if (ok && !r->known_deviation) {
        t->passed++;
    } else {
        const char *verdict = ok                   ? "FAIL (known deviation no longer deviates)"
                              : r->known_deviation ? "KNOWN DEVIATION"
                                                   : "FAIL";
        if (r->known_deviation && !ok) {
            t->deviations++;
        } else {
            t->failed++;
        }
        char es[120], gs[120], us[120] = "";
        if (!urg_ok) {
            snprintf(us, sizeof(us),
                     "    urgent data left to read: expected %u octets (to SEG.SEQ+SEG.UP), "
                     "got %s%u\n",
                     want_mark, u.pending ? "" : "no urgent mode, ", u.mark);
        }
        if (r->out == O_SYNACK_NEW) {
            snprintf(es, sizeof(es), "<SEQ>%u><ACK=%u><CTL=SYN,ACK>", d->snd_nxt - 1, eack);
        } else {
            fmt_seg(es, sizeof(es), want, eseq, eack, eflags, 0);
        }
        fmt_seg(gs, sizeof(gs), sent, got.seq, got.ack, got.flags, got.payload_len);
        fprintf(stderr,
                "%s %s\n"
                "    rule line %d: %s\n"
                "    expected: sent %s (%s)%s, state %s, event %s\n"
                "    actual:   sent %s%s%s, state %s, event %s\n"
                "%s",
                verdict, where, r->line, r->cite, es, out_names[r->out],
                r->out == O_CHALLENGE ? " counted as challenge ACK" : "",
                tern_tcp_state_name(want_state), uev_names[r->ev], gs,
                n_sent > 1 ? " and more" : "",
                r->out == O_CHALLENGE && h->st->stats.tcp.challenge_acks == challenges
                    ? " (not counted as challenge ACK)"
                    : "",
                tern_tcp_state_name(got_state), uev_names[got_ev], us);
    }
    h_fini(h);
    free(h);
}

int
main(void)
{
    static struct tally t;
    _Static_assert(N_RULES <= 256, "rule_hits is too small");
    int combos = 0;
    for (int s = 0; s < C_COUNT; s++) {
        for (int k = 0; k < K_COUNT; k++) {
            for (int q = 0; q < Q_COUNT; q++) {
                for (int a = 0; a < A_COUNT; a++) {
                    struct combo c = {
                        (enum cstate)s, (enum kind)k, (enum seqpos)q, (enum ackval)a, 0, 0};
                    c.seq = seq_value(c.s, c.q);
                    c.ack = ack_value(c.s, c.a);
                    run_case(&c, &t);
                    combos++;
                }
            }
        }
    }
    /* A rule no combination reaches is dead (shadowed by an earlier one). */
    for (size_t i = 0; i < N_RULES; i++) {
        if (t.rule_hits[i] == 0) {
            fprintf(stderr, "FAIL rule line %d is never used: %s\n", rules[i].line, rules[i].cite);
            t.failed++;
        }
    }
    printf("%d combinations, %zu rules: %d known deviations (RFC expectation kept, tern "
           "differs)\n",
           combos, N_RULES, t.deviations);
    check_st.tests_passed = t.passed;
    check_st.tests_failed = t.failed;
    return CHECK_DONE();
}
