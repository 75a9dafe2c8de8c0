/*
 * tests/unit/test_tcp_prr.c: Proportional Rate Reduction (RFC 6937) on
 * the RFC's own examples (3.1): cwnd = FlightSize = pipe = 20 segments,
 * ssthresh 10, limited transmit on the first two duplicate ACKs, then the
 * first round trip of the recovery, one ACK per segment that arrived.
 *
 * The driver below plays the sender with the real RFC 6675 scoreboard
 * (sack.h: Update, SetPipe, NextSeg) and prr.h deciding how much goes out
 * on each ACK; every segment is 1000 bytes. The stack tests after it run
 * the same two cases, scaled to IW10 (cwnd 10, ssthresh 5 segments of
 * 1460), through a whole stack (tcp_harness.h): input.c accounting
 * DeliveredData, output.c sending only what sndcnt allows.
 */
#include "check.h"
#include "tcp_harness.h"

#include "tcp/prr.h"
#include "tcp/sack.h"
#include "tcp/seq.h"

#define MSS     1000u
#define NSEG    20u
#define SSTHRES (10u * MSS)

struct run {
    unsigned sent[NSEG];  /* segments sent on the ACK of segment i */
    uint32_t pipe[NSEG];  /* pipe (segments) on that ACK before sending */
    uint32_t pipe_end;    /* pipe after the last ACK, segments */
    unsigned retransmits; /* of them, retransmissions */
};

/* Segments [0, lost) are lost; the others are SACKed one ACK each. */
static void
play(unsigned lost, bool conservative, struct run *r)
{
    struct tcp_sack_sb sb;
    tcp_sack_sb_init(&sb);
    struct tcp_prr prr;
    uint32_t snd_nxt = NSEG * MSS, high_rxt = 0;
    unsigned dupacks = 0;
    bool recovery = false;
    *r = (struct run){0};
    for (unsigned i = lost; i < NSEG; i++) {
        struct tcp_sack_block b = {i * MSS, (i + 1) * MSS};
        uint32_t delivered = tcp_sack_update(&sb, 0, snd_nxt, &b, 1);
        dupacks++;
        uint32_t pipe = tcp_sack_pipe(&sb, 0, snd_nxt, high_rxt, MSS);
        r->pipe[i] = pipe / MSS;
        if (!recovery && dupacks < 3 && !tcp_sack_is_lost(&sb, 0, MSS)) {
            snd_nxt += MSS; /* RFC 3042 limited transmit */
            r->sent[i]++;
            continue;
        }
        if (!recovery) {
            /* RFC 6937 3: ssthresh set, RecoverFS = FlightSize without
             * the limited-transmit segments (RFC 5681 3.2 step 2). */
            recovery = true;
            tcp_prr_init(&prr, NSEG * MSS);
        }
        tcp_prr_on_ack(&prr, delivered, pipe, SSTHRES, MSS, conservative);
        while (prr.sndcnt > 0) {
            uint32_t seq = 0, len = 0;
            enum tcp_sack_next k =
                tcp_sack_next_seg(&sb, 0, snd_nxt, high_rxt, MSS, true, false, &seq, &len);
            if (k == TCP_SACK_NEXT_NONE) {
                break;
            }
            if (k == TCP_SACK_NEXT_NEW) {
                len = MSS;
                snd_nxt += MSS;
            } else {
                high_rxt = seq + len;
                r->retransmits++;
            }
            tcp_prr_sent(&prr, len);
            r->sent[i]++;
        }
    }
    r->pipe_end = tcp_sack_pipe(&sb, 0, snd_nxt, high_rxt, MSS) / MSS;
}

/* EVIDENCE: RFC 6937 3.1, first figure (one loss): PRR spreads the
 * reduction over the round trip, one segment on every other ACK, instead
 * of RFC 6675's half window of silence; pipe ends at ssthresh.
 *
 * The figure's "sent" row reads N N R . N . N . N . N . N . N . . N N
 * (ACKs 1..19). The RFC's pseudocode, with exact SetPipe, agrees through
 * ACK 16; the figure then sends on ACKs 18 and 19 and not on 17, but its
 * own pipe row is not consistent with SetPipe there (it shows pipe 18 on
 * ACK 5 after sending where SetPipe gives 17 before). Following the
 * pseudocode, the one segment still due goes out on ACK 17, where
 * CEIL(15 * 10 / 20) = 8 exceeds prr_out 7, and ACKs 18 and 19 send
 * nothing, pipe being exactly ssthresh (10) then. The total, R + 7 N, is
 * what brings pipe to ssthresh. */
static void
test_rfc6937_single_loss(void)
{
    static const unsigned want[NSEG] = {0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0};
    for (int crb = 0; crb <= 1; crb++) {
        /* RFC 6937 3.1: with a single loss both bounds behave alike. */
        struct run r;
        play(1, crb == 1, &r);
        for (unsigned i = 1; i < NSEG; i++) {
            CHECK_EQ(r.sent[i], want[i]);
        }
        CHECK_EQ(r.retransmits, 1);
        CHECK_EQ(r.pipe[1], 19); /* the figure's pipe row on ACKs 1..4 */
        CHECK_EQ(r.pipe[2], 19);
        CHECK_EQ(r.pipe[3], 18);
        CHECK_EQ(r.pipe[4], 18);
        CHECK_EQ(r.pipe_end, SSTHRES / MSS);
    }
}

/* EVIDENCE: RFC 6937 3.1, the burst of 15 losses (segments 0-14; only
 * ACKs 15-19 return). PRR-CRB: pipe 4 4 4, one retransmission per ACK
 * after fast retransmit (RB "b": sndcnt = prr_delivered - prr_out).
 * PRR-SSRB: pipe 4 5 6, two retransmissions per ACK (RB "d": sndcnt =
 * DeliveredData + SMSS), slow start towards ssthresh. */
static void
test_rfc6937_burst_loss(void)
{
    struct run r;
    play(15, true, &r);      /* PRR-CRB */
    CHECK_EQ(r.sent[15], 1); /* limited transmit, N */
    CHECK_EQ(r.sent[16], 1);
    CHECK_EQ(r.sent[17], 1); /* R */
    CHECK_EQ(r.sent[18], 1);
    CHECK_EQ(r.sent[19], 1);
    CHECK_EQ(r.pipe[15], 19);
    CHECK_EQ(r.pipe[16], 19);
    CHECK_EQ(r.pipe[17], 4);
    CHECK_EQ(r.pipe[18], 4);
    CHECK_EQ(r.pipe[19], 4);
    CHECK_EQ(r.retransmits, 3);

    play(15, false, &r); /* PRR-SSRB */
    CHECK_EQ(r.sent[15], 1);
    CHECK_EQ(r.sent[16], 1);
    CHECK_EQ(r.sent[17], 2); /* 2R */
    CHECK_EQ(r.sent[18], 2);
    CHECK_EQ(r.sent[19], 2);
    CHECK_EQ(r.pipe[17], 4);
    CHECK_EQ(r.pipe[18], 5);
    CHECK_EQ(r.pipe[19], 6);
    CHECK_EQ(r.retransmits, 6);
}

/* EVIDENCE: RFC 6937 3 arithmetic on its own: the proportional part
 * rounds up (CEIL), never goes negative, and the reduction bounds cap at
 * ssthresh - pipe. */
static void
test_prr_arithmetic(void)
{
    struct tcp_prr p;
    tcp_prr_init(&p, 20000);
    /* 1 of 20 delivered, ssthresh 10 of 20: CEIL(500) = 500 bytes. */
    CHECK_EQ(tcp_prr_on_ack(&p, 1000, 18000, 10000, 1000, false), 500);
    tcp_prr_sent(&p, 1000);
    CHECK_EQ(p.sndcnt, 0);
    CHECK_EQ(p.out, 1000);
    /* 2 of 20: CEIL(1000) - 1000 = 0. */
    CHECK_EQ(tcp_prr_on_ack(&p, 1000, 18000, 10000, 1000, false), 0);
    /* Below ssthresh: the gap caps both bounds. */
    CHECK_EQ(tcp_prr_on_ack(&p, 5000, 9500, 10000, 1000, false), 500);
    CHECK_EQ(tcp_prr_on_ack(&p, 0, 9500, 10000, 1000, true), 500);
    /* CRB: nothing banked, nothing sent; SSRB: one SMSS more than this ACK. */
    tcp_prr_sent(&p, 7000); /* out 8000, delivered 7000: nothing banked */
    CHECK_EQ(tcp_prr_on_ack(&p, 0, 2000, 10000, 1000, true), 0);
    CHECK_EQ(tcp_prr_on_ack(&p, 0, 2000, 10000, 1000, false), 1000);
    CHECK_EQ(tcp_prr_on_ack(&p, 3000, 2000, 10000, 1000, false), 4000);
    /* CEIL where the quotient is not whole: RecoverFS 30000, ssthresh
     * 21000 (CUBIC's 0.7), 1000 delivered: 700 exactly; 1448: 1013.6 ->
     * 1014. */
    tcp_prr_init(&p, 30000);
    CHECK_EQ(tcp_prr_on_ack(&p, 1000, 29000, 21000, 1448, false), 700);
    CHECK_EQ(tcp_prr_on_ack(&p, 448, 29000, 21000, 1448, false), 1014);
}

/* ---- through the stack ---- */

static enum tern_tcp_prr prr_mode;
static enum tern_tcp_loss_detection loss_mode;

static void
tweak_prr(struct tern_config *c)
{
    c->tcp.no_timestamps = true; /* four SACK blocks, simple segments */
    c->tcp.sndbuf = 64 * 1024;
    c->tcp.prr = prr_mode;
    c->tcp.loss_detection = loss_mode;
}

#define SEG 1460u
#define MS  1000000LL

/* Established with SACK, peer window 64 KiB; 20 segments queued, the
 * first 10 sent (IW10). */
static int
open_and_send(struct h *h, enum tern_tcp_prr mode, enum tern_tcp_loss_detection loss)
{
    prr_mode = mode;
    loss_mode = loss;
    h_init_cfg(h, tweak_prr);
    int id = h_syn_sent(h);
    struct topts o = {.sackp = true};
    h_deliver_opts(h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = SEG, .wnd = 65535),
                   &o);
    EXPECT_SENT(h, US(.seq = 101, .ack = 301, .flags = ACK));
    static char big[SEG * 20];
    memset(big, 'p', sizeof(big));
    CHECK_EQ(tern_tcp_send(h->st, id, big, sizeof(big), h->now), (int)sizeof(big));
    return id;
}

/* Counts what we sent since the last call: new segments (above every
 * sequence number sent before) and retransmissions. */
static void
count_sent(struct h *h, uint32_t *high, unsigned *n_new, unsigned *n_rtx)
{
    *n_new = *n_rtx = 0;
    struct wire_tcp t;
    while (h->next < h->n_sent && h_next_sent(h, &t, __LINE__)) {
        if (t.payload_len == 0) {
            continue;
        }
        if (seq_ge(t.seq, *high)) {
            (*n_new)++;
            *high = t.seq + (uint32_t)t.payload_len;
        } else {
            (*n_rtx)++;
        }
    }
}

/* The peer SACKs segments [1 + a, 1 + b) with SND.UNA still at 101 (one
 * block: the segments it holds are contiguous in these cases). */
static void
sack_ack(struct h *h, unsigned a, unsigned b)
{
    struct topts o = {.n_sack = 1, .sack = {{101 + SEG * a, 101 + SEG * b}}};
    h_deliver_opts(h, PEER(.seq = 301, .ack = 101, .flags = ACK, .wnd = 65535), &o);
}

/* EVIDENCE: RFC 6937 3 (3.1 one loss): in the stack, segment 0 of 10 is
 * lost and 1..9 are SACKed one per ACK: limited transmit on ACKs 1 and 2,
 * the fast retransmission on 3, then one new segment on every other ACK
 * (CEIL(prr_delivered * 5 / 10) - prr_out), with either bound, until pipe
 * is ssthresh (5) on ACK 9. RFC 6675 alone (prr off) is silent until pipe
 * falls below cwnd = ssthresh, then sends on ACKs 8 and 9: the same total,
 * half a round trip later. */
static void
test_stack_single_loss(void)
{
    static const unsigned prr_new[10] = {0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    static const unsigned off_new[10] = {0, 1, 1, 0, 0, 0, 0, 0, 1, 1};
    const enum tern_tcp_prr modes[] = {TERN_TCP_PRR_SSRB, TERN_TCP_PRR_CRB, TERN_TCP_PRR_OFF};
    for (unsigned m = 0; m < 3; m++) {
        struct h h;
        open_and_send(&h, modes[m], TERN_TCP_LOSS_RFC6675);
        uint32_t high = 101;
        unsigned n_new, n_rtx;
        count_sent(&h, &high, &n_new, &n_rtx);
        CHECK_EQ(n_new, 10);
        for (unsigned i = 1; i < 10; i++) {
            sack_ack(&h, 1, 1 + i);
            count_sent(&h, &high, &n_new, &n_rtx);
            unsigned want = modes[m] == TERN_TCP_PRR_OFF ? off_new[i] : prr_new[i];
            if (n_new != want) {
                fprintf(stderr, "mode %u ACK %u: %u new, want %u\n", m, i, n_new, want);
            }
            CHECK_EQ(n_new, want);
            CHECK_EQ(n_rtx, i == 3 ? 1u : 0u);
        }
        h_fini(&h);
    }
}

/* EVIDENCE: RFC 6937 3 (3.1 burst of losses): segments 0-6 of 10 lost,
 * 7-9 SACKed (the third ACK enters recovery with pipe 2 < ssthresh 5),
 * then the two limited-transmit segments are SACKed. PRR-SSRB sends
 * DeliveredData + 1 SMSS per ACK (2, 2, then 1 more reaches ssthresh);
 * PRR-CRB only what was delivered (1, 1, 1). */
static void
test_stack_burst_loss(void)
{
    static const unsigned ssrb_rtx[3] = {2, 2, 1};
    static const unsigned crb_rtx[3] = {1, 1, 1};
    for (int crb = 0; crb <= 1; crb++) {
        struct h h;
        open_and_send(&h, crb ? TERN_TCP_PRR_CRB : TERN_TCP_PRR_SSRB, TERN_TCP_LOSS_RFC6675);
        uint32_t high = 101;
        unsigned n_new, n_rtx;
        count_sent(&h, &high, &n_new, &n_rtx);
        sack_ack(&h, 7, 8);
        count_sent(&h, &high, &n_new, &n_rtx);
        CHECK_EQ(n_new, 1); /* limited transmit */
        sack_ack(&h, 7, 9);
        count_sent(&h, &high, &n_new, &n_rtx);
        CHECK_EQ(n_new, 1);
        for (unsigned k = 0; k < 3; k++) {
            sack_ack(&h, 7, 10 + k);
            count_sent(&h, &high, &n_new, &n_rtx);
            CHECK_EQ(n_new, 0);
            CHECK_EQ(n_rtx, crb ? crb_rtx[k] : ssrb_rtx[k]);
        }
        h_fini(&h);
    }
}

/* EVIDENCE: RFC 8985 9.3 (PRR is RECOMMENDED for the recoveries RACK
 * starts) with RFC 6937 3: the single loss of test_stack_single_loss with
 * RACK deciding the loss, over a 100 ms RTT, the ACKs 1 ms apart. RACK
 * waits on ACKs 1 and 2 (reordering window min_RTT / 4; limited transmit
 * still sends), marks segment 0 lost on ACK 3 (three segments SACKed:
 * window 0) and resends it; from there PRR sends as in RFC 6675's
 * recovery, one new segment every other ACK, with either bound; with PRR
 * off, cwnd - pipe keeps the sender silent until ACK 8. Mutation checked:
 * tcp_prr_active false with RACK (as before) gives the PRR-off row for all
 * three modes. */
static void
test_stack_rack_single_loss(void)
{
    static const unsigned prr_new[10] = {0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    static const unsigned off_new[10] = {0, 1, 1, 0, 0, 0, 0, 0, 1, 1};
    const enum tern_tcp_prr modes[] = {TERN_TCP_PRR_SSRB, TERN_TCP_PRR_CRB, TERN_TCP_PRR_OFF};
    for (unsigned m = 0; m < 3; m++) {
        struct h h;
        prr_mode = modes[m];
        loss_mode = TERN_TCP_LOSS_RACK;
        h_init_cfg(&h, tweak_prr);
        int id = h_syn_sent(&h);
        h_advance(&h, 100 * MS); /* RTT 100 ms */
        struct topts o = {.sackp = true};
        h_deliver_opts(
            &h, PEER(.seq = 300, .ack = 101, .flags = SYN | ACK, .mss = SEG, .wnd = 65535), &o);
        EXPECT_SENT(&h, US(.seq = 101, .ack = 301, .flags = ACK));
        static char big[SEG * 20];
        memset(big, 'p', sizeof(big));
        CHECK_EQ(tern_tcp_send(h.st, id, big, sizeof(big), h.now), (int)sizeof(big));
        uint32_t high = 101;
        unsigned n_new, n_rtx;
        count_sent(&h, &high, &n_new, &n_rtx);
        CHECK_EQ(n_new, 10);
        h_advance(&h, 99 * MS);
        for (unsigned i = 1; i < 10; i++) {
            h_advance(&h, 1 * MS);
            sack_ack(&h, 1, 1 + i);
            count_sent(&h, &high, &n_new, &n_rtx);
            unsigned want = modes[m] == TERN_TCP_PRR_OFF ? off_new[i] : prr_new[i];
            if (n_new != want) {
                fprintf(stderr, "mode %u ACK %u: %u new, want %u\n", m, i, n_new, want);
            }
            CHECK_EQ(n_new, want);
            CHECK_EQ(n_rtx, i == 3 ? 1u : 0u);
        }
        CHECK_EQ(h.st->stats.tcp.fast_retransmits, 1);
        h_fini(&h);
    }
}

/* A prr setting outside enum tern_tcp_prr is refused, not guessed at. */
static void
test_config_checked(void)
{
    struct tern_config c;
    tern_config_init(&c);
    CHECK_EQ(c.tcp.prr, TERN_TCP_PRR_SSRB); /* the default, as Linux */
    c.tcp.prr = (enum tern_tcp_prr)7;
    c.seed = 42;
    c.deterministic = true;
    struct tern_stack *st = NULL;
    CHECK_EQ(tern_stack_new(&c, 0, &st), TERN_ERR_INVAL);
    CHECK(st == NULL);
    c.tcp.prr = TERN_TCP_PRR_OFF; /* the same config with a valid value is taken */
    CHECK_EQ(tern_stack_new(&c, 0, &st), TERN_OK);
    tern_stack_free(st);
    /* An RTO minimum above 4 s (what the connection keeps) is refused too. */
    c.tcp.rto_min_ns = 4000000001LL;
    st = NULL;
    CHECK_EQ(tern_stack_new(&c, 0, &st), TERN_ERR_INVAL);
    CHECK(st == NULL);
}

int
main(void)
{
    RUN(test_rfc6937_single_loss);
    RUN(test_rfc6937_burst_loss);
    RUN(test_prr_arithmetic);
    RUN(test_stack_single_loss);
    RUN(test_stack_burst_loss);
    RUN(test_stack_rack_single_loss);
    RUN(test_config_checked);
    return CHECK_DONE();
}
