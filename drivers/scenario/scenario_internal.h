/*
 * drivers/scenario/scenario_internal.h: the parsed form of a scenario,
 * shared by the parser (scenario.c) and the runner (run.c). Never installed.
 */
#ifndef TERN_DRIVERS_SCENARIO_INTERNAL_H
#define TERN_DRIVERS_SCENARIO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/scenario.h"

#define SC_MAX_HOSTS       8
#define SC_NAME            32
#define SC_TEXT            128
#define SC_INJECT_DATA_MAX 1400 /* text of an injected segment */

struct sc_host {
    char name[SC_NAME];
    uint32_t addr;   /* host order */
    int64_t msl_ns;  /* 0: the stack default */
    int64_t rto_ns;  /* initial RTO; 0: default */
    int loss;        /* loss detection: -1 the stack default, else a
                        enum tern_tcp_loss_detection value */
    unsigned netifs; /* interfaces used so far by links */
};

/* A segment written the RFC's way: <SEQ=90><ACK=91><CTL=SYN,ACK><DATA=10>.
 * For `expect ... sent`, only the fields present are compared. */
struct sc_seg {
    bool has_seq, has_ack, has_ctl, has_data, has_wnd;
    uint32_t seq, ack;
    uint8_t flags; /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 */
    uint32_t data_len;
    uint16_t wnd;
};

enum sc_op {
    SC_WAIT,         /* dur (0: until no segment is in flight) */
    SC_LISTEN,       /* host port [iss] [backlog] */
    SC_OPEN,         /* host -> host2:port2 [port] [iss] */
    SC_SEND,         /* host, count bytes */
    SC_CLOSE,        /* host */
    SC_ABORT,        /* host */
    SC_ISS,          /* host, iss */
    SC_CRASH,        /* host */
    SC_RESTART,      /* host */
    SC_REBOOT,       /* host */
    SC_HOLD,         /* host [count] */
    SC_DROP,         /* host [count] */
    SC_DELAY,        /* host dur [count] */
    SC_RELEASE,      /* host, or -1 for all */
    SC_INJECT,       /* host:port -> host2:port2 seg */
    SC_DRAW,         /* on (count 1) / off (count 0) */
    SC_EXPECT_STATE, /* host, state */
    SC_EXPECT_EVENT, /* host, event bit or error; negate */
    SC_EXPECT_SENT,  /* host, seg; negate */
    SC_EXPECT_CWND,  /* host, count bytes; state 0 cwnd, 1 ssthresh; negate */
};

/* Expectable events: TERN_TCP_EV_* bits, or errors (negative). */
struct sc_event_name {
    const char *name;
    unsigned bit; /* 0 for an error */
    int err;
};

struct sc_stmt {
    enum sc_op op;
    int line;
    int host, host2;
    uint16_t port, port2;
    bool has_iss;
    uint32_t iss;
    unsigned backlog;
    uint32_t count;
    int64_t dur;
    int state;       /* SC_EXPECT_STATE */
    unsigned ev_bit; /* SC_EXPECT_EVENT */
    int ev_err;
    bool negate;
    bool has_times; /* SC_EXPECT_SENT: exactly `count` matching segments */
    struct sc_seg seg;
    char text[SC_TEXT]; /* the statement as written, for messages */
    char data[SC_TEXT]; /* SC_SEND: the quoted text; empty for a byte count */
};

struct tern_scenario {
    char name[SC_TEXT];
    char title[SC_TEXT];
    struct sc_host hosts[SC_MAX_HOSTS];
    int n_hosts;
    bool has_link;
    int link_a, link_b;
    int64_t link_delay_ns;
    int draw_left, draw_right; /* -1: the first two hosts */
    enum tern_diagram_data_style data_style;
    uint64_t seed;
    struct sc_stmt *stmts;
    size_t n_stmts, cap_stmts;
};

/* Formats a segment spec the RFC's way, for messages. */
void sc_seg_format(const struct sc_seg *s, char *out, size_t cap);

#endif
