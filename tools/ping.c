/*
 * tools/ping.c: `tern ping`, ping(8) in the simulator.
 *
 * Two tern hosts, a (192.0.2.1/24, 2001:db8::1/64) and b (192.0.2.2/24,
 * 2001:db8::2/64; RFC 3849 documentation prefix) share one
 * simulated link with the impairments given on the command line; a sends
 * ICMP echo requests (RFC 792) to b, b's stack answers them, and the
 * output is what Linux ping(8) from iputils prints, in virtual time. The
 * addresses are from TEST-NET-1 (RFC 5737), reserved for documentation.
 * Everything is deterministic: the same options give the same bytes.
 *
 * Exit status: 0 if at least one reply came back, 1 if none, 2 for a usage
 * error or a capture file that cannot be written.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/stats.h"

int tern_cmd_ping(int argc, char **argv);

#define NS_PER_MS   1000000LL
#define ADDR_A      TERN_IPV4(192, 0, 2, 1)
#define ADDR_B      TERN_IPV4(192, 0, 2, 2)
#define TEXT_B4     "192.0.2.2"
#define TEXT_B6     "2001:db8::2"
#define ECHO_ID     0x7465 /* "te" */
#define TIMING_LEN  16     /* iputils times replies when the data holds a timeval */
#define MAX_PAYLOAD 65507  /* 65535 - 20 (IPv4 header) - 8 (ICMP header) */
#define SEQ_SPACE   65536

struct ping_opts {
    long count;
    double interval_ms;
    long size;
    uint64_t seed;
    double loss_pct, reorder_pct, dup_pct, corrupt_pct;
    double delay_ms, jitter_ms;
    long rate_bps;
    long mtu;
    const char *pcap;
    bool stats;
    double timeout_ms;
    bool v6; /* -6: ICMPv6 (RFC 4443) to 2001:db8::2 */
};

/* ---- Options -------------------------------------------------------------- */

#define OFF(field) offsetof(struct ping_opts, field)

/* The short options are ping(8)'s, in its units: -i and -W in seconds. */
/* One option to an entry, its fields together. */
/* clang-format off */
static const struct cli_opt opt_defs[] = {
    {.name = "count", .short_name = 'c', .kind = CLI_LONG, .arg = "N", .min = 1, .max = 100000,
     .offset = OFF(count),
     .help = "echo requests to send (default 5)"},
    {.name = "interval", .kind = CLI_REAL, .arg = "MS", .min = 0.001, .max = 3600000,
     .offset = OFF(interval_ms),
     .help = "milliseconds between requests (default 1000)"},
    {.short_name = 'i', .kind = CLI_REAL, .arg = "SEC", .min = 0.000001, .max = 3600, .scale = 1000,
     .offset = OFF(interval_ms),
     .help = "seconds between requests, as ping(8): -i 0.2 is --interval 200"},
    {.name = "size", .short_name = 's', .kind = CLI_LONG, .arg = "BYTES", .min = 0,
     .max = MAX_PAYLOAD, .offset = OFF(size),
     .help = "echo data bytes, ICMP and IPv4 headers not counted (default 56); larger than the "
             "MTU fragments"},
    {.name = "seed", .kind = CLI_U64, .arg = "N", .offset = OFF(seed),
     .help = "seed of the simulation: same seed, same output (default 1)"},
    {.name = "loss", .kind = CLI_REAL, .arg = "PCT", .min = 0, .max = 100, .offset = OFF(loss_pct),
     .help = "percent of packets lost, each direction (default 0)"},
    {.name = "reorder", .kind = CLI_REAL, .arg = "PCT", .min = 0, .max = 100,
     .offset = OFF(reorder_pct),
     .help = "percent of packets held back 1.5 intervals so later ones pass them (default 0)"},
    {.name = "dup", .kind = CLI_REAL, .arg = "PCT", .min = 0, .max = 100, .offset = OFF(dup_pct),
     .help = "percent of packets the link delivers twice (default 0)"},
    {.name = "corrupt", .kind = CLI_REAL, .arg = "PCT", .min = 0, .max = 100,
     .offset = OFF(corrupt_pct),
     .help = "percent of packets with one bit flipped; checksums catch them (default 0)"},
    {.name = "delay", .kind = CLI_REAL, .arg = "MS", .min = 0, .max = 1000000,
     .offset = OFF(delay_ms),
     .help = "one-way delay of the link in milliseconds (default 10)"},
    {.name = "jitter", .kind = CLI_REAL, .arg = "MS", .min = 0, .max = 1000000,
     .offset = OFF(jitter_ms),
     .help = "extra one-way delay, uniform in [0, MS]; order is kept (default 0)"},
    {.name = "rate", .kind = CLI_LONG, .arg = "BPS", .min = 0, .max = 1e12, .offset = OFF(rate_bps),
     .help = "link bandwidth in bits per second, 0 for unlimited (default 0)"},
    {.name = "mtu", .kind = CLI_LONG, .arg = "N", .min = 68, .max = 65535, .offset = OFF(mtu),
     .help = "MTU of both interfaces in bytes (default 1500)"},
    {.name = "pcap", .kind = CLI_STRING, .arg = "FILE", .offset = OFF(pcap),
     .help = "write the link's packets to FILE (pcap, raw IP, virtual time; default none)"},
    {.name = "stats", .kind = CLI_FLAG, .offset = OFF(stats),
     .help = "print both stacks' and the link's counters at the end"},
    {.name = "timeout", .kind = CLI_REAL, .arg = "MS", .min = 0, .max = 3600000,
     .offset = OFF(timeout_ms),
     .help = "after the last request, wait this long for late replies (default 10000)"},
    {.short_name = 'W', .kind = CLI_REAL, .arg = "SEC", .min = 0, .max = 3600, .scale = 1000,
     .offset = OFF(timeout_ms),
     .help = "the same in seconds, as ping(8): -W 2 is --timeout 2000"},
    {.short_name = '6', .kind = CLI_FLAG, .offset = OFF(v6),
     .help = "ping over IPv6: ICMPv6 echo to 2001:db8::2 from 2001:db8::1 (also implied by "
             "the operand 2001:db8::2)"},
};
/* clang-format on */

static const struct cli_cmd ping_cmd = {
    .name = "ping",
    .opts = opt_defs,
    .n_opts = sizeof(opt_defs) / sizeof(opt_defs[0]),
    .max_operands = 1,
    .operand_note = "tern ping takes one operand at most: the target, 192.0.2.2 or 2001:db8::2",
};

static void
ping_usage(FILE *out)
{
    fprintf(out, "usage: tern ping [options] [192.0.2.2 | -6 [2001:db8::2]]\n"
                 "\n"
                 "Pings 192.0.2.2 from 192.0.2.1 (with -6, 2001:db8::2 from 2001:db8::1),\n"
                 "two tern stacks joined by one simulated\n"
                 "link, and prints what ping(8) prints. Time is virtual: the run takes no\n"
                 "real time, and the same options always give the same output.\n"
                 "\n");
    cli_print_options(out, &ping_cmd);
    fprintf(out, "\n"
                 "PCT is a percentage from 0 to 100; MS and SEC may have decimals.\n"
                 "Exit status: 0 if a reply came back, 1 if none, 2 for a bad option.\n");
}

/* Returns CLI_OK, CLI_USAGE or CLI_HELP. */
static int
parse_args(int argc, char **argv, struct ping_opts *o)
{
    *o = (struct ping_opts){
        .count = 5,
        .interval_ms = 1000,
        .size = 56,
        .seed = 1,
        .delay_ms = 10,
        .mtu = 1500,
        .timeout_ms = 10000,
    };
    int n_operands;
    char *target[1];
    int rc = cli_parse(&ping_cmd, argc, argv, o, target, &n_operands);
    if (rc != CLI_OK || n_operands == 0) {
        return rc;
    }
    if (strcmp(target[0], TEXT_B6) == 0) {
        o->v6 = true;
    } else if (strcmp(target[0], TEXT_B4) != 0 || o->v6) {
        return cli_usage_error(&ping_cmd, "the target is %s (or %s with -6), not '%s'", TEXT_B4,
                               TEXT_B6, target[0]);
    }
    return CLI_OK;
}

/* ---- The run -------------------------------------------------------------- */

struct ping {
    struct ping_opts o;
    struct tern_sim *sim;
    int host_a, host_b, link;
    int64_t interval_ns;
    uint8_t *data; /* the echo data being sent */
    long long transmitted, received, dups, wrong_data, send_errors;
    bool replied[SEQ_SPACE]; /* by icmp_seq: answered since it was last sent */
    int64_t tmin_us, tmax_us;
    long double tsum_us, tsum2_us; /* over replies and duplicates, as iputils */
    int64_t last_event_ns;         /* last send or reply, for "time" */
};

/* 2001:db8::2, host b's IPv6 address. */
static struct tern_ip
b6(void)
{
    struct tern_ip a = {{0x20, 0x01, 0x0d, 0xb8, [15] = 2}};
    return a;
}

static const char *
target_text(const struct ping *pg)
{
    return pg->o.v6 ? TEXT_B6 : TEXT_B4;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t
get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Echo data: the send time (seconds and nanoseconds) when it fits, then
 * bytes counting up, as iputils lays it out. */
static void
fill_pattern(uint8_t *data, size_t len)
{
    size_t start = len >= TIMING_LEN ? TIMING_LEN : 0;
    for (size_t i = start; i < len; i++) {
        data[i] = (uint8_t)i;
    }
}

static void
print_time(int64_t us)
{
    /* iputils' precision: three decimals below 1 ms, two below 10 ms, one
     * below 100 ms, none above; rounded to the last digit shown. */
    if (us >= 100000 - 50) {
        printf(" time=%lld ms", (long long)((us + 500) / 1000));
    } else if (us >= 10000 - 5) {
        printf(" time=%lld.%01lld ms", (long long)((us + 50) / 1000),
               (long long)(((us + 50) % 1000) / 100));
    } else if (us >= 1000) {
        printf(" time=%lld.%02lld ms", (long long)((us + 5) / 1000),
               (long long)(((us + 5) % 1000) / 10));
    } else {
        printf(" time=%lld.%03lld ms", (long long)(us / 1000), (long long)(us % 1000));
    }
}

static void
on_reply(void *ctx, const struct tern_echo_reply *r, int64_t now_ns)
{
    struct ping *pg = ctx;
    if (r->id != ECHO_ID || r->v6 != pg->o.v6 ||
        (pg->o.v6 ? !tern_ip_eq(r->addr, b6()) : r->from != ADDR_B)) {
        return;
    }
    bool dup = pg->replied[r->seq];
    pg->replied[r->seq] = true;
    if (dup) {
        pg->dups++;
    } else {
        pg->received++;
    }
    pg->last_event_ns = now_ns;
    printf("%zu bytes from %s: icmp_seq=%u ttl=%u", r->len + 8, target_text(pg), (unsigned)r->seq,
           (unsigned)r->ttl);
    if ((size_t)pg->o.size >= TIMING_LEN && r->len >= TIMING_LEN) {
        int64_t sent_ns = (int64_t)(get_be64(r->data) * 1000000000ULL + get_be64(r->data + 8));
        int64_t us = (now_ns - sent_ns) / 1000;
        if (us < 0) {
            us = 0;
        }
        if (pg->received + pg->dups == 1 || us < pg->tmin_us) {
            pg->tmin_us = us;
        }
        if (us > pg->tmax_us) {
            pg->tmax_us = us;
        }
        pg->tsum_us += (long double)us;
        pg->tsum2_us += (long double)us * (long double)us;
        print_time(us);
    }
    if (dup) {
        printf(" (DUP!)");
    }
    printf("\n");
    /* Check the data the way iputils does, past the timestamp. */
    size_t start = (size_t)pg->o.size >= TIMING_LEN ? TIMING_LEN : 0;
    for (size_t i = start; i < r->len && i < (size_t)pg->o.size; i++) {
        if (r->data[i] != pg->data[i]) {
            printf("wrong data byte #%zu should be 0x%x but was 0x%x\n", i, pg->data[i],
                   r->data[i]);
            pg->wrong_data++;
            break;
        }
    }
}

static void
send_one(void *ctx, struct tern_sim *sim)
{
    struct ping *pg = ctx;
    int64_t now = tern_sim_now(sim);
    uint16_t seq = (uint16_t)(pg->transmitted + 1);
    size_t len = (size_t)pg->o.size;
    if (len >= TIMING_LEN) {
        put_be64(pg->data, (uint64_t)(now / 1000000000));
        put_be64(pg->data + 8, (uint64_t)(now % 1000000000));
    }
    pg->replied[seq] = false;
    pg->transmitted++;
    pg->last_event_ns = now;
    int rc = tern_icmp_echo_send_ip(tern_sim_host_stack(sim, pg->host_a),
                                    pg->o.v6 ? b6() : tern_ip4(ADDR_B), ECHO_ID, seq, pg->data, len,
                                    now);
    if (rc != TERN_OK) {
        pg->send_errors++;
        fprintf(stderr, "tern ping: icmp_seq=%u: send failed: %s\n", (unsigned)seq,
                tern_strerror(rc));
    }
}

static uint32_t
pct_to_ppm(double pct)
{
    return (uint32_t)llround(pct * 10000.0);
}

static int64_t
ms_to_ns(double ms)
{
    return (int64_t)llround(ms * (double)NS_PER_MS);
}

static int
setup(struct ping *pg)
{
    const struct ping_opts *o = &pg->o;
    int rc = tern_sim_new((uint64_t)o->seed, &pg->sim);
    if (rc != TERN_OK) {
        return rc;
    }
    struct tern_config cfg;
    tern_config_init(&cfg);
    if ((size_t)o->size + 8 > cfg.reass_mem_max) {
        cfg.reass_mem_max = (size_t)o->size + 8; /* EMTU_R: room for the echo, ICMP header too */
    }
    cfg.deterministic = true; /* the same --seed prints the same bytes */
    cfg.n_netifs = 1;
    cfg.netifs[0].prefix_len = 24;
    cfg.netifs[0].mtu = (uint16_t)o->mtu;
    cfg.seed = (uint64_t)o->seed * 2 + 1;
    cfg.netifs[0].addr = ADDR_A;
    cfg.netifs[0].addr6[0] = (struct tern_netif_addr6){.addr = b6(), .prefix_len = 64};
    cfg.netifs[0].addr6[0].addr.b[15] = 1; /* 2001:db8::1 */
    cfg.netifs[0].n_addr6 = 1;
    rc = tern_sim_add_host(pg->sim, "a", &cfg, &pg->host_a);
    if (rc != TERN_OK) {
        return rc;
    }
    cfg.seed = (uint64_t)o->seed * 2 + 2;
    cfg.netifs[0].addr = ADDR_B;
    cfg.netifs[0].addr6[0].addr = b6();
    rc = tern_sim_add_host(pg->sim, "b", &cfg, &pg->host_b);
    if (rc != TERN_OK) {
        return rc;
    }
    struct tern_link_params lp;
    tern_link_params_init(&lp);
    lp.delay_ns = ms_to_ns(o->delay_ms);
    lp.jitter_ns = ms_to_ns(o->jitter_ms);
    lp.bandwidth_bps = (uint64_t)o->rate_bps;
    lp.loss_ppm = pct_to_ppm(o->loss_pct);
    lp.dup_ppm = pct_to_ppm(o->dup_pct);
    lp.reorder_ppm = pct_to_ppm(o->reorder_pct);
    lp.corrupt_ppm = pct_to_ppm(o->corrupt_pct);
    lp.reorder_delay_ns = pg->interval_ns + pg->interval_ns / 2;
    rc = tern_sim_link(pg->sim, pg->host_a, 0, pg->host_b, 0, &lp, &lp, &pg->link);
    if (rc != TERN_OK) {
        return rc;
    }
    tern_icmp_set_echo_handler(tern_sim_host_stack(pg->sim, pg->host_a), on_reply, pg);
    for (long long i = 0; i < o->count; i++) {
        rc = tern_sim_at(pg->sim, i * pg->interval_ns, send_one, pg);
        if (rc != TERN_OK) {
            return rc;
        }
    }
    return TERN_OK;
}

/* Runs until every request has its reply (and everything due at that
 * instant, such as a duplicate, has run), or until the timeout after the
 * last request. */
static void
run(struct ping *pg)
{
    int64_t last_send = (pg->o.count - 1) * pg->interval_ns;
    int64_t limit = last_send + ms_to_ns(pg->o.timeout_ms);
    int64_t all_answered_at = -1;
    for (;;) {
        int64_t next = tern_sim_next_event(pg->sim);
        if (next == INT64_MAX || next > limit) {
            break;
        }
        if (all_answered_at >= 0 && next > all_answered_at) {
            break;
        }
        tern_sim_step(pg->sim);
        if (all_answered_at < 0 && pg->transmitted == pg->o.count && pg->received >= pg->o.count) {
            all_answered_at = tern_sim_now(pg->sim);
        }
    }
}

static void
print_summary(const struct ping *pg)
{
    printf("\n--- %s ping statistics ---\n", target_text(pg));
    printf("%lld packets transmitted, %lld received", pg->transmitted, pg->received);
    if (pg->dups) {
        printf(", +%lld duplicates", pg->dups);
    }
    if (pg->send_errors) {
        printf(", +%lld errors", pg->send_errors);
    }
    if (pg->transmitted) {
        double loss = (double)(pg->transmitted - pg->received) * 100.0 / (double)pg->transmitted;
        printf(", %g%% packet loss", loss);
    }
    long long ms = (long long)((pg->last_event_ns + NS_PER_MS / 2) / NS_PER_MS);
    printf(", time %lldms\n", ms);
    long long n = pg->received + pg->dups;
    if (n > 0 && pg->o.size >= TIMING_LEN) {
        long double avg = pg->tsum_us / (long double)n;
        long double var = pg->tsum2_us / (long double)n - avg * avg;
        int64_t avg_us = (int64_t)avg;
        int64_t mdev_us = var > 0 ? (int64_t)sqrtl(var) : 0;
        printf("rtt min/avg/max/mdev = %lld.%03lld/%lld.%03lld/%lld.%03lld/%lld.%03lld ms\n",
               (long long)(pg->tmin_us / 1000), (long long)(pg->tmin_us % 1000),
               (long long)(avg_us / 1000), (long long)(avg_us % 1000),
               (long long)(pg->tmax_us / 1000), (long long)(pg->tmax_us % 1000),
               (long long)(mdev_us / 1000), (long long)(mdev_us % 1000));
    }
}

static void
print_stack(const char *name, const struct tern_stack *st)
{
    if (st == NULL) {
        printf("%s: down\n", name);
        return;
    }
    const struct tern_stats *s = tern_stack_stats(st);
    printf("%s: ip.rx=%llu ip.tx=%llu ip.rx_delivered=%llu ip.tx_fragmented=%llu "
           "ip.rx_fragments=%llu ip.reassembled=%llu\n",
           name, (unsigned long long)s->ip.rx, (unsigned long long)s->ip.tx,
           (unsigned long long)s->ip.rx_delivered, (unsigned long long)s->ip.tx_fragmented,
           (unsigned long long)s->ip.rx_fragments, (unsigned long long)s->ip.reassembled);
    printf("%s: icmp.rx=%llu icmp.tx=%llu icmp.rx_echo_request=%llu icmp.rx_echo_reply=%llu "
           "icmp.rx_error=%llu icmp.tx_error=%llu\n",
           name, (unsigned long long)s->icmp.rx, (unsigned long long)s->icmp.tx,
           (unsigned long long)s->icmp.rx_echo_request, (unsigned long long)s->icmp.rx_echo_reply,
           (unsigned long long)s->icmp.rx_error, (unsigned long long)s->icmp.tx_error);
    printf("%s: pool.chunks=%llu pool.avail=%llu pool.min_avail=%llu pool.take_fail=%llu\n", name,
           (unsigned long long)s->pool.chunks, (unsigned long long)s->pool.avail,
           (unsigned long long)s->pool.min_avail, (unsigned long long)s->pool.take_fail);
    printf("%s: drops=%llu", name, (unsigned long long)tern_stats_drops_total(s));
    for (int r = 0; r < TERN_DROP_COUNT; r++) {
        if (s->drops[r] != 0) {
            printf(" drop.%s=%llu", tern_drop_name((enum tern_drop_reason)r),
                   (unsigned long long)s->drops[r]);
        }
    }
    printf("\n");
}

static void
print_stats(const struct ping *pg)
{
    printf("\n--- counters ---\n");
    print_stack("a", tern_sim_host_stack(pg->sim, pg->host_a));
    print_stack("b", tern_sim_host_stack(pg->sim, pg->host_b));
    for (int dir = 0; dir < 2; dir++) {
        struct tern_sim_link_stats ls;
        tern_sim_link_stats(pg->sim, pg->link, dir, &ls);
        printf("link %s: sent=%llu delivered=%llu lost_random=%llu lost_queue=%llu "
               "lost_capacity=%llu duplicated=%llu reordered=%llu corrupted=%llu\n",
               dir == 0 ? "a->b" : "b->a", (unsigned long long)ls.sent,
               (unsigned long long)ls.delivered, (unsigned long long)ls.lost_random,
               (unsigned long long)ls.lost_queue, (unsigned long long)ls.lost_capacity,
               (unsigned long long)ls.duplicated, (unsigned long long)ls.reordered,
               (unsigned long long)ls.corrupted);
    }
}

int
tern_cmd_ping(int argc, char **argv)
{
    struct ping *pg = calloc(1, sizeof(*pg));
    if (pg == NULL) {
        fprintf(stderr, "tern ping: out of memory\n");
        return 2;
    }
    int rc = parse_args(argc, argv, &pg->o);
    if (rc != CLI_OK) {
        free(pg);
        if (rc == CLI_HELP) {
            ping_usage(stdout);
            return 0;
        }
        return 2;
    }
    pg->interval_ns = ms_to_ns(pg->o.interval_ms);
    pg->data = calloc(1, (size_t)pg->o.size + 1);
    int status = 2;
    if (pg->data == NULL) {
        fprintf(stderr, "tern ping: out of memory\n");
        goto out;
    }
    fill_pattern(pg->data, (size_t)pg->o.size);
    rc = setup(pg);
    if (rc != TERN_OK) {
        fprintf(stderr, "tern ping: cannot set up the simulation: %s\n", tern_strerror(rc));
        goto out;
    }
    if (pg->o.pcap != NULL && tern_sim_capture(pg->sim, pg->link, pg->o.pcap) != TERN_OK) {
        fprintf(stderr, "tern ping: cannot write --pcap file '%s': %s\n", pg->o.pcap,
                strerror(errno));
        goto out;
    }
    if (pg->o.v6) {
        /* iputils' form for IPv6. */
        printf("PING %s(%s) %ld data bytes\n", TEXT_B6, TEXT_B6, pg->o.size);
    } else {
        printf("PING %s (%s) %ld(%ld) bytes of data.\n", TEXT_B4, TEXT_B4, pg->o.size,
               pg->o.size + 28);
    }
    run(pg);
    print_summary(pg);
    if (pg->o.stats) {
        print_stats(pg);
    }
    status = pg->received > 0 ? 0 : 1;
    if (pg->o.pcap != NULL && tern_sim_capture(pg->sim, pg->link, NULL) != TERN_OK) {
        fprintf(stderr, "tern ping: error writing --pcap file '%s'\n", pg->o.pcap);
        status = 2;
    }
out:
    tern_sim_free(pg->sim);
    free(pg->data);
    free(pg);
    fflush(stdout);
    return status;
}
