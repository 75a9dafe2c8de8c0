/*
 * tools/ping.c: `tern ping`, ping(8) in the simulator.
 *
 * Two tern hosts, a (192.0.2.1/24) and b (192.0.2.2/24), share one
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

#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/stats.h"

int tern_cmd_ping(int argc, char **argv);

#define NS_PER_MS   1000000LL
#define ADDR_A      TERN_IPV4(192, 0, 2, 1)
#define ADDR_B      TERN_IPV4(192, 0, 2, 2)
#define ECHO_ID     0x7465 /* "te" */
#define TIMING_LEN  16     /* iputils times replies when the data holds a timeval */
#define MAX_PAYLOAD 65507  /* 65535 - 20 (IPv4 header) - 8 (ICMP header) */
#define SEQ_SPACE   65536

struct ping_opts {
    long long count;
    double interval_ms;
    long long size;
    unsigned long long seed;
    double loss_pct, reorder_pct, dup_pct, corrupt_pct;
    double delay_ms, jitter_ms;
    long long rate_bps;
    long long mtu;
    const char *pcap;
    bool stats;
    double timeout_ms;
};

/* ---- Options -------------------------------------------------------------- */

enum opt_kind { OPT_INT, OPT_U64, OPT_REAL, OPT_PCT, OPT_PATH, OPT_FLAG };

struct opt_def {
    const char *name; /* without the leading "--" */
    const char *arg;  /* name of the value in --help */
    enum opt_kind kind;
    double min, max; /* for numbers */
    size_t offset;   /* into struct ping_opts */
    const char *help;
};

#define OFF(field) offsetof(struct ping_opts, field)

static const struct opt_def opt_defs[] = {
    {"count", "N", OPT_INT, 1, 100000, OFF(count), "echo requests to send (default 5)"},
    {"interval", "MS", OPT_REAL, 0.001, 3600000, OFF(interval_ms),
     "milliseconds between requests (default 1000)"},
    {"size", "BYTES", OPT_INT, 0, MAX_PAYLOAD, OFF(size),
     "echo data bytes, ICMP and IPv4 headers not counted (default 56); larger than the MTU "
     "fragments"},
    {"seed", "N", OPT_U64, 0, 0, OFF(seed),
     "seed of the simulation: same seed, same output (default 1)"},
    {"loss", "PCT", OPT_PCT, 0, 100, OFF(loss_pct),
     "percent of packets lost, each direction (default 0)"},
    {"reorder", "PCT", OPT_PCT, 0, 100, OFF(reorder_pct),
     "percent of packets held back 1.5 intervals so later ones pass them (default 0)"},
    {"dup", "PCT", OPT_PCT, 0, 100, OFF(dup_pct),
     "percent of packets the link delivers twice (default 0)"},
    {"corrupt", "PCT", OPT_PCT, 0, 100, OFF(corrupt_pct),
     "percent of packets with one bit flipped; checksums catch them (default 0)"},
    {"delay", "MS", OPT_REAL, 0, 1000000, OFF(delay_ms),
     "one-way delay of the link in milliseconds (default 10)"},
    {"jitter", "MS", OPT_REAL, 0, 1000000, OFF(jitter_ms),
     "extra one-way delay, uniform in [0, MS]; order is kept (default 0)"},
    {"rate", "BPS", OPT_INT, 0, 1e12, OFF(rate_bps),
     "link bandwidth in bits per second, 0 for unlimited (default 0)"},
    {"mtu", "N", OPT_INT, 68, 65535, OFF(mtu), "MTU of both interfaces in bytes (default 1500)"},
    {"pcap", "FILE", OPT_PATH, 0, 0, OFF(pcap),
     "write the link's packets to FILE (pcap, raw IPv4, virtual time; default none)"},
    {"stats", NULL, OPT_FLAG, 0, 0, OFF(stats),
     "print both stacks' and the link's counters at the end"},
    {"timeout", "MS", OPT_REAL, 0, 3600000, OFF(timeout_ms),
     "after the last request, wait this long for late replies (default 10000)"},
};

#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

/* Prints `text` from column `indent` (the cursor is there), breaking lines
 * at spaces before column `width`. */
static void
print_wrapped(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    while (*p != '\0') {
        const char *sp = strchr(p, ' ');
        int word = sp ? (int)(sp - p) : (int)strlen(p);
        if (col > indent && col + 1 + word > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        }
        if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", word, p);
        col += word;
        p += word;
        while (*p == ' ') {
            p++;
        }
    }
    fputc('\n', out);
}

static void
ping_usage(FILE *out)
{
    fprintf(out, "usage: tern ping [options]\n"
                 "\n"
                 "Pings 192.0.2.2 from 192.0.2.1, two tern stacks joined by one simulated\n"
                 "link, and prints what ping(8) prints. Time is virtual: the run takes no\n"
                 "real time, and the same options always give the same output.\n"
                 "\n"
                 "Options (a value may also be given as --name=value):\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char left[32];
        snprintf(left, sizeof(left), "--%s%s%s", opt_defs[i].name, opt_defs[i].arg ? " " : "",
                 opt_defs[i].arg ? opt_defs[i].arg : "");
        fprintf(out, "  %-18s ", left);
        print_wrapped(out, opt_defs[i].help, 21, 79);
    }
    fprintf(out, "  %-18s %s\n", "-h, --help", "show this help and exit");
    fprintf(out, "\n"
                 "PCT is a percentage from 0 to 100; MS may have decimals.\n"
                 "Exit status: 0 if a reply came back, 1 if none, 2 for a bad option.\n");
}

static int
usage_error(void)
{
    fprintf(stderr, "; see 'tern ping --help'\n");
    return 2;
}

static int
bad_value(const struct opt_def *d, const char *val)
{
    fprintf(stderr, "tern ping: invalid value '%s' for --%s: ", val, d->name);
    switch (d->kind) {
    case OPT_INT:
        fprintf(stderr, "expected an integer from %.0f to %.0f", d->min, d->max);
        break;
    case OPT_U64:
        fprintf(stderr, "expected an integer from 0 to %llu", (unsigned long long)UINT64_MAX);
        break;
    case OPT_REAL:
        fprintf(stderr, "expected a number from %.15g to %.15g", d->min, d->max);
        break;
    case OPT_PCT:
        fprintf(stderr, "expected a percentage from 0 to 100");
        break;
    case OPT_PATH:
        fprintf(stderr, "expected a file name");
        break;
    case OPT_FLAG:
        fprintf(stderr, "this option takes no value");
        break;
    }
    return usage_error();
}

/* The whole string must be the number: no blanks, no trailing text. */
static bool
number_start_ok(const char *s)
{
    return *s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\v' && *s != '\f' &&
           *s != '\r';
}

static int
set_value(const struct opt_def *d, const char *val, struct ping_opts *o)
{
    char *field = (char *)o + d->offset;
    char *end = NULL;
    errno = 0;
    switch (d->kind) {
    case OPT_INT: {
        if (!number_start_ok(val)) {
            return bad_value(d, val);
        }
        long long v = strtoll(val, &end, 10);
        if (errno != 0 || *end != '\0' || (double)v < d->min || (double)v > d->max) {
            return bad_value(d, val);
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case OPT_U64: {
        if (!number_start_ok(val) || strchr(val, '-') != NULL) {
            return bad_value(d, val);
        }
        unsigned long long v = strtoull(val, &end, 10);
        if (errno != 0 || *end != '\0') {
            return bad_value(d, val);
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case OPT_REAL:
    case OPT_PCT: {
        if (!number_start_ok(val)) {
            return bad_value(d, val);
        }
        double v = strtod(val, &end);
        if (errno != 0 || *end != '\0' || !isfinite(v) || v < d->min || v > d->max) {
            return bad_value(d, val);
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case OPT_PATH:
        if (*val == '\0') {
            return bad_value(d, val);
        }
        memcpy(field, &val, sizeof(val));
        return 0;
    case OPT_FLAG:
        return bad_value(d, val);
    }
    return bad_value(d, val);
}

/* Returns 0, 2 for a usage error, or 3 when --help was asked for. */
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
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            return 3;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "tern ping: unexpected argument '%s' (the target is always 192.0.2.2)",
                    arg);
            return usage_error();
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt_def *d = NULL;
        for (size_t k = 0; k < N_OPTS; k++) {
            if (strlen(opt_defs[k].name) == name_len &&
                strncmp(opt_defs[k].name, name, name_len) == 0) {
                d = &opt_defs[k];
            }
        }
        if (d == NULL) {
            fprintf(stderr, "tern ping: unknown option '%.*s'", (int)(name_len + 2), arg);
            return usage_error();
        }
        if (d->kind == OPT_FLAG) {
            if (eq != NULL) {
                return bad_value(d, eq + 1);
            }
            bool yes = true;
            memcpy((char *)o + d->offset, &yes, sizeof(yes));
            continue;
        }
        const char *val;
        if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "tern ping: option '--%s' needs a value (%s)", d->name, d->arg);
            return usage_error();
        }
        int rc = set_value(d, val, o);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
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
    if (r->id != ECHO_ID || r->from != ADDR_B) {
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
    printf("%zu bytes from 192.0.2.2: icmp_seq=%u ttl=%u", r->len + 8, (unsigned)r->seq,
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
    int rc = tern_icmp_echo_send(tern_sim_host_stack(sim, pg->host_a), ADDR_B, ECHO_ID, seq,
                                 pg->data, len, now);
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
    rc = tern_sim_add_host(pg->sim, "a", &cfg, &pg->host_a);
    if (rc != TERN_OK) {
        return rc;
    }
    cfg.seed = (uint64_t)o->seed * 2 + 2;
    cfg.netifs[0].addr = ADDR_B;
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
    printf("\n--- 192.0.2.2 ping statistics ---\n");
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
    if (rc != 0) {
        free(pg);
        if (rc == 3) {
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
    printf("PING 192.0.2.2 (192.0.2.2) %lld(%lld) bytes of data.\n", pg->o.size, pg->o.size + 28);
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
