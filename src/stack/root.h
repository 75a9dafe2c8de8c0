/*
 * src/stack/root.h: the composition root: the one place that knows every
 * layer. Never installed. A stack is one block holding the core context
 * (core/core.h) and the state of each layer; tern_stack_new() sets the
 * context's pointers to the states, calls each layer's init and makes the
 * registrations between them (ip with link, tcp and udp with ip). No layer includes
 * this header; tests that look inside a whole stack do.
 */
#ifndef TERN_STACK_ROOT_H
#define TERN_STACK_ROOT_H

#include "core/core.h"
#include "ip/ip.h"
#include "link/link.h"
#include "tcp/tcp.h"
#include "udp/udp.h"

struct stack_root {
    struct tern_stack st; /* first: a struct tern_stack * is the root's address */
    struct link_state link;
    struct ip_state ip;
    struct tcp_state tcp;
    struct udp_state udp;
    uint16_t mtu0[TERN_MAX_NETIFS]; /* each interface's MTU as configured: the most
                                       tern_stack_set_mtu may give it (buffers are sized
                                       from it) */
};

#endif
