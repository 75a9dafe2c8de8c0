/*
 * tests/rules/rule_trace.c: prints the rule of every trace event of a fixed
 * run, for tests/shell/test_rule_ids.sh, which builds it twice: against the
 * library with rule texts and against one built without them
 * (TERN_NO_RULE_TEXT). Public headers only.
 *
 *   rule_trace events         a simulated run (below); one line per event:
 *                             HOST KIND LAYER 0xID | RULE
 *   rule_trace explain FILE   runs scenario FILE and prints its diagram
 *                             with the rules (tern sim --explain)
 *
 * RULE is the event's text; without texts it is "rule #0x..." (what
 * tools/rule_ids.py --decode turns back into the text), "-" for none. So
 * the two builds' outputs must be equal once the second is decoded.
 *
 * The run: hosts A and B on an Ethernet link that loses 3 % each way (ARP,
 * retransmissions, SACK recovery); A sends 200 KB to B, which reads it all,
 * and both close; A opens a connection to a closed port (RST) and pings B;
 * B is injected a frame too short for Ethernet, a datagram with a bad
 * checksum, and a SYN from an address that never answers ARP.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/craft.h"
#include "tern/scenario.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/tcp.h"
#include "tern/trace.h"

#define SEC      1000000000LL
#define ADDR_A   TERN_IPV4(192, 0, 2, 1)
#define ADDR_B   TERN_IPV4(192, 0, 2, 2)
#define ADDR_X   TERN_IPV4(192, 0, 2, 9) /* nobody: its ARP requests go unanswered */
#define PORT     5001
#define TOTAL    (200u * 1024u)
#define MAX_FILE (1024 * 1024)

struct run {
    struct tern_sim *sim;
    struct tern_stack *sa, *sb;
    int hosts[2];
    int listener, conn_a, conn_b;
    uint32_t sent, rcvd;
    bool a_closed, b_closed;
    uint8_t buf[8192];
};

static void
on_trace(void *ctx, const struct tern_trace_event *ev)
{
    const char *host = ctx;
    printf("%s %s %s 0x%08lx | ", host, tern_trace_kind_name(ev->kind), ev->layer,
           (unsigned long)ev->rule_id);
    if (ev->rule != NULL) {
        printf("%s\n", ev->rule);
    } else if (ev->rule_id != 0) {
        printf("rule #0x%08lx\n", (unsigned long)ev->rule_id);
    } else {
        printf("-\n");
    }
}

static void
pump_a(struct run *r, int64_t now)
{
    while (r->conn_a > 0 && r->sent < TOTAL) {
        uint32_t n = TOTAL - r->sent < sizeof(r->buf) ? TOTAL - r->sent : sizeof(r->buf);
        int rc = tern_tcp_send(r->sa, r->conn_a, r->buf, n, now);
        if (rc <= 0) {
            return;
        }
        r->sent += (uint32_t)rc;
    }
    if (r->conn_a > 0 && r->sent == TOTAL && !r->a_closed) {
        r->a_closed = true;
        tern_tcp_close(r->sa, r->conn_a, now);
    }
}

static void
on_event_a(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    (void)st;
    (void)err;
    struct run *r = ctx;
    if (id == r->conn_a && (events & (TERN_TCP_EV_CONNECTED | TERN_TCP_EV_WRITABLE))) {
        pump_a(r, tern_sim_now(r->sim));
    }
}

static void
on_event_b(void *ctx, struct tern_stack *st, int id, unsigned events, int err)
{
    (void)err;
    struct run *r = ctx;
    int64_t now = tern_sim_now(r->sim);
    if (id == r->listener && (events & TERN_TCP_EV_ACCEPT_READY) && r->conn_b == 0) {
        r->conn_b = tern_tcp_accept(st, r->listener, now);
    }
    if (r->conn_b <= 0) {
        return;
    }
    for (;;) {
        int n = tern_tcp_recv(st, r->conn_b, r->buf, sizeof(r->buf), now);
        if (n > 0) {
            r->rcvd += (uint32_t)n;
            continue;
        }
        if (n == TERN_ERR_CLOSING && !r->b_closed) { /* end of stream: A closed */
            r->b_closed = true;
            tern_tcp_close(st, r->conn_b, now);
        }
        break;
    }
}

static int
add_host(struct run *r, const char *name, uint32_t addr, uint8_t mac_last, int *host)
{
    struct tern_config cfg;
    tern_config_init(&cfg);
    cfg.netifs[0] = (struct tern_netif_config){
        .addr = addr,
        .prefix_len = 24,
        .mtu = 1500,
        .link = TERN_LINK_ETHERNET,
        .mac = {0x02, 0, 0, 0, 0, mac_last},
    };
    cfg.n_netifs = 1;
    cfg.trace = on_trace;
    cfg.trace_ctx = (void *)name;
    (void)r;
    return tern_sim_add_host(r->sim, name, &cfg, host);
}

/* An Ethernet frame to B carrying `ip` (len bytes). */
static size_t
frame_to_b(uint8_t *f, const uint8_t *ip, size_t len)
{
    static const uint8_t hdr[14] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 9, 0x08, 0x00};
    memcpy(f, hdr, sizeof(hdr));
    memcpy(f + sizeof(hdr), ip, len);
    return sizeof(hdr) + len;
}

static int
inject_b(struct run *r, int64_t at)
{
    uint8_t ip[60], f[80];
    struct tern_craft_tcp syn = {
        .src = ADDR_X,
        .dst = ADDR_B,
        .src_port = 40000,
        .dst_port = PORT,
        .seq = 1000,
        .flags = TERN_CRAFT_SYN,
        .window = 8192,
    };
    size_t n = tern_craft_ipv4_tcp(&syn, ip, sizeof(ip));
    if (n == 0) {
        return 1;
    }
    int rc = tern_sim_inject(r->sim, r->hosts[1], 0, f, frame_to_b(f, ip, n), at, NULL);
    ip[10] ^= 0x55; /* the IPv4 header checksum */
    rc |= tern_sim_inject(r->sim, r->hosts[1], 0, f, frame_to_b(f, ip, n), at + SEC, NULL);
    rc |= tern_sim_inject(r->sim, r->hosts[1], 0, f, 10, at + 2 * SEC, NULL);
    return rc;
}

static int
events(void)
{
    struct run *r = calloc(1, sizeof(*r));
    if (r == NULL || tern_sim_new(7, &r->sim) != TERN_OK) {
        fprintf(stderr, "rule_trace: out of memory\n");
        free(r);
        return 1;
    }
    int link = 0;
    struct tern_link_params lossy;
    tern_link_params_init(&lossy);
    lossy.delay_ns = SEC / 100;
    lossy.loss_ppm = 30000;
    int rc = add_host(r, "A", ADDR_A, 1, &r->hosts[0]);
    rc |= add_host(r, "B", ADDR_B, 2, &r->hosts[1]);
    rc |= tern_sim_link(r->sim, r->hosts[0], 0, r->hosts[1], 0, &lossy, &lossy, &link);
    if (rc != TERN_OK) {
        fprintf(stderr, "rule_trace: setting up the simulation failed\n");
        tern_sim_free(r->sim);
        free(r);
        return 1;
    }
    r->sa = tern_sim_host_stack(r->sim, r->hosts[0]);
    r->sb = tern_sim_host_stack(r->sim, r->hosts[1]);
    struct tern_tcp_open_args lst = {
        .passive = true, .local_port = PORT, .cb = on_event_b, .cb_ctx = r};
    r->listener = tern_tcp_open(r->sb, &lst, 0);
    struct tern_tcp_open_args open = {
        .remote_addr = tern_ip4(ADDR_B), .remote_port = PORT, .cb = on_event_a, .cb_ctx = r};
    r->conn_a = tern_tcp_open(r->sa, &open, 0);
    struct tern_tcp_open_args closed = {.remote_addr = tern_ip4(ADDR_B), .remote_port = PORT + 1};
    int refused = tern_tcp_open(r->sa, &closed, 0);
    rc = r->listener > 0 && r->conn_a > 0 && refused > 0 ? TERN_OK : 1;
    rc |= tern_icmp_echo_send(r->sa, ADDR_B, 1, 1, (const uint8_t *)"ping", 4, 0);
    rc |= inject_b(r, 5 * SEC);
    if (rc == TERN_OK) {
        rc = tern_sim_run_until(r->sim, 120 * SEC);
    }
    bool done = r->rcvd == TOTAL && r->a_closed && r->b_closed;
    if (rc != TERN_OK || !done) {
        fprintf(stderr, "rule_trace: the run failed (rc %d, %u of %u bytes, closed %d %d)\n", rc,
                (unsigned)r->rcvd, TOTAL, r->a_closed, r->b_closed);
        rc = 1;
    }
    tern_sim_free(r->sim);
    free(r);
    return rc == TERN_OK ? 0 : 1;
}

static int
explain(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "rule_trace: cannot open %s\n", path);
        return 1;
    }
    char *text = malloc(MAX_FILE);
    size_t len = text != NULL ? fread(text, 1, MAX_FILE, f) : 0;
    fclose(f);
    struct tern_scenario *sc = NULL;
    char err[256];
    int rc = 1;
    if (text != NULL && tern_scenario_parse(path, text, len, &sc, err, sizeof(err)) == TERN_OK) {
        struct tern_scenario_opts opts = {.explain = true};
        rc = tern_scenario_run(sc, &opts, stdout, stderr);
    } else {
        fprintf(stderr, "rule_trace: %s: %s\n", path, text != NULL ? err : "out of memory");
    }
    tern_scenario_free(sc);
    free(text);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "events") == 0) {
        return events();
    }
    if (argc == 3 && strcmp(argv[1], "explain") == 0) {
        return explain(argv[2]);
    }
    fprintf(stderr, "usage: rule_trace events | rule_trace explain FILE\n");
    return 2;
}
