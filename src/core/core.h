/*
 * src/core/core.h: the stack object as the layers inside tern see it: the
 * core context. Never installed. It holds the services below every layer
 * (configuration, clock, randomness, hash key, timers, counters, buffer
 * pool, trace) and one pointer to the state of each layer. The layers' state
 * types are only declared here: a layer defines its own struct in its own
 * header, and can reach the state of another layer only by including that
 * layer's header, which it may do for the layers below it
 * (wire <- core <- link <- ip <- tcp <- api). The composition root
 * (src/stack/) places the context and every layer's state in one block and
 * sets the pointers (src/stack/root.h).
 */
#ifndef TERN_CORE_CORE_H
#define TERN_CORE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/rng.h"
#include "core/rule.h"
#include "core/timer.h"
#include "tern/stack.h"

/* Each layer's state, defined by the layer (link/link.h, ip/ip.h, tcp/tcp.h). */
struct link_state;
struct ip_state;
struct tcp_state;

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
    struct link_state *link; /* set by the composition root, never NULL */
    struct ip_state *ip;
    struct tcp_state *tcp;
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

/* Without rule texts (core/rule.h): the literal at each call is left out,
 * and a drop reason's rule, passed on as a rule, is its id. */
#ifdef TERN_NO_RULE_TEXT
#define stack_trace(st, kind, layer, rule, pkt, len)                                               \
    (stack_trace)(st, kind, layer, TERN_RULE_ARG(rule), pkt, len)
#define tern_drop_rule(reason) ((const char *)(uintptr_t)tern_drop_rule_id(reason))
#endif

#endif
