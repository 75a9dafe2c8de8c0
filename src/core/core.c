/*
 * src/core/core.c: the services of the core context that every layer calls:
 * memory through the configured allocator, the clock, trace events and
 * counted drops (core/core.h).
 */
#include "core/core.h"

#include <string.h>

void *
stack_alloc(struct tern_stack *st, size_t size)
{
    void *p = st->cfg.alloc(st->cfg.alloc_ud, NULL, 0, size);
    if (p != NULL) {
        memset(p, 0, size);
    }
    return p;
}

void
stack_dealloc(struct tern_stack *st, void *p, size_t size)
{
    if (p != NULL) {
        st->cfg.alloc(st->cfg.alloc_ud, p, size, 0);
    }
}

void
stack_set_now(struct tern_stack *st, int64_t now_ns)
{
    if (now_ns > st->now_ns) {
        st->now_ns = now_ns;
    }
}

void(stack_trace)(struct tern_stack *st, enum tern_trace_kind kind, const char *layer,
                  const char *rule, const uint8_t *pkt, size_t len)
{
    if (st->trace == NULL) {
        return;
    }
    struct tern_trace_event ev = {
        .kind = kind,
        .now_ns = st->now_ns,
        .layer = layer,
        .rule = TERN_RULE_OUT(rule),
        .rule_id = TERN_RULE_ID_OUT(rule),
        .drop = TERN_DROP_COUNT,
        .pkt = pkt,
        .pkt_len = len,
    };
    st->trace(st->trace_ctx, &ev);
}

void
stack_drop(struct tern_stack *st, enum tern_drop_reason reason, const uint8_t *pkt, size_t len)
{
    st->stats.drops[reason]++;
    if (st->trace == NULL) {
        return;
    }
    const char *rule = tern_drop_rule(reason); /* the text, or the id (core/core.h) */
    struct tern_trace_event ev = {
        .kind = TERN_TRACE_DROP,
        .now_ns = st->now_ns,
        .layer = tern_drop_layer(reason),
        .rule = TERN_RULE_OUT(rule),
        .rule_id = TERN_RULE_ID_OUT(rule),
        .drop = reason,
        .pkt = pkt,
        .pkt_len = len,
    };
    st->trace(st->trace_ctx, &ev);
}
