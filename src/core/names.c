/*
 * src/core/names.c: the text of errors, drop reasons and trace kinds.
 */
#include <stddef.h>

#include "tern/stack.h"

#include "core/rule.h"

const char *
tern_strerror(int err)
{
    switch ((enum tern_err)err) {
    case TERN_OK:
        return "success";
    case TERN_ERR_INVAL:
        return "invalid argument";
    case TERN_ERR_NOMEM:
        return "out of memory";
    case TERN_ERR_NOBUFS:
        return "no buffer space (a fixed capacity is full)";
    case TERN_ERR_NOROUTE:
        return "no route to destination";
    case TERN_ERR_MSGSIZE:
        return "message too long";
    case TERN_ERR_TXFAIL:
        return "driver refused the frame";
    case TERN_ERR_REFUSED:
        return "connection refused";
    case TERN_ERR_RESET:
        return "connection reset by peer";
    case TERN_ERR_TIMEDOUT:
        return "connection timed out";
    case TERN_ERR_CLOSING:
        return "connection closing";
    case TERN_ERR_STATE:
        return "not valid in this connection state";
    case TERN_ERR_EXIST:
        return "connection already exists";
    case TERN_ERR_NOTCONN:
        return "connection does not exist";
    case TERN_ERR_AGAIN:
        return "try again";
    case TERN_ERR_UNREACH:
        return "destination unreachable";
    case TERN_ERR_NOSECRET:
        return "no secret: set cfg.seed from tern_random_seed() or set cfg.deterministic";
    }
    return "unknown error";
}

static const char *const drop_names[] = {
#define TERN_DROP_NAME_(name, layer, rule) #name,
    TERN_DROP_REASONS(TERN_DROP_NAME_)
#undef TERN_DROP_NAME_
};
static const char *const drop_layers[] = {
#define TERN_DROP_LAYER_(name, layer, rule) layer,
    TERN_DROP_REASONS(TERN_DROP_LAYER_)
#undef TERN_DROP_LAYER_
};
#ifndef TERN_NO_RULE_TEXT
static const char *const drop_rules[] = {
#define TERN_DROP_RULE_(name, layer, rule) rule,
    TERN_DROP_REASONS(TERN_DROP_RULE_)
#undef TERN_DROP_RULE_
};
#endif

const char *
tern_drop_name(enum tern_drop_reason r)
{
    return (unsigned)r < TERN_DROP_COUNT ? drop_names[r] : "?";
}

const char *
tern_drop_layer(enum tern_drop_reason r)
{
    return (unsigned)r < TERN_DROP_COUNT ? drop_layers[r] : "?";
}

const char *
tern_drop_rule(enum tern_drop_reason r)
{
#ifdef TERN_NO_RULE_TEXT
    (void)r; /* built without rule texts (TERN_RULE_TEXT=OFF) */
    return NULL;
#else
    return (unsigned)r < TERN_DROP_COUNT ? drop_rules[r] : "?";
#endif
}

uint32_t
tern_drop_rule_id(enum tern_drop_reason r)
{
#ifdef TERN_NO_RULE_TEXT
    /* Each case folds to its id; the texts stay out. */
    switch (r) {
#define TERN_DROP_ID_(name, layer, rule)                                                           \
    case TERN_DROP_##name:                                                                         \
        return (uint32_t)(uintptr_t)TERN_RULE(rule);
        TERN_DROP_REASONS(TERN_DROP_ID_)
#undef TERN_DROP_ID_
    case TERN_DROP_COUNT:
        break;
    }
    return 0;
#else
    return (unsigned)r < TERN_DROP_COUNT ? tern_rule_id(drop_rules[r]) : 0;
#endif
}

uint32_t
tern_rule_id(const char *text)
{
    /* core/rule.h: c[i] * M^(i+1), summed modulo 2^32 (TERN_RULE_ID). */
    uint32_t id = 0;
    uint32_t w = TERN_RULE_ID_MUL;
    for (const char *p = text; p != NULL && *p != '\0'; p++) {
        id += (uint32_t)(unsigned char)*p * w;
        w *= TERN_RULE_ID_MUL;
    }
    return id;
}

uint64_t
tern_stats_drops_total(const struct tern_stats *s)
{
    uint64_t total = 0;
    for (size_t i = 0; i < TERN_DROP_COUNT; i++) {
        total += s->drops[i];
    }
    return total;
}

const char *
tern_trace_kind_name(enum tern_trace_kind k)
{
    switch (k) {
    case TERN_TRACE_RX:
        return "rx";
    case TERN_TRACE_TX:
        return "tx";
    case TERN_TRACE_DROP:
        return "drop";
    case TERN_TRACE_STATE:
        return "state";
    case TERN_TRACE_TIMER:
        return "timer";
    case TERN_TRACE_EVENT:
        return "event";
    }
    return "?";
}
