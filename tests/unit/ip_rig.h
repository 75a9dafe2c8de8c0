/*
 * tests/unit/ip_rig.h: the test rig shared by test_ipv4.c, test_icmp.c and
 * test_reass.c. A host 10.0.0.1/24 whose interface transmit callback records
 * every frame (struct capture), a trace log (struct trace_log), datagram
 * builders and a fake transport protocol that records what IP hands it.
 *
 *   static struct rig R;
 *   rig_open(&R, 1500, NULL);
 *   input(&R, pkt, mk_dgram(pkt, A_PEER, A_LOCAL, PROTO_FAKE, 1, false, 0, p, n), 0);
 *   rig_close(&R);
 *
 * Every function is static inline so a program that does not use one gets
 * no -Wunused-function warning.
 */
#ifndef TERN_TESTS_IP_RIG_H
#define TERN_TESTS_IP_RIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ip/ip.h"
#include "stack/root.h"
#include "tern/stack.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

#define A_LOCAL    TERN_IPV4(10, 0, 0, 1)
#define A_PEER     TERN_IPV4(10, 0, 0, 2)
#define A_GW       TERN_IPV4(10, 0, 0, 254)
#define A_BCAST    TERN_IPV4(10, 0, 0, 255)
#define A_FAR      TERN_IPV4(192, 0, 2, 7)
#define PROTO_FAKE 253 /* RFC 3692 experimental protocol number */

struct frame {
    uint8_t b[2048];
    size_t len;
    int netif;
    uint32_t next_hop;
};

/* What a rig's interfaces transmitted, in order. */
struct capture {
    struct frame f[96];
    size_t n;
    bool fail; /* the driver refuses every frame */
};

static inline int
cap_transmit(void *ctx, int netif, const uint8_t *pkt, size_t len, uint32_t next_hop)
{
    struct capture *c = ctx;
    if (c->fail) {
        return -1;
    }
    if (c->n == sizeof(c->f) / sizeof(c->f[0]) || len > sizeof(c->f[0].b)) {
        fprintf(stderr, "capture full\n");
        return -1;
    }
    memcpy(c->f[c->n].b, pkt, len);
    c->f[c->n].len = len;
    c->f[c->n].netif = netif;
    c->f[c->n].next_hop = next_hop;
    c->n++;
    return 0;
}

struct tev {
    enum tern_trace_kind kind;
    const char *layer;
    const char *rule;
    enum tern_drop_reason drop;
};

struct trace_log {
    struct tev ev[512];
    size_t n;
};

static inline void
trace_record(void *ctx, const struct tern_trace_event *ev)
{
    struct trace_log *t = ctx;
    if (t->n < sizeof(t->ev) / sizeof(t->ev[0])) {
        t->ev[t->n++] = (struct tev){ev->kind, ev->layer, ev->rule, ev->drop};
    }
}

/* Number of events of `kind` whose rule contains `text`. */
static inline int
trace_count(const struct trace_log *t, enum tern_trace_kind kind, const char *text)
{
    int n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->ev[i].kind == kind && strstr(t->ev[i].rule, text) != NULL) {
            n++;
        }
    }
    return n;
}

/* Number of drop events with reason r, checking each names r's rule. */
static inline int
trace_drops(const struct trace_log *t, enum tern_drop_reason r)
{
    int n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->ev[i].kind == TERN_TRACE_DROP && t->ev[i].drop == r) {
            CHECK_STR(t->ev[i].rule, tern_drop_rule(r));
            CHECK_STR(t->ev[i].layer, tern_drop_layer(r));
            n++;
        }
    }
    return n;
}

struct rig {
    struct tern_stack *st;
    struct capture cap;
    struct trace_log log;
};

/* A host 10.0.0.1/24 on netif 0 (MTU `mtu`), default gateway 10.0.0.254,
 * tracing into r->log. `edit` may change the config before creation. */
static inline void
rig_open(struct rig *r, uint16_t mtu, void (*edit)(struct tern_config *, struct rig *))
{
    memset(r, 0, sizeof(*r));
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.seed = 42;
    cfg.deterministic = true; /* a test: the same ISNs every run */
    cfg.n_netifs = 1;
    cfg.netifs[0] = (struct tern_netif_config){.addr = A_LOCAL,
                                               .prefix_len = 24,
                                               .mtu = mtu,
                                               .transmit = cap_transmit,
                                               .transmit_ctx = &r->cap};
    cfg.default_gateway = A_GW;
    cfg.trace = trace_record;
    cfg.trace_ctx = &r->log;
    if (edit != NULL) {
        edit(&cfg, r);
    }
    int rc = tern_stack_new(&cfg, 0, &r->st);
    CHECK_EQ(rc, TERN_OK);
}

static inline void
rig_close(struct rig *r)
{
    tern_stack_free(r->st);
    r->st = NULL;
}

/* Builds a datagram (20-byte header) into buf and returns its length. */
static inline size_t
mk_dgram(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id, bool mf,
         uint16_t frag_off, const uint8_t *payload, size_t len)
{
    struct wire_ipv4 h = {
        .tos = 0,
        .total_len = (uint16_t)(WIRE_IPV4_HDR_LEN + len),
        .id = id,
        .mf = mf,
        .frag_off = frag_off,
        .ttl = 64,
        .proto = proto,
        .src = src,
        .dst = dst,
    };
    wire_ipv4_emit(&h, buf);
    if (len > 0) {
        memmove(buf + WIRE_IPV4_HDR_LEN, payload, len);
    }
    return WIRE_IPV4_HDR_LEN + len;
}

/* Recomputes the header checksum after a test edited header bytes. */
static inline void
fix_ip_csum(uint8_t *buf)
{
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    buf[10] = buf[11] = 0;
    uint16_t c = wire_csum(buf, hl);
    buf[10] = (uint8_t)(c >> 8);
    buf[11] = (uint8_t)c;
}

static inline void
input(struct rig *r, const uint8_t *pkt, size_t len, int64_t now)
{
    CHECK_EQ(tern_stack_input(r->st, 0, pkt, len, now), TERN_OK);
}

/* A fake transport protocol that records what it is given. */
struct fake_proto {
    int n_rx, n_err;
    struct ip_rx rx;
    uint8_t payload[70000];
    uint8_t datagram[70000];
    struct ip_icmp_err err;
    uint8_t orig_payload[600];
};

static inline void
fake_input(struct tern_stack *st, void *ctx, const struct ip_rx *rx)
{
    (void)st;
    struct fake_proto *f = ctx;
    f->n_rx++;
    f->rx = *rx;
    memcpy(f->payload, rx->payload, rx->len);
    memcpy(f->datagram, rx->datagram, rx->datagram_len);
}

static inline void
fake_err(struct tern_stack *st, void *ctx, const struct ip_icmp_err *e)
{
    (void)st;
    struct fake_proto *f = ctx;
    f->n_err++;
    f->err = *e;
    if (e->orig_payload_len <= sizeof(f->orig_payload)) {
        memcpy(f->orig_payload, e->orig_payload, e->orig_payload_len);
    }
}

#endif /* TERN_TESTS_IP_RIG_H */
