/*
 * src/core/stack_internal.h: the stack object as the modules inside tern see
 * it. Never installed. Each layer keeps its state in its own struct, defined
 * in its own internal header, embedded here.
 */
#ifndef TERN_CORE_STACK_INTERNAL_H
#define TERN_CORE_STACK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/rng.h"
#include "core/rule.h"
#include "core/timer.h"
#include "ip/ip.h"
#include "link/link.h"
#include "tcp/tcp.h"
#include "tern/stack.h"

struct tern_stack {
    struct tern_config cfg; /* a copy of what the user gave, defaults filled in */
    int64_t now_ns;         /* the latest time the caller gave us */
    struct rng rng;         /* seeded from cfg.seed */
    uint8_t hash_key[16];   /* SipHash key, derived from cfg.seed */
    struct timer_wheel timers;
    struct tern_stats stats; /* stats.pool is copied from pool when read */
    struct pool pool;        /* buffer memory for TCP and reassembly (cfg.pool_bytes) */
    tern_trace_fn trace;
    void *trace_ctx;
    tern_echo_fn echo_fn;
    void *echo_ctx;
    struct link_state link;
    struct ip_state ip;
    struct tcp_state tcp;
};

/* Memory, through the configured allocator. stack_alloc zero-fills. Only
 * tern_stack_new and tern_stack_free (and the *_init / *_fini they call) may
 * allocate: never on the data path. */
void *stack_alloc(struct tern_stack *st, size_t size);
void stack_dealloc(struct tern_stack *st, void *p, size_t size);

/* Moves the stack's clock forward (never back). Every entry point calls it. */
void stack_set_now(struct tern_stack *st, int64_t now_ns);

/* Emits a trace event if a callback is installed. */
void stack_trace(struct tern_stack *st, enum tern_trace_kind kind, const char *layer,
                 const char *rule, const uint8_t *pkt, size_t len);

/* Counts a drop under `reason` and traces it with the reason's rule text. */
void stack_drop(struct tern_stack *st, enum tern_drop_reason reason, const uint8_t *pkt,
                size_t len);

/* Without rule texts (core/rule.h): the literal at each call is left out. */
#ifdef TERN_NO_RULE_TEXT
#define stack_trace(st, kind, layer, rule, pkt, len)                                               \
    (stack_trace)(st, kind, layer, TERN_RULE_ARG(rule), pkt, len)
#endif

#endif
