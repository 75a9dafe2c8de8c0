/*
 * include/tern/trace.h: trace events, the one record of every decision.
 *
 * When the stack receives, sends, drops, changes a connection's state or
 * fires a timer it emits one event naming the rule that made it act
 * (DESIGN principle 5). The user installs one callback per stack; the
 * simulator's diagram renderer, the debug log and the tests all read the
 * same events. Events are delivered synchronously, from inside the stack
 * call that caused them; the callback must not call back into that stack.
 */
#ifndef TERN_TRACE_H
#define TERN_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/addr.h"

#include "tern/stats.h"

enum tern_trace_kind {
    TERN_TRACE_RX,    /* a datagram accepted by a layer */
    TERN_TRACE_TX,    /* a datagram handed to a driver */
    TERN_TRACE_DROP,  /* a datagram dropped; .drop says why */
    TERN_TRACE_STATE, /* a connection changed state */
    TERN_TRACE_TIMER, /* a timer armed, cancelled or fired */
    TERN_TRACE_EVENT, /* anything else worth a line: an ICMP error delivered, a reset sent... */
};

/* A TCP segment as the state machine saw it (host order). `state` is the
 * connection's state when the segment was sent or arrived (enum
 * tern_tcp_state), or -1 when no connection was involved. */
struct tern_trace_tcp {
    struct tern_ip src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags; /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 */
    uint16_t wnd;
    uint32_t len; /* text length (SEG.LEN minus SYN and FIN) */
    int state;
};

struct tern_trace_event {
    enum tern_trace_kind kind;
    int64_t now_ns;
    const char *layer; /* "ip", "icmp", "tcp", "sim" */
    /* Static text naming the rule, e.g. "RFC 792: echo reply"; NULL when
     * the library was built without rule texts (CMake -DTERN_RULE_TEXT=OFF,
     * which defines TERN_NO_RULE_TEXT): the kind, drop reason, states and
     * segment fields stay, and so does rule_id. */
    const char *rule;
    /* The rule's id, in both builds: tern_rule_id(rule), a number derived
     * from the text alone (0: no rule). tools/rule_ids.py lists the id of
     * every rule text in the source tree and prints the text of an id, so
     * the ids a build without texts reports can be read on a host. */
    uint32_t rule_id;
    enum tern_drop_reason drop; /* for TERN_TRACE_DROP, else TERN_DROP_COUNT */
    const uint8_t *pkt;         /* the IPv4 datagram concerned, or NULL; valid during the call */
    size_t pkt_len;
    uint32_t conn;            /* connection id for TCP events, else 0 */
    int old_state, new_state; /* for TERN_TRACE_STATE */
    /* TCP events about one segment (layer "tcp": TX sent, RX arrived, DROP
     * dropped) carry its fields here, else NULL; valid during the call. */
    const struct tern_trace_tcp *tcp;
};

typedef void (*tern_trace_fn)(void *ctx, const struct tern_trace_event *ev);

const char *tern_trace_kind_name(enum tern_trace_kind k);

/* The id of a rule text, as event.rule_id gives it: the sum of each byte
 * c[i] times M^(i+1), modulo 2^32, with M = 0x9e3779b1 (src/core/rule.h).
 * 0 for NULL. No two rule texts of the library share an id, and none has
 * id 0 (tools/rule_ids.py checks both). */
uint32_t tern_rule_id(const char *text);

#endif
